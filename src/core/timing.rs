//! The core's timers: our claim, our heartbeat, and the device lifecycle's
//! (`devices::lifecycle`), joined into one wake-up time.

use crate::can::Micros;

use super::Node;

/// The same duplicate or contention is reported again after this long at most.
pub const DUPLICATE_REPORT_INTERVAL: Micros = 10_000_000;
pub const CONTENTION_REPORT_INTERVAL: Micros = 2_000_000;

impl Node {
    /// When the next tick is needed.
    pub(super) fn compute_wake(&self) -> Micros {
        let mut wake = Micros::MAX;
        if let Some(t) = self.claimer.deadline() {
            wake = wake.min(t);
        }
        if let Some(t) = self.heartbeat_due {
            wake = wake.min(t);
        }
        let devices = self
            .lifecycle
            .next_wake(&self.registry, &self.table, self.active());
        let registers = self.vreg.next_wake().unwrap_or(Micros::MAX);
        for l in &self.locals {
            if let Some(t) = l.deadline() {
                wake = wake.min(t);
            }
        }
        wake.min(devices).min(registers)
    }
}
