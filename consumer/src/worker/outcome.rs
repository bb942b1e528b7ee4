//! The ways a message can end: the metric outcomes, and the dead-letter kinds with
//! their reasons.

use serde_json::Value;

/// Reason class of a dead letter: the value of the `x-dingk3-error-kind` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadKind {
    /// The body is not a readable envelope, or the instance it carries must not become
    /// a bill (not approved).
    InvalidMessage,
    /// No route for the process code, or the mapping cannot build a bill from the
    /// approval.
    Mapping,
    /// K3Cloud rejected the bill.
    Rejected,
    /// Every retry tier was used and the write still failed.
    Exhausted,
}

impl DeadKind {
    /// Returns the header and ledger spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadKind::InvalidMessage => "invalid_message",
            DeadKind::Mapping => "mapping",
            DeadKind::Rejected => "rejected",
            DeadKind::Exhausted => "exhausted",
        }
    }

    /// Returns the metric outcome of a message dead-lettered with this kind.
    pub fn outcome(self) -> Outcome {
        match self {
            DeadKind::InvalidMessage => Outcome::InvalidMessage,
            DeadKind::Mapping => Outcome::Mapping,
            DeadKind::Rejected => Outcome::Rejected,
            DeadKind::Exhausted => Outcome::Exhausted,
        }
    }
}

/// End of a settled message: the `outcome` label of
/// `dingk3_consumer_messages_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The bill was saved (or found already saved in K3Cloud) and recorded.
    Saved,
    /// The ledger already had a final status for the approval.
    Duplicate,
    /// Dead-lettered as `rejected`.
    Rejected,
    /// Dead-lettered as `mapping`.
    Mapping,
    /// Dead-lettered as `invalid_message`.
    InvalidMessage,
    /// Published to a retry queue.
    Retried,
    /// Dead-lettered as `exhausted`.
    Exhausted,
    /// Put back on the work queue because a publish or ledger write failed.
    Requeued,
}

impl Outcome {
    /// Returns the metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Saved => "saved",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected => "rejected",
            Outcome::Mapping => "mapping",
            Outcome::InvalidMessage => "invalid_message",
            Outcome::Retried => "retried",
            Outcome::Exhausted => "exhausted",
            Outcome::Requeued => "requeued",
        }
    }
}

/// A decision to dead-letter a message, with everything its headers carry.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// `x-dingk3-error-kind`.
    pub kind: DeadKind,

    /// `x-dingk3-error`: one line an operator can act on.
    pub reason: String,

    /// `x-dingk3-error-detail`: the structured cause, e.g. K3Cloud field errors or the
    /// list of mapping errors.
    pub detail: Option<Value>,
}

impl DeadLetter {
    /// Creates a dead-letter decision.
    pub fn new(kind: DeadKind, reason: impl Into<String>, detail: Option<Value>) -> DeadLetter {
        DeadLetter {
            kind,
            reason: reason.into(),
            detail,
        }
    }
}

/// A failure that sends a message to a retry queue, or to the dead-letter queue as
/// exhausted after the last tier.
#[derive(Debug, Clone)]
pub struct RetryCause {
    /// Machine-readable kind for the ledger and metrics (`transient`, `session_lost`,
    /// `unknown_outcome`, `configuration`, `retryable`, `ledger`, `lease`).
    pub kind: &'static str,

    /// Description of the failure, for logs, the ledger and the exhausted dead letter.
    pub reason: String,
}

impl RetryCause {
    /// Creates a retry cause.
    pub fn new(kind: &'static str, reason: impl Into<String>) -> RetryCause {
        RetryCause {
            kind,
            reason: reason.into(),
        }
    }
}
