//! The mapping rules on hand-made messages, for what the shared captures do not
//! show: a meter on line 3 only, a value 1000× too large, a raw 0 K, a source that
//! claims after it was published by address. The captures' own cases are tested on
//! the captures (`tests/it/real_buses.rs`, `tests/it/venus_captures.rs`).

use super::*;
use crate::network::NameFields;
use crate::venus::stage::message_to as msg;

use crate::model::sink::Recorder;

fn mapper() -> Mapper {
    Mapper::new(MapperConfig {
        iface: "can0".into(),
        rules: Rules::default(),
    })
    .publish_by_address(true)
}

const S: Micros = 1_000_000;

fn close(v: Value, want: f64) -> bool {
    matches!(v, Value::Real(x) if (x - want).abs() < 1e-9)
}

fn u16le(x: f64, res: f64) -> [u8; 2] {
    ((x / res).round() as u16).to_le_bytes()
}

fn temperature_130312(instance: u8, source: u8, kelvin: f64) -> Vec<u8> {
    let mut d = vec![0, instance, source];
    d.extend(u16le(kelvin, 0.01));
    d.extend([0xFF, 0xFF, 0xFF]);
    d
}

fn pressure_130314(instance: u8, source: u8, pascal: f64) -> Vec<u8> {
    let mut d = vec![0, instance, source];
    d.extend(((pascal / 0.1).round() as i32).to_le_bytes());
    d.push(0xFF);
    d
}

