//! A SocketCAN interface as a frame source, on the monotonic clock.
//!
//! The interface may be missing when the process starts, go down and come back at
//! any time: it is tried again 1 s later, then less and less often (up to every
//! 10 s), and checked every second while it is up. Each change is said once. A
//! step of the system clock is noticed here and told to the gateway (it changes
//! nothing but the timestamps in the log).

use std::io;

use tracing::{debug, info, warn};

use super::next::Next;
use crate::can::link::{link_state, LinkState};
use crate::can::socket::{CanSource, SocketStats};
use crate::can::{Frame, Micros};
use crate::driver::Driver;
use crate::time::{Monotonic, WallWatch};

const SECOND: Micros = 1_000_000;
/// How often an interface that is up is checked for having gone down.
const LINK_CHECK: Micros = SECOND;
/// The longest wait between two tries of a missing or down interface; also how
/// late a step of the wall clock is noticed at most.
pub const MAX_RETRY: Micros = 10 * SECOND;

/// Where the interface stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Not open: the next try is at `next_try`, the one after `delay` later. `last`
    /// is what the previous try found, so a message is written on a change.
    Waiting {
        next_try: Micros,
        delay: Micros,
        last: Option<LinkState>,
    },
    /// Open; checked again at `next_check`.
    Up { next_check: Micros },
}

/// An interface, open or waited for.
pub struct Socket {
    iface: String,
    clock: Monotonic,
    wall: WallWatch,
    src: Option<CanSource>,
    link: Link,
}

impl Socket {
    /// `iface`, opened at the first turn of the shell or waited for.
    pub fn waiting(iface: &str, clock: Monotonic) -> Socket {
        Socket {
            iface: iface.to_owned(),
            clock,
            wall: WallWatch::new(&clock),
            src: None,
            link: Link::Waiting {
                next_try: 0,
                delay: SECOND,
                last: None,
            },
        }
    }

    /// `iface`, which must open now (the interactive commands fail at once).
    pub fn open(iface: &str, clock: Monotonic) -> io::Result<Socket> {
        let src = CanSource::open(iface)?.stamped_by(clock);
        let mut s = Socket::waiting(iface, clock);
        s.src = Some(src);
        Ok(s)
    }

    pub fn interface(&self) -> &str {
        &self.iface
    }

    pub fn clock(&self) -> Monotonic {
        self.clock
    }

    pub(super) fn now(&self) -> Micros {
        self.clock.now()
    }

    pub(super) fn stats(&self) -> Option<SocketStats> {
        self.src.as_ref().map(CanSource::stats)
    }

    /// The next thing that happens: a frame (fed to `driver`), the interface
    /// coming or going, or `wake` reached.
    pub(super) async fn next(&mut self, driver: Option<&mut Driver>, wake: Micros) -> Next {
        let now = self.clock.now();
        if let Some(n) = self.check_link(now) {
            return n;
        }
        if let Some(by) = self.wall.step(&self.clock) {
            if let Some(d) = driver {
                d.clock_stepped(by, "the system clock");
            }
            return Next::Idle;
        }
        let link = match self.link {
            Link::Waiting { next_try, .. } => next_try,
            Link::Up { next_check } => next_check,
        };
        let until = self.clock.instant(wake.min(link).min(now + MAX_RETRY));
        tokio::select! {
            biased;
            r = recv(&mut self.src) => match r {
                Ok(frame) => {
                    if let Some(d) = driver {
                        d.feed_frame(frame.timestamp, &frame);
                    }
                    Next::Fed
                }
                Err(e) => self.lost(self.clock.now(), &e.to_string()),
            },
            () = tokio::time::sleep_until(until) => {
                let now = self.clock.now();
                if now >= wake { Next::Wake(now) } else { Next::Idle }
            }
        }
    }

    /// Puts `f` on the bus (nowhere while the interface is away).
    pub(super) async fn send(&self, driver: &mut Driver, f: &Frame) {
        if let Some(src) = &self.src {
            driver.send(src, f).await;
        }
    }

    /// Opens the interface or checks it, when that is due.
    fn check_link(&mut self, now: Micros) -> Option<Next> {
        match self.link {
            Link::Waiting { next_try, .. } if now >= next_try && self.src.is_some() => {
                info!(interface = %self.iface, "interface up; listening");
                self.link = Link::Up {
                    next_check: now + LINK_CHECK,
                };
                Some(Next::Up(now))
            }
            Link::Waiting { next_try, .. } if now >= next_try => Some(self.try_open(now)),
            Link::Up { next_check } if now >= next_check => match link_state(&self.iface) {
                LinkState::Up | LinkState::Unknown => {
                    self.link = Link::Up {
                        next_check: now + LINK_CHECK,
                    };
                    None
                }
                s => Some(self.lost(now, describe(s))),
            },
            _ => None,
        }
    }

    /// Opens the interface if it is there and up; otherwise says why, once per
    /// change, and tries again later (1 s, doubling up to 10 s).
    fn try_open(&mut self, now: Micros) -> Next {
        let Link::Waiting { delay, last, .. } = self.link else {
            return Next::Idle;
        };
        let state = link_state(&self.iface);
        let opened = match state {
            LinkState::Up | LinkState::Unknown => CanSource::open(&self.iface)
                .map(|s| s.stamped_by(self.clock))
                .map_err(|e| format!("cannot open CAN interface {}: {e}", self.iface)),
            s => Err(describe_for(&self.iface, s)),
        };
        match opened {
            Ok(src) => {
                info!(interface = %self.iface, "interface up; listening");
                self.src = Some(src);
                self.link = Link::Up {
                    next_check: now + LINK_CHECK,
                };
                Next::Up(now)
            }
            Err(why) => {
                if last != Some(state) {
                    warn!(
                        "{why}; trying again in {} s, then less and less often",
                        delay / SECOND
                    );
                } else {
                    debug!("{why}; trying again in {} s", delay / SECOND);
                }
                self.link = Link::Waiting {
                    next_try: now + delay,
                    delay: (delay * 2).min(MAX_RETRY),
                    last: Some(state),
                };
                Next::Trying(why)
            }
        }
    }

    /// The interface went away (a read failed, or sysfs says it is down).
    fn lost(&mut self, now: Micros, why: &str) -> Next {
        warn!(interface = %self.iface, "interface lost: {why}; values are invalid until it returns");
        self.src = None;
        self.link = Link::Waiting {
            next_try: now + SECOND,
            delay: SECOND,
            last: None,
        };
        Next::Lost(now)
    }
}

/// The next frame of an open socket; never, without one.
async fn recv(src: &mut Option<CanSource>) -> io::Result<Frame> {
    match src {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

fn describe(s: LinkState) -> &'static str {
    match s {
        LinkState::Down => "it is down",
        LinkState::Missing => "it no longer exists",
        LinkState::Up | LinkState::Unknown => "it failed",
    }
}

fn describe_for(iface: &str, s: LinkState) -> String {
    match s {
        LinkState::Missing => format!(
            "CAN interface {iface} does not exist (is its driver loaded? `ip link` lists the interfaces)"
        ),
        LinkState::Down => format!(
            "CAN interface {iface} is down (bring it up, e.g. `ip link set {iface} up type can bitrate 250000`)"
        ),
        LinkState::Up | LinkState::Unknown => format!("CAN interface {iface} is not usable"),
    }
}
