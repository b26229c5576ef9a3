//! One published service: its own connection, its item tree and the dispatcher
//! that answers every object of the tree.
//!
//! Order on the bus follows `docs/architecture.md#registration-and-removal`: connect, have the whole tree
//! answerable, then `RequestName(name, DO_NOT_QUEUE)`. Clients call `GetItems` the
//! moment they see the name appear, so nothing may be missing at that instant.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use zbus::fdo;
use zbus::message::{Flags, Type};
use zbus::names::WellKnownName;
use zbus::zvariant;
use zbus::{Connection, Message, MessageStream};

use super::bus::{Bus, BusLost};
use super::introspect;
use crate::model::tree::{ItemTree, Object};
use crate::model::{Change, Item, Refusal, ServiceSpec, Value, WriteOutcome, WriteRefusal};

/// The one interface of every Venus object.
pub const BUS_ITEM: &str = "com.victronenergy.BusItem";

/// `RequestName` flag: fail rather than wait in a queue for the name.
const DO_NOT_QUEUE: u32 = 4;

/// How long a write may wait for its owner's decision before it is refused.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a service could not be published.
#[derive(Debug, Error)]
pub enum PublishError {
    #[error("`{0}` is not a valid D-Bus service name")]
    BadName(String),
    #[error("`{0}` is already owned by another connection on the bus")]
    NameTaken(String),
    #[error("cannot reach the bus for `{name}`: {source}")]
    Bus { name: String, source: zbus::Error },
}

/// A client's `SetValue` that passed type, range and length checks, for the owner
/// of the item to decide.
#[derive(Debug)]
pub struct WriteRequest {
    pub service: Arc<str>,
    pub path: String,
    pub value: Value,
    pub reply: oneshot::Sender<WriteOutcome>,
}

/// A client's `GetVreg`/`SetVreg` on a `…/VregLink` object: a register of the
/// device behind it to read (`data` `None`) or write. The answer is a VACK code
/// (0: done) and the register's bytes.
#[derive(Debug)]
pub struct RegisterRequest {
    pub service: Arc<str>,
    /// The object path (`/Devices/0/VregLink`, `/Devices/<key>/VregLink`).
    pub path: String,
    pub register: u16,
    pub data: Option<Vec<u8>>,
    pub reply: oneshot::Sender<(u16, Vec<u8>)>,
}

/// What a service hands its owner to decide.
#[derive(Debug)]
pub enum Request {
    Write(WriteRequest),
    Register(RegisterRequest),
}

/// The VregLink interface (Victron's remote configuration of VE.Can devices).
pub const VREG_LINK: &str = "com.victronenergy.VregLink";
/// How long a `GetVreg`/`SetVreg` waits for the device: its operation may queue
/// behind others on the same node, each tried three times.
const VREG_TIMEOUT: Duration = Duration::from_secs(20);
/// What `GetVreg` answers when nothing answered: dbus-modbus-client's codes for a
/// failed read and a failed write (VACK 0x8000 / 0x8100).
const VREG_FAILED_READ: u16 = 0x8000;
const VREG_FAILED_WRITE: u16 = 0x8100;

/// Options shared by every service of a process.
#[derive(Debug, Clone, Default)]
pub struct ServiceOptions {
    /// Also send the per-path `PropertiesChanged` old clients listen for.
    pub properties_changed: bool,
    /// Where checked writes and register requests go; without one, writes are
    /// stored directly and register requests fail.
    pub writes: Option<mpsc::Sender<Request>>,
    /// Told when a connection closes that was not withdrawn.
    pub lost: BusLost,
}

/// State shared between the owner of a service and its dispatcher.
struct Shared {
    name: Arc<str>,
    tree: Mutex<ItemTree>,
    options: ServiceOptions,
}

