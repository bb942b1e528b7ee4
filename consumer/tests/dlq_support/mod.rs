//! Setup of the tests of `consumer dlq …`: a broker prefix of the test's own with its
//! topology declared (deleted at the end, also on failure), the K3Cloud simulator, a
//! SQLite ledger and a configuration file in a temporary folder. Dead letters are
//! published as the consumer publishes them, as another client might (with broker
//! headers and without pipeline headers), or dead-lettered by RabbitMQ itself.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use dingk3::broker::headers::{PipelineHeaders, message_properties};
use dingk3::broker::{
    BrokerSettings, Failure, OutgoingMessage, Publisher, ReceivedMessage, Recovery, Topology,
    connect,
};
use dingk3::envelope::Envelope;
use dingk3::ledger::{InstanceRecord, Ledger, RawLedgerConfig};
use dingk3_simulator::k3cloud::{K3CloudSimulator, RunningK3Cloud, SimulatorOptions};
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicPublishOptions, BasicRejectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection};
use serde_json::{Value, json};

use crate::support::{
    TopologyGuard, broker_settings, case_envelope, free_port, unique_prefix, write_config,
};

/// A dead letter to publish as the consumer would.
#[derive(Debug, Clone)]
pub struct DeadSpec {
    /// The message body.
    pub body: Vec<u8>,
    /// `message_id`.
    pub message_id: Option<String>,
    /// `x-dingk3-error-kind`.
    pub kind: String,
    /// `x-dingk3-error`.
    pub reason: String,
    /// `x-dingk3-error-detail`.
    pub detail: Option<Value>,
    /// `x-dingk3-attempt`.
    pub attempt: u32,
    /// `x-dingk3-replay-count`.
    pub replay_count: u32,
    /// `x-dingk3-failed-at`.
    pub failed_at: DateTime<Utc>,
}

impl DeadSpec {
    /// Describes a dead letter of `envelope` with `kind` and `reason`.
    pub fn of(envelope: &Envelope, kind: &str, reason: &str) -> DeadSpec {
        DeadSpec {
            body: envelope.to_bytes(),
            message_id: Some(envelope.process_instance_id.clone()),
            kind: kind.to_string(),
            reason: reason.to_string(),
            detail: None,
            attempt: 1,
            replay_count: 0,
            failed_at: Utc::now(),
        }
    }
}

/// Returns the envelope of case `name` under another instance id and approval number,
/// so one case yields many distinct approvals.
pub fn variant(name: &str, suffix: &str) -> Envelope {
    let mut envelope = case_envelope(name);
    envelope.process_instance_id = format!("{}-{suffix}", envelope.process_instance_id);
    envelope.business_id = format!("{}{suffix}", envelope.business_id);
    envelope.instance["business_id"] = json!(envelope.business_id);
    envelope
}

/// A test bed for the dead-letter commands.
pub struct Bed {
    /// The test's prefix.
    pub prefix: String,
    /// Broker settings of the prefix.
    pub broker: BrokerSettings,
    /// Queue and exchange names.
    pub topology: Topology,
    /// The configuration file the binary reads.
    pub config: PathBuf,
    /// The SQLite ledger file.
    pub ledger_path: PathBuf,
    /// A handle on the test ledger.
    pub ledger: Ledger,
    /// The K3Cloud simulator the configuration names.
    pub k3: RunningK3Cloud,
    /// The temporary folder of the configuration, ledger and export files.
    pub folder: tempfile::TempDir,
    connection: Connection,
    channel: Channel,
    publisher: Publisher,
    _guard: TopologyGuard,
}

impl Bed {
    /// Starts a bed whose `[consumer]` section gets the extra lines `consumer_keys`.
    pub async fn start(test: &str, consumer_keys: &str) -> Bed {
        let prefix = unique_prefix(test);
        let broker = broker_settings(&prefix);
        let guard = TopologyGuard(broker.clone());
        let k3 = K3CloudSimulator::start(SimulatorOptions::default())
            .await
            .expect("the K3Cloud simulator starts");
        let folder = tempfile::tempdir().unwrap();
        let (config, ledger_path) =
            write_config(folder.path(), &prefix, &k3.base_url(), free_port());
        let text = std::fs::read_to_string(&config).unwrap();
        let text = text.replacen("[consumer]\n", &format!("[consumer]\n{consumer_keys}\n"), 1);
        std::fs::write(&config, text).unwrap();

        let name = format!("{prefix}-dlq-test");
        let connection = connect(&broker, &name, Recovery::Off)
            .await
            .unwrap_or_else(|error| panic!("RabbitMQ is not reachable ({error}); start it or point AMQP_URL at a running broker"));
        let channel = connection.create_channel().await.unwrap();
        let topology = Topology::new(&broker);
        topology.declare(&channel).await.expect("topology declared");
        let publisher = Publisher::open(&connection, &broker).await.unwrap();
        let ledger_settings = RawLedgerConfig {
            url: format!("sqlite://{}", ledger_path.display()),
            ..RawLedgerConfig::default()
        }
        .validate()
        .unwrap();
        let ledger = Ledger::connect(&ledger_settings)
            .await
            .expect("the test ledger opens")
            .with_actor("dlq-test");
        Bed {
            prefix,
            broker,
            topology,
            config,
            ledger_path,
            ledger,
            k3,
            folder,
            connection,
            channel,
            publisher,
            _guard: guard,
        }
    }

