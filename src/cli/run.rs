//! `n2k-dbus run`: the live daemon on one SocketCAN interface.
//!
//! One single-threaded tokio runtime carries everything: the socket, the gateway's
//! timers, the writes of D-Bus clients and the publisher. The loop owns the
//! [`Driver`] and the socket; the interface may be missing, go down and come back at
//! any time, and none of that ends the process — only a stop signal or the D-Bus
//! daemon going away do. The gateway runs on the monotonic clock: setting the system
//! clock changes nothing but the timestamps in the log (and is counted as a clock
//! step).

use std::io;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use n2k_dbus::can::link::{link_state, LinkState};
use n2k_dbus::can::socket::CanSource;
use n2k_dbus::can::{Frame, Micros};
use n2k_dbus::dbus::{Bus, Outbox, Publisher, Request, Settings, WriteOutcome, WriteRefusal};
use n2k_dbus::driver::{Driver, TransmitLog};
use n2k_dbus::gateway::{Gateway, GatewayConfig, Output};
use n2k_dbus::state::State;
use n2k_dbus::time::{Monotonic, WallWatch};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::notify::Notifier;
use super::{
    bus_gone, exportable, recv_watched, signals, ExportArgs, NodeArgs, ServiceArgs, Switch,
};
use n2k_dbus::dbus::platform::{self, PlatformEvent};
use n2k_dbus::dbus::watch::{self, Watched};
use n2k_dbus::export::ExportConfig;

const SECOND: Micros = 1_000_000;
/// How often an interface that is up is checked for having gone down.
const LINK_CHECK: Micros = SECOND;
/// The longest wait between two tries of a missing or down interface.
const MAX_RETRY: Micros = 10 * SECOND;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The SocketCAN interface of the NMEA 2000 / VE.Can bus.
    #[arg(short = 'i', long = "interface", default_value = "can0")]
    pub interface: String,
    /// The bus to publish on: system (as on Venus OS), session or a D-Bus address.
    #[arg(long, default_value = "system")]
    pub dbus: Bus,
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(flatten)]
    pub services: ServiceArgs,
    /// Seconds the interface may stay down before its services are withdrawn (their
    /// values are invalid from the first moment).
    #[arg(long, default_value_t = 10)]
    pub link_grace: u64,
    /// Also write every frame sent to this file, as candump -L lines.
    #[arg(long, value_name = "FILE")]
    pub transmit_log: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub export: ExportArgs,
}

pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(daemon(a))
}

/// The daemon. Long because it is the process's life in order: connecting,
/// set-up of the publisher, watcher and platform tasks, the loop, shutdown.
async fn daemon(a: RunArgs) -> anyhow::Result<ExitCode> {
    let iface = a.interface.clone();
    let transmit_log = match &a.transmit_log {
        Some(p) => Some(
            TransmitLog::create(p, &iface)
                .with_context(|| format!("cannot create the transmit log {}", p.display()))?,
        ),
        None => None,
    };
    let (core, state_path, state) = a.node.identity(&iface);
    if let Err(e) = std::fs::create_dir_all(&a.node.state_dir) {
        warn!(dir = %a.node.state_dir.display(), error = %e, "cannot create the state folder; nothing will be remembered");
    }
    let settings_file = a.node.state_dir.join(format!("{iface}.settings"));
    let mut notifier = Notifier::from_env();
    // Ready as soon as it runs: waiting for the bus or the interface is part of its
    // work (told in STATUS=), not a start-up that systemd should time out.
    notifier.notify(&format!(
        "READY=1\nSTATUS=starting on {iface}: connecting to the {} bus",
        a.dbus
    ));
    let signals = signals()?;
    let Some(settings) = connect(&a.dbus, &settings_file, &mut notifier, &signals).await else {
        notifier.notify("STOPPING=1");
        info!("stopped before the bus was reachable");
        return Ok(ExitCode::SUCCESS);
    };
    let outbox = Arc::new(Outbox::new());
    let (writes_tx, mut writes) = mpsc::channel(64);
    let publisher = Publisher::new(
        a.services.publisher(&a.dbus, &iface),
        Some(settings),
        Some(writes_tx),
    );
    let lost = publisher.lost();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let publisher = tokio::spawn(publisher.run(outbox.clone(), async {
        let _ = stop_rx.await;
    }));

    info!(interface = %iface, name = %core.name, listen_only = core.listen_only, bus = %a.dbus, "starting");
    if a.export.n2k_out && core.listen_only {
        warn!("--n2k-out with --listen-only: the virtual devices cannot be put on the bus");
    }
    let export = a.export.config(Some(&state));
    let (mut watched, rescan) = match &export {
        Some(_) => {
            let (rx, tx) = watch::spawn(a.dbus.clone(), iface.clone(), exportable);
            (Some(rx), Some(tx))
        }
        None => (None, None),
    };
    let (inject, mut platform) = platform::spawn(a.dbus.clone(), iface.clone());
    let clock = Monotonic::new();
    let mut live = Live {
        iface,
        config: a.services.gateway(&a.interface, core),
        outbox,
        clock,
        wall: WallWatch::new(&clock),
        driver: None,
        src: None,
        link: Link::Waiting {
            next_try: 0,
            delay: SECOND,
            last: None,
        },
        grace: a.link_grace.saturating_mul(SECOND as u64) as Micros,
        down_since: None,
        state,
        state_path,
        notifier,
        transmit_log,
        export,
        rescan,
        switch: Switch::default(),
        inject,
        alerts_in: true,
    };
    loop {
        live.step(clock.now()).await;
        let wake = clock.instant(live.next_wake(clock.now()));
        tokio::select! {
            biased;
            _ = signals.wait() => break,
            service = lost.wait() => {
                live.notifier.notify("STOPPING=1");
                return Err(bus_gone(&service));
            }
            r = recv(&mut live.src) => match r {
                Ok(frame) => live.on_frame(&frame),
                Err(e) => live.lost(clock.now(), &e.to_string()),
            },
            Some(r) = writes.recv() => live.on_request(r),
            Some(w) = recv_watched(&mut watched) => live.on_watched(clock.now(), w),
            Some(ev) = platform.recv() => live.on_platform(clock.now(), ev),
            () = tokio::time::sleep_until(wake) => {}
        }
    }

    live.notifier.notify("STOPPING=1");
    let services = live.driver.as_ref().map_or(0, |d| d.gateway().published());
    if let Some(d) = &mut live.driver {
        d.withdraw_all();
    }
    let _ = stop_tx.send(());
    let stats = publisher.await.context("the publisher stopped")?;
    info!(
        services,
        withdrawn = stats.withdrawn,
        "stopped; every service withdrawn"
    );
    Ok(ExitCode::SUCCESS)
}

