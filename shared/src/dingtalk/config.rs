//! The `[dingtalk]` configuration section: which API generation to call, where, with
//! which app credentials, how fast, and how far back the listing may reach.
//!
//! [`RawDingTalkConfig`] is what the TOML file and the `DINGK3_…` environment supply;
//! [`RawDingTalkConfig::validate`] turns it into [`DingTalkSettings`] or a
//! [`ConfigError`] whose key is relative to the section (the caller adds `dingtalk.`
//! with [`ConfigError::within`]).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::config::http::{ca_certificates, http_timeouts};
use crate::config::{ConfigError, RawSecret};
use crate::text;

/// Lookback of the standard edition: the list APIs reject a start more than 365 days ago.
pub const STANDARD_LOOKBACK_DAYS: u32 = 365;

/// Lookback of OA 高级版 (premium) organisations on the v1.0 list API: five years.
pub const PREMIUM_LOOKBACK_DAYS: u32 = 1825;

/// Lifetime DingTalk documents for an access token, in seconds.
pub const TOKEN_LIFETIME_SECONDS: u64 = 7200;

/// Maximum number of ids one paginated listing may return, as documented for both list
/// APIs ("最多不能超过10000个").
pub const LIST_ID_CAP: usize = 10_000;

/// The `[dingtalk]` section as written. Every key has a default, so validation can name
/// what is missing instead of serde failing on the first absent key.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawDingTalkConfig {
    /// `topapi` (legacy `oapi.dingtalk.com/topapi/…`, what QEasy-style deployments call)
    /// or `v1` (`api.dingtalk.com/v1.0/…`).
    pub api: String,

    /// Root of the legacy host; changed only for a proxy or the simulator.
    pub oapi_base_url: String,

    /// Root of the v1.0 host; changed only for a proxy or the simulator.
    pub api_base_url: String,

    /// AppKey (Client ID) of the internal app (企业内部应用).
    pub app_key: String,

    /// AppSecret (Client Secret) of the app (usually set through the environment).
    pub app_secret: Option<SecretString>,

    /// Path of a file holding the app secret.
    pub app_secret_file: Option<String>,

    /// Calls per second this app may make, across all APIs. DingTalk allows a
    /// standard-edition app 20 calls per second per API; the default stays below that.
    pub rate_limit_per_second: u32,

    /// Milliseconds allowed for a whole call, from sending the request to the last byte.
    pub request_timeout_ms: u64,

    /// Milliseconds allowed to open a TCP (and TLS) connection.
    pub connect_timeout_ms: u64,

    /// How many days back a listing window may start: 365 for the standard edition,
    /// up to 1825 for OA 高级版 on the v1.0 API.
    pub max_lookback_days: u32,

    /// Seconds before the token's expiry at which a new token is fetched.
    pub token_refresh_margin_seconds: u64,

    /// DingTalk userid shown as the author of write-back comments.
    pub comment_userid: Option<String>,

    /// PEM file with the certificate of a private CA (a TLS-inspecting proxy); it is
    /// added to the system trust store, not used instead of it.
    pub tls_ca_file: Option<String>,

    /// Attempts after the first for a throttled or transient call before the caller
    /// sees the error.
    pub retry_attempts: usize,

    /// First back-off delay in milliseconds; it doubles on every retry.
    pub retry_initial_delay_ms: u64,

    /// Maximum back-off delay in milliseconds. When the server requests a longer wait,
    /// the client does not retry and the caller receives the throttling error at once.
    pub retry_max_delay_ms: u64,
}

impl Default for RawDingTalkConfig {
    fn default() -> Self {
        RawDingTalkConfig {
            api: "topapi".to_string(),
            oapi_base_url: "https://oapi.dingtalk.com".to_string(),
            api_base_url: "https://api.dingtalk.com".to_string(),
            app_key: String::new(),
            app_secret: None,
            app_secret_file: None,
            rate_limit_per_second: 15,
            request_timeout_ms: 30_000,
            connect_timeout_ms: 10_000,
            max_lookback_days: STANDARD_LOOKBACK_DAYS,
            token_refresh_margin_seconds: 600,
            comment_userid: None,
            tls_ca_file: None,
            retry_attempts: 4,
            retry_initial_delay_ms: 1_000,
            retry_max_delay_ms: 30_000,
        }
    }
}

