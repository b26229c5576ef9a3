//! NMEA 2000 fast packet: up to 223 bytes in up to 32 frames.
//!
//! Frame 0 carries `seq << 5`, the total length and 6 bytes; frame k carries
//! `seq << 5 | k` and 7 more. Reassembly is keyed by (source, PGN, destination,
//! sequence counter), so interleaved messages and senders do not mix. Frames are
//! accepted in any order (some gateways reorder them), as canboat accepts them: a
//! bitmask records which frames arrived and frame 0 says how many are needed. A frame
//! index seen twice starts the message over, and so does a frame 0 that would complete
//! at once a body held from before (the leftovers of a burst whose frame 0 was lost). Partial messages that make no progress
//! for [`STALE_AFTER`] are dropped, and the number of partial messages is bounded.

use crate::can::{CanId, Micros};

/// The largest fast-packet payload: 6 + 31 × 7 bytes.
pub const MAX_PAYLOAD: usize = 223;

/// A partial message without a new frame for this long is dropped (µs).
pub const STALE_AFTER: Micros = 750_000;

/// How many partial messages are kept at most; the oldest is dropped beyond that.
pub const DEFAULT_SLOTS: usize = 64;

/// Counters of what reassembly had to drop, for diagnostics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FastPacketStats {
    /// Messages completed.
    pub completed: u64,
    /// Partial messages restarted because a frame index came twice.
    pub restarted: u64,
    /// Partial messages dropped for lack of progress.
    pub stale: u64,
    /// Partial messages dropped to make room.
    pub evicted: u64,
    /// Frames that could not belong to any message (bad length or index).
    pub invalid: u64,
}

#[derive(Clone)]
struct Slot {
    key: u64,
    /// Timestamp of the last frame added.
    last: Micros,
    /// Total length from frame 0, once frame 0 arrived.
    size: Option<u8>,
    /// Bit k set: frame k arrived.
    mask: u32,
    buf: [u8; MAX_PAYLOAD],
}

/// Reassembles fast-packet frames into messages.
pub struct FastPacketAssembler {
    slots: Vec<Slot>,
    max_slots: usize,
    stats: FastPacketStats,
    /// The slot that completed last; its buffer is what `push` returned.
    done: Option<usize>,
}

impl Default for FastPacketAssembler {
    fn default() -> Self {
        Self::new(DEFAULT_SLOTS)
    }
}

/// How many frames a payload of `size` bytes takes.
pub fn frame_count(size: usize) -> usize {
    if size <= 6 {
        1
    } else {
        1 + (size - 6).div_ceil(7)
    }
}

fn key(id: &CanId, seq: u8) -> u64 {
    (u64::from(id.pgn) << 24)
        | (u64::from(id.source) << 16)
        | (u64::from(id.destination) << 8)
        | u64::from(seq)
}

impl FastPacketAssembler {
    /// An assembler that keeps at most `max_slots` partial messages.
    pub fn new(max_slots: usize) -> Self {
        FastPacketAssembler {
            slots: Vec::with_capacity(max_slots.min(256)),
            max_slots: max_slots.max(1),
            stats: FastPacketStats::default(),
            done: None,
        }
    }

    /// What reassembly has done so far.
    pub fn stats(&self) -> FastPacketStats {
        self.stats
    }

