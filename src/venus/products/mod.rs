//! Victron's own VE.Can products (manufacturer 358): recognised by their product id
//! (register 0x0100) or model name, published as the Venus service their family has
//! (solar charger, charger, battery, inverter, multi) with the paths of
//! [`table`], filled from their registers (VREG broadcasts and answers) and
//! standard PGNs. Sans-I/O like the [`Mapper`](super::Mapper): time is an argument.
//!
//! A Victron device is *pending* from its NAME until its family is known or
//! [`PRODUCT_WAIT`] has passed; while pending or recognised the generic mapper does
//! not see it (an MPPT's 127507 would make it a `charger`); a device recognised as
//! none of the families goes to the generic mapper like any other.
//!
//! Register values are kept while the device is on the bus (settings are read once;
//! live registers are re-broadcast by the device); PGN values age out like the
//! generic mapper's.

pub mod table;

use std::collections::{BTreeMap, VecDeque};

use crate::can::Micros;
use crate::devices::Device;
use crate::model::WriteOutcome;
use crate::model::{
    DeviceSettings, Format, Item, ItemTree, ServiceSink, ServiceSpec, Value, WriteRefusal,
    WriteRule,
};
use crate::network::Name;
use crate::pgn::field;
use crate::venus::stage::{Context, Decided, Incoming, Write};
use crate::venus::Stage;
use crate::vreg::{self, RegValue, Vreg};

use super::fields::Fields;
use super::identity::{self, DeviceId};
use super::profile as generic;
use table::{Conv, Family, Profile, Src};

/// Victron's NMEA 2000 manufacturer code.
pub const VICTRON: u16 = 358;
/// How long a Victron device waits for its product id or model name.
pub const PRODUCT_WAIT: Micros = 10_000_000;
/// Registers kept per device at most (the profiles read fewer than 64).
pub const MAX_REGISTERS: usize = 256;
/// Victron devices followed at most.
pub const MAX_DEVICES: usize = 253;
/// `/Mgmt/Connection` of product services: systemcalc steers VE.Can chargers
/// through the bus service's `/Link/*` paths, which the gateway carries out.
pub const CONNECTION: &str = "VE.Can";

/// Identity registers read from a device when the gateway may ask.
const IDENTITY: [u16; 4] = [0x0100, 0x0102, 0x010A, 0x010B];

#[derive(Debug, Clone, Copy)]
enum Decision {
    Pending {
        since: Micros,
    },
    Product(&'static Profile),
    /// The AC-input address of a VE.Bus interface: its messages feed the service
    /// of its inverter address (this NAME).
    Alias(Name),
    Generic,
}

#[derive(Debug)]
struct Service {
    name: String,
    /// The profile's distinct paths, in row order, with the rows that feed each.
    paths: Vec<(&'static str, Vec<usize>)>,
    published: bool,
    shown: Vec<Value>,
}

#[derive(Debug)]
struct Dev {
    address: Option<u8>,
    decision: Decision,
    regs: BTreeMap<u16, Vec<u8>>,
    /// PGN-fed rows: row index → value and until when it holds.
    pgn: BTreeMap<usize, (f64, Micros)>,
    model: Option<String>,
    serial: Option<String>,
    hardware: Option<String>,
    custom: String,
    service: Option<Service>,
    /// Identity registers asked for while pending, and the profile's once
    /// recognised (active gateways only; a device heard before our own address
    /// was claimed is asked when it is).
    asked_identity: bool,
    read_profile: bool,
}

/// A register read the gateway is asked to send to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub address: u8,
    pub register: u16,
}

pub use crate::venus::stage::RegisterWrite;

/// Counters for diagnostics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProductStats {
    pub recognised: u64,
    pub published: u64,
    pub withdrawn: u64,
    pub registers: u64,
    pub dropped: u64,
}

/// The Victron products of one interface.
pub struct Products {
    iface: String,
    rules: super::rules::Rules,
    devices: BTreeMap<Name, Dev>,
    fields: Fields,
    reads: VecDeque<Read>,
    active: bool,
    finished: bool,
    stats: ProductStats,
}

