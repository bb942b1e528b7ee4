//! Access tokens: one per app, valid 7200 s, renewed when fetched again.
//!
//! DingTalk returns the same token while it is valid and extends its lifetime on every
//! fetch. After expiry it issues a new one. Both token endpoints serve the same token,
//! and both API generations accept it. Tests shorten the lifetime (a token that dies
//! every N seconds) or expire every token at once. Replies still report 7200 s, as a
//! real server does for a token that an administrator's action later revokes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::errors::OapiTokenShape;

/// Lifetime DingTalk documents and reports.
pub const TOKEN_LIFETIME_SECONDS: u64 = 7200;

/// Token lifetime and the shape of invalid-token replies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenPolicy {
    /// Actual lifetime in seconds; shorter than 7200 to make tokens die mid-run.
    #[serde(default = "default_lifetime")]
    pub lifetime_seconds: u64,
    /// oapi reply to an invalid or expired token.
    #[serde(default)]
    pub oapi_shape: OapiTokenShape,
    /// v1.0 HTTP status for an invalid or expired token: 400 or 401.
    #[serde(default = "default_v1_status")]
    pub v1_status: u16,
}

fn default_lifetime() -> u64 {
    TOKEN_LIFETIME_SECONDS
}

fn default_v1_status() -> u16 {
    400
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            lifetime_seconds: TOKEN_LIFETIME_SECONDS,
            oapi_shape: OapiTokenShape::default(),
            v1_status: 400,
        }
    }
}

impl TokenPolicy {
    /// Returns an error message when a field is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.lifetime_seconds == 0 {
            return Err("lifetime_seconds must be at least 1".to_string());
        }
        if self.v1_status != 400 && self.v1_status != 401 {
            return Err(format!(
                "v1_status is {}, expected 400 or 401",
                self.v1_status
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires_at: Instant,
}

/// Tokens by app key.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: HashMap<String, Token>,
    issued: u64,
}

impl TokenStore {
    /// Returns the app's valid token with its life extended, or a new one.
    pub fn issue(&mut self, app_key: &str, lifetime: Duration, now: Instant) -> String {
        let expires_at = now + lifetime;
        if let Some(token) = self.tokens.get_mut(app_key)
            && token.expires_at > now
        {
            token.expires_at = expires_at;
            return token.value.clone();
        }
        self.issued += 1;
        let value = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
        self.tokens.insert(
            app_key.to_string(),
            Token {
                value: value.clone(),
                expires_at,
            },
        );
        value
    }

    /// Reports whether `value` is some app's current, unexpired token.
    pub fn is_valid(&self, value: &str, now: Instant) -> bool {
        self.tokens
            .values()
            .any(|token| token.value == value && token.expires_at > now)
    }

    /// Expires every token; the next fetch issues a new one.
    pub fn expire_all(&mut self, now: Instant) {
        for token in self.tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// Returns how many distinct tokens were issued.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Forgets every token.
    pub fn clear(&mut self) {
        self.tokens.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: Duration = Duration::from_secs(7200);

    #[test]
    fn issue_returns_same_token_while_valid() {
        let mut store = TokenStore::default();
        let start = Instant::now();
        let first = store.issue("app", LIFE, start);
        let again = store.issue("app", LIFE, start + Duration::from_secs(7000));
        assert_eq!(first, again, "same token while valid");
        assert!(
            store.is_valid(&first, start + Duration::from_secs(7300)),
            "the second fetch renewed the expiry"
        );
    }

    #[test]
    fn issue_replaces_expired_token() {
        let mut store = TokenStore::default();
        let start = Instant::now();
        let first = store.issue("app", LIFE, start);
        let later = start + Duration::from_secs(7201);
        assert!(!store.is_valid(&first, later), "expired after 7200 s");
        let second = store.issue("app", LIFE, later);
        assert_ne!(first, second, "a new token after expiry");
        assert_eq!(store.issued(), 2);
    }

    #[test]
    fn expire_all_invalidates_tokens() {
        let mut store = TokenStore::default();
        let start = Instant::now();
        let token = store.issue("app", LIFE, start);
        store.expire_all(start);
        assert!(!store.is_valid(&token, start), "expired at once");
    }

    #[test]
    fn tokens_are_per_app() {
        let mut store = TokenStore::default();
        let start = Instant::now();
        let first = store.issue("app-a", LIFE, start);
        let second = store.issue("app-b", LIFE, start);
        assert_ne!(first, second, "each app has its own token");
    }

    #[test]
    fn policy_rejects_other_v1_status() {
        let policy = TokenPolicy {
            v1_status: 403,
            ..TokenPolicy::default()
        };
        assert!(policy.validate().is_err());
    }
}
