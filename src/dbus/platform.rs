//! Venus's notification store (`com.victronenergy.platform`, docs/switching-alerts.md#notificationsinject): NMEA 2000 alerts are injected as notifications (`/Notifications/Inject`), a
//! user's acknowledgement of one (`/Notifications/<n>/Acknowledged` turning 1) is
//! reported back, and `/Settings/Vecan/<if>/AlertsInEnable` is followed. A task of
//! its own with its own connection: the gateway never waits for the platform.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use zbus::zvariant::{self, OwnedValue};
use zbus::{Connection, MatchRule, MessageStream};

use super::bus::Bus;
use super::service::BUS_ITEM;
use super::settings::SETTINGS;
use crate::model::Value;

/// The platform service's well-known name.
pub const PLATFORM: &str = "com.victronenergy.platform";
const INJECT: &str = "/Notifications/Inject";
/// How long a call to the platform or the settings may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Notifications waiting to be injected at most; more are dropped (logged).
const QUEUE: usize = 64;

/// What the platform side reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformEvent {
    /// `AlertsInEnable` of our interface (`None`: no settings service or no such
    /// setting: alerts stay on).
    AlertsIn(Option<i64>),
    /// A user acknowledged the notification of `device` and `description`.
    Acknowledged { device: String, description: String },
}

/// Starts the platform task on `bus` for interface `iface`: notification texts
/// (`<type>\t<device>\t<description>`) go in, events come out.
pub fn spawn(bus: Bus, iface: String) -> (mpsc::Sender<String>, mpsc::Receiver<PlatformEvent>) {
    let (inject_tx, mut inject) = mpsc::channel::<String>(QUEUE);
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let conn = match bus.connect().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("alerts: cannot connect to the {bus} bus: {e}; no notifications");
                return;
            }
        };
        let element = crate::venus::identity::bus_element(&iface);
        let setting = format!("/Settings/Vecan/{element}/AlertsInEnable");
        let mut signals = match subscribe(&conn, &setting).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("alerts: cannot follow the platform: {e}");
                return;
            }
        };
        if tx
            .send(PlatformEvent::AlertsIn(
                read_int(&conn, SETTINGS, &setting).await,
            ))
            .await
            .is_err()
        {
            return;
        }
        loop {
            tokio::select! {
                text = inject.recv() => match text {
                    Some(text) => inject_one(&conn, &text).await,
                    None => return,
                },
                Some(m) = signals.next() => {
                    let Ok(m) = m else { continue };
                    for ev in on_signal(&conn, &m, &setting).await {
                        if tx.send(ev).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    (inject_tx, rx)
}

/// The BusItem signals of the platform and of the setting.
async fn subscribe(
    conn: &Connection,
    setting: &str,
) -> zbus::Result<futures_util::stream::SelectAll<MessageStream>> {
    let rule = |sender: &'static str| {
        MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(sender)
            .and_then(|b| b.interface(BUS_ITEM))
    };
    let platform = MessageStream::for_match_rule(rule(PLATFORM)?.build(), conn, Some(256)).await?;
    let one = MessageStream::for_match_rule(rule(SETTINGS)?.path(setting)?.build(), conn, Some(16))
        .await?;
    let items = MessageStream::for_match_rule(
        rule(SETTINGS)?.member("ItemsChanged")?.build(),
        conn,
        Some(16),
    )
    .await?;
    Ok(futures_util::stream::select_all([platform, one, items]))
}

async fn inject_one(conn: &Connection, text: &str) {
    let v = zvariant::Value::from(text);
    let call = conn.call_method(Some(PLATFORM), INJECT, Some(BUS_ITEM), "SetValue", &v);
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(reply)) => match reply.body().deserialize::<i32>() {
            Ok(0) => tracing::debug!("alerts: notification injected"),
            Ok(code) => tracing::warn!(code, "alerts: the platform refused the notification"),
            Err(e) => tracing::warn!("alerts: the platform's answer: {e}"),
        },
        Ok(Err(e)) => {
            tracing::warn!("alerts: cannot inject the notification (no Venus platform?): {e}")
        }
        Err(_) => tracing::warn!("alerts: the platform did not answer within {CALL_TIMEOUT:?}"),
    }
}

/// The events of one signal: the setting changed, or notifications acknowledged.
async fn on_signal(conn: &Connection, m: &zbus::Message, setting: &str) -> Vec<PlatformEvent> {
    let h = m.header();
    let Some(member) = h.member().map(|m| m.to_string()) else {
        return Vec::new();
    };
    let changes: Vec<(String, Value)> = match member.as_str() {
        "ItemsChanged" => m
            .body()
            .deserialize::<BTreeMap<String, BTreeMap<String, OwnedValue>>>()
            .map(|items| {
                items
                    .into_iter()
                    .filter_map(|(p, mut props)| Some((p, value(&props.remove("Value")?))))
                    .collect()
            })
            .unwrap_or_default(),
        "PropertiesChanged" => {
            let Some(path) = h.path().map(|p| p.to_string()) else {
                return Vec::new();
            };
            m.body()
                .deserialize::<BTreeMap<String, OwnedValue>>()
                .ok()
                .and_then(|mut props| Some(vec![(path, value(&props.remove("Value")?))]))
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (path, v) in changes {
        if path == setting {
            out.push(PlatformEvent::AlertsIn(integer(&v)));
            continue;
        }
        let Some(entry) = path
            .strip_prefix("/Notifications/")
            .and_then(|p| p.strip_suffix("/Acknowledged"))
        else {
            continue;
        };
        if integer(&v) != Some(1) {
            continue;
        }
        let at = |leaf: &str| format!("/Notifications/{entry}/{leaf}");
        let device = read_text(conn, &at("DeviceName")).await;
        let description = read_text(conn, &at("Description")).await;
        if let (Some(device), Some(description)) = (device, description) {
            out.push(PlatformEvent::Acknowledged {
                device,
                description,
            });
        }
    }
    out
}

async fn get(conn: &Connection, service: &str, path: &str) -> Option<Value> {
    let call = conn.call_method(Some(service), path, Some(BUS_ITEM), "GetValue", &());
    let reply = tokio::time::timeout(CALL_TIMEOUT, call).await.ok()?.ok()?;
    Some(value(&reply.body().deserialize::<OwnedValue>().ok()?))
}

async fn read_int(conn: &Connection, service: &str, path: &str) -> Option<i64> {
    integer(&get(conn, service, path).await?)
}

async fn read_text(conn: &Connection, path: &str) -> Option<String> {
    match get(conn, PLATFORM, path).await? {
        Value::Text(s) => Some(s),
        _ => None,
    }
}

fn value(v: &OwnedValue) -> Value {
    Value::from_variant(v).unwrap_or(Value::Invalid)
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Real(r) if r.fract() == 0.0 => Some(*r as i64),
        _ => None,
    }
}
