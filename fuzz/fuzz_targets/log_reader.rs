//! Any bytes as a capture file: the reader must answer with records or errors, and
//! the capture clock must give every record a time that never runs backwards.
#![no_main]

use libfuzzer_sys::fuzz_target;
use n2k_dbus::logs::{LogReader, Messages};
use n2k_dbus::time::CaptureClock;

fuzz_target!(|data: &[u8]| {
    let mut messages = Messages::new();
    let mut clock = CaptureClock::new();
    let mut last = i64::MIN;
    let mut reader = LogReader::new(data, "fuzz.log").skip_bad_lines(true);
    while let Some(rec) = reader.next_record() {
        if let Ok(rec) = rec {
            let t = clock.time(rec.timestamp());
            assert!(t >= last, "the capture clock ran backwards: {last} then {t}");
            last = t;
            let _ = messages.on_record(&rec);
        }
    }
    let _ = LogReader::new(data, "fuzz.log").take(1000).count();
});
