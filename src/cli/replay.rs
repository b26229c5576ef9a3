//! `n2k-dbus replay`: the whole gateway over a capture, on the capture's clock (or
//! as fast as possible), publishing its services on a D-Bus bus.
//!
//! The gateway runs on its own thread, driven by the [`Driver`] on the capture's
//! clock; the publisher runs on a single-threaded tokio runtime; they meet in the
//! outbox. Writes from D-Bus clients reach the gateway thread through the
//! publisher's gateway channel. The thread waits for what comes next — a record due,
//! a timer, a write, the stop — and is joined before the process ends.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use n2k_dbus::can::Micros;
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::{settle, Bus, Outbox, Publisher, PublisherStats, Request, Settings};
use n2k_dbus::driver::{Driver, TransmitLog};
use n2k_dbus::gateway::{Gateway, Output};
use n2k_dbus::logs::Record;
use n2k_dbus::state::machine_unique_number;
use tokio::sync::{mpsc, oneshot, watch};

use super::decode::{capture, Capture};
use super::{bus_gone, exportable, recv_watched, signals, ExportArgs, ServiceArgs, Switch};
use n2k_dbus::dbus::platform::{self as dbus_platform, PlatformEvent};
use n2k_dbus::dbus::watch::{self as dbus_watch, Watched};

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Capture to replay (any supported format; `-` reads standard input).
    pub file: PathBuf,
    /// The bus to publish on: system, session or a D-Bus address.
    #[arg(long, default_value = "system")]
    pub dbus: Bus,
    /// Replay this many times faster than the capture's clock.
    #[arg(long, default_value_t = 1.0, conflicts_with = "fast")]
    pub speed: f64,
    /// Replay as fast as possible.
    #[arg(long)]
    pub fast: bool,
    /// Take part in the bus as the daemon does (claim an address, ask devices for
    /// what they did not send) instead of listening. A recording cannot answer, so
    /// this is for tests of the requesting side: nothing is sent anyway, and
    /// sources that never claimed are not published by address.
    #[arg(long)]
    pub active: bool,
    /// Listen only (the default; kept so that older command lines still work).
    #[arg(long, hide = true, conflicts_with = "active")]
    pub listen_only: bool,
    /// Keep the services published after the end of the capture, until SIGINT or
    /// SIGTERM; the capture's clock stops at its last record.
    #[arg(long)]
    pub hold: bool,
    /// Interface name for the service names when the capture names none.
    #[arg(long, default_value = "can0")]
    pub interface: String,
    #[command(flatten)]
    pub services: ServiceArgs,
    /// Count and skip malformed lines instead of stopping at the first one.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Replay the capture this many times, one after the other on one clock
    /// (the devices stay; for soak tests and benchmarks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Write every frame the gateway sends (with --active) to this file, as
    /// candump -L lines timed on the capture's clock.
    #[arg(long, value_name = "FILE")]
    pub transmit_log: Option<PathBuf>,
    /// NMEA 2000-out against the services on the bus (with --active), the capture
    /// being the rest of the network; see `run --n2k-out`.
    #[command(flatten)]
    pub export: ExportArgs,
}

/// How long an interrupted replay waits for the gateway thread to end.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// What the gateway thread reports at the end.
struct Finished {
    records: u64,
    elapsed: Duration,
    services: usize,
    clock_steps: u64,
}

pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    check_speed(a.speed)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(replay(a, None))
}

/// Refuses a speed that is no speed (zero, negative, not a number) or one so far
/// from 1 that a second of capture would take longer than a day or less than a
/// nanosecond.
pub(super) fn check_speed(speed: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        speed.is_finite() && (1e-5..=1e9).contains(&speed),
        "--speed must be a number from 0.00001 to 1000000000 (it is {speed:?})"
    );
    Ok(())
}

