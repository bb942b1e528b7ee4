//! The usual integration script as a baseline: Kingdee's official Python SDK
//! (`kingdee-cdp-webapi-sdk`) saving one bill per `Save` call in a loop, run by
//! `scripts/sdk_bench.py` against a K3Cloud simulator with the scenario's latency.
//!
//! The bill is the one dingk3 sends for the reference case `01-admin-two-rows` through
//! the example mapping, so both sides write the same model.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use dingk3_simulator::k3cloud::{
    DEFAULT_ACCT_ID, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_USERNAME, FaultSettings,
    K3CloudSimulator, SimulatorOptions,
};
use serde::Deserialize;
use tokio::process::Command;

use crate::consumer::cases::{PROCESS_CODE, case_envelope, example_routes, repo_path};

/// Python interpreter used when none is given: the venv that `.ci/run` creates with
/// `scripts/requirements-sdk.txt`.
pub const DEFAULT_PYTHON: &str = "target/ci-venv/bin/python";

/// Longest one SDK loop may take.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// Result of one SDK loop.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct SdkLoop {
    /// Bills saved.
    pub bills: usize,
    /// Saves that failed; a baseline with failures is an error.
    pub failures: usize,
    /// Seconds of the loop, from the first call to the last reply.
    pub seconds: f64,
    /// Median time of one `Save` call, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile time of one `Save` call, in milliseconds.
    pub p99_ms: f64,
    /// Peak resident set of the Python process, in KiB.
    pub peak_rss_kib: u64,
    /// CPU seconds (user + system) of the Python process, start-up included.
    pub cpu_seconds: f64,
}

impl SdkLoop {
    /// Bills saved per second.
    pub fn bills_per_s(&self) -> f64 {
        self.bills as f64 / self.seconds
    }

    /// Peak resident set of the Python process, in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }

    /// CPU seconds of the Python process per 1,000 bills.
    pub fn cpu_per_1000(&self) -> f64 {
        self.cpu_seconds * 1000.0 / self.bills as f64
    }
}

/// Returns the bill model dingk3 writes for the reference case `01-admin-two-rows`.
pub fn reference_model() -> serde_json::Value {
    let envelope = case_envelope("01-admin-two-rows");
    let instance = envelope
        .approval()
        .expect("the reference case decodes as an approval");
    let routes = example_routes();
    let route = routes
        .route_for(PROCESS_CODE)
        .expect("the example configuration routes the reference template");
    route
        .mapping
        .map(&instance)
        .expect("the reference case maps to a bill")
        .model
}

/// Saves `count` bills with the SDK, one `Save` per bill, against a fresh simulator
/// with `faults` (the scenario's latency). `python` must have the SDK installed.
pub async fn measure(
    python: &Path,
    faults: FaultSettings,
    count: usize,
) -> anyhow::Result<SdkLoop> {
    let python = resolve(python);
    anyhow::ensure!(
        python.components().count() == 1 || python.exists(),
        "the Python interpreter {} does not exist; create the venv with `python3 -m venv target/ci-venv && target/ci-venv/bin/pip install -r scripts/requirements-sdk.txt` or pass --python",
        python.display()
    );
    let k3 = K3CloudSimulator::start(SimulatorOptions {
        faults,
        ..SimulatorOptions::default()
    })
    .await
    .context("the K3Cloud simulator for the SDK loop does not start")?;
    let folder = tempfile::tempdir().context("no temporary folder for the bill model")?;
    let model_path = folder.path().join("model.json");
    std::fs::write(&model_path, serde_json::to_vec(&reference_model())?)
        .context("the bill model cannot be written")?;

    let mut command = Command::new(&python);
    command
        .arg(repo_path("scripts/sdk_bench.py"))
        .args(["--url", &k3.base_url()])
        .args(["--acct-id", DEFAULT_ACCT_ID])
        .args(["--username", DEFAULT_USERNAME])
        .args(["--app-id", DEFAULT_APP_ID])
        .arg("--model")
        .arg(&model_path)
        .args(["--count", &count.to_string()])
        .env("DINGK3_BENCH_APP_SECRET", DEFAULT_APP_SECRET)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_LIMIT, command.output())
        .await
        .map_err(|_| anyhow::anyhow!("scripts/sdk_bench.py did not finish within {RUN_LIMIT:?}"))?
        .with_context(|| format!("{} cannot run scripts/sdk_bench.py", python.display()))?;
    k3.shutdown().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "scripts/sdk_bench.py exited with {}:\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let result: SdkLoop = serde_json::from_str(line)
        .with_context(|| format!("scripts/sdk_bench.py printed no result line: {stdout}"))?;
    anyhow::ensure!(
        result.failures == 0 && result.bills == count && result.seconds > 0.0,
        "the SDK loop did not save every bill: {result:?}"
    );
    Ok(result)
}

/// Resolves a relative interpreter path against the repository root.
fn resolve(python: &Path) -> PathBuf {
    if python.is_absolute() || python.components().count() == 1 {
        python.to_path_buf()
    } else {
        repo_path(&python.to_string_lossy())
    }
}
