//! Listing instance ids: the documented limits and offset paging.
//!
//! Both generations filter on **creation** time in epoch milliseconds and page with an
//! offset cursor over instances ordered by creation time. Limits: page size 1–20, at
//! most 10 originators, a window of at most 120 days (an absent end means now), a
//! start at most 365 days back (five years for an OA 高级版 organisation on the v1.0
//! query), and 10,000 ids per paginated loop.
//!
//! The documents do not say what happens past 10,000 ids. This simulator ends the
//! loop there: the page that reaches the cap is cut short and carries no next cursor,
//! and a request whose cursor is already at or past the cap gets an empty last page.

use super::catalogue;
use super::errors::Failure;
use super::model::{Instance, Status};

/// Maximum number of ids a paginated loop may return.
pub const MAX_IDS_PER_LOOP: usize = 10_000;
/// Maximum page size.
pub const MAX_PAGE_SIZE: i64 = 20;
/// Maximum number of originator userids in one request.
pub const MAX_USERIDS: usize = 10;
/// Maximum window in milliseconds (120 days).
pub const MAX_WINDOW_MILLIS: i64 = 120 * DAY_MILLIS;
/// Maximum distance of the start before now in milliseconds (365 days).
pub const MAX_LOOKBACK_MILLIS: i64 = 365 * DAY_MILLIS;
/// Maximum distance of the start before now for an OA 高级版 (premium) organisation on
/// the v1.0 query: five years, counted as 5 × 365 days.
///
/// NOTE: the document says "5年" without saying how leap days count; 1825 days is
/// the shortest reading, so a client that stays inside it passes any longer one.
pub const PREMIUM_LOOKBACK_MILLIS: i64 = 5 * 365 * DAY_MILLIS;
const DAY_MILLIS: i64 = 86_400_000;

/// A listing request after decoding, the same for both generations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Template code; required.
    pub process_code: Option<String>,
    /// Window start in epoch milliseconds; required.
    pub start_time: Option<i64>,
    /// Window end in epoch milliseconds; `None` means now.
    pub end_time: Option<i64>,
    /// Page size.
    pub size: i64,
    /// Offset of the first id of the page.
    pub cursor: i64,
    /// Originator filter; empty means everyone.
    pub userids: Vec<String>,
    /// Status filter (v1.0 only); `None` means every status.
    pub statuses: Option<Vec<Status>>,
}

/// One page of ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Instance ids of the page.
    pub ids: Vec<String>,
    /// Cursor of the next page; `None` on the last page.
    pub next_cursor: Option<i64>,
}

/// A checked window in epoch milliseconds, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First millisecond.
    pub start: i64,
    /// Last millisecond.
    pub end: i64,
}

/// Checks the request against the documented limits at `now_millis`.
///
/// The 365-day check comes before the window check, so a seconds timestamp (which
/// reads as a time in January 1970) fails as too old whatever the end time.
pub fn validate(query: &ListQuery, now_millis: i64) -> Result<Window, Failure> {
    validate_with_lookback(query, now_millis, MAX_LOOKBACK_MILLIS)
}

/// Checks the request like [`validate`], with a start at most `max_lookback_millis`
/// before now.
pub fn validate_with_lookback(
    query: &ListQuery,
    now_millis: i64,
    max_lookback_millis: i64,
) -> Result<Window, Failure> {
    if !(1..=MAX_PAGE_SIZE).contains(&query.size) {
        return Err(catalogue::page_size());
    }
    if query.cursor < 0 {
        return Err(catalogue::bad_cursor());
    }
    if query.userids.len() > MAX_USERIDS {
        return Err(catalogue::too_many_users());
    }
    let Some(start) = query.start_time else {
        return Err(catalogue::missing_parameter(
            "start_time",
            "invalidInstanceListIdsStartTime",
            "获取审批实例ID列表，审批实例开始时间不能为空",
        ));
    };
    if start < now_millis - max_lookback_millis {
        return Err(catalogue::start_too_old());
    }
    let end = query.end_time.unwrap_or(now_millis);
    if end < start || end - start > MAX_WINDOW_MILLIS {
        return Err(catalogue::window_too_long());
    }
    Ok(Window { start, end })
}

/// Selects the page of matching instances, ordered by creation time, then id.
pub fn page<'a>(
    instances: impl Iterator<Item = &'a Instance>,
    process_code: &str,
    query: &ListQuery,
    window: Window,
) -> ListPage {
    let mut matching: Vec<(i64, &str)> = instances
        .filter(|instance| instance.process_code == process_code)
        .filter(|instance| {
            let created = instance.create_millis();
            window.start <= created && created <= window.end
        })
        .filter(|instance| {
            query.userids.is_empty() || query.userids.contains(&instance.originator_userid)
        })
        .filter(|instance| {
            query
                .statuses
                .as_ref()
                .is_none_or(|statuses| statuses.contains(&instance.status))
        })
        .map(|instance| {
            (
                instance.create_millis(),
                instance.process_instance_id.as_str(),
            )
        })
        .collect();
    matching.sort_unstable();

    let reachable = matching.len().min(MAX_IDS_PER_LOOP);
    let start = usize::try_from(query.cursor).unwrap_or(usize::MAX);
    if start >= reachable {
        return ListPage {
            ids: Vec::new(),
            next_cursor: None,
        };
    }
    let size = usize::try_from(query.size).unwrap_or(1);
    let end = start.saturating_add(size).min(reachable);
    let ids = matching[start..end]
        .iter()
        .map(|(_, id)| id.to_string())
        .collect();
    let next_cursor = (end < reachable).then_some(end as i64);
    ListPage { ids, next_cursor }
}

#[cfg(test)]
mod tests;
