//! The K3Cloud client against the K3Cloud simulator, under signature auth and both
//! session logins. The tests cover saving, batch saving with per-model outcomes,
//! duplicate numbers, session expiry, and wrong credentials and account sets. They also
//! cover every injected fault, the idempotency probe, queries and views, and base data
//! fixed at runtime.
//!
//! After each scenario the test compares the simulator's own bill list with the bills
//! that should exist, so a write sent twice fails the test.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use dingk3::k3cloud::{
    BillQuery, CallError, K3CloudClient, ModelOutcome, Reason, ViewKey, in_filter,
};
use dingk3_simulator::k3cloud::base_data::forms;
use dingk3_simulator::k3cloud::{
    BaseData, BaseRecord, DocumentStatus, FaultSettings, LostReplyMode, RunningK3Cloud,
    duplicate_number_message,
};
use dingk3_tests::k3cloud::{
    AuthMode, PAYBILL, assert_stored, calls, client, client_from, client_with_timeout, paybill,
    paybill_with_cost_item, raw_config, start_simulator,
};
use serde_json::Value;

/// Unpacks a saved outcome into `(index, k3_id, bill_no)` or fails with the outcome.
#[track_caller]
fn saved(outcome: &ModelOutcome, case: &str) -> (usize, i64, String) {
    match outcome {
        ModelOutcome::Saved {
            index,
            k3_id,
            bill_no,
        } => (*index, *k3_id, bill_no.clone()),
        other => panic!("{case}: expected a saved bill, got {other:?}"),
    }
}

/// Returns the id the simulator gave the bill `number`.
#[track_caller]
fn stored_id(simulator: &RunningK3Cloud, number: &str) -> i64 {
    simulator
        .handle()
        .bill(number)
        .unwrap_or_else(|| panic!("the simulator holds no bill {number}"))
        .id
}

/// Sends one cheap read, so a session client has logged in before a fault is set.
async fn warm_up(client: &K3CloudClient, case: &str) {
    let query = BillQuery::new(PAYBILL, &["FID"]).with_filter("FBillNo = 'NONE'");
    client
        .execute_bill_query(&query)
        .await
        .unwrap_or_else(|error| panic!("{case}: warm-up query failed: {error}"));
}

