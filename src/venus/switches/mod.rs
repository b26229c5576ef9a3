//! NMEA 2000 switch banks as Venus `switch` services (docs/switching-alerts.md#switch-banks;
//! docs/switching-alerts.md#switch-banks). Sans-I/O like the mapper: time is an argument; frames to
//! send and write outcomes wait in queues the gateway drains.
//!
//! - one `com.victronenergy.switch.<device>_bank<I>` per (device, 127501 bank
//!   instance), published by the mapper's rules (a named device at once, a source
//!   without a NAME only when listening, after [`super::stage::UNNAMED_WAIT`]);
//! - one `/SwitchableOutput/<n−1>` per indicator n the bank ever reported with a
//!   value other than "not available", added to the published tree as it appears;
//! - a write to `State` goes to the bank as a 126208 Command to 127501; when no
//!   acknowledge and no confirming status arrive within [`COMMAND_WAIT`] (or the
//!   acknowledge reports an error), as 127502 with every other channel "no
//!   action". The method that worked is kept per device and used first next time.
//!   `SetValue` answers once a 127501 shows the new state, or refuses after
//!   [`CONFIRM_WAIT`] more: the path never shows what the bank did not report;
//! - `Settings/*` are checked here and kept in the gateway's state file.

pub mod bank;

use std::collections::{BTreeMap, VecDeque};

use crate::can::Micros;
use crate::core::Event;
use crate::devices::Device;
use crate::model::{
    DeviceSettings, Item, ItemTree, ServiceSink, ServiceSpec, Value, WriteOutcome, WriteRefusal,
    WriteRule,
};
use crate::network::{mgmt, Name};
use crate::venus::stage::{Context, Decided, Incoming, Write};
use crate::venus::Stage;

use super::device_events::DeviceServices;

use super::identity::{self, DeviceId, Identity};
use super::kind::Kind;
use super::stage::UNNAMED_WAIT;
use bank::Indicator;

const SECOND: Micros = 1_000_000;
/// How long a 126208 Command waits for its acknowledge or confirming status before
/// the same change goes out as 127502 (docs/switching-alerts.md#126208-command-to-127501 proposal: 1 s).
pub const COMMAND_WAIT: Micros = SECOND;
/// How long a change sent as 127502 waits for a status that shows it before the
/// write is refused as unconfirmed [inferred: banks report a change at once; 2 s
/// covers one status interval of the banks in dirona-actisense-serial.raw].
pub const CONFIRM_WAIT: Micros = 2 * SECOND;
/// A bank's states turn invalid after this long without a 127501 [inferred: three
/// times the 5 s interval of the slowest bank in dirona-actisense-serial.raw].
pub const BANK_FRESH: Micros = 15 * SECOND;
/// Banks at most (all devices together).
pub const MAX_BANKS: usize = 256;
/// Writes waiting for their bank at most.
pub const MAX_PENDING: usize = 64;
/// Prefix of the switch settings' entries in the gateway's state file.
pub const STATE_PREFIX: &str = "switch|";

/// `Settings/Type`: 0 momentary, 1 toggle (docs/switching-alerts.md#output-type-and-function-values).
const VALID_TYPES: i64 = 0b11;
const DEFAULT_TYPE: i64 = 1;
/// `Settings/Function`: 2 manual.
const VALID_FUNCTIONS: i64 = 1 << 2;
const DEFAULT_FUNCTION: i64 = 2;
/// Module `/State`: connected, or a channel reports its error code.
const MODULE_OK: i64 = 0x100;
const MODULE_CHANNEL_FAULT: i64 = 0x103;
/// Output `Status` (docs/switching-alerts.md#output-status-values).
const STATUS_OFF: i64 = 0x00;
const STATUS_ON: i64 = 0x09;
const STATUS_FAULT: i64 = 0x08;

/// How a device takes a change of its channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// 126208 Command to 127501 (confirmed once).
    Command,
    /// 127502 Switch Bank Control.
    Control,
}

/// A frame the stage wants on the bus, from the gateway's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub priority: u8,
    pub pgn: u32,
    pub destination: u8,
    pub payload: Vec<u8>,
}

/// How a write on a switch service is decided: now, or `Later` when sent to the
/// bank (the outcome comes from [`Switches::poll_done`] with the write's token).
pub use crate::venus::stage::Decided as SwitchWrite;

