//! One poll of one process code: window, listing, details, ledger, publishing,
//! watermark.
//!
//! The order of writes is what makes the poll safe to repeat and to interrupt:
//!
//! 1. An approved instance is recorded `pending` in the ledger before it is published.
//! 2. It is marked `published` only after the broker confirmed it and did not return
//!    it. A crash in between leaves it `pending`, the next poll publishes it again,
//!    and consumers recognise the duplicate by process instance id.
//! 3. The watermark moves to the window's end only when the listing was complete,
//!    every instance was fetched and recorded, and every publish was confirmed.
//!    Otherwise the next poll lists the same window again.

mod failure;
mod fetch;
mod publish;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use dingk3::approval::ApprovalInstance;
use dingk3::dingtalk::{DingTalkClient, DingTalkError};
use dingk3::ledger::Ledger;
use dingk3::mapping::Routes;
use rust_decimal::Decimal;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::ProducerSettings;
use crate::metrics;
use crate::outbox::Outbox;
use crate::progress::Progress;
use crate::recheck::RecheckClock;
use crate::report::{PollOutcome, RouteReport};
use crate::window::{PollWindow, Reach, incremental_window};

use failure::{dingtalk_failure, ledger_failure};

/// The range of creation times a poll lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPlan {
    /// The scheduled window: from the oldest running instance or the watermark minus
    /// the overlap, to now. Running instances the listing did not return are fetched
    /// by id, and a complete poll moves the watermark.
    Incremental,
    /// A fixed window (`producer backfill`). A complete poll moves the watermark to the
    /// window's end only when the window starts at or before the current watermark,
    /// which keeps the covered range contiguous. The watermark never moves backwards.
    Backfill(PollWindow),
}

/// An approved instance waiting for its batch to be published.
struct Approved {
    instance: ApprovalInstance,
    fetched_at: DateTime<Utc>,
}

/// Polls process codes of one DingTalk app into one ledger.
#[derive(Debug)]
pub struct Poller {
    dingtalk: DingTalkClient,
    ledger: Ledger,
    settings: ProducerSettings,
    routes: Routes,
    recheck: RecheckClock,
}

impl Poller {
    /// Creates a poller; `routes` provide each claim's total for the ledger.
    pub fn new(
        dingtalk: DingTalkClient,
        ledger: Ledger,
        settings: ProducerSettings,
        routes: Routes,
    ) -> Poller {
        let recheck = RecheckClock::new(settings.pending_recheck);
        Poller {
            dingtalk,
            ledger,
            settings,
            routes,
            recheck,
        }
    }

