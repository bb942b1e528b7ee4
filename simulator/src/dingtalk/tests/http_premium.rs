//! HTTP tests of the OA 高级版 (premium) edition: the v1.0 instance-id query reaches
//! five years back, the topapi listing and the standard edition keep 365 days.

use serde_json::json;

use super::support::*;
use crate::dingtalk::{DEFAULT_PROCESS_CODE, DingTalkOptions};

const DAY_MILLIS: i64 = 86_400_000;

async fn v1_status_for_start(premium: bool, days_back: i64) -> (u16, serde_json::Value) {
    let running = start(DingTalkOptions {
        premium,
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let start_time = now_millis() - days_back * DAY_MILLIS;
    let body = json!({"processCode": DEFAULT_PROCESS_CODE, "startTime": start_time,
                      "endTime": start_time + 30 * DAY_MILLIS, "nextToken": 0, "maxResults": 20});
    let reply = v1_post(
        &base,
        "/v1.0/workflow/processes/instanceIds/query",
        &token,
        body,
    )
    .await;
    running.shutdown().await;
    reply
}

#[tokio::test]
async fn premium_v1_reaches_five_years() {
    let (status, body) = v1_status_for_start(true, 1800).await;
    assert_eq!(status, 200, "1800 days back is inside five years: {body}");

    let (status, body) = v1_status_for_start(true, 1830).await;
    assert_eq!(status, 400, "1830 days back is outside five years");
    assert_eq!(body["code"], json!("dateTooEarly"));
}

#[tokio::test]
async fn standard_v1_keeps_365_days() {
    let (status, body) = v1_status_for_start(false, 400).await;
    assert_eq!(status, 400, "the standard edition rejects 400 days back");
    assert_eq!(body["code"], json!("dateTooEarly"));
}

#[tokio::test]
async fn premium_topapi_keeps_365_days() {
    let running = start(DingTalkOptions {
        premium: true,
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let start_time = now_millis() - 400 * DAY_MILLIS;
    let body = json!({"process_code": DEFAULT_PROCESS_CODE, "start_time": start_time,
                      "end_time": start_time + 30 * DAY_MILLIS, "size": 20, "cursor": 0});

    let reply = oapi_post(&base, "/topapi/processinstance/listids", &token, body).await;

    assert_eq!(
        reply["errcode"],
        json!(400002),
        "the topapi document names no premium exception: {reply}"
    );
    let info: serde_json::Value = client()
        .get(format!("{base}/__sim/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        info["premium"],
        json!(true),
        "the info endpoint shows the edition"
    );
    running.shutdown().await;
}
