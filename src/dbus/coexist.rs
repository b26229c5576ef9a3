//! Coexistence with another gateway on the same interface (Victron's vecan-dbus).
//!
//! On a GX, vecan-dbus runs on every VE.Can port and publishes some third-party
//! devices itself (whitelisted tank senders, GNSS receivers). Where it already shows
//! one of our devices, a second service would count the tank twice in the GUI and in
//! VRM. So the publisher watches the bus for services of other processes on our
//! interface (`com.victronenergy.<type>.socketcan_<if>_…`), reads who they are, and
//! holds back each of ours that is the same device: it appears as soon as the other
//! one leaves, and leaves when it comes back.
//!
//! "The same device" is [`DeviceKey::same_device`]: one service type and one NAME
//! unique number, and the NMEA 2000 device instance, data instance and fluid type
//! where both services show them. vecan-dbus's paths are from the service dumps
//! (`/N2kUniqueNumber`, `/N2kDeviceInstance`, `/FluidType`); whether its tank
//! services carry a data instance is not known, which is why a missing value agrees.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use zbus::fdo::{DBusProxy, NameOwnerChangedStream};
use zbus::zvariant::{OwnedValue, Value as ZValue};
use zbus::Connection;

use super::bus::Bus;
use super::service::BUS_ITEM;
use crate::model::{ItemTree, Value};

/// Our own `/Mgmt/ProcessName`: services that carry it are never twins.
const OURS: &str = "n2k-dbus";
/// How long reading another process's service may take before it is ignored.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Who a device service stands for, as far as coexistence compares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKey {
    /// `tank` of `com.victronenergy.tank.…`.
    pub service_type: String,
    pub unique_number: i64,
    pub device_instance: Option<i64>,
    pub data_instance: Option<i64>,
    pub fluid_type: Option<i64>,
}

impl DeviceKey {
    /// The key of service `name` whose values `value(path)` gives; `None` for a
    /// service without a unique number (the bus service, devices known by address).
    pub fn read(name: &str, value: impl Fn(&str) -> Option<i64>) -> Option<DeviceKey> {
        let service_type = name.strip_prefix("com.victronenergy.")?.split('.').next()?;
        Some(DeviceKey {
            service_type: service_type.to_owned(),
            unique_number: value("/N2kUniqueNumber")?,
            device_instance: value("/N2kDeviceInstance"),
            data_instance: value("/N2kDataInstance"),
            fluid_type: value("/FluidType"),
        })
    }

    /// The key of one of our services.
    pub fn of_tree(name: &str, items: &ItemTree) -> Option<DeviceKey> {
        DeviceKey::read(name, |path| match items.get(path).map(|i| &i.value) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        })
    }

    /// Whether both services stand for one device: same type and unique number,
    /// and no disagreement where both show an instance or a fluid.
    pub fn same_device(&self, other: &DeviceKey) -> bool {
        let agree = |a: Option<i64>, b: Option<i64>| a.zip(b).is_none_or(|(a, b)| a == b);
        self.service_type == other.service_type
            && self.unique_number == other.unique_number
            && agree(self.device_instance, other.device_instance)
            && agree(self.data_instance, other.data_instance)
            && agree(self.fluid_type, other.fluid_type)
    }
}

/// A change among the other processes' services on our interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignEvent {
    /// A service of another process for a device (its key) is on the bus.
    Appeared { name: String, key: DeviceKey },
    /// It left.
    Left { name: String },
}

/// Watches the bus for other processes' device services on one interface.
pub struct Foreign {
    conn: Connection,
    owners: NameOwnerChangedStream,
    /// `.socketcan_<if>_`: what a service name of our interface contains.
    tag: String,
    known: BTreeMap<String, DeviceKey>,
}

impl Foreign {
    /// Connects to `bus` and follows name changes from now on.
    pub async fn connect(bus: &Bus, iface: &str) -> zbus::Result<Foreign> {
        let conn = bus.connect().await?;
        let owners = DBusProxy::new(&conn)
            .await?
            .receive_name_owner_changed()
            .await?;
        Ok(Foreign {
            conn,
            owners,
            tag: format!(".socketcan_{iface}_"),
            known: BTreeMap::new(),
        })
    }

    fn watched(&self, name: &str) -> bool {
        name.starts_with("com.victronenergy.") && name.contains(&self.tag)
    }

