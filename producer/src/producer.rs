//! The producer of one DingTalk app: its ledger, client and poller, and the one-shot
//! commands `once` and `backfill`. The scheduled loop is in [`crate::runner`].

use std::net::SocketAddr;

use chrono::Utc;
use dingk3::broker::{Recovery, Topology, connect};
use dingk3::dingtalk::DingTalkClient;
use dingk3::ledger::Ledger;
use dingk3::metrics::Readiness;
use dingk3::text;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::error::ProducerError;
use crate::leader::acquire_for_command;
use crate::outbox::Outbox;
use crate::poll::{Poller, WindowPlan};
use crate::progress::{NoProgress, Progress};
use crate::report::RunSummary;
use crate::settings::ProducerConfig;
use crate::window::{BackfillDays, backfill_window};

/// The state of the scheduled loop, for tests and status displays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStatus {
    /// Whether this producer holds the leader lock and polls.
    pub leader: bool,
    /// Poll cycles finished (one cycle polls every process code once).
    pub cycles: u64,
    /// Approvals published since the loop started.
    pub published: u64,
    /// Whether polling is paused because DingTalk's monthly quota is exhausted.
    pub quota_paused: bool,
}

/// The producer of one DingTalk app.
pub struct Producer {
    pub(crate) config: ProducerConfig,
    pub(crate) ledger: Ledger,
    pub(crate) dingtalk: DingTalkClient,
    pub(crate) poller: Poller,
    pub(crate) readiness: Readiness,
    pub(crate) status: watch::Sender<RunStatus>,
}

impl Producer {
    /// Opens the ledger (migrating it) and builds the DingTalk client. Nothing is
    /// polled and no broker connection is made yet.
    pub async fn open(config: ProducerConfig) -> Result<Producer, ProducerError> {
        let ledger = Ledger::connect(&config.ledger)
            .await?
            .with_actor(config.connection_name.clone());
        let dingtalk = DingTalkClient::new(config.dingtalk.clone()).map_err(|source| {
            ProducerError::DingTalkConfiguration {
                process_code: String::new(),
                source,
            }
        })?;
        let poller = Poller::new(
            dingtalk.clone(),
            ledger.clone(),
            config.producer.clone(),
            config.routes.clone(),
        );
        let (status, _) = watch::channel(RunStatus::default());
        Ok(Producer {
            config,
            ledger,
            dingtalk,
            poller,
            readiness: Readiness::new(&["broker", "ledger"]),
            status,
        })
    }

    /// Returns the configuration the producer was opened with.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Returns the ledger handle.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Returns a receiver of the scheduled loop's status.
    pub fn status(&self) -> watch::Receiver<RunStatus> {
        self.status.subscribe()
    }

    /// Returns the readiness conditions (`broker`, `ledger`) the loop maintains.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Serves `/metrics`, `/healthz` and `/readyz` on `producer.metrics_listen` in the
    /// background; returns the bound address.
    pub async fn serve_operations(&self) -> Result<SocketAddr, ProducerError> {
        let address = self.config.producer.metrics_listen;
        let bound = dingk3::metrics::serve(address, self.readiness())
            .await
            .map_err(|source| ProducerError::MetricsListen { address, source })?;
        info!(address = %bound, "operations endpoint listening");
        Ok(bound)
    }

    /// Polls every process code once over its incremental window (`producer once`).
    pub async fn once(&self, stop: &CancellationToken) -> Result<RunSummary, ProducerError> {
        let codes = self.config.process_codes();
        self.one_shot(&codes, WindowPlan::Incremental, &NoProgress, stop)
            .await
    }

    /// Lists whole Beijing days for every process code, or for `only` when given
    /// (`producer backfill`).
    pub async fn backfill(
        &self,
        days: BackfillDays,
        only: Option<&str>,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> Result<RunSummary, ProducerError> {
        let now = Utc::now();
        let window = backfill_window(
            days,
            now,
            self.dingtalk.earliest_window_start(now),
            self.config.dingtalk.max_lookback_days,
        )
        .map_err(ProducerError::BackfillWindow)?;
        let mut codes = self.config.process_codes();
        if let Some(only) = only {
            if !codes.iter().any(|code| code == only) {
                let known = codes.join(", ");
                return Err(ProducerError::BackfillWindow(text!(
                    en: "--process-code {only} has no [[routes]] entry; the configured process codes are: {known}",
                    zh: "--process-code {only} 没有对应的 [[routes]]；已配置的审批模板为：{known}",
                )));
            }
            codes = vec![only.to_string()];
        }
        self.one_shot(&codes, WindowPlan::Backfill(window), progress, stop)
            .await
    }

    /// Takes the lock, connects, polls `codes` once each, and lets the lock go.
    async fn one_shot(
        &self,
        codes: &[String],
        plan: WindowPlan,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> Result<RunSummary, ProducerError> {
        let broker = &self.config.broker;
        let lock = acquire_for_command(
            broker,
            &self.config.dingtalk.app_key,
            &self.config.leader_connection_name(),
        )
        .await?;
        let result = self.poll_codes(codes, plan, progress, stop).await;
        lock.release().await;
        result
    }

    async fn poll_codes(
        &self,
        codes: &[String],
        plan: WindowPlan,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> Result<RunSummary, ProducerError> {
        let broker = &self.config.broker;
        let connection = connect(broker, &self.config.connection_name, Recovery::Off).await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(ProducerError::Channel)?;
        Topology::new(broker).declare(&channel).await?;

        let mut outbox = Outbox::new(&connection, broker);
        let mut summary = RunSummary::default();
        for code in codes {
            let report = self
                .poller
                .poll(&mut outbox, code, plan, progress, stop)
                .await;
            summary.routes.push(report);
        }
        drop(outbox);
        if let Err(error) = connection.close(200, "producer command done".into()).await {
            warn!(%error, "closing the broker connection failed");
        }
        Ok(summary)
    }
}
