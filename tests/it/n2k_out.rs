//! NMEA 2000-out through a private dbus-daemon: test services shaped like Venus's
//! own (the paths and types of `venus-service-dumps/`: smartshunt-battery, mppt1,
//! a VE.Bus inverter/charger, tank-fuel1, temperature-freezer; values our own) are
//! published by a test publisher; `n2k-dbus replay <Dirona's capture> --active
//! --n2k-out --transmit-log` runs the exporter with the capture as the rest of the
//! network; the frames it sent are decoded by our own decoder (`n2k-dbus decode`)
//! and must carry the services' values, converted here by hand from the D-Bus units.

use crate::support::{cli, private_bus, reference};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use n2k_dbus::dbus::{Change, Item, ItemTree, Service, ServiceOptions, ServiceSpec, Value};
use private_bus::PrivateBus;
use serde_json::Value as Json;

fn spec(name: &str, items: &[(&str, Value)]) -> ServiceSpec {
    let mut tree = ItemTree::new();
    for (path, v) in items {
        tree.insert(*path, Item::new(v.clone())).expect("path");
    }
    ServiceSpec::new(name, tree)
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

const BATTERY: &str = "com.victronenergy.battery.ttyUSB1";
const SOLAR: &str = "com.victronenergy.solarcharger.ttyO0";
const VEBUS: &str = "com.victronenergy.vebus.ttyS4";
const TANK: &str = "com.victronenergy.tank.adc_builtin0_23";
const TEMPERATURE: &str = "com.victronenergy.temperature.adc_builtin0_8";

fn services() -> Vec<ServiceSpec> {
    use Value::{Int, Invalid, Real};
    vec![
        spec(
            BATTERY,
            &[
                ("/Mgmt/ProcessName", t("vedirect-dbus")),
                ("/Mgmt/Connection", t("VE.Direct")),
                ("/ProductName", t("SmartShunt 500A/50mV")),
                ("/ProductId", Int(0xA389)),
                ("/FirmwareVersion", Int(0x0417)),
                ("/Serial", t("HQ2132ABCDE")),
                ("/CustomName", t("House bank")),
                ("/DeviceInstance", Int(279)),
                ("/Dc/0/Voltage", Real(13.28)),
                ("/Dc/0/Current", Real(-4.3)),
                ("/Dc/0/Temperature", Invalid),
                ("/Dc/1/Voltage", Real(12.61)),
                ("/Soc", Real(87.0)),
                ("/Soh", Invalid),
                ("/TimeToGo", Real(36000.0)),
                ("/Capacity", Real(243.6)),
            ],
        ),
        spec(
            SOLAR,
            &[
                ("/Mgmt/ProcessName", t("vedirect-dbus")),
                ("/Mgmt/Connection", t("VE.Direct")),
                ("/ProductName", t("SmartSolar Charger MPPT 100/30")),
                ("/FirmwareVersion", Int(0x0161)),
                ("/Serial", t("HQ2119XYZAB")),
                ("/DeviceInstance", Int(0)),
                ("/Dc/0/Voltage", Real(13.41)),
                ("/Dc/0/Current", Real(5.2)),
                ("/Pv/V", Real(38.2)),
                ("/Yield/Power", Real(70.0)),
                ("/State", Int(3)),
                ("/Mode", Int(1)),
            ],
        ),
        spec(
            VEBUS,
            &[
                ("/Mgmt/ProcessName", t("mk2-dbus")),
                ("/Mgmt/Connection", t("VE.Bus")),
                ("/ProductName", t("MultiPlus-II 12/3000/120-32")),
                ("/FirmwareVersion", Int(0x0502)),
                ("/DeviceInstance", Int(276)),
                ("/Dc/0/Voltage", Real(13.1)),
                ("/Dc/0/Current", Real(-20.5)),
                ("/Dc/0/Temperature", Invalid),
                ("/Soc", Real(80.0)),
                ("/State", Int(9)),
                ("/Mode", Int(3)),
                ("/Ac/Out/L1/V", Real(230.4)),
                ("/Ac/Out/L1/F", Real(50.01)),
                ("/Ac/Out/L1/I", Real(2.1)),
                ("/Ac/Out/L1/P", Real(420.0)),
                ("/Ac/Out/L1/S", Invalid),
                ("/Ac/ActiveIn/L1/V", Invalid),
                ("/Ac/ActiveIn/L1/F", Invalid),
                ("/Ac/ActiveIn/L1/I", Invalid),
                ("/Ac/ActiveIn/L1/P", Invalid),
            ],
        ),
        spec(
            TANK,
            &[
                ("/Mgmt/ProcessName", t("dbus-adc")),
                ("/Mgmt/Connection", t("Analog tank input")),
                ("/ProductName", t("Generic Tank Input")),
                ("/DeviceInstance", Int(23)),
                ("/FluidType", Int(1)),
                ("/Level", Real(45.0)),
                ("/Capacity", Real(0.2)),
            ],
        ),
        spec(
            TEMPERATURE,
            &[
                ("/Mgmt/ProcessName", t("dbus-adc")),
                ("/ProductName", t("Generic Temperature Input")),
                ("/DeviceInstance", Int(24)),
                ("/Temperature", Real(-18.2)),
                ("/TemperatureType", Int(6)),
            ],
        ),
        // Never exported: a device of the CAN bus itself (vecan-dbus), one of an
        // NMEA 2000 gateway, a type that does not go out.
        spec(
            "com.victronenergy.tank.socketcan_can0_vi0_uc15",
            &[
                ("/Mgmt/Connection", t("VE.Can")),
                ("/DeviceInstance", Int(30)),
                ("/Level", Real(10.0)),
            ],
        ),
        spec(
            "com.victronenergy.battery.n2k_gateway_7",
            &[
                ("/Mgmt/Connection", t("NMEA 2000")),
                ("/DeviceInstance", Int(31)),
                ("/Dc/0/Voltage", Real(24.0)),
            ],
        ),
        spec(
            "com.victronenergy.gps.ttyUSB0",
            &[("/DeviceInstance", Int(0)), ("/Fix", Int(1))],
        ),
    ]
}

/// The messages of a candump log, decoded by `n2k-dbus decode`.
fn decode(log: &Path) -> Vec<Json> {
    let out = cli::command()
        .arg("decode")
        .arg(log)
        .output()
        .expect("decode runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn field<'a>(m: &'a Json, f: &str) -> Option<&'a Json> {
    let v = m["fields"].get(f)?;
    Some(v.get("value").unwrap_or(v))
}

/// The name of a lookup field's value.
fn name<'a>(m: &'a Json, f: &str) -> Option<&'a str> {
    m["fields"].get(f)?.get("name")?.as_str()
}