/// Counters for the bus service and the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SwitchStats {
    pub banks: u64,
    pub commands: u64,
    pub controls: u64,
    pub confirmed: u64,
    pub unconfirmed: u64,
    pub dropped: u64,
}

#[derive(Debug)]
struct Output {
    state: Option<bool>,
    fault: bool,
}

#[derive(Debug)]
struct Bank {
    id: DeviceId,
    instance: u8,
    /// The address its last status came from.
    source: u8,
    name: String,
    first_heard: Micros,
    last_heard: Micros,
    outputs: BTreeMap<u8, Output>,
    published: bool,
    /// The status-driven values last shown.
    shown: BTreeMap<Slot, Value>,
    /// The last status's indicators, and whether the bank was silent for
    /// [`BANK_FRESH`] when last shown: an unchanged status or a sweep that changes
    /// neither costs no comparison of every path.
    last: Option<[Indicator; bank::CHANNELS]>,
    stale: bool,
}

#[derive(Debug)]
struct Pending {
    token: u64,
    bank: (DeviceId, u8),
    channel: u8,
    on: bool,
    method: Method,
    deadline: Micros,
}

/// The switch banks of one interface.
pub struct Switches {
    iface: String,
    by_address: bool,
    finished: bool,
    banks: BTreeMap<(DeviceId, u8), Bank>,
    known: BTreeMap<Name, Identity>,
    methods: BTreeMap<DeviceId, Method>,
    pending: Vec<Pending>,
    sends: VecDeque<Send>,
    done: VecDeque<(u64, WriteOutcome)>,
    /// Output settings by `<service tail>|<output>/<setting>`.
    settings: BTreeMap<String, Value>,
    changed: Vec<(String, String)>,
    stats: SwitchStats,
}

impl Switches {
    /// No bank yet on interface `iface`.
    pub fn new(iface: &str) -> Switches {
        Switches {
            iface: identity::bus_element(iface),
            by_address: false,
            finished: false,
            banks: BTreeMap::new(),
            known: BTreeMap::new(),
            methods: BTreeMap::new(),
            pending: Vec::new(),
            sends: VecDeque::new(),
            done: VecDeque::new(),
            settings: BTreeMap::new(),
            changed: Vec::new(),
            stats: SwitchStats::default(),
        }
    }

    /// Publishes banks of sources that never gave their NAME (listen-only).
    pub fn publish_by_address(mut self, yes: bool) -> Switches {
        self.by_address = yes;
        self
    }

    /// The output settings kept in the state file (entries under [`STATE_PREFIX`],
    /// prefix included or not).
    pub fn restore(&mut self, entries: impl IntoIterator<Item = (String, String)>) {
        for (k, v) in entries {
            let key = k.strip_prefix(STATE_PREFIX).unwrap_or(&k).to_owned();
            let value = if key.ends_with("/CustomName") || key.ends_with("/Group") {
                Value::Text(v)
            } else {
                match v.parse::<i64>() {
                    Ok(i) => Value::Int(i),
                    Err(_) => continue,
                }
            };
            self.settings.insert(key, value);
        }
    }

    /// Whether settings changed since [`Switches::take_state`].
    pub fn state_pending(&self) -> bool {
        !self.changed.is_empty()
    }

