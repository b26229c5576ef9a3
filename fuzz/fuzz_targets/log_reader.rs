//! Any bytes as a capture file: the reader must answer with records or errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use n2k_dbus::logs::LogReader;
use n2k_dbus::logs::Messages;

fuzz_target!(|data: &[u8]| {
    let mut replay = Messages::new();
    let mut reader = LogReader::new(data, "fuzz.log").skip_bad_lines(true);
    while let Some(rec) = reader.next_record() {
        if let Ok(rec) = rec {
            let _ = replay.on_record(&rec);
        }
    }
    let _ = LogReader::new(data, "fuzz.log").take(1000).count();
});
