//! The core's other own nodes: virtual NMEA 2000 devices (NMEA 2000-out), each with
//! its own NAME, address claim and defence, cannot-claim, product and configuration
//! information, PGN lists, heartbeat, answers to requests and 126208 instance
//! commands — all multiplexed on the one bus connection, beside the gateway's own
//! node (`docs/n2k-out.md#rules`).
//!
//! What a local node *sends* as data is its owner's business (the exporter):
//! [`Core::local_send`](super::Core::local_send) puts a message out from the node's
//! address once it holds one. What the bus asks of it comes back as events:
//! [`Event::LocalAddress`], [`Event::LocalRenamed`], [`Event::LocalCommand`].

use crate::can::id::BROADCAST;
use crate::can::Micros;
use crate::network::mgmt::{self, GroupFunction, NULL_ADDRESS};
use crate::network::{ClaimAction, ClaimState, Claimer, ConfigInfo, Name, ProductInfo};

use super::{Event, Node};

/// Own nodes a core hosts at most besides the gateway's (there are 252 addresses).
pub const MAX_LOCALS: usize = 200;

/// Names one of the core's own nodes; chosen by whoever adds it.
pub type LocalId = u32;

/// Network PGNs every local node sends.
const LOCAL_TRANSMIT: &[u32] = &[59392, 60928, 126208, 126464, 126993, 126996, 126998];
/// PGNs every local node reads.
const LOCAL_RECEIVE: &[u32] = &[59904, 60928, 65240, 126208];

/// 126208 Acknowledge codes (`docs/nmea2000.md#group-functions`).
const ACK_OK: u8 = 0;
const PGN_NOT_SUPPORTED: u8 = 1;
const ACCESS_DENIED: u8 = 3;
const READ_WRITE_NOT_SUPPORTED: u8 = 6;
const PARAM_INVALID: u8 = 1;
const PARAM_NOT_SUPPORTED: u8 = 5;

/// Who a local node is and what it tells others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalConfig {
    pub name: Name,
    /// The address to claim first (the one it had last time).
    pub preferred_address: u8,
    /// Its answer to requests for 126996.
    pub product: ProductInfo,
    /// Its answer to requests for 126998.
    pub config: ConfigInfo,
    /// Its heartbeat interval (126993), ms.
    pub heartbeat_interval_ms: u32,
    /// The data PGNs it sends (its 126464 list adds the network PGNs).
    pub transmit_pgns: Vec<u32>,
    /// The (PGN, field number) instance fields a 126208 Command may set.
    pub instance_fields: Vec<(u32, u8)>,
}

/// What the bus asked of a local node that its owner carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalCommand {
    /// A 126208 Command set instance field `field` of `pgn` to `value`.
    DataInstance { pgn: u32, field: u8, value: u8 },
    /// A 126208 Request asked for `pgn` every `ms` ms (0: not periodically).
    Interval { pgn: u32, ms: u32 },
    /// An ISO Request asked for data PGN `pgn` now.
    Requested { pgn: u32 },
}

/// Why a local node was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LocalError {
    #[error("already {MAX_LOCALS} own nodes")]
    TooMany,
    #[error("own node {0} exists")]
    Exists(LocalId),
}

/// One local node's state.
pub(super) struct Local {
    pub(super) id: LocalId,
    pub(super) cfg: LocalConfig,
    pub(super) claimer: Claimer,
    /// When its claim goes out (after the gateway's scan of the bus).
    pub(super) claim_at: Option<Micros>,
    pub(super) heartbeat_due: Option<Micros>,
    heartbeat_seq: u8,
}

impl Local {
    pub(super) fn new(id: LocalId, cfg: LocalConfig, claim_at: Option<Micros>) -> Local {
        Local {
            id,
            claimer: Claimer::new(cfg.name, cfg.preferred_address),
            cfg,
            claim_at,
            heartbeat_due: None,
            heartbeat_seq: 0,
        }
    }

    pub(super) fn heartbeat_period(&self) -> Micros {
        Micros::from(self.cfg.heartbeat_interval_ms).max(1) * 1000
    }