impl Shared {
    fn tree(&self) -> MutexGuard<'_, ItemTree> {
        // A panic while holding the lock cannot leave the tree half-updated: every
        // mutation is a single map operation.
        self.tree.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A service on the bus.
pub struct Service {
    shared: Arc<Shared>,
    conn: Connection,
    dispatcher: JoinHandle<()>,
}

impl Service {
    /// Connects, serves `spec.items` and then requests `spec.name`.
    pub async fn publish(
        bus: &Bus,
        spec: ServiceSpec,
        options: ServiceOptions,
    ) -> Result<Service, PublishError> {
        let name = WellKnownName::try_from(spec.name.as_str())
            .map_err(|_| PublishError::BadName(spec.name.clone()))?
            .to_owned();
        let bus_err = |source| PublishError::Bus {
            name: spec.name.clone(),
            source,
        };
        let conn = bus.connect().await.map_err(bus_err)?;
        let shared = Arc::new(Shared {
            name: Arc::from(spec.name.as_str()),
            tree: Mutex::new(spec.items),
            options,
        });
        // The stream is live before the name exists: no call can arrive unanswered.
        let stream = MessageStream::from(&conn);
        let dispatcher = tokio::spawn(dispatch(conn.clone(), stream, shared.clone()));
        let service = Service {
            shared,
            conn,
            dispatcher,
        };
        let reply: u32 = match service
            .conn
            .call_method(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                Some("org.freedesktop.DBus"),
                "RequestName",
                &(name.as_str(), DO_NOT_QUEUE),
            )
            .await
            .and_then(|m| m.body().deserialize::<u32>())
        {
            Ok(r) => r,
            Err(e) => {
                service.close().await;
                return Err(bus_err(e));
            }
        };
        // 1: primary owner; 4: already ours. 3 (exists) is the only other answer
        // with DO_NOT_QUEUE.
        if reply != 1 && reply != 4 {
            service.close().await;
            return Err(PublishError::NameTaken(spec.name));
        }
        Ok(service)
    }

    /// The well-known name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The unique name (`:1.42`) clients key the service by.
    pub fn unique_name(&self) -> Option<String> {
        self.conn.unique_name().map(|n| n.to_string())
    }

    /// A copy of the current tree.
    pub fn items(&self) -> ItemTree {
        self.shared.tree().clone()
    }

    /// Applies `changes` and announces those that changed something in one
    /// `ItemsChanged`; returns how many items it carried.
    pub async fn apply(&self, changes: Vec<Change>) -> Result<usize, zbus::Error> {
        apply(&self.conn, &self.shared, changes).await
    }

    /// Releases the name and closes the connection; values are not invalidated first
    /// (`docs/architecture.md#registration-and-removal`).
    pub async fn withdraw(self) {
        let released = self
            .conn
            .call_method(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                Some("org.freedesktop.DBus"),
                "ReleaseName",
                &(self.name()),
            )
            .await;
        if let Err(e) = released {
            tracing::debug!(service = %self.shared.name, "ReleaseName: {e}");
        }
        self.close().await;
    }

