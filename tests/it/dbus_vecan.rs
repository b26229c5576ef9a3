//! The bus service `com.victronenergy.vecan.<if>` on a private dbus-daemon: every
//! node of a real capture, as canboat's reference decode names it, and a device
//! instance written by a client going onto the bus as a 126208 command.

use crate::support::names::name;
use crate::support::{core_feed, private_bus, reference};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use n2k_dbus::can::{CanId, Frame};
use n2k_dbus::core::{Core, CoreConfig, Output};
use n2k_dbus::dbus::{Outbox, Request};
use n2k_dbus::logs::LogReader;
use n2k_dbus::network::Name;
use n2k_dbus::venus::vecan::{device_key, BusService};
use private_bus::PrivateBus;
use tokio::sync::mpsc;
use zbus::zvariant::OwnedValue;

const BUS_ITEM: &str = "com.victronenergy.BusItem";
const SERVICE: &str = "com.victronenergy.vecan.can0";

type Items = HashMap<String, HashMap<String, OwnedValue>>;

async fn get_items(client: &zbus::Connection) -> Items {
    client
        .call_method(Some(SERVICE), "/", Some(BUS_ITEM), "GetItems", &())
        .await
        .expect("GetItems")
        .body()
        .deserialize()
        .expect("a{sa{sv}}")
}

fn int(items: &Items, path: &str) -> Option<i64> {
    let v = &items.get(path)?["Value"];
    i32::try_from(v).ok().map(i64::from)
}

fn text<'a>(items: &'a Items, path: &str) -> Option<&'a str> {
    <&str>::try_from(&items.get(path)?["Value"]).ok()
}

#[tokio::test]
async fn every_node_of_a_capture_is_listed_as_the_reference_decode_names_it() {
    let file = "candumpSample1.txt";
    let (want, _) = reference::reference(file);
    let log = std::fs::read_to_string(reference::samples().join(file)).expect("capture");
    let mut core = Core::new(CoreConfig::gateway(1001).listen_only());
    let mut records = 0i64;
    let mut last = 0;
    for r in LogReader::new(log.as_bytes(), file) {
        let r = r.expect("capture line");
        last = r.timestamp();
        records += 1;
        core_feed::feed(&mut core, &r, &mut |_, _| {});
    }

    let bus = PrivateBus::start();
    let outbox = Outbox::new();
    let mut vecan = BusService::new("can0");
    vecan.refresh(true, &core, None, last, &outbox);
    let mut publisher = bus.publisher(None);
    publisher.flush(outbox.take()).await;
    assert_eq!(publisher.stats().published, 1);

    let client = bus.client().await;
    let items = get_items(&client).await;
    assert_eq!(text(&items, "/Identifier"), Some("can0"));
    let named: Vec<(u8, Name)> = want
        .iter()
        .filter_map(|(a, e)| Some((*a, e.name?)))
        .collect();
    assert_eq!(named.len(), 3, "the capture's three claiming nodes");
    let listed = items
        .keys()
        .filter(|p| p.starts_with("/Devices/") && p.ends_with("/N2kUniqueNumber"))
        .count();
    assert_eq!(listed, named.len(), "one entry per NAME");
    for (addr, name) in named {
        let f = name.fields();
        // NAME bits 0-31: manufacturer code above the 21-bit unique number.
        let base = format!(
            "/Devices/0000{:08X}",
            (u64::from(f.manufacturer_code) << 21) | u64::from(f.unique_number)
        );
        assert_eq!(base, format!("/Devices/{}", device_key(name, false)));
        assert_eq!(
            int(&items, &format!("{base}/N2kUniqueNumber")),
            Some(i64::from(f.unique_number))
        );
        assert_eq!(
            int(&items, &format!("{base}/Manufacturer")),
            Some(i64::from(f.manufacturer_code))
        );
        assert_eq!(
            int(&items, &format!("{base}/DeviceInstance")),
            Some(i64::from(f.device_instance))
        );
        assert_eq!(int(&items, &format!("{base}/Nad")), Some(i64::from(addr)));
        assert_eq!(int(&items, &format!("{base}/Connected")), Some(1));
        let e = &want[&addr];
        match &e.product {
            Some((model, software, serial)) => {
                assert_eq!(
                    text(&items, &format!("{base}/ModelName")),
                    Some(model.as_str()),
                    "{base}"
                );
                assert_eq!(
                    text(&items, &format!("{base}/FirmwareVersion")),
                    Some(software.as_str())
                );
                assert_eq!(
                    text(&items, &format!("{base}/Serial")),
                    Some(serial.as_str())
                );
            }
            None => assert_eq!(
                items[&format!("{base}/ModelName")]["Value"]
                    .value_signature()
                    .to_string(),
                "ai",
                "no product information: invalid"
            ),
        }
    }
    assert_eq!(int(&items, "/Statistics/FramesReceived"), Some(records));
    assert_eq!(int(&items, "/Statistics/FramesSent"), Some(0));
    assert_eq!(int(&items, "/Alarms/SameUniqueNameUsed"), Some(0));
    // This capture carries no usable clock, so the load is not known.
    assert_eq!(
        <&str>::try_from(&items["/Statistics/BusLoad"]["Text"]).ok(),
        Some("---")
    );

    // busctl sees the same through introspection.
    let addr = format!("--address={}", bus.address);
    let tree = bus
        .stdout("busctl", &[&addr, "tree", "--list", SERVICE])
        .await;
    assert!(
        tree.lines()
            .any(|l| l.trim() == "/Statistics/Malformed/FastPacket"),
        "{tree}"
    );

    // Nothing changed: a refresh sends nothing.
    vecan.refresh(true, &core, None, last, &outbox);
    let batch = outbox.take();
    assert!(batch.iter().all(|(_, p)| p.changes.is_empty()), "{batch:?}");
    publisher.withdraw_all().await;
}

