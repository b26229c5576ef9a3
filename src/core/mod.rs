//! The sans-I/O core (docs/architecture.md#data-flow): frames and timer ticks in, frames to transmit
//! and events out. It never reads a clock, sleeps or touches a socket; time is an
//! argument, so a recorded bus replays exactly and every timing rule is testable.
//!
//! Driving it: call [`Core::start`] once, then [`Core::on_frame`] for every frame
//! (or [`Core::on_message`] for a message a capture tool reassembled) and
//! [`Core::on_tick`] whenever the time [`Core::next_tick`] asked for has come; after
//! each call drain [`Core::poll_output`]. The [`Gateway`](crate::gateway::Gateway)
//! does this.

mod config;
mod load;
mod locals;
mod output;
mod timing;

pub use config::{CoreConfig, DEFAULT_ADDRESS, DEFAULT_MANUFACTURER};
pub use locals::{LocalCommand, LocalConfig, LocalError, LocalId, MAX_LOCALS};
pub use output::{Event, Output, Received};
pub use timing::*;

use std::collections::VecDeque;

pub use load::{frame_bits, LoadMeter};

use crate::can::id::BROADCAST;
use crate::can::{CanId, Frame, Micros};
use crate::devices::lifecycle::{Bus, DeviceLifecycle, LifecycleAction};
use crate::devices::{Lifecycle, Naming, Registry};
use crate::n2k::{fragment, is_fast_packet, Assembler, Message};
use crate::network::mgmt::{self, NULL_ADDRESS};
use crate::network::{
    AddressTable, ClaimAction, ClaimChange, ClaimState, Claimer, ConfigInfo, Name, ProductInfo,
    Traffic,
};
use crate::vreg;

/// Outputs waiting to be drained at most; beyond it outputs are dropped and counted.
pub const MAX_PENDING_OUTPUTS: usize = 4096;

/// Why a command for another device was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the gateway is listen-only")]
    ListenOnly,
    #[error("the gateway has no address on the bus")]
    NoAddress,
    #[error("the device is not on the bus")]
    Offline,
}

/// Counters for diagnostics and the bus service.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CoreStats {
    pub frames: u64,
    pub messages: u64,
    pub transmitted: u64,
    /// Outputs dropped because nobody drained them.
    pub outputs_dropped: u64,
}

/// The NMEA 2000 node and network picture of the gateway.
pub struct Core {
    assembler: Assembler,
    node: Node,
}

/// Everything but the assembler, so a message borrowed from the assembler can be
/// handed to it.
struct Node {
    cfg: CoreConfig,
    claimer: Claimer,
    table: AddressTable,
    registry: Registry,
    out: VecDeque<Output>,
    actions: Vec<ClaimAction>,
    stats: CoreStats,
    started: bool,
    /// Discovery, pacing, liveness and identification of the other devices.
    lifecycle: DeviceLifecycle,
    lifecycle_actions: Vec<LifecycleAction>,
    heartbeat_due: Option<Micros>,
    heartbeat_seq: u8,
    /// Fast-packet sequence counters per (source address, PGN) we send.
    fp_seq: std::collections::BTreeMap<(u8, u32), u8>,
    /// Our other own nodes (NMEA 2000-out), and their addresses one bit each.
    locals: Vec<locals::Local>,
    local_addresses: [u64; 4],
    wake: Option<Micros>,
    last_contention: Option<(u8, [Name; 2], Micros)>,
    last_duplicate: Option<(Name, Micros)>,
    load: LoadMeter,
    /// Victron devices' registers, and our reads and writes of them.
    vreg: vreg::engine::Engine,
}