/// Connects to the bus, trying again while it is not there (a system bus that
/// starts after us, a socket not yet created): 1 s, doubling up to 10 s, said once
/// per kind of failure. `None` when stopped meanwhile.
async fn connect(
    bus: &Bus,
    settings_file: &std::path::Path,
    notifier: &mut Notifier,
    signals: &n2k_dbus::shell::Signals,
) -> Option<Settings> {
    let mut delay = SECOND;
    let mut last: Option<String> = None;
    loop {
        match Settings::connect(bus, Some(settings_file.to_owned())).await {
            Ok(s) => {
                if last.is_some() {
                    info!(bus = %bus, "the bus is reachable");
                }
                return Some(s);
            }
            Err(e) => {
                let why = format!("cannot connect to the {bus} bus: {e}");
                if last.as_ref() != Some(&why) {
                    warn!(
                        "{why}; trying again in {} s, then less and less often",
                        delay / SECOND
                    );
                } else {
                    debug!("{why}; trying again in {} s", delay / SECOND);
                }
                notifier.notify(&format!("STATUS={why}"));
                last = Some(why);
            }
        }
        tokio::select! {
            _ = signals.wait() => return None,
            () = tokio::time::sleep(std::time::Duration::from_micros(delay as u64)) => {}
        }
        delay = (delay * 2).min(MAX_RETRY);
    }
}

/// Where the interface stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Not open: the next try is at `next_try`, the one after `delay` later. `last`
    /// is what the previous try found, so a message is written on a change.
    Waiting {
        next_try: Micros,
        delay: Micros,
        last: Option<LinkState>,
    },
    /// Open; checked again at `next_check`.
    Up { next_check: Micros },
}

/// The daemon's state between two wake-ups.
struct Live {
    iface: String,
    config: GatewayConfig,
    outbox: Arc<Outbox>,
    clock: Monotonic,
    wall: WallWatch,
    /// Created when the interface first opens; dropped (services withdrawn) when it
    /// stays down longer than `grace`.
    driver: Option<Driver>,
    src: Option<CanSource>,
    link: Link,
    grace: Micros,
    /// Since when the interface is down.
    down_since: Option<Micros>,
    state: State,
    state_path: std::path::PathBuf,
    notifier: Notifier,
    /// The transmit log while no driver holds it.
    transmit_log: Option<TransmitLog>,
    /// NMEA 2000-out: its configuration, the watcher's rescan, the switch.
    export: Option<ExportConfig>,
    rescan: Option<mpsc::Sender<()>>,
    switch: Switch,
    /// Alerts: notifications to inject; `AlertsInEnable` as last seen.
    inject: mpsc::Sender<String>,
    alerts_in: bool,
}