    /// Settings changed since the last call, as state entries to store.
    pub fn take_state(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.changed)
    }

    /// Counters so far.
    pub fn stats(&self) -> SwitchStats {
        self.stats
    }

    /// Whether `service` is one of the banks'.
    pub fn owns(&self, service: &str) -> bool {
        self.banks.values().any(|b| b.name == service)
    }

    /// The next frame to send, oldest first.
    pub fn poll_send(&mut self) -> Option<Send> {
        self.sends.pop_front()
    }

    /// The outcome of a write that waited for its bank.
    pub fn poll_done(&mut self) -> Option<(u64, WriteOutcome)> {
        self.done.pop_front()
    }

    fn on_status(
        &mut self,
        now: Micros,
        id: DeviceId,
        source: u8,
        status: bank::Status,
        sink: &dyn ServiceSink,
    ) {
        let key = (id, status.instance);
        if !self.banks.contains_key(&key) {
            if self.banks.len() >= MAX_BANKS {
                self.stats.dropped += 1;
                return;
            }
            let suffix = format!("bank{}", status.instance);
            let tail = identity::name_tail(&self.iface, id, Some(&suffix));
            self.banks.insert(
                key,
                Bank {
                    id,
                    instance: status.instance,
                    source,
                    name: format!("com.victronenergy.switch.{tail}"),
                    first_heard: now,
                    last_heard: now,
                    outputs: BTreeMap::new(),
                    published: false,
                    shown: BTreeMap::new(),
                    last: None,
                    stale: false,
                },
            );
            self.stats.banks += 1;
        }
        let Some(b) = self.banks.get_mut(&key) else {
            return;
        };
        b.source = source;
        b.last_heard = now;
        let unchanged = b.published && !b.stale && b.last == Some(status.indicators);
        b.last = Some(status.indicators);
        for (n, ind) in status.indicators.iter().enumerate() {
            let channel = n as u8;
            let out = match (ind, b.outputs.get_mut(&channel)) {
                (Indicator::Unused, _) => continue,
                (_, Some(o)) => o,
                (_, None) => b.outputs.entry(channel).or_insert(Output {
                    state: None,
                    fault: false,
                }),
            };
            match ind {
                Indicator::On => (out.state, out.fault) = (Some(true), false),
                Indicator::Off => (out.state, out.fault) = (Some(false), false),
                // The error code keeps the last state and marks the output.
                _ => out.fault = true,
            }
        }
        // Writes the status confirms.
        let mut k = 0;
        while k < self.pending.len() {
            let p = &self.pending[k];
            let shown = b.outputs.get(&p.channel).and_then(|o| o.state);
            if p.bank == key && shown == Some(p.on) {
                let p = self.pending.swap_remove(k);
                self.methods.insert(id, p.method);
                self.stats.confirmed += 1;
                self.done.push_back((p.token, WriteOutcome::Accepted));
            } else {
                k += 1;
            }
        }
        if !unchanged {
            self.settle(now, sink, Some(key));
        }
    }

    fn on_acknowledge(&mut self, now: Micros, id: DeviceId, ok: bool) {
        if ok {
            return; // the status that follows confirms
        }
        // Refused: the same change as 127502 at once, and from now on.
        self.methods.insert(id, Method::Control);
        let due: Vec<usize> = (0..self.pending.len())
            .filter(|&k| self.pending[k].bank.0 == id && self.pending[k].method == Method::Command)
            .collect();
        for k in due {
            self.fall_back(now, k);
        }
    }

    /// Sends pending write `k` as 127502 and waits [`CONFIRM_WAIT`] for it.
    fn fall_back(&mut self, now: Micros, k: usize) {
        let p = &mut self.pending[k];
        p.method = Method::Control;
        p.deadline = now + CONFIRM_WAIT;
        self.sends.push_back(Send {
            priority: bank::PRIORITY,
            pgn: bank::PGN_CONTROL,
            destination: 255,
            payload: bank::control(p.bank.1, usize::from(p.channel), p.on),
        });
        self.stats.controls += 1;
    }

    /// Fall-backs and unconfirmed writes due up to `now`.
    pub fn expire(&mut self, now: Micros) {
        let mut k = 0;
        while k < self.pending.len() {
            if self.pending[k].deadline > now {
                k += 1;
                continue;
            }
            match self.pending[k].method {
                Method::Command => {
                    self.fall_back(now, k);
                    k += 1;
                }
                Method::Control => {
                    let p = self.pending.swap_remove(k);
                    self.stats.unconfirmed += 1;
                    let service = self.banks.get(&p.bank).map_or("", |b| b.name.as_str());
                    tracing::warn!(
                        service,
                        output = p.channel,
                        on = p.on,
                        "the switch bank did not confirm the change (no 127501 showing it); the output shows what the bank reports"
                    );
                    self.done
                        .push_back((p.token, WriteOutcome::Refused(WriteRefusal::DeviceSilent)));
                }
            }
        }
    }

    /// Output `channel` of bank `key` switched `on` for the write of `token`: a
    /// command to the bank (or 127502 for a bank that only takes that), its outcome
    /// once the bank shows the state; a newer write to the same output replaces
    /// an older one still waiting.
    fn switch(
        &mut self,
        now: Micros,
        key: (DeviceId, u8),
        channel: u8,
        on: bool,
        token: u64,
    ) -> SwitchWrite {
        if self.pending.len() >= MAX_PENDING {
            return SwitchWrite::Now(WriteOutcome::Refused(WriteRefusal::Busy));
        }
        if let Some(k) = self
            .pending
            .iter()
            .position(|p| p.bank == key && p.channel == channel)
        {
            let old = self.pending.swap_remove(k);
            self.done
                .push_back((old.token, WriteOutcome::Refused(WriteRefusal::Dropped)));
        }
        let method = self.methods.get(&key.0).copied().unwrap_or(Method::Command);
        self.pending.push(Pending {
            token,
            bank: key,
            channel,
            on,
            method,
            deadline: now,
        });
        let k = self.pending.len() - 1;
        match method {
            Method::Control => self.fall_back(now, k),
            Method::Command => {
                let several = self.banks.keys().filter(|k| k.0 == key.0).count() > 1;
                let selector = several.then_some(key.1);
                self.sends.push_back(Send {
                    priority: bank::PRIORITY,
                    pgn: mgmt::PGN_GROUP_FUNCTION,
                    destination: b_source(&self.banks, key),
                    payload: bank::command(selector, usize::from(channel), on),
                });
                self.pending[k].deadline = now + COMMAND_WAIT;
                self.stats.commands += 1;
            }
        }
        SwitchWrite::Later
    }

    /// A client's write on `path` of bank service `service`; `None` when the
    /// service is not a bank's. `can_send` says whether the gateway may transmit.
    pub fn write(
        &mut self,
        now: Micros,
        service: &str,
        path: &str,
        value: &Value,
        token: u64,
        can_send: Result<(), crate::core::CommandError>,
    ) -> Option<SwitchWrite> {
        let (&key, b) = self.banks.iter().find(|(_, b)| b.name == service)?;
        let refuse = |why| Some(SwitchWrite::Now(WriteOutcome::Refused(why)));
        let Some((channel, leaf)) = path
            .strip_prefix("/SwitchableOutput/")
            .and_then(|p| p.split_once('/'))
            .and_then(|(n, leaf)| Some((n.parse::<u8>().ok()?, leaf)))
            .filter(|(n, _)| b.outputs.contains_key(n))
        else {
            return refuse(WriteRefusal::NotWritable(path.to_owned()));
        };
        match (leaf, value) {
            ("State", Value::Int(v @ (0 | 1))) => match can_send {
                Err(e) => refuse(e.into()),
                Ok(()) => Some(self.switch(now, key, channel, *v == 1, token)),
            },
            ("State", _) => refuse(WriteRefusal::OutOfRange(path.to_owned())),
            ("Settings/Type", Value::Int(t))
                if (0..63).contains(t) && (VALID_TYPES >> t) & 1 == 1 =>
            {
                self.keep(key, channel, "Type", value.clone())
            }
            ("Settings/Function", Value::Int(f))
                if (0..63).contains(f) && (VALID_FUNCTIONS >> f) & 1 == 1 =>
            {
                self.keep(key, channel, "Function", value.clone())
            }
            ("Settings/Type" | "Settings/Function", _) => {
                refuse(WriteRefusal::OutOfRange(path.to_owned()))
            }
            ("Settings/ShowUIControl", Value::Int(0..=7)) => {
                self.keep(key, channel, "ShowUIControl", value.clone())
            }
            ("Settings/CustomName", Value::Text(_)) => {
                self.keep(key, channel, "CustomName", value.clone())
            }
            ("Settings/Group", Value::Text(_)) => self.keep(key, channel, "Group", value.clone()),
            _ => refuse(WriteRefusal::NotWritable(path.to_owned())),
        }
    }

    /// Keeps an output setting (the publisher stores the value on the path).
    fn keep(
        &mut self,
        key: (DeviceId, u8),
        channel: u8,
        setting: &str,
        value: Value,
    ) -> Option<SwitchWrite> {
        let tail = self.banks.get(&key).map(|b| tail_of(&b.name))?;
        let k = format!("{tail}|{channel}/{setting}");
        let text = match &value {
            Value::Text(s) => s.clone(),
            v => v.to_string(),
        };
        self.changed.push((format!("{STATE_PREFIX}{k}"), text));
        self.settings.insert(k, value.clone());
        Some(SwitchWrite::Now(WriteOutcome::Store))
    }

    /// A source heard by address has claimed `name`: its banks move to it.
    fn hand_over(&mut self, now: Micros, address: u8, name: Name, sink: &dyn ServiceSink) {
        let from = DeviceId::Address(address);
        let keys: Vec<(DeviceId, u8)> =
            self.banks.keys().filter(|k| k.0 == from).copied().collect();
        for key in keys {
            let Some(mut b) = self.banks.remove(&key) else {
                continue;
            };
            if b.published {
                sink.withdraw(&b.name);
            }
            let to = DeviceId::Name(name);
            let tail = identity::name_tail(&self.iface, to, Some(&format!("bank{}", b.instance)));
            b.name = format!("com.victronenergy.switch.{tail}");
            b.id = to;
            b.published = false;
            b.shown.clear();
            self.banks.insert((to, key.1), b);
        }
        self.settle(now, sink, None);
    }

    /// Drops a device's banks, withdrawing their services; writes waiting for
    /// them are refused.
    fn forget(&mut self, id: DeviceId, sink: &dyn ServiceSink) {
        let keys: Vec<(DeviceId, u8)> = self.banks.keys().filter(|k| k.0 == id).copied().collect();
        for key in keys {
            if let Some(b) = self.banks.remove(&key) {
                if b.published {
                    sink.withdraw(&b.name);
                }
            }
        }
        let mut k = 0;
        while k < self.pending.len() {
            if self.pending[k].bank.0 == id {
                let p = self.pending.swap_remove(k);
                let why = WriteRefusal::NoDevice(format!("{id:?}"));
                self.done.push_back((p.token, WriteOutcome::Refused(why)));
            } else {
                k += 1;
            }
        }
        self.methods.remove(&id);
    }

    /// Publishes what is ready and sends what changed, of bank `only` or of all.
    fn settle(&mut self, now: Micros, sink: &dyn ServiceSink, only: Option<(DeviceId, u8)>) {
        let by_address = self.by_address;
        let finished = self.finished;
        for (key, b) in self.banks.iter_mut() {
            let stale = now.saturating_sub(b.last_heard) > BANK_FRESH;
            let swept = only.is_none() && b.published && stale == b.stale;
            if only.is_some_and(|k| k != *key) || swept {
                continue;
            }
            b.stale = stale;
            let ready = match b.id {
                DeviceId::Name(_) => true,
                DeviceId::Address(_) => {
                    by_address && (finished || now - b.first_heard >= UNNAMED_WAIT)
                }
            };
            if b.published {
                for (slot, v) in bank_values(b, now) {
                    if b.shown.get(&slot) == Some(&v) {
                        continue;
                    }
                    // A new output: every path of it arrives, with its state and
                    // status as the next values.
                    if let Some(Slot::State(c)) = slot.filter_new(&b.shown) {
                        for (p, item) in output_items(&self.settings, b, c) {
                            sink.insert(&b.name, &p, item);
                        }
                        b.shown.insert(Slot::State(c), Value::Invalid);
                        b.shown.insert(Slot::Status(c), Value::Invalid);
                    }
                    if b.shown.get(&slot) != Some(&v) {
                        sink.set(&b.name, &slot.path(), v.clone());
                        b.shown.insert(slot, v);
                    }
                }
            } else if ready {
                let identity = match b.id {
                    DeviceId::Name(n) => self.known.get(&n).cloned().unwrap_or_default(),
                    DeviceId::Address(_) => Identity::default(),
                };
                let spec = bank_spec(&self.iface, &self.settings, b, &identity, now);
                b.shown = bank_values(b, now).into_iter().collect();
                sink.publish(spec);
                b.published = true;
            }
        }
    }
}