impl Core {
    /// A core with `cfg`; nothing happens before [`Core::start`].
    pub fn new(cfg: CoreConfig) -> Core {
        let claimer = Claimer::new(cfg.name, cfg.preferred_address);
        Core {
            assembler: Assembler::new(),
            node: Node {
                cfg,
                claimer,
                table: AddressTable::default(),
                registry: Registry::default(),
                out: VecDeque::new(),
                actions: Vec::new(),
                stats: CoreStats::default(),
                started: false,
                lifecycle: DeviceLifecycle::default(),
                lifecycle_actions: Vec::new(),
                heartbeat_due: None,
                heartbeat_seq: 0,
                fp_seq: Default::default(),
                locals: Vec::new(),
                local_addresses: [0; 4],
                wake: None,
                last_contention: None,
                last_duplicate: None,
                load: LoadMeter::default(),
                vreg: vreg::engine::Engine::new(),
            },
        }
    }

    /// Joins the bus at `now`: asks every node for its claim and, unless listen-only,
    /// starts our own claim.
    pub fn start(&mut self, now: Micros) {
        let n = &mut self.node;
        if n.started {
            return;
        }
        n.started = true;
        n.lifecycle.start(now);
        if !n.cfg.listen_only {
            n.claimer.start(now, &mut n.actions);
            n.run_actions(now);
        }
        let at = n.local_claim_time(now);
        for l in &mut n.locals {
            l.claim_at = at;
        }
        n.wake = Some(now);
    }

    /// One frame from the bus; returns the message it completes, if any.
    pub fn on_frame<'s>(&'s mut self, now: Micros, frame: &'s Frame) -> Option<Received<'s>> {
        self.node.stats.frames += 1;
        self.node.load.add(now, frame.data().len());
        let message = self.assembler.on_frame(frame)?;
        let device = self.node.on_message(now, &message);
        Some(Received { message, device })
    }

