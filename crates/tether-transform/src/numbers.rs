//! Numbers: the keyed permutation of an integer column's range (`hash` on integer
//! columns: unique keys stay unique), uniform values in a range, and relative noise.

use tether_schema::{Column, DataType, Value};

use crate::error::TransformError;
use crate::feistel::Permutation;
use crate::fit::int_range;
use crate::kernel::Kernel;
use crate::keyed::{Key, Rng};
use crate::options::Opts;

fn as_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(*i as i128),
        Value::UInt(u) => Some(*u as i128),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

fn int_value(v: i128) -> Value {
    if v > i64::MAX as i128 {
        Value::UInt(v as u64)
    } else {
        Value::Int(v as i64)
    }
}

struct IntPermutation {
    min: i128,
    max: i128,
    perm: Option<Permutation>,
}

impl Kernel for IntPermutation {
    fn produce(&self, input: &Value, _rng: &mut Rng) -> Result<Value, TransformError> {
        let Some(x) = as_i128(input) else {
            return Err(TransformError::bad_input("hash", input, "not an integer"));
        };
        let perm = self
            .perm
            .as_ref()
            .ok_or_else(|| TransformError::bad_input("hash", input, "no key"))?;
        match perm.apply(x) {
            Some(y) => Ok(int_value(y)),
            None => Err(TransformError::bad_input(
                "hash",
                input,
                format!(
                    "outside the permuted range [{}, {}]; widen it with the min/max options",
                    self.min, self.max
                ),
            )),
        }
    }
    fn reroll_on_identity(&self) -> bool {
        false
    }
    fn injective(&self) -> bool {
        true
    }
    fn set_key(&mut self, key: Key) {
        self.perm = Some(Permutation::new(self.min, self.max, key));
    }
}

/// `hash` on an integer column: a keyed permutation of `[min, max]` (default the
/// column type's whole range, signs kept).
pub(crate) fn build_int_permutation(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    let (lo, hi) = match column.normalized_type {
        DataType::Int { bytes, unsigned } => int_range(bytes, unsigned),
        // numeric(p) / numeric(p, 0) keys (p <= 18): integers of up to p digits.
        DataType::Decimal {
            precision: Some(p),
            scale: None | Some(0),
        } if (1..=18).contains(&p) => {
            let top = 10i128.pow(p) - 1;
            (-top, top)
        }
        _ => {
            return Err(TransformError::not_for_type(
                o.kind,
                &column.normalized_type,
                "needs an integer column",
            ))
        }
    };
    // u64 bounds do not fit TOML integers: the unsigned 64-bit range is the default only.
    let min = o.int("min")?.map(i128::from).unwrap_or(lo);
    let max = match o.int("max")? {
        Some(m) => m as i128,
        None => hi,
    };
    if min > max || min < lo || max > hi {
        return Err(o.bad(
            "max",
            format!("the range [{min}, {max}] must lie within the column type's [{lo}, {hi}]"),
        ));
    }
    if let Ok(m) = i64::try_from(min) {
        o.record("min", m);
    }
    if let Ok(m) = i64::try_from(max) {
        o.record("max", m);
    }
    Ok(Box::new(IntPermutation { min, max, perm: None }))
}

#[derive(Clone, Copy)]
enum Out {
    Int,
    Float,
    Text,
}

fn out_kind(o: &Opts, column: &Column, allow_int: bool) -> Result<Out, TransformError> {
    match &column.normalized_type {
        DataType::Int { .. } if allow_int => Ok(Out::Int),
        DataType::Float { .. } => Ok(Out::Float),
        DataType::Decimal { .. } => Ok(Out::Text),
        t if t.is_text() => Ok(Out::Text),
        t => Err(TransformError::not_for_type(
            o.kind,
            t,
            "use it on integer, decimal, float or text columns",
        )),
    }
}

struct IntRange {
    min: i64,
    max: i64,
    out: Out,
}

impl Kernel for IntRange {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let v = rng.between(self.min as i128, self.max as i128) as i64;
        Ok(match self.out {
            Out::Int => Value::Int(v),
            Out::Float => Value::Float(v as f64),
            Out::Text => Value::Text(v.to_string()),
        })
    }
}

pub(crate) fn build_int_range(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    let out = out_kind(o, column, true)?;
    let (Some(min), Some(max)) = (o.int("min")?, o.int("max")?) else {
        return Err(o.bad("min", "int_range needs both min and max (integers)"));
    };
    if min > max {
        return Err(o.bad("max", format!("{max} is below min {min}")));
    }
    if let DataType::Int { bytes, unsigned } = column.normalized_type {
        let (lo, hi) = int_range(bytes, unsigned);
        if (min as i128) < lo || (max as i128) > hi {
            return Err(o.bad(
                "max",
                format!("[{min}, {max}] does not fit {} ([{lo}, {hi}])", column.normalized_type),
            ));
        }
    }
    Ok(Box::new(IntRange { min, max, out }))
}

fn format_scaled(v: f64, scale: u32) -> String {
    format!("{:.*}", scale as usize, v)
}

struct DecimalRange {
    min: f64,
    max: f64,
    scale: u32,
    out: Out,
}

