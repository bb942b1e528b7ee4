//! Mapping rules on variations of reference case 01: what each kind of bad approval is
//! rejected with, and that every reason of one approval is reported together.

use std::path::PathBuf;

use dingk3::approval::ApprovalInstance;
use dingk3::i18n::{Lang, Localize};
use dingk3::mapping::{ErrorCode, MappedBill, MappingErrors, RawRoutesConfig, Routes};
use serde_json::{Value, json};

const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

fn example_text() -> String {
    std::fs::read_to_string(repo_path("config/dingk3.example.toml")).unwrap()
}

fn routes_from(text: &str) -> Routes {
    RawRoutesConfig::from_toml_str(text)
        .unwrap()
        .validate()
        .unwrap_or_else(|errors| panic!("configuration is invalid: {errors:?}"))
}

/// Reads the `get` body of case 01.
fn case_01() -> Value {
    let path = repo_path("tests/fixtures/cases/01-admin-two-rows.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn components(body: &mut Value) -> &mut Vec<Value> {
    body["process_instance"]["form_component_values"]
        .as_array_mut()
        .unwrap()
}

fn component<'a>(body: &'a mut Value, name: &str) -> &'a mut Value {
    components(body)
        .iter_mut()
        .find(|component| component["name"] == name)
        .unwrap_or_else(|| panic!("case 01 has no component {name}"))
}

/// Edits the rows of 报销明细, which DingTalk sends as JSON inside a string.
fn edit_rows(body: &mut Value, edit: impl FnOnce(&mut Vec<Value>)) {
    let table = component(body, "报销明细");
    let mut rows: Vec<Value> = serde_json::from_str(table["value"].as_str().unwrap()).unwrap();
    edit(&mut rows);
    table["value"] = Value::String(serde_json::to_string(&rows).unwrap());
}

/// Sets the value of the cell `label` in 1-based `row`.
fn set_cell(body: &mut Value, row: usize, label: &str, value: &str) {
    edit_rows(body, |rows| {
        let cell = rows[row - 1]["rowValue"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|cell| cell["label"] == label)
            .unwrap();
        cell["value"] = Value::String(value.to_string());
    });
}

fn map_with(routes: &Routes, body: Value) -> Result<MappedBill, MappingErrors> {
    let instance = ApprovalInstance::from_raw("pid-test", body).unwrap();
    routes
        .route_for(PROCESS_CODE)
        .unwrap()
        .mapping
        .map(&instance)
}

fn map(body: Value) -> Result<MappedBill, MappingErrors> {
    map_with(&routes_from(&example_text()), body)
}

fn rejected(body: Value) -> MappingErrors {
    match map(body) {
        Ok(bill) => panic!("the approval must be rejected, got {}", bill.model),
        Err(errors) => errors,
    }
}

#[test]
fn table_schema_is_empty_table() {
    let mut body = case_01();
    component(&mut body, "报销明细")["value"] = Value::String(
        r#"[{"componentName":"MoneyField","componentType":"MoneyField","props":{"id":"MoneyField_2RX4Y5Z6W7V80","label":"报销金额(元)"}}]"#
            .to_string(),
    );
    let errors = rejected(body);
    assert_eq!(errors.errors().len(), 1, "{errors}");
    assert_eq!(errors.errors()[0].code, ErrorCode::EmptyTable);
    assert_eq!(errors.errors()[0].field, "报销明细");
}

#[test]
fn null_table_is_empty_table() {
    let mut body = case_01();
    component(&mut body, "报销明细")["value"] = Value::String("null".into());
    let errors = rejected(body);
    assert_eq!(errors.errors()[0].code, ErrorCode::EmptyTable, "{errors}");
}

