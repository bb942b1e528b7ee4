//! What one end-to-end run is made of: which approvals the DingTalk simulator serves,
//! how K3Cloud misbehaves, how many consumers run, on which ledger, and whether the
//! producer and consumers run as tasks of the test or as child processes.

use dingk3_simulator::k3cloud::FaultSettings;

use crate::consumer::{K3Auth, LedgerKind};

/// How the producer and the consumers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Library instances on the test's runtime, each with its own broker connection,
    /// ledger pool and clients, wired as `producer run` and `consumer run` wire them.
    Tasks,
    /// The `producer` and `consumer` binaries as child processes, configured through a
    /// file in the run's temporary folder and stopped with SIGTERM.
    Processes,
}

/// Settings of one run. [`PipelineOptions::default`] gives the five handed cases, no
/// generated claims, one consumer, SQLite and no faults.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Short name of the test; part of the broker prefix, connection names and
    /// consumer ids, so `rabbitmqctl list_connections` shows whose they are.
    pub test: &'static str,

    /// Whether the DingTalk simulator serves the handed cases of
    /// `tests/fixtures/cases`, moved so that they finished within the last day.
    pub cases: bool,

    /// Number of claims the DingTalk simulator generates at start.
    pub claims: usize,

    /// Seed of the generated claims.
    pub seed: u64,

    /// Consumers started with the pipeline.
    pub consumers: usize,

    /// Ledger database shared by the producer and every consumer.
    pub ledger: LedgerKind,

    /// Tasks or child processes.
    pub mode: RunMode,

    /// How the consumers authenticate to K3Cloud; session expiry only affects the
    /// session modes.
    pub k3_auth: K3Auth,

    /// Faults the K3Cloud simulator injects from the start.
    pub k3_faults: FaultSettings,

    /// Seed of the K3Cloud simulator's fault generator.
    pub k3_seed: u64,

    /// `broker.retry_tiers`.
    pub tiers: Vec<&'static str>,

    /// `consumer.batch_size`.
    pub batch_size: u32,

    /// `consumer.batch_wait_ms`.
    pub batch_wait_ms: u64,

    /// `consumer.concurrent_batches`.
    pub concurrent_batches: u32,

    /// `consumer.in_process_retries`.
    pub in_process_retries: u32,

    /// `consumer.in_process_retry_max_ms`.
    pub in_process_retry_max_ms: u64,

    /// `k3cloud.request_timeout_ms`.
    pub k3_request_timeout_ms: u64,

    /// `producer.poll_interval_seconds`.
    pub poll_interval_seconds: u64,

    /// `consumer.shutdown_grace_seconds` and `producer.shutdown_grace_seconds`.
    pub shutdown_grace_seconds: u64,

    /// `ledger.lease_seconds`.
    pub lease_seconds: u64,
}

impl Default for PipelineOptions {
    fn default() -> PipelineOptions {
        PipelineOptions {
            test: "pipeline",
            cases: true,
            claims: 0,
            seed: 5,
            consumers: 1,
            ledger: LedgerKind::Sqlite,
            mode: RunMode::Tasks,
            k3_auth: K3Auth::Signature,
            k3_faults: FaultSettings::default(),
            k3_seed: 11,
            tiers: vec!["1s", "2s", "4s"],
            batch_size: 10,
            batch_wait_ms: 100,
            concurrent_batches: 2,
            in_process_retries: 2,
            in_process_retry_max_ms: 200,
            k3_request_timeout_ms: 2_000,
            poll_interval_seconds: 1,
            shutdown_grace_seconds: 10,
            lease_seconds: 60,
        }
    }
}
