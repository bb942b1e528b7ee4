//! Real and documented DingTalk payloads, and the handed expense-claim cases, decode into
//! the approval model and survive a serialize/parse round trip unchanged.

use std::path::{Path, PathBuf};

use dingk3::approval::{
    ApiGeneration, ApprovalInstance, ApprovalResult, FormValue, InstanceStatus,
};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dingtalk")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/cases")
}

/// Serializes and parses again; the model must be identical and keep its raw JSON.
fn assert_round_trip(instance: &ApprovalInstance) {
    let json = serde_json::to_string(instance).unwrap();
    let again: ApprovalInstance = serde_json::from_str(&json).unwrap();
    assert_eq!(&again, instance, "round trip changed the model");
    assert_eq!(
        again.raw(),
        instance.raw(),
        "round trip changed the raw JSON"
    );
}

#[test]
fn topapi_doc_sample_decodes() {
    let instance = ApprovalInstance::from_raw("doc-1", fixture("topapi-doc-sample.json")).unwrap();
    assert_eq!(instance.generation, ApiGeneration::Topapi);
    assert!(instance.is_approved());
    assert_eq!(instance.business_id, "20201");
    assert_eq!(
        instance.component("请假天数").unwrap().value,
        FormValue::Text("1".into())
    );
    assert_round_trip(&instance);
}

#[test]
fn topapi_daily_log_decodes_every_component() {
    let instance = ApprovalInstance::from_raw(
        "oyTxr2qkQXqjgjJNZZATZQ00891653925597",
        fixture("topapi-real-daily-log.json"),
    )
    .unwrap();
    assert_eq!(instance.business_id, "202205302346000370844");
    assert_eq!(instance.form.len(), 21);
    let filled = instance.table("当日任务统计").expect("filled table");
    assert_eq!(filled.rows.len(), 1);
    assert_eq!(
        filled.rows[0]
            .cell("任务类型")
            .unwrap()
            .value
            .as_text()
            .as_deref(),
        Some("实施内部验证")
    );
    let empty = instance
        .table("故障统计")
        .expect("empty table arrives as its schema");
    assert!(empty.rows.is_empty());
    assert_eq!(
        instance.component("公司办公工作内容").unwrap().value,
        FormValue::Empty
    );
    assert!(matches!(
        instance
            .component("附件（Axxxxx-ISL-问题日志-YYMMDD）")
            .unwrap()
            .value,
        FormValue::Attachments(_)
    ));
    assert!(matches!(
        instance.component("项目经理").unwrap().value,
        FormValue::Contacts(_)
    ));
    for component in &instance.form {
        assert!(
            !matches!(
                component.value,
                FormValue::Malformed { .. } | FormValue::Unknown { .. }
            ),
            "{} decoded as {:?}",
            component.id,
            component.value
        );
    }
    assert_round_trip(&instance);
}

#[test]
fn sdk_running_instance_decodes_photo_cells() {
    let instance =
        ApprovalInstance::from_raw("running-1", fixture("sdk-running-goods.json")).unwrap();
    assert_eq!(instance.status, InstanceStatus::Running);
    assert_eq!(instance.result, ApprovalResult::None);
    assert!(instance.is_open());
    assert_eq!(
        instance.create_time.unwrap().to_string(),
        "2021-07-26 10:18:33"
    );
    let table = instance.table("物品明细").unwrap();
    assert_eq!(table.rows.len(), 2);
    assert!(
        matches!(table.rows[0].cell("图片").unwrap().value, FormValue::Photos(ref urls) if urls.len() == 2)
    );
    assert!(
        table.rows[1].cell("图片").is_none(),
        "the second row has no photo cell"
    );
    assert_eq!(instance.component("图片").unwrap().value, FormValue::Empty);
    assert_round_trip(&instance);
}

