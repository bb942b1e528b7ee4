//! Fault injection: latency, 5xx replies, hangs, session expiry, 网控 conflicts and
//! lost replies.
//!
//! Every random decision draws from one seeded generator, so a run that sends the same
//! calls in the same order gets the same faults. A rate is a probability per call
//! between 0 and 1; a rate of 0 never draws from the generator.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Form in which a lost reply reaches the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LostReplyMode {
    /// The connection closes before the reply body is complete.
    Drop,
    /// HTTP 502 from an intermediate proxy.
    #[serde(rename = "5xx")]
    #[value(name = "5xx")]
    Status5xx,
}

/// Fault settings; every field can be changed at runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// Delay added to every WebAPI call, in milliseconds.
    pub latency_ms: u64,
    /// Extra random delay, uniform in 0..=jitter, in milliseconds.
    pub jitter_ms: u64,
    /// Extra delay per model of a `BatchSave`, in milliseconds.
    pub batch_model_latency_ms: u64,
    /// Probability that a call fails with HTTP 500 before it is processed.
    pub http_5xx_rate: f64,
    /// Probability that a call hangs for `hang_ms` and then loses its connection,
    /// unprocessed.
    pub hang_rate: f64,
    /// How long a hung call waits before its connection closes, in milliseconds.
    pub hang_ms: u64,
    /// Probability that a write fails with a 网控 conflict (`MsgCode` 13), unprocessed.
    pub network_conflict_rate: f64,
    /// Probability that a write is processed but its reply is lost.
    pub lost_reply_rate: f64,
    /// Form of a lost reply.
    pub lost_reply_mode: LostReplyMode,
    /// Idle time after which a session expires, in milliseconds (K3Cloud: 20 minutes).
    pub session_idle_ms: u64,
    /// If not 0, every session ends each time this many milliseconds pass.
    pub expire_sessions_every_ms: u64,
}

/// Default session idle timeout of K3Cloud: 20 minutes, sliding.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(20 * 60);

/// Default time a hung call waits: longer than the official SDKs' 120 s read timeout.
pub const DEFAULT_HANG: Duration = Duration::from_secs(300);

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            latency_ms: 0,
            jitter_ms: 0,
            batch_model_latency_ms: 0,
            http_5xx_rate: 0.0,
            hang_rate: 0.0,
            hang_ms: DEFAULT_HANG.as_millis() as u64,
            network_conflict_rate: 0.0,
            lost_reply_rate: 0.0,
            lost_reply_mode: LostReplyMode::Drop,
            session_idle_ms: DEFAULT_SESSION_IDLE.as_millis() as u64,
            expire_sessions_every_ms: 0,
        }
    }
}

impl FaultSettings {
    /// Checks that rates are probabilities and the idle timeout is positive; the error
    /// names the setting.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("http_5xx_rate", self.http_5xx_rate),
            ("hang_rate", self.hang_rate),
            ("network_conflict_rate", self.network_conflict_rate),
            ("lost_reply_rate", self.lost_reply_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, got {rate}"));
            }
        }
        if self.session_idle_ms == 0 {
            return Err("session_idle_ms must be greater than 0".to_string());
        }
        Ok(())
    }

    /// Applies the keys present in a JSON object (the admin `PUT /__sim/faults` body).
    pub fn patched(
        &self,
        patch: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, String> {
        let mut merged = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err("fault settings cannot be serialized".to_string()),
        };
        for (key, value) in patch {
            merged.insert(key.clone(), value.clone());
        }
        let settings: FaultSettings = serde_json::from_value(serde_json::Value::Object(merged))
            .map_err(|error| error.to_string())?;
        settings.validate()?;
        Ok(settings)
    }
}

/// Fault settings plus the seeded generator behind every random decision.
#[derive(Debug)]
pub struct FaultState {
    /// Settings in force.
    pub settings: FaultSettings,
    /// Seed the generator last started from.
    pub seed: u64,
    rng: StdRng,
}

/// The faults drawn for one call before it is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreFault {
    /// Process normally.
    None,
    /// Reply HTTP 500.
    Http5xx,
    /// Wait this long, then close the connection.
    Hang(Duration),
}

