use chrono::{NaiveDate, Timelike};

use super::*;

/// Returns the UTC instant of a Beijing wall-clock time.
fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    beijing_to_utc(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap(),
    )
}

fn now() -> DateTime<Utc> {
    beijing(2026, 11, 4, 16, 40)
}

fn assert_contiguous(slices: &[Slice], start: DateTime<Utc>, end: DateTime<Utc>) {
    assert_eq!(
        slices.first().unwrap().start,
        start,
        "the first slice starts the window"
    );
    assert_eq!(
        slices.last().unwrap().end,
        end - TimeDelta::milliseconds(1),
        "the last slice ends one millisecond before the window end"
    );
    for pair in slices.windows(2) {
        assert_eq!(
            pair[1].start,
            pair[0].end + TimeDelta::milliseconds(1),
            "slices must neither overlap nor leave a gap"
        );
    }
    for slice in slices {
        assert!(
            slice.end - slice.start < TimeDelta::days(120),
            "slice {slice:?} is longer than 120 days"
        );
    }
}

#[test]
fn long_window_cut_into_120_day_slices() {
    let (start, end) = (now() - Days::new(400), now());
    let slices = slice_window(start, end, now(), 1825).unwrap();
    assert_eq!(slices.len(), 4, "400 days need four slices");
    assert_contiguous(&slices, start, end);
}

#[test]
fn interior_boundaries_at_beijing_midnight() {
    let (start, end) = (now() - Days::new(400), now());
    let slices = slice_window(start, end, now(), 1825).unwrap();
    for slice in &slices[1..] {
        let local = utc_to_beijing(slice.start);
        assert_eq!(
            (local.hour(), local.minute(), local.second()),
            (0, 0, 0),
            "slice {slice:?} does not start at a Beijing midnight"
        );
        assert_eq!(slice.start.hour(), 16, "Beijing midnight is 16:00 UTC");
    }
}

#[test]
fn exactly_120_days_is_one_slice() {
    let start = beijing(2026, 7, 1, 0, 0);
    let end = start + Days::new(120);
    let slices = slice_window(start, end, now(), 365).unwrap();
    assert_eq!(
        slices.len(),
        1,
        "120 days from midnight to midnight fit one request"
    );
    assert_eq!(
        slices[0].end_ms() - slices[0].start_ms(),
        120 * 86_400_000 - 1
    );
}

#[test]
fn one_ms_over_120_days_is_two_slices() {
    let start = beijing(2026, 7, 1, 0, 0);
    let end = start + Days::new(120) + TimeDelta::milliseconds(1);
    let slices = slice_window(start, end, now(), 365).unwrap();
    assert_eq!(slices.len(), 2);
    assert_eq!(slices[1].start, beijing(2026, 10, 29, 0, 0));
    assert_eq!(
        slices[1].start, slices[1].end,
        "the second slice holds one millisecond"
    );
}

#[test]
fn midday_start_cuts_at_midnight() {
    let start = beijing(2026, 3, 10, 13, 30);
    let end = beijing(2026, 10, 1, 0, 0);
    let slices = slice_window(start, end, now(), 365).unwrap();
    assert_eq!(
        slices[0].end,
        beijing(2026, 7, 8, 0, 0) - TimeDelta::milliseconds(1),
        "the first slice ends before the last Beijing midnight within 120 days"
    );
    assert_contiguous(&slices, start, end);
}

#[test]
fn timestamps_have_13_digits() {
    let slices = slice_window(now() - Days::new(300), now(), now(), 365).unwrap();
    for slice in slices {
        for ms in [slice.start_ms(), slice.end_ms()] {
            assert_eq!(ms.to_string().len(), 13, "{ms} is not in milliseconds");
        }
    }
}

#[test]
fn sub_millisecond_input_truncated() {
    let start = now() - Days::new(2) + TimeDelta::microseconds(1_500);
    let slices = slice_window(start, now(), now(), 365).unwrap();
    assert_eq!(slices[0].start.timestamp_subsec_micros() % 1000, 0);
}

#[test]
fn empty_window_has_no_slice() {
    let slices = slice_window(now(), now(), now(), 365).unwrap();
    assert!(slices.is_empty());
}

#[test]
fn reversed_window_rejected() {
    let error = slice_window(now(), now() - Days::new(1), now(), 365).unwrap_err();
    assert!(
        matches!(error, DingTalkError::InvalidWindow { .. }),
        "{error:?}"
    );
}

#[test]
fn start_beyond_lookback_rejected() {
    let error = slice_window(now() - Days::new(366), now(), now(), 365).unwrap_err();
    match error {
        DingTalkError::WindowTooOld {
            earliest,
            max_lookback_days,
            ..
        } => {
            assert_eq!(max_lookback_days, 365);
            assert_eq!(
                earliest,
                beijing(2025, 11, 5, 0, 0),
                "names the earliest date"
            );
        }
        other => panic!("expected WindowTooOld, got {other:?}"),
    }
}

#[test]
fn start_within_lookback_accepted() {
    assert!(slice_window(now() - Days::new(364), now(), now(), 365).is_ok());
}

#[test]
fn premium_lookback_allows_five_years() {
    let slices = slice_window(now() - Days::new(1800), now(), now(), 1825).unwrap();
    assert_eq!(slices.len(), 16, "1800 days need sixteen slices");
}

#[test]
fn earliest_start_keeps_safety_margin() {
    for hour in [0, 1, 12, 23] {
        let now = beijing(2026, 11, 4, hour, 59);
        let earliest = earliest_allowed_start(now, 365);
        let limit = now - Days::new(365);
        assert!(
            earliest >= limit + TimeDelta::hours(1),
            "at {hour}:59 the earliest start {earliest} is within an hour of the limit"
        );
        assert!(earliest < limit + TimeDelta::hours(25));
        assert_eq!(utc_to_beijing(earliest).time(), NaiveTime::MIN);
    }
}

#[test]
fn split_halves_contiguous() {
    let slice = Slice {
        start: beijing(2026, 1, 1, 0, 0),
        end: beijing(2026, 1, 2, 0, 0) - TimeDelta::milliseconds(1),
    };
    let (first, second) = slice.split().expect("a day can be split");
    assert_eq!(first.start, slice.start);
    assert_eq!(second.end, slice.end);
    assert_eq!(second.start, first.end + TimeDelta::milliseconds(1));
    assert!(first.end - first.start <= TimeDelta::hours(12));
}

#[test]
fn split_stops_below_one_second() {
    let start = beijing(2026, 1, 1, 0, 0);
    let slice = Slice {
        start,
        end: start + TimeDelta::milliseconds(999),
    };
    assert_eq!(slice.split(), None);
}
