//! The decisions that wait for facts: a DC instance's role, a GNSS receiver, the
//! Venus type of a device by its class and function and the user's rules.

use super::*;

pub(super) fn is_gnss(n: Name) -> bool {
    n.device_class() == 60 && n.device_function() == 145
}

pub(super) fn class_function(id: DeviceId) -> Option<(u8, u8)> {
    match id {
        DeviceId::Name(n) => Some((n.device_class(), n.device_function())),
        DeviceId::Address(_) => None,
    }
}

pub(super) fn is_dc_kind(k: Kind) -> bool {
    matches!(
        k,
        Kind::Battery | Kind::DcSource | Kind::DcLoad | Kind::Alternator
    )
}

pub(super) fn user_kind(rules: &Rules, id: DeviceId) -> Option<Kind> {
    match id {
        DeviceId::Name(n) => rules.kind_of(n),
        DeviceId::Address(_) => None,
    }
}

/// The role of an AC instance (docs/venus-services.md#ac-instances).
pub(super) fn ac_kind(rules: &Rules, name: Option<Name>, input: bool) -> Kind {
    if let Some(k) = name
        .and_then(|n| rules.kind_of(n))
        .filter(|k| matches!(k, Kind::Grid | Kind::Genset | Kind::AcLoad))
    {
        return k;
    }
    match name.map(|n| (n.device_class(), n.device_function())) {
        Some((35, 151)) => Kind::Genset,
        Some((35, 153)) if input => Kind::Grid,
        _ => Kind::AcLoad,
    }
}

/// Whether a device's engine data is a generator's: the user said so, its NAME's
/// function is an AC generator, or its maker builds generator controllers
/// ([`profile::GENERATOR_MAKERS`]).
pub(super) fn is_generator(rules: &Rules, name: Option<Name>) -> bool {
    let Some(n) = name else { return false };
    if let Some(k) = rules.kind_of(n) {
        return k == Kind::Genset;
    }
    n.device_function() == 151 && matches!(n.device_class(), 35 | 50)
        || profile::GENERATOR_MAKERS
            .iter()
            .any(|m| m.0 == n.manufacturer_code())
}

/// The role of a J1939 AC meter: a generator's lines are a genset; the utility's
/// the grid, unless the user says otherwise.
pub(super) fn j1939_kind(rules: &Rules, name: Option<Name>, generator: bool) -> Kind {
    if let Some(k) = name
        .and_then(|n| rules.kind_of(n))
        .filter(|k| matches!(k, Kind::Grid | Kind::Genset | Kind::AcLoad))
    {
        return k;
    }
    if generator {
        Kind::Genset
    } else {
        Kind::Grid
    }
}

/// The role of DC instance `i` (docs/venus-services.md#dc-instances).
pub(super) fn dc_role(rules: &Rules, dev: &Dev, i: u8) -> DcRole {
    if let Some(k) = user_kind(rules, dev.id).filter(|&k| is_dc_kind(k)) {
        return DcRole::Service(k);
    }
    // A generator controller's DC instance is its starting battery.
    if let DeviceId::Name(n) = dev.id {
        if is_generator(rules, Some(n)) {
            return DcRole::Starter;
        }
    }
    // Battery configuration (capacity, chemistry) exists only for batteries; it
    // outweighs a DC type that says otherwise (aava-n2k.data's monitor calls its
    // battery an alternator).
    if dev.battery_config.contains(&i) {
        return DcRole::Service(Kind::Battery);
    }
    let dc_type = Inputs(&dev.slots).get(Input::DcType, u32::from(i));
    match dc_type.map(|t| t as u32) {
        Some(0) => return DcRole::Service(Kind::Battery),
        Some(1) => return DcRole::Service(Kind::Alternator),
        Some(2..=4) => return DcRole::Service(Kind::DcSource),
        _ => {}
    }
    match class_function(dev.id) {
        Some((35, 141)) => DcRole::Service(Kind::Alternator),
        Some((35, 142..=144)) => DcRole::Service(Kind::DcSource),
        Some((30, 140)) => DcRole::Service(Kind::DcLoad),
        Some((35, 160 | 161)) => DcRole::ChargerOutput,
        cf => {
            let charged = dev.chargers.iter().any(|&c| {
                Inputs(&dev.slots).get(Input::ChargerBattery, u32::from(c)) == Some(f64::from(i))
            });
            if charged && cf != Some((35, 170)) {
                DcRole::ChargerOutput
            } else {
                DcRole::Service(Kind::Battery)
            }
        }
    }
}

