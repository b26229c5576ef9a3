//! The user's word on the mapping: devices excluded from it, and types corrected
//! per device (docs/venus-services.md#mapping-rules (rule 1): "a user override per device is the final
//! word").
//!
//! A device is matched by its whole NAME, its unique number or its manufacturer:
//! `name:C0A0A0001CBEA005`, `unique:478868`, `manufacturer:358`.

use std::fmt;
use std::str::FromStr;

use crate::network::Name;

use super::kind::{Kind, UnknownKind};

/// Which devices a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    Name(Name),
    Unique(u32),
    Manufacturer(u16),
}

impl Selector {
    /// Whether `name` is selected.
    pub fn matches(self, name: Name) -> bool {
        match self {
            Selector::Name(n) => n == name,
            Selector::Unique(u) => name.unique_number() == u,
            Selector::Manufacturer(m) => name.manufacturer_code() == m,
        }
    }
}

/// A rule that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("`{0}`: expected name:<16 hex digits>, unique:<number> or manufacturer:<code>")]
    Selector(String),
    #[error("`{0}`: expected <device>=<type>, e.g. unique:478868=dcload")]
    Override(String),
    #[error(transparent)]
    Kind(#[from] UnknownKind),
}

impl FromStr for Selector {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Selector, RuleError> {
        let bad = || RuleError::Selector(s.to_owned());
        let (what, value) = s.split_once(':').ok_or_else(bad)?;
        match what {
            "name" if value.len() == 16 => u64::from_str_radix(value, 16)
                .map(|v| Selector::Name(Name(v)))
                .map_err(|_| bad()),
            "unique" => value
                .parse::<u32>()
                .ok()
                .filter(|&u| u <= 0x1F_FFFF)
                .map(Selector::Unique)
                .ok_or_else(bad),
            "manufacturer" => value
                .parse::<u16>()
                .ok()
                .filter(|&m| m <= 0x7FF)
                .map(Selector::Manufacturer)
                .ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Name(n) => write!(f, "name:{n}"),
            Selector::Unique(u) => write!(f, "unique:{u}"),
            Selector::Manufacturer(m) => write!(f, "manufacturer:{m}"),
        }
    }
}

/// A type correction: the devices selected publish their DC instances, AC
/// instances or position as `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Override {
    pub selector: Selector,
    pub kind: Kind,
}

impl FromStr for Override {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Override, RuleError> {
        let (sel, kind) = s
            .split_once('=')
            .ok_or_else(|| RuleError::Override(s.to_owned()))?;
        Ok(Override {
            selector: sel.parse()?,
            kind: kind.parse()?,
        })
    }
}

/// Everything the user said about the mapping.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Devices that get no service (the bus service still lists them).
    pub exclude: Vec<Selector>,
    /// Type corrections; the first that matches wins.
    pub overrides: Vec<Override>,
    /// Publish a `gps` service for every position source, not only for GNSS
    /// receivers (or for any source when no receiver is on the bus).
    pub gps_from_any: bool,
}

impl Rules {
    /// Whether `name` is excluded.
    pub fn excluded(&self, name: Name) -> bool {
        self.exclude.iter().any(|s| s.matches(name))
    }

    /// The type the user gave `name`, if any.
    pub fn kind_of(&self, name: Name) -> Option<Kind> {
        self.overrides
            .iter()
            .find(|o| o.selector.matches(name))
            .map(|o| o.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_overrides_parse() {
        let n = Name(0xC0A0_A000_1CBE_A005);
        let s: Selector = "name:C0A0A0001CBEA005".parse().unwrap();
        assert!(s.matches(n));
        let u: Selector = format!("unique:{}", n.unique_number()).parse().unwrap();
        assert!(u.matches(n));
        let m: Selector = format!("manufacturer:{}", n.manufacturer_code())
            .parse()
            .unwrap();
        assert!(m.matches(n));
        let o: Override = "unique:5=dcload".parse().unwrap();
        assert_eq!(o.kind, Kind::DcLoad);
        assert!("unique:5=boat".parse::<Override>().is_err());
        assert!("unique:99999999".parse::<Selector>().is_err());
        assert!("serial:5".parse::<Selector>().is_err());
        assert!("name:12".parse::<Selector>().is_err());
    }
}
