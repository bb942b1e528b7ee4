//! The message the producer publishes and the consumer reads.
//!
//! The envelope is versioned JSON that carries the DingTalk instance exactly as fetched,
//! so mapping happens in the consumer: a fixed mapping applies to messages already queued
//! and to replayed dead letters. Decoding is strict and bounded because anything can be
//! published to a queue by another client; every rejection says what is wrong so the
//! dead letter explains itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::approval::{ApprovalInstance, DecodeError};
use crate::i18n::{Localize, Text};

/// Envelope schema this build writes and reads.
pub const SCHEMA_VERSION: u64 = 1;

/// Default upper bound of an envelope's size. A real approval, attachments excluded
/// (DingTalk sends file references, not files), is far smaller; anything larger is not a
/// message dingk3 published.
pub const DEFAULT_MAX_ENVELOPE_BYTES: usize = 1024 * 1024;

/// One approval instance on its way from the producer to a consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Schema version, [`SCHEMA_VERSION`].
    pub schema: u64,

    /// Process instance id; also the AMQP `message_id`.
    pub process_instance_id: String,

    /// Process code (审批模板) the instance was listed under; the route key of the
    /// mapping. The DingTalk detail body does not carry it.
    pub process_code: String,

    /// Business id (审批编号), copied out for logs and the dead-letter listing.
    pub business_id: String,

    /// When the producer fetched the instance.
    pub fetched_at: DateTime<Utc>,

    /// The DingTalk instance object exactly as fetched.
    pub instance: Value,
}

/// Why a message body is not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The body exceeds the size limit.
    #[error("message body of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Body size in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The body is not JSON (binary data, truncated text).
    #[error("message body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("message body is not a JSON object")]
    NotAnObject,
    /// The schema version is missing or not one this build reads.
    #[error("unsupported envelope schema {found}; this build reads schema {SCHEMA_VERSION}")]
    UnsupportedSchema {
        /// The `schema` value found, as JSON text.
        found: String,
    },
    /// A required field is missing or has the wrong type.
    #[error("envelope field {field} is missing or not {expected}")]
    BadField {
        /// Field name.
        field: &'static str,
        /// Expected JSON type.
        expected: &'static str,
    },
    /// The instance could not be decoded.
    #[error("the approval instance in the envelope cannot be decoded: {0}")]
    Instance(#[from] DecodeError),
}

impl Localize for EnvelopeError {
    fn localize(&self) -> Text {
        let en = self.to_string();
        let zh = match self {
            EnvelopeError::TooLarge { size, max } => {
                format!("消息体 {size} 字节，超过上限 {max} 字节")
            }
            EnvelopeError::NotJson(detail) => format!("消息体不是合法的 JSON：{detail}"),
            EnvelopeError::NotAnObject => "消息体不是 JSON 对象".to_string(),
            EnvelopeError::UnsupportedSchema { found } => {
                format!("不支持的消息版本 {found}；当前版本只读取版本 {SCHEMA_VERSION}")
            }
            EnvelopeError::BadField { field, expected } => {
                format!("消息字段 {field} 缺失或不是 {expected}")
            }
            EnvelopeError::Instance(error) => format!("消息中的审批实例无法解析：{error}"),
        };
        Text::new(en, zh)
    }
}

impl Envelope {
    /// Wraps a fetched instance for publishing.
    pub fn new(
        process_code: impl Into<String>,
        instance: &ApprovalInstance,
        fetched_at: DateTime<Utc>,
    ) -> Envelope {
        Envelope {
            schema: SCHEMA_VERSION,
            process_instance_id: instance.process_instance_id.clone(),
            process_code: process_code.into(),
            business_id: instance.business_id.clone(),
            fetched_at,
            instance: instance.raw().clone(),
        }
    }

