//! The whole gateway without I/O: the core, the mapper and the bus service joined.
//!
//! One way in and one way out, as quinn-proto's connection has:
//! - inputs, each with the time it happens: [`Gateway::handle_frame`],
//!   [`Gateway::handle_message`] (a capture's reassembled message),
//!   [`Gateway::handle_timeout`], [`Gateway::handle_write`],
//!   [`Gateway::handle_register`], [`Gateway::handle_service`], …;
//! - outputs: [`Gateway::poll`], one [`Output`] at a time (frames for the bus,
//!   write and register outcomes, our own address, notifications, state to keep),
//!   and [`Gateway::poll_timeout`] (when to call `handle_timeout` next); service
//!   changes go to the [`ServiceSink`] given at creation (the D-Bus publisher's
//!   outbox).
//!
//! The [`Driver`](crate::driver::Driver) is the one caller: the live daemon, the
//! replay, the device table and the tests all go through it.

mod owners;

use std::collections::VecDeque;
use std::sync::Arc;

use self::owners::{Owners, Owning};
use crate::can::socket::SocketStats;
use crate::can::{Frame, Micros};
use crate::core::{Core, CoreConfig, Event, Output as CoreOutput, Received};
use crate::export::{ExportConfig, Exporter, ServiceInput};
use crate::model::{ServiceSink, Value, WriteOutcome, WriteRefusal};
use crate::n2k::Message;
use crate::network::ClaimState;
use crate::venus::alerts::own::{Own, OwnAlerts};
use crate::venus::alerts::{Alerts, Notification};
use crate::venus::products::Products;
use crate::venus::stage::{Context, Decided, Incoming, Nowhere, Write};
use crate::venus::switches::Switches;
use crate::venus::vecan::same_unique_name_used;
use crate::venus::{BusService, Mapper, MapperConfig, Stage};
use crate::vreg::engine::{Event as RegisterEvent, Op, Outcome};
use crate::vreg::VackCode;

/// How often the bus service is brought up to date at most.
pub const BUS_REFRESH: Micros = 1_000_000;
/// Clock steps logged at warning level; later ones are logged at debug level.
pub const LOGGED_STEPS: u64 = 10;
/// Events kept for the shell at most; the oldest goes first.
const MAX_EVENTS: usize = 64;
/// Frames to transmit kept at most between two drains.
const MAX_TRANSMIT: usize = 1024;
/// Register writes waiting for their device at most.
const MAX_WRITES: usize = 256;

/// What the gateway hands out, oldest first within each kind ([`Gateway::poll`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A frame to put on the bus.
    Transmit(Frame),
    /// The outcome of a write decided later ([`WriteDecision::Later`]).
    Write { token: u64, outcome: WriteOutcome },
    /// The answer to a register request ([`Gateway::handle_register`]): a VACK
    /// code (0: done) and the register's bytes.
    Register {
        token: u64,
        code: u16,
        data: Vec<u8>,
    },
    /// Our own address changed: `None` after a lost claim, or for good when no
    /// address is free (`cannot_claim`: the node listens only from now on).
    OwnAddress {
        address: Option<u8>,
        cannot_claim: bool,
    },
    /// An NMEA 2000 alert to show as a Venus notification.
    Notification(Notification),
    /// State entries changed, to store: NMEA 2000-out's identities and the switch
    /// outputs' settings.
    State(Vec<(String, String)>),
}

/// How a client's write is decided.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteDecision {
    /// Decided now.
    Now(WriteOutcome),
    /// Sent to a device: the outcome comes from [`Gateway::poll`] as an
    /// [`Output::Write`] with this token once the device confirmed, refused or stayed silent.
    Later(u64),
}

/// What the gateway is made of.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub core: CoreConfig,
    pub mapper: MapperConfig,
    /// Send the gateway's own alarms as NMEA 2000 alerts of its node.
    pub alerts_out: bool,
}

impl GatewayConfig {
    /// A gateway of interface `iface` with node `core` and no mapping rules.
    pub fn new(iface: &str, core: CoreConfig) -> GatewayConfig {
        GatewayConfig {
            core,
            mapper: MapperConfig {
                iface: iface.to_owned(),
                rules: crate::venus::Rules::default(),
            },
            alerts_out: false,
        }
    }
}

