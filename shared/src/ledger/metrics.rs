//! Prometheus metrics of the ledger, registered in the default registry that the
//! `/metrics` endpoint serves.
//!
//! `dingk3_ledger_operations_total{operation,outcome}` counts every public operation.
//! The outcome is `ok` or `error`, except for claims, which report how the claim
//! ended (`claimed`, `already_saved`, `held_by_other`, `terminal`), because a rising
//! share of `held_by_other` shows consumers competing for the same messages.
//! `dingk3_ledger_operation_duration_seconds{operation}` times each operation.

use std::sync::LazyLock;
use std::time::Instant;

use prometheus::{HistogramVec, IntCounterVec, register_histogram_vec, register_int_counter_vec};

static OPERATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_ledger_operations_total",
        "Ledger operations by operation and outcome.",
        &["operation", "outcome"]
    )
    .expect("dingk3_ledger_operations_total is registered once")
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "dingk3_ledger_operation_duration_seconds",
        "Duration of ledger operations, including waiting for a pooled connection.",
        &["operation"],
        vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0
        ]
    )
    .expect("dingk3_ledger_operation_duration_seconds is registered once")
});

/// Counts one finished operation and records its duration.
pub(crate) fn observe(operation: &'static str, outcome: &str, started: Instant) {
    OPERATIONS.with_label_values(&[operation, outcome]).inc();
    DURATION
        .with_label_values(&[operation])
        .observe(started.elapsed().as_secs_f64());
}

/// Counts a result whose success needs no finer outcome.
pub(crate) fn observe_result<T, E>(
    operation: &'static str,
    started: Instant,
    result: &Result<T, E>,
) {
    let outcome = if result.is_ok() { "ok" } else { "error" };
    observe(operation, outcome, started);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observe_counts_by_outcome() {
        let before = OPERATIONS.with_label_values(&["unit_test", "ok"]).get();
        observe_result::<(), ()>("unit_test", Instant::now(), &Ok(()));
        let after = OPERATIONS.with_label_values(&["unit_test", "ok"]).get();
        assert_eq!(after, before + 1, "one ok outcome must be counted");
    }
}
