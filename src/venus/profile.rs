//! The Venus profiles as data (docs/architecture.md#data-flow, docs/venus-services.md): which PGN field
//! feeds which input of a device's model, with which conversion, and the
//! enumerations Venus spells differently from NMEA 2000.
//!
//! Adding a mapped field is adding a row here; how inputs become paths is in
//! [`super::render`].

use crate::can::Micros;
use crate::pgn;

use super::fields::Num;

/// A value the mapper keeps per device and channel, in Venus units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Input {
    // 127505
    Level,
    TankCapacity,
    // One sensor's readings may come in several PGNs; each has its own input and
    // the most precise one shows (130316 > 130312 > 130311 > 130310, 130313 >
    // 130311, 130314 > 130311 > 130310).
    // 130312
    Temperature,
    // 130316
    TemperatureExtended,
    // 130311
    TemperatureEnvironment,
    // 130310
    TemperatureOutsideWater,
    // 130313
    Humidity,
    // 130311
    HumidityEnvironment,
    // 130314
    Pressure,
    // 130311, 130310
    PressureEnvironment,
    // 127508
    DcVoltage,
    DcCurrent,
    DcTemperature,
    // 127506
    DcType,
    Soc,
    Soh,
    TimeToGo,
    RemainingAh,
    // 127513
    InstalledAh,
    // 127507
    ChargerBattery,
    ChargerState,
    ChargerEnabled,
    // 127503, 127504
    AcVoltage,
    AcCurrent,
    AcFrequency,
    AcPower,
    AcPowerFactor,
    // 65005, 65018: kWh
    AcEnergyForward,
    AcEnergyReverse,
    // 127488, 127489
    EngineSpeed,
    EngineOilPressure,
    EngineOilTemperature,
    EngineCoolantTemperature,
    EngineHours,
    EngineLoad,
    EngineStatus1,
    EngineStatus2,
    // 127509
    InverterState,
    InverterEnable,
    InverterAc,
    InverterDc,
    // 127750: the converter's operating state and its four 2-bit conditions
    // (0 good, 1 warning, 2 error); 127751 feeds `DcVoltage`/`DcCurrent` on the
    // converter's channel.
    ConverterState,
    ConverterTemperature,
    ConverterOverload,
    ConverterLowVoltage,
    ConverterRipple,
    // 129025
    LatitudeRapid,
    LongitudeRapid,
    // 129026
    CourseReference,
    Course,
    Speed,
    // 129029
    LatitudeGnss,
    LongitudeGnss,
    Altitude,
    Method,
    Satellites,
    UtcTime,
}

/// How a field's value becomes an input's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Conv {
    /// Already in Venus units (V, A, %, s, m/s, m, deg, Ah, W, Hz), or a code.
    Same,
    /// Kelvin → °C.
    Celsius,
    /// Multiplied: L → m³ (0.001), Pa → hPa (0.01), rad → deg, s → ms.
    Times(f64),
    /// Added: the offset a field's definition lacks (J1939 power factor, −1).
    Plus(f64),
}

impl Conv {
    /// The input value of `n`, if it carries one.
    pub fn apply(self, n: Num) -> Option<f64> {
        let x = match n {
            Num::Real(x) => x,
            Num::Code(c) => c as f64,
            Num::Missing => return None,
        };
        let y = match self {
            Conv::Same => x,
            Conv::Celsius => x - 273.15,
            Conv::Times(k) => x * k,
            Conv::Plus(k) => x + k,
        };
        y.is_finite().then_some(y)
    }
}

/// One field feeding one input.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    pub field: &'static str,
    pub input: Input,
    pub conv: Conv,
}

const fn feed(field: &'static str, input: Input, conv: Conv) -> Feed {
    Feed { field, input, conv }
}