fn water_130310(kelvin: f64) -> Vec<u8> {
    let mut d = vec![0];
    d.extend(u16le(kelvin, 0.01));
    d.extend([0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    d
}

fn battery_127508(instance: u8, volts: f64, amps: Option<f64>, kelvin: Option<f64>) -> Vec<u8> {
    let mut d = vec![instance];
    d.extend(((volts / 0.01).round() as i16).to_le_bytes());
    d.extend(
        amps.map_or(0x7FFF, |a| (a / 0.1).round() as i16)
            .to_le_bytes(),
    );
    d.extend(kelvin.map_or([0xFF, 0xFF], |k| u16le(k, 0.01)));
    d.push(0);
    d
}

/// 127503/127504 with `lines`: (line 0–2, volts, amps, watts).
fn ac(instance: u8, lines: &[(u8, f64, f64, u32)]) -> Vec<u8> {
    let mut d = vec![instance, lines.len() as u8];
    for &(line, v, i, p) in lines {
        d.push(line);
        d.extend(u16le(v, 0.01));
        d.extend(u16le(i, 0.1));
        d.extend(u16le(50.0, 0.01));
        d.extend([0xFF, 0xFF]);
        d.extend(p.to_le_bytes());
        d.extend(0u32.to_le_bytes());
        d.push(100);
    }
    d
}

/// Feeds `data` from address `source` every second from `from` to `to` seconds.
fn feed(
    m: &mut Mapper,
    out: &Recorder,
    source: u8,
    pgn: u32,
    data: &[u8],
    from: Micros,
    to: Micros,
) {
    for t in from..=to {
        msg(m, t * S, source, None, pgn, data, out);
        m.on_sweep(t * S, out);
    }
}

#[test]
fn a_meter_reporting_its_single_line_as_line_3_is_read_on_l1() {
    let (mut m, out) = (mapper(), Recorder::default());
    feed(
        &mut m,
        &out,
        20,
        127504,
        &ac(0, &[(2, 230.0, 4.0, 900)]),
        0,
        12,
    );
    let s = "com.victronenergy.acload.socketcan_can0_sa20";
    assert_eq!(out.value(s, "/Ac/L1/Voltage"), Value::Real(230.0));
    assert_eq!(out.value(s, "/Ac/L1/Power"), Value::Real(900.0));
    assert_eq!(out.value(s, "/Ac/L3/Voltage"), Value::Invalid);
    assert_eq!(out.value(s, "/NrOfPhases"), Value::Int(1));
    assert_eq!(out.value(s, "/Ac/Power"), Value::Real(900.0));
}

#[test]
fn an_output_sending_l1_and_l2_in_turns_has_two_phases() {
    let (mut m, out) = (mapper(), Recorder::default());
    for t in 0..12 {
        let line = (t % 2) as u8;
        msg(
            &mut m,
            t * S,
            21,
            None,
            127504,
            &ac(1, &[(line, 230.0, 2.0, 400)]),
            &out,
        );
        m.on_sweep(t * S, &out);
    }
    let s = "com.victronenergy.acload.socketcan_can0_sa21";
    assert_eq!(out.value(s, "/NrOfPhases"), Value::Int(2));
    assert_eq!(out.value(s, "/Ac/Power"), Value::Real(800.0));
}

#[test]
fn power_a_thousand_times_too_large_is_refused_and_counted() {
    let (mut m, out) = (mapper(), Recorder::default());
    feed(
        &mut m,
        &out,
        22,
        127504,
        &ac(0, &[(0, 225.7, 4.4, 1_004_774)]),
        0,
        12,
    );
    let s = "com.victronenergy.acload.socketcan_can0_sa22";
    assert_eq!(out.value(s, "/Ac/L1/Power"), Value::Invalid);
    assert_eq!(out.value(s, "/Ac/L1/Current"), Value::Real(4.4));
    let counted: Vec<_> = m.implausible().collect();
    assert_eq!(
        counted,
        [("socketcan_can0_sa22".into(), "ac_out0/L1/Power".into(), 13)]
    );
}

/// A device that reports watts as milliwatts, for the quirks table's test.
static MILLIWATTS: &[Quirk] = &[Quirk {
    manufacturer: 999,
    model: "AC-TEST",
    pgn: 127504,
    field: "realPower",
    factor: 0.001,
    evidence: "a test device",
}];

#[test]
fn the_quirks_table_corrects_a_device_off_by_a_thousand() {
    let out = Recorder::default();
    let mut m = mapper().with_quirks(MILLIWATTS);
    let name = Name::from_fields(NameFields {
        unique_number: 7,
        manufacturer_code: 999,
        device_instance: 0,
        device_function: 130,
        device_class: 35,
        system_instance: 0,
        industry_group: 4,
        arbitrary_address_capable: true,
    });
    m.on_event(
        0,
        &crate::core::Event::Appeared {
            name,
            address: Some(23),
        },
        None,
        &out,
    );
    let mut dev = Device::new(name, Some(23), 0);
    dev.product = Some(crate::network::ProductInfo {
        model_id: "AC-TEST 3000".into(),
        ..Default::default()
    });
    m.on_event(
        0,
        &crate::core::Event::Identified { name },
        Some(&dev),
        &out,
    );
    let data = ac(0, &[(0, 225.7, 4.4, 993_000)]);
    msg(&mut m, S, 23, Some(name), 127504, &data, &out);
    let s = "com.victronenergy.acload.socketcan_can0_di0_uc7";
    assert_eq!(out.value(s, "/Ac/L1/Power"), Value::Real(993.0));
    assert_eq!(m.stats().implausible, 0);
}

#[test]
fn a_raw_zero_kelvin_is_invalid_not_minus_273() {
    let (mut m, out) = (mapper(), Recorder::default());
    feed(
        &mut m,
        &out,
        24,
        127508,
        &battery_127508(0, 12.6, Some(1.0), Some(0.0)),
        0,
        12,
    );
    let s = "com.victronenergy.battery.socketcan_can0_sa24";
    assert_eq!(out.value(s, "/Dc/0/Temperature"), Value::Invalid);
    assert_eq!(out.value(s, "/Dc/0/Voltage"), Value::Real(12.6));
}

#[test]
fn a_temperature_without_an_instance_joins_the_pressure_of_instance_0() {
    // susteranna2020.raw, address 34: 130312 outside temperature with instance "not
    // available", 130314 atmospheric pressure with instance 0.
    let (mut m, out) = (mapper(), Recorder::default());
    for t in 0..12 {
        msg(
            &mut m,
            t * S,
            34,
            None,
            130314,
            &pressure_130314(0, 0, 101_314.0),
            &out,
        );
        msg(
            &mut m,
            t * S,
            34,
            None,
            130312,
            &temperature_130312(0xFF, 1, 293.62),
            &out,
        );
        m.on_sweep(t * S, &out);
    }
    assert_eq!(
        out.names(),
        ["com.victronenergy.temperature.socketcan_can0_sa34_outside0"]
    );
    let s = "com.victronenergy.temperature.socketcan_can0_sa34_outside0";
    assert!(close(out.value(s, "/Temperature"), 20.47));
    assert!(close(out.value(s, "/Pressure"), 1013.14));
}

#[test]
fn a_sensor_reported_in_two_pgns_is_one_service() {
    // dirona-actisense-serial.raw, address 36: sea temperature in 130310 (no
    // instance) and in 130312 instance 1; 130312 first arrives a second later.
    let (mut m, out) = (mapper(), Recorder::default());
    for t in 0..12 {
        msg(&mut m, t * S, 36, None, 130310, &water_130310(305.11), &out);
        if t > 0 {
            msg(
                &mut m,
                t * S,
                36,
                None,
                130312,
                &temperature_130312(1, 0, 305.06),
                &out,
            );
        }
        m.on_sweep(t * S, &out);
    }
    let s = "com.victronenergy.temperature.socketcan_can0_sa36_sea1";
    assert_eq!(out.names(), [s]);
    // 130312 is the more precise PGN.
    assert!(close(out.value(s, "/Temperature"), 31.91));
}

#[test]
fn a_channel_that_never_carried_a_value_gets_no_service() {
    let (mut m, out) = (mapper(), Recorder::default());
    let mut empty = temperature_130312(6, 142, 0.0);
    empty[3] = 0xFF;
    empty[4] = 0xFF;
    feed(&mut m, &out, 43, 130312, &empty, 0, 12);
    assert!(out.names().is_empty());
}

#[test]
fn every_battery_is_a_battery_and_a_voltage_alone_is_the_starter() {
    // susteranna2020.raw, address 1: instances 2 and 5 with voltage and current;
    // here also instance 3 with a voltage only.
    let (mut m, out) = (mapper(), Recorder::default());
    for t in 0..12 {
        msg(
            &mut m,
            t * S,
            1,
            None,
            127508,
            &battery_127508(2, 12.93, Some(5.5), None),
            &out,
        );
        msg(
            &mut m,
            t * S,
            1,
            None,
            127508,
            &battery_127508(5, 16.58, Some(4.8), None),
            &out,
        );
        msg(
            &mut m,
            t * S,
            1,
            None,
            127508,
            &battery_127508(3, 12.7, None, None),
            &out,
        );
        m.on_sweep(t * S, &out);
    }
    let main = "com.victronenergy.battery.socketcan_can0_sa1";
    let second = "com.victronenergy.battery.socketcan_can0_sa1_dc5";
    assert_eq!(out.names(), [main, second]);
    assert!(close(out.value(main, "/Dc/0/Voltage"), 12.93));
    assert!(close(out.value(main, "/Dc/1/Voltage"), 12.7));
    assert!(close(out.value(second, "/Dc/0/Current"), 4.8));
}

#[test]
fn by_address_only_when_listening_and_only_after_the_wait() {
    let data = temperature_130312(0, 0, 290.0);
    let out = Recorder::default();
    let mut active = Mapper::new(MapperConfig {
        iface: "can0".into(),
        rules: Rules::default(),
    });
    feed(&mut active, &out, 50, 130312, &data, 0, 30);
    assert!(
        out.names().is_empty(),
        "an active gateway asks for the NAME"
    );

    let mut listening = mapper();
    feed(&mut listening, &out, 50, 130312, &data, 0, 9);
    assert!(out.names().is_empty(), "{UNNAMED_WAIT} µs not over");
    feed(&mut listening, &out, 50, 130312, &data, 10, 10);
    assert_eq!(
        out.names(),
        ["com.victronenergy.temperature.socketcan_can0_sa50_sea0"]
    );
}

#[test]
fn a_claim_moves_the_services_to_the_name_in_one_flush() {
    let (mut m, out) = (mapper(), Recorder::default());
    let data = temperature_130312(0, 0, 290.0);
    feed(&mut m, &out, 50, 130312, &data, 0, 12);
    out.take_log();
    let name = Name::from_fields(NameFields {
        unique_number: 4242,
        manufacturer_code: 137,
        device_instance: 0,
        device_function: 130,
        device_class: 75,
        system_instance: 0,
        industry_group: 4,
        arbitrary_address_capable: true,
    });
    m.on_event(
        13 * S,
        &crate::core::Event::Appeared {
            name,
            address: Some(50),
        },
        None,
        &out,
    );
    let named = "com.victronenergy.temperature.socketcan_can0_di0_uc4242_sea0";
    assert_eq!(
        out.take_log(),
        [
            "withdraw com.victronenergy.temperature.socketcan_can0_sa50_sea0".to_string(),
            format!("publish {named}")
        ],
        "both in one call: one flush"
    );
    // What it sent by address is there at once.
    assert!(close(out.value(named, "/Temperature"), 16.85));
}

#[test]
fn an_engines_hours_never_go_backwards() {
    let (mut m, out) = (mapper(), Recorder::default());
    let name = Name::from_fields(NameFields {
        unique_number: 4343,
        manufacturer_code: 374,
        device_instance: 0,
        device_function: 151,
        device_class: 35,
        system_instance: 0,
        industry_group: 4,
        arbitrary_address_capable: true,
    });
    let ev = crate::core::Event::Appeared {
        name,
        address: Some(60),
    };
    m.on_event(0, &ev, None, &out);
    m.on_event(0, &crate::core::Event::Identified { name }, None, &out);
    // 127489 (canboat's layout): engine 0, total hours at bytes 11–14, the rest
    // not available.
    let engine = |seconds: u32| {
        let mut d = vec![0u8];
        d.extend([0xFF; 10]);
        d.extend(seconds.to_le_bytes());
        d.extend([0xFF; 5]);
        d.extend([0, 0, 0, 0, 0x7F, 0x7F]);
        d
    };
    let s = "com.victronenergy.genset.socketcan_can0_di0_uc4343";
    for (t, hours, shown) in [
        (1, 3600, 3600.0),
        (2, 3601, 3601.0),
        (3, 5, 3601.0),
        (4, 3605, 3605.0),
    ] {
        msg(&mut m, t * S, 60, Some(name), 127489, &engine(hours), &out);
        assert!(
            close(out.value(s, "/Engine/OperatingHours"), shown),
            "at {t} s"
        );
    }
    assert_eq!(m.stats().implausible, 1, "the step back is counted");
}
