//! Consumer-side ledger operations on SQLite and PostgreSQL: claims and leases, and
//! the outcomes saved, rejected, released, dead and replayed.

mod ledger_support;

use chrono::Duration;
use dingk3::ledger::{Claim, EventAction, LedgerError, Status};
use ledger_support::{LEASE_SECONDS, TestDb, summary, t0};

fn lease() -> Duration {
    Duration::seconds(LEASE_SECONDS as i64)
}

/// Records and publishes `id` as the producer does.
async fn published(db: &TestDb, id: &str) {
    db.ledger.record_pending(&summary(id)).await.unwrap();
    db.ledger.mark_published(id).await.unwrap();
}

ledger_test!(claim_published_instance, claim_published_instance_case);
async fn claim_published_instance_case(db: TestDb) {
    published(&db, "pi-1").await;
    let claim = db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();

    assert_eq!(
        claim,
        Claim::Claimed {
            attempts: 1,
            until: t0() + lease()
        },
        "the first claim is attempt 1 with the configured lease"
    );
    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Saving);
    assert_eq!(record.lease_owner.as_deref(), Some("c1"));
    assert_eq!(record.lease_until, Some(t0() + lease()));
}

ledger_test!(claim_inserts_missing_row, claim_inserts_missing_row_case);
async fn claim_inserts_missing_row_case(db: TestDb) {
    let claim = db
        .ledger
        .claim("pi-1", Some(&summary("pi-1")), "c1", t0())
        .await
        .unwrap();
    assert!(
        matches!(claim, Claim::Claimed { attempts: 1, .. }),
        "a message for an unknown instance is claimable: {claim:?}"
    );

    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.business_id.as_deref(), Some("2026110408pi-1"));
    assert!(record.published_at.is_some(), "the row counts as published");
    let actions: Vec<EventAction> = db
        .ledger
        .history("pi-1")
        .await
        .unwrap()
        .iter()
        .map(|event| event.action)
        .collect();
    assert_eq!(actions, vec![EventAction::Recorded, EventAction::Claimed]);
}

ledger_test!(
    claim_unknown_without_summary,
    claim_unknown_without_summary_case
);
async fn claim_unknown_without_summary_case(db: TestDb) {
    let error = db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap_err();
    assert!(matches!(error, LedgerError::NotFound { .. }), "{error}");
}

ledger_test!(claim_accepts_pending, claim_accepts_pending_case);
async fn claim_accepts_pending_case(db: TestDb) {
    db.ledger.record_pending(&summary("pi-1")).await.unwrap();
    let claim = db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    assert!(
        matches!(claim, Claim::Claimed { attempts: 1, .. }),
        "a message can arrive before the producer records the confirm: {claim:?}"
    );
}

ledger_test!(claim_held_by_other, claim_held_by_other_case);
async fn claim_held_by_other_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();

    let just_before_expiry = t0() + lease() - Duration::milliseconds(1);
    let claim = db
        .ledger
        .claim("pi-1", None, "c2", just_before_expiry)
        .await
        .unwrap();
    assert_eq!(
        claim,
        Claim::HeldByOther {
            owner: "c1".to_string(),
            until: t0() + lease()
        },
        "a live lease keeps other consumers out"
    );
}

ledger_test!(claim_takes_over_expired, claim_takes_over_expired_case);
async fn claim_takes_over_expired_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();

    let expiry = t0() + lease();
    let claim = db.ledger.claim("pi-1", None, "c2", expiry).await.unwrap();
    assert_eq!(
        claim,
        Claim::Claimed {
            attempts: 2,
            until: expiry + lease()
        },
        "an expired lease is taken over and counts a second attempt"
    );

    let release = db
        .ledger
        .release("pi-1", "c1", "transient", "timeout")
        .await
        .unwrap_err();
    assert!(
        matches!(&release, LedgerError::LeaseNotHeld { holder: Some(holder), .. } if holder == "c2"),
        "the previous holder cannot release: {release}"
    );
    let reject = db
        .ledger
        .mark_rejected("pi-1", "c1", "rejected", "员工不存在")
        .await
        .unwrap_err();
    assert!(
        matches!(reject, LedgerError::LeaseNotHeld { .. }),
        "the previous holder cannot reject: {reject}"
    );
}

