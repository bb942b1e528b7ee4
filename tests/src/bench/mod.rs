//! Support of the `bench` binary: the pipeline scenarios, the two baselines they are
//! compared with (the broker's limit and Kingdee's Python SDK saving one bill per
//! call), resource use read from `/proc`, and the report.
//!
//! Unlike the rest of this crate, these helpers return `anyhow` errors instead of
//! panicking, because the bench is a binary that prints why a scenario could not
//! complete and exits with a failure status.

pub mod broker_limit;
pub mod proc_stats;
pub mod report;
pub mod scenario;
pub mod sdk_loop;

pub use broker_limit::BrokerLimit;
pub use proc_stats::{CpuTicks, ProcessUsage, read_machine_ticks, read_usage};
pub use report::Report;
pub use scenario::{Scenario, ScenarioResult, Tuning};
pub use sdk_loop::SdkLoop;
