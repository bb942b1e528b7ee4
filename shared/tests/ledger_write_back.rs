//! The write-back state on SQLite and PostgreSQL: requested once per saved instance,
//! due after the retry pause, done or failed per attempt, abandoned after the last.

mod ledger_support;

use chrono::TimeDelta;
use dingk3::ledger::{Ledger, WriteBackStatus};
use ledger_support::{TestDb, summary, t0};

/// Claims and saves instance `id` as bill `FKD-<id>`.
async fn save(ledger: &Ledger, id: &str) {
    ledger
        .claim(id, Some(&summary(id)), "c1", t0())
        .await
        .unwrap();
    ledger
        .mark_saved(id, "c1", &format!("FKD-{id}"), "1")
        .await
        .unwrap();
}

ledger_test!(request_only_for_saved, request_only_for_saved_case);
async fn request_only_for_saved_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("running")).await.unwrap();
    assert!(
        !ledger.request_write_back("running", t0()).await.unwrap(),
        "an instance that is not saved gets no write-back"
    );
    save(ledger, "saved").await;
    assert!(
        ledger.request_write_back("saved", t0()).await.unwrap(),
        "a saved instance gets one"
    );
    assert!(
        !ledger.request_write_back("saved", t0()).await.unwrap(),
        "a second request is ignored"
    );
    let counts = ledger.write_back_counts().await.unwrap();
    assert_eq!(counts[&WriteBackStatus::Pending], 1);
}

ledger_test!(due_after_retry_pause, due_after_retry_pause_case);
async fn due_after_retry_pause_case(db: TestDb) {
    let ledger = &db.ledger;
    save(ledger, "a").await;
    ledger.request_write_back("a", t0()).await.unwrap();

    let before = ledger
        .due_write_backs(t0() - TimeDelta::seconds(1), 10)
        .await
        .unwrap();
    assert!(before.is_empty(), "not due before the pause: {before:?}");
    let due = ledger.due_write_backs(t0(), 10).await.unwrap();
    assert_eq!(due.len(), 1, "due once the pause has passed");
    assert_eq!(due[0].bill_no, "FKD-a");
    assert_eq!(due[0].attempts, 0);
}

ledger_test!(failures_then_done, failures_then_done_case);
async fn failures_then_done_case(db: TestDb) {
    let ledger = &db.ledger;
    save(ledger, "a").await;
    ledger.request_write_back("a", t0()).await.unwrap();

    let failed = ledger
        .record_write_back("a", Err("DingTalk 500"), 3, t0())
        .await
        .unwrap();
    assert_eq!(failed, WriteBackStatus::Failed);
    let due = ledger.due_write_backs(t0(), 10).await.unwrap();
    assert_eq!(due[0].attempts, 1, "the failed attempt is counted");

    let done = ledger
        .record_write_back("a", Ok(()), 3, t0())
        .await
        .unwrap();
    assert_eq!(done, WriteBackStatus::Done);
    assert!(
        ledger.due_write_backs(t0(), 10).await.unwrap().is_empty(),
        "a done write-back is not due"
    );
    assert!(
        ledger
            .record_write_back("a", Ok(()), 3, t0())
            .await
            .is_err(),
        "a done write-back takes no further attempt"
    );
}

ledger_test!(
    abandoned_after_last_attempt,
    abandoned_after_last_attempt_case
);
async fn abandoned_after_last_attempt_case(db: TestDb) {
    let ledger = &db.ledger;
    save(ledger, "a").await;
    ledger.request_write_back("a", t0()).await.unwrap();
    for attempt in 1..=2 {
        let status = ledger
            .record_write_back("a", Err("no comment user"), 2, t0())
            .await
            .unwrap();
        let expected = if attempt < 2 {
            WriteBackStatus::Failed
        } else {
            WriteBackStatus::Abandoned
        };
        assert_eq!(status, expected, "status after attempt {attempt}");
    }
    let counts = ledger.write_back_counts().await.unwrap();
    assert_eq!(counts[&WriteBackStatus::Abandoned], 1);
    assert!(ledger.due_write_backs(t0(), 10).await.unwrap().is_empty());
}
