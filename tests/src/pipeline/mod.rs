//! The whole job under test: the DingTalk simulator serving approvals, one producer
//! polling it, RabbitMQ under a prefix of the run's own, consumers writing to the
//! K3Cloud simulator, and one ledger (SQLite, or a PostgreSQL schema of its own).
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use dingk3_tests::pipeline::{Pipeline, PipelineOptions};
//!
//! let options = PipelineOptions { test: "demo", claims: 100, consumers: 2, ..PipelineOptions::default() };
//! let pipeline = Pipeline::start(options).await.expect("SQLite always starts");
//! let snapshot = pipeline.wait_settled(Duration::from_secs(60)).await;
//! let end = pipeline.assert_end_state(&snapshot).await;
//! assert_eq!(pipeline.producer().published().await, Some(end.approved as u64));
//! pipeline.finish().await;
//! # }
//! ```
//!
//! The producer and consumers run as tasks of the test ([`RunMode::Tasks`]) or as the
//! `producer` and `consumer` binaries ([`RunMode::Processes`]). The mode can change
//! between a stop and a restart. Every run deletes its exchanges and queues when it
//! ends, also after a failed assert. An unreachable broker fails the test.

mod broker;
mod config;
mod control;
mod expect;
mod ledger_view;
mod options;
pub mod process;
mod run;
mod settle;
mod verify;
mod workers;

pub use broker::{BrokerView, QueueDepths};
pub use config::INITIAL_LOOKBACK_DAYS;
pub use expect::{Expectation, expectations};
pub use ledger_view::{LedgerRow, LedgerView};
pub use options::{PipelineOptions, RunMode};
pub use run::Pipeline;
pub use settle::Snapshot;
pub use verify::EndState;
pub use workers::{RunningConsumer, RunningProducer};
