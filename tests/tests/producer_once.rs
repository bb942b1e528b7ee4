//! `producer once` against the DingTalk simulator, the local RabbitMQ and a temporary
//! ledger: the handed cases, generated claims, approvals that finish between polls,
//! repeated polls of the same window, and the window reaching back to claims filed
//! weeks before they were approved.

use std::collections::BTreeSet;

use chrono::{TimeDelta, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3::ledger::Status;
use dingk3_producer::metrics::CHANGED_AFTER_APPROVAL;
use dingk3_producer::{BackfillDays, NoProgress, PollOutcome, Producer, RunSummary};
use dingk3_simulator::dingtalk::{
    ApprovalResult, DingTalkOptions, Status as SimStatus, StatusChange,
};
use dingk3_tests::dingtalk::{PROCESS_CODE, add_instance_created_at, client, start_simulator_with};
use dingk3_tests::producer::{
    BrokerProbe, TestConfig, TestLedger, cases_dir, require_broker, unique_name,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Returns the handed cases as `(process_instance_id, approved)`.
fn handed_cases() -> Vec<(String, bool)> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(cases_dir()).expect("the cases folder is readable") {
        let path = entry.expect("a folder entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".expected.json") {
            continue;
        }
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = expected["process_instance_id"]
            .as_str()
            .unwrap()
            .to_string();
        let approved = expected["expect"].as_str() != Some("skipped");
        cases.push((id, approved));
    }
    cases.sort();
    cases
}

async fn cases_simulator() -> dingk3_simulator::dingtalk::RunningDingTalk {
    start_simulator_with(DingTalkOptions {
        instances_dir: Some(cases_dir()),
        shift_dates: true,
        ..DingTalkOptions::default()
    })
    .await
}

async fn once(producer: &Producer) -> RunSummary {
    producer
        .once(&CancellationToken::new())
        .await
        .expect("producer once runs")
}

async fn cases_published(ledger: TestLedger) {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("cases");
    let probe = BrokerProbe::open(&prefix).await;
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("cases"));
    let producer = Producer::open(config).await.expect("the producer opens");

    let summary = once(&producer).await;
    let route = &summary.routes[0];
    assert_eq!(
        route.outcome,
        PollOutcome::Complete,
        "errors: {:?}",
        route.errors
    );
    assert_eq!(route.listed, 5, "all five cases are listed");
    assert_eq!(route.published, 4, "four cases are approved");
    assert_eq!(route.skipped, 1, "the refused case is skipped");
    assert_eq!(route.pending, 0, "no case is running");
    assert_eq!(summary.exit_code(), 0);

    let messages = probe.drain().await;
    let approved: BTreeSet<String> = handed_cases()
        .into_iter()
        .filter(|(_, approved)| *approved)
        .map(|(id, _)| id)
        .collect();
    let published: BTreeSet<String> = messages
        .iter()
        .map(|message| message.envelope.process_instance_id.clone())
        .collect();
    assert_eq!(messages.len(), 4, "one message per approved case");
    assert_eq!(
        published, approved,
        "exactly the approved cases are published"
    );

    let client = client(&simulator, "topapi");
    for message in &messages {
        let id = message.envelope.process_instance_id.as_str();
        let properties = &message.properties;
        assert_eq!(
            properties.message_id().as_ref().map(|v| v.as_str()),
            Some(id),
            "message_id is the process instance id"
        );
        assert_eq!(
            properties.app_id().as_ref().map(|v| v.as_str()),
            Some("dingk3-producer")
        );
        assert_eq!(
            properties.content_type().as_ref().map(|v| v.as_str()),
            Some("application/json")
        );
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        assert!(properties.timestamp().is_some(), "timestamp is set");
        assert_eq!(message.envelope.schema, 1);
        assert_eq!(message.envelope.process_code, PROCESS_CODE);

        let fetched = client.get_instance(id).await.expect("the case is fetched");
        assert_eq!(
            &message.envelope.instance,
            fetched.raw(),
            "the envelope carries the instance exactly as fetched ({id})"
        );
        assert_eq!(message.envelope.business_id, fetched.business_id);
        let record = producer.ledger().get(id).await.unwrap().unwrap();
        assert_eq!(record.status, Status::Published, "{id} is published");
        assert_eq!(
            record.business_id.as_deref(),
            Some(fetched.business_id.as_str())
        );
    }

    let refused = handed_cases()
        .into_iter()
        .find(|(_, approved)| !approved)
        .map(|(id, _)| id)
        .unwrap();
    let record = producer.ledger().get(&refused).await.unwrap().unwrap();
    assert_eq!(
        record.status,
        Status::Skipped,
        "the refused case is skipped"
    );
    let reason = record.skip_reason.unwrap_or_default();
    assert!(
        reason.starts_with("refused"),
        "the reason says why: {reason}"
    );

    let watermark = producer.ledger().watermark(PROCESS_CODE).await.unwrap();
    assert!(watermark.is_some(), "a complete poll sets the watermark");
    assert_eq!(watermark, route.watermark);
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_published_sqlite() {
    cases_published(TestLedger::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_published_postgres() {
    if let Some(ledger) = TestLedger::postgres("cases_published_postgres").await {
        cases_published(ledger).await;
    }
}

/// A second poll over the same window finds everything settled and publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_once_publishes_nothing() {
    require_broker().await;
    let simulator = cases_simulator().await;
    let prefix = unique_name("repeat");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("repeat"));
    let producer = Producer::open(config).await.unwrap();

    let first = once(&producer).await;
    assert_eq!(first.routes[0].published, 4);
    assert_eq!(probe.drain().await.len(), 4);

    let second = once(&producer).await;
    let route = &second.routes[0];
    assert_eq!(route.outcome, PollOutcome::Complete, "{:?}", route.errors);
    assert_eq!(route.fetched, 0, "settled instances are not fetched again");
    assert_eq!(route.published, 0, "nothing is published twice");
    assert!(
        probe.drain().await.is_empty(),
        "no message reaches the queue on the second poll"
    );

    // The first poll's whole window again, listed explicitly.
    let today = utc_to_beijing(Utc::now()).date();
    let days = BackfillDays {
        from: today - TimeDelta::days(30),
        to: today,
    };
    let again = producer
        .backfill(days, None, &NoProgress, &CancellationToken::new())
        .await
        .expect("the backfill runs");
    let route = &again.routes[0];
    assert_eq!(route.listed, 5, "the same window lists every case again");
    assert_eq!(route.fetched, 0, "settled instances are not fetched again");
    assert_eq!(route.published, 0, "nothing is published twice");
    assert!(probe.drain().await.is_empty());

    // A fresh producer process (empty in-memory state) over the same ledger.
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("repeat2"));
    let restarted = Producer::open(config).await.unwrap();
    let third = once(&restarted).await;
    assert_eq!(
        third.routes[0].published, 0,
        "a restart publishes nothing again"
    );
    assert!(probe.drain().await.is_empty());
    simulator.shutdown().await;
}

