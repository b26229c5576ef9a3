//! Which services a device gets: channels, instances, converters, inverters, meters
//! and sensors, and where each input shows.

use super::*;

/// The inputs that make a sensor of the temperature family worth a service.
pub(super) const SENSOR_INPUTS: &[Input] = &[
    Input::Temperature,
    Input::TemperatureExtended,
    Input::TemperatureEnvironment,
    Input::TemperatureOutsideWater,
    Input::Humidity,
    Input::HumidityEnvironment,
    Input::Pressure,
    Input::PressureEnvironment,
];

/// The channel of a tank (`second`: fluid type) or sensor (`second`: source) and
/// whether the message named its instance. A reading without an instance (none
/// in the PGN, or "not available") belongs to the device's channel of that fluid
/// or source with instance 0, else its lowest, else instance 0 (docs/venus-services.md#instances).
pub(super) fn channel_of(dev: &Dev, kind: Kind, second: u8, instance: Option<u8>) -> (u32, bool) {
    if let Some(i) = instance {
        return (sensor_chan(i, second), true);
    }
    let chan = dev
        .services
        .iter()
        .filter(|s| s.kind == kind && s.chan & 0xFF == u32::from(second))
        .map(|s| s.chan)
        .min()
        .unwrap_or(sensor_chan(0, second));
    (chan, false)
}

/// The instance humidity or pressure without one joins: the device's sensor with
/// instance 0, else its lowest.
pub(super) fn default_instance(dev: &Dev) -> u8 {
    dev.services
        .iter()
        .filter(|s| s.kind == Kind::Temperature)
        .map(|s| (s.chan >> 8) as u8)
        .min()
        .unwrap_or(0)
}

/// Whether `dev` has the service of `kind` on `chan` (marked as named by an
/// instanced message if `instanced`): the check of every mapped message, before
/// anything is computed for a new service.
pub(super) fn existing(dev: &mut Dev, kind: Kind, chan: u32, instanced: bool) -> bool {
    match dev
        .services
        .iter_mut()
        .find(|s| s.kind == kind && s.chan == chan)
    {
        Some(s) => {
            s.instanced |= instanced;
            true
        }
        None => false,
    }
}

/// The service of `kind` on `chan`, created when new.
#[allow(clippy::too_many_arguments)]
pub(super) fn ensure(
    cfg: &MapperConfig,
    dev: &mut Dev,
    kind: Kind,
    chan: u32,
    suffix: Option<String>,
    data_instance: Option<u8>,
    instanced: bool,
    now: Micros,
    dropped: &mut u64,
) {
    if existing(dev, kind, chan, instanced) {
        return;
    }
    if dev.services.len() >= MAX_SERVICES {
        *dropped += 1;
        return;
    }
    let tail = identity::name_tail(
        &identity::bus_element(&cfg.iface),
        dev.id,
        suffix.as_deref(),
    );
    dev.services.push(Service {
        kind,
        chan,
        suffix,
        name: format!("com.victronenergy.{}.{tail}", kind.class()),
        data_instance,
        dc: [None; 2],
        engine: None,
        converter: None,
        instanced,
        created: now,
        published: false,
        shown: Vec::new(),
    });
}

/// What a converter connection is (docs/switching-alerts.md#127750-converter-status): the user's type,
/// else the NAME's function (35/160 charger, 35/161–162 inverter, 35/163 DC
/// converter); for any other device a DC-DC converter once it sends its status
/// (127750), a DC source while it sends only voltage and current (127751: a
/// meter's reading; the user may say dcload). `None`: wait for the status.
pub(super) fn converter_kind(rules: &Rules, name: Option<Name>, status: bool) -> Option<Kind> {
    const KINDS: &[Kind] = &[
        Kind::DcDc,
        Kind::Charger,
        Kind::Inverter,
        Kind::DcSource,
        Kind::DcLoad,
    ];
    if let Some(k) = name
        .and_then(|n| rules.kind_of(n))
        .filter(|k| KINDS.contains(k))
    {
        return Some(k);
    }
    match name.map(|n| (n.device_class(), n.device_function())) {
        _ if is_inverter(name) => Some(Kind::Inverter),
        Some((35, 160)) => Some(Kind::Charger),
        Some((35, 163)) => Some(Kind::DcDc),
        _ if status => Some(Kind::DcDc),
        _ => None,
    }
}

