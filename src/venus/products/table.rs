//! Victron's VE.Can products as data: which product id or model name is which
//! family, and for each family its Venus service type and every path with where
//! its value comes from (a register, a part of one, or a standard PGN field) and,
//! for writable paths, the register a write goes to.
//!
//! Rows are tried in order for a path: the first with a value shows. Each row cites
//! where the fact comes from; `[inferred]` rows follow the project's reading of the
//! sources (`docs/vecan-products.md#products-and-their-services` gives the path sets; which register feeds
//! which path is documented there as likely, not stated by Victron). Correcting
//! one is editing its row.

use crate::model::Format;

/// What kind of product a device is: decides the service type and its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    SolarCharger,
    Charger,
    BatteryMonitor,
    Bms,
    Inverter,
    Multi,
    /// The VE.Bus-to-NMEA 2000 interface (and what a GX's NMEA 2000-out sends for
    /// a VE.Bus inverter/charger): standard PGNs from two addresses, function 153
    /// "Inverter" and 154 "AC Input monitor".
    VeBusInterface,
}

/// Product ids (register 0x0100) of known products.
#[derive(Debug, Clone, Copy)]
pub struct ProductRow {
    pub first: u16,
    pub last: u16,
    pub family: Family,
    /// Shown until the device gives its model name.
    pub name: &'static str,
    pub source: &'static str,
}

const fn row_of(
    first: u16,
    last: u16,
    family: Family,
    name: &'static str,
    source: &'static str,
) -> ProductRow {
    ProductRow {
        first,
        last,
        family,
        name,
        source,
    }
}

const IDS: &str = "docs/venus-services.md#product-ids (Venus service dumps, gui-v2 product table)";

/// Known product ids.
pub static PRODUCTS: &[ProductRow] = &[
    row_of(0x0106, 0x0106, Family::Charger, "Skylla-i", IDS),
    row_of(
        0x0141,
        0x0141,
        Family::BatteryMonitor,
        "Lynx Shunt VE.Can",
        IDS,
    ),
    row_of(0xA3E5, 0xA3E5, Family::Bms, "Lynx Smart BMS", IDS),
    row_of(0xA3E7, 0xA3E7, Family::Bms, "Lynx Smart BMS NG", IDS),
    row_of(0xA401, 0xA401, Family::Inverter, "Inverter RS Solar", IDS),
    row_of(0xA441, 0xA444, Family::Multi, "Multi RS", IDS),
];

/// Model names (register 0x010B or 126996) that tell the family when the product
/// id is not in [`PRODUCTS`] or cannot be read (a listen-only gateway). The first
/// row whose text the model name contains decides.
pub static MODELS: &[(&str, Family, &str)] = &[
    (
        "Skylla",
        Family::Charger,
        "skylla-charger.json: 'Skylla-i 24/100 (3)'",
    ),
    (
        "Lynx Smart BMS",
        Family::Bms,
        "lynxbms.json: 'Lynx Smart BMS 500 NG'",
    ),
    (
        "Lynx Shunt",
        Family::BatteryMonitor,
        "docs/vecan-products.md#products-and-their-services: 'Lynx Shunt VE.Can'",
    ),
    (
        "Inverter RS",
        Family::Inverter,
        "inverter-rs.json: 'Inverter RS Solar 48V/6000VA/80A'",
    ),
    (
        "Multi RS",
        Family::Multi,
        "docs/vecan-products.md#products-and-their-services: Multi RS [inferred name]",
    ),
    (
        "MPPT",
        Family::SolarCharger,
        "mppt1.json: 'SmartSolar Charger MPPT 100/50' [inferred for VE.Can models]",
    ),
];

