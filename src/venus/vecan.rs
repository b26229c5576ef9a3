//! `com.victronenergy.vecan.<if>`: the bus service, where Venus lists every node on
//! the bus — displays and gateways too, not only devices with a product service —
//! changes their device instance, and shows bus alarms and statistics
//! (`docs/architecture.md#the-bus-service`).
//!
//! Entries are keyed as vecan-dbus keys them: 12 hex digits whose low 32 bits are
//! NAME bits 0–31 (manufacturer code and unique number). A device whose instance is
//! changed therefore stays under its key. The list is a cache: a device that leaves
//! stays listed with `Connected` 0.
//!
//! The `/Link/*` paths take DVCC's values and put them on the bus ([`super::link`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::can::socket::SocketStats;
use crate::can::Micros;
use crate::core::Core;
use crate::devices::Device;
use crate::model::{
    Format, Item, ItemTree, ServiceSink, ServiceSpec, Value, WriteOutcome, WriteRefusal, WriteRule,
};
use crate::network::Name;

use super::link::{Link, LINK};

/// What `/Mgmt/ProcessName` says.
const PROCESS: &str = "n2k-dbus";

/// The bus service of one interface.
#[derive(Debug)]
pub struct BusService {
    iface: String,
    name: String,
    /// What the bus currently shows, to send only differences.
    shown: Option<ItemTree>,
    /// Steps of the clock the gateway was fed (a capture's, or the system's).
    clock_steps: u64,
    /// Implausible values refused: device (service-name tail), where the value was
    /// going, how many.
    implausible: Vec<(String, String, u64)>,
    /// DVCC's link values and their broadcasts.
    link: Link,
}

/// The bus service's key of a NAME: `0000` and NAME bits 0–31, or NAME bits 32–47
/// in the upper half for a second device that shares the lower half.
pub fn device_key(name: Name, upper: bool) -> String {
    let raw = name.0;
    let high = if upper { (raw >> 32) & 0xFFFF } else { 0 };
    format!("{:04X}{:08X}", high, raw & 0xFFFF_FFFF)
}

impl BusService {
    /// The bus service of `iface` (`can0`).
    pub fn new(iface: &str) -> BusService {
        BusService {
            iface: iface.to_owned(),
            name: format!(
                "com.victronenergy.vecan.{}",
                super::identity::bus_element(iface)
            ),
            shown: None,
            clock_steps: 0,
            implausible: Vec::new(),
            link: Link::default(),
        }
    }

    /// The implausible values the mapper refused so far, shown as
    /// `/Statistics/Implausible/<device>/<where>` from the next refresh on.
    pub fn set_implausible(&mut self, counts: Vec<(String, String, u64)>) {
        self.implausible = counts;
    }

    /// Counts a step of the clock (shown as `/Statistics/ClockSteps`); returns the
    /// count so far.
    pub fn count_clock_step(&mut self) -> u64 {
        self.clock_steps += 1;
        self.clock_steps
    }

    /// Clock steps so far.
    pub fn clock_steps(&self) -> u64 {
        self.clock_steps
    }

