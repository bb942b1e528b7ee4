//! A consumer test bed: a unique broker prefix with short retry tiers, the K3Cloud
//! simulator, a test ledger, and one or more consumer workers running in-process as
//! separate consumers would (each with its own ledger pool and K3Cloud client).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use dingk3::broker::{BrokerSettings, Topology};
use dingk3::dingtalk::{DingTalkClient, DingTalkSettings};
use dingk3::envelope::Envelope;
use dingk3::k3cloud::{K3CloudClient, RawK3CloudConfig};
use dingk3::ledger::{InstanceRecord, Ledger, Status};
use dingk3::metrics::Readiness;
use dingk3_consumer::config::RawConsumerConfig;
use dingk3_consumer::worker::{READINESS_CONDITIONS, Worker, WorkerParts};
use dingk3_simulator::k3cloud::{
    BaseData, DEFAULT_ACCT_ID, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_PASSWORD,
    DEFAULT_USERNAME, FaultSettings, K3CloudSimulator, RunningK3Cloud, SimulatorOptions,
};
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::broker::{self, DeadLetterView, TestClient, TopologyGuard};
use super::cases::example_routes;
use super::ledger::{LedgerKind, TestLedger};

/// How the consumers authenticate to K3Cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum K3Auth {
    /// Signature headers on every request.
    Signature,
    /// One `ValidateUser` login, then session cookies, which the simulator can expire.
    PasswordSession,
}

/// How to set up a test bed.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Short name of the test, part of the prefix.
    pub test: &'static str,
    /// Retry tiers of the test topology.
    pub tiers: Vec<&'static str>,
    /// Consumers started at once.
    pub consumers: usize,
    /// Ledger database.
    pub ledger: LedgerKind,
    /// K3Cloud authentication of the consumers.
    pub auth: K3Auth,
    /// App secret the consumers send; the simulator's by default.
    pub app_secret: String,
    /// Faults of the K3Cloud simulator.
    pub faults: FaultSettings,
    /// Base data of the K3Cloud simulator.
    pub base_data: BaseData,
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
    /// `k3cloud.request_timeout_ms` of the consumers.
    pub request_timeout_ms: u64,
    /// `consumer.shutdown_grace_seconds`.
    pub shutdown_grace_seconds: u64,
    /// DingTalk settings for write-back; write-back is on when set.
    pub write_back: Option<DingTalkSettings>,
}

impl Default for HarnessOptions {
    fn default() -> HarnessOptions {
        HarnessOptions {
            test: "consumer",
            tiers: vec!["1s", "2s"],
            consumers: 1,
            ledger: LedgerKind::Sqlite,
            auth: K3Auth::Signature,
            app_secret: DEFAULT_APP_SECRET.to_string(),
            faults: FaultSettings::default(),
            base_data: BaseData::reference(),
            batch_size: 10,
            batch_wait_ms: 100,
            concurrent_batches: 2,
            in_process_retries: 2,
            in_process_retry_max_ms: 200,
            request_timeout_ms: 2_000,
            shutdown_grace_seconds: 10,
            write_back: None,
        }
    }
}

/// One consumer worker running in the test process.
pub struct RunningConsumer {
    /// Its consumer id.
    pub id: String,
    /// Name of its broker connection.
    pub connection_name: String,
    /// Its readiness conditions.
    pub readiness: Readiness,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

/// A running test bed. Call [`Harness::finish`] at the end; dropping it still deletes
/// the broker topology.
pub struct Harness {
    /// Options it was started with.
    pub options: HarnessOptions,
    /// Broker settings of the test prefix.
    pub broker: BrokerSettings,
    /// Queue and exchange names.
    pub topology: Topology,
    /// The K3Cloud simulator.
    pub k3: RunningK3Cloud,
    /// The test ledger.
    pub db: TestLedger,
    /// The test's own broker connection.
    pub client: TestClient,
    /// Running consumers.
    pub consumers: Vec<RunningConsumer>,
    dead: Mutex<Vec<DeadLetterView>>,
    guard: TopologyGuard,
}

impl Harness {
    /// Starts a test bed; `None` when it needs PostgreSQL and `DATABASE_URL` is unset.
    pub async fn start(options: HarnessOptions) -> Option<Harness> {
        broker::require_broker().await;
        let db = TestLedger::open(options.ledger, options.test).await?;
        let prefix = broker::unique_prefix(options.test);
        let broker = broker::settings(&prefix, &options.tiers);
        let guard = TopologyGuard::new(&broker);
        let client = TestClient::connect(&broker).await;
        let k3 = K3CloudSimulator::start(SimulatorOptions {
            base_data: options.base_data.clone(),
            faults: options.faults.clone(),
            seed: 11,
            ..SimulatorOptions::default()
        })
        .await
        .expect("the K3Cloud simulator starts");
        let mut harness = Harness {
            topology: Topology::new(&broker),
            options,
            broker,
            k3,
            db,
            client,
            consumers: Vec::new(),
            dead: Mutex::new(Vec::new()),
            guard,
        };
        for _ in 0..harness.options.consumers {
            harness.spawn_consumer().await;
        }
        Some(harness)
    }

