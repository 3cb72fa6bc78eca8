//! The value an inherited `js` transformer is given. A function of the value alone set
//! on a key is computed again on each FK child (`same function`), so the child must
//! hand it its value as the parent's column reads the key it references. Built-in
//! kinds key their draw on the canonical form ([`crate::canonical`]); a `js` function
//! sees the value itself (`String(v)`, `typeof v`), so where the two columns' types
//! read one value otherwise the child's value is presented as the root column's type
//! reads it. A parent or a column the function was set on gets its value as read.
//!
//! PostgreSQL reads `numeric(10,2)` 2 as `'2.00'` and `int4` 2 as the number 2; `date`
//! as `'2024-01-02'` and `timestamp` as `'2024-01-02 00:00:00'`. Pairs whose root
//! spelling cannot be rebuilt from the child's value alone (a `numeric` key without a
//! scale, zoned timestamps, a MariaDB `datetime(n)` key) are refused by the plan.

use std::borrow::Cow;

use tether_schema::{DataType, Engine, Value};

use crate::canonical::canonical_value;
use crate::{RowView, TransformError, Transformer};

/// How an inheriting column's value is handed to the root's `js` function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsInput {
    /// As read: both columns read one value alike (or the sync gives the child its
    /// parent's spelling first).
    AsRead,
    /// A decimal as the number an integer or float key reads (`'2.00'` -> 2).
    Number,
    /// A number as a decimal key of `scale` digits reads it (2 -> `'2.00'`).
    Scaled(u32),
    /// A midnight timestamp as the date key reads it (`'2024-01-02 00:00:00'` ->
    /// `'2024-01-02'`).
    DateOf,
    /// A date as a PostgreSQL `timestamp` key reads its midnight (`'2024-01-02'` ->
    /// `'2024-01-02 00:00:00'`).
    Midnight,
}

/// How a column of type `child`, read from `engine`, hands its values to a `js`
/// function set on a column of type `root`; `Err` says why the two cannot be made to
/// read alike.
pub fn js_input(engine: Engine, root: &DataType, child: &DataType) -> Result<JsInput, String> {
    use DataType as T;
    // SQLite keeps each value as written: a child referencing its parent holds it as the
    // parent does, whatever the declared types.
    if engine == Engine::Sqlite || root == child {
        return Ok(JsInput::AsRead);
    }
    let numeric = |t: &DataType| matches!(t, T::Int { .. } | T::Float { .. });
    Ok(match (root, child) {
        (T::Decimal { scale: Some(s), .. }, c) if numeric(c) => JsInput::Scaled(*s),
        (T::Decimal { scale: None, .. }, c) if numeric(c) => {
            return Err(
                "a decimal key without a declared scale reads each value with the digits it was written \
                 with, which the child's value does not carry"
                    .into(),
            )
        }
        (r, T::Decimal { .. }) if numeric(r) => JsInput::Number,
        (T::Date, T::Timestamp { tz: false }) => JsInput::DateOf,
        (T::Timestamp { tz: false }, T::Date) if engine == Engine::Postgres => JsInput::Midnight,
        (T::Timestamp { .. }, T::Date)
        | (T::Date, T::Timestamp { .. })
        | (T::Timestamp { .. }, T::Timestamp { .. }) => {
            return Err(
                "the key's spelling (its time zone or fraction digits) cannot be made from the child's \
                 value"
                    .into(),
            )
        }
        _ => JsInput::AsRead,
    })
}

impl JsInput {
    /// `value` as the root column would read it (unchanged where it does not apply).
    pub fn prepare<'a>(&self, value: &'a Value) -> Cow<'a, Value> {
        let owned = match (self, value) {
            (JsInput::Scaled(s), Value::Int(i)) => Some(scaled(&i.to_string(), *s)),
            (JsInput::Scaled(s), Value::UInt(u)) => Some(scaled(&u.to_string(), *s)),
            (JsInput::Scaled(s), Value::Float(f)) if f.is_finite() => {
                Some(Value::Text(format!("{f:.prec$}", prec = *s as usize)))
            }
            (JsInput::Number, Value::Text(_)) => match canonical_value(
                value,
                &DataType::Decimal {
                    precision: None,
                    scale: None,
                },
            ) {
                Value::Int(i) => Some(Value::Int(i)),
                Value::Text(t) => t.parse::<f64>().ok().map(Value::Float),
                _ => None,
            },
            (JsInput::DateOf, Value::Text(_)) => match canonical_value(value, &DataType::Date) {
                Value::Text(t) if t.len() == 10 => Some(Value::Text(t)),
                _ => None,
            },
            (JsInput::Midnight, Value::Text(t)) if t.len() == 10 => Some(Value::Text(format!("{t} 00:00:00"))),
            _ => None,
        };
        owned.map_or(Cow::Borrowed(value), Cow::Owned)
    }
}

/// An integer's digits with `scale` zero decimals.
fn scaled(digits: &str, scale: u32) -> Value {
    if scale == 0 {
        Value::Text(digits.to_string())
    } else {
        Value::Text(format!("{digits}.{}", "0".repeat(scale as usize)))
    }
}

/// A transformer given its input as [`JsInput::prepare`] makes it.
pub struct AsRootInput {
    inner: Box<dyn Transformer>,
    input: JsInput,
}

impl AsRootInput {
    /// `inner` reading its values through `input`; `inner` itself when `input` changes nothing.
    pub fn wrap(inner: Box<dyn Transformer>, input: JsInput) -> Box<dyn Transformer> {
        if input == JsInput::AsRead {
            inner
        } else {
            Box::new(AsRootInput { inner, input })
        }
    }
}

impl Transformer for AsRootInput {
    fn apply(&self, value: &Value, row: &RowView<'_>) -> Result<Value, TransformError> {
        self.inner.apply(&self.input.prepare(value), row)
    }
    fn deterministic(&self) -> bool {
        self.inner.deterministic()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn injective(&self) -> bool {
        self.inner.injective()
    }
    fn key_map_reason(&self) -> Option<&'static str> {
        self.inner.key_map_reason()
    }
    fn same_on_every_row(&self) -> Option<&Value> {
        self.inner.same_on_every_row()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_read_as_their_root() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(*JsInput::Scaled(2).prepare(&Value::Int(2)), t("2.00"));
        assert_eq!(*JsInput::Scaled(0).prepare(&Value::Int(-7)), t("-7"));
        assert_eq!(*JsInput::Number.prepare(&t("2.00")), Value::Int(2));
        assert_eq!(*JsInput::Number.prepare(&t("2.50")), Value::Float(2.5));
        assert_eq!(*JsInput::DateOf.prepare(&t("2024-01-02 00:00:00")), t("2024-01-02"));
        assert_eq!(
            *JsInput::DateOf.prepare(&t("2024-01-02 10:00:00")),
            t("2024-01-02 10:00:00")
        );
        assert_eq!(*JsInput::Midnight.prepare(&t("2024-01-02")), t("2024-01-02 00:00:00"));
    }
}