    /// The address of the device listed under `key`, while it is on the bus.
    pub fn address_of(&self, core: &Core, key: &str) -> Option<u8> {
        keyed(core)
            .into_iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, d)| d.address.filter(|_| d.online()))
    }

    /// Broadcasts the link registers due at `now` from the gateway's address.
    pub fn send_link(&mut self, core: &mut Core, now: Micros) {
        for (reg, bytes) in self.link.due(now) {
            core.vreg_broadcast(now, reg, &bytes);
        }
    }

    /// When [`BusService::send_link`] has something to send next.
    pub fn link_wake(&self) -> Option<Micros> {
        self.link.next_wake()
    }

    /// `com.victronenergy.vecan.<if>`.
    pub fn service_name(&self) -> &str {
        &self.name
    }

    /// Every item as of `now`.
    pub fn items(&self, core: &Core, link: Option<&SocketStats>, now: Micros) -> ItemTree {
        let mut t = ItemTree::new();
        self.put_items(
            &mut |path: &str, item: Item| {
                if let Err(e) = t.insert(path, item) {
                    tracing::warn!("bus service: {e}");
                }
            },
            core,
            link,
            now,
        );
        t
    }

    /// Hands every item as of `now` to `put`.
    fn put_items(
        &self,
        put: &mut impl FnMut(&str, Item),
        core: &Core,
        link: Option<&SocketStats>,
        now: Micros,
    ) {
        put("/Identifier", Item::new(self.iface.as_str()));
        put("/Mgmt/ProcessName", Item::new(PROCESS));
        put("/Mgmt/ProcessVersion", Item::new(env!("CARGO_PKG_VERSION")));
        put(
            "/Mgmt/Connection",
            Item::new(format!("socketcan:{}", self.iface)),
        );
        put(
            "/Alarms/SameUniqueNameUsed",
            Item::new(i64::from(same_unique_name_used(core)))
                .writable(WriteRule::Integer)
                .with_range(0, 1),
        );
        for l in LINK {
            let rule = if l.path == "/Link/NetworkMode" {
                WriteRule::Integer
            } else {
                WriteRule::Real
            };
            put(l.path, Item::new(self.link.value(l.path)).writable(rule));
        }
        let mut path = String::new();
        for (key, dev) in keyed(core) {
            let product = dev.product.as_ref();
            let text = |s: Option<&String>| -> Value {
                s.filter(|s| !s.is_empty())
                    .map_or(Value::Invalid, |s| Value::Text(s.clone()))
            };
            let custom_name = dev
                .config
                .as_ref()
                .map_or(String::new(), |c| c.installation_description1.clone());
            let instance = Item::new(i64::from(dev.name.device_instance()))
                .writable(WriteRule::Integer)
                .with_range(0, 255);
            let nad = dev.address.filter(|_| dev.online()).map(u32::from);
            for (leaf, item) in [
                ("Connected", Item::new(i64::from(dev.online()))),
                ("CustomName", Item::new(custom_name)),
                ("DeviceInstance", instance),
                (
                    "FirmwareVersion",
                    Item::new(text(product.map(|p| &p.software_version))),
                ),
                (
                    "Manufacturer",
                    Item::new(i64::from(dev.name.manufacturer_code())),
                ),
                ("ModelName", Item::new(text(product.map(|p| &p.model_id)))),
                (
                    "N2kUniqueNumber",
                    Item::new(i64::from(dev.name.unique_number())),
                ),
                ("Nad", Item::new(Value::from(nad))),
                ("Serial", Item::new(text(product.map(|p| &p.serial)))),
                ("Name", Item::new(format!("{:016X}", dev.name.0))),
            ] {
                path.clear();
                let _ = write!(path, "/Devices/{key}/{leaf}");
                put(&path, item);
            }
            // Victron's devices take remote configuration (GetVreg/SetVreg) here.
            if dev.name.manufacturer_code() == crate::venus::products::VICTRON {
                put(
                    &format!("/Devices/{key}/VregLink"),
                    Item::new(Value::Invalid),
                );
            }
        }
        self.put_statistics(put, core, link, now);
    }

    /// The `/Statistics/*` items as of `now`.
    fn put_statistics(
        &self,
        put: &mut impl FnMut(&str, Item),
        core: &Core,
        link: Option<&SocketStats>,
        now: Micros,
    ) {
        let st = core.stats();
        let asm = core.assembler().stats();
        let count = |v: u64| Item::new(Value::Int(i64::try_from(v).unwrap_or(i64::MAX)));
        put("/Statistics/FramesReceived", count(st.frames));
        put("/Statistics/FramesSent", count(st.transmitted));
        put("/Statistics/Messages", count(st.messages));
        put(
            "/Statistics/ErrorFrames",
            count(link.map_or(0, |l| l.error_frames)),
        );
        put("/Statistics/OutputsDropped", count(st.outputs_dropped));
        put(
            "/Statistics/Devices",
            count(core.registry().iter().filter(|d| d.online()).count() as u64),
        );
        put(
            "/Statistics/Malformed/FastPacket",
            count(asm.fast_packet.invalid),
        );
        put("/Statistics/Malformed/IsoTp", count(asm.iso_tp.invalid));
        put(
            "/Statistics/Malformed/NotExtended",
            count(link.map_or(0, |l| l.dropped_non_extended)),
        );
        put(
            "/Statistics/Incomplete/FastPacket",
            count(asm.fast_packet.stale + asm.fast_packet.evicted + asm.fast_packet.restarted),
        );
        put(
            "/Statistics/Incomplete/IsoTp",
            count(asm.iso_tp.aborted + asm.iso_tp.stale),
        );
        put("/Statistics/ClockSteps", count(self.clock_steps));
        for (device, at, n) in &self.implausible {
            put(&format!("/Statistics/Implausible/{device}/{at}"), count(*n));
        }
        put(
            "/Statistics/BusLoad",
            Item::new(Value::from(core.bus_load(now))).with_format(Format::unit(1, "%")),
        );
    }

    /// Brings the bus service up to date: the first call publishes, later calls
    /// send only what changed — the statistics, which change every second, and with
    /// `devices` (the device list changed) every path, new devices as new paths.
    /// Paths never disappear: a device that left keeps its entry.
    pub fn refresh(
        &mut self,
        devices: bool,
        core: &Core,
        link: Option<&SocketStats>,
        now: Micros,
        outbox: &dyn ServiceSink,
    ) {
        let Some(mut shown) = self.shown.take() else {
            let items = self.items(core, link, now);
            outbox.publish(ServiceSpec::new(self.name.clone(), items.clone()));
            self.shown = Some(items);
            return;
        };
        let name = self.name.as_str();
        let put = &mut |path: &str, item: Item| show(&mut shown, name, path, item, outbox);
        if devices {
            self.put_items(put, core, link, now);
        } else {
            self.put_statistics(put, core, link, now);
        }
        self.shown = Some(shown);
    }

    /// Decides a client's write on the bus service. A device instance is sent to the
    /// device as a 126208 command and shows once the device claims with its new NAME;
    /// the alarm may be cleared and is raised again while the cause lasts.
    pub fn on_write(
        &mut self,
        core: &mut Core,
        now: Micros,
        path: &str,
        value: &Value,
    ) -> WriteOutcome {
        if path.starts_with("/Link/") {
            if !self.link.set(now, path, value) {
                return WriteOutcome::Refused(WriteRefusal::OutOfRange(path.to_owned()));
            }
            if let Some(shown) = &mut self.shown {
                shown.set(path, value.clone());
            }
            self.send_link(core, now);
            return WriteOutcome::Store;
        }
        if path == "/Alarms/SameUniqueNameUsed" {
            if let Some(shown) = &mut self.shown {
                shown.set(path, value.clone());
            }
            return WriteOutcome::Store;
        }
        let Some(key) = path
            .strip_prefix("/Devices/")
            .and_then(|p| p.strip_suffix("/DeviceInstance"))
        else {
            return WriteOutcome::Refused(WriteRefusal::NotWritable(path.to_owned()));
        };
        let Some(name) = keyed(core)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, d)| d.name)
        else {
            return WriteOutcome::Refused(WriteRefusal::NoDevice(key.to_owned()));
        };
        let Value::Int(instance) = value else {
            return WriteOutcome::Refused(WriteRefusal::NotAnInteger(path.to_owned()));
        };
        let Ok(instance) = u8::try_from(*instance) else {
            return WriteOutcome::Refused(WriteRefusal::NotADeviceInstance { value: *instance });
        };
        match core.command_device_instance(now, name, instance) {
            Ok(()) => WriteOutcome::Accepted,
            Err(e) => WriteOutcome::Refused(e.into()),
        }
    }
}

