//! A hostile bus: random sources, random NAMEs claiming random addresses, requests,
//! partial fast packets and transport sessions, random PGNs. Shared by the robustness
//! test and the core benchmark.

use n2k_dbus::can::{CanId, Frame, Micros};

/// xorshift64*: deterministic, so a failure is a replayable input.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn id(rng: &mut Rng, pgn: u32, destination: u8) -> u32 {
    let c = CanId {
        priority: rng.below(8) as u8,
        pgn,
        source: rng.below(256) as u8,
        destination,
    };
    c.to_raw().unwrap_or(0x18EE_FF00)
}

/// One frame of the flood, at `t`.
pub fn frame(rng: &mut Rng, t: Micros) -> Frame {
    let mut data = rng.next().to_le_bytes();
    let kind = rng.below(100);
    let (raw, len) = match kind {
        0..=9 => (id(rng, 60928, 255), 8),
        10..=14 => {
            let pgn = [60928u32, 126996, 126998, 126464, 126993, 130312][rng.below(6) as usize];
            data[..3].copy_from_slice(&pgn.to_le_bytes()[..3]);
            let dst = rng.below(256) as u8;
            (id(rng, 59904, dst), 3)
        }
        15..=24 => {
            let pgn = [126996u32, 126998, 126993][rng.below(3) as usize];
            (id(rng, pgn, 255), 8)
        }
        25..=27 => {
            let pgn = [60416u32, 60160][rng.below(2) as usize];
            let dst = rng.below(256) as u8;
            (id(rng, pgn, dst), 8)
        }
        _ => ((rng.next() as u32) & 0x1FFF_FFFF, rng.below(9) as usize),
    };
    Frame::new(t, raw, &data[..len])
}
