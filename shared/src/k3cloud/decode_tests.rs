//! Decoding of every reply shape K3Cloud is known to send, the malformed shapes, and a
//! property test that no input panics.

use proptest::prelude::*;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::*;

fn status_of(body: &str) -> ResponseStatus {
    decode_status(body)
        .expect("the sample decodes")
        .status
        .expect("the sample has a ResponseStatus")
}

fn defect_of(result: Result<impl std::fmt::Debug, Malformed>) -> ReplyDefect {
    result.expect_err("the body is malformed").defect
}

// Documented template of Save: every value a string, the way the per-form WebAPI pages
// print it.
const DOC_TEMPLATE: &str = r#"{"Result":{"ResponseStatus":{"ErrorCode":"","IsSuccess":"false","Errors":[{"FieldName":"","Message":"","DIndex":0}],"SuccessEntitys":[{"Id":"","Number":"","DIndex":0}],"SuccessMessages":[{"FieldName":"","Message":"","DIndex":0}],"MsgCode":""},"Id":"","Number":"","NeedReturnData":[{}]}}"#;

#[test]
fn doc_template_reads_string_types() {
    let status = status_of(DOC_TEMPLATE);
    assert_eq!(status.is_success, Some(false), "IsSuccess \"false\"");
    assert_eq!(status.error_code, None, "empty ErrorCode");
    assert_eq!(status.msg_code, None, "empty MsgCode");
    assert_eq!(status.errors.len(), 1);
    assert_eq!(status.errors[0].field_name, None, "empty FieldName is none");
    assert_eq!(status.success_entities[0].id, None, "empty Id is none");
    assert_eq!(status.success_entities[0].index, Some(0));
}

#[test]
fn save_success_reads_ids() {
    let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":100029,"Number":"FKSQ000004","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":100029,"Number":"FKSQ000004","NeedReturnData":[{}]}}"#;
    let reply = decode_status(body).unwrap();
    let status = reply.status.clone().unwrap();
    assert_eq!(status.succeeded(), Some(true));
    assert_eq!(status.error_code, None, "success has no ErrorCode");
    assert_eq!(
        status.success_entities,
        vec![SuccessEntity {
            id: Some(100029),
            number: Some("FKSQ000004".to_string()),
            index: Some(0),
        }]
    );
    assert_eq!(reply.id, Some(100029), "Result.Id");
    assert_eq!(reply.number.as_deref(), Some("FKSQ000004"), "Result.Number");
}

#[test]
fn save_success_second_sample() {
    let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":140670,"Number":"MBCGRK-2023051500004","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":140670,"Number":"MBCGRK-2023051500004","NeedReturnData":[{}]}}"#;
    let status = status_of(body);
    assert_eq!(
        status.success_entities[0].number.as_deref(),
        Some("MBCGRK-2023051500004")
    );
}

#[test]
fn duplicate_number_is_failure() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"FBillNo","Message":"违反字段唯一性要求：编码唯一。[test5]在当前系统中已经被使用。","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":11}}}"#;
    let status = status_of(body);
    assert_eq!(status.succeeded(), Some(false));
    assert_eq!(status.error_code, Some(500));
    assert_eq!(status.msg_code, Some(11));
    assert_eq!(status.errors[0].field_name.as_deref(), Some("FBillNo"));
    assert!(
        status.errors[0].message.contains("[test5]"),
        "message kept verbatim"
    );
}

#[test]
fn missing_fields_keep_every_error() {
    let errors = r#"[{"FieldName":"FCustomerID","Message":"字段“客户”是必填项","DIndex":0},{"FieldName":"FCustomerID","Message":"字段“客户”是必填项","DIndex":1},{"FieldName":"FStockID","Message":"单据体实体【明细信息】第【1】行分录，【仓库】字段必录","DIndex":0},{"FieldName":"FStockID","Message":"单据体实体【明细信息】第【2】行分录，【仓库】字段必录","DIndex":0},{"FieldName":"FStockID","Message":"单据体实体【明细信息】第【3】行分录，【仓库】字段必录","DIndex":0},{"FieldName":"FStockID","Message":"单据体实体【明细信息】第【1】行分录，【仓库】字段必录","DIndex":1},{"FieldName":"FStockID","Message":"单据体实体【明细信息】第【2】行分录，【仓库】字段必录","DIndex":1},{"FieldName":"FStockID","Message":"单据体实体【明细信息】第【3】行分录，【仓库】字段必录","DIndex":1}]"#;
    let body = format!(
        r#"{{"Result":{{"ResponseStatus":{{"ErrorCode":500,"IsSuccess":false,"Errors":{errors},"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":11}}}}}}"#
    );
    let status = status_of(&body);
    assert_eq!(status.errors.len(), 8, "all eight errors kept");
    let second_model = status
        .errors
        .iter()
        .filter(|error| error.index == Some(1))
        .count();
    assert_eq!(second_model, 4, "four errors belong to DIndex 1");
}