impl Products {
    /// The Victron products of `iface`; devices `rules` exclude get no service.
    pub fn new(iface: &str, rules: super::rules::Rules) -> Products {
        Products {
            iface: iface.to_owned(),
            rules,
            devices: BTreeMap::new(),
            fields: Fields::default(),
            reads: VecDeque::new(),
            active: false,
            finished: false,
            stats: ProductStats::default(),
        }
    }

    /// Whether the gateway may read registers (it transmits and has an address).
    pub fn set_active(&mut self, active: bool) {
        self.active = active;
    }

    pub fn stats(&self) -> ProductStats {
        self.stats
    }

    /// Whether messages of `name` are this stage's (not the generic mapper's).
    pub fn claims(&self, name: Name) -> bool {
        self.devices
            .get(&name)
            .is_some_and(|d| !matches!(d.decision, Decision::Generic))
    }

    /// One message of a device this stage claims ([`Products::claims`]).
    fn take(
        &mut self,
        now: Micros,
        name: Name,
        destination: u8,
        pgn: u32,
        data: &[u8],
        sink: &dyn ServiceSink,
    ) {
        let key = match self.devices.get(&name).map(|d| d.decision) {
            Some(Decision::Alias(primary)) => primary,
            Some(_) => name,
            None => return,
        };
        let function = name.device_function();
        let Some(dev) = self.devices.get_mut(&key) else {
            return;
        };
        let touched = if matches!(pgn, vreg::PGN_VREG | vreg::PGN_VREG_LONG) {
            // Broadcast values are the device's registers; addressed ones are
            // writes to another node. An alias address's registers are its own.
            let Some(Vreg::Value { register, value }) = vreg::frame::parse(data) else {
                return;
            };
            if destination != 255 || key != name {
                return;
            }
            if dev.regs.len() >= MAX_REGISTERS && !dev.regs.contains_key(&register) {
                self.stats.dropped += 1;
                return;
            }
            self.stats.registers += 1;
            dev.regs.insert(register, value.to_vec());
            Touched::Register(register)
        } else {
            let Decision::Product(profile) = dev.decision else {
                return;
            };
            if !profile.rows.iter().any(|r| row_pgn(r.src) == Some(pgn)) {
                return;
            }
            if !self.fields.decode(pgn, data) {
                return;
            }
            let until = generic::freshness(pgn).map_or(Micros::MAX, |f| now.saturating_add(f));
            take_values(&self.fields, profile, pgn, function, until, &mut dev.pgn);
            Touched::Pgn(pgn)
        };
        self.settle(now, key, sink, touched);
    }

    /// The next register read to send.
    pub fn poll_read(&mut self) -> Option<Read> {
        self.reads.pop_front()
    }

    /// The address of the device behind product service `service`.
    pub fn address_of(&self, service: &str) -> Option<u8> {
        self.devices
            .values()
            .find(|d| d.service.as_ref().is_some_and(|s| s.name == service))
            .and_then(|d| d.address)
    }

    fn forget(&mut self, name: Name, sink: &dyn ServiceSink) {
        if let Some(d) = self.devices.remove(&name) {
            if let Some(s) = d.service.filter(|s| s.published) {
                sink.withdraw(&s.name);
                self.stats.withdrawn += 1;
            }
        }
    }

    /// A client's write to `path` of `service`: `None` when the service is not a
    /// product service, else the register write to send or why not.
    pub fn write(
        &self,
        service: &str,
        path: &str,
        value: &Value,
    ) -> Option<Result<RegisterWrite, WriteRefusal>> {
        let dev = self
            .devices
            .values()
            .find(|d| d.service.as_ref().is_some_and(|s| s.name == service))?;
        let Decision::Product(profile) = dev.decision else {
            return None;
        };
        let row = profile
            .rows
            .iter()
            .find(|r| r.path == path && r.write.is_some());
        let Some(w) = row.and_then(|r| r.write) else {
            return Some(Err(WriteRefusal::NotWritable(path.to_owned())));
        };
        let Some(address) = dev.address else {
            return Some(Err(WriteRefusal::NoDevice(service.to_owned())));
        };
        let x = match value {
            Value::Int(i) => *i as f64,
            Value::Real(r) => *r,
            _ => return Some(Err(WriteRefusal::NotWritable(path.to_owned()))),
        };
        Some(
            encode(w.reg, x)
                .map(|value| RegisterWrite {
                    address,
                    register: w.reg,
                    value,
                })
                .ok_or(WriteRefusal::OutOfRange(path.to_owned())),
        )
    }