/// The replay; with `held`, it is told instead of printing when the services are
/// held, and prints no summary (the demo shows its own table). Long because it is
/// the process's life in order: set-up, the capture's end, settling, the hold, the
/// stop.
pub(super) async fn replay(
    a: ReplayArgs,
    held: Option<oneshot::Sender<()>>,
) -> anyhow::Result<ExitCode> {
    let quiet = held.is_some();
    let wall = Instant::now();
    let signals = signals()?;
    anyhow::ensure!(
        !a.export.n2k_out || a.active,
        "--n2k-out needs --active: a listening gateway puts no device on the bus"
    );
    // The capture is opened and its first record read before anything is
    // published: a missing, unreadable or empty capture fails at once.
    let mut reader = capture(&a.file, a.skip_bad_lines)?;
    let first = reader.next_record().transpose()?;
    anyhow::ensure!(
        first.is_some(),
        "{}: the capture holds no frames",
        a.file.display()
    );
    let outbox = Arc::new(Outbox::new());
    let settings = match Settings::connect(&a.dbus, None).await {
        Ok(s) => Some(s),
        Err(e) => anyhow::bail!("cannot connect to the {} bus: {e}", a.dbus),
    };
    let (writes_tx, writes_rx) = mpsc::channel(64);
    let iface = reader.interface().unwrap_or(&a.interface).to_owned();
    let services = a
        .export
        .n2k_out
        .then(|| dbus_watch::spawn(a.dbus.clone(), iface.clone(), exportable).0);
    let (inject, platform) = dbus_platform::spawn(a.dbus.clone(), iface.clone());
    let publisher = Publisher::new(
        a.services.publisher(&a.dbus, &iface),
        settings,
        Some(writes_tx),
    );
    let done = publisher.batches_done();
    let lost = publisher.lost();
    let (end_tx, end_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let gateway_outbox = outbox.clone();
    let hold = a.hold;
    let (finished_tx, finished_rx) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            let feed = Feed {
                reader,
                next: first,
                writes: writes_rx,
                stop: stop_rx,
                services,
                switch: Switch::default(),
                inject,
                platform,
            };
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(gateway_task(a, feed, gateway_outbox, end_tx)));
            let _ = finished_tx.send(result);
        })?;

    let (publisher_stop_tx, publisher_stop_rx) = oneshot::channel::<()>();
    let publisher = tokio::spawn(publisher.run(outbox.clone(), async {
        let _ = publisher_stop_rx.await;
    }));
    let mut interrupted = tokio::select! {
        _ = end_rx => false,
        _ = signals.wait() => true,
        service = lost.wait() => return Err(bus_gone(&service)),
    };
    if !interrupted {
        // Everything the capture made goes on the bus before the end withdraws it.
        tokio::select! {
            () = settle(&outbox, &done) => {}
            _ = signals.wait() => interrupted = true,
            service = lost.wait() => return Err(bus_gone(&service)),
        }
    }
    if hold && !interrupted {
        match held {
            Some(tx) => {
                let _ = tx.send(());
            }
            None => println!("replay finished; holding the services until interrupted"),
        }
        tokio::select! {
            _ = signals.wait() => {}
            service = lost.wait() => return Err(bus_gone(&service)),
        }
    }
    // The gateway thread withdraws everything and ends; then the publisher. Told to
    // stop, it ends at its next record; one blocked reading a pipe that says nothing
    // more is left to the end of the process (the publisher withdraws anyway).
    let _ = stop_tx.send(true);
    let finished = if interrupted {
        tokio::time::timeout(STOP_WAIT, finished_rx).await.ok()
    } else {
        Some(finished_rx.await)
    };
    let _ = publisher_stop_tx.send(());
    let stats = publisher.await.context("the publisher stopped")?;
    let Some(finished) = finished else {
        eprintln!("n2k-dbus: the capture's input is still blocked; ending without it");
        return Ok(ExitCode::SUCCESS);
    };
    let finished = finished.map_err(|_| anyhow::anyhow!("the gateway thread panicked"))??;
    let _ = thread.join();
    if quiet {
        return Ok(ExitCode::SUCCESS);
    }
    report(&finished, &stats, wall.elapsed());
    Ok(ExitCode::SUCCESS)
}

/// The summary line: records and their rate, the capture's clock steps, services,
/// what went to D-Bus, the peak memory.
fn report(finished: &Finished, stats: &PublisherStats, wall: Duration) {
    let secs = finished.elapsed.as_secs_f64().max(1e-9);
    let wall = wall.as_secs_f64().max(1e-9);
    let messages = stats.published + stats.withdrawn + stats.items_changed;
    let steps = match finished.clock_steps {
        0 => String::new(),
        1 => "; the capture's clock stepped once".to_owned(),
        n => format!("; the capture's clock stepped {n} times"),
    };
    println!(
        "replayed {} records in {secs:.6} s ({:.0} frames/s){steps}; {} services; D-Bus: {} published, {} ItemsChanged, {} withdrawn in {} flushes, {:.0} messages/s over {wall:.3} s; peak RSS {} kB",
        finished.records,
        finished.records as f64 / secs,
        finished.services,
        stats.published,
        stats.items_changed,
        stats.withdrawn,
        stats.flushes,
        messages as f64 / wall,
        peak_rss_kb().map_or_else(|| "?".to_owned(), |k| k.to_string()),
    );
}

