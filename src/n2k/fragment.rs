//! A message as the frames that carry it on the bus: the one transmit-side rule, used
//! by the core when it sends and by `convert` when it turns a capture of reassembled
//! messages back into frames.
//!
//! - a fast-packet PGN (by the PGN database): fast-packet frames, at most 223 bytes;
//! - anything else of at most 8 bytes: one frame;
//! - anything else of 9 … 1785 bytes: an ISO TP broadcast (BAM: TP.CM, then TP.DT),
//!   from the message's source to the global address, at the message's priority. (An
//!   addressed message of that size would need a connection, RTS/CTS, with its
//!   receiver answering; as a broadcast its destination is not carried.)

use super::{fast_packet, is_fast_packet, iso_tp};
use crate::can::{CanId, Frame, Micros};

/// The frames of a message. `fast_seq` is the fast-packet sequence counter (0–7)
/// the sender keeps per PGN. `None`: the message cannot be sent (too long, or an
/// identifier that does not encode).
pub fn frames(now: Micros, id: CanId, payload: &[u8], fast_seq: u8) -> Option<Vec<Frame>> {
    let raw = id.to_raw().ok()?;
    if is_fast_packet(id.pgn) {
        let frames = fast_packet::fragment(fast_seq, payload)?;
        return Some(frames.iter().map(|f| Frame::new(now, raw, f)).collect());
    }
    if payload.len() <= 8 {
        return Some(vec![Frame::new(now, raw, payload)]);
    }
    let packets = iso_tp::bam_frames(id.pgn, payload)?;
    packets
        .into_iter()
        .map(|(pgn, data)| {
            let tp = CanId {
                priority: id.priority,
                pgn,
                source: id.source,
                destination: crate::can::id::BROADCAST,
            };
            Some(Frame::new(now, tp.to_raw().ok()?, &data))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::n2k::Assembler;

    fn id(pgn: u32) -> CanId {
        CanId {
            priority: 6,
            pgn,
            source: 35,
            destination: 255,
        }
    }

    /// Every kind of message comes back whole through reassembly.
    #[test]
    fn what_is_fragmented_reassembles_to_the_same_message() {
        let long: Vec<u8> = (0..40).collect();
        let cases: [(u32, &[u8], usize); 4] = [
            (127505, &[0x01, 0x10, 0x27, 0x20, 0x4E, 0, 0, 0xFF], 1), // single frame
            (126996, &long[..], 6),                                   // fast packet: 6 + 5 × 7 ≥ 40
            (129029, &long[..20], 3),
            (65280, &long[..12], 3), // single-frame PGN of 12 bytes: BAM, TP.CM + 2 TP.DT
        ];
        for (pgn, payload, count) in cases {
            let frames = frames(1_000, id(pgn), payload, 3).expect("frames");
            assert_eq!(frames.len(), count, "PGN {pgn}");
            let mut asm = Assembler::new();
            let got: Vec<(u32, Vec<u8>)> = frames
                .iter()
                .filter_map(|f| asm.on_frame(f).map(|m| (m.id.pgn, m.data.to_vec())))
                .collect();
            assert_eq!(got, [(pgn, payload.to_vec())], "PGN {pgn}");
        }
    }

    #[test]
    fn too_long_is_refused() {
        assert!(frames(0, id(126996), &[0; 224], 0).is_none());
        assert!(frames(0, id(65280), &[0; 1786], 0).is_none());
    }
}
