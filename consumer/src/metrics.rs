//! Prometheus metrics of the consumer, registered in the default registry that the
//! `/metrics` endpoint serves.
//!
//! Every failure counted here is also logged with the same label value, so a spike on a
//! dashboard leads to the matching log lines.

use std::sync::LazyLock;

use prometheus::{
    Histogram, IntCounterVec, IntGauge, register_histogram, register_int_counter_vec,
    register_int_gauge,
};

/// Messages settled, by how they ended: `saved`, `duplicate`, `rejected`, `mapping`,
/// `invalid_message`, `retried`, `exhausted`, or `requeued` when the message went back
/// to the queue because a publish or a ledger write failed.
pub static MESSAGES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_consumer_messages_total",
        "Messages settled by the consumer, by outcome.",
        &["outcome"]
    )
    .expect("dingk3_consumer_messages_total is registered once")
});

/// Messages per batch handed to one worker task.
pub static BATCH_SIZE: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "dingk3_consumer_batch_size",
        "Messages per consumer batch.",
        vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    )
    .expect("dingk3_consumer_batch_size is registered once")
});

/// Messages published to a retry queue, by tier label (`10s`, `1m`, …).
pub static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_consumer_retries_total",
        "Messages sent to a retry queue, by tier.",
        &["tier"]
    )
    .expect("dingk3_consumer_retries_total is registered once")
});

/// Messages in the dead-letter queue at the last reading; -1 until the first reading.
pub static DLQ_DEPTH: LazyLock<IntGauge> = LazyLock::new(|| {
    let gauge = register_int_gauge!(
        "dingk3_dlq_depth",
        "Messages in the dead-letter queue at the last reading."
    )
    .expect("dingk3_dlq_depth is registered once");
    gauge.set(-1);
    gauge
});

/// Write-back comments, by outcome: `ok`, `failed` (retried later) or `abandoned`
/// (attempts used up).
pub static WRITE_BACKS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_consumer_write_back_total",
        "DingTalk write-back comments, by outcome.",
        &["outcome"]
    )
    .expect("dingk3_consumer_write_back_total is registered once")
});

/// Failures of a whole K3Cloud call or a ledger operation while writing a batch, by
/// kind: `transient`, `session_lost`, `unknown_outcome`, `configuration`, `ledger`.
pub static WRITE_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_consumer_write_failures_total",
        "Failed K3Cloud calls and ledger operations while writing bills, by kind.",
        &["kind"]
    )
    .expect("dingk3_consumer_write_failures_total is registered once")
});

/// Failed readings of the dead-letter queue depth.
pub static DLQ_DEPTH_FAILURES: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "dingk3_consumer_dlq_depth_failures_total",
        "Failed readings of the dead-letter queue depth."
    )
    .expect("dingk3_consumer_dlq_depth_failures_total is registered once")
});

/// Counts a settled message.
pub fn count_message(outcome: &str) {
    MESSAGES.with_label_values(&[outcome]).inc();
}
