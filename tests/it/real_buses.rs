//! The real buses of `candump-samples/` that no one here wrote —
//! `dirona-actisense-serial.raw` (a Nordhavn: Maretron, Furuno, Mastervolt,
//! Northern Lights; two loggers merged) and `susteranna2020.raw` (a sailing yacht,
//! no address claims) — through the whole gateway into a private dbus-daemon: the
//! gateway driven on the capture's clock as `replay` drives it, checked at the last
//! record (every device published while the capture ran) and after `--hold`'s
//! end; and the `n2k-dbus replay` process itself, with `--fast` and (Susteranna) at
//! capture speed.
//!
//! What must be on D-Bus is the hand-written table `tests/real-buses.table`; its
//! values are taken from canboat's decodes here, converted to Venus units, never
//! from n2k-dbus's decoder. Every reading a mapped PGN carries in the decodes must
//! be named by the table, and a device whose NAME is in the capture must never be
//! published by address.

use crate::support::{cli, gateway_replay, private_bus, reference};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gateway_replay::{check, device_services, get_items, Read, Rig};
use n2k_dbus::can::{CanId, Micros};
use n2k_dbus::logs::{RawMessage, Record};
use n2k_dbus::time::CaptureClock;
use n2k_dbus::venus::Rules;
use private_bus::PrivateBus;
use serde_json::Value;

// ---- the reference decode ------------------------------------------------------

struct Msg {
    src: u64,
    pgn: u64,
    /// Replay time: the capture's clock as a replay follows it (a logger that
    /// lags, or a capture that starts over, takes no time).
    t: Micros,
    f: Value,
}

fn decode(file: &str) -> Vec<Msg> {
    let mut clock = CaptureClock::new();
    reference::messages(file)
        .into_iter()
        .map(|(src, pgn, ts, f)| {
            let at = Record::Message(RawMessage {
                timestamp: reference::millis(&ts) * 1000,
                id: CanId {
                    priority: 7,
                    pgn: 0,
                    source: 0,
                    destination: 255,
                },
                data: Vec::new(),
            });
            Msg {
                src,
                pgn,
                t: clock.time(at.timestamp()),
                f,
            }
        })
        .collect()
}

/// A field as a number: plain, or a lookup's value.
fn number(f: &Value, k: &str) -> Option<f64> {
    match &f[k] {
        Value::Object(o) => o.get("value")?.as_f64(),
        v => v.as_f64(),
    }
}

/// How long a value of `pgn` stays valid: three intervals, at least 5 s
/// (docs/venus-services.md#freshness).
fn freshness(pgn: u64) -> Micros {
    match pgn {
        127505 => 7_500_000,
        130312..=130316 => 6_000_000,
        // docs/switching-alerts.md#switch-banks: three times the slowest bank's interval.
        127501 | 65005 | 65018 => 15_000_000,
        _ => 5_000_000,
    }
}

// ---- the table -----------------------------------------------------------------

#[derive(Debug, Clone)]
struct Source {
    src: u64,
    pgn: u64,
    keys: Vec<(String, f64)>,
    field: String,
    conv: String,
    range: Option<(f64, f64)>,
}

#[derive(Debug, Default)]
struct Table {
    /// service → path → sources in order of preference.
    services: BTreeMap<String, BTreeMap<String, Vec<Source>>>,
    /// Readings deliberately not published.
    ignored: Vec<Source>,
}

fn table() -> BTreeMap<String, Table> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/real-buses.table");
    let text = std::fs::read_to_string(path).expect("tests/real-buses.table");
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    let mut capture = None;
    for (n, line) in text.lines().enumerate() {
        let at = || format!("tests/real-buses.table:{}", n + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(c) = line.strip_prefix("capture ") {
            capture = Some(c.trim().to_owned());
            continue;
        }
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!((4..=5).contains(&cols.len()), "{}: 4 or 5 columns", at());
        let mut what = cols[2].split_whitespace();
        let src = what.next().and_then(|w| w.parse().ok());
        let pgn = what.next().and_then(|w| w.parse().ok());
        let keys = what.collect::<Vec<_>>().join(" ");
        let keys = keys
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| {
                let (k, v) = k
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}: key=value", at()));
                (
                    k.to_owned(),
                    v.parse().unwrap_or_else(|_| panic!("{}: a number", at())),
                )
            })
            .collect();
        let mut conv = cols.get(4).copied().unwrap_or("").split_whitespace();
        let c = conv.next().unwrap_or("").to_owned();
        let range = conv.next().map(|r| {
            let (lo, hi) = r
                .split_once("..")
                .unwrap_or_else(|| panic!("{}: lo..hi", at()));
            (lo.parse().expect("lo"), hi.parse().expect("hi"))
        });
        let s = Source {
            src: src.unwrap_or_else(|| panic!("{}: a source address", at())),
            pgn: pgn.unwrap_or_else(|| panic!("{}: a PGN", at())),
            keys,
            field: cols[3].to_owned(),
            conv: c,
            range,
        };
        let t = out
            .entry(
                capture
                    .clone()
                    .unwrap_or_else(|| panic!("{}: no capture", at())),
            )
            .or_default();
        if cols[0] == "-" {
            t.ignored.push(s);
        } else {
            let service = format!(
                "com.victronenergy.{}",
                cols[0].replacen('.', ".socketcan_can0_", 1)
            );
            t.services
                .entry(service)
                .or_default()
                .entry(cols[1].to_owned())
                .or_default()
                .push(s);
        }
    }
    out
}

