//! HTTP tests of the `/__sim/` admin API.

use serde_json::{Value, json};

use super::support::*;
use crate::dingtalk::{DEFAULT_PROCESS_CODE, DingTalkOptions};

async fn admin_get(base: &str, path: &str) -> Value {
    client()
        .get(format!("{base}/__sim/{path}"))
        .send()
        .await
        .expect("admin answers")
        .json()
        .await
        .expect("admin returns JSON")
}

async fn admin_send(method: reqwest::Method, base: &str, path: &str, body: Value) -> (u16, Value) {
    let response = client()
        .request(method, format!("{base}/__sim/{path}"))
        .json(&body)
        .send()
        .await
        .expect("admin answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("admin body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("admin returns JSON")
    };
    (status, body)
}

fn running_instance(created: &str) -> Value {
    json!({
        "business_id": "202612010900000000001",
        "create_time": created,
        "status": "RUNNING",
        "result": "",
        "originator_userid": "user-1001",
        "title": "张三提交的费用报销",
        "form_component_values": [],
        "tasks": [{"taskid": "1", "userid": "user-2001", "task_status": "RUNNING",
                   "task_result": "NONE", "create_time": created}]
    })
}

#[tokio::test]
async fn info_reports_shift_days() {
    let running = start_with_cases().await;
    let info = admin_get(&running.base_url(), "info").await;
    assert_eq!(info["shift_days"], json!(running.handle().shift_days()));
    assert_eq!(info["instances"], json!(5));
    assert_eq!(info["process_code"], json!(DEFAULT_PROCESS_CODE));
    running.shutdown().await;
}

#[tokio::test]
async fn late_approval_changes_truth_and_detail() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let created = chrono::Utc::now() - chrono::Duration::days(20);
    let created = crate::dingtalk::time::format_topapi(crate::dingtalk::time::to_beijing(created));
    let truth = json!({"expect": "saved", "entries": 1, "amounts": ["99.00"], "total": "99.00"});
    let (status, _) = admin_send(
        reqwest::Method::POST,
        &base,
        "instances",
        json!({
            "process_instance_id": "late-1", "instance": running_instance(&created), "truth": truth,
        }),
    )
    .await;
    assert_eq!(status, 201, "instance added");

    let (status, _) = admin_send(
        reqwest::Method::POST,
        &base,
        "instances",
        json!({
            "process_instance_id": "late-1", "instance": running_instance(&created),
        }),
    )
    .await;
    assert_eq!(status, 409, "duplicate id refused");

    let listed = admin_get(&base, "instances").await;
    let entry = &listed.as_array().unwrap()[0];
    assert_eq!(entry["truth"]["approved"], json!(false));
    assert_eq!(
        entry["truth"]["expected"]["expect"],
        json!("skipped"),
        "running is skipped"
    );

    let (status, changed) = admin_send(
        reqwest::Method::POST,
        &base,
        "instances/late-1/status",
        json!({"status": "COMPLETED", "result": "agree"}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["truth"]["approved"], json!(true));
    assert_eq!(changed["truth"]["expected"]["total"], json!("99.00"));

    let token = oapi_token(&base).await;
    let detail = oapi_post(
        &base,
        "/topapi/processinstance/get",
        &token,
        json!({"process_instance_id": "late-1"}),
    )
    .await;
    assert_eq!(detail["process_instance"]["status"], json!("COMPLETED"));
    assert_eq!(detail["process_instance"]["result"], json!("agree"));
    assert_eq!(
        detail["process_instance"]["tasks"][0]["task_result"],
        json!("AGREE")
    );

    let ids = oapi_list_all(&base, &token, DEFAULT_PROCESS_CODE).await;
    assert_eq!(
        ids,
        vec!["late-1".to_string()],
        "listed by its 20-day-old creation time"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn status_change_rejects_bad_input() {
    let running = start_with_cases().await;
    let base = running.base_url();
    let (status, body) = admin_send(
        reqwest::Method::POST,
        &base,
        "instances/nope/status",
        json!({"status": "TERMINATED"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let id = "kNpmUavZQwSHP_ZJvVdL7g07561762136122";
    let (status, body) = admin_send(
        reqwest::Method::POST,
        &base,
        &format!("instances/{id}/status"),
        json!({"status": "COMPLETED"}),
    )
    .await;
    assert_eq!(status, 400, "COMPLETED without result: {body}");
    running.shutdown().await;
}

#[tokio::test]
async fn faults_and_tokens_through_admin() {
    let running = start(DingTalkOptions::default()).await;
    let base = running.base_url();
    let (status, plan) = admin_send(
        reqwest::Method::PUT,
        &base,
        "faults",
        json!({
            "latency": {"fixed_ms": 0, "jitter_ms": 5},
            "rules": [{"kind": "system_busy", "next": 1, "apis": ["listids"]}],
            "seed": 3,
        }),
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["rules"][0]["kind"], json!("system_busy"));

    let token = oapi_token(&base).await;
    let busy = oapi_post(
        &base,
        "/topapi/processinstance/listids",
        &token,
        json!({
        "process_code": DEFAULT_PROCESS_CODE, "start_time": now_millis() - 1000}),
    )
    .await;
    assert_eq!(busy["errcode"], json!(-1), "{busy}");

    let (status, _) = admin_send(
        reqwest::Method::POST,
        &base,
        "faults",
        json!({"kind": "qps_limit", "rate": 2.0}),
    )
    .await;
    assert_eq!(status, 400, "rate above 1 is refused");

    let (status, _) = admin_send(
        reqwest::Method::PUT,
        &base,
        "tokens",
        json!({"oapi_shape": "errcode_40014"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = admin_send(reqwest::Method::POST, &base, "tokens/expire", Value::Null).await;
    assert_eq!(status, 204);
    let expired = oapi_post(
        &base,
        "/topapi/processinstance/get",
        &token,
        json!({"process_instance_id": "x"}),
    )
    .await;
    assert_eq!(expired["errcode"], json!(40014), "plain shape: {expired}");

    let counters = admin_get(&base, "counters").await;
    assert_eq!(counters["gettoken"], json!(1));
    assert_eq!(counters["listids"], json!(1));
    running.shutdown().await;
}

#[tokio::test]
async fn generate_and_reset() {
    let running = start_with_cases().await;
    let base = running.base_url();
    let (status, added) = admin_send(
        reqwest::Method::POST,
        &base,
        "generate",
        json!({"count": 12, "seed": 4}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(added["added"].as_array().unwrap().len(), 12);
    assert_eq!(
        admin_get(&base, "instances")
            .await
            .as_array()
            .unwrap()
            .len(),
        17
    );

    let (status, _) = admin_send(reqwest::Method::POST, &base, "reset", Value::Null).await;
    assert_eq!(status, 204);
    assert_eq!(
        admin_get(&base, "instances")
            .await
            .as_array()
            .unwrap()
            .len(),
        5,
        "reset restores the loaded cases"
    );
    assert_eq!(admin_get(&base, "comments").await, json!([]));
    running.shutdown().await;
}
