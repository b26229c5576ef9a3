//! Mistakes a user makes, through the binary: each fails at once, with one line
//! that says what is wrong, and a non-zero exit.

use crate::support::cli::{command, n2k, Run};
use crate::support::private_bus;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Asserts a failure whose message is one line holding `want`, said once.
fn refused(r: &Run, want: &str) {
    assert!(!r.ok, "succeeded: {}{}", r.out, r.err);
    let lines: Vec<&str> = r.err.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", r.err);
    assert!(lines[0].contains(want), "{:?} lacks {want:?}", lines[0]);
    assert_eq!(r.err.matches(want).count(), 1, "said twice: {:?}", r.err);
    assert!(
        !r.err.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        r.err
    );
    assert!(r.took < Duration::from_secs(5), "took {:?}", r.took);
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-errors");
    std::fs::create_dir_all(&dir).expect("dir");
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn captures_that_are_missing_unreadable_empty_or_binary() {
    let bus = private_bus::PrivateBus::start();
    let empty = scratch("empty.log", b"");
    let comments = scratch("comments.log", b"# nothing but a comment\n\n");
    let binary = scratch("binary.log", b"\x7fELF\x02\x01\x01\x00\x00\x00");
    let escape = scratch("escape.log", "(1.0) can0 \u{9b}31m\n".as_bytes());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let missing = "candump-samples/no-such-capture.log";
    for cmd in [
        vec!["replay", "--dbus", &bus.address],
        vec!["demo", "--capture"],
        vec!["decode"],
        vec!["devices"],
        vec!["convert"],
    ] {
        let with = |file: &str| {
            let mut a = cmd.clone();
            a.push(file);
            n2k(&a)
        };
        refused(
            &with(missing),
            "cannot open candump-samples/no-such-capture.log: No such file",
        );
        refused(&with(s(&dir)), "it is a folder, not a capture file");
        refused(&with(s(&empty)), "the capture holds no frames");
        if cmd[0] != "demo" {
            refused(&with(s(&comments)), "the capture holds no frames");
            refused(&with(s(&escape)), r"\u{9b}31m");
        }
        refused(
            &with(s(&binary)),
            "binary.log:1: not a text capture: byte 0 is 0x7F",
        );
    }
}

#[test]
fn options_out_of_range_or_without_effect() {
    for speed in ["0", "-1", "1e-300", "NaN", "inf"] {
        let speed = format!("--speed={speed}");
        let r = n2k(["replay", &speed, "candump-samples/candump-fast.txt"]);
        refused(&r, "--speed must be a number from 0.00001 to 1000000000");
        let r = n2k(["demo", &speed]);
        refused(&r, "--speed must be a number");
    }
    refused(
        &n2k(["decode", "--si", "candump-samples/candump-fast.txt"]),
        "--si goes with --format canboat-json",
    );
    let r = n2k([
        "decode",
        "--si",
        "--format",
        "canboat-json",
        "candump-samples/candump-fast.txt",
    ]);
    assert!(r.ok, "{}", r.err);
    assert!(
        r.out
            .lines()
            .next()
            .unwrap_or("")
            .contains("\"units\":\"si\""),
        "{}",
        r.out
    );
}

#[test]
fn n2k_out_without_a_voice_and_service_files_that_are_not_services() {
    refused(
        &n2k(["replay", "--n2k-out", "candump-samples/candump-fast.txt"]),
        "--n2k-out needs --active",
    );
    let bad = scratch(
        "services.json",
        b"{\"com.victronenergy.battery.x\": {\"/Dc/0/Voltage\": {\"v\": 1}}}",
    );
    let r = n2k(["serve", s(&bad), "--dbus", "unix:path=/nonexistent"]);
    refused(
        &r,
        "services.json: com.victronenergy.battery.x /Dc/0/Voltage: unsupported value",
    );
    let broken = scratch(
        "broken.json",
        b"{\"com.victronenergy.battery.x\": {\n  \"/Soc\": 1,,\n}}",
    );
    refused(
        &n2k(["serve", s(&broken), "--dbus", "unix:path=/nonexistent"]),
        "line 2 column",
    );
}

#[test]
fn the_replay_summary_counts_the_services_that_were_on_the_bus() {
    let bus = private_bus::PrivateBus::start();
    let r = n2k([
        "replay",
        "--fast",
        "--dbus",
        &bus.address,
        "candump-samples/aava-n2k.data",
    ]);
    assert!(r.ok, "{}", r.err);
    let line = r.out.trim();
    let services: u64 = number_before(line, " services;");
    let published: u64 = number_before(line, " published");
    assert!(services > 0, "{line}");
    // Every device service, and the bus service, reached D-Bus before the end.
    assert_eq!(published, services + 1, "{line}");
}

fn number_before(line: &str, what: &str) -> u64 {
    let head = &line[..line
        .find(what)
        .unwrap_or_else(|| panic!("{what} in {line}"))];
    head.rsplit([' ', '('])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number before {what} in {line}"))
}

#[test]
fn run_waits_for_a_bus_that_is_not_there() {
    // No bus at the address: the daemon says so once, keeps trying, and ends cleanly
    // on SIGTERM. Its debug log shows each further try: the test waits for the second
    // failure to be logged ("trying again in 2 s") instead of for a time.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-errors-run");
    std::fs::create_dir_all(&dir).expect("dir");
    let socket = dir.join("no-bus");
    let mut child = command()
        .args(["run", "-i", "vcan9", "--state-dir"])
        .arg(&dir)
        .arg("--dbus")
        .arg(format!("unix:path={}", socket.display()))
        .env("RUST_LOG", "n2k_dbus=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, line) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(l);
        }
    });
    let mut err = Vec::new();
    while !err
        .iter()
        .any(|l: &String| l.contains("trying again in 2 s"))
    {
        let l = line
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no second try within 60 s: {err:?}"));
        err.push(l);
    }
    assert!(child.try_wait().expect("wait").is_none(), "it gave up");
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = child.wait().expect("exit");
    reader.join().expect("the reader");
    err.extend(line.try_iter());
    assert!(status.success(), "{status:?}");
    // What a user sees at the default level: one warning, then the end.
    let warned: Vec<&String> = err
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("cannot connect to the unix:path="))
        .collect();
    assert_eq!(warned.len(), 1, "{err:#?}");
    assert!(warned[0].contains("trying again in 1 s"), "{err:#?}");
    assert!(
        err.iter()
            .any(|l| l.contains("stopped before the bus was reachable")),
        "{err:#?}"
    );
}
