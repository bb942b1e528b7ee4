//! Admin endpoints under `/__sim/`: inspection and runtime control for tests and demos.
//!
//! | method and path | purpose |
//! |---|---|
//! | `GET /__sim/bills` | saved bills as a JSON array (the `View` shape) |
//! | `GET /__sim/bills/{number}` | one saved bill, 404 if absent |
//! | `GET /__sim/stats` | calls per operation and outcome, model, bill and session counts |
//! | `POST /__sim/reset` | drop bills, sessions and counters; restore start-up base data and faults |
//! | `GET /__sim/base-data` | base data in the `--base-data` file format |
//! | `POST /__sim/base-data` | add or replace records (same format) |
//! | `PUT /__sim/base-data` | replace all base data |
//! | `GET /__sim/faults` | fault settings and seed |
//! | `PUT /__sim/faults` | change the settings named in the JSON body; `seed` restarts the generator |
//! | `POST /__sim/sessions/expire` | end every session now |

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tracing::info;

use crate::k3cloud::base_data::BaseData;
use crate::k3cloud::state::Shared;
use crate::k3cloud::view::render_bill;

/// Builds the admin routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__sim/bills", get(list_bills))
        .route("/__sim/bills/{number}", get(one_bill))
        .route("/__sim/stats", get(stats))
        .route("/__sim/reset", post(reset))
        .route(
            "/__sim/base-data",
            get(base_data).post(add_base_data).put(replace_base_data),
        )
        .route("/__sim/faults", get(faults).put(set_faults))
        .route("/__sim/sessions/expire", post(expire_sessions))
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": message.into()})),
    )
        .into_response()
}

fn parse_body(body: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|error| format!("body is not JSON: {error}"))
}

fn parse_base_data(body: &str) -> Result<BaseData, String> {
    let value = parse_body(body)?;
    BaseData::from_json(&value).map_err(|error| error.to_string())
}

async fn list_bills(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let bills: Vec<Value> = shared.bills().iter().map(render_bill).collect();
    Json(Value::Array(bills))
}

async fn one_bill(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    match shared.bills().find_number(&number) {
        Some(bill) => Json(render_bill(bill)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no bill with number {number}")})),
        )
            .into_response(),
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let stats = shared.stats().clone();
    let bills = shared.bills().len();
    let sessions = shared.sessions().len();
    Json(json!({
        "calls": stats.calls,
        "models_saved": stats.models_saved,
        "models_rejected": stats.models_rejected,
        "sessions_opened": stats.sessions_opened,
        "bills": bills,
        "sessions": sessions,
    }))
}

async fn reset(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.reset();
    info!("simulator state reset");
    Json(json!({"reset": true}))
}

async fn base_data(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(shared.base_data().to_json())
}

async fn add_base_data(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let records = match parse_base_data(&body) {
        Ok(records) => records,
        Err(message) => return bad_request(message),
    };
    let mut data = shared.base_data_mut();
    data.merge(&records);
    info!(
        added = records.len(),
        total = data.len(),
        "base data extended"
    );
    Json(json!({"records": data.len()})).into_response()
}

async fn replace_base_data(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let records = match parse_base_data(&body) {
        Ok(records) => records,
        Err(message) => return bad_request(message),
    };
    let total = records.len();
    *shared.base_data_mut() = records;
    info!(total, "base data replaced");
    Json(json!({"records": total})).into_response()
}

fn faults_json(shared: &Shared) -> Value {
    let faults = shared.faults();
    let mut value = serde_json::to_value(&faults.settings).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("seed".to_string(), json!(faults.seed));
    }
    value
}

async fn faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(faults_json(&shared))
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let mut patch = match parse_body(&body) {
        Ok(Value::Object(patch)) => patch,
        Ok(_) => return bad_request("body must be a JSON object of fault settings"),
        Err(message) => return bad_request(message),
    };
    let seed = match patch.remove("seed") {
        None => None,
        Some(value) => match value.as_u64() {
            Some(seed) => Some(seed),
            None => return bad_request("seed must be a non-negative integer"),
        },
    };
    {
        let mut faults = shared.faults();
        match faults.settings.patched(&patch) {
            Ok(settings) => faults.settings = settings,
            Err(message) => return bad_request(message),
        }
        if let Some(seed) = seed {
            faults.reseed(seed);
        }
        info!(settings = ?faults.settings, seed = faults.seed, "fault settings changed");
    }
    Json(faults_json(&shared)).into_response()
}

async fn expire_sessions(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let mut sessions = shared.sessions();
    let expired = sessions.len();
    sessions.expire_all();
    info!(expired, "sessions expired");
    Json(json!({"expired": expired}))
}
