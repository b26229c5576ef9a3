//! The D-Bus side's one task: it takes what the outbox holds, once per flush, and
//! carries it out on the bus — withdraws, then publishes, then one `ItemsChanged`
//! per changed service — and it decides the writes that belong to D-Bus itself.
//!
//! With coexistence on, a device service that another process (vecan-dbus) already
//! shows on the same interface is held back, kept current, and published once the
//! other leaves (`coexist`). The bus service takes `com.victronenergy.n2kdbus.<if>`
//! when `com.victronenergy.vecan.<if>` belongs to another process.
//!
//! `/DeviceInstance` and `/CustomName` of device services come from the settings
//! (or the local store); a `/CustomName` write is stored there. Every other write
//! is handed on to the gateway (the core decides, e.g. a device instance sent on the
//! bus); without a gateway channel it is stored as it is.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bus::{Bus, BusLost};
use super::coexist::{DeviceKey, Foreign, ForeignEvent};
use super::outbox::{Outbox, Pending};
use super::service::PublishError;
use super::service::{Request, Service, ServiceOptions, WriteRequest};
use super::settings::{Settings, SettingsEvent};
use crate::model::{
    Change, DeviceSettings, Item, ItemTree, ServiceSpec, Value, WriteOutcome, WriteRefusal,
    WriteRule,
};

/// Longest custom name, the GUI's limit.
pub const CUSTOM_NAME_CHARS: usize = 32;
/// Writes waiting for a decision at most; further writes are refused at once.
const WRITE_QUEUE: usize = 64;

/// How the publisher behaves.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    pub bus: Bus,
    /// Shortest time between two flushes: the ceiling on signals per service.
    pub flush_interval: Duration,
    /// Also send per-path `PropertiesChanged`.
    pub properties_changed: bool,
    /// The interface whose services of other processes are not duplicated
    /// (`None`: coexistence off).
    pub coexist: Option<String>,
}

/// The bus service's name prefix, and the one it takes when that name is another
/// process's.
const VECAN_PREFIX: &str = "com.victronenergy.vecan.";
const FALLBACK_PREFIX: &str = "com.victronenergy.n2kdbus.";
/// `/Settings/Canbus/<if>/Profile` values under which Venus runs vecan-dbus on the
/// interface: 1 VE.Can, 2 VE.Can & CAN-bus BMS, 9 VE.Can & CANopen E-drive
/// (`docs/architecture.md#instances-and-names`; that these start vecan-dbus is inferred from their names).
const VECAN_PROFILES: [i64; 3] = [1, 2, 9];

/// Counters for the bus service and the benchmarks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PublisherStats {
    pub flushes: u64,
    pub published: u64,
    pub withdrawn: u64,
    pub publish_errors: u64,
    /// `ItemsChanged` signals sent by flushes.
    pub items_changed: u64,
    pub writes: u64,
    /// Device services held back because another process shows the device.
    pub held: u64,
    /// The bus went away: [`Publisher::run`] ended without withdrawing anything.
    pub lost: bool,
}

struct Live {
    service: Service,
    settings: Option<DeviceSettings>,
}

/// Owns every published service of the process.
pub struct Publisher {
    cfg: PublisherConfig,
    /// By the name the gateway gave (the bus service may be on the bus under its
    /// fallback name: [`Service::name`]).
    services: BTreeMap<String, Live>,
    /// Services held back by coexistence, kept current, by name; with the other
    /// process's service that shows the same device.
    held: BTreeMap<String, (ServiceSpec, String)>,
    /// Other processes' device services on our interface.
    twins: BTreeMap<String, DeviceKey>,
    /// Victron's gateway runs on our interface (its CAN-bus profile says so): the bus
    /// service leaves it the vecan name from the start.
    vecan_expected: bool,
    settings: Option<Settings>,
    writes_tx: mpsc::Sender<Request>,
    writes_rx: mpsc::Receiver<Request>,
    gateway: Option<mpsc::Sender<Request>>,
    stats: PublisherStats,
    done: Arc<Carried>,
    lost: BusLost,
}

