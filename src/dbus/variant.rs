//! How a [`Value`] travels on D-Bus (`docs/architecture.md#values`): Victron's clients read
//! "no value" as an empty array of int32 and a real empty list as an empty array of
//! uint32; numbers are `d` or an integer type, texts `s`. This is the one place that
//! knows those rules.

use thiserror::Error;
use zbus::zvariant::{self, Array};

use crate::model::Value;

/// A variant a client sent that no Venus item can hold.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("a value of D-Bus type `{0}` cannot be stored")]
pub struct UnsupportedValue(pub String);

impl Value {
    /// The value wrapped as Venus clients expect it inside a variant.
    pub fn to_variant(&self) -> zvariant::Value<'static> {
        match self {
            Value::Invalid => zvariant::Value::Array(Array::from(Vec::<i32>::new())),
            Value::EmptyList => zvariant::Value::Array(Array::from(Vec::<u32>::new())),
            Value::Int(i) => match i32::try_from(*i) {
                Ok(small) => zvariant::Value::I32(small),
                Err(_) => zvariant::Value::I64(*i),
            },
            Value::Real(r) => zvariant::Value::F64(*r),
            Value::Text(s) => zvariant::Value::from(s.clone()),
        }
    }

    /// Reads a variant from a client the way Victron's own libraries unwrap it: any
    /// integer type is an integer, any empty array means invalid.
    pub fn from_variant(v: &zvariant::Value<'_>) -> Result<Value, UnsupportedValue> {
        use zvariant::Value as V;
        Ok(match v {
            V::U8(x) => Value::Int(i64::from(*x)),
            V::Bool(b) => Value::Int(i64::from(*b)),
            V::I16(x) => Value::Int(i64::from(*x)),
            V::U16(x) => Value::Int(i64::from(*x)),
            V::I32(x) => Value::Int(i64::from(*x)),
            V::U32(x) => Value::Int(i64::from(*x)),
            V::I64(x) => Value::Int(*x),
            V::U64(x) => match i64::try_from(*x) {
                Ok(x) => Value::Int(x),
                Err(_) => return Err(UnsupportedValue("t".into())),
            },
            V::F64(x) => Value::Real(*x),
            V::Str(s) => Value::Text(s.as_str().to_owned()),
            V::Value(inner) => return Value::from_variant(inner),
            V::Array(a) if a.is_empty() => Value::Invalid,
            other => return Err(UnsupportedValue(other.value_signature().to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_is_empty_int_array_and_empty_list_is_uint_array() {
        assert_eq!(Value::Invalid.to_variant().value_signature(), "ai");
        assert_eq!(Value::EmptyList.to_variant().value_signature(), "au");
        assert_eq!(Value::Int(5).to_variant().value_signature(), "i");
        assert_eq!(Value::Int(1 << 40).to_variant().value_signature(), "x");
        assert_eq!(Value::Real(1.5).to_variant().value_signature(), "d");
        assert_eq!(Value::from("x").to_variant().value_signature(), "s");
        assert_eq!(Value::from(f64::NAN), Value::Invalid);
    }

    #[test]
    fn unwraps_like_victron_clients() {
        let empty_u = zvariant::Value::Array(Array::from(Vec::<u32>::new()));
        assert_eq!(Value::from_variant(&empty_u), Ok(Value::Invalid));
        assert_eq!(
            Value::from_variant(&zvariant::Value::U8(7)),
            Ok(Value::Int(7))
        );
        assert_eq!(
            Value::from_variant(&zvariant::Value::from(vec![1u8])),
            Err(UnsupportedValue("ay".into()))
        );
    }
}