fn b_source(banks: &BTreeMap<(DeviceId, u8), Bank>, key: (DeviceId, u8)) -> u8 {
    banks.get(&key).map_or(255, |b| b.source)
}

/// `socketcan_can0_…_bank9` of a bank's service name.
fn tail_of(service: &str) -> String {
    service
        .strip_prefix("com.victronenergy.switch.")
        .unwrap_or(service)
        .to_owned()
}

/// A path that follows the bank's status; its text is made only to send a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Module,
    Channels,
    State(u8),
    Status(u8),
}

impl Slot {
    fn path(self) -> String {
        match self {
            Slot::Module => "/State".to_owned(),
            Slot::Channels => "/NrOfChannels".to_owned(),
            Slot::State(n) => format!("/SwitchableOutput/{n}/State"),
            Slot::Status(n) => format!("/SwitchableOutput/{n}/Status"),
        }
    }

    /// The slot, when it is the state of an output not shown yet.
    fn filter_new(self, shown: &BTreeMap<Slot, Value>) -> Option<Slot> {
        match self {
            Slot::State(_) if !shown.contains_key(&self) => Some(self),
            _ => None,
        }
    }
}

/// The values that follow the bank's status: module state, channel count, and
/// each output's `State` and `Status`.
fn bank_values(b: &Bank, now: Micros) -> Vec<(Slot, Value)> {
    let fresh = now.saturating_sub(b.last_heard) <= BANK_FRESH;
    let fault = b.outputs.values().any(|o| o.fault);
    let mut v = vec![
        (
            Slot::Module,
            match (fresh, fault) {
                (false, _) => Value::Invalid,
                (true, true) => Value::Int(MODULE_CHANNEL_FAULT),
                (true, false) => Value::Int(MODULE_OK),
            },
        ),
        (Slot::Channels, Value::Int(b.outputs.len() as i64)),
    ];
    for (&n, o) in &b.outputs {
        let state = o.state.filter(|_| fresh);
        let status = match (fresh, o.fault, state) {
            (false, _, _) => Value::Invalid,
            (true, true, _) => Value::Int(STATUS_FAULT),
            (true, false, Some(true)) => Value::Int(STATUS_ON),
            (true, false, Some(false)) => Value::Int(STATUS_OFF),
            (true, false, None) => Value::Invalid,
        };
        v.push((
            Slot::State(n),
            state.map_or(Value::Invalid, |s| Value::Int(i64::from(s))),
        ));
        v.push((Slot::Status(n), status));
    }
    v
}

