//! Scenario logs replayed through the core on a virtual clock.
//!
//! Each `candump-samples/scenarios/*.log` is a candump log of the other nodes on a
//! bus, with its expectations in comments:
//! - `#@ key=value …` configures the core (`unique`, `address`, `listen-only`,
//!   `start`, `end` in seconds, `software` for our product information);
//! - `#> <seconds> <output>` is one output of the core, in order: a frame it
//!   transmits (`TX <id>#<data>`, byte for byte) or an event;
//! - `#= <NAME> <address|-> <named|identified|gone> [<model id>]` is one line of
//!   the device table at the end, by NAME.
//!
//! The core's frames do not go back into it (SocketCAN does not loop a socket's own
//! frames back to it), so each log holds the other nodes' answers at the times the
//! protocol lets them come.

use crate::support::core_feed;
use std::path::Path;

use n2k_dbus::can::Micros;
use n2k_dbus::core::{Core, CoreConfig, Output};
use n2k_dbus::devices::Lifecycle;
use n2k_dbus::logs::LogReader;

struct Scenario {
    cfg: CoreConfig,
    start: Option<Micros>,
    end: Option<Micros>,
    outputs: Vec<String>,
    table: Vec<String>,
}

fn seconds(s: &str) -> Micros {
    (s.parse::<f64>().expect("seconds") * 1e6).round() as Micros
}

fn parse(text: &str) -> Scenario {
    let mut unique = 1001;
    let mut address = 100;
    let mut listen_only = false;
    let mut start = None;
    let mut end = None;
    let mut software = None;
    let mut outputs = Vec::new();
    let mut table = Vec::new();
    for line in text.lines() {
        if let Some(opts) = line.strip_prefix("#@ ") {
            for o in opts.split_whitespace() {
                match o.split_once('=') {
                    Some(("unique", v)) => unique = v.parse().expect("unique"),
                    Some(("address", v)) => address = v.parse().expect("address"),
                    Some(("start", v)) => start = Some(seconds(v)),
                    Some(("end", v)) => end = Some(seconds(v)),
                    Some(("software", v)) => software = Some(v.to_owned()),
                    None if o == "listen-only" => listen_only = true,
                    _ => panic!("unknown scenario option {o}"),
                }
            }
        } else if let Some(o) = line.strip_prefix("#> ") {
            outputs.push(o.trim().to_owned());
        } else if let Some(o) = line.strip_prefix("#= ") {
            table.push(o.trim().to_owned());
        }
    }
    let mut cfg = CoreConfig::gateway(unique);
    cfg.preferred_address = address;
    cfg.listen_only = listen_only;
    if let Some(v) = software {
        cfg.product.software_version = v;
    }
    Scenario {
        cfg,
        start,
        end,
        outputs,
        table,
    }
}

fn stamp(t: Micros) -> String {
    format!("{}.{:06}", t.div_euclid(1_000_000), t.rem_euclid(1_000_000))
}

/// Replays `path`; returns the outputs as `#>` lines and the final device table.
fn replay(path: &Path, sc: &Scenario) -> (Vec<String>, Vec<String>, Core) {
    let text = std::fs::read_to_string(path).expect("scenario");
    let mut core = Core::new(sc.cfg.clone());
    let mut out = Vec::new();
    let mut sink = |t: Micros, o: Output| out.push(format!("{} {o}", stamp(t)));
    let mut last = None;
    for r in LogReader::new(text.as_bytes(), path.display().to_string()) {
        let r = r.expect("scenario line");
        if last.is_none() {
            // The core starts at the scenario's start time, else at its first frame.
            let s = sc.start.unwrap_or(r.timestamp());
            core.start(s);
            while let Some(o) = core.poll_output() {
                sink(s, o);
            }
        }
        core_feed::feed(&mut core, &r, &mut sink);
        last = Some(r.timestamp());
    }
    core.advance_to(sc.end.or(last).unwrap_or(0), &mut sink);
    let mut devices: Vec<_> = core.registry().iter().collect();
    devices.sort_by_key(|d| d.name);
    let table = devices
        .iter()
        .map(|d| {
            let state = match d.lifecycle {
                Lifecycle::Named => "named",
                Lifecycle::Identified => "identified",
                Lifecycle::Gone => "gone",
            };
            let addr = d.address.map_or("-".into(), |a| a.to_string());
            let model = d
                .product
                .as_ref()
                .map(|p| format!(" {}", p.model_id))
                .unwrap_or_default();
            format!("{} {addr} {state}{model}", d.name)
        })
        .collect();
    (out, table, core)
}

fn check(file: &str) -> Core {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("candump-samples/scenarios")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("scenario");
    let sc = parse(&text);
    assert!(
        !sc.outputs.is_empty() || sc.cfg.listen_only,
        "{file}: no expectations"
    );
    let (out, table, core) = replay(&path, &sc);
    let diff = |what: &str, want: &[String], got: &[String]| {
        if want != got {
            let mut msg = format!("{file}: {what} differ\n");
            for i in 0..want.len().max(got.len()) {
                let w = want.get(i).map_or("", String::as_str);
                let g = got.get(i).map_or("", String::as_str);
                let mark = if w == g { ' ' } else { '!' };
                msg += &format!("{mark} want: {w}\n{mark}  got: {g}\n");
            }
            panic!("{msg}");
        }
    };
    diff("outputs", &sc.outputs, &out);
    diff("device tables", &sc.table, &table);
    core
}

#[test]
fn power_up_of_a_ten_node_bus() {
    check("power-up.log");
}

#[test]
fn an_address_conflict_we_lose() {
    check("claim-lost.log");
}

#[test]
fn an_address_conflict_we_win() {
    check("claim-won.log");
}

#[test]
fn a_device_moving_to_a_new_address() {
    check("device-moves.log");
}

#[test]
fn a_device_unplugged_and_one_that_only_sends_heartbeats() {
    check("unplugged.log");
}

#[test]
fn the_same_name_twice() {
    check("same-name.log");
}

#[test]
fn a_device_instance_changed_by_a_group_function_command() {
    check("instance-change.log");
}

#[test]
fn our_node_answers_requests() {
    check("answers.log");
}

#[test]
fn listen_only_transmits_nothing_and_learns_passively() {
    let core = check("listen-only.log");
    assert_eq!(core.stats().transmitted, 0);
    assert!(
        core.registry().heard(33).is_some(),
        "N stays an unnamed source"
    );
}
