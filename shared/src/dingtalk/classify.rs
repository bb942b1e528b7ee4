//! Classification of one DingTalk reply into a success body or a typed failure.
//!
//! The two API generations fail differently. The legacy host returns HTTP 200 with a
//! non-zero `errcode`, and wraps gateway errors in `errcode` 88 with the real code in
//! `sub_code`. The v1.0 host returns HTTP 4xx/5xx with a string `code`. In front of
//! both, the per-IP limiter returns an HTML page or a small JSON object such as
//! `{"status":1111,"wait":5,"punish":"deny",…}` that has neither field. Every shape that
//! means "throttled" must be recognised, because a poller that treats throttling as a
//! hard failure stops, and one that treats a quota or permission error as throttling
//! retries forever.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use crate::approval::time::beijing_to_utc;

use super::endpoint::Envelope;
use super::error::ConfigurationReason;

/// Message DingTalk sends when a permission (权限点) is missing, with any code; a token
/// issued before an administrator granted the permission keeps failing this way.
const PERMISSION_MISSING: [&str; 2] = ["应用尚未开通所需的权限", "没有调用该接口的权限"];

/// Meaning of one failed reply for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The access token is invalid or expired: fetch a new one and retry once.
    TokenInvalid { code: String, message: String },
    /// A permission is missing: a new token may carry a newly granted one.
    PermissionDenied { code: String, message: String },
    /// Throttled. `hint` is the wait the server requested, when it sent one.
    Throttled {
        code: String,
        hint: Option<Duration>,
    },
    /// The monthly quota is spent.
    QuotaExhausted { code: String, message: String },
    /// Only a change of configuration or app settings helps.
    Configuration {
        reason: ConfigurationReason,
        code: String,
        message: String,
    },
    /// The instance does not exist.
    NotFound { code: String, message: String },
    /// Server error, busy signal or network failure.
    Transient { detail: String },
    /// This request is wrong; repeating it fails the same way.
    Rejected { code: String, message: String },
}

impl Failure {
    /// Returns the `outcome` label of the calls metric.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Failure::TokenInvalid { .. } => "token_invalid",
            Failure::PermissionDenied { .. } => "permission_denied",
            Failure::Throttled { .. } => "throttled",
            Failure::QuotaExhausted { .. } => "quota_exhausted",
            Failure::Configuration { .. } => "configuration",
            Failure::NotFound { .. } => "not_found",
            Failure::Transient { .. } => "transient",
            Failure::Rejected { .. } => "rejected",
        }
    }
}

/// One HTTP reply as received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reply<'a> {
    /// HTTP status code.
    pub status: u16,
    /// Body bytes.
    pub body: &'a [u8],
    /// `Retry-After` header in seconds, when sent.
    pub retry_after_header: Option<Duration>,
    /// Time of receipt, to turn an end time in a message into a wait.
    pub received_at: DateTime<Utc>,
}

/// Returns the parsed body of a successful reply, or what the failure means.
pub(crate) fn classify(envelope: Envelope, reply: Reply<'_>) -> Result<Value, Failure> {
    let parsed = serde_json::from_slice::<Value>(reply.body).ok();
    let Some(Value::Object(object)) = parsed else {
        return Err(classify_opaque(reply));
    };
    let outcome = match envelope {
        Envelope::Oapi => classify_oapi(&object, reply),
        Envelope::V1 => classify_v1(&object, reply),
    };
    outcome.map(|()| Value::Object(object))
}

/// Classifies a body that is not a JSON object: an HTML block page, a proxy error page
/// or nothing.
fn classify_opaque(reply: Reply<'_>) -> Failure {
    let status = reply.status;
    match status {
        500..=599 => Failure::Transient {
            detail: format!("HTTP {status} with a body that is not JSON"),
        },
        401 => Failure::TokenInvalid {
            code: "HTTP 401".to_string(),
            message: String::new(),
        },
        404 | 405 => Failure::Configuration {
            reason: ConfigurationReason::UnknownApi,
            code: format!("HTTP {status}"),
            message: "the host does not serve this path".to_string(),
        },
        // The per-IP limiter returns an HTML page. Nothing else on DingTalk's side returns
        // a success status without JSON.
        _ => Failure::Throttled {
            code: format!("HTTP {status} with a body that is not JSON"),
            hint: reply.retry_after_header,
        },
    }
}

