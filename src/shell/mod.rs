//! The one shell around a gateway, for every process that runs one: `run` on a
//! SocketCAN interface, `replay` and `demo` on a capture (paced or as fast as
//! possible), `devices -i` and `registers -i` on a live bus.
//!
//! - [`Shell`] ([`turn`]): the loop; a [`Source`] of frames and the [`Venus`] side
//!   go in, the [`Driver`](crate::driver::Driver)'s outputs come out.
//! - [`socket`]: an interface, missing, down or up, and the clock it is read on.
//! - [`capture`]: a capture, on its own clock, paced or not, repeated or not.
//! - [`venus`]: clients' writes, the watched services, the platform's reports.
//! - [`signals`], [`notify`]: how a process stops, and what it tells systemd.
//! - [`runtime`]: the one-thread runtime each process runs on.
//!
//! `src/cli/` keeps argument parsing, the D-Bus connections and a call to
//! [`Shell::run`].

pub mod capture;
mod next;
pub mod notify;
pub mod runtime;
pub mod signals;
pub mod socket;
pub mod source;
pub mod turn;
pub mod venus;

pub use capture::{Capture, CaptureError, Speed};
pub use notify::Notifier;
pub use runtime::runtime;
pub use signals::Signals;
pub use socket::Socket;
pub use source::Source;
pub use turn::{Ended, Make, Shell, Start};
pub use venus::{Switch, Venus};
