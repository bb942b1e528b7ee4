//! Lenient readers for JSON values as K3Cloud accepts them.
//!
//! Real clients send booleans as `true` or `"true"`, numbers as `1` or `"1"`, and key
//! names in any letter case (`FNumber`, `FNUMBER`). The server binds all of them. These
//! helpers give every handler the same tolerance.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value};

/// Date-time layout of every date K3Cloud returns (no zone; server local time).
pub const DATE_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Scale of decimals in replies. K3Cloud keeps amounts as `decimal(23,10)` and its JSON
/// serializer keeps the scale, so `120.5` comes back as `120.5000000000`.
// NOTE: the scale of 10 is recalled from K3Cloud replies, not from a captured sample.
pub const REPLY_DECIMAL_SCALE: u32 = 10;

/// Returns the value of `key` in `map`, ignoring ASCII letter case.
pub fn get_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

/// Reads a boolean sent as a JSON boolean, a string (`"true"`, `"1"`) or a number.
pub fn as_bool(value: Option<&Value>, default: bool) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => default,
        },
        Some(Value::Number(number)) => number.as_i64().map_or(default, |n| n != 0),
        _ => default,
    }
}

/// Reads an integer sent as a JSON number or a numeric string.
pub fn as_i64(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number.as_i64().or_else(|| {
            Decimal::from_str_exact(&number.to_string())
                .ok()
                .and_then(|exact| exact.trunc().to_i64())
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a text sent as a JSON string or number; other shapes and `null` yield `None`.
pub fn as_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Error reading a value as a decimal; contains the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDecimal(pub String);

/// Reads an exact decimal from a JSON number or string.
///
/// JSON numbers keep their source text (serde_json's `arbitrary_precision`), so no
/// binary float is involved. Empty strings and `null` yield `Ok(None)`.
pub fn as_decimal(value: Option<&Value>) -> Result<Option<Decimal>, InvalidDecimal> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(None),
        Some(Value::String(text)) => text.trim().to_string(),
        Some(other) => return Err(InvalidDecimal(other.to_string())),
    };
    Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map(Some)
        .map_err(|_| InvalidDecimal(text))
}

/// Error reading a value as a date; contains the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDate(pub String);

/// Reads a date or date-time in the layouts clients send (`2026-11-04`,
/// `2026-11-04 00:00:00`, `2026-11-04T00:00:00`, optional fractional seconds).
pub fn as_date(value: Option<&Value>) -> Result<Option<NaiveDateTime>, InvalidDate> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(None),
        Some(Value::String(text)) => text.trim(),
        Some(other) => return Err(InvalidDate(other.to_string())),
    };
    parse_date(text)
        .map(Some)
        .ok_or_else(|| InvalidDate(text.to_string()))
}

/// Parses one date text; see [`as_date`] for the accepted layouts.
pub fn parse_date(text: &str) -> Option<NaiveDateTime> {
    const DATE_TIME_LAYOUTS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ];
    for layout in DATE_TIME_LAYOUTS {
        if let Ok(parsed) = NaiveDateTime::parse_from_str(text, layout) {
            return Some(parsed);
        }
    }
    for layout in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, layout) {
            return date.and_hms_opt(0, 0, 0);
        }
    }
    None
}

/// Formats a date the way K3Cloud replies carry it: `yyyy-MM-ddTHH:mm:ss`.
pub fn format_date(value: &NaiveDateTime) -> String {
    value.format(DATE_TIME_FORMAT).to_string()
}

/// Turns a decimal into a JSON number with the reply scale, keeping it exact.
pub fn decimal_json(value: Decimal) -> Value {
    let mut scaled = value;
    scaled.rescale(REPLY_DECIMAL_SCALE);
    match serde_json::Number::from_str(&scaled.to_string()) {
        Ok(number) => Value::Number(number),
        Err(_) => Value::String(scaled.to_string()),
    }
}

/// Parses a JSON text if `value` is a string that contains an object or an array.
///
/// Clients pass `data` and whole parameter lists either as JSON or as JSON text.
pub fn decode_json_text(value: Value) -> Value {
    if let Value::String(text) = &value {
        let trimmed = text.trim_start();
        if (trimmed.starts_with('{') || trimmed.starts_with('['))
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
        {
            return parsed;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn get_ci_ignores_letter_case() {
        let map = json!({"FNUMBER": "EMP001"});
        let map = map.as_object().unwrap();
        assert_eq!(get_ci(map, "FNumber"), Some(&json!("EMP001")));
        assert_eq!(get_ci(map, "FName"), None);
    }

    #[test]
    fn as_bool_reads_strings_and_booleans() {
        assert!(as_bool(Some(&json!("true")), false), "string true");
        assert!(as_bool(Some(&json!(true)), false), "boolean true");
        assert!(!as_bool(Some(&json!("False")), true), "string False");
        assert!(as_bool(None, true), "missing keeps the default");
    }

    #[test]
    fn as_decimal_keeps_exact_text() {
        let parsed: Value = serde_json::from_str("120.50").unwrap();
        assert_eq!(
            as_decimal(Some(&parsed)).unwrap(),
            Some(Decimal::new(12050, 2))
        );
        assert_eq!(
            as_decimal(Some(&json!("1280.00"))).unwrap(),
            Some(Decimal::new(128000, 2))
        );
        assert_eq!(as_decimal(Some(&json!(""))).unwrap(), None);
        assert!(
            as_decimal(Some(&json!("12,0"))).is_err(),
            "comma is invalid"
        );
    }

    #[test]
    fn as_date_accepts_client_layouts() {
        let expected = NaiveDate::from_ymd_opt(2026, 11, 4)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        for text in ["2026-11-04", "2026-11-04 00:00:00", "2026-11-04T00:00:00"] {
            assert_eq!(
                as_date(Some(&json!(text))).unwrap(),
                Some(expected),
                "{text}"
            );
        }
        assert!(as_date(Some(&json!("04.11.2026"))).is_err());
    }

    #[test]
    fn decimal_json_uses_reply_scale() {
        assert_eq!(
            decimal_json(Decimal::new(12050, 2)).to_string(),
            "120.5000000000"
        );
    }

    #[test]
    fn decode_json_text_parses_embedded_json() {
        assert_eq!(decode_json_text(json!("{\"a\":1}")), json!({"a": 1}));
        assert_eq!(decode_json_text(json!("EMP001")), json!("EMP001"));
        assert_eq!(decode_json_text(json!("{broken")), json!("{broken"));
    }
}