/// Which services a PGN's messages belong to, and how their channel is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A tank per (instance, fluid type).
    Tank,
    /// A temperature sensor per (instance, source); `instance: false` when the PGN
    /// has no instance field (130311), whose readings join the device's sensor of
    /// that source.
    Temperature {
        instance: bool,
        source: &'static str,
    },
    /// Humidity of the temperature sensor with the same instance (130313).
    Humidity,
    /// Pressure of the temperature sensor with the same instance, atmospheric only
    /// (130314).
    Pressure,
    /// 130310: water and outside air temperatures, two sensors in one message.
    Environment,
    /// A DC instance (127508, 127506, 127513): battery, source, load or alternator.
    Dc,
    /// A charger instance (127507).
    Charger,
    /// AC lines of an input (127503) or output (127504) instance.
    Ac { input: bool },
    /// Position, course and speed, time.
    Gps,
    /// An engine instance (127488, 127489): a generator's engine or a propulsion
    /// engine (docs/venus-services.md#engines-and-gensets).
    Engine,
    /// One line of a J1939 AC meter (SAE J1939-75 via NMEA 2000): the utility
    /// (shore) or a generator; `line` 0–2 for phases A–C, 3 for totals.
    AcJ1939 { generator: bool, line: u8 },
    /// An inverter instance (127509).
    Inverter,
    /// A converter's connection: its status (127750, `status`) or its DC output
    /// (127751); charger, inverter or DC-DC converter by the NAME's function.
    Converter { status: bool },
}

/// A mapped PGN.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub pgn: u32,
    pub route: Route,
    /// Fields outside repeating sets (or per repetition for [`Route::Ac`]).
    pub feeds: &'static [Feed],
}

const DEG: f64 = 180.0 / std::f64::consts::PI;

/// Every mapped PGN.
pub const PROFILES: &[Profile] = &[
    Profile {
        pgn: 127505,
        route: Route::Tank,
        feeds: &[
            feed("level", Input::Level, Conv::Same),
            feed("capacity", Input::TankCapacity, Conv::Times(0.001)),
        ],
    },
    Profile {
        pgn: 130312,
        route: Route::Temperature {
            instance: true,
            source: "source",
        },
        feeds: &[feed("actualTemperature", Input::Temperature, Conv::Celsius)],
    },
    Profile {
        pgn: 130316,
        route: Route::Temperature {
            instance: true,
            source: "source",
        },
        feeds: &[feed(
            "temperature",
            Input::TemperatureExtended,
            Conv::Celsius,
        )],
    },
    Profile {
        pgn: 130311,
        route: Route::Temperature {
            instance: false,
            source: "temperatureSource",
        },
        feeds: &[
            feed("temperature", Input::TemperatureEnvironment, Conv::Celsius),
            feed("humidity", Input::HumidityEnvironment, Conv::Same),
            feed(
                "atmosphericPressure",
                Input::PressureEnvironment,
                Conv::Times(0.01),
            ),
        ],
    },
    Profile {
        pgn: 130310,
        route: Route::Environment,
        feeds: &[],
    },
    Profile {
        pgn: 130313,
        route: Route::Humidity,
        feeds: &[feed("actualHumidity", Input::Humidity, Conv::Same)],
    },
    Profile {
        pgn: 130314,
        route: Route::Pressure,
        feeds: &[feed("pressure", Input::Pressure, Conv::Times(0.01))],
    },
    Profile {
        pgn: 127508,
        route: Route::Dc,
        feeds: &[
            feed("voltage", Input::DcVoltage, Conv::Same),
            feed("current", Input::DcCurrent, Conv::Same),
            feed("temperature", Input::DcTemperature, Conv::Celsius),
        ],
    },
    Profile {
        pgn: 127506,
        route: Route::Dc,
        feeds: &[
            feed("dcType", Input::DcType, Conv::Same),
            feed("stateOfCharge", Input::Soc, Conv::Same),
            feed("stateOfHealth", Input::Soh, Conv::Same),
            feed("timeRemaining", Input::TimeToGo, Conv::Same),
            feed("remainingCapacity", Input::RemainingAh, Conv::Same),
        ],
    },
    Profile {
        pgn: 127513,
        route: Route::Dc,
        feeds: &[feed("capacity", Input::InstalledAh, Conv::Same)],
    },
    Profile {
        pgn: 127507,
        route: Route::Charger,
        feeds: &[
            feed("batteryInstance", Input::ChargerBattery, Conv::Same),
            feed("operatingState", Input::ChargerState, Conv::Same),
            feed("enabled", Input::ChargerEnabled, Conv::Same),
        ],
    },
    Profile {
        pgn: 127503,
        route: Route::Ac { input: true },
        feeds: AC_LINE,
    },
    Profile {
        pgn: 127504,
        route: Route::Ac { input: false },
        feeds: AC_LINE,
    },
    Profile {
        pgn: 129025,
        route: Route::Gps,
        feeds: &[
            feed("latitude", Input::LatitudeRapid, Conv::Same),
            feed("longitude", Input::LongitudeRapid, Conv::Same),
        ],
    },
    Profile {
        pgn: 129026,
        route: Route::Gps,
        feeds: &[
            feed("cogReference", Input::CourseReference, Conv::Same),
            feed("cog", Input::Course, Conv::Times(DEG)),
            feed("sog", Input::Speed, Conv::Same),
        ],
    },
    Profile {
        pgn: 129029,
        route: Route::Gps,
        feeds: &[
            feed("latitude", Input::LatitudeGnss, Conv::Same),
            feed("longitude", Input::LongitudeGnss, Conv::Same),
            feed("altitude", Input::Altitude, Conv::Same),
            feed("method", Input::Method, Conv::Same),
            feed("numberOfSvs", Input::Satellites, Conv::Same),
            feed("time", Input::UtcTime, Conv::Times(1000.0)),
        ],
    },
];