/// Venus charger `/State` for an NMEA 2000 operating state (README table).
fn charger_state(s: f64) -> Option<f64> {
    Some(match s as u64 {
        0 | 6 | 8 => 0.0,
        1 => 3.0,
        2 | 3 => 4.0,
        4 => 7.0,
        5 => 5.0,
        7 => 11.0,
        9 => 2.0,
        _ => return None,
    })
}

impl Source {
    fn matches(&self, m: &Msg) -> bool {
        m.src == self.src
            && m.pgn == self.pgn
            && self.keys.iter().all(|(k, v)| number(&m.f, k) == Some(*v))
    }

    /// The value at the end of the capture, in Venus units.
    fn value(&self, msgs: &[Msg], end: Micros) -> Option<f64> {
        let m = msgs.iter().rev().find(|m| self.matches(m))?;
        if end - m.t > freshness(self.pgn) {
            return None;
        }
        let x = number(&m.f, &self.field)?;
        let y = match self.conv.as_str() {
            "" => Some(x),
            "K" => Some(x - 273.15),
            "L" => Some(x / 1000.0),
            "Pa" => Some(x / 100.0),
            "charger" => charger_state(x),
            "kPa" => Some(x / 1000.0),
            // J1939's power factor offset (docs/venus-services.md#j1939-ac), from canboat's
            // 5 decimals of a value in 1/16384.
            "pf" => Some((x * 16384.0).round() / 16384.0 - 1.0),
            // docs/venus-services.md#inverters-and-converters: 127509 state and enable.
            "inverter" => [9.0, 8.0, 1.0, 2.0, 0.0].get(x as usize).copied(),
            "enable" => [4.0, 2.0].get(x as usize).copied(),
            // canboat prints 3 decimals of a value in 1/128 Hz (J1939 frequency):
            // the exact value is the nearest step.
            "hz128" => Some((x * 128.0).round() / 128.0),
            // No conversion, a range follows.
            "_" => Some(x),
            c => panic!("unknown conversion {c}"),
        }?;
        self.range
            .is_none_or(|(lo, hi)| (lo..=hi).contains(&y))
            .then_some(y)
    }
}

/// Every service of the capture's table with every path's expected reading.
fn expected(file: &str) -> Vec<(String, Vec<(String, Read)>)> {
    let tables = table();
    let t = &tables[file];
    let msgs = decode(file);
    let end = msgs.iter().map(|m| m.t).max().expect("messages");
    t.services
        .iter()
        .map(|(service, paths)| {
            let reads = paths
                .iter()
                .map(|(path, sources)| {
                    let v = sources.iter().find_map(|s| s.value(&msgs, end));
                    (path.clone(), v.map_or(Read::Invalid, Read::Num))
                })
                .collect();
            (service.clone(), reads)
        })
        .collect()
}

async fn assert_table(file: &str, client: &zbus::Connection) {
    let want = expected(file);
    let names: Vec<String> = want.iter().map(|w| w.0.clone()).collect();
    assert_eq!(device_services(client).await, names, "{file}: the services");
    for (service, paths) in &want {
        let items = get_items(client, service).await;
        for (p, v) in paths {
            check(service, &items, p, v);
        }
    }
}

// ---- the table against the decodes ---------------------------------------------

const INDICATORS: [&str; 28] = [
    "Indicator1",
    "Indicator2",
    "Indicator3",
    "Indicator4",
    "Indicator5",
    "Indicator6",
    "Indicator7",
    "Indicator8",
    "Indicator9",
    "Indicator10",
    "Indicator11",
    "Indicator12",
    "Indicator13",
    "Indicator14",
    "Indicator15",
    "Indicator16",
    "Indicator17",
    "Indicator18",
    "Indicator19",
    "Indicator20",
    "Indicator21",
    "Indicator22",
    "Indicator23",
    "Indicator24",
    "Indicator25",
    "Indicator26",
    "Indicator27",
    "Indicator28",
];

