//! Bus capture files: every common text format in, candump `-L` out.
//!
//! [`LogReader`] detects the format from the first line that holds a frame and then
//! reads the whole file in it. A line that does not parse is an error naming the
//! file, the line and what was expected — or, with `skip_bad_lines`, it is counted
//! and skipped. Timestamps are taken as they are, steps and all; the
//! [`crate::time::CaptureClock`] turns them into a time a gateway can run on.

mod canboat;
mod candump;
mod hex;
mod messages;
mod writer;
mod yacht;

pub use messages::Messages;
pub use writer::write_candump_log;

use std::fmt;
use std::io::BufRead;

use thiserror::Error;

use crate::can::{CanId, Frame, Micros};
use crate::n2k::Message;

/// The text formats the reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `candump -l` / `-L`: `(1436509052.249713) can0 09F8027F#1A2B3C4D5E6F7081 [R|T]`.
    CandumpLog,
    /// candump's default output, optionally with a `-ta/-td/-tz/-tA` timestamp:
    /// ` (1436509052.249713)  can0  09F8027F   [8]  1A 2B 3C …`.
    CandumpAscii,
    /// Old can-utils ("Angstrom"): `<0x18eeff01> [8] 05 a0 be 1c 00 a0 a0 c0`.
    Angstrom,
    /// canboat PLAIN (one frame per line) or FAST (one message per line):
    /// `2011-04-25-06:25:03.603,3,129029,36,255,43,e6,f1,…`.
    Canboat,
    /// Yacht Devices RAW: `00:29:58.617 R 0DFF180D A2 8C 50 C0 FF FF FF FF`.
    YachtRaw,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::CandumpLog => "candump log",
            Format::CandumpAscii => "candump ASCII",
            Format::Angstrom => "candump (Angstrom)",
            Format::Canboat => "canboat PLAIN/FAST",
            Format::YachtRaw => "Yacht Devices RAW",
        })
    }
}

/// A message that arrived already reassembled (canboat FAST lines, long PLAIN lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub timestamp: Micros,
    pub id: CanId,
    pub data: Vec<u8>,
}

impl RawMessage {
    /// The message, as reassembly would have handed it over.
    pub fn message(&self) -> Message<'_> {
        Message {
            timestamp: self.timestamp,
            id: self.id,
            data: &self.data,
        }
    }
}

/// What one line of a capture holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A single CAN frame, to go through transport reassembly.
    Frame(Frame),
    /// A complete message, to be decoded as it is.
    Message(RawMessage),
}

impl Record {
    /// Whether a node on a bus can have sent this: its source is not the global
    /// address 255. (PGNs above 0x3FFFF are the capture tool's own, like
    /// Actisense's system status 0x400F2, and are decoded where defined.)
    pub fn from_a_node(&self) -> bool {
        let source = match self {
            Record::Frame(f) => f.can_id().source,
            Record::Message(m) => m.id.source,
        };
        source != 255
    }

    /// When the frame or message was seen.
    pub fn timestamp(&self) -> Micros {
        match self {
            Record::Frame(f) => f.timestamp,
            Record::Message(m) => m.timestamp,
        }
    }
}

/// A line that could not be read, with where it is and what was expected there.
#[derive(Debug, Error)]
pub enum LogError {
    #[error("{path}:{line}: {expected} (in {format} format): `{text}`")]
    BadLine {
        path: String,
        line: usize,
        format: Format,
        expected: &'static str,
        text: String,
    },
    #[error("{path}:{line}: not a line of any known capture format: `{text}`")]
    UnknownFormat {
        path: String,
        line: usize,
        text: String,
    },
    #[error("{path}:{line}: not a text capture: byte {offset} is 0x{byte:02X} (captures are text: candump, canboat, Yacht Devices)")]
    NotText {
        path: String,
        line: usize,
        /// From the start of the file, counting from 0.
        offset: u64,
        byte: u8,
    },
    /// Not marked as the error's source: the message already says it, and
    /// printing the chain would say it twice.
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
}

/// The longest line the reader accepts; longer lines are errors, not memory growth.
const MAX_LINE: usize = 16 * 1024;

/// Reads records from a capture, detecting its format.
pub struct LogReader<R> {
    src: R,
    path: String,
    line_no: usize,
    /// Bytes read so far, and before the current line.
    offset: u64,
    start: u64,
    buf: Vec<u8>,
    format: Option<Format>,
    skip_bad_lines: bool,
    bad_lines: u64,
    state: ParseState,
}

/// Per-file state some formats need while parsing.
#[derive(Debug, Default)]
pub(crate) struct ParseState {
    /// The CAN interface named by the file (candump formats), e.g. `can0`.
    pub interface: Option<String>,
    /// canboat files: a line longer than 8 bytes showed this is FAST (reassembled).
    pub coalesced: bool,
    /// canboat files: the last date seen and its midnight.
    pub day: Option<([u8; 10], crate::can::Micros)>,
}

impl<R: BufRead> LogReader<R> {
    /// A reader for `src`; `path` names it in errors.
    pub fn new(src: R, path: impl Into<String>) -> Self {
        LogReader {
            src,
            path: path.into(),
            line_no: 0,
            offset: 0,
            start: 0,
            buf: Vec::with_capacity(256),
            format: None,
            skip_bad_lines: false,
            bad_lines: 0,
            state: ParseState::default(),
        }
    }

    /// Count and skip malformed lines instead of failing on the first one.
    pub fn skip_bad_lines(mut self, skip: bool) -> Self {
        self.skip_bad_lines = skip;
        self
    }

    /// The format detected so far.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// The CAN interface the capture names, if it names one.
    pub fn interface(&self) -> Option<&str> {
        self.state.interface.as_deref()
    }

