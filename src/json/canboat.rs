//! canboat's analyzer JSON (`analyzer -json -nv`, and `-si`), so tools built on canboat
//! can read our output: the same keys, field names and lookup objects.
//!
//! One line per message:
//! `{"timestamp":"…","prio":6,"src":1,"dst":255,"pgn":60928,"description":"…","fields":{…}}`.
//! Fields without a value are left out, repeating sets become `"list":[{…},…]`,
//! lookups are `{"value":n,"name":"…"}` and key fields carry `"key":true`.

use std::fmt::Write as _;

use crate::n2k::Message;
use crate::pgn::decode::{Text, Value, Visitor};
use crate::pgn::defs::{FieldDef, FieldKind, Lookup};
use crate::pgn::{self, PgnDef};
use crate::time::{civil_from_days, push_hms, push_padded, write_iso_micros, write_iso_millis};

/// Unit system of the output, as canboat's `-si` switch chooses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    /// canboat's default: °C, degrees, bar, Ah.
    #[default]
    Std,
    /// Strict SI: K, rad, Pa, C (coulomb), J.
    Si,
}

/// How a message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub units: Units,
    /// Key fields by their camelCase id instead of their display name, and print
    /// timestamps to the microsecond (the n2k-dbus format).
    pub ids: bool,
}

impl Style {
    /// canboat's `analyzer -json -nv` (`-si` with [`Units::Si`]).
    pub fn canboat(units: Units) -> Style {
        Style { units, ids: false }
    }

    /// The n2k-dbus format: SI values, field ids, microsecond timestamps.
    pub fn native() -> Style {
        Style {
            units: Units::Si,
            ids: true,
        }
    }
}

/// The header line canboat prints before the messages.
pub fn header(units: Units) -> String {
    let u = match units {
        Units::Std => "std",
        Units::Si => "si",
    };
    format!("{{\"version\":\"8.0.0-beta3\",\"units\":\"{u}\",\"showLookupValues\":true}}")
}

/// Appends one message as a canboat JSON line (without the newline) to `out`.
pub fn write_message(out: &mut String, style: Style, msg: &Message<'_>, def: &'static PgnDef) {
    out.push_str("{\"timestamp\":\"");
    if style.ids {
        write_iso_micros(out, msg.timestamp);
    } else {
        write_iso_millis(out, msg.timestamp);
    }
    out.push_str("\",\"prio\":");
    push_int(out, i64::from(msg.id.priority));
    out.push_str(",\"src\":");
    push_int(out, i64::from(msg.id.source));
    out.push_str(",\"dst\":");
    push_int(out, i64::from(msg.id.destination));
    out.push_str(",\"pgn\":");
    push_int(out, i64::from(msg.id.pgn));
    out.push_str(",\"description\":");
    write_json_str(out, def.description);
    if style.ids {
        out.push_str(",\"id\":");
        write_json_str(out, def.id);
    }
    let mut w = FieldWriter {
        out,
        units: style.units,
        ids: style.ids,
        fields_open: false,
        first: true,
    };
    pgn::walk(def, msg.data, &mut w);
    if w.fields_open {
        w.out.push('}');
    }
    out.push('}');
}

struct FieldWriter<'o> {
    out: &'o mut String,
    units: Units,
    ids: bool,
    /// `"fields":{` has been written.
    fields_open: bool,
    /// The next member is the first of its object.
    first: bool,
}

impl FieldWriter<'_> {
    fn key(&mut self, name: &str) {
        if !self.fields_open {
            self.out.push_str(",\"fields\":{");
            self.fields_open = true;
            self.first = true;
        }
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_json_str(self.out, name);
        self.out.push(':');
    }
}

impl Visitor for FieldWriter<'_> {
    fn field(&mut self, f: &FieldDef, value: Value<'_>) {
        if !shown(f, &value) {
            return;
        }
        self.key(if self.ids {
            f.id.as_str()
        } else {
            f.name.as_str()
        });
        write_value(self.out, self.units, f, value);
    }

    fn begin_list(&mut self, set: usize) {
        self.key(if set == 0 { "list" } else { "list2" });
        self.out.push('[');
        self.first = true;
    }

    fn begin_item(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.out.push('{');
        self.first = true;
    }

    fn end_item(&mut self) {
        self.out.push('}');
        self.first = false;
    }

    fn end_list(&mut self) {
        self.out.push(']');
        self.first = false;
    }
}

/// Whether canboat prints this field at all.
fn shown(f: &FieldDef, value: &Value<'_>) -> bool {
    match *value {
        Value::Missing(_) => false,
        Value::Text(t) => !matches!(t, Text::Bytes([]) | Text::Ucs2([])),
        Value::Bits(0) => false,
        Value::Binary { data, shift, bits } => match f.kind {
            // Reserved bits are meant to be all ones, spare bits all zeros.
            FieldKind::Reserved => !bits_all(data, shift, bits, true),
            FieldKind::Spare => !bits_all(data, shift, bits, false),
            _ => bits > 0,
        },
        _ => true,
    }
}

