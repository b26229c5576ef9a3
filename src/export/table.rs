//! What each Venus service type becomes on the bus: its virtual nodes (NAME class
//! and function) and, per node, the PGNs sent, each built from the service's paths
//! at its interval (`docs/n2k-out.md#class-and-function`, `docs/n2k-out.md#what-goes-out`). Data only; every row cites its source.
//! [verified] rows follow what Victron's own NMEA 2000-out is documented to do;
//! [proposal] rows are this project's choice where nothing public says more, each
//! one row to correct.

/// How a payload is built ([`super::encode::payload`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// 127508 from a voltage, current and temperature path.
    BatteryStatus {
        voltage: &'static str,
        current: Option<&'static str>,
        temperature: Option<&'static str>,
    },
    /// 127508 carrying a solar charger's PV voltage and current.
    PvStatus,
    /// 127506 with `dc_type`; SoC, SoH, time to go, ripple and capacity when
    /// `detailed`, else "not available".
    DcDetailed { dc_type: u8, detailed: bool },
    /// 127507 from `/State`, `/Mode`, `/Equalization/*`.
    ChargerStatus { mode: ChargerMode },
    /// 127509 from `/State`, `/Mode`.
    InverterStatus { mode: InverterMode },
    /// J1939 basic AC quantities (65014, 65011, 65008) of `<prefix>/{V,F,I}`.
    AcBasic { prefix: &'static str },
    /// J1939 AC power (65013, 65010, 65007) of `<prefix>/{P,S}`.
    AcPower { prefix: &'static str },
    /// 127505 from `/Level`, `/Capacity`, `/FluidType`.
    FluidLevel,
    /// 130312 (or 130316 when `extended`) from `/Temperature`, `/TemperatureType`.
    Temperature { extended: bool },
}

/// What a charger's `/Mode` means (`docs/n2k-out.md#charger-and-inverter-states`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargerMode {
    /// 1 on, 4 off (solar chargers, AC chargers).
    OnOff,
    /// VE.Bus: 1 charger only, 2 inverter only, 3 on, 4 off.
    InverterCharger,
}

/// What an inverter's `/Mode` means (`docs/n2k-out.md#charger-and-inverter-states`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InverterMode {
    /// VE.Direct / RS inverters: 2 on, 3 on, 4 off, 5 eco.
    Inverter,
    /// VE.Bus, as [`ChargerMode::InverterCharger`].
    InverterCharger,
}

/// The numbering a data instance is taken from. Numbers are unique within a pool
/// across every exported service, so that two exported batteries never both say
/// instance 0 (`docs/n2k-out.md#instances`: Garmin shows the data instance as the only label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// DC instances (127508, 127506, 127507's battery, 127509's DC side).
    Dc,
    /// 127507 charger instances.
    Charger,
    /// 127509 inverter instances.
    Inverter,
    /// 127505 fluid instances, per fluid type (0–13: 4 bits, 14/15 reserved).
    Fluid,
    /// 130312 / 130316 instances.
    Temperature,
    /// No instance field (J1939 AC PGNs).
    None,
}

/// One PGN a node sends.
#[derive(Debug, Clone, Copy)]
pub struct Send {
    pub pgn: u32,
    pub priority: u8,
    /// Standard interval, ms; 0: only when asked (a request, or a 126208 interval).
    pub interval_ms: u32,
    pub build: Build,
    /// The data instance's channel within the service (PGNs of one channel share
    /// one instance) and its pool.
    pub channel: &'static str,
    pub pool: Pool,
    /// The 126208 field number of its instance (`docs/n2k-out.md#instances`).
    pub instance_field: Option<u8>,
    /// Sent only while this path is valid (a starter battery, a second AC line).
    pub when: Option<&'static str>,
    pub source: &'static str,
}

/// One virtual node of a service.
#[derive(Debug, Clone, Copy)]
pub struct NodeDef {
    /// Distinguishes the nodes of one service (`main`, `acin`).
    pub role: &'static str,
    pub class: u8,
    pub function: u8,
    pub sends: &'static [Send],
    pub source: &'static str,
}

/// A Venus service type that goes out.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub service_type: &'static str,
    pub nodes: &'static [NodeDef],
}

const fn send(pgn: u32, interval_ms: u32, build: Build, channel: &'static str, pool: Pool) -> Send {
    let (priority, instance_field) = match pgn {
        65007..=65014 => (3, None),
        130312 | 130316 => (5, Some(2)),
        127506 => (6, Some(2)),
        _ => (6, Some(1)),
    };
    Send {
        pgn,
        priority,
        interval_ms,
        build,
        channel,
        pool,
        instance_field,
        when: None,
        source: "docs/n2k-out.md#what-goes-out; intervals and priorities canboat [verified]",
    }
}

const fn when(mut s: Send, path: &'static str) -> Send {
    s.when = Some(path);
    s
}

const fn battery(v: &'static str, i: &'static str, t: &'static str) -> Build {
    Build::BatteryStatus {
        voltage: v,
        current: Some(i),
        temperature: Some(t),
    }
}

const DC0: Build = battery("/Dc/0/Voltage", "/Dc/0/Current", "/Dc/0/Temperature");

