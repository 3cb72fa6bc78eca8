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
pub(super) fn rekeying<S: AsRef<str>>(
    table: &Table,
    assigned: &[(String, &Expr)],
    referenced: &BTreeSet<S>,
) -> Option<bool> {
    let is_key = |c: &str| referenced.iter().any(|r| eq_ci(r.as_ref(), c));
    assigned.iter().any(|(c, _)| is_key(c)).then(|| {
        assigned
            .iter()
            .any(|(c, e)| is_key(c) && volatile_assignment(table, c, e))
    })
}

/// Whether the value `e` assigns to `column` of `table` may differ between two
/// evaluations (the lock read and the statement): a [`volatile`] expression, or
/// `DEFAULT` / `DEFAULT(col)` of a column whose default is computed anew each time
/// (the clock, UUID(), NEXT VALUE FOR s, which the lock read would advance too;
/// review r23i U2), or that reads another column (`DEFAULT (x + 1)`: MariaDB computes
/// it from the row as the SET list has left it, the lock read from the old row;
/// review r23n N1, N2). A default the parser does not read counts as such.
pub(super) fn volatile_assignment(table: &Table, column: &str, e: &Expr) -> bool {
    let volatile_default = |c: &str| default_per_row(table, c);
    if volatile(e) || (is_default(e) && volatile_default(column)) {
        return true;
    }
    let mut found = false;
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        if let Expr::Function(f) = x {
            if f.name.to_string().eq_ignore_ascii_case("default") {
                let arg = f.args.to_string();
                let c = arg.rsplit('.').next().unwrap_or_default();
                let c = c.trim_matches(|c| c == '(' || c == ')' || c == '`' || c == ' ');
                found |= volatile_default(c);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Whether the default of `column` of `table` is computed anew for each row, so no
/// text the planner pastes elsewhere (a lock read, a parent probe, a clash read)
/// gives the value the row stores: a [`volatile`] expression (the clock, UUID(),
/// `NEXT VALUE FOR s`, which the other read would advance too), or one that reads
/// another column (`DEFAULT (id)`, `DEFAULT (x + 1)`: MariaDB computes it from the
/// row being written, where pasted text reads whatever table its statement reads,
/// or fails with 1054; review r23n N1-N3). A default the parser does not read counts
/// as such.
pub(super) fn default_per_row(table: &Table, column: &str) -> bool {
    table
        .columns
        .iter()
        .find(|x| eq_ci(&x.name, column))
        .and_then(|x| x.default.as_deref())
        .is_some_and(|d| parse_expr(d).is_none_or(|d| volatile(&d) || reads_a_column(&d)))
}

/// Whether `e` names a column (an identifier outside function names).
fn reads_a_column(e: &Expr) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        found |= column_ref(x).is_some();
        ControlFlow::<()>::Continue(())
    });
    found
}

pub(super) fn column_ref(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        _ => None,
    }
}

