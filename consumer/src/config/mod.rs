//! The `[consumer]` configuration section: who this consumer is, how it batches and
//! retries K3Cloud writes, the optional DingTalk write-back, and its operations
//! endpoint.
//!
//! [`RawConsumerConfig`] is what the TOML file and `DINGK3_CONSUMER__…` variables give,
//! with a default for every key. [`RawConsumerConfig::validate`] checks it into
//! [`ConsumerSettings`] or a [`ConfigError`] whose key is relative to the section; the
//! caller adds `consumer.` with [`ConfigError::within`].

mod rules;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

use dingk3::config::ConfigError;
use serde::Deserialize;

pub use dingk3::telemetry::{LogSettings, RawLogConfig};

/// Default text of the write-back comment; `{bill_no}` is the K3Cloud bill number.
pub const DEFAULT_WRITE_BACK_TEMPLATE: &str = "已生成金蝶付款单 {bill_no}";

/// Default of `replay_limit`: replays from the dead-letter queue per approval.
pub const DEFAULT_REPLAY_LIMIT: u32 = 5;

/// Default address of `/metrics`, `/healthz` and `/readyz`.
pub const DEFAULT_METRICS_LISTEN: &str = "0.0.0.0:9465";

/// The `[consumer]` section as written, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConsumerConfig {
    /// Name of this consumer in ledger leases, audit events and the broker's consumer
    /// tag. Two consumers must not share one, because a lease is granted again to the
    /// same owner. Empty means `<hostname>-<pid>`.
    pub consumer_id: String,

    /// Maximum number of bills sent in one K3Cloud `BatchSave`.
    pub batch_size: u32,

    /// Milliseconds to wait for more messages before a batch that is not full is sent.
    pub batch_wait_ms: u64,

    /// Batches written to K3Cloud at the same time. The broker prefetch is
    /// `batch_size × concurrent_batches`.
    pub concurrent_batches: u32,

    /// Largest message body accepted, in bytes; larger ones are dead-lettered as invalid.
    pub max_message_bytes: usize,

    /// Retries of a failed K3Cloud call inside one delivery, before the message goes to
    /// a retry queue.
    pub in_process_retries: u32,

    /// Upper bound of the pause between two in-process retries, in milliseconds.
    pub in_process_retry_max_ms: u64,

    /// Adds a comment naming the bill number to the DingTalk approval after a save.
    pub write_back: bool,

    /// Text of the write-back comment; `{bill_no}` and `{business_id}` are replaced.
    pub write_back_template: String,

    /// Seconds between retries of a failed write-back.
    pub write_back_retry_seconds: u64,

    /// Write-back attempts per approval before it is given up and left to an operator.
    pub write_back_max_attempts: u32,

    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub metrics_listen: String,

    /// Seconds between two reads of the dead-letter queue depth for `dingk3_dlq_depth`.
    pub dlq_depth_refresh_seconds: u64,

    /// Seconds allowed after SIGTERM or SIGINT to finish the batches in flight.
    pub shutdown_grace_seconds: u64,

    /// Replays from the dead-letter queue allowed per approval. `consumer dlq replay`
    /// refuses a dead letter that was replayed this often, so an approval that keeps
    /// failing stops coming back and waits for someone to fix its cause.
    pub replay_limit: u32,
}

impl Default for RawConsumerConfig {
    fn default() -> RawConsumerConfig {
        RawConsumerConfig {
            consumer_id: String::new(),
            batch_size: 10,
            batch_wait_ms: 200,
            concurrent_batches: 2,
            max_message_bytes: dingk3::envelope::DEFAULT_MAX_ENVELOPE_BYTES,
            in_process_retries: 2,
            in_process_retry_max_ms: 2_000,
            write_back: false,
            write_back_template: DEFAULT_WRITE_BACK_TEMPLATE.to_string(),
            write_back_retry_seconds: 300,
            write_back_max_attempts: 10,
            metrics_listen: DEFAULT_METRICS_LISTEN.to_string(),
            dlq_depth_refresh_seconds: 30,
            shutdown_grace_seconds: 30,
            replay_limit: DEFAULT_REPLAY_LIMIT,
        }
    }
}

