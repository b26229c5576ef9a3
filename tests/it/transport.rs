//! Transport reassembly against canboat's golden cases and hand-made frame sequences.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use n2k_dbus::can::{CanId, Frame};
use n2k_dbus::json::{self, Style, Units};
use n2k_dbus::logs::LogReader;
use n2k_dbus::logs::Messages;
use n2k_dbus::n2k::fast_packet::{fragment, FastPacketAssembler};
use n2k_dbus::n2k::iso_tp::{bam_frames, IsoTpReceiver};
use n2k_dbus::n2k::Assembler;
use n2k_dbus::pgn;

/// Replays a capture and returns (pgn, source, decoded JSON) per message.
fn replay(name: &str) -> Vec<(u32, u8, serde_json::Value)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("candump-samples/analyzer-tests")
        .join(name);
    let mut reader = LogReader::new(BufReader::new(File::open(&path).unwrap()), name);
    let mut r = Messages::new();
    let mut out = Vec::new();
    while let Some(rec) = reader.next_record() {
        let rec = rec.unwrap();
        if let Some(m) = r.on_record(&rec) {
            let def = pgn::select(m.id.pgn, m.data).unwrap();
            let mut s = String::new();
            json::write_message(&mut s, Style::canboat(Units::Std), &m, def);
            out.push((m.id.pgn, m.id.source, serde_json::from_str(&s).unwrap()));
        }
    }
    out
}

fn golden_text_pgns(name: &str) -> Vec<u32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("candump-samples/analyzer-tests")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4)?.parse().ok())
        .collect()
}

#[test]
fn recombine_frames_like_canboat() {
    let ours = replay("recombine-frames.in");
    let want = golden_text_pgns("recombine-frames.out");
    let got: Vec<u32> = ours.iter().map(|m| m.0).collect();
    assert_eq!(got, want);
    // Every 129029 in the file is the same fix, however its frames were ordered.
    for (_, _, m) in ours.iter().filter(|m| m.0 == 129029) {
        assert_eq!(m["fields"]["SID"], 231);
        assert_eq!(m["fields"]["Latitude"].as_f64(), Some(42.4967684));
        assert_eq!(m["fields"]["Longitude"].as_f64(), Some(-71.5836637));
    }
}

#[test]
fn iso_tp_bam_from_a_navico_unit() {
    let ours = replay("iso-tp-test.in");
    assert_eq!(
        ours.len(),
        1,
        "one BAM session completes; the second is aborted"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("candump-samples/analyzer-tests/iso-tp-test.out");
    let want: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let (pgn_no, src, got) = &ours[0];
    assert_eq!((*pgn_no, *src), (129540, 23));
    assert_eq!(got["timestamp"], want["timestamp"]);
    assert_eq!(
        got["fields"]["Sats in View"],
        want["fields"]["Sats in View"]
    );
    let (a, b) = (
        got["fields"]["list"].as_array().unwrap(),
        want["fields"]["list"].as_array().unwrap(),
    );
    assert_eq!(a.len(), 18);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["PRN"], y["PRN"]);
        assert_eq!(x["Status"], y["Status"]);
        assert_eq!(x["Elevation"].as_f64(), y["Elevation"].as_f64());
    }
}

fn id(pgn: u32, source: u8) -> CanId {
    CanId {
        priority: 6,
        pgn,
        source,
        destination: 255,
    }
}

/// The 129029 frames of canboat's recombine test, in order.
const GNSS: [[u8; 8]; 7] = [
    [0x00, 0x2f, 0xe7, 0x95, 0x3d, 0x00, 0x73, 0xd6],
    [0x01, 0x29, 0x00, 0xda, 0x04, 0x73, 0xdb, 0xc9],
    [0x02, 0xe5, 0x05, 0x80, 0x7d, 0x02, 0x28, 0x5f],
    [0x03, 0xd6, 0x10, 0xf6, 0x9b, 0x50, 0x6c, 0x05],
    [0x04, 0x00, 0x00, 0x00, 0x00, 0x13, 0xfc, 0x08],
    [0x05, 0x6f, 0x00, 0xbe, 0x00, 0xdd, 0xf2, 0xff],
    [0x06, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff],
];

fn gnss_payload() -> Vec<u8> {
    let mut p: Vec<u8> = GNSS[0][2..].to_vec();
    for f in &GNSS[1..] {
        p.extend_from_slice(&f[1..]);
    }
    p.truncate(47);
    p
}

