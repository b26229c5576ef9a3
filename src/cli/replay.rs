//! `n2k-dbus replay`: the whole gateway over a capture, on the capture's clock (or
//! as fast as possible), publishing its services on a D-Bus bus.
//!
//! The gateway runs on its own thread, the publisher on a single-threaded tokio
//! runtime; they meet in the outbox. Writes from D-Bus clients reach the gateway
//! thread through the publisher's gateway channel.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use n2k_dbus::can::Micros;
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::{settled, Bus, Outbox, Publisher, Settings, WriteRequest};
use n2k_dbus::gateway::Gateway;
use n2k_dbus::logs::{CaptureClock, LogReader};
use n2k_dbus::state::machine_unique_number;
use tokio::sync::{mpsc, oneshot};

use super::decode::open;
use super::{signalled, ServiceArgs};

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
    /// Take no part in the bus: no claim, no requests (nothing is sent anyway).
    #[arg(long)]
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
}

/// What the gateway thread reports at the end.
struct Finished {
    records: u64,
    elapsed: Duration,
    services: usize,
}

pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.speed.is_finite() && a.speed > 0.0,
        "--speed must be a positive number"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(replay(a, None))
}

/// The replay; with `held`, it is told instead of printing when the services are
/// held, and prints no summary (the demo shows its own table).
pub(super) async fn replay(
    a: ReplayArgs,
    held: Option<oneshot::Sender<()>>,
) -> anyhow::Result<ExitCode> {
    let quiet = held.is_some();
    let wall = Instant::now();
    let outbox = Arc::new(Outbox::new());
    let settings = match Settings::connect(&a.dbus, None).await {
        Ok(s) => Some(s),
        Err(e) => anyhow::bail!("cannot connect to the {} bus: {e}", a.dbus),
    };
    let (writes_tx, writes_rx) = mpsc::channel(64);
    let publisher = Publisher::new(a.services.publisher(&a.dbus), settings, Some(writes_tx));
    let done = publisher.batches_done();
    let (end_tx, end_rx) = oneshot::channel();
    let gateway_outbox = outbox.clone();
    let hold = a.hold;
    let thread = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            let mut end = Some(end_tx);
            let result = gateway_thread(&a, gateway_outbox, writes_rx, &mut end);
            if let Some(end) = end {
                let _ = end.send(());
            }
            result
        })?;

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let publisher = tokio::spawn(publisher.run(outbox.clone(), async {
        let _ = stop_rx.await;
    }));
    let interrupted = tokio::select! {
        _ = end_rx => false,
        () = signalled() => true,
    };
    if hold && !interrupted {
        while !settled(&outbox, &done) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        match held {
            Some(tx) => {
                let _ = tx.send(());
            }
            None => println!("replay finished; holding the services until interrupted"),
        }
        signalled().await;
    }
    let _ = stop_tx.send(());
    let stats = publisher.await.context("the publisher stopped")?;
    if interrupted && !thread.is_finished() {
        // The gateway thread ends with the process.
        return Ok(ExitCode::SUCCESS);
    }
    let finished = thread
        .join()
        .map_err(|_| anyhow::anyhow!("the gateway thread panicked"))??;
    if quiet {
        return Ok(ExitCode::SUCCESS);
    }
    let secs = finished.elapsed.as_secs_f64().max(1e-9);
    let wall = wall.elapsed().as_secs_f64().max(1e-9);
    let messages = stats.published + stats.withdrawn + stats.items_changed;
    println!(
        "replayed {} records in {secs:.3} s ({:.0} frames/s); {} services; D-Bus: {} published, {} ItemsChanged, {} withdrawn in {} flushes, {:.0} messages/s over {wall:.3} s; peak RSS {} kB",
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
    Ok(ExitCode::SUCCESS)
}

