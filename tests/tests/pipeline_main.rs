//! The main job end to end: the five handed cases and 300 generated claims served by
//! the DingTalk simulator, one producer, two consumers, the local RabbitMQ and the
//! K3Cloud simulator, on a SQLite ledger and on a PostgreSQL one.
//!
//! At the end K3Cloud contains exactly one bill per approved, valid claim, with the row
//! amounts and entry count of the ground truth. Claims the mapping cannot turn into a
//! bill are in the dead-letter queue as `mapping`, naming the field. Refused,
//! withdrawn and running claims were never published. The producer published each
//! approved claim once, and both consumers saved bills.

use std::time::Duration;

use dingk3_tests::consumer::LedgerKind;
use dingk3_tests::pipeline::{Pipeline, PipelineOptions};

/// Generous bound of a run that took about 12 s on a two-core machine.
const SETTLE_WITHIN: Duration = Duration::from_secs(120);

async fn main_job(test: &'static str, ledger: LedgerKind) {
    let Some(pipeline) = Pipeline::start(PipelineOptions {
        test,
        claims: 300,
        seed: 17,
        consumers: 2,
        ledger,
        ..PipelineOptions::default()
    })
    .await
    else {
        return;
    };
    let snapshot = pipeline.wait_settled(SETTLE_WITHIN).await;
    let end = pipeline.assert_end_state(&snapshot).await;

    assert_eq!(end.approvals, 305, "five cases and 300 claims are served");
    assert!(
        end.saved > 100 && end.rejected > 0 && end.skipped > 0 && end.running > 0,
        "the claims cover every outcome: {end:?}"
    );
    assert_eq!(
        end.dead_letters, end.rejected,
        "one dead letter per rejected approval"
    );
    assert_eq!(
        pipeline.producer().published().await,
        Some(end.approved as u64),
        "the producer published each approved claim once"
    );

    let savers = pipeline.ledger_view().events_by_actor("saved").await;
    for consumer in &pipeline.consumers {
        let saved = savers.get(&consumer.id).copied().unwrap_or(0);
        assert!(
            saved > 0,
            "consumer {} saved bills too: saves per consumer {savers:?}",
            consumer.id
        );
    }
    pipeline.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn main_job_sqlite() {
    main_job("main-sqlite", LedgerKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn main_job_postgres() {
    main_job("main-pg", LedgerKind::Postgres).await;
}