/// The checked `[consumer]` section.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// Lease owner and consumer tag of this process.
    pub consumer_id: String,

    /// Maximum bills per `BatchSave`.
    pub batch_size: usize,

    /// Maximum wait for a batch to fill.
    pub batch_wait: Duration,

    /// Batches in flight at once.
    pub concurrent_batches: usize,

    /// Largest accepted message body, in bytes.
    pub max_message_bytes: usize,

    /// In-process retries of a failed K3Cloud call.
    pub in_process_retries: u32,

    /// Upper bound of one in-process retry pause.
    pub in_process_retry_max: Duration,

    /// Whether saved bills are written back to DingTalk as comments.
    pub write_back: bool,

    /// Comment text with `{bill_no}` and `{business_id}` placeholders.
    pub write_back_template: String,

    /// Pause before a failed write-back is tried again.
    pub write_back_retry: Duration,

    /// Attempts per approval before a write-back is given up.
    pub write_back_max_attempts: u32,

    /// Address of the operations endpoint.
    pub metrics_listen: SocketAddr,

    /// Interval of the dead-letter queue depth reading.
    pub dlq_depth_refresh: Duration,

    /// Time allowed to finish work in flight at shutdown.
    pub shutdown_grace: Duration,

    /// Replays from the dead-letter queue allowed per approval.
    pub replay_limit: u32,
}

impl ConsumerSettings {
    /// Returns the broker prefetch: every batch that may be in flight, full.
    pub fn prefetch(&self) -> u16 {
        // Validation bounds both factors, so the product fits.
        u16::try_from(self.batch_size * self.concurrent_batches).unwrap_or(u16::MAX)
    }

    /// Renders the write-back comment of a saved bill.
    pub fn write_back_text(&self, bill_no: &str, business_id: &str) -> String {
        self.write_back_template
            .replace("{bill_no}", bill_no)
            .replace("{business_id}", business_id)
    }
}

impl RawConsumerConfig {
    /// Checks every key and returns the settings, or the first invalid key.
    pub fn validate(&self) -> Result<ConsumerSettings, ConfigError> {
        let consumer_id = rules::consumer_id(&self.consumer_id)?;
        let batch_size = rules::in_range("batch_size", self.batch_size, 1, rules::MAX_BATCH_SIZE)?;
        let batch_wait_ms = rules::in_range(
            "batch_wait_ms",
            self.batch_wait_ms,
            0,
            rules::MAX_BATCH_WAIT_MS,
        )?;
        let concurrent_batches = rules::in_range(
            "concurrent_batches",
            self.concurrent_batches,
            1,
            rules::MAX_CONCURRENT_BATCHES,
        )?;
        let max_message_bytes = rules::in_range(
            "max_message_bytes",
            self.max_message_bytes,
            rules::MIN_MESSAGE_BYTES,
            rules::MAX_MESSAGE_BYTES,
        )?;
        let (in_process_retries, in_process_retry_max_ms) =
            rules::in_process_retries(self.in_process_retries, self.in_process_retry_max_ms)?;
        let write_back_template = rules::write_back_template(&self.write_back_template)?;
        let write_back_retry_seconds = rules::in_range(
            "write_back_retry_seconds",
            self.write_back_retry_seconds,
            1,
            rules::MAX_WRITE_BACK_RETRY_SECONDS,
        )?;
        let write_back_max_attempts = rules::in_range(
            "write_back_max_attempts",
            self.write_back_max_attempts,
            1,
            rules::MAX_WRITE_BACK_ATTEMPTS,
        )?;
        let metrics_listen = rules::socket_address("metrics_listen", &self.metrics_listen)?;
        let dlq_depth_refresh_seconds = rules::in_range(
            "dlq_depth_refresh_seconds",
            self.dlq_depth_refresh_seconds,
            1,
            rules::MAX_DLQ_DEPTH_REFRESH_SECONDS,
        )?;
        let shutdown_grace_seconds = rules::in_range(
            "shutdown_grace_seconds",
            self.shutdown_grace_seconds,
            1,
            rules::MAX_SHUTDOWN_GRACE_SECONDS,
        )?;
        let replay_limit = rules::in_range(
            "replay_limit",
            self.replay_limit,
            1,
            rules::MAX_REPLAY_LIMIT,
        )?;

        Ok(ConsumerSettings {
            consumer_id,
            batch_size: batch_size as usize,
            batch_wait: Duration::from_millis(batch_wait_ms),
            concurrent_batches: concurrent_batches as usize,
            max_message_bytes,
            in_process_retries,
            in_process_retry_max: Duration::from_millis(in_process_retry_max_ms),
            write_back: self.write_back,
            write_back_template,
            write_back_retry: Duration::from_secs(write_back_retry_seconds),
            write_back_max_attempts,
            metrics_listen,
            dlq_depth_refresh: Duration::from_secs(dlq_depth_refresh_seconds),
            shutdown_grace: Duration::from_secs(shutdown_grace_seconds),
            replay_limit,
        })
    }
}
