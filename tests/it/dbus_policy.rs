//! `packaging/dbus/n2k-dbus.conf` on a bus that runs Debian's own system bus
//! configuration (`/usr/share/dbus-1/system.conf`, only its socket, pid file and user
//! changed) with our file included: the daemon's user owns and serves its names, an
//! unprivileged user reads (GetItems, GetValue, Introspect, Ping) but cannot write,
//! root and the admin group can.
//!
//! Processes run under other users with `setpriv`, so the test needs root. The
//! policy's user `n2k-dbus` and group `n2k-dbus-admin` are stood in for by accounts
//! every Debian system has (`daemon`, group `adm`): only the names are replaced.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use n2k_dbus::venus::kind::Kind;
use n2k_dbus::venus::products;

const DAEMON_UID: &str = "1"; // daemon
const NOBODY_UID: &str = "65534";
const ADM_GID: &str = "4";

fn policy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/dbus/n2k-dbus.conf")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Debian's system bus configuration listening on `socket`, with `policy` included.
fn system_config(socket: &Path, policy: &Path) -> String {
    let debian = std::fs::read_to_string("/usr/share/dbus-1/system.conf")
        .expect("Debian's /usr/share/dbus-1/system.conf (package dbus-system-bus-common or dbus)");
    let mut out = String::new();
    for line in debian.lines() {
        let t = line.trim();
        let dropped = t == "<user>messagebus</user>"
            || t == "<fork/>"
            || t == "<syslog/>"
            || t.starts_with("<pidfile>")
            || t.starts_with("<includedir>")
            || t.starts_with("<include ");
        if dropped {
            continue;
        }
        if t.starts_with("<listen>") {
            out.push_str(&format!(
                "  <listen>unix:path={}</listen>\n",
                socket.display()
            ));
            continue;
        }
        if t == "</busconfig>" {
            out.push_str(&format!("  <include>{}</include>\n", policy.display()));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

struct Daemon(Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `args` as `uid` (with supplementary group `gid`, or none).
fn as_user(uid: &str, gid: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"));
    match gid {
        Some(g) => cmd.arg(format!("--groups={g}")),
        None => cmd.arg("--clear-groups"),
    };
    cmd.args(args).output().expect("setpriv (util-linux) runs")
}

fn dbus_send(uid: &str, gid: Option<&str>, address: &str, dest: &str, rest: &[&str]) -> Output {
    let bus = format!("--bus={address}");
    let dest = format!("--dest={dest}");
    let mut args = vec!["dbus-send", bus.as_str(), "--print-reply", dest.as_str()];
    args.extend_from_slice(rest);
    as_user(uid, gid, &args)
}

fn denied(out: &Output) -> bool {
    !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("AccessDenied")
}

#[test]
fn readers_read_writers_are_root_or_admins_and_the_daemon_owns_its_names() {
    assert!(
        is_root(),
        "this test runs processes as other users with setpriv: run the tests as root"
    );
    let dir = std::env::temp_dir().join(format!("n2k-policy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let policy = std::fs::read_to_string(policy_file()).expect("policy");
    // Every service type the gateway publishes is a name its user may own.
    // Victron's own VE.Can products are published under their family's type.
    let classes = Kind::ALL
        .into_iter()
        .chain([Kind::Switch])
        .map(Kind::class)
        .chain(products::table::PROFILES.iter().map(|p| p.class));
    for class in classes {
        let rule = format!("own_prefix=\"com.victronenergy.{class}\"");
        assert!(
            policy.contains(&rule),
            "the policy lets the daemon own {rule}"
        );
    }
    let stand_in = policy
        .replace("user=\"n2k-dbus\"", "user=\"daemon\"")
        .replace("group=\"n2k-dbus-admin\"", "group=\"adm\"");
    let policy_path = dir.join("n2k-dbus.conf");
    std::fs::write(&policy_path, stand_in).expect("policy copy");
    let socket = dir.join("system_bus_socket");
    let config = dir.join("system.conf");
    std::fs::write(&config, system_config(&socket, &policy_path)).expect("config");

    let mut child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dbus-daemon runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address");
    let _daemon = Daemon(child);
    let address = line.trim().to_owned();

    // The daemon's user publishes a capture's devices.
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("candump-samples/aava-n2k.data");
    let mut replay = Command::new("setpriv")
        .args([
            &format!("--reuid={DAEMON_UID}"),
            &format!("--regid={DAEMON_UID}"),
            "--clear-groups",
        ])
        .arg(env!("CARGO_BIN_EXE_n2k-dbus"))
        .arg("replay")
        .arg(&capture)
        .args(["--fast", "--hold", "--dbus", &address])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("replay starts");
    let mut lines = BufReader::new(replay.stdout.take().expect("stdout")).lines();
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.contains("holding the services"))),
        "the replay ran as the daemon's user"
    );
    std::thread::spawn(move || lines.for_each(drop));
    let _replay = Daemon(replay);

    let names = dbus_send(
        NOBODY_UID,
        None,
        &address,
        "org.freedesktop.DBus",
        &["/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"],
    );
    let names = String::from_utf8_lossy(&names.stdout).into_owned();
    let device = names
        .split('"')
        .find(|n| n.starts_with("com.victronenergy.") && !n.starts_with("com.victronenergy.vecan."))
        .unwrap_or_else(|| panic!("the daemon's user owns device names: {names}"))
        .to_owned();
    assert!(
        names.contains("\"com.victronenergy.vecan."),
        "and its bus service: {names}"
    );

    // Reading is open to everyone.
    for call in [
        vec!["/", "com.victronenergy.BusItem.GetItems"],
        vec!["/Mgmt/ProcessName", "com.victronenergy.BusItem.GetValue"],
        vec!["/Mgmt/ProcessName", "com.victronenergy.BusItem.GetText"],
        vec!["/", "org.freedesktop.DBus.Introspectable.Introspect"],
        vec!["/", "org.freedesktop.DBus.Peer.Ping"],
        vec!["/CustomName", "org.freedesktop.DBus.Peer.Ping"],
    ] {
        let out = dbus_send(NOBODY_UID, None, &address, &device, &call);
        assert!(
            out.status.success(),
            "nobody's {call:?} on {device}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Writing is not.
    let write = [
        "/CustomName",
        "com.victronenergy.BusItem.SetValue",
        "variant:string:Port tank",
    ];
    let out = dbus_send(NOBODY_UID, None, &address, &device, &write);
    assert!(denied(&out), "nobody's SetValue: {out:?}");
    // Nor may anyone else take the names.
    let out = dbus_send(
        NOBODY_UID,
        None,
        &address,
        "org.freedesktop.DBus",
        &[
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.RequestName",
            "string:com.victronenergy.tank.x",
            "uint32:4",
        ],
    );
    assert!(denied(&out), "nobody owning a tank name: {out:?}");

    // Root and the admin group may write.
    let out = dbus_send("0", None, &address, &device, &write);
    assert!(out.status.success(), "root's SetValue: {out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("int32 0"),
        "{out:?}"
    );
    let write = [
        "/CustomName",
        "com.victronenergy.BusItem.SetValue",
        "variant:string:Tank 2",
    ];
    let out = dbus_send(NOBODY_UID, Some(ADM_GID), &address, &device, &write);
    assert!(out.status.success(), "an admin's SetValue: {out:?}");
    let out = dbus_send(
        NOBODY_UID,
        None,
        &address,
        &device,
        &["/CustomName", "com.victronenergy.BusItem.GetValue"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Tank 2"),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
