//! Dead-letter operations: `consumer dlq list | show | export | replay | purge`.
//!
//! Every command reads the dead-letter queue the same way: on a channel of its own it
//! fetches, without acknowledging, as many messages as the queue held when the command
//! started, and keeps them unacknowledged until it is done. Messages it does not remove
//! go back with `basic.reject(requeue)` in the order they were read, and a crash gives
//! them back too, because the broker returns every unacknowledged message of a closed
//! connection. Reading therefore never removes or loses a message. Each return counts
//! as a delivery on a quorum queue, which is why the topology gives the dead-letter
//! queue a delivery limit far above any number of inspections.
//!
//! Removal happens only after the message is safe elsewhere:
//!
//! - `replay` reopens the ledger row, publishes a new message to the approvals exchange
//!   with a broker confirm, and only then acks the dead copy (see [`replay`]);
//! - `purge` writes every selected message to an export file and syncs it to disk,
//!   marks the ledger rows, and only then acks the dead copies (see [`purge`]).
//!
//! A process killed at any point therefore leaves each message in the dead-letter
//! queue, in the work queue, or in the export file. At worst a message exists twice,
//! and the consumer's ledger claim makes the second copy a no-op.
//!
//! # Layout
//!
//! - [`cli`]: arguments and their Chinese help.
//! - [`run`]: configuration, printing and exit statuses of each command.
//! - [`settings`]: the configuration sections the commands read.
//! - [`queue`]: holding the dead letters on a channel of the command's own.
//! - [`letter`]: the facts of one dead letter (ids, kind, reason, counts), including
//!   messages that other clients or the broker put there.
//! - [`amount`]: the amount column, from the mapping or the form.
//! - [`filter`]: `--id`, `--kind`, `--process-code`, `--since`, `--grep`.
//! - [`list`], [`show`] (with [`show_render`]), [`export`], [`replay`], [`purge`]:
//!   the commands; [`report`] is what `replay` and `purge` did.
//! - [`amqp_json`]: lossless JSON for AMQP properties and header values.
//! - [`replayed`]: the new message a replay publishes.
//! - [`table`]: column alignment for Chinese and Latin text.
//! - [`error`]: failures of the commands, in both languages.

pub mod amount;
pub mod amqp_json;
pub mod cli;
pub mod error;
pub mod export;
pub mod filter;
pub mod letter;
pub mod list;
pub mod purge;
pub mod queue;
pub mod replay;
pub mod replayed;
pub mod report;
pub mod run;
pub mod settings;
pub mod show;
pub mod show_render;
pub mod table;

pub use cli::{DlqCommand, ZH_HELP};
pub use error::DlqError;
pub use filter::Filter;
pub use letter::Letter;
pub use run::run;
pub use settings::DlqSettings;

/// Name of the operator in ledger audit events: `dlq:<user>@<host>`, so the trail
/// shows who replayed or purged a dead letter.
pub fn operator_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    format!("dlq:{user}@{host}")
}
