//! The `producer` and `consumer` binaries as child processes: finding (and building)
//! them, starting them with a configuration file, reading their `/metrics`, and
//! stopping them with SIGTERM.
//!
//! The binaries are looked up in `DINGK3_BIN_DIR` when it is set. Otherwise the first
//! use in a test binary runs `cargo build --bins -p dingk3-producer -p dingk3-consumer`
//! (with `--release` when the tests were built so) and takes them from the target
//! folder the tests run from. An integration test of this package cannot name another
//! package's binaries through `CARGO_BIN_EXE_*`, and a stale binary would test old
//! code. Built alone, these two packages resolve their dependencies' features
//! differently from a workspace build, so the first run after a workspace build
//! compiles them again (about a minute and a half on two cores). Setting
//! `DINGK3_BIN_DIR` to the workspace build's folder avoids that.
//!
//! Every child is killed when its handle is dropped, so a failed test leaves no process
//! behind.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::process::{Child, Command};

/// Bytes of a child's log shown in a failure message.
const LOG_TAIL_BYTES: usize = 6_000;

/// Variable naming a folder of prebuilt binaries. The children do not inherit it,
/// because they would read it as the configuration key `bin_dir` and reject it.
const BIN_DIR_ENV: &str = "DINGK3_BIN_DIR";

/// Folder of the `producer` and `consumer` binaries, built on first use.
pub fn binary_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os(BIN_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => build_binaries(),
    })
    .clone()
}

/// Builds both binaries of the profile the tests were built with and returns their
/// folder.
fn build_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // Test binaries live in target/<profile>/deps, this package's own binaries (the
    // bench) in target/<profile>.
    let exe_dir = exe.parent().expect("the running binary lies in a folder");
    let profile_dir = if exe_dir.file_name().is_some_and(|name| name == "deps") {
        exe_dir
            .parent()
            .expect("target/<profile>/deps has a parent")
    } else {
        exe_dir
    }
    .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args([
        "build",
        "--bins",
        "-p",
        "dingk3-producer",
        "-p",
        "dingk3-consumer",
    ]);
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        command.arg("--release");
    }
    let output = command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs to build the producer and consumer binaries");
    assert!(
        output.status.success(),
        "cargo build of the producer and consumer binaries failed; set DINGK3_BIN_DIR to a folder holding both to skip the build:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    profile_dir
}

/// Returns a local address whose port was free a moment ago, for a child's
/// `metrics_listen`.
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port exists");
    listener
        .local_addr()
        .expect("a bound listener has an address")
}

/// A running child process of the pipeline.
pub struct ChildProcess {
    /// Short name for messages, e.g. `producer` or `consumer-2`.
    pub name: String,
    /// File receiving the child's stdout and stderr.
    pub log: PathBuf,
    /// Address of its `/metrics`, `/healthz` and `/readyz`.
    pub metrics: SocketAddr,
    child: Child,
}

impl ChildProcess {
    /// Starts `binary` (`producer` or `consumer`) with `args`, the configuration file
    /// in `DINGK3_CONFIG` and the extra environment `env`.
    pub fn spawn(
        name: &str,
        binary: &str,
        args: &[&str],
        config: &Path,
        env: &[(String, String)],
        log: PathBuf,
        metrics: SocketAddr,
    ) -> ChildProcess {
        let path = binary_dir().join(binary);
        let file = std::fs::File::create(&log)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", log.display()));
        let stderr = file.try_clone().expect("the log file handle can be cloned");
        let mut command = Command::new(&path);
        command
            .args(args)
            .env("DINGK3_CONFIG", config)
            .env_remove(BIN_DIR_ENV)
            .envs(
                env.iter()
                    .map(|(key, value)| (key.as_str(), value.as_str())),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
        ChildProcess {
            name: name.to_string(),
            log,
            metrics,
            child,
        }
    }

    /// Returns the operating system's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("a running child has a pid")
    }

    /// Returns the sum of every sample of the metric `name` on the child's `/metrics`,
    /// or `None` while the endpoint does not respond or lacks the metric.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let url = format!("http://{}/metrics", self.metrics);
        let text = reqwest::get(&url).await.ok()?.text().await.ok()?;
        sum_samples(&text, name)
    }

    /// Returns the end of the child's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(LOG_TAIL_BYTES);
        let start = (start..text.len())
            .find(|index| text.is_char_boundary(*index))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    /// Kills the child with SIGKILL, as the kernel's OOM killer or a crashed host would,
    /// and waits for it to be reaped. Returns its exit status.
    pub async fn kill(mut self) -> ExitStatus {
        self.child
            .kill()
            .await
            .unwrap_or_else(|error| panic!("cannot SIGKILL {}: {error}", self.name));
        self.child
            .wait()
            .await
            .unwrap_or_else(|error| panic!("cannot reap {}: {error}", self.name))
    }

    /// Returns whether the child has exited, with its status.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends SIGTERM and waits up to `grace` for the exit; kills the child after that.
    /// Returns the exit status, `None` when the child had to be killed.
    pub async fn terminate(mut self, grace: Duration) -> Option<ExitStatus> {
        let pid = self.pid().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid} ({}) failed", self.name);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => Some(status.expect("waiting for the child works")),
            Err(_) => {
                let _ = self.child.kill().await;
                None
            }
        }
    }
}

/// Sums the samples of metric `name` in the Prometheus text format.
fn sum_samples(text: &str, name: &str) -> Option<f64> {
    let mut total = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let matches = line
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '));
        if !matches {
            continue;
        }
        let value = line
            .rsplit(' ')
            .next()
            .and_then(|value| value.parse::<f64>().ok())?;
        total = Some(total.unwrap_or(0.0) + value);
    }
    total
}

/// Runs a one-shot command of `binary` (e.g. `producer backfill …`) to its end and
/// returns its exit status and stdout; panics with its output when it cannot finish
/// within `within`.
pub async fn run_command(
    binary: &str,
    args: &[&str],
    config: &Path,
    within: Duration,
) -> (ExitStatus, String) {
    let path = binary_dir().join(binary);
    let mut command = Command::new(&path);
    command
        .args(args)
        .env("DINGK3_CONFIG", config)
        .env_remove(BIN_DIR_ENV)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(within, command.output())
        .await
        .unwrap_or_else(|_| panic!("{binary} {args:?} did not finish within {within:?}"))
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        eprintln!(
            "{binary} {args:?} ended with {}:\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    (output.status, stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_summed_over_labels() {
        let text = "# HELP x_total a counter\n# TYPE x_total counter\nx_total{code=\"a\"} 2\nx_total{code=\"b\"} 3\nx_total_other 7\n";
        assert_eq!(sum_samples(text, "x_total"), Some(5.0));
    }

    #[test]
    fn missing_metric_is_none() {
        assert_eq!(sum_samples("y 1\n", "x_total"), None);
    }
}
