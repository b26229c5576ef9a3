//! Beside Victron's gateway: `n2k-dbus replay` of Dirona's capture onto a private
//! dbus-daemon on which a stand-in for vecan-dbus already shows one of its devices
//! (Dirona's fresh-water tank sender, unique number 1501215) and owns
//! `com.victronenergy.vecan.can0`. The stand-in has the paths of Venus's tank service
//! (`venus-service-dumps/tank-fuel1.json`: a gui-v2 mock) with vecan-dbus's own
//! (`/Mgmt/ProcessName "vecan-dbus"`, `/N2kUniqueNumber`, `/N2kDeviceInstance`).
//!
//! While it is there, n2k-dbus shows no second service for the tank, and its bus
//! service is `com.victronenergy.n2kdbus.can0`; when it leaves, ours appears at once
//! with the same values as a replay without the stand-in; when it returns, ours goes.

use crate::support::{cli, gateway_replay, private_bus, reference};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;

use gateway_replay::{device_services, get_items, Items};
use n2k_dbus::dbus::{Item, ItemTree, Service, ServiceOptions, ServiceSpec};
use private_bus::PrivateBus;

const OURS: &str = "com.victronenergy.tank.socketcan_can0_di0_uc1501215_freshwater0";
const THEIRS: &str = "com.victronenergy.tank.socketcan_can0_vi0_uc1501215";

/// vecan-dbus's service for the tank sender: the tank service's paths (values of the
/// dump), and the identity vecan-dbus gives an NMEA 2000 device.
fn stand_in() -> ServiceSpec {
    let items: Vec<(&str, Item)> = vec![
        ("/Alarms/High/Active", Item::new(90)),
        ("/Alarms/High/Delay", Item::new(5)),
        ("/Alarms/High/Enable", Item::new(0)),
        ("/Alarms/High/Restore", Item::new(80)),
        ("/Alarms/Low/Active", Item::new(10)),
        ("/Alarms/Low/Delay", Item::new(30)),
        ("/Alarms/Low/Enable", Item::new(0)),
        ("/Alarms/Low/Restore", Item::new(15)),
        ("/Capacity", Item::new(0.55)),
        ("/Connected", Item::new(1)),
        ("/CustomName", Item::new("")),
        ("/DeviceInstance", Item::new(23)),
        ("/FluidType", Item::new(1)),
        ("/Level", Item::new(45)),
        ("/Mgmt/Connection", Item::new("VE.Can")),
        ("/Mgmt/ProcessName", Item::new("vecan-dbus")),
        ("/Mgmt/ProcessVersion", Item::new("3.56")),
        ("/N2kDeviceInstance", Item::new(0)),
        ("/N2kUniqueNumber", Item::new(1_501_215)),
        ("/ProductId", Item::new(41312)),
        ("/ProductName", Item::new("Tank sensor")),
        ("/Remaining", Item::new(0.248)),
        ("/Status", Item::new(0)),
    ];
    let mut tree = ItemTree::new();
    for (path, item) in items {
        tree.insert(path, item).expect("path");
    }
    ServiceSpec::new(THEIRS, tree)
}

fn vecan_bus_service() -> ServiceSpec {
    let tree = ItemTree::new()
        .with("/Mgmt/ProcessName", Item::new("vecan-dbus"))
        .expect("path");
    ServiceSpec::new("com.victronenergy.vecan.can0", tree)
}

