//! Helpers for end-to-end tests of the producer: a configuration pointed at the
//! in-process DingTalk simulator, the local RabbitMQ under a prefix of the test's own,
//! and a temporary ledger (SQLite always, PostgreSQL when `DATABASE_URL` is set).

mod broker;

use std::path::PathBuf;
use std::time::Duration;

use dingk3::config::ConfigSource;
use dingk3_producer::ProducerConfig;
use dingk3_simulator::dingtalk::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, RunningDingTalk};
use sqlx::Connection as _;

pub use broker::{
    BrokerProbe, DEFAULT_AMQP_URL, Published, amqp_url, force_close_connection, require_broker,
};

/// Returns a name no other test uses, e.g. for a broker prefix or a connection.
pub fn unique_name(test: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("dingk3-ptest-{test}-{}", &id[..8])
}

/// Returns the folder of the handed approval cases kept as test fixtures.
pub fn cases_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cases"))
}

/// Returns the repository's example configuration, whose routes and mappings the
/// tests use.
pub fn example_config() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/dingk3.example.toml"
    ))
}

/// A ledger database of one test, removed when dropped.
pub struct TestLedger {
    /// URL for `ledger.url`.
    pub url: String,
    folder: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestLedger {
    /// Creates a SQLite ledger in a temporary folder.
    pub fn sqlite() -> TestLedger {
        let folder = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}/ledger.sqlite", folder.path().display());
        TestLedger {
            url,
            folder: Some(folder),
            schema: None,
        }
    }

