//! The broker closes the consumer's connection while a batch is being written: the
//! ack of that batch cannot be sent, the broker delivers the message again, and the
//! ledger turns the redelivery into a duplicate. The consumer goes on consuming on the
//! recovered connection, and no bill is written twice.

use std::time::Duration;

use dingk3::ledger::Status;
use dingk3_simulator::k3cloud::FaultSettings;
use dingk3_tests::consumer::broker::force_close_connection;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};

const WITHIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connection_loss_mid_batch_writes_once() {
    let harness = Harness::start(HarnessOptions {
        test: "reconnect",
        request_timeout_ms: 5_000,
        faults: FaultSettings {
            latency_ms: 1_000,
            ..FaultSettings::default()
        },
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let first = case_expectation("01-admin-two-rows").process_instance_id;
    harness.publish(&case_envelope("01-admin-two-rows")).await;
    harness
        .wait_for_status(&first, Status::Saving, WITHIN)
        .await;

    force_close_connection(&harness.consumers[0].connection_name).await;
    harness.wait_for_status(&first, Status::Saved, WITHIN).await;

    let second = case_expectation("02-project-travel").process_instance_id;
    harness.publish(&case_envelope("02-project-travel")).await;
    harness
        .wait_for_status(&second, Status::Saved, WITHIN)
        .await;
    harness
        .wait_until("the work queue is empty", WITHIN, || async {
            harness.work_depth().await == 0
        })
        .await;

    let stats = harness.k3.handle().stats();
    assert_eq!(harness.k3.handle().bill_count(), 2, "one bill per approval");
    assert_eq!(stats.models_rejected, 0, "no bill was sent twice");
    assert!(harness.dead_letters().await.is_empty(), "no dead letters");
    harness.finish().await;
}
