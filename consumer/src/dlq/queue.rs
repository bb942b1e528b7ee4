//! Holding the dead letters of one command.
//!
//! [`DeadQueue::open`] connects with a name of its own and reads the dead-letter
//! queue's depth with a passive declare, which creates nothing. [`DeadQueue::take`]
//! then fetches at most that many messages with `basic.get` without acknowledging
//! them. A message dead-lettered while the command runs (a replayed message that
//! failed again) joins the end of the queue, behind them, so it is not read. No
//! message is read twice, because the broker does not deliver a held message again
//! while its channel is open.
//!
//! Held messages leave in one of two ways. [`DeadQueue::ack`] removes one after the
//! caller made it safe elsewhere. [`DeadQueue::release`] puts the others back with
//! `basic.reject(requeue)` in the order they were read, which keeps their order in a
//! quorum queue: returned messages are delivered before the rest, in the order they
//! came back. If the process dies instead, the broker returns every unacknowledged
//! message of the closed connection.
//!
//! NOTE: messages stay unacknowledged for the whole command. A command that runs longer
//! than the broker's `consumer_timeout` (30 minutes by default) has its channel closed
//! by the broker, and every held message returns to the queue.

use dingk3::broker::{
    AckHandle, AckOutcome, BrokerSettings, ReceivedMessage, Recovery, Topology, connect,
    default_connection_name, split,
};
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use tracing::{debug, warn};

use crate::dlq::error::{DlqError, broker};
use crate::dlq::letter::Letter;

/// Maximum wait for returned messages to be ready again.
const RETURN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Pause between two depth readings while waiting for returned messages.
const RETURN_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// AMQP reply code of a passive declare of a queue that does not exist.
const NOT_FOUND: u16 = 404;

/// One dead letter held by this command.
#[derive(Debug)]
pub struct Held {
    /// The message as read.
    pub message: ReceivedMessage,

    /// Its interpretation.
    pub letter: Letter,

    /// Present until the message is acked or released.
    ack: Option<AckHandle>,
}

impl Held {
    /// Returns whether the message is still held (neither acked nor released).
    pub fn is_held(&self) -> bool {
        self.ack.is_some()
    }

    /// Builds a held message without a delivery behind it, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_test(message: ReceivedMessage, letter: Letter) -> Held {
        Held {
            message,
            letter,
            ack: None,
        }
    }
}

/// The dead letters present when the command started, held unacknowledged.
#[derive(Debug)]
pub struct DeadQueue {
    connection: Connection,
    channel: Channel,
    topology: Topology,
    depth_at_start: u32,
    held: Vec<Held>,
}

impl DeadQueue {
    /// Connects and reads the depth of the dead-letter queue.
    pub async fn open(settings: &BrokerSettings) -> Result<DeadQueue, DlqError> {
        let topology = Topology::new(settings);
        let name = default_connection_name("dlq");
        let connection = connect(settings, &name, Recovery::Off).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(broker("channel.open"))?;
        let queue = topology.dead_queue();
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = channel
            .queue_declare(queue.as_str().into(), options, FieldTable::default())
            .await;
        let depth_at_start = match declared {
            Ok(declared) => declared.message_count(),
            Err(error) => {
                let _ = connection
                    .close(200, "dead-letter queue missing".into())
                    .await;
                return Err(if is_not_found(&error) {
                    DlqError::QueueMissing { queue }
                } else {
                    DlqError::Broker {
                        operation: "queue.declare",
                        source: error,
                    }
                });
            }
        };
        debug!(queue = %queue, depth = depth_at_start, "dead-letter queue opened");
        Ok(DeadQueue {
            connection,
            channel,
            topology,
            depth_at_start,
            held: Vec::new(),
        })
    }

    /// Returns the topology, for the names of the queues and exchanges.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Returns the connection, e.g. to open a publisher on it.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Returns the number of ready messages when the command started.
    pub fn depth_at_start(&self) -> u32 {
        self.depth_at_start
    }

