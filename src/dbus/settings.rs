//! VRM instances and custom names: from `com.victronenergy.settings` where it runs,
//! from the gateway's own state file where it does not.
//!
//! With the settings service, each device service has
//! `/Settings/Devices/<uid>/ClassAndVrmInstance` (`"<class>:<n>"`, kept unique per
//! class by localsettings) and `/Settings/Devices/<uid>/CustomName`; both are
//! followed when a user changes them (`docs/architecture.md#instances-and-names`). Without it, the same
//! rules are kept here and the values persist in the state file, so instances stay
//! stable across restarts either way. A settings service that appears later is
//! picked up: our values become its defaults, and its values win from then on.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use futures_util::StreamExt;
use zbus::fdo::{DBusProxy, NameOwnerChangedStream};
use zbus::zvariant::{self, OwnedValue};
use zbus::{Connection, MatchRule, MessageStream};

use super::bus::Bus;
use super::service::BUS_ITEM;
use crate::model::{DeviceSettings, WriteRefusal};
use crate::state::State;

/// The settings service's well-known name.
pub const SETTINGS: &str = "com.victronenergy.settings";
const DEVICES: &str = "/Settings/Devices";
const INSTANCE_PREFIX: &str = "instance.";
const NAME_PREFIX: &str = "custom_name.";

/// The instance and name a device service gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub instance: u32,
    pub custom_name: String,
}

/// Something the settings side reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsEvent {
    /// The settings service started: every device should be registered again.
    Appeared,
    /// The settings service stopped; the local store takes over.
    Vanished,
    /// A user changed a device's VRM instance.
    Instance { uid: String, instance: u32 },
    /// A user changed a device's custom name.
    CustomName { uid: String, name: String },
}

/// The settings of every device service of the gateway.
pub struct Settings {
    conn: Connection,
    remote: bool,
    owners: NameOwnerChangedStream,
    changes: MessageStream,
    local: Local,
}

/// What the gateway keeps itself: the same uniqueness rule as localsettings.
#[derive(Debug, Default)]
struct Local {
    path: Option<PathBuf>,
    instances: BTreeMap<String, (String, u32)>,
    names: BTreeMap<String, String>,
}

impl Settings {
    /// Connects to `bus`; `state` is the state file that holds the local values.
    pub async fn connect(bus: &Bus, state: Option<PathBuf>) -> zbus::Result<Settings> {
        let conn = bus.connect().await?;
        let dbus = DBusProxy::new(&conn).await?;
        let owners = dbus
            .receive_name_owner_changed_with_args(&[(0, SETTINGS)])
            .await?;
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(SETTINGS)?
            .interface(BUS_ITEM)?
            .member("PropertiesChanged")?
            .path_namespace(DEVICES)?
            .build();
        let changes = MessageStream::for_match_rule(rule, &conn, Some(256)).await?;
        let remote = dbus.name_has_owner(SETTINGS.try_into()?).await?;
        let local = Local::load(state);
        Ok(Settings {
            conn,
            remote,
            owners,
            changes,
            local,
        })
    }

    /// The instance and name of `dev`, creating its settings where they do not exist.
    pub async fn register(&mut self, dev: &DeviceSettings) -> Assigned {
        if self.remote {
            match self.add_settings(dev).await {
                Ok(a) => {
                    self.local.remember(dev, &a);
                    return a;
                }
                Err(e) => {
                    tracing::warn!(uid = %dev.uid, "settings service: {e}; using local values")
                }
            }
        }
        let a = self.local.assign(dev);
        self.local.save();
        a
    }

