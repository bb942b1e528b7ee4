//! A running pipeline: both simulators in-process, the run's broker prefix and ledger,
//! one producer and any number of consumers, started and stopped on request.

use std::path::PathBuf;
use std::time::Duration;

use dingk3::broker::BrokerSettings;
use dingk3::config::ConfigSource;
use dingk3_consumer::settings::RunSettings;
use dingk3_producer::{Producer, ProducerConfig};
use dingk3_simulator::dingtalk::{DingTalkOptions, DingTalkSimulator, RunningDingTalk};
use dingk3_simulator::k3cloud::{K3CloudSimulator, RunningK3Cloud, SimulatorOptions};
use toml::Table;

use super::broker::BrokerView;
use super::config::{self, Endpoints};
use super::ledger_view::LedgerView;
use super::options::{PipelineOptions, RunMode};
use super::process::{ChildProcess, free_address};
use super::workers::{RunningConsumer, RunningProducer};
use crate::consumer::broker::{TopologyGuard, require_broker, settings, unique_prefix};
use crate::consumer::cases::repo_path;
use crate::consumer::{DeadLetterView, TestLedger};

/// A pipeline under test. Call [`Pipeline::finish`] at the end; when a failed assert
/// drops it instead, its children are killed and its broker topology is still deleted.
pub struct Pipeline {
    /// Options it was started with; `mode` may be changed between restarts.
    pub options: PipelineOptions,
    /// The DingTalk simulator the producer polls.
    pub dingtalk: RunningDingTalk,
    /// The K3Cloud simulator the consumers write to.
    pub k3: RunningK3Cloud,
    /// The ledger shared by the producer and the consumers.
    pub db: TestLedger,
    /// Broker settings of the run's prefix.
    pub broker_settings: BrokerSettings,
    /// The test's own connection to the run's queues.
    pub broker: BrokerView,
    /// The configuration every producer and consumer of the run reads.
    pub config: Table,
    /// The configuration file that child processes read.
    pub config_path: PathBuf,
    /// The running producer, if any.
    pub producer: Option<RunningProducer>,
    /// The running consumers.
    pub consumers: Vec<RunningConsumer>,
    /// Extra environment of the child processes started from now on, e.g. a secret as
    /// a `DINGK3_…` variable. [`RunMode::Tasks`] ignores it.
    pub child_env: Vec<(String, String)>,
    ledger_view: LedgerView,
    folder: tempfile::TempDir,
    producers_started: usize,
    consumers_started: usize,
    guard: TopologyGuard,
}

impl Pipeline {
    /// Starts the simulators, the ledger and the topology, then `options.consumers`
    /// consumers and one producer. Returns `None` for a PostgreSQL ledger when
    /// `DATABASE_URL` is unset; fails when the broker is unreachable.
    pub async fn start(options: PipelineOptions) -> Option<Pipeline> {
        let mut pipeline = Pipeline::prepare(options).await?;
        for _ in 0..pipeline.options.consumers {
            pipeline.start_consumer().await;
        }
        pipeline.start_producer().await;
        Some(pipeline)
    }

    /// Starts everything but the producer and the consumers.
    pub async fn prepare(options: PipelineOptions) -> Option<Pipeline> {
        require_broker().await;
        let db = TestLedger::open(options.ledger, options.test).await?;
        let prefix = unique_prefix(options.test);
        let broker_settings = settings(&prefix, &options.tiers);
        let guard = TopologyGuard::new(&broker_settings);
        let broker = BrokerView::open(&broker_settings).await;

        let dingtalk = DingTalkSimulator::start(DingTalkOptions {
            instances_dir: options.cases.then(|| repo_path("tests/fixtures/cases")),
            shift_dates: options.cases,
            generate: options.claims,
            seed: options.seed,
            ..DingTalkOptions::default()
        })
        .await
        .expect("the DingTalk simulator starts on 127.0.0.1:0");
        let k3 = K3CloudSimulator::start(SimulatorOptions {
            faults: options.k3_faults.clone(),
            seed: options.k3_seed,
            ..SimulatorOptions::default()
        })
        .await
        .expect("the K3Cloud simulator starts on 127.0.0.1:0");

        let config = config::render(
            &options,
            Endpoints {
                dingtalk: &dingtalk.base_url(),
                k3cloud: &k3.base_url(),
                prefix: &prefix,
                ledger: &db.settings,
            },
        );
        let folder = tempfile::tempdir().expect("a temporary folder for the run");
        let config_path = folder.path().join("dingk3.toml");
        std::fs::write(&config_path, config::to_text(&config))
            .expect("the run's configuration file can be written");
        let ledger_view = LedgerView::open(&db.settings).await;

        Some(Pipeline {
            options,
            dingtalk,
            k3,
            db,
            broker_settings,
            broker,
            config,
            config_path,
            producer: None,
            consumers: Vec::new(),
            child_env: Vec::new(),
            ledger_view,
            folder,
            producers_started: 0,
            consumers_started: 0,
            guard,
        })
    }

