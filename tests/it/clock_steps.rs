//! Clock steps: captures whose clock jumps, through the same driver the daemon runs.
//!
//! - the real `dirona-actisense-serial.raw` (two loggers interleaved, one up to 6 s
//!   behind the other, then a start over 64 s earlier), listen-only into a private
//!   dbus-daemon: no service of a device that keeps sending is withdrawn, and the
//!   tank levels read are canboat's;
//! - real frames with a step written in for the purpose (the capture's own frames,
//!   their timestamps moved): 50 years forwards between two frames, 14 days back in
//!   the middle of fast-packet and ISO TP transfers, two loggers 60 s apart
//!   interleaved. Every message is decoded as canboat decodes the capture without
//!   the step, and what the gateway does after the gap does not grow with the gap.

use crate::support::{gateway_replay, reference};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read as _;
use std::sync::Arc;

use gateway_replay::{check, Read, Rig};
use n2k_dbus::can::{Frame, Micros};
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::Outbox;
use n2k_dbus::driver::Driver;
use n2k_dbus::gateway::{Gateway, GatewayConfig};
use n2k_dbus::json::{self, Style, Units};
use n2k_dbus::logs::{LogReader, Record};
use n2k_dbus::n2k::Assembler;
use n2k_dbus::pgn;
use n2k_dbus::venus::profile::tank_suffix;
use n2k_dbus::venus::{MapperConfig, Rules};
use serde_json::Value;

const S: Micros = 1_000_000;
const DAY: Micros = 86_400 * S;
const YEAR: Micros = 365 * DAY;

fn samples() -> std::path::PathBuf {
    reference::samples().to_path_buf()
}

/// The records of a capture in the project's samples.
fn records(rel: &str) -> Vec<Record> {
    let path = samples().join(rel);
    let text = std::fs::read(&path).expect("capture");
    let mut reader = LogReader::new(&text[..], path.display().to_string());
    let mut out = Vec::new();
    while let Some(r) = reader.next_record() {
        out.push(r.expect("capture line"));
    }
    out
}

/// canboat's decode of a capture: its messages, header skipped.
fn canboat(decode: &str) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(File::open(samples().join(decode)).expect("decode"))
        .read_to_string(&mut text)
        .expect("gunzip");
    text.lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// `frame` with its timestamp moved by `by`.
fn moved(frame: &Frame, by: Micros) -> Frame {
    Frame::new(frame.timestamp + by, frame.id, frame.data())
}

fn frames(records: &[Record]) -> Vec<Frame> {
    records
        .iter()
        .map(|r| match r {
            Record::Frame(f) => *f,
            Record::Message(_) => panic!("a frame capture"),
        })
        .collect()
}

/// Our canboat-JSON decode of `frames` in SI units: (pgn, src, fields) per message.
fn decode(frames: &[Frame]) -> Vec<(u64, u64, Value)> {
    decode_in(frames, Units::Si)
}

fn decode_in(frames: &[Frame], units: Units) -> Vec<(u64, u64, Value)> {
    let mut asm = Assembler::new();
    let mut out = Vec::new();
    let mut line = String::new();
    for f in frames {
        if let Some(m) = asm.on_frame(f) {
            if let Some(def) = pgn::select(m.id.pgn, m.data) {
                line.clear();
                json::write_message(&mut line, Style::canboat(units), &m, def);
                let v: Value = serde_json::from_str(&line).expect("our json");
                out.push((m.id.pgn.into(), m.id.source.into(), v["fields"].clone()));
            }
        }
    }
    out
}

fn reference_decode(decode: &str) -> Vec<(u64, u64, Value)> {
    canboat(decode)
        .into_iter()
        .map(|v| {
            (
                v["pgn"].as_u64().expect("pgn"),
                v["src"].as_u64().expect("src"),
                v["fields"].clone(),
            )
        })
        .collect()
}

/// What the gateway wants on the bus now.
fn sent(d: &mut Driver) -> Vec<Frame> {
    crate::support::outputs(d).0
}

fn gateway(listen_only: bool) -> Gateway {
    let mut core = CoreConfig::gateway(1001);
    core.listen_only = listen_only;
    Gateway::new(
        GatewayConfig {
            core,
            mapper: MapperConfig {
                iface: "can0".into(),
                rules: Rules::default(),
            },
            alerts_out: false,
        },
        Arc::new(Outbox::new()),
    )
}