    /// When its timers need a tick.
    pub(super) fn deadline(&self) -> Option<Micros> {
        [self.claim_at, self.claimer.deadline(), self.heartbeat_due]
            .into_iter()
            .flatten()
            .min()
    }

    fn address(&self) -> Option<u8> {
        self.claimer.address()
    }
}

impl Node {
    /// The local node whose address (claimed or being claimed) is `address`.
    pub(super) fn local_at(&self, address: u8) -> Option<usize> {
        if self.local_addresses[usize::from(address) / 64] & (1 << (address % 64)) == 0 {
            return None;
        }
        self.locals
            .iter()
            .position(|l| l.claimer.claiming_address() == Some(address))
    }

    pub(super) fn local_index(&self, id: LocalId) -> Option<usize> {
        self.locals.iter().position(|l| l.id == id)
    }

    /// Whether `address` is held by one of our own nodes (the gateway's or a local).
    pub(super) fn own_address(&self, address: u8) -> bool {
        self.claimer.claiming_address() == Some(address)
            || self.local_addresses[usize::from(address) / 64] & (1 << (address % 64)) != 0
    }

    fn refresh_local_addresses(&mut self) {
        let mut bits = [0u64; 4];
        for a in self
            .locals
            .iter()
            .filter_map(|l| l.claimer.claiming_address())
        {
            bits[usize::from(a) / 64] |= 1 << (a % 64);
        }
        self.local_addresses = bits;
    }

    /// When a local node added at `now` may claim: after the gateway's scan, never
    /// while listen-only or before the core started.
    pub(super) fn local_claim_time(&self, now: Micros) -> Option<Micros> {
        if self.cfg.listen_only || !self.started {
            return None;
        }
        Some(match self.claimer.state() {
            ClaimState::Scanning { until } => until.max(now),
            _ => now,
        })
    }

    pub(super) fn add_local(
        &mut self,
        now: Micros,
        id: LocalId,
        cfg: LocalConfig,
    ) -> Result<(), LocalError> {
        if self.local_index(id).is_some() {
            return Err(LocalError::Exists(id));
        }
        if self.locals.len() >= MAX_LOCALS {
            return Err(LocalError::TooMany);
        }
        let at = self.local_claim_time(now);
        self.locals.push(Local::new(id, cfg, at));
        if let Some(t) = at {
            self.soon(t);
        }
        Ok(())
    }

    pub(super) fn remove_local(&mut self, id: LocalId) -> bool {
        let Some(i) = self.local_index(id) else {
            return false;
        };
        self.locals.swap_remove(i);
        self.refresh_local_addresses();
        true
    }

    /// A claim with one of our local NAMEs: our own echoed, or a duplicate. `true`
    /// when it was one of ours.
    pub(super) fn local_name_claimed(&mut self, source: u8, name: Name) -> bool {
        let Some(l) = self.locals.iter().find(|l| l.cfg.name == name) else {
            return false;
        };
        if l.claimer.claiming_address() != Some(source) {
            let at = l.claimer.claiming_address().unwrap_or(NULL_ADDRESS);
            self.event(Event::DuplicateName {
                name,
                addresses: [at.min(source), at.max(source)],
            });
        }
        true
    }

    /// Another node's claim, as every local node's claim sees it; whether one of
    /// them kept `source` against it (the other node moves on).
    pub(super) fn locals_on_claim(&mut self, now: Micros, source: u8, name: Name) -> bool {
        let Some(i) = self.local_at(source) else {
            return false;
        };
        let mut actions = std::mem::take(&mut self.actions);
        {
            let (table, main, bits) = (
                &self.table,
                self.claimer.claiming_address(),
                self.local_addresses,
            );
            let used = |a: u8| {
                table.is_used(a)
                    || main == Some(a)
                    || bits[usize::from(a) / 64] & (1 << (a % 64)) != 0
            };
            self.locals[i]
                .claimer
                .on_claim(now, source, name, used, &mut actions);
        }
        let kept = self.locals[i].claimer.claiming_address() == Some(source);
        self.run_local_actions(now, i, &mut actions);
        self.actions = actions;
        kept
    }