impl Live {
    /// Everything due at `now`: the interface, the gateway's timers, our address,
    /// the frames to send.
    async fn step(&mut self, now: Micros) {
        match self.link {
            Link::Waiting { next_try, .. } if now >= next_try => self.try_open(now),
            Link::Up { next_check } if now >= next_check => match link_state(&self.iface) {
                LinkState::Up | LinkState::Unknown => {
                    self.link = Link::Up {
                        next_check: now + LINK_CHECK,
                    }
                }
                s => self.lost(now, describe(s)),
            },
            _ => {}
        }
        if let (Some(since), Some(d)) = (self.down_since, &mut self.driver) {
            if now >= since.saturating_add(self.grace) {
                warn!(interface = %self.iface, "down for {} s: every service withdrawn until it returns", self.grace / SECOND);
                d.withdraw_all();
                self.transmit_log = d.take_transmit_log();
                self.driver = None;
            }
        }
        let Some(driver) = &mut self.driver else {
            return;
        };
        if let Some(by) = self.wall.step(&self.clock) {
            driver.clock_stepped(by, "the system clock");
        }
        // A frame already ran the timers due at its time; only a wake-up needs this.
        if now >= driver.next_wake() {
            if let Some(src) = &self.src {
                driver.set_link(src.stats());
            }
            driver.advance(now);
        }
        self.drain().await;
    }

    fn on_frame(&mut self, frame: &Frame) {
        if let Some(d) = &mut self.driver {
            d.feed_frame(frame.timestamp, frame);
        }
    }

    fn on_request(&mut self, r: Request) {
        match (&mut self.driver, r) {
            (Some(d), r) => d.request(self.clock.now(), r),
            (None, Request::Write(w)) => {
                let _ = w.reply.send(WriteOutcome::Refused(WriteRefusal::LinkDown(
                    self.iface.clone(),
                )));
            }
            (None, Request::Register(r)) => {
                let failed = n2k_dbus::vreg::VackCode::failed(r.data.is_some()).number();
                let _ = r.reply.send((failed, Vec::new()));
            }
        }
    }

    /// When the loop must run again without a frame or a write (clock time).
    fn next_wake(&self, now: Micros) -> Micros {
        let link = match self.link {
            Link::Waiting { next_try, .. } => next_try,
            Link::Up { next_check } => next_check,
        };
        let gateway = self.driver.as_ref().map_or(Micros::MAX, |d| d.next_wake());
        let withdraw = match (self.down_since, &self.driver) {
            (Some(since), Some(_)) => since.saturating_add(self.grace),
            _ => Micros::MAX,
        };
        // Woken at least every MAX_RETRY, which also bounds how late a step of the
        // wall clock is noticed.
        link.min(gateway).min(withdraw).min(now + MAX_RETRY)
    }

    /// Opens the interface if it is there and up; otherwise says why, once per
    /// change, and tries again later (1 s, doubling up to 10 s).
    fn try_open(&mut self, now: Micros) {
        let Link::Waiting { delay, last, .. } = self.link else {
            return;
        };
        let state = link_state(&self.iface);
        let opened = match state {
            LinkState::Up | LinkState::Unknown => CanSource::open(&self.iface)
                .map(|s| s.stamped_by(self.clock))
                .map_err(|e| format!("cannot open CAN interface {}: {e}", self.iface)),
            s => Err(describe_for(&self.iface, s)),
        };
        match opened {
            Ok(src) => {
                info!(interface = %self.iface, "interface up; listening");
                self.src = Some(src);
                self.link = Link::Up {
                    next_check: now + LINK_CHECK,
                };
                if self.driver.is_none() {
                    let switch_state = self
                        .state
                        .with_prefix(n2k_dbus::venus::switches::STATE_PREFIX)
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    let mut g = Gateway::new(self.config.clone(), self.outbox.clone())
                        .with_switch_state(switch_state);
                    g.set_alerts_enabled(self.alerts_in);
                    if let Some(x) = &self.export {
                        let mut x = x.clone();
                        x.state = self
                            .state
                            .with_prefix(n2k_dbus::export::STATE_PREFIX)
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect();
                        g = g.with_export(x);
                        g.set_export_enabled(now, self.switch.on());
                        // The new gateway needs every service again.
                        if let Some(r) = &self.rescan {
                            let _ = r.try_send(());
                        }
                    }
                    g.start(now);
                    let mut d = Driver::new(g);
                    if let Some(log) = self.transmit_log.take() {
                        d.log_transmit(log, Some(self.clock));
                    }
                    self.driver = Some(d);
                }
                self.down_since = None;
                if self.config.core.listen_only {
                    self.status(&format!("on {} (listen-only)", self.iface));
                }
            }
            Err(why) => {
                if last != Some(state) {
                    warn!(
                        "{why}; trying again in {} s, then less and less often",
                        delay / SECOND
                    );
                } else {
                    debug!("{why}; trying again in {} s", delay / SECOND);
                }
                self.notifier.notify(&format!("STATUS={why}"));
                self.link = Link::Waiting {
                    next_try: now + delay,
                    delay: (delay * 2).min(MAX_RETRY),
                    last: Some(state),
                };
            }
        }
    }

