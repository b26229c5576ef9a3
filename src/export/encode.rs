//! PGN payloads built from a Venus service's values (`docs/n2k-out.md#what-goes-out`).
//!
//! Every field comes from one D-Bus path through one conversion, and is written by
//! [`pgn::encode`] from the PGN's definition in `pgn-defs/` (canboat's layouts):
//! a path that is invalid, missing or out of the field's range becomes the field's
//! "not available" code (`docs/nmea2000.md#field-encoding`), never 0.

use super::table::{Build, ChargerMode, InverterMode};
use crate::pgn::{self, field, Put};

/// The instances a payload carries: its own data instance and the DC instance it
/// refers to (127507's battery, 127509's DC side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instances {
    pub own: u8,
    pub dc: u8,
    pub ac: u8,
}

/// A service's numeric values by path.
pub trait Values {
    fn num(&self, path: &str) -> Option<f64>;
}

impl<F: Fn(&str) -> Option<f64>> Values for F {
    fn num(&self, path: &str) -> Option<f64> {
        self(path)
    }
}

/// A 2-bit OFF/ON field: `Some(true)` 1, `Some(false)` 0, else not available.
fn off_on(v: Option<bool>) -> Put<'static> {
    v.map_or(Put::Missing, |on| Put::Raw(u64::from(on)))
}

fn kelvin(celsius: Option<f64>) -> Option<f64> {
    celsius.map(|c| c + 273.15)
}

fn int(values: &dyn Values, path: &str) -> Option<i64> {
    values
        .num(path)
        .filter(|v| v.fract() == 0.0)
        .map(|v| v as i64)
}

/// A physical value, or not available.
fn value(v: Option<f64>) -> Put<'static> {
    v.map_or(Put::Missing, Put::Value)
}

/// Fields by id, as the PGN's definition names them.
type Fields = Vec<(&'static str, Put<'static>)>;

/// The payload of `build` sent as `pgn` for a service whose values are `values`,
/// through the PGN's definition ([`pgn::encode`]); `None` when the definition
/// lacks a field the build names (a table error, which the tests catch).
pub fn payload(pgn: u32, build: &Build, values: &dyn Values, inst: Instances) -> Option<Vec<u8>> {
    let v = |p: &str| values.num(p);
    let own = own(inst);
    let fields: Fields = match *build {
        Build::BatteryStatus {
            voltage,
            current,
            temperature,
        } => vec![
            own,
            (field::VOLTAGE, value(v(voltage))),
            (field::CURRENT, value(current.and_then(v))),
            (field::TEMPERATURE, value(kelvin(temperature.and_then(v)))),
        ],
        Build::PvStatus => pv_status(values, inst),
        Build::DcDetailed { dc_type, detailed } => {
            let mut f = vec![own, (field::DC_TYPE, Put::Raw(u64::from(dc_type)))];
            if detailed {
                f.extend([
                    (field::STATE_OF_CHARGE, value(v("/Soc"))),
                    (field::STATE_OF_HEALTH, value(v("/Soh"))),
                    // Time to go (s) while discharging; invalid at rest.
                    (field::TIME_REMAINING, value(v("/TimeToGo"))),
                    (field::RIPPLE_VOLTAGE, value(v("/Dc/0/RippleVoltage"))),
                    (field::REMAINING_CAPACITY, value(v("/Capacity"))),
                ]);
            }
            f
        }
        Build::ChargerStatus { mode } => charger_status(mode, values, inst),
        Build::InverterStatus { mode } => inverter_status(mode, values, inst),
        Build::AcBasic { prefix } => {
            let at = |leaf: &str| value(v(&format!("{prefix}/{leaf}")));
            vec![
                (field::LINE_NEUTRAL_AC_RMS_VOLTAGE, at("V")),
                (field::AC_FREQUENCY, at("F")),
                (field::AC_RMS_CURRENT, at("I")),
            ]
        }
        Build::AcPower { prefix } => {
            let at = |leaf: &str| value(v(&format!("{prefix}/{leaf}")));
            vec![
                (field::REAL_POWER, at("P")),
                (field::APPARENT_POWER, at("S")),
            ]
        }
        Build::FluidLevel => fluid_level(values, inst),
        Build::Temperature { extended } => {
            let source = int(values, "/TemperatureType").map_or(2, temperature_source);
            let field = if extended {
                field::TEMPERATURE
            } else {
                field::ACTUAL_TEMPERATURE
            };
            vec![
                own,
                (field::SOURCE, Put::Raw(u64::from(source))),
                (field, value(kelvin(v("/Temperature")))),
            ]
        }
    };
    match pgn::build(pgn, &fields) {
        Ok(data) => Some(data),
        Err(e) => {
            tracing::warn!("NMEA 2000-out: {e}");
            None
        }
    }
}