    /// A commanded address (65240) for one of our local NAMEs.
    pub(super) fn locals_on_commanded(&mut self, now: Micros, target: Name, address: u8) {
        if let Some(i) = self.locals.iter().position(|l| l.cfg.name == target) {
            let mut actions = std::mem::take(&mut self.actions);
            self.locals[i]
                .claimer
                .on_commanded(now, target, address, &mut actions);
            self.run_local_actions(now, i, &mut actions);
            self.actions = actions;
        }
    }

    fn run_local_actions(&mut self, now: Micros, i: usize, actions: &mut Vec<ClaimAction>) {
        for a in actions.drain(..) {
            let l = &mut self.locals[i];
            let (id, name) = (l.id, l.cfg.name);
            match a {
                ClaimAction::RequestClaims => {}
                ClaimAction::SendClaim(address) => {
                    self.send_from(
                        now,
                        address,
                        6,
                        mgmt::PGN_ADDRESS_CLAIM,
                        BROADCAST,
                        &name.to_payload(),
                    );
                }
                ClaimAction::SendCannotClaim => {
                    l.heartbeat_due = None;
                    self.send_from(
                        now,
                        NULL_ADDRESS,
                        6,
                        mgmt::PGN_ADDRESS_CLAIM,
                        BROADCAST,
                        &name.to_payload(),
                    );
                    self.event(Event::LocalAddress { id, address: None });
                }
                ClaimAction::Claimed(address) => {
                    l.heartbeat_due = Some(now + l.heartbeat_period());
                    self.send_local_heartbeat(now, i);
                    self.event(Event::LocalAddress {
                        id,
                        address: Some(address),
                    });
                }
                ClaimAction::Lost(_) => {
                    l.heartbeat_due = None;
                    self.event(Event::LocalAddress { id, address: None });
                }
            }
        }
        self.refresh_local_addresses();
        if let Some(t) = self.locals[i].deadline() {
            self.soon(t);
        }
    }

    fn send_local_heartbeat(&mut self, now: Micros, i: usize) {
        let l = &mut self.locals[i];
        let Some(address) = l.address() else {
            return;
        };
        let h = mgmt::heartbeat(l.cfg.heartbeat_interval_ms, l.heartbeat_seq);
        l.heartbeat_seq = if l.heartbeat_seq >= 252 {
            0
        } else {
            l.heartbeat_seq + 1
        };
        self.send_from(now, address, 7, mgmt::PGN_HEARTBEAT, BROADCAST, &h);
    }

    /// Sends `payload` as `pgn` from local node `id`'s address; `false` while it
    /// has none (claiming, lost, listen-only) or does not exist.
    pub(super) fn local_send(
        &mut self,
        now: Micros,
        id: LocalId,
        priority: u8,
        pgn: u32,
        destination: u8,
        payload: &[u8],
    ) -> bool {
        let Some(address) = self.local_index(id).and_then(|i| self.locals[i].address()) else {
            return false;
        };
        self.send_from(now, address, priority, pgn, destination, payload);
        true
    }

    /// The local nodes' timers: claims to start, claim deadlines, heartbeats.
    pub(super) fn locals_on_tick(&mut self, now: Micros) {
        let mut actions = std::mem::take(&mut self.actions);
        for i in 0..self.locals.len() {
            if self.locals[i].deadline().is_none_or(|t| t > now) {
                continue;
            }
            let (main, bits) = (self.claimer.claiming_address(), self.local_addresses);
            let table = &self.table;
            let used = |a: u8| {
                table.is_used(a)
                    || main == Some(a)
                    || bits[usize::from(a) / 64] & (1 << (a % 64)) != 0
            };
            let l = &mut self.locals[i];
            if l.claim_at.is_some_and(|t| t <= now) {
                l.claim_at = None;
                l.claimer.start_known(now, used, &mut actions);
            } else {
                l.claimer.on_tick(now, used, &mut actions);
            }
            self.run_local_actions(now, i, &mut actions);
            let l = &mut self.locals[i];
            if l.heartbeat_due.is_some_and(|t| t <= now) && l.address().is_some() {
                let period = l.heartbeat_period();
                let next = l.heartbeat_due.unwrap_or(now).saturating_add(period);
                l.heartbeat_due = Some(if next <= now { now + period } else { next });
                self.send_local_heartbeat(now, i);
            }
        }
        self.actions = actions;
    }

