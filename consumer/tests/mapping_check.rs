//! `consumer mapping check` on the example configuration and on broken copies of it:
//! each kind of break is reported with the key to fix and exit status 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/dingk3.example.toml")
}

fn example_text() -> String {
    std::fs::read_to_string(example_path()).unwrap()
}

fn check(config: &Path, lang: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["--lang", lang, "mapping", "check", "--config"])
        .arg(config)
        .env_remove("DINGK3_CONFIG")
        .output()
        .expect("the consumer binary runs")
}

/// Writes `text` to a temporary file and runs the check on it.
fn check_text(text: &str, lang: &str) -> (tempfile::TempDir, PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, text).unwrap();
    let output = check(&path, lang);
    (dir, path, output)
}

/// Runs the check on the example with `from` replaced by `to`, asserts exit status 2 and
/// returns the file path and stderr.
fn check_broken(from: &str, to: &str) -> (tempfile::TempDir, PathBuf, String) {
    let text = example_text();
    assert!(
        text.contains(from),
        "the example configuration contains {from:?}"
    );
    let (dir, path, output) = check_text(&text.replacen(from, to, 1), "en");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "a broken configuration exits 2: {stderr}"
    );
    (dir, path, stderr)
}

/// Asserts that stderr names the file and `key`.
fn assert_names_key(path: &Path, stderr: &str, key: &str) {
    let expected = format!("{}: {key}: ", path.display());
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in:\n{stderr}"
    );
}

#[test]
fn example_config_is_valid() {
    let output = check(&example_path(), "en");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("valid; routes: 1"), "{stdout}");
    assert!(
        stdout.contains("PROC-E322578D-5495-41BA-AED7-BBA841056F34 → AP_PAYBILL"),
        "{stdout}"
    );
}

#[test]
fn example_config_valid_in_chinese() {
    let output = check(&example_path(), "zh");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout.contains("有效，共 1 条路由"), "{stdout}");
}

#[test]
fn config_read_from_environment() {
    let output = Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["mapping", "check"])
        .env("DINGK3_CONFIG", example_path())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn unknown_mapping_named() {
    let (_dir, path, stderr) =
        check_broken(r#"mapping = "expense_claim""#, r#"mapping = "expense""#);
    assert_names_key(&path, &stderr, "routes.0.mapping");
    assert!(
        stderr.contains("[mappings.expense]"),
        "says how to fix: {stderr}"
    );
}

#[test]
fn unknown_value_map_named() {
    let (_dir, path, stderr) = check_broken(r#"map = "expense_item""#, r#"map = "expense_items""#);
    assert_names_key(
        &path,
        &stderr,
        "mappings.expense_claim.entries.fields.2.map",
    );
}

#[test]
fn bad_source_named() {
    let (_dir, path, stderr) = check_broken("instance:finish_time", "instance:finished_at");
    assert_names_key(&path, &stderr, "mappings.expense_claim.header.3.source");
    assert!(
        stderr.contains("finish_time"),
        "lists the valid fields: {stderr}"
    );
}

#[test]
fn undefined_variable_named() {
    let (_dir, path, stderr) = check_broken(r#"org = "100""#, r#"organisation = "100""#);
    assert_names_key(&path, &stderr, "mappings.expense_claim.header.0.source");
    assert_names_key(&path, &stderr, "mappings.expense_claim.header.1.source");
}

#[test]
fn misspelled_key_named() {
    let (_dir, path, stderr) = check_broken(
        r#"{ key = "FBillTypeID", const"#,
        r#"{ key = "FBillTypeID", constant"#,
    );
    assert_names_key(&path, &stderr, "mappings.expense_claim.header.2.constant");
}

#[test]
fn unknown_kind_named() {
    let (_dir, path, stderr) = check_broken(r#"as = "money""#, r#"as = "amount""#);
    assert_names_key(&path, &stderr, "mappings.expense_claim.entries.fields.3.as");
}

#[test]
fn amount_rule_named() {
    let (_dir, path, stderr) = check_broken(
        r#"amount = "FPAYTOTALAMOUNTFOR""#,
        r#"amount = "FPAYAMOUNTFOR_E""#,
    );
    assert_names_key(&path, &stderr, "mappings.expense_claim.entries.amount");
}

#[test]
fn bad_template_named() {
    let (_dir, path, stderr) = check_broken(
        r#"template = "{business_id} {title}""#,
        r#"template = "{business_id} {title""#,
    );
    assert_names_key(&path, &stderr, "mappings.expense_claim.header.9.template");
}

#[test]
fn bad_constant_named() {
    let (_dir, path, stderr) = check_broken(
        r#"const = "FKDLX02_SYS", as = "base_data""#,
        r#"const = "FKDLX02_SYS", as = "money""#,
    );
    assert_names_key(&path, &stderr, "mappings.expense_claim.header.2.const");
}

#[test]
fn empty_value_map_entry_named() {
    let (_dir, path, stderr) = check_broken(r#""user-1002" = "EMP002""#, r#""user-1002" = """#);
    assert_names_key(&path, &stderr, "value_maps.employee.user-1002");
}

#[test]
fn duplicate_route_named() {
    let (_dir, path, stderr) = check_broken(
        "[mappings.expense_claim]\n",
        "[[routes]]\nprocess_code = \"PROC-E322578D-5495-41BA-AED7-BBA841056F34\"\n\
         form_id = \"AP_PAYBILL\"\nmapping = \"expense_claim\"\n\n[mappings.expense_claim]\n",
    );
    assert_names_key(&path, &stderr, "routes.1.process_code");
}

#[test]
fn every_break_listed() {
    let text = example_text()
        .replacen(r#"mapping = "expense_claim""#, r#"mapping = "expense""#, 1)
        .replacen(r#"map = "expense_item""#, r#"map = "expense_items""#, 1);
    let (_dir, path, output) = check_text(&text, "en");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_names_key(&path, &stderr, "routes.0.mapping");
    assert_names_key(
        &path,
        &stderr,
        "mappings.expense_claim.entries.fields.2.map",
    );
    assert!(stderr.contains("2 problems"), "{stderr}");
}

#[test]
fn syntax_error_names_file() {
    let (_dir, path, stderr) = check_broken("\n[[routes]]\n", "\n[[routes]\n");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("cannot read the file"), "{stderr}");
}

#[test]
fn missing_file_named() {
    let output = check(Path::new("/nonexistent/dingk3.toml"), "zh");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("无法读取配置文件 /nonexistent/dingk3.toml"),
        "{stderr}"
    );
}

#[test]
fn chinese_errors_name_key() {
    let text = example_text().replacen(r#"map = "expense_item""#, r#"map = "expense_items""#, 1);
    let (_dir, path, output) = check_text(&text, "zh");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let expected = format!(
        "{}：mappings.expense_claim.entries.fields.2.map：",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("没有名为"), "{stderr}");
}
