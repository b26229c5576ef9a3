//! The mirror of [`walk`](super::walk): a payload built from a [`PgnDef`] and the
//! values of some of its fields, by field id.
//!
//! A field given no value, or a value its definition cannot carry (out of the
//! field's range, NaN, a negative number in an unsigned field), is sent as "data
//! not available" — all ones for an unsigned field, the highest positive code for
//! a signed one, the definition's own code where it names one — never as 0
//! (`docs/nmea2000.md#field-encoding`). Reserved and spare bits are all ones.
//! What a definition says about a field (bits, resolution, offset, range) is the
//! one source: the decoder reads back what the encoder writes, and a round-trip
//! test holds them together over every definition.

use super::defs::{Condition, FieldDef, FieldKind, PgnDef, RepeatSet};

/// A value for one field of a payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Put<'a> {
    /// A physical value in the field's unit (the definition's `unit`: K, V, A, W,
    /// rad, …): scaled by the resolution and offset, rounded.
    Value(f64),
    /// The field's raw code: instances, lookups, bit fields, PGNs, NAMEs.
    Raw(u64),
    /// Text for a string field.
    Text(&'a str),
    /// Bytes for a binary field (the low `bits` of them, least significant first).
    Bytes(&'a [u8]),
    /// "Data not available".
    Missing,
    /// The repetitions of a repeated set, given for the set's first field: each
    /// the values of one repetition by field id. The set's count field, where the
    /// definition has one, is their number unless given.
    Sets(&'a [&'a [(&'a str, Put<'a>)]]),
}

/// Why a payload cannot be built: the caller asked for something the definition
/// does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("PGN {0} has no definition of its own")]
    NoDefinition(u32),
    #[error("PGN {pgn} ({id}) has no field {field}")]
    NoField {
        pgn: u32,
        id: &'static str,
        field: String,
    },
    #[error("PGN {pgn} field {field}: a {kind:?} field cannot take that value")]
    WrongKind {
        pgn: u32,
        field: &'static str,
        kind: FieldKind,
    },
    #[error("PGN {pgn} field {field}: this variable-length field is not encoded, and a repeated field takes its values from `Put::Sets` on its set's first field")]
    Unsupported { pgn: u32, field: &'static str },
    #[error("PGN {pgn} field {field}: the value's type comes from field {parameter:?} of PGN {target:?}, which has no such field")]
    NoReferencedField {
        pgn: u32,
        field: &'static str,
        target: Option<u64>,
        parameter: Option<u64>,
    },
}

