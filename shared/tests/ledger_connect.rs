//! Opening the ledger: SQLite files and folders created on first start, migrations
//! that run again harmlessly at every start, and connection failures.

mod ledger_support;

use dingk3::ledger::{BackendKind, Ledger, LedgerError, RawLedgerConfig, Status};
use ledger_support::{TestDb, summary};

fn settings(url: &str) -> dingk3::ledger::LedgerSettings {
    RawLedgerConfig {
        url: url.to_string(),
        ..RawLedgerConfig::default()
    }
    .validate()
    .expect("valid settings")
}

#[tokio::test]
async fn sqlite_creates_file_and_folders() {
    let root = tempfile::tempdir().unwrap();
    let file = root
        .path()
        .join("a b#c")
        .join("nested")
        .join("ledger.sqlite");
    let url = format!("sqlite://{}", file.display());

    let ledger = Ledger::connect(&settings(&url)).await.unwrap();
    assert_eq!(ledger.backend(), BackendKind::Sqlite);
    ledger.record_pending(&summary("pi-1")).await.unwrap();
    ledger.close().await;

    assert!(
        file.is_file(),
        "the database file and its folders are created: {}",
        file.display()
    );
}

#[tokio::test]
async fn sqlite_reopen_keeps_rows() {
    let root = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/ledger.sqlite", root.path().display());

    let first = Ledger::connect(&settings(&url)).await.unwrap();
    first.record_pending(&summary("pi-1")).await.unwrap();
    first.close().await;

    let second = Ledger::connect(&settings(&url))
        .await
        .expect("migrations that already ran are skipped");
    let record = second.get("pi-1").await.unwrap();
    assert_eq!(
        record.map(|record| record.status),
        Some(Status::Pending),
        "rows survive a restart"
    );
}

#[tokio::test]
async fn sqlite_unwritable_folder_fails() {
    let root = tempfile::tempdir().unwrap();
    let blocker = root.path().join("file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let url = format!("sqlite://{}/ledger.sqlite", blocker.display());

    let error = Ledger::connect(&settings(&url)).await.unwrap_err();
    assert!(
        matches!(error, LedgerError::CreateFolder { .. }),
        "a path below a file cannot become a folder: {error}"
    );
}

#[tokio::test]
async fn postgres_unreachable_fails() {
    // Nothing listens on port 1 of the loopback interface.
    let url = "postgres://postgres@127.0.0.1:1/test";
    let error = Ledger::connect(&settings(url)).await.unwrap_err();
    assert!(
        matches!(error, LedgerError::Connect { .. }),
        "an unreachable server is a connection error: {error}"
    );
    assert!(
        error.is_transient(),
        "a refused connection may pass: {error}"
    );
}

ledger_test!(
    reopen_runs_migrations_again,
    reopen_runs_migrations_again_case
);
async fn reopen_runs_migrations_again_case(db: TestDb) {
    db.ledger.record_pending(&summary("pi-1")).await.unwrap();
    let second = db.second_handle().await;
    let record = second.get("pi-1").await.unwrap();
    assert_eq!(
        record.map(|record| record.status),
        Some(Status::Pending),
        "a second start sees the rows of the first"
    );
    second.ping().await.expect("a live database answers");
    second.close().await;
    assert!(
        second.ping().await.is_err(),
        "a closed handle does not answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_first_start() {
    // A producer and two consumers started together on a new file all migrate it.
    let root = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", root.path().join("ledger.sqlite").display());
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let settings = settings(&url);
            tokio::spawn(async move { Ledger::connect(&settings).await })
        })
        .collect();
    for start in starts {
        let ledger = start
            .await
            .expect("the start did not panic")
            .expect("every start opens the new ledger");
        ledger.close().await;
    }
}
