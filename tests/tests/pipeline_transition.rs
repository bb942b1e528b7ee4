//! Claims that are still running when the producer first fetches them and finish between
//! two polls. An approved one is published and written once, an approved one the
//! mapping cannot handle is dead-lettered once, and a refused one is skipped and never
//! published. Three more polls later nothing has been published again.

use std::time::Duration;

use dingk3::ledger::Status;
use dingk3_simulator::dingtalk::{
    ApprovalResult, Expected, Status as DingTalkStatus, StatusChange,
};
use dingk3_tests::pipeline::{Expectation, Pipeline, PipelineOptions};

const SETTLE_WITHIN: Duration = Duration::from_secs(90);

/// Returns the first running claim whose outcome once approved satisfies `wanted`.
fn running_claim(expectations: &[Expectation], wanted: impl Fn(&Expected) -> bool) -> Expectation {
    expectations
        .iter()
        .find(|expectation| {
            expectation.running && expectation.outcome.as_ref().is_some_and(&wanted)
        })
        .cloned()
        .expect("the generated claims include such a running claim")
}

fn finish(result: ApprovalResult) -> StatusChange {
    StatusChange {
        status: DingTalkStatus::Completed,
        result,
        finish_time: None,
        approver: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn running_then_approved_written_once() {
    let pipeline = Pipeline::start(PipelineOptions {
        test: "transition",
        claims: 80,
        seed: 31,
        consumers: 2,
        ..PipelineOptions::default()
    })
    .await
    .expect("a SQLite pipeline always starts");
    let first = pipeline.wait_settled(SETTLE_WITHIN).await;
    let before = pipeline.assert_end_state(&first).await;

    let valid = running_claim(&first.expectations, |outcome| {
        matches!(outcome, Expected::Saved { .. })
    });
    let unmappable = running_claim(&first.expectations, |outcome| {
        matches!(outcome, Expected::Rejected { .. })
    });
    let refused = first
        .expectations
        .iter()
        .find(|expectation| {
            expectation.running
                && expectation.process_instance_id != valid.process_instance_id
                && expectation.process_instance_id != unmappable.process_instance_id
        })
        .cloned()
        .expect("the generated claims include a third running claim");
    for claim in [&valid, &unmappable, &refused] {
        let id = &claim.process_instance_id;
        assert_eq!(
            first.rows[id].status,
            Status::Pending,
            "{id} is pending after the first polls"
        );
    }

    let dingtalk = pipeline.dingtalk.handle();
    for (claim, result) in [
        (&valid, ApprovalResult::Agree),
        (&unmappable, ApprovalResult::Agree),
        (&refused, ApprovalResult::Refuse),
    ] {
        dingtalk
            .change_status(&claim.process_instance_id, &finish(result))
            .expect("the simulator finishes the claim");
    }

    let second = pipeline.wait_settled(SETTLE_WITHIN).await;
    let after = pipeline.assert_end_state(&second).await;
    assert_eq!(after.saved, before.saved + 1, "one more bill");
    assert_eq!(after.rejected, before.rejected + 1, "one more dead letter");
    assert_eq!(after.skipped, before.skipped + 1, "one more skipped claim");
    assert_eq!(after.running, before.running - 3, "three claims finished");

    pipeline
        .producer()
        .wait_more_polls(3, Duration::from_secs(30))
        .await;
    let third = pipeline.wait_settled(SETTLE_WITHIN).await;
    let last = pipeline.assert_end_state(&third).await;
    assert_eq!(last, after, "later polls change nothing");
    assert_eq!(
        pipeline.producer().published().await,
        Some(last.approved as u64),
        "the producer published each approved claim once, the two late ones included"
    );
    let bill_no = third.rows[&valid.process_instance_id]
        .bill_no
        .clone()
        .expect("the late approval was saved");
    let copies = pipeline
        .k3
        .handle()
        .bills()
        .iter()
        .filter(|bill| bill.number.eq_ignore_ascii_case(&bill_no))
        .count();
    assert_eq!(copies, 1, "K3Cloud holds bill {bill_no} once");
    pipeline.finish().await;
}
