//! `/DeviceInstance` and `/CustomName` through a settings service the test provides
//! (localsettings' AddSettings / SetValue / PropertiesChanged behaviour, instances
//! unique per class), and through the state file when no settings service runs.

use crate::support::private_bus;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use n2k_dbus::dbus::{DeviceSettings, Item, ItemTree, Outbox, ServiceSpec, Settings};
use private_bus::PrivateBus;
use tokio::sync::oneshot;
use zbus::zvariant::{OwnedValue, Value as ZValue};
use zbus::{Connection, Message, MessageStream};

const BUS_ITEM: &str = "com.victronenergy.BusItem";
const SETTINGS: &str = "com.victronenergy.settings";

/// A small stand-in for localsettings.
struct FakeSettings {
    values: Arc<Mutex<BTreeMap<String, String>>>,
    conn: Connection,
    task: tokio::task::JoinHandle<()>,
}

fn unique(values: &BTreeMap<String, String>, path: &str, wanted: &str) -> String {
    let Some((class, n)) = wanted.rsplit_once(':') else {
        return wanted.to_owned();
    };
    let mut n: u32 = n.parse().unwrap_or(0);
    let taken = |n: u32| {
        values.iter().any(|(p, v)| {
            p != path && p.ends_with("/ClassAndVrmInstance") && *v == format!("{class}:{n}")
        })
    };
    while taken(n) {
        n += 1;
    }
    format!("{class}:{n}")
}

impl FakeSettings {
    async fn start(bus: &PrivateBus, initial: &[(&str, &str)]) -> FakeSettings {
        let values: BTreeMap<String, String> = initial
            .iter()
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect();
        let values = Arc::new(Mutex::new(values));
        let conn = bus.client().await;
        let stream = MessageStream::from(&conn);
        let task = tokio::spawn(serve(conn.clone(), stream, values.clone()));
        conn.request_name(SETTINGS).await.expect("settings name");
        FakeSettings { values, conn, task }
    }

    fn get(&self, path: &str) -> Option<String> {
        self.values.lock().expect("lock").get(path).cloned()
    }

    /// What the GUI does when a user edits a setting.
    async fn user_sets(&self, client: &Connection, path: &str, value: &str) {
        assert_eq!(set_value(client, SETTINGS, path, value).await, 0);
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.conn.close().await;
    }
}

async fn serve(
    conn: Connection,
    mut stream: MessageStream,
    values: Arc<Mutex<BTreeMap<String, String>>>,
) {
    while let Some(Ok(msg)) = stream.next().await {
        if msg.message_type() != zbus::message::Type::MethodCall {
            continue;
        }
        handle(&conn, &msg, &values).await;
    }
}

