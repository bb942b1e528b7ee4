//! The session cookies K3Cloud hands out, shared by every task using one client.
//!
//! Under session auth the cookies `kdservice-sessionid` and `ASP.NET_SessionId` come
//! from one login and are reused until the server reports `MsgCode` 1; K3Cloud asks
//! callers not to log in per call, because each login keeps a server context alive for
//! about 20 minutes. Under signature auth the server creates sessions by itself and the
//! client only echoes back the `kdservice-sessionid` cookie, as the official SDK does.
//!
//! Each login bumps a generation number. A task that saw `MsgCode` 1 under generation
//! `g` logs in again only if the generation is still `g`, under a lock, so a burst of
//! failing tasks causes one login, not one per task.

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex as AsyncMutex, MutexGuard as AsyncMutexGuard};

/// Cookie of the K3Cloud session id (value of `KDSVCSessionId`).
pub const KD_SESSION_COOKIE: &str = "kdservice-sessionid";

/// Cookie of the ASP.NET session (value of `Context.SessionId`).
pub const ASPNET_SESSION_COOKIE: &str = "ASP.NET_SessionId";

/// A copy of the session cookies at one moment.
#[derive(Clone, Default)]
pub struct SessionSnapshot {
    /// Login count when the copy was taken.
    pub generation: u64,
    /// Whether a login has succeeded and not been invalidated since.
    pub established: bool,
    /// `kdservice-sessionid` value.
    pub kd_session: Option<SecretString>,
    /// `ASP.NET_SessionId` value.
    pub aspnet_session: Option<SecretString>,
}

impl SessionSnapshot {
    /// Builds the `Cookie` header, `None` when there is no cookie to send.
    pub fn cookie_header(&self) -> Option<String> {
        let pairs: Vec<String> = [
            (KD_SESSION_COOKIE, &self.kd_session),
            (ASPNET_SESSION_COOKIE, &self.aspnet_session),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .map(|value| format!("{name}={}", value.expose_secret()))
        })
        .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Returns the secret values, for masking them in excerpts.
    pub fn secret_values(&self) -> Vec<String> {
        [&self.kd_session, &self.aspnet_session]
            .into_iter()
            .flatten()
            .map(|value| value.expose_secret().to_string())
            .collect()
    }
}

impl std::fmt::Debug for SessionSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSnapshot")
            .field("generation", &self.generation)
            .field("established", &self.established)
            .field("has_kd_session", &self.kd_session.is_some())
            .field("has_aspnet_session", &self.aspnet_session.is_some())
            .finish()
    }
}

/// Session cookies plus the lock that makes logins single-flight.
#[derive(Default)]
pub struct SessionStore {
    state: std::sync::Mutex<SessionSnapshot>,
    login_lock: AsyncMutex<()>,
}

impl SessionStore {
    /// Copies the current cookies.
    pub fn snapshot(&self) -> SessionSnapshot {
        self.lock().clone()
    }