/// 127508 of a solar charger: PV voltage, and the PV current as power over
/// voltage (`docs/n2k-out.md#solar-chargers`).
fn pv_status(values: &dyn Values, inst: Instances) -> Fields {
    let volts = values.num("/Pv/V");
    let amps = match (values.num("/Yield/Power"), volts) {
        (Some(p), Some(u)) if u > 0.5 => Some(p / u),
        _ => None,
    };
    vec![
        own(inst),
        (field::VOLTAGE, value(volts)),
        (field::CURRENT, value(amps)),
    ]
}

/// 127507: state, enabled, equalization.
fn charger_status(mode: ChargerMode, values: &dyn Values, inst: Instances) -> Fields {
    let state = int(values, "/State").map(charger_state);
    let enabled = int(values, "/Mode").and_then(|m| charger_enabled(mode, m));
    let pending = int(values, "/Equalization/Pending").map(|p| p != 0);
    vec![
        own(inst),
        (field::BATTERY_INSTANCE, Put::Raw(u64::from(inst.dc))),
        (field::OPERATING_STATE, raw(state)),
        (field::ENABLED, off_on(enabled)),
        (field::EQUALIZATION_PENDING, off_on(pending)),
        (
            field::EQUALIZATION_TIME_REMAINING,
            value(values.num("/Equalization/TimeRemaining")),
        ),
    ]
}

/// 127509: state and enabled, with the AC and DC instances it refers to.
fn inverter_status(mode: InverterMode, values: &dyn Values, inst: Instances) -> Fields {
    let state = int(values, "/State").map(inverter_state);
    let enabled = int(values, "/Mode").and_then(|m| inverter_enabled(mode, m));
    vec![
        own(inst),
        (field::AC_INSTANCE, Put::Raw(u64::from(inst.ac))),
        (field::DC_INSTANCE, Put::Raw(u64::from(inst.dc))),
        (field::OPERATING_STATE, raw(state)),
        (field::INVERTER_ENABLE, off_on(enabled)),
    ]
}

/// 127505: a 4-bit instance, the fluid, the level, the capacity (m³ on D-Bus,
/// litres on the bus).
fn fluid_level(values: &dyn Values, inst: Instances) -> Fields {
    let fluid = int(values, "/FluidType").filter(|f| (0..=13).contains(f));
    vec![
        (field::INSTANCE, Put::Raw(u64::from(inst.own & 0x0F))),
        (field::TYPE, raw(fluid.map(|f| f as u8))),
        (field::LEVEL, value(values.num("/Level"))),
        (
            field::CAPACITY,
            value(values.num("/Capacity").map(|m3| m3 * 1000.0)),
        ),
    ]
}

/// The node's own instance field.
fn own(inst: Instances) -> (&'static str, Put<'static>) {
    (field::INSTANCE, Put::Raw(u64::from(inst.own)))
}

/// A lookup's code, or not available.
fn raw(code: Option<u8>) -> Put<'static> {
    code.map_or(Put::Missing, |c| Put::Raw(u64::from(c)))
}

/// 127507 Operating State for a Venus charger `/State` (`docs/n2k-out.md#charger-and-inverter-states`).
pub fn charger_state(state: i64) -> u8 {
    match state {
        0 => 0,     // off → not charging
        2 => 9,     // fault
        3 => 1,     // bulk
        4 => 2,     // absorption
        5 | 6 => 5, // float, storage → float
        7 => 4,     // equalise
        11 => 7,    // power supply → constant VI
        _ => 15,
    }
}

/// 127507 Enabled for a `/Mode` (`docs/n2k-out.md#charger-and-inverter-states`).
pub fn charger_enabled(mode: ChargerMode, m: i64) -> Option<bool> {
    match (mode, m) {
        (ChargerMode::OnOff, 1) => Some(true),
        (ChargerMode::OnOff, 4) => Some(false),
        (ChargerMode::InverterCharger, 1 | 3) => Some(true),
        (ChargerMode::InverterCharger, 2 | 4) => Some(false),
        _ => None,
    }
}

/// 127509 Operating State for a Venus inverter or inverter/charger `/State`
/// (`docs/n2k-out.md#charger-and-inverter-states`).
pub fn inverter_state(state: i64) -> u8 {
    match state {
        9 | 10 => 0,     // inverting, assisting → invert
        3..=8 | 11 => 1, // charging, passthru → AC passthru
        1 => 2,          // low power → load sense
        2 => 3,          // fault
        0 => 4,          // off → disabled
        _ => 15,
    }
}

