//! From a device's inputs to the values of one service's measurement paths, in the
//! order of [`Kind::paths`]. The computed paths live here: `/Dc/0/Power` = V × I,
//! tank `/Remaining` and `/Status`, `/Ac/Power` summed over the lines, the GPS fix.

use crate::can::Micros;
use crate::model::Value;

use super::kind::Kind;
use super::profile::{self, Input};

/// A stored input: its value and until when it is fresh (`Micros::MAX`: while the
/// device is on the bus).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub input: Input,
    pub chan: u32,
    pub value: f64,
    pub until: Micros,
}

/// Read access to a device's inputs.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a>(pub &'a [Slot]);

impl Inputs<'_> {
    /// The value of `input` on channel `chan`, if fresh.
    pub fn get(&self, input: Input, chan: u32) -> Option<f64> {
        self.0
            .iter()
            .find(|s| s.input == input && s.chan == chan)
            .map(|s| s.value)
    }
}

/// The channel of an AC line: direction, instance and line (0–2; 3 holds the
/// message's line count).
pub fn ac_chan(input: bool, instance: u8, line: u8) -> u32 {
    (u32::from(input) << 16) | (u32::from(instance) << 8) | u32::from(line)
}

/// The channel of a J1939 AC meter's line (0–2; 3 holds its total energies).
pub fn j1939_chan(line: u8) -> u32 {
    (1 << 18) | u32::from(line)
}

/// The channel of an engine instance (127488, 127489).
pub fn engine_chan(instance: u8) -> u32 {
    (1 << 20) | u32::from(instance)
}

/// The channel of a converter's connection (127750, 127751).
pub fn converter_chan(connection: u8) -> u32 {
    (1 << 21) | u32::from(connection)
}

/// The channel of a tank or temperature sensor: instance and fluid type or source.
pub fn sensor_chan(instance: u8, second: u8) -> u32 {
    (u32::from(instance) << 8) | u32::from(second)
}

/// What one service reads besides its kind.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: Kind,
    /// Tank and temperature: the sensor channel. AC: the channel of line 0.
    pub chan: u32,
    /// DC kinds: the DC instances shown as `/Dc/0` and `/Dc/1`.
    pub dc: [Option<u8>; 2],
    /// Charger: the device's charger instances, in the order they appeared.
    pub chargers: &'a [u8],
    /// Genset: the engine instance it shows, and the DC instance of its starter
    /// battery.
    pub engine: Option<u8>,
    pub starter: Option<u8>,
    /// The converter connection (127750/127751) a DC meter, DC-DC converter or
    /// charger shows; an inverter's is its own instance.
    pub converter: Option<u8>,
    /// Genset: its most severe active NMEA 2000 alert as an error id.
    pub alert: Option<&'a str>,
}

fn real(x: Option<f64>) -> Value {
    x.map_or(Value::Invalid, Value::Real)
}

fn int(x: Option<i64>) -> Value {
    x.map_or(Value::Invalid, Value::Int)
}

fn whole(x: Option<f64>) -> Option<i64> {
    x.map(|v| v.round() as i64)
}

