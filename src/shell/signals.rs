//! The stop signals, listened to once for the whole life of the process.
//!
//! SIGTERM (daemontools, systemd), SIGINT (Ctrl-C) and SIGHUP (the terminal closed)
//! each withdraw the services, release their names and end with status 0
//! (`docs/architecture.md#shutdown`). The handlers are installed once, so a signal
//! that arrives while the process is busy elsewhere — a flush settling, a capture
//! blocked on its input — is kept until someone asks, not lost between two waits.

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

/// The process's stop signals; clones share them.
#[derive(Debug, Clone)]
pub struct Signals {
    rx: watch::Receiver<Option<&'static str>>,
}

impl Signals {
    /// Installs the handlers. Inside a tokio runtime with its I/O driver.
    pub fn install() -> std::io::Result<Signals> {
        let handlers = [
            (signal(SignalKind::terminate())?, "SIGTERM"),
            (signal(SignalKind::interrupt())?, "SIGINT"),
            (signal(SignalKind::hangup())?, "SIGHUP"),
        ];
        let (tx, rx) = watch::channel(None);
        tokio::spawn(listen(handlers, tx));
        Ok(Signals { rx })
    }

    /// The first signal received, if one was.
    pub fn received(&self) -> Option<&'static str> {
        *self.rx.borrow()
    }

    /// Waits for the first signal (at once if it came already); its name.
    pub async fn wait(&self) -> &'static str {
        let mut rx = self.rx.clone();
        let name = rx.wait_for(Option::is_some).await.ok().and_then(|n| *n);
        match name {
            Some(name) => name,
            // The listener keeps the sender for the life of the runtime.
            None => std::future::pending().await,
        }
    }
}

/// Tells the first signal and keeps the handlers (and so the process) alive.
async fn listen(
    mut handlers: [(Signal, &'static str); 3],
    tx: watch::Sender<Option<&'static str>>,
) {
    loop {
        let [(term, t), (int, i), (hup, h)] = &mut handlers;
        let name = tokio::select! {
            Some(()) = term.recv() => *t,
            Some(()) = int.recv() => *i,
            Some(()) = hup.recv() => *h,
            else => return std::future::pending().await,
        };
        tracing::debug!(signal = name, "received");
        tx.send_if_modified(|first| {
            let new = first.is_none();
            if new {
                *first = Some(name);
            }
            new
        });
    }
}
