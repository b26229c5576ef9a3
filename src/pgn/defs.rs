//! The shape of a PGN definition, as compiled by `build.rs` from `pgn-defs/*.def`.
//!
//! Everything here is `'static` data: the decoder walks these tables, it never
//! allocates for them, and adding a PGN means editing a definition file, not code.

/// How a PGN travels on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One CAN frame, at most 8 bytes.
    Single,
    /// NMEA 2000 fast packet, up to 223 bytes.
    Fast,
    /// ISO 11783-3 transport protocol (BAM or RTS/CTS), up to 1785 bytes.
    Iso,
    /// A fallback range that holds both single and fast PGNs.
    Mixed,
}

/// What a field's bits mean; mirrors canboat's field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Number,
    Float,
    Decimal,
    Lookup,
    IndirectLookup,
    BitLookup,
    DynamicFieldKey,
    DynamicFieldLength,
    DynamicFieldValue,
    Time,
    Duration,
    Date,
    Pgn,
    IsoName,
    StringFix,
    StringLz,
    StringLau,
    Binary,
    Reserved,
    Spare,
    Mmsi,
    Variable,
    FieldIndex,
}

/// A value → name table (canboat `LookupEnumeration`), sorted by value.
#[derive(Debug)]
pub struct LookupTable {
    pub name: &'static str,
    pub max: u32,
    pub entries: &'static [(u32, &'static str)],
}

impl LookupTable {
    /// The name of `value`, if the table has one.
    pub fn get(&self, value: u64) -> Option<&'static str> {
        let v = u32::try_from(value).ok()?;
        self.entries
            .binary_search_by_key(&v, |e| e.0)
            .ok()
            .map(|i| self.entries[i].1)
    }
}

/// A bit → name table (canboat `LookupBitEnumeration`), sorted by bit.
#[derive(Debug)]
pub struct BitLookupTable {
    pub name: &'static str,
    pub max: u32,
    pub entries: &'static [(u32, &'static str)],
}

impl BitLookupTable {
    /// The name of bit number `bit`.
    pub fn get(&self, bit: u32) -> Option<&'static str> {
        self.entries
            .binary_search_by_key(&bit, |e| e.0)
            .ok()
            .map(|i| self.entries[i].1)
    }
}

/// A (other field's value, value) → name table (canboat `LookupIndirectEnumeration`).
#[derive(Debug)]
pub struct IndirectLookupTable {
    pub name: &'static str,
    pub max: u32,
    pub entries: &'static [(u32, u32, &'static str)],
}

impl IndirectLookupTable {
    /// The name of `value` given the value of the selecting field.
    pub fn get(&self, selector: u64, value: u64) -> Option<&'static str> {
        let (s, v) = (u32::try_from(selector).ok()?, u32::try_from(value).ok()?);
        self.entries
            .binary_search_by_key(&(s, v), |e| (e.0, e.1))
            .ok()
            .map(|i| self.entries[i].2)
    }
}

/// A key → field type table (canboat `LookupFieldTypeEnumeration`): the key field of a
/// key/value pair names the type of the value that follows.
#[derive(Debug)]
pub struct TypeLookupTable {
    pub name: &'static str,
    pub max: u32,
    pub entries: &'static [(u32, TypedValue)],
}

impl TypeLookupTable {
    /// The value type that key `value` announces.
    pub fn get(&self, value: u64) -> Option<&'static TypedValue> {
        let v = u32::try_from(value).ok()?;
        self.entries
            .binary_search_by_key(&v, |e| e.0)
            .ok()
            .map(|i| &self.entries[i].1)
    }
}

/// The type of a dynamic value, as announced by a key.
#[derive(Debug)]
pub struct TypedValue {
    pub name: Str,
    pub kind: FieldKind,
    pub bits: u16,
    pub signed: bool,
    pub resolution: f64,
    pub unit: Option<Str>,
    pub lookup: Lookup,
}

/// Which table, if any, names a field's values.
#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    None,
    Plain(TableRef<LookupTable>),
    Bits(TableRef<BitLookupTable>),
    /// The table and the 1-based order of the field whose value selects the row.
    Indirect(TableRef<IndirectLookupTable>, u8),
    Types(TableRef<TypeLookupTable>),
}