impl Publisher {
    /// A publisher with no services yet. `settings` is the settings client (`None`:
    /// device services keep their preferred instance and an empty name); `gateway`
    /// receives the writes D-Bus does not decide itself.
    pub fn new(
        cfg: PublisherConfig,
        settings: Option<Settings>,
        gateway: Option<mpsc::Sender<Request>>,
    ) -> Publisher {
        let (writes_tx, writes_rx) = mpsc::channel(WRITE_QUEUE);
        Publisher {
            cfg,
            services: BTreeMap::new(),
            held: BTreeMap::new(),
            twins: BTreeMap::new(),
            vecan_expected: false,
            settings,
            writes_tx,
            writes_rx,
            gateway,
            stats: PublisherStats::default(),
            done: Arc::new(Carried::default()),
            lost: BusLost::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> PublisherStats {
        self.stats
    }

    /// The count of outbox batches [`Publisher::run`] has carried out; everything
    /// handed over is on the bus when it equals [`Outbox::batches_taken`] and the
    /// outbox is empty (see [`settled`]).
    pub fn batches_done(&self) -> Arc<Carried> {
        self.done.clone()
    }

    /// Set when one of the services' connections closes on its own: the bus went
    /// away. [`Publisher::run`] ends then; the shell ends the process.
    pub fn lost(&self) -> BusLost {
        self.lost.clone()
    }

    /// The names currently on the bus.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.services.values().map(|l| l.service.name())
    }

    /// Flushes the outbox whenever it has something, at most once per flush
    /// interval, answers writes and follows the settings, until `shutdown`; then
    /// withdraws every service.
    pub async fn run(
        mut self,
        outbox: Arc<Outbox>,
        shutdown: impl Future<Output = ()>,
    ) -> PublisherStats {
        tokio::pin!(shutdown);
        let mut foreign = self.watch_foreign().await;
        let mut next_flush = Instant::now();
        let mut due = !outbox.is_empty();
        let lost = self.lost.clone();
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                service = lost.wait() => {
                    tracing::debug!(%service, "the D-Bus connection closed");
                    self.stats.lost = true;
                    // Nothing to release on a bus that is gone.
                    return self.stats;
                }
                () = outbox.changed(), if !due => due = true,
                () = tokio::time::sleep_until(next_flush), if due => {
                    due = false;
                    let batch = outbox.take();
                    let counted = !batch.is_empty();
                    self.flush(batch).await;
                    if counted {
                        self.done.count.fetch_add(1, Ordering::Release);
                        self.done.notify.notify_waiters();
                    }
                    next_flush = Instant::now() + self.cfg.flush_interval;
                }
                Some(r) = self.writes_rx.recv() => self.on_request(r).await,
                ev = next_settings_event(&mut self.settings) => self.on_settings(ev).await,
                ev = next_foreign_event(&mut foreign, &self.services) => self.on_foreign(ev).await,
            }
        }
        // What is still pending is dropped: the services go anyway.
        self.withdraw_all().await;
        self.stats
    }

    /// Carries out one batch.
    pub async fn flush(&mut self, batch: Vec<(String, Pending)>) {
        self.stats.flushes += 1;
        let mut withdraws = Vec::new();
        let mut publishes = Vec::new();
        let mut applies = Vec::new();
        for (name, p) in batch {
            if p.withdraw {
                self.held.remove(&name);
                if let Some(live) = self.services.remove(&name) {
                    withdraws.push(live.service);
                }
            }
            if let Some(spec) = p.publish {
                self.held.remove(&name);
                if let Some(live) = self.services.remove(&name) {
                    withdraws.push(live.service);
                }
                match self.twin_of(&spec) {
                    Some(twin) => {
                        tracing::info!(service = %name, other = %twin, "held back: another process shows this device");
                        self.stats.held += 1;
                        self.held.insert(name.clone(), (spec, twin));
                    }
                    None => publishes.push(spec),
                }
            }
            if !p.changes.is_empty() {
                if let Some((spec, _)) = self.held.get_mut(&name) {
                    apply_to_tree(&mut spec.items, p.changes);
                } else {
                    applies.push((name, p.changes));
                }
            }
        }
        let n = withdraws.len() as u64;
        join_all(withdraws.into_iter().map(Service::withdraw)).await;
        self.stats.withdrawn += n;
        self.publish_all(publishes).await;

        let services = &self.services;
        let sent = join_all(applies.into_iter().filter_map(|(name, changes)| {
            let live = services.get(&name)?;
            Some(async move {
                match live.service.apply(changes).await {
                    Ok(n) => u64::from(n > 0),
                    Err(e) => {
                        tracing::warn!(service = %name, "ItemsChanged: {e}");
                        0
                    }
                }
            })
        }))
        .await;
        self.stats.items_changed += sent.iter().sum::<u64>();
    }

    /// Registers each spec with the settings and publishes them all.
    async fn publish_all(&mut self, publishes: Vec<ServiceSpec>) {
        let mut ready = Vec::with_capacity(publishes.len());
        for mut spec in publishes {
            if let Some(dev) = spec.settings.clone() {
                let assigned = match &mut self.settings {
                    Some(s) => s.register(&dev).await,
                    None => super::settings::Assigned {
                        instance: dev.preferred_instance,
                        custom_name: String::new(),
                    },
                };
                set_identity(&mut spec, assigned.instance, assigned.custom_name);
            }
            ready.push(spec);
        }
        let options = ServiceOptions {
            properties_changed: self.cfg.properties_changed,
            writes: Some(self.writes_tx.clone()),
            lost: self.lost.clone(),
        };
        let bus = &self.cfg.bus;
        let vecan_expected = self.vecan_expected;
        let results = join_all(ready.into_iter().map(|spec| {
            let options = options.clone();
            async move {
                let settings = spec.settings.clone();
                let name = spec.name.clone();
                let result = publish_or_fallback(bus, spec, options, vecan_expected).await;
                (name, settings, result)
            }
        }))
        .await;
        for (name, settings, result) in results {
            match result {
                Ok(service) => {
                    self.stats.published += 1;
                    tracing::debug!(service = %service.name(), "published");
                    self.services.insert(name, Live { service, settings });
                }
                Err(e) => {
                    self.stats.publish_errors += 1;
                    tracing::error!("{e}");
                }
            }
        }
    }

    /// Connects the coexistence watcher and takes in what is on the bus already.
    async fn watch_foreign(&mut self) -> Option<Foreign> {
        let iface = self.cfg.coexist.clone()?;
        let mut foreign = match Foreign::connect(&self.cfg.bus, &iface).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("coexistence off: cannot watch the bus: {e}");
                return None;
            }
        };
        if let Some(profile) = foreign.can_profile(&iface).await {
            self.vecan_expected = VECAN_PROFILES.contains(&profile);
            if self.vecan_expected {
                tracing::info!(
                    interface = %iface,
                    profile,
                    "the interface's CAN-bus profile runs Victron's gateway: the bus service is {FALLBACK_PREFIX}{iface}"
                );
            }
        }
        let services = &self.services;
        let ours = |n: &str| services.values().any(|l| l.service.name() == n);
        for ev in foreign.scan(ours).await {
            self.on_foreign(ev).await;
        }
        Some(foreign)
    }

    /// The other process's service that shows the device of `spec`, if any.
    fn twin_of(&self, spec: &ServiceSpec) -> Option<String> {
        let key = DeviceKey::of_tree(&spec.name, &spec.items)?;
        self.twins
            .iter()
            .find(|(_, k)| k.same_device(&key))
            .map(|(n, _)| n.clone())
    }

    /// Holds back ours where another process's service appeared; publishes what
    /// was held for one that left.
    async fn on_foreign(&mut self, ev: ForeignEvent) {
        match ev {
            ForeignEvent::Appeared { name: twin, key } => {
                self.twins.insert(twin.clone(), key.clone());
                let doubled: Vec<String> = self
                    .services
                    .iter()
                    .filter(|(n, l)| {
                        DeviceKey::of_tree(n, &l.service.items())
                            .is_some_and(|k| k.same_device(&key))
                    })
                    .map(|(n, _)| n.clone())
                    .collect();
                for name in doubled {
                    let Some(live) = self.services.remove(&name) else {
                        continue;
                    };
                    let mut spec = ServiceSpec::new(name.clone(), live.service.items());
                    spec.settings = live.settings;
                    tracing::info!(service = %name, other = %twin, "withdrawn: another process shows this device");
                    live.service.withdraw().await;
                    self.stats.withdrawn += 1;
                    self.stats.held += 1;
                    self.held.insert(name, (spec, twin.clone()));
                }
            }
            ForeignEvent::Left { name: twin } => {
                self.twins.remove(&twin);
                let freed: Vec<String> = self
                    .held
                    .iter()
                    .filter(|(_, (_, t))| *t == twin)
                    .map(|(n, _)| n.clone())
                    .collect();
                let mut publishes = Vec::new();
                for name in freed {
                    let Some((spec, _)) = self.held.remove(&name) else {
                        continue;
                    };
                    match self.twin_of(&spec) {
                        Some(other) => {
                            self.held.insert(name, (spec, other));
                        }
                        None => {
                            tracing::info!(service = %name, "published: the other process's service left");
                            publishes.push(spec);
                        }
                    }
                }
                self.publish_all(publishes).await;
            }
        }
    }

    /// Withdraws every service.
    pub async fn withdraw_all(&mut self) {
        let all = std::mem::take(&mut self.services);
        self.stats.withdrawn += all.len() as u64;
        join_all(all.into_values().map(|l| l.service.withdraw())).await;
    }

    /// The name the gateway gave the service now published as `service` (they
    /// differ for a bus service that took its fallback name).
    fn given_name(&self, service: &str) -> Option<String> {
        self.services
            .iter()
            .find(|(n, l)| l.service.name() == service && n.as_str() != service)
            .map(|(n, _)| n.clone())
    }

    async fn on_request(&mut self, r: Request) {
        match r {
            Request::Write(w) => self.on_write(w).await,
            Request::Register(mut r) => {
                if let Some(given) = self.given_name(&r.service) {
                    r.service = given.into();
                }
                let failed = crate::vreg::VackCode::failed(r.data.is_some()).number();
                match &self.gateway {
                    Some(g) => {
                        if let Err(
                            mpsc::error::TrySendError::Full(Request::Register(r))
                            | mpsc::error::TrySendError::Closed(Request::Register(r)),
                        ) = g.try_send(Request::Register(r))
                        {
                            let _ = r.reply.send((failed, Vec::new()));
                        }
                    }
                    None => {
                        let _ = r.reply.send((failed, Vec::new()));
                    }
                }
            }
        }
    }

    async fn on_write(&mut self, mut w: WriteRequest) {
        self.stats.writes += 1;
        // The gateway knows a service by the name it gave it.
        if let Some(given) = self.given_name(&w.service) {
            w.service = given.into();
        }
        let dev = self
            .services
            .get(&*w.service)
            .and_then(|l| l.settings.clone());
        match (w.path.as_str(), dev, &w.value) {
            ("/CustomName", Some(dev), Value::Text(name)) => {
                let outcome = match &mut self.settings {
                    Some(s) => match s.set_custom_name(&dev, name).await {
                        Ok(()) => WriteOutcome::Store,
                        Err(why) => WriteOutcome::Refused(why),
                    },
                    None => WriteOutcome::Store,
                };
                let _ = w.reply.send(outcome);
            }
            _ => match &self.gateway {
                Some(g) => {
                    if let Err(
                        mpsc::error::TrySendError::Full(Request::Write(w))
                        | mpsc::error::TrySendError::Closed(Request::Write(w)),
                    ) = g.try_send(Request::Write(w))
                    {
                        let _ = w.reply.send(WriteOutcome::Refused(WriteRefusal::Busy));
                    }
                }
                None => {
                    let _ = w.reply.send(WriteOutcome::Store);
                }
            },
        }
    }

    async fn on_settings(&mut self, ev: SettingsEvent) {
        match ev {
            SettingsEvent::Appeared => {
                tracing::info!("settings service appeared; registering every device service");
                let devices: Vec<(String, DeviceSettings)> = self
                    .services
                    .iter()
                    .filter_map(|(n, l)| Some((n.clone(), l.settings.clone()?)))
                    .collect();
                for (name, dev) in devices {
                    let Some(settings) = &mut self.settings else {
                        return;
                    };
                    let a = settings.register(&dev).await;
                    self.apply(
                        &name,
                        vec![
                            Change::Set("/DeviceInstance".into(), Value::from(a.instance)),
                            Change::Set("/CustomName".into(), Value::Text(a.custom_name)),
                        ],
                    )
                    .await;
                }
            }
            SettingsEvent::Vanished => {
                tracing::warn!("settings service stopped; keeping instances and names locally");
            }
            SettingsEvent::Instance { uid, instance } => {
                if let Some(name) = self.by_uid(&uid) {
                    self.apply(
                        &name,
                        vec![Change::Set("/DeviceInstance".into(), Value::from(instance))],
                    )
                    .await;
                }
            }
            SettingsEvent::CustomName { uid, name: text } => {
                if let Some(name) = self.by_uid(&uid) {
                    self.apply(
                        &name,
                        vec![Change::Set("/CustomName".into(), Value::Text(text))],
                    )
                    .await;
                }
            }
        }
    }

    fn by_uid(&self, uid: &str) -> Option<String> {
        self.services
            .iter()
            .find(|(_, l)| l.settings.as_ref().is_some_and(|d| d.uid == uid))
            .map(|(n, _)| n.clone())
    }

    async fn apply(&mut self, name: &str, changes: Vec<Change>) {
        if let Some(live) = self.services.get(name) {
            match live.service.apply(changes).await {
                Ok(n) if n > 0 => self.stats.items_changed += 1,
                Ok(_) => {}
                Err(e) => tracing::warn!(service = %name, "ItemsChanged: {e}"),
            }
        }
    }
}

