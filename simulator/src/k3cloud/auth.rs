//! Authentication: sessions and the signature headers of the official SDKs.
//!
//! The real server behaves like this, and so does the simulator:
//! - a request carrying a live session id (cookie `kdservice-sessionid`, header
//!   `kdservice-sessionid` or header `SID`) passes without any credential check, and
//!   the session's idle clock restarts (sliding expiry, 20 minutes by default);
//! - otherwise signature headers (`X-Kd-Appkey`, `X-Kd-Appdata`, `X-Kd-Signature`,
//!   `X-Api-Signature`) are checked; success opens a new session whose id the reply
//!   sets as cookies `kdservice-sessionid` and `ASP.NET_SessionId`;
//! - an unknown account set in `X-Kd-Appdata` fails with a non-200 reply "Fail to
//!   verify thirty passport";
//! - a wrong user, app id, app secret or `lcid` fails as a lost session (`MsgCode`
//!   1), and so does a request with neither a session nor signature headers.
//!
//! The server does not check timestamp freshness or nonce reuse, and neither do we.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use dingk3::k3cloud::signature::{SignatureInput, kd_hmac, sign};
use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::ExposeSecret;

use crate::k3cloud::credentials::{Credentials, VALID_LCIDS};

/// Cookie and header carrying the K3Cloud session id.
pub const SESSION_COOKIE: &str = "kdservice-sessionid";

/// ASP.NET cookie the server sets beside the session id.
pub const ASP_NET_COOKIE: &str = "ASP.NET_SessionId";

/// A live session.
#[derive(Debug, Clone)]
struct Session {
    last_seen: Instant,
}

/// The session ids of a new login, sent back as cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// `KDSVCSessionId`, cookie `kdservice-sessionid`.
    pub kd_session_id: String,
    /// `Context.SessionId`, cookie `ASP.NET_SessionId`.
    pub asp_session_id: String,
}

impl NewSession {
    /// Formats the `Set-Cookie` header values of this session.
    pub fn set_cookie_headers(&self) -> [String; 2] {
        [
            format!("{SESSION_COOKIE}={}; path=/", self.kd_session_id),
            format!("{ASP_NET_COOKIE}={}; path=/; HttpOnly", self.asp_session_id),
        ]
    }
}

/// Sessions with sliding idle expiry and optional periodic mass expiry.
#[derive(Debug)]
pub struct Sessions {
    live: HashMap<String, Session>,
    last_mass_expiry: Instant,
}

/// Above this many sessions, expired ones are swept on the next login.
const SWEEP_THRESHOLD: usize = 10_000;

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            live: HashMap::new(),
            last_mass_expiry: Instant::now(),
        }
    }
}

impl Sessions {
    /// Checks `id` and restarts its idle clock; expired sessions are removed.
    pub fn touch(&mut self, id: &str, now: Instant, idle: Duration, every: Duration) -> bool {
        self.apply_mass_expiry(now, every);
        match self.live.get_mut(id) {
            Some(session) if now.duration_since(session.last_seen) <= idle => {
                session.last_seen = now;
                true
            }
            Some(_) => {
                self.live.remove(id);
                false
            }
            None => false,
        }
    }

    /// Opens a session.
    pub fn open(&mut self, now: Instant, idle: Duration, every: Duration) -> NewSession {
        self.apply_mass_expiry(now, every);
        if self.live.len() > SWEEP_THRESHOLD {
            self.live
                .retain(|_, session| now.duration_since(session.last_seen) <= idle);
        }
        let session = NewSession {
            kd_session_id: uuid::Uuid::new_v4().to_string(),
            asp_session_id: rand::rng()
                .sample_iter(&Alphanumeric)
                .take(24)
                .map(|byte| char::from(byte).to_ascii_lowercase())
                .collect(),
        };
        self.live
            .insert(session.kd_session_id.clone(), Session { last_seen: now });
        session
    }

