//! The report of one poll, and the summary `producer once` and `producer backfill` print.
//!
//! A poll never stops at the first failed instance: it reports every error with its
//! kind and the instance it concerns, and its outcome shows whether the watermark moved
//! and whether the next poll will try again.

use chrono::{DateTime, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3::dingtalk::DingTalkError;
use dingk3::i18n::{Lang, Text};
use dingk3::text;

use crate::error::{EXIT_CONFIGURATION, EXIT_FAILURE};
use crate::window::PollWindow;

/// Error lines printed per route before the rest are only counted.
const ERRORS_SHOWN: usize = 10;

/// The end state of a poll of one process code, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PollOutcome {
    /// Everything listed was handled and every publish confirmed.
    Complete,
    /// Some instances failed (fetch, publish or listing); the watermark did not move
    /// and the next poll tries them again.
    Incomplete,
    /// The poll could not run (listing or ledger failure).
    Failed,
    /// DingTalk throttled the poll beyond the client's retries.
    Throttled,
    /// Shutdown stopped the poll after the batch in flight.
    Interrupted,
    /// DingTalk's monthly API quota is exhausted.
    QuotaExhausted,
    /// DingTalk rejected the configuration; polling cannot go on.
    Configuration,
}

impl PollOutcome {
    /// Returns the `outcome` label of `dingk3_producer_polls_total`.
    pub fn label(self) -> &'static str {
        match self {
            PollOutcome::Complete => "complete",
            PollOutcome::Incomplete => "incomplete",
            PollOutcome::Failed => "failed",
            PollOutcome::Throttled => "throttled",
            PollOutcome::Interrupted => "interrupted",
            PollOutcome::QuotaExhausted => "quota_exhausted",
            PollOutcome::Configuration => "configuration",
        }
    }

    fn describe(self) -> Text {
        match self {
            PollOutcome::Complete => Text::new("complete", "完成"),
            PollOutcome::Incomplete => Text::new(
                "incomplete, the watermark did not move and the next poll tries again",
                "未完成，水位未推进，下次轮询会重试",
            ),
            PollOutcome::Failed => Text::new("failed", "失败"),
            PollOutcome::Throttled => Text::new("throttled by DingTalk", "被钉钉限流"),
            PollOutcome::Interrupted => Text::new("interrupted by shutdown", "因停止而中断"),
            PollOutcome::QuotaExhausted => Text::new(
                "DingTalk's monthly API quota is exhausted",
                "钉钉月度接口调用额度已用完",
            ),
            PollOutcome::Configuration => Text::new("configuration error", "配置错误"),
        }
    }
}

/// One error of a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    /// Machine-readable kind: a DingTalk error kind, `ledger`, or `publish_<reason>`.
    pub kind: String,
    /// The instance concerned, when the error concerns one.
    pub process_instance_id: Option<String>,
    /// The error for people, in both languages.
    pub message: Text,
}

/// The counts and errors of one poll of one process code.
#[derive(Debug)]
pub struct RouteReport {
    /// The template polled.
    pub process_code: String,
    /// The window listed, once it was computed.
    pub window: Option<PollWindow>,
    /// Distinct ids listed, plus running ones fetched by id outside the window.
    pub listed: usize,
    /// Instances whose details were fetched.
    pub fetched: usize,
    /// Approvals published and confirmed.
    pub published: usize,
    /// Instances recorded as still running.
    pub pending: usize,
    /// Instances recorded as skipped (refused, withdrawn, deleted, …).
    pub skipped: usize,
    /// Running instances not fetched again because their last fetch is recent.
    pub deferred: usize,
    /// Errors in the order they happened.
    pub errors: Vec<RouteError>,
    /// The watermark after the poll, when the poll moved it.
    pub watermark: Option<DateTime<Utc>>,
    /// The end state of the poll.
    pub outcome: PollOutcome,
    /// The DingTalk configuration error that ended the poll, if any.
    pub configuration_error: Option<DingTalkError>,
}

