use chrono::NaiveDate;
use serde_json::json;

use super::*;
use crate::k3cloud::base_data::BaseData;
use crate::k3cloud::paybill::{SaveOptions, parse_model};
use crate::k3cloud::store::DocumentStatus;
use crate::k3cloud::test_support::valid_model;

fn store_with(numbers: &[&str]) -> BillStore {
    let base = BaseData::reference();
    let options = SaveOptions {
        verify_base_data: true,
        validate: true,
        auto_submit_and_audit: false,
    };
    let now = NaiveDate::from_ymd_opt(2026, 11, 4)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    let mut store = BillStore::default();
    for number in numbers {
        let model = valid_model(number);
        let draft = parse_model(model.as_object().unwrap(), 0, &options, &base).unwrap();
        store.insert(draft, DocumentStatus::Created, now).unwrap();
    }
    store
}

fn run(store: &BillStore, data: serde_json::Value) -> Vec<Vec<serde_json::Value>> {
    let query = BillQuery::parse(&data).expect("valid query");
    query
        .run(store)
        .iter()
        .map(|row| row.iter().map(to_json).collect())
        .collect()
}

fn error(data: serde_json::Value) -> QueryError {
    BillQuery::parse(&data).expect_err("query must be rejected")
}

#[test]
fn field_keys_keep_order_and_formats() {
    let store = store_with(&["BX-1"]);
    let rows = run(
        &store,
        json!({"FormId": "AP_PAYBILL", "FieldKeys": "FBillNo,FID,FDATE,FDocumentStatus,FCONTACTUNIT.FNumber,FCONTACTUNIT",
               "FilterString": "FBillNo='BX-1'"}),
    );
    assert_eq!(rows.len(), 1, "one bill, header fields only");
    assert_eq!(rows[0][0], json!("BX-1"));
    assert_eq!(rows[0][1], json!(100_001));
    assert_eq!(rows[0][2], json!("2026-11-04T00:00:00"));
    assert_eq!(rows[0][3], json!("A"));
    assert_eq!(rows[0][4], json!("EMP001"));
    assert!(rows[0][5].is_i64(), "bare base-data key returns the id");
}

#[test]
fn entry_keys_return_one_row_per_entry() {
    let store = store_with(&["BX-1", "BX-2"]);
    let rows = run(
        &store,
        json!({"FormId": "AP_PAYBILL",
               "FieldKeys": "FBillNo,FPAYBILLENTRY_FEntryID,FPAYTOTALAMOUNTFOR,FCOSTID.FNumber",
               "FilterString": "FBillNo = 'BX-2'"}),
    );
    assert_eq!(rows.len(), 2, "two entries");
    assert_eq!(rows[0][2].to_string(), "120.5000000000");
    assert_eq!(rows[1][2].to_string(), "1280.0000000000");
    assert_eq!(rows[1][3], json!("FYXM002"));
    assert_ne!(rows[0][1], rows[1][1], "entry ids differ");
}

#[test]
fn filter_on_entry_field_selects_rows() {
    let store = store_with(&["BX-1", "BX-2"]);
    let rows = run(
        &store,
        json!({"FormId": "AP_PAYBILL", "FieldKeys": "FBillNo",
               "FilterString": "FCOSTID.FNumber = 'FYXM002' and FBillNo in ('BX-1','BX-9')"}),
    );
    assert_eq!(rows, vec![vec![json!("BX-1")]]);
}

#[test]
fn paging_and_top_row_count() {
    let store = store_with(&["B1", "B2", "B3", "B4", "B5"]);
    let page = run(
        &store,
        json!({"FormId": "AP_PAYBILL", "FieldKeys": "FBillNo", "StartRow": 1, "Limit": 2}),
    );
    assert_eq!(page, vec![vec![json!("B2")], vec![json!("B3")]]);
    let top = run(
        &store,
        json!({"FormId": "AP_PAYBILL", "FieldKeys": "FBillNo", "TopRowCount": 2, "StartRow": 1}),
    );
    assert_eq!(top, vec![vec![json!("B2")]]);
    let ordered = run(
        &store,
        json!({"FormId": "AP_PAYBILL", "FieldKeys": "FBillNo", "OrderString": "FID DESC", "Limit": 1}),
    );
    assert_eq!(ordered, vec![vec![json!("B5")]]);
}

#[test]
fn limit_defaults_and_caps() {
    let default = BillQuery::parse(&json!({"FormId": "AP_PAYBILL", "FieldKeys": "FID"})).unwrap();
    assert_eq!(default.limit, DEFAULT_LIMIT);
    let capped =
        BillQuery::parse(&json!({"FormId": "AP_PAYBILL", "FieldKeys": "FID", "Limit": 50000}))
            .unwrap();
    assert_eq!(capped.limit, MAX_LIMIT);
}

#[test]
fn no_match_is_empty() {
    let store = store_with(&["BX-1"]);
    let rows = run(
        &store,
        json!({"FormId": "AP_PAYBILL", "FieldKeys": "FBillNo", "FilterString": "FBillNo = 'nope'"}),
    );
    assert!(rows.is_empty(), "no rows expected");
}

#[test]
fn errors_use_server_codes_and_wording() {
    let empty_keys = error(json!({"FormId": "AP_PAYBILL", "FieldKeys": ""}));
    assert_eq!(empty_keys.code, 8);
    assert_eq!(
        empty_keys.message,
        "data数据包中的参数FieldKeys的值不能为空。"
    );

    let unknown_field = error(json!({"FormId": "AP_PAYBILL", "FieldKeys": "FBillNo,FNoSuchField"}));
    assert_eq!(unknown_field.code, 9);
    assert_eq!(
        unknown_field.message,
        "元数据中标识为FNoSuchField的字段不存在"
    );

    let unknown_form = error(json!({"FormId": "NO_SUCH_FORM", "FieldKeys": "FID"}));
    assert_eq!(unknown_form.code, 4);
    assert_eq!(
        unknown_form.message,
        "标识为“NO_SUCH_FORM”的业务对象不存在，或者被删除。"
    );

    let filter_field =
        error(json!({"FormId": "AP_PAYBILL", "FieldKeys": "FID", "FilterString": "FNope = 1"}));
    assert_eq!(filter_field.code, 9, "unknown filter field");

    let bad_attr = error(json!({"FormId": "AP_PAYBILL", "FieldKeys": "FREMARK.FNumber"}));
    assert_eq!(bad_attr.code, 9, "text fields have no attributes");
}

#[test]
fn column_resolution_ignores_case_and_prefix() {
    assert_eq!(
        Column::resolve("fpaybillentry_fentryid"),
        Some(Column::EntryId)
    );
    assert_eq!(Column::resolve("FEntryID"), Some(Column::EntryId));
    assert!(matches!(
        Column::resolve("fcostid.fnumber"),
        Some(Column::Entry(_, Attr::Number))
    ));
    assert!(matches!(
        Column::resolve("FRectUnit.FName"),
        Some(Column::Header(_, Attr::Name))
    ));
}