    /// One message that arrived reassembled (a capture tool reassembled it): counted
    /// as the frames it took on the wire, then handled as a completed message.
    pub fn on_message<'m>(&mut self, now: Micros, message: &Message<'m>) -> Received<'m> {
        self.node.stats.frames += 1;
        let len = message.data.len();
        if len <= 8 {
            self.node.load.add(now, len);
        } else {
            for _ in 0..(len + 1).div_ceil(7) {
                self.node.load.add(now, 8);
            }
        }
        let device = self.node.on_message(now, message);
        Received {
            message: *message,
            device,
        }
    }

    /// The timers: claim, heartbeat, discovery requests, probes, liveness.
    pub fn on_tick(&mut self, now: Micros) {
        self.node.on_tick(now);
    }

    /// Before the timers run up to `now`: a periodic timer that missed whole periods
    /// (a gap in time: a suspended machine, a quiet capture) fires once at `now`,
    /// not once per missed period. One-shot timers keep their times.
    pub fn catch_up(&mut self, now: Micros) {
        let n = &mut self.node;
        let interval = n.heartbeat_period();
        if let Some(due) = n.heartbeat_due {
            if due.saturating_add(interval) <= now {
                n.heartbeat_due = Some(now);
                n.wake = Some(n.wake.map_or(now, |w| w.min(now)));
            }
        }
        if n.locals_catch_up(now) {
            n.soon(now);
        }
    }

    /// Runs every timer due up to and including `now`, in time order, handing each
    /// output to `sink` with the time it arose: the virtual clock of a replay.
    pub fn advance_to(&mut self, now: Micros, sink: &mut impl FnMut(Micros, Output)) {
        self.catch_up(now);
        while let Some(t) = self.next_tick() {
            if t > now {
                break;
            }
            self.on_tick(t);
            while let Some(o) = self.poll_output() {
                sink(t, o);
            }
        }
    }

    /// When [`Core::on_tick`] must be called next.
    pub fn next_tick(&self) -> Option<Micros> {
        self.node.wake
    }

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        let own = self.node.claimer.address();
        let iso = self.assembler.iso_tp();
        if iso.own_address != own {
            iso.own_address = own;
        }
        for f in iso.take_outbox() {
            // CTS and End of Message for transfers addressed to us, from our address.
            self.node.send_id(f.timestamp, f.can_id(), f.data());
        }
        self.node.out.pop_front()
    }

    /// Our NAME.
    pub fn name(&self) -> Name {
        self.node.cfg.name
    }

    /// Where our address claim stands.
    pub fn claim_state(&self) -> ClaimState {
        self.node.claimer.state()
    }

    /// The devices known, by NAME.
    pub fn registry(&self) -> &Registry {
        &self.node.registry
    }

    /// Victron devices' registers (VREG), by source address.
    pub fn vreg(&self) -> &vreg::engine::Engine {
        &self.node.vreg
    }

    /// Broadcasts register `register` = `value` from our address (DVCC's link
    /// values); nothing while the gateway may not transmit.
    pub fn vreg_broadcast(&mut self, now: Micros, register: u16, value: &[u8]) {
        if self.node.active() {
            let payload = vreg::frame::value(register, value);
            self.node
                .send(now, vreg::PRIORITY, vreg::PGN_VREG, 255, &payload);
        }
    }

    /// Queues a register read or write on the device at `node` (`urgent`: a client
    /// waits for it, it goes before background reads); its end comes back as
    /// [`Output::Register`] with `token`. Refused (false) while the gateway may not
    /// transmit (listen-only, no address).
    pub fn vreg_submit(
        &mut self,
        now: Micros,
        node: u8,
        token: u64,
        op: vreg::engine::Op,
        urgent: bool,
    ) -> bool {
        if !self.node.active() {
            return false;
        }
        if urgent {
            self.node.vreg.submit_urgent(node, token, op);
        } else {
            self.node.vreg.submit(node, token, op);
        }
        self.node.drain_vreg();
        self.node.soon(now);
        true
    }

    /// Adds one of our own virtual nodes (NMEA 2000-out): it claims an address
    /// after the gateway's scan of the bus and then answers for itself.
    pub fn add_local(
        &mut self,
        now: Micros,
        id: LocalId,
        cfg: LocalConfig,
    ) -> Result<(), LocalError> {
        self.node.add_local(now, id, cfg)
    }

    /// Removes own node `id`: it falls silent (NMEA 2000 has no leave message;
    /// others drop it by silence). `false` when there was none.
    pub fn remove_local(&mut self, id: LocalId) -> bool {
        self.node.remove_local(id)
    }

    /// Sends `payload` as `pgn` from own node `id`; `false` while the node holds no
    /// address (claiming, lost, listen-only).
    pub fn local_send(
        &mut self,
        now: Micros,
        id: LocalId,
        priority: u8,
        pgn: u32,
        payload: &[u8],
    ) -> bool {
        self.node
            .local_send(now, id, priority, pgn, BROADCAST, payload)
    }

    /// Own node `id`'s address, once claimed.
    pub fn local_address(&self, id: LocalId) -> Option<u8> {
        let n = &self.node;
        n.local_index(id)
            .and_then(|i| n.locals[i].claimer.address())
    }

    /// Own node `id`'s NAME (it changes with a commanded instance).
    pub fn local_name(&self, id: LocalId) -> Option<Name> {
        let n = &self.node;
        n.local_index(id).map(|i| n.locals[i].cfg.name)
    }

    /// Replaces what own node `id` answers to requests for 126996 and 126998.
    pub fn set_local_identity(&mut self, id: LocalId, product: ProductInfo, config: ConfigInfo) {
        let n = &mut self.node;
        if let Some(i) = n.local_index(id) {
            n.locals[i].cfg.product = product;
            n.locals[i].cfg.config = config;
        }
    }

    /// How many own nodes the core hosts besides the gateway's.
    pub fn locals(&self) -> usize {
        self.node.locals.len()
    }

    /// Source address → NAME.
    pub fn table(&self) -> &AddressTable {
        &self.node.table
    }

    /// Bus load in % over the last complete second, as of `now`.
    pub fn bus_load(&self, now: Micros) -> Option<f64> {
        self.node.load.percent(now)
    }

    /// Sends a 126208 Command to the device `name` setting the device instance of
    /// its NAME to `instance` (`docs/nmea2000.md#changing-a-device-instance`). The change is confirmed by the
    /// device's new address claim, which the core then reports as an instance
    /// change.
    pub fn command_device_instance(
        &mut self,
        now: Micros,
        name: Name,
        instance: u8,
    ) -> Result<(), CommandError> {
        let n = &mut self.node;
        if n.cfg.listen_only {
            return Err(CommandError::ListenOnly);
        }
        if n.claimer.address().is_none() {
            return Err(CommandError::NoAddress);
        }
        let Some(address) = n.table.address_of(name) else {
            return Err(CommandError::Offline);
        };
        // Fields 3 and 4 of the address claim: device instance lower and upper.
        let payload = mgmt::command(
            mgmt::PGN_ADDRESS_CLAIM,
            &[(3, u64::from(instance & 7)), (4, u64::from(instance >> 3))],
        );
        n.send(now, 3, mgmt::PGN_GROUP_FUNCTION, address, &payload);
        Ok(())
    }

    /// Sends `payload` as `pgn` from the gateway's own address to `destination`
    /// (255: everyone): a command the mapping decided (a switch bank's channel).
    pub fn send(
        &mut self,
        now: Micros,
        priority: u8,
        pgn: u32,
        destination: u8,
        payload: &[u8],
    ) -> Result<(), CommandError> {
        self.can_send()?;
        self.node.send(now, priority, pgn, destination, payload);
        Ok(())
    }

    /// Whether the gateway's node may transmit now, and why not.
    pub fn can_send(&self) -> Result<(), CommandError> {
        if self.node.cfg.listen_only {
            return Err(CommandError::ListenOnly);
        }
        if self.node.claimer.address().is_none() {
            return Err(CommandError::NoAddress);
        }
        Ok(())
    }

    /// Counters for diagnostics and the bus service's statistics.
    pub fn stats(&self) -> CoreStats {
        self.node.stats
    }

    /// The assembler, for its counters.
    pub fn assembler(&self) -> &Assembler {
        &self.assembler
    }

    /// Whether the core never transmits.
    pub fn listen_only(&self) -> bool {
        self.node.cfg.listen_only
    }
}