#[tokio::test]
async fn save_each_auth_mode() {
    for mode in AuthMode::ALL {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);

        let outcome = client.save(PAYBILL, &paybill("SAVE-1")).await;

        let outcome = outcome.unwrap_or_else(|error| panic!("{case}: save failed: {error}"));
        let (index, k3_id, bill_no) = saved(&outcome, &case);
        assert_eq!(index, 0, "{case}: a single save is model 0");
        assert_eq!(bill_no, "SAVE-1", "{case}: the number sent is kept");
        assert_eq!(
            k3_id,
            stored_id(&simulator, "SAVE-1"),
            "{case}: the id is the simulator's"
        );
        let bill = simulator.handle().bill("SAVE-1").unwrap();
        assert_eq!(
            bill.status,
            DocumentStatus::Created,
            "{case}: saved without audit by default"
        );
        assert_eq!(
            bill.total.normalize().to_string(),
            "1400.5",
            "{case}: both rows are stored"
        );
        assert_stored(&simulator, &["SAVE-1"], &case);
        if let Some(login) = mode.login_operation() {
            assert_eq!(calls(&simulator, login), 1, "{case}: one login");
        }
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn auto_submit_audits_bill() {
    let simulator = start_simulator().await;
    let mut raw = raw_config(&simulator, AuthMode::Signature);
    raw.auto_submit_and_audit = true;
    let client = client_from(&raw);

    let outcome = client.save(PAYBILL, &paybill("AUDIT-1")).await.unwrap();

    saved(&outcome, "auto submit");
    assert_eq!(
        simulator.handle().bill("AUDIT-1").unwrap().status,
        DocumentStatus::Audited,
        "IsAutoSubmitAndAudit saves straight to status C"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn batch_save_matches_by_index() {
    for mode in AuthMode::ALL {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);

        // Valid first, then invalid, and the other way round, so a positional match
        // that ignores DIndex cannot pass both.
        let first = client
            .batch_save(
                PAYBILL,
                &[
                    paybill("BATCH-OK-1"),
                    paybill_with_cost_item("BATCH-BAD-1", "FYXM999"),
                ],
            )
            .await
            .unwrap_or_else(|error| panic!("{case}: batch failed: {error}"));
        let second = client
            .batch_save(
                PAYBILL,
                &[
                    paybill_with_cost_item("BATCH-BAD-2", "FYXM999"),
                    paybill("BATCH-OK-2"),
                ],
            )
            .await
            .unwrap_or_else(|error| panic!("{case}: batch failed: {error}"));

        for (outcomes, saved_at, number) in [(&first, 0, "BATCH-OK-1"), (&second, 1, "BATCH-OK-2")]
        {
            assert_eq!(outcomes.len(), 2, "{case}: one outcome per model");
            let (index, k3_id, bill_no) = saved(&outcomes[saved_at], &case);
            assert_eq!(index, saved_at, "{case}: the saved model keeps its index");
            assert_eq!(bill_no, number, "{case}: the saved model's number");
            assert_eq!(k3_id, stored_id(&simulator, number), "{case}: its id");

            let rejected_at = 1 - saved_at;
            match &outcomes[rejected_at] {
                ModelOutcome::Rejected {
                    index,
                    errors,
                    msg_code: _,
                } => {
                    assert_eq!(*index, rejected_at, "{case}: the rejected model's index");
                    assert!(
                        errors
                            .iter()
                            .any(|error| error.field_name.as_deref() == Some("FCOSTID")),
                        "{case}: the error names FCOSTID: {errors:?}"
                    );
                    assert!(
                        errors.iter().all(|error| !error.message.trim().is_empty()),
                        "{case}: every error has a message: {errors:?}"
                    );
                }
                other => panic!("{case}: expected a rejection, got {other:?}"),
            }
        }
        assert_stored(&simulator, &["BATCH-OK-1", "BATCH-OK-2"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn duplicate_number_rejected() {
    for mode in [AuthMode::Signature, AuthMode::AppSecretSession] {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        client.save(PAYBILL, &paybill("DUP-1")).await.unwrap();

        let again = client
            .batch_save(PAYBILL, &[paybill("DUP-1")])
            .await
            .unwrap_or_else(|error| panic!("{case}: the call itself must succeed: {error}"));

        match &again[0] {
            ModelOutcome::Rejected {
                index,
                errors,
                msg_code,
            } => {
                assert_eq!(*index, 0, "{case}");
                assert_eq!(*msg_code, Some(11), "{case}: MsgCode 11 (验证失败)");
                assert_eq!(errors.len(), 1, "{case}: one error: {errors:?}");
                assert_eq!(
                    errors[0].field_name.as_deref(),
                    Some("FBillNo"),
                    "{case}: the error names the number field"
                );
                assert_eq!(
                    errors[0].message,
                    duplicate_number_message("DUP-1"),
                    "{case}: K3Cloud's uniqueness wording"
                );
                assert!(
                    errors[0].message.starts_with("违反字段唯一性要求")
                        && errors[0].message.ends_with("已经被使用。"),
                    "{case}: the message has the shape callers match on: {}",
                    errors[0].message
                );
            }
            other => panic!("{case}: expected a rejection, got {other:?}"),
        }
        assert_stored(&simulator, &["DUP-1"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn session_expiry_read_logs_in_again() {
    for mode in AuthMode::SESSIONS {
        let case = format!("{mode:?}");
        let login = mode.login_operation().unwrap();
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        client.save(PAYBILL, &paybill("READ-1")).await.unwrap();
        assert_eq!(calls(&simulator, login), 1, "{case}: first login");

        simulator.handle().expire_sessions();
        let found = client
            .existing_bills(PAYBILL, &["READ-1".to_string()])
            .await
            .unwrap_or_else(|error| panic!("{case}: the read must survive: {error}"));

        assert_eq!(
            found.get("READ-1"),
            Some(&stored_id(&simulator, "READ-1")),
            "{case}: the read was sent again after the login"
        );
        assert_eq!(calls(&simulator, login), 2, "{case}: exactly one new login");
        assert_eq!(
            calls(&simulator, "ExecuteBillQuery"),
            2,
            "{case}: the rejected query and its resend"
        );

        // The idle timeout ends a session too.
        let mut faults = simulator.handle().faults();
        faults.session_idle_ms = 200;
        simulator.handle().set_faults(faults).unwrap();
        client
            .view(PAYBILL, &ViewKey::Number("READ-1".into()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let view = client
            .view(PAYBILL, &ViewKey::Number("READ-1".into()))
            .await
            .unwrap_or_else(|error| panic!("{case}: view after idle expiry: {error}"));

        assert!(view.is_some(), "{case}: the bill is found after idling");
        assert_eq!(calls(&simulator, login), 3, "{case}: one login per expiry");
        assert_stored(&simulator, &["READ-1"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn concurrent_reads_share_one_login() {
    let simulator = start_simulator().await;
    let client = client(&simulator, AuthMode::AppSecretSession);
    client.save(PAYBILL, &paybill("MANY-1")).await.unwrap();
    simulator.handle().expire_sessions();

    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client
                .existing_bills(PAYBILL, &["MANY-1".to_string()])
                .await
        }));
    }
    for task in tasks {
        let found = task.await.unwrap().expect("every task's read survives");
        assert_eq!(found.len(), 1, "every task finds the bill");
    }

    assert_eq!(
        calls(&simulator, "LoginByAppSecret"),
        2,
        "the tasks that met the lost session share one new login"
    );
    assert_stored(&simulator, &["MANY-1"], "concurrent reads");
    simulator.shutdown().await;
}

#[tokio::test]
async fn session_expiry_write_not_resent() {
    for mode in AuthMode::SESSIONS {
        let case = format!("{mode:?}");
        let login = mode.login_operation().unwrap();
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        client.save(PAYBILL, &paybill("WRITE-1")).await.unwrap();

        simulator.handle().expire_sessions();
        let error = client
            .batch_save(PAYBILL, &[paybill("WRITE-2")])
            .await
            .expect_err("a write that met a lost session is not resent");

        match &error {
            CallError::SessionLost { reason, .. } => assert!(
                matches!(reason, Reason::SessionExpired { message } if message.contains("会话信息已丢失")),
                "{case}: the reason carries K3Cloud's message: {reason:?}"
            ),
            other => panic!("{case}: expected SessionLost, got {other:?}"),
        }
        assert_eq!(calls(&simulator, login), 2, "{case}: logged in again once");
        assert_eq!(calls(&simulator, "BatchSave"), 1, "{case}: no resend");
        assert_stored(&simulator, &["WRITE-1"], &case);

        // The caller's recovery: probe, then send once.
        let found = client
            .existing_bills(PAYBILL, &["WRITE-2".to_string()])
            .await
            .unwrap();
        assert!(found.is_empty(), "{case}: the lost write did not run");
        let outcomes = client
            .batch_save(PAYBILL, &[paybill("WRITE-2")])
            .await
            .unwrap();
        saved(&outcomes[0], &case);
        assert_eq!(
            calls(&simulator, login),
            2,
            "{case}: the new session is reused"
        );
        assert_stored(&simulator, &["WRITE-1", "WRITE-2"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn signature_survives_session_expiry() {
    let simulator = start_simulator().await;
    let client = client(&simulator, AuthMode::Signature);
    client.save(PAYBILL, &paybill("SIG-1")).await.unwrap();

    simulator.handle().expire_sessions();
    let outcomes = client.batch_save(PAYBILL, &[paybill("SIG-2")]).await;

    let outcomes = outcomes.expect("signature headers open a new session by themselves");
    saved(&outcomes[0], "signature");
    assert_eq!(calls(&simulator, "BatchSave"), 1, "sent once");
    assert_stored(&simulator, &["SIG-1", "SIG-2"], "signature");
    simulator.shutdown().await;
}

#[tokio::test]
async fn wrong_secret_is_configuration() {
    for mode in AuthMode::ALL {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let mut raw = raw_config(&simulator, mode);
        raw.app_secret = Some("wrong-app-secret-0123456789abcdef".into());
        raw.password = Some("wrong-password".into());
        let client = client_from(&raw);

        let error = client
            .save(PAYBILL, &paybill("SECRET-1"))
            .await
            .expect_err("wrong credentials cannot save");

        let expected = match mode {
            AuthMode::Signature => {
                matches!(
                    &error,
                    CallError::Configuration {
                        reason: Reason::CredentialsRejected { .. },
                        ..
                    }
                )
            }
            _ => {
                matches!(
                    &error,
                    CallError::Configuration {
                        reason: Reason::LoginRejected { .. },
                        ..
                    }
                )
            }
        };
        assert!(
            expected,
            "{case}: expected a configuration error, got {error:?}"
        );
        let rendered = format!("{error} {error:?}");
        assert!(
            !rendered.contains("wrong-app-secret") && !rendered.contains("wrong-password"),
            "{case}: the secret is not in the error: {rendered}"
        );
        assert_eq!(
            calls(&simulator, "Save"),
            u64::from(mode == AuthMode::Signature),
            "{case}: the save is sent only with a signature, and once"
        );
        if let Some(login) = mode.login_operation() {
            assert_eq!(
                calls(&simulator, login),
                1,
                "{case}: one login, no retry loop"
            );
        }
        assert_stored(&simulator, &[], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn wrong_account_set_is_configuration() {
    for mode in AuthMode::ALL {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let mut raw = raw_config(&simulator, mode);
        raw.acct_id = "00000000000000".to_string();
        let client = client_from(&raw);

        let error = client
            .batch_save(PAYBILL, &[paybill("ACCT-1")])
            .await
            .expect_err("an unknown account set cannot save");

        let expected = match mode {
            AuthMode::Signature => {
                matches!(
                    &error,
                    CallError::Configuration {
                        reason: Reason::UnknownAccountSet { .. },
                        ..
                    }
                )
            }
            _ => {
                matches!(
                    &error,
                    CallError::Configuration {
                        reason: Reason::LoginRejected { .. },
                        ..
                    }
                )
            }
        };
        assert!(
            expected,
            "{case}: expected a configuration error, got {error:?}"
        );
        assert_stored(&simulator, &[], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn latency_within_timeout_succeeds() {
    for mode in [AuthMode::Signature, AuthMode::AppSecretSession] {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        simulator
            .handle()
            .set_faults(FaultSettings {
                latency_ms: 300,
                jitter_ms: 50,
                ..FaultSettings::default()
            })
            .unwrap();
        let started = Instant::now();

        let outcomes = client
            .batch_save(PAYBILL, &[paybill("SLOW-1")])
            .await
            .unwrap_or_else(|error| panic!("{case}: a slow reply inside the timeout: {error}"));

        saved(&outcomes[0], &case);
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{case}: the latency was applied"
        );
        assert_stored(&simulator, &["SLOW-1"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn server_error_is_transient() {
    for mode in AuthMode::ALL {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        simulator
            .handle()
            .set_faults(FaultSettings {
                http_5xx_rate: 1.0,
                ..FaultSettings::default()
            })
            .unwrap();

        let write = client.batch_save(PAYBILL, &[paybill("FIVE-1")]).await;
        let read = client
            .execute_bill_query(&BillQuery::new(PAYBILL, &["FID"]).with_filter("FID > 0"))
            .await;

        for (what, result) in [("write", write.map(|_| ())), ("read", read.map(|_| ()))] {
            match result {
                Err(CallError::Transient {
                    reason: Reason::HttpStatus { status: 500, .. },
                    ..
                }) => {}
                other => panic!("{case} {what}: expected a transient HTTP 500, got {other:?}"),
            }
        }
        assert_stored(&simulator, &[], &case);

        simulator
            .handle()
            .set_faults(FaultSettings::default())
            .unwrap();
        let outcomes = client.batch_save(PAYBILL, &[paybill("FIVE-1")]).await;
        saved(&outcomes.unwrap()[0], &case);
        assert_stored(&simulator, &["FIVE-1"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn hang_is_unknown_outcome_for_writes() {
    for mode in [AuthMode::Signature, AuthMode::PasswordSession] {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client_with_timeout(&simulator, mode, Duration::from_millis(400));
        warm_up(&client, &case).await;
        simulator
            .handle()
            .set_faults(FaultSettings {
                hang_rate: 1.0,
                hang_ms: 1_500,
                ..FaultSettings::default()
            })
            .unwrap();

        let write = client.batch_save(PAYBILL, &[paybill("HANG-1")]).await;
        let read = client
            .existing_bills(PAYBILL, &["HANG-1".to_string()])
            .await;

        assert!(
            matches!(
                write,
                Err(CallError::UnknownOutcome {
                    reason: Reason::Timeout { .. },
                    ..
                })
            ),
            "{case}: a write that timed out may have run: {write:?}"
        );
        assert!(
            matches!(
                read,
                Err(CallError::Transient {
                    reason: Reason::Timeout { .. },
                    ..
                })
            ),
            "{case}: a read that timed out is transient: {read:?}"
        );

        simulator
            .handle()
            .set_faults(FaultSettings::default())
            .unwrap();
        let found = client
            .existing_bills(PAYBILL, &["HANG-1".to_string()])
            .await
            .unwrap();
        assert!(found.is_empty(), "{case}: the hung call was not processed");
        let outcomes = client
            .batch_save(PAYBILL, &[paybill("HANG-1")])
            .await
            .unwrap();
        saved(&outcomes[0], &case);
        assert_stored(&simulator, &["HANG-1"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn network_conflict_is_transient() {
    for mode in [AuthMode::Signature, AuthMode::AppSecretSession] {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        simulator
            .handle()
            .set_faults(FaultSettings {
                network_conflict_rate: 1.0,
                ..FaultSettings::default()
            })
            .unwrap();

        let write = client
            .batch_save(PAYBILL, &[paybill("NET-1"), paybill("NET-2")])
            .await;
        let read = client.existing_bills(PAYBILL, &["NET-1".to_string()]).await;

        match &write {
            Err(CallError::Transient {
                reason: Reason::NetworkControl { message },
                ..
            }) => assert!(
                message.contains("网络控制冲突"),
                "{case}: K3Cloud's message is kept: {message}"
            ),
            other => panic!("{case}: expected a transient 网控 conflict, got {other:?}"),
        }
        assert!(
            read.is_ok_and(|found| found.is_empty()),
            "{case}: reads meet no 网控 conflict"
        );
        assert_stored(&simulator, &[], &case);

        simulator
            .handle()
            .set_faults(FaultSettings::default())
            .unwrap();
        let outcomes = client
            .batch_save(PAYBILL, &[paybill("NET-1"), paybill("NET-2")])
            .await
            .unwrap();
        saved(&outcomes[0], &case);
        saved(&outcomes[1], &case);
        assert_stored(&simulator, &["NET-1", "NET-2"], &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn lost_reply_resolved_by_probe() {
    for mode in AuthMode::ALL {
        for lost in [LostReplyMode::Drop, LostReplyMode::Status5xx] {
            let case = format!("{mode:?} {lost:?}");
            let simulator = start_simulator().await;
            let client = client(&simulator, mode);
            warm_up(&client, &case).await;
            simulator
                .handle()
                .set_faults(FaultSettings {
                    lost_reply_rate: 1.0,
                    lost_reply_mode: lost,
                    ..FaultSettings::default()
                })
                .unwrap();

            let error = client
                .batch_save(PAYBILL, &[paybill("LOST-1")])
                .await
                .expect_err("the reply never arrives");

            let expected_reason = match lost {
                LostReplyMode::Drop => matches!(error.reason(), Reason::ReplyLost { .. }),
                LostReplyMode::Status5xx => {
                    matches!(error.reason(), Reason::HttpStatus { status: 502, .. })
                }
            };
            assert!(
                matches!(error, CallError::UnknownOutcome { .. }) && expected_reason,
                "{case}: expected an unknown outcome, got {error:?}"
            );
            assert_stored(&simulator, &["LOST-1"], &case);

            simulator
                .handle()
                .set_faults(FaultSettings::default())
                .unwrap();
            let found = client
                .existing_bills(PAYBILL, &["LOST-1".to_string()])
                .await
                .unwrap_or_else(|error| panic!("{case}: probe failed: {error}"));

            assert_eq!(
                found.get("LOST-1"),
                Some(&stored_id(&simulator, "LOST-1")),
                "{case}: the probe finds the bill, so no resend is needed"
            );
            assert_eq!(calls(&simulator, "BatchSave"), 1, "{case}: sent once");
            assert_stored(&simulator, &["LOST-1"], &case);
            simulator.shutdown().await;
        }
    }
}

#[tokio::test]
async fn probe_spans_several_chunks() {
    let simulator = start_simulator().await;
    let client = client(&simulator, AuthMode::Signature);
    let numbers: Vec<String> = (1..=120).map(|n| format!("PROBE-{n:04}")).collect();
    let models: Vec<Value> = numbers.iter().map(|number| paybill(number)).collect();
    let outcomes = client.batch_save(PAYBILL, &models).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|outcome| matches!(outcome, ModelOutcome::Saved { .. })),
        "every bill of the batch is saved"
    );

    // 120 existing numbers, 15 unknown ones and 5 repeats: 135 distinct numbers, so
    // three queries of at most 50.
    let mut requested = numbers.clone();
    requested.extend((1..=15).map(|n| format!("ABSENT-{n:04}")));
    requested.extend(numbers.iter().take(5).cloned());
    let queries_before = calls(&simulator, "ExecuteBillQuery");

    let found = client.existing_bills(PAYBILL, &requested).await.unwrap();

    assert_eq!(found.len(), 120, "every saved number and nothing else");
    for number in &numbers {
        assert_eq!(
            found.get(number),
            Some(&stored_id(&simulator, number)),
            "{number} maps to its id"
        );
    }
    assert_eq!(
        calls(&simulator, "ExecuteBillQuery") - queries_before,
        3,
        "135 distinct numbers in chunks of 50"
    );
    let expected: Vec<&str> = numbers.iter().map(String::as_str).collect();
    assert_stored(&simulator, &expected, "probe");
    simulator.shutdown().await;
}

#[tokio::test]
async fn query_and_view_read_bills() {
    for mode in [AuthMode::Signature, AuthMode::PasswordSession] {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        let numbers = ["QV-1", "QV-2", "QV-3"];
        let models: Vec<Value> = numbers.iter().map(|number| paybill(number)).collect();
        client.batch_save(PAYBILL, &models).await.unwrap();
        let all: Vec<String> = numbers.iter().map(|number| number.to_string()).collect();

        let query = BillQuery::new(PAYBILL, &["FBillNo", "FDOCUMENTSTATUS", "FID"])
            .with_filter(in_filter("FBillNo", &all[..2]));
        let rows = client.execute_bill_query(&query).await.unwrap();

        assert_eq!(
            rows.len(),
            2,
            "{case}: the filter selects two bills: {rows:?}"
        );
        for row in &rows {
            let number = row[0].as_str().expect("FBillNo is text");
            assert!(
                all[..2].iter().any(|n| n == number),
                "{case}: {number} was in the filter"
            );
            assert_eq!(row[1], Value::from("A"), "{case}: status of {number}");
            assert_eq!(
                row[2].as_i64(),
                Some(stored_id(&simulator, number)),
                "{case}: FID of {number}"
            );
        }

        let mut paged = BTreeSet::new();
        for start_row in [0, 2] {
            let mut page =
                BillQuery::new(PAYBILL, &["FBillNo"]).with_filter(in_filter("FBillNo", &all));
            page.start_row = start_row;
            page.limit = 2;
            let rows = client.execute_bill_query(&page).await.unwrap();
            assert_eq!(
                rows.len(),
                if start_row == 0 { 2 } else { 1 },
                "{case}: page from row {start_row}"
            );
            paged.extend(rows.iter().map(|row| row[0].as_str().unwrap().to_string()));
        }
        assert_eq!(paged.len(), 3, "{case}: the pages cover every bill once");

        let by_number = client
            .view(PAYBILL, &ViewKey::Number("QV-2".into()))
            .await
            .unwrap()
            .expect("QV-2 exists");
        let id = stored_id(&simulator, "QV-2");
        let by_id = client
            .view(PAYBILL, &ViewKey::Id(id))
            .await
            .unwrap()
            .expect("the bill's id exists");
        let missing = client
            .view(PAYBILL, &ViewKey::Number("QV-404".into()))
            .await
            .unwrap();

        assert_eq!(
            by_number["FBillNo"],
            Value::from("QV-2"),
            "{case}: view by number"
        );
        assert_eq!(by_id["FBillNo"], Value::from("QV-2"), "{case}: view by id");
        assert_eq!(
            by_number["FPAYBILLENTRY"].as_array().map(Vec::len),
            Some(2),
            "{case}: the view carries both rows"
        );
        assert_eq!(
            by_number["FCONTACTUNIT"]["Number"],
            Value::from("EMP001"),
            "{case}: references are expanded"
        );
        assert_eq!(missing, None, "{case}: an unknown number is not found");
        assert_stored(&simulator, &numbers, &case);
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn base_data_fix_lets_bill_save() {
    for mode in [AuthMode::Signature, AuthMode::AppSecretSession] {
        let case = format!("{mode:?}");
        let simulator = start_simulator().await;
        let client = client(&simulator, mode);
        let model = paybill_with_cost_item("FIX-1", "FYXM077");

        let first = client.save(PAYBILL, &model).await.unwrap();

        match &first {
            ModelOutcome::Rejected { errors, .. } => assert!(
                errors
                    .iter()
                    .any(|error| error.field_name.as_deref() == Some("FCOSTID")
                        && error.message.contains("FYXM077")),
                "{case}: the rejection names the field and the number: {errors:?}"
            ),
            other => panic!("{case}: expected a rejection, got {other:?}"),
        }
        assert_stored(&simulator, &[], &case);

        let mut fix = BaseData::empty();
        fix.insert(
            forms::EXPENSE_ITEM,
            BaseRecord {
                id: None,
                number: "FYXM077".to_string(),
                name: "团建费".to_string(),
                kind: None,
            },
        );
        simulator.handle().add_base_data(&fix);
        let second = client.save(PAYBILL, &model).await.unwrap();

        let (_, k3_id, bill_no) = saved(&second, &case);
        assert_eq!(bill_no, "FIX-1", "{case}");
        assert_eq!(k3_id, stored_id(&simulator, "FIX-1"), "{case}");
        assert_eq!(
            simulator.handle().bill("FIX-1").unwrap().entries[0]
                .cost_item
                .as_deref(),
            Some("FYXM077"),
            "{case}: the new expense item is on the bill"
        );
        assert_stored(&simulator, &["FIX-1"], &case);
        simulator.shutdown().await;
    }
}
