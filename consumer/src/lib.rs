//! The library behind the `consumer` binary: it takes approval messages from RabbitMQ,
//! maps each to a K3Cloud payment bill and writes it once (guarded by a ledger lease
//! and a K3Cloud lookup by bill number before every save), with retry queues and a
//! dead-letter queue for everything that cannot be written.
//!
//! The binary only parses arguments, loads the configuration, installs logging and
//! signal handlers, and maps results to exit statuses. Tests drive the same code
//! through [`worker::Worker`] and [`status`].
//!
//! # Layout
//!
//! - [`config`]: the `[consumer]` and `[log]` sections.
//! - [`settings`]: every section `consumer run` and `consumer status` read, checked.
//! - [`app`]: wiring for `consumer run`: operations endpoint, ledger, clients, worker.
//! - [`worker`]: the consuming, writing and settling of messages.
//! - [`write_back`]: the optional DingTalk comment naming the bill number.
//! - [`status`]: the `consumer status` report.
//! - [`dlq`]: the dead-letter tools, `consumer dlq list|show|export|replay|purge`.
//! - [`dlq_depth`]: reading the dead-letter queue depth.
//! - [`metrics`]: the consumer's Prometheus metrics.

pub mod app;
pub mod config;
pub mod dlq;
pub mod dlq_depth;
pub mod metrics;
pub mod settings;
pub mod status;
pub mod worker;
pub mod write_back;
