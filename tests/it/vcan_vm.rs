//! The daemon on a real kernel's SocketCAN: `tests/vcan/vm.sh` boots Debian's kernel
//! under qemu with `vcan`, and `tests/vcan/guest-test.sh` runs the release binary on
//! `vcan0` next to can-utils and a private dbus-daemon. The guest records; this test
//! judges, against the values the scenario logs state and the wire format of
//! NMEA 2000:
//!
//! - a missing interface at start is reported and waited for;
//! - our address claim and our answers to requests are on the bus;
//! - the services and values a client reads after `canplayer` played the logs;
//! - a device claiming our address with a lower NAME moves us;
//! - `ip link set vcan0 down` invalidates, then withdraws; `up` brings it all back;
//! - SIGTERM releases every name (NameOwnerChanged) and exits 0;
//! - `--listen-only` puts not a single frame on the bus.
//!
//! Set `N2K_SKIP_VM=1` to skip it on a machine that cannot run qemu.

use crate::support::names::name;
use crate::support::reference;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use n2k_dbus::core::CoreConfig;
use n2k_dbus::network::Name;

const OUR_UNIQUE: u32 = 1234;
const OUR_ADDRESS: u8 = 100;

fn scenario(name: &str) -> PathBuf {
    reference::samples()
        .join("scenarios/venus")
        .join(format!("{name}.log"))
}

/// A value as `dbus-send --print-reply` shows a GetValue answer.
#[derive(Debug, Clone, PartialEq)]
enum Read {
    Number(f64),
    Text(String),
    Invalid,
}

/// What a scenario log states at its last `#=` time: the services and their values.
struct Expected {
    at: f64,
    services: Vec<String>,
    values: Vec<(String, String, Read)>,
}

/// The `#=` lines of a log at their last time, for interface vcan0.
fn expected(log: &Path) -> Expected {
    let text = std::fs::read_to_string(log).expect("scenario log");
    let mut at = 0.0f64;
    let mut lines = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("#= ") else {
            continue;
        };
        let (t, rest) = rest.split_once(' ').expect("#= <time> …");
        let t: f64 = t.parse().expect("a time");
        at = at.max(t);
        lines.push((t, rest.replace("_can0_", "_vcan0_")));
    }
    let mut e = Expected {
        at,
        services: Vec::new(),
        values: Vec::new(),
    };
    for (_, rest) in lines.into_iter().filter(|(t, _)| *t == at) {
        if let Some(list) = rest.strip_prefix("services") {
            e.services = list.split_whitespace().map(str::to_owned).collect();
            continue;
        }
        let mut w = rest.splitn(3, ' ');
        let (Some(s), Some(p), Some(v)) = (w.next(), w.next(), w.next()) else {
            panic!("{}: `{rest}`", log.display());
        };
        let want = if v == "invalid" {
            Read::Invalid
        } else if let Some(t) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Read::Text(t.to_owned())
        } else {
            Read::Number(v.parse().expect("a number"))
        };
        e.values.push((s.to_owned(), p.to_owned(), want));
    }
    e
}

/// The log's frames up to `until` s, comments dropped (canplayer reads frames only).
fn frames_until(log: &Path, until: f64) -> Vec<String> {
    let text = std::fs::read_to_string(log).expect("scenario log");
    text.lines()
        .filter(|l| l.starts_with('('))
        .filter(|l| {
            let t: f64 = l[1..l.find(')').expect(")")].parse().expect("time");
            t <= until
        })
        .map(str::to_owned)
        .collect()
}

/// One frame of a `candump -L` log: identifier and data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    id: u32,
    data: Vec<u8>,
}

impl Seen {
    fn source(&self) -> u8 {
        (self.id & 0xFF) as u8
    }
    fn pgn(&self) -> u32 {
        let pf = (self.id >> 16) & 0xFF;
        let base = (self.id >> 8) & 0x3_FFFF;
        if pf < 240 {
            base & 0x3_FF00
        } else {
            base
        }
    }
}

