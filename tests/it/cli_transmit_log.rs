//! `--transmit-log`: what a transmitting mode sends, written as candump -L lines and
//! read back by the same reader as any capture — here `replay --active` of the MPPT
//! scenario, whose gateway claims, asks for NAMEs and product information, and reads
//! the Victron MPPT's registers, with no CAN interface anywhere.

use crate::support::{cli, private_bus, reference};

use n2k_dbus::can::CanId;
use n2k_dbus::logs::{LogReader, Record};

#[test]
fn replay_active_writes_what_it_sends() {
    let bus = private_bus::PrivateBus::start();
    let log = std::env::temp_dir().join(format!("n2k-dbus-tx-{}.log", std::process::id()));
    let capture = reference::samples().join("scenarios/vecan/mppt.log");
    let out = cli::command()
        .args([
            "replay",
            "--fast",
            "--active",
            "--dbus",
            &bus.address,
            "--transmit-log",
        ])
        .arg(&log)
        .arg(&capture)
        .output()
        .expect("replay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read(&log).expect("the transmit log");
    let _ = std::fs::remove_file(&log);

    // Every line is a candump -L frame our reader takes, on can0, timed within the
    // capture (0 to 30 s).
    let mut frames = Vec::new();
    for r in LogReader::new(&text[..], "transmit log") {
        match r.expect("a candump -L line") {
            Record::Frame(f) => frames.push(f),
            other => panic!("not a frame: {other:?}"),
        }
    }
    assert!(!frames.is_empty());
    assert!(
        text.starts_with(b"(0."),
        "{}",
        String::from_utf8_lossy(&text[..40])
    );
    assert!(
        String::from_utf8_lossy(&text)
            .lines()
            .all(|l| l.contains(" can0 ")),
        "interface"
    );
    assert!(frames
        .iter()
        .all(|f| (0..30_000_000).contains(&f.timestamp)));
    let ids: Vec<CanId> = frames.iter().map(|f| f.can_id()).collect();
    // First the request for claims from the null address, then our claim, and
    // everything after it from our one address.
    assert_eq!((ids[0].pgn, ids[0].source), (59904, 254), "{ids:?}");
    let claim = ids.iter().position(|i| i.pgn == 60928).expect("our claim");
    let ours = ids[claim].source;
    assert!(
        ids[claim..].iter().all(|i| i.source == ours),
        "one source: {ids:?}"
    );
    // The MPPT (0x20) is asked for the product id it never broadcast (VREQ 0x0100,
    // mask 0xFFFF), three times, as it never answers in a capture.
    let vreq = |f: &&n2k_dbus::can::Frame| {
        let id = f.can_id();
        id.pgn == 61184
            && id.destination == 0x20
            && f.data() == [0x66, 0x99, 0x01, 0x00, 0x00, 0x01, 0xFF, 0xFF]
    };
    assert_eq!(frames.iter().filter(vreq).count(), 3, "VREQ 0x0100 to 0x20");
}

#[test]
fn a_transmit_log_that_cannot_be_created_is_an_error_at_once() {
    let bus = private_bus::PrivateBus::start();
    let capture = reference::samples().join("scenarios/vecan/mppt.log");
    let out = cli::command()
        .args(["replay", "--fast", "--active", "--dbus", &bus.address])
        .args(["--transmit-log", "/nonexistent-dir/tx.log"])
        .arg(&capture)
        .output()
        .expect("replay");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent-dir/tx.log"), "{err}");
}
