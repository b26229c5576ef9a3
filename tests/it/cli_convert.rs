//! `n2k-dbus convert` over every shared capture, whatever its format: the candump
//! `-L` it writes decodes to the same messages as the capture itself. Captures of
//! reassembled messages (canboat's FAST form, Actisense serial) come back through the
//! transmit side's fragmentation; what no CAN frame can carry (PGNs above 0x3FFFF, the
//! capture tool's own status) is left out and said. Captures without timestamps get
//! nominal ones, a record per millisecond.

use crate::support::cli::{n2k, Run};
use std::path::Path;

/// The decoded messages without their times, which each format writes differently.
fn messages(json: &str) -> Vec<serde_json::Value> {
    json.lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("json");
            if let Some(o) = v.as_object_mut() {
                o.remove("timestamp");
            }
            v
        })
        .collect()
}

/// Whether `got` is `want` as the transport carries it: the same, or an addressed
/// message of a single-frame PGN too long for one frame, which goes as an ISO TP
/// broadcast (to the global address) and so arrives with destination 255.
fn same_on_the_bus(want: &serde_json::Value, got: &serde_json::Value) -> bool {
    if want == got {
        return true;
    }
    let pgn = want["pgn"].as_u64().unwrap_or(0) as u32;
    let mut addressed = want.clone();
    addressed["dst"] = 255.into();
    !n2k_dbus::n2k::is_fast_packet(pgn) && got["dst"] == 255 && &addressed == got
}

fn pgn(line: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(line).expect("json");
    v["pgn"].as_u64().expect("pgn")
}

#[test]
fn every_capture_converts_to_frames_that_decode_the_same() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("candump-samples");
    let tmp = std::env::temp_dir().join(format!("n2k-convert-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    let mut checked = 0;
    let mut broadcast = 0;
    for file in files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let original = n2k(["decode", file.to_str().expect("path")]).out;
        let want: Vec<serde_json::Value> = messages(&original)
            .into_iter()
            .filter(|m| m["pgn"].as_u64().is_some_and(|p| p <= 0x3FFFF))
            .collect();
        let left_out = original.lines().filter(|l| pgn(l) > 0x3FFFF).count();
        let Run { out: log, err, .. } = n2k(["convert", file.to_str().expect("path")]);
        if left_out > 0 {
            // Said, with a count that also takes the tool's messages decode shows none of.
            assert!(
                err.contains("message(s) no CAN frame can carry"),
                "{name}: {err}"
            );
        }
        let converted = tmp.join(format!("{name}.log"));
        std::fs::write(&converted, &log).expect("write");
        let again = n2k(["decode", converted.to_str().expect("path")]).out;
        let got = messages(&again);
        assert_eq!(got.len(), want.len(), "{name}: messages after convert");
        for (n, (w, g)) in want.iter().zip(&got).enumerate() {
            assert!(same_on_the_bus(w, g), "{name}: message {n}: {w} became {g}");
            broadcast += usize::from(w != g);
        }
        checked += want.len();
    }
    assert!(checked > 60_000, "{checked} messages");
    eprintln!("{checked} messages decode the same after convert ({broadcast} addressed ones as broadcasts)");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_capture_without_timestamps_gets_one_record_per_millisecond() {
    // candumpSample1.txt: `can0  18EEFF01   [8]  …`, no times.
    let log = n2k(["convert", "candump-samples/candumpSample1.txt"]).out;
    let times: Vec<f64> = log
        .lines()
        .map(|l| {
            l.trim_start_matches('(')
                .split(')')
                .next()
                .and_then(|t| t.parse().ok())
                .expect("(seconds)")
        })
        .collect();
    assert!(times.len() > 1000);
    for (n, t) in times.iter().enumerate() {
        assert!((t - n as f64 * 0.001).abs() < 1e-7, "record {n} at {t}");
    }
}
