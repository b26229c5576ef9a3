//! Other processes' Venus services, watched as a Venus client watches them: the
//! names on the bus and `NameOwnerChanged`, each service read whole once with
//! `GetItems` when it appears, then its `ItemsChanged` (and per-path
//! `PropertiesChanged` of older services) — never polled. What it sees goes to
//! NMEA 2000-out ([`crate::export`]) as [`ServiceInput`]s. The broker sends it the
//! signals of the watched services only (a match rule per service's connection), not
//! every service's: on a GX the broker is the bottleneck.
//!
//! It also follows Venus's switch for NMEA 2000-out on our interface,
//! `/Settings/Vecan/<if>/N2kGatewayEnabled` (bit 0), and whether Victron's own
//! vecan-dbus runs on the interface (then Victron's NMEA 2000-out is the one to use).

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use zbus::fdo::DBusProxy;
use zbus::zvariant::OwnedValue;
use zbus::{Connection, MatchRule, MessageStream};

use super::bus::Bus;
use super::service::BUS_ITEM;
use super::settings::SETTINGS;
use crate::export::ServiceInput;
use crate::model::Value;

/// How long reading a service may take before it is ignored.
const READ_TIMEOUT: Duration = Duration::from_secs(3);
/// Our own `/Mgmt/ProcessName`.
const OURS: &str = "n2k-dbus";

/// What the watcher reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    /// A service appeared, changed or left.
    Service(ServiceInput),
    /// `N2kGatewayEnabled` of our interface (`None`: no settings service, or no
    /// such setting).
    Setting(Option<i64>),
    /// Whether another process (vecan-dbus) publishes our interface's bus service.
    VecanDbus(bool),
}

/// Signals kept for the watcher at most while it reads a service; beyond, they are
/// dropped and counted (the connection's reader must never wait for the watcher, or
/// the replies it waits for would never come).
const SIGNAL_QUEUE: usize = 4096;
const DBUS: &str = "org.freedesktop.DBus";

/// Watches the services whose names `wanted` accepts.
pub struct Watcher {
    conn: Connection,
    /// `NameOwnerChanged` and the followed services' BusItem signals, in order.
    signals: mpsc::Receiver<zbus::Message>,
    wanted: fn(&str) -> bool,
    /// Service → its owner's unique connection name.
    owner: BTreeMap<String, String>,
    setting_path: String,
    vecan_name: String,
    settings_owner: Option<String>,
}

impl Watcher {
    /// Connects to `bus`, following from now on the services `wanted` accepts and
    /// the switch of interface `iface`.
    pub async fn connect(
        bus: &Bus,
        iface: &str,
        wanted: fn(&str) -> bool,
    ) -> zbus::Result<Watcher> {
        let conn = bus.connect().await?;
        // Every message the connection receives, drained at once by a task of its own;
        // the match rules below (and one per followed service) decide which signals
        // the broker sends.
        let signals = forward(MessageStream::from(&conn));
        let proxy = DBusProxy::new(&conn).await?;
        let element = crate::venus::identity::bus_element(iface);
        let setting_path = format!("/Settings/Vecan/{element}/N2kGatewayEnabled");
        let owners = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(DBUS)?
            .interface(DBUS)?
            .member("NameOwnerChanged")?
            .build();
        for rule in [
            owners,
            signals_of(SETTINGS)?.path(setting_path.as_str())?.build(),
            signals_of(SETTINGS)?.member("ItemsChanged")?.build(),
        ] {
            proxy.add_match_rule(rule).await?;
        }
        Ok(Watcher {
            conn,
            signals,
            wanted,
            owner: BTreeMap::new(),
            setting_path,
            vecan_name: format!("com.victronenergy.vecan.{element}"),
            settings_owner: None,
        })
    }

