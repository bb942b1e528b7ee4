use super::*;

fn error_key(raw: RawProducerConfig) -> String {
    match raw.validate() {
        Ok(settings) => panic!("expected a configuration error, got {settings:?}"),
        Err(error) => error.key,
    }
}

#[test]
fn defaults_validate() {
    let settings = RawProducerConfig::default().validate().unwrap();
    assert_eq!(settings.poll_interval, Duration::from_secs(1800));
    assert_eq!(settings.overlap, TimeDelta::minutes(60));
    assert_eq!(settings.initial_lookback, TimeDelta::days(60));
    assert_eq!(settings.pending_recheck, Duration::from_secs(1800));
    assert_eq!(settings.fetch_concurrency, 4);
    assert_eq!(settings.publish_batch_size, 50);
    assert_eq!(settings.metrics_listen.to_string(), "0.0.0.0:9464");
    assert_eq!(settings.leader_retry, Duration::from_secs(5));
    assert_eq!(settings.quota_pause, Duration::from_secs(3600));
    assert_eq!(settings.shutdown_grace, Duration::from_secs(30));
}

#[test]
fn poll_interval_zero_rejected() {
    let raw = RawProducerConfig {
        poll_interval_seconds: 0,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "poll_interval_seconds");
}

#[test]
fn overlap_zero_rejected() {
    let raw = RawProducerConfig {
        overlap_minutes: 0,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "overlap_minutes");
}

#[test]
fn initial_lookback_beyond_five_years_rejected() {
    let raw = RawProducerConfig {
        initial_lookback_days: 1826,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "initial_lookback_days");
}

#[test]
fn pending_recheck_zero_accepted() {
    let raw = RawProducerConfig {
        pending_recheck_seconds: 0,
        ..RawProducerConfig::default()
    };
    let settings = raw.validate().unwrap();
    assert_eq!(
        settings.pending_recheck,
        Duration::ZERO,
        "0 means every poll fetches running approvals again"
    );
}

#[test]
fn pending_recheck_beyond_week_rejected() {
    let raw = RawProducerConfig {
        pending_recheck_seconds: 604_801,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "pending_recheck_seconds");
}

#[test]
fn fetch_concurrency_above_api_limit_rejected() {
    let raw = RawProducerConfig {
        fetch_concurrency: 21,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "fetch_concurrency");
}

#[test]
fn publish_batch_size_zero_rejected() {
    let raw = RawProducerConfig {
        publish_batch_size: 0,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "publish_batch_size");
}

#[test]
fn metrics_listen_without_port_rejected() {
    let raw = RawProducerConfig {
        metrics_listen: "0.0.0.0".to_string(),
        ..RawProducerConfig::default()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "metrics_listen");
    assert!(
        error.problem.en.contains("0.0.0.0:9464"),
        "the message shows the expected form: {}",
        error.problem.en
    );
}

#[test]
fn leader_retry_zero_rejected() {
    let raw = RawProducerConfig {
        leader_retry_seconds: 0,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "leader_retry_seconds");
}

#[test]
fn quota_pause_zero_rejected() {
    let raw = RawProducerConfig {
        quota_pause_minutes: 0,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "quota_pause_minutes");
}

#[test]
fn shutdown_grace_zero_rejected() {
    let raw = RawProducerConfig {
        shutdown_grace_seconds: 0,
        ..RawProducerConfig::default()
    };
    assert_eq!(error_key(raw), "shutdown_grace_seconds");
}

#[test]
fn range_error_speaks_both_languages() {
    let raw = RawProducerConfig {
        fetch_concurrency: 0,
        ..RawProducerConfig::default()
    };
    let error = raw.validate().unwrap_err();
    assert!(
        error.problem.en.contains("from 1 to 20"),
        "English names the range: {}",
        error.problem.en
    );
    assert!(
        error.problem.zh.contains("1 到 20"),
        "Chinese names the range: {}",
        error.problem.zh
    );
}