impl FaultState {
    /// Starts with `settings` and a generator seeded with `seed`.
    pub fn new(settings: FaultSettings, seed: u64) -> FaultState {
        FaultState {
            settings,
            seed,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Restarts the generator from `seed`.
    pub fn reseed(&mut self, seed: u64) {
        self.seed = seed;
        self.rng = StdRng::seed_from_u64(seed);
    }

    fn roll(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.random_bool(rate.min(1.0))
    }

    /// Delay of one call carrying `models` models (`BatchSave`; 0 otherwise).
    pub fn latency(&mut self, models: usize) -> Duration {
        let jitter = match self.settings.jitter_ms {
            0 => 0,
            max => self.rng.random_range(0..=max),
        };
        let per_model = self
            .settings
            .batch_model_latency_ms
            .saturating_mul(models as u64);
        Duration::from_millis(self.settings.latency_ms + jitter + per_model)
    }

    /// Draws the faults that strike before processing.
    pub fn pre_fault(&mut self) -> PreFault {
        if self.roll(self.settings.http_5xx_rate) {
            return PreFault::Http5xx;
        }
        if self.roll(self.settings.hang_rate) {
            return PreFault::Hang(Duration::from_millis(self.settings.hang_ms));
        }
        PreFault::None
    }

    /// Draws whether a write meets a 网控 conflict.
    pub fn network_conflict(&mut self) -> bool {
        self.roll(self.settings.network_conflict_rate)
    }

    /// Draws whether a processed write loses its reply, and how.
    pub fn lost_reply(&mut self) -> Option<LostReplyMode> {
        self.roll(self.settings.lost_reply_rate)
            .then_some(self.settings.lost_reply_mode)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn draws(seed: u64) -> Vec<bool> {
        let settings = FaultSettings {
            network_conflict_rate: 0.5,
            ..FaultSettings::default()
        };
        let mut state = FaultState::new(settings, seed);
        (0..32).map(|_| state.network_conflict()).collect()
    }

    #[test]
    fn same_seed_same_faults() {
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8), "different seeds should differ");
    }

    #[test]
    fn zero_rates_never_fire() {
        let mut state = FaultState::new(FaultSettings::default(), 1);
        for _ in 0..100 {
            assert_eq!(state.pre_fault(), PreFault::None);
            assert!(!state.network_conflict(), "conflict with rate 0");
            assert_eq!(state.lost_reply(), None);
        }
    }

    #[test]
    fn full_rates_always_fire() {
        let settings = FaultSettings {
            http_5xx_rate: 1.0,
            lost_reply_rate: 1.0,
            lost_reply_mode: LostReplyMode::Status5xx,
            ..FaultSettings::default()
        };
        let mut state = FaultState::new(settings, 1);
        assert_eq!(state.pre_fault(), PreFault::Http5xx);
        assert_eq!(state.lost_reply(), Some(LostReplyMode::Status5xx));
    }

    #[test]
    fn latency_adds_per_model_delay() {
        let settings = FaultSettings {
            latency_ms: 200,
            batch_model_latency_ms: 5,
            ..FaultSettings::default()
        };
        let mut state = FaultState::new(settings, 1);
        assert_eq!(state.latency(10), Duration::from_millis(250));
        assert_eq!(state.latency(0), Duration::from_millis(200));
    }

    #[test]
    fn patch_changes_given_keys_only() {
        let base = FaultSettings::default();
        let patch = json!({"lost_reply_rate": 0.25, "lost_reply_mode": "5xx"});
        let patched = base.patched(patch.as_object().unwrap()).unwrap();
        assert_eq!(patched.lost_reply_rate, 0.25);
        assert_eq!(patched.lost_reply_mode, LostReplyMode::Status5xx);
        assert_eq!(patched.session_idle_ms, base.session_idle_ms);
    }

    #[test]
    fn patch_rejects_bad_values() {
        let base = FaultSettings::default();
        for patch in [
            json!({"hang_rate": 1.5}),
            json!({"no_such_fault": 1}),
            json!({"session_idle_ms": 0}),
            json!({"latency_ms": "slow"}),
        ] {
            assert!(base.patched(patch.as_object().unwrap()).is_err(), "{patch}");
        }
    }
}
