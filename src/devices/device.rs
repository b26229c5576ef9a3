//! One device on the bus, known by its NAME, and where it is in its life.

use crate::can::Micros;
use crate::network::{ConfigInfo, Name, ProductInfo};

/// The lifecycle of docs/architecture.md#device-lifecycle. An address heard without a NAME is not a device yet
/// (see [`super::Heard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lifecycle {
    /// The NAME is known; its product information is being asked for.
    Named,
    /// Product information arrived, or did not arrive in time.
    Identified,
    /// Silent past its liveness limit; the record stays so a return is the same device.
    Gone,
}

/// How often a request of one kind was sent to a device, and when last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tries {
    pub count: u8,
    pub last: Option<Micros>,
}

/// A device, keyed by its NAME.
#[derive(Debug, Clone)]
pub struct Device {
    pub name: Name,
    /// Its source address; `None` after it lost its address and before it claimed another.
    pub address: Option<u8>,
    pub lifecycle: Lifecycle,
    /// When its NAME became known (or it came back).
    pub named_at: Micros,
    /// When any frame from it arrived last.
    pub last_heard: Micros,
    pub product: Option<ProductInfo>,
    pub config: Option<ConfigInfo>,
    /// The heartbeat interval it announced (126993), in ms.
    pub heartbeat_interval: Option<u32>,
    pub(crate) product_tries: Tries,
    pub(crate) config_tries: Tries,
    /// Ask again for product and configuration information although we have it
    /// (after an address change).
    pub(crate) reask_product: bool,
    pub(crate) reask_config: bool,
    /// Liveness probes (requests for 60928) sent since it last spoke.
    pub(crate) probes: Tries,
}

impl Device {
    pub(crate) fn new(name: Name, address: Option<u8>, now: Micros) -> Device {
        Device {
            name,
            address,
            lifecycle: Lifecycle::Named,
            named_at: now,
            last_heard: now,
            product: None,
            config: None,
            heartbeat_interval: None,
            product_tries: Tries::default(),
            config_tries: Tries::default(),
            probes: Tries::default(),
            reask_product: false,
            reask_config: false,
        }
    }

    /// Whether it is on the bus (not gone).
    pub fn online(&self) -> bool {
        self.lifecycle != Lifecycle::Gone
    }
}

/// What the network stage knows about a source address that has no NAME yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Heard {
    pub first_heard: Micros,
    pub last_heard: Micros,
    pub frames: u64,
    /// Addressed requests for its NAME.
    pub(crate) name_tries: Tries,
}
