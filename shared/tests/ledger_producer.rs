//! Producer-side ledger operations on SQLite and PostgreSQL: recording what a poll
//! saw without moving any instance backwards, choosing which details to fetch, and
//! the monotonic watermark.

mod ledger_support;

use chrono::{Duration, Utc};
use dingk3::ledger::{EventAction, LedgerError, Status};
use ledger_support::{TestDb, summary, t0};
use rust_decimal::Decimal;

ledger_test!(
    record_pending_stores_summary,
    record_pending_stores_summary_case
);
async fn record_pending_stores_summary_case(db: TestDb) {
    let ledger = &db.ledger;
    let mut instance = summary("pi-1");
    instance.total_amount = Some("12345678901234567890.10".parse::<Decimal>().unwrap());

    let status = ledger.record_pending(&instance).await.unwrap();
    assert_eq!(status, Status::Pending, "a new running instance is pending");

    let record = ledger.get("pi-1").await.unwrap().expect("row exists");
    assert_eq!(record.process_code.as_deref(), Some("PROC-REIMBURSE"));
    assert_eq!(record.business_id.as_deref(), Some("2026110408pi-1"));
    assert_eq!(record.title.as_deref(), Some("张三提交的报销"));
    assert_eq!(record.originator_userid.as_deref(), Some("manager4512"));
    assert_eq!(
        record
            .total_amount
            .map(|amount| amount.to_string())
            .as_deref(),
        Some("12345678901234567890.10"),
        "the amount must come back exactly, with its scale"
    );
    assert_eq!(record.create_time, Some(t0()));
    assert_eq!(record.attempts, 0);
    assert_eq!(
        record.published_at, None,
        "a pending instance is not published"
    );

    let history = ledger.history("pi-1").await.unwrap();
    assert_eq!(history.len(), 1, "one event for the first sighting");
    assert_eq!(history[0].action, EventAction::Recorded);
    assert_eq!(history[0].actor, "test-producer");
}

ledger_test!(
    record_pending_twice_is_noop,
    record_pending_twice_is_noop_case
);
async fn record_pending_twice_is_noop_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    let status = ledger.record_pending(&summary("pi-1")).await.unwrap();

    assert_eq!(status, Status::Pending);
    let history = ledger.history("pi-1").await.unwrap();
    assert_eq!(
        history.len(),
        1,
        "seeing a running instance again adds no event"
    );
}

ledger_test!(
    record_pending_keeps_later_status,
    record_pending_keeps_later_status_case
);
async fn record_pending_keeps_later_status_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-pub")).await.unwrap();
    ledger.mark_published("pi-pub").await.unwrap();
    let status = ledger.record_pending(&summary("pi-pub")).await.unwrap();
    assert_eq!(
        status,
        Status::Published,
        "a published instance is not reset"
    );

    ledger.record_pending(&summary("pi-saved")).await.unwrap();
    ledger.claim("pi-saved", None, "c1", t0()).await.unwrap();
    ledger
        .mark_saved("pi-saved", "c1", "FKD001", "100001")
        .await
        .unwrap();
    let status = ledger.record_pending(&summary("pi-saved")).await.unwrap();
    assert_eq!(status, Status::Saved, "a saved instance stays saved");
    let record = ledger.get("pi-saved").await.unwrap().unwrap();
    assert_eq!(record.bill_no.as_deref(), Some("FKD001"));
}

ledger_test!(
    record_skipped_from_pending,
    record_skipped_from_pending_case
);
async fn record_skipped_from_pending_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    let status = ledger
        .record_skipped(&summary("pi-1"), "refused by approver")
        .await
        .unwrap();
    assert_eq!(status, Status::Skipped);

    let record = ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(record.skip_reason.as_deref(), Some("refused by approver"));

    let again = ledger.record_pending(&summary("pi-1")).await.unwrap();
    assert_eq!(
        again,
        Status::Skipped,
        "a skipped instance does not return to pending"
    );

    let repeated = ledger
        .record_skipped(&summary("pi-1"), "terminated")
        .await
        .unwrap();
    assert_eq!(repeated, Status::Skipped);
    let record = ledger.get("pi-1").await.unwrap().unwrap();
    assert_eq!(
        record.skip_reason.as_deref(),
        Some("refused by approver"),
        "the first reason is kept"
    );
    let history = ledger.history("pi-1").await.unwrap();
    assert_eq!(
        history.len(),
        2,
        "recorded and skipped, nothing for the repeat"
    );
}

ledger_test!(
    record_skipped_new_instance,
    record_skipped_new_instance_case
);
async fn record_skipped_new_instance_case(db: TestDb) {
    let ledger = &db.ledger;
    let status = ledger
        .record_skipped(&summary("pi-1"), "cancelled by originator")
        .await
        .unwrap();
    assert_eq!(status, Status::Skipped);
    let history = ledger.history("pi-1").await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, EventAction::Skipped);
    assert_eq!(history[0].detail, "cancelled by originator");
}

ledger_test!(
    record_skipped_keeps_published,
    record_skipped_keeps_published_case
);
async fn record_skipped_keeps_published_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    ledger.mark_published("pi-1").await.unwrap();
    let status = ledger
        .record_skipped(&summary("pi-1"), "terminated")
        .await
        .unwrap();
    assert_eq!(
        status,
        Status::Published,
        "a published instance is not skipped"
    );
}

ledger_test!(mark_published_idempotent, mark_published_idempotent_case);
async fn mark_published_idempotent_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    let first = ledger.mark_published("pi-1").await.unwrap();
    let second = ledger.mark_published("pi-1").await.unwrap();

    assert_eq!(first, Status::Published);
    assert_eq!(second, Status::Published);
    let record = ledger.get("pi-1").await.unwrap().unwrap();
    assert!(record.published_at.is_some(), "publication time is stored");
    let published_events = ledger
        .history("pi-1")
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.action == EventAction::Published)
        .count();
    assert_eq!(published_events, 1, "the repeat adds no event");
}