fn claim(now: i64, source: u8, name: Name) -> Frame {
    let id = CanId {
        priority: 6,
        pgn: 60928,
        source,
        destination: 255,
    };
    Frame::new(now, id.to_raw().expect("id"), &name.to_payload())
}

#[tokio::test]
async fn a_device_instance_written_on_the_bus_service_is_commanded_and_followed() {
    // A gateway with an address, and a device at 0x23.
    let mut core = Core::new(CoreConfig::gateway(1001));
    core.start(0);
    core.advance_to(2_000_000, &mut |_, _| {});
    assert_eq!(
        core.claim_state(),
        n2k_dbus::network::ClaimState::Claimed { address: 100 }
    );
    let device = name(4242, 135, (30, 140), 0);
    core.on_frame(2_100_000, &claim(2_100_000, 0x23, device));
    while core.poll_output().is_some() {}

    let bus = PrivateBus::start();
    let outbox = Arc::new(Outbox::new());
    let mut vecan = BusService::new("can0");
    vecan.refresh(true, &core, None, 2_100_000, &*outbox);
    let (to_gateway, mut writes) = mpsc::channel(8);
    let mut publisher = bus.publisher(Some(to_gateway));
    publisher.flush(outbox.take()).await;
    let key = device_key(device, false);
    let path = format!("/Devices/{key}/DeviceInstance");

    // The client's SetValue, the gateway deciding it, concurrently.
    let client = bus.client().await;
    let thirteen = zbus::zvariant::Value::from(13i32);
    let call = client.call_method(
        Some(SERVICE),
        path.as_str(),
        Some(BUS_ITEM),
        "SetValue",
        &thirteen,
    );
    let stop = tokio::sync::oneshot::channel::<()>();
    let publisher_task = {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            publisher
                .run(outbox, async {
                    let _ = stop.1.await;
                })
                .await
        })
    };
    let decide = async {
        let Some(Request::Write(w)) = writes.recv().await else {
            panic!("a write for the gateway");
        };
        assert_eq!(w.path, path);
        let outcome = vecan.on_write(&mut core, 2_200_000, &w.path, &w.value);
        let _ = w.reply.send(outcome);
    };
    let (reply, ()) = tokio::join!(call, decide);
    let code: i32 = reply.expect("SetValue").body().deserialize().expect("i");
    assert_eq!(code, 0);

    // What went on the bus: docs/nmea2000.md#changing-a-device-instance's example, byte for byte.
    let mut frames = Vec::new();
    while let Some(o) = core.poll_output() {
        if let Output::Transmit(f) = o {
            frames.push(format!(
                "{:08X}#{}",
                f.can_id().to_raw().expect("id"),
                hex(f.data())
            ));
        }
    }
    assert_eq!(
        frames,
        ["0DED2364#000A0100EE00F802", "0DED2364#0103050401FFFFFF"]
    );

    // The value shows once the device claims with its new NAME, under the same key.
    let renamed = device.with_device_instance(13);
    core.on_frame(2_300_000, &claim(2_300_000, 0x23, renamed));
    while core.poll_output().is_some() {}
    vecan.refresh(true, &core, None, 2_300_000, &*outbox);
    let mut shown = None;
    for _ in 0..100 {
        let items = get_items(&client).await;
        shown = int(&items, &path);
        if shown == Some(13) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(shown, Some(13));
    let _ = stop.0.send(());
    let _ = publisher_task.await;
}

fn hex(b: &[u8]) -> String {
    crate::support::hex(b)
}
