//! The new message a replay publishes for a dead letter.
//!
//! It is a new message, not the dead copy sent again. It has fresh persistent
//! properties with the same `message_id`, the original body unchanged, and no broker
//! headers (`x-death`, `x-delivery-count`, …). Its attempt count is 0, so the retry
//! tiers start over, and its replay count is one higher. The failure it was replayed
//! from is kept as JSON in `x-dingk3-replayed-from`, so the history travels with the
//! message. Headers other publishers set are kept.

use chrono::{DateTime, SecondsFormat, Utc};
use dingk3::broker::headers::{PipelineHeaders, message_properties, strip_broker_headers};
use dingk3::broker::{OutgoingMessage, ReceivedMessage, Topology};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, LongString};
use serde_json::{Value, json};

use crate::dlq::letter::Letter;

/// Header with the failure a message was replayed from, as JSON text.
pub const REPLAYED_FROM: &str = "x-dingk3-replayed-from";

/// `app_id` of replayed messages, so the broker's tools show where they came from.
pub const REPLAY_APP_ID: &str = "dingk3-dlq";

/// Largest detail copied into [`REPLAYED_FROM`], in bytes of JSON text. All headers
/// travel in one AMQP frame (128 KiB by default), and the message already carries the
/// detail in the ledger and in its dead copy's export.
const MAX_DETAIL_BYTES: usize = 8 * 1024;

/// Builds the message that replays `message` as the `replay_count`-th replay.
pub fn build(
    topology: &Topology,
    message: &ReceivedMessage,
    letter: &Letter,
    replay_count: u32,
    actor: &str,
    now: DateTime<Utc>,
) -> OutgoingMessage {
    let original = &message.properties;
    let mut headers = original
        .headers()
        .as_ref()
        .map(strip_broker_headers)
        .unwrap_or_default();
    PipelineHeaders {
        attempt: 0,
        replay_count,
        failure: None,
    }
    .write_into(&mut headers);
    let from = replayed_from(letter, actor, now).to_string();
    headers.insert(
        REPLAYED_FROM.into(),
        AMQPValue::LongString(LongString::from(from)),
    );

    // An id too long for an AMQP short string cannot be the message id; the consumer
    // reads the instance id from the body anyway.
    let message_id = letter
        .message_id
        .as_deref()
        .or(letter.process_instance_id.as_deref())
        .filter(|id| id.len() <= usize::from(u8::MAX));
    // The id was checked above and REPLAY_APP_ID is short, so both fit a short string.
    let properties =
        message_properties(message_id.unwrap_or_default(), REPLAY_APP_ID, now, headers)
            .unwrap_or_default();
    let mut properties = match message_id {
        Some(_) => properties,
        None => without_message_id(properties),
    };
    // The body is unchanged, so its content type is too.
    if let Some(content_type) = original.content_type() {
        properties = properties.with_content_type(content_type.clone());
    }
    OutgoingMessage {
        exchange: topology.approvals_exchange(),
        routing_key: topology.routing_key().to_string(),
        payload: message.data.clone(),
        properties,
    }
}

/// Returns the failure a replay starts from, for [`REPLAYED_FROM`].
pub fn replayed_from(letter: &Letter, actor: &str, now: DateTime<Utc>) -> Value {
    let detail = letter.detail.as_ref().map(|detail| {
        let text = detail.to_string();
        if text.len() <= MAX_DETAIL_BYTES {
            detail.clone()
        } else {
            json!({"truncated": true, "bytes": text.len()})
        }
    });
    let deaths: Vec<Value> = letter
        .deaths
        .iter()
        .map(|death| {
            json!({
                "queue": death.queue,
                "reason": death.reason,
                "count": death.count,
                "time": death.time.map(|time| time.to_rfc3339_opts(SecondsFormat::Secs, true)),
            })
        })
        .collect();
    json!({
        "kind": letter.kind,
        "kind_origin": letter.kind_origin.as_str(),
        "reason": letter.reason,
        "detail": detail,
        "failed_at": letter.failed_at.map(|time| time.to_rfc3339_opts(SecondsFormat::Millis, true)),
        "attempts": letter.attempts,
        "replay_count": letter.replay_count,
        "deaths": deaths,
        "replayed_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "replayed_by": actor,
    })
}

/// Rebuilds `properties` without a `message_id`.
fn without_message_id(properties: BasicProperties) -> BasicProperties {
    let mut rebuilt = BasicProperties::default();
    if let Some(mode) = properties.delivery_mode() {
        rebuilt = rebuilt.with_delivery_mode(*mode);
    }
    if let Some(content_type) = properties.content_type() {
        rebuilt = rebuilt.with_content_type(content_type.clone());
    }
    if let Some(app_id) = properties.app_id() {
        rebuilt = rebuilt.with_app_id(app_id.clone());
    }
    if let Some(timestamp) = properties.timestamp() {
        rebuilt = rebuilt.with_timestamp(*timestamp);
    }
    if let Some(headers) = properties.headers() {
        rebuilt = rebuilt.with_headers(headers.clone());
    }
    rebuilt
}