/// The outbox batches a publisher carried out, and a signal each time one is.
#[derive(Debug, Default)]
pub struct Carried {
    count: AtomicU64,
    notify: tokio::sync::Notify,
}

/// Whether everything handed to `outbox` is on the bus (`done`: from
/// [`Publisher::batches_done`]).
pub fn settled(outbox: &Outbox, done: &Carried) -> bool {
    outbox.is_empty() && outbox.batches_taken() == done.count.load(Ordering::Acquire)
}

/// Waits until everything handed to `outbox` is on the bus.
pub async fn settle(outbox: &Outbox, done: &Carried) {
    loop {
        let carried = done.notify.notified();
        tokio::pin!(carried);
        // Registered before the check, so a batch carried out in between wakes us.
        carried.as_mut().enable();
        if settled(outbox, done) {
            return;
        }
        carried.await;
    }
}

async fn next_foreign_event(
    foreign: &mut Option<Foreign>,
    services: &BTreeMap<String, Live>,
) -> ForeignEvent {
    match foreign {
        Some(f) => {
            let ours = |n: &str| services.values().any(|l| l.service.name() == n);
            f.next_event(ours).await
        }
        None => std::future::pending().await,
    }
}

/// Publishes `spec`; the bus service takes its fallback name when the vecan name
/// is another process's (vecan-dbus on the same interface), or will be
/// (`vecan_expected`: vecan-dbus may start after us, and must find its name free).
async fn publish_or_fallback(
    bus: &Bus,
    spec: ServiceSpec,
    options: ServiceOptions,
    vecan_expected: bool,
) -> Result<Service, PublishError> {
    let Some(iface) = spec.name.strip_prefix(VECAN_PREFIX) else {
        return Service::publish(bus, spec, options).await;
    };
    let mut fallback = spec.clone();
    fallback.name = format!("{FALLBACK_PREFIX}{iface}");
    if vecan_expected {
        return Service::publish(bus, fallback, options).await;
    }
    match Service::publish(bus, spec, options.clone()).await {
        Err(PublishError::NameTaken(name)) => {
            tracing::warn!(
                "{name} belongs to another process (vecan-dbus?); the bus service is {}",
                fallback.name
            );
            Service::publish(bus, fallback, options).await
        }
        other => other,
    }
}