impl Node {
    /// Our heartbeat's period (at least 1 ms, whatever the configuration says).
    fn heartbeat_period(&self) -> Micros {
        Micros::from(self.cfg.heartbeat_interval_ms).max(1) * 1000
    }

    fn event(&mut self, e: Event) {
        self.push(Output::Event(e));
    }

    fn push(&mut self, o: Output) {
        // A node's registers follow its device to a new address; an address a new
        // device takes starts with none.
        if let Output::Event(Event::AddressChanged { from, to, .. }) = &o {
            match (*from, *to) {
                (Some(f), Some(t)) => self.vreg.move_node(f, t),
                (Some(f), None) => self.vreg.forget(f),
                (None, Some(t)) => self.vreg.forget(t),
                (None, None) => {}
            }
        }
        if self.out.len() >= MAX_PENDING_OUTPUTS {
            self.stats.outputs_dropped += 1;
            return;
        }
        self.out.push_back(o);
    }

    /// Whether discovery and probes may use the bus: we transmit and own an address.
    fn active(&self) -> bool {
        !self.cfg.listen_only && self.claimer.address().is_some()
    }

    /// The register engine's finished reads and writes, as outputs.
    fn drain_vreg(&mut self) {
        while let Some(e) = self.vreg.poll_event() {
            self.push(Output::Register(e));
        }
    }

    fn soon(&mut self, t: Micros) {
        self.wake = Some(self.wake.map_or(t, |w| w.min(t)));
    }

    // ---- receiving -------------------------------------------------------------

