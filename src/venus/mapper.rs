//! The mapper: messages and device events in, Venus services out (into the
//! [`ServiceSink`], which the outbox implements). Sans-I/O like the core: time is an argument, nothing awaits.
//!
//! Per device it keeps the inputs the profiles feed (each with its freshness), the
//! services decided so far and what each one last showed. The rules
//! (docs/venus-services.md#mapping-rules, docs/venus-services.md#types):
//!
//! - tanks and temperature sensors are channel services, one per (instance, fluid
//!   type) or (instance, source), decided by their first message;
//! - a DC instance's type comes from its 127506 DC type, else from the NAME's
//!   class/function, decided [`DECIDE_WAIT`] after the device's first DC message so
//!   every instance it sends is known: every instance that measures more than a
//!   voltage has a service of its own (the lowest the main one, others `_dc<i>`),
//!   an instance with a voltage only is the main one's `/Dc/1/Voltage`;
//! - 127507 makes a charger, 127503/127504 an AC meter whose role (grid, genset,
//!   acload) follows the function, its measured lines published as L1…Ln;
//! - a GNSS receiver (60/145) is a `gps` at once; another position source only
//!   when no receiver is on the bus after [`DECIDE_WAIT`], or when the user asks;
//! - a service is published once its device's NAME is known (identity paths
//!   from 126996 follow as updates); a source without a NAME only in listen-only
//!   mode, after [`UNNAMED_WAIT`], and when its NAME arrives its services move to
//!   it in one flush; a service is complete when published and never renamed; it
//!   goes when the device goes;
//! - a reading without an instance joins the device's sensor of that kind, one
//!   sensor reported in several PGNs is one service, and a channel gets a service
//!   only once it carried a value;
//! - values outside what a real device can mean ([`super::plausible`]) are
//!   invalid and counted; known misreports are corrected ([`super::quirks`]).
//!
//! By concern: this file holds the mapper's state, its devices' lifecycle and the
//! settling of their services; `ingest` takes a message's values in, `services`
//! decides which services and channels a device gets, `decide` the decisions
//! that wait for facts, `naming` a service's complete spec.

use std::collections::BTreeMap;

use crate::can::Micros;
use crate::devices::Device;
use crate::model::DeviceSettings;
use crate::model::WriteOutcome;
use crate::model::{Item, ItemTree, ServiceSink, ServiceSpec, Value, WriteRule};
use crate::network::Name;
use crate::venus::stage::{Context, Decided, Incoming, Write};
use crate::venus::Stage;

use super::device_events::DeviceServices;

use super::fields::Fields;
use super::fields::Num;
use super::identity::{self, DeviceId, Identity};
use super::kind::Kind;
use super::plausible;
use super::profile::{self, Conv, Input, Route};
use super::quirks::{self, Quirk};
use super::render::{self, ac_chan, sensor_chan, Inputs, Slot, Target};
use super::rules::Rules;

mod decide;
mod ingest;
mod naming;
mod services;

use decide::*;
use ingest::*;
use naming::*;
use services::*;

const SECOND: Micros = 1_000_000;
/// How long a device's DC instances and a non-GNSS position source wait for the
/// facts that decide their type.
pub const DECIDE_WAIT: Micros = 5 * SECOND;
pub use super::stage::UNNAMED_WAIT;
/// Silence after which a source known only by address is gone.
pub const UNNAMED_GONE: Micros = 60 * SECOND;
/// Freshness and pending decisions are checked this often.
pub const SWEEP: Micros = SECOND / 4;
/// Devices with mapped data at most; more are counted and ignored.
pub const MAX_DEVICES: usize = 512;
/// Services per device at most (a 16-channel module has 16).
pub const MAX_SERVICES: usize = 64;
/// Inputs per device at most.
pub const MAX_SLOTS: usize = 1024;

/// What the mapper is told at start.
#[derive(Debug, Clone)]
pub struct MapperConfig {
    /// The interface, as it appears in service names.
    pub iface: String,
    pub rules: Rules,
}

/// Counters for diagnostics and benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MapperStats {
    /// Messages of a mapped PGN.
    pub mapped: u64,
    pub published: u64,
    pub withdrawn: u64,
    /// Devices, services or inputs refused at their bound.
    pub dropped: u64,
    /// Values refused as implausible.
    pub implausible: u64,
}

/// What a DC instance turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DcRole {
    Service(Kind),
    /// A charger's output: shown by the charger service, no service of its own.
    ChargerOutput,
    /// A generator's starting battery: its genset's `/StarterVoltage`.
    Starter,
}

