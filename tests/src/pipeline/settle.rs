//! Waiting until a run has settled. Every approval in the DingTalk simulator has
//! reached the ledger status its ground truth calls for, and no message waits in the
//! work or retry queues. The counts must also stay the same over two checks a second
//! apart, so that a late duplicate still has time to show.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use dingk3::ledger::Status;
use tokio::time::Instant;

use super::broker::QueueDepths;
use super::expect::{Expectation, expectations};
use super::ledger_view::LedgerRow;
use super::run::Pipeline;

/// Pause between two checks.
const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Time the counts must stay the same before the run counts as settled.
const STABLE_FOR: Duration = Duration::from_secs(1);

/// Unsettled approvals listed in a timeout message.
const LISTED: usize = 25;

/// What one settle check saw.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Expectations at the time of the check.
    pub expectations: Vec<Expectation>,
    /// Ledger rows by process instance id.
    pub rows: BTreeMap<String, LedgerRow>,
    /// Ready messages per queue.
    pub depths: QueueDepths,
    /// Bills in the K3Cloud simulator.
    pub bills: usize,
    /// Why the run has not settled; empty when it has.
    pub problems: Vec<String>,
}

impl Snapshot {
    /// Returns the ledger's instances per status; every status is present.
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut counts: BTreeMap<Status, usize> =
            Status::ALL.into_iter().map(|status| (status, 0)).collect();
        for row in self.rows.values() {
            *counts.entry(row.status).or_default() += 1;
        }
        counts
    }

    /// Returns what must stay equal between two checks for the run to be settled.
    fn fingerprint(&self) -> (BTreeMap<Status, usize>, usize, u32) {
        (self.counts(), self.bills, self.depths.dead)
    }

    /// Describes the snapshot for a timeout message.
    fn describe(&self) -> String {
        let mut text = String::new();
        let counts: Vec<String> = self
            .counts()
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(status, count)| format!("{status} {count}"))
            .collect();
        let _ = writeln!(text, "ledger: {}", counts.join(", "));
        let _ = writeln!(
            text,
            "queues: approvals {}, retries {:?}, dead {}; K3Cloud bills: {}",
            self.depths.approvals, self.depths.retries, self.depths.dead, self.bills
        );
        let _ = writeln!(text, "{} unsettled:", self.problems.len());
        for problem in self.problems.iter().take(LISTED) {
            let _ = writeln!(text, "  {problem}");
        }
        if self.problems.len() > LISTED {
            let _ = writeln!(text, "  … and {} more", self.problems.len() - LISTED);
        }
        text
    }
}

impl Pipeline {
    /// Takes one settle snapshot.
    pub async fn snapshot(&self) -> Snapshot {
        let expectations = expectations(&self.dingtalk.handle());
        let rows = self.ledger_view().rows().await;
        let depths = self.broker.depths().await;
        let bills = self.k3.handle().bill_count();

        let mut problems: Vec<String> = expectations
            .iter()
            .filter_map(|expectation| {
                expectation.unsettled(rows.get(&expectation.process_instance_id))
            })
            .collect();
        for (id, row) in &rows {
            let known = expectations
                .iter()
                .any(|expectation| &expectation.process_instance_id == id);
            if !known {
                problems.push(format!(
                    "{id}: {} in the ledger but unknown to the DingTalk simulator",
                    row.status
                ));
            }
        }
        if depths.approvals > 0 {
            problems.push(format!(
                "{} messages wait in the work queue",
                depths.approvals
            ));
        }
        for (tier, depth) in &depths.retries {
            if *depth > 0 {
                problems.push(format!("{depth} messages wait in retry tier {tier}"));
            }
        }
        Snapshot {
            expectations,
            rows,
            depths,
            bills,
            problems,
        }
    }

    /// Waits until the run has settled and returns the last snapshot. Panics after
    /// `within` with the approvals that have not, their ledger status and last error,
    /// the queue depths and the children's logs.
    pub async fn wait_settled(&self, within: Duration) -> Snapshot {
        let deadline = Instant::now() + within;
        let mut stable_since: Option<(Instant, Snapshot)> = None;
        loop {
            let snapshot = self.snapshot().await;
            let now = Instant::now();
            if snapshot.problems.is_empty() {
                match &stable_since {
                    Some((since, earlier)) if earlier.fingerprint() == snapshot.fingerprint() => {
                        if now.duration_since(*since) >= STABLE_FOR {
                            return snapshot;
                        }
                    }
                    _ => stable_since = Some((now, snapshot.clone())),
                }
            } else {
                stable_since = None;
            }
            if now >= deadline {
                panic!(
                    "the pipeline did not settle within {within:?}\n{}{}",
                    snapshot.describe(),
                    self.logs()
                );
            }
            tokio::time::sleep(CHECK_INTERVAL).await;
        }
    }
}
