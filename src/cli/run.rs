//! `n2k-dbus run`: the live daemon on one SocketCAN interface.
//!
//! One single-threaded tokio runtime carries everything: the socket, the gateway's
//! timers, the writes of D-Bus clients and the publisher. The shell
//! ([`n2k_dbus::shell`]) owns the driver and the socket; the interface may be
//! missing, go down and come back at any time, and none of that ends the process —
//! only a stop signal or the D-Bus daemon going away do. The gateway runs on the monotonic clock: setting the system
//! clock changes nothing but the timestamps in the log (and is counted as a clock
//! step).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use n2k_dbus::can::Micros;
use n2k_dbus::dbus::platform;
use n2k_dbus::dbus::watch;
use n2k_dbus::dbus::{Bus, Outbox, Publisher, Settings};
use n2k_dbus::driver::{Driver, TransmitLog};
use n2k_dbus::export::ExportConfig;
use n2k_dbus::gateway::{Gateway, GatewayConfig};
use n2k_dbus::shell::socket::MAX_RETRY;
use n2k_dbus::shell::{Ended, Make, Notifier, Shell, Socket, Source, Start, Venus};
use n2k_dbus::time::Monotonic;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::{bus_gone, exportable, signals, ExportArgs, NodeArgs, ServiceArgs};

const SECOND: Micros = 1_000_000;

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
    let rt = n2k_dbus::shell::runtime()?;
    rt.block_on(daemon(a))
}

/// The daemon: connecting, the publisher, watcher and platform tasks, the shell
/// until a stop, shutdown.
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
    let notifier = Notifier::from_env();
    // Ready as soon as it runs: waiting for the bus or the interface is part of its
    // work (told in STATUS=), not a start-up that systemd should time out.
    notifier.notify(&format!(
        "READY=1\nSTATUS=starting on {iface}: connecting to the {} bus",
        a.dbus
    ));
    let signals = signals()?;
    let Some(settings) = connect(&a.dbus, &settings_file, &notifier, &signals).await else {
        notifier.notify("STOPPING=1");
        info!("stopped before the bus was reachable");
        return Ok(ExitCode::SUCCESS);
    };
    let outbox = Arc::new(Outbox::new());
    let (writes_tx, writes) = mpsc::channel(64);
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
    let (venus, rescan) = venus(&a.dbus, &iface, export.is_some(), writes);
    let config = a.services.gateway(&a.interface, core);
    let make = gateway(config, outbox, export, rescan);
    let mut shell = Shell::new(
        Source::Socket(Socket::waiting(&iface, Monotonic::new())),
        venus,
        make,
    )
    .keep(state, state_path)
    .notifier(notifier)
    .transmit_log(transmit_log)
    .grace(a.link_grace.saturating_mul(SECOND as u64) as Micros);
    let stop = async {
        tokio::select! {
            _ = signals.wait() => None,
            service = lost.wait() => Some(service),
        }
    };
    let ended = shell.run(stop).await?;
    shell.notify("STOPPING=1");
    if let Ended::Stopped(Some(service)) = ended {
        return Err(bus_gone(&service));
    }
    let services = shell.withdraw_all();
    let _ = stop_tx.send(());
    let stats = publisher.await.context("the publisher stopped")?;
    info!(
        services,
        withdrawn = stats.withdrawn,
        "stopped; every service withdrawn"
    );
    Ok(ExitCode::SUCCESS)
}

/// The D-Bus side: clients' writes, the platform task, and with NMEA 2000-out the
/// watcher of other processes' services (and how to make it scan them again).
fn venus(
    bus: &Bus,
    iface: &str,
    export: bool,
    writes: mpsc::Receiver<n2k_dbus::dbus::Request>,
) -> (Venus, Option<mpsc::Sender<()>>) {
    let (watched, rescan) = match export {
        true => {
            let (rx, tx) = watch::spawn(bus.clone(), iface.to_owned(), exportable);
            (Some(rx), Some(tx))
        }
        false => (None, None),
    };
    let (inject, platform) = platform::spawn(bus.clone(), iface.to_owned());
    let venus = Venus::none(iface)
        .writes(writes)
        .watched(watched)
        .platform(inject, platform);
    (venus, rescan)
}

/// How the daemon makes a gateway whenever the interface opens without one: from
/// the switch outputs' and NMEA 2000-out's state, at the address claimed last.
fn gateway(
    mut config: GatewayConfig,
    outbox: Arc<Outbox>,
    export: Option<ExportConfig>,
    rescan: Option<mpsc::Sender<()>>,
) -> Make {
    Box::new(move |start: Start<'_>| {
        if let Some(address) = start.claimed {
            config.core.preferred_address = address;
        }
        let kept = |prefix: &str| -> Vec<(String, String)> {
            start.state.map_or_else(Vec::new, |s| {
                s.with_prefix(prefix)
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
        };
        let mut g = Gateway::new(config.clone(), outbox.clone())
            .with_switch_state(kept(n2k_dbus::venus::switches::STATE_PREFIX));
        g.set_alerts_enabled(start.alerts_in);
        if let Some(x) = &export {
            let mut x = x.clone();
            x.state = kept(n2k_dbus::export::STATE_PREFIX);
            g = g.with_export(x);
            g.set_export_enabled(start.now, start.export_on);
            // The new gateway needs every service again.
            if let Some(r) = &rescan {
                let _ = r.try_send(());
            }
        }
        g.start(start.now);
        Driver::new(g)
    })
}

/// Connects to the bus, trying again while it is not there (a system bus that
/// starts after us, a socket not yet created): 1 s, doubling up to 10 s, said once
/// per kind of failure. `None` when stopped meanwhile.
async fn connect(
    bus: &Bus,
    settings_file: &std::path::Path,
    notifier: &Notifier,
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