/// 127506/127507/127508/127509: 1500 ms; 127505: 2500 ms [verified] canboat via
/// docs/n2k-out.md#what-goes-out; J1939 AC 1500 ms and temperature 2000 ms [proposal].
const DC_MS: u32 = 1500;
const TANK_MS: u32 = 2500;
const AC_MS: u32 = 1500;
const TEMP_MS: u32 = 2000;

/// One J1939 AC PGN of the line at `prefix`: the basic quantities (65014, 65011,
/// 65008) or the power (65013, 65010, 65007); sent only while `valid` is, if given.
const fn ac(pgn: u32, prefix: &'static str, valid: Option<&'static str>) -> Send {
    let build = if matches!(pgn, 65014 | 65011 | 65008) {
        Build::AcBasic { prefix }
    } else {
        Build::AcPower { prefix }
    };
    let s = send(pgn, AC_MS, build, "", Pool::None);
    match valid {
        Some(path) => when(s, path),
        None => s,
    }
}

/// The J1939 AC pair of each line of `<prefix>` (`docs/n2k-out.md#j1939-ac`): phase A
/// 65014/65013, B 65011/65010, C 65008/65007; L2 and L3 only where they exist.
macro_rules! ac_lines {
    ($p:literal) => {
        [
            ac(65014, concat!($p, "/L1"), None),
            ac(65013, concat!($p, "/L1"), None),
            ac(65011, concat!($p, "/L2"), Some(concat!($p, "/L2/V"))),
            ac(65010, concat!($p, "/L2"), Some(concat!($p, "/L2/V"))),
            ac(65008, concat!($p, "/L3"), Some(concat!($p, "/L3/V"))),
            ac(65007, concat!($p, "/L3"), Some(concat!($p, "/L3/V"))),
        ]
    };
}

const BATTERY: &[Send] = &[
    send(127508, DC_MS, DC0, "dc0", Pool::Dc),
    when(
        send(
            127508,
            DC_MS,
            Build::BatteryStatus {
                voltage: "/Dc/1/Voltage",
                current: None,
                temperature: None,
            },
            "dc1",
            Pool::Dc,
        ),
        "/Dc/1/Voltage",
    ),
    send(
        127506,
        DC_MS,
        Build::DcDetailed {
            dc_type: 0,
            detailed: true,
        },
        "dc0",
        Pool::Dc,
    ),
];

const SOLAR: &[Send] = &[
    send(127508, DC_MS, DC0, "dc0", Pool::Dc),
    send(
        127507,
        DC_MS,
        Build::ChargerStatus {
            mode: ChargerMode::OnOff,
        },
        "charger",
        Pool::Charger,
    ),
    when(
        send(127508, DC_MS, Build::PvStatus, "pv", Pool::Dc),
        "/Pv/V",
    ),
    when(
        send(
            127506,
            DC_MS,
            Build::DcDetailed {
                dc_type: 3,
                detailed: false,
            },
            "pv",
            Pool::Dc,
        ),
        "/Pv/V",
    ),
];

/// A charger's output `n` (1, 2): its own 127508 while it exists.
macro_rules! output {
    ($n:literal) => {
        when(
            send(
                127508,
                DC_MS,
                battery(
                    concat!("/Dc/", $n, "/Voltage"),
                    concat!("/Dc/", $n, "/Current"),
                    concat!("/Dc/", $n, "/Temperature"),
                ),
                concat!("dc", $n),
                Pool::Dc,
            ),
            concat!("/Dc/", $n, "/Voltage"),
        )
    };
}

const CHARGER: &[Send] = &[
    send(127508, DC_MS, DC0, "dc0", Pool::Dc),
    output!("1"),
    output!("2"),
    send(
        127507,
        DC_MS,
        Build::ChargerStatus {
            mode: ChargerMode::OnOff,
        },
        "charger",
        Pool::Charger,
    ),
];

const fn join<const N: usize>(a: &[Send], b: &[Send]) -> [Send; N] {
    assert!(a.len() + b.len() == N, "join: length");
    let mut out = [a[0]; N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - a.len()];
        i += 1;
    }
    out
}

const VEBUS_DC: &[Send] = &[
    send(127508, DC_MS, DC0, "dc0", Pool::Dc),
    // Off by default: its SoC is right only without other chargers and loads; an
    // MFD switches it on with a 126208 interval [verified] whitepaper.
    send(
        127506,
        0,
        Build::DcDetailed {
            dc_type: 0,
            detailed: true,
        },
        "dc0",
        Pool::Dc,
    ),
    send(
        127507,
        DC_MS,
        Build::ChargerStatus {
            mode: ChargerMode::InverterCharger,
        },
        "charger",
        Pool::Charger,
    ),
    send(
        127509,
        DC_MS,
        Build::InverterStatus {
            mode: InverterMode::InverterCharger,
        },
        "inverter",
        Pool::Inverter,
    ),
];
const VEBUS_OUT: [Send; 10] = join(VEBUS_DC, &ac_lines!("/Ac/Out"));
const VEBUS_IN: [Send; 6] = ac_lines!("/Ac/ActiveIn");
const MULTI_IN: [Send; 6] = ac_lines!("/Ac/In/1");

