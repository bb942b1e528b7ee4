//! HTTP tests of tokens, listing, details and comments in both generations.

use serde_json::{Value, json};

use super::support::*;
use crate::dingtalk::{
    Api, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_PROCESS_CODE, DingTalkOptions, TOKEN_HEADER,
};

#[tokio::test]
async fn gettoken_returns_same_token_and_rejects_bad_secret() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let first = oapi_token(&base).await;
    assert_eq!(first, oapi_token(&base).await, "same token while valid");

    let bad: Value = client()
        .get(format!("{base}/gettoken"))
        .query(&[("appkey", DEFAULT_APP_KEY), ("appsecret", "wrong")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["errcode"], json!(40096), "bad secret: {bad}");
    assert!(
        bad.get("request_id").is_none(),
        "observed body has no request_id"
    );

    let form: Value = client()
        .post(format!("{base}/gettoken"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "appkey={DEFAULT_APP_KEY}&appsecret={DEFAULT_APP_SECRET}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        form["errcode"],
        json!(40035),
        "form body is not read: {form}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn v1_token_equals_legacy_token() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let legacy = oapi_token(&base).await;
    let body: Value = client()
        .post(format!("{base}/v1.0/oauth2/accessToken"))
        .json(&json!({"appKey": DEFAULT_APP_KEY, "appSecret": DEFAULT_APP_SECRET}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["accessToken"], json!(legacy), "one token per app");
    assert_eq!(body["expireIn"], json!(7200));
    running.shutdown().await;
}

#[tokio::test]
async fn token_placement_errors_match_observed_replies() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let token = oapi_token(&base).await;

    let header_only: Value = client()
        .post(format!("{base}/topapi/processinstance/get"))
        .header(TOKEN_HEADER, &token)
        .json(&json!({"process_instance_id": "x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(header_only["errcode"], json!(88));
    assert_eq!(
        header_only["sub_code"],
        json!("40000"),
        "oapi ignores the header"
    );

    let query_only = client()
        .get(format!("{base}/v1.0/workflow/processInstances"))
        .query(&[("processInstanceId", "x"), ("access_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(query_only.status().as_u16(), 400);
    let body: Value = query_only.json().await.unwrap();
    assert_eq!(body["code"], json!("AuthenticationFailed.MissingParameter"));
    running.shutdown().await;
}

#[tokio::test]
async fn cases_are_listed_and_detailed_after_shift() {
    let running = start_with_cases().await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    assert!(
        running.handle().shift_days() != 0,
        "cases dated 2026-11 were shifted"
    );

    let ids = oapi_list_all(&base, &token, DEFAULT_PROCESS_CODE).await;
    assert_eq!(ids.len(), 5, "every case is listed: {ids:?}");
    assert!(ids.contains(&"tU3v_w4x5YZaBcDeFgHiJk00561762736740".to_string()));

    let body = json!({"process_instance_id": "kNpmUavZQwSHP_ZJvVdL7g07561762136122"});
    let detail = oapi_post(&base, "/topapi/processinstance/get", &token, body).await;
    assert_eq!(detail["errcode"], json!(0));
    let instance = &detail["process_instance"];
    assert_eq!(
        instance["business_id"],
        json!("202611031015000123401"),
        "ids unchanged"
    );
    assert_eq!(instance["status"], json!("COMPLETED"));

    let (status, v1) = v1_detail(&base, &token, "kNpmUavZQwSHP_ZJvVdL7g07561762136122").await;
    assert_eq!(status, 200);
    assert_eq!(v1["success"], json!(true));
    assert_eq!(v1["result"]["businessId"], json!("202611031015000123401"));
    running.shutdown().await;
}

#[tokio::test]
async fn v1_paging_walks_105_instances() {
    let running = start(DingTalkOptions {
        generate: 105,
        seed: 3,
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;

    let start_time = now_millis() - 100 * 86_400_000;
    let mut next = 0;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let body = json!({"processCode": DEFAULT_PROCESS_CODE, "startTime": start_time,
                          "nextToken": next, "maxResults": 20});
        let (status, page) = v1_post(
            &base,
            "/v1.0/workflow/processes/instanceIds/query",
            &token,
            body,
        )
        .await;
        assert_eq!(status, 200, "page {pages}: {page}");
        pages += 1;
        ids.extend(page["result"]["list"].as_array().unwrap().iter().cloned());
        match page["result"].get("nextToken") {
            Some(Value::String(token)) => next = token.parse().expect("numeric nextToken"),
            None => break,
            Some(other) => panic!("nextToken must be a string, got {other}"),
        }
    }

    assert_eq!(pages, 6, "5 full pages and one short page");
    assert_eq!(ids.len(), 105, "every instance once");
    let topapi_ids = oapi_list_all(&base, &token, DEFAULT_PROCESS_CODE).await;
    assert_eq!(topapi_ids.len(), 105, "topapi lists the same instances");
    running.shutdown().await;
}

#[tokio::test]
async fn v1_statuses_filter_listing() {
    let running = start(DingTalkOptions {
        generate: 60,
        seed: 5,
        ..DingTalkOptions::default()
    })
    .await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let body = json!({"processCode": DEFAULT_PROCESS_CODE, "startTime": now_millis() - 100 * 86_400_000i64,
                      "nextToken": 0, "maxResults": 20, "statuses": ["RUNNING"]});
    let (status, page) = v1_post(
        &base,
        "/v1.0/workflow/processes/instanceIds/query",
        &token,
        body,
    )
    .await;
    assert_eq!(status, 200);
    for id in page["result"]["list"].as_array().unwrap() {
        let entry = running
            .handle()
            .entry(id.as_str().unwrap())
            .expect("listed id exists");
        assert_eq!(
            entry.instance.status.as_str(),
            "RUNNING",
            "only running instances"
        );
    }
    running.shutdown().await;
}

#[tokio::test]
async fn listing_limits_answer_with_vendor_codes() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let now = now_millis();
    let listids = "/topapi/processinstance/listids";
    let query = "/v1.0/workflow/processes/instanceIds/query";

    let big = oapi_post(
        &base,
        listids,
        &token,
        json!({"process_code": DEFAULT_PROCESS_CODE,
        "start_time": now - 1000, "size": 21}),
    )
    .await;
    assert_eq!(big["errcode"], json!(400002), "size 21: {big}");

    let seconds = oapi_post(
        &base,
        listids,
        &token,
        json!({"process_code": DEFAULT_PROCESS_CODE,
        "start_time": now / 1000, "end_time": now / 1000 + 3600}),
    )
    .await;
    assert_eq!(seconds["errcode"], json!(400002), "seconds: {seconds}");
    assert_eq!(seconds["errmsg"], json!("时间不能在指定天数之前"));

    let missing = oapi_post(&base, listids, &token, json!({"start_time": now - 1000})).await;
    assert_eq!(
        missing["errcode"],
        json!(40035),
        "missing process_code: {missing}"
    );

    let (status, wide) = v1_post(
        &base,
        query,
        &token,
        json!({"processCode": DEFAULT_PROCESS_CODE,
        "startTime": now - 130 * 86_400_000i64, "endTime": now, "nextToken": 0, "maxResults": 20}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        wide["code"],
        json!("invalidEndTime"),
        "130-day window: {wide}"
    );

    let (status, size) = v1_post(
        &base,
        query,
        &token,
        json!({"processCode": DEFAULT_PROCESS_CODE,
        "startTime": now - 1000, "nextToken": 0, "maxResults": 50}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(size["code"], json!("invalidMaxResults"));

    let (status, unknown) = v1_post(
        &base,
        query,
        &token,
        json!({"processCode": "PROC-NOPE",
        "startTime": now - 1000, "nextToken": 0, "maxResults": 20}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(unknown["code"], json!("processCodeError"));
    running.shutdown().await;
}

#[tokio::test]
async fn unknown_instance_and_path_errors() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let body = json!({"process_instance_id": "no-such-id"});
    let detail = oapi_post(&base, "/topapi/processinstance/get", &token, body).await;
    assert_eq!(detail["errcode"], json!(820005), "{detail}");
    let (status, v1) = v1_detail(&base, &token, "no-such-id").await;
    assert_eq!(status, 400);
    assert_eq!(v1["code"], json!("processInstanceNotExist"));
    let unknown = oapi_post(&base, "/topapi/processinstance/nope", &token, json!({})).await;
    assert_eq!(unknown["errcode"], json!(22), "{unknown}");
    running.shutdown().await;
}

#[tokio::test]
async fn comments_are_recorded_from_both_generations() {
    let running = start_with_cases().await;
    let base = running.base_url();
    let token = oapi_token(&base).await;
    let id = "oyTxr2qkQXqjgjJNZZATZQ00891762342211";

    let body = json!({"request": {"process_instance_id": id, "text": "已生成付款单 FKD0001",
                                  "comment_userid": "user-2001"}});
    let reply = oapi_post(&base, "/topapi/process/instance/comment/add", &token, body).await;
    assert_eq!(reply["errcode"], json!(0), "{reply}");
    assert_eq!(reply["result"], json!(true));

    let body = json!({"processInstanceId": id, "text": "第二条评论", "commentUserId": "user-2001"});
    let (status, reply) = v1_post(
        &base,
        "/v1.0/workflow/processInstances/comments",
        &token,
        body,
    )
    .await;
    assert_eq!(status, 200, "{reply}");

    let long = json!({"processInstanceId": id, "text": "长".repeat(1025), "commentUserId": "u"});
    let (status, _) = v1_post(
        &base,
        "/v1.0/workflow/processInstances/comments",
        &token,
        long,
    )
    .await;
    assert_eq!(status, 400, "1025 characters are too many");

    let comments = running.handle().comments();
    assert_eq!(comments.len(), 2, "two accepted comments");
    assert_eq!(comments[0].api, Api::CommentAdd);
    assert_eq!(comments[1].text, "第二条评论");

    let (_, detail) = v1_detail(&base, &token, id).await;
    let remarks: Vec<&Value> = detail["result"]["operationRecords"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["type"] == json!("ADD_REMARK"))
        .collect();
    assert_eq!(remarks.len(), 2, "each comment appends ADD_REMARK");
    assert_eq!(remarks[0]["remark"], json!("已生成付款单 FKD0001"));
    running.shutdown().await;
}
