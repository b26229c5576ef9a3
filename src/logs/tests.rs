//! Every capture format, including the variants canboat's converter mishandles.

use super::*;
use crate::can::Frame;

fn read_all(text: &str) -> Vec<Record> {
    LogReader::new(text.as_bytes(), "test.log")
        .map(|r| r.unwrap())
        .collect()
}

fn frame(r: &Record) -> &Frame {
    match r {
        Record::Frame(f) => f,
        Record::Message(m) => panic!("expected a frame, got {m:?}"),
    }
}

const CLAIM: [u8; 8] = [0x05, 0xA0, 0xBE, 0x1C, 0x00, 0xA0, 0xA0, 0xC0];

#[test]
fn candump_log_with_6_and_9_decimals_and_direction() {
    let recs = read_all(
        "(1436509052.249713) can0 18EEFF01#05A0BE1C00A0A0C0\n\
         (1436509052.249713123) can0 18EEFF01#05A0BE1C00A0A0C0 R\n\
         (1436509052.250000) can0 18EEFF01#05.A0.BE.1C.00.A0.A0.C0 T\r\n",
    );
    assert_eq!(recs.len(), 3);
    for r in &recs {
        let f = frame(r);
        assert_eq!(f.id, 0x18EEFF01);
        assert_eq!(
            f.data(),
            &CLAIM,
            "the direction suffix is not data (canboat reads 9 bytes)"
        );
    }
    assert_eq!(frame(&recs[0]).timestamp, 1_436_509_052_249_713);
    assert_eq!(frame(&recs[1]).timestamp, 1_436_509_052_249_713);
}

