//! The broker's limit: how many messages per second the local RabbitMQ moves through a
//! queue declared like the pipeline's work queue when the clients do nothing else.
//!
//! The bodies are real approval messages, sent in turn, so their sizes match the
//! scenarios'. One connection publishes persistent, `mandatory` messages with publisher
//! confirms, keeping at most [`CONFIRM_WINDOW`] unconfirmed. A second connection
//! consumes them at the same time and acks each one, as the consumer does. The rate is the message count
//! divided by the time from the first publish to the last ack. Nothing is decoded,
//! written or looked up, so no pipeline built on this broker can move messages faster.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use dingk3::broker::{Recovery, Topology, connect};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation};

use crate::consumer::broker::{TopologyGuard, settings, unique_prefix};

/// Unconfirmed publishes allowed at once: enough that the publisher keeps sending
/// while confirms travel back, so the broker, not the round trip, sets the rate.
pub const CONFIRM_WINDOW: usize = 1_000;

/// Prefetch of the consuming channel.
pub const PREFETCH: u16 = 500;

/// Longest a baseline run may take before it counts as failed.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Result of one baseline run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrokerLimit {
    /// Messages published, confirmed, delivered and acked.
    pub messages: usize,
    /// Mean bytes of a message body.
    pub payload_bytes: usize,
    /// Seconds from the first publish to the last ack.
    pub seconds: f64,
    /// Seconds from the first publish to the last confirm.
    pub publish_seconds: f64,
}

impl BrokerLimit {
    /// Messages per second through the queue, publish to ack.
    pub fn messages_per_s(&self) -> f64 {
        self.messages as f64 / self.seconds
    }

    /// Confirmed publishes per second.
    pub fn publishes_per_s(&self) -> f64 {
        self.messages as f64 / self.publish_seconds
    }
}

/// Moves `count` messages through a fresh work queue and deletes it again; message
/// `n` carries `payloads[n % payloads.len()]`.
pub async fn measure(payloads: &[Vec<u8>], count: usize) -> anyhow::Result<BrokerLimit> {
    anyhow::ensure!(!payloads.is_empty(), "no message bodies to publish");
    let sent_bytes: usize = (0..count)
        .map(|number| payloads[number % payloads.len()].len())
        .sum();
    let settings = settings(&unique_prefix("bench-broker"), &["1s"]);
    let mut guard = TopologyGuard::new(&settings);
    let topology = Topology::new(&settings);
    let publisher = connect(
        &settings,
        &format!("{}-publish", settings.prefix),
        Recovery::Off,
    )
    .await?;
    let consumer = connect(
        &settings,
        &format!("{}-consume", settings.prefix),
        Recovery::Off,
    )
    .await?;
    let publish_channel = publisher.create_channel().await?;
    topology.declare(&publish_channel).await?;
    publish_channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let consume_channel = consumer.create_channel().await?;
    consume_channel
        .basic_qos(PREFETCH, BasicQosOptions { global: false })
        .await?;
    let mut deliveries = consume_channel
        .basic_consume(
            topology.approvals_queue().as_str().into(),
            "bench-broker-limit".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let started = Instant::now();
    let acking = tokio::spawn(async move {
        let mut acked = 0_usize;
        while acked < count {
            let Some(delivery) = deliveries.next().await else {
                anyhow::bail!("the consumer stream ended after {acked} of {count} messages");
            };
            delivery?.ack(BasicAckOptions::default()).await?;
            acked += 1;
        }
        Ok(started.elapsed())
    });

    let exchange = topology.approvals_exchange();
    let routing_key = topology.routing_key();
    let mut unconfirmed = VecDeque::with_capacity(CONFIRM_WINDOW);
    for number in 0..count {
        if unconfirmed.len() == CONFIRM_WINDOW
            && let Some(confirm) = unconfirmed.pop_front()
        {
            expect_ack(confirm).await?;
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(format!("bench-{number}").into());
        let confirm = publish_channel
            .basic_publish(
                exchange.as_str().into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                &payloads[number % payloads.len()],
                properties,
            )
            .await?;
        unconfirmed.push_back(confirm);
    }
    for confirm in unconfirmed {
        expect_ack(confirm).await?;
    }
    let publish_seconds = started.elapsed().as_secs_f64();
    let seconds = tokio::time::timeout(RUN_LIMIT, acking)
        .await
        .map_err(|_| anyhow::anyhow!("the broker baseline did not finish within {RUN_LIMIT:?}"))???
        .as_secs_f64();

    topology.delete(&publish_channel).await?;
    guard.disarm();
    let _ = publisher.close(200, "broker baseline done".into()).await;
    let _ = consumer.close(200, "broker baseline done".into()).await;
    Ok(BrokerLimit {
        messages: count,
        payload_bytes: sent_bytes / count.max(1),
        seconds,
        publish_seconds,
    })
}

/// Fails unless the broker acked the publish without returning it.
async fn expect_ack(confirm: lapin::PublisherConfirm) -> anyhow::Result<()> {
    match confirm.await? {
        Confirmation::Ack(None) => Ok(()),
        other => anyhow::bail!("the broker did not accept a baseline message: {other:?}"),
    }
}
