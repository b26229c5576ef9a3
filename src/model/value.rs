//! Values as Venus services carry them: invalid, an integer, a real, a text, an
//! empty list. How each travels on D-Bus is `dbus::variant`'s business.

use std::fmt;

/// One item's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Not known, not fresh or not applicable: `ai []` on the bus.
    Invalid,
    /// Integers travel as `i`, or `x` when they do not fit 32 bits.
    Int(i64),
    /// Measurements travel as `d`.
    Real(f64),
    /// Texts travel as `s`.
    Text(String),
    /// A valid list with nothing in it: `au []`, never `ai []`.
    EmptyList,
}

impl Value {
    /// Whether the value is known.
    pub fn is_valid(&self) -> bool {
        !matches!(self, Value::Invalid)
    }
}

impl fmt::Display for Value {
    /// The plain rendering `str(value)` gives in velib_python.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Invalid => f.write_str("---"),
            Value::EmptyList => f.write_str("[]"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e15 => write!(f, "{r:.1}"),
            Value::Real(r) => write!(f, "{r}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        if v.is_finite() {
            Value::Real(v)
        } else {
            Value::Invalid
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Invalid, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_matches_python_str() {
        assert_eq!(Value::Real(85.0).to_string(), "85.0");
        assert_eq!(Value::Real(-1.5).to_string(), "-1.5");
        assert_eq!(Value::Int(1046).to_string(), "1046");
        assert_eq!(Value::Invalid.to_string(), "---");
    }
}