/// Renders `t` from `inp` into `out` (cleared first).
pub fn render(t: &Target<'_>, inp: Inputs<'_>, out: &mut Vec<Value>) {
    out.clear();
    match t.kind {
        Kind::Tank => tank(t.chan, inp, out),
        Kind::Temperature => temperature(t.chan, inp, out),
        Kind::Battery => {
            dc(t.dc, inp, out);
            battery(t.dc[0], inp, out);
        }
        Kind::DcSource | Kind::DcLoad => match t.converter {
            Some(c) => {
                converter_dc(Some(converter_chan(c)), inp, out);
                out.extend([Value::Invalid, Value::Invalid]);
            }
            None => dc(t.dc, inp, out),
        },
        Kind::DcDc => {
            let chan = t.converter.map(converter_chan);
            converter_dc(chan, inp, out);
            let state = chan.and_then(|c| inp.get(Input::ConverterState, c));
            out.push(int(state.and_then(|s| profile::converter_state(s as u64))));
            alarms(chan, inp, out);
        }
        Kind::Alternator => {
            dc(t.dc, inp, out);
            let state = t.dc[0].and_then(|i| {
                t.chargers
                    .iter()
                    .find(|&&c| inp.get(Input::ChargerBattery, u32::from(c)) == Some(f64::from(i)))
                    .and_then(|&c| inp.get(Input::ChargerState, u32::from(c)))
            });
            let state = state
                .and_then(|s| profile::charger_state(s as u64))
                .filter(|s| matches!(s, 0 | 2..=7));
            out.push(int(state));
        }
        Kind::Charger => {
            let chan = t.converter.map(converter_chan);
            charger(t.chargers, chan, inp, out);
            alarms(chan, inp, out);
        }
        Kind::Grid | Kind::AcLoad => {
            ac(t.chan, inp, out);
            energy(t.chan, inp, out);
        }
        Kind::Genset => {
            ac(t.chan, inp, out);
            energy(t.chan, inp, out);
            engine(t, inp, out);
        }
        Kind::Inverter => {
            inverter(t.chan, inp, out);
            alarms(Some(converter_chan(t.chan as u8)), inp, out);
        }
        Kind::Gps => gps(inp, out),
        Kind::Switch => {}
    }
    debug_assert_eq!(out.len(), t.kind.paths().len(), "{}", t.kind);
}

fn tank(chan: u32, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let level = inp.get(Input::Level, chan).map(|l| l.clamp(0.0, 100.0));
    let capacity = inp.get(Input::TankCapacity, chan);
    let remaining = level.zip(capacity).map(|(l, c)| l / 100.0 * c);
    let fluid = chan & 0xFF;
    out.push(real(level));
    out.push(real(remaining));
    out.push(real(capacity));
    out.push(int((fluid < 14).then_some(i64::from(fluid))));
    out.push(Value::Int(if level.is_some() { 0 } else { 4 }));
}

fn temperature(chan: u32, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let first = |inputs: &[Input]| inputs.iter().find_map(|&i| inp.get(i, chan));
    let t = first(&[
        Input::TemperatureExtended,
        Input::Temperature,
        Input::TemperatureEnvironment,
        Input::TemperatureOutsideWater,
    ]);
    let source = (chan & 0xFF) as u8;
    let kind = match source {
        profile::HUMIDITY_SOURCE | profile::PRESSURE_SOURCE => 2,
        s => profile::temperature_type(s),
    };
    out.push(real(t));
    out.push(Value::Int(kind));
    out.push(Value::Int(if t.is_some() { 0 } else { 4 }));
    out.push(real(first(&[Input::Humidity, Input::HumidityEnvironment])));
    out.push(real(first(&[Input::Pressure, Input::PressureEnvironment])));
}

fn dc(instances: [Option<u8>; 2], inp: Inputs<'_>, out: &mut Vec<Value>) {
    let at = |input, i: Option<u8>| i.and_then(|i| inp.get(input, u32::from(i)));
    let v = at(Input::DcVoltage, instances[0]);
    let i = at(Input::DcCurrent, instances[0]);
    out.push(real(v));
    out.push(real(i));
    out.push(real(v.zip(i).map(|(v, i)| v * i)));
    out.push(real(at(Input::DcTemperature, instances[0])));
    out.push(real(at(Input::DcVoltage, instances[1])));
}

/// A converter's output (127751): `/Dc/0/{Voltage,Current,Power}`.
fn converter_dc(chan: Option<u32>, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let at = |input| chan.and_then(|c| inp.get(input, c));
    let (v, i) = (at(Input::DcVoltage), at(Input::DcCurrent));
    out.push(real(v));
    out.push(real(i));
    out.push(real(v.zip(i).map(|(v, i)| v * i)));
}

/// A converter's four conditions (127750), in the order of the kinds' alarm paths.
fn alarms(chan: Option<u32>, inp: Inputs<'_>, out: &mut Vec<Value>) {
    for input in [
        Input::ConverterTemperature,
        Input::ConverterOverload,
        Input::ConverterLowVoltage,
        Input::ConverterRipple,
    ] {
        let a = chan.and_then(|c| inp.get(input, c));
        out.push(int(a.and_then(|a| profile::converter_alarm(a as u64))));
    }
}

