//! PGN definitions and the decoder that walks them.
//!
//! The definitions live in `pgn-defs/` as data and are compiled into static tables by
//! `build.rs`; [`select`] finds the definition that applies to a message (proprietary
//! PGNs have variants told apart by match fields), [`decode::walk`] decodes it.

mod bits;
pub mod decode;
pub mod defs;
pub mod encode;
mod tables;

pub use decode::{walk, Missing, Text, Value, Visitor};
pub use defs::{FieldDef, FieldKind, PgnDef, Transport};
pub use encode::{build, encode, EncodeError, Put};
/// Definition ids as constants (`def::NMEA_COMMAND_GROUP_FUNCTION`).
pub use tables::def;
/// Field ids as constants, one per id any definition has (`field::WATER_TEMPERATURE`).
pub use tables::field;

use std::sync::OnceLock;

/// Every definition, sorted by PGN.
pub fn all() -> &'static [PgnDef] {
    tables::PGNS
}

/// The PGN numbers of [`all`], in the same order: a compact array to search.
fn index() -> &'static [u32] {
    static INDEX: OnceLock<Vec<u32>> = OnceLock::new();
    INDEX.get_or_init(|| tables::PGNS.iter().map(|d| d.pgn).collect())
}

/// The definitions (variants) of one PGN, fallbacks included, in definition order.
pub fn variants(pgn: u32) -> &'static [PgnDef] {
    let idx = index();
    let lo = idx.partition_point(|&p| p < pgn);
    // A PGN has a few definitions at most: counting them beats a second search.
    let hi = lo + idx[lo..].iter().take_while(|&&p| p == pgn).count();
    &tables::PGNS[lo..hi]
}

/// The catch-all definition for a PGN without a definition of its own.
///
/// This is canboat's choice: the last catch-all met while walking the sorted table up
/// to and including the first definition above `pgn`. It is the range's catch-all,
/// except just below a range start, where the next range's catch-all wins (canboat
/// decodes 130762, in the mixed range, as a 0x1FF00 manufacturer PGN).
/// PGNs above 0x3FFFF have no range (they fit no 29-bit identifier) and so no
/// catch-all.
pub fn range_fallback(pgn: u32) -> Option<&'static PgnDef> {
    if pgn > 0x3_FFFF {
        return None;
    }
    let above = index().partition_point(|&p| p <= pgn);
    let end = (above + 1).min(tables::PGNS.len());
    tables::PGNS[..end].iter().rev().find(|d| d.fallback)
}

/// The definition that applies to `payload` of `pgn`: the first variant whose match
/// fields all match, else the PGN's own fallback, else its range's fallback.
pub fn select(pgn: u32, payload: &[u8]) -> Option<&'static PgnDef> {
    let vs = variants(pgn);
    let mut fallback = None;
    for d in vs {
        if d.fallback {
            fallback.get_or_insert(d);
            continue;
        }
        if matches(d, payload) {
            return Some(d);
        }
    }
    fallback.or_else(|| range_fallback(pgn))
}

/// Whether every match field of `def` holds its value in `payload`.
fn matches(def: &PgnDef, payload: &[u8]) -> bool {
    if !def.has_match {
        return true;
    }
    let mut pos = 0usize;
    for f in def.fields {
        let Some(bits) = f.bits else {
            // Match fields after a variable-length field cannot be checked.
            return def
                .fields
                .iter()
                .skip_while(|g| !std::ptr::eq(*g, f))
                .all(|g| g.match_value.is_none());
        };
        let bits = usize::from(bits);
        if let Some(want) = f.match_value {
            match bits::read(payload, pos, bits) {
                Some(v) if v == want => {}
                _ => return false,
            }
        }
        pos += bits;
    }
    true
}

/// A PGN's own first definition (not a range's catch-all).
pub fn definition(pgn: u32) -> Option<&'static PgnDef> {
    variants(pgn).iter().find(|d| !d.fallback)
}

/// The definition of `pgn` whose id is `id` ([`def`]): one of a PGN's variants,
/// e.g. one group function of 126208.
pub fn variant(pgn: u32, id: &str) -> Option<&'static PgnDef> {
    variants(pgn).iter().find(|d| d.id == id)
}

/// The description of a PGN's first definition, e.g. "Fluid Level".
pub fn describe(pgn: u32) -> Option<&'static str> {
    definition(pgn)
        .or(variants(pgn).first())
        .map(|d| d.description)
}

/// Names for the values of the NAME fields, from the lookup tables of `pgn-defs/`.
pub mod lookups {
    use super::tables;

    /// The manufacturer's name for a manufacturer code, e.g. 229 → "Garmin".
    pub fn manufacturer(code: u16) -> Option<&'static str> {
        tables::LOOKUP_MANUFACTURER_CODE.get(u64::from(code))
    }

    /// The device class's name, e.g. 60 → "Navigation".
    pub fn device_class(class: u8) -> Option<&'static str> {
        tables::LOOKUP_DEVICE_CLASS.get(u64::from(class))
    }

    /// The device function's name; functions are numbered per class.
    pub fn device_function(class: u8, function: u8) -> Option<&'static str> {
        tables::INDIRECT_DEVICE_FUNCTION.get(u64::from(class), u64::from(function))
    }
}
