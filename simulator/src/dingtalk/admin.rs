//! The `/__sim/` admin API: instances, status changes, comments, faults, tokens,
//! counters and reset, all JSON.
//!
//! Errors return 400 (invalid request), 404 (unknown instance) or 409 (duplicate id)
//! with `{"error": "…"}`. The endpoint list is in the command's `--help`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::faults::{FaultPlan, FaultRule};
use super::generator;
use super::lifecycle::StatusChange;
use super::model::{ApprovalResult, Instance, Status};
use super::render_topapi;
use super::state::{AdminError, DingTalkHandle, Entry, Origin};
use super::time;
use super::truth::Expected;

impl DingTalkHandle {
    /// Adds a topapi instance (the `process_instance` object or a whole `get` body),
    /// optionally with truth in the `*.expected.json` format.
    pub fn add_topapi(
        &self,
        process_instance_id: &str,
        process_code: Option<&str>,
        raw: &Value,
        truth: Option<&Value>,
    ) -> Result<(), AdminError> {
        let process_code = process_code.unwrap_or(&self.config().process_code);
        let instance = Instance::from_topapi(process_instance_id, process_code, raw)
            .map_err(|error| AdminError::Invalid(error.to_string()))?;
        let outcome_if_approved = match truth {
            Some(truth) => Expected::outcome_if_approved(truth).map_err(AdminError::Invalid)?,
            None => None,
        };
        self.add(Entry {
            instance,
            outcome_if_approved,
            case_expected: truth.cloned(),
            origin: Origin::Added,
        })
    }

    /// Generates `count` claims with `seed`, created before now, and adds them.
    ///
    /// Returns the ids added. A generated id that exists already is skipped.
    pub fn add_generated(&self, count: usize, seed: u64) -> Vec<String> {
        let process_code = self.config().process_code.clone();
        let mut added = Vec::new();
        for claim in generator::generate_claims(count, seed, &process_code, Utc::now()) {
            let id = claim.instance.process_instance_id.clone();
            let entry = Entry {
                instance: claim.instance,
                outcome_if_approved: Some(claim.outcome_if_approved),
                case_expected: None,
                origin: Origin::Generated { seed },
            };
            if self.add(entry).is_ok() {
                added.push(id);
            }
        }
        added
    }
}

fn error_reply(error: AdminError) -> Response {
    let status = match error {
        AdminError::NotFound(_) => StatusCode::NOT_FOUND,
        AdminError::Duplicate(_) => StatusCode::CONFLICT,
        AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    (status, Json(json!({"error": error.to_string()}))).into_response()
}

fn invalid(problem: impl Into<String>) -> Response {
    error_reply(AdminError::Invalid(problem.into()))
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|error| format!("body is not valid: {error}"))
}

/// Renders an instance summary with its truth.
pub fn summary(entry: &Entry) -> Value {
    let instance = &entry.instance;
    json!({
        "process_instance_id": instance.process_instance_id,
        "process_code": instance.process_code,
        "business_id": instance.business_id,
        "title": instance.title,
        "originator_userid": instance.originator_userid,
        "status": instance.status.as_str(),
        "result": instance.result.as_str(),
        "create_time": time::format_topapi(instance.create_time),
        "create_time_ms": instance.create_millis(),
        "finish_time": instance.finish_time.map(time::format_topapi),
        "origin": entry.origin,
        "truth": entry.truth().to_json(),
        "case": entry.case_expected,
    })
}

/// `GET /__sim/info`.
pub async fn info(State(handle): State<DingTalkHandle>) -> Response {
    let config = handle.config();
    Json(json!({
        "app_key": config.app_key,
        "process_code": config.process_code,
        "shift_days": handle.shift_days(),
        "premium": config.premium,
        "instances": handle.entries().len(),
        "tokens_issued": handle.tokens_issued(),
    }))
    .into_response()
}

/// `GET /__sim/instances`.
pub async fn list_instances(State(handle): State<DingTalkHandle>) -> Response {
    let summaries: Vec<Value> = handle.entries().iter().map(summary).collect();
    Json(Value::Array(summaries)).into_response()
}

/// `GET /__sim/instances/{id}`: the summary plus the topapi rendering.
pub async fn get_instance(
    State(handle): State<DingTalkHandle>,
    Path(id): Path<String>,
) -> Response {
    let Some(entry) = handle.entry(&id) else {
        return error_reply(AdminError::NotFound(id));
    };
    let mut body = summary(&entry);
    body["process_instance"] = render_topapi::render_instance(&entry.instance);
    Json(body).into_response()
}

/// `POST /__sim/instances` with `{"process_instance_id", "process_code"?, "instance",
/// "truth"?}`.
pub async fn add_instance(State(handle): State<DingTalkHandle>, body: Bytes) -> Response {
    let body: Value = match parse(&body) {
        Ok(body) => body,
        Err(problem) => return invalid(problem),
    };
    let Some(id) = body.get("process_instance_id").and_then(Value::as_str) else {
        return invalid("process_instance_id is missing");
    };
    let Some(raw) = body.get("instance") else {
        return invalid("instance is missing");
    };
    let code = body.get("process_code").and_then(Value::as_str);
    match handle.add_topapi(id, code, raw, body.get("truth")) {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({"process_instance_id": id})),
        )
            .into_response(),
        Err(error) => error_reply(error),
    }
}

