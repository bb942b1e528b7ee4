//! Ledger calls that cover a whole batch in one transaction, on SQLite and
//! PostgreSQL: one result per instance in order, and nothing half-recorded when the
//! database refuses the batch.

mod ledger_support;

use dingk3::ledger::{Claim, ClaimRequest, EventAction, LedgerError, SavedBill, Status};
use ledger_support::{TestDb, summary, t0};

ledger_test!(batch_statuses_in_order, batch_statuses_in_order_case);
async fn batch_statuses_in_order_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-2")).await.unwrap();
    ledger.mark_published("pi-2").await.unwrap();
    let batch = [summary("pi-1"), summary("pi-2"), summary("pi-3")];

    let recorded = ledger.record_pending_all(&batch).await.unwrap();
    assert_eq!(
        recorded,
        vec![Status::Pending, Status::Published, Status::Pending],
        "one status per summary, in order; the published one is not reset"
    );

    ledger.claim("pi-3", None, "c1", t0()).await.unwrap();
    let marked = ledger
        .mark_published_all(&["pi-1", "pi-2", "pi-3"])
        .await
        .unwrap();
    assert_eq!(
        marked,
        vec![Status::Published, Status::Published, Status::Saving],
        "one status per id, in order; the claimed one keeps its claim"
    );
    let published_events = ledger
        .history("pi-1")
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.action == EventAction::Published)
        .count();
    assert_eq!(published_events, 1, "the batch adds one event per change");
}

ledger_test!(batch_fails_as_whole, batch_fails_as_whole_case);
async fn batch_fails_as_whole_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger
        .record_pending_all(&[summary("pi-1"), summary("pi-2")])
        .await
        .unwrap();

    let error = ledger
        .mark_published_all(&["pi-1", "pi-unknown", "pi-2"])
        .await
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::NotFound { .. }),
        "the unrecorded instance fails the batch: {error}"
    );
    for id in ["pi-1", "pi-2"] {
        let record = ledger.get(id).await.unwrap().unwrap();
        assert_eq!(
            record.status,
            Status::Pending,
            "{id} stays pending, so the next poll publishes it again"
        );
    }
}

ledger_test!(
    saved_batch_isolates_conflict,
    saved_batch_isolates_conflict_case
);
async fn saved_batch_isolates_conflict_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger
        .record_pending_all(&[summary("pi-1"), summary("pi-2"), summary("pi-3")])
        .await
        .unwrap();
    ledger
        .mark_published_all(&["pi-1", "pi-2", "pi-3"])
        .await
        .unwrap();
    for id in ["pi-1", "pi-2", "pi-3"] {
        ledger.claim(id, None, "c1", t0()).await.unwrap();
    }
    ledger
        .mark_saved("pi-2", "c1", "FKD002", "2")
        .await
        .unwrap();

    let bill = |id, bill_no, k3_id| SavedBill {
        process_instance_id: id,
        bill_no,
        k3_id,
    };
    let results = ledger
        .mark_saved_all(
            "c1",
            &[
                bill("pi-1", "FKD001", "1"),
                bill("pi-2", "FKD999", "999"),
                bill("pi-3", "FKD003", "3"),
            ],
        )
        .await
        .expect("the database accepts the batch");

    assert_eq!(results.len(), 3, "one result per bill");
    assert!(results[0].is_ok(), "pi-1 is recorded: {:?}", results[0]);
    assert!(
        matches!(&results[1], Err(LedgerError::DifferentBill { recorded_bill_no, .. }) if recorded_bill_no == "FKD002"),
        "pi-2 already has another bill: {:?}",
        results[1]
    );
    assert!(results[2].is_ok(), "pi-3 is recorded: {:?}", results[2]);
    for (id, bill_no) in [("pi-1", "FKD001"), ("pi-2", "FKD002"), ("pi-3", "FKD003")] {
        let record = ledger.get(id).await.unwrap().unwrap();
        assert_eq!(record.status, Status::Saved, "{id} is saved");
        assert_eq!(
            record.bill_no.as_deref(),
            Some(bill_no),
            "{id} keeps its bill"
        );
        assert_eq!(record.lease_owner, None, "{id} has no claim left");
    }
}

ledger_test!(claim_batch_answers_each, claim_batch_answers_each_case);
async fn claim_batch_answers_each_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger
        .record_pending_all(&[summary("pi-held"), summary("pi-saved"), summary("pi-free")])
        .await
        .unwrap();
    ledger
        .mark_published_all(&["pi-held", "pi-saved", "pi-free"])
        .await
        .unwrap();
    ledger.claim("pi-held", None, "c2", t0()).await.unwrap();
    ledger.claim("pi-saved", None, "c2", t0()).await.unwrap();
    ledger
        .mark_saved("pi-saved", "c2", "FKD001", "1")
        .await
        .unwrap();
    let unseen = summary("pi-unseen");

    let request = |id, summary_if_missing| ClaimRequest {
        process_instance_id: id,
        summary_if_missing,
    };
    let results = ledger
        .claim_all(
            &[
                request("pi-unseen", Some(&unseen)),
                request("pi-held", None),
                request("pi-saved", None),
                request("pi-free", None),
                request("pi-missing", None),
            ],
            "c1",
            t0(),
        )
        .await
        .expect("the database accepts the batch");

    assert_eq!(results.len(), 5, "one result per request");
    assert!(
        matches!(results[0], Ok(Claim::Claimed { attempts: 1, .. })),
        "an instance the ledger did not hold is recorded and claimed: {:?}",
        results[0]
    );
    assert!(
        matches!(&results[1], Ok(Claim::HeldByOther { owner, .. }) if owner == "c2"),
        "a live lease of another consumer is kept: {:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], Ok(Claim::AlreadySaved { bill_no, .. }) if bill_no == "FKD001"),
        "a saved instance is a duplicate: {:?}",
        results[2]
    );
    assert!(
        matches!(results[3], Ok(Claim::Claimed { attempts: 1, .. })),
        "a published instance is claimed: {:?}",
        results[3]
    );
    assert!(
        matches!(&results[4], Err(LedgerError::NotFound { .. })),
        "an unknown instance without a summary fails alone: {:?}",
        results[4]
    );
    let record = ledger.get("pi-unseen").await.unwrap().unwrap();
    assert_eq!(
        record.lease_owner.as_deref(),
        Some("c1"),
        "the claim is kept"
    );
}
