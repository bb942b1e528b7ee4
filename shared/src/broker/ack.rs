//! One ack or reject per delivery, with its fate reported.
//!
//! [`split`] separates a lapin [`Delivery`] into the message and an [`AckHandle`].
//! The handle's methods take it by value, so a delivery cannot be settled twice (a
//! second ack of one delivery tag makes RabbitMQ close the channel).
//!
//! After lapin recovers a connection, the ackers of the old channel are poisoned and
//! lapin 4.12.3 returns `Ok(false)` instead of sending the ack. The broker has already
//! requeued those messages and will deliver them again, so the consumer only has to
//! log, count, and rely on the ledger to make the redelivery a no-op.

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::types::ShortString;
use lapin::{Acker, BasicProperties};
use tracing::{error, warn};

use crate::broker::metrics::ACKS_LOST;

/// The content of a delivery, without the means to acknowledge it.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// Channel-scoped tag; identifies the delivery in logs.
    pub delivery_tag: u64,

    /// Exchange the message was published or dead-lettered to.
    pub exchange: ShortString,

    /// Routing key it arrived with (a tier label for retried messages is rewritten
    /// to the work routing key by dead-lettering).
    pub routing_key: ShortString,

    /// Whether the broker delivered this message before; a hint that the message may
    /// already have been processed.
    pub redelivered: bool,

    /// Properties and headers.
    pub properties: BasicProperties,

    /// Message body.
    pub data: Vec<u8>,
}

/// The fate of an ack or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckOutcome {
    /// lapin handed the frame to the connection. AMQP 0-9-1 sends no receipt for
    /// acks, so this is as far as a client can know.
    Sent,

    /// The channel was closed or recovered before the frame could be sent; the broker
    /// will deliver the message again.
    Lost,
}

/// The only way to ack or reject one delivery; consumed by the first call.
#[derive(Debug)]
pub struct AckHandle {
    /// lapin's acker for this delivery.
    acker: Acker,

    /// For logs.
    delivery_tag: u64,

    /// Set by `ack`/`reject`, so dropping an unsettled handle can be reported.
    settled: bool,
}

/// Splits a delivery into its message and its single-use [`AckHandle`].
pub fn split(delivery: Delivery) -> (ReceivedMessage, AckHandle) {
    let Delivery {
        delivery_tag,
        exchange,
        routing_key,
        redelivered,
        properties,
        data,
        acker,
    } = delivery;
    let message = ReceivedMessage {
        delivery_tag,
        exchange,
        routing_key,
        redelivered,
        properties,
        data,
    };
    let handle = AckHandle {
        acker,
        delivery_tag,
        settled: false,
    };
    (message, handle)
}

impl AckHandle {
    /// Returns the delivery tag this handle settles.
    pub fn delivery_tag(&self) -> u64 {
        self.delivery_tag
    }

    /// Returns whether an ack could still be sent: false once the channel was closed
    /// or recovered.
    pub fn usable(&self) -> bool {
        self.acker.usable()
    }

    /// Acknowledges the delivery: the message was handled and leaves the queue.
    pub async fn ack(mut self) -> AckOutcome {
        self.settled = true;
        let result = self.acker.ack(BasicAckOptions::default()).await;
        self.report("ack", result)
    }

    /// Rejects the delivery with `basic.reject`.
    ///
    /// `requeue = false` dead-letters the message; `requeue = true` puts it back for
    /// another attempt. `basic.reject` is used rather than `basic.nack` because, from
    /// RabbitMQ 4.3, a requeueing nack no longer counts toward the quorum-queue
    /// delivery limit while a reject does on every version.
    pub async fn reject(mut self, requeue: bool) -> AckOutcome {
        self.settled = true;
        let result = self.acker.reject(BasicRejectOptions { requeue }).await;
        let action = if requeue { "reject_requeue" } else { "reject" };
        self.report(action, result)
    }

    fn report(&self, action: &'static str, result: Result<bool, lapin::Error>) -> AckOutcome {
        match result {
            Ok(true) => AckOutcome::Sent,
            Ok(false) => {
                ACKS_LOST.with_label_values(&[action]).inc();
                warn!(
                    delivery_tag = self.delivery_tag,
                    action,
                    "ack not sent because its channel was closed or recovered; the broker will redeliver the message"
                );
                AckOutcome::Lost
            }
            Err(error) => {
                ACKS_LOST.with_label_values(&[action]).inc();
                warn!(
                    delivery_tag = self.delivery_tag,
                    action,
                    %error,
                    "ack failed on its channel; the broker will redeliver the message"
                );
                AckOutcome::Lost
            }
        }
    }
}

impl Drop for AckHandle {
    fn drop(&mut self) {
        if !self.settled && self.acker.usable() {
            // The message stays unacknowledged, holding a prefetch slot, until the
            // channel closes; this is a bug in the caller.
            error!(
                delivery_tag = self.delivery_tag,
                "delivery dropped without ack or reject"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        Delivery::mock(7, "ex".into(), "rk".into(), true, b"{}".to_vec())
    }

    #[test]
    fn split_keeps_message_fields() {
        let (message, handle) = split(delivery());
        assert_eq!(message.delivery_tag, 7);
        assert_eq!(message.exchange.as_str(), "ex");
        assert_eq!(message.routing_key.as_str(), "rk");
        assert!(message.redelivered, "redelivered flag kept");
        assert_eq!(message.data, b"{}");
        assert_eq!(handle.delivery_tag(), 7);
    }

    #[tokio::test]
    async fn ack_on_live_acker_is_sent() {
        let (_, handle) = split(delivery());
        assert_eq!(handle.ack().await, AckOutcome::Sent);
    }

    #[tokio::test]
    async fn reject_on_live_acker_is_sent() {
        let (_, handle) = split(delivery());
        assert_eq!(handle.reject(false).await, AckOutcome::Sent);
    }
}
