//! The test's side of the local RabbitMQ: the broker check, the probe that declares,
//! reads and deletes a test prefix's topology, and closing a named connection.
//!
//! Every test uses a unique broker prefix and deletes its exchanges and queues when it
//! ends, also when it fails. An unreachable broker fails the test; it is never skipped.
//! Connection-loss tests close only their own connection, found by its unique name,
//! with `rabbitmqctl close_connection`.

use std::time::Duration;

use dingk3::broker::{BrokerSettings, RawBrokerConfig, Recovery, Topology, connect};
use dingk3::envelope::{DEFAULT_MAX_ENVELOPE_BYTES, Envelope};
use lapin::options::{BasicAckOptions, BasicGetOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{BasicProperties, Channel, Connection};
use secrecy::SecretString;
use tokio::net::TcpStream;

/// Broker of the tests when `AMQP_URL` is unset.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Returns the broker URL of the tests.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.to_string())
}

/// Fails the test with instructions unless the broker accepts TCP connections, and
/// routes logs to the test output (`RUST_LOG` overrides the filter).
pub async fn require_broker() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("dingk3=info,lapin=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
    let url = url_host_port(&amqp_url());
    let attempt = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&url));
    match attempt.await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => panic!(
            "RabbitMQ is not reachable at {url} ({error}); start it (rabbitmq-server -detached) or point AMQP_URL at a running broker"
        ),
        Err(_) => panic!(
            "RabbitMQ at {url} did not accept a TCP connection within 5 s; start it or point AMQP_URL at a running broker"
        ),
    }
}

fn url_host_port(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    let host_port = rest.split('/').next().unwrap_or(rest);
    if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:5672")
    }
}

/// One message taken from the work queue.
#[derive(Debug)]
pub struct Published {
    /// AMQP properties as delivered.
    pub properties: BasicProperties,
    /// The decoded body.
    pub envelope: Envelope,
}

/// The test's view of the broker: its prefix's topology, read through a connection
/// of its own. Dropping it deletes the topology.
pub struct BrokerProbe {
    /// Settings of the test prefix.
    pub settings: BrokerSettings,
    /// The prefix's names.
    pub topology: Topology,
    connection: Option<Connection>,
    channel: Channel,
}

impl BrokerProbe {
    /// Connects and declares the topology of `prefix`.
    pub async fn open(prefix: &str) -> BrokerProbe {
        let settings = RawBrokerConfig {
            url: Some(SecretString::from(amqp_url())),
            prefix: prefix.to_string(),
            retry_tiers: vec!["1s".to_string()],
            reconnect_max_backoff_ms: 1_000,
            ..RawBrokerConfig::default()
        }
        .validate()
        .expect("test broker settings are valid");
        let connection = connect(&settings, &format!("{prefix}-probe"), Recovery::Off)
            .await
            .expect("the test connection opens");
        let channel = connection
            .create_channel()
            .await
            .expect("the test channel opens");
        let topology = Topology::new(&settings);
        topology
            .declare(&channel)
            .await
            .expect("the test topology is declared");
        BrokerProbe {
            settings,
            topology,
            connection: Some(connection),
            channel,
        }
    }

    /// Takes every message now in the work queue, acking each.
    pub async fn drain(&self) -> Vec<Published> {
        let queue = self.topology.approvals_queue();
        let mut messages = Vec::new();
        // Confirmed publishes are enqueued, but give the queue a moment to settle.
        tokio::time::sleep(Duration::from_millis(200)).await;
        loop {
            let message = self
                .channel
                .basic_get(queue.as_str().into(), BasicGetOptions::default())
                .await
                .expect("basic.get on the work queue succeeds");
            let Some(message) = message else {
                return messages;
            };
            let delivery = message.delivery;
            let envelope = Envelope::decode(&delivery.data, DEFAULT_MAX_ENVELOPE_BYTES)
                .expect("the producer publishes valid envelopes");
            delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .expect("ack succeeds");
            messages.push(Published {
                properties: delivery.properties,
                envelope,
            });
        }
    }

    /// Deletes the work queue, so publishes to the approvals exchange are unroutable.
    pub async fn delete_work_queue(&self) {
        self.channel
            .queue_delete(
                self.topology.approvals_queue().as_str().into(),
                QueueDeleteOptions::default(),
            )
            .await
            .expect("the work queue is deleted");
    }

    /// Deletes the approvals exchange, so publishing to it closes the channel.
    pub async fn delete_approvals_exchange(&self) {
        self.channel
            .exchange_delete(
                self.topology.approvals_exchange().as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await
            .expect("the approvals exchange is deleted");
    }

    /// Declares the topology again after a deletion.
    pub async fn redeclare(&self) {
        self.topology
            .declare(&self.channel)
            .await
            .expect("the topology is declared again");
    }
}

impl Drop for BrokerProbe {
    fn drop(&mut self) {
        let settings = self.settings.clone();
        let probe = self.connection.take();
        // Drop cannot await, so the deletion runs on a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime starts");
            runtime.block_on(async move {
                if let Some(probe) = probe {
                    let _ = probe.close(200, "test done".into()).await;
                }
                let name = format!("{}-cleanup", settings.prefix);
                let Ok(connection) = connect(&settings, &name, Recovery::Off).await else {
                    eprintln!("cleanup of {} skipped: broker unreachable", settings.prefix);
                    return;
                };
                let Ok(channel) = connection.create_channel().await else {
                    return;
                };
                if let Err(error) = Topology::new(&settings).delete(&channel).await {
                    eprintln!("cleanup of {} failed: {error}", settings.prefix);
                }
                let _ = connection.close(200, "cleanup done".into()).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// Closes the broker-side connection named `name` with `rabbitmqctl close_connection`,
/// waiting up to 10 s for it to be listed. Only the test's own connections carry such
/// names, so other users of the broker are not disturbed.
pub async fn force_close_connection(name: &str) {
    crate::reliability::connections::force_close(name, Duration::from_secs(10)).await;
}