/// `e` with each column it reads that `by` names (the assigned columns before it,
/// in order, each with the value a later expression reads of it: [`as_read`],
/// `None` where not known) replaced by that value (of its last entry). MariaDB
/// assigns left to right, and a later assignment reads what the earlier column
/// stored (rounded, cut, its CHAR spaces dropped; review r26b F1). `None` where `e`
/// reads a column whose value is not known, or where it reads a text or byte
/// column's value other than as its whole value (see [`whole_read`]).
pub(super) fn read_after(table: &Table, e: &mut Expr, by: &[(String, Option<Expr>)]) -> Option<()> {
    let last = |name: &str| by.iter().rev().find(|(c, _)| eq_ci(c, name)).map(|(_, v)| v);
    let mut known = true;
    let mut text = false;
    let _ = sqlparser::ast::visit_expressions(&*e, |x| {
        if let Some(name) = column_ref(x) {
            match last(&name) {
                Some(None) => known = false,
                Some(Some(_)) => text |= textual(table, &name),
                None => {}
            }
        }
        ControlFlow::<()>::Continue(())
    });
    if !known || (text && !whole_read(table, e)) {
        return None;
    }
    let _ = sqlparser::ast::visit_expressions_mut(e, |x| {
        if let Some(name) = column_ref(x) {
            if let Some(Some(value)) = last(&name) {
                *x = Expr::Nested(Box::new(value.clone()));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    Some(())
}

/// Whether column `column` of `table` holds text, bytes or a value that is not a
/// number or a date (CHAR, VARCHAR, TEXT, BINARY, VARBINARY, BLOB, BIT, ENUM, SET,
/// JSON, ...), is a ZEROFILL number, or is not known. Such a value put into an
/// expression in place of the column does not compare or convert as the column's
/// own value does (its collation, a binary operand beside it, its coercibility;
/// reviews r26b F2, r26i F1, F2, F5; a ZEROFILL column reads as text with its
/// zeros, `CONCAT(z, '')` of an INT(5) ZEROFILL 7 is '00007', where the substituted
/// number reads '7', review r27a F1): it is predicted only where it is the whole
/// value assigned ([`whole_read`]).
pub(super) fn textual(table: &Table, column: &str) -> bool {
    use tether_schema::DataType;
    table.columns.iter().find(|c| eq_ci(&c.name, column)).is_none_or(|c| {
        zerofill(c)
            || !matches!(
                c.normalized_type,
                DataType::Int { .. }
                    | DataType::Boolean
                    | DataType::Decimal { .. }
                    | DataType::Float { .. }
                    | DataType::Date
                    | DataType::Time
                    | DataType::Timestamp { .. }
            )
    })
}

/// Whether column `c` is a ZEROFILL number (`int(5) unsigned zerofill`,
/// `decimal(6,2) unsigned zerofill`): read as text, its value is padded with
/// zeros to the type's width.
fn zerofill(c: &tether_schema::Column) -> bool {
    c.engine_type
        .to_ascii_lowercase()
        .split_whitespace()
        .any(|w| w == "zerofill")
}

/// Whether `e` (an expression over `table`'s row) is a column alone (in
/// parentheses or not): the value it reads is the whole value assigned, compared
/// and converted by nothing. `IFNULL(x, literal)` of such an `x` ([`defaulted`])
/// counts, except where `x` is a ZEROFILL column (or its `VALUES(col)`) and the
/// literal not a number or NULL: IFNULL then gives the column's text, zeros and
/// all (`IFNULL(z, 'q')` of 3 is '00003' where `z` alone stores '3' into a
/// VARCHAR; review r27a F1).
pub(super) fn whole_read(table: &Table, e: &Expr) -> bool {
    match e {
        Expr::Nested(x) => whole_read(table, x),
        other => match defaulted(other) {
            Some(x) => whole_read(table, x) && !padded(table, other),
            None => column_ref(other).is_some(),
        },
    }
}

/// Whether `e` is `VALUES(col)` / `VALUE(col)` alone (in parentheses or not), or
/// `IFNULL(VALUES(col), literal)` of such (see [`whole_read`] for the ZEROFILL
/// columns that do not count).
pub(super) fn values_alone(table: &Table, e: &Expr) -> bool {
    if let Some(x) = defaulted(e) {
        return values_alone(table, x) && !padded(table, e);
    }
    match e {
        Expr::Nested(x) => values_alone(table, x),
        Expr::Function(f) => {
            let name = f.name.to_string();
            name.eq_ignore_ascii_case("values") || name.eq_ignore_ascii_case("value")
        }
        _ => false,
    }
}

/// Whether `IFNULL(x, literal)` `e` reads a ZEROFILL column of `table` (as `x`,
/// or `VALUES(x)`) as text: the literal is not a number, TRUE / FALSE or NULL.
fn padded(table: &Table, e: &Expr) -> bool {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let Expr::Function(f) = e else { return false };
    let FunctionArguments::List(list) = &f.args else {
        return false;
    };
    let text = match list.args.as_slice() {
        [_, FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))] => {
            !matches!(v.value, Value::Number(..) | Value::Boolean(_) | Value::Null)
        }
        _ => true,
    };
    text && table.columns.iter().any(|c| zerofill(c) && reads_column(e, &c.name))
}

/// `x` of `IFNULL(x, literal)`: the form a multi-row upsert's steps give a NOT NULL
/// column's `VALUES(col)` (its default where the row has none). It compares
/// nothing: the value stored is `x`'s whole, or the literal.
pub(super) fn defaulted(e: &Expr) -> Option<&Expr> {
    use sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let Expr::Function(f) = e else { return None };
    if !f.name.to_string().eq_ignore_ascii_case("ifnull") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else {
        return None;
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(x)), FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(_)))] => {
            Some(x)
        }
        _ => None,
    }
}

/// Whether `e` holds a string literal with a backslash. The parser unescapes
/// `'C:\\new'` to `C:\new`, and its text of the value writes the backslash back
/// alone, which MariaDB reads as an escape (`\n` a newline): no expression printed
/// from such a value says what was written (review r26i F3).
pub(super) fn has_backslash(e: &Expr) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        if let Expr::Value(v) = x {
            found |= v.value.to_string().contains('\\');
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Whether `e` names a column with a qualifier (`t.c`): in a join, possibly a
/// column of another table than the one whose types are read.
pub(super) fn qualified(e: &Expr) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        found |= matches!(x, Expr::CompoundIdentifier(_));
        ControlFlow::<()>::Continue(())
    });
    found
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

