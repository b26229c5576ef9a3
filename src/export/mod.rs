//! NMEA 2000-out: the Venus services of other processes onto the bus as virtual
//! NMEA 2000 devices, the mirror of what the gateway does for D-Bus services
//! (`docs/n2k-out.md`).
//!
//! Sans-I/O like the core: a D-Bus watcher ([`crate::dbus::watch`]) hands it what
//! Venus clients see ([`ServiceInput`]: a service read whole when it appears, its
//! `ItemsChanged`, its leaving); it hosts one or two own nodes per exported service
//! in the [`Core`] and sends each service's PGNs at their intervals from them
//! ([`table`] says which, [`encode`] builds them). Identities and instances are
//! kept as `n2k_out|…` entries of the state file ([`Exporter::take_state`]), so a
//! service comes back after a restart with the same NAME, address and instances.
//!
//! Rules (`docs/n2k-out.md#instances`, `docs/n2k-out.md#rules`): services from the CAN bus itself (`/Mgmt/Connection`
//! "NMEA 2000" or "VE.Can", a `.socketcan_` name, our own process) never go out
//! (no loops, no twins); a value invalid on D-Bus is "not available" on the bus; a
//! service that leaves stops its data PGNs at once and its nodes after
//! [`LEAVE_GRACE`].

pub mod encode;
pub mod table;

use std::collections::BTreeMap;

use crate::can::Micros;
use crate::core::{Core, Event, LocalCommand, LocalConfig, LocalId};
use crate::model::Value;
use crate::network::{ConfigInfo, Name, NameFields, ProductInfo};

use encode::Instances;
use table::{NodeDef, Pool, Profile, Send};

/// A service that left keeps its nodes on the bus (heartbeat, answers, no data)
/// this long, so that a driver restarting brings it back without a new claim.
pub const LEAVE_GRACE: Micros = 60_000_000;
/// Paths kept per service at most (its values; more are ignored).
pub const MAX_PATHS: usize = 2048;
/// Services exported at most (two nodes for inverter/chargers; 252 addresses).
pub const MAX_SERVICES: usize = 100;
/// Identities and instances kept at most (services that come and go with new VRM
/// instances would otherwise grow the state file without end).
pub const MAX_ASSIGNED: usize = 4096;
/// Heartbeat interval of the virtual nodes.
const HEARTBEAT_MS: u32 = 60_000;
/// Prefix of the exporter's state entries.
pub const STATE_PREFIX: &str = "n2k_out|";

/// What the D-Bus watcher saw of another process's service.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceInput {
    /// It is on the bus; its values, read whole (`GetItems`).
    Appeared {
        service: String,
        items: Vec<(String, Value)>,
    },
    /// Some of its values changed (`ItemsChanged`).
    Changed {
        service: String,
        items: Vec<(String, Value)>,
    },
    /// It left the bus (`NameOwnerChanged` to nobody).
    Left { service: String },
}

/// Which services go out.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// Unique numbers come from `block × 500 …+499` (Venus's `VenusUniqueId`).
    pub block: u32,
    /// Manufacturer code of the virtual NAMEs.
    pub manufacturer: u16,
    /// Service types exported (empty: every type [`table::PROFILES`] knows).
    pub include: Vec<String>,
    /// Service types or whole service names never exported.
    pub exclude: Vec<String>,
    /// The stored entries, [`STATE_PREFIX`] removed from their keys.
    pub state: Vec<(String, String)>,
}

impl Default for ExportConfig {
    fn default() -> ExportConfig {
        ExportConfig {
            block: 1,
            manufacturer: crate::core::DEFAULT_MANUFACTURER,
            include: Vec::new(),
            exclude: Vec::new(),
            state: Vec::new(),
        }
    }
}

/// Counters for the bus service and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExportStats {
    /// Services exported now.
    pub services: usize,
    /// Data messages sent.
    pub sent: u64,
    /// Services seen but not exported (their type, a rule, a loop).
    pub skipped: u64,
}

/// One PGN of one node, scheduled.
struct Slot {
    send: &'static Send,
    interval_ms: u32,
    due: Option<Micros>,
    instance: u8,
}

struct ExportNode {
    id: LocalId,
    def: &'static NodeDef,
    slots: Vec<Slot>,
}

struct Exported {
    key: String,
    profile: &'static Profile,
    values: BTreeMap<String, Value>,
    nodes: Vec<ExportNode>,
    unique: u32,
    left_at: Option<Micros>,
}

