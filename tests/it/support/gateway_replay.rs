//! A capture through the whole gateway (core, mapper, bus service) into a private
//! dbus-daemon, and a client reading the services back.

use std::collections::HashMap;
use std::sync::Arc;

use n2k_dbus::can::Micros;
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::{Outbox, Publisher};
use n2k_dbus::driver::Driver;
use n2k_dbus::gateway::{Gateway, GatewayConfig};
use n2k_dbus::logs::{LogReader, Record};
use n2k_dbus::time::CaptureClock;
use n2k_dbus::venus::{MapperConfig, Rules};
use zbus::zvariant::OwnedValue;

use crate::support::private_bus::PrivateBus;

pub const BUS_ITEM: &str = "com.victronenergy.BusItem";

pub type Items = HashMap<String, HashMap<String, OwnedValue>>;

/// The gateway, driven as the daemon drives it, and a publisher over one private
/// bus.
pub struct Rig {
    /// Kept for the rig's life: dropping it stops the bus daemon.
    _bus: PrivateBus,
    pub driver: Driver,
    pub outbox: Arc<Outbox>,
    pub publisher: Publisher,
    pub client: zbus::Connection,
    records: Vec<(Micros, Record)>,
    next: usize,
    /// The replay time of the next record, once the driver's clock gave it.
    next_at: Option<Micros>,
    /// Keep what the gateway sends in [`Rig::sent`] (else it is dropped).
    pub keep_sent: bool,
    pub sent: Vec<n2k_dbus::can::Frame>,
}

/// The records of a capture with the times they are replayed at.
pub fn records(path: &std::path::Path, skip_bad_lines: bool) -> (Vec<(Micros, Record)>, String) {
    let text = std::fs::read(path).expect("capture");
    let mut reader =
        LogReader::new(&text[..], path.display().to_string()).skip_bad_lines(skip_bad_lines);
    let mut clock = CaptureClock::new();
    let mut out = Vec::new();
    while let Some(r) = reader.next_record() {
        let r = r.expect("capture line");
        out.push((clock.time(r.timestamp()), r));
    }
    let iface = reader.interface().unwrap_or("can0").to_owned();
    (out, iface)
}

impl Rig {
    /// A gateway for `path` (not yet replayed), active unless `listen_only`.
    pub async fn new(path: &std::path::Path, listen_only: bool, rules: Rules) -> Rig {
        Rig::with_records(records(path, false), listen_only, rules).await
    }

    /// The same for records already read.
    pub async fn with_records(
        (records, iface): (Vec<(Micros, Record)>, String),
        listen_only: bool,
        rules: Rules,
    ) -> Rig {
        let bus = PrivateBus::start();
        let mut core = CoreConfig::gateway(1001);
        core.listen_only = listen_only;
        let outbox = Arc::new(Outbox::new());
        let gateway = Gateway::new(
            GatewayConfig {
                core,
                mapper: MapperConfig { iface, rules },
                alerts_out: false,
            },
            outbox.clone(),
        );
        let publisher = bus.publisher(None);
        let client = bus.client().await;
        Rig {
            _bus: bus,
            driver: Driver::new(gateway),
            outbox,
            publisher,
            client,
            records,
            next: 0,
            next_at: None,
            keep_sent: false,
            sent: Vec::new(),
        }
    }

    /// The replay time of the last record.
    pub fn end(&self) -> Micros {
        self.records.last().map_or(0, |r| r.0)
    }

    /// The gateway, for its tables and counters.
    pub fn gateway(&self) -> &Gateway {
        self.driver.gateway()
    }

    /// Replays the records up to time `t` (included), runs the timers to `t`, and
    /// carries what the gateway published out on the bus.
    pub async fn run_to(&mut self, t: Micros) {
        while let Some((_, r)) = self.records.get(self.next) {
            let at = *self.next_at.get_or_insert_with(|| self.driver.time_of(r));
            if at > t {
                break;
            }
            self.driver.feed_record_at(at, r);
            self.take_sent();
            self.next += 1;
            self.next_at = None;
        }
        self.driver.advance(t);
        self.take_sent();
        self.flush().await;
    }

    fn take_sent(&mut self) {
        let (frames, _) = super::outputs(&mut self.driver);
        if self.keep_sent {
            self.sent.extend(frames);
        }
    }

    /// Replays everything and ends as `replay --hold` does.
    pub async fn run_all_and_hold(&mut self) {
        let end = self.end();
        self.run_to(end).await;
        self.driver.finish(end);
        self.flush().await;
    }

    pub async fn flush(&mut self) {
        let batch = self.outbox.take();
        self.publisher.flush(batch).await;
    }

    /// The `com.victronenergy.*` device services on the bus (not the bus service).
    pub async fn services(&self) -> Vec<String> {
        device_services(&self.client).await
    }