/// Folds changes into a tree that is not on the bus.
fn apply_to_tree(tree: &mut ItemTree, changes: Vec<Change>) {
    for c in changes {
        match c {
            Change::Set(path, value) => {
                tree.set(&path, value);
            }
            Change::Insert(path, item) => {
                if let Err(e) = tree.insert(path, item) {
                    tracing::debug!("{e}");
                }
            }
        }
    }
}

async fn next_settings_event(settings: &mut Option<Settings>) -> SettingsEvent {
    match settings {
        Some(s) => s.next_event().await,
        None => std::future::pending().await,
    }
}

/// Puts the assigned instance and name into a device service's tree.
fn set_identity(spec: &mut ServiceSpec, instance: u32, custom_name: String) {
    let items = &mut spec.items;
    let instance_item = Item::new(instance);
    // An empty name leaves the device's own (126998 installation description).
    let custom_name = match (custom_name.is_empty(), items.get("/CustomName")) {
        (
            true,
            Some(Item {
                value: Value::Text(own),
                ..
            }),
        ) => own.clone(),
        _ => custom_name,
    };
    let name_item = Item::new(custom_name).writable(WriteRule::Text {
        max_chars: CUSTOM_NAME_CHARS,
    });
    for (path, item) in [
        ("/DeviceInstance", instance_item),
        ("/CustomName", name_item),
    ] {
        if let Err(e) = items.insert(path, item) {
            tracing::warn!(service = %spec.name, "{e}");
        }
    }
}