#[test]
fn undecodable_table_is_malformed() {
    let mut body = case_01();
    component(&mut body, "报销明细")["value"] = Value::String(r#"[{"rowValue": ["#.into());
    let errors = rejected(body);
    let error = &errors.errors()[0];
    assert_eq!(error.code, ErrorCode::MalformedValue, "{errors}");
    assert_eq!(error.field, "报销明细");
    assert!(
        error.value.is_some(),
        "the raw value is kept for the operator"
    );
}

#[test]
fn malformed_cell_names_field_and_row() {
    let mut body = case_01();
    set_cell(&mut body, 2, "费用发生日期", "2026/10/30");
    let errors = rejected(body);
    let error = &errors.errors()[0];
    assert_eq!(error.code, ErrorCode::MalformedValue, "{errors}");
    assert_eq!(error.field, "费用发生日期");
    assert_eq!(error.row, Some(2));
    assert_eq!(error.value.as_deref(), Some("2026/10/30"));
}

#[test]
fn exponent_amount_is_invalid() {
    let mut body = case_01();
    set_cell(&mut body, 2, "报销金额(元)", "1.28E+3");
    let errors = rejected(body);
    let error = &errors.errors()[0];
    assert_eq!(error.code, ErrorCode::InvalidAmount, "{errors}");
    assert_eq!(error.field, "报销金额(元)");
    assert_eq!(error.row, Some(2));
    assert_eq!(error.value.as_deref(), Some("1.28E+3"));
    assert!(error.detail.en.contains("exponent"), "{}", error.detail.en);
}

#[test]
fn line_amount_must_be_positive() {
    for (row, amount) in [(1, "0"), (2, "0.00"), (2, "-50.00"), (1, "-1,280.00")] {
        let case = format!("row {row} amount {amount}");
        let mut body = case_01();
        set_cell(&mut body, row, "报销金额(元)", amount);

        let errors = rejected(body);

        assert_eq!(errors.errors().len(), 1, "{case}: one reason: {errors}");
        let error = &errors.errors()[0];
        assert_eq!(error.code, ErrorCode::InvalidAmount, "{case}: {errors}");
        assert_eq!(error.code.as_str(), "invalid_amount", "{case}: stable code");
        assert_eq!(error.field, "报销金额(元)", "{case}: names the field");
        assert_eq!(error.row, Some(row), "{case}: names the row");
        assert_eq!(
            error.value.as_deref(),
            Some(amount),
            "{case}: names the value"
        );
        assert_eq!(
            error.target.as_deref(),
            Some("FPAYTOTALAMOUNTFOR"),
            "{case}: names the K3Cloud field"
        );
        let text = error.localize();
        let (en, zh) = (text.get(Lang::En), text.get(Lang::Zh));
        assert!(
            en.contains("greater than 0") && en.contains(amount),
            "{case}: English says why and shows the value: {en}"
        );
        assert!(
            zh.contains("必须大于 0") && zh.contains(amount),
            "{case}: Chinese says why and shows the value: {zh}"
        );
    }
}

#[test]
fn smallest_positive_amount_maps() {
    let mut body = case_01();
    set_cell(&mut body, 1, "报销金额(元)", "0.01");
    let bill = map(body).unwrap_or_else(|errors| panic!("0.01 is a valid line amount: {errors}"));
    assert_eq!(
        bill.model["FPAYBILLENTRY"][0]["FPAYTOTALAMOUNTFOR"].to_string(),
        "0.01",
        "the amount is written as sent"
    );
}

#[test]
fn letters_in_amount_are_invalid() {
    let mut body = case_01();
    set_cell(&mut body, 1, "报销金额(元)", "120元");
    let errors = rejected(body);
    assert_eq!(
        errors.errors()[0].code,
        ErrorCode::InvalidAmount,
        "{errors}"
    );
}

#[test]
fn every_reason_is_collected() {
    let mut body = case_01();
    body["process_instance"]["originator_userid"] = json!("user-9999");
    set_cell(&mut body, 1, "报销金额(元)", "null");
    component(&mut body, "行政报销类型")["value"] = json!("团建活动");
    let errors = rejected(body);
    let found: Vec<(ErrorCode, &str, Option<usize>)> = errors
        .errors()
        .iter()
        .map(|error| (error.code, error.field.as_str(), error.row))
        .collect();
    assert_eq!(
        found,
        vec![
            (ErrorCode::UnmappedValue, "originator_userid", None),
            (ErrorCode::UnmappedValue, "行政报销类型", None),
            (ErrorCode::MissingValue, "报销金额(元)", Some(1)),
        ],
        "header reasons once each, then row reasons; the unmapped type is reported once, not per row"
    );
}

#[test]
fn unknown_category_names_switch_field() {
    let mut body = case_01();
    component(&mut body, "报销类别")["value"] = json!("其他报销");
    let errors = rejected(body);
    let error = &errors.errors()[0];
    assert_eq!(error.code, ErrorCode::UnmappedValue, "{errors}");
    assert_eq!(error.field, "报销类别");
    assert_eq!(error.value.as_deref(), Some("其他报销"));
}

#[test]
fn missing_form_field_is_unknown() {
    let mut body = case_01();
    components(&mut body).retain(|component| component["name"] != "报销类别");
    let errors = rejected(body);
    let error = &errors.errors()[0];
    assert_eq!(error.code, ErrorCode::UnknownField, "{errors}");
    assert_eq!(error.field, "报销类别");
}

#[test]
fn no_form_values_is_empty_form() {
    let mut body = case_01();
    components(&mut body).clear();
    let errors = rejected(body);
    assert_eq!(errors.errors().len(), 1, "reported once: {errors}");
    assert_eq!(errors.errors()[0].code, ErrorCode::EmptyForm);
}

#[test]
fn missing_finish_time_is_missing_value() {
    let mut body = case_01();
    body["process_instance"]["finish_time"] = json!("null");
    let errors = rejected(body);
    let error = &errors.errors()[0];
    assert_eq!(error.code, ErrorCode::MissingValue, "{errors}");
    assert_eq!(error.field, "finish_time");
    assert_eq!(error.target.as_deref(), Some("FDATE"));
}

#[test]
fn optional_comment_left_out_when_empty() {
    let mut body = case_01();
    edit_rows(&mut body, |rows| {
        let cells = rows[0]["rowValue"].as_array_mut().unwrap();
        cells.retain(|cell| cell["label"] == "报销金额(元)");
    });
    let bill = map(body).unwrap();
    let first = &bill.model["FPAYBILLENTRY"][0];
    assert!(first.get("FCOMMENT").is_none(), "no comment key: {first}");
    assert!(bill.model["FPAYBILLENTRY"][1].get("FCOMMENT").is_some());
}

#[test]
fn project_category_reads_project_type() {
    let mut body = case_01();
    component(&mut body, "报销类别")["value"] = json!("项目报销");
    component(&mut body, "行政报销类型")["value"] = json!("null");
    component(&mut body, "项目报销类型")["value"] = json!("快递费");
    let bill = map(body).unwrap();
    assert_eq!(
        bill.model["FPAYBILLENTRY"][0]["FCOSTID"]["FNumber"],
        "FYXM003"
    );
}

#[test]
fn v1_detail_maps_like_topapi() {
    let topapi = case_01();
    let instance = &topapi["process_instance"];
    let form: Vec<Value> = instance["form_component_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|component| {
            let mut v1 = json!({
                "componentType": component["component_type"],
                "id": component["id"],
                "name": component["name"],
            });
            if component["value"] != "null" {
                v1["value"] = component["value"].clone();
            }
            v1
        })
        .collect();
    let v1_body = json!({
        "success": true,
        "result": {
            "businessId": instance["business_id"],
            "title": instance["title"],
            "originatorUserId": instance["originator_userid"],
            "originatorDeptId": instance["originator_dept_id"],
            "status": "COMPLETED",
            "result": "agree",
            "createTime": "2026-11-03T10:15Z",
            "finishTime": "2026-11-04T16:40Z",
            "formComponentValues": form,
        }
    });
    let from_topapi = map(topapi.clone()).unwrap();
    let from_v1 = map(v1_body).unwrap();
    assert_eq!(
        from_v1.model, from_topapi.model,
        "both API generations give one bill"
    );
}