/// J1939 AC PGNs as (PGN, generator, line, feeds), SAE J1939-75 numbering as
/// canboat lists them: per phase A, B, C the basic quantities, the power and the
/// reactive power; then the total energies.
const J1939_AC: &[(u32, bool, u8, &[Feed])] = &[
    (65014, false, 0, J1939_BASIC),
    (65013, false, 0, J1939_POWER),
    (65012, false, 0, J1939_REACTIVE),
    (65011, false, 1, J1939_BASIC),
    (65010, false, 1, J1939_POWER),
    (65009, false, 1, J1939_REACTIVE),
    (65008, false, 2, J1939_BASIC),
    (65007, false, 2, J1939_POWER),
    (65006, false, 2, J1939_REACTIVE),
    (65005, false, 3, J1939_ENERGY),
    (65027, true, 0, J1939_BASIC),
    (65026, true, 0, J1939_POWER),
    (65025, true, 0, J1939_REACTIVE),
    (65024, true, 1, J1939_BASIC),
    (65023, true, 1, J1939_POWER),
    (65022, true, 1, J1939_REACTIVE),
    (65021, true, 2, J1939_BASIC),
    (65020, true, 2, J1939_POWER),
    (65019, true, 2, J1939_REACTIVE),
    (65018, true, 3, J1939_ENERGY),
];

const J1939_BASIC: &[Feed] = &[
    feed("lineNeutralAcRmsVoltage", Input::AcVoltage, Conv::Same),
    feed("acRmsCurrent", Input::AcCurrent, Conv::Same),
    feed("acFrequency", Input::AcFrequency, Conv::Same),
];
const J1939_POWER: &[Feed] = &[feed("realPower", Input::AcPower, Conv::Same)];
/// canboat's definition has no offset; J1939's power factor has −1 (raw 16384 =
/// 0): dirona-actisense-serial.raw's meters decode to 1.965 where real/apparent
/// power is 3882/4023 = 0.965, and to 2.000 where both are 4438.
const J1939_REACTIVE: &[Feed] = &[feed("powerFactor", Input::AcPowerFactor, Conv::Plus(-1.0))];
/// "Export" is what the meter delivers: a shore meter on a boat that never feeds
/// the grid counts 14959 kWh export and 0 import (dirona, source 193), a
/// generator's meter its production [inferred from that capture].
const J1939_ENERGY: &[Feed] = &[
    feed("totalEnergyExport", Input::AcEnergyForward, Conv::Same),
    feed("totalEnergyImport", Input::AcEnergyReverse, Conv::Same),
];

