//! The library behind dingk3's binaries.
//!
//! dingk3 turns approved DingTalk expense approvals into Kingdee K3Cloud payment bills
//! (`AP_PAYBILL`) through RabbitMQ. The `producer` binary polls DingTalk and publishes
//! approvals; `consumer` maps each one to a bill and writes it to K3Cloud exactly once.
//! Everything both binaries share lives here.
//!
//! # Layout
//!
//! - [`i18n`]: language selection and bilingual user-facing texts.
//! - [`cli`]: Chinese help and localized argument errors for the binaries.
//! - [`config`]: configuration errors and secret handling; each component owns its section.
//! - [`approval`]: the typed approval model decoded from DingTalk instances.
//! - [`envelope`]: the versioned message carried by RabbitMQ.
//! - [`dingtalk`]: the DingTalk client.
//! - [`k3cloud`]: the K3Cloud WebAPI client.
//! - [`mapping`]: approval → K3Cloud request mapping, money and dates.
//! - [`broker`]: RabbitMQ topology, supervision and confirmed publishing.
//! - [`ledger`]: the record of every approval instance and its outcome.
//! - [`telemetry`]: logging setup and masking of personal data.
//! - [`metrics`]: the `/metrics`, `/healthz` and `/readyz` endpoint.

pub mod approval;
pub mod broker;
pub mod cli;
pub mod config;
pub mod dingtalk;
pub mod envelope;
pub mod i18n;
pub mod k3cloud;
pub mod ledger;
pub mod mapping;
pub mod metrics;
pub mod telemetry;