    /// After a gap in time: a heartbeat that missed whole periods fires once.
    /// Whether one did.
    pub(super) fn locals_catch_up(&mut self, now: Micros) -> bool {
        let mut any = false;
        for l in &mut self.locals {
            let period = l.heartbeat_period();
            if l.heartbeat_due
                .is_some_and(|d| d.saturating_add(period) <= now)
            {
                l.heartbeat_due = Some(now);
                any = true;
            }
        }
        any
    }

    /// An ISO Request reaching local node `i` (addressed to it, or to everyone).
    pub(super) fn local_request(
        &mut self,
        now: Micros,
        i: usize,
        source: u8,
        addressed: bool,
        pgn: u32,
    ) {
        if pgn == mgmt::PGN_ADDRESS_CLAIM {
            let mut actions = std::mem::take(&mut self.actions);
            self.locals[i].claimer.on_request(now, &mut actions);
            self.run_local_actions(now, i, &mut actions);
            self.actions = actions;
            return;
        }
        let l = &self.locals[i];
        let Some(own) = l.address() else {
            return;
        };
        let id = l.id;
        match pgn {
            mgmt::PGN_PRODUCT_INFO => {
                let p = l.cfg.product.encode();
                self.send_from(now, own, 6, pgn, BROADCAST, &p);
            }
            mgmt::PGN_CONFIG_INFO => {
                let c = l.cfg.config.encode();
                self.send_from(now, own, 6, pgn, BROADCAST, &c);
            }
            mgmt::PGN_PGN_LIST => {
                let mut transmit = LOCAL_TRANSMIT.to_vec();
                transmit.extend(&l.cfg.transmit_pgns);
                let t = mgmt::pgn_list(0, &transmit);
                let r = mgmt::pgn_list(1, LOCAL_RECEIVE);
                self.send_from(now, own, 6, pgn, BROADCAST, &t);
                self.send_from(now, own, 6, pgn, BROADCAST, &r);
            }
            mgmt::PGN_HEARTBEAT => {
                let h = mgmt::heartbeat(l.cfg.heartbeat_interval_ms, 0xFF);
                self.send_from(now, own, 7, pgn, BROADCAST, &h);
            }
            _ if l.cfg.transmit_pgns.contains(&pgn) => {
                self.event(Event::LocalCommand {
                    id,
                    command: LocalCommand::Requested { pgn },
                });
            }
            _ if addressed && source < NULL_ADDRESS => {
                self.send_from(now, own, 6, mgmt::PGN_ISO_ACK, source, &mgmt::nak(pgn));
            }
            _ => {}
        }
    }