fn classify_oapi(object: &Map<String, Value>, reply: Reply<'_>) -> Result<(), Failure> {
    let Some(errcode) = object.get("errcode").and_then(as_i64) else {
        return Err(classify_without_code(object, reply));
    };
    let message = text_of(object, "errmsg");
    match errcode {
        0 if (200..300).contains(&reply.status) => Ok(()),
        0 => Err(classify_status_only(reply.status, &message)),
        88 => {
            // Gateway errors carry the real code in `sub_code`, or only inside `errmsg`
            // as `subcode=90018`.
            let sub_code = object
                .get("sub_code")
                .or_else(|| object.get("subCode"))
                .and_then(as_i64)
                .or_else(|| subcode_in_message(&message));
            let sub_message = Some(text_of(object, "sub_msg"))
                .filter(|text| !text.is_empty())
                .unwrap_or_else(|| message.clone());
            match sub_code {
                // "access_token is blank": only seen inside errcode 88.
                Some(40000) => Err(Failure::TokenInvalid {
                    code: "88/40000".to_string(),
                    message: sub_message,
                }),
                Some(code) => Err(classify_oapi_code(code, &sub_message, reply)),
                None => Err(classify_by_message("88", &message)),
            }
        }
        code => Err(classify_oapi_code(code, &message, reply)),
    }
}

fn classify_oapi_code(code: i64, message: &str, reply: Reply<'_>) -> Failure {
    let code_text = code.to_string();
    let failure = |reason| Failure::Configuration {
        reason,
        code: code_text.clone(),
        message: message.to_string(),
    };
    match code {
        40014 | 40001 | 42001 | 41001 => Failure::TokenInvalid {
            code: code_text,
            message: message.to_string(),
        },
        90018 | 90002 | 90005 | 90006 => Failure::Throttled {
            code: code_text,
            hint: end_time_hint(message, reply.received_at).or(reply.retry_after_header),
        },
        90020 => Failure::QuotaExhausted {
            code: code_text,
            message: message.to_string(),
        },
        60011 => Failure::PermissionDenied {
            code: code_text,
            message: message.to_string(),
        },
        // NOTE: no topapi document lists a code for an unknown instance. The global
        // table's 820005 (审批单状态异常) is assumed to be the reply to such an id.
        820005 => Failure::NotFound {
            code: code_text,
            message: message.to_string(),
        },
        60020 => failure(ConfigurationReason::IpNotWhitelisted),
        830001 => failure(ConfigurationReason::UnknownProcessCode),
        40096 | 40089 => failure(ConfigurationReason::InvalidCredentials),
        22 => failure(ConfigurationReason::UnknownApi),
        -1 => Failure::Transient {
            detail: format!("errcode -1 (system busy): {message}"),
        },
        _ => classify_by_message(&code_text, message),
    }
}

fn classify_v1(object: &Map<String, Value>, reply: Reply<'_>) -> Result<(), Failure> {
    let code = text_of(object, "code");
    let message = text_of(object, "message");
    if code.is_empty() {
        let is_success_body = ["result", "accessToken", "access_token"]
            .iter()
            .any(|key| object.contains_key(*key));
        if (200..300).contains(&reply.status) && is_success_body {
            return Ok(());
        }
        return Err(classify_without_code(object, reply));
    }
    Err(classify_v1_code(&code, &message, reply))
}