fn bits_all(data: &[u8], shift: u8, bits: usize, ones: bool) -> bool {
    let mut k = 0;
    while k < bits {
        let pos = usize::from(shift) + k;
        let bit = data.get(pos / 8).is_some_and(|b| (b >> (pos % 8)) & 1 == 1);
        if bit != ones {
            return false;
        }
        k += 1;
    }
    true
}

/// Decimal places canboat shows for a resolution: one per factor of ten below 1.
fn precision(resolution: f64) -> usize {
    let mut p = 0;
    let mut r = resolution;
    while r > 0.0 && r < 1.0 - 1e-9 && p < 16 {
        r *= 10.0;
        p += 1;
    }
    p
}

/// Appends an integer in decimal (the hot path of JSON output).
fn push_int(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_padded(out, v.unsigned_abs(), 1);
}

/// Appends `raw × 10^-decimals` exactly, without going through floating point.
fn write_scaled_int(out: &mut String, raw: i64, decimals: usize) {
    // Digits right to left into a buffer: no allocation per number.
    let mut buf = [b'0'; 48];
    let mut i = buf.len();
    let mut n = raw.unsigned_abs();
    let decimals = decimals.min(24);
    let mut written = 0;
    while n > 0 || written <= decimals {
        if written == decimals && decimals > 0 {
            i -= 1;
            buf[i] = b'.';
        }
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        written += 1;
    }
    if raw < 0 {
        out.push('-');
    }
    push_ascii(out, &buf[i..]);
}

/// Appends ASCII digits (no UTF-8 validation on the hot path).
fn push_ascii(out: &mut String, digits: &[u8]) {
    out.reserve(digits.len());
    for &b in digits {
        out.push(char::from(b));
    }
}

/// Powers of ten a fixed-point number is scaled by.
const POW10: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// `a` with `prec` decimals exactly as `{:.prec$}` writes it. Where the rounding is
/// clear, by integer arithmetic; near a tie (where the exact binary value decides),
/// for a negative zero and for very large numbers, by the formatter.
fn write_fixed(out: &mut String, a: f64, prec: usize) {
    if let Some(&scale) = POW10.get(prec) {
        let scaled = a * scale;
        if scaled.abs() < 1e15 {
            let r = scaled.round();
            let frac = (scaled - scaled.trunc()).abs();
            let margin = scaled.abs() * 1e-15 + 1e-9;
            let negative_zero = r == 0.0 && a.is_sign_negative();
            if (frac - 0.5).abs() > margin && !negative_zero {
                write_scaled_int(out, r as i64, prec);
                return;
            }
        }
    }
    let _ = write!(out, "{:.*}", prec, a);
}

fn write_value(out: &mut String, units: Units, f: &FieldDef, value: Value<'_>) {
    match value {
        Value::Number(raw) => write_number(out, units, f, raw),
        Value::Float(x) => {
            let _ = write!(out, "{}", format_g(f64::from(x)));
        }
        Value::Lookup(v, name) => write_lookup(out, v, name, f.key),
        Value::Pgn(v) => {
            // canboat names standard PGNs only; proprietary ones depend on the sender.
            let name = if crate::can::id::is_proprietary(v) {
                None
            } else {
                u32::try_from(v).ok().and_then(pgn::describe)
            };
            write_lookup(out, v, name, f.key)
        }
        Value::Bits(v) => {
            out.push('[');
            let mut first = true;
            for bit in 0..64 {
                if v & (1 << bit) == 0 {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "{{\"value\":{},\"name\":", 1u64 << bit);
                match f.lookup {
                    Lookup::Bits(t) => match t.get(bit) {
                        Some(n) => write_json_str(out, n),
                        None => out.push_str("null"),
                    },
                    _ => out.push_str("null"),
                }
                out.push('}');
            }
            out.push(']');
        }
        Value::Date(d) => {
            let (y, m, day) = civil_from_days(d as i64);
            let _ = write!(out, "{{\"value\":{d},\"name\":\"{y:04}.{m:02}.{day:02}\"");
            close_key(out, f.key);
        }
        Value::Time(t) | Value::Duration(t) => write_time(out, f, t),
        Value::IsoName(n) => {
            let _ = write!(out, "{{\"value\":{n},\"name\":");
            write_iso_name(out, units, n);
            close_key(out, f.key);
        }
        Value::Mmsi(m) => {
            if f.key {
                let _ = write!(out, "{{\"value\":\"{m:09}\",\"key\":true}}");
            } else {
                let _ = write!(out, "\"{m:09}\"");
            }
        }
        Value::Decimal(d) => {
            // canboat prints the digits as a JSON number.
            let mut digits = String::new();
            for b in d.iter().filter(|b| **b < 100) {
                let _ = write!(digits, "{b:02}");
            }
            let digits = digits.trim_start_matches('0');
            out.push_str(if digits.is_empty() { "0" } else { digits });
        }
        Value::Text(t) => write_text(out, t),
        Value::Binary { data, shift, bits } => write_hex(out, data, shift, bits),
        Value::Missing(_) => out.push_str("null"),
    }
}

