//! HTTP tests of injected faults: token expiry, throttling shapes, quota, a missing
//! permission, `Retry-After`, 5xx, repeated cursors and latency.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::support::*;
use crate::dingtalk::{
    Api, DEFAULT_PROCESS_CODE, DingTalkOptions, FaultKind, FaultPlan, FaultRule, Latency,
    OapiTokenShape, TokenPolicy,
};

const LISTIDS: &str = "/topapi/processinstance/listids";
const QUERY: &str = "/v1.0/workflow/processes/instanceIds/query";

fn oapi_list_body(cursor: i64) -> Value {
    json!({"process_code": DEFAULT_PROCESS_CODE, "start_time": now_millis() - 86_400_000,
           "size": 20, "cursor": cursor})
}

fn v1_list_body() -> Value {
    json!({"processCode": DEFAULT_PROCESS_CODE, "startTime": now_millis() - 86_400_000,
           "nextToken": 0, "maxResults": 20})
}

#[tokio::test]
async fn expired_token_fails_until_refetched() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let old = oapi_token(&base).await;
    running.handle().expire_tokens();

    let failed = oapi_post(&base, LISTIDS, &old, oapi_list_body(0)).await;
    assert_eq!(failed["errcode"], json!(88), "{failed}");
    assert_eq!(failed["sub_code"], json!("40014"));
    let (status, body) = v1_post(&base, QUERY, &old, v1_list_body()).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], json!("InvalidAuthentication"));

    let fresh = oapi_token(&base).await;
    assert_ne!(fresh, old, "a new token after expiry");
    let listed = oapi_post(&base, LISTIDS, &fresh, oapi_list_body(0)).await;
    assert_eq!(listed["errcode"], json!(0), "the new token works: {listed}");
    running.shutdown().await;
}