    /// Ends session `id`; returns whether it was live.
    pub fn close(&mut self, id: &str) -> bool {
        self.live.remove(id).is_some()
    }

    /// Ends every session.
    pub fn expire_all(&mut self) {
        self.live.clear();
    }

    /// Returns the ids (`KDSVCSessionId`) of the sessions not yet removed.
    pub fn ids(&self) -> Vec<String> {
        self.live.keys().cloned().collect()
    }

    /// Number of sessions not yet removed (some may be idle past expiry).
    pub fn len(&self) -> usize {
        self.live.len()
    }

    fn apply_mass_expiry(&mut self, now: Instant, every: Duration) {
        if every.is_zero() {
            return;
        }
        if now.duration_since(self.last_mass_expiry) >= every {
            self.live.clear();
            self.last_mass_expiry = now;
        }
    }
}

/// Finds the session id a request carries: header `kdservice-sessionid`, header `SID`,
/// then the cookie.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    for name in [SESSION_COOKIE, "SID"] {
        if let Some(value) = headers.get(name).and_then(|value| value.to_str().ok())
            && !value.trim().is_empty()
        {
            return Some(value.trim().to_string());
        }
    }
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| name.trim() == SESSION_COOKIE && !value.trim().is_empty())
        .map(|(_, value)| value.trim().to_string())
}

