//! The consumer worker: takes approval messages from the work queue, maps each to a
//! K3Cloud bill and writes it exactly once, with retry queues for transient failures
//! and the dead-letter queue for everything that cannot be written.
//!
//! # Per message
//!
//! 1. Decode the envelope (bounded by `max_message_bytes`), find the route of its
//!    process code, check that the approval is approved, map it to a bill.
//!    Unreadable or unapproved → dead letter `invalid_message`; the ledger is not
//!    changed, so a later valid message for the approval is still written.
//! 2. Claim the instance in the ledger with a lease. Already saved or finished → ack as
//!    a duplicate; leased by another consumer → first retry queue; mapping failed →
//!    ledger `rejected`, dead letter `mapping` with every mapping error.
//! 3. Probe K3Cloud for the bill number; found → ledger `saved`, ack.
//! 4. `BatchSave` the rest of the batch, matching outcomes per bill: saved → ledger
//!    `saved`, ack; rejected → ledger `rejected`, dead letter `rejected` with K3Cloud's
//!    field errors; retryable, unknown, or a failed call → probe, short in-process
//!    retries, then the next retry queue (`x-dingk3-attempt` + 1), after the last one
//!    ledger `dead` and dead letter `exhausted`.
//!
//! Deliveries are never held across a long wait: the broker's consumer timeout is 30
//! minutes by default, and long waits are the retry queues' job.
//!
//! # Layout
//!
//! `session` (broker session, batching, shutdown) → `batch` → `inspect`, `claim`,
//! `write` → `settle` (the single ack path) with `outgoing` (retry and dead-letter
//! messages).

mod batch;
mod claim;
mod collect;
mod inspect;
mod item;
mod outcome;
mod outgoing;
mod session;
mod settle;
mod shared;
mod write;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dingk3::broker::{BrokerSettings, LinkState, Supervisor, Topology};
use dingk3::dingtalk::DingTalkClient;
use dingk3::k3cloud::K3CloudClient;
use dingk3::ledger::Ledger;
use dingk3::mapping::Routes;
use dingk3::metrics::Readiness;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::ConsumerSettings;
use crate::write_back::{self, WriteBackTask};
use shared::Shared;

pub use outcome::{DeadKind, Outcome};
pub use outgoing::APP_ID;
pub use shared::READY_K3CLOUD;

/// Readiness condition of the broker connection.
pub const READY_BROKER: &str = "broker";

/// Readiness condition of the ledger database.
pub const READY_LEDGER: &str = "ledger";

/// Every readiness condition the worker maintains; `/readyz` is ready when all hold.
pub const READINESS_CONDITIONS: [&str; 3] = [READY_BROKER, READY_LEDGER, READY_K3CLOUD];

/// How often the ledger is pinged for `/readyz`.
const LEDGER_PING_INTERVAL: Duration = Duration::from_secs(5);

/// Everything a worker is built from.
#[derive(Debug)]
pub struct WorkerParts {
    /// The `[consumer]` settings.
    pub settings: ConsumerSettings,

    /// The `[broker]` settings; the topology is declared at every connection.
    pub broker: BrokerSettings,

    /// The ledger; the worker names itself as the actor of its audit events.
    pub ledger: Ledger,

    /// The K3Cloud client.
    pub k3cloud: K3CloudClient,

    /// Routes and mappings.
    pub routes: Routes,

    /// The DingTalk client for write-back comments; required when
    /// `settings.write_back` is on, ignored otherwise.
    pub dingtalk: Option<DingTalkClient>,

    /// Readiness of the process; the worker sets [`READINESS_CONDITIONS`].
    pub readiness: Readiness,
}

/// A consumer worker, ready to run.
#[derive(Debug)]
pub struct Worker {
    shared: Arc<Shared>,
    broker: BrokerSettings,
    write_back: Option<WriteBackTask>,
    connection_name: String,
}

