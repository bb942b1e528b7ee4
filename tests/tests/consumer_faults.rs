//! K3Cloud misbehaving under the consumer: rejected bills, 5xx replies and hangs, lost
//! replies, expiring sessions, retries that run out, and a wrong app secret. Every
//! approval ends as exactly one bill or one explained dead letter.

use std::collections::HashMap;
use std::time::Duration;

use dingk3::envelope::Envelope;
use dingk3::ledger::Status;
use dingk3_simulator::dingtalk::Expected;
use dingk3_simulator::k3cloud::{BaseData, FaultSettings, LostReplyMode, Outcome};
use dingk3_tests::consumer::{
    Harness, HarnessOptions, K3Auth, case_envelope, case_expectation, generated_envelopes,
};
use rust_decimal::Decimal;

const WITHIN: Duration = Duration::from_secs(90);

/// Returns cases 01 and 02 and approved generated claims that map to bills, with the
/// bill number and total each must become.
fn saved_envelopes(generate: usize, seed: u64) -> Vec<(Envelope, String, Decimal)> {
    let mut envelopes = Vec::new();
    for name in ["01-admin-two-rows", "02-project-travel"] {
        let envelope = case_envelope(name);
        let total = case_expectation(name)
            .total
            .expect("a saved case has a total");
        let bill_no = format!("DD-{}", envelope.business_id);
        envelopes.push((envelope, bill_no, total));
    }
    for (envelope, expected) in generated_envelopes(generate, seed) {
        if let Expected::Saved { total, .. } = expected {
            let bill_no = format!("DD-{}", envelope.business_id);
            envelopes.push((envelope, bill_no, total));
        }
    }
    envelopes
}

/// Publishes every envelope, waits until all are saved, and checks one bill each with
/// the right total.
async fn publish_and_expect_bills(harness: &Harness, envelopes: &[(Envelope, String, Decimal)]) {
    for (envelope, _, _) in envelopes {
        harness.publish(envelope).await;
    }
    expect_bills(harness, envelopes).await;
}

