//! Victron's register protocol (VREG) on VE.Can: the register table, and the frames
//! that read, write and acknowledge registers.
//!
//! A VREG message is PGN 61184 (single frame, priority 7; 126720 as a fast packet for
//! values longer than four bytes), addressed or broadcast, whose payload starts with
//! the tag `66 99` (manufacturer 358, industry 4), then the register (u16 LE), then
//! the value, little-endian. Answers and spontaneous values are broadcast; requests
//! (VREQ, register 0x0001) and writes are addressed; errors come back addressed as
//! VACK (register 0x0002).
//!
//! - [`registers`]: what each register holds (`vreg-defs/registers.def`, compiled by
//!   `build.rs`), and its value decoded and scaled;
//! - [`frame`]: a payload parsed into what it says, and the payloads we send;
//! - [`engine`]: per node the registers it has shown, and reads and writes paced,
//!   retried and confirmed (sans-I/O, like the core).

pub mod engine;
pub mod frame;
pub mod registers;

pub use frame::{Vack, VackCode, Vreg};
pub use registers::{RegKind, RegValue, RegisterDef};

/// PGN of single-frame VREG messages (PDU1: the low byte of the CAN id's PGN field
/// is the destination).
pub const PGN_VREG: u32 = 61184;
/// PGN of fast-packet VREG messages, for values longer than a frame.
pub const PGN_VREG_LONG: u32 = 126720;
/// Priority of VREG frames.
pub const PRIORITY: u8 = 7;
