//! `n2k-dbus demo`: the whole gateway without CAN hardware and without touching the
//! system bus. It starts a private dbus-daemon, replays a bundled two-minute boat
//! (or a capture given) through the gateway onto it, and shows the services as a
//! D-Bus client reads them, refreshed every second.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use n2k_dbus::dbus::Bus;
use tokio::sync::oneshot;
use zbus::zvariant::OwnedValue;

use super::replay::{replay, ReplayArgs};
use super::ServiceArgs;

/// The bundled capture: a boat with tanks, temperatures, a battery monitor, a GNSS
/// receiver, shore power and a charger (`candump-samples/scenarios/venus.py`).
const BOAT: &str = include_str!("../../candump-samples/scenarios/venus/demo-boat.log");

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Play this capture instead of the bundled boat.
    #[arg(long)]
    pub capture: Option<PathBuf>,
    /// Play the capture again and again (on one clock: the devices stay).
    #[arg(long = "loop")]
    pub repeat: bool,
    /// Play this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    #[command(flatten)]
    pub services: ServiceArgs,
}

pub fn run(a: DemoArgs) -> anyhow::Result<ExitCode> {
    super::replay::check_speed(a.speed)?;
    if let Some(c) = &a.capture {
        // A capture that cannot be read fails here, before any bus is started (the
        // demo skips malformed lines, but not a file that is no capture at all).
        let mut reader = super::decode::capture(c, false)?;
        match reader.next_record() {
            None => super::decode::no_frames(0, c)?,
            Some(Err(e @ n2k_dbus::logs::LogError::NotText { .. })) => return Err(e.into()),
            Some(_) => {}
        }
    }
    let dir = std::env::temp_dir().join(format!("n2k-dbus-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let daemon = PrivateBus::start(&dir)?;
    let capture = match &a.capture {
        Some(c) => c.clone(),
        None => {
            let p = dir.join("demo-boat.log");
            std::fs::write(&p, BOAT).with_context(|| format!("cannot write {}", p.display()))?;
            p
        }
    };
    let address = daemon.address();
    print_intro(&address, &capture, a.capture.is_none());

    let rt = n2k_dbus::shell::runtime()?;
    let args = ReplayArgs {
        file: capture,
        dbus: Bus::Address(address.clone()),
        speed: a.speed,
        fast: false,
        active: false,
        listen_only: false,
        hold: true,
        interface: "can0".into(),
        services: a.services,
        skip_bad_lines: true,
        repeat: if a.repeat { u32::MAX } else { 1 },
        transmit_log: None,
        export: super::ExportArgs {
            n2k_out: false,
            n2k_out_types: Vec::new(),
            n2k_out_exclude: Vec::new(),
            n2k_out_block: 1,
        },
    };
    let result = rt.block_on(async {
        let (held_tx, held_rx) = oneshot::channel();
        let replay = replay(args, Some(held_tx));
        tokio::pin!(replay);
        tokio::select! {
            r = &mut replay => r,
            () = show(&address, held_rx) => replay.await,
        }
    });
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
    println!("demo ended; every service withdrawn");
    result
}

fn print_intro(address: &str, capture: &Path, bundled: bool) {
    let what = if bundled {
        "the bundled two-minute boat".to_owned()
    } else {
        capture.display().to_string()
    };
    println!("n2k-dbus demo: {what} through the gateway onto a private D-Bus");
    print!("{}", how_to_look(address));
    println!("  Ctrl-C ends it.");
    println!();
}

/// How to look at the bus from another terminal: printed first, and kept at the top
/// of the refreshing table.
fn how_to_look(address: &str) -> String {
    format!(
        "  bus      {address}\n  \
         busctl   busctl --address={address} list | grep victronenergy\n  \
         read     dbus-send --bus={address} --print-reply --dest=<service> / com.victronenergy.BusItem.GetItems\n  \
         dbus-spy DBUS_SYSTEM_BUS_ADDRESS={address} dbus-spy\n"
    )
}

/// A dbus-daemon of our own, ended with us. It runs in its own process group so
/// that Ctrl-C reaches only us, and we withdraw before it goes.
struct PrivateBus {
    child: Child,
    socket: PathBuf,
}

impl PrivateBus {
    fn start(dir: &Path) -> anyhow::Result<PrivateBus> {
        let socket = dir.join("bus");
        let mut child = Command::new("dbus-daemon")
            .arg("--session")
            .arg("--nofork")
            .arg("--nopidfile")
            .arg("--print-address=1")
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context(
                "the demo runs its own dbus-daemon, which is not installed \
                 (Debian/Ubuntu: apt install dbus-daemon)",
            )?;
        // The daemon prints its address once it accepts connections (the socket
        // file exists a moment earlier, when a connection is still refused).
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line)?;
        }
        let mut bus = PrivateBus { child, socket };
        if line.trim().is_empty() {
            let status = bus.child.try_wait()?;
            anyhow::bail!(
                "dbus-daemon did not open {} ({})",
                bus.socket.display(),
                status.map_or_else(|| "still running".to_owned(), |s| s.to_string())
            );
        }
        Ok(bus)
    }

    fn address(&self) -> String {
        format!("unix:path={}", self.socket.display())
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One row of the table: a service and its main values as their texts.
struct Row {
    service: String,
    product: String,
    values: Vec<(String, String)>,
}

/// The paths worth a glance, per service type (the rest is a dbus-spy away).
fn main_paths(kind: &str) -> &'static [&'static str] {
    match kind {
        "tank" => &["/Level", "/Remaining", "/Capacity"],
        "temperature" => &["/Temperature", "/Humidity", "/Pressure"],
        "battery" => &["/Dc/0/Voltage", "/Dc/0/Current", "/Dc/0/Power", "/Soc"],
        "gps" => &[
            "/Position/Latitude",
            "/Position/Longitude",
            "/Speed",
            "/NrOfSatellites",
        ],
        "grid" | "genset" | "acload" => &["/Ac/Power", "/Ac/L1/Voltage", "/Ac/Frequency"],
        "charger" => &["/Dc/0/Voltage", "/Dc/0/Current", "/State"],
        _ => &["/Dc/0/Voltage", "/Dc/0/Current", "/Dc/0/Power"],
    }
}

/// Refreshes the table every second until the replay ends (it is dropped then).
async fn show(address: &str, mut held: oneshot::Receiver<()>) {
    let tty = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut finished = false;
    let mut ticks = 0u64;
    // One client for the whole demo, connected at the first table.
    let mut client: Option<zbus::Connection> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = &mut held, if !finished => {
                finished = r.is_ok();
            }
        }
        // Off a terminal (a log, a test) the table is printed every 10 s while
        // playing, and once more at the end.
        ticks += 1;
        if !tty && !finished && ticks % 10 != 0 {
            continue;
        }
        if client.is_none() {
            client = match zbus::connection::Builder::address(address) {
                Ok(b) => b.build().await.ok(),
                Err(_) => None,
            };
        }
        let Some(conn) = &client else {
            eprintln!("n2k-dbus demo: cannot connect to {address}");
            continue;
        };
        let rows = match read_rows(conn).await {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("n2k-dbus demo: cannot read the bus: {e}");
                continue;
            }
        };
        let status = if finished {
            "capture finished; the services stay until Ctrl-C".to_owned()
        } else {
            format!("playing, {} s", started.elapsed().as_secs())
        };
        let mut out = std::io::stdout().lock();
        if tty {
            let _ = write!(out, "\x1b[H\x1b[2J");
            let _ = writeln!(out, "n2k-dbus demo ({status}); Ctrl-C ends it");
            let _ = writeln!(out, "{}", how_to_look(address));
        } else {
            let _ = writeln!(out, "{status}");
        }
        let _ = out.write_all(table(&rows).as_bytes());
        let _ = out.flush();
        if !tty && finished {
            // The end state printed; the services stay until the signal.
            std::future::pending::<()>().await;
        }
    }
}