#[test]
fn batch_partial_failure_lists_both() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"FINSTYPE","Message":"字段“结算方式”是必填项","DIndex":0},{"FieldName":"FNAME,FIDCARD_NO","Message":"编码为“124312”的病人基本资料，姓名和证件号组合唯一性校验","DIndex":4}],"SuccessEntitys":[{"Id":4401029,"Number":"312716","DIndex":1},{"Id":4401030,"Number":"312717","DIndex":2},{"Id":4403537,"Number":"312718","DIndex":3}],"SuccessMessages":[],"MsgCode":0},"NeedReturnData":[]}}"#;
    let status = status_of(body);
    assert_eq!(
        status.succeeded(),
        Some(false),
        "partial failure is IsSuccess false"
    );
    let saved: Vec<Option<i64>> = status
        .success_entities
        .iter()
        .map(|entity| entity.index)
        .collect();
    assert_eq!(saved, [Some(1), Some(2), Some(3)]);
    let failed: Vec<Option<i64>> = status.errors.iter().map(|error| error.index).collect();
    assert_eq!(failed, [Some(0), Some(4)]);
}

#[test]
fn multi_number_success_reads_entities() {
    let body = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":105410,"Number":"SCGSL004743","DIndex":0},{"Id":105411,"Number":"SCGSL004744","DIndex":1}],"SuccessMessages":[],"MsgCode":0}}}"#;
    let status = status_of(body);
    assert_eq!(status.success_entities.len(), 2);
    assert_eq!(status.success_entities[1].id, Some(105411));
}

const SESSION_LOST: &str = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":1}}}"#;

#[test]
fn session_lost_reads_msg_code() {
    let status = status_of(SESSION_LOST);
    assert_eq!(status.msg_code, Some(1));
    assert_eq!(status.errors[0].field_name, None, "null FieldName");
}

#[test]
fn session_lost_top_level_status() {
    let body = r#"{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"MsgCode":1}}"#;
    assert_eq!(status_of(body).msg_code, Some(1));
}

#[test]
fn session_lost_flat_variant() {
    let body = r#"{"ErrorCode": 500, "MsgCode": 1, "Message": "会话信息已丢失，请重新登录"}"#;
    let status = status_of(body);
    assert_eq!(status.msg_code, Some(1));
    assert_eq!(
        status.succeeded(),
        Some(false),
        "ErrorCode 500 means failure"
    );
    assert_eq!(status.errors[0].message, "会话信息已丢失，请重新登录");
}

#[test]
fn numbers_as_strings_are_read() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":"500","IsSuccess":"False","MsgCode":"13","Errors":[{"FieldName":"FBillNo","Message":"网控冲突","DIndex":"0"}]}}}"#;
    let status = status_of(body);
    assert_eq!(status.error_code, Some(500));
    assert_eq!(status.msg_code, Some(13));
    assert_eq!(status.is_success, Some(false), "\"False\" in any case");
    assert_eq!(status.errors[0].index, Some(0), "DIndex as a string");
}

#[test]
fn absent_fields_are_empty() {
    let status = status_of(r#"{"Result":{"ResponseStatus":{"IsSuccess":true}}}"#);
    assert!(status.errors.is_empty(), "absent Errors");
    assert!(status.success_entities.is_empty(), "absent SuccessEntitys");
    assert_eq!(status.msg_code, None, "absent MsgCode");
}

#[test]
fn null_lists_are_empty() {
    let status = status_of(
        r#"{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":null,"SuccessEntitys":null,"MsgCode":null}}}"#,
    );
    assert!(status.errors.is_empty());
    assert_eq!(status.msg_code, None);
}

#[test]
fn query_rows_keep_values() {
    let reply =
        decode_query(r#"[["MAT001","测试物料"],[100029,"2019-01-10T00:00:00",null]]"#).unwrap();
    let QueryReply::Rows(rows) = reply else {
        panic!("rows expected");
    };
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][1], json!("测试物料"));
    assert_eq!(rows[1][2], Value::Null);
}

#[test]
fn query_empty_is_no_rows() {
    assert_eq!(decode_query("[]").unwrap(), QueryReply::Rows(Vec::new()));
}

#[test]
fn query_wrapped_error_is_failure() {
    let body = format!("[[{SESSION_LOST}]]");
    let QueryReply::Failed(status) = decode_query(&body).unwrap() else {
        panic!("a wrapped error is a failure");
    };
    assert_eq!(status.msg_code, Some(1));
}

