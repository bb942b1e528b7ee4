//! Opening the ledger: the connection pool, the SQLite file and folder, and the
//! embedded schema migrations.
//!
//! One query layer serves both databases through sqlx's `Any` driver: every statement
//! is written in the SQL that SQLite (3.35 or later, for `RETURNING`) and PostgreSQL
//! share, with `$n` placeholders, 64-bit integers for times and text for amounts. Only
//! the schema differs, so each database has its own migration set, chosen by the URL
//! scheme: `shared/migrations/sqlite` and `shared/migrations/postgres`.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use secrecy::ExposeSecret;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, ConnectOptions, Transaction};
use url::Url;

use crate::ledger::config::{LedgerBackend, LedgerSettings};
use crate::ledger::error::{LedgerError, database};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a caller waits for a pooled connection before the operation fails as
/// transient.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Migration runs on a SQLite file before a failure is reported; see `connect`.
const SQLITE_MIGRATE_ATTEMPTS: u32 = 5;

/// Pause between two migration runs on a SQLite file.
const SQLITE_MIGRATE_PAUSE: Duration = Duration::from_millis(200);

/// Actor written to audit events when the caller did not name one.
const DEFAULT_ACTOR: &str = "dingk3";

/// Kind of database behind a [`Ledger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// Handle to the ledger database; cheap to clone, all clones share one pool.
#[derive(Debug, Clone)]
pub struct Ledger {
    pub(crate) pool: AnyPool,
    pub(crate) kind: BackendKind,
    pub(crate) lease_millis: i64,
    pub(crate) actor: Arc<str>,
    display_url: Arc<str>,
}

impl Ledger {
    /// Opens the database, creating a SQLite file and its folder if missing, and
    /// applies the embedded migrations that it has not applied yet.
    pub async fn connect(settings: &LedgerSettings) -> Result<Ledger, LedgerError> {
        sqlx::any::install_default_drivers();

        let display_url = settings.display_url();
        let (kind, url) = match &settings.backend {
            LedgerBackend::Sqlite { path } => (BackendKind::Sqlite, sqlite_url(path)?),
            LedgerBackend::Postgres { url } => (BackendKind::Postgres, postgres_url(url, settings)),
        };

        let options = AnyConnectOptions::from_url(&url)
            .map_err(|source| connect_error(&display_url, source))?;
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| connect_error(&display_url, source))?;

        if kind == BackendKind::Sqlite {
            // Write-ahead logging lets readers proceed while one connection writes; the
            // mode is stored in the file, so setting it once per start is enough.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(|source| connect_error(&display_url, source))?;
        }

        let migrator = match kind {
            BackendKind::Sqlite => &SQLITE_MIGRATIONS,
            BackendKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        // sqlx 0.8 serializes migrations with an advisory lock on PostgreSQL, but its
        // SQLite lock does nothing. Processes that open a new SQLite file together (a
        // producer and its consumers) then both find no migration applied, and the
        // later one's CREATE TABLE fails. Running the migrator again finds the other
        // process's migrations recorded and skips them.
        let mut attempt = 1;
        loop {
            match migrator.run(&pool).await {
                Ok(()) => break,
                Err(source) if kind == BackendKind::Sqlite && attempt < SQLITE_MIGRATE_ATTEMPTS => {
                    tracing::warn!(url = %display_url, attempt, error = %source, "ledger migration failed, probably beside another process migrating the same file; retrying");
                    attempt += 1;
                    tokio::time::sleep(SQLITE_MIGRATE_PAUSE).await;
                }
                Err(source) => {
                    return Err(LedgerError::Migrate {
                        url: display_url.clone(),
                        source,
                    });
                }
            }
        }

        let lease_millis = i64::try_from(settings.lease.as_millis()).unwrap_or(i64::MAX);
        tracing::info!(url = %display_url, backend = ?kind, "ledger ready");
        Ok(Ledger {
            pool,
            kind,
            lease_millis,
            actor: Arc::from(DEFAULT_ACTOR),
            display_url: Arc::from(display_url),
        })
    }

