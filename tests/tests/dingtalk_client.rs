//! The DingTalk client against the DingTalk simulator, for both API generations.
//! The tests cover paging, window slicing (a premium organisation's 400-day window
//! included), token expiry mid-run and a missing permission. They also cover every
//! throttling shape followed by recovery, `Retry-After`, quota exhaustion, a repeated
//! cursor, the id cap, details and comments.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Days, TimeDelta, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3::dingtalk::metrics::{calls_total, throttled_total};
use dingk3::dingtalk::{ConfigurationReason, DingTalkError, ListProgress};
use dingk3_simulator::dingtalk::{
    Api, DingTalkOptions, FaultKind, FaultPlan, FaultRule, Latency, OapiTokenShape,
    RunningDingTalk, TokenPolicy,
};
use dingk3_tests::dingtalk::{
    GENERATIONS, PROCESS_CODE, add_instance_created_at, client, client_from, recent_window,
    settings, start_simulator, start_simulator_with,
};

/// The simulator's endpoints used by one generation.
struct Apis {
    token: Api,
    list: Api,
    get: Api,
    comment: Api,
    /// The client's `api` label of the detail call.
    get_label: &'static str,
}

fn apis(generation: &str) -> Apis {
    match generation {
        "topapi" => Apis {
            token: Api::Gettoken,
            list: Api::Listids,
            get: Api::Get,
            comment: Api::CommentAdd,
            get_label: "topapi/processinstance/get",
        },
        _ => Apis {
            token: Api::AccessToken,
            list: Api::InstanceIdsQuery,
            get: Api::ProcessInstance,
            comment: Api::Comments,
            get_label: "v1.0/workflow/processInstances",
        },
    }
}

fn calls(simulator: &RunningDingTalk, api: Api) -> u64 {
    simulator
        .handle()
        .counters()
        .get(&api)
        .copied()
        .unwrap_or(0)
}

fn all_ids(simulator: &RunningDingTalk) -> BTreeSet<String> {
    simulator
        .handle()
        .entries()
        .into_iter()
        .map(|entry| entry.instance.process_instance_id)
        .collect()
}

fn first_id(simulator: &RunningDingTalk) -> String {
    all_ids(simulator)
        .into_iter()
        .next()
        .expect("the simulator holds instances")
}

