//! Whether a value fits a destination column, and turning loose values (a constant
//! from the job file, a JavaScript result) into the column's natural representation.
//!
//! Checked: NOT NULL, integer range by byte width and signedness, character length of
//! `char(n)`/`varchar(n)`, decimal precision and scale, the canonical shape of dates,
//! timestamps and UUIDs, binary length. Types Tether has no neutral name for accept
//! anything (the destination has the last word).

use tether_schema::{Column, DataType, Value};

use crate::error::TransformError;

/// The check for one column type, precomputed once per transformer.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    ty: DataType,
    nullable: bool,
    shape: Shape,
}

#[derive(Debug, Clone)]
enum Shape {
    Any,
    Bool,
    Int {
        min: i128,
        max: i128,
    },
    Float,
    Text {
        max: Option<usize>,
    },
    Decimal {
        int_digits: Option<u32>,
        scale: Option<u32>,
    },
    Date,
    Timestamp,
    Time,
    Uuid,
    Binary {
        max: Option<usize>,
    },
}

/// Whether the column holds arrays (PostgreSQL's `text[]`, `integer[3]`, an array of
/// a domain): a kind that writes one value cannot fill it (the server refuses the
/// text as an array literal).
pub fn is_array(column: &Column) -> bool {
    let array = |t: &str| t.trim_end().ends_with(']');
    matches!(&column.normalized_type, DataType::Other(t) if array(t)) || array(&column.engine_type)
}

/// The range of an integer column type.
pub(crate) fn int_range(bytes: u8, unsigned: bool) -> (i128, i128) {
    let bits = (bytes.clamp(1, 8) as u32) * 8;
    if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    }
}

impl Fit {
    pub(crate) fn of(column: &Column) -> Fit {
        let ty = &column.normalized_type;
        let shape = match ty {
            DataType::Boolean => Shape::Bool,
            DataType::Int { bytes, unsigned } => {
                let (min, max) = int_range(*bytes, *unsigned);
                Shape::Int { min, max }
            }
            DataType::Bits { length } => Shape::Int {
                min: 0,
                max: (1i128 << (*length).clamp(1, 64)) - 1,
            },
            DataType::Float { .. } => Shape::Float,
            DataType::Char { length } | DataType::Varchar { length } => Shape::Text {
                max: length.map(|l| l as usize),
            },
            DataType::Text => Shape::Text { max: None },
            DataType::Decimal { precision, scale } => Shape::Decimal {
                int_digits: precision.map(|p| p.saturating_sub(scale.unwrap_or(0))),
                scale: if precision.is_some() {
                    Some(scale.unwrap_or(0))
                } else {
                    *scale
                },
            },
            DataType::Date => Shape::Date,
            DataType::Timestamp { .. } => Shape::Timestamp,
            DataType::Time => Shape::Time,
            DataType::Uuid => Shape::Uuid,
            DataType::Binary { length } => Shape::Binary {
                max: length.map(|l| l as usize),
            },
            DataType::Json | DataType::Other(_) => Shape::Any,
        };
        Fit {
            ty: ty.clone(),
            nullable: column.nullable,
            shape,
        }
    }

