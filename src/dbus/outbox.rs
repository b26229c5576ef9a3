//! The hand-off between the CAN side and the D-Bus side.
//!
//! The CAN side must never wait for D-Bus: a GX's broker can stall for seconds, and
//! frames keep arriving at 2,000 per second. So the CAN side only records what it
//! wants — publish, update, withdraw — in this outbox, which coalesces: for each
//! service the newest value of each path wins, a withdraw cancels what was pending
//! for it, and lifecycle operations are never lost. The D-Bus side takes everything
//! pending in one batch per flush. Memory is bounded by the number of services and
//! paths, not by how long D-Bus is stuck.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::model::{Change, Item, ServiceSink, ServiceSpec, Value};

/// Services with pending work at most; updates for further services are dropped
/// and counted (publishes and withdraws never are).
pub const MAX_PENDING_SERVICES: usize = 4096;
/// Distinct pending paths per service at most.
pub const MAX_PENDING_PATHS: usize = 4096;

/// One service's share of a batch, in the order it must be carried out.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Withdraw whatever is published under the name first.
    pub withdraw: bool,
    /// Then publish this.
    pub publish: Option<ServiceSpec>,
    /// Then apply these, in path order.
    pub changes: Vec<Change>,
}

#[derive(Debug, Default)]
struct Entry {
    withdraw: bool,
    publish: Option<ServiceSpec>,
    /// When the publish was asked for (a counter): publishes are carried out in
    /// this order, so VRM instances are assigned alike however the batches fall.
    publish_seq: u64,
    changes: BTreeMap<String, Change>,
}

#[derive(Debug, Default)]
struct State {
    services: BTreeMap<String, Entry>,
    dropped: u64,
    taken: u64,
    next_seq: u64,
}

