//! The device lifecycle as a state machine (docs/architecture.md#device-lifecycle): heard → named →
//! identified → gone, with discovery and liveness paced on the bus. Time and the
//! device records in, requests and lifecycle events out, in the manner of
//! [`crate::network::claim`]; the core sends the requests and reports the events.
//!
//! Requests are paced so the gateway never floods the bus (docs/nmea2000.md#discovery): at most
//! one request for product or configuration information per second (each answer is
//! a 20-frame fast packet), at most one request for a NAME or liveness probe per
//! 100 ms (each answer is one frame). Liveness (docs/architecture.md#device-lifecycle): a device silent for
//! [`PROBE_AFTER`] is asked for its claim, twice, [`PROBE_WAIT`] apart; no answer
//! means gone — at most 12 s after its last frame, whatever it usually sends. In
//! listen-only mode (or without an address of our own) a device is gone after two of
//! the heartbeat intervals it announced, 60 s when it announced none.

use crate::can::Micros;
use crate::network::mgmt;
use crate::network::{AddressTable, Name};

use super::{Device, Heard, Lifecycle, Registry};

pub use crate::network::claim::SCAN_TIME;

const SECOND: Micros = 1_000_000;
/// Between two requests for product or configuration information on the bus.
pub const INFO_SPACING: Micros = SECOND;
/// Between two requests for a claim (NAME requests and probes) on the bus.
pub const NAME_SPACING: Micros = 100_000;
/// Between two tries of one request to one device.
pub const RETRY: Micros = SECOND;
/// Tries of a product or configuration information request.
pub const INFO_TRIES: u8 = 4;
/// Quick tries of a NAME request, then one a minute while the source is heard.
pub const NAME_TRIES: u8 = 3;
pub const NAME_RETRY_SLOW: Micros = 60 * SECOND;
/// Silence after which a device is probed.
pub const PROBE_AFTER: Micros = 8 * SECOND;
/// Probes before a device is gone, and the wait after each.
pub const PROBES: u8 = 2;
pub const PROBE_WAIT: Micros = 2 * SECOND;
/// Without an address it cannot be probed: gone after this silence.
pub const GONE_UNADDRESSED: Micros = 12 * SECOND;
/// Listen-only: when nothing else identifies a device, it is identified this long
/// after its NAME became known.
pub const PASSIVE_IDENTIFY: Micros = 5 * SECOND;
/// The heartbeat interval assumed when a device announced none.
pub const DEFAULT_HEARTBEAT: Micros = 60 * SECOND;
/// An unnamed source is forgotten after this silence.
pub const HEARD_FORGET: Micros = 120 * SECOND;

/// When a device in listen-only mode counts as gone.
fn passive_limit(d: &Device) -> Micros {
    d.heartbeat_interval
        .map_or(DEFAULT_HEARTBEAT, |ms| Micros::from(ms) * 1000)
        * 2
}

/// When the next product or configuration request to `d` may go out, if one is due.
fn info_due(d: &Device) -> Option<(Micros, u32)> {
    if !d.online() || d.address.is_none() {
        return None;
    }
    if (d.product.is_none() || d.reask_product) && d.product_tries.count < INFO_TRIES {
        let t = d.product_tries.last.map_or(d.named_at, |l| l + RETRY);
        return Some((t, mgmt::PGN_PRODUCT_INFO));
    }
    if (d.config.is_none() || d.reask_config) && d.config_tries.count < INFO_TRIES {
        let after_product = d.product_tries.last.map_or(d.named_at, |l| {
            if d.product.is_some() {
                l
            } else {
                l + RETRY
            }
        });
        let t = d.config_tries.last.map_or(after_product, |l| l + RETRY);
        return Some((t, mgmt::PGN_CONFIG_INFO));
    }
    None
}

/// When the next probe to `d` is due (active mode).
fn probe_due(d: &Device) -> Option<Micros> {
    if !d.online() || d.address.is_none() || d.probes.count >= PROBES {
        return None;
    }
    let t = d.last_heard + PROBE_AFTER;
    Some(d.probes.last.map_or(t, |l| t.max(l + PROBE_WAIT)))
}

