//! The facts of one dead letter: whose approval it is, why it failed, when, and how often
//! it was tried and replayed.
//!
//! Dead letters come from three kinds of publisher. The consumer writes the pipeline
//! headers (`x-dingk3-error-kind`, `x-dingk3-error`, …). RabbitMQ dead-letters a
//! message itself when a queue's delivery limit is exceeded or a consumer rejects it
//! without requeue, adding `x-death`. Another client may publish anything. A value
//! that none of these sources gives is `None`, shown as unknown, never guessed.

use chrono::{DateTime, Utc};
use dingk3::broker::ReceivedMessage;
use dingk3::broker::headers::{self, PipelineHeaders, read_string, read_u32};
use dingk3::envelope::Envelope;
use dingk3::mapping::Routes;
use lapin::types::{AMQPValue, FieldTable};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::dlq::amount::{self, AmountSource};
use crate::dlq::replayed::REPLAYED_FROM;

/// Kinds the consumer writes into `x-dingk3-error-kind`.
pub const KINDS: [&str; 4] = ["invalid_message", "mapping", "rejected", "exhausted"];

/// Kind of a dead letter without a recorded reason.
pub const UNKNOWN_KIND: &str = "unknown";

/// Source of the kind of a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindOrigin {
    /// `x-dingk3-error-kind`, written by the consumer.
    Pipeline,
    /// Derived from the reason in RabbitMQ's `x-death` header.
    BrokerDeath,
    /// Neither header is present.
    Unknown,
}

impl KindOrigin {
    /// Returns the spelling in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            KindOrigin::Pipeline => "pipeline",
            KindOrigin::BrokerDeath => "x-death",
            KindOrigin::Unknown => "unknown",
        }
    }
}

/// One entry of RabbitMQ's `x-death` header: a queue the message was dead-lettered
/// from, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Death {
    /// The queue the message left.
    pub queue: Option<String>,
    /// `rejected`, `expired`, `maxlen` or `delivery_limit`.
    pub reason: Option<String>,
    /// How often it was dead-lettered from this queue for this reason.
    pub count: Option<u32>,
    /// When it last happened.
    pub time: Option<DateTime<Utc>>,
    /// The exchange the message had been published to.
    pub exchange: Option<String>,
}

/// One dead letter, interpreted.
#[derive(Debug, Clone)]
pub struct Letter {
    /// Place in the dead-letter queue when it was read, counting from 1.
    pub position: usize,

    /// AMQP `message_id`; the pipeline sets it to the process instance id.
    pub message_id: Option<String>,

    /// DingTalk process instance id: the envelope's, else the `message_id`.
    pub process_instance_id: Option<String>,

    /// Approval number (审批编号).
    pub business_id: Option<String>,

    /// Approval template of the instance.
    pub process_code: Option<String>,

    /// Title shown in DingTalk.
    pub title: Option<String>,

    /// DingTalk user id of the submitter.
    pub originator: Option<String>,

    /// Amount of the claim and where it was read.
    pub amount: Option<(Decimal, AmountSource)>,

    /// `invalid_message`, `mapping`, `rejected`, `exhausted`, or `unknown`.
    pub kind: String,

    /// Source of [`Letter::kind`].
    pub kind_origin: KindOrigin,

    /// Reason the message failed, for a person.
    pub reason: Option<String>,

    /// Structured cause: K3Cloud field errors, mapping errors, the last retry error.
    pub detail: Option<Value>,

    /// When the message was dead-lettered.
    pub failed_at: Option<DateTime<Utc>>,

    /// Failed processing attempts (`x-dingk3-attempt`); unknown for messages the
    /// consumer did not dead-letter.
    pub attempts: Option<u32>,

    /// Replays from the dead-letter queue so far (`x-dingk3-replay-count`, 0 when
    /// absent).
    pub replay_count: u32,

    /// The failure this message was replayed from last time, if it was replayed.
    pub replayed_from: Option<Value>,

    /// RabbitMQ's dead-letter history, most recent first.
    pub deaths: Vec<Death>,

