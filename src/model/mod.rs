//! The D-Bus item model, without any D-Bus: what a Venus service holds and what the
//! gateway says about it. Pure data, shared by the stages that decide what is
//! published (`venus`, `gateway`) and the one that puts it on the bus (`dbus`).
//!
//! - [`value`]: a value (invalid, integer, real, text, empty list);
//! - [`item`]: one leaf — value, text format, write rule, bounds;
//! - [`tree`]: a service's items as one sorted table that answers every object;
//! - [`spec`]: a service to publish, a change to one, its settings-backed paths;
//! - [`write`]: the answer to a client's write, with Victron's codes;
//! - [`sink`]: what the gateway hands its service changes to.

pub mod item;
pub mod sink;
pub mod spec;
pub mod tree;
pub mod value;
pub mod write;

pub use item::{Format, Item, Refusal, WriteRule};
pub use sink::ServiceSink;
pub use spec::{Change, DeviceSettings, ServiceSpec};
pub use tree::ItemTree;
pub use value::Value;
pub use write::{WriteOutcome, WriteRefusal};
