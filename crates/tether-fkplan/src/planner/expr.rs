//! Expression and statement helpers: volatile functions, substitution of assigned
//! columns and `VALUES(col)`, statements that must run once, auto-increment
//! allocation, and column defaults as SQL literals.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Value};
use tether_schema::Table;

use super::{eq_ci, ValuesRow};

/// Functions whose value changes between two evaluations (the lock read and the
/// statement itself), or that change something when they run (user locks).
const VOLATILE: &[&str] = &[
    "rand",
    "uuid",
    "uuid_short",
    "sys_guid",
    "sysdate",
    "now",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "unix_timestamp",
    "utc_timestamp",
    "utc_date",
    "utc_time",
    "curdate",
    "current_date",
    "curtime",
    "current_time",
    "last_insert_id",
    "row_count",
    "found_rows",
    "nextval",
    "lastval",
    "setval",
    "get_lock",
    "release_lock",
    "release_all_locks",
    "is_free_lock",
    "is_used_lock",
    "sleep",
    "benchmark",
];

/// True when `e` calls a function whose value changes between two evaluations
/// (the lock read and the statement itself).
pub(super) fn volatile(e: &Expr) -> bool {
    found_volatile(e) || e.to_string().contains('@') || e.to_string().to_ascii_lowercase().contains("next value for")
}

