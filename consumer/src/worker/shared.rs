//! State shared by every batch task of one consumer process, across broker sessions.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dingk3::broker::Topology;
use dingk3::k3cloud::K3CloudClient;
use dingk3::ledger::Ledger;
use dingk3::mapping::Routes;
use dingk3::metrics::Readiness;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ConsumerSettings;
use crate::write_back::WriteBackQueue;

/// Readiness condition that is false while K3Cloud rejects the configuration.
pub const READY_K3CLOUD: &str = "k3cloud";

/// Everything a batch task needs, shared behind an `Arc`.
pub(crate) struct Shared {
    /// The `[consumer]` settings.
    pub(crate) settings: ConsumerSettings,

    /// Claims and outcomes.
    pub(crate) ledger: Ledger,

    /// K3Cloud writes and probes.
    pub(crate) k3cloud: K3CloudClient,

    /// Route and mapping per process code.
    pub(crate) routes: Routes,

    /// Names of the queues and exchanges.
    pub(crate) topology: Topology,

    /// `/readyz` conditions; this module sets [`READY_K3CLOUD`].
    pub(crate) readiness: Readiness,

    /// Write-back jobs, when write-back is on.
    pub(crate) write_back: Option<WriteBackQueue>,

    /// Process instance ids a batch task of this process is working on.
    pub(crate) in_flight: Arc<Mutex<HashSet<String>>>,

    /// Tracks batch tasks, so shutdown can wait for them.
    pub(crate) tracker: TaskTracker,

    /// Cancelled at shutdown: batch tasks stop retrying in-process.
    pub(crate) shutdown: CancellationToken,

    /// Time allowed for one K3Cloud call, from `k3cloud.request_timeout_ms`; a write is
    /// only started while the lease outlasts it.
    pub(crate) request_timeout: Duration,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("consumer_id", &self.settings.consumer_id)
            .finish_non_exhaustive()
    }
}

/// A process instance id reserved by one batch task; dropping it releases the id.
#[derive(Debug)]
pub(crate) struct InFlightGuard {
    id: String,
    set: Arc<Mutex<HashSet<String>>>,
}

impl Shared {
    /// Reserves `id` for the caller, or returns `None` when another task of this
    /// process has reserved it. A ledger lease is granted again to the same owner, so two
    /// tasks of one process must not both claim an instance.
    pub(crate) fn reserve(&self, id: &str) -> Option<InFlightGuard> {
        let mut set = self
            .in_flight
            .lock()
            .expect("in-flight lock is never poisoned: no code panics while holding it");
        if !set.insert(id.to_string()) {
            return None;
        }
        Some(InFlightGuard {
            id: id.to_string(),
            set: Arc::clone(&self.in_flight),
        })
    }

    /// Marks K3Cloud as usable or as rejecting the configuration, for `/readyz`.
    pub(crate) fn set_k3cloud_ready(&self, ready: bool) {
        self.readiness.set(READY_K3CLOUD, ready);
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.id);
        }
    }
}
