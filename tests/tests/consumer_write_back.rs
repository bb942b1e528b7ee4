//! The optional write-back: after a bill is saved, the DingTalk approval gets a comment
//! with the bill number. A failing comment never holds up the bill and is retried.

use std::time::Duration;

use dingk3::ledger::{Status, WriteBackStatus};
use dingk3_simulator::dingtalk::{Api, DingTalkOptions, FaultKind, FaultRule, RunningDingTalk};
use dingk3_tests::consumer::cases::repo_path;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};
use dingk3_tests::dingtalk::{settings, start_simulator_with};

const WITHIN: Duration = Duration::from_secs(30);

async fn dingtalk_with_cases() -> RunningDingTalk {
    start_simulator_with(DingTalkOptions {
        instances_dir: Some(repo_path("tests/fixtures/cases")),
        ..DingTalkOptions::default()
    })
    .await
}

async fn start(test: &'static str, dingtalk: &RunningDingTalk) -> Harness {
    Harness::start(HarnessOptions {
        test,
        write_back: Some(settings(dingtalk, "topapi")),
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts")
}

/// Waits until the ledger counts `count` write-backs with `status`.
async fn wait_for_write_backs(harness: &Harness, status: WriteBackStatus, count: u64) {
    let what = format!("{count} write-backs are {status}");
    harness
        .wait_until(&what, WITHIN, || async {
            harness.ledger().write_back_counts().await.unwrap()[&status] == count
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn write_back_names_bill() {
    let dingtalk = dingtalk_with_cases().await;
    let harness = start("write-back", &dingtalk).await;
    harness.publish(&case_envelope("01-admin-two-rows")).await;
    let id = case_expectation("01-admin-two-rows").process_instance_id;
    harness.wait_for_status(&id, Status::Saved, WITHIN).await;
    wait_for_write_backs(&harness, WriteBackStatus::Done, 1).await;

    let comments = dingtalk.handle().comments();
    assert_eq!(comments.len(), 1, "one comment: {comments:?}");
    assert_eq!(comments[0].process_instance_id, id);
    assert_eq!(
        comments[0].text, "已生成金蝶付款单 DD-202611031015000123401",
        "the comment names the bill"
    );
    harness.finish().await;
    dingtalk.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_write_back_retried() {
    let dingtalk = dingtalk_with_cases().await;
    dingtalk
        .handle()
        .add_fault(FaultRule::always(FaultKind::ServerError).on(&[Api::CommentAdd]))
        .expect("the fault rule is valid");
    let harness = start("write-back-retry", &dingtalk).await;
    harness.publish(&case_envelope("02-project-travel")).await;
    let id = case_expectation("02-project-travel").process_instance_id;

    // The bill is saved and its message acked while DingTalk refuses the comment.
    harness.wait_for_status(&id, Status::Saved, WITHIN).await;
    wait_for_write_backs(&harness, WriteBackStatus::Failed, 1).await;
    assert_eq!(harness.work_depth().await, 0, "the message was acked");
    assert!(dingtalk.handle().comments().is_empty(), "no comment yet");

    dingtalk.handle().clear_faults();
    wait_for_write_backs(&harness, WriteBackStatus::Done, 1).await;
    let comments = dingtalk.handle().comments();
    assert_eq!(
        comments.len(),
        1,
        "the retry added one comment: {comments:?}"
    );
    assert!(
        comments[0].text.contains("DD-202611051930000456702"),
        "the comment names the bill: {}",
        comments[0].text
    );
    harness.finish().await;
    dingtalk.shutdown().await;
}
