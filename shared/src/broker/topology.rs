//! Exchange and queue names, their arguments, and their declaration.
//!
//! Both binaries declare the whole topology at every connection, so whichever starts
//! first creates it and the other finds it equal. Every queue argument is set
//! explicitly: RabbitMQ 3.10 and 4.x have different defaults (4.0 added a default
//! quorum-queue delivery limit of 20), and a queue's arguments cannot change after it
//! exists, so relying on a default would pin whatever the first broker version chose.
//!
//! Message flow: `{prefix}.approvals` (work) → on a transient failure the consumer
//! publishes to `{prefix}.retry` with a tier as routing key → the tier queue's TTL
//! dead-letters the message back to `{prefix}.approvals`. Dead letters go to
//! `{prefix}.dead`, either published by the consumer with failure headers or
//! dead-lettered by the broker when the delivery limit is exceeded.

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};
use tracing::debug;

use crate::broker::config::BrokerSettings;
use crate::broker::error::{TopologyError, reply_code};
use crate::broker::tier::RetryTier;

/// Routing key of every message bound for the work or dead-letter queue.
const ROUTING_KEY: &str = "approval";

/// `x-delivery-limit` of the dead-letter queue. Operators inspect dead letters by
/// fetching and requeueing them, which counts as a delivery on 3.10 and on 4.0–4.2;
/// with 4.x's default limit of 20, the twenty-first inspection would drop the message.
/// A positive number is used because 3.10 accepts no "unlimited" value.
const DEAD_QUEUE_DELIVERY_LIMIT: i64 = 1_000_000;

/// Names and arguments of every exchange and queue of one prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    /// First part of every name.
    prefix: String,

    /// Retry delays, strictly increasing.
    tiers: Vec<RetryTier>,

    /// `x-delivery-limit` of the work and retry queues.
    delivery_limit: u32,

    /// `x-max-length` of the work and retry queues.
    approvals_max_length: u64,

    /// `x-max-length` of the dead-letter queue.
    dead_max_length: u64,
}

impl Topology {
    /// Builds the topology described by validated settings.
    pub fn new(settings: &BrokerSettings) -> Topology {
        Topology {
            prefix: settings.prefix.clone(),
            tiers: settings.retry_tiers.clone(),
            delivery_limit: settings.delivery_limit,
            approvals_max_length: settings.approvals_max_length,
            dead_max_length: settings.dead_max_length,
        }
    }

    /// Returns the prefix shared by every name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Returns the exchange the producer and the retry queues publish work to.
    pub fn approvals_exchange(&self) -> String {
        format!("{}.approvals", self.prefix)
    }

    /// Returns the work queue the consumers read.
    pub fn approvals_queue(&self) -> String {
        format!("{}.approvals", self.prefix)
    }

    /// Returns the exchange that routes a retry to its tier queue by the tier label.
    pub fn retry_exchange(&self) -> String {
        format!("{}.retry", self.prefix)
    }

    /// Returns the queue in which messages of `tier` wait for their delay.
    pub fn retry_queue(&self, tier: &RetryTier) -> String {
        format!("{}.retry.{}", self.prefix, tier.label())
    }

    /// Returns the configured retry tiers, shortest first.
    pub fn retry_tiers(&self) -> &[RetryTier] {
        &self.tiers
    }

    /// Returns the tier for the `attempt`-th failed attempt (1 for the first failure;
    /// 0 is treated as 1), or `None` once every tier has been used, which means the
    /// message is exhausted and belongs in the dead-letter queue.
    pub fn tier_for_attempt(&self, attempt: u32) -> Option<&RetryTier> {
        let index = usize::try_from(attempt.max(1) - 1).ok()?;
        self.tiers.get(index)
    }

    /// Returns the exchange dead letters are published or dead-lettered to.
    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// Returns the parking-lot queue that operators inspect and replay.
    pub fn dead_queue(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    /// Returns the routing key for the approvals and dead exchanges.
    pub fn routing_key(&self) -> &'static str {
        ROUTING_KEY
    }

