//! Publishing with broker confirms, `mandatory`, and timeouts.
//!
//! A publish counts as done only when the broker acked it and did not return it.
//! RabbitMQ acks an unroutable `mandatory` message too, after sending `basic.return`,
//! so the returned message is the only sign that it reached no queue. A `basic.nack`
//! arrives when a queue with `x-overflow=reject-publish` is full, or on an internal
//! error.
//!
//! Both the publish call and the confirm are bounded by timeouts: lapin can wait
//! forever when the broker closes the connection during a publish.

use std::collections::HashSet;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tokio::sync::Mutex;
use tokio::time::{Instant, timeout, timeout_at};
use tracing::warn;

use crate::broker::config::BrokerSettings;
use crate::broker::headers::PERSISTENT;
use crate::broker::metrics::PUBLISH_FAILURES;

/// One message to publish.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Target exchange, e.g. [`crate::broker::Topology::approvals_exchange`].
    pub exchange: String,

    /// Routing key, e.g. [`crate::broker::Topology::routing_key`] or a tier label.
    pub routing_key: String,

    /// Message body.
    pub payload: Vec<u8>,

    /// Properties; the delivery mode is forced to persistent when published.
    pub properties: BasicProperties,
}

/// The step a publish timed out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStage {
    /// Handing the message to the connection.
    Send,
    /// Waiting for the broker's ack or nack.
    Confirm,
}

/// A publish that did not end in a plain broker ack.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PublishError {
    /// The broker refused the message: a full queue with `reject-publish`, or an
    /// internal error. Retry later.
    #[error(
        "the broker rejected the message (nack): a target queue is full or the broker failed internally"
    )]
    Nacked,

    /// The message matched no queue. The topology is missing or the routing key is
    /// wrong; retrying will not help until that is fixed.
    #[error("the broker returned the message as unroutable: {reply_code} {reply_text}")]
    Returned {
        /// AMQP reply code, 312 `NO_ROUTE` for an unroutable message.
        reply_code: u16,
        /// The broker's explanation.
        reply_text: String,
    },

    /// No confirm in time; the message may or may not have been stored.
    #[error("publish timed out after {after:?} while waiting to {}", match stage { PublishStage::Send => "send the message", PublishStage::Confirm => "receive the broker's confirm" })]
    Timeout {
        /// The step that timed out.
        stage: PublishStage,
        /// The configured timeout of that step.
        after: Duration,
    },

    /// The channel or connection failed; the message may or may not have been stored.
    #[error("publish failed on the channel: {0}")]
    Channel(#[source] lapin::Error),
}

impl PublishError {
    /// Returns the metric label of this failure.
    fn reason(&self) -> &'static str {
        match self {
            PublishError::Nacked => "nacked",
            PublishError::Returned { .. } => "returned",
            PublishError::Timeout { .. } => "timeout",
            PublishError::Channel(_) => "channel",
        }
    }
}

/// Outcome of each message of a batch, in the order given.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    /// One result per message.
    results: Vec<Result<(), PublishError>>,
}

impl BatchOutcome {
    /// Returns whether the broker confirmed every message; only then may a producer
    /// advance its watermark past the batch.
    pub fn all_confirmed(&self) -> bool {
        self.results.iter().all(Result::is_ok)
    }

    /// Returns one result per message, in the order given.
    pub fn results(&self) -> &[Result<(), PublishError>] {
        &self.results
    }

    /// Returns the first failure, if any.
    pub fn first_error(&self) -> Option<&PublishError> {
        self.results.iter().find_map(|result| result.as_ref().err())
    }

    /// Returns the number of confirmed messages.
    pub fn confirmed(&self) -> usize {
        self.results.iter().filter(|result| result.is_ok()).count()
    }

    /// Returns the per-message results.
    pub fn into_results(self) -> Vec<Result<(), PublishError>> {
        self.results
    }
}

/// A confirm-mode channel that publishes persistent, `mandatory` messages.
///
/// One batch is in flight at a time. That keeps returned messages attributable:
/// RabbitMQ may ack several publishes with one `multiple` ack, and lapin then attaches
/// a returned message to any of them.
#[derive(Debug)]
pub struct Publisher {
    /// The confirm-mode channel.
    channel: Channel,

    /// Deadline for handing one message to the connection.
    publish_timeout: Duration,

    /// Deadline for all confirms of one batch.
    confirm_timeout: Duration,

    /// Held for the duration of a batch.
    in_flight: Mutex<()>,
}

