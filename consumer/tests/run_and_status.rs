//! The `consumer` binary end to end. `run` serves its operations endpoint, writes a
//! bill, dead-letters an unmappable approval and exits 0 on SIGTERM. `status` then
//! reports the ledger counts, the dead-letter queue depth and the last error, as a
//! table in both languages and as JSON.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use dingk3::ledger::{Ledger, RawLedgerConfig, Status};
use dingk3_simulator::k3cloud::{K3CloudSimulator, SimulatorOptions};
use support::{
    TopologyGuard, broker_settings, case_envelope, free_port, publish, unique_prefix, wait_until,
    write_config,
};

const WITHIN: Duration = Duration::from_secs(30);

fn status(config: &std::path::Path, lang: &str, format: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["--lang", lang, "status", "--format", format, "--config"])
        .arg(config)
        .env_remove("DINGK3_CONFIG")
        .output()
        .expect("the consumer binary runs")
}

async fn http_get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_until_sigterm_then_status() {
    let prefix = unique_prefix("binary");
    let broker = broker_settings(&prefix);
    let _guard = TopologyGuard(broker.clone());
    let k3 = K3CloudSimulator::start(SimulatorOptions::default())
        .await
        .expect("the K3Cloud simulator starts");
    let folder = tempfile::tempdir().unwrap();
    let port = free_port();
    let (config, ledger_path) = write_config(folder.path(), &prefix, &k3.base_url(), port);

    let saved = case_envelope("01-admin-two-rows");
    let unmappable = case_envelope("04-missing-amount");
    publish(&broker, &[saved.clone(), unmappable.clone()]).await;

    let stderr = std::fs::File::create(folder.path().join("consumer.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["--lang", "en", "run", "--config"])
        .arg(&config)
        .env_remove("DINGK3_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("the consumer binary starts");
    let log = || std::fs::read_to_string(folder.path().join("consumer.log")).unwrap_or_default();

    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    while !matches!(http_get(&format!("{base}/readyz")).await, Some((200, _))) {
        if let Some(exit) = child.try_wait().unwrap() {
            panic!("the consumer exited early with {exit}; log:\n{}", log());
        }
        assert!(
            started.elapsed() < WITHIN,
            "/readyz did not report ready within {WITHIN:?}: {:?}; log:\n{}",
            http_get(&format!("{base}/readyz")).await,
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = http_get(&format!("{base}/healthz")).await;
    assert_eq!(
        health.map(|(code, _)| code),
        Some(200),
        "/healthz answers 200"
    );

    let ledger_url = format!("sqlite://{}", ledger_path.display());
    let ledger_settings = RawLedgerConfig {
        url: ledger_url,
        ..RawLedgerConfig::default()
    }
    .validate()
    .unwrap();
    let ledger = Ledger::connect(&ledger_settings).await.unwrap();
    let status_of = |id: String| {
        let ledger = ledger.clone();
        async move {
            ledger
                .find(&id)
                .await
                .unwrap()
                .first()
                .map(|record| record.status)
        }
    };
    wait_until("both approvals are settled", WITHIN, || async {
        status_of(saved.process_instance_id.clone()).await == Some(Status::Saved)
            && status_of(unmappable.process_instance_id.clone()).await == Some(Status::Rejected)
    })
    .await;
    assert_eq!(k3.handle().bill_count(), 1, "one bill written");

    wait_until("/metrics counts the outcomes", WITHIN, || async {
        http_get(&format!("{base}/metrics"))
            .await
            .is_some_and(|(_, body)| {
                body.contains("dingk3_consumer_messages_total{outcome=\"saved\"} 1")
                    && body.contains("dingk3_consumer_messages_total{outcome=\"mapping\"} 1")
                    && body.contains("dingk3_dlq_depth 1")
            })
    })
    .await;

    let pid = child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(signalled.success(), "SIGTERM sent");
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(12),
            "the consumer did not exit within the grace; log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        exit.code(),
        Some(0),
        "exit status 0 after SIGTERM; log:\n{}",
        log()
    );
    assert!(
        log().contains("consumer stopped"),
        "the stop is logged:\n{}",
        log()
    );
    ledger.close().await;

    let output = status(&config, "en", "json");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "status exits 0: {stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("status prints JSON");
    assert_eq!(report["counts"]["saved"], 1, "{report}");
    assert_eq!(report["counts"]["rejected"], 1, "{report}");
    assert_eq!(report["total"], 2, "{report}");
    assert_eq!(report["dead_letter_queue"]["depth"], 1, "{report}");
    let last = &report["last_errors"][0];
    assert_eq!(
        last["process_instance_id"],
        unmappable.process_instance_id.as_str()
    );
    assert_eq!(last["error_kind"], "mapping", "{report}");
    assert!(
        last["error"]
            .as_str()
            .unwrap_or_default()
            .contains("报销金额(元)"),
        "the last error names the field: {report}"
    );

    let table = status(&config, "en", "table");
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("saved"), "{text}");
    assert!(
        text.contains(&format!("{prefix}.dead: 1 messages")),
        "{text}"
    );
    assert!(text.contains("mapping"), "{text}");

    let chinese = status(&config, "zh", "table");
    let text = String::from_utf8(chinese.stdout).unwrap();
    assert!(text.contains("已保存"), "{text}");
    assert!(text.contains("死信队列"), "{text}");
    assert!(text.contains("最近的错误"), "{text}");
    k3.shutdown().await;
}

#[test]
fn status_unreachable_broker_exits_one() {
    let folder = tempfile::tempdir().unwrap();
    let ledger = folder.path().join("ledger.sqlite");
    let config = folder.path().join("dingk3.toml");
    let text = format!(
        "[broker]\nurl = \"amqp://guest:guest@127.0.0.1:{}/%2f\"\nconnect_timeout_ms = 2000\n\n[ledger]\nurl = \"sqlite://{}\"\n",
        free_port(),
        ledger.display()
    );
    std::fs::write(&config, text).unwrap();
    let output = status(&config, "en", "table");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a part was not read: {stdout}"
    );
    assert!(
        stdout.contains("Not read:"),
        "the problem is shown: {stdout}"
    );
    assert!(
        stdout.contains("total"),
        "the ledger part is still shown: {stdout}"
    );
}

#[test]
fn status_invalid_config_exits_two() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("dingk3.toml");
    std::fs::write(&config, "[ledger]\nurl = \"mysql://nope\"\n").unwrap();
    let output = status(&config, "zh", "table");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ledger.url"), "the key is named: {stderr}");
    assert!(
        stderr.contains("配置"),
        "the message is in Chinese: {stderr}"
    );
}

#[test]
fn run_invalid_config_exits_two() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("dingk3.toml");
    std::fs::write(&config, "[consumer]\nbatch_size = 0\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_consumer"))
        .args(["--lang", "en", "run", "--config"])
        .arg(&config)
        .env_remove("DINGK3_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("consumer.batch_size"), "{stderr}");
    assert!(
        stderr.contains("k3cloud"),
        "every bad section is reported: {stderr}"
    );
}