/// The coalescing queue between the core and the publisher.
#[derive(Debug, Default)]
pub struct Outbox {
    state: Mutex<State>,
    wake: Notify,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Outbox {
        Outbox::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes `spec` (replacing what is published under its name).
    pub fn publish(&self, spec: ServiceSpec) {
        let mut guard = self.state();
        let st = &mut *guard;
        st.next_seq += 1;
        let entry = st.services.entry(spec.name.clone()).or_default();
        entry.changes.clear();
        entry.publish = Some(spec);
        entry.publish_seq = st.next_seq;
        drop(guard);
        self.wake.notify_one();
    }

    /// Withdraws the service `name`; pending work for it is dropped.
    pub fn withdraw(&self, name: &str) {
        let mut st = self.state();
        let entry = st.services.entry(name.to_owned()).or_default();
        entry.withdraw = true;
        entry.publish = None;
        entry.changes.clear();
        drop(st);
        self.wake.notify_one();
    }

    /// Sets `path` of service `name` to `value`; a newer value replaces a pending one.
    pub fn set(&self, name: &str, path: &str, value: Value) {
        self.change(name, path, Change::Set(path.to_owned(), value));
    }

    /// Adds `path` to service `name`, or replaces its item.
    pub fn insert(&self, name: &str, path: &str, item: Item) {
        self.change(name, path, Change::Insert(path.to_owned(), item));
    }

    fn change(&self, name: &str, path: &str, change: Change) {
        let mut guard = self.state();
        let st = &mut *guard;
        if !st.services.contains_key(name) && st.services.len() >= MAX_PENDING_SERVICES {
            st.dropped += 1;
            return;
        }
        let entry = st.services.entry(name.to_owned()).or_default();
        if let Some(spec) = &mut entry.publish {
            // Not published yet: fold the change into what will be published.
            match change {
                Change::Set(p, v) => {
                    spec.items.set(&p, v);
                }
                Change::Insert(p, item) => {
                    if spec.items.insert(p, item).is_err() {
                        st.dropped += 1;
                    }
                }
            }
        } else if entry.changes.len() < MAX_PENDING_PATHS || entry.changes.contains_key(path) {
            // An Insert followed by a Set keeps the inserted item with the new value.
            let merged = match (entry.changes.remove(path), change) {
                (Some(Change::Insert(p, mut item)), Change::Set(_, v)) => {
                    item.value = v;
                    Change::Insert(p, item)
                }
                (_, c) => c,
            };
            entry.changes.insert(path.to_owned(), merged);
        } else {
            st.dropped += 1;
        }
        drop(guard);
        self.wake.notify_one();
    }

    /// Everything pending; the outbox is empty afterwards. Services without a
    /// publish come first, by name, then those with one in the order the publishes
    /// were asked for.
    pub fn take(&self) -> Vec<(String, Pending)> {
        let mut st = self.state();
        if !st.services.is_empty() {
            st.taken += 1;
        }
        let services = std::mem::take(&mut st.services);
        drop(st);
        let mut batch: Vec<(u64, String, Pending)> = services
            .into_iter()
            .map(|(name, e)| {
                let seq = if e.publish.is_some() {
                    e.publish_seq
                } else {
                    0
                };
                let pending = Pending {
                    withdraw: e.withdraw,
                    publish: e.publish,
                    changes: e.changes.into_values().collect(),
                };
                (seq, name, pending)
            })
            .collect();
        // Stable: names stay in order among equal sequence numbers.
        batch.sort_by_key(|(seq, _, _)| *seq);
        batch.into_iter().map(|(_, n, p)| (n, p)).collect()
    }

    /// How many non-empty batches were taken: with the publisher's count of
    /// batches carried out, it tells when everything handed over is on the bus.
    pub fn batches_taken(&self) -> u64 {
        self.state().taken
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.state().services.is_empty()
    }

    /// Updates dropped because the bounds were reached.
    pub fn dropped(&self) -> u64 {
        self.state().dropped
    }

    /// Waits until something was added since the last wait.
    pub async fn changed(&self) {
        self.wake.notified().await;
    }
}

/// The gateway's service changes, coalesced for the publisher.
impl ServiceSink for Outbox {
    fn publish(&self, spec: ServiceSpec) {
        Outbox::publish(self, spec);
    }
    fn withdraw(&self, name: &str) {
        Outbox::withdraw(self, name);
    }
    fn set(&self, name: &str, path: &str, value: Value) {
        Outbox::set(self, name, path, value);
    }
    fn insert(&self, name: &str, path: &str, item: Item) {
        Outbox::insert(self, name, path, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ItemTree;

    fn spec(name: &str) -> ServiceSpec {
        ServiceSpec::new(
            name,
            ItemTree::new()
                .with("/Level", Item::new(1.0))
                .expect("tree"),
        )
    }

    #[test]
    fn latest_value_wins_and_nothing_else_is_lost() {
        let out = Outbox::new();
        out.set("a", "/Level", Value::Real(1.0));
        out.set("a", "/Level", Value::Real(2.0));
        out.set("a", "/Other", Value::Int(3));
        out.publish(spec("b"));
        out.set("b", "/Level", Value::Real(9.0));
        out.withdraw("c");
        let batch = out.take();
        assert_eq!(batch.len(), 3);
        assert_eq!(
            batch[0].1.changes,
            [
                Change::Set("/Level".into(), Value::Real(2.0)),
                Change::Set("/Other".into(), Value::Int(3))
            ]
        );
        assert!(batch[1].0 == "c" && batch[1].1.withdraw && batch[1].1.publish.is_none());
        let b = batch[2].1.publish.as_ref().expect("publish");
        assert_eq!(
            b.items.get("/Level").map(|i| &i.value),
            Some(&Value::Real(9.0))
        );
        assert!(out.is_empty());
    }

    #[test]
    fn publishes_come_in_the_order_they_were_asked_for() {
        let out = Outbox::new();
        out.publish(spec("z"));
        out.set("m", "/Level", Value::Int(1));
        out.publish(spec("a"));
        out.publish(spec("k"));
        let names: Vec<String> = out.take().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["m", "z", "a", "k"]);
    }

    #[test]
    fn withdraw_then_publish_replaces() {
        let out = Outbox::new();
        out.set("a", "/Level", Value::Real(1.0));
        out.withdraw("a");
        out.publish(spec("a"));
        let batch = out.take();
        assert!(batch[0].1.withdraw);
        assert!(batch[0].1.publish.is_some());
        assert!(batch[0].1.changes.is_empty());
    }

    #[test]
    fn bounded_under_a_flood_of_paths_and_services() {
        let out = Outbox::new();
        for i in 0..(MAX_PENDING_PATHS + 10) {
            out.set("a", &format!("/P{i}"), Value::Int(1));
        }
        for i in 0..(MAX_PENDING_SERVICES + 10) {
            out.set(&format!("s{i}"), "/Level", Value::Int(1));
        }
        // Publishes are never dropped.
        out.publish(spec("late"));
        assert_eq!(out.dropped(), 10 + 11);
        let batch = out.take();
        assert_eq!(batch.len(), MAX_PENDING_SERVICES + 1);
        assert!(batch
            .iter()
            .any(|(n, p)| n == "late" && p.publish.is_some()));
    }
}