fn battery(instance: Option<u8>, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let at = |input| instance.and_then(|i| inp.get(input, u32::from(i)));
    let remaining = at(Input::RemainingAh);
    let installed = at(Input::InstalledAh);
    out.push(real(at(Input::Soc)));
    out.push(real(at(Input::Soh)));
    out.push(real(at(Input::TimeToGo)));
    out.push(real(remaining));
    out.push(real(installed));
    out.push(real(remaining.zip(installed).map(|(r, c)| r - c)));
}

/// 127507 and the 127508 of the battery each output charges; a charger that
/// sends none shows its converter connection's 127751 and 127750 (`converter`).
fn charger(chargers: &[u8], converter: Option<u32>, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let battery = |k: usize| {
        chargers
            .get(k)
            .and_then(|&c| inp.get(Input::ChargerBattery, u32::from(c)))
            .map(|b| b as u32)
    };
    let at = |input, k: usize| battery(k).and_then(|b| inp.get(input, b));
    let first = |input| {
        at(input, 0).or_else(|| {
            converter
                .filter(|_| chargers.is_empty())
                .and_then(|c| inp.get(input, c))
        })
    };
    out.push(real(first(Input::DcVoltage)));
    out.push(real(first(Input::DcCurrent)));
    out.push(real(at(Input::DcTemperature, 0)));
    out.push(real(at(Input::DcVoltage, 1)));
    out.push(real(at(Input::DcCurrent, 1)));
    out.push(real(at(Input::DcVoltage, 2)));
    out.push(real(at(Input::DcCurrent, 2)));
    out.push(Value::Int(chargers.len().clamp(1, 3) as i64));
    let first = chargers.first().map(|&c| u32::from(c));
    let state = first
        .and_then(|c| inp.get(Input::ChargerState, c))
        .and_then(|s| profile::charger_state(s as u64))
        .or_else(|| {
            converter
                .and_then(|c| inp.get(Input::ConverterState, c))
                .and_then(|s| profile::converter_state(s as u64))
        });
    let mode = first
        .and_then(|c| inp.get(Input::ChargerEnabled, c))
        .map(|m| m as i64);
    out.push(int(state));
    out.push(int(mode));
}

/// Whether line `c` carries a measurement (a power factor or frequency alone is
/// not one: susteranna2020.raw's inverter/charger sends lines with nothing else).
fn line_measured(inp: Inputs<'_>, c: u32) -> bool {
    [Input::AcVoltage, Input::AcCurrent, Input::AcPower]
        .iter()
        .any(|&i| inp.get(i, c).is_some())
}

/// Clients read L1…L`<NrOfPhases>`: the lines a meter measures are published there
/// in order, whatever numbers the meter gave them (a single line sent as line 3 is
/// L1); `/NrOfPhases` counts them and `/Ac/Power` sums what is published.
fn ac(chan: u32, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let mut total = None;
    let mut frequency = None;
    let mut lines = 0;
    for line in 0..3u32 {
        let c = chan | line;
        frequency = frequency.or(inp.get(Input::AcFrequency, c));
        if !line_measured(inp, c) {
            continue;
        }
        lines += 1;
        let p = inp.get(Input::AcPower, c);
        if let Some(p) = p {
            total = Some(total.unwrap_or(0.0) + p);
        }
        out.push(real(inp.get(Input::AcVoltage, c)));
        out.push(real(inp.get(Input::AcCurrent, c)));
        out.push(real(p));
        out.push(real(inp.get(Input::AcPowerFactor, c)));
    }
    for _ in lines..3 {
        out.extend([
            Value::Invalid,
            Value::Invalid,
            Value::Invalid,
            Value::Invalid,
        ]);
    }
    out.push(real(total));
    out.push(real(frequency));
    out.push(int((lines > 0).then_some(lines)));
}

/// Total energies, kept on the line-3 channel of the meter.
fn energy(chan: u32, inp: Inputs<'_>, out: &mut Vec<Value>) {
    out.push(real(inp.get(Input::AcEnergyForward, chan | 3)));
    out.push(real(inp.get(Input::AcEnergyReverse, chan | 3)));
}

