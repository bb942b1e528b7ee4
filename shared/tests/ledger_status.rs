//! Views for status output and the dead-letter tooling on SQLite and PostgreSQL:
//! counts per status, recent errors, lookups and histories.

mod ledger_support;

use std::time::Duration as StdDuration;

use dingk3::ledger::Status;
use ledger_support::{TestDb, summary, t0};

ledger_test!(counts_cover_every_status, counts_cover_every_status_case);
async fn counts_cover_every_status_case(db: TestDb) {
    let ledger = &db.ledger;
    let empty = ledger.counts_by_status().await.unwrap();
    assert_eq!(empty.len(), Status::ALL.len(), "every status is listed");
    assert!(empty.values().all(|count| *count == 0), "{empty:?}");

    ledger.record_pending(&summary("pending")).await.unwrap();
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
        .mark_dead("dead-1", "invalid_message", "not JSON")
        .await
        .unwrap();
    ledger
        .mark_dead("dead-2", "invalid_message", "not JSON")
        .await
        .unwrap();

    let counts = ledger.counts_by_status().await.unwrap();
    let expected = [
        (Status::Pending, 1),
        (Status::Skipped, 1),
        (Status::Published, 0),
        (Status::Saving, 1),
        (Status::Saved, 1),
        (Status::Rejected, 0),
        (Status::Dead, 2),
    ];
    for (status, count) in expected {
        assert_eq!(counts[&status], count, "count of {status}");
    }
}

ledger_test!(last_errors_newest_first, last_errors_newest_first_case);
async fn last_errors_newest_first_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger
        .mark_dead("dead", "exhausted", "5 attempts timed out")
        .await
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(5)).await;

    ledger
        .claim("retrying", Some(&summary("retrying")), "c1", t0())
        .await
        .unwrap();
    ledger
        .release("retrying", "c1", "transient", "HTTP 502")
        .await
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(5)).await;

    ledger
        .claim("saved", Some(&summary("saved")), "c1", t0())
        .await
        .unwrap();
    ledger
        .release("saved", "c1", "transient", "HTTP 503")
        .await
        .unwrap();
    ledger.claim("saved", None, "c1", t0()).await.unwrap();
    ledger
        .mark_saved("saved", "c1", "FKD001", "1")
        .await
        .unwrap();
    tokio::time::sleep(StdDuration::from_millis(5)).await;

    ledger
        .claim("rejected", Some(&summary("rejected")), "c1", t0())
        .await
        .unwrap();
    ledger
        .mark_rejected("rejected", "c1", "rejected", "费用项目 FYXM99 不存在")
        .await
        .unwrap();

    let errors = ledger.last_errors(10).await.unwrap();
    let ids: Vec<&str> = errors
        .iter()
        .map(|record| record.process_instance_id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["rejected", "retrying", "dead"],
        "failed instances newest first, saved ones left out"
    );
    assert_eq!(
        errors[0].last_error.as_deref(),
        Some("费用项目 FYXM99 不存在")
    );

    let limited = ledger.last_errors(2).await.unwrap();
    assert_eq!(limited.len(), 2, "the limit is applied");
}

ledger_test!(find_by_business_id, find_by_business_id_case);
async fn find_by_business_id_case(db: TestDb) {
    let ledger = &db.ledger;
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    ledger.record_pending(&summary("pi-2")).await.unwrap();

    let by_business_id = ledger.find("2026110408pi-2").await.unwrap();
    assert_eq!(by_business_id.len(), 1);
    assert_eq!(by_business_id[0].process_instance_id, "pi-2");

    let by_id = ledger.find("pi-1").await.unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].process_instance_id, "pi-1");

    assert!(ledger.find("nothing").await.unwrap().is_empty());
    assert!(ledger.get("nothing").await.unwrap().is_none());
}

ledger_test!(history_unknown_is_empty, history_unknown_is_empty_case);
async fn history_unknown_is_empty_case(db: TestDb) {
    assert!(db.ledger.history("pi-unknown").await.unwrap().is_empty());
}
