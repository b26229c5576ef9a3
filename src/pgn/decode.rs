//! The data-driven decoder: walks a [`PgnDef`] over a payload and reports each field.
//!
//! The walk never allocates. It hands every field to a [`Visitor`], so the same walk
//! feeds the JSON writers, the Venus mapper and a benchmark that only counts fields.
//! Field semantics follow canboat's analyzer (the reference decoder of the field):
//! fields past the end of the payload are absent, "not available" and "out of range"
//! sentinels are reported as [`Value::Missing`], repeating sets become lists.

use super::bits;
use super::defs::{Condition, FieldDef, FieldKind, Lookup, PgnDef, TypedValue};

/// Why a field carries no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The "data not available" sentinel (all ones).
    NotAvailable,
    /// The "out of range" / error sentinel.
    OutOfRange,
}

/// Text as it sits in the payload; the writer picks the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text<'a> {
    /// Single-byte characters (ASCII, or Latin-1/UTF-8 in practice).
    Bytes(&'a [u8]),
    /// UCS-2 little endian (STRING_LAU encoding 0).
    Ucs2(&'a [u8]),
}

impl Text<'_> {
    /// The text as a Rust string: UTF-8 where it is valid, else Latin-1; UCS-2 decoded
    /// (unpaired surrogates become U+FFFD) without trailing NULs.
    pub fn to_string_lossy(&self) -> String {
        match *self {
            Text::Bytes(b) => match std::str::from_utf8(b) {
                Ok(t) => t.to_owned(),
                Err(_) => b.iter().map(|&c| char::from(c)).collect(),
            },
            Text::Ucs2(b) => {
                let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
                let s: String = char::decode_utf16(units)
                    .map(|c| c.unwrap_or('\u{FFFD}'))
                    .collect();
                s.trim_end_matches('\0').to_owned()
            }
        }
    }
}

