//! The write protocol on a virtual clock: command, fall-back, confirmation,
//! refusal; outputs appearing after publication. The banks of the real captures
//! are tested through the whole gateway (`tests/it/real_buses.rs`,
//! `tests/it/switching.rs`).

use super::*;
use crate::network::NameFields;
use crate::venus::stage::message_to as msg;

use crate::model::sink::Recorder;

const S: Micros = 1_000_000;

fn name() -> Name {
    Name::from_fields(NameFields {
        unique_number: 1700373,
        manufacturer_code: 137,
        device_instance: 2,
        device_function: 140,
        device_class: 30,
        system_instance: 0,
        industry_group: 4,
        arbitrary_address_capable: true,
    })
}

const SERVICE: &str = "com.victronenergy.switch.socketcan_can0_di2_uc1700373_bank2";

fn rig() -> (Switches, Recorder) {
    let mut sw = Switches::new("can0");
    let sink = Recorder::default();
    // Indicator 1 off, 2–4 on, 5–6 off: node 72's bank in dirona-actisense-serial.raw.
    let status = [0x02, 0x54, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    assert!(msg(&mut sw, 0, 72, Some(name()), 127501, &status, &sink));
    (sw, sink)
}

#[test]
fn a_bank_is_published_with_the_outputs_it_reported() {
    let (sw, sink) = rig();
    assert_eq!(sw.published(), 1);
    assert_eq!(sink.value(SERVICE, "/NrOfChannels"), Value::Int(6));
    assert_eq!(sink.value(SERVICE, "/State"), Value::Int(0x100));
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/0/State"),
        Value::Int(0)
    );
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/1/State"),
        Value::Int(1)
    );
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/1/Status"),
        Value::Int(9)
    );
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/5/Name"),
        Value::Text("Channel 6".into())
    );
    assert!(!sink.has(SERVICE, "/SwitchableOutput/6/State"));
}

#[test]
fn a_command_confirmed_by_the_next_status() {
    let (mut sw, sink) = rig();
    let w = sw.write(
        S,
        SERVICE,
        "/SwitchableOutput/4/State",
        &Value::Int(1),
        7,
        Ok(()),
    );
    assert_eq!(w, Some(SwitchWrite::Later));
    let sent = sw.poll_send().unwrap();
    assert_eq!((sent.pgn, sent.destination), (126208, 72));
    assert_eq!(sent.payload, [1, 0x0D, 0xF2, 0x01, 0xF8, 1, 6, 1]);
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/4/State"),
        Value::Int(0)
    );
    // The acknowledge alone changes nothing; the status does.
    msg(
        &mut sw,
        S + 100_000,
        72,
        Some(name()),
        126208,
        &[2, 0x0D, 0xF2, 0x01, 0, 1, 0xF0],
        &sink,
    );
    assert!(sw.poll_done().is_none());
    let status = [0x02, 0x54, 0xF1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    msg(
        &mut sw,
        S + 200_000,
        72,
        Some(name()),
        127501,
        &status,
        &sink,
    );
    assert_eq!(sw.poll_done(), Some((7, WriteOutcome::Accepted)));
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/4/State"),
        Value::Int(1)
    );
    sw.on_sweep(10 * S, &sink);
    assert!(
        sw.poll_send().is_none(),
        "no fall-back after a confirmation"
    );
}