impl Publisher {
    /// Opens a new channel on `connection` and puts it in confirm mode.
    pub async fn open(
        connection: &Connection,
        settings: &BrokerSettings,
    ) -> Result<Publisher, lapin::Error> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Publisher {
            channel,
            publish_timeout: settings.publish_timeout,
            confirm_timeout: settings.confirm_timeout,
            in_flight: Mutex::new(()),
        })
    }

    /// Returns the underlying channel, e.g. to wait for its recovery after an error.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes one message and waits for its confirm.
    pub async fn publish(&self, message: &OutgoingMessage) -> Result<(), PublishError> {
        let outcome = self.publish_batch(std::slice::from_ref(message)).await;
        outcome
            .into_results()
            .pop()
            .unwrap_or_else(|| Err(missing_outcome()))
    }

    /// Publishes every message, then waits for all their confirms within one
    /// `confirm_timeout`.
    ///
    /// After a channel error or a send timeout, the remaining messages are not sent and
    /// report the same error.
    pub async fn publish_batch(&self, messages: &[OutgoingMessage]) -> BatchOutcome {
        let _batch = self.in_flight.lock().await;
        let mut results: Vec<Option<Result<(), PublishError>>> = vec![None; messages.len()];
        let mut confirms = Vec::with_capacity(messages.len());

        for (index, message) in messages.iter().enumerate() {
            match self.send(message).await {
                Ok(confirm) => confirms.push((index, confirm)),
                Err(error) => {
                    for result in &mut results[index..] {
                        *result = Some(Err(error.clone()));
                    }
                    break;
                }
            }
        }

        let deadline = Instant::now() + self.confirm_timeout;
        let mut returned = Vec::new();
        for (index, confirm) in confirms {
            results[index] = Some(match timeout_at(deadline, confirm).await {
                Ok(Ok(Confirmation::Ack(None))) => Ok(()),
                Ok(Ok(Confirmation::Ack(Some(message)))) => {
                    returned.push((index, message));
                    Ok(())
                }
                Ok(Ok(Confirmation::Nack(_))) => Err(PublishError::Nacked),
                Ok(Ok(Confirmation::NotRequested)) => Err(not_in_confirm_mode()),
                Ok(Err(error)) => Err(PublishError::Channel(error)),
                Err(_) => Err(PublishError::Timeout {
                    stage: PublishStage::Confirm,
                    after: self.confirm_timeout,
                }),
            });
        }
        attribute_returns(messages, &mut results, returned);

        let results: Vec<Result<(), PublishError>> = results
            .into_iter()
            .map(|result| result.unwrap_or_else(|| Err(missing_outcome())))
            .collect();
        log_failures(messages, &results);
        BatchOutcome { results }
    }

    async fn send(
        &self,
        message: &OutgoingMessage,
    ) -> Result<lapin::PublisherConfirm, PublishError> {
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let properties = message.properties.clone().with_delivery_mode(PERSISTENT);
        let exchange = short_string("exchange", &message.exchange)?;
        let routing_key = short_string("routing key", &message.routing_key)?;
        let publish = self.channel.basic_publish(
            exchange,
            routing_key,
            options,
            &message.payload,
            properties,
        );
        match timeout(self.publish_timeout, publish).await {
            Ok(Ok(confirm)) => Ok(confirm),
            Ok(Err(error)) => Err(PublishError::Channel(error)),
            Err(_) => Err(PublishError::Timeout {
                stage: PublishStage::Send,
                after: self.publish_timeout,
            }),
        }
    }
}

/// Counts every failure and logs the first one with the number of failures, so a
/// batch that fails on a dead channel logs one line, not one per message.
fn log_failures(messages: &[OutgoingMessage], results: &[Result<(), PublishError>]) {
    let mut first = None;
    let mut failed = 0_usize;
    for (message, result) in messages.iter().zip(results) {
        if let Err(error) = result {
            PUBLISH_FAILURES.with_label_values(&[error.reason()]).inc();
            failed += 1;
            first.get_or_insert((message, error));
        }
    }
    if let Some((message, error)) = first {
        warn!(
            message_id = message_id(&message.properties).unwrap_or_default(),
            exchange = %message.exchange,
            routing_key = %message.routing_key,
            %error,
            failed,
            total = messages.len(),
            "publish failed"
        );
    }
}

/// Marks returned messages as failed.
///
/// A returned message is matched to the batch message with the same `message_id`. A
/// returned message without an id is blamed on the message whose confirm carried it.
/// One whose id belongs to no message of this batch comes from an earlier batch that
/// timed out, so it is only logged.
fn attribute_returns(
    messages: &[OutgoingMessage],
    results: &mut [Option<Result<(), PublishError>>],
    returned: Vec<(usize, lapin::message::BasicReturnMessage)>,
) {
    let mut blamed = HashSet::new();
    for (carrier, message) in returned {
        let error = PublishError::Returned {
            reply_code: message.reply_code,
            reply_text: message.reply_text.to_string(),
        };
        let returned_id = message_id(&message.properties);
        let target = match returned_id.as_deref() {
            None => Some(carrier),
            Some(id) => {
                let same_id: Vec<usize> = messages
                    .iter()
                    .enumerate()
                    .filter(|(_, candidate)| {
                        message_id(&candidate.properties).as_deref() == Some(id)
                    })
                    .map(|(index, _)| index)
                    .collect();
                let unblamed = same_id
                    .iter()
                    .copied()
                    .find(|index| !blamed.contains(index));
                unblamed.or(same_id.first().copied())
            }
        };
        match target {
            Some(index) => {
                blamed.insert(index);
                results[index] = Some(Err(error));
            }
            None => warn!(
                message_id = returned_id.unwrap_or_default(),
                "returned message from an earlier batch ignored"
            ),
        }
    }
}

fn message_id(properties: &BasicProperties) -> Option<String> {
    properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_string())
}

/// Converts a name to an AMQP short string, which is limited to 255 bytes.
fn short_string(name_kind: &str, value: &str) -> Result<ShortString, PublishError> {
    ShortString::try_new(value).map_err(|_| {
        let error =
            std::io::Error::other(format!("{name_kind} {value:?} is longer than 255 bytes"));
        PublishError::Channel(lapin::Error::from(error))
    })
}

/// Returns the error for a message without a recorded outcome. Every message gets one
/// (a send error, or its confirm), so this only guards against a bug here.
fn missing_outcome() -> PublishError {
    let error = std::io::Error::other("no publish outcome was recorded");
    PublishError::Channel(lapin::Error::from(error))
}

fn not_in_confirm_mode() -> PublishError {
    let error = std::io::Error::other("the channel is not in confirm mode");
    PublishError::Channel(lapin::Error::from(error))
}