#[test]
fn header_total_must_match() {
    let text = example_text().replace(
        "bill_no = \"DD-{business_id}\"\n",
        "bill_no = \"DD-{business_id}\"\ntotal = \"form:报销总额\"\n",
    );
    let routes = routes_from(&text);
    let with_total = |amount: &str| {
        let mut body = case_01();
        components(&mut body).push(json!({
            "component_type": "MoneyField",
            "id": "MoneyField_TOTAL",
            "name": "报销总额",
            "value": amount,
        }));
        map_with(&routes, body)
    };
    let bill = with_total("1,400.50").expect("lines add up to 1400.50");
    assert_eq!(bill.total.to_string(), "1400.50");

    let errors = with_total("1400.00").unwrap_err();
    let error = &errors.errors()[0];
    assert_eq!(error.code, ErrorCode::SumMismatch, "{errors}");
    assert_eq!(error.field, "报销总额");
    assert!(error.detail.en.contains("1400.50"), "{}", error.detail.en);
}

#[test]
fn errors_serialize_for_dead_letters() {
    let mut body = case_01();
    set_cell(&mut body, 1, "报销金额(元)", "null");
    let errors = rejected(body);
    let json = serde_json::to_value(&errors).unwrap();
    assert_eq!(json[0]["field"], "报销金额(元)");
    assert_eq!(json[0]["row"], 1);
    assert_eq!(json[0]["code"], "missing_value");
    assert!(
        json[0]["message"]
            .as_str()
            .unwrap()
            .contains("FPAYTOTALAMOUNTFOR")
    );
    let chinese = errors.to_json(Lang::Zh);
    assert!(
        chinese[0]["message"].as_str().unwrap().contains("第 1 行"),
        "{chinese}"
    );
}