ledger_test!(claim_same_owner_renews, claim_same_owner_renews_case);
async fn claim_same_owner_renews_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    let later = t0() + Duration::seconds(10);
    let claim = db.ledger.claim("pi-1", None, "c1", later).await.unwrap();
    assert_eq!(
        claim,
        Claim::Claimed {
            attempts: 2,
            until: later + lease()
        },
        "the holder renews its own lease"
    );
}

ledger_test!(claim_saved_is_duplicate, claim_saved_is_duplicate_case);
async fn claim_saved_is_duplicate_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_saved("pi-1", "c1", "FKD00000042", "100042")
        .await
        .unwrap();

    for (owner, now) in [("c1", t0()), ("c2", t0() + Duration::days(30))] {
        let claim = db
            .ledger
            .claim("pi-1", Some(&summary("pi-1")), owner, now)
            .await
            .unwrap();
        assert_eq!(
            claim,
            Claim::AlreadySaved {
                bill_no: "FKD00000042".to_string(),
                k3_id: "100042".to_string()
            },
            "a saved instance is never claimable again ({owner})"
        );
    }
    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Saved);
    assert_eq!(record.lease_owner, None, "saving clears the lease");
    assert!(record.saved_at.is_some(), "the save time is stored");
}

ledger_test!(claim_terminal_statuses, claim_terminal_statuses_case);
async fn claim_terminal_statuses_case(db: TestDb) {
    db.ledger
        .record_skipped(&summary("skipped"), "refused")
        .await
        .unwrap();
    published(&db, "rejected").await;
    db.ledger.claim("rejected", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_rejected("rejected", "c1", "rejected", "费用项目不存在")
        .await
        .unwrap();
    db.ledger
        .mark_dead("dead", "mapping", "报销类别 has no mapping")
        .await
        .unwrap();

    for (id, status) in [
        ("skipped", Status::Skipped),
        ("rejected", Status::Rejected),
        ("dead", Status::Dead),
    ] {
        let claim = db
            .ledger
            .claim(id, Some(&summary(id)), "c2", t0() + Duration::days(1))
            .await
            .unwrap();
        assert_eq!(claim, Claim::Terminal { status }, "{id} is not claimable");
    }
}

ledger_test!(mark_saved_same_bill_twice, mark_saved_same_bill_twice_case);
async fn mark_saved_same_bill_twice_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_saved("pi-1", "c1", "FKD001", "1")
        .await
        .unwrap();
    db.ledger
        .mark_saved("pi-1", "c1", "FKD001", "1")
        .await
        .unwrap();

    let saved_events = db
        .ledger
        .history("pi-1")
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.action == EventAction::Saved)
        .count();
    assert_eq!(
        saved_events, 1,
        "recording the same bill again adds no event"
    );
}

ledger_test!(mark_saved_different_bill, mark_saved_different_bill_case);
async fn mark_saved_different_bill_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_saved("pi-1", "c1", "FKD001", "1")
        .await
        .unwrap();

    let error = db
        .ledger
        .mark_saved("pi-1", "c2", "FKD002", "2")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LedgerError::DifferentBill { recorded_bill_no, .. } if recorded_bill_no == "FKD001"),
        "a second bill for one approval is reported: {error}"
    );
    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(
        record.bill_no.as_deref(),
        Some("FKD001"),
        "the first bill is kept"
    );
}

ledger_test!(
    mark_saved_after_lost_lease,
    mark_saved_after_lost_lease_case
);
async fn mark_saved_after_lost_lease_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .claim("pi-1", None, "c2", t0() + lease())
        .await
        .unwrap();

    db.ledger
        .mark_saved("pi-1", "c1", "FKD001", "1")
        .await
        .unwrap();
    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(
        record.status,
        Status::Saved,
        "a bill that exists is recorded"
    );
    assert_eq!(record.lease_owner, None);

    let last = db.ledger.history("pi-1").await.unwrap().pop().unwrap();
    assert_eq!(last.action, EventAction::Saved);
    assert!(
        last.detail.contains("c2"),
        "the audit trail names the overridden claim: {}",
        last.detail
    );
}

