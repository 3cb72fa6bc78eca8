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
    Placeholder,
    Other,
}

impl Literal {
    pub(super) fn of(e: &Expr) -> Literal {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Null => Literal::Null,
                Value::Number(n, _) if is_integer(n) => Literal::Integer(n.clone()),
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Literal::Text(s.clone()),
                Value::Placeholder(_) => Literal::Placeholder,
                _ => Literal::Other,
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match Literal::of(expr) {
                Literal::Integer(n) if !n.starts_with('-') => Literal::Integer(format!("-{n}")),
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
            (Literal::Text(t), DataType::Char { length: Some(n) } | DataType::Varchar { length: Some(n) })
                if t.chars().count() <= *n as usize =>
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
