//! The register engine: reads and writes of Victron devices' registers, sans-I/O.
//!
//! It keeps, per node (by source address; the caller moves a node when its device
//! changes address), every register the node has shown with the time it did, bounded.
//! Reads and writes go out one at a time per node and at most one per
//! [`SEND_SPACING`] on the whole bus (no public pacing exists: this is the project's
//! choice, like the discovery requests' pacing). A read is answered by the register's
//! broadcast, a write by the register's new value (Victron's devices send it after a
//! command) or a VACK with an error code; without either within [`ANSWER_TIMEOUT`] it
//! is sent again, [`TRIES`] times in all, then reported as timed out.

use std::collections::{BTreeMap, VecDeque};

use super::frame::{self, Vack, VackCode, Vreg};
use crate::can::Micros;

/// How long an answer may take.
pub const ANSWER_TIMEOUT: Micros = 1_000_000;
/// Sends of one read or write, the first included.
pub const TRIES: u8 = 3;
/// Shortest time between two frames the engine sends: at most 10 per second.
pub const SEND_SPACING: Micros = 100_000;
/// Registers kept per node at most; a node showing more loses its oldest.
pub const MAX_REGISTERS: usize = 1024;
/// Operations waiting per node at most; further ones are refused at once.
pub const MAX_WAITING: usize = 64;
/// Nodes followed at most (a bus has 252 addresses).
pub const MAX_NODES: usize = 253;

/// A read or a write, and who asked (the caller's token comes back with the result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Read { register: u16 },
    Write { register: u16, value: Vec<u8> },
}

impl Op {
    fn register(&self) -> u16 {
        match self {
            Op::Read { register } | Op::Write { register, .. } => *register,
        }
    }
}

/// How a read or write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The register's value as the node sent it (for a write: read back).
    Value(Vec<u8>),
    /// The node answered with an error code.
    Refused(VackCode),
    /// No answer after every try.
    TimedOut,
    /// Not sent: too many operations wait for this node, or too many nodes.
    Busy,
}

/// What the engine has to say: the end of each read or write submitted (so the
/// events are bounded by what was asked; register values are read from the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A read or write ended.
    Done {
        node: u8,
        token: u64,
        op: Op,
        outcome: Outcome,
    },
}

/// A frame to send: the VREG payload to `destination` (on PGN 61184, or 126720 when
/// longer than 8 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub destination: u8,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
struct InFlight {
    token: u64,
    op: Op,
    sent_at: Micros,
    tries: u8,
}

#[derive(Debug, Default)]
struct Node {
    /// Register → (value, when it was last shown).
    registers: BTreeMap<u16, (Vec<u8>, Micros)>,
    in_flight: Option<InFlight>,
    /// Waiting operations; the flag marks those a client waits for.
    waiting: VecDeque<(u64, Op, bool)>,
}

/// Every node's registers and the operations on them.
#[derive(Debug, Default)]
pub struct Engine {
    nodes: BTreeMap<u8, Node>,
    last_send: Option<Micros>,
    sends: VecDeque<Send>,
    events: VecDeque<Event>,
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// A VREG payload from `source` to `destination` (255: broadcast). Returns whether
    /// it was one (61184 is shared with other makers).
    pub fn on_message(&mut self, now: Micros, source: u8, destination: u8, payload: &[u8]) -> bool {
        let Some(vreg) = frame::parse(payload) else {
            return false;
        };
        match vreg {
            // Values a node broadcasts are its registers; an addressed value is a
            // write by another node to `destination`, not a register of `source`.
            Vreg::Value { register, value } if destination == 255 => {
                self.shown(now, source, register, value);
            }
            Vreg::Ack(Vack { register, code }) => self.acked(source, register, code),
            _ => {}
        }
        true
    }