    /// Creates a schema of its own in the PostgreSQL database at `DATABASE_URL`, or
    /// returns `None` (with a note on stderr) when `DATABASE_URL` is unset.
    pub async fn postgres(test: &str) -> Option<TestLedger> {
        let Ok(database_url) = std::env::var("DATABASE_URL") else {
            eprintln!("DATABASE_URL is not set: the PostgreSQL test {test} did not run");
            return None;
        };
        let schema = format!("producer_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&database_url)
            .await
            .unwrap_or_else(|error| panic!("DATABASE_URL {database_url} is unreachable: {error}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .expect("create the test schema");
        let separator = if database_url.contains('?') { '&' } else { '?' };
        let url = format!("{database_url}{separator}options[search_path]={schema}");
        Some(TestLedger {
            url,
            folder: None,
            schema: Some((database_url, schema)),
        })
    }
}

impl Drop for TestLedger {
    fn drop(&mut self) {
        let _ = self.folder.take();
        let Some((database_url, schema)) = self.schema.take() else {
            return;
        };
        // Drop cannot await, so the schema is dropped on a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime starts");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&database_url).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&mut admin)
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// The parts of a test configuration that differ between tests.
pub struct TestConfig<'a> {
    /// The DingTalk simulator polled.
    pub simulator: &'a RunningDingTalk,
    /// Broker prefix of the test.
    pub prefix: &'a str,
    /// Ledger URL.
    pub ledger_url: &'a str,
    /// `[producer]` keys that differ from the test defaults.
    pub producer: Vec<(&'static str, toml::Value)>,
    /// `[dingtalk]` keys that differ from the test defaults.
    pub dingtalk: Vec<(&'static str, toml::Value)>,
    /// Process codes routed in addition to the example's, with the example's mapping.
    pub extra_process_codes: Vec<&'static str>,
}

impl<'a> TestConfig<'a> {
    /// Returns a configuration with the test defaults.
    pub fn new(simulator: &'a RunningDingTalk, prefix: &'a str, ledger_url: &'a str) -> Self {
        TestConfig {
            simulator,
            prefix,
            ledger_url,
            producer: Vec::new(),
            dingtalk: Vec::new(),
            extra_process_codes: Vec::new(),
        }
    }

    /// Sets a `[producer]` key.
    pub fn producer(mut self, key: &'static str, value: impl Into<toml::Value>) -> Self {
        self.producer.push((key, value.into()));
        self
    }

    /// Sets a `[dingtalk]` key.
    pub fn dingtalk(mut self, key: &'static str, value: impl Into<toml::Value>) -> Self {
        self.dingtalk.push((key, value.into()));
        self
    }

    /// Routes one more process code.
    pub fn route(mut self, process_code: &'static str) -> Self {
        self.extra_process_codes.push(process_code);
        self
    }

    /// Renders the configuration file.
    ///
    /// Test defaults: fast DingTalk retries and pacing, a one-second poll interval, no
    /// recheck delay, a 90-day first window, metrics on a free port, and a one-second
    /// leader retry.
    pub fn to_toml(&self) -> String {
        let base_url = self.simulator.base_url();
        let mut dingtalk = table(&[
            ("api", "topapi".into()),
            ("oapi_base_url", base_url.clone().into()),
            ("api_base_url", base_url.into()),
            ("app_key", DEFAULT_APP_KEY.into()),
            ("app_secret", DEFAULT_APP_SECRET.into()),
            ("rate_limit_per_second", 500.into()),
            ("request_timeout_ms", 10_000.into()),
            ("connect_timeout_ms", 2_000.into()),
            ("retry_attempts", 4.into()),
            ("retry_initial_delay_ms", 10.into()),
            ("retry_max_delay_ms", 2_000.into()),
        ]);
        for (key, value) in &self.dingtalk {
            dingtalk.insert(key.to_string(), value.clone());
        }
        let broker = table(&[
            ("url", amqp_url().into()),
            ("prefix", self.prefix.into()),
            ("retry_tiers", toml::Value::Array(vec!["1s".into()])),
            ("reconnect_max_backoff_ms", 1_000.into()),
        ]);
        let ledger = table(&[("url", self.ledger_url.into())]);
        let mut producer = table(&[
            ("poll_interval_seconds", 1.into()),
            ("pending_recheck_seconds", 0.into()),
            ("initial_lookback_days", 90.into()),
            ("metrics_listen", "127.0.0.1:0".into()),
            ("leader_retry_seconds", 1.into()),
        ]);
        for (key, value) in &self.producer {
            producer.insert(key.to_string(), value.clone());
        }

        let mut document = example_routes();
        if let Some(toml::Value::Array(routes)) = document.get_mut("routes") {
            let first = routes.first().cloned().expect("the example has a route");
            for code in &self.extra_process_codes {
                let mut route = first.clone();
                if let toml::Value::Table(route) = &mut route {
                    route.insert("process_code".to_string(), (*code).into());
                }
                routes.push(route);
            }
        }
        document.insert("dingtalk".to_string(), toml::Value::Table(dingtalk));
        document.insert("broker".to_string(), toml::Value::Table(broker));
        document.insert("ledger".to_string(), toml::Value::Table(ledger));
        document.insert("producer".to_string(), toml::Value::Table(producer));
        toml::to_string(&document).expect("the test configuration serializes")
    }

    /// Builds the validated configuration with a unique connection name.
    pub fn build(&self, connection_name: &str) -> ProducerConfig {
        let source = ConfigSource::from_toml_str(&self.to_toml()).expect("the test TOML parses");
        ProducerConfig::from_source(&source)
            .unwrap_or_else(|errors| panic!("the test configuration is valid: {errors:?}"))
            .with_connection_name(connection_name)
    }
}

fn table(entries: &[(&str, toml::Value)]) -> toml::Table {
    entries
        .iter()
        .map(|(key, value)| (key.to_string(), value.clone()))
        .collect()
}

/// Returns `routes`, `mappings` and `value_maps` of the example configuration.
fn example_routes() -> toml::Table {
    let path = example_config();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let document: toml::Table = text.parse().expect("the example configuration parses");
    document
        .into_iter()
        .filter(|(key, _)| matches!(key.as_str(), "routes" | "mappings" | "value_maps"))
        .collect()
}

/// Waits until `condition` holds, checking every 100 ms; returns whether it held
/// within `within`.
pub async fn wait_until(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