fn parse_frame(line: &str) -> Option<Seen> {
    let f = line.split_whitespace().nth(2)?;
    let (id, data) = f.split_once('#')?;
    let data = (0..data.len() / 2)
        .map(|i| u8::from_str_radix(&data[2 * i..2 * i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .ok()?;
    Some(Seen {
        id: u32::from_str_radix(id, 16).ok()?,
        data,
    })
}

fn bus_log(path: &Path) -> Vec<Seen> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(parse_frame)
        .collect()
}

/// The names `ListNames` answered.
fn names(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.contains("method return"), "{}: {text}", path.display());
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("string \""))
        .map(|s| s.trim_end_matches('"').to_owned())
        .filter(|s| s.starts_with("com.victronenergy."))
        .collect()
}

/// The GetItems answers of a guest `values` file (one `=== <service>` block per
/// service, read in one call so that every value is read within a moment of the
/// others): (service, path) → what was read.
fn values(path: &Path) -> BTreeMap<(String, String), Option<Read>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for block in text.split("=== ").skip(1) {
        let mut lines = block.lines().map(str::trim);
        let service = lines.next().unwrap_or("").to_owned();
        if !lines.next().is_some_and(|l| l.starts_with("method return")) {
            continue;
        }
        // Paths are the strings that start with '/'; a path's value follows its
        // `string "Value"` line.
        let mut item: Option<String> = None;
        let mut value_next = false;
        for l in lines {
            if let Some(s) = l.strip_prefix("string \"") {
                let s = s.trim_end_matches('"');
                if s.starts_with('/') {
                    item = Some(s.to_owned());
                }
                value_next = s == "Value";
                continue;
            }
            let Some(v) = l.strip_prefix("variant").filter(|_| value_next) else {
                continue;
            };
            value_next = false;
            let v = v.trim();
            let read = if v.starts_with("array [") {
                Some(Read::Invalid)
            } else if let Some(t) = v.strip_prefix("string \"") {
                Some(Read::Text(t.trim_end_matches('"').to_owned()))
            } else {
                v.split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse().ok())
                    .map(Read::Number)
            };
            if let Some(p) = item.take() {
                out.insert((service.clone(), p), read);
            }
        }
    }
    out
}

