//! The `[producer]` configuration section: how often DingTalk is polled, how far the
//! poll window reaches, how fast details are fetched, how approvals are published, and
//! how the process behaves around leadership, quota exhaustion and shutdown.
//!
//! [`RawProducerConfig`] is what the TOML file and the `DINGK3_PRODUCER__…` environment
//! supply; [`RawProducerConfig::validate`] turns it into [`ProducerSettings`] or a
//! [`ConfigError`] whose key is relative to the section.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::TimeDelta;
use dingk3::config::ConfigError;
use dingk3::text;
use serde::Deserialize;

/// Default address of `/metrics`, `/healthz` and `/readyz`.
pub const DEFAULT_METRICS_LISTEN: &str = "0.0.0.0:9464";

/// The `[producer]` section as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawProducerConfig {
    /// Seconds between two polls.
    ///
    /// Each poll of one route costs at least one listing call per 120-day slice of its
    /// window, one more listing call per 20 ids, and one detail call per new or
    /// re-checked instance. Token calls are exempt from DingTalk's quotas. DingTalk's
    /// standard edition allows 5,000 non-exempt calls a month; a 30-day month has
    /// 2,592,000 seconds, so the default of 1800 makes 1,440 polls a month per route and
    /// leaves about 3,500 calls for further pages and details. Paid editions have no
    /// monthly cap and can poll every 60–300 seconds.
    pub poll_interval_seconds: u64,

    /// Minutes by which each poll window reaches back before the previous window's end,
    /// so an instance that DingTalk lists a little late is still seen.
    pub overlap_minutes: u64,

    /// Days the first poll window reaches back when no watermark exists yet. Claims
    /// created earlier are found only with `producer backfill`.
    pub initial_lookback_days: u32,

    /// Minimum seconds between two detail fetches of a still-running instance, which
    /// saves DingTalk calls while an approval waits; 0 fetches it at every poll. An
    /// approval seen running is therefore published up to this long, plus one poll
    /// interval, after it was approved.
    pub pending_recheck_seconds: u64,

    /// Detail fetches in flight at once; DingTalk's own pacing
    /// (`dingtalk.rate_limit_per_second`) still applies.
    pub fetch_concurrency: usize,

    /// Messages published before waiting for the broker's confirms.
    pub publish_batch_size: usize,

    /// Address of `/metrics`, `/healthz` and `/readyz`.
    pub metrics_listen: String,

    /// Seconds a standby producer waits between two attempts to take the leader lock,
    /// which bounds how long a takeover takes after the leader dies.
    pub leader_retry_seconds: u64,

    /// Minutes polling stops after DingTalk reports the monthly API quota exhausted.
    pub quota_pause_minutes: u64,

    /// Seconds allowed after SIGTERM or SIGINT for the batch in flight to finish before
    /// the process exits anyway.
    pub shutdown_grace_seconds: u64,
}

impl Default for RawProducerConfig {
    fn default() -> RawProducerConfig {
        RawProducerConfig {
            poll_interval_seconds: 1800,
            overlap_minutes: 60,
            initial_lookback_days: 60,
            pending_recheck_seconds: 1800,
            fetch_concurrency: 4,
            publish_batch_size: 50,
            metrics_listen: DEFAULT_METRICS_LISTEN.to_string(),
            leader_retry_seconds: 5,
            quota_pause_minutes: 60,
            shutdown_grace_seconds: 30,
        }
    }
}

/// The checked `[producer]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSettings {
    /// Pause between two polls.
    pub poll_interval: Duration,
    /// Reach of each window before the previous window's end.
    pub overlap: TimeDelta,
    /// Reach of the first window.
    pub initial_lookback: TimeDelta,
    /// Minimum pause between two fetches of one running instance.
    pub pending_recheck: Duration,
    /// Detail fetches in flight at once.
    pub fetch_concurrency: usize,
    /// Messages per confirmed batch.
    pub publish_batch_size: usize,
    /// Address of the operations endpoint.
    pub metrics_listen: SocketAddr,
    /// Pause between two attempts to take the leader lock.
    pub leader_retry: Duration,
    /// Pause of polling after quota exhaustion.
    pub quota_pause: Duration,
    /// Time allowed for the batch in flight at shutdown.
    pub shutdown_grace: Duration,
}

