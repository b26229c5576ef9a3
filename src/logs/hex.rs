//! Hex digits without allocation, for the hot path of log parsing.

#[inline]
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A hex number of 1–8 digits, with an optional `0x` prefix.
pub fn parse_u32(s: &str) -> Option<u32> {
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    s.bytes()
        .try_fold(0u32, |acc, c| Some((acc << 4) | u32::from(nibble(c)?)))
}

/// One byte written as one or two hex digits.
#[inline]
pub fn parse_u8(s: impl AsRef<[u8]>) -> Option<u8> {
    let b = s.as_ref();
    match b.len() {
        1 => nibble(b[0]),
        2 => Some((nibble(b[0])? << 4) | nibble(b[1])?),
        _ => None,
    }
}

/// Packed hex digits (`1A2B3C`, optionally with `.` separators) into `out`.
pub fn parse_packed(s: &str, out: &mut [u8; 8]) -> Option<usize> {
    let digits: &[u8] = s.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < digits.len() {
        if digits[i] == b'.' {
            i += 1;
            continue;
        }
        if i + 1 >= digits.len() || n == 8 {
            return None;
        }
        out[n] = (nibble(digits[i])? << 4) | nibble(digits[i + 1])?;
        n += 1;
        i += 2;
    }
    Some(n)
}
