//! NMEA 2000 alerts (docs/switching-alerts.md#alert-pgns): 126983 Alert and 126985
//! Alert Text in, 126984 Alert Response out, and our own 126983 and 126985. Every
//! alert PGN starts with the same 16-byte header that identifies the alert. What
//! goes out is built by [`pgn::encode`] from the PGNs' definitions.

use crate::pgn::{self, field, Put};

/// Alert.
pub const PGN_ALERT: u32 = 126983;
/// Alert Response (acknowledge, silence).
pub const PGN_RESPONSE: u32 = 126984;
/// Alert Text.
pub const PGN_TEXT: u32 = 126985;
/// Alerts go at priority 2 [inferred: canboat gives none; the alarm PGNs of other
/// safety equipment use 2].
pub const PRIORITY: u8 = 2;

/// What identifies one alert: the same tuple in every alert PGN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertId {
    /// 1 emergency alarm, 2 alarm, 5 warning, 8 caution.
    pub kind: u8,
    /// 0 navigational, 1 technical.
    pub category: u8,
    pub system: u8,
    pub subsystem: u8,
    pub id: u16,
    /// The NAME of the node the alert is about.
    pub source_name: u64,
    pub instance: u8,
    pub index: u8,
    pub occurrence: u8,
}

impl AlertId {
    /// The header at the start of `data`; `None` when it is shorter than 16 bytes.
    pub fn parse(data: &[u8]) -> Option<AlertId> {
        let h = data.get(..16)?;
        Some(AlertId {
            kind: h[0] & 0x0F,
            category: h[0] >> 4,
            system: h[1],
            subsystem: h[2],
            id: u16::from_le_bytes([h[3], h[4]]),
            source_name: u64::from_le_bytes([h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12]]),
            instance: h[13],
            index: h[14],
            occurrence: h[15],
        })
    }

    /// The 16 header bytes.
    pub fn header(&self) -> [u8; 16] {
        let mut h = [0u8; 16];
        h[0] = (self.kind & 0x0F) | (self.category << 4);
        h[1] = self.system;
        h[2] = self.subsystem;
        h[3..5].copy_from_slice(&self.id.to_le_bytes());
        h[5..13].copy_from_slice(&self.source_name.to_le_bytes());
        h[13] = self.instance;
        h[14] = self.index;
        h[15] = self.occurrence;
        h
    }
}

/// The alert states of 126983 byte 27.
pub mod state {
    pub const DISABLED: u8 = 0;
    pub const NORMAL: u8 = 1;
    pub const ACTIVE: u8 = 2;
    pub const SILENCED: u8 = 3;
    pub const ACKNOWLEDGED: u8 = 4;
    pub const AWAITING_ACK: u8 = 5;
}

/// One 126983.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    pub id: AlertId,
    /// Whether the sender takes an acknowledgement (byte 16 bit 4).
    pub ack_supported: bool,
    pub priority: u8,
    pub state: u8,
}

impl Alert {
    /// Whether the condition holds (active, silenced, acknowledged or awaiting an
    /// acknowledgement).
    pub fn active(&self) -> bool {
        matches!(self.state, state::ACTIVE..=state::AWAITING_ACK)
    }
}

/// Reads a 126983 payload (28 bytes).
pub fn parse_alert(data: &[u8]) -> Option<Alert> {
    let id = AlertId::parse(data)?;
    let rest = data.get(16..28)?;
    Some(Alert {
        id,
        ack_supported: (rest[0] >> 4) & 1 == 1,
        priority: rest[10],
        state: rest[11],
    })
}

/// One 126985: the description and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub id: AlertId,
    pub description: String,
    pub location: String,
}

/// Reads a 126985 payload: header, language, two STRING_LAU.
pub fn parse_text(data: &[u8]) -> Option<Text> {
    let id = AlertId::parse(data)?;
    let rest = data.get(17..)?;
    let (description, rest) = string_lau(rest)?;
    let location = string_lau(rest).map(|s| s.0).unwrap_or_default();
    Some(Text {
        id,
        description,
        location,
    })
}

