//! The README's commands, run as a newcomer pastes them: its first block (`demo`, and
//! the test command), and the `replay` example, verbatim, by bash in the project's
//! folder. The test command itself is what CI runs (`.ci/run`); this test checks that
//! the two say the same, and runs everything else.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

/// The `sh` blocks of the README, in order.
fn sh_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// `cargo run` takes the build lock (and a process it execs may keep it), so the
/// examples run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `script` with bash in the project folder and returns whether it succeeded
/// and its output (standard output, then standard error). Once `enough` holds for the
/// standard output so far (or after 10 minutes) it is interrupted: with Ctrl-C typed
/// on its standard input (for a program in script(1)'s terminal), 30 s later with
/// SIGINT to its process group, 60 s later killed.
fn bash(script: &str, enough: impl Fn(&str) -> bool) -> (bool, String) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new("bash")
        .args(["-c", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash");
    let mut stdin = child.stdin.take();
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out_pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&text);
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = err_pipe.read_to_string(&mut err);
        err
    });
    let start = Instant::now();
    let mut interrupted: Option<Instant> = None;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        let done = enough(&out.lock().unwrap_or_else(|e| e.into_inner()));
        match interrupted {
            None if done || start.elapsed() > Duration::from_secs(600) => {
                interrupted = Some(Instant::now());
                if let Some(i) = &mut stdin {
                    let _ = i.write_all(b"\x03");
                    let _ = i.flush();
                }
            }
            Some(at) if at.elapsed() > Duration::from_secs(60) => {
                let _ = child.kill();
            }
            Some(at) if at.elapsed() > Duration::from_secs(30) => {
                let _ = Command::new("kill")
                    .args(["-INT", &format!("-{}", child.id())])
                    .status();
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(stdin);
    let _ = reader.join();
    let err = err_reader.join().unwrap_or_default();
    let text = out.lock().unwrap_or_else(|e| e.into_inner()).clone() + &err;
    (status.success(), text)
}

use std::os::unix::process::CommandExt;

/// The screens a full-screen program drew completely: what lies between two clears,
/// and after the last one once the program ended.
fn complete_screens(out: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = out.split("\x1b[2J").skip(1).collect();
    if !out.contains("demo ended") {
        parts.pop();
    }
    parts
}

#[test]
fn the_first_block_is_the_demo_and_the_test_command_ci_runs() {
    let blocks = sh_blocks(&readme());
    let first: Vec<&str> = blocks[0].lines().collect();
    assert_eq!(
        first,
        ["cargo run --release -- demo", "cargo test --release"]
    );
    let ci = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run"))
        .expect(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == first[1]),
        "CI runs the README's test command"
    );

    // The demo in a terminal (script(1) gives it one): the table refreshes under the
    // lines that say how to look at the bus. Ctrl-C once a whole screen shows tanks.
    let on_screen = [
        "busctl --address=unix:path=",
        "dbus-spy",
        "tank.socketcan_can0_",
    ];
    let full = |screen: &str| on_screen.iter().all(|t| screen.contains(t));
    let (_, out) = bash(&format!("script -qfec '{}' /dev/null", first[0]), |out| {
        complete_screens(out).iter().any(|s| full(s))
    });
    let screens = complete_screens(&out);
    assert!(screens.len() >= 2, "the table refreshed: {out}");
    let last = screens.last().copied().unwrap_or("");
    assert!(full(last), "{on_screen:?} on the last screen:\n{last}");
    assert!(out.contains("demo ended; every service withdrawn"), "{out}");
}

#[test]
fn the_replay_example_works_when_pasted() {
    let blocks = sh_blocks(&readme());
    let example = blocks
        .iter()
        .find(|b| b.contains("replay candump-samples/aava-n2k.data"))
        .expect("the replay example");
    let (ok, out) = bash(example, |_| false);
    assert!(ok, "the example failed:\n{out}");
    assert!(
        out.contains("com.victronenergy.battery.socketcan_can0_sa129"),
        "{out}"
    );
    // GetText of the root: every path's text, the battery's voltage among them, as
    // canboat decodes the battery monitor's last 127508.
    let decode =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("candump-samples/decodes/aava-n2k.data.json.gz");
    let mut json = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(decode).expect("decode"))
        .read_to_string(&mut json)
        .expect("gzip");
    let volts = json
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["pgn"] == 127508 && m["src"] == 129)
        .find_map(|m| m["fields"]["Voltage"].as_f64())
        .expect("127508 of the battery monitor");
    let text = format!("\"Dc/0/Voltage\" \"{volts:.2}V\"");
    assert!(out.contains(&text), "{text} in:\n{out}");
}
