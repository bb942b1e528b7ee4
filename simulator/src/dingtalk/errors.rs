//! Failure replies in the envelope of each API generation.
//!
//! topapi (oapi) returns HTTP 200 with `errcode`/`errmsg`/`request_id`, and gateway
//! errors as `errcode` 88 with `sub_code`/`sub_msg`. v1.0 returns an HTTP error status
//! with `{"code", "message", "requestid"}`. A [`Failure`] names what went wrong once
//! and renders in either envelope, so the two generations cannot drift apart.
//!
//! Codes and messages are the documented or observed ones where a source exists:
//! the token shapes, `40035`/`40096` of gettoken, `90002`, `90020`, the v1.0 listing
//! codes and the global error table. Where no source gives the exact wording, the
//! text is marked `NOTE` below.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Content type of oapi replies, as observed.
pub const OAPI_CONTENT_TYPE: &str = "application/json;charset=UTF-8";
/// Content type of v1.0 replies, as observed.
pub const V1_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// API generation of a call, which decides the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// `oapi.dingtalk.com`: gettoken and `/topapi/…`.
    Oapi,
    /// `api.dingtalk.com`: `/v1.0/…`.
    V1,
}

/// Shape of the oapi reply to an invalid or expired token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum OapiTokenShape {
    /// `errcode` 88 with `sub_code` `"40014"`, as observed on live servers.
    #[default]
    #[serde(rename = "sub_code_40014")]
    SubCode40014,
    /// Plain `errcode` 40014 `不合法的access_token`.
    #[serde(rename = "errcode_40014")]
    Errcode40014,
    /// Plain `errcode` 42001 `access_token超时`.
    #[serde(rename = "errcode_42001")]
    Errcode42001,
}

/// An oapi error body: `errcode`, `errmsg` and, for 88, `sub_code`/`sub_msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OapiError {
    /// Numeric error code.
    pub errcode: i64,
    /// Error message.
    pub errmsg: String,
    /// Gateway sub-code, only with `errcode` 88.
    pub sub_code: Option<String>,
}

/// A v1.0 error body with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Error {
    /// HTTP status, 400 for most request errors.
    pub status: u16,
    /// String error code such as `invalidMaxResults`.
    pub code: String,
    /// Error message.
    pub message: String,
}

/// Something a call failed with, renderable in both envelopes.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A request error with its reply in each generation.
    Request {
        /// The oapi reply.
        oapi: OapiError,
        /// The v1.0 reply.
        v1: V1Error,
    },
    /// An HTTP 5xx from the gateway.
    ServerError {
        /// The status code.
        status: u16,
    },
    /// The per-IP ban page: HTML instead of JSON.
    IpBanHtml,
    /// The per-IP ban object `{"status":1111,"wait":5,…}`.
    IpBanJson,
}

impl Failure {
    /// Builds a request error from both renderings.
    pub fn request(
        errcode: i64,
        errmsg: impl Into<String>,
        status: u16,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Failure {
        Failure::Request {
            oapi: OapiError {
                errcode,
                errmsg: errmsg.into(),
                sub_code: None,
            },
            v1: V1Error {
                status,
                code: code.into(),
                message: message.into(),
            },
        }
    }

    /// Builds a request error whose oapi form is `errcode` 88 with a sub-code.
    pub fn gateway(
        sub_code: &str,
        sub_msg: &str,
        status: u16,
        code: &str,
        message: &str,
    ) -> Failure {
        Failure::Request {
            oapi: OapiError {
                errcode: 88,
                errmsg: sub_msg.to_string(),
                sub_code: Some(sub_code.to_string()),
            },
            v1: V1Error {
                status,
                code: code.to_string(),
                message: message.to_string(),
            },
        }
    }

    /// Returns the failure for a token absent where this generation reads it.
    pub fn token_missing() -> Failure {
        Failure::gateway(
            "40000",
            "access_token is blank",
            400,
            "AuthenticationFailed.MissingParameter",
            "缺少参数：x-acs-dingtalk-access-token",
        )
    }

    /// Returns the failure for an unknown or expired token.
    pub fn token_invalid(shape: OapiTokenShape, v1_status: u16) -> Failure {
        let (code, message) = if v1_status == 401 {
            // NOTE: the global table lists 401 with code "-" and message "Unauthorized".
            ("Unauthorized", "Unauthorized")
        } else {
            ("InvalidAuthentication", "不合法的access_token")
        };
        let mut failure =
            Failure::gateway("40014", "不合法的access_token", v1_status, code, message);
        if let Failure::Request { oapi, .. } = &mut failure {
            match shape {
                OapiTokenShape::SubCode40014 => {}
                OapiTokenShape::Errcode40014 => {
                    *oapi = OapiError {
                        errcode: 40014,
                        errmsg: "不合法的access_token".into(),
                        sub_code: None,
                    }
                }
                OapiTokenShape::Errcode42001 => {
                    *oapi = OapiError {
                        errcode: 42001,
                        errmsg: "access_token超时".into(),
                        sub_code: None,
                    }
                }
            }
        }
        failure
    }

    /// Renders the failure for `generation`.
    pub fn render(&self, generation: Generation) -> Response {
        match (self, generation) {
            (Failure::Request { oapi, .. }, Generation::Oapi) => {
                oapi_json(StatusCode::OK, render_oapi_body(oapi))
            }
            (Failure::Request { v1, .. }, Generation::V1) => {
                let status = StatusCode::from_u16(v1.status).unwrap_or(StatusCode::BAD_REQUEST);
                v1_error(status, &v1.code, &v1.message)
            }
            (Failure::ServerError { status }, generation) => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                let reason = status.canonical_reason().unwrap_or("Service Unavailable");
                match generation {
                    Generation::V1 => v1_error(status, "-", reason),
                    Generation::Oapi => html(
                        status,
                        &format!(
                            "<html><body><h1>{} {reason}</h1></body></html>",
                            status.as_u16()
                        ),
                    ),
                }
            }
            (Failure::IpBanHtml, _) => html(StatusCode::OK, IP_BAN_PAGE),
            (Failure::IpBanJson, _) => {
                let body = json!({
                    "status": 1111,
                    "wait": 5,
                    "source": "x5",
                    "punish": "deny",
                    "uuid": uuid::Uuid::new_v4().to_string(),
                });
                oapi_json(StatusCode::OK, body)
            }
        }
    }
}