    async fn close(self) {
        self.dispatcher.abort();
        let _ = self.dispatcher.await;
        if let Err(e) = self.conn.close().await {
            tracing::debug!(service = %self.shared.name, "closing the connection: {e}");
        }
    }
}

/// Applies `changes` to the tree and announces what changed.
async fn apply(
    conn: &Connection,
    shared: &Shared,
    changes: Vec<Change>,
) -> Result<usize, zbus::Error> {
    let changed = {
        let mut tree = shared.tree();
        let mut changed: Vec<(String, Item)> = Vec::new();
        for change in changes {
            match change {
                Change::Set(path, value) => {
                    if tree.set(&path, value) {
                        if let Some(item) = tree.get(&path) {
                            changed.push((path, item.clone()));
                        }
                    }
                }
                Change::Insert(path, item) => {
                    if tree.get(&path) == Some(&item) {
                        continue;
                    }
                    match tree.insert(path.clone(), item.clone()) {
                        Ok(()) => changed.push((path, item)),
                        Err(e) => tracing::warn!(service = %shared.name, "{e}"),
                    }
                }
            }
        }
        changed
    };
    announce(conn, shared, &changed).await?;
    Ok(changed.len())
}

/// Sends one `ItemsChanged` for `changed`, and the per-path `PropertiesChanged` when
/// asked for.
async fn announce(
    conn: &Connection,
    shared: &Shared,
    changed: &[(String, Item)],
) -> Result<(), zbus::Error> {
    if changed.is_empty() {
        return Ok(());
    }
    let body: BTreeMap<&str, BTreeMap<&str, zvariant::Value<'_>>> = changed
        .iter()
        .map(|(path, item)| (path.as_str(), entry(item, false)))
        .collect();
    conn.emit_signal(None::<&str>, "/", BUS_ITEM, "ItemsChanged", &body)
        .await?;
    if shared.options.properties_changed {
        for (path, item) in changed {
            conn.emit_signal(
                None::<&str>,
                path.as_str(),
                BUS_ITEM,
                "PropertiesChanged",
                &entry(item, false),
            )
            .await?;
        }
    }
    Ok(())
}

/// The `{Value, Text[, Min, Max]}` dictionary of one item.
fn entry(item: &Item, with_range: bool) -> BTreeMap<&'static str, zvariant::Value<'static>> {
    let mut e = BTreeMap::new();
    e.insert("Value", item.value.to_variant());
    e.insert("Text", zvariant::Value::from(item.text()));
    if with_range {
        if let Some(min) = &item.min {
            e.insert("Min", min.to_variant());
        }
        if let Some(max) = &item.max {
            e.insert("Max", max.to_variant());
        }
    }
    e
}

/// Answers every method call on the connection until it closes.
async fn dispatch(conn: Connection, mut stream: MessageStream, shared: Arc<Shared>) {
    while let Some(msg) = stream.next().await {
        let Ok(msg) = msg else { continue };
        if msg.message_type() != Type::MethodCall {
            continue;
        }
        if let Err(e) = answer(&conn, &shared, &msg).await {
            tracing::debug!(service = %shared.name, "reply failed: {e}");
        }
    }
    // A withdrawn service's dispatcher is aborted before its connection closes: an
    // end of the stream is the bus's doing.
    shared.options.lost.set(&shared.name);
}

/// The reply to one call.
enum Reply {
    Variant(zvariant::Value<'static>),
    Text(String),
    Code(i32),
    Items(BTreeMap<String, BTreeMap<&'static str, zvariant::Value<'static>>>),
    Empty,
    Error(fdo::Error),
    /// A write waiting for its owner; answered by a task of its own.
    Deferred(PendingWrite),
    /// A register request waiting for the device; answered by a task of its own.
    Register(PendingRegister),
}

struct PendingRegister {
    path: String,
    register: u16,
    data: Option<Vec<u8>>,
}

struct PendingWrite {
    path: String,
    value: Value,
}

async fn answer(conn: &Connection, shared: &Arc<Shared>, msg: &Message) -> zbus::Result<()> {
    let header = msg.header();
    let path = header.path().map(|p| p.as_str()).unwrap_or("/");
    let member = header.member().map(|m| m.as_str()).unwrap_or("");
    let interface = header.interface().map(|i| i.as_str());
    let reply = {
        let tree = shared.tree();
        match tree.object(path) {
            None => Reply::Error(fdo::Error::UnknownObject(format!(
                "no object at `{path}` in {}",
                shared.name
            ))),
            Some(object) => call(&tree, shared, path, object, interface, member, msg),
        }
    };
    if header.primary().flags().contains(Flags::NoReplyExpected) {
        match reply {
            // Nobody waits for the answer, but the write still happens.
            Reply::Deferred(pending) => {
                tokio::spawn(finish_write(conn.clone(), shared.clone(), pending, None));
            }
            Reply::Register(pending) => {
                tokio::spawn(finish_register(conn.clone(), shared.clone(), pending, None));
            }
            _ => {}
        }
        return Ok(());
    }
    send(conn, shared, msg, reply).await
}

async fn send(
    conn: &Connection,
    shared: &Arc<Shared>,
    msg: &Message,
    reply: Reply,
) -> zbus::Result<()> {
    let header = &msg.header();
    match reply {
        Reply::Variant(v) => conn.reply(header, &v).await,
        Reply::Text(s) => conn.reply(header, &s).await,
        Reply::Code(c) => conn.reply(header, &c).await,
        Reply::Items(items) => conn.reply(header, &items).await,
        Reply::Empty => conn.reply(header, &()).await,
        Reply::Error(e) => conn.reply_dbus_error(header, e).await,
        Reply::Deferred(pending) => {
            tokio::spawn(finish_write(
                conn.clone(),
                shared.clone(),
                pending,
                Some(msg.clone()),
            ));
            Ok(())
        }
        Reply::Register(pending) => {
            tokio::spawn(finish_register(
                conn.clone(),
                shared.clone(),
                pending,
                Some(msg.clone()),
            ));
            Ok(())
        }
    }
}

fn call(
    tree: &ItemTree,
    shared: &Shared,
    path: &str,
    object: Object<'_>,
    interface: Option<&str>,
    member: &str,
    msg: &Message,
) -> Reply {
    let unknown = || {
        Reply::Error(fdo::Error::UnknownMethod(format!(
            "Method \"{member}\" on interface \"{}\" doesn't exist at `{path}`",
            interface.unwrap_or("")
        )))
    };
    match interface {
        Some("org.freedesktop.DBus.Introspectable") | None if member == "Introspect" => {
            introspect::xml(tree, path).map_or_else(unknown, Reply::Text)
        }
        Some("org.freedesktop.DBus.Peer") | None if member == "Ping" => Reply::Empty,
        Some("org.freedesktop.DBus.Peer") | None if member == "GetMachineId" => {
            match std::fs::read_to_string("/etc/machine-id") {
                Ok(id) => Reply::Text(id.trim().to_owned()),
                Err(e) => Reply::Error(fdo::Error::Failed(format!("no machine id: {e}"))),
            }
        }
        Some(VREG_LINK) | None
            if path.ends_with("/VregLink") && matches!(member, "GetVreg" | "SetVreg") =>
        {
            vreg_link(member, msg).unwrap_or_else(unknown)
        }
        Some(BUS_ITEM) | None => {
            bus_item(tree, shared, path, object, member, msg).unwrap_or_else(unknown)
        }
        Some(_) => unknown(),
    }
}

/// `GetVreg(q)` and `SetVreg(q, ay)` on a `…/VregLink` object.
fn vreg_link(member: &str, msg: &Message) -> Option<Reply> {
    let body = msg.body();
    let path = msg
        .header()
        .path()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let bad = |what: &str| Reply::Error(fdo::Error::InvalidArgs(format!("{member} takes {what}")));
    Some(match member {
        "GetVreg" => match body.deserialize::<u16>() {
            Ok(register) => Reply::Register(PendingRegister {
                path,
                register,
                data: None,
            }),
            Err(_) => bad("(q register)"),
        },
        "SetVreg" => match body.deserialize::<(u16, Vec<u8>)>() {
            Ok((register, data)) => Reply::Register(PendingRegister {
                path,
                register,
                data: Some(data),
            }),
            Err(_) => bad("(q register, ay data)"),
        },
        _ => return None,
    })
}

/// The BusItem members; `None` when `object` has no member of that name.
fn bus_item(
    tree: &ItemTree,
    shared: &Shared,
    path: &str,
    object: Object<'_>,
    member: &str,
    msg: &Message,
) -> Option<Reply> {
    let subtree_values = || {
        let dict: BTreeMap<String, zvariant::Value<'static>> = tree
            .below(path)
            .map(|(k, i)| (k.to_owned(), i.value.to_variant()))
            .collect();
        Reply::Variant(zvariant::Value::Dict(dict.into()))
    };
    let subtree_texts = || {
        let dict: BTreeMap<String, String> = tree
            .below(path)
            .map(|(k, i)| (k.to_owned(), i.text()))
            .collect();
        Reply::Variant(zvariant::Value::Dict(dict.into()))
    };
    Some(match (object, member) {
        (Object::Root, "GetItems") => Reply::Items(
            tree.iter()
                .map(|(p, i)| (p.to_owned(), entry(i, true)))
                .collect(),
        ),
        (Object::Root | Object::Node, "GetValue") => subtree_values(),
        (Object::Root | Object::Node, "GetText") => subtree_texts(),
        (Object::Leaf(item), "GetValue") => Reply::Variant(item.value.to_variant()),
        (Object::Leaf(item), "GetText") => Reply::Text(item.text()),
        (Object::Leaf(_), "GetDescription") => Reply::Text(String::new()),
        (Object::Leaf(item), "GetMin") => Reply::Variant(item.min.as_ref()?.to_variant()),
        (Object::Leaf(item), "GetMax") => Reply::Variant(item.max.as_ref()?.to_variant()),
        (Object::Leaf(item), "GetDefault") => Reply::Variant(item.default.as_ref()?.to_variant()),
        (Object::Leaf(item), "SetValue") => set_value(shared, path, item, msg),
        _ => return None,
    })
}

/// Checks a write; stores it at once when nobody owns the service's writes.
fn set_value(shared: &Shared, path: &str, item: &Item, msg: &Message) -> Reply {
    let body = msg.body();
    if body.signature().to_string() != "v" {
        return Reply::Error(fdo::Error::InvalidArgs(
            "SetValue expects one variant argument".into(),
        ));
    }
    let Ok(raw) = body.deserialize::<zvariant::Value<'_>>() else {
        return Reply::Error(fdo::Error::InvalidArgs("unreadable variant".into()));
    };
    let value = match Value::from_variant(&raw) {
        Ok(v) => v,
        Err(_) => return Reply::Code(Refusal::NotWritable.code()),
    };
    let value = match item.check_write(value) {
        Ok(v) => v,
        Err(r) => {
            tracing::debug!(service = %shared.name, path, "SetValue refused: {r:?}");
            return Reply::Code(r.code());
        }
    };
    if value == item.value {
        return Reply::Code(0);
    }
    Reply::Deferred(PendingWrite {
        path: path.to_owned(),
        value,
    })
}

/// Hands a checked write to its owner, applies the decision and answers the caller.
async fn finish_write(
    conn: Connection,
    shared: Arc<Shared>,
    pending: PendingWrite,
    reply_to: Option<Message>,
) {
    let outcome = if let Some(writes) = &shared.options.writes {
        let (tx, rx) = oneshot::channel();
        let request = WriteRequest {
            service: shared.name.clone(),
            path: pending.path.clone(),
            value: pending.value.clone(),
            reply: tx,
        };
        match writes.try_send(Request::Write(request)) {
            Err(_) => WriteOutcome::Refused(WriteRefusal::Busy),
            Ok(()) => match tokio::time::timeout(WRITE_TIMEOUT, rx).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => WriteOutcome::Refused(WriteRefusal::Dropped),
                Err(_) => WriteOutcome::Refused(WriteRefusal::NoDecision),
            },
        }
    } else {
        WriteOutcome::Store
    };
    let code = match &outcome {
        WriteOutcome::Store => {
            let change = Change::Set(pending.path.clone(), pending.value.clone());
            if let Err(e) = apply(&conn, &shared, vec![change]).await {
                tracing::debug!(service = %shared.name, "announcing a write: {e}");
            }
            0
        }
        WriteOutcome::Accepted => 0,
        WriteOutcome::Refused(why) => {
            tracing::info!(service = %shared.name, path = %pending.path, "write refused: {why}");
            why.code()
        }
    };
    if let Some(call) = reply_to {
        if let Err(e) = conn.reply(&call.header(), &code).await {
            tracing::debug!(service = %shared.name, "SetValue reply: {e}");
        }
    }
}

/// Hands a register request to the owner and answers `(q error, ay data)`.
async fn finish_register(
    conn: Connection,
    shared: Arc<Shared>,
    pending: PendingRegister,
    reply_to: Option<Message>,
) {
    let failed = if pending.data.is_some() {
        VREG_FAILED_WRITE
    } else {
        VREG_FAILED_READ
    };
    let answer = match &shared.options.writes {
        Some(writes) => {
            let (tx, rx) = oneshot::channel();
            let request = RegisterRequest {
                service: shared.name.clone(),
                path: pending.path,
                register: pending.register,
                data: pending.data,
                reply: tx,
            };
            match writes.try_send(Request::Register(request)) {
                Err(_) => (failed, Vec::new()),
                Ok(()) => match tokio::time::timeout(VREG_TIMEOUT, rx).await {
                    Ok(Ok(answer)) => answer,
                    _ => (failed, Vec::new()),
                },
            }
        }
        None => (failed, Vec::new()),
    };
    if let Some(call) = reply_to {
        if let Err(e) = conn.reply(&call.header(), &answer).await {
            tracing::debug!(service = %shared.name, "VregLink reply: {e}");
        }
    }
}