    /// The interface went away (a read failed, or sysfs says it is down).
    fn lost(&mut self, now: Micros, why: &str) {
        warn!(interface = %self.iface, "interface lost: {why}; values are invalid until it returns");
        self.src = None;
        self.down_since.get_or_insert(now);
        self.link = Link::Waiting {
            next_try: now + SECOND,
            delay: SECOND,
            last: None,
        };
        if let Some(d) = &mut self.driver {
            d.link_down(now);
        }
    }

    /// What the platform task reports, at `now`.
    fn on_platform(&mut self, now: Micros, ev: PlatformEvent) {
        if let PlatformEvent::AlertsIn(v) = &ev {
            self.alerts_in = v.is_none_or(|v| v != 0);
        }
        if let Some(d) = &mut self.driver {
            d.platform(now, ev);
        }
    }

    /// What the D-Bus watcher saw, at `now`.
    fn on_watched(&mut self, now: Micros, w: Watched) {
        let on = self.switch.follow(&w, &self.iface);
        let Some(d) = &mut self.driver else {
            return;
        };
        match (w, on) {
            (Watched::Service(input), _) => d.service(now, input),
            (_, Some(on)) => d.set_export_enabled(now, on),
            _ => {}
        }
    }

    /// Takes what the gateway handed out: frames go on the bus (or nowhere
    /// while the interface is away), notifications to the platform task, state
    /// to the state file, and our address is logged and remembered.
    async fn drain(&mut self) {
        let Some(d) = &mut self.driver else {
            return;
        };
        let mut state = Vec::new();
        let mut addresses = Vec::new();
        while let Some(o) = d.poll() {
            match o {
                Output::Transmit(f) => {
                    if let Some(src) = &self.src {
                        d.send(src, &f).await;
                    }
                }
                Output::Notification(n) => super::notify(n, &self.inject),
                Output::State(changes) => state.extend(changes),
                Output::OwnAddress {
                    address,
                    cannot_claim,
                } => addresses.push((address, cannot_claim)),
                Output::Write { .. } | Output::Register { .. } => {}
            }
        }
        d.flush_transmit_log();
        self.save_state(state);
        for (address, cannot_claim) in addresses {
            self.own_address(address, cannot_claim);
        }
    }

    /// Stores the identities NMEA 2000-out assigned or was told and the switch
    /// outputs' settings.
    fn save_state(&mut self, changes: Vec<(String, String)>) {
        if changes.is_empty() {
            return;
        }
        for (k, v) in &changes {
            self.state.set(k, v);
        }
        if let Err(e) = self.state.save(&self.state_path) {
            warn!("{e}");
        }
    }

    /// Logs and remembers our address when it changes.
    fn own_address(&mut self, address: Option<u8>, cannot_claim: bool) {
        match address {
            Some(address) => {
                info!(interface = %self.iface, address, "address claimed");
                self.state.set_address(address);
                // A gateway made after the interface returns starts where this one is.
                self.config.core.preferred_address = address;
                if let Err(e) = self.state.save(&self.state_path) {
                    warn!("{e}");
                }
                self.status(&format!("on {} at address {address}", self.iface));
            }
            None if cannot_claim => {
                warn!(interface = %self.iface, "no free address: transmitting nothing, listening only");
                self.status("no free address: listening only");
            }
            None => info!(interface = %self.iface, "address lost; claiming again"),
        }
    }

    /// What systemd shows for the unit (`systemctl status`).
    fn status(&self, status: &str) {
        self.notifier.notify(&format!("STATUS={status}"));
    }
}

/// The next frame of an open socket; never, without one.
async fn recv(src: &mut Option<CanSource>) -> io::Result<Frame> {
    match src {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

fn describe(s: LinkState) -> &'static str {
    match s {
        LinkState::Down => "it is down",
        LinkState::Missing => "it no longer exists",
        LinkState::Up | LinkState::Unknown => "it failed",
    }
}

fn describe_for(iface: &str, s: LinkState) -> String {
    match s {
        LinkState::Missing => format!(
            "CAN interface {iface} does not exist (is its driver loaded? `ip link` lists the interfaces)"
        ),
        LinkState::Down => format!(
            "CAN interface {iface} is down (bring it up, e.g. `ip link set {iface} up type can bitrate 250000`)"
        ),
        LinkState::Up | LinkState::Unknown => format!("CAN interface {iface} is not usable"),
    }
}
