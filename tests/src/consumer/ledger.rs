//! A fresh ledger database per test: a SQLite file in a temporary folder, or a schema
//! of its own in the PostgreSQL database at `DATABASE_URL`, dropped at the end.

use std::io::Write;

use dingk3::ledger::{Ledger, LedgerSettings, RawLedgerConfig};
use sqlx::Connection;

/// Lease of the test ledgers. Long enough for every write of a test; tests that need
/// an expired lease set their own.
pub const LEASE_SECONDS: u64 = 60;

/// Which database a test ledger uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// A SQLite file.
    Sqlite,
    /// A schema in the database at `DATABASE_URL`.
    Postgres,
}

/// A test ledger database and a handle to it.
pub struct TestLedger {
    /// Settings that open this database; give them to every consumer of the test.
    pub settings: LedgerSettings,

    /// A handle for the test's own checks.
    pub ledger: Ledger,

    folder: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestLedger {
    /// Opens a new ledger of `kind`. Returns `None` for PostgreSQL when `DATABASE_URL`
    /// is unset, after saying so on stderr; panics when it is set but unreachable.
    pub async fn open(kind: LedgerKind, test: &str) -> Option<TestLedger> {
        match kind {
            LedgerKind::Sqlite => Some(TestLedger::sqlite().await),
            LedgerKind::Postgres => TestLedger::postgres(test).await,
        }
    }

    async fn sqlite() -> TestLedger {
        let folder = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}/ledger.sqlite", folder.path().display());
        let (settings, ledger) = connect(&url).await;
        TestLedger {
            settings,
            ledger,
            folder: Some(folder),
            schema: None,
        }
    }

    async fn postgres(test: &str) -> Option<TestLedger> {
        let Ok(database_url) = std::env::var("DATABASE_URL") else {
            let _ = writeln!(
                std::io::stderr(),
                "DATABASE_URL is not set: the PostgreSQL variant of {test} did not run"
            );
            return None;
        };
        let schema = format!("consumer_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&database_url)
            .await
            .unwrap_or_else(|error| panic!("DATABASE_URL {database_url} is unreachable: {error}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .expect("create the test schema");
        let _ = admin.close().await;
        let separator = if database_url.contains('?') { '&' } else { '?' };
        let url = format!("{database_url}{separator}options[search_path]={schema}");
        let (settings, ledger) = connect(&url).await;
        Some(TestLedger {
            settings,
            ledger,
            folder: None,
            schema: Some((database_url, schema)),
        })
    }

    /// Closes the handle and drops the PostgreSQL schema.
    pub async fn close(mut self) {
        self.ledger.close().await;
        if let Some((database_url, schema)) = self.schema.take() {
            match sqlx::PgConnection::connect(&database_url).await {
                Ok(mut admin) => {
                    let drop = format!("DROP SCHEMA {schema} CASCADE");
                    if let Err(error) = sqlx::query(&drop).execute(&mut admin).await {
                        eprintln!("dropping test schema {schema} failed: {error}");
                    }
                    let _ = admin.close().await;
                }
                Err(error) => eprintln!("dropping test schema {schema} failed: {error}"),
            }
        }
        drop(self.folder.take());
    }
}

async fn connect(url: &str) -> (LedgerSettings, Ledger) {
    let settings = RawLedgerConfig {
        url: url.to_string(),
        lease_seconds: LEASE_SECONDS,
        max_connections: 8,
        ..RawLedgerConfig::default()
    }
    .validate()
    .expect("test ledger settings are valid");
    let ledger = Ledger::connect(&settings)
        .await
        .unwrap_or_else(|error| panic!("connect to the test ledger {url}: {error}"));
    (settings, ledger.with_actor("consumer-test"))
}
