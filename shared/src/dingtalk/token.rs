//! The access-token cache of one app.
//!
//! DingTalk tokens live 7200 seconds and fetching one within its lifetime returns the same
//! token, renewed; fetching too often is throttled. The cache therefore keeps one token,
//! replaces it a margin before expiry, and lets one fetch run at a time: callers that
//! arrive during a fetch wait for its result instead of starting their own.
//!
//! A reply whose expiry is missing, zero or negative would, taken literally, make every
//! call fetch a new token. Such an expiry is replaced by the documented lifetime, and no
//! token is reused for less than [`MIN_REUSE`], so a bad reply cannot start a refresh
//! loop. If the token really is dead, the invalid-token handling replaces it.

use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::config::TOKEN_LIFETIME_SECONDS;
use super::error::DingTalkError;

/// Shortest time a fetched token is reused before the cache fetches again by itself.
pub(crate) const MIN_REUSE: Duration = Duration::from_secs(30);

/// A token as fetched, before caching.
pub(crate) struct FetchedToken {
    /// The token.
    pub value: SecretString,
    /// `expires_in` / `expireIn` in seconds, when the reply had a number there.
    pub expires_in: Option<i64>,
}

/// A token handed to one call; `generation` identifies it when it must be dropped.
#[derive(Clone)]
pub(crate) struct LeasedToken {
    /// The token.
    pub value: SecretString,
    /// Sequence number of the fetch that produced it.
    pub generation: u64,
}

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
    generation: u64,
}

#[derive(Default)]
struct State {
    token: Option<CachedToken>,
    fetches: u64,
}

/// One app's token, shared by every clone of its client.
pub(crate) struct TokenCache {
    state: Mutex<State>,
    margin: Duration,
}

impl TokenCache {
    /// Creates an empty cache that refreshes `margin` before expiry.
    pub(crate) fn new(margin: Duration) -> TokenCache {
        TokenCache {
            state: Mutex::new(State::default()),
            margin,
        }
    }

    /// Returns the cached token, or fetches one with `fetch` when there is none or it is
    /// due for refresh. Concurrent callers wait for a single fetch.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<LeasedToken, DingTalkError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FetchedToken, DingTalkError>>,
    {
        let mut state = self.state.lock().await;
        if let Some(token) = &state.token
            && Instant::now() < token.refresh_at
        {
            return Ok(LeasedToken {
                value: token.value.clone(),
                generation: token.generation,
            });
        }
        let fetched = fetch().await?;
        state.fetches += 1;
        let generation = state.fetches;
        let reuse = reuse_period(fetched.expires_in, self.margin);
        state.token = Some(CachedToken {
            value: fetched.value.clone(),
            refresh_at: Instant::now() + reuse,
            generation,
        });
        tracing::debug!(
            generation,
            reuse_seconds = reuse.as_secs(),
            "dingtalk access token fetched"
        );
        Ok(LeasedToken {
            value: fetched.value,
            generation,
        })
    }

    /// Drops the token of `generation` after DingTalk rejected it. A token fetched since
    /// by another call is kept, so concurrent failures cause one refresh, not several.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state
            .token
            .as_ref()
            .is_some_and(|token| token.generation == generation)
        {
            state.token = None;
        }
    }

    /// Returns how many tokens were fetched so far.
    #[cfg(test)]
    pub(crate) async fn fetch_count(&self) -> u64 {
        self.state.lock().await.fetches
    }
}

/// Returns how long a token with the given expiry is reused before a refresh.
pub(crate) fn reuse_period(expires_in: Option<i64>, margin: Duration) -> Duration {
    let lifetime = match expires_in {
        Some(seconds) if seconds > 0 => Duration::from_secs(seconds.unsigned_abs()),
        _ => Duration::from_secs(TOKEN_LIFETIME_SECONDS),
    };
    lifetime
        .saturating_sub(margin)
        .max(lifetime / 2)
        .max(MIN_REUSE)
}

/// Reads the token and its expiry from a `gettoken` (`access_token`, `expires_in`) or
/// v1.0 (`accessToken`, `expireIn`) reply; `None` when there is no token.
pub(crate) fn parse_token_reply(body: &Value) -> Option<FetchedToken> {
    let value = body
        .get("access_token")
        .or_else(|| body.get("accessToken"))
        .and_then(Value::as_str)
        .filter(|token| !token.trim().is_empty())?;
    let expires_in = body
        .get("expires_in")
        .or_else(|| body.get("expireIn"))
        .and_then(|value| match value {
            Value::Number(number) => number.as_i64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        });
    Some(FetchedToken {
        value: SecretString::from(value.to_string()),
        expires_in,
    })
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
