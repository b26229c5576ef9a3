//! What one turn of a source came to, for the shell to act on.

use crate::can::Micros;

/// What a source's turn came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Next {
    /// An input went to the driver; what it made is to be taken.
    Fed,
    /// The gateway's timers are due at this time.
    Wake(Micros),
    /// The source opened at this time: a gateway may start.
    Up(Micros),
    /// The interface went away at this time.
    Lost(Micros),
    /// The interface could not be opened (tried again later); why.
    Trying(String),
    /// The capture is over.
    Over,
    /// The source's own housekeeping; nothing for the gateway.
    Idle,
}