/// Core, stages (products, switches, alerts, mapper) and bus service of one interface.
pub struct Gateway {
    core: Core,
    /// Where the messages the core completes go.
    stages: Stages,
    bus: BusService,
    sink: Arc<dyn ServiceSink>,
    /// Which stage published each service.
    owners: Owners,
    started: bool,
    transmit: VecDeque<Frame>,
    next_refresh: Micros,
    link: Option<SocketStats>,
    /// Our own address changes for the shell, oldest first.
    events: VecDeque<Output>,
    /// A device event since the bus service's device list was last refreshed.
    devices_dirty: bool,
    /// The mapper's count of implausible values the bus service shows.
    implausible_shown: u64,
    /// Register operations' tokens; writes a client waits for, and their outcomes.
    next_token: u64,
    writes: std::collections::BTreeSet<u64>,
    writes_done: VecDeque<(u64, WriteOutcome)>,
    /// Register requests (VregLink) of clients, and their answers.
    registers: std::collections::BTreeMap<u64, bool>,
    registers_done: VecDeque<(u64, (u16, Vec<u8>))>,
    /// NMEA 2000-out, when asked for.
    exporter: Option<Exporter>,
    /// The gateway's own alarms as alerts of its node, and the implausible values
    /// counted when it last looked.
    own_alerts: OwnAlerts,
    implausible_alerted: u64,
}

impl Gateway {
    /// A gateway handing its service changes to `sink`.
    pub fn new(cfg: GatewayConfig, sink: Arc<dyn ServiceSink>) -> Gateway {
        let bus = BusService::new(&cfg.mapper.iface);
        let by_address = cfg.core.listen_only;
        let mut own_alerts = OwnAlerts::new();
        own_alerts.set_enabled(0, cfg.alerts_out);
        Gateway {
            own_alerts,
            implausible_alerted: 0,
            core: Core::new(cfg.core),
            stages: Stages {
                products: Products::new(&cfg.mapper.iface, cfg.mapper.rules.clone()),
                switches: Switches::new(&cfg.mapper.iface).publish_by_address(by_address),
                alerts: Alerts::new(),
                mapper: Mapper::new(cfg.mapper).publish_by_address(by_address),
            },
            bus,
            sink,
            owners: Owners::default(),
            started: false,
            transmit: VecDeque::new(),
            next_refresh: 0,
            link: None,
            events: VecDeque::new(),
            devices_dirty: true,
            implausible_shown: 0,
            next_token: 0,
            writes: Default::default(),
            writes_done: VecDeque::new(),
            registers: Default::default(),
            registers_done: VecDeque::new(),
            exporter: None,
        }
    }

    /// The same gateway exporting other processes' Venus services onto the bus
    /// (NMEA 2000-out), fed through [`Gateway::handle_service`].
    pub fn with_export(mut self, cfg: ExportConfig) -> Gateway {
        self.exporter = Some(Exporter::new(cfg));
        self
    }

    /// The switch banks' output settings kept in the state file (entries under
    /// [`crate::venus::switches::STATE_PREFIX`]).
    pub fn with_switch_state(mut self, entries: Vec<(String, String)>) -> Gateway {
        self.stages.switches.restore(entries);
        self
    }

    /// The switch banks, for their counters.
    pub fn switches(&self) -> &Switches {
        &self.stages.switches
    }

    /// NMEA 2000 alerts, for their counters.
    pub fn alerts(&self) -> &Alerts {
        &self.stages.alerts
    }

    /// Whether the gateway's own alarms go out as NMEA 2000 alerts of its node.
    pub fn set_alerts_out(&mut self, now: Micros, on: bool) {
        self.own_alerts.set_enabled(now, on);
    }

    /// The gateway's own alerts, for their state.
    pub fn own_alerts(&self) -> &OwnAlerts {
        &self.own_alerts
    }

