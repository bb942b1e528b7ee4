//! What one fault-suite run does: the pipeline's settings, K3Cloud's fault rates, and
//! the seeded schedule of crashes, closed connections and DingTalk faults.
//!
//! Crashes and closed connections are tied to progress, not to the clock, so they
//! strike while work is in flight however fast the machine is. The producer's events
//! fire at fractions of the approvals it has recorded in the ledger (its intake), the
//! consumers' events at fractions of the approved claims that reached an end
//! (`saved`, `rejected` or `dead`). The same seed gives the same schedule.

use std::time::Duration;

use dingk3_simulator::dingtalk::FaultKind;
use dingk3_simulator::k3cloud::{FaultSettings, LostReplyMode};

use crate::consumer::{K3Auth, LedgerKind};
use crate::pipeline::{PipelineOptions, RunMode};

/// `k3cloud.request_timeout_ms` of the consumers in the suite.
pub const K3_REQUEST_TIMEOUT_MS: u64 = 3_000;

/// `dingtalk.rate_limit_per_second` of the producer in the suite. It stretches the
/// producer's first poll of 2,000 claims over about 45 s, so the producer is killed
/// and its connection closed while it publishes.
pub const DINGTALK_RATE_LIMIT: u32 = 50;

/// How many times a consumer process is killed with SIGKILL and replaced.
pub const CONSUMER_KILLS: usize = 3;

/// How many times the broker connection of each process slot is force-closed.
pub const CLOSES_PER_PROCESS: usize = 2;

/// Throttling replies injected while the producer records approvals.
const INTAKE_THROTTLES: usize = 8;

/// Token expiries injected while the producer records approvals.
const INTAKE_TOKEN_EXPIRIES: usize = 3;

/// DingTalk throttling kinds the suite injects; each is a different reply shape.
pub const THROTTLE_KINDS: [FaultKind; 4] = [
    FaultKind::QpsLimit,
    FaultKind::QpmLimit,
    FaultKind::OrgQpmLimit,
    FaultKind::IpBanJson,
];

/// Settings of one fault-suite run.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Claims the DingTalk simulator generates.
    pub claims: usize,
    /// Seed of the claims, of K3Cloud's faults and of the schedule.
    pub seed: u64,
    /// Consumer processes running at any time.
    pub consumers: usize,
    /// Ledger database of the run.
    pub ledger: LedgerKind,
    /// Time the whole run may take before it fails.
    pub timeout: Duration,
}

impl SuiteOptions {
    /// Returns the pipeline of the run: every component a child process, K3Cloud
    /// with session authentication and the fault rates of [`k3_faults`], short retry
    /// tiers and a batch size that keeps several batches in flight per consumer.
    pub fn pipeline_options(&self) -> PipelineOptions {
        PipelineOptions {
            test: "faultsuite",
            cases: false,
            claims: self.claims,
            seed: self.seed,
            consumers: self.consumers,
            ledger: self.ledger,
            mode: RunMode::Processes,
            k3_auth: K3Auth::PasswordSession,
            k3_faults: k3_faults(),
            k3_seed: self.seed ^ 0x6b33,
            tiers: vec!["1s", "2s", "4s", "8s", "15s", "30s"],
            batch_size: 10,
            batch_wait_ms: 100,
            concurrent_batches: 2,
            in_process_retries: 3,
            in_process_retry_max_ms: 500,
            k3_request_timeout_ms: K3_REQUEST_TIMEOUT_MS,
            poll_interval_seconds: 1,
            shutdown_grace_seconds: 10,
            lease_seconds: 30,
        }
    }
}

/// Returns K3Cloud's faults: HTTP 500 on 15 % of calls, a hang past the client timeout
/// on 5 %, a lost reply after saving on 3 % of writes, a 网控 conflict on 5 % of
/// writes, every session ended each 30 s, and a small latency per call and per bill.
pub fn k3_faults() -> FaultSettings {
    FaultSettings {
        latency_ms: 20,
        jitter_ms: 40,
        batch_model_latency_ms: 10,
        http_5xx_rate: 0.15,
        hang_rate: 0.05,
        hang_ms: K3_REQUEST_TIMEOUT_MS * 2,
        network_conflict_rate: 0.05,
        lost_reply_rate: 0.03,
        lost_reply_mode: LostReplyMode::Drop,
        expire_sessions_every_ms: 30_000,
        ..FaultSettings::default()
    }
}

/// Which process an event strikes. Consumer slots keep their number across kills: a
/// replacement takes the slot of the consumer it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    /// The producer.
    Producer,
    /// The consumer in this slot.
    Consumer(usize),
}

/// What an event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL the process in the slot and start a replacement after `restart_after`.
    Kill {
        /// The victim.
        slot: Slot,
        /// Pause before the replacement starts.
        restart_after: Duration,
    },
    /// Force-close the broker connection of the process in the slot.
    CloseConnection(Slot),
    /// Make the DingTalk simulator answer the next `calls` business calls with `kind`.
    Throttle {
        /// Reply shape.
        kind: FaultKind,
        /// Calls that get it.
        calls: u32,
    },
    /// Expire every DingTalk access token at once.
    ExpireTokens,
}

