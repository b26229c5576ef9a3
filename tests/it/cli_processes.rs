//! The binary as a user runs it: `replay` and `demo` as processes, a D-Bus client of
//! the test's own reading what they publish, and a client watching NameOwnerChanged
//! while the process is told to stop: every name it owned must be released.

use crate::support::{cli, gateway_replay, private_bus, reference};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use gateway_replay::{check, checks, device_services, get_items, Check};
use private_bus::PrivateBus;

fn boat() -> PathBuf {
    reference::samples().join("scenarios/venus/demo-boat.log")
}

/// A running `n2k-dbus`, its standard output line by line and its standard error.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    err: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    err_reader: Option<std::thread::JoinHandle<()>>,
}

impl Process {
    fn start(args: &[&str]) -> Process {
        let mut child = cli::command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("n2k-dbus starts");
        let out = child.stdout.take().expect("stdout");
        let err_out = child.stderr.take().expect("stderr");
        let err = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = err.clone();
        let err_reader = std::thread::spawn(move || {
            for line in BufReader::new(err_out).lines().map_while(Result::ok) {
                eprintln!("n2k-dbus: {line}");
                kept.lock().expect("stderr lines").push(line);
            }
        });
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process {
            child,
            lines,
            seen: Vec::new(),
            err,
            err_reader: Some(err_reader),
        }
    }

    /// The first line containing `text`, within a minute.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with `{text}`; the output was:\n{}",
            self.seen.join("\n")
        );
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{sig} {}", self.child.id()))
            .status()
            .expect("sh");
        assert!(status.success());
    }

    /// Waits for the exit (half a minute at most) and asserts it was a success.
    fn exits_cleanly(mut self) {
        let (status, _) = self.exit();
        assert!(status.success(), "exit status {status}");
    }

    /// Waits for the exit (half a minute at most) and for standard error to be
    /// read to its end: the status and how long the process took to end.
    fn exit(&mut self) -> (std::process::ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let took = start.elapsed();
                if let Some(reader) = self.err_reader.take() {
                    reader.join().expect("stderr reader");
                }
                return (status, took);
            }
            assert!(start.elapsed() < Duration::from_secs(30), "still running");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Standard error's lines so far (all of them after [`Process::exit`]).
    fn err_lines(&self) -> Vec<String> {
        self.err.lock().expect("stderr lines").clone()
    }
}

/// `replay --fast --hold` of the demo boat onto `bus`, with `extra` options.
fn held_replay(bus: &PrivateBus, extra: &[&str]) -> Process {
    let path = boat();
    let path = path.to_str().expect("utf-8 path");
    let mut args = vec!["replay", path, "--fast", "--hold", "--dbus", &bus.address];
    args.extend_from_slice(extra);
    Process::start(&args)
}

/// The services and values `demo-boat.log` states at its end, read over `client`.
async fn assert_boat_end_state(client: &zbus::Connection) -> Vec<String> {
    let mut services = Vec::new();
    for (_, c) in checks(&boat()) {
        match c {
            Check::Services(want) => {
                assert_eq!(device_services(client).await, want, "services at the end");
                services = want;
            }
            Check::Value {
                service,
                path,
                want,
            } => check(&service, &get_items(client, &service).await, &path, &want),
        }
    }
    assert!(!services.is_empty());
    services
}

