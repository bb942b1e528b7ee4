//! Bad configuration at start: for one invalid key at a time, `consumer run` and
//! `producer run` exit with status 2 before they connect to anything, and stderr names
//! the key. For a value of the wrong type or an unknown key, stderr also names the file
//! or the environment variable the value came from.
//!
//! Every row starts from the example configuration pointed at closed local ports, a
//! temporary ledger and a test prefix, which both binaries accept. So a row that the
//! binary does not reject fails its assert on the exit status instead of touching the
//! shared broker.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use dingk3::config::ConfigSource;
use dingk3_consumer::settings::RunSettings;
use dingk3_producer::ProducerConfig;
use dingk3_tests::consumer::cases::repo_path;
use dingk3_tests::pipeline::process::binary_dir;
use toml::{Table, Value};

/// Time a binary gets to reject its configuration.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Exit status of an invalid configuration.
const EXIT_CONFIGURATION: i32 = 2;

/// A port on 127.0.0.1 where nothing listens (the discard service is not run).
const CLOSED_PORT: u16 = 9;

/// Broker password of the row whose URL has the wrong scheme; stderr must not show it.
const BROKER_PASSWORD: &str = "Brk-pw-71QzX";

/// Which binaries read the section of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readers {
    Both,
    Consumer,
    Producer,
}

/// Where the invalid value comes from.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// `path` (dotted, array items by index) set to `value` in the file.
    File(&'static str, &'static str),
    /// `path` set in the file to a table, the wrong type for any scalar key. Figment's
    /// lossy extraction converts text to numbers and back, so those are no type error.
    FileTable(&'static str),
    /// An environment variable.
    Env(&'static str, &'static str),
}

/// Where, according to stderr, the value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Not named: the key's own check rejected a value of the right type.
    Unnamed,
    /// The configuration file's path.
    File,
    /// The environment variable of the row.
    Variable,
}

/// One invalid key.
struct Row {
    /// The key as stderr must name it.
    key: &'static str,
    change: Change,
    readers: Readers,
    origin: Origin,
}

const ROWS: &[Row] = &[
    Row {
        key: "broker.url",
        change: Change::File("broker.url", "http://guest:Brk-pw-71QzX@127.0.0.1:5672/%2f"),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "broker.prefix",
        change: Change::File("broker.prefix", ""),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "k3cloud.base_url",
        change: Change::File("k3cloud.base_url", "ftp://erp.example.com/k3cloud/"),
        readers: Readers::Consumer,
        origin: Origin::Unnamed,
    },
    Row {
        key: "k3cloud.request_timeout_ms",
        change: Change::File("k3cloud.request_timeout_ms", "0"),
        readers: Readers::Consumer,
        origin: Origin::Unnamed,
    },
    Row {
        key: "dingtalk.rate_limit_per_second",
        change: Change::File("dingtalk.rate_limit_per_second", "0"),
        readers: Readers::Producer,
        origin: Origin::Unnamed,
    },
    Row {
        key: "ledger.url",
        change: Change::File("ledger.url", "mysql://127.0.0.1/ledger"),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "routes.0.form_id",
        change: Change::File("routes.0.form_id", "AP PAYBILL"),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "routes.0.mapping",
        change: Change::File("routes.0.mapping", "no_such_mapping"),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "mappings.expense_claim.bill_no",
        change: Change::File("mappings.expense_claim.bill_no", "DD-{no_such_field}"),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "broker.prefx",
        change: Change::File("broker.prefx", "dingk3"),
        readers: Readers::Both,
        origin: Origin::File,
    },
    Row {
        key: "k3clod",
        change: Change::File("k3clod.base_url", "http://127.0.0.1:9/k3cloud/"),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "consumer.batch_size",
        change: Change::FileTable("consumer.batch_size"),
        readers: Readers::Consumer,
        origin: Origin::File,
    },
    Row {
        key: "broker.heartbeat_seconds",
        change: Change::Env("DINGK3_BROKER__HEARTBEAT_SECONDS", "often"),
        readers: Readers::Both,
        origin: Origin::Variable,
    },
    Row {
        key: "broker.retry_tiers",
        change: Change::Env("DINGK3_BROKER__RETRY_TIERS", r#"["1m","10s"]"#),
        readers: Readers::Both,
        origin: Origin::Unnamed,
    },
    Row {
        key: "producer.poll_interval_seconds",
        change: Change::Env("DINGK3_PRODUCER__POLL_INTERVAL_SECONDS", "-5"),
        readers: Readers::Producer,
        origin: Origin::Variable,
    },
];

/// Returns the example configuration with every address on 127.0.0.1 (the services
/// at closed ports), a SQLite ledger in `folder` and a test prefix.
fn base_config(folder: &Path) -> Table {
    let path = repo_path("config/dingk3.example.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut document: Table = text
        .parse()
        .unwrap_or_else(|error| panic!("{} does not parse: {error}", path.display()));
    let closed = format!("http://127.0.0.1:{CLOSED_PORT}");
    let ledger = format!("sqlite://{}/ledger.sqlite", folder.display());
    let broker = format!("amqp://guest:guest@127.0.0.1:{CLOSED_PORT}/%2f");
    let k3cloud = format!("{closed}/k3cloud/");
    for (key, value) in [
        ("dingtalk.oapi_base_url", closed.as_str()),
        ("dingtalk.api_base_url", closed.as_str()),
        ("k3cloud.base_url", k3cloud.as_str()),
        ("broker.url", broker.as_str()),
        ("broker.prefix", "dingk3-test-config-errors"),
        ("ledger.url", ledger.as_str()),
        ("producer.metrics_listen", "127.0.0.1:0"),
        ("consumer.metrics_listen", "127.0.0.1:0"),
    ] {
        set(&mut document, key, Value::from(value));
    }
    document
}

/// Sets the dotted `path` of `document`, creating tables on the way; a numeric part
/// indexes an existing array.
fn set(document: &mut Table, path: &str, value: Value) {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, parents) = parts.split_last().expect("a path has at least one part");
    let mut current: &mut Value = document
        .entry(parents.first().copied().unwrap_or(last).to_string())
        .or_insert_with(|| Value::Table(Table::new()));
    if parents.is_empty() {
        *current = value;
        return;
    }
    for part in &parents[1..] {
        current = child(current, part);
    }
    match current {
        Value::Table(table) => {
            table.insert(last.to_string(), value);
        }
        other => panic!("{path}: {other:?} is not a table"),
    }
}

fn child<'a>(value: &'a mut Value, part: &str) -> &'a mut Value {
    match value {
        Value::Table(table) => table
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new())),
        Value::Array(items) => {
            let index: usize = part.parse().expect("an array is indexed by a number");
            items
                .get_mut(index)
                .unwrap_or_else(|| panic!("the array has no item {index}"))
        }
        other => panic!("{part}: {other:?} has no children"),
    }
}