    /// Decides, publishes and updates the service of `name`.
    fn settle(&mut self, now: Micros, name: Name, sink: &dyn ServiceSink, touched: Touched) {
        let Some(dev) = self.devices.get(&name) else {
            return;
        };
        if let (true, Some(a), Decision::Pending { .. }, false) =
            (self.active, dev.address, dev.decision, dev.asked_identity)
        {
            self.ask_identity(a, name);
        }
        if self.decide(now, name) {
            self.show(name, sink, touched);
        }
    }

    /// Asks the device at `address` for the registers that tell its product.
    fn ask_identity(&mut self, address: u8, name: Name) {
        let Some(dev) = self.devices.get(&name) else {
            return;
        };
        for r in IDENTITY.into_iter().filter(|r| !dev.regs.contains_key(r)) {
            self.reads.push_back(Read {
                address,
                register: r,
            });
        }
        if let Some(d) = self.devices.get_mut(&name) {
            d.asked_identity = true;
        }
    }

    /// A pending device decided once its product is known, or the wait is over:
    /// whether it is (still, or now) a product with a service of its own.
    fn decide(&mut self, now: Micros, name: Name) -> bool {
        let Some(dev) = self.devices.get(&name) else {
            return false;
        };
        if let Decision::Pending { since } = dev.decision {
            let mut family = recognise(dev);
            let waited = self.finished || now.saturating_sub(since) >= PRODUCT_WAIT;
            if family.is_none() && waited && name.device_class() == 35 {
                // Victron's VE.Bus interface names no product: its functions tell.
                match name.device_function() {
                    table::FUNCTION_INVERTER => family = Some(Family::VeBusInterface),
                    table::FUNCTION_AC_INPUT => {
                        let sibling = self.devices.keys().copied().find(|&n| {
                            n.device_function() == table::FUNCTION_INVERTER
                                && n.unique_number() == name.unique_number()
                                && n.device_class() == 35
                        });
                        if let (Some(primary), Some(dev)) = (sibling, self.devices.get_mut(&name)) {
                            dev.decision = Decision::Alias(primary);
                            tracing::info!(device = %name, inverter = %primary, "the AC input address of a VE.Bus interface");
                            return false;
                        }
                        family = Some(Family::VeBusInterface);
                    }
                    _ => {}
                }
            }
            let Some(dev) = self.devices.get_mut(&name) else {
                return false;
            };
            if let Some(f) = family {
                let profile = table::profile(f);
                dev.decision = Decision::Product(profile);
                self.stats.recognised += 1;
                tracing::info!(device = %name, product = profile.class, "a Victron product: published from its registers");
            } else if waited {
                dev.decision = Decision::Generic;
                tracing::info!(device = %name, "a Victron device of no known product family: mapped as any NMEA 2000 device");
                return false;
            } else {
                return false;
            }
        }
        true
    }

