//! The `n2k-dbus` binary run as a user runs it: in the project's folder, standard
//! input closed, its output and exit status kept.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run left: standard output and error, success, and how long it took.
pub struct Run {
    pub out: String,
    pub err: String,
    pub ok: bool,
    pub took: Duration,
}

impl Run {
    /// Standard output, once the run is known to have succeeded.
    pub fn stdout(self) -> String {
        assert!(self.ok, "n2k-dbus failed: {}{}", self.out, self.err);
        self.out
    }
}

/// The binary, in the project's folder, ready for arguments.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_n2k-dbus"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Runs the binary with `args` to its end.
pub fn n2k<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let start = Instant::now();
    let out = command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run n2k-dbus");
    Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
        took: start.elapsed(),
    }
}

/// How much capture time a candump `-L` log spans so far (its last complete line's
/// time less its first's, the largest seen: a capture's clock may step back).
fn log_span(log: &Path) -> f64 {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    let times = complete.lines().filter_map(|l| {
        let inner = l.strip_prefix('(')?.split(')').next()?;
        inner.parse::<f64>().ok()
    });
    let (mut first, mut last) = (None, f64::MIN);
    for t in times {
        first.get_or_insert(t);
        last = last.max(t);
    }
    first.map_or(0.0, |f| last - f)
}

/// Waits until a replay's transmit log spans `seconds` of its capture: the replay
/// has played that far (a paced replay writes the log before each wait).
pub async fn until_log_spans(log: &Path, seconds: f64) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while log_span(log) < seconds {
        assert!(
            Instant::now() < deadline,
            "{} spans {:.1} s, never {seconds} s",
            log.display(),
            log_span(log)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