/// 300 generated claims: every approved one is published once, the others are skipped
/// or pending as their ground truth expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_claims_match_truth() {
    require_broker().await;
    let simulator = start_simulator_with(DingTalkOptions {
        generate: 300,
        seed: 11,
        ..DingTalkOptions::default()
    })
    .await;
    let prefix = unique_name("generated");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("gen"));
    let producer = Producer::open(config).await.unwrap();

    let entries = simulator.handle().entries();
    let approved: BTreeSet<String> = entries
        .iter()
        .filter(|entry| entry.truth().approved)
        .map(|entry| entry.instance.process_instance_id.clone())
        .collect();
    let running = entries
        .iter()
        .filter(|entry| matches!(entry.instance.status, SimStatus::Running | SimStatus::New))
        .count();
    let finished_unapproved = entries.len() - approved.len() - running;

    let summary = once(&producer).await;
    let route = &summary.routes[0];
    assert_eq!(route.outcome, PollOutcome::Complete, "{:?}", route.errors);
    assert_eq!(route.listed, 300, "every claim is in the 90-day window");
    assert_eq!(route.published, approved.len());
    assert_eq!(route.pending, running);
    assert_eq!(route.skipped, finished_unapproved);

    let messages = probe.drain().await;
    let published: Vec<String> = messages
        .iter()
        .map(|message| message.envelope.process_instance_id.clone())
        .collect();
    let distinct: BTreeSet<String> = published.iter().cloned().collect();
    assert_eq!(
        published.len(),
        distinct.len(),
        "no claim is published twice"
    );
    assert_eq!(
        distinct, approved,
        "exactly the approved claims are published"
    );
    simulator.shutdown().await;
}

