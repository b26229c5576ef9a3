//! The Venus service types the gateway publishes and the measurement paths each one
//! carries (docs/venus-services.md part 1). A service is published with every one of its
//! paths, invalid until a value arrives, so clients never meet a missing path.

use std::fmt;
use std::str::FromStr;

use crate::model::Format;

/// A Venus service type: the `<type>` of `com.victronenergy.<type>.…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Tank,
    Temperature,
    Battery,
    DcSource,
    DcLoad,
    Alternator,
    Charger,
    Grid,
    Genset,
    AcLoad,
    Gps,
    Inverter,
    /// A DC-DC converter (127750/127751 of a device whose NAME says so, or of an
    /// unknown function that sends its status).
    DcDc,
    /// An NMEA 2000 switch bank: made by the switching stage
    /// ([`super::switches`]), never by the mapper nor a user's type rule.
    Switch,
}

/// One measurement path and how `GetText` shows it.
#[derive(Debug, Clone, Copy)]
pub struct PathSpec {
    pub path: &'static str,
    pub format: Format,
}

const fn p(path: &'static str, decimals: u8, unit: &'static str) -> PathSpec {
    PathSpec {
        path,
        format: Format::unit(decimals, unit),
    }
}

const fn plain(path: &'static str) -> PathSpec {
    PathSpec {
        path,
        format: Format::Plain,
    }
}

const TANK: &[PathSpec] = &[
    p("/Level", 1, "%"),
    p("/Remaining", 3, "m3"),
    p("/Capacity", 3, "m3"),
    plain("/FluidType"),
    plain("/Status"),
];

const TEMPERATURE: &[PathSpec] = &[
    p("/Temperature", 1, "C"),
    plain("/TemperatureType"),
    plain("/Status"),
    p("/Humidity", 1, "%"),
    p("/Pressure", 1, "hPa"),
];

const DC: &[PathSpec] = &[
    p("/Dc/0/Voltage", 2, "V"),
    p("/Dc/0/Current", 1, "A"),
    p("/Dc/0/Power", 0, "W"),
    p("/Dc/0/Temperature", 1, "C"),
    p("/Dc/1/Voltage", 2, "V"),
];

const BATTERY: &[PathSpec] = &[
    p("/Dc/0/Voltage", 2, "V"),
    p("/Dc/0/Current", 1, "A"),
    p("/Dc/0/Power", 0, "W"),
    p("/Dc/0/Temperature", 1, "C"),
    p("/Dc/1/Voltage", 2, "V"),
    p("/Soc", 1, "%"),
    p("/Soh", 1, "%"),
    p("/TimeToGo", 0, "s"),
    p("/Capacity", 1, "Ah"),
    p("/InstalledCapacity", 1, "Ah"),
    p("/ConsumedAmphours", 1, "Ah"),
];

const ALTERNATOR: &[PathSpec] = &[
    p("/Dc/0/Voltage", 2, "V"),
    p("/Dc/0/Current", 1, "A"),
    p("/Dc/0/Power", 0, "W"),
    p("/Dc/0/Temperature", 1, "C"),
    p("/Dc/1/Voltage", 2, "V"),
    plain("/State"),
];

/// A converter's four conditions (127750): 0 ok, 1 warning, 2 alarm. Venus
/// watches all four on an inverter, `LowVoltage` on a charger, none on a dcdc
/// (whose `/ErrorCode` is Victron's own numbering); they are published on all
/// three for the GUI's and MQTT's readers (docs/venus-services.md#inverters-and-converters).
const CONVERTER_ALARMS: &[PathSpec] = &[
    plain("/Alarms/HighTemperature"),
    plain("/Alarms/Overload"),
    plain("/Alarms/LowVoltage"),
    plain("/Alarms/Ripple"),
];