    /// A 126208 group function addressed to local node `i` by `source`.
    pub(super) fn local_group_function(&mut self, now: Micros, i: usize, source: u8, data: &[u8]) {
        let Some(gf) = mgmt::parse_group_function(data) else {
            return;
        };
        let Some(own) = self.locals[i].address() else {
            return;
        };
        let id = self.locals[i].id;
        let ack = |pgn, e, t, params: &[u8]| mgmt::group_ack(pgn, e, t, params);
        match gf {
            GroupFunction::Command { pgn, count, pairs } => {
                let (reply, renamed, commands) = self.locals[i].command(pgn, count, pairs);
                self.send_from(now, own, 3, mgmt::PGN_GROUP_FUNCTION, source, &reply);
                if let Some(name) = renamed {
                    let mut actions = std::mem::take(&mut self.actions);
                    self.locals[i].cfg.name = name;
                    self.locals[i].claimer.rename(now, name, &mut actions);
                    self.run_local_actions(now, i, &mut actions);
                    self.actions = actions;
                    self.event(Event::LocalRenamed { id, name });
                }
                for command in commands {
                    self.event(Event::LocalCommand { id, command });
                }
            }
            GroupFunction::Request {
                pgn,
                interval_ms,
                pairs,
            } => {
                let sends = self.locals[i].cfg.transmit_pgns.contains(&pgn);
                if pairs > 0 {
                    let params = vec![PARAM_NOT_SUPPORTED; usize::from(pairs)];
                    let reply = ack(pgn, ACK_OK, 0, &params);
                    self.send_from(now, own, 3, mgmt::PGN_GROUP_FUNCTION, source, &reply);
                } else if let Some(ms) = interval_ms {
                    let code = if sends { ACK_OK } else { PGN_NOT_SUPPORTED };
                    self.send_from(
                        now,
                        own,
                        3,
                        mgmt::PGN_GROUP_FUNCTION,
                        source,
                        &ack(pgn, code, 0, &[]),
                    );
                    if sends {
                        let command = LocalCommand::Interval { pgn, ms };
                        self.event(Event::LocalCommand { id, command });
                    }
                } else {
                    // No interval, no filter: a plain request for the PGN.
                    self.local_request(now, i, source, true, pgn);
                }
            }
            GroupFunction::Other { function, pgn } => {
                if matches!(function, 3 | 5) {
                    let reply = ack(pgn, READ_WRITE_NOT_SUPPORTED, 0, &[]);
                    self.send_from(now, own, 3, mgmt::PGN_GROUP_FUNCTION, source, &reply);
                }
            }
        }
    }
}

impl Local {
    /// A 126208 Command on `pgn`: the Acknowledge to send, the new NAME when its
    /// instance fields changed, and the data instance changes for the owner.
    fn command(
        &self,
        pgn: u32,
        count: u8,
        pairs: &[u8],
    ) -> (Vec<u8>, Option<Name>, Vec<LocalCommand>) {
        let mut errors = Vec::with_capacity(usize::from(count));
        let mut commands = Vec::new();
        let mut name = self.cfg.name;
        let known = pgn == mgmt::PGN_ADDRESS_CLAIM || self.cfg.transmit_pgns.contains(&pgn);
        if !known {
            let params = vec![PARAM_NOT_SUPPORTED; usize::from(count)];
            return (
                mgmt::group_ack(pgn, PGN_NOT_SUPPORTED, 0, &params),
                None,
                commands,
            );
        }
        let mut rest = pairs;
        // Every field we accept is at most 8 bits wide: one byte of value. After a
        // field we refuse, the width of what follows is unknown: the rest is refused.
        let mut refused = false;
        for _ in 0..count {
            let (field, value) = match rest {
                [f, v, tail @ ..] if !refused => {
                    rest = tail;
                    (*f, *v)
                }
                _ => {
                    errors.push(PARAM_INVALID);
                    continue;
                }
            };
            let code = if pgn == mgmt::PGN_ADDRESS_CLAIM {
                let i = name.device_instance();
                match field {
                    3 => {
                        name = name.with_device_instance(i & !7 | value & 7);
                        ACK_OK
                    }
                    4 => {
                        name = name.with_device_instance(i & 7 | ((value & 0x1F) << 3));
                        ACK_OK
                    }
                    8 => {
                        name = Name(name.0 & !(0x0F << 56) | (u64::from(value & 0x0F) << 56));
                        ACK_OK
                    }
                    1..=10 => ACCESS_DENIED,
                    _ => PARAM_INVALID,
                }
            } else if self.cfg.instance_fields.contains(&(pgn, field)) {
                commands.push(LocalCommand::DataInstance { pgn, field, value });
                ACK_OK
            } else {
                PARAM_INVALID
            };
            refused |= code != ACK_OK;
            errors.push(code);
        }
        let renamed = (name != self.cfg.name).then_some(name);
        (mgmt::group_ack(pgn, ACK_OK, 0, &errors), renamed, commands)
    }
}