/// When an event fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Once this fraction of all approvals has a ledger row.
    Intake(f64),
    /// Once this fraction of the approved claims reached an end in the ledger.
    Written(f64),
}

impl Trigger {
    /// Reports whether the trigger fired at the given progress.
    pub fn reached(self, intake: f64, written: f64) -> bool {
        match self {
            Trigger::Intake(fraction) => intake >= fraction,
            Trigger::Written(fraction) => written >= fraction,
        }
    }
}

/// One scheduled event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// When it fires.
    pub trigger: Trigger,
    /// What it does.
    pub action: Action,
}

/// Builds the schedule of a run with `consumers` consumer slots: the producer killed
/// once and its connection closed twice during intake, three consumer kills and two
/// closes per consumer slot while bills are written, and DingTalk throttling and
/// token expiry during intake.
pub fn schedule(seed: u64, consumers: usize) -> Vec<Event> {
    let mut rng = SplitMix64::new(seed);
    let mut events = Vec::new();
    events.push(Event {
        trigger: Trigger::Intake(rng.between(0.2, 0.6)),
        action: Action::Kill {
            slot: Slot::Producer,
            restart_after: rng.duration_ms(1_000, 3_000),
        },
    });
    for _ in 0..CLOSES_PER_PROCESS {
        events.push(Event {
            trigger: Trigger::Intake(rng.between(0.05, 0.9)),
            action: Action::CloseConnection(Slot::Producer),
        });
    }
    for _ in 0..CONSUMER_KILLS {
        let slot = Slot::Consumer(rng.below(consumers));
        events.push(Event {
            trigger: Trigger::Written(rng.between(0.1, 0.75)),
            action: Action::Kill {
                slot,
                restart_after: rng.duration_ms(500, 3_000),
            },
        });
    }
    for consumer in 0..consumers {
        for _ in 0..CLOSES_PER_PROCESS {
            events.push(Event {
                trigger: Trigger::Written(rng.between(0.05, 0.9)),
                action: Action::CloseConnection(Slot::Consumer(consumer)),
            });
        }
    }
    for _ in 0..INTAKE_THROTTLES {
        events.push(Event {
            trigger: Trigger::Intake(rng.between(0.0, 0.95)),
            action: rng.throttle(),
        });
    }
    for _ in 0..INTAKE_TOKEN_EXPIRIES {
        events.push(Event {
            trigger: Trigger::Intake(rng.between(0.05, 0.95)),
            action: Action::ExpireTokens,
        });
    }
    events
}

/// The suite's seeded random numbers (SplitMix64): small, fast and the same on every
/// platform, which is all a schedule needs.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Starts the sequence of `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Returns a number uniform in `[low, high)`.
    pub fn between(&mut self, low: f64, high: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        low + unit * (high - low)
    }

    /// Returns an index uniform in `0..count`; `count` must not be 0.
    pub fn below(&mut self, count: usize) -> usize {
        (self.next_u64() % count as u64) as usize
    }

    /// Returns a duration uniform in `[low_ms, high_ms)` milliseconds.
    pub fn duration_ms(&mut self, low_ms: u64, high_ms: u64) -> Duration {
        Duration::from_millis(low_ms + self.next_u64() % (high_ms - low_ms))
    }

    /// Returns a throttling event of a random kind for one to three calls.
    pub fn throttle(&mut self) -> Action {
        Action::Throttle {
            kind: THROTTLE_KINDS[self.below(THROTTLE_KINDS.len())],
            calls: 1 + self.below(3) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_same_per_seed() {
        assert_eq!(schedule(7, 3), schedule(7, 3), "same seed");
        assert_ne!(schedule(7, 3), schedule(8, 3), "other seed");
    }

    #[test]
    fn schedule_covers_every_process() {
        let events = schedule(1, 3);
        let kills = |wanted: fn(Slot) -> bool| {
            events
                .iter()
                .filter(|event| matches!(event.action, Action::Kill { slot, .. } if wanted(slot)))
                .count()
        };
        assert_eq!(kills(|slot| slot == Slot::Producer), 1, "producer kills");
        assert_eq!(
            kills(|slot| matches!(slot, Slot::Consumer(_))),
            CONSUMER_KILLS,
            "consumer kills"
        );
        for slot in [
            Slot::Producer,
            Slot::Consumer(0),
            Slot::Consumer(1),
            Slot::Consumer(2),
        ] {
            let closes = events
                .iter()
                .filter(|event| event.action == Action::CloseConnection(slot))
                .count();
            assert_eq!(closes, CLOSES_PER_PROCESS, "closes of {slot:?}");
        }
    }

    #[test]
    fn fractions_stay_below_the_end() {
        for seed in 0..50 {
            for event in schedule(seed, 3) {
                let fraction = match event.trigger {
                    Trigger::Intake(fraction) | Trigger::Written(fraction) => fraction,
                };
                assert!(
                    (0.0..0.95).contains(&fraction),
                    "seed {seed}: {event:?} fires before the run ends"
                );
            }
        }
    }

    #[test]
    fn between_stays_in_range() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..1_000 {
            let value = rng.between(0.2, 0.6);
            assert!((0.2..0.6).contains(&value), "{value}");
        }
    }
}
