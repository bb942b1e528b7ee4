//! The five reference approval cases through one consumer, the real broker, the
//! K3Cloud simulator and a SQLite ledger. Two become bills with the right amounts and
//! entry counts. The two unmappable approvals go to the dead-letter queue naming their
//! field, and the refused one is dead-lettered as invalid when published by mistake.

use std::collections::HashMap;
use std::time::Duration;

use dingk3::ledger::Status;
use dingk3_tests::consumer::cases::CASES;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};

const WITHIN: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cases_end_as_expected() {
    let harness = Harness::start(HarnessOptions {
        test: "cases",
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let mut bodies = HashMap::new();
    for name in CASES {
        let envelope = case_envelope(name);
        bodies.insert(name, envelope.to_bytes());
        harness.publish(&envelope).await;
    }

    for name in ["01-admin-two-rows", "02-project-travel"] {
        let expected = case_expectation(name);
        let id = &expected.process_instance_id;
        harness.wait_for_status(id, Status::Saved, WITHIN).await;
        let record = harness.record(id).await.expect("the ledger holds the case");
        let bill_no = record.bill_no.expect("a saved row names its bill");
        let bill = harness
            .k3
            .handle()
            .bill(&bill_no)
            .unwrap_or_else(|| panic!("{name}: K3Cloud holds bill {bill_no}"));
        let amounts: Vec<_> = bill.entries.iter().map(|entry| entry.amount).collect();
        assert_eq!(
            Some(bill.entries.len()),
            expected.entries,
            "{name}: entry rows of the bill"
        );
        assert_eq!(amounts, expected.amounts, "{name}: row amounts of the bill");
        assert_eq!(Some(bill.total), expected.total, "{name}: bill total");
    }

    let dead = harness.wait_for_dead_letters(3, WITHIN).await;
    assert_eq!(dead.len(), 3, "three dead letters: {dead:#?}");
    for (name, kind) in [
        ("03-refused", "invalid_message"),
        ("04-missing-amount", "mapping"),
        ("05-unknown-expense-type", "mapping"),
    ] {
        let expected = case_expectation(name);
        let id = expected.process_instance_id.as_str();
        let letter = dead
            .iter()
            .find(|letter| letter.message_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("{name} is in the dead-letter queue"));
        assert_eq!(letter.kind(), kind, "{name}: dead-letter kind");
        assert!(letter.persistent, "{name}: the dead letter is persistent");
        assert!(
            letter.body == bodies[name],
            "{name}: the dead letter carries the original body"
        );
        if let Some(field) = &expected.field {
            assert!(
                letter.failure.error.contains(field.as_str()),
                "{name}: the reason names {field}: {}",
                letter.failure.error
            );
            assert!(
                letter.detail_text().contains(field.as_str()),
                "{name}: the detail names {field}: {}",
                letter.detail_text()
            );
        }
    }

    let refused = case_expectation("03-refused").process_instance_id;
    let letter = dead
        .iter()
        .find(|letter| letter.message_id.as_deref() == Some(refused.as_str()))
        .expect("the refused case is dead-lettered");
    assert!(
        letter.failure.error.contains("not approved"),
        "the reason says the approval is not approved: {}",
        letter.failure.error
    );
    assert!(
        harness.record(&refused).await.is_none(),
        "a message published by mistake leaves the ledger alone"
    );

    for name in ["04-missing-amount", "05-unknown-expense-type"] {
        let id = case_expectation(name).process_instance_id;
        let record = harness
            .record(&id)
            .await
            .expect("the ledger holds the case");
        assert_eq!(record.status, Status::Rejected, "{name}: ledger status");
        assert_eq!(
            record.last_error_kind.as_deref(),
            Some("mapping"),
            "{name}: ledger error kind"
        );
    }
    assert_eq!(harness.k3.handle().bill_count(), 2, "exactly two bills");
    harness.finish().await;
}
