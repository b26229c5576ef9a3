//! Throughput of the first stage: frames → messages → decoded fields (and JSON).
//!
//! Input: the real frame captures candumpSample1.txt and candumpSample3.txt (8,394
//! frames between them), repeated to 50,400 frames (in memory) and to 1,007,280
//! frames of candump -L text (the JSON path, as `decode --format canboat-json`
//! reads a file). `cargo bench --bench decode` prints frames per second as
//! criterion's "thrpt".

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use n2k_dbus::json::{self, Style, Units};
use n2k_dbus::logs::Messages;
use n2k_dbus::logs::{write_candump_log, LogReader};
use n2k_dbus::n2k::Assembler;
use n2k_dbus::pgn;

mod common;
use common::{frames, frames_at_least, Count};

fn bench(c: &mut Criterion) {
    let frames = frames();
    let million = frames_at_least(1_000_000);
    let mut log = Vec::new();
    for f in &million {
        write_candump_log(&mut log, "can0", f).expect("write");
    }
    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("reassemble+decode", |b| {
        b.iter(|| {
            let mut asm = Assembler::new();
            let mut n = Count(0);
            for f in &frames {
                if let Some(m) = asm.on_frame(f) {
                    if let Some(def) = pgn::select(m.id.pgn, m.data) {
                        pgn::walk(def, m.data, &mut n);
                    }
                }
            }
            black_box(n.0)
        })
    });
    g.throughput(Throughput::Elements(million.len() as u64));
    g.bench_function("candump-log→canboat-json", |b| {
        b.iter(|| {
            let mut replay = Messages::new();
            let mut line = String::with_capacity(1024);
            let mut bytes = 0usize;
            for rec in LogReader::new(log.as_slice(), "bench.log") {
                let rec = rec.expect("valid log");
                if let Some(m) = replay.on_record(&rec) {
                    if let Some(def) = pgn::select(m.id.pgn, m.data) {
                        line.clear();
                        json::write_message(&mut line, Style::canboat(Units::Std), &m, def);
                        bytes += line.len();
                    }
                }
            }
            black_box(bytes)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
