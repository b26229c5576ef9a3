//! NMEA 2000-out with 50 exported services (10 each of battery, solarcharger,
//! vebus, tank, temperature), every one changing two values a second as Venus
//! drivers do:
//!
//! - the exporter alone, on a virtual clock (10 min): bus load of what the 60
//!   virtual nodes send (budget: 15 % of 250 kbit/s) and CPU time per exported frame;
//! - the whole daemon (`replay --active --n2k-out` over a quiet capture) against 50
//!   services on a private dbus-daemon, watched by `dbus-monitor`: the method calls
//!   towards the exported services (one `GetItems` each when they appear, no
//!   polling) and the D-Bus messages/s that reach them (their `ItemsChanged`).
//!
//!     cargo bench --bench export

#[allow(dead_code)] // the tests' helper; a bench uses part of it
#[path = "../tests/it/support/private_bus.rs"]
mod private_bus;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use n2k_dbus::can::Micros;
use n2k_dbus::core::{frame_bits, CoreConfig};
use n2k_dbus::dbus::{Change, Item, ItemTree, Outbox, Service, ServiceOptions, ServiceSpec, Value};
use n2k_dbus::export::{ExportConfig, ServiceInput};
use n2k_dbus::gateway::{Gateway, GatewayConfig, Output};

const S: Micros = 1_000_000;
const PER_TYPE: usize = 10;

/// One service of each exported kind `k` (0–4), number `n`: its name and values.
fn service(k: usize, n: usize) -> (String, Vec<(String, Value)>) {
    use Value::{Int, Real};
    let (t, items): (&str, Vec<(&str, Value)>) = match k {
        0 => (
            "battery",
            vec![
                ("/Dc/0/Voltage", Real(12.9)),
                ("/Dc/0/Current", Real(-3.1)),
                ("/Dc/1/Voltage", Real(12.6)),
                ("/Soc", Real(88.0)),
                ("/TimeToGo", Real(30000.0)),
            ],
        ),
        1 => (
            "solarcharger",
            vec![
                ("/Dc/0/Voltage", Real(13.4)),
                ("/Dc/0/Current", Real(5.0)),
                ("/Pv/V", Real(38.0)),
                ("/Yield/Power", Real(70.0)),
                ("/State", Int(3)),
                ("/Mode", Int(1)),
            ],
        ),
        2 => (
            "vebus",
            vec![
                ("/Dc/0/Voltage", Real(13.1)),
                ("/Dc/0/Current", Real(-20.0)),
                ("/State", Int(9)),
                ("/Mode", Int(3)),
                ("/Ac/Out/L1/V", Real(230.0)),
                ("/Ac/Out/L1/F", Real(50.0)),
                ("/Ac/Out/L1/I", Real(2.0)),
                ("/Ac/Out/L1/P", Real(420.0)),
                ("/Ac/ActiveIn/L1/V", Real(231.0)),
            ],
        ),
        3 => (
            "tank",
            vec![
                ("/FluidType", Int(1)),
                ("/Level", Real(45.0)),
                ("/Capacity", Real(0.2)),
            ],
        ),
        _ => (
            "temperature",
            vec![("/Temperature", Real(21.5)), ("/TemperatureType", Int(3))],
        ),
    };
    let mut items: Vec<(String, Value)> =
        items.into_iter().map(|(p, v)| (p.to_owned(), v)).collect();
    items.push(("/DeviceInstance".into(), Int((100 * k + n) as i64)));
    items.push(("/ProductName".into(), Value::Text(format!("Bench {t} {n}"))));
    (format!("com.victronenergy.{t}.bench{n}"), items)
}

/// The two values of service `k` that change every second.
fn changing(k: usize, sec: u64) -> Vec<(String, Value)> {
    let wobble = (sec % 10) as f64 / 100.0;
    let paths: &[&str] = match k {
        0..=2 => &["/Dc/0/Voltage", "/Dc/0/Current"],
        3 => &["/Level", "/Capacity"],
        _ => &["/Temperature", "/TemperatureType"],
    };
    vec![
        (paths[0].into(), Value::Real(12.0 + wobble)),
        (
            paths[1].into(),
            if k == 4 {
                Value::Int(3)
            } else {
                Value::Real(1.0 + wobble)
            },
        ),
    ]
}

