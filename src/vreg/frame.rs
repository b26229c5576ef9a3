//! VREG payloads: what a received one says, and the ones we send.

/// The first two payload bytes of every VREG message: manufacturer code 358
/// (Victron), reserved bits, industry 4 (marine), as a u16 LE `0x9966`.
pub const TAG: [u8; 2] = [0x66, 0x99];

const VREQ: u16 = 0x0001;
const VACK: u16 = 0x0002;
const PING: u16 = 0x0003;

/// What a VREG payload says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vreg<'a> {
    /// "Send me every register `r` with `r & mask == register & mask`"; mask 0xFFFF
    /// asks for one register.
    Request { register: u16, mask: u16 },
    /// An acknowledgement or an error report about `register`.
    Ack(Vack),
    /// A liveness check; its bytes come back in the answer.
    Ping(&'a [u8]),
    /// A register's value: broadcast, an answer or a spontaneous report; addressed, a
    /// write.
    Value { register: u16, value: &'a [u8] },
}

/// A VACK: the register it is about, and the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vack {
    pub register: u16,
    pub code: VackCode,
}

/// VACK codes (bit 15 set: an error), from velib's VE.Can sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VackCode {
    Ok,
    /// 0x8000: the register of a request is unknown.
    UnknownInRequest,
    /// 0x8100: the register of a write is unknown.
    UnknownInCommand,
    /// 0x8200: busy, try again.
    Busy,
    /// 0x8300: the value or its format is invalid (e.g. a mode out of range).
    InvalidValue,
    /// 0x8400: a remote part did not answer in time.
    RemoteTimeout,
    /// 0x8500: too many invalid requests.
    Overflow,
    /// 0x8600: still initialising.
    Initialising,
    /// 0xC001: a panel owns the device mode (VE.Bus), the write is refused.
    PanelOwnsMode,
    /// Any other code (firmware update progress and errors among them).
    Other(u16),
}

impl VackCode {
    /// The code of its number on the bus.
    pub fn from_u16(code: u16) -> VackCode {
        match code {
            0x0000 => VackCode::Ok,
            0x8000 => VackCode::UnknownInRequest,
            0x8100 => VackCode::UnknownInCommand,
            0x8200 => VackCode::Busy,
            0x8300 => VackCode::InvalidValue,
            0x8400 => VackCode::RemoteTimeout,
            0x8500 => VackCode::Overflow,
            0x8600 => VackCode::Initialising,
            0xC001 => VackCode::PanelOwnsMode,
            other => VackCode::Other(other),
        }
    }

    /// The code's number on the bus.
    pub fn number(self) -> u16 {
        match self {
            VackCode::Ok => 0x0000,
            VackCode::UnknownInRequest => 0x8000,
            VackCode::UnknownInCommand => 0x8100,
            VackCode::Busy => 0x8200,
            VackCode::InvalidValue => 0x8300,
            VackCode::RemoteTimeout => 0x8400,
            VackCode::Overflow => 0x8500,
            VackCode::Initialising => 0x8600,
            VackCode::PanelOwnsMode => 0xC001,
            VackCode::Other(c) => c,
        }
    }

    /// What a client's register request that could not be carried out (no such
    /// device, listen-only, no answer) is told: the device's "unknown register"
    /// code for a read (`write` false) or a write, as VregLink clients expect.
    pub fn failed(write: bool) -> VackCode {
        if write {
            VackCode::UnknownInCommand
        } else {
            VackCode::UnknownInRequest
        }
    }

    /// Whether the device does not know the register.
    pub fn is_unknown_register(self) -> bool {
        matches!(
            self,
            VackCode::UnknownInRequest | VackCode::UnknownInCommand
        )
    }

    /// Whether the code reports an error.
    pub fn is_error(self) -> bool {
        match self {
            VackCode::Ok => false,
            VackCode::Other(c) => c & 0x8000 != 0,
            _ => true,
        }
    }
}

