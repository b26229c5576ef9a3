//! Real captures through the whole gateway into a private dbus-daemon: the services
//! each one must give, and every mapped value as canboat's reference decode states
//! it, converted to Venus units here (K → °C, rad → degrees, Pa → hPa, 0.1 ms →
//! ms), invalid where the last message is older than its freshness or the field
//! was not available.

use crate::support::{gateway_replay, reference};
use gateway_replay::{check, Read, Rig};
use n2k_dbus::venus::Rules;
use serde_json::Value;

/// One message of a reference decode.
struct Msg {
    src: u64,
    pgn: u64,
    /// Milliseconds, for captures with a clock.
    t: i64,
    f: Value,
}

struct Ref {
    msgs: Vec<Msg>,
    end: i64,
    timed: bool,
}

fn load(file: &str, timed: bool) -> Ref {
    let msgs: Vec<Msg> = reference::messages(file)
        .into_iter()
        .map(|(src, pgn, ts, f)| Msg {
            src,
            pgn,
            t: reference::millis(&ts),
            f,
        })
        .collect();
    let end = msgs.iter().map(|m| m.t).max().unwrap_or(0);
    Ref { msgs, end, timed }
}

/// A field as a number: plain, or the value of a lookup.
fn number(f: &Value, k: &str) -> Option<f64> {
    match &f[k] {
        Value::Object(o) => o["value"].as_f64(),
        v => v.as_f64(),
    }
}

/// How long a value of `pgn` stays valid, in ms (docs/venus-services.md#freshness).
fn freshness(pgn: u64) -> i64 {
    match pgn {
        127505 => 7500,
        130312 | 130313 | 130314 | 130316 => 6000,
        127513 => i64::MAX,
        _ => 5000,
    }
}

impl Ref {
    /// The last message of `src` and `pgn` whose key fields are `keys`.
    fn last(&self, src: u64, pgn: u64, keys: &[(&str, f64)]) -> Option<&Msg> {
        self.msgs.iter().rev().find(|m| {
            m.src == src && m.pgn == pgn && keys.iter().all(|(k, v)| number(&m.f, k) == Some(*v))
        })
    }

    /// The field of that message, converted; invalid when stale or absent.
    fn value(
        &self,
        src: u64,
        pgn: u64,
        keys: &[(&str, f64)],
        field: &str,
        conv: fn(f64) -> f64,
    ) -> Option<f64> {
        let m = self.last(src, pgn, keys)?;
        if self.timed && self.end - m.t > freshness(pgn) {
            return None;
        }
        number(&m.f, field).map(conv)
    }
}

fn same(x: f64) -> f64 {
    x
}
fn celsius(k: f64) -> f64 {
    k - 273.15
}
fn degrees(rad: f64) -> f64 {
    rad.to_degrees()
}
fn hpa(pa: f64) -> f64 {
    pa / 100.0
}

fn r(x: Option<f64>) -> Read {
    x.map_or(Read::Invalid, Read::Num)
}

/// `/Dc/0/*` (and `/Dc/1/Voltage`) of a DC service from 127508.
fn dc_paths(rf: &Ref, src: u64, dc0: f64, dc1: Option<f64>) -> Vec<(&'static str, Read)> {
    let at = |i: f64, field| rf.value(src, 127508, &[("Instance", i)], field, same);
    let v = at(dc0, "Voltage");
    let i = at(dc0, "Current");
    vec![
        ("/Dc/0/Voltage", r(v)),
        ("/Dc/0/Current", r(i)),
        ("/Dc/0/Power", r(v.zip(i).map(|(v, i)| v * i))),
        (
            "/Dc/0/Temperature",
            r(rf.value(src, 127508, &[("Instance", dc0)], "Temperature", celsius)),
        ),
        ("/Dc/1/Voltage", r(dc1.and_then(|d| at(d, "Voltage")))),
    ]
}

