//! Subcommands and their options.

mod decode;
mod demo;
mod devices;
mod registers;
mod replay;
mod run;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use n2k_dbus::core::CoreConfig;
use n2k_dbus::dbus::{Bus, PublisherConfig};
use n2k_dbus::gateway::GatewayConfig;
use n2k_dbus::state::{machine_unique_number, State};
use n2k_dbus::time::wall_now as now_micros;
use n2k_dbus::venus::{MapperConfig, Override, Rules, Selector};

/// NMEA 2000 / VE.Can to Victron Venus OS D-Bus gateway.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// More log output (-v debug, -vv trace); RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// See it work without CAN hardware: a bundled boat through the gateway onto a
    /// private D-Bus, shown as a live table.
    Demo(demo::DemoArgs),
    /// Decode a capture file or a live interface to JSON, one object per message.
    Decode(DecodeArgs),
    /// Convert a capture in any supported format to the candump -L log format.
    Convert(ConvertArgs),
    /// The devices on a bus: NAME, product and configuration information, state.
    Devices(DevicesArgs),
    /// Victron devices' VE.Can registers seen in a capture or on a live bus, named
    /// and scaled.
    Registers(RegistersArgs),
    /// The daemon: join a SocketCAN interface and publish its devices on D-Bus.
    Run(run::RunArgs),
    /// The whole gateway over a capture: its Venus services on a D-Bus bus.
    Replay(replay::ReplayArgs),
    /// Venus services from a JSON file (gui-v2's mock format) onto a D-Bus bus until
    /// interrupted: something for NMEA 2000-out to export, without a GX.
    Serve(serve::ServeArgs),
}

/// Output format of `decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// n2k-dbus JSON: field ids as keys, SI values, microsecond timestamps.
    Json,
    /// What canboat's `analyzer -json -nv` writes (add --si for `-si`).
    CanboatJson,
}

#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Capture to read (candump -L/-l, candump ASCII, Angstrom, canboat PLAIN/FAST,
    /// Yacht Devices RAW; detected automatically). `-` reads standard input.
    #[arg(required_unless_present = "interface", conflicts_with = "interface")]
    pub file: Option<PathBuf>,
    /// Decode live from this SocketCAN interface (e.g. can0) instead of a file.
    #[arg(short = 'i', long = "interface")]
    pub interface: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,
    /// With --format canboat-json: strict SI units (K, rad, Pa), as canboat's -si.
    #[arg(long)]
    pub si: bool,
    /// Count and skip malformed lines instead of stopping at the first one.
    #[arg(long)]
    pub skip_bad_lines: bool,
}

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Capture to read, in any supported format; `-` reads standard input.
    pub file: PathBuf,
    /// Interface name to write when the capture names none.
    #[arg(long, default_value = "can0")]
    pub interface: String,
    /// Count and skip malformed lines instead of stopping at the first one.
    #[arg(long)]
    pub skip_bad_lines: bool,
}

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    #[command(flatten)]
    pub from: TableSource,
    /// One JSON object per device (and per address heard without a NAME).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RegistersArgs {
    #[command(flatten)]
    pub from: TableSource,
    /// Only this device: its address, or its NAME in 16 hex digits.
    #[arg(long)]
    pub device: Option<String>,
}

/// Where a table's devices come from (`devices`, `registers`): a capture, or a
/// live bus.
#[derive(Debug, clap::Args)]
pub struct TableSource {
    /// Capture to read (any supported format; `-` reads standard input). A capture is
    /// replayed on its own clock by a listen-only node.
    #[arg(required_unless_present = "interface", conflicts_with = "interface")]
    pub file: Option<PathBuf>,
    /// Join this SocketCAN interface (e.g. can0): claim an address, ask every device
    /// for its NAME and product information (and each Victron device for its
    /// identity and product registers), and show the table every few seconds.
    #[arg(short = 'i', long = "interface")]
    pub interface: Option<String>,
    /// On a live bus: seconds between two tables.
    #[arg(long, default_value_t = 2)]
    pub every: u64,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Count and skip malformed lines instead of stopping at the first one.
    #[arg(long)]
    pub skip_bad_lines: bool,
}

/// Our node on a live bus: who it is and whether it speaks.
#[derive(Debug, Clone, clap::Args)]
pub struct NodeArgs {
    /// Transmit nothing: no address claim, no requests; learn only from what others send.
    #[arg(long)]
    pub listen_only: bool,
    /// Where the state files (`<interface>.state`: our address and unique number;
    /// `<interface>.settings`: instances and names while no settings service runs) live.
    #[arg(long, default_value = "/var/lib/n2k-dbus")]
    pub state_dir: PathBuf,
    /// Our NAME's unique number (21 bits); by default derived from /etc/machine-id.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=0x1F_FFFF))]
    pub unique_number: Option<u32>,
    /// The address to claim first (0–251); by default the one held last time.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=251))]
    pub address: Option<u8>,
}

impl NodeArgs {
    /// Our identity on `iface`: unique number and preferred address from the flags,
    /// else the state file, else this machine. Also the state file and its content.
    pub fn identity(&self, iface: &str) -> (CoreConfig, PathBuf, State) {
        let path = self.state_dir.join(format!("{iface}.state"));
        let mut state = match State::load(&path) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("{e}; starting from a fresh state");
                State::default()
            }
        };
        let unique = self
            .unique_number
            .or(state.unique_number())
            .or_else(|| machine_unique_number(iface))
            .unwrap_or((now_micros() as u32) & 0x1F_FFFF);
        state.set_unique_number(unique);
        let mut cfg = CoreConfig::gateway(unique);
        if let Some(addr) = self.address.or(state.address()) {
            cfg.preferred_address = addr;
        }
        cfg.listen_only = self.listen_only;
        (cfg, path, state)
    }
}

