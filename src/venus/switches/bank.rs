//! The bytes of NMEA 2000 switching (docs/switching-alerts.md#switch-bank-pgns): 127501 Binary Switch
//! Bank Status in, 127502 Switch Bank Control and the 126208 Command to 127501 out,
//! and the 126208 Acknowledge a bank answers a command with. Both commands are
//! built by [`pgn::encode`] (the 126208 Command through `network::mgmt::command`).

use crate::pgn::{self, field, Put};

/// Binary Switch Bank Status.
pub const PGN_STATUS: u32 = 127501;
/// Switch Bank Control (deprecated by NMEA, still what many banks and plugins use).
pub const PGN_CONTROL: u32 = 127502;
/// Both are sent at priority 3 (canboat).
pub const PRIORITY: u8 = 3;
/// Indicators per bank.
pub const CHANNELS: usize = 28;

/// One indicator's 2-bit value (canboat `OFF_ON`; 2 is the error code, 3 "not
/// available": a channel the bank does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indicator {
    Off,
    On,
    Error,
    Unused,
}

impl Indicator {
    fn from_bits(b: u8) -> Indicator {
        match b & 3 {
            0 => Indicator::Off,
            1 => Indicator::On,
            2 => Indicator::Error,
            _ => Indicator::Unused,
        }
    }
}

/// A bank's status: its instance and every indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub instance: u8,
    pub indicators: [Indicator; CHANNELS],
}

/// Reads a 127501 payload; `None` when it is too short to hold the instance. A
/// short payload's missing indicators are "not available".
pub fn parse_status(data: &[u8]) -> Option<Status> {
    let (&instance, rest) = data.split_first()?;
    let mut indicators = [Indicator::Unused; CHANNELS];
    for (n, slot) in indicators.iter_mut().enumerate() {
        if let Some(byte) = rest.get(n / 4) {
            *slot = Indicator::from_bits(byte >> (2 * (n % 4)));
        }
    }
    Some(Status {
        instance,
        indicators,
    })
}

/// 127502 setting channel `channel` (0-based) of bank `instance` to `on`; every
/// other channel "take no action" (3, the field's not-available code), built by
/// [`pgn::encode`] from the definition.
pub fn control(instance: u8, channel: usize, on: bool) -> Vec<u8> {
    let field = format!("switch{}", channel + 1);
    let mut fields = vec![(field::INSTANCE, Put::Raw(u64::from(instance)))];
    if channel < CHANNELS {
        fields.push((field.as_str(), Put::Raw(u64::from(on))));
    }
    pgn::build(PGN_CONTROL, &fields).unwrap_or_default()
}

/// 126208 Command to 127501: field `channel + 2` (Indicator n is field n + 1) set to
/// `on`, priority unchanged. `selector`: the bank's instance as a first pair (field
/// 1), for a device with several banks; a device with one bank is addressed alone,
/// as the Maretron exchange in dirona-actisense-serial.raw shows.
pub fn command(selector: Option<u8>, channel: usize, on: bool) -> Vec<u8> {
    let indicator = (channel.min(CHANNELS - 1) + 2) as u8;
    let mut pairs = Vec::with_capacity(2);
    if let Some(i) = selector {
        pairs.push((1, u64::from(i)));
    }
    pairs.push((indicator, u64::from(on)));
    crate::network::mgmt::command(PGN_STATUS, &pairs)
}

/// What a 126208 Acknowledge says about a command to 127501: `Some(true)` all
/// done, `Some(false)` refused (a PGN, priority or parameter error), `None` when
/// it is not an acknowledge of 127501.
pub fn acknowledged(data: &[u8]) -> Option<bool> {
    let [2, a, b, c, errors, count, params @ ..] = data else {
        return None;
    };
    let pgn = u32::from(*a) | (u32::from(*b) << 8) | (u32::from(*c) << 16);
    if pgn != PGN_STATUS {
        return None;
    }
    let count = usize::from(*count);
    // Parameter error codes, two per byte, low nibble first.
    let param_ok = (0..count).all(|k| {
        params
            .get(k / 2)
            .is_none_or(|b| (b >> (4 * (k % 2))) & 0x0F == 0)
    });
    Some(*errors == 0 && param_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_dirona_frames() {
        // docs/switching-alerts.md#127501-binary-switch-bank-status, from dirona-actisense-serial.raw.
        let s = parse_status(&[0x09, 0x51, 0x05, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(s.instance, 9);
        let on: Vec<usize> = (0..CHANNELS)
            .filter(|&n| s.indicators[n] == Indicator::On)
            .map(|n| n + 1)
            .collect();
        assert_eq!(on, [1, 3, 4, 5, 6]);
        let s = parse_status(&[0x01, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
        assert_eq!(s.indicators[0], Indicator::Off);
        assert!(s.indicators[1..].iter().all(|&i| i == Indicator::Unused));
        assert!(parse_status(&[]).is_none());
        let short = parse_status(&[3, 0x01]).unwrap();
        assert_eq!(short.indicators[0], Indicator::On);
        assert_eq!(short.indicators[4], Indicator::Unused);
    }

    #[test]
    fn control_and_command_bytes() {
        // docs/switching-alerts.md#127502-switch-bank-control: indicator 3 of bank 9 on, nothing else.
        assert_eq!(
            control(9, 2, true),
            [0x09, 0xDF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(control(2, 4, false)[2], 0xFC);
        // docs/switching-alerts.md#126208-command-to-127501: the Maretron command, field 6 (Indicator 5) = Off, no selector.
        assert_eq!(
            command(None, 4, false),
            [1, 0x0D, 0xF2, 0x01, 0xF8, 1, 6, 0]
        );
        assert_eq!(
            command(Some(9), 0, true),
            [1, 0x0D, 0xF2, 0x01, 0xF8, 2, 1, 9, 2, 1]
        );
    }

    #[test]
    fn acknowledge_of_the_maretron_bank() {
        // docs/switching-alerts.md#126208-command-to-127501: node 72's answer.
        assert_eq!(acknowledged(&[2, 0x0D, 0xF2, 0x01, 0, 1, 0xF0]), Some(true));
        assert_eq!(
            acknowledged(&[2, 0x0D, 0xF2, 0x01, 1, 1, 0xF0]),
            Some(false)
        );
        assert_eq!(
            acknowledged(&[2, 0x0D, 0xF2, 0x01, 0, 1, 0xF3]),
            Some(false)
        );
        assert_eq!(acknowledged(&[2, 0x00, 0xEE, 0x00, 0, 1, 0xF0]), None);
        assert_eq!(acknowledged(&[1, 0x0D, 0xF2, 0x01, 0, 1, 0xF0]), None);
    }
}
