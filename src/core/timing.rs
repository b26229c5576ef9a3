//! The timing rules of discovery and liveness, and the core's timers.
//!
//! Requests are paced so the gateway never floods the bus (nmea2000.md §9): at most
//! one request for product or configuration information per second (each answer is
//! a 20-frame fast packet), at most one request for a NAME or liveness probe per
//! 100 ms (each answer is one frame). Liveness (design.md §4): a device silent for
//! [`PROBE_AFTER`] is asked for its claim, twice, [`PROBE_WAIT`] apart; no answer
//! means gone — at most 12 s after its last frame, whatever it usually sends. In
//! listen-only mode (or without an address of our own) a device is gone after two of
//! the heartbeat intervals it announced, 60 s when it announced none.

use crate::can::Micros;
use crate::devices::{Device, Lifecycle};
use crate::network::mgmt;

use super::{Event, Node};

pub use crate::network::claim::{CLAIM_TIME, SCAN_TIME};

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
/// The same duplicate or contention is reported again after this long at most.
pub const DUPLICATE_REPORT_INTERVAL: Micros = 10 * SECOND;
pub const CONTENTION_REPORT_INTERVAL: Micros = 2 * SECOND;

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

impl Node {
    /// Gone devices, identification without product information, forgotten sources.
    pub(super) fn liveness(&mut self, now: Micros) {
        let active = self.active();
        let mut gone = Vec::new();
        let mut identified = Vec::new();
        for d in self.registry.iter_mut() {
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
        for name in identified {
            self.event(Event::Identified { name });
        }
        for name in gone {
            self.registry.set_gone(name);
            self.table.release_name(name);
            self.event(Event::Gone { name });
        }
        let stale: Vec<u8> = self
            .registry
            .heard_iter()
            .filter(|(_, h)| now - h.last_heard > HEARD_FORGET)
            .map(|(a, _)| a)
            .collect();
        for a in stale {
            self.registry.forget_heard(a);
        }
    }

    /// At most one NAME request or probe and one information request, the most
    /// overdue first (ties: the lower address).
    pub(super) fn discovery(&mut self, now: Micros) {
        if self
            .last_name_request
            .is_none_or(|t| now >= t + NAME_SPACING)
        {
            if let Some((_, address, probe)) = self.next_name_request(now) {
                if probe {
                    if let Some(d) = self
                        .table
                        .name_at(address)
                        .and_then(|n| self.registry.get_mut(n))
                    {
                        d.probes.count += 1;
                        d.probes.last = Some(now);
                    }
                } else if let Some(h) = self.registry.heard_mut(address) {
                    h.name_tries.count = h.name_tries.count.saturating_add(1);
                    h.name_tries.last = Some(now);
                }
                self.last_name_request = Some(now);
                self.request(now, address, mgmt::PGN_ADDRESS_CLAIM);
            }
        }
        if self
            .last_info_request
            .is_none_or(|t| now >= t + INFO_SPACING)
        {
            if let Some((_, address, pgn)) = self.next_info_request(now) {
                if let Some(d) = self
                    .table
                    .name_at(address)
                    .and_then(|n| self.registry.get_mut(n))
                {
                    let tries = if pgn == mgmt::PGN_PRODUCT_INFO {
                        &mut d.product_tries
                    } else {
                        &mut d.config_tries
                    };
                    tries.count += 1;
                    tries.last = Some(now);
                }
                self.last_info_request = Some(now);
                self.request(now, address, pgn);
            }
        }
    }

    /// (due, address, is a probe) of the most overdue NAME request or probe.
    fn next_name_request(&self, now: Micros) -> Option<(Micros, u8, bool)> {
        let heard = self
            .registry
            .heard_iter()
            .filter_map(|(a, h)| Some((name_due(h)?, a, false)));
        let probes = self
            .table
            .iter()
            .filter_map(|(a, n)| Some((probe_due(self.device_at(a, n)?)?, a, true)));
        heard.chain(probes).filter(|(t, _, _)| *t <= now).min()
    }

    /// (due, address, PGN) of the most overdue information request.
    fn next_info_request(&self, now: Micros) -> Option<(Micros, u8, u32)> {
        self.table
            .iter()
            .filter_map(|(a, n)| {
                let (t, pgn) = info_due(self.device_at(a, n)?)?;
                Some((t, a, pgn))
            })
            .filter(|(t, _, _)| *t <= now)
            .min()
    }

    /// The device `name` when `address` is its own (not a duplicate's).
    fn device_at(&self, address: u8, name: crate::network::Name) -> Option<&Device> {
        self.registry
            .get(name)
            .filter(|d| d.address == Some(address))
    }

    /// When the next tick is needed.
    pub(super) fn compute_wake(&self) -> Micros {
        let mut wake = Micros::MAX;
        if let Some(t) = self.claimer.deadline() {
            wake = wake.min(t);
        }
        if let Some(t) = self.heartbeat_due {
            wake = wake.min(t);
        }
        let active = self.active();
        for d in self.registry.iter().filter(|d| d.online()) {
            for t in [gone_at(d, active), identify_at(d, active)]
                .into_iter()
                .flatten()
            {
                wake = wake.min(t);
            }
        }
        for (_, h) in self.registry.heard_iter() {
            wake = wake.min(h.last_heard + HEARD_FORGET + 1);
        }
        if active {
            let start = self.scan_end;
            let mut name = Micros::MAX;
            let mut info = Micros::MAX;
            for (_, h) in self.registry.heard_iter() {
                if let Some(t) = name_due(h) {
                    name = name.min(t);
                }
            }
            for (a, n) in self.table.iter() {
                let Some(d) = self.device_at(a, n) else {
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

/// When the next request for an unnamed source's NAME is due.
fn name_due(h: &crate::devices::Heard) -> Option<Micros> {
    let t = &h.name_tries;
    Some(match t.last {
        None => h.first_heard,
        Some(l) if t.count < NAME_TRIES => l + RETRY,
        Some(l) => l + NAME_RETRY_SLOW,
    })
}