/// The exporter of one interface.
pub struct Exporter {
    cfg: ExportConfig,
    enabled: bool,
    services: BTreeMap<String, Exported>,
    /// Own node → its service.
    ids: BTreeMap<LocalId, String>,
    next_id: LocalId,
    /// Identities and instances, stored (`pool|service key|slot` → number).
    assigned: BTreeMap<String, u32>,
    changed: Vec<(String, String)>,
    /// [`MAX_ASSIGNED`] reached (said once).
    full: bool,
    wake: Option<Micros>,
    stats: ExportStats,
}

impl Exporter {
    pub fn new(cfg: ExportConfig) -> Exporter {
        let assigned = cfg
            .state
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.parse().ok()?)))
            .collect();
        Exporter {
            cfg,
            enabled: true,
            services: BTreeMap::new(),
            ids: BTreeMap::new(),
            next_id: 1,
            assigned,
            changed: Vec::new(),
            full: false,
            wake: None,
            stats: ExportStats::default(),
        }
    }

    pub fn stats(&self) -> ExportStats {
        ExportStats {
            services: self
                .services
                .values()
                .filter(|s| s.left_at.is_none())
                .count(),
            ..self.stats
        }
    }

    /// Whether the virtual nodes are on the bus.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The state entries changed since the last call (`key` with
    /// [`STATE_PREFIX`], `value`), to store.
    pub fn take_state(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.changed)
    }

    /// Whether state entries changed since [`Exporter::take_state`].
    pub fn state_pending(&self) -> bool {
        !self.changed.is_empty()
    }

    /// When [`Exporter::on_tick`] has something to do.
    pub fn next_wake(&self) -> Option<Micros> {
        self.wake
    }

    /// The own nodes of `service`, with their roles.
    pub fn nodes_of(&self, service: &str) -> Vec<(&'static str, LocalId)> {
        self.services
            .get(service)
            .map(|s| s.nodes.iter().map(|n| (n.def.role, n.id)).collect())
            .unwrap_or_default()
    }

    /// Switches the virtual nodes on or off (`--n2k-out`, Venus's
    /// `N2kGatewayEnabled`): off removes them from the bus at once; their
    /// identities stay stored and come back when switched on again.
    pub fn set_enabled(&mut self, now: Micros, on: bool, core: &mut Core) {
        if on == self.enabled {
            return;
        }
        self.enabled = on;
        let names: Vec<String> = self.services.keys().cloned().collect();
        for name in names {
            if on {
                self.add_nodes(now, &name, core);
            } else if let Some(s) = self.services.get(&name) {
                for n in &s.nodes {
                    core.remove_local(n.id);
                }
            }
        }
        self.reschedule();
    }

    /// What the watcher saw, at `now`.
    pub fn on_input(&mut self, now: Micros, input: ServiceInput, core: &mut Core) {
        match input {
            ServiceInput::Appeared { service, items } => self.appeared(now, service, items, core),
            ServiceInput::Changed { service, items } => {
                if let Some(s) = self.services.get_mut(&service) {
                    let identity = store(&mut s.values, items);
                    if identity && s.left_at.is_none() {
                        self.refresh_identity(&service, core);
                    }
                }
            }
            ServiceInput::Left { service } => {
                if let Some(s) = self.services.get_mut(&service) {
                    tracing::info!(service = %service, "n2k-out: the service left; its data stops now, its nodes in {} s", LEAVE_GRACE / 1_000_000);
                    s.left_at = Some(now);
                }
            }
        }
        self.reschedule();
    }

    /// Why `service` with these values is not exported; `None`: it is.
    fn skip_reason(&self, service: &str, values: &BTreeMap<String, Value>) -> Option<&'static str> {
        let t = service_type(service)?;
        let text = |p: &str| match values.get(p) {
            Some(Value::Text(s)) => Some(s.as_str()),
            _ => None,
        };
        if table::profile(t).is_none() {
            Some("its type does not go out")
        } else if service.contains(".socketcan_")
            || matches!(text("/Mgmt/Connection"), Some("NMEA 2000" | "VE.Can"))
            || text("/Mgmt/ProcessName") == Some("n2k-dbus")
        {
            Some("it comes from the CAN bus (no loops)")
        } else if !self.cfg.include.is_empty() && !self.cfg.include.iter().any(|i| i == t) {
            Some("its type is not included")
        } else if self.cfg.exclude.iter().any(|e| e == t || e == service) {
            Some("excluded")
        } else {
            None
        }
    }

    /// The sends of node `def` of the service with identity `key`: each PGN's
    /// instance from its pool, its interval (as stored, else the table's), and its
    /// first time, spread over the interval by the service's `stagger`.
    fn slots(
        &mut self,
        now: Micros,
        def: &'static NodeDef,
        key: &str,
        values: &BTreeMap<String, Value>,
        stagger: Micros,
    ) -> Vec<Slot> {
        let mut slots = Vec::with_capacity(def.sends.len());
        for (k, send) in def.sends.iter().enumerate() {
            let instance = match send.pool {
                Pool::None => 0xFF,
                pool => {
                    let (name, max) = pool_name(pool, values);
                    self.assign(&name, key, send.channel, 0..=max) as u8
                }
            };
            let stored = self
                .assigned
                .get(&format!("interval|{key}|{}.{}", def.role, send.pgn))
                .copied();
            let interval_ms = stored.unwrap_or(send.interval_ms);
            // Spread the services' PGNs over the interval rather than in one burst.
            let period = Micros::from(interval_ms.max(1)) * 1000;
            let offset = (stagger + k as Micros * 37_000) % period;
            slots.push(Slot {
                send,
                interval_ms,
                due: (interval_ms > 0).then_some(now + offset),
                instance,
            });
        }
        slots
    }

    fn appeared(
        &mut self,
        now: Micros,
        service: String,
        items: Vec<(String, Value)>,
        core: &mut Core,
    ) {
        if let Some(s) = self.services.get_mut(&service) {
            // Back within the grace time: the same nodes go on.
            store(&mut s.values, items);
            s.left_at = None;
            self.refresh_identity(&service, core);
            return;
        }
        let Some(t) = service_type(&service) else {
            return;
        };
        let mut values = BTreeMap::new();
        store(&mut values, items);
        if let Some(why) = self.skip_reason(&service, &values) {
            self.stats.skipped += 1;
            tracing::debug!(service = %service, "n2k-out: not exported: {why}");
            return;
        }
        let Some(profile) = table::profile(t) else {
            return;
        };
        if self.services.len() >= MAX_SERVICES {
            self.stats.skipped += 1;
            tracing::warn!(service = %service, "n2k-out: already {MAX_SERVICES} services exported; not this one");
            return;
        }
        let key = service_key(t, &service, &values);
        let base = self.cfg.block.saturating_mul(500);
        let unique = self.assign("unique", &key, "", base..=base + 499);
        let mut nodes = Vec::new();
        let stagger = stagger_of(&service);
        for def in profile.nodes {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            let slots = self.slots(now, def, &key, &values, stagger);
            self.ids.insert(id, service.clone());
            nodes.push(ExportNode { id, def, slots });
        }
        tracing::info!(service = %service, unique, nodes = nodes.len(), "n2k-out: exported");
        self.services.insert(
            service.clone(),
            Exported {
                key,
                profile,
                values,
                nodes,
                unique,
                left_at: None,
            },
        );
        if self.enabled {
            self.add_nodes(now, &service, core);
        }
    }

    /// Puts the nodes of `service` on the bus (claims follow in the core).
    fn add_nodes(&mut self, now: Micros, service: &str, core: &mut Core) {
        let Some(s) = self.services.get(service) else {
            return;
        };
        let configs: Vec<(LocalId, LocalConfig)> = s
            .nodes
            .iter()
            .map(|n| (n.id, self.local_config(s, n)))
            .collect();
        for (id, cfg) in configs {
            if let Err(e) = core.add_local(now, id, cfg) {
                tracing::warn!(service = %service, "n2k-out: no node: {e}");
            }
        }
    }

    fn local_config(&self, s: &Exported, n: &ExportNode) -> LocalConfig {
        let def = n.def;
        let (device, system) = self.instances_of(&s.key, def);
        let name = Name::from_fields(NameFields {
            unique_number: s.unique,
            manufacturer_code: self.cfg.manufacturer,
            device_instance: device,
            device_function: def.function,
            device_class: def.class,
            system_instance: system,
            industry_group: 4,
            arbitrary_address_capable: true,
        });
        let preferred = self
            .assigned
            .get(&format!("address|{}|{}", s.key, def.role))
            .map_or(0, |&a| a.min(251) as u8);
        let mut transmit: Vec<u32> = def.sends.iter().map(|x| x.pgn).collect();
        transmit.sort_unstable();
        transmit.dedup();
        let (product, config) = identity(s, def);
        LocalConfig {
            name,
            preferred_address: preferred,
            product,
            config,
            heartbeat_interval_ms: HEARTBEAT_MS,
            transmit_pgns: transmit,
            instance_fields: def
                .sends
                .iter()
                .filter_map(|x| Some((x.pgn, x.instance_field?)))
                .collect(),
        }
    }

    /// Device and system instance of a node: stored after a 126208 command, else
    /// numbered per (class, function) among the exported services.
    fn instances_of(&self, key: &str, def: &NodeDef) -> (u8, u8) {
        let device = self
            .assigned
            .get(&format!(
                "dev.{}.{}|{key}|{}",
                def.class, def.function, def.role
            ))
            .copied()
            .unwrap_or(0) as u8;
        let system = self
            .assigned
            .get(&format!("sys|{key}|{}", def.role))
            .copied()
            .unwrap_or(0) as u8;
        (device, system)
    }

    /// The number stored for (`pool`, `key`, `slot`), or the lowest in `range`
    /// no other service of the pool holds, stored from now on.
    fn assign(
        &mut self,
        pool: &str,
        key: &str,
        slot: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> u32 {
        let full = format!("{pool}|{key}|{slot}");
        if let Some(&n) = self.assigned.get(&full) {
            return n;
        }
        let prefix = format!("{pool}|");
        let used: std::collections::BTreeSet<u32> = self
            .assigned
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, &v)| v)
            .collect();
        let n = range
            .clone()
            .find(|n| !used.contains(n))
            .unwrap_or(*range.start());
        self.set(&full, n);
        n
    }

    fn set(&mut self, key: &str, n: u32) {
        if self.assigned.len() >= MAX_ASSIGNED && !self.assigned.contains_key(key) {
            if !self.full {
                self.full = true;
                tracing::warn!("n2k-out: {MAX_ASSIGNED} identities and instances stored; new ones are not kept across a restart");
            }
            return;
        }
        self.assigned.insert(key.to_owned(), n);
        self.changed
            .push((format!("{STATE_PREFIX}{key}"), n.to_string()));
    }

    fn refresh_identity(&mut self, service: &str, core: &mut Core) {
        let Some(s) = self.services.get(service) else {
            return;
        };
        for n in &s.nodes {
            let (product, config) = identity(s, n.def);
            core.set_local_identity(n.id, product, config);
        }
    }

    /// The core's events about our nodes: addresses, instance commands, requests.
    pub fn on_event(&mut self, now: Micros, e: &Event, core: &mut Core) {
        let id = match *e {
            Event::LocalAddress { id, .. }
            | Event::LocalRenamed { id, .. }
            | Event::LocalCommand { id, .. } => id,
            _ => return,
        };
        let Some(service) = self.ids.get(&id).cloned() else {
            return;
        };
        let Some(s) = self.services.get(&service) else {
            return;
        };
        let Some(ni) = s.nodes.iter().position(|n| n.id == id) else {
            return;
        };
        let (key, def) = (s.key.clone(), s.nodes[ni].def);
        match *e {
            Event::LocalAddress {
                address: Some(a), ..
            } => {
                self.set(&format!("address|{key}|{}", def.role), u32::from(a));
            }
            Event::LocalRenamed { name, .. } => {
                tracing::info!(service = %service, role = def.role, "n2k-out: device instance {} system instance {} (126208)", name.device_instance(), name.system_instance());
                self.set(
                    &format!("dev.{}.{}|{key}|{}", def.class, def.function, def.role),
                    u32::from(name.device_instance()),
                );
                self.set(
                    &format!("sys|{key}|{}", def.role),
                    u32::from(name.system_instance()),
                );
            }
            Event::LocalCommand { command, .. } => self.command(now, &service, ni, command, core),
            _ => {}
        }
        self.reschedule();
    }

    fn command(
        &mut self,
        now: Micros,
        service: &str,
        ni: usize,
        command: LocalCommand,
        core: &mut Core,
    ) {
        let Some(s) = self.services.get_mut(service) else {
            return;
        };
        let key = s.key.clone();
        let role = s.nodes[ni].def.role;
        match command {
            LocalCommand::DataInstance { pgn, field, value } => {
                let Some(slot) = s.nodes[ni]
                    .slots
                    .iter()
                    .find(|x| x.send.pgn == pgn && x.send.instance_field == Some(field))
                else {
                    return;
                };
                let (channel, pool) = (slot.send.channel, slot.send.pool);
                let value = if pool == Pool::Fluid {
                    value & 0x0F
                } else {
                    value
                };
                for n in &mut s.nodes {
                    for x in n.slots.iter_mut().filter(|x| x.send.channel == channel) {
                        x.instance = value;
                    }
                }
                let (name, _) = pool_name(pool, &s.values);
                tracing::info!(service = %service, pgn, channel, "n2k-out: data instance {value} (126208)");
                self.set(&format!("{name}|{key}|{channel}"), u32::from(value));
            }
            LocalCommand::Interval { pgn, ms } => {
                for x in s.nodes[ni].slots.iter_mut().filter(|x| x.send.pgn == pgn) {
                    x.interval_ms = ms;
                    x.due = (ms > 0).then_some(now);
                }
                self.set(&format!("interval|{key}|{role}.{pgn}"), ms);
            }
            LocalCommand::Requested { pgn } => {
                let n = &s.nodes[ni];
                for x in n.slots.iter().filter(|x| x.send.pgn == pgn) {
                    if let Some(p) = build(s, x) {
                        if core.local_send(now, n.id, x.send.priority, pgn, &p) {
                            self.stats.sent += 1;
                        }
                    }
                }
            }
        }
    }

    /// Sends what is due at `now`; removes the nodes of services gone for longer
    /// than [`LEAVE_GRACE`].
    pub fn on_tick(&mut self, now: Micros, core: &mut Core) {
        let mut gone = Vec::new();
        for (name, s) in &mut self.services {
            if let Some(left) = s.left_at {
                if now >= left.saturating_add(LEAVE_GRACE) {
                    gone.push(name.clone());
                }
                continue;
            }
            for ni in 0..s.nodes.len() {
                for xi in 0..s.nodes[ni].slots.len() {
                    let x = &s.nodes[ni].slots[xi];
                    let Some(due) = x.due.filter(|&d| d <= now) else {
                        continue;
                    };
                    let period = Micros::from(x.interval_ms) * 1000;
                    // On the period, unless time jumped past the next one (one send
                    // now, never one per missed period).
                    let next = due.saturating_add(period);
                    let payload = if self.enabled { build(s, x) } else { None };
                    let (id, priority, pgn) = (s.nodes[ni].id, x.send.priority, x.send.pgn);
                    s.nodes[ni].slots[xi].due = Some(if next <= now { now + period } else { next });
                    if let Some(p) = payload {
                        if core.local_send(now, id, priority, pgn, &p) {
                            self.stats.sent += 1;
                        }
                    }
                }
            }
        }
        for name in gone {
            if let Some(s) = self.services.remove(&name) {
                tracing::info!(service = %name, "n2k-out: gone for {} s; its nodes leave the bus", LEAVE_GRACE / 1_000_000);
                for n in &s.nodes {
                    core.remove_local(n.id);
                    self.ids.remove(&n.id);
                }
            }
        }
        self.reschedule();
    }

    fn reschedule(&mut self) {
        let mut wake: Option<Micros> = None;
        let mut at = |t: Micros| wake = Some(wake.map_or(t, |w| w.min(t)));
        for s in self.services.values() {
            if let Some(left) = s.left_at {
                at(left.saturating_add(LEAVE_GRACE));
                continue;
            }
            for x in s.nodes.iter().flat_map(|n| &n.slots) {
                if let Some(d) = x.due {
                    at(d);
                }
            }
        }
        self.wake = wake;
    }
}

