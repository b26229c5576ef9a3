//! The README's commands, run as a newcomer pastes them: its first block (`demo`, and
//! the test command), and the `replay` example, verbatim, by bash in the project's
//! folder. The test command itself is what CI runs (`.ci/run`); this test checks that
//! the two say the same, and runs everything else.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
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

/// Runs `script` with bash in the project folder and returns whether it succeeded
/// and its output. After `limit` it is interrupted: with Ctrl-C typed on its
/// standard input (for a program in script(1)'s terminal), then with SIGINT to its
/// process group.
fn bash(script: &str, limit: Duration) -> (bool, String) {
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
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = out_pipe.read_to_string(&mut out);
        out
    });
    let err_reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = err_pipe.read_to_string(&mut err);
        err
    });
    let start = Instant::now();
    let mut interrupted = 0;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        let over = start.elapsed().saturating_sub(limit);
        if over > Duration::ZERO && interrupted == 0 {
            interrupted = 1;
            if let Some(i) = &mut stdin {
                let _ = i.write_all(b"\x03");
                let _ = i.flush();
            }
        } else if over > Duration::from_secs(30) && interrupted == 1 {
            interrupted = 2;
            let _ = Command::new("kill")
                .args(["-INT", &format!("-{}", child.id())])
                .status();
        } else if over > Duration::from_secs(60) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(stdin);
    let out = reader.join().unwrap_or_default() + &err_reader.join().unwrap_or_default();
    (status.success(), out)
}

use std::os::unix::process::CommandExt;

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
    // lines that say how to look at the bus. Ctrl-C after 15 s ends it.
    let (_, out) = bash(
        &format!("script -qfec '{}' /dev/null", first[0]),
        Duration::from_secs(15),
    );
    let last_screen = out.rsplit("\x1b[2J").next().unwrap_or("");
    assert!(out.contains("\x1b[2J"), "the table refreshed: {out}");
    for text in [
        "busctl --address=unix:path=",
        "dbus-spy",
        "tank.socketcan_can0_",
    ] {
        assert!(
            last_screen.contains(text),
            "{text:?} on the screen:\n{last_screen}"
        );
    }
    assert!(out.contains("demo ended; every service withdrawn"), "{out}");
}

#[test]
fn the_replay_example_works_when_pasted() {
    let blocks = sh_blocks(&readme());
    let example = blocks
        .iter()
        .find(|b| b.contains("replay candump-samples/aava-n2k.data"))
        .expect("the replay example");
    let (ok, out) = bash(example, Duration::from_secs(300));
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