/// `frames` through an active gateway on the driver: the frames it transmitted
/// (PGN, time), the messages its core completed, partial messages dropped.
fn through_gateway(frames: &[Frame]) -> (Driver, Vec<(u32, Micros)>) {
    let mut d = Driver::new(gateway(false));
    let mut out = Vec::new();
    for f in frames {
        let t = d.feed_record(&Record::Frame(*f));
        out.extend(sent(&mut d).iter().map(|s| (s.can_id().pgn, t)));
    }
    (d, out)
}

#[test]
fn fourteen_days_back_in_the_middle_of_fast_packets() {
    // candump-fast.txt: 127489 fast packets of 4 frames. The clock steps back 14
    // days after the second frame of the second packet and stays there.
    let fs = frames(&records("candump-fast.txt"));
    let at = fs
        .iter()
        .enumerate()
        .filter(|(_, f)| f.data()[0] & 0x1F == 2)
        .nth(1)
        .expect("a second packet")
        .0;
    let stepped: Vec<Frame> = fs
        .iter()
        .enumerate()
        .map(|(i, f)| moved(f, if i >= at { -14 * DAY } else { 0 }))
        .collect();
    let want = reference_decode("decodes/candump-fast.txt.json.gz");
    assert!(want.len() >= 3);
    same(&decode(&stepped), &want);
    let (d, _) = through_gateway(&stepped);
    let core = d.gateway().core();
    assert_eq!(core.stats().messages, want.len() as u64);
    assert_eq!(core.assembler().stats().fast_packet.stale, 0);
}

#[test]
fn fourteen_days_back_in_the_middle_of_an_iso_tp_transfer() {
    // A 219-byte BAM broadcast (32 packets, 78 ms apart); the clock steps back
    // 14 days at packet 10 and stays there.
    let fs = frames(&records("analyzer-tests/iso-tp-test.in"));
    let stepped: Vec<Frame> = fs
        .iter()
        .enumerate()
        .map(|(i, f)| moved(f, if i >= 10 { -14 * DAY } else { 0 }))
        .collect();
    let out =
        std::fs::read_to_string(samples().join("analyzer-tests/iso-tp-test.out")).expect("out");
    let want: Vec<(u64, u64, Value)> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            (
                v["pgn"].as_u64().unwrap(),
                v["src"].as_u64().unwrap(),
                v["fields"].clone(),
            )
        })
        .collect();
    assert!(!want.is_empty());
    same(&decode_in(&stepped, Units::Std), &want);
    let (d, _) = through_gateway(&stepped);
    let iso = d.gateway().core().assembler().stats().iso_tp;
    assert_eq!((iso.completed, iso.stale), (want.len() as u64, 0));
}

#[test]
fn fifty_years_forward_costs_what_one_year_costs() {
    // candumpSample3.txt (real, timed: claims, requests, product information),
    // its second half moved forwards by a year, then by 50 years.
    let fs = frames(&records("candumpSample3.txt"));
    let half = fs.len() / 2;
    let run = |gap: Micros| {
        let stepped: Vec<Frame> = fs
            .iter()
            .enumerate()
            .map(|(i, f)| moved(f, if i >= half { gap } else { 0 }))
            .collect();
        through_gateway(&stepped)
    };
    let (one, sent_one) = run(YEAR);
    let (fifty, sent_fifty) = run(50 * YEAR);
    assert_eq!(one.gateway().clock_steps(), 1);
    assert_eq!(fifty.gateway().clock_steps(), 1);
    // The same frames sent, at the same replay times: the gap is not time.
    assert_eq!(sent_one, sent_fifty);
    // No device that kept sending was declared gone.
    let online = |d: &Driver| {
        d.gateway()
            .core()
            .registry()
            .iter()
            .filter(|d| d.online())
            .count()
    };
    assert_eq!(online(&one), online(&fifty));
    assert!(fifty.gateway().core().registry().iter().all(|d| d.online()));
    // And the replay time went on by about the capture's own span.
    let span = fs.last().unwrap().timestamp - fs[0].timestamp;
    assert!(
        (fifty.now() - fs[0].timestamp - span).abs() < S,
        "{}",
        fifty.now()
    );
}

#[test]
fn a_gap_in_time_fires_each_timer_once() {
    // A live gateway that sees no frame for 50 years (a suspended machine, a
    // clock that is not monotonic): one heartbeat, not one per missed minute.
    let mut d = Driver::new(gateway(false));
    d.advance(0);
    d.advance(3 * S);
    let claimed: Vec<u32> = sent(&mut d).iter().map(|f| f.can_id().pgn).collect();
    assert!(
        claimed.contains(&126993),
        "a heartbeat at the claim: {claimed:?}"
    );
    d.advance(50 * YEAR);
    let after: Vec<u32> = sent(&mut d).iter().map(|f| f.can_id().pgn).collect();
    assert_eq!(after, vec![126993]);
    // And the period goes on from there.
    d.advance(50 * YEAR + 59 * S);
    assert!(sent(&mut d).is_empty());
    d.advance(50 * YEAR + 60 * S);
    let next: Vec<u32> = sent(&mut d).iter().map(|f| f.can_id().pgn).collect();
    assert_eq!(next, vec![126993]);
}

