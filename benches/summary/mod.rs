//! Reading the summary line `n2k-dbus replay` prints, for the benchmarks that run it.

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
