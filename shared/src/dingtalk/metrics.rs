//! Prometheus metrics of the DingTalk client, registered in the default registry that
//! the `/metrics` endpoint serves.
//!
//! `dingk3_dingtalk_calls_total{api,outcome}` counts every HTTP exchange (each retry is
//! one more), with `outcome` one of `ok`, `throttled`, `quota_exhausted`,
//! `token_invalid`, `permission_denied`, `configuration`, `not_found`, `transient`,
//! `rejected`. `dingk3_dingtalk_request_seconds{api}` times each exchange, and
//! `dingk3_dingtalk_throttled_total{api}` counts throttled replies, so that a rising rate
//! shows `rate_limit_per_second` is too high for the organisation.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{HistogramVec, IntCounterVec, register_histogram_vec, register_int_counter_vec};

static CALLS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_dingtalk_calls_total",
        "DingTalk HTTP calls by API path and outcome.",
        &["api", "outcome"]
    )
    .expect("dingk3_dingtalk_calls_total is registered once")
});

static REQUEST_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "dingk3_dingtalk_request_seconds",
        "Duration of DingTalk HTTP calls, excluding the wait for the rate limiter.",
        &["api"],
        vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]
    )
    .expect("dingk3_dingtalk_request_seconds is registered once")
});

static THROTTLED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "dingk3_dingtalk_throttled_total",
        "DingTalk replies that meant throttling, by API path.",
        &["api"]
    )
    .expect("dingk3_dingtalk_throttled_total is registered once")
});

/// Records one finished HTTP exchange.
pub(crate) fn observe_call(api: &'static str, outcome: &'static str, elapsed: Duration) {
    CALLS.with_label_values(&[api, outcome]).inc();
    REQUEST_SECONDS
        .with_label_values(&[api])
        .observe(elapsed.as_secs_f64());
    if outcome == "throttled" {
        THROTTLED.with_label_values(&[api]).inc();
    }
}

/// Returns the current count of `dingk3_dingtalk_calls_total{api,outcome}`.
pub fn calls_total(api: &str, outcome: &str) -> u64 {
    CALLS.with_label_values(&[api, outcome]).get()
}

/// Returns the current count of `dingk3_dingtalk_throttled_total{api}`.
pub fn throttled_total(api: &str) -> u64 {
    THROTTLED.with_label_values(&[api]).get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_call_counts_twice() {
        let api = "unit-test/throttled";
        let (calls, throttled) = (calls_total(api, "throttled"), throttled_total(api));
        observe_call(api, "throttled", Duration::from_millis(3));
        assert_eq!(
            calls_total(api, "throttled"),
            calls + 1,
            "the call is counted"
        );
        assert_eq!(
            throttled_total(api),
            throttled + 1,
            "the throttling is counted"
        );
    }
}