/// A lookup table by its place among the tables of its kind: an index, not a
/// pointer, so that the field definitions hold no pointers (a table of
/// pointers is relocated when the program starts, and so resident as a whole;
/// one without stays in the file until a page of it is read).
pub struct TableRef<T> {
    index: u16,
    kind: std::marker::PhantomData<fn() -> T>,
}

/// The lookup tables of one kind, in the order [`TableRef`]s count them
/// (implemented beside the generated tables).
pub trait Tables: 'static {
    fn all() -> &'static [&'static Self];
}

impl<T: Tables> TableRef<T> {
    pub const fn new(index: u16) -> TableRef<T> {
        TableRef {
            index,
            kind: std::marker::PhantomData,
        }
    }

    /// The table.
    pub fn table(self) -> &'static T {
        T::all()[usize::from(self.index)]
    }
}

impl<T> Clone for TableRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TableRef<T> {}

impl<T: Tables> std::ops::Deref for TableRef<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.table()
    }
}

impl<T: Tables + std::fmt::Debug> std::fmt::Debug for TableRef<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.table().fmt(f)
    }
}

/// A text of the definitions (a field's id, name or unit): a range of one string
/// that holds them all, for the same reason as [`TableRef`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Str {
    at: u32,
    len: u32,
}

impl Str {
    pub const fn new(at: u32, len: u32) -> Str {
        Str { at, len }
    }

    /// Where the text is in the one string of texts (`tables`).
    pub(super) fn range(self) -> std::ops::Range<usize> {
        let at = self.at as usize;
        at..at + self.len as usize
    }
}

impl std::ops::Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Str> for &str {
    fn eq(&self, other: &Str) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Str> for str {
    fn eq(&self, other: &Str) -> bool {
        self == other.as_str()
    }
}

impl std::fmt::Display for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Presence conditions canboat attaches to fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Present only when the message's PGN field names a proprietary PGN.
    PgnIsProprietary,
}

/// One field of a PGN.
#[derive(Debug)]
pub struct FieldDef {
    /// camelCase identifier, unique within the PGN.
    pub id: Str,
    /// Display name, as canboat prints it.
    pub name: Str,
    pub kind: FieldKind,
    /// Length in bits; `None` when the length is only known from the data.
    pub bits: Option<u16>,
    pub signed: bool,
    pub resolution: f64,
    /// Added to the raw value before scaling.
    pub offset: i64,
    pub unit: Option<Str>,
    /// Part of the primary key of the message (instance-like fields).
    pub key: bool,
    /// The value this field must have for this variant of the PGN to apply.
    pub match_value: Option<u64>,
    pub lookup: Lookup,
    /// Raw "data not available" sentinel.
    pub na: Option<u64>,
    /// Raw "out of range" sentinel.
    pub oor: Option<u64>,
    /// Raw "reserved" sentinel.
    pub reserved: Option<u64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub condition: Option<Condition>,
    /// 1-based order of the field that holds this field's length in bits.
    pub len_field: Option<u8>,
    /// Bytes of a dynamic length field's count that are not the value.
    pub len_overhead: u8,
}

/// A set of fields that repeats as many times as a count field says.
#[derive(Debug, Clone, Copy)]
pub struct RepeatSet {
    /// 1-based order of the first repeating field.
    pub start: u8,
    /// Number of fields in the set.
    pub size: u8,
    /// 1-based order of the count field; 0 = repeat until the data ends.
    pub count: u8,
}

/// One PGN definition (a PGN can have several variants, told apart by match fields).
#[derive(Debug)]
pub struct PgnDef {
    pub pgn: u32,
    /// camelCase identifier, unique over all definitions.
    pub id: &'static str,
    pub description: &'static str,
    pub transport: Transport,
    /// Fixed payload length, if the PGN has one.
    pub length: Option<u16>,
    pub min_length: Option<u16>,
    pub priority: Option<u8>,
    /// Default transmission interval in ms.
    pub interval: Option<u32>,
    /// A catch-all for a PGN range, used when no real definition applies.
    pub fallback: bool,
    /// Whether canboat considers the definition complete.
    pub complete: bool,
    /// Whether any field selects this variant by value.
    pub has_match: bool,
    pub repeat: [Option<RepeatSet>; 2],
    pub fields: &'static [FieldDef],
}
