//! Throughput and memory of the core: reassembly, decoding, the network table and
//! the device lifecycle, with timers run on the capture's clock.
//!
//! - `core/real-capture`: candumpSample1.txt and candumpSample3.txt (8,394 frames),
//!   repeated to 50,400 frames at 2,500 frames/s, through an active core; every
//!   message is decoded (fields counted).
//! - `core/flood`: hostile random traffic (random sources, NAMEs, requests, partial
//!   transfers). Before it runs, 8 million flood frames go through one core and the
//!   process's resident memory and the core's table sizes are printed per million:
//!   they level off, whatever comes.
//!
//! `cargo bench --bench core` prints frames per second as criterion's "thrpt".

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use n2k_dbus::can::Frame;
use n2k_dbus::core::{Core, CoreConfig};
use n2k_dbus::pgn;

mod common;
use common::{frames, Count};

#[allow(dead_code)] // the tests' helper; a bench uses part of it
#[path = "../tests/it/support/flood.rs"]
mod flood;

/// Runs `frames` through a fresh core; returns the fields decoded.
fn run(frames: &[Frame]) -> usize {
    let mut core = Core::new(CoreConfig::gateway(1001));
    core.start(frames[0].timestamp);
    let mut n = Count(0);
    let mut outputs = 0usize;
    for f in frames {
        let t = f.timestamp;
        core.advance_to(t, &mut |_, _| outputs += 1);
        if let Some(r) = core.on_frame(t, f) {
            if let Some(def) = pgn::select(r.message.id.pgn, r.message.data) {
                pgn::walk(def, r.message.data, &mut n);
            }
        }
        while core.poll_output().is_some() {
            outputs += 1;
        }
    }
    n.0 + outputs
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// 8 million flood frames through one core, memory printed per million.
fn memory_under_flood() {
    let mut rng = flood::Rng(0xF100D);
    let mut core = Core::new(CoreConfig::gateway(1001));
    let mut t = 1_000_000_000i64;
    core.start(t);
    eprintln!("core/flood memory: frames  RSS KiB  devices  online  unnamed");
    for m in 1..=8 {
        for _ in 0..1_000_000 {
            t += 100;
            let f = flood::frame(&mut rng, t);
            core.advance_to(t, &mut |_, _| {});
            core.on_frame(t, &f);
            while core.poll_output().is_some() {}
        }
        eprintln!(
            "core/flood memory: {m:>5}M  {:>7}  {:>7}  {:>6}  {:>7}",
            rss_kib(),
            core.registry().len(),
            core.registry().online(),
            core.registry().heard_iter().count()
        );
    }
}

fn bench(c: &mut Criterion) {
    memory_under_flood();
    let real = frames();
    let mut rng = flood::Rng(7);
    let mut t = 1_000_000_000i64;
    let hostile: Vec<Frame> = (0..50_000)
        .map(|_| {
            t += 100;
            flood::frame(&mut rng, t)
        })
        .collect();
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(real.len() as u64));
    g.bench_function("real-capture", |b| b.iter(|| black_box(run(&real))));
    g.throughput(Throughput::Elements(hostile.len() as u64));
    g.bench_function("flood", |b| b.iter(|| black_box(run(&hostile))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