    /// Returns the broker prefix of the run.
    pub fn prefix(&self) -> &str {
        &self.broker_settings.prefix
    }

    /// Returns the folder holding the configuration file and the children's logs.
    pub fn folder(&self) -> &std::path::Path {
        self.folder.path()
    }

    /// Returns the test's read-only view of the ledger.
    pub fn ledger_view(&self) -> &LedgerView {
        &self.ledger_view
    }

    /// Returns the running producer; panics when none runs.
    pub fn producer(&self) -> &RunningProducer {
        self.producer
            .as_ref()
            .expect("a producer runs; start one with start_producer")
    }

    /// Starts a producer in the current mode; panics when one runs already.
    pub async fn start_producer(&mut self) {
        assert!(self.producer.is_none(), "a producer runs already");
        self.producers_started += 1;
        let number = self.producers_started;
        let producer = match self.options.mode {
            RunMode::Tasks => {
                let source = ConfigSource::from_toml_str(&config::to_text(&self.config))
                    .expect("the run's configuration parses");
                let config = ProducerConfig::from_source(&source)
                    .unwrap_or_else(|errors| {
                        panic!("the run's producer configuration is invalid: {errors:?}")
                    })
                    .with_connection_name(format!("{}-p{number}", self.prefix()));
                let producer = Producer::open(config)
                    .await
                    .unwrap_or_else(|error| panic!("the producer cannot open: {error}"));
                RunningProducer::task(producer)
            }
            RunMode::Processes => {
                let metrics = free_address();
                let mut env = self.child_env.clone();
                env.push((
                    "DINGK3_PRODUCER__METRICS_LISTEN".to_string(),
                    metrics.to_string(),
                ));
                let child = ChildProcess::spawn(
                    "producer",
                    "producer",
                    &["run"],
                    &self.config_path,
                    &env,
                    self.folder.path().join(format!("producer-{number}.log")),
                    metrics,
                );
                RunningProducer::process(child)
            }
        };
        self.producer = Some(producer);
    }

    /// Starts one more consumer in the current mode, with a consumer id of its own.
    pub async fn start_consumer(&mut self) -> &RunningConsumer {
        self.consumers_started += 1;
        let id = format!("{}-c{}", self.prefix(), self.consumers_started);
        let consumer = match self.options.mode {
            RunMode::Tasks => {
                let document = config::with_consumer_id(&self.config, &id);
                let source = ConfigSource::from_toml_str(&config::to_text(&document))
                    .expect("the run's configuration parses");
                let settings = RunSettings::load(&source).unwrap_or_else(|errors| {
                    panic!("the run's consumer configuration is invalid: {errors:?}")
                });
                RunningConsumer::task(settings)
            }
            RunMode::Processes => {
                let metrics = free_address();
                let mut env = self.child_env.clone();
                env.push(("DINGK3_CONSUMER__CONSUMER_ID".to_string(), id.clone()));
                env.push((
                    "DINGK3_CONSUMER__METRICS_LISTEN".to_string(),
                    metrics.to_string(),
                ));
                let child = ChildProcess::spawn(
                    &format!("consumer {id}"),
                    "consumer",
                    &["run"],
                    &self.config_path,
                    &env,
                    self.folder.path().join(format!("{id}.log")),
                    metrics,
                );
                RunningConsumer::process(&id, child)
            }
        };
        self.consumers.push(consumer);
        self.consumers.last().expect("a consumer was just added")
    }

    /// Time a producer or consumer gets to stop.
    fn grace(&self) -> Duration {
        Duration::from_secs(self.options.shutdown_grace_seconds)
    }

    /// Stops the producer, if one runs, as SIGTERM does.
    pub async fn stop_producer(&mut self) {
        if let Some(producer) = self.producer.take() {
            producer.stop(self.grace()).await;
        }
    }

    /// Stops every consumer as SIGTERM does, one after the other.
    pub async fn stop_consumers(&mut self) {
        let grace = self.grace();
        for consumer in self.consumers.drain(..) {
            consumer.stop(grace).await;
        }
    }

    /// Stops the producer first, so nothing new is published, then the consumers.
    pub async fn stop_all(&mut self) {
        self.stop_producer().await;
        self.stop_consumers().await;
    }

    /// Returns the end of every child's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut logs = String::new();
        if let Some(producer) = &self.producer {
            logs.push_str(&producer.log_tail());
        }
        for consumer in &self.consumers {
            logs.push_str(&consumer.log_tail());
        }
        logs
    }

    /// Reads the dead-letter queue without taking anything out of it.
    pub async fn dead_letters(&self) -> Vec<DeadLetterView> {
        self.broker.peek_dead_letters().await
    }

    /// Stops everything the run started, deletes its broker topology and its ledger.
    pub async fn finish(mut self) {
        self.stop_all().await;
        let Pipeline {
            broker,
            db,
            k3,
            dingtalk,
            ledger_view,
            mut guard,
            ..
        } = self;
        ledger_view.close().await;
        broker.delete_topology().await;
        guard.disarm();
        db.close().await;
        k3.shutdown().await;
        dingtalk.shutdown().await;
    }
}
