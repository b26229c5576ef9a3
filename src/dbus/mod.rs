//! The D-Bus side: Venus OS services exactly as Victron's clients expect them.
//!
//! - [`value`]: values and their D-Bus encoding (invalid = `ai []`);
//! - [`item`]: one leaf — value, text format, write rule, bounds;
//! - [`tree`]: a service's items as one sorted table that answers every object;
//! - [`introspect`]: introspection XML for root, nodes and leaves;
//! - [`bus`]: which bus (`system`, `session`, an address);
//! - [`service`]: one service on its own connection, with its dispatcher;
//! - [`sink`]: what the gateway hands its service changes to;
//! - [`outbox`]: the coalescing hand-off from the CAN side, never blocking it;
//! - [`settings`]: VRM instances and custom names, from localsettings or locally;
//! - [`publisher`]: the task that flushes the outbox onto the bus and decides writes.

pub mod bus;
pub mod introspect;
pub mod item;
pub mod outbox;
pub mod publisher;
pub mod service;
pub mod settings;
pub mod sink;
pub mod tree;
pub mod value;

pub use bus::Bus;
pub use item::{Format, Item, WriteRule};
pub use outbox::Outbox;
pub use publisher::{settle, settled, Carried, Publisher, PublisherConfig, PublisherStats};
pub use service::{
    Change, PublishError, Service, ServiceOptions, ServiceSpec, WriteOutcome, WriteRefusal,
    WriteRequest,
};
pub use settings::{DeviceSettings, Settings};
pub use sink::ServiceSink;
pub use tree::ItemTree;
pub use value::Value;
