//! Gathering deliveries into batches: wait for the first message, then take more until
//! the batch is full or the batch wait has passed.

use std::time::Duration;

use futures::StreamExt;
use lapin::Consumer;
use lapin::message::Delivery;
use tokio_util::sync::CancellationToken;

/// Reason collecting stopped before the batch was complete.
#[derive(Debug)]
pub(crate) enum Interrupt {
    /// The process is shutting down.
    Shutdown,

    /// A publish failed on the channel; the session must rebuild its connection.
    Broken,

    /// The consumer stream reported a channel or connection error.
    Failed(lapin::Error),

    /// The consumer stream ended: the consumer was cancelled (by us at shutdown, or by
    /// the broker when the queue went away).
    Ended,
}

/// A batch and, when collecting stopped early, the reason.
#[derive(Debug)]
pub(crate) struct Collected {
    /// Deliveries of the batch; may be empty when interrupted.
    pub(crate) deliveries: Vec<Delivery>,

    /// Set when the stream must not be read further as usual.
    pub(crate) interrupt: Option<Interrupt>,
}

/// Collects one batch of at most `max` deliveries.
pub(crate) async fn collect(
    consumer: &mut Consumer,
    max: usize,
    wait: Duration,
    stop: &CancellationToken,
    broken: &CancellationToken,
) -> Collected {
    let mut deliveries = Vec::with_capacity(max);
    // The first delivery: wait as long as it takes.
    let first = tokio::select! {
        biased;
        () = stop.cancelled() => return interrupted(deliveries, Interrupt::Shutdown),
        () = broken.cancelled() => return interrupted(deliveries, Interrupt::Broken),
        next = consumer.next() => next,
    };
    if let Some(interrupt) = take(&mut deliveries, first) {
        return interrupted(deliveries, interrupt);
    }

    // More, until the batch is full or the wait is over.
    let deadline = tokio::time::Instant::now() + wait;
    while deliveries.len() < max {
        let next = tokio::select! {
            biased;
            () = stop.cancelled() => return interrupted(deliveries, Interrupt::Shutdown),
            () = tokio::time::sleep_until(deadline) => break,
            next = consumer.next() => next,
        };
        if let Some(interrupt) = take(&mut deliveries, next) {
            return interrupted(deliveries, interrupt);
        }
    }
    Collected {
        deliveries,
        interrupt: None,
    }
}

/// Collects the deliveries lapin still buffers after the consumer was cancelled, until
/// the stream ends.
pub(crate) async fn drain(consumer: &mut Consumer, max: usize) -> Collected {
    let mut deliveries = Vec::with_capacity(max);
    while deliveries.len() < max {
        if let Some(interrupt) = take(&mut deliveries, consumer.next().await) {
            return interrupted(deliveries, interrupt);
        }
    }
    Collected {
        deliveries,
        interrupt: None,
    }
}

/// Adds a delivery to the batch, or returns why the stream stopped.
fn take(
    deliveries: &mut Vec<Delivery>,
    next: Option<Result<Delivery, lapin::Error>>,
) -> Option<Interrupt> {
    match next {
        Some(Ok(delivery)) => {
            deliveries.push(delivery);
            None
        }
        Some(Err(error)) => Some(Interrupt::Failed(error)),
        None => Some(Interrupt::Ended),
    }
}

fn interrupted(deliveries: Vec<Delivery>, interrupt: Interrupt) -> Collected {
    Collected {
        deliveries,
        interrupt: Some(interrupt),
    }
}
