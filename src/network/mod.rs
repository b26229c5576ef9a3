//! The network stage: who is on the bus and at which address, and our own place on it.
//!
//! - [`name`]: the ISO NAME, a device's identity;
//! - [`table`]: source address → NAME, following claims;
//! - [`claim`]: our own address claim;
//! - [`mgmt`]: the network management messages read and written.

pub mod claim;
pub mod mgmt;
pub mod name;
pub mod table;

pub use claim::{ClaimAction, ClaimState, Claimer};
pub use mgmt::{ConfigInfo, ProductInfo};
pub use name::{Name, NameFields};
pub use table::{AddressTable, ClaimChange, Traffic};