/// The device shown under each key: per lower half of the NAME the online device
/// (else the one heard last); another online device with the same lower half gets
/// the upper-half key; older NAMEs of a device whose instance changed are not shown.
fn keyed(core: &Core) -> Vec<(String, &Device)> {
    let mut groups: BTreeMap<u32, Vec<&Device>> = BTreeMap::new();
    for d in core.registry().iter() {
        groups.entry(d.name.0 as u32).or_default().push(d);
    }
    let mut out = Vec::new();
    for (_, mut devs) in groups {
        devs.sort_by_key(|d| {
            (
                std::cmp::Reverse(d.online()),
                std::cmp::Reverse(d.last_heard),
                d.name.0,
            )
        });
        let primary = devs[0];
        out.push((device_key(primary.name, false), primary));
        for d in &devs[1..] {
            if d.online() && !d.name.differs_only_in_instance(primary.name) {
                out.push((device_key(d.name, true), *d));
            }
        }
    }
    out
}

/// 1 when another node on the bus uses our manufacturer code and unique number.
pub(crate) fn same_unique_name_used(core: &Core) -> bool {
    let ours = core.name();
    core.registry().iter().any(|d| {
        d.online()
            && d.name != ours
            && d.name.unique_number() == ours.unique_number()
            && d.name.manufacturer_code() == ours.manufacturer_code()
    })
}

/// Sends `item` at `path` of service `name` if it differs from what `shown` has,
/// and keeps it there: a value as a set, anything else (a new path, a new write
/// rule) as an insert. Most items are unchanged: one lookup each.
fn show(shown: &mut ItemTree, name: &str, path: &str, item: Item, outbox: &dyn ServiceSink) {
    match shown.get(path) {
        Some(old) if *old == item => return,
        Some(old) if old.write == item.write => outbox.set(name, path, item.value.clone()),
        _ => outbox.insert(name, path, item.clone()),
    }
    if let Err(e) = shown.insert(path, item) {
        tracing::warn!("bus service: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::NameFields;

    #[test]
    fn keys_are_name_bits_0_to_31() {
        let name = Name::from_fields(NameFields {
            unique_number: 68171,
            manufacturer_code: 1299,
            device_instance: 0,
            device_function: 130,
            device_class: 30,
            system_instance: 0,
            industry_group: 4,
            arbitrary_address_capable: true,
        });
        assert_eq!(device_key(name, false), "0000A2610A4B");
        let other = Name::from_fields(NameFields {
            unique_number: 0,
            manufacturer_code: 304,
            ..name.fields()
        });
        assert_eq!(device_key(other, false), "000026000000");
    }
}
