//! Readiness and status for systemd (`sd_notify`): one datagram per message to the
//! socket named by `NOTIFY_SOCKET`. Without that variable (not under systemd with
//! `Type=notify`) every call does nothing.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;

use tracing::debug;

/// Where systemd listens for this service's notifications.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// The notifier of `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|s| {
            let addr = match s.as_encoded_bytes().strip_prefix(b"@") {
                Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name),
                None => SocketAddr::from_pathname(Path::new(&s)),
            };
            Some((UnixDatagram::unbound().ok()?, addr.ok()?))
        });
        Notifier { target }
    }

    /// Sends `state` (`READY=1`, `STATUS=…`, `STOPPING=1`); a failure is only logged.
    pub fn notify(&self, state: &str) {
        if let Some((socket, addr)) = &self.target {
            if let Err(e) = socket.send_to_addr(state.as_bytes(), addr) {
                debug!(error = %e, "cannot notify systemd");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_each_state_as_one_datagram() {
        let path = std::env::temp_dir().join(format!("n2k-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).expect("bind");
        let notifier = Notifier {
            target: Some((
                UnixDatagram::unbound().expect("socket"),
                SocketAddr::from_pathname(&path).expect("address"),
            )),
        };
        notifier.notify("READY=1");
        notifier.notify("STATUS=claimed address 100");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).expect("first");
        assert_eq!(&buf[..n], b"READY=1");
        let n = listener.recv(&mut buf).expect("second");
        assert_eq!(&buf[..n], b"STATUS=claimed address 100");
        let _ = std::fs::remove_file(&path);
    }
}