/// The payload of `pgn` by its own definition ([`super::definition`]), as
/// [`encode`] builds it.
pub fn build(pgn: u32, values: &[(&str, Put<'_>)]) -> Result<Vec<u8>, EncodeError> {
    let def = super::definition(pgn).ok_or(EncodeError::NoDefinition(pgn))?;
    encode(def, values)
}

/// The payload of `def` with `values` (field id → value); every other field not
/// available. Fast-packet and ISO definitions take the length their fields make;
/// a definition's fixed length pads the rest with 0xFF.
pub fn encode(def: &PgnDef, values: &[(&str, Put<'_>)]) -> Result<Vec<u8>, EncodeError> {
    check_ids(def, values)?;
    let given = |id: &str| values.iter().find(|(v, _)| *v == id).map(|v| v.1);
    let mut w = Writer {
        def,
        out: Vec::with_capacity(8),
        pos: 0,
        // A group function's commanded PGN, which types its values.
        target: def.fields.get(1).and_then(|f| match given(&f.id) {
            Some(Put::Raw(p)) => Some(p),
            _ => None,
        }),
    };
    for (i, f) in def.fields.iter().enumerate() {
        let order = i + 1;
        if let Some(r) = repeat_of(def, order) {
            match given(&f.id) {
                Some(Put::Sets(sets)) if order == usize::from(r.start) => {
                    for set in sets {
                        check_ids(def, set)?;
                        w.set(r, set)?;
                    }
                }
                Some(_) => return Err(w.unsupported(f)),
                None => {}
            }
            continue;
        }
        if f.condition == Some(Condition::PgnIsProprietary) {
            if given(&f.id).is_some() {
                return Err(w.unsupported(f));
            }
            continue;
        }
        let counted = def
            .repeat
            .iter()
            .flatten()
            .find(|r| usize::from(r.count) == order);
        let put = match (given(&f.id), counted) {
            (Some(Put::Sets(_)), _) => return Err(w.unsupported(f)),
            (Some(p), _) => p,
            // The number of repetitions given (none: zero).
            (None, Some(r)) => {
                let first = &def.fields[usize::from(r.start) - 1];
                match given(&first.id) {
                    Some(Put::Sets(sets)) => Put::Raw(sets.len() as u64),
                    _ => Put::Raw(0),
                }
            }
            // A variant's match field: the value that makes it this variant.
            (None, None) => f.match_value.map_or(Put::Missing, Put::Raw),
        };
        w.field(f, put)?;
    }
    let mut out = w.out;
    // The bits after the last field are reserved: ones.
    if w.pos % 8 != 0 {
        write_ones(&mut out, w.pos, 8 - w.pos % 8);
    }
    if let Some(len) = def.length.map(usize::from) {
        if out.len() < len {
            out.resize(len, 0xFF);
        }
    }
    Ok(out)
}

/// Refuses a field id `def` does not have.
fn check_ids(def: &PgnDef, values: &[(&str, Put<'_>)]) -> Result<(), EncodeError> {
    match values
        .iter()
        .find(|(id, _)| !def.fields.iter().any(|f| f.id == *id))
    {
        Some((id, _)) => Err(EncodeError::NoField {
            pgn: def.pgn,
            id: def.id,
            field: (*id).to_owned(),
        }),
        None => Ok(()),
    }
}

/// The repeated set field `order` (1-based) belongs to.
fn repeat_of(def: &PgnDef, order: usize) -> Option<&RepeatSet> {
    def.repeat.iter().flatten().find(|r| {
        let start = usize::from(r.start);
        (start..start + usize::from(r.size)).contains(&order)
    })
}

/// A payload being written, field after field.
struct Writer<'d> {
    def: &'d PgnDef,
    out: Vec<u8>,
    /// Bit position of the next field.
    pos: usize,
    /// The PGN a group function's values belong to (its second field).
    target: Option<u64>,
}

impl Writer<'_> {
    fn unsupported(&self, f: &FieldDef) -> EncodeError {
        EncodeError::Unsupported {
            pgn: self.def.pgn,
            field: f.id.as_str(),
        }
    }

    /// One repetition of set `r`: its fields in order, a field not given not
    /// available. A value typed by another PGN's field (a group function's) takes
    /// the type of the field the last field index names.
    fn set(&mut self, r: &RepeatSet, set: &[(&str, Put<'_>)]) -> Result<(), EncodeError> {
        let start = usize::from(r.start) - 1;
        let fields = &self.def.fields[start..start + usize::from(r.size)];
        let mut parameter = None;
        for f in fields {
            let put = set
                .iter()
                .find(|(id, _)| *id == f.id)
                .map_or(Put::Missing, |v| v.1);
            match (f.kind, put) {
                (_, Put::Sets(_)) => return Err(self.unsupported(f)),
                (FieldKind::Variable, put) => self.referenced(f, parameter, put)?,
                (FieldKind::FieldIndex, Put::Raw(n)) => {
                    parameter = Some(n);
                    self.field(f, put)?;
                }
                _ => self.field(f, put)?,
            }
        }
        Ok(())
    }

    /// A group function's value: field `parameter` of the commanded PGN, in whole
    /// bytes (the bits above the field's own are zero, as banks send them).
    fn referenced(
        &mut self,
        f: &FieldDef,
        parameter: Option<u64>,
        put: Put<'_>,
    ) -> Result<(), EncodeError> {
        let missing = EncodeError::NoReferencedField {
            pgn: self.def.pgn,
            field: f.id.as_str(),
            target: self.target,
            parameter,
        };
        let target = self
            .target
            .and_then(|p| u32::try_from(p).ok())
            .and_then(super::definition);
        let tf = match (target, parameter) {
            (Some(d), Some(n)) if n >= 1 => d.fields.get(n as usize - 1).ok_or(missing)?,
            _ => return Err(missing),
        };
        if self.pos % 8 != 0 {
            return Err(self.unsupported(f));
        }
        let Some(bits) = tf.bits.map(usize::from) else {
            return self.variable(tf, put);
        };
        self.field(tf, put)?;
        let pad = bits.div_ceil(8) * 8 - bits;
        write(&mut self.out, self.pos, pad, 0);
        self.pos += pad;
        Ok(())
    }

    /// Writes field `f` and moves past it.
    fn field(&mut self, f: &FieldDef, put: Put<'_>) -> Result<(), EncodeError> {
        use FieldKind as K;
        let wrong = || EncodeError::WrongKind {
            pgn: self.def.pgn,
            field: f.id.as_str(),
            kind: f.kind,
        };
        let Some(bits) = f.bits.map(usize::from) else {
            return self.variable(f, put);
        };
        let (out, pos) = (&mut self.out, self.pos);
        match (f.kind, put) {
            (K::Reserved | K::Spare, Put::Missing) => write_ones(out, pos, bits),
            (_, Put::Missing) if bits > 64 => write_ones(out, pos, bits),
            (K::Binary | K::Reserved | K::Spare, Put::Bytes(b)) => {
                for k in 0..bits {
                    let bit = b.get(k / 8).is_some_and(|byte| byte >> (k % 8) & 1 == 1);
                    write(out, pos + k, 1, u64::from(bit));
                }
            }
            (K::Binary, Put::Missing) => write_ones(out, pos, bits),
            (K::StringFix, Put::Text(t)) => {
                let bytes = t.as_bytes();
                for k in 0..bits / 8 {
                    // Padded with 0xFF, the first of the terminators a reader cuts at.
                    let c = bytes.get(k).copied().unwrap_or(0xFF);
                    write(out, pos + 8 * k, 8, u64::from(c));
                }
            }
            (K::StringFix | K::Decimal, Put::Missing) => write_ones(out, pos, bits),
            (K::Float, Put::Value(v)) if bits == 32 => {
                write(out, pos, 32, u64::from((v as f32).to_bits()))
            }
            (K::Float, Put::Missing) if bits == 32 => {
                write(out, pos, 32, u64::from(f32::NAN.to_bits()))
            }
            (K::Decimal | K::StringFix | K::Float | K::Binary, _) => return Err(wrong()),
            (_, Put::Value(_) | Put::Raw(_)) if bits > 64 => return Err(wrong()),
            (_, Put::Value(v)) => write(out, pos, bits, raw_of(f, bits, v)),
            (_, Put::Raw(r)) => write(out, pos, bits, r),
            (_, Put::Missing) => write(out, pos, bits, not_available(f, bits)),
            (_, Put::Text(_) | Put::Bytes(_) | Put::Sets(_)) => return Err(wrong()),
        }
        self.pos += bits;
        Ok(())
    }

    /// A field whose length the data gives: text with its length byte(s); the rest
    /// are not encoded.
    fn variable(&mut self, f: &FieldDef, put: Put<'_>) -> Result<(), EncodeError> {
        let unsupported = EncodeError::Unsupported {
            pgn: self.def.pgn,
            field: f.id.as_str(),
        };
        if self.pos % 8 != 0 {
            return Err(unsupported);
        }
        let text = match put {
            Put::Text(t) => t.as_bytes(),
            Put::Missing => &[],
            _ => return Err(unsupported),
        };
        // A length byte counts itself and its encoding byte: at most 253 bytes of text.
        let text = &text[..text.len().min(253)];
        let bytes: Vec<u8> = match f.kind {
            // Length (itself and the encoding byte included), 1 = ASCII, the text.
            FieldKind::StringLau => [text.len() as u8 + 2, 1]
                .into_iter()
                .chain(text.iter().copied())
                .collect(),
            // Length of the text and its terminating zero.
            FieldKind::StringLz => std::iter::once(text.len() as u8)
                .chain(text.iter().copied())
                .chain(std::iter::once(0))
                .collect(),
            _ => return Err(unsupported),
        };
        for b in bytes {
            write(&mut self.out, self.pos, 8, u64::from(b));
            self.pos += 8;
        }
        Ok(())
    }
}

/// The raw code of physical value `v` in field `f` of `bits` bits: the value over
/// the resolution, less the offset, rounded; "not available" when that is not a
/// value the field carries (outside its definition's range, or one of the codes
/// above it).
fn raw_of(f: &FieldDef, bits: usize, v: f64) -> u64 {
    let na = not_available(f, bits);
    let res = if f.resolution > 0.0 {
        f.resolution
    } else {
        1.0
    };
    let r = (v / res).round();
    if !r.is_finite() {
        return na;
    }
    let signed = f.signed && f.offset == 0;
    let (lo, hi) = range(f, bits, res);
    if r < lo || r > hi {
        return na;
    }
    let r = r as i64;
    if signed {
        (r as u64) & mask(bits)
    } else {
        (r - f.offset) as u64 & mask(bits)
    }
}

/// The lowest and highest value (raw, before the offset) field `f` carries: its
/// definition's `min` and `max`, else every code below the two highest (which
/// mean "not available" and "out of range").
fn range(f: &FieldDef, bits: usize, res: f64) -> (f64, f64) {
    let signed = f.signed && f.offset == 0;
    let top = if signed {
        (1u64 << (bits - 1).min(63)) as f64 - 1.0
    } else {
        mask(bits) as f64
    };
    let reserved = if bits >= 2 { 2.0 } else { 0.0 };
    let lo_code = if signed { -top - 1.0 } else { 0.0 } + f.offset as f64;
    let hi_code = top - reserved + f.offset as f64;
    let lo = f.min.map_or(lo_code, |m| (m / res).round().max(lo_code));
    let hi = f.max.map_or(hi_code, |m| (m / res).round().min(hi_code));
    (lo, hi)
}

/// The "data not available" code of field `f`: its definition's, else all ones
/// (the highest positive value for a signed field).
fn not_available(f: &FieldDef, bits: usize) -> u64 {
    f.na.unwrap_or(if f.signed && f.offset == 0 && bits > 1 {
        mask(bits - 1)
    } else {
        mask(bits)
    })
}

fn mask(bits: usize) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn write_ones(out: &mut Vec<u8>, pos: usize, bits: usize) {
    let mut k = 0;
    while k < bits {
        let n = (bits - k).min(64);
        write(out, pos + k, n, mask(n));
        k += n;
    }
}

/// Writes the low `bits` (1–64) of `value` at bit `pos` of `out`, least
/// significant first, growing `out` as needed.
fn write(out: &mut Vec<u8>, pos: usize, bits: usize, value: u64) {
    let end = (pos + bits).div_ceil(8);
    if out.len() < end {
        out.resize(end, 0);
    }
    for k in 0..bits {
        let byte = (pos + k) / 8;
        let bit = (pos + k) % 8;
        if value >> k & 1 == 1 {
            out[byte] |= 1 << bit;
        } else {
            out[byte] &= !(1 << bit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgn::decode::{walk, Text, Value, Visitor};
    use crate::pgn::defs::Lookup;

    /// What the decoder reports: field id, the value in raw units (numbers as
    /// their physical value), text, bits.
    #[derive(Debug, Clone, PartialEq)]
    enum Got {
        Physical(f64),
        Raw(u64),
        Text(Vec<u8>),
        Other(String),
    }

    #[derive(Default)]
    struct Fields(Vec<(&'static str, Got)>);

    impl Visitor for Fields {
        fn field(&mut self, f: &FieldDef, v: Value<'_>) {
            let res = if f.resolution > 0.0 {
                f.resolution
            } else {
                1.0
            };
            let got = match v {
                Value::Number(n) | Value::Time(n) | Value::Duration(n) => {
                    Got::Physical(n as f64 * res)
                }
                Value::Float(x) => Got::Physical(f64::from(x)),
                Value::Lookup(r, _)
                | Value::Bits(r)
                | Value::Date(r)
                | Value::Pgn(r)
                | Value::IsoName(r)
                | Value::Mmsi(r) => Got::Raw(r),
                Value::Text(Text::Bytes(b)) => Got::Text(b.to_vec()),
                Value::Binary { data, shift, bits } => Got::Raw(
                    crate::pgn::bits::read(data, usize::from(shift), bits.min(64)).unwrap_or(0),
                ),
                other => Got::Other(format!("{other:?}")),
            };
            self.0.push((f.id.as_str(), got));
        }
    }

    /// A value of field `f`, taken from its definition alone, and what the decoder
    /// must report for it.
    #[test]
    fn repeated_sets_round_trip() {
        let (mut checked, mut fields) = (0, 0);
        for def in crate::pgn::all() {
            let text = |f: &FieldDef| matches!(f.kind, FieldKind::StringLau | FieldKind::StringLz);
            let [Some(r), None] = def.repeat else {
                continue;
            };
            if def.fallback || def.fields.iter().any(|f| f.bits.is_none() && !text(f)) {
                continue;
            }
            let start = usize::from(r.start) - 1;
            let set_fields = &def.fields[start..start + usize::from(r.size)];
            let set: Vec<(&FieldDef, Put<'static>, Got)> = set_fields
                .iter()
                .filter_map(|f| sample(f).map(|(p, g)| (f, p, g)))
                .collect();
            if set.len() != set_fields.len() || set_fields.iter().any(|f| f.condition.is_some()) {
                continue;
            }
            let puts: Vec<(&str, Put<'_>)> =
                set.iter().map(|(f, p, _)| (f.id.as_str(), *p)).collect();
            let sets = [&puts[..], &puts[..]];
            let data = encode(def, &[(set_fields[0].id.as_str(), Put::Sets(&sets))])
                .unwrap_or_else(|e| panic!("{}: {e}", def.id));
            let mut v = Fields::default();
            walk(def, &data, &mut v);
            if r.count > 0 {
                let count = def.fields[usize::from(r.count) - 1].id;
                let got = v.0.iter().find(|(id, _)| *id == count).map(|g| &g.1);
                assert_eq!(got, Some(&Got::Physical(2.0)), "{} count", def.id);
            }
            for (f, _, want) in &set {
                let res = if f.resolution > 0.0 {
                    f.resolution
                } else {
                    1.0
                };
                let got: Vec<&Got> =
                    v.0.iter()
                        .filter(|(id, _)| *id == f.id)
                        .map(|g| &g.1)
                        .collect();
                assert!(
                    got.len() == 2 && got.iter().all(|g| same(g, want, res)),
                    "PGN {} {} field {}: put {want:?} twice, decoded {got:?} from {data:02x?}",
                    def.pgn,
                    def.id,
                    f.id
                );
                fields += 2;
            }
            checked += 1;
        }
        eprintln!("{checked} definitions with a repeated set, {fields} fields");
        assert!(checked >= 30, "definitions checked: {checked}");
    }

    #[test]
    fn a_group_function_value_takes_the_commanded_field_s_type() {
        // 126208 Command to 127508 (battery status): field 2, voltage, 12.5 V in
        // 0.01 V steps; field 1, the instance.
        let def = crate::pgn::variant(126208, crate::pgn::def::NMEA_COMMAND_GROUP_FUNCTION)
            .expect("126208 command");
        let sets: [&[(&str, Put<'_>)]; 2] = [
            &[("parameter", Put::Raw(1)), ("value", Put::Raw(3))],
            &[("parameter", Put::Raw(2)), ("value", Put::Value(12.5))],
        ];
        let data = encode(
            def,
            &[("pgn", Put::Raw(127508)), ("parameter", Put::Sets(&sets))],
        )
        .expect("encoded");
        assert_eq!(data, [1, 0x14, 0xF2, 0x01, 0xFF, 2, 1, 3, 2, 0xE2, 0x04]);
        let no_field = [&[("parameter", Put::Raw(40)), ("value", Put::Raw(1))][..]];
        assert!(matches!(
            encode(
                def,
                &[
                    ("pgn", Put::Raw(127508)),
                    ("parameter", Put::Sets(&no_field))
                ]
            ),
            Err(EncodeError::NoReferencedField { .. })
        ));
    }

    fn sample(f: &FieldDef) -> Option<(Put<'static>, Got)> {
        use FieldKind as K;
        if matches!(f.kind, K::StringLau | K::StringLz) && f.bits.is_none() {
            return Some((Put::Text("Test"), Got::Text(b"Test".to_vec())));
        }
        let bits = usize::from(f.bits?);
        let res = if f.resolution > 0.0 {
            f.resolution
        } else {
            1.0
        };
        Some(match f.kind {
            K::Binary if bits <= 64 => {
                let raw = 0x5A5A_5A5A_5A5A_5A5A & mask(bits);
                let bytes: &'static [u8] = Box::leak(raw.to_le_bytes().to_vec().into_boxed_slice());
                (Put::Bytes(bytes), Got::Raw(raw))
            }
            K::StringFix if bits >= 16 => (Put::Text("AB"), Got::Text(b"AB".to_vec())),
            K::Float => (Put::Value(1.5), Got::Physical(1.5)),
            K::Lookup
            | K::IndirectLookup
            | K::BitLookup
            | K::DynamicFieldKey
            | K::Pgn
            | K::IsoName
            | K::Mmsi
            | K::FieldIndex => {
                let raw = f.match_value.unwrap_or(match f.lookup {
                    Lookup::Plain(t) => t.entries.first().map_or(1, |e| u64::from(e.0)),
                    _ => 1,
                });
                (Put::Raw(raw), Got::Raw(raw))
            }
            K::Number | K::Time | K::Duration | K::Date | K::DynamicFieldLength => {
                // A third of the way through the definition's range, else one step.
                let physical = match (f.min, f.max) {
                    (Some(lo), Some(hi)) if hi > lo => (((hi - lo) / 3.0 + lo) / res).round() * res,
                    _ => res,
                };
                if f.kind == K::Date {
                    (Put::Raw(physical as u64), Got::Raw(physical as u64))
                } else {
                    (Put::Value(physical), Got::Physical(physical))
                }
            }
            _ => return None,
        })
    }

    fn same(got: &Got, want: &Got, res: f64) -> bool {
        match (got, want) {
            (Got::Physical(a), Got::Physical(b)) => (a - b).abs() <= res / 2.0 + 1e-9 * b.abs(),
            (Got::Physical(a), Got::Raw(b)) => *a == *b as f64 * res,
            _ => got == want,
        }
    }

    fn def(pgn: u32) -> &'static PgnDef {
        crate::pgn::definition(pgn).expect("defined")
    }

    /// 127508 by hand from its definition: instance 8 bits, voltage 16 bits signed
    /// at 0.01 V, current 16 bits signed at 0.1 A, temperature 16 bits at 0.01 K,
    /// SID 8 bits.
    #[test]
    fn battery_status_by_hand() {
        let d = def(127508);
        let data = encode(
            d,
            &[
                ("instance", Put::Raw(1)),
                ("voltage", Put::Value(12.5)),
                ("current", Put::Value(-3.2)),
            ],
        );
        assert_eq!(data, Ok(vec![1, 0xE2, 0x04, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]));
        // 400 V is past the field's 327.64 V; NaN is no value.
        let data = encode(
            d,
            &[
                ("voltage", Put::Value(400.0)),
                ("current", Put::Value(f64::NAN)),
            ],
        );
        assert_eq!(
            data,
            Ok(vec![0xFF, 0xFF, 0x7F, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF])
        );
    }

    #[test]
    fn asking_for_what_a_definition_lacks_is_an_error() {
        let d = def(127508);
        assert!(matches!(
            encode(d, &[("volts", Put::Value(1.0))]),
            Err(EncodeError::NoField { pgn: 127508, .. })
        ));
        assert!(matches!(
            encode(d, &[("voltage", Put::Text("12"))]),
            Err(EncodeError::WrongKind { pgn: 127508, .. })
        ));
    }

    /// Every definition whose fields have a fixed length or are text: a value of
    /// each field, encoded and decoded back, is that value.
    #[test]
    fn every_fixed_definition_round_trips() {
        let (mut checked, mut fields) = (0, 0);
        for def in crate::pgn::all() {
            let text = |f: &FieldDef| matches!(f.kind, FieldKind::StringLau | FieldKind::StringLz);
            if def.fallback || def.fields.iter().any(|f| f.bits.is_none() && !text(f)) {
                continue;
            }
            let counts: Vec<usize> = def
                .repeat
                .iter()
                .flatten()
                .map(|r| usize::from(r.count))
                .collect();
            let samples: Vec<(&FieldDef, Put<'static>, Got)> = def
                .fields
                .iter()
                .enumerate()
                .filter(|(i, f)| f.condition.is_none() && !counts.contains(&(i + 1)))
                .filter_map(|(_, f)| sample(f).map(|(p, g)| (f, p, g)))
                .collect();
            let puts: Vec<(&str, Put<'_>)> = samples
                .iter()
                .map(|(f, p, _)| (f.id.as_str(), *p))
                .collect();
            let data = match encode(def, &puts) {
                Ok(d) => d,
                Err(EncodeError::Unsupported { .. }) => continue,
                Err(e) => panic!("{e}"),
            };
            let mut v = Fields::default();
            walk(def, &data, &mut v);
            for (f, _, want) in &samples {
                let got = v.0.iter().find(|(id, _)| *id == f.id).map(|g| &g.1);
                let res = if f.resolution > 0.0 {
                    f.resolution
                } else {
                    1.0
                };
                assert!(
                    got.is_some_and(|g| same(g, want, res)),
                    "PGN {} {} field {}: put {want:?}, decoded {got:?} from {data:02x?}",
                    def.pgn,
                    def.id,
                    f.id
                );
                fields += 1;
            }
            checked += 1;
        }
        eprintln!("{checked} definitions, {fields} fields");
        assert!(checked > 500, "definitions checked: {checked}");
        assert!(fields > 3000, "fields checked: {fields}");
    }
}
