//! canboat's PLAIN and FAST formats: `timestamp,prio,pgn,src,dst,len,b0,b1,…`.
//!
//! PLAIN has one CAN frame per line (fast-packet frames as their raw 8 bytes); FAST
//! has one reassembled message per line. Like canboat's analyzer, a file counts as
//! FAST from the first line whose length exceeds 8 bytes.

use super::hex;
use super::{ParseState, RawMessage, Record};
use crate::can::{CanId, Frame, Micros};
use crate::time::micros_from_civil;

/// The most data a line may carry: the ISO transport protocol maximum.
const MAX_LEN: usize = 1785;

pub fn parse(line: &str, state: &mut ParseState) -> Result<Option<Record>, &'static str> {
    // Columns split on the byte: a line is tens of short columns, and a byte
    // split is much cheaper than a `char` pattern search per column.
    let mut cols = line
        .as_bytes()
        .split(|&b| b == b',')
        .map(|c| std::str::from_utf8(c).unwrap_or(""));
    let ts = cols.next().ok_or("expected a timestamp")?;
    let timestamp = parse_timestamp(ts.trim())
        .ok_or("expected a timestamp like 2011-04-25-06:25:03.603 or 2011-04-25T06:25:03.603Z")?;
    let mut num = |what: &'static str| -> Result<u32, &'static str> {
        cols.next()
            .and_then(|c| parse_decimal(c.trim_ascii()))
            .ok_or(what)
    };
    let priority = num("expected a priority 0-7")?;
    let pgn = num("expected a decimal PGN")?;
    let source = num("expected a decimal source address")?;
    let destination = num("expected a decimal destination address")?;
    let len = num("expected a decimal length")? as usize;
    if priority > 7 || source > 255 || destination > 255 || pgn > 0xFF_FFFF {
        return Err("expected priority 0-7, addresses 0-255 and a PGN below 2^24");
    }
    if len > MAX_LEN {
        return Err("expected a length of at most 1785 bytes");
    }
    let mut data = Vec::with_capacity(len);
    for c in cols {
        let c = c.trim_ascii();
        if c.is_empty() && data.len() == len {
            continue; // a trailing comma
        }
        if data.len() == len {
            return Err("expected no more data bytes than the length says");
        }
        data.push(hex::parse_u8(c).ok_or("expected data bytes as hex pairs")?);
    }
    if data.len() != len {
        return Err("expected as many data bytes as the length says");
    }
    let id = CanId {
        priority: priority as u8,
        pgn,
        source: source as u8,
        destination: destination as u8,
    };
    if len > 8 {
        state.coalesced = true;
    }
    let raw = id.to_raw();
    match raw {
        Ok(raw) if !state.coalesced => Ok(Some(Record::Frame(Frame::new(timestamp, raw, &data)))),
        _ => Ok(Some(Record::Message(RawMessage {
            timestamp,
            id,
            data,
        }))),
    }
}

/// A decimal number of at most nine digits.
fn parse_decimal(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.bytes().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// `2011-04-25-06:25:03.603`, `2011-04-25T06:25:03.603Z` or without fraction.
fn parse_timestamp(ts: &str) -> Option<Micros> {
    if ts.len() < 19 || !ts.is_char_boundary(10) {
        return None;
    }
    let (date, time) = ts.split_at(10);
    let time = time.strip_prefix(['-', 'T', ' '])?;
    parse_civil(date, time)
}

/// A `YYYY-MM-DD` date and an `HH:MM:SS[.fraction][Z]` time.
pub fn parse_civil(date: &str, time: &str) -> Option<Micros> {
    let mut d = date.split('-');
    let y: i64 = d.next()?.parse().ok()?;
    let mo: u32 = d.next()?.parse().ok()?;
    let da: u32 = d.next()?.parse().ok()?;
    if d.next().is_some() {
        return None;
    }
    let (h, mi, s, us) = parse_time_of_day(time.trim_end_matches('Z'))?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || !(0..=9999).contains(&y) {
        return None;
    }
    Some(micros_from_civil(y, mo, da, h, mi, s, us))
}

/// `HH:MM:SS[.fraction]` as (hours, minutes, seconds, microseconds).
pub fn parse_time_of_day(t: &str) -> Option<(u32, u32, u32, u32)> {
    let mut p = t.split(':');
    let h: u32 = p.next()?.parse().ok()?;
    let mi: u32 = p.next()?.parse().ok()?;
    let sec = p.next()?;
    if p.next().is_some() {
        return None;
    }
    let (s, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let s: u32 = s.parse().ok()?;
    if h > 23 || mi > 59 || s > 60 || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut us = 0u32;
    for i in 0..6 {
        us = us * 10 + frac.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
    }
    Some((h, mi, s, us))
}
