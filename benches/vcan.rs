//! The daemon on a real kernel's vcan at the rate of a busy NMEA 2000 bus: in the
//! test VM (`tests/vcan/vm.sh`), `canplayer` plays 40 s of real frames
//! (candumpSample1 and candumpSample3, retimed to 2,000 frames/s) plus a tank sender
//! whose level changes every 250 ms. Measured:
//!
//! - the daemon's CPU time per second of bus traffic, next to candump's (which only
//!   reads each frame and prints it) in the same run;
//! - the latency from a level frame on vcan0 (candump's kernel timestamp) to the
//!   `ItemsChanged` carrying that level (dbus-monitor's receive time), p50 and p99.
//!
//! The VM runs under TCG (software emulation): CPU times are several times those of
//! the same daemon on hardware; the ratio to candump carries over.
//!
//!     cargo bench --bench vcan

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use n2k_dbus::can::Frame;
use n2k_dbus::logs::{LogReader, Record};

/// Frames per second of the background traffic.
const RATE: i64 = 2_000;
/// Seconds played.
const SECONDS: i64 = 40;
/// The probe: a tank sender at this address, a level every `PROBE_EVERY` µs.
const PROBE: u8 = 0x50;
const PROBE_EVERY: i64 = 250_000;
/// Levels before this time are the warm-up: the sender is published once identified,
/// which takes a while as it answers no request.
const WARM_UP: i64 = 20_000_000;
/// /proc/<pid>/stat counts in USER_HZ.
const USER_HZ: f64 = 100.0;

fn real_frames() -> Vec<Frame> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("candump-samples");
    let mut out = Vec::new();
    for name in ["candumpSample1.txt", "candumpSample3.txt"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("sample");
        for r in LogReader::new(text.as_bytes(), name).flatten() {
            if let Record::Frame(f) = r {
                out.push(f);
            }
        }
    }
    out
}

/// The raw level (0.004 % units) of the probe's `k`th frame.
fn level_raw(k: i64) -> u16 {
    (2_500 + k) as u16
}

fn line(out: &mut String, t: i64, id: u32, data: &[u8]) {
    let _ = write!(
        out,
        "({}.{:06}) can0 {id:08X}#",
        t / 1_000_000,
        t % 1_000_000
    );
    for b in data {
        let _ = write!(out, "{b:02X}");
    }
    out.push('\n');
}

/// The log canplayer plays: the background and the probe, in time order.
fn bench_log() -> String {
    let base = real_frames();
    let mut out = String::new();
    // The probe claims first: a NAME of class 75 / function 150 (tank sender).
    let name: u64 = 500_001 | (229 << 21) | (150 << 40) | (75 << 49) | (4 << 60) | (1 << 63);
    line(
        &mut out,
        50_000,
        0x18EE_FF00 | u32::from(PROBE),
        &name.to_le_bytes(),
    );
    let mut next_probe = 500_000;
    let mut k = 0;
    let step = 1_000_000 / RATE;
    let mut t = 100_000;
    let mut i = 0;
    while t < SECONDS * 1_000_000 {
        if t >= next_probe {
            // 127505: instance 0, fuel; level; capacity 300 L.
            let raw = level_raw(k).to_le_bytes();
            let data = [0x00, raw[0], raw[1], 0xB8, 0x0B, 0x00, 0x00, 0xFF];
            line(&mut out, t, 0x19F2_1100 | u32::from(PROBE), &data);
            next_probe += PROBE_EVERY;
            k += 1;
        }
        let f = &base[i % base.len()];
        line(&mut out, t, f.id, f.data());
        i += 1;
        t += step;
    }
    out
}

/// (time, raw level) of each probe frame candump saw.
fn probe_frames(bus: &str) -> Vec<(f64, u16)> {
    let id = format!("19F211{PROBE:02X}#");
    bus.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let t: f64 = w.next()?.trim_matches(['(', ')']).parse().ok()?;
            let f = w.nth(1)?;
            let data = f.strip_prefix(&id)?;
            let lo = u8::from_str_radix(data.get(2..4)?, 16).ok()?;
            let hi = u8::from_str_radix(data.get(4..6)?, 16).ok()?;
            Some((t, u16::from_le_bytes([lo, hi])))
        })
        .collect()
}