#[derive(Debug)]
struct Service {
    kind: Kind,
    chan: u32,
    suffix: Option<String>,
    name: String,
    data_instance: Option<u8>,
    dc: [Option<u8>; 2],
    /// Genset: the engine instance it shows.
    engine: Option<u8>,
    /// DC meter, DC-DC converter or charger: the converter connection it shows.
    converter: Option<u8>,
    /// Created by a message that named its instance. A sensor made by readings
    /// without one (130310, 130311, instance "not available") waits
    /// [`DECIDE_WAIT`] for a sibling with an instance to join.
    instanced: bool,
    created: Micros,
    published: bool,
    shown: Vec<Value>,
}

#[derive(Debug)]
struct Dev {
    id: DeviceId,
    first_heard: Micros,
    last_heard: Micros,
    slots: Vec<Slot>,
    services: Vec<Service>,
    /// DC instances in the order they appeared, and their role once decided.
    dc: Vec<(u8, Option<DcRole>)>,
    dc_since: Option<Micros>,
    /// DC instances the device sent battery configuration (127513) for.
    battery_config: Vec<u8>,
    chargers: Vec<u8>,
    gps_since: Option<Micros>,
    gps: Option<bool>,
    /// A generator's most severe active NMEA 2000 alert, as its `/Error/0/Id`
    /// ([`super::alerts`]).
    alert_error: Option<String>,
    /// The highest operating hours each engine instance reported.
    engine_hours: Vec<(u8, f64)>,
}

impl Dev {
    /// A device first heard at `now`, with nothing of it known yet.
    fn new(id: DeviceId, now: Micros) -> Dev {
        Dev {
            id,
            first_heard: now,
            last_heard: now,
            slots: Vec::new(),
            services: Vec::new(),
            dc: Vec::new(),
            dc_since: None,
            battery_config: Vec::new(),
            chargers: Vec::new(),
            gps_since: None,
            gps: None,
            alert_error: None,
            engine_hours: Vec::new(),
        }
    }
}

/// A named device's identity, from the core's events.
#[derive(Debug, Clone, Default)]
struct Known {
    identity: Identity,
}

/// The NMEA 2000 → Venus mapper of one interface.
pub struct Mapper {
    cfg: MapperConfig,
    devices: BTreeMap<DeviceId, Dev>,
    known: BTreeMap<Name, Known>,
    fields: Fields,
    scratch: Vec<Value>,
    next_sweep: Micros,
    /// The capture ended: nothing more will come to wait for.
    finished: bool,
    /// Sources without a NAME are published by address (listen-only: nothing can
    /// ask them for their NAME).
    by_address: bool,
    quirks: &'static [Quirk],
    /// Values refused as implausible, per device, input and channel. A source
    /// counted by address keeps its counts there when it claims (the bus service
    /// never removes a path); its NAME counts from then on.
    implausible: BTreeMap<(DeviceId, Input, u32), u64>,
    /// The refusals of the message being mapped.
    refused: Vec<(Input, u32, f64)>,
    stats: MapperStats,
}

/// Implausible values are counted for this many (device, input, channel) at most.
const MAX_IMPLAUSIBLE: usize = 1024;

impl Mapper {
    /// A mapper with no device yet.
    pub fn new(cfg: MapperConfig) -> Mapper {
        Mapper {
            cfg,
            devices: BTreeMap::new(),
            known: BTreeMap::new(),
            fields: Fields::default(),
            scratch: Vec::new(),
            next_sweep: 0,
            finished: false,
            by_address: false,
            quirks: quirks::QUIRKS,
            implausible: BTreeMap::new(),
            refused: Vec::new(),
            stats: MapperStats::default(),
        }
    }

    /// Publishes sources that never gave their NAME by address, after
    /// [`UNNAMED_WAIT`] (a listen-only gateway: it may not ask them).
    pub fn publish_by_address(mut self, yes: bool) -> Mapper {
        self.by_address = yes;
        self
    }

    /// Corrects the devices of `quirks` instead of [`quirks::QUIRKS`].
    pub fn with_quirks(mut self, quirks: &'static [Quirk]) -> Mapper {
        self.quirks = quirks;
        self
    }

