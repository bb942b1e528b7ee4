//! Beijing wall-clock times as DingTalk writes them.
//!
//! Both API generations print times as Beijing local time (UTC+8, no daylight saving
//! time) without a real zone marker: topapi as `yyyy-MM-dd HH:mm:ss`, v1.0 as
//! `yyyy-MM-ddTHH:mmZ` with minute precision, where the `Z` does not mean UTC. List
//! filters and instance ids use epoch values instead. The model keeps every time as a
//! [`NaiveDateTime`] in Beijing time and converts here.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

const BEIJING_OFFSET_SECONDS: i32 = 8 * 3600;

/// Format of topapi times, for example `2026-11-03 10:15:22`.
pub const TOPAPI_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Format of v1.0 times, for example `2026-11-03T10:15Z` (Beijing time despite the `Z`).
pub const V1_FORMAT: &str = "%Y-%m-%dT%H:%MZ";

/// Format of a `DDDateField` value with day unit.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// Format of a `DDDateField` value with hour unit.
pub const DATE_HOUR_FORMAT: &str = "%Y-%m-%d %H:%M";

/// Returns the fixed +08:00 offset of Beijing time.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(BEIJING_OFFSET_SECONDS).expect("+08:00 is a valid offset")
}

/// Converts an instant to Beijing wall-clock time.
pub fn to_beijing(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&beijing()).naive_local()
}

/// Converts Beijing wall-clock time to an instant.
pub fn from_beijing(local: NaiveDateTime) -> DateTime<Utc> {
    beijing()
        .from_local_datetime(&local)
        .single()
        .expect("a fixed offset maps every local time to exactly one instant")
        .with_timezone(&Utc)
}

/// Returns the epoch milliseconds of a Beijing wall-clock time.
pub fn epoch_millis(local: NaiveDateTime) -> i64 {
    from_beijing(local).timestamp_millis()
}

/// Returns the Beijing wall-clock time of epoch seconds, or `None` when out of range.
pub fn from_epoch_seconds(seconds: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(seconds, 0).map(to_beijing)
}

/// Parses a topapi time string.
pub fn parse_topapi(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.trim(), TOPAPI_FORMAT).ok()
}

/// Formats a time the way topapi prints it.
pub fn format_topapi(local: NaiveDateTime) -> String {
    local.format(TOPAPI_FORMAT).to_string()
}

/// Formats a time the way v1.0 prints it: minutes only, Beijing time, a `Z` suffix.
pub fn format_v1(local: NaiveDateTime) -> String {
    local.format(V1_FORMAT).to_string()
}

/// Shifts a `DDDateField` value (`yyyy-MM-dd` or `yyyy-MM-dd HH:mm`) by whole days.
///
/// Returns `None` when the text is in neither format, so callers leave it unchanged.
pub fn shift_date_value(text: &str, days: i64) -> Option<String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, DATE_FORMAT) {
        let shifted = date.checked_add_signed(Duration::days(days))?;
        return Some(shifted.format(DATE_FORMAT).to_string());
    }
    if let Ok(time) = NaiveDateTime::parse_from_str(text, DATE_HOUR_FORMAT) {
        let shifted = time.checked_add_signed(Duration::days(days))?;
        return Some(shifted.format(DATE_HOUR_FORMAT).to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        parse_topapi(text).expect("valid test time")
    }

    #[test]
    fn epoch_millis_uses_beijing_offset() {
        // 2025-11-03 10:15:22 in Beijing is 02:15:22 UTC.
        let millis = epoch_millis(at("2025-11-03 10:15:22"));
        assert_eq!(millis, 1_762_136_122_000, "Beijing time must be UTC+8");
    }

    #[test]
    fn epoch_seconds_round_trip() {
        let local = from_epoch_seconds(1_653_925_597).expect("in range");
        assert_eq!(format_topapi(local), "2022-05-30 23:46:37");
    }

    #[test]
    fn v1_format_keeps_beijing_minutes() {
        let text = format_v1(at("2026-06-11 11:24:59"));
        assert_eq!(text, "2026-06-11T11:24Z", "v1.0 truncates to minutes");
    }

    #[test]
    fn shift_date_value_handles_both_units() {
        assert_eq!(
            shift_date_value("2026-10-30", 35).as_deref(),
            Some("2026-12-04")
        );
        assert_eq!(
            shift_date_value("2026-10-30 09:30", -1).as_deref(),
            Some("2026-10-29 09:30")
        );
        assert_eq!(shift_date_value("not a date", 3), None);
    }
}
