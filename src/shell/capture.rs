//! A capture as a frame source: on its own clock, paced against the wall clock
//! (`--speed`) or as fast as it can be read (`--fast`), once or several times over
//! one clock (`--repeat`: the devices stay, the clock runs on).
//!
//! The replay time of each record comes from the driver's capture clock, which
//! turns the capture's timestamps into a time that never runs backwards; when the
//! capture is over, that clock stands still at its last record.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::next::Next;
use crate::can::Micros;
use crate::driver::Driver;
use crate::logs::{LogError, LogReader, Record};

/// A capture's reader.
pub type Reader = LogReader<Box<dyn BufRead + Send>>;

/// A capture that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {path}: {error}")]
    Open { path: String, error: io::Error },
    #[error("cannot open {path}: it is a folder, not a capture file")]
    Folder { path: String },
    #[error(transparent)]
    Read(#[from] LogError),
}

/// Opens a capture for reading (`-`: standard input), skipping malformed lines or
/// not; a missing, unreadable or non-regular file is refused here, before anything
/// else starts.
pub fn open(path: &Path, skip_bad_lines: bool) -> Result<Reader, CaptureError> {
    let shown = path.display().to_string();
    let input: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
        Box::new(BufReader::with_capacity(1 << 16, io::stdin()))
    } else {
        let failed = |error| CaptureError::Open {
            path: shown.clone(),
            error,
        };
        let f = File::open(path).map_err(failed)?;
        if f.metadata().map_err(failed)?.is_dir() {
            return Err(CaptureError::Folder { path: shown });
        }
        Box::new(BufReader::with_capacity(1 << 16, f))
    };
    Ok(LogReader::new(input, shown).skip_bad_lines(skip_bad_lines))
}

/// How a capture is played.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// As fast as it can be read.
    Fast,
    /// This many times faster than its own clock.
    Paced(f64),
}

/// Records fed in one turn of the shell at most, as fast as possible: the
/// shell answers clients and stop signals between two batches.
const BATCH: u32 = 64;

/// A capture being played.
pub struct Capture {
    path: PathBuf,
    skip_bad_lines: bool,
    reader: Reader,
    /// The next record and its replay time (set at the first turn).
    next: Option<(Micros, Record)>,
    /// The first record, read before the capture is played (to refuse an empty one).
    first: Option<Record>,
    pace: Option<Pace>,
    passes_left: u32,
    records: u64,
    batch: u32,
    over: bool,
}

impl Capture {
    /// Plays `reader` (opened from `path`, which is opened again for each further
    /// pass) `passes` times at `speed`. Its first record is read now: a capture
    /// that holds none is refused.
    pub fn new(
        path: &Path,
        skip_bad_lines: bool,
        mut reader: Reader,
        speed: Speed,
        passes: u32,
    ) -> Result<Capture, CaptureError> {
        let first = reader.next_record().transpose()?;
        Ok(Capture {
            path: path.to_owned(),
            skip_bad_lines,
            reader,
            next: None,
            first,
            pace: match speed {
                Speed::Fast => None,
                Speed::Paced(s) => Some(Pace::new(s)),
            },
            passes_left: passes.saturating_sub(1),
            records: 0,
            batch: 0,
            over: false,
        })
    }

