//! The reference approval cases through the library: the example configuration maps each
//! case to the outcome its `.expected.json` names.

use std::path::PathBuf;

use dingk3::approval::ApprovalInstance;
use dingk3::mapping::{ErrorCode, MappedBill, MappingErrors, RawRoutesConfig, Routes};
use serde_json::Value;

const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn example_routes() -> Routes {
    let raw = RawRoutesConfig::load_file(&repo_path("config/dingk3.example.toml"))
        .unwrap_or_else(|error| panic!("example configuration does not load: {error}"));
    raw.validate()
        .unwrap_or_else(|errors| panic!("example configuration is invalid: {errors:?}"))
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Loads case `name`: the instance and its expectation.
fn case(name: &str) -> (ApprovalInstance, Value) {
    let dir = repo_path("tests/fixtures/cases");
    let expected = read_json(dir.join(format!("{name}.expected.json")));
    let id = expected["process_instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let instance = ApprovalInstance::from_raw(id, read_json(dir.join(format!("{name}.json"))))
        .unwrap_or_else(|error| panic!("case {name} does not decode: {error}"));
    (instance, expected)
}

fn map(instance: &ApprovalInstance) -> Result<MappedBill, MappingErrors> {
    let routes = example_routes();
    let route = routes
        .route_for(PROCESS_CODE)
        .expect("the example configuration routes the expense claim template");
    route.mapping.map(instance)
}

fn assert_saved(name: &str) {
    let (instance, expected) = case(name);
    assert_eq!(expected["expect"], "saved", "{name} is a saved case");
    assert!(instance.is_approved(), "{name} is an approved instance");
    let bill = map(&instance).unwrap_or_else(|errors| panic!("{name} rejected: {errors}"));

    let entries = bill.model["FPAYBILLENTRY"]
        .as_array()
        .expect("entries are an array");
    let expected_count = expected["entries"].as_u64().unwrap() as usize;
    assert_eq!(
        entries.len(),
        expected_count,
        "{name}: entry rows in the model"
    );
    assert_eq!(
        bill.entries, expected_count,
        "{name}: entry count of the bill"
    );

    let amounts: Vec<String> = entries
        .iter()
        .map(|entry| entry["FPAYTOTALAMOUNTFOR"].to_string())
        .collect();
    let expected_amounts: Vec<String> = expected["amounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|amount| amount.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        amounts, expected_amounts,
        "{name}: line amounts as two-decimal numbers"
    );

    assert_eq!(
        bill.total.to_string(),
        expected["total"].as_str().unwrap(),
        "{name}: bill total"
    );
    assert_eq!(
        bill.model["FDATE"], expected["bill_date"],
        "{name}: bill date is the finish date"
    );
    assert_eq!(
        bill.model["FBillNo"],
        bill.bill_no.as_str(),
        "{name}: FBillNo"
    );
    if let Some(part) = expected["bill_no_contains"].as_str() {
        assert!(
            bill.bill_no.contains(part),
            "{name}: bill number {} contains {part}",
            bill.bill_no
        );
    }
    assert_eq!(bill.form_id, "AP_PAYBILL", "{name}: form id");
}

fn assert_rejected(name: &str) -> MappingErrors {
    let (instance, expected) = case(name);
    assert_eq!(expected["expect"], "rejected", "{name} is a rejected case");
    assert_eq!(
        expected["stage"], "mapping",
        "{name} is rejected by the mapping"
    );
    let errors = match map(&instance) {
        Ok(bill) => panic!("{name} must be rejected, got {}", bill.model),
        Err(errors) => errors,
    };
    let field = expected["field"].as_str().unwrap();
    assert!(
        errors.errors().iter().any(|error| error.field == field),
        "{name}: some reason names {field}: {errors}"
    );
    errors
}

#[test]
fn case_01_admin_two_rows() {
    assert_saved("01-admin-two-rows");
}

#[test]
fn case_02_project_travel() {
    assert_saved("02-project-travel");
}

#[test]
fn case_03_refused_is_skipped() {
    let (instance, expected) = case("03-refused");
    assert_eq!(expected["expect"], "skipped");
    assert!(
        !instance.is_approved(),
        "a refused instance is not approved, so it never becomes a bill"
    );
}

#[test]
fn case_04_missing_amount() {
    let errors = assert_rejected("04-missing-amount");
    let error = &errors.errors()[0];
    assert_eq!(errors.errors().len(), 1, "one reason: {errors}");
    assert_eq!(error.code, ErrorCode::MissingValue);
    assert_eq!(error.row, Some(1), "the empty amount is in row 1");
    assert_eq!(error.target.as_deref(), Some("FPAYTOTALAMOUNTFOR"));
}

#[test]
fn case_05_unknown_expense_type() {
    let errors = assert_rejected("05-unknown-expense-type");
    let error = &errors.errors()[0];
    assert_eq!(errors.errors().len(), 1, "one reason: {errors}");
    assert_eq!(error.code, ErrorCode::UnmappedValue);
    assert_eq!(
        error.value.as_deref(),
        Some("团建活动"),
        "the reason names the value"
    );
    assert_eq!(error.row, None, "行政报销类型 is a header field");
    let message = dingk3::i18n::Localize::localize(error);
    assert!(message.en.contains("团建活动"), "{}", message.en);
    assert!(
        message.zh.contains("value_maps.expense_item"),
        "{}",
        message.zh
    );
}
