//! The clock a capture is replayed on. Most captures carry timestamps; some
//! (candump without `-t`, the old Angstrom form) carry none, and every record reads
//! time 0. Replayed like that, no timer could ever run, so such a capture gets a
//! nominal bus rate instead: one record per [`UNTIMED_SPACING`].

use crate::can::Micros;

use super::Record;

/// The spacing given to records of a capture without timestamps: 1,000 frames/s,
/// about half the load a 250 kbit/s bus carries.
pub const UNTIMED_SPACING: Micros = 1_000;

/// Assigns each record the time it is replayed at.
#[derive(Debug, Default, Clone)]
pub struct CaptureClock {
    records: i64,
    timed: bool,
}

impl CaptureClock {
    /// A clock for a new capture.
    pub fn new() -> CaptureClock {
        CaptureClock::default()
    }

    /// The replay time of the next record: its own timestamp once the capture has
    /// shown one, else its place in the capture times [`UNTIMED_SPACING`].
    pub fn time(&mut self, record: &Record) -> Micros {
        let t = record.timestamp();
        self.timed |= t != 0;
        let n = self.records;
        self.records += 1;
        if self.timed {
            t
        } else {
            n * UNTIMED_SPACING
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::can::Frame;

    fn at(t: Micros) -> Record {
        Record::Frame(Frame::new(t, 0x09F8_0100, &[0; 8]))
    }

    #[test]
    fn untimed_records_get_a_nominal_rate() {
        let mut c = CaptureClock::new();
        assert_eq!(c.time(&at(0)), 0);
        assert_eq!(c.time(&at(0)), 1_000);
        assert_eq!(c.time(&at(0)), 2_000);
    }

    #[test]
    fn timed_records_keep_their_time() {
        let mut c = CaptureClock::new();
        assert_eq!(c.time(&at(0)), 0);
        assert_eq!(c.time(&at(352_000)), 352_000);
        assert_eq!(c.time(&at(1_502_000)), 1_502_000);
    }
}