    /// Publishes the service of a decided product, or updates the paths fed by
    /// what was `touched`; asks for the profile's registers the first time.
    fn show(&mut self, name: Name, sink: &dyn ServiceSink, touched: Touched) {
        let Some(dev) = self.devices.get_mut(&name) else {
            return;
        };
        let Decision::Product(profile) = dev.decision else {
            return;
        };
        if self.active {
            ask_profile(&mut self.reads, dev, profile);
        }
        if dev.service.is_none() {
            let iface = identity::bus_element(&self.iface);
            dev.service = Some(Service {
                name: format!(
                    "com.victronenergy.{}.{}",
                    profile.class,
                    identity::name_tail(&iface, DeviceId::Name(name), None)
                ),
                paths: paths_of(profile),
                published: false,
                shown: Vec::new(),
            });
        }
        let Some(svc) = &dev.service else { return };
        if !svc.published {
            let values: Vec<Value> = svc
                .paths
                .iter()
                .map(|(_, rows)| path_value(profile, rows, &dev.regs, &dev.pgn))
                .chain(identity_values(dev, profile))
                .collect();
            if let Some(s) = &mut dev.service {
                s.shown = values;
            }
            sink.publish(spec(&self.iface, name, dev, profile));
            if let Some(s) = &mut dev.service {
                s.published = true;
            }
            self.stats.published += 1;
            return;
        }
        // Published: only the paths fed by what changed are worked out again (a
        // register broadcast touches one or two of forty).
        let identity = match touched {
            Touched::All => Some(identity_values(dev, profile)),
            Touched::Register(r) if IDENTITY.contains(&r) => Some(identity_values(dev, profile)),
            _ => None,
        };
        let Dev {
            service, regs, pgn, ..
        } = dev;
        let Some(svc) = service else { return };
        let feeds = |rows: &[usize]| match touched {
            Touched::All => true,
            Touched::Register(r) => rows
                .iter()
                .any(|&i| row_reg(profile.rows[i].src) == Some(r)),
            Touched::Pgn(p) => rows
                .iter()
                .any(|&i| row_pgn(profile.rows[i].src) == Some(p)),
        };
        let n = svc.paths.len();
        for (k, (path, rows)) in svc.paths.iter().enumerate() {
            if !feeds(rows) {
                continue;
            }
            let v = path_value(profile, rows, regs, pgn);
            if let Some(shown) = svc.shown.get_mut(k).filter(|s| **s != v) {
                sink.set(&svc.name, path, v.clone());
                *shown = v;
            }
        }
        for (k, v) in identity.into_iter().flatten().enumerate() {
            if let Some(shown) = svc.shown.get_mut(n + k).filter(|s| **s != v) {
                sink.set(&svc.name, IDENTITY_PATHS[k], v.clone());
                *shown = v;
            }
        }
    }
}

/// What a message changed, so that only the paths it feeds are worked out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touched {
    All,
    Register(u16),
    Pgn(u32),
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The family a device's registers or model name tell.
fn recognise(dev: &Dev) -> Option<Family> {
    if let Some(id) = dev.regs.get(&0x0100).and_then(|b| product_id(b)) {
        if let Some(p) = table::product(id) {
            return Some(p.family);
        }
    }
    let model = dev
        .regs
        .get(&0x010B)
        .and_then(|b| text(b))
        .or_else(|| dev.model.clone())?;
    table::family_of_model(&model)
}

/// The product id of a 0x0100 value: sub-id, u16 id, flags.
fn product_id(b: &[u8]) -> Option<u16> {
    (b.len() >= 3).then(|| u16::from_le_bytes([b[1], b[2]]))
}

/// The firmware of a 0x0102 value: sub-id, u24 `0xHHMMLL` (all ones: none).
fn firmware(b: &[u8]) -> Option<i64> {
    (b.len() >= 4)
        .then(|| i64::from(u32::from_le_bytes([b[1], b[2], b[3], 0])))
        .filter(|&v| v != 0xFF_FFFF)
}

fn text(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    non_empty(&String::from_utf8_lossy(&b[..end]))
}

/// A field's number (a code counts: states are lookups).
fn number(n: super::fields::Num) -> Option<f64> {
    n.real().or(n.code().map(|c| c as f64))
}

fn row_pgn(src: Src) -> Option<u32> {
    match src {
        Src::Pgn { pgn, .. } | Src::AcLine { pgn, .. } | Src::Func { pgn, .. } => Some(pgn),
        _ => None,
    }
}

fn row_reg(src: Src) -> Option<u16> {
    match src {
        Src::Reg(r)
        | Src::Part { reg: r, .. }
        | Src::Pair { reg: r, .. }
        | Src::Bit { reg: r, .. } => Some(r),
        _ => None,
    }
}

