//! The `[broker]` configuration section.
//!
//! [`RawBrokerConfig`] is what the TOML file and the environment provide, with defaults
//! for every key. [`RawBrokerConfig::validate`] checks it once at start and returns
//! [`BrokerSettings`], or a [`ConfigError`] naming the first invalid key.
//!
//! The URL carries the broker password, so it is held as a [`SecretString`] and only the
//! masked form ([`BrokerSettings::masked_url`]) ever reaches a log or an error.

use std::path::PathBuf;
use std::time::Duration;

use lapin::uri::{AMQPScheme, AMQPUri};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::broker::tier::RetryTier;
use crate::config::{ConfigError, RawSecret};
use crate::text;

/// Broker URL used when the configuration names none: the local development broker.
pub const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Longest accepted `prefix`. Queue names are limited to 255 bytes, and the longest
/// name adds `.producer-lock.` and a DingTalk app key to the prefix.
const PREFIX_MAX_LEN: usize = 100;

/// The `[broker]` section as written, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBrokerConfig {
    /// AMQP URL with credentials, `amqp://` or `amqps://`; defaults to [`DEFAULT_URL`].
    pub url: Option<SecretString>,

    /// File whose content is the URL, for platforms that mount secrets as files.
    pub url_file: Option<String>,

    /// PEM file with the certificate authority of a broker whose TLS certificate is
    /// signed by a private CA; the system roots stay trusted as well.
    pub tls_ca_file: Option<PathBuf>,

    /// First part of every exchange and queue name, so tenants can share a broker.
    pub prefix: String,

    /// Retry delays in increasing order; a message goes through each once before it is
    /// dead-lettered as exhausted.
    pub retry_tiers: Vec<String>,

    /// Quorum-queue `x-delivery-limit` of the work queue. It only catches crash loops
    /// (a message that kills its consumer); normal retries are counted by the consumer.
    pub delivery_limit: u32,

    /// `x-max-length` of the work queue and of each retry queue. Past it, publishes are
    /// refused (nacked) rather than old messages dropped.
    pub approvals_max_length: u64,

    /// `x-max-length` of the dead-letter queue.
    pub dead_max_length: u64,

    /// Milliseconds allowed for handing one message to the connection.
    pub publish_timeout_ms: u64,

    /// Milliseconds allowed for the broker to confirm a publish or a batch of publishes.
    pub confirm_timeout_ms: u64,

    /// Heartbeat timeout requested from the broker, in seconds. Each side declares the
    /// connection dead after about this long without traffic, which bounds how long a
    /// dead TCP connection goes unnoticed.
    pub heartbeat_seconds: u16,

    /// Upper bound of the jittered exponential back-off between reconnection attempts,
    /// in milliseconds.
    pub reconnect_max_backoff_ms: u64,

    /// Milliseconds allowed for one connection attempt, handshake included.
    pub connect_timeout_ms: u64,
}

impl Default for RawBrokerConfig {
    fn default() -> RawBrokerConfig {
        RawBrokerConfig {
            url: None,
            url_file: None,
            tls_ca_file: None,
            prefix: "dingk3".to_string(),
            retry_tiers: ["10s", "1m", "10m", "1h"].map(String::from).to_vec(),
            delivery_limit: 20,
            approvals_max_length: 100_000,
            dead_max_length: 100_000,
            publish_timeout_ms: 5_000,
            confirm_timeout_ms: 15_000,
            heartbeat_seconds: 30,
            reconnect_max_backoff_ms: 30_000,
            connect_timeout_ms: 15_000,
        }
    }
}

/// Checked broker settings, ready for [`crate::broker::Topology`] and the connection code.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// Full AMQP URL including the password; expose it only to lapin.
    pub url: SecretString,

    /// The URL with its password replaced by `****`, for logs and messages.
    pub masked_url: String,

    /// PEM text of the private certificate authority read from `tls_ca_file`.
    pub tls_ca_pem: Option<String>,

    /// First part of every exchange and queue name.
    pub prefix: String,

    /// Retry delays, strictly increasing, at least one.
    pub retry_tiers: Vec<RetryTier>,

    /// `x-delivery-limit` of the work queue.
    pub delivery_limit: u32,

    /// `x-max-length` of the work and retry queues.
    pub approvals_max_length: u64,

    /// `x-max-length` of the dead-letter queue.
    pub dead_max_length: u64,

    /// Deadline for handing one message to the connection.
    pub publish_timeout: Duration,

    /// Deadline for the broker's confirm of a publish or batch.
    pub confirm_timeout: Duration,

    /// Heartbeat timeout requested from the broker, in seconds (never 0).
    pub heartbeat_seconds: u16,

    /// Upper bound of the reconnection back-off.
    pub reconnect_max_backoff: Duration,

    /// Deadline for one connection attempt.
    pub connect_timeout: Duration,
}