fn same(got: &Read, want: &Read) -> bool {
    match (got, want) {
        (Read::Number(a), Read::Number(b)) => (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        _ => got == want,
    }
}

fn assert_values(file: &Path, want: &[(String, String, Read)]) {
    let got = values(file);
    for (s, p, w) in want {
        let g = got.get(&(s.clone(), p.clone()));
        assert!(
            matches!(g, Some(Some(g)) if same(g, w)),
            "{}: {s} {p}: read {g:?}, the log states {w:?}",
            file.display()
        );
    }
}

/// Our claims (PGN 60928 with our NAME) in a bus log, by position.
fn our_claims(log: &[Seen], ours: [u8; 8]) -> Vec<(usize, u8)> {
    log.iter()
        .enumerate()
        .filter(|(_, f)| f.pgn() == 60928 && f.data == ours)
        .map(|(i, f)| (i, f.source()))
        .collect()
}

/// The payload of the first fast packet of `pgn` from `source` in the log.
fn fast_packet(log: &[Seen], pgn: u32, source: u8) -> Option<Vec<u8>> {
    let mut frames = log
        .iter()
        .filter(|f| f.pgn() == pgn && f.source() == source);
    let first = frames.find(|f| f.data.first().is_some_and(|b| b & 0x1F == 0))?;
    let len = usize::from(*first.data.get(1)?);
    let mut out = first.data[2..].to_vec();
    let seq = first.data[0] & 0xE0;
    for (n, f) in frames.enumerate() {
        if out.len() >= len {
            break;
        }
        if f.data[0] != seq | ((n as u8 + 1) & 0x1F) {
            return None;
        }
        out.extend_from_slice(&f.data[1..]);
    }
    out.truncate(len);
    Some(out)
}

/// (name, new owner) of each NameOwnerChanged `dbus-monitor` printed, in order.
fn owner_changes(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("owners.txt");
    let mut out = Vec::new();
    for sig in text
        .split("signal ")
        .filter(|s| s.contains("member=NameOwnerChanged"))
    {
        let strings: Vec<String> = sig
            .lines()
            .filter_map(|l| l.trim().strip_prefix("string \""))
            .map(|s| s.trim_end_matches('"').to_owned())
            .collect();
        if let [name, _old, new] = &strings[..] {
            out.push((name.clone(), new.clone()));
        }
    }
    out
}

#[test]
fn the_daemon_on_vcan_in_a_real_kernel() {
    if std::env::var_os("N2K_SKIP_VM").is_some() {
        eprintln!("N2K_SKIP_VM is set: the vcan VM test is skipped");
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vcan-vm");
    let data = work.join("test-data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data folder");

    // The scenario logs, cut at the time their values are stated. The checks are
    // read in this order, the shortest-lived values first: 127508 lives 5 s, and a
    // read takes up to 0.2 s under TCG.
    let mut phase_a = Vec::new();
    for (log, file) in [
        ("battery-two-instances", "battery.log"),
        ("four-tanks", "tanks.log"),
        ("single-tank", "single-tank.log"),
    ] {
        let e = expected(&scenario(log));
        let frames = frames_until(&scenario(log), e.at + 0.5);
        std::fs::write(data.join(file), frames.join("\n") + "\n").expect("log");
        phase_a.push((file, e, frames));
    }
    let mut checks = String::new();
    for (s, p, _) in phase_a.iter().flat_map(|(_, e, _)| e.values.iter()) {
        checks.push_str(&format!("{s} {p}\n"));
    }
    std::fs::write(data.join("checks.txt"), checks).expect("checks");
    let ours = CoreConfig::gateway(OUR_UNIQUE).name;
    let mut lower = ours.fields();
    lower.unique_number -= 1;
    let lower = Name::from_fields(lower);
    assert!(lower < ours);
    let hex = |b: [u8; 8]| crate::support::hex(&b);
    std::fs::write(
        data.join("conflict.txt"),
        format!("18EEFF{OUR_ADDRESS:02X}#{}\n", hex(lower.to_payload())),
    )
    .expect("conflict");

    mppt_data(&data);
    std::fs::write(data.join("h-services.json"), H_SERVICES).expect("h-services.json");

    let status = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vcan/vm.sh"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vcan/guest-test.sh"))
        .arg(env!("CARGO_BIN_EXE_n2k-dbus"))
        .arg(&data)
        .arg(work.join("test"))
        .status()
        .expect("tests/vcan/vm.sh runs");
    assert!(status.success(), "the VM did not run to its end: {status}");
    let out = work.join("test/out");
    let file = |n: &str| out.join(n);
    let guest = std::fs::read_to_string(file("guest.log")).unwrap_or_default();
    let run_log = std::fs::read_to_string(file("run.log")).unwrap_or_default();
    eprintln!("guest:\n{guest}\ndaemon:\n{run_log}");

    // A: missing at start, then up.
    let missing = run_log
        .find("vcan0 does not exist")
        .expect("missing interface reported");
    let up = run_log
        .find("interface up")
        .expect("the interface was opened");
    assert!(missing < up);

    let (battery, tanks, single) = (&phase_a[0].1, &phase_a[1].1, &phase_a[2].1);
    let a = bus_log(&file("a-bus.log"));
    let played: usize = phase_a[..2].iter().map(|(_, _, f)| f.len()).sum();
    assert!(
        a.len() >= played,
        "candump saw {} frames, {played} were played",
        a.len()
    );
    let claims = our_claims(&a, ours.to_payload());
    assert!(
        claims.first().is_some_and(|&(_, sa)| sa == OUR_ADDRESS),
        "our claim at {OUR_ADDRESS}: {claims:?}"
    );
    // Our answer to 0x20's request for product information: 126996 with our model id.
    let product = fast_packet(&a, 126996, OUR_ADDRESS).expect("our 126996 on the bus");
    assert_eq!(product.len(), 134, "126996 is 134 bytes");
    assert_eq!(&product[4..12], b"n2k-dbus");
    // The global request for 60928 is answered with a claim.
    let request = a
        .iter()
        .position(|f| f.id == 0x18EA_FF20 && f.data == [0x00, 0xEE, 0x00])
        .expect("the request for claims on the bus");
    assert!(
        claims.iter().any(|&(i, _)| i > request),
        "no claim after the request"
    );

    let want: BTreeSet<String> = tanks
        .services
        .iter()
        .chain(&battery.services)
        .cloned()
        .collect();
    let got = names(&file("a-names.txt"));
    let devices: BTreeSet<String> = got
        .iter()
        .filter(|n| {
            n.starts_with("com.victronenergy.tank.") || n.starts_with("com.victronenergy.battery.")
        })
        .cloned()
        .collect();
    assert_eq!(devices, want, "services after canplayer");
    assert!(got.contains("com.victronenergy.vecan.vcan0"), "{got:?}");
    let all: Vec<_> = tanks
        .values
        .iter()
        .chain(&battery.values)
        .cloned()
        .collect();
    assert_values(&file("a-values.txt"), &all);

    // B: a lower NAME at our address moves us.
    let conflict = a
        .iter()
        .position(|f| f.pgn() == 60928 && f.data == lower.to_payload())
        .expect("the conflicting claim on the bus");
    let moved = claims
        .iter()
        .find(|&&(i, sa)| i > conflict && sa != OUR_ADDRESS)
        .map(|&(_, sa)| sa)
        .expect("a claim at a new address after the conflict");
    let state = std::fs::read_to_string(file("b-state.txt")).expect("state file");
    assert!(
        state.lines().any(|l| l == format!("address={moved}")),
        "state file: {state}"
    );

    // C: down invalidates, then withdraws; up brings everything back.
    let down = names(&file("c-names-down.txt"));
    assert!(
        tanks.services.iter().all(|s| down.contains(s)),
        "kept while down: {down:?}"
    );
    let levels: Vec<_> = tanks
        .values
        .iter()
        .filter(|(_, p, _)| p == "/Level")
        .map(|(s, p, _)| (s.clone(), p.clone(), Read::Invalid))
        .collect();
    assert!(!levels.is_empty());
    assert_values(&file("c-values-down.txt"), &levels);
    let gone = names(&file("c-names-gone.txt"));
    assert!(gone.is_empty(), "withdrawn after the grace: {gone:?}");
    let c = bus_log(&file("c-bus.log"));
    assert!(
        our_claims(&c, ours.to_payload())
            .first()
            .is_some_and(|&(_, sa)| sa == moved),
        "our claim at {moved} when vcan0 is back"
    );
    let back = names(&file("c-names-back.txt"));
    assert!(
        tanks.services.iter().all(|s| back.contains(s)),
        "back: {back:?}"
    );
    assert_values(&file("c-values-back.txt"), &tanks.values);

    // D: SIGTERM releases every name and exits 0.
    assert_eq!(
        std::fs::read_to_string(file("run.exit"))
            .expect("exit")
            .trim(),
        "0"
    );
    assert!(
        names(&file("d-names.txt")).is_empty(),
        "names left after SIGTERM"
    );
    let changes = owner_changes(&file("owners.txt"));
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (n, new) in changes
        .iter()
        .filter(|(n, _)| n.starts_with("com.victronenergy."))
    {
        owner.insert(n.clone(), new.clone());
    }
    for s in tanks.services.iter().chain(&battery.services) {
        assert_eq!(
            owner.get(s).map(String::as_str),
            Some(""),
            "{s}: last NameOwnerChanged"
        );
    }
    assert!(
        owner.values().all(String::is_empty),
        "still owned: {owner:?}"
    );

    // E: listen-only transmits nothing and still publishes.
    let e = bus_log(&file("e-bus.log"));
    let mut sent: BTreeSet<Seen> = phase_a[2].2.iter().filter_map(|l| parse_frame(l)).collect();
    sent.insert(Seen {
        id: 0x18EA_FF20,
        data: vec![0x00, 0xEE, 0x00],
    });
    sent.insert(Seen {
        id: 0x18EA_0B20,
        data: vec![0x14, 0xF0, 0x01],
    });
    let foreign: Vec<&Seen> = e.iter().filter(|f| !sent.contains(f)).collect();
    assert!(
        foreign.is_empty(),
        "frames nobody but the listen-only daemon sent: {foreign:?}"
    );
    assert_eq!(
        e.len(),
        phase_a[2].2.len() + 2,
        "every played frame, nothing else"
    );
    let listened = names(&file("e-names.txt"));
    assert!(
        single.services.iter().all(|s| listened.contains(s)),
        "{listened:?}"
    );
    assert_eq!(
        std::fs::read_to_string(file("listen.exit"))
            .expect("exit")
            .trim(),
        "0"
    );

    // F: the system clock set a year forwards, then back. The daemon runs on the
    // monotonic clock: no service withdrawn, the heartbeat on its 60 s period (one
    // at the claim, one a minute later; the guest stops at the second), no burst of
    // frames, the same memory; each step counted and logged.
    let tank = &single.services;
    let before = names(&file("f-names-before.txt"));
    let after = names(&file("f-names-after.txt"));
    assert!(
        tank.iter().all(|s| before.contains(s)),
        "before: {before:?}"
    );
    assert!(tank.iter().all(|s| after.contains(s)), "after: {after:?}");
    let owners = owner_changes(&file("f-owners.txt"));
    for s in tank {
        let changes: Vec<&(String, String)> = owners.iter().filter(|(n, _)| n == s).collect();
        // Published once, released at SIGTERM, never withdrawn in between.
        let owned: Vec<bool> = changes.iter().map(|(_, o)| !o.is_empty()).collect();
        assert_eq!(owned, [true, false], "{s}: {changes:?}");
    }
    let f = bus_log(&file("f-bus.log"));
    let ours: Vec<&Seen> = f.iter().filter(|s| s.source() == 110).collect();
    let heartbeats = ours.iter().filter(|s| s.pgn() == 126993).count();
    assert_eq!(
        heartbeats, 2,
        "one heartbeat at the claim, one a period later: {ours:?}"
    );
    // candump's times are the system clock's, which went a year forwards and back
    // between the two: the net step is all but nothing, and the period is 60 s.
    let times: Vec<f64> = std::fs::read_to_string(file("f-bus.log"))
        .expect("f-bus.log")
        .lines()
        .filter(|l| l.contains(" 1DF0116E#"))
        .filter_map(|l| l.strip_prefix('(')?.split(')').next()?.parse().ok())
        .collect();
    assert_eq!(times.len(), 2, "{times:?}");
    let period = times[1] - times[0];
    assert!(
        (55.0..65.0).contains(&period),
        "heartbeat period {period:.1} s"
    );
    assert!(ours.len() <= 30, "a burst: {} frames from us", ours.len());
    let kb = |n: &str| -> u64 {
        std::fs::read_to_string(file(n))
            .unwrap_or_default()
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{n}: VmRSS"))
    };
    let (rss0, rss1, rss2) = (
        kb("f-rss-before.txt"),
        kb("f-rss-stepped.txt"),
        kb("f-rss-after.txt"),
    );
    assert!(
        rss1.max(rss2) <= rss0 + 512,
        "RSS {rss0} → {rss1} → {rss2} kB"
    );
    let f_log = std::fs::read_to_string(file("f-run.log")).unwrap_or_default();
    assert!(
        f_log.contains("the system clock stepped by +3153"),
        "{f_log}"
    );
    assert!(
        f_log.contains("the system clock stepped by -3153"),
        "{f_log}"
    );
    assert_eq!(
        std::fs::read_to_string(file("f-run.exit"))
            .expect("exit")
            .trim(),
        "0"
    );

    // G: the scripted MPPT (tests/vcan/mppt.sh) through the daemon at 120.
    mppt_checks(&file);

    // H: NMEA 2000-out of two services `n2k-dbus serve` publishes.
    n2k_out_checks(&file);
}

