//! Unit tests of the `[ledger]` configuration rules, one per rule.

use secrecy::ExposeSecret;

use super::*;

fn raw(url: &str) -> RawLedgerConfig {
    RawLedgerConfig {
        url: url.to_string(),
        ..RawLedgerConfig::default()
    }
}

#[test]
fn defaults_validate_to_sqlite_file() {
    let settings = RawLedgerConfig::default().validate().unwrap();
    assert_eq!(
        settings.backend,
        LedgerBackend::Sqlite {
            path: PathBuf::from("data/dingk3-ledger.sqlite")
        },
        "the default URL must name a relative SQLite file"
    );
    assert_eq!(settings.lease, Duration::from_secs(DEFAULT_LEASE_SECONDS));
    assert_eq!(settings.max_connections, DEFAULT_MAX_CONNECTIONS);
}

#[test]
fn url_empty_rejected() {
    let error = raw("  ").validate().unwrap_err();
    assert_eq!(error.key, "url");
}

#[test]
fn url_unknown_scheme_rejected() {
    let error = raw("mysql://root@localhost/ledger").validate().unwrap_err();
    assert_eq!(error.key, "url");
    assert!(
        error.problem.en.contains("mysql"),
        "the message should show the scheme: {}",
        error.problem.en
    );
}

#[test]
fn sqlite_absolute_path_kept() {
    let settings = raw("sqlite:///var/lib/dingk3/ledger.sqlite")
        .validate()
        .unwrap();
    assert_eq!(
        settings.backend,
        LedgerBackend::Sqlite {
            path: PathBuf::from("/var/lib/dingk3/ledger.sqlite")
        }
    );
}

#[test]
fn sqlite_memory_rejected() {
    let error = raw("sqlite::memory:").validate().unwrap_err();
    assert_eq!(error.key, "url");
}

#[test]
fn sqlite_empty_path_rejected() {
    let error = raw("sqlite://").validate().unwrap_err();
    assert_eq!(error.key, "url");
}

#[test]
fn sqlite_query_rejected() {
    let error = raw("sqlite://ledger.sqlite?mode=ro")
        .validate()
        .unwrap_err();
    assert_eq!(error.key, "url");
}

#[test]
fn sqlite_password_rejected() {
    let config = RawLedgerConfig {
        password: Some(SecretString::from("secret")),
        ..raw("sqlite://ledger.sqlite")
    };
    let error = config.validate().unwrap_err();
    assert_eq!(error.key, "password");
}

#[test]
fn postgres_invalid_url_rejected() {
    let error = raw("postgres://[::1/ledger").validate().unwrap_err();
    assert_eq!(error.key, "url");
}

#[test]
fn postgres_missing_host_rejected() {
    let error = raw("postgres:///ledger").validate().unwrap_err();
    assert_eq!(error.key, "url");
}

#[test]
fn postgres_url_password_moved_out() {
    let settings = raw("postgres://dingk3:p%40ss@db.internal:5432/ledger?sslmode=require")
        .validate()
        .unwrap();
    let password = settings
        .password
        .as_ref()
        .map(|p| p.expose_secret().to_string());
    assert_eq!(
        password.as_deref(),
        Some("p@ss"),
        "the password must be decoded"
    );
    assert_eq!(
        settings.display_url(),
        "postgres://dingk3@db.internal:5432/ledger?sslmode=require",
        "the URL kept in the settings must not contain the password"
    );
}

#[test]
fn postgres_query_password_moved_out() {
    let settings = raw("postgres://dingk3@db.internal/ledger?password=hunter2")
        .validate()
        .unwrap();
    let password = settings
        .password
        .as_ref()
        .map(|p| p.expose_secret().to_string());
    assert_eq!(password.as_deref(), Some("hunter2"));
    assert!(
        !settings.display_url().contains("hunter2"),
        "the password query parameter must be removed: {}",
        settings.display_url()
    );
}

#[test]
fn postgres_password_twice_rejected() {
    let config = RawLedgerConfig {
        password: Some(SecretString::from("other")),
        ..raw("postgres://dingk3:secret@db.internal/ledger")
    };
    let error = config.validate().unwrap_err();
    assert_eq!(error.key, "password");
}

#[test]
fn password_and_file_rejected() {
    let config = RawLedgerConfig {
        password: Some(SecretString::from("secret")),
        password_file: Some("/run/secrets/ledger".into()),
        ..raw("postgres://dingk3@db.internal/ledger")
    };
    let error = config.validate().unwrap_err();
    assert_eq!(error.key, "password");
}

#[test]
fn lease_zero_rejected() {
    let config = RawLedgerConfig {
        lease_seconds: 0,
        ..RawLedgerConfig::default()
    };
    assert_eq!(config.validate().unwrap_err().key, "lease_seconds");
}

#[test]
fn lease_above_one_day_rejected() {
    let config = RawLedgerConfig {
        lease_seconds: MAX_LEASE_SECONDS + 1,
        ..RawLedgerConfig::default()
    };
    assert_eq!(config.validate().unwrap_err().key, "lease_seconds");
}

#[test]
fn max_connections_zero_rejected() {
    let config = RawLedgerConfig {
        max_connections: 0,
        ..RawLedgerConfig::default()
    };
    assert_eq!(config.validate().unwrap_err().key, "max_connections");
}

#[test]
fn unknown_key_rejected() {
    let parsed: Result<RawLedgerConfig, _> = toml::from_str("lease_second = 30");
    assert!(parsed.is_err(), "a misspelt key must not be ignored");
}
