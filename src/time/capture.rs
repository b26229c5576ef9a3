//! The clock a capture is replayed on.
//!
//! A capture's timestamps are not a clock the gateway can run on as they are:
//! - some captures (candump without `-t`, the old Angstrom form) carry none, and
//!   every record reads time 0; such a capture gets a nominal bus rate instead, one
//!   record per [`UNTIMED_SPACING`];
//! - real captures step and interleave: a logger's clock is set while it records, a
//!   device boots at 1970 and is set by GNSS, two loggers write one file
//!   (`dirona-actisense-serial.raw` interleaves one logger's records with another's
//!   whose clock is up to 6 s behind, then starts over 64 s earlier). Taken as
//!   elapsed time, a jump backwards would stop every timer and a jump forwards would
//!   age out every device that keeps sending.
//!
//! So the replay time follows the front of the capture's clock and never runs
//! backwards. A record behind the front (a lagging logger, a reordered record) takes
//! no time. Records that stay behind, [`BEHIND_RECORDS`] in a row, mean the clock
//! went back: a step, and the front starts over there. A jump forwards by more than
//! [`FORWARD_STEP`], where more than [`STEP_RATIO`] records at the usual spacing
//! would have fitted in it, is a step too; a longer silence of a bus that was quiet
//! anyway is real time, and devices may age out in it. A step takes the replay time
//! on by the usual spacing of the records, as a record that came on time would.

use super::Micros;

/// The spacing given to records of a capture without timestamps: 1,000 frames/s,
/// about half the load a 250 kbit/s bus carries.
pub const UNTIMED_SPACING: Micros = 1_000;

/// A jump forwards shorter than this is always elapsed time. Below the 12 s after
/// which an active gateway declares a silent device gone, above any pause a
/// working bus makes (the slowest periodic PGNs are sent every 2.5 s, a heartbeat
/// every 60 s is accompanied by the rest of the device's traffic).
pub const FORWARD_STEP: Micros = 5_000_000;

/// A jump forwards longer than [`FORWARD_STEP`] is a step when this many records at
/// the usual spacing would have fitted in it.
pub const STEP_RATIO: Micros = 100;

/// Records behind the front of the clock, one after the other, that make a step
/// backwards. Two interleaved loggers never put more than 9 in a row in
/// `dirona-actisense-serial.raw`.
pub const BEHIND_RECORDS: u32 = 64;

/// Replay time between two passes of a capture replayed again.
pub const PASS_GAP: Micros = 1_000_000;

/// One clock step: how far the capture's own time jumped, and the replay time it
/// happened at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub at: Micros,
    pub by: Micros,
}

/// Assigns each record the time it is replayed at.
#[derive(Debug, Default, Clone)]
pub struct CaptureClock {
    records: i64,
    timed: bool,
    /// The front of the capture's own clock (nominal when untimed).
    front: Option<Micros>,
    /// Replay time = capture time + offset; a step changes the offset.
    offset: Micros,
    /// The replay time of the previous record.
    last: Micros,
    /// The usual time between two records: an average of recent gaps.
    spacing: Micros,
    gaps: u32,
    /// Records behind the front, one after the other.
    behind: u32,
    steps: u64,
    last_step: Option<Step>,
    /// The next record starts a new pass: aligned, not counted as a step.
    rewound: bool,
}

impl CaptureClock {
    /// A clock for a new capture.
    pub fn new() -> CaptureClock {
        CaptureClock::default()
    }

    /// The replay time of the next record, stamped `timestamp` (see the module
    /// documentation).
    pub fn time(&mut self, timestamp: Micros) -> Micros {
        let own = self.record_time(timestamp);
        self.at(own)
    }

    /// The next record's own time, steps and all: its `timestamp`, or, in a capture
    /// without timestamps, the nominal one (a record per [`UNTIMED_SPACING`]).
    pub fn record_time(&mut self, timestamp: Micros) -> Micros {
        let t = timestamp;
        self.timed |= t != 0;
        let n = self.records;
        self.records += 1;
        if self.timed {
            t
        } else {
            n * UNTIMED_SPACING
        }
    }

