//! The classification table: transport failures, HTTP statuses and whole-call codes.

use std::time::Duration;

use super::*;
use crate::k3cloud::decode::decode_status;

const TIMEOUT: Duration = Duration::from_secs(120);

fn status(body: &str) -> ResponseStatus {
    decode_status(body).unwrap().status.unwrap()
}

fn failure(msg_code: i64, message: &str) -> ResponseStatus {
    status(&format!(
        r#"{{"Result":{{"ResponseStatus":{{"ErrorCode":500,"IsSuccess":false,"Errors":[{{"FieldName":null,"Message":"{message}","DIndex":0}}],"SuccessEntitys":[],"MsgCode":{msg_code}}}}}}}"#
    ))
}

fn kind(error: &CallError) -> &'static str {
    error.kind_label()
}

#[test]
fn transport_table() {
    let cases = [
        (
            Operation::BatchSave,
            TransportFailure::Connect("refused".into()),
            "transient",
        ),
        (
            Operation::View,
            TransportFailure::Connect("refused".into()),
            "transient",
        ),
        (
            Operation::BatchSave,
            TransportFailure::Timeout,
            "unknown_outcome",
        ),
        (
            Operation::Audit,
            TransportFailure::Timeout,
            "unknown_outcome",
        ),
        (
            Operation::ExecuteBillQuery,
            TransportFailure::Timeout,
            "transient",
        ),
        (
            Operation::Save,
            TransportFailure::Broken("reset".into()),
            "unknown_outcome",
        ),
        (
            Operation::View,
            TransportFailure::Broken("reset".into()),
            "transient",
        ),
        (
            Operation::Save,
            TransportFailure::Build("bad url".into()),
            "configuration",
        ),
    ];
    for (operation, transport, expected) in cases {
        let error = classify_transport(operation, transport.clone(), TIMEOUT);
        assert_eq!(kind(&error), expected, "{operation} after {transport:?}");
    }
}

#[test]
fn timeout_reason_names_the_limit() {
    let error = classify_transport(Operation::Save, TransportFailure::Timeout, TIMEOUT);
    assert_eq!(error.reason(), &Reason::Timeout { after: TIMEOUT });
}

#[test]
fn http_table() {
    let cases = [
        (Operation::BatchSave, 200, None),
        (Operation::BatchSave, 206, None),
        (Operation::BatchSave, 500, Some("transient")),
        (Operation::BatchSave, 503, Some("transient")),
        (Operation::BatchSave, 502, Some("unknown_outcome")),
        (Operation::BatchSave, 504, Some("unknown_outcome")),
        (Operation::View, 504, Some("transient")),
        (Operation::View, 408, Some("transient")),
        (Operation::Save, 429, Some("transient")),
        (Operation::Save, 401, Some("configuration")),
        (Operation::Save, 404, Some("configuration")),
        (Operation::Save, 302, Some("configuration")),
        (Operation::Save, 519, Some("configuration")),
    ];
    for (operation, code, expected) in cases {
        let error = classify_http(operation, code, "body", None);
        assert_eq!(
            error.as_ref().map(kind),
            expected,
            "{operation} with HTTP {code}"
        );
    }
}

#[test]
fn unknown_account_set_is_configuration() {
    let error =
        classify_http(Operation::Save, 500, "Fail to verify thirty passport", None).unwrap();
    assert!(
        matches!(
            error,
            CallError::Configuration {
                reason: Reason::UnknownAccountSet { .. },
                ..
            }
        ),
        "wrong acct_id, not a transient 500: {error:?}"
    );
}

#[test]
fn redirect_names_target() {
    let error = classify_http(
        Operation::Save,
        302,
        "",
        Some("https://erp.example.com/k3cloud/"),
    )
    .unwrap();
    let Reason::HttpStatus { excerpt, .. } = error.reason() else {
        panic!("HTTP status reason expected: {error:?}");
    };
    assert!(
        excerpt.contains("https://erp.example.com/k3cloud/"),
        "target shown: {excerpt}"
    );
}

#[test]
fn session_lost_by_code() {
    let class = classify_status(&failure(1, "会话信息已丢失，请重新登录"));
    assert!(
        matches!(class, StatusClass::SessionLost { .. }),
        "{class:?}"
    );
}

#[test]
fn session_lost_by_text_without_code() {
    let status = status(
        r#"{"ResponseStatus":{"IsSuccess":false,"Errors":[{"Message":"会话信息已丢失，请重新登录"}]}}"#,
    );
    assert!(matches!(
        classify_status(&status),
        StatusClass::SessionLost { .. }
    ));
}

#[test]
fn network_control_is_transient() {
    let class = classify_status(&failure(13, "网控冲突"));
    assert!(
        matches!(class, StatusClass::Transient(Reason::NetworkControl { .. })),
        "{class:?}"
    );
}

#[test]
fn call_limit_is_transient() {
    let class = classify_status(&failure(14, "调用限制"));
    assert!(
        matches!(class, StatusClass::Transient(Reason::CallLimit { .. })),
        "{class:?}"
    );
}

#[test]
fn deadlock_is_transient() {
    let chinese = classify_status(&failure(
        6,
        "事务(进程 ID 82)与另一个进程被死锁在 锁 资源上",
    ));
    assert!(
        matches!(chinese, StatusClass::Transient(Reason::Deadlock { .. })),
        "{chinese:?}"
    );
    let english = classify_status(&failure(4, "Transaction was deadlocked on lock resources"));
    assert!(
        matches!(english, StatusClass::Transient(Reason::Deadlock { .. })),
        "{english:?}"
    );
}

#[test]
fn licence_error_is_configuration() {
    let class = classify_status(&failure(7, "许可错误"));
    assert!(
        matches!(
            class,
            StatusClass::Configuration(Reason::Refused {
                msg_code: Some(7),
                ..
            })
        ),
        "{class:?}"
    );
}

#[test]
fn admin_login_forbidden_is_configuration() {
    let class = classify_status(&failure(15, "禁止管理员登录"));
    assert!(matches!(class, StatusClass::Configuration(_)), "{class:?}");
}

#[test]
fn validation_failure_is_per_item() {
    let class = classify_status(&failure(11, "字段“客户”是必填项"));
    assert_eq!(class, StatusClass::Items);
}

#[test]
fn success_is_per_item() {
    let status = status(r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"MsgCode":0}}}"#);
    assert_eq!(classify_status(&status), StatusClass::Items);
}

#[test]
fn missing_success_flag_is_unclear() {
    let status = status(r#"{"Result":{"ResponseStatus":{"MsgCode":0}}}"#);
    assert_eq!(classify_status(&status), StatusClass::Unclear);
}

#[test]
fn partial_save_with_network_control_is_per_item() {
    let status = status(
        r#"{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":[{"Message":"网控冲突","DIndex":1}],"SuccessEntitys":[{"Id":1,"Number":"DD-1","DIndex":0}],"MsgCode":13}}}"#,
    );
    assert_eq!(
        classify_status(&status),
        StatusClass::Items,
        "the saved model must be reported"
    );
}

#[test]
fn malformed_reply_is_unknown_outcome() {
    let error = malformed_error(
        Operation::BatchSave,
        Malformed {
            defect: crate::k3cloud::decode::ReplyDefect::NotJson,
            excerpt: "<html>".into(),
        },
    );
    assert_eq!(kind(&error), "unknown_outcome");
}
