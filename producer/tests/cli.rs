//! The `producer` binary as an operator runs it: exit statuses, bilingual messages,
//! the summaries of `once` and `backfill`, and a clean stop of `run` on SIGTERM.
//!
//! Commands that poll run against an in-process DingTalk simulator and the local
//! RabbitMQ (`AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`) under a
//! prefix of their own, deleted afterwards. An unreachable broker fails the test.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use dingk3::approval::time::utc_to_beijing;
use dingk3::broker::{BrokerSettings, RawBrokerConfig, Recovery, Topology, connect};
use dingk3_simulator::dingtalk::{
    DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DingTalkOptions, DingTalkSimulator, RunningDingTalk,
};
use secrecy::SecretString;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const PRODUCER: &str = env!("CARGO_BIN_EXE_producer");

fn amqp_url() -> String {
    std::env::var("AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string())
}

fn repository() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn unique(test: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("dingk3-pcli-{test}-{}", &id[..8])
}

/// Routes, mappings and value maps of the example configuration, as TOML text.
fn example_routes() -> String {
    let path = repository().join("config/dingk3.example.toml");
    let document: toml::Table = std::fs::read_to_string(&path)
        .expect("the example configuration is readable")
        .parse()
        .expect("the example configuration parses");
    let routes: toml::Table = document
        .into_iter()
        .filter(|(key, _)| matches!(key.as_str(), "routes" | "mappings" | "value_maps"))
        .collect();
    toml::to_string(&routes).expect("the routes serialize")
}

/// Writes a configuration for `simulator` and the broker `prefix` into `folder`;
/// `extra` is appended inside `[producer]`.
fn write_config(folder: &Path, base_url: &str, prefix: &str, extra: &str) -> PathBuf {
    let amqp = amqp_url();
    let ledger = folder.join("ledger.sqlite");
    let text = format!(
        r#"[dingtalk]
oapi_base_url = "{base_url}"
api_base_url = "{base_url}"
app_key = "{DEFAULT_APP_KEY}"
app_secret = "{DEFAULT_APP_SECRET}"
rate_limit_per_second = 500
retry_initial_delay_ms = 10

[broker]
url = "{amqp}"
prefix = "{prefix}"
retry_tiers = ["1s"]

[ledger]
url = "sqlite://{ledger}"

[producer]
poll_interval_seconds = 1
pending_recheck_seconds = 0
initial_lookback_days = 90
metrics_listen = "127.0.0.1:0"
leader_retry_seconds = 1
{extra}

{routes}"#,
        ledger = ledger.display(),
        routes = example_routes(),
    );
    let path = folder.join("dingk3.toml");
    std::fs::write(&path, text).expect("the configuration is written");
    path
}

async fn start_simulator() -> RunningDingTalk {
    DingTalkSimulator::start(DingTalkOptions {
        instances_dir: Some(repository().join("tests/fixtures/cases")),
        shift_dates: true,
        ..DingTalkOptions::default()
    })
    .await
    .expect("the DingTalk simulator starts")
}

async fn producer(args: &[&str]) -> Output {
    Command::new(PRODUCER)
        .args(args)
        .env_remove("DINGK3_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .await
        .expect("the producer binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Returns the broker settings of the test prefix.
fn broker_settings(prefix: &str) -> BrokerSettings {
    RawBrokerConfig {
        url: Some(SecretString::from(amqp_url())),
        prefix: prefix.to_string(),
        retry_tiers: vec!["1s".to_string()],
        ..RawBrokerConfig::default()
    }
    .validate()
    .expect("test broker settings are valid")
}

/// Fails the test with instructions unless the broker accepts a connection.
async fn require_broker(prefix: &str) {
    let settings = broker_settings(prefix);
    match connect(&settings, &format!("{prefix}-check"), Recovery::Off).await {
        Ok(connection) => {
            let _ = connection.close(200, "broker check done".into()).await;
        }
        Err(error) => panic!(
            "RabbitMQ is not reachable ({error}); start it (rabbitmq-server -detached) or point AMQP_URL at a running broker"
        ),
    }
}

/// Deletes the topology of a prefix when dropped, also after a failed assertion.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let settings = broker_settings(&self.0);
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime starts");
            runtime.block_on(async move {
                let name = format!("{}-cleanup", settings.prefix);
                let Ok(connection) = connect(&settings, &name, Recovery::Off).await else {
                    return;
                };
                if let Ok(channel) = connection.create_channel().await {
                    let _ = Topology::new(&settings).delete(&channel).await;
                }
                let _ = connection.close(200, "cleanup done".into()).await;
            });
        });
        let _ = cleanup.join();
    }
}

