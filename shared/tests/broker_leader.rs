//! The producer leader lock against a real RabbitMQ: exclusive while held, freed at
//! once on release, and taken over within seconds when the holder's connection drops.

mod broker_support;

use std::time::Duration;

use broker_support::{
    force_close_connection, require_broker, settings, unique_connection_name, unique_prefix,
};
use dingk3::broker::{LeaderLock, LockError};
use tokio_util::sync::CancellationToken;

/// A second producer cannot take a lock that the first one holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_is_exclusive() {
    require_broker().await;
    let settings = settings(&unique_prefix("lock"), &["1s"]);
    let holder = LeaderLock::try_acquire(&settings, "dingapp1", &unique_connection_name("lock-a"))
        .await
        .expect("the first attempt runs")
        .expect("the first producer takes the free lock");
    assert!(holder.is_held());

    let second = LeaderLock::try_acquire(&settings, "dingapp1", &unique_connection_name("lock-b"))
        .await
        .expect("the second attempt runs");
    assert!(
        second.is_none(),
        "a held lock cannot be taken by another connection"
    );

    let other_app =
        LeaderLock::try_acquire(&settings, "dingapp2", &unique_connection_name("lock-c"))
            .await
            .expect("the attempt for another app runs");
    assert!(other_app.is_some(), "each app has its own lock");
    assert!(holder.is_held(), "the holder keeps its lock");
}

/// Releasing the lock lets a standby producer take it on its next attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_frees_lock_at_once() {
    require_broker().await;
    let settings = settings(&unique_prefix("lock-release"), &["1s"]);
    let holder =
        LeaderLock::try_acquire(&settings, "dingapp", &unique_connection_name("release-a"))
            .await
            .expect("the attempt runs")
            .expect("the free lock is taken");
    holder.release().await;

    let next = LeaderLock::try_acquire(&settings, "dingapp", &unique_connection_name("release-b"))
        .await
        .expect("the attempt runs");
    assert!(next.is_some(), "a released lock is free at once");
}

/// When the holder's connection is closed by the broker, the holder learns that it
/// lost the lock and a waiting producer takes it over within seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_taken_over_after_holder_drops() {
    require_broker().await;
    let settings = settings(&unique_prefix("lock-takeover"), &["1s"]);
    let holder_name = unique_connection_name("takeover-a");
    let holder = LeaderLock::try_acquire(&settings, "dingapp", &holder_name)
        .await
        .expect("the attempt runs")
        .expect("the free lock is taken");

    let shutdown = CancellationToken::new();
    let standby_settings = settings.clone();
    let standby_shutdown = shutdown.clone();
    let standby = tokio::spawn(async move {
        LeaderLock::acquire(
            &standby_settings,
            "dingapp",
            &unique_connection_name("takeover-b"),
            Duration::from_millis(500),
            &standby_shutdown,
        )
        .await
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !standby.is_finished(),
        "the standby waits while the lock is held"
    );

    force_close_connection(&holder_name).await;
    tokio::time::timeout(Duration::from_secs(10), holder.lost())
        .await
        .expect("the holder notices the loss within 10 s");
    assert!(!holder.is_held(), "a lost lock reports not held");

    let taken = tokio::time::timeout(Duration::from_secs(10), standby)
        .await
        .expect("the standby takes over within 10 s")
        .expect("the standby task did not panic")
        .expect("acquire does not fail")
        .expect("acquire returns the lock, not a shutdown");
    assert!(taken.is_held(), "the new holder holds the lock");
    shutdown.cancel();
}

/// Waiting for the lock ends without it when the process shuts down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_stops_on_shutdown() {
    require_broker().await;
    let settings = settings(&unique_prefix("lock-shutdown"), &["1s"]);
    let _holder =
        LeaderLock::try_acquire(&settings, "dingapp", &unique_connection_name("shutdown-a"))
            .await
            .expect("the attempt runs")
            .expect("the free lock is taken");
    let shutdown = CancellationToken::new();
    shutdown.cancel();

    let result = LeaderLock::acquire(
        &settings,
        "dingapp",
        &unique_connection_name("shutdown-b"),
        Duration::from_millis(200),
        &shutdown,
    )
    .await
    .expect("acquire does not fail");
    assert!(result.is_none(), "no lock is returned after shutdown");
}

/// An app key that cannot name a queue is an error, not an endless retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_app_key_is_an_error() {
    let settings = settings(&unique_prefix("lock-key"), &["1s"]);
    let result = LeaderLock::acquire(
        &settings,
        "bad key",
        &unique_connection_name("key"),
        Duration::from_millis(200),
        &CancellationToken::new(),
    )
    .await;
    assert!(
        matches!(result, Err(LockError::InvalidAppKey(_))),
        "got {result:?}"
    );
}
