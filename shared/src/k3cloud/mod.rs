//! The K3Cloud (金蝶云星空) WebAPI client.
//!
//! [`K3CloudClient`] calls `POST {base}Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.<Op>.common.kdsvc`
//! with the named body of Kingdee's official Python SDK, `{"formid": …, "data": {…}}`
//! (`{"data": {…}}` for `ExecuteBillQuery`). Settings come from the `[k3cloud]` section
//! ([`RawK3CloudConfig`] → [`K3CloudSettings`]).
//!
//! # Authentication
//!
//! - `signature` (default): every request carries the `X-Api-*`/`X-Kd-*` headers of
//!   [`signature`]; the `kdservice-sessionid` cookie the server sets is echoed back, as
//!   the SDK does. `MsgCode` 1 means wrong credentials: a configuration error.
//! - `session`: one `LoginByAppSecret` or `ValidateUser`, whose `kdservice-sessionid`
//!   and `ASP.NET_SessionId` cookies are reused. On `MsgCode` 1 the client logs in again
//!   once, single-flight across tasks, and resends reads only. A write then returns
//!   [`CallError::SessionLost`] so the caller probes by bill number first.
//!
//! # Outcomes
//!
//! `BatchSave` is not atomic: [`K3CloudClient::batch_save`] returns one
//! [`ModelOutcome`] per model, matched by `DIndex`. A whole-call failure is a
//! [`CallError`]: transient, session lost, configuration, or unknown outcome. After a
//! write whose outcome is unknown, [`K3CloudClient::existing_bills`] returns the bill
//! numbers that already exist.
//!
//! # Decoding
//!
//! Replies are decoded leniently: booleans and numbers as JSON or strings,
//! the four error shapes K3Cloud uses, and anything else as a typed unknown outcome with
//! a short excerpt in which credentials and session ids are masked.
//!
//! # Metrics
//!
//! `dingk3_k3cloud_request_seconds{operation}` and
//! `dingk3_k3cloud_calls_total{operation,outcome}` in the default Prometheus registry;
//! every failure is also logged with the same labels.

mod classify;
mod client;
mod config;
mod decode;
mod error;
mod excerpt;
mod forms;
mod login;
mod metrics;
mod operation;
mod outcome;
mod reason;
mod request;
mod session;
pub mod signature;
mod transport;

pub use client::K3CloudClient;
pub use config::{AuthSettings, K3CloudSettings, RawK3CloudConfig, SessionLogin};
pub use decode::{Malformed, ReplyDefect};
pub use error::CallError;
pub use excerpt::{EXCERPT_CHARS, excerpt};
pub use forms::PROBE_CHUNK;
pub use operation::Operation;
pub use outcome::{BillOutcome, FieldError, ModelOutcome, decode_write_reply};
pub use reason::Reason;
pub use request::{BillQuery, DEFAULT_QUERY_LIMIT, ViewKey, batch_save_data, in_filter, save_data};

#[cfg(test)]
mod client_tests;
