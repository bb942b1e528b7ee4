//! The ledger: one row per DingTalk approval instance with its outcome, the audit trail
//! of every status change, and the producer's watermark per process code.
//!
//! It is what makes "every approval becomes exactly one bill" checkable. The producer
//! records what each poll listed and which publishes the broker confirmed. A consumer
//! claims an instance with a lease before writing its bill, so a redelivered or
//! duplicated message finds the instance saved or claimed and does not write a second
//! bill. The dead-letter tooling reads counts, errors and histories, and reopens
//! rejected or dead instances for a replay. A consumer with write-back on also keeps
//! the state of its DingTalk comment here, apart from the status.
//!
//! Transitions, each made by one operation:
//!
//! ```text
//! pending            → published  mark_published
//! pending            → skipped    record_skipped
//! pending, published → saving     claim
//! saving             → saving     claim (the holder renews, or the lease has expired)
//! saving             → published  release (transient failure, retried later)
//! saving             → rejected   mark_rejected
//! any but saved      → saved      mark_saved (a bill that exists is recorded regardless)
//! any but saved      → dead       mark_dead
//! rejected, dead     → published  reopen_for_replay
//! rejected, dead     → dead       mark_purged (the dead letter was removed)
//! ```
//!
//! Nothing else changes a status, so repeated producer writes cannot move an instance
//! backwards. A claim accepts a `pending` instance because a consumer can receive a
//! message before the producer has recorded the broker's confirm.
//!
//! SQLite is the default (a file, created with its folder on first start); PostgreSQL
//! serves consumers on several hosts. The schema is migrated at every start.

mod claim;
mod config;
mod connect;
mod error;
mod metrics;
mod model;
mod outcome;
mod producer;
mod purge;
mod queries;
mod rows;
mod saved;
mod write_back;

pub use claim::ClaimRequest;
pub use config::{
    DEFAULT_LEASE_SECONDS, DEFAULT_MAX_CONNECTIONS, DEFAULT_URL, LedgerBackend, LedgerSettings,
    MAX_LEASE_SECONDS, RawLedgerConfig,
};
pub use connect::{BackendKind, Ledger};
pub use error::LedgerError;
pub use model::{
    Claim, EventAction, InstanceRecord, InstanceSummary, LedgerEvent, Status, UnknownStatus,
};
pub use purge::PURGED_KIND;
pub use saved::SavedBill;
pub use write_back::{DueWriteBack, WriteBackStatus};