fn paths_of(profile: &Profile) -> Vec<(&'static str, Vec<usize>)> {
    let mut out: Vec<(&'static str, Vec<usize>)> = Vec::new();
    for (i, r) in profile.rows.iter().enumerate() {
        match out.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, rows)) => rows.push(i),
            None => out.push((r.path, vec![i])),
        }
    }
    out
}

/// A register's bytes as an unsigned little-endian number.
fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

/// The value of a path: its first row that has one.
fn path_value(
    profile: &Profile,
    rows: &[usize],
    regs: &BTreeMap<u16, Vec<u8>>,
    pgn: &BTreeMap<usize, (f64, Micros)>,
) -> Value {
    for &i in rows {
        let row = &profile.rows[i];
        let raw = match row.src {
            Src::Reg(r) => match vreg::registers::lookup(r).zip(regs.get(&r)) {
                Some((def, b)) => match def.decode(b) {
                    RegValue::Number(x) => Some(x),
                    _ => None,
                },
                None => None,
            },
            Src::Part {
                reg,
                at,
                len,
                scale,
            } => regs.get(&reg).and_then(|b| {
                let (at, len) = (usize::from(at), usize::from(len));
                let part = b.get(at..at + len)?;
                let n = le(part);
                // All ones: not available.
                (n != mask(len)).then_some(n as f64 * scale)
            }),
            Src::Pair { reg, n } => regs
                .get(&reg)
                .map(|b| ((le(b) >> (2 * u32::from(n))) & 3) as f64),
            Src::Bit { reg, bit } => regs.get(&reg).map(|b| ((le(b) >> bit) & 1) as f64),
            Src::Pgn { .. } | Src::AcLine { .. } | Src::Func { .. } => pgn.get(&i).map(|&(x, _)| x),
        };
        let whole = row.format == Format::Plain;
        if let Some(v) = raw.and_then(|x| convert(row.conv, x, whole)) {
            return v;
        }
    }
    Value::Invalid
}

/// `x` converted; a whole number on a plain (unit-less) path is an integer, as
/// Victron's states, modes and codes are.
fn convert(conv: Conv, x: f64, whole: bool) -> Option<Value> {
    let v = match conv {
        Conv::Same => x,
        Conv::Celsius => x - 273.15,
        Conv::Alarm => match x as u8 {
            1..=3 => x - 1.0,
            _ => return None,
        },
        Conv::YesNo => match x as u8 {
            1 => 1.0,
            2 => 0.0,
            _ => return None,
        },
        Conv::AlarmFlag => {
            if x != 0.0 {
                2.0
            } else {
                0.0
            }
        }
        Conv::ChargerState => return generic::charger_state(x as u64).map(Value::Int),
        // 127509: invert, AC passthru, load sense, fault; disabled has no state of
        // its own (the charger's shows).
        Conv::InverterState => {
            return match x as u8 {
                0 => Some(Value::Int(9)),
                1 => Some(Value::Int(8)),
                2 => Some(Value::Int(1)),
                3 => Some(Value::Int(2)),
                _ => None,
            }
        }
    };
    if !v.is_finite() {
        return None;
    }
    Some(if whole && v.fract() == 0.0 && v.abs() < 1e15 {
        Value::Int(v as i64)
    } else {
        Value::Real(v)
    })
}

/// The bytes that write `x` (in the register's unit) to `register`.
fn encode(register: u16, x: f64) -> Option<Vec<u8>> {
    vreg::registers::lookup(register)?.encode(x)
}

fn mask(size: usize) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    }
}

/// Identity paths that follow the registers and product information.
const IDENTITY_PATHS: [&str; 10] = [
    "/ProductId",
    "/FirmwareVersion",
    "/ProductName",
    "/Serial",
    "/HardwareVersion",
    "/Devices/0/ProductId",
    "/Devices/0/FirmwareVersion",
    "/Devices/0/ProductName",
    "/Devices/0/Nad",
    "/Connected",
];

fn product_name(dev: &Dev, profile: &Profile) -> String {
    if let Some(m) = dev.regs.get(&0x010B).and_then(|b| text(b)) {
        return m;
    }
    if let Some(m) = &dev.model {
        return m.clone();
    }
    if let Some(p) = dev
        .regs
        .get(&0x0100)
        .and_then(|b| product_id(b))
        .and_then(table::product)
    {
        return p.name.to_owned();
    }
    format!("Victron {}", profile.class)
}

