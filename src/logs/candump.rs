//! The can-utils formats: `candump -l/-L` log lines, candump's default ASCII output
//! (with or without a `-t` timestamp) and the old "Angstrom" form.

use super::hex;
use super::{ParseState, Record};
use crate::can::{Frame, Micros};

type Parsed = Result<Option<Record>, &'static str>;

/// `(1436509052.249713) can0 09F8027F#1A2B3C4D5E6F7081` with an optional ` R`/` T`.
pub fn parse_log(line: &str, state: &mut ParseState) -> Parsed {
    // The hot path of reading a capture: byte positions, no pattern searches.
    let rest = line
        .trim_ascii_start()
        .strip_prefix('(')
        .ok_or("expected '(' and a timestamp")?;
    let close = byte_at(rest, b')').ok_or("expected ')' after the timestamp")?;
    let (ts, rest) = (&rest[..close], &rest[close + 1..]);
    let timestamp =
        parse_seconds(ts).ok_or("expected a timestamp of seconds with 6 or 9 decimals")?;
    let mut toks = rest.split_ascii_whitespace();
    let iface = toks.next().ok_or("expected an interface name")?;
    let frame = toks.next().ok_or("expected ID#DATA")?;
    match toks.next() {
        None | Some("R" | "T") => {}
        Some(_) => return Err("expected nothing after ID#DATA but an R or T direction"),
    }
    remember_interface(state, iface);
    let hash = byte_at(frame, b'#').ok_or("expected '#' after the CAN id")?;
    let (id, data) = (&frame[..hash], &frame[hash + 1..]);
    if data.starts_with('#') {
        return Ok(None); // CAN FD: not NMEA 2000
    }
    if data.starts_with('R') {
        return Ok(None); // remote frame: never used by NMEA 2000
    }
    let Some(raw) = extended_id(id)? else {
        return Ok(None);
    };
    if raw & 0x2000_0000 != 0 {
        return Ok(None); // error frame
    }
    let data = byte_at(data, b'_').map_or(data, |k| &data[..k]);
    let mut buf = [0u8; 8];
    let n = hex::parse_packed(data, &mut buf)
        .ok_or("expected 0-8 data bytes as pairs of hex digits")?;
    Ok(Some(Record::Frame(Frame::new(timestamp, raw, &buf[..n]))))
}

/// A 29-bit CAN id of 8 hex digits; `None` for an 11-bit one (3 digits), which is
/// not NMEA 2000 and is skipped.
fn extended_id(id: &str) -> Result<Option<u32>, &'static str> {
    if id.len() != 8 {
        return if id.len() == 3 && hex::parse_u32(id).is_some() {
            Ok(None)
        } else {
            Err("expected an 8-digit CAN id")
        };
    }
    hex::parse_u32(id)
        .map(Some)
        .ok_or("expected a hexadecimal CAN id")
}

/// The position of the ASCII byte `b` in `s` (a boundary, since `b` is ASCII).
fn byte_at(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// `  can0  09F8027F   [8]  1A 2B 3C 4D 5E 6F 70 81`, optionally preceded by
/// `(seconds)` (`-ta`, `-td`, `-tz`) or `(YYYY-MM-DD HH:MM:SS.uuuuuu)` (`-tA`).
pub fn parse_ascii(line: &str, state: &mut ParseState) -> Parsed {
    let mut rest = line.trim_start();
    let mut timestamp = 0;
    if let Some(r) = rest.strip_prefix('(') {
        let (ts, r) = r
            .split_once(')')
            .ok_or("expected ')' after the timestamp")?;
        timestamp = parse_seconds(ts)
            .or_else(|| parse_date_time(ts))
            .ok_or("expected a timestamp of seconds or `YYYY-MM-DD HH:MM:SS.uuuuuu`")?;
        rest = r;
    }
    let mut toks = rest.split_ascii_whitespace();
    let iface = toks.next().ok_or("expected an interface name")?;
    let id = toks.next().ok_or("expected a CAN id")?;
    let dlc = toks.next().ok_or("expected [DLC]")?;
    remember_interface(state, iface);
    let dlc = dlc
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .ok_or("expected [DLC] after the CAN id")?;
    let Some(raw) = extended_id(id)? else {
        return Ok(None);
    };
    if dlc.len() == 2 {
        return Ok(None); // CAN FD length: not NMEA 2000
    }
    let dlc: usize = dlc.parse().map_err(|_| "expected a DLC of 0-8")?;
    if dlc > 8 {
        return Err("expected a DLC of 0-8");
    }
    if toks.clone().next() == Some("remote") {
        return Ok(None);
    }
    if raw & 0x2000_0000 != 0 {
        return Ok(None);
    }
    let (buf, n) = data_bytes(toks, dlc)?;
    Ok(Some(Record::Frame(Frame::new(timestamp, raw, &buf[..n]))))
}

/// `<0x18eeff01> [8] 05 a0 be 1c 00 a0 a0 c0`.
pub fn parse_angstrom(line: &str) -> Parsed {
    let mut toks = line.split_ascii_whitespace();
    let id = toks.next().ok_or("expected <0xID>")?;
    let id = id
        .strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .ok_or("expected <0xID>")?;
    let raw = hex::parse_u32(id).ok_or("expected a hexadecimal CAN id in <0x…>")?;
    let dlc = toks.next().ok_or("expected [DLC]")?;
    let dlc: usize = dlc
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .and_then(|d| d.parse().ok())
        .filter(|&d| d <= 8)
        .ok_or("expected [DLC] of 0-8")?;
    let (buf, n) = data_bytes(toks, dlc)?;
    Ok(Some(Record::Frame(Frame::new(0, raw, &buf[..n]))))
}

/// `dlc` space-separated hex bytes; anything after them (candump `-a` ASCII) is ignored.
fn data_bytes<'a>(
    mut toks: impl Iterator<Item = &'a str>,
    dlc: usize,
) -> Result<([u8; 8], usize), &'static str> {
    let mut buf = [0u8; 8];
    for b in buf.iter_mut().take(dlc) {
        *b = toks
            .next()
            .and_then(hex::parse_u8)
            .ok_or("expected as many hex data bytes as the DLC says")?;
    }
    Ok((buf, dlc))
}

/// Keeps the first interface the capture names.
fn remember_interface(state: &mut ParseState, iface: &str) {
    if state.interface.is_none() {
        state.interface = Some(iface.to_string());
    }
}

/// `1436509052.249713` (6 or 9 decimals; candump `-t` relative forms too) in µs.
pub fn parse_seconds(s: &str) -> Option<Micros> {
    let s = s.trim_ascii();
    let dot = byte_at(s, b'.')?;
    let (int, frac) = (&s[..dot], &s[dot + 1..]);
    if int.is_empty() || int.len() > 12 || !(frac.len() == 6 || frac.len() == 9) || !frac.is_ascii()
    {
        return None;
    }
    let digits = |t: &str| {
        t.bytes().try_fold(0i64, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    let secs = digits(int)?;
    let micros = digits(&frac[..6])?;
    digits(&frac[6..])?;
    Some(secs * 1_000_000 + micros)
}

/// `2015-07-10 08:17:32.249713` (candump `-tA`, local time taken as UTC).
fn parse_date_time(s: &str) -> Option<Micros> {
    let (date, time) = s.trim().split_once(' ')?;
    super::canboat::parse_civil(date, time)
}