fn battery_paths(rf: &Ref, src: u64, dc0: f64, dc1: Option<f64>) -> Vec<(&'static str, Read)> {
    let mut v = dc_paths(rf, src, dc0, dc1);
    let k = [("Instance", dc0)];
    let remaining = rf.value(src, 127506, &k, "Remaining capacity", same);
    let installed = rf.value(src, 127513, &k, "Capacity", same);
    v.extend([
        (
            "/Soc",
            r(rf.value(src, 127506, &k, "State of Charge", same)),
        ),
        (
            "/Soh",
            r(rf.value(src, 127506, &k, "State of Health", same)),
        ),
        (
            "/TimeToGo",
            r(rf.value(src, 127506, &k, "Time Remaining", same)),
        ),
        ("/Capacity", r(remaining)),
        ("/InstalledCapacity", r(installed)),
        (
            "/ConsumedAmphours",
            r(remaining.zip(installed).map(|(a, b)| a - b)),
        ),
    ]);
    v
}

fn gps_paths(rf: &Ref, src: u64) -> Vec<(&'static str, Read)> {
    let rapid = |k| rf.value(src, 129025, &[], k, same);
    let gnss = |k| rf.value(src, 129029, &[], k, same);
    let position = rapid("Latitude")
        .zip(rapid("Longitude"))
        .or(gnss("Latitude").zip(gnss("Longitude")));
    let true_course = rf.value(src, 129026, &[], "COG Reference", same) == Some(0.0);
    let method = gnss("Method");
    let fix = match method {
        Some(m) if (1.0..=5.0).contains(&m) => Some(1.0),
        Some(_) => Some(0.0),
        None => Some(f64::from(u8::from(position.is_some()))),
    };
    vec![
        ("/Position/Latitude", r(position.map(|p| p.0))),
        ("/Position/Longitude", r(position.map(|p| p.1))),
        (
            "/Course",
            r(true_course
                .then(|| rf.value(src, 129026, &[], "COG", degrees))
                .flatten()),
        ),
        ("/Speed", r(rf.value(src, 129026, &[], "SOG", same))),
        ("/Altitude", r(gnss("Altitude"))),
        ("/Fix", r(fix)),
        ("/NrOfSatellites", r(gnss("Number of SVs"))),
        (
            "/UtcTime",
            r(rf.value(src, 129029, &[], "Time", |t| (t / 10.0).round())),
        ),
        ("/ProductId", Read::Num(41316.0)),
    ]
}

/// A temperature sensor fed by 130311 (source key) and 130312/130316 (instance and
/// source keys).
fn temperature_paths(rf: &Ref, src: u64, instance: f64, source: f64) -> Vec<(&'static str, Read)> {
    let k2 = [("Instance", instance), ("Source", source)];
    let env = [("Temperature Source", source)];
    let t = rf
        .value(src, 130316, &k2, "Temperature", celsius)
        .or_else(|| rf.value(src, 130312, &k2, "Actual Temperature", celsius))
        .or_else(|| {
            (instance == 0.0)
                .then(|| rf.value(src, 130311, &env, "Temperature", celsius))
                .flatten()
        });
    let env_value = |field, conv| {
        (instance == 0.0)
            .then(|| rf.value(src, 130311, &env, field, conv))
            .flatten()
    };
    vec![
        ("/Temperature", r(t)),
        ("/Status", Read::Num(if t.is_some() { 0.0 } else { 4.0 })),
        ("/Humidity", r(env_value("Humidity", same))),
        ("/Pressure", r(env_value("Atmospheric Pressure", hpa))),
    ]
}

fn generic(service: &str, unique: Option<u32>, product: &str) -> Vec<(&'static str, Read)> {
    let _ = service;
    vec![
        ("/Mgmt/Connection", Read::Text("NMEA 2000".into())),
        ("/Mgmt/ProcessName", Read::Text("n2k-dbus".into())),
        ("/Connected", Read::Num(1.0)),
        ("/ProductName", Read::Text(product.into())),
        (
            "/N2kUniqueNumber",
            unique.map_or(Read::Invalid, |u| Read::Num(f64::from(u))),
        ),
    ]
}

