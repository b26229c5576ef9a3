//! The daemon under systemd: `Type=notify` readiness that never waits for hardware,
//! its state in `STATUS=`, and the unit's hardening as `systemd-analyze security`
//! rates it.

use crate::support::cli;
use crate::support::private_bus;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use private_bus::PrivateBus;

/// Everything the daemon told systemd until `until` matches one message (60 s;
/// `log`, the daemon's own log, is shown when it does not come).
fn messages_until(socket: &UnixDatagram, log: &Path, until: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = until(&m);
            seen.push(m);
            if done {
                return seen;
            }
        }
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("no matching notification within 60 s; seen: {seen:?}; the daemon's log:\n{log}");
}

#[test]
fn ready_at_once_without_the_interface_and_the_wait_shown_in_status() {
    let bus = PrivateBus::start();
    let dir = std::env::temp_dir().join(format!("n2k-systemd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("notify");
    let socket = UnixDatagram::bind(&path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");

    let log = dir.join("daemon.log");
    let started = Instant::now();
    let mut child = cli::command()
        .args(["run", "--interface", "n2kmissing0", "--dbus", &bus.address])
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env("NOTIFY_SOCKET", &path)
        .env("RUST_LOG", "n2k_dbus=debug")
        .stderr(std::fs::File::create(&log).expect("the daemon's log"))
        .spawn()
        .expect("n2k-dbus starts");

    // Ready first, and only then the wait for the interface: readiness never waits
    // for hardware.
    let seen = messages_until(&socket, &log, |m| m.contains("READY=1"));
    eprintln!("READY=1 after {:?}: {seen:?}", started.elapsed());
    assert!(
        !seen.iter().any(|m| m.contains("does not exist")),
        "the interface before readiness: {seen:?}"
    );
    let seen = messages_until(&socket, &log, |m| m.contains("n2kmissing0 does not exist"));
    assert!(seen.iter().all(|m| m.starts_with("STATUS=")), "{seen:?}");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    messages_until(&socket, &log, |m| m == "STOPPING=1");
    let status = child.wait().expect("exit");
    assert!(status.success(), "SIGTERM ends it with 0: {status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_unit_is_hardened_to_an_exposure_of_at_most_3() {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/systemd/n2k-dbus@.service");
    let dir = std::env::temp_dir().join(format!("n2k-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // An instance of the template, as `systemctl enable n2k-dbus@can0` makes it.
    let instance = dir.join("n2k-dbus@can0.service");
    std::fs::copy(&unit, &instance).expect("copy");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&instance)
        .output()
        .expect("systemd-analyze (Debian package systemd) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            let rest = l
                .split("Overall exposure level for n2k-dbus@can0.service:")
                .nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{text}"));
    eprintln!("systemd-analyze security: {score}");
    assert!(score <= 3.0, "exposure {score} > 3.0:\n{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
