//! Where the gateway hands its service changes: publish a service, change or add
//! a path, withdraw a service. The gateway only states what it wants; the
//! D-Bus publisher's outbox (`dbus::Outbox`) implements this, and anything
//! else (a test, a recorder) may.

use super::item::Item;
use super::spec::ServiceSpec;
use super::value::Value;

/// The receiver of a gateway's service changes.
pub trait ServiceSink: Send + Sync {
    /// Publish `spec` (a service of that name already there is replaced).
    fn publish(&self, spec: ServiceSpec);
    /// Withdraw the service `name`.
    fn withdraw(&self, name: &str);
    /// A new value for an existing path.
    fn set(&self, name: &str, path: &str, value: Value);
    /// A path added, or one whose description changed.
    fn insert(&self, name: &str, path: &str, item: Item);
}

/// A sink that keeps what a D-Bus client would see and the order of publications
/// and withdrawals: the stages' unit tests read their services from it.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Recorder(std::sync::Mutex<Recorded>);

#[cfg(test)]
#[derive(Default)]
struct Recorded {
    services: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Value>>,
    log: Vec<String>,
}

#[cfg(test)]
impl ServiceSink for Recorder {
    fn publish(&self, spec: ServiceSpec) {
        let mut r = self.0.lock().expect("recorder");
        r.log.push(format!("publish {}", spec.name));
        let items = spec
            .items
            .iter()
            .map(|(p, i)| (p.to_owned(), i.value.clone()))
            .collect();
        r.services.insert(spec.name, items);
    }
    fn withdraw(&self, name: &str) {
        let mut r = self.0.lock().expect("recorder");
        r.log.push(format!("withdraw {name}"));
        r.services.remove(name);
    }
    fn set(&self, name: &str, path: &str, value: Value) {
        if let Some(items) = self.0.lock().expect("recorder").services.get_mut(name) {
            items.insert(path.to_owned(), value);
        }
    }
    fn insert(&self, name: &str, path: &str, item: Item) {
        self.set(name, path, item.value);
    }
}

#[cfg(test)]
impl Recorder {
    /// The services on the bus, by name.
    pub(crate) fn names(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("recorder")
            .services
            .keys()
            .cloned()
            .collect()
    }
    /// Whether `service` has `path`.
    pub(crate) fn has(&self, service: &str, path: &str) -> bool {
        self.0
            .lock()
            .expect("recorder")
            .services
            .get(service)
            .is_some_and(|s| s.contains_key(path))
    }
    /// The value of `path` of `service`; panics when either is not there.
    pub(crate) fn value(&self, service: &str, path: &str) -> Value {
        let r = self.0.lock().expect("recorder");
        let items = r
            .services
            .get(service)
            .unwrap_or_else(|| panic!("no {service} in {:?}", r.services.keys()));
        items
            .get(path)
            .unwrap_or_else(|| panic!("no {path}"))
            .clone()
    }
    /// The publications and withdrawals since the last call.
    pub(crate) fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().expect("recorder").log)
    }
}