/// Sends `sig` and collects NameOwnerChanged until every name of `owned` is
/// released (or 30 s pass); returns the names still owned.
async fn released_after(
    process: &Process,
    sig: &str,
    client: &zbus::Connection,
    owned: BTreeSet<String>,
) -> BTreeSet<String> {
    let dbus = zbus::fdo::DBusProxy::new(client).await.expect("proxy");
    let mut changes = dbus
        .receive_name_owner_changed()
        .await
        .expect("NameOwnerChanged");
    process.signal(sig);
    let mut left = owned;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !left.is_empty() {
        let next = tokio::time::timeout_at(deadline, changes.next()).await;
        let Ok(Some(change)) = next else { break };
        let args = change.args().expect("arguments");
        if args.new_owner().is_none() {
            left.remove(args.name().as_str());
        }
    }
    left
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_publishes_the_capture_and_sigterm_releases_every_name() {
    let bus = PrivateBus::start();
    let mut p = held_replay(&bus, &[]);
    p.wait_for("holding the services");
    let client = bus.client().await;
    let services = assert_boat_end_state(&client).await;
    let mut owned: BTreeSet<String> = services.into_iter().collect();
    owned.insert("com.victronenergy.vecan.can0".into());
    let left = released_after(&p, "TERM", &client, owned).await;
    assert!(left.is_empty(), "never released: {left:?}");
    assert!(device_services(&client).await.is_empty());
    p.exits_cleanly();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_its_own_bus_shows_the_boat_and_ctrl_c_ends_it_cleanly() {
    let mut p = Process::start(&["demo", "--speed", "40"]);
    let line = p.wait_for("  bus ");
    let address = line.split_whitespace().nth(1).expect("address").to_owned();
    let socket = PathBuf::from(address.strip_prefix("unix:path=").expect("a unix socket"));
    // Off a terminal the table comes when the capture is done (and every 10 s before).
    p.wait_for("capture finished");
    let header = p.wait_for("SERVICE");
    assert!(header.contains("PRODUCT") && header.contains("VALUES"));
    let client = zbus::connection::Builder::address(address.as_str())
        .expect("address")
        .build()
        .await
        .expect("the demo's bus");
    let services = assert_boat_end_state(&client).await;
    // Every service is a row of the table, with the product name it publishes.
    for s in &services {
        let short = s.strip_prefix("com.victronenergy.").expect("prefix");
        let row = p.wait_for(short);
        let product = get_items(&client, s).await["/ProductName"]["Value"].clone();
        let product = String::try_from(product).expect("a product name");
        assert!(row.contains(&product), "{row}");
    }
    let left = released_after(&p, "INT", &client, services.into_iter().collect()).await;
    assert!(left.is_empty(), "never released: {left:?}");
    p.exits_cleanly();
    assert!(!socket.exists(), "the demo's bus is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_ends_on_sighup_releasing_every_name() {
    let bus = PrivateBus::start();
    let mut p = held_replay(&bus, &[]);
    p.wait_for("holding the services");
    let client = bus.client().await;
    let mut owned: BTreeSet<String> = device_services(&client).await.into_iter().collect();
    assert!(!owned.is_empty());
    owned.insert("com.victronenergy.vecan.can0".into());
    let left = released_after(&p, "HUP", &client, owned).await;
    assert!(left.is_empty(), "never released: {left:?}");
    p.exits_cleanly();
}

/// A SIGTERM that arrives while a held replay waits for its last flush (five
/// seconds apart here) ends it: the signal is not lost between two waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_while_the_last_flush_settles_is_not_lost() {
    let bus = PrivateBus::start();
    let client = bus.client().await;
    let dbus = zbus::fdo::DBusProxy::new(&client).await.expect("proxy");
    let mut changes = dbus
        .receive_name_owner_changed()
        .await
        .expect("NameOwnerChanged");
    let mut p = held_replay(&bus, &["--flush-ms", "5000"]);
    // The first flush comes at once; the next one, which the end waits for, five
    // seconds later. The capture (a few hundred records, as fast as possible) is
    // through long before.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let change = tokio::time::timeout_at(deadline, changes.next())
            .await
            .expect("a first service within a minute")
            .expect("NameOwnerChanged");
        let args = change.args().expect("arguments");
        if args.name().starts_with("com.victronenergy.") && args.new_owner().is_some() {
            break;
        }
    }
    p.signal("TERM");
    let (status, took) = p.exit();
    assert!(status.success(), "exit status {status}");
    assert!(
        !p.seen.iter().any(|l| l.contains("holding the services")),
        "held after the signal: {:?}",
        p.seen
    );
    assert!(took < Duration::from_secs(30), "ended after {took:?}");
}

/// The `dbus-daemon` killed under a held replay and under `serve`: each process ends
/// within seconds, with status 1 and one line on standard error that says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_going_away_ends_a_held_replay_and_serve_with_one_line() {
    let mut bus = PrivateBus::start();
    let dir = std::env::temp_dir().join(format!("n2k-dbus-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("folder");
    let file = dir.join("tank.json");
    std::fs::write(
        &file,
        r#"{"com.victronenergy.tank.test_serve": {"/Level": 50, "/FluidType": 0}}"#,
    )
    .expect("write the services");
    let mut replay = held_replay(&bus, &[]);
    let mut serve = Process::start(&[
        "serve",
        file.to_str().expect("utf-8 path"),
        "--dbus",
        &bus.address,
    ]);
    replay.wait_for("holding the services");
    serve.wait_for("serving 1 service");
    bus.kill();
    for (what, p) in [("replay", &mut replay), ("serve", &mut serve)] {
        let (status, took) = p.exit();
        assert_eq!(status.code(), Some(1), "{what}: exit status {status}");
        assert!(
            took < Duration::from_secs(10),
            "{what} ended after {took:?}"
        );
        let lines = p.err_lines();
        assert_eq!(lines.len(), 1, "{what}: {lines:#?}");
        assert!(
            lines[0].contains("the bus daemon went away"),
            "{what}: {}",
            lines[0]
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
