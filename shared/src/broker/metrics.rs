//! Prometheus metrics of the broker layer, registered in the default registry.
//!
//! Every failure counted here is also logged with the same labels, so a spike on a
//! dashboard can be matched to log lines.

use std::sync::LazyLock;

use prometheus::{IntCounterVec, IntGaugeVec, register_int_counter_vec, register_int_gauge_vec};

/// Connections re-established after a loss, by lapin's recovery or by a rebuild.
pub static RECONNECTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_broker_reconnects_total",
        "Broker connections re-established after a loss.",
        &["role"]
    )
    .expect("dingk3_broker_reconnects_total is registered once")
});

/// 1 while the role's broker connection is usable, else 0; mirrors `/readyz`.
pub static CONNECTED: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "dingk3_broker_connected",
        "1 while the broker connection is usable, else 0.",
        &["role"]
    )
    .expect("dingk3_broker_connected is registered once")
});

/// Acks and rejects that lapin could not send because their channel was closed or
/// recovered; the broker redelivers those messages.
pub static ACKS_LOST: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_broker_acks_lost_total",
        "Acks and rejects not sent because the channel was closed or recovered.",
        &["action"]
    )
    .expect("dingk3_broker_acks_lost_total is registered once")
});

/// Publishes that did not end in a plain broker ack, by reason
/// (`nacked`, `returned`, `timeout`, `channel`).
pub static PUBLISH_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_broker_publish_failures_total",
        "Publishes that were nacked, returned, timed out or failed on the channel.",
        &["reason"]
    )
    .expect("dingk3_broker_publish_failures_total is registered once")
});

/// 1 while this process holds the producer leader lock of an app, else 0.
pub static LEADER: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "dingk3_broker_leader",
        "1 while this process holds the producer leader lock of the app.",
        &["app_key"]
    )
    .expect("dingk3_broker_leader is registered once")
});