    /// Values refused as implausible so far: the service-name tail of the device,
    /// where the value was going (`dc11/Temperature`), and how many.
    pub fn implausible(&self) -> impl Iterator<Item = (String, String, u64)> + '_ {
        let iface = identity::bus_element(&self.cfg.iface);
        self.implausible
            .iter()
            .map(move |(&(id, input, chan), &n)| {
                (
                    identity::name_tail(&iface, id, None),
                    location(input, chan),
                    n,
                )
            })
    }

    /// Counters so far.
    pub fn stats(&self) -> MapperStats {
        self.stats
    }

    /// A generator's alert error changed ([`super::alerts::Alerts::poll_error`]).
    pub fn set_alert_error(
        &mut self,
        now: Micros,
        name: Name,
        error: Option<String>,
        outbox: &dyn ServiceSink,
    ) {
        let id = DeviceId::Name(name);
        if let Some(dev) = self.devices.get_mut(&id) {
            dev.alert_error = error;
            self.settle(now, id, outbox);
        }
    }

    /// A source heard by address has claimed `name`: its services leave and the
    /// NAME's arrive in the same flush, with what it sent so far.
    fn hand_over(&mut self, now: Micros, address: u8, name: Name, outbox: &dyn ServiceSink) {
        let from = DeviceId::Address(address);
        let to = DeviceId::Name(name);
        if self.devices.contains_key(&to) || self.cfg.rules.excluded(name) {
            return self.forget(from, outbox);
        }
        let Some(mut dev) = self.devices.remove(&from) else {
            return;
        };
        // What was decided without the NAME and not shown yet is decided again
        // with it (a generator's DC instance is its starter battery, its engine a
        // genset): the next messages bring those services back.
        dev.services.retain(|s| s.published);
        if !dev.services.iter().any(|s| is_dc_kind(s.kind)) {
            dev.dc.iter_mut().for_each(|d| d.1 = None);
        }
        if !dev.services.iter().any(|s| s.kind == Kind::Gps) {
            dev.gps = None;
        }
        let iface = identity::bus_element(&self.cfg.iface);
        for s in &mut dev.services {
            if s.published {
                outbox.withdraw(&s.name);
                self.stats.withdrawn += 1;
            }
            let tail = identity::name_tail(&iface, to, s.suffix.as_deref());
            s.name = format!("com.victronenergy.{}.{tail}", s.kind.class());
            s.published = false;
        }
        dev.id = to;
        self.devices.insert(to, dev);
        self.settle(now, to, outbox);
    }

    /// When the next sweep ([`Stage::on_sweep`]) has work: the mapper keeps the
    /// gateway's sweep clock.
    pub fn next_sweep(&self) -> Micros {
        self.next_sweep
    }

    /// Drops a device, withdrawing its services.
    fn forget(&mut self, id: DeviceId, outbox: &dyn ServiceSink) {
        if let Some(dev) = self.devices.remove(&id) {
            for s in dev.services.iter().filter(|s| s.published) {
                outbox.withdraw(&s.name);
                self.stats.withdrawn += 1;
            }
        }
    }

    /// Whether `dev`'s services may be published: a device known by NAME at once
    /// (what 126996 tells later is an update), a source without one only when
    /// publishing by address and after [`UNNAMED_WAIT`].
    fn ready(&self, dev: &Dev, now: Micros) -> bool {
        match dev.id {
            DeviceId::Name(n) => self.finished || self.known.contains_key(&n),
            DeviceId::Address(_) => {
                self.by_address && (self.finished || now - dev.first_heard >= UNNAMED_WAIT)
            }
        }
    }

    /// Decides what can be decided, publishes what is ready, sends what changed.
    fn settle(&mut self, now: Micros, id: DeviceId, outbox: &dyn ServiceSink) {
        let ready = match self.devices.get(&id) {
            Some(dev) => self.ready(dev, now),
            None => return,
        };
        let Some(dev) = self.devices.get_mut(&id) else {
            return;
        };
        // What follows runs for every mapped message: the device table is only
        // read where a decision or a publication needs it.
        let known = &self.known;
        let wait_over = |since: Micros| self.finished || now - since >= DECIDE_WAIT;
        decide_dc(&self.cfg, dev, wait_over, now, &mut self.stats.dropped);
        decide_gps(
            &self.cfg,
            dev,
            wait_over,
            now,
            || known.keys().any(|&n| is_gnss(n)),
            &mut self.stats.dropped,
        );
        if ready && dev.services.iter().any(|s| !s.published) {
            merge_sensors(dev);
        }
        let inputs = Inputs(&dev.slots);
        let starter = dev
            .dc
            .iter()
            .find(|d| d.1 == Some(DcRole::Starter))
            .map(|d| d.0);
        for s in &mut dev.services {
            let target = Target {
                kind: s.kind,
                chan: s.chan,
                dc: s.dc,
                chargers: &dev.chargers,
                engine: s.engine,
                starter,
                converter: s.converter,
                alert: dev.alert_error.as_deref(),
            };
            render::render(&target, inputs, &mut self.scratch);
            if s.published {
                for (i, v) in self.scratch.iter().enumerate() {
                    if s.shown[i] != *v {
                        outbox.set(&s.name, s.kind.paths()[i].path, v.clone());
                        s.shown[i] = v.clone();
                    }
                }
            } else if ready && (s.instanced || wait_over(s.created)) {
                s.shown.clone_from(&self.scratch);
                let identity = match id {
                    DeviceId::Name(n) => known.get(&n).map(|k| &k.identity),
                    DeviceId::Address(_) => None,
                };
                let none = Identity::default();
                outbox.publish(spec(&self.cfg, id, s, identity.unwrap_or(&none)));
                s.published = true;
                self.stats.published += 1;
            }
        }
    }
}

