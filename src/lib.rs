//! n2k-dbus: an NMEA 2000 / VE.Can gateway to Victron Venus OS D-Bus.
//!
//! The data flow, one module per stage:
//! - [`time`]: timestamps, the calendar, the live and the capture clocks;
//! - [`can`]: CAN frames and identifiers, the live SocketCAN source;
//! - [`logs`]: capture files (candump, canboat, Yacht Devices) in and candump out,
//!   their records as messages;
//! - [`n2k`]: transport — fast packet and ISO TP reassembly and fragmentation;
//! - [`pgn`]: the PGN definitions (compiled from `pgn-defs/`) and the decoder;
//! - [`network`]: NAMEs, the address table, our own address claim;
//! - [`vreg`]: Victron's register protocol on VE.Can (register table, frames);
//! - [`devices`]: every device by NAME, its identity and lifecycle;
//! - [`core`]: the sans-I/O node that ties the stages together;
//! - [`gateway`]: core, Venus mapper and bus service joined, still without I/O;
//! - [`driver`]: the one way a gateway is driven: clock, inputs, timers, writes;
//! - [`export`]: NMEA 2000-out, other processes' Venus services as virtual nodes;
//! - [`model`]: the D-Bus item model (values, items, trees, service specs), pure;
//! - [`dbus`]: Venus OS services on D-Bus, one connection per service;
//! - [`shell`]: what the processes around a gateway share (signals);
//! - [`json`]: decoded messages as canboat-compatible JSON;
//! - [`state`]: what survives a restart (our address, our unique number);
//! - [`venus`]: the Venus services built from what the core knows.
#![forbid(unsafe_code)]

pub mod can;
pub mod core;
pub mod dbus;
pub mod devices;
pub mod driver;
pub mod export;
pub mod gateway;
pub mod json;
pub mod logs;
pub mod model;
pub mod n2k;
pub mod network;
pub mod pgn;
pub mod shell;
pub mod state;
pub mod time;
pub mod venus;
pub mod vreg;