/// One STRING_LAU (`[length incl. these two bytes][encoding][bytes]`, encoding 1
/// ASCII/8-bit, 0 UCS-2 little endian, 0xFF empty) and what follows it.
fn string_lau(data: &[u8]) -> Option<(String, &[u8])> {
    let (&len, _) = data.split_first()?;
    let len = usize::from(len).max(2).min(data.len());
    let encoding = *data.get(1)?;
    let body = &data[2.min(len)..len];
    let text = match encoding {
        0 => char::decode_utf16(
            body.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]])),
        )
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        1 => body.iter().map(|&b| char::from(b)).collect::<String>(),
        _ => String::new(),
    };
    let text = text.trim_end_matches(['\0', '\u{FF}', '@', ' ']).to_owned();
    Some((text, &data[len..]))
}

/// Response commands of 126984 byte 24 bits 0–1.
pub const ACKNOWLEDGE: u8 = 0;

/// The header's fields, by their ids in the alert PGNs' definitions.
fn header_fields(id: &AlertId) -> Vec<(&'static str, Put<'static>)> {
    let raw = |v: u64| Put::Raw(v);
    vec![
        (field::ALERT_TYPE, raw(u64::from(id.kind))),
        (field::ALERT_CATEGORY, raw(u64::from(id.category))),
        (field::ALERT_SYSTEM, raw(u64::from(id.system))),
        (field::ALERT_SUB_SYSTEM, raw(u64::from(id.subsystem))),
        (field::ALERT_ID, raw(u64::from(id.id))),
        (field::DATA_SOURCE_NETWORK_ID_NAME, raw(id.source_name)),
        (field::DATA_SOURCE_INSTANCE, raw(u64::from(id.instance))),
        (field::DATA_SOURCE_INDEX_SOURCE, raw(u64::from(id.index))),
        (
            field::ALERT_OCCURRENCE_NUMBER,
            raw(u64::from(id.occurrence)),
        ),
    ]
}

