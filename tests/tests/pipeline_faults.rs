//! The main job with K3Cloud misbehaving: 20 % of calls fail with HTTP 500, 10 % of
//! writes are saved but their reply is lost, and every session ends 10 s after its
//! login (session authentication). The end state is the same as without faults: one
//! bill per approved, valid claim, no duplicate, and a dead letter per unmappable one.
//!
//! Each call takes 100–200 ms plus 100 ms per bill saved, so the run outlasts a
//! session and meets its expiry. The test checks that every kind of fault happened.

use std::time::Duration;

use dingk3_simulator::k3cloud::{FaultSettings, LostReplyMode, Stats};
use dingk3_tests::consumer::K3Auth;
use dingk3_tests::pipeline::{Pipeline, PipelineOptions};

/// Generous bound of a run that took about 35 s on a two-core machine.
const SETTLE_WITHIN: Duration = Duration::from_secs(240);

/// Calls of every operation that ended with `outcome` (a [`Stats`] outcome name).
fn faults(stats: &Stats, outcome: &str) -> u64 {
    stats
        .calls
        .values()
        .filter_map(|outcomes| outcomes.get(outcome))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_same_end_state() {
    let pipeline = Pipeline::start(PipelineOptions {
        test: "faults",
        claims: 300,
        seed: 23,
        consumers: 2,
        k3_auth: K3Auth::PasswordSession,
        k3_faults: FaultSettings {
            http_5xx_rate: 0.2,
            lost_reply_rate: 0.1,
            lost_reply_mode: LostReplyMode::Drop,
            expire_sessions_every_ms: 10_000,
            latency_ms: 100,
            jitter_ms: 100,
            batch_model_latency_ms: 100,
            ..FaultSettings::default()
        },
        batch_size: 5,
        concurrent_batches: 1,
        tiers: vec!["1s", "2s", "3s", "5s", "8s"],
        in_process_retries: 3,
        in_process_retry_max_ms: 300,
        ..PipelineOptions::default()
    })
    .await
    .expect("a SQLite pipeline always starts");
    let snapshot = pipeline.wait_settled(SETTLE_WITHIN).await;
    let end = pipeline.assert_end_state(&snapshot).await;

    assert_eq!(
        end.dead_letters, end.rejected,
        "only the unmappable approvals are dead letters; no write was exhausted"
    );
    assert_eq!(
        pipeline.producer().published().await,
        Some(end.approved as u64),
        "the producer published each approved claim once"
    );
    let stats = pipeline.k3.handle().stats();
    for outcome in ["fault_http_5xx", "fault_lost_reply", "session_lost"] {
        assert!(
            faults(&stats, outcome) > 0,
            "the run met {outcome}: {:?}",
            stats.calls
        );
    }
    assert!(
        stats.sessions_opened >= 2,
        "the consumers logged in again after their sessions ended: {} sessions",
        stats.sessions_opened
    );
    pipeline.finish().await;
}
