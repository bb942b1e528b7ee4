//! Helpers for the in-process HTTP tests.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::dingtalk::{
    DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DingTalkOptions, DingTalkSimulator, RunningDingTalk,
    TOKEN_HEADER,
};

/// Returns the repository's copy of the handed approval cases.
pub fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cases")
}

/// Starts a simulator on 127.0.0.1:0.
pub async fn start(options: DingTalkOptions) -> RunningDingTalk {
    DingTalkSimulator::start(options)
        .await
        .expect("simulator starts")
}

/// Starts a simulator serving the handed cases, shifted to the last days.
pub async fn start_with_cases() -> RunningDingTalk {
    start(DingTalkOptions {
        instances_dir: Some(cases_dir()),
        shift_dates: true,
        ..DingTalkOptions::default()
    })
    .await
}

thread_local! {
    /// One client per test thread: building a client loads TLS roots, which is slow,
    /// and each test runs on its own thread with its own runtime.
    static CLIENT: reqwest::Client = reqwest::Client::new();
}

/// Returns the test thread's HTTP client.
pub fn client() -> reqwest::Client {
    CLIENT.with(Clone::clone)
}

/// Returns the current epoch milliseconds.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Fetches a token from the legacy endpoint.
pub async fn oapi_token(base: &str) -> String {
    let body: Value = client()
        .get(format!("{base}/gettoken"))
        .query(&[
            ("appkey", DEFAULT_APP_KEY),
            ("appsecret", DEFAULT_APP_SECRET),
        ])
        .send()
        .await
        .expect("gettoken answers")
        .json()
        .await
        .expect("gettoken returns JSON");
    assert_eq!(body["errcode"], json!(0), "gettoken succeeds: {body}");
    body["access_token"]
        .as_str()
        .expect("token string")
        .to_string()
}

/// Posts JSON to a topapi path with the token in the query string.
pub async fn oapi_post(base: &str, path: &str, token: &str, body: Value) -> Value {
    client()
        .post(format!("{base}{path}"))
        .query(&[("access_token", token)])
        .json(&body)
        .send()
        .await
        .expect("topapi answers")
        .json()
        .await
        .expect("topapi returns JSON")
}

/// Posts JSON to a v1.0 path with the token header; returns the status and body.
pub async fn v1_post(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(format!("{base}{path}"))
        .header(TOKEN_HEADER, token)
        .json(&body)
        .send()
        .await
        .expect("v1.0 answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("v1.0 returns JSON"))
}

/// Gets a v1.0 instance detail; returns the status and body.
pub async fn v1_detail(base: &str, token: &str, id: &str) -> (u16, Value) {
    let response = client()
        .get(format!("{base}/v1.0/workflow/processInstances"))
        .query(&[("processInstanceId", id)])
        .header(TOKEN_HEADER, token)
        .send()
        .await
        .expect("v1.0 answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("v1.0 returns JSON"))
}

/// Lists every id of the last 100 days through topapi, following `next_cursor`.
pub async fn oapi_list_all(base: &str, token: &str, process_code: &str) -> Vec<String> {
    let start = now_millis() - 100 * 86_400_000;
    let mut cursor = 0;
    let mut ids = Vec::new();
    for _ in 0..100 {
        let body = json!({"process_code": process_code, "start_time": start, "size": 20, "cursor": cursor});
        let page = oapi_post(base, "/topapi/processinstance/listids", token, body).await;
        assert_eq!(page["errcode"], json!(0), "listing succeeds: {page}");
        for id in page["result"]["list"].as_array().expect("list array") {
            ids.push(id.as_str().expect("id string").to_string());
        }
        match page["result"].get("next_cursor") {
            Some(next) => cursor = next.as_i64().expect("numeric cursor"),
            None => return ids,
        }
    }
    panic!("listing did not end within 100 pages");
}
