//! Little-endian bit extraction, as NMEA 2000 packs fields (LSB first).

/// Reads `bits` (1–64) bits starting at bit `offset` of `data`.
///
/// Returns `None` when the field does not lie entirely inside `data`.
#[inline]
pub fn read(data: &[u8], offset: usize, bits: usize) -> Option<u64> {
    if bits == 0 || bits > 64 || offset + bits > data.len() * 8 {
        return None;
    }
    let first = offset / 8;
    let shift = offset % 8;
    let last = (offset + bits - 1) / 8;
    let mut acc: u128 = 0;
    for (i, b) in data[first..=last].iter().enumerate() {
        acc |= u128::from(*b) << (8 * i);
    }
    let value = (acc >> shift) as u64;
    Some(if bits == 64 {
        value
    } else {
        value & ((1u64 << bits) - 1)
    })
}

/// Sign-extends the low `bits` bits of `raw`.
#[inline]
pub fn sign_extend(raw: u64, bits: usize) -> i64 {
    if bits == 0 || bits >= 64 {
        return raw as i64;
    }
    let shift = 64 - bits;
    ((raw << shift) as i64) >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_unaligned_fields() {
        // 60928 payload of a Garmin display: unique 2007045, manufacturer 229.
        let d = [0x05, 0xA0, 0xBE, 0x1C, 0x00, 0xA0, 0xA0, 0xC0];
        assert_eq!(read(&d, 0, 21), Some(2_007_045));
        assert_eq!(read(&d, 21, 11), Some(229));
        assert_eq!(read(&d, 49, 7), Some(80));
        assert_eq!(read(&d, 60, 3), Some(4));
        assert_eq!(read(&d, 63, 1), Some(1));
        assert_eq!(read(&d, 0, 64), Some(0xC0A0_A000_1CBE_A005));
        assert_eq!(read(&d, 60, 5), None);
    }

    #[test]
    fn sign_extension() {
        assert_eq!(sign_extend(0xFFFF, 16), -1);
        assert_eq!(sign_extend(0x7FFF, 16), 32767);
        assert_eq!(sign_extend(0x8, 4), -8);
    }
}
