//! The register table and register values.
//!
//! The table is data: `vreg-defs/registers.def`, one row per register with its type,
//! scaling, not-available value and the source of those facts; `build.rs` validates
//! it and compiles it in. A register not in the table still travels (its bytes are
//! kept); it has no name or scaling.

include!(concat!(env!("OUT_DIR"), "/vreg_tables.rs"));

/// How a register's value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegKind {
    U8,
    U16,
    U32,
    S8,
    S16,
    S32,
    /// Zero-terminated text.
    Text,
    /// A layout of its own (identity records, VREQ, VACK): the bytes as they are.
    Raw,
}

impl RegKind {
    /// Bytes of a number type; `None` for text and raw.
    pub fn size(self) -> Option<usize> {
        match self {
            RegKind::U8 | RegKind::S8 => Some(1),
            RegKind::U16 | RegKind::S16 => Some(2),
            RegKind::U32 | RegKind::S32 => Some(4),
            RegKind::Text | RegKind::Raw => None,
        }
    }
}

/// One row of the register table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegisterDef {
    pub register: u16,
    /// camelCase name, for tables and logs.
    pub id: &'static str,
    pub kind: RegKind,
    /// Multiplies the raw number into `unit`.
    pub scale: f64,
    pub unit: &'static str,
    /// The raw value that means "not available".
    pub na: Option<u64>,
    /// Key into [`SOURCES`].
    pub source: &'static str,
    pub description: &'static str,
}

/// A register's value as read from its bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum RegValue {
    /// A number, scaled into the register's unit.
    Number(f64),
    Text(String),
    /// The register's not-available value.
    NotAvailable,
    /// Bytes without a known layout, or too few for the type.
    Bytes(Vec<u8>),
}

/// The table's row of `register`.
pub fn lookup(register: u16) -> Option<&'static RegisterDef> {
    REGISTERS
        .binary_search_by_key(&register, |r| r.register)
        .ok()
        .map(|i| &REGISTERS[i])
}

impl RegisterDef {
    /// The value `bytes` (little-endian, as on the bus) holds. Extra bytes after a
    /// number are padding (a single frame is always 8 bytes long).
    pub fn decode(&self, bytes: &[u8]) -> RegValue {
        let Some(size) = self.kind.size() else {
            return match self.kind {
                RegKind::Text => {
                    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                    RegValue::Text(String::from_utf8_lossy(&bytes[..end]).into_owned())
                }
                _ => RegValue::Bytes(bytes.to_vec()),
            };
        };
        let Some(raw) = bytes.get(..size) else {
            return RegValue::Bytes(bytes.to_vec());
        };
        let mut le = [0u8; 8];
        le[..size].copy_from_slice(raw);
        let unsigned = u64::from_le_bytes(le);
        if self.na == Some(unsigned) {
            return RegValue::NotAvailable;
        }
        let n = match self.kind {
            RegKind::S8 => f64::from(raw[0] as i8),
            RegKind::S16 => f64::from(i16::from_le_bytes([raw[0], raw[1]])),
            RegKind::S32 => f64::from(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])),
            _ => unsigned as f64,
        };
        RegValue::Number(n * self.scale)
    }

    /// The bytes of `value` (in the register's unit) for a write; `None` for text and
    /// raw registers, for a value the type cannot hold, and for the register's
    /// not-available value (not a value one may send).
    pub fn encode(&self, value: f64) -> Option<Vec<u8>> {
        let size = self.kind.size()?;
        let raw = (value / self.scale).round();
        if !raw.is_finite() {
            return None;
        }
        let (min, max) = match self.kind {
            RegKind::U8 => (0.0, f64::from(u8::MAX)),
            RegKind::U16 => (0.0, f64::from(u16::MAX)),
            RegKind::U32 => (0.0, f64::from(u32::MAX)),
            RegKind::S8 => (f64::from(i8::MIN), f64::from(i8::MAX)),
            RegKind::S16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
            _ => (f64::from(i32::MIN), f64::from(i32::MAX)),
        };
        if raw < min || raw > max {
            return None;
        }
        let bytes = (raw as i64).to_le_bytes()[..size].to_vec();
        let n = bytes
            .iter()
            .rev()
            .fold(0u64, |a, &b| (a << 8) | u64::from(b));
        if self.na == Some(n) {
            return None;
        }
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_every_source_is_defined() {
        assert!(REGISTERS.windows(2).all(|w| w[0].register < w[1].register));
        for r in REGISTERS {
            assert!(SOURCES.iter().any(|(k, _)| *k == r.source), "{}", r.id);
        }
        assert_eq!(lookup(0xEDD5).map(|r| r.id), Some("chargerVoltage"));
        assert_eq!(lookup(0x1234), None);
    }

    /// canboat's sample `victron-61184-vreg.raw`: `66 99 02 20 F8 04 00 00` is 12.72 V,
    /// `66 99 1C 20 10 F5 FF FF` is -2.800 A (docs/vecan-products.md#payload).
    #[test]
    fn values_decode_as_the_canboat_sample_shows() {
        let v = lookup(0x2002)
            .expect("0x2002")
            .decode(&[0xF8, 0x04, 0x00, 0x00]);
        assert!(
            matches!(v, RegValue::Number(x) if (x - 12.72).abs() < 1e-9),
            "{v:?}"
        );
        let a = lookup(0x201C)
            .expect("0x201C")
            .decode(&[0x10, 0xF5, 0xFF, 0xFF]);
        assert!(
            matches!(a, RegValue::Number(x) if (x + 2.8).abs() < 1e-9),
            "{a:?}"
        );
    }

    #[test]
    fn not_available_text_and_short_values() {
        let pv = lookup(0xEDBB).expect("pv voltage");
        assert_eq!(pv.decode(&[0xFF, 0xFF]), RegValue::NotAvailable);
        assert_eq!(pv.decode(&[0x01]), RegValue::Bytes(vec![0x01]));
        let current = lookup(0xEDD7).expect("charger current");
        assert!(
            matches!(current.decode(&[0x9C, 0xFF]), RegValue::Number(x) if (x + 10.0).abs() < 1e-9)
        );
        let model = lookup(0x010B).expect("model");
        assert_eq!(
            model.decode(b"SmartSolar\0\xFF"),
            RegValue::Text("SmartSolar".into())
        );
    }

    #[test]
    fn writes_encode_in_range_only() {
        let limit = lookup(0x2015).expect("charge current limit");
        assert_eq!(limit.encode(35.0), Some(vec![0x5E, 0x01]));
        assert_eq!(limit.encode(-1.0), None);
        assert_eq!(limit.encode(1e9), None);
        let battery = lookup(0x200A).expect("battery current");
        assert_eq!(battery.encode(-2.8), Some(vec![0x10, 0xF5, 0xFF, 0xFF]));
        assert_eq!(lookup(0x010B).expect("model").encode(1.0), None);
    }
}
