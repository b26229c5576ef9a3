//! What every process around a gateway shares: how it stops.
//!
//! - [`signals`]: SIGTERM, SIGINT and SIGHUP, listened to once for the process's life.

pub mod signals;

pub use signals::Signals;
