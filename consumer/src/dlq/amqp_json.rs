//! Lossless JSON for AMQP message properties and header values, used by export files.
//!
//! Each header value is an object naming its AMQP type, so a value written as a 16-bit
//! integer reads back as one, and texts that are not UTF-8 survive as base64:
//!
//! ```json
//! {"type": "long_string", "value": "员工不存在"}
//! {"type": "long_string", "base64": "/w=="}
//! {"type": "long_long_int", "value": 2}
//! {"type": "array", "value": [{"type": "table", "value": {"reason": …}}]}
//! ```
//!
//! A float that JSON cannot write (NaN, infinities) is kept as text in `"text"`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lapin::BasicProperties;
use lapin::types::{
    AMQPValue, ByteArray, DecimalValue, FieldArray, FieldTable, LongString, ShortString,
};
use serde_json::{Map, Number, Value, json};

/// Encodes a header value with its type.
pub fn value_to_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(v) => typed("bool", json!(v)),
        AMQPValue::ShortShortInt(v) => typed("short_short_int", json!(v)),
        AMQPValue::ShortShortUInt(v) => typed("short_short_uint", json!(v)),
        AMQPValue::ShortInt(v) => typed("short_int", json!(v)),
        AMQPValue::ShortUInt(v) => typed("short_uint", json!(v)),
        AMQPValue::LongInt(v) => typed("long_int", json!(v)),
        AMQPValue::LongUInt(v) => typed("long_uint", json!(v)),
        AMQPValue::LongLongInt(v) => typed("long_long_int", json!(v)),
        AMQPValue::Float(v) => float("float", f64::from(*v)),
        AMQPValue::Double(v) => float("double", *v),
        AMQPValue::DecimalValue(v) => {
            json!({"type": "decimal", "scale": v.scale, "value": v.value})
        }
        AMQPValue::ShortString(v) => typed("short_string", json!(v.as_str())),
        AMQPValue::LongString(v) => bytes("long_string", v.as_bytes()),
        AMQPValue::FieldArray(v) => {
            let items: Vec<Value> = v.as_slice().iter().map(value_to_json).collect();
            typed("array", Value::Array(items))
        }
        AMQPValue::Timestamp(v) => typed("timestamp", json!(v)),
        AMQPValue::FieldTable(v) => typed("table", table_to_json(v)),
        AMQPValue::ByteArray(v) => bytes("byte_array", v.as_slice()),
        AMQPValue::Void => json!({"type": "void"}),
    }
}

/// Decodes what [`value_to_json`] wrote.
pub fn value_from_json(value: &Value) -> Result<AMQPValue, String> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("header value without a type: {value}"))?;
    let inner = value.get("value");
    Ok(match kind {
        "bool" => AMQPValue::Boolean(
            inner
                .and_then(Value::as_bool)
                .ok_or("bool without a boolean value")?,
        ),
        "short_short_int" => AMQPValue::ShortShortInt(integer(kind, inner)?),
        "short_short_uint" => AMQPValue::ShortShortUInt(integer(kind, inner)?),
        "short_int" => AMQPValue::ShortInt(integer(kind, inner)?),
        "short_uint" => AMQPValue::ShortUInt(integer(kind, inner)?),
        "long_int" => AMQPValue::LongInt(integer(kind, inner)?),
        "long_uint" => AMQPValue::LongUInt(integer(kind, inner)?),
        "long_long_int" => AMQPValue::LongLongInt(integer(kind, inner)?),
        "timestamp" => AMQPValue::Timestamp(integer(kind, inner)?),
        // The f64 text of an f32 converts back to the same f32.
        "float" => AMQPValue::Float(read_float(value)? as f32),
        "double" => AMQPValue::Double(read_float(value)?),
        "decimal" => {
            let scale = value.get("scale").and_then(Value::as_u64);
            let number = inner.and_then(Value::as_u64);
            match (scale.map(u8::try_from), number.map(u32::try_from)) {
                (Some(Ok(scale)), Some(Ok(value))) => {
                    AMQPValue::DecimalValue(DecimalValue { scale, value })
                }
                _ => return Err(format!("invalid decimal header value {value}")),
            }
        }
        "short_string" => {
            let text = inner
                .and_then(Value::as_str)
                .ok_or("short_string without a text value")?;
            AMQPValue::ShortString(ShortString::try_new(text).map_err(|error| error.to_string())?)
        }
        "long_string" => AMQPValue::LongString(LongString::from(read_bytes(value)?)),
        "byte_array" => AMQPValue::ByteArray(ByteArray::from(read_bytes(value)?)),
        "array" => {
            let items = inner
                .and_then(Value::as_array)
                .ok_or("array without a list value")?;
            let values = items
                .iter()
                .map(value_from_json)
                .collect::<Result<Vec<_>, _>>()?;
            AMQPValue::FieldArray(FieldArray::from(values))
        }
        "table" => AMQPValue::FieldTable(table_from_json(
            inner.ok_or("table without an object value")?,
        )?),
        "void" => AMQPValue::Void,
        other => return Err(format!("unknown header value type {other:?}")),
    })
}