#[tokio::test]
async fn invalid_config_exits_two() {
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(
        folder.path(),
        "http://127.0.0.1:9",
        "unused",
        "fetch_concurrency = 0\n",
    );
    let config = config.to_str().unwrap();

    let output = producer(&["--lang", "en", "--config", config, "once"]).await;
    assert_eq!(output.status.code(), Some(2), "configuration errors exit 2");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("producer.fetch_concurrency"),
        "names the key: {stderr}"
    );

    let output = producer(&["--lang", "zh", "--config", config, "once"]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("配置项"), "speaks Chinese: {stderr}");
    assert!(stderr.contains("producer.fetch_concurrency"), "{stderr}");
}

#[tokio::test]
async fn missing_config_file_exits_two() {
    let output = producer(&[
        "--lang",
        "en",
        "--config",
        "/nonexistent/dingk3.toml",
        "once",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("/nonexistent/dingk3.toml"),
        "names the path"
    );
}

#[tokio::test]
async fn help_speaks_chinese() {
    let output = producer(&["--lang", "zh", "--help"]).await;
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("轮询钉钉审批实例"), "{stdout}");
    assert!(stdout.contains("backfill"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_prints_summary() {
    let prefix = unique("once");
    require_broker(&prefix).await;
    let simulator = start_simulator().await;
    let _cleanup = Cleanup(prefix.clone());
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(folder.path(), &simulator.base_url(), &prefix, "");

    let output = producer(&["--lang", "en", "--config", config.to_str().unwrap(), "once"]).await;
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        text(&output.stderr)
    );
    assert!(stdout.contains("producer once"), "{stdout}");
    assert!(
        stdout.contains("published 4, pending 0, skipped 1, errors 0"),
        "{stdout}"
    );

    let output = producer(&["--lang", "zh", "--config", config.to_str().unwrap(), "once"]).await;
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("发布 0"),
        "nothing is published twice: {stdout}"
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_prints_summary_without_terminal() {
    let prefix = unique("backfill");
    require_broker(&prefix).await;
    let simulator = start_simulator().await;
    let _cleanup = Cleanup(prefix.clone());
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(folder.path(), &simulator.base_url(), &prefix, "");
    let today = utc_to_beijing(Utc::now()).date();
    let from = (today - TimeDelta::days(30)).to_string();
    let to = today.to_string();

    let output = producer(&[
        "--lang",
        "en",
        "--config",
        config.to_str().unwrap(),
        "backfill",
        "--from",
        &from,
        "--to",
        &to,
    ])
    .await;
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("producer backfill"), "{stdout}");
    assert!(stdout.contains("published 4"), "{stdout}");
    assert!(
        !stderr.contains("slices "),
        "no progress line is drawn when stderr is not a terminal: {stderr}"
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn backfill_bad_date_exits_two() {
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(folder.path(), "http://127.0.0.1:9", "unused", "");
    let output = producer(&[
        "--lang",
        "en",
        "--config",
        config.to_str().unwrap(),
        "backfill",
        "--from",
        "2026/11/01",
        "--to",
        "2026-11-03",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("yyyy-MM-dd"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_on_sigterm() {
    let prefix = unique("run");
    require_broker(&prefix).await;
    let simulator = start_simulator().await;
    let _cleanup = Cleanup(prefix.clone());
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(folder.path(), &simulator.base_url(), &prefix, "");

    let mut child = Command::new(PRODUCER)
        .args(["--lang", "en", "--config", config.to_str().unwrap(), "run"])
        .env_remove("DINGK3_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the producer starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let polled = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("poll finished") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(polled, Ok(true), "the producer polls once");

    let pid = child.id().expect("the producer runs").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success(), "SIGTERM is sent");
    // Keep reading so the child never blocks on a full stderr pipe.
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the producer exits within 30 s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM ends run with status 0");
    drain.abort();
    simulator.shutdown().await;
}
