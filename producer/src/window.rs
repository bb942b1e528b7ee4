//! The range of creation times each poll lists.
//!
//! DingTalk's list APIs filter by creation time, not by approval time, so a claim
//! filed weeks before it is approved falls out of a window that only moves forward.
//! The incremental window therefore starts at whichever is older: the oldest instance
//! the ledger still records as running, or the previous window's end (the watermark)
//! minus an overlap. It is clamped to the earliest start DingTalk accepts; running
//! instances older than that are fetched by id instead.
//!
//! A backfill lists whole Beijing days given on the command line, `--to` included.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use dingk3::approval::time::{beijing_to_utc, utc_to_beijing};
use dingk3::i18n::Text;
use dingk3::text;

/// A range of creation times, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollWindow {
    /// First creation time listed.
    pub start: DateTime<Utc>,
    /// End of the range, excluded; the watermark moves here after a complete poll.
    pub end: DateTime<Utc>,
    /// Whether the start was moved later to the earliest start DingTalk accepts.
    pub clamped: bool,
}

/// How far an incremental window reaches back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// Reach before the watermark.
    pub overlap: TimeDelta,
    /// Reach before now when there is no watermark yet.
    pub initial_lookback: TimeDelta,
}

/// Returns the window of an incremental poll at `now`.
///
/// `earliest` is the earliest start DingTalk accepts
/// (`DingTalkClient::earliest_window_start`).
pub fn incremental_window(
    now: DateTime<Utc>,
    watermark: Option<DateTime<Utc>>,
    oldest_open: Option<DateTime<Utc>>,
    reach: Reach,
    earliest: DateTime<Utc>,
) -> PollWindow {
    let mut start = match watermark {
        Some(watermark) => watermark - reach.overlap,
        None => now - reach.initial_lookback,
    };
    if let Some(oldest_open) = oldest_open {
        start = start.min(oldest_open);
    }
    let clamped = start < earliest;
    if clamped {
        start = earliest;
    }
    PollWindow {
        start: start.min(now),
        end: now,
        clamped,
    }
}

/// Whole Beijing days to backfill, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillDays {
    /// First day.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
}

/// Parses a `yyyy-MM-dd` date given as `--from` or `--to`.
pub fn parse_date(option: &str, value: &str) -> Result<NaiveDate, Text> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        text!(
            en: "{option} {value:?} is not a date; write it as yyyy-MM-dd, e.g. 2026-11-01",
            zh: "{option} {value:?} 不是日期；请写成 yyyy-MM-dd，例如 2026-11-01",
        )
    })
}

/// Returns the window of a backfill at `now`, or the reason the days cannot be listed.
///
/// The window runs from Beijing midnight of `from` to Beijing midnight after `to`, cut
/// at `now`. `earliest` is the earliest start DingTalk accepts and `max_lookback_days`
/// the configured lookback, both named in the error.
pub fn backfill_window(
    days: BackfillDays,
    now: DateTime<Utc>,
    earliest: DateTime<Utc>,
    max_lookback_days: u32,
) -> Result<PollWindow, Text> {
    let (from, to) = (days.from, days.to);
    if from > to {
        return Err(text!(
            en: "--from {from} is after --to {to}; give the first day first",
            zh: "--from {from} 晚于 --to {to}；请先写开始日期",
        ));
    }
    let start = beijing_midnight(from);
    if start >= now {
        return Err(text!(
            en: "--from {from} has not begun yet in Beijing time; choose a day up to today",
            zh: "--from {from} 在北京时间尚未到来；请选择今天或更早的日期",
        ));
    }
    if start < earliest {
        let earliest_day = utc_to_beijing(earliest).date();
        return Err(text!(
            en: "--from {from} is further back than DingTalk lists; the earliest allowed date is {earliest_day} (dingtalk.max_lookback_days = {max_lookback_days}; OA 高级版 allows up to 1825 on the v1 API)",
            zh: "--from {from} 超出了钉钉可查询的范围；最早可用日期为 {earliest_day}（dingtalk.max_lookback_days = {max_lookback_days}；OA 高级版在 v1 接口上最多可设为 1825）",
        ));
    }
    let after_last = to
        .checked_add_days(Days::new(1))
        .map(beijing_midnight)
        .unwrap_or(now);
    Ok(PollWindow {
        start,
        end: after_last.min(now),
        clamped: false,
    })
}

