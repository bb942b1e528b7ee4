//! Lenient decoding of K3Cloud replies.
//!
//! Real servers and K3Cloud's own documentation disagree on types: `IsSuccess` comes as
//! `true` or `"true"`, `ErrorCode`, `MsgCode` and `Id` as numbers, strings, `null` or not
//! at all. Errors arrive in four shapes: `{"Result":{"ResponseStatus":…}}`, a top-level
//! `{"ResponseStatus":…}`, the flat `{"ErrorCode":500,"MsgCode":1,"Message":…}`, and for
//! `ExecuteBillQuery` the first shape wrapped as `[[…]]`. Everything else (HTML, an empty
//! body, a `response_error:` prefix, truncated JSON, `null` where an object belongs, an
//! error given as a bare string) becomes a [`Malformed`] value with a short excerpt.
//! No input makes these functions panic; a property test feeds them arbitrary text and
//! arbitrary JSON.

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::excerpt::excerpt;

/// Prefix both official SDKs treat as a server-side exception.
const SERVER_EXCEPTION_PREFIX: &str = "response_error:";

/// Defect that made a reply impossible to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyDefect {
    /// The body was empty.
    Empty,
    /// The body started with `response_error:`, the SDK's marker of a server exception.
    ServerException,
    /// The body was not JSON: an HTML page, plain text or cut-off JSON.
    NotJson,
    /// The body was JSON of a shape no K3Cloud service returns.
    UnexpectedShape,
}

/// A reply that could not be decoded, with an excerpt safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// Kind of defect.
    pub defect: ReplyDefect,
    /// The first characters of the body, credentials masked.
    pub excerpt: String,
}

/// One entry of `Errors` (or the message of the flat error shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError {
    /// `FieldName`; `None` for whole-bill errors.
    pub field_name: Option<String>,
    /// `Message`, in the locale of the request.
    pub message: String,
    /// `DIndex`: position of the model (or number) in the request.
    pub index: Option<i64>,
}

/// One entry of `SuccessEntitys` (K3Cloud's spelling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessEntity {
    /// `Id`: internal id (内码) of the bill.
    pub id: Option<i64>,
    /// `Number`: bill number.
    pub number: Option<String>,
    /// `DIndex`: position in the request.
    pub index: Option<i64>,
}

/// The `ResponseStatus` object, with every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseStatus {
    /// `IsSuccess`.
    pub is_success: Option<bool>,
    /// `ErrorCode`; 500 on every observed failure.
    pub error_code: Option<i64>,
    /// `MsgCode`: 1 session lost, 13 网控 conflict, 14 call limit, ….
    pub msg_code: Option<i64>,
    /// `Errors`.
    pub errors: Vec<StatusError>,
    /// `SuccessEntitys`.
    pub success_entities: Vec<SuccessEntity>,
}

impl ResponseStatus {
    /// Tells whether the call succeeded: `IsSuccess` when present, otherwise `false`
    /// when a failure code or an error is present, otherwise unknown.
    pub fn succeeded(&self) -> Option<bool> {
        if let Some(flag) = self.is_success {
            return Some(flag);
        }
        let failure_code = self.msg_code.is_some_and(|code| code != 0)
            || self.error_code.is_some_and(|code| code != 0);
        if failure_code || !self.errors.is_empty() {
            return Some(false);
        }
        None
    }

    /// Returns every error message, for whole-call failures.
    pub fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|error| error.message.clone())
            .collect()
    }
}

/// A decoded reply of a form service (`Save`, `BatchSave`, `Submit`, `View`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReply {
    /// `ResponseStatus`; `None` when it is `null`, which `View` sends on success.
    pub status: Option<ResponseStatus>,
    /// `Result.Id` (`Save`).
    pub id: Option<i64>,
    /// `Result.Number` (`Save`).
    pub number: Option<String>,
    /// `Result.Result`: the bill of a `View`.
    pub payload: Option<Value>,
}

/// A decoded `ExecuteBillQuery` reply.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryReply {
    /// Rows, each with one value per field key.
    Rows(Vec<Vec<Value>>),
    /// The error object, wrapped as `[[…]]` or bare.
    Failed(ResponseStatus),
}

/// A decoded login reply.
#[derive(Debug, Clone)]
pub struct LoginReply {
    /// `LoginResultType`: 1 success, -5 form handling (still usable when a session id
    /// is present), 0 wrong user or password, …; `None` for a `ResponseStatus` reply.
    pub result_type: Option<i64>,
    /// `Message`, or the error messages of a `ResponseStatus` reply.
    pub message: String,
    /// `MsgCode` of a `ResponseStatus` reply.
    pub msg_code: Option<i64>,
    /// `KDSVCSessionId`, the value of the `kdservice-sessionid` cookie.
    pub session_id: Option<SecretString>,
    /// `Context.SessionId`, the value of the `ASP.NET_SessionId` cookie.
    pub aspnet_session_id: Option<SecretString>,
}