/// Stores `items` into `values` (at most [`MAX_PATHS`] paths); whether an
/// identity path changed.
fn store(values: &mut BTreeMap<String, Value>, items: Vec<(String, Value)>) -> bool {
    let mut identity = false;
    for (path, v) in items {
        if values.len() >= MAX_PATHS && !values.contains_key(&path) {
            continue;
        }
        identity |= matches!(
            path.as_str(),
            "/ProductName"
                | "/CustomName"
                | "/FirmwareVersion"
                | "/Serial"
                | "/ProductId"
                | "/HardwareVersion"
        );
        values.insert(path, v);
    }
    identity
}

/// Whether a service of this name may go out, before reading it: a type that goes
/// out, and not a service of a CAN interface (ours, vecan-dbus's). The watcher reads
/// and follows only these, so that our own services' signals never reach it.
pub fn may_export(service: &str) -> bool {
    service_type(service).is_some_and(|t| table::profile(t).is_some())
        && !service.contains(".socketcan_")
}

/// `battery` of `com.victronenergy.battery.ttyUSB1`.
pub fn service_type(service: &str) -> Option<&str> {
    service
        .strip_prefix("com.victronenergy.")?
        .split('.')
        .next()
}

/// What identifies a service across restarts: its type and VRM instance
/// (`/DeviceInstance` follows the device, by serial, through Venus's settings),
/// else its name.
fn service_key(t: &str, service: &str, values: &BTreeMap<String, Value>) -> String {
    let clean = |s: &str| s.replace(['|', '=', '\n', '#'], "_");
    match values.get("/DeviceInstance") {
        Some(Value::Int(i)) => format!("{t}/{i}"),
        _ => clean(service),
    }
}

