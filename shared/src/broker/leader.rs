//! The producer's leader lock: one polling producer per DingTalk app.
//!
//! The lock is an exclusive queue `{prefix}.producer-lock.<app key>` declared on a
//! connection of its own. RabbitMQ lets only the declaring connection use an exclusive
//! queue: another connection's declare fails with `RESOURCE_LOCKED`, and the queue is
//! deleted when its connection closes or misses its heartbeats. Holding the lock costs
//! no delivery, so the broker's consumer timeout (30 minutes by default) never applies.
//!
//! The lock connection has no automatic recovery: a lost connection means a lost lock,
//! because another producer may have taken it by the time a recovery would succeed.
//! The holder then stops polling and competes for the lock again.
//!
//! The lock is a lease with heartbeat granularity. When the network splits, the broker
//! frees the queue once the heartbeat timeout (`heartbeat_seconds`) passes, while the
//! old holder notices its dead connection on its own schedule. For up to about one
//! heartbeat timeout two producers may therefore poll. The consumer deduplicates by
//! process instance id through the ledger, so such an overlap costs duplicate DingTalk
//! calls and messages, not duplicate bills.

use std::time::Duration;

use futures::StreamExt;
use lapin::options::QueueDeclareOptions;
use lapin::protocol::AMQPSoftError;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, Connection, Event};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::broker::config::BrokerSettings;
use crate::broker::connection::{Recovery, close_connection, connect};
use crate::broker::error::{ConnectError, amqp_reply};
use crate::broker::metrics::LEADER;

/// How often the holder checks that its connection is up.
const STATUS_POLL: Duration = Duration::from_millis(250);

/// How often the holder re-declares its queue passively, which fails if an operator
/// deleted the queue while the connection stayed up.
const QUEUE_CHECK: Duration = Duration::from_secs(5);

/// Longest accepted app key; keeps the lock queue name within AMQP's 255 bytes.
const APP_KEY_MAX_LEN: usize = 120;

/// A failure to take the lock, other than another producer holding it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LockError {
    /// The app key cannot be part of a queue name.
    #[error(
        "app key {0:?} cannot name a lock queue; it must be 1 to {APP_KEY_MAX_LEN} ASCII letters, digits, '.', '-' or '_'"
    )]
    InvalidAppKey(String),

    /// The lock connection could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),

    /// The broker refused the channel or the declare for another reason.
    #[error("declaring the leader lock queue {queue} failed: {source}")]
    Declare {
        /// Lock queue name.
        queue: String,
        /// lapin's error.
        #[source]
        source: lapin::Error,
    },
}

/// A held leader lock. Dropping it, or calling [`LeaderLock::release`], frees it.
#[derive(Debug)]
pub struct LeaderLock {
    /// The connection that owns the exclusive queue; closing it frees the lock.
    connection: Connection,

    /// Lock queue name.
    queue: String,

    /// App key, the metric label.
    app_key: String,

    /// `true` while the lock is held; turns `false` once, when it is lost.
    held: watch::Receiver<bool>,

    /// Watches the connection and the queue; aborted on drop.
    watcher: JoinHandle<()>,
}

impl LeaderLock {
    /// Returns the lock queue name for `app_key`.
    pub fn queue_name(prefix: &str, app_key: &str) -> Result<String, LockError> {
        let valid = !app_key.is_empty()
            && app_key.len() <= APP_KEY_MAX_LEN
            && app_key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !valid {
            return Err(LockError::InvalidAppKey(app_key.to_string()));
        }
        Ok(format!("{prefix}.producer-lock.{app_key}"))
    }

