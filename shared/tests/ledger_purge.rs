//! `Ledger::mark_purged`: a removed dead letter leaves a `dead` row and an audit event
//! every time, and never touches an instance that has a live copy or a bill.

mod ledger_support;

use dingk3::ledger::{EventAction, LedgerError, PURGED_KIND, Status};
use ledger_support::{TestDb, summary, t0};

async fn rejected(db: &TestDb, id: &str) {
    db.ledger.record_pending(&summary(id)).await.unwrap();
    db.ledger.mark_published(id).await.unwrap();
    db.ledger.claim(id, None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_rejected(id, "c1", "rejected", "员工不存在")
        .await
        .unwrap();
}

ledger_test!(purge_rejected_instance, purge_rejected_instance_case);
async fn purge_rejected_instance_case(db: TestDb) {
    rejected(&db, "pi-1").await;
    let operator = db.ledger.clone().with_actor("dlq:ops@host");
    operator
        .mark_purged("pi-1", "saved in purge.jsonl")
        .await
        .unwrap();

    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Dead, "a purged instance is dead");
    assert_eq!(record.last_error_kind.as_deref(), Some(PURGED_KIND));
    assert_eq!(record.last_error.as_deref(), Some("saved in purge.jsonl"));
    let last = db.ledger.history("pi-1").await.unwrap().pop().unwrap();
    assert_eq!(last.action, EventAction::Dead, "the purge is a dead event");
    assert_eq!(last.actor, "dlq:ops@host", "the operator is the actor");
    assert_eq!(last.detail, "purged: saved in purge.jsonl");
}

ledger_test!(purge_dead_instance_again, purge_dead_instance_again_case);
async fn purge_dead_instance_again_case(db: TestDb) {
    db.ledger
        .mark_dead("pi-1", "exhausted", "timeouts")
        .await
        .unwrap();
    let before = db.ledger.history("pi-1").await.unwrap().len();
    db.ledger.mark_purged("pi-1", "first").await.unwrap();
    db.ledger.mark_purged("pi-1", "second").await.unwrap();

    let history = db.ledger.history("pi-1").await.unwrap();
    assert_eq!(
        history.len(),
        before + 2,
        "each purge of a dead instance is in the trail"
    );
}

ledger_test!(purge_unknown_instance, purge_unknown_instance_case);
async fn purge_unknown_instance_case(db: TestDb) {
    db.ledger.mark_purged("pi-new", "saved").await.unwrap();
    let record = db.ledger.get("pi-new").await.unwrap().unwrap();
    assert_eq!(
        record.status,
        Status::Dead,
        "an unknown instance gets a row"
    );
}

ledger_test!(
    purge_leaves_live_instances,
    purge_leaves_live_instances_case
);
async fn purge_leaves_live_instances_case(db: TestDb) {
    db.ledger.record_pending(&summary("pi-1")).await.unwrap();
    db.ledger.mark_published("pi-1").await.unwrap();
    let error = db.ledger.mark_purged("pi-1", "saved").await.unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidTransition {
                from: Status::Published,
                to: Status::Dead,
                ..
            }
        ),
        "a published instance is not marked: {error}"
    );
    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Published, "the row is unchanged");
}
