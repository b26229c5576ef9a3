//! The one way a [`Gateway`] is driven, whatever feeds it: the live daemon, a
//! replayed capture, the device table, the tests.
//!
//! The driver owns the gateway and the clock it runs on. It feeds it frames (live,
//! stamped on the monotonic clock) or capture records (on a [`CaptureClock`], which
//! turns the capture's own timestamps into a time that never runs backwards and does
//! not take a clock step for elapsed time), fires the gateway's timers at their
//! time, hands it the writes of D-Bus clients and answers them, and gives back
//! the rest of the gateway's [`Output`]s from [`Driver::poll`]: frames to send, our
//! own address, notifications, state to keep. The shells around it own the sockets,
//! the pacing and the D-Bus connections only.

pub mod transmit_log;

pub use transmit_log::TransmitLog;

use crate::can::socket::CanSource;
use crate::can::{Frame, Micros};
use crate::dbus::platform::PlatformEvent;
use crate::dbus::{RegisterRequest, Request, WriteRequest};
use crate::gateway::{Gateway, Output, WriteDecision};
use crate::logs::Record;
use crate::model::{WriteOutcome, WriteRefusal};
use crate::time::{CaptureClock, Monotonic};

/// Outputs kept for the shell at most; beyond, the oldest goes (a shell that
/// never polls loses what it would not read).
const MAX_OUTPUTS: usize = 2048;

/// A gateway and its clock.
pub struct Driver {
    /// What the gateway handed out for the shell, oldest first.
    out: std::collections::VecDeque<Output>,
    /// Outputs dropped because the shell did not poll.
    dropped: u64,
    gateway: Gateway,
    capture: CaptureClock,
    /// Capture clock steps already reported to the gateway.
    steps: u64,
    now: Micros,
    /// Frames the socket refused.
    send_errors: u64,
    /// Writes sent to a device, waiting for its answer: token → the client's reply.
    writes: std::collections::BTreeMap<u64, tokio::sync::oneshot::Sender<WriteOutcome>>,
    /// Where transmitted frames are also written, and the clock their times are
    /// read on (the live monotonic one; none: the capture's).
    transmit_log: Option<(TransmitLog, Option<Monotonic>)>,
    /// Register requests (VregLink) waiting for their device, likewise.
    registers: std::collections::BTreeMap<u64, tokio::sync::oneshot::Sender<(u16, Vec<u8>)>>,
}

impl Driver {
    /// A driver of `gateway`; it joins the bus at the first input.
    pub fn new(gateway: Gateway) -> Driver {
        Driver {
            out: Default::default(),
            dropped: 0,
            gateway,
            capture: CaptureClock::new(),
            steps: 0,
            now: 0,
            send_errors: 0,
            writes: Default::default(),
            registers: Default::default(),
            transmit_log: None,
        }
    }

