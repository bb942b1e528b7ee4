//! Bills K3Cloud rejects, replayed from the dead-letter queue through a running
//! consumer: once the missing employee exists in K3Cloud the replay saves the bill,
//! and a bill that keeps failing stops at the replay limit with the reason.

use dingk3::ledger::Status;
use dingk3_consumer::dlq::report::Outcome;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};
use dingk3_tests::dlq::{
    base_data_without_employee, employee, ids, list, replay_selected, replay_with_limit, wait_dead,
};

/// Case 01 is submitted by user-1001, K3Cloud employee EMP001.
const CASE: &str = "01-admin-two-rows";

async fn start(test: &'static str) -> Harness {
    Harness::start(HarnessOptions {
        test,
        base_data: base_data_without_employee("EMP001"),
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn missing_employee_saved_after_fix() {
    let harness = start("dlq-employee").await;
    let id = case_expectation(CASE).process_instance_id;
    harness.publish(&case_envelope(CASE)).await;
    wait_dead(&harness, &id, Status::Rejected, 1).await;

    let letters = list(&harness).await;
    assert_eq!(letters[0].kind, "rejected", "{letters:#?}");
    assert!(
        letters[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("EMP001"),
        "the reason names the employee: {letters:#?}"
    );
    assert_eq!(harness.k3.handle().bill_count(), 0, "no bill yet");

    harness
        .k3
        .handle()
        .add_base_data(&employee("EMP001", "张三"));
    let report = replay_selected(&harness, ids(&[&id])).await;
    assert_eq!(report.count(Outcome::Replayed), 1, "{report:#?}");
    harness
        .wait_for_status(&id, Status::Saved, dingk3_tests::dlq::WITHIN)
        .await;

    assert_eq!(harness.k3.handle().bill_count(), 1, "exactly one bill");
    assert_eq!(
        dingk3_tests::dlq::dead_depth(&harness).await,
        0,
        "nothing left in the dead-letter queue"
    );
    let record = harness.record(&id).await.unwrap();
    assert_eq!(record.replay_count, 1, "one replay");
    let history = harness.ledger().history(&id).await.unwrap();
    assert!(
        history.iter().any(|event| event.actor == "dlq:e2e-test"),
        "the operator is in the audit trail: {history:#?}"
    );
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_bill_stops_at_limit() {
    let harness = start("dlq-limit").await;
    let id = case_expectation(CASE).process_instance_id;
    harness.publish(&case_envelope(CASE)).await;
    wait_dead(&harness, &id, Status::Rejected, 1).await;

    const LIMIT: u32 = 2;
    for round in 1..=LIMIT {
        let report = replay_with_limit(&harness, ids(&[&id]), LIMIT).await;
        assert_eq!(
            report.count(Outcome::Replayed),
            1,
            "replay {round}: {report:#?}"
        );
        wait_dead(&harness, &id, Status::Rejected, 1).await;
    }
    let report = replay_with_limit(&harness, ids(&[&id]), LIMIT).await;
    assert_eq!(report.count(Outcome::Refused), 1, "{report:#?}");
    assert!(
        report.partial(),
        "a refusal makes the run a partial failure"
    );
    let note = &report.items[0].note;
    assert!(
        note.en
            .contains("replayed 2 times, the limit is 2 (consumer.replay_limit)"),
        "the reason is clear: {}",
        note.en
    );
    assert!(
        note.zh.contains("达到上限 2"),
        "and in Chinese: {}",
        note.zh
    );

    assert_eq!(
        dingk3_tests::dlq::dead_depth(&harness).await,
        1,
        "the dead letter stays"
    );
    let letters = list(&harness).await;
    assert_eq!(
        letters[0].replay_count, 2,
        "the dead letter counts two replays"
    );
    let record = harness.record(&id).await.unwrap();
    assert_eq!(record.replay_count, 2, "the ledger counts two replays");
    assert_eq!(record.status, Status::Rejected);
    assert_eq!(harness.k3.handle().bill_count(), 0, "no bill");
    assert_eq!(
        harness.k3.handle().stats().models_rejected,
        3,
        "one write per attempt, none after the refusal"
    );
    harness.finish().await;
}
