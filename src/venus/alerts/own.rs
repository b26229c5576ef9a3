//! The gateway's own alarms as NMEA 2000 alerts of its node (docs/switching-alerts.md#alerts), for
//! the displays and alarm panels on the bus: off unless the user asks
//! (`--alerts-out`). Sans-I/O: the gateway says what holds, and sends the frames
//! this queues from its own address.
//!
//! Each condition is one alert of the gateway's NAME (system [`SYSTEM`], its own
//! id, occurrence counted per activation), the NMEA 2000 "Basic System" as Victron
//! plans it (docs/switching-alerts.md#alert-flows): 126983 every [`REPEAT`] while active with
//! its 126985 text at once and every [`TEXT_REPEAT`]; no acknowledgement, silence
//! or escalation; once it ends, [`NORMALS`] 126983 in state normal, then silence.

use std::collections::VecDeque;

use crate::can::Micros;
use crate::network::Name;

use super::codec::{self, state, AlertId};

const SECOND: Micros = 1_000_000;
/// An active alert is repeated this often (senders repeat about every second:
/// docs/switching-alerts.md#alert-flows).
pub const REPEAT: Micros = SECOND;
/// Its text this often.
pub const TEXT_REPEAT: Micros = 10 * SECOND;
/// How long a condition that is an event (an address fight, a refused value) stays
/// active after its last occurrence.
pub const HOLD: Micros = 60 * SECOND;
/// How many 126983 in state normal announce the end of an alert.
pub const NORMALS: u8 = 3;
/// The alert system number of the gateway's alerts: the sender's own numbering.
pub const SYSTEM: u8 = 1;

/// A condition the gateway reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Own {
    /// Another device uses our manufacturer and unique number (the bus service's
    /// `/Alarms/SameUniqueNameUsed`).
    SameUniqueNumber,
    /// Two nodes claimed one address, or one NAME is at two addresses.
    AddressConflict,
    /// Values no working sensor reports were refused (docs/venus-services.md#plausibility).
    Implausible,
}

/// Per condition: alert id, NMEA 2000 alert type (2 alarm, 5 warning, 8 caution)
/// and priority.
const TABLE: [(Own, u16, u8, u8); 3] = [
    (Own::SameUniqueNumber, 1, 5, 2),
    (Own::AddressConflict, 2, 5, 2),
    (Own::Implausible, 3, 8, 5),
];

#[derive(Debug, Default)]
struct Cond {
    active: bool,
    /// An event's condition ends then.
    hold_until: Option<Micros>,
    text: String,
    occurrence: u8,
    next_alert: Micros,
    next_text: Micros,
    normals_left: u8,
}

/// A frame to broadcast: 126983 or 126985 and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub pgn: u32,
    pub payload: Vec<u8>,
}

/// The gateway's own alerts.
#[derive(Debug, Default)]
pub struct OwnAlerts {
    enabled: bool,
    conds: [Cond; 3],
    out: VecDeque<Outgoing>,
}

fn index(which: Own) -> usize {
    TABLE.iter().position(|r| r.0 == which).unwrap_or(0)
}

impl OwnAlerts {
    /// Off: nothing is sent.
    pub fn new() -> OwnAlerts {
        OwnAlerts::default()
    }

