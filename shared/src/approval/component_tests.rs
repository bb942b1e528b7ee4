//! One test per component type of the approval form.

use serde_json::{Value, json};

use super::*;

/// Decodes a `topapi` component object built from the given fields.
fn topapi(component_type: &str, value: &str, ext_value: Option<&str>) -> FormValue {
    let mut object =
        json!({"component_type": component_type, "id": "X_1", "name": "字段", "value": value});
    if let Some(ext) = ext_value {
        object["ext_value"] = Value::String(ext.to_string());
    }
    decode_component(object.as_object().unwrap()).value
}

#[test]
fn null_literal_is_empty() {
    assert_eq!(topapi("TextField", "null", None), FormValue::Empty);
    assert_eq!(topapi("MoneyField", "", None), FormValue::Empty);
    assert_eq!(topapi("DDAttachment", "null", None), FormValue::Empty);
}

#[test]
fn v1_missing_value_is_empty() {
    let object = json!({"componentType": "DDSelectField", "name": "奖金", "bizAlias": "", "id": "DDSelectField_1"});
    let component = decode_component(object.as_object().unwrap());
    assert_eq!(component.value, FormValue::Empty);
    assert_eq!(component.biz_alias.as_deref(), Some(""));
}

#[test]
fn text_and_textarea() {
    assert_eq!(
        topapi("TextField", "总部日常运营", None),
        FormValue::Text("总部日常运营".into())
    );
    assert_eq!(
        topapi("TextareaField", "1.联调测试", None),
        FormValue::Text("1.联调测试".into())
    );
}

#[test]
fn number_keeps_text() {
    assert_eq!(
        topapi("NumberField", "10", None),
        FormValue::Number("10".into())
    );
}

