//! The D-Bus side: Venus OS services exactly as Victron's clients expect them.
//!
//! The model it puts on the bus (values, items, trees, service specs) is
//! [`crate::model`]; this stage is the zbus I/O around it.
//!
//! - [`variant`]: how values travel on D-Bus (invalid = `ai []`);
//! - [`introspect`]: introspection XML for root, nodes and leaves;
//! - [`bus`]: which bus (`system`, `session`, an address);
//! - [`service`]: one service on its own connection, with its dispatcher;
//! - [`outbox`]: the coalescing hand-off from the CAN side, never blocking it;
//! - [`settings`]: VRM instances and custom names, from localsettings or locally;
//! - [`coexist`]: other processes' services of our devices (vecan-dbus), not duplicated;
//! - [`publisher`]: the task that flushes the outbox onto the bus and decides writes;
//! - [`watch`]: other processes' services, followed for NMEA 2000-out;
//! - [`platform`]: Venus notifications for NMEA 2000 alerts, and their
//!   acknowledgements.

pub mod bus;
pub mod coexist;
pub mod introspect;
pub mod outbox;
pub mod platform;
pub mod publisher;
pub mod service;
pub mod settings;
pub mod variant;
pub mod watch;

pub use crate::model::{
    Change, DeviceSettings, Format, Item, ItemTree, ServiceSink, ServiceSpec, Value, WriteOutcome,
    WriteRefusal, WriteRule,
};
pub use bus::{Bus, BusLost};
pub use outbox::Outbox;
pub use publisher::{settle, settled, Carried, Publisher, PublisherConfig, PublisherStats};
pub use service::{
    PublishError, RegisterRequest, Request, Service, ServiceOptions, WriteRequest, VREG_LINK,
};
pub use settings::Settings;
