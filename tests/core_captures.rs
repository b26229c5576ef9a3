//! The core in listen-only mode over real captures: the device table it builds must
//! hold exactly the NAMEs and product information in canboat's reference decode.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::read::GzDecoder;
use n2k_dbus::core::{Core, CoreConfig, Output};
use n2k_dbus::devices::Lifecycle;
use n2k_dbus::logs::LogReader;
use n2k_dbus::network::{Name, NameFields};
use serde_json::Value;

fn samples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/candump-samples"))
}

/// What the reference decode says about each source address.
#[derive(Default, Debug)]
struct Expected {
    name: Option<Name>,
    named_at: Option<String>,
    product: Option<(String, String, String)>,
}

fn num(f: &Value, k: &str) -> u64 {
    match &f[k] {
        Value::Object(o) => o["value"].as_u64(),
        v => v.as_u64(),
    }
    .unwrap_or_else(|| panic!("field {k} in {f}"))
}

fn reference(file: &str) -> (BTreeMap<u8, Expected>, Option<String>) {
    let gz = File::open(samples().join("decodes").join(format!("{file}.json.gz"))).expect("decode");
    let mut out: BTreeMap<u8, Expected> = BTreeMap::new();
    let mut last_time = None;
    for line in BufReader::new(GzDecoder::new(gz)).lines() {
        let v: Value = serde_json::from_str(&line.expect("line")).expect("json");
        let Some(src) = v["src"].as_u64() else {
            continue;
        };
        let e = out.entry(src as u8).or_default();
        last_time = v["timestamp"].as_str().map(str::to_owned);
        let f = &v["fields"];
        match v["pgn"].as_u64() {
            Some(60928) if e.name.is_none() => {
                e.name = Some(Name::from_fields(NameFields {
                    unique_number: num(f, "Unique Number") as u32,
                    manufacturer_code: num(f, "Manufacturer Code") as u16,
                    device_instance: (num(f, "Device Instance Lower")
                        | num(f, "Device Instance Upper") << 3)
                        as u8,
                    device_function: num(f, "Device Function") as u8,
                    device_class: num(f, "Device Class") as u8,
                    system_instance: num(f, "System Instance") as u8,
                    industry_group: num(f, "Industry Group") as u8,
                    arbitrary_address_capable: num(f, "Arbitrary address capable") == 1,
                }));
                e.named_at = last_time.clone();
            }
            Some(126996) => {
                let s = |k: &str| f[k].as_str().unwrap_or("").to_owned();
                e.product = Some((
                    s("Model ID"),
                    s("Software Version Code"),
                    s("Model Serial Code"),
                ));
            }
            _ => {}
        }
    }
    (out, last_time)
}

fn seconds_between(a: &str, b: &str) -> f64 {
    // ISO times of one day in the reference decodes: compare hh:mm:ss.mmm.
    let secs = |t: &str| {
        let hms = &t[11..t.len() - 1];
        let p: Vec<f64> = hms.split(':').map(|x| x.parse().expect("time")).collect();
        p[0] * 3600.0 + p[1] * 60.0 + p[2]
    };
    secs(b) - secs(a)
}

fn replay_listen_only(file: &str) -> Core {
    let text = std::fs::read_to_string(samples().join(file)).expect("capture");
    let mut core = Core::new(CoreConfig::gateway(1001).listen_only());
    let mut transmitted = 0;
    for r in LogReader::new(text.as_bytes(), file) {
        core.replay(&r.expect("capture line"), &mut |_, o| {
            transmitted += usize::from(matches!(o, Output::Transmit(_)));
        });
    }
    assert_eq!(transmitted, 0, "{file}: listen-only transmitted");
    core
}

fn check(file: &str) {
    let (want, last) = reference(file);
    let core = replay_listen_only(file);
    let mut named = 0;
    for (&addr, e) in &want {
        match e.name {
            Some(name) => {
                named += 1;
                assert_eq!(
                    core.table().name_at(addr),
                    Some(name),
                    "{file}: address {addr}"
                );
                let d = core.registry().get(name).expect("device");
                assert_eq!(d.address, Some(addr));
                assert!(d.online(), "{file}: {name} online");
                let p = d.product.as_ref().map(|p| {
                    (
                        p.model_id.clone(),
                        p.software_version.clone(),
                        p.serial.clone(),
                    )
                });
                assert_eq!(p, e.product, "{file}: product information of {name}");
                let waited = match (&e.named_at, &last) {
                    (Some(a), Some(b)) => seconds_between(a, b) >= 5.0,
                    _ => false,
                };
                let want_state = if e.product.is_some() || (waited && has_clock(file)) {
                    Lifecycle::Identified
                } else {
                    Lifecycle::Named
                };
                assert_eq!(d.lifecycle, want_state, "{file}: lifecycle of {name}");
            }
            None => {
                assert!(
                    core.registry().heard(addr).is_some(),
                    "{file}: {addr} heard"
                );
                assert_eq!(core.table().name_at(addr), None);
            }
        }
    }
    assert_eq!(core.registry().len(), named, "{file}: no other devices");
    assert_eq!(core.registry().heard_iter().count(), want.len() - named);
}

/// candumpSample1 has no timestamps: its clock never moves.
fn has_clock(file: &str) -> bool {
    file != "candumpSample1.txt"
}

#[test]
fn listen_only_over_a_real_power_up() {
    check("candumpSample1.txt");
}

#[test]
fn listen_only_over_a_raymarine_bus() {
    check("candumpSample3.txt");
}

#[test]
fn listen_only_over_ten_minutes_where_nobody_claims() {
    check("aava-n2k.data");
}