async fn assert_services(
    file: &str,
    skip_bad_lines: bool,
    want: Vec<(String, Vec<(&'static str, Read)>)>,
) {
    let path = reference::samples().join(file);
    // Listen-only, as `replay` is: a recording answers no request.
    let mut rig = Rig::with_records(
        gateway_replay::records(&path, skip_bad_lines),
        true,
        Rules::default(),
    )
    .await;
    rig.run_all_and_hold().await;
    let mut names: Vec<String> = want.iter().map(|w| w.0.clone()).collect();
    names.sort();
    assert_eq!(rig.services().await, names, "{file}: the services");
    for (service, paths) in &want {
        let items = rig.items(service).await;
        for (p, v) in paths {
            check(service, &items, p, v);
        }
    }
    rig.publisher.withdraw_all().await;
}

fn svc(kind: &str, tail: &str) -> String {
    format!("com.victronenergy.{kind}.socketcan_{tail}")
}

#[tokio::test]
async fn aava_battery_gps_and_sea_temperature() {
    let rf = load("aava-n2k.data", true);
    // No address claims in this capture: devices are known by address.
    let battery = svc("battery", "can0_sa129");
    let mut b = battery_paths(&rf, 129, 1.0, None);
    b.extend(generic(&battery, None, "NMEA 2000 battery monitor"));
    b.push(("/N2kDataInstance", Read::Num(1.0)));
    let gps = svc("gps", "can0_sa160");
    let mut g = gps_paths(&rf, 160);
    g.extend(generic(&gps, None, "NMEA 2000 GPS"));
    let temp = svc("temperature", "can0_sa115_sea0");
    let mut t = temperature_paths(&rf, 115, 0.0, 0.0);
    t.push(("/TemperatureType", Read::Num(4.0)));
    // Every mapped value of this capture is present and fresh at its end.
    for (p, v) in b.iter().chain(&g).chain(&t) {
        if ![
            "/Soc",
            "/Soh",
            "/TimeToGo",
            "/Capacity",
            "/ConsumedAmphours",
            "/Dc/1/Voltage",
            "/Humidity",
            "/Pressure",
            "/N2kUniqueNumber",
        ]
        .contains(p)
        {
            assert_ne!(*v, Read::Invalid, "{p}: the reference has a value");
        }
    }
    assert_services(
        "aava-n2k.data",
        false,
        vec![(battery, b), (gps, g), (temp, t)],
    )
    .await;
}

#[tokio::test]
async fn candump_sample1_named_gps_and_depth_transducer_temperature() {
    let rf = load("candumpSample1.txt", false);
    let (names, _) = reference::reference("candumpSample1.txt");
    let gps_name = names[&0].name.expect("the GPS claims");
    let dst = names[&35].name.expect("the transducer claims");
    let gps = svc(
        "gps",
        &format!(
            "can0_di{}_uc{}",
            gps_name.device_instance(),
            gps_name.unique_number()
        ),
    );
    let mut g = gps_paths(&rf, 0);
    g.extend(generic(
        &gps,
        Some(gps_name.unique_number()),
        "GPS17x-NMEA2000",
    ));
    g.push((
        "/FirmwareVersion",
        Read::Text(names[&0].product.clone().expect("126996").1),
    ));
    let temp = svc(
        "temperature",
        &format!(
            "can0_di{}_uc{}_sea0",
            dst.device_instance(),
            dst.unique_number()
        ),
    );
    let mut t = temperature_paths(&rf, 35, 0.0, 0.0);
    t.extend(generic(&temp, Some(dst.unique_number()), "DST200"));
    t.push((
        "/N2kDeviceInstance",
        Read::Num(f64::from(dst.device_instance())),
    ));
    assert_services("candumpSample1.txt", false, vec![(gps, g), (temp, t)]).await;
}

#[tokio::test]
async fn candump_samples_2_and_3_position_sources_without_names() {
    let rf = load("candumpSample2.txt", false);
    let gps = svc("gps", "can0_sa127");
    let g = gps_paths(&rf, 127);
    assert_services("candumpSample2.txt", false, vec![(gps, g)]).await;

    let rf = load("candumpSample3.txt", true);
    let gps = svc("gps", "slcan0_sa43");
    let g = gps_paths(&rf, 43);
    let temp = svc("temperature", "slcan0_sa116_sea0");
    let t = temperature_paths(&rf, 116, 0.0, 0.0);
    assert_services("candumpSample3.txt", false, vec![(gps, g), (temp, t)]).await;
}

/// The battery services of `src` by the README's rule, from the reference: every
/// DC instance that measures more than a voltage (a current in 127508, any 127506,
/// any 127513) is a battery of its own, the lowest the main one (no suffix), the
/// others `_dc<instance>`; the lowest instance with a voltage only is the main
/// one's `/Dc/1/Voltage`.
fn battery_services(rf: &Ref, src: u64, tail: &str) -> Vec<(String, Vec<(&'static str, Read)>)> {
    let mut full = std::collections::BTreeSet::new();
    let mut voltage_only = std::collections::BTreeSet::new();
    for m in rf.msgs.iter().filter(|m| m.src == src) {
        let Some(i) = number(&m.f, "Instance").map(|i| i as u64) else {
            continue;
        };
        match m.pgn {
            127506 | 127513 => {
                full.insert(i);
            }
            127508 if number(&m.f, "Current").is_some() => {
                full.insert(i);
            }
            127508 if number(&m.f, "Voltage").is_some() => {
                voltage_only.insert(i);
            }
            _ => {}
        }
    }
    let voltage_only: Vec<u64> = voltage_only.difference(&full).copied().collect();
    let mut out = Vec::new();
    for (k, &i) in full.iter().enumerate() {
        let (name, dc1) = if k == 0 {
            (
                svc("battery", tail),
                voltage_only.first().map(|&v| v as f64),
            )
        } else {
            (svc("battery", &format!("{tail}_dc{i}")), None)
        };
        let mut paths = battery_paths(rf, src, i as f64, dc1);
        paths.push(("/N2kDataInstance", Read::Num(i as f64)));
        out.push((name, paths));
    }
    out
}

#[tokio::test]
async fn merrimac_battery_monitor_four_gps_and_environment() {
    let rf = load("merrimac-ydwg-2020.raw", true);
    // The monitor at address 0: four instances, each with a current.
    let mut want = battery_services(&rf, 0, "can0_sa0");
    assert_eq!(want.len(), 4);
    for src in [16, 21, 22, 45] {
        want.push((svc("gps", &format!("can0_sa{src}")), gps_paths(&rf, src)));
    }
    // Address 12 sends 130312 for instance 0, sea, but never a temperature in it:
    // a channel that carried no value gets no service.
    assert!(rf
        .msgs
        .iter()
        .filter(|m| m.src == 12 && m.pgn == 130312)
        .all(|m| number(&m.f, "Actual Temperature").is_none()));
    assert_services("merrimac-ydwg-2020.raw", false, want).await;
}

#[tokio::test]
async fn yacht_devices_captures_temperature_and_batteries() {
    let rf = load("sample-YDWG02.txt", true);
    let temp = svc("temperature", "can0_sa35_sea0");
    assert_services(
        "sample-YDWG02.txt",
        false,
        vec![(temp, temperature_paths(&rf, 35, 0.0, 0.0))],
    )
    .await;

    // One malformed line is skipped, as canboat's analyzer skips it.
    let rf = load("sample-YDWG02-2.txt", true);
    let want = battery_services(&rf, 0, "can0_sa0");
    assert_services("sample-YDWG02-2.txt", true, want).await;
}

/// The per-line AC paths of instance `instance` of 127503 (input) or 127504: a
/// meter may send one message per line, so each line comes from the last message
/// that carries it. Lines that measure something (voltage, current or power) are
/// published as L1, L2, … in line order; a real power that its voltage and
/// current cannot give (|P| > 1.1 × V × I + 10 W) is invalid (docs/venus-services.md#ac-as-venus-reads-it).
fn ac_paths(rf: &Ref, src: u64, pgn: u64, instance: f64) -> Vec<(&'static str, Read)> {
    let paths = [
        ("/Ac/L1/Voltage", "/Ac/L1/Current", "/Ac/L1/Power"),
        ("/Ac/L2/Voltage", "/Ac/L2/Current", "/Ac/L2/Power"),
        ("/Ac/L3/Voltage", "/Ac/L3/Current", "/Ac/L3/Power"),
    ];
    let mut measured = Vec::new();
    for n in 0..3 {
        let line = rf
            .msgs
            .iter()
            .rev()
            .filter(|m| m.src == src && m.pgn == pgn && number(&m.f, "Instance") == Some(instance))
            .find_map(|m| {
                let list = m.f["list"].as_array()?;
                let l = list.iter().find(|l| number(l, "Line") == Some(n as f64))?;
                Some((m.t, l.clone()))
            })
            .filter(|(t, _)| rf.end - t <= freshness(pgn))
            .map(|(_, l)| l);
        let get = |k| line.as_ref().and_then(|l| number(l, k));
        let (v, i) = (get("Voltage"), get("Current"));
        let p = get("Real Power").filter(|p| match (v, i) {
            (Some(v), Some(i)) => p.abs() <= v.abs() * i.abs() * 1.1 + 10.0,
            _ => true,
        });
        if v.is_some() || i.is_some() || p.is_some() {
            measured.push((v, i, p));
        }
    }
    let mut out = Vec::new();
    let mut total = None;
    for (k, (pv, pi, pp)) in paths.into_iter().enumerate() {
        let (v, i, p) = measured.get(k).copied().unwrap_or((None, None, None));
        if let Some(p) = p {
            total = Some(total.unwrap_or(0.0) + p);
        }
        out.push((pv, r(v)));
        out.push((pi, r(i)));
        out.push((pp, r(p)));
    }
    out.push(("/Ac/Power", r(total)));
    out.push((
        "/NrOfPhases",
        if measured.is_empty() {
            Read::Invalid
        } else {
            Read::Num(measured.len() as f64)
        },
    ));
    out
}

#[tokio::test]
async fn ac_status_and_charger_status_captures() {
    let rf = load("pgn127504.raw", true);
    // 127503 and 127504 of one device without a NAME: two AC meters, the output
    // one with its own suffix.
    let want = vec![
        (svc("acload", "can0_sa1"), ac_paths(&rf, 1, 127503, 0.0)),
        (
            svc("acload", "can0_sa1_ac_out0"),
            ac_paths(&rf, 1, 127504, 0.0),
        ),
    ];
    assert_services("pgn127504.raw", false, want).await;

    let rf = load("PGN127507.raw", true);
    let mut want = Vec::new();
    for src in [129, 225] {
        // The charger's first instance gives state and mode; each instance is an
        // output (at most three).
        let mut instances: Vec<f64> = Vec::new();
        for m in rf.msgs.iter().filter(|m| m.src == src && m.pgn == 127507) {
            let i = number(&m.f, "Instance").expect("instance");
            if !instances.contains(&i) {
                instances.push(i);
            }
        }
        let first = [("Instance", instances[0])];
        let state = rf
            .value(src, 127507, &first, "Operating State", same)
            .and_then(|s| match s as u64 {
                0 | 6 | 8 => Some(0.0),
                1 => Some(3.0),
                2 | 3 => Some(4.0),
                4 => Some(7.0),
                5 => Some(5.0),
                7 => Some(11.0),
                9 => Some(2.0),
                _ => None,
            });
        let mode = rf.value(src, 127507, &first, "Enabled", same);
        want.push((
            svc("charger", &format!("can0_sa{src}")),
            vec![
                ("/State", r(state)),
                ("/Mode", r(mode)),
                ("/NrOfOutputs", Read::Num(instances.len().min(3) as f64)),
                ("/N2kDataInstance", Read::Num(instances[0])),
            ],
        ));
    }
    assert_services("PGN127507.raw", false, want).await;
}

#[tokio::test]
async fn a_propulsion_engines_temperatures_are_temperature_sensors() {
    // candump-fast.txt: 127489 of a port (0) and a starboard (1) engine from a
    // node without a NAME (no generator: docs/venus-services.md#engines-and-gensets). Venus has
    // no engine service; each engine's coolant and oil temperatures are sensors.
    let rf = load("candump-fast.txt", true);
    let mut want = Vec::new();
    for engine in [0.0, 1.0] {
        let key = [("Instance", engine)];
        for (suffix, field) in [("coolant", "Temperature"), ("oil", "Oil temperature")] {
            let t = rf.value(1, 127489, &key, field, celsius);
            want.push((
                svc("temperature", &format!("vcan0_sa1_engine{engine}_{suffix}")),
                vec![
                    ("/Temperature", r(t)),
                    ("/TemperatureType", Read::Num(2.0)),
                    ("/N2kDataInstance", Read::Num(engine)),
                ],
            ));
        }
    }
    assert_services("candump-fast.txt", false, want).await;
}
