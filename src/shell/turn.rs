//! The one loop around a gateway: each turn takes the first of a stop, a D-Bus
//! input or the source's next input or event, hands it to the driver, and takes
//! what the gateway handed out — frames to the source, notifications to the
//! platform, state to the state file, our address to the log and to systemd.
//!
//! The gateway is made when the source first comes up (a capture at once, an
//! interface when it opens); an interface down longer than the grace withdraws
//! every service and drops it, and the next opening makes a new one.

use std::future::Future;
use std::path::PathBuf;

use tracing::{info, warn};

use super::capture::CaptureError;
use super::notify::Notifier;
use super::source::{Next, Source};
use super::venus::Venus;
use crate::can::{Frame, Micros};
use crate::driver::{Driver, TransmitLog};
use crate::gateway::Output;
use crate::state::State;

/// What a new gateway starts from.
pub struct Start<'a> {
    /// When it starts, on the source's clock.
    pub now: Micros,
    /// The state file as it stands.
    pub state: Option<&'a State>,
    /// The address this process claimed last, if it claimed one.
    pub claimed: Option<u8>,
    /// Whether bus alerts become Venus notifications, and NMEA 2000-out is on, as
    /// Venus's settings said last.
    pub alerts_in: bool,
    pub export_on: bool,
}

/// Makes a driver and its gateway.
pub type Make = Box<dyn FnMut(Start<'_>) -> Driver>;

/// Why [`Shell::run`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended<T> {
    /// The stop came, with its value.
    Stopped(T),
    /// The capture is over (its clock stands still; the shell can run on).
    Over,
}

/// A state file and where it is kept.
struct Keep {
    state: State,
    path: PathBuf,
}

/// A gateway, its source and the D-Bus side around it.
pub struct Shell {
    source: Source,
    venus: Venus,
    make: Make,
    driver: Option<Driver>,
    keep: Option<Keep>,
    notifier: Option<Notifier>,
    /// The transmit log while no driver holds it.
    transmit_log: Option<TransmitLog>,
    /// How long an interface may stay down before its services are withdrawn.
    grace: Micros,
    /// Since when the interface is down.
    down_since: Option<Micros>,
    claimed: Option<u8>,
    frames: Vec<Frame>,
    changes: Vec<(String, String)>,
    addresses: Vec<(Option<u8>, bool)>,
}

impl Shell {
    pub fn new(source: Source, venus: Venus, make: Make) -> Shell {
        Shell {
            source,
            venus,
            make,
            driver: None,
            keep: None,
            notifier: None,
            transmit_log: None,
            grace: Micros::MAX,
            down_since: None,
            claimed: None,
            frames: Vec::new(),
            changes: Vec::new(),
            addresses: Vec::new(),
        }
    }

    /// Keeps what the gateway asks to keep (and our address) in `state`, saved to `path`.
    pub fn keep(mut self, state: State, path: PathBuf) -> Shell {
        self.keep = Some(Keep { state, path });
        self
    }

    /// Tells systemd how it stands.
    pub fn notifier(mut self, n: Notifier) -> Shell {
        self.notifier = Some(n);
        self
    }

    /// Also writes every frame sent to `log`.
    pub fn transmit_log(mut self, log: Option<TransmitLog>) -> Shell {
        self.transmit_log = log;
        self
    }

    /// Withdraws every service when the interface stays down longer than `grace`.
    pub fn grace(mut self, grace: Micros) -> Shell {
        self.grace = grace;
        self
    }