/// `pgn` built from `fields`; empty (and logged) if the definition lacks one, which
/// the tests rule out.
fn build(pgn: u32, fields: &[(&str, Put<'_>)]) -> Vec<u8> {
    pgn::build(pgn, fields).unwrap_or_else(|e| {
        tracing::warn!("alert not built: {e}");
        Vec::new()
    })
}

/// 126984 answering alert `id` with `command`, from the node named `ours`.
pub fn response(id: &AlertId, ours: u64, command: u8) -> Vec<u8> {
    let mut f = header_fields(id);
    f.push((field::ACKNOWLEDGE_SOURCE_NETWORK_ID_NAME, Put::Raw(ours)));
    f.push((field::RESPONSE_COMMAND, Put::Raw(u64::from(command & 3))));
    build(PGN_RESPONSE, &f)
}

/// A 126983 of our own: no temporary silence, acknowledgement or escalation (the
/// NMEA 2000 "Basic System", as Victron plans it: docs/switching-alerts.md#alert-flows), no
/// acknowledger (NAME not available), triggered automatically with its threshold
/// exceeded while active, priority `priority`, state `state`.
pub fn alert(id: &AlertId, priority: u8, state: u8) -> Vec<u8> {
    let no = Put::Raw(0);
    let mut f = header_fields(id);
    f.extend([
        (field::TEMPORARY_SILENCE_STATUS, no),
        (field::ACKNOWLEDGE_STATUS, no),
        (field::ESCALATION_STATUS, no),
        (field::TEMPORARY_SILENCE_SUPPORT, no),
        (field::ACKNOWLEDGE_SUPPORT, no),
        (field::ESCALATION_SUPPORT, no),
        (
            field::ACKNOWLEDGE_SOURCE_NETWORK_ID_NAME,
            Put::Raw(u64::MAX),
        ),
        // 1: automatic; threshold 1: exceeded, while active.
        (field::TRIGGER_CONDITION, Put::Raw(1)),
        (
            field::THRESHOLD_STATUS,
            Put::Raw(u64::from(state == state::ACTIVE)),
        ),
        (field::ALERT_PRIORITY, Put::Raw(u64::from(priority))),
        (field::ALERT_STATE, Put::Raw(u64::from(state))),
    ]);
    build(PGN_ALERT, &f)
}

/// A 126985 of our own: English (US), `description`, no location; each text at
/// most 64 bytes of ASCII (STRING_LAU, `docs/nmea2000.md#field-encoding`).
pub fn text(id: &AlertId, description: &str) -> Vec<u8> {
    let ascii: String = description
        .chars()
        .map(|c| match u8::try_from(c) {
            Ok(b) if b.is_ascii() && !b.is_ascii_control() => c,
            _ => '?',
        })
        .take(64)
        .collect();
    let mut f = header_fields(id);
    f.extend([
        (field::LANGUAGE_ID, Put::Raw(0)),
        (field::ALERT_TEXT_DESCRIPTION, Put::Text(&ascii)),
    ]);
    build(PGN_TEXT, &f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> AlertId {
        AlertId {
            kind: 2,
            category: 1,
            system: 5,
            subsystem: 0,
            id: 0x0102,
            source_name: 0xC0A0_A000_1CBE_A005,
            instance: 0,
            index: 3,
            occurrence: 7,
        }
    }

    #[test]
    fn header_both_ways() {
        let h = id().header();
        assert_eq!(h[..5], [0x12, 5, 0, 0x02, 0x01]);
        assert_eq!(h[5..13], [0x05, 0xA0, 0xBE, 0x1C, 0x00, 0xA0, 0xA0, 0xC0]);
        assert_eq!(h[13..], [0, 3, 7]);
        assert_eq!(AlertId::parse(&h), Some(id()));
        assert_eq!(AlertId::parse(&h[..15]), None);
    }

    #[test]
    fn alert_and_text() {
        let mut a = id().header().to_vec();
        a.extend([0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 3, 2]);
        let alert = parse_alert(&a).unwrap();
        assert!(alert.ack_supported && alert.active());
        assert_eq!((alert.priority, alert.state), (3, 2));
        assert!(parse_alert(&a[..27]).is_none());
        let mut t = id().header().to_vec();
        t.push(0); // English (US)
        t.extend([14, 1]);
        t.extend(b"Bilge high\0\0");
        t.extend([13, 1]);
        t.extend(b"Engine Room");
        let text = parse_text(&t).unwrap();
        assert_eq!(text.description, "Bilge high");
        assert_eq!(text.location, "Engine Room");
        // UCS-2 and a missing location.
        let mut u = id().header().to_vec();
        u.extend([0, 6, 0, b'O', 0, b'K', 0]);
        let text = parse_text(&u).unwrap();
        assert_eq!(
            (text.description.as_str(), text.location.as_str()),
            ("OK", "")
        );
    }

    #[test]
    fn our_alert_and_text_read_back() {
        let a = alert(&id(), 5, state::ACTIVE);
        let back = parse_alert(&a).unwrap();
        assert_eq!(back.id, id());
        assert!(back.active() && !back.ack_supported);
        assert_eq!((back.priority, back.state), (5, state::ACTIVE));
        assert_eq!(a[17..25], [0xFF; 8]);
        assert_eq!(a[25], 0x11);
        // Silence, acknowledgement and escalation: none; the two reserved bits set.
        assert_eq!((a.len(), a[16]), (28, 0xC0));
        assert_eq!(alert(&id(), 5, state::NORMAL)[25], 0x01);
        let t = text(&id(), "Unique number 7 in use — twice");
        let back = parse_text(&t).unwrap();
        assert_eq!(back.id, id());
        assert_eq!(back.description, "Unique number 7 in use ? twice");
        assert_eq!(back.location, "");
        assert_eq!(text(&id(), &"x".repeat(300)).len(), 16 + 1 + 2 + 64 + 2);
    }

    #[test]
    fn acknowledge_bytes() {
        let r = response(&id(), 0x1122_3344_5566_7788, ACKNOWLEDGE);
        assert_eq!(r[..16], id().header());
        assert_eq!(r[16..24], [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
        assert_eq!(r[24], 0xFC);
        assert_eq!(r.len(), 25);
    }
}
