//! Which stage published each service, kept as the stages publish and withdraw:
//! a client's write goes straight to the stage that owns its service, and a
//! write to a service no stage owns is refused without asking any.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::{Item, ServiceSink, ServiceSpec, Value};

/// Service name → the owning stage's place in `Stages::all`.
#[derive(Debug, Default)]
pub(super) struct Owners(Mutex<HashMap<String, usize>>);

impl Owners {
    /// The stage that published `service`.
    pub(super) fn owner(&self, service: &str) -> Option<usize> {
        self.map().get(service).copied()
    }

    /// One sink per stage, in the order of `Stages::all`: each notes what its
    /// stage publishes and withdraws, and hands everything on to `sink`.
    pub(super) fn sinks<'a>(&'a self, sink: &'a dyn ServiceSink) -> [Owning<'a>; super::STAGES] {
        std::array::from_fn(|stage| Owning {
            sink,
            stage,
            owners: self,
        })
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        // Only this module locks it, and nothing it does while locked can panic.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The sink a stage is handed.
pub(super) struct Owning<'a> {
    sink: &'a dyn ServiceSink,
    stage: usize,
    owners: &'a Owners,
}

impl ServiceSink for Owning<'_> {
    fn publish(&self, spec: ServiceSpec) {
        self.owners.map().insert(spec.name.clone(), self.stage);
        self.sink.publish(spec);
    }

    fn withdraw(&self, name: &str) {
        let mut owners = self.owners.map();
        if owners.get(name) == Some(&self.stage) {
            owners.remove(name);
        }
        drop(owners);
        self.sink.withdraw(name);
    }

    fn set(&self, name: &str, path: &str, value: Value) {
        self.sink.set(name, path, value);
    }

    fn insert(&self, name: &str, path: &str, item: Item) {
        self.sink.insert(name, path, item);
    }
}