/// Engine PGNs (docs/switching-alerts.md#engine-pgns).
const ENGINE_RAPID: &[Feed] = &[feed("speed", Input::EngineSpeed, Conv::Same)];
const ENGINE_DYNAMIC: &[Feed] = &[
    feed("oilPressure", Input::EngineOilPressure, Conv::Times(0.001)),
    feed("oilTemperature", Input::EngineOilTemperature, Conv::Celsius),
    feed(
        "temperature",
        Input::EngineCoolantTemperature,
        Conv::Celsius,
    ),
    feed("totalEngineHours", Input::EngineHours, Conv::Same),
    feed("discreteStatus1", Input::EngineStatus1, Conv::Same),
    feed("discreteStatus2", Input::EngineStatus2, Conv::Same),
    feed("engineLoad", Input::EngineLoad, Conv::Same),
];
const INVERTER: &[Feed] = &[
    feed("operatingState", Input::InverterState, Conv::Same),
    feed("inverterEnable", Input::InverterEnable, Conv::Same),
    feed("acInstance", Input::InverterAc, Conv::Same),
    feed("dcInstance", Input::InverterDc, Conv::Same),
];

/// 127750 Converter Status (docs/switching-alerts.md#127750-converter-status).
const CONVERTER_STATUS: &[Feed] = &[
    feed("operatingState", Input::ConverterState, Conv::Same),
    feed("temperatureState", Input::ConverterTemperature, Conv::Same),
    feed("overloadState", Input::ConverterOverload, Conv::Same),
    feed("lowDcVoltageState", Input::ConverterLowVoltage, Conv::Same),
    feed("rippleState", Input::ConverterRipple, Conv::Same),
];
/// 127751 DC Voltage/Current (docs/nmea2000.md#electrical): V and A as canboat scales them.
const CONVERTER_DC: &[Feed] = &[
    feed("dcVoltage", Input::DcVoltage, Conv::Same),
    feed("dcCurrent", Input::DcCurrent, Conv::Same),
];

/// The mapped PGNs beyond [`PROFILES`]: engines, the inverter, J1939 AC.
const fn extra(pgn: u32) -> Option<Profile> {
    let (route, feeds) = match pgn {
        127488 => (Route::Engine, ENGINE_RAPID),
        127489 => (Route::Engine, ENGINE_DYNAMIC),
        127509 => (Route::Inverter, INVERTER),
        127750 => (Route::Converter { status: true }, CONVERTER_STATUS),
        127751 => (Route::Converter { status: false }, CONVERTER_DC),
        // Only the J1939 range is searched: every other PGN leaves at once.
        65005..=65027 => {
            let mut k = 0;
            while k < J1939_AC.len() {
                let (p, generator, line, feeds) = J1939_AC[k];
                if p == pgn {
                    return Some(Profile {
                        pgn,
                        route: Route::AcJ1939 { generator, line },
                        feeds,
                    });
                }
                k += 1;
            }
            return None;
        }
        _ => return None,
    };
    Some(Profile { pgn, route, feeds })
}

const AC_LINE: &[Feed] = &[
    feed("voltage", Input::AcVoltage, Conv::Same),
    feed("current", Input::AcCurrent, Conv::Same),
    feed("frequency", Input::AcFrequency, Conv::Same),
    feed("realPower", Input::AcPower, Conv::Same),
    feed("powerFactor", Input::AcPowerFactor, Conv::Same),
];

