//! Nothing from the bus or a capture file may panic: random and mutated input through
//! every stage. (The cargo-fuzz targets in `fuzz/` search the same paths for longer.)

use crate::support::flood;
use n2k_dbus::can::Frame;
use n2k_dbus::json::{self, Style, Units};
use n2k_dbus::logs::Messages;
use n2k_dbus::logs::{LogReader, Record};
use n2k_dbus::n2k::Assembler;
use n2k_dbus::pgn;

use flood::Rng;

fn decode_all(frames: &[Frame]) -> usize {
    let mut asm = Assembler::new();
    let mut out = String::new();
    let mut n = 0;
    for f in frames {
        if let Some(m) = asm.on_frame(f) {
            if let Some(def) = pgn::select(m.id.pgn, m.data) {
                out.clear();
                json::write_message(&mut out, Style::canboat(Units::Std), &m, def);
                json::write_message(&mut out, Style::native(), &m, def);
                n += 1;
            }
        }
    }
    n
}

#[test]
fn every_definition_survives_any_payload() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::new();
    for def in pgn::all() {
        for len in [0usize, 1, 2, 3, 7, 8, 9, 16, 43, 100, 223, 1785] {
            for fill in [None, Some(0x00), Some(0xFF)] {
                let data: Vec<u8> = (0..len)
                    .map(|_| fill.unwrap_or_else(|| rng.byte()))
                    .collect();
                let m = n2k_dbus::n2k::Message {
                    timestamp: 0,
                    id: n2k_dbus::can::CanId {
                        priority: 3,
                        pgn: def.pgn,
                        source: 1,
                        destination: 255,
                    },
                    data: &data,
                };
                out.clear();
                json::write_message(&mut out, Style::canboat(Units::Si), &m, def);
                assert!(out.ends_with('}'), "{}: {out}", def.id);
            }
        }
    }
}

#[test]
fn random_frames_through_reassembly_and_decoding() {
    let mut rng = Rng(42);
    // Bias towards fast-packet, group-function and transport PGNs.
    let ids = [
        0x19F0142B, 0x0DED2300, 0x1CECFF10, 0x1CEBFF10, 0x18ECFF23, 0x18EBFF23, 0x1CEC2010,
        0x1CEB2010, 0x19F21201, 0x09F80124, 0x1DFF0A0D,
    ];
    let mut frames = Vec::new();
    for i in 0..200_000 {
        let id = if rng.below(4) == 0 {
            rng.next() as u32
        } else {
            ids[rng.below(ids.len() as u64) as usize] ^ (rng.below(4) as u32)
        };
        let len = rng.below(9) as usize;
        let data: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
        let t = if rng.below(100) == 0 {
            -(i as i64)
        } else {
            i as i64 * 500
        };
        frames.push(Frame::new(t, id, &data));
    }
    decode_all(&frames);
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/candump-samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn mutated_real_captures() {
    let mut rng = Rng(7);
    for name in [
        "candumpSample1.txt",
        "candumpSample3.txt",
        "merrimac-ydwg-2020.raw",
        "sample-fast.raw.txt",
        "126208.raw",
    ] {
        let text = sample(name);
        let mut frames = Vec::new();
        for r in LogReader::new(text.as_bytes(), name)
            .skip_bad_lines(true)
            .flatten()
        {
            if let Record::Frame(f) = r {
                frames.push(f);
            }
        }
        for round in 0..20 {
            let mut m = frames.clone();
            for f in m.iter_mut() {
                if rng.below(10) == 0 {
                    let mut d = f.data().to_vec();
                    if !d.is_empty() {
                        let k = rng.below(d.len() as u64) as usize;
                        d[k] ^= 1 << rng.below(8);
                    }
                    if rng.below(3) == 0 {
                        d.truncate(rng.below(9) as usize);
                    }
                    *f = Frame::new(
                        f.timestamp,
                        f.id ^ ((rng.below(2) as u32) << rng.below(29)),
                        &d,
                    );
                }
            }
            if round % 2 == 1 {
                // Swap neighbours to reorder fast-packet frames.
                for i in (1..m.len()).step_by(3) {
                    m.swap(i - 1, i);
                }
            }
            decode_all(&m);
        }
        // Byte-level mutations of the text itself.
        let bytes = text.as_bytes();
        for _ in 0..30 {
            let mut b = bytes.to_vec();
            for _ in 0..50 {
                let k = rng.below(b.len() as u64) as usize;
                b[k] = rng.byte();
            }
            let mut replay = Messages::new();
            let mut reader = LogReader::new(b.as_slice(), name).skip_bad_lines(true);
            while let Some(r) = reader.next_record() {
                if let Ok(rec) = r {
                    let _ = replay.on_record(&rec);
                }
            }
            // Strict mode: every record or a clean error, never a panic.
            let _ = LogReader::new(b.as_slice(), name).count();
        }
    }
}

#[test]
fn random_bytes_as_capture_files() {
    let mut rng = Rng(99);
    for _ in 0..500 {
        let len = rng.below(4096) as usize;
        let b: Vec<u8> = (0..len)
            .map(|_| if rng.below(8) == 0 { b'\n' } else { rng.byte() })
            .collect();
        let _ = LogReader::new(b.as_slice(), "r")
            .skip_bad_lines(true)
            .count();
    }
}

/// Whatever the bus sends, the core's memory stays within its bounds and it never
/// panics: two million hostile frames, timers run on the virtual clock.
#[test]
fn the_core_stays_bounded_under_a_flood() {
    use n2k_dbus::core::{Core, CoreConfig, MAX_PENDING_OUTPUTS};
    use n2k_dbus::devices::{MAX_DEVICES, MAX_GONE};

    let mut rng = flood::Rng(0xF100D);
    let mut core = Core::new(CoreConfig::gateway(1001));
    let mut t = 1_000_000_000i64;
    core.start(t);
    let mut most_outputs = 0;
    let mut max_devices = 0;
    for k in 0..2_000_000u32 {
        t += 100;
        let f = flood::frame(&mut rng, t);
        let mut n = 0;
        core.advance_to(t, &mut |_, _| n += 1);
        core.on_frame(t, &f);
        while core.poll_output().is_some() {
            n += 1;
        }
        most_outputs = most_outputs.max(n);
        if k % 1000 == 0 {
            max_devices = max_devices.max(core.registry().len());
        }
    }
    assert!(
        max_devices <= MAX_DEVICES + MAX_GONE,
        "{max_devices} devices"
    );
    assert!(core.registry().online() <= MAX_DEVICES);
    assert!(core.registry().heard_iter().count() <= 254);
    assert!(
        most_outputs < MAX_PENDING_OUTPUTS,
        "{most_outputs} outputs at once"
    );
    assert_eq!(core.stats().outputs_dropped, 0);
    assert!(
        max_devices > 300,
        "the flood reached the bounds: {max_devices}"
    );
}