/// The fields of a mapped PGN that carry a reading.
fn readings(pgn: u64) -> &'static [&'static str] {
    match pgn {
        127505 => &["Level", "Capacity"],
        127508 => &["Voltage", "Current", "Temperature"],
        127506 => &[
            "State of Charge",
            "State of Health",
            "Time Remaining",
            "Remaining capacity",
        ],
        127513 => &["Capacity"],
        127507 => &["Operating State"],
        127503 | 127504 => &["list"],
        130310 => &[
            "Water Temperature",
            "Outside Ambient Air Temperature",
            "Atmospheric Pressure",
        ],
        130311 => &["Temperature", "Humidity", "Atmospheric Pressure"],
        130312 => &["Actual Temperature"],
        130313 => &["Actual Humidity"],
        130314 => &["Pressure"],
        130316 => &["Temperature"],
        129025 | 129029 => &["Latitude"],
        129026 => &["SOG"],
        127501 => &INDICATORS,
        127488 => &["Speed"],
        127489 => &[
            "Oil pressure",
            "Oil temperature",
            "Temperature",
            "Total Engine hours",
            "Engine Load",
        ],
        127509 => &["Operating State", "Inverter Enable"],
        65014 | 65011 | 65008 | 65027 | 65024 | 65021 => &[
            "Line-Neutral AC RMS Voltage",
            "AC RMS Current",
            "AC Frequency",
        ],
        65013 | 65010 | 65007 | 65026 | 65023 | 65020 => &["Real Power"],
        65012 | 65009 | 65006 | 65025 | 65022 | 65019 => &["Power factor"],
        65005 | 65018 => &["Total Energy Export", "Total Energy Import"],
        _ => &[],
    }
}

#[test]
fn the_table_names_every_reading_of_the_decodes() {
    let tables = table();
    assert_eq!(
        tables.keys().collect::<Vec<_>>(),
        ["dirona-actisense-serial.raw", "susteranna2020.raw"]
    );
    for (file, t) in &tables {
        let msgs = decode(file);
        let sources: Vec<&Source> = t
            .services
            .values()
            .flat_map(|p| p.values().flatten())
            .chain(&t.ignored)
            .collect();
        let mut missing = BTreeSet::new();
        for m in &msgs {
            let has = readings(m.pgn).iter().any(|f| !m.f[*f].is_null());
            if has && !sources.iter().any(|s| s.matches(m)) {
                missing.insert(format!("{} {} {}", m.src, m.pgn, m.f));
            }
        }
        assert!(
            missing.is_empty(),
            "{file}: readings the table does not name:\n{}",
            {
                let v: Vec<_> = missing.into_iter().take(20).collect();
                v.join("\n")
            }
        );
        // Named devices by NAME, the others by address.
        let mut names = BTreeMap::new();
        for m in msgs.iter().filter(|m| m.pgn == 60928) {
            let lower = number(&m.f, "Device Instance Lower").expect("lower");
            let upper = number(&m.f, "Device Instance Upper").expect("upper");
            let unique = number(&m.f, "Unique Number").expect("unique");
            names.insert(m.src, (lower as u64 + 8 * upper as u64, unique as u64));
        }
        for (service, paths) in &t.services {
            let src = paths.values().next().expect("a path")[0].src;
            let tail = service.split("socketcan_can0_").nth(1).expect("tail");
            match names.get(&src) {
                Some((di, uc)) => assert!(
                    tail.starts_with(&format!("di{di}_uc{uc}")),
                    "{file}: {service}: address {src} claims device instance {di}, unique {uc}"
                ),
                None => assert!(
                    tail.starts_with(&format!("sa{src}")),
                    "{file}: {service}: address {src} never claims"
                ),
            }
        }
    }
}

// ---- the gateway, driven as replay drives it ------------------------------------

