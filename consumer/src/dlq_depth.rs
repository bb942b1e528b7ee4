//! Reading the depth of the dead-letter queue with a passive declare, which reports a
//! queue's message count without creating or changing it.

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::metrics::{DLQ_DEPTH, DLQ_DEPTH_FAILURES};

/// Returns the number of ready messages in `queue`. A queue that does not exist fails
/// with `NOT_FOUND` and closes `channel`.
pub async fn read(channel: &Channel, queue: &str) -> Result<u32, lapin::Error> {
    let options = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await?;
    Ok(declared.message_count())
}

/// Sets `dingk3_dlq_depth` every `every` until `stop`. A failed reading is logged and
/// counted, and the next one opens a new channel if the old one closed.
pub async fn refresh(
    connection: &Connection,
    queue: &str,
    every: Duration,
    stop: &CancellationToken,
) {
    let mut channel: Option<Channel> = None;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if channel
            .as_ref()
            .is_none_or(|open| !open.status().connected())
        {
            channel = match connection.create_channel().await {
                Ok(opened) => Some(opened),
                Err(error) => {
                    DLQ_DEPTH_FAILURES.inc();
                    warn!(%error, queue, "dead-letter queue depth not read: no channel");
                    continue;
                }
            };
        }
        let Some(open) = &channel else { continue };
        match read(open, queue).await {
            Ok(depth) => {
                DLQ_DEPTH.set(i64::from(depth));
                debug!(queue, depth, "dead-letter queue depth read");
            }
            Err(error) => {
                DLQ_DEPTH_FAILURES.inc();
                warn!(%error, queue, "dead-letter queue depth not read");
            }
        }
    }
}
