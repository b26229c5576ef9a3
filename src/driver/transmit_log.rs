//! What the gateway transmits, written as candump `-L` lines (`(<s>.<µs>) <if>
//! <ID>#<DATA>`), so that what a transmitting mode sends can be read, decoded and
//! replayed (`canplayer`) anywhere — also where no CAN interface exists.
//!
//! Writing never stops the gateway: the first failure is logged and the log closed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::can::{Frame, Micros};

/// A candump `-L` file of transmitted frames.
pub struct TransmitLog {
    out: Option<BufWriter<File>>,
    path: PathBuf,
    iface: String,
    frames: u64,
}

impl TransmitLog {
    /// Creates (or truncates) `path`; frames are written as sent on `iface`.
    pub fn create(path: &Path, iface: &str) -> std::io::Result<TransmitLog> {
        Ok(TransmitLog {
            out: Some(BufWriter::new(File::create(path)?)),
            path: path.to_owned(),
            iface: iface.to_owned(),
            frames: 0,
        })
    }

    /// One frame sent at wall time `at` (µs since 1970).
    pub fn record(&mut self, at: Micros, f: &Frame) {
        let Some(out) = &mut self.out else { return };
        let mut line = format!(
            "({}.{:06}) {} {:08X}#",
            at.div_euclid(1_000_000),
            at.rem_euclid(1_000_000),
            self.iface,
            f.id
        );
        for b in f.data() {
            line.push_str(&format!("{b:02X}"));
        }
        line.push('\n');
        if let Err(e) = out.write_all(line.as_bytes()) {
            self.fail(&e);
            return;
        }
        self.frames += 1;
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Writes out what is buffered (the end of a run, a quiet moment).
    pub fn flush(&mut self) {
        if let Some(out) = &mut self.out {
            if let Err(e) = out.flush() {
                self.fail(&e);
            }
        }
    }

    fn fail(&mut self, e: &std::io::Error) {
        tracing::warn!(file = %self.path.display(), "cannot write the transmit log: {e}; it is closed");
        self.out = None;
    }
}

impl Drop for TransmitLog {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_candump_lines() {
        let path = std::env::temp_dir().join(format!("n2k-dbus-txlog-{}.log", std::process::id()));
        {
            let mut log = TransmitLog::create(&path, "can0").expect("create");
            log.record(
                1_700_000_000_123_456,
                &Frame::new(0, 0x18EE_FF64, &[1, 2, 3]),
            );
            log.record(5, &Frame::new(0, 0x1CEF_FF64, &[0x66, 0x99]));
            assert_eq!(log.frames(), 2);
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            text,
            "(1700000000.123456) can0 18EEFF64#010203\n(0.000005) can0 1CEFFF64#6699\n"
        );
    }
}