/// `n2k-dbus replay` of Dirona's capture with `--hold`, once it holds.
fn replay(bus: &PrivateBus, extra: &[&str]) -> Child {
    let capture = reference::samples().join("dirona-actisense-serial.raw");
    let mut child = cli::command()
        .arg("replay")
        .arg(&capture)
        .args(["--fast", "--hold", "--dbus", &bus.address])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("n2k-dbus starts");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let holding = lines.any(|l| l.is_ok_and(|l| l.contains("holding the services")));
    assert!(holding, "the replay reached its end and holds");
    // The rest (its summary at the end) is read, so the pipe stays open.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

async fn names(client: &zbus::Connection) -> Vec<String> {
    zbus::fdo::DBusProxy::new(client)
        .await
        .expect("proxy")
        .list_names()
        .await
        .expect("ListNames")
        .into_iter()
        .map(|n| n.to_string())
        .collect()
}

/// Waits until `service` is on the bus (`present`) or not, as a client learns it:
/// from NameOwnerChanged (subscribed before the current state is read).
async fn until(client: &zbus::Connection, service: &str, present: bool) {
    let proxy = zbus::fdo::DBusProxy::new(client).await.expect("proxy");
    let mut changes = proxy
        .receive_name_owner_changed_with_args(&[(0, service)])
        .await
        .expect("NameOwnerChanged");
    if names(client).await.iter().any(|n| n == service) == present {
        return;
    }
    let change = async {
        while let Some(signal) = changes.next().await {
            let args = signal.args().expect("NameOwnerChanged's arguments");
            if args.new_owner().is_some() == present {
                return;
            }
        }
    };
    let what = if present { "appear" } else { "leave" };
    tokio::time::timeout(Duration::from_secs(60), change)
        .await
        .unwrap_or_else(|_| panic!("{service} did not {what} within 60 s"));
}

fn without_vrm_instance(mut items: Items) -> Items {
    // The VRM instance is assigned when a service is first published: a held service
    // is published later than the others.
    items.remove("/DeviceInstance");
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_another_gateway_shows_is_not_duplicated() {
    // The reference: the same replay on a bus of its own, nothing else there.
    let reference_bus = PrivateBus::start();
    let reference_run = replay(&reference_bus, &[]);
    let reference_client = reference_bus.client().await;
    let want = without_vrm_instance(get_items(&reference_client, OURS).await);
    stop(reference_run);

    let bus = PrivateBus::start();
    let client = bus.client().await;
    let theirs = Service::publish(&bus.bus(), stand_in(), ServiceOptions::default())
        .await
        .expect("the stand-in publishes");
    let _vecan = Service::publish(&bus.bus(), vecan_bus_service(), ServiceOptions::default())
        .await
        .expect("the vecan name");
    let run = replay(&bus, &[]);

    let services = device_services(&client).await;
    assert!(
        !services.iter().any(|n| n == OURS),
        "no second service for the tank: {services:?}"
    );
    assert!(
        services
            .iter()
            .any(|n| n.ends_with("_uc1500111_wastewater0")),
        "the other tanks are there: {services:?}"
    );
    assert!(
        names(&client)
            .await
            .iter()
            .any(|n| n == "com.victronenergy.n2kdbus.can0"),
        "the bus service under its fallback name"
    );
    let bus_items = get_items(&client, "com.victronenergy.n2kdbus.can0").await;
    assert!(
        bus_items.contains_key("/Mgmt/ProcessName"),
        "the bus service's paths"
    );

    // The stand-in leaves: ours appears, current.
    theirs.withdraw().await;
    until(&client, OURS, true).await;
    assert_eq!(without_vrm_instance(get_items(&client, OURS).await), want);

    // It comes back: ours goes.
    let _theirs = Service::publish(&bus.bus(), stand_in(), ServiceOptions::default())
        .await
        .expect("the stand-in publishes again");
    until(&client, OURS, false).await;
    stop(run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_coexistence_off_both_are_shown() {
    let bus = PrivateBus::start();
    let client = bus.client().await;
    let _theirs = Service::publish(&bus.bus(), stand_in(), ServiceOptions::default())
        .await
        .expect("the stand-in publishes");
    let run = replay(&bus, &["--coexist", "off"]);
    let services = device_services(&client).await;
    assert!(services.iter().any(|n| n == OURS), "{services:?}");
    assert!(services.iter().any(|n| n == THEIRS), "{services:?}");
    stop(run);
}

/// A stand-in for Venus's settings service with the interface's CAN-bus profile.
fn settings_with_profile(profile: i32) -> ServiceSpec {
    let tree = ItemTree::new()
        .with("/Settings/Canbus/can0/Profile", Item::new(profile))
        .expect("path");
    ServiceSpec::new("com.victronenergy.settings", tree)
}

/// vecan-dbus may start after us (at boot, svscan starts both): on a port whose
/// profile runs it, the bus service takes the fallback name from the start, and the
/// vecan name stays free for it; on a port without it, the vecan name is ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ve_can_profile_leaves_the_vecan_name_free() {
    for (profile, ours, free) in [
        (
            1,
            "com.victronenergy.n2kdbus.can0",
            "com.victronenergy.vecan.can0",
        ),
        (
            5,
            "com.victronenergy.vecan.can0",
            "com.victronenergy.n2kdbus.can0",
        ),
    ] {
        let bus = PrivateBus::start();
        let client = bus.client().await;
        let _settings = Service::publish(
            &bus.bus(),
            settings_with_profile(profile),
            ServiceOptions::default(),
        )
        .await
        .expect("the settings stand-in");
        let run = replay(&bus, &[]);
        let names = names(&client).await;
        assert!(
            names.iter().any(|n| n == ours),
            "profile {profile}: {names:?}"
        );
        assert!(
            !names.iter().any(|n| n == free),
            "profile {profile}: {names:?}"
        );
        stop(run);
    }
}