/// When `d` turns gone if nothing more is heard from it.
fn gone_at(d: &Device, active: bool) -> Option<Micros> {
    if !d.online() {
        None
    } else if !active {
        Some(d.last_heard + passive_limit(d))
    } else if d.address.is_none() {
        Some(d.last_heard + GONE_UNADDRESSED)
    } else if d.probes.count >= PROBES {
        // Probes are reset by any frame from the device: these went unanswered.
        Some(d.probes.last.map_or(d.last_heard, |l| l + PROBE_WAIT))
    } else {
        None
    }
}

/// When `d` is identified without product information, if it is waiting for that.
fn identify_at(d: &Device, active: bool) -> Option<Micros> {
    match d.lifecycle {
        Lifecycle::Named if !active => Some(d.named_at + PASSIVE_IDENTIFY),
        Lifecycle::Named if d.product_tries.count >= INFO_TRIES => {
            Some(d.product_tries.last.map_or(d.named_at, |l| l + RETRY))
        }
        _ => None,
    }
}

/// What the lifecycle asks of the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleAction {
    /// Ask `address` for `pgn`: its NAME (60928, also a liveness probe), product or
    /// configuration information.
    Request { address: u8, pgn: u32 },
    /// The device is identified (product information arrived or did not in time).
    Identified(Name),
    /// The device left the bus; it is marked gone and its address released.
    Gone(Name),
}

/// The records the lifecycle works on, and whether requests may go out (we
/// transmit and own an address).
pub struct Bus<'a> {
    pub registry: &'a mut Registry,
    pub table: &'a mut AddressTable,
    pub active: bool,
}

/// Pacing state of discovery: when requests went out last.
#[derive(Debug, Default, Clone)]
pub struct DeviceLifecycle {
    /// Until then the answers to our request for every claim are still coming.
    scan_end: Micros,
    last_info_request: Option<Micros>,
    last_name_request: Option<Micros>,
}

impl DeviceLifecycle {
    /// Joins the bus at `now`: discovery waits for the answers to the request for
    /// every claim.
    pub fn start(&mut self, now: Micros) {
        self.scan_end = now + SCAN_TIME;
    }

    /// Everything due at `now`: devices gone, identified without product
    /// information, forgotten sources; then (active) at most one NAME request or
    /// probe and one information request.
    pub fn on_tick(&mut self, now: Micros, bus: Bus<'_>, out: &mut Vec<LifecycleAction>) {
        let Bus {
            registry,
            table,
            active,
        } = bus;
        liveness(now, registry, table, active, out);
        if active && now >= self.scan_end {
            self.discovery(now, registry, table, out);
        }
    }

    /// At most one NAME request or probe and one information request, the most
    /// overdue first (ties: the lower address).
    fn discovery(
        &mut self,
        now: Micros,
        registry: &mut Registry,
        table: &AddressTable,
        out: &mut Vec<LifecycleAction>,
    ) {
        if self
            .last_name_request
            .is_none_or(|t| now >= t + NAME_SPACING)
        {
            if let Some((_, address, probe)) = next_name_request(registry, table, now) {
                if probe {
                    if let Some(d) = table.name_at(address).and_then(|n| registry.get_mut(n)) {
                        d.probes.count += 1;
                        d.probes.last = Some(now);
                    }
                } else if let Some(h) = registry.heard_mut(address) {
                    h.name_tries.count = h.name_tries.count.saturating_add(1);
                    h.name_tries.last = Some(now);
                }
                self.last_name_request = Some(now);
                out.push(LifecycleAction::Request {
                    address,
                    pgn: mgmt::PGN_ADDRESS_CLAIM,
                });
            }
        }
        if self
            .last_info_request
            .is_none_or(|t| now >= t + INFO_SPACING)
        {
            if let Some((_, address, pgn)) = next_info_request(registry, table, now) {
                if let Some(d) = table.name_at(address).and_then(|n| registry.get_mut(n)) {
                    let tries = if pgn == mgmt::PGN_PRODUCT_INFO {
                        &mut d.product_tries
                    } else {
                        &mut d.config_tries
                    };
                    tries.count += 1;
                    tries.last = Some(now);
                }
                self.last_info_request = Some(now);
                out.push(LifecycleAction::Request { address, pgn });
            }
        }
    }

