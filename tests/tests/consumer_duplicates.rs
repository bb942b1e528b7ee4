//! Duplicates never become second bills: a message published several times, and two
//! consumers sharing one queue and one ledger (SQLite, and PostgreSQL when
//! `DATABASE_URL` is set) with every message published twice.

use std::collections::HashMap;
use std::time::Duration;

use dingk3::envelope::Envelope;
use dingk3::ledger::Status;
use dingk3_simulator::dingtalk::Expected;
use dingk3_simulator::k3cloud::FaultSettings;
use dingk3_tests::consumer::{
    Harness, HarnessOptions, LedgerKind, case_envelope, case_expectation, generated_envelopes,
};
use rust_decimal::Decimal;

const WITHIN: Duration = Duration::from_secs(60);

/// Waits until the work queue and every retry queue are empty.
async fn wait_for_empty_queues(harness: &Harness) {
    harness
        .wait_until("the work and retry queues are empty", WITHIN, || async {
            let mut queues = vec![harness.topology.approvals_queue()];
            for tier in harness.topology.retry_tiers() {
                queues.push(harness.topology.retry_queue(tier));
            }
            for queue in queues {
                if harness.client.depth(&queue).await > 0 {
                    return false;
                }
            }
            true
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_message_writes_one_bill() {
    let harness = Harness::start(HarnessOptions {
        test: "duplicate",
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let envelope = case_envelope("01-admin-two-rows");
    let id = case_expectation("01-admin-two-rows").process_instance_id;
    for _ in 0..3 {
        harness.publish(&envelope).await;
    }
    harness.wait_for_status(&id, Status::Saved, WITHIN).await;
    wait_for_empty_queues(&harness).await;

    // Once more after the save: the ledger turns it into a no-op.
    harness.publish(&envelope).await;
    wait_for_empty_queues(&harness).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let stats = harness.k3.handle().stats();
    assert_eq!(harness.k3.handle().bill_count(), 1, "exactly one bill");
    assert_eq!(stats.models_saved, 1, "K3Cloud saved one model");
    assert_eq!(
        stats.models_rejected, 0,
        "no save was rejected as a duplicate"
    );
    assert!(
        harness.dead_letters().await.is_empty(),
        "no dead letters for duplicates"
    );
    harness.finish().await;
}

/// Publishes every envelope twice to two consumers and checks that each approval ends
/// once: one bill per saved one, one dead letter per rejected one.
async fn two_consumers_write_once(kind: LedgerKind) {
    let Some(harness) = Harness::start(HarnessOptions {
        test: "two-consumers",
        consumers: 2,
        ledger: kind,
        batch_size: 5,
        concurrent_batches: 2,
        faults: FaultSettings {
            jitter_ms: 30,
            ..FaultSettings::default()
        },
        ..HarnessOptions::default()
    })
    .await
    else {
        return;
    };

    let mut envelopes: Vec<(Envelope, Expected)> = generated_envelopes(40, 5);
    for name in ["01-admin-two-rows", "02-project-travel"] {
        let expected = case_expectation(name);
        envelopes.push((case_envelope(name), Expected::saved(expected.amounts)));
    }
    let mut saved: HashMap<String, Decimal> = HashMap::new();
    let mut rejected = 0;
    for (envelope, expected) in &envelopes {
        match expected {
            Expected::Saved { total, .. } => {
                saved.insert(format!("DD-{}", envelope.business_id), *total);
            }
            Expected::Rejected { .. } => rejected += 1,
            Expected::Skipped { .. } => unreachable!("only approved claims are published"),
        }
    }
    for round in 0..2 {
        for (envelope, _) in &envelopes {
            harness.publish(envelope).await;
        }
        if round == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let expected_saved = saved.len() as u64;
    harness
        .wait_until("every approval is saved or rejected", WITHIN, || async {
            let counts = harness.ledger().counts_by_status().await.unwrap();
            counts[&Status::Saved] == expected_saved && counts[&Status::Rejected] == rejected
        })
        .await;
    wait_for_empty_queues(&harness).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let bills = harness.k3.handle().bills();
    assert_eq!(bills.len(), saved.len(), "one bill per saved approval");
    for bill in &bills {
        let total = saved
            .get(&bill.number)
            .unwrap_or_else(|| panic!("bill {} belongs to a saved approval", bill.number));
        assert_eq!(bill.total, *total, "total of bill {}", bill.number);
    }
    let stats = harness.k3.handle().stats();
    assert_eq!(
        stats.models_rejected, 0,
        "no save was rejected as a duplicate"
    );
    let dead = harness.dead_letters().await;
    assert_eq!(
        dead.len() as u64,
        rejected,
        "one dead letter per rejected approval"
    );
    assert!(
        dead.iter().all(|letter| letter.kind() == "mapping"),
        "only mapping dead letters: {dead:#?}"
    );
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_consumers_sqlite() {
    two_consumers_write_once(LedgerKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_consumers_postgres() {
    two_consumers_write_once(LedgerKind::Postgres).await;
}