/// Where a path's value comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Src {
    /// A register, decoded and scaled by the register table.
    Reg(u16),
    /// Bytes `at..at + len` of a register (little-endian, unsigned) × `scale`.
    Part {
        reg: u16,
        at: u8,
        len: u8,
        scale: f64,
    },
    /// A 2-bit field of a register (`(value >> 2·n) & 3`), as the BMS and Lynx
    /// status registers pack them.
    Pair { reg: u16, n: u8 },
    /// One bit of a register.
    Bit { reg: u16, bit: u8 },
    /// A field of a standard PGN from the given instance (its `instance` field).
    Pgn {
        pgn: u32,
        instance: u8,
        field: &'static str,
    },
    /// A field of a PGN without an instance, from the address whose NAME has
    /// `function` (the VE.Bus interface's J1939 AC PGNs).
    Func {
        pgn: u32,
        function: u8,
        field: &'static str,
    },
    /// A field of the given line (0 = L1) of an AC PGN (127503/127504).
    AcLine {
        pgn: u32,
        line: u8,
        field: &'static str,
    },
}

/// How a source's number becomes the path's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Conv {
    /// As it is (already in the Venus unit, or an enumeration Venus shares).
    Same,
    /// Kelvin → °C.
    Celsius,
    /// A Victron 2-bit status "0 unsupported, 1 ok, 2 warning, 3 alarm" → Venus
    /// alarm 0/1/2; 0 → invalid.
    Alarm,
    /// A Victron 2-bit "0 not available, 1 yes, 2 no" → 1/0; 0 → invalid.
    YesNo,
    /// A flag → Venus alarm: set → 2 (alarm), clear → 0.
    AlarmFlag,
    /// 127507's operating state → Venus `/State`.
    ChargerState,
    /// 127509's inverter state → Venus `/State` (disabled: none, the charger's
    /// state shows).
    InverterState,
}

/// How a writable path is written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Write {
    /// The register written (addressed to the device).
    pub reg: u16,
    /// A whole number (a mode) or any number (a limit).
    pub integer: bool,
}

/// One path of a profile and one of its sources.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub path: &'static str,
    pub src: Src,
    pub conv: Conv,
    pub format: Format,
    pub write: Option<Write>,
    pub source: &'static str,
}

/// A family's Venus service.
#[derive(Debug)]
pub struct Profile {
    pub family: Family,
    /// The `<type>` of `com.victronenergy.<type>.…`.
    pub class: &'static str,
    pub rows: &'static [Row],
}

const REGS: &str =
    "docs/vecan-products.md#registers register, #products-and-their-services path [inferred]";
const PGN: &str =
    "docs/vecan-products.md#standard-pgns-per-product standard PGNs per product [inferred]";
const DUMP: &str = "docs/vecan-products.md#products-and-their-services path set of the Venus service dump [inferred source]";

const fn u(decimals: u8, unit: &'static str) -> Format {
    Format::unit(decimals, unit)
}

const fn reg(path: &'static str, r: u16, format: Format) -> Row {
    Row {
        path,
        src: Src::Reg(r),
        conv: Conv::Same,
        format,
        write: None,
        source: REGS,
    }
}

const fn pgn(path: &'static str, pgn: u32, instance: u8, field: &'static str, f: Format) -> Row {
    Row {
        path,
        src: Src::Pgn {
            pgn,
            instance,
            field,
        },
        conv: Conv::Same,
        format: f,
        write: None,
        source: PGN,
    }
}

const fn ac(path: &'static str, pgn: u32, line: u8, field: &'static str, f: Format) -> Row {
    Row {
        path,
        src: Src::AcLine { pgn, line, field },
        conv: Conv::Same,
        format: f,
        write: None,
        source: DUMP,
    }
}

impl Row {
    const fn conv(mut self, conv: Conv) -> Row {
        self.conv = conv;
        self
    }

    /// Writable: a write goes to the row's own register.
    const fn writable(mut self, integer: bool) -> Row {
        if let Src::Reg(r) = self.src {
            self.write = Some(Write { reg: r, integer });
        }
        self
    }

    const fn cite(mut self, source: &'static str) -> Row {
        self.source = source;
        self
    }
}

const PLAIN: Format = Format::Plain;
const STATE: &str = "docs/vecan-products.md#state: 0x0201 values equal Venus /State [verified]";
const MODE: &str =
    "0x0200 device mode: values unpublished; taken as Venus /Mode (1 on, 4 off, …) [inferred]";