fn identity_values(dev: &Dev, profile: &Profile) -> [Value; 10] {
    let id = dev
        .regs
        .get(&0x0100)
        .and_then(|b| product_id(b))
        .map_or(Value::Invalid, |i| Value::Int(i64::from(i)));
    let fw = dev
        .regs
        .get(&0x0102)
        .and_then(|b| firmware(b))
        .map_or(Value::Invalid, Value::Int);
    let pname = Value::Text(product_name(dev, profile));
    let serial = dev
        .regs
        .get(&0x010A)
        .and_then(|b| text(b))
        .or_else(|| dev.serial.clone())
        .map_or(Value::Invalid, Value::Text);
    let hw = dev.hardware.clone().map_or(Value::Invalid, Value::Text);
    let nad = dev
        .address
        .map_or(Value::Invalid, |a| Value::Int(i64::from(a)));
    [
        id.clone(),
        fw.clone(),
        pname.clone(),
        serial,
        hw,
        id,
        fw,
        pname,
        nad,
        Value::Int(i64::from(dev.address.is_some())),
    ]
}

/// The service of a recognised device, with every path.
fn spec(iface: &str, name: Name, dev: &Dev, profile: &'static Profile) -> ServiceSpec {
    let Some(svc) = &dev.service else {
        return ServiceSpec::new(String::new(), ItemTree::new());
    };
    let preferred = u32::from(name.device_instance());
    let mut items = ItemTree::new();
    let mut add = |path: &str, item: Item| {
        if let Err(e) = items.insert(path, item) {
            tracing::warn!(service = %svc.name, "{e}");
        }
    };
    let int = |v: i64| Item::new(Value::Int(v));
    add("/Mgmt/ProcessName", Item::new(identity::PROCESS));
    add("/Mgmt/ProcessVersion", Item::new(env!("CARGO_PKG_VERSION")));
    add("/Mgmt/Connection", Item::new(CONNECTION));
    add("/DeviceInstance", Item::new(preferred));
    add("/CustomName", Item::new(dev.custom.clone()));
    add("/N2kDeviceInstance", int(i64::from(name.device_instance())));
    add("/N2kUniqueNumber", int(i64::from(name.unique_number())));
    add("/N2kSystemInstance", int(i64::from(name.system_instance())));
    add("/Devices/0/CustomName", Item::new(dev.custom.clone()));
    add("/Devices/0/DeviceInstance", Item::new(preferred));
    add(
        "/Devices/0/Gateway",
        Item::new(format!("socketcan:{iface}")),
    );
    add("/Devices/0/ServiceName", Item::new(svc.name.clone()));
    add("/Devices/0/VregLink", Item::new(Value::Invalid));
    let shown = &svc.shown;
    for (k, path) in IDENTITY_PATHS.iter().enumerate() {
        let v = shown
            .get(svc.paths.len() + k)
            .cloned()
            .unwrap_or(Value::Invalid);
        let mut item = Item::new(v);
        if path.ends_with("ProductId") {
            item = item.with_format(Format::Hex);
        }
        add(path, item);
    }
    for (k, (path, rows)) in svc.paths.iter().enumerate() {
        let row = &profile.rows[rows[0]];
        let mut item =
            Item::new(shown.get(k).cloned().unwrap_or(Value::Invalid)).with_format(row.format);
        if let Some(w) = rows.iter().find_map(|&i| profile.rows[i].write) {
            item = item.writable(if w.integer {
                WriteRule::Integer
            } else {
                WriteRule::Real
            });
        }
        add(path, item);
    }
    let mut spec = ServiceSpec::new(svc.name.clone(), items);
    spec.settings = Some(DeviceSettings {
        uid: format!(
            "n2k_m{}_uc{}_{}",
            name.manufacturer_code(),
            name.unique_number(),
            profile.class
        ),
        class: profile.class.to_owned(),
        preferred_instance: preferred,
    });
    spec
}