fn close_key(out: &mut String, key: bool) {
    if key {
        out.push_str(",\"key\":true");
    }
    out.push('}');
}

fn write_lookup(out: &mut String, v: u64, name: Option<&str>, key: bool) {
    out.push_str("{\"value\":");
    match i64::try_from(v) {
        Ok(v) => push_int(out, v),
        Err(_) => {
            let _ = write!(out, "{v}");
        }
    }
    if let Some(n) = name {
        out.push_str(",\"name\":");
        write_json_str(out, n);
    }
    close_key(out, key);
}

fn write_number(out: &mut String, units: Units, f: &FieldDef, raw: i64) {
    if f.key {
        out.push_str("{\"value\":");
    }
    let unit = f.unit.map_or("", |u| u.as_str());
    let mut res = f.resolution;
    let mut a = raw as f64 * res;
    let mut prec = precision(res);
    match (units, unit) {
        (Units::Std, "K") => a -= 273.15,
        (Units::Std, "Pa") => {
            a /= 1e5;
            prec = precision(res / 1e5).max(3);
            res /= 1e5;
        }
        (Units::Std, "rad" | "rad/s") => {
            a = a.to_degrees();
            prec = prec.saturating_sub(3).max(1);
            res = 0.1;
        }
        (_, "deg") => prec = prec.min(7),
        _ => {}
    }
    if res == 1.0 && f.resolution == 1.0 && unit != "K" {
        push_int(out, raw);
    } else if a == raw as f64 * f.resolution
        && (f.resolution * 10f64.powi(prec as i32) - 1.0).abs() < 1e-9
        && prec > 0
    {
        // A decimal resolution (0.1, 0.01, …) in its own unit: exact and fast.
        write_scaled_int(out, raw, prec);
    } else {
        write_fixed(out, a, prec);
    }
    if f.key {
        out.push_str(",\"key\":true}");
    }
}

/// Time of day or duration: `{"value":n,"name":"HH:MM:SS[.ffff]"}`.
fn write_time(out: &mut String, f: &FieldDef, t: i64) {
    let res = f.resolution;
    let (value, per_second, digits) = if res < 1.0 {
        let per = (1.0 / res).round() as i64;
        (t, per.max(1), precision(res))
    } else {
        (t.saturating_mul(res as i64), 1, 0)
    };
    let neg = value < 0;
    let v = value.unsigned_abs();
    let per = per_second as u64;
    let secs = v / per;
    let frac = v % per;
    out.push_str("{\"value\":");
    push_int(out, value);
    out.push_str(",\"name\":\"");
    if neg {
        out.push('-');
    }
    push_hms(out, secs);
    if digits > 0 {
        out.push('.');
        push_padded(out, frac, digits);
    }
    out.push('"');
    close_key(out, f.key);
}

fn write_iso_name(out: &mut String, units: Units, name: u64) {
    let bytes = name.to_le_bytes();
    let Some(def) = pgn::definition(60928) else {
        out.push_str("null");
        return;
    };
    out.push('{');
    let mut w = FieldWriter {
        out,
        units,
        ids: false,
        fields_open: true,
        first: true,
    };
    pgn::walk(def, &bytes, &mut w);
    out.push('}');
}

/// Raw bits as canboat shows them: the bytes the field occupies, with the bits of
/// neighbouring fields masked to zero (not shifted).
fn write_hex(out: &mut String, data: &[u8], shift: u8, bits: usize) {
    let first = usize::from(shift);
    let end = first + bits;
    out.push('"');
    for i in 0..end.div_ceil(8) {
        let mut b = data.get(i).copied().unwrap_or(0xFF);
        if i == 0 {
            b &= 0xFFu8 << first;
        }
        if i == (end - 1) / 8 && end % 8 != 0 {
            b &= 0xFFu8 >> (8 - end % 8);
        }
        if i > 0 {
            out.push(' ');
        }
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out.push('"');
}

fn write_text(out: &mut String, t: Text<'_>) {
    match t {
        Text::Bytes(b) => write_str(out, b),
        Text::Ucs2(_) => write_str(out, t.to_string_lossy().as_bytes()),
    }
}

/// A JSON string; bytes that are not UTF-8 are taken as Latin-1. `/` is escaped as
/// canboat escapes it.
pub fn write_str(out: &mut String, s: &[u8]) {
    match std::str::from_utf8(s) {
        Ok(t) => write_json_str(out, t),
        Err(_) => write_json_str(out, &s.iter().map(|&b| char::from(b)).collect::<String>()),
    }
}

/// Whether `b` is written escaped.
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == b'/'
}

