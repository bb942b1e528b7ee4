//! The test's own view of a run's queues: depths, and the dead letters read without
//! removing them.
//!
//! Dead letters are read with `basic.get` on a channel of their own and never acked.
//! Closing that channel puts every one of them back, so the consumers' dead-letter
//! depth metric, `consumer status` and later reads still find them. The dead-letter
//! queue allows a million deliveries per message, so reading it often is harmless.

use dingk3::broker::headers::{self, PipelineHeaders};
use dingk3::broker::{BrokerSettings, Failure, Recovery, Topology, connect};
use lapin::options::BasicGetOptions;
use lapin::{Channel, Connection};

use crate::consumer::DeadLetterView;

/// Ready messages per queue of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// The work queue.
    pub approvals: u32,
    /// Each retry queue, by tier label.
    pub retries: Vec<(String, u32)>,
    /// The dead-letter queue.
    pub dead: u32,
}

impl QueueDepths {
    /// Returns whether no message waits in the work queue or a retry queue.
    pub fn work_done(&self) -> bool {
        self.approvals == 0 && self.retries.iter().all(|(_, depth)| *depth == 0)
    }
}

/// A connection of the test to the run's broker prefix.
pub struct BrokerView {
    /// Names of the run's queues and exchanges.
    pub topology: Topology,
    connection: Connection,
    channel: Channel,
}

impl BrokerView {
    /// Connects under `{prefix}-view` and declares the topology, so that it exists
    /// before the producer and the consumers start.
    pub async fn open(settings: &BrokerSettings) -> BrokerView {
        let name = format!("{}-view", settings.prefix);
        let connection = connect(settings, &name, Recovery::Off)
            .await
            .expect("the test connects to the broker");
        let channel = connection
            .create_channel()
            .await
            .expect("the test opens a channel");
        let topology = Topology::new(settings);
        topology
            .declare(&channel)
            .await
            .expect("the run's topology can be declared");
        BrokerView {
            topology,
            connection,
            channel,
        }
    }

    /// Returns the ready messages of one queue.
    pub async fn depth(&self, queue: &str) -> u32 {
        dingk3_consumer::dlq_depth::read(&self.channel, queue)
            .await
            .unwrap_or_else(|error| panic!("the depth of queue {queue} cannot be read: {error}"))
    }

    /// Returns the ready messages of every queue of the run.
    pub async fn depths(&self) -> QueueDepths {
        let mut retries = Vec::new();
        for tier in self.topology.retry_tiers() {
            let depth = self.depth(&self.topology.retry_queue(tier)).await;
            retries.push((tier.label().to_string(), depth));
        }
        QueueDepths {
            approvals: self.depth(&self.topology.approvals_queue()).await,
            retries,
            dead: self.depth(&self.topology.dead_queue()).await,
        }
    }

    /// Reads every message of the dead-letter queue and leaves them all in it.
    pub async fn peek_dead_letters(&self) -> Vec<DeadLetterView> {
        let channel = self
            .connection
            .create_channel()
            .await
            .expect("the test opens a channel to read dead letters");
        let queue = self.topology.dead_queue();
        let mut letters = Vec::new();
        loop {
            let message = channel
                .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .unwrap_or_else(|error| panic!("basic.get on {queue} failed: {error}"));
            let Some(message) = message else { break };
            let delivery = message.delivery;
            let properties = &delivery.properties;
            let pipeline = PipelineHeaders::from_properties(properties);
            letters.push(DeadLetterView {
                message_id: properties.message_id().as_ref().map(|id| id.to_string()),
                failure: pipeline.failure.unwrap_or_else(|| Failure {
                    kind: "(no x-dingk3-error-kind)".to_string(),
                    error: String::new(),
                    detail: None,
                    failed_at: None,
                }),
                attempt: pipeline.attempt,
                body: delivery.data.clone(),
                persistent: *properties.delivery_mode() == Some(headers::PERSISTENT),
            });
        }
        // Closing the channel returns every unacknowledged message to the queue.
        channel
            .close(200, "dead letters read".into())
            .await
            .expect("the reading channel closes");
        letters
    }

    /// Deletes the run's queues and exchanges and closes the connection.
    pub async fn delete_topology(self) {
        if let Err(error) = self.topology.delete(&self.channel).await {
            eprintln!("cleanup of {} failed: {error}", self.topology.prefix());
        }
        let _ = self.connection.close(200, "test done".into()).await;
    }
}
