//! One pipeline scenario of the bench: the DingTalk simulator serving approved claims
//! that all map to valid bills, the producer and the consumers as child processes, the
//! K3Cloud simulator with the scenario's latency, and the measurements taken from the
//! ledger and from `/proc`.
//!
//! Throughput counts bills saved over the time from the first publish (the earliest
//! `published_at` in the ledger) to the last save. A backlog scenario publishes every
//! approval before the first consumer starts, and its time starts when the consumers
//! do. Latency is `saved_at − published_at` per bill. The ledger sets `published_at`
//! when the producer records the broker's confirm, or earlier when a consumer claims
//! the approval first, so the latency leaves out the few milliseconds between
//! `basic.publish` and that moment. Resource use is read from `/proc` just before the
//! processes are stopped, so it covers their whole life. The bench process itself runs
//! both simulators; its CPU time and the machine's busy share during the run show how
//! much of the two cores the rest of the pipeline had.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use dingk3::k3cloud::PROBE_CHUNK;
use dingk3::ledger::Status;
use dingk3_simulator::dingtalk::{DEFAULT_PROCESS_CODE, Entry, Expected, Origin, generate_claims};
use dingk3_simulator::k3cloud::FaultSettings;
use tokio::time::Instant;

use super::proc_stats::{CpuTicks, ProcessUsage, read_machine_ticks, read_usage};
use crate::consumer::LedgerKind;
use crate::pipeline::{Pipeline, PipelineOptions, RunMode};

/// Pause between two progress checks.
const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Slowest rate a scenario may drop to, in bills per second, before it counts as
/// stuck; the time limit of a run is derived from it.
const SLOWEST_RATE: f64 = 5.0;

/// Time the processes get to start before the limit applies.
const START_ALLOWANCE: Duration = Duration::from_secs(60);

/// What one scenario runs.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name printed in the report, e.g. `A` or `B`.
    pub name: &'static str,
    /// Broker prefix part and log name, e.g. `bench-a`.
    pub test: &'static str,
    /// Approved claims the DingTalk simulator serves; each must become one bill.
    pub bills: usize,
    /// Consumer processes.
    pub consumers: usize,
    /// K3Cloud simulator latency.
    pub k3: FaultSettings,
    /// Whether every approval is published before the first consumer starts.
    pub backlog: bool,
    /// Consumer and producer settings of the run.
    pub tuning: Tuning,
    /// Ledger database.
    pub ledger: LedgerKind,
}

/// Settings the bench varies; [`Tuning::default`] holds the shipped defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// `consumer.batch_size`.
    pub batch_size: u32,
    /// `consumer.batch_wait_ms`.
    pub batch_wait_ms: u64,
    /// `consumer.concurrent_batches`.
    pub concurrent_batches: u32,
    /// `producer.publish_batch_size`.
    pub publish_batch_size: u32,
    /// `producer.fetch_concurrency`.
    pub fetch_concurrency: u32,
}

impl Default for Tuning {
    /// The defaults of `[consumer]` and `[producer]`.
    fn default() -> Tuning {
        Tuning {
            batch_size: 10,
            batch_wait_ms: 200,
            concurrent_batches: 2,
            publish_batch_size: 50,
            fetch_concurrency: 4,
        }
    }
}

impl Scenario {
    /// Returns the upper bound on bills per second that the consumers' concurrency and
    /// the K3Cloud call latency allow (Little's law): bills in flight divided by the
    /// time of one `BatchSave`. `None` without added latency.
    pub fn little_bound(&self) -> Option<f64> {
        let batch = f64::from(self.tuning.batch_size);
        let call_ms = self.k3.latency_ms as f64 + self.k3.batch_model_latency_ms as f64 * batch;
        if call_ms <= 0.0 {
            return None;
        }
        Some(self.bills_in_flight() * 1000.0 / call_ms)
    }

