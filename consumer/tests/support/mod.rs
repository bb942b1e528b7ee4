//! Setup of the tests that run the `consumer` binary. The local RabbitMQ is used under
//! a prefix of the test's own, deleted at the end, also on failure. The K3Cloud
//! simulator runs in-process, the SQLite ledger sits in a temporary folder, and a
//! configuration file points the binary at all three.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use dingk3::approval::ApprovalInstance;
use dingk3::broker::headers::{PipelineHeaders, message_properties};
use dingk3::broker::{
    BrokerSettings, OutgoingMessage, Publisher, RawBrokerConfig, Recovery, Topology, connect,
};
use dingk3::envelope::Envelope;
use dingk3_simulator::k3cloud::{
    DEFAULT_ACCT_ID, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_USERNAME,
};
use secrecy::SecretString;

/// Process code of the reference cases.
pub const PROCESS_CODE: &str = "PROC-E322578D-5495-41BA-AED7-BBA841056F34";

/// Returns the broker URL of the tests.
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Returns a prefix no other test uses.
pub fn unique_prefix(test: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("dingk3-test-{test}-{}", &id[..8])
}

/// Returns broker settings for `prefix` with one short retry tier.
pub fn broker_settings(prefix: &str) -> BrokerSettings {
    RawBrokerConfig {
        url: Some(SecretString::from(amqp_url())),
        prefix: prefix.to_string(),
        retry_tiers: vec!["1s".to_string()],
        ..RawBrokerConfig::default()
    }
    .validate()
    .expect("test broker settings are valid")
}

/// Declares the topology and publishes each envelope; fails the test when the broker
/// is unreachable.
pub async fn publish(settings: &BrokerSettings, envelopes: &[Envelope]) {
    let name = format!("{}-publisher", settings.prefix);
    let connection = connect(settings, &name, Recovery::Off)
        .await
        .unwrap_or_else(|error| {
            panic!("RabbitMQ is not reachable ({error}); start it (rabbitmq-server -detached) or point AMQP_URL at a running broker")
        });
    let channel = connection.create_channel().await.expect("channel opens");
    let topology = Topology::new(settings);
    topology.declare(&channel).await.expect("topology declared");
    let publisher = Publisher::open(&connection, settings)
        .await
        .expect("publisher opens");
    for envelope in envelopes {
        let properties = message_properties(
            &envelope.process_instance_id,
            "dingk3-producer",
            Utc::now(),
            PipelineHeaders::default().to_field_table(),
        )
        .expect("valid properties");
        let message = OutgoingMessage {
            exchange: topology.approvals_exchange(),
            routing_key: topology.routing_key().to_string(),
            payload: envelope.to_bytes(),
            properties,
        };
        publisher
            .publish(&message)
            .await
            .expect("publish confirmed");
    }
    let _ = connection.close(200, "published".into()).await;
}

/// Deletes the topology of `settings` when dropped.
pub struct TopologyGuard(pub BrokerSettings);

impl Drop for TopologyGuard {
    fn drop(&mut self) {
        let settings = self.0.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime starts");
            runtime.block_on(async move {
                let name = format!("{}-cleanup", settings.prefix);
                let Ok(connection) = connect(&settings, &name, Recovery::Off).await else {
                    return;
                };
                if let Ok(channel) = connection.create_channel().await {
                    let _ = Topology::new(&settings).delete(&channel).await;
                }
                let _ = connection.close(200, "cleanup".into()).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// Returns a path below the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// Builds the envelope of reference case `name`.
pub fn case_envelope(name: &str) -> Envelope {
    let dir = repo_path("tests/fixtures/cases");
    let read = |file: String| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
    };
    let expected = read(format!("{name}.expected.json"));
    let id = expected["process_instance_id"]
        .as_str()
        .unwrap()
        .to_string();
    let instance = ApprovalInstance::from_raw(id, read(format!("{name}.json"))).unwrap();
    Envelope::new(PROCESS_CODE, &instance, Utc::now())
}

/// Returns a port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Writes a configuration for the binary: the example's routes, the test broker
/// prefix, a SQLite ledger and the K3Cloud simulator at `k3_base_url`.
pub fn write_config(
    folder: &Path,
    prefix: &str,
    k3_base_url: &str,
    metrics_port: u16,
) -> (PathBuf, PathBuf) {
    let example = std::fs::read_to_string(repo_path("config/dingk3.example.toml")).unwrap();
    let example: toml::Table = example.parse().expect("the example configuration parses");
    let mut routes = toml::Table::new();
    for key in ["routes", "mappings", "value_maps"] {
        if let Some(value) = example.get(key) {
            routes.insert(key.to_string(), value.clone());
        }
    }
    let ledger = folder.join("ledger.sqlite");
    let amqp = amqp_url();
    let ledger_url = format!("sqlite://{}", ledger.display());
    let text = format!(
        r#"[log]
level = "info,lapin=warn"

[consumer]
consumer_id = "{prefix}-bin"
batch_wait_ms = 50
metrics_listen = "127.0.0.1:{metrics_port}"
dlq_depth_refresh_seconds = 1
shutdown_grace_seconds = 10

[broker]
url = "{amqp}"
prefix = "{prefix}"
retry_tiers = ["1s"]

[ledger]
url = "{ledger_url}"

[k3cloud]
base_url = "{k3_base_url}"
acct_id = "{DEFAULT_ACCT_ID}"
username = "{DEFAULT_USERNAME}"
app_id = "{DEFAULT_APP_ID}"
app_secret = "{DEFAULT_APP_SECRET}"
request_timeout_ms = 5000
connect_timeout_ms = 2000

{}"#,
        toml::to_string(&routes).expect("routes serialize")
    );
    let path = folder.join("dingk3.toml");
    std::fs::write(&path, text).unwrap();
    (path, ledger)
}

/// Polls `check` every 100 ms until it returns true, failing with `what` after `within`.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