/// Encodes a header table as an object of typed values.
pub fn table_to_json(table: &FieldTable) -> Value {
    let object: Map<String, Value> = table
        .inner()
        .iter()
        .map(|(key, value)| (key.as_str().to_string(), value_to_json(value)))
        .collect();
    Value::Object(object)
}

/// Decodes what [`table_to_json`] wrote.
pub fn table_from_json(value: &Value) -> Result<FieldTable, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("header table is not an object: {value}"))?;
    let mut table = FieldTable::default();
    for (key, value) in object {
        let name = ShortString::try_new(key.as_str()).map_err(|error| error.to_string())?;
        table.insert(name, value_from_json(value)?);
    }
    Ok(table)
}

/// Names of the text properties, in AMQP order, with their getters.
const TEXT_PROPERTIES: [&str; 10] = [
    "content_type",
    "content_encoding",
    "correlation_id",
    "reply_to",
    "expiration",
    "message_id",
    "type",
    "user_id",
    "app_id",
    "cluster_id",
];

fn text_property<'a>(properties: &'a BasicProperties, name: &str) -> Option<&'a ShortString> {
    match name {
        "content_type" => properties.content_type().as_ref(),
        "content_encoding" => properties.content_encoding().as_ref(),
        "correlation_id" => properties.correlation_id().as_ref(),
        "reply_to" => properties.reply_to().as_ref(),
        "expiration" => properties.expiration().as_ref(),
        "message_id" => properties.message_id().as_ref(),
        "type" => properties.kind().as_ref(),
        "user_id" => properties.user_id().as_ref(),
        "app_id" => properties.app_id().as_ref(),
        "cluster_id" => properties.cluster_id().as_ref(),
        _ => None,
    }
}

fn with_text_property(
    properties: BasicProperties,
    name: &str,
    value: ShortString,
) -> BasicProperties {
    match name {
        "content_type" => properties.with_content_type(value),
        "content_encoding" => properties.with_content_encoding(value),
        "correlation_id" => properties.with_correlation_id(value),
        "reply_to" => properties.with_reply_to(value),
        "expiration" => properties.with_expiration(value),
        "message_id" => properties.with_message_id(value),
        "type" => properties.with_type(value),
        "user_id" => properties.with_user_id(value),
        "app_id" => properties.with_app_id(value),
        "cluster_id" => properties.with_cluster_id(value),
        _ => properties,
    }
}

/// Encodes every property that is set; absent ones are left out, so an empty text
/// and a missing property stay different.
pub fn properties_to_json(properties: &BasicProperties) -> Value {
    let mut object = Map::new();
    for name in TEXT_PROPERTIES {
        if let Some(value) = text_property(properties, name) {
            object.insert(name.to_string(), json!(value.as_str()));
        }
    }
    if let Some(mode) = properties.delivery_mode() {
        object.insert("delivery_mode".into(), json!(mode));
    }
    if let Some(priority) = properties.priority() {
        object.insert("priority".into(), json!(priority));
    }
    if let Some(timestamp) = properties.timestamp() {
        object.insert("timestamp".into(), json!(timestamp));
    }
    if let Some(headers) = properties.headers() {
        object.insert("headers".into(), table_to_json(headers));
    }
    Value::Object(object)
}

