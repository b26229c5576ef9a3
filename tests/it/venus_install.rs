//! `packaging/venus/install.sh` into a staging root, and its scripts run as
//! daemontools runs them: `supervise` enters the service folder through the
//! `/service/<name>` link and starts `./run` with no `PWD` in its environment. A stub
//! binary and a stub `multilog` record their arguments, so each interface's daemon and
//! log are seen exactly as Venus OS would start them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/venus/install.sh")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("n2k-install-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write_exec(path: &Path, text: &str) {
    fs::write(path, text).expect("write stub");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn sh(args: &[&str]) -> Output {
    let out = Command::new("sh")
        .arg(script())
        .args(args)
        .output()
        .expect("sh runs install.sh");
    assert!(
        out.status.success(),
        "install.sh {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `install.sh --root <root> --binary <binary> <ifaces>…`.
fn install(root: &str, binary: &Path, ifaces: &[&str]) {
    let mut args = vec![
        "--root",
        root,
        "--binary",
        binary.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(ifaces);
    sh(&args);
}

/// Runs `<root>/service/<name>/<script>` as supervise does and returns what the stub
/// it execs recorded.
fn supervise(root: &Path, service: &str, script: &str, stubs: &Path, record: &Path) -> String {
    let _ = fs::remove_file(record);
    let folder = root.join("service").join(service);
    let folder = folder.join(Path::new(script).parent().unwrap_or(Path::new("")));
    let status = Command::new(
        "./".to_owned()
            + Path::new(script)
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or("run"),
    )
    .current_dir(&folder)
    .env_remove("PWD")
    .env("PATH", format!("{}:/usr/bin:/bin", stubs.display()))
    .env("RECORD", record)
    .status()
    .expect("the run script starts");
    assert!(status.success(), "{service}/{script} failed: {status}");
    fs::read_to_string(record).expect("the stub recorded its arguments")
}

#[test]
fn every_interface_runs_as_itself_and_uninstall_removes_everything() {
    let dir = temp_dir("ports");
    let root = dir.join("root");
    let stubs = dir.join("stubs");
    fs::create_dir_all(&stubs).expect("stubs");
    // The "binary": records how it was started, as the real one would be.
    let binary = dir.join("n2k-dbus");
    write_exec(&binary, "#!/bin/sh\necho \"$0 $*\" > \"$RECORD\"\n");
    write_exec(
        &stubs.join("multilog"),
        "#!/bin/sh\necho \"multilog $*\" > \"$RECORD\"\n",
    );
    // An rc.local of the user's own: kept, with our lines added and later removed.
    fs::create_dir_all(root.join("data")).expect("data");
    fs::write(root.join("data/rc.local"), "#!/bin/sh\necho mine\n").expect("rc.local");

    let root_s = root.to_str().expect("utf-8 path");
    install(root_s, &binary, &["can0", "can1"]);

    let record = dir.join("record");
    let home = root.join("data/n2k-dbus");
    for iface in ["can0", "can1"] {
        let service = format!("n2k-dbus.{iface}");
        let link = root.join("service").join(&service);
        assert!(
            fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink(),
            "{service} is a link into /data"
        );
        let ran = supervise(&root, &service, "run", &stubs, &record);
        assert_eq!(
            ran.trim(),
            format!(
                "{} run --interface {iface} --state-dir {} --n2k-out",
                home.join("n2k-dbus").display(),
                home.join("state").display()
            ),
            "the daemon of {service}"
        );
        let logged = supervise(&root, &service, "log/run", &stubs, &record);
        let logs = root.join(format!("var/log/n2k-dbus.{iface}"));
        assert_eq!(
            logged.trim(),
            format!("multilog t s25000 n4 {}", logs.display())
        );
        assert!(logs.is_dir(), "{} exists", logs.display());
    }

    // Options of one port reach only that port's daemon.
    fs::write(
        home.join("can1.options"),
        "--coexist off --exclude unique:7\n",
    )
    .expect("options");
    let ran = supervise(&root, "n2k-dbus.can1", "run", &stubs, &record);
    assert!(
        ran.trim().ends_with("--coexist off --exclude unique:7"),
        "{ran}"
    );
    let ran = supervise(&root, "n2k-dbus.can0", "run", &stubs, &record);
    assert!(!ran.contains("--coexist"), "{ran}");

    // The boot lines make both links again.
    let rc = fs::read_to_string(root.join("data/rc.local")).expect("rc.local");
    assert!(rc.starts_with("#!/bin/sh\necho mine\n"), "{rc}");
    for iface in ["can0", "can1"] {
        assert!(
            rc.contains(&format!(
                "ln -sfn {} {}",
                home.join("service").join(iface).display(),
                root.join("service")
                    .join(format!("n2k-dbus.{iface}"))
                    .display()
            )),
            "{rc}"
        );
    }
    fs::remove_file(root.join("service/n2k-dbus.can0")).expect("a reboot empties /service");
    let boot = Command::new("sh")
        .arg(root.join("data/rc.local"))
        .output()
        .expect("rc.local runs");
    assert!(boot.status.success());
    assert!(root.join("service/n2k-dbus.can0/run").is_file());

    assert!(
        home.join("install.sh").is_file(),
        "the script stays for --uninstall"
    );

    // Installing again (an update) changes nothing else.
    install(root_s, &binary, &["can0"]);
    let again = fs::read_to_string(root.join("data/rc.local")).expect("rc.local");
    assert_eq!(again, rc, "a second install keeps one block");

    // One port out: the other stays.
    sh(&["--root", root_s, "--uninstall", "can1"]);
    assert!(!root.join("service/n2k-dbus.can1").exists());
    assert!(!root.join("var/log/n2k-dbus.can1").exists());
    assert!(root.join("service/n2k-dbus.can0/run").is_file());
    let rc = fs::read_to_string(root.join("data/rc.local")).expect("rc.local");
    assert!(!rc.contains("can1") && rc.contains("can0"), "{rc}");

    // Everything out: only what was there before remains.
    sh(&["--root", root_s, "--uninstall"]);
    let mut left: Vec<String> = Vec::new();
    collect(&root, &root, &mut left);
    left.sort();
    assert_eq!(left, ["data", "data/rc.local", "service", "var", "var/log"]);
    assert_eq!(
        fs::read_to_string(root.join("data/rc.local")).expect("rc.local"),
        "#!/bin/sh\necho mine\n"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_rc_local_it_created_goes_with_it_and_bad_names_are_refused() {
    let dir = temp_dir("fresh");
    let root = dir.join("root");
    let binary = dir.join("n2k-dbus");
    write_exec(&binary, "#!/bin/sh\n");
    let root_s = root.to_str().expect("utf-8 path");
    let bad = Command::new("sh")
        .arg(script())
        .args([
            "--root",
            root_s,
            "--binary",
            binary.to_str().expect("path"),
            "can0;reboot",
        ])
        .output()
        .expect("sh runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an interface name"));

    install(root_s, &binary, &["vecan0"]);
    assert!(root.join("data/rc.local").is_file());
    sh(&["--root", root_s, "--uninstall"]);
    let mut left = Vec::new();
    collect(&root, &root, &mut left);
    left.sort();
    assert_eq!(left, ["data", "service", "var", "var/log"]);
    let _ = fs::remove_dir_all(&dir);
}

/// Every path under `dir`, relative to `base`.
fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        out.push(
            path.strip_prefix(base)
                .expect("under base")
                .to_string_lossy()
                .into_owned(),
        );
        if path.is_dir()
            && !fs::symlink_metadata(&path)
                .expect("meta")
                .file_type()
                .is_symlink()
        {
            collect(base, &path, out);
        }
    }
}
