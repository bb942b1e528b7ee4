//! The messages the consumer publishes: a copy of a received message for a retry
//! queue, or for the dead-letter queue with the failure headers.
//!
//! Both carry the original body unchanged and fresh persistent properties with the
//! original `message_id`. Headers RabbitMQ added (`x-death`, …) are dropped, other
//! publishers' headers are kept, and the pipeline headers are rewritten.

use chrono::{DateTime, Utc};
use dingk3::broker::headers::{message_properties, strip_broker_headers};
use dingk3::broker::{Failure, OutgoingMessage, PipelineHeaders, RetryTier, Topology};
use lapin::BasicProperties;
use serde_json::{Value, json};

use crate::worker::item::Item;
use crate::worker::outcome::DeadLetter;

/// `app_id` of messages whose publisher set none.
pub const APP_ID: &str = "dingk3-consumer";

/// Largest `x-dingk3-error` text, in bytes. All headers of a message travel in one AMQP
/// frame (128 KiB by default on RabbitMQ), so long texts are cut.
const MAX_REASON_BYTES: usize = 4 * 1024;

/// Largest `x-dingk3-error-detail` JSON text, in bytes; a longer detail is replaced by
/// an excerpt.
const MAX_DETAIL_BYTES: usize = 32 * 1024;

/// Builds the dead letter of `item`, with `attempt` as its attempt count.
pub(crate) fn dead_letter(
    topology: &Topology,
    item: &Item,
    dead: &DeadLetter,
    attempt: u32,
    now: DateTime<Utc>,
) -> OutgoingMessage {
    let headers = PipelineHeaders {
        attempt,
        replay_count: item.headers.replay_count,
        failure: Some(Failure {
            kind: dead.kind.as_str().to_string(),
            error: cut(&dead.reason, MAX_REASON_BYTES),
            detail: dead.detail.as_ref().map(bounded_detail),
            failed_at: Some(now),
        }),
    };
    OutgoingMessage {
        exchange: topology.dead_exchange(),
        routing_key: topology.routing_key().to_string(),
        payload: item.message.data.clone(),
        properties: properties(item, &headers, now),
    }
}

/// Builds the copy of `item` that waits in `tier` before it returns to the work queue,
/// with `attempt` as its attempt count.
pub(crate) fn retry(
    topology: &Topology,
    item: &Item,
    tier: &RetryTier,
    attempt: u32,
    now: DateTime<Utc>,
) -> OutgoingMessage {
    let headers = PipelineHeaders {
        attempt,
        replay_count: item.headers.replay_count,
        failure: None,
    };
    OutgoingMessage {
        exchange: topology.retry_exchange(),
        routing_key: tier.label().to_string(),
        payload: item.message.data.clone(),
        properties: properties(item, &headers, now),
    }
}

/// Fresh properties: persistent JSON, the original `message_id` (else the instance id
/// the envelope named, else none) and `app_id`, the current time, and the headers.
fn properties(item: &Item, pipeline: &PipelineHeaders, now: DateTime<Utc>) -> BasicProperties {
    let original = &item.message.properties;
    let mut table = original
        .headers()
        .as_ref()
        .map(strip_broker_headers)
        .unwrap_or_default();
    pipeline.write_into(&mut table);

    let message_id = item
        .message_id()
        .or(item.ids.process_instance_id.as_deref());
    let app_id = original
        .app_id()
        .as_ref()
        .map(|id| id.as_str())
        .unwrap_or(APP_ID);
    match message_properties(message_id.unwrap_or_default(), app_id, now, table.clone()) {
        Ok(properties) if message_id.is_some() => properties,
        Ok(properties) => without_message_id(properties),
        // Both values came from AMQP short strings or the envelope's id. An id too long
        // for a short string is left out, so the publish still succeeds.
        Err(_) => message_properties("", APP_ID, now, table)
            .map(without_message_id)
            .unwrap_or_default(),
    }
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

/// Returns `detail`, or an excerpt of it when its JSON text is too long for a header.
fn bounded_detail(detail: &Value) -> Value {
    let text = detail.to_string();
    if text.len() <= MAX_DETAIL_BYTES {
        return detail.clone();
    }
    json!({
        "truncated": true,
        "bytes": text.len(),
        "excerpt": cut(&text, MAX_DETAIL_BYTES - 100),
    })
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_short_text() {
        assert_eq!(cut("报销金额", 100), "报销金额");
    }

    #[test]
    fn cut_respects_character_boundaries() {
        let text = "金额".repeat(100);
        let short = cut(&text, 10);
        assert!(short.len() <= 10, "cut to {} bytes", short.len());
        assert!(short.ends_with('…'), "the cut is marked: {short}");
    }

    #[test]
    fn long_detail_becomes_excerpt() {
        let detail = json!({"errors": "x".repeat(MAX_DETAIL_BYTES * 2)});
        let bounded = bounded_detail(&detail);
        assert_eq!(bounded["truncated"], json!(true));
        assert!(
            bounded.to_string().len() <= MAX_DETAIL_BYTES,
            "the excerpt fits the limit"
        );
    }
}