    /// Polls `process_code` once and publishes its approvals through `outbox`.
    ///
    /// When `stop` is cancelled, the poll stops fetching, publishes the batch in
    /// flight, and ends as [`PollOutcome::Interrupted`] without moving the watermark.
    pub async fn poll(
        &self,
        outbox: &mut Outbox<'_>,
        process_code: &str,
        plan: WindowPlan,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> RouteReport {
        let started = Instant::now();
        let mut report = RouteReport::new(process_code);
        if stop.is_cancelled() {
            report.lower_to(PollOutcome::Interrupted);
        } else {
            self.poll_into(&mut report, outbox, plan, progress, stop)
                .await;
        }

        let seconds = started.elapsed().as_secs_f64();
        metrics::POLLS
            .with_label_values(&[process_code, report.outcome.label()])
            .inc();
        metrics::POLL_SECONDS
            .with_label_values(&[process_code])
            .observe(seconds);
        self.update_lag(process_code).await;
        info!(
            process_code,
            listed = report.listed,
            fetched = report.fetched,
            published = report.published,
            pending = report.pending,
            skipped = report.skipped,
            deferred = report.deferred,
            errors = report.errors.len(),
            outcome = report.outcome.label(),
            watermark = report.watermark.map(|time| time.to_rfc3339()),
            seconds,
            "poll finished"
        );
        progress.route_finished(&report);
        report
    }

    async fn poll_into(
        &self,
        report: &mut RouteReport,
        outbox: &mut Outbox<'_>,
        plan: WindowPlan,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) {
        let process_code = report.process_code.clone();
        let code = process_code.as_str();

        let open = match self.ledger.open_instances(code).await {
            Ok(open) => open,
            Err(error) => return ledger_failure(report, None, PollOutcome::Failed, &error),
        };
        let Some(window) = self.window(report, plan, &open).await else {
            return;
        };
        report.window = Some(window);
        if window.clamped {
            warn!(
                process_code = code,
                window_start = %window.start,
                "poll window clamped to the earliest start DingTalk lists; older running approvals are fetched by id"
            );
        }
        progress.route_started(code, &window);

        let listing = self
            .dingtalk
            .list_instance_ids(code, window.start, window.end, |step| {
                progress.listing(code, step);
            });
        // Nothing is in flight while listing, so shutdown need not wait for it.
        let listing = tokio::select! {
            listing = listing => listing,
            () = stop.cancelled() => return report.lower_to(PollOutcome::Interrupted),
        };
        let (mut ids, listing_complete) = match listing {
            Ok(listing) => (listing.ids, true),
            Err(error) => {
                let DingTalkError::RepeatedCursor { partial, .. } = &error else {
                    return dingtalk_failure(report, None, error);
                };
                // The ids listed before the stop are still handled; the watermark
                // stays, so the next poll lists the window again.
                let ids = partial.ids.clone();
                dingtalk_failure(report, None, error);
                (ids, false)
            }
        };
        report.listed = ids.len();

        if plan == WindowPlan::Incremental {
            // Running approvals the listing did not return: older than the window
            // DingTalk accepts, or deleted. Fetching them by id settles both.
            let listed: HashSet<&str> = ids.iter().map(String::as_str).collect();
            let unlisted: Vec<String> = open
                .iter()
                .map(|(id, _)| id)
                .filter(|id| !listed.contains(id.as_str()))
                .cloned()
                .collect();
            if !unlisted.is_empty() {
                debug!(
                    process_code = code,
                    count = unlisted.len(),
                    "fetching running approvals the listing did not return"
                );
                ids.extend(unlisted);
            }
        }

        let candidates = match self.ledger.needs_fetch(&ids).await {
            Ok(candidates) => candidates,
            Err(error) => return ledger_failure(report, None, PollOutcome::Failed, &error),
        };
        let now = Instant::now();
        let (due, deferred): (Vec<String>, Vec<String>) = candidates
            .into_iter()
            .partition(|id| self.recheck.is_due(id, now));
        report.deferred = deferred.len();
        progress.fetch_planned(code, due.len());

        let interrupted = self
            .fetch_and_publish(report, outbox, window, due, progress, stop)
            .await;
        if interrupted {
            report.lower_to(PollOutcome::Interrupted);
        }

        if listing_complete && report.outcome == PollOutcome::Complete {
            self.advance_watermark(report, plan, window).await;
        }
    }

    /// Computes the window, or records why it could not be computed.
    async fn window(
        &self,
        report: &mut RouteReport,
        plan: WindowPlan,
        open: &[(String, DateTime<Utc>)],
    ) -> Option<PollWindow> {
        match plan {
            WindowPlan::Backfill(window) => Some(window),
            WindowPlan::Incremental => {
                let watermark = match self.ledger.watermark(&report.process_code).await {
                    Ok(watermark) => watermark,
                    Err(error) => {
                        ledger_failure(report, None, PollOutcome::Failed, &error);
                        return None;
                    }
                };
                let now = Utc::now();
                let reach = Reach {
                    overlap: self.settings.overlap,
                    initial_lookback: self.settings.initial_lookback,
                };
                let oldest_open = open.first().map(|(_, created)| *created);
                let earliest = self.dingtalk.earliest_window_start(now);
                Some(incremental_window(
                    now,
                    watermark,
                    oldest_open,
                    reach,
                    earliest,
                ))
            }
        }
    }

    /// Moves the watermark after a complete poll, as [`WindowPlan`] describes.
    async fn advance_watermark(
        &self,
        report: &mut RouteReport,
        plan: WindowPlan,
        window: PollWindow,
    ) {
        let code = report.process_code.clone();
        if let WindowPlan::Backfill(_) = plan {
            match self.ledger.watermark(&code).await {
                Ok(Some(watermark)) if watermark >= window.start => {}
                Ok(_) => {
                    debug!(process_code = %code, "backfill window is not contiguous with the watermark; watermark unchanged");
                    return;
                }
                Err(error) => {
                    return ledger_failure(report, None, PollOutcome::Incomplete, &error);
                }
            }
        }
        match self.ledger.set_watermark(&code, window.end).await {
            Ok(watermark) => report.watermark = Some(watermark),
            Err(error) => ledger_failure(report, None, PollOutcome::Incomplete, &error),
        }
    }

    /// Returns the claim's total as its route's mapping computes it, for the ledger.
    fn total(&self, process_code: &str, instance: &ApprovalInstance) -> Option<Decimal> {
        let route = self.routes.route_for(process_code)?;
        route.mapping.map(instance).ok().map(|bill| bill.total)
    }

    /// Sets the lag gauge from the stored watermark.
    async fn update_lag(&self, process_code: &str) {
        match self.ledger.watermark(process_code).await {
            Ok(Some(watermark)) => {
                let lag = (Utc::now() - watermark).num_seconds().max(0);
                metrics::LAG.with_label_values(&[process_code]).set(lag);
            }
            Ok(None) => {}
            Err(error) => {
                debug!(process_code, %error, "lag not updated: the watermark could not be read");
            }
        }
    }
}