impl RouteReport {
    /// Creates an empty report of a poll that has not started.
    pub fn new(process_code: &str) -> RouteReport {
        RouteReport {
            process_code: process_code.to_string(),
            window: None,
            listed: 0,
            fetched: 0,
            published: 0,
            pending: 0,
            skipped: 0,
            deferred: 0,
            errors: Vec::new(),
            watermark: None,
            outcome: PollOutcome::Complete,
            configuration_error: None,
        }
    }

    /// Records an error and lowers the outcome to at least `outcome`.
    pub fn fail(
        &mut self,
        outcome: PollOutcome,
        kind: impl Into<String>,
        process_instance_id: Option<&str>,
        message: Text,
    ) {
        self.outcome = self.outcome.max(outcome);
        self.errors.push(RouteError {
            kind: kind.into(),
            process_instance_id: process_instance_id.map(str::to_string),
            message,
        });
    }

    /// Lowers the outcome to at least `outcome` without an error line.
    pub fn lower_to(&mut self, outcome: PollOutcome) {
        self.outcome = self.outcome.max(outcome);
    }

    fn render(&self, lang: Lang, out: &mut String) {
        let code = &self.process_code;
        let (listed, fetched, published, pending, skipped, errors) = (
            self.listed,
            self.fetched,
            self.published,
            self.pending,
            self.skipped,
            self.errors.len(),
        );
        let line = text!(
            en: "{code}: listed {listed}, fetched {fetched}, published {published}, pending {pending}, skipped {skipped}, errors {errors}",
            zh: "{code}：列出 {listed}，获取 {fetched}，发布 {published}，审批中 {pending}，跳过 {skipped}，错误 {errors}",
        );
        out.push_str(line.get(lang));
        if self.deferred > 0 {
            let deferred = self.deferred;
            let extra = text!(
                en: ", not yet re-checked {deferred}",
                zh: "，暂缓复查 {deferred}",
            );
            out.push_str(extra.get(lang));
        }
        let outcome = self.outcome.describe();
        let outcome = outcome.get(lang);
        let detail = match self.window {
            Some(window) => {
                let (start, end) = (beijing(window.start), beijing(window.end));
                text!(
                    en: " (window {start} to {end} Beijing time; {outcome})",
                    zh: "（时间窗口 {start} 至 {end} 北京时间；{outcome}）",
                )
            }
            None => text!(en: " ({outcome})", zh: "（{outcome}）"),
        };
        out.push_str(detail.get(lang));
        out.push('\n');

        for error in self.errors.iter().take(ERRORS_SHOWN) {
            let message = error.message.get(lang);
            match &error.process_instance_id {
                Some(id) => out.push_str(&format!("  [{}] {id}: {message}\n", error.kind)),
                None => out.push_str(&format!("  [{}] {message}\n", error.kind)),
            }
        }
        if self.errors.len() > ERRORS_SHOWN {
            let more = self.errors.len() - ERRORS_SHOWN;
            let line = text!(
                en: "  … and {more} more errors (see the log)",
                zh: "  …… 另有 {more} 个错误（见日志）",
            );
            out.push_str(line.get(lang));
            out.push('\n');
        }
    }
}

/// The reports of one `once` or `backfill` run, one per process code.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// Reports in route order.
    pub routes: Vec<RouteReport>,
}