/// Waits until every envelope is saved and checks one bill each with the right total.
async fn expect_bills(harness: &Harness, envelopes: &[(Envelope, String, Decimal)]) {
    let expected = envelopes.len() as u64;
    harness
        .wait_until("every approval is saved", WITHIN, || async {
            harness.ledger().counts_by_status().await.unwrap()[&Status::Saved] == expected
        })
        .await;
    let totals: HashMap<&str, Decimal> = envelopes
        .iter()
        .map(|(_, bill_no, total)| (bill_no.as_str(), *total))
        .collect();
    let bills = harness.k3.handle().bills();
    assert_eq!(bills.len(), envelopes.len(), "one bill per approval");
    for bill in &bills {
        assert_eq!(
            totals.get(bill.number.as_str()),
            Some(&bill.total),
            "bill {} has the total of its approval",
            bill.number
        );
    }
    let dead = harness.dead_letters().await;
    assert!(dead.is_empty(), "no dead letters: {dead:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn k3_rejection_is_dead_lettered() {
    let mut base_data = BaseData::reference().to_json();
    base_data["BD_Empinfo"]
        .as_array_mut()
        .expect("the reference data lists employees")
        .retain(|record| record["number"] != "EMP001");
    let harness = Harness::start(HarnessOptions {
        test: "k3-rejects",
        base_data: BaseData::from_json(&base_data).expect("edited base data parses"),
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    harness.publish(&case_envelope("01-admin-two-rows")).await;
    harness.publish(&case_envelope("02-project-travel")).await;

    let rejected = case_expectation("01-admin-two-rows").process_instance_id;
    let saved = case_expectation("02-project-travel").process_instance_id;
    harness.wait_for_status(&saved, Status::Saved, WITHIN).await;
    harness
        .wait_for_status(&rejected, Status::Rejected, WITHIN)
        .await;

    let dead = harness.wait_for_dead_letters(1, WITHIN).await;
    assert_eq!(dead.len(), 1, "one dead letter: {dead:#?}");
    assert_eq!(dead[0].kind(), "rejected");
    assert_eq!(dead[0].message_id.as_deref(), Some(rejected.as_str()));
    assert!(
        dead[0].detail_text().contains("FCONTACTUNIT"),
        "the detail names the K3Cloud field: {}",
        dead[0].detail_text()
    );
    assert!(
        dead[0].failure.error.contains("EMP001"),
        "the reason names the missing employee: {}",
        dead[0].failure.error
    );
    let record = harness.record(&rejected).await.unwrap();
    assert_eq!(record.last_error_kind.as_deref(), Some("rejected"));
    assert_eq!(harness.k3.handle().bill_count(), 1, "only the valid bill");
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transient_faults_save_once() {
    let harness = Harness::start(HarnessOptions {
        test: "k3-5xx-hangs",
        tiers: vec!["1s", "2s", "3s"],
        in_process_retries: 3,
        request_timeout_ms: 800,
        batch_size: 4,
        faults: FaultSettings {
            http_5xx_rate: 0.2,
            hang_rate: 0.1,
            hang_ms: 1_500,
            network_conflict_rate: 0.1,
            ..FaultSettings::default()
        },
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    publish_and_expect_bills(&harness, &saved_envelopes(30, 21)).await;
    let stats = harness.k3.handle().stats();
    let faults: u64 = stats
        .calls
        .values()
        .flat_map(|outcomes| outcomes.iter())
        .filter(|(outcome, _)| outcome.starts_with("fault_"))
        .map(|(_, count)| count)
        .sum();
    assert!(faults > 0, "faults were injected: {stats:?}");
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_replies_resolved_by_probe() {
    let harness = Harness::start(HarnessOptions {
        test: "k3-lost-replies",
        tiers: vec!["1s", "2s", "3s"],
        in_process_retries: 3,
        batch_size: 3,
        faults: FaultSettings {
            lost_reply_rate: 0.4,
            lost_reply_mode: LostReplyMode::Drop,
            ..FaultSettings::default()
        },
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let envelopes = saved_envelopes(20, 22);
    publish_and_expect_bills(&harness, &envelopes).await;
    let stats = harness.k3.handle().stats();
    assert!(
        stats.count("BatchSave", Outcome::FaultLostReply) > 0,
        "replies were lost: {stats:?}"
    );
    assert_eq!(
        stats.models_saved,
        envelopes.len() as u64,
        "every model was saved once"
    );
    assert_eq!(stats.models_rejected, 0, "no model was sent twice");
    harness.finish().await;
}

/// Saves take longer than a session lives, so every save meets an expired session
/// until the expiry is switched off; the bills are then written once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_expiry_probes_before_resend() {
    let harness = Harness::start(HarnessOptions {
        test: "k3-sessions",
        auth: K3Auth::PasswordSession,
        tiers: vec!["1s", "2s", "3s"],
        in_process_retries: 3,
        batch_size: 2,
        faults: FaultSettings {
            batch_model_latency_ms: 150,
            expire_sessions_every_ms: 200,
            ..FaultSettings::default()
        },
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let envelopes = saved_envelopes(10, 23);
    for (envelope, _, _) in &envelopes {
        harness.publish(envelope).await;
    }
    harness
        .wait_until("a save met an expired session", WITHIN, || async {
            harness
                .k3
                .handle()
                .stats()
                .count("BatchSave", Outcome::SessionLost)
                > 0
        })
        .await;
    harness
        .k3
        .handle()
        .set_faults(FaultSettings::default())
        .expect("default faults are valid");

    expect_bills(&harness, &envelopes).await;
    let stats = harness.k3.handle().stats();
    assert!(
        stats.sessions_opened > 1,
        "the consumer logged in again: {stats:?}"
    );
    assert_eq!(stats.models_rejected, 0, "no model was sent twice");
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_end_exhausted() {
    let harness = Harness::start(HarnessOptions {
        test: "exhausted",
        tiers: vec!["1s", "2s"],
        in_process_retries: 1,
        faults: FaultSettings {
            http_5xx_rate: 1.0,
            ..FaultSettings::default()
        },
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    harness.publish(&case_envelope("01-admin-two-rows")).await;
    let id = case_expectation("01-admin-two-rows").process_instance_id;

    let dead = harness.wait_for_dead_letters(1, WITHIN).await;
    assert_eq!(dead[0].kind(), "exhausted", "{dead:#?}");
    assert_eq!(
        dead[0].attempt, 3,
        "two retry tiers, then the third attempt fails"
    );
    assert!(
        dead[0].failure.error.contains("transient"),
        "the reason names the last error: {}",
        dead[0].failure.error
    );
    harness.wait_for_status(&id, Status::Dead, WITHIN).await;
    let record = harness.record(&id).await.unwrap();
    assert_eq!(record.last_error_kind.as_deref(), Some("exhausted"));
    assert_eq!(record.attempts, 3, "three claims were made");
    assert_eq!(harness.k3.handle().bill_count(), 0, "no bill");
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_secret_is_not_ready_and_exhausts() {
    let harness = Harness::start(HarnessOptions {
        test: "k3-config",
        tiers: vec!["1s"],
        in_process_retries: 0,
        app_secret: "not-the-secret".to_string(),
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    harness.publish(&case_envelope("01-admin-two-rows")).await;

    let dead = harness.wait_for_dead_letters(1, WITHIN).await;
    assert_eq!(dead[0].kind(), "exhausted", "{dead:#?}");
    assert!(
        dead[0].failure.error.contains("configuration"),
        "the reason names the configuration failure: {}",
        dead[0].failure.error
    );
    let (ready, failing) = harness.consumers[0].readiness.check();
    assert!(!ready, "the consumer is not ready");
    assert!(
        failing.iter().any(|name| name == "k3cloud"),
        "k3cloud is the failing condition: {failing:?}"
    );
    harness.finish().await;
}
