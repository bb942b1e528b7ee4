//! Cutting a listing window into slices the list APIs accept.
//!
//! Both list APIs filter on the instance's creation time in epoch milliseconds and reject
//! a range longer than 120 days or a start further back than 365 days (five years for
//! OA 高级版). A window is half-open, `[start, end)`. Each slice is sent with inclusive
//! ends, `start_time` to `end_time`, and the next slice starts one millisecond after the
//! previous one ends, so no instance falls between two slices or into both. Slices after
//! the first start at a Beijing midnight, which keeps them readable in logs.

use chrono::{DateTime, Days, NaiveTime, TimeDelta, Utc};

use crate::approval::time::{beijing_to_utc, utc_to_beijing};

use super::error::DingTalkError;

/// Maximum range one list request may cover, in days.
pub const MAX_SLICE_DAYS: u64 = 120;

/// Distance kept from the lookback limit, so that a listing that runs a while after
/// the check still sends a start the server accepts.
const LOOKBACK_SAFETY: TimeDelta = TimeDelta::hours(1);

/// Shortest slice that is split further when it reaches the id cap.
const MIN_SPLIT: TimeDelta = TimeDelta::seconds(1);

/// One list request's range of creation times; both ends are inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// First instant covered.
    pub start: DateTime<Utc>,
    /// Last instant covered (one millisecond before the next slice's start).
    pub end: DateTime<Utc>,
}

impl Slice {
    /// Returns `start_time` / `startTime` in epoch milliseconds (13 digits).
    pub fn start_ms(&self) -> i64 {
        self.start.timestamp_millis()
    }

    /// Returns `end_time` / `endTime` in epoch milliseconds (13 digits).
    pub fn end_ms(&self) -> i64 {
        self.end.timestamp_millis()
    }

    /// Splits the slice into two halves, or returns `None` when it is shorter than a
    /// second and splitting cannot reduce the ids per request any further.
    pub(crate) fn split(&self) -> Option<(Slice, Slice)> {
        let length = self.end - self.start;
        if length < MIN_SPLIT {
            return None;
        }
        let middle = truncate_ms(self.start + length / 2);
        Some((
            Slice {
                start: self.start,
                end: middle,
            },
            Slice {
                start: middle + TimeDelta::milliseconds(1),
                end: self.end,
            },
        ))
    }
}

/// Returns the earliest window start the client sends when the lookback is
/// `max_lookback_days`: the first Beijing midnight at least an hour inside the limit.
pub fn earliest_allowed_start(now: DateTime<Utc>, max_lookback_days: u32) -> DateTime<Utc> {
    let limit = now - Days::new(u64::from(max_lookback_days)) + LOOKBACK_SAFETY;
    beijing_midnight_at_or_after(limit)
}

/// Cuts `[start, end)` into slices of at most [`MAX_SLICE_DAYS`].
///
/// Fails when the window is reversed or starts before
/// [`earliest_allowed_start`]; an empty window yields no slice.
pub fn slice_window(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
    max_lookback_days: u32,
) -> Result<Vec<Slice>, DingTalkError> {
    if end < start {
        return Err(DingTalkError::InvalidWindow { start, end });
    }
    let earliest = earliest_allowed_start(now, max_lookback_days);
    if start < earliest {
        return Err(DingTalkError::WindowTooOld {
            start,
            earliest,
            max_lookback_days,
        });
    }
    let (start, end) = (truncate_ms(start), truncate_ms(end));
    let mut slices = Vec::new();
    let mut cursor = start;
    while cursor < end {
        let limit = cursor + Days::new(MAX_SLICE_DAYS);
        let next = if limit >= end {
            end
        } else {
            beijing_midnight_at_or_before(limit)
        };
        slices.push(Slice {
            start: cursor,
            end: next - TimeDelta::milliseconds(1),
        });
        cursor = next;
    }
    Ok(slices)
}

fn truncate_ms(instant: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(instant.timestamp_millis())
        .expect("an instant's own milliseconds are in range")
}

fn beijing_midnight_at_or_before(instant: DateTime<Utc>) -> DateTime<Utc> {
    let date = utc_to_beijing(instant).date();
    beijing_to_utc(date.and_time(NaiveTime::MIN))
}

fn beijing_midnight_at_or_after(instant: DateTime<Utc>) -> DateTime<Utc> {
    let floor = beijing_midnight_at_or_before(instant);
    if floor < instant {
        floor + Days::new(1)
    } else {
        floor
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
