use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::*;
use crate::k3cloud::test_support::valid_model;

fn options(verify: bool) -> SaveOptions {
    SaveOptions {
        verify_base_data: verify,
        validate: true,
        auto_submit_and_audit: false,
    }
}

fn parse(model: &Value, verify: bool) -> Result<BillDraft, Vec<FieldError>> {
    parse_model(
        model.as_object().expect("object"),
        3,
        &options(verify),
        &BaseData::reference(),
    )
}

fn messages(errors: &[FieldError]) -> Vec<(Option<&str>, &str)> {
    errors
        .iter()
        .map(|error| (error.field.as_deref(), error.message.as_str()))
        .collect()
}

#[test]
fn valid_model_is_accepted() {
    let draft = parse(&valid_model("BX-1"), true).expect("valid");
    assert_eq!(draft.bill_no.as_deref(), Some("BX-1"));
    assert_eq!(draft.entries.len(), 2);
    assert_eq!(
        draft.entries[1].get("FPAYTOTALAMOUNTFOR"),
        Some(&FieldValue::Decimal(Decimal::new(128000, 2)))
    );
    let Some(FieldValue::Ref(payee)) = draft.header.get("FCONTACTUNIT") else {
        panic!("payee not resolved");
    };
    assert_eq!(payee.form, "BD_Empinfo");
    assert_eq!(payee.name, "张三");
}

#[test]
fn settlement_currency_defaults_to_currency() {
    let draft = parse(&valid_model("BX-1"), false).unwrap();
    assert_eq!(
        draft.header.get("FSETTLECUR"),
        draft.header.get("FCURRENCYID")
    );
}

#[test]
fn missing_header_fields_are_named() {
    let mut model = valid_model("BX-2");
    let map = model.as_object_mut().unwrap();
    map.remove("FDATE");
    map.remove("FPAYORGID");
    let errors = parse(&model, false).unwrap_err();
    assert_eq!(
        messages(&errors),
        vec![
            (Some("FDATE"), "字段“业务日期”是必填项"),
            (Some("FPAYORGID"), "字段“付款组织”是必填项"),
        ]
    );
    assert!(errors.iter().all(|error| error.index == 3), "DIndex kept");
}

#[test]
fn missing_entry_fields_are_named_by_row() {
    let mut model = valid_model("BX-3");
    model["FPAYBILLENTRY"][1]
        .as_object_mut()
        .unwrap()
        .remove("FPURPOSEID");
    model["FPAYBILLENTRY"][0]["FPAYTOTALAMOUNTFOR"] = json!(0);
    let errors = parse(&model, false).unwrap_err();
    assert_eq!(
        messages(&errors),
        vec![
            (
                Some("FPAYTOTALAMOUNTFOR"),
                "单据体实体【付款明细】第【1】行分录，【应付金额】字段必录"
            ),
            (
                Some("FPURPOSEID"),
                "单据体实体【付款明细】第【2】行分录，【付款用途】字段必录"
            ),
        ]
    );
}

#[test]
fn bank_settlement_needs_our_account() {
    let mut model = valid_model("BX-4");
    model["FPAYBILLENTRY"][0]
        .as_object_mut()
        .unwrap()
        .remove("FACCOUNTID");
    let errors = parse(&model, false).unwrap_err();
    assert_eq!(
        messages(&errors),
        vec![(
            Some("FACCOUNTID"),
            "第1行分录，银行业务的结算方式，我方银行相关信息必录！"
        )]
    );
}

#[test]
fn cash_settlement_needs_no_bank_account() {
    let mut model = valid_model("BX-5");
    for row in model["FPAYBILLENTRY"].as_array_mut().unwrap() {
        row["FSETTLETYPEID"] = json!({"FNumber": "JSFS01_SYS"});
        row["FCashAccount"] = json!({"FNumber": "XJ001"});
        row.as_object_mut().unwrap().remove("FACCOUNTID");
    }
    assert!(
        parse(&model, true).is_ok(),
        "cash rows need no bank account"
    );
}

#[test]
fn unknown_reference_with_verify_names_field() {
    let mut model = valid_model("BX-6");
    model["FPAYBILLENTRY"][0]["FCOSTID"] = json!({"FNumber": "团建活动"});
    let errors = parse(&model, true).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field.as_deref(), Some("FCOSTID"));
    assert!(
        errors[0].message.contains("团建活动"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0].message.contains("第【1】行"),
        "{}",
        errors[0].message
    );
}