    fn fail(&self, value: &Value, reason: impl Into<String>) -> TransformError {
        TransformError::DoesNotFit {
            value: value.display(),
            column_type: self.ty.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn check(&self, value: &Value) -> Result<(), TransformError> {
        let ok = match (&self.shape, value) {
            (_, Value::Null) => {
                return if self.nullable {
                    Ok(())
                } else {
                    Err(self.fail(value, "the column is NOT NULL"))
                }
            }
            (Shape::Any, _) => true,
            (Shape::Bool, Value::Bool(_)) => true,
            (Shape::Bool, Value::Int(0 | 1)) => true,
            (Shape::Int { min, max }, Value::Int(i)) => {
                let i = *i as i128;
                if i < *min || i > *max {
                    return Err(self.fail(value, format!("out of range [{min}, {max}]")));
                }
                true
            }
            (Shape::Int { max, .. }, Value::UInt(u)) => {
                if *u as i128 > *max {
                    return Err(self.fail(value, format!("out of range (max {max})")));
                }
                true
            }
            (Shape::Float, Value::Float(_) | Value::Int(_) | Value::UInt(_)) => true,
            (Shape::Text { max }, Value::Text(s)) => {
                if let Some(max) = max {
                    if s.len() > *max {
                        let n = s.chars().count();
                        if n > *max {
                            return Err(self.fail(value, format!("{n} characters, the column holds {max}")));
                        }
                    }
                }
                true
            }
            (Shape::Decimal { int_digits, scale }, Value::Text(s)) => {
                let Some((int, frac)) = decimal_parts(s) else {
                    return Err(self.fail(value, "not a decimal number"));
                };
                if let Some(limit) = int_digits {
                    if int > *limit {
                        return Err(self.fail(value, format!("{int} digits before the point, at most {limit} fit")));
                    }
                }
                if let Some(limit) = scale {
                    if frac > *limit {
                        return Err(self.fail(value, format!("{frac} digits after the point, at most {limit} fit")));
                    }
                }
                true
            }
            (Shape::Decimal { int_digits, .. }, Value::Int(_) | Value::UInt(_)) => {
                let digits = value.display().trim_start_matches('-').len() as u32;
                if let Some(limit) = int_digits {
                    if digits > *limit {
                        return Err(self.fail(value, format!("{digits} digits, at most {limit} fit")));
                    }
                }
                true
            }
            (Shape::Decimal { .. }, Value::Float(f)) => f.is_finite(),
            (Shape::Date, Value::Text(s)) => is_date(s) && s.len() == 10,
            (Shape::Timestamp, Value::Text(s)) => is_date(s),
            (Shape::Time, Value::Text(s)) => s.len() >= 5 && s.as_bytes()[2] == b':',
            (Shape::Uuid, Value::Text(s)) => is_uuid(s),
            (Shape::Uuid, Value::Bytes(b)) => b.len() == 16,
            (Shape::Binary { max }, Value::Bytes(b)) => {
                if let Some(max) = max {
                    if b.len() > *max {
                        return Err(self.fail(value, format!("{} bytes, the column holds {max}", b.len())));
                    }
                }
                true
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.fail(value, "wrong kind of value for this type"))
        }
    }
}

/// Digits before and after the point of a canonical decimal (`-12.50` -> (2, 2)).
fn decimal_parts(s: &str) -> Option<(u32, u32)> {
    let body = s.strip_prefix('-').or_else(|| s.strip_prefix('+')).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int_digits = int.trim_start_matches('0').len() as u32;
    Some((int_digits, frac.len() as u32))
}

pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().chain(&b[5..7]).chain(&b[8..10]).all(u8::is_ascii_digit)
}

pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Checks that `value` can be written into `column` as it is.
pub fn fits(value: &Value, column: &Column) -> Result<(), TransformError> {
    Fit::of(column).check(value)
}

/// Converts a loosely typed value (a job-file constant, a JavaScript result) to the
/// representation readers produce for `ty`: integers as `Int`/`UInt`, floats as `Float`,
/// dates, decimals and UUIDs as canonical `Text`. Fails when no sensible conversion exists.
pub fn coerce(value: Value, ty: &DataType) -> Result<Value, TransformError> {
    let fail = |v: &Value, why: &str| TransformError::DoesNotFit {
        value: v.display(),
        column_type: ty.to_string(),
        reason: why.to_string(),
    };
    Ok(match (ty, value) {
        (_, Value::Null) => Value::Null,
        (DataType::Int { .. }, Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Value::Int(f as i64),
        (DataType::Int { .. }, Value::Bool(b)) => Value::Int(b as i64),
        (DataType::Int { .. }, Value::Text(t)) => match t.trim().parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => match t.trim().parse::<u64>() {
                Ok(u) => Value::UInt(u),
                Err(_) => return Err(fail(&Value::Text(t), "not an integer")),
            },
        },
        (DataType::Int { .. }, v @ (Value::Int(_) | Value::UInt(_))) => v,
        (DataType::Float { .. }, Value::Int(i)) => Value::Float(i as f64),
        (DataType::Float { .. }, Value::UInt(u)) => Value::Float(u as f64),
        (DataType::Float { .. }, Value::Text(t)) => match t.trim().parse::<f64>() {
            Ok(f) => Value::Float(f),
            Err(_) => return Err(fail(&Value::Text(t), "not a number")),
        },
        (DataType::Boolean, Value::Int(i)) => Value::Bool(i != 0),
        (DataType::Boolean, Value::Text(t)) => match t.as_str() {
            "t" | "true" | "TRUE" | "1" => Value::Bool(true),
            "f" | "false" | "FALSE" | "0" => Value::Bool(false),
            _ => return Err(fail(&Value::Text(t), "not a boolean")),
        },
        (DataType::Binary { .. }, Value::Text(t)) => Value::Bytes(t.into_bytes()),
        (
            DataType::Char { .. }
            | DataType::Varchar { .. }
            | DataType::Text
            | DataType::Decimal { .. }
            | DataType::Date
            | DataType::Time
            | DataType::Timestamp { .. }
            | DataType::Uuid
            | DataType::Json,
            v,
        ) => match v {
            Value::Int(i) => Value::Text(i.to_string()),
            Value::UInt(u) => Value::Text(u.to_string()),
            Value::Float(f) => Value::Text(f.to_string()),
            Value::Bool(b) => Value::Text(b.to_string()),
            other => other,
        },
        (_, v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(ty: &str, nullable: bool) -> Column {
        Column {
            name: "c".into(),
            engine_type: ty.into(),
            normalized_type: ty.parse().unwrap(),
            nullable,
            default: None,
            identity: None,
            generated: None,
        }
    }

    #[test]
    fn limits_are_checked() {
        assert!(fits(&Value::Int(127), &col("tinyint", true)).is_ok());
        assert!(fits(&Value::Int(128), &col("tinyint", true)).is_err());
        assert!(fits(&Value::Int(255), &col("tinyint unsigned", true)).is_ok());
        assert!(fits(&Value::Int(-1), &col("int unsigned", true)).is_err());
        assert!(fits(&Value::Text("abcd".into()), &col("varchar(3)", true)).is_err());
        assert!(fits(&Value::Text("äöü".into()), &col("varchar(3)", true)).is_ok());
        assert!(fits(&Value::Text("123.45".into()), &col("decimal(5,2)", true)).is_ok());
        assert!(fits(&Value::Text("1234.5".into()), &col("decimal(5,2)", true)).is_err());
        assert!(fits(&Value::Text("12.345".into()), &col("decimal(5,2)", true)).is_err());
        assert!(fits(&Value::Null, &col("int", false)).is_err());
        assert!(fits(&Value::Text("2024-01-31".into()), &col("date", true)).is_ok());
        assert!(fits(&Value::Text("31/01/2024".into()), &col("date", true)).is_err());
        let err = fits(&Value::Text("abcd".into()), &col("varchar(3)", true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "value 'abcd' does not fit the column type varchar(3): 4 characters, the column holds 3"
        );
    }

    #[test]
    fn coercion_follows_the_column_type() {
        assert_eq!(
            coerce(
                Value::Float(3.0),
                &DataType::Int {
                    bytes: 4,
                    unsigned: false
                }
            )
            .unwrap(),
            Value::Int(3)
        );
        assert_eq!(coerce(Value::Int(3), &DataType::Text).unwrap(), Value::Text("3".into()));
        assert_eq!(
            coerce(Value::Float(2.5), &DataType::Text).unwrap(),
            Value::Text("2.5".into())
        );
        assert!(coerce(
            Value::Text("x".into()),
            &DataType::Int {
                bytes: 4,
                unsigned: false
            }
        )
        .is_err());
    }
}
