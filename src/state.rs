//! The gateway's small state file: what must survive a restart of the process.
//!
//! `key=value` lines; unknown keys are kept as they are so that newer versions can
//! add keys. Writes go to a temporary file renamed over the old one, so a power cut
//! leaves the old state or the new, never half of one.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A state file that could not be read or written.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}:{line}: expected `key=value`: `{text}`")]
    BadLine {
        path: String,
        line: usize,
        text: String,
    },
}

/// The state of one gateway instance (one CAN interface).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    entries: BTreeMap<String, String>,
}

const ADDRESS: &str = "address";
const UNIQUE: &str = "unique_number";

impl State {
    /// Reads `path`; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let mut entries = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(StateError::BadLine {
                    path: path.display().to_string(),
                    line: i + 1,
                    text: line.to_owned(),
                });
            };
            entries.insert(k.trim().to_owned(), v.trim().to_owned());
        }
        Ok(State { entries })
    }

    /// Writes `path` atomically, creating its directory.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |source| StateError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let mut text = String::from("# n2k-dbus state; rewritten by the gateway\n");
        for (k, v) in &self.entries {
            text += &format!("{k}={v}\n");
        }
        let tmp = tmp_path(path);
        fs::write(&tmp, text).map_err(err)?;
        fs::rename(&tmp, path).map_err(err)
    }

    /// The address we held last time.
    pub fn address(&self) -> Option<u8> {
        self.entries
            .get(ADDRESS)?
            .parse()
            .ok()
            .filter(|&a| a <= 251)
    }

    pub fn set_address(&mut self, address: u8) {
        self.entries.insert(ADDRESS.into(), address.to_string());
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Stores `value` under `key`; keys and values hold no line breaks, and values
    /// keep no surrounding blanks.
    pub fn set(&mut self, key: &str, value: &str) {
        let clean = |s: &str| s.replace(['\n', '\r'], " ").trim().to_owned();
        self.entries
            .insert(clean(key).replace('=', "_"), clean(value));
    }

    /// Every entry whose key starts with `prefix`, with the prefix removed.
    pub fn with_prefix<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = (&'s str, &'s str)> {
        self.entries
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(move |(k, v)| (&k[prefix.len()..], v.as_str()))
    }

    /// The unique number chosen for this machine, when one was stored.
    pub fn unique_number(&self) -> Option<u32> {
        self.entries
            .get(UNIQUE)?
            .parse()
            .ok()
            .filter(|&u| u <= 0x1F_FFFF)
    }

    pub fn set_unique_number(&mut self, unique: u32) {
        self.entries
            .insert(UNIQUE.into(), (unique & 0x1F_FFFF).to_string());
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".tmp");
    PathBuf::from(p)
}

/// A 21-bit unique number that is the same every time on this machine: a hash of
/// `/etc/machine-id` and `salt` (the interface, so two gateways on one machine
/// differ). `None` when the machine has no id.
pub fn machine_unique_number(salt: &str) -> Option<u32> {
    let id = fs::read_to_string("/etc/machine-id")
        .or_else(|_| fs::read_to_string("/var/lib/dbus/machine-id"))
        .ok()?;
    let id = id.trim();
    if id.is_empty() {
        return None;
    }
    // FNV-1a, folded to 21 bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes().chain([0]).chain(salt.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    Some(((h ^ (h >> 21) ^ (h >> 42)) & 0x1F_FFFF) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("n2k-dbus-state-{}", std::process::id()));
        let path = dir.join("can0.state");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let mut s = State::default();
        s.set_address(42);
        s.set_unique_number(123_456);
        s.entries.insert("future_key".into(), "x".into());
        s.save(&path).unwrap();
        let t = State::load(&path).unwrap();
        assert_eq!(t.address(), Some(42));
        assert_eq!(t.unique_number(), Some(123_456));
        assert_eq!(t, s);
        std::fs::write(&path, "address=7\nnonsense\n").unwrap();
        let e = State::load(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("can0.state:2: expected `key=value`: `nonsense`"),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
