//! Prometheus metrics of the K3Cloud client, in the default registry.
//!
//! - `dingk3_k3cloud_request_seconds{operation}`: duration of each HTTP exchange,
//!   logins included.
//! - `dingk3_k3cloud_calls_total{operation,outcome}`: finished client calls; `outcome`
//!   is `ok`, `rejected` (K3Cloud refused at least one bill), or the failure kind of
//!   [`CallError::kind_label`](super::error::CallError::kind_label).

use std::sync::LazyLock;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

use super::operation::Operation;

/// Buckets from 50 ms to about 200 s: saves of single bills take well under a second,
/// large batches and slow servers reach the SDK's 120-second default timeout.
const REQUEST_BUCKETS: [f64; 13] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 120.0, 200.0,
];

static REQUEST_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    let opts = HistogramOpts::new(
        "dingk3_k3cloud_request_seconds",
        "Duration of HTTP exchanges with K3Cloud, by operation",
    )
    .buckets(REQUEST_BUCKETS.to_vec());
    let histogram = HistogramVec::new(opts, &["operation"]).expect("metric options are valid");
    register(Box::new(histogram.clone()));
    histogram
});

static CALLS_TOTAL: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let opts = Opts::new(
        "dingk3_k3cloud_calls_total",
        "Finished K3Cloud client calls, by operation and outcome",
    );
    let counter =
        IntCounterVec::new(opts, &["operation", "outcome"]).expect("metric options are valid");
    register(Box::new(counter.clone()));
    counter
});

/// Registers a collector; a name clash is logged and the metric keeps working
/// unexported, because losing metrics must not stop bills from being written.
fn register(collector: Box<dyn prometheus::core::Collector>) {
    if let Err(error) = prometheus::register(collector) {
        tracing::warn!(%error, "k3cloud metric registration failed");
    }
}

/// Records the duration of one HTTP exchange.
pub fn observe_request(operation: Operation, seconds: f64) {
    REQUEST_SECONDS
        .with_label_values(&[operation.label()])
        .observe(seconds);
}

/// Counts one finished client call.
pub fn count_call(operation: Operation, outcome: &str) {
    CALLS_TOTAL
        .with_label_values(&[operation.label(), outcome])
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_in_default_registry() {
        count_call(Operation::Delete, "configuration");
        let families = prometheus::gather();
        let family = families
            .iter()
            .find(|family| family.name() == "dingk3_k3cloud_calls_total")
            .expect("the counter is registered in the default registry");
        let counted = family.get_metric().iter().any(|metric| {
            let labels: Vec<(&str, &str)> = metric
                .get_label()
                .iter()
                .map(|label| (label.name(), label.value()))
                .collect();
            labels.contains(&("operation", "delete"))
                && labels.contains(&("outcome", "configuration"))
        });
        assert!(counted, "a delete/configuration sample exists");
    }
}
