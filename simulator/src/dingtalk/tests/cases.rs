//! The handed approval cases: they load, render back unchanged through topapi, and
//! render as v1.0 prints the same instance.

use serde_json::{Value, json};

use super::support::cases_dir;
use crate::dingtalk::loader::{LoadedCase, load_cases};
use crate::dingtalk::truth::Expected;
use crate::dingtalk::{DEFAULT_PROCESS_CODE, render_topapi, render_v1};

fn cases() -> Vec<LoadedCase> {
    load_cases(&cases_dir(), DEFAULT_PROCESS_CODE).expect("the handed cases load")
}

fn raw_instance(name: &str) -> Value {
    let path = cases_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).expect("case file readable");
    let body: Value = serde_json::from_str(&text).expect("case file is JSON");
    body["process_instance"].clone()
}

fn case(name: &str) -> LoadedCase {
    cases()
        .into_iter()
        .find(|case| case.name == name)
        .unwrap_or_else(|| panic!("case {name} is loaded"))
}

fn component<'a>(rendered: &'a Value, id: &str) -> &'a Value {
    rendered["formComponentValues"]
        .as_array()
        .expect("components")
        .iter()
        .find(|component| component["id"] == json!(id))
        .unwrap_or_else(|| panic!("component {id} rendered"))
}

#[test]
fn cases_load_with_ids_from_expected_files() {
    let loaded = cases();
    assert_eq!(loaded.len(), 5, "five handed cases");
    let first = &loaded[0];
    assert_eq!(first.name, "01-admin-two-rows");
    assert_eq!(
        first.instance.process_instance_id,
        "kNpmUavZQwSHP_ZJvVdL7g07561762136122"
    );
}

#[test]
fn topapi_rendering_round_trips_every_case() {
    for case in cases() {
        let rendered = render_topapi::render_instance(&case.instance);
        assert_eq!(
            rendered,
            raw_instance(&case.name),
            "case {} renders back unchanged",
            case.name
        );
    }
}

#[test]
fn case_truth_follows_expected_files() {
    let saved = case("01-admin-two-rows");
    let expected = saved
        .outcome_if_approved
        .expect("saved case has an outcome");
    assert_eq!(expected.entries(), Some(2));
    assert_eq!(
        expected.to_json()["total"],
        json!("1400.50"),
        "total from the expected file"
    );
    let rejected = case("05-unknown-expense-type").outcome_if_approved;
    assert!(
        matches!(rejected, Some(Expected::Rejected { ref field, .. }) if field == "行政报销类型"),
        "rejected case names its field: {rejected:?}"
    );
    assert_eq!(case("03-refused").outcome_if_approved, None, "skipped case");
}

#[test]
fn v1_rendering_uses_minutes_and_camel_case() {
    let rendered = render_v1::render_instance(&case("01-admin-two-rows").instance);
    assert_eq!(
        rendered["createTime"],
        json!("2026-11-03T10:15Z"),
        "Beijing minutes"
    );
    assert_eq!(rendered["finishTime"], json!("2026-11-04T16:40Z"));
    assert_eq!(rendered["businessId"], json!("202611031015000123401"));
    assert_eq!(rendered["originatorUserId"], json!("user-1001"));
    assert_eq!(rendered["bizData"], json!("{}"));
    assert_eq!(
        rendered["tasks"][0]["taskId"],
        json!(70_000_000_001u64),
        "numeric task id"
    );
    assert_eq!(
        rendered["operationRecords"][0]["type"],
        json!("START_PROCESS_INSTANCE")
    );
    assert!(rendered.get("business_id").is_none(), "no snake_case keys");
}

#[test]
fn v1_rendering_omits_empty_values() {
    let rendered = render_v1::render_instance(&case("01-admin-two-rows").instance);
    let empty = component(&rendered, "DDSelectField_3DXPROJTYPE00");
    assert!(
        empty.get("value").is_none(),
        "empty select has no value: {empty}"
    );
    assert!(
        empty.get("extValue").is_none(),
        "empty select has no extValue"
    );
    assert_eq!(empty["bizAlias"], json!(""), "bizAlias is always present");
    let filled = component(&rendered, "DDSelectField_2CXADMINTYPE0");
    assert_eq!(filled["value"], json!("办公用品"));
    assert!(
        filled["extValue"].is_string(),
        "extValue stays a JSON string"
    );
}

#[test]
fn v1_rendering_drops_text_note_name() {
    let rendered = render_v1::render_instance(&case("02-project-travel").instance);
    let note = component(&rendered, "TextNote_7L0ZKXODKW40");
    assert!(
        note.get("name").is_none(),
        "TextNote has no name in v1.0: {note}"
    );
    assert!(note["value"].is_string(), "the note text stays");
}

#[test]
fn v1_rendering_keeps_table_json() {
    let instance = case("04-missing-amount").instance;
    let rendered = render_v1::render_instance(&instance);
    let table = component(&rendered, "TableField_1A2B3C4D5E6F0");
    let expected = instance
        .component("TableField_1A2B3C4D5E6F0")
        .and_then(|c| c.value.clone())
        .expect("table value");
    assert_eq!(
        table["value"],
        json!(expected),
        "table JSON string unchanged"
    );
}

#[test]
fn topapi_prints_null_literal_for_empty_values() {
    let rendered = render_topapi::render_instance(&case("02-project-travel").instance);
    let empty = rendered["form_component_values"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["id"] == json!("DDSelectField_2CXADMINTYPE0"))
        .expect("admin type field");
    assert_eq!(empty["value"], json!("null"));
    assert!(empty.get("ext_value").is_none(), "no ext_value when empty");
}
