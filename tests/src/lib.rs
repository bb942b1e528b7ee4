//! Support code of dingk3's end-to-end tests and of the two measuring binaries.
//!
//! The tests in `tests/` run the real producer and consumer against the local RabbitMQ,
//! a real ledger database and both simulators bound to 127.0.0.1:0; this library holds
//! what they share: starting the pipeline and its processes ([`pipeline`]), per-component
//! harnesses, the fault suite ([`reliability`], run by the `fault_suite` binary) and the
//! benchmark scenarios ([`bench`], run by the `bench` binary).

pub mod bench;
pub mod config_keys;
pub mod consumer;
pub mod dingtalk;
pub mod dlq;
pub mod k3cloud;
pub mod pipeline;
pub mod producer;
pub mod reliability;
pub mod tls;
