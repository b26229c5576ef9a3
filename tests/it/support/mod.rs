//! What several test modules share: a private dbus-daemon and the publisher set up
//! on it, the gateway replayed onto it, a live gateway driven by a test, canboat's
//! reference decodes, the core fed a capture, a flood of frames.

pub mod core_feed;
pub mod flood;
pub mod gateway_replay;
pub mod live_gateway;
pub mod private_bus;
pub mod reference;
