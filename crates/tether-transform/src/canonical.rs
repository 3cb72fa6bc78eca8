//! Canonical forms of values, by column type: what a keyed transformer's draw is made
//! from (and what `percent` subsets hash), so that equal values give equal outputs
//! whatever column type or engine they were read from.
//!
//! Engines spell one value differently: PostgreSQL `numeric(10,2)` reads `1.50`, MariaDB
//! `decimal(12,4)` `1.5000`, SQLite `NUMERIC` the integer `1` or the real `0.25`;
//! PostgreSQL `char(10)` reads `'abc       '` (blank-padded), MariaDB `'abc'`; a `date`
//! reads `2024-01-01`, a `timestamp` at midnight `2024-01-01 00:00:00`, a `datetime(3)`
//! `2024-01-01 10:00:00.000`. A parent key and a child key of two such types are equal
//! for the foreign key, so they must key the same draw. The canonical form:
//!
//! - numbers (integer, decimal and float columns): an integral value is `Int` (or `UInt`
//!   past `i64`), any other the shortest decimal text (`1.5`, `-0.25`): no leading or
//!   trailing zeros, no `+`;
//! - dates and timestamps: `YYYY-MM-DD` when the time is midnight with no fraction (a
//!   date and the midnight timestamp agree), else `YYYY-MM-DD HH:MM:SS[.fraction]` with
//!   a space, the fraction's trailing zeros removed, any zone suffix kept;
//! - `char(n)`: the trailing blanks removed (PostgreSQL compares `char(n)` so);
//! - UUIDs: lowercase hyphenated text (also from 16 bytes);
//! - anything else, and a value that does not parse as its type: as read.
//!
//! An FK child inheriting its parent's transformer is made canonical by the type of the
//! column the transformer was set on ([`crate::build_keyed_as`]), not its own: a
//! `varchar` child given a PostgreSQL `char(6)` parent's spelling `'ab    '` drops the
//! padding as the parent does, and a SQLite `char(6)` child holding its `varchar`
//! parent's `'ab  '` keeps it.
//!
//! Text is keyed by its exact characters: under a case-insensitive or PAD SPACE
//! collation (MariaDB's defaults, citext), where `'ABC'` references `'abc'`, the sync
//! gives such a child its parent's spelling before the transformer runs.

use std::borrow::Cow;

use tether_schema::{DataType, Value};

use crate::fit::is_date;

/// How values of one column type are made canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Canon {
    /// As read.
    Plain,
    /// `char(n)`: trailing blanks removed.
    Char,
    /// Integer, decimal and float columns.
    Number,
    /// Dates and timestamps.
    Instant,
    Uuid,
}

impl Canon {
    pub(crate) fn of(ty: &DataType) -> Canon {
        match ty {
            DataType::Char { .. } => Canon::Char,
            DataType::Int { .. } | DataType::Decimal { .. } | DataType::Float { .. } => Canon::Number,
            DataType::Date | DataType::Timestamp { .. } => Canon::Instant,
            DataType::Uuid => Canon::Uuid,
            _ => Canon::Plain,
        }
    }

    /// The value a transformer reads: the representation of the column's type kept
    /// (a date stays a date, a decimal keeps its digits), only what is not part of the
    /// value removed (the blank padding of `char(n)`, the case of a UUID).
    pub(crate) fn input<'a>(&self, value: &'a Value) -> Cow<'a, Value> {
        match (self, value) {
            (Canon::Char, Value::Text(t)) if t.ends_with(' ') => {
                Cow::Owned(Value::Text(t.trim_end_matches(' ').into()))
            }
            (Canon::Uuid, Value::Text(t)) if t.bytes().any(|b| b.is_ascii_uppercase()) => {
                Cow::Owned(Value::Text(t.to_ascii_lowercase()))
            }
            _ => Cow::Borrowed(value),
        }
    }

    /// The canonical form of `value`: what keys the draw.
    pub(crate) fn key<'a>(&self, value: &'a Value) -> Cow<'a, Value> {
        let owned = match (self, value) {
            (Canon::Plain, _) | (_, Value::Null) => None,
            (Canon::Uuid, Value::Bytes(b)) if b.len() == 16 => Some(Value::Text(uuid_text(b))),
            (Canon::Char | Canon::Uuid, _) => return self.input(value),
            (Canon::Number, v) => number(v),
            (Canon::Instant, Value::Text(t)) => instant(t).map(Value::Text),
            (Canon::Instant, _) => None,
        };
        owned.map_or(Cow::Borrowed(value), Cow::Owned)
    }
}

/// The canonical form of `value` read from a column of type `ty` (see the module
/// documentation): equal values of compatible types, from any engine, have equal
/// canonical forms. `percent` subsets hash it.
pub fn canonical_value(value: &Value, ty: &DataType) -> Value {
    Canon::of(ty).key(value).into_owned()
}