/// Every path of output `n` as first published, settings from the state file.
fn output_items(settings: &BTreeMap<String, Value>, b: &Bank, n: u8) -> BTreeMap<String, Item> {
    let tail = tail_of(&b.name);
    let setting = |name: &str, default: Value| {
        settings
            .get(&format!("{tail}|{n}/{name}"))
            .cloned()
            .unwrap_or(default)
    };
    let at = |leaf: &str| format!("/SwitchableOutput/{n}/{leaf}");
    let text = |name: &str| {
        Item::new(setting(name, Value::Text(String::new())))
            .writable(WriteRule::Text { max_chars: 32 })
    };
    let int = |name: &str, default: i64, max: i64| {
        Item::new(setting(name, Value::Int(default)))
            .writable(WriteRule::Integer)
            .with_range(0, max)
            .with_default(default)
    };
    BTreeMap::from([
        (
            at("State"),
            Item::new(Value::Invalid)
                .writable(WriteRule::Integer)
                .with_range(0, 1),
        ),
        (at("Status"), Item::new(Value::Invalid)),
        (
            at("Name"),
            Item::new(format!("Channel {}", u16::from(n) + 1)),
        ),
        (at("Settings/CustomName"), text("CustomName")),
        (at("Settings/Group"), text("Group")),
        (at("Settings/ShowUIControl"), int("ShowUIControl", 1, 7)),
        (at("Settings/Type"), int("Type", DEFAULT_TYPE, 13)),
        (at("Settings/ValidTypes"), Item::new(VALID_TYPES)),
        (
            at("Settings/Function"),
            int("Function", DEFAULT_FUNCTION, 6),
        ),
        (at("Settings/ValidFunctions"), Item::new(VALID_FUNCTIONS)),
    ])
}