/// The profile of `pgn`, if it is mapped.
pub fn profile(pgn: u32) -> Option<Profile> {
    PROFILES
        .iter()
        .find(|p| p.pgn == pgn)
        .copied()
        .or_else(|| extra(pgn))
}

/// Every mapped PGN.
pub fn mapped() -> impl Iterator<Item = Profile> {
    PROFILES
        .iter()
        .copied()
        .chain(J1939_AC.iter().filter_map(|r| extra(r.0)))
        .chain(
            [127488, 127489, 127509, 127750, 127751]
                .into_iter()
                .filter_map(extra),
        )
}

/// Transmission intervals of PGNs canboat gives none for, in ms, each from the
/// capture that shows it (or marked inferred where none does).
const INTERVALS: &[(u32, u64, &str)] = &[
    (
        65014,
        1000,
        "dirona-actisense-serial.raw: J1939 AC quantities about every second",
    ),
    (65005, 5000, "dirona: total energies about every 5 s"),
    (
        127750,
        1500,
        "inferred: no capture has it; the interval of the DC status PGNs it pairs with (127506-127508)",
    ),
    (127751, 1500, "inferred: as 127750"),
];

fn interval_of(pgn: u32) -> Option<u64> {
    if let Some(d) = pgn::variants(pgn).iter().find_map(|d| d.interval) {
        return Some(u64::from(d));
    }
    let row = match pgn {
        65005 | 65018 => 65005,
        65006..=65030 => 65014,
        p => p,
    };
    INTERVALS.iter().find(|r| r.0 == row).map(|r| r.1)
}

/// Shortest freshness: dbus_gps lets a value live 5 s.
const MIN_FRESH: Micros = 5_000_000;

/// How long a value of `pgn` stays valid without a refresh, in µs: three of its
/// default transmission intervals, at least 5 s (docs/venus-services.md#mapping-rules (rule 4)).
/// `None`: the PGN has no interval (127513 is sent on request or change) and its
/// values hold while the device is on the bus.
pub fn freshness(pgn: u32) -> Option<Micros> {
    let interval = interval_of(pgn)?;
    Some((interval as Micros * 3_000).max(MIN_FRESH))
}

/// The channel suffix of a tank: its fluid and instance, `fuel0`, `freshwater1`.
pub fn tank_suffix(fluid: u8, instance: u8) -> String {
    let word = match fluid {
        0 => "fuel",
        1 => "freshwater",
        2 => "wastewater",
        3 => "livewell",
        4 => "oil",
        5 => "blackwater",
        6 => "gasoline",
        7 => "diesel",
        8 => "lpg",
        9 => "lng",
        10 => "hydraulicoil",
        11 => "rawwater",
        _ => return format!("fluid{fluid}_{instance}"),
    };
    format!("{word}{instance}")
}

/// The channel suffix of a temperature sensor: its source and instance,
/// `engineroom2`, `outside0`; unknown sources as `src<n>_<instance>`.
pub fn temperature_suffix(source: u8, instance: u8) -> String {
    let word = match source {
        0 => "sea",
        1 => "outside",
        2 => "inside",
        3 => "engineroom",
        4 => "maincabin",
        5 => "livewell",
        6 => "baitwell",
        7 => "refrigeration",
        8 => "heatingsystem",
        9 => "dewpoint",
        10 => "apparentwindchill",
        11 => "theoreticalwindchill",
        12 => "heatindex",
        13 => "freezer",
        14 => "exhaustgas",
        15 => "shaftseal",
        _ => return format!("src{source}_{instance}"),
    };
    format!("{word}{instance}")
}

/// The source code a humidity-only channel gets, so its suffix reads
/// `humidity<instance>` and it never meets a temperature source.
pub const HUMIDITY_SOURCE: u8 = 250;
/// The same for a pressure-only channel: `pressure<instance>`.
pub const PRESSURE_SOURCE: u8 = 251;

/// The source codes of a propulsion engine's temperatures, shown as temperature
/// sensors `engine<instance>_coolant` and `engine<instance>_oil`.
pub const ENGINE_COOLANT_SOURCE: u8 = 252;
pub const ENGINE_OIL_SOURCE: u8 = 253;

