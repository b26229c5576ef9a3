//! Bus load: the share of the 250 kbit/s NMEA 2000 bus the frames we see occupy.

use crate::can::Micros;

/// NMEA 2000's bit rate.
pub const BIT_RATE: u64 = 250_000;
/// The load is measured over windows this long.
pub const WINDOW: Micros = 1_000_000;

/// Bits on the wire of one extended data frame with `len` data bytes: start of frame,
/// 29-bit identifier with SRR and IDE, RTR, two reserved bits, DLC, data, CRC and its
/// delimiter, ACK, end of frame and interframe space. Stuff bits are not counted, so
/// the figure is the nominal load, a little below what an oscilloscope shows.
pub fn frame_bits(len: usize) -> u64 {
    67 + 8 * len.min(8) as u64
}

/// Bits per window, received and sent alike.
#[derive(Debug, Default, Clone)]
pub struct LoadMeter {
    window_start: Option<Micros>,
    bits: u64,
    last_percent: Option<f64>,
}

impl LoadMeter {
    /// Counts a frame of `len` bytes seen at `now`.
    pub fn add(&mut self, now: Micros, len: usize) {
        self.roll(now);
        self.bits += frame_bits(len);
    }

    fn roll(&mut self, now: Micros) {
        let start = *self.window_start.get_or_insert(now);
        if now < start {
            // A clock that went backwards starts a new window.
            self.window_start = Some(now);
            self.bits = 0;
        } else if now - start >= WINDOW {
            let elapsed = now - start;
            let windows = elapsed / WINDOW;
            // Only the window just finished carries the bits; idle windows after it
            // read zero.
            self.last_percent = Some(if windows == 1 {
                self.bits as f64 * 100.0 / BIT_RATE as f64
            } else {
                0.0
            });
            self.window_start = Some(start + windows * WINDOW);
            self.bits = 0;
        }
    }

    /// Load in % over the last complete window, as of `now`; `None` before one.
    pub fn percent(&self, now: Micros) -> Option<f64> {
        match self.window_start {
            Some(start) if now >= start + 2 * WINDOW => Some(0.0),
            Some(start) if now >= start + WINDOW => {
                Some(self.bits as f64 * 100.0 / BIT_RATE as f64)
            }
            _ => self.last_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_second_of_frames() {
        let mut m = LoadMeter::default();
        // 1,000 eight-byte frames in one second: 131,000 bits of 250,000.
        for i in 0..1000 {
            m.add(i * 1000, 8);
        }
        assert_eq!(m.percent(999_999), None);
        let p = m.percent(1_000_000).expect("window complete");
        assert!((p - 52.4).abs() < 1e-9, "{p}");
        assert_eq!(m.percent(2_500_000), Some(0.0), "an idle window reads 0");
    }
}