    /// Waits until this process holds the lock for `app_key`, trying every
    /// `retry_interval`. Returns `Ok(None)` when `shutdown` is cancelled first.
    ///
    /// Connection failures are logged and retried; only an invalid app key is
    /// returned as an error, because retrying cannot fix it.
    pub async fn acquire(
        settings: &BrokerSettings,
        app_key: &str,
        connection_name: &str,
        retry_interval: Duration,
        shutdown: &CancellationToken,
    ) -> Result<Option<LeaderLock>, LockError> {
        let mut reported_waiting = false;
        loop {
            match LeaderLock::try_acquire(settings, app_key, connection_name).await {
                Ok(Some(lock)) => return Ok(Some(lock)),
                Ok(None) => {
                    if !reported_waiting {
                        info!(
                            app_key,
                            "another producer holds the leader lock; standing by"
                        );
                        reported_waiting = true;
                    }
                }
                Err(error @ LockError::InvalidAppKey(_)) => return Err(error),
                Err(error) => {
                    warn!(app_key, %error, "leader lock attempt failed; retrying");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(None),
                () = tokio::time::sleep(retry_interval) => {}
            }
        }
    }

    /// Tries once to take the lock. Returns `Ok(None)` when another connection has it.
    pub async fn try_acquire(
        settings: &BrokerSettings,
        app_key: &str,
        connection_name: &str,
    ) -> Result<Option<LeaderLock>, LockError> {
        let queue = LeaderLock::queue_name(&settings.prefix, app_key)?;
        let connection = connect(settings, connection_name, Recovery::Off).await?;
        let declare_error = |source| LockError::Declare {
            queue: queue.clone(),
            source,
        };
        let channel = connection.create_channel().await.map_err(declare_error)?;
        match declare_lock_queue(&channel, &queue, false).await {
            Ok(()) => {}
            Err(error) if is_resource_locked(&error) => {
                // Another producer has the lock, so this connection has no use.
                if let Err(error) =
                    close_connection(&connection, "leader lock held elsewhere").await
                {
                    debug!(app_key, %error, "closing the unused lock connection failed");
                }
                return Ok(None);
            }
            Err(error) => return Err(declare_error(error)),
        }

        let (held_tx, held) = watch::channel(true);
        LEADER.with_label_values(&[app_key]).set(1);
        info!(app_key, queue = %queue, "leader lock acquired");
        let watcher = tokio::spawn(watch_lock(
            connection.status().clone(),
            connection.events_listener().boxed(),
            channel,
            queue.clone(),
            app_key.to_string(),
            held_tx,
        ));
        Ok(Some(LeaderLock {
            connection,
            queue,
            app_key: app_key.to_string(),
            held,
            watcher,
        }))
    }

    /// Returns whether the lock is still held.
    pub fn is_held(&self) -> bool {
        *self.held.borrow()
    }

    /// Completes when the lock is lost (the lock connection dropped or the queue
    /// vanished); completes at once if it already is.
    pub async fn lost(&self) {
        let mut held = self.held.clone();
        // While the lock exists, the watcher drops the sender only after sending
        // `false`, so either outcome means lost.
        let _ = held.wait_for(|held| !*held).await;
    }

    /// Returns the lock queue name.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Frees the lock by closing its connection, so a standby producer can take over
    /// without waiting for a heartbeat timeout.
    pub async fn release(self) {
        self.watcher.abort();
        if let Err(error) = close_connection(&self.connection, "leader lock released").await {
            warn!(app_key = %self.app_key, %error, "closing the leader lock connection failed");
        }
        LEADER.with_label_values(&[&self.app_key]).set(0);
        info!(app_key = %self.app_key, "leader lock released");
    }
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        // Dropping the connection closes it, which deletes the exclusive queue.
        self.watcher.abort();
        LEADER.with_label_values(&[&self.app_key]).set(0);
    }
}

/// Follows the lock connection until the lock is lost, then sends `false`.
async fn watch_lock(
    status: lapin::ConnectionStatus,
    mut events: futures::stream::BoxStream<'static, Event>,
    channel: Channel,
    queue: String,
    app_key: String,
    held: watch::Sender<bool>,
) {
    let mut poll = tokio::time::interval(STATUS_POLL);
    let mut queue_check = tokio::time::interval(QUEUE_CHECK);
    queue_check.tick().await;
    let reason = loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Event::Error(error)) => break format!("connection error: {error}"),
                Some(_) => {}
                None => break "connection dropped".to_string(),
            },
            _ = poll.tick() => {
                if !status.connected() {
                    break "connection closed".to_string();
                }
            }
            _ = queue_check.tick() => {
                if let Err(error) = declare_lock_queue(&channel, &queue, true).await {
                    break format!("lock queue check failed: {error}");
                }
            }
        }
    };
    LEADER.with_label_values(&[&app_key]).set(0);
    warn!(app_key = %app_key, %reason, "leader lock lost; polling must stop until it is held again");
    let _ = held.send(false);
}

/// Declares the exclusive lock queue, or with `passive` checks that it still exists.
async fn declare_lock_queue(
    channel: &Channel,
    queue: &str,
    passive: bool,
) -> Result<(), lapin::Error> {
    let options = QueueDeclareOptions {
        passive,
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    // Exclusive queues are always classic; saying so keeps a vhost whose default queue
    // type is quorum from refusing the declare.
    let mut arguments = FieldTable::default();
    if !passive {
        arguments.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(LongString::from("classic")),
        );
    }
    channel
        .queue_declare(queue.into(), options, arguments)
        .await
        .map(|_| ())
}

fn is_resource_locked(error: &lapin::Error) -> bool {
    matches!(amqp_reply(error), Some((code, _)) if code == AMQPSoftError::RESOURCELOCKED.get_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_name_joins_prefix_and_app_key() {
        let name = LeaderLock::queue_name("dingk3", "dingabc123").unwrap();
        assert_eq!(name, "dingk3.producer-lock.dingabc123");
    }

    #[test]
    fn queue_name_rejects_unsafe_app_keys() {
        for app_key in ["", "a b", "a/b", "钉钉", &"x".repeat(APP_KEY_MAX_LEN + 1)] {
            let result = LeaderLock::queue_name("dingk3", app_key);
            assert!(result.is_err(), "app key {app_key:?} should be rejected");
        }
    }
}