/// One decoded field value, borrowing from the payload where it can.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A number in raw units (sign and offset applied); physical = raw × resolution.
    Number(i64),
    Float(f32),
    /// A lookup value and its name, if the table has one.
    Lookup(u64, Option<&'static str>),
    /// A bit field; each set bit is named by the field's bit table.
    Bits(u64),
    /// Days since 1970-01-01.
    Date(u64),
    /// Time of day, raw units of the field's resolution.
    Time(i64),
    /// A duration, raw units of the field's resolution.
    Duration(i64),
    Pgn(u64),
    IsoName(u64),
    Mmsi(u64),
    Decimal(&'a [u8]),
    Text(Text<'a>),
    /// Raw bits: `bits` bits of `data` from bit `shift` of its first byte.
    Binary {
        data: &'a [u8],
        shift: u8,
        bits: usize,
    },
    Missing(Missing),
}

/// Receives the fields of one message, in order.
pub trait Visitor {
    /// One field; `field.name` is the name to show.
    fn field(&mut self, field: &FieldDef, value: Value<'_>);
    /// A repeating field set begins (`set` is 0 or 1).
    fn begin_list(&mut self, _set: usize) {}
    /// One repetition of the set begins.
    fn begin_item(&mut self) {}
    /// One repetition of the set ends.
    fn end_item(&mut self) {}
    /// The repeating field set ends.
    fn end_list(&mut self) {}
}

/// Raw values of the fields seen so far, by 1-based order, for fields that refer to
/// others (repeat counts, indirect lookups, length fields, dynamic keys).
struct Seen {
    raw: [u64; 64],
    set: u64,
}

impl Seen {
    fn get(&self, order: usize) -> Option<u64> {
        (order < 64 && self.set & (1 << order) != 0).then(|| self.raw[order])
    }
    fn put(&mut self, order: usize, v: u64) {
        if order < 64 {
            self.raw[order] = v;
            self.set |= 1 << order;
        }
    }
}

/// Walks `def` over `data`, reporting each field to `visitor`.
pub fn walk(def: &'static PgnDef, data: &[u8], visitor: &mut impl Visitor) {
    let mut w = Walker {
        def,
        data,
        pos: 0,
        seen: Seen {
            raw: [0; 64],
            set: 0,
        },
        ended: false,
        current: None,
        pos_of_current: 0,
    };
    w.run(visitor);
}

struct Walker<'a> {
    def: &'static PgnDef,
    data: &'a [u8],
    /// Bit position of the next field.
    pos: usize,
    seen: Seen,
    /// The payload ended inside or before a field: stop everything.
    ended: bool,
    /// 1-based order of the field being decoded, and its bit position.
    current: Option<usize>,
    pos_of_current: usize,
}

impl<'a> Walker<'a> {
    fn bits_left(&self) -> usize {
        (self.data.len() * 8).saturating_sub(self.pos)
    }

    fn run(&mut self, v: &mut impl Visitor) {
        let fields = self.def.fields;
        let mut i = 0;
        while i < fields.len() && !self.ended {
            let order = i + 1;
            if let Some((set, rs)) = self
                .def
                .repeat
                .iter()
                .enumerate()
                .find_map(|(s, r)| r.filter(|r| usize::from(r.start) == order).map(|r| (s, r)))
            {
                let size = usize::from(rs.size);
                let count = if rs.count == 0 {
                    None
                } else {
                    Some(self.seen.get(usize::from(rs.count)).unwrap_or(0))
                };
                self.repeat(
                    v,
                    set,
                    &fields[i..(i + size).min(fields.len())],
                    order,
                    count,
                );
                i += size.max(1);
                continue;
            }
            self.one(v, &fields[i], order);
            i += 1;
        }
    }

    fn repeat(
        &mut self,
        v: &mut impl Visitor,
        set: usize,
        group: &'static [FieldDef],
        first: usize,
        count: Option<u64>,
    ) {
        // A count of "not available" means no repetitions.
        let count = match count {
            Some(253..=255) => 0,
            Some(c) => c,
            None => u64::MAX,
        };
        if count == 0 || self.bits_left() == 0 {
            return;
        }
        v.begin_list(set);
        let mut n = 0;
        while n < count && !self.ended && self.bits_left() > 0 {
            v.begin_item();
            for (k, f) in group.iter().enumerate() {
                if self.ended {
                    break;
                }
                self.one(v, f, first + k);
            }
            v.end_item();
            n += 1;
        }
        v.end_list();
    }

    /// Decodes the field at 1-based `order` and advances.
    fn one(&mut self, v: &mut impl Visitor, f: &'static FieldDef, order: usize) {
        if f.condition == Some(Condition::PgnIsProprietary) && !self.commanded_pgn_is_proprietary()
        {
            return;
        }
        if self.bits_left() == 0 {
            self.ended = true;
            return;
        }
        self.current = Some(order);
        self.pos_of_current = self.pos;
        match f.bits {
            Some(b) => {
                let b = usize::from(b);
                if b > self.bits_left() {
                    // canboat shows a truncated binary/string tail but drops numbers.
                    if matches!(f.kind, FieldKind::Binary | FieldKind::StringFix)
                        && self.pos % 8 == 0
                    {
                        let start = self.pos / 8;
                        let data = &self.data[start..];
                        self.emit_fixed(v, f, Some(order), data, 0, data.len() * 8);
                    }
                    self.ended = true;
                    return;
                }
                let start = self.pos / 8;
                let end = (self.pos + b).div_ceil(8);
                let shift = (self.pos % 8) as u8;
                let slice = &self.data[start..end];
                self.emit_fixed(v, f, Some(order), slice, shift, b);
                self.pos += b;
            }
            None => self.variable(v, f, order),
        }
    }

    fn commanded_pgn_is_proprietary(&self) -> bool {
        // Group function field 2 is the commanded PGN.
        self.seen.get(2).is_some_and(crate::can::id::is_proprietary)
    }

    /// A field of known length: `bits` bits of `slice`, starting `shift` bits in.
    /// `order` is the field's place in the definition, when it has one (a value typed
    /// after another PGN's field, or by a dynamic key, has none).
    fn emit_fixed(
        &mut self,
        v: &mut impl Visitor,
        f: &FieldDef,
        order: Option<usize>,
        slice: &'a [u8],
        shift: u8,
        bits: usize,
    ) {
        use FieldKind as K;
        match f.kind {
            K::Binary | K::Reserved | K::Spare => v.field(
                f,
                Value::Binary {
                    data: slice,
                    shift,
                    bits,
                },
            ),
            K::StringFix => v.field(f, Value::Text(Text::Bytes(fix_string(slice)))),
            K::Decimal => v.field(f, Value::Decimal(slice)),
            K::Float => {
                let raw = bits::read(slice, usize::from(shift), 32).unwrap_or(u64::MAX) as u32;
                let x = f32::from_bits(raw);
                v.field(
                    f,
                    if x.is_nan() {
                        Value::Missing(Missing::NotAvailable)
                    } else {
                        Value::Float(x)
                    },
                );
            }
            _ => {
                let Some(raw) = bits::read(slice, usize::from(shift), bits.min(64)) else {
                    return;
                };
                if let Some(order) = order {
                    self.seen.put(order, raw);
                }
                let value = self.number_value(f, raw, bits.min(64));
                v.field(f, value);
            }
        }
    }

    /// Interprets a numeric raw value according to the field's kind and sentinels.
    ///
    /// Like canboat's analyzer, the two highest codes of a field of two or more bits
    /// ("not available", "out of range") carry no value, whatever the definition
    /// lists — unless a lookup table gives the code a name of its own.
    fn number_value(&self, f: &FieldDef, raw: u64, bits: usize) -> Value<'static> {
        use FieldKind as K;
        let top_of_range = matches!(
            f.kind,
            K::Number
                | K::Lookup
                | K::IndirectLookup
                | K::DynamicFieldKey
                | K::DynamicFieldLength
                | K::Time
                | K::Duration
                | K::Date
                | K::FieldIndex
        );
        let max = if f.signed && f.offset == 0 && bits > 1 {
            (1u64 << (bits - 1)) - 1
        } else if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        // A field with an offset keeps only the sentinels its definition lists.
        let generic = top_of_range && bits >= 2 && f.offset == 0;
        let sentinel = if f.na == Some(raw) || (generic && raw == max) {
            Some(Missing::NotAvailable)
        } else if f.oor == Some(raw) || (generic && raw == max - 1) {
            Some(Missing::OutOfRange)
        } else {
            None
        };
        if let Some(m) = sentinel {
            let named = match (f.kind, f.lookup) {
                (K::Lookup, Lookup::Plain(t)) => t.get(raw).is_some(),
                _ => false,
            };
            if !named {
                return Value::Missing(m);
            }
        }
        let signed = if f.signed && f.offset == 0 {
            bits::sign_extend(raw, bits)
        } else {
            (raw as i64).wrapping_add(f.offset)
        };
        match f.kind {
            K::Lookup | K::DynamicFieldKey => {
                let name = match f.lookup {
                    Lookup::Plain(t) => t.get(raw),
                    Lookup::Types(t) => t.get(raw).map(|tv| tv.name.as_str()),
                    _ => None,
                };
                Value::Lookup(raw, name)
            }
            K::IndirectLookup => {
                let name = match f.lookup {
                    Lookup::Indirect(t, sel) => self
                        .field_value(usize::from(sel))
                        .and_then(|s| t.get(s, raw)),
                    _ => None,
                };
                Value::Lookup(raw, name)
            }
            K::BitLookup => Value::Bits(raw),
            K::Date => Value::Date(raw),
            K::Time => Value::Time(signed),
            K::Duration => Value::Duration(signed),
            K::Pgn => Value::Pgn(raw),
            K::IsoName => Value::IsoName(raw),
            K::Mmsi => Value::Mmsi(raw),
            _ => Value::Number(signed),
        }
    }

    /// The raw value of the field at 1-based `order`: seen already, or read ahead when
    /// it lies later at a fixed distance (60928's device function is named by the
    /// device class that follows it).
    fn field_value(&self, order: usize) -> Option<u64> {
        if let Some(v) = self.seen.get(order) {
            return Some(v);
        }
        let fields = self.def.fields;
        let here = self.current?;
        if order <= here || order > fields.len() {
            return None;
        }
        let mut pos = self.pos_of_current;
        for f in &fields[here - 1..order - 1] {
            pos += usize::from(f.bits?);
        }
        bits::read(self.data, pos, usize::from(fields[order - 1].bits?))
    }

    /// A field whose length comes from the data.
    fn variable(&mut self, v: &mut impl Visitor, f: &FieldDef, order: usize) {
        use FieldKind as K;
        if self.pos % 8 != 0 {
            self.ended = true;
            return;
        }
        let start = self.pos / 8;
        let rest = &self.data[start..];
        match f.kind {
            K::StringLz => {
                let len = usize::from(rest[0]);
                let body = &rest[1..(1 + len).min(rest.len())];
                let body = body.split(|&b| b == 0).next().unwrap_or(&[]);
                v.field(f, Value::Text(Text::Bytes(body)));
                // The length excludes the terminating zero when one follows.
                let mut used = 1 + len;
                if rest.get(used) == Some(&0) {
                    used += 1;
                }
                self.advance_bytes(used);
            }
            K::StringLau => {
                let len = usize::from(rest[0]);
                if len < 2 || rest.len() < 2 {
                    // 0xFF, 0 or 1: an empty string that occupies its length byte(s).
                    self.advance_bytes(if len == 0xFF || len < 2 {
                        1.max(len.min(2))
                    } else {
                        len
                    });
                    return;
                }
                let body = &rest[2..len.min(rest.len())];
                let text = if rest[1] == 0 {
                    Text::Ucs2(body)
                } else {
                    Text::Bytes(fix_string(body))
                };
                if !text_is_empty(text) {
                    v.field(f, Value::Text(text));
                }
                self.advance_bytes(len);
            }
            K::Binary => {
                // Length in bits from another field, or the rest of the payload.
                let bits = f
                    .len_field
                    .and_then(|o| self.seen.get(usize::from(o)))
                    .map(|b| (b as usize).min(rest.len() * 8))
                    .unwrap_or(rest.len() * 8);
                if bits > 0 {
                    v.field(
                        f,
                        Value::Binary {
                            data: &rest[..bits.div_ceil(8)],
                            shift: 0,
                            bits,
                        },
                    );
                }
                self.pos += bits;
            }
            K::Variable => self.referenced_field(v, f, order),
            K::DynamicFieldValue => self.dynamic_value(v, f, order),
            _ => {
                // A variable-length kind the walker does not know: show the rest raw.
                v.field(
                    f,
                    Value::Binary {
                        data: rest,
                        shift: 0,
                        bits: rest.len() * 8,
                    },
                );
                self.ended = true;
            }
        }
    }

    fn advance_bytes(&mut self, n: usize) {
        self.pos += n * 8;
        if self.pos > self.data.len() * 8 {
            self.pos = self.data.len() * 8;
        }
    }

    /// A group-function value: typed like field `Parameter` of the commanded PGN.
    ///
    /// As in canboat, the commanded PGN's only definition applies. A PGN with
    /// several definitions told apart by their data (proprietary PGNs, by
    /// manufacturer) is decoded with its range's catch-all, whose raw data field
    /// takes the rest of the message, in a single-frame range too.
    fn referenced_field(&mut self, v: &mut impl Visitor, f: &FieldDef, order: usize) {
        let target = self.seen.get(2).and_then(|p| u32::try_from(p).ok());
        let param = self.last_field_index();
        let def = target.and_then(|p| match super::variants(p) {
            [only] => Some(only),
            [] => None,
            several => several
                .iter()
                .find(|d| d.fallback)
                .or_else(|| super::range_fallback(p)),
        });
        let tf = match (def, param) {
            (Some(d), Some(n)) if n >= 1 && (n as usize) <= d.fields.len() => {
                &d.fields[n as usize - 1]
            }
            _ => {
                self.ended = true;
                return;
            }
        };
        let shown = FieldDef {
            name: f.name,
            key: false,
            ..*tf
        };
        let Some(bits) = tf.bits else {
            return self.variable(v, &shown, order);
        };
        if def.is_some_and(|d| d.fallback) && tf.kind == FieldKind::Binary {
            // The catch-all's raw data, whatever its width in a frame: the rest.
            let shown = FieldDef {
                bits: None,
                ..shown
            };
            return self.variable(v, &shown, order);
        }
        // Parameter values take whole bytes, whatever the target field's width.
        let field_bits = usize::from(bits);
        let mut bytes = field_bits.div_ceil(8);
        if bytes * 8 > self.bits_left() {
            if tf.kind != FieldKind::Binary {
                self.ended = true;
                return;
            }
            bytes = self.bits_left() / 8;
        }
        let start = self.pos / 8;
        let slice = &self.data[start..start + bytes];
        self.emit_fixed(v, &shown, None, slice, 0, field_bits.min(bytes * 8));
        self.pos += bytes * 8;
    }

    /// The value of the most recent FIELD_INDEX field.
    fn last_field_index(&self) -> Option<u64> {
        self.def
            .fields
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, fd)| fd.kind == FieldKind::FieldIndex)
            .find_map(|(i, _)| self.seen.get(i + 1))
    }

    /// A key/value pair's value: type from the key's table, length from a length field.
    fn dynamic_value(&mut self, v: &mut impl Visitor, f: &FieldDef, order: usize) {
        let mut typed: Option<&'static TypedValue> = None;
        let mut len_bytes: Option<usize> = None;
        for (k, pf) in self.def.fields[..order - 1].iter().enumerate().rev() {
            match pf.kind {
                FieldKind::DynamicFieldLength if len_bytes.is_none() => {
                    len_bytes = self
                        .seen
                        .get(k + 1)
                        .map(|n| (n as usize).saturating_sub(usize::from(pf.len_overhead)));
                }
                FieldKind::DynamicFieldKey if typed.is_none() => {
                    if let (Lookup::Types(t), Some(key)) = (pf.lookup, self.seen.get(k + 1)) {
                        typed = t.get(key);
                    }
                    break;
                }
                _ => {}
            }
        }
        let bits = match (len_bytes, typed) {
            (Some(n), _) => n * 8,
            (None, Some(t)) => usize::from(t.bits),
            (None, None) => self.bits_left(),
        };
        if bits == 0 || bits > self.bits_left() {
            self.ended = true;
            return;
        }
        let start = self.pos / 8;
        let slice = &self.data[start..start + bits.div_ceil(8)];
        match typed {
            Some(t) => {
                let shown = FieldDef {
                    name: f.name,
                    kind: t.kind,
                    bits: Some(t.bits),
                    signed: t.signed,
                    resolution: t.resolution,
                    unit: t.unit,
                    lookup: t.lookup,
                    ..*f
                };
                let na = (t.bits >= 2 && t.bits <= 64).then(|| {
                    if t.signed {
                        (1u64 << (t.bits - 1)) - 1
                    } else {
                        u64::MAX >> (64 - t.bits)
                    }
                });
                let shown = FieldDef { na, ..shown };
                self.emit_fixed(
                    v,
                    &shown,
                    None,
                    slice,
                    0,
                    bits.min(usize::from(t.bits).max(1)),
                );
            }
            None => v.field(
                f,
                Value::Binary {
                    data: slice,
                    shift: 0,
                    bits,
                },
            ),
        }
        self.pos += bits;
    }
}

/// Cuts a fixed-length string at its first terminator (0x00, 0xFF or '@') and drops
/// trailing spaces, as NMEA 2000 and AIS senders pad with any of them.
pub fn fix_string(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .position(|&b| b == 0 || b == 0xFF || b == b'@')
        .unwrap_or(s.len());
    let mut s = &s[..end];
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}

fn text_is_empty(t: Text<'_>) -> bool {
    match t {
        Text::Bytes(b) => b.is_empty(),
        Text::Ucs2(b) => b.len() < 2,
    }
}
