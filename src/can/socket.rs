//! The live source: a SocketCAN `CAN_RAW` socket read through tokio.
//!
//! Only extended (29-bit) data frames reach the caller. Error frames are asked for,
//! counted and logged — a bus error is information, never a reason to stop — and
//! remote or standard frames are dropped.

use std::io;

use socketcan::{tokio::CanSocket, CanFrame, EmbeddedFrame, ExtendedId, Frame as _, SocketOptions};
use tracing::{debug, warn};

use super::frame::Frame;
use crate::time::{wall_now, Monotonic};

const CAN_EFF_FLAG: u32 = 0x8000_0000;
const CAN_EFF_MASK: u32 = 0x1FFF_FFFF;

/// Counters of what the socket delivered besides data frames.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SocketStats {
    pub frames: u64,
    pub error_frames: u64,
    pub dropped_non_extended: u64,
}

/// A SocketCAN interface opened for NMEA 2000.
pub struct CanSource {
    socket: CanSocket,
    interface: String,
    stats: SocketStats,
    /// What frames are stamped with: the gateway's monotonic clock, or (`None`)
    /// the wall clock, for output a person reads.
    clock: Option<Monotonic>,
}

impl CanSource {
    /// Opens `interface` (e.g. `can0`, `vcan0`) for extended data frames and error frames.
    pub fn open(interface: &str) -> io::Result<CanSource> {
        let socket = CanSocket::open(interface)?;
        socket.set_filters(&[(CAN_EFF_FLAG, CAN_EFF_FLAG)])?;
        socket.set_error_filter_accept_all()?;
        Ok(CanSource {
            socket,
            interface: interface.to_string(),
            stats: SocketStats::default(),
            clock: None,
        })
    }

    /// Stamps frames on `clock` instead of the wall clock.
    pub fn stamped_by(mut self, clock: Monotonic) -> CanSource {
        self.clock = Some(clock);
        self
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// What the socket delivered so far.
    pub fn stats(&self) -> SocketStats {
        self.stats
    }

    /// The next extended data frame, stamped with the time it was read.
    pub async fn recv(&mut self) -> io::Result<Frame> {
        loop {
            let frame = self.socket.read_frame().await?;
            match frame {
                CanFrame::Data(d) if d.is_extended() => {
                    self.stats.frames += 1;
                    let now = self.clock.map_or_else(wall_now, |c| c.now());
                    return Ok(Frame::new(now, d.raw_id(), d.data()));
                }
                CanFrame::Error(e) => {
                    self.stats.error_frames += 1;
                    warn!(interface = %self.interface, error = %e.into_error(), count = self.stats.error_frames, "CAN error frame");
                }
                other => {
                    self.stats.dropped_non_extended += 1;
                    debug!(interface = %self.interface, frame = ?other, "dropped a non-extended or remote frame");
                }
            }
        }
    }

    /// Sends one extended data frame.
    pub async fn send(&self, frame: &Frame) -> io::Result<()> {
        // Always an extended identifier, also below 0x800 (from_raw_id would make
        // those standard frames).
        let id = ExtendedId::new(frame.id & CAN_EFF_MASK);
        let f = id
            .and_then(|id| CanFrame::new(id, frame.data()))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "frame does not fit a CAN frame",
                )
            })?;
        self.socket.write_frame(f).await
    }
}