    /// The replay time of a record whose own time is `own`.
    pub fn at(&mut self, own: Micros) -> Micros {
        let Some(front) = self.front else {
            // The first record: replay time is capture time until a step.
            self.front = Some(own);
            self.last = own;
            return own;
        };
        if std::mem::take(&mut self.rewound) {
            self.restart(own, PASS_GAP);
            return self.last;
        }
        if own < front {
            self.behind += 1;
            if self.behind >= BEHIND_RECORDS {
                self.step(own, own.saturating_sub(front));
            }
            return self.last;
        }
        self.behind = 0;
        let gap = own.saturating_sub(front);
        if gap > FORWARD_STEP.max(self.spacing.saturating_mul(STEP_RATIO)) {
            self.step(own, gap);
            return self.last;
        }
        // An average over about eight gaps: quick to follow a change of rate,
        // steady over the bursts of fast packets.
        if self.gaps == 0 {
            self.spacing = gap;
        } else {
            // Both are at least 0: the difference cannot overflow.
            self.spacing += (gap - self.spacing) / 8;
        }
        self.gaps = self.gaps.saturating_add(1);
        self.front = Some(own);
        self.last = own.saturating_add(self.offset).max(self.last);
        self.last
    }

    /// The clock jumped by `by` to `own`: the front starts over there, a usual
    /// spacing after the previous record.
    fn step(&mut self, own: Micros, by: Micros) {
        self.restart(own, self.spacing);
        self.steps += 1;
        self.last_step = Some(Step { at: self.last, by });
    }

    fn restart(&mut self, own: Micros, after: Micros) {
        let at = self.last.saturating_add(after);
        self.offset = at.saturating_sub(own);
        self.front = Some(own);
        self.behind = 0;
        self.last = at;
    }

    /// The capture starts over (a repeated replay): its first record comes
    /// [`PASS_GAP`] after the last one, whatever its own time says.
    pub fn rewind(&mut self) {
        self.records = 0;
        self.timed = false;
        self.rewound = self.front.is_some();
    }

    /// The capture's own time at replay time `t`, as of the latest step: what a
    /// person reads as the time something was last heard.
    pub fn own_time(&self, t: Micros) -> Micros {
        t.saturating_sub(self.offset)
    }

