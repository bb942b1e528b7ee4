//! A local stand-in for the DingTalk (钉钉) approval APIs of both generations.
//!
//! It serves the legacy oapi calls (`/gettoken`, `/topapi/processinstance/listids`,
//! `/topapi/processinstance/get`, `/topapi/process/instance/comment/add`) and their v1.0
//! counterparts (`/v1.0/oauth2/accessToken`, `/v1.0/workflow/processes/instanceIds/query`,
//! `/v1.0/workflow/processInstances`, `/v1.0/workflow/processInstances/comments`) on one
//! address, with the vendors' envelopes, limits and error codes. Instances come from
//! case files and from a claim generator; each carries the outcome the pipeline must
//! reach, for tests to assert against. The `/__sim/` admin API and [`DingTalkHandle`]
//! change instances, inject faults and read what the client did.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use dingk3_simulator::dingtalk::{DingTalkOptions, DingTalkSimulator, FaultKind, FaultRule};
//!
//! let running = DingTalkSimulator::start(DingTalkOptions {
//!     generate: 105,
//!     seed: 7,
//!     ..DingTalkOptions::default()
//! })
//! .await?;
//! let base_url = running.base_url();
//! running.handle().add_fault(FaultRule::next(FaultKind::QpsLimit, 2))?;
//! // … point the client at base_url …
//! running.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod catalogue;
pub mod cli;
pub mod errors;
pub mod faults;
pub mod generator;
pub mod lifecycle;
pub mod listing;
pub mod loader;
pub mod model;
pub mod render_topapi;
pub mod render_v1;
mod request;
mod routes_oapi;
mod routes_v1;
mod server;
pub mod shift;
mod state;
pub mod time;
pub mod tokens;
pub mod truth;

#[cfg(test)]
mod tests;

pub use admin::summary;
pub use errors::OapiTokenShape;
pub use faults::{Api, FaultKind, FaultPlan, FaultRule, Latency};
pub use generator::{GeneratedClaim, generate_claims};
pub use lifecycle::StatusChange;
pub use model::{ApprovalResult, Instance, Status};
pub use routes_v1::TOKEN_HEADER;
pub use server::{
    DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_PROCESS_CODE, DingTalkOptions, DingTalkSimulator,
    RunningDingTalk, StartError,
};
pub use state::{AdminError, CommentRecord, DingTalkHandle, Entry, Origin};
pub use tokens::{TOKEN_LIFETIME_SECONDS, TokenPolicy};
pub use truth::{Expected, GroundTruth};