ledger_test!(mark_rejected_needs_claim, mark_rejected_needs_claim_case);
async fn mark_rejected_needs_claim_case(db: TestDb) {
    published(&db, "pi-1").await;
    let error = db
        .ledger
        .mark_rejected("pi-1", "c1", "rejected", "员工不存在")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            LedgerError::LeaseNotHeld {
                holder: None,
                status: Status::Published,
                ..
            }
        ),
        "rejecting without a claim fails: {error}"
    );

    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_rejected("pi-1", "c1", "rejected", "员工不存在")
        .await
        .unwrap();
    db.ledger
        .mark_rejected("pi-1", "c1", "rejected", "员工不存在")
        .await
        .expect("repeating the rejection does nothing");

    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Rejected);
    assert_eq!(record.last_error_kind.as_deref(), Some("rejected"));
    assert_eq!(record.last_error.as_deref(), Some("员工不存在"));
    assert_eq!(record.lease_owner, None);
}

ledger_test!(mark_rejected_saved_fails, mark_rejected_saved_fails_case);
async fn mark_rejected_saved_fails_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_saved("pi-1", "c1", "FKD001", "1")
        .await
        .unwrap();

    let error = db
        .ledger
        .mark_rejected("pi-1", "c1", "rejected", "late")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidTransition {
                from: Status::Saved,
                to: Status::Rejected,
                ..
            }
        ),
        "a saved bill cannot be rejected: {error}"
    );
}

ledger_test!(release_keeps_published, release_keeps_published_case);
async fn release_keeps_published_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .release("pi-1", "c1", "transient", "K3Cloud timed out after 30 s")
        .await
        .unwrap();

    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(
        record.status,
        Status::Published,
        "a released instance can be retried"
    );
    assert_eq!(record.lease_owner, None, "the lease is cleared");
    assert_eq!(record.attempts, 1, "the attempt stays counted");
    assert_eq!(record.last_error_kind.as_deref(), Some("transient"));
    assert_eq!(
        record.last_error.as_deref(),
        Some("K3Cloud timed out after 30 s")
    );

    db.ledger
        .release("pi-1", "c1", "transient", "K3Cloud timed out after 30 s")
        .await
        .expect("repeating the release does nothing");

    let claim = db
        .ledger
        .claim("pi-1", None, "c2", t0() + Duration::seconds(1))
        .await
        .unwrap();
    assert!(
        matches!(claim, Claim::Claimed { attempts: 2, .. }),
        "another consumer claims it right away as attempt 2: {claim:?}"
    );
}

ledger_test!(mark_dead_unknown_instance, mark_dead_unknown_instance_case);
async fn mark_dead_unknown_instance_case(db: TestDb) {
    db.ledger
        .mark_dead("pi-1", "invalid_message", "body is not JSON")
        .await
        .unwrap();
    db.ledger
        .mark_dead("pi-1", "invalid_message", "body is not JSON")
        .await
        .expect("repeating the dead letter does nothing");

    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Dead);
    assert_eq!(
        record.process_code, None,
        "nothing is known about the instance"
    );
    assert_eq!(record.last_error_kind.as_deref(), Some("invalid_message"));
    assert_eq!(db.ledger.history("pi-1").await.unwrap().len(), 1);
}

ledger_test!(mark_dead_saved_fails, mark_dead_saved_fails_case);
async fn mark_dead_saved_fails_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_saved("pi-1", "c1", "FKD001", "1")
        .await
        .unwrap();

    let error = db
        .ledger
        .mark_dead("pi-1", "exhausted", "late")
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidTransition {
                from: Status::Saved,
                to: Status::Dead,
                ..
            }
        ),
        "a saved instance is not dead-lettered: {error}"
    );
}