    fn on_message(&mut self, now: Micros, m: &Message<'_>) -> Option<Name> {
        self.stats.messages += 1;
        let id = m.id;
        let source = id.source;
        let to_us = id.destination == BROADCAST
            || Some(id.destination) == self.claimer.address()
            || self.local_at(id.destination).is_some();
        if source >= NULL_ADDRESS {
            // Nodes without an address may only ask for claims (or say they cannot claim).
            if id.pgn == mgmt::PGN_ISO_REQUEST && to_us {
                self.on_request(now, source, id.destination, m.data);
            }
            return None;
        }
        if id.pgn == mgmt::PGN_ADDRESS_CLAIM {
            if let Some(name) = Name::from_payload(m.data) {
                self.on_claim(now, source, name);
                return Some(name);
            }
        }
        if self.own_address(source) {
            // One of our own addresses: our frames echoed, or a node that did not
            // claim. Never imported: our own nodes are not devices of the bus.
            return None;
        }
        let name = self.hear(now, source);
        if matches!(id.pgn, vreg::PGN_VREG | vreg::PGN_VREG_LONG) {
            self.vreg.on_message(now, source, id.destination, m.data);
            self.drain_vreg();
            // An answer frees its node for the next operation.
            if let Some(t) = self.vreg.next_wake() {
                self.soon(t.max(now));
            }
        }
        match id.pgn {
            mgmt::PGN_ISO_REQUEST if to_us => self.on_request(now, source, id.destination, m.data),
            mgmt::PGN_HEARTBEAT => {
                if let Some(d) = name.and_then(|n| self.registry.get_mut(n)) {
                    d.heartbeat_interval = mgmt::parse_heartbeat_interval(m.data);
                }
            }
            mgmt::PGN_PRODUCT_INFO => {
                if let (Some(n), Some(p)) = (name, ProductInfo::parse(m.data)) {
                    self.on_product(n, p);
                }
            }
            mgmt::PGN_CONFIG_INFO => {
                if let (Some(n), Some(c)) = (name, ConfigInfo::parse(m.data)) {
                    self.on_config(n, c);
                }
            }
            mgmt::PGN_COMMANDED_ADDRESS if to_us => {
                if let Some((target, address)) = mgmt::parse_commanded_address(m.data) {
                    self.claimer
                        .on_commanded(now, target, address, &mut self.actions);
                    self.run_actions(now);
                    self.locals_on_commanded(now, target, address);
                }
            }
            mgmt::PGN_GROUP_FUNCTION => {
                if let Some(i) = self.local_at(id.destination) {
                    self.local_group_function(now, i, source, m.data);
                }
            }
            _ => {}
        }
        name
    }

    /// Any frame but a claim from `source`: liveness, and discovery of unnamed sources.
    fn hear(&mut self, now: Micros, source: u8) -> Option<Name> {
        if let Some(name) = self.table.name_at(source) {
            // Every NAME in the table is a device on the bus: gone ones leave it.
            if let Some(d) = self.registry.get_mut(name) {
                d.last_heard = now;
                d.probes = Default::default();
            }
            return Some(name);
        }
        match self.table.on_traffic(now, source) {
            Some(Traffic::InFlight(name)) => return Some(name),
            Some(Traffic::Duplicate(name)) => {
                let at = self
                    .registry
                    .get(name)
                    .and_then(|d| d.address)
                    .unwrap_or(source);
                let recent = self
                    .last_duplicate
                    .is_some_and(|(n, t)| n == name && now - t < DUPLICATE_REPORT_INTERVAL);
                if !recent {
                    self.last_duplicate = Some((name, now));
                    self.event(Event::DuplicateName {
                        name,
                        addresses: [at.min(source), at.max(source)],
                    });
                }
                return self.hear(now, source);
            }
            None => {}
        }
        if self.registry.hear_unnamed(now, source) && self.active() {
            self.soon(now);
        }
        None
    }