impl std::fmt::Display for VackCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self {
            VackCode::Ok => "ok",
            VackCode::UnknownInRequest => "unknown register (request)",
            VackCode::UnknownInCommand => "unknown register (write)",
            VackCode::Busy => "busy",
            VackCode::InvalidValue => "invalid value",
            VackCode::RemoteTimeout => "remote timeout",
            VackCode::Overflow => "too many invalid requests",
            VackCode::Initialising => "initialising",
            VackCode::PanelOwnsMode => "a panel owns the mode",
            VackCode::Other(_) => "code",
        };
        write!(f, "{what} (VACK 0x{:04X})", self.number())
    }
}

/// Reads a VREG payload; `None` when it is not one (too short, or another maker's
/// use of the proprietary PGN: 61184 is shared, the tag tells).
pub fn parse(payload: &[u8]) -> Option<Vreg<'_>> {
    if payload.len() < 4 || payload[..2] != TAG {
        return None;
    }
    let register = u16::from_le_bytes([payload[2], payload[3]]);
    let rest = &payload[4..];
    let word = |i: usize| Some(u16::from_le_bytes([*rest.get(i)?, *rest.get(i + 1)?]));
    Some(match register {
        VREQ => Vreg::Request {
            register: word(0)?,
            mask: word(2)?,
        },
        VACK => Vreg::Ack(Vack {
            register: word(0)?,
            code: VackCode::from_u16(word(2)?),
        }),
        PING => Vreg::Ping(rest),
        register => Vreg::Value {
            register,
            value: rest,
        },
    })
}

/// The payload of a request for `register` (mask 0xFFFF: that one register).
pub fn request(register: u16, mask: u16) -> [u8; 8] {
    let [r0, r1] = register.to_le_bytes();
    let [m0, m1] = mask.to_le_bytes();
    [TAG[0], TAG[1], 0x01, 0x00, r0, r1, m0, m1]
}

/// The payload of a write (addressed) or broadcast of `register` = `value`. Up to
/// four value bytes fit one frame, padded with zeros as Victron's own frames are
/// (canboat's sample: `66 99 02 20 F8 04 00 00`); longer values travel on PGN 126720.
pub fn value(register: u16, value: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8.max(4 + value.len()));
    p.extend_from_slice(&TAG);
    p.extend_from_slice(&register.to_le_bytes());
    p.extend_from_slice(value);
    if p.len() < 8 {
        p.resize(8, 0);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canboat_sample_and_the_special_registers() {
        assert_eq!(
            parse(&[0x66, 0x99, 0x02, 0x20, 0xF8, 0x04, 0x00, 0x00]),
            Some(Vreg::Value {
                register: 0x2002,
                value: &[0xF8, 0x04, 0x00, 0x00]
            })
        );
        assert_eq!(
            parse(&request(0x0100, 0xFF00)),
            Some(Vreg::Request {
                register: 0x0100,
                mask: 0xFF00
            })
        );
        // "Unknown register 0xEDD5 in a command" (docs/vecan-products.md#special-registers).
        assert_eq!(
            parse(&[0x66, 0x99, 0x02, 0x00, 0xD5, 0xED, 0x00, 0x81]),
            Some(Vreg::Ack(Vack {
                register: 0xEDD5,
                code: VackCode::UnknownInCommand
            }))
        );
        assert!(VackCode::from_u16(0x8300).is_error());
        assert!(!VackCode::from_u16(0x0100).is_error());
        assert_eq!(
            parse(&[0x66, 0x99, 0x03, 0x00, 1, 2, 3, 4]),
            Some(Vreg::Ping(&[1, 2, 3, 4]))
        );
    }

    #[test]
    fn other_makers_and_short_payloads_are_not_vreg() {
        // Raymarine's use of 61184 (manufacturer 1851).
        assert_eq!(parse(&[0x3B, 0x9F, 0x01, 0x00, 0, 0, 0, 0]), None);
        assert_eq!(parse(&[0x66, 0x99, 0x01]), None);
        assert_eq!(
            parse(&[0x66, 0x99, 0x01, 0x00, 0x00]),
            None,
            "a VREQ without its mask"
        );
    }

    #[test]
    fn values_are_padded_to_a_frame() {
        assert_eq!(
            value(0x2001, &[0x70, 0x05]),
            [0x66, 0x99, 0x01, 0x20, 0x70, 0x05, 0, 0]
        );
        assert_eq!(value(0x010B, b"SmartSolar MPPT").len(), 4 + 15);
    }
}
