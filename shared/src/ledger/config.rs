//! The `[ledger]` configuration section: the database that stores the ledger, how long
//! a consumer's claim lasts, and how many connections the pool opens.
//!
//! SQLite is the default because a single-machine deployment then needs nothing
//! installed. PostgreSQL is for consumers on several hosts, which must share one ledger
//! so that their claims exclude each other.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::config::{ConfigError, RawSecret};
use crate::text;

/// Default database: a SQLite file below the working directory.
pub const DEFAULT_URL: &str = "sqlite://data/dingk3-ledger.sqlite";

/// Default claim duration. It has to outlast one K3Cloud write including its short
/// in-process retries, otherwise a second consumer may take over a write in progress.
pub const DEFAULT_LEASE_SECONDS: u64 = 300;

/// Upper bound of `lease_seconds`: a consumer that crashes while holding a claim blocks
/// its approval for this long, so a longer lease only delays recovery.
pub const MAX_LEASE_SECONDS: u64 = 86_400;

/// Default size of the connection pool.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 5;

/// The `[ledger]` section as written in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLedgerConfig {
    /// `sqlite://PATH` (relative to the working directory, or `sqlite:///ABSOLUTE`) or
    /// `postgres://USER@HOST:PORT/DATABASE`.
    pub url: String,

    /// PostgreSQL password, kept out of `url` so that the URL can be logged.
    pub password: Option<SecretString>,

    /// File holding the PostgreSQL password, as mounted by container platforms.
    pub password_file: Option<String>,

    /// Seconds a consumer's claim on an approval lasts before another consumer may take
    /// it over.
    pub lease_seconds: u64,

    /// Maximum number of open database connections.
    pub max_connections: u32,
}