    /// Returns the bound of [`Scenario::little_bound`] when each batch also waits for
    /// the idempotency probe that the consumer sends before the first `BatchSave`: one
    /// `ExecuteBillQuery` per [`PROBE_CHUNK`] bills, each a plain call of `latency_ms`.
    /// `None` without added latency.
    pub fn little_bound_with_probe(&self) -> Option<f64> {
        let batch = f64::from(self.tuning.batch_size);
        let save_ms = self.k3.latency_ms as f64 + self.k3.batch_model_latency_ms as f64 * batch;
        let probes = (self.tuning.batch_size as usize).div_ceil(PROBE_CHUNK);
        let probe_ms = self.k3.latency_ms as f64 * probes as f64;
        if save_ms + probe_ms <= 0.0 {
            return None;
        }
        Some(self.bills_in_flight() * 1000.0 / (save_ms + probe_ms))
    }

    /// Bills the consumers may hold in `BatchSave` calls at once: consumers ×
    /// `concurrent_batches` × `batch_size`.
    fn bills_in_flight(&self) -> f64 {
        self.consumers as f64
            * f64::from(self.tuning.concurrent_batches)
            * f64::from(self.tuning.batch_size)
    }
}

/// Measurements of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario.
    pub scenario: Scenario,
    /// Bills saved (equal to `scenario.bills`, or the run is an error).
    pub bills: usize,
    /// Seconds of the measured window.
    pub seconds: f64,
    /// Seconds from the first to the last publish.
    pub publish_seconds: f64,
    /// Median latency from publish to save, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency from publish to save, in milliseconds.
    pub p99_ms: f64,
    /// The producer's use of memory and CPU.
    pub producer: ProcessUsage,
    /// Each consumer's use of memory and CPU.
    pub consumers: Vec<ProcessUsage>,
    /// CPU seconds of the bench process (both simulators, the ledger polling) during
    /// the scenario.
    pub harness_cpu_seconds: f64,
    /// Share of the machine's CPU time that was busy during the scenario, 0 to 1,
    /// counting every process on the machine.
    pub machine_busy: f64,
}

impl ScenarioResult {
    /// Bills saved per second.
    pub fn bills_per_s(&self) -> f64 {
        self.bills as f64 / self.seconds
    }

    /// Approvals published per second.
    pub fn published_per_s(&self) -> f64 {
        self.bills as f64 / self.publish_seconds.max(0.001)
    }

    /// Largest peak resident set of any consumer, in MiB.
    pub fn consumer_peak_rss_mib(&self) -> f64 {
        self.consumers
            .iter()
            .map(ProcessUsage::peak_rss_mib)
            .fold(0.0, f64::max)
    }

    /// CPU seconds of every consumer together per 1,000 bills.
    pub fn consumer_cpu_per_1000(&self) -> f64 {
        let total: f64 = self.consumers.iter().map(|usage| usage.cpu_seconds).sum();
        total * 1000.0 / self.bills as f64
    }

    /// CPU seconds of the producer per 1,000 bills.
    pub fn producer_cpu_per_1000(&self) -> f64 {
        self.producer.cpu_seconds * 1000.0 / self.bills as f64
    }

    /// CPU seconds of the bench process (the simulators) per 1,000 bills.
    pub fn harness_cpu_per_1000(&self) -> f64 {
        self.harness_cpu_seconds * 1000.0 / self.bills as f64
    }
}

