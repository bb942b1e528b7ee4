//! Replaying a dead letter whose bill already exists writes no second bill: the
//! consumer finds it in the ledger, or, when the ledger does not know it, in K3Cloud
//! by its bill number.

use chrono::Utc;
use dingk3::broker::Failure;
use dingk3::broker::headers::{PipelineHeaders, message_properties};
use dingk3::ledger::Status;
use dingk3_consumer::dlq::report::Outcome;
use dingk3_consumer::metrics::MESSAGES;
use dingk3_tests::consumer::cases::example_routes;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};
use dingk3_tests::dlq::{ForeignClient, WITHIN, dead_depth, ids, replay_selected};

const CASE: &str = "01-admin-two-rows";

/// Publishes a dead letter of case 01 as the consumer does, kind `exhausted`.
async fn exhausted_dead_letter(harness: &Harness) {
    let envelope = case_envelope(CASE);
    let headers = PipelineHeaders {
        attempt: 5,
        replay_count: 0,
        failure: Some(Failure {
            kind: "exhausted".to_string(),
            error: "the write failed on attempt 5 after every retry tier".to_string(),
            detail: None,
            failed_at: Some(Utc::now()),
        }),
    }
    .to_field_table();
    let properties = message_properties(
        &envelope.process_instance_id,
        "dingk3-consumer",
        Utc::now(),
        headers,
    )
    .unwrap();
    let client = ForeignClient::connect(harness).await;
    client.publish(envelope.to_bytes(), properties).await;
    client.close().await;
}

async fn start(test: &'static str) -> Harness {
    Harness::start(HarnessOptions {
        test,
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saved_bill_replay_is_duplicate() {
    let harness = start("dlq-saved-ledger").await;
    let id = case_expectation(CASE).process_instance_id;
    harness.publish(&case_envelope(CASE)).await;
    harness.wait_for_status(&id, Status::Saved, WITHIN).await;
    let bill_no = harness.record(&id).await.unwrap().bill_no.unwrap();

    exhausted_dead_letter(&harness).await;
    let duplicates = || MESSAGES.with_label_values(&["duplicate"]).get();
    let before = duplicates();
    let report = replay_selected(&harness, ids(&[&id])).await;
    assert_eq!(report.count(Outcome::Replayed), 1, "{report:#?}");
    assert!(
        report.items[0]
            .note
            .en
            .contains(&format!("the ledger records bill {bill_no}")),
        "the report says the bill exists: {}",
        report.items[0].note.en
    );
    harness
        .wait_until(
            "the consumer acks the replay as a duplicate",
            WITHIN,
            || async { duplicates() > before },
        )
        .await;
    assert_eq!(dead_depth(&harness).await, 0, "the dead letter is gone");

    assert_eq!(harness.k3.handle().bill_count(), 1, "still one bill");
    assert_eq!(
        harness.k3.handle().stats().models_saved,
        1,
        "one write in all"
    );
    let record = harness.record(&id).await.unwrap();
    assert_eq!(record.status, Status::Saved);
    assert_eq!(
        record.bill_no.as_deref(),
        Some(bill_no.as_str()),
        "the same bill"
    );
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bill_in_k3cloud_found_by_probe() {
    let harness = start("dlq-saved-k3").await;
    let id = case_expectation(CASE).process_instance_id;
    // K3Cloud saved the bill, but every reply was lost, so the consumer gave up and
    // the ledger row is dead.
    let instance = case_envelope(CASE).approval().unwrap();
    let bill = example_routes()
        .route_for(&case_envelope(CASE).process_code)
        .unwrap()
        .mapping
        .map(&instance)
        .unwrap();
    let outcomes = harness
        .k3_client()
        .batch_save(&bill.form_id, std::slice::from_ref(&bill.model))
        .await
        .expect("the direct save reaches K3Cloud");
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(
        harness.k3.handle().bill_count(),
        1,
        "the bill exists in K3Cloud"
    );
    harness
        .ledger()
        .mark_dead(&id, "exhausted", "every reply was lost")
        .await
        .unwrap();
    exhausted_dead_letter(&harness).await;

    let report = replay_selected(&harness, ids(&[&id])).await;
    assert_eq!(report.count(Outcome::Replayed), 1, "{report:#?}");
    harness.wait_for_status(&id, Status::Saved, WITHIN).await;

    assert_eq!(harness.k3.handle().bill_count(), 1, "no second bill");
    assert_eq!(
        harness.k3.handle().stats().models_saved,
        1,
        "only the direct write"
    );
    let record = harness.record(&id).await.unwrap();
    assert_eq!(
        record.bill_no.as_deref(),
        Some(bill.bill_no.as_str()),
        "the existing bill is recorded"
    );
    assert_eq!(dead_depth(&harness).await, 0, "the dead letter is gone");
    harness.finish().await;
}