    /// The own alerts' conditions at `now`, and what is due of them sent.
    fn own_alerts_tick(&mut self, now: Micros) {
        if !self.own_alerts.enabled() && self.own_alerts.next_wake().is_none() {
            return;
        }
        let core = &self.core;
        self.own_alerts.level(
            now,
            Own::SameUniqueNumber,
            same_unique_name_used(core),
            || {
                format!(
                    "Another device uses this gateway's unique number {}",
                    core.name().unique_number()
                )
            },
        );
        let refused = self.stages.mapper.stats().implausible;
        if refused > self.implausible_alerted {
            self.implausible_alerted = refused;
            self.own_alerts.event(
                now,
                Own::Implausible,
                format!("{refused} implausible values refused; see the bus service"),
            );
        }
        self.own_alerts.on_tick(now, self.core.name());
        let p = crate::venus::alerts::codec::PRIORITY;
        while let Some(o) = self.own_alerts.poll_send() {
            if self.core.can_send().is_err() {
                continue;
            }
            if let Err(e) = self.core.send(now, p, o.pgn, 255, &o.payload) {
                tracing::debug!(pgn = o.pgn, "own alert not sent: {e}");
            }
        }
    }

    /// Follows Venus's `AlertsInEnable`: off, no alert becomes a notification.
    pub fn set_alerts_enabled(&mut self, on: bool) {
        self.stages.alerts.set_enabled(on);
    }

    /// A user acknowledged the Venus notification of `device` and `description`
    /// at `now`: the alerts it was raised for are acknowledged on the bus (126984).
    /// How many.
    pub fn acknowledge_notification(
        &mut self,
        now: Micros,
        device: &str,
        description: &str,
    ) -> usize {
        self.handle_timeout(now);
        let n = self
            .stages
            .alerts
            .acknowledge(device, description, self.core.name());
        self.drain(now);
        n
    }

    /// NMEA 2000-out, when the gateway has it.
    pub fn exporter(&self) -> Option<&Exporter> {
        self.exporter.as_ref()
    }

    /// What the D-Bus watcher saw of another process's service, at `now`.
    pub fn handle_service(&mut self, now: Micros, input: ServiceInput) {
        self.handle_timeout(now);
        if let Some(x) = &mut self.exporter {
            x.on_input(now, input, &mut self.core);
        }
        self.drain(now);
    }

    /// Switches NMEA 2000-out on or off at `now` (the Venus setting followed live).
    pub fn set_export_enabled(&mut self, now: Micros, on: bool) {
        self.handle_timeout(now);
        if let Some(x) = &mut self.exporter {
            x.set_enabled(now, on, &mut self.core);
        }
        self.drain(now);
    }

    /// State entries changed since the last call.
    fn take_state(&mut self) -> Vec<(String, String)> {
        let mut v = self
            .exporter
            .as_mut()
            .map(Exporter::take_state)
            .unwrap_or_default();
        v.extend(self.stages.switches.take_state());
        v
    }

    /// How many device services are published (or about to be).
    pub fn published(&self) -> usize {
        self.stages.each().iter().map(|s| s.published()).sum()
    }

    /// The Victron products stage, for its counters.
    pub fn products(&self) -> &Products {
        &self.stages.products
    }

    /// The core, for its tables and counters.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The mapper, for its counters.
    pub fn mapper(&self) -> &Mapper {
        &self.stages.mapper
    }

    /// Joins the bus at `now` (the first frame or record does it too).
    pub fn start(&mut self, now: Micros) {
        if !self.started {
            self.started = true;
            self.core.start(now);
            self.drain(now);
        }
    }

    /// The socket's counters, shown by the bus service (live interfaces only).
    pub fn set_link(&mut self, link: SocketStats) {
        self.link = Some(link);
    }

    /// One frame from the bus at `now`; the timers due before it fire first.
    pub fn handle_frame(&mut self, now: Micros, frame: &Frame) {
        self.handle_timeout(now);
        if let Some(r) = self.core.on_frame(now, frame) {
            deliver(&mut self.stages, &self.owners.sinks(&*self.sink), now, &r);
        }
        self.drain(now);
    }

    /// One message that arrived reassembled (a capture tool did it) at `now`.
    pub fn handle_message(&mut self, now: Micros, message: &Message<'_>) {
        self.handle_timeout(now);
        let r = self.core.on_message(now, message);
        deliver(&mut self.stages, &self.owners.sinks(&*self.sink), now, &r);
        self.drain(now);
    }

    /// The end of a capture whose services stay on the bus: publishes what still
    /// waited for more of it ([`Mapper::finish`]).
    pub fn finish(&mut self, now: Micros) {
        self.handle_timeout(now);
        let sinks = self.owners.sinks(&*self.sink);
        for (s, sink) in self.stages.all().into_iter().zip(&sinks) {
            s.finish(now, sink);
        }
        self.refresh(now);
    }