    /// The gateway, for its tables and counters.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The next output for the shell: a frame to send ([`Output::Transmit`],
    /// already in the transmit log), our own address, a notification, state to
    /// keep. Write and register outcomes never come here: the driver answers them.
    pub fn poll(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Outputs the shell did not poll in time and lost.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The socket's counters, for the bus service (live interfaces only).
    pub fn set_link(&mut self, link: crate::can::socket::SocketStats) {
        self.gateway.set_link(link);
    }

    /// The clock the gateway runs on stepped by `by` µs ([`Gateway::clock_stepped`]).
    pub fn clock_stepped(&mut self, by: Micros, what: &str) {
        self.gateway.clock_stepped(by, what);
    }

    /// The interface went down at `now` ([`Gateway::link_down`]).
    pub fn link_down(&mut self, now: Micros) {
        self.now = self.now.max(now);
        self.gateway.link_down(self.now);
        self.pump();
    }

    /// The end of a capture whose services stay ([`Gateway::finish`]).
    pub fn finish(&mut self, now: Micros) {
        self.now = self.now.max(now);
        self.gateway.finish(self.now);
        self.pump();
    }

    /// Whether the gateway's own alarms go out as NMEA 2000 alerts of its node,
    /// from `now` on.
    pub fn set_alerts_out(&mut self, now: Micros, on: bool) {
        self.now = self.now.max(now);
        self.gateway.set_alerts_out(self.now, on);
        self.pump();
    }

    /// Withdraws every service: the end of a replay or a shutdown.
    pub fn withdraw_all(&mut self) {
        self.gateway.withdraw_all();
    }

    /// A report of the platform at `now`: Venus's alerts setting, or a user's
    /// acknowledgement of an alert's notification (126984 goes out).
    pub fn platform(&mut self, now: Micros, ev: PlatformEvent) {
        self.now = self.now.max(now);
        match ev {
            PlatformEvent::AlertsIn(v) => {
                let on = v.is_none_or(|v| v != 0);
                tracing::info!(
                    on,
                    "NMEA 2000 alerts as Venus notifications (AlertsInEnable)"
                );
                self.gateway.set_alerts_enabled(on);
            }
            PlatformEvent::Acknowledged {
                device,
                description,
            } => {
                let n = self
                    .gateway
                    .acknowledge_notification(self.now, &device, &description);
                if n > 0 {
                    tracing::info!(%device, %description, "alert acknowledged on Venus: 126984 sent");
                }
            }
        }
        self.pump();
    }

    /// The time of the latest input or timer.
    pub fn now(&self) -> Micros {
        self.now
    }

    /// The time `record` is replayed at (it must be fed next, with
    /// [`Driver::feed_record_at`]); a step of the capture's clock is reported here.
    pub fn time_of(&mut self, record: &Record) -> Micros {
        let t = self.capture.time(record.timestamp());
        if self.capture.steps() > self.steps {
            self.steps = self.capture.steps();
            if let Some(step) = self.capture.last_step() {
                self.gateway.clock_stepped(step.by, "the capture's clock");
            }
        }
        t
    }

    /// A capture record at its replay time `t` (from [`Driver::time_of`]): the
    /// timers due before it fire first.
    pub fn feed_record_at(&mut self, t: Micros, record: &Record) {
        self.now = self.now.max(t);
        match record {
            Record::Frame(f) => self.gateway.handle_frame(self.now, f),
            Record::Message(m) => self.gateway.handle_message(self.now, &m.message()),
        }
        self.pump();
    }

    /// A capture record on the capture's clock.
    pub fn feed_record(&mut self, record: &Record) -> Micros {
        let t = self.time_of(record);
        self.feed_record_at(t, record);
        t
    }

    /// A capture replayed again starts a moment after the end of the last pass.
    pub fn rewind(&mut self) {
        self.capture.rewind();
    }

    /// The capture's own time at replay time `t`: what a person reads.
    pub fn capture_time(&self, t: Micros) -> Micros {
        self.capture.own_time(t)
    }

    /// A frame from the bus at `now` on the live (monotonic) clock.
    pub fn feed_frame(&mut self, now: Micros, frame: &Frame) {
        self.now = self.now.max(now);
        self.gateway.handle_frame(self.now, frame);
        self.pump();
    }

    /// Fires every timer due up to `now`.
    pub fn advance(&mut self, now: Micros) {
        self.now = self.now.max(now);
        self.gateway.handle_timeout(self.now);
        self.pump();
    }

    /// When the gateway has timers to fire next (`Micros::MAX`: none yet).
    pub fn next_wake(&self) -> Micros {
        self.gateway.poll_timeout().unwrap_or(Micros::MAX)
    }

    /// What the D-Bus watcher saw of another process's service, at `now` (NMEA
    /// 2000-out).
    pub fn service(&mut self, now: Micros, input: crate::export::ServiceInput) {
        self.now = self.now.max(now);
        self.gateway.handle_service(self.now, input);
        self.pump();
    }

    /// NMEA 2000-out switched on or off at `now`.
    pub fn set_export_enabled(&mut self, now: Micros, on: bool) {
        self.now = self.now.max(now);
        self.gateway.set_export_enabled(self.now, on);
        self.pump();
    }

    /// A client's request: a write or a register request.
    pub fn request(&mut self, now: Micros, r: Request) {
        match r {
            Request::Write(w) => self.write(now, w),
            Request::Register(r) => self.register(now, r),
        }
    }

    /// Sends a client's register request (VregLink) to its device at `now`; the
    /// answer goes back when the device has answered.
    pub fn register(&mut self, now: Micros, r: RegisterRequest) {
        self.now = self.now.max(now);
        match self
            .gateway
            .handle_register(self.now, &r.service, &r.path, r.register, r.data)
        {
            Ok(token) => {
                self.registers.insert(token, r.reply);
            }
            Err(answer) => {
                let _ = r.reply.send(answer);
            }
        }
        self.pump();
    }

    /// Decides a client's write at `now` and answers it, at once or when the
    /// device it went to has answered.
    pub fn write(&mut self, now: Micros, w: WriteRequest) {
        self.now = self.now.max(now);
        match self
            .gateway
            .handle_write(self.now, &w.service, &w.path, &w.value)
        {
            WriteDecision::Now(outcome) => {
                let _ = w.reply.send(outcome);
            }
            WriteDecision::Later(token) => {
                if let Some(old) = self.writes.insert(token, w.reply) {
                    let _ = old.send(WriteOutcome::Refused(WriteRefusal::Dropped));
                }
            }
        }
        self.pump();
    }

    /// Takes what the gateway handed out: answers the writes and register
    /// requests whose devices have answered, logs the frames to send, and keeps
    /// the rest for the shell.
    fn pump(&mut self) {
        while let Some(o) = self.gateway.poll() {
            match o {
                Output::Write { token, outcome } => {
                    if let Some(reply) = self.writes.remove(&token) {
                        let _ = reply.send(outcome);
                    }
                }
                Output::Register { token, code, data } => {
                    if let Some(reply) = self.registers.remove(&token) {
                        let _ = reply.send((code, data));
                    }
                }
                o => {
                    if let Output::Transmit(f) = &o {
                        self.log(f);
                    }
                    if self.out.len() >= MAX_OUTPUTS {
                        self.out.pop_front();
                        self.dropped += 1;
                    }
                    self.out.push_back(o);
                }
            }
        }
        // A client that gave up (its D-Bus call timed out) needs no answer.
        if !self.writes.is_empty() {
            self.writes.retain(|_, r| !r.is_closed());
        }
        if !self.registers.is_empty() {
            self.registers.retain(|_, r| !r.is_closed());
        }
    }

    /// Also writes every frame the gateway transmits to `log`, timed on `clock`
    /// (live) or on the capture's clock (`None`).
    pub fn log_transmit(&mut self, log: TransmitLog, clock: Option<Monotonic>) {
        self.transmit_log = Some((log, clock));
    }

    /// Takes the transmit log back (the driver is about to go; the log stays).
    pub fn take_transmit_log(&mut self) -> Option<TransmitLog> {
        self.transmit_log.take().map(|(l, _)| l)
    }

    fn log(&mut self, f: &Frame) {
        if let Some((log, clock)) = &mut self.transmit_log {
            let at = match clock {
                Some(c) => c.wall(f.timestamp),
                None => self.capture.own_time(f.timestamp),
            };
            log.record(at, f);
        }
    }

    /// Puts `f` on `src`. A frame the socket refuses is counted, not fatal (a bus
    /// with nobody else on it fills the transmit queue); failures are logged at
    /// the 1st, 2nd, 4th, 8th … so that a dead bus does not flood the log.
    pub async fn send(&mut self, src: &CanSource, f: &Frame) {
        if let Err(e) = src.send(f).await {
            self.send_errors += 1;
            if self.send_errors.is_power_of_two() {
                tracing::warn!(interface = %src.interface(), error = %e, count = self.send_errors, "cannot send a frame");
            }
        }
    }

    /// Frames the socket refused so far.
    pub fn send_errors(&self) -> u64 {
        self.send_errors
    }

    /// Writes what the transmit log holds to its file (a held replay waits on
    /// clients, and what it sent for them must be readable meanwhile).
    pub fn flush_transmit_log(&mut self) {
        if let Some((log, _)) = &mut self.transmit_log {
            log.flush();
        }
    }
}
