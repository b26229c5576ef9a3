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

/// A running `n2k-dbus` and its standard output, line by line.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Process {
    fn start(args: &[&str]) -> Process {
        let mut child = cli::command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("n2k-dbus starts");
        let out = child.stdout.take().expect("stdout");
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
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "exit status {status}");
                return;
            }
            assert!(Instant::now() < deadline, "still running after the signal");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
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
    let path = boat();
    let mut p = Process::start(&[
        "replay",
        path.to_str().expect("utf-8 path"),
        "--fast",
        "--hold",
        "--dbus",
        &bus.address,
    ]);
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