/// The values a product's profile takes from the decoded message `f` of `pgn`
/// (sent by a device of `function`) into `values`, fresh `until`; a row whose
/// field has no value loses the one it had.
fn take_values(
    f: &Fields,
    profile: &'static Profile,
    pgn: u32,
    function: u8,
    until: Micros,
    values: &mut BTreeMap<usize, (f64, Micros)>,
) {
    let instance = f.get(field::INSTANCE).code();
    for (i, row) in profile.rows.iter().enumerate() {
        let x = match row.src {
            Src::Pgn {
                pgn: p,
                instance: want,
                field: id,
            } if p == pgn && instance == Some(u64::from(want)) => number(f.get(id)),
            Src::Func {
                pgn: p,
                function: want,
                field: id,
            } if p == pgn && function == want => number(f.get(id)),
            Src::AcLine {
                pgn: p,
                line,
                field: id,
            } if p == pgn => (1..=f.items())
                .find(|&item| f.get_in(item, field::LINE).code() == Some(u64::from(line)))
                .and_then(|item| f.get_in(item, id).real()),
            _ => continue,
        };
        match x {
            Some(x) => {
                values.insert(i, (x, until));
            }
            None => {
                values.remove(&i);
            }
        }
    }
}

/// Asks a product's profile registers once (and its identity, when it was not
/// asked for: recognised from broadcasts before we could ask), those not read yet.
fn ask_profile(reads: &mut VecDeque<Read>, dev: &mut Dev, profile: &'static Profile) {
    let Some(a) = dev.address.filter(|_| !dev.read_profile) else {
        return;
    };
    dev.read_profile = true;
    let identity = (!dev.asked_identity)
        .then_some(IDENTITY)
        .into_iter()
        .flatten();
    let mut regs: Vec<u16> = profile
        .rows
        .iter()
        .filter_map(|r| row_reg(r.src))
        .chain(identity)
        .collect();
    regs.sort_unstable();
    regs.dedup();
    for r in regs.into_iter().filter(|r| !dev.regs.contains_key(r)) {
        reads.push_back(Read {
            address: a,
            register: r,
        });
    }
}

impl Stage for Products {
    /// Writes on a product's service become register writes.
    fn on_write(&mut self, w: &Write<'_>) -> Option<Decided> {
        Some(match self.write(w.service, w.path, w.value)? {
            Ok(r) => Decided::Register(r),
            Err(why) => Decided::Now(WriteOutcome::Refused(why)),
        })
    }

    /// The messages of the devices this stage decided are Victron products.
    fn on_message(&mut self, m: &Incoming<'_>, cx: Context<'_>) -> bool {
        let Some(name) = m.device.filter(|&n| self.claims(n)) else {
            return false;
        };
        let Incoming {
            now,
            destination,
            pgn,
            data,
            ..
        } = *m;
        let sink = cx.sink;
        self.take(now, name, destination, pgn, data, sink);
        true
    }

    /// A device event from the core (see [`super::Mapper::on_event`]).
    fn on_event(
        &mut self,
        now: Micros,
        event: &crate::core::Event,
        device: Option<&Device>,
        sink: &dyn ServiceSink,
    ) {
        use crate::core::Event as E;
        match *event {
            E::Appeared { name, address }
                if name.manufacturer_code() == VICTRON && !self.rules.excluded(name) =>
            {
                if !self.devices.contains_key(&name) && self.devices.len() >= MAX_DEVICES {
                    self.stats.dropped += 1;
                    return;
                }
                let dev = self.devices.entry(name).or_insert_with(|| Dev {
                    address,
                    decision: Decision::Pending { since: now },
                    regs: BTreeMap::new(),
                    pgn: BTreeMap::new(),
                    model: None,
                    serial: None,
                    hardware: None,
                    custom: String::new(),
                    service: None,
                    asked_identity: false,
                    read_profile: false,
                });
                dev.address = address;
                self.settle(now, name, sink, Touched::All);
            }
            // The registers are the device's, not its address's: they stay (as the
            // engine's follow it); `/Devices/0/Nad` shows the new address.
            E::AddressChanged { name, to, .. } => {
                if let Some(d) = self.devices.get_mut(&name) {
                    d.address = to;
                    self.settle(now, name, sink, Touched::All);
                }
            }
            E::Identified { name } | E::IdentityUpdated { name } => {
                let Some(d) = self.devices.get_mut(&name) else {
                    return;
                };
                if let Some(p) = device.and_then(|d| d.product.as_ref()) {
                    d.model = non_empty(&p.model_id);
                    d.serial = non_empty(&p.serial);
                    d.hardware = non_empty(&p.model_version);
                }
                if let Some(c) = device.and_then(|d| d.config.as_ref()) {
                    d.custom = c.installation_description1.trim().to_owned();
                }
                self.settle(now, name, sink, Touched::All);
            }
            E::InstanceChanged { old, .. } => self.forget(old, sink),
            E::Gone { name } => self.forget(name, sink),
            _ => {}
        }
    }