async fn through_the_gateway(file: &str) {
    let path = reference::samples().join(file);
    let mut rig = Rig::with_records(
        gateway_replay::records(&path, false),
        true,
        Rules::default(),
    )
    .await;
    // At the capture's last record, before `--hold` decides what still waits:
    // every device was published while the capture ran.
    let end = rig.end();
    rig.run_to(end).await;
    assert_table(file, &rig.client).await;
    rig.driver.finish(end);
    rig.flush().await;
    assert_table(file, &rig.client).await;
    // Refused values are counted on the bus service.
    let bus = get_items(&rig.client, "com.victronenergy.vecan.can0").await;
    let refused: Vec<&String> = bus
        .keys()
        .filter(|k| k.starts_with("/Statistics/Implausible/"))
        .collect();
    if file.starts_with("dirona") {
        for want in [
            "/Statistics/Implausible/socketcan_can0_di0_uc191270/dc3/Temperature",
            "/Statistics/Implausible/socketcan_can0_di11_uc3488/dc11/Temperature",
            "/Statistics/Implausible/socketcan_can0_di12_uc5104/fuel12/Capacity",
        ] {
            assert!(
                refused.iter().any(|k| *k == want),
                "{want} not in {refused:?}"
            );
        }
        // The gensets' status words (docs/venus-services.md#engines-and-gensets): canboat prints
        // a bit field only when a bit is set, and none is in any 127489 of 4 and 5,
        // so both report no error: `""`, not invalid.
        let msgs = decode(file);
        let statuses = msgs
            .iter()
            .filter(|m| m.pgn == 127489 && (m.src == 4 || m.src == 5));
        let mut n = 0;
        for m in statuses {
            n += 1;
            for word in ["Discrete Status 1", "Discrete Status 2"] {
                assert!(m.f[word].is_null(), "{word} of {} is {}", m.src, m.f[word]);
            }
        }
        assert!(n > 100, "{n} engine messages of the gensets");
        for genset in ["di11_uc3488", "di12_uc5104"] {
            let service = format!("com.victronenergy.genset.socketcan_can0_{genset}");
            let items = get_items(&rig.client, &service).await;
            check(&service, &items, "/Error/0/Id", &Read::Text(String::new()));
        }
    }
    rig.publisher.withdraw_all().await;
}

#[tokio::test]
async fn dirona_through_the_gateway() {
    through_the_gateway("dirona-actisense-serial.raw").await;
}

#[tokio::test]
async fn susteranna_through_the_gateway() {
    through_the_gateway("susteranna2020.raw").await;
}

// ---- the replay process --------------------------------------------------------

/// `n2k-dbus replay` onto `bus`, and when it printed that it holds.
struct Replay {
    child: Child,
    held: mpsc::Receiver<Instant>,
}

impl Replay {
    fn start(file: &str, bus: &PrivateBus, extra: &[&str]) -> Replay {
        let path = reference::samples().join(file);
        let mut child = cli::command()
            .arg("replay")
            .arg(&path)
            .args(["--hold", "--dbus", &bus.address])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("n2k-dbus starts");
        let out = child.stdout.take().expect("stdout");
        let (tx, held) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("holding the services") {
                    let _ = tx.send(Instant::now());
                }
            }
        });
        Replay { child, held }
    }

    fn held(&self) -> Option<Instant> {
        self.held.try_recv().ok()
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replays `file` with `extra` arguments and checks the table once it holds; at
/// capture speed, every service must have been on the bus a second before the end.
async fn replay_process(file: &str, extra: &[&str], capture_speed: bool) {
    let bus = PrivateBus::start();
    let replay = Replay::start(file, &bus, extra);
    let client = bus.client().await;
    let want: BTreeSet<String> = expected(file).into_iter().map(|w| w.0).collect();
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut seen: Vec<(Instant, Vec<String>)> = Vec::new();
    let held = loop {
        if let Some(at) = replay.held() {
            break at;
        }
        assert!(Instant::now() < deadline, "{file}: no end of the replay");
        seen.push((Instant::now(), device_services(&client).await));
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if capture_speed {
        let before = seen
            .iter()
            .rev()
            .find(|(t, _)| *t + Duration::from_secs(1) <= held)
            .map(|s| s.1.iter().cloned().collect::<BTreeSet<_>>())
            .unwrap_or_default();
        let late: Vec<_> = want.difference(&before).collect();
        assert!(
            late.is_empty(),
            "{file}: not published while the capture ran: {late:?}"
        );
    }
    assert_table(file, &client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_fast_shows_the_table() {
    tokio::join!(
        replay_process("dirona-actisense-serial.raw", &["--fast"], false),
        replay_process("susteranna2020.raw", &["--fast"], false),
    );
}

/// Susteranna's 26 s as the process plays them. (Dirona at capture speed takes
/// 128 s — it covers its 64 s twice — and is driven on its own clock by
/// `dirona_through_the_gateway`, checked at its last record.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_at_capture_speed_shows_every_device_while_the_capture_runs() {
    replay_process("susteranna2020.raw", &[], true).await;
}