impl super::alerts::Homes for Mapper {
    fn genset(&self, about: Name) -> bool {
        self.devices
            .get(&DeviceId::Name(about))
            .is_some_and(|d| d.services.iter().any(|s| s.kind == Kind::Genset))
    }
}

/// The mapper keeps the sweep's clock ([`Mapper::next_sweep`]): its
/// sweep does nothing before it.
impl Stage for Mapper {
    /// A temperature sensor's type is the client's to choose, and kept.
    fn on_write(&mut self, w: &Write<'_>) -> Option<Decided> {
        (w.path == "/TemperatureType").then_some(Decided::Now(WriteOutcome::Store))
    }

    /// Every message the stages before it left.
    fn on_message(&mut self, m: &Incoming<'_>, cx: Context<'_>) -> bool {
        self.ingest(m, cx.sink);
        true
    }

    /// A device's state changed in the core ([`DeviceServices`]).
    fn on_event(
        &mut self,
        now: Micros,
        event: &crate::core::Event,
        device: Option<&Device>,
        outbox: &dyn ServiceSink,
    ) {
        self.on_device_event(now, event, device, outbox);
    }

    /// Freshness, pending decisions and silent address-only sources, at most every
    /// [`SWEEP`].
    fn on_sweep(&mut self, now: Micros, outbox: &dyn ServiceSink) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP;
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            let Some(dev) = self.devices.get_mut(&id) else {
                continue;
            };
            if matches!(id, DeviceId::Address(_)) && now - dev.last_heard > UNNAMED_GONE {
                self.forget(id, outbox);
                continue;
            }
            dev.slots.retain(|s| s.until > now);
            self.settle(now, id, outbox);
        }
    }

    /// The bus went away (the interface is down): every measured value is invalid
    /// now rather than when it would have aged out. Values that hold while the
    /// device is on the bus (battery configuration) stay.
    fn on_link_down(&mut self, now: Micros, outbox: &dyn ServiceSink) {
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            if let Some(dev) = self.devices.get_mut(&id) {
                dev.slots.retain(|s| s.until == Micros::MAX);
            }
            self.settle(now, id, outbox);
        }
    }

    /// The end of a capture that stays on the bus (`replay --hold`): what still
    /// waits for facts (DC types, a GNSS receiver, a sibling for a sensor without
    /// an instance, a NAME when listening) is decided with what is known, so a
    /// short capture shows its devices too.
    fn finish(&mut self, now: Micros, outbox: &dyn ServiceSink) {
        self.finished = true;
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            self.settle(now, id, outbox);
        }
    }

    /// Withdraws every service (the end of a replay, a shutdown).
    fn withdraw_all(&mut self, outbox: &dyn ServiceSink) {
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            self.forget(id, outbox);
        }
    }

    /// How many device services are published (or about to be).
    fn published(&self) -> usize {
        self.devices
            .values()
            .map(|d| d.services.iter().filter(|s| s.published).count())
            .sum()
    }
}

#[cfg(test)]
mod tests;

impl DeviceServices for Mapper {
    fn know(&mut self, name: Name) {
        self.known.entry(name).or_default();
    }

    fn identify(&mut self, name: Name, identity: Option<Identity>) -> Identity {
        let k = self.known.entry(name).or_default();
        if let Some(i) = identity {
            k.identity = i;
        }
        k.identity.clone()
    }

    fn unknow(&mut self, name: Name) {
        self.known.remove(&name);
    }

    fn hand_over(&mut self, now: Micros, address: u8, name: Name, sink: &dyn ServiceSink) {
        Mapper::hand_over(self, now, address, name, sink);
    }

    fn forget(&mut self, id: DeviceId, sink: &dyn ServiceSink) {
        Mapper::forget(self, id, sink);
    }

    fn published_of(&self, id: DeviceId) -> Vec<(String, Kind)> {
        self.devices.get(&id).map_or_else(Vec::new, |dev| {
            dev.services
                .iter()
                .filter(|s| s.published)
                .map(|s| (s.name.clone(), s.kind))
                .collect()
        })
    }

    fn settle_device(&mut self, now: Micros, id: DeviceId, sink: &dyn ServiceSink) {
        self.settle(now, id, sink);
    }
}