/// Decodes the reply of a form service.
pub fn decode_status(body: &str) -> Result<StatusReply, Malformed> {
    let value = parse_json(body)?;
    let unexpected = || malformed(ReplyDefect::UnexpectedShape, body);
    let object = match &value {
        Value::Object(object) => object,
        Value::Array(_) => wrapped_object(&value).ok_or_else(unexpected)?,
        _ => return Err(unexpected()),
    };
    status_reply(object).ok_or_else(unexpected)
}

/// Decodes the reply of `ExecuteBillQuery`.
pub fn decode_query(body: &str) -> Result<QueryReply, Malformed> {
    let value = parse_json(body)?;
    let unexpected = || malformed(ReplyDefect::UnexpectedShape, body);
    let failure = |object: &Map<String, Value>| {
        let reply = status_reply(object)?;
        let status = reply.status?;
        (status.succeeded() == Some(false)).then_some(QueryReply::Failed(status))
    };
    match &value {
        Value::Object(object) => failure(object).ok_or_else(unexpected),
        Value::Array(rows) => {
            if let Some(object) = wrapped_object(&value) {
                return failure(object).ok_or_else(unexpected);
            }
            let mut decoded = Vec::with_capacity(rows.len());
            for row in rows {
                let Value::Array(cells) = row else {
                    return Err(unexpected());
                };
                if cells.iter().any(|cell| cell.is_object() || cell.is_array()) {
                    return Err(unexpected());
                }
                decoded.push(cells.clone());
            }
            Ok(QueryReply::Rows(decoded))
        }
        _ => Err(unexpected()),
    }
}

/// Decodes the reply of `LoginByAppSecret` or `ValidateUser`.
pub fn decode_login(body: &str) -> Result<LoginReply, Malformed> {
    let value = parse_json(body)?;
    let unexpected = || malformed(ReplyDefect::UnexpectedShape, body);
    let Value::Object(object) = &value else {
        return Err(unexpected());
    };
    if let Some(result_type) = get(object, "LoginResultType") {
        let context = get(object, "Context").and_then(Value::as_object);
        return Ok(LoginReply {
            result_type: Some(
                integer(result_type)
                    .map_err(|_| unexpected())?
                    .ok_or_else(unexpected)?,
            ),
            message: get(object, "Message").map(text).unwrap_or_default(),
            msg_code: None,
            session_id: non_empty_secret(get(object, "KDSVCSessionId")),
            aspnet_session_id: non_empty_secret(context.and_then(|c| get(c, "SessionId"))),
        });
    }
    let status = status_reply(object)
        .and_then(|reply| reply.status)
        .ok_or_else(unexpected)?;
    Ok(LoginReply {
        result_type: None,
        message: status.messages().join("; "),
        msg_code: status.msg_code,
        session_id: None,
        aspnet_session_id: None,
    })
}

fn parse_json(body: &str) -> Result<Value, Malformed> {
    let trimmed = body.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(malformed(ReplyDefect::Empty, body));
    }
    if let Some(rest) = trimmed.strip_prefix(SERVER_EXCEPTION_PREFIX) {
        return Err(malformed(ReplyDefect::ServerException, rest));
    }
    serde_json::from_str(trimmed).map_err(|_| malformed(ReplyDefect::NotJson, body))
}

fn malformed(defect: ReplyDefect, body: &str) -> Malformed {
    Malformed {
        defect,
        excerpt: excerpt(body),
    }
}

/// Unwraps `[[{…}]]`, the shape `ExecuteBillQuery` uses for errors.
fn wrapped_object(value: &Value) -> Option<&Map<String, Value>> {
    let [Value::Array(inner)] = value.as_array()?.as_slice() else {
        return None;
    };
    let [Value::Object(object)] = inner.as_slice() else {
        return None;
    };
    Some(object)
}

