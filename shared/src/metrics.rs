//! The operations endpoint of each binary: `/metrics`, `/healthz`, `/readyz`.
//!
//! Metrics are registered by each module in the `prometheus` crate's default registry
//! and rendered here in the Prometheus text format. Liveness says the process serves
//! requests; readiness says its dependencies (broker, ledger) are connected, so an
//! orchestrator stops routing work to a replica that lost them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, TextEncoder};
use tokio::net::TcpListener;

/// Named readiness conditions of one process, e.g. `broker` and `ledger`.
///
/// A process is ready when every registered condition is true.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    conditions: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl Readiness {
    /// Creates readiness with the given conditions, all initially false.
    pub fn new(names: &[&str]) -> Readiness {
        let readiness = Readiness::default();
        for name in names {
            readiness.set(name, false);
        }
        readiness
    }

    /// Sets one condition.
    pub fn set(&self, name: &str, ready: bool) {
        self.conditions
            .lock()
            .expect("readiness lock is never poisoned: no code panics while holding it")
            .insert(name.to_string(), ready);
    }

    /// Returns whether every condition holds, and the names of those that do not.
    pub fn check(&self) -> (bool, Vec<String>) {
        let conditions = self
            .conditions
            .lock()
            .expect("readiness lock is never poisoned: no code panics while holding it");
        let failing: Vec<String> = conditions
            .iter()
            .filter(|(_, ready)| !**ready)
            .map(|(name, _)| name.clone())
            .collect();
        (failing.is_empty(), failing)
    }
}

/// Builds the router of the operations endpoint.
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
}

/// Binds `addr` and serves the operations endpoint in a background task. Returns the
/// bound address (useful with port 0).
pub async fn serve(addr: SocketAddr, readiness: Readiness) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router(readiness)).await {
            tracing::error!(%error, "operations endpoint stopped");
        }
    });
    Ok(bound)
}

async fn render_metrics() -> impl IntoResponse {
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&prometheus::gather(), &mut body) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, encoder.format_type().to_string())],
            body,
        ),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain".to_string())],
            format!("cannot encode metrics: {error}\n").into_bytes(),
        ),
    }
}

async fn ready(State(readiness): State<Readiness>) -> impl IntoResponse {
    match readiness.check() {
        (true, _) => (StatusCode::OK, "ready\n".to_string()),
        (false, failing) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", failing.join(", ")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_requires_every_condition() {
        let readiness = Readiness::new(&["broker", "ledger"]);
        assert_eq!(
            readiness.check(),
            (false, vec!["broker".to_string(), "ledger".to_string()])
        );
        readiness.set("broker", true);
        assert_eq!(readiness.check(), (false, vec!["ledger".to_string()]));
        readiness.set("ledger", true);
        assert_eq!(readiness.check(), (true, vec![]));
    }

    #[tokio::test]
    async fn serve_answers_health_readiness_and_metrics() {
        let readiness = Readiness::new(&["broker"]);
        let counter =
            prometheus::register_int_counter!("dingk3_test_operations_total", "Test counter.")
                .unwrap();
        counter.inc();
        let addr = serve("127.0.0.1:0".parse().unwrap(), readiness.clone())
            .await
            .unwrap();
        let get = |path: &str| {
            let url = format!("http://{addr}{path}");
            async move {
                let response = reqwest::get(url).await.unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        assert_eq!(get("/healthz").await.0, 200);
        let (status, body) = get("/readyz").await;
        assert_eq!(status, 503);
        assert!(body.contains("broker"), "{body}");
        readiness.set("broker", true);
        assert_eq!(get("/readyz").await.0, 200);
        let (status, body) = get("/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("dingk3_test_operations_total 1"), "{body}");
    }
}