impl Kernel for DecimalRange {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let v = self.min + rng.unit() * (self.max - self.min);
        let p = 10f64.powi(self.scale as i32);
        let v = ((v * p).round() / p).clamp(self.min, self.max);
        Ok(match self.out {
            Out::Float => Value::Float(v),
            _ => Value::Text(format_scaled(v, self.scale)),
        })
    }
}

fn column_scale(column: &Column) -> Option<u32> {
    match column.normalized_type {
        DataType::Decimal { scale, .. } => Some(scale.unwrap_or(0)),
        _ => None,
    }
}

pub(crate) fn build_decimal_range(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    let out = out_kind(o, column, false)?;
    let (Some(min), Some(max)) = (o.float("min")?, o.float("max")?) else {
        return Err(o.bad("min", "decimal_range needs both min and max"));
    };
    if min > max {
        return Err(o.bad("max", format!("{max} is below min {min}")));
    }
    let scale = o.int_or("scale", column_scale(column).unwrap_or(2) as i64)?;
    if !(0..=18).contains(&scale) {
        return Err(o.bad("scale", "must be 0 to 18"));
    }
    if let Some(s) = column_scale(column) {
        if scale as u32 > s {
            return Err(o.bad("scale", format!("{scale} digits do not fit {}", column.normalized_type)));
        }
    }
    Ok(Box::new(DecimalRange {
        min,
        max,
        scale: scale as u32,
        out,
    }))
}

struct Noise {
    relative: f64,
    min: Option<f64>,
    max: Option<f64>,
    int_range: Option<(i128, i128)>,
    /// Digits kept after the point (the `scale` option: the decimal column's scale, 0 on
    /// an integer column); `None` (text and float columns) keeps the input's own.
    scale: Option<usize>,
    out: Out,
}

impl Noise {
    fn clamp(&self, v: f64) -> f64 {
        let v = self.min.map_or(v, |m| v.max(m));
        self.max.map_or(v, |m| v.min(m))
    }
}

impl Kernel for Noise {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let factor = 1.0 + (rng.unit() * 2.0 - 1.0) * self.relative;
        let (x, own_digits) = match input {
            Value::Int(_) | Value::UInt(_) => (as_i128(input).unwrap_or(0) as f64, Some(0)),
            Value::Float(f) => (*f, None),
            Value::Text(t) => {
                let Ok(x) = t.trim().parse::<f64>() else {
                    return Err(TransformError::bad_input("noise", input, "not a number"));
                };
                (x, Some(t.trim().split_once('.').map_or(0, |(_, f)| f.len())))
            }
            other => return Err(TransformError::bad_input("noise", other, "not a number")),
        };
        // The column's scale when it has one, not the digits the value was read with: a
        // key read as `1.5000` from a child column and `1.50` from its parent (or `1`
        // from SQLite) gets the parent's output.
        let digits = self.scale.or(own_digits);
        Ok(match self.out {
            Out::Int => {
                let mut v = self.clamp((x * factor).round()) as i128;
                if let Some((lo, hi)) = self.int_range {
                    v = v.clamp(lo, hi);
                }
                int_value(v)
            }
            Out::Float => {
                let v = self.clamp(x * factor);
                Value::Float(match self.scale {
                    Some(d) => {
                        let p = 10f64.powi(d as i32);
                        (v * p).round() / p
                    }
                    None => v,
                })
            }
            Out::Text => {
                let v = self.clamp(x * factor);
                match digits {
                    Some(d) => Value::Text(format!("{:.*}", d, v)),
                    None => Value::Text(v.to_string()),
                }
            }
        })
    }
}

pub(crate) fn build_noise(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    let out = out_kind(o, column, true)?;
    let relative = o.float("relative")?.unwrap_or(0.1);
    o.record("relative", relative);
    if !(relative > 0.0 && relative <= 10.0) {
        return Err(o.bad(
            "relative",
            "must be above 0 and at most 10 (0.1 = up to 10% either way)",
        ));
    }
    let min = o.float("min")?;
    let max = o.float("max")?;
    let int_range = match column.normalized_type {
        DataType::Int { bytes, unsigned } => Some(int_range(bytes, unsigned)),
        _ => None,
    };
    // The output's digits after the point are part of the function: a child key of
    // another scale (decimal(12,4) referencing decimal(10,2), a decimal referencing an
    // integer) inherits the parent's and computes the parent's values.
    let column_scale = match column.normalized_type {
        DataType::Int { .. } => Some(0),
        DataType::Decimal {
            precision: Some(_),
            scale,
        } => Some(scale.unwrap_or(0)),
        // Unbounded `numeric`: no scale of its own (see `resolve` for its children).
        DataType::Decimal { scale, .. } => scale,
        _ => None,
    };
    let scale = match o.int("scale")? {
        Some(s) if !(0..=30).contains(&s) => return Err(o.bad("scale", "must be 0 to 30")),
        Some(s) => {
            if column_scale.is_some_and(|c| s as u32 > c) {
                return Err(o.bad(
                    "scale",
                    format!("{s} digits after the point do not fit {}", column.normalized_type),
                ));
            }
            Some(s as usize)
        }
        None => {
            if let Some(c) = column_scale {
                o.record("scale", c as i64);
            }
            column_scale.map(|c| c as usize)
        }
    };
    Ok(Box::new(Noise {
        relative,
        min,
        max,
        int_range,
        scale,
        out,
    }))
}
