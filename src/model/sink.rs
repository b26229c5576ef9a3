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