fn uuid_text(b: &[u8]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

/// An integral number as `Int`/`UInt`, any other as its shortest decimal text; `None`
/// when `v` is not a number (kept as read).
fn number(v: &Value) -> Option<Value> {
    match v {
        Value::Int(_) => None,
        Value::UInt(u) => Some(match i64::try_from(*u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(*u),
        }),
        Value::Float(f) if !f.is_finite() => None,
        // Rust prints floats without an exponent, shortest round-trip digits.
        Value::Float(f) => decimal_text(&f.to_string()),
        Value::Text(t) => decimal_text(t.trim()),
        Value::Bool(b) => Some(Value::Int(*b as i64)),
        _ => None,
    }
}

/// `[+-]digits[.digits]` made canonical (see [`number`]); `None` if `t` is not that.
fn decimal_text(t: &str) -> Option<Value> {
    let (negative, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        if int.is_empty() {
            return Some(Value::Int(0));
        }
        let magnitude: Option<i128> = int.parse().ok();
        return Some(match magnitude {
            Some(m) => {
                let signed = if negative { -m } else { m };
                if let Ok(i) = i64::try_from(signed) {
                    Value::Int(i)
                } else if let Ok(u) = u64::try_from(signed) {
                    Value::UInt(u)
                } else {
                    Value::Text(format!("{}{int}", if negative { "-" } else { "" }))
                }
            }
            None => Value::Text(format!("{}{int}", if negative { "-" } else { "" })),
        });
    }
    let int = if int.is_empty() { "0" } else { int };
    Some(Value::Text(format!("{}{int}.{frac}", if negative { "-" } else { "" })))
}

/// A date or timestamp made canonical (see the module documentation); `None` if `t` is
/// not `YYYY-MM-DD[( |T)HH:MM:SS[.fraction]][rest]` (MariaDB's zero dates included: kept).
fn instant(t: &str) -> Option<String> {
    if !is_date(t) || t.starts_with("0000-00-00") {
        return None;
    }
    let b = t.as_bytes();
    let date = &t[..10];
    if b.len() == 10 {
        return None;
    }
    let timed = b.len() >= 19
        && (b[10] == b' ' || b[10] == b'T')
        && b[13] == b':'
        && b[16] == b':'
        && [11, 12, 14, 15, 17, 18].iter().all(|&i| b[i].is_ascii_digit());
    if !timed {
        return None;
    }
    let time = &t[11..19];
    let mut rest = &t[19..];
    let mut fraction = "";
    if let Some(f) = rest.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        fraction = f[..digits].trim_end_matches('0');
        rest = &f[digits..];
    }
    if time == "00:00:00" && fraction.is_empty() && rest.is_empty() {
        return Some(date.to_string());
    }
    let mut out = format!("{date} {time}");
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: Canon, v: Value) -> Value {
        c.key(&v).into_owned()
    }

    #[test]
    fn equal_numbers_of_any_spelling_are_one_key() {
        let n = Canon::Number;
        for v in [
            Value::Text("1.50".into()),
            Value::Text("1.5000".into()),
            Value::Text("+01.5".into()),
            Value::Float(1.5),
        ] {
            assert_eq!(key(n, v), Value::Text("1.5".into()));
        }
        for v in [
            Value::Text("3.00".into()),
            Value::Text("3".into()),
            Value::Float(3.0),
            Value::Int(3),
            Value::UInt(3),
        ] {
            assert_eq!(key(n, v), Value::Int(3));
        }
        assert_eq!(key(n, Value::Text("-0.00".into())), Value::Int(0));
        assert_eq!(key(n, Value::Text("-0.250".into())), Value::Text("-0.25".into()));
        assert_eq!(
            key(n, Value::Text("0.250000000000000000000000000000".into())),
            Value::Text("0.25".into())
        );
        assert_eq!(
            key(n, Value::Text("18446744073709551615.000".into())),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            key(n, Value::Text("123456789012345678901234567890".into())),
            Value::Text("123456789012345678901234567890".into())
        );
        assert_eq!(key(n, Value::Text("NaN".into())), Value::Text("NaN".into()));
    }

    #[test]
    fn equal_instants_of_any_spelling_are_one_key() {
        let c = Canon::Instant;
        for s in [
            "2024-01-01",
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00.000",
        ] {
            assert_eq!(key(c, Value::Text(s.into())), Value::Text("2024-01-01".into()), "{s}");
        }
        for s in ["2024-01-01 10:00:00", "2024-01-01 10:00:00.000", "2024-01-01T10:00:00"] {
            assert_eq!(
                key(c, Value::Text(s.into())),
                Value::Text("2024-01-01 10:00:00".into()),
                "{s}"
            );
        }
        for s in ["2023-12-31 23:59:59.5", "2023-12-31 23:59:59.500000"] {
            assert_eq!(
                key(c, Value::Text(s.into())),
                Value::Text("2023-12-31 23:59:59.5".into())
            );
        }
        assert_eq!(
            key(c, Value::Text("0000-00-00 00:00:00".into())),
            Value::Text("0000-00-00 00:00:00".into())
        );
        assert_eq!(
            key(c, Value::Text("2024-01-01Z".into())),
            Value::Text("2024-01-01Z".into())
        );
    }

    #[test]
    fn char_padding_and_uuid_case_are_not_part_of_the_value() {
        assert_eq!(
            key(Canon::Char, Value::Text("abc       ".into())),
            Value::Text("abc".into())
        );
        assert_eq!(
            key(Canon::Plain, Value::Text("abc  ".into())),
            Value::Text("abc  ".into())
        );
        let lower = Value::Text("0e0f1a2b-0000-4000-8000-00000000abcd".into());
        assert_eq!(
            key(Canon::Uuid, Value::Text("0E0F1A2B-0000-4000-8000-00000000ABCD".into())),
            lower
        );
        let bytes = vec![0x0e, 0x0f, 0x1a, 0x2b, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0xab, 0xcd];
        assert_eq!(key(Canon::Uuid, Value::Bytes(bytes)), lower);
    }
}