impl Worker {
    /// Builds a worker. Write-back is only enabled when the settings ask for it and a
    /// DingTalk client is given; otherwise a warning is logged.
    pub fn new(parts: WorkerParts) -> Worker {
        let WorkerParts {
            settings,
            broker,
            ledger,
            k3cloud,
            routes,
            dingtalk,
            readiness,
        } = parts;
        let ledger = ledger.with_actor(settings.consumer_id.clone());
        let request_timeout = k3cloud.settings().request_timeout;
        warn_on_short_lease(&ledger, request_timeout);

        let (queue, write_back) = match (settings.write_back, dingtalk) {
            (true, Some(client)) => {
                let (queue, task) = write_back::channel(client, ledger.clone(), settings.clone());
                (Some(queue), Some(task))
            }
            (true, None) => {
                warn!(
                    "write_back is on but no DingTalk client was given; comments are not written"
                );
                (None, None)
            }
            (false, _) => (None, None),
        };
        for condition in [READY_BROKER, READY_LEDGER] {
            readiness.set(condition, false);
        }
        readiness.set(READY_K3CLOUD, true);
        let connection_name = format!("dingk3-consumer-{}", settings.consumer_id);
        let shared = Shared {
            topology: Topology::new(&broker),
            settings,
            ledger,
            k3cloud,
            routes,
            readiness,
            write_back: queue,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
            tracker: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            request_timeout,
        };
        Worker {
            shared: Arc::new(shared),
            broker,
            write_back,
            connection_name,
        }
    }

    /// Returns the name of the worker's broker connection, as the management UI lists it.
    pub fn connection_name(&self) -> &str {
        &self.connection_name
    }

    /// Consumes until `shutdown` is cancelled, then stops taking deliveries, finishes
    /// the batches in flight and returns, within `shutdown_grace_seconds`.
    pub async fn run(self, shutdown: CancellationToken) {
        let Worker {
            shared,
            broker,
            write_back,
            connection_name,
        } = self;
        let background = CancellationToken::new();
        if let Some(task) = write_back {
            tokio::spawn(task.run(background.clone()));
        }
        tokio::spawn(ping_ledger(Arc::clone(&shared), background.clone()));

        let supervisor = Supervisor::new(broker, "consumer").with_connection_name(connection_name);
        tokio::spawn(follow_link(
            supervisor.state(),
            shared.readiness.clone(),
            background.clone(),
        ));
        let sessions = AtomicU64::new(0);
        let session_shared = Arc::clone(&shared);
        let supervised = supervisor.run(
            move |link| {
                let number = sessions.fetch_add(1, Ordering::Relaxed) + 1;
                session::run(link, Arc::clone(&session_shared), number)
            },
            shutdown.clone(),
        );
        tokio::pin!(supervised);

        let supervisor_ended = tokio::select! {
            () = &mut supervised => true,
            () = shutdown.cancelled() => false,
        };
        // The grace starts now; batch tasks stop their in-process retries.
        shared.shutdown.cancel();
        let deadline = Instant::now() + shared.settings.shutdown_grace;
        if !supervisor_ended && timeout_at(deadline, &mut supervised).await.is_err() {
            warn!("broker session did not end within the shutdown grace");
        }
        shared.tracker.close();
        if timeout_at(deadline, shared.tracker.wait()).await.is_err() {
            warn!(
                "batches still in flight at the end of the shutdown grace; their messages will be redelivered"
            );
        }
        background.cancel();
        info!(consumer_id = %shared.settings.consumer_id, "consumer stopped");
    }
}

/// Mirrors the supervisor's link state into the `broker` readiness condition.
async fn follow_link(
    mut state: tokio::sync::watch::Receiver<LinkState>,
    readiness: Readiness,
    stop: CancellationToken,
) {
    loop {
        let connected = *state.borrow_and_update() == LinkState::Connected;
        readiness.set(READY_BROKER, connected);
        tokio::select! {
            () = stop.cancelled() => return,
            changed = state.changed() => if changed.is_err() { return },
        }
    }
}

/// Pings the ledger for the `ledger` readiness condition.
async fn ping_ledger(shared: Arc<Shared>, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(LEDGER_PING_INTERVAL);
    let mut was_ready = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let ready = match shared.ledger.ping().await {
            Ok(()) => true,
            Err(error) => {
                if was_ready != Some(false) {
                    warn!(%error, "ledger unreachable");
                }
                false
            }
        };
        shared.readiness.set(READY_LEDGER, ready);
        was_ready = Some(ready);
    }
}

/// Warns when a K3Cloud request may outlast the ledger lease: another consumer could
/// then take over an approval whose bill is still being written.
fn warn_on_short_lease(ledger: &Ledger, request_timeout: Duration) {
    let lease = ledger.lease().to_std().unwrap_or_default();
    if lease <= request_timeout * 2 {
        warn!(
            lease_seconds = lease.as_secs(),
            request_timeout_ms = request_timeout.as_millis() as u64,
            "ledger.lease_seconds is not longer than two k3cloud requests; raise it or lower k3cloud.request_timeout_ms"
        );
    }
}