/// Generation of the DingTalk server API the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFlavor {
    /// `oapi.dingtalk.com`: `/gettoken`, `topapi/…`, HTTP 200 with `errcode`.
    Topapi,
    /// `api.dingtalk.com`: `/v1.0/…`, HTTP 4xx with a string `code`.
    V1,
}

/// Back-off of throttled and transient calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Retries after the first attempt.
    pub attempts: usize,
    /// First delay; later delays double.
    pub initial_delay: Duration,
    /// Maximum delay slept in-process.
    pub max_delay: Duration,
}

/// The checked `[dingtalk]` section. `Debug` shows no secret because the secret is a
/// [`SecretString`].
#[derive(Debug, Clone)]
pub struct DingTalkSettings {
    /// API generation.
    pub api: ApiFlavor,
    /// Legacy host root, ending in `/`.
    pub oapi_base_url: Url,
    /// v1.0 host root, ending in `/`.
    pub api_base_url: Url,
    /// AppKey; the token cache is per app.
    pub app_key: String,
    /// AppSecret.
    pub app_secret: SecretString,
    /// Calls per second across all APIs of this app.
    pub rate_limit_per_second: u32,
    /// Time allowed for a whole call.
    pub request_timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Days a listing window may reach back.
    pub max_lookback_days: u32,
    /// How long before expiry a token is replaced.
    pub token_refresh_margin: Duration,
    /// Author of write-back comments, when configured.
    pub comment_userid: Option<String>,
    /// Extra trusted CA certificates read from `tls_ca_file`.
    pub tls_ca_certificates: Vec<reqwest::Certificate>,
    /// Source file of those certificates, for messages.
    pub tls_ca_file: Option<PathBuf>,
    /// Back-off of throttled and transient calls.
    pub retry: RetrySettings,
    /// Ids after which a listing slice is split. It is the documented cap
    /// ([`LIST_ID_CAP`]); only tests lower it, to exercise splitting cheaply.
    pub list_id_cap: usize,
}

impl RawDingTalkConfig {
    /// Checks every key and resolves the secret; errors name the key relative to the
    /// section.
    pub fn validate(&self) -> Result<DingTalkSettings, ConfigError> {
        let api = validate_api(&self.api)?;
        let oapi_base_url = validate_base_url("oapi_base_url", &self.oapi_base_url)?;
        let api_base_url = validate_base_url("api_base_url", &self.api_base_url)?;
        let app_key = validate_app_key(&self.app_key)?;
        let app_secret = RawSecret {
            value: self.app_secret.clone(),
            file: self.app_secret_file.clone(),
        }
        .resolve("app_secret", true)?
        .expect("a required secret resolves to a value or an error");
        let rate_limit_per_second = validate_rate_limit(self.rate_limit_per_second)?;
        let (connect_timeout, request_timeout) =
            http_timeouts(self.connect_timeout_ms, self.request_timeout_ms, 30000)?;
        let max_lookback_days = validate_lookback(self.max_lookback_days, api)?;
        let token_refresh_margin = validate_refresh_margin(self.token_refresh_margin_seconds)?;
        let comment_userid = self
            .comment_userid
            .as_deref()
            .map(str::trim)
            .filter(|userid| !userid.is_empty())
            .map(str::to_string);
        let (tls_ca_certificates, tls_ca_file) = ca_certificates(self.tls_ca_file.as_deref())?;
        let retry = self.validate_retry()?;

        Ok(DingTalkSettings {
            api,
            oapi_base_url,
            api_base_url,
            app_key,
            app_secret,
            rate_limit_per_second,
            request_timeout,
            connect_timeout,
            max_lookback_days,
            token_refresh_margin,
            comment_userid,
            tls_ca_certificates,
            tls_ca_file,
            retry,
            list_id_cap: LIST_ID_CAP,
        })
    }

    fn validate_retry(&self) -> Result<RetrySettings, ConfigError> {
        if self.retry_initial_delay_ms == 0 {
            return Err(ConfigError::new(
                "retry_initial_delay_ms",
                text!(
                    en: "must be greater than 0; DingTalk asks clients to wait about 1 second after throttling, e.g. 1000",
                    zh: "必须大于 0；钉钉建议限流后等待约 1 秒，例如 1000",
                ),
            ));
        }
        if self.retry_max_delay_ms < self.retry_initial_delay_ms {
            let (max, initial) = (self.retry_max_delay_ms, self.retry_initial_delay_ms);
            return Err(ConfigError::new(
                "retry_max_delay_ms",
                text!(
                    en: "{max} is shorter than retry_initial_delay_ms ({initial}); raise retry_max_delay_ms",
                    zh: "{max} 小于 retry_initial_delay_ms（{initial}）；请调大 retry_max_delay_ms",
                ),
            ));
        }
        Ok(RetrySettings {
            attempts: self.retry_attempts,
            initial_delay: Duration::from_millis(self.retry_initial_delay_ms),
            max_delay: Duration::from_millis(self.retry_max_delay_ms),
        })
    }
}