#[test]
fn unknown_optional_reference_without_verify_is_dropped() {
    let mut model = valid_model("BX-7");
    model["FPAYBILLENTRY"][0]["FCOSTID"] = json!({"FNumber": "FYXM999"});
    let draft = parse(&model, false).expect("dropped silently");
    assert!(
        !draft.entries[0].contains_key("FCOSTID"),
        "unknown cost item must be dropped"
    );
}

#[test]
fn unknown_required_reference_without_verify_trips_required_rule() {
    let mut model = valid_model("BX-8");
    model["FRECTUNIT"] = json!({"FNumber": "EMP404"});
    let errors = parse(&model, false).unwrap_err();
    assert_eq!(
        messages(&errors),
        vec![(Some("FRECTUNIT"), "字段“收款单位”是必填项")]
    );
}

#[test]
fn unit_type_selects_lookup_table() {
    let mut model = valid_model("BX-9");
    model["FCONTACTUNITTYPE"] = json!("BD_Department");
    model["FCONTACTUNIT"] = json!({"FNumber": "EMP001"});
    let errors = parse(&model, true).unwrap_err();
    assert_eq!(errors[0].field.as_deref(), Some("FCONTACTUNIT"));

    model["FCONTACTUNIT"] = json!({"FNumber": "BM002"});
    let draft = parse(&model, true).expect("department payer resolves");
    let Some(FieldValue::Ref(unit)) = draft.header.get("FCONTACTUNIT") else {
        panic!("unit not resolved");
    };
    assert_eq!(unit.form, "BD_Department");
}

#[test]
fn keys_match_ignoring_letter_case() {
    let model = json!({
        "fbilltypeid": {"fnumber": "FKDLX01_SYS"},
        "FDate": "2026-11-04",
        "FcontactUnitType": "bd_empinfo",
        "FContactUnit": {"FNUMBER": "emp002"},
        "FrectUNITTYPE": "BD_Empinfo",
        "FrectUNIT": {"FNumber": "EMP002"},
        "FCurrencyId": {"FNumber": "PRE001"},
        "FPayOrgId": {"FNumber": "100"},
        "FSettleOrgId": {"FNumber": "100"},
        "FPayBillEntry": [{
            "FSettleTypeId": {"FNumber": "JSFS01_SYS"},
            "FPurposeId": {"FNumber": "SFKYT08_SYS"},
            "FPayTotalAmountFor": "3"
        }]
    });
    assert!(
        parse(&model, true).is_ok(),
        "mixed-case keys must be accepted"
    );
}

#[test]
fn invalid_amount_and_date_are_errors() {
    let mut model = valid_model("BX-10");
    model["FDATE"] = json!("next monday");
    model["FPAYBILLENTRY"][0]["FPAYTOTALAMOUNTFOR"] = json!("12,50");
    let errors = parse(&model, false).unwrap_err();
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_deref()).collect();
    assert!(fields.contains(&Some("FDATE")), "{errors:?}");
    assert!(fields.contains(&Some("FPAYTOTALAMOUNTFOR")), "{errors:?}");
}

#[test]
fn validate_flag_false_skips_required_rules() {
    let model = json!({"FBillNo": "BX-11"});
    let options = SaveOptions {
        verify_base_data: false,
        validate: false,
        auto_submit_and_audit: false,
    };
    let draft = parse_model(
        model.as_object().unwrap(),
        0,
        &options,
        &BaseData::reference(),
    );
    assert!(draft.is_ok(), "ValidateFlag false must skip required rules");
}

#[test]
fn model_without_entries_is_rejected() {
    let mut model = valid_model("BX-12");
    model.as_object_mut().unwrap().remove("FPAYBILLENTRY");
    let errors = parse(&model, false).unwrap_err();
    assert_eq!(errors[0].field.as_deref(), Some("FPAYBILLENTRY"));
}

#[test]
fn save_options_read_strings_and_booleans() {
    let data = json!({"IsVerifyBaseDataField": "true", "ValidateFlag": false,
                      "IsAutoSubmitAndAudit": true});
    let options = SaveOptions::from_data(data.as_object().unwrap());
    assert!(options.verify_base_data, "verify");
    assert!(!options.validate, "validate");
    assert!(options.auto_submit_and_audit, "auto audit");
    let defaults = SaveOptions::from_data(&serde_json::Map::new());
    assert!(!defaults.verify_base_data, "verify defaults to false");
    assert!(defaults.validate, "validate defaults to true");
    assert!(
        !defaults.auto_submit_and_audit,
        "auto audit defaults to false"
    );
}
