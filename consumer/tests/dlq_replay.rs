//! `consumer dlq replay` without a consumer running, so every replayed message can be
//! inspected in the work queue. It is a new message with reset headers, the dead copy
//! is gone, and the ledger row is reopened. The replay limit, `--dry-run`, `--max` and
//! filters that match nothing behave as documented. Dead letters that RabbitMQ or
//! another client put in the queue list and replay like the consumer's own.

mod dlq_support;
mod support;

use dingk3::broker::PipelineHeaders;
use dingk3::broker::headers::read_string;
use dingk3::ledger::Status;
use dingk3_consumer::dlq::replayed::REPLAYED_FROM;
use dlq_support::{Bed, DeadSpec, describe, message_ids, stdout, variant};
use serde_json::{Value, json};

/// Broker headers a replayed message must not carry.
const BROKER_HEADERS: [&str; 3] = ["x-death", "x-first-death-reason", "x-first-death-queue"];

/// Checks that the dead copy's `x-delivery-count` was not copied. A quorum work queue
/// on RabbitMQ 3.10 adds its own, 0 on a first delivery.
fn assert_fresh_delivery_count(headers: &lapin::types::FieldTable) {
    let count = dingk3::broker::headers::read_u32(headers, "x-delivery-count");
    assert!(
        count.is_none_or(|count| count == 0),
        "x-delivery-count {count:?} is the work queue's own, not the dead copy's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_makes_new_message() {
    let bed = Bed::start("dlq-replay-new", "").await;
    let envelope = variant("01-admin-two-rows", "new");
    let id = envelope.process_instance_id.clone();
    bed.dead_letter(&DeadSpec {
        attempt: 4,
        replay_count: 1,
        detail: Some(json!({"errors": [{"field": "FCONTACTUNIT", "message": "员工不存在"}]})),
        ..DeadSpec::of(&envelope, "rejected", "K3Cloud rejected bill")
    })
    .await;
    bed.ledger
        .mark_dead(&id, "rejected", "K3Cloud rejected bill")
        .await
        .unwrap();

    let output = bed.dlq(&["replay", "--id", &envelope.business_id]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stdout(&output).contains("Replayed 1, skipped 0, refused 0, failed 0"),
        "{}",
        describe(&output)
    );

    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        0,
        "the dead copy is removed"
    );
    let work = bed.drain(&bed.topology.approvals_queue()).await;
    assert_eq!(work.len(), 1, "one new message in the work queue");
    let message = &work[0];
    assert_eq!(message.data, envelope.to_bytes(), "the body is unchanged");
    assert_eq!(message_ids(&work), vec![id.clone()], "same message id");
    let headers = message.properties.headers().clone().unwrap();
    let pipeline = PipelineHeaders::read(Some(&headers));
    assert_eq!(pipeline.attempt, 0, "attempt count reset");
    assert_eq!(pipeline.replay_count, 2, "replay count + 1");
    assert_eq!(pipeline.failure, None, "no failure headers");
    let from: Value = serde_json::from_str(&read_string(&headers, REPLAYED_FROM).unwrap()).unwrap();
    assert_eq!(
        from["kind"],
        json!("rejected"),
        "the original failure is kept"
    );
    assert_eq!(from["attempts"], json!(4));
    assert_eq!(from["detail"]["errors"][0]["field"], json!("FCONTACTUNIT"));
    for header in BROKER_HEADERS {
        assert!(!headers.contains_key(header), "{header} is not copied");
    }
    assert_fresh_delivery_count(&headers);
    assert_eq!(*message.properties.delivery_mode(), Some(2), "persistent");

    let record = bed.record(&id).await.unwrap();
    assert_eq!(
        record.status,
        Status::Published,
        "the ledger row is reopened"
    );
    assert_eq!(record.replay_count, 1, "the ledger counts the replay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    let bed = Bed::start("dlq-replay-dry", "").await;
    let first = variant("01-admin-two-rows", "dry1");
    let second = variant("02-project-travel", "dry2");
    for envelope in [&first, &second] {
        bed.dead_letter(&DeadSpec::of(envelope, "exhausted", "timeouts"))
            .await;
        bed.ledger
            .mark_dead(&envelope.process_instance_id, "exhausted", "timeouts")
            .await
            .unwrap();
    }

    let output = bed.dlq(&["replay", "--all", "--dry-run", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["counts"]["would_replay"], json!(2), "{report}");
    assert_eq!(report["counts"]["replayed"], json!(0), "{report}");
    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        2,
        "nothing removed"
    );
    assert_eq!(
        bed.ready(&bed.topology.approvals_queue()).await,
        0,
        "nothing published"
    );
    let record = bed.record(&first.process_instance_id).await.unwrap();
    assert_eq!(record.status, Status::Dead, "the ledger is unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_limit_refuses() {
    let bed = Bed::start("dlq-replay-limit", "").await;
    let envelope = variant("01-admin-two-rows", "limit");
    bed.dead_letter(&DeadSpec {
        replay_count: 5,
        ..DeadSpec::of(&envelope, "rejected", "员工不存在")
    })
    .await;

    let output = bed.dlq(&["replay", "--id", &envelope.process_instance_id]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a refusal is a partial failure: {}",
        describe(&output)
    );
    let text = stdout(&output);
    assert!(
        text.contains("replayed 5 times, the limit is 5 (consumer.replay_limit)"),
        "{text}"
    );
    assert!(text.contains("refused 1"), "{text}");
    let chinese = stdout(&bed.dlq_in("zh", &["replay", "--id", &envelope.process_instance_id]));
    assert!(chinese.contains("已重放 5 次，达到上限 5"), "{chinese}");
    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        1,
        "the dead letter stays"
    );
    assert_eq!(
        bed.ready(&bed.topology.approvals_queue()).await,
        0,
        "nothing published"
    );

    let text = std::fs::read_to_string(&bed.config).unwrap();
    std::fs::write(
        &bed.config,
        text.replacen("[consumer]\n", "[consumer]\nreplay_limit = 6\n", 1),
    )
    .unwrap();
    let raised = bed.dlq(&["replay", "--id", &envelope.process_instance_id]);
    assert_eq!(
        raised.status.code(),
        Some(0),
        "a raised limit allows it: {}",
        describe(&raised)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_and_empty_selections() {
    let bed = Bed::start("dlq-replay-max", "").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let envelope = variant("05-unknown-expense-type", &format!("max{n}"));
        bed.dead_letter(&DeadSpec::of(&envelope, "mapping", "团建活动"))
            .await;
        ids.push(envelope.process_instance_id);
    }

    let output = bed.dlq(&["replay", "--all", "--max", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stdout(&output).contains("Replayed 2, skipped 1"),
        "{}",
        describe(&output)
    );
    let work = bed.drain(&bed.topology.approvals_queue()).await;
    assert_eq!(
        message_ids(&work),
        ids[..2].to_vec(),
        "the first two, in queue order"
    );
    assert_eq!(
        message_ids(&bed.peek(&bed.topology.dead_queue()).await),
        ids[2..].to_vec()
    );

    let none = bed.dlq(&["replay", "--kind", "exhausted"]);
    assert_eq!(none.status.code(), Some(0), "{}", describe(&none));
    assert!(
        stdout(&none).contains("No dead letter matches --kind exhausted (1 in the queue)"),
        "{}",
        describe(&none)
    );
    let unknown = bed.dlq(&["replay", "--id", "no-such-id"]);
    assert_eq!(
        unknown.status.code(),
        Some(1),
        "an id that names nothing: {}",
        describe(&unknown)
    );
    assert!(
        stdout(&unknown).contains("Not found: no dead letter has the id no-such-id"),
        "{}",
        describe(&unknown)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_dead_letters_replay() {
    let bed = Bed::start("dlq-replay-foreign", "").await;
    let rejected = variant("01-admin-two-rows", "broker");
    bed.broker_dead_letter(rejected.to_bytes(), &rejected.process_instance_id)
        .await;
    let limited = variant("02-project-travel", "copied");
    bed.foreign_dead_letter(
        limited.to_bytes(),
        Some(&limited.process_instance_id),
        "delivery_limit",
    )
    .await;

    let rows = bed.list_json(&[]);
    let kinds: Vec<(&str, &str)> = rows
        .iter()
        .map(|row| {
            (
                row["kind"].as_str().unwrap(),
                row["kind_origin"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![("rejected", "x-death"), ("exhausted", "x-death")],
        "{rows:#?}"
    );
    assert_eq!(
        rows[0]["business_id"],
        json!(rejected.business_id),
        "read from the body"
    );
    assert!(
        rows[0]["reason"]
            .as_str()
            .unwrap()
            .contains("dead-lettered by RabbitMQ"),
        "{rows:#?}"
    );
    assert_eq!(rows[1]["attempts"], Value::Null, "unknown attempts");

    let output = bed.dlq(&["replay", "--all"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let work = bed.drain(&bed.topology.approvals_queue()).await;
    assert_eq!(
        message_ids(&work),
        vec![
            rejected.process_instance_id.clone(),
            limited.process_instance_id.clone()
        ],
        "both replayed in order"
    );
    for message in &work {
        let headers = message.properties.headers().clone().unwrap();
        for header in BROKER_HEADERS {
            assert!(!headers.contains_key(header), "{header} is not copied");
        }
        assert_fresh_delivery_count(&headers);
        let pipeline = PipelineHeaders::read(Some(&headers));
        assert_eq!(pipeline.replay_count, 1, "first replay");
        let from: Value =
            serde_json::from_str(&read_string(&headers, REPLAYED_FROM).unwrap()).unwrap();
        assert_eq!(from["kind_origin"], json!("x-death"), "{from}");
        assert!(from["deaths"][0]["reason"].is_string(), "{from}");
    }
    assert_eq!(
        bed.ready(&bed.topology.dead_queue()).await,
        0,
        "both removed"
    );
}
