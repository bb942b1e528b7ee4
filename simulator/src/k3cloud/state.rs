//! In-memory state of one simulator and the handle tests use to read and change it.
//!
//! Each part sits behind its own lock, held only for the few microseconds a call needs
//! and never across an `.await`, so concurrent calls mostly wait on the bill store
//! alone.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::k3cloud::auth::Sessions;
use crate::k3cloud::base_data::BaseData;
use crate::k3cloud::credentials::Credentials;
use crate::k3cloud::faults::{FaultSettings, FaultState};
use crate::k3cloud::stats::Stats;
use crate::k3cloud::store::BillStore;
use crate::k3cloud::view::BillSnapshot;

/// State shared by every request of one simulator.
#[derive(Debug)]
pub(crate) struct Shared {
    pub credentials: Credentials,
    initial_base_data: BaseData,
    initial_faults: FaultSettings,
    initial_seed: u64,
    base_data: RwLock<BaseData>,
    bills: Mutex<BillStore>,
    sessions: Mutex<Sessions>,
    faults: Mutex<FaultState>,
    stats: Mutex<Stats>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain data behind; keep serving it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(
        credentials: Credentials,
        base_data: BaseData,
        faults: FaultSettings,
        seed: u64,
    ) -> Shared {
        Shared {
            credentials,
            initial_base_data: base_data.clone(),
            initial_faults: faults.clone(),
            initial_seed: seed,
            base_data: RwLock::new(base_data),
            bills: Mutex::new(BillStore::default()),
            sessions: Mutex::new(Sessions::default()),
            faults: Mutex::new(FaultState::new(faults, seed)),
            stats: Mutex::new(Stats::default()),
        }
    }

    pub fn base_data(&self) -> RwLockReadGuard<'_, BaseData> {
        self.base_data
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn base_data_mut(&self) -> RwLockWriteGuard<'_, BaseData> {
        self.base_data
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn bills(&self) -> MutexGuard<'_, BillStore> {
        lock(&self.bills)
    }

    pub fn sessions(&self) -> MutexGuard<'_, Sessions> {
        lock(&self.sessions)
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.faults)
    }

    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    /// Drops bills, sessions and counters; restores start-up base data, faults and seed.
    pub fn reset(&self) {
        *self.bills() = BillStore::default();
        self.sessions().expire_all();
        *self.stats() = Stats::default();
        *self.base_data_mut() = self.initial_base_data.clone();
        *self.faults() = FaultState::new(self.initial_faults.clone(), self.initial_seed);
    }
}

/// Handle to a running simulator's state, for in-process tests.
///
/// Cloning is cheap, and every clone refers to the same simulator.
#[derive(Debug, Clone)]
pub struct SimulatorHandle {
    pub(crate) shared: Arc<Shared>,
}

impl SimulatorHandle {
    /// Returns every saved bill, in id order.
    pub fn bills(&self) -> Vec<BillSnapshot> {
        self.shared.bills().iter().map(BillSnapshot::of).collect()
    }

    /// Returns the saved bill with `number` (ignoring letter case), if any.
    pub fn bill(&self, number: &str) -> Option<BillSnapshot> {
        self.shared
            .bills()
            .find_number(number)
            .map(BillSnapshot::of)
    }

    /// Returns the number of saved bills.
    pub fn bill_count(&self) -> usize {
        self.shared.bills().len()
    }

    /// Returns the call counters since start or the last reset.
    pub fn stats(&self) -> Stats {
        self.shared.stats().clone()
    }

    /// Returns the fault settings in force.
    pub fn faults(&self) -> FaultSettings {
        self.shared.faults().settings.clone()
    }

    /// Replaces the fault settings; fails with the name of an invalid setting.
    pub fn set_faults(&self, settings: FaultSettings) -> Result<(), String> {
        settings.validate()?;
        self.shared.faults().settings = settings;
        Ok(())
    }

    /// Restarts the fault generator from `seed`.
    pub fn reseed(&self, seed: u64) {
        self.shared.faults().reseed(seed);
    }

    /// Adds or replaces base-data records, e.g. to "fix" K3Cloud before a replay.
    pub fn add_base_data(&self, records: &BaseData) {
        self.shared.base_data_mut().merge(records);
    }

    /// Returns a copy of the base data in force.
    pub fn base_data(&self) -> BaseData {
        self.shared.base_data().clone()
    }

    /// Ends every session now, as the server does when it clears its context cache.
    pub fn expire_sessions(&self) {
        self.shared.sessions().expire_all();
    }

    /// Returns the number of stored sessions.
    pub fn session_count(&self) -> usize {
        self.shared.sessions().len()
    }

    /// Returns the `KDSVCSessionId` of every stored session, e.g. for a test that
    /// checks no log shows one.
    pub fn session_ids(&self) -> Vec<String> {
        self.shared.sessions().ids()
    }

    /// Drops bills, sessions and counters and restores the start-up base data and
    /// faults.
    pub fn reset(&self) {
        self.shared.reset();
    }
}