/// The first ItemsChanged time of each /Level value (as a raw level).
fn level_signals(items: &str) -> BTreeMap<u16, f64> {
    let mut out = BTreeMap::new();
    for sig in items.split("\nsignal ").skip(1) {
        let Some(t) = sig
            .split_whitespace()
            .find_map(|w| w.strip_prefix("time="))
            .and_then(|t| t.parse::<f64>().ok())
        else {
            continue;
        };
        let lines: Vec<&str> = sig.lines().map(str::trim).collect();
        for (i, l) in lines.iter().enumerate() {
            if *l != "string \"/Level\"" {
                continue;
            }
            // The item's Value, a few lines on (after its Text, or before it).
            let value = lines[i..]
                .iter()
                .take(12)
                .filter_map(|l| l.strip_prefix("variant"))
                .find_map(|v| v.trim().strip_prefix("double "))
                .and_then(|v| v.trim().parse::<f64>().ok());
            if let Some(v) = value {
                out.entry((v / 0.004).round() as u16).or_insert(t);
            }
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn numbers(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .split_whitespace()
        .map(|w| w.parse().expect("a number"))
        .collect()
}

fn main() {
    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/vcan-vm");
    let data = work.join("bench-data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).expect("data folder");
    std::fs::write(data.join("bench.log"), bench_log()).expect("bench.log");
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vcan");
    let status = Command::new(here.join("vm.sh"))
        .arg(here.join("guest-bench.sh"))
        .arg(env!("CARGO_BIN_EXE_n2k-dbus"))
        .arg(&data)
        .arg(work.join("bench"))
        .status()
        .expect("vm.sh runs");
    assert!(status.success(), "the VM did not run to its end");
    let out = work.join("bench/out");
    let before = numbers(&out.join("before.txt"));
    let after = numbers(&out.join("after.txt"));
    let wall = after[2] - before[2];
    let daemon = (after[0] - before[0]) / USER_HZ / wall;
    let candump = (after[1] - before[1]) / USER_HZ / wall;

    let bus = std::fs::read_to_string(out.join("bus.log")).expect("bus.log");
    let frames = bus.lines().count();
    let probes = probe_frames(&bus);
    let first = probes.first().map_or(0.0, |p| p.0);
    let signals = level_signals(&std::fs::read_to_string(out.join("items.txt")).expect("items"));
    let mut latencies: Vec<f64> = probes
        .iter()
        .filter(|(t, _)| (t - first) * 1e6 >= (WARM_UP - 500_000) as f64)
        .filter_map(|(t, raw)| signals.get(raw).map(|s| (s - t) * 1000.0))
        .collect();
    let measured = probes
        .iter()
        .filter(|(t, _)| (t - first) * 1e6 >= (WARM_UP - 500_000) as f64)
        .count();
    latencies.sort_by(f64::total_cmp);
    assert!(!latencies.is_empty(), "no level reached D-Bus");
    let rss = std::fs::read_to_string(out.join("rss.txt")).unwrap_or_default();
    println!(
        "vcan0 under qemu TCG: {frames} frames in {wall:.1} s ({:.0} frames/s)",
        frames as f64 / wall
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| daemon CPU time per second of traffic | {:.1} ms/s |",
        daemon * 1000.0
    );
    println!(
        "| candump CPU time per second (same frames) | {:.1} ms/s |",
        candump * 1000.0
    );
    println!("| daemon / candump | {:.2} |", daemon / candump.max(1e-9));
    println!(
        "| frame → ItemsChanged p50 | {:.1} ms |",
        percentile(&latencies, 0.5)
    );
    println!(
        "| frame → ItemsChanged p99 | {:.1} ms |",
        percentile(&latencies, 0.99)
    );
    println!(
        "| levels signalled / sent (after warm-up) | {} / {measured} |",
        latencies.len()
    );
    println!(
        "| daemon peak RSS | {} |",
        rss.trim().trim_start_matches("VmHWM:").trim()
    );
}