    /// Everything on the bus now: the switch, vecan-dbus, and every wanted service
    /// read whole.
    pub async fn scan(&mut self) -> Vec<Watched> {
        let mut out = vec![Watched::Setting(self.read_setting().await)];
        let proxy = DBusProxy::new(&self.conn).await;
        if let Ok(p) = &proxy {
            if let Ok(owner) = p
                .get_name_owner(SETTINGS.try_into().expect("a well-known name"))
                .await
            {
                self.settings_owner = Some(owner.to_string());
            }
        }
        out.push(Watched::VecanDbus(self.vecan_is_other().await));
        let names = match proxy {
            Ok(p) => p.list_names().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        for name in names {
            let name = name.to_string();
            if (self.wanted)(&name) {
                if let Some(w) = self.appeared(name).await {
                    out.push(w);
                }
            }
        }
        out
    }

    /// The next change; pending forever once the connection is gone.
    pub async fn next(&mut self) -> Watched {
        while let Some(m) = self.signals.recv().await {
            let h = m.header();
            let owner_changed = h.interface().is_some_and(|i| i.as_str() == DBUS)
                && h.member().is_some_and(|n| n.as_str() == "NameOwnerChanged");
            let w = if owner_changed {
                match m.body().deserialize::<(String, String, String)>() {
                    Ok((name, _, new)) => self.owner_changed(name, new).await,
                    Err(_) => None,
                }
            } else {
                self.on_signal(&m)
            };
            if let Some(w) = w {
                return w;
            }
        }
        std::future::pending().await
    }

    /// `name` has a new owner (`new`; empty: none).
    async fn owner_changed(&mut self, name: String, new: String) -> Option<Watched> {
        if name == SETTINGS {
            self.settings_owner = (!new.is_empty()).then_some(new);
            return Some(Watched::Setting(self.read_setting().await));
        }
        if name == self.vecan_name {
            return Some(Watched::VecanDbus(self.vecan_is_other().await));
        }
        if !(self.wanted)(&name) {
            return None;
        }
        if !new.is_empty() {
            self.appeared(name).await
        } else if let Some(owner) = self.owner.remove(&name) {
            self.unfollow(&owner).await;
            Some(Watched::Service(ServiceInput::Left { service: name }))
        } else {
            None
        }
    }

    fn on_signal(&mut self, m: &zbus::Message) -> Option<Watched> {
        let h = m.header();
        let sender = h.sender()?.to_string();
        let member = h.member()?.to_string();
        if self.settings_owner.as_deref() == Some(sender.as_str()) {
            // localsettings: one PropertiesChanged per setting (or ItemsChanged).
            let path = h.path()?.to_string();
            return match member.as_str() {
                "PropertiesChanged" if path == self.setting_path => {
                    let props = m
                        .body()
                        .deserialize::<BTreeMap<String, OwnedValue>>()
                        .ok()?;
                    Some(Watched::Setting(props.get("Value").and_then(integer)))
                }
                "ItemsChanged" => {
                    let items = m
                        .body()
                        .deserialize::<BTreeMap<String, BTreeMap<String, OwnedValue>>>()
                        .ok()?;
                    let v = items.get(&self.setting_path)?.get("Value");
                    Some(Watched::Setting(v.and_then(integer)))
                }
                _ => None,
            };
        }
        let service = self
            .owner
            .iter()
            .find(|(_, o)| **o == sender)
            .map(|(s, _)| s.clone())?;
        let items = match member.as_str() {
            "ItemsChanged" => m
                .body()
                .deserialize::<BTreeMap<String, BTreeMap<String, OwnedValue>>>()
                .ok()?
                .into_iter()
                .filter_map(|(path, mut props)| Some((path, value(&props.remove("Value")?))))
                .collect(),
            "PropertiesChanged" => {
                let path = h.path()?.to_string();
                let mut props = m
                    .body()
                    .deserialize::<BTreeMap<String, OwnedValue>>()
                    .ok()?;
                vec![(path, value(&props.remove("Value")?))]
            }
            _ => return None,
        };
        Some(Watched::Service(ServiceInput::Changed { service, items }))
    }

    async fn appeared(&mut self, name: String) -> Option<Watched> {
        let proxy = DBusProxy::new(&self.conn).await.ok()?;
        let owner = proxy
            .get_name_owner(name.as_str().try_into().ok()?)
            .await
            .ok()?
            .to_string();
        // Its signals from now on, then its values: no change between is lost.
        if let Err(e) = self.follow(&owner, &proxy).await {
            tracing::warn!(service = %name, "n2k-out: cannot follow its changes: {e}");
            return None;
        }
        let call = self
            .conn
            .call_method(Some(name.as_str()), "/", Some(BUS_ITEM), "GetItems", &());
        let read = tokio::time::timeout(READ_TIMEOUT, call).await;
        let items = match read.map(|r| {
            r.and_then(|m| {
                m.body()
                    .deserialize::<BTreeMap<String, BTreeMap<String, OwnedValue>>>()
            })
        }) {
            Ok(Ok(items)) => items,
            Ok(Err(e)) => {
                tracing::debug!(service = %name, "n2k-out: cannot read it: {e}");
                self.unfollow(&owner).await;
                return None;
            }
            Err(_) => {
                tracing::warn!(service = %name, "n2k-out: no answer to GetItems within {READ_TIMEOUT:?}; ignored");
                self.unfollow(&owner).await;
                return None;
            }
        };
        let items: Vec<(String, Value)> = items
            .into_iter()
            .filter_map(|(path, mut props)| Some((path, value(&props.remove("Value")?))))
            .collect();
        self.owner.insert(name.clone(), owner);
        Some(Watched::Service(ServiceInput::Appeared {
            service: name,
            items,
        }))
    }

    /// Asks the broker for the BusItem signals of connection `owner`.
    async fn follow(&self, owner: &str, proxy: &DBusProxy<'_>) -> zbus::Result<()> {
        let rule = signals_of(owner)?.build();
        Ok(proxy.add_match_rule(rule).await?)
    }

    /// No more signals of `owner` (it left, or could not be read).
    async fn unfollow(&self, owner: &str) {
        if let (Ok(proxy), Ok(rule)) = (DBusProxy::new(&self.conn).await, signals_of(owner)) {
            let _ = proxy.remove_match_rule(rule.build()).await;
        }
    }

    async fn read_setting(&self) -> Option<i64> {
        let call = self.conn.call_method(
            Some(SETTINGS),
            self.setting_path.as_str(),
            Some(BUS_ITEM),
            "GetValue",
            &(),
        );
        let reply = tokio::time::timeout(READ_TIMEOUT, call).await.ok()?.ok()?;
        integer(&reply.body().deserialize::<OwnedValue>().ok()?)
    }

    /// Whether our interface's bus service belongs to another process.
    async fn vecan_is_other(&self) -> bool {
        let call = self.conn.call_method(
            Some(self.vecan_name.as_str()),
            "/Mgmt/ProcessName",
            Some(BUS_ITEM),
            "GetValue",
            &(),
        );
        match tokio::time::timeout(READ_TIMEOUT, call).await {
            Ok(Ok(reply)) => match reply.body().deserialize::<OwnedValue>() {
                Ok(v) => value(&v) != Value::Text(OURS.into()),
                Err(_) => true,
            },
            _ => false,
        }
    }
}

/// Runs a watcher for `iface` on `bus`, sending what it sees to the returned
/// channel; a message on `rescan` makes it read everything again (a new gateway
/// after a link loss needs the whole picture).
pub fn spawn(
    bus: Bus,
    iface: String,
    wanted: fn(&str) -> bool,
) -> (mpsc::Receiver<Watched>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel(256);
    let (rescan_tx, mut rescan) = mpsc::channel::<()>(4);
    tokio::spawn(async move {
        let mut w = match Watcher::connect(&bus, &iface, wanted).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!("n2k-out: cannot watch the {bus} bus: {e}; nothing is exported");
                return;
            }
        };
        for x in w.scan().await {
            if tx.send(x).await.is_err() {
                return;
            }
        }
        loop {
            let x = tokio::select! {
                x = w.next() => vec![x],
                Some(()) = rescan.recv() => w.scan().await,
            };
            for x in x {
                if tx.send(x).await.is_err() {
                    return;
                }
            }
        }
    });
    (rx, rescan_tx)
}