/// The service of converter connection `c`. A connection heard only by its
/// 127751 becomes a DC source after [`DECIDE_WAIT`] unless its 127750 comes
/// first; a charger's and an inverter's are the device's charger service and
/// the inverter service of that instance (127509's).
pub(super) fn ensure_converter(
    cfg: &MapperConfig,
    dev: &mut Dev,
    kind: Option<Kind>,
    c: u8,
    now: Micros,
    dropped: &mut u64,
) {
    let chan = render::converter_chan(c);
    let (kind, chan, instanced) = match kind {
        Some(Kind::Charger) => {
            // A charger that also sends 127507 has its service already; its
            // first connection's status shows there too.
            if let Some(s) = dev.services.iter_mut().find(|s| s.kind == Kind::Charger) {
                s.converter.get_or_insert(c);
                return;
            }
            (Kind::Charger, 0, true)
        }
        Some(Kind::Inverter) => (Kind::Inverter, u32::from(c), true),
        Some(k) => (k, chan, true),
        None => {
            if dev.services.iter().any(|s| s.converter == Some(c)) {
                return;
            }
            (Kind::DcSource, chan, false)
        }
    };
    // A DC source decided while waiting is a converter after all.
    dev.services
        .retain(|s| s.published || s.converter != Some(c) || s.kind == kind);
    if kind == Kind::Inverter {
        return ensure_inverter(cfg, dev, c, now, dropped);
    }
    if existing(dev, kind, chan, instanced) {
        return;
    }
    let suffix = dev
        .services
        .iter()
        .any(|s| s.kind == kind)
        .then(|| format!("conn{c}"));
    ensure(
        cfg,
        dev,
        kind,
        chan,
        suffix,
        Some(c),
        instanced,
        now,
        dropped,
    );
    if let Some(s) = dev
        .services
        .iter_mut()
        .find(|s| s.kind == kind && s.chan == chan)
    {
        s.converter = Some(c);
    }
}

/// The inverter service of instance `i` (127509's, and a 127750/127751
/// connection of an inverter's), `…_inverter<i>` beside another.
pub(super) fn ensure_inverter(
    cfg: &MapperConfig,
    dev: &mut Dev,
    i: u8,
    now: Micros,
    dropped: &mut u64,
) {
    let chan = u32::from(i);
    if existing(dev, Kind::Inverter, chan, true) {
        return;
    }
    let suffix = dev
        .services
        .iter()
        .any(|s| s.kind == Kind::Inverter)
        .then(|| format!("inverter{i}"));
    ensure(
        cfg,
        dev,
        Kind::Inverter,
        chan,
        suffix,
        Some(i),
        true,
        now,
        dropped,
    );
}

/// The AC meter of `kind` whose line 1 is channel `base`, created once one of its
/// lines measures something; `suffix` names it when the device has another meter
/// of that kind. Not `settled`: it waits [`DECIDE_WAIT`] before it is published.
#[allow(clippy::too_many_arguments)]
pub(super) fn ensure_meter(
    cfg: &MapperConfig,
    dev: &mut Dev,
    kind: Kind,
    (base, settled): (u32, bool),
    suffix: impl FnOnce() -> String,
    data_instance: Option<u8>,
    now: Micros,
    dropped: &mut u64,
) {
    let measured = (0..3).any(|l| {
        carries(
            dev,
            base | l,
            &[Input::AcVoltage, Input::AcCurrent, Input::AcPower],
        )
    });
    if existing(dev, kind, base, settled) || !measured {
        return;
    }
    let other = dev
        .services
        .iter()
        .any(|s| s.kind == kind && s.chan != base);
    let suffix = other.then(suffix);
    ensure(
        cfg,
        dev,
        kind,
        base,
        suffix,
        data_instance,
        settled,
        now,
        dropped,
    );
}

/// Whether AC output instance `i` is the output of one of the device's inverters
/// (a 127509 names it).
pub(super) fn inverter_output(dev: &Dev, i: u8) -> bool {
    dev.slots
        .iter()
        .any(|s| s.input == Input::InverterAc && s.value == f64::from(i))
}

/// Whether the NAME's function is an inverter's or an inverter/charger's
/// (35/161–162).
pub(super) fn is_inverter(name: Option<Name>) -> bool {
    name.is_some_and(|n| n.device_class() == 35 && matches!(n.device_function(), 161 | 162))
}

/// The temperature sensor on `chan` (instance and source), created once a reading
/// of it carried a value: a channel that never did gets no service.
pub(super) fn ensure_sensor(
    cfg: &MapperConfig,
    dev: &mut Dev,
    chan: u32,
    instanced: bool,
    now: Micros,
    dropped: &mut u64,
) {
    if existing(dev, Kind::Temperature, chan, instanced) || !carries(dev, chan, SENSOR_INPUTS) {
        return;
    }
    let (instance, source) = ((chan >> 8) as u8, chan as u8);
    let suffix = profile::sensor_suffix(source, instance);
    ensure(
        cfg,
        dev,
        Kind::Temperature,
        chan,
        Some(suffix),
        Some(instance),
        instanced,
        now,
        dropped,
    );
}

/// The temperature sensor channel of `instance` that humidity or pressure joins.
pub(super) fn sensor_of_instance(dev: &Dev, instance: u8) -> Option<u32> {
    dev.services
        .iter()
        .filter(|s| s.kind == Kind::Temperature && s.chan >> 8 == u32::from(instance))
        .map(|s| s.chan)
        .min_by_key(|c| (c & 0xFF >= u32::from(profile::HUMIDITY_SOURCE), *c))
}