const ERROR: &str = "docs/vecan-products.md#chargers-and-solar-chargers: 0xEDDA numbers equal Venus /ErrorCode [verified]";

/// MPPT VE.Can solar chargers.
static SOLARCHARGER: &[Row] = &[
    reg("/Dc/0/Voltage", 0xEDD5, u(2, "V")),
    pgn("/Dc/0/Voltage", 127508, 0, "voltage", u(2, "V")),
    reg("/Dc/0/Current", 0xEDD7, u(1, "A")),
    pgn("/Dc/0/Current", 127508, 0, "current", u(1, "A")),
    reg("/Dc/0/Temperature", 0xEDEC, u(1, "C")).conv(Conv::Celsius),
    pgn("/Dc/0/Temperature", 127508, 0, "temperature", u(1, "C")).conv(Conv::Celsius),
    reg("/Pv/V", 0xEDBB, u(2, "V")),
    reg("/Pv/I", 0xEDBD, u(1, "A")),
    reg("/Yield/Power", 0xEDBC, u(0, "W")),
    reg("/Yield/User", 0xEDDC, u(2, "kWh")),
    reg("/Yield/System", 0xEDDD, u(2, "kWh")),
    reg("/History/Daily/0/Yield", 0xEDD3, u(2, "kWh")),
    reg("/History/Daily/0/MaxPower", 0xEDD2, u(0, "W")),
    reg("/History/Daily/1/Yield", 0xEDD1, u(2, "kWh")),
    reg("/History/Daily/1/MaxPower", 0xEDD0, u(0, "W")),
    reg("/State", 0x0201, PLAIN).cite(STATE),
    pgn("/State", 127507, 0, "operatingState", PLAIN).conv(Conv::ChargerState),
    reg("/Mode", 0x0200, PLAIN).writable(true).cite(MODE),
    reg("/ErrorCode", 0xEDDA, PLAIN).cite(ERROR),
    reg("/MppOperationMode", 0xEDB3, PLAIN),
    reg("/DeviceOffReason", 0x0207, PLAIN),
    reg("/Relay/0/State", 0xEDD8, PLAIN),
    reg("/Load/State", 0xEDA8, PLAIN),
    reg("/Load/I", 0xEDAD, u(1, "A")),
    reg("/GroupId", 0x0104, PLAIN),
    reg("/Settings/BmsPresent", 0xEDE8, PLAIN),
    reg("/Settings/ChargeCurrentLimit", 0xEDF0, u(1, "A")).writable(false),
    reg("/Link/NetworkMode", 0x200E, PLAIN),
    reg("/Link/NetworkStatus", 0x200F, PLAIN),
    reg("/Link/ChargeVoltage", 0x2001, u(2, "V")),
    reg("/Link/VoltageSense", 0x2002, u(2, "V")),
    reg("/Link/TemperatureSense", 0x2003, u(1, "C")),
    reg("/Link/BatteryCurrent", 0x200A, u(1, "A")),
    reg("/Link/ChargeCurrent", 0x2015, u(1, "A")).writable(false),
];

/// Skylla-i: three outputs in 127508 instances 0–2.
static CHARGER: &[Row] = &[
    pgn("/Dc/0/Voltage", 127508, 0, "voltage", u(2, "V")),
    pgn("/Dc/0/Current", 127508, 0, "current", u(1, "A")),
    pgn("/Dc/0/Temperature", 127508, 0, "temperature", u(1, "C")).conv(Conv::Celsius),
    pgn("/Dc/1/Voltage", 127508, 1, "voltage", u(2, "V")),
    pgn("/Dc/1/Current", 127508, 1, "current", u(1, "A")),
    pgn("/Dc/2/Voltage", 127508, 2, "voltage", u(2, "V")),
    pgn("/Dc/2/Current", 127508, 2, "current", u(1, "A")),
    reg("/NrOfOutputs", 0xEDDE, PLAIN),
    reg("/Ac/In/CurrentLimit", 0x0203, u(1, "A")).writable(false),
    reg("/State", 0x0201, PLAIN).cite(STATE),
    pgn("/State", 127507, 0, "operatingState", PLAIN).conv(Conv::ChargerState),
    reg("/Mode", 0x0200, PLAIN).writable(true).cite(MODE),
    reg("/ErrorCode", 0xEDDA, PLAIN).cite(ERROR),
    reg("/Relay/0/State", 0xEDD8, PLAIN),
    reg("/Settings/ChargeCurrentLimit", 0xEDF0, u(1, "A")).writable(false),
];

