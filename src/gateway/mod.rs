//! The whole gateway without I/O: the core, the mapper and the bus service joined,
//! writing into the [`Outbox`] the D-Bus publisher drains. The live daemon and the
//! replay drive the same [`Gateway`]; only where frames come from and where
//! transmitted frames go differ.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::can::socket::SocketStats;
use crate::can::{Frame, Micros};
use crate::core::{Core, CoreConfig, Event, Output, Received};
use crate::dbus::{Outbox, Value, WriteOutcome};
use crate::logs::Record;
use crate::venus::{BusService, Mapper, MapperConfig};

/// How often the bus service is brought up to date at most.
pub const BUS_REFRESH: Micros = 1_000_000;
/// Clock steps logged at warning level; later ones are logged at debug level.
pub const LOGGED_STEPS: u64 = 10;
/// Events kept for the shell at most; the oldest goes first.
const MAX_EVENTS: usize = 64;
/// Frames to transmit kept at most between two drains.
const MAX_TRANSMIT: usize = 1024;

/// What the gateway is made of.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub core: CoreConfig,
    pub mapper: MapperConfig,
}

/// Core, mapper and bus service of one interface.
pub struct Gateway {
    core: Core,
    mapper: Mapper,
    bus: BusService,
    outbox: Arc<Outbox>,
    started: bool,
    transmit: Vec<Frame>,
    next_refresh: Micros,
    link: Option<SocketStats>,
    clock_steps: u64,
    /// Events the shell acts on (our own address), oldest first.
    events: VecDeque<Event>,
    /// A device event since the bus service's device list was last refreshed.
    devices_dirty: bool,
}

impl Gateway {
    /// A gateway writing its services into `outbox`.
    pub fn new(cfg: GatewayConfig, outbox: Arc<Outbox>) -> Gateway {
        let bus = BusService::new(&cfg.mapper.iface);
        Gateway {
            core: Core::new(cfg.core),
            mapper: Mapper::new(cfg.mapper),
            bus,
            outbox,
            started: false,
            transmit: Vec::new(),
            next_refresh: 0,
            link: None,
            clock_steps: 0,
            events: VecDeque::new(),
            devices_dirty: true,
        }
    }

    /// The core, for its tables and counters.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The mapper, for its counters.
    pub fn mapper(&self) -> &Mapper {
        &self.mapper
    }

    /// The outbox the gateway writes into.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
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

    /// One frame from the bus at `now`.
    pub fn on_frame(&mut self, now: Micros, frame: &Frame) {
        self.advance(now);
        if let Some(r) = self.core.on_frame(now, frame) {
            deliver(&mut self.mapper, &self.outbox, now, &r);
        }
        self.drain(now);
    }

    /// One capture record at replay time `now` (see [`crate::logs::CaptureClock`]).
    pub fn on_record_at(&mut self, now: Micros, record: &Record) {
        self.advance(now);
        if let Some(r) = self.core.on_record(now, record) {
            deliver(&mut self.mapper, &self.outbox, now, &r);
        }
        self.drain(now);
    }

    /// The end of a capture whose services stay on the bus: publishes what still
    /// waited for more of it ([`Mapper::finish`]).
    pub fn finish(&mut self, now: Micros) {
        self.advance(now);
        self.mapper.finish(now, &self.outbox);
        self.refresh(now);
    }

    /// Runs every timer due up to `now`: the core's, freshness, the bus service.
    pub fn advance(&mut self, now: Micros) {
        self.start(now);
        // Each timer due fires once, at its time; what it hands out is dealt with
        // before the next, so nothing piles up however long the gap.
        self.core.catch_up(now);
        while let Some(t) = self.core.next_tick().filter(|&t| t <= now) {
            self.core.on_tick(t);
            self.drain(t);
        }
        self.drain(now);
        self.mapper.on_tick(now, &self.outbox);
        if now >= self.next_refresh {
            self.refresh(now);
        }
    }