    /// `GetItems` of `service`.
    pub async fn items(&self, service: &str) -> Items {
        get_items(&self.client, service).await
    }
}

/// Replays the scenario log at `path` through an active gateway, checking each
/// `#=` line at its time; returns the rig.
pub async fn play(path: &std::path::Path) -> Rig {
    let mut rig = Rig::new(path, false, Rules::default()).await;
    let name = path.display();
    let mut cache: std::collections::BTreeMap<String, Items> = Default::default();
    let mut now = -1;
    for (t, c) in checks(path) {
        if t != now {
            rig.run_to(t).await;
            now = t;
            cache.clear();
        }
        match c {
            Check::Services(want) => {
                assert_eq!(rig.services().await, want, "{name} at {t} µs")
            }
            Check::Value {
                service,
                path,
                want,
            } => {
                if !cache.contains_key(&service) {
                    cache.insert(service.clone(), rig.items(&service).await);
                }
                check(
                    &format!("{name} at {t} µs: {service}"),
                    &cache[&service],
                    &path,
                    &want,
                );
            }
        }
    }
    rig
}

/// The `com.victronenergy.*` device services on the bus (not the bus service).
pub async fn device_services(client: &zbus::Connection) -> Vec<String> {
    let dbus = zbus::fdo::DBusProxy::new(client).await.expect("proxy");
    let mut names: Vec<String> = dbus
        .list_names()
        .await
        .expect("ListNames")
        .into_iter()
        .map(|n| n.to_string())
        .filter(|n| n.starts_with("com.victronenergy.") && !n.contains(".vecan."))
        .collect();
    names.sort();
    names
}

/// `GetItems` of `service`.
pub async fn get_items(client: &zbus::Connection, service: &str) -> Items {
    client
        .call_method(Some(service), "/", Some(BUS_ITEM), "GetItems", &())
        .await
        .unwrap_or_else(|e| panic!("GetItems on {service}: {e}"))
        .body()
        .deserialize()
        .expect("a{sa{sv}}")
}

/// What a client reads at `path`: a number, a text, or invalid (`None`).
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Invalid,
    Num(f64),
    Text(String),
}

pub fn read(items: &Items, path: &str) -> Read {
    let Some(item) = items.get(path) else {
        panic!("no path {path} in {:?}", items.keys().collect::<Vec<_>>());
    };
    let v = &item["Value"];
    if let Ok(x) = f64::try_from(v) {
        return Read::Num(x);
    }
    if let Ok(x) = i32::try_from(v) {
        return Read::Num(f64::from(x));
    }
    if let Ok(x) = i64::try_from(v) {
        return Read::Num(x as f64);
    }
    if let Ok(s) = <&str>::try_from(v) {
        return Read::Text(s.to_owned());
    }
    assert_eq!(v.value_signature().to_string(), "ai", "{path}: {v:?}");
    Read::Invalid
}

/// Asserts `path` reads `want` (numbers to 1e-6 relative).
pub fn check(service: &str, items: &Items, path: &str, want: &Read) {
    let got = read(items, path);
    let ok = match (&got, want) {
        (Read::Num(a), Read::Num(b)) => (a - b).abs() <= 1e-6 * b.abs().max(1.0),
        (a, b) => a == b,
    };
    assert!(ok, "{service} {path}: got {got:?}, want {want:?}");
}

/// One `#=` line: at `t` (µs), either the exact service list or one value.
pub enum Check {
    Services(Vec<String>),
    Value {
        service: String,
        path: String,
        want: Read,
    },
}

pub fn checks(path: &std::path::Path) -> Vec<(i64, Check)> {
    let text = std::fs::read_to_string(path).expect("scenario");
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("#= ") else {
            continue;
        };
        let at = |what: &str| format!("{}:{}: {what}", path.display(), n + 1);
        let mut words = rest.splitn(2, ' ');
        let t: f64 = words
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("{}", at("a time")));
        let rest = words.next().unwrap_or("");
        let t = (t * 1e6).round() as i64;
        if let Some(list) = rest.strip_prefix("services") {
            let names = list.split_whitespace().map(str::to_owned).collect();
            out.push((t, Check::Services(names)));
            continue;
        }
        let mut w = rest.splitn(3, ' ');
        let (Some(service), Some(p), Some(v)) = (w.next(), w.next(), w.next()) else {
            panic!("{}", at("<service> <path> <value>"));
        };
        let want = if v == "invalid" {
            Read::Invalid
        } else if let Some(s) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Read::Text(s.to_owned())
        } else {
            Read::Num(v.parse().unwrap_or_else(|_| panic!("{}", at("a number"))))
        };
        out.push((
            t,
            Check::Value {
                service: service.to_owned(),
                path: p.to_owned(),
                want,
            },
        ));
    }
    assert!(!out.is_empty(), "{}: no checks", path.display());
    out
}