fn num(m: &Json, f: &str) -> Option<f64> {
    field(m, f).and_then(Json::as_f64)
}

fn time(m: &Json) -> f64 {
    let ts = m["timestamp"].as_str().expect("timestamp");
    // 1970-01-01T00:00:00.000000Z or a real date: seconds of the day are enough.
    let hms = &ts[11..ts.len() - 1];
    let mut parts = hms.split(':');
    let h: f64 = parts.next().unwrap().parse().unwrap();
    let m: f64 = parts.next().unwrap().parse().unwrap();
    let s: f64 = parts.next().unwrap().parse().unwrap();
    h * 3600.0 + m * 60.0 + s
}

fn close(got: Option<f64>, want: f64, tol: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: not available, want {want}"));
    assert!((got - want).abs() <= tol, "{what}: {got}, want {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venus_services_go_out_as_nmea_2000_devices() {
    let bus = PrivateBus::start();
    let mut published = BTreeMap::new();
    for s in services() {
        let name = s.name.clone();
        let svc = Service::publish(&bus.bus(), s, ServiceOptions::default())
            .await
            .expect("the test service publishes");
        published.insert(name, svc);
    }
    let dir = std::env::temp_dir().join(format!("n2k-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("out.log");
    let capture = reference::samples().join("dirona-actisense-serial.raw");
    let mut replay = cli::command()
        .arg("replay")
        .arg(&capture)
        .args([
            "--active",
            "--n2k-out",
            "--speed",
            "4",
            "--dbus",
            &bus.address,
        ])
        .arg("--transmit-log")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("n2k-dbus starts");
    // 10 s into the capture: the battery's voltage changes (ItemsChanged).
    cli::until_log_spans(&log, 10.0).await;
    published[BATTERY]
        .apply(vec![Change::Set(
            "/Dc/0/Voltage".into(),
            Value::Real(13.52),
        )])
        .await
        .expect("ItemsChanged");
    // 20 s: the tank service leaves.
    cli::until_log_spans(&log, 20.0).await;
    let tank = published.remove(TANK).unwrap();
    tank.withdraw().await;
    let status = tokio::task::spawn_blocking(move || replay.wait())
        .await
        .unwrap()
        .expect("replay ends");
    assert!(status.success());

    let messages = decode(&log);
    if std::env::var_os("N2K_OUT_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let of = |src: u64, pgn: u64| -> Vec<&Json> {
        messages
            .iter()
            .filter(|m| m["src"].as_u64() == Some(src) && m["pgn"].as_u64() == Some(pgn))
            .collect()
    };

    // One NAME per virtual device, from its own address (claimed again whenever a
    // node of the capture asks for claims): the gateway and 6 nodes (two for the
    // inverter/charger); nothing for the services that must not go out.
    let claims: Vec<&Json> = messages
        .iter()
        .filter(|m| m["pgn"] == 60928 && m["src"].as_u64() < Some(254))
        .collect();
    let mut names: BTreeMap<u64, Json> = BTreeMap::new();
    for c in &claims {
        let src = c["src"].as_u64().unwrap();
        let name = c["fields"].clone();
        assert_eq!(
            names.entry(src).or_insert_with(|| name.clone()),
            &name,
            "one NAME at {src}"
        );
    }
    let mut by_function = BTreeMap::new();
    let mut uniques = Vec::new();
    for (&src, name) in &names {
        let c = serde_json::json!({ "fields": name });
        // The transmit log holds our frames only: every NAME but the gateway's (class
        // 25) is a virtual node.
        if num(&c, "deviceClass") != Some(25.0) {
            let key = (
                num(&c, "deviceClass").unwrap() as u64,
                num(&c, "deviceFunction").unwrap() as u64,
            );
            assert!(
                by_function.insert(key, src).is_none(),
                "one node per function: {key:?}"
            );
            uniques.push((num(&c, "uniqueNumber").unwrap() as u64, key));
        }
    }
    assert_eq!(names.len(), 7, "gateway + 6 virtual nodes: {by_function:?}");
    let node = |class: u64, function: u64| by_function[&(class, function)];
    // Unique numbers from block 1 (500–999): one per service, the two VE.Bus nodes share one.
    let mut numbers: Vec<u64> = uniques.iter().map(|u| u.0).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 5, "{uniques:?}");
    assert!(numbers.iter().all(|n| (500..1000).contains(n)));

    // Battery (35/170): main battery, starter battery, detailed status.
    let battery = node(35, 170);
    let status = of(battery, 127508);
    let main: Vec<_> = status
        .iter()
        .filter(|m| num(m, "current").is_some())
        .collect();
    let starter: Vec<_> = status
        .iter()
        .filter(|m| num(m, "current").is_none())
        .collect();
    assert!(main.len() > 10 && starter.len() > 10);
    close(num(main[0], "voltage"), 13.28, 0.005, "battery voltage");
    close(num(main[0], "current"), -4.3, 0.05, "battery current");
    assert_eq!(
        num(main[0], "temperature"),
        None,
        "invalid temperature → n/a"
    );
    close(
        num(main.last().unwrap(), "voltage"),
        13.52,
        0.005,
        "after ItemsChanged",
    );
    close(num(starter[0], "voltage"), 12.61, 0.005, "starter voltage");
    assert_ne!(num(main[0], "instance"), num(starter[0], "instance"));
    let detailed = of(battery, 127506);
    assert!(!detailed.is_empty());
    assert_eq!(num(detailed[0], "instance"), num(main[0], "instance"));
    close(num(detailed[0], "stateOfCharge"), 87.0, 0.5, "SoC");
    close(
        num(detailed[0], "timeRemaining"),
        36000.0,
        0.5,
        "time to go",
    );
    close(
        num(detailed[0], "remainingCapacity"),
        244.0,
        0.0,
        "capacity (Ah)",
    );
    assert_eq!(num(detailed[0], "stateOfHealth"), None);

    // Solar charger (35/160): battery side, charger status, PV as DC type 3.
    let solar = node(35, 160);
    let status = of(solar, 127508);
    let battery_side = status
        .iter()
        .find(|m| num(m, "voltage") < Some(20.0))
        .unwrap();
    close(
        num(battery_side, "voltage"),
        13.41,
        0.005,
        "MPPT battery voltage",
    );
    close(
        num(battery_side, "current"),
        5.2,
        0.05,
        "MPPT battery current",
    );
    let pv = status
        .iter()
        .find(|m| num(m, "voltage") > Some(20.0))
        .unwrap();
    close(num(pv, "voltage"), 38.2, 0.005, "PV voltage");
    close(num(pv, "current"), 70.0 / 38.2, 0.05, "PV current");
    let charger = of(solar, 127507);
    assert_eq!(name(charger[0], "operatingState"), Some("Bulk"));
    assert_eq!(name(charger[0], "enabled"), Some("On"));
    assert_eq!(
        num(charger[0], "batteryInstance"),
        num(battery_side, "instance")
    );
    let pv_type = of(solar, 127506);
    assert_eq!(name(pv_type[0], "dcType"), Some("Solar cell"));
    assert_eq!(num(pv_type[0], "instance"), num(pv, "instance"));

    // Inverter/charger: the inverter part (35/153) and the AC-input monitor (35/154).
    let inverter = node(35, 153);
    let status = of(inverter, 127509);
    assert_eq!(name(status[0], "operatingState"), Some("Invert"));
    assert_eq!(name(status[0], "inverterEnable"), Some("On"));
    let ac = of(inverter, 65014);
    close(
        num(ac[0], "lineNeutralAcRmsVoltage"),
        230.0,
        0.0,
        "AC out V",
    );
    // 50.01 Hz in 1/128 Hz: 6401 = 50.0078 Hz (the decoder prints 3 decimals).
    close(
        num(ac[0], "acFrequency"),
        6401.0 / 128.0,
        0.0005,
        "AC out F",
    );
    close(num(ac[0], "acRmsCurrent"), 2.0, 0.0, "AC out I");
    assert_eq!(num(ac[0], "lineLineAcRmsVoltage"), None);
    let power = of(inverter, 65013);
    close(num(power[0], "realPower"), 420.0, 0.0, "AC out P");
    assert_eq!(num(power[0], "apparentPower"), None);
    assert!(
        of(inverter, 127506).is_empty(),
        "127506 is off by default on inverters"
    );
    assert!(of(inverter, 65011).is_empty(), "no L2");
    let dc = of(inverter, 127508);
    close(num(dc[0], "current"), -20.5, 0.05, "VE.Bus DC current");
    let acin = node(35, 154);
    let input = of(acin, 65014);
    assert!(!input.is_empty());
    assert_eq!(
        num(input[0], "lineNeutralAcRmsVoltage"),
        None,
        "no shore power: n/a"
    );

    // Tank (75/150) and temperature (75/130).
    let tank = node(75, 150);
    let levels = of(tank, 127505);
    assert_eq!(name(levels[0], "type"), Some("Water"));
    close(num(levels[0], "level"), 45.0, 0.004, "tank level");
    close(
        num(levels[0], "capacity"),
        200.0,
        0.05,
        "tank capacity (0.2 m³ in L)",
    );
    let temperature = node(75, 130);
    let t1 = of(temperature, 130312);
    close(
        num(t1[0], "actualTemperature"),
        273.15 - 18.2,
        0.005,
        "temperature",
    );
    assert_eq!(name(t1[0], "source"), Some("Freezer Temperature"));
    let t2 = of(temperature, 130316);
    close(
        num(t2[0], "temperature"),
        273.15 - 18.2,
        0.0005,
        "extended temperature",
    );

    // Standard intervals, within 10 %: per node, PGN and instance. The transmit log
    // is on the capture's own clock, and Dirona's clock steps back by 64 s
    // once (the replay says so): the pair across that step is no interval.
    for (src, pgn, ms) in [
        (battery, 127506, 1500.0),
        (solar, 127507, 1500.0),
        (inverter, 127509, 1500.0),
        (inverter, 65014, 1500.0),
        (temperature, 130312, 2000.0),
        (tank, 127505, 2500.0),
    ] {
        let times: Vec<f64> = of(src, pgn).iter().map(|m| time(m)).collect();
        assert!(times.len() >= 4, "{pgn} from {src}: {}", times.len());
        for w in times.windows(2).filter(|w| w[1] > w[0]) {
            let gap = (w[1] - w[0]) * 1000.0;
            assert!(
                (gap - ms).abs() <= ms * 0.1,
                "{pgn} from {src}: {gap:.0} ms, want {ms}"
            );
        }
    }

    // The tank left (20 s into the capture): its data stopped at once while
    // the others went on. In the log's order (its clock steps once).
    let position = |m: &Json| messages.iter().position(|x| std::ptr::eq(x, m)).unwrap();
    let last_level = position(levels.last().unwrap());
    let battery_after = of(battery, 127508)
        .iter()
        .filter(|m| position(m) > last_level)
        .count();
    assert!(
        battery_after > 40,
        "the battery went on after the tank left: {battery_after} messages"
    );
    // Staying, it would have sent about 50 over the capture's 128 s.
    assert!(
        levels.len() < 20,
        "the tank stopped early: {}",
        levels.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venus_switch_n2k_gateway_enabled_is_followed_live() {
    let bus = PrivateBus::start();
    let setting = "/Settings/Vecan/can0/N2kGatewayEnabled";
    let settings = Service::publish(
        &bus.bus(),
        spec("com.victronenergy.settings", &[(setting, Value::Int(0))]),
        ServiceOptions::default(),
    )
    .await
    .expect("the settings stand-in");
    let battery = &services()[0];
    let _battery = Service::publish(&bus.bus(), battery.clone(), ServiceOptions::default())
        .await
        .expect("the battery");
    let dir = std::env::temp_dir().join(format!("n2k-out-switch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("out.log");
    let capture = reference::samples().join("dirona-actisense-serial.raw");
    let mut replay = cli::command()
        .arg("replay")
        .arg(&capture)
        .args([
            "--active",
            "--n2k-out",
            "--speed",
            "8",
            "--dbus",
            &bus.address,
        ])
        .arg("--transmit-log")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("n2k-dbus starts");
    // Off for 16 s of the capture, on until 32 s, off again.
    for (at, on) in [(16.0, 1), (32.0, 0)] {
        cli::until_log_spans(&log, at).await;
        settings
            .apply(vec![Change::Set(setting.into(), Value::Int(on))])
            .await
            .expect("the setting changes");
    }
    let status = tokio::task::spawn_blocking(move || replay.wait())
        .await
        .unwrap()
        .expect("replay ends");
    assert!(status.success());
    let messages = decode(&log);
    let _ = std::fs::remove_dir_all(&dir);
    // The battery's node (everything not from the gateway at 100 or the null
    // address): nothing while off, claims and data while on, nothing after.
    let ours: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| !matches!(m["src"].as_u64(), Some(100 | 254)))
        .map(|(i, _)| i)
        .collect();
    assert!(!ours.is_empty(), "the node went out while switched on");
    let first = &messages[ours[0]];
    assert_eq!(first["pgn"], 60928, "it starts with its claim");
    let start = time(&messages[0]);
    let on_at = time(first) - start;
    assert!(
        (8.0..24.0).contains(&on_at),
        "switched on after ~16 s of capture: {on_at:.1}"
    );
    let data: Vec<f64> = ours
        .iter()
        .filter(|&&i| messages[i]["pgn"] == 127508)
        .map(|&i| time(&messages[i]) - start)
        .collect();
    assert!(data.len() > 10, "{}", data.len());
    let off_at = data.last().unwrap();
    assert!(
        off_at - on_at < 24.0,
        "switched off ~16 s after on: on {on_at:.1}, last data {off_at:.1}"
    );
}