/// Decodes what [`properties_to_json`] wrote.
pub fn properties_from_json(value: &Value) -> Result<BasicProperties, String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("properties are not an object: {value}"))?;
    let mut properties = BasicProperties::default();
    for name in TEXT_PROPERTIES {
        if let Some(text) = object.get(name) {
            let text = text
                .as_str()
                .ok_or_else(|| format!("property {name} is not text"))?;
            let short = ShortString::try_new(text).map_err(|error| error.to_string())?;
            properties = with_text_property(properties, name, short);
        }
    }
    let small = |name: &str| -> Result<Option<u8>, String> {
        object
            .get(name)
            .map(|value| {
                value
                    .as_u64()
                    .and_then(|number| u8::try_from(number).ok())
                    .ok_or_else(|| format!("property {name} is not a number from 0 to 255"))
            })
            .transpose()
    };
    if let Some(mode) = small("delivery_mode")? {
        properties = properties.with_delivery_mode(mode);
    }
    if let Some(priority) = small("priority")? {
        properties = properties.with_priority(priority);
    }
    if let Some(timestamp) = object.get("timestamp") {
        let seconds = timestamp
            .as_u64()
            .ok_or("property timestamp is not a whole number")?;
        properties = properties.with_timestamp(seconds);
    }
    if let Some(headers) = object.get("headers") {
        properties = properties.with_headers(table_from_json(headers)?);
    }
    Ok(properties)
}

/// Encodes a body or text as `{"encoding": "utf8", "data": …}` when it is UTF-8 text,
/// else as base64.
pub fn body_to_json(body: &[u8]) -> Value {
    match std::str::from_utf8(body) {
        Ok(text) => json!({"encoding": "utf8", "data": text}),
        Err(_) => json!({"encoding": "base64", "data": BASE64.encode(body)}),
    }
}

/// Decodes what [`body_to_json`] wrote.
pub fn body_from_json(value: &Value) -> Result<Vec<u8>, String> {
    let data = value
        .get("data")
        .and_then(Value::as_str)
        .ok_or("body without data")?;
    match value.get("encoding").and_then(Value::as_str) {
        Some("utf8") => Ok(data.as_bytes().to_vec()),
        Some("base64") => BASE64.decode(data).map_err(|error| error.to_string()),
        other => Err(format!("unknown body encoding {other:?}")),
    }
}

/// Reads the integer `value` of a header of type `kind` into its AMQP width.
fn integer<T: TryFrom<i128>>(kind: &str, value: Option<&Value>) -> Result<T, String> {
    let number = value.ok_or_else(|| format!("{kind} without a value"))?;
    let whole = number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
        .ok_or_else(|| format!("{kind} value {number} is not an integer"))?;
    T::try_from(whole).map_err(|_| format!("{kind} value {whole} is out of range"))
}

fn typed(kind: &str, value: Value) -> Value {
    json!({"type": kind, "value": value})
}

fn float(kind: &str, value: f64) -> Value {
    match Number::from_f64(value) {
        Some(number) => typed(kind, Value::Number(number)),
        None => json!({"type": kind, "text": value.to_string()}),
    }
}

fn read_float(value: &Value) -> Result<f64, String> {
    if let Some(number) = value.get("value").and_then(Value::as_f64) {
        return Ok(number);
    }
    value
        .get("text")
        .and_then(Value::as_str)
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| format!("invalid float header value {value}"))
}

fn bytes(kind: &str, data: &[u8]) -> Value {
    match std::str::from_utf8(data) {
        Ok(text) => typed(kind, json!(text)),
        Err(_) => json!({"type": kind, "base64": BASE64.encode(data)}),
    }
}