    /// When [`Gateway::advance`] has something to do next.
    pub fn next_wake(&self) -> Micros {
        let core = self.core.next_tick().unwrap_or(Micros::MAX);
        core.min(self.next_refresh).min(self.mapper.next_sweep())
    }

    /// The next event for the shell: our own address changed
    /// ([`Event::OwnAddress`]; `None` after a lost claim or when no address is free).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Frames the core wants on the bus, oldest first.
    pub fn take_transmit(&mut self) -> Vec<Frame> {
        std::mem::take(&mut self.transmit)
    }

    /// Decides a client's write on one of the gateway's services.
    pub fn on_write(
        &mut self,
        now: Micros,
        service: &str,
        path: &str,
        value: &Value,
    ) -> WriteOutcome {
        let outcome = if service == self.bus.service_name() {
            self.bus.on_write(&mut self.core, now, path, value)
        } else if path == "/TemperatureType" {
            WriteOutcome::Store
        } else {
            WriteOutcome::Refused(format!("{path} is not writable"))
        };
        self.drain(now);
        outcome
    }

    /// The clock the gateway is fed stepped by `by` µs (a capture's own
    /// clock, or the system's wall clock beside the monotonic one the live daemon
    /// runs on); the step was not taken as elapsed time. Counted on the bus service
    /// and logged, each step once (after [`LOGGED_STEPS`], at debug level).
    pub fn clock_stepped(&mut self, by: Micros, what: &str) {
        self.bus.count_clock_step();
        self.clock_steps += 1;
        let secs = by as f64 / 1e6;
        if self.clock_steps <= LOGGED_STEPS {
            tracing::warn!(
                "{what} stepped by {secs:+.3} s; taken as a clock step, not as time passing{}",
                if self.clock_steps == LOGGED_STEPS {
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
        self.clock_steps
    }

    /// The interface went down: measured values turn invalid at once; the services
    /// stay until their devices are gone or the daemon gives the link up.
    pub fn link_down(&mut self, now: Micros) {
        self.advance(now);
        self.mapper.invalidate(now, &self.outbox);
        self.transmit.clear();
    }

    /// Withdraws every service: the end of a replay or a shutdown.
    pub fn withdraw_all(&mut self) {
        self.mapper.withdraw_all(&self.outbox);
        self.outbox.withdraw(self.bus.service_name());
    }

    /// Brings the bus service up to date: the device list when it changed, the
    /// statistics every time.
    fn refresh(&mut self, now: Micros) {
        let link = self.link.as_ref();
        if std::mem::take(&mut self.devices_dirty) {
            self.bus.refresh(&self.core, link, now, &self.outbox);
        } else {
            self.bus
                .refresh_statistics(&self.core, link, now, &self.outbox);
        }
        self.next_refresh = now + BUS_REFRESH;
    }

    /// Hands the core's outputs on: frames to the transmit queue, events to the
    /// mapper (and a bus-service refresh when the device list changed).
    fn drain(&mut self, now: Micros) {
        let mut devices_changed = false;
        while let Some(o) = self.core.poll_output() {
            match o {
                Output::Transmit(f) => {
                    if self.transmit.len() < MAX_TRANSMIT {
                        self.transmit.push(f);
                    }
                }
                Output::Event(e) => {
                    if let Event::OwnAddress(_) = e {
                        if self.events.len() >= MAX_EVENTS {
                            self.events.pop_front();
                        }
                        self.events.push_back(e);
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
                    devices_changed |= name.is_some();
                    let device = name.and_then(|n| self.core.registry().get(n));
                    self.mapper.on_event(now, &e, device, &self.outbox);
                }
            }
        }
        if devices_changed && self.started {
            self.refresh(now);
        }
    }
}

/// A message the core completed, to the mapper.
fn deliver(mapper: &mut Mapper, outbox: &Outbox, now: Micros, r: &Received<'_>) {
    let id = r.message.id;
    mapper.on_message(now, id.source, r.device, id.pgn, r.message.data, outbox);
}