impl Default for RawLedgerConfig {
    fn default() -> RawLedgerConfig {
        RawLedgerConfig {
            url: DEFAULT_URL.to_string(),
            password: None,
            password_file: None,
            lease_seconds: DEFAULT_LEASE_SECONDS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Kind and location of the ledger database, chosen by the URL scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerBackend {
    /// A SQLite file; it and its folder are created on first start.
    Sqlite {
        /// Path of the database file, relative to the working directory unless absolute.
        path: PathBuf,
    },

    /// A PostgreSQL database shared by several hosts.
    Postgres {
        /// Connection URL without a password, so it is safe to log.
        url: Url,
    },
}

/// The checked `[ledger]` section.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// Database to open.
    pub backend: LedgerBackend,

    /// PostgreSQL password, taken from `password`, `password_file` or the URL.
    pub password: Option<SecretString>,

    /// How long a claim lasts.
    pub lease: Duration,

    /// Maximum number of open database connections.
    pub max_connections: u32,
}

impl LedgerSettings {
    /// Returns the database location for logs and messages, without any password.
    pub fn display_url(&self) -> String {
        match &self.backend {
            LedgerBackend::Sqlite { path } => format!("sqlite://{}", path.display()),
            LedgerBackend::Postgres { url } => url.to_string(),
        }
    }
}

impl RawLedgerConfig {
    /// Checks every key and returns the settings, or an error naming the first bad key
    /// relative to the section (the caller adds `ledger.` with [`ConfigError::within`]).
    pub fn validate(&self) -> Result<LedgerSettings, ConfigError> {
        let url = self.url.trim();
        if url.is_empty() {
            return Err(ConfigError::new(
                "url",
                text!(
                    en: "missing; set a sqlite:// or postgres:// URL, for example {DEFAULT_URL}",
                    zh: "缺少该项；请设置 sqlite:// 或 postgres:// 地址，例如 {DEFAULT_URL}",
                ),
            ));
        }

        let secret = RawSecret {
            value: self.password.clone(),
            file: self.password_file.clone(),
        };
        let configured_password = secret.resolve("password", false)?;

        let (backend, password) = if let Some(rest) = url.strip_prefix("sqlite:") {
            if configured_password.is_some() {
                return Err(ConfigError::new(
                    "password",
                    text!(
                        en: "a SQLite ledger has no password; remove password and password_file",
                        zh: "SQLite 台账没有密码；请删除 password 和 password_file",
                    ),
                ));
            }
            (sqlite_backend(rest)?, None)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres_backend(url, configured_password)?
        } else {
            let scheme = url.split(':').next().unwrap_or(url);
            return Err(ConfigError::new(
                "url",
                text!(
                    en: "unsupported scheme {scheme}; use sqlite://PATH or postgres://USER@HOST/DATABASE",
                    zh: "不支持的协议 {scheme}；请使用 sqlite://路径 或 postgres://用户@主机/数据库",
                ),
            ));
        };

        if self.lease_seconds == 0 || self.lease_seconds > MAX_LEASE_SECONDS {
            let value = self.lease_seconds;
            return Err(ConfigError::new(
                "lease_seconds",
                text!(
                    en: "{value} is out of range; use 1 to {MAX_LEASE_SECONDS} seconds, longer than one K3Cloud write with its retries",
                    zh: "{value} 超出范围；请设为 1 到 {MAX_LEASE_SECONDS} 秒，且长于一次 K3Cloud 写入及其重试",
                ),
            ));
        }

        if self.max_connections == 0 {
            return Err(ConfigError::new(
                "max_connections",
                text!(
                    en: "must be at least 1",
                    zh: "必须至少为 1",
                ),
            ));
        }

        Ok(LedgerSettings {
            backend,
            password,
            lease: Duration::from_secs(self.lease_seconds),
            max_connections: self.max_connections,
        })
    }
}

/// Parses what follows `sqlite:`: `//relative/path`, `///absolute/path` or `path`.
fn sqlite_backend(rest: &str) -> Result<LedgerBackend, ConfigError> {
    let path = rest.strip_prefix("//").unwrap_or(rest);

    if path.contains('?') {
        return Err(ConfigError::new(
            "url",
            text!(
                en: "remove the query string from the SQLite URL; the ledger always opens the file read-write and creates it",
                zh: "请删除 SQLite 地址中的查询参数；台账总是以读写方式打开文件并在缺失时创建",
            ),
        ));
    }
    if path.is_empty() || path == ":memory:" {
        return Err(ConfigError::new(
            "url",
            text!(
                en: "needs a file path such as {DEFAULT_URL}; an in-memory database would lose the ledger at every restart",
                zh: "需要文件路径，例如 {DEFAULT_URL}；内存数据库会在每次重启时丢失台账",
            ),
        ));
    }

    Ok(LedgerBackend::Sqlite {
        path: PathBuf::from(path),
    })
}

/// Parses a PostgreSQL URL and moves any password out of it, so that the URL kept in
/// the settings can be logged.
fn postgres_backend(
    url: &str,
    configured_password: Option<SecretString>,
) -> Result<(LedgerBackend, Option<SecretString>), ConfigError> {
    let mut parsed = Url::parse(url).map_err(|error| {
        ConfigError::new(
            "url",
            text!(
                en: "not a valid PostgreSQL URL ({error}); use postgres://USER@HOST:PORT/DATABASE",
                zh: "不是有效的 PostgreSQL 地址（{error}）；请使用 postgres://用户@主机:端口/数据库",
            ),
        )
    })?;

    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new(
            "url",
            text!(
                en: "the PostgreSQL URL has no host; use postgres://USER@HOST:PORT/DATABASE",
                zh: "PostgreSQL 地址缺少主机；请使用 postgres://用户@主机:端口/数据库",
            ),
        ));
    }

    let mut url_password = parsed.password().map(percent_decode);
    let mut other_pairs = Vec::new();
    for (key, value) in parsed.query_pairs() {
        if key == "password" {
            url_password = Some(value.into_owned());
        } else {
            other_pairs.push((key.into_owned(), value.into_owned()));
        }
    }

    if url_password.is_some() && configured_password.is_some() {
        return Err(ConfigError::new(
            "password",
            text!(
                en: "the password is set both in url and in password or password_file; keep only one",
                zh: "url 与 password 或 password_file 中都设置了密码；请只保留一处",
            ),
        ));
    }

    // `set_password` fails only for a URL without host, and those were rejected above.
    let _ = parsed.set_password(None);
    if other_pairs.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(other_pairs);
    }

    let password = configured_password.or(url_password.map(SecretString::from));
    Ok((LedgerBackend::Postgres { url: parsed }, password))
}

fn percent_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