async fn handle(conn: &Connection, msg: &Message, values: &Mutex<BTreeMap<String, String>>) {
    let h = msg.header();
    let path = h.path().map(|p| p.to_string()).unwrap_or_default();
    match h.member().map(|m| m.as_str()) {
        Some("AddSettings") => {
            let defs: Vec<HashMap<String, OwnedValue>> = msg.body().deserialize().expect("aa{sv}");
            let mut reply: Vec<HashMap<&str, ZValue<'static>>> = Vec::new();
            for d in defs {
                let rel = <&str>::try_from(&d["path"]).expect("path").to_owned();
                let default = <&str>::try_from(&d["default"])
                    .expect("string default")
                    .to_owned();
                let full = format!("{path}/{rel}");
                let mut v = values.lock().expect("lock");
                let value = match v.get(&full) {
                    Some(existing) => existing.clone(),
                    None => {
                        let value = unique(&v, &full, &default);
                        v.insert(full.clone(), value.clone());
                        value
                    }
                };
                reply.push(HashMap::from([
                    ("error", ZValue::from(0i32)),
                    ("path", ZValue::from(rel)),
                    ("value", ZValue::from(value)),
                ]));
            }
            conn.reply(&h, &reply).await.expect("reply");
        }
        Some("SetValue") => {
            let v: OwnedValue = msg.body().deserialize().expect("v");
            let text = <&str>::try_from(&v).expect("string").to_owned();
            let stored = {
                let mut map = values.lock().expect("lock");
                let stored = if path.ends_with("/ClassAndVrmInstance") {
                    unique(&map, &path, &text)
                } else {
                    text
                };
                map.insert(path.clone(), stored.clone());
                stored
            };
            conn.reply(&h, &0i32).await.expect("reply");
            let changes: HashMap<&str, ZValue<'_>> = HashMap::from([
                ("Value", ZValue::from(stored.as_str())),
                ("Text", ZValue::from(stored.as_str())),
            ]);
            conn.emit_signal(
                None::<&str>,
                path.as_str(),
                BUS_ITEM,
                "PropertiesChanged",
                &changes,
            )
            .await
            .expect("signal");
        }
        Some("GetValue") => {
            let v = values
                .lock()
                .expect("lock")
                .get(&path)
                .cloned()
                .unwrap_or_default();
            conn.reply(&h, &ZValue::from(v)).await.expect("reply");
        }
        _ => {
            conn.reply_dbus_error(&h, zbus::fdo::Error::UnknownMethod("no".into()))
                .await
                .expect("reply");
        }
    }
}

/// A client's `SetValue` of a text; returns the code.
async fn set_value(client: &Connection, service: &str, path: &str, value: &str) -> i32 {
    client
        .call_method(
            Some(service),
            path,
            Some(BUS_ITEM),
            "SetValue",
            &ZValue::from(value),
        )
        .await
        .expect("SetValue")
        .body()
        .deserialize()
        .expect("i")
}

fn battery(unique: u32) -> ServiceSpec {
    let items = ItemTree::new()
        .with("/ProductName", Item::new("Battery monitor"))
        .and_then(|t| t.with("/Dc/0/Voltage", Item::measured(12.5, 2, "V")))
        .expect("tree");
    let mut spec = ServiceSpec::new(
        format!("com.victronenergy.battery.socketcan_can0_di0_uc{unique}"),
        items,
    );
    spec.settings = Some(DeviceSettings {
        uid: format!("socketcan_can0_di0_uc{unique}"),
        class: "battery".into(),
        preferred_instance: 1,
    });
    spec
}

struct Running {
    outbox: Arc<Outbox>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_publisher(bus: &PrivateBus, state: Option<std::path::PathBuf>) -> Running {
    let settings = Settings::connect(&bus.bus(), state)
        .await
        .expect("settings client");
    let publisher = bus.publisher_with(Some(settings), None);
    let outbox = Arc::new(Outbox::new());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn({
        let outbox = outbox.clone();
        async move {
            publisher
                .run(outbox, async {
                    let _ = stopped.await;
                })
                .await;
        }
    });
    Running {
        outbox,
        stop: Some(stop),
        task,
    }
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
    }
}

