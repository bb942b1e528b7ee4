//! The fault suite and the other reliability checks: the pipeline run as child
//! processes while K3Cloud and DingTalk fail, processes are killed and broker
//! connections are closed, and the checks that nothing was lost or written twice.
//!
//! [`suite::run`] is what the `fault_suite` binary runs; [`plan`] holds its fault rates
//! and schedule, [`chaos`] carries the schedule out, [`checks`] holds the invariants
//! and [`report`] prints the numbers.

pub mod chaos;
pub mod checks;
pub mod connections;
pub mod plan;
pub mod report;
pub mod suite;