const CHARGER_MAIN: &[PathSpec] = &[
    p("/Dc/0/Voltage", 2, "V"),
    p("/Dc/0/Current", 1, "A"),
    p("/Dc/0/Temperature", 1, "C"),
    p("/Dc/1/Voltage", 2, "V"),
    p("/Dc/1/Current", 1, "A"),
    p("/Dc/2/Voltage", 2, "V"),
    p("/Dc/2/Current", 1, "A"),
    plain("/NrOfOutputs"),
    plain("/State"),
    plain("/Mode"),
];

/// A charger: 127507 and 127508, or a converter's 127750 and 127751.
const CHARGER: [PathSpec; CHARGER_MAIN.len() + CONVERTER_ALARMS.len()] =
    join(CHARGER_MAIN, CONVERTER_ALARMS);

const AC: &[PathSpec] = &[
    p("/Ac/L1/Voltage", 1, "V"),
    p("/Ac/L1/Current", 1, "A"),
    p("/Ac/L1/Power", 0, "W"),
    p("/Ac/L1/PowerFactor", 2, ""),
    p("/Ac/L2/Voltage", 1, "V"),
    p("/Ac/L2/Current", 1, "A"),
    p("/Ac/L2/Power", 0, "W"),
    p("/Ac/L2/PowerFactor", 2, ""),
    p("/Ac/L3/Voltage", 1, "V"),
    p("/Ac/L3/Current", 1, "A"),
    p("/Ac/L3/Power", 0, "W"),
    p("/Ac/L3/PowerFactor", 2, ""),
    p("/Ac/Power", 0, "W"),
    p("/Ac/Frequency", 1, "Hz"),
    plain("/NrOfPhases"),
    p("/Ac/Energy/Forward", 0, "kWh"),
    p("/Ac/Energy/Reverse", 0, "kWh"),
];

/// A generator's engine and starting battery, after its AC paths.
const ENGINE: &[PathSpec] = &[
    p("/Engine/Speed", 0, "RPM"),
    p("/Engine/Load", 0, "%"),
    p("/Engine/CoolantTemperature", 1, "C"),
    p("/Engine/OilPressure", 0, "kPa"),
    p("/Engine/OilTemperature", 1, "C"),
    p("/Engine/OperatingHours", 0, "s"),
    p("/StarterVoltage", 2, "V"),
    plain("/Error/0/Id"),
];

/// A generator: its AC lines (as [`AC`], in the same order) and its engine.
const GENSET: [PathSpec; AC.len() + ENGINE.len()] = join(AC, ENGINE);

/// `a` then `b`, at compile time.
const fn join<const N: usize>(a: &[PathSpec], b: &[PathSpec]) -> [PathSpec; N] {
    let mut out = [plain(""); N];
    let mut i = 0;
    while i < a.len() {
        out[i] = a[i];
        i += 1;
    }
    let mut k = 0;
    while k < b.len() {
        out[i + k] = b[k];
        k += 1;
    }
    out
}

/// A stand-alone inverter (127509 with the AC output and DC instances it names,
/// or a converter's 127750 and 127751).
const INVERTER_MAIN: &[PathSpec] = &[
    p("/Ac/Out/L1/V", 1, "V"),
    p("/Ac/Out/L1/I", 1, "A"),
    p("/Ac/Out/L1/P", 0, "W"),
    p("/Ac/Out/L1/F", 1, "Hz"),
    p("/Dc/0/Voltage", 2, "V"),
    p("/Dc/0/Current", 1, "A"),
    p("/Dc/0/Power", 0, "W"),
    plain("/State"),
    plain("/Mode"),
];

const INVERTER: [PathSpec; INVERTER_MAIN.len() + CONVERTER_ALARMS.len()] =
    join(INVERTER_MAIN, CONVERTER_ALARMS);

/// A DC-DC converter: its output (127751) and status (127750).
const DCDC_MAIN: &[PathSpec] = &[
    p("/Dc/0/Voltage", 2, "V"),
    p("/Dc/0/Current", 1, "A"),
    p("/Dc/0/Power", 0, "W"),
    plain("/State"),
];