fn sans_io() {
    let mut g = Gateway::new(
        GatewayConfig::new("can0", CoreConfig::gateway(1001)),
        Arc::new(Outbox::new()),
    )
    .with_export(ExportConfig::default());
    g.start(0);
    for k in 0..5 {
        for n in 0..PER_TYPE {
            let (service, items) = service(k, n);
            g.handle_service(0, ServiceInput::Appeared { service, items });
        }
    }
    let minutes = 10;
    let (mut frames, mut bits) = (0u64, 0u64);
    let started = Instant::now();
    for sec in 0..minutes * 60 {
        for k in 0..5 {
            for n in 0..PER_TYPE {
                let (service, _) = service(k, n);
                let items = changing(k, sec);
                g.handle_service(sec as Micros * S, ServiceInput::Changed { service, items });
            }
        }
        for tenth in 1..=10 {
            g.handle_timeout(sec as Micros * S + tenth * 100_000);
            while let Some(o) = g.poll() {
                let Output::Transmit(f) = o else { continue };
                // The virtual nodes' frames (the gateway's own node is at 100).
                if f.can_id().source != 100 {
                    frames += 1;
                    bits += frame_bits(f.data().len());
                }
            }
        }
    }
    let cpu = started.elapsed();
    let seconds = (minutes * 60) as f64;
    let load = bits as f64 / seconds / 250_000.0 * 100.0;
    let nodes = g.core().locals();
    println!("| exporter alone, {minutes} min virtual | {nodes} nodes | {:.0} frames/s | bus load {load:.1} % of 250 kbit/s | {:.2} µs CPU per exported frame (incl. 50 × 2 ItemsChanged/s) |", frames as f64 / seconds, cpu.as_secs_f64() * 1e6 / frames as f64);
    assert_eq!(nodes, 60);
    assert!(load <= 15.0, "bus load {load:.1} % over the 15 % budget");
}

/// A quiet bus for the daemon: one other node's heartbeat a second.
fn quiet_capture(seconds: u64) -> String {
    let mut out = String::from("(0.000000) can0 18EEFF20#0100C0FF00A096C0\n");
    for s in 1..=seconds {
        out += &format!("({s}.000000) can0 1DF01A20#60EA00C0FFFFFFFF\n");
    }
    out
}

fn with_daemon() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bus = private_bus::PrivateBus::start();
    let seconds = 20u64;
    let path = std::env::temp_dir().join(format!("n2k-out-bench-{}.log", std::process::id()));
    std::fs::write(&path, quiet_capture(seconds)).expect("capture");
    rt.block_on(async {
        let mut services = Vec::new();
        for k in 0..5 {
            for n in 0..PER_TYPE {
                let (name, items) = service(k, n);
                let mut tree = ItemTree::new();
                for (p, v) in items {
                    tree.insert(p.as_str(), Item::new(v)).expect("path");
                }
                let s = Service::publish(&bus.bus(), ServiceSpec::new(name, tree), ServiceOptions::default())
                    .await
                    .expect("publish");
                services.push((k, s));
            }
        }
        // Every message to or from the services' connections.
        let mut monitor = Command::new("dbus-monitor")
            .args(["--address", &bus.address, "--profile"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (Debian package dbus-bin)");
        let lines = BufReader::new(monitor.stdout.take().expect("stdout")).lines();
        let counter = std::thread::spawn(move || {
            let (mut calls, mut items_changed, mut getitems) = (0u64, 0u64, 0u64);
            for l in lines.map_while(Result::ok) {
                // --profile: type timestamp serial sender destination path interface member
                let f: Vec<&str> = l.split('\t').collect();
                if f.len() < 8 {
                    continue;
                }
                // Only what goes to the benchmark's services (the daemon also asks
                // for the settings and the bus service, which are not there).
                let to_services = f[4].contains(".bench") || f[0] == "sig";
                if !to_services {
                    continue;
                }
                match (f[0], f[7]) {
                    ("mc", "GetItems") => getitems += 1,
                    ("mc", _) if f[6] == "com.victronenergy.BusItem" => calls += 1,
                    ("sig", "ItemsChanged") => items_changed += 1,
                    _ => {}
                }
            }
            (calls, items_changed, getitems)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut daemon = Command::new(env!("CARGO_BIN_EXE_n2k-dbus"))
            .args(["replay", "--active", "--n2k-out", "--dbus", &bus.address])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("n2k-dbus replay");
        let started = Instant::now();
        let mut sec = 0;
        while started.elapsed() < Duration::from_secs(seconds) {
            for (k, s) in &services {
                let changes = changing(*k, sec).into_iter().map(|(p, v)| Change::Set(p, v)).collect();
                s.apply(changes).await.expect("ItemsChanged");
            }
            sec += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let _ = daemon.wait();
        let wall = started.elapsed().as_secs_f64();
        let _ = monitor.kill();
        let _ = monitor.wait();
        let (calls, items_changed, getitems) = counter.join().expect("counter");
        println!(
            "| daemon, 50 services on a private bus, {seconds} s | GetItems {getitems} | other BusItem calls {calls} | {:.0} ItemsChanged/s (the services' own signals) | {:.0} messages/s of those services in all |",
            items_changed as f64 / wall,
            (items_changed + calls + getitems) as f64 / wall
        );
        assert!(getitems >= 50, "one GetItems per service: {getitems}");
        assert_eq!(calls, 0, "no polling");
    });
    let _ = std::fs::remove_file(&path);
}

fn main() {
    println!("| NMEA 2000-out | | | | |");
    println!("|---|---|---|---|---|");
    sans_io();
    with_daemon();
}
