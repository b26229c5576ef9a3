//! The network management messages the core reads and writes: ISO Request and
//! Acknowledgement, address claim, commanded address, heartbeat, product and
//! configuration information, PGN lists.
//!
//! What the core sends is built by [`pgn::encode`] from the definitions, as every
//! other payload is. Product and configuration information are read with the
//! data-driven decoder, so their strings come out exactly as the decoder shows
//! them everywhere else; the rest are a few fixed bytes, read here.

use crate::pgn::{self, def, field, FieldDef, Put, Text, Value, Visitor};

use super::Name;

/// ISO Acknowledgement (ACK / NAK).
pub const PGN_ISO_ACK: u32 = 59392;
/// ISO Request: "send me this PGN".
pub const PGN_ISO_REQUEST: u32 = 59904;
/// ISO Address Claim: the NAME, from the claimed address.
pub const PGN_ADDRESS_CLAIM: u32 = 60928;
/// ISO Commanded Address: NAME + new address, by ISO TP.
pub const PGN_COMMANDED_ADDRESS: u32 = 65240;
/// NMEA group function (request, command, acknowledge, read and write fields).
pub const PGN_GROUP_FUNCTION: u32 = 126208;
/// Transmit and receive PGN lists.
pub const PGN_PGN_LIST: u32 = 126464;
/// Heartbeat, announcing the sender's heartbeat interval.
pub const PGN_HEARTBEAT: u32 = 126993;
/// Product information: model, firmware, serial.
pub const PGN_PRODUCT_INFO: u32 = 126996;
/// Configuration information: installation descriptions, manufacturer information.
pub const PGN_CONFIG_INFO: u32 = 126998;

/// The source address of a node that has no address (cannot claim, or not yet).
pub const NULL_ADDRESS: u8 = 254;

/// The PGN an ISO Request asks for; requests are 3 bytes, some senders pad to 8.
pub fn parse_request(data: &[u8]) -> Option<u32> {
    match data {
        [a, b, c, rest @ ..] if rest.len() <= 5 => {
            Some(u32::from(*a) | (u32::from(*b) << 8) | (u32::from(*c) << 16))
        }
        _ => None,
    }
}

/// An ISO Request for `pgn` (3 bytes, no padding, as NMEA 2000 asks).
pub fn request(pgn: u32) -> Vec<u8> {
    built(PGN_ISO_REQUEST, &[(field::PGN, Put::Raw(u64::from(pgn)))])
}