ledger_test!(mark_dead_clears_claim, mark_dead_clears_claim_case);
async fn mark_dead_clears_claim_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_dead("pi-1", "exhausted", "5 attempts failed")
        .await
        .unwrap();

    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Dead);
    assert_eq!(record.lease_owner, None);
    assert_eq!(record.attempts, 1, "attempts are kept for the audit");
}

ledger_test!(reopen_for_replay_cycle, reopen_for_replay_cycle_case);
async fn reopen_for_replay_cycle_case(db: TestDb) {
    published(&db, "pi-1").await;
    db.ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    db.ledger
        .mark_rejected("pi-1", "c1", "rejected", "员工不存在")
        .await
        .unwrap();

    let replay_count = db.ledger.reopen_for_replay("pi-1").await.unwrap();
    assert_eq!(replay_count, 1);
    let record = db.ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Published);
    assert_eq!(record.attempts, 0, "a replay starts counting attempts anew");
    assert_eq!(record.replay_count, 1);

    let repeat = db.ledger.reopen_for_replay("pi-1").await.unwrap_err();
    assert!(
        matches!(
            repeat,
            LedgerError::InvalidTransition {
                from: Status::Published,
                ..
            }
        ),
        "an instance is reopened once per dead letter: {repeat}"
    );

    let claim = db.ledger.claim("pi-1", None, "c2", t0()).await.unwrap();
    assert!(
        matches!(claim, Claim::Claimed { attempts: 1, .. }),
        "{claim:?}"
    );
    db.ledger
        .mark_dead("pi-1", "exhausted", "timeouts")
        .await
        .unwrap();
    assert_eq!(db.ledger.reopen_for_replay("pi-1").await.unwrap(), 2);

    let missing = db.ledger.reopen_for_replay("pi-unknown").await.unwrap_err();
    assert!(matches!(missing, LedgerError::NotFound { .. }), "{missing}");
}

ledger_test!(history_full_lifecycle, history_full_lifecycle_case);
async fn history_full_lifecycle_case(db: TestDb) {
    let ledger = &db.ledger;
    let consumer = db.ledger.clone().with_actor("consumer-a");
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    ledger.mark_published("pi-1").await.unwrap();
    consumer
        .claim("pi-1", None, "consumer-a", t0())
        .await
        .unwrap();
    consumer
        .mark_rejected("pi-1", "consumer-a", "rejected", "员工不存在")
        .await
        .unwrap();
    ledger.reopen_for_replay("pi-1").await.unwrap();
    consumer
        .claim("pi-1", None, "consumer-b", t0())
        .await
        .unwrap();
    consumer
        .release("pi-1", "consumer-b", "transient", "timeout")
        .await
        .unwrap();
    consumer
        .claim("pi-1", None, "consumer-b", t0() + Duration::seconds(60))
        .await
        .unwrap();
    consumer
        .mark_saved("pi-1", "consumer-b", "FKD001", "1")
        .await
        .unwrap();

    let history = ledger.history("pi-1").await.unwrap();
    let steps: Vec<(EventAction, Status, &str)> = history
        .iter()
        .map(|event| (event.action, event.status, event.actor.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (EventAction::Recorded, Status::Pending, "test-producer"),
            (EventAction::Published, Status::Published, "test-producer"),
            (EventAction::Claimed, Status::Saving, "consumer-a"),
            (EventAction::Rejected, Status::Rejected, "consumer-a"),
            (EventAction::Reopened, Status::Published, "test-producer"),
            (EventAction::Claimed, Status::Saving, "consumer-b"),
            (EventAction::Released, Status::Published, "consumer-b"),
            (EventAction::Claimed, Status::Saving, "consumer-b"),
            (EventAction::Saved, Status::Saved, "consumer-b"),
        ],
        "every change is in the audit trail, in order, with its actor"
    );
    assert_eq!(history[3].detail, "rejected: 员工不存在");
    assert!(history.windows(2).all(|pair| pair[0].id < pair[1].id));
}