fn stagger_of(service: &str) -> Micros {
    (service
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1_000) as Micros
        * 1000
}

/// The pool's stored name and its highest number.
fn pool_name(pool: Pool, values: &BTreeMap<String, Value>) -> (String, u32) {
    match pool {
        Pool::Dc => ("dc".into(), 252),
        Pool::Charger => ("charger".into(), 252),
        Pool::Inverter => ("inverter".into(), 252),
        Pool::Temperature => ("temp".into(), 252),
        Pool::Fluid => {
            let fluid = match values.get("/FluidType") {
                Some(Value::Int(f)) if (0..=13).contains(f) => *f,
                _ => 15,
            };
            (format!("fluid{fluid}"), 13)
        }
        Pool::None => ("none".into(), 0),
    }
}

fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Int(i) => Some(*i as f64),
        Value::Real(r) if r.is_finite() => Some(*r),
        _ => None,
    }
}

/// The payload of slot `x`, unless its channel does not exist now.
fn build(s: &Exported, x: &Slot) -> Option<Vec<u8>> {
    let values = |p: &str| num(s.values.get(p));
    if let Some(w) = x.send.when {
        values(w)?;
    }
    let instance_of = |channel: &str| {
        s.nodes
            .iter()
            .flat_map(|n| &n.slots)
            .find(|y| y.send.channel == channel)
            .map_or(0xFF, |y| y.instance)
    };
    let inst = Instances {
        own: x.instance,
        dc: instance_of("dc0"),
        ac: 0,
    };
    encode::payload(x.send.pgn, &x.send.build, &values, inst)
}