#[test]
fn candump_log_skips_what_is_not_nmea_2000() {
    let recs = read_all(
        "(1.000000) can0 123#11223344\n\
         (1.000001) can0 18EEFF01#R\n\
         (1.000002) can0 18EEFF01##1112233\n\
         (1.000003) can0 20000080#0000000000000000\n\
         (1.000004) can0 18EEFF01#05A0BE1C00A0A0C0\n",
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(frame(&recs[0]).timestamp, 1_000_004);
}

#[test]
fn candump_ascii_with_every_timestamp_mode() {
    let lines = [
        "  can0  18EEFF01   [8]  05 A0 BE 1C 00 A0 A0 C0",
        " (1436509052.249713)  can0  18EEFF01   [8]  05 A0 BE 1C 00 A0 A0 C0",
        " (000.000112)  can0  18EEFF01   [8]  05 A0 BE 1C 00 A0 A0 C0",
        " (2015-07-10 08:17:32.249713)  can0  18EEFF01   [8]  05 A0 BE 1C 00 A0 A0 C0",
        "  can0  18EEFF01   [8]  05 A0 BE 1C 00 A0 A0 C0   '......'",
    ];
    let want_ts = [0, 1_436_509_052_249_713, 112, 1_436_516_252_249_713, 0];
    for (line, ts) in lines.iter().zip(want_ts) {
        let recs = read_all(line);
        assert_eq!(recs.len(), 1, "{line}");
        assert_eq!(frame(&recs[0]).data(), &CLAIM, "{line}");
        assert_eq!(frame(&recs[0]).timestamp, ts, "{line}");
    }
}

#[test]
fn angstrom_form_and_header_lines() {
    let recs = read_all(
        "# comment\ninterface = can0, family = 29, type = 3, proto = 1\n<0x18eeff01> [8] 05 a0 be 1c 00 a0 a0 c0\n",
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(frame(&recs[0]).id, 0x18EEFF01);
    assert_eq!(frame(&recs[0]).data(), &CLAIM);
}

#[test]
fn canboat_plain_then_fast() {
    let recs = read_all(
        "2011-04-25-06:25:03.603,6,60928,1,255,8,05,a0,be,1c,00,a0,a0,c0\n\
         2021-07-29-09:00:42.386,6,127507,225,255,8,40,06,00,ff,f8,fd,ff,ff\n\
         2014-08-15T19:00:00.042Z,3,129029,160,255,43,87,a9,3f,fc,ed,c4,28,00,58,67,11,cf,db,49,08,00,f4,15,47,c4,d2,6e,03,80,66,23,00,00,00,00,00,10,fc,0a,50,00,ff,7f,ff,ff,ff,7f,00\n\
         2016-02-28T19:57:41.000Z,3,126208,40,72,08,01,0d,f2,01,f8,01,03,01\n",
    );
    assert_eq!(frame(&recs[0]).data(), &CLAIM);
    assert_eq!(
        frame(&recs[0]).timestamp,
        crate::time::micros_from_civil(2011, 4, 25, 6, 25, 3, 603_000)
    );
    // A fast-packet PGN on a PLAIN line is one frame of it.
    assert_eq!(frame(&recs[1]).data()[0], 0x40);
    // From the first long line on, the file is FAST: every line is a whole message.
    for r in &recs[2..] {
        assert!(matches!(r, Record::Message(_)), "{r:?}");
    }
    match &recs[3] {
        Record::Message(m) => {
            assert_eq!((m.id.pgn, m.id.destination, m.data.len()), (126208, 72, 8))
        }
        _ => unreachable!(),
    }
}

#[test]
fn yacht_devices_raw() {
    let recs = read_all("00:29:58.617 R 0DFF180D A2 8C 50 C0 FF FF FF FF\r\n00:29:58.618 T 09FD020D FF A4 01 51 F2 FB FF FF\n");
    assert_eq!(recs.len(), 2);
    assert_eq!(frame(&recs[0]).id, 0x0DFF180D);
    assert_eq!(
        frame(&recs[0]).timestamp,
        (29 * 60 + 58) * 1_000_000 + 617_000
    );
}

#[test]
fn timestamps_may_jump_backwards() {
    let recs = read_all(
        "(1600000000.000000) can0 18EEFF01#05A0BE1C00A0A0C0\n\
         (1598800000.000000) can0 18EEFF01#05A0BE1C00A0A0C0\n\
         (1600000000.100000) can0 18EEFF01#05A0BE1C00A0A0C0\n",
    );
    assert_eq!(recs.len(), 3);
}

#[test]
fn a_malformed_line_names_file_line_and_expectation() {
    let text =
        "(1.000000) can0 18EEFF01#05A0BE1C00A0A0C0\n(1.000001) can0 18EEFF0105A0BE1C00A0A0C0\n";
    let mut r = LogReader::new(text.as_bytes(), "capture.log");
    assert!(r.next_record().unwrap().is_ok());
    let e = r.next_record().unwrap().unwrap_err().to_string();
    assert!(
        e.starts_with("capture.log:2: expected '#' after the CAN id"),
        "{e}"
    );

    let e = LogReader::new("hello world\n".as_bytes(), "x.txt")
        .next_record()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("x.txt:1: not a line of any known capture format"),
        "{e}"
    );

    let bad = [
        ("(1.0000) can0 18EEFF01#00", "6 or 9 decimals"),
        ("(1.000000) can0 18EEFF01#0", "pairs of hex digits"),
        (
            "(1.000000) can0 18EEFF01#001122334455667788",
            "0-8 data bytes",
        ),
        ("(1.000000) can0 18EEFFG1#00", "hexadecimal CAN id"),
    ];
    for (line, want) in bad {
        let e = LogReader::new(line.as_bytes(), "b.log")
            .next_record()
            .unwrap()
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{line}: {e}");
    }
}

#[test]
fn skip_bad_lines_counts_them_and_keeps_the_rest() {
    let text = "00:00:01.000 R 18EEFF01 05 A0 BE 1C 00 A0 A0 C0\n\
                00:00:01.001 R 18EEFF01 05 A0 BE 1C 00 A0 A0 C0 99\n\
                00:00:01.002 X 18EEFF01 05\n\
                00:00:01.003 R 18EEFF01 05 A0 BE 1C 00 A0 A0 C0\n";
    let mut r = LogReader::new(text.as_bytes(), "y.raw").skip_bad_lines(true);
    let mut n = 0;
    while let Some(rec) = r.next_record() {
        rec.unwrap();
        n += 1;
    }
    assert_eq!(n, 2);
    assert_eq!(r.bad_lines(), 2);
}

#[test]
fn over_long_lines_are_errors_not_memory() {
    let mut text = "(1.000000) can0 18EEFF01#".to_string();
    text.push_str(&"00".repeat(20_000));
    text.push_str("\n(1.000001) can0 18EEFF01#05A0BE1C00A0A0C0\n");
    let mut r = LogReader::new(text.as_bytes(), "long.log").skip_bad_lines(true);
    let recs: Vec<_> = std::iter::from_fn(|| r.next_record())
        .map(|x| x.unwrap())
        .collect();
    assert_eq!(recs.len(), 1);
    assert_eq!(r.bad_lines(), 1);
}

#[test]
fn candump_writer_round_trips() {
    let f = Frame::new(1_436_509_052_249_713, 0x18EEFF01, &CLAIM);
    let mut out = Vec::new();
    write_candump_log(&mut out, "vcan0", &f).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "(1436509052.249713) vcan0 18EEFF01#05A0BE1C00A0A0C0\n"
    );
    let back = read_all(&text);
    assert_eq!(frame(&back[0]), &f);
}

