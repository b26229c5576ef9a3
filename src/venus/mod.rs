//! What Venus sees: the services the gateway publishes from what the core knows.
//!
//! - [`vecan`]: the bus service `com.victronenergy.vecan.<if>` — every node, its
//!   identity and device instance, bus alarms and statistics.

pub mod vecan;

pub use vecan::BusService;