    /// Runs every timer due up to `now`: the core's, freshness, the bus service.
    /// Whatever the gap since the last input, each timer fires at most once.
    pub fn handle_timeout(&mut self, now: Micros) {
        self.start(now);
        // Each timer due fires once, at its time; what it hands out is dealt with
        // before the next, so nothing piles up however long the gap.
        self.core.catch_up(now);
        loop {
            let core = self.core.next_tick().filter(|&t| t <= now);
            let export = self.export_wake().filter(|&t| t <= now);
            match (core, export) {
                (Some(c), e) if e.is_none_or(|e| c <= e) => {
                    self.core.on_tick(c);
                    self.drain(c);
                }
                (_, Some(e)) => {
                    if let Some(x) = &mut self.exporter {
                        x.on_tick(e, &mut self.core);
                    }
                    self.drain(e);
                }
                _ => break,
            }
        }
        let sinks = self.owners.sinks(&*self.sink);
        for (s, sink) in self.stages.all().into_iter().zip(&sinks) {
            if s.next_wake().is_some_and(|t| t <= now) {
                s.on_wake(now, sink);
            }
        }
        self.drain(now);
        let sweep = now >= self.stages.mapper.next_sweep();
        if sweep || self.own_alerts.next_wake().is_some_and(|t| t <= now) {
            self.own_alerts_tick(now);
            self.drain(now);
        }
        if sweep {
            let sinks = self.owners.sinks(&*self.sink);
            for (s, sink) in self.stages.all().into_iter().zip(&sinks) {
                s.on_sweep(now, sink);
            }
        }
        if self.bus.link_wake().is_some_and(|t| t <= now) {
            self.bus.send_link(&mut self.core, now);
            self.drain(now);
        }
        if now >= self.next_refresh {
            self.refresh(now);
        }
    }

    /// When [`Gateway::handle_timeout`] has something to do next (`None` before
    /// the gateway started: its first input starts it).
    pub fn poll_timeout(&self) -> Option<Micros> {
        let core = self.core.next_tick().unwrap_or(Micros::MAX);
        let link = self.bus.link_wake().unwrap_or(Micros::MAX);
        let export = self.export_wake().unwrap_or(Micros::MAX);
        let stages = self
            .stages
            .each()
            .iter()
            .filter_map(|s| s.next_wake())
            .min();
        let own = self.own_alerts.next_wake().unwrap_or(Micros::MAX);
        self.started.then(|| {
            core.min(export)
                .min(stages.unwrap_or(Micros::MAX))
                .min(own)
                .min(self.next_refresh)
                .min(self.stages.mapper.next_sweep())
                .min(link)
        })
    }

    fn export_wake(&self) -> Option<Micros> {
        self.exporter.as_ref().and_then(Exporter::next_wake)
    }

    /// The next output: frames first, then write and register outcomes, our own
    /// address, notifications, and state to keep.
    pub fn poll(&mut self) -> Option<Output> {
        if let Some(f) = self.transmit.pop_front() {
            return Some(Output::Transmit(f));
        }
        if let Some((token, outcome)) = self.writes_done.pop_front() {
            return Some(Output::Write { token, outcome });
        }
        if let Some((token, (code, data))) = self.registers_done.pop_front() {
            return Some(Output::Register { token, code, data });
        }
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        if let Some(n) = self.stages.alerts.poll_notification() {
            return Some(Output::Notification(n));
        }
        let pending = self.stages.switches.state_pending()
            || self.exporter.as_ref().is_some_and(Exporter::state_pending);
        pending.then(|| Output::State(self.take_state()))
    }

