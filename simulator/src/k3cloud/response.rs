//! Reply bodies in the shapes the real server produces.
//!
//! Business outcomes travel as HTTP 200 with a `ResponseStatus` object:
//! `{"Result":{"ResponseStatus":{"IsSuccess":…,"Errors":[…],"SuccessEntitys":[…],
//! "SuccessMessages":[],"MsgCode":…}}}`. Failures add `"ErrorCode":500` in front;
//! successes carry no `ErrorCode` key. `ExecuteBillQuery` wraps its errors as `[[{…}]]`.

use serde_json::{Value, json};

/// `MsgCode` values of K3Cloud replies (the server's documented table).
pub mod msg_code {
    /// 默认: no specific code, also used for partly successful batches.
    pub const DEFAULT: i64 = 0;
    /// 上下文丢失: no live session and re-authentication failed.
    pub const SESSION_LOST: i64 = 1;
    /// 异常: server-side exception, e.g. an unknown form id.
    pub const EXCEPTION: i64 = 4;
    /// 参数错误: a required parameter is missing or malformed.
    pub const BAD_PARAMETER: i64 = 8;
    /// 指定字段/值不存在: an unknown field key.
    pub const NO_SUCH_FIELD: i64 = 9;
    /// 未找到对应数据: no bill with the given number or id.
    pub const NOT_FOUND: i64 = 10;
    /// 验证失败: validation errors, duplicate numbers.
    pub const VALIDATION: i64 = 11;
    /// 不可操作: the bill's status forbids the operation.
    pub const NOT_ALLOWED: i64 = 12;
    /// 网控冲突: another user holds the network-control lock.
    pub const NETWORK_CONFLICT: i64 = 13;
}

/// The message of a lost session; it stays Chinese whatever `lcid` the caller used.
pub const SESSION_LOST_MESSAGE: &str = "会话信息已丢失，请重新登录";

/// One entry of `Errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `FieldName`: the field key at fault, or `None` (JSON `null`) for whole-bill errors.
    pub field: Option<String>,

    /// `Message`, in the server's Chinese wording.
    pub message: String,

    /// `DIndex`: index of the model (or number) in the request.
    pub index: usize,
}

impl FieldError {
    /// Creates an error about field `field` of model `index`.
    pub fn new(field: Option<&str>, message: impl Into<String>, index: usize) -> FieldError {
        FieldError {
            field: field.map(str::to_string),
            message: message.into(),
            index,
        }
    }

    fn to_json(&self) -> Value {
        json!({"FieldName": self.field, "Message": self.message, "DIndex": self.index})
    }
}

/// One entry of `SuccessEntitys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessEntity {
    /// `Id`: internal id (内码) of the bill.
    pub id: i64,

    /// `Number`: the bill number.
    pub number: String,

    /// `DIndex`: index of the model (or number) in the request.
    pub index: usize,
}

impl SuccessEntity {
    fn to_json(&self) -> Value {
        json!({"Id": self.id, "Number": self.number, "DIndex": self.index})
    }
}

/// Builds a `ResponseStatus` object.
pub fn status(errors: &[FieldError], successes: &[SuccessEntity], code: i64) -> Value {
    let errors: Vec<Value> = errors.iter().map(FieldError::to_json).collect();
    let successes: Vec<Value> = successes.iter().map(SuccessEntity::to_json).collect();
    if errors.is_empty() {
        json!({
            "IsSuccess": true,
            "Errors": [],
            "SuccessEntitys": successes,
            "SuccessMessages": [],
            "MsgCode": code,
        })
    } else {
        json!({
            "ErrorCode": 500,
            "IsSuccess": false,
            "Errors": errors,
            "SuccessEntitys": successes,
            "SuccessMessages": [],
            "MsgCode": code,
        })
    }
}

/// Wraps a `ResponseStatus` as `{"Result":{"ResponseStatus":…}}`, the reply of Submit,
/// Audit, Delete and every whole-call failure.
pub fn status_reply(status: Value) -> Value {
    json!({"Result": {"ResponseStatus": status}})
}

/// Builds a whole-call failure with a single message.
pub fn failure(code: i64, field: Option<&str>, message: &str) -> Value {
    status_reply(status(&[FieldError::new(field, message, 0)], &[], code))
}

/// Builds the reply to a call without a live session or valid credentials.
pub fn session_lost() -> Value {
    failure(msg_code::SESSION_LOST, None, SESSION_LOST_MESSAGE)
}

/// Wraps an error reply as `ExecuteBillQuery` does: `[[{…}]]`.
pub fn wrap_query_error(reply: Value) -> Value {
    Value::Array(vec![Value::Array(vec![reply])])
}

/// Builds the reply of a successful `Save`.
pub fn save_reply(entity: &SuccessEntity, need_return_data: Value) -> Value {
    json!({
        "Result": {
            "ResponseStatus": status(&[], std::slice::from_ref(entity), msg_code::DEFAULT),
            "Id": entity.id,
            "Number": entity.number,
            "NeedReturnData": need_return_data,
        }
    })
}

/// Builds the reply of a `BatchSave`, which has no `Id`/`Number` at `Result` level.
pub fn batch_reply(status: Value, need_return_data: Vec<Value>) -> Value {
    json!({"Result": {"ResponseStatus": status, "NeedReturnData": need_return_data}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_lost_matches_observed_reply() {
        let expected: Value = serde_json::from_str(
            r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":1}}}"#,
        )
        .unwrap();
        assert_eq!(session_lost().to_string(), expected.to_string());
    }

    #[test]
    fn save_reply_matches_observed_shape() {
        let entity = SuccessEntity {
            id: 100029,
            number: "FKSQ000004".to_string(),
            index: 0,
        };
        let expected = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":100029,"Number":"FKSQ000004","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":100029,"Number":"FKSQ000004","NeedReturnData":[{}]}}"#;
        assert_eq!(save_reply(&entity, json!([{}])).to_string(), expected);
    }

    #[test]
    fn query_errors_are_wrapped_twice() {
        let wrapped = wrap_query_error(session_lost());
        assert!(wrapped[0][0]["Result"]["ResponseStatus"].is_object());
    }
}