    /// How many malformed lines were skipped.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// Reads past the end of an over-long line, a bounded piece at a time.
    fn skip_rest_of_line(&mut self) {
        let mut sink = Vec::new();
        loop {
            sink.clear();
            match std::io::Read::take(&mut self.src, MAX_LINE as u64).read_until(b'\n', &mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) if sink.ends_with(b"\n") => break,
                Ok(_) => continue,
            }
        }
    }

    /// The next record, `None` at the end of the file.
    pub fn next_record(&mut self) -> Option<Result<Record, LogError>> {
        loop {
            self.buf.clear();
            let n = match std::io::Read::take(&mut self.src, MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut self.buf)
            {
                Ok(0) => return None,
                Ok(n) => n,
                Err(error) => {
                    return Some(Err(LogError::Io {
                        path: self.path.clone(),
                        error,
                    }))
                }
            };
            self.line_no += 1;
            self.start = self.offset;
            self.offset += n as u64;
            if n > MAX_LINE && !self.buf.ends_with(b"\n") {
                self.skip_rest_of_line();
                match self.fail("a line shorter than 16 KiB", None) {
                    Some(e) => return Some(Err(e)),
                    None => continue,
                }
            }
            let line = match std::str::from_utf8(&self.buf) {
                Ok(s) => s.trim_end_matches(['\n', '\r']),
                Err(_) => match self.fail("a line of ASCII text", None) {
                    Some(e) => return Some(Err(e)),
                    None => continue,
                },
            };
            if is_ignorable(line) {
                continue;
            }
            let format = match self.format {
                Some(f) => f,
                None => match detect(line) {
                    Some(f) => {
                        self.format = Some(f);
                        f
                    }
                    None => {
                        if self.skip_bad_lines {
                            self.bad_lines += 1;
                            continue;
                        }
                        return Some(Err(self.not_text().unwrap_or_else(|| {
                            LogError::UnknownFormat {
                                path: self.path.clone(),
                                line: self.line_no,
                                text: printable(line),
                            }
                        })));
                    }
                },
            };
            let parsed = match format {
                Format::CandumpLog => candump::parse_log(line, &mut self.state),
                Format::CandumpAscii => candump::parse_ascii(line, &mut self.state),
                Format::Angstrom => candump::parse_angstrom(line),
                Format::Canboat => canboat::parse(line, &mut self.state),
                Format::YachtRaw => yacht::parse(line),
            };
            match parsed {
                Ok(Some(r)) => return Some(Ok(r)),
                Ok(None) => continue,
                Err(expected) => match self.fail(expected, Some(format)) {
                    Some(e) => return Some(Err(e)),
                    None => continue,
                },
            }
        }
    }

    /// The error for a line that holds bytes no text capture has (looked for only
    /// once a line failed, so that reading costs nothing more).
    fn not_text(&self) -> Option<LogError> {
        let at = self.buf.iter().position(|&b| !is_text(b))?;
        Some(LogError::NotText {
            path: self.path.clone(),
            line: self.line_no,
            offset: self.start + at as u64,
            byte: self.buf[at],
        })
    }

    /// Builds the error for the current line, or counts it when skipping bad lines.
    fn fail(&mut self, expected: &'static str, format: Option<Format>) -> Option<LogError> {
        if self.skip_bad_lines {
            self.bad_lines += 1;
            return None;
        }
        if let Some(e) = self.not_text() {
            return Some(e);
        }
        let text = printable(String::from_utf8_lossy(&self.buf).trim_end());
        Some(LogError::BadLine {
            path: self.path.clone(),
            line: self.line_no,
            format: format.or(self.format).unwrap_or(Format::CandumpLog),
            expected,
            text,
        })
    }
}

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = Result<Record, LogError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// Bytes a text capture may hold: printable ASCII, tab, line ends, and the bytes
/// of UTF-8 (comments in some captures carry names with accents).
fn is_text(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7E | 0x80..=0xFF)
}

/// At most 120 characters of `line` to quote in an error, control characters
/// escaped so that they never reach a terminal.
fn printable(line: &str) -> String {
    line.chars()
        .take(120)
        .flat_map(|c| {
            let escaped = c.is_control().then(|| c.escape_default());
            escaped
                .into_iter()
                .flatten()
                .chain((!c.is_control()).then_some(c))
        })
        .collect()
}

/// Lines that carry no frame in any format: blank lines, comments, headers.
fn is_ignorable(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty()
        || t.starts_with('#')
        || t.starts_with("interface = ") // candump 4.x header line
        || t.starts_with("DROPCOUNT:")
}

/// Recognises the format of a line that holds a frame.
pub fn detect(line: &str) -> Option<Format> {
    let t = line.trim_start();
    if t.starts_with('(') {
        let after = t.split_once(')')?.1;
        let mut toks = after.split_ascii_whitespace();
        let _iface = toks.next()?;
        let frame = toks.next()?;
        return Some(if frame.contains('#') {
            Format::CandumpLog
        } else {
            Format::CandumpAscii
        });
    }
    if t.starts_with("<0x") {
        return Some(Format::Angstrom);
    }
    let mut toks = t.split_ascii_whitespace();
    let first = toks.next()?;
    let second = toks.next();
    if first.len() >= 8 && first.as_bytes()[2] == b':' && matches!(second, Some("R" | "T")) {
        return Some(Format::YachtRaw);
    }
    if let Some(id) = second {
        if toks.next().is_some_and(|d| d.starts_with('[')) && hex::parse_u32(id).is_some() {
            return Some(Format::CandumpAscii);
        }
    }
    if t.contains(',') && t.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return Some(Format::Canboat);
    }
    None
}

#[cfg(test)]
mod tests;
