//! The candump `-L` log format, as canplayer and python-can read it.

use std::io::{self, Write};

use crate::can::Frame;

/// Writes `frame` as `(seconds.micros) iface ID#DATA` and a newline.
pub fn write_candump_log(out: &mut impl Write, iface: &str, frame: &Frame) -> io::Result<()> {
    let t = frame.timestamp;
    let (secs, micros) = (t.div_euclid(1_000_000), t.rem_euclid(1_000_000));
    write!(out, "({secs:010}.{micros:06}) {iface} {:08X}#", frame.id)?;
    for b in frame.data() {
        write!(out, "{b:02X}")?;
    }
    out.write_all(b"\n")
}
