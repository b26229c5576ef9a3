//! NMEA 2000 alerts as Venus notifications (docs/switching-alerts.md#mapping-alerts; README
//! "Alerts"). Sans-I/O: notifications to inject and 126984 frames to send wait in
//! queues the gateway drains; acknowledgements come back from Venus as calls.
//!
//! - an alert that becomes active (126983 state active, silenced, acknowledged or
//!   awaiting acknowledgement, after normal, disabled or nothing) is one
//!   notification, once its 126985 text is known or [`TEXT_WAIT`] after it became
//!   active (then with `alert <system>/<sub-system>/<id>`); its repeats while it
//!   stays active are not;
//! - type: emergency alarm and alarm → Venus alarm, warning → warning, caution →
//!   information; device name: the model (126996) of the node the alert is about,
//!   else of its sender;
//! - a user acknowledging that notification on Venus broadcasts 126984 Acknowledge
//!   (a PDU2 PGN: the alert's header names the alert), once per activation, when
//!   the alert takes acknowledgements and is not acknowledged;
//! - an alert about a generator the gateway publishes (its data-source NAME is a
//!   genset's, [`Homes`]) is that genset's `/Error/0/Id` instead, from the moment
//!   it is active until it clears: `n2k:<e|w|i>-<system>.<sub-system>.<id>` (alarm,
//!   warning, caution), which Venus raises and clears itself; Venus watches no
//!   `/Alarms/*` of a genset, and an NMEA 2000 alert id names no quantity, so no
//!   other service's alarm path is claimed to match;
//! - nothing is raised while Venus's `AlertsInEnable` is off; alerts not heard for
//!   [`FORGET_AFTER`] are forgotten.

pub mod codec;
pub mod own;

use std::collections::{BTreeMap, VecDeque};

use crate::can::Micros;
use crate::core::Event;
use crate::devices::Device;
use crate::network::Name;
use crate::venus::stage::{Context, Incoming};
use crate::venus::Stage;

use codec::AlertId;

const SECOND: Micros = 1_000_000;
/// How long an active alert waits for its text: senders repeat the text about
/// every 10 s (docs/switching-alerts.md#alert-flows, SignalK/n2k-signalk#173).
pub const TEXT_WAIT: Micros = 10 * SECOND;
/// Alerts not heard for this long are forgotten (a sender repeats an active alert
/// about every second).
pub const FORGET_AFTER: Micros = 60 * SECOND;
/// Alerts followed at most.
pub const MAX_ALERTS: usize = 256;

pub use super::stage::Homes;

/// A Venus notification to inject (`com.victronenergy.platform
/// /Notifications/Inject`, `docs/architecture.md#the-d-bus-side`; docs/switching-alerts.md#notificationsinject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// 0 warning, 1 alarm, 2 information.
    pub kind: u8,
    pub device: String,
    pub description: String,
}

impl Notification {
    /// The value written to `/Notifications/Inject`: type, device and description
    /// separated by a TAB (tabs and line breaks inside become spaces).
    pub fn inject_text(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        format!(
            "{}\t{}\t{}",
            self.kind,
            clean(&self.device),
            clean(&self.description)
        )
    }
}

/// A 126984 to broadcast from the gateway's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub payload: Vec<u8>,
}

/// Counters for the log and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AlertStats {
    pub alerts: u64,
    pub raised: u64,
    pub acknowledged: u64,
    pub dropped: u64,
}

#[derive(Debug)]
struct Entry {
    sender_name: Option<Name>,
    active_since: Option<Micros>,
    raised: Option<Notification>,
    /// We acknowledged this activation already.
    answered: bool,
    /// This activation is its device's genset `/Error/0/Id`, not a notification.
    on_genset: bool,
    ack_supported: bool,
    state: u8,
    last_heard: Micros,
}

/// The alerts of one interface.
pub struct Alerts {
    enabled: bool,
    alerts: BTreeMap<AlertId, Entry>,
    texts: BTreeMap<AlertId, (String, String)>,
    models: BTreeMap<Name, String>,
    raise: VecDeque<Notification>,
    responses: VecDeque<Response>,
    /// Gensets whose alert error changed, to hand to the mapper.
    errors: VecDeque<Name>,
    stats: AlertStats,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts::new()
    }
}

impl Alerts {
    /// Enabled, no alert yet.
    pub fn new() -> Alerts {
        Alerts {
            enabled: true,
            alerts: BTreeMap::new(),
            texts: BTreeMap::new(),
            models: BTreeMap::new(),
            raise: VecDeque::new(),
            responses: VecDeque::new(),
            errors: VecDeque::new(),
            stats: AlertStats::default(),
        }
    }