    async fn add_settings(&self, dev: &DeviceSettings) -> zbus::Result<Assigned> {
        // Our current values are the defaults, so a settings service that appears
        // later keeps what users saw so far.
        let instance = self
            .local
            .instances
            .get(&dev.uid)
            .map_or(dev.preferred_instance, |(_, n)| *n);
        let name = self.local.names.get(&dev.uid).cloned().unwrap_or_default();
        let class_instance = format!("{}:{instance}", dev.class);
        let defs: Vec<HashMap<&str, zvariant::Value<'_>>> = vec![
            HashMap::from([
                (
                    "path",
                    zvariant::Value::from(format!("{}/ClassAndVrmInstance", dev.uid)),
                ),
                ("default", zvariant::Value::from(class_instance)),
            ]),
            HashMap::from([
                (
                    "path",
                    zvariant::Value::from(format!("{}/CustomName", dev.uid)),
                ),
                ("default", zvariant::Value::from(name.clone())),
            ]),
        ];
        let reply = self
            .conn
            .call_method(
                Some(SETTINGS),
                DEVICES,
                Some("com.victronenergy.Settings"),
                "AddSettings",
                &(defs,),
            )
            .await?;
        let entries: Vec<HashMap<String, OwnedValue>> = reply.body().deserialize()?;
        let mut got = Assigned {
            instance,
            custom_name: name,
        };
        for e in &entries {
            let path = e
                .get("path")
                .and_then(|v| <&str>::try_from(v).ok())
                .unwrap_or("");
            let error = e
                .get("error")
                .and_then(|v| i32::try_from(v).ok())
                .unwrap_or(-1);
            let value = e.get("value").and_then(|v| <&str>::try_from(v).ok());
            match (error, value) {
                (0, Some(v)) if path.ends_with("/ClassAndVrmInstance") => {
                    if let Some(n) = parse_class_instance(v) {
                        got.instance = n;
                    }
                }
                (0, Some(v)) if path.ends_with("/CustomName") => got.custom_name = v.to_owned(),
                (err, _) => tracing::warn!(uid = %dev.uid, path, err, "AddSettings refused"),
            }
        }
        Ok(got)
    }

    /// Stores a new custom name; `Err` says why it could not be stored.
    pub async fn set_custom_name(
        &mut self,
        dev: &DeviceSettings,
        name: &str,
    ) -> Result<(), WriteRefusal> {
        if self.remote {
            let path = format!("{DEVICES}/{}/CustomName", dev.uid);
            let code: i32 = self
                .conn
                .call_method(
                    Some(SETTINGS),
                    path.as_str(),
                    Some(BUS_ITEM),
                    "SetValue",
                    &zvariant::Value::from(name),
                )
                .await
                .and_then(|m| m.body().deserialize())
                .map_err(|e| WriteRefusal::SettingsUnreachable(e.to_string()))?;
            if code != 0 {
                return Err(WriteRefusal::SettingsRefused(code));
            }
        }
        self.local.names.insert(dev.uid.clone(), name.to_owned());
        self.local.save();
        Ok(())
    }

    /// Waits for the next change; never returns while nothing happens.
    pub async fn next_event(&mut self) -> SettingsEvent {
        loop {
            tokio::select! {
                Some(signal) = self.owners.next() => {
                    let Ok(args) = signal.args() else { continue };
                    let present = args.new_owner().is_some();
                    if present != self.remote {
                        self.remote = present;
                        return if present { SettingsEvent::Appeared } else { SettingsEvent::Vanished };
                    }
                }
                Some(Ok(msg)) = self.changes.next() => {
                    if let Some(ev) = self.on_change(&msg) {
                        return ev;
                    }
                }
                else => std::future::pending::<()>().await,
            }
        }
    }

    fn on_change(&mut self, msg: &zbus::Message) -> Option<SettingsEvent> {
        let header = msg.header();
        let path = header
            .path()?
            .as_str()
            .strip_prefix(DEVICES)?
            .strip_prefix('/')?;
        let (uid, leaf) = path.rsplit_once('/')?;
        let body: HashMap<String, OwnedValue> = msg.body().deserialize().ok()?;
        let value = <&str>::try_from(body.get("Value")?).ok()?;
        match leaf {
            "ClassAndVrmInstance" => {
                let instance = parse_class_instance(value)?;
                if let Some(entry) = self.local.instances.get_mut(uid) {
                    entry.1 = instance;
                }
                self.local.save();
                Some(SettingsEvent::Instance {
                    uid: uid.to_owned(),
                    instance,
                })
            }
            "CustomName" => {
                self.local.names.insert(uid.to_owned(), value.to_owned());
                self.local.save();
                Some(SettingsEvent::CustomName {
                    uid: uid.to_owned(),
                    name: value.to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// `"battery:3"` → 3.
fn parse_class_instance(v: &str) -> Option<u32> {
    v.rsplit_once(':')?.1.trim().parse().ok()
}

impl Local {
    fn load(path: Option<PathBuf>) -> Local {
        let mut local = Local {
            path,
            ..Local::default()
        };
        let Some(p) = &local.path else { return local };
        let state = match State::load(p) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("{e}; starting without stored instances and names");
                return local;
            }
        };
        for (uid, v) in state.with_prefix(INSTANCE_PREFIX) {
            if let (Some((class, _)), Some(n)) = (v.rsplit_once(':'), parse_class_instance(v)) {
                local
                    .instances
                    .insert(uid.to_owned(), (class.to_owned(), n));
            }
        }
        for (uid, name) in state.with_prefix(NAME_PREFIX) {
            local.names.insert(uid.to_owned(), name.to_owned());
        }
        local
    }

    /// The stored instance, else the preferred one, else the next free one above it:
    /// unique per class, as localsettings does it.
    fn assign(&mut self, dev: &DeviceSettings) -> Assigned {
        let instance = match self.instances.get(&dev.uid) {
            Some((_, n)) => *n,
            None => {
                let taken = |n: u32| {
                    self.instances
                        .values()
                        .any(|(class, m)| *class == dev.class && *m == n)
                };
                let mut n = dev.preferred_instance;
                while taken(n) {
                    n += 1;
                }
                self.instances
                    .insert(dev.uid.clone(), (dev.class.clone(), n));
                n
            }
        };
        Assigned {
            instance,
            custom_name: self.names.get(&dev.uid).cloned().unwrap_or_default(),
        }
    }

    fn remember(&mut self, dev: &DeviceSettings, a: &Assigned) {
        self.instances
            .insert(dev.uid.clone(), (dev.class.clone(), a.instance));
        self.names.insert(dev.uid.clone(), a.custom_name.clone());
        self.save();
    }

    fn save(&self) {
        let Some(p) = &self.path else { return };
        let mut state = match State::load(p) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("{e}; not saving instances and names");
                return;
            }
        };
        for (uid, (class, n)) in &self.instances {
            state.set(&format!("{INSTANCE_PREFIX}{uid}"), &format!("{class}:{n}"));
        }
        for (uid, name) in &self.names {
            state.set(&format!("{NAME_PREFIX}{uid}"), name);
        }
        if let Err(e) = state.save(p) {
            tracing::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(uid: &str, class: &str, preferred: u32) -> DeviceSettings {
        DeviceSettings {
            uid: uid.into(),
            class: class.into(),
            preferred_instance: preferred,
        }
    }

    #[test]
    fn local_instances_are_unique_per_class_and_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("n2k-dbus-settings-{}", std::process::id()));
        let path = dir.join("can0.state");
        let _ = std::fs::remove_file(&path);
        let mut local = Local::load(Some(path.clone()));
        assert_eq!(local.assign(&dev("a", "battery", 1)).instance, 1);
        assert_eq!(local.assign(&dev("b", "battery", 1)).instance, 2);
        assert_eq!(local.assign(&dev("c", "battery", 1)).instance, 3);
        assert_eq!(local.assign(&dev("d", "tank", 1)).instance, 1);
        local.names.insert("a".into(), "House bank".into());
        local.save();

        let mut again = Local::load(Some(path.clone()));
        // Known devices keep their instance even when another asks first.
        assert_eq!(again.assign(&dev("c", "battery", 1)).instance, 3);
        let a = again.assign(&dev("a", "battery", 7));
        assert_eq!((a.instance, a.custom_name.as_str()), (1, "House bank"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn class_and_instance_strings() {
        assert_eq!(parse_class_instance("battery:12"), Some(12));
        assert_eq!(parse_class_instance("battery"), None);
        assert_eq!(parse_class_instance("tank:x"), None);
    }
}
