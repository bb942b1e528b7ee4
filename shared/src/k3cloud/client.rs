//! [`K3CloudClient`]: one per process, cloned into every task.
//!
//! This file contains the call engine shared by every service: authentication, the
//! session-lost rule, classification and metrics. The form services themselves
//! (`batch_save`, `view`, `existing_bills`, …) are in `forms.rs`, logins in `login.rs`.
//!
//! The session-lost rule: under session auth a reply with `MsgCode` 1 makes the client
//! log in again once (single-flight across tasks). A read is then sent once more; a
//! write is not, and returns [`CallError::SessionLost`], because the caller must first
//! probe by bill number. Under signature auth `MsgCode` 1 means wrong credentials and is
//! a [`CallError::Configuration`] at once.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config::ConfigError;
use crate::text;

use super::classify::{StatusClass, classify_http, classify_status, malformed_error};
use super::config::{AuthSettings, K3CloudSettings, SessionLogin};
use super::decode::{Malformed, ResponseStatus};
use super::error::CallError;
use super::excerpt::redact;
use super::metrics;
use super::operation::Operation;
use super::reason::Reason;
use super::session::SessionStore;
use super::transport::{RawReply, build_http_client, exchange};

/// The K3Cloud WebAPI client. Cloning is cheap and clones share the HTTP connection
/// pool and the session.
#[derive(Clone)]
pub struct K3CloudClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) settings: K3CloudSettings,
    pub(super) http: reqwest::Client,
    pub(super) session: SessionStore,
}

/// A decoded reply and the masked excerpt of its body.
pub(super) struct Decoded<T> {
    pub(super) value: T,
    pub(super) excerpt: String,
}

impl K3CloudClient {
    /// Creates a client; no request is sent until the first call. Fails only when the
    /// TLS setup cannot be built, which names `tls_ca_file` if one was given.
    pub fn new(settings: K3CloudSettings) -> Result<K3CloudClient, ConfigError> {
        let http = build_http_client(&settings).map_err(|error| {
            let key = if settings.tls_ca_file.is_some() {
                "tls_ca_file"
            } else {
                ""
            };
            ConfigError::new(
                key,
                text!(
                    en: "cannot set up the HTTP client: {error}",
                    zh: "无法创建 HTTP 客户端：{error}",
                ),
            )
        })?;
        Ok(K3CloudClient {
            inner: Arc::new(Inner {
                settings,
                http,
                session: SessionStore::default(),
            }),
        })
    }

    /// Returns the settings the client was built from.
    pub fn settings(&self) -> &K3CloudSettings {
        &self.inner.settings
    }

    /// Sends one request and applies the session-lost rule. `status_of` picks the
    /// `ResponseStatus` out of a decoded reply, if it has one.
    pub(super) async fn call<T>(
        &self,
        operation: Operation,
        body: &Value,
        decode: fn(&str) -> Result<T, Malformed>,
        status_of: fn(&T) -> Option<&ResponseStatus>,
    ) -> Result<Decoded<T>, CallError> {
        let mut logged_in_again = false;
        loop {
            let snapshot = self.session_for_call().await?;
            let reply = exchange(
                &self.inner.http,
                &self.inner.settings,
                operation,
                body,
                Some(&snapshot),
            )
            .await?;
            self.inner
                .session
                .absorb(snapshot.generation, &reply.cookies);
            let excerpt = self.masked_excerpt(&reply.body);
            if let Some(error) = self.check_http(operation, &reply) {
                return Err(error);
            }
            let value =
                decode(&reply.body).map_err(|malformed| self.malformed(operation, malformed))?;
            let Some(status) = status_of(&value) else {
                return Ok(Decoded { value, excerpt });
            };

            match self.classify(status) {
                StatusClass::Items => return Ok(Decoded { value, excerpt }),
                StatusClass::Transient(reason) => {
                    return Err(CallError::Transient { operation, reason });
                }
                StatusClass::Configuration(reason) => {
                    return Err(CallError::Configuration { operation, reason });
                }
                StatusClass::Unclear => {
                    return Err(CallError::UnknownOutcome {
                        operation,
                        reason: Reason::UnexpectedReply {
                            defect: super::decode::ReplyDefect::UnexpectedShape,
                            excerpt,
                        },
                    });
                }
                StatusClass::SessionLost { message } => {
                    self.session_lost(operation, snapshot.generation, message, logged_in_again)
                        .await?;
                    logged_in_again = true;
                }
            }
        }
    }

