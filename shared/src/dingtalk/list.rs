//! Listing instance ids of one template over a window of creation times.
//!
//! `topapi/processinstance/listids` and `v1.0/workflow/processes/instanceIds/query` page
//! with an offset-like cursor (`cursor`/`next_cursor`, `nextToken`); a reply without a
//! cursor is the last page. A server that hands back a cursor it already gave would make
//! paging endless, so a repeated cursor stops the listing with
//! [`DingTalkError::RepeatedCursor`]. One paginated query returns at most 10,000 ids, so
//! a slice that reaches that cap is split in half and both halves are listed again.
//! Windows overlap between polls and slices overlap after a split, so ids are
//! de-duplicated.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::client::DingTalkClient;
use super::config::ApiFlavor;
use super::endpoint::Endpoint;
use super::error::DingTalkError;
use super::transport::Request;
use super::window::{Slice, slice_window};

/// Page size of both list APIs ("最多传20").
pub const PAGE_SIZE: u32 = 20;

/// The ids one listing found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceIdListing {
    /// Instance ids in the order first seen, each once.
    pub ids: Vec<String>,
    /// Slices listed to the end (after splits).
    pub slices: usize,
    /// Pages fetched.
    pub pages: usize,
    /// Ids seen again: across pages, across slices, or re-listed after a split.
    pub duplicates: usize,
    /// Slices split because they reached the id cap.
    pub splits: usize,
}

/// Progress of a listing, reported after every page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListProgress {
    /// The slice being listed.
    pub slice: Slice,
    /// Slices finished so far.
    pub slices_done: usize,
    /// Slices still queued after this one.
    pub slices_pending: usize,
    /// Pages fetched so far, in all slices.
    pub pages: usize,
    /// Distinct ids so far.
    pub unique_ids: usize,
    /// Repeated ids so far.
    pub duplicates: usize,
}

/// One page of ids and the cursor of the next page, if any.
struct Page {
    ids: Vec<String>,
    next: Option<String>,
}

enum SliceEnd {
    Complete,
    CapReached,
}

impl DingTalkClient {
    /// Lists the ids of instances of `process_code` created in `[window_start,
    /// window_end)`, calling `progress` after every page.
    ///
    /// The window is cut into slices of at most 120 days and must not start before
    /// [`DingTalkClient::earliest_window_start`]. Instances of every status are listed.
    pub async fn list_instance_ids(
        &self,
        process_code: &str,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
        mut progress: impl FnMut(&ListProgress) + Send,
    ) -> Result<InstanceIdListing, DingTalkError> {
        let max_lookback_days = self.inner.settings.max_lookback_days;
        let slices = slice_window(window_start, window_end, Utc::now(), max_lookback_days)?;
        let mut queue: VecDeque<Slice> = slices.into();
        let mut listing = InstanceIdListing::default();
        let mut seen = HashSet::new();

        while let Some(slice) = queue.pop_front() {
            let pending = queue.len();
            let end = self
                .list_slice(
                    process_code,
                    slice,
                    pending,
                    &mut listing,
                    &mut seen,
                    &mut progress,
                )
                .await?;
            match end {
                SliceEnd::Complete => listing.slices += 1,
                SliceEnd::CapReached => {
                    let Some((first, second)) = slice.split() else {
                        return Err(DingTalkError::TooManyInstances {
                            process_code: process_code.to_string(),
                            slice_start: slice.start,
                            slice_end: slice.end,
                        });
                    };
                    tracing::warn!(
                        process_code,
                        slice_start_ms = slice.start_ms(),
                        slice_end_ms = slice.end_ms(),
                        "dingtalk listing slice reached the id cap, splitting it"
                    );
                    listing.splits += 1;
                    queue.push_front(second);
                    queue.push_front(first);
                }
            }
        }
        tracing::info!(
            process_code,
            ids = listing.ids.len(),
            slices = listing.slices,
            pages = listing.pages,
            duplicates = listing.duplicates,
            "dingtalk listing finished"
        );
        Ok(listing)
    }

    async fn list_slice(
        &self,
        process_code: &str,
        slice: Slice,
        pending: usize,
        listing: &mut InstanceIdListing,
        seen: &mut HashSet<String>,
        progress: &mut (impl FnMut(&ListProgress) + Send),
    ) -> Result<SliceEnd, DingTalkError> {
        let cap = self.inner.settings.list_id_cap;
        let mut cursor = "0".to_string();
        let mut cursors = HashSet::from([cursor.clone()]);
        let mut ids_in_slice = 0;
        loop {
            let page = self.fetch_page(process_code, slice, &cursor).await?;
            listing.pages += 1;
            ids_in_slice += page.ids.len();
            for id in page.ids {
                if seen.insert(id.clone()) {
                    listing.ids.push(id);
                } else {
                    listing.duplicates += 1;
                }
            }
            progress(&ListProgress {
                slice,
                slices_done: listing.slices,
                slices_pending: pending,
                pages: listing.pages,
                unique_ids: listing.ids.len(),
                duplicates: listing.duplicates,
            });
            if ids_in_slice >= cap {
                return Ok(SliceEnd::CapReached);
            }
            let Some(next) = page.next else {
                return Ok(SliceEnd::Complete);
            };
            if !cursors.insert(next.clone()) {
                tracing::error!(
                    process_code,
                    cursor = next,
                    slice_start_ms = slice.start_ms(),
                    slice_end_ms = slice.end_ms(),
                    "dingtalk listing returned a cursor twice, stopping"
                );
                return Err(DingTalkError::RepeatedCursor {
                    process_code: process_code.to_string(),
                    cursor: next,
                    slice_start: slice.start,
                    slice_end: slice.end,
                    partial: Box::new(listing.clone()),
                });
            }
            cursor = next;
        }
    }