#[test]
fn fast_packet_out_of_order() {
    let mut fp = FastPacketAssembler::default();
    let order = [3, 0, 6, 1, 5, 2, 4];
    let mut done = None;
    for (k, &i) in order.iter().enumerate() {
        let r = fp
            .push(1000 + k as i64, &id(129029, 0), &GNSS[i])
            .map(<[u8]>::to_vec);
        if k < order.len() - 1 {
            assert!(r.is_none(), "complete too early at frame {i}");
        }
        done = r.or(done);
    }
    assert_eq!(done.unwrap(), gnss_payload());
    assert_eq!(fp.pending(), 0);
}

#[test]
fn fast_packet_lost_frame_never_completes_and_goes_stale() {
    let mut fp = FastPacketAssembler::default();
    for (i, f) in GNSS.iter().enumerate().filter(|(i, _)| *i != 3) {
        assert!(fp.push(i as i64, &id(129029, 0), f).is_none());
    }
    assert_eq!(fp.pending(), 1);
    fp.expire(2_000_000);
    assert_eq!(fp.pending(), 0);
    assert_eq!(fp.stats().stale, 1);
    // The next complete message is not polluted by the lost one.
    let mut last = None;
    for f in &GNSS {
        last = fp.push(2_100_000, &id(129029, 0), f).map(<[u8]>::to_vec);
    }
    assert_eq!(last.unwrap(), gnss_payload());
}

#[test]
fn fast_packet_two_sources_interleaved() {
    let mut fp = FastPacketAssembler::default();
    let mut other = GNSS;
    other[0][2] = 0x11; // a different SID from source 7
    let mut got = Vec::new();
    for i in 0..GNSS.len() {
        if let Some(p) = fp.push(i as i64, &id(129029, 0), &GNSS[i]) {
            got.push((0, p.to_vec()));
        }
        if let Some(p) = fp.push(i as i64, &id(129029, 7), &other[i]) {
            got.push((7, p.to_vec()));
        }
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[0], (0, gnss_payload()));
    assert_eq!(got[1].0, 7);
    assert_eq!(got[1].1[0], 0x11);
    assert_eq!(got[1].1[1..], gnss_payload()[1..]);
}

#[test]
fn fast_packet_repeated_index_restarts() {
    let mut fp = FastPacketAssembler::default();
    fp.push(0, &id(129029, 0), &GNSS[0]);
    fp.push(1, &id(129029, 0), &GNSS[1]);
    fp.push(2, &id(129029, 0), &GNSS[0]); // a new message with the same counter
    assert_eq!(fp.stats().restarted, 1);
    let mut last = None;
    for f in &GNSS[1..] {
        last = fp.push(3, &id(129029, 0), f).map(<[u8]>::to_vec);
    }
    assert_eq!(last.unwrap(), gnss_payload());
}

#[test]
fn fast_packet_buffers_are_bounded() {
    let mut fp = FastPacketAssembler::new(8);
    for src in 0..=255u8 {
        fp.push(0, &id(129029, src), &GNSS[0]);
    }
    assert_eq!(fp.pending(), 8);
    assert_eq!(fp.stats().evicted, 248);
}

#[test]
fn fast_packet_fragment_round_trip() {
    for len in [0usize, 1, 6, 7, 13, 43, 134, 223] {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let frames = fragment(5, &payload).unwrap();
        assert_eq!(frames.len(), n2k_dbus::n2k::fast_packet::frame_count(len));
        assert!(frames.iter().all(|f| f[0] >> 5 == 5));
        let mut fp = FastPacketAssembler::default();
        // Frame 0 first, the rest in reverse order.
        let mut got = fp.push(0, &id(126996, 9), &frames[0]).map(<[u8]>::to_vec);
        for f in frames[1..].iter().rev() {
            got = fp.push(0, &id(126996, 9), f).map(<[u8]>::to_vec).or(got);
        }
        assert_eq!(got, Some(payload), "length {len}");
    }
    assert!(fragment(0, &[0; 224]).is_none());
}

#[test]
fn frame_0_does_not_complete_a_stale_body() {
    // Frames 1-6 of a burst whose frame 0 was lost, then a full retransmission.
    let mut fp = FastPacketAssembler::default();
    let mut stale = GNSS;
    stale[2][1] = 0xe6;
    for f in &stale[1..] {
        assert!(fp.push(0, &id(129029, 0), f).is_none());
    }
    assert!(
        fp.push(1, &id(129029, 0), &GNSS[0]).is_none(),
        "frame 0 glued onto the stale body"
    );
    let mut last = None;
    for f in &GNSS[1..] {
        last = fp.push(2, &id(129029, 0), f).map(<[u8]>::to_vec);
    }
    assert_eq!(last.unwrap(), gnss_payload());
}

