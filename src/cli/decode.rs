//! `n2k-dbus decode` and `n2k-dbus convert`.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use n2k_dbus::json::{self, Style, Units};
use n2k_dbus::logs::Messages;
use n2k_dbus::logs::{write_candump_log, Record};
use n2k_dbus::n2k::{fragment, Assembler, Message};
use n2k_dbus::pgn;
use n2k_dbus::time::CaptureClock;
use tracing::info;

use super::{ConvertArgs, DecodeArgs, OutputFormat};

/// A capture's reader.
pub(super) type Capture = n2k_dbus::shell::capture::Reader;

/// Opens a capture for reading (`-`: standard input), skipping malformed lines or
/// not; a missing, unreadable or non-regular file is refused here, before anything
/// else starts.
pub(super) fn capture(path: &Path, skip_bad_lines: bool) -> anyhow::Result<Capture> {
    Ok(n2k_dbus::shell::capture::open(path, skip_bad_lines)?)
}

/// Writes decoded messages as JSON lines.
struct Printer<W: Write> {
    out: W,
    style: Style,
    line: String,
}

impl<W: Write> Printer<W> {
    fn message(&mut self, msg: &Message<'_>) -> io::Result<()> {
        let Some(def) = pgn::select(msg.id.pgn, msg.data) else {
            return Ok(());
        };
        self.line.clear();
        json::write_message(&mut self.line, self.style, msg, def);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }
}

fn style(a: &DecodeArgs) -> Style {
    match a.format {
        OutputFormat::Json => Style::native(),
        OutputFormat::CanboatJson => Style::canboat(if a.si { Units::Si } else { Units::Std }),
    }
}

pub fn run(a: DecodeArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !a.si || a.format == OutputFormat::CanboatJson,
        "--si goes with --format canboat-json (the n2k-dbus format is always in SI units)"
    );
    let style = style(&a);
    let stdout = io::stdout().lock();
    let mut p = Printer {
        out: BufWriter::with_capacity(1 << 16, stdout),
        style,
        line: String::with_capacity(1024),
    };
    if a.format == OutputFormat::CanboatJson {
        writeln!(p.out, "{}", json::header(style.units))?;
    }
    if let Some(iface) = &a.interface {
        return live(iface, p);
    }
    let path = a
        .file
        .as_deref()
        .context("a capture file or --interface is needed")?;
    let mut reader = capture(path, a.skip_bad_lines)?;
    let mut replay = Messages::new();
    let mut records = 0u64;
    while let Some(rec) = reader.next_record() {
        let rec = rec?;
        records += 1;
        let r = match replay.on_record(&rec) {
            Some(m) => p.message(&m),
            None => Ok(()),
        };
        if let Err(e) = r {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(e.into());
        }
    }
    p.out.flush()?;
    report_bad_lines(reader.bad_lines());
    no_frames(records, path)?;
    Ok(ExitCode::SUCCESS)
}

/// A capture without a single frame is refused: it is almost always the wrong
/// file, or one whose lines were all skipped.
pub(super) fn no_frames(records: u64, path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        records > 0,
        "{}: the capture holds no frames",
        path.display()
    );
    Ok(())
}

fn report_bad_lines(n: u64) {
    if n > 0 {
        eprintln!("n2k-dbus: skipped {n} malformed line(s)");
    }
}

fn live<W: Write>(iface: &str, mut p: Printer<W>) -> anyhow::Result<ExitCode> {
    let (rt, mut src) = super::open_live(iface)?;
    rt.block_on(async move {
        let signals = super::signals()?;
        info!(interface = iface, "decoding live traffic");
        let mut asm = Assembler::new();
        loop {
            tokio::select! {
                frame = src.recv() => {
                    let frame = frame.with_context(|| format!("reading {iface}"))?;
                    if let Some(m) = asm.on_frame(&frame) {
                        p.message(&m)?;
                        p.out.flush()?;
                    }
                }
                _ = signals.wait() => break,
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn convert(a: ConvertArgs) -> anyhow::Result<ExitCode> {
    let mut reader = capture(&a.file, a.skip_bad_lines)?;
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut unsendable = 0u64;
    let mut iface: Option<String> = None;
    let mut records = 0u64;
    let mut clock = CaptureClock::new();
    // Fast-packet sequence counters, per sender and PGN, as each sender keeps them.
    let mut seqs: HashMap<(u8, u32), u8> = HashMap::new();
    let mut frames = Vec::new();
    while let Some(rec) = reader.next_record() {
        records += 1;
        let rec = rec?;
        // candump -L has no times before 1970 (a logger whose clock was never set).
        let now = clock.record_time(rec.timestamp()).max(0);
        frames.clear();
        match rec {
            Record::Frame(mut f) => {
                f.timestamp = now;
                frames.push(f);
            }
            // A reassembled message goes back into the frames a sender would send.
            Record::Message(m) => {
                let seq = seqs.entry((m.id.source, m.id.pgn)).or_insert(7);
                *seq = (*seq + 1) & 7;
                match fragment::frames(now, m.id, &m.data, *seq) {
                    Some(f) => frames.extend(f),
                    None => unsendable += 1,
                }
            }
        }
        let name =
            iface.get_or_insert_with(|| reader.interface().unwrap_or(&a.interface).to_string());
        for f in &frames {
            if let Err(e) = write_candump_log(&mut out, name, f) {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(e.into());
            }
        }
    }
    out.flush()?;
    if unsendable > 0 {
        eprintln!("n2k-dbus: {unsendable} message(s) no CAN frame can carry (a PGN above 0x3FFFF, the capture tool's own, or too long) were not written");
    }
    report_bad_lines(reader.bad_lines());
    no_frames(records, &a.file)?;
    Ok(ExitCode::SUCCESS)
}