    /// When [`DeviceLifecycle::on_tick`] has work next (`Micros::MAX`: none).
    pub fn next_wake(&self, registry: &Registry, table: &AddressTable, active: bool) -> Micros {
        let mut wake = Micros::MAX;
        for d in registry.iter().filter(|d| d.online()) {
            for t in [gone_at(d, active), identify_at(d, active)]
                .into_iter()
                .flatten()
            {
                wake = wake.min(t);
            }
        }
        for (_, h) in registry.heard_iter() {
            wake = wake.min(h.last_heard + HEARD_FORGET + 1);
        }
        if active {
            let start = self.scan_end;
            let mut name = Micros::MAX;
            let mut info = Micros::MAX;
            for (_, h) in registry.heard_iter() {
                if let Some(t) = name_due(h) {
                    name = name.min(t);
                }
            }
            for (a, n) in table.iter() {
                let Some(d) = device_at(registry, a, n) else {
                    continue;
                };
                if let Some(t) = probe_due(d) {
                    name = name.min(t);
                }
                if let Some((t, _)) = info_due(d) {
                    info = info.min(t);
                }
            }
            if name < Micros::MAX {
                let spaced = self
                    .last_name_request
                    .map_or(name, |l| name.max(l + NAME_SPACING));
                wake = wake.min(spaced.max(start));
            }
            if info < Micros::MAX {
                let spaced = self
                    .last_info_request
                    .map_or(info, |l| info.max(l + INFO_SPACING));
                wake = wake.min(spaced.max(start));
            }
        }
        wake
    }
}

/// Gone devices, identification without product information, forgotten sources.
fn liveness(
    now: Micros,
    registry: &mut Registry,
    table: &mut AddressTable,
    active: bool,
    out: &mut Vec<LifecycleAction>,
) {
    let mut gone = Vec::new();
    let mut identified = Vec::new();
    for d in registry.iter_mut() {
        if !d.online() {
            continue;
        }
        if gone_at(d, active).is_some_and(|t| now >= t) {
            gone.push(d.name);
            continue;
        }
        if identify_at(d, active).is_some_and(|t| now >= t) {
            d.lifecycle = Lifecycle::Identified;
            identified.push(d.name);
        }
    }
    gone.sort();
    identified.sort();
    out.extend(identified.into_iter().map(LifecycleAction::Identified));
    for name in gone {
        registry.set_gone(name);
        table.release_name(name);
        out.push(LifecycleAction::Gone(name));
    }
    let stale: Vec<u8> = registry
        .heard_iter()
        .filter(|(_, h)| now - h.last_heard > HEARD_FORGET)
        .map(|(a, _)| a)
        .collect();
    for a in stale {
        registry.forget_heard(a);
    }
}

/// (due, address, is a probe) of the most overdue NAME request or probe.
fn next_name_request(
    registry: &Registry,
    table: &AddressTable,
    now: Micros,
) -> Option<(Micros, u8, bool)> {
    let heard = registry
        .heard_iter()
        .filter_map(|(a, h)| Some((name_due(h)?, a, false)));
    let probes = table
        .iter()
        .filter_map(|(a, n)| Some((probe_due(device_at(registry, a, n)?)?, a, true)));
    heard.chain(probes).filter(|(t, _, _)| *t <= now).min()
}

/// (due, address, PGN) of the most overdue information request.
fn next_info_request(
    registry: &Registry,
    table: &AddressTable,
    now: Micros,
) -> Option<(Micros, u8, u32)> {
    table
        .iter()
        .filter_map(|(a, n)| {
            let (t, pgn) = info_due(device_at(registry, a, n)?)?;
            Some((t, a, pgn))
        })
        .filter(|(t, _, _)| *t <= now)
        .min()
}

/// The device `name` when `address` is its own (not a duplicate's).
fn device_at(registry: &Registry, address: u8, name: Name) -> Option<&Device> {
    registry.get(name).filter(|d| d.address == Some(address))
}

/// When the next request for an unnamed source's NAME is due.
fn name_due(h: &Heard) -> Option<Micros> {
    let t = &h.name_tries;
    Some(match t.last {
        None => h.first_heard,
        Some(l) if t.count < NAME_TRIES => l + RETRY,
        Some(l) => l + NAME_RETRY_SLOW,
    })
}
