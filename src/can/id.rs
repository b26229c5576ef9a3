//! The 29-bit NMEA 2000 / J1939 identifier: priority, PGN, source and destination.
//!
//! Decoding uses both page bits (EDP and DP), as canboat and the kernel do; encoding
//! refuses a PDU1 (addressed) PGN whose low byte is not zero, because that byte is
//! where the destination goes.

use thiserror::Error;

/// The global (broadcast) destination address.
pub const BROADCAST: u8 = 255;

/// The parts of a 29-bit CAN identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CanId {
    /// 0 (highest) … 7 (lowest).
    pub priority: u8,
    /// Parameter group number, 0 … 0x3FFFF.
    pub pgn: u32,
    pub source: u8,
    /// The addressed node for PDU1 PGNs; [`BROADCAST`] for PDU2 PGNs.
    pub destination: u8,
}

/// Why an identifier cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("priority {0} is larger than 7")]
    Priority(u8),
    #[error("PGN {0} is larger than 0x3FFFF")]
    PgnRange(u32),
    #[error("PGN {0:#x} is addressed (PDU1) but its low byte is not zero")]
    Pdu1LowByte(u32),
}

/// Whether `pgn` is in a PDU1 (addressed) range: PDU format below 240.
pub fn is_pdu1(pgn: u32) -> bool {
    (pgn >> 8) & 0xFF < 240
}

/// Whether `pgn` lies in a manufacturer-proprietary range (0xEF00, 0xFF00–0xFFFF,
/// 0x1EF00, 0x1FF00–0x1FFFF).
pub fn is_proprietary(pgn: u64) -> bool {
    matches!(pgn, 0xEF00 | 0xFF00..=0xFFFF | 0x1EF00 | 0x1FF00..=0x1FFFF)
}

impl CanId {
    /// Splits a 29-bit identifier (higher bits are ignored).
    pub fn from_raw(raw: u32) -> CanId {
        let raw = raw & 0x1FFF_FFFF;
        let page = (raw >> 24) & 3;
        let pf = (raw >> 16) & 0xFF;
        let ps = ((raw >> 8) & 0xFF) as u8;
        let (pgn, destination) = if pf < 240 {
            ((page << 16) | (pf << 8), ps)
        } else {
            ((page << 16) | (pf << 8) | u32::from(ps), BROADCAST)
        };
        CanId {
            priority: ((raw >> 26) & 7) as u8,
            pgn,
            source: (raw & 0xFF) as u8,
            destination,
        }
    }

    /// Builds the 29-bit identifier.
    pub fn to_raw(self) -> Result<u32, IdError> {
        if self.priority > 7 {
            return Err(IdError::Priority(self.priority));
        }
        if self.pgn > 0x3FFFF {
            return Err(IdError::PgnRange(self.pgn));
        }
        let mut raw = (u32::from(self.priority) << 26) | (self.pgn << 8) | u32::from(self.source);
        if is_pdu1(self.pgn) {
            if self.pgn & 0xFF != 0 {
                return Err(IdError::Pdu1LowByte(self.pgn));
            }
            raw |= u32::from(self.destination) << 8;
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(p: u8, pgn: u32, s: u8, d: u8) -> CanId {
        CanId {
            priority: p,
            pgn,
            source: s,
            destination: d,
        }
    }

    #[test]
    fn worked_identifiers_from_the_protocol_reference() {
        let cases = [
            (0x18EEFF01, id(6, 60928, 0x01, 255)),
            (0x18EEFFFE, id(6, 60928, 0xFE, 255)),
            (0x18EAFFFE, id(6, 59904, 0xFE, 255)),
            (0x18EA1400, id(6, 59904, 0x00, 0x14)),
            (0x18E81D32, id(6, 59392, 0x32, 0x1D)),
            (0x0DED2300, id(3, 126208, 0x00, 0x23)),
            (0x19F0142B, id(6, 126996, 0x2B, 255)),
            (0x1DF0112D, id(7, 126993, 0x2D, 255)),
            (0x19F21401, id(6, 127508, 0x01, 255)),
            (0x15FD0823, id(5, 130312, 0x23, 255)),
            (0x09F80124, id(2, 129025, 0x24, 255)),
            (0x1CECFF10, id(7, 60416, 0x10, 255)),
            (0x1CEBFF10, id(7, 60160, 0x10, 255)),
            (0x18FED800, id(6, 65240, 0x00, 255)),
        ];
        for (raw, want) in cases {
            assert_eq!(CanId::from_raw(raw), want, "{raw:08X}");
            assert_eq!(want.to_raw(), Ok(raw), "{want:?}");
        }
    }

    #[test]
    fn both_page_bits_count() {
        // EDP set: PGN 0x2F801 would be lost by a DP-only decoder.
        let c = CanId::from_raw(0x0AF80124);
        assert_eq!(c.pgn, 0x2F801);
        assert_eq!(c.to_raw(), Ok(0x0AF80124));
    }

    #[test]
    fn refuses_bad_identifiers() {
        assert_eq!(
            id(6, 59905, 0, 0x14).to_raw(),
            Err(IdError::Pdu1LowByte(59905))
        );
        assert_eq!(id(8, 60928, 0, 255).to_raw(), Err(IdError::Priority(8)));
        assert_eq!(
            id(6, 0x40000, 0, 255).to_raw(),
            Err(IdError::PgnRange(0x40000))
        );
    }

    #[test]
    fn broadcast_pdu2_ignores_destination() {
        assert_eq!(id(2, 129025, 0x24, 0x10).to_raw(), Ok(0x09F80124));
    }

    #[test]
    fn proprietary_ranges() {
        for p in [61184u64, 65280, 65535, 126720, 130816, 131071] {
            assert!(is_proprietary(p), "{p}");
        }
        for p in [60928u64, 126208, 127508, 65279] {
            assert!(!is_proprietary(p), "{p}");
        }
    }
}
