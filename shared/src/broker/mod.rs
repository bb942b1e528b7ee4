//! RabbitMQ: topology, the supervised connection, confirmed publishing, the pipeline's
//! headers, ack discipline, and the producer's leader lock.
//!
//! # Layout
//!
//! - [`config`]: the `[broker]` section and its validation.
//! - [`topology`]: exchange and queue names, arguments and declaration.
//! - [`connection`]: opening a named lapin connection (plain or TLS).
//! - [`supervisor`]: the reconnecting state machine that runs a caller's session.
//! - [`publisher`]: publishing with confirms, `mandatory` and timeouts.
//! - [`headers`]: pipeline headers and message properties.
//! - [`ack`]: exactly one ack or reject per delivery, with lost acks counted.
//! - [`leader`]: the exclusive-queue lock that lets one producer per app poll.
//! - [`metrics`]: the Prometheus counters of this module.

pub mod ack;
pub mod config;
pub mod connection;
pub mod error;
pub mod headers;
pub mod leader;
pub mod metrics;
pub mod publisher;
pub mod supervisor;
pub mod tier;
pub mod topology;

pub use ack::{AckHandle, AckOutcome, ReceivedMessage, split};
pub use config::{BrokerSettings, RawBrokerConfig};
pub use connection::{Recovery, connect, default_connection_name, wait_for_channel_recovery};
pub use error::{ConnectError, TopologyError};
pub use headers::{Failure, PipelineHeaders};
pub use leader::{LeaderLock, LockError};
pub use publisher::{BatchOutcome, OutgoingMessage, PublishError, PublishStage, Publisher};
pub use supervisor::{Link, LinkState, Supervisor};
pub use tier::RetryTier;
pub use topology::Topology;
