//! Subcommands and their options.

mod decode;
mod devices;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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
    /// Decode a capture file or a live interface to JSON, one object per message.
    Decode(DecodeArgs),
    /// Convert a capture in any supported format to the candump -L log format.
    Convert(ConvertArgs),
    /// The devices on a bus: NAME, product and configuration information, state.
    Devices(DevicesArgs),
    /// The whole gateway over a capture: its Venus services on a D-Bus bus.
    Replay(replay::ReplayArgs),
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
    /// Capture to read (any supported format; `-` reads standard input). A capture is
    /// replayed on its own clock by a listen-only node.
    #[arg(required_unless_present = "interface", conflicts_with = "interface")]
    pub file: Option<PathBuf>,
    /// Join this SocketCAN interface (e.g. can0): claim an address, ask every device
    /// for its NAME and product information, and show the table every few seconds.
    #[arg(short = 'i', long = "interface")]
    pub interface: Option<String>,
    /// One JSON object per device (and per address heard without a NAME).
    #[arg(long)]
    pub json: bool,
    /// On a live bus: transmit nothing, learn only from what others send.
    #[arg(long)]
    pub listen_only: bool,
    /// On a live bus: seconds between two tables.
    #[arg(long, default_value_t = 2)]
    pub every: u64,
    /// Where the state file (`<interface>.state`: our address, our unique number) lives.
    #[arg(long, default_value = "/var/lib/n2k-dbus")]
    pub state_dir: PathBuf,
    /// Our NAME's unique number (21 bits); by default derived from /etc/machine-id.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=0x1F_FFFF))]
    pub unique_number: Option<u32>,
    /// The address to claim first (0–251); by default the one held last time.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=251))]
    pub address: Option<u8>,
    /// Count and skip malformed lines instead of stopping at the first one.
    #[arg(long)]
    pub skip_bad_lines: bool,
}

/// A single-threaded tokio runtime with `iface` opened in it, for the live commands.
fn open_live(
    iface: &str,
) -> anyhow::Result<(tokio::runtime::Runtime, n2k_dbus::can::socket::CanSource)> {
    use anyhow::Context as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let src = rt.block_on(async {
        n2k_dbus::can::socket::CanSource::open(iface)
            .with_context(|| format!("cannot open CAN interface {iface}"))
    })?;
    Ok((rt, src))
}

/// Sets up `tracing` to standard error.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Decode(a) => decode::run(a),
        Command::Convert(a) => decode::convert(a),
        Command::Devices(a) => devices::run(a),
        Command::Replay(a) => replay::run(a),
    }
}
