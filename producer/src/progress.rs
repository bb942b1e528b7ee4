//! Progress of a poll as it happens, for the live line `producer backfill` shows on a
//! terminal.
//!
//! A poll reports to a [`Progress`]; the scheduled loop and `once` pass
//! [`NoProgress`]. [`TerminalProgress`] draws one line with `indicatif`: slices listed,
//! instances fetched, approvals published, skipped and pending.

use std::sync::Mutex;
use std::time::Duration;

use dingk3::dingtalk::ListProgress;
use dingk3::i18n::Lang;
use dingk3::text;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::RouteReport;
use crate::window::PollWindow;

/// Receives the steps of a poll. Every method has an empty default.
pub trait Progress: Send + Sync {
    /// Reports that a poll of `process_code` over `window` begins.
    fn route_started(&self, _process_code: &str, _window: &PollWindow) {}

    /// Reports that the listing fetched another page.
    fn listing(&self, _process_code: &str, _progress: &ListProgress) {}

    /// Reports that the listing is done and `count` instances will be fetched.
    fn fetch_planned(&self, _process_code: &str, _count: usize) {}

    /// Reports that one instance was fetched.
    fn fetched(&self, _process_code: &str) {}

    /// Reports that `count` approvals were published and confirmed.
    fn published(&self, _process_code: &str, _count: usize) {}

    /// Reports that one instance was recorded as skipped.
    fn skipped(&self, _process_code: &str) {}

    /// Reports that one instance was recorded as still running.
    fn pending(&self, _process_code: &str) {}

    /// Reports that the poll of `report.process_code` ended.
    fn route_finished(&self, _report: &RouteReport) {}
}

/// Ignores progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Counters of the route being polled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Slices listed to the end.
    pub slices_done: usize,
    /// Slices known so far, including the one being listed.
    pub slices_total: usize,
    /// Instances fetched.
    pub fetched: usize,
    /// Instances to fetch, once the listing is done.
    pub to_fetch: Option<usize>,
    /// Approvals published.
    pub published: usize,
    /// Instances skipped.
    pub skipped: usize,
    /// Instances still running.
    pub pending: usize,
}

impl Counts {
    /// Renders the counters as the progress line.
    pub fn message(&self, lang: Lang) -> String {
        let (done, total) = (self.slices_done, self.slices_total);
        let fetched = match self.to_fetch {
            Some(to_fetch) => format!("{}/{to_fetch}", self.fetched),
            None => self.fetched.to_string(),
        };
        let (published, skipped, pending) = (self.published, self.skipped, self.pending);
        text!(
            en: "slices {done}/{total} · fetched {fetched} · published {published} · skipped {skipped} · pending {pending}",
            zh: "时间片 {done}/{total} · 已获取 {fetched} · 已发布 {published} · 已跳过 {skipped} · 审批中 {pending}",
        )
        .get(lang)
        .to_string()
    }
}

/// A live progress line on standard error.
#[derive(Debug)]
pub struct TerminalProgress {
    bar: ProgressBar,
    counts: Mutex<Counts>,
    lang: Lang,
}

impl TerminalProgress {
    /// Creates the line; when `visible` is false nothing is drawn (standard error is
    /// not a terminal) and only the final summary is printed.
    pub fn new(lang: Lang, visible: bool) -> TerminalProgress {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        let style = ProgressStyle::with_template("{spinner} {prefix} {msg}")
            .expect("the progress template is valid");
        bar.set_style(style);
        if visible {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        TerminalProgress {
            bar,
            counts: Mutex::new(Counts::default()),
            lang,
        }
    }

    /// Returns the counters of the route being polled, for tests.
    pub fn counts(&self) -> Counts {
        self.lock().clone()
    }

    /// Removes the line, so the summary prints on a clean terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn update(&self, change: impl FnOnce(&mut Counts)) {
        let message = {
            let mut counts = self.lock();
            change(&mut counts);
            counts.message(self.lang)
        };
        self.bar.set_message(message);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Counters left by a panicking thread are still plain numbers.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Progress for TerminalProgress {
    fn route_started(&self, process_code: &str, _window: &PollWindow) {
        self.bar.set_prefix(process_code.to_string());
        self.update(|counts| *counts = Counts::default());
    }

    fn listing(&self, _process_code: &str, progress: &ListProgress) {
        self.update(|counts| {
            counts.slices_done = progress.slices_done;
            counts.slices_total = progress.slices_done + progress.slices_pending + 1;
        });
    }

    fn fetch_planned(&self, _process_code: &str, count: usize) {
        self.update(|counts| {
            counts.slices_done = counts.slices_total;
            counts.to_fetch = Some(count);
        });
    }

    fn fetched(&self, _process_code: &str) {
        self.update(|counts| counts.fetched += 1);
    }

    fn published(&self, _process_code: &str, count: usize) {
        self.update(|counts| counts.published += count);
    }

    fn skipped(&self, _process_code: &str) {
        self.update(|counts| counts.skipped += 1);
    }

    fn pending(&self, _process_code: &str) {
        self.update(|counts| counts.pending += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shows_every_counter() {
        let counts = Counts {
            slices_done: 2,
            slices_total: 3,
            fetched: 40,
            to_fetch: Some(60),
            published: 30,
            skipped: 6,
            pending: 4,
        };
        assert_eq!(
            counts.message(Lang::En),
            "slices 2/3 · fetched 40/60 · published 30 · skipped 6 · pending 4"
        );
        assert!(counts.message(Lang::Zh).contains("已发布 30"));
    }

    #[test]
    fn hidden_progress_still_counts() {
        let progress = TerminalProgress::new(Lang::En, false);
        let window = PollWindow {
            start: chrono::Utc::now(),
            end: chrono::Utc::now(),
            clamped: false,
        };
        progress.route_started("PROC-A", &window);
        progress.fetch_planned("PROC-A", 3);
        progress.fetched("PROC-A");
        progress.published("PROC-A", 1);
        progress.skipped("PROC-A");
        let counts = progress.counts();
        assert_eq!(counts.fetched, 1);
        assert_eq!(counts.to_fetch, Some(3));
        assert_eq!(counts.published, 1);
        assert_eq!(counts.skipped, 1);
    }
}