    /// The other processes' device services on the bus now, except `ours`.
    pub async fn scan(&mut self, ours: impl Fn(&str) -> bool) -> Vec<ForeignEvent> {
        let names = match DBusProxy::new(&self.conn).await {
            Ok(p) => p.list_names().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let mut events = Vec::new();
        for name in names {
            let name = name.to_string();
            if self.watched(&name) && !ours(&name) {
                if let Some(e) = self.appeared(name).await {
                    events.push(e);
                }
            }
        }
        events
    }

    /// The next change; pending forever once the bus connection is gone.
    pub async fn next_event(&mut self, ours: impl Fn(&str) -> bool) -> ForeignEvent {
        while let Some(signal) = self.owners.next().await {
            let Ok(args) = signal.args() else { continue };
            let name = args.name().to_string();
            if !self.watched(&name) || ours(&name) {
                continue;
            }
            if args.new_owner().is_some() {
                if let Some(e) = self.appeared(name).await {
                    return e;
                }
            } else if self.known.remove(&name).is_some() {
                return ForeignEvent::Left { name };
            }
        }
        std::future::pending().await
    }

    async fn appeared(&mut self, name: String) -> Option<ForeignEvent> {
        let values = match tokio::time::timeout(READ_TIMEOUT, self.read(&name)).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                tracing::debug!(service = %name, "coexistence: cannot read it: {e}");
                return None;
            }
            Err(_) => {
                tracing::warn!(service = %name, "coexistence: no answer within {READ_TIMEOUT:?}; ignored");
                return None;
            }
        };
        let process = values.get("/Mgmt/ProcessName").and_then(text);
        if process.as_deref() == Some(OURS) {
            return None;
        }
        let key = DeviceKey::read(&name, |p| values.get(p).and_then(integer))?;
        tracing::info!(
            service = %name,
            process = process.as_deref().unwrap_or("?"),
            "coexistence: another process shows device {} ({}); ours is held back while it is there",
            key.unique_number,
            key.service_type
        );
        self.known.insert(name.clone(), key.clone());
        Some(ForeignEvent::Appeared { name, key })
    }

    /// The CAN-bus profile Venus's settings give the interface
    /// (`/Settings/Canbus/<if>/Profile`); `None` without a settings service.
    pub async fn can_profile(&self, iface: &str) -> Option<i64> {
        let path = format!("/Settings/Canbus/{iface}/Profile");
        let call = self.conn.call_method(
            Some(super::settings::SETTINGS),
            path.as_str(),
            Some(BUS_ITEM),
            "GetValue",
            &(),
        );
        let reply = tokio::time::timeout(READ_TIMEOUT, call).await.ok()?.ok()?;
        let value = reply.body().deserialize::<OwnedValue>().ok()?;
        integer(&value)
    }

    /// The values of `name`: `GetItems` where it has it, else one `GetValue` per path.
    async fn read(&self, name: &str) -> zbus::Result<BTreeMap<String, OwnedValue>> {
        let items = self
            .conn
            .call_method(Some(name), "/", Some(BUS_ITEM), "GetItems", &())
            .await
            .and_then(|m| {
                m.body()
                    .deserialize::<BTreeMap<String, BTreeMap<String, OwnedValue>>>()
            });
        if let Ok(items) = items {
            return Ok(items
                .into_iter()
                .filter_map(|(path, mut props)| Some((path, props.remove("Value")?)))
                .collect());
        }
        let mut values = BTreeMap::new();
        for path in [
            "/Mgmt/ProcessName",
            "/N2kUniqueNumber",
            "/N2kDeviceInstance",
            "/N2kDataInstance",
            "/FluidType",
        ] {
            let reply = self
                .conn
                .call_method(Some(name), path, Some(BUS_ITEM), "GetValue", &())
                .await;
            if let Ok(v) = reply.and_then(|m| m.body().deserialize::<OwnedValue>()) {
                values.insert(path.to_owned(), v);
            }
        }
        Ok(values)
    }
}

fn integer(v: &OwnedValue) -> Option<i64> {
    match &**v {
        ZValue::U8(n) => Some(i64::from(*n)),
        ZValue::I16(n) => Some(i64::from(*n)),
        ZValue::U16(n) => Some(i64::from(*n)),
        ZValue::I32(n) => Some(i64::from(*n)),
        ZValue::U32(n) => Some(i64::from(*n)),
        ZValue::I64(n) => Some(*n),
        ZValue::U64(n) => i64::try_from(*n).ok(),
        ZValue::F64(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
        _ => None,
    }
}

fn text(v: &OwnedValue) -> Option<String> {
    match &**v {
        ZValue::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(
        t: &str,
        unique: i64,
        di: Option<i64>,
        data: Option<i64>,
        fluid: Option<i64>,
    ) -> DeviceKey {
        DeviceKey {
            service_type: t.into(),
            unique_number: unique,
            device_instance: di,
            data_instance: data,
            fluid_type: fluid,
        }
    }

    #[test]
    fn one_device_is_one_type_one_unique_number_and_no_disagreement() {
        let ours = key("tank", 1500111, Some(0), Some(1), Some(0));
        assert!(ours.same_device(&key("tank", 1500111, Some(0), None, Some(0))));
        assert!(ours.same_device(&key("tank", 1500111, None, None, None)));
        assert!(
            !ours.same_device(&key("tank", 1500111, Some(0), None, Some(5))),
            "another fluid"
        );
        assert!(
            !ours.same_device(&key("tank", 1500111, Some(0), Some(2), Some(0))),
            "another tank"
        );
        assert!(
            !ours.same_device(&key("tank", 1500111, Some(1), None, None)),
            "another instance"
        );
        assert!(!ours.same_device(&key("battery", 1500111, Some(0), None, None)));
        assert!(!ours.same_device(&key("tank", 7, Some(0), None, None)));
    }

    #[test]
    fn the_key_needs_a_victron_name_and_a_unique_number() {
        let v = |p: &str| (p == "/N2kUniqueNumber").then_some(42);
        let k = DeviceKey::read("com.victronenergy.gps.socketcan_can0_di0_uc42", v).expect("key");
        assert_eq!(k.service_type, "gps");
        assert_eq!(k.unique_number, 42);
        assert_eq!(DeviceKey::read("org.example.gps", v), None);
        assert_eq!(
            DeviceKey::read("com.victronenergy.vecan.can0", |_| None),
            None
        );
    }
}
