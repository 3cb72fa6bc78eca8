//! Which existing rows the new rows of a REPLACE or ON DUPLICATE KEY UPDATE clash with
//! on the primary key or a unique key, decided only where a `WHERE` compares a value as
//! the unique index does; otherwise only InnoDB knows ([`Undecided`]).

use sqlparser::ast::{Expr, UnaryOperator, Value};
use tether_schema::{DataType, Table};

use crate::plan::Clash;
use crate::sql::row_of;

use super::expr::is_default;
use super::{eq_ci, Planner, ValuesRow};

/// The existing rows one unique index finds for the new rows of an INSERT.
pub(super) struct KeyClash {
    /// The index's name (`PRIMARY` for the primary key).
    pub(super) index: String,
    /// Its columns as a row constructor.
    pub(super) row: String,
    /// The new rows' values for it, as `IN` list items.
    pub(super) tuples: Vec<String>,
}

impl KeyClash {
    pub(super) fn condition(&self) -> String {
        format!("{} IN ({})", self.row, self.tuples.join(", "))
    }
}

/// A new row's value could be stored other than a `WHERE` compares it: which
/// existing row it clashes with is InnoDB's to find.
pub(super) struct Undecided;

/// What a new row stores in one key column.
pub(super) enum KeyPart {
    /// This literal.
    Value(String),
    /// NULL, or a new auto-increment value: the key clashes with no row.
    Never,
    /// Only the server knows.
    Unknown,
}

/// A constant as the planner tells its kind.
pub(super) enum Literal {
    Null,
    /// An integer number, as written (with its sign).
    Integer(String),
    /// A quoted string, its value.
    Text(String),
    /// A decimal number with a fraction (`12.50`, `-0.5`), as written.
    Decimal(String),
    /// `X'..'` or `_binary X'..'`: these bytes.
    Hex(Vec<u8>),
    Placeholder,
    Other,
}

impl Literal {
    pub(super) fn of(e: &Expr) -> Literal {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Null => Literal::Null,
                Value::Number(n, _) if is_integer(n) => Literal::Integer(n.clone()),
                Value::Number(n, _) if is_decimal(n) => Literal::Decimal(n.clone()),
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Literal::Text(s.clone()),
                Value::HexStringLiteral(h) => hex_bytes(h).map_or(Literal::Other, Literal::Hex),
                Value::Placeholder(_) => Literal::Placeholder,
                _ => Literal::Other,
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match Literal::of(expr) {
                Literal::Integer(n) if !n.starts_with('-') => Literal::Integer(format!("-{n}")),
                Literal::Decimal(n) if !n.starts_with('-') => Literal::Decimal(format!("-{n}")),
                _ => Literal::Other,
            },
            // `_utf8mb4 X'..'`, as the gateway itself writes the rows of a SELECT
            // (materialized): a string of that character set.
            Expr::Prefixed { prefix, value } => match (introduced(&prefix.value), value.as_ref()) {
                (Some(charset), Expr::Value(v)) => match &v.value {
                    Value::HexStringLiteral(h) => hex_bytes(h).map_or(Literal::Other, |b| charset.literal(b)),
                    _ => Literal::Other,
                },
                _ => Literal::Other,
            },
            _ => Literal::Other,
        }
    }

    /// A column default as the schema spells it: `NULL`, a number, a quoted string.
    pub(super) fn of_default(d: &str) -> Literal {
        let t = d.trim();
        if t.eq_ignore_ascii_case("null") {
            Literal::Null
        } else if is_integer(t) {
            Literal::Integer(t.to_string())
        } else if t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'') {
            Literal::Text(t[1..t.len() - 1].replace("''", "'"))
        } else {
            Literal::Other
        }
    }
}

/// A character set introducer the planner reads the bytes of.
#[derive(Clone, Copy)]
enum Introducer {
    Utf8,
    Latin1,
    Binary,
}

fn introduced(prefix: &str) -> Option<Introducer> {
    match prefix.to_ascii_lowercase().as_str() {
        "_utf8mb4" | "_utf8mb3" | "_utf8" => Some(Introducer::Utf8),
        "_latin1" | "_ascii" => Some(Introducer::Latin1),
        "_binary" => Some(Introducer::Binary),
        _ => None,
    }
}

impl Introducer {
    /// The literal `bytes` of this character set are: the string they spell, or
    /// [`Literal::Other`] when they spell none (bytes invalid in UTF-8, ASCII
    /// beyond 0x7F).
    fn literal(self, bytes: Vec<u8>) -> Literal {
        match self {
            Introducer::Utf8 => String::from_utf8(bytes).map_or(Literal::Other, Literal::Text),
            Introducer::Latin1 if bytes.is_ascii() => Literal::Text(bytes.into_iter().map(char::from).collect()),
            Introducer::Latin1 => Literal::Other,
            Introducer::Binary => Literal::Hex(bytes),
        }
    }
}