#[test]
fn query_unwrapped_error_is_failure() {
    let body = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"元数据中标识为FNoSuchField的字段不存在","DIndex":0}],"MsgCode":9}}}"#;
    let QueryReply::Failed(status) = decode_query(body).unwrap() else {
        panic!("an object reply to a query is a failure");
    };
    assert_eq!(status.msg_code, Some(9));
}

#[test]
fn query_object_rows_are_unexpected() {
    let defect = defect_of(decode_query(r#"[{"FNumber":"MAT001"}]"#));
    assert_eq!(defect, ReplyDefect::UnexpectedShape);
}

#[test]
fn view_success_has_payload() {
    let body = r#"{"Result":{"ResponseStatus":null,"Result":{"Id":100024,"FBILLNo":"FKSQ000001","FDOCUMENTSTATUS":"C","FCURRENCYID":{"Id":1,"Number":"PRE001"},"FDATE":"2019-01-10T00:00:00"}}}"#;
    let reply = decode_status(body).unwrap();
    assert!(reply.status.is_none(), "ResponseStatus null on success");
    let payload = reply.payload.expect("the bill is under Result.Result");
    assert_eq!(payload["FBILLNo"], "FKSQ000001");
}

#[test]
fn view_doc_template_is_failure() {
    let reply =
        decode_status(r#"{"Result":{"ResponseStatus":{"IsSuccess":"false"},"Result":"{}"}}"#)
            .unwrap();
    assert_eq!(reply.status.unwrap().succeeded(), Some(false));
}

#[test]
fn login_success_reads_session_ids() {
    let body = r#"{"Message":null,"MessageCode":"CheckPasswordPolicy","LoginResultType":1,"Context":{"UserLocale":"zh-CN","SessionId":"n3xfizba4et0o2uutwdftvzg","UserId":178301,"UserName":"孙万","DisplayVersion":"9.0.553.10"},"KDSVCSessionId":"2c6dfa6c-039b-4b65-b52f-898d3c7c522a","FormId":null,"Lcid":0,"IsSuccessByAPI":true}"#;
    let login = decode_login(body).unwrap();
    assert_eq!(login.result_type, Some(1));
    let kd = login.session_id.expect("KDSVCSessionId");
    assert_eq!(kd.expose_secret(), "2c6dfa6c-039b-4b65-b52f-898d3c7c522a");
    let aspnet = login.aspnet_session_id.expect("Context.SessionId");
    assert_eq!(aspnet.expose_secret(), "n3xfizba4et0o2uutwdftvzg");
}

#[test]
fn login_failure_template_reads_message() {
    let body =
        r#"{"Message":"！","MessageCode":"","LoginResultType":0,"Context":null,"FormId":null}"#;
    let login = decode_login(body).unwrap();
    assert_eq!(login.result_type, Some(0));
    assert_eq!(login.message, "！");
    assert!(login.session_id.is_none(), "no session on failure");
}

#[test]
fn login_licence_notice_has_no_session() {
    let body = r#"{"Message":"许可即将到期","LoginResultType":-5,"KDSVCSessionId":null,"FormId":"BOS_CloudInspection","FormInputObject":26,"IsSuccessByAPI":true}"#;
    let login = decode_login(body).unwrap();
    assert_eq!(login.result_type, Some(-5));
    assert!(login.session_id.is_none(), "null KDSVCSessionId");
}

#[test]
fn login_status_reply_keeps_msg_code() {
    let login = decode_login(SESSION_LOST).unwrap();
    assert_eq!(login.result_type, None);
    assert_eq!(login.msg_code, Some(1));
    assert!(login.message.contains("会话信息已丢失"));
}

#[test]
fn empty_body_is_empty() {
    assert_eq!(defect_of(decode_status("")), ReplyDefect::Empty);
    assert_eq!(defect_of(decode_query(" \r\n")), ReplyDefect::Empty);
}

#[test]
fn html_is_not_json() {
    let html =
        "<html><head><title>500 - 内部服务器错误。</title></head><body>Server Error</body></html>";
    let malformed = decode_status(html).unwrap_err();
    assert_eq!(malformed.defect, ReplyDefect::NotJson);
    assert!(
        malformed.excerpt.starts_with("<html>"),
        "excerpt shows the page"
    );
}

#[test]
fn response_error_prefix_is_server_exception() {
    let body =
        r#"response_error:{"Message":"未将对象引用设置到对象的实例。","InnerExWrapper":null}"#;
    let malformed = decode_status(body).unwrap_err();
    assert_eq!(malformed.defect, ReplyDefect::ServerException);
    assert!(
        malformed.excerpt.contains("未将对象引用"),
        "excerpt keeps the message"
    );
}

#[test]
fn truncated_json_is_not_json() {
    let body = &SESSION_LOST[..SESSION_LOST.len() / 2];
    assert_eq!(defect_of(decode_status(body)), ReplyDefect::NotJson);
}

#[test]
fn null_result_is_unexpected() {
    assert_eq!(
        defect_of(decode_status(r#"{"Result":null}"#)),
        ReplyDefect::UnexpectedShape
    );
}

#[test]
fn null_status_without_payload_is_unexpected() {
    let defect = defect_of(decode_status(r#"{"Result":{"ResponseStatus":null}}"#));
    assert_eq!(defect, ReplyDefect::UnexpectedShape);
}

#[test]
fn array_result_is_unexpected() {
    assert_eq!(
        defect_of(decode_status(r#"{"Result":[]}"#)),
        ReplyDefect::UnexpectedShape
    );
    assert_eq!(
        defect_of(decode_status("[1,2]")),
        ReplyDefect::UnexpectedShape
    );
}

#[test]
fn array_status_is_unexpected() {
    let defect = defect_of(decode_status(r#"{"Result":{"ResponseStatus":[]}}"#));
    assert_eq!(defect, ReplyDefect::UnexpectedShape);
}

#[test]
fn string_errors_are_unexpected() {
    let defect = defect_of(decode_status(
        r#"{"Result":{"ResponseStatus":{"IsSuccess":false,"Errors":["会话信息已丢失"]}}}"#,
    ));
    assert_eq!(defect, ReplyDefect::UnexpectedShape);
}

#[test]
fn plain_string_body_is_unexpected() {
    assert_eq!(
        defect_of(decode_status(r#""会话信息已丢失，请重新登录""#)),
        ReplyDefect::UnexpectedShape
    );
    assert_eq!(
        defect_of(decode_login("true")),
        ReplyDefect::UnexpectedShape
    );
}

#[test]
fn object_success_flag_is_unexpected() {
    let defect = defect_of(decode_status(
        r#"{"Result":{"ResponseStatus":{"IsSuccess":{"x":1}}}}"#,
    ));
    assert_eq!(defect, ReplyDefect::UnexpectedShape);
}

#[test]
fn unknown_object_is_unexpected() {
    assert_eq!(
        defect_of(decode_status(r#"{"errcode":4002}"#)),
        ReplyDefect::UnexpectedShape
    );
}

#[test]
fn passport_text_is_not_json() {
    assert_eq!(
        defect_of(decode_status("Fail to verify thirty passport")),
        ReplyDefect::NotJson
    );
}

#[test]
fn excerpt_masks_login_session() {
    let body = r#"{"LoginResultType":"x1","KDSVCSessionId":"2c6dfa6c-039b","Context":{"SessionId":"n3xfiz"}}"#;
    let malformed = decode_login(body).unwrap_err();
    assert!(
        !malformed.excerpt.contains("2c6dfa6c"),
        "session id leaked: {}",
        malformed.excerpt
    );
    assert!(
        !malformed.excerpt.contains("n3xfiz"),
        "session id leaked: {}",
        malformed.excerpt
    );
}

/// Arbitrary JSON up to a few levels deep, with the key names K3Cloud uses so that the
/// decoders reach their inner branches.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("Result".to_string()),
        Just("ResponseStatus".to_string()),
        Just("IsSuccess".to_string()),
        Just("MsgCode".to_string()),
        Just("ErrorCode".to_string()),
        Just("Errors".to_string()),
        Just("SuccessEntitys".to_string()),
        Just("DIndex".to_string()),
        Just("Id".to_string()),
        Just("Number".to_string()),
        Just("Message".to_string()),
        Just("LoginResultType".to_string()),
        Just("KDSVCSessionId".to_string()),
        Just("Context".to_string()),
        "[a-zA-Z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        Just(json!("true")),
        Just(json!("500")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn decode_everything(body: &str) {
    let _ = decode_status(body);
    let _ = decode_query(body);
    let _ = decode_login(body);
    if let Ok(StatusReply {
        status: Some(status),
        ..
    }) = decode_status(body)
    {
        let _ = crate::k3cloud::classify::classify_status(&status);
        for count in 0..4 {
            let items = crate::k3cloud::outcome::match_items(&status, count);
            assert_eq!(items.len(), count, "one item per request entry");
        }
    }
}

proptest! {
    #[test]
    fn decoding_never_panics_on_text(body in any::<String>()) {
        decode_everything(&body);
    }

    #[test]
    fn decoding_never_panics_on_json(value in arbitrary_json()) {
        decode_everything(&value.to_string());
        decode_everything(&format!("[[{value}]]"));
        decode_everything(&format!("{{\"Result\":{value}}}"));
    }

    #[test]
    fn excerpt_is_bounded(body in any::<String>()) {
        let malformed = decode_status(&format!("<{body}")).unwrap_err();
        prop_assert!(malformed.excerpt.chars().count() <= crate::k3cloud::excerpt::EXCERPT_CHARS + 1);
    }
}
