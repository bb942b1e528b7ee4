//! One fault-suite run from start to report: the pipeline as child processes, the
//! fault schedule, the wait until every claim has ended, and the checks.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use dingk3::i18n::Lang;
use dingk3::ledger::Status;
use futures::FutureExt;
use tokio::time::Instant;

use super::chaos::{Chaos, RECONNECTS_METRIC, metric};
use super::checks::{Evidence, check};
use super::plan::{DINGTALK_RATE_LIMIT, SuiteOptions, schedule};
use super::report::{SimulatorCounters, SuiteReport};
use crate::consumer::LedgerKind;
use crate::pipeline::{Pipeline, Snapshot, expectations};

/// Pause between two checks of whether the run has ended.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Checks in a row that must see the same counts before the run counts as ended, so a
/// late duplicate still has time to show.
const STABLE_CHECKS: usize = 3;

/// Runs the fault suite once and returns its report; an empty
/// [`SuiteReport::violations`] means every invariant held. Panics when the pipeline
/// cannot start, a process crashes or does not reconnect, or the run does not end
/// within `options.timeout`.
pub async fn run(options: &SuiteOptions, lang: Lang) -> SuiteReport {
    // A first build of the producer and consumer can take minutes. It runs before the
    // clock starts, so the reported time is the pipeline's own.
    tokio::task::spawn_blocking(crate::pipeline::process::binary_dir)
        .await
        .expect("the binaries are found or built");
    let started = Instant::now();
    let deadline = started + options.timeout;
    let mut pipeline = Pipeline::prepare(options.pipeline_options())
        .await
        .expect("the PostgreSQL ledger needs DATABASE_URL");
    pipeline.set_config(
        "dingtalk",
        "rate_limit_per_second",
        i64::from(DINGTALK_RATE_LIMIT),
    );

    let truth = expectations(&pipeline.dingtalk.handle());
    let approved = truth
        .iter()
        .filter(|expectation| expectation.approved)
        .count();
    for _ in 0..options.consumers {
        pipeline.start_consumer().await;
    }
    pipeline.start_producer().await;

    let events = schedule(options.seed, options.consumers);
    let chaos = Chaos::new(&mut pipeline, options.seed, lang)
        .run(events, truth.len(), approved, deadline)
        .await;
    let snapshot = wait_ended(&pipeline, deadline).await;
    let elapsed = started.elapsed();

    let mut report = SuiteReport {
        claims: options.claims,
        seed: options.seed,
        consumers: options.consumers,
        ledger: match options.ledger {
            LedgerKind::Sqlite => "sqlite".to_string(),
            LedgerKind::Postgres => "postgres".to_string(),
        },
        not_approved: truth.len() - approved,
        ..SuiteReport::default()
    };
    report.reconnects = chaos.retired_reconnects + live_reconnects(&pipeline).await;
    let counters = SimulatorCounters {
        k3: pipeline.k3.handle().stats(),
        dingtalk_calls: pipeline.dingtalk.handle().counters().values().sum(),
        dingtalk_rules_left: pipeline.dingtalk.handle().faults().rules,
        dingtalk_tokens_issued: pipeline.dingtalk.handle().tokens_issued(),
    };
    report.add_faults(&counters, &chaos, elapsed);

    let bills = pipeline.k3.handle().bills();
    let saved_rows = pipeline.ledger_view().saved_bills().await;
    let dead_letters = pipeline.dead_letters().await;
    report.bills = bills.len();
    for letter in &dead_letters {
        *report
            .dead_letters
            .entry(letter.kind().to_string())
            .or_default() += 1;
    }
    let verdict = check(&Evidence {
        snapshot: &snapshot,
        bills: &bills,
        saved_rows: &saved_rows,
        dead_letters: &dead_letters,
    });
    report.add_verdict(&verdict);

    // The pipeline's own end-state checks, as the end-to-end tests run them; a failed
    // assert is one more violation instead of an early exit without a report.
    let end_state = AssertUnwindSafe(pipeline.assert_end_state(&snapshot))
        .catch_unwind()
        .await;
    if let Err(panic) = end_state {
        report
            .violations
            .push(format!("end state: {}", panic_text(&panic)));
    }
    let stopped = AssertUnwindSafe(pipeline.stop_all()).catch_unwind().await;
    if let Err(panic) = stopped {
        report
            .violations
            .push(format!("graceful stop: {}", panic_text(&panic)));
    }
    pipeline.finish().await;
    report
}

/// Waits until no message waits in the work or retry queues, every approved claim
/// has reached `saved`, `rejected` or `dead`, every other one `pending` or `skipped`,
/// and the counts stayed the same for [`STABLE_CHECKS`] checks. A claim in a wrong
/// final status ends the wait too; the checks report it.
async fn wait_ended(pipeline: &Pipeline, deadline: Instant) -> Snapshot {
    let mut previous: Option<(BTreeMap<Status, usize>, usize, u32)> = None;
    let mut stable = 0;
    loop {
        let snapshot = pipeline.snapshot().await;
        let open: Vec<String> = snapshot
            .expectations
            .iter()
            .filter_map(|expectation| {
                let row = snapshot.rows.get(&expectation.process_instance_id);
                let ended = row.is_some_and(|row| {
                    if expectation.approved {
                        matches!(row.status, Status::Saved | Status::Rejected | Status::Dead)
                    } else {
                        matches!(row.status, Status::Pending | Status::Skipped)
                    }
                });
                (!ended).then(|| expectation.unsettled(row).unwrap_or_default())
            })
            .collect();
        let fingerprint = (snapshot.counts(), snapshot.bills, snapshot.depths.dead);
        if open.is_empty() && snapshot.depths.work_done() {
            if previous.as_ref() == Some(&fingerprint) {
                stable += 1;
            } else {
                stable = 1;
            }
            if stable >= STABLE_CHECKS {
                return snapshot;
            }
        } else {
            stable = 0;
        }
        previous = Some(fingerprint);
        assert!(
            Instant::now() < deadline,
            "the run did not end in time: {} claims open, queues {:?}; first ones:\n{}\n{}",
            open.len(),
            snapshot.depths,
            open.iter().take(20).cloned().collect::<Vec<_>>().join("\n"),
            pipeline.logs()
        );
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

/// Sums the reconnect counters of the processes still running.
async fn live_reconnects(pipeline: &Pipeline) -> u64 {
    let mut total = 0;
    if let Some(producer) = &pipeline.producer {
        total += metric(producer.metric(RECONNECTS_METRIC).await);
    }
    for consumer in &pipeline.consumers {
        total += metric(consumer.metric(RECONNECTS_METRIC).await);
    }
    total
}

/// Returns the message of a caught panic.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else {
        "a panic without a message".to_string()
    }
}