/// Runs `scenario` to the last saved bill and returns its measurements; fails when a
/// bill is missing or the run is stuck.
pub async fn run(scenario: Scenario) -> anyhow::Result<ScenarioResult> {
    let mut pipeline = Pipeline::prepare(PipelineOptions {
        test: scenario.test,
        cases: false,
        claims: 0,
        consumers: 0,
        ledger: scenario.ledger,
        mode: RunMode::Processes,
        k3_faults: scenario.k3.clone(),
        batch_size: scenario.tuning.batch_size,
        batch_wait_ms: scenario.tuning.batch_wait_ms,
        concurrent_batches: scenario.tuning.concurrent_batches,
        k3_request_timeout_ms: 30_000,
        lease_seconds: 120,
        ..PipelineOptions::default()
    })
    .await
    .context("the ledger is PostgreSQL but DATABASE_URL is not set")?;
    serve_valid_claims(&pipeline, scenario.bills)?;
    configure(&mut pipeline, &scenario.tuning);

    let limit = START_ALLOWANCE + Duration::from_secs_f64(scenario.bills as f64 / SLOWEST_RATE);
    let deadline = Instant::now() + limit;
    let harness_before = usage_of(Some(std::process::id()), "the bench")?;
    let machine_before = read_machine_ticks();
    let consumers_started_at = if scenario.backlog {
        pipeline.start_producer().await;
        wait_published(&mut pipeline, scenario.bills, deadline).await?;
        let started = Utc::now().timestamp_millis();
        start_consumers(&mut pipeline, scenario.consumers).await;
        Some(started)
    } else {
        start_consumers(&mut pipeline, scenario.consumers).await;
        pipeline.start_producer().await;
        None
    };
    wait_saved(&mut pipeline, scenario.bills, deadline).await?;
    let harness_after = usage_of(Some(std::process::id()), "the bench")?;
    let machine_busy = match (machine_before, read_machine_ticks()) {
        (Some(before), Some(after)) => CpuTicks::busy_share(&before, &after),
        _ => 0.0,
    };

    let producer = usage_of(pipeline.producer().pid(), "producer")?;
    let consumers = pipeline
        .consumers
        .iter()
        .map(|consumer| usage_of(consumer.pid(), &consumer.id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let times = pipeline.ledger_view().save_times().await;
    let bills_in_k3 = pipeline.k3.handle().bill_count();
    pipeline.finish().await;

    anyhow::ensure!(
        times.len() == scenario.bills && bills_in_k3 == scenario.bills,
        "{} bills in the ledger and {bills_in_k3} in K3Cloud, expected {}",
        times.len(),
        scenario.bills
    );
    let mut result = measure(scenario, &times, consumers_started_at, producer, consumers);
    result.harness_cpu_seconds = harness_after.cpu_seconds - harness_before.cpu_seconds;
    result.machine_busy = machine_busy;
    Ok(result)
}

/// Computes throughput and latency from the ledger's `(published_at, saved_at)` pairs.
fn measure(
    scenario: Scenario,
    times: &[(i64, i64)],
    consumers_started_at: Option<i64>,
    producer: ProcessUsage,
    consumers: Vec<ProcessUsage>,
) -> ScenarioResult {
    let first_published = times
        .iter()
        .map(|(published, _)| *published)
        .min()
        .unwrap_or(0);
    let last_published = times
        .iter()
        .map(|(published, _)| *published)
        .max()
        .unwrap_or(0);
    let last_saved = times.iter().map(|(_, saved)| *saved).max().unwrap_or(0);
    let start = consumers_started_at.unwrap_or(first_published);
    let mut latencies: Vec<i64> = times
        .iter()
        .map(|(published, saved)| saved - published)
        .collect();
    latencies.sort_unstable();
    ScenarioResult {
        bills: times.len(),
        seconds: ((last_saved - start).max(1)) as f64 / 1000.0,
        publish_seconds: (last_published - first_published) as f64 / 1000.0,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        producer,
        consumers,
        harness_cpu_seconds: 0.0,
        machine_busy: 0.0,
        scenario,
    }
}

/// Returns the nearest-rank percentile `q` of sorted values, 0 when empty.
pub fn percentile(sorted: &[i64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// Adds `count` generated claims that are approved and map to a valid bill.
fn serve_valid_claims(pipeline: &Pipeline, count: usize) -> anyhow::Result<()> {
    let handle = pipeline.dingtalk.handle();
    let mut added = 0;
    let mut seed = 1;
    while added < count {
        for claim in generate_claims(count * 2, seed, DEFAULT_PROCESS_CODE, Utc::now()) {
            let valid = claim.truth().approved
                && matches!(claim.outcome_if_approved, Expected::Saved { .. });
            if !valid || added == count {
                continue;
            }
            let entry = Entry {
                instance: claim.instance,
                outcome_if_approved: Some(claim.outcome_if_approved),
                case_expected: None,
                origin: Origin::Generated { seed },
            };
            // Seeds can repeat an id; a repeat is skipped.
            if handle.add(entry).is_ok() {
                added += 1;
            }
        }
        seed += 1;
    }
    Ok(())
}

/// Writes the bench's producer settings into the run's configuration. The DingTalk
/// rate limit is lifted because the simulator is local: the bench measures the
/// pipeline, not DingTalk's quota.
fn configure(pipeline: &mut Pipeline, tuning: &Tuning) {
    pipeline.set_config("dingtalk", "rate_limit_per_second", 100_000);
    pipeline.set_config(
        "producer",
        "publish_batch_size",
        i64::from(tuning.publish_batch_size),
    );
    pipeline.set_config(
        "producer",
        "fetch_concurrency",
        i64::from(tuning.fetch_concurrency),
    );
}

async fn start_consumers(pipeline: &mut Pipeline, count: usize) {
    for _ in 0..count {
        pipeline.start_consumer().await;
    }
}

/// Waits until the producer has published `count` approvals.
async fn wait_published(
    pipeline: &mut Pipeline,
    count: usize,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        ensure_running(pipeline)?;
        let published = pipeline.producer().published().await.unwrap_or(0);
        if published >= count as u64 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the producer published {published} of {count} approvals in time{}",
            pipeline.logs()
        );
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

/// Waits until the ledger records `count` saved bills.
async fn wait_saved(
    pipeline: &mut Pipeline,
    count: usize,
    deadline: Instant,
) -> anyhow::Result<()> {
    loop {
        ensure_running(pipeline)?;
        let saved = pipeline.ledger_view().count_status(Status::Saved).await;
        if saved >= count as i64 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{saved} of {count} bills were saved in time{}",
            pipeline.logs()
        );
        tokio::time::sleep(CHECK_INTERVAL).await;
    }
}

/// Fails when the producer or a consumer has exited, instead of waiting for the
/// deadline: neither stops by itself while the bench runs.
fn ensure_running(pipeline: &mut Pipeline) -> anyhow::Result<()> {
    let mut exited = Vec::new();
    if let Some(producer) = pipeline.producer.as_mut()
        && let Some(status) = producer.exited()
    {
        exited.push(format!("the producer exited with {status}"));
    }
    for consumer in &mut pipeline.consumers {
        if let Some(status) = consumer.exited() {
            exited.push(format!("consumer {} exited with {status}", consumer.id));
        }
    }
    anyhow::ensure!(
        exited.is_empty(),
        "{}{}",
        exited.join("; "),
        pipeline.logs()
    );
    Ok(())
}

/// Reads the usage of a child process.
fn usage_of(pid: Option<u32>, name: &str) -> anyhow::Result<ProcessUsage> {
    let pid = pid.with_context(|| format!("{name} runs as a task, not a process"))?;
    read_usage(pid).with_context(|| format!("/proc/{pid} of {name} cannot be read"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.50), 50.0, "median of 1..=100");
        assert_eq!(percentile(&values, 0.99), 99.0, "p99 of 1..=100");
        assert_eq!(
            percentile(&[7], 0.99),
            7.0,
            "a single value is every percentile"
        );
        assert_eq!(percentile(&[], 0.5), 0.0, "no values give 0");
    }

    #[test]
    fn little_bound_of_slow_k3cloud() {
        let scenario = Scenario {
            name: "B",
            test: "bench-b",
            bills: 10,
            consumers: 4,
            k3: FaultSettings {
                latency_ms: 200,
                batch_model_latency_ms: 5,
                ..FaultSettings::default()
            },
            backlog: false,
            tuning: Tuning::default(),
            ledger: LedgerKind::Sqlite,
        };
        // 4 consumers × 2 batches × 10 bills in flight, 250 ms per BatchSave.
        assert_eq!(scenario.little_bound(), Some(320.0), "BatchSave only");
        // The same bills in flight, 200 ms probe + 250 ms BatchSave per batch.
        let with_probe = scenario.little_bound_with_probe().expect("latency is set");
        assert!(
            (with_probe - 80.0 * 1000.0 / 450.0).abs() < 1e-9,
            "probe and BatchSave: {with_probe}"
        );
    }

    #[test]
    fn little_bound_none_without_latency() {
        let scenario = Scenario {
            name: "A",
            test: "bench-a",
            bills: 10,
            consumers: 1,
            k3: FaultSettings::default(),
            backlog: false,
            tuning: Tuning::default(),
            ledger: LedgerKind::Sqlite,
        };
        assert_eq!(scenario.little_bound(), None, "BatchSave only");
        assert_eq!(scenario.little_bound_with_probe(), None, "with the probe");
    }
}
