//! Services on a private dbus-daemon, checked with a zbus client of our own and with
//! Debian's `busctl`, `gdbus` and `dbus-send`.

use crate::support::private_bus;
use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use n2k_dbus::dbus::{
    Change, Format, Item, ItemTree, PublishError, Service, ServiceOptions, ServiceSpec, Value,
    WriteRule,
};
use private_bus::PrivateBus;
use zbus::zvariant::OwnedValue;
use zbus::{MatchRule, MessageStream};

const NAME: &str = "com.victronenergy.battery.socketcan_can0_di0_uc1234";
const BUS_ITEM: &str = "com.victronenergy.BusItem";

fn battery(name: &str) -> ServiceSpec {
    let items = ItemTree::new()
        .with("/Mgmt/ProcessName", Item::new("n2k-dbus"))
        .and_then(|t| t.with("/Mgmt/Connection", Item::new("NMEA 2000")))
        .and_then(|t| t.with("/DeviceInstance", Item::new(0)))
        .and_then(|t| t.with("/ProductId", Item::new(0xA3E5).with_format(Format::Hex)))
        .and_then(|t| t.with("/ProductName", Item::new("Battery monitor")))
        .and_then(|t| {
            t.with(
                "/CustomName",
                Item::new("").writable(WriteRule::Text { max_chars: 32 }),
            )
        })
        .and_then(|t| t.with("/Dc/0/Voltage", Item::measured(12.63, 2, "V")))
        .and_then(|t| t.with("/Dc/0/Current", Item::measured(-1.5, 1, "A")))
        .and_then(|t| t.with("/Dc/0/Temperature", Item::measured(Value::Invalid, 1, "C")))
        .and_then(|t| t.with("/Dc/1/Voltage", Item::measured(12.1, 2, "V")))
        .and_then(|t| {
            t.with(
                "/Soc",
                Item::measured(85.0, 1, "%")
                    .writable(WriteRule::Real)
                    .with_range(0, 100)
                    .with_default(50.0),
            )
        })
        .and_then(|t| t.with("/History/List", Item::new(Value::EmptyList)))
        .expect("valid tree");
    ServiceSpec::new(name, items)
}

async fn call(conn: &zbus::Connection, path: &str, method: &str) -> zbus::Result<zbus::Message> {
    conn.call_method(Some(NAME), path, Some(BUS_ITEM), method, &())
        .await
}

/// The variant a BusItem method answers.
async fn variant(conn: &zbus::Connection, path: &str, method: &str) -> OwnedValue {
    call(conn, path, method)
        .await
        .unwrap_or_else(|e| panic!("{path} {method}: {e}"))
        .body()
        .deserialize()
        .expect("a variant")
}

type Items = HashMap<String, HashMap<String, OwnedValue>>;