    /// Follows Venus's `/Settings/Vecan/<if>/AlertsInEnable`: off, nothing is
    /// raised (alerts are still followed, so none is raised late when it turns on).
    pub fn set_enabled(&mut self, on: bool) {
        if self.enabled != on {
            let gensets = self.alerts.iter().filter(|(_, e)| e.on_genset);
            let names: Vec<Name> = gensets.map(|(id, _)| Name(id.source_name)).collect();
            for n in names {
                self.error_changed(n);
            }
        }
        self.enabled = on;
    }

    /// The next genset whose alert error changed, with the error it shows now
    /// (`None`: no alert of its is active).
    pub fn poll_error(&mut self) -> Option<(Name, Option<String>)> {
        let n = self.errors.pop_front()?;
        Some((n, self.error_of(n)))
    }

    fn error_changed(&mut self, about: Name) {
        if !self.errors.contains(&about) {
            self.errors.push_back(about);
        }
    }

    /// The most severe active alert about genset `about`, as Venus's string error
    /// id (docs/switching-alerts.md#venus-alarm-paths, docs/switching-alerts.md#mapping-alerts).
    fn error_of(&self, about: Name) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let (id, _) = self
            .alerts
            .iter()
            .filter(|(id, e)| id.source_name == about.0 && e.on_genset && e.active_since.is_some())
            .min_by_key(|(id, _)| id.kind)?;
        let class = match id.kind {
            1 | 2 => 'e',
            5 => 'w',
            _ => 'i',
        };
        Some(format!(
            "n2k:{class}-{}.{}.{}",
            id.system, id.subsystem, id.id
        ))
    }

    /// Counters so far.
    pub fn stats(&self) -> AlertStats {
        self.stats
    }

    /// The next notification to inject.
    pub fn poll_notification(&mut self) -> Option<Notification> {
        self.raise.pop_front()
    }

    /// The next 126984 to send.
    pub fn poll_response(&mut self) -> Option<Response> {
        self.responses.pop_front()
    }

    /// Devices' models, for the notifications' device names.
    pub fn on_event(&mut self, event: &Event, device: Option<&Device>) {
        match *event {
            Event::Identified { name } | Event::IdentityUpdated { name } => {
                if let Some(model) = device
                    .and_then(|d| d.product.as_ref())
                    .map(|p| p.model_id.trim().to_owned())
                    .filter(|m| !m.is_empty())
                {
                    if self.models.len() < 1024 || self.models.contains_key(&name) {
                        self.models.insert(name, model);
                    }
                }
            }
            Event::Gone { name } => {
                self.models.remove(&name);
            }
            _ => {}
        }
    }

    fn on_alert(&mut self, now: Micros, name: Option<Name>, a: codec::Alert, homes: &dyn Homes) {
        if !self.alerts.contains_key(&a.id) {
            if self.alerts.len() >= MAX_ALERTS {
                self.stats.dropped += 1;
                return;
            }
            self.stats.alerts += 1;
        }
        let e = self.alerts.entry(a.id).or_insert(Entry {
            sender_name: name,
            active_since: None,
            raised: None,
            answered: false,
            on_genset: false,
            ack_supported: false,
            state: codec::state::NORMAL,
            last_heard: now,
        });
        e.sender_name = name.or(e.sender_name);
        e.ack_supported = a.ack_supported;
        e.state = a.state;
        e.last_heard = now;
        let about = Name(a.id.source_name);
        if a.active() {
            if e.active_since.is_none() {
                e.active_since = Some(now);
                e.on_genset = homes.genset(about);
                if e.on_genset {
                    self.error_changed(about);
                    return;
                }
            }
        } else {
            // Cleared: a new activation is a new notification.
            e.active_since = None;
            e.raised = None;
            e.answered = false;
            if std::mem::take(&mut e.on_genset) {
                self.error_changed(about);
            }
        }
        self.try_raise(now, a.id);
    }

    fn on_text(&mut self, now: Micros, t: codec::Text) {
        if !self.texts.contains_key(&t.id) && self.texts.len() >= MAX_ALERTS {
            self.stats.dropped += 1;
            return;
        }
        self.texts.insert(t.id, (t.description, t.location));
        self.try_raise(now, t.id);
    }

    /// Raises alert `id` when it is active, not raised yet, and its text is known
    /// or waited for long enough.
    fn try_raise(&mut self, now: Micros, id: AlertId) {
        let Some(e) = self.alerts.get_mut(&id) else {
            return;
        };
        let Some(since) = e.active_since else { return };
        if e.raised.is_some() || e.on_genset {
            return;
        }
        let text = self.texts.get(&id);
        if text.is_none() && now < since + TEXT_WAIT {
            return;
        }
        let description = match text {
            Some((d, l)) if !d.is_empty() && !l.is_empty() => format!("{d} ({l})"),
            Some((d, _)) if !d.is_empty() => d.clone(),
            _ => format!("alert {}/{}/{}", id.system, id.subsystem, id.id),
        };
        let about = Name(id.source_name);
        let device = self
            .models
            .get(&about)
            .or_else(|| e.sender_name.and_then(|n| self.models.get(&n)))
            .cloned()
            .unwrap_or_else(|| format!("NMEA 2000 device {}", about.unique_number()));
        let kind = match id.kind {
            1 | 2 => 1,
            5 => 0,
            _ => 2,
        };
        let n = Notification {
            kind,
            device,
            description,
        };
        e.raised = Some(n.clone());
        if self.enabled {
            self.stats.raised += 1;
            tracing::info!(
                device = %n.device,
                alert = %n.description,
                "NMEA 2000 alert: a Venus notification"
            );
            self.raise.push_back(n);
        }
    }

    /// Text waits that ran out, forgotten alerts, at `now`.
    pub fn on_tick(&mut self, now: Micros) {
        let due: Vec<AlertId> = self
            .alerts
            .iter()
            .filter(|(_, e)| {
                e.raised.is_none()
                    && !e.on_genset
                    && e.active_since.is_some_and(|t| t + TEXT_WAIT <= now)
            })
            .map(|(k, _)| *k)
            .collect();
        for id in due {
            self.try_raise(now, id);
        }
        let mut gone = Vec::new();
        self.alerts.retain(|id, e| {
            let keep = now.saturating_sub(e.last_heard) < FORGET_AFTER;
            if !keep && e.on_genset {
                gone.push(Name(id.source_name));
            }
            keep
        });
        for n in gone {
            self.error_changed(n);
        }
        let alerts = &self.alerts;
        self.texts.retain(|k, _| alerts.contains_key(k));
    }

    /// A user acknowledged the Venus notification of `device` and `description`:
    /// each active alert raised as it that takes acknowledgements and is not
    /// acknowledged yet gets a 126984 Acknowledge from `ours` (our NAME). How many.
    pub fn acknowledge(&mut self, device: &str, description: &str, ours: Name) -> usize {
        let mut sent = 0;
        for (id, e) in &mut self.alerts {
            let matches = e
                .raised
                .as_ref()
                .is_some_and(|n| n.device == device && n.description == description);
            let open = e.active_since.is_some()
                && e.ack_supported
                && !e.answered
                && e.state != codec::state::ACKNOWLEDGED;
            if matches && open {
                e.answered = true;
                self.responses.push_back(Response {
                    payload: codec::response(id, ours.0, codec::ACKNOWLEDGE),
                });
                self.stats.acknowledged += 1;
                sent += 1;
            }
        }
        sent
    }
}

