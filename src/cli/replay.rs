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
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::platform as dbus_platform;
use n2k_dbus::dbus::watch as dbus_watch;
use n2k_dbus::dbus::{settle, Bus, Outbox, Publisher, PublisherStats, Settings};
use n2k_dbus::driver::{Driver, TransmitLog};
use n2k_dbus::gateway::Gateway;
use n2k_dbus::shell::{Capture, Ended, Shell, Source, Speed, Venus};
use n2k_dbus::state::machine_unique_number;
use tokio::sync::{oneshot, watch};

use super::decode::capture;
use super::{bus_gone, exportable, signals, ExportArgs, ServiceArgs};

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

/// What the gateway thread ends with; an interrupted one is waited for
/// [`STOP_WAIT`] at most (`None`: still blocked on its input).
async fn gateway_end(
    finished: oneshot::Receiver<anyhow::Result<Finished>>,
    interrupted: bool,
) -> Option<Result<anyhow::Result<Finished>, oneshot::error::RecvError>> {
    if interrupted {
        tokio::time::timeout(STOP_WAIT, finished).await.ok()
    } else {
        Some(finished.await)
    }
}

/// Waits for the capture's end and everything it made to be on the bus, then,
/// with `hold`, for a stop signal; true when a signal came first. The service
/// whose connection closed, when the bus went away.
async fn until_stopped(
    signals: &n2k_dbus::shell::Signals,
    lost: &n2k_dbus::dbus::BusLost,
    end: oneshot::Receiver<()>,
    outbox: &Outbox,
    done: &n2k_dbus::dbus::Carried,
    hold: bool,
    held: Option<oneshot::Sender<()>>,
) -> Result<bool, Arc<str>> {
    tokio::select! {
        _ = end => {}
        _ = signals.wait() => return Ok(true),
        service = lost.wait() => return Err(service),
    };
    // Everything the capture made goes on the bus before the end withdraws it.
    tokio::select! {
        () = settle(outbox, done) => {}
        _ = signals.wait() => return Ok(true),
        service = lost.wait() => return Err(service),
    }
    if hold {
        match held {
            Some(tx) => {
                let _ = tx.send(());
            }
            None => println!("replay finished; holding the services until interrupted"),
        }
        tokio::select! {
            _ = signals.wait() => {}
            service = lost.wait() => return Err(service),
        }
    }
    Ok(false)
}

/// The capture to replay, as the arguments say how; refused when it holds no frames.
fn open_capture(a: &ReplayArgs) -> anyhow::Result<Capture> {
    let speed = if a.fast {
        Speed::Fast
    } else {
        Speed::Paced(a.speed)
    };
    let reader = capture(&a.file, a.skip_bad_lines)?;
    let source = Capture::new(&a.file, a.skip_bad_lines, reader, speed, a.repeat)?;
    anyhow::ensure!(
        !source.is_empty(),
        "{}: the capture holds no frames",
        a.file.display()
    );
    Ok(source)
}

/// The gateway's thread, with its own runtime, and where its end is told.
type GatewayThread = (
    std::thread::JoinHandle<()>,
    oneshot::Receiver<anyhow::Result<Finished>>,
);

/// What the gateway thread works with: the capture, the D-Bus side, where the
/// services go, when to stop and where to tell the capture's end.
struct Task {
    a: ReplayArgs,
    iface: String,
    source: Capture,
    venus: Venus,
    outbox: Arc<Outbox>,
    stop: watch::Receiver<bool>,
    end: oneshot::Sender<()>,
}

/// Starts the gateway thread: the shell over the task's capture.
fn spawn_gateway(task: Task) -> anyhow::Result<GatewayThread> {
    let (finished_tx, finished_rx) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(gateway_task(task)));
            let _ = finished_tx.send(result);
        })?;
    Ok((thread, finished_rx))
}

/// What the gateway thread reports at the end.
struct Finished {
    records: u64,
    elapsed: Duration,
    services: usize,
    clock_steps: u64,
}

pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    check_speed(a.speed)?;
    let rt = n2k_dbus::shell::runtime()?;
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
/// held, and prints no summary (the demo shows its own table).
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
    let source = open_capture(&a)?;
    let outbox = Arc::new(Outbox::new());
    let settings = match Settings::connect(&a.dbus, None).await {
        Ok(s) => Some(s),
        Err(e) => anyhow::bail!("cannot connect to the {} bus: {e}", a.dbus),
    };
    let (writes_tx, writes_rx) = tokio::sync::mpsc::channel(64);
    let iface = source.interface().unwrap_or(&a.interface).to_owned();
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
    let hold = a.hold;
    let venus = Venus::none(&iface)
        .writes(writes_rx)
        .watched(services)
        .platform(inject, platform);
    let (thread, finished_rx) = spawn_gateway(Task {
        a,
        iface,
        source,
        venus,
        outbox: outbox.clone(),
        stop: stop_rx,
        end: end_tx,
    })?;

    let (publisher_stop_tx, publisher_stop_rx) = oneshot::channel::<()>();
    let publisher = tokio::spawn(publisher.run(outbox.clone(), async {
        let _ = publisher_stop_rx.await;
    }));
    let interrupted = match until_stopped(&signals, &lost, end_rx, &outbox, &done, hold, held).await
    {
        Ok(interrupted) => interrupted,
        Err(service) => return Err(bus_gone(&service)),
    };
    // The gateway thread withdraws everything and ends; then the publisher. Told to
    // stop, it ends at its next record; one blocked reading a pipe that says nothing
    // more is left to the end of the process (the publisher withdraws anyway).
    let _ = stop_tx.send(true);
    let finished = gateway_end(finished_rx, interrupted).await;
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

/// Drives the gateway over the capture in the shell; `end` is told when the
/// capture is over. Then writes are answered (the capture's clock standing still
/// at its last record) until told to stop; on the stop every service is withdrawn.
async fn gateway_task(task: Task) -> anyhow::Result<Finished> {
    let Task {
        a,
        iface,
        source,
        venus,
        outbox,
        stop,
        end,
    } = task;
    let unique = machine_unique_number(&iface).unwrap_or(1);
    let mut core = CoreConfig::gateway(unique);
    core.listen_only = !a.active;
    let config = a.services.gateway(&iface, core);
    let export = a.export.config(None);
    let log = match &a.transmit_log {
        Some(p) => Some(
            TransmitLog::create(p, &iface)
                .with_context(|| format!("cannot create the transmit log {}", p.display()))?,
        ),
        None => None,
    };
    let make = Box::new(move |_: n2k_dbus::shell::Start<'_>| {
        let mut gateway = Gateway::new(config.clone(), outbox.clone());
        if let Some(x) = &export {
            gateway = gateway.with_export(x.clone());
        }
        Driver::new(gateway)
    });
    let mut shell = Shell::new(Source::Capture(source), venus, make).transmit_log(log);
    let started = Instant::now();
    let ended = shell.run(stopped(stop.clone())).await?;
    let elapsed = started.elapsed();
    let (records, bad_lines) = shell
        .source()
        .capture()
        .map_or((0, 0), |c| (c.records(), c.bad_lines()));
    if bad_lines > 0 {
        eprintln!("n2k-dbus: skipped {bad_lines} malformed line(s)");
    }
    let clock_steps = shell.driver().map_or(0, |d| d.gateway().clock_steps());
    if ended == Ended::Over {
        if a.hold {
            shell.finish();
        }
        let _ = end.send(());
        shell.run(stopped(stop)).await?;
    }
    // The services that were on the bus, counted before the end withdraws them.
    let services = shell.withdraw_all();
    Ok(Finished {
        records,
        elapsed,
        services,
        clock_steps,
    })
}

/// Until the shell is told to stop (or the shell's side is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
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