    /// Steps so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The latest step.
    pub fn last_step(&self) -> Option<Step> {
        self.last_step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = 1_000_000;

    #[test]
    fn untimed_records_get_a_nominal_rate() {
        let mut c = CaptureClock::new();
        assert_eq!(c.time(0), 0);
        assert_eq!(c.time(0), 1_000);
        assert_eq!(c.time(0), 2_000);
    }

    #[test]
    fn timed_records_keep_their_time() {
        let mut c = CaptureClock::new();
        assert_eq!(c.time(0), 0);
        assert_eq!(c.time(352_000), 352_000);
        assert_eq!(c.time(1_502_000), 1_502_000);
        assert_eq!(c.steps(), 0);
    }

    /// Records every 10 ms from `from`, `n` of them, through `c`.
    fn busy(c: &mut CaptureClock, from: Micros, n: i64) -> Vec<Micros> {
        (0..n).map(|k| c.at(from + k * 10_000)).collect()
    }

    fn before_front(t: &[Micros]) -> Micros {
        *t.last().unwrap()
    }

    #[test]
    fn a_step_backwards_is_no_time_and_time_goes_on() {
        let mut c = CaptureClock::new();
        let before = busy(&mut c, 1_700_000_000 * S, 100);
        let last = *before.last().unwrap();
        let back = 1_700_000_000 * S - 14 * 86_400 * S;
        let after = busy(&mut c, back, 200);
        assert_eq!(c.steps(), 1);
        let n = BEHIND_RECORDS as usize;
        assert_eq!(
            c.last_step().unwrap().by,
            back + (n as i64 - 1) * 10_000 - before_front(&before)
        );
        // No time while behind, then on at the usual spacing and as the capture says.
        assert!(after[..n - 1].iter().all(|&t| t == last));
        assert_eq!(after[n - 1], last + 10_000);
        assert_eq!(after[199] - after[n - 1], (200 - n as i64) * 10_000);
    }

    #[test]
    fn fifty_years_forwards_on_a_busy_bus_is_a_step() {
        let mut c = CaptureClock::new();
        let before = busy(&mut c, 0, 50);
        let after = busy(&mut c, 50 * 365 * 86_400 * S, 50);
        assert_eq!(c.steps(), 1);
        assert!(after[0] - before[49] <= 10_000);
    }

    #[test]
    fn a_pause_of_a_quiet_bus_is_time() {
        // One message every 2 s, then 60 s of silence: the devices may age out.
        let mut c = CaptureClock::new();
        let t: Vec<Micros> = (0..20).map(|k| c.at(k * 2 * S)).collect();
        let later = c.at(t[19] + 60 * S);
        assert_eq!(c.steps(), 0);
        assert_eq!(later, t[19] + 60 * S);
        // A short pause of a busy bus is time too.
        let mut c = CaptureClock::new();
        let t = busy(&mut c, 0, 100);
        assert_eq!(c.at(t[99] + 4 * S), t[99] + 4 * S);
        assert_eq!(c.steps(), 0);
    }

    #[test]
    fn two_loggers_interleaved_sixty_seconds_apart() {
        // Logger B's clock is 60 s ahead of A's; their records alternate. Time
        // follows the front (B) after one step; A's records take no time.
        let mut c = CaptureClock::new();
        let mut times = Vec::new();
        for k in 0..1000 {
            times.push(c.at(1_000 * S + k * 10_000));
            times.push(c.at(1_060 * S + k * 10_000 + 5_000));
        }
        assert_eq!(c.steps(), 1);
        assert!(times.windows(2).all(|w| w[1] >= w[0]));
        // 1000 records of each, 10 s of either clock: 10 s of replay time.
        let span = times[1999] - times[0];
        assert!((9_990_000..=10_010_000).contains(&span), "{span}");
    }

    #[test]
    fn a_lagging_logger_takes_no_time() {
        // Records of a second logger a few seconds behind, a few at a time.
        let mut c = CaptureClock::new();
        let mut last = 0;
        for k in 0..1000 {
            let t = c.at(1_000 * S + k * 10_000);
            assert!(t >= last);
            last = t;
            for j in 0..(k % 10) {
                assert_eq!(c.at(1_000 * S + k * 10_000 - 6 * S + j), last);
            }
        }
        assert_eq!(c.steps(), 0);
        assert_eq!(last, 1_000 * S + 999 * 10_000);
    }

    #[test]
    fn extreme_timestamps_neither_overflow_nor_run_backwards() {
        let mut c = CaptureClock::new();
        let mut last = Micros::MIN;
        for own in [
            Micros::MIN,
            Micros::MAX,
            0,
            Micros::MAX,
            Micros::MIN,
            -1,
            Micros::MAX,
        ] {
            for _ in 0..70 {
                let t = c.at(own);
                assert!(t >= last, "{t} after {last}");
                last = t;
            }
        }
    }

    #[test]
    fn a_repeated_capture_starts_a_second_later() {
        let mut c = CaptureClock::new();
        assert_eq!(c.time(5 * S), 5 * S);
        assert_eq!(c.time(6 * S), 6 * S);
        c.rewind();
        assert_eq!(c.time(5 * S), 7 * S);
        assert_eq!(c.time(6 * S), 8 * S);
        assert_eq!(c.steps(), 0);
    }
}
