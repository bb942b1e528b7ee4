//! One DingTalk call end to end: pacing, the token, the HTTP exchange, classification,
//! token replacement and the bounded retry of throttled and transient failures.
//!
//! Nothing here formats a URL into a message: the legacy API carries the token (and
//! `gettoken` the app secret) in the query string, so transport errors are reported
//! without their URL and the token header is marked sensitive.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::Utc;
use reqwest::header::{HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::classify::{Failure, Reply, classify};
use super::client::Inner;
use super::config::ApiFlavor;
use super::endpoint::{Endpoint, Envelope};
use super::error::{ConfigurationReason, DingTalkError};
use super::metrics;
use super::token::{FetchedToken, LeasedToken, parse_token_reply};
use crate::config::http::is_untrusted_certificate;

/// One request to send; query pairs and body are the API's own parameters.
pub(crate) struct Request<'a> {
    /// Which API.
    pub endpoint: Endpoint,
    /// Query parameters besides the token.
    pub query: Vec<(&'static str, String)>,
    /// JSON body, for POST endpoints.
    pub body: Option<Value>,
    /// The instance the call concerns, for logs and not-found errors.
    pub process_instance_id: Option<&'a str>,
}

impl Inner {
    /// Sends `request` with retries and returns the success body.
    pub(crate) async fn call(&self, request: &Request<'_>) -> Result<Value, DingTalkError> {
        let retry = self.settings.retry;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(retry.initial_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.attempts)
            .with_jitter();
        let api = request.endpoint.path();
        let process_instance_id = request.process_instance_id.unwrap_or_default();
        (|| self.call_with_token(request))
            .retry(backoff)
            .when(DingTalkError::is_retryable)
            .adjust(|error, delay| {
                let delay = delay?;
                match error.retry_after() {
                    // A wait longer than the longest back-off is the caller's to schedule.
                    Some(wait) if wait > retry.max_delay => None,
                    Some(wait) => Some(delay.max(wait)),
                    None => Some(delay),
                }
            })
            .notify(|error, delay| {
                tracing::warn!(
                    api,
                    process_instance_id,
                    error = %error,
                    delay_ms = delay.as_millis() as u64,
                    "dingtalk call failed, retrying"
                );
            })
            .await
    }

    /// Sends one attempt. It replaces a rejected token once, and retries a permission
    /// error once with a new token, because a token issued before a permission was
    /// granted keeps failing until it is replaced.
    async fn call_with_token(&self, request: &Request<'_>) -> Result<Value, DingTalkError> {
        let api = request.endpoint.path();
        let process_instance_id = request.process_instance_id.unwrap_or_default();
        let mut token_replaced = false;
        let mut permission_retried = false;
        loop {
            let token = self.token().await?;
            let failure = match self.exchange(request, Some(&token)).await {
                Ok(body) => return Ok(body),
                Err(failure) => failure,
            };
            match failure {
                Failure::TokenInvalid { code, message } => {
                    self.tokens.invalidate(token.generation).await;
                    if token_replaced {
                        return Err(DingTalkError::Configuration {
                            api,
                            reason: ConfigurationReason::TokenRejected,
                            code,
                            message,
                        });
                    }
                    tracing::warn!(
                        api,
                        process_instance_id,
                        code,
                        "dingtalk rejected the access token, fetching a new one"
                    );
                    token_replaced = true;
                }
                Failure::PermissionDenied { code, message } => {
                    if permission_retried {
                        return Err(DingTalkError::Configuration {
                            api,
                            reason: ConfigurationReason::PermissionDenied,
                            code,
                            message,
                        });
                    }
                    tracing::warn!(
                        api,
                        process_instance_id,
                        code,
                        "dingtalk denied a permission, retrying with a new token"
                    );
                    self.tokens.invalidate(token.generation).await;
                    permission_retried = true;
                }
                other => return Err(self.to_error(other, request)),
            }
        }
    }

    async fn token(&self) -> Result<LeasedToken, DingTalkError> {
        self.tokens.get(|| self.fetch_token()).await
    }

    async fn fetch_token(&self) -> Result<FetchedToken, DingTalkError> {
        let (key, secret) = (&self.settings.app_key, &self.settings.app_secret);
        let request = match self.settings.api {
            // Query string only: gettoken ignores a form body ("缺少参数 corpid or appkey").
            ApiFlavor::Topapi => Request {
                endpoint: Endpoint::GetToken,
                query: vec![
                    ("appkey", key.clone()),
                    ("appsecret", secret.expose_secret().to_string()),
                ],
                body: None,
                process_instance_id: None,
            },
            ApiFlavor::V1 => Request {
                endpoint: Endpoint::AccessToken,
                query: Vec::new(),
                body: Some(json!({"appKey": key, "appSecret": secret.expose_secret()})),
                process_instance_id: None,
            },
        };
        let api = request.endpoint.path();
        let body = self
            .exchange(&request, None)
            .await
            .map_err(|failure| match failure {
                // A token endpoint that calls the credentials invalid means the key or
                // secret is wrong, not the (absent) token.
                Failure::TokenInvalid { code, message }
                | Failure::PermissionDenied { code, message } => DingTalkError::Configuration {
                    api,
                    reason: ConfigurationReason::InvalidCredentials,
                    code,
                    message,
                },
                other => self.to_error(other, &request),
            })?;
        parse_token_reply(&body).ok_or_else(|| DingTalkError::InvalidResponse {
            api,
            detail: "the token reply carries no access token".to_string(),
        })
    }

    /// Sends one HTTP request and classifies the reply; records metrics.
    async fn exchange(
        &self,
        request: &Request<'_>,
        token: Option<&LeasedToken>,
    ) -> Result<Value, Failure> {
        let endpoint = request.endpoint;
        let envelope = endpoint.envelope();
        let base = match envelope {
            Envelope::Oapi => &self.settings.oapi_base_url,
            Envelope::V1 => &self.settings.api_base_url,
        };
        let url = base
            .join(endpoint.path())
            .expect("endpoint paths are valid relative URLs");
        let mut builder = self.http.request(endpoint.method(), url);
        if let Some(token) = token {
            builder = match envelope {
                Envelope::Oapi => builder.query(&[("access_token", token.value.expose_secret())]),
                Envelope::V1 => {
                    builder.header("x-acs-dingtalk-access-token", sensitive(&token.value))
                }
            };
        }
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }

        self.pacer.admit().await;
        let started = Instant::now();
        let outcome = match self.send(builder).await {
            Ok((status, retry_after_header, body)) => classify(
                envelope,
                Reply {
                    status,
                    body: &body,
                    retry_after_header,
                    received_at: Utc::now(),
                },
            ),
            Err(failure) => Err(failure),
        };
        let elapsed = started.elapsed();
        let label = match &outcome {
            Ok(_) => "ok",
            Err(failure) => failure.outcome(),
        };
        metrics::observe_call(endpoint.path(), label, elapsed);
        tracing::debug!(
            api = endpoint.path(),
            process_instance_id = request.process_instance_id.unwrap_or_default(),
            outcome = label,
            elapsed_ms = elapsed.as_millis() as u64,
            "dingtalk call finished"
        );
        outcome
    }

    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), Failure> {
        let response = builder.send().await.map_err(transport_failure)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(transport_failure)?;
        Ok((status, retry_after, body.to_vec()))
    }

    /// Turns a classified failure into the caller's error.
    fn to_error(&self, failure: Failure, request: &Request<'_>) -> DingTalkError {
        let api = request.endpoint.path();
        match failure {
            Failure::TokenInvalid { code, message } => DingTalkError::Configuration {
                api,
                reason: ConfigurationReason::TokenRejected,
                code,
                message,
            },
            Failure::PermissionDenied { code, message } => DingTalkError::Configuration {
                api,
                reason: ConfigurationReason::PermissionDenied,
                code,
                message,
            },
            Failure::Throttled { code, hint } => DingTalkError::Throttled {
                api,
                code,
                retry_after: hint.unwrap_or(self.settings.retry.initial_delay),
            },
            Failure::QuotaExhausted { code, message } => {
                tracing::error!(api, code, "dingtalk monthly api quota exhausted");
                DingTalkError::QuotaExhausted { api, code, message }
            }
            Failure::Configuration {
                reason,
                code,
                message,
            } => DingTalkError::Configuration {
                api,
                reason,
                code,
                message,
            },
            Failure::NotFound { code, message } => match request.process_instance_id {
                Some(id) => DingTalkError::InstanceNotFound {
                    process_instance_id: id.to_string(),
                    code,
                    message,
                },
                None => DingTalkError::Rejected { api, code, message },
            },
            Failure::Transient { detail } => DingTalkError::Transient { api, detail },
            Failure::Rejected { code, message } => DingTalkError::Rejected { api, code, message },
        }
    }
}

fn sensitive(secret: &SecretString) -> HeaderValue {
    let mut value = HeaderValue::from_str(secret.expose_secret())
        .unwrap_or_else(|_| HeaderValue::from_static("invalid-token"));
    value.set_sensitive(true);
    value
}

/// Describes a network failure without its URL, which may hold the token or secret.
fn transport_failure(error: reqwest::Error) -> Failure {
    let untrusted = is_untrusted_certificate(&error);
    let kind = if untrusted {
        "certificate not trusted"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the reply failed"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut detail = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if untrusted {
        return Failure::Configuration {
            reason: ConfigurationReason::UntrustedCertificate,
            code: String::new(),
            message: detail,
        };
    }
    Failure::Transient { detail }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