#[tokio::test]
async fn listing_pages_105_instances() {
    for generation in GENERATIONS {
        let simulator = start_simulator(105).await;
        let client = client(&simulator, generation);
        let (start, end) = recent_window();
        let mut reports = Vec::new();

        let listing = client
            .list_instance_ids(PROCESS_CODE, start, end, |progress| {
                reports.push(progress.clone())
            })
            .await
            .unwrap_or_else(|error| panic!("{generation}: listing failed: {error}"));

        let listed: BTreeSet<String> = listing.ids.iter().cloned().collect();
        assert_eq!(
            listed,
            all_ids(&simulator),
            "{generation}: every instance is listed"
        );
        assert_eq!(listing.ids.len(), 105, "{generation}: each id once");
        assert_eq!(listing.pages, 6, "{generation}: 105 ids in pages of 20");
        assert_eq!(listing.duplicates, 0, "{generation}: no id repeats");
        assert_eq!(
            calls(&simulator, apis(generation).list),
            6,
            "{generation}: six list calls"
        );
        assert_eq!(
            reports.len(),
            6,
            "{generation}: one progress report per page"
        );
        assert_eq!(reports.last().map(|report| report.unique_ids), Some(105));
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn v1_empty_next_token_ends_paging() {
    let simulator = start_simulator_with(DingTalkOptions {
        generate: 45,
        seed: 3,
        v1_empty_next_token: true,
        ..DingTalkOptions::default()
    })
    .await;
    let client = client(&simulator, "v1");
    let (start, end) = recent_window();

    let listing = client
        .list_instance_ids(PROCESS_CODE, start, end, |_| {})
        .await
        .unwrap();

    assert_eq!(listing.ids.len(), 45);
    assert_eq!(
        listing.pages, 3,
        "the page with \"nextToken\": \"\" is the last"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn longest_window_sliced_into_four() {
    for generation in GENERATIONS {
        let simulator = start_simulator(0).await;
        let now = Utc::now();
        let mut expected = BTreeSet::new();
        for (index, days_back) in [350u64, 250, 130, 20].into_iter().enumerate() {
            let created = utc_to_beijing(now - Days::new(days_back));
            let created = created.format("%Y-%m-%d %H:%M:%S").to_string();
            expected.insert(add_instance_created_at(
                &simulator,
                &format!("slice-{index}"),
                &created,
            ));
        }
        let client = client(&simulator, generation);
        let start = client.earliest_window_start(now);

        let listing = client
            .list_instance_ids(PROCESS_CODE, start, now, |_| {})
            .await;

        let listing = listing.unwrap_or_else(|error| panic!("{generation}: {error}"));
        assert_eq!(
            listing.slices, 4,
            "{generation}: about 364 days need four slices"
        );
        assert_eq!(
            listing.ids.iter().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{generation}: an instance in every slice is found"
        );
        assert_eq!(
            calls(&simulator, apis(generation).list),
            4,
            "{generation}: one call per slice"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn premium_400_day_window_sliced() {
    let simulator = start_simulator_with(DingTalkOptions {
        premium: true,
        ..DingTalkOptions::default()
    })
    .await;
    let now = Utc::now();
    let mut expected = BTreeSet::new();
    for (index, days_back) in [395u64, 300, 200, 100, 3].into_iter().enumerate() {
        let created = utc_to_beijing(now - Days::new(days_back));
        let created = created.format("%Y-%m-%d %H:%M:%S").to_string();
        expected.insert(add_instance_created_at(
            &simulator,
            &format!("premium-{index}"),
            &created,
        ));
    }
    let mut settings = settings(&simulator, "v1");
    settings.max_lookback_days = 1825;
    let client = client_from(settings);
    let start = now - Days::new(400);

    let listing = client
        .list_instance_ids(PROCESS_CODE, start, now, |_| {})
        .await
        .unwrap_or_else(|error| panic!("a premium organisation lists 400 days: {error}"));

    assert_eq!(
        listing.slices, 4,
        "400 days need four slices of at most 120"
    );
    assert_eq!(
        listing.ids.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "the instance of every slice is found, the oldest 395 days back"
    );
    assert_eq!(
        calls(&simulator, Api::InstanceIdsQuery),
        4,
        "one call per slice, none rejected"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn window_400_days_rejected_before_calls() {
    let simulator = start_simulator(5).await;
    let client = client(&simulator, "topapi");
    let now = Utc::now();

    let error = client
        .list_instance_ids(PROCESS_CODE, now - Days::new(400), now, |_| {})
        .await
        .expect_err("a 400-day window exceeds the 365-day lookback");

    match &error {
        DingTalkError::WindowTooOld {
            earliest,
            max_lookback_days,
            ..
        } => {
            assert_eq!(*max_lookback_days, 365);
            assert_eq!(
                *earliest,
                client.earliest_window_start(now),
                "names the earliest start"
            );
        }
        other => panic!("expected WindowTooOld, got {other:?}"),
    }
    let text = dingk3::i18n::Localize::localize(&error);
    assert!(
        text.en.contains("dingtalk.max_lookback_days"),
        "names the key: {}",
        text.en
    );
    assert_eq!(calls(&simulator, Api::Listids), 0, "nothing is sent");
    assert_eq!(
        calls(&simulator, Api::Gettoken),
        0,
        "not even a token request"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn token_expiry_mid_listing() {
    let shapes: [(&str, TokenPolicy); 5] = [
        ("topapi", policy(OapiTokenShape::SubCode40014, 400)),
        ("topapi", policy(OapiTokenShape::Errcode40014, 400)),
        ("topapi", policy(OapiTokenShape::Errcode42001, 400)),
        ("v1", policy(OapiTokenShape::SubCode40014, 400)),
        ("v1", policy(OapiTokenShape::SubCode40014, 401)),
    ];
    for (generation, tokens) in shapes {
        let case = format!("{generation} {tokens:?}");
        let simulator = start_simulator_with(DingTalkOptions {
            generate: 105,
            seed: 11,
            tokens,
            ..DingTalkOptions::default()
        })
        .await;
        let handle = simulator.handle();
        let client = client(&simulator, generation);
        let (start, end) = recent_window();

        let listing = client
            .list_instance_ids(PROCESS_CODE, start, end, |progress| {
                if progress.pages == 2 {
                    handle.expire_tokens();
                }
            })
            .await
            .unwrap_or_else(|error| panic!("{case}: listing failed: {error}"));

        assert_eq!(listing.ids.len(), 105, "{case}: the listing completes");
        assert_eq!(
            simulator.handle().tokens_issued(),
            2,
            "{case}: one new token"
        );
        assert_eq!(
            calls(&simulator, apis(generation).list),
            7,
            "{case}: six pages plus the one rejected call"
        );
        simulator.shutdown().await;
    }
}

fn policy(oapi_shape: OapiTokenShape, v1_status: u16) -> TokenPolicy {
    TokenPolicy {
        oapi_shape,
        v1_status,
        ..TokenPolicy::default()
    }
}

#[tokio::test]
async fn token_rejected_twice_is_configuration() {
    // Tokens die after one second and every call takes 1.1 s, so even a fresh token is
    // dead when the business call checks it.
    let simulator = start_simulator_with(DingTalkOptions {
        generate: 1,
        seed: 5,
        tokens: TokenPolicy {
            lifetime_seconds: 1,
            ..TokenPolicy::default()
        },
        faults: FaultPlan {
            latency: Latency {
                fixed_ms: 1_100,
                jitter_ms: 0,
            },
            ..FaultPlan::default()
        },
        ..DingTalkOptions::default()
    })
    .await;
    let client = client(&simulator, "topapi");
    let id = first_id(&simulator);

    let error = client
        .get_instance(&id)
        .await
        .expect_err("the token never works");

    assert!(
        matches!(
            error,
            DingTalkError::Configuration {
                reason: ConfigurationReason::TokenRejected,
                ..
            }
        ),
        "expected a configuration error, got {error:?}"
    );
    assert_eq!(
        calls(&simulator, Api::Gettoken),
        2,
        "one refresh, not a loop"
    );
    assert_eq!(calls(&simulator, Api::Get), 2, "the call is retried once");
    simulator.shutdown().await;
}

#[tokio::test]
async fn throttling_shapes_then_recovery() {
    let kinds = [
        FaultKind::QpsLimit,
        FaultKind::ApiDisabled,
        FaultKind::QpmLimit,
        FaultKind::OrgQpmLimit,
        FaultKind::IpBanHtml,
    ];
    for generation in GENERATIONS {
        let apis = apis(generation);
        let simulator = start_simulator(3).await;
        let client = client(&simulator, generation);
        let id = first_id(&simulator);
        client
            .get_instance(&id)
            .await
            .expect("a call without faults works");

        for kind in kinds {
            let case = format!("{generation} {kind:?}");
            let before = (calls(&simulator, apis.get), throttled_total(apis.get_label));
            simulator
                .handle()
                .add_fault(FaultRule::next(kind, 2).on(&[apis.get]))
                .unwrap();

            let instance = client.get_instance(&id).await;

            let instance =
                instance.unwrap_or_else(|error| panic!("{case}: not recovered: {error}"));
            assert_eq!(instance.process_instance_id, id, "{case}");
            assert_eq!(
                calls(&simulator, apis.get),
                before.0 + 3,
                "{case}: two throttled calls, one success"
            );
            assert!(
                throttled_total(apis.get_label) >= before.1 + 2,
                "{case}: both throttled replies are counted"
            );
        }
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn permission_refreshed_once_then_configuration() {
    for generation in GENERATIONS {
        let apis = apis(generation);
        let simulator = start_simulator(3).await;
        let client = client(&simulator, generation);
        let id = first_id(&simulator);
        client
            .get_instance(&id)
            .await
            .expect("a call without faults works");

        // An administrator granted the permission: the next token carries it.
        simulator
            .handle()
            .add_fault(
                FaultRule::always(FaultKind::PermissionDenied)
                    .until_token_refresh()
                    .on(&[apis.get]),
            )
            .unwrap();
        let granted = client.get_instance(&id).await;

        assert!(
            granted.is_ok(),
            "{generation}: a new token clears the error: {granted:?}"
        );
        assert_eq!(
            calls(&simulator, apis.token),
            2,
            "{generation}: one refresh"
        );
        assert_eq!(
            calls(&simulator, apis.get),
            3,
            "{generation}: the denied call and its resend"
        );

        // The permission is still missing: one refresh, then a configuration error.
        simulator
            .handle()
            .add_fault(FaultRule::always(FaultKind::PermissionDenied).on(&[apis.get]))
            .unwrap();
        let error = client
            .get_instance(&id)
            .await
            .expect_err("the permission stays missing");

        assert!(
            matches!(
                error,
                DingTalkError::Configuration {
                    reason: ConfigurationReason::PermissionDenied,
                    ..
                }
            ),
            "{generation}: expected a configuration error, got {error:?}"
        );
        assert!(!error.is_retryable(), "{generation}: retrying cannot help");
        assert_eq!(
            calls(&simulator, apis.token),
            3,
            "{generation}: one more refresh, not a loop"
        );
        assert_eq!(
            calls(&simulator, apis.get),
            5,
            "{generation}: the call and one resend"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn retry_after_header_sets_wait() {
    for generation in GENERATIONS {
        let apis = apis(generation);
        let simulator = start_simulator(3).await;
        let client = client(&simulator, generation);
        let id = first_id(&simulator);
        client.get_instance(&id).await.expect("warm-up call");

        // One second is inside the 2 s back-off cap: the client waits it and retries.
        simulator
            .handle()
            .add_fault(
                FaultRule::next(FaultKind::QpmLimit, 1)
                    .with_retry_after(1)
                    .on(&[apis.get]),
            )
            .unwrap();
        let started = Instant::now();
        let waited = client.get_instance(&id).await;

        assert!(waited.is_ok(), "{generation}: recovered: {waited:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{generation}: the client waited the requested second, not its 10 ms back-off"
        );
        assert_eq!(calls(&simulator, apis.get), 3, "{generation}: one retry");

        // Five seconds exceed the cap: the wait goes to the caller.
        simulator
            .handle()
            .add_fault(
                FaultRule::next(FaultKind::OrgQpmLimit, 1)
                    .with_retry_after(5)
                    .on(&[apis.get]),
            )
            .unwrap();
        let error = client
            .get_instance(&id)
            .await
            .expect_err("a 5 s wait exceeds the 2 s back-off");

        match error {
            DingTalkError::Throttled { retry_after, .. } => assert_eq!(
                retry_after,
                Duration::from_secs(5),
                "{generation}: the header's wait is passed on"
            ),
            other => panic!("{generation}: expected throttling, got {other:?}"),
        }
        assert_eq!(
            calls(&simulator, apis.get),
            4,
            "{generation}: no retry inside the client"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn ip_ban_wait_goes_to_caller() {
    for generation in GENERATIONS {
        let apis = apis(generation);
        let simulator = start_simulator(3).await;
        let client = client(&simulator, generation);
        let id = first_id(&simulator);
        simulator
            .handle()
            .add_fault(FaultRule::next(FaultKind::IpBanJson, 1).on(&[apis.get]))
            .unwrap();

        let error = client
            .get_instance(&id)
            .await
            .expect_err("a 5 s wait exceeds the 2 s back-off");

        match error {
            DingTalkError::Throttled { retry_after, .. } => assert_eq!(
                retry_after,
                Duration::from_secs(5),
                "{generation}: the block's wait is passed on"
            ),
            other => panic!("{generation}: expected throttling, got {other:?}"),
        }
        assert_eq!(
            calls(&simulator, apis.get),
            1,
            "{generation}: no retry inside the client"
        );
        let instance = client.get_instance(&id).await;
        assert!(
            instance.is_ok(),
            "{generation}: the next call recovers: {instance:?}"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn transient_faults_then_recovery() {
    for generation in GENERATIONS {
        let apis = apis(generation);
        let simulator = start_simulator(3).await;
        let client = client(&simulator, generation);
        let id = first_id(&simulator);
        for kind in [FaultKind::ServerError, FaultKind::SystemBusy] {
            let case = format!("{generation} {kind:?}");
            let before = (
                calls(&simulator, apis.get),
                calls_total(apis.get_label, "transient"),
            );
            simulator
                .handle()
                .add_fault(FaultRule::next(kind, 2).on(&[apis.get]))
                .unwrap();

            let instance = client.get_instance(&id).await;

            assert!(instance.is_ok(), "{case}: not recovered: {instance:?}");
            assert_eq!(calls(&simulator, apis.get), before.0 + 3, "{case}");
            assert!(
                calls_total(apis.get_label, "transient") >= before.1 + 2,
                "{case}: both failures are counted as transient"
            );
        }
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    let simulator = start_simulator(3).await;
    let client = client(&simulator, "topapi");
    let id = first_id(&simulator);
    simulator
        .handle()
        .add_fault(FaultRule::always(FaultKind::QpsLimit).on(&[Api::Get]))
        .unwrap();

    let error = client
        .get_instance(&id)
        .await
        .expect_err("the throttling never ends");

    assert!(
        matches!(error, DingTalkError::Throttled { .. }),
        "{error:?}"
    );
    assert_eq!(
        calls(&simulator, Api::Get),
        5,
        "the first call and four retries"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn quota_exhausted_stops_run() {
    for generation in GENERATIONS {
        let apis = apis(generation);
        let simulator = start_simulator(45).await;
        let handle = simulator.handle();
        let client = client(&simulator, generation);
        let (start, end) = recent_window();

        let error = client
            .list_instance_ids(PROCESS_CODE, start, end, |progress| {
                if progress.pages == 1 {
                    handle
                        .add_fault(FaultRule::always(FaultKind::QuotaExhausted))
                        .unwrap();
                }
            })
            .await
            .expect_err("the quota ends the listing");

        assert!(
            matches!(error, DingTalkError::QuotaExhausted { .. }),
            "{generation}: expected quota exhaustion, got {error:?}"
        );
        assert!(!error.is_retryable(), "{generation}: retrying cannot help");
        assert_eq!(
            calls(&simulator, apis.list),
            2,
            "{generation}: the listing stops at the first quota reply"
        );
        let detail = client.get_instance(&first_id(&simulator)).await;
        assert!(
            matches!(detail, Err(DingTalkError::QuotaExhausted { .. })),
            "{generation}: details stop too: {detail:?}"
        );
        assert_eq!(
            calls(&simulator, apis.get),
            1,
            "{generation}: no detail retry"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn repeated_cursor_reported() {
    for generation in GENERATIONS {
        let simulator = start_simulator(105).await;
        let handle = simulator.handle();
        let client = client(&simulator, generation);
        let (start, end) = recent_window();

        let error = client
            .list_instance_ids(PROCESS_CODE, start, end, |progress| {
                if progress.pages == 2 {
                    handle
                        .add_fault(FaultRule::next(FaultKind::RepeatCursor, 1))
                        .unwrap();
                }
            })
            .await
            .expect_err("a repeated cursor stops the listing");

        match error {
            DingTalkError::RepeatedCursor {
                cursor, partial, ..
            } => {
                assert_eq!(
                    cursor, "40",
                    "{generation}: the third page's cursor came back"
                );
                assert_eq!(
                    partial.ids.len(),
                    60,
                    "{generation}: ids before the stop are kept"
                );
            }
            other => panic!("{generation}: expected a repeated cursor, got {other:?}"),
        }
        assert_eq!(
            calls(&simulator, apis(generation).list),
            3,
            "{generation}: paging stopped"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn slice_at_id_cap_split() {
    let simulator = start_simulator(105).await;
    let mut settings = settings(&simulator, "topapi");
    settings.list_id_cap = 40;
    let client = client_from(settings);
    let (start, end) = recent_window();

    let listing = client
        .list_instance_ids(PROCESS_CODE, start, end, |_| {})
        .await
        .unwrap();

    assert!(
        listing.splits >= 2,
        "105 ids at a cap of 40 need splits: {listing:?}"
    );
    assert_eq!(
        listing.ids.iter().cloned().collect::<BTreeSet<_>>(),
        all_ids(&simulator),
        "every instance is still listed once"
    );
    assert_eq!(listing.ids.len(), 105);
    simulator.shutdown().await;
}

#[tokio::test]
async fn details_match_simulator() {
    for generation in GENERATIONS {
        let simulator = start_simulator(8).await;
        let client = client(&simulator, generation);
        for entry in simulator.handle().entries() {
            let expected = entry.instance;
            let id = expected.process_instance_id.as_str();

            let instance = client.get_instance(id).await.unwrap();

            assert_eq!(instance.process_instance_id, id);
            assert_eq!(
                instance.business_id, expected.business_id,
                "{generation} {id}"
            );
            assert_eq!(
                instance.is_approved(),
                expected.is_approved(),
                "{generation} {id}: approval state"
            );
            assert_eq!(
                instance.form.len(),
                expected.form_component_values.len(),
                "{generation} {id}: form components"
            );
        }
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_instance_not_found() {
    for generation in GENERATIONS {
        let simulator = start_simulator(1).await;
        let client = client(&simulator, generation);

        let error = client.get_instance("no-such-instance").await.unwrap_err();

        match error {
            DingTalkError::InstanceNotFound {
                process_instance_id,
                ..
            } => assert_eq!(process_instance_id, "no-such-instance", "{generation}"),
            other => panic!("{generation}: expected not found, got {other:?}"),
        }
        assert_eq!(
            calls(&simulator, apis(generation).get),
            1,
            "{generation}: not retried"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn comments_written_both_generations() {
    for generation in GENERATIONS {
        let apis = apis(generation);
        let simulator = start_simulator(2).await;
        let client = client(&simulator, generation);
        let id = first_id(&simulator);

        client
            .add_comment(&id, "已生成付款单 FKD00000123", None)
            .await
            .unwrap();
        client
            .add_comment(&id, &"长".repeat(1500), Some("auditor-7"))
            .await
            .unwrap();

        let comments = simulator.handle().comments();
        assert_eq!(comments.len(), 2, "{generation}: both comments arrive");
        assert_eq!(comments[0].text, "已生成付款单 FKD00000123");
        assert_eq!(
            comments[0].comment_user_id, "finance-bot",
            "{generation}: configured author"
        );
        assert_eq!(
            comments[0].api, apis.comment,
            "{generation}: the generation's endpoint"
        );
        assert_eq!(
            comments[1].comment_user_id, "auditor-7",
            "{generation}: explicit author"
        );
        assert_eq!(
            comments[1].text.chars().count(),
            1024,
            "{generation}: truncated to the limit"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn comment_without_author_rejected() {
    let simulator = start_simulator(1).await;
    let mut settings = settings(&simulator, "topapi");
    settings.comment_userid = None;
    let client = client_from(settings);

    let error = client
        .add_comment(&first_id(&simulator), "x", None)
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            DingTalkError::Configuration {
                reason: ConfigurationReason::MissingCommentUser,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(calls(&simulator, Api::CommentAdd), 0, "nothing is sent");
    simulator.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_are_configuration() {
    for generation in GENERATIONS {
        let simulator = start_simulator(1).await;
        let mut settings = settings(&simulator, generation);
        settings.app_secret = secrecy::SecretString::from("wrong-secret");
        let client = client_from(settings);

        let error = client
            .get_instance(&first_id(&simulator))
            .await
            .unwrap_err();

        assert!(
            matches!(
                error,
                DingTalkError::Configuration {
                    reason: ConfigurationReason::InvalidCredentials,
                    ..
                }
            ),
            "{generation}: {error:?}"
        );
        assert!(
            !format!("{error} {error:?}").contains("wrong-secret"),
            "{generation}: the secret is not in the error"
        );
        assert_eq!(
            calls(&simulator, apis(generation).token),
            1,
            "{generation}: not retried"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn unknown_process_code_is_configuration() {
    for generation in GENERATIONS {
        let simulator = start_simulator(1).await;
        let client = client(&simulator, generation);
        let (start, end) = recent_window();

        let error = client
            .list_instance_ids("PROC-DOES-NOT-EXIST", start, end, |_| {})
            .await
            .unwrap_err();

        assert!(
            matches!(
                error,
                DingTalkError::Configuration {
                    reason: ConfigurationReason::UnknownProcessCode,
                    ..
                }
            ),
            "{generation}: {error:?}"
        );
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn clones_share_token_and_limiter() {
    let simulator = start_simulator(3).await;
    let mut settings = settings(&simulator, "topapi");
    settings.rate_limit_per_second = 20;
    let client = client_from(settings);
    let id = first_id(&simulator);
    let started = Instant::now();

    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (client, id) = (client.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                client.get_instance(&id).await.expect("detail call");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let elapsed = started.elapsed();
    assert_eq!(
        calls(&simulator, Api::Gettoken),
        1,
        "one token for every clone"
    );
    // 21 calls (one token, twenty details) at 20 per second, evenly spaced.
    assert!(
        elapsed >= Duration::from_millis(950),
        "21 calls at 20/s across two clones took only {elapsed:?}"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn progress_reports_every_page() {
    let simulator = start_simulator(45).await;
    let client = client(&simulator, "topapi");
    let (start, end) = recent_window();
    let reports: Arc<Mutex<Vec<ListProgress>>> = Arc::default();
    let sink = reports.clone();

    client
        .list_instance_ids(PROCESS_CODE, start, end, move |progress| {
            sink.lock().unwrap().push(progress.clone())
        })
        .await
        .unwrap();

    let reports = reports.lock().unwrap().clone();
    let pages: Vec<usize> = reports.iter().map(|report| report.pages).collect();
    assert_eq!(pages, vec![1, 2, 3], "one report per page, in order");
    let unique: Vec<usize> = reports.iter().map(|report| report.unique_ids).collect();
    assert_eq!(unique, vec![20, 40, 45]);
    assert!(
        reports[0].slice.end - reports[0].slice.start < TimeDelta::days(120),
        "the reported slice is one the API accepts"
    );
    simulator.shutdown().await;
}
