//! `consumer mapping preview` on the reference approval cases: each gives the outcome and
//! exit status its `.expected.json` names, and the text format prints the exact request.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn case_path(name: &str) -> PathBuf {
    repo_path(&format!("tests/fixtures/cases/{name}.json"))
}

fn expected(name: &str) -> Value {
    let path = repo_path(&format!("tests/fixtures/cases/{name}.expected.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn preview(config: &Path, extra: &[&str], instance: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["mapping", "preview", "--config"])
        .arg(config)
        .args(extra)
        .arg(instance)
        .env_remove("DINGK3_CONFIG")
        .output()
        .expect("the consumer binary runs")
}

/// Runs the JSON preview of case `name` and returns the exit status and the output.
fn preview_case(name: &str) -> (Option<i32>, Value) {
    let id = expected(name)["process_instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let output = preview(
        &repo_path("config/dingk3.example.toml"),
        &["--id", &id, "--format", "json"],
        &case_path(name),
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!("{name}: stdout is not one JSON object ({error}): {stdout}")
    });
    (output.status.code(), value)
}

fn assert_saved(name: &str) {
    let expected = expected(name);
    let (status, output) = preview_case(name);
    assert_eq!(status, Some(0), "{name}: exit status of a bill: {output}");
    assert_eq!(output["outcome"], "ok");
    assert_eq!(output["form_id"], "AP_PAYBILL");
    let model = &output["data"]["Model"][0];
    let entries = model["FPAYBILLENTRY"].as_array().unwrap();
    assert_eq!(
        entries.len() as u64,
        expected["entries"].as_u64().unwrap(),
        "{name}: entry rows"
    );
    let amounts: Vec<Value> = entries
        .iter()
        .map(|entry| Value::String(entry["FPAYTOTALAMOUNTFOR"].to_string()))
        .collect();
    assert_eq!(
        Value::Array(amounts),
        expected["amounts"],
        "{name}: line amounts"
    );
    assert_eq!(output["total"], expected["total"], "{name}: total");
    assert_eq!(model["FDATE"], expected["bill_date"], "{name}: bill date");
    if let Some(part) = expected["bill_no_contains"].as_str() {
        let bill_no = model["FBillNo"].as_str().unwrap();
        assert!(bill_no.contains(part), "{name}: {bill_no} contains {part}");
    }
}

fn assert_rejected(name: &str) -> Value {
    let expected = expected(name);
    let (status, output) = preview_case(name);
    assert_eq!(
        status,
        Some(3),
        "{name}: exit status of a rejection: {output}"
    );
    assert_eq!(output["outcome"], "rejected");
    let errors = output["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|error| error["field"] == expected["field"]),
        "{name}: a reason names {}: {output}",
        expected["field"]
    );
    output
}

#[test]
fn case_01_previews_bill() {
    assert_saved("01-admin-two-rows");
}

#[test]
fn case_02_previews_bill() {
    assert_saved("02-project-travel");
}

#[test]
fn case_03_is_skipped() {
    let (status, output) = preview_case("03-refused");
    assert_eq!(expected("03-refused")["expect"], "skipped");
    assert_eq!(status, Some(4), "a refused approval is skipped: {output}");
    assert_eq!(output["outcome"], "skipped");
    assert_eq!(output["result"], "refuse");
}

#[test]
fn case_04_is_rejected() {
    let output = assert_rejected("04-missing-amount");
    let error = &output["errors"][0];
    assert_eq!(error["row"], 1);
    assert_eq!(error["code"], "missing_value");
    let keys: Vec<&str> = error
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys[..4], ["field", "row", "code", "message"]);
}

#[test]
fn case_05_is_rejected() {
    let output = assert_rejected("05-unknown-expense-type");
    let error = &output["errors"][0];
    assert_eq!(error["code"], "unmapped_value");
    assert_eq!(error["value"], "团建活动");
    assert!(
        error["message"].as_str().unwrap().contains("团建活动"),
        "the message names the value: {error}"
    );
}

#[test]
fn text_format_prints_golden_request() {
    let output = preview(
        &repo_path("config/dingk3.example.toml"),
        &["--id", "kNpmUavZQwSHP_ZJvVdL7g07561762136122"],
        &case_path("01-admin-two-rows"),
    );
    assert_eq!(output.status.code(), Some(0));
    let golden = std::fs::read_to_string(repo_path(
        "shared/tests/golden/01-admin-two-rows.request.json",
    ))
    .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        golden,
        "stdout is exactly the request the library builds, key order included"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("DD-202611031015000123401"), "{stderr}");
}