/// Whether `e` holds a literal written as bytes: a hex number or string (`0x31`,
/// `X'31'`), a bit value (`b'101'`, `0b101`), a byte or introduced string
/// (`_binary'1'`). The parser renders `0x31` back as the string `X'31'` (and
/// `0x7` as `X'7'`, a syntax error), and in a number's context such a literal is
/// its bytes' integer (0x31 is 49) where `ROUND(X'31')` reads the string '1':
/// no expression of it says exactly what a numeric or temporal column stores
/// (review r24f F2, F3).
pub(super) fn has_bytes_literal(e: &Expr) -> bool {
    let mut found = false;
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        match x {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => {
                    let n = n.trim_start_matches('-').to_ascii_lowercase();
                    found |= n.starts_with("0x") || n.starts_with("0b");
                }
                Value::SingleQuotedString(_)
                | Value::DoubleQuotedString(_)
                | Value::Boolean(_)
                | Value::Null
                | Value::Placeholder(_) => {}
                _ => found = true,
            },
            Expr::Prefixed { prefix, .. } if prefix.value.eq_ignore_ascii_case("_binary") => found = true,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// Whether `e` holds a quoted string literal. Stored into a numeric column, a
/// string converts the server's own way (`'-0.5'` into an INT is -1, `ROUND('-0.5')`
/// is 0; `'1e1'` is 10): no prediction is made on one (review r24f F2).
pub(super) fn has_string_literal(e: &Expr) -> bool {
    let mut found = false;
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        if let Expr::Value(v) = x {
            found |= !matches!(v.value, Value::Number(..) | Value::Boolean(_) | Value::Null);
        }
        if matches!(x, Expr::Prefixed { .. } | Expr::TypedString { .. }) {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
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
///
/// `Err` (the column's type, to name in a refusal) where no SQL expression says
/// exactly what the column stores (review r22j F1-F3): a YEAR (5 is 2005, '0'
/// 2000), a FLOAT / DOUBLE (2.5 is a DOUBLE, stored into an integer half to even,
/// where any text of it reads as a DECIMAL, rounded half up), an ENUM / SET (the
/// label or the index, by context), a BINARY / VARBINARY / BLOB (padded, cut by
/// bytes), a TEXT (cut by bytes), JSON, a string column of another character set
/// than utf8mb4 (a character it cannot hold is stored '?'), a quoted string into a
/// BIT (its bytes), anything else. A literal such a column holds as written is
/// exact: an integer within a FLOAT's / DOUBLE's exact range, a YEAR of four
/// digits, a string of the column's bytes.
pub(super) fn as_stored(table: &Table, column: &str, e: Expr) -> Result<Expr, String> {
    use tether_schema::DataType;
    let Some(c) = table.columns.iter().find(|c| eq_ci(&c.name, column)) else {
        return Ok(e);
    };
    let unknown = || Err(c.engine_type.to_ascii_lowercase());
    // Printed back, a string with a backslash is not what was written (review
    // r26i F3).
    if has_backslash(&e) {
        return unknown();
    }
    // A NULL into a NOT NULL column is stored as the type's implicit default
    // outside strict mode (0 for an INT, warning 1048), an error inside it: only a
    // value that cannot be NULL is predicted (review r25b F1, F2).
    if !c.nullable && !never_null(table, &e) {
        return unknown();
    }
    if matches!(e, Expr::Value(ref v) if matches!(v.value, Value::Null)) {
        return Ok(e);
    }
    let unsigned = c.engine_type.to_ascii_lowercase().contains("unsigned");
    // A literal of bytes into a column that is not a string's (review r24f F2, F3).
    let textual = matches!(
        c.normalized_type,
        DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text | DataType::Binary { .. }
    );
    if !textual && has_bytes_literal(&e) {
        return unknown();
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
    // A quoted literal's text (`None`: not one).
    let literal = || match &e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(t) | Value::DoubleQuotedString(t) => Some(t.as_str()),
            _ => None,
        },
        _ => None,
    };
    let short =
        |n: u32, char: bool| literal().is_some_and(|t| t.chars().count() <= n as usize && !(char && t.ends_with(' ')));
    // A character set other than the connection's (utf8mb4) may not hold every
    // character of a value: outside strict mode it stores '?' in its place. A
    // literal whose characters it holds is exact (utf8mb3: the BMP; latin1, which
    // is cp1252: ASCII and U+00A0-U+00FF; any other: ASCII). A column without a
    // known collation is read as utf8mb4 (see `planner/stored.rs`).
    let charset_exact = || {
        let charset = table
            .extras
            .collations
            .iter()
            .find(|(k, _)| eq_ci(k, column))
            .map(|(_, v)| v.split('_').next().unwrap_or(v).to_ascii_lowercase());
        let held = |ch: char| match charset.as_deref() {
            Some("utf8mb3" | "utf8") => u32::from(ch) <= 0xFFFF,
            Some("latin1") => ch.is_ascii() || ('\u{a0}'..='\u{ff}').contains(&ch),
            _ => ch.is_ascii(),
        };
        // A number (`42`, `-2.5`, a prepared statement's integer) is ASCII in any
        // character set (review r22n F4).
        let number = |x: &Expr| matches!(x, Expr::Value(v) if matches!(v.value, Value::Number(..)));
        let numeric = match &e {
            Expr::UnaryOp { expr, .. } => number(expr),
            other => number(other),
        };
        charset.as_deref().is_none_or(|c| c == "utf8mb4") || numeric || literal().is_some_and(|t| t.chars().all(held))
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
    let lower = c.engine_type.trim().to_ascii_lowercase();
    match &c.normalized_type {
        // Only a number literal or an exact-numeric expression (integer and
        // DECIMAL columns, + - * of such) is rounded and clipped as the store
        // does: a string (`'2.5'` is stored 3, `ROUND('2.5')` is 2), a temporal
        // value (a TIME's 10000) or any other function is not predicted
        // (review r25k F3, F4, F6).
        DataType::Int { .. } | DataType::Boolean
            if !fits(i128::MIN, i128::MAX)
                && !numeric_literal(&e)
                && !exact_numeric(table, &e)
                && !literal().is_some_and(integer_text) =>
        {
            return unknown()
        }
        DataType::Int { bytes, unsigned } => {
            let bits = 8 * u32::from((*bytes).clamp(1, 8));
            let (lo, hi) = match unsigned {
                true => (0, (1i128 << bits) - 1),
                false => (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1),
            };
            return integer(lo, hi, *unsigned).map_or_else(unknown, Ok);
        }
        DataType::Boolean => return integer(-128, 127, false).map_or_else(unknown, Ok),
        // A BIT takes a negative number as its two's complement and truncates a
        // DOUBLE: only a non-negative integer literal or an UNSIGNED integer
        // column is predicted (clipped to the column's range); a quoted string is
        // stored as its bytes (review r25k F2).
        DataType::Bits { length } if !quoted && (fits(0, i128::MAX) || unsigned_integer_column(table, &e)) => {
            return integer(0, (1i128 << (*length).clamp(1, 64)) - 1, true).map_or_else(unknown, Ok);
        }
        DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text if !charset_exact() => return unknown(),
        DataType::Char { length: Some(n) } if !short(*n, true) => {
            return parse_expr(&format!("TRIM(TRAILING ' ' FROM LEFT(({text}), {n}))")).map_or_else(unknown, Ok);
        }
        DataType::Varchar { length: Some(n) } if !short(*n, false) => {
            return parse_expr(&format!("LEFT(({text}), {n})")).map_or_else(unknown, Ok);
        }
        DataType::Char { length: Some(_) } | DataType::Varchar { length: Some(_) } => return Ok(e),
        // Cut by bytes (a TINYTEXT holds 255): a short literal is held as written.
        DataType::Text if literal().is_some_and(|t| t.len() <= 255) => return Ok(e),
        // An integer a FLOAT (24 bits) or DOUBLE (53 bits) holds exactly.
        DataType::Float { bytes } => {
            let bits = if *bytes == 4 { 24 } else { 53 };
            // An UNSIGNED one stores a negative number as 0.
            let lo = if unsigned { 0 } else { -(1i128 << bits) };
            return match fits(lo, 1i128 << bits) {
                true => Ok(e),
                false => unknown(),
            };
        }
        // A year of four digits in YEAR's range is held as written.
        DataType::Other(_) if lower.starts_with("year") => {
            let year = match (&e, literal()) {
                (_, Some(t)) if t.len() == 4 => t.parse::<i32>().ok(),
                (Expr::Value(v), None) => match &v.value {
                    Value::Number(n, _) if n.len() == 4 => n.parse::<i32>().ok(),
                    _ => None,
                },
                _ => None,
            };
            return match year.is_some_and(|y| (1901..=2155).contains(&y)) {
                true => Ok(e),
                false => unknown(),
            };
        }
        // The bytes as written where they are exactly the column's (a BINARY(n)
        // pads to n bytes, a VARBINARY(n) cuts past n).
        DataType::Binary { length } => {
            let held = literal().is_some_and(|t| match length {
                Some(n) if lower.starts_with("binary") => t.len() == *n as usize,
                Some(n) => t.len() <= *n as usize,
                None => t.len() <= 255,
            });
            return match held {
                true => Ok(e),
                false => unknown(),
            };
        }
        // Outside strict mode an invalid date ('2020-02-30', 20200230) is stored as
        // the zero date where its CAST is NULL, and the store's reading of a number
        // or of other text is its own: only values that are dates already (or
        // NULL) are predicted (review r25b F1, F2).
        DataType::Date | DataType::Time | DataType::Timestamp { .. } if !temporal_exactly(table, c, &e) => {
            return unknown()
        }
        DataType::Date | DataType::Time | DataType::Timestamp { .. } => {}
        // An UNSIGNED DECIMAL stores a negative number as 0 outside strict mode,
        // where its CAST keeps the sign: only a literal without a sign is predicted.
        DataType::Decimal { precision: Some(_), .. }
            if unsigned && !matches!(&e, Expr::Value(v) if matches!(&v.value, Value::Number(..))) =>
        {
            return unknown()
        }
        DataType::Decimal { precision: Some(_), .. } => {}
        _ => return unknown(),
    }
    let cast = match c.normalized_type {
        DataType::Date => "DATE".to_string(),
        DataType::Time => format!("TIME({})", digits()),
        DataType::Timestamp { .. } => format!("DATETIME({})", digits()),
        DataType::Decimal {
            precision: Some(p),
            scale,
        } => format!("DECIMAL({p},{})", scale.unwrap_or(0)),
        _ => return unknown(),
    };
    parse_expr(&format!("CAST(({e}) AS {cast})")).map_or_else(unknown, Ok)
}

/// What an expression reading `column` of `table` sees once the column stored `e`
/// (an expression over the old row): [`as_stored`]. A text or byte column's value
/// is put in only where it is read whole (see [`textual`]), so it carries no
/// collation (an explicit `COLLATE` beat a binary operand and met other character
/// sets with 1267; review r26i F1, F5). `Err` (the column's type, to name) where
/// the stored value is not known exactly.
pub(super) fn as_read(table: &Table, column: &str, e: Expr) -> Result<Expr, String> {
    as_stored(table, column, e)
}

/// Whether `e` is a number literal (an integer, a decimal or a number with an
/// exponent, with a sign or not; not hex, bit or quoted), or TRUE / FALSE.
fn numeric_literal(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(v.value, Value::Number(..) | Value::Boolean(_)),
        Expr::UnaryOp { expr, .. } => numeric_literal(expr),
        Expr::Nested(x) => numeric_literal(x),
        _ => false,
    }
}

/// Whether a quoted literal's text is an integer as written (`'7'`, `'-12'`): no
/// blanks, point, exponent or other characters.
fn integer_text(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `e` is exact-numeric over `table`'s old row: integer or decimal
/// literals (no exponent), integer and DECIMAL columns of `table`, and `+`, `-`,
/// `*` and signs of such.
fn exact_numeric(table: &Table, e: &Expr) -> bool {
    use sqlparser::ast::BinaryOperator as B;
    use tether_schema::DataType;
    match e {
        Expr::Value(v) => matches!(&v.value, Value::Number(n, _) if !n.contains(['e', 'E'])),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => column_ref(e)
            .and_then(|name| table.columns.iter().find(|c| eq_ci(&c.name, &name)))
            .is_some_and(|c| {
                matches!(
                    c.normalized_type,
                    DataType::Int { .. } | DataType::Boolean | DataType::Decimal { .. }
                )
            }),
        Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } => exact_numeric(table, x),
        Expr::BinaryOp { left, op, right } => {
            matches!(op, B::Plus | B::Minus | B::Multiply) && exact_numeric(table, left) && exact_numeric(table, right)
        }
        // An integer or DECIMAL cast, whatever it casts (an earlier assignment's
        // stored value, see `as_read`).
        Expr::Cast { data_type, .. } => matches!(
            data_type,
            sqlparser::ast::DataType::Signed
                | sqlparser::ast::DataType::SignedInteger
                | sqlparser::ast::DataType::Unsigned
                | sqlparser::ast::DataType::UnsignedInteger
                | sqlparser::ast::DataType::Decimal(_)
                | sqlparser::ast::DataType::Dec(_)
        ),
        _ => false,
    }
}

/// Whether `e` names an UNSIGNED integer column of `table`.
fn unsigned_integer_column(table: &Table, e: &Expr) -> bool {
    column_ref(e)
        .and_then(|name| table.columns.iter().find(|c| eq_ci(&c.name, &name)))
        .is_some_and(|c| matches!(c.normalized_type, tether_schema::DataType::Int { unsigned: true, .. }))
}

/// Whether `e` (an expression over the old row of `table`) cannot be NULL: a
/// literal that is not NULL, a NOT NULL column of `table`, arithmetic and
/// comparisons of such (an overflow is an error in any sql_mode), `<=>`, `IS
/// [NOT] NULL`, `IF(c, a, b)` of such `a` and `b`, `IFNULL(x, a)` / `COALESCE(..,
/// a, ..)` of such `a`, the statement's time. Anything else (a subquery, a
/// division, a function, a column of another table) may be NULL.
pub(super) fn never_null(table: &Table, e: &Expr) -> bool {
    use sqlparser::ast::{BinaryOperator as B, FunctionArg, FunctionArgExpr, FunctionArguments};
    let args = |f: &sqlparser::ast::Function| -> Vec<Expr> {
        match &f.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    match e {
        Expr::Value(v) => !matches!(v.value, Value::Null | Value::Placeholder(_)),
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => column_ref(e)
            .and_then(|name| table.columns.iter().find(|c| eq_ci(&c.name, &name)))
            .is_some_and(|c| !c.nullable),
        Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } => never_null(table, x),
        Expr::IsNull(_) | Expr::IsNotNull(_) => true,
        Expr::BinaryOp { left, op, right } => match op {
            B::Spaceship => true,
            B::Plus | B::Minus | B::Multiply | B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                never_null(table, left) && never_null(table, right)
            }
            _ => false,
        },
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            let a = args(f);
            match name.as_str() {
                "IF" => a.len() == 3 && never_null(table, &a[1]) && never_null(table, &a[2]),
                "IFNULL" => a.len() == 2 && never_null(table, &a[1]),
                "COALESCE" => a.iter().any(|x| never_null(table, x)),
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" => true,
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a DATE, TIME, DATETIME or TIMESTAMP `column` stores `e` exactly as
/// `CAST(e AS <its type>)` gives it, in any sql_mode: NULL, a column of `table` of
/// such a type, the statement's time, a quoted literal that is a valid value of
/// the type as written (`'2020-02-03'`; `'2020-02-30'` casts to NULL where the
/// store writes the zero date), `IF(c, a, b)` of such, and date arithmetic (`+
/// INTERVAL`, `DATE_ADD`, ...) over such (its overflow is NULL, and so is what the
/// store writes into a NULL-able column). A TIMESTAMP (1970 to 2038, in the
/// session's time zone) takes only another TIMESTAMP column's value and the
/// statement's time.
fn temporal_exactly(table: &Table, column: &tether_schema::Column, e: &Expr) -> bool {
    use sqlparser::ast::{BinaryOperator as B, FunctionArg, FunctionArgExpr, FunctionArguments};
    use tether_schema::DataType;
    let kind = &column.normalized_type;
    let stamp = |c: &tether_schema::Column| c.engine_type.trim().to_ascii_lowercase().starts_with("timestamp");
    let timestamp = stamp(column);
    let time = matches!(kind, DataType::Time);
    let same = |x: &Expr| temporal_exactly(table, column, x);
    match e {
        Expr::Value(v) => match &v.value {
            Value::Null => true,
            Value::SingleQuotedString(t) | Value::DoubleQuotedString(t) => !timestamp && valid_temporal(kind, t),
            _ => false,
        },
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => column_ref(e)
            .and_then(|name| table.columns.iter().find(|c| eq_ci(&c.name, &name)))
            .is_some_and(|c| match (time, timestamp) {
                (true, _) => matches!(c.normalized_type, DataType::Time),
                (false, true) => stamp(c),
                (false, false) => matches!(c.normalized_type, DataType::Date | DataType::Timestamp { .. }),
            }),
        Expr::Nested(x) => same(x),
        Expr::BinaryOp {
            left,
            op: B::Plus | B::Minus,
            right,
        } if !time && !timestamp => matches!(**right, Expr::Interval(_)) && same(left),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            let a: Vec<&Expr> = match &f.args {
                FunctionArguments::List(list) => list
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            match name.as_str() {
                "IF" => a.len() == 3 && same(a[1]) && same(a[2]),
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIMESTAMP" => !time,
                "DATE_ADD" | "DATE_SUB" | "ADDDATE" | "SUBDATE" if !time && !timestamp => {
                    a.len() == 2 && matches!(a[1], Expr::Interval(_)) && same(a[0])
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether `text` is a valid value of a DATE (`YYYY-MM-DD`), DATETIME
/// (`YYYY-MM-DD[ HH:MM:SS[.ffffff]]`) or TIME (`[-]H[HH]:MM:SS[.ffffff]`, at most
/// 838 hours) as written: the calendar's days, no zero month or day.
fn valid_temporal(kind: &tether_schema::DataType, text: &str) -> bool {
    use tether_schema::DataType;
    let number = |s: &str, len: std::ops::RangeInclusive<usize>, max: u32| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let clock = |s: &str, hours: usize, max_hour: u32| {
        let (s, fraction) = s.split_once('.').unwrap_or((s, "0"));
        let parts: Vec<&str> = s.split(':').collect();
        parts.len() == 3
            && number(parts[0], 1..=hours, max_hour)
            && number(parts[1], 2..=2, 59)
            && number(parts[2], 2..=2, 59)
            && number(fraction, 1..=6, 999_999)
    };
    let date = |s: &str| {
        let parts: Vec<&str> = s.split('-').collect();
        if parts.len() != 3
            || !number(parts[0], 4..=4, 9999)
            || !number(parts[1], 2..=2, 12)
            || !number(parts[2], 2..=2, 31)
        {
            return false;
        }
        let (y, m, d) = (
            parts[0].parse::<u32>().unwrap_or(0),
            parts[1].parse::<u32>().unwrap_or(0),
            parts[2].parse::<u32>().unwrap_or(0),
        );
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        y >= 1000 && m >= 1 && (1..=days).contains(&d)
    };
    match kind {
        DataType::Date => date(text),
        DataType::Time => clock(text.strip_prefix('-').unwrap_or(text), 3, 838),
        _ => match text.split_once(' ') {
            Some((d, t)) => date(d) && clock(t, 2, 23),
            None => date(text),
        },
    }
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
/// 1048): its type's implicit default, as SQL that stores the same (checked on
/// MariaDB 10.11): `''` for a string, binary, JSON or SET column, an ENUM's first
/// member (whatever its DEFAULT, review r22j F4), the current time for a TIMESTAMP
/// (no warning, F5), `0` for the rest: 0, 0.00, a zero DATETIME, DATE or TIME,
/// YEAR 0000, BIT 0. `None`: NULL-able, or not a column of `table`; `Some(Err)`:
/// a type whose implicit value is not known here (spatial, say), named.
pub(super) fn implicit_default(table: &Table, column: &str) -> Option<Result<String, String>> {
    use tether_schema::DataType;
    let c = table.columns.iter().find(|c| eq_ci(&c.name, column))?;
    if c.nullable {
        return None;
    }
    let lower = c.engine_type.trim().to_ascii_lowercase();
    Some(Ok(match &c.normalized_type {
        DataType::Char { .. }
        | DataType::Varchar { .. }
        | DataType::Text
        | DataType::Binary { .. }
        | DataType::Json => "''".into(),
        DataType::Timestamp { .. } if lower.starts_with("timestamp") => "CURRENT_TIMESTAMP(6)".into(),
        DataType::Other(_) if lower.starts_with("enum") => match first_member(&c.engine_type) {
            Some(m) => m,
            None => return Some(Err(lower)),
        },
        DataType::Other(_) if lower.starts_with("set") => "''".into(),
        DataType::Other(_) if lower.starts_with("year") => "0".into(),
        DataType::Other(_) | DataType::Uuid => return Some(Err(lower)),
        _ => "0".into(),
    }))
}

/// The first member of `enum('a','b')` as an SQL string literal (`'a'`), quotes
/// doubled inside as the type spells them.
fn first_member(engine_type: &str) -> Option<String> {
    let open = engine_type.find('\'')?;
    let rest = &engine_type[open + 1..];
    let mut end = 0;
    let bytes = rest.as_bytes();
    while end < bytes.len() {
        if bytes[end] == b'\'' {
            if bytes.get(end + 1) == Some(&b'\'') {
                end += 2;
                continue;
            }
            return Some(format!("'{}'", &rest[..end]));
        }
        end += 1;
    }
    None
}

/// The columns `e` reads through `VALUES(col)` / `VALUE(col)`.
pub(super) fn values_columns(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        if let Expr::Function(f) = x {
            let name = f.name.to_string();
            if name.eq_ignore_ascii_case("values") || name.eq_ignore_ascii_case("value") {
                let arg = f.args.to_string();
                out.push(
                    arg.trim_matches(|c| c == '(' || c == ')' || c == '`' || c == ' ')
                        .to_string(),
                );
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// Whether `e` reads column `column` (by name, qualified or not).
pub(super) fn reads_column(e: &Expr, column: &str) -> bool {
    let mut found = false;
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        if column_ref(x).is_some_and(|n| eq_ci(&n, column)) {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
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
/// `column` is the column as the read names it (`` `c` ``, or `` `t`.`c` `` in a
/// join, where a bare name may be ambiguous).
pub(super) fn or_default_of(expr: &Expr, column: &str) -> Expr {
    if is_default(expr) {
        Expr::Identifier(sqlparser::ast::Ident::new(format!("DEFAULT({column})")))
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
    use super::{as_read, called_functions, first_member, parse_expr, read_after, textual, values_alone, whole_read};
    use tether_schema::{Column, DataType, Table};

    fn column(name: &str, engine_type: &str, normalized_type: DataType) -> Column {
        Column {
            name: name.into(),
            engine_type: engine_type.into(),
            normalized_type,
            nullable: true,
            default: None,
            identity: None,
            generated: None,
        }
    }

    /// p (a INT, v VARCHAR(3) COLLATE utf8mb4_bin, w VARCHAR(3) of no known collation).
    fn p() -> Table {
        let mut t = Table {
            name: "p".into(),
            columns: vec![
                column(
                    "a",
                    "int(11)",
                    DataType::Int {
                        bytes: 4,
                        unsigned: false,
                    },
                ),
                column("v", "varchar(3)", DataType::Varchar { length: Some(3) }),
                column("w", "varchar(3)", DataType::Varchar { length: Some(3) }),
            ],
            ..Default::default()
        };
        t.extras.collations.insert("v".into(), "utf8mb4_bin".into());
        t
    }

    fn expr(text: &str) -> sqlparser::ast::Expr {
        parse_expr(text).expect("an expression")
    }

    #[test]
    fn a_text_value_is_read_as_stored() {
        let t = p();
        assert_eq!(
            as_read(&t, "v", expr("'ABC'")).map(|e| e.to_string()),
            Ok("'ABC'".to_string())
        );
        assert_eq!(
            as_read(&t, "v", expr("'abcdef'")).map(|e| e.to_string()),
            Ok("LEFT(('abcdef'), 3)".to_string())
        );
        assert_eq!(as_read(&t, "a", expr("7")).map(|e| e.to_string()), Ok("7".to_string()));
        // A backslash is not printed back as written (review r26i F3).
        assert!(as_read(&t, "v", expr("'a\\\\b'")).is_err());
    }

    #[test]
    fn a_later_expression_reads_what_an_earlier_column_stored() {
        let t = p();
        let by = vec![
            ("a".to_string(), as_read(&t, "a", expr("2.4")).ok()),
            ("w".to_string(), None),
        ];
        let mut e = expr("a * 10");
        assert_eq!(read_after(&t, &mut e, &by), Some(()));
        assert_eq!(
            e.to_string(),
            "(CAST(LEAST(GREATEST(ROUND((2.4)), -2147483648), 2147483647) AS SIGNED)) * 10"
        );
        assert_eq!(read_after(&t, &mut expr("CONCAT(w, 'x')"), &by), None, "w not known");
        // A text value is read whole only (review r26i F1, F2, F5).
        let by = vec![("v".to_string(), as_read(&t, "v", expr("'ABC'")).ok())];
        let mut e = expr("v");
        assert_eq!(read_after(&t, &mut e, &by), Some(()));
        assert_eq!(e.to_string(), "('ABC')");
        assert_eq!(read_after(&t, &mut expr("v = 'abc'"), &by), None);
        assert_eq!(read_after(&t, &mut expr("CONCAT(v, 'x')"), &by), None);
        assert_eq!(read_after(&t, &mut expr("IF(v = BINARY 'ab', 1, 2)"), &by), None);
    }

    #[test]
    fn a_zerofill_value_is_read_whole_only() {
        let mut t = p();
        t.columns.push(column(
            "z",
            "int(5) unsigned zerofill",
            DataType::Int {
                bytes: 4,
                unsigned: true,
            },
        ));
        assert!(textual(&t, "z"));
        assert!(!textual(&t, "a"));
        let by = vec![("z".to_string(), as_read(&t, "z", expr("7")).ok())];
        // Read as text, MariaDB gives '00007' (review r27a F1).
        assert_eq!(read_after(&t, &mut expr("CONCAT(z, '')"), &by), None);
        assert_eq!(read_after(&t, &mut expr("z + 1"), &by), None);
        let mut e = expr("z");
        assert_eq!(read_after(&t, &mut e, &by), Some(()));
        assert_eq!(e.to_string(), "(7)");
        assert!(whole_read(&t, &expr("IFNULL(z, 0)")));
        assert!(whole_read(&t, &expr("IFNULL(z, NULL)")));
        assert!(!whole_read(&t, &expr("IFNULL(z, 'q')")));
        assert!(whole_read(&t, &expr("IFNULL(w, 'q')")));
        assert!(values_alone(&t, &expr("IFNULL(VALUES(z), 0)")));
        assert!(!values_alone(&t, &expr("IFNULL(VALUES(z), 'q')")));
        assert!(values_alone(&t, &expr("IFNULL(VALUES(w), 'q')")));
    }

    #[test]
    fn an_enum_s_first_member_is_its_literal() {
        assert_eq!(first_member("enum('x','a')").as_deref(), Some("'x'"));
        assert_eq!(first_member("enum('it''s','b')").as_deref(), Some("'it''s'"));
        assert_eq!(first_member("enum('','b')").as_deref(), Some("''"));
        assert_eq!(first_member("enum('open"), None);
    }

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
