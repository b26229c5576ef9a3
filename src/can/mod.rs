//! CAN frames and identifiers, and the live SocketCAN source.

pub mod frame;
pub mod id;
pub mod link;
pub mod socket;

pub use frame::{Frame, Micros};
pub use id::CanId;
