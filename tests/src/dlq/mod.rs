//! Helpers for end-to-end tests of the dead-letter operations: the settings
//! `consumer dlq` would read for a consumer test bed, replaying and listing through the
//! same library functions the commands call, and publishing dead letters as another
//! RabbitMQ client would.
//!
//! The dead-letter queue is only ever read here the way the commands read it, so a
//! test never removes a dead letter behind the code under test
//! ([`crate::consumer::Harness::dead_letters`] takes them out of the queue).

use std::time::Duration;

use chrono::Utc;
use dingk3::broker::{OutgoingMessage, Publisher, Recovery, connect};
use dingk3::envelope::Envelope;
use dingk3::ledger::Status;
use dingk3_consumer::config::DEFAULT_REPLAY_LIMIT;
use dingk3_consumer::dlq::filter::Filter;
use dingk3_consumer::dlq::letter::Letter;
use dingk3_consumer::dlq::queue::DeadQueue;
use dingk3_consumer::dlq::replay::{ProgressBar, ReplayOptions, replay};
use dingk3_consumer::dlq::report::Report;
use dingk3_consumer::dlq::settings::DlqSettings;
use dingk3_simulator::k3cloud::BaseData;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldArray, FieldTable, LongString};
use serde_json::json;

use crate::consumer::Harness;
use crate::consumer::cases::example_routes;

/// How long a dead letter or a ledger status may take to appear.
pub const WITHIN: Duration = Duration::from_secs(30);

/// Returns the settings `consumer dlq` reads for `harness`, with `replay_limit`.
pub fn settings(harness: &Harness, replay_limit: u32) -> DlqSettings {
    DlqSettings {
        broker: harness.broker.clone(),
        ledger: harness.db.settings.clone(),
        replay_limit,
        max_message_bytes: dingk3::envelope::DEFAULT_MAX_ENVELOPE_BYTES,
        routes: Ok(example_routes()),
        auto_submit_and_audit: false,
    }
}

/// Replays what `filter` selects, as `consumer dlq replay` does, with the default
/// replay limit.
pub async fn replay_selected(harness: &Harness, filter: Filter) -> Report {
    replay_with_limit(harness, filter, DEFAULT_REPLAY_LIMIT).await
}

/// Replays what `filter` selects with `limit` as `consumer.replay_limit`.
pub async fn replay_with_limit(harness: &Harness, filter: Filter, limit: u32) -> Report {
    let options = ReplayOptions {
        filter,
        ..ReplayOptions::default()
    };
    replay(
        &settings(harness, limit),
        &options,
        "dlq:e2e-test",
        &ProgressBar::hidden(),
    )
    .await
    .expect("the replay runs")
}

/// Returns a filter selecting `ids`.
pub fn ids(ids: &[&str]) -> Filter {
    Filter {
        ids: ids.iter().map(|id| id.to_string()).collect(),
        ..Filter::default()
    }
}

/// Lists the dead letters as `consumer dlq list` does, leaving them in the queue.
pub async fn list(harness: &Harness) -> Vec<Letter> {
    let settings = settings(harness, DEFAULT_REPLAY_LIMIT);
    let mut queue = DeadQueue::open(&settings.broker)
        .await
        .expect("the dead-letter queue opens");
    let routes = settings.routes();
    queue
        .take(|message, position| {
            Letter::read(message, position, settings.max_message_bytes, routes)
        })
        .await
        .expect("the dead letters are read");
    let letters = queue
        .held()
        .iter()
        .map(|held| held.letter.clone())
        .collect();
    queue.release().await;
    letters
}

/// Returns the number of ready dead letters.
pub async fn dead_depth(harness: &Harness) -> u32 {
    harness.client.depth(&harness.topology.dead_queue()).await
}

/// Waits until the dead-letter queue contains `count` messages and the ledger shows
/// `status` for `id`.
pub async fn wait_dead(harness: &Harness, id: &str, status: Status, count: u32) {
    let what = format!("{count} dead letters and {id} {status} in the ledger");
    harness
        .wait_until(&what, WITHIN, || async {
            dead_depth(harness).await == count
                && harness
                    .record(id)
                    .await
                    .is_some_and(|record| record.status == status)
        })
        .await;
}

/// Returns the reference base data without employee `number`.
pub fn base_data_without_employee(number: &str) -> BaseData {
    let mut tables = BaseData::reference().to_json();
    let employees = tables["BD_Empinfo"]
        .as_array_mut()
        .expect("the reference data has employees");
    employees.retain(|record| record["number"] != json!(number));
    BaseData::from_json(&tables).expect("the reference data reads back")
}

/// Returns base data holding employee `number` only.
pub fn employee(number: &str, name: &str) -> BaseData {
    BaseData::from_json(&json!({"BD_Empinfo": [{"number": number, "name": name}]}))
        .expect("one employee record")
}

/// A connection that publishes to the dead exchange as another client would.
pub struct ForeignClient {
    connection: lapin::Connection,
    publisher: Publisher,
    dead_exchange: String,
    work_queue: String,
    work_exchange: String,
}

impl ForeignClient {
    /// Connects to the broker of `harness`.
    pub async fn connect(harness: &Harness) -> ForeignClient {
        let name = format!("{}-foreign-client", harness.broker.prefix);
        let connection = connect(&harness.broker, &name, Recovery::Off)
            .await
            .expect("the foreign client connects");
        let publisher = Publisher::open(&connection, &harness.broker)
            .await
            .expect("the foreign publisher opens");
        ForeignClient {
            connection,
            publisher,
            dead_exchange: harness.topology.dead_exchange(),
            work_queue: harness.topology.approvals_queue(),
            work_exchange: harness.topology.approvals_exchange(),
        }
    }

    /// Publishes `envelope` to the dead exchange with the headers RabbitMQ writes when
    /// it dead-letters a message from the work queue for `reason`, an
    /// `x-delivery-count`, and none of the pipeline's headers.
    pub async fn dead_letter(&self, envelope: &Envelope, reason: &str) {
        let mut death = FieldTable::default();
        death.insert("count".into(), AMQPValue::LongLongInt(1));
        death.insert("reason".into(), AMQPValue::LongString(reason.into()));
        death.insert(
            "queue".into(),
            AMQPValue::LongString(self.work_queue.as_str().into()),
        );
        death.insert(
            "time".into(),
            AMQPValue::Timestamp(u64::try_from(Utc::now().timestamp()).unwrap_or(0)),
        );
        death.insert(
            "exchange".into(),
            AMQPValue::LongString(self.work_exchange.as_str().into()),
        );

        let mut headers = FieldTable::default();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        headers.insert("x-delivery-count".into(), AMQPValue::LongInt(20));
        headers.insert(
            "x-first-death-reason".into(),
            AMQPValue::LongString(LongString::from(reason)),
        );

        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(envelope.process_instance_id.as_str().into())
            .with_headers(headers);
        self.publish(envelope.to_bytes(), properties).await;
    }

    /// Publishes `body` with `properties` to the dead exchange.
    pub async fn publish(&self, body: Vec<u8>, properties: BasicProperties) {
        let message = OutgoingMessage {
            exchange: self.dead_exchange.clone(),
            routing_key: "approval".to_string(),
            payload: body,
            properties,
        };
        self.publisher
            .publish(&message)
            .await
            .expect("the broker confirms the dead letter");
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self
            .connection
            .close(200, "foreign client done".into())
            .await;
    }
}