    /// Serializes the envelope as the message body.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an envelope of JSON values always serializes")
    }

    /// Decodes and checks a message body of at most `max_bytes`.
    pub fn decode(body: &[u8], max_bytes: usize) -> Result<Envelope, EnvelopeError> {
        if body.len() > max_bytes {
            return Err(EnvelopeError::TooLarge {
                size: body.len(),
                max: max_bytes,
            });
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| EnvelopeError::NotJson(error.to_string()))?;
        let Value::Object(mut object) = value else {
            return Err(EnvelopeError::NotAnObject);
        };
        match object.get("schema") {
            Some(Value::Number(number)) if number.as_u64() == Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(EnvelopeError::UnsupportedSchema {
                    found: other.to_string(),
                });
            }
            None => {
                return Err(EnvelopeError::UnsupportedSchema {
                    found: "(missing)".to_string(),
                });
            }
        }
        let mut text_field = |field: &'static str| -> Result<String, EnvelopeError> {
            match object.remove(field) {
                Some(Value::String(text)) if !text.is_empty() => Ok(text),
                _ => Err(EnvelopeError::BadField {
                    field,
                    expected: "a non-empty string",
                }),
            }
        };
        let process_instance_id = text_field("process_instance_id")?;
        let process_code = text_field("process_code")?;
        let business_id = text_field("business_id").unwrap_or_default();
        let fetched_at = text_field("fetched_at")?;
        let fetched_at = DateTime::parse_from_rfc3339(&fetched_at)
            .map_err(|_| EnvelopeError::BadField {
                field: "fetched_at",
                expected: "an RFC 3339 time",
            })?
            .with_timezone(&Utc);
        let instance = match object.remove("instance") {
            Some(instance @ Value::Object(_)) => instance,
            _ => {
                return Err(EnvelopeError::BadField {
                    field: "instance",
                    expected: "a JSON object",
                });
            }
        };
        Ok(Envelope {
            schema: SCHEMA_VERSION,
            process_instance_id,
            process_code,
            business_id,
            fetched_at,
            instance,
        })
    }

    /// Decodes the carried instance into the typed model.
    pub fn approval(&self) -> Result<ApprovalInstance, EnvelopeError> {
        Ok(ApprovalInstance::from_raw(
            self.process_instance_id.clone(),
            self.instance.clone(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> Envelope {
        let raw = json!({"business_id": "202611031015000123401", "status": "COMPLETED", "result": "agree", "form_component_values": []});
        let instance = ApprovalInstance::from_raw("pid-1", raw).unwrap();
        Envelope::new("PROC-1", &instance, "2026-11-04T08:40:05Z".parse().unwrap())
    }

    #[test]
    fn round_trip_keeps_everything() {
        let envelope = sample();
        let decoded = Envelope::decode(&envelope.to_bytes(), DEFAULT_MAX_ENVELOPE_BYTES).unwrap();
        assert_eq!(decoded, envelope);
        assert_eq!(
            decoded.approval().unwrap().business_id,
            "202611031015000123401"
        );
    }

    #[test]
    fn decode_rejects_oversized_body() {
        let error = Envelope::decode(&[b' '; 100], 10).unwrap_err();
        assert_eq!(error, EnvelopeError::TooLarge { size: 100, max: 10 });
    }

    #[test]
    fn decode_rejects_truncated_json() {
        let bytes = sample().to_bytes();
        let error =
            Envelope::decode(&bytes[..bytes.len() / 2], DEFAULT_MAX_ENVELOPE_BYTES).unwrap_err();
        assert!(matches!(error, EnvelopeError::NotJson(_)), "{error:?}");
    }

    #[test]
    fn decode_rejects_binary_garbage() {
        let error =
            Envelope::decode(&[0xff, 0x00, 0x13, 0x37], DEFAULT_MAX_ENVELOPE_BYTES).unwrap_err();
        assert!(matches!(error, EnvelopeError::NotJson(_)), "{error:?}");
    }

    #[test]
    fn decode_rejects_other_schema() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["schema"] = json!(2);
        let error =
            Envelope::decode(value.to_string().as_bytes(), DEFAULT_MAX_ENVELOPE_BYTES).unwrap_err();
        assert_eq!(
            error,
            EnvelopeError::UnsupportedSchema { found: "2".into() }
        );
        assert!(error.localize().zh.contains("不支持"));
    }

    #[test]
    fn decode_rejects_missing_instance() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value.as_object_mut().unwrap().remove("instance");
        let error =
            Envelope::decode(value.to_string().as_bytes(), DEFAULT_MAX_ENVELOPE_BYTES).unwrap_err();
        assert_eq!(
            error,
            EnvelopeError::BadField {
                field: "instance",
                expected: "a JSON object"
            }
        );
    }

    #[test]
    fn decode_rejects_non_object() {
        let error = Envelope::decode(b"[1,2,3]", DEFAULT_MAX_ENVELOPE_BYTES).unwrap_err();
        assert_eq!(error, EnvelopeError::NotAnObject);
    }
}