#[tokio::test]
async fn short_lifetime_and_plain_shapes() {
    let running = start(DingTalkOptions {
        tokens: TokenPolicy {
            lifetime_seconds: 1,
            oapi_shape: OapiTokenShape::Errcode42001,
            v1_status: 401,
        },
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let failed = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    assert_eq!(failed["errcode"], json!(42001), "{failed}");
    let (status, _) = v1_post(&base, QUERY, &token, v1_list_body()).await;
    assert_eq!(status, 401, "selected v1.0 status");
    running.shutdown().await;
}

#[tokio::test]
async fn each_throttle_shape_then_recovery() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let handle = running.handle();
    let token = oapi_token(&base).await;

    handle
        .add_fault(FaultRule::next(FaultKind::QpsLimit, 1))
        .unwrap();
    let throttled = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    assert_eq!(throttled["errcode"], json!(88));
    assert_eq!(throttled["sub_code"], json!("90018"));
    let errmsg = throttled["errmsg"].as_str().unwrap();
    assert!(errmsg.contains("subcode=90018"), "{errmsg}");
    assert!(
        errmsg.contains("限制将在"),
        "names when the limit ends: {errmsg}"
    );

    handle
        .add_fault(FaultRule::next(FaultKind::QpsLimit, 1))
        .unwrap();
    let (status, body) = v1_post(&base, QUERY, &token, v1_list_body()).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["code"],
        json!("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    );

    handle
        .add_fault(FaultRule::next(FaultKind::ApiDisabled, 1))
        .unwrap();
    let disabled = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    assert_eq!(disabled["errcode"], json!(90002));

    handle
        .add_fault(FaultRule::next(FaultKind::IpBanHtml, 1))
        .unwrap();
    let response = client()
        .post(format!("{base}{LISTIDS}"))
        .query(&[("access_token", token.as_str())])
        .json(&oapi_list_body(0))
        .send()
        .await
        .unwrap();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/html"),
        "HTML ban page: {content_type}"
    );

    handle
        .add_fault(FaultRule::next(FaultKind::IpBanJson, 1))
        .unwrap();
    let banned = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    assert_eq!(banned["status"], json!(1111));
    assert_eq!(banned["wait"], json!(5));

    let recovered = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    assert_eq!(
        recovered["errcode"],
        json!(0),
        "calls succeed after the faults"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn quota_exhausted_spares_token_endpoint() {
    let running = start(DingTalkOptions {
        faults: FaultPlan {
            rules: vec![FaultRule::always(FaultKind::QuotaExhausted)],
            ..FaultPlan::default()
        },
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let failed = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    assert_eq!(failed["errcode"], json!(90020), "{failed}");
    let (status, body) = v1_post(&base, QUERY, &token, v1_list_body()).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["code"],
        json!("Forbidden.AccessDenied.ApiCountLimitForOrg")
    );
    running.shutdown().await;
}

#[tokio::test]
async fn repeated_cursor_fault_returns_request_cursor() {
    let running = start(DingTalkOptions {
        generate: 45,
        seed: 9,
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let start_time = now_millis() - 100 * 86_400_000;
    let body = |cursor: i64| json!({"process_code": DEFAULT_PROCESS_CODE, "start_time": start_time, "size": 20, "cursor": cursor});
    let first = oapi_post(&base, LISTIDS, &token, body(0)).await;
    assert_eq!(first["result"]["next_cursor"], json!(20));
    running
        .handle()
        .add_fault(FaultRule::next(FaultKind::RepeatCursor, 1))
        .unwrap();
    let repeated = oapi_post(&base, LISTIDS, &token, body(20)).await;
    assert_eq!(
        repeated["result"]["next_cursor"],
        json!(20),
        "cursor did not advance"
    );
    let normal = oapi_post(&base, LISTIDS, &token, body(20)).await;
    assert_eq!(
        normal["result"]["next_cursor"],
        json!(40),
        "one repeat only"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn server_error_rule_answers_5xx() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let mut rule = FaultRule::next(FaultKind::ServerError, 1).on(&[Api::InstanceIdsQuery]);
    rule.status = Some(502);
    running.handle().add_fault(rule).unwrap();
    let (status, body) = v1_post(&base, QUERY, &token, v1_list_body()).await;
    assert_eq!(status, 502, "{body}");
    let (status, _) = v1_post(&base, QUERY, &token, v1_list_body()).await;
    assert_eq!(status, 200, "recovered");
    let counters = running.handle().counters();
    assert_eq!(
        counters.get(&Api::InstanceIdsQuery),
        Some(&2),
        "both calls counted"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn latency_delays_calls() {
    let running = start(DingTalkOptions {
        faults: FaultPlan {
            latency: Latency {
                fixed_ms: 150,
                jitter_ms: 0,
            },
            ..FaultPlan::default()
        },
        ..DingTalkOptions::default()
    })
    .await;
    let started = Instant::now();
    oapi_token(&running.base_url()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the call waited the fixed latency"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn per_minute_throttles_in_both_envelopes() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let handle = running.handle();
    let token = oapi_token(&base).await;

    for (kind, errcode) in [
        (FaultKind::QpmLimit, 90006),
        (FaultKind::OrgQpmLimit, 90005),
    ] {
        handle.add_fault(FaultRule::next(kind, 2)).unwrap();

        let oapi = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
        let (status, v1) = v1_post(&base, QUERY, &token, v1_list_body()).await;

        assert_eq!(oapi["errcode"], json!(errcode), "{kind:?}: {oapi}");
        assert!(
            oapi["errmsg"].as_str().unwrap().contains("每分钟"),
            "{kind:?}: the message names the per-minute limit: {oapi}"
        );
        assert_eq!(status, 403, "{kind:?}: v1.0 throttling is HTTP 403");
        assert_eq!(
            v1["code"],
            json!("Forbidden.AccessDenied.QpmLimitForAppkeyAndApi"),
            "{kind:?}"
        );
    }
    let recovered = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    assert_eq!(recovered["errcode"], json!(0), "the rules are spent");
    running.shutdown().await;
}

#[tokio::test]
async fn retry_after_header_on_throttling() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    running
        .handle()
        .add_fault(FaultRule::next(FaultKind::QpmLimit, 1).with_retry_after(7))
        .unwrap();

    let throttled = client()
        .post(format!("{base}{QUERY}"))
        .header(crate::dingtalk::TOKEN_HEADER, token.as_str())
        .json(&v1_list_body())
        .send()
        .await
        .unwrap();
    let plain = client()
        .post(format!("{base}{QUERY}"))
        .header(crate::dingtalk::TOKEN_HEADER, token.as_str())
        .json(&v1_list_body())
        .send()
        .await
        .unwrap();

    assert_eq!(throttled.status().as_u16(), 403);
    assert_eq!(
        throttled
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap()),
        Some("7"),
        "the rule's wait is sent"
    );
    assert_eq!(plain.status().as_u16(), 200, "recovered");
    assert!(
        plain.headers().get("retry-after").is_none(),
        "a normal reply carries no Retry-After"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn permission_denied_shapes() {
    let running = start(DingTalkOptions {
        faults: FaultPlan {
            rules: vec![FaultRule::always(FaultKind::PermissionDenied)],
            ..FaultPlan::default()
        },
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;

    let oapi = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    let (status, v1) = v1_post(&base, QUERY, &token, v1_list_body()).await;

    assert_eq!(oapi["errcode"], json!(88), "{oapi}");
    assert_eq!(oapi["sub_code"], json!("60011"));
    assert_eq!(oapi["sub_msg"], json!("没有调用该接口的权限"));
    assert_eq!(
        oapi["errmsg"],
        json!("ding talk error[subcode=60011,submsg=没有调用该接口的权限]")
    );
    assert_eq!(status, 403);
    assert_eq!(
        v1["code"],
        json!("Forbidden.AccessDenied.AccessTokenPermissionDenied")
    );
    assert_eq!(v1["message"], json!("没有调用该接口的权限"));

    // A lasting rule survives a token fetch.
    let again = oapi_token(&base).await;
    let still = oapi_post(&base, LISTIDS, &again, oapi_list_body(0)).await;
    assert_eq!(still["sub_code"], json!("60011"), "not cleared: {still}");
    running.shutdown().await;
}

#[tokio::test]
async fn token_fetch_clears_permission_fault() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    running
        .handle()
        .add_fault(FaultRule::always(FaultKind::PermissionDenied).until_token_refresh())
        .unwrap();

    let denied = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    let denied_again = oapi_post(&base, LISTIDS, &token, oapi_list_body(0)).await;
    let refreshed = oapi_token(&base).await;
    let allowed = oapi_post(&base, LISTIDS, &refreshed, oapi_list_body(0)).await;

    assert_eq!(denied["sub_code"], json!("60011"), "{denied}");
    assert_eq!(
        denied_again["sub_code"],
        json!("60011"),
        "the rule lasts until a token fetch"
    );
    assert_eq!(refreshed, token, "DingTalk returns the same valid token");
    assert_eq!(
        allowed["errcode"],
        json!(0),
        "the fetch cleared it: {allowed}"
    );
    assert!(
        running.handle().faults().rules.is_empty(),
        "the rule is gone from the plan"
    );
    running.shutdown().await;
}
