//! The DingTalk client handle: one HTTP connection pool, token cache and rate limiter per
//! app, shared by every clone.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::config::DingTalkSettings;
use super::error::{ConfigurationReason, DingTalkError};
use super::rate_limit::CallPacer;
use super::token::TokenCache;
use super::window::earliest_allowed_start;

/// State shared by the clones of one client.
pub(crate) struct Inner {
    pub(crate) settings: DingTalkSettings,
    pub(crate) http: reqwest::Client,
    pub(crate) pacer: CallPacer,
    pub(crate) tokens: TokenCache,
}

/// Client of one DingTalk app. Clones share the token and the rate limiter, so the
/// producer creates one per app and hands clones to its tasks.
#[derive(Clone)]
pub struct DingTalkClient {
    pub(crate) inner: Arc<Inner>,
}

impl DingTalkClient {
    /// Builds the client. Fails only when the HTTP client cannot be set up (TLS).
    pub fn new(settings: DingTalkSettings) -> Result<DingTalkClient, DingTalkError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("dingk3/", env!("CARGO_PKG_VERSION")));
        for certificate in &settings.tls_ca_certificates {
            builder = builder.add_root_certificate(certificate.clone());
        }
        let http = builder
            .build()
            .map_err(|error| DingTalkError::Configuration {
                api: "client setup",
                reason: ConfigurationReason::HttpClient,
                code: String::new(),
                message: error.without_url().to_string(),
            })?;
        Ok(DingTalkClient {
            inner: Arc::new(Inner {
                pacer: CallPacer::new(settings.rate_limit_per_second),
                tokens: TokenCache::new(settings.token_refresh_margin),
                http,
                settings,
            }),
        })
    }

    /// Returns the settings the client was built with.
    pub fn settings(&self) -> &DingTalkSettings {
        &self.inner.settings
    }

    /// Returns the earliest listing window start this client accepts at `now`, so a
    /// caller can clamp its window instead of failing.
    pub fn earliest_window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        earliest_allowed_start(now, self.inner.settings.max_lookback_days)
    }
}

/// Shows the app and hosts; never the secret or the token.
impl fmt::Debug for DingTalkClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.inner.settings;
        f.debug_struct("DingTalkClient")
            .field("api", &settings.api)
            .field("app_key", &settings.app_key)
            .field("oapi_base_url", &settings.oapi_base_url.as_str())
            .field("api_base_url", &settings.api_base_url.as_str())
            .field("rate_limit_per_second", &settings.rate_limit_per_second)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::dingtalk::RawDingTalkConfig;

    #[test]
    fn debug_hides_secret() {
        let settings = RawDingTalkConfig {
            app_key: "dingappkey".to_string(),
            app_secret: Some(SecretString::from("very-secret-value")),
            ..RawDingTalkConfig::default()
        }
        .validate()
        .unwrap();
        let client = DingTalkClient::new(settings).unwrap();
        let debug_output = format!("{client:?} {:?}", client.settings());
        assert!(
            !debug_output.contains("very-secret-value"),
            "Debug printed the secret: {debug_output}"
        );
        assert!(
            debug_output.contains("dingappkey"),
            "Debug names the app: {debug_output}"
        );
    }
}
