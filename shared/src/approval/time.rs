//! DingTalk time strings and their conversion to UTC.
//!
//! Approval detail responses carry wall-clock times of Beijing (UTC+08:00) without a zone
//! marker: `2026-11-04 16:40:05` in `topapi`, `2026-06-11T11:24Z` in v1.0. The v1.0 `Z`
//! is not honest: business ids, which encode the creation minute in Beijing time, match
//! those digits. Both forms are therefore read as Beijing time. China has observed no
//! daylight saving time since 1991, so a fixed offset is exact.

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc,
};

/// Seconds east of UTC of Beijing time.
const BEIJING_OFFSET_SECONDS: i32 = 8 * 3600;

/// Returns Beijing's fixed UTC offset.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(BEIJING_OFFSET_SECONDS).expect("+08:00 is a valid offset")
}

/// Converts a Beijing wall-clock time to UTC.
///
/// Only the first eight hours of chrono's calendar (year -262143) have no UTC instant;
/// such a time can only come from corrupt input, and the earliest instant stands for it.
pub fn beijing_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    let offset = TimeDelta::seconds(BEIJING_OFFSET_SECONDS.into());
    local
        .checked_sub_signed(offset)
        .map_or(DateTime::<Utc>::MIN_UTC, |utc| utc.and_utc())
}

/// Converts a UTC instant to Beijing wall-clock time.
pub fn utc_to_beijing(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&beijing()).naive_local()
}

/// Parses an instance time (`create_time`, `finish_time`) of either API generation.
///
/// Accepts `yyyy-MM-dd HH:mm:ss`, `yyyy-MM-dd HH:mm`, `yyyy-MM-ddTHH:mm[:ss]` with an
/// optional trailing `Z`, and a bare date (midnight). Returns `None` for anything else,
/// including the literal `"null"` DingTalk sends for an absent value and years outside
/// 1000–9999, which no approval carries.
pub fn parse_instance_time(text: &str) -> Option<NaiveDateTime> {
    parse_any_year(text).filter(|moment| (1000..=9999).contains(&moment.year()))
}

fn parse_any_year(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    // An explicit offset (`+00:00`) appears only when a client library re-serialized
    // the time; such a value is a real instant, unlike the API's own strings.
    if !text.ends_with('Z')
        && let Ok(instant) = DateTime::parse_from_rfc3339(text)
    {
        return Some(utc_to_beijing(instant.with_timezone(&Utc)));
    }
    let text = text.strip_suffix('Z').unwrap_or(text);
    const FORMATS: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ];
    FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|date| date.and_time(NaiveTime::MIN))
        })
}

/// Parses the value of a date component (`DDDateField`): a day (`yyyy-MM-dd`) or a day
/// with a time (`yyyy-MM-dd HH:mm`), depending on the unit the form designer chose.
pub fn parse_form_date(text: &str) -> Option<(NaiveDate, Option<NaiveTime>)> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return (1000..=9999).contains(&date.year()).then_some((date, None));
    }
    parse_instance_time(text).map(|moment| (moment.date(), Some(moment.time())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, s)
            .unwrap()
    }

    #[test]
    fn parse_instance_time_reads_topapi_form() {
        assert_eq!(
            parse_instance_time("2026-11-04 16:40:05"),
            Some(at(2026, 11, 4, 16, 40, 5))
        );
    }

    #[test]
    fn parse_instance_time_reads_v1_minute_form_as_local() {
        assert_eq!(
            parse_instance_time("2026-06-11T11:24Z"),
            Some(at(2026, 6, 11, 11, 24, 0))
        );
    }

    #[test]
    fn parse_instance_time_converts_explicit_offset() {
        assert_eq!(
            parse_instance_time("2021-07-26T02:18:33.000+00:00"),
            Some(at(2021, 7, 26, 10, 18, 33))
        );
    }

    #[test]
    fn parse_instance_time_rejects_far_years() {
        for text in [
            "-262143-01-01 00:00:00",
            "+262142-12-31 23:59:59",
            "0999-12-31",
        ] {
            assert_eq!(parse_instance_time(text), None, "{text}");
        }
        assert_eq!(parse_form_date("20260-01-01"), None);
    }

    #[test]
    fn beijing_to_utc_at_calendar_start() {
        assert_eq!(beijing_to_utc(NaiveDateTime::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            beijing_to_utc(at(2026, 11, 4, 8, 0, 0)),
            at(2026, 11, 4, 0, 0, 0).and_utc()
        );
    }

    #[test]
    fn parse_instance_time_rejects_null_literal() {
        assert_eq!(parse_instance_time("null"), None);
        assert_eq!(parse_instance_time(""), None);
    }

    #[test]
    fn beijing_to_utc_subtracts_eight_hours() {
        let utc = beijing_to_utc(at(2023, 7, 14, 17, 21, 16));
        assert_eq!(utc.timestamp_millis(), 1_689_326_476_000);
        assert_eq!(utc_to_beijing(utc), at(2023, 7, 14, 17, 21, 16));
    }

    #[test]
    fn parse_form_date_keeps_optional_time() {
        let (date, time) = parse_form_date("2026-10-28").unwrap();
        assert_eq!(date, NaiveDate::from_ymd_opt(2026, 10, 28).unwrap());
        assert_eq!(time, None);
        let (_, time) = parse_form_date("2026-10-28 09:30").unwrap();
        assert_eq!(time, NaiveTime::from_hms_opt(9, 30, 0));
        assert_eq!(parse_form_date("28/10/2026"), None);
    }
}