fn validate_api(raw: &str) -> Result<ApiFlavor, ConfigError> {
    match raw.trim() {
        "topapi" => Ok(ApiFlavor::Topapi),
        "v1" => Ok(ApiFlavor::V1),
        other => Err(ConfigError::new(
            "api",
            text!(
                en: "unknown API generation \"{other}\"; use \"topapi\" (oapi.dingtalk.com) or \"v1\" (api.dingtalk.com)",
                zh: "未知的 API 版本“{other}”；请使用 \"topapi\"（oapi.dingtalk.com）或 \"v1\"（api.dingtalk.com）",
            ),
        )),
    }
}

fn validate_base_url(key: &str, raw: &str) -> Result<Url, ConfigError> {
    let trimmed = raw.trim();
    let mut url = Url::parse(trimmed).map_err(|error| {
        ConfigError::new(
            key,
            text!(
                en: "\"{trimmed}\" is not a valid URL ({error}); write it as https://host[:port][/path]",
                zh: "“{trimmed}”不是有效的 URL（{error}）；请写成 https://主机[:端口][/路径]",
            ),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        let scheme = url.scheme().to_string();
        return Err(ConfigError::new(
            key,
            text!(
                en: "scheme \"{scheme}\" is not supported; use http:// or https://",
                zh: "不支持协议“{scheme}”；请使用 http:// 或 https://",
            ),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(ConfigError::new(
            key,
            text!(
                en: "must not contain a query, a fragment or user information; keep only scheme, host, port and path",
                zh: "不能包含查询参数、片段或用户信息；只保留协议、主机、端口和路径",
            ),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn validate_app_key(raw: &str) -> Result<String, ConfigError> {
    let app_key = raw.trim();
    if app_key.is_empty() {
        return Err(ConfigError::new(
            "app_key",
            text!(
                en: "missing; copy the AppKey (Client ID) of the internal app from the DingTalk developer console",
                zh: "缺少该项；请从钉钉开发者后台复制企业内部应用的 AppKey（Client ID）",
            ),
        ));
    }
    Ok(app_key.to_string())
}

fn validate_rate_limit(value: u32) -> Result<u32, ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(
            "rate_limit_per_second",
            text!(
                en: "must be greater than 0; DingTalk allows a standard-edition app 20 calls per second per API, e.g. 15",
                zh: "必须大于 0；钉钉标准版每个应用每个接口每秒最多 20 次调用，例如 15",
            ),
        ));
    }
    Ok(value)
}

fn validate_lookback(value: u32, api: ApiFlavor) -> Result<u32, ConfigError> {
    // Only the v1.0 query documents the five-year reach of OA 高级版; the topapi
    // listing rejects any start more than 365 days back.
    let max = match api {
        ApiFlavor::Topapi => STANDARD_LOOKBACK_DAYS,
        ApiFlavor::V1 => PREMIUM_LOOKBACK_DAYS,
    };
    if value == 0 || value > max {
        return Err(ConfigError::new(
            "max_lookback_days",
            text!(
                en: "{value} is out of range; use 1 to 365 for the standard edition, or up to 1825 for OA 高级版 (premium) on api = \"v1\"",
                zh: "{value} 超出范围；标准版请使用 1 到 365，OA 高级版在 api = \"v1\" 下最多 1825",
            ),
        ));
    }
    Ok(value)
}

fn validate_refresh_margin(seconds: u64) -> Result<Duration, ConfigError> {
    if seconds >= TOKEN_LIFETIME_SECONDS {
        return Err(ConfigError::new(
            "token_refresh_margin_seconds",
            text!(
                en: "{seconds} is not shorter than the token lifetime of 7200 seconds; use a margin such as 600",
                zh: "{seconds} 不小于令牌有效期 7200 秒；请使用较小的提前量，例如 600",
            ),
        ));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
