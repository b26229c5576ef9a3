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

use std::collections::BTreeMap;

use crate::can::Micros;
use crate::devices::Device;
use crate::model::DeviceSettings;
use crate::model::{Item, ItemTree, ServiceSink, ServiceSpec, Value, WriteRule};
use crate::network::Name;
use crate::venus::Stage;

use super::fields::Fields;
use super::fields::Num;
use super::identity::{self, DeviceId, Identity};
use super::kind::Kind;
use super::plausible;
use super::profile::{self, Conv, Input, Route};
use super::quirks::{self, Quirk};
use super::render::{self, ac_chan, sensor_chan, Inputs, Slot, Target};
use super::rules::Rules;

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

    /// One message from `source`, sent by `name` when its NAME is known.
    pub fn on_message(
        &mut self,
        now: Micros,
        source: u8,
        name: Option<Name>,
        pgn: u32,
        data: &[u8],
        outbox: &dyn ServiceSink,
    ) {
        let Some(p) = profile::profile(pgn) else {
            return;
        };
        if name.is_some_and(|n| self.cfg.rules.excluded(n)) {
            return;
        }
        let id = name.map_or(DeviceId::Address(source), DeviceId::Name);
        if !self.devices.contains_key(&id) && self.devices.len() >= MAX_DEVICES {
            self.stats.dropped += 1;
            return;
        }
        if !self.fields.decode(pgn, data) {
            return;
        }
        self.stats.mapped += 1;
        let until = profile::freshness(pgn).map_or(Micros::MAX, |f| now.saturating_add(f));
        let quirk = self.quirk_of(id, pgn);
        let dev = self.devices.entry(id).or_insert_with(|| Dev {
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
        });
        dev.last_heard = now;
        let f = &self.fields;
        let code = |id: &str| f.get(id).code().and_then(|c| u8::try_from(c).ok());
        let mut w = Store {
            f,
            until,
            quirk,
            dropped: 0,
            refused: &mut self.refused,
        };
        w.refused.clear();
        match p.route {
            Route::Tank => {
                let fluid = code("type").unwrap_or(15);
                let instance = code("instance");
                let (chan, instanced) = channel_of(dev, Kind::Tank, fluid, instance);
                w.feeds(dev, p.feeds, chan, 0);
                if !existing(dev, Kind::Tank, chan, instanced)
                    && carries(dev, chan, &[Input::Level, Input::TankCapacity])
                {
                    let suffix = profile::tank_suffix(fluid, (chan >> 8) as u8);
                    let data_instance = Some((chan >> 8) as u8);
                    ensure(
                        &self.cfg,
                        dev,
                        Kind::Tank,
                        chan,
                        Some(suffix),
                        data_instance,
                        instanced,
                        now,
                        &mut w.dropped,
                    );
                }
            }
            Route::Temperature { instance, source } => {
                // Without a source the message names no sensor (all fields "not
                // available", as some devices send).
                let Some(s) = code(source) else { return };
                let i = if instance { code("instance") } else { None };
                let (chan, instanced) = channel_of(dev, Kind::Temperature, s, i);
                w.feeds(dev, p.feeds, chan, 0);
                ensure_sensor(&self.cfg, dev, chan, instanced, now, &mut w.dropped);
            }
            Route::Humidity | Route::Pressure => {
                let own = if p.route == Route::Humidity {
                    profile::HUMIDITY_SOURCE
                } else {
                    if code("source") != Some(0) {
                        return; // only atmospheric pressure has a Venus home
                    }
                    profile::PRESSURE_SOURCE
                };
                let (instance, instanced) = match code("instance") {
                    Some(i) => (i, true),
                    None => (default_instance(dev), false),
                };
                let chan = sensor_of_instance(dev, instance).unwrap_or(sensor_chan(instance, own));
                w.feeds(dev, p.feeds, chan, 0);
                ensure_sensor(&self.cfg, dev, chan, instanced, now, &mut w.dropped);
            }
            Route::Environment => {
                for (source, field, pressure) in [
                    (0u8, "waterTemperature", false),
                    (1, "outsideAmbientAirTemperature", true),
                ] {
                    let (chan, _) = channel_of(dev, Kind::Temperature, source, None);
                    let t = w.value(field, 0, Conv::Celsius);
                    w.put(dev, Input::TemperatureOutsideWater, chan, t);
                    if pressure {
                        let hpa = w.value("atmosphericPressure", 0, Conv::Times(0.01));
                        w.put(dev, Input::PressureEnvironment, chan, hpa);
                    }
                    ensure_sensor(&self.cfg, dev, chan, false, now, &mut w.dropped);
                }
            }
            Route::Dc => {
                let Some(i) = code("instance") else { return };
                if !dev.dc.iter().any(|&(x, _)| x == i) && dev.dc.len() < 16 {
                    dev.dc.push((i, None));
                }
                dev.dc_since.get_or_insert(now);
                if pgn == 127513
                    && !dev.battery_config.contains(&i)
                    && dev.battery_config.len() < 16
                {
                    dev.battery_config.push(i);
                }
                w.feeds(dev, p.feeds, u32::from(i), 0);
            }
            Route::Charger => {
                let Some(i) = code("instance") else { return };
                if !dev.chargers.contains(&i) && dev.chargers.len() < 16 {
                    dev.chargers.push(i);
                }
                w.feeds(dev, p.feeds, u32::from(i), 0);
                let first = Some(dev.chargers[0]);
                ensure(
                    &self.cfg,
                    dev,
                    Kind::Charger,
                    0,
                    None,
                    first,
                    true,
                    now,
                    &mut w.dropped,
                );
            }
            Route::Ac { input } => {
                let Some(i) = code("instance") else { return };
                let base = ac_chan(input, i, 0);
                for item in 1..=f.items() {
                    let Some(line) = f.get_in(item, "line").code().filter(|&l| l < 3) else {
                        continue;
                    };
                    let chan = base | line as u32;
                    w.feeds(dev, p.feeds, chan, item);
                    w.power_fits(dev, chan);
                }
                let kind = ac_kind(&self.cfg.rules, name, input);
                if !input && inverter_output(dev, i) {
                    // The inverter service shows its output (docs/venus-services.md#inverters-and-converters); a meter decided before the 127509 came goes.
                    dev.services
                        .retain(|s| s.published || s.kind != kind || s.chan != base);
                } else {
                    // An inverter's output waits for the 127509 that may name it.
                    let settled = input || !is_inverter(name);
                    let suffix = || format!("ac_{}{i}", if input { "in" } else { "out" });
                    ensure_meter(
                        &self.cfg,
                        dev,
                        kind,
                        (base, settled),
                        suffix,
                        Some(i),
                        now,
                        &mut w.dropped,
                    );
                }
            }
            Route::Gps => {
                dev.gps_since.get_or_insert(now);
                w.feeds(dev, p.feeds, 0, 0);
            }
            Route::Engine => {
                let Some(i) = code("instance") else { return };
                let chan = render::engine_chan(i);
                w.feeds(dev, p.feeds, chan, 0);
                w.hours_forward(dev, i, chan);
                if is_generator(&self.cfg.rules, name) {
                    if !existing(dev, Kind::Genset, chan, true) {
                        let suffix = dev
                            .services
                            .iter()
                            .any(|s| s.kind == Kind::Genset)
                            .then(|| format!("engine{i}"));
                        ensure(
                            &self.cfg,
                            dev,
                            Kind::Genset,
                            chan,
                            suffix,
                            Some(i),
                            true,
                            now,
                            &mut w.dropped,
                        );
                        if let Some(s) = dev.services.iter_mut().find(|s| s.chan == chan) {
                            s.engine = Some(i);
                        }
                    }
                } else if pgn == 127489 {
                    // A propulsion engine: Venus has no engine service; its
                    // temperatures are temperature sensors (docs/venus-services.md#engines-and-gensets).
                    for (field, conv, source) in [
                        ("temperature", Conv::Celsius, profile::ENGINE_COOLANT_SOURCE),
                        ("oilTemperature", Conv::Celsius, profile::ENGINE_OIL_SOURCE),
                    ] {
                        let chan = sensor_chan(i, source);
                        let t = w.value(field, 0, conv);
                        w.put(dev, Input::Temperature, chan, t);
                        ensure_sensor(&self.cfg, dev, chan, true, now, &mut w.dropped);
                    }
                }
            }
            Route::AcJ1939 { generator, line } => {
                let base = render::j1939_chan(0);
                let chan = render::j1939_chan(line);
                w.feeds(dev, p.feeds, chan, 0);
                if line < 3 {
                    w.power_fits(dev, chan);
                }
                let kind = j1939_kind(&self.cfg.rules, name, generator);
                let suffix = || "j1939".to_owned();
                ensure_meter(
                    &self.cfg,
                    dev,
                    kind,
                    (base, true),
                    suffix,
                    None,
                    now,
                    &mut w.dropped,
                );
            }
            Route::Inverter => {
                let Some(i) = code("instance") else { return };
                w.feeds(dev, p.feeds, u32::from(i), 0);
                ensure_inverter(&self.cfg, dev, i, now, &mut w.dropped);
            }
            Route::Converter { status } => {
                let Some(c) = code("connectionNumber") else {
                    return;
                };
                w.feeds(dev, p.feeds, render::converter_chan(c), 0);
                let kind = converter_kind(&self.cfg.rules, name, status);
                ensure_converter(&self.cfg, dev, kind, c, now, &mut w.dropped);
            }
        }
        self.stats.dropped += w.dropped;
        self.count_refused(id);
        self.settle(now, id, outbox);
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

    /// The quirk context of a message of `pgn` from `id`, when a row concerns it.
    fn quirk_of(&self, id: DeviceId, pgn: u32) -> Option<QuirkOf> {
        if !quirks::concerns(self.quirks, pgn) {
            return None;
        }
        let DeviceId::Name(n) = id else { return None };
        let model = self
            .known
            .get(&n)
            .and_then(|k| k.identity.product.as_ref())
            .map(|p| p.model_id.as_str())?;
        let quirks = self.quirks;
        let manufacturer = n.manufacturer_code();
        // The factors of this device's rows for this PGN, found once per message.
        let mut factors = [("", 1.0); 4];
        let mut k = 0;
        for q in quirks.iter().filter(|q| q.pgn == pgn) {
            if k < factors.len() {
                if let Some(x) = quirks::factor(quirks, manufacturer, model, pgn, q.field) {
                    factors[k] = (q.field, x);
                    k += 1;
                }
            }
        }
        (k > 0).then_some(QuirkOf { factors, len: k })
    }

    /// Counts the values the last message had refused, logging each kind once.
    fn count_refused(&mut self, id: DeviceId) {
        for &(input, chan, value) in &self.refused {
            self.stats.implausible += 1;
            let key = (id, input, chan);
            let full = self.implausible.len() >= MAX_IMPLAUSIBLE;
            match self.implausible.get_mut(&key) {
                Some(n) => *n += 1,
                None if !full => {
                    self.implausible.insert(key, 1);
                    let iface = identity::bus_element(&self.cfg.iface);
                    tracing::warn!(
                        device = %identity::name_tail(&iface, id, None),
                        at = %location(input, chan),
                        value,
                        "a value no working sensor reports: shown as invalid, counted on the bus service (logged once)"
                    );
                }
                None => self.stats.dropped += 1,
            }
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

/// The quirk factors that apply to one message.
#[derive(Debug, Clone, Copy)]
struct QuirkOf {
    factors: [(&'static str, f64); 4],
    len: usize,
}

impl QuirkOf {
    fn factor(&self, field: &str) -> Option<f64> {
        self.factors[..self.len]
            .iter()
            .find(|q| q.0 == field)
            .map(|q| q.1)
    }
}

/// Storing one message's values: quirks corrected, implausible values refused.
struct Store<'a> {
    f: &'a Fields,
    until: Micros,
    quirk: Option<QuirkOf>,
    dropped: u64,
    refused: &'a mut Vec<(Input, u32, f64)>,
}

impl Store<'_> {
    /// The value of `field` (repetition `item`, 0 outside repeating sets) in Venus
    /// units, corrected where a quirk applies.
    fn value(&self, field: &str, item: u16, conv: Conv) -> Option<f64> {
        let n = if item == 0 {
            self.f.get(field)
        } else {
            self.f.get_in(item, field)
        };
        let n = match (n, self.quirk.and_then(|q| q.factor(field))) {
            (Num::Real(x), Some(k)) => Num::Real(x * k),
            (n, _) => n,
        };
        conv.apply(n)
    }

    /// Stores the fields `feeds` read (repetition `item`) on channel `chan`.
    fn feeds(&mut self, dev: &mut Dev, feeds: &[profile::Feed], chan: u32, item: u16) {
        for feed in feeds {
            let v = self.value(feed.field, item, feed.conv);
            self.put(dev, feed.input, chan, v);
        }
    }

    /// Stores (or, for `None`, clears) one input; a value outside what a real
    /// device can mean clears it and is counted.
    fn put(&mut self, dev: &mut Dev, input: Input, chan: u32, value: Option<f64>) {
        let value = value.filter(|&v| {
            let ok = plausible::range_of(input, chan as u8).is_none_or(|r| r.holds(v));
            if !ok {
                self.refused.push((input, chan, v));
            }
            ok
        });
        put(dev, input, chan, value, self.until, &mut self.dropped);
    }

    /// Keeps an engine's operating hours from going backwards: a smaller total
    /// than one it reported before is refused (dbus-generator counts run time from
    /// it) and the highest stays shown.
    fn hours_forward(&mut self, dev: &mut Dev, engine: u8, chan: u32) {
        let Some(h) = Inputs(&dev.slots).get(Input::EngineHours, chan) else {
            return;
        };
        match dev.engine_hours.iter().position(|e| e.0 == engine) {
            Some(k) if h < dev.engine_hours[k].1 => {
                self.refused.push((Input::EngineHours, chan, h));
                let max = dev.engine_hours[k].1;
                put(
                    dev,
                    Input::EngineHours,
                    chan,
                    Some(max),
                    self.until,
                    &mut self.dropped,
                );
            }
            Some(k) => dev.engine_hours[k].1 = h,
            None if dev.engine_hours.len() < 16 => dev.engine_hours.push((engine, h)),
            None => {}
        }
    }

    /// Refuses a line's real power that its voltage and current cannot give.
    fn power_fits(&mut self, dev: &mut Dev, chan: u32) {
        let inp = Inputs(&dev.slots);
        let (Some(p), Some(v), Some(i)) = (
            inp.get(Input::AcPower, chan),
            inp.get(Input::AcVoltage, chan),
            inp.get(Input::AcCurrent, chan),
        ) else {
            return;
        };
        if !plausible::power_fits(p, v, i) {
            self.refused.push((Input::AcPower, chan, p));
            put(
                dev,
                Input::AcPower,
                chan,
                None,
                self.until,
                &mut self.dropped,
            );
        }
    }
}

/// Stores (or, for `None`, clears) one input.
fn put(
    dev: &mut Dev,
    input: Input,
    chan: u32,
    value: Option<f64>,
    until: Micros,
    dropped: &mut u64,
) {
    let at = dev
        .slots
        .iter()
        .position(|s| s.input == input && s.chan == chan);
    match (at, value) {
        (Some(i), Some(v)) => {
            dev.slots[i].value = v;
            dev.slots[i].until = until;
        }
        (Some(i), None) => {
            dev.slots.swap_remove(i);
        }
        (None, Some(v)) if dev.slots.len() < MAX_SLOTS => dev.slots.push(Slot {
            input,
            chan,
            value: v,
            until,
        }),
        (None, Some(_)) => *dropped += 1,
        (None, None) => {}
    }
}

/// Whether channel `chan` holds a value of any of `inputs`.
fn carries(dev: &Dev, chan: u32, inputs: &[Input]) -> bool {
    dev.slots
        .iter()
        .any(|s| s.chan == chan && inputs.contains(&s.input))
}

/// The inputs that make a sensor of the temperature family worth a service.
const SENSOR_INPUTS: &[Input] = &[
    Input::Temperature,
    Input::TemperatureExtended,
    Input::TemperatureEnvironment,
    Input::TemperatureOutsideWater,
    Input::Humidity,
    Input::HumidityEnvironment,
    Input::Pressure,
    Input::PressureEnvironment,
];

/// The channel of a tank (`second`: fluid type) or sensor (`second`: source) and
/// whether the message named its instance. A reading without an instance (none
/// in the PGN, or "not available") belongs to the device's channel of that fluid
/// or source with instance 0, else its lowest, else instance 0 (docs/venus-services.md#instances).
fn channel_of(dev: &Dev, kind: Kind, second: u8, instance: Option<u8>) -> (u32, bool) {
    if let Some(i) = instance {
        return (sensor_chan(i, second), true);
    }
    let chan = dev
        .services
        .iter()
        .filter(|s| s.kind == kind && s.chan & 0xFF == u32::from(second))
        .map(|s| s.chan)
        .min()
        .unwrap_or(sensor_chan(0, second));
    (chan, false)
}

/// The instance humidity or pressure without one joins: the device's sensor with
/// instance 0, else its lowest.
fn default_instance(dev: &Dev) -> u8 {
    dev.services
        .iter()
        .filter(|s| s.kind == Kind::Temperature)
        .map(|s| (s.chan >> 8) as u8)
        .min()
        .unwrap_or(0)
}

/// Whether `dev` has the service of `kind` on `chan` (marked as named by an
/// instanced message if `instanced`): the check of every mapped message, before
/// anything is computed for a new service.
fn existing(dev: &mut Dev, kind: Kind, chan: u32, instanced: bool) -> bool {
    match dev
        .services
        .iter_mut()
        .find(|s| s.kind == kind && s.chan == chan)
    {
        Some(s) => {
            s.instanced |= instanced;
            true
        }
        None => false,
    }
}

/// The service of `kind` on `chan`, created when new.
#[allow(clippy::too_many_arguments)]
fn ensure(
    cfg: &MapperConfig,
    dev: &mut Dev,
    kind: Kind,
    chan: u32,
    suffix: Option<String>,
    data_instance: Option<u8>,
    instanced: bool,
    now: Micros,
    dropped: &mut u64,
) {
    if existing(dev, kind, chan, instanced) {
        return;
    }
    if dev.services.len() >= MAX_SERVICES {
        *dropped += 1;
        return;
    }
    let tail = identity::name_tail(
        &identity::bus_element(&cfg.iface),
        dev.id,
        suffix.as_deref(),
    );
    dev.services.push(Service {
        kind,
        chan,
        suffix,
        name: format!("com.victronenergy.{}.{tail}", kind.class()),
        data_instance,
        dc: [None; 2],
        engine: None,
        converter: None,
        instanced,
        created: now,
        published: false,
        shown: Vec::new(),
    });
}

/// What a converter connection is (docs/switching-alerts.md#127750-converter-status): the user's type,
/// else the NAME's function (35/160 charger, 35/161–162 inverter, 35/163 DC
/// converter); for any other device a DC-DC converter once it sends its status
/// (127750), a DC source while it sends only voltage and current (127751: a
/// meter's reading; the user may say dcload). `None`: wait for the status.
fn converter_kind(rules: &Rules, name: Option<Name>, status: bool) -> Option<Kind> {
    const KINDS: &[Kind] = &[
        Kind::DcDc,
        Kind::Charger,
        Kind::Inverter,
        Kind::DcSource,
        Kind::DcLoad,
    ];
    if let Some(k) = name
        .and_then(|n| rules.kind_of(n))
        .filter(|k| KINDS.contains(k))
    {
        return Some(k);
    }
    match name.map(|n| (n.device_class(), n.device_function())) {
        _ if is_inverter(name) => Some(Kind::Inverter),
        Some((35, 160)) => Some(Kind::Charger),
        Some((35, 163)) => Some(Kind::DcDc),
        _ if status => Some(Kind::DcDc),
        _ => None,
    }
}

/// The service of converter connection `c`. A connection heard only by its
/// 127751 becomes a DC source after [`DECIDE_WAIT`] unless its 127750 comes
/// first; a charger's and an inverter's are the device's charger service and
/// the inverter service of that instance (127509's).
fn ensure_converter(
    cfg: &MapperConfig,
    dev: &mut Dev,
    kind: Option<Kind>,
    c: u8,
    now: Micros,
    dropped: &mut u64,
) {
    let chan = render::converter_chan(c);
    let (kind, chan, instanced) = match kind {
        Some(Kind::Charger) => {
            // A charger that also sends 127507 has its service already; its
            // first connection's status shows there too.
            if let Some(s) = dev.services.iter_mut().find(|s| s.kind == Kind::Charger) {
                s.converter.get_or_insert(c);
                return;
            }
            (Kind::Charger, 0, true)
        }
        Some(Kind::Inverter) => (Kind::Inverter, u32::from(c), true),
        Some(k) => (k, chan, true),
        None => {
            if dev.services.iter().any(|s| s.converter == Some(c)) {
                return;
            }
            (Kind::DcSource, chan, false)
        }
    };
    // A DC source decided while waiting is a converter after all.
    dev.services
        .retain(|s| s.published || s.converter != Some(c) || s.kind == kind);
    if kind == Kind::Inverter {
        return ensure_inverter(cfg, dev, c, now, dropped);
    }
    if existing(dev, kind, chan, instanced) {
        return;
    }
    let suffix = dev
        .services
        .iter()
        .any(|s| s.kind == kind)
        .then(|| format!("conn{c}"));
    ensure(
        cfg,
        dev,
        kind,
        chan,
        suffix,
        Some(c),
        instanced,
        now,
        dropped,
    );
    if let Some(s) = dev
        .services
        .iter_mut()
        .find(|s| s.kind == kind && s.chan == chan)
    {
        s.converter = Some(c);
    }
}

/// The inverter service of instance `i` (127509's, and a 127750/127751
/// connection of an inverter's), `…_inverter<i>` beside another.
fn ensure_inverter(cfg: &MapperConfig, dev: &mut Dev, i: u8, now: Micros, dropped: &mut u64) {
    let chan = u32::from(i);
    if existing(dev, Kind::Inverter, chan, true) {
        return;
    }
    let suffix = dev
        .services
        .iter()
        .any(|s| s.kind == Kind::Inverter)
        .then(|| format!("inverter{i}"));
    ensure(
        cfg,
        dev,
        Kind::Inverter,
        chan,
        suffix,
        Some(i),
        true,
        now,
        dropped,
    );
}

/// The AC meter of `kind` whose line 1 is channel `base`, created once one of its
/// lines measures something; `suffix` names it when the device has another meter
/// of that kind. Not `settled`: it waits [`DECIDE_WAIT`] before it is published.
#[allow(clippy::too_many_arguments)]
fn ensure_meter(
    cfg: &MapperConfig,
    dev: &mut Dev,
    kind: Kind,
    (base, settled): (u32, bool),
    suffix: impl FnOnce() -> String,
    data_instance: Option<u8>,
    now: Micros,
    dropped: &mut u64,
) {
    let measured = (0..3).any(|l| {
        carries(
            dev,
            base | l,
            &[Input::AcVoltage, Input::AcCurrent, Input::AcPower],
        )
    });
    if existing(dev, kind, base, settled) || !measured {
        return;
    }
    let other = dev
        .services
        .iter()
        .any(|s| s.kind == kind && s.chan != base);
    let suffix = other.then(suffix);
    ensure(
        cfg,
        dev,
        kind,
        base,
        suffix,
        data_instance,
        settled,
        now,
        dropped,
    );
}

/// Whether AC output instance `i` is the output of one of the device's inverters
/// (a 127509 names it).
fn inverter_output(dev: &Dev, i: u8) -> bool {
    dev.slots
        .iter()
        .any(|s| s.input == Input::InverterAc && s.value == f64::from(i))
}

/// Whether the NAME's function is an inverter's or an inverter/charger's
/// (35/161–162).
fn is_inverter(name: Option<Name>) -> bool {
    name.is_some_and(|n| n.device_class() == 35 && matches!(n.device_function(), 161 | 162))
}

/// The temperature sensor on `chan` (instance and source), created once a reading
/// of it carried a value: a channel that never did gets no service.
fn ensure_sensor(
    cfg: &MapperConfig,
    dev: &mut Dev,
    chan: u32,
    instanced: bool,
    now: Micros,
    dropped: &mut u64,
) {
    if existing(dev, Kind::Temperature, chan, instanced) || !carries(dev, chan, SENSOR_INPUTS) {
        return;
    }
    let (instance, source) = ((chan >> 8) as u8, chan as u8);
    let suffix = profile::sensor_suffix(source, instance);
    ensure(
        cfg,
        dev,
        Kind::Temperature,
        chan,
        Some(suffix),
        Some(instance),
        instanced,
        now,
        dropped,
    );
}

/// The temperature sensor channel of `instance` that humidity or pressure joins.
fn sensor_of_instance(dev: &Dev, instance: u8) -> Option<u32> {
    dev.services
        .iter()
        .filter(|s| s.kind == Kind::Temperature && s.chan >> 8 == u32::from(instance))
        .map(|s| s.chan)
        .min_by_key(|c| (c & 0xFF >= u32::from(profile::HUMIDITY_SOURCE), *c))
}

/// Moves every input of channel `from` to `to` (where `to` has none of its own).
fn move_inputs(dev: &mut Dev, from: u32, to: u32) {
    let mut k = 0;
    while k < dev.slots.len() {
        let s = dev.slots[k];
        if s.chan != from {
            k += 1;
            continue;
        }
        if dev.slots.iter().any(|t| t.chan == to && t.input == s.input) {
            dev.slots.swap_remove(k);
        } else {
            dev.slots[k].chan = to;
            k += 1;
        }
    }
}

/// Before publication, sensors that are one sensor become one service: a
/// humidity- or pressure-only sensor joins a temperature sensor of the same
/// instance, and a sensor made by readings without an instance joins one of the
/// same kind and source that has an instance (a depth transducer's sea
/// temperature from 130310 and from 130312 instance 1 is one sensor, `sea1`).
fn merge_sensors(dev: &mut Dev) {
    let lone: Vec<u32> = dev
        .services
        .iter()
        .filter(|s| {
            !s.published
                && s.kind == Kind::Temperature
                && s.chan & 0xFF >= u32::from(profile::HUMIDITY_SOURCE)
        })
        .map(|s| s.chan)
        .collect();
    for chan in lone {
        let Some(to) = sensor_of_instance(dev, (chan >> 8) as u8).filter(|&c| c != chan) else {
            continue;
        };
        if to & 0xFF >= u32::from(profile::HUMIDITY_SOURCE) {
            continue;
        }
        move_inputs(dev, chan, to);
        dev.services
            .retain(|s| !(s.kind == Kind::Temperature && s.chan == chan));
    }
    let provisional: Vec<(Kind, u32)> = dev
        .services
        .iter()
        .filter(|s| !s.published && !s.instanced && s.kind.is_channel())
        .map(|s| (s.kind, s.chan))
        .collect();
    for (kind, chan) in provisional {
        let sibling = dev
            .services
            .iter()
            .filter(|s| s.kind == kind && s.instanced && s.chan != chan)
            .filter(|s| s.chan & 0xFF == chan & 0xFF)
            .map(|s| s.chan)
            .min();
        if let Some(to) = sibling {
            move_inputs(dev, chan, to);
            dev.services.retain(|s| !(s.kind == kind && s.chan == chan));
        }
    }
}

/// Where a refused value was going, for the bus service and the log:
/// `outside0/Temperature`, `dc11/Temperature`, `ac_in4/L3/Power` (the device's
/// own instance and line numbers, whatever the line is published as).
fn location(input: Input, chan: u32) -> String {
    use Input as I;
    let sensor = |what: &str| {
        format!(
            "{}/{what}",
            profile::sensor_suffix(chan as u8, (chan >> 8) as u8)
        )
    };
    let dc = |what: &str| match chan >> 21 & 1 {
        1 => format!("conn{}/{what}", chan & 0xFF),
        _ => format!("dc{chan}/{what}"),
    };
    let ac = |what: &str| {
        if chan >> 18 & 1 == 1 {
            return format!("j1939/L{}/{what}", (chan & 0xFF) + 1);
        }
        let dir = if chan >> 16 & 1 == 1 { "in" } else { "out" };
        format!(
            "ac_{dir}{}/L{}/{what}",
            (chan >> 8) & 0xFF,
            (chan & 0xFF) + 1
        )
    };
    match input {
        I::Temperature
        | I::TemperatureExtended
        | I::TemperatureEnvironment
        | I::TemperatureOutsideWater => sensor("Temperature"),
        I::Humidity | I::HumidityEnvironment => sensor("Humidity"),
        I::Pressure | I::PressureEnvironment => sensor("Pressure"),
        I::Level => format!(
            "{}/Level",
            profile::tank_suffix(chan as u8, (chan >> 8) as u8)
        ),
        I::TankCapacity => format!(
            "{}/Capacity",
            profile::tank_suffix(chan as u8, (chan >> 8) as u8)
        ),
        I::DcVoltage => dc("Voltage"),
        I::DcCurrent => dc("Current"),
        I::DcTemperature => dc("Temperature"),
        I::Soc => dc("Soc"),
        I::Soh => dc("Soh"),
        I::AcVoltage => ac("Voltage"),
        I::AcCurrent => ac("Current"),
        I::AcPower => ac("Power"),
        I::AcFrequency => ac("Frequency"),
        I::AcPowerFactor => ac("PowerFactor"),
        I::EngineLoad => format!("engine{}/Load", chan & 0xFF),
        I::EngineSpeed => format!("engine{}/Speed", chan & 0xFF),
        I::EngineHours => format!("engine{}/OperatingHours", chan & 0xFF),
        other => format!("{other:?}/{chan}"),
    }
}

fn is_gnss(n: Name) -> bool {
    n.device_class() == 60 && n.device_function() == 145
}

fn class_function(id: DeviceId) -> Option<(u8, u8)> {
    match id {
        DeviceId::Name(n) => Some((n.device_class(), n.device_function())),
        DeviceId::Address(_) => None,
    }
}

fn is_dc_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::Battery | Kind::DcSource | Kind::DcLoad | Kind::Alternator
    )
}

fn user_kind(rules: &Rules, id: DeviceId) -> Option<Kind> {
    match id {
        DeviceId::Name(n) => rules.kind_of(n),
        DeviceId::Address(_) => None,
    }
}

/// The role of an AC instance (docs/venus-services.md#ac-instances).
fn ac_kind(rules: &Rules, name: Option<Name>, input: bool) -> Kind {
    if let Some(k) = name
        .and_then(|n| rules.kind_of(n))
        .filter(|k| matches!(k, Kind::Grid | Kind::Genset | Kind::AcLoad))
    {
        return k;
    }
    match name.map(|n| (n.device_class(), n.device_function())) {
        Some((35, 151)) => Kind::Genset,
        Some((35, 153)) if input => Kind::Grid,
        _ => Kind::AcLoad,
    }
}

/// Whether a device's engine data is a generator's: the user said so, its NAME's
/// function is an AC generator, or its maker builds generator controllers
/// ([`profile::GENERATOR_MAKERS`]).
fn is_generator(rules: &Rules, name: Option<Name>) -> bool {
    let Some(n) = name else { return false };
    if let Some(k) = rules.kind_of(n) {
        return k == Kind::Genset;
    }
    n.device_function() == 151 && matches!(n.device_class(), 35 | 50)
        || profile::GENERATOR_MAKERS
            .iter()
            .any(|m| m.0 == n.manufacturer_code())
}

/// The role of a J1939 AC meter: a generator's lines are a genset; the utility's
/// the grid, unless the user says otherwise.
fn j1939_kind(rules: &Rules, name: Option<Name>, generator: bool) -> Kind {
    if let Some(k) = name
        .and_then(|n| rules.kind_of(n))
        .filter(|k| matches!(k, Kind::Grid | Kind::Genset | Kind::AcLoad))
    {
        return k;
    }
    if generator {
        Kind::Genset
    } else {
        Kind::Grid
    }
}

/// The role of DC instance `i` (docs/venus-services.md#dc-instances).
fn dc_role(rules: &Rules, dev: &Dev, i: u8) -> DcRole {
    if let Some(k) = user_kind(rules, dev.id).filter(|&k| is_dc_kind(k)) {
        return DcRole::Service(k);
    }
    // A generator controller's DC instance is its starting battery.
    if let DeviceId::Name(n) = dev.id {
        if is_generator(rules, Some(n)) {
            return DcRole::Starter;
        }
    }
    // Battery configuration (capacity, chemistry) exists only for batteries; it
    // outweighs a DC type that says otherwise (aava-n2k.data's monitor calls its
    // battery an alternator).
    if dev.battery_config.contains(&i) {
        return DcRole::Service(Kind::Battery);
    }
    let dc_type = Inputs(&dev.slots).get(Input::DcType, u32::from(i));
    match dc_type.map(|t| t as u32) {
        Some(0) => return DcRole::Service(Kind::Battery),
        Some(1) => return DcRole::Service(Kind::Alternator),
        Some(2..=4) => return DcRole::Service(Kind::DcSource),
        _ => {}
    }
    match class_function(dev.id) {
        Some((35, 141)) => DcRole::Service(Kind::Alternator),
        Some((35, 142..=144)) => DcRole::Service(Kind::DcSource),
        Some((30, 140)) => DcRole::Service(Kind::DcLoad),
        Some((35, 160 | 161)) => DcRole::ChargerOutput,
        cf => {
            let charged = dev.chargers.iter().any(|&c| {
                Inputs(&dev.slots).get(Input::ChargerBattery, u32::from(c)) == Some(f64::from(i))
            });
            if charged && cf != Some((35, 170)) {
                DcRole::ChargerOutput
            } else {
                DcRole::Service(Kind::Battery)
            }
        }
    }
}

/// Whether DC instance `i` measures more than a voltage: a current, anything of
/// 127506 (its DC type, state of charge, health, time to go) or battery
/// configuration (127513). Such an instance is a battery (source, load) of its
/// own; one that carries nothing but a voltage is the second input of the device's
/// main one (`/Dc/1/Voltage`, a starter battery).
fn measures_more_than_voltage(dev: &Dev, i: u8) -> bool {
    dev.battery_config.contains(&i)
        || carries(
            dev,
            u32::from(i),
            &[
                Input::DcCurrent,
                Input::DcType,
                Input::Soc,
                Input::Soh,
                Input::TimeToGo,
                Input::RemainingAh,
            ],
        )
}

/// Decides the DC instances once the device's DC messages have had time to show
/// every instance; later instances are decided as they come (docs/venus-services.md#every-battery-is-a-battery).
fn decide_dc(
    cfg: &MapperConfig,
    dev: &mut Dev,
    wait_over: impl Fn(Micros) -> bool,
    now: Micros,
    dropped: &mut u64,
) {
    let Some(since) = dev.dc_since else { return };
    if !wait_over(since) || dev.dc.iter().all(|d| d.1.is_some()) {
        return;
    }
    // Instances that measure more first (the lowest is the main one), then those
    // with a voltage only.
    let mut todo: Vec<(bool, u8)> = dev
        .dc
        .iter()
        .filter(|d| d.1.is_none())
        .map(|d| (!measures_more_than_voltage(dev, d.0), d.0))
        .collect();
    todo.sort_unstable();
    for (voltage_only, i) in todo {
        let role = dc_role(&cfg.rules, dev, i);
        if let Some(d) = dev.dc.iter_mut().find(|d| d.0 == i) {
            d.1 = Some(role);
        }
        let DcRole::Service(kind) = role else {
            continue;
        };
        let main = dev
            .services
            .iter_mut()
            .find(|s| s.kind == kind && s.suffix.is_none());
        match main {
            // The path exists on every DC service: filling it is an update.
            Some(m) if voltage_only && m.dc[1].is_none() => {
                m.dc[1] = Some(i);
                continue;
            }
            Some(_) => {}
            None => {
                ensure(
                    cfg,
                    dev,
                    kind,
                    u32::from(i),
                    None,
                    Some(i),
                    true,
                    now,
                    dropped,
                );
                set_dc0(dev, kind, i);
                continue;
            }
        }
        let suffix = Some(format!("dc{i}"));
        ensure(
            cfg,
            dev,
            kind,
            u32::from(i),
            suffix,
            Some(i),
            true,
            now,
            dropped,
        );
        set_dc0(dev, kind, i);
    }
}

fn set_dc0(dev: &mut Dev, kind: Kind, i: u8) {
    if let Some(s) = dev
        .services
        .iter_mut()
        .find(|s| s.kind == kind && s.chan == u32::from(i))
    {
        s.dc[0] = Some(i);
    }
}

/// Decides whether a position source gets a `gps` service.
fn decide_gps(
    cfg: &MapperConfig,
    dev: &mut Dev,
    wait_over: impl Fn(Micros) -> bool,
    now: Micros,
    gnss_on_bus: impl Fn() -> bool,
    dropped: &mut u64,
) {
    let Some(since) = dev.gps_since else { return };
    if dev.gps.is_some() {
        return;
    }
    let asked = cfg.rules.gps_from_any || user_kind(&cfg.rules, dev.id) == Some(Kind::Gps);
    let receiver = matches!(dev.id, DeviceId::Name(n) if is_gnss(n));
    let decision = if asked || receiver {
        Some(true)
    } else if wait_over(since) {
        Some(!gnss_on_bus())
    } else {
        None
    };
    dev.gps = decision;
    if decision == Some(true) {
        ensure(cfg, dev, Kind::Gps, 0, None, None, true, now, dropped);
    }
}

/// The complete service as first published.
fn spec(cfg: &MapperConfig, id: DeviceId, s: &Service, identity: &Identity) -> ServiceSpec {
    let preferred = match (s.kind.is_channel(), id) {
        (true, _) => s.data_instance.map_or(0, u32::from),
        (false, DeviceId::Name(n)) => u32::from(n.device_instance()),
        (false, DeviceId::Address(_)) => 0,
    };
    let mut items = ItemTree::new();
    let mut add = |path: &str, item: Item| {
        if let Err(e) = items.insert(path, item) {
            tracing::warn!(service = %s.name, "{e}");
        }
    };
    for (path, item) in identity::generic_items(id, s.kind, identity, s.data_instance, preferred) {
        add(path, item);
    }
    for (p, v) in s.kind.paths().iter().zip(&s.shown) {
        let mut item = Item::new(v.clone()).with_format(p.format);
        if p.path == "/TemperatureType" {
            // A user setting in Victron's drivers: the default follows the source.
            item = item
                .writable(WriteRule::Integer)
                .with_range(0, 6)
                .with_default(v.clone());
        }
        add(p.path, item);
    }
    let mut spec = ServiceSpec::new(s.name.clone(), items);
    spec.settings = Some(DeviceSettings {
        uid: identity::settings_uid(
            &identity::bus_element(&cfg.iface),
            id,
            s.kind,
            s.suffix.as_deref(),
        ),
        class: s.kind.class().to_owned(),
        preferred_instance: preferred,
    });
    spec
}

/// The mapper keeps the sweep's clock ([`Mapper::next_sweep`]): its
/// sweep does nothing before it.
impl Stage for Mapper {
    /// A device's state changed in the core. `device` is the core's record of the
    /// NAME the event is about, where it still has one.
    fn on_event(
        &mut self,
        now: Micros,
        event: &crate::core::Event,
        device: Option<&Device>,
        outbox: &dyn ServiceSink,
    ) {
        use crate::core::Event as E;
        match *event {
            E::Appeared { name, address } => {
                self.known.entry(name).or_default();
                if let Some(a) = address {
                    self.hand_over(now, a, name, outbox);
                }
            }
            E::AddressChanged { to: Some(a), .. } => {
                self.forget(DeviceId::Address(a), outbox);
            }
            E::Identified { name } | E::IdentityUpdated { name } => {
                let k = self.known.entry(name).or_default();
                if let Some(d) = device {
                    k.identity = Identity {
                        product: d.product.clone(),
                        config: d.config.clone(),
                    };
                }
                let identity = k.identity.clone();
                let id = DeviceId::Name(name);
                if let Some(dev) = self.devices.get(&id) {
                    for s in dev.services.iter().filter(|s| s.published) {
                        for (path, v) in identity::product_paths(id, s.kind, &identity) {
                            outbox.set(&s.name, path, v);
                        }
                    }
                }
                self.settle(now, id, outbox);
            }
            E::InstanceChanged { old, .. } => {
                self.forget(DeviceId::Name(old), outbox);
                self.known.remove(&old);
            }
            E::Gone { name } => {
                self.forget(DeviceId::Name(name), outbox);
                self.known.remove(&name);
            }
            _ => {}
        }
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