/// The suffix of a channel of the temperature family.
pub fn sensor_suffix(source: u8, instance: u8) -> String {
    match source {
        HUMIDITY_SOURCE => format!("humidity{instance}"),
        PRESSURE_SOURCE => format!("pressure{instance}"),
        ENGINE_COOLANT_SOURCE => format!("engine{instance}_coolant"),
        ENGINE_OIL_SOURCE => format!("engine{instance}_oil"),
        s => temperature_suffix(s, instance),
    }
}

/// Venus `/TemperatureType` for an NMEA 2000 temperature source (docs/venus-services.md#values). Nothing maps to 0 (Battery): that makes systemcalc use the sensor as the
/// battery temperature, which is the user's decision.
pub fn temperature_type(source: u8) -> i64 {
    match source {
        0 | 1 | 9..=12 => 4, // outdoor
        2 | 4 => 3,          // room
        7 => 1,              // fridge
        13 => 6,             // freezer
        8 => 5,              // water heater
        _ => 2,              // generic
    }
}

/// Venus charger `/State` for an NMEA 2000 charger operating state; `None` for the
/// "error" and "not available" codes.
pub fn charger_state(state: u64) -> Option<i64> {
    Some(match state {
        0 | 6 | 8 => 0, // not charging, no float, disabled: off
        1 => 3,         // bulk
        2 | 3 => 4,     // absorption, overcharge
        4 => 7,         // equalise
        5 => 5,         // float
        7 => 11,        // constant VI: power supply mode
        9 => 2,         // fault
        _ => return None,
    })
}

/// Venus inverter `/State` for 127509's operating state (docs/switching-alerts.md#127509-inverter-status): invert → inverting, AC passthru → passthru, load sense → low power,
/// fault, disabled → off.
pub fn inverter_state(state: u64) -> Option<i64> {
    Some(match state {
        0 => 9,
        1 => 8,
        2 => 1,
        3 => 2,
        4 => 0,
        _ => return None,
    })
}

/// A converter's operating state (127750) as Venus `/State`: the numbers are
/// Victron's device states 0–10 (docs/switching-alerts.md#127750-converter-status, docs/vecan-products.md#state:
/// the register definitions equate them).
pub fn converter_state(state: u64) -> Option<i64> {
    (state <= 10).then_some(state as i64)
}

/// A converter's 2-bit condition (127750) as a Venus alarm: 0 ok, 1 warning,
/// 2 alarm, the scale venus-platform reads; 3 is "not available".
pub fn converter_alarm(condition: u64) -> Option<i64> {
    (condition <= 2).then_some(condition as i64)
}

/// The engine status bits that are alarms or warnings, most severe first:
/// (status word 1 or 2, bit, `e` alarm / `w` warning). Codes are the bit of word 1,
/// 16 + the bit of word 2, as `/Error/0/Id` `"n2k:<e|w>-<code>"` (docs/switching-alerts.md#engine-pgns). Indicators that are not faults (preheat, secondary throttle, neutral start
/// protection) are not listed.
pub const ENGINE_ALARMS: &[(u8, u8, char)] = &[
    (1, 15, 'e'), // emergency stop
    (2, 7, 'e'),  // engine shutting down
    (1, 1, 'e'),  // over temperature
    (1, 2, 'e'),  // low oil pressure
    (1, 6, 'e'),  // low coolant level
    (1, 7, 'e'),  // water flow
    (1, 3, 'e'),  // low oil level
    (1, 4, 'e'),  // low fuel pressure
    (1, 8, 'e'),  // water in fuel
    (1, 12, 'e'), // rev limit exceeded
    (1, 11, 'e'), // high boost pressure
    (2, 1, 'e'),  // warning level 2
    (1, 0, 'e'),  // check engine
    (1, 5, 'w'),  // low system voltage
    (1, 9, 'w'),  // charge indicator
    (1, 13, 'w'), // EGR system
    (1, 14, 'w'), // throttle position sensor
    (2, 2, 'w'),  // power reduction
    (2, 4, 'w'),  // engine communication error
    (2, 0, 'w'),  // warning level 1
    (2, 3, 'w'),  // maintenance needed
];

