//! DVCC on the bus service: the `/Link/*` paths dbus-systemcalc-py writes to every
//! `com.victronenergy.vecan.<if>` service, each put on the bus as the link register
//! Victron chargers follow (`docs/vecan-products.md#dvcc`), broadcast from the gateway's
//! address and repeated every [`REPEAT`] while the value is valid — the chargers drop
//! a link value 60 s after its last frame — and no longer once it is invalidated.
//!
//! Which register carries which path is the project's reading of the register
//! definitions and systemcalc (inferred in the docs); each row cites it. Paths
//! without a known register (`/Link/Soc`, `/Link/ChargeVoltageSolarOffset`) are kept
//! and shown, and not sent.

use std::collections::BTreeMap;

use crate::can::Micros;
use crate::model::Value;
use crate::vreg::registers;

/// How often a valid link value is broadcast again.
pub const REPEAT: Micros = 5_000_000;

/// One `/Link/*` path of the bus service.
#[derive(Debug, Clone, Copy)]
pub struct LinkPath {
    pub path: &'static str,
    /// The register broadcast, when one is known.
    pub register: Option<u16>,
    pub source: &'static str,
}

const fn row(path: &'static str, register: Option<u16>, source: &'static str) -> LinkPath {
    LinkPath {
        path,
        register,
        source,
    }
}

/// The paths systemcalc writes and their registers.
pub static LINK: &[LinkPath] = &[
    row(
        "/Link/ChargeVoltage",
        Some(0x2001),
        "dvcc.py 1537-1547 → 0x2001 charge voltage set-point [inferred], docs/vecan-products.md#dvcc",
    ),
    row(
        "/Link/ChargeCurrent",
        Some(0x2015),
        "issue 16 path list → 0x2015 charge current limit [inferred]",
    ),
    row(
        "/Link/NetworkMode",
        Some(0x200E),
        "dvcc.py 1509-1535 → 0x200E network mode, same bits [verified bits, inferred register]",
    ),
    row(
        "/Link/VoltageSense",
        Some(0x2002),
        "batterysense.py 306-309 → 0x2002 battery sense voltage [inferred]",
    ),
    row(
        "/Link/TemperatureSense",
        Some(0x2003),
        "batterysense.py 398-402 → 0x2003 battery sense temperature [inferred]",
    ),
    row(
        "/Link/BatteryCurrent",
        Some(0x200A),
        "batterysense.py 345-349 → 0x200A battery current [inferred]",
    ),
    row(
        "/Link/ExtraBatteryCurrent",
        Some(0x201C),
        "socsync.py 74-80 → 0x201C extra battery current [inferred; canboat sample shows it broadcast]",
    ),
    row(
        "/Link/Soc",
        None,
        "socsync.py 45-57; no link register for it in the 2022 definitions: kept, not sent",
    ),
    row(
        "/Link/ChargeVoltageSolarOffset",
        None,
        "no writer found in systemcalc, no register known: kept, not sent",
    ),
];

/// The link values and when each is broadcast next.
#[derive(Debug, Default)]
pub struct Link {
    values: BTreeMap<&'static str, Value>,
    due: BTreeMap<u16, (Vec<u8>, Micros)>,
}

impl Link {
    /// The shown value of `path` (invalid until written).
    pub fn value(&self, path: &str) -> Value {
        self.values.get(path).cloned().unwrap_or(Value::Invalid)
    }

    /// A client wrote `value` to `path` at `now`: a valid value is broadcast at
    /// once and then repeated; an invalid one stops it. `false`: not a link path,
    /// or a value its register cannot carry.
    pub fn set(&mut self, now: Micros, path: &str, value: &Value) -> bool {
        let Some(row) = LINK.iter().find(|r| r.path == path) else {
            return false;
        };
        let x = match value {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            Value::Invalid => None,
            Value::Text(_) | Value::EmptyList => return false,
        };
        if let Some(reg) = row.register {
            match x {
                Some(x) => match encode(reg, x) {
                    Some(bytes) => {
                        self.due.insert(reg, (bytes, now));
                    }
                    None => return false,
                },
                None => {
                    self.due.remove(&reg);
                }
            }
        }
        self.values.insert(row.path, value.clone());
        true
    }

    /// The registers to broadcast at `now`, each then scheduled [`REPEAT`] later.
    pub fn due(&mut self, now: Micros) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        for (&reg, (bytes, at)) in &mut self.due {
            if *at <= now {
                out.push((reg, bytes.clone()));
                *at = now + REPEAT;
            }
        }
        out
    }

    /// When [`Link::due`] has something next.
    pub fn next_wake(&self) -> Option<Micros> {
        self.due.values().map(|(_, at)| *at).min()
    }
}

/// `x` in the register's unit as the register's bytes (see [`RegisterDef::encode`]).
///
/// [`RegisterDef::encode`]: crate::vreg::RegisterDef::encode
pub fn encode(register: u16, x: f64) -> Option<Vec<u8>> {
    registers::lookup(register)?.encode(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_values_encode_as_their_registers() {
        // 0x2001 u16 0.01 V; 0x2003 s16 0.01 °C; 0x200A s32 mA; 0x200E u8.
        assert_eq!(encode(0x2001, 14.2), Some(vec![0x8C, 0x05]));
        assert_eq!(encode(0x2003, -5.5), Some((-550i16).to_le_bytes().to_vec()));
        assert_eq!(
            encode(0x200A, -2.8),
            Some((-2800i32).to_le_bytes().to_vec())
        );
        assert_eq!(encode(0x200E, 5.0), Some(vec![5]));
        assert_eq!(encode(0x200E, 300.0), None);
        assert_eq!(encode(0x2001, 655.35), None, "0xFFFF is not available");
        assert_eq!(encode(0x2001, f64::NAN), None);
    }

    #[test]
    fn a_valid_value_repeats_until_invalidated() {
        let mut l = Link::default();
        assert!(l.set(0, "/Link/ChargeVoltage", &Value::Real(14.2)));
        assert_eq!(l.due(0), vec![(0x2001, vec![0x8C, 0x05])]);
        assert!(l.due(REPEAT - 1).is_empty());
        assert_eq!(l.due(REPEAT).len(), 1);
        assert!(l.set(REPEAT + 1, "/Link/ChargeVoltage", &Value::Invalid));
        assert_eq!(l.next_wake(), None);
        assert_eq!(l.value("/Link/ChargeVoltage"), Value::Invalid);
        // Kept, shown, not sent.
        assert!(l.set(0, "/Link/Soc", &Value::Real(80.0)));
        assert_eq!(l.next_wake(), None);
        assert_eq!(l.value("/Link/Soc"), Value::Real(80.0));
        assert!(!l.set(0, "/Link/Unknown", &Value::Real(1.0)));
    }
}