#[test]
fn fuzzer_findings_are_errors_not_panics() {
    // A multi-byte character where a canboat date ends, a fraction that is not ASCII,
    // and a year that would overflow the clock.
    for line in [
        "2011-04-2é:25:03.603,6,60928,1,255,8,05,a0,be,1c,00,a0,a0,c0",
        "(1.00000é) can0 18EEFF01#05A0BE1C00A0A0C0",
        "99999999999999-04-25-06:25:03.603,6,60928,1,255,8,05,a0,be,1c,00,a0,a0,c0",
    ] {
        let r = LogReader::new(line.as_bytes(), "f.log").next_record();
        assert!(matches!(r, Some(Err(_))), "{line}: {r:?}");
    }
}

#[test]
fn binary_input_is_not_a_text_capture() {
    let mut bytes = b"(1.000000) can0 18EEFF01#05A0BE1C00A0A0C0\n".to_vec();
    bytes.extend_from_slice(b"\x7fELF\x02\x01\x01\x00\n");
    let mut r = LogReader::new(&bytes[..], "a.out");
    assert!(r.next_record().unwrap().is_ok());
    let e = r.next_record().unwrap().unwrap_err().to_string();
    assert_eq!(
        e,
        "a.out:2: not a text capture: byte 42 is 0x7F (captures are text: candump, canboat, Yacht Devices)"
    );
}

#[test]
fn control_characters_are_never_echoed() {
    // C1 controls are valid UTF-8; U+009B is a terminal's CSI.
    let e = LogReader::new("hello\u{9b}31mred\u{85}\n".as_bytes(), "t.log")
        .next_record()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(!e.chars().any(|c| c.is_control()), "{e:?}");
    assert!(e.contains(r"hello\u{9b}31mred\u{85}"), "{e}");
}

#[test]
fn records_from_the_global_address_are_no_messages() {
    // susteranna2020.raw lines 202 and 2425: the logger's own zero-length records.
    let recs = read_all(
        "2020-08-22T13:52:36.981Z,0,16712965,255,0,0\n\
         2020-08-22T13:52:43.993Z,7,65301,255,0,0\n\
         2020-08-22T13:52:43.994Z,7,65301,1,255,8,27,99,ff,68,00,00,00,00\n",
    );
    assert_eq!(recs.len(), 3, "the lines are well-formed");
    let mut m = Messages::new();
    let from: Vec<u8> = recs
        .iter()
        .filter_map(|r| m.on_record(r).map(|x| x.id.source))
        .collect();
    assert_eq!(from, [1]);
    assert_eq!(m.not_from_a_node(), 2);
}
