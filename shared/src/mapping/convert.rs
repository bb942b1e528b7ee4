//! Conversion of a DingTalk value to the JSON K3Cloud expects for a field kind.
//!
//! K3Cloud takes dates as `yyyy-MM-dd`, base data as `{"FNumber": …}`, amounts as JSON
//! numbers and booleans as JSON booleans. DingTalk times are Beijing wall-clock times
//! without a zone marker, so a date is the Beijing calendar day; no zone conversion
//! happens here.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::config::ValueKind;
use super::money::{AmountError, amount_to_json, decimal_to_json, parse_amount, parse_decimal};
use crate::approval::time::{parse_form_date, parse_instance_time};

/// Date format K3Cloud receives.
pub const K3_DATE_FORMAT: &str = "%Y-%m-%d";

/// A value read from the approval, before conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadValue {
    /// The value as text, the way DingTalk shows it.
    pub(crate) text: String,
    /// The calendar day, when the value is a date or a time.
    pub(crate) date: Option<NaiveDate>,
}

impl ReadValue {
    pub(crate) fn text(text: impl Into<String>) -> ReadValue {
        ReadValue {
            text: text.into(),
            date: None,
        }
    }
}

/// Reason a value does not fit its field kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConvertError {
    Amount(AmountError),
    Date,
    Integer,
    Bool,
}

/// Converts a read value for a field of `kind`.
pub(crate) fn convert(value: &ReadValue, kind: ValueKind) -> Result<Value, ConvertError> {
    let text = value.text.trim();
    match kind {
        ValueKind::Text => Ok(Value::String(value.text.clone())),
        ValueKind::BaseData => {
            let mut object = Map::new();
            object.insert("FNumber".into(), Value::String(text.to_string()));
            Ok(Value::Object(object))
        }
        ValueKind::Money => parse_amount(text)
            .map(|amount| Value::Number(amount_to_json(amount)))
            .map_err(ConvertError::Amount),
        ValueKind::Decimal => parse_decimal(text)
            .map(|decimal| Value::Number(decimal_to_json(decimal)))
            .map_err(ConvertError::Amount),
        ValueKind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| ConvertError::Integer),
        ValueKind::Bool => parse_bool(text).map(Value::Bool).ok_or(ConvertError::Bool),
        ValueKind::Date => match value.date {
            Some(date) => Ok(Value::String(date.format(K3_DATE_FORMAT).to_string())),
            None => to_k3_date(text)
                .map(Value::String)
                .ok_or(ConvertError::Date),
        },
    }
}

/// Reads `true`/`false`, `1`/`0`, `yes`/`no` (any case) and `是`/`否`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "是" => Some(true),
        "false" | "0" | "no" | "否" => Some(false),
        _ => None,
    }
}

/// Converts a DingTalk date or time text (Beijing wall clock) to `yyyy-MM-dd`.
pub(crate) fn to_k3_date(text: &str) -> Option<String> {
    let date = parse_form_date(text)
        .map(|(date, _)| date)
        .or_else(|| parse_instance_time(text).map(|time| time.date()))?;
    Some(date.format(K3_DATE_FORMAT).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convert_writes_each_kind() {
        let value = ReadValue::text("FYXM001");
        assert_eq!(
            convert(&value, ValueKind::BaseData),
            Ok(serde_json::json!({"FNumber": "FYXM001"}))
        );
        assert_eq!(
            convert(&ReadValue::text("1,280"), ValueKind::Money)
                .unwrap()
                .to_string(),
            "1280.00"
        );
        assert_eq!(
            convert(&ReadValue::text("是"), ValueKind::Bool),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            convert(&ReadValue::text("42"), ValueKind::Integer),
            Ok(Value::from(42))
        );
        assert_eq!(
            convert(&ReadValue::text("1.0"), ValueKind::Decimal)
                .unwrap()
                .to_string(),
            "1.0"
        );
    }

    #[test]
    fn convert_rejects_unfit_values() {
        assert_eq!(
            convert(&ReadValue::text("1.5E+3"), ValueKind::Money),
            Err(ConvertError::Amount(AmountError::Exponent))
        );
        assert_eq!(
            convert(&ReadValue::text("maybe"), ValueKind::Bool),
            Err(ConvertError::Bool)
        );
        assert_eq!(
            convert(&ReadValue::text("1.5"), ValueKind::Integer),
            Err(ConvertError::Integer)
        );
        assert_eq!(
            convert(&ReadValue::text("28/10/2026"), ValueKind::Date),
            Err(ConvertError::Date)
        );
    }

    #[test]
    fn to_k3_date_reads_dingtalk_times() {
        assert_eq!(
            to_k3_date("2026-11-04 16:40:05").as_deref(),
            Some("2026-11-04")
        );
        assert_eq!(
            to_k3_date("2026-11-04 23:59").as_deref(),
            Some("2026-11-04")
        );
        assert_eq!(
            to_k3_date("2026-06-11T23:24Z").as_deref(),
            Some("2026-06-11"),
            "the v1.0 Z marks Beijing time, not UTC"
        );
        assert_eq!(to_k3_date("2026-10-28").as_deref(), Some("2026-10-28"));
        assert_eq!(to_k3_date("null"), None);
    }

    #[test]
    fn convert_prefers_known_date() {
        let value = ReadValue {
            text: "2026-11-04 16:40:05".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, 4),
        };
        assert_eq!(
            convert(&value, ValueKind::Date),
            Ok(Value::String("2026-11-04".into()))
        );
    }
}
