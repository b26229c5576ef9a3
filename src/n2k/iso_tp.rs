//! ISO 11783-3 / J1939-21 transport protocol: messages of 9 to 1785 bytes.
//!
//! TP.CM (PGN 60416) opens a session — BAM to everyone, or RTS to one node — and
//! TP.DT (PGN 60160) carries 7 bytes per numbered packet. One session per (source,
//! destination) pair; a new announcement from the same source restarts it, an Abort
//! ends it. The receiver is passive for sessions between other nodes. For an RTS
//! addressed to [`IsoTpReceiver::own_address`] it queues the CTS that lets the sender
//! go on and the End-of-Message acknowledgement, to be sent by the caller.

use crate::can::{CanId, Frame, Micros};

/// The largest message: 255 packets of 7 bytes.
pub const MAX_PAYLOAD: usize = 255 * 7;
/// PGN of TP.CM, connection management.
pub const PGN_TP_CM: u32 = 60416;
/// PGN of TP.DT, data transfer.
pub const PGN_TP_DT: u32 = 60160;
/// A session without a packet for this long is dropped (µs; J1939 T1 750 ms, T2 1250 ms).
pub const STALE_AFTER: Micros = 1_250_000;
/// At most this many sessions are open at once.
pub const MAX_SESSIONS: usize = 32;

const CM_RTS: u8 = 0x10;
const CM_CTS: u8 = 0x11;
const CM_EOM: u8 = 0x13;
const CM_BAM: u8 = 0x20;
const CM_ABORT: u8 = 0xFF;

/// Counters of transport sessions, for diagnostics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IsoTpStats {
    pub completed: u64,
    pub aborted: u64,
    pub stale: u64,
    /// Announcements or packets that made no sense (bad sizes, packets without session).
    pub invalid: u64,
}

struct Session {
    source: u8,
    destination: u8,
    priority: u8,
    pgn: u32,
    size: usize,
    packets: u8,
    /// Packets received, one bit each (packet numbers 1–255).
    mask: [u64; 4],
    /// The announcement's timestamp, which the message carries.
    announced: Micros,
    /// The last packet, on the staleness clock.
    last: Micros,
    buf: Vec<u8>,
}

/// A message reassembled from a transport session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed<'a> {
    /// When the session was announced.
    pub timestamp: Micros,
    pub id: CanId,
    pub data: &'a [u8],
}

/// Reassembles ISO TP sessions.
#[derive(Default)]
pub struct IsoTpReceiver {
    sessions: Vec<Session>,
    /// Our own source address, when we take part in the bus.
    pub own_address: Option<u8>,
    outbox: Vec<Frame>,
    stats: IsoTpStats,
    done: Option<usize>,
}

impl IsoTpReceiver {
    /// A passive receiver (never asks to answer).
    pub fn new() -> Self {
        Self::default()
    }

    /// What the receiver has done so far.
    pub fn stats(&self) -> IsoTpStats {
        self.stats
    }