impl RawBrokerConfig {
    /// Checks every key and returns the settings, or the first invalid key.
    ///
    /// Keys in errors are relative to the section (`prefix`, not `broker.prefix`); the
    /// caller adds the section with [`ConfigError::within`].
    pub fn validate(&self) -> Result<BrokerSettings, ConfigError> {
        let url = RawSecret {
            value: self.url.clone(),
            file: self.url_file.clone(),
        }
        .resolve("url", false)?
        .unwrap_or_else(|| SecretString::from(DEFAULT_URL));
        let masked_url = mask_url(url.expose_secret());
        let parsed = parse_url(url.expose_secret(), &masked_url)?;
        let tls_ca_pem = self.read_tls_ca(&parsed)?;

        validate_prefix(&self.prefix)?;
        let retry_tiers = parse_tiers(&self.retry_tiers)?;

        require_positive("delivery_limit", u64::from(self.delivery_limit))?;
        require_positive("approvals_max_length", self.approvals_max_length)?;
        require_positive("dead_max_length", self.dead_max_length)?;
        require_positive("publish_timeout_ms", self.publish_timeout_ms)?;
        require_positive("confirm_timeout_ms", self.confirm_timeout_ms)?;
        require_positive("connect_timeout_ms", self.connect_timeout_ms)?;
        if self.heartbeat_seconds == 0 {
            return Err(ConfigError::new(
                "heartbeat_seconds",
                text!(
                    en: "must be at least 1; 0 turns heartbeats off and a dead connection would go unnoticed",
                    zh: "必须至少为 1；0 会关闭心跳，断开的连接将无法被发现",
                ),
            ));
        }
        if self.reconnect_max_backoff_ms < MIN_BACKOFF_MS {
            let value = self.reconnect_max_backoff_ms;
            return Err(ConfigError::new(
                "reconnect_max_backoff_ms",
                text!(
                    en: "is {value}; it must be at least {MIN_BACKOFF_MS}, the first reconnection delay",
                    zh: "当前为 {value}；必须至少为 {MIN_BACKOFF_MS}（首次重连的等待时间）",
                ),
            ));
        }

        Ok(BrokerSettings {
            url,
            masked_url,
            tls_ca_pem,
            prefix: self.prefix.clone(),
            retry_tiers,
            delivery_limit: self.delivery_limit,
            approvals_max_length: self.approvals_max_length,
            dead_max_length: self.dead_max_length,
            publish_timeout: Duration::from_millis(self.publish_timeout_ms),
            confirm_timeout: Duration::from_millis(self.confirm_timeout_ms),
            heartbeat_seconds: self.heartbeat_seconds,
            reconnect_max_backoff: Duration::from_millis(self.reconnect_max_backoff_ms),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
        })
    }

    fn read_tls_ca(&self, url: &AMQPUri) -> Result<Option<String>, ConfigError> {
        let Some(path) = &self.tls_ca_file else {
            return Ok(None);
        };
        let shown = path.display();
        if url.scheme != AMQPScheme::AMQPS {
            return Err(ConfigError::new(
                "tls_ca_file",
                text!(
                    en: "is set but url does not use TLS; use an amqps:// URL or remove tls_ca_file",
                    zh: "已设置，但 url 未使用 TLS；请改用 amqps:// 地址，或删除 tls_ca_file",
                ),
            ));
        }
        let pem = std::fs::read_to_string(path).map_err(|error| {
            ConfigError::new(
                "tls_ca_file",
                text!(
                    en: "cannot read {shown}: {error}",
                    zh: "无法读取 {shown}：{error}",
                ),
            )
        })?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(ConfigError::new(
                "tls_ca_file",
                text!(
                    en: "{shown} contains no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    zh: "{shown} 中没有 PEM 证书（-----BEGIN CERTIFICATE-----）",
                ),
            ));
        }
        Ok(Some(pem))
    }
}

impl BrokerSettings {
    /// Returns settings for the broker at `url` with every other key at its default;
    /// tests and tools use it when they have no configuration file.
    pub fn for_url(url: &str) -> Result<BrokerSettings, ConfigError> {
        RawBrokerConfig {
            url: Some(SecretString::from(url)),
            ..RawBrokerConfig::default()
        }
        .validate()
    }
}

/// Smallest allowed `reconnect_max_backoff_ms`: the first delay of the back-off.
pub(crate) const MIN_BACKOFF_MS: u64 = 250;