ledger_test!(mark_published_keeps_claim, mark_published_keeps_claim_case);
async fn mark_published_keeps_claim_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    // The consumer can claim before the producer records the broker's confirm.
    ledger.claim("pi-1", None, "c1", t0()).await.unwrap();
    let status = ledger.mark_published("pi-1").await.unwrap();
    assert_eq!(status, Status::Saving, "a claimed instance keeps its claim");
}

ledger_test!(
    mark_published_unknown_fails,
    mark_published_unknown_fails_case
);
async fn mark_published_unknown_fails_case(db: TestDb) {
    let error = db.ledger.mark_published("pi-unknown").await.unwrap_err();
    assert!(
        matches!(error, LedgerError::NotFound { .. }),
        "an unrecorded instance is not found: {error}"
    );
}

ledger_test!(
    open_instances_pending_only,
    open_instances_pending_only_case
);
async fn open_instances_pending_only_case(db: TestDb) {
    let ledger = &db.ledger;
    let mut late = summary("pi-late");
    late.create_time = t0() + Duration::days(2);
    let mut early = summary("pi-early");
    early.create_time = t0() - Duration::days(40);
    let mut published = summary("pi-published");
    published.create_time = t0() - Duration::days(90);
    let mut other_code = summary("pi-other");
    other_code.process_code = "PROC-PAYMENT".to_string();

    for instance in [&late, &early, &published, &other_code] {
        ledger.record_pending(instance).await.unwrap();
    }
    ledger.mark_published("pi-published").await.unwrap();

    let open = ledger.open_instances("PROC-REIMBURSE").await.unwrap();
    assert_eq!(
        open,
        vec![
            ("pi-early".to_string(), early.create_time),
            ("pi-late".to_string(), late.create_time),
        ],
        "pending instances of the code, oldest first"
    );
}

ledger_test!(needs_fetch_skips_settled, needs_fetch_skips_settled_case);
async fn needs_fetch_skips_settled_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pending")).await.unwrap();
    ledger.record_pending(&summary("published")).await.unwrap();
    ledger.mark_published("published").await.unwrap();
    ledger
        .record_skipped(&summary("skipped"), "refused")
        .await
        .unwrap();
    ledger
        .claim("saving", Some(&summary("saving")), "c1", t0())
        .await
        .unwrap();
    ledger
        .claim("saved", Some(&summary("saved")), "c1", t0())
        .await
        .unwrap();
    ledger
        .mark_saved("saved", "c1", "FKD001", "1")
        .await
        .unwrap();
    ledger
        .mark_dead("dead", "invalid_message", "truncated JSON")
        .await
        .unwrap();

    let ids: Vec<String> = [
        "new-b",
        "pending",
        "published",
        "skipped",
        "saving",
        "saved",
        "dead",
        "new-a",
        "new-b",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let needed = ledger.needs_fetch(&ids).await.unwrap();
    assert_eq!(
        needed,
        vec![
            "new-b".to_string(),
            "pending".to_string(),
            "new-a".to_string()
        ],
        "unknown and pending ids, in input order, without repeats"
    );
}

ledger_test!(needs_fetch_many_ids, needs_fetch_many_ids_case);
async fn needs_fetch_many_ids_case(db: TestDb) {
    let ledger = &db.ledger;
    let ids: Vec<String> = (0..1_234).map(|n| format!("pi-{n:05}")).collect();
    for id in ids.iter().step_by(2) {
        ledger
            .record_skipped(&summary(id), "refused")
            .await
            .unwrap();
    }

    let needed = ledger.needs_fetch(&ids).await.unwrap();
    let expected: Vec<String> = ids.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(needed.len(), 617, "every odd id is unknown");
    assert_eq!(
        needed, expected,
        "lists longer than one query are split correctly"
    );
}

ledger_test!(watermark_is_monotonic, watermark_is_monotonic_case);
async fn watermark_is_monotonic_case(db: TestDb) {
    let ledger = &db.ledger;
    assert_eq!(
        ledger.watermark("PROC-REIMBURSE").await.unwrap(),
        None,
        "no watermark before the first poll"
    );

    let later = t0() + Duration::milliseconds(1_500);
    assert_eq!(
        ledger.set_watermark("PROC-REIMBURSE", later).await.unwrap(),
        later
    );
    let kept = ledger.set_watermark("PROC-REIMBURSE", t0()).await.unwrap();
    assert_eq!(kept, later, "an older watermark does not move it backwards");
    assert_eq!(
        ledger.watermark("PROC-REIMBURSE").await.unwrap(),
        Some(later)
    );

    let latest = later + Duration::hours(1);
    assert_eq!(
        ledger
            .set_watermark("PROC-REIMBURSE", latest)
            .await
            .unwrap(),
        latest
    );
    assert_eq!(
        ledger.watermark("PROC-PAYMENT").await.unwrap(),
        None,
        "each process code has its own watermark"
    );
}

ledger_test!(
    watermark_drops_sub_millisecond,
    watermark_drops_sub_millisecond_case
);
async fn watermark_drops_sub_millisecond_case(db: TestDb) {
    let now = Utc::now();
    let stored = db
        .ledger
        .set_watermark("PROC-REIMBURSE", now)
        .await
        .unwrap();
    assert_eq!(stored.timestamp_millis(), now.timestamp_millis());
    assert!(
        stored <= now,
        "truncation never moves the watermark ahead of the poll"
    );
}