const INVERTER_DC: &[Send] = &[
    send(127508, DC_MS, DC0, "dc0", Pool::Dc),
    send(
        127509,
        DC_MS,
        Build::InverterStatus {
            mode: InverterMode::Inverter,
        },
        "inverter",
        Pool::Inverter,
    ),
];
const INVERTER_OUT: [Send; 8] = join(INVERTER_DC, &ac_lines!("/Ac/Out"));

const TANK: &[Send] = &[send(
    127505,
    TANK_MS,
    Build::FluidLevel,
    "tank",
    Pool::Fluid,
)];

const TEMPERATURE: &[Send] = &[
    send(
        130312,
        TEMP_MS,
        Build::Temperature { extended: false },
        "temp",
        Pool::Temperature,
    ),
    send(
        130316,
        TEMP_MS,
        Build::Temperature { extended: true },
        "temp",
        Pool::Temperature,
    ),
];

const DCSOURCE: &[Send] = &[
    send(127508, DC_MS, DC0, "dc0", Pool::Dc),
    // DC type 2 (converter): read back as a DC source (docs/venus-services.md#dc-instances).
    send(
        127506,
        DC_MS,
        Build::DcDetailed {
            dc_type: 2,
            detailed: false,
        },
        "dc0",
        Pool::Dc,
    ),
];

const DCLOAD: &[Send] = &[send(127508, DC_MS, DC0, "dc0", Pool::Dc)];

const fn node(
    role: &'static str,
    class: u8,
    function: u8,
    sends: &'static [Send],
    source: &'static str,
) -> NodeDef {
    NodeDef {
        role,
        class,
        function,
        sends,
        source,
    }
}

const INVERTER_NODE: &str = "35/153 Victron's inverter part [verified] gx-manual, whitepaper";
const ACIN_NODE: &str = "35/154 Victron's AC-input monitor [verified] gx-manual, whitepaper";

/// Every service type that goes out.
pub const PROFILES: &[Profile] = &[
    Profile {
        service_type: "battery",
        nodes: &[node(
            "main",
            35,
            170,
            BATTERY,
            "35/170 as Victron [verified] gx-manual p.58",
        )],
    },
    Profile {
        service_type: "solarcharger",
        nodes: &[node(
            "main",
            35,
            160,
            SOLAR,
            "35/160 battery charger [proposal] docs/n2k-out.md#class-and-function",
        )],
    },
    Profile {
        service_type: "charger",
        nodes: &[node(
            "main",
            35,
            160,
            CHARGER,
            "35/160 battery charger [proposal] docs/n2k-out.md#class-and-function",
        )],
    },
    Profile {
        service_type: "vebus",
        nodes: &[
            node("main", 35, 153, &VEBUS_OUT, INVERTER_NODE),
            node("acin", 35, 154, &VEBUS_IN, ACIN_NODE),
        ],
    },
    Profile {
        service_type: "multi",
        nodes: &[
            node("main", 35, 153, &VEBUS_OUT, INVERTER_NODE),
            node("acin", 35, 154, &MULTI_IN, ACIN_NODE),
        ],
    },
    Profile {
        service_type: "inverter",
        nodes: &[node(
            "main",
            35,
            153,
            &INVERTER_OUT,
            "35/153 as the inverter part [inferred] docs/n2k-out.md#class-and-function",
        )],
    },
    Profile {
        service_type: "tank",
        nodes: &[node(
            "main",
            75,
            150,
            TANK,
            "75/150 fluid level [proposal] docs/n2k-out.md#class-and-function",
        )],
    },
    Profile {
        service_type: "temperature",
        nodes: &[node(
            "main",
            75,
            130,
            TEMPERATURE,
            "75/130 temperature [proposal]; canboat DEVICE_FUNCTION",
        )],
    },
    Profile {
        service_type: "dcsource",
        nodes: &[node(
            "main",
            35,
            163,
            DCSOURCE,
            "35/163 DC converter [proposal]; canboat DEVICE_FUNCTION",
        )],
    },
    Profile {
        service_type: "dcload",
        nodes: &[node(
            "main",
            30,
            140,
            DCLOAD,
            "30/140 load controller, read back as dcload [proposal]",
        )],
    },
];

/// The profile of service type `t`.
pub fn profile(t: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.service_type == t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_of_a_service_is_distinct_and_every_instance_field_is_a_real_one() {
        for p in PROFILES {
            for (i, a) in p.nodes.iter().enumerate() {
                for b in &p.nodes[i + 1..] {
                    assert_ne!(
                        (a.class, a.function),
                        (b.class, b.function),
                        "{}",
                        p.service_type
                    );
                }
                for s in a.sends {
                    assert_eq!(
                        s.instance_field.is_some(),
                        s.pool != Pool::None,
                        "{} {}",
                        p.service_type,
                        s.pgn
                    );
                    assert!(s.interval_ms == 0 || s.interval_ms >= 1000);
                }
            }
        }
        assert!(profile("vebus").is_some() && profile("gps").is_none());
    }
}
