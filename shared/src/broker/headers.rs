//! Message properties and the headers the pipeline owns.
//!
//! Headers written here use one type per field (64-bit integers, long strings), but
//! readers accept what other clients write: integers of any AMQP width, numbers in
//! strings, short or long strings. Operators replay dead letters with tools of their
//! choice, and a replay must not fail because a tool wrote `attempt` as a 16-bit integer.

use chrono::{DateTime, SecondsFormat, Utc};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

/// Number of failed processing attempts so far; 0 on a first publish.
pub const ATTEMPT: &str = "x-dingk3-attempt";

/// How many times an operator has replayed this approval from the dead-letter queue.
pub const REPLAY_COUNT: &str = "x-dingk3-replay-count";

/// Machine-readable reason a message was dead-lettered (`rejected`, `mapping`, …).
pub const ERROR_KIND: &str = "x-dingk3-error-kind";

/// Human-readable reason a message was dead-lettered.
pub const ERROR: &str = "x-dingk3-error";

/// JSON text with the structured cause, e.g. K3Cloud errors with their field names.
pub const ERROR_DETAIL: &str = "x-dingk3-error-detail";

/// When the message was dead-lettered, RFC 3339 in UTC.
pub const FAILED_AT: &str = "x-dingk3-failed-at";

/// Content type of every pipeline message.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// AMQP delivery mode 2: the broker writes the message to disk.
pub const PERSISTENT: u8 = 2;

/// Header names RabbitMQ adds when it dead-letters or redelivers a message. A replay
/// drops them so the new message starts with a clean history. `x-acquired-count` is
/// added by RabbitMQ 4.3 quorum queues.
const BROKER_HEADERS: [&str; 3] = ["x-death", "x-delivery-count", "x-acquired-count"];

/// Prefixes of the per-death summary headers RabbitMQ adds (`x-first-death-queue`, …).
const BROKER_HEADER_PREFIXES: [&str; 2] = ["x-first-death-", "x-last-death-"];

/// The failure of a dead-lettered message, as carried in its headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Machine-readable reason, e.g. `rejected` or `exhausted`.
    pub kind: String,

    /// Human-readable reason; empty when the header is missing.
    pub error: String,

    /// Structured cause. Text that is not JSON is kept as a JSON string.
    pub detail: Option<serde_json::Value>,

    /// When the message was dead-lettered, if the header was present and readable.
    pub failed_at: Option<DateTime<Utc>>,
}

/// The pipeline's own headers of one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineHeaders {
    /// Failed processing attempts so far; picks the next retry tier.
    pub attempt: u32,

    /// Replays from the dead-letter queue so far.
    pub replay_count: u32,

    /// Present on dead letters: why the message failed.
    pub failure: Option<Failure>,
}

/// A property value that does not fit its AMQP type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message property {property} is {length} bytes long; AMQP allows at most 255")]
pub struct PropertyTooLong {
    /// Name of the property, e.g. `message_id`.
    pub property: &'static str,

    /// Length of the rejected value in bytes.
    pub length: usize,
}

impl PipelineHeaders {
    /// Reads the pipeline headers from a header table, treating missing or unreadable
    /// counters as 0.
    pub fn read(headers: Option<&FieldTable>) -> PipelineHeaders {
        let Some(headers) = headers else {
            return PipelineHeaders::default();
        };
        let failure = read_string(headers, ERROR_KIND).map(|kind| Failure {
            kind,
            error: read_string(headers, ERROR).unwrap_or_default(),
            detail: read_string(headers, ERROR_DETAIL)
                .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))),
            failed_at: read_time(headers, FAILED_AT),
        });
        PipelineHeaders {
            attempt: read_u32(headers, ATTEMPT).unwrap_or(0),
            replay_count: read_u32(headers, REPLAY_COUNT).unwrap_or(0),
            failure,
        }
    }

    /// Reads the pipeline headers of a received message.
    pub fn from_properties(properties: &BasicProperties) -> PipelineHeaders {
        PipelineHeaders::read(properties.headers().as_ref())
    }

    /// Writes these headers into `table`, replacing the pipeline's previous values and
    /// removing failure headers when [`PipelineHeaders::failure`] is `None`.
    pub fn write_into(&self, table: &mut FieldTable) {
        let mut entries = table.inner().clone();
        for key in [ERROR_KIND, ERROR, ERROR_DETAIL, FAILED_AT] {
            entries.remove(key);
        }
        entries.insert(
            ATTEMPT.into(),
            AMQPValue::LongLongInt(i64::from(self.attempt)),
        );
        entries.insert(
            REPLAY_COUNT.into(),
            AMQPValue::LongLongInt(i64::from(self.replay_count)),
        );
        if let Some(failure) = &self.failure {
            entries.insert(ERROR_KIND.into(), long_string(&failure.kind));
            entries.insert(ERROR.into(), long_string(&failure.error));
            if let Some(detail) = &failure.detail {
                entries.insert(ERROR_DETAIL.into(), long_string(&detail.to_string()));
            }
            if let Some(failed_at) = failure.failed_at {
                let text = failed_at.to_rfc3339_opts(SecondsFormat::Millis, true);
                entries.insert(FAILED_AT.into(), long_string(&text));
            }
        }
        *table = FieldTable::from(entries);
    }

    /// Returns a new header table holding only these headers.
    pub fn to_field_table(&self) -> FieldTable {
        let mut table = FieldTable::default();
        self.write_into(&mut table);
        table
    }
}