/// The payload of `pgn` with `values`, by its own definition.
fn built(pgn: u32, values: &[(&str, Put<'_>)]) -> Vec<u8> {
    encoded(pgn::definition(pgn), pgn, values)
}

/// The payload of 126208's variant `id` with `values`.
pub fn group_function(id: &str, values: &[(&str, Put<'_>)]) -> Vec<u8> {
    encoded(
        pgn::variant(PGN_GROUP_FUNCTION, id),
        PGN_GROUP_FUNCTION,
        values,
    )
}

/// `values` encoded by `def`. Every value here is one its definition carries (the
/// unit tests hold each builder to its bytes), so a failure is a definition
/// changed under the code: logged, and sent as nothing.
fn encoded(def: Option<&pgn::PgnDef>, pgn: u32, values: &[(&str, Put<'_>)]) -> Vec<u8> {
    let payload = def
        .ok_or(pgn::EncodeError::NoDefinition(pgn))
        .and_then(|d| pgn::encode(d, values));
    payload.unwrap_or_else(|e| {
        tracing::error!("{e}");
        Vec::new()
    })
}

/// A NAK: "I do not send `pgn`", the answer to an addressed request we cannot serve.
pub fn nak(pgn: u32) -> Vec<u8> {
    built(
        PGN_ISO_ACK,
        &[
            (field::CONTROL, Put::Raw(1)),
            (field::GROUP_FUNCTION, Put::Raw(0xFF)),
            (field::PGN, Put::Raw(u64::from(pgn))),
        ],
    )
}

/// A 126208 group function, as far as our own nodes act on it (`docs/nmea2000.md#group-functions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupFunction<'a> {
    /// Request (0) for `pgn`: a new transmission interval (`None`: unchanged) and
    /// the number of (parameter, value) pairs that filter who answers.
    Request {
        pgn: u32,
        interval_ms: Option<u32>,
        pairs: u8,
    },
    /// Command (1): set `count` fields of `pgn`; `pairs` holds them as sent
    /// (field number, then the value in the field's width rounded up to bytes).
    Command {
        pgn: u32,
        count: u8,
        pairs: &'a [u8],
    },
    /// Acknowledge, read or write fields: not acted on.
    Other { function: u8, pgn: u32 },
}

/// Reads a 126208 payload; `None` when too short for its variant.
pub fn parse_group_function(data: &[u8]) -> Option<GroupFunction<'_>> {
    let (&function, rest) = data.split_first()?;
    let pgn = match rest {
        [a, b, c, ..] => u32::from(*a) | (u32::from(*b) << 8) | (u32::from(*c) << 16),
        _ => return None,
    };
    Some(match function {
        0 => {
            let r = data.get(4..11)?;
            let interval = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            GroupFunction::Request {
                pgn,
                interval_ms: (interval < 0xFFFF_FFFD).then_some(interval),
                pairs: r[6],
            }
        }
        1 => GroupFunction::Command {
            pgn,
            count: *data.get(5)?,
            pairs: &data[6..],
        },
        _ => GroupFunction::Other { function, pgn },
    })
}

/// A 126208 Acknowledge for `pgn`: the PGN error code, the interval/priority error
/// code and one 4-bit error code per parameter (0 everywhere: done).
pub fn group_ack(pgn: u32, pgn_error: u8, interval_error: u8, params: &[u8]) -> Vec<u8> {
    let codes: Vec<[(&str, Put<'_>); 1]> = params
        .iter()
        .take(252)
        .map(|&p| [(field::PARAMETER, Put::Raw(u64::from(p & 0x0F)))])
        .collect();
    let sets: Vec<&[(&str, Put<'_>)]> = codes.iter().map(|c| &c[..]).collect();
    group_function(
        def::NMEA_ACKNOWLEDGE_GROUP_FUNCTION,
        &[
            (field::PGN, Put::Raw(u64::from(pgn))),
            (field::PGN_ERROR_CODE, Put::Raw(u64::from(pgn_error & 0x0F))),
            (
                field::TRANSMISSION_INTERVAL_PRIORITY_ERROR_CODE,
                Put::Raw(u64::from(interval_error & 0x0F)),
            ),
            (field::PARAMETER, Put::Sets(&sets)),
        ],
    )
}

/// A 126208 Command setting fields of `pgn` at the receiver: (field number, raw
/// value) pairs, each value typed by that field of `pgn`'s definition; priority
/// unchanged.
pub fn command(pgn: u32, pairs: &[(u8, u64)]) -> Vec<u8> {
    let values: Vec<[(&str, Put<'_>); 2]> = pairs
        .iter()
        .map(|&(f, v)| {
            [
                (field::PARAMETER, Put::Raw(u64::from(f))),
                (field::VALUE, Put::Raw(v)),
            ]
        })
        .collect();
    let sets: Vec<&[(&str, Put<'_>)]> = values.iter().map(|c| &c[..]).collect();
    group_function(
        def::NMEA_COMMAND_GROUP_FUNCTION,
        &[
            (field::PGN, Put::Raw(u64::from(pgn))),
            // "Leave priority unchanged".
            (field::PRIORITY, Put::Raw(8)),
            (field::PARAMETER, Put::Sets(&sets)),
        ],
    )
}

/// A commanded address: the node named `name` shall move to `address`.
pub fn parse_commanded_address(data: &[u8]) -> Option<(Name, u8)> {
    if data.len() != 9 {
        return None;
    }
    Some((Name::from_payload(data)?, data[8]))
}

/// The heartbeat interval a 126993 announces, in ms (field 1, despite canboat's name).
pub fn parse_heartbeat_interval(data: &[u8]) -> Option<u32> {
    let v = u16::from_le_bytes([*data.first()?, *data.get(1)?]);
    (v < 0xFFFD && v > 0).then_some(u32::from(v))
}

/// Our heartbeat: interval in ms (field 1, despite canboat's name), sequence
/// counter 0–252, controller states unknown, equipment operational.
pub fn heartbeat(interval_ms: u32, sequence: u8) -> Vec<u8> {
    built(
        PGN_HEARTBEAT,
        &[
            (
                field::DATA_TRANSMIT_OFFSET,
                Put::Raw(u64::from(interval_ms.min(0xFFFE))),
            ),
            (field::SEQUENCE_COUNTER, Put::Raw(u64::from(sequence))),
            (field::CONTROLLER1_STATE, Put::Missing),
            (field::CONTROLLER2_STATE, Put::Missing),
            (field::EQUIPMENT_STATUS, Put::Raw(0)),
        ],
    )
}

/// A PGN list (126464): `function` 0 = what we transmit, 1 = what we receive.
pub fn pgn_list(function: u8, pgns: &[u32]) -> Vec<u8> {
    let values: Vec<[(&str, Put<'_>); 1]> = pgns
        .iter()
        .map(|&p| [(field::PGN, Put::Raw(u64::from(p)))])
        .collect();
    let sets: Vec<&[(&str, Put<'_>)]> = values.iter().map(|c| &c[..]).collect();
    built(
        PGN_PGN_LIST,
        &[
            (field::FUNCTION_CODE, Put::Raw(u64::from(function))),
            (field::PGN, Put::Sets(&sets)),
        ],
    )
}

/// A node's product information (126996).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductInfo {
    /// NMEA 2000 database version × 1000 (2100 = 2.100).
    pub nmea2000_version: Option<u16>,
    pub product_code: Option<u16>,
    pub model_id: String,
    pub software_version: String,
    pub model_version: String,
    pub serial: String,
    /// 0 Level A, 1 Level B.
    pub certification_level: Option<u8>,
    /// Bus current drawn, in units of 50 mA.
    pub load_equivalency: Option<u8>,
}

impl ProductInfo {
    /// Reads a 126996 payload; `None` when it is too short to hold the strings.
    pub fn parse(data: &[u8]) -> Option<ProductInfo> {
        if data.len() < 132 {
            return None;
        }
        let def = pgn::definition(PGN_PRODUCT_INFO)?;
        let mut c = Collect::default();
        pgn::walk(def, data, &mut c);
        Some(ProductInfo {
            nmea2000_version: c.number("nmea2000Version"),
            product_code: c.number("productCode"),
            model_id: c.text("modelId"),
            software_version: c.text("softwareVersionCode"),
            model_version: c.text("modelVersion"),
            serial: c.text("modelSerialCode"),
            certification_level: c.number("certificationLevel"),
            load_equivalency: c.number("loadEquivalency"),
        })
    }

    /// The 134-byte payload: strings cut to 32 bytes and padded with 0xFF.
    pub fn encode(&self) -> Vec<u8> {
        let number = |v: Option<u16>| v.map_or(Put::Missing, |v| Put::Raw(u64::from(v)));
        let byte = |v: Option<u8>| v.map_or(Put::Missing, |v| Put::Raw(u64::from(v)));
        built(
            PGN_PRODUCT_INFO,
            &[
                (field::NMEA2000_VERSION, number(self.nmea2000_version)),
                (field::PRODUCT_CODE, number(self.product_code)),
                (field::MODEL_ID, Put::Text(&self.model_id)),
                (
                    field::SOFTWARE_VERSION_CODE,
                    Put::Text(&self.software_version),
                ),
                (field::MODEL_VERSION, Put::Text(&self.model_version)),
                (field::MODEL_SERIAL_CODE, Put::Text(&self.serial)),
                (field::CERTIFICATION_LEVEL, byte(self.certification_level)),
                (field::LOAD_EQUIVALENCY, byte(self.load_equivalency)),
            ],
        )
    }
}

/// A node's configuration information (126998): texts the installer set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigInfo {
    pub installation_description1: String,
    pub installation_description2: String,
    pub manufacturer_information: String,
}

/// The longest text we send per field (NMEA 2000 allows 70 characters).
const CONFIG_STRING_LEN: usize = 70;

impl ConfigInfo {
    /// Reads a 126998 payload; absent or unset texts are empty.
    pub fn parse(data: &[u8]) -> Option<ConfigInfo> {
        let def = pgn::definition(PGN_CONFIG_INFO)?;
        if data.is_empty() {
            return None;
        }
        let mut c = Collect::default();
        pgn::walk(def, data, &mut c);
        Some(ConfigInfo {
            installation_description1: c.text("installationDescription1"),
            installation_description2: c.text("installationDescription2"),
            manufacturer_information: c.text("manufacturerInformation"),
        })
    }

    /// The payload: three ASCII STRING_LAU fields, each cut to 70 bytes.
    pub fn encode(&self) -> Vec<u8> {
        built(
            PGN_CONFIG_INFO,
            &[
                (
                    field::INSTALLATION_DESCRIPTION1,
                    Put::Text(cut(&self.installation_description1)),
                ),
                (
                    field::INSTALLATION_DESCRIPTION2,
                    Put::Text(cut(&self.installation_description2)),
                ),
                (
                    field::MANUFACTURER_INFORMATION,
                    Put::Text(cut(&self.manufacturer_information)),
                ),
            ],
        )
    }
}

/// `s` cut to the longest text we send, at a character boundary.
fn cut(s: &str) -> &str {
    let mut end = s.len().min(CONFIG_STRING_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Collects the numbers and texts of one message by field id. The walker leaves out
/// absent fields (an unset text), so fields are found by id, not by position.
#[derive(Default)]
struct Collect {
    numbers: Vec<(&'static str, u64)>,
    texts: Vec<(&'static str, String)>,
}

impl Collect {
    fn number<T: TryFrom<u64>>(&self, id: &str) -> Option<T> {
        let v = self.numbers.iter().find(|(k, _)| *k == id)?.1;
        T::try_from(v).ok()
    }

    fn text(&mut self, id: &str) -> String {
        self.texts
            .iter_mut()
            .find(|(k, _)| *k == id)
            .map(|(_, t)| std::mem::take(t))
            .unwrap_or_default()
    }
}

impl Visitor for Collect {
    fn field(&mut self, field: &FieldDef, value: Value<'_>) {
        match value {
            Value::Number(n) => {
                if let Ok(n) = u64::try_from(n) {
                    self.numbers.push((field.id.as_str(), n));
                }
            }
            Value::Lookup(n, _) => self.numbers.push((field.id.as_str(), n)),
            Value::Text(t) => self.texts.push((field.id.as_str(), text(t))),
            _ => {}
        }
    }
}

fn text(t: Text<'_>) -> String {
    t.to_string_lossy().trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_nak_bytes() {
        assert_eq!(request(60928), [0x00, 0xEE, 0x00]);
        assert_eq!(request(126996), [0x14, 0xF0, 0x01]);
        assert_eq!(request(126464), [0x00, 0xEE, 0x01]);
        // docs/nmea2000.md#requests-and-acknowledgements: the NAK for 126996.
        assert_eq!(
            nak(126996),
            [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x14, 0xF0, 0x01]
        );
        assert_eq!(parse_request(&[0x14, 0xF0, 0x01]), Some(126996));
        assert_eq!(
            parse_request(&[0x14, 0xF0, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Some(126996)
        );
        assert_eq!(parse_request(&[0x14, 0xF0]), None);
    }

    #[test]
    fn built_bytes() {
        // docs/nmea2000.md#heartbeat: interval, sequence, both controller states
        // unknown (3), equipment operational (0), reserved bits set.
        assert_eq!(
            heartbeat(60_000, 4),
            [0x60, 0xEA, 0x04, 0xCF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        // docs/switching-alerts.md#126208-command-to-127501: the Maretron bank's
        // acknowledge: no error, one parameter done (its nibble, then 0xF).
        assert_eq!(
            group_ack(127501, 0, 0, &[0]),
            [2, 0x0D, 0xF2, 0x01, 0x00, 1, 0xF0]
        );
        assert_eq!(
            group_ack(60928, 1, 0, &[0, 3]),
            [2, 0x00, 0xEE, 0x00, 0x01, 2, 0x30]
        );
        // docs/nmea2000.md#changing-a-device-instance: device instance 21 is
        // lower 5 (field 3), upper 2 (field 4); priority unchanged (8).
        assert_eq!(
            command(60928, &[(3, 5), (4, 2)]),
            [1, 0x00, 0xEE, 0x00, 0xF8, 2, 3, 5, 4, 2]
        );
        // 126464: the function, then each PGN in three bytes.
        assert_eq!(
            pgn_list(0, &[59904, 126996]),
            [0, 0x00, 0xEA, 0x00, 0x14, 0xF0, 0x01]
        );
        assert_eq!(pgn_list(1, &[]), [1]);
        // 126998: three STRING_LAU, each length (itself and the encoding byte
        // included), 1 = ASCII, the text.
        let c = ConfigInfo {
            installation_description1: "Helm".into(),
            installation_description2: String::new(),
            manufacturer_information: "x".into(),
        };
        assert_eq!(c.encode(), [6, 1, b'H', b'e', b'l', b'm', 2, 1, 3, 1, b'x']);
    }

    #[test]
    fn heartbeat_interval() {
        // docs/nmea2000.md#heartbeat: `1DF0112D#60EA04FFFFFFFFFF`.
        assert_eq!(
            parse_heartbeat_interval(&[0x60, 0xEA, 0x04, 0xFF]),
            Some(60_000)
        );
        assert_eq!(parse_heartbeat_interval(&[0xFF, 0xFF, 0x04]), None);
        assert_eq!(heartbeat(60_000, 4)[..3], [0x60, 0xEA, 0x04]);
    }

    #[test]
    fn product_info_round_trip() {
        let p = ProductInfo {
            nmea2000_version: Some(2100),
            product_code: Some(18794),
            model_id: "Zeus3 9  MFD".into(),
            software_version: "01000_E 22.2.66.1.9".into(),
            model_version: "".into(),
            serial: "108077181".into(),
            certification_level: Some(1),
            load_equivalency: Some(4),
        };
        let b = p.encode();
        assert_eq!(b.len(), 134);
        assert_eq!(ProductInfo::parse(&b), Some(p));
        assert_eq!(ProductInfo::parse(&b[..131]), None);
    }

    #[test]
    fn config_info_parses_real_examples() {
        // docs/nmea2000.md#network-management: Airmar, 42 bytes.
        let mut d = vec![2, 1, 2, 1, 0x26, 1];
        d.extend_from_slice(b"Airmar 1-603-673-9570 www.airmar.com");
        let c = ConfigInfo::parse(&d).unwrap();
        assert_eq!(c.installation_description1, "");
        assert_eq!(
            c.manufacturer_information,
            "Airmar 1-603-673-9570 www.airmar.com"
        );
        let c2 = ConfigInfo {
            installation_description1: "Engine room".into(),
            installation_description2: "".into(),
            manufacturer_information: "x".into(),
        };
        assert_eq!(ConfigInfo::parse(&c2.encode()), Some(c2));
    }
}
