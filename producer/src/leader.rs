//! Taking the leader lock for the one-shot commands `once` and `backfill`.
//!
//! Only one producer may poll a DingTalk app at a time, also for a single poll: two
//! producers publishing the same window would double the DingTalk calls and the
//! messages. A one-shot command waits briefly for the lock and then gives up with a
//! message, instead of standing by like `producer run`.

use std::time::Duration;

use dingk3::broker::{BrokerSettings, LeaderLock, LockError};
use tokio::time::Instant;
use tracing::{info, warn};

use crate::error::ProducerError;

/// Time `once` and `backfill` wait for a lock that another producer has.
pub const COMMAND_LOCK_WAIT: Duration = Duration::from_secs(10);

/// Pause between two attempts while waiting.
const COMMAND_LOCK_RETRY: Duration = Duration::from_secs(1);

/// Takes the leader lock of `app_key`, waiting up to [`COMMAND_LOCK_WAIT`].
pub async fn acquire_for_command(
    broker: &BrokerSettings,
    app_key: &str,
    connection_name: &str,
) -> Result<LeaderLock, ProducerError> {
    let deadline = Instant::now() + COMMAND_LOCK_WAIT;
    let mut reported = false;
    loop {
        match LeaderLock::try_acquire(broker, app_key, connection_name).await {
            Ok(Some(lock)) => return Ok(lock),
            Ok(None) => {
                if Instant::now() >= deadline {
                    let queue = LeaderLock::queue_name(&broker.prefix, app_key)?;
                    return Err(ProducerError::LeaderHeldElsewhere {
                        app_key: app_key.to_string(),
                        queue,
                    });
                }
                if !reported {
                    info!(
                        app_key,
                        wait_seconds = COMMAND_LOCK_WAIT.as_secs(),
                        "another producer holds the leader lock; waiting for it"
                    );
                    reported = true;
                }
            }
            Err(error @ LockError::InvalidAppKey(_)) => return Err(error.into()),
            Err(error) => {
                if Instant::now() >= deadline {
                    return Err(error.into());
                }
                warn!(app_key, %error, "leader lock attempt failed; retrying");
            }
        }
        tokio::time::sleep(COMMAND_LOCK_RETRY).await;
    }
}
