//! The HTTP layer: routing, faults, authentication, replies.
//!
//! Every WebAPI call goes through the same steps: read the body, wait the injected
//! latency, draw pre-processing faults (HTTP 500, hang), authenticate, draw a 网控
//! conflict for writes, execute, then draw a lost reply for writes that changed bills.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tracing::{debug, warn};

use crate::k3cloud::admin;
use crate::k3cloud::auth::{NewSession, SignatureCheck, check_signature, session_id};
use crate::k3cloud::faults::{LostReplyMode, PreFault};
use crate::k3cloud::login::{
    LoginCheck, check_login, data_center_list, login_failure, login_success,
};
use crate::k3cloud::operations;
use crate::k3cloud::request::{Call, Operation, normalise};
use crate::k3cloud::response::{failure, msg_code, session_lost, wrap_query_error};
use crate::k3cloud::state::Shared;
use crate::k3cloud::stats::Outcome;
use crate::k3cloud::values::get_ci;

/// Largest request body accepted; a BatchSave of thousands of bills fits.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Reply text of an unknown account set under signature auth (observed verbatim,
/// including its spelling).
pub const PASSPORT_FAILURE: &str = "Fail to verify thirty passport";

// NOTE: the 网控 message is the simulator's wording; no real sample is known.
/// Message of an injected 网控 (network control) conflict.
pub const NETWORK_CONFLICT_MESSAGE: &str =
    "网络控制冲突：业务对象【付款单】的数据正在被其他用户执行“保存”操作，请稍后再试。";