/// 127509 Inverter Enable for a `/Mode` (`docs/n2k-out.md#charger-and-inverter-states`).
pub fn inverter_enabled(mode: InverterMode, m: i64) -> Option<bool> {
    match (mode, m) {
        (InverterMode::InverterCharger, 2 | 3) => Some(true),
        (InverterMode::InverterCharger, 1 | 4) => Some(false),
        (InverterMode::Inverter, 2 | 3 | 5) => Some(true),
        (InverterMode::Inverter, 4) => Some(false),
        _ => None,
    }
}

/// NMEA 2000 temperature source for a Venus `/TemperatureType` [proposal]: the
/// inverse of the import (`venus::profile::temperature_type`) where one exists.
pub fn temperature_source(t: i64) -> u8 {
    match t {
        1 => 7,  // fridge → refrigeration
        3 => 4,  // room → main cabin
        4 => 1,  // outdoor → outside
        5 => 8,  // water heater → heating system
        6 => 13, // freezer
        _ => 2,  // battery, generic → inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<f64> {
        None
    }

    /// Node instance `own`, referring to DC instance `dc`, AC instance 0.
    fn inst(own: u8, dc: u8) -> Instances {
        Instances { own, dc, ac: 0 }
    }

    #[test]
    fn invalid_paths_become_not_available() {
        let i = inst(3, 0);
        let b = Build::BatteryStatus {
            voltage: "/Dc/0/Voltage",
            current: Some("/Dc/0/Current"),
            temperature: Some("/Dc/0/Temperature"),
        };
        assert_eq!(
            payload(127508, &b, &none, i),
            Some(vec![3, 0xFF, 0x7F, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF])
        );
        let vals = |p: &str| match p {
            "/Dc/0/Voltage" => Some(13.28),
            "/Dc/0/Current" => Some(-4.3),
            "/Dc/0/Temperature" => Some(25.0),
            _ => None,
        };
        // 1328 = 0x0530; −43 = 0xFFD5; 29815 = 0x7477.
        assert_eq!(
            payload(127508, &b, &vals, i),
            Some(vec![3, 0x30, 0x05, 0xD5, 0xFF, 0x77, 0x74, 0xFF])
        );
    }

    #[test]
    fn out_of_range_is_not_available_and_power_has_its_offset() {
        let i = inst(1, 0);
        let b = Build::DcDetailed {
            dc_type: 0,
            detailed: true,
        };
        // State of charge: 0–252 % per canboat's range; 253 and up are codes.
        for (soc, byte) in [(300.0, 0xFF), (-1.0, 0xFF), (252.0, 252), (253.0, 0xFF)] {
            let vals = move |p: &str| (p == "/Soc").then_some(soc);
            let data = payload(127506, &b, &vals, i).expect("127506");
            assert_eq!(data[3], byte, "SoC {soc}");
        }
        let power = |w: Option<f64>| {
            let vals = move |p: &str| (p == "/Ac/L1/P").then_some(w).flatten();
            payload(65013, &Build::AcPower { prefix: "/Ac/L1" }, &vals, i).expect("65013")
        };
        // J1939: 1 W per bit, offset −2 000 000 000 W.
        assert_eq!(power(Some(4438.0))[..4], 2_000_004_438u32.to_le_bytes());
        assert_eq!(power(Some(-500.0))[..4], 1_999_999_500u32.to_le_bytes());
        assert_eq!(power(None)[..4], [0xFF; 4]);
        assert_eq!(power(Some(f64::NAN))[..4], [0xFF; 4]);
    }

    #[test]
    fn the_inverter_frame_of_susteranna_is_what_an_off_inverter_sends() {
        // docs/n2k-out.md#charger-and-inverter-states: `00 00 01 C4` = instance 0, AC 0, DC 1, disabled, off.
        let vals = |p: &str| match p {
            "/State" => Some(0.0),
            "/Mode" => Some(4.0),
            _ => None,
        };
        let i = inst(0, 1);
        let b = Build::InverterStatus {
            mode: InverterMode::Inverter,
        };
        assert_eq!(
            payload(127509, &b, &vals, i),
            Some(vec![0x00, 0x00, 0x01, 0xC4])
        );
    }

    /// Every PGN of every profile builds from its definition: no field id the
    /// definition lacks.
    #[test]
    fn every_send_of_every_profile_builds() {
        let i = inst(0, 0);
        let mut n = 0;
        for p in super::super::table::PROFILES {
            for node in p.nodes {
                for send in node.sends {
                    let data = payload(send.pgn, &send.build, &|_: &str| Some(1.0), i);
                    assert!(data.is_some(), "{} {}", p.service_type, send.pgn);
                    n += 1;
                }
            }
        }
        assert!(n > 20, "{n} sends");
    }
}