impl RunSummary {
    /// Returns the exit status: 0 when every poll is complete, 2 after a DingTalk
    /// configuration error, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self
            .routes
            .iter()
            .any(|route| route.outcome == PollOutcome::Configuration)
        {
            EXIT_CONFIGURATION
        } else if self
            .routes
            .iter()
            .all(|route| route.outcome == PollOutcome::Complete)
        {
            0
        } else {
            EXIT_FAILURE
        }
    }

    /// Returns the total of a counter over every route.
    pub fn total(&self, counter: impl Fn(&RouteReport) -> usize) -> usize {
        self.routes.iter().map(counter).sum()
    }

    /// Renders the summary for a terminal in `lang`, headed by `command`.
    pub fn render(&self, command: &str, lang: Lang) -> String {
        let mut out = String::new();
        let routes = self.routes.len();
        let heading = text!(
            en: "producer {command} (process codes polled: {routes})",
            zh: "producer {command}（已轮询审批模板：{routes} 个）",
        );
        out.push_str(heading.get(lang));
        out.push('\n');
        for route in &self.routes {
            route.render(lang, &mut out);
        }
        let listed = self.total(|route| route.listed);
        let fetched = self.total(|route| route.fetched);
        let published = self.total(|route| route.published);
        let pending = self.total(|route| route.pending);
        let skipped = self.total(|route| route.skipped);
        let errors = self.total(|route| route.errors.len());
        let total = text!(
            en: "total: listed {listed}, fetched {fetched}, published {published}, pending {pending}, skipped {skipped}, errors {errors}",
            zh: "合计：列出 {listed}，获取 {fetched}，发布 {published}，审批中 {pending}，跳过 {skipped}，错误 {errors}",
        );
        out.push_str(total.get(lang));
        out.push('\n');
        out
    }
}

fn beijing(instant: DateTime<Utc>) -> String {
    utc_to_beijing(instant).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: PollOutcome) -> RouteReport {
        let mut report = RouteReport::new("PROC-A");
        report.listed = 5;
        report.fetched = 5;
        report.published = 4;
        report.skipped = 1;
        report.outcome = outcome;
        report
    }

    #[test]
    fn fail_keeps_worst_outcome() {
        let mut report = RouteReport::new("PROC-A");
        report.fail(
            PollOutcome::QuotaExhausted,
            "quota_exhausted",
            None,
            Text::new("q", "q"),
        );
        report.fail(
            PollOutcome::Incomplete,
            "transient",
            Some("pi-1"),
            Text::new("t", "t"),
        );
        assert_eq!(report.outcome, PollOutcome::QuotaExhausted);
        assert_eq!(report.errors.len(), 2);
    }

    #[test]
    fn exit_code_reflects_outcomes() {
        let complete = RunSummary {
            routes: vec![report(PollOutcome::Complete)],
        };
        assert_eq!(complete.exit_code(), 0);
        let partial = RunSummary {
            routes: vec![
                report(PollOutcome::Complete),
                report(PollOutcome::Incomplete),
            ],
        };
        assert_eq!(partial.exit_code(), EXIT_FAILURE);
        let configuration = RunSummary {
            routes: vec![
                report(PollOutcome::Throttled),
                report(PollOutcome::Configuration),
            ],
        };
        assert_eq!(configuration.exit_code(), EXIT_CONFIGURATION);
    }

    #[test]
    fn render_names_every_counter() {
        let summary = RunSummary {
            routes: vec![report(PollOutcome::Complete)],
        };
        let en = summary.render("once", Lang::En);
        assert!(
            en.contains("PROC-A: listed 5, fetched 5, published 4, pending 0, skipped 1, errors 0"),
            "{en}"
        );
        assert!(en.contains("total: listed 5"), "{en}");
        let zh = summary.render("once", Lang::Zh);
        assert!(zh.contains("发布 4"), "{zh}");
        assert!(zh.contains("合计"), "{zh}");
    }

    #[test]
    fn render_limits_error_lines() {
        let mut route = report(PollOutcome::Incomplete);
        for index in 0..(ERRORS_SHOWN + 3) {
            route.fail(
                PollOutcome::Incomplete,
                "publish_returned",
                Some(&format!("pi-{index}")),
                Text::new("returned", "被退回"),
            );
        }
        let summary = RunSummary {
            routes: vec![route],
        };
        let en = summary.render("once", Lang::En);
        assert_eq!(
            en.matches("[publish_returned]").count(),
            ERRORS_SHOWN,
            "{en}"
        );
        assert!(en.contains("and 3 more errors"), "{en}");
    }
}
