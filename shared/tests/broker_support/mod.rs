//! Shared setup of the broker integration tests.
//!
//! Every test talks to the RabbitMQ at `AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`) under a prefix of its own, and deletes its
//! queues and exchanges when it ends, also when it fails. An unreachable broker fails
//! the test with instructions; it is never skipped.
//!
//! Connection-loss tests close their own connection, found by its unique name, with
//! `rabbitmqctl close_connection`, so other users of the broker are not disturbed.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use dingk3::broker::config::RawBrokerConfig;
use dingk3::broker::{BrokerSettings, OutgoingMessage, Recovery, Topology, connect, headers};
use lapin::message::BasicGetMessage;
use lapin::options::BasicGetOptions;
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

/// Broker of the tests when `AMQP_URL` is unset.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Returns the broker URL of the tests.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.to_string())
}

/// Returns the broker's host and port from the URL.
pub fn broker_address() -> (String, u16) {
    let url = url::Url::parse(&amqp_url()).expect("AMQP_URL is a valid URL");
    let host = url.host_str().unwrap_or("127.0.0.1").to_string();
    (host, url.port().unwrap_or(5672))
}

/// Fails the test with instructions unless the broker accepts TCP connections.
///
/// Also routes logs to the test output (shown for failed tests); `RUST_LOG` overrides
/// the default filter.
pub async fn require_broker() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("dingk3=debug,lapin=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
    let (host, port) = broker_address();
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
            "RabbitMQ at {host}:{port} did not accept a TCP connection within 5 s; start it (rabbitmq-server -detached) or point AMQP_URL at a running broker"
        ),
    }
}

/// Returns a prefix no other test uses.
pub fn unique_prefix(test: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("dingk3-test-{test}-{}", &id[..8])
}

/// Returns a connection name no other test uses.
pub fn unique_connection_name(test: &str) -> String {
    format!("{}-conn", unique_prefix(test))
}

/// Returns validated settings for `url` with a test prefix and `tiers`, other keys at
/// their defaults except a short reconnection back-off.
pub fn settings_for(url: &str, prefix: &str, tiers: &[&str]) -> BrokerSettings {
    RawBrokerConfig {
        url: Some(SecretString::from(url)),
        prefix: prefix.to_string(),
        retry_tiers: tiers.iter().map(|tier| tier.to_string()).collect(),
        reconnect_max_backoff_ms: 1_000,
        connect_timeout_ms: 10_000,
        ..RawBrokerConfig::default()
    }
    .validate()
    .expect("test broker settings are valid")
}

/// Returns settings for the test broker with `prefix` and `tiers`.
pub fn settings(prefix: &str, tiers: &[&str]) -> BrokerSettings {
    settings_for(&amqp_url(), prefix, tiers)
}

/// Opens a plain connection (no recovery) and one channel for test bookkeeping.
pub async fn open_channel(settings: &BrokerSettings, name: &str) -> (Connection, Channel) {
    let connection = connect(settings, name, Recovery::Off)
        .await
        .expect("test connection opens");
    let channel = connection
        .create_channel()
        .await
        .expect("test channel opens");
    (connection, channel)
}

/// Deletes the test's topology when dropped, also after a failed assertion.
pub struct TopologyGuard {
    /// Settings of the topology to delete.
    settings: BrokerSettings,
}

impl TopologyGuard {
    /// Guards the topology of `settings`.
    pub fn new(settings: &BrokerSettings) -> TopologyGuard {
        TopologyGuard {
            settings: settings.clone(),
        }
    }
}

