//! Sorting failures into [`CallError`] variants: transport errors, HTTP statuses and
//! whole-call codes of a `ResponseStatus`.
//!
//! The rule that matters most: after a write, a timeout, a broken connection or a
//! gateway that lost the upstream reply is an unknown outcome, never transient, because
//! the server may have saved the bill before the reply was lost.

use std::time::Duration;

use super::decode::{Malformed, ResponseStatus};
use super::error::CallError;
use super::excerpt::excerpt;
use super::operation::Operation;
use super::outcome::{MSG_CODE_CALL_LIMIT, MSG_CODE_NETWORK_CONTROL, is_deadlock};
use super::reason::Reason;

/// `MsgCode` of a lost session (上下文丢失).
pub const MSG_CODE_SESSION_LOST: i64 = 1;

/// `MsgCode` of a licence error (许可错误).
const MSG_CODE_LICENCE: i64 = 7;

/// `MsgCode` of "administrator login forbidden" (禁止管理员登录).
const MSG_CODE_ADMIN_FORBIDDEN: i64 = 15;

/// Text of the session-lost message, checked when `MsgCode` is missing.
const SESSION_LOST_TEXT: &str = "会话信息已丢失";

/// Text K3Cloud sends (with a non-200 status) under signature auth when the account
/// set id is unknown.
const UNKNOWN_ACCOUNT_SET_TEXT: &str = "Fail to verify thirty passport";

/// Kind of transport-level failure. The mapping from `reqwest::Error` is in the
/// transport, so this table can be tested without sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    /// The request could not be built.
    Build(String),
    /// No connection; nothing was sent.
    Connect(String),
    /// The server's TLS certificate is not trusted; nothing was sent.
    UntrustedCertificate(String),
    /// The request timeout elapsed.
    Timeout,
    /// The connection broke during the exchange.
    Broken(String),
}

/// Verdict of a `ResponseStatus` on the call as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusClass {
    /// `MsgCode` 1: K3Cloud has no session for the request.
    SessionLost {
        /// Server messages.
        message: String,
    },
    /// The whole call failed in a way a later attempt can pass.
    Transient(Reason),
    /// The whole call failed because of setup.
    Configuration(Reason),
    /// The reply does not say whether the call succeeded.
    Unclear,
    /// Success, or per-item results to match by `DIndex`.
    Items,
}

/// Classifies a transport failure.
pub fn classify_transport(
    operation: Operation,
    failure: TransportFailure,
    request_timeout: Duration,
) -> CallError {
    let ambiguous = |reason| {
        if operation.is_write() {
            CallError::UnknownOutcome { operation, reason }
        } else {
            CallError::Transient { operation, reason }
        }
    };
    match failure {
        TransportFailure::Build(detail) => CallError::Configuration {
            operation,
            reason: Reason::InvalidRequest { detail },
        },
        TransportFailure::UntrustedCertificate(detail) => CallError::Configuration {
            operation,
            reason: Reason::UntrustedCertificate { detail },
        },
        TransportFailure::Connect(detail) => CallError::Transient {
            operation,
            reason: Reason::Connect { detail },
        },
        TransportFailure::Timeout => ambiguous(Reason::Timeout {
            after: request_timeout,
        }),
        TransportFailure::Broken(detail) => ambiguous(Reason::ReplyLost { detail }),
    }
}

/// Classifies a reply by HTTP status; `None` for 2xx replies, which are decoded.
///
/// `location` is the `Location` header of a redirect: redirects are not followed,
/// because following a 302 would turn the POST into a GET.
pub fn classify_http(
    operation: Operation,
    status: u16,
    body: &str,
    location: Option<&str>,
) -> Option<CallError> {
    if body.contains(UNKNOWN_ACCOUNT_SET_TEXT) {
        return Some(CallError::Configuration {
            operation,
            reason: Reason::UnknownAccountSet {
                excerpt: excerpt(body),
            },
        });
    }
    if (200..300).contains(&status) {
        return None;
    }
    let reason = Reason::HttpStatus {
        status,
        excerpt: match location {
            Some(target) if (300..400).contains(&status) => {
                format!("redirect to {}", excerpt(target))
            }
            _ => excerpt(body),
        },
    };
    let error = match status {
        // Request timeout and rate limiting: the server did not run the request.
        408 | 429 => CallError::Transient { operation, reason },
        // A gateway that timed out or lost the upstream reply may sit in front of a
        // server that did run the write.
        502 | 504 if operation.is_write() => CallError::UnknownOutcome { operation, reason },
        // Kingdee's public-cloud gateway returns 519 for a missing app id, a stale
        // timestamp or an unknown API (errcode 4002, 4006, 5001).
        519 => CallError::Configuration { operation, reason },
        500..=599 => CallError::Transient { operation, reason },
        _ => CallError::Configuration { operation, reason },
    };
    Some(error)
}

/// Classifies a `ResponseStatus` as a whole.
pub fn classify_status(status: &ResponseStatus) -> StatusClass {
    let message = status.messages().join("; ");
    let succeeded = status.succeeded();
    let session_lost = status.msg_code == Some(MSG_CODE_SESSION_LOST)
        || (status.msg_code.is_none() && message.contains(SESSION_LOST_TEXT));
    if session_lost && succeeded != Some(true) {
        return StatusClass::SessionLost { message };
    }
    match succeeded {
        None => return StatusClass::Unclear,
        Some(true) => return StatusClass::Items,
        Some(false) => {}
    }
    if let Some(MSG_CODE_LICENCE | MSG_CODE_ADMIN_FORBIDDEN) = status.msg_code {
        return StatusClass::Configuration(Reason::Refused {
            msg_code: status.msg_code,
            message,
        });
    }
    // Once a model was saved, the call has per-model results, and each failed model is
    // reported as rejected or retryable on its own.
    if !status.success_entities.is_empty() {
        return StatusClass::Items;
    }
    match status.msg_code {
        Some(MSG_CODE_NETWORK_CONTROL) => {
            StatusClass::Transient(Reason::NetworkControl { message })
        }
        Some(MSG_CODE_CALL_LIMIT) => StatusClass::Transient(Reason::CallLimit { message }),
        _ if status
            .errors
            .iter()
            .any(|error| is_deadlock(&error.message)) =>
        {
            StatusClass::Transient(Reason::Deadlock { message })
        }
        _ => StatusClass::Items,
    }
}

/// Turns an undecodable reply into an unknown outcome.
pub fn malformed_error(operation: Operation, malformed: Malformed) -> CallError {
    CallError::UnknownOutcome {
        operation,
        reason: Reason::UnexpectedReply {
            defect: malformed.defect,
            excerpt: malformed.excerpt,
        },
    }
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
