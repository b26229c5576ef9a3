//! The shape every stage of the gateway has: a message in, what it is told of the
//! devices, its timers, the link, the end of a capture, shutdown.
//!
//! The gateway holds its stages in one ordered list ([`crate::gateway`]) and runs
//! each of these for all of them in that order; a new stage is one more entry
//! there. A message goes to the stages in the same order until one takes it.

use crate::core::{CommandError, Event};
use crate::devices::Device;
use crate::model::{ServiceSink, Value, WriteOutcome};
use crate::network::Name;
use crate::time::Micros;

/// A message the core completed, as the stages take it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub now: Micros,
    /// The address it came from, and the NAME there when the core knows it.
    pub source: u8,
    pub device: Option<Name>,
    pub destination: u8,
    pub pgn: u32,
    pub data: &'a [u8],
}

/// A client's write on one of the gateway's services, as the stages take it.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    pub now: Micros,
    pub service: &'a str,
    pub path: &'a str,
    pub value: &'a Value,
    /// What an outcome decided later is handed out with.
    pub token: u64,
    /// Whether the gateway may transmit now.
    pub can_send: Result<(), CommandError>,
}

/// How a stage decides a write on one of its services.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided {
    /// Decided now.
    Now(WriteOutcome),
    /// Sent to a device by the stage; the outcome follows with the write's token.
    Later,
    /// To be written to a device's register by the gateway; the device's answer
    /// is the outcome.
    Register(RegisterWrite),
}

/// A write a client asked for, as a register write to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterWrite {
    pub address: u8,
    pub register: u16,
    pub value: Vec<u8>,
}

impl<'a> Incoming<'a> {
    /// A message broadcast (to 255) at `now` from `source`, sent by `device`.
    pub fn broadcast(
        now: Micros,
        source: u8,
        device: Option<Name>,
        pgn: u32,
        data: &'a [u8],
    ) -> Incoming<'a> {
        Incoming {
            now,
            source,
            device,
            destination: 255,
            pgn,
            data,
        }
    }
}

/// A broadcast message to `stage` alone, with no stage after it: what the
/// stages' own tests feed them.
#[cfg(test)]
pub(crate) fn message_to(
    stage: &mut dyn Stage,
    now: Micros,
    source: u8,
    device: Option<Name>,
    pgn: u32,
    data: &[u8],
    sink: &dyn ServiceSink,
) -> bool {
    let m = Incoming::broadcast(now, source, device, pgn, data);
    stage.on_message(
        &m,
        Context {
            sink,
            homes: &Nowhere,
        },
    )
}

/// What a stage works over: where its services go, and what the stages after it
/// know of a device.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub sink: &'a dyn ServiceSink,
    pub homes: &'a dyn Homes,
}

/// What the stages after one know of a device, for the stages before them.
pub trait Homes {
    /// Whether `about` is a generator with a `genset` service.
    fn genset(&self, about: Name) -> bool;
}

/// Nothing comes after the last stage.
pub struct Nowhere;

impl Homes for Nowhere {
    fn genset(&self, _: Name) -> bool {
        false
    }
}

/// Sources heard without a NAME get a service of their own only when listening,
/// and only after this long: a claim normally comes first. Every stage that
/// publishes by address waits the same.
pub const UNNAMED_WAIT: Micros = 10_000_000;

/// A stage of the gateway, over the service sink the gateway hands it. Every
/// method has a default that does nothing, for stages without that concern.
pub trait Stage {
    /// A message: `true` when it was this stage's (the stages after it do not
    /// see it).
    fn on_message(&mut self, m: &Incoming<'_>, cx: Context<'_>) -> bool {
        let _ = (m, cx);
        false
    }

    /// A client's write: `None` when the service is not this stage's.
    fn on_write(&mut self, w: &Write<'_>) -> Option<Decided> {
        let _ = w;
        None
    }

    /// A device's state changed in the core; `device` is the core's record of the
    /// NAME the event is about, where it still has one.
    fn on_event(
        &mut self,
        now: Micros,
        event: &Event,
        device: Option<&Device>,
        sink: &dyn ServiceSink,
    ) {
        let _ = (now, event, device, sink);
    }

    /// When the stage's own timer is due next, if it has one.
    fn next_wake(&self) -> Option<Micros> {
        None
    }

    /// Its own timer is due (`now` ≥ [`Stage::next_wake`]).
    fn on_wake(&mut self, now: Micros, sink: &dyn ServiceSink) {
        let _ = (now, sink);
    }

    /// The gateway's sweep (about once a second): freshness, decisions that
    /// waited, devices that went silent.
    fn on_sweep(&mut self, now: Micros, sink: &dyn ServiceSink) {
        let _ = (now, sink);
    }

    /// The interface went down: measured values turn invalid at once.
    fn on_link_down(&mut self, now: Micros, sink: &dyn ServiceSink) {
        let _ = (now, sink);
    }

    /// The end of a capture whose services stay: publish what still waited for more.
    fn finish(&mut self, now: Micros, sink: &dyn ServiceSink) {
        let _ = (now, sink);
    }

    /// Withdraws every service of the stage.
    fn withdraw_all(&mut self, sink: &dyn ServiceSink) {
        let _ = sink;
    }

    /// How many services it has published (or is about to).
    fn published(&self) -> usize {
        0
    }
}