#[test]
fn largest_message_after_held_frames() {
    // Found by fuzzing: a 223-byte frame 0 (32 frames) arriving after other frames.
    let mut fp = FastPacketAssembler::default();
    fp.push(0, &id(130816, 3), &[0x05, 1, 2, 3, 4, 5, 6, 7]);
    assert!(fp
        .push(0, &id(130816, 3), &[0x00, 223, 1, 2, 3, 4, 5, 6])
        .is_none());
    let mut done = None;
    for k in 1..32u8 {
        if k != 5 {
            done = fp
                .push(0, &id(130816, 3), &[k, 9, 9, 9, 9, 9, 9, 9])
                .map(<[u8]>::to_vec);
        }
    }
    assert_eq!(done.map(|p| p.len()), Some(223));
}

#[test]
fn short_first_frame_is_padded_with_ff() {
    // canboat's short-frame case: frame 0 holds only the counter and the length.
    let mut fp = FastPacketAssembler::default();
    assert!(fp.push(0, &id(129029, 0), &[0x00, 0x08]).is_none());
    let p = fp
        .push(
            1,
            &id(129029, 0),
            &[0x01, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11],
        )
        .unwrap();
    assert_eq!(p, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xbb]);
}

#[test]
fn iso_tp_bam_round_trip_and_rts_cts() {
    // BAM of a commanded address (65240), as the protocol reference shows it.
    let payload = [0x05, 0xA0, 0xBE, 0x1C, 0x00, 0xA0, 0xA0, 0xC0, 0x30];
    let frames = bam_frames(65240, &payload).unwrap();
    assert_eq!(
        frames[0].1,
        [0x20, 0x09, 0x00, 0x02, 0xFF, 0xD8, 0xFE, 0x00]
    );
    assert_eq!(
        frames[1].1,
        [0x01, 0x05, 0xA0, 0xBE, 0x1C, 0x00, 0xA0, 0xA0]
    );
    assert_eq!(
        frames[2].1,
        [0x02, 0xC0, 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    let mut asm = Assembler::new();
    let mut got = None;
    for (pgn_no, data) in &frames {
        let f = Frame::new(0, id(*pgn_no, 0).to_raw().unwrap(), data);
        if let Some(m) = asm.on_frame(&f) {
            got = Some((m.id.pgn, m.data.to_vec()));
        }
    }
    assert_eq!(got, Some((65240, payload.to_vec())));

    // RTS addressed to us: we answer CTS for all packets, then End of Message.
    let mut rx = IsoTpReceiver::new();
    rx.own_address = Some(0x20);
    let to_us = CanId {
        priority: 7,
        pgn: 60416,
        source: 0x10,
        destination: 0x20,
    };
    let data_id = CanId {
        pgn: 60160,
        ..to_us
    };
    assert!(rx
        .push(0, &to_us, &[0x10, 0x09, 0x00, 0x02, 0xFF, 0xD8, 0xFE, 0x00])
        .is_none());
    let cts = rx.take_outbox();
    assert_eq!(cts.len(), 1);
    assert_eq!(
        cts[0].data(),
        &[0x11, 0x02, 0x01, 0xFF, 0xFF, 0xD8, 0xFE, 0x00]
    );
    assert_eq!(cts[0].can_id().destination, 0x10);
    assert!(rx.push(1, &data_id, &frames[1].1).is_none());
    let m = rx.push(2, &data_id, &frames[2].1).map(|c| c.data.to_vec());
    assert_eq!(m, Some(payload.to_vec()));
    let eom = rx.take_outbox();
    assert_eq!(eom[0].data()[0], 0x13);
}

#[test]
fn iso_tp_abort_and_orphans() {
    let mut rx = IsoTpReceiver::new();
    let cm = id(60416, 23);
    let dt = id(60160, 23);
    rx.push(0, &cm, &[0x20, 0x09, 0x00, 0x02, 0xFF, 0xD8, 0xFE, 0x00]);
    rx.push(1, &cm, &[0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xD8, 0xFE, 0x00]);
    assert!(rx.push(2, &dt, &[0x01, 1, 2, 3, 4, 5, 6, 7]).is_none());
    assert!(rx.push(3, &dt, &[0x02, 1, 2, 3, 4, 5, 6, 7]).is_none());
    assert_eq!(rx.stats().aborted, 1);
    assert_eq!(rx.stats().invalid, 2);
}