    /// Frames to send in answer (CTS, End of Message), oldest first.
    pub fn take_outbox(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.outbox)
    }

    /// Adds a TP.CM or TP.DT frame; returns a message when one completes.
    pub fn push(&mut self, now: Micros, id: &CanId, data: &[u8]) -> Option<Completed<'_>> {
        self.push_stamped(now, now, id, data)
    }

    /// [`IsoTpReceiver::push`] of a frame stamped `stamp` on a clock other than the
    /// one staleness is judged by (`now`); a message carries the stamp of its
    /// announcement.
    pub fn push_stamped(
        &mut self,
        now: Micros,
        stamp: Micros,
        id: &CanId,
        data: &[u8],
    ) -> Option<Completed<'_>> {
        if let Some(i) = self.done.take() {
            self.sessions.swap_remove(i);
        }
        match id.pgn {
            PGN_TP_CM => {
                self.control(now, stamp, id, data);
                None
            }
            PGN_TP_DT => self.data(now, id, data),
            _ => None,
        }
    }

    /// Drops sessions without progress since `now - STALE_AFTER`.
    pub fn expire(&mut self, now: Micros) {
        if let Some(i) = self.done.take() {
            self.sessions.swap_remove(i);
        }
        let before = self.sessions.len();
        self.sessions
            .retain(|s| now.saturating_sub(s.last).unsigned_abs() <= STALE_AFTER as u64);
        self.stats.stale += (before - self.sessions.len()) as u64;
    }

    fn find(&self, source: u8, destination: u8) -> Option<usize> {
        self.sessions
            .iter()
            .position(|s| s.source == source && s.destination == destination)
    }

    fn control(&mut self, now: Micros, stamp: Micros, id: &CanId, data: &[u8]) {
        if data.len() < 8 {
            self.stats.invalid += 1;
            return;
        }
        let pgn = u32::from(data[5]) | (u32::from(data[6]) << 8) | (u32::from(data[7]) << 16);
        match data[0] {
            CM_BAM | CM_RTS => {
                let size = usize::from(u16::from_le_bytes([data[1], data[2]]));
                let packets = data[3];
                if !(9..=MAX_PAYLOAD).contains(&size) || usize::from(packets) != size.div_ceil(7) {
                    self.stats.invalid += 1;
                    return;
                }
                let destination = if data[0] == CM_BAM {
                    255
                } else {
                    id.destination
                };
                if let Some(i) = self.find(id.source, destination) {
                    self.sessions.swap_remove(i);
                    self.stats.aborted += 1;
                }
                if self.sessions.len() >= MAX_SESSIONS {
                    if let Some((i, _)) =
                        self.sessions.iter().enumerate().min_by_key(|(_, s)| s.last)
                    {
                        self.sessions.swap_remove(i);
                        self.stats.stale += 1;
                    }
                }
                self.sessions.push(Session {
                    source: id.source,
                    destination,
                    priority: id.priority,
                    pgn,
                    size,
                    packets,
                    mask: [0; 4],
                    announced: stamp,
                    last: now,
                    buf: vec![0xFF; usize::from(packets) * 7],
                });
                if data[0] == CM_RTS && Some(id.destination) == self.own_address {
                    // Clear to send every packet at once, from packet 1.
                    let cts = [CM_CTS, packets, 1, 0xFF, 0xFF, data[5], data[6], data[7]];
                    self.queue(now, id.destination, id.source, &cts);
                }
            }
            CM_ABORT => {
                // Either side may abort; the session is keyed by the data sender.
                let key = [(id.source, id.destination), (id.destination, id.source)];
                if let Some(i) = key.iter().find_map(|&(s, d)| self.find(s, d)) {
                    self.sessions.swap_remove(i);
                    self.stats.aborted += 1;
                }
            }
            _ => {} // CTS and EOM between other nodes: nothing to reassemble.
        }
    }

    fn data(&mut self, now: Micros, id: &CanId, data: &[u8]) -> Option<Completed<'_>> {
        let Some(i) = self.find(id.source, id.destination) else {
            self.stats.invalid += 1;
            return None;
        };
        let s = &mut self.sessions[i];
        let n = data.first().copied().unwrap_or(0);
        if n == 0 || n > s.packets || data.len() < 2 {
            self.stats.invalid += 1;
            return None;
        }
        let start = usize::from(n - 1) * 7;
        let len = (data.len() - 1).min(7);
        s.buf[start..start + len].copy_from_slice(&data[1..1 + len]);
        s.mask[usize::from(n) / 64] |= 1 << (n % 64);
        s.last = now;
        let all = (1..=s.packets).all(|k| s.mask[usize::from(k) / 64] & (1 << (k % 64)) != 0);
        if !all {
            return None;
        }
        self.stats.completed += 1;
        let (source, destination, size, packets, pgn) =
            (s.source, s.destination, s.size, s.packets, s.pgn);
        if destination != 255 && Some(destination) == self.own_address {
            let eom = [
                CM_EOM,
                size as u8,
                (size >> 8) as u8,
                packets,
                0xFF,
                pgn as u8,
                (pgn >> 8) as u8,
                (pgn >> 16) as u8,
            ];
            self.queue(now, destination, source, &eom);
        }
        self.done = Some(i);
        let s = &self.sessions[i];
        Some(Completed {
            timestamp: s.announced,
            id: CanId {
                priority: s.priority,
                pgn: s.pgn,
                source: s.source,
                destination: s.destination,
            },
            data: &s.buf[..s.size],
        })
    }

    fn queue(&mut self, now: Micros, from: u8, to: u8, data: &[u8; 8]) {
        let id = CanId {
            priority: 7,
            pgn: PGN_TP_CM,
            source: from,
            destination: to,
        };
        if let (Ok(raw), true) = (id.to_raw(), self.outbox.len() < 64) {
            self.outbox.push(Frame::new(now, raw, data));
        }
    }
}

/// The frames of a BAM broadcast of `payload` (9–1785 bytes) as PGN `pgn`: one TP.CM
/// followed by the TP.DT packets, as (PGN, data) pairs to be sent from one source to 255.
pub fn bam_frames(pgn: u32, payload: &[u8]) -> Option<Vec<(u32, [u8; 8])>> {
    if payload.len() < 9 || payload.len() > MAX_PAYLOAD {
        return None;
    }
    let packets = payload.len().div_ceil(7);
    let size = payload.len() as u16;
    let [s0, s1] = size.to_le_bytes();
    let mut out = Vec::with_capacity(packets + 1);
    out.push((
        PGN_TP_CM,
        [
            CM_BAM,
            s0,
            s1,
            packets as u8,
            0xFF,
            pgn as u8,
            (pgn >> 8) as u8,
            (pgn >> 16) as u8,
        ],
    ));
    for (k, chunk) in payload.chunks(7).enumerate() {
        let mut d = [0xFF; 8];
        d[0] = k as u8 + 1;
        d[1..1 + chunk.len()].copy_from_slice(chunk);
        out.push((PGN_TP_DT, d));
    }
    Some(out)
}