/// Writes the configuration of `row` into `folder` and returns the file and the
/// environment of the row.
fn prepare(row: &Row, folder: &Path) -> (std::path::PathBuf, Vec<(&'static str, &'static str)>) {
    let mut document = base_config(folder);
    let mut env = Vec::new();
    match row.change {
        Change::File(path, value) => set(&mut document, path, parse_scalar(value)),
        Change::FileTable(path) => set(&mut document, path, Value::Table(Table::new())),
        Change::Env(name, value) => env.push((name, value)),
    }
    let file = folder.join("dingk3.toml");
    let text = toml::to_string(&document).expect("the configuration serializes");
    std::fs::write(&file, text).expect("the configuration file can be written");
    (file, env)
}

/// Reads `"0"` as an integer and anything else as text.
fn parse_scalar(value: &str) -> Value {
    value
        .parse::<i64>()
        .map_or_else(|_| Value::from(value), Value::from)
}

/// Runs `binary` with `args` in English, with no `DINGK3_…` variable but those of
/// `env`, and returns its output.
async fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let path = binary_dir().join(binary);
    let mut command = tokio::process::Command::new(&path);
    command.args(args).kill_on_drop(true);
    // Variables of the test's own environment (DINGK3_BIN_DIR, say) would be read as
    // configuration keys.
    for (name, _) in std::env::vars() {
        if name.starts_with("DINGK3_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    tokio::time::timeout(EXIT_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{binary} {args:?} did not exit within {EXIT_TIMEOUT:?}"))
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", path.display()))
}

/// Runs the binaries that read the section of each row and checks what they print.
async fn check_rows(binary: &str, readers: Readers) {
    for row in ROWS
        .iter()
        .filter(|row| row.readers == readers || row.readers == Readers::Both)
    {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let (file, env) = prepare(row, folder.path());
        let file_text = file.display().to_string();
        let args: Vec<&str> = match binary {
            "consumer" => vec!["--lang", "en", "run", "--config", &file_text],
            _ => vec!["--lang", "en", "--config", &file_text, "run"],
        };
        let case = format!("{binary} with {:?}", row.change);

        let output = run(binary, &args, &env).await;

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(EXIT_CONFIGURATION),
            "{case}: an invalid key exits 2; stderr:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("invalid configuration key {}:", row.key)),
            "{case}: stderr names {}:\n{stderr}",
            row.key
        );
        match (row.origin, row.change) {
            (Origin::File, _) => assert!(
                stderr.contains(&format!("from file {file_text}")),
                "{case}: stderr names the file:\n{stderr}"
            ),
            (Origin::Variable, Change::Env(name, _)) => assert!(
                stderr.contains(&format!("from environment variable {name}")),
                "{case}: stderr names the variable:\n{stderr}"
            ),
            (Origin::Variable, _) => panic!("{case}: only an Env row has a variable"),
            (Origin::Unnamed, _) => {}
        }
        assert!(
            !stderr.contains(BROKER_PASSWORD),
            "{case}: stderr does not show the broker password:\n{stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{case}: nothing is printed on stdout: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn base_config_loads_for_both() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let text = toml::to_string(&base_config(folder.path())).expect("the configuration serializes");
    let source = ConfigSource::from_toml_str(&text).expect("the base configuration parses");

    let consumer = RunSettings::load(&source);
    let producer = ProducerConfig::from_source(&source);

    assert!(
        consumer.is_ok(),
        "the consumer accepts the base configuration: {:?}",
        consumer.err()
    );
    assert!(
        producer.is_ok(),
        "the producer accepts the base configuration: {:?}",
        producer.err()
    );
}

#[tokio::test]
async fn consumer_rejects_each_bad_key() {
    check_rows("consumer", Readers::Consumer).await;
}

#[tokio::test]
async fn producer_rejects_each_bad_key() {
    check_rows("producer", Readers::Producer).await;
}