    /// `x-delivery-count` as the dead-letter queue set it. Every inspection returns
    /// the message and counts as a delivery, so this counts how often it was read, not
    /// how often it was processed.
    pub delivery_count: Option<u32>,

    /// Size of the body in bytes.
    pub body_bytes: usize,

    /// Reason the body is not a readable approval envelope, when it is not.
    pub body_problem: Option<String>,
}

impl Letter {
    /// Interprets `message`, read at `position`. Bodies over `max_body_bytes` are not
    /// decoded. `routes`, when valid, give the amount the bill would carry.
    pub fn read(
        message: &ReceivedMessage,
        position: usize,
        max_body_bytes: usize,
        routes: Option<&Routes>,
    ) -> Letter {
        let properties = &message.properties;
        let table = properties.headers().as_ref();
        let pipeline = PipelineHeaders::read(table);
        let deaths = table.map(read_deaths).unwrap_or_default();
        let message_id = properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str().to_string())
            .filter(|id| !id.is_empty());

        let mut letter = Letter {
            position,
            process_instance_id: message_id.clone(),
            message_id,
            business_id: None,
            process_code: None,
            title: None,
            originator: None,
            amount: None,
            kind: UNKNOWN_KIND.to_string(),
            kind_origin: KindOrigin::Unknown,
            reason: None,
            detail: None,
            failed_at: None,
            attempts: table.and_then(|table| read_u32(table, headers::ATTEMPT)),
            replay_count: pipeline.replay_count,
            replayed_from: table.and_then(read_replayed_from),
            delivery_count: table.and_then(|table| read_u32(table, "x-delivery-count")),
            deaths,
            body_bytes: message.data.len(),
            body_problem: None,
        };
        letter.read_failure(pipeline);
        letter.read_body(&message.data, max_body_bytes, routes);
        letter
    }

    /// Returns the id a person quotes: the process instance id, else the message id,
    /// else the position.
    pub fn label(&self) -> String {
        self.process_instance_id
            .clone()
            .or_else(|| self.message_id.clone())
            .unwrap_or_else(|| format!("#{}", self.position))
    }

    /// Returns whether `id` names this dead letter: its process instance id, approval
    /// number or message id.
    pub fn is_named(&self, id: &str) -> bool {
        [
            &self.process_instance_id,
            &self.business_id,
            &self.message_id,
        ]
        .into_iter()
        .any(|known| known.as_deref() == Some(id))
    }

    /// Returns the summary as JSON, with English keys and `null` for what is unknown.
    pub fn to_json(&self) -> Value {
        let amount = self.amount.map(|(amount, _)| amount.to_string());
        let amount_source = self.amount.map(|(_, source)| source.as_str());
        let failed_at = self
            .failed_at
            .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        json!({
            "position": self.position,
            "process_instance_id": self.process_instance_id,
            "business_id": self.business_id,
            "title": self.title,
            "originator": self.originator,
            "amount": amount,
            "amount_source": amount_source,
            "kind": self.kind,
            "kind_origin": self.kind_origin.as_str(),
            "reason": self.reason,
            "failed_at": failed_at,
            "attempts": self.attempts,
            "replay_count": self.replay_count,
            "process_code": self.process_code,
            "message_id": self.message_id,
        })
    }

    /// Fills kind, reason, detail and time from the pipeline headers, else from the
    /// most recent `x-death` entry.
    fn read_failure(&mut self, pipeline: PipelineHeaders) {
        if let Some(failure) = pipeline.failure {
            self.kind = failure.kind;
            self.kind_origin = KindOrigin::Pipeline;
            // The reason is shown on terminals and in listings; a bank account number
            // quoted in a K3Cloud message keeps only its last four digits there. The
            // headers themselves, and therefore `dlq export`, stay unchanged.
            self.reason = Some(dingk3::telemetry::mask_account_numbers(&failure.error))
                .filter(|text| !text.is_empty());
            self.detail = failure.detail;
            self.failed_at = failure.failed_at;
            return;
        }
        let Some(death) = self.deaths.first() else {
            return;
        };
        let reason = death.reason.as_deref().unwrap_or(UNKNOWN_KIND);
        self.kind = kind_of_death(reason).to_string();
        self.kind_origin = KindOrigin::BrokerDeath;
        let queue = death.queue.as_deref().unwrap_or("?");
        let count = death.count.unwrap_or(1);
        self.reason = Some(format!(
            "dead-lettered by RabbitMQ from queue {queue}: {reason} ({count} times); no dingk3 failure headers"
        ));
        self.failed_at = death.time;
    }

    /// Fills ids, title, originator and amount from the envelope, when the body is one.
    fn read_body(&mut self, body: &[u8], max_body_bytes: usize, routes: Option<&Routes>) {
        let envelope = match Envelope::decode(body, max_body_bytes) {
            Ok(envelope) => envelope,
            Err(error) => {
                self.body_problem = Some(error.to_string());
                return;
            }
        };
        self.process_instance_id = Some(envelope.process_instance_id.clone());
        self.process_code = Some(envelope.process_code.clone());
        self.business_id = Some(envelope.business_id.clone()).filter(|id| !id.is_empty());
        match envelope.approval() {
            Ok(instance) => {
                self.title = Some(instance.title.clone()).filter(|text| !text.is_empty());
                self.originator =
                    Some(instance.originator_userid.clone()).filter(|text| !text.is_empty());
                if self.business_id.is_none() && !instance.business_id.is_empty() {
                    self.business_id = Some(instance.business_id.clone());
                }
                self.amount = amount::of(routes, &envelope.process_code, &instance);
            }
            Err(error) => self.body_problem = Some(error.to_string()),
        }
    }
}

