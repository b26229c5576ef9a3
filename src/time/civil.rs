//! Calendar conversions for log timestamps, without a time-zone database.
//!
//! Log formats carry UTC (or zone-less) civil times; the decoder prints ISO 8601.
//! Timestamps are microseconds since 1970-01-01T00:00:00Z ([`super::Micros`]).

use super::Micros;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Microseconds since the epoch of a civil date and time.
pub fn micros_from_civil(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: u32) -> Micros {
    let days = days_from_civil(y.clamp(-1_000_000, 1_000_000), mo, d);
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    secs.saturating_mul(1_000_000)
        .saturating_add(i64::from(micros))
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`, rounded to milliseconds as canboat does.
pub fn write_iso_millis(out: &mut String, t: Micros) {
    let ms = millis_as_canboat(t);
    let secs = ms.div_euclid(1000);
    write_civil(out, secs);
    out.push('.');
    push_padded(out, ms.rem_euclid(1000) as u64, 3);
    out.push('Z');
}

/// `t` in milliseconds, rounded as canboat's candump converter rounds: it prints the
/// seconds as a double with "%.3f". The double is within half a microsecond of `t`
/// (its error at today's dates is about 0.12 µs), so only a remainder of exactly
/// 500 µs can round either way; that case is decided by formatting the same double.
fn millis_as_canboat(t: Micros) -> i64 {
    let (floor, rest) = (t.div_euclid(1000), t.rem_euclid(1000));
    if rest != 500 {
        return floor + i64::from(rest > 500);
    }
    let text = format!("{:.3}", t as f64 / 1e6);
    text.replace('.', "").parse::<i64>().unwrap_or(floor)
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` since the epoch.
fn write_civil(out: &mut String, secs: i64) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    if (0..=9999).contains(&y) {
        push_padded(out, y as u64, 4);
    } else {
        use std::fmt::Write;
        let _ = write!(out, "{y:04}");
    }
    out.push('-');
    push_padded(out, u64::from(m), 2);
    out.push('-');
    push_padded(out, u64::from(d), 2);
    out.push('T');
    push_hms(out, secs.rem_euclid(86_400) as u64);
}

/// Appends `HH:MM:SS` of `secs` (hours beyond 99 in as many digits as they need).
pub fn push_hms(out: &mut String, secs: u64) {
    push_padded(out, secs / 3600, 2);
    out.push(':');
    push_padded(out, secs / 60 % 60, 2);
    out.push(':');
    push_padded(out, secs % 60, 2);
}

/// Appends `v` in decimal, zero-padded to `width` digits (more if it needs more):
/// the digits of timestamps and JSON numbers, without the formatter.
pub fn push_padded(out: &mut String, v: u64, width: usize) {
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    let mut n = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let first = buf.len() - width.min(buf.len());
    while i > first {
        i -= 1;
        buf[i] = b'0';
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`.
pub fn write_iso_micros(out: &mut String, t: Micros) {
    write_civil(out, t.div_euclid(1_000_000));
    out.push('.');
    push_padded(out, t.rem_euclid(1_000_000) as u64, 6);
    out.push('Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2014, 8, 15), 16297); // canboat: 16297 = 2014.08.15
        assert_eq!(civil_from_days(16297), (2014, 8, 15));
        assert_eq!(civil_from_days(20203), (2025, 4, 25));
        for z in [-1000, 0, 59, 60, 11016, 20000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn formats_iso() {
        let mut s = String::new();
        write_iso_millis(&mut s, micros_from_civil(2017, 8, 17, 15, 47, 46, 421_964));
        assert_eq!(s, "2017-08-17T15:47:46.422Z");
        s.clear();
        write_iso_micros(&mut s, micros_from_civil(1969, 12, 31, 23, 59, 59, 5));
        assert_eq!(s, "1969-12-31T23:59:59.000005Z");
    }

    #[test]
    fn millis_round_as_printf_rounds_the_double() {
        // Every remainder, at dates across the range, against "%.3f" of the double.
        for base in [
            0i64,
            1_000_000,
            1_456_689_417_000_000,
            1_598_104_356_000_000,
            4_102_444_800_000_000,
        ] {
            for rest in (0..2_000).chain(999_000..1_001_000) {
                let t = base + rest;
                let text = format!("{:.3}", t as f64 / 1e6);
                let want: i64 = text.replace('.', "").parse().unwrap();
                assert_eq!(millis_as_canboat(t), want, "{t}");
            }
        }
    }
}
