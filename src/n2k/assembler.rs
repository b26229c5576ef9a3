//! Frames in, messages out: routes each frame to fast-packet or ISO TP reassembly,
//! or passes it through when its PGN is a single-frame PGN.

use std::sync::OnceLock;

use super::fast_packet::{FastPacketAssembler, FastPacketStats};
use super::iso_tp::{IsoTpReceiver, IsoTpStats, PGN_TP_CM, PGN_TP_DT};
use crate::can::{CanId, Frame, Micros};
use crate::pgn::{self, Transport};

/// A complete NMEA 2000 message, borrowing its payload from the frame or the assembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub timestamp: Micros,
    pub id: CanId,
    pub data: &'a [u8],
}

/// Which PGNs travel as fast packets: one bit per PGN of the two data pages. Built
/// in one walk of the definitions (a search per PGN cost milliseconds at start).
fn fast_pgns() -> &'static [u64] {
    static SET: OnceLock<Vec<u64>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut bits = vec![0u64; 0x20000 / 64];
        let mut set = |p: u32, fast: bool| {
            let (word, bit) = (p as usize / 64, 1u64 << (p % 64));
            if fast {
                bits[word] |= bit;
            } else {
                bits[word] &= !bit;
            }
        };
        // The range rule canboat applies to PGNs it does not know…
        for p in (0x10000..=0x1EFFF).chain(0x1FF00..=0x1FFFF) {
            set(p, true);
        }
        // …and what the definitions say of the PGNs they define.
        for group in pgn::all().chunk_by(|a, b| a.pgn == b.pgn) {
            let p = group[0].pgn;
            if p < 0x20000 {
                set(p, group.iter().any(|d| d.transport == Transport::Fast));
            }
        }
        bits
    })
}

/// Whether `pgn` is sent as fast packet.
pub fn is_fast_packet(pgn: u32) -> bool {
    pgn < 0x20000 && fast_pgns()[pgn as usize / 64] & (1 << (pgn % 64)) != 0
}

/// The most one gap between two frames adds to the reassembly clock.
///
/// Partial messages go stale on a clock of their own that advances with the frames
/// on the bus: by the time between two frames, but by no more than this and never
/// backwards. A clock step (a logger's clock set, two captures merged) thus costs a
/// partial message nothing, and staleness after [`fast_packet::STALE_AFTER`] means
/// that time passed *and* several frames went by.
///
/// [`fast_packet::STALE_AFTER`]: super::fast_packet::STALE_AFTER
pub const MAX_FRAME_GAP: Micros = 100_000;

/// Reassembles a stream of frames into messages.
#[derive(Default)]
pub struct Assembler {
    fast: FastPacketAssembler,
    iso: IsoTpReceiver,
    /// The timestamp of the last frame, and the reassembly clock at it.
    last: Option<Micros>,
    clock: Micros,
    /// Reassembly time of the last expiry sweep.
    swept: Micros,
}

/// Reassembly counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerStats {
    pub fast_packet: FastPacketStats,
    pub iso_tp: IsoTpStats,
}

impl Assembler {
    /// A passive assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reassembly counters.
    pub fn stats(&self) -> AssemblerStats {
        AssemblerStats {
            fast_packet: self.fast.stats(),
            iso_tp: self.iso.stats(),
        }
    }

    /// The ISO TP receiver, to set our own address or collect its answers.
    pub fn iso_tp(&mut self) -> &mut IsoTpReceiver {
        &mut self.iso
    }

    /// Takes one frame; returns a message when this frame completes one. The
    /// message carries the frame's own timestamp.
    pub fn on_frame<'s>(&'s mut self, frame: &'s Frame) -> Option<Message<'s>> {
        let id = frame.can_id();
        let stamp = frame.timestamp;
        let now = self.tick(stamp);
        if now - self.swept > 1_000_000 {
            self.fast.expire(now);
            self.iso.expire(now);
            self.swept = now;
        }
        if id.pgn == PGN_TP_CM || id.pgn == PGN_TP_DT {
            let c = self.iso.push_stamped(now, stamp, &id, frame.data())?;
            return Some(Message {
                timestamp: c.timestamp,
                id: c.id,
                data: c.data,
            });
        }
        if is_fast_packet(id.pgn) {
            let data = self.fast.push(now, &id, frame.data())?;
            return Some(Message {
                timestamp: stamp,
                id,
                data,
            });
        }
        Some(Message {
            timestamp: stamp,
            id,
            data: frame.data(),
        })
    }

    /// Advances the reassembly clock to a frame stamped `stamp` (see [`MAX_FRAME_GAP`]).
    fn tick(&mut self, stamp: Micros) -> Micros {
        if let Some(last) = self.last {
            self.clock += stamp.saturating_sub(last).clamp(0, MAX_FRAME_GAP);
        }
        self.last = Some(stamp);
        self.clock
    }
}