impl RawProducerConfig {
    /// Checks every key; errors name the key relative to the section.
    pub fn validate(&self) -> Result<ProducerSettings, ConfigError> {
        let poll_interval = in_range(
            "poll_interval_seconds",
            self.poll_interval_seconds,
            1,
            86_400,
            Hint::new("seconds between two polls", "两次轮询之间的秒数"),
        )?;
        let overlap = in_range(
            "overlap_minutes",
            self.overlap_minutes,
            1,
            10_080,
            Hint::new(
                "minutes each window reaches back before the previous one ended",
                "每个时间窗口向前重叠的分钟数",
            ),
        )?;
        let initial_lookback = in_range(
            "initial_lookback_days",
            u64::from(self.initial_lookback_days),
            1,
            u64::from(dingk3::dingtalk::PREMIUM_LOOKBACK_DAYS),
            Hint::new(
                "days the first window reaches back",
                "首次轮询时间窗口向前追溯的天数",
            ),
        )?;
        let pending_recheck = in_range(
            "pending_recheck_seconds",
            self.pending_recheck_seconds,
            0,
            604_800,
            Hint::new(
                "minimum seconds between two fetches of a running approval; 0 fetches it at every poll",
                "审批中的实例两次查询之间的最少秒数；0 表示每次轮询都查询",
            ),
        )?;
        let fetch_concurrency = in_range(
            "fetch_concurrency",
            self.fetch_concurrency as u64,
            1,
            20,
            Hint::new(
                "detail fetches in flight at once; DingTalk allows 20 calls per second per API",
                "同时进行的详情查询数；钉钉每个接口每秒最多 20 次调用",
            ),
        )?;
        let publish_batch_size = in_range(
            "publish_batch_size",
            self.publish_batch_size as u64,
            1,
            1_000,
            Hint::new(
                "messages published before waiting for the broker's confirms",
                "等待 RabbitMQ 确认前发布的消息数",
            ),
        )?;
        let metrics_listen = parse_listen(&self.metrics_listen)?;
        let leader_retry = in_range(
            "leader_retry_seconds",
            self.leader_retry_seconds,
            1,
            300,
            Hint::new(
                "seconds between two attempts to take the leader lock",
                "两次尝试获取主节点锁之间的秒数",
            ),
        )?;
        let quota_pause = in_range(
            "quota_pause_minutes",
            self.quota_pause_minutes,
            1,
            44_640,
            Hint::new(
                "minutes polling stops after the monthly quota is exhausted",
                "月度调用额度用完后暂停轮询的分钟数",
            ),
        )?;
        let shutdown_grace = in_range(
            "shutdown_grace_seconds",
            self.shutdown_grace_seconds,
            1,
            3_600,
            Hint::new(
                "seconds allowed for the batch in flight at shutdown",
                "停止时等待当前批次完成的秒数",
            ),
        )?;

        Ok(ProducerSettings {
            poll_interval: Duration::from_secs(poll_interval),
            overlap: TimeDelta::minutes(overlap as i64),
            initial_lookback: TimeDelta::days(initial_lookback as i64),
            pending_recheck: Duration::from_secs(pending_recheck),
            fetch_concurrency: fetch_concurrency as usize,
            publish_batch_size: publish_batch_size as usize,
            metrics_listen,
            leader_retry: Duration::from_secs(leader_retry),
            quota_pause: Duration::from_secs(quota_pause * 60),
            shutdown_grace: Duration::from_secs(shutdown_grace),
        })
    }
}

/// The setting a key controls, in both languages, for range errors.
struct Hint {
    en: &'static str,
    zh: &'static str,
}

impl Hint {
    fn new(en: &'static str, zh: &'static str) -> Hint {
        Hint { en, zh }
    }
}

/// Returns `value` when it lies in `min..=max`, else an error naming the key and range.
fn in_range(key: &str, value: u64, min: u64, max: u64, hint: Hint) -> Result<u64, ConfigError> {
    if (min..=max).contains(&value) {
        return Ok(value);
    }
    let (en, zh) = (hint.en, hint.zh);
    Err(ConfigError::new(
        key,
        text!(
            en: "is {value}; it must be from {min} to {max} ({en})",
            zh: "当前为 {value}；必须在 {min} 到 {max} 之间（{zh}）",
        ),
    ))
}

fn parse_listen(value: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse::<SocketAddr>().map_err(|_| {
        ConfigError::new(
            "metrics_listen",
            text!(
                en: "{value:?} is not an address and port; write it like {DEFAULT_METRICS_LISTEN} or 127.0.0.1:9464",
                zh: "{value:?} 不是“地址:端口”格式；请写成 {DEFAULT_METRICS_LISTEN} 或 127.0.0.1:9464",
            ),
        )
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
