//! One leaf of a service: its value, how it reads as text, and whether and how it
//! may be written.

use super::value::Value;

/// How `GetText` renders a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `str(value)`, as velib_python renders items without a text callback.
    Plain,
    /// The value with a fixed number of decimals and its unit symbol right after it,
    /// as Victron's C services render measurements (`12.63V`, `25.0C`).
    Unit { decimals: u8, unit: &'static str },
    /// An identifier shown in hexadecimal (`/ProductId` → `0xA3E5`).
    Hex,
}

impl Format {
    /// A measurement with `decimals` and `unit`.
    pub const fn unit(decimals: u8, unit: &'static str) -> Format {
        Format::Unit { decimals, unit }
    }

    /// The text of `value`; invalid reads `---`, as in velib_python.
    pub fn text(self, value: &Value) -> String {
        match (self, value) {
            (_, Value::Invalid) => "---".to_owned(),
            (Format::Unit { decimals, unit }, Value::Real(r)) => {
                format!("{r:.prec$}{unit}", prec = usize::from(decimals))
            }
            (Format::Unit { decimals: 0, unit }, Value::Int(i)) => {
                format!("{i}{unit}")
            }
            (Format::Unit { decimals, unit }, Value::Int(i)) => {
                format!("{:.prec$}{unit}", *i as f64, prec = usize::from(decimals))
            }
            (Format::Hex, Value::Int(i)) => format!("0x{i:04X}"),
            (_, v) => v.to_string(),
        }
    }
}

/// What a client may write into an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteRule {
    /// A text of at most this many characters (`/CustomName`: 32, the GUI's limit).
    Text { max_chars: usize },
    /// An integer, within the item's `min`/`max` where given.
    Integer,
    /// A real number (integers accepted), within `min`/`max` where given.
    Real,
}

/// Why a write was refused, mapped to Victron's SetValue codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The item is read-only, or the value has the wrong type: code 1.
    NotWritable,
    /// The type is right but the value is not allowed (range, length, device logic):
    /// code 2.
    Refused(String),
}

impl Refusal {
    /// The code `SetValue` answers: 1 for not writable or wrong type, 2 for refused.
    pub fn code(&self) -> i32 {
        match self {
            Refusal::NotWritable => 1,
            Refusal::Refused(_) => 2,
        }
    }
}

/// One leaf of a service's tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub value: Value,
    pub format: Format,
    /// `None`: read-only.
    pub write: Option<WriteRule>,
    /// Lower bound, answered by `GetMin` and listed in `GetItems`.
    pub min: Option<Value>,
    /// Upper bound, answered by `GetMax` and listed in `GetItems`.
    pub max: Option<Value>,
    /// Answered by `GetDefault` where a default exists.
    pub default: Option<Value>,
}

impl Item {
    /// A read-only item rendered with `str(value)`.
    pub fn new(value: impl Into<Value>) -> Item {
        Item {
            value: value.into(),
            format: Format::Plain,
            write: None,
            min: None,
            max: None,
            default: None,
        }
    }

    /// A read-only measurement with its unit.
    pub fn measured(value: impl Into<Value>, decimals: u8, unit: &'static str) -> Item {
        Item::new(value).with_format(Format::unit(decimals, unit))
    }

    /// The same item rendered with `format`.
    pub fn with_format(mut self, format: Format) -> Item {
        self.format = format;
        self
    }

    /// The same item, writable under `rule`.
    pub fn writable(mut self, rule: WriteRule) -> Item {
        self.write = Some(rule);
        self
    }

    /// The same item with bounds.
    pub fn with_range(mut self, min: impl Into<Value>, max: impl Into<Value>) -> Item {
        self.min = Some(min.into());
        self.max = Some(max.into());
        self
    }

    /// The same item with a default.
    pub fn with_default(mut self, default: impl Into<Value>) -> Item {
        self.default = Some(default.into());
        self
    }

    /// The display text of the current value.
    pub fn text(&self) -> String {
        self.format.text(&self.value)
    }

    /// Checks a client's write against the item's rule, returning the value to store.
    /// Invalid is accepted where the item is numeric, as velib_python accepts `ai []`.
    pub fn check_write(&self, value: Value) -> Result<Value, Refusal> {
        let Some(rule) = self.write else {
            return Err(Refusal::NotWritable);
        };
        let value = match (rule, value) {
            (WriteRule::Text { max_chars }, Value::Text(s)) => {
                let n = s.chars().count();
                if n > max_chars {
                    return Err(Refusal::Refused(format!(
                        "{n} characters, at most {max_chars} allowed"
                    )));
                }
                return Ok(Value::Text(s));
            }
            (WriteRule::Integer, Value::Int(i)) => Value::Int(i),
            (WriteRule::Real, Value::Int(i)) => Value::Real(i as f64),
            (WriteRule::Real, Value::Real(r)) if r.is_finite() => Value::Real(r),
            (WriteRule::Integer | WriteRule::Real, Value::Invalid) => return Ok(Value::Invalid),
            _ => return Err(Refusal::NotWritable),
        };
        let below = self.min.as_ref().is_some_and(|m| less(&value, m));
        let above = self.max.as_ref().is_some_and(|m| less(m, &value));
        if below || above {
            return Err(Refusal::Refused(format!("{value} is out of range")));
        }
        Ok(value)
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Real(r) => Some(*r),
        _ => None,
    }
}

fn less(a: &Value, b: &Value) -> bool {
    match (as_f64(a), as_f64(b)) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_follow_victron_services() {
        assert_eq!(Format::unit(2, "V").text(&Value::Real(12.634)), "12.63V");
        assert_eq!(Format::unit(1, "A").text(&Value::Real(-2.0)), "-2.0A");
        assert_eq!(Format::unit(0, "%").text(&Value::Int(75)), "75%");
        assert_eq!(Format::Hex.text(&Value::Int(0xA3E5)), "0xA3E5");
        assert_eq!(Format::Hex.text(&Value::Int(0xA1)), "0x00A1");
        assert_eq!(Format::unit(2, "V").text(&Value::Invalid), "---");
        assert_eq!(Format::Plain.text(&Value::from("abc")), "abc");
    }

    #[test]
    fn writes_are_checked_by_type_range_and_length() {
        let name = Item::new("").writable(WriteRule::Text { max_chars: 32 });
        assert_eq!(name.check_write("Galley".into()), Ok("Galley".into()));
        assert_eq!(name.check_write(Value::Int(3)), Err(Refusal::NotWritable));
        let long = "x".repeat(33);
        assert_eq!(name.check_write(long.into()).map_err(|r| r.code()), Err(2));
        // 32 characters that are not 32 bytes are fine.
        assert!(name.check_write("é".repeat(32).into()).is_ok());

        let inst = Item::new(0).writable(WriteRule::Integer).with_range(0, 252);
        assert_eq!(
            inst.check_write(Value::Int(253)).map_err(|r| r.code()),
            Err(2)
        );
        assert_eq!(
            inst.check_write(Value::Int(-1)).map_err(|r| r.code()),
            Err(2)
        );
        assert_eq!(inst.check_write("1".into()), Err(Refusal::NotWritable));
        assert_eq!(inst.check_write(Value::Int(9)), Ok(Value::Int(9)));

        let ro = Item::new(1);
        assert_eq!(ro.check_write(Value::Int(1)), Err(Refusal::NotWritable));
    }
}