/// Drains `all` into a channel of the signals the watcher reads (NameOwnerChanged,
/// BusItem), so that zbus's reader never waits: a signal that finds the channel full
/// is dropped and counted.
fn forward(mut all: MessageStream) -> mpsc::Receiver<zbus::Message> {
    let (tx, rx) = mpsc::channel(SIGNAL_QUEUE);
    tokio::spawn(async move {
        let mut dropped = 0u64;
        while let Some(m) = all.next().await {
            let Ok(m) = m else { continue };
            if m.message_type() != zbus::message::Type::Signal {
                continue;
            }
            let ours = m
                .header()
                .interface()
                .is_some_and(|i| i.as_str() == BUS_ITEM || i.as_str() == DBUS);
            if !ours {
                continue;
            }
            match tx.try_send(m) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Closed(_)) => break,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped += 1;
                    if dropped.is_power_of_two() {
                        tracing::warn!(
                            dropped,
                            "n2k-out: D-Bus signals dropped while the watcher was busy"
                        );
                    }
                }
            }
        }
    });
    rx
}

/// A match rule for the BusItem signals of `sender`.
fn signals_of(sender: &str) -> zbus::Result<zbus::match_rule::Builder<'_>> {
    MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(sender)?
        .interface(BUS_ITEM)
}

fn value(v: &OwnedValue) -> Value {
    Value::from_variant(v).unwrap_or(Value::Invalid)
}

fn integer(v: &OwnedValue) -> Option<i64> {
    match value(v) {
        Value::Int(i) => Some(i),
        Value::Real(r) if r.fract() == 0.0 => Some(r as i64),
        _ => None,
    }
}
