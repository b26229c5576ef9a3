//! What the gateway publishes: a service's name and complete tree, the changes to a
//! published tree, and where a device service's instance and name are kept.

use super::item::Item;
use super::tree::ItemTree;
use super::value::Value;

/// What to publish: a well-known name and the complete tree, invalid where unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub name: String,
    pub items: ItemTree,
    /// For device services: where `/DeviceInstance` and `/CustomName` live in the
    /// settings; the publisher fills both paths from there.
    pub settings: Option<DeviceSettings>,
}

impl ServiceSpec {
    /// A service without settings-backed paths.
    pub fn new(name: impl Into<String>, items: ItemTree) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            items,
            settings: None,
        }
    }
}

/// A change to a published tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new value for an existing path.
    Set(String, Value),
    /// A new path, or a path's complete item replaced.
    Insert(String, Item),
}

/// Where a device service keeps its instance and name in the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    /// `<uid>` in `/Settings/Devices/<uid>/…`; unique per service.
    pub uid: String,
    /// The service type, the class of `ClassAndVrmInstance` (`battery`, `tank`).
    pub class: String,
    /// The instance asked for; the one given may differ.
    pub preferred_instance: u32,
}
