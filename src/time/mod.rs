//! Time, in one place: what a timestamp is, the calendar, and the two clocks a
//! gateway runs on. The core never reads a clock: time reaches it as an input.
//!
//! - [`Micros`]: microseconds since the Unix epoch, every timestamp's type;
//! - [`civil`]: calendar conversions for captures' dates and ISO 8601 output;
//! - [`clock`]: the live daemon's monotonic clock, and the wall clock beside it
//!   (the only module that reads the system's clocks);
//! - [`capture`]: the clock a capture is replayed on, steps and all.

pub mod capture;
pub mod civil;
pub mod clock;

pub use capture::{CaptureClock, Step, FORWARD_STEP, STEP_RATIO, UNTIMED_SPACING};
pub use civil::*;
pub use clock::{wall_now, Monotonic, WallWatch};

/// Microseconds since the Unix epoch (or since the start of a capture without dates).
pub type Micros = i64;
