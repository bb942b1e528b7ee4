//! When a running approval may be fetched again.
//!
//! Every poll lists a running approval again, because the window keeps covering it.
//! Fetching its details at every poll would spend a DingTalk call each time, so a
//! running approval is fetched again only after `pending_recheck_seconds`. The times
//! are kept in memory: after a restart every pending approval is fetched once more,
//! which costs calls but never hides an approval.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Last fetch times of the running approvals this process has seen.
#[derive(Debug)]
pub struct RecheckClock {
    interval: Duration,
    fetched: Mutex<HashMap<String, Instant>>,
}

impl RecheckClock {
    /// Creates a clock that allows one fetch per `interval` for each running approval.
    pub fn new(interval: Duration) -> RecheckClock {
        RecheckClock {
            interval,
            fetched: Mutex::new(HashMap::new()),
        }
    }

    /// Returns whether `process_instance_id` may be fetched at `now`: it was never seen
    /// running by this process, or its last fetch is at least one interval ago.
    pub fn is_due(&self, process_instance_id: &str, now: Instant) -> bool {
        match self.lock().get(process_instance_id) {
            None => true,
            Some(last) => now.saturating_duration_since(*last) >= self.interval,
        }
    }

    /// Records that a still-running approval was fetched at `now`.
    pub fn fetched_running(&self, process_instance_id: &str, now: Instant) {
        self.lock().insert(process_instance_id.to_string(), now);
    }

    /// Forgets an approval that finished, so the map does not grow without bound.
    pub fn finished(&self, process_instance_id: &str) {
        self.lock().remove(process_instance_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // The map contains plain timestamps, so one left by a panicking thread is still valid.
        self.fetched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_instance_due() {
        let clock = RecheckClock::new(Duration::from_secs(600));
        assert!(clock.is_due("pi-1", Instant::now()));
    }

    #[test]
    fn recent_fetch_deferred() {
        let clock = RecheckClock::new(Duration::from_secs(600));
        let now = Instant::now();
        clock.fetched_running("pi-1", now);
        assert!(
            !clock.is_due("pi-1", now + Duration::from_secs(599)),
            "a fetch inside the interval is deferred"
        );
        assert!(
            clock.is_due("pi-1", now + Duration::from_secs(600)),
            "a fetch one interval later is due"
        );
    }

    #[test]
    fn zero_interval_always_due() {
        let clock = RecheckClock::new(Duration::ZERO);
        let now = Instant::now();
        clock.fetched_running("pi-1", now);
        assert!(clock.is_due("pi-1", now));
    }

    #[test]
    fn finished_instance_forgotten() {
        let clock = RecheckClock::new(Duration::from_secs(600));
        let now = Instant::now();
        clock.fetched_running("pi-1", now);
        clock.finished("pi-1");
        assert!(clock.is_due("pi-1", now));
    }
}
