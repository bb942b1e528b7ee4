//! Call counters per operation and outcome, for tests and the `/__sim/stats` endpoint.

use std::collections::BTreeMap;

use serde::Serialize;

/// Outcome of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// `IsSuccess: true`, a login that opened a session, or query rows.
    Success,
    /// A batch with saved and rejected models.
    PartialSuccess,
    /// A business error: validation, duplicate number, refused login, bad query.
    BusinessError,
    /// No live session and no valid credentials (`MsgCode` 1).
    SessionLost,
    /// Unknown account set: the non-200 "Fail to verify thirty passport" reply.
    PassportRejected,
    /// The body could not be read.
    BadRequest,
    /// Injected HTTP 500.
    FaultHttp5xx,
    /// Injected hang.
    FaultHang,
    /// Injected 网控 conflict.
    FaultNetworkConflict,
    /// Injected lost reply (the call was processed).
    FaultLostReply,
}

impl Outcome {
    /// Returns the name used in counters.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::PartialSuccess => "partial_success",
            Outcome::BusinessError => "business_error",
            Outcome::SessionLost => "session_lost",
            Outcome::PassportRejected => "passport_rejected",
            Outcome::BadRequest => "bad_request",
            Outcome::FaultHttp5xx => "fault_http_5xx",
            Outcome::FaultHang => "fault_hang",
            Outcome::FaultNetworkConflict => "fault_network_conflict",
            Outcome::FaultLostReply => "fault_lost_reply",
        }
    }
}

/// Counters since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Operation name → outcome name → calls.
    pub calls: BTreeMap<String, BTreeMap<String, u64>>,
    /// Models saved by Save and BatchSave.
    pub models_saved: u64,
    /// Models rejected by Save and BatchSave.
    pub models_rejected: u64,
    /// Sessions opened by logins and signature checks.
    pub sessions_opened: u64,
}

impl Stats {
    /// Counts one call.
    pub fn record(&mut self, operation: &str, outcome: Outcome) {
        if let Some(count) = self
            .calls
            .get_mut(operation)
            .and_then(|outcomes| outcomes.get_mut(outcome.name()))
        {
            *count += 1;
            return;
        }
        *self
            .calls
            .entry(operation.to_string())
            .or_default()
            .entry(outcome.name().to_string())
            .or_default() += 1;
    }

    /// Calls of `operation` that ended with `outcome`.
    pub fn count(&self, operation: &str, outcome: Outcome) -> u64 {
        self.calls
            .get(operation)
            .and_then(|outcomes| outcomes.get(outcome.name()))
            .copied()
            .unwrap_or(0)
    }

    /// Calls of `operation` whatever their outcome.
    pub fn total(&self, operation: &str) -> u64 {
        self.calls
            .get(operation)
            .map_or(0, |outcomes| outcomes.values().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_per_operation_and_outcome() {
        let mut stats = Stats::default();
        stats.record("BatchSave", Outcome::Success);
        stats.record("BatchSave", Outcome::Success);
        stats.record("BatchSave", Outcome::FaultLostReply);
        assert_eq!(stats.count("BatchSave", Outcome::Success), 2);
        assert_eq!(stats.count("BatchSave", Outcome::FaultLostReply), 1);
        assert_eq!(stats.count("Save", Outcome::Success), 0);
        assert_eq!(stats.total("BatchSave"), 3);
    }
}