/// The bytes of hex digits `h` (an even number of them).
fn hex_bytes(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

/// `12.50`, `-0.5`: digits, a point, digits, maybe a minus sign (no exponent).
fn is_decimal(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    match digits.split_once('.') {
        Some((whole, fraction)) => {
            !(whole.is_empty() && fraction.is_empty())
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Whether number `n` (integer or decimal, as written) has a DECIMAL(p, s)
/// column's value exactly: no more fraction digits than `s` (else it is
/// rounded), no more whole digits than `p - s` (else out of range).
fn fits_decimal(n: &str, precision: Option<u32>, scale: Option<u32>) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let (p, s) = (precision.unwrap_or(10) as usize, scale.unwrap_or(0) as usize);
    let whole = whole.trim_start_matches('0');
    fraction.len() <= s && whole.len() <= p.saturating_sub(s)
}

/// The fractional-second digits of a `datetime(n)` / `time(n)` column (0 without).
fn fsp(engine_type: &str) -> usize {
    engine_type
        .split_once('(')
        .and_then(|(_, r)| r.trim_end_matches(')').trim().parse().ok())
        .unwrap_or(0)
}

/// Whether `t` is a DATE as MariaDB writes it (`2024-02-29`, or the zero date):
/// stored and compared as the same day.
fn is_canonical_date(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        t.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?
            .parse::<u32>()
            .ok()
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if (y, m, d) == (0, 0, 0) {
        return true;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1 && (1..=days).contains(&d)
}

/// Whether `t` is a DATETIME as MariaDB writes it (`2024-02-29 13:05:00`, with at
/// most `fsp` fraction digits): stored and compared as the same instant.
fn is_canonical_datetime(t: &str, fsp: usize) -> bool {
    let Some((date, time)) = t.split_once(' ') else {
        return false;
    };
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let b = hms.as_bytes();
    let num = |r: std::ops::Range<usize>| {
        hms.get(r)
            .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?
            .parse::<u32>()
            .ok()
    };
    let clock = b.len() == 8
        && b[2] == b':'
        && b[5] == b':'
        && matches!((num(0..2), num(3..5), num(6..8)), (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60);
    is_canonical_date(date)
        && clock
        && fraction.len() <= fsp
        && (fraction.is_empty() || time.contains('.') && fraction.bytes().all(|c| c.is_ascii_digit()))
}

/// Whether integer `n` is within the range of an integer column of type `t`
/// (other types: true).
pub(super) fn fits(n: &str, t: &DataType) -> bool {
    let (bytes, unsigned) = match t {
        DataType::Int { bytes, unsigned } => (u32::from(*bytes).clamp(1, 8), *unsigned),
        DataType::Boolean => (1, false),
        _ => return true,
    };
    let Ok(v) = n.parse::<i128>() else {
        return false;
    };
    let bits = 8 * bytes;
    let (min, max) = if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    };
    (min..=max).contains(&v)
}

/// `-12`, `12`: digits, maybe a minus sign.
pub(super) fn is_integer(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

impl<'a> Planner<'a> {
    /// The primary key and unique keys of `table`, each with the name InnoDB gives
    /// its index.
    pub(super) fn unique_indexes(table: &Table) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        if !table.primary_key.is_empty() {
            out.push(("PRIMARY".to_string(), table.primary_key.clone()));
        }
        out.extend(table.unique_keys.iter().map(|u| (u.name.clone(), u.columns.clone())));
        out
    }

    /// The existing rows the new rows clash with on the primary key or a unique
    /// key: per key, the new rows' values as the `IN` list items of that key;
    /// `Err` when a value is one the server might store differently from how a
    /// `WHERE` compares it (see [`Planner::key_value`]): only InnoDB knows then.
    pub(super) fn clashes(
        &self,
        table: &Table,
        columns: &[String],
        rows: &[ValuesRow],
    ) -> Result<Vec<KeyClash>, Undecided> {
        let mut out = Vec::new();
        for (name, key) in Self::unique_indexes(table) {
            let mut tuples = Vec::new();
            for row in rows {
                let mut tuple = Vec::new();
                let mut never = false;
                let mut unknown = false;
                for k in &key {
                    let value = match columns.iter().position(|c| eq_ci(c, k)) {
                        Some(p) => match row.content.get(p) {
                            Some(e) => self.key_value(table, k, Some(e)),
                            None => KeyPart::Unknown,
                        },
                        None => self.key_value(table, k, None),
                    };
                    match value {
                        KeyPart::Value(v) => tuple.push(v),
                        KeyPart::Never => never = true,
                        KeyPart::Unknown => unknown = true,
                    }
                }
                if never {
                    // A NULL or a new auto-increment value clashes with no row.
                    continue;
                }
                if unknown {
                    return Err(Undecided);
                }
                tuples.push(if tuple.len() == 1 {
                    tuple.remove(0)
                } else {
                    format!("({})", tuple.join(", "))
                });
            }
            if !tuples.is_empty() {
                out.push(KeyClash {
                    index: name,
                    row: row_of(&key),
                    tuples,
                });
            }
        }
        Ok(out)
    }

    /// What a new row stores in key column `column` of `table`, from its `VALUES`
    /// expression (`None`: the column is not named), as an SQL literal a `WHERE`
    /// compares exactly as the unique index does: integers into integer columns,
    /// strings no longer than the column into CHAR / VARCHAR columns (the index and
    /// the `WHERE` share the column's collation). Anything the server would convert
    /// (a number into a text column, 2.5 into an integer, a string it would
    /// truncate, an expression) is [`KeyPart::Unknown`].
    pub(super) fn key_value(&self, table: &Table, column: &str, e: Option<&Expr>) -> KeyPart {
        let Some(c) = table.columns.iter().find(|x| eq_ci(&x.name, column)) else {
            return KeyPart::Unknown;
        };
        if c.generated.is_some() {
            return KeyPart::Unknown;
        }
        let (literal, text) = match e.filter(|e| !is_default(e)) {
            Some(e) => (Literal::of(e), self.source.expr_text(e)),
            // The next auto-increment value is a new one.
            None if c.identity.is_some() => return KeyPart::Never,
            None => match &c.default {
                Some(d) => (Literal::of_default(d), d.clone()),
                None if c.nullable => return KeyPart::Never,
                None => return KeyPart::Unknown,
            },
        };
        match (literal, &c.normalized_type) {
            // NULL into a NOT NULL column: an error in strict mode, the implicit
            // default (which may clash) otherwise.
            (Literal::Null, _) if !c.nullable && c.identity.is_none() => KeyPart::Unknown,
            (Literal::Null, _) => KeyPart::Never,
            // A prepared statement is planned again with its parameters inlined.
            (Literal::Placeholder, _) => KeyPart::Value(text),
            // 0 into an auto-increment column: a new value, or 0 itself under
            // NO_AUTO_VALUE_ON_ZERO.
            (Literal::Integer(n), DataType::Int { .. } | DataType::Boolean)
                if c.identity.is_some() && n.trim_start_matches(['-', '0']).is_empty() =>
            {
                KeyPart::Unknown
            }
            // Out of the column's range: an error in strict mode, the nearest value
            // (which may clash) otherwise.
            (Literal::Integer(n), t) if !fits(&n, t) => KeyPart::Unknown,
            (Literal::Integer(n), DataType::Int { .. } | DataType::Boolean) => KeyPart::Value(n),
            (Literal::Text(t), ty @ (DataType::Int { .. } | DataType::Boolean))
                if is_integer(&t) && fits(&t, ty) && c.identity.is_none() =>
            {
                KeyPart::Value(text)
            }
            (Literal::Integer(n) | Literal::Decimal(n), DataType::Decimal { precision, scale })
                if fits_decimal(&n, *precision, *scale) =>
            {
                KeyPart::Value(text)
            }
            (Literal::Text(t), DataType::Char { length: Some(n) } | DataType::Varchar { length: Some(n) })
                if t.chars().count() <= *n as usize =>
            {
                KeyPart::Value(text)
            }
            // Bytes into BINARY(n) (padded with zero bytes: exactly n compare equal)
            // or VARBINARY(n) (up to n).
            (Literal::Hex(b), DataType::Binary { length: Some(n) })
                if b.len() == *n as usize
                    || (b.len() < *n as usize && c.engine_type.to_ascii_lowercase().starts_with("varbinary")) =>
            {
                KeyPart::Value(text)
            }
            (Literal::Text(t), DataType::Date) if is_canonical_date(&t) => KeyPart::Value(text),
            // DATETIME only: a TIMESTAMP is stored in UTC, through the session's time zone.
            (Literal::Text(t), DataType::Timestamp { tz: false })
                if c.engine_type.to_ascii_lowercase().starts_with("datetime")
                    && is_canonical_datetime(&t, fsp(&c.engine_type)) =>
            {
                KeyPart::Value(text)
            }
            _ => KeyPart::Unknown,
        }
    }

    /// The [`Clash`] of a statement writing `table`; `flags` as the read has them.
    /// `None` when there is nothing to pick and nothing to check: no flags, and
    /// integer columns only (no prefix, hash or collation to compare otherwise).
    pub(super) fn clash(&self, table: &Table, flags: Vec<String>) -> Option<Clash> {
        let indexes = Self::unique_indexes(table);
        let integers = indexes.iter().flat_map(|(_, columns)| columns).all(|c| {
            table
                .columns
                .iter()
                .find(|x| eq_ci(&x.name, c))
                .is_some_and(|x| matches!(x.normalized_type, DataType::Int { .. } | DataType::Boolean))
        });
        if flags.is_empty() && integers {
            return None;
        }
        Some(Clash {
            indexes: indexes.into_iter().map(|(n, _)| n).collect(),
            flags,
        })
    }
}