/// [`VOLATILE`] functions (or keywords) called anywhere in `e`, subqueries too.
fn found_volatile(e: &Expr) -> bool {
    let mut found = false;
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        match x {
            Expr::Function(f) => {
                let name = f.name.to_string().to_ascii_lowercase();
                if VOLATILE.contains(&name.as_str()) {
                    found = true;
                }
            }
            Expr::Identifier(i) if VOLATILE.contains(&i.value.to_ascii_lowercase().as_str()) => found = true,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// True when the rows condition `e` picks may differ between two evaluations
/// (the lock read and the statement), or its evaluation has effects of its own:
/// a [`VOLATILE`] function (RAND(), NOW(), GET_LOCK(), ...), a user variable
/// (`@n := @n + 1`), a sequence. A string holding `@` does not count (unlike
/// [`volatile`], which is conservative).
pub(super) fn volatile_condition(e: &Expr) -> bool {
    let mut found = found_volatile(e);
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        match x {
            Expr::Identifier(i) if i.quote_style.is_none() && i.value.starts_with('@') => found = true,
            Expr::CompoundIdentifier(parts)
                if parts
                    .first()
                    .is_some_and(|i| i.quote_style.is_none() && i.value.starts_with('@')) =>
            {
                found = true
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let text = e.to_string().to_ascii_lowercase();
    found || text.contains("next value for") || text.contains("previous value for")
}

/// The tables read by the subqueries of `e` (their last name part).
pub(super) fn tables_read(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    let _ = sqlparser::ast::visit_relations(e, |name| {
        if let Some(sqlparser::ast::ObjectNamePart::Identifier(i)) = name.0.last() {
            out.push(i.value.clone());
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// Whether assignments `assigned` change a column of `referenced` (`None`: none),
/// and if so whether one such new value is [`volatile`] (`Some(true)`): the lock read
/// and the statement would compute different new keys.
pub(super) fn rekeying<S: AsRef<str>>(assigned: &[(String, &Expr)], referenced: &BTreeSet<S>) -> Option<bool> {
    let is_key = |c: &str| referenced.iter().any(|r| eq_ci(r.as_ref(), c));
    assigned
        .iter()
        .any(|(c, _)| is_key(c))
        .then(|| assigned.iter().any(|(c, e)| is_key(c) && volatile(e)))
}

pub(super) fn column_ref(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        _ => None,
    }
}

pub(super) fn substitute(e: &mut Expr, by: &[(String, Expr)]) {
    let _ = sqlparser::ast::visit_expressions_mut(e, |x| {
        if let Some(name) = column_ref(x) {
            if let Some((_, replacement)) = by.iter().rev().find(|(c, _)| eq_ci(c, &name)) {
                *x = Expr::Nested(Box::new(replacement.clone()));
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Replaces `VALUES(col)` by the new row's expression for `col`.
/// `VALUE(col)` too (MariaDB's synonym). False when one names a column the new row
/// does not give (its value would be the column's default, which a SELECT's
/// `VALUES()` does not know: it returns NULL).
pub(super) fn substitute_values(e: &mut Expr, by: &[(String, Expr)]) -> bool {
    let mut all = true;
    let _ = sqlparser::ast::visit_expressions_mut(e, |x| {
        if let Expr::Function(f) = x {
            let name = f.name.to_string();
            if name.eq_ignore_ascii_case("values") || name.eq_ignore_ascii_case("value") {
                let arg = f.args.to_string();
                let col = arg.trim_matches(|c| c == '(' || c == ')' || c == '`' || c == ' ');
                match by.iter().find(|(c, _)| eq_ci(c, col)) {
                    Some((_, replacement)) => *x = Expr::Nested(Box::new(replacement.clone())),
                    None => all = false,
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    all
}

/// `e`, the new row's expression for `column` of `table`, as `VALUES(column)` gives
/// it: the value the column holds, not the text that gave it (a DATE's `'2020-01-03'`
/// is the date, so `VALUES(k) + 0` is 20200103, not 2020): a date, time, datetime or
/// decimal column's value is cast to the column's type (review r20m F1: the parent
/// check looked for the wrong value and let an orphan through); an integer or BIT
/// column's is rounded as the store rounds (a quoted number half away from zero
/// through DECIMAL, a DOUBLE half to even) and clipped to the column's range (300
/// into a TINYINT is 127 outside strict mode); a CHAR / VARCHAR column's is its
/// text cut to the column's length (a CHAR's trailing spaces dropped, as a read
/// drops them).
pub(super) fn as_stored(table: &Table, column: &str, e: Expr) -> Expr {
    use tether_schema::DataType;
    let Some(c) = table.columns.iter().find(|c| eq_ci(&c.name, column)) else {
        return e;
    };
    if matches!(e, Expr::Value(ref v) if matches!(v.value, Value::Null)) {
        return e;
    }
    let digits = || {
        c.engine_type
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .and_then(|(n, _)| n.trim().parse::<u32>().ok())
            .unwrap_or(0)
            .min(6)
    };
    let text = e.to_string();
    let quoted = matches!(
        e,
        Expr::Value(ref v) if matches!(v.value, Value::SingleQuotedString(_) | Value::DoubleQuotedString(_))
    );
    // Literals the column holds as written stay as written.
    let fits = |lo: i128, hi: i128| match &e {
        Expr::Value(v) => {
            matches!(&v.value, Value::Number(n, _) if n.parse::<i128>().is_ok_and(|n| (lo..=hi).contains(&n)))
        }
        Expr::UnaryOp {
            op: sqlparser::ast::UnaryOperator::Minus,
            expr,
        } => matches!(
            &**expr,
            Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n.parse::<i128>().is_ok_and(|n| (lo..=hi).contains(&-n)))
        ),
        _ => false,
    };
    let short = |n: u32, char: bool| match &e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(t) => t.chars().count() <= n as usize && !(char && t.ends_with(' ')),
            _ => false,
        },
        _ => false,
    };
    // A number as an integer column of `bits` bits stores it: rounded, clipped.
    let integer = |lo: i128, hi: i128, unsigned: bool| {
        if fits(lo, hi) {
            return Some(e.clone());
        }
        let rounded = match quoted {
            true => format!("ROUND(CAST(({text}) AS DECIMAL(65,30)))"),
            false => format!("ROUND(({text}))"),
        };
        let to = if unsigned { "UNSIGNED" } else { "SIGNED" };
        parse_expr(&format!("CAST(LEAST(GREATEST({rounded}, {lo}), {hi}) AS {to})"))
    };
    match &c.normalized_type {
        DataType::Int { bytes, unsigned } => {
            let bits = 8 * u32::from((*bytes).clamp(1, 8));
            let (lo, hi) = match unsigned {
                true => (0, (1i128 << bits) - 1),
                false => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
            };
            return integer(lo, hi, *unsigned).unwrap_or(e);
        }
        DataType::Boolean => return integer(-128, 127, false).unwrap_or(e),
        // A quoted string is stored into a BIT column as its bytes.
        DataType::Bits { length } if !quoted => {
            return integer(0, (1i128 << (*length).clamp(1, 64)) - 1, true).unwrap_or(e);
        }
        DataType::Char { length: Some(n) } if !short(*n, true) => {
            return parse_expr(&format!("TRIM(TRAILING ' ' FROM LEFT(({text}), {n}))")).unwrap_or(e);
        }
        DataType::Varchar { length: Some(n) } if !short(*n, false) => {
            return parse_expr(&format!("LEFT(({text}), {n})")).unwrap_or(e);
        }
        DataType::Char { .. } | DataType::Varchar { .. } | DataType::Bits { .. } => return e,
        _ => {}
    }
    let cast = match c.normalized_type {
        DataType::Date => "DATE".to_string(),
        DataType::Time => format!("TIME({})", digits()),
        DataType::Timestamp { .. } => format!("DATETIME({})", digits()),
        DataType::Decimal {
            precision: Some(p),
            scale,
        } => format!("DECIMAL({p},{})", scale.unwrap_or(0)),
        _ => return e,
    };
    parse_expr(&format!("CAST(({e}) AS {cast})")).unwrap_or(e)
}

/// `text` parsed as one MariaDB expression.
pub(super) fn parse_expr(text: &str) -> Option<Expr> {
    let dialect = sqlparser::dialect::MySqlDialect {};
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// What a NOT NULL `column` of `table` stores for a NULL where MariaDB does not
/// refuse it (an UPDATE or a multi-row INSERT outside strict mode, with warning
/// 1048): its type's implicit default, as a literal that stores the same (`''`
/// for a string column, `0` for the rest: 0, 0.00, a zero date or time, YEAR
/// 0000, BIT 0, an ENUM's ''). `None`: NULL-able, or not a column of `table`.
pub(super) fn implicit_default(table: &Table, column: &str) -> Option<&'static str> {
    use tether_schema::DataType;
    let c = table.columns.iter().find(|c| eq_ci(&c.name, column))?;
    if c.nullable {
        return None;
    }
    Some(match &c.normalized_type {
        DataType::Char { .. }
        | DataType::Varchar { .. }
        | DataType::Text
        | DataType::Binary { .. }
        | DataType::Json => "''",
        // A type Tether has no name for: an ENUM, SET or YEAR takes 0 ('', the
        // empty set, 0000); what a spatial column takes is not known here.
        DataType::Other(t) if !["enum", "set", "year"].iter().any(|p| t.starts_with(p)) => return None,
        _ => "0",
    })
}

/// Whether `e` calls `VALUES(col)` / `VALUE(col)`.
pub(super) fn mentions_values(e: &Expr) -> bool {
    let mut found = false;
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        if let Expr::Function(f) = x {
            let name = f.name.to_string();
            if name.eq_ignore_ascii_case("values") || name.eq_ignore_ascii_case("value") {
                found = true;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Whether `sql` changes what a rollback does not give back, other than
/// auto-increment values: a SEQUENCE's next value, `LAST_INSERT_ID(expr)` (which
/// may read its own last value). Such a statement must run once.
pub(super) fn must_run_once(sql: &str) -> bool {
    let lower: String = sql.to_ascii_lowercase().split_whitespace().collect();
    ["nextval", "nextvaluefor", "setval", "lastval"]
        .iter()
        .any(|w| lower.contains(w))
        || lower
            .match_indices("last_insert_id(")
            .any(|(i, m)| !lower[i + m.len()..].starts_with(')'))
}

/// Whether writing `rows` (`None`: from a SELECT) into `columns` of `table` may
/// take new auto-increment values: the column is left out, or a row gives it
/// something other than a positive number.
pub(super) fn allocates(table: &Table, columns: &[String], rows: Option<&[ValuesRow]>) -> bool {
    let Some(auto) = table.columns.iter().find(|c| c.identity.is_some()) else {
        return false;
    };
    let Some(p) = columns.iter().position(|c| eq_ci(c, &auto.name)) else {
        return true;
    };
    rows.is_some_and(|rows| {
        rows.iter().any(|r| match r.content.get(p) {
            Some(Expr::Value(v)) => match &v.value {
                Value::Number(n, _) => n.trim_start_matches('0').is_empty() || n.starts_with('-'),
                Value::SingleQuotedString(t) => t.trim().parse::<i64>().map_or(true, |n| n <= 0),
                _ => true,
            },
            _ => true,
        })
    })
}

pub(super) fn is_default(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// `expr`, or where it is the keyword `DEFAULT` (an assignment `SET col =
/// DEFAULT`), `DEFAULT(col)`: the column's default as the server computes it, which
/// a SELECT (the lock read) can say where the bare keyword is a syntax error.
pub(super) fn or_default_of(expr: &Expr, column: &str) -> Expr {
    if is_default(expr) {
        Expr::Identifier(sqlparser::ast::Ident::new(format!(
            "DEFAULT({})",
            crate::sql::ident(column)
        )))
    } else {
        expr.clone()
    }
}

/// A column's default as an SQL literal; `None` for auto-increment and generated
/// columns (their value is not known before the insert).
pub(super) fn column_default(table: &Table, column: &str) -> Option<String> {
    let c = table.columns.iter().find(|c| eq_ci(&c.name, column))?;
    if c.identity.is_some() || c.generated.is_some() {
        return None;
    }
    match &c.default {
        Some(d) => Some(d.clone()),
        None if c.nullable => Some("NULL".into()),
        None => None,
    }
}

/// The functions `sql` calls, each as the parts of its name (`["f"]`, `["db",
/// "f"]`), in order of appearance, repeats left out; empty when it does not parse.
/// Built-ins parsed as syntax of their own (`CAST`, `EXTRACT`, `SUBSTRING`,
/// `TRIM`, ...) are not calls here.
pub fn called_functions(sql: &str) -> Vec<Vec<String>> {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;
    let statements = match Parser::parse_sql(&MySqlDialect {}, sql) {
        Ok(s) => s,
        Err(_) => match crate::sql::comma_joins(sql).map(|j| Parser::parse_sql(&MySqlDialect {}, &j)) {
            Some(Ok(s)) => s,
            _ => return Vec::new(),
        },
    };
    let mut out: Vec<Vec<String>> = Vec::new();
    let _ = sqlparser::ast::visit_expressions(&statements, |e| {
        if let Expr::Function(f) = e {
            let name: Vec<String> = f
                .name
                .0
                .iter()
                .map(|p| match p {
                    sqlparser::ast::ObjectNamePart::Identifier(i) => i.value.clone(),
                    other => other.to_string(),
                })
                .collect();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

#[cfg(test)]
mod tests {
    use super::called_functions;

    #[test]
    fn calls_are_listed_with_their_qualifiers() {
        let calls = called_functions(
            "DELETE FROM p WHERE id = f(1) AND IF(`db`.`g`(2), 1, 0) AND CAST(x AS SIGNED) = CONCAT(f(3))",
        );
        let names: Vec<String> = calls.iter().map(|n| n.join(".")).collect();
        assert_eq!(names, ["f", "IF", "db.g", "CONCAT"]);
        assert_eq!(
            called_functions("UPDATE a, b SET a.x = h(b.y)"),
            [vec!["h".to_string()]]
        );
        assert!(called_functions("not sql").is_empty());
    }
}
