//! One broker session: set the prefetch, consume the work queue, hand batches to
//! worker tasks, and at shutdown stop consuming and finish the work in flight.
//!
//! The supervisor runs a new session on every new connection. A session returns an
//! error to have its connection rebuilt: when lapin cannot recover the consumer
//! channel, when the broker cancels the consumer, or when a publish failed on the
//! channel. Batch tasks outlive a failed session; their acks are then reported as lost
//! and the broker delivers those messages again.

use std::sync::Arc;
use std::time::Duration;

use dingk3::broker::Link;
use lapin::Consumer;
use lapin::message::Delivery;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::dlq_depth;
use crate::worker::batch::process_batch;
use crate::worker::collect::{Interrupt, collect, drain};
use crate::worker::settle::Settler;
use crate::worker::shared::Shared;

/// Part of the shutdown grace kept for cancelling the consumer and closing the
/// connection after the batches are done.
const CLOSE_MARGIN: Duration = Duration::from_millis(500);

/// Time allowed for the broker to confirm a consumer cancel or a connection close.
const BROKER_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reason a session ended; the supervisor then rebuilds its connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// The prefetch, the publisher channel or the consumer could not be set up.
    #[error("failed to set up the consumer: {0}")]
    Setup(#[source] lapin::Error),

    /// lapin did not recover the consumer channel after an error.
    #[error("the consumer channel did not recover: {0}")]
    Recovery(#[source] lapin::Error),

    /// The broker cancelled the consumer, e.g. because the queue was deleted.
    #[error("the broker cancelled the consumer")]
    Cancelled,

    /// A publish failed on the publisher channel.
    #[error("a publish failed on the broker channel")]
    Broken,
}

/// The state of one session.
struct Session<'a> {
    link: &'a Link,
    settler: Arc<Settler>,
    batches: Arc<Semaphore>,
    tag: String,
}

/// Runs one session on `link`; `number` makes the consumer tag unique per connection.
pub(crate) async fn run(link: Link, shared: Arc<Shared>, number: u64) -> Result<(), SessionError> {
    let settings = &shared.settings;
    let channel = link.channel();
    channel
        .basic_qos(settings.prefetch(), BasicQosOptions { global: false })
        .await
        .map_err(SessionError::Setup)?;
    let publisher = Arc::new(link.publisher().await.map_err(SessionError::Setup)?);
    let queue = link.topology().approvals_queue();
    let tag = format!("{}-{number}", settings.consumer_id);
    let mut consumer = channel
        .basic_consume(
            queue.as_str().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(SessionError::Setup)?;
    info!(
        queue = %queue,
        consumer_tag = %tag,
        prefetch = settings.prefetch(),
        "consuming approvals"
    );

    let session = Session {
        link: &link,
        settler: Arc::new(Settler {
            shared: Arc::clone(&shared),
            publisher,
            broken: CancellationToken::new(),
        }),
        batches: Arc::new(Semaphore::new(settings.concurrent_batches)),
        tag,
    };
    let stop_refresh = CancellationToken::new();
    let dead_queue = link.topology().dead_queue();
    let refresher = dlq_depth::refresh(
        link.connection(),
        &dead_queue,
        settings.dlq_depth_refresh,
        &stop_refresh,
    );
    tokio::select! {
        result = session.consume(&mut consumer) => result,
        () = refresher => Ok(()),
    }
}

impl Session<'_> {
    /// Reads batches until shutdown or a failure.
    async fn consume(&self, consumer: &mut Consumer) -> Result<(), SessionError> {
        let settings = &self.settler.shared.settings;
        loop {
            let collected = collect(
                consumer,
                settings.batch_size,
                settings.batch_wait,
                self.link.shutdown(),
                &self.settler.broken,
            )
            .await;
            self.dispatch(collected.deliveries).await;
            match collected.interrupt {
                None => {}
                Some(Interrupt::Shutdown) => return self.shut_down(consumer).await,
                Some(Interrupt::Broken) => return Err(SessionError::Broken),
                Some(Interrupt::Ended) => return Err(SessionError::Cancelled),
                Some(Interrupt::Failed(error)) => {
                    warn!(%error, "consumer channel failed; waiting for its recovery");
                    self.link
                        .wait_for_recovery(self.link.channel(), error)
                        .await
                        .map_err(SessionError::Recovery)?;
                    info!("consumer channel recovered");
                }
            }
        }
    }

    /// Hands a batch to a worker task once fewer than `concurrent_batches` run.
    async fn dispatch(&self, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        let permit = Arc::clone(&self.batches)
            .acquire_owned()
            .await
            .expect("the batch semaphore is never closed");
        let settler = Arc::clone(&self.settler);
        let tracker = settler.shared.tracker.clone();
        tracker.spawn(async move {
            process_batch(settler, deliveries).await;
            drop(permit);
        });
    }

    /// Cancels the consumer, processes what lapin already received, waits for every
    /// batch of this session and closes the connection, all within the shutdown grace.
    async fn shut_down(&self, consumer: &mut Consumer) -> Result<(), SessionError> {
        let settings = &self.settler.shared.settings;
        let deadline = Instant::now() + settings.shutdown_grace.saturating_sub(CLOSE_MARGIN);
        info!(consumer_tag = %self.tag, "shutting down: no new deliveries, finishing the batches in flight");

        let cancel = self
            .link
            .channel()
            .basic_cancel(self.tag.as_str().into(), BasicCancelOptions::default());
        match timeout(BROKER_REPLY_TIMEOUT, cancel).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, "consumer cancel failed"),
            Err(_) => warn!("consumer cancel not confirmed in time"),
        }

        // lapin hands out the deliveries it received before the cancel, then ends the
        // stream.
        loop {
            let Ok(collected) = timeout_at(deadline, drain(consumer, settings.batch_size)).await
            else {
                break;
            };
            self.dispatch(collected.deliveries).await;
            if collected.interrupt.is_some() {
                break;
            }
        }

        let all = u32::try_from(settings.concurrent_batches).unwrap_or(u32::MAX);
        match timeout_at(deadline, self.batches.acquire_many(all)).await {
            Ok(_) => info!("batches in flight finished"),
            Err(_) => warn!(
                "shutdown grace ended with batches in flight; their messages will be redelivered"
            ),
        }

        match timeout(
            BROKER_REPLY_TIMEOUT,
            self.link
                .connection()
                .close(200, "consumer shut down".into()),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, "broker connection close failed"),
            Err(_) => warn!("broker connection close not confirmed in time"),
        }
        Ok(())
    }
}