#[tokio::test]
async fn get_items_carries_every_path_with_value_and_text() {
    let bus = PrivateBus::start();
    let service = Service::publish(&bus.bus(), battery(NAME), ServiceOptions::default())
        .await
        .expect("published");
    let client = bus.client().await;

    let reply = call(&client, "/", "GetItems").await.expect("GetItems");
    assert_eq!(reply.body().signature().to_string(), "a{sa{sv}}");
    let items: Items = reply.body().deserialize().expect("a{sa{sv}}");
    assert_eq!(items.len(), 12);
    let volt = &items["/Dc/0/Voltage"];
    assert_eq!(f64::try_from(&volt["Value"]).ok(), Some(12.63));
    assert_eq!(<&str>::try_from(&volt["Text"]).ok(), Some("12.63V"));
    // Invalid is an empty array of int32, its text `---`; a valid empty list is `au`.
    let temp = &items["/Dc/0/Temperature"];
    assert_eq!(temp["Value"].value_signature().to_string(), "ai");
    assert_eq!(<&str>::try_from(&temp["Text"]).ok(), Some("---"));
    assert_eq!(
        items["/History/List"]["Value"]
            .value_signature()
            .to_string(),
        "au"
    );
    assert_eq!(
        <&str>::try_from(&items["/ProductId"]["Text"]).ok(),
        Some("0xA3E5")
    );
    assert_eq!(
        i32::try_from(&items["/DeviceInstance"]["Value"]).ok(),
        Some(0)
    );
    // Min and Max only where defined.
    assert_eq!(
        items["/Soc"]
            .keys()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>(),
        ["Max", "Min", "Text", "Value"].into_iter().collect()
    );
    assert_eq!(items["/Dc/0/Voltage"].len(), 2);

    // Subtree GetValue and GetText: relative keys, no leading slash.
    let dc: HashMap<String, OwnedValue> =
        HashMap::try_from(variant(&client, "/Dc", "GetValue").await).expect("a dictionary");
    let mut keys: Vec<_> = dc.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["0/Current", "0/Temperature", "0/Voltage", "1/Voltage"]
    );
    let root: HashMap<String, OwnedValue> =
        HashMap::try_from(variant(&client, "/", "GetValue").await).expect("a dictionary");
    assert_eq!(root.len(), 12);
    assert!(root.contains_key("Dc/0/Voltage") && !root.contains_key("/Dc/0/Voltage"));
    let texts: HashMap<String, String> =
        HashMap::try_from(variant(&client, "/Dc/0", "GetText").await).expect("a dictionary");
    assert_eq!(texts["Current"], "-1.5A");
    assert_eq!(texts["Temperature"], "---");

    // Leaves.
    let v = variant(&client, "/Dc/0/Current", "GetValue").await;
    assert_eq!(f64::try_from(&v).ok(), Some(-1.5));
    let t: String = call(&client, "/Dc/0/Current", "GetText")
        .await
        .expect("leaf")
        .body()
        .deserialize()
        .expect("s");
    assert_eq!(t, "-1.5A");
    let min = variant(&client, "/Soc", "GetMin").await;
    assert_eq!(i32::try_from(&min).ok(), Some(0));
    let default = variant(&client, "/Soc", "GetDefault").await;
    assert_eq!(f64::try_from(&default).ok(), Some(50.0));

    // Errors by name.
    for (path, method, error) in [
        ("/Dc/0/Nope", "GetValue", "UnknownObject"),
        ("/Dc/0/Voltage", "GetMin", "UnknownMethod"),
        ("/Dc", "GetItems", "UnknownMethod"),
    ] {
        let err = call(&client, path, method).await.expect_err("an error");
        let want = format!("org.freedesktop.DBus.Error.{error}");
        assert!(
            matches!(&err, zbus::Error::MethodError(n, _, _) if n.as_str() == want),
            "{path} {method}: {err:?}"
        );
    }
    service.withdraw().await;
}