/// Parses an AMQP URL into lapin's form.
///
/// The error text never contains the URL, because lapin's URL parser (amq-protocol-uri
/// 10.6.3) echoes the whole input, password included. That parser also takes the host
/// from `Url::domain`, which is empty for an IP address, and then falls back to
/// `localhost`. The host is therefore set from the URL here.
pub(crate) fn parse_amqp_uri(url: &str) -> Result<AMQPUri, String> {
    let parsed = url::Url::parse(url).map_err(|error| error.to_string())?;
    if !matches!(parsed.scheme(), "amqp" | "amqps") {
        return Err(format!(
            "the scheme is {:?}, not amqp or amqps",
            parsed.scheme()
        ));
    }
    let host = match parsed.host_str() {
        Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']'),
        _ => return Err("the host is missing".to_string()),
    };
    let mut uri: AMQPUri = url
        .parse()
        .map_err(|_| "the user, password, vhost or query parameters are malformed".to_string())?;
    uri.authority.host = host.to_string();
    Ok(uri)
}

/// Replaces the password of an AMQP URL with `****`.
///
/// A URL that cannot be parsed is not echoed at all, because the password could sit
/// anywhere in it.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // `set_password` fails only for URLs that cannot carry a password, and
                // this URL already carries one.
                let _ = parsed.set_password(Some("****"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparsable URL>".to_string(),
    }
}

fn parse_url(url: &str, masked: &str) -> Result<AMQPUri, ConfigError> {
    parse_amqp_uri(url).map_err(|reason| {
        ConfigError::new(
            "url",
            text!(
                en: "{masked} is not a valid AMQP URL ({reason}); expected amqp://user:password@host:5672/vhost or amqps://…",
                zh: "{masked} 不是有效的 AMQP 地址（{reason}）；格式应为 amqp://用户:密码@主机:5672/vhost 或 amqps://…",
            ),
        )
    })
}

fn validate_prefix(prefix: &str) -> Result<(), ConfigError> {
    let valid_chars = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if prefix.is_empty() || prefix.len() > PREFIX_MAX_LEN || !valid_chars {
        return Err(ConfigError::new(
            "prefix",
            text!(
                en: "{prefix:?} is invalid; use 1 to {PREFIX_MAX_LEN} ASCII letters, digits, '.', '-' or '_'",
                zh: "{prefix:?} 无效；请使用 1 到 {PREFIX_MAX_LEN} 个 ASCII 字母、数字、'.'、'-' 或 '_'",
            ),
        ));
    }
    Ok(())
}

fn parse_tiers(values: &[String]) -> Result<Vec<RetryTier>, ConfigError> {
    if values.is_empty() {
        return Err(ConfigError::new(
            "retry_tiers",
            text!(
                en: "is empty; list at least one delay, e.g. [\"10s\", \"1m\", \"10m\", \"1h\"]",
                zh: "为空；请至少列出一个延迟，例如 [\"10s\", \"1m\", \"10m\", \"1h\"]",
            ),
        ));
    }
    let mut tiers: Vec<RetryTier> = Vec::with_capacity(values.len());
    for value in values {
        let tier: RetryTier = value.parse().map_err(|_| {
            ConfigError::new(
                "retry_tiers",
                text!(
                    en: "{value:?} is not a delay; write a positive whole number followed by s, m or h, e.g. 10s",
                    zh: "{value:?} 不是有效的延迟；请写正整数加 s、m 或 h，例如 10s",
                ),
            )
        })?;
        if let Some(previous) = tiers.last()
            && tier.delay() <= previous.delay()
        {
            return Err(ConfigError::new(
                "retry_tiers",
                text!(
                    en: "{value:?} does not come after {previous}; list the delays in strictly increasing order",
                    zh: "{value:?} 不大于前一项 {previous}；延迟必须严格递增",
                ),
            ));
        }
        tiers.push(tier);
    }
    Ok(tiers)
}