/// NOTE: the ban page's markup is not published; only that it is HTML, not JSON.
const IP_BAN_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>访问被拒绝</title></head>\
<body><h1>访问被拒绝</h1><p>您的访问过于频繁，请稍后再试。</p></body></html>";

fn render_oapi_body(error: &OapiError) -> Value {
    match &error.sub_code {
        Some(sub_code) => json!({
            "errcode": error.errcode,
            "sub_code": sub_code,
            "sub_msg": error.errmsg,
            "errmsg": format!("ding talk error[subcode={sub_code},submsg={}]", error.errmsg),
            "request_id": oapi_request_id(),
        }),
        None => json!({
            "errcode": error.errcode,
            "errmsg": error.errmsg,
            "request_id": oapi_request_id(),
        }),
    }
}

/// Returns a request id shaped like oapi ones (`16l4ew3d47pdp`).
pub fn oapi_request_id() -> String {
    let mut number = uuid::Uuid::new_v4().as_u128();
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..13)
        .map(|_| {
            let digit = alphabet[(number % 36) as usize] as char;
            number /= 36;
            digit
        })
        .collect()
}

/// Returns a request id shaped like v1.0 ones (upper-case UUID).
pub fn v1_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// Wraps a JSON body in an oapi reply.
pub fn oapi_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(OAPI_CONTENT_TYPE),
    );
    response
}

/// Wraps a JSON body in a v1.0 reply.
pub fn v1_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(V1_CONTENT_TYPE),
    );
    response
}

/// Renders a v1.0 error body.
pub fn v1_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"code": code, "requestid": v1_request_id(), "message": message});
    v1_json(status, body)
}

fn html(status: StatusCode, page: &str) -> Response {
    let mut response = (status, page.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> (StatusCode, Value) {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("json body"))
    }

    #[tokio::test]
    async fn token_invalid_default_matches_observed_shapes() {
        let failure = Failure::token_invalid(OapiTokenShape::SubCode40014, 400);
        let (status, body) = body_of(failure.render(Generation::Oapi)).await;
        assert_eq!(status, StatusCode::OK, "oapi errors are HTTP 200");
        assert_eq!(body["errcode"], json!(88));
        assert_eq!(body["sub_code"], json!("40014"));
        assert_eq!(
            body["errmsg"],
            json!("ding talk error[subcode=40014,submsg=不合法的access_token]")
        );
        let (status, body) = body_of(failure.render(Generation::V1)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], json!("InvalidAuthentication"));
        assert!(body["requestid"].is_string(), "v1.0 errors carry requestid");
    }

    #[tokio::test]
    async fn token_invalid_plain_shapes() {
        let failure = Failure::token_invalid(OapiTokenShape::Errcode42001, 401);
        let (_, body) = body_of(failure.render(Generation::Oapi)).await;
        assert_eq!(body["errcode"], json!(42001));
        assert!(
            body.get("sub_code").is_none(),
            "plain shape has no sub_code"
        );
        let (status, _) = body_of(failure.render(Generation::V1)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn oapi_request_id_has_observed_length() {
        let id = oapi_request_id();
        assert_eq!(id.len(), 13, "{id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