    /// Pending decisions and ageing values.
    fn on_sweep(&mut self, now: Micros, sink: &dyn ServiceSink) {
        let names: Vec<Name> = self.devices.keys().copied().collect();
        for n in names {
            if let Some(d) = self.devices.get_mut(&n) {
                d.pgn.retain(|_, (_, until)| *until > now);
            }
            self.settle(now, n, sink, Touched::All);
        }
    }

    /// The bus went away: every value is invalid now.
    fn on_link_down(&mut self, now: Micros, sink: &dyn ServiceSink) {
        let names: Vec<Name> = self.devices.keys().copied().collect();
        for n in names {
            if let Some(d) = self.devices.get_mut(&n) {
                d.pgn.clear();
                d.regs.retain(|r, _| IDENTITY.contains(r));
            }
            self.settle(now, n, sink, Touched::All);
        }
    }

    /// The end of a capture that stays on the bus: pending devices are decided
    /// with what is known.
    fn finish(&mut self, now: Micros, sink: &dyn ServiceSink) {
        self.finished = true;
        self.on_sweep(now, sink);
    }

    fn withdraw_all(&mut self, sink: &dyn ServiceSink) {
        let names: Vec<Name> = self.devices.keys().copied().collect();
        for n in names {
            self.forget(n, sink);
        }
    }

    /// How many product services are published.
    fn published(&self) -> usize {
        self.devices
            .values()
            .filter(|d| d.service.as_ref().is_some_and(|s| s.published))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_encode_in_the_register_unit() {
        // 0x2015 charge current limit: u16, 0.1 A.
        assert_eq!(encode(0x2015, 35.0), Some(vec![0x5E, 0x01]));
        // 0x0200 device mode: u8.
        assert_eq!(encode(0x0200, 4.0), Some(vec![4]));
        assert_eq!(encode(0x0200, 300.0), None);
        assert_eq!(encode(0x0200, -1.0), None);
        // 0xFFFF is "not available" for 0x2015.
        assert_eq!(encode(0x2015, 6553.5), None);
        // Text registers are not written from a number.
        assert_eq!(encode(0x010B, 1.0), None);
    }

    #[test]
    fn identity_registers_read() {
        assert_eq!(product_id(&[0, 0x06, 0x01, 0xFF]), Some(262));
        assert_eq!(firmware(&[0, 0x07, 0x02, 0x00]), Some(519));
        assert_eq!(firmware(&[0, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(
            text(b"Skylla-i 24/100 (3)\0\0"),
            Some("Skylla-i 24/100 (3)".into())
        );
    }

    #[test]
    fn two_bit_fields_convert() {
        assert_eq!(convert(Conv::Alarm, 0.0, true), None);
        assert_eq!(convert(Conv::Alarm, 1.0, true), Some(Value::Int(0)));
        assert_eq!(convert(Conv::Alarm, 3.0, true), Some(Value::Int(2)));
        assert_eq!(convert(Conv::YesNo, 2.0, true), Some(Value::Int(0)));
        assert_eq!(convert(Conv::YesNo, 1.0, true), Some(Value::Int(1)));
    }
}
