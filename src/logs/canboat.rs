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

/// One line. Columns are split and parsed as bytes: the line is known to be text,
/// and a capture is millions of such lines.
pub fn parse(line: &str, state: &mut ParseState) -> Result<Option<Record>, &'static str> {
    let mut cols = line.as_bytes().split(|&b| b == b',');
    let ts = cols.next().ok_or("expected a timestamp")?;
    let timestamp = parse_timestamp(trim(ts), &mut state.day)
        .ok_or("expected a timestamp like 2011-04-25-06:25:03.603 or 2011-04-25T06:25:03.603Z")?;
    let mut num = |what: &'static str| -> Result<u32, &'static str> {
        cols.next().and_then(|c| parse_decimal(trim(c))).ok_or(what)
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
    // A frame's bytes stay on the stack; only a reassembled message allocates.
    let mut frame = [0u8; 8];
    let mut message = Vec::new();
    if len > frame.len() {
        message.reserve_exact(len);
    }
    let mut n = 0;
    for c in cols {
        let c = trim(c);
        if c.is_empty() && n == len {
            continue; // a trailing comma
        }
        if n == len {
            return Err("expected no more data bytes than the length says");
        }
        let b = hex::parse_u8(c).ok_or("expected data bytes as hex pairs")?;
        match frame.get_mut(n) {
            Some(slot) if len <= 8 => *slot = b,
            _ => message.push(b),
        }
        n += 1;
    }
    if n != len {
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
        Ok(raw) if !state.coalesced => Ok(Some(Record::Frame(Frame::new(
            timestamp,
            raw,
            &frame[..len],
        )))),
        _ => Ok(Some(Record::Message(RawMessage {
            timestamp,
            id,
            data: if len > 8 {
                message
            } else {
                frame[..len].to_vec()
            },
        }))),
    }
}

/// `c` without surrounding blanks; most columns have none.
#[inline]
fn trim(c: &[u8]) -> &[u8] {
    match (c.first(), c.last()) {
        (Some(f), Some(l)) if !f.is_ascii_whitespace() && !l.is_ascii_whitespace() => c,
        _ => c.trim_ascii(),
    }
}

/// A decimal number of at most nine digits.
#[inline]
fn parse_decimal(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// `2011-04-25-06:25:03.603`, `2011-04-25T06:25:03.603Z` or without fraction.
/// `day` keeps the last date and its midnight: every line repeats the date, and
/// converting it would be a good part of a line's cost.
fn parse_timestamp(ts: &[u8], day: &mut Option<([u8; 10], Micros)>) -> Option<Micros> {
    let (date, time) = ts.split_at_checked(10)?;
    let time = match time.split_first() {
        Some((b'-' | b'T' | b' ', rest)) if ts.len() >= 19 => rest,
        _ => return None,
    };
    let time = match time {
        [rest @ .., b'Z'] => rest,
        _ => time,
    };
    let (h, mi, s, us) = time_of_day(time)?;
    let midnight = match day {
        Some((d, midnight)) if d.as_slice() == date => *midnight,
        _ => {
            let midnight = parse_civil(std::str::from_utf8(date).ok()?, "00:00:00")?;
            *day = Some((date.try_into().ok()?, midnight));
            midnight
        }
    };
    let secs = i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    Some(midnight + secs * 1_000_000 + i64::from(us))
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
    time_of_day(t.as_bytes())
}

/// [`parse_time_of_day`] on bytes; two digits each, the common case, first.
fn time_of_day(t: &[u8]) -> Option<(u32, u32, u32, u32)> {
    let two = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    };
    if let [h1, h2, b':', m1, m2, b':', s1, s2, rest @ ..] = t {
        if let (Some(h), Some(mi), Some(s)) = (two(*h1, *h2), two(*m1, *m2), two(*s1, *s2)) {
            let frac = match rest {
                [] => Some(&[][..]),
                [b'.', frac @ ..] => Some(frac),
                _ => None,
            };
            if let Some(frac) = frac {
                return checked(h, mi, s, frac);
            }
        }
    }
    let mut p = t.split(|&b| b == b':');
    let h = parse_decimal(p.next()?)?;
    let mi = parse_decimal(p.next()?)?;
    let sec = p.next()?;
    if p.next().is_some() {
        return None;
    }
    let (s, frac) = match sec.iter().position(|&b| b == b'.') {
        Some(dot) => (&sec[..dot], &sec[dot + 1..]),
        None => (sec, &[][..]),
    };
    let s = parse_decimal(s)?;
    checked(h, mi, s, frac)
}

/// Hours, minutes, seconds and the fraction's digits, each in its range.
fn checked(h: u32, mi: u32, s: u32, frac: &[u8]) -> Option<(u32, u32, u32, u32)> {
    if h > 23 || mi > 59 || s > 60 || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut us = 0u32;
    for i in 0..6 {
        us = us * 10 + frac.get(i).map_or(0, |b| u32::from(b - b'0'));
    }
    Some((h, mi, s, us))
}
