//! Where a shell's frames come from: a SocketCAN interface or a capture.

use super::capture::{Capture, CaptureError};
pub(super) use super::next::Next;
use super::socket::Socket;
use crate::can::socket::SocketStats;
use crate::can::{Frame, Micros};
use crate::driver::{Driver, TransmitLog};
use crate::time::Monotonic;

/// A frame source.
pub enum Source {
    Socket(Socket),
    Capture(Capture),
}

impl Source {
    /// The capture, if the source is one.
    pub fn capture(&self) -> Option<&Capture> {
        match self {
            Source::Capture(c) => Some(c),
            Source::Socket(_) => None,
        }
    }

    /// The time now on the source's clock.
    pub(super) fn now(&self, driver: Option<&Driver>) -> Micros {
        match (self, driver) {
            (Source::Socket(s), _) => s.now(),
            (Source::Capture(c), Some(d)) => c.now(d),
            (Source::Capture(_), None) => 0,
        }
    }

    /// Waits for the source's next input (fed to `driver`), its own events, or
    /// `wake` on its clock.
    pub(super) async fn next(
        &mut self,
        driver: Option<&mut Driver>,
        wake: Micros,
    ) -> Result<Next, CaptureError> {
        match (self, driver) {
            (Source::Socket(s), d) => Ok(s.next(d, wake).await),
            (Source::Capture(c), Some(d)) => c.next(d, wake).await,
            // A capture's gateway is made before its first turn.
            (Source::Capture(_), None) => Ok(Next::Up(0)),
        }
    }

    /// Made ready before the first turn: a capture's first record is read.
    pub(super) fn prime(&mut self, driver: &mut Driver) -> Result<(), CaptureError> {
        match self {
            Source::Socket(_) => Ok(()),
            Source::Capture(c) => c.prime(driver),
        }
    }

    /// Feeds one more input that is ready at once (a capture played as fast as
    /// possible); false when the shell is to take a turn first.
    pub(super) fn ready(&mut self, driver: &mut Driver) -> Result<bool, CaptureError> {
        match self {
            Source::Socket(_) => Ok(false),
            Source::Capture(c) => c.ready(driver),
        }
    }

    /// Puts a frame the gateway sent on the bus; a capture has none.
    pub(super) async fn send(&self, driver: &mut Driver, f: &Frame) {
        if let Source::Socket(s) = self {
            s.send(driver, f).await;
        }
    }

    /// The socket's counters, for the bus service.
    pub(super) fn stats(&self) -> Option<SocketStats> {
        match self {
            Source::Socket(s) => s.stats(),
            Source::Capture(_) => None,
        }
    }

    /// Hands the transmit log to a new driver, its times read on the source's
    /// clock (the live one, or the capture's own).
    pub(super) fn log_transmit(&self, driver: &mut Driver, log: TransmitLog) {
        let clock: Option<Monotonic> = match self {
            Source::Socket(s) => Some(s.clock()),
            Source::Capture(_) => None,
        };
        driver.log_transmit(log, clock);
    }
}