    /// Handles `MsgCode` 1. Returns `Ok` only when a read should be sent again.
    async fn session_lost(
        &self,
        operation: Operation,
        generation: u64,
        message: String,
        logged_in_again: bool,
    ) -> Result<(), CallError> {
        if let AuthSettings::Signature { .. } = self.inner.settings.auth {
            // Drop the echoed session id too: a live one would let later calls pass
            // without checking the credentials that just failed.
            self.inner.session.forget();
            return Err(CallError::Configuration {
                operation,
                reason: Reason::CredentialsRejected { message },
            });
        }
        let lost = || CallError::SessionLost {
            operation,
            reason: Reason::SessionExpired {
                message: message.clone(),
            },
        };
        if logged_in_again {
            return Err(lost());
        }
        tracing::info!(
            operation = operation.label(),
            "k3cloud session lost, logging in again"
        );
        match self.login_again(generation).await {
            Ok(()) if operation.is_write() => Err(lost()),
            Ok(()) => Ok(()),
            Err(error @ CallError::Configuration { .. }) => Err(error),
            Err(error) if operation.is_write() => {
                tracing::warn!(operation = operation.label(), %error, "k3cloud login after session loss failed");
                Err(lost())
            }
            Err(error) => Err(error),
        }
    }

    /// Classifies a status with every server text masked.
    fn classify(&self, status: &ResponseStatus) -> StatusClass {
        match classify_status(status) {
            StatusClass::SessionLost { message } => StatusClass::SessionLost {
                message: self.redact(&message),
            },
            StatusClass::Transient(reason) => StatusClass::Transient(self.redact_reason(reason)),
            StatusClass::Configuration(reason) => {
                StatusClass::Configuration(self.redact_reason(reason))
            }
            other => other,
        }
    }

    fn redact_reason(&self, reason: Reason) -> Reason {
        reason.map_text(|text| self.redact(text))
    }

    pub(super) fn check_http(&self, operation: Operation, reply: &RawReply) -> Option<CallError> {
        classify_http(
            operation,
            reply.status,
            &reply.body,
            reply.location.as_deref(),
        )
        .map(|error| self.redact_error(error))
    }

    pub(super) fn malformed(&self, operation: Operation, mut malformed: Malformed) -> CallError {
        malformed.excerpt = self.redact(&malformed.excerpt);
        malformed_error(operation, malformed)
    }

    /// Returns the excerpt of a body with every known secret masked.
    pub(super) fn masked_excerpt(&self, body: &str) -> String {
        self.redact(&super::excerpt::excerpt(body))
    }

    /// Masks the app secret, the password and the session ids in `text`.
    pub(super) fn redact(&self, text: &str) -> String {
        let mut secrets: Vec<String> = self.inner.session.snapshot().secret_values();
        match &self.inner.settings.auth {
            AuthSettings::Signature { app_secret, .. }
            | AuthSettings::Session(SessionLogin::AppSecret { app_secret, .. }) => {
                secrets.push(app_secret.expose_secret().to_string());
            }
            AuthSettings::Session(SessionLogin::Password { password }) => {
                secrets.push(password.expose_secret().to_string());
            }
        }
        let borrowed: Vec<&str> = secrets.iter().map(String::as_str).collect();
        redact(text, &borrowed)
    }

    fn redact_error(&self, error: CallError) -> CallError {
        error.map_text(|text| self.redact(text))
    }

    /// Counts a finished call and logs a failure with the same labels; `label` names
    /// the outcome of a successful call (`ok`, `rejected`, `unknown_outcome`).
    pub(super) fn finish<T>(
        &self,
        operation: Operation,
        result: Result<T, CallError>,
        label: fn(&T) -> &'static str,
    ) -> Result<T, CallError> {
        match &result {
            Ok(value) => {
                let outcome = label(value);
                metrics::count_call(operation, outcome);
                if outcome != "ok" {
                    tracing::warn!(
                        operation = operation.label(),
                        outcome,
                        "k3cloud did not save or run every item of the call"
                    );
                }
            }
            Err(error) => {
                metrics::count_call(operation, error.kind_label());
                tracing::warn!(
                    operation = operation.label(),
                    outcome = error.kind_label(),
                    %error,
                    "k3cloud call failed"
                );
            }
        }
        result
    }
}

impl std::fmt::Debug for K3CloudClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = &self.inner.settings;
        let auth = match settings.auth {
            AuthSettings::Signature { .. } => "signature",
            AuthSettings::Session(SessionLogin::AppSecret { .. }) => "session (app secret)",
            AuthSettings::Session(SessionLogin::Password { .. }) => "session (password)",
        };
        f.debug_struct("K3CloudClient")
            .field("base_url", &settings.base_url.as_str())
            .field("acct_id", &settings.acct_id)
            .field("username", &settings.username)
            .field("auth", &auth)
            .field("session", &self.inner.session)
            .finish()
    }
}
