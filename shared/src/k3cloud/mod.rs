//! The K3Cloud (金蝶云星空) WebAPI client.
//!
//! Placeholder for the client itself; [`signature`] is shared with the simulator.

pub mod signature;