/// Reads the capture and drives the gateway; `end` is told when the capture is
/// done. With `--hold`, it then answers writes until the publisher goes away.
fn gateway_thread(
    a: &ReplayArgs,
    outbox: Arc<Outbox>,
    mut writes: mpsc::Receiver<WriteRequest>,
    end: &mut Option<oneshot::Sender<()>>,
) -> anyhow::Result<Finished> {
    let mut reader = LogReader::new(open(&a.file)?, a.file.display().to_string())
        .skip_bad_lines(a.skip_bad_lines);
    let first = reader.next_record().transpose()?;
    let iface = reader.interface().unwrap_or(&a.interface).to_owned();
    let unique = machine_unique_number(&iface).unwrap_or(1);
    let mut core = CoreConfig::gateway(unique);
    core.listen_only = a.listen_only;
    let mut gateway = Gateway::new(a.services.gateway(&iface, core), outbox);
    let started = Instant::now();
    let mut records = 0u64;
    let mut clock: Option<(Micros, Instant)> = None;
    let mut now: Micros = 0;
    let mut next = first;
    // Each pass starts a second after the previous one ended, on one clock.
    let mut offset: Micros = 0;
    for pass in 0..a.repeat {
        if pass > 0 {
            reader = LogReader::new(open(&a.file)?, a.file.display().to_string())
                .skip_bad_lines(a.skip_bad_lines);
            next = reader.next_record().transpose()?;
            offset = now + 1_000_000;
        }
        let mut capture_clock = CaptureClock::new();
        let mut base = None;
        while let Some(rec) = next {
            let own = capture_clock.time(&rec);
            let t = offset + own - *base.get_or_insert(own);
            if !a.fast {
                let (t0, w0) = *clock.get_or_insert((t, Instant::now()));
                pace(&mut gateway, &mut writes, t0, w0, t, a.speed);
            }
            gateway.on_record_at(t, &rec);
            now = t;
            records += 1;
            gateway.take_transmit();
            if records % 64 == 0 {
                answer_writes(&mut gateway, &mut writes, now);
            }
            next = reader.next_record().transpose()?;
        }
    }
    let elapsed = started.elapsed();
    if reader.bad_lines() > 0 {
        eprintln!("n2k-dbus: skipped {} malformed line(s)", reader.bad_lines());
    }
    let services = gateway.mapper().published();
    if a.hold {
        gateway.finish(now);
        if let Some(end) = end.take() {
            let _ = end.send(());
        }
        while let Some(w) = writes.blocking_recv() {
            answer(&mut gateway, w, now);
        }
    } else {
        gateway.withdraw_all();
    }
    Ok(Finished {
        records,
        elapsed,
        services,
    })
}

/// Waits until capture time `t` is due on the wall clock, running the gateway's
/// timers and answering writes meanwhile.
fn pace(
    gateway: &mut Gateway,
    writes: &mut mpsc::Receiver<WriteRequest>,
    t0: Micros,
    w0: Instant,
    t: Micros,
    speed: f64,
) {
    let due = |t: Micros| w0 + Duration::from_secs_f64(((t - t0).max(0) as f64 / 1e6) / speed);
    loop {
        let wall = Instant::now();
        let target = due(t);
        if wall >= target {
            return;
        }
        // The capture time that corresponds to now, for timers between records.
        let virtual_now = t0 + ((wall - w0).as_secs_f64() * speed * 1e6) as Micros;
        gateway.advance(virtual_now.min(t));
        gateway.take_transmit();
        answer_writes(gateway, writes, virtual_now.min(t));
        std::thread::sleep((target - wall).min(Duration::from_millis(20)));
    }
}

fn answer_writes(gateway: &mut Gateway, writes: &mut mpsc::Receiver<WriteRequest>, now: Micros) {
    while let Ok(w) = writes.try_recv() {
        answer(gateway, w, now);
    }
}

fn answer(gateway: &mut Gateway, w: WriteRequest, now: Micros) {
    let outcome = gateway.on_write(now, &w.service, &w.path, &w.value);
    let _ = w.reply.send(outcome);
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
