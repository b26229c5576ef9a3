//! Yacht Devices RAW (YDWG-02, YDEN-02): `00:29:58.617 R 0DFF180D A2 8C 50 C0 FF FF FF FF`.
//!
//! The format holds the time of day only; records are stamped on day 0 (1970-01-01).

use super::canboat::parse_time_of_day;
use super::hex;
use super::Record;
use crate::can::Frame;

pub fn parse(line: &str) -> Result<Option<Record>, &'static str> {
    let mut toks = line.split_ascii_whitespace();
    let time = toks.next().ok_or("expected a time of day")?;
    let (h, m, s, us) = parse_time_of_day(time).ok_or("expected a time of day HH:MM:SS.mmm")?;
    match toks.next() {
        Some("R" | "T") => {}
        _ => return Err("expected R or T after the time"),
    }
    let id = toks.next().ok_or("expected a CAN id")?;
    if id.len() != 8 {
        return Err("expected an 8-digit CAN id");
    }
    let raw = hex::parse_u32(id).ok_or("expected a hexadecimal CAN id")?;
    let mut buf = [0u8; 8];
    let mut n = 0;
    for t in toks {
        if n == 8 {
            return Err("expected at most 8 data bytes");
        }
        buf[n] = hex::parse_u8(t).ok_or("expected data bytes as hex pairs")?;
        n += 1;
    }
    let t = (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1_000_000 + i64::from(us);
    Ok(Some(Record::Frame(Frame::new(t, raw, &buf[..n]))))
}