const DCDC: [PathSpec; DCDC_MAIN.len() + CONVERTER_ALARMS.len()] =
    join(DCDC_MAIN, CONVERTER_ALARMS);

const GPS: &[PathSpec] = &[
    p("/Position/Latitude", 5, "deg"),
    p("/Position/Longitude", 5, "deg"),
    p("/Course", 1, "deg"),
    p("/Speed", 2, "m/s"),
    p("/Altitude", 1, "m"),
    plain("/Fix"),
    plain("/NrOfSatellites"),
    plain("/UtcTime"),
];

impl Kind {
    /// Every kind, in the order the README's table lists them.
    pub const ALL: [Kind; 13] = [
        Kind::Tank,
        Kind::Temperature,
        Kind::Battery,
        Kind::DcSource,
        Kind::DcLoad,
        Kind::Alternator,
        Kind::Charger,
        Kind::Grid,
        Kind::Genset,
        Kind::AcLoad,
        Kind::Gps,
        Kind::Inverter,
        Kind::DcDc,
    ];

    /// The `<type>` of the service name, also the class of its VRM instance.
    pub fn class(self) -> &'static str {
        match self {
            Kind::Tank => "tank",
            Kind::Temperature => "temperature",
            Kind::Battery => "battery",
            Kind::DcSource => "dcsource",
            Kind::DcLoad => "dcload",
            Kind::Alternator => "alternator",
            Kind::Charger => "charger",
            Kind::Grid => "grid",
            Kind::Genset => "genset",
            Kind::AcLoad => "acload",
            Kind::Gps => "gps",
            Kind::Inverter => "inverter",
            Kind::DcDc => "dcdc",
            Kind::Switch => "switch",
        }
    }

    /// The measurement paths, in the order the mapper renders them.
    pub fn paths(self) -> &'static [PathSpec] {
        match self {
            Kind::Tank => TANK,
            Kind::Temperature => TEMPERATURE,
            Kind::Battery => BATTERY,
            Kind::DcSource | Kind::DcLoad => DC,
            Kind::Alternator => ALTERNATOR,
            Kind::Charger => &CHARGER,
            Kind::Grid | Kind::AcLoad => AC,
            Kind::Genset => &GENSET,
            Kind::Inverter => &INVERTER,
            Kind::DcDc => &DCDC,
            Kind::Gps => GPS,
            // The bank's outputs are its own ([`super::switches`]).
            Kind::Switch => &[],
        }
    }

    /// The product id Victron's gateway gives such devices, where it has one
    /// (docs/venus-services.md#product-ids); other kinds publish an invalid `/ProductId` rather
    /// than borrow an id that makes Venus treat the device as a Victron product.
    pub fn product_id(self) -> Option<i64> {
        match self {
            Kind::Tank => Some(0xA160),
            Kind::Gps => Some(0xA164),
            _ => None,
        }
    }

    /// The words a product name is made of when the device sent none.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Tank => "tank sensor",
            Kind::Temperature => "temperature sensor",
            Kind::Battery => "battery monitor",
            Kind::DcSource => "DC source",
            Kind::DcLoad => "DC load",
            Kind::Alternator => "alternator",
            Kind::Charger => "charger",
            Kind::Grid => "grid meter",
            Kind::Genset => "generator",
            Kind::AcLoad => "AC meter",
            Kind::Gps => "GPS",
            Kind::Inverter => "inverter",
            Kind::DcDc => "DC-DC converter",
            Kind::Switch => "switch bank",
        }
    }

    /// Whether it is one of the node's data channels (a tank, a sensor) rather than
    /// the node itself: such services carry `/N2kDataInstance` and a channel suffix.
    pub fn is_channel(self) -> bool {
        matches!(self, Kind::Tank | Kind::Temperature)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.class())
    }
}

/// A service type name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service type `{0}` (known: tank, temperature, battery, dcsource, dcload, alternator, charger, grid, genset, acload, gps, inverter, dcdc)")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Kind, UnknownKind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.class() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}