    /// Decides a client's write on one of the gateway's services at `now`: the bus
    /// service's own, else the first stage that owns the service.
    pub fn handle_write(
        &mut self,
        now: Micros,
        service: &str,
        path: &str,
        value: &Value,
    ) -> WriteDecision {
        if service == self.bus.service_name() {
            let outcome = self.bus.on_write(&mut self.core, now, path, value);
            self.drain(now);
            return WriteDecision::Now(outcome);
        }
        let w = Write {
            now,
            service,
            path,
            value,
            token: self.token(),
            can_send: self.core.can_send(),
        };
        // The stage that published the service; none: nobody's, not writable.
        let owner = self.owners.owner(service);
        let decided = owner
            .and_then(|i| self.stages.all().into_iter().nth(i))
            .and_then(|s| s.on_write(&w));
        let decision = match decided {
            None => WriteDecision::Now(WriteOutcome::Refused(WriteRefusal::NotWritable(
                path.to_owned(),
            ))),
            Some(Decided::Now(outcome)) => WriteDecision::Now(outcome),
            Some(Decided::Later) => WriteDecision::Later(w.token),
            Some(Decided::Register(_)) if self.writes.len() >= MAX_WRITES => {
                WriteDecision::Now(WriteOutcome::Refused(WriteRefusal::Busy))
            }
            Some(Decided::Register(r)) => {
                let op = Op::Write {
                    register: r.register,
                    value: r.value,
                };
                if self.core.vreg_submit(now, r.address, w.token, op, true) {
                    self.writes.insert(w.token);
                    WriteDecision::Later(w.token)
                } else {
                    WriteDecision::Now(WriteOutcome::Refused(WriteRefusal::ListenOnly))
                }
            }
        };
        self.drain(now);
        decision
    }

    /// A client's register request (VregLink `GetVreg`, or `SetVreg` with `data`) on
    /// `path` of `service` at `now`: sent to the device behind it, `Ok(token)` for
    /// the answer from [`Gateway::poll`]; or answered at once (no such
    /// device, listen-only, too many waiting) with a VACK code.
    pub fn handle_register(
        &mut self,
        now: Micros,
        service: &str,
        path: &str,
        register: u16,
        data: Option<Vec<u8>>,
    ) -> Result<u64, (u16, Vec<u8>)> {
        let write = data.is_some();
        let failed = (VackCode::failed(write).number(), Vec::new());
        let address = if service == self.bus.service_name() {
            path.strip_prefix("/Devices/")
                .and_then(|p| p.strip_suffix("/VregLink"))
                .and_then(|key| self.bus.address_of(&self.core, key))
        } else {
            self.stages.products.address_of(service)
        };
        let Some(address) = address else {
            return Err(failed);
        };
        if self.registers.len() >= MAX_WRITES {
            return Err((VackCode::Busy.number(), Vec::new()));
        }
        let token = self.token();
        let op = match data {
            Some(value) => Op::Write { register, value },
            None => Op::Read { register },
        };
        if !self.core.vreg_submit(now, address, token, op, true) {
            return Err(failed);
        }
        self.registers.insert(token, write);
        self.drain(now);
        Ok(token)
    }

    fn token(&mut self) -> u64 {
        self.next_token = self.next_token.wrapping_add(1);
        self.next_token
    }

    /// The clock the gateway is fed stepped by `by` µs (a capture's own
    /// clock, or the system's wall clock beside the monotonic one the live daemon
    /// runs on); the step was not taken as elapsed time. Counted on the bus service
    /// and logged, each step once (after [`LOGGED_STEPS`], at debug level).
    pub fn clock_stepped(&mut self, by: Micros, what: &str) {
        let steps = self.bus.count_clock_step();
        let secs = by as f64 / 1e6;
        if steps <= LOGGED_STEPS {
            tracing::warn!(
                "{what} stepped by {secs:+.3} s; taken as a clock step, not as time passing{}",
                if steps == LOGGED_STEPS {
                    " (further steps are logged at debug level)"
                } else {
                    ""
                }
            );
        } else {
            tracing::debug!("{what} stepped by {secs:+.3} s");
        }
    }

    /// Clock steps so far.
    pub fn clock_steps(&self) -> u64 {
        self.bus.clock_steps()
    }

    /// The interface went down: measured values turn invalid at once; the services
    /// stay until their devices are gone or the daemon gives the link up.
    pub fn link_down(&mut self, now: Micros) {
        self.handle_timeout(now);
        let sinks = self.owners.sinks(&*self.sink);
        for (s, sink) in self.stages.all().into_iter().zip(&sinks) {
            s.on_link_down(now, sink);
        }
        self.transmit.clear();
    }