/// A claim running at the first poll and approved before the second is published
/// once, by the second poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_then_approved_published_once() {
    require_broker().await;
    let simulator = start_simulator_with(DingTalkOptions::default()).await;
    let created = utc_to_beijing(Utc::now() - TimeDelta::hours(3))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let id = add_instance_created_at(&simulator, "pi-running-then-approved", &created);
    let prefix = unique_name("approve");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("approve"));
    let producer = Producer::open(config).await.unwrap();

    let first = once(&producer).await;
    assert_eq!(first.routes[0].pending, 1, "the running claim is pending");
    assert_eq!(first.routes[0].published, 0);
    assert!(
        probe.drain().await.is_empty(),
        "a running claim is not published"
    );
    let record = producer.ledger().get(&id).await.unwrap().unwrap();
    assert_eq!(record.status, Status::Pending);

    approve(&simulator, &id);
    let second = once(&producer).await;
    assert_eq!(
        second.routes[0].published, 1,
        "{:?}",
        second.routes[0].errors
    );
    let third = once(&producer).await;
    assert_eq!(third.routes[0].published, 0, "published only once");

    let messages = probe.drain().await;
    assert_eq!(messages.len(), 1, "one message for the approved claim");
    assert_eq!(messages[0].envelope.process_instance_id, id);
    simulator.shutdown().await;
}

/// A claim filed 40 days ago and approved now is found, because the window reaches
/// back to the oldest claim the ledger records as running, even after the watermark
/// moved on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_filed_weeks_before_approval_published() {
    require_broker().await;
    let simulator = start_simulator_with(DingTalkOptions::default()).await;
    let filed = Utc::now() - TimeDelta::days(40);
    let created = utc_to_beijing(filed)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let id = add_instance_created_at(&simulator, "pi-filed-weeks-ago", &created);
    let prefix = unique_name("weeks");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url)
        .producer("initial_lookback_days", 45)
        .build(&unique_name("weeks"));
    let producer = Producer::open(config).await.unwrap();

    let first = once(&producer).await;
    assert_eq!(first.routes[0].pending, 1, "{:?}", first.routes[0].errors);
    let watermark = first.routes[0].watermark.expect("the watermark is set");
    assert!(
        Utc::now() - watermark < TimeDelta::minutes(5),
        "the watermark is recent, far after the claim was filed"
    );

    approve(&simulator, &id);
    let second = once(&producer).await;
    let route = &second.routes[0];
    let window = route.window.expect("the window is reported");
    assert!(
        window.start <= filed,
        "the window starts at the running claim ({}), not at the watermark",
        window.start
    );
    assert_eq!(route.published, 1, "{:?}", route.errors);
    let messages = probe.drain().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].envelope.process_instance_id, id);
    simulator.shutdown().await;
}

fn approve(simulator: &dingk3_simulator::dingtalk::RunningDingTalk, id: &str) {
    simulator
        .handle()
        .change_status(
            id,
            &StatusChange {
                status: SimStatus::Completed,
                result: ApprovalResult::Agree,
                finish_time: None,
                approver: None,
            },
        )
        .expect("the simulator approves the claim");
}

/// An approval modified or revoked after approval is still published, and counted so
/// that an operator checks its bill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_after_approval_published_and_counted() {
    require_broker().await;
    let simulator = start_simulator_with(DingTalkOptions::default()).await;
    let created = utc_to_beijing(Utc::now() - TimeDelta::hours(5));
    let finished = created + TimeDelta::hours(1);
    let raw = serde_json::json!({
        "title": "测试用户提交的费用报销",
        "business_id": "202601010000000000002",
        "originator_userid": "user-1001",
        "originator_dept_id": "-1",
        "status": "COMPLETED",
        "result": "agree",
        "create_time": created.format("%Y-%m-%d %H:%M:%S").to_string(),
        "finish_time": finished.format("%Y-%m-%d %H:%M:%S").to_string(),
        "attached_process_instance_ids": ["pi-revoking-instance"],
        "form_component_values": [],
        "operation_records": [],
        "tasks": [],
    });
    simulator
        .handle()
        .add_topapi("pi-changed-after-approval", None, &raw, None)
        .expect("the simulator accepts the instance");
    let prefix = unique_name("changed");
    let probe = BrokerProbe::open(&prefix).await;
    let ledger = TestLedger::sqlite();
    let config = TestConfig::new(&simulator, &prefix, &ledger.url).build(&unique_name("chg"));
    let producer = Producer::open(config).await.unwrap();
    let counter = CHANGED_AFTER_APPROVAL.with_label_values(&[PROCESS_CODE]);
    let before = counter.get();

    let summary = once(&producer).await;
    assert_eq!(
        summary.routes[0].published, 1,
        "{:?}",
        summary.routes[0].errors
    );
    assert!(
        counter.get() > before,
        "the approval changed after approval is counted"
    );
    let messages = probe.drain().await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].envelope.process_instance_id,
        "pi-changed-after-approval"
    );
    simulator.shutdown().await;
}