/// Reads the three object shapes; `None` when the object matches none of them or a
/// field has the wrong type.
fn status_reply(object: &Map<String, Value>) -> Option<StatusReply> {
    if let Some(result) = get(object, "Result") {
        let result = result.as_object()?;
        let status = match get(result, "ResponseStatus") {
            None | Some(Value::Null) => None,
            Some(Value::Object(status)) => Some(response_status(status)?),
            Some(_) => return None,
        };
        let payload = get(result, "Result")
            .filter(|value| !value.is_null())
            .cloned();
        if status.is_none() && payload.is_none() {
            return None;
        }
        return Some(StatusReply {
            status,
            id: get(result, "Id").map(integer).transpose().ok()?.flatten(),
            number: get(result, "Number").and_then(optional_text),
            payload,
        });
    }
    if let Some(status) = get(object, "ResponseStatus") {
        return Some(StatusReply {
            status: Some(response_status(status.as_object()?)?),
            id: None,
            number: None,
            payload: None,
        });
    }
    let flat_keys = ["IsSuccess", "MsgCode", "ErrorCode", "Message", "Errors"];
    if flat_keys.iter().any(|key| get(object, key).is_some()) {
        let mut status = response_status(object)?;
        if let Some(message) = get(object, "Message").and_then(optional_text) {
            status.errors.insert(
                0,
                StatusError {
                    field_name: None,
                    message,
                    index: None,
                },
            );
        }
        return Some(StatusReply {
            status: Some(status),
            id: None,
            number: None,
            payload: None,
        });
    }
    None
}

fn response_status(object: &Map<String, Value>) -> Option<ResponseStatus> {
    Some(ResponseStatus {
        is_success: get(object, "IsSuccess")
            .map(flag)
            .transpose()
            .ok()?
            .flatten(),
        error_code: get(object, "ErrorCode")
            .map(integer)
            .transpose()
            .ok()?
            .flatten(),
        msg_code: get(object, "MsgCode")
            .map(integer)
            .transpose()
            .ok()?
            .flatten(),
        errors: list(object, "Errors", status_error)?,
        success_entities: match get(object, "SuccessEntitys") {
            Some(_) => list(object, "SuccessEntitys", success_entity)?,
            None => list(object, "SuccessEntities", success_entity)?,
        },
    })
}

/// Reads an array of objects; `null` or absent is empty, a non-object entry (an error
/// given as a bare string) makes the whole reply unexpected.
fn list<T>(
    object: &Map<String, Value>,
    key: &str,
    read: fn(&Map<String, Value>) -> Option<T>,
) -> Option<Vec<T>> {
    match get(object, key) {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|item| read(item.as_object()?)).collect(),
        Some(_) => None,
    }
}

fn status_error(object: &Map<String, Value>) -> Option<StatusError> {
    Some(StatusError {
        field_name: get(object, "FieldName").and_then(optional_text),
        message: get(object, "Message").map(text).unwrap_or_default(),
        index: get(object, "DIndex")
            .map(integer)
            .transpose()
            .ok()?
            .flatten(),
    })
}

fn success_entity(object: &Map<String, Value>) -> Option<SuccessEntity> {
    let number = get(object, "Number")
        .and_then(optional_text)
        .or_else(|| get(object, "BillNo").and_then(optional_text));
    Some(SuccessEntity {
        id: get(object, "Id").map(integer).transpose().ok()?.flatten(),
        number,
        index: get(object, "DIndex")
            .map(integer)
            .transpose()
            .ok()?
            .flatten(),
    })
}

/// Looks a key up exactly, then ignoring ASCII case.
fn get<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

/// Reads a boolean given as `true` or `"true"` (any case). `Err` for objects, arrays,
/// numbers and other strings, because guessing a success flag is unsafe.
fn flag(value: &Value) -> Result<Option<bool>, ()> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(flag) => Ok(Some(*flag)),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// Reads an integer given as a number or a numeric string. Returns `Ok(None)` for
/// `null`, non-numeric strings and out-of-range numbers, and `Err` for objects and arrays.
fn integer(value: &Value) -> Result<Option<i64>, ()> {
    match value {
        Value::Null | Value::Bool(_) => Ok(None),
        Value::Number(number) => Ok(number.as_i64().or_else(|| whole_float(number.as_f64()))),
        Value::String(text) => Ok(text.trim().parse().ok()),
        Value::Array(_) | Value::Object(_) => Err(()),
    }
}

fn whole_float(value: Option<f64>) -> Option<i64> {
    let value = value?;
    let in_range = value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15;
    in_range.then_some(value as i64)
}

/// Renders a scalar as text; strings unquoted, `null` empty.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn optional_text(value: &Value) -> Option<String> {
    Some(text(value)).filter(|text| !text.is_empty())
}

fn non_empty_secret(value: Option<&Value>) -> Option<SecretString> {
    let text = value.and_then(Value::as_str)?.trim();
    (!text.is_empty()).then(|| SecretString::from(text.to_string()))
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
