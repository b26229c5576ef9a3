//! `n2k-dbus replay` run by the benchmarks, and the summary line it prints.

use std::process::Command;

/// `n2k-dbus replay --dbus <bus> <extra…> <file>`: its summary line.
pub fn replay(bus: &str, file: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_n2k-dbus"))
        .args(["replay", "--dbus", bus])
        .args(extra)
        .arg(file)
        .output()
        .expect("n2k-dbus replay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The number right before `before` in `line` (`… 0.53 frames/s` → 0.53).
pub fn figure(line: &str, before: &str) -> f64 {
    let i = line
        .find(before)
        .unwrap_or_else(|| panic!("`{before}` in {line}"));
    let head = &line[..i];
    let start = head.trim_end().rfind([' ', '(']).map_or(0, |j| j + 1);
    head[start..]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("a number before `{before}` in {line}"))
}