#[cfg(test)]
mod tests {
    use dingk3::broker::headers::{ATTEMPT, ERROR_KIND, REPLAY_COUNT};
    use dingk3::broker::{BrokerSettings, Failure};
    use lapin::types::{FieldArray, FieldTable, ShortString};

    use super::*;

    fn topology() -> Topology {
        Topology::new(&BrokerSettings::for_url("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap())
    }

    fn dead(message_id: Option<&str>) -> ReceivedMessage {
        let mut headers = PipelineHeaders {
            attempt: 4,
            replay_count: 1,
            failure: Some(Failure {
                kind: "exhausted".into(),
                error: "timeouts".into(),
                detail: None,
                failed_at: None,
            }),
        }
        .to_field_table();
        headers.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::default()),
        );
        headers.insert("x-delivery-count".into(), AMQPValue::LongInt(7));
        headers.insert(
            "x-first-death-queue".into(),
            AMQPValue::LongString("q".into()),
        );
        headers.insert("x-tenant".into(), AMQPValue::LongString("acme".into()));
        let mut properties = BasicProperties::default()
            .with_headers(headers)
            .with_content_type("application/json".into())
            .with_correlation_id("old".into())
            .with_timestamp(1);
        if let Some(id) = message_id {
            properties = properties.with_message_id(ShortString::from(id));
        }
        ReceivedMessage {
            delivery_tag: 3,
            exchange: "dingk3.dead".into(),
            routing_key: "approval".into(),
            redelivered: true,
            properties,
            data: b"{\"body\":1}".to_vec(),
        }
    }

    fn build_from(message: &ReceivedMessage) -> OutgoingMessage {
        let letter = Letter::read(message, 1, 1024, None);
        build(&topology(), message, &letter, 2, "dlq:ops@host", Utc::now())
    }

    fn headers(message: &OutgoingMessage) -> FieldTable {
        message.properties.headers().clone().unwrap()
    }

    #[test]
    fn replay_is_a_new_message() {
        let message = build_from(&dead(Some("pi-1")));
        let properties = &message.properties;
        assert_eq!(
            message.exchange, "dingk3.approvals",
            "to the approvals exchange"
        );
        assert_eq!(message.payload, b"{\"body\":1}", "body unchanged");
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.as_str()),
            Some("pi-1"),
            "same message id"
        );
        assert_eq!(properties.correlation_id(), &None, "old properties dropped");
        assert_ne!(properties.timestamp(), &Some(1), "fresh timestamp");
        assert_eq!(
            properties.app_id().as_ref().map(|id| id.as_str()),
            Some(REPLAY_APP_ID)
        );
    }

    #[test]
    fn replay_resets_headers() {
        let table = headers(&build_from(&dead(Some("pi-1"))));
        let pipeline = PipelineHeaders::read(Some(&table));
        assert_eq!(pipeline.attempt, 0, "attempt count reset");
        assert_eq!(pipeline.replay_count, 2, "replay count given");
        assert!(table.contains_key(ATTEMPT), "attempt header written");
        assert!(
            table.contains_key(REPLAY_COUNT),
            "replay count header written"
        );
        for broker in ["x-death", "x-delivery-count", "x-first-death-queue"] {
            assert!(!table.contains_key(broker), "{broker} removed");
        }
        assert!(!table.contains_key(ERROR_KIND), "failure headers removed");
        assert!(table.contains_key("x-tenant"), "foreign header kept");
    }

    #[test]
    fn replay_keeps_the_failure() {
        let table = headers(&build_from(&dead(Some("pi-1"))));
        let text = dingk3::broker::headers::read_string(&table, REPLAYED_FROM).unwrap();
        let from: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(from["kind"], json!("exhausted"));
        assert_eq!(from["reason"], json!("timeouts"));
        assert_eq!(from["attempts"], json!(4));
        assert_eq!(from["replayed_by"], json!("dlq:ops@host"));
    }

    #[test]
    fn replay_without_id_has_none() {
        let message = build_from(&dead(None));
        assert_eq!(message.properties.message_id(), &None, "no id is invented");
    }

    #[test]
    fn large_detail_is_summarized() {
        let mut letter = Letter::read(&dead(None), 1, 1024, None);
        letter.detail = Some(json!({"text": "x".repeat(MAX_DETAIL_BYTES * 2)}));
        let from = replayed_from(&letter, "a", Utc::now());
        assert_eq!(from["detail"]["truncated"], json!(true));
    }
}
