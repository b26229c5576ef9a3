//! Any sequence of CAN frames through reassembly, decoding and JSON output.
//! Input: records of 13 bytes — 4 id, 1 length, 8 data — timestamps 1 ms apart.
#![no_main]

use libfuzzer_sys::fuzz_target;
use n2k_dbus::can::Frame;
use n2k_dbus::json::{self, Style, Units};
use n2k_dbus::n2k::Assembler;
use n2k_dbus::pgn;

fuzz_target!(|data: &[u8]| {
    let mut asm = Assembler::new();
    let mut out = String::new();
    for (i, rec) in data.chunks_exact(13).enumerate() {
        let id = u32::from_le_bytes([rec[0], rec[1], rec[2], rec[3]]);
        let len = usize::from(rec[4] % 9);
        let frame = Frame::new(i as i64 * 1000, id, &rec[5..5 + len]);
        if let Some(m) = asm.on_frame(&frame) {
            if let Some(def) = pgn::select(m.id.pgn, m.data) {
                out.clear();
                json::write_message(&mut out, Style::canboat(Units::Si), &m, def);
                json::write_message(&mut out, Style::native(), &m, def);
            }
        }
    }
});