/// The complete bank service as first published.
fn bank_spec(
    iface: &str,
    settings: &BTreeMap<String, Value>,
    b: &Bank,
    identity: &Identity,
    now: Micros,
) -> ServiceSpec {
    let preferred = u32::from(b.instance);
    let mut items = ItemTree::new();
    let mut add = |path: &str, item: Item| {
        if let Err(e) = items.insert(path, item) {
            tracing::warn!(service = %b.name, "{e}");
        }
    };
    for (path, item) in
        identity::generic_items(b.id, Kind::Switch, identity, Some(b.instance), preferred)
    {
        add(path, item);
    }
    let mut values: BTreeMap<String, Value> = bank_values(b, now)
        .into_iter()
        .map(|(slot, v)| (slot.path(), v))
        .collect();
    for &n in b.outputs.keys() {
        for (path, mut item) in output_items(settings, b, n) {
            if let Some(v) = values.remove(&path) {
                item.value = v;
            }
            add(&path, item);
        }
    }
    // The module's own paths.
    for (path, v) in values {
        add(&path, Item::new(v));
    }
    let suffix = format!("bank{}", b.instance);
    let mut spec = ServiceSpec::new(b.name.clone(), items);
    spec.settings = Some(DeviceSettings {
        uid: identity::settings_uid(iface, b.id, Kind::Switch, Some(&suffix)),
        class: Kind::Switch.class().to_owned(),
        preferred_instance: preferred,
    });
    spec
}

