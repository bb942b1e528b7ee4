//! Shutdown as SIGTERM triggers it: the consumer stops taking deliveries, finishes the
//! batch it is writing, acks it, and stops within the shutdown grace.

use std::time::Duration;

use dingk3::ledger::Status;
use dingk3_simulator::k3cloud::FaultSettings;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};

const WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_finishes_batch_in_flight() {
    let mut harness = Harness::start(HarnessOptions {
        test: "shutdown",
        request_timeout_ms: 5_000,
        shutdown_grace_seconds: 10,
        faults: FaultSettings {
            latency_ms: 1_500,
            ..FaultSettings::default()
        },
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let names = ["01-admin-two-rows", "02-project-travel"];
    for name in names {
        harness.publish(&case_envelope(name)).await;
    }
    let first = case_expectation(names[0]).process_instance_id;
    // The claim comes right before the slow K3Cloud calls: the batch is in flight.
    harness
        .wait_for_status(&first, Status::Saving, WITHIN)
        .await;

    let took = harness.stop_consumers().await;
    assert!(
        took < Duration::from_secs(10),
        "the consumer stopped within the grace, after {took:?}"
    );
    for name in names {
        let id = case_expectation(name).process_instance_id;
        let record = harness
            .record(&id)
            .await
            .expect("the ledger holds the case");
        assert_eq!(
            record.status,
            Status::Saved,
            "{name} was finished before exit"
        );
    }
    assert_eq!(harness.k3.handle().bill_count(), 2, "both bills written");
    assert_eq!(
        harness.work_depth().await,
        0,
        "the finished messages were acked, not returned to the queue"
    );

    // A stopped consumer takes nothing more.
    harness.publish(&case_envelope("02-project-travel")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        harness.work_depth().await,
        1,
        "the new message waits in the queue"
    );
    harness.finish().await;
}
