//! `n2k-dbus devices` as a user runs it: the binary over a real capture.

use crate::support::cli::n2k;
use serde_json::Value;

/// `n2k-dbus devices <args>`: standard output and error, success.
fn devices(args: &[&str]) -> (String, String, bool) {
    let r = n2k(std::iter::once("devices").chain(args.iter().copied()));
    (r.out, r.err, r.ok)
}

#[test]
fn json_has_one_object_per_device_with_the_promised_keys() {
    let (out, err, ok) = devices(&["--json", "candump-samples/candumpSample1.txt"]);
    assert!(ok, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 3);
    for r in &rows {
        for k in [
            "address",
            "name",
            "unique_number",
            "manufacturer_code",
            "device_instance",
            "device_function",
            "device_class",
            "model_id",
            "software_version",
            "serial",
            "online",
        ] {
            assert!(r.get(k).is_some(), "key {k} missing in {r}");
        }
    }
    // The GPS: values from canboat's reference decode of the same capture.
    let gps = &rows[0];
    assert_eq!(gps["address"], 0);
    assert_eq!(gps["name"], "C07891001CAA62F2");
    assert_eq!(gps["unique_number"], 680690);
    assert_eq!(gps["manufacturer_code"], 229);
    assert_eq!(gps["device_function"], 145);
    assert_eq!(gps["device_class"], 60);
    assert_eq!(gps["model_id"], "GPS17x-NMEA2000");
    assert_eq!(gps["software_version"], "2.80");
    assert_eq!(gps["serial"], "3618530034");
    assert_eq!(gps["online"], true);
}

#[test]
fn the_table_names_manufacturer_class_and_function() {
    let (out, err, ok) = devices(&["candump-samples/candumpSample3.txt"]);
    assert!(ok, "{err}");
    let autopilot = out
        .lines()
        .find(|l| l.starts_with("204 "))
        .expect("row of 204");
    for want in [
        "C0509635E772EE1F",
        "Raymarine (1851)",
        "Steering and Control surfaces / Autopilot",
        "1240607",
        "identified",
    ] {
        assert!(autopilot.contains(want), "{want} not in {autopilot}");
    }
    assert!(out
        .lines()
        .any(|l| l.starts_with("43 ") && l.contains("heard")));
}

#[test]
fn a_bad_line_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("n2k-dbus-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.log");
    std::fs::write(
        &f,
        "(1.000000) can0 18EEFF01#05A0BE1C00A0A0C0\n(2.000000) can0 18EEFF01#zz\n",
    )
    .unwrap();
    let (_, err, ok) = devices(&[f.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("bad.log:2:"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