/// Builds the properties of a pipeline message: persistent, JSON, with `message_id`,
/// `app_id`, `timestamp` (whole seconds, as AMQP defines it) and `headers`.
///
/// `message_id` is the process instance id, which consumers and the ledger use to
/// recognise a redelivery or a duplicate publish.
pub fn message_properties(
    message_id: &str,
    app_id: &str,
    timestamp: DateTime<Utc>,
    headers: FieldTable,
) -> Result<BasicProperties, PropertyTooLong> {
    let message_id = short_string("message_id", message_id)?;
    let app_id = short_string("app_id", app_id)?;
    // Times before 1970 cannot be AMQP timestamps; they are clamped to 0.
    let seconds = u64::try_from(timestamp.timestamp()).unwrap_or(0);
    Ok(BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_content_type(CONTENT_TYPE_JSON.into())
        .with_message_id(message_id)
        .with_app_id(app_id)
        .with_timestamp(seconds)
        .with_headers(headers))
}

/// Returns whether RabbitMQ, not the pipeline or a publisher, sets header `key`.
pub fn is_broker_header(key: &str) -> bool {
    BROKER_HEADERS.contains(&key)
        || BROKER_HEADER_PREFIXES
            .iter()
            .any(|prefix| key.starts_with(prefix))
}

/// Returns a copy of `headers` without the headers RabbitMQ adds on dead-lettering and
/// redelivery (`x-death`, `x-delivery-count`, `x-first-death-*`, `x-last-death-*`).
pub fn strip_broker_headers(headers: &FieldTable) -> FieldTable {
    let kept = headers
        .inner()
        .iter()
        .filter(|(key, _)| !is_broker_header(key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect::<std::collections::BTreeMap<_, _>>();
    FieldTable::from(kept)
}

/// Returns the headers of a replayed dead letter: broker and failure headers removed,
/// attempt count reset to 0, replay count increased by one, other headers kept.
pub fn replay_headers(dead_letter: Option<&FieldTable>) -> FieldTable {
    let previous = PipelineHeaders::read(dead_letter);
    let mut table = dead_letter.map(strip_broker_headers).unwrap_or_default();
    PipelineHeaders {
        attempt: 0,
        replay_count: previous.replay_count.saturating_add(1),
        failure: None,
    }
    .write_into(&mut table);
    table
}

/// Reads a non-negative whole number written as any AMQP integer, a whole float, or a
/// decimal string.
pub fn read_u32(headers: &FieldTable, key: &str) -> Option<u32> {
    let value = headers.inner().get(key)?;
    let number: i128 = match value {
        AMQPValue::ShortShortInt(v) => i128::from(*v),
        AMQPValue::ShortShortUInt(v) => i128::from(*v),
        AMQPValue::ShortInt(v) => i128::from(*v),
        AMQPValue::ShortUInt(v) => i128::from(*v),
        AMQPValue::LongInt(v) => i128::from(*v),
        AMQPValue::LongUInt(v) => i128::from(*v),
        AMQPValue::LongLongInt(v) => i128::from(*v),
        AMQPValue::Timestamp(v) => i128::from(*v),
        AMQPValue::Float(v) if v.fract() == 0.0 => *v as i128,
        AMQPValue::Double(v) if v.fract() == 0.0 => *v as i128,
        AMQPValue::ShortString(_) | AMQPValue::LongString(_) => {
            read_string(headers, key)?.trim().parse().ok()?
        }
        _ => return None,
    };
    u32::try_from(number).ok()
}

/// Reads a text header written as a short or long string; invalid UTF-8 is replaced.
pub fn read_string(headers: &FieldTable, key: &str) -> Option<String> {
    match headers.inner().get(key)? {
        AMQPValue::ShortString(value) => Some(value.as_str().to_string()),
        AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        AMQPValue::ByteArray(value) => Some(String::from_utf8_lossy(value.as_slice()).into_owned()),
        _ => None,
    }
}

/// Reads a time written as RFC 3339 text or as an AMQP timestamp (seconds since 1970).
pub fn read_time(headers: &FieldTable, key: &str) -> Option<DateTime<Utc>> {
    match headers.inner().get(key)? {
        AMQPValue::Timestamp(seconds) => DateTime::from_timestamp(i64::try_from(*seconds).ok()?, 0),
        AMQPValue::LongLongInt(seconds) => DateTime::from_timestamp(*seconds, 0),
        _ => {
            let text = read_string(headers, key)?;
            DateTime::parse_from_rfc3339(text.trim())
                .ok()
                .map(|time| time.with_timezone(&Utc))
        }
    }
}

fn long_string(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text))
}

