//! NMEA 2000 transport: reassembly of fast packets and ISO TP sessions into
//! messages, and the inverse (fragmenting a message for transmit).

pub mod assembler;
pub mod fast_packet;
pub mod fragment;
pub mod iso_tp;

pub use assembler::{is_fast_packet, Assembler, Message};
