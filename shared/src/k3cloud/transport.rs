//! One HTTP exchange with K3Cloud: URL, headers, signature, session cookies, timing.
//!
//! Redirects are not followed (a 302 would turn the POST into a GET), and the reqwest
//! cookie store stays off: the session cookies are managed by
//! [`SessionStore`](super::session::SessionStore) so that a
//! login can replace them for every task at once.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT_CHARSET, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::classify::{TransportFailure, classify_transport};
use super::config::{AuthSettings, K3CloudSettings};
use super::error::CallError;
use super::metrics;
use super::operation::Operation;
use super::reason::Reason;
use super::request::service_url;
use super::session::{KD_SESSION_COOKIE, SessionSnapshot, session_cookies};
use super::signature::{SignatureInput, sign};
use crate::config::http::is_untrusted_certificate;

/// Status, body and session cookies of one reply.
pub struct RawReply {
    /// HTTP status code.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// `Location` header of a redirect.
    pub location: Option<String>,
    /// Session cookies the reply set.
    pub cookies: Vec<(String, SecretString)>,
}

/// Builds the HTTP client from the settings: timeouts, extra CA, no redirects.
pub fn build_http_client(settings: &K3CloudSettings) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("dingk3/", env!("CARGO_PKG_VERSION")));
    if !settings.tls_ca_certificates.is_empty() {
        builder = builder.tls_certs_merge(settings.tls_ca_certificates.iter().cloned());
    }
    builder.build()
}

/// Sends `body` to the service of `operation` and reads the whole reply.
///
/// `session` is the cookie state to send; `None` sends no cookie (logins).
pub async fn exchange(
    http: &reqwest::Client,
    settings: &K3CloudSettings,
    operation: Operation,
    body: &Value,
    session: Option<&SessionSnapshot>,
) -> Result<RawReply, CallError> {
    let url =
        service_url(&settings.base_url, operation).map_err(|error| CallError::Configuration {
            operation,
            reason: Reason::InvalidRequest {
                detail: error.to_string(),
            },
        })?;
    let mut request = http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT_CHARSET, "utf-8")
        .body(body.to_string());

    if let AuthSettings::Signature { app_id, app_secret } = &settings.auth
        && !operation.is_login()
    {
        let headers = sign(&SignatureInput {
            path: url.path(),
            acct_id: &settings.acct_id,
            username: &settings.username,
            app_id,
            app_secret: app_secret.expose_secret(),
            lcid: settings.lcid,
            org_num: &settings.org_num,
            timestamp: unix_seconds(),
        });
        for (name, value) in headers.headers {
            request = request.header(name, value);
        }
    }
    if let Some(snapshot) = session {
        if let Some(cookie) = snapshot.cookie_header() {
            request = request.header(COOKIE, cookie);
        }
        // The official SDK sends the session id as a header as well as a cookie.
        if let Some(kd_session) = &snapshot.kd_session {
            request = request.header(KD_SESSION_COOKIE, kd_session.expose_secret());
        }
    }

    let started = Instant::now();
    let result = send(request).await;
    metrics::observe_request(operation, started.elapsed().as_secs_f64());
    result.map_err(|failure| classify_transport(operation, failure, settings.request_timeout))
}

async fn send(request: reqwest::RequestBuilder) -> Result<RawReply, TransportFailure> {
    let response = request.send().await.map_err(transport_failure)?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let cookies = session_cookies(
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok()),
    );
    let bytes = response.bytes().await.map_err(transport_failure)?;
    Ok(RawReply {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        location,
        cookies,
    })
}

/// Sorts a reqwest error. A connect error counts as "nothing sent" even when it was a
/// connect timeout, because no byte of the request left the client.
fn transport_failure(error: reqwest::Error) -> TransportFailure {
    let detail = error_chain(&error);
    if error.is_builder() {
        TransportFailure::Build(detail)
    } else if is_untrusted_certificate(&error) {
        TransportFailure::UntrustedCertificate(detail)
    } else if error.is_connect() {
        TransportFailure::Connect(detail)
    } else if error.is_timeout() {
        TransportFailure::Timeout
    } else {
        TransportFailure::Broken(detail)
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

fn unix_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}