/// Polls `path` of `service` until it equals `want`.
async fn eventually(client: &Connection, service: &str, path: &str, want: ZValue<'_>) {
    let mut last = None;
    for _ in 0..200 {
        if let Ok(m) = client
            .call_method(Some(service), path, Some(BUS_ITEM), "GetValue", &())
            .await
        {
            let v: OwnedValue = m.body().deserialize().expect("v");
            if *v == want {
                return;
            }
            last = Some(v);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{service} {path}: wanted {want:?}, last {last:?}");
}

#[tokio::test]
async fn instance_and_name_round_trip_through_the_settings_service() {
    let bus = PrivateBus::start();
    let client = bus.client().await;
    // Another driver already holds battery:1.
    let settings = FakeSettings::start(
        &bus,
        &[("/Settings/Devices/other/ClassAndVrmInstance", "battery:1")],
    )
    .await;
    let gw = start_publisher(&bus, None).await;
    gw.outbox.publish(battery(1234));
    let name = "com.victronenergy.battery.socketcan_can0_di0_uc1234";
    let setting = "/Settings/Devices/socketcan_can0_di0_uc1234";

    // localsettings made the instance unique; the service shows what it stored.
    eventually(&client, name, "/DeviceInstance", ZValue::I32(2)).await;
    eventually(&client, name, "/CustomName", ZValue::from("")).await;
    assert_eq!(
        settings
            .get(&format!("{setting}/ClassAndVrmInstance"))
            .as_deref(),
        Some("battery:2")
    );

    // A name written on the service lands in the settings.
    assert_eq!(
        set_value(&client, name, "/CustomName", "Port bank").await,
        0
    );
    assert_eq!(
        settings.get(&format!("{setting}/CustomName")).as_deref(),
        Some("Port bank")
    );
    eventually(&client, name, "/CustomName", ZValue::from("Port bank")).await;

    // Changes made in the settings are followed.
    settings
        .user_sets(
            &client,
            &format!("{setting}/ClassAndVrmInstance"),
            "battery:7",
        )
        .await;
    eventually(&client, name, "/DeviceInstance", ZValue::I32(7)).await;
    settings
        .user_sets(&client, &format!("{setting}/CustomName"), "Starter")
        .await;
    eventually(&client, name, "/CustomName", ZValue::from("Starter")).await;

    gw.stop().await;
    settings.stop().await;
}

#[tokio::test]
async fn without_settings_the_state_file_keeps_them_until_a_settings_service_appears() {
    let bus = PrivateBus::start();
    let client = bus.client().await;
    let dir = std::env::temp_dir().join(format!("n2k-dbus-settings-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = dir.join("can0.state");
    let gw = start_publisher(&bus, Some(state.clone())).await;
    gw.outbox.publish(battery(1));
    gw.outbox.publish(battery(2));
    let first = "com.victronenergy.battery.socketcan_can0_di0_uc1";
    let second = "com.victronenergy.battery.socketcan_can0_di0_uc2";
    eventually(&client, first, "/DeviceInstance", ZValue::I32(1)).await;
    eventually(&client, second, "/DeviceInstance", ZValue::I32(2)).await;
    assert_eq!(set_value(&client, second, "/CustomName", "Galley").await, 0);
    eventually(&client, second, "/CustomName", ZValue::from("Galley")).await;
    let text = std::fs::read_to_string(&state).expect("state file");
    assert!(
        text.contains("custom_name.socketcan_can0_di0_uc2=Galley"),
        "{text}"
    );
    assert!(
        text.contains("instance.socketcan_can0_di0_uc2=battery:2"),
        "{text}"
    );

    // A settings service appears: our values become its defaults.
    let settings = FakeSettings::start(&bus, &[]).await;
    let setting = "/Settings/Devices/socketcan_can0_di0_uc2";
    for _ in 0..200 {
        if settings.get(&format!("{setting}/CustomName")).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        settings.get(&format!("{setting}/CustomName")).as_deref(),
        Some("Galley")
    );
    assert_eq!(
        settings
            .get(&format!("{setting}/ClassAndVrmInstance"))
            .as_deref(),
        Some("battery:2")
    );
    // And from then on its changes are followed.
    settings
        .user_sets(
            &client,
            &format!("{setting}/ClassAndVrmInstance"),
            "battery:5",
        )
        .await;
    eventually(&client, second, "/DeviceInstance", ZValue::I32(5)).await;

    gw.stop().await;
    settings.stop().await;
    // After a restart without the settings service the last values are kept.
    let gw = start_publisher(&bus, Some(state.clone())).await;
    gw.outbox.publish(battery(2));
    eventually(&client, second, "/DeviceInstance", ZValue::I32(5)).await;
    eventually(&client, second, "/CustomName", ZValue::from("Galley")).await;
    gw.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
