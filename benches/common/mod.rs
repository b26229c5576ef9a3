//! Inputs shared by the benchmarks.

use n2k_dbus::can::Frame;
use n2k_dbus::logs::{LogReader, Record};
use n2k_dbus::pgn::{FieldDef, Value, Visitor};

/// The real frame captures candumpSample1.txt and candumpSample3.txt (8,394 frames),
/// repeated to 50,400 frames at 2,500 frames/s (a busy bus).
pub fn frames() -> Vec<Frame> {
    frames_at_least(50_000)
}

/// The same captures repeated to at least `n` frames.
pub fn frames_at_least(n: usize) -> Vec<Frame> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/candump-samples/");
    let mut base = Vec::new();
    for name in ["candumpSample1.txt", "candumpSample3.txt"] {
        let text = std::fs::read_to_string(format!("{dir}{name}")).expect("sample");
        for r in LogReader::new(text.as_bytes(), name).flatten() {
            if let Record::Frame(f) = r {
                base.push(f);
            }
        }
    }
    let mut out = Vec::new();
    let mut t = 1_500_000_000_000_000i64;
    while out.len() < n {
        for f in &base {
            t += 400;
            out.push(Frame::new(t, f.id, f.data()));
        }
    }
    out
}

/// Counts the fields that carry a value: a decode without any output.
pub struct Count(pub usize);

impl Visitor for Count {
    fn field(&mut self, _f: &FieldDef, v: Value<'_>) {
        self.0 += usize::from(!matches!(v, Value::Missing(_)));
    }
}