    fn on_claim(&mut self, now: Micros, source: u8, name: Name) {
        if self.local_name_claimed(source, name) {
            return;
        }
        if self.locals_on_claim(now, source, name) {
            // One of our own nodes kept its address: the other node moves on.
            self.named(now, name, None);
            return;
        }
        let own = self.cfg.name;
        if name == own {
            if Some(source) != self.claimer.claiming_address() {
                // Another node with our NAME.
                let at = self.claimer.claiming_address().unwrap_or(NULL_ADDRESS);
                self.event(Event::DuplicateName {
                    name,
                    addresses: [at.min(source), at.max(source)],
                });
            }
            return;
        }
        let ours = self.claimer.claiming_address();
        let (table, bits) = (&self.table, self.local_addresses);
        let used = |a: u8| table.is_used(a) || bits[usize::from(a) / 64] & (1 << (a % 64)) != 0;
        self.claimer
            .on_claim(now, source, name, used, &mut self.actions);
        let we_won = ours == Some(source) && self.claimer.claiming_address() == ours;
        self.run_actions(now);
        if we_won {
            // It loses our address and claims another; known, but nowhere yet.
            self.named(now, name, None);
            return;
        }
        let change = self.table.on_claim(now, source, name);
        self.claim_changed(now, source, name, change);
    }

    /// What a claim from `source` by `name` changed in the address table: the
    /// device named, moved, its instance changed, or two devices at one address.
    fn claim_changed(&mut self, now: Micros, source: u8, name: Name, change: ClaimChange) {
        match change {
            ClaimChange::Same | ClaimChange::New => self.named(now, name, Some(source)),
            ClaimChange::Moved { from } => {
                if let Some(d) = self.registry.get_mut(name) {
                    // Re-ask after a move, as the discovery practice says.
                    d.product_tries = Default::default();
                    d.config_tries = Default::default();
                    d.reask_product = d.product.is_some();
                    d.reask_config = d.config.is_some();
                }
                let was = self.registry.get(name).map(|d| d.online());
                self.named(now, name, Some(source));
                self.soon(now);
                if was == Some(true) {
                    self.event(Event::AddressChanged {
                        name,
                        from: Some(from),
                        to: Some(source),
                    });
                }
            }
            ClaimChange::InstanceChanged { old } => {
                if self.registry.get(old).is_some_and(|d| d.online()) {
                    self.registry.set_gone(old);
                    self.event(Event::Gone { name: old });
                }
                self.event(Event::InstanceChanged { old, new: name });
                self.named(now, name, Some(source));
            }
            ClaimChange::Contention { previous } => {
                if let Some(d) = self.registry.get_mut(previous) {
                    if d.address == Some(source) {
                        d.address = None;
                        self.event(Event::AddressChanged {
                            name: previous,
                            from: Some(source),
                            to: None,
                        });
                    }
                }
                let names = [previous.min(name), previous.max(name)];
                let recent = self.last_contention.is_some_and(|(a, n, t)| {
                    a == source && n == names && now - t < CONTENTION_REPORT_INTERVAL
                });
                if !recent {
                    self.event(Event::AddressContention {
                        address: source,
                        names,
                    });
                }
                self.last_contention = Some((source, names, now));
                self.named(now, name, Some(source));
            }
        }
    }

    /// `name` is known at `address`: appeared, back, or moved from nowhere.
    fn named(&mut self, now: Micros, name: Name, address: Option<u8>) {
        let before = self.registry.get(name).map(|d| (d.online(), d.address));
        match self.registry.name_device(now, name, address) {
            Naming::Appeared => {
                self.event(Event::Appeared { name, address });
                self.soon(now);
            }
            Naming::Known => {
                if let Some((true, None)) = before {
                    if address.is_some() {
                        self.soon(now);
                        self.event(Event::AddressChanged {
                            name,
                            from: None,
                            to: address,
                        });
                    }
                }
            }
        }
    }

    fn on_product(&mut self, name: Name, p: ProductInfo) {
        let Some(d) = self.registry.get_mut(name) else {
            return;
        };
        let changed = d.product.as_ref() != Some(&p);
        d.product = Some(p);
        d.reask_product = false;
        match d.lifecycle {
            Lifecycle::Named => {
                d.lifecycle = Lifecycle::Identified;
                self.event(Event::Identified { name });
            }
            Lifecycle::Identified if changed => self.event(Event::IdentityUpdated { name }),
            _ => {}
        }
    }