fn engine(t: &Target<'_>, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let at = |input| t.engine.and_then(|i| inp.get(input, engine_chan(i)));
    let status = |input| at(input).map(|s| s as u64);
    out.push(real(at(Input::EngineSpeed)));
    out.push(real(at(Input::EngineLoad)));
    out.push(real(at(Input::EngineCoolantTemperature)));
    out.push(real(at(Input::EngineOilPressure)));
    out.push(real(at(Input::EngineOilTemperature)));
    out.push(real(at(Input::EngineHours)));
    out.push(real(
        t.starter
            .and_then(|i| inp.get(Input::DcVoltage, u32::from(i))),
    ));
    let status = t.engine.and_then(|_| {
        profile::engine_error(status(Input::EngineStatus1), status(Input::EngineStatus2))
    });
    // Venus shows one error: an alarm before a warning, the engine's own first.
    let alarm = |e: &str| e.contains(":e-");
    let error = match (status, t.alert) {
        (Some(s), Some(a)) if !alarm(&s) && (alarm(a) || s.is_empty()) => Some(a.to_owned()),
        (None, Some(a)) => Some(a.to_owned()),
        (s, _) => s,
    };
    out.push(error.map_or(Value::Invalid, Value::Text));
}

/// 127509 and what it links: the AC output instance's line 1 (127504), the DC
/// instance (127508).
fn inverter(chan: u32, inp: Inputs<'_>, out: &mut Vec<Value>) {
    let ac = inp
        .get(Input::InverterAc, chan)
        .map(|a| ac_chan(false, a as u8, 0));
    let dc = inp.get(Input::InverterDc, chan).map(|d| d as u32);
    let conv = converter_chan(chan as u8);
    let on_ac = |input| ac.and_then(|c| inp.get(input, c));
    // The DC instance 127509 names, else the converter's own 127751.
    let on_dc = |input| {
        dc.and_then(|c| inp.get(input, c))
            .or_else(|| inp.get(input, conv))
    };
    out.push(real(on_ac(Input::AcVoltage)));
    out.push(real(on_ac(Input::AcCurrent)));
    out.push(real(on_ac(Input::AcPower)));
    out.push(real(on_ac(Input::AcFrequency)));
    let (v, i) = (on_dc(Input::DcVoltage), on_dc(Input::DcCurrent));
    out.push(real(v));
    out.push(real(i));
    out.push(real(v.zip(i).map(|(v, i)| v * i)));
    let state = inp
        .get(Input::InverterState, chan)
        .and_then(|s| profile::inverter_state(s as u64))
        .or_else(|| {
            inp.get(Input::ConverterState, conv)
                .and_then(|s| profile::converter_state(s as u64))
        });
    out.push(int(state));
    // Enabled: on (2); disabled: off (4).
    let mode = match inp.get(Input::InverterEnable, chan).map(|e| e as u8) {
        Some(1) => Some(2),
        Some(0) => Some(4),
        _ => None,
    };
    out.push(int(mode));
}

