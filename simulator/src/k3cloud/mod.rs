//! A stand-in for the Kingdee K3Cloud (金蝶云星空) WebAPI, for the payment bill
//! `AP_PAYBILL`.
//!
//! It serves `POST /k3cloud/<ServiceName>.common.kdsvc` for session logins, signature
//! auth as the official SDKs send it, Save, BatchSave, Submit, Audit, UnAudit, Delete,
//! View, ExecuteBillQuery and BillQuery, with the server's reply shapes, `MsgCode`s and
//! Chinese messages. Bills live in memory. Faults (latency, 5xx, hangs, session
//! expiry, 网控 conflicts, lost replies) are injected from a seeded generator, and
//! `/__sim/` endpoints inspect and steer the state at runtime.
//!
//! In-process use:
//!
//! ```no_run
//! # async fn demo() -> Result<(), dingk3_simulator::k3cloud::SimulatorError> {
//! use dingk3_simulator::k3cloud::{K3CloudSimulator, SimulatorOptions};
//!
//! let k3 = K3CloudSimulator::start(SimulatorOptions::default()).await?;
//! let base_url = k3.base_url(); // http://127.0.0.1:PORT/k3cloud/
//! // … drive a client against base_url …
//! assert_eq!(k3.handle().bill_count(), 0);
//! k3.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod admin;
mod auth;
pub mod base_data;
pub mod cli;
mod credentials;
pub mod faults;
mod filter;
mod login;
mod metadata;
mod operations;
mod paybill;
mod query;
mod request;
mod response;
mod server;
mod state;
pub mod stats;
mod store;
mod values;
mod view;

#[cfg(test)]
mod http_tests;
#[cfg(test)]
mod test_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dingk3::i18n::{Localize, Text};
use dingk3::text;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use base_data::{BaseData, BaseDataError, BaseRecord, SettlementKind};
pub use credentials::{
    Credentials, DEFAULT_ACCT_ID, DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
};
pub use faults::{FaultSettings, LostReplyMode};
pub use response::SESSION_LOST_MESSAGE;
pub use server::{NETWORK_CONFLICT_MESSAGE, PASSPORT_FAILURE};
pub use state::SimulatorHandle;
pub use stats::{Outcome, Stats};
pub use store::{DocumentStatus, NUMBER_PREFIX, duplicate_number_message};
pub use view::{BillSnapshot, EntrySnapshot};

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimulatorOptions {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Accepted credentials.
    pub credentials: Credentials,
    /// Base data to resolve references against.
    pub base_data: BaseData,
    /// Faults at start.
    pub faults: FaultSettings,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl Default for SimulatorOptions {
    /// Binds `127.0.0.1:0` with the default credentials, the reference base data and
    /// no faults.
    fn default() -> Self {
        SimulatorOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: Credentials::default(),
            base_data: BaseData::reference(),
            faults: FaultSettings::default(),
            seed: 0,
        }
    }
}

/// Error starting a simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// Address asked for.
        address: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A fault setting is out of range.
    #[error("invalid fault setting: {0}")]
    InvalidFaults(String),
}

impl Localize for SimulatorError {
    fn localize(&self) -> Text {
        match self {
            SimulatorError::Bind { address, source } => text!(
                en: "cannot listen on {address}: {source}; choose another --listen address",
                zh: "无法监听 {address}：{source}；请换一个 --listen 地址",
            ),
            SimulatorError::InvalidFaults(detail) => text!(
                en: "invalid fault setting: {detail}",
                zh: "故障注入设置无效：{detail}",
            ),
        }
    }
}

/// Entry point of the simulator library.
pub struct K3CloudSimulator;

impl K3CloudSimulator {
    /// Binds `options.listen` and serves until [`RunningK3Cloud::shutdown`] or drop.
    pub async fn start(options: SimulatorOptions) -> Result<RunningK3Cloud, SimulatorError> {
        options
            .faults
            .validate()
            .map_err(SimulatorError::InvalidFaults)?;
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| SimulatorError::Bind {
                address: options.listen,
                source,
            })?;
        let address = listener
            .local_addr()
            .map_err(|source| SimulatorError::Bind {
                address: options.listen,
                source,
            })?;
        let shared = Arc::new(state::Shared::new(
            options.credentials,
            options.base_data,
            options.faults,
            options.seed,
        ));
        let app = server::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                warn!(%error, "k3cloud simulator stopped with an error");
            }
        });
        info!(%address, seed = options.seed, "k3cloud simulator listening");
        Ok(RunningK3Cloud {
            address,
            handle: SimulatorHandle { shared },
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningK3Cloud {
    address: SocketAddr,
    handle: SimulatorHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// How long [`RunningK3Cloud::shutdown`] lets calls in flight finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl RunningK3Cloud {
    /// Base URL clients configure: `http://127.0.0.1:PORT/k3cloud/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/k3cloud/", self.address)
    }

    /// Returns the bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Handle to read bills and counters and to change faults and base data.
    pub fn handle(&self) -> &SimulatorHandle {
        &self.handle
    }

    /// Stops accepting calls, lets calls in flight finish for up to 2 s (hung calls
    /// are cut off), then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
        info!(address = %self.address, "k3cloud simulator stopped");
    }
}

impl Drop for RunningK3Cloud {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