    /// Adds one frame; returns the payload when it completes a message.
    pub fn push(&mut self, now: Micros, id: &CanId, data: &[u8]) -> Option<&[u8]> {
        if let Some(i) = self.done.take() {
            self.slots.swap_remove(i);
        }
        let Some(&first) = data.first() else {
            self.stats.invalid += 1;
            return None;
        };
        let seq = first >> 5;
        let index = usize::from(first & 0x1F);
        let k = key(id, seq);
        let pos = match self.slots.iter().position(|s| s.key == k) {
            Some(p) => {
                let s = &mut self.slots[p];
                if now.saturating_sub(s.last).unsigned_abs() > STALE_AFTER as u64 {
                    self.stats.stale += 1;
                    s.reset(now);
                } else if s.mask & (1 << index) != 0 {
                    self.stats.restarted += 1;
                    s.reset(now);
                }
                p
            }
            None => self.open(k, now),
        };
        let slot = &mut self.slots[pos];
        slot.last = now;
        if index == 0 {
            let Some(&size) = data.get(1) else {
                self.stats.invalid += 1;
                self.slots.swap_remove(pos);
                return None;
            };
            if usize::from(size) > MAX_PAYLOAD
                || slot
                    .mask
                    .checked_shr(frame_count(usize::from(size)) as u32)
                    .unwrap_or(0)
                    != 0
            {
                self.stats.invalid += 1;
                self.slots.swap_remove(pos);
                return None;
            }
            // Frames held before frame 0 are either a reordered burst (more frames to
            // come) or the body of an earlier burst whose frame 0 was lost. Only the
            // latter completes the instant frame 0 lands: then start over.
            let full = u32::MAX >> (32 - frame_count(usize::from(size)));
            if slot.mask != 0 && (slot.mask | 1) == full {
                self.stats.restarted += 1;
                slot.reset(now);
            }
            slot.size = Some(size);
            let n = (data.len() - 2).min(6).min(usize::from(size));
            slot.buf[..n].copy_from_slice(&data[2..2 + n]);
        } else {
            let start = 6 + (index - 1) * 7;
            if slot
                .size
                .is_some_and(|s| index >= frame_count(usize::from(s)))
            {
                self.stats.invalid += 1;
                return None;
            }
            let n = (data.len() - 1).min(7).min(MAX_PAYLOAD - start);
            slot.buf[start..start + n].copy_from_slice(&data[1..1 + n]);
        }
        slot.mask |= 1 << index;
        let size = usize::from(slot.size?);
        let need = frame_count(size);
        if slot.mask != (u32::MAX >> (32 - need)) {
            return None;
        }
        self.stats.completed += 1;
        self.done = Some(pos);
        Some(&self.slots[pos].buf[..size])
    }

    /// Drops partial messages that made no progress since `now - STALE_AFTER`.
    pub fn expire(&mut self, now: Micros) {
        if let Some(i) = self.done.take() {
            self.slots.swap_remove(i);
        }
        let before = self.slots.len();
        self.slots
            .retain(|s| now.saturating_sub(s.last).unsigned_abs() <= STALE_AFTER as u64);
        self.stats.stale += (before - self.slots.len()) as u64;
    }

    /// Number of partial messages held.
    pub fn pending(&self) -> usize {
        self.slots.len() - usize::from(self.done.is_some())
    }

    fn open(&mut self, key: u64, now: Micros) -> usize {
        if self.slots.len() >= self.max_slots {
            // Make room: drop the partial message that waited longest.
            if let Some((oldest, _)) = self.slots.iter().enumerate().min_by_key(|(_, s)| s.last) {
                self.slots.swap_remove(oldest);
                self.stats.evicted += 1;
            }
        }
        self.slots.push(Slot {
            key,
            last: now,
            size: None,
            mask: 0,
            buf: [0xFF; MAX_PAYLOAD],
        });
        self.slots.len() - 1
    }
}

impl Slot {
    fn reset(&mut self, now: Micros) {
        self.last = now;
        self.size = None;
        self.mask = 0;
        self.buf = [0xFF; MAX_PAYLOAD];
    }
}

/// Splits `payload` (at most 223 bytes) into the 8-byte frames of one fast-packet
/// message with sequence counter `seq` (0–7); the last frame is padded with 0xFF.
pub fn fragment(seq: u8, payload: &[u8]) -> Option<Vec<[u8; 8]>> {
    if payload.len() > MAX_PAYLOAD {
        return None;
    }
    let seq = (seq & 7) << 5;
    let mut frames = Vec::with_capacity(frame_count(payload.len()));
    let mut f = [0xFF; 8];
    f[0] = seq;
    f[1] = payload.len() as u8;
    let n = payload.len().min(6);
    f[2..2 + n].copy_from_slice(&payload[..n]);
    frames.push(f);
    for (k, chunk) in payload[n..].chunks(7).enumerate() {
        let mut f = [0xFF; 8];
        f[0] = seq | (k as u8 + 1);
        f[1..1 + chunk.len()].copy_from_slice(chunk);
        frames.push(f);
    }
    Some(frames)
}
