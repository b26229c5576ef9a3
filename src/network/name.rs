//! The ISO NAME: the 64-bit identity a node claims its address with (PGN 60928).
//!
//! A device is its NAME, never its address. The NAME is the claim's payload read as a
//! little-endian integer; comparing NAMEs as integers is the address arbitration
//! (the lower NAME wins).

use std::fmt;

use crate::pgn;

/// A 64-bit ISO NAME.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Name(pub u64);

/// The bits a device instance change may touch: device instance (byte 4) and system
/// instance (byte 7, bits 0–3).
const INSTANCE_BITS: u64 = (0xFF << 32) | (0x0F << 56);

/// The fields of a NAME, for building one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameFields {
    /// 21 bits, unique per manufacturer.
    pub unique_number: u32,
    /// 11 bits.
    pub manufacturer_code: u16,
    /// `lower | upper << 3`, byte 4 of the claim.
    pub device_instance: u8,
    pub device_function: u8,
    /// 7 bits.
    pub device_class: u8,
    /// 4 bits.
    pub system_instance: u8,
    /// 3 bits; 4 is marine.
    pub industry_group: u8,
    pub arbitrary_address_capable: bool,
}

impl Name {
    /// The NAME a claim payload carries (at least 8 bytes).
    pub fn from_payload(data: &[u8]) -> Option<Name> {
        let b: [u8; 8] = data.get(..8)?.try_into().ok()?;
        Some(Name(u64::from_le_bytes(b)))
    }

    /// The claim payload.
    pub fn to_payload(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }

    /// Builds a NAME; values wider than their field are cut to it.
    pub fn from_fields(f: NameFields) -> Name {
        let v = u64::from(f.unique_number & 0x1F_FFFF)
            | (u64::from(f.manufacturer_code & 0x7FF) << 21)
            | (u64::from(f.device_instance) << 32)
            | (u64::from(f.device_function) << 40)
            | (u64::from(f.device_class & 0x7F) << 49)
            | (u64::from(f.system_instance & 0x0F) << 56)
            | (u64::from(f.industry_group & 7) << 60)
            | (u64::from(f.arbitrary_address_capable) << 63);
        Name(v)
    }

    /// All fields.
    pub fn fields(self) -> NameFields {
        NameFields {
            unique_number: self.unique_number(),
            manufacturer_code: self.manufacturer_code(),
            device_instance: self.device_instance(),
            device_function: self.device_function(),
            device_class: self.device_class(),
            system_instance: self.system_instance(),
            industry_group: self.industry_group(),
            arbitrary_address_capable: self.arbitrary_address_capable(),
        }
    }

    /// The 21-bit identity number: with the manufacturer code, what makes a device unique.
    pub fn unique_number(self) -> u32 {
        (self.0 & 0x1F_FFFF) as u32
    }
    /// The 11-bit manufacturer code (canboat's MANUFACTURER_CODE, e.g. 358 Victron).
    pub fn manufacturer_code(self) -> u16 {
        ((self.0 >> 21) & 0x7FF) as u16
    }
    /// The device instance as one number, `lower | upper << 3` (0–255): what Venus
    /// shows as `/N2kDeviceInstance`.
    pub fn device_instance(self) -> u8 {
        (self.0 >> 32) as u8
    }
    /// Bits 0–2 of the device instance (ISO: ECU instance).
    pub fn device_instance_lower(self) -> u8 {
        self.device_instance() & 7
    }
    /// Bits 3–7 of the device instance (ISO: function instance).
    pub fn device_instance_upper(self) -> u8 {
        self.device_instance() >> 3
    }
    /// What the device does; its meaning depends on the class.
    pub fn device_function(self) -> u8 {
        (self.0 >> 40) as u8
    }
    /// The 7-bit device class, e.g. 60 Navigation.
    pub fn device_class(self) -> u8 {
        ((self.0 >> 49) & 0x7F) as u8
    }
    /// The 4-bit system instance: which of several parallel networks.
    pub fn system_instance(self) -> u8 {
        ((self.0 >> 56) & 0x0F) as u8
    }
    /// The industry group; 4 is marine.
    pub fn industry_group(self) -> u8 {
        ((self.0 >> 60) & 7) as u8
    }
    /// Whether the node may move to another address when it loses its claim.
    pub fn arbitrary_address_capable(self) -> bool {
        self.0 >> 63 != 0
    }

    /// Whether `other` is this NAME with only the device or system instance changed:
    /// the same physical device after an instance command.
    pub fn differs_only_in_instance(self, other: Name) -> bool {
        self != other && (self.0 ^ other.0) & !INSTANCE_BITS == 0
    }

    /// This NAME with another device instance byte.
    pub fn with_device_instance(self, instance: u8) -> Name {
        Name(self.0 & !(0xFF << 32) | (u64::from(instance) << 32))
    }

    /// The manufacturer's name, e.g. "Garmin".
    pub fn manufacturer_name(self) -> Option<&'static str> {
        pgn::lookups::manufacturer(self.manufacturer_code())
    }
    /// The device class's name, e.g. "Navigation".
    pub fn class_name(self) -> Option<&'static str> {
        pgn::lookups::device_class(self.device_class())
    }
    /// The device function's name within its class, e.g. "Ownship Position (GNSS)".
    pub fn function_name(self) -> Option<&'static str> {
        pgn::lookups::device_function(self.device_class(), self.device_function())
    }
}

/// The NAME as 16 hex digits, most significant first (how tools print it).
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({:016X})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/nmea2000.md#iso-name, the worked example: `18EEFF01#05A0BE1C00A0A0C0`.
    #[test]
    fn worked_example() {
        let n = Name::from_payload(&[0x05, 0xA0, 0xBE, 0x1C, 0x00, 0xA0, 0xA0, 0xC0]).unwrap();
        assert_eq!(n.0, 0xC0A0_A000_1CBE_A005);
        assert_eq!(n.unique_number(), 2_007_045);
        assert_eq!(n.manufacturer_code(), 229);
        assert_eq!(n.manufacturer_name(), Some("Garmin"));
        assert_eq!(n.device_instance(), 0);
        assert_eq!(n.device_function(), 160);
        assert_eq!(n.device_class(), 80);
        assert_eq!(n.function_name(), Some("General Purpose Displays"));
        assert_eq!(n.system_instance(), 0);
        assert_eq!(n.industry_group(), 4);
        assert!(n.arbitrary_address_capable());
        assert_eq!(n.to_string(), "C0A0A0001CBEA005");
        assert_eq!(Name::from_fields(n.fields()), n);
        let m = n.with_device_instance(0x0D);
        assert_eq!(
            (m.device_instance_lower(), m.device_instance_upper()),
            (5, 1)
        );
        assert!(n.differs_only_in_instance(m));
        assert!(!n.differs_only_in_instance(n));
        assert!(!n.differs_only_in_instance(Name(n.0 ^ 1)));
    }

    /// The builder lays the fields out as [ttl] does (docs/nmea2000.md#iso-name).
    #[test]
    fn builder_layout() {
        let n = Name::from_fields(NameFields {
            unique_number: 0x1234,
            manufacturer_code: 2046,
            device_instance: 0,
            device_function: 130,
            device_class: 25,
            system_instance: 0,
            industry_group: 4,
            arbitrary_address_capable: true,
        });
        assert_eq!(
            n.to_payload(),
            [0x34, 0x12, 0xC0, 0xFF, 0x00, 130, 50, 0xC0]
        );
    }
}