    /// Fetches the messages present at the start, interpreting each with `read`
    /// (message, position from 1). Stops early when the queue runs empty, e.g. because
    /// another command has some of them unacknowledged.
    pub async fn take(
        &mut self,
        read: impl Fn(&ReceivedMessage, usize) -> Letter,
    ) -> Result<(), DlqError> {
        let queue = self.topology.dead_queue();
        while self.held.len() < self.depth_at_start as usize {
            let options = BasicGetOptions { no_ack: false };
            let got = self
                .channel
                .basic_get(queue.as_str().into(), options)
                .await
                .map_err(broker("basic.get"))?;
            let Some(got) = got else {
                break;
            };
            let (message, ack) = split(got.delivery);
            let letter = read(&message, self.held.len() + 1);
            self.held.push(Held {
                message,
                letter,
                ack: Some(ack),
            });
        }
        if self.held.len() < self.depth_at_start as usize {
            warn!(
                expected = self.depth_at_start,
                read = self.held.len(),
                "fewer dead letters read than the queue held at start; another client may hold the rest"
            );
        }
        Ok(())
    }

    /// Returns every message read, in queue order.
    pub fn held(&self) -> &[Held] {
        &self.held
    }

    /// Acks the message at `index`: it leaves the dead-letter queue for good. Returns
    /// `None` when it was acked or released before.
    pub async fn ack(&mut self, index: usize) -> Option<AckOutcome> {
        let handle = self.held.get_mut(index)?.ack.take()?;
        Some(handle.ack().await)
    }

    /// Returns whether acks can still be sent: false once the broker closed the
    /// channel, which also returned every held message to the queue.
    pub fn usable(&self) -> bool {
        self.channel.status().connected()
    }

    /// Puts every message still held back into the queue, in the order read, waits
    /// until the queue counts them as ready again, and closes the connection. Returns
    /// how many went back.
    ///
    /// RabbitMQ applies a reject to a quorum queue after the channel has handled it, so
    /// without the wait a command started right after this one could read a depth that
    /// misses messages still on their way back.
    pub async fn release(mut self) -> usize {
        let before = self.ready().await;
        let mut returned = 0;
        for held in &mut self.held {
            if let Some(handle) = held.ack.take() {
                // A lost reject means the channel is closed, and the broker has
                // returned the message already.
                let _ = handle.reject(true).await;
                returned += 1;
            }
        }
        if let Some(before) = before {
            self.wait_until_ready(before.saturating_add(returned as u32))
                .await;
        }
        if let Err(error) = self
            .connection
            .close(200, "dead letters released".into())
            .await
        {
            debug!(%error, "closing the dead-letter connection failed");
        }
        returned
    }

    /// Returns the number of ready messages, or `None` when it cannot be read.
    async fn ready(&self) -> Option<u32> {
        if !self.usable() {
            return None;
        }
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = self.topology.dead_queue();
        self.channel
            .queue_declare(queue.as_str().into(), options, FieldTable::default())
            .await
            .ok()
            .map(|declared| declared.message_count())
    }

    /// Polls the depth until it reaches `expected`, for at most [`RETURN_WAIT`]. A
    /// client that removes dead letters meanwhile makes the wait end by time.
    async fn wait_until_ready(&self, expected: u32) {
        let deadline = tokio::time::Instant::now() + RETURN_WAIT;
        while let Some(ready) = self.ready().await {
            if ready >= expected {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                warn!(
                    ready,
                    expected, "returned dead letters not all ready yet; going on"
                );
                return;
            }
            tokio::time::sleep(RETURN_POLL).await;
        }
    }
}

fn is_not_found(error: &lapin::Error) -> bool {
    use lapin::ErrorKind;
    match error.kind() {
        ErrorKind::ProtocolError(protocol) => protocol.get_id() == NOT_FOUND,
        _ => false,
    }
}
