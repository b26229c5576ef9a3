//! Who our node is on the bus: its NAME, preferred address and what it tells others.

use crate::network::{ConfigInfo, Name, NameFields, ProductInfo};

/// Manufacturer code of our NAME by default: 2046 is not assigned to any manufacturer.
pub const DEFAULT_MANUFACTURER: u16 = 2046;
/// Device class 25, Internetwork device.
pub const CLASS_INTERNETWORK: u8 = 25;
/// Device function 130 (in class 25), PC Gateway.
pub const FUNCTION_PC_GATEWAY: u8 = 130;
/// The address we try first when no state file names one.
pub const DEFAULT_ADDRESS: u8 = 100;

/// The core's configuration.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Our NAME.
    pub name: Name,
    /// The address to claim first (the one we had last time).
    pub preferred_address: u8,
    /// Never transmit; learn everything passively.
    pub listen_only: bool,
    /// Our answer to requests for 126996.
    pub product: ProductInfo,
    /// Our answer to requests for 126998.
    pub config: ConfigInfo,
    /// Our heartbeat interval (126993), ms.
    pub heartbeat_interval_ms: u32,
    /// What our PGN list (126464) says we send.
    pub transmit_pgns: Vec<u32>,
    /// What our PGN list says we receive.
    pub receive_pgns: Vec<u32>,
}

/// The PGNs the core sends.
const TRANSMIT: &[u32] = &[
    59392, 59904, 60160, 60416, 60928, 126464, 126993, 126996, 126998,
];
/// The PGNs the core and the Venus mapping read.
const RECEIVE: &[u32] = &[
    59392, 59904, 60160, 60416, 60928, 65240, 126208, 126464, 126993, 126996, 126998, 127503,
    127504, 127505, 127506, 127507, 127508, 127513, 129025, 129026, 129029, 130311, 130312, 130313,
    130314, 130316,
];

impl CoreConfig {
    /// The gateway's defaults (docs/architecture.md#transmitting): class 25 / function 130, marine industry,
    /// self-configurable, with `unique_number` (21 bits) identifying this machine.
    pub fn gateway(unique_number: u32) -> CoreConfig {
        let name = Name::from_fields(NameFields {
            unique_number: unique_number & 0x1F_FFFF,
            manufacturer_code: DEFAULT_MANUFACTURER,
            device_instance: 0,
            device_function: FUNCTION_PC_GATEWAY,
            device_class: CLASS_INTERNETWORK,
            system_instance: 0,
            industry_group: 4,
            arbitrary_address_capable: true,
        });
        CoreConfig {
            name,
            preferred_address: DEFAULT_ADDRESS,
            listen_only: false,
            product: ProductInfo {
                nmea2000_version: Some(2100),
                product_code: Some(0),
                model_id: "n2k-dbus".into(),
                software_version: env!("CARGO_PKG_VERSION").into(),
                model_version: "Venus OS D-Bus gateway".into(),
                serial: (unique_number & 0x1F_FFFF).to_string(),
                certification_level: None,
                load_equivalency: Some(0),
            },
            config: ConfigInfo {
                installation_description1: String::new(),
                installation_description2: String::new(),
                manufacturer_information: "n2k-dbus NMEA 2000 to Venus OS D-Bus gateway".into(),
            },
            heartbeat_interval_ms: 60_000,
            transmit_pgns: TRANSMIT.to_vec(),
            receive_pgns: RECEIVE.to_vec(),
        }
    }

    /// The same, never transmitting.
    pub fn listen_only(mut self) -> CoreConfig {
        self.listen_only = true;
        self
    }
}
