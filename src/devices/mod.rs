//! The devices stage: every device on the bus by its NAME, its identity (product and
//! configuration information) and its lifecycle (design.md §4).
//!
//! The records live here; the decisions that need the bus (requests, probes) are
//! taken by the core, which owns the clock and the transmit queue.

pub mod device;
pub mod registry;

pub use device::{Device, Heard, Lifecycle, Tries};
pub use registry::{Naming, Registry, MAX_DEVICES, MAX_GONE};