fn read_bytes(value: &Value) -> Result<Vec<u8>, String> {
    if let Some(text) = value.get("value").and_then(Value::as_str) {
        return Ok(text.as_bytes().to_vec());
    }
    let encoded = value
        .get("base64")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("byte value without value or base64: {value}"))?;
    BASE64.decode(encoded).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_type() -> FieldTable {
        let mut nested = FieldTable::default();
        nested.insert("reason".into(), AMQPValue::LongString("rejected".into()));
        nested.insert("count".into(), AMQPValue::LongLongInt(3));
        let mut table = FieldTable::default();
        let values = [
            ("bool", AMQPValue::Boolean(true)),
            ("i8", AMQPValue::ShortShortInt(-8)),
            ("u8", AMQPValue::ShortShortUInt(200)),
            ("i16", AMQPValue::ShortInt(-1600)),
            ("u16", AMQPValue::ShortUInt(60_000)),
            ("i32", AMQPValue::LongInt(-32)),
            ("u32", AMQPValue::LongUInt(4_000_000_000)),
            ("i64", AMQPValue::LongLongInt(i64::MIN)),
            ("f32", AMQPValue::Float(0.1)),
            ("f64", AMQPValue::Double(1.0 / 3.0)),
            ("nan", AMQPValue::Double(f64::INFINITY)),
            (
                "decimal",
                AMQPValue::DecimalValue(DecimalValue {
                    scale: 2,
                    value: 12_345,
                }),
            ),
            ("short", AMQPValue::ShortString("短".into())),
            ("long", AMQPValue::LongString("员工不存在".into())),
            (
                "binary",
                AMQPValue::LongString(vec![0xff, 0x00, 0xfe].into()),
            ),
            ("bytes", AMQPValue::ByteArray(vec![1_u8, 2, 3].into())),
            ("stamp", AMQPValue::Timestamp(1_793_781_605)),
            (
                "array",
                AMQPValue::FieldArray(vec![AMQPValue::FieldTable(nested.clone())].into()),
            ),
            ("table", AMQPValue::FieldTable(nested)),
            ("void", AMQPValue::Void),
        ];
        for (key, value) in values {
            table.insert(key.into(), value);
        }
        table
    }

    #[test]
    fn table_round_trips_every_type() {
        let table = every_type();
        let text = table_to_json(&table).to_string();
        let back = table_from_json(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, table, "typed JSON reads back to the same table");
    }

    #[test]
    fn properties_round_trip() {
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("".into())
            .with_delivery_mode(2)
            .with_priority(5)
            .with_correlation_id("c-1".into())
            .with_reply_to("r".into())
            .with_expiration("60000".into())
            .with_message_id("pi-1".into())
            .with_timestamp(1_793_781_605)
            .with_type("approval".into())
            .with_user_id("guest".into())
            .with_app_id("dingk3-consumer".into())
            .with_cluster_id("c".into())
            .with_headers(every_type());
        let text = properties_to_json(&properties).to_string();
        let back = properties_from_json(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back, properties, "every property survives");
    }

    #[test]
    fn absent_properties_stay_absent() {
        let back = properties_from_json(&properties_to_json(&BasicProperties::default())).unwrap();
        assert_eq!(back, BasicProperties::default());
    }

    #[test]
    fn binary_body_uses_base64() {
        let body = vec![0xff, 0xfe, 0x00];
        let json = body_to_json(&body);
        assert_eq!(json["encoding"], json!("base64"));
        assert_eq!(body_from_json(&json).unwrap(), body);
    }

    #[test]
    fn text_body_stays_readable() {
        let json = body_to_json("{\"报销\":1}".as_bytes());
        assert_eq!(json["encoding"], json!("utf8"));
        assert_eq!(json["data"], json!("{\"报销\":1}"));
    }

    #[test]
    fn unknown_type_is_rejected() {
        let error = value_from_json(&json!({"type": "matrix", "value": 1})).unwrap_err();
        assert!(error.contains("matrix"), "{error}");
    }

    #[test]
    fn narrow_integer_out_of_range() {
        let error = value_from_json(&json!({"type": "short_int", "value": 70_000})).unwrap_err();
        assert!(error.contains("out of range"), "{error}");
    }
}