    fn on_config(&mut self, name: Name, c: ConfigInfo) {
        let Some(d) = self.registry.get_mut(name) else {
            return;
        };
        let changed = d.config.as_ref() != Some(&c);
        d.config = Some(c);
        d.reask_config = false;
        if changed && d.lifecycle == Lifecycle::Identified {
            self.event(Event::IdentityUpdated { name });
        }
    }

    /// An ISO Request from `source` to `destination` (us or everyone).
    fn on_request(&mut self, now: Micros, source: u8, destination: u8, data: &[u8]) {
        let Some(pgn) = mgmt::parse_request(data) else {
            return;
        };
        if self.cfg.listen_only {
            return;
        }
        if destination == BROADCAST {
            for i in 0..self.locals.len() {
                self.local_request(now, i, source, false, pgn);
            }
        } else if let Some(i) = self.local_at(destination) {
            self.local_request(now, i, source, true, pgn);
            return;
        }
        if pgn == mgmt::PGN_ADDRESS_CLAIM {
            self.claimer.on_request(now, &mut self.actions);
            self.run_actions(now);
            self.soon(self.claimer.deadline().unwrap_or(now));
            return;
        }
        let Some(own) = self.claimer.address() else {
            return; // Claiming or without an address: no other answers.
        };
        let addressed = destination == own;
        match pgn {
            mgmt::PGN_PRODUCT_INFO => {
                let p = self.cfg.product.encode();
                self.send(now, 6, pgn, BROADCAST, &p);
            }
            mgmt::PGN_CONFIG_INFO => {
                let c = self.cfg.config.encode();
                self.send(now, 6, pgn, BROADCAST, &c);
            }
            mgmt::PGN_PGN_LIST => {
                let t = mgmt::pgn_list(0, &self.cfg.transmit_pgns);
                let r = mgmt::pgn_list(1, &self.cfg.receive_pgns);
                self.send(now, 6, pgn, BROADCAST, &t);
                self.send(now, 6, pgn, BROADCAST, &r);
            }
            mgmt::PGN_HEARTBEAT => {
                // On demand: sequence 0xFF, as other implementations do.
                let h = mgmt::heartbeat(self.cfg.heartbeat_interval_ms, 0xFF);
                self.send(now, 7, pgn, BROADCAST, &h);
            }
            _ if addressed && source < NULL_ADDRESS => {
                self.send(now, 6, mgmt::PGN_ISO_ACK, source, &mgmt::nak(pgn));
            }
            _ => {}
        }
    }

    // ---- transmitting ----------------------------------------------------------

    fn run_actions(&mut self, now: Micros) {
        let actions = std::mem::take(&mut self.actions);
        for a in &actions {
            match *a {
                ClaimAction::RequestClaims => {
                    let req = mgmt::request(mgmt::PGN_ADDRESS_CLAIM);
                    self.send_from(now, NULL_ADDRESS, 6, mgmt::PGN_ISO_REQUEST, BROADCAST, &req);
                }
                ClaimAction::SendClaim(address) => {
                    let p = self.cfg.name.to_payload();
                    self.send_from(now, address, 6, mgmt::PGN_ADDRESS_CLAIM, BROADCAST, &p);
                }
                ClaimAction::SendCannotClaim => {
                    let p = self.cfg.name.to_payload();
                    self.send_from(now, NULL_ADDRESS, 6, mgmt::PGN_ADDRESS_CLAIM, BROADCAST, &p);
                    self.event(Event::OwnAddress(None));
                    self.heartbeat_due = None;
                }
                ClaimAction::Claimed(address) => {
                    self.event(Event::OwnAddress(Some(address)));
                    self.send_heartbeat(now);
                    self.heartbeat_due = Some(now + self.heartbeat_period());
                    self.soon(now);
                }
                ClaimAction::Lost(_) => {
                    self.event(Event::OwnAddress(None));
                    self.heartbeat_due = None;
                }
            }
        }
        self.actions = actions;
        self.actions.clear();
        if let Some(t) = self.claimer.deadline() {
            self.soon(t);
        }
    }