#[test]
fn text_rejection_in_chinese() {
    let output = Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args([
            "--lang", "zh", "mapping", "preview", "--id", "x", "--config",
        ])
        .arg(repo_path("config/dingk3.example.toml"))
        .arg(case_path("05-unknown-expense-type"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(stdout.contains("值映射 expense_item 中没有"), "{stdout}");
}

#[test]
fn envelope_needs_no_id() {
    let instance: Value =
        serde_json::from_str(&std::fs::read_to_string(case_path("02-project-travel")).unwrap())
            .unwrap();
    let envelope = json!({
        "schema": 1,
        "process_instance_id": "oyTxr2qkQXqjgjJNZZATZQ00891762342211",
        "process_code": PROCESS_CODE,
        "business_id": "202611051930000456702",
        "fetched_at": "2026-11-06T01:02:47Z",
        "instance": instance["process_instance"],
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("envelope.json");
    std::fs::write(&path, envelope.to_string()).unwrap();
    let output = preview(
        &repo_path("config/dingk3.example.toml"),
        &["--format", "json"],
        &path,
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\"total\":\"1386.00\""), "{stdout}");
}

#[test]
fn missing_id_is_usage_error() {
    let output = preview(
        &repo_path("config/dingk3.example.toml"),
        &[],
        &case_path("01-admin-two-rows"),
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("--id"), "{stderr}");
}

#[test]
fn several_routes_need_process_code() {
    let text = std::fs::read_to_string(repo_path("config/dingk3.example.toml")).unwrap();
    let text = format!(
        "{text}\n[[routes]]\nprocess_code = \"PROC-OTHER\"\nform_id = \"AP_PAYBILL\"\nmapping = \"expense_claim\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("two-routes.toml");
    std::fs::write(&config, text).unwrap();

    let ambiguous = preview(&config, &["--id", "x"], &case_path("01-admin-two-rows"));
    let stderr = String::from_utf8(ambiguous.stderr).unwrap();
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(stderr.contains("--process-code"), "{stderr}");

    let chosen = preview(
        &config,
        &["--id", "x", "--process-code", PROCESS_CODE],
        &case_path("01-admin-two-rows"),
    );
    assert_eq!(chosen.status.code(), Some(0));

    let unknown = preview(
        &config,
        &["--id", "x", "--process-code", "PROC-NONE"],
        &case_path("01-admin-two-rows"),
    );
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn invalid_config_is_usage_error() {
    let text = std::fs::read_to_string(repo_path("config/dingk3.example.toml")).unwrap();
    let text = text.replacen(r#"map = "employee""#, r#"map = "employees""#, 1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broken.toml");
    std::fs::write(&config, text).unwrap();
    let output = preview(
        &config,
        &["--id", "x", "--format", "json"],
        &case_path("01-admin-two-rows"),
    );
    assert_eq!(output.status.code(), Some(2));
    let stdout: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(stdout["outcome"], "error");
    assert_eq!(
        stdout["errors"][0]["key"],
        "mappings.expense_claim.header.5.map"
    );
}

#[test]
fn dingtalk_error_body_is_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.json");
    std::fs::write(&path, r#"{"errcode": 88, "errmsg": "ding talk error"}"#).unwrap();
    let output = preview(
        &repo_path("config/dingk3.example.toml"),
        &["--id", "x"],
        &path,
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("errcode 88"), "{stderr}");
}

#[test]
fn auto_submit_changes_request() {
    let text = std::fs::read_to_string(repo_path("config/dingk3.example.toml")).unwrap();
    let text = text.replace(
        "# auto_submit_and_audit = false",
        "auto_submit_and_audit = true",
    );
    assert!(
        text.contains("\nauto_submit_and_audit = true"),
        "the example documents the key"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("auto.toml");
    std::fs::write(&config, text).unwrap();
    let output = preview(
        &config,
        &["--id", "x", "--format", "json"],
        &case_path("01-admin-two-rows"),
    );
    let stdout: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(stdout["data"]["IsAutoSubmitAndAudit"], "true");
}