/// Every com.victronenergy service on the bus and its main values, read with
/// GetItems as any Venus client would.
async fn read_rows(conn: &zbus::Connection) -> zbus::Result<Vec<Row>> {
    let dbus = zbus::fdo::DBusProxy::new(conn).await?;
    let mut names: Vec<String> = dbus
        .list_names()
        .await?
        .into_iter()
        .map(|n| n.to_string())
        .filter(|n| {
            n.starts_with("com.victronenergy.") && !n.starts_with("com.victronenergy.vecan.")
        })
        .collect();
    names.sort();
    let mut rows = Vec::new();
    for name in names {
        let reply = conn
            .call_method(
                Some(name.as_str()),
                "/",
                Some("com.victronenergy.BusItem"),
                "GetItems",
                &(),
            )
            .await;
        let Ok(reply) = reply else { continue };
        let Ok(items) = reply
            .body()
            .deserialize::<HashMap<String, HashMap<String, OwnedValue>>>()
        else {
            continue;
        };
        let text = |path: &str| -> String {
            items
                .get(path)
                .and_then(|i| i.get("Text"))
                .and_then(|v| String::try_from(v.clone()).ok())
                .unwrap_or_default()
        };
        let kind = name.split('.').nth(2).unwrap_or("").to_owned();
        let product = [text("/CustomName"), text("/ProductName")]
            .into_iter()
            .find(|t| !t.is_empty())
            .unwrap_or_default();
        let values = main_paths(&kind)
            .iter()
            .filter(|p| items.contains_key(**p))
            .map(|p| {
                let t = text(p);
                let label = p.rsplit('/').next().unwrap_or(p).to_owned();
                (label, if t.is_empty() { "—".to_owned() } else { t })
            })
            .collect();
        let service = name
            .strip_prefix("com.victronenergy.")
            .unwrap_or(&name)
            .to_owned();
        rows.push(Row {
            service,
            product,
            values,
        });
    }
    Ok(rows)
}

fn table(rows: &[Row]) -> String {
    let w0 = rows
        .iter()
        .map(|r| r.service.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let w1 = rows
        .iter()
        .map(|r| r.product.chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut s = format!("{:<w0$}  {:<w1$}  VALUES\n", "SERVICE", "PRODUCT");
    for r in rows {
        let values: Vec<String> = r.values.iter().map(|(l, t)| format!("{l} {t}")).collect();
        s += &format!(
            "{:<w0$}  {:<w1$}  {}\n",
            r.service,
            r.product,
            values.join("  ")
        );
    }
    if rows.is_empty() {
        s += "(no device services yet: a device is published once it is identified)\n";
    }
    s
}
