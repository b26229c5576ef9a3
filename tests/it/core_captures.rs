//! The core in listen-only mode over real captures: the device table it builds must
//! hold exactly the NAMEs and product information in canboat's reference decode.

use crate::support::{core_feed, reference};
use n2k_dbus::core::{Core, CoreConfig, Output};
use n2k_dbus::devices::Lifecycle;
use n2k_dbus::logs::LogReader;
use reference::samples;

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
        core_feed::feed(&mut core, &r.expect("capture line"), &mut |_, o| {
            transmitted += usize::from(matches!(o, Output::Transmit(_)));
        });
    }
    assert_eq!(transmitted, 0, "{file}: listen-only transmitted");
    core
}

fn check(file: &str) {
    let (want, last) = reference::reference(file);
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