    /// Names the producer or consumer that this handle acts for in audit events
    /// written without an explicit owner (producer writes, `mark_dead`, replays).
    pub fn with_actor(mut self, actor: impl Into<String>) -> Ledger {
        self.actor = Arc::from(actor.into());
        self
    }

    /// Returns how long a claim lasts, so a consumer can tell when to renew it.
    pub fn lease(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.lease_millis)
    }

    /// Returns the database this handle talks to.
    pub fn backend(&self) -> BackendKind {
        self.kind
    }

    /// Returns the database location without password, for logs and status output.
    pub fn display_url(&self) -> &str {
        &self.display_url
    }

    /// Runs a trivial query, so that `/readyz` can report a database that went away.
    pub async fn ping(&self) -> Result<(), LedgerError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(database("ping"))?;
        Ok(())
    }

    /// Closes every pooled connection; later operations fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that holds the write lock from its first statement.
    ///
    /// SQLite would otherwise start a deferred transaction, and a deferred transaction
    /// that reads before it writes can fail with `SQLITE_BUSY`, without waiting, when
    /// another connection writes at the same time.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.kind {
            BackendKind::Sqlite => self.pool.begin_with(Cow::Borrowed("BEGIN IMMEDIATE")).await,
            BackendKind::Postgres => self.pool.begin().await,
        }
    }
}

/// Creates the folder of the SQLite file and returns the URL the driver opens,
/// read-write and created if missing. The folder is made absolute so that a URL
/// parser cannot rewrite `..` segments of a relative path.
fn sqlite_url(path: &Path) -> Result<Url, LedgerError> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&folder).map_err(|source| LedgerError::CreateFolder {
        path: folder.clone(),
        source,
    })?;
    let folder = folder
        .canonicalize()
        .map_err(|source| LedgerError::CreateFolder {
            path: folder.clone(),
            source,
        })?;
    let file = folder.join(path.file_name().unwrap_or_default());

    let encoded =
        percent_encoding::utf8_percent_encode(&file.to_string_lossy(), &SQLITE_PATH_ESCAPES)
            .to_string();
    Url::parse(&format!("sqlite://{encoded}?mode=rwc")).map_err(|error| {
        connect_error(
            &format!("sqlite://{}", path.display()),
            sqlx::Error::Configuration(error.into()),
        )
    })
}

/// Characters that would end the path part of a URL or be decoded by the driver.
const SQLITE_PATH_ESCAPES: percent_encoding::AsciiSet = percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Returns the connection URL with the configured password put back in.
fn postgres_url(url: &Url, settings: &LedgerSettings) -> Url {
    let mut url = url.clone();
    if let Some(password) = &settings.password {
        // `set_password` fails only for a URL without host, which validation rejects.
        let _ = url.set_password(Some(
            &percent_encoding::utf8_percent_encode(
                password.expose_secret(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string(),
        ));
    }
    url
}

fn connect_error(display_url: &str, source: sqlx::Error) -> LedgerError {
    LedgerError::Connect {
        url: display_url.to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::config::RawLedgerConfig;

    #[test]
    fn postgres_url_carries_encoded_password() {
        let raw = RawLedgerConfig {
            url: "postgres://dingk3@db.internal:5432/ledger".to_string(),
            password: Some("p@ss:/w%rd".to_string().into()),
            ..RawLedgerConfig::default()
        };
        let settings = raw.validate().unwrap();
        let LedgerBackend::Postgres { url } = &settings.backend else {
            panic!("a postgres URL selects PostgreSQL");
        };

        let with_password = postgres_url(url, &settings);
        let decoded = with_password
            .password()
            .map(|password| percent_encoding::percent_decode_str(password).decode_utf8_lossy());
        assert_eq!(
            decoded.as_deref(),
            Some("p@ss:/w%rd"),
            "the driver must decode the configured password unchanged"
        );
        assert_eq!(with_password.host_str(), Some("db.internal"));
    }
}
