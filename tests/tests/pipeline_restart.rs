//! Restarting everything and running again over the same window writes nothing twice.
//!
//! The first run settles with a producer and two consumers as tasks. Then they stop,
//! and a new `producer run` and two new `consumer run` processes start on the same
//! ledger and broker prefix, poll the same approvals three times, and publish none.
//! Last, `producer backfill` lists the whole window again and publishes none either.
//! K3Cloud receives no further write, its bills and the dead letters stay as they were,
//! and the ledger records no second publish.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3_tests::pipeline::process::run_command;
use dingk3_tests::pipeline::{INITIAL_LOOKBACK_DAYS, Pipeline, PipelineOptions, RunMode};

const SETTLE_WITHIN: Duration = Duration::from_secs(120);

/// What must not change between the runs.
#[derive(Debug, PartialEq, Eq)]
struct Written {
    /// K3Cloud calls that write bills.
    writes: u64,
    /// Bill numbers K3Cloud holds.
    bills: Vec<String>,
    /// Ledger instances per status.
    statuses: BTreeMap<String, usize>,
    /// Publishes the ledger recorded, per producer.
    publishes: BTreeMap<String, i64>,
    /// Messages in the dead-letter queue.
    dead_letters: usize,
}

async fn written(pipeline: &Pipeline) -> Written {
    let stats = pipeline.k3.handle().stats();
    let mut bills: Vec<String> = pipeline
        .k3
        .handle()
        .bills()
        .into_iter()
        .map(|bill| bill.number)
        .collect();
    bills.sort();
    let statuses = pipeline
        .snapshot()
        .await
        .counts()
        .into_iter()
        .map(|(status, count)| (status.to_string(), count))
        .collect();
    Written {
        writes: stats.total("BatchSave") + stats.total("Save"),
        bills,
        statuses,
        publishes: pipeline.ledger_view().events_by_actor("published").await,
        dead_letters: pipeline.dead_letters().await.len(),
    }
}

/// Returns the `published` count of the `total:` line of a `producer` summary.
fn total_published(summary: &str) -> Option<u64> {
    let total = summary.lines().find(|line| line.starts_with("total:"))?;
    let after = total.split("published ").nth(1)?;
    after.split(',').next()?.trim().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_writes_nothing_twice() {
    let mut pipeline = Pipeline::start(PipelineOptions {
        test: "restart",
        claims: 120,
        seed: 29,
        consumers: 2,
        ..PipelineOptions::default()
    })
    .await
    .expect("a SQLite pipeline always starts");
    let first = pipeline.wait_settled(SETTLE_WITHIN).await;
    let end = pipeline.assert_end_state(&first).await;
    assert_eq!(
        pipeline.producer().published().await,
        Some(end.approved as u64),
        "the first run published each approved claim once"
    );
    pipeline.stop_all().await;
    let before = written(&pipeline).await;

    pipeline.options.mode = RunMode::Processes;
    for _ in 0..2 {
        pipeline.start_consumer().await;
    }
    pipeline.start_producer().await;
    pipeline
        .producer()
        .wait_more_polls(3, Duration::from_secs(60))
        .await;
    let second = pipeline.wait_settled(SETTLE_WITHIN).await;
    pipeline.assert_end_state(&second).await;
    assert_eq!(
        pipeline.producer().published().await,
        Some(0),
        "the restarted producer publishes nothing{}",
        pipeline.logs()
    );
    pipeline.stop_producer().await;

    let today = utc_to_beijing(Utc::now()).date();
    let from = (today - TimeDelta::days(INITIAL_LOOKBACK_DAYS - 1)).to_string();
    let to = today.to_string();
    let (status, summary) = run_command(
        "producer",
        &["--lang", "en", "backfill", "--from", &from, "--to", &to],
        &pipeline.config_path,
        Duration::from_secs(120),
    )
    .await;
    assert!(status.success(), "producer backfill succeeds:\n{summary}");
    assert_eq!(
        total_published(&summary),
        Some(0),
        "the backfill over the same window publishes nothing:\n{summary}"
    );
    let third = pipeline.wait_settled(SETTLE_WITHIN).await;
    pipeline.assert_end_state(&third).await;

    let after = written(&pipeline).await;
    assert_eq!(
        after, before,
        "the second run and the backfill wrote nothing to K3Cloud, the ledger or the dead-letter queue"
    );
    pipeline.finish().await;
}