impl Drop for TopologyGuard {
    fn drop(&mut self) {
        let settings = self.settings.clone();
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
                let channel = connection
                    .create_channel()
                    .await
                    .expect("cleanup channel opens");
                if let Err(error) = Topology::new(&settings).delete(&channel).await {
                    eprintln!("cleanup of {} failed: {error}", settings.prefix);
                }
                let _ = connection.close(200, "cleanup done".into()).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// Fetches one message from `queue`, polling until `within` has passed.
pub async fn get_within(
    channel: &Channel,
    queue: &str,
    within: Duration,
) -> Option<BasicGetMessage> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let message = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .expect("basic.get succeeds");
        if message.is_some() {
            return message;
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Builds a pipeline message for the work queue of `topology`.
pub fn work_message(topology: &Topology, message_id: &str) -> OutgoingMessage {
    let properties = headers::message_properties(
        message_id,
        "dingk3-test",
        chrono::Utc::now(),
        headers::PipelineHeaders::default().to_field_table(),
    )
    .expect("test properties are valid");
    OutgoingMessage {
        exchange: topology.approvals_exchange(),
        routing_key: topology.routing_key().to_string(),
        payload: format!("{{\"process_instance_id\":\"{message_id}\"}}").into_bytes(),
        properties,
    }
}

/// Returns the `message_id` of a fetched or consumed message.
pub fn message_id_of(properties: &lapin::BasicProperties) -> String {
    properties
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// Returns the headers of a message, empty when it has none.
pub fn headers_of(properties: &lapin::BasicProperties) -> FieldTable {
    properties.headers().clone().unwrap_or_default()
}

/// Closes the broker-side connection named `name` with `rabbitmqctl close_connection`,
/// waiting up to 10 s for it to be listed. Panics when it never appears.
pub async fn force_close_connection(name: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listing = list_connections().await;
        if let Some(pid) = connection_pid(&listing, name) {
            let output = tokio::process::Command::new("rabbitmqctl")
                .args(["close_connection", &pid, "closed by a dingk3 test"])
                .output()
                .await
                .expect("rabbitmqctl runs");
            assert!(
                output.status.success(),
                "rabbitmqctl close_connection {pid} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no broker connection named {name} in rabbitmqctl list_connections:\n{listing}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Returns `rabbitmqctl list_connections pid client_properties` without headers: one
/// connection per line, the Erlang pid, a tab, and the client properties.
async fn list_connections() -> String {
    let output = tokio::process::Command::new("rabbitmqctl")
        .args(["list_connections", "pid", "client_properties", "--silent"])
        .output()
        .await
        .expect("rabbitmqctl runs (it may need root)");
    assert!(
        output.status.success(),
        "rabbitmqctl list_connections failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Finds the pid of the connection whose client properties carry `name`. The JSON
/// formatter prints pids in a form `close_connection` does not accept, so the table
/// form is parsed.
fn connection_pid(listing: &str, name: &str) -> Option<String> {
    let quoted_name = format!("\"{name}\"");
    listing.lines().find_map(|line| {
        let (pid, properties) = line.split_once('\t')?;
        properties
            .contains(&quoted_name)
            .then(|| pid.trim().to_string())
    })
}

/// Returns the arguments of `queue` as RabbitMQ reports them, as JSON text.
pub async fn queue_arguments(queue: &str) -> String {
    let output = tokio::process::Command::new("rabbitmqctl")
        .args([
            "list_queues",
            "name",
            "arguments",
            "--formatter",
            "json",
            "--quiet",
        ])
        .output()
        .await
        .expect("rabbitmqctl runs (it may need root)");
    let listing: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("rabbitmqctl prints JSON");
    listing
        .as_array()
        .and_then(|queues| {
            queues
                .iter()
                .find(|entry| entry.get("name").and_then(|n| n.as_str()) == Some(queue))
        })
        .and_then(|entry| entry.get("arguments"))
        .map(|arguments| arguments.to_string())
        .unwrap_or_else(|| panic!("queue {queue} is not listed by rabbitmqctl list_queues"))
}

/// A TCP proxy in front of the broker that a test can freeze, stop and restart, to
/// simulate a stalled network or a broker outage without touching the shared broker.
pub struct BrokerProxy {
    /// Address the proxy listens on.
    pub address: SocketAddr,

    /// Cancels the accept loop and every forwarded connection.
    stop: tokio_util::sync::CancellationToken,

    /// While `true`, no byte is forwarded in either direction; connections stay open.
    frozen: watch::Sender<bool>,
}

impl BrokerProxy {
    /// Starts a proxy on `address` (port 0 picks a free one).
    pub async fn start(address: SocketAddr) -> BrokerProxy {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .expect("proxy binds its address");
        let address = listener.local_addr().expect("proxy has an address");
        let stop = tokio_util::sync::CancellationToken::new();
        let (frozen, _) = watch::channel(false);
        let accept_stop = stop.clone();
        let accept_frozen = frozen.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = accept_stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((client, _)) = accepted else { continue };
                let pipe_stop = accept_stop.clone();
                let frozen = accept_frozen.clone();
                tokio::spawn(async move {
                    let (host, port) = broker_address();
                    let Ok(upstream) = TcpStream::connect((host.as_str(), port)).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (upstream_read, upstream_write) = upstream.into_split();
                    tokio::select! {
                        () = pipe_stop.cancelled() => {}
                        () = pump(client_read, upstream_write, frozen.subscribe()) => {}
                        () = pump(upstream_read, client_write, frozen.subscribe()) => {}
                    }
                });
            }
        });
        BrokerProxy {
            address,
            stop,
            frozen,
        }
    }

    /// Returns the broker URL that goes through this proxy.
    pub fn url(&self) -> String {
        let mut url = url::Url::parse(&amqp_url()).expect("AMQP_URL is a valid URL");
        url.set_host(Some(&self.address.ip().to_string()))
            .expect("host is settable");
        url.set_port(Some(self.address.port()))
            .expect("port is settable");
        url.to_string()
    }

    /// Stops or resumes forwarding bytes, keeping the connections open.
    pub fn set_frozen(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }

    /// Stops accepting and cuts every forwarded connection.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for BrokerProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Copies bytes from `from` to `to` until either side closes, pausing while frozen.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
