//! One test per validation rule of the `[consumer]` and `[log]` sections.

use std::time::Duration;

use super::*;

fn error_key(raw: RawConsumerConfig) -> String {
    raw.validate().expect_err("the value must be rejected").key
}

#[test]
fn defaults_are_valid() {
    let settings = RawConsumerConfig::default().validate().unwrap();
    assert_eq!(settings.batch_size, 10);
    assert_eq!(settings.concurrent_batches, 2);
    assert_eq!(settings.prefetch(), 20, "prefetch is batch size × batches");
    assert_eq!(settings.batch_wait, Duration::from_millis(200));
    assert!(!settings.write_back, "write-back is off by default");
    assert_eq!(settings.metrics_listen.port(), 9465);
}

#[test]
fn consumer_id_defaults_to_host_and_pid() {
    let settings = RawConsumerConfig::default().validate().unwrap();
    let suffix = format!("-{}", std::process::id());
    assert!(
        settings.consumer_id.ends_with(&suffix),
        "default id {} ends with the pid",
        settings.consumer_id
    );
}

#[test]
fn consumer_id_rejects_spaces() {
    let raw = RawConsumerConfig {
        consumer_id: "consumer one".to_string(),
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "consumer_id");
}

#[test]
fn consumer_id_rejects_long_values() {
    let raw = RawConsumerConfig {
        consumer_id: "c".repeat(201),
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "consumer_id");
}

#[test]
fn batch_size_must_be_positive() {
    let raw = RawConsumerConfig {
        batch_size: 0,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "batch_size");
}

#[test]
fn batch_size_has_upper_bound() {
    let raw = RawConsumerConfig {
        batch_size: 101,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "batch_size");
}

#[test]
fn batch_wait_has_upper_bound() {
    let raw = RawConsumerConfig {
        batch_wait_ms: 10_001,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "batch_wait_ms");
}

#[test]
fn concurrent_batches_must_be_positive() {
    let raw = RawConsumerConfig {
        concurrent_batches: 0,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "concurrent_batches");
}

#[test]
fn max_message_bytes_has_lower_bound() {
    let raw = RawConsumerConfig {
        max_message_bytes: 100,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "max_message_bytes");
}

#[test]
fn in_process_retries_has_upper_bound() {
    let raw = RawConsumerConfig {
        in_process_retries: 11,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "in_process_retries");
}

#[test]
fn in_process_retry_max_must_be_positive() {
    let raw = RawConsumerConfig {
        in_process_retry_max_ms: 0,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "in_process_retry_max_ms");
}

#[test]
fn in_process_total_wait_is_bounded() {
    let raw = RawConsumerConfig {
        in_process_retries: 5,
        in_process_retry_max_ms: 10_000,
        ..RawConsumerConfig::default()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "in_process_retry_max_ms");
    assert!(
        error.problem.en.contains("retry_tiers"),
        "the message points at the retry queues: {}",
        error.problem.en
    );
}

#[test]
fn write_back_template_needs_bill_no() {
    let raw = RawConsumerConfig {
        write_back_template: "已生成付款单".to_string(),
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "write_back_template");
}

#[test]
fn write_back_template_rejects_unknown_placeholder() {
    let raw = RawConsumerConfig {
        write_back_template: "{bill_no} {amount}".to_string(),
        ..RawConsumerConfig::default()
    };
    let error = raw.validate().unwrap_err();
    assert_eq!(error.key, "write_back_template");
    assert!(
        error.problem.en.contains("{amount}"),
        "{}",
        error.problem.en
    );
}

#[test]
fn write_back_template_has_length_limit() {
    let raw = RawConsumerConfig {
        write_back_template: format!("{{bill_no}}{}", "字".repeat(1024)),
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "write_back_template");
}

#[test]
fn write_back_text_fills_placeholders() {
    let raw = RawConsumerConfig {
        write_back_template: "{business_id} → {bill_no}".to_string(),
        ..RawConsumerConfig::default()
    };
    let settings = raw.validate().unwrap();
    assert_eq!(
        settings.write_back_text("DD-1", "2026"),
        "2026 → DD-1",
        "both placeholders are replaced"
    );
}

#[test]
fn write_back_retry_must_be_positive() {
    let raw = RawConsumerConfig {
        write_back_retry_seconds: 0,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "write_back_retry_seconds");
}

#[test]
fn write_back_max_attempts_must_be_positive() {
    let raw = RawConsumerConfig {
        write_back_max_attempts: 0,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "write_back_max_attempts");
}

#[test]
fn metrics_listen_must_be_address() {
    let raw = RawConsumerConfig {
        metrics_listen: "localhost".to_string(),
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "metrics_listen");
}

#[test]
fn dlq_depth_refresh_must_be_positive() {
    let raw = RawConsumerConfig {
        dlq_depth_refresh_seconds: 0,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "dlq_depth_refresh_seconds");
}

#[test]
fn shutdown_grace_has_upper_bound() {
    let raw = RawConsumerConfig {
        shutdown_grace_seconds: 601,
        ..RawConsumerConfig::default()
    };
    assert_eq!(error_key(raw), "shutdown_grace_seconds");
}

#[test]
fn unknown_key_is_rejected() {
    let source = dingk3::config::ConfigSource::from_toml_str("[consumer]\nbatch = 5\n").unwrap();
    let error = source.section::<RawConsumerConfig>("consumer").unwrap_err();
    assert_eq!(error.key, "consumer.batch");
}