    /// On or off; off ends what was active as if it cleared.
    pub fn set_enabled(&mut self, now: Micros, on: bool) {
        if !on {
            for c in &mut self.conds {
                c.hold_until = None;
                if c.active {
                    end(c, now);
                }
            }
        }
        self.enabled = on;
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// A condition that holds or not (`text`: what the alert says while it holds).
    pub fn level(&mut self, now: Micros, which: Own, holds: bool, text: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        let c = &mut self.conds[index(which)];
        match (c.active, holds) {
            (false, true) => begin(c, now, text()),
            (true, false) => end(c, now),
            _ => {}
        }
    }

    /// An event: the condition holds for [`HOLD`] from `now`; a new text is sent
    /// at once.
    pub fn event(&mut self, now: Micros, which: Own, text: String) {
        if !self.enabled {
            return;
        }
        let c = &mut self.conds[index(which)];
        c.hold_until = Some(now.saturating_add(HOLD));
        if !c.active {
            begin(c, now, text);
        } else if c.text != text {
            c.text = text;
            c.next_text = now;
        }
    }

    /// Whether `which` is active.
    pub fn active(&self, which: Own) -> bool {
        self.conds[index(which)].active
    }

    /// When [`OwnAlerts::on_tick`] has work next.
    pub fn next_wake(&self) -> Option<Micros> {
        // Asked on every input: a plain loop over the few conditions.
        let mut next: Option<Micros> = None;
        let mut at = |t: Micros| next = Some(next.map_or(t, |n| n.min(t)));
        for c in &self.conds {
            if c.active || c.normals_left > 0 {
                at(c.next_alert);
            }
            if c.active {
                at(c.next_text);
            }
            if let Some(t) = c.hold_until {
                at(t);
            }
        }
        next
    }

    /// Ends held conditions and queues what is due at `now`, from `ours`.
    pub fn on_tick(&mut self, now: Micros, ours: Name) {
        for (k, c) in self.conds.iter_mut().enumerate() {
            if c.hold_until.is_some_and(|t| t <= now) {
                c.hold_until = None;
                end(c, now);
            }
            let (_, id, kind, priority) = TABLE[k];
            let alert = AlertId {
                kind,
                category: 1,
                system: SYSTEM,
                subsystem: 0,
                id,
                source_name: ours.0,
                instance: 0,
                index: 0,
                occurrence: c.occurrence,
            };
            if c.active {
                if now >= c.next_alert {
                    let payload = codec::alert(&alert, priority, state::ACTIVE);
                    self.out.push_back(Outgoing {
                        pgn: codec::PGN_ALERT,
                        payload,
                    });
                    c.next_alert = now + REPEAT;
                }
                if now >= c.next_text {
                    self.out.push_back(Outgoing {
                        pgn: codec::PGN_TEXT,
                        payload: codec::text(&alert, &c.text),
                    });
                    c.next_text = now + TEXT_REPEAT;
                }
            } else if c.normals_left > 0 && now >= c.next_alert {
                let payload = codec::alert(&alert, priority, state::NORMAL);
                self.out.push_back(Outgoing {
                    pgn: codec::PGN_ALERT,
                    payload,
                });
                c.normals_left -= 1;
                c.next_alert = now + REPEAT;
            }
        }
    }

    /// The next frame to send.
    pub fn poll_send(&mut self) -> Option<Outgoing> {
        self.out.pop_front()
    }
}

fn begin(c: &mut Cond, now: Micros, text: String) {
    c.active = true;
    c.text = text;
    c.occurrence = c.occurrence.wrapping_add(1).max(1);
    c.next_alert = now;
    c.next_text = now;
    c.normals_left = 0;
}

fn end(c: &mut Cond, now: Micros) {
    c.active = false;
    c.normals_left = NORMALS;
    c.next_alert = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: Name = Name(0xC0FE_1001_0000_03E9);
    const S: Micros = SECOND;

    fn drain(a: &mut OwnAlerts) -> Vec<(u32, u8, u16, u8)> {
        std::iter::from_fn(|| a.poll_send())
            .map(|o| {
                let id = AlertId::parse(&o.payload).unwrap();
                assert_eq!(id.source_name, OURS.0);
                let st = if o.pgn == codec::PGN_ALERT {
                    o.payload[27]
                } else {
                    0
                };
                (o.pgn, id.kind, id.id, st)
            })
            .collect()
    }

    #[test]
    fn off_by_default_and_when_turned_off() {
        let mut a = OwnAlerts::new();
        a.level(0, Own::SameUniqueNumber, true, || "x".into());
        a.on_tick(0, OURS);
        assert!(a.poll_send().is_none());
        assert_eq!(a.next_wake(), None);
        a.set_enabled(0, true);
        a.level(0, Own::SameUniqueNumber, true, || "x".into());
        a.on_tick(0, OURS);
        assert_eq!(drain(&mut a).len(), 2);
        a.set_enabled(S, false);
        a.on_tick(S, OURS);
        assert_eq!(drain(&mut a), [(codec::PGN_ALERT, 5, 1, state::NORMAL)]);
    }

    #[test]
    fn a_level_repeats_while_it_holds_then_announces_its_end() {
        let mut a = OwnAlerts::new();
        a.set_enabled(0, true);
        a.level(0, Own::SameUniqueNumber, true, || {
            "Unique number 7 used twice".into()
        });
        a.on_tick(0, OURS);
        assert_eq!(
            drain(&mut a),
            [
                (codec::PGN_ALERT, 5, 1, state::ACTIVE),
                (codec::PGN_TEXT, 5, 1, 0)
            ]
        );
        assert_eq!(a.next_wake(), Some(S));
        for t in 1..10 {
            a.on_tick(t * S, OURS);
            assert_eq!(drain(&mut a), [(codec::PGN_ALERT, 5, 1, state::ACTIVE)]);
        }
        a.on_tick(10 * S, OURS);
        assert_eq!(drain(&mut a).len(), 2, "the text every 10 s");
        a.level(10 * S + 1, Own::SameUniqueNumber, false, String::new);
        for t in 11..20 {
            a.on_tick(t * S, OURS);
        }
        assert_eq!(
            drain(&mut a),
            [(codec::PGN_ALERT, 5, 1, state::NORMAL); NORMALS as usize]
        );
        assert_eq!(a.next_wake(), None);
    }

    #[test]
    fn an_event_holds_for_a_minute_and_a_new_one_is_a_new_occurrence() {
        let mut a = OwnAlerts::new();
        a.set_enabled(0, true);
        a.event(0, Own::Implausible, "refused".into());
        a.on_tick(0, OURS);
        let first = drain(&mut a);
        assert_eq!(first[0], (codec::PGN_ALERT, 8, 3, state::ACTIVE));
        a.event(30 * S, Own::Implausible, "refused".into());
        a.on_tick(90 * S - 1, OURS);
        assert!(a.active(Own::Implausible), "held from the last event");
        a.on_tick(90 * S, OURS);
        assert!(!a.active(Own::Implausible));
        assert_eq!(
            drain(&mut a).last(),
            Some(&(codec::PGN_ALERT, 8, 3, state::NORMAL))
        );
        a.event(100 * S, Own::Implausible, "refused".into());
        a.on_tick(100 * S, OURS);
        let again: Vec<u8> = std::iter::from_fn(|| a.poll_send())
            .filter(|o| o.payload[27] == state::ACTIVE && o.pgn == codec::PGN_ALERT)
            .map(|o| o.payload[15])
            .collect();
        assert_eq!(again, [2], "occurrence 2");
    }
}
