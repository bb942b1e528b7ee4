//! Messages another client published to the work queue: each ends in the dead-letter
//! queue with its reason, and the consumer keeps running and saves the next approval.

use std::time::Duration;

use dingk3::ledger::Status;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};
use serde_json::json;

const WITHIN: Duration = Duration::from_secs(30);

/// Returns the envelope of case 01 as JSON, for bodies derived from it.
fn case_json() -> serde_json::Value {
    serde_json::from_slice(&case_envelope("01-admin-two-rows").to_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_dead_lettered() {
    let harness = Harness::start(HarnessOptions {
        test: "bad-input",
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");

    let valid = case_envelope("01-admin-two-rows").to_bytes();
    let truncated = valid[..valid.len() / 2].to_vec();
    let garbage: Vec<u8> = (0..4096_u32).map(|i| (i * 131 % 251) as u8).collect();
    let mut wrong_schema = case_json();
    wrong_schema["schema"] = json!(99);
    let mut without_instance = case_json();
    without_instance.as_object_mut().unwrap().remove("instance");
    without_instance["process_instance_id"] = json!("bad-no-instance");
    let huge = vec![b' '; 5 * 1024 * 1024];

    let bodies: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad-truncated", truncated, "not valid JSON"),
        ("bad-garbage", garbage, "not valid JSON"),
        (
            "bad-schema",
            serde_json::to_vec(&wrong_schema).unwrap(),
            "schema 99",
        ),
        (
            "bad-no-instance",
            serde_json::to_vec(&without_instance).unwrap(),
            "instance",
        ),
        ("bad-huge", huge, "exceeds the limit"),
    ];
    for (id, body, _) in &bodies {
        harness.publish_raw(body.clone(), Some(id)).await;
    }
    // A body without message_id, as a careless client sends it.
    harness.publish_raw(b"{\"hello\":".to_vec(), None).await;

    let dead = harness
        .wait_for_dead_letters(bodies.len() + 1, WITHIN)
        .await;
    for (id, body, reason) in &bodies {
        let letter = dead
            .iter()
            .find(|letter| letter.message_id.as_deref() == Some(*id))
            .unwrap_or_else(|| panic!("{id} is dead-lettered"));
        assert_eq!(letter.kind(), "invalid_message", "{id}: kind");
        assert!(
            letter.failure.error.contains(reason),
            "{id}: the reason contains {reason:?}: {}",
            letter.failure.error
        );
        assert!(letter.body == *body, "{id}: the original body is kept");
        assert!(letter.failure.failed_at.is_some(), "{id}: failed-at is set");
    }
    let anonymous = dead
        .iter()
        .find(|letter| letter.message_id.is_none())
        .expect("the message without id is dead-lettered");
    assert_eq!(anonymous.kind(), "invalid_message");

    // The consumer still works.
    let envelope = case_envelope("01-admin-two-rows");
    harness.publish(&envelope).await;
    let id = case_expectation("01-admin-two-rows").process_instance_id;
    harness.wait_for_status(&id, Status::Saved, WITHIN).await;
    assert_eq!(
        harness.k3.handle().bill_count(),
        1,
        "one bill after bad input"
    );
    harness.finish().await;
}

/// Form components of types the approval model does not know decode losslessly, so
/// such an approval reaches the mapping, which names every field it cannot find.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_components_reach_mapping() {
    let harness = Harness::start(HarnessOptions {
        test: "unknown-components",
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let mut body = case_json();
    body["process_instance_id"] = json!("unknown-components-1");
    body["instance"]["form_component_values"] = json!([
        {"component_type": "HologramField", "id": "Hologram_1", "name": "全息图", "value": "{\"x\":1}"},
        {"component_type": "QuantumField", "id": "Quantum_1", "name": "量子", "value": [1, 2, 3]},
    ]);
    harness
        .publish_raw(
            serde_json::to_vec(&body).unwrap(),
            Some("unknown-components-1"),
        )
        .await;

    let dead = harness.wait_for_dead_letters(1, WITHIN).await;
    assert_eq!(dead[0].kind(), "mapping", "{dead:#?}");
    assert!(
        dead[0].failure.error.contains("报销明细"),
        "the reason names the missing detail table: {}",
        dead[0].failure.error
    );
    harness
        .wait_for_status("unknown-components-1", Status::Rejected, WITHIN)
        .await;
    assert_eq!(harness.k3.handle().bill_count(), 0, "no bill");
    harness.finish().await;
}