    /// The driver, once the source came up.
    pub fn driver(&self) -> Option<&Driver> {
        self.driver.as_ref()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Tells systemd (`systemctl status`) how it stands.
    pub fn status(&self, status: &str) {
        self.notify(&format!("STATUS={status}"));
    }

    /// Tells systemd `state` (`STOPPING=1`, …).
    pub fn notify(&self, state: &str) {
        if let Some(n) = &self.notifier {
            n.notify(state);
        }
    }

    /// The input is over: what the gateway waited for is settled now.
    pub fn finish(&mut self) {
        let now = self.source.now(self.driver.as_ref());
        if let Some(d) = &mut self.driver {
            d.finish(now);
        }
    }

    /// Withdraws every service; how many were published.
    pub fn withdraw_all(&mut self) -> usize {
        let Some(d) = &mut self.driver else {
            return 0;
        };
        let services = d.gateway().published();
        d.withdraw_all();
        services
    }

    /// Turns until `stop` comes or the capture is over. A capture that cannot be
    /// read further ends it with the error.
    pub async fn run<T>(
        &mut self,
        stop: impl Future<Output = T>,
    ) -> Result<Ended<T>, CaptureError> {
        tokio::pin!(stop);
        // A capture's gateway is there, and the capture's clock at its first
        // record, before anything from D-Bus reaches it.
        if let (None, Source::Capture(_)) = (&self.driver, &self.source) {
            self.up(0);
        }
        if let Some(d) = &mut self.driver {
            self.source.prime(d)?;
        }
        loop {
            let wake = self.wake();
            let next = tokio::select! {
                biased;
                t = &mut stop => return Ok(Ended::Stopped(t)),
                input = self.venus.recv() => {
                    let now = self.source.now(self.driver.as_ref());
                    self.venus.apply(self.driver.as_mut(), now, input);
                    Next::Idle
                }
                n = self.source.next(self.driver.as_mut(), wake) => n?,
            };
            let over = self.take_turn(next)?;
            self.drain().await;
            if over {
                return Ok(Ended::Over);
            }
        }
    }

    /// What the source's turn came to; true when the capture is over.
    fn take_turn(&mut self, next: Next) -> Result<bool, CaptureError> {
        match next {
            Next::Fed => self.batch()?,
            Next::Wake(now) => self.wake_up(now),
            Next::Up(now) => self.up(now),
            Next::Lost(now) => {
                self.down_since.get_or_insert(now);
                if let Some(d) = &mut self.driver {
                    d.link_down(now);
                }
            }
            Next::Trying(why) => self.status(&why),
            Next::Over => return Ok(true),
            Next::Idle => {}
        }
        Ok(false)
    }

    /// Takes what an input made, and feeds what else is ready at once.
    fn batch(&mut self) -> Result<(), CaptureError> {
        self.take();
        while let Some(d) = &mut self.driver {
            if !self.source.ready(d)? {
                break;
            }
            self.take();
        }
        Ok(())
    }

    /// When the loop must turn without an input: the gateway's timers, the end of
    /// the grace of an interface that is down.
    fn wake(&self) -> Micros {
        let gateway = self.driver.as_ref().map_or(Micros::MAX, Driver::next_wake);
        let withdraw = match (self.down_since, &self.driver) {
            (Some(since), Some(_)) => since.saturating_add(self.grace),
            _ => Micros::MAX,
        };
        gateway.min(withdraw)
    }

    fn wake_up(&mut self, now: Micros) {
        let Some(d) = &mut self.driver else {
            return;
        };
        if now >= d.next_wake() {
            if let Some(stats) = self.source.stats() {
                d.set_link(stats);
            }
            d.advance(now);
        }
        if let Some(since) = self.down_since {
            if now >= since.saturating_add(self.grace) {
                warn!(
                    "the interface is down for {} s: every service withdrawn until it returns",
                    self.grace / 1_000_000
                );
                d.withdraw_all();
                self.transmit_log = d.take_transmit_log();
                self.driver = None;
            }
        }
    }

    /// The source opened: a gateway starts if none runs.
    fn up(&mut self, now: Micros) {
        self.down_since = None;
        if self.driver.is_none() {
            let start = Start {
                now,
                state: self.keep.as_ref().map(|k| &k.state),
                claimed: self.claimed,
                alerts_in: self.venus.alerts_in(),
                export_on: self.venus.export_on(),
            };
            let mut d = (self.make)(start);
            if let Some(log) = self.transmit_log.take() {
                self.source.log_transmit(&mut d, log);
            }
            self.driver = Some(d);
        }
        if let Some(d) = &self.driver {
            if d.gateway().core().listen_only() {
                self.status(&format!("on {} (listen-only)", self.venus.interface()));
            }
        }
    }

    /// Sorts what the gateway handed out.
    fn take(&mut self) {
        let Some(d) = &mut self.driver else {
            return;
        };
        while let Some(o) = d.poll() {
            match o {
                Output::Transmit(f) => self.frames.push(f),
                Output::Notification(n) => self.venus.notify(n),
                Output::State(changes) => self.changes.extend(changes),
                Output::OwnAddress {
                    address,
                    cannot_claim,
                } => self.addresses.push((address, cannot_claim)),
                Output::Write { .. } | Output::Register { .. } => {}
            }
        }
    }

    /// Frames to the source, state to the state file, our address to the log.
    async fn drain(&mut self) {
        self.take();
        if let (false, Some(d)) = (self.frames.is_empty(), &mut self.driver) {
            for f in self.frames.drain(..) {
                self.source.send(d, &f).await;
            }
            d.flush_transmit_log();
        }
        self.frames.clear();
        if !self.changes.is_empty() {
            if let Some(k) = &mut self.keep {
                for (key, v) in &self.changes {
                    k.state.set(key, v);
                }
                k.save();
            }
            self.changes.clear();
        }
        for (address, cannot_claim) in std::mem::take(&mut self.addresses) {
            self.own_address(address, cannot_claim);
        }
    }

    /// Logs and remembers our address when it changes.
    fn own_address(&mut self, address: Option<u8>, cannot_claim: bool) {
        let iface = self.venus.interface().to_owned();
        match address {
            Some(address) => {
                info!(interface = %iface, address, "address claimed");
                self.claimed = Some(address);
                if let Some(k) = &mut self.keep {
                    k.state.set_address(address);
                    k.save();
                }
                self.status(&format!("on {iface} at address {address}"));
            }
            None if cannot_claim => {
                warn!(interface = %iface, "no free address: transmitting nothing, listening only");
                self.status("no free address: listening only");
            }
            None => info!(interface = %iface, "address lost; claiming again"),
        }
    }
}

impl Keep {
    fn save(&self) {
        if let Err(e) = self.state.save(&self.path) {
            warn!("{e}");
        }
    }
}
