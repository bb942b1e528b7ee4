//! The producer of dingk3: it polls DingTalk for approval instances of the configured
//! templates and publishes each approved one to RabbitMQ without losing one.
//!
//! Three rules keep every approval and avoid repeats. The ledger records an approval before it is
//! published and marks it published only after the broker's confirm. A returned
//! (unroutable) or refused publish leaves the approval pending, and the next poll
//! publishes it again. The watermark, which decides where the next window starts,
//! moves only when the whole window was handled. A duplicate that a crash can still
//! cause carries the same `message_id`, the process instance id, which consumers
//! deduplicate through the ledger.
//!
//! # Layout
//!
//! - [`config`]: the `[producer]` section; [`log_config`]: the `[log]` section;
//!   [`settings`]: every section the producer reads, validated together.
//! - [`window`]: the range of creation times a poll lists.
//! - [`classify`]: publish, keep pending, or skip a fetched instance.
//! - [`recheck`]: how often a running approval is fetched again.
//! - [`outbox`]: envelopes as messages, published with confirms.
//! - [`poll`]: one poll of one process code.
//! - [`producer`]: the producer of one app and the one-shot commands; [`runner`]: the
//!   scheduled loop with leader election; [`leader`]: the lock for one-shot commands.
//! - [`report`], [`progress`]: what a poll did, for summaries and the live line.
//! - [`metrics`], [`error`], [`cli`].

pub mod classify;
pub mod cli;
pub mod config;
pub mod error;
pub mod leader;
pub mod metrics;
pub mod outbox;
pub mod poll;
pub mod producer;
pub mod progress;
pub mod recheck;
pub mod report;
pub mod runner;
pub mod settings;
pub mod window;

pub use config::{ProducerSettings, RawProducerConfig};
pub use error::ProducerError;
pub use poll::{Poller, WindowPlan};
pub use producer::{Producer, RunStatus};
pub use progress::{NoProgress, Progress, TerminalProgress};
pub use report::{PollOutcome, RouteError, RouteReport, RunSummary};
pub use settings::{APP_ID, ProducerConfig};
pub use window::{BackfillDays, PollWindow};