/// What the gateway thread reads from.
struct Feed {
    reader: Capture,
    next: Option<Record>,
    writes: mpsc::Receiver<Request>,
    stop: watch::Receiver<bool>,
    /// NMEA 2000-out: what the D-Bus watcher sees, and its switch.
    services: Option<mpsc::Receiver<Watched>>,
    switch: Switch,
    /// Alerts: notifications to inject, and what the platform reports.
    inject: mpsc::Sender<String>,
    platform: mpsc::Receiver<PlatformEvent>,
}

impl Feed {
    /// A report of the watcher, at `now`.
    fn watched(&mut self, driver: &mut Driver, now: Micros, w: Watched, iface: &str) {
        match (self.switch.follow(&w, iface), w) {
            (_, Watched::Service(input)) => driver.service(now, input),
            (Some(on), _) => driver.set_export_enabled(now, on),
            _ => {}
        }
    }

    /// Every report waiting, at `now`.
    fn watched_waiting(&mut self, driver: &mut Driver, now: Micros, iface: &str) {
        while let Some(w) = self.services.as_mut().and_then(|r| r.try_recv().ok()) {
            self.watched(driver, now, w, iface);
        }
        while let Ok(ev) = self.platform.try_recv() {
            self.on_platform(driver, now, ev);
        }
        self.drain(driver);
    }

    /// A report of the platform, at `now`.
    fn on_platform(&mut self, driver: &mut Driver, now: Micros, ev: PlatformEvent) {
        driver.platform(now, ev);
        self.drain(driver);
    }

    /// Takes what the gateway handed out: the alerts raised so far go to the
    /// platform task; frames (already in the transmit log) have no bus to go to,
    /// and a replay keeps no state.
    fn drain(&mut self, driver: &mut Driver) {
        while let Some(o) = driver.poll() {
            if let Output::Notification(n) = o {
                super::notify(n, &self.inject);
            }
        }
    }
}

/// Drives the gateway over the capture; `end` is told when the capture is done.
/// With `--hold`, it then answers writes until told to stop. On the stop it
/// withdraws every service. Long because it is the gateway thread's life in order:
/// the capture, the end, the hold, the stop.
async fn gateway_task(
    a: ReplayArgs,
    mut feed: Feed,
    outbox: Arc<Outbox>,
    end: oneshot::Sender<()>,
) -> anyhow::Result<Finished> {
    let iface = feed.reader.interface().unwrap_or(&a.interface).to_owned();
    let unique = machine_unique_number(&iface).unwrap_or(1);
    let mut core = CoreConfig::gateway(unique);
    core.listen_only = !a.active;
    let mut gateway = Gateway::new(a.services.gateway(&iface, core), outbox);
    if let Some(x) = a.export.config(None) {
        gateway = gateway.with_export(x);
    }
    let mut driver = Driver::new(gateway);
    if let Some(p) = &a.transmit_log {
        let log = TransmitLog::create(p, &iface)
            .with_context(|| format!("cannot create the transmit log {}", p.display()))?;
        driver.log_transmit(log, None);
    }
    let started = Instant::now();
    let mut records = 0u64;
    let mut pace = (!a.fast).then(|| Pace::new(a.speed));
    let mut stopped = false;
    'passes: for pass in 0..a.repeat {
        if pass > 0 {
            feed.reader = capture(&a.file, a.skip_bad_lines)?;
            feed.next = feed.reader.next_record().transpose()?;
            driver.rewind();
        }
        while let Some(rec) = feed.next.take() {
            let t = driver.time_of(&rec);
            if let Some(pace) = &mut pace {
                if !pace.wait_for(&mut driver, &mut feed, t, &iface).await {
                    stopped = true;
                    break 'passes;
                }
            } else if records % 64 == 0 {
                if *feed.stop.borrow() {
                    stopped = true;
                    break 'passes;
                }
                answer_writes(&mut driver, &mut feed.writes);
                let now = driver.now();
                feed.watched_waiting(&mut driver, now, &iface);
            }
            driver.feed_record_at(t, &rec);
            feed.drain(&mut driver);
            records += 1;
            feed.next = feed.reader.next_record().transpose()?;
        }
    }
    let elapsed = started.elapsed();
    if feed.reader.bad_lines() > 0 {
        eprintln!(
            "n2k-dbus: skipped {} malformed line(s)",
            feed.reader.bad_lines()
        );
    }
    let clock_steps = driver.gateway().clock_steps();
    if !stopped {
        let now = driver.now();
        if a.hold {
            driver.finish(now);
        }
        let _ = end.send(());
        driver.flush_transmit_log();
        // The capture's clock stands still at its last record; writes are answered
        // until the shell has everything on the bus (and, held, until interrupted).
        loop {
            tokio::select! {
                w = feed.writes.recv() => match w {
                    Some(w) => driver.request(now, w),
                    None => break,
                },
                Some(w) = recv_watched(&mut feed.services) => feed.watched(&mut driver, now, w, &iface),
                Some(ev) = feed.platform.recv() => feed.on_platform(&mut driver, now, ev),
                _ = feed.stop.changed() => break,
            }
            feed.drain(&mut driver);
            driver.flush_transmit_log();
        }
    }
    // The services that were on the bus, counted before the end withdraws them.
    let services = driver.gateway().published();
    driver.withdraw_all();
    Ok(Finished {
        records,
        elapsed,
        services,
        clock_steps,
    })
}

