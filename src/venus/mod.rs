//! What Venus sees: the services the gateway publishes from what the core knows.
//!
//! - [`vecan`]: the bus service `com.victronenergy.vecan.<if>` — every node, its
//!   identity and device instance, bus alarms and statistics;
//! - [`mapper`]: the device services (tank, temperature, battery, …), decided and
//!   filled from the messages by the [`profile`] tables, rendered by [`render`];
//! - [`kind`]: the service types and their paths; [`identity`]: names and the
//!   generic paths; [`rules`]: the user's exclusions and type corrections;
//!   [`fields`]: decoded messages as the mapper reads them;
//! - [`products`]: Victron's own VE.Can products, published from their registers;
//!   [`link`]: DVCC's `/Link/*` values of the bus service, broadcast as link registers.
//! - [`switches`]: NMEA 2000 switch banks as `switch` services, their channels
//!   switched from Venus.
//! - [`alerts`]: NMEA 2000 alerts as Venus notifications, acknowledged back.
//! - [`device_events`]: the protocol the stages that keep services per device
//!   follow when devices appear, are identified, move and go.

pub mod alerts;
pub mod device_events;
pub mod fields;
pub mod identity;
pub mod kind;
pub mod link;
pub mod mapper;
pub mod plausible;
pub mod products;
pub mod profile;
pub mod quirks;
pub mod render;
pub mod rules;
pub mod stage;
pub mod switches;
pub mod vecan;

pub use kind::Kind;
pub use mapper::{Mapper, MapperConfig, MapperStats};
pub use rules::{Override, Rules, Selector};
pub use stage::Stage;
pub use vecan::BusService;