fn require_positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(
            key,
            text!(en: "must be greater than 0", zh: "必须大于 0"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn raw() -> RawBrokerConfig {
        RawBrokerConfig::default()
    }

    fn error_key(raw: RawBrokerConfig) -> String {
        raw.validate().expect_err("validation should fail").key
    }

    #[test]
    fn defaults_validate() {
        let settings = raw().validate().expect("defaults are valid");
        assert_eq!(settings.prefix, "dingk3");
        assert_eq!(settings.retry_tiers.len(), 4, "four default tiers");
        assert_eq!(settings.masked_url, "amqp://guest:****@127.0.0.1:5672/%2f");
        assert_eq!(settings.url.expose_secret(), DEFAULT_URL);
    }

    #[test]
    fn toml_overrides_keys() {
        let raw: RawBrokerConfig =
            toml::from_str("prefix = \"acme\"\nretry_tiers = [\"5s\"]\ndelivery_limit = 7\n")
                .unwrap();
        let settings = raw.validate().unwrap();
        assert_eq!(settings.prefix, "acme");
        assert_eq!(settings.retry_tiers[0].label(), "5s");
        assert_eq!(settings.delivery_limit, 7);
        assert_eq!(settings.heartbeat_seconds, 30, "unset keys keep defaults");
    }

    #[test]
    fn toml_rejects_unknown_key() {
        let result: Result<RawBrokerConfig, _> = toml::from_str("prefx = \"acme\"\n");
        assert!(result.is_err(), "a misspelt key must not be ignored");
    }

    #[test]
    fn url_invalid_is_masked_in_error() {
        let raw = RawBrokerConfig {
            url: Some(SecretString::from("http://user:hunter2@host/")),
            ..raw()
        };
        let error = raw.validate().unwrap_err();
        assert_eq!(error.key, "url");
        assert!(
            !error.problem.en.contains("hunter2"),
            "password leaked: {}",
            error.problem.en
        );
        assert!(
            !error.problem.zh.contains("hunter2"),
            "password leaked: {}",
            error.problem.zh
        );
    }

    #[test]
    fn url_file_is_read() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "amqp://app:s3cret@broker.internal:5673/prod").unwrap();
        let raw = RawBrokerConfig {
            url_file: Some(file.path().display().to_string()),
            ..raw()
        };
        let settings = raw.validate().unwrap();
        assert_eq!(
            settings.masked_url,
            "amqp://app:****@broker.internal:5673/prod"
        );
    }

    #[test]
    fn url_amqps_is_accepted() {
        let settings = BrokerSettings::for_url("amqps://app:pw@broker.example:5671/%2f").unwrap();
        assert!(settings.masked_url.starts_with("amqps://"));
    }

    #[test]
    fn parse_keeps_ip_host() {
        let uri = parse_amqp_uri("amqp://u:p@10.1.2.3:5673/%2f").unwrap();
        assert_eq!(
            uri.authority.host, "10.1.2.3",
            "lapin alone would turn an IP into localhost"
        );
        assert_eq!(uri.authority.port, 5673);
        assert_eq!(uri.vhost, "/");
    }

    #[test]
    fn parse_keeps_ipv6_host() {
        let uri = parse_amqp_uri("amqp://u:p@[::1]:5672/%2f").unwrap();
        assert_eq!(uri.authority.host, "::1");
    }

    #[test]
    fn parse_rejects_other_scheme() {
        let reason = parse_amqp_uri("http://u:p@h/").unwrap_err();
        assert!(
            reason.contains("\"http\""),
            "reason names the scheme: {reason}"
        );
    }

    #[test]
    fn mask_url_hides_password() {
        assert_eq!(mask_url("amqp://u:p%40ss@h:1/v"), "amqp://u:****@h:1/v");
        assert_eq!(
            mask_url("amqp://h:1/v"),
            "amqp://h:1/v",
            "no password, nothing to mask"
        );
        assert_eq!(mask_url("::not a url::"), "<unparsable URL>");
    }

    #[test]
    fn tls_ca_file_requires_amqps() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
        )
        .unwrap();
        let raw = RawBrokerConfig {
            tls_ca_file: Some(file.path().to_path_buf()),
            ..raw()
        };
        assert_eq!(error_key(raw), "tls_ca_file");
    }

    #[test]
    fn tls_ca_file_must_hold_a_certificate() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "not a certificate").unwrap();
        let raw = RawBrokerConfig {
            url: Some(SecretString::from("amqps://u:p@h:5671/%2f")),
            tls_ca_file: Some(file.path().to_path_buf()),
            ..raw()
        };
        assert_eq!(error_key(raw), "tls_ca_file");
    }

    #[test]
    fn tls_ca_file_must_exist() {
        let raw = RawBrokerConfig {
            url: Some(SecretString::from("amqps://u:p@h:5671/%2f")),
            tls_ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..raw()
        };
        let error = raw.validate().unwrap_err();
        assert_eq!(error.key, "tls_ca_file");
        assert!(
            error.problem.en.contains("/nonexistent/ca.pem"),
            "path missing from error"
        );
    }

    #[test]
    fn tls_ca_file_is_loaded() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            file,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
        )
        .unwrap();
        let raw = RawBrokerConfig {
            url: Some(SecretString::from("amqps://u:p@h:5671/%2f")),
            tls_ca_file: Some(file.path().to_path_buf()),
            ..raw()
        };
        let settings = raw.validate().unwrap();
        assert!(
            settings.tls_ca_pem.is_some(),
            "PEM text should be kept for the connector"
        );
    }

    #[test]
    fn prefix_rejects_empty() {
        assert_eq!(
            error_key(RawBrokerConfig {
                prefix: String::new(),
                ..raw()
            }),
            "prefix"
        );
    }

    #[test]
    fn prefix_rejects_bad_characters() {
        for prefix in ["ding k3", "dingk3/a", "租户", "a*b"] {
            let raw = RawBrokerConfig {
                prefix: prefix.to_string(),
                ..raw()
            };
            assert_eq!(
                error_key(raw),
                "prefix",
                "prefix {prefix:?} should be rejected"
            );
        }
    }

    #[test]
    fn prefix_rejects_too_long() {
        let raw = RawBrokerConfig {
            prefix: "a".repeat(PREFIX_MAX_LEN + 1),
            ..raw()
        };
        assert_eq!(error_key(raw), "prefix");
    }

    #[test]
    fn prefix_accepts_allowed_characters() {
        let raw = RawBrokerConfig {
            prefix: "Tenant-1_prod.v2".to_string(),
            ..raw()
        };
        assert!(raw.validate().is_ok());
    }

    #[test]
    fn retry_tiers_reject_empty_list() {
        assert_eq!(
            error_key(RawBrokerConfig {
                retry_tiers: vec![],
                ..raw()
            }),
            "retry_tiers"
        );
    }

    #[test]
    fn retry_tiers_reject_bad_unit() {
        let raw = RawBrokerConfig {
            retry_tiers: vec!["10s".into(), "2d".into()],
            ..raw()
        };
        let error = raw.validate().unwrap_err();
        assert_eq!(error.key, "retry_tiers");
        assert!(
            error.problem.en.contains("\"2d\""),
            "the bad value is named"
        );
    }

    #[test]
    fn retry_tiers_reject_unordered() {
        let raw = RawBrokerConfig {
            retry_tiers: vec!["1m".into(), "30s".into()],
            ..raw()
        };
        assert_eq!(error_key(raw), "retry_tiers");
    }

    #[test]
    fn retry_tiers_reject_equal_delays() {
        let raw = RawBrokerConfig {
            retry_tiers: vec!["60s".into(), "1m".into()],
            ..raw()
        };
        assert_eq!(
            error_key(raw),
            "retry_tiers",
            "60s and 1m are the same delay"
        );
    }

    #[test]
    fn delivery_limit_rejects_zero() {
        assert_eq!(
            error_key(RawBrokerConfig {
                delivery_limit: 0,
                ..raw()
            }),
            "delivery_limit"
        );
    }

    #[test]
    fn approvals_max_length_rejects_zero() {
        let raw = RawBrokerConfig {
            approvals_max_length: 0,
            ..raw()
        };
        assert_eq!(error_key(raw), "approvals_max_length");
    }

    #[test]
    fn dead_max_length_rejects_zero() {
        assert_eq!(
            error_key(RawBrokerConfig {
                dead_max_length: 0,
                ..raw()
            }),
            "dead_max_length"
        );
    }

    #[test]
    fn publish_timeout_rejects_zero() {
        let raw = RawBrokerConfig {
            publish_timeout_ms: 0,
            ..raw()
        };
        assert_eq!(error_key(raw), "publish_timeout_ms");
    }

    #[test]
    fn confirm_timeout_rejects_zero() {
        let raw = RawBrokerConfig {
            confirm_timeout_ms: 0,
            ..raw()
        };
        assert_eq!(error_key(raw), "confirm_timeout_ms");
    }

    #[test]
    fn connect_timeout_rejects_zero() {
        let raw = RawBrokerConfig {
            connect_timeout_ms: 0,
            ..raw()
        };
        assert_eq!(error_key(raw), "connect_timeout_ms");
    }

    #[test]
    fn heartbeat_rejects_zero() {
        let raw = RawBrokerConfig {
            heartbeat_seconds: 0,
            ..raw()
        };
        assert_eq!(error_key(raw), "heartbeat_seconds");
    }

    #[test]
    fn reconnect_backoff_rejects_below_minimum() {
        let raw = RawBrokerConfig {
            reconnect_max_backoff_ms: MIN_BACKOFF_MS - 1,
            ..raw()
        };
        assert_eq!(error_key(raw), "reconnect_max_backoff_ms");
    }
}