impl Stage for Switches {
    /// Writes on a bank's service: a command to the bank, or a setting kept.
    fn on_write(&mut self, w: &Write<'_>) -> Option<Decided> {
        self.write(w.now, w.service, w.path, w.value, w.token, w.can_send)
    }

    /// 127501, and 126208 acknowledges of commands to 127501.
    fn on_message(&mut self, m: &Incoming<'_>, cx: Context<'_>) -> bool {
        let id = m.device.map_or(DeviceId::Address(m.source), DeviceId::Name);
        match m.pgn {
            bank::PGN_STATUS => {
                if let Some(status) = bank::parse_status(m.data) {
                    self.on_status(m.now, id, m.source, status, cx.sink);
                }
                true
            }
            mgmt::PGN_GROUP_FUNCTION => match bank::acknowledged(m.data) {
                Some(ok) => {
                    self.on_acknowledge(m.now, id, ok);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// A device's state changed in the core ([`DeviceServices`], as the mapper).
    fn on_event(
        &mut self,
        now: Micros,
        event: &Event,
        device: Option<&Device>,
        sink: &dyn ServiceSink,
    ) {
        self.on_device_event(now, event, device, sink);
    }

    /// When a command whose bank did not confirm it times out ([`Stage::on_wake`]).
    fn next_wake(&self) -> Option<Micros> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    fn on_wake(&mut self, now: Micros, _sink: &dyn ServiceSink) {
        self.expire(now);
    }

    /// Timers due up to `now`: fall-backs, unconfirmed writes, silent banks.
    fn on_sweep(&mut self, now: Micros, sink: &dyn ServiceSink) {
        self.expire(now);
        self.settle(now, sink, None);
    }

    /// The bus went away: every output state turns invalid now.
    fn on_link_down(&mut self, now: Micros, sink: &dyn ServiceSink) {
        for b in self.banks.values_mut() {
            b.last_heard = b.last_heard.min(now.saturating_sub(BANK_FRESH + 1));
        }
        self.settle(now, sink, None);
    }

    /// The end of a capture that stays on the bus: banks still waiting for their
    /// source's NAME are published by address.
    fn finish(&mut self, now: Micros, sink: &dyn ServiceSink) {
        self.finished = true;
        self.settle(now, sink, None);
    }

    /// Withdraws every bank (the end of a replay, a shutdown).
    fn withdraw_all(&mut self, sink: &dyn ServiceSink) {
        let ids: Vec<DeviceId> = self.banks.keys().map(|k| k.0).collect();
        for id in ids {
            self.forget(id, sink);
        }
    }

    /// How many bank services are published.
    fn published(&self) -> usize {
        self.banks.values().filter(|b| b.published).count()
    }
}

#[cfg(test)]
mod tests;

impl DeviceServices for Switches {
    fn know(&mut self, name: Name) {
        self.known.entry(name).or_default();
    }

    fn identify(&mut self, name: Name, identity: Option<Identity>) -> Identity {
        let k = self.known.entry(name).or_default();
        if let Some(i) = identity {
            *k = i;
        }
        k.clone()
    }

    fn unknow(&mut self, name: Name) {
        self.known.remove(&name);
    }

    fn hand_over(&mut self, now: Micros, address: u8, name: Name, sink: &dyn ServiceSink) {
        Switches::hand_over(self, now, address, name, sink);
    }

    fn forget(&mut self, id: DeviceId, sink: &dyn ServiceSink) {
        Switches::forget(self, id, sink);
    }

    fn published_of(&self, id: DeviceId) -> Vec<(String, Kind)> {
        self.banks
            .values()
            .filter(|b| b.id == id && b.published)
            .map(|b| (b.name.clone(), Kind::Switch))
            .collect()
    }

    fn settle_device(&mut self, now: Micros, _id: DeviceId, sink: &dyn ServiceSink) {
        self.settle(now, sink, None);
    }
}
