//! Helpers for end-to-end tests of the consumer. They provide the local RabbitMQ under
//! a prefix of the test's own, the in-process K3Cloud simulator, and a temporary
//! ledger: SQLite, or a PostgreSQL schema of its own when `DATABASE_URL` is set. The
//! envelopes are built from the project's approval cases and from generated claims.
//!
//! Every test deletes its exchanges and queues when it ends, also when it fails. An
//! unreachable broker fails the test; it is never skipped.

pub mod broker;
pub mod cases;
pub mod harness;
pub mod ledger;

pub use broker::{DeadLetterView, require_broker, unique_prefix};
pub use cases::{CaseExpectation, case_envelope, case_expectation, generated_envelopes};
pub use harness::{Harness, HarnessOptions, K3Auth};
pub use ledger::{LedgerKind, TestLedger};