/// `POST /__sim/instances/{id}/status` with `{"status", "result"?, "finish_time"?,
/// "approver"?}`; `finish_time` is Beijing `yyyy-MM-dd HH:mm:ss` or epoch ms.
pub async fn change_status(
    State(handle): State<DingTalkHandle>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = match parse(&body) {
        Ok(body) => body,
        Err(problem) => return invalid(problem),
    };
    let Some(status) = body
        .get("status")
        .and_then(Value::as_str)
        .and_then(Status::parse)
    else {
        return invalid("status must be RUNNING, COMPLETED, TERMINATED, CANCELED or NEW");
    };
    let result = match body.get("result").and_then(Value::as_str) {
        None | Some("") => ApprovalResult::Empty,
        Some("agree") => ApprovalResult::Agree,
        Some("refuse") => ApprovalResult::Refuse,
        Some(other) => return invalid(format!("result {other:?} must be agree or refuse")),
    };
    let finish_time = match body.get("finish_time") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => match time::parse_topapi(text) {
            Some(parsed) => Some(parsed),
            None => return invalid(format!("finish_time {text:?} is not yyyy-MM-dd HH:mm:ss")),
        },
        Some(Value::Number(number)) => {
            match number
                .as_i64()
                .and_then(|ms| time::from_epoch_seconds(ms.div_euclid(1000)))
            {
                Some(parsed) => Some(parsed),
                None => return invalid(format!("finish_time {number} is not epoch milliseconds")),
            }
        }
        Some(other) => return invalid(format!("finish_time {other} is neither text nor a number")),
    };
    let change = StatusChange {
        status,
        result,
        finish_time,
        approver: body
            .get("approver")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    match handle.change_status(&id, &change) {
        Ok(()) => match handle.entry(&id) {
            Some(entry) => Json(summary(&entry)).into_response(),
            None => error_reply(AdminError::NotFound(id)),
        },
        Err(error) => error_reply(error),
    }
}

/// `POST /__sim/generate` with `{"count", "seed"?}`.
pub async fn generate(State(handle): State<DingTalkHandle>, body: Bytes) -> Response {
    let body: Value = match parse(&body) {
        Ok(body) => body,
        Err(problem) => return invalid(problem),
    };
    let Some(count) = body.get("count").and_then(Value::as_u64) else {
        return invalid("count must be a whole number");
    };
    let seed = body.get("seed").and_then(Value::as_u64).unwrap_or(0);
    let added = handle.add_generated(count as usize, seed);
    (StatusCode::CREATED, Json(json!({"added": added}))).into_response()
}

/// `GET /__sim/comments`.
pub async fn comments(State(handle): State<DingTalkHandle>) -> Response {
    Json(json!(handle.comments())).into_response()
}

/// `GET /__sim/counters`.
pub async fn counters(State(handle): State<DingTalkHandle>) -> Response {
    Json(json!(handle.counters())).into_response()
}

/// `GET /__sim/faults`.
pub async fn get_faults(State(handle): State<DingTalkHandle>) -> Response {
    Json(json!(handle.faults())).into_response()
}

/// `PUT /__sim/faults` with a whole plan `{"latency"?, "rules"?, "seed"?}`.
pub async fn put_faults(State(handle): State<DingTalkHandle>, body: Bytes) -> Response {
    let plan: FaultPlan = match parse(&body) {
        Ok(plan) => plan,
        Err(problem) => return invalid(problem),
    };
    match handle.set_faults(plan) {
        Ok(()) => Json(json!(handle.faults())).into_response(),
        Err(error) => error_reply(error),
    }
}

/// `POST /__sim/faults` with one rule `{"kind", "rate"?, "next"?, "apis"?, "status"?}`.
pub async fn add_fault(State(handle): State<DingTalkHandle>, body: Bytes) -> Response {
    let rule: FaultRule = match parse(&body) {
        Ok(rule) => rule,
        Err(problem) => return invalid(problem),
    };
    match handle.add_fault(rule) {
        Ok(()) => Json(json!(handle.faults())).into_response(),
        Err(error) => error_reply(error),
    }
}

/// `DELETE /__sim/faults`.
pub async fn clear_faults(State(handle): State<DingTalkHandle>) -> Response {
    handle.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /__sim/tokens`.
pub async fn get_tokens(State(handle): State<DingTalkHandle>) -> Response {
    let mut body = json!(handle.token_policy());
    body["tokens_issued"] = json!(handle.tokens_issued());
    Json(body).into_response()
}

/// `PUT /__sim/tokens` with `{"lifetime_seconds"?, "oapi_shape"?, "v1_status"?}`.
pub async fn put_tokens(State(handle): State<DingTalkHandle>, body: Bytes) -> Response {
    let policy = match parse(&body) {
        Ok(policy) => policy,
        Err(problem) => return invalid(problem),
    };
    match handle.set_token_policy(policy) {
        Ok(()) => Json(json!(handle.token_policy())).into_response(),
        Err(error) => error_reply(error),
    }
}

/// `POST /__sim/tokens/expire`.
pub async fn expire_tokens(State(handle): State<DingTalkHandle>) -> Response {
    handle.expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /__sim/reset`.
pub async fn reset(State(handle): State<DingTalkHandle>) -> Response {
    handle.reset();
    tracing::info!("reset simulator state");
    StatusCode::NO_CONTENT.into_response()
}