    /// Waits for the login lock. Only the task holding it logs in.
    pub async fn login_lock(&self) -> AsyncMutexGuard<'_, ()> {
        self.login_lock.lock().await
    }

    /// Stores the cookies of a successful login and starts a new generation.
    pub fn install(&self, kd_session: SecretString, aspnet_session: Option<SecretString>) {
        let mut state = self.lock();
        state.generation += 1;
        state.established = true;
        state.kd_session = Some(kd_session);
        state.aspnet_session = aspnet_session;
    }

    /// Drops the cookies, so the next call logs in (session auth) or lets the server
    /// authenticate from the signature headers (signature auth).
    pub fn forget(&self) {
        let mut state = self.lock();
        state.established = false;
        state.kd_session = None;
        state.aspnet_session = None;
    }

    /// Takes session cookies a reply set. Cookies of a reply to an older generation are
    /// ignored, so a slow reply cannot undo a newer login.
    pub fn absorb(&self, generation: u64, cookies: &[(String, SecretString)]) {
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        for (name, value) in cookies {
            let value = Some(value.clone()).filter(|value| !value.expose_secret().is_empty());
            if name.eq_ignore_ascii_case(KD_SESSION_COOKIE) {
                state.kd_session = value;
            } else if name.eq_ignore_ascii_case(ASPNET_SESSION_COOKIE) {
                state.aspnet_session = value;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionSnapshot> {
        // The state is plain data that every writer leaves consistent, so a poisoned lock
        // (a panic elsewhere while holding it) is safe to reuse.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("state", &self.snapshot())
            .finish()
    }
}

/// Reads the session cookies out of `Set-Cookie` header values; other cookies are
/// ignored.
pub fn session_cookies<'a>(
    set_cookies: impl Iterator<Item = &'a str>,
) -> Vec<(String, SecretString)> {
    set_cookies
        .filter_map(|header| {
            let pair = header.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            let is_session = name.eq_ignore_ascii_case(KD_SESSION_COOKIE)
                || name.eq_ignore_ascii_case(ASPNET_SESSION_COOKIE);
            is_session.then(|| {
                (
                    name.to_string(),
                    SecretString::from(value.trim().to_string()),
                )
            })
        })
        .collect()
}

/// Returns the value of the named cookie among `cookies`.
pub fn cookie_value(cookies: &[(String, SecretString)], name: &str) -> Option<SecretString> {
    cookies
        .iter()
        .find(|(cookie, value)| {
            cookie.eq_ignore_ascii_case(name) && !value.expose_secret().is_empty()
        })
        .map(|(_, value)| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_keep_only_session_names() {
        let headers = [
            "kdservice-sessionid=2c6dfa6c; path=/",
            "ASP.NET_SessionId=n3xfizba; path=/; HttpOnly",
            "Theme=standard",
        ];
        let cookies = session_cookies(headers.into_iter());
        let names: Vec<&str> = cookies.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, [KD_SESSION_COOKIE, ASPNET_SESSION_COOKIE]);
        let kd = cookie_value(&cookies, KD_SESSION_COOKIE).unwrap();
        assert_eq!(kd.expose_secret(), "2c6dfa6c");
    }

    #[test]
    fn cookie_header_joins_both_cookies() {
        let store = SessionStore::default();
        store.install(SecretString::from("kd1"), Some(SecretString::from("asp1")));
        let header = store.snapshot().cookie_header();
        assert_eq!(
            header.as_deref(),
            Some("kdservice-sessionid=kd1; ASP.NET_SessionId=asp1")
        );
    }

    #[test]
    fn absorb_ignores_older_generation() {
        let store = SessionStore::default();
        store.install(SecretString::from("kd1"), None);
        let old = store.snapshot().generation;
        store.install(SecretString::from("kd2"), None);
        store.absorb(
            old,
            &[(KD_SESSION_COOKIE.to_string(), SecretString::from("stale"))],
        );
        let kd = store.snapshot().kd_session.unwrap();
        assert_eq!(
            kd.expose_secret(),
            "kd2",
            "a reply to an older login must not win"
        );
    }

    #[test]
    fn forget_clears_cookies() {
        let store = SessionStore::default();
        store.install(SecretString::from("kd1"), None);
        store.forget();
        let snapshot = store.snapshot();
        assert!(!snapshot.established, "no session after forget");
        assert!(snapshot.cookie_header().is_none(), "no cookie after forget");
    }

    #[test]
    fn debug_hides_session_ids() {
        let store = SessionStore::default();
        store.install(
            SecretString::from("kd-secret-1"),
            Some(SecretString::from("asp-secret-1")),
        );
        let text = format!("{store:?}");
        assert!(!text.contains("kd-secret-1"), "kd session leaked: {text}");
        assert!(!text.contains("asp-secret-1"), "asp session leaked: {text}");
    }
}