#[test]
fn money_with_upper_case_amount() {
    let value = topapi(
        "MoneyField",
        "1200",
        Some(r#"{"upper":"壹仟贰佰元整","componentName":"MoneyField"}"#),
    );
    assert_eq!(
        value,
        FormValue::Money {
            amount: "1200".into(),
            upper: Some("壹仟贰佰元整".into())
        }
    );
}

#[test]
fn select_with_option_key() {
    let value = topapi(
        "DDSelectField",
        "出差",
        Some(r#"{"label":"出差","key":"option_0"}"#),
    );
    assert_eq!(
        value,
        FormValue::Select(SelectOption {
            label: "出差".into(),
            key: Some("option_0".into())
        })
    );
}

#[test]
fn multi_select_matches_keys_to_labels() {
    let value = topapi(
        "DDMultiSelectField",
        r#"["无","有"]"#,
        Some(r#"[{"label":"有","key":"option_1"},{"label":"无","key":"option_0"}]"#),
    );
    let FormValue::MultiSelect(options) = value else {
        panic!("expected a multi-select value");
    };
    assert_eq!(options.len(), 2);
    assert_eq!(options[0].key.as_deref(), Some("option_0"));
    assert_eq!(options[1].key.as_deref(), Some("option_1"));
}

#[test]
fn date_day_and_hour_units() {
    let FormValue::Date(day) = topapi("DDDateField", "2022-05-30", None) else {
        panic!("expected a date");
    };
    assert_eq!(day.to_string(), "2022-05-30");
    let FormValue::Date(hour) = topapi("DDDateField", "2022-05-30 09:00", None) else {
        panic!("expected a date with time");
    };
    assert_eq!(hour.to_string(), "2022-05-30 09:00");
    assert!(matches!(
        topapi("DDDateField", "30/05/2022", None),
        FormValue::Malformed { .. }
    ));
}

#[test]
fn date_range_two_dates() {
    let value = topapi("DDDateRangeField", r#"["2019-02-19","2019-02-25"]"#, None);
    assert_eq!(value.as_text().as_deref(), Some("2019-02-19 ~ 2019-02-25"));
    assert!(matches!(
        topapi("DDDateRangeField", r#"["2019-02-19"]"#, None),
        FormValue::Malformed { .. }
    ));
}

#[test]
fn attachments_with_numeric_size() {
    let value = topapi(
        "DDAttachment",
        r#"[{"spaceId":"115770306","fileName":"日志.xlsx","fileSize":267266,"fileType":"xlsx","fileId":"60605779562"}]"#,
        None,
    );
    let FormValue::Attachments(files) = value else {
        panic!("expected attachments");
    };
    assert_eq!(files[0].file_name, "日志.xlsx");
    assert_eq!(files[0].file_size, Some(267_266));
    assert_eq!(files[0].file_id.as_deref(), Some("60605779562"));
}

#[test]
fn photos_as_urls() {
    let value = topapi("DDPhotoField", r#"["https://img.example.com/a.png"]"#, None);
    assert_eq!(
        value,
        FormValue::Photos(vec!["https://img.example.com/a.png".into()])
    );
}

#[test]
fn contacts_from_ext_value() {
    let value = topapi(
        "InnerContactField",
        "赵六",
        Some(
            r#"[{"emplId":"205937523932471911","name":"赵六","selectDeptName":"","avatar":"","selectDeptId":""}]"#,
        ),
    );
    assert_eq!(
        value,
        FormValue::Contacts(vec![Contact {
            userid: Some("205937523932471911".into()),
            name: "赵六".into()
        }])
    );
}

#[test]
fn departments_with_numeric_ids() {
    let value = topapi(
        "DepartmentField",
        "示例科技",
        Some(
            r#"[{"itemId":1077343081,"name":"示例科技","id":1077343081,"fullDeptName":"示例科技"}]"#,
        ),
    );
    assert_eq!(
        value,
        FormValue::Departments(vec![Department {
            id: Some("1077343081".into()),
            name: "示例科技".into()
        }])
    );
}

#[test]
fn related_approvals_pair_titles_and_links() {
    let value = topapi(
        "RelateField",
        r#"["张三提交的采购申请"]"#,
        Some(
            r#"{"list":[{"businessId":"202112281713000090163","procInstId":"60406628-b642-4740-81e7-68cc67ebaa45"}]}"#,
        ),
    );
    let FormValue::RelatedApprovals(links) = value else {
        panic!("expected related approvals");
    };
    assert_eq!(links[0].title.as_deref(), Some("张三提交的采购申请"));
    assert_eq!(
        links[0].business_id.as_deref(),
        Some("202112281713000090163")
    );
}

#[test]
fn text_note() {
    assert_eq!(
        topapi("TextNote", "请按实际发生金额填写", None),
        FormValue::TextNote("请按实际发生金额填写".into())
    );
}

#[test]
fn phone_with_country_code() {
    let value = topapi(
        "PhoneField",
        "13800000000",
        Some(r#"{"mode":"phone","countryCode":"+86"}"#),
    );
    assert_eq!(
        value,
        FormValue::Phone {
            number: "13800000000".into(),
            country_code: Some("+86".into())
        }
    );
}

#[test]
fn table_rows_decoded() {
    let value = topapi(
        "TableField",
        r#"[{"rowValue":[{"componentType":"MoneyField","label":"报销金额(元)","value":"120.50","key":"MoneyField_2"}],"rowNumber":"T_0"}]"#,
        Some(r#"{"statValue":[],"componentName":"TableField"}"#),
    );
    let FormValue::Table(table) = value else {
        panic!("expected a table");
    };
    assert_eq!(table.rows.len(), 1);
}

#[test]
fn table_undecodable_is_malformed() {
    let value = topapi("TableField", "[{\"rowValue\":", None);
    let FormValue::Malformed { reason, raw } = value else {
        panic!("expected a malformed value");
    };
    assert!(reason.contains("not valid JSON"), "{reason}");
    assert_eq!(raw, "[{\"rowValue\":");
}

#[test]
fn suite_children_decoded_recursively() {
    let children = r#"[{"componentType":"DDDateField","name":"开始时间","bizAlias":"startTime","id":"DDDateField_S","value":"2026-11-01"},{"componentType":"NumberField","name":"时长","bizAlias":"duration","id":"NumberField_D","value":"2"}]"#;
    let FormValue::Suite(children) = topapi("DDBizSuite", children, None) else {
        panic!("expected a suite");
    };
    assert_eq!(children.len(), 2);
    assert_eq!(children[0].biz_alias.as_deref(), Some("startTime"));
    assert_eq!(children[1].value, FormValue::Number("2".into()));
    assert!(matches!(
        topapi("DDBizSuite", "{}", None),
        FormValue::Malformed { .. }
    ));
}

#[test]
fn unknown_type_kept_raw() {
    let value = topapi("DDHolidayField", "年假", Some(r#"{"unit":"day"}"#));
    assert_eq!(
        value,
        FormValue::Unknown {
            value: Some("年假".into()),
            ext_value: Some(r#"{"unit":"day"}"#.into())
        }
    );
}
