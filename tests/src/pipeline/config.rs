//! The configuration file of a run: every section that `producer run` and
//! `consumer run` read, pointed at the simulators, the run's broker prefix and ledger,
//! with the routes, mappings and value maps of `config/dingk3.example.toml`.
//!
//! Tasks and child processes read the same text, so both modes run the same
//! configuration. Values differ from the production defaults where a test would
//! otherwise wait: one-second polls, no re-check delay for running approvals, short
//! retry tiers and DingTalk retries after 10 ms.

use dingk3::ledger::LedgerSettings;
use dingk3_simulator::dingtalk::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET};
use dingk3_simulator::k3cloud::{
    DEFAULT_ACCT_ID, DEFAULT_APP_ID, DEFAULT_APP_SECRET as K3_APP_SECRET, DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
};
use secrecy::ExposeSecret;
use toml::{Table, Value};

use super::options::PipelineOptions;
use crate::consumer::K3Auth;
use crate::consumer::broker::amqp_url;
use crate::consumer::cases::repo_path;

/// Days the producer's first window reaches back; generated claims are at most about
/// seven weeks old, so every one of them is listed.
pub const INITIAL_LOOKBACK_DAYS: i64 = 90;

/// Where the configured services are.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints<'a> {
    /// Base URL of the DingTalk simulator (both API generations).
    pub dingtalk: &'a str,
    /// Base URL of the K3Cloud simulator, ending in `/k3cloud/`.
    pub k3cloud: &'a str,
    /// Broker prefix of the run.
    pub prefix: &'a str,
    /// The run's ledger.
    pub ledger: &'a LedgerSettings,
}

/// Renders the whole configuration of a run as a TOML table.
pub fn render(options: &PipelineOptions, endpoints: Endpoints<'_>) -> Table {
    let mut document = example_routes();
    document.insert("log".to_string(), Value::Table(log()));
    document.insert(
        "dingtalk".to_string(),
        Value::Table(dingtalk(endpoints.dingtalk)),
    );
    document.insert(
        "k3cloud".to_string(),
        Value::Table(k3cloud(options, endpoints.k3cloud)),
    );
    document.insert(
        "broker".to_string(),
        Value::Table(broker(options, endpoints.prefix)),
    );
    document.insert(
        "ledger".to_string(),
        Value::Table(ledger(options, endpoints.ledger)),
    );
    document.insert("producer".to_string(), Value::Table(producer(options)));
    document.insert("consumer".to_string(), Value::Table(consumer(options)));
    document
}

/// Returns `document` with `consumer.consumer_id` set to `id`.
pub fn with_consumer_id(document: &Table, id: &str) -> Table {
    let mut document = document.clone();
    if let Some(Value::Table(consumer)) = document.get_mut("consumer") {
        consumer.insert("consumer_id".to_string(), id.into());
    }
    document
}

/// Serializes a configuration table to the text of a file.
pub fn to_text(document: &Table) -> String {
    toml::to_string(document).expect("a configuration table serializes")
}

fn table(entries: &[(&str, Value)]) -> Table {
    entries
        .iter()
        .map(|(key, value)| (key.to_string(), value.clone()))
        .collect()
}

fn log() -> Table {
    table(&[
        ("format", "text".into()),
        ("level", "info,lapin=off".into()),
    ])
}

fn dingtalk(base_url: &str) -> Table {
    table(&[
        ("api", "topapi".into()),
        ("oapi_base_url", base_url.into()),
        ("api_base_url", base_url.into()),
        ("app_key", DEFAULT_APP_KEY.into()),
        ("app_secret", DEFAULT_APP_SECRET.into()),
        ("rate_limit_per_second", 500.into()),
        ("request_timeout_ms", 10_000.into()),
        ("connect_timeout_ms", 2_000.into()),
        ("retry_attempts", 4.into()),
        ("retry_initial_delay_ms", 10.into()),
        ("retry_max_delay_ms", 2_000.into()),
    ])
}

fn k3cloud(options: &PipelineOptions, base_url: &str) -> Table {
    let timeout = options.k3_request_timeout_ms;
    let mut section = table(&[
        ("base_url", base_url.into()),
        ("acct_id", DEFAULT_ACCT_ID.into()),
        ("username", DEFAULT_USERNAME.into()),
        ("app_id", DEFAULT_APP_ID.into()),
        ("request_timeout_ms", integer(timeout)),
        ("connect_timeout_ms", integer(timeout.min(1_000))),
    ]);
    match options.k3_auth {
        K3Auth::Signature => {
            section.insert("auth".to_string(), "signature".into());
            section.insert("app_secret".to_string(), K3_APP_SECRET.into());
        }
        K3Auth::PasswordSession => {
            section.insert("auth".to_string(), "session".into());
            section.insert("session_login".to_string(), "password".into());
            section.insert("password".to_string(), DEFAULT_PASSWORD.into());
        }
    }
    section
}

fn broker(options: &PipelineOptions, prefix: &str) -> Table {
    let tiers = options
        .tiers
        .iter()
        .map(|tier| Value::from(*tier))
        .collect();
    table(&[
        ("url", amqp_url().into()),
        ("prefix", prefix.into()),
        ("retry_tiers", Value::Array(tiers)),
        ("reconnect_max_backoff_ms", 1_000.into()),
        ("connect_timeout_ms", 10_000.into()),
    ])
}

fn ledger(options: &PipelineOptions, settings: &LedgerSettings) -> Table {
    let mut section = table(&[
        ("url", settings.display_url().into()),
        ("lease_seconds", integer(options.lease_seconds)),
        ("max_connections", 8.into()),
    ]);
    if let Some(password) = &settings.password {
        section.insert(
            "password".to_string(),
            password.expose_secret().to_string().into(),
        );
    }
    section
}

fn producer(options: &PipelineOptions) -> Table {
    table(&[
        (
            "poll_interval_seconds",
            integer(options.poll_interval_seconds),
        ),
        ("pending_recheck_seconds", 0.into()),
        ("initial_lookback_days", INITIAL_LOOKBACK_DAYS.into()),
        ("metrics_listen", "127.0.0.1:0".into()),
        ("leader_retry_seconds", 1.into()),
        (
            "shutdown_grace_seconds",
            integer(options.shutdown_grace_seconds),
        ),
    ])
}

fn consumer(options: &PipelineOptions) -> Table {
    table(&[
        ("batch_size", options.batch_size.into()),
        ("batch_wait_ms", integer(options.batch_wait_ms)),
        ("concurrent_batches", options.concurrent_batches.into()),
        ("in_process_retries", options.in_process_retries.into()),
        (
            "in_process_retry_max_ms",
            integer(options.in_process_retry_max_ms),
        ),
        ("metrics_listen", "127.0.0.1:0".into()),
        ("dlq_depth_refresh_seconds", 1.into()),
        (
            "shutdown_grace_seconds",
            integer(options.shutdown_grace_seconds),
        ),
    ])
}

/// Converts an unsigned setting to a TOML integer.
fn integer(value: u64) -> Value {
    Value::Integer(i64::try_from(value).expect("test settings fit in a TOML integer"))
}

/// Returns `routes`, `mappings` and `value_maps` of the example configuration.
fn example_routes() -> Table {
    let path = repo_path("config/dingk3.example.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let document: Table = text
        .parse()
        .unwrap_or_else(|error| panic!("{} does not parse: {error}", path.display()));
    document
        .into_iter()
        .filter(|(key, _)| matches!(key.as_str(), "routes" | "mappings" | "value_maps"))
        .collect()
}