/// Whether DC instance `i` measures more than a voltage: a current, anything of
/// 127506 (its DC type, state of charge, health, time to go) or battery
/// configuration (127513). Such an instance is a battery (source, load) of its
/// own; one that carries nothing but a voltage is the second input of the device's
/// main one (`/Dc/1/Voltage`, a starter battery).
pub(super) fn measures_more_than_voltage(dev: &Dev, i: u8) -> bool {
    dev.battery_config.contains(&i)
        || carries(
            dev,
            u32::from(i),
            &[
                Input::DcCurrent,
                Input::DcType,
                Input::Soc,
                Input::Soh,
                Input::TimeToGo,
                Input::RemainingAh,
            ],
        )
}

/// Decides the DC instances once the device's DC messages have had time to show
/// every instance; later instances are decided as they come (docs/venus-services.md#every-battery-is-a-battery).
pub(super) fn decide_dc(
    cfg: &MapperConfig,
    dev: &mut Dev,
    wait_over: impl Fn(Micros) -> bool,
    now: Micros,
    dropped: &mut u64,
) {
    let Some(since) = dev.dc_since else { return };
    if !wait_over(since) || dev.dc.iter().all(|d| d.1.is_some()) {
        return;
    }
    // Instances that measure more first (the lowest is the main one), then those
    // with a voltage only.
    let mut todo: Vec<(bool, u8)> = dev
        .dc
        .iter()
        .filter(|d| d.1.is_none())
        .map(|d| (!measures_more_than_voltage(dev, d.0), d.0))
        .collect();
    todo.sort_unstable();
    for (voltage_only, i) in todo {
        let role = dc_role(&cfg.rules, dev, i);
        if let Some(d) = dev.dc.iter_mut().find(|d| d.0 == i) {
            d.1 = Some(role);
        }
        let DcRole::Service(kind) = role else {
            continue;
        };
        let main = dev
            .services
            .iter_mut()
            .find(|s| s.kind == kind && s.suffix.is_none());
        match main {
            // The path exists on every DC service: filling it is an update.
            Some(m) if voltage_only && m.dc[1].is_none() => {
                m.dc[1] = Some(i);
                continue;
            }
            Some(_) => {}
            None => {
                ensure(
                    cfg,
                    dev,
                    kind,
                    u32::from(i),
                    None,
                    Some(i),
                    true,
                    now,
                    dropped,
                );
                set_dc0(dev, kind, i);
                continue;
            }
        }
        let suffix = Some(format!("dc{i}"));
        ensure(
            cfg,
            dev,
            kind,
            u32::from(i),
            suffix,
            Some(i),
            true,
            now,
            dropped,
        );
        set_dc0(dev, kind, i);
    }
}

pub(super) fn set_dc0(dev: &mut Dev, kind: Kind, i: u8) {
    if let Some(s) = dev
        .services
        .iter_mut()
        .find(|s| s.kind == kind && s.chan == u32::from(i))
    {
        s.dc[0] = Some(i);
    }
}

/// Decides whether a position source gets a `gps` service.
pub(super) fn decide_gps(
    cfg: &MapperConfig,
    dev: &mut Dev,
    wait_over: impl Fn(Micros) -> bool,
    now: Micros,
    gnss_on_bus: impl Fn() -> bool,
    dropped: &mut u64,
) {
    let Some(since) = dev.gps_since else { return };
    if dev.gps.is_some() {
        return;
    }
    let asked = cfg.rules.gps_from_any || user_kind(&cfg.rules, dev.id) == Some(Kind::Gps);
    let receiver = matches!(dev.id, DeviceId::Name(n) if is_gnss(n));
    let decision = if asked || receiver {
        Some(true)
    } else if wait_over(since) {
        Some(!gnss_on_bus())
    } else {
        None
    };
    dev.gps = decision;
    if decision == Some(true) {
        ensure(cfg, dev, Kind::Gps, 0, None, None, true, now, dropped);
    }
}
