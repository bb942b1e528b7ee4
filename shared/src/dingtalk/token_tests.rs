use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use secrecy::ExposeSecret;
use serde_json::json;

use super::*;

const MARGIN: Duration = Duration::from_secs(600);

fn fetched(token: &str, expires_in: Option<i64>) -> FetchedToken {
    FetchedToken {
        value: SecretString::from(token.to_string()),
        expires_in,
    }
}

#[test]
fn reuse_subtracts_margin() {
    assert_eq!(reuse_period(Some(7200), MARGIN), Duration::from_secs(6600));
}

#[test]
fn reuse_missing_expiry_uses_lifetime() {
    assert_eq!(
        reuse_period(None, MARGIN),
        Duration::from_secs(6600),
        "a missing expiry falls back to the documented 7200 s"
    );
}

#[test]
fn reuse_zero_expiry_uses_lifetime() {
    assert_eq!(reuse_period(Some(0), MARGIN), Duration::from_secs(6600));
}

#[test]
fn reuse_negative_expiry_uses_lifetime() {
    assert_eq!(reuse_period(Some(-5), MARGIN), Duration::from_secs(6600));
}

#[test]
fn reuse_short_expiry_keeps_half() {
    assert_eq!(
        reuse_period(Some(300), MARGIN),
        Duration::from_secs(150),
        "a lifetime shorter than the margin is half used"
    );
}

#[test]
fn reuse_tiny_expiry_has_floor() {
    assert_eq!(
        reuse_period(Some(1), MARGIN),
        MIN_REUSE,
        "a one-second token must not cause a fetch per call"
    );
}

#[test]
fn parse_gettoken_reply() {
    let body =
        json!({"errcode": 0, "access_token": "96fc7a7axxx", "errmsg": "ok", "expires_in": 7200});
    let token = parse_token_reply(&body).expect("the reply has a token");
    assert_eq!(token.value.expose_secret(), "96fc7a7axxx");
    assert_eq!(token.expires_in, Some(7200));
}

#[test]
fn parse_v1_reply() {
    let body = json!({"accessToken": "fw8ef8we8f76e6f7s8dxxxx", "expireIn": "7200"});
    let token = parse_token_reply(&body).expect("the reply has a token");
    assert_eq!(token.value.expose_secret(), "fw8ef8we8f76e6f7s8dxxxx");
    assert_eq!(token.expires_in, Some(7200), "a numeric string is read");
}

#[test]
fn parse_reply_without_token() {
    assert!(parse_token_reply(&json!({"errcode": 0, "access_token": ""})).is_none());
    assert!(parse_token_reply(&json!({"expireIn": 7200})).is_none());
}

#[test]
fn parse_reply_with_bad_expiry() {
    let token = parse_token_reply(&json!({"accessToken": "t", "expireIn": "soon"})).unwrap();
    assert_eq!(token.expires_in, None);
}

#[tokio::test]
async fn cache_reuses_token() {
    let cache = TokenCache::new(MARGIN);
    let first = cache
        .get(|| async { Ok(fetched("a", Some(7200))) })
        .await
        .unwrap();
    let second = cache
        .get(|| async { Ok(fetched("b", Some(7200))) })
        .await
        .unwrap();
    assert_eq!(second.value.expose_secret(), "a", "a valid token is reused");
    assert_eq!(first.generation, second.generation);
    assert_eq!(cache.fetch_count().await, 1);
}

#[tokio::test(start_paused = true)]
async fn cache_refreshes_before_expiry() {
    let cache = TokenCache::new(MARGIN);
    cache
        .get(|| async { Ok(fetched("a", Some(7200))) })
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(6601)).await;
    let token = cache
        .get(|| async { Ok(fetched("b", Some(7200))) })
        .await
        .unwrap();
    assert_eq!(
        token.value.expose_secret(),
        "b",
        "the token is replaced within the margin"
    );
}

#[tokio::test(start_paused = true)]
async fn cache_zero_expiry_no_loop() {
    let cache = TokenCache::new(MARGIN);
    cache
        .get(|| async { Ok(fetched("a", Some(0))) })
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    let token = cache
        .get(|| async { Ok(fetched("b", Some(0))) })
        .await
        .unwrap();
    assert_eq!(
        token.value.expose_secret(),
        "a",
        "a zero expiry must not force a new fetch"
    );
    assert_eq!(cache.fetch_count().await, 1);
}

#[tokio::test]
async fn invalidate_drops_matching_generation() {
    let cache = TokenCache::new(MARGIN);
    let first = cache
        .get(|| async { Ok(fetched("a", None)) })
        .await
        .unwrap();
    cache.invalidate(first.generation).await;
    let second = cache
        .get(|| async { Ok(fetched("b", None)) })
        .await
        .unwrap();
    assert_eq!(
        second.value.expose_secret(),
        "b",
        "a dropped token is fetched again"
    );
}

#[tokio::test]
async fn invalidate_keeps_newer_token() {
    let cache = TokenCache::new(MARGIN);
    let first = cache
        .get(|| async { Ok(fetched("a", None)) })
        .await
        .unwrap();
    cache.invalidate(first.generation).await;
    cache
        .get(|| async { Ok(fetched("b", None)) })
        .await
        .unwrap();
    // A second call that also failed with token "a" reports it late.
    cache.invalidate(first.generation).await;
    let third = cache
        .get(|| async { Ok(fetched("c", None)) })
        .await
        .unwrap();
    assert_eq!(
        third.value.expose_secret(),
        "b",
        "a stale report must not drop a newer token"
    );
    assert_eq!(cache.fetch_count().await, 2);
}

#[tokio::test]
async fn concurrent_gets_fetch_once() {
    let cache = Arc::new(TokenCache::new(MARGIN));
    let fetches = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (cache, fetches) = (cache.clone(), fetches.clone());
        tasks.push(tokio::spawn(async move {
            cache
                .get(|| async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(fetched("shared", None))
                })
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        let token = task.await.unwrap();
        assert_eq!(token.value.expose_secret(), "shared");
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "one fetch serves every waiting call"
    );
}

#[tokio::test]
async fn failed_fetch_is_not_cached() {
    let cache = TokenCache::new(MARGIN);
    let error = cache
        .get(|| async {
            Err(DingTalkError::Transient {
                api: "gettoken",
                detail: "connection refused".into(),
            })
        })
        .await;
    assert!(error.is_err(), "the fetch error reaches the caller");
    let token = cache
        .get(|| async { Ok(fetched("a", None)) })
        .await
        .unwrap();
    assert_eq!(token.value.expose_secret(), "a");
}