    /// Withdraws every service: the end of a replay or a shutdown.
    pub fn withdraw_all(&mut self) {
        let sinks = self.owners.sinks(&*self.sink);
        for (s, sink) in self.stages.all().into_iter().zip(&sinks) {
            s.withdraw_all(sink);
        }
        self.sink.withdraw(self.bus.service_name());
    }

    /// Brings the bus service up to date: the device list when it changed, the
    /// statistics every time.
    fn refresh(&mut self, now: Micros) {
        let refused = self.stages.mapper.stats().implausible;
        if refused != self.implausible_shown {
            self.implausible_shown = refused;
            self.bus
                .set_implausible(self.stages.mapper.implausible().collect());
        }
        let link = self.link.as_ref();
        let devices = std::mem::take(&mut self.devices_dirty);
        self.bus
            .refresh(devices, &self.core, link, now, &*self.sink);
        self.next_refresh = now + BUS_REFRESH;
    }

    /// Hands the core's outputs on (frames to the transmit queue, events to the
    /// stages, register outcomes to the clients waiting for them), then what the
    /// stages queued; a bus-service refresh when the device list changed.
    fn drain(&mut self, now: Micros) {
        let mut devices_changed = false;
        while let Some(o) = self.core.poll_output() {
            match o {
                CoreOutput::Transmit(f) => {
                    if self.transmit.len() < MAX_TRANSMIT {
                        self.transmit.push_back(f);
                    }
                }
                CoreOutput::Event(
                    e @ (Event::LocalAddress { .. }
                    | Event::LocalRenamed { .. }
                    | Event::LocalCommand { .. }),
                ) => {
                    if let Some(x) = &mut self.exporter {
                        x.on_event(now, &e, &mut self.core);
                    }
                }
                CoreOutput::Event(e) => devices_changed |= self.on_event(now, e),
                CoreOutput::Register(RegisterEvent::Done { token, outcome, .. }) => {
                    self.on_register_done(token, outcome);
                }
            }
        }
        self.drain_stages(now);
        if devices_changed && self.started {
            self.refresh(now);
        }
    }

    /// A device event of the core: our own address for the shell, conflicts for
    /// our own alerts, every event for the stages. Whether it was about a device.
    fn on_event(&mut self, now: Micros, e: Event) -> bool {
        if let Event::OwnAddress(a) = e {
            self.stages
                .products
                .set_active(a.is_some() && !self.core.listen_only());
            if self.events.len() >= MAX_EVENTS {
                self.events.pop_front();
            }
            self.events.push_back(Output::OwnAddress {
                address: a,
                cannot_claim: self.core.claim_state() == ClaimState::CannotClaim,
            });
        } else {
            self.devices_dirty = true;
        }
        let name = match e {
            Event::Appeared { name, .. }
            | Event::Identified { name }
            | Event::IdentityUpdated { name }
            | Event::Gone { name } => Some(name),
            Event::InstanceChanged { new, .. } => Some(new),
            _ => None,
        };
        match e {
            Event::DuplicateName { name, addresses } => self.own_alerts.event(
                now,
                Own::AddressConflict,
                format!(
                    "NAME {name} is at addresses {} and {}",
                    addresses[0], addresses[1]
                ),
            ),
            Event::AddressContention { address, .. } => self.own_alerts.event(
                now,
                Own::AddressConflict,
                format!("Two devices claimed address {address}"),
            ),
            _ => {}
        }
        let device = name.and_then(|n| self.core.registry().get(n));
        let sinks = self.owners.sinks(&*self.sink);
        for (s, sink) in self.stages.all().into_iter().zip(&sinks) {
            s.on_event(now, &e, device, sink);
        }
        name.is_some()
    }

    /// A register operation ended: the answer for the client's register request
    /// or write that started it (reads of the products stage need none).
    fn on_register_done(&mut self, token: u64, outcome: Outcome) {
        if let Some(write) = self.registers.remove(&token) {
            let failed = VackCode::failed(write).number();
            let answer = match outcome {
                Outcome::Value(v) => (0, v),
                Outcome::Refused(code) => (code.number(), Vec::new()),
                Outcome::TimedOut => (failed, Vec::new()),
                Outcome::Busy => (VackCode::Busy.number(), Vec::new()),
            };
            self.registers_done.push_back((token, answer));
        } else if self.writes.remove(&token) {
            let o = match outcome {
                // The path shows the value read back, from the broadcast.
                Outcome::Value(_) => WriteOutcome::Accepted,
                Outcome::Refused(code) => WriteOutcome::Refused(WriteRefusal::DeviceRefused(code)),
                Outcome::TimedOut => WriteOutcome::Refused(WriteRefusal::DeviceSilent),
                Outcome::Busy => WriteOutcome::Refused(WriteRefusal::Busy),
            };
            self.writes_done.push_back((token, o));
        }
    }