fn short_string(property: &'static str, value: &str) -> Result<ShortString, PropertyTooLong> {
    ShortString::try_new(value).map_err(|_| PropertyTooLong {
        property,
        length: value.len(),
    })
}

#[cfg(test)]
mod tests {
    use lapin::types::FieldArray;

    use super::*;

    fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
        let mut table = FieldTable::default();
        for (key, value) in entries {
            table.insert((*key).into(), value.clone());
        }
        table
    }

    #[test]
    fn read_u32_accepts_every_integer_width() {
        let values = [
            AMQPValue::ShortShortInt(3),
            AMQPValue::ShortShortUInt(3),
            AMQPValue::ShortInt(3),
            AMQPValue::ShortUInt(3),
            AMQPValue::LongInt(3),
            AMQPValue::LongUInt(3),
            AMQPValue::LongLongInt(3),
            AMQPValue::Double(3.0),
            AMQPValue::ShortString("3".into()),
            AMQPValue::LongString(" 3 ".into()),
        ];
        for value in values {
            let headers = table(&[(ATTEMPT, value.clone())]);
            assert_eq!(
                read_u32(&headers, ATTEMPT),
                Some(3),
                "attempt written as {value:?}"
            );
        }
    }

    #[test]
    fn read_u32_rejects_negative_and_fractions() {
        for value in [
            AMQPValue::LongInt(-1),
            AMQPValue::Double(2.5),
            AMQPValue::LongLongInt(i64::from(u32::MAX) + 1),
            AMQPValue::LongString("two".into()),
            AMQPValue::Boolean(true),
        ] {
            let headers = table(&[(ATTEMPT, value.clone())]);
            assert_eq!(
                read_u32(&headers, ATTEMPT),
                None,
                "{value:?} is not a count"
            );
        }
    }

    #[test]
    fn read_string_accepts_short_and_long() {
        let headers = table(&[
            (ERROR, AMQPValue::ShortString("short".into())),
            (ERROR_KIND, AMQPValue::LongString("long".into())),
        ]);
        assert_eq!(read_string(&headers, ERROR).as_deref(), Some("short"));
        assert_eq!(read_string(&headers, ERROR_KIND).as_deref(), Some("long"));
        assert_eq!(read_string(&headers, FAILED_AT), None, "missing header");
    }

    #[test]
    fn read_time_accepts_text_and_timestamp() {
        let text = table(&[(
            FAILED_AT,
            AMQPValue::LongString("2026-11-04T08:40:05Z".into()),
        )]);
        let stamp = table(&[(FAILED_AT, AMQPValue::Timestamp(1_793_781_605))]);
        let expected = DateTime::parse_from_rfc3339("2026-11-04T08:40:05Z").unwrap();
        assert_eq!(
            read_time(&text, FAILED_AT),
            Some(expected.with_timezone(&Utc))
        );
        assert_eq!(
            read_time(&stamp, FAILED_AT),
            Some(expected.with_timezone(&Utc))
        );
    }

    #[test]
    fn headers_round_trip() {
        let failed_at = DateTime::parse_from_rfc3339("2026-11-04T08:40:05.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let headers = PipelineHeaders {
            attempt: 4,
            replay_count: 1,
            failure: Some(Failure {
                kind: "rejected".into(),
                error: "员工编码 E01 不存在".into(),
                detail: Some(serde_json::json!({"field": "FCONTACTUNIT", "message": "不存在"})),
                failed_at: Some(failed_at),
            }),
        };
        let read = PipelineHeaders::read(Some(&headers.to_field_table()));
        assert_eq!(read, headers);
    }

    #[test]
    fn detail_keeps_non_json_text() {
        let headers = table(&[
            (ERROR_KIND, AMQPValue::LongString("mapping".into())),
            (ERROR_DETAIL, AMQPValue::LongString("plain words".into())),
        ]);
        let failure = PipelineHeaders::read(Some(&headers)).failure.unwrap();
        assert_eq!(
            failure.detail,
            Some(serde_json::Value::String("plain words".into()))
        );
        assert_eq!(failure.error, "", "missing reason reads as empty");
    }

    #[test]
    fn missing_headers_read_as_first_attempt() {
        assert_eq!(PipelineHeaders::read(None), PipelineHeaders::default());
    }

    #[test]
    fn write_into_clears_old_failure() {
        let mut headers = table(&[
            (ERROR_KIND, AMQPValue::LongString("exhausted".into())),
            ("x-custom", AMQPValue::LongString("kept".into())),
        ]);
        PipelineHeaders::default().write_into(&mut headers);
        assert!(
            !headers.contains_key(ERROR_KIND),
            "stale failure header left behind"
        );
        assert!(headers.contains_key("x-custom"), "foreign header dropped");
    }

    #[test]
    fn strip_removes_broker_headers_only() {
        let headers = table(&[
            ("x-death", AMQPValue::FieldArray(FieldArray::default())),
            ("x-delivery-count", AMQPValue::LongInt(2)),
            ("x-first-death-queue", AMQPValue::LongString("q".into())),
            (
                "x-first-death-reason",
                AMQPValue::LongString("rejected".into()),
            ),
            ("x-last-death-exchange", AMQPValue::LongString("e".into())),
            (ATTEMPT, AMQPValue::LongLongInt(2)),
            ("x-custom", AMQPValue::LongString("kept".into())),
        ]);
        let stripped = strip_broker_headers(&headers);
        let keys: Vec<&str> = stripped.inner().keys().map(|key| key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["x-custom", ATTEMPT],
            "sorted keys of the kept headers"
        );
    }

    #[test]
    fn replay_resets_attempt_and_counts_replay() {
        let dead = table(&[
            ("x-death", AMQPValue::FieldArray(FieldArray::default())),
            (ATTEMPT, AMQPValue::LongLongInt(5)),
            (REPLAY_COUNT, AMQPValue::ShortInt(2)),
            (ERROR_KIND, AMQPValue::LongString("exhausted".into())),
        ]);
        let replayed = replay_headers(Some(&dead));
        let read = PipelineHeaders::read(Some(&replayed));
        assert_eq!(read.attempt, 0, "attempt count starts again");
        assert_eq!(read.replay_count, 3, "replay count grows by one");
        assert_eq!(read.failure, None, "failure headers removed");
        assert!(!replayed.contains_key("x-death"), "x-death removed");
    }

    #[test]
    fn properties_are_persistent_json() {
        let time = DateTime::from_timestamp(1_793_781_605, 0).unwrap();
        let properties =
            message_properties("inst-1", "dingk3-producer", time, FieldTable::default()).unwrap();
        assert_eq!(*properties.delivery_mode(), Some(PERSISTENT));
        assert_eq!(
            properties.content_type().as_ref().map(|v| v.as_str()),
            Some(CONTENT_TYPE_JSON)
        );
        assert_eq!(
            properties.message_id().as_ref().map(|v| v.as_str()),
            Some("inst-1")
        );
        assert_eq!(
            properties.app_id().as_ref().map(|v| v.as_str()),
            Some("dingk3-producer")
        );
        assert_eq!(*properties.timestamp(), Some(1_793_781_605));
    }

    #[test]
    fn properties_reject_long_message_id() {
        let id = "x".repeat(256);
        let error = message_properties(&id, "app", Utc::now(), FieldTable::default()).unwrap_err();
        assert_eq!(error.property, "message_id");
    }
}