/// `a` then `b`, as one table (a const fn: the profiles are built at compile time;
/// a wrong length `N` fails the build).
const fn join<const A: usize, const B: usize, const N: usize>(
    a: [Row; A],
    b: [Row; B],
) -> [Row; N] {
    assert!(A + B == N && A > 0);
    let mut out = [a[0]; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

/// The battery side that monitors and RS products share: 127508 first, their
/// own DC channel registers where 127508 is missing.
const DC: [Row; 6] = [
    pgn("/Dc/0/Voltage", 127508, 0, "voltage", u(2, "V")),
    reg("/Dc/0/Voltage", 0xED8D, u(2, "V")),
    pgn("/Dc/0/Current", 127508, 0, "current", u(1, "A")),
    reg("/Dc/0/Current", 0xED8F, u(1, "A")),
    pgn("/Dc/0/Temperature", 127508, 0, "temperature", u(1, "C")).conv(Conv::Celsius),
    reg("/Dc/0/Power", 0xED8E, u(0, "W")),
];

/// Lynx Shunt VE.Can (and the battery side of the Lynx Smart BMS).
const MONITOR: [Row; 28] = join(
    DC,
    [
        reg("/Dc/0/MidVoltage", 0x0382, u(2, "V")),
        reg("/Dc/0/MidVoltageDeviation", 0x0383, u(1, "%")),
        reg("/Soc", 0x0FFF, u(1, "%")),
        pgn("/Soc", 127506, 0, "stateOfCharge", u(1, "%")),
        reg("/TimeToGo", 0x0FFE, u(0, "s")),
        pgn("/TimeToGo", 127506, 0, "timeRemaining", u(0, "s")),
        reg("/ConsumedAmphours", 0x0FFC, u(1, "Ah")),
        reg("/Capacity", 0x1000, u(0, "Ah")),
        reg("/History/DeepestDischarge", 0x0300, u(1, "Ah")),
        reg("/History/LastDischarge", 0x0301, u(1, "Ah")),
        reg("/History/AverageDischarge", 0x0302, u(1, "Ah")),
        reg("/History/ChargeCycles", 0x0303, PLAIN),
        reg("/History/FullDischarges", 0x0304, PLAIN),
        reg("/History/TotalAhDrawn", 0x0305, u(1, "Ah")),
        reg("/History/MinimumVoltage", 0x0306, u(2, "V")),
        reg("/History/MaximumVoltage", 0x0307, u(2, "V")),
        reg("/History/TimeSinceLastFullCharge", 0x0308, u(0, "s")),
        reg("/History/AutomaticSyncs", 0x0309, PLAIN),
        reg("/History/LowVoltageAlarms", 0x030A, PLAIN),
        reg("/History/HighVoltageAlarms", 0x030B, PLAIN),
        reg("/History/DischargedEnergy", 0x0310, u(2, "kWh")),
        reg("/History/ChargedEnergy", 0x0311, u(2, "kWh")),
    ],
);

const ALARM_BITS: &str =
    "docs/vecan-products.md#battery-monitors: 0x031E alarm reason bits [verified]; → /Alarms [inferred]";

const fn alarm(path: &'static str, bit: u8) -> Row {
    Row {
        path,
        src: Src::Bit { reg: 0x031E, bit },
        conv: Conv::AlarmFlag,
        format: PLAIN,
        write: None,
        source: ALARM_BITS,
    }
}

static BATTERY_MONITOR: [Row; 32] = join(
    MONITOR,
    [
        alarm("/Alarms/LowVoltage", 0),
        alarm("/Alarms/HighVoltage", 1),
        alarm("/Alarms/LowSoc", 2),
        alarm("/Alarms/LowTemperature", 5),
    ],
);

const BMS_IO: &str =
    "docs/vecan-products.md#bms: 0x2108 IO 2-bit fields [verified]; → /Io [inferred]";
const BMS_ALARMS: &str =
    "docs/vecan-products.md#bms: 0x2107 warnings and alarms 2-bit fields [verified]; → /Alarms [inferred]";
const BMS_LINK: &str =
    "docs/vecan-products.md#standard-pgns-per-product, docs/vecan-products.md#products-and-their-services: the BMS broadcasts its DVCC limits as link registers [inferred]";
const CELLS: &str = "docs/vecan-products.md#bms: 0x0385/0x0386 min and max, u16 each [verified]";

/// A 2-bit field `n` of register `reg`.
const fn pair(path: &'static str, reg: u16, n: u8, conv: Conv, source: &'static str) -> Row {
    Row {
        path,
        src: Src::Pair { reg, n },
        conv,
        format: PLAIN,
        write: None,
        source,
    }
}

/// The u16 at byte `at` of register `reg`, × 0.01, in `format`.
const fn cell(path: &'static str, reg: u16, at: u8, conv: Conv, format: Format) -> Row {
    Row {
        path,
        src: Src::Part {
            reg,
            at,
            len: 2,
            scale: 0.01,
        },
        conv,
        format,
        write: None,
        source: CELLS,
    }
}

/// Lynx Smart BMS: the monitor's paths and its limits, IO and cell extremes.
static BMS: [Row; 44] = join(
    MONITOR,
    [
        reg("/Info/MaxChargeVoltage", 0x2001, u(2, "V")).cite(BMS_LINK),
        reg("/Info/MaxChargeCurrent", 0x2015, u(1, "A")).cite(BMS_LINK),
        reg("/Info/MaxDischargeCurrent", 0x2017, u(1, "A")).cite(BMS_LINK),
        reg("/Info/BatteryLowVoltage", 0x201B, u(2, "V")).cite(BMS_LINK),
        pair("/Io/AllowToCharge", 0x2108, 1, Conv::YesNo, BMS_IO),
        pair("/Io/AllowToDischarge", 0x2108, 2, Conv::YesNo, BMS_IO),
        pair("/Alarms/LowCellVoltage", 0x2107, 0, Conv::Alarm, BMS_ALARMS),
        pair("/Alarms/HighCurrent", 0x2107, 1, Conv::Alarm, BMS_ALARMS),
        pair(
            "/Alarms/HighInternalTemperature",
            0x2107,
            2,
            Conv::Alarm,
            BMS_ALARMS,
        ),
        pair("/Alarms/BmsCable", 0x2107, 4, Conv::Alarm, BMS_ALARMS),
        reg("/State", 0x2102, PLAIN),
        reg("/ErrorCode", 0x2101, PLAIN),
        cell("/System/MinCellVoltage", 0x0385, 0, Conv::Same, u(2, "V")),
        cell("/System/MaxCellVoltage", 0x0385, 2, Conv::Same, u(2, "V")),
        cell(
            "/System/MinCellTemperature",
            0x0386,
            0,
            Conv::Celsius,
            u(1, "C"),
        ),
        cell(
            "/System/MaxCellTemperature",
            0x0386,
            2,
            Conv::Celsius,
            u(1, "C"),
        ),
    ],
);

/// The DC, PV and control paths Inverter RS and Multi RS share.
const RS: [Row; 26] = join(
    DC,
    [
        reg("/Soc", 0x0FFF, u(1, "%")),
        reg("/Pv/V", 0xEDBB, u(2, "V")),
        reg("/Yield/Power", 0xEDBC, u(0, "W")),
        reg("/Yield/User", 0xEDDC, u(2, "kWh")),
        reg("/Yield/System", 0xEDDD, u(2, "kWh")),
        reg("/MppOperationMode", 0xEDB3, PLAIN),
        reg("/State", 0x0201, PLAIN).cite(STATE),
        reg("/Mode", 0x0200, PLAIN).writable(true).cite(MODE),
        reg("/ErrorCode", 0xEDDA, PLAIN).cite(ERROR),
        reg("/DeviceOffReason", 0x0207, PLAIN),
        reg("/GroupId", 0x0104, PLAIN),
        reg("/Relay/0/State", 0xEDD8, PLAIN),
        reg("/Settings/BmsPresent", 0xEDE8, PLAIN),
        reg("/Settings/ChargeCurrentLimit", 0xEDF0, u(1, "A")).writable(false),
        reg("/Link/ChargeCurrent", 0x2015, u(1, "A")).writable(false),
        reg("/Link/DischargeCurrent", 0x2017, u(1, "A")).writable(false),
        ac("/Ac/Out/L1/V", 127504, 0, "voltage", u(1, "V")),
        ac("/Ac/Out/L1/I", 127504, 0, "current", u(1, "A")),
        ac("/Ac/Out/L1/F", 127504, 0, "frequency", u(2, "Hz")),
        ac("/Ac/Out/L1/P", 127504, 0, "realPower", u(0, "W")),
    ],
);

static INVERTER: [Row; 26] = RS;

/// Multi RS: the RS paths plus AC input 1 and the input limits.
static MULTI: [Row; 35] = join(
    RS,
    [
        ac("/Ac/In/1/L1/V", 127503, 0, "voltage", u(1, "V")),
        ac("/Ac/In/1/L1/I", 127503, 0, "current", u(1, "A")),
        ac("/Ac/In/1/L1/F", 127503, 0, "frequency", u(2, "Hz")),
        ac("/Ac/In/1/L1/P", 127503, 0, "realPower", u(0, "W")),
        reg("/Ac/ActiveIn/ActiveInput", 0x0204, PLAIN),
        reg("/Ac/In/1/CurrentLimit", 0x0210, u(1, "A")).writable(false),
        reg("/Ac/In/2/CurrentLimit", 0x0220, u(1, "A")).writable(false),
        reg("/Ac/In/CurrentLimit", 0x0203, u(1, "A")),
        reg("/Pv/I", 0xEDBD, u(1, "A")),
    ],
);

const VEBUS: &str = "docs/vecan-products.md#vebus-systems: VE.Bus→N2K interface PGNs and functions [verified whitepaper]; paths [inferred]";

const fn func(path: &'static str, pgn: u32, function: u8, field: &'static str, f: Format) -> Row {
    Row {
        path,
        src: Src::Func {
            pgn,
            function,
            field,
        },
        conv: Conv::Same,
        format: f,
        write: None,
        source: VEBUS,
    }
}

/// The VE.Bus interface: DC, SoC, state, and AC out (153) and in (154).
static VEBUS_INTERFACE: &[Row] = &[
    pgn("/Dc/0/Voltage", 127508, 0, "voltage", u(2, "V")).cite(VEBUS),
    pgn("/Dc/0/Current", 127508, 0, "current", u(1, "A")).cite(VEBUS),
    pgn("/Dc/0/Temperature", 127508, 0, "temperature", u(1, "C"))
        .conv(Conv::Celsius)
        .cite(VEBUS),
    pgn("/Soc", 127506, 0, "stateOfCharge", u(1, "%")).cite(VEBUS),
    pgn("/State", 127509, 0, "operatingState", PLAIN)
        .conv(Conv::InverterState)
        .cite(VEBUS),
    pgn("/State", 127507, 0, "operatingState", PLAIN)
        .conv(Conv::ChargerState)
        .cite(VEBUS),
    func(
        "/Ac/Out/L1/V",
        65014,
        153,
        "lineNeutralAcRmsVoltage",
        u(1, "V"),
    ),
    func("/Ac/Out/L1/I", 65014, 153, "acRmsCurrent", u(1, "A")),
    func("/Ac/Out/L1/F", 65014, 153, "acFrequency", u(2, "Hz")),
    func("/Ac/Out/L1/P", 65013, 153, "realPower", u(0, "W")),
    func(
        "/Ac/In/1/L1/V",
        65014,
        154,
        "lineNeutralAcRmsVoltage",
        u(1, "V"),
    ),
    func("/Ac/In/1/L1/I", 65014, 154, "acRmsCurrent", u(1, "A")),
    func("/Ac/In/1/L1/F", 65014, 154, "acFrequency", u(2, "Hz")),
    func("/Ac/In/1/L1/P", 65013, 154, "realPower", u(0, "W")),
];

/// Every family's profile.
pub static PROFILES: &[Profile] = &[
    Profile {
        family: Family::SolarCharger,
        class: "solarcharger",
        rows: SOLARCHARGER,
    },
    Profile {
        family: Family::Charger,
        class: "charger",
        rows: CHARGER,
    },
    Profile {
        family: Family::BatteryMonitor,
        class: "battery",
        rows: &BATTERY_MONITOR,
    },
    Profile {
        family: Family::Bms,
        class: "battery",
        rows: &BMS,
    },
    Profile {
        family: Family::Inverter,
        class: "inverter",
        rows: &INVERTER,
    },
    Profile {
        family: Family::Multi,
        class: "multi",
        rows: &MULTI,
    },
    Profile {
        family: Family::VeBusInterface,
        class: "multi",
        rows: VEBUS_INTERFACE,
    },
];

/// NAME functions of the VE.Bus interface's two addresses (class 35).
pub const FUNCTION_INVERTER: u8 = 153;
pub const FUNCTION_AC_INPUT: u8 = 154;

/// The profile of `family`.
pub fn profile(family: Family) -> &'static Profile {
    PROFILES
        .iter()
        .find(|p| p.family == family)
        .unwrap_or(&PROFILES[0])
}

/// The known product of `id`.
pub fn product(id: u16) -> Option<&'static ProductRow> {
    PRODUCTS.iter().find(|p| (p.first..=p.last).contains(&id))
}

