//! The fields of one decoded message, by id, as the mapper needs them: physical
//! numbers in the decoder's units (V, A, K, %, rad, m/s, Pa, s), lookup codes, or
//! nothing where the sender said "not available", "out of range" or "reserved".
//!
//! One `Fields` is reused for every message, so mapping allocates nothing per frame
//! once its buffer has grown to the longest message.

use crate::pgn::{self, FieldDef, FieldKind, Value as Raw, Visitor};

/// One field's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// A number in the field's unit (raw × resolution).
    Real(f64),
    /// A lookup's code.
    Code(u64),
    /// No value: a sentinel, or a kind the mapper does not read.
    Missing,
}

impl Num {
    /// The number, if there is one.
    pub fn real(self) -> Option<f64> {
        match self {
            Num::Real(x) => Some(x),
            _ => None,
        }
    }

    /// The code (or a whole number), if there is one.
    pub fn code(self) -> Option<u64> {
        match self {
            Num::Code(c) => Some(c),
            Num::Real(x) if x >= 0.0 && x.fract() == 0.0 => Some(x as u64),
            _ => None,
        }
    }
}

/// One decoded field: which repetition of a repeating set it belongs to (0 outside
/// any set, 1 for the first repetition), its id and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    pub item: u16,
    pub id: &'static str,
    pub value: Num,
}

/// The decoded fields of one message.
#[derive(Debug, Default)]
pub struct Fields {
    list: Vec<Field>,
    item: u16,
    in_list: bool,
}

impl Fields {
    /// Decodes `data` of `pgn` into this buffer; false when no definition applies.
    pub fn decode(&mut self, pgn: u32, data: &[u8]) -> bool {
        self.list.clear();
        self.item = 0;
        self.in_list = false;
        let Some(def) = pgn::select(pgn, data) else {
            return false;
        };
        if def.fallback {
            return false;
        }
        pgn::walk(def, data, self);
        true
    }

    /// The first field `id` outside repeating sets (or in the first repetition).
    pub fn get(&self, id: &str) -> Num {
        self.list
            .iter()
            .find(|f| f.id == id)
            .map_or(Num::Missing, |f| f.value)
    }

    /// Field `id` of repetition `item` (1-based).
    pub fn get_in(&self, item: u16, id: &str) -> Num {
        self.list
            .iter()
            .find(|f| f.item == item && f.id == id)
            .map_or(Num::Missing, |f| f.value)
    }

    /// How many repetitions the message's repeating set had.
    pub fn items(&self) -> u16 {
        self.list.iter().map(|f| f.item).max().unwrap_or(0)
    }
}

impl Visitor for Fields {
    fn field(&mut self, f: &FieldDef, value: Raw<'_>) {
        let num = match value {
            Raw::Number(raw) | Raw::Duration(raw) | Raw::Time(raw) => {
                if reserved(f, raw) {
                    Num::Missing
                } else {
                    Num::Real(raw as f64 * f.resolution)
                }
            }
            Raw::Float(x) => Num::Real(f64::from(x)),
            Raw::Lookup(code, _) => Num::Code(code),
            // Status words (127489's discrete status): the bits as one code.
            Raw::Bits(bits) => Num::Code(bits),
            Raw::Date(d) => Num::Real(d as f64),
            _ => Num::Missing,
        };
        let item = if self.in_list { self.item } else { 0 };
        self.list.push(Field {
            item,
            id: f.id.as_str(),
            value: num,
        });
    }

    fn begin_list(&mut self, _set: usize) {
        self.in_list = true;
        self.item = 0;
    }

    fn begin_item(&mut self) {
        self.item = self.item.saturating_add(1);
    }

    fn end_list(&mut self) {
        self.in_list = false;
    }
}

/// The "reserved" sentinel of a plain number field, which canboat still prints but
/// which carries no measurement (docs/venus-services.md#mapping-rules (rule 3)).
fn reserved(f: &FieldDef, raw: i64) -> bool {
    if f.kind != FieldKind::Number || f.offset != 0 {
        return false;
    }
    let Some(rsv) = f.reserved else {
        return false;
    };
    let bits = f.bits.map_or(64, u32::from).min(64);
    let mask = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    (raw as u64) & mask == rsv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn battery_status_fields_in_their_units() {
        // 127508: instance 1, 13.55 V, -4.2 A, 298.15 K, SID 0.
        let data = [0x01, 0x4B, 0x05, 0xD6, 0xFF, 0x77, 0x74, 0x00];
        let mut f = Fields::default();
        assert!(f.decode(127508, &data));
        assert_eq!(f.get("instance").code(), Some(1));
        assert!((f.get("voltage").real().unwrap() - 13.55).abs() < 1e-9);
        assert!((f.get("current").real().unwrap() + 4.2).abs() < 1e-9);
        assert!((f.get("temperature").real().unwrap() - 298.15).abs() < 1e-9);
    }

    #[test]
    fn sentinels_and_reserved_are_missing() {
        // 127505: instance 0, fuel; level reserved (0x7FFD), capacity not available.
        let data = [0x00, 0xFD, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let mut f = Fields::default();
        assert!(f.decode(127505, &data));
        assert_eq!(f.get("level"), Num::Missing);
        assert_eq!(f.get("capacity"), Num::Missing);
        assert_eq!(f.get("type"), Num::Code(0));
    }

    #[test]
    fn bit_fields_are_codes() {
        // 127489 (canboat's layout): engine 0, status 1 = 0x0004 (low oil
        // pressure), status 2 = 0; the rest not available.
        let mut data = vec![0x00];
        data.extend([0xFF; 19]);
        data.extend([0x04, 0x00, 0x00, 0x00, 0x7F, 0x7F]);
        let mut f = Fields::default();
        assert!(f.decode(127489, &data));
        assert_eq!(f.get("discreteStatus1"), Num::Code(4));
        assert_eq!(f.get("discreteStatus2"), Num::Code(0));
    }

    #[test]
    fn repeating_sets_are_numbered() {
        // 127504: instance 0, 2 lines; line 0 230.00 V, line 1 231.00 V.
        let mut data = vec![0x00, 0x02];
        for (line, v) in [(0u8, 23000u16), (1, 23100)] {
            data.push(line);
            data.extend_from_slice(&v.to_le_bytes());
            data.extend_from_slice(&[0xFF; 15]);
        }
        let mut f = Fields::default();
        assert!(f.decode(127504, &data));
        assert_eq!(f.items(), 2);
        assert_eq!(f.get_in(2, "line").code(), Some(1));
        assert!((f.get_in(2, "voltage").real().unwrap() - 231.0).abs() < 1e-9);
    }
}
