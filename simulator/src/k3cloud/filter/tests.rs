use chrono::NaiveDate;
use serde_json::json;

use super::*;

fn row(field: &str) -> QueryValue {
    match field.to_ascii_uppercase().as_str() {
        "FBILLNO" => QueryValue::Text("BX-001".to_string()),
        "FDOCUMENTSTATUS" => QueryValue::Text("C".to_string()),
        "FID" => QueryValue::Int(100_001),
        "FPAYTOTALAMOUNTFOR" => QueryValue::Decimal(Decimal::new(12050, 2)),
        "FDATE" => QueryValue::Date(
            NaiveDate::from_ymd_opt(2026, 11, 4)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        ),
        "FCOSTID.FNUMBER" => QueryValue::Text("FYXM001".to_string()),
        _ => QueryValue::Null,
    }
}

fn holds(filter: &str) -> bool {
    Filter::parse(&json!(filter))
        .unwrap_or_else(|error| panic!("{filter}: {error}"))
        .matches(&row)
}

#[test]
fn equality_ignores_text_case() {
    assert!(holds("FBillNo = 'bx-001'"), "case-insensitive text");
    assert!(!holds("FBillNo = 'BX-002'"), "other number");
    assert!(holds("FBillNo = N'BX-001'"), "N'' literal");
}

#[test]
fn in_list_and_conjunction() {
    assert!(holds(
        "FBillNo in ('BX-000', 'BX-001') and FDocumentStatus = 'C'"
    ));
    assert!(!holds("FBillNo in ('BX-000') and FDocumentStatus = 'C'"));
    assert!(holds("FBillNo not in ('BX-000')"), "not in");
}

#[test]
fn or_not_and_parentheses() {
    assert!(holds(
        "(FBillNo = 'X' or FID = 100001) and not FDocumentStatus = 'A'"
    ));
    assert!(!holds(
        "FBillNo = 'X' or (FID = 1 and FDocumentStatus = 'C')"
    ));
}

#[test]
fn numbers_dates_and_like() {
    assert!(holds("FPAYTOTALAMOUNTFOR >= 120.5"), "decimal compare");
    assert!(
        holds("FPAYTOTALAMOUNTFOR = '120.50'"),
        "decimal against text"
    );
    assert!(holds("FID > -1"), "negative literal");
    assert!(
        holds("FDATE >= '2026-11-01' and FDATE < '2026-11-05'"),
        "dates"
    );
    assert!(holds("FCOSTID.FNumber like 'fyxm%'"), "like");
    assert!(holds("FREMARK is null"), "is null");
    assert!(!holds("FREMARK = ''"), "null equals nothing");
}

#[test]
fn quotes_are_escaped_by_doubling() {
    let filter = Filter::parse(&json!("FREMARK = 'it''s'")).unwrap();
    assert_eq!(
        filter,
        Filter::Compare {
            field: "FREMARK".to_string(),
            op: CompareOp::Eq,
            value: Literal::Text("it's".to_string()),
        }
    );
}

#[test]
fn array_form_with_code_67() {
    let filter = Filter::parse(&json!([
        {"Left": "(", "FieldName": "FBillNo", "Compare": "67", "Value": "BX-009", "Right": "", "Logic": 1},
        {"Left": "", "FieldName": "FBillNo", "Compare": "67", "Value": "BX-001", "Right": ")", "Logic": "0"}
    ]))
    .unwrap();
    assert!(filter.matches(&row), "second row matches");
    let and = Filter::parse(&json!([
        {"FieldName": "FBillNo", "Compare": "67", "Value": "BX-001", "Logic": 0},
        {"FieldName": "FDocumentStatus", "Compare": "67", "Value": "A"}
    ]))
    .unwrap();
    assert!(!and.matches(&row), "AND of rows");
}

#[test]
fn empty_forms_mean_no_filter() {
    for value in [json!(null), json!(""), json!([]), json!("  ")] {
        assert_eq!(Filter::parse(&value).unwrap(), Filter::All, "{value}");
    }
}

#[test]
fn malformed_filters_are_rejected() {
    for text in [
        "FBillNo = 'open",
        "FBillNo =",
        "(FBillNo = 'a'",
        "FBillNo in 'a'",
        "FBillNo ~ 'a'",
        "= 'a'",
    ] {
        assert!(Filter::parse(&json!(text)).is_err(), "{text}");
    }
    assert!(
        Filter::parse(&json!([{"FieldName": "FBillNo", "Compare": "999", "Value": "a"}])).is_err(),
        "unknown compare code"
    );
}

#[test]
fn bill_numbers_come_from_top_level_conditions() {
    let filter = Filter::parse(&json!("FBillNo in ('A','B') and FDocumentStatus = 'C'")).unwrap();
    assert_eq!(
        filter.bill_numbers(),
        Some(vec!["A".to_string(), "B".to_string()])
    );
    let or = Filter::parse(&json!("FBillNo = 'A' or FID = 1")).unwrap();
    assert_eq!(or.bill_numbers(), None, "OR cannot narrow");
}
