//! PGN payloads built from a Venus service's values (`docs/n2k-out.md#what-goes-out`).
//!
//! Every field comes from one D-Bus path through one conversion; a path that is
//! invalid, missing or out of the field's range becomes the field's "not available"
//! code (`docs/nmea2000.md#field-encoding`), never 0. Layouts are canboat's (`canboat.json`
//! 8.0.0-beta3), which our own decoder reads back in the tests.

use super::table::{Build, ChargerMode, InverterMode};

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

/// `v × scale`, rounded, when it fits below the field's reserved codes; else n/a.
fn unsigned(v: Option<f64>, scale: f64, bits: u32) -> u64 {
    let na = (1u64 << bits) - 1;
    match v.map(|v| (v * scale).round()) {
        Some(r) if r.is_finite() && r >= 0.0 && r <= (na - 2) as f64 => r as u64,
        _ => na,
    }
}

fn signed(v: Option<f64>, scale: f64, bits: u32) -> i64 {
    let na = (1i64 << (bits - 1)) - 1;
    match v.map(|v| (v * scale).round()) {
        Some(r) if r.is_finite() && r >= -(na as f64) - 1.0 && r <= (na - 2) as f64 => r as i64,
        _ => na,
    }
}

fn u16le(v: Option<f64>, scale: f64) -> [u8; 2] {
    (unsigned(v, scale, 16) as u16).to_le_bytes()
}

fn i16le(v: Option<f64>, scale: f64) -> [u8; 2] {
    (signed(v, scale, 16) as i16).to_le_bytes()
}

fn kelvin(celsius: Option<f64>) -> Option<f64> {
    celsius.map(|c| c + 273.15)
}

/// J1939 power: 1 W per bit, offset −2 000 000 000 W.
fn power(v: Option<f64>) -> [u8; 4] {
    let raw = match v.map(|w| w.round() + 2_000_000_000.0) {
        Some(r) if r.is_finite() && (0.0..=4_211_081_215.0).contains(&r) => r as u32,
        _ => 0xFFFF_FFFF,
    };
    raw.to_le_bytes()
}

/// A 2-bit OFF/ON field: `Some(true)` 1, `Some(false)` 0, else 3.
fn off_on(v: Option<bool>) -> u8 {
    match v {
        Some(true) => 1,
        Some(false) => 0,
        None => 3,
    }
}

fn int(values: &dyn Values, path: &str) -> Option<i64> {
    values
        .num(path)
        .filter(|v| v.fract() == 0.0)
        .map(|v| v as i64)
}