#[test]
fn silence_falls_back_to_127502_then_refuses() {
    let (mut sw, sink) = rig();
    sw.write(
        S,
        SERVICE,
        "/SwitchableOutput/0/State",
        &Value::Int(1),
        1,
        Ok(()),
    );
    assert_eq!(sw.poll_send().unwrap().pgn, 126208);
    sw.on_sweep(S + COMMAND_WAIT - 1, &sink);
    assert!(sw.poll_send().is_none());
    sw.on_sweep(S + COMMAND_WAIT, &sink);
    let control = sw.poll_send().unwrap();
    assert_eq!((control.pgn, control.destination), (127502, 255));
    assert_eq!(
        control.payload,
        [0x02, 0xFD, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    sw.on_sweep(S + COMMAND_WAIT + CONFIRM_WAIT, &sink);
    assert_eq!(
        sw.poll_done(),
        Some((1, WriteOutcome::Refused(WriteRefusal::DeviceSilent)))
    );
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/0/State"),
        Value::Int(0)
    );
    assert_eq!(sw.stats().unconfirmed, 1);
}

#[test]
fn a_refused_command_switches_the_device_to_127502() {
    let (mut sw, sink) = rig();
    sw.write(
        S,
        SERVICE,
        "/SwitchableOutput/1/State",
        &Value::Int(0),
        1,
        Ok(()),
    );
    sw.poll_send();
    msg(
        &mut sw,
        S,
        72,
        Some(name()),
        126208,
        &[2, 0x0D, 0xF2, 0x01, 0, 1, 0xF1],
        &sink,
    );
    assert_eq!(sw.poll_send().unwrap().pgn, 127502);
    let status = [0x02, 0x50, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    msg(&mut sw, S + 1, 72, Some(name()), 127501, &status, &sink);
    assert_eq!(sw.poll_done(), Some((1, WriteOutcome::Accepted)));
    // The next write goes as 127502 at once.
    sw.write(
        2 * S,
        SERVICE,
        "/SwitchableOutput/1/State",
        &Value::Int(1),
        2,
        Ok(()),
    );
    assert_eq!(sw.poll_send().unwrap().pgn, 127502);
}

#[test]
fn writes_are_checked() {
    let (mut sw, _sink) = rig();
    let code = |w: Option<SwitchWrite>| match w {
        Some(SwitchWrite::Now(WriteOutcome::Refused(r))) => r.code(),
        other => panic!("{other:?}"),
    };
    let p = "/SwitchableOutput/0/State";
    assert_eq!(code(sw.write(S, SERVICE, p, &Value::Int(2), 1, Ok(()))), 2);
    let listen = Err(crate::core::CommandError::ListenOnly);
    assert_eq!(code(sw.write(S, SERVICE, p, &Value::Int(1), 1, listen)), 2);
    assert_eq!(
        code(sw.write(
            S,
            SERVICE,
            "/SwitchableOutput/9/State",
            &Value::Int(1),
            1,
            Ok(())
        )),
        1
    );
    assert_eq!(
        code(sw.write(
            S,
            SERVICE,
            "/SwitchableOutput/0/Settings/Type",
            &Value::Int(2),
            1,
            Ok(())
        )),
        2
    );
    assert!(sw.poll_send().is_none());
    assert_eq!(
        sw.write(
            S,
            SERVICE,
            "/SwitchableOutput/0/Settings/CustomName",
            &Value::Text("Deck light".into()),
            1,
            Ok(())
        ),
        Some(SwitchWrite::Now(WriteOutcome::Store))
    );
    assert_eq!(
        sw.take_state(),
        [(
            "switch|socketcan_can0_di2_uc1700373_bank2|0/CustomName".to_owned(),
            "Deck light".to_owned()
        )]
    );
    assert!(sw
        .write(S, "com.victronenergy.tank.x", p, &Value::Int(1), 1, Ok(()))
        .is_none());
}

#[test]
fn restored_settings_and_late_outputs() {
    let mut sw = Switches::new("can0");
    sw.restore([(
        "switch|socketcan_can0_di2_uc1700373_bank2|6/CustomName".to_owned(),
        "Windlass".to_owned(),
    )]);
    let sink = Recorder::default();
    msg(
        &mut sw,
        0,
        72,
        Some(name()),
        127501,
        &[0x02, 0x54, 0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        &sink,
    );
    // Indicator 7 reports later: its output arrives with its saved name.
    msg(
        &mut sw,
        S,
        72,
        Some(name()),
        127501,
        &[0x02, 0x54, 0xD0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
        &sink,
    );
    assert_eq!(sink.value(SERVICE, "/NrOfChannels"), Value::Int(7));
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/6/State"),
        Value::Int(1)
    );
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/6/Settings/CustomName"),
        Value::Text("Windlass".into())
    );
    // Silence: the states are not known any more.
    sw.on_sweep(S + BANK_FRESH + 1, &sink);
    assert_eq!(
        sink.value(SERVICE, "/SwitchableOutput/6/State"),
        Value::Invalid
    );
    assert_eq!(sink.value(SERVICE, "/State"), Value::Invalid);
}