/// 126996 and 126998 of a node: the service's product name, firmware, serial, and
/// where it comes from (`docs/n2k-out.md#identity`) — never a placeholder.
fn identity(s: &Exported, def: &NodeDef) -> (ProductInfo, ConfigInfo) {
    let text = |p: &str| match s.values.get(p) {
        Some(Value::Text(t)) if !t.is_empty() => Some(t.clone()),
        _ => None,
    };
    let product =
        text("/ProductName").unwrap_or_else(|| format!("Venus {}", s.profile.service_type));
    let model = match def.role {
        "acin" => format!("{product} AC input"),
        _ => product,
    };
    let firmware = match s.values.get("/FirmwareVersion") {
        // Victron's firmware numbers read as hex digits: 0x412 is v4.12.
        Some(Value::Int(v)) if *v >= 0 => format!("v{:x}.{:02x}", v >> 8, v & 0xFF),
        Some(Value::Text(t)) if !t.is_empty() => t.clone(),
        _ => "unknown".into(),
    };
    let product_id = match s.values.get("/ProductId") {
        Some(Value::Int(p)) => u16::try_from(*p).ok(),
        _ => None,
    };
    let hardware = text("/HardwareVersion").unwrap_or_else(|| model.clone());
    (
        ProductInfo {
            nmea2000_version: Some(2100),
            product_code: product_id,
            model_id: model,
            software_version: firmware,
            model_version: hardware,
            serial: text("/Serial").unwrap_or_else(|| s.unique.to_string()),
            certification_level: None,
            load_equivalency: Some(0),
        },
        ConfigInfo {
            installation_description1: text("/CustomName").unwrap_or_default(),
            installation_description2: String::new(),
            manufacturer_information: format!("n2k-dbus NMEA 2000-out of {}", s.key),
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn services_of_a_can_interface_are_not_read() {
        assert!(super::may_export("com.victronenergy.battery.ttyUSB1"));
        assert!(!super::may_export(
            "com.victronenergy.tank.socketcan_can0_di0_uc1500111_wastewater0"
        ));
        assert!(!super::may_export("com.victronenergy.gps.ttyUSB0"));
    }
}