#[tokio::test]
async fn debian_clients_read_the_service() {
    let bus = PrivateBus::start();
    let service = Service::publish(&bus.bus(), battery(NAME), ServiceOptions::default())
        .await
        .expect("published");
    let addr = format!("--address={}", bus.address);

    // busctl shows the D-Bus types: GetItems is a{sa{sv}}, invalid is `ai 0`.
    let items = bus
        .stdout("busctl", &[&addr, "call", NAME, "/", BUS_ITEM, "GetItems"])
        .await;
    assert!(items.starts_with("a{sa{sv}} 12 "), "{items}");
    assert!(
        items.contains("\"/Dc/0/Temperature\" 2 \"Text\" s \"---\" \"Value\" ai 0"),
        "{items}"
    );
    assert!(
        items.contains("\"/Dc/0/Voltage\" 2 \"Text\" s \"12.63V\" \"Value\" d 12.63"),
        "{items}"
    );
    let leaf = bus
        .stdout(
            "busctl",
            &[
                &addr,
                "call",
                NAME,
                "/Dc/0/Temperature",
                BUS_ITEM,
                "GetValue",
            ],
        )
        .await;
    assert_eq!(leaf.trim(), "v ai 0");

    // busctl tree walks Introspect through every node.
    let tree = bus.stdout("busctl", &[&addr, "tree", "--list", NAME]).await;
    let paths: Vec<&str> = tree.lines().map(str::trim).collect();
    for p in [
        "/",
        "/Dc",
        "/Dc/0",
        "/Dc/0/Voltage",
        "/Dc/1/Voltage",
        "/Mgmt",
        "/Soc",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    assert_eq!(paths.len(), 12 + 6, "12 leaves, / and 5 nodes: {paths:?}");

    // gdbus introspection of root, node and leaf.
    let root = gdbus(&bus, "/").await;
    assert!(root.contains("GetItems(out a{sa{sv}} arg_0);"), "{root}");
    assert!(root.contains("ItemsChanged(a{sa{sv}} changes);"), "{root}");
    assert!(
        root.contains("node Dc {") || root.contains("node Dc"),
        "{root}"
    );
    let node = gdbus(&bus, "/Dc/0").await;
    assert!(
        node.contains("GetValue(out v arg_0);") && !node.contains("SetValue"),
        "{node}"
    );
    assert!(
        node.contains("node Voltage") && node.contains("node Current"),
        "{node}"
    );
    let leaf = gdbus(&bus, "/Dc/0/Voltage").await;
    assert!(
        leaf.contains("SetValue(in  v newvalue,") || leaf.contains("SetValue(in v newvalue"),
        "{leaf}"
    );
    assert!(leaf.contains("GetText(out s arg_0);"), "{leaf}");

    // gdbus calls: SetValue codes.
    assert_eq!(set(&bus, "/CustomName", "<'Port battery'>").await, "(0,)");
    assert_eq!(
        set(&bus, "/CustomName", "<'Port battery'>").await,
        "(0,)",
        "unchanged"
    );
    assert_eq!(set(&bus, "/CustomName", "<5>").await, "(1,)", "wrong type");
    // Whatever a client sends, the answer is a code, never a crash.
    for odd in [
        "<(1, 'a')>",
        "<{'a': <1>}>",
        "<[1, 2]>",
        "<<<5>>>",
        "<objectpath '/x'>",
    ] {
        assert_eq!(set(&bus, "/CustomName", odd).await, "(1,)", "{odd}");
    }
    assert_eq!(
        set(&bus, "/CustomName", "<<'Port battery'>>").await,
        "(0,)",
        "a nested variant is unwrapped"
    );
    let long = format!("<'{}'>", "x".repeat(33));
    assert_eq!(set(&bus, "/CustomName", &long).await, "(2,)", "too long");
    assert_eq!(
        set(&bus, "/Dc/0/Voltage", "<13.0>").await,
        "(1,)",
        "read-only"
    );
    assert_eq!(set(&bus, "/Soc", "<101.0>").await, "(2,)", "out of range");
    assert_eq!(set(&bus, "/Soc", "<int32 40>").await, "(0,)");
    assert_eq!(
        set(&bus, "/Soc", "<@ai []>").await,
        "(0,)",
        "invalid accepted"
    );

    // dbus-send reads the stored values back and names the errors.
    let name = bus
        .stdout(
            "dbus-send",
            &[
                "--session",
                "--print-reply",
                &format!("--dest={NAME}"),
                "/CustomName",
                &format!("{BUS_ITEM}.GetValue"),
            ],
        )
        .await;
    assert!(
        name.contains("variant       string \"Port battery\""),
        "{name}"
    );
    let soc = service.items().get("/Soc").map(|i| i.value.clone());
    assert_eq!(soc, Some(Value::Invalid));
    let err = bus
        .run(
            "dbus-send",
            &[
                "--session",
                "--print-reply",
                &format!("--dest={NAME}"),
                "/Nope",
                &format!("{BUS_ITEM}.GetValue"),
            ],
        )
        .await;
    assert!(!err.status.success());
    assert!(
        String::from_utf8_lossy(&err.stderr).contains("org.freedesktop.DBus.Error.UnknownObject"),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
    let ping = bus
        .run(
            "dbus-send",
            &[
                "--session",
                "--print-reply",
                &format!("--dest={NAME}"),
                "/",
                "org.freedesktop.DBus.Peer.Ping",
            ],
        )
        .await;
    assert!(ping.status.success());
    service.withdraw().await;
}

async fn gdbus(bus: &PrivateBus, path: &str) -> String {
    bus.stdout(
        "gdbus",
        &[
            "introspect",
            "--address",
            &bus.address,
            "--dest",
            NAME,
            "--object-path",
            path,
        ],
    )
    .await
}

async fn set(bus: &PrivateBus, path: &str, value: &str) -> String {
    let method = format!("{BUS_ITEM}.SetValue");
    bus.stdout(
        "gdbus",
        &[
            "call",
            "--address",
            &bus.address,
            "--dest",
            NAME,
            "--object-path",
            path,
            "--method",
            &method,
            value,
        ],
    )
    .await
    .trim()
    .to_owned()
}

#[tokio::test]
async fn updates_leave_as_one_items_changed_with_only_the_changes() {
    let bus = PrivateBus::start();
    let options = ServiceOptions {
        properties_changed: true,
        ..Default::default()
    };
    let service = Service::publish(&bus.bus(), battery(NAME), options)
        .await
        .expect("published");
    let owner = service.unique_name().expect("unique name");
    let client = bus.client().await;
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(owner.as_str())
        .and_then(|b| b.interface(BUS_ITEM))
        .expect("rule")
        .build();
    let mut signals = MessageStream::for_match_rule(rule, &client, Some(64))
        .await
        .expect("match");

    let carried = service
        .apply(vec![
            Change::Set("/Dc/0/Voltage".into(), Value::Real(12.70)),
            Change::Set("/Dc/0/Current".into(), Value::Real(-1.5)), // unchanged
            Change::Set("/Dc/0/Temperature".into(), Value::Real(21.5)),
            Change::Set("/Not/There".into(), Value::Real(1.0)), // ignored
        ])
        .await
        .expect("apply");
    assert_eq!(carried, 2);
    let mut items_changed = Vec::new();
    let mut props = Vec::new();
    while let Ok(Some(Ok(msg))) =
        tokio::time::timeout(Duration::from_millis(300), signals.next()).await
    {
        let h = msg.header();
        match h.member().map(|m| m.as_str()) {
            Some("ItemsChanged") => {
                assert_eq!(h.path().map(|p| p.as_str()), Some("/"));
                assert_eq!(msg.body().signature().to_string(), "a{sa{sv}}");
                items_changed.push(msg.body().deserialize::<Items>().expect("body"));
            }
            Some("PropertiesChanged") => {
                props.push(h.path().map(|p| p.to_string()).unwrap_or_default())
            }
            other => panic!("unexpected signal {other:?}"),
        }
    }
    assert_eq!(items_changed.len(), 1, "one ItemsChanged per flush");
    let changed = &items_changed[0];
    let mut keys: Vec<_> = changed.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["/Dc/0/Temperature", "/Dc/0/Voltage"]);
    assert_eq!(
        f64::try_from(&changed["/Dc/0/Temperature"]["Value"]).ok(),
        Some(21.5)
    );
    assert_eq!(
        <&str>::try_from(&changed["/Dc/0/Temperature"]["Text"]).ok(),
        Some("21.5C")
    );
    props.sort();
    assert_eq!(props, ["/Dc/0/Temperature", "/Dc/0/Voltage"]);

    // A new path appears through the same signal and in GetItems.
    let carried = service
        .apply(vec![Change::Insert(
            "/Dc/2/Voltage".into(),
            Item::measured(3.3, 2, "V"),
        )])
        .await
        .expect("insert");
    assert_eq!(carried, 1);
    let items: Items = call(&client, "/", "GetItems")
        .await
        .expect("GetItems")
        .body()
        .deserialize()
        .expect("items");
    assert!(items.contains_key("/Dc/2/Voltage"));
    service.withdraw().await;
}

#[tokio::test]
async fn withdraw_and_name_taken() {
    let bus = PrivateBus::start();
    let client = bus.client().await;
    let dbus = zbus::fdo::DBusProxy::new(&client).await.expect("proxy");
    let mut owners = dbus
        .receive_name_owner_changed_with_args(&[(0, NAME)])
        .await
        .expect("NameOwnerChanged");

    let first = Service::publish(&bus.bus(), battery(NAME), ServiceOptions::default())
        .await
        .expect("published");
    let appeared = owners.next().await.expect("signal");
    let args = appeared.args().expect("args");
    assert_eq!(args.old_owner().as_ref().map(|o| o.to_string()), None);
    assert_eq!(
        args.new_owner().as_ref().map(|o| o.to_string()),
        first.unique_name()
    );

    // A second service under the same name is an error, not a queue entry.
    let second = Service::publish(&bus.bus(), battery(NAME), ServiceOptions::default()).await;
    assert!(
        matches!(second, Err(PublishError::NameTaken(ref n)) if n == NAME),
        "{:?}",
        second.err()
    );
    // The first one is untouched.
    let v = variant(&client, "/Dc/0/Voltage", "GetValue").await;
    assert_eq!(f64::try_from(&v).ok(), Some(12.63));

    let owner = first.unique_name();
    first.withdraw().await;
    let gone = tokio::time::timeout(Duration::from_secs(2), owners.next())
        .await
        .expect("in time")
        .expect("signal");
    let args = gone.args().expect("args");
    assert_eq!(args.old_owner().as_ref().map(|o| o.to_string()), owner);
    assert_eq!(args.new_owner().as_ref().map(|o| o.to_string()), None);
    assert!(!dbus
        .name_has_owner(NAME.try_into().expect("name"))
        .await
        .expect("query"));

    let bad = Service::publish(
        &bus.bus(),
        battery("com.victronenergy.battery.0bad"),
        ServiceOptions::default(),
    )
    .await;
    assert!(matches!(bad, Err(PublishError::BadName(_))));
}

#[tokio::test]
async fn sixty_services_from_one_process() {
    let bus = PrivateBus::start();
    let names: Vec<String> = (0..60)
        .map(|i| format!("com.victronenergy.tank.socketcan_can0_di{i}_uc{}", 1000 + i))
        .collect();
    let target = bus.bus();
    let publishes = names
        .iter()
        .map(|n| Service::publish(&target, battery(n), ServiceOptions::default()));
    let services: Vec<Service> = futures_util::future::join_all(publishes)
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("all published");
    let client = bus.client().await;
    let dbus = zbus::fdo::DBusProxy::new(&client).await.expect("proxy");
    let listed: Vec<String> = dbus
        .list_names()
        .await
        .expect("ListNames")
        .into_iter()
        .map(|n| n.to_string())
        .filter(|n| n.starts_with("com.victronenergy."))
        .collect();
    assert_eq!(listed.len(), 60);
    // Each name has its own connection.
    let mut owners = std::collections::BTreeSet::new();
    for n in &names {
        let owner = dbus
            .get_name_owner(n.as_str().try_into().expect("name"))
            .await
            .expect("owner");
        owners.insert(owner.to_string());
        let v: OwnedValue = client
            .call_method(
                Some(n.as_str()),
                "/Dc/0/Voltage",
                Some(BUS_ITEM),
                "GetValue",
                &(),
            )
            .await
            .expect("served")
            .body()
            .deserialize()
            .expect("v");
        assert_eq!(f64::try_from(&v).ok(), Some(12.63));
    }
    assert_eq!(owners.len(), 60);
    for s in services {
        s.withdraw().await;
    }
    let left = dbus
        .list_names()
        .await
        .expect("ListNames")
        .into_iter()
        .filter(|n| n.starts_with("com.victronenergy."))
        .count();
    assert_eq!(left, 0);
}