#[test]
fn v1_doc_sample_decodes() {
    let instance = ApprovalInstance::from_raw("111", fixture("v1-doc-sample.json")).unwrap();
    assert_eq!(instance.generation, ApiGeneration::V1);
    assert_eq!(
        instance.finish_time.unwrap().to_string(),
        "2022-08-31 11:52:00"
    );
    assert_eq!(
        instance.attached_process_instance_ids,
        vec!["instance1".to_string()]
    );
    assert_eq!(instance.biz_action.as_deref(), Some("MODIFY"));
    assert_round_trip(&instance);
}

#[test]
fn v1_payment_request_decodes() {
    let instance =
        ApprovalInstance::from_raw("v1-payment", fixture("v1-real-payment.json")).unwrap();
    assert!(instance.is_approved());
    assert_eq!(instance.business_id, "202606111124000247560");
    assert!(
        matches!(instance.component("金额importe").unwrap().value, FormValue::Money { ref amount, .. } if amount == "1200")
    );
    let notes: Vec<_> = instance
        .form
        .iter()
        .filter(|c| c.component_type == "TextNote")
        .collect();
    assert!(
        notes.iter().all(|note| note.name.is_none()),
        "v1.0 text notes carry no name"
    );
    let table = instance.table("TableField_13B0RI3JBQXS0").unwrap();
    assert_eq!(table.rows.len(), 2);
    assert_eq!(
        table.rows[1]
            .cell("金额（元）Monto (yuan)")
            .unwrap()
            .component_type
            .as_deref(),
        Some("MoneyField")
    );
    assert_eq!(
        instance
            .component("DDSelectField_Y6E8VEROPTS0")
            .unwrap()
            .value,
        FormValue::Empty
    );
    assert_round_trip(&instance);
}

#[test]
fn v1_phone_sample_decodes() {
    let instance = ApprovalInstance::from_raw("v1-phone", fixture("v1-real-phone.json")).unwrap();
    assert!(matches!(
        instance
            .component("PhoneField_22REDB8IGEIO0")
            .unwrap()
            .value,
        FormValue::Phone { .. }
    ));
    assert_eq!(
        instance.create_time.unwrap().to_string(),
        "2025-09-23 16:26:00"
    );
    assert_round_trip(&instance);
}

#[test]
fn handed_cases_decode_and_round_trip() {
    let mut count = 0;
    for entry in std::fs::read_dir(cases_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name.ends_with(".expected.json") {
            continue;
        }
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("expected.json")).unwrap(),
        )
        .unwrap();
        let id = expected["process_instance_id"].as_str().unwrap();
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let instance = ApprovalInstance::from_raw(id, body).unwrap();
        assert_eq!(instance.generation, ApiGeneration::Topapi, "{name}");
        assert_eq!(instance.business_id.len(), 21, "{name}: business id");
        assert!(instance.table("报销明细").is_some(), "{name}: detail table");
        let approved = expected["expect"] != "skipped";
        assert_eq!(instance.is_approved(), approved, "{name}: approval state");
        assert_round_trip(&instance);
        count += 1;
    }
    assert_eq!(count, 5, "expected five handed cases");
}

#[test]
fn case_01_rows_and_amounts() {
    let body: Value = serde_json::from_str(
        &std::fs::read_to_string(cases_dir().join("01-admin-two-rows.json")).unwrap(),
    )
    .unwrap();
    let instance =
        ApprovalInstance::from_raw("kNpmUavZQwSHP_ZJvVdL7g07561762136122", body).unwrap();
    let table = instance.table("TableField_1A2B3C4D5E6F0").unwrap();
    let amounts: Vec<String> = table
        .rows
        .iter()
        .map(|row| row.cell("报销金额(元)").unwrap().value.as_text().unwrap())
        .collect();
    assert_eq!(amounts, vec!["120.50".to_string(), "1,280.00".to_string()]);
    assert_eq!(
        instance.component("项目报销类型").unwrap().value,
        FormValue::Empty
    );
    assert_eq!(
        instance.finish_time.unwrap().to_string(),
        "2026-11-04 16:40:05"
    );
}