/// The payload of `build` for a service whose values are `values`.
pub fn payload(build: &Build, values: &dyn Values, inst: Instances) -> Vec<u8> {
    let v = |p: &str| values.num(p);
    match *build {
        Build::BatteryStatus {
            voltage,
            current,
            temperature,
        } => {
            let mut out = vec![inst.own];
            out.extend(i16le(v(voltage), 100.0));
            out.extend(i16le(current.and_then(v), 10.0));
            out.extend(u16le(kelvin(temperature.and_then(v)), 100.0));
            out.push(0xFF); // SID: no common sample
            out
        }
        Build::PvStatus => {
            // PV voltage, and the PV current as power over voltage (`docs/n2k-out.md#solar-chargers`).
            let volts = v("/Pv/V");
            let amps = match (v("/Yield/Power"), volts) {
                (Some(p), Some(u)) if u > 0.5 => Some(p / u),
                _ => None,
            };
            let mut out = vec![inst.own];
            out.extend(i16le(volts, 100.0));
            out.extend(i16le(amps, 10.0));
            out.extend([0xFF, 0xFF, 0xFF]);
            out
        }
        Build::DcDetailed { dc_type, detailed } => {
            let (soc, soh, ttg, ripple, capacity) = if detailed {
                (
                    v("/Soc"),
                    v("/Soh"),
                    // Time to go (s) while discharging, in minutes; invalid at rest.
                    v("/TimeToGo").map(|s| s / 60.0),
                    v("/Dc/0/RippleVoltage"),
                    v("/Capacity"),
                )
            } else {
                (None, None, None, None, None)
            };
            let mut out = vec![0xFF, inst.own, dc_type];
            out.push(unsigned(soc, 1.0, 8) as u8);
            out.push(unsigned(soh, 1.0, 8) as u8);
            out.extend(u16le(ttg, 1.0));
            out.extend(u16le(ripple, 1000.0));
            out.extend(u16le(capacity, 1.0));
            out
        }
        Build::ChargerStatus { mode } => {
            let state = int(values, "/State").map_or(0x0F, charger_state);
            let enabled = int(values, "/Mode").and_then(|m| charger_enabled(mode, m));
            let pending = int(values, "/Equalization/Pending").map(|p| p != 0);
            let mut out = vec![inst.own, inst.dc, state | 0xF0];
            out.push(off_on(enabled) | (off_on(pending) << 2) | 0xF0);
            out.extend(u16le(v("/Equalization/TimeRemaining"), 1.0 / 60.0));
            out
        }
        Build::InverterStatus { mode } => {
            let state = int(values, "/State").map_or(0x0F, inverter_state);
            let enabled = int(values, "/Mode").and_then(|m| inverter_enabled(mode, m));
            vec![
                inst.own,
                inst.ac,
                inst.dc,
                state | (off_on(enabled) << 4) | 0xC0,
            ]
        }
        Build::AcBasic { prefix } => {
            let at = |leaf: &str| v(&format!("{prefix}/{leaf}"));
            let mut out = vec![0xFF, 0xFF];
            out.extend(u16le(at("V"), 1.0));
            out.extend(u16le(at("F"), 128.0));
            out.extend(u16le(at("I"), 1.0));
            out
        }
        Build::AcPower { prefix } => {
            let at = |leaf: &str| v(&format!("{prefix}/{leaf}"));
            let mut out = power(at("P")).to_vec();
            out.extend(power(at("S")));
            out
        }
        Build::FluidLevel => {
            let fluid = int(values, "/FluidType")
                .filter(|f| (0..=13).contains(f))
                .unwrap_or(15) as u8;
            let mut out = vec![inst.own & 0x0F | (fluid << 4)];
            out.extend(i16le(v("/Level"), 250.0));
            // Capacity in m³ → 0.1 L.
            out.extend((unsigned(v("/Capacity"), 10_000.0, 32) as u32).to_le_bytes());
            out.push(0xFF);
            out
        }
        Build::Temperature { extended } => {
            let source = int(values, "/TemperatureType").map_or(2, temperature_source);
            let k = kelvin(v("/Temperature"));
            let mut out = vec![0xFF, inst.own, source];
            if extended {
                out.extend(&(unsigned(k, 1000.0, 24) as u32).to_le_bytes()[..3]);
                out.extend([0xFF, 0xFF]);
            } else {
                out.extend(u16le(k, 100.0));
                out.extend([0xFF, 0xFF, 0xFF]);
            }
            out
        }
    }
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

    #[test]
    fn invalid_paths_become_not_available() {
        let i = Instances {
            own: 3,
            dc: 0,
            ac: 0,
        };
        let b = Build::BatteryStatus {
            voltage: "/Dc/0/Voltage",
            current: Some("/Dc/0/Current"),
            temperature: Some("/Dc/0/Temperature"),
        };
        assert_eq!(
            payload(&b, &none, i),
            [3, 0xFF, 0x7F, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]
        );
        let vals = |p: &str| match p {
            "/Dc/0/Voltage" => Some(13.28),
            "/Dc/0/Current" => Some(-4.3),
            "/Dc/0/Temperature" => Some(25.0),
            _ => None,
        };
        // 1328 = 0x0530; −43 = 0xFFD5; 29815 = 0x7477.
        assert_eq!(
            payload(&b, &vals, i),
            [3, 0x30, 0x05, 0xD5, 0xFF, 0x77, 0x74, 0xFF]
        );
    }

    #[test]
    fn out_of_range_is_not_available_and_power_has_its_offset() {
        assert_eq!(unsigned(Some(300.0), 1.0, 8), 0xFF);
        assert_eq!(unsigned(Some(-1.0), 1.0, 8), 0xFF);
        assert_eq!(unsigned(Some(253.0), 1.0, 8), 253);
        assert_eq!(power(Some(4438.0)), (2_000_004_438u32).to_le_bytes());
        assert_eq!(power(Some(-500.0)), (1_999_999_500u32).to_le_bytes());
        assert_eq!(power(None), [0xFF; 4]);
    }

    #[test]
    fn the_inverter_frame_of_susteranna_is_what_an_off_inverter_sends() {
        // docs/n2k-out.md#charger-and-inverter-states: `00 00 01 C4` = instance 0, AC 0, DC 1, disabled, off.
        let vals = |p: &str| match p {
            "/State" => Some(0.0),
            "/Mode" => Some(4.0),
            _ => None,
        };
        let i = Instances {
            own: 0,
            dc: 1,
            ac: 0,
        };
        let b = Build::InverterStatus {
            mode: InverterMode::Inverter,
        };
        assert_eq!(payload(&b, &vals, i), [0x00, 0x00, 0x01, 0xC4]);
    }
}
