//! A private `dbus-daemon` per test, and Debian's own D-Bus clients run against it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use std::time::Duration;

use n2k_dbus::dbus::{Bus, Publisher, PublisherConfig, Request, Settings};
use tokio::sync::mpsc;

/// A `dbus-daemon` of the test's own, killed and cleaned up on drop.
pub struct PrivateBus {
    child: Child,
    dir: PathBuf,
    pub address: String,
}

impl PrivateBus {
    /// Starts a daemon with the session policy on a socket in a fresh directory.
    pub fn start() -> PrivateBus {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "n2k-dbus-bus-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bus directory");
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .arg(format!("--address=unix:path={}", dir.join("bus").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon must be installed (Debian package `dbus-daemon`)");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        let address = line.trim().to_owned();
        assert!(address.starts_with("unix:"), "address: {address:?}");
        PrivateBus {
            child,
            dir,
            address,
        }
    }

    /// Kills the daemon, as a crash or a stopped system bus would: every connection
    /// to it closes.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill dbus-daemon");
        self.child.wait().expect("wait for dbus-daemon");
    }

    /// The bus for the library.
    pub fn bus(&self) -> Bus {
        Bus::Address(self.address.clone())
    }

    /// A publisher on this bus that flushes every change at once (`gateway`: where
    /// clients' writes go).
    pub fn publisher(&self, gateway: Option<mpsc::Sender<Request>>) -> Publisher {
        self.publisher_with(None, gateway)
    }

    /// The same, with a settings client for VRM instances and custom names.
    pub fn publisher_with(
        &self,
        settings: Option<Settings>,
        gateway: Option<mpsc::Sender<Request>>,
    ) -> Publisher {
        Publisher::new(
            PublisherConfig {
                bus: self.bus(),
                flush_interval: Duration::ZERO,
                properties_changed: false,
                coexist: None,
            },
            settings,
            gateway,
        )
    }

    /// A client connection of the test's own.
    pub async fn client(&self) -> zbus::Connection {
        self.bus().connect().await.expect("client connection")
    }

    /// Runs a command with this bus as its session bus, off the async runtime.
    pub async fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env_remove("DBUS_SYSTEM_BUS_ADDRESS");
        let program = program.to_owned();
        tokio::task::spawn_blocking(move || {
            cmd.output()
                .unwrap_or_else(|e| panic!("`{program}` must be installed: {e}"))
        })
        .await
        .expect("command thread")
    }

    /// Runs a command that must succeed; returns its standard output.
    pub async fn stdout(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args).await;
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
