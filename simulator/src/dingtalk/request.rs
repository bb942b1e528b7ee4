//! Steps every simulated call shares: counting, latency, injected faults, and
//! decoding request bodies.
//!
//! topapi bodies arrive as JSON or, from the older SDKs, as a form whose values are
//! strings (nested objects such as `request` as JSON text). Both decode to one JSON
//! object, and numbers may come as numbers or as numeric strings.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::{Map, Value};

use super::catalogue;
use super::errors::{Failure, Generation};
use super::faults::{Api, FaultKind, Fired};
use super::state::DingTalkHandle;
use super::time;

/// Counts the call, waits out the injected latency and applies an injected fault.
///
/// Returns `Ok(true)` when a listing must return a repeated cursor, or
/// the fault's reply as `Err`.
pub async fn begin(
    handle: &DingTalkHandle,
    api: Api,
    generation: Generation,
) -> Result<bool, Response> {
    let (delay, fired) = handle.begin_call(api);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Some(fired) = fired else {
        return Ok(false);
    };
    tracing::info!(api = ?api, fault = ?fired.kind, "injecting fault");
    let Some(failure) = fault_failure(fired) else {
        return Ok(true);
    };
    let mut reply = failure.render(generation);
    if let Some(seconds) = fired.retry_after_seconds {
        reply
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Err(reply)
}

/// Returns the failure an injected fault replies with, or `None` for a repeated
/// cursor, which changes the listing's reply instead.
fn fault_failure(fired: Fired) -> Option<Failure> {
    let failure = match fired.kind {
        FaultKind::RepeatCursor => return None,
        FaultKind::ServerError => Failure::ServerError {
            status: fired.status,
        },
        FaultKind::SystemBusy => catalogue::system_busy(),
        FaultKind::QpsLimit => {
            let until = time::to_beijing(Utc::now() + Duration::seconds(1));
            catalogue::qps_limit(&time::format_topapi(until))
        }
        FaultKind::ApiDisabled => catalogue::api_disabled(),
        FaultKind::QpmLimit => catalogue::qpm_limit(),
        FaultKind::OrgQpmLimit => catalogue::org_qpm_limit(),
        FaultKind::IpBanHtml => Failure::IpBanHtml,
        FaultKind::IpBanJson => Failure::IpBanJson,
        FaultKind::QuotaExhausted => catalogue::quota_exhausted(),
        FaultKind::PermissionDenied => catalogue::permission_denied(),
    };
    Some(failure)
}

/// Decodes a JSON or form body into an object; an empty body is an empty object.
pub fn decode_body(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("x-www-form-urlencoded"));
    if is_form {
        let mut object = Map::new();
        for (key, value) in url::form_urlencoded::parse(body) {
            let parsed = if value.starts_with('{') || value.starts_with('[') {
                serde_json::from_str(&value).unwrap_or(Value::String(value.into_owned()))
            } else {
                Value::String(value.into_owned())
            };
            object.insert(key.into_owned(), parsed);
        }
        return Ok(object);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(catalogue::malformed_body()),
    }
}

/// Reads an integer that may be a JSON number or a numeric string.
///
/// Returns `Ok(None)` when absent or null, `Err(())` when present but not an integer.
pub fn integer(object: &Map<String, Value>, key: &str) -> Result<Option<i64>, ()> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number.as_i64().map(Some).ok_or(()),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => text.trim().parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// Reads a non-empty string.
pub fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key) {
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    }
}

/// Reads a list given as a JSON array or as a comma-separated string.
pub fn list(object: &Map<String, Value>, key: &str) -> Vec<String> {
    match object.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::trim).map(str::to_string))
            .filter(|item| !item.is_empty())
            .collect(),
        Some(Value::String(joined)) => joined
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;

    #[test]
    fn decode_body_reads_form_with_json_value() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded;charset=utf-8"),
        );
        let body = Bytes::from("size=20&request=%7B%22text%22%3A%22ok%22%7D");
        let object = decode_body(&headers, &body).expect("form decodes");
        assert_eq!(object["size"], json!("20"));
        assert_eq!(
            object["request"]["text"],
            json!("ok"),
            "nested JSON decoded"
        );
    }

    #[test]
    fn decode_body_rejects_non_object_json() {
        let body = Bytes::from("[1,2]");
        assert!(decode_body(&HeaderMap::new(), &body).is_err());
    }

    #[test]
    fn integer_accepts_numeric_strings() {
        let object = json!({"a": 1_700_000_000_000i64, "b": "20", "c": "x", "d": null});
        let object = object.as_object().unwrap();
        assert_eq!(integer(object, "a"), Ok(Some(1_700_000_000_000)));
        assert_eq!(integer(object, "b"), Ok(Some(20)));
        assert_eq!(integer(object, "c"), Err(()));
        assert_eq!(integer(object, "d"), Ok(None));
        assert_eq!(integer(object, "missing"), Ok(None));
    }

    #[test]
    fn list_splits_comma_strings() {
        let object = json!({"userid_list": "user-1001, user-1002,", "userIds": ["a", "b"]});
        let object = object.as_object().unwrap();
        assert_eq!(list(object, "userid_list"), vec!["user-1001", "user-1002"]);
        assert_eq!(list(object, "userIds"), vec!["a", "b"]);
    }
}
