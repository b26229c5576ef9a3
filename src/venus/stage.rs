//! The shape every stage of the gateway has beside its message handling: what it
//! is told of the devices, its timers, the link, the end of a capture, shutdown.
//!
//! The gateway holds its stages in one ordered list ([`crate::gateway`]) and runs
//! each of these for all of them in that order; a new stage is one more entry
//! there. Messages take their own path through the stages (each takes what is
//! its and leaves the rest), stated once in the gateway's `deliver`.

use crate::core::Event;
use crate::devices::Device;
use crate::model::ServiceSink;
use crate::time::Micros;

/// Sources heard without a NAME get a service of their own only when listening,
/// and only after this long: a claim normally comes first. Every stage that
/// publishes by address waits the same.
pub const UNNAMED_WAIT: Micros = 10_000_000;

/// A stage of the gateway, over the service sink the gateway hands it. Every
/// method has a default that does nothing, for stages without that concern.
pub trait Stage {
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