#[test]
fn two_loggers_interleaved_sixty_seconds_apart() {
    // candumpSample3.txt as if two loggers recorded it: the frames of the odd
    // source addresses carry a clock 60 s ahead. Time follows the front; every
    // message still decodes as canboat decodes the capture.
    let fs = frames(&records("candumpSample3.txt"));
    let merged: Vec<Frame> = fs
        .iter()
        .map(|f| {
            moved(
                f,
                if f.can_id().source % 2 == 1 {
                    60 * S
                } else {
                    0
                },
            )
        })
        .collect();
    same(
        &decode(&merged),
        &reference_decode("decodes/candumpSample3.txt.json.gz"),
    );
    let (d, _) = through_gateway(&merged);
    let plain = through_gateway(&fs).0;
    let names = |d: &Driver| -> BTreeSet<String> {
        let r = d.gateway().core().registry();
        r.iter()
            .filter(|d| d.online())
            .map(|d| d.name.to_string())
            .collect()
    };
    assert_eq!(names(&d), names(&plain));
    assert!(d.gateway().clock_steps() >= 1);
    let span = fs.last().unwrap().timestamp - fs[0].timestamp;
    assert!(d.now() - fs[0].timestamp <= span + 61 * S);
}

/// Asserts two decodes hold the same messages with the same fields (numbers to
/// a millionth).
fn same(got: &[(u64, u64, Value)], want: &[(u64, u64, Value)]) {
    assert_eq!(got.len(), want.len(), "messages");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!((g.0, g.1), (w.0, w.1), "message {i}");
        assert!(
            alike(&g.2, &w.2),
            "message {i} (PGN {}): {} vs canboat {}",
            w.0,
            g.2,
            w.2
        );
    }
}

fn alike(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-6 * y.abs().max(1.0)
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| alike(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| alike(v, w))
        }
        _ => a == b,
    }
}

#[tokio::test]
async fn dirona_two_loggers_no_service_withdrawn() {
    // Listen-only: liveness comes from the clock alone, so a clock that ran with
    // the lagging logger's steps would age devices out.
    let path = samples().join("dirona-actisense-serial.raw");
    let mut rig = Rig::new(&path, true, Rules::default()).await;
    let end = rig.end();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let start = end - 140 * S;
    let mut t = start;
    while t < end {
        t = (t + 4 * S).min(end);
        rig.run_to(t).await;
        let now: BTreeSet<String> = rig.services().await.into_iter().collect();
        let gone: Vec<&String> = seen.difference(&now).collect();
        assert!(gone.is_empty(), "withdrawn at {t}: {gone:?}");
        seen.extend(now);
    }
    assert_eq!(rig.gateway().clock_steps(), 1, "the start over, 64 s back");
    assert!(seen.len() >= 20, "{seen:?}");
    // Levels of the Maretron tank senders as canboat decoded their last messages.
    let mut last = std::collections::BTreeMap::new();
    for v in canboat("decodes/dirona-actisense-serial.raw.json.gz") {
        if v["pgn"] == 127505 && v["fields"]["Level"].is_number() {
            let f = &v["fields"];
            let key = (
                v["src"].as_u64().unwrap(),
                f["Instance"]["value"].as_u64().unwrap(),
            );
            last.insert(
                key,
                (
                    f["Type"]["value"].as_u64().unwrap(),
                    f["Level"].as_f64().unwrap(),
                ),
            );
        }
    }
    assert!(last.len() >= 5);
    let services = rig.services().await;
    let (named, _) = reference::reference_in("decodes/dirona-actisense-serial.raw.json.gz");
    for ((src, instance), (fluid, level)) in last {
        let unique = named[&(src as u8)].name.expect("a NAME").unique_number();
        let tail = format!("_uc{unique}_{}", tank_suffix(fluid as u8, instance as u8));
        let Some(s) = services
            .iter()
            .find(|s| s.starts_with("com.victronenergy.tank.") && s.ends_with(&tail))
        else {
            panic!("no tank service for source {src} {tail}: {services:?}");
        };
        let items = rig.items(s).await;
        check(s, &items, "/Level", &Read::Num(level));
    }
}