    /// Starts one more consumer with its own ledger pool and K3Cloud client.
    pub async fn spawn_consumer(&mut self) {
        let options = &self.options;
        let id = format!("{}-c{}", self.broker.prefix, self.consumers.len() + 1);
        let settings = RawConsumerConfig {
            consumer_id: id.clone(),
            batch_size: options.batch_size,
            batch_wait_ms: options.batch_wait_ms,
            concurrent_batches: options.concurrent_batches,
            in_process_retries: options.in_process_retries,
            in_process_retry_max_ms: options.in_process_retry_max_ms,
            write_back: options.write_back.is_some(),
            write_back_retry_seconds: 1,
            metrics_listen: "127.0.0.1:0".to_string(),
            dlq_depth_refresh_seconds: 1,
            shutdown_grace_seconds: options.shutdown_grace_seconds,
            ..RawConsumerConfig::default()
        }
        .validate()
        .expect("test consumer settings are valid");
        let ledger = Ledger::connect(&self.db.settings)
            .await
            .expect("a consumer connects to the test ledger");
        let readiness = Readiness::new(&READINESS_CONDITIONS);
        let worker = Worker::new(WorkerParts {
            settings,
            broker: self.broker.clone(),
            ledger,
            k3cloud: self.k3_client(),
            routes: example_routes(),
            dingtalk: options
                .write_back
                .clone()
                .map(|settings| DingTalkClient::new(settings).expect("the DingTalk client builds")),
            readiness: readiness.clone(),
        });
        let connection_name = worker.connection_name().to_string();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(worker.run(shutdown.clone()));
        self.consumers.push(RunningConsumer {
            id,
            connection_name,
            readiness,
            shutdown,
            task,
        });
    }

    /// Builds a K3Cloud client as the consumers use it.
    pub fn k3_client(&self) -> K3CloudClient {
        let options = &self.options;
        let mut raw = RawK3CloudConfig {
            base_url: self.k3.base_url(),
            acct_id: DEFAULT_ACCT_ID.to_string(),
            username: DEFAULT_USERNAME.to_string(),
            app_id: DEFAULT_APP_ID.to_string(),
            app_secret: Some(SecretString::from(options.app_secret.clone())),
            request_timeout_ms: options.request_timeout_ms,
            connect_timeout_ms: options.request_timeout_ms.min(1_000),
            ..RawK3CloudConfig::default()
        };
        if options.auth == K3Auth::PasswordSession {
            raw.auth = "session".to_string();
            raw.session_login = "password".to_string();
            raw.app_secret = None;
            raw.password = Some(SecretString::from(DEFAULT_PASSWORD));
        }
        K3CloudClient::new(raw.validate().expect("test K3Cloud settings are valid"))
            .expect("the K3Cloud client builds")
    }

    /// Returns the test's ledger handle.
    pub fn ledger(&self) -> &Ledger {
        &self.db.ledger
    }

    /// Publishes an envelope as the producer would.
    pub async fn publish(&self, envelope: &Envelope) {
        self.client
            .publish(envelope.to_bytes(), Some(&envelope.process_instance_id))
            .await;
    }

    /// Publishes any body, as another client might.
    pub async fn publish_raw(&self, body: Vec<u8>, message_id: Option<&str>) {
        self.client.publish(body, message_id).await;
    }

    /// Returns the ledger row of an instance.
    pub async fn record(&self, id: &str) -> Option<InstanceRecord> {
        self.ledger()
            .find(id)
            .await
            .expect("the ledger can be read")
            .into_iter()
            .find(|record| record.process_instance_id == id)
    }

    /// Waits until `check` returns true, failing with `what` after `within`.
    pub async fn wait_until<F, Fut>(&self, what: &str, within: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        loop {
            if check().await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {within:?} waiting until {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the ledger shows `status` for `id`.
    pub async fn wait_for_status(&self, id: &str, status: Status, within: Duration) {
        let what = format!("instance {id} is {status} in the ledger");
        self.wait_until(&what, within, || async {
            self.record(id)
                .await
                .is_some_and(|record| record.status == status)
        })
        .await;
    }

    /// Returns every dead letter taken so far, reading the queue first.
    pub async fn dead_letters(&self) -> Vec<DeadLetterView> {
        let taken = self.client.take_dead_letters().await;
        let mut dead = self.dead.lock().expect("dead-letter list lock");
        dead.extend(taken);
        dead.clone()
    }

    /// Waits until at least `count` dead letters arrived and returns them all.
    pub async fn wait_for_dead_letters(
        &self,
        count: usize,
        within: Duration,
    ) -> Vec<DeadLetterView> {
        let what = format!("{count} dead letters arrived");
        self.wait_until(&what, within, || async {
            self.dead_letters().await.len() >= count
        })
        .await;
        self.dead_letters().await
    }

    /// Returns the number of ready messages in the work queue.
    pub async fn work_depth(&self) -> u32 {
        self.client.depth(&self.topology.approvals_queue()).await
    }

    /// Signals every consumer to stop and waits for them; returns the time it took.
    pub async fn stop_consumers(&mut self) -> Duration {
        let started = Instant::now();
        for consumer in &self.consumers {
            consumer.shutdown.cancel();
        }
        let grace = Duration::from_secs(self.options.shutdown_grace_seconds + 5);
        for consumer in self.consumers.drain(..) {
            tokio::time::timeout(grace, consumer.task)
                .await
                .unwrap_or_else(|_| {
                    panic!("consumer {} did not stop within {grace:?}", consumer.id)
                })
                .expect("the consumer task did not panic");
        }
        started.elapsed()
    }

    /// Stops the consumers, deletes the topology, closes the ledger and the simulator.
    pub async fn finish(mut self) {
        self.stop_consumers().await;
        let Harness {
            client,
            db,
            k3,
            mut guard,
            ..
        } = self;
        client.delete_topology().await;
        guard.disarm();
        db.close().await;
        k3.shutdown().await;
    }
}