    fn shown(&mut self, now: Micros, source: u8, register: u16, value: &[u8]) {
        let Some(node) = self.node(source) else {
            return;
        };
        if node.registers.len() >= MAX_REGISTERS && !node.registers.contains_key(&register) {
            if let Some(oldest) = node
                .registers
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(r, _)| *r)
            {
                node.registers.remove(&oldest);
            }
        }
        node.registers.insert(register, (value.to_vec(), now));
        let done = node
            .in_flight
            .as_ref()
            .is_some_and(|f| f.op.register() == register);
        let finished = if done { node.in_flight.take() } else { None };
        if let Some(f) = finished {
            self.events.push_back(Event::Done {
                node: source,
                token: f.token,
                op: f.op,
                outcome: Outcome::Value(value.to_vec()),
            });
        }
    }

    fn acked(&mut self, source: u8, register: u16, code: VackCode) {
        let Some(node) = self.nodes.get_mut(&source) else {
            return;
        };
        let ours = node
            .in_flight
            .as_ref()
            .is_some_and(|f| f.op.register() == register);
        // An OK acknowledgement is not the end of a write: the value read back is.
        if !ours || !code.is_error() {
            return;
        }
        if let Some(f) = node.in_flight.take() {
            self.events.push_back(Event::Done {
                node: source,
                token: f.token,
                op: f.op,
                outcome: Outcome::Refused(code),
            });
        }
    }

    fn node(&mut self, address: u8) -> Option<&mut Node> {
        if !self.nodes.contains_key(&address) && self.nodes.len() >= MAX_NODES {
            return None;
        }
        Some(self.nodes.entry(address).or_default())
    }

    /// Queues `op` on `node`, behind what waits there; the outcome comes back as
    /// [`Event::Done`] with `token`.
    pub fn submit(&mut self, node: u8, token: u64, op: Op) {
        self.enqueue(node, token, op, false);
    }

    /// Queues an operation a client waits for (a write, a remote-configuration
    /// read): before the background reads waiting on `node`, after earlier urgent
    /// ones.
    pub fn submit_urgent(&mut self, node: u8, token: u64, op: Op) {
        self.enqueue(node, token, op, true);
    }

    fn enqueue(&mut self, node: u8, token: u64, op: Op, urgent: bool) {
        let full = match self.node(node) {
            Some(n) if n.waiting.len() < MAX_WAITING => {
                let at = if urgent {
                    n.waiting
                        .iter()
                        .position(|(_, _, u)| !u)
                        .unwrap_or(n.waiting.len())
                } else {
                    n.waiting.len()
                };
                n.waiting.insert(at, (token, op.clone(), urgent));
                false
            }
            _ => true,
        };
        if full {
            self.events.push_back(Event::Done {
                node,
                token,
                op,
                outcome: Outcome::Busy,
            });
        }
    }

    /// Sends what is due and ends what timed out.
    pub fn on_tick(&mut self, now: Micros) {
        let mut expired = Vec::new();
        for (&address, node) in &mut self.nodes {
            if let Some(f) = &node.in_flight {
                if now.saturating_sub(f.sent_at) >= ANSWER_TIMEOUT && f.tries >= TRIES {
                    if let Some(f) = node.in_flight.take() {
                        expired.push((address, f));
                    }
                }
            }
        }
        for (node, f) in expired {
            self.events.push_back(Event::Done {
                node,
                token: f.token,
                op: f.op,
                outcome: Outcome::TimedOut,
            });
        }
        // One frame per spacing: the node whose turn is oldest goes first (a retry
        // before a new operation).
        while self
            .last_send
            .is_none_or(|t| now.saturating_sub(t) >= SEND_SPACING)
        {
            let Some((address, retry)) = self.next_due(now) else {
                break;
            };
            let Some(node) = self.nodes.get_mut(&address) else {
                break;
            };
            if !retry {
                let Some((token, op, _)) = node.waiting.pop_front() else {
                    break;
                };
                node.in_flight = Some(InFlight {
                    token,
                    op,
                    sent_at: now,
                    tries: 0,
                });
            }
            let Some(f) = node.in_flight.as_mut() else {
                break;
            };
            f.tries += 1;
            f.sent_at = now;
            let payload = match &f.op {
                Op::Read { register } => frame::request(*register, 0xFFFF).to_vec(),
                Op::Write { register, value } => frame::value(*register, value),
            };
            self.sends.push_back(Send {
                destination: address,
                payload,
            });
            self.last_send = Some(now);
        }
    }

    /// The node to send for next: one whose operation in flight is due for a retry,
    /// else one with a waiting operation and nothing in flight.
    fn next_due(&self, now: Micros) -> Option<(u8, bool)> {
        let retry = self.nodes.iter().find(|(_, n)| {
            n.in_flight
                .as_ref()
                .is_some_and(|f| now.saturating_sub(f.sent_at) >= ANSWER_TIMEOUT && f.tries < TRIES)
        });
        if let Some((&a, _)) = retry {
            return Some((a, true));
        }
        self.nodes
            .iter()
            .find(|(_, n)| n.in_flight.is_none() && !n.waiting.is_empty())
            .map(|(&a, _)| (a, false))
    }

    /// When [`Engine::on_tick`] has something to do next, if ever.
    pub fn next_wake(&self) -> Option<Micros> {
        let spacing = self.last_send.map_or(0, |t| t + SEND_SPACING);
        self.nodes
            .values()
            .filter_map(|n| match &n.in_flight {
                Some(f) => Some(f.sent_at + ANSWER_TIMEOUT),
                None if !n.waiting.is_empty() => Some(spacing),
                None => None,
            })
            .min()
    }

    /// The node at `from` is now at `to` (its device changed address).
    pub fn move_node(&mut self, from: u8, to: u8) {
        if let Some(n) = self.nodes.remove(&from) {
            self.nodes.insert(to, n);
        }
    }

    /// The node at `address` is gone: what waited for it times out now.
    pub fn forget(&mut self, address: u8) {
        if let Some(n) = self.nodes.remove(&address) {
            for (token, op) in n
                .in_flight
                .map(|f| (f.token, f.op))
                .into_iter()
                .chain(n.waiting.into_iter().map(|(t, o, _)| (t, o)))
            {
                self.events.push_back(Event::Done {
                    node: address,
                    token,
                    op,
                    outcome: Outcome::TimedOut,
                });
            }
        }
    }

    /// The last value node `address` showed of `register`, and when.
    pub fn register(&self, address: u8, register: u16) -> Option<(&[u8], Micros)> {
        let (v, at) = self.nodes.get(&address)?.registers.get(&register)?;
        Some((v, *at))
    }

    /// Every register node `address` has shown.
    pub fn registers(&self, address: u8) -> impl Iterator<Item = (u16, &[u8], Micros)> {
        self.nodes.get(&address).into_iter().flat_map(|n| {
            n.registers
                .iter()
                .map(|(r, (v, at))| (*r, v.as_slice(), *at))
        })
    }

    /// The next frame to send.
    pub fn poll_send(&mut self) -> Option<Send> {
        self.sends.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MPPT: u8 = 0x21;
    const MS: Micros = 1_000;

    fn broadcast(register: u16, value: &[u8]) -> Vec<u8> {
        frame::value(register, value)
    }

    fn events(e: &mut Engine) -> Vec<Event> {
        std::iter::from_fn(|| e.poll_event()).collect()
    }

    fn sends(e: &mut Engine) -> Vec<Send> {
        std::iter::from_fn(|| e.poll_send()).collect()
    }

    #[test]
    fn broadcasts_are_kept_per_node_and_other_makers_ignored() {
        let mut e = Engine::new();
        assert!(e.on_message(0, MPPT, 255, &broadcast(0xEDBB, &[0x10, 0x27])));
        assert!(!e.on_message(0, MPPT, 255, &[0x3B, 0x9F, 0, 0, 0, 0, 0, 0]));
        // A write by another node to the MPPT is not the MPPT's register.
        assert!(e.on_message(5 * MS, 0x10, MPPT, &broadcast(0x2001, &[0x70, 0x05])));
        let (v, at) = e.register(MPPT, 0xEDBB).expect("kept");
        assert_eq!((v, at), (&[0x10, 0x27, 0, 0][..], 0));
        assert!(e.register(0x10, 0x2001).is_none() && e.register(MPPT, 0x2001).is_none());
        assert!(events(&mut e).is_empty(), "nothing was asked");
    }

    #[test]
    fn what_a_client_waits_for_goes_before_background_reads() {
        let mut e = Engine::new();
        let register = |p: &[u8]| {
            let at = if p[2..4] == [0x01, 0x00] { 4 } else { 2 };
            u16::from_le_bytes([p[at], p[at + 1]])
        };
        e.submit(MPPT, 1, Op::Read { register: 0xEDBB });
        e.submit(MPPT, 2, Op::Read { register: 0xEDBD });
        e.submit(MPPT, 3, Op::Read { register: 0xEDBC });
        e.on_tick(0);
        let mut order = vec![register(&sends(&mut e)[0].payload)];
        // A client's write and read arrive while the first read is in flight.
        e.submit_urgent(
            MPPT,
            4,
            Op::Write {
                register: 0x0200,
                value: vec![4],
            },
        );
        e.submit_urgent(MPPT, 5, Op::Read { register: 0x0100 });
        e.on_message(MS, MPPT, 255, &broadcast(0xEDBB, &[1, 0]));
        for k in 1..5i64 {
            let t = k * 200 * MS;
            e.on_tick(t);
            let reg = register(&sends(&mut e)[0].payload);
            order.push(reg);
            e.on_message(t + MS, MPPT, 255, &broadcast(reg, &[1, 0]));
        }
        // The client's operations next, in the order asked, then the background reads.
        assert_eq!(order, [0xEDBB, 0x0200, 0x0100, 0xEDBD, 0xEDBC]);
    }

    #[test]
    fn a_read_is_sent_paced_answered_by_the_broadcast() {
        let mut e = Engine::new();
        e.submit(MPPT, 1, Op::Read { register: 0xEDBB });
        e.submit(MPPT, 2, Op::Read { register: 0xEDBD });
        e.submit(0x22, 3, Op::Read { register: 0xEDBB });
        e.on_tick(0);
        // One frame now: the rest waits for the spacing and its node's answer.
        assert_eq!(
            sends(&mut e),
            [Send {
                destination: MPPT,
                payload: frame::request(0xEDBB, 0xFFFF).to_vec()
            }]
        );
        e.on_tick(50 * MS);
        assert!(sends(&mut e).is_empty(), "10 frames/s at most");
        e.on_tick(100 * MS);
        assert_eq!(
            sends(&mut e)[0].destination,
            0x22,
            "the MPPT has one in flight"
        );
        e.on_message(150 * MS, MPPT, 255, &broadcast(0xEDBB, &[0x10, 0x27]));
        let done = events(&mut e);
        assert!(done.contains(&Event::Done {
            node: MPPT,
            token: 1,
            op: Op::Read { register: 0xEDBB },
            outcome: Outcome::Value(vec![0x10, 0x27, 0, 0]),
        }));
        e.on_tick(200 * MS);
        assert_eq!(sends(&mut e)[0].payload, frame::request(0xEDBD, 0xFFFF));
    }

    #[test]
    fn a_write_is_confirmed_by_its_value_or_refused_by_a_vack() {
        let mut e = Engine::new();
        e.submit(
            MPPT,
            7,
            Op::Write {
                register: 0x0200,
                value: vec![4],
            },
        );
        e.on_tick(0);
        assert_eq!(sends(&mut e)[0].payload, frame::value(0x0200, &[4]));
        // An OK acknowledgement alone does not end it; the value read back does.
        e.on_message(
            10 * MS,
            MPPT,
            0x10,
            &[0x66, 0x99, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00],
        );
        assert!(events(&mut e).is_empty());
        e.on_message(20 * MS, MPPT, 255, &broadcast(0x0200, &[4]));
        assert!(events(&mut e).iter().any(
            |ev| matches!(ev, Event::Done { token: 7, outcome: Outcome::Value(v), .. } if v[0] == 4)
        ));

        e.submit(
            MPPT,
            8,
            Op::Write {
                register: 0x0200,
                value: vec![9],
            },
        );
        e.on_tick(200 * MS);
        sends(&mut e);
        // VACK 0x8300: invalid value.
        e.on_message(
            210 * MS,
            MPPT,
            0x10,
            &[0x66, 0x99, 0x02, 0x00, 0x00, 0x02, 0x00, 0x83],
        );
        assert_eq!(
            events(&mut e),
            [Event::Done {
                node: MPPT,
                token: 8,
                op: Op::Write {
                    register: 0x0200,
                    value: vec![9]
                },
                outcome: Outcome::Refused(VackCode::InvalidValue),
            }]
        );
    }

    #[test]
    fn no_answer_is_retried_then_timed_out() {
        let mut e = Engine::new();
        e.submit(MPPT, 1, Op::Read { register: 0x0102 });
        let mut sent = 0;
        let mut t = 0;
        while t <= 4 * ANSWER_TIMEOUT {
            e.on_tick(t);
            sent += sends(&mut e).len();
            t += 100 * MS;
        }
        assert_eq!(sent, usize::from(TRIES));
        assert_eq!(
            events(&mut e),
            [Event::Done {
                node: MPPT,
                token: 1,
                op: Op::Read { register: 0x0102 },
                outcome: Outcome::TimedOut,
            }]
        );
        assert_eq!(e.next_wake(), None, "nothing left to do");
    }

    #[test]
    fn bounded_and_a_node_that_leaves_ends_its_operations() {
        let mut e = Engine::new();
        for i in 0..(MAX_REGISTERS as u16 + 10) {
            e.on_message(Micros::from(i), MPPT, 255, &broadcast(0x4000 + i, &[1]));
        }
        assert_eq!(e.registers(MPPT).count(), MAX_REGISTERS);
        assert!(e.register(MPPT, 0x4000).is_none(), "the oldest went");
        for t in 0..(MAX_WAITING as u64 + 1) {
            e.submit(0x30, t, Op::Read { register: 1 });
        }
        events(&mut e);
        e.move_node(0x30, 0x31);
        e.forget(0x31);
        let ended = events(&mut e);
        assert_eq!(ended.len(), MAX_WAITING);
        assert!(ended.iter().all(|ev| matches!(
            ev,
            Event::Done {
                node: 0x31,
                outcome: Outcome::TimedOut,
                ..
            }
        )));
    }
}