    /// Runs `consumer --lang <lang> dlq <args> --config <file>`.
    pub fn dlq_in(&self, lang: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_consumer"))
            .args(["--lang", lang, "dlq"])
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .current_dir(self.folder.path())
            .env_remove("DINGK3_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .expect("the consumer binary runs")
    }

    /// Runs a dead-letter command in English.
    pub fn dlq(&self, args: &[&str]) -> Output {
        self.dlq_in("en", args)
    }

    /// Runs `dlq list --format json` and returns its rows.
    pub fn list_json(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["list", "--format", "json"];
        args.extend_from_slice(extra);
        let output = self.dlq(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "dlq list: {}",
            describe(&output)
        );
        let rows: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!("dlq list prints JSON ({error}): {}", describe(&output))
        });
        rows.as_array().expect("a JSON array").clone()
    }

    /// Publishes a dead letter as the consumer does.
    pub async fn dead_letter(&self, spec: &DeadSpec) {
        let headers = PipelineHeaders {
            attempt: spec.attempt,
            replay_count: spec.replay_count,
            failure: Some(Failure {
                kind: spec.kind.clone(),
                error: spec.reason.clone(),
                detail: spec.detail.clone(),
                failed_at: Some(spec.failed_at),
            }),
        }
        .to_field_table();
        let properties = message_properties(
            spec.message_id.as_deref().unwrap_or_default(),
            "dingk3-consumer",
            Utc::now(),
            headers,
        )
        .unwrap();
        self.publish_dead(spec.body.clone(), properties).await;
    }

    /// Publishes `envelope` to the work queue as the producer does.
    pub async fn publish_work(&self, envelope: &Envelope) {
        let properties = message_properties(
            &envelope.process_instance_id,
            "dingk3-producer",
            Utc::now(),
            PipelineHeaders::default().to_field_table(),
        )
        .unwrap();
        let message = OutgoingMessage {
            exchange: self.topology.approvals_exchange(),
            routing_key: self.topology.routing_key().to_string(),
            payload: envelope.to_bytes(),
            properties,
        };
        self.publisher
            .publish(&message)
            .await
            .expect("the approval is confirmed");
    }

    /// Starts `consumer run` with the bed's configuration, logging to `log`.
    pub fn spawn_consumer(&self, log: &str) -> std::process::Child {
        let log = std::fs::File::create(self.folder.path().join(log)).unwrap();
        Command::new(env!("CARGO_BIN_EXE_consumer"))
            .args(["--lang", "en", "run", "--config"])
            .arg(&self.config)
            .env_remove("DINGK3_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the consumer binary starts")
    }

    /// Publishes `body` with `properties` straight to the dead exchange, as any client
    /// could.
    pub async fn publish_dead(&self, body: Vec<u8>, properties: BasicProperties) {
        let message = OutgoingMessage {
            exchange: self.topology.dead_exchange(),
            routing_key: self.topology.routing_key().to_string(),
            payload: body,
            properties,
        };
        self.publisher
            .publish(&message)
            .await
            .expect("the dead letter is confirmed");
    }

    /// Publishes a dead letter the way another client copies one: broker headers
    /// `x-death` (reason `reason`, from the work queue) and `x-delivery-count`, and no
    /// pipeline headers.
    pub async fn foreign_dead_letter(&self, body: Vec<u8>, message_id: Option<&str>, reason: &str) {
        let mut death = FieldTable::default();
        death.insert("count".into(), AMQPValue::LongLongInt(1));
        death.insert("reason".into(), AMQPValue::LongString(reason.into()));
        death.insert(
            "queue".into(),
            AMQPValue::LongString(self.topology.approvals_queue().into()),
        );
        death.insert(
            "time".into(),
            AMQPValue::Timestamp(Utc::now().timestamp() as u64),
        );
        death.insert(
            "exchange".into(),
            AMQPValue::LongString(self.topology.approvals_exchange().into()),
        );

        let mut headers = FieldTable::default();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        headers.insert("x-delivery-count".into(), AMQPValue::LongLongInt(20));
        headers.insert(
            "x-first-death-reason".into(),
            AMQPValue::LongString(LongString::from(reason)),
        );

        let mut properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_headers(headers);
        if let Some(id) = message_id {
            properties = properties.with_message_id(id.into());
        }
        self.publish_dead(body, properties).await;
    }

    /// Lets RabbitMQ dead-letter `body` itself: it goes to an exclusive queue whose
    /// dead-letter exchange is the test's, and is rejected there without requeue, so
    /// the broker adds `x-death` with reason `rejected`.
    pub async fn broker_dead_letter(&self, body: Vec<u8>, message_id: &str) {
        let channel = self.connection.create_channel().await.unwrap();
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.topology.dead_exchange().into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(self.topology.routing_key().into()),
        );

        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        let queue = format!("{}.scratch", self.prefix);
        channel
            .queue_declare(queue.as_str().into(), options, arguments)
            .await
            .unwrap();

        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_message_id(message_id.into()),
            )
            .await
            .unwrap()
            .await
            .unwrap();

        let got = loop {
            if let Some(got) = channel
                .basic_get(queue.as_str().into(), BasicGetOptions::default())
                .await
                .unwrap()
            {
                break got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        got.delivery
            .acker
            .reject(BasicRejectOptions { requeue: false })
            .await
            .unwrap();

        let dead = self.topology.dead_queue();
        crate::support::wait_until(
            "the broker dead-lettered the message",
            std::time::Duration::from_secs(10),
            || async { self.ready(&dead).await > 0 },
        )
        .await;
        let _ = channel.close(200, "scratch done".into()).await;
    }

    /// Returns the number of ready messages in `queue`.
    pub async fn ready(&self, queue: &str) -> u32 {
        let channel = self.connection.create_channel().await.unwrap();
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
            .unwrap();
        let _ = channel.close(200, "depth read".into()).await;
        declared.message_count()
    }

    /// Reads every message of `queue` without removing any: they are fetched on a
    /// channel of their own, which is then closed.
    pub async fn peek(&self, queue: &str) -> Vec<ReceivedMessage> {
        let channel = self.connection.create_channel().await.unwrap();
        let mut messages = Vec::new();
        while let Some(got) = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            messages.push(received(&got.delivery));
        }
        let _ = channel.close(200, "peek done".into()).await;
        // The broker applies the returns after the close; wait for them.
        let count = messages.len() as u32;
        crate::support::wait_until(
            "peeked messages are ready again",
            std::time::Duration::from_secs(10),
            || async { self.ready(queue).await >= count },
        )
        .await;
        messages
    }

    /// Removes and returns every message of `queue`.
    pub async fn drain(&self, queue: &str) -> Vec<ReceivedMessage> {
        let channel = self.connection.create_channel().await.unwrap();
        let mut messages = Vec::new();
        while let Some(got) = channel
            .basic_get(queue.into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            got.delivery
                .acker
                .ack(BasicAckOptions::default())
                .await
                .unwrap();
            messages.push(received(&got.delivery));
        }
        let _ = channel.close(200, "drain done".into()).await;
        messages
    }

    /// Returns the ledger row of `id`.
    pub async fn record(&self, id: &str) -> Option<InstanceRecord> {
        self.ledger
            .find(id)
            .await
            .unwrap()
            .into_iter()
            .find(|record| record.process_instance_id == id)
    }
}

/// Stops a consumer with SIGTERM and waits until it exits 0.
pub async fn stop_consumer(mut child: std::process::Child) {
    let pid = child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(signalled.success(), "SIGTERM sent");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0), "the consumer exits 0 after SIGTERM");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the consumer did not stop"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Copies the content of a delivery.
fn received(delivery: &lapin::message::Delivery) -> ReceivedMessage {
    ReceivedMessage {
        delivery_tag: delivery.delivery_tag,
        exchange: delivery.exchange.clone(),
        routing_key: delivery.routing_key.clone(),
        redelivered: delivery.redelivered,
        properties: delivery.properties.clone(),
        data: delivery.data.clone(),
    }
}

/// Returns the message ids of `messages`, in order.
pub fn message_ids(messages: &[ReceivedMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|message| {
            message
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// Describes a finished command for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Returns stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
