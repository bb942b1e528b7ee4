//! Placeholder.

pub mod config_keys;
pub mod consumer;
pub mod dingtalk;
pub mod dlq;
pub mod k3cloud;
pub mod pipeline;
pub mod producer;