/// Outcome of checking signature headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Headers match the configured credentials.
    Valid,
    /// The account set in `X-Kd-Appdata` is not ours.
    UnknownAccount,
    /// Headers are present but wrong.
    Rejected(&'static str),
    /// No signature headers.
    Absent,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// Checks the signature headers of a request to URL path `path`.
pub fn check_signature(
    headers: &HeaderMap,
    path: &str,
    credentials: &Credentials,
) -> SignatureCheck {
    let (Some(app_key), Some(app_data), Some(kd_signature)) = (
        header(headers, "X-Kd-Appkey"),
        header(headers, "X-Kd-Appdata"),
        header(headers, "X-Kd-Signature"),
    ) else {
        return SignatureCheck::Absent;
    };

    let Some(plain) = BASE64
        .decode(app_data)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return SignatureCheck::Rejected("X-Kd-Appdata is not base64 of UTF-8 text");
    };
    let parts: Vec<&str> = plain.split(',').collect();
    let [acct_id, username, lcid, org_num] = parts[..] else {
        return SignatureCheck::Rejected("X-Kd-Appdata does not have four parts");
    };

    if acct_id != credentials.acct_id {
        return SignatureCheck::UnknownAccount;
    }
    if username != credentials.username {
        return SignatureCheck::Rejected("unknown user");
    }
    if app_key != credentials.app_id {
        return SignatureCheck::Rejected("unknown app id");
    }
    let Some(lcid) = lcid
        .parse::<u32>()
        .ok()
        .filter(|id| VALID_LCIDS.contains(id))
    else {
        return SignatureCheck::Rejected("invalid lcid");
    };

    let app_secret = credentials.app_secret.expose_secret();
    if kd_hmac(&format!("{app_key}{plain}"), app_secret) != kd_signature {
        return SignatureCheck::Rejected("X-Kd-Signature does not match the app secret");
    }

    // X-Api-Signature signs the URL path with the client secret derived from the app id.
    let Some(api_signature) = header(headers, "X-Api-Signature") else {
        return SignatureCheck::Valid;
    };
    let Some(timestamp) = header(headers, "x-api-timestamp").and_then(|text| text.parse().ok())
    else {
        return SignatureCheck::Rejected("x-api-timestamp is missing or not a number");
    };
    let decoded_path = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let expected = sign(&SignatureInput {
        path: &decoded_path,
        acct_id,
        username,
        app_id: app_key,
        app_secret,
        lcid,
        org_num,
        timestamp,
    });
    if expected.get("X-Api-Signature") == Some(api_signature) {
        SignatureCheck::Valid
    } else {
        SignatureCheck::Rejected("X-Api-Signature does not match the request path")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};
    use secrecy::SecretString;

    use super::*;

    const PATH: &str =
        "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc";

    fn headers_for(credentials: &Credentials, acct_id: &str, lcid: u32) -> HeaderMap {
        let signed = sign(&SignatureInput {
            path: PATH,
            acct_id,
            username: &credentials.username,
            app_id: &credentials.app_id,
            app_secret: credentials.app_secret.expose_secret(),
            lcid,
            org_num: "0",
            timestamp: 1_700_000_000,
        });
        let mut headers = HeaderMap::new();
        for (name, value) in signed.headers {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn sdk_headers_are_valid() {
        let credentials = Credentials::default();
        let headers = headers_for(&credentials, &credentials.acct_id, 2052);
        assert_eq!(
            check_signature(&headers, PATH, &credentials),
            SignatureCheck::Valid
        );
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let signer = Credentials {
            app_secret: SecretString::from("wrong"),
            ..Credentials::default()
        };
        let headers = headers_for(&signer, &signer.acct_id, 2052);
        assert!(matches!(
            check_signature(&headers, PATH, &Credentials::default()),
            SignatureCheck::Rejected(_)
        ));
    }

    #[test]
    fn unknown_account_is_distinguished() {
        let credentials = Credentials::default();
        let headers = headers_for(&credentials, "000000000000", 2052);
        assert_eq!(
            check_signature(&headers, PATH, &credentials),
            SignatureCheck::UnknownAccount
        );
    }

    #[test]
    fn invalid_lcid_and_other_path_are_rejected() {
        let credentials = Credentials::default();
        let headers = headers_for(&credentials, &credentials.acct_id, 9999);
        assert!(matches!(
            check_signature(&headers, PATH, &credentials),
            SignatureCheck::Rejected(_)
        ));
        let headers = headers_for(&credentials, &credentials.acct_id, 2052);
        assert!(matches!(
            check_signature(&headers, "/k3cloud/Other.common.kdsvc", &credentials),
            SignatureCheck::Rejected(_)
        ));
    }

    #[test]
    fn no_headers_is_absent() {
        assert_eq!(
            check_signature(&HeaderMap::new(), PATH, &Credentials::default()),
            SignatureCheck::Absent
        );
    }

    #[test]
    fn session_id_sources() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "cookie",
            HeaderValue::from_static("Theme=standard;kdservice-sessionid=abc; ASP.NET_SessionId=x"),
        );
        assert_eq!(session_id(&headers).as_deref(), Some("abc"));
        headers.insert("SID", HeaderValue::from_static("sid-header"));
        assert_eq!(session_id(&headers).as_deref(), Some("sid-header"));
        headers.insert("kdservice-sessionid", HeaderValue::from_static("kd-header"));
        assert_eq!(session_id(&headers).as_deref(), Some("kd-header"));
    }

    #[test]
    fn sessions_expire_when_idle() {
        let mut sessions = Sessions::default();
        let start = Instant::now();
        let idle = Duration::from_secs(10);
        let opened = sessions.open(start, idle, Duration::ZERO);
        let id = opened.kd_session_id;
        assert!(sessions.touch(&id, start + Duration::from_secs(8), idle, Duration::ZERO));
        assert!(
            sessions.touch(&id, start + Duration::from_secs(16), idle, Duration::ZERO),
            "sliding expiry restarts on use"
        );
        assert!(!sessions.touch(&id, start + Duration::from_secs(27), idle, Duration::ZERO));
        assert_eq!(sessions.len(), 0, "expired session removed");
        assert_eq!(opened.asp_session_id.len(), 24);
    }

    #[test]
    fn periodic_expiry_ends_every_session() {
        let mut sessions = Sessions::default();
        let start = Instant::now();
        let idle = Duration::from_secs(600);
        let every = Duration::from_secs(5);
        let id = sessions.open(start, idle, every).kd_session_id;
        assert!(!sessions.touch(&id, start + Duration::from_secs(6), idle, every));
    }
}