fn beijing_midnight(day: NaiveDate) -> DateTime<Utc> {
    beijing_to_utc(day.and_time(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const REACH: Reach = Reach {
        overlap: TimeDelta::minutes(60),
        initial_lookback: TimeDelta::days(30),
    };

    #[test]
    fn first_window_uses_initial_lookback() {
        let now = at("2026-11-10T04:00:00Z");
        let window = incremental_window(now, None, None, REACH, at("2025-11-11T16:00:00Z"));
        assert_eq!(window.start, at("2026-10-11T04:00:00Z"));
        assert_eq!(window.end, now);
        assert!(!window.clamped);
    }

    #[test]
    fn window_overlaps_watermark() {
        let now = at("2026-11-10T04:00:00Z");
        let watermark = at("2026-11-10T03:55:00Z");
        let window = incremental_window(
            now,
            Some(watermark),
            None,
            REACH,
            at("2025-11-11T16:00:00Z"),
        );
        assert_eq!(window.start, at("2026-11-10T02:55:00Z"));
    }

    #[test]
    fn window_reaches_oldest_open() {
        let now = at("2026-11-10T04:00:00Z");
        let watermark = at("2026-11-10T03:55:00Z");
        let open = at("2026-10-01T01:00:00Z");
        let window = incremental_window(
            now,
            Some(watermark),
            Some(open),
            REACH,
            at("2025-11-11T16:00:00Z"),
        );
        assert_eq!(
            window.start, open,
            "a claim still running keeps the window open"
        );
    }

    #[test]
    fn recent_open_does_not_shrink_window() {
        let now = at("2026-11-10T04:00:00Z");
        let watermark = at("2026-11-10T03:55:00Z");
        let open = at("2026-11-10T03:59:00Z");
        let window = incremental_window(
            now,
            Some(watermark),
            Some(open),
            REACH,
            at("2025-11-11T16:00:00Z"),
        );
        assert_eq!(window.start, at("2026-11-10T02:55:00Z"));
    }

    #[test]
    fn window_clamped_to_earliest() {
        let now = at("2026-11-10T04:00:00Z");
        let earliest = at("2025-11-11T16:00:00Z");
        let open = at("2025-06-01T00:00:00Z");
        let window = incremental_window(now, None, Some(open), REACH, earliest);
        assert_eq!(window.start, earliest);
        assert!(window.clamped, "the clamp is reported");
    }

    #[test]
    fn parse_date_rejects_other_forms() {
        assert_eq!(
            parse_date("--from", "2026-11-01"),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        );
        let error = parse_date("--from", "2026/11/01").unwrap_err();
        assert!(error.en.contains("yyyy-MM-dd"), "{}", error.en);
    }

    fn days(from: &str, to: &str) -> BackfillDays {
        BackfillDays {
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        }
    }

    #[test]
    fn backfill_covers_whole_beijing_days() {
        let now = at("2026-11-20T00:00:00Z");
        let window = backfill_window(
            days("2026-11-01", "2026-11-03"),
            now,
            at("2025-11-21T16:00:00Z"),
            365,
        )
        .unwrap();
        assert_eq!(window.start, at("2026-10-31T16:00:00Z"), "Beijing midnight");
        assert_eq!(
            window.end,
            at("2026-11-03T16:00:00Z"),
            "the last day is included"
        );
    }

    #[test]
    fn backfill_ends_now_for_today() {
        let now = at("2026-11-20T05:00:00Z");
        let window = backfill_window(
            days("2026-11-19", "2026-11-20"),
            now,
            at("2025-11-21T16:00:00Z"),
            365,
        )
        .unwrap();
        assert_eq!(window.end, now);
    }

    #[test]
    fn backfill_reversed_days_rejected() {
        let now = at("2026-11-20T05:00:00Z");
        let error = backfill_window(
            days("2026-11-05", "2026-11-01"),
            now,
            at("2025-11-21T16:00:00Z"),
            365,
        )
        .unwrap_err();
        assert!(error.en.contains("--from"), "{}", error.en);
    }

    #[test]
    fn backfill_future_start_rejected() {
        let now = at("2026-11-20T05:00:00Z");
        let result = backfill_window(
            days("2026-11-21", "2026-11-22"),
            now,
            at("2025-11-21T16:00:00Z"),
            365,
        );
        assert!(result.is_err(), "a day that has not begun cannot be listed");
    }

    #[test]
    fn backfill_too_old_names_earliest_and_key() {
        let now = at("2026-11-20T05:00:00Z");
        let error = backfill_window(
            days("2025-01-01", "2025-02-01"),
            now,
            at("2025-11-21T16:00:00Z"),
            365,
        )
        .unwrap_err();
        assert!(
            error.en.contains("2025-11-22"),
            "names the earliest date: {}",
            error.en
        );
        assert!(
            error.en.contains("dingtalk.max_lookback_days"),
            "names the key: {}",
            error.en
        );
        assert!(
            error.zh.contains("2025-11-22"),
            "Chinese names the date: {}",
            error.zh
        );
    }
}
