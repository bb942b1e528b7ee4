//! Prometheus metrics of the producer, registered in the default registry and served
//! on `/metrics`.
//!
//! Every failure counted here is also logged with the same labels, so a spike on a
//! dashboard can be matched to log lines.

use std::sync::LazyLock;

use prometheus::{
    HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, register_histogram_vec,
    register_int_counter_vec, register_int_gauge, register_int_gauge_vec,
};

/// Polls by process code and outcome (`complete`, `incomplete`, `throttled`,
/// `quota_exhausted`, `configuration`, `failed`, `interrupted`).
pub static POLLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_producer_polls_total",
        "Polls of one process code, by outcome.",
        &["process_code", "outcome"]
    )
    .expect("dingk3_producer_polls_total is registered once")
});

/// Fetched instances by process code and DingTalk state (`approved`, `running`,
/// `refused`, `terminated`, `canceled`, `not_found`, `other`).
pub static INSTANCES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_producer_instances_total",
        "Approval instances fetched, by the state DingTalk reported.",
        &["process_code", "status"]
    )
    .expect("dingk3_producer_instances_total is registered once")
});

/// Approvals whose publish the broker confirmed.
pub static PUBLISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_producer_published_total",
        "Approvals published and confirmed by the broker.",
        &["process_code"]
    )
    .expect("dingk3_producer_published_total is registered once")
});

/// Publishes that failed, by reason (`returned`, `nacked`, `timeout`, `channel`,
/// `ledger`); the instance stays pending and the next poll publishes it.
pub static PUBLISH_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_producer_publish_failures_total",
        "Approvals whose publish failed; they stay pending for the next poll.",
        &["process_code", "reason"]
    )
    .expect("dingk3_producer_publish_failures_total is registered once")
});

/// DingTalk and ledger errors of a poll, by kind (the DingTalk error kind, or
/// `ledger`).
pub static POLL_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_producer_poll_errors_total",
        "Listing, fetch and ledger errors during polls, by kind.",
        &["process_code", "kind"]
    )
    .expect("dingk3_producer_poll_errors_total is registered once")
});

/// Approved instances that were modified or revoked after approval; their bill may
/// need a manual correction in K3Cloud.
pub static CHANGED_AFTER_APPROVAL: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_producer_changed_after_approval_total",
        "Approved instances with attached (modifying or revoking) instances.",
        &["process_code"]
    )
    .expect("dingk3_producer_changed_after_approval_total is registered once")
});

/// Seconds between now and the watermark: how far behind polling is.
pub static LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "dingk3_producer_lag_seconds",
        "Seconds between now and the watermark of the process code.",
        &["process_code"]
    )
    .expect("dingk3_producer_lag_seconds is registered once")
});

/// Duration of one poll of one process code.
pub static POLL_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "dingk3_producer_poll_seconds",
        "Duration of one poll of one process code.",
        &["process_code"],
        vec![
            0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0
        ]
    )
    .expect("dingk3_producer_poll_seconds is registered once")
});

/// 1 while polling is paused because DingTalk's monthly quota is exhausted.
pub static QUOTA_EXHAUSTED: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "dingk3_producer_quota_exhausted",
        "1 while polling is paused because the DingTalk monthly API quota is exhausted."
    )
    .expect("dingk3_producer_quota_exhausted is registered once")
});

/// 1 while this process holds the leader lock and polls.
pub static IS_LEADER: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "dingk3_producer_is_leader",
        "1 while this producer holds the leader lock of its DingTalk app."
    )
    .expect("dingk3_producer_is_leader is registered once")
});
