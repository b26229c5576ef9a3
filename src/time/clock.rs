//! The live daemon's clock: monotonic, so that setting the system clock (NTP at
//! boot on a GX that starts at 1970, a user's `date -s`) is not time passing for
//! the gateway. Wall-clock time is only for what a person reads.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::Micros;

/// A step of the wall clock smaller than this is drift or NTP slewing, not a step.
pub const WALL_STEP: Micros = 1_000_000;

/// Microseconds since the daemon started, on `CLOCK_MONOTONIC` (through tokio's
/// [`Instant`]).
#[derive(Debug, Clone, Copy)]
pub struct Monotonic {
    start: Instant,
}

impl Default for Monotonic {
    fn default() -> Self {
        Monotonic::new()
    }
}

impl Monotonic {
    /// A clock that reads 0 now.
    pub fn new() -> Monotonic {
        Monotonic {
            start: Instant::now(),
        }
    }

    /// The time now.
    pub fn now(&self) -> Micros {
        micros(self.start.elapsed())
    }

    /// The instant at which the clock reads `t`, to sleep until.
    pub fn instant(&self, t: Micros) -> Instant {
        self.start + std::time::Duration::from_micros(t.max(0) as u64)
    }

    /// The wall-clock time (µs since the epoch) of clock time `t`, as the wall clock
    /// reads now: what a person reads as "last heard".
    pub fn wall(&self, t: Micros) -> Micros {
        wall_now().saturating_sub(self.now().saturating_sub(t))
    }
}

/// Watches the wall clock against the monotonic one and tells when it stepped.
#[derive(Debug, Clone, Copy)]
pub struct WallWatch {
    /// Wall minus monotonic at the last look.
    skew: Micros,
}

impl WallWatch {
    /// Starts watching.
    pub fn new(clock: &Monotonic) -> WallWatch {
        WallWatch {
            skew: wall_now() - clock.now(),
        }
    }

    /// How far the wall clock stepped since the last look, if it did.
    pub fn step(&mut self, clock: &Monotonic) -> Option<Micros> {
        let skew = wall_now() - clock.now();
        let by = skew - self.skew;
        if by.abs() < WALL_STEP {
            return None;
        }
        self.skew = skew;
        Some(by)
    }
}

fn micros(d: std::time::Duration) -> Micros {
    Micros::try_from(d.as_micros()).unwrap_or(Micros::MAX)
}

/// The wall clock in µs since the epoch (0 before 1970).
pub fn wall_now() -> Micros {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_starts_at_zero_and_maps_back_to_instants() {
        let c = Monotonic::new();
        let t = c.now();
        assert!((0..1_000_000).contains(&t));
        assert_eq!(
            c.instant(5_000_000) - c.instant(2_000_000),
            std::time::Duration::from_secs(3)
        );
        let w = c.wall(c.now());
        assert!((w - wall_now()).abs() < 1_000_000);
    }
}