/// The family a model name tells.
pub fn family_of_model(model: &str) -> Option<Family> {
    MODELS
        .iter()
        .find(|(text, _, _)| model.contains(text))
        .map(|&(_, f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No path of a profile has the same source twice, and every register read or
    /// written is in the register table.
    #[test]
    fn profiles_are_well_formed() {
        for p in PROFILES {
            for (i, a) in p.rows.iter().enumerate() {
                for b in &p.rows[i + 1..] {
                    assert!(
                        !(a.path == b.path && a.src == b.src),
                        "{}: {} twice from {:?}",
                        p.class,
                        a.path,
                        a.src
                    );
                }
                if let Some(w) = a.write {
                    assert!(
                        crate::vreg::registers::lookup(w.reg).is_some(),
                        "{}: {} writes unknown register 0x{:04X}",
                        p.class,
                        a.path,
                        w.reg
                    );
                }
                if let Src::Reg(r) = a.src {
                    assert!(
                        crate::vreg::registers::lookup(r).is_some(),
                        "{}: {} reads unknown register 0x{r:04X}",
                        p.class,
                        a.path
                    );
                }
            }
        }
        assert!(PROFILES.iter().all(|p| profile(p.family).class == p.class));
    }

    #[test]
    fn products_and_models_tell_the_family() {
        assert_eq!(product(262).map(|p| p.family), Some(Family::Charger));
        assert_eq!(product(42050).map(|p| p.family), Some(Family::Multi));
        assert!(product(41047).is_none());
        assert_eq!(
            family_of_model("SmartSolar MPPT VE.Can 150/70"),
            Some(Family::SolarCharger)
        );
        assert_eq!(family_of_model("Lynx Smart BMS 500 NG"), Some(Family::Bms));
        assert_eq!(family_of_model("GP-2000"), None);
    }
}