/// How devices become services and how they are published: shared by every command
/// that publishes.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs {
    /// Devices that get no service: name:<16 hex>, unique:<n> or manufacturer:<code>.
    #[arg(long, value_name = "DEVICE")]
    pub exclude: Vec<Selector>,
    /// Correct a device's type: <device>=<type>, e.g. unique:478868=dcload.
    #[arg(long = "type", value_name = "DEVICE=TYPE")]
    pub types: Vec<Override>,
    /// A gps service for every position source, not only GNSS receivers.
    #[arg(long)]
    pub gps_from_any: bool,
    /// Send the gateway's own alarms (another device with our unique number, an
    /// address fight, implausible values refused) as NMEA 2000 alerts (126983,
    /// 126985) of its node, for the displays and alarm panels on the bus.
    #[arg(long)]
    pub alerts_out: bool,
    /// Shortest time between two flushes to D-Bus, in ms.
    #[arg(long, default_value_t = 100)]
    pub flush_ms: u64,
    /// Also send per-path PropertiesChanged signals.
    #[arg(long)]
    pub properties_changed: bool,
    /// Coexistence with another gateway on the interface (vecan-dbus): a device it
    /// already shows gets no second service, and the bus service takes
    /// com.victronenergy.n2kdbus.<if> when com.victronenergy.vecan.<if> is taken.
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    pub coexist: bool,
}

/// NMEA 2000-out: other processes' Venus services onto the bus as virtual devices.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Put the Venus services of other processes (battery, solarcharger, charger,
    /// vebus, multi, inverter, tank, temperature, dcsource, dcload) on the bus as
    /// virtual NMEA 2000 devices. Where Venus's settings service runs, only while
    /// bit 0 of /Settings/Vecan/<if>/N2kGatewayEnabled is set, followed live.
    #[arg(long)]
    pub n2k_out: bool,
    /// Only these service types go out (comma-separated; default: every one above).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "TYPES",
        requires = "n2k_out"
    )]
    pub n2k_out_types: Vec<String>,
    /// Service types or whole service names that never go out (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "TYPES|SERVICES",
        requires = "n2k_out"
    )]
    pub n2k_out_exclude: Vec<String>,
    /// The virtual devices' NAME unique numbers come from block × 500 … +499, as
    /// Venus's VenusUniqueId: a second exporter on the bus needs another block.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=4193))]
    pub n2k_out_block: u32,
}

impl ExportArgs {
    /// The exporter's configuration with the stored entries of `state`; `None`
    /// without `--n2k-out`.
    pub fn config(&self, state: Option<&State>) -> Option<n2k_dbus::export::ExportConfig> {
        self.n2k_out.then(|| n2k_dbus::export::ExportConfig {
            block: self.n2k_out_block,
            include: self.n2k_out_types.clone(),
            exclude: self.n2k_out_exclude.clone(),
            state: state
                .map(|s| {
                    s.with_prefix(n2k_dbus::export::STATE_PREFIX)
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            ..Default::default()
        })
    }
}

/// Whether `name` is a service NMEA 2000-out may export (and so reads and follows):
/// [`n2k_dbus::export::may_export`].
pub fn exportable(name: &str) -> bool {
    n2k_dbus::export::may_export(name)
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("`{other}`: expected `on` or `off`")),
    }
}

impl ServiceArgs {
    /// The gateway of interface `iface` with these rules and node `core`.
    pub fn gateway(&self, iface: &str, core: CoreConfig) -> GatewayConfig {
        GatewayConfig {
            core,
            mapper: MapperConfig {
                iface: iface.to_owned(),
                rules: Rules {
                    exclude: self.exclude.clone(),
                    overrides: self.types.clone(),
                    gps_from_any: self.gps_from_any,
                },
            },
            alerts_out: self.alerts_out,
        }
    }

    /// The publisher's settings for `bus`, publishing the devices of `iface`.
    pub fn publisher(&self, bus: &Bus, iface: &str) -> PublisherConfig {
        PublisherConfig {
            bus: bus.clone(),
            flush_interval: Duration::from_millis(self.flush_ms),
            properties_changed: self.properties_changed,
            coexist: self.coexist.then(|| iface.to_owned()),
        }
    }
}

/// A single-threaded tokio runtime with `iface` opened in it, for `decode -i`.
fn open_live(
    iface: &str,
) -> anyhow::Result<(tokio::runtime::Runtime, n2k_dbus::can::socket::CanSource)> {
    use anyhow::Context as _;
    let rt = n2k_dbus::shell::runtime()?;
    let src = rt.block_on(async {
        n2k_dbus::can::socket::CanSource::open(iface)
            .with_context(|| format!("cannot open CAN interface {iface}"))
    })?;
    Ok((rt, src))
}

/// The process's stop signals, installed once (inside its runtime).
pub fn signals() -> anyhow::Result<n2k_dbus::shell::Signals> {
    use anyhow::Context as _;
    n2k_dbus::shell::Signals::install().context("cannot listen for signals")
}

/// The error a process ends with when its bus went away
/// (`docs/architecture.md#shutdown`): its supervisor starts it again.
pub fn bus_gone(service: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the D-Bus connection closed under {service}: the bus daemon went away, and a process with nothing on the bus ends (its supervisor starts it again)"
    )
}

/// Sets up `tracing` to standard error.
pub fn init_logging(verbose: u8, daemon: bool) {
    let default = match verbose {
        0 if daemon => "info",
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Decode(a) => decode::run(a),
        Command::Convert(a) => decode::convert(a),
        Command::Devices(a) => devices::run(a),
        Command::Registers(a) => registers::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Run(a) => run::run(a),
        Command::Replay(a) => replay::run(a),
    }
}
