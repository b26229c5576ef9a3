//! The devices stage: every device on the bus by its NAME, its identity (product and
//! configuration information) and its lifecycle (docs/architecture.md#device-lifecycle).
//!
//! The records live here, and the lifecycle that decides on them ([`lifecycle`]:
//! discovery, pacing, liveness, identification) as a state machine; the core wires
//! it to the bus, sending its requests and reporting its events.

pub mod device;
pub mod lifecycle;
pub mod registry;

pub use device::{Device, Heard, Lifecycle, Tries};
pub use registry::{Naming, Registry, MAX_DEVICES, MAX_GONE};