    /// What the stages queued: switch bank commands and alert acknowledgements to
    /// send, a genset's alert for the mapper, switch writes decided, register reads.
    fn drain_stages(&mut self, now: Micros) {
        while let Some(f) = self.stages.switches.poll_send() {
            if let Err(e) = self
                .core
                .send(now, f.priority, f.pgn, f.destination, &f.payload)
            {
                tracing::debug!(pgn = f.pgn, "switch bank command not sent: {e}");
            }
        }
        while let Some(r) = self.stages.alerts.poll_response() {
            let p = crate::venus::alerts::codec::PRIORITY;
            let pgn = crate::venus::alerts::codec::PGN_RESPONSE;
            if let Err(e) = self.core.send(now, p, pgn, 255, &r.payload) {
                tracing::warn!("alert acknowledgement not sent: {e}");
            }
        }
        while let Some((name, error)) = self.stages.alerts.poll_error() {
            let [.., to_mapper] = self.owners.sinks(&*self.sink);
            self.stages
                .mapper
                .set_alert_error(now, name, error, &to_mapper);
        }
        while let Some(done) = self.stages.switches.poll_done() {
            self.writes_done.push_back(done);
        }
        while let Some(r) = self.stages.products.poll_read() {
            let token = self.token();
            let op = Op::Read {
                register: r.register,
            };
            if !self.core.vreg_submit(now, r.address, token, op, false) {
                break;
            }
        }
    }
}

/// The stages beside the core (a received message borrows the core while a stage
/// takes it). Their order is [`Stages::all`]'s.
/// How many stages [`Stages::all`] holds.
const STAGES: usize = 4;

struct Stages {
    /// Victron's own products, from their registers.
    products: Products,
    /// Switch banks as `switch` services.
    switches: Switches,
    /// NMEA 2000 alerts as Venus notifications.
    alerts: Alerts,
    /// Everything else: NMEA 2000 → Venus services.
    mapper: Mapper,
}

impl Stages {
    /// Every stage, in the order each is given messages ([`deliver`]) and told of
    /// devices, timers, the sweep, the link, the end and shutdown: a new stage is
    /// one more entry here (and in [`deliver`], which lends the mapper to the
    /// stages before it).
    fn all(&mut self) -> [&mut dyn Stage; STAGES] {
        [
            &mut self.products,
            &mut self.switches,
            &mut self.alerts,
            &mut self.mapper,
        ]
    }

    /// [`Stages::all`], to read.
    fn each(&self) -> [&dyn Stage; STAGES] {
        [&self.products, &self.switches, &self.alerts, &self.mapper]
    }
}

/// A message the core completed, to the stages in their order until one takes
/// it: Victron's products take their devices' messages, switching its PGNs, alerts
/// theirs, the mapper the rest. The stages before the mapper may ask it where a
/// device lives ([`crate::venus::stage::Homes`]).
fn deliver(s: &mut Stages, sinks: &[Owning<'_>; STAGES], now: Micros, r: &Received<'_>) {
    let m = Incoming {
        now,
        source: r.message.id.source,
        device: r.device,
        destination: r.message.id.destination,
        pgn: r.message.id.pgn,
        data: r.message.data,
    };
    let Stages {
        products,
        switches,
        alerts,
        mapper,
    } = s;
    let [to_products, to_switches, to_alerts, to_mapper] = sinks;
    let before: [(&mut dyn Stage, &Owning<'_>); 3] = [
        (products, to_products),
        (switches, to_switches),
        (alerts, to_alerts),
    ];
    let taken = before.into_iter().any(|(s, sink)| {
        s.on_message(
            &m,
            Context {
                sink,
                homes: &*mapper,
            },
        )
    });
    if taken {
        return;
    }
    mapper.on_message(
        &m,
        Context {
            sink: to_mapper,
            homes: &Nowhere,
        },
    );
}
