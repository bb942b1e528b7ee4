//! The checks behind [`RawConsumerConfig::validate`](super::RawConsumerConfig::validate),
//! each returning a [`ConfigError`] that names the key, the value and the allowed range.

use std::fmt::Display;
use std::net::SocketAddr;

use dingk3::config::ConfigError;
use dingk3::text;

/// Largest `batch_size`. K3Cloud saves a `BatchSave` in one transaction on the server,
/// and large batches hold its locks longer; 100 bills per call is a generous ceiling.
pub const MAX_BATCH_SIZE: u32 = 100;

/// Largest `batch_wait_ms`: a message should not wait longer than this for company.
pub const MAX_BATCH_WAIT_MS: u64 = 10_000;

/// Largest `concurrent_batches`. Parallel writes to K3Cloud conflict on its network
/// control (网控) and database locks, so the useful number is small.
pub const MAX_CONCURRENT_BATCHES: u32 = 16;

/// Smallest `max_message_bytes`: below this even a minimal envelope does not fit.
pub const MIN_MESSAGE_BYTES: usize = 1024;

/// Largest `max_message_bytes`; every prefetched message is held in memory.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Largest `in_process_retries`.
pub const MAX_IN_PROCESS_RETRIES: u32 = 10;

/// Largest `in_process_retry_max_ms`.
pub const MAX_IN_PROCESS_RETRY_MS: u64 = 10_000;

/// Largest total of in-process pauses (`in_process_retries × in_process_retry_max_ms`).
/// Longer waits belong in the retry queues, because a held delivery also holds a
/// ledger lease and a prefetch slot.
pub const MAX_IN_PROCESS_TOTAL_MS: u64 = 30_000;

/// Largest `write_back_retry_seconds`: one day.
pub const MAX_WRITE_BACK_RETRY_SECONDS: u64 = 86_400;

/// Largest `write_back_max_attempts`.
pub const MAX_WRITE_BACK_ATTEMPTS: u32 = 1_000;

/// Largest `dlq_depth_refresh_seconds`: one hour.
pub const MAX_DLQ_DEPTH_REFRESH_SECONDS: u64 = 3_600;

/// Largest `shutdown_grace_seconds`: ten minutes.
pub const MAX_SHUTDOWN_GRACE_SECONDS: u64 = 600;

/// Largest `replay_limit`. An approval replayed this often without success needs its
/// cause fixed, not more replays.
pub const MAX_REPLAY_LIMIT: u32 = 100;

/// Maximum length of `consumer_id`. It becomes part of the AMQP consumer tag, a short string of at
/// most 255 bytes, together with a session number.
pub const MAX_CONSUMER_ID_BYTES: usize = 200;

/// Maximum length of a write-back template, in characters. DingTalk cuts comments at 1024.
const MAX_TEMPLATE_CHARS: usize = 1024;

/// Placeholders a write-back template may use.
const TEMPLATE_PLACEHOLDERS: [&str; 2] = ["bill_no", "business_id"];

/// Checks that `value` lies in `min..=max`.
pub fn in_range<T>(key: &str, value: T, min: T, max: T) -> Result<T, ConfigError>
where
    T: PartialOrd + Display + Copy,
{
    if value < min || value > max {
        return Err(ConfigError::new(
            key,
            text!(
                en: "is {value}; it must be between {min} and {max}",
                zh: "当前为 {value}；必须在 {min} 到 {max} 之间",
            ),
        ));
    }
    Ok(value)
}

/// Returns the configured consumer id, or `<hostname>-<pid>` when it is empty.
pub fn consumer_id(configured: &str) -> Result<String, ConfigError> {
    let id = configured.trim();
    if id.is_empty() {
        return Ok(format!("{}-{}", host_name(), std::process::id()));
    }
    if id.len() > MAX_CONSUMER_ID_BYTES {
        let length = id.len();
        return Err(ConfigError::new(
            "consumer_id",
            text!(
                en: "is {length} bytes long; it must be at most {MAX_CONSUMER_ID_BYTES}",
                zh: "长度为 {length} 字节；最多 {MAX_CONSUMER_ID_BYTES} 字节",
            ),
        ));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::new(
            "consumer_id",
            text!(
                en: "is {id:?}; it must not contain spaces or control characters",
                zh: "当前为 {id:?}；不能包含空格或控制字符",
            ),
        ));
    }
    Ok(id.to_string())
}

/// Checks the in-process retry count, the pause bound, and their product.
pub fn in_process_retries(retries: u32, max_ms: u64) -> Result<(u32, u64), ConfigError> {
    let retries = in_range("in_process_retries", retries, 0, MAX_IN_PROCESS_RETRIES)?;
    let max_ms = in_range(
        "in_process_retry_max_ms",
        max_ms,
        1,
        MAX_IN_PROCESS_RETRY_MS,
    )?;
    let total = u64::from(retries) * max_ms;
    if total > MAX_IN_PROCESS_TOTAL_MS {
        return Err(ConfigError::new(
            "in_process_retry_max_ms",
            text!(
                en: "is {max_ms}; with in_process_retries = {retries} a delivery could wait {total} ms, more than {MAX_IN_PROCESS_TOTAL_MS} ms. Lower either key; longer waits belong in broker.retry_tiers",
                zh: "当前为 {max_ms}；与 in_process_retries = {retries} 一起，一条消息最多会等待 {total} 毫秒，超过 {MAX_IN_PROCESS_TOTAL_MS} 毫秒。请调低其中一项；更长的等待应配置在 broker.retry_tiers 中",
            ),
        ));
    }
    Ok((retries, max_ms))
}

/// Checks that the template is not empty, names the bill, and uses known placeholders.
pub fn write_back_template(template: &str) -> Result<String, ConfigError> {
    const KEY: &str = "write_back_template";
    if !template.contains("{bill_no}") {
        return Err(ConfigError::new(
            KEY,
            text!(
                en: "must contain {{bill_no}}, the K3Cloud bill number the comment reports",
                zh: "必须包含 {{bill_no}}，即评论中要写明的金蝶单据编号",
            ),
        ));
    }
    let length = template.chars().count();
    if length > MAX_TEMPLATE_CHARS {
        return Err(ConfigError::new(
            KEY,
            text!(
                en: "is {length} characters long; DingTalk accepts at most {MAX_TEMPLATE_CHARS}",
                zh: "长度为 {length} 个字符；钉钉最多接受 {MAX_TEMPLATE_CHARS} 个",
            ),
        ));
    }
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !TEMPLATE_PLACEHOLDERS.contains(&name) {
            let allowed = TEMPLATE_PLACEHOLDERS
                .map(|name| format!("{{{name}}}"))
                .join(", ");
            return Err(ConfigError::new(
                KEY,
                text!(
                    en: "uses the unknown placeholder {{{name}}}; the known ones are {allowed}",
                    zh: "使用了未知的占位符 {{{name}}}；可用的占位符为 {allowed}",
                ),
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(template.to_string())
}

/// Parses `host:port`, e.g. `0.0.0.0:9465`.
pub fn socket_address(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError::new(
            key,
            text!(
                en: "is {value:?}; expected an IP address and port such as 0.0.0.0:9465",
                zh: "当前为 {value:?}；应为 IP 地址加端口，例如 0.0.0.0:9465",
            ),
        )
    })
}

/// Returns the host name: `HOSTNAME`, else the kernel's, else `unknown`.
fn host_name() -> String {
    let from_env = std::env::var("HOSTNAME").ok();
    let from_kernel = || std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    from_env
        .or_else(from_kernel)
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}