fn classify_v1_code(code: &str, message: &str, reply: Reply<'_>) -> Failure {
    let failure = |reason| Failure::Configuration {
        reason,
        code: code.to_string(),
        message: message.to_string(),
    };
    match code {
        "InvalidAuthentication" => Failure::TokenInvalid {
            code: code.to_string(),
            message: message.to_string(),
        },
        // "Forbidden" in these codes reads like a permission error but is throttling.
        _ if code.contains("QpsLimit") || code.contains("QpmLimit") => Failure::Throttled {
            code: code.to_string(),
            hint: end_time_hint(message, reply.received_at).or(reply.retry_after_header),
        },
        "Forbidden.AccessDenied.ApiCountLimitForOrg" => Failure::QuotaExhausted {
            code: code.to_string(),
            message: message.to_string(),
        },
        "Forbidden.AccessDenied.AccessTokenPermissionDenied" => Failure::PermissionDenied {
            code: code.to_string(),
            message: message.to_string(),
        },
        "Forbidden.AccessDenied.IpNotInWhiteList" => failure(ConfigurationReason::IpNotWhitelisted),
        "invalidClientIdOrSecret" | "invalid.client" | "unauthorized.client" => {
            failure(ConfigurationReason::InvalidCredentials)
        }
        // The token went to the wrong place (query string instead of header): the
        // request was built for the other host.
        "AuthenticationFailed.MissingParameter" => failure(ConfigurationReason::UnknownApi),
        "processCodeError" | "invalidProcessCode" => {
            failure(ConfigurationReason::UnknownProcessCode)
        }
        "processInstanceNotExist"
        | "processInstanceIdError"
        | "aflowProcessInstNotExist"
        | "invalidInstanceId" => Failure::NotFound {
            code: code.to_string(),
            message: message.to_string(),
        },
        "systemError" | "unknownError" | "internalError" | "server.error" => Failure::Transient {
            detail: format!("{code}: {message}"),
        },
        _ if reply.status >= 500 => Failure::Transient {
            detail: format!("HTTP {}, {code}: {message}", reply.status),
        },
        _ if reply.status == 401 => Failure::TokenInvalid {
            code: code.to_string(),
            message: message.to_string(),
        },
        // `InvalidAction.NotFound`: the gateway serves no such path.
        _ if reply.status == 404 => failure(ConfigurationReason::UnknownApi),
        _ => classify_by_message(code, message),
    }
}

/// Classifies a JSON object with neither `errcode` nor `code`. It is the per-IP
/// limiter's reply unless the status is 401 or 5xx.
fn classify_without_code(object: &Map<String, Value>, reply: Reply<'_>) -> Failure {
    let status = reply.status;
    match status {
        500..=599 => Failure::Transient {
            detail: format!("HTTP {status} with a JSON body without an error code"),
        },
        401 => Failure::TokenInvalid {
            code: "HTTP 401".to_string(),
            message: String::new(),
        },
        _ => {
            let hint = object
                .get("wait")
                .and_then(as_i64)
                .filter(|seconds| *seconds > 0)
                // NOTE: the unit of `wait` is not documented; seconds is assumed.
                .map(|seconds| Duration::from_secs(seconds.unsigned_abs()))
                .or(reply.retry_after_header);
            let marker = object
                .get("status")
                .map(Value::to_string)
                .map(|status| format!(", status {status}"))
                .unwrap_or_default();
            Failure::Throttled {
                code: format!("HTTP {status} JSON without an error code{marker}"),
                hint,
            }
        }
    }
}

/// Classifies a reply with `errcode` 0 but a failing HTTP status.
fn classify_status_only(status: u16, message: &str) -> Failure {
    match status {
        500..=599 => Failure::Transient {
            detail: format!("HTTP {status}: {message}"),
        },
        401 => Failure::TokenInvalid {
            code: "HTTP 401".to_string(),
            message: message.to_string(),
        },
        _ => Failure::Rejected {
            code: format!("HTTP {status}"),
            message: message.to_string(),
        },
    }
}

/// Classifies an unlisted code by its message, falling back to a rejection.
fn classify_by_message(code: &str, message: &str) -> Failure {
    if PERMISSION_MISSING.iter().any(|text| message.contains(text)) {
        return Failure::PermissionDenied {
            code: code.to_string(),
            message: message.to_string(),
        };
    }
    if message.contains("实例不存在") {
        return Failure::NotFound {
            code: code.to_string(),
            message: message.to_string(),
        };
    }
    Failure::Rejected {
        code: code.to_string(),
        message: message.to_string(),
    }
}

/// Reads `subcode=NNN` out of an `errmsg` such as
/// `ding talk error[subcode=90018,submsg=…]`.
fn subcode_in_message(message: &str) -> Option<i64> {
    let (_, rest) = message.split_once("subcode=")?;
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// Reads the end of a ban from "限制将在 2026-11-04 10:00:05 结束" (Beijing time) and
/// returns the wait until then.
fn end_time_hint(message: &str, now: DateTime<Utc>) -> Option<Duration> {
    let (_, rest) = message.split_once("限制将在")?;
    let (moment, _) = rest.split_once("结束")?;
    let local = NaiveDateTime::parse_from_str(moment.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    let wait = beijing_to_utc(local) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Reads a number sent as a JSON number or as a numeric string.
fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn text_of(object: &Map<String, Value>, key: &str) -> String {
    match object.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
