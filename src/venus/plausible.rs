//! What a real device can mean: per quantity (and, for temperatures, per source)
//! the range of values a working sensor reports. A value outside it is a raw
//! "0 K", a code the device uses for "no sensor", or a unit mistake; it is shown as
//! invalid rather than as a reading (docs/venus-services.md#plausibility).
//!
//! The ranges are data: generous enough for any boat on earth, tight enough to catch
//! what the real captures show (each row says why). Correcting one is editing a row.

use super::profile::Input;

/// An inclusive range of plausible values, in Venus units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

const fn range(lo: f64, hi: f64) -> Range {
    Range { lo, hi }
}

impl Range {
    /// Whether `v` lies in the range.
    pub fn holds(self, v: f64) -> bool {
        (self.lo..=self.hi).contains(&v)
    }
}

/// Temperatures in °C by NMEA 2000 temperature source (canboat `TEMPERATURE_SOURCE`).
/// No source reads below −100 °C: a raw 0 K (−273.15 °C), as Northern Lights
/// gensets send in 127508 (dirona-actisense-serial.raw, sources 4 and 5), is never a
/// reading.
const TEMPERATURE_BY_SOURCE: &[(u8, Range, &str)] = &[
    (
        0,
        range(-5.0, 45.0),
        "sea water: from ice to tropical shallows",
    ),
    (
        1,
        range(-70.0, 70.0),
        "outside air: the extremes measured on earth",
    ),
    (2, range(-50.0, 70.0), "inside: a closed cabin in the sun"),
    (3, range(-50.0, 120.0), "engine room"),
    (4, range(-50.0, 70.0), "main cabin"),
    (5, range(-5.0, 45.0), "live well: water"),
    (6, range(-5.0, 45.0), "bait well: water"),
    (7, range(-50.0, 50.0), "refrigeration"),
    (
        8,
        range(-50.0, 150.0),
        "heating system: hot water and heating circuits",
    ),
    (9, range(-90.0, 70.0), "dew point"),
    (10, range(-100.0, 70.0), "apparent wind chill"),
    (11, range(-100.0, 70.0), "theoretical wind chill"),
    (12, range(-70.0, 100.0), "heat index"),
    (13, range(-60.0, 50.0), "freezer"),
    (
        14,
        range(-50.0, 800.0),
        "exhaust gas: a diesel's exhaust reaches 600 °C",
    ),
    (15, range(-50.0, 150.0), "shaft seal"),
];

/// Any other source (user-defined sources 16–255, as Maretron's 129–143 in
/// dirona-actisense-serial.raw) may be any of the above.
const TEMPERATURE_OTHER: Range = range(-100.0, 800.0);

/// A battery or DC bus: lead and lithium batteries stop working well before 100 °C.
/// Mastervolt's 127508 in dirona-actisense-serial.raw (source 60) sends 401.15 K
/// (128 °C) for "no sensor".
const DC_TEMPERATURE: Range = range(-50.0, 100.0);

/// The range of `input` on sensor channel source `source` (temperature family), if
/// it is checked.
pub fn range_of(input: Input, source: u8) -> Option<Range> {
    use Input as I;
    Some(match input {
        I::Temperature
        | I::TemperatureExtended
        | I::TemperatureEnvironment
        | I::TemperatureOutsideWater => TEMPERATURE_BY_SOURCE
            .iter()
            .find(|r| r.0 == source)
            .map_or(TEMPERATURE_OTHER, |r| r.1),
        I::DcTemperature => DC_TEMPERATURE,
        // Relative humidity.
        I::Humidity | I::HumidityEnvironment => range(0.0, 100.0),
        // Atmospheric pressure in hPa: the records are 870 and 1084.
        I::Pressure | I::PressureEnvironment => range(800.0, 1100.0),
        // No boat system runs above 1000 V DC.
        I::DcVoltage => range(-1000.0, 1000.0),
        I::Soc | I::Soh | I::Level => range(0.0, 100.0),
        // A tank holds something: a capacity of 0 m³ is "not configured".
        I::TankCapacity => range(1e-6, 1000.0),
        I::AcVoltage => range(0.0, 1000.0),
        I::AcFrequency => range(0.0, 500.0),
        I::AcPowerFactor => range(-1.0, 1.0),
        // An engine's load in % of its rating (J1939 allows 125 %): Northern Lights
        // gensets send −1 (dirona-actisense-serial.raw, sources 4 and 5).
        I::EngineLoad => range(0.0, 125.0),
        I::EngineSpeed => range(0.0, 20_000.0),
        _ => return None,
    })
}

/// Whether a line's real power fits its voltage and current: |P| ≤ V × I, with
/// 10 % and 10 W for rounding and sampling. A meter that reports 1,004,774 W at
/// 225.7 V and 4.4 A (a unit off by 1000) fails; an idle line passes.
pub fn power_fits(power: f64, voltage: f64, current: f64) -> bool {
    power.abs() <= voltage.abs() * current.abs() * 1.1 + 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_zero_kelvin_is_never_a_temperature() {
        for source in 0..=255u8 {
            assert!(!range_of(Input::Temperature, source).unwrap().holds(-273.15));
        }
        assert!(!DC_TEMPERATURE.holds(-273.15));
    }

    #[test]
    fn ranges_follow_the_source() {
        let t = |s, v| range_of(Input::Temperature, s).unwrap().holds(v);
        assert!(t(14, 600.0), "an exhaust may reach 600 °C");
        assert!(!t(4, 600.0), "a cabin may not");
        assert!(t(13, -18.0));
        assert!(!range_of(Input::DcTemperature, 0).unwrap().holds(128.0));
        assert!(range_of(Input::DcTemperature, 0).unwrap().holds(22.0));
    }

    #[test]
    fn power_against_voltage_and_current() {
        assert!(!power_fits(1_004_774.0, 225.7, 4.4));
        assert!(power_fits(993.0, 225.7, 4.4));
        assert!(power_fits(-980.0, 225.7, 4.4), "exported power");
        assert!(power_fits(3.0, 230.0, 0.0), "an idle line");
    }

    #[test]
    fn every_source_is_listed_once() {
        for s in 0..=15u8 {
            assert_eq!(TEMPERATURE_BY_SOURCE.iter().filter(|r| r.0 == s).count(), 1);
        }
    }
}
