//! The mapper: messages and device events in, Venus services out (into the
//! [`ServiceSink`], which the outbox implements). Sans-I/O like the core: time is an argument, nothing awaits.
//!
//! Per device it keeps the inputs the profiles feed (each with its freshness), the
//! services decided so far and what each one last showed. The rules
//! (venus-paths.md §17, README "Service types"):
//!
//! - tanks and temperature sensors are channel services, one per (instance, fluid
//!   type) or (instance, source), decided by their first message;
//! - a DC instance's type comes from its 127506 DC type, else from the NAME's
//!   class/function, decided [`DECIDE_WAIT`] after the device's first DC message so
//!   every instance it sends is known: the lowest battery instance is `/Dc/0`, the
//!   next `/Dc/1`;
//! - 127507 makes a charger, 127503/127504 an AC meter whose role (grid, genset,
//!   acload) follows the function;
//! - a GNSS receiver (60/145) is a `gps` at once; another position source only
//!   when no receiver is on the bus after [`DECIDE_WAIT`], or when the user asks;
//! - a service is published once its device is identified (or, known only by
//!   address, after [`UNNAMED_WAIT`]), complete, and never renamed; it goes when
//!   the device goes.

use std::collections::BTreeMap;

use crate::can::Micros;
use crate::devices::Device;
use crate::model::DeviceSettings;
use crate::model::{Item, ItemTree, ServiceSink, ServiceSpec, Value, WriteRule};
use crate::network::Name;

use super::fields::Fields;
use super::identity::{self, DeviceId, Identity};
use super::kind::Kind;
use super::profile::{self, Input, Route};
use super::render::{self, ac_chan, sensor_chan, Inputs, Slot, Target};
use super::rules::Rules;

const SECOND: Micros = 1_000_000;
/// How long a device's DC instances and a non-GNSS position source wait for the
/// facts that decide their type.
pub const DECIDE_WAIT: Micros = 5 * SECOND;
/// How long a source without a NAME is heard before it is published by address.
pub const UNNAMED_WAIT: Micros = 10 * SECOND;
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
}

/// What a DC instance turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DcRole {
    Service(Kind),
    /// A charger's output: shown by the charger service, no service of its own.
    ChargerOutput,
}

#[derive(Debug)]
struct Service {
    kind: Kind,
    chan: u32,
    suffix: Option<String>,
    name: String,
    data_instance: Option<u8>,
    dc: [Option<u8>; 2],
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
}

