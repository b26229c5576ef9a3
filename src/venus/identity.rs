//! Who a service is: its name (docs/architecture.md#identity-and-naming), its settings key, and the generic
//! paths every Venus product service carries (docs/venus-services.md#generic-paths), filled from the
//! NAME, 126996 Product Information and 126998 Configuration Information.

use crate::model::{Format, Item, Value};
use crate::network::{ConfigInfo, Name, ProductInfo};

use super::kind::Kind;

/// `/Mgmt/ProcessName`.
pub const PROCESS: &str = "n2k-dbus";
/// `/Mgmt/Connection` of every mapped device. Not "VE.Can": systemcalc takes
/// VE.Can devices for Victron chargers it may steer (docs/architecture.md#the-d-bus-side).
pub const CONNECTION: &str = "NMEA 2000";

/// The interface as it may appear in a bus name element (`vcan-x` → `vcan_x`).
pub fn bus_element(iface: &str) -> String {
    iface
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A device as the mapper knows it: by NAME, or by source address while no NAME
/// is known (a capture without claims, a listen-only gateway started mid-bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceId {
    Name(Name),
    Address(u8),
}

/// What network management told about a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub product: Option<ProductInfo>,
    pub config: Option<ConfigInfo>,
}

/// The part of a service name after the type:
/// `socketcan_<if>_di<N>_uc<U>[_<suffix>]`, or `socketcan_<if>_sa<address>[…]`
/// for a device known only by its address.
pub fn name_tail(iface: &str, id: DeviceId, suffix: Option<&str>) -> String {
    let mut s = match id {
        DeviceId::Name(n) => format!(
            "socketcan_{iface}_di{}_uc{}",
            n.device_instance(),
            n.unique_number()
        ),
        DeviceId::Address(a) => format!("socketcan_{iface}_sa{a}"),
    };
    if let Some(x) = suffix {
        s.push('_');
        s.push_str(x);
    }
    s
}

/// The settings key of a service: independent of the interface and the device
/// instance for named devices, so a VRM instance follows the device.
pub fn settings_uid(iface: &str, id: DeviceId, kind: Kind, suffix: Option<&str>) -> String {
    let mut s = match id {
        DeviceId::Name(n) => format!(
            "n2k_m{}_uc{}_{}",
            n.manufacturer_code(),
            n.unique_number(),
            kind.class()
        ),
        DeviceId::Address(a) => format!("n2k_{iface}_sa{a}_{}", kind.class()),
    };
    if let Some(x) = suffix {
        s.push('_');
        s.push_str(x);
    }
    s
}

fn text(s: Option<&str>) -> Value {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or(Value::Invalid, |s| Value::Text(s.to_owned()))
}

/// `/ProductName`: the model from 126996, else the manufacturer and what the device
/// is (`Garmin GPS`), so the GUI, which hides services without a name, shows it.
pub fn product_name(id: DeviceId, kind: Kind, identity: &Identity) -> String {
    if let Some(p) = &identity.product {
        let m = p.model_id.trim();
        if !m.is_empty() {
            return m.to_owned();
        }
    }
    let maker = match id {
        DeviceId::Name(n) => n.manufacturer_name(),
        DeviceId::Address(_) => None,
    };
    format!("{} {}", maker.unwrap_or("NMEA 2000"), kind.label())
}

/// The paths that can change while the service is on the bus, from what network
/// management reports: product name, versions, serial.
pub fn product_paths(id: DeviceId, kind: Kind, identity: &Identity) -> [(&'static str, Value); 4] {
    let p = identity.product.as_ref();
    [
        (
            "/ProductName",
            Value::Text(product_name(id, kind, identity)),
        ),
        (
            "/FirmwareVersion",
            text(p.map(|p| p.software_version.as_str())),
        ),
        (
            "/HardwareVersion",
            text(p.map(|p| p.model_version.as_str())),
        ),
        ("/Serial", text(p.map(|p| p.serial.as_str()))),
    ]
}

/// Every generic path of a service, as published. `/DeviceInstance` holds the
/// preferred VRM instance and `/CustomName` the installation description until the
/// settings decide them.
pub fn generic_items(
    id: DeviceId,
    kind: Kind,
    identity: &Identity,
    data_instance: Option<u8>,
    preferred_instance: u32,
) -> Vec<(&'static str, Item)> {
    let name = match id {
        DeviceId::Name(n) => Some(n),
        DeviceId::Address(_) => None,
    };
    let from_name = |f: fn(Name) -> i64| name.map_or(Value::Invalid, |n| Value::Int(f(n)));
    let custom = identity
        .config
        .as_ref()
        .map(|c| c.installation_description1.trim().to_owned())
        .unwrap_or_default();
    let mut v = vec![
        ("/Mgmt/ProcessName", Item::new(PROCESS)),
        ("/Mgmt/ProcessVersion", Item::new(env!("CARGO_PKG_VERSION"))),
        ("/Mgmt/Connection", Item::new(CONNECTION)),
        (
            "/ProductId",
            Item::new(kind.product_id().map_or(Value::Invalid, Value::Int))
                .with_format(Format::Hex),
        ),
        ("/Connected", Item::new(1)),
        ("/DeviceInstance", Item::new(preferred_instance)),
        ("/CustomName", Item::new(custom)),
        (
            "/N2kDeviceInstance",
            Item::new(from_name(|n| i64::from(n.device_instance()))),
        ),
        (
            "/N2kUniqueNumber",
            Item::new(from_name(|n| i64::from(n.unique_number()))),
        ),
        (
            "/N2kSystemInstance",
            Item::new(from_name(|n| i64::from(n.system_instance()))),
        ),
        (
            "/N2kDataInstance",
            Item::new(data_instance.map_or(Value::Invalid, |i| Value::Int(i64::from(i)))),
        ),
    ];
    for (path, value) in product_paths(id, kind, identity) {
        v.push((path, Item::new(value)));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        let n = Name::from_fields(crate::network::NameFields {
            unique_number: 680690,
            manufacturer_code: 229,
            device_instance: 3,
            device_function: 145,
            device_class: 60,
            system_instance: 0,
            industry_group: 4,
            arbitrary_address_capable: true,
        });
        assert_eq!(
            name_tail("can0", DeviceId::Name(n), None),
            "socketcan_can0_di3_uc680690"
        );
        assert_eq!(
            name_tail("vcan0", DeviceId::Address(12), Some("fuel0")),
            "socketcan_vcan0_sa12_fuel0"
        );
        assert_eq!(
            settings_uid("can0", DeviceId::Name(n), Kind::Gps, None),
            "n2k_m229_uc680690_gps"
        );
    }
}