    async fn fetch_page(
        &self,
        process_code: &str,
        slice: Slice,
        cursor: &str,
    ) -> Result<Page, DingTalkError> {
        let request = match self.inner.settings.api {
            ApiFlavor::Topapi => Request {
                endpoint: Endpoint::ListIds,
                query: Vec::new(),
                body: Some(json!({
                    "process_code": process_code,
                    "start_time": slice.start_ms(),
                    "end_time": slice.end_ms(),
                    "size": PAGE_SIZE,
                    "cursor": cursor_value(cursor),
                })),
                process_instance_id: None,
            },
            ApiFlavor::V1 => Request {
                endpoint: Endpoint::InstanceIdsQuery,
                query: Vec::new(),
                body: Some(json!({
                    "processCode": process_code,
                    "startTime": slice.start_ms(),
                    "endTime": slice.end_ms(),
                    "nextToken": cursor_value(cursor),
                    "maxResults": PAGE_SIZE,
                })),
                process_instance_id: None,
            },
        };
        let body = self.inner.call(&request).await?;
        parse_page(request.endpoint, &body)
    }
}

/// Sends a cursor as the number both APIs document, or as text if the server gave a
/// cursor that is not a number.
fn cursor_value(cursor: &str) -> Value {
    cursor
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(cursor))
}

fn parse_page(endpoint: Endpoint, body: &Value) -> Result<Page, DingTalkError> {
    let api = endpoint.path();
    let Some(result) = body.get("result").and_then(Value::as_object) else {
        return Err(DingTalkError::InvalidResponse {
            api,
            detail: "the reply has no result object".to_string(),
        });
    };
    let ids = match result.get("list") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .filter(|id| !id.is_empty())
            .collect(),
        Some(_) => {
            return Err(DingTalkError::InvalidResponse {
                api,
                detail: "result.list is not an array".to_string(),
            });
        }
    };
    let next = match endpoint {
        Endpoint::ListIds => result.get("next_cursor"),
        _ => result.get("nextToken"),
    };
    // An absent, null or empty cursor means there are no more pages.
    let next = match next {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.trim().to_string()).filter(|text| !text.is_empty()),
        Some(other) => Some(other.to_string()),
    };
    Ok(Page { ids, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topapi_last_page_without_cursor() {
        let body = json!({"errcode": 0, "result": {"list": ["4f43b3ed-6060-4edc-967a-7e75ed639c32"]}, "request_id": "16dmb748jjjbl"});
        let page = parse_page(Endpoint::ListIds, &body).unwrap();
        assert_eq!(page.ids, vec!["4f43b3ed-6060-4edc-967a-7e75ed639c32"]);
        assert_eq!(page.next, None, "an absent next_cursor ends paging");
    }

    #[test]
    fn topapi_numeric_cursor() {
        let body = json!({"errcode": 0, "result": {"list": ["a", "b"], "next_cursor": 20}});
        let page = parse_page(Endpoint::ListIds, &body).unwrap();
        assert_eq!(page.next.as_deref(), Some("20"));
    }

    #[test]
    fn v1_string_cursor() {
        let body = json!({"result": {"list": ["123"], "nextToken": "10"}, "success": true});
        let page = parse_page(Endpoint::InstanceIdsQuery, &body).unwrap();
        assert_eq!(page.next.as_deref(), Some("10"));
    }

    #[test]
    fn v1_empty_cursor_ends() {
        let body = json!({"result": {"list": [], "nextToken": ""}, "success": true});
        let page = parse_page(Endpoint::InstanceIdsQuery, &body).unwrap();
        assert_eq!(page.next, None, "an empty nextToken ends paging");
        assert!(page.ids.is_empty());
    }

    #[test]
    fn reply_without_result_invalid() {
        let error = match parse_page(Endpoint::ListIds, &json!({"errcode": 0})) {
            Err(error) => error,
            Ok(_) => panic!("a reply without result must be rejected"),
        };
        assert!(matches!(error, DingTalkError::InvalidResponse { .. }));
    }

    #[test]
    fn cursor_sent_as_number() {
        assert_eq!(cursor_value("40"), json!(40));
        assert_eq!(cursor_value("opaque"), json!("opaque"));
    }
}
