//! Wiring of `consumer run`: the operations endpoint, the ledger, the K3Cloud and
//! DingTalk clients, and the worker.

use std::net::SocketAddr;

use dingk3::config::ConfigError;
use dingk3::dingtalk::{DingTalkClient, DingTalkError};
use dingk3::i18n::{Localize, Text};
use dingk3::k3cloud::K3CloudClient;
use dingk3::ledger::{Ledger, LedgerError};
use dingk3::metrics::Readiness;
use dingk3::text;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::settings::RunSettings;
use crate::worker::{READINESS_CONDITIONS, Worker, WorkerParts};

/// A failure to start the consumer.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The operations endpoint could not bind its address.
    #[error("cannot serve /metrics on {address}: {source}")]
    Metrics {
        /// `consumer.metrics_listen`.
        address: SocketAddr,
        /// The bind error.
        #[source]
        source: std::io::Error,
    },

    /// The ledger could not be opened or migrated.
    #[error(transparent)]
    Ledger(#[from] LedgerError),

    /// The K3Cloud client could not be built (TLS setup).
    #[error(transparent)]
    K3Cloud(ConfigError),

    /// The DingTalk client could not be built (TLS setup).
    #[error(transparent)]
    DingTalk(#[from] DingTalkError),
}

impl Localize for StartError {
    fn localize(&self) -> Text {
        match self {
            StartError::Metrics { address, source } => text!(
                en: "cannot serve /metrics on {address}: {source}; change consumer.metrics_listen",
                zh: "无法在 {address} 上提供 /metrics：{source}；请修改 consumer.metrics_listen",
            ),
            StartError::Ledger(error) => error.localize(),
            StartError::K3Cloud(error) => error.clone().within("k3cloud").localize(),
            StartError::DingTalk(error) => {
                let en = error.to_string();
                text!(
                    en: "cannot set up the DingTalk client for write-back: {en}",
                    zh: "无法创建用于回写的钉钉客户端：{en}",
                )
            }
        }
    }
}

/// Runs the consumer until `shutdown` is cancelled and the work in flight is done.
pub async fn run(settings: RunSettings, shutdown: CancellationToken) -> Result<(), StartError> {
    let RunSettings {
        consumer,
        broker,
        ledger,
        k3cloud,
        routes,
        dingtalk,
        ..
    } = settings;

    let readiness = Readiness::new(&READINESS_CONDITIONS);
    let address = consumer.metrics_listen;
    let bound = dingk3::metrics::serve(address, readiness.clone())
        .await
        .map_err(|source| StartError::Metrics { address, source })?;
    info!(address = %bound, "operations endpoint listening on /metrics, /healthz, /readyz");

    let ledger = Ledger::connect(&ledger).await?;
    let k3cloud = K3CloudClient::new(k3cloud).map_err(StartError::K3Cloud)?;
    let dingtalk = dingtalk.map(DingTalkClient::new).transpose()?;
    info!(
        consumer_id = %consumer.consumer_id,
        prefix = %broker.prefix,
        batch_size = consumer.batch_size,
        concurrent_batches = consumer.concurrent_batches,
        write_back = consumer.write_back,
        ledger = %ledger.display_url(),
        "consumer starting"
    );

    let worker = Worker::new(WorkerParts {
        settings: consumer,
        broker,
        ledger: ledger.clone(),
        k3cloud,
        routes,
        dingtalk,
        readiness,
    });
    worker.run(shutdown).await;
    ledger.close().await;
    Ok(())
}