/// A named device's readiness and identity, from the core's events.
#[derive(Debug, Clone, Default)]
struct Known {
    identified: bool,
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
    stats: MapperStats,
}

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
            stats: MapperStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> MapperStats {
        self.stats
    }

    /// How many device services are published (or about to be).
    pub fn published(&self) -> usize {
        self.devices
            .values()
            .map(|d| d.services.iter().filter(|s| s.published).count())
            .sum()
    }

    /// A device's state changed in the core. `device` is the core's record of the
    /// NAME the event is about, where it still has one.
    pub fn on_event(
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
                    self.forget(DeviceId::Address(a), outbox);
                }
            }
            E::AddressChanged { to: Some(a), .. } => {
                self.forget(DeviceId::Address(a), outbox);
            }
            E::Identified { name } | E::IdentityUpdated { name } => {
                let k = self.known.entry(name).or_default();
                k.identified = true;
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
        });
        dev.last_heard = now;
        let f = &self.fields;
        let code = |id: &str| f.get(id).code().and_then(|c| u8::try_from(c).ok());
        let mut dropped = 0;
        match p.route {
            Route::Tank => {
                let (Some(instance), fluid) = (code("instance"), code("type").unwrap_or(15)) else {
                    return;
                };
                let chan = sensor_chan(instance, fluid);
                let suffix = profile::tank_suffix(fluid, instance);
                ensure(
                    &self.cfg,
                    dev,
                    Kind::Tank,
                    chan,
                    Some(suffix),
                    Some(instance),
                    &mut dropped,
                );
                store(dev, p.feeds, f, chan, 0, until, &mut dropped);
            }
            Route::Temperature { instance, source } => {
                let i = if instance { code("instance") } else { Some(0) };
                let Some(i) = i else { return };
                // Without a source the message names no sensor (all fields "not
                // available", as some devices send).
                let Some(s) = code(source) else { return };
                let chan = sensor_chan(i, s);
                ensure_sensor(&self.cfg, dev, chan, &mut dropped);
                store(dev, p.feeds, f, chan, 0, until, &mut dropped);
            }
            Route::Humidity | Route::Pressure => {
                let Some(i) = code("instance") else { return };
                let own = if p.route == Route::Humidity {
                    profile::HUMIDITY_SOURCE
                } else {
                    if code("source") != Some(0) {
                        return; // only atmospheric pressure has a Venus home
                    }
                    profile::PRESSURE_SOURCE
                };
                let chan = sensor_of_instance(dev, i).unwrap_or_else(|| {
                    let chan = sensor_chan(i, own);
                    ensure_sensor(&self.cfg, dev, chan, &mut dropped);
                    chan
                });
                store(dev, p.feeds, f, chan, 0, until, &mut dropped);
            }
            Route::Environment => {
                for (source, field, pressure) in [
                    (0u8, "waterTemperature", false),
                    (1, "outsideAmbientAirTemperature", true),
                ] {
                    let t = profile::Conv::Celsius.apply(f.get(field));
                    let chan = sensor_chan(0, source);
                    let known = dev
                        .services
                        .iter()
                        .any(|s| s.kind == Kind::Temperature && s.chan == chan);
                    if t.is_none() && !known {
                        continue; // a sensor this device does not have
                    }
                    ensure_sensor(&self.cfg, dev, chan, &mut dropped);

                    put(dev, Input::Temperature, chan, t, until, &mut dropped);
                    if pressure {
                        let hpa = profile::Conv::Times(0.01).apply(f.get("atmosphericPressure"));
                        put(dev, Input::Pressure, chan, hpa, until, &mut dropped);
                    }
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
                store(dev, p.feeds, f, u32::from(i), 0, until, &mut dropped);
            }
            Route::Charger => {
                let Some(i) = code("instance") else { return };
                if !dev.chargers.contains(&i) && dev.chargers.len() < 16 {
                    dev.chargers.push(i);
                }
                store(dev, p.feeds, f, u32::from(i), 0, until, &mut dropped);
                ensure(
                    &self.cfg,
                    dev,
                    Kind::Charger,
                    0,
                    None,
                    Some(dev.chargers[0]),
                    &mut dropped,
                );
            }
            Route::Ac { input } => {
                let Some(i) = code("instance") else { return };
                let base = ac_chan(input, i, 0);
                let lines = profile::Conv::Same.apply(f.get("numberOfLines"));
                put(dev, Input::AcLines, base | 3, lines, until, &mut dropped);
                for item in 1..=f.items() {
                    let Some(line) = f.get_in(item, "line").code().filter(|&l| l < 3) else {
                        continue;
                    };
                    store(
                        dev,
                        p.feeds,
                        f,
                        base | line as u32,
                        item,
                        until,
                        &mut dropped,
                    );
                }
                let kind = ac_kind(&self.cfg.rules, name, input);
                let suffix = dev
                    .services
                    .iter()
                    .any(|s| s.kind == kind && s.chan != base)
                    .then(|| format!("ac_{}{i}", if input { "in" } else { "out" }));
                ensure(&self.cfg, dev, kind, base, suffix, Some(i), &mut dropped);
            }
            Route::Gps => {
                dev.gps_since.get_or_insert(now);
                store(dev, p.feeds, f, 0, 0, until, &mut dropped);
            }
        }
        self.stats.dropped += dropped;
        self.settle(now, id, outbox);
    }

    /// Freshness, pending decisions and silent address-only sources, at most every
    /// [`SWEEP`].
    pub fn on_tick(&mut self, now: Micros, outbox: &dyn ServiceSink) {
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
    pub fn invalidate(&mut self, now: Micros, outbox: &dyn ServiceSink) {
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            if let Some(dev) = self.devices.get_mut(&id) {
                dev.slots.retain(|s| s.until == Micros::MAX);
            }
            self.settle(now, id, outbox);
        }
    }

    /// When [`Mapper::on_tick`] has work next.
    pub fn next_sweep(&self) -> Micros {
        self.next_sweep
    }

    /// The end of a capture that stays on the bus (`replay --hold`): what still
    /// waits for facts (identification, DC types, a GNSS receiver, a NAME) is
    /// decided with what is known, so a short capture shows its devices too.
    pub fn finish(&mut self, now: Micros, outbox: &dyn ServiceSink) {
        self.finished = true;
        for k in self.known.values_mut() {
            k.identified = true;
        }
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            self.settle(now, id, outbox);
        }
    }

    /// Withdraws every service (the end of a replay, a shutdown).
    pub fn withdraw_all(&mut self, outbox: &dyn ServiceSink) {
        let ids: Vec<DeviceId> = self.devices.keys().copied().collect();
        for id in ids {
            self.forget(id, outbox);
        }
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

    fn ready(&self, dev: &Dev, now: Micros) -> bool {
        if self.finished {
            return true;
        }
        match dev.id {
            DeviceId::Name(n) => self.known.get(&n).is_some_and(|k| k.identified),
            DeviceId::Address(_) => now - dev.first_heard >= UNNAMED_WAIT,
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
        decide_dc(&self.cfg, dev, wait_over, &mut self.stats.dropped);
        decide_gps(
            &self.cfg,
            dev,
            wait_over,
            || known.keys().any(|&n| is_gnss(n)),
            &mut self.stats.dropped,
        );
        if ready {
            merge_sensors(dev);
        }
        let inputs = Inputs(&dev.slots);
        for s in &mut dev.services {
            let target = Target {
                kind: s.kind,
                chan: s.chan,
                dc: s.dc,
                chargers: &dev.chargers,
            };
            render::render(&target, inputs, &mut self.scratch);
            if s.published {
                for (i, v) in self.scratch.iter().enumerate() {
                    if s.shown[i] != *v {
                        outbox.set(&s.name, s.kind.paths()[i].path, v.clone());
                        s.shown[i] = v.clone();
                    }
                }
            } else if ready {
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

/// Stores the fields `feeds` read from message `f` (repetition `item`, 0 outside
/// repeating sets) on channel `chan`.
fn store(
    dev: &mut Dev,
    feeds: &[profile::Feed],
    f: &Fields,
    chan: u32,
    item: u16,
    until: Micros,
    dropped: &mut u64,
) {
    for feed in feeds {
        let n = if item == 0 {
            f.get(feed.field)
        } else {
            f.get_in(item, feed.field)
        };
        put(dev, feed.input, chan, feed.conv.apply(n), until, dropped);
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

/// The service of `kind` on `chan`, created when new.
fn ensure(
    cfg: &MapperConfig,
    dev: &mut Dev,
    kind: Kind,
    chan: u32,
    suffix: Option<String>,
    data_instance: Option<u8>,
    dropped: &mut u64,
) {
    if dev
        .services
        .iter()
        .any(|s| s.kind == kind && s.chan == chan)
    {
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
        published: false,
        shown: Vec::new(),
    });
}

/// The temperature sensor on `chan` (instance and source), created when new.
fn ensure_sensor(cfg: &MapperConfig, dev: &mut Dev, chan: u32, dropped: &mut u64) {
    let (instance, source) = ((chan >> 8) as u8, chan as u8);
    let suffix = profile::sensor_suffix(source, instance);
    ensure(
        cfg,
        dev,
        Kind::Temperature,
        chan,
        Some(suffix),
        Some(instance),
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

/// Before publication, a humidity- or pressure-only sensor joins a temperature
/// sensor of the same instance that has appeared since.
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
        for s in &mut dev.slots {
            if s.chan == chan && matches!(s.input, Input::Humidity | Input::Pressure) {
                s.chan = to;
            }
        }
        dev.services
            .retain(|s| !(s.kind == Kind::Temperature && s.chan == chan));
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

/// The role of an AC instance (venus-paths.md §18.5).
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

/// The role of DC instance `i` (venus-paths.md §18.4).
fn dc_role(rules: &Rules, dev: &Dev, i: u8) -> DcRole {
    if let Some(k) = user_kind(rules, dev.id).filter(|&k| is_dc_kind(k)) {
        return DcRole::Service(k);
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

/// Decides the DC instances once the device's DC messages have had time to show
/// every instance; later instances are decided as they come.
fn decide_dc(
    cfg: &MapperConfig,
    dev: &mut Dev,
    wait_over: impl Fn(Micros) -> bool,
    dropped: &mut u64,
) {
    let Some(since) = dev.dc_since else { return };
    if !wait_over(since) || dev.dc.iter().all(|d| d.1.is_some()) {
        return;
    }
    let mut todo: Vec<u8> = dev
        .dc
        .iter()
        .filter(|d| d.1.is_none())
        .map(|d| d.0)
        .collect();
    todo.sort_unstable();
    for i in todo {
        let role = dc_role(&cfg.rules, dev, i);
        if let Some(d) = dev.dc.iter_mut().find(|d| d.0 == i) {
            d.1 = Some(role);
        }
        let DcRole::Service(kind) = role else {
            continue;
        };
        // The device's first instance of a kind is /Dc/0, the second /Dc/1; more
        // get services of their own.
        if let Some(s) = dev
            .services
            .iter_mut()
            .find(|s| s.kind == kind && s.suffix.is_none() && s.dc[1].is_none())
        {
            if !s.published {
                s.dc[1] = Some(i);
                continue;
            }
        }
        let first = !dev
            .services
            .iter()
            .any(|s| s.kind == kind && s.suffix.is_none());
        let suffix = (!first).then(|| format!("dc{i}"));
        ensure(cfg, dev, kind, u32::from(i), suffix, Some(i), dropped);
        if let Some(s) = dev
            .services
            .iter_mut()
            .find(|s| s.kind == kind && s.chan == u32::from(i))
        {
            s.dc[0] = Some(i);
        }
    }
}

/// Decides whether a position source gets a `gps` service.
fn decide_gps(
    cfg: &MapperConfig,
    dev: &mut Dev,
    wait_over: impl Fn(Micros) -> bool,
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
        ensure(cfg, dev, Kind::Gps, 0, None, None, dropped);
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
