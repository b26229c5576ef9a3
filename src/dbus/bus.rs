//! Which message bus services go on: the system bus on Venus, a session bus or a
//! private bus during development and tests.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use tokio::sync::watch;
use zbus::Connection;

/// The bus chosen with `--dbus system|session|<address>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Bus {
    /// The system bus, as on Venus OS.
    #[default]
    System,
    /// The session bus of `DBUS_SESSION_BUS_ADDRESS`.
    Session,
    /// A bus by address, e.g. `unix:path=/tmp/bus`.
    Address(String),
}

impl Bus {
    /// Opens a new connection, authenticated and registered with `Hello`.
    pub async fn connect(&self) -> zbus::Result<Connection> {
        let builder = match self {
            Bus::System => zbus::connection::Builder::system()?,
            Bus::Session => zbus::connection::Builder::session()?,
            Bus::Address(a) => zbus::connection::Builder::address(a.as_str())?,
        };
        builder.build().await
    }
}

impl FromStr for Bus {
    type Err = String;

    fn from_str(s: &str) -> Result<Bus, String> {
        match s {
            "system" => Ok(Bus::System),
            "session" => Ok(Bus::Session),
            a if a.contains(':') => Ok(Bus::Address(a.to_owned())),
            other => Err(format!(
                "`{other}`: expected `system`, `session` or a bus address such as `unix:path=/run/dbus/system_bus_socket`"
            )),
        }
    }
}

impl fmt::Display for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bus::System => f.write_str("system"),
            Bus::Session => f.write_str("session"),
            Bus::Address(a) => f.write_str(a),
        }
    }
}

/// Set when a service's connection closes without the service being withdrawn: the
/// bus daemon went away or dropped us. A Venus process that lives on without its
/// bus shows nothing and is not restarted, so the shell ends on it
/// (`docs/architecture.md#shutdown`). Shared by every service of a process.
#[derive(Debug, Clone)]
pub struct BusLost(Arc<watch::Sender<Option<Arc<str>>>>);

impl Default for BusLost {
    fn default() -> BusLost {
        BusLost(Arc::new(watch::Sender::new(None)))
    }
}

impl BusLost {
    /// `service`'s connection closed; the first such service is kept.
    pub fn set(&self, service: &str) {
        self.0.send_if_modified(|lost| {
            let first = lost.is_none();
            if first {
                *lost = Some(Arc::from(service));
            }
            first
        });
    }

    /// The service whose connection closed first, if one did.
    pub fn get(&self) -> Option<Arc<str>> {
        self.0.borrow().clone()
    }

    /// Waits until a connection closes; the service it was.
    pub async fn wait(&self) -> Arc<str> {
        let mut rx = self.0.subscribe();
        let lost = rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|l| l.clone());
        match lost {
            Some(service) => service,
            // The sender lives as long as `self`: never reached.
            None => std::future::pending().await,
        }
    }
}