/// Builds the router of one simulator.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{base}/{service}", post(service))
        .merge(admin::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

enum Auth {
    Session,
    Opened(NewSession),
    UnknownAccount,
    Lost,
}

async fn service(
    State(shared): State<Arc<Shared>>,
    Path((base, segment)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = match Operation::from_url_segment(&segment) {
        Some(op) if base.eq_ignore_ascii_case("k3cloud") => op,
        _ => {
            return (
                StatusCode::NOT_FOUND,
                format!("no K3Cloud service at {}", uri.path()),
            )
                .into_response();
        }
    };
    let call = match normalise(op, &body) {
        Ok(call) => call,
        Err(error) => {
            debug!(operation = op.name(), %error, "request body rejected");
            shared.stats().record(op.name(), Outcome::BadRequest);
            let reply = failure(
                msg_code::BAD_PARAMETER,
                None,
                &format!("请求数据包无效：{error}"),
            );
            return json_reply(op, reply, None, false);
        }
    };

    let models = batch_model_count(op, &call);
    let (delay, pre_fault) = {
        let mut faults = shared.faults();
        (faults.latency(models), faults.pre_fault())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match pre_fault {
        PreFault::None => {}
        PreFault::Http5xx => {
            debug!(operation = op.name(), "injected http 500");
            shared.stats().record(op.name(), Outcome::FaultHttp5xx);
            return (StatusCode::INTERNAL_SERVER_ERROR, "simulated server error").into_response();
        }
        PreFault::Hang(duration) => {
            debug!(operation = op.name(), ?duration, "injected hang");
            shared.stats().record(op.name(), Outcome::FaultHang);
            tokio::time::sleep(duration).await;
            return dropped_connection();
        }
    }

    let mut new_session = None;
    if op.needs_auth() {
        match authenticate(&shared, &headers, uri.path()) {
            Auth::Session => {}
            Auth::Opened(session) => new_session = Some(session),
            Auth::UnknownAccount => {
                shared.stats().record(op.name(), Outcome::PassportRejected);
                return (StatusCode::INTERNAL_SERVER_ERROR, PASSPORT_FAILURE).into_response();
            }
            Auth::Lost => {
                debug!(
                    operation = op.name(),
                    "no live session and no valid signature"
                );
                shared.stats().record(op.name(), Outcome::SessionLost);
                return json_reply(op, session_lost(), None, call.async_task);
            }
        }
    }

    if op.is_write() && shared.faults().network_conflict() {
        debug!(operation = op.name(), "injected network control conflict");
        shared
            .stats()
            .record(op.name(), Outcome::FaultNetworkConflict);
        let reply = failure(msg_code::NETWORK_CONFLICT, None, NETWORK_CONFLICT_MESSAGE);
        return json_reply(op, reply, new_session, call.async_task);
    }

    let (reply, outcome, wrote, login_session) = if op.needs_auth() {
        let executed = operations::execute(&shared, op, &call);
        (executed.reply, executed.outcome, executed.wrote, None)
    } else {
        let (reply, outcome, session) = account_service(&shared, op, &call, &headers);
        (reply, outcome, false, session)
    };

    if wrote && let Some(mode) = shared.faults().lost_reply() {
        shared.stats().record(op.name(), Outcome::FaultLostReply);
        debug!(operation = op.name(), "reply lost after processing");
        return match mode {
            LostReplyMode::Drop => dropped_connection(),
            LostReplyMode::Status5xx => (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response(),
        };
    }
    shared.stats().record(op.name(), outcome);
    json_reply(op, reply, new_session.or(login_session), call.async_task)
}

/// Handles the services that need no session: logins, logout, data centers.
fn account_service(
    shared: &Shared,
    op: Operation,
    call: &Call,
    headers: &HeaderMap,
) -> (Value, Outcome, Option<NewSession>) {
    match op {
        Operation::GetDataCenterList => (
            data_center_list(&shared.credentials),
            Outcome::Success,
            None,
        ),
        Operation::Logout => {
            let closed = session_id(headers).is_some_and(|id| shared.sessions().close(&id));
            (Value::Bool(closed), Outcome::Success, None)
        }
        _ => match check_login(op, &call.args, &shared.credentials) {
            LoginCheck::Accepted { lcid } => {
                let session = open_session(shared);
                let reply = login_success(&shared.credentials, &session, lcid);
                (reply, Outcome::Success, Some(session))
            }
            LoginCheck::Refused(result_type, message) => {
                debug!(operation = op.name(), %message, "login rejected");
                (
                    login_failure(result_type, &message),
                    Outcome::BusinessError,
                    None,
                )
            }
        },
    }
}

fn session_timeouts(shared: &Shared) -> (Duration, Duration) {
    let faults = shared.faults();
    (
        Duration::from_millis(faults.settings.session_idle_ms),
        Duration::from_millis(faults.settings.expire_sessions_every_ms),
    )
}

fn open_session(shared: &Shared) -> NewSession {
    let (idle, every) = session_timeouts(shared);
    let session = shared.sessions().open(Instant::now(), idle, every);
    shared.stats().sessions_opened += 1;
    session
}

fn authenticate(shared: &Shared, headers: &HeaderMap, path: &str) -> Auth {
    let (idle, every) = session_timeouts(shared);
    if let Some(id) = session_id(headers)
        && shared.sessions().touch(&id, Instant::now(), idle, every)
    {
        return Auth::Session;
    }
    match check_signature(headers, path, &shared.credentials) {
        SignatureCheck::Valid => Auth::Opened(open_session(shared)),
        SignatureCheck::UnknownAccount => {
            warn!("signature names an unknown account set");
            Auth::UnknownAccount
        }
        SignatureCheck::Rejected(reason) => {
            debug!(reason, "signature rejected");
            Auth::Lost
        }
        SignatureCheck::Absent => Auth::Lost,
    }
}

/// Models in a BatchSave body, for the per-model latency.
fn batch_model_count(op: Operation, call: &Call) -> usize {
    if op != Operation::BatchSave {
        return 0;
    }
    match call.arg(1) {
        Value::Object(data) => match get_ci(data, "Model") {
            Some(Value::Array(models)) => models.len(),
            Some(_) => 1,
            None => 0,
        },
        _ => 0,
    }
}

fn json_reply(
    op: Operation,
    reply: Value,
    session: Option<NewSession>,
    async_task: bool,
) -> Response {
    let is_error = reply
        .pointer("/Result/ResponseStatus/IsSuccess")
        .is_some_and(|flag| flag == &Value::Bool(false));
    let reply = if op.wraps_errors() && is_error {
        wrap_query_error(reply)
    } else {
        reply
    };
    let reply = if async_task {
        json!({"TaskId": uuid::Uuid::new_v4().to_string(), "Status": 2, "Result": reply})
    } else {
        reply
    };
    let mut response = (
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        reply.to_string(),
    )
        .into_response();
    if let Some(session) = session {
        for cookie in session.set_cookie_headers() {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
    }
    response
}

/// Builds a reply whose body stream fails, so the server aborts the connection before
/// the reply is complete.
fn dropped_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "simulated lost reply",
        ))
    });
    (
        [(CONTENT_TYPE, "application/json; charset=utf-8")],
        Body::from_stream(failing),
    )
        .into_response()
}
