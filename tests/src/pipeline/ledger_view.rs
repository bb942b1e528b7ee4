//! Whole-ledger reads for the checks of a run: every instance row at once, and which
//! actor recorded which events. The ledger's API looks instances up one at a time,
//! which is what the pipeline needs, but a settle check reads all of them.
//!
//! These queries read the tables the embedded migrations create (`ledger_instances`,
//! `ledger_events`) through a pool of the test's own.

use std::collections::BTreeMap;

use dingk3::ledger::{LedgerBackend, LedgerSettings, Status};
use secrecy::ExposeSecret;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Row};

/// The parts of a ledger row the checks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// Current status.
    pub status: Status,
    /// K3Cloud bill number, once saved.
    pub bill_no: Option<String>,
    /// Kind of the last failure.
    pub last_error_kind: Option<String>,
    /// Text of the last failure.
    pub last_error: Option<String>,
    /// Write attempts since publication.
    pub attempts: i64,
}

/// A read-only view of a run's ledger.
pub struct LedgerView {
    pool: AnyPool,
}

impl LedgerView {
    /// Opens a small pool on the database of `settings`, which the ledger has already
    /// created and migrated.
    pub async fn open(settings: &LedgerSettings) -> LedgerView {
        sqlx::any::install_default_drivers();
        let url = match &settings.backend {
            LedgerBackend::Sqlite { path } => format!("sqlite://{}", path.display()),
            LedgerBackend::Postgres { url } => {
                let mut url = url.clone();
                if let Some(password) = &settings.password {
                    url.set_password(Some(password.expose_secret()))
                        .expect("a PostgreSQL URL takes a password");
                }
                url.to_string()
            }
        };
        let options = AnyConnectOptions::from_url(&url.parse().expect("the ledger URL parses"))
            .expect("the ledger URL is a database URL");
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await
            .unwrap_or_else(|error| panic!("the test cannot open the ledger {url}: {error}"));
        LedgerView { pool }
    }

    /// Returns every instance row by process instance id.
    pub async fn rows(&self) -> BTreeMap<String, LedgerRow> {
        let rows = sqlx::query(
            "SELECT process_instance_id, status, bill_no, last_error_kind, last_error, attempts \
             FROM ledger_instances",
        )
        .fetch_all(&self.pool)
        .await
        .expect("the ledger instances can be read");
        rows.iter()
            .map(|row| {
                let id: String = row.get(0);
                let status: String = row.get(1);
                let record = LedgerRow {
                    status: status
                        .parse()
                        .unwrap_or_else(|error| panic!("ledger row {id}: {error}")),
                    bill_no: row.get(2),
                    last_error_kind: row.get(3),
                    last_error: row.get(4),
                    attempts: row.get(5),
                };
                (id, record)
            })
            .collect()
    }

    /// Returns the bill number and K3Cloud id of every `saved` row, by process
    /// instance id.
    pub async fn saved_bills(&self) -> BTreeMap<String, (Option<String>, Option<String>)> {
        let rows = sqlx::query(
            "SELECT process_instance_id, bill_no, k3_id FROM ledger_instances \
             WHERE status = 'saved'",
        )
        .fetch_all(&self.pool)
        .await
        .expect("the ledger instances can be read");
        rows.iter()
            .map(|row| (row.get(0), (row.get(1), row.get(2))))
            .collect()
    }

    /// Counts the audit events with `action` (e.g. `saved`) per actor.
    pub async fn events_by_actor(&self, action: &str) -> BTreeMap<String, i64> {
        let rows = sqlx::query(
            "SELECT actor, COUNT(*) FROM ledger_events WHERE action = $1 GROUP BY actor",
        )
        .bind(action)
        .fetch_all(&self.pool)
        .await
        .expect("the ledger events can be read");
        rows.iter()
            .map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1)))
            .collect()
    }

    /// Counts the rows with `status`.
    pub async fn count_status(&self, status: Status) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger_instances WHERE status = $1")
            .bind(status.to_string())
            .fetch_one(&self.pool)
            .await
            .expect("the ledger instances can be counted")
    }

    /// Returns `(published_at, saved_at)` of every `saved` row, in UTC milliseconds
    /// since the Unix epoch; `published_at` is the producer's confirm, or the first
    /// claim of a message published by someone else.
    pub async fn save_times(&self) -> Vec<(i64, i64)> {
        let rows = sqlx::query(
            "SELECT published_at, saved_at FROM ledger_instances \
             WHERE status = 'saved' AND published_at IS NOT NULL AND saved_at IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await
        .expect("the ledger save times can be read");
        rows.iter()
            .map(|row| (row.get::<i64, _>(0), row.get::<i64, _>(1)))
            .collect()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