/// A JSON string from text, escaped as canboat escapes it.
pub fn write_json_str(out: &mut String, text: &str) {
    out.push('"');
    // Most text (descriptions, field names, model names) needs no escape: one
    // pass without a branch per byte, then one copy.
    if !text.bytes().fold(false, |any, b| any | escaped(b)) {
        out.push_str(text);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'/' => "\\/",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// C's `%g`: six significant digits, no trailing zeros.
fn format_g(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let exp = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&exp) {
        let s = format!("{:.5e}", x);
        // Rust prints 1.23450e5; C prints 1.2345e+05.
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_follows_resolution() {
        assert_eq!(precision(1.0), 0);
        assert_eq!(precision(0.1), 1);
        assert_eq!(precision(0.01), 2);
        assert_eq!(precision(0.004), 3);
        assert_eq!(precision(1e-7), 7);
        assert_eq!(precision(3.125e-8), 8);
        assert_eq!(precision(100.0), 0);
    }

    #[test]
    fn a_command_to_a_proprietary_pgn_shows_the_rest_raw() {
        // A PGN with several definitions (by manufacturer) is decoded with its range's
        // catch-all, whose raw data takes the rest of the command, as canboat does.
        let cases: [(&str, u8, u8, [u8; 18], &str); 2] = [
            (
                "dirona-actisense-serial.raw: a Command to 130824 (B&G, Maretron, Mercury)",
                40,
                24,
                [
                    0x01, 0x08, 0xff, 0x01, 0xf8, 0x05, 0x04, 0x00, 0x05, 0x64, 0x06, 0x05, 0x00,
                    0x07, 0x14, 0x08, 0x0a, 0x20,
                ],
                r#""list":[{"Parameter":4,"Value":"00 05 64 06 05 00 07 14 08 0A 20"}]"#,
            ),
            (
                "candumpSample1.txt lines 13-15: Airmar's command to single-frame 65287",
                1,
                35,
                [
                    0x01, 0x07, 0xff, 0x00, 0xf8, 0x04, 0x01, 0x87, 0x98, 0x04, 0x01, 0x05, 0x01,
                    0x07, 0x78, 0x56, 0x34, 0x12,
                ],
                r#"{"Parameter":4,"Value":"01 05 01 07 78 56 34 12"}]"#,
            ),
        ];
        for (what, source, destination, data, want) in cases {
            let m = crate::n2k::Message {
                timestamp: 0,
                id: crate::can::CanId {
                    priority: 3,
                    pgn: 126208,
                    source,
                    destination,
                },
                data: &data,
            };
            let def = crate::pgn::select(126208, &data).expect("126208");
            let mut out = String::new();
            write_message(&mut out, Style::canboat(Units::Si), &m, def);
            assert!(out.contains(want), "{what}: {out}");
        }
    }

    #[test]
    fn fixed_point_is_what_the_formatter_writes() {
        let mut x = -2000.0f64;
        let mut seen = 0;
        while x < 2000.0 {
            for prec in 0..10 {
                for v in [x, x * 1e-3, x * 1e5, x / 7.0, -0.0, 0.0, 0.125, -0.0049] {
                    let mut ours = String::new();
                    write_fixed(&mut ours, v, prec);
                    assert_eq!(ours, format!("{:.*}", prec, v), "{v} {prec}");
                    seen += 1;
                }
            }
            x += 0.173;
        }
        assert!(seen > 1_000_000);
        for (raw, d, want) in [
            (0, 2, "0.00"),
            (5, 3, "0.005"),
            (-123, 1, "-12.3"),
            (42, 0, "42"),
        ] {
            let mut s = String::new();
            write_scaled_int(&mut s, raw, d);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn padded_digits() {
        for (v, w, want) in [
            (0, 2, "00"),
            (7, 2, "07"),
            (123, 2, "123"),
            (5, 4, "0005"),
            (0, 0, "0"),
        ] {
            let mut s = String::new();
            push_padded(&mut s, v, w);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn g_format() {
        assert_eq!(format_g(1.5), "1.5");
        assert_eq!(format_g(123456789.0), "1.23457e+08");
        assert_eq!(format_g(0.0001234), "0.0001234");
        assert_eq!(format_g(100.0), "100");
    }
}
