//! Shared setup of the ledger integration tests: a fresh database per test, on SQLite
//! (a file in a temporary folder) and on PostgreSQL (a schema of its own in the
//! database at `DATABASE_URL`, dropped afterwards).
//!
//! `ledger_test!(name, case)` turns `async fn case(db: TestDb)` into two tests,
//! `name::sqlite` and `name::postgres`. The PostgreSQL variant fails when
//! `DATABASE_URL` is set but unreachable, and reports on stderr that it did not run
//! when `DATABASE_URL` is unset.

#![allow(dead_code)]

use std::future::Future;
use std::io::Write;

use chrono::{DateTime, TimeZone, Utc};
use dingk3::ledger::{BackendKind, InstanceSummary, Ledger, LedgerSettings, RawLedgerConfig};
use rust_decimal::Decimal;
use sqlx::Connection;

/// Lease of the ledgers built here; tests move `now` past it to expire a claim.
pub const LEASE_SECONDS: u64 = 30;

/// A fresh ledger database for one test.
#[derive(Clone)]
pub struct TestDb {
    /// Settings that open this test's database.
    pub settings: LedgerSettings,
    /// A connected handle.
    pub ledger: Ledger,
}

impl TestDb {
    /// Opens a second handle with its own connection pool, as a second process would.
    pub async fn second_handle(&self) -> Ledger {
        Ledger::connect(&self.settings)
            .await
            .expect("a second handle connects to the same database")
    }
}

/// Builds `case(db: TestDb)` into a SQLite test and a PostgreSQL test.
#[macro_export]
macro_rules! ledger_test {
    ($name:ident, $case:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $crate::ledger_support::run_on_sqlite(super::$case).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $crate::ledger_support::run_on_postgres(
                    concat!(module_path!(), "::postgres"),
                    super::$case,
                )
                .await;
            }
        }
    };
}

/// Runs `case` against a new SQLite file in a temporary folder.
pub async fn run_on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let folder = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}/ledger.sqlite", folder.path().display());
    let db = open(&url).await;
    case(db).await;
    drop(folder);
}

/// Runs `case` in a new schema of the PostgreSQL database at `DATABASE_URL` and drops
/// the schema afterwards, also when `case` panics.
pub async fn run_on_postgres<F, Fut>(test: &str, case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(database_url) = std::env::var("DATABASE_URL") else {
        // Written past the test harness's capture so that the skip is visible.
        let _ = writeln!(
            std::io::stderr(),
            "DATABASE_URL is not set: the PostgreSQL test {test} did not run"
        );
        return;
    };

    let schema = format!("ledger_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&database_url)
        .await
        .unwrap_or_else(|error| panic!("DATABASE_URL {database_url} is unreachable: {error}"));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create the test schema");

    let separator = if database_url.contains('?') { '&' } else { '?' };
    let url = format!("{database_url}{separator}options[search_path]={schema}");
    let db = open(&url).await;
    assert_eq!(
        db.ledger.backend(),
        BackendKind::Postgres,
        "DATABASE_URL must name a PostgreSQL database"
    );
    let outcome = tokio::spawn(case(db.clone())).await;
    db.ledger.close().await;

    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop the test schema");
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn open(url: &str) -> TestDb {
    let raw = RawLedgerConfig {
        url: url.to_string(),
        lease_seconds: LEASE_SECONDS,
        max_connections: 8,
        ..RawLedgerConfig::default()
    };
    let settings = raw.validate().expect("test ledger settings are valid");
    let ledger = Ledger::connect(&settings)
        .await
        .unwrap_or_else(|error| panic!("connect to the test ledger {url}: {error}"));
    TestDb {
        settings,
        ledger: ledger.with_actor("test-producer"),
    }
}

/// Returns a fixed point in time, so that lease arithmetic in tests is exact.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 4, 8, 40, 5).unwrap()
}

/// Builds the summary of a reimbursement approval with the given id.
pub fn summary(id: &str) -> InstanceSummary {
    InstanceSummary {
        process_instance_id: id.to_string(),
        process_code: "PROC-REIMBURSE".to_string(),
        business_id: format!("2026110408{id}"),
        title: "张三提交的报销".to_string(),
        originator_userid: "manager4512".to_string(),
        total_amount: Some("1234.50".parse::<Decimal>().unwrap()),
        create_time: t0(),
    }
}
