//! Local stand-ins for the DingTalk and K3Cloud APIs.
//!
//! Both vendors' servers are unreachable from development and CI machines, so every
//! test, benchmark and demo runs against these simulators. Each follows the documented
//! and observed behaviour of the real service (wire formats, error codes, limits), adds
//! fault injection, and exposes `/__sim/` admin endpoints for inspection.
//!
//! Tests start a simulator in-process on `127.0.0.1:0`; the `simulator` binary runs the
//! same servers as processes for the demo and the benchmarks.

pub mod dingtalk;
pub mod k3cloud;