    /// Declares every exchange, queue and binding; declaring an equal topology again
    /// changes nothing.
    ///
    /// A queue or exchange that exists with other arguments makes RabbitMQ close the
    /// channel with `PRECONDITION_FAILED`. The error names it and explains the fix, and
    /// the caller needs a new channel.
    pub async fn declare(&self, channel: &Channel) -> Result<(), TopologyError> {
        for exchange in [
            self.approvals_exchange(),
            self.retry_exchange(),
            self.dead_exchange(),
        ] {
            declare_exchange(channel, &exchange).await?;
        }

        let dead_queue = self.dead_queue();
        declare_queue(channel, &dead_queue, self.dead_queue_arguments()).await?;
        bind(channel, &dead_queue, &self.dead_exchange(), ROUTING_KEY).await?;

        let approvals_queue = self.approvals_queue();
        declare_queue(channel, &approvals_queue, self.approvals_queue_arguments()).await?;
        bind(
            channel,
            &approvals_queue,
            &self.approvals_exchange(),
            ROUTING_KEY,
        )
        .await?;

        for tier in &self.tiers {
            let queue = self.retry_queue(tier);
            declare_queue(channel, &queue, self.retry_queue_arguments(tier)).await?;
            bind(channel, &queue, &self.retry_exchange(), tier.label()).await?;
        }
        debug!(prefix = %self.prefix, "broker topology declared");
        Ok(())
    }

    /// Deletes every queue and exchange of this topology, messages included. Tests use
    /// it to clean up; an operator uses it to retire a prefix.
    pub async fn delete(&self, channel: &Channel) -> Result<(), lapin::Error> {
        let mut queues = vec![self.approvals_queue(), self.dead_queue()];
        queues.extend(self.tiers.iter().map(|tier| self.retry_queue(tier)));
        for queue in queues {
            channel
                .queue_delete(queue.into(), QueueDeleteOptions::default())
                .await?;
        }
        for exchange in [
            self.approvals_exchange(),
            self.retry_exchange(),
            self.dead_exchange(),
        ] {
            channel
                .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
                .await?;
        }
        Ok(())
    }

    /// Arguments of the work queue: poison messages over the delivery limit and
    /// consumer rejects go to the dead exchange, safely (at-least-once), and a full
    /// queue refuses publishes instead of dropping its oldest messages.
    pub(crate) fn approvals_queue_arguments(&self) -> FieldTable {
        let mut arguments = quorum_arguments(i64::from(self.delivery_limit));
        insert_text(
            &mut arguments,
            "x-dead-letter-exchange",
            &self.dead_exchange(),
        );
        insert_text(&mut arguments, "x-dead-letter-routing-key", ROUTING_KEY);
        insert_safe_dead_lettering(&mut arguments);
        insert_number(&mut arguments, "x-max-length", self.approvals_max_length);
        arguments
    }

    /// Arguments of a retry queue: after the tier's TTL the message is dead-lettered
    /// back to the work exchange with the work routing key.
    pub(crate) fn retry_queue_arguments(&self, tier: &RetryTier) -> FieldTable {
        let mut arguments = quorum_arguments(i64::from(self.delivery_limit));
        arguments.insert(
            "x-message-ttl".into(),
            AMQPValue::LongLongInt(tier.ttl_millis()),
        );
        insert_text(
            &mut arguments,
            "x-dead-letter-exchange",
            &self.approvals_exchange(),
        );
        insert_text(&mut arguments, "x-dead-letter-routing-key", ROUTING_KEY);
        insert_safe_dead_lettering(&mut arguments);
        insert_number(&mut arguments, "x-max-length", self.approvals_max_length);
        arguments
    }

    /// Arguments of the dead-letter queue: no TTL and no onward dead-lettering; when
    /// full it refuses new dead letters, which stay in their source queue.
    pub(crate) fn dead_queue_arguments(&self) -> FieldTable {
        let mut arguments = quorum_arguments(DEAD_QUEUE_DELIVERY_LIMIT);
        insert_text(&mut arguments, "x-overflow", "reject-publish");
        insert_number(&mut arguments, "x-max-length", self.dead_max_length);
        arguments
    }
}

fn quorum_arguments(delivery_limit: i64) -> FieldTable {
    let mut arguments = FieldTable::default();
    insert_text(&mut arguments, "x-queue-type", "quorum");
    arguments.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(delivery_limit),
    );
    arguments
}

/// At-least-once dead-lettering keeps a message in its source queue until the target
/// confirms it. RabbitMQ silently falls back to at-most-once unless the overflow
/// behaviour is `reject-publish`, so the two are always set together.
fn insert_safe_dead_lettering(arguments: &mut FieldTable) {
    insert_text(arguments, "x-dead-letter-strategy", "at-least-once");
    insert_text(arguments, "x-overflow", "reject-publish");
}

fn insert_text(arguments: &mut FieldTable, key: &str, value: &str) {
    arguments.insert(key.into(), AMQPValue::LongString(LongString::from(value)));
}

fn insert_number(arguments: &mut FieldTable, key: &str, value: u64) {
    let value = i64::try_from(value).unwrap_or(i64::MAX);
    arguments.insert(key.into(), AMQPValue::LongLongInt(value));
}