/// `/Error/0/Id` of an engine: its most severe active alarm, "" for none; `None`
/// when the engine sends neither status word.
pub fn engine_error(status1: Option<u64>, status2: Option<u64>) -> Option<String> {
    if status1.is_none() && status2.is_none() {
        return None;
    }
    let active = |word: u8, bit: u8| {
        let w = if word == 1 { status1 } else { status2 };
        w.is_some_and(|w| (w >> bit) & 1 == 1)
    };
    Some(
        ENGINE_ALARMS
            .iter()
            .find(|&&(word, bit, _)| active(word, bit))
            .map(|&(word, bit, class)| {
                let code = u16::from(bit) + if word == 2 { 16 } else { 0 };
                format!("n2k:{class}-{code}")
            })
            .unwrap_or_default(),
    )
}

/// Manufacturers whose engine data (127488, 127489) is a generator's: their NMEA
/// 2000 products are generator controllers. Correcting one is editing a row; a
/// user's `--type <device>=genset` decides for any device.
pub const GENERATOR_MAKERS: &[(u16, &str)] = &[(
    374,
    "Northern Lights: GSC400 generator controllers (dirona-actisense-serial.raw: \
     sources 4 and 5 send 127489 for engines 11 and 12; their remotes' 126996 \
     reads GSC400 REMOTE)",
)];

/// Venus `/Fix` for a GNSS method: a fix of any precision is 1, none 0.
pub fn gps_fix(method: u64) -> Option<i64> {
    match method {
        1..=5 => Some(1),
        0 | 6..=8 => Some(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_follows_the_interval() {
        assert_eq!(freshness(127508), Some(5_000_000)); // 1.5 s × 3 < 5 s
        assert_eq!(freshness(127505), Some(7_500_000)); // 2.5 s × 3
        assert_eq!(freshness(127513), None);
        assert_eq!(freshness(65027), Some(5_000_000));
        assert_eq!(freshness(65018), Some(15_000_000));
    }

    #[test]
    fn suffixes_are_readable() {
        assert_eq!(tank_suffix(0, 0), "fuel0");
        assert_eq!(tank_suffix(1, 1), "freshwater1");
        assert_eq!(tank_suffix(14, 3), "fluid14_3");
        assert_eq!(temperature_suffix(3, 2), "engineroom2");
        assert_eq!(temperature_suffix(40, 1), "src40_1");
        assert_eq!(sensor_suffix(HUMIDITY_SOURCE, 0), "humidity0");
    }

    #[test]
    fn engine_errors_most_severe_first() {
        assert_eq!(engine_error(None, None), None);
        assert_eq!(engine_error(Some(0), Some(0)).as_deref(), Some(""));
        // Check engine and low oil pressure: the oil pressure.
        assert_eq!(engine_error(Some(0b101), None).as_deref(), Some("n2k:e-2"));
        // Maintenance needed alone: a warning.
        assert_eq!(
            engine_error(Some(0), Some(0b1000)).as_deref(),
            Some("n2k:w-19")
        );
        // Preheat is no alarm.
        assert_eq!(engine_error(Some(1 << 10), None).as_deref(), Some(""));
    }

    #[test]
    fn every_feed_names_a_field_of_its_pgn() {
        for p in mapped() {
            let defs = pgn::variants(p.pgn);
            assert!(!defs.is_empty(), "{}", p.pgn);
            for f in p.feeds {
                assert!(
                    defs.iter()
                        .any(|d| d.fields.iter().any(|x| x.id == f.field)),
                    "{} has no field {}",
                    p.pgn,
                    f.field
                );
            }
        }
    }
}
