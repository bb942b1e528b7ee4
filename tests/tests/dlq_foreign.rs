//! Dead letters that another RabbitMQ client put in the dead-letter queue, with the
//! broker's `x-death` and `x-delivery-count` headers and without the pipeline's, list
//! with the facts their bodies and headers give, and a replay saves them.

use dingk3::ledger::Status;
use dingk3_consumer::dlq::filter::Filter;
use dingk3_consumer::dlq::letter::KindOrigin;
use dingk3_consumer::dlq::report::Outcome;
use dingk3_tests::consumer::{Harness, HarnessOptions, case_envelope, case_expectation};
use dingk3_tests::dlq::{ForeignClient, WITHIN, dead_depth, list, replay_selected};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn foreign_dead_letters_saved() {
    let harness = Harness::start(HarnessOptions {
        test: "dlq-foreign",
        ..HarnessOptions::default()
    })
    .await
    .expect("a SQLite test bed always starts");
    let client = ForeignClient::connect(&harness).await;
    client
        .dead_letter(&case_envelope("01-admin-two-rows"), "delivery_limit")
        .await;
    client
        .dead_letter(&case_envelope("02-project-travel"), "rejected")
        .await;
    client.close().await;

    let letters = list(&harness).await;
    assert_eq!(letters.len(), 2, "{letters:#?}");
    let kinds: Vec<&str> = letters.iter().map(|letter| letter.kind.as_str()).collect();
    assert_eq!(kinds, vec!["exhausted", "rejected"], "kinds from x-death");
    for letter in &letters {
        assert_eq!(letter.kind_origin, KindOrigin::BrokerDeath);
        assert!(
            letter.business_id.is_some(),
            "the body gives the approval number"
        );
        assert!(letter.amount.is_some(), "and the amount");
        assert_eq!(letter.attempts, None, "attempts are unknown");
        assert!(letter.failed_at.is_some(), "the time of the death");
    }

    let report = replay_selected(&harness, Filter::default()).await;
    assert_eq!(report.count(Outcome::Replayed), 2, "{report:#?}");
    for name in ["01-admin-two-rows", "02-project-travel"] {
        let id = case_expectation(name).process_instance_id;
        harness.wait_for_status(&id, Status::Saved, WITHIN).await;
    }
    assert_eq!(harness.k3.handle().bill_count(), 2, "both bills saved once");
    assert_eq!(
        dead_depth(&harness).await,
        0,
        "the dead-letter queue is empty"
    );
    harness.finish().await;
}