fn gps(inp: Inputs<'_>, out: &mut Vec<Value>) {
    let rapid = inp
        .get(Input::LatitudeRapid, 0)
        .zip(inp.get(Input::LongitudeRapid, 0));
    let gnss = inp
        .get(Input::LatitudeGnss, 0)
        .zip(inp.get(Input::LongitudeGnss, 0));
    let position = rapid.or(gnss);
    // Only a course over ground referenced to true north is Venus's `/Course`.
    let course = (inp.get(Input::CourseReference, 0) == Some(0.0))
        .then(|| inp.get(Input::Course, 0))
        .flatten();
    let fix = match inp.get(Input::Method, 0) {
        Some(m) => profile::gps_fix(m as u64),
        None => Some(i64::from(position.is_some())),
    };
    out.push(real(position.map(|p| p.0)));
    out.push(real(position.map(|p| p.1)));
    out.push(real(course));
    out.push(real(inp.get(Input::Speed, 0)));
    out.push(real(inp.get(Input::Altitude, 0)));
    out.push(int(fix));
    out.push(int(whole(inp.get(Input::Satellites, 0))));
    out.push(int(whole(inp.get(Input::UtcTime, 0))));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(input: Input, chan: u32, value: f64) -> Slot {
        Slot {
            input,
            chan,
            value,
            until: Micros::MAX,
        }
    }

    /// A service of `kind` on channel `chan`, with nothing else attached.
    fn target(kind: Kind, chan: u32) -> Target<'static> {
        Target {
            kind,
            chan,
            dc: [None; 2],
            chargers: &[],
            engine: None,
            starter: None,
            converter: None,
            alert: None,
        }
    }

    #[test]
    fn battery_power_and_starter_voltage() {
        let slots = [
            slot(Input::DcVoltage, 0, 12.5),
            slot(Input::DcCurrent, 0, -4.0),
            slot(Input::DcVoltage, 1, 12.8),
            slot(Input::Soc, 0, 87.0),
        ];
        let t = Target {
            dc: [Some(0), Some(1)],
            ..target(Kind::Battery, 0)
        };
        let mut out = Vec::new();
        render(&t, Inputs(&slots), &mut out);
        let at = |p: &str| {
            let i = Kind::Battery
                .paths()
                .iter()
                .position(|s| s.path == p)
                .unwrap();
            out[i].clone()
        };
        assert_eq!(at("/Dc/0/Power"), Value::Real(-50.0));
        assert_eq!(at("/Dc/1/Voltage"), Value::Real(12.8));
        assert_eq!(at("/Soc"), Value::Real(87.0));
        assert_eq!(at("/Dc/0/Temperature"), Value::Invalid);
    }

    #[test]
    fn tank_remaining_and_status() {
        let chan = sensor_chan(1, 1);
        let slots = [
            slot(Input::Level, chan, 50.0),
            slot(Input::TankCapacity, chan, 0.2),
        ];
        let t = target(Kind::Tank, chan);
        let mut out = Vec::new();
        render(&t, Inputs(&slots), &mut out);
        assert_eq!(out[1], Value::Real(0.1));
        assert_eq!(out[3], Value::Int(1));
        assert_eq!(out[4], Value::Int(0));
        render(&t, Inputs(&[]), &mut out);
        assert_eq!(out[4], Value::Int(4));
        assert_eq!(out[0], Value::Invalid);
    }

    #[test]
    fn a_genset_shows_one_error_alarms_first_its_engine_first() {
        let chan = engine_chan(0);
        // Status word 1: bit 2 low oil pressure (an alarm), bit 5 low system
        // voltage (a warning).
        let error = |status1: Option<f64>, alert: Option<&str>| {
            let slots: Vec<Slot> = status1
                .map(|w| slot(Input::EngineStatus1, chan, w))
                .into_iter()
                .collect();
            let t = Target {
                engine: Some(0),
                alert,
                ..target(Kind::Genset, ac_chan(false, 0, 0))
            };
            let mut out = Vec::new();
            render(&t, Inputs(&slots), &mut out);
            out.last().cloned().unwrap()
        };
        let text = |s: &str| Value::Text(s.to_owned());
        let engine_alarm = profile::engine_error(Some(4), None).unwrap();
        let engine_warning = profile::engine_error(Some(32), None).unwrap();
        assert!(engine_alarm.contains(":e-"), "{engine_alarm}");
        assert!(engine_warning.contains(":w-"), "{engine_warning}");
        assert_eq!(error(Some(0.0), None), text(""));
        assert_eq!(error(Some(0.0), Some("n2k:w-5.1.8")), text("n2k:w-5.1.8"));
        assert_eq!(error(None, Some("n2k:e-5.1.7")), text("n2k:e-5.1.7"));
        assert_eq!(error(Some(4.0), Some("n2k:e-5.1.7")), text(&engine_alarm));
        assert_eq!(error(Some(32.0), Some("n2k:e-5.1.7")), text("n2k:e-5.1.7"));
        assert_eq!(
            error(Some(32.0), Some("n2k:w-5.1.8")),
            text(&engine_warning)
        );
        assert_eq!(error(None, None), Value::Invalid);
    }
}