impl Stage for Alerts {
    /// 126983, 126984 and 126985.
    fn on_message(&mut self, m: &Incoming<'_>, cx: Context<'_>) -> bool {
        let Incoming {
            now,
            device: name,
            pgn,
            data,
            ..
        } = *m;
        let homes = cx.homes;
        match pgn {
            codec::PGN_ALERT => {
                if let Some(a) = codec::parse_alert(data) {
                    self.on_alert(now, name, a, homes);
                }
            }
            codec::PGN_TEXT => {
                if let Some(t) = codec::parse_text(data) {
                    self.on_text(now, t);
                }
            }
            codec::PGN_RESPONSE => {}
            _ => return false,
        }
        true
    }

    fn on_event(
        &mut self,
        _now: Micros,
        event: &Event,
        device: Option<&Device>,
        _sink: &dyn crate::model::ServiceSink,
    ) {
        Alerts::on_event(self, event, device);
    }

    /// When [`Alerts::on_tick`] has work next: an active alert's wait for its text.
    fn next_wake(&self) -> Option<Micros> {
        self.alerts
            .values()
            .filter(|e| e.raised.is_none() && !e.on_genset)
            .filter_map(|e| e.active_since)
            .map(|t| t + TEXT_WAIT)
            .min()
    }

    fn on_wake(&mut self, now: Micros, _sink: &dyn crate::model::ServiceSink) {
        self.on_tick(now);
    }

    fn on_sweep(&mut self, now: Micros, _sink: &dyn crate::model::ServiceSink) {
        self.on_tick(now);
    }
}

#[cfg(test)]
mod tests;