async fn declare_exchange(channel: &Channel, name: &str) -> Result<(), TopologyError> {
    let options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            name.into(),
            ExchangeKind::Direct,
            options,
            FieldTable::default(),
        )
        .await
        .map_err(|source| TopologyError::from_declare("exchange", name, source))
}

async fn declare_queue(
    channel: &Channel,
    name: &str,
    arguments: FieldTable,
) -> Result<(), TopologyError> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name.into(), options, arguments)
        .await
        .map(|_| ())
        .map_err(|source| TopologyError::from_declare("queue", name, source))
}

async fn bind(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    routing_key: &str,
) -> Result<(), TopologyError> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            routing_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|source| TopologyError::Bind {
            queue: queue.to_string(),
            exchange: exchange.to_string(),
            reply_code: reply_code(&source),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        let settings = BrokerSettings::for_url("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap();
        Topology::new(&settings)
    }

    fn text(arguments: &FieldTable, key: &str) -> Option<String> {
        match arguments.inner().get(key)? {
            AMQPValue::LongString(value) => Some(value.to_string()),
            _ => None,
        }
    }

    fn number(arguments: &FieldTable, key: &str) -> Option<i64> {
        match arguments.inner().get(key)? {
            AMQPValue::LongLongInt(value) => Some(*value),
            _ => None,
        }
    }

    #[test]
    fn names_use_prefix() {
        let topology = topology();
        let tier = &topology.retry_tiers()[0];
        assert_eq!(topology.approvals_exchange(), "dingk3.approvals");
        assert_eq!(topology.approvals_queue(), "dingk3.approvals");
        assert_eq!(topology.retry_exchange(), "dingk3.retry");
        assert_eq!(topology.retry_queue(tier), "dingk3.retry.10s");
        assert_eq!(topology.dead_exchange(), "dingk3.dead");
        assert_eq!(topology.dead_queue(), "dingk3.dead");
    }

    #[test]
    fn tiers_follow_attempts() {
        let topology = topology();
        let label = |attempt| topology.tier_for_attempt(attempt).map(|tier| tier.label());
        assert_eq!(label(0), Some("10s"), "0 counts as the first failure");
        assert_eq!(label(1), Some("10s"));
        assert_eq!(label(2), Some("1m"));
        assert_eq!(label(4), Some("1h"));
        assert_eq!(
            label(5),
            None,
            "after the last tier the message is exhausted"
        );
        assert_eq!(label(u32::MAX), None);
    }

    #[test]
    fn approvals_queue_dead_letters_safely() {
        let arguments = topology().approvals_queue_arguments();
        assert_eq!(text(&arguments, "x-queue-type").as_deref(), Some("quorum"));
        assert_eq!(number(&arguments, "x-delivery-limit"), Some(20));
        assert_eq!(
            text(&arguments, "x-dead-letter-exchange").as_deref(),
            Some("dingk3.dead")
        );
        assert_eq!(
            text(&arguments, "x-dead-letter-routing-key").as_deref(),
            Some(ROUTING_KEY)
        );
        assert_eq!(
            text(&arguments, "x-dead-letter-strategy").as_deref(),
            Some("at-least-once")
        );
        assert_eq!(
            text(&arguments, "x-overflow").as_deref(),
            Some("reject-publish")
        );
        assert_eq!(number(&arguments, "x-max-length"), Some(100_000));
    }

    #[test]
    fn retry_queue_returns_to_work_exchange() {
        let topology = topology();
        let tier = &topology.retry_tiers()[1];
        let arguments = topology.retry_queue_arguments(tier);
        assert_eq!(number(&arguments, "x-message-ttl"), Some(60_000));
        assert_eq!(
            text(&arguments, "x-dead-letter-exchange").as_deref(),
            Some("dingk3.approvals")
        );
        assert_eq!(
            text(&arguments, "x-dead-letter-routing-key").as_deref(),
            Some(ROUTING_KEY)
        );
        assert_eq!(
            text(&arguments, "x-dead-letter-strategy").as_deref(),
            Some("at-least-once")
        );
        assert_eq!(
            text(&arguments, "x-overflow").as_deref(),
            Some("reject-publish")
        );
    }

    #[test]
    fn dead_queue_never_expires() {
        let arguments = topology().dead_queue_arguments();
        assert!(
            !arguments.contains_key("x-message-ttl"),
            "dead letters must not expire"
        );
        assert!(
            !arguments.contains_key("x-dead-letter-exchange"),
            "nowhere further to go"
        );
        assert_eq!(
            number(&arguments, "x-delivery-limit"),
            Some(DEAD_QUEUE_DELIVERY_LIMIT)
        );
        assert_eq!(number(&arguments, "x-max-length"), Some(100_000));
    }
}