/// Maps an `x-death` reason to a dead-letter kind. A consumer's reject without requeue
/// is `rejected`. A delivery limit or an expiry means the message was tried until it
/// ran out of attempts or time, which is `exhausted`. Anything else is `unknown`, e.g.
/// `maxlen`, where a full queue dropped the message unprocessed.
pub fn kind_of_death(reason: &str) -> &'static str {
    match reason {
        "rejected" => "rejected",
        "delivery_limit" | "expired" => "exhausted",
        _ => UNKNOWN_KIND,
    }
}

/// Reads `x-death`, most recent entry first as RabbitMQ writes it.
pub fn read_deaths(headers: &FieldTable) -> Vec<Death> {
    let Some(AMQPValue::FieldArray(entries)) = headers.inner().get("x-death") else {
        return Vec::new();
    };
    entries
        .as_slice()
        .iter()
        .filter_map(|entry| match entry {
            AMQPValue::FieldTable(table) => Some(Death {
                queue: read_string(table, "queue"),
                reason: read_string(table, "reason"),
                count: read_u32(table, "count"),
                time: headers::read_time(table, "time"),
                exchange: read_string(table, "exchange"),
            }),
            _ => None,
        })
        .collect()
}

fn read_replayed_from(headers: &FieldTable) -> Option<Value> {
    let text = read_string(headers, REPLAYED_FROM)?;
    Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use dingk3::broker::Failure;
    use lapin::BasicProperties;
    use lapin::types::{FieldArray, LongString, ShortString};

    use super::*;

    fn message(headers: FieldTable, body: &[u8], message_id: Option<&str>) -> ReceivedMessage {
        let mut properties = BasicProperties::default().with_headers(headers);
        if let Some(id) = message_id {
            properties = properties.with_message_id(ShortString::from(id));
        }
        ReceivedMessage {
            delivery_tag: 1,
            exchange: "dingk3.dead".into(),
            routing_key: "approval".into(),
            redelivered: false,
            properties,
            data: body.to_vec(),
        }
    }

    fn death(reason: &str, queue: &str, seconds: u64) -> AMQPValue {
        let mut table = FieldTable::default();
        table.insert("reason".into(), AMQPValue::LongString(reason.into()));
        table.insert("queue".into(), AMQPValue::LongString(queue.into()));
        table.insert("count".into(), AMQPValue::LongLongInt(1));
        table.insert("time".into(), AMQPValue::Timestamp(seconds));
        AMQPValue::FieldTable(table)
    }

    #[test]
    fn pipeline_headers_give_kind_and_reason() {
        let failed_at = Utc.with_ymd_and_hms(2026, 11, 10, 10, 0, 0).unwrap();
        let headers = PipelineHeaders {
            attempt: 2,
            replay_count: 1,
            failure: Some(Failure {
                kind: "rejected".into(),
                error: "员工 EMP009 不存在".into(),
                detail: Some(json!({"errors": []})),
                failed_at: Some(failed_at),
            }),
        };
        let letter = Letter::read(
            &message(headers.to_field_table(), b"{}", Some("pi-1")),
            1,
            1024,
            None,
        );
        assert_eq!(letter.kind, "rejected");
        assert_eq!(letter.kind_origin, KindOrigin::Pipeline);
        assert_eq!(letter.reason.as_deref(), Some("员工 EMP009 不存在"));
        assert_eq!(letter.attempts, Some(2), "attempt header");
        assert_eq!(letter.replay_count, 1, "replay header");
        assert_eq!(letter.failed_at, Some(failed_at));
        assert_eq!(letter.process_instance_id.as_deref(), Some("pi-1"));
        assert!(letter.body_problem.is_some(), "{{}} is not an envelope");
    }

    #[test]
    fn broker_death_gives_kind() {
        let mut headers = FieldTable::default();
        let deaths = FieldArray::from(vec![
            death("delivery_limit", "dingk3.approvals", 1_793_781_605),
            death("rejected", "other", 1_793_781_000),
        ]);
        headers.insert("x-death".into(), AMQPValue::FieldArray(deaths));
        headers.insert("x-delivery-count".into(), AMQPValue::LongInt(3));
        let letter = Letter::read(&message(headers, b"not json", None), 4, 1024, None);
        assert_eq!(letter.kind, "exhausted", "delivery_limit is exhausted");
        assert_eq!(letter.kind_origin, KindOrigin::BrokerDeath);
        assert_eq!(letter.deaths.len(), 2, "both deaths read");
        assert!(
            letter
                .reason
                .as_deref()
                .is_some_and(|reason| reason.contains("dingk3.approvals")),
            "the reason names the queue: {:?}",
            letter.reason
        );
        assert_eq!(
            letter.failed_at.map(|time| time.timestamp()),
            Some(1_793_781_605),
            "time of the latest death"
        );
        assert_eq!(letter.attempts, None, "attempts unknown");
        assert_eq!(letter.delivery_count, Some(3));
        assert_eq!(letter.label(), "#4", "no id: the position names it");
    }

    #[test]
    fn no_headers_is_unknown() {
        let letter = Letter::read(&message(FieldTable::default(), b"", None), 1, 1024, None);
        assert_eq!(letter.kind, UNKNOWN_KIND);
        assert_eq!(letter.kind_origin, KindOrigin::Unknown);
        assert_eq!(letter.reason, None);
        assert_eq!(letter.failed_at, None);
    }

    #[test]
    fn death_reasons_map_to_kinds() {
        assert_eq!(kind_of_death("rejected"), "rejected");
        assert_eq!(kind_of_death("delivery_limit"), "exhausted");
        assert_eq!(kind_of_death("expired"), "exhausted");
        assert_eq!(kind_of_death("maxlen"), UNKNOWN_KIND);
    }

    #[test]
    fn replayed_from_is_json() {
        let mut headers = FieldTable::default();
        headers.insert(
            REPLAYED_FROM.into(),
            AMQPValue::LongString(LongString::from(r#"{"kind":"mapping"}"#)),
        );
        let letter = Letter::read(&message(headers, b"", None), 1, 1024, None);
        assert_eq!(letter.replayed_from, Some(json!({"kind": "mapping"})));
    }
}
