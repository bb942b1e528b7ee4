//! Matching of successes and errors to request items by `DIndex`.

use super::*;
use crate::k3cloud::decode::decode_status;

fn status(body: &str) -> ResponseStatus {
    decode_status(body).unwrap().status.unwrap()
}

fn models(body: &str, count: usize) -> Vec<ModelOutcome> {
    let status = status(body);
    model_outcomes(match_items(&status, count), status.msg_code, "excerpt")
}

const PARTIAL: &str = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"FINSTYPE","Message":"字段“结算方式”是必填项","DIndex":0},{"FieldName":"FNAME,FIDCARD_NO","Message":"编码为“124312”的病人基本资料，姓名和证件号组合唯一性校验","DIndex":4}],"SuccessEntitys":[{"Id":4401029,"Number":"312716","DIndex":1},{"Id":4401030,"Number":"312717","DIndex":2},{"Id":4403537,"Number":"312718","DIndex":3}],"SuccessMessages":[],"MsgCode":0},"NeedReturnData":[]}}"#;

#[test]
fn partial_batch_maps_each_model() {
    let outcomes = models(PARTIAL, 5);
    assert_eq!(outcomes.len(), 5, "one outcome per model");
    assert!(
        matches!(&outcomes[0], ModelOutcome::Rejected { index: 0, errors, .. } if errors[0].field_name.as_deref() == Some("FINSTYPE")),
        "model 0 rejected on FINSTYPE: {:?}",
        outcomes[0]
    );
    assert_eq!(
        outcomes[2],
        ModelOutcome::Saved {
            index: 2,
            k3_id: 4401030,
            bill_no: "312717".to_string(),
        }
    );
    assert!(
        matches!(&outcomes[4], ModelOutcome::Rejected { index: 4, .. }),
        "model 4 rejected: {:?}",
        outcomes[4]
    );
}

#[test]
fn outcomes_follow_input_order() {
    let indexes: Vec<usize> = models(PARTIAL, 5).iter().map(ModelOutcome::index).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
}

#[test]
fn several_errors_stay_with_their_model() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"FCustomerID","Message":"a","DIndex":0},{"FieldName":"FCustomerID","Message":"b","DIndex":1},{"FieldName":"FStockID","Message":"c","DIndex":0}],"MsgCode":11}}}"#;
    let outcomes = models(body, 2);
    let ModelOutcome::Rejected {
        errors, msg_code, ..
    } = &outcomes[0]
    else {
        panic!("model 0 rejected: {:?}", outcomes[0]);
    };
    let messages: Vec<&str> = errors.iter().map(|error| error.message.as_str()).collect();
    assert_eq!(messages, ["a", "c"], "both errors of model 0");
    assert_eq!(*msg_code, Some(11));
}

#[test]
fn unindexed_error_of_single_model() {
    let body = r#"{"ErrorCode":500,"MsgCode":4,"Message":"业务对象不存在"}"#;
    let outcomes = models(body, 1);
    assert!(
        matches!(&outcomes[0], ModelOutcome::Rejected { errors, .. } if errors[0].message == "业务对象不存在"),
        "the only model carries the error: {:?}",
        outcomes[0]
    );
}

#[test]
fn unindexed_error_applies_to_unlisted_models() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"您没有该功能的操作权限"}],"MsgCode":2}}}"#;
    let outcomes = models(body, 3);
    for outcome in &outcomes {
        assert!(
            matches!(outcome, ModelOutcome::Rejected { .. }),
            "every model is rejected: {outcome:?}"
        );
    }
}

#[test]
fn success_without_id_is_unknown() {
    let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"SuccessEntitys":[{"Id":"","Number":"DD-1","DIndex":0}]}}}"#;
    assert!(
        matches!(&models(body, 1)[0], ModelOutcome::Unknown { index: 0, .. }),
        "a saved bill without id cannot be recorded"
    );
}

#[test]
fn unreported_model_is_unknown() {
    let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"SuccessEntitys":[{"Id":1,"Number":"DD-1","DIndex":0}]}}}"#;
    let outcomes = models(body, 2);
    assert!(
        matches!(outcomes[0], ModelOutcome::Saved { .. }),
        "model 0 saved"
    );
    assert!(
        matches!(&outcomes[1], ModelOutcome::Unknown { index: 1, excerpt } if excerpt == "excerpt"),
        "model 1 is not in the reply: {:?}",
        outcomes[1]
    );
}

#[test]
fn out_of_range_index_is_ignored() {
    let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"SuccessEntitys":[{"Id":1,"Number":"DD-1","DIndex":7},{"Id":2,"Number":"DD-2","DIndex":-1}]}}}"#;
    let outcomes = models(body, 1);
    assert!(
        matches!(outcomes[0], ModelOutcome::Unknown { .. }),
        "DIndex 7 and -1 do not belong to a one-model request: {:?}",
        outcomes[0]
    );
}

#[test]
fn deadlock_next_to_saved_model_is_retryable() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"事务(进程 ID 82)与另一个进程被死锁在 锁 资源上,并且已被选作死锁牺牲品。请重新运行该事务。","DIndex":1}],"SuccessEntitys":[{"Id":1,"Number":"DD-1","DIndex":0}],"MsgCode":6}}}"#;
    let outcomes = models(body, 2);
    assert!(
        matches!(outcomes[0], ModelOutcome::Saved { .. }),
        "model 0 saved"
    );
    assert!(
        matches!(outcomes[1], ModelOutcome::Retryable { index: 1, .. }),
        "model 1 hit a deadlock: {:?}",
        outcomes[1]
    );
}

#[test]
fn network_control_next_to_saved_model_is_retryable() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"网控冲突","DIndex":1}],"SuccessEntitys":[{"Id":1,"Number":"DD-1","DIndex":0}],"MsgCode":13}}}"#;
    let outcomes = models(body, 2);
    assert!(matches!(
        outcomes[1],
        ModelOutcome::Retryable {
            msg_code: Some(13),
            ..
        }
    ));
}

#[test]
fn bill_outcomes_name_numbers() {
    let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":105410,"Number":"SCGSL004743","DIndex":0}],"MsgCode":0}}}"#;
    let status = status(body);
    let numbers = vec!["SCGSL004743".to_string(), "SCGSL009999".to_string()];
    let outcomes = bill_outcomes(match_items(&status, 2), &numbers, status.msg_code);
    assert_eq!(
        outcomes[0],
        BillOutcome::Done {
            index: 0,
            bill_no: "SCGSL004743".to_string(),
            k3_id: Some(105410),
        }
    );
    assert_eq!(
        outcomes[1],
        BillOutcome::NotReported {
            index: 1,
            bill_no: "SCGSL009999".to_string(),
        },
        "K3Cloud leaves out numbers that do not exist"
    );
}

#[test]
fn deadlock_text_is_detected() {
    assert!(
        is_deadlock("事务与另一个进程被死锁在锁资源上"),
        "Chinese SQL Server text"
    );
    assert!(
        is_deadlock("Transaction (Process ID 82) was deadlocked on lock resources"),
        "English text"
    );
    assert!(!is_deadlock("字段“客户”是必填项"), "validation text");
}