    fn send_heartbeat(&mut self, now: Micros) {
        let h = mgmt::heartbeat(self.cfg.heartbeat_interval_ms, self.heartbeat_seq);
        self.heartbeat_seq = if self.heartbeat_seq >= 252 {
            0
        } else {
            self.heartbeat_seq + 1
        };
        self.send(now, 7, mgmt::PGN_HEARTBEAT, BROADCAST, &h);
    }

    /// Sends from our claimed address.
    fn send(&mut self, now: Micros, priority: u8, pgn: u32, destination: u8, payload: &[u8]) {
        if let Some(a) = self.claimer.address() {
            self.send_from(now, a, priority, pgn, destination, payload);
        }
    }

    fn send_from(
        &mut self,
        now: Micros,
        source: u8,
        priority: u8,
        pgn: u32,
        destination: u8,
        payload: &[u8],
    ) {
        let id = CanId {
            priority,
            pgn,
            source,
            destination,
        };
        self.send_id(now, id, payload);
    }

    /// The one place frames leave the core; listen-only stops them here.
    fn send_id(&mut self, now: Micros, id: CanId, payload: &[u8]) {
        if self.cfg.listen_only {
            return;
        }
        let seq = if is_fast_packet(id.pgn) {
            match self.fp_seq.entry((id.source, id.pgn)) {
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    let s = e.get_mut();
                    *s = (*s + 1) & 7;
                    *s
                }
                std::collections::btree_map::Entry::Vacant(e) => *e.insert(0),
            }
        } else {
            0
        };
        for f in fragment::frames(now, id, payload, seq).unwrap_or_default() {
            self.stats.transmitted += 1;
            self.load.add(now, f.data().len());
            self.push(Output::Transmit(f));
        }
    }

    fn request(&mut self, now: Micros, destination: u8, pgn: u32) {
        self.send(
            now,
            6,
            mgmt::PGN_ISO_REQUEST,
            destination,
            &mgmt::request(pgn),
        );
    }

    // ---- timers ----------------------------------------------------------------

    fn on_tick(&mut self, now: Micros) {
        if !self.started {
            return;
        }
        let (table, bits) = (&self.table, self.local_addresses);
        let used = |a: u8| table.is_used(a) || bits[usize::from(a) / 64] & (1 << (a % 64)) != 0;
        self.claimer.on_tick(now, used, &mut self.actions);
        self.run_actions(now);
        self.locals_on_tick(now);
        if self.heartbeat_due.is_some_and(|t| t <= now) && self.claimer.address().is_some() {
            self.send_heartbeat(now);
            // On the period, unless time jumped past the next one: then one
            // heartbeat now and the period from here, never one per missed period.
            let interval = self.heartbeat_period();
            let next = self.heartbeat_due.unwrap_or(now).saturating_add(interval);
            self.heartbeat_due = Some(if next <= now { now + interval } else { next });
        }
        let mut actions = std::mem::take(&mut self.lifecycle_actions);
        let active = self.active();
        let bus = Bus {
            registry: &mut self.registry,
            table: &mut self.table,
            active,
        };
        self.lifecycle.on_tick(now, bus, &mut actions);
        for a in actions.drain(..) {
            match a {
                LifecycleAction::Request { address, pgn } => self.request(now, address, pgn),
                LifecycleAction::Identified(name) => self.event(Event::Identified { name }),
                LifecycleAction::Gone(name) => self.event(Event::Gone { name }),
            }
        }
        self.lifecycle_actions = actions;
        self.vreg.on_tick(now);
        self.drain_vreg();
        while let Some(f) = self.vreg.poll_send() {
            let pgn = if f.payload.len() > 8 {
                vreg::PGN_VREG_LONG
            } else {
                vreg::PGN_VREG
            };
            self.send(now, vreg::PRIORITY, pgn, f.destination, &f.payload);
        }
        self.wake = Some(self.compute_wake().max(now + 1));
    }
}