/// The capture's clock against the wall clock: capture time `t0` was due at `w0`.
struct Pace {
    speed: f64,
    anchor: Option<(Micros, tokio::time::Instant)>,
}

impl Pace {
    fn new(speed: f64) -> Pace {
        Pace {
            speed,
            anchor: None,
        }
    }

    /// When capture time `t` is due on the wall clock.
    fn due(&self, t: Micros) -> tokio::time::Instant {
        let Some((t0, w0)) = self.anchor else {
            return tokio::time::Instant::now();
        };
        let secs = ((t - t0).max(0) as f64 / 1e6) / self.speed;
        w0 + Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX / 4)
    }

    /// The capture time that corresponds to now.
    fn now(&self) -> Micros {
        let Some((t0, w0)) = self.anchor else {
            return 0;
        };
        let wall = w0.elapsed().as_secs_f64();
        t0.saturating_add((wall * self.speed * 1e6) as Micros)
    }

    /// Waits until capture time `t` is due, firing the gateway's timers at theirs
    /// and answering writes as they come. False when told to stop.
    async fn wait_for(
        &mut self,
        driver: &mut Driver,
        feed: &mut Feed,
        t: Micros,
        iface: &str,
    ) -> bool {
        self.anchor.get_or_insert((t, tokio::time::Instant::now()));
        // What was sent so far reaches the transmit log before the wait, so that the
        // log can be followed while a paced replay runs (`tail -f`, the tests).
        driver.flush_transmit_log();
        loop {
            let wake = driver.next_wake();
            let timer = wake < t;
            let until = self.due(if timer { wake } else { t });
            tokio::select! {
                biased;
                r = feed.stop.changed() => if r.is_err() || *feed.stop.borrow() {
                    return false;
                },
                w = feed.writes.recv() => if let Some(w) = w {
                    let now = self.now().min(t);
                    driver.request(now, w);
                },
                Some(w) = recv_watched(&mut feed.services) => {
                    let now = self.now().min(t);
                    feed.watched(driver, now, w, iface);
                }
                Some(ev) = feed.platform.recv() => {
                    let now = self.now().min(t);
                    feed.on_platform(driver, now, ev);
                }
                () = tokio::time::sleep_until(until) => {
                    if !timer {
                        return true;
                    }
                    driver.advance(wake);
                    feed.drain(driver);
                }
            }
        }
    }
}

fn answer_writes(driver: &mut Driver, writes: &mut mpsc::Receiver<Request>) {
    while let Ok(w) = writes.try_recv() {
        let now = driver.now();
        driver.request(now, w);
    }
}

/// The process's peak resident set (VmHWM), in kB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