    /// Whether the capture holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.next.is_none() && self.records == 0
    }

    /// The interface the capture names, if it names one.
    pub fn interface(&self) -> Option<&str> {
        self.reader.interface()
    }

    /// Records fed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Malformed lines skipped so far.
    pub fn bad_lines(&self) -> u64 {
        self.reader.bad_lines()
    }

    /// The time now on the capture's clock: while a paced capture waits for its
    /// next record, how far the wait has come; before the first record, its time;
    /// else the driver's. What D-Bus says before the first record (the services
    /// NMEA 2000-out finds at once) is then taken at the capture's start, not at
    /// time 0, whose timers would have to be walked through to the capture's
    /// clock one by one.
    pub(super) fn now(&self, driver: &Driver) -> Micros {
        let next = self.next.as_ref().map(|(t, _)| *t);
        match (&self.pace, next) {
            _ if self.over => driver.now(),
            (Some(p), Some(t)) => p.now().map_or(t, |n| n.min(t)).max(driver.now()),
            (None, Some(t)) if self.records == 0 => t,
            _ => driver.now(),
        }
    }

    /// Reads the first record, so that its time is known before anything else
    /// reaches the gateway; a paced capture's clock starts with it.
    pub(super) fn prime(&mut self, driver: &mut Driver) -> Result<(), CaptureError> {
        if self.over {
            return Ok(());
        }
        if let (Some(t), Some(pace)) = (self.upcoming(driver)?, &mut self.pace) {
            pace.anchor.get_or_insert((t, tokio::time::Instant::now()));
        }
        Ok(())
    }

    /// Feeds the next record when it is due, or says that `wake` came first.
    /// Pending for ever once the capture is over: its clock stands still.
    pub(super) async fn next(
        &mut self,
        driver: &mut Driver,
        wake: Micros,
    ) -> Result<Next, CaptureError> {
        if self.over {
            return Ok(std::future::pending().await);
        }
        let Some(t) = self.upcoming(driver)? else {
            self.over = true;
            return Ok(Next::Over);
        };
        if let Some(pace) = &mut self.pace {
            pace.anchor.get_or_insert((t, tokio::time::Instant::now()));
            // What was sent so far reaches the transmit log before the wait, so
            // that it can be followed while a paced replay runs.
            driver.flush_transmit_log();
            let timer = wake < t;
            tokio::time::sleep_until(pace.due(if timer { wake } else { t })).await;
            if timer {
                return Ok(Next::Wake(wake));
            }
        }
        self.feed(driver);
        Ok(Next::Fed)
    }

    /// The next record right away, as fast as possible, up to a batch per turn.
    pub(super) fn ready(&mut self, driver: &mut Driver) -> Result<bool, CaptureError> {
        if self.pace.is_some() || self.over || self.batch >= BATCH {
            self.batch = 0;
            return Ok(false);
        }
        if self.upcoming(driver)?.is_none() {
            return Ok(false);
        }
        self.feed(driver);
        self.batch += 1;
        Ok(true)
    }

    /// The replay time of the next record, reading it (and starting the next
    /// pass) when needed; `None` at the end of the last pass.
    fn upcoming(&mut self, driver: &mut Driver) -> Result<Option<Micros>, CaptureError> {
        if let Some((t, _)) = &self.next {
            return Ok(Some(*t));
        }
        let mut rec = match self.first.take() {
            Some(r) => Some(r),
            None => self.reader.next_record().transpose()?,
        };
        if rec.is_none() && self.passes_left > 0 {
            self.passes_left -= 1;
            self.reader = open(&self.path, self.skip_bad_lines)?;
            driver.rewind();
            rec = self.reader.next_record().transpose()?;
        }
        Ok(rec.map(|r| {
            let t = driver.time_of(&r);
            self.next = Some((t, r));
            t
        }))
    }

    fn feed(&mut self, driver: &mut Driver) {
        if let Some((t, rec)) = self.next.take() {
            driver.feed_record_at(t, &rec);
            self.records += 1;
        }
    }
}

/// The capture's clock against the wall clock: capture time `t0` was due at `w0`.
struct Pace {
    speed: f64,
    anchor: Option<(Micros, tokio::time::Instant)>,
}

impl Pace {
    fn new(speed: f64) -> Pace {
        Pace {
            speed,
            anchor: None,
        }
    }

    /// When capture time `t` is due on the wall clock.
    fn due(&self, t: Micros) -> tokio::time::Instant {
        let Some((t0, w0)) = self.anchor else {
            return tokio::time::Instant::now();
        };
        let secs = ((t - t0).max(0) as f64 / 1e6) / self.speed;
        w0 + Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX / 4)
    }

    /// The capture time that corresponds to now, once the first record set it.
    fn now(&self) -> Option<Micros> {
        let (t0, w0) = self.anchor?;
        let wall = w0.elapsed().as_secs_f64();
        Some(t0.saturating_add((wall * self.speed * 1e6) as Micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::CoreConfig;
    use crate::dbus::Outbox;
    use crate::gateway::{Gateway, GatewayConfig};

    /// A capture of two frames, a second apart, 2024-01-01 00:00:00 UTC on.
    fn capture(speed: Speed) -> Capture {
        let text = "(1704067200.000000) can0 09F8027F#1A2B3C4D5E6F7081\n\
                    (1704067201.000000) can0 09F8027F#1A2B3C4D5E6F7081\n";
        let input: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text.as_bytes()));
        let reader = LogReader::new(input, "two frames");
        Capture::new(Path::new("two frames"), false, reader, speed, 1).expect("capture")
    }

    fn driver() -> Driver {
        let cfg = GatewayConfig::new("can0", CoreConfig::gateway(1).listen_only());
        Driver::new(Gateway::new(cfg, std::sync::Arc::new(Outbox::new())))
    }

    /// What D-Bus says before the first record is taken at the capture's start:
    /// taken at time 0, NMEA 2000-out's timers would be walked through to the
    /// capture's clock one by one (a replay that fed nothing for minutes).
    #[tokio::test]
    async fn before_the_first_record_it_is_the_capture_s_start() {
        for speed in [Speed::Fast, Speed::Paced(1.0)] {
            let (mut c, mut d) = (capture(speed), driver());
            c.prime(&mut d).expect("primed");
            let before = c.now(&d);
            let fed = c.next(&mut d, Micros::MAX).await.expect("first record");
            assert_eq!(fed, Next::Fed);
            // The driver's time is the first record's replay time once fed.
            assert_eq!(before, d.now(), "{speed:?}");
            assert!(before > 0);
        }
    }
}