/// Phase H's services: a battery monitor and a tank as Venus drivers publish them
/// (paths of venus-service-dumps/smartshunt-battery.json and tank-fuel1.json).
const H_SERVICES: &str = r#"{
  "com.victronenergy.battery.ttyUSB1": {
    "/Mgmt/ProcessName": "vedirect-dbus", "/Mgmt/Connection": "VE.Direct",
    "/ProductName": "SmartShunt 500A/50mV", "/DeviceInstance": 279,
    "/Dc/0/Voltage": 12.87, "/Dc/0/Current": -3.4, "/Dc/0/Temperature": null, "/Soc": 91.0
  },
  "com.victronenergy.tank.adc_builtin0_23": {
    "/Mgmt/ProcessName": "dbus-adc", "/ProductName": "Generic Tank Input",
    "/DeviceInstance": 23, "/FluidType": 0, "/Level": 62.5, "/Capacity": 0.15
  }
}"#;

fn n2k_out_checks(file: &dyn Fn(&str) -> PathBuf) {
    let log = std::fs::read_to_string(file("h-bus.log")).expect("h-bus.log");
    let frames: Vec<(u32, Vec<u8>)> = log
        .lines()
        .filter_map(|l| {
            let (id, data) = l.split_whitespace().nth(2)?.split_once('#')?;
            let bytes = (0..data.len() / 2)
                .map(|i| u8::from_str_radix(&data[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            Some((u32::from_str_radix(id, 16).ok()?, bytes))
        })
        .collect();
    let pgn_src = |id: u32| {
        let pf = (id >> 16) & 0xFF;
        let pgn = if pf < 240 {
            (id >> 8) & 0x3FF00
        } else {
            (id >> 8) & 0x3FFFF
        };
        (pgn, (id & 0xFF) as u8)
    };
    // The two virtual nodes claim addresses 0 and 1 (nothing stored yet) with NAMEs
    // of class 35 / function 170 and class 75 / function 150.
    let claims: BTreeMap<u8, Name> = frames
        .iter()
        .filter(|(id, _)| pgn_src(*id).0 == 60928)
        .map(|(id, d)| (pgn_src(*id).1, Name::from_payload(d).expect("NAME")))
        .collect();
    let kinds: BTreeSet<(u8, u8)> = [0u8, 1]
        .iter()
        .filter_map(|a| claims.get(a))
        .map(|n| (n.device_class(), n.device_function()))
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([(35, 170), (75, 150)]),
        "claims: {claims:?}"
    );
    // Their data: 127508 with 12.87 V / −3.4 A; 127505 fuel 62.5 % of 150 L.
    let battery = if claims[&0].device_function() == 170 {
        0
    } else {
        1
    };
    let status = frames
        .iter()
        .find(|(id, _)| pgn_src(*id) == (127508, battery))
        .expect("127508 from the battery node");
    assert_eq!(
        &status.1[1..5],
        &[0x07, 0x05, 0xDE, 0xFF],
        "1287 × 10 mV, −34 × 0.1 A"
    );
    let level = frames
        .iter()
        .find(|(id, _)| pgn_src(*id) == (127505, 1 - battery))
        .expect("127505 from the tank node");
    assert_eq!(level.1[0] >> 4, 0, "fuel");
    assert_eq!(
        i16::from_le_bytes([level.1[1], level.1[2]]),
        15625,
        "62.5 % in 0.004 %"
    );
    assert_eq!(
        u32::from_le_bytes([level.1[3], level.1[4], level.1[5], level.1[6]]),
        1500
    );
    // The request for 126996 to address 0 is answered by that node with its model.
    let asked = frames
        .iter()
        .position(|(id, d)| *id == 0x18EA0021 && d[..] == [0x14, 0xF0, 0x01])
        .expect("the request was sent");
    let mut answer = Vec::new();
    for (id, d) in &frames[asked..] {
        if pgn_src(*id) == (126996, 0) {
            answer.extend_from_slice(&d[1..]);
            if answer.len() >= 7 + 134 {
                break;
            }
        }
    }
    let want = if battery == 0 {
        "SmartShunt 500A/50mV"
    } else {
        "Generic Tank Input"
    };
    let model = String::from_utf8_lossy(&answer[5..5 + 32]);
    assert!(model.starts_with(want), "126996 from address 0: {model:?}");
    assert_eq!(
        std::fs::read_to_string(file("h-run.exit"))
            .expect("exit")
            .trim(),
        "0"
    );
}

/// The scripted MPPT's NAME: unique 40001, Victron (358), class 35, function 160.
fn mppt_name() -> [u8; 8] {
    name(40001, 358, (35, 160), 0).to_payload()
}

/// A VREG broadcast from 0x20 as cansend frames: one on 61184, or the fast packet
/// on 126720 of a longer value.
fn mppt_frames(register: u16, value: &[u8]) -> Vec<String> {
    let mut p = vec![0x66, 0x99];
    p.extend_from_slice(&register.to_le_bytes());
    p.extend_from_slice(value);
    let pgn = if p.len() > 8 { 126720 } else { 61184 };
    p.resize(p.len().max(8), 0);
    let id = n2k_dbus::can::CanId {
        priority: 7,
        pgn,
        source: 0x20,
        destination: 255,
    };
    n2k_dbus::n2k::fragment::frames(0, id, &p, 1)
        .expect("frames")
        .iter()
        .map(|f| {
            let data = crate::support::hex(f.data());
            format!("{:08X}#{data}", f.id)
        })
        .collect()
}

/// The MPPT's script, claim and answers (docs/vecan-products.md#registers: model name, firmware,
/// PV voltage 45.67 V, mode on, state bulk, charge current limit 35 A).
fn mppt_data(data: &Path) {
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vcan/mppt.sh"),
        data.join("mppt.sh"),
    )
    .expect("mppt.sh");
    let hex = crate::support::hex;
    std::fs::write(
        data.join("mppt-claim.txt"),
        format!("18EEFF20#{}\n", hex(&mppt_name())),
    )
    .expect("claim");
    let mut answers = String::new();
    for (register, value) in [
        (0x010Bu16, b"SmartSolar MPPT VE.Can 150/70\0".to_vec()),
        (0x0102, vec![0, 0xFF, 0x15, 0x03]),
        (0xEDBB, 4567u16.to_le_bytes().to_vec()),
        (0x0200, vec![1]),
        (0x0201, vec![3]),
        (0xEDF0, 350u16.to_le_bytes().to_vec()),
    ] {
        answers.push_str(&format!(
            "{} {}\n",
            hex(&register.to_le_bytes()),
            mppt_frames(register, &value).join(" ")
        ));
    }
    std::fs::write(data.join("mppt-answers.txt"), answers).expect("answers");
}

fn mppt_checks(file: &dyn Fn(&str) -> PathBuf) {
    let read = |n: &str| std::fs::read_to_string(file(n)).unwrap_or_default();
    let g = bus_log(&file("g-bus.log"));
    let ours = 120u8;
    let frame = |id: u32, data: &[u8]| g.iter().position(|f| f.id == id && f.data == data);
    // Our request for the model name (VREQ 0x010B, mask 0xFFFF), addressed to 0x20,
    // and the MPPT's answer after it.
    let asked = frame(
        0x1CEF_2000 | u32::from(ours),
        &[0x66, 0x99, 0x01, 0x00, 0x0B, 0x01, 0xFF, 0xFF],
    )
    .unwrap_or_else(|| panic!("our request for 0x010B: {g:?}"));
    assert!(
        g.iter().skip(asked).any(|f| f.id == 0x1DEF_FF20),
        "the model name after the request"
    );
    // The product id it does not have: VACK 0x8000 to us.
    assert!(
        frame(
            0x1CEF_0020 | (u32::from(ours) << 8),
            &[0x66, 0x99, 0x02, 0x00, 0x00, 0x01, 0x00, 0x80]
        )
        .is_some(),
        "VACK 0x8000 for 0x0100"
    );
    // The mode writes: 4 accepted (broadcast back), 7 refused (VACK 0x8300).
    let w4 = frame(
        0x1CEF_2000 | u32::from(ours),
        &[0x66, 0x99, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00],
    )
    .expect("our write of mode 4");
    assert!(frame(0x1CEF_FF20, &[0x66, 0x99, 0x00, 0x02, 0x04, 0, 0, 0]).is_some_and(|i| i > w4));
    assert!(frame(
        0x1CEF_2000 | u32::from(ours),
        &[0x66, 0x99, 0x00, 0x02, 0x07, 0x00, 0x00, 0x00]
    )
    .is_some());
    assert!(frame(
        0x1CEF_0020 | (u32::from(ours) << 8),
        &[0x66, 0x99, 0x02, 0x00, 0x00, 0x02, 0x00, 0x83]
    )
    .is_some());
    assert!(
        read("g-set-4.txt").contains("int32 0"),
        "{}",
        read("g-set-4.txt")
    );
    assert!(
        read("g-set-7.txt").contains("int32 2"),
        "{}",
        read("g-set-7.txt")
    );
    let items = read("g-items.txt");
    for want in ["SmartSolar MPPT VE.Can 150/70", "45.67"] {
        assert!(items.contains(want), "{want} in GetItems: {items}");
    }
    let mode = items
        .split("string \"/Mode\"")
        .nth(1)
        .and_then(|r| r.split("int32 ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("/Mode in {items}"));
    assert_eq!(mode, "4", "the mode read back");
    // `registers -i` on the same bus, listening: the values the MPPT broadcast.
    let regs = read("g-registers.txt");
    assert!(
        regs.lines()
            .any(|l| l.contains("0xEDBB") && l.contains("pvVoltage") && l.contains("45.67 V")),
        "{regs}"
    );
}
