//! The test broker: reachability, unique prefixes, publishing like another client,
//! reading dead letters, and deleting a test's topology.

use std::time::Duration;

use dingk3::broker::headers::{self, PipelineHeaders};
use dingk3::broker::{
    BrokerSettings, Failure, OutgoingMessage, Publisher, RawBrokerConfig, Recovery, Topology,
    connect,
};
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::{BasicProperties, Channel, Connection};
use secrecy::SecretString;
use serde_json::Value;
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
    let parsed = url::Url::parse(&amqp_url()).expect("AMQP_URL is a valid URL");
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed.port().unwrap_or(5672);
    let attempt = tokio::time::timeout(
        Duration::from_secs(5),
        TcpStream::connect((host.as_str(), port)),
    );
    match attempt.await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => panic!(
            "RabbitMQ is not reachable at {host}:{port} ({error}); start it (rabbitmq-server -detached) or point AMQP_URL at a running broker"
        ),
        Err(_) => panic!(
            "RabbitMQ at {host}:{port} did not accept a TCP connection within 5 s; start it or point AMQP_URL at a running broker"
        ),
    }
}

/// Returns a prefix no other test uses.
pub fn unique_prefix(test: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("dingk3-test-{test}-{}", &id[..8])
}

/// Returns broker settings for the test broker with `prefix` and retry `tiers`.
pub fn settings(prefix: &str, tiers: &[&str]) -> BrokerSettings {
    RawBrokerConfig {
        url: Some(SecretString::from(amqp_url())),
        prefix: prefix.to_string(),
        retry_tiers: tiers.iter().map(|tier| tier.to_string()).collect(),
        reconnect_max_backoff_ms: 1_000,
        connect_timeout_ms: 10_000,
        ..RawBrokerConfig::default()
    }
    .validate()
    .expect("test broker settings are valid")
}

/// A dead letter as the tests inspect it.
#[derive(Debug, Clone)]
pub struct DeadLetterView {
    /// `message_id` property.
    pub message_id: Option<String>,

    /// The failure headers.
    pub failure: Failure,

    /// `x-dingk3-attempt`.
    pub attempt: u32,

    /// The body, unchanged from the original message.
    pub body: Vec<u8>,

    /// Whether the message is persistent (delivery mode 2).
    pub persistent: bool,
}

impl DeadLetterView {
    /// Returns the error kind.
    pub fn kind(&self) -> &str {
        &self.failure.kind
    }

    /// Returns the detail header as JSON text, empty when absent.
    pub fn detail_text(&self) -> String {
        self.failure
            .detail
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_default()
    }
}

/// A connection of the test itself, for publishing and reading queues.
pub struct TestClient {
    connection: Connection,
    channel: Channel,
    publisher: Publisher,
    topology: Topology,
}

impl TestClient {
    /// Connects with a name of its own and declares the topology.
    pub async fn connect(settings: &BrokerSettings) -> TestClient {
        let name = format!("{}-test-client", settings.prefix);
        let connection = connect(settings, &name, Recovery::Off)
            .await
            .expect("the test client connects to the broker");
        let channel = connection
            .create_channel()
            .await
            .expect("the test client opens a channel");
        let topology = Topology::new(settings);
        topology
            .declare(&channel)
            .await
            .expect("the test topology can be declared");
        let publisher = Publisher::open(&connection, settings)
            .await
            .expect("the test publisher opens");
        TestClient {
            connection,
            channel,
            publisher,
            topology,
        }
    }

    /// Publishes `body` to the work queue as another client would, with `message_id`
    /// if given.
    pub async fn publish(&self, body: Vec<u8>, message_id: Option<&str>) {
        let headers = PipelineHeaders::default().to_field_table();
        let mut properties = headers::message_properties(
            message_id.unwrap_or("x"),
            "dingk3-test",
            chrono::Utc::now(),
            headers,
        )
        .expect("test properties are valid");
        if message_id.is_none() {
            properties = BasicProperties::default()
                .with_delivery_mode(headers::PERSISTENT)
                .with_content_type("application/octet-stream".into());
        }
        let message = OutgoingMessage {
            exchange: self.topology.approvals_exchange(),
            routing_key: self.topology.routing_key().to_string(),
            payload: body,
            properties,
        };
        self.publisher
            .publish(&message)
            .await
            .expect("the broker confirms the test publish");
    }

    /// Returns the number of ready messages in `queue`.
    pub async fn depth(&self, queue: &str) -> u32 {
        dingk3_consumer::dlq_depth::read(&self.channel, queue)
            .await
            .expect("the queue can be declared passively")
    }

    /// Takes every message now in the dead-letter queue.
    pub async fn take_dead_letters(&self) -> Vec<DeadLetterView> {
        let mut taken = Vec::new();
        let queue = self.topology.dead_queue();
        loop {
            let message = self
                .channel
                .basic_get(queue.as_str().into(), BasicGetOptions::default())
                .await
                .expect("basic.get on the dead-letter queue succeeds");
            let Some(message) = message else {
                return taken;
            };
            let properties = &message.delivery.properties;
            let pipeline = PipelineHeaders::from_properties(properties);
            taken.push(DeadLetterView {
                message_id: properties.message_id().as_ref().map(|id| id.to_string()),
                failure: pipeline.failure.unwrap_or(Failure {
                    kind: "(no x-dingk3-error-kind)".to_string(),
                    error: String::new(),
                    detail: None,
                    failed_at: None,
                }),
                attempt: pipeline.attempt,
                body: message.delivery.data.clone(),
                persistent: *properties.delivery_mode() == Some(headers::PERSISTENT),
            });
            message
                .delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .expect("the dead letter is acked");
        }
    }

    /// Deletes the topology and closes the connection.
    pub async fn delete_topology(self) {
        if let Err(error) = self.topology.delete(&self.channel).await {
            eprintln!("cleanup of {} failed: {error}", self.topology.prefix());
        }
        let _ = self.connection.close(200, "test done".into()).await;
    }
}

/// Deletes a test's topology when dropped without [`TestClient::delete_topology`],
/// e.g. after a failed assertion.
pub struct TopologyGuard {
    settings: Option<BrokerSettings>,
}

impl TopologyGuard {
    /// Guards the topology of `settings`.
    pub fn new(settings: &BrokerSettings) -> TopologyGuard {
        TopologyGuard {
            settings: Some(settings.clone()),
        }
    }

    /// Forgets the topology, once it was deleted.
    pub fn disarm(&mut self) {
        self.settings = None;
    }
}

impl Drop for TopologyGuard {
    fn drop(&mut self) {
        let Some(settings) = self.settings.take() else {
            return;
        };
        // Drop cannot await, so the deletion runs on a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime starts");
            runtime.block_on(async move {
                let name = format!("{}-cleanup", settings.prefix);
                let Ok(connection) = connect(&settings, &name, Recovery::Off).await else {
                    eprintln!("cleanup of {} skipped: broker unreachable", settings.prefix);
                    return;
                };
                if let Ok(channel) = connection.create_channel().await
                    && let Err(error) = Topology::new(&settings).delete(&channel).await
                {
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