/// Moves every input of channel `from` to `to` (where `to` has none of its own).
pub(super) fn move_inputs(dev: &mut Dev, from: u32, to: u32) {
    let mut k = 0;
    while k < dev.slots.len() {
        let s = dev.slots[k];
        if s.chan != from {
            k += 1;
            continue;
        }
        if dev.slots.iter().any(|t| t.chan == to && t.input == s.input) {
            dev.slots.swap_remove(k);
        } else {
            dev.slots[k].chan = to;
            k += 1;
        }
    }
}

/// Before publication, sensors that are one sensor become one service: a
/// humidity- or pressure-only sensor joins a temperature sensor of the same
/// instance, and a sensor made by readings without an instance joins one of the
/// same kind and source that has an instance (a depth transducer's sea
/// temperature from 130310 and from 130312 instance 1 is one sensor, `sea1`).
pub(super) fn merge_sensors(dev: &mut Dev) {
    let lone: Vec<u32> = dev
        .services
        .iter()
        .filter(|s| {
            !s.published
                && s.kind == Kind::Temperature
                && s.chan & 0xFF >= u32::from(profile::HUMIDITY_SOURCE)
        })
        .map(|s| s.chan)
        .collect();
    for chan in lone {
        let Some(to) = sensor_of_instance(dev, (chan >> 8) as u8).filter(|&c| c != chan) else {
            continue;
        };
        if to & 0xFF >= u32::from(profile::HUMIDITY_SOURCE) {
            continue;
        }
        move_inputs(dev, chan, to);
        dev.services
            .retain(|s| !(s.kind == Kind::Temperature && s.chan == chan));
    }
    let provisional: Vec<(Kind, u32)> = dev
        .services
        .iter()
        .filter(|s| !s.published && !s.instanced && s.kind.is_channel())
        .map(|s| (s.kind, s.chan))
        .collect();
    for (kind, chan) in provisional {
        let sibling = dev
            .services
            .iter()
            .filter(|s| s.kind == kind && s.instanced && s.chan != chan)
            .filter(|s| s.chan & 0xFF == chan & 0xFF)
            .map(|s| s.chan)
            .min();
        if let Some(to) = sibling {
            move_inputs(dev, chan, to);
            dev.services.retain(|s| !(s.kind == kind && s.chan == chan));
        }
    }
}

/// Where a refused value was going, for the bus service and the log:
/// `outside0/Temperature`, `dc11/Temperature`, `ac_in4/L3/Power` (the device's
/// own instance and line numbers, whatever the line is published as).
pub(super) fn location(input: Input, chan: u32) -> String {
    use Input as I;
    let sensor = |what: &str| {
        format!(
            "{}/{what}",
            profile::sensor_suffix(chan as u8, (chan >> 8) as u8)
        )
    };
    let dc = |what: &str| match (chan >> 21) & 1 {
        1 => format!("conn{}/{what}", chan & 0xFF),
        _ => format!("dc{chan}/{what}"),
    };
    let ac = |what: &str| {
        if (chan >> 18) & 1 == 1 {
            return format!("j1939/L{}/{what}", (chan & 0xFF) + 1);
        }
        let dir = if (chan >> 16) & 1 == 1 { "in" } else { "out" };
        format!(
            "ac_{dir}{}/L{}/{what}",
            (chan >> 8) & 0xFF,
            (chan & 0xFF) + 1
        )
    };
    match input {
        I::Temperature
        | I::TemperatureExtended
        | I::TemperatureEnvironment
        | I::TemperatureOutsideWater => sensor("Temperature"),
        I::Humidity | I::HumidityEnvironment => sensor("Humidity"),
        I::Pressure | I::PressureEnvironment => sensor("Pressure"),
        I::Level => format!(
            "{}/Level",
            profile::tank_suffix(chan as u8, (chan >> 8) as u8)
        ),
        I::TankCapacity => format!(
            "{}/Capacity",
            profile::tank_suffix(chan as u8, (chan >> 8) as u8)
        ),
        I::DcVoltage => dc("Voltage"),
        I::DcCurrent => dc("Current"),
        I::DcTemperature => dc("Temperature"),
        I::Soc => dc("Soc"),
        I::Soh => dc("Soh"),
        I::AcVoltage => ac("Voltage"),
        I::AcCurrent => ac("Current"),
        I::AcPower => ac("Power"),
        I::AcFrequency => ac("Frequency"),
        I::AcPowerFactor => ac("PowerFactor"),
        I::EngineLoad => format!("engine{}/Load", chan & 0xFF),
        I::EngineSpeed => format!("engine{}/Speed", chan & 0xFF),
        I::EngineHours => format!("engine{}/OperatingHours", chan & 0xFF),
        other => format!("{other:?}/{chan}"),
    }
}
