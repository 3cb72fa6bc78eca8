//! Columns an UPDATE changes without assigning them: a generated column whose
//! expression reads a column that changes (assigned, or itself changed so), and an
//! `ON UPDATE CURRENT_TIMESTAMP` column, which takes the statement's time whenever
//! the row changes. A key among them re-keys its children and an FK column among
//! them needs a parent, as an assigned one does (review r23d F1, F2). Also which
//! assignments MariaDB makes at all ([`made_assignments`]: `DEFAULT` into a
//! generated column leaves it computed, review r23i U2), and which columns a
//! change of some columns changes with them ([`generated_over`], for a cascade's
//! child, review r23i U1).

use sqlparser::ast::{Expr, Value};
use tether_schema::Table;

use super::expr::{
    as_read, as_stored, column_ref, has_backslash, has_string_literal, is_default, parse_expr, textual,
    volatile_assignment, whole_read,
};
use super::{eq_ci, Planner};

/// The assignments of an UPDATE (or, `upsert`, ON DUPLICATE KEY UPDATE) of
/// `table` that MariaDB makes, in order: `DEFAULT` or `NULL` into a generated
/// column leaves it computed from its expression, as if it were not assigned
/// (unchanged unless a column it reads changes), and an UPDATE's `col = IGNORE`
/// assigns nothing. `None` when InnoDB runs the statement: a generated column
/// assigned any other value (MariaDB refuses that row by row, 1906, in strict
/// mode, and otherwise ignores the value with that warning, before any FK
/// check), and IGNORE in ON DUPLICATE KEY UPDATE (MariaDB 10.11 stores the
/// column's default there).
pub(super) fn made_assignments<'e>(
    table: &Table,
    assigned: Vec<(String, &'e Expr)>,
    upsert: bool,
) -> Option<Vec<(String, &'e Expr)>> {
    let mut out = Vec::with_capacity(assigned.len());
    for (column, e) in assigned {
        let generated = table
            .columns
            .iter()
            .any(|c| eq_ci(&c.name, &column) && c.generated.is_some());
        if is_ignore(e) && upsert {
            return None;
        }
        if is_ignore(e) || (generated && (is_default(e) || is_null(e))) {
            continue;
        }
        if generated {
            return None;
        }
        out.push((column, e));
    }
    Some(out)
}

/// The keyword `IGNORE` as a value: the column keeps its value.
fn is_ignore(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("ignore"))
}

/// `NULL`, in parentheses or not (MariaDB's NULL item either way).
fn is_null(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => is_null(inner),
        Expr::Value(v) => matches!(v.value, Value::Null),
        _ => false,
    }
}

/// The generated columns of `table` whose values change when `columns` change:
/// those reading one of them, and those reading such a column, any depth. An
/// expression the parser does not read counts where its text names a changed
/// column.
pub(super) fn generated_over(table: &Table, columns: &[String]) -> Vec<String> {
    let mut changed: Vec<String> = columns.to_vec();
    let mut out: Vec<String> = Vec::new();
    loop {
        let mut grew = false;
        for c in &table.columns {
            let Some(text) = c.generated.as_deref() else {
                continue;
            };
            if changed.iter().any(|x| eq_ci(x, &c.name)) {
                continue;
            }
            let reads = match parse_expr(text) {
                Some(e) => columns_read(&e).iter().any(|r| changed.iter().any(|x| eq_ci(x, r))),
                None => {
                    let text = text.to_ascii_lowercase();
                    changed.iter().any(|x| text.contains(&x.to_ascii_lowercase()))
                }
            };
            if reads {
                changed.push(c.name.clone());
                out.push(c.name.clone());
                grew = true;
            }
        }
        if !grew {
            return out;
        }
    }
}

/// The new value of a column an UPDATE changes by itself.
#[derive(Debug, Clone)]
pub(super) enum Implicit {
    /// A generated column's new value, as an expression over the old row.
    Computed(Box<Expr>),
    /// A value no expression over the old row gives exactly before the statement
    /// runs: the statement's time (`ON UPDATE CURRENT_TIMESTAMP`, or a generated
    /// column reading one), a volatile assignment, or an assigned value stored as
    /// only InnoDB knows (see `as_stored`) that a generated column reads.
    Unknown,
}

/// The columns of one table an UPDATE changes without assigning them.
#[derive(Debug, Clone, Default)]
pub(super) struct Implicits {
    pub(super) columns: Vec<(String, Implicit)>,
    /// The table's VIRTUAL generated columns among them: never stored, so their
    /// change neither cascades nor is checked against children (InnoDB's own
    /// behaviour), though as an FK column of the row it is checked.
    virtual_columns: Vec<String>,
    /// The columns among them whose computed value reads the statement's time (an
    /// ON UPDATE CURRENT_TIMESTAMP column, a generated column over one): exact only
    /// when the lock read and the statement run at one pinned time.
    clock: Vec<String>,
}

impl Implicits {
    fn get(&self, column: &str) -> Option<&Implicit> {
        self.columns.iter().find(|(c, _)| eq_ci(c, column)).map(|(_, i)| i)
    }

    /// Whether the UPDATE changes `column` by itself (an FK column of the row).
    pub(super) fn changes(&self, column: &str) -> bool {
        self.get(column).is_some()
    }

    /// Whether the UPDATE changes `column` by itself as a key children reference
    /// (a stored column: InnoDB leaves children of a VIRTUAL key alone).
    pub(super) fn rekeys(&self, column: &str) -> bool {
        self.changes(column) && !self.virtual_columns.iter().any(|v| eq_ci(v, column))
    }

    /// Whether `column` changes by itself to a value the gateway cannot compute.
    pub(super) fn unknown(&self, column: &str) -> bool {
        matches!(self.get(column), Some(Implicit::Unknown))
    }

    /// The new value of `column` as SQL over the old row, when it changes by
    /// itself to a value the gateway computes.
    pub(super) fn new_value(&self, column: &str) -> Option<String> {
        match self.get(column)? {
            Implicit::Computed(e) => Some(format!("({e})")),
            Implicit::Unknown => None,
        }
    }

    /// Whether the computed value of `column` reads the statement's time.
    pub(super) fn reads_clock(&self, column: &str) -> bool {
        self.clock.iter().any(|c| eq_ci(c, column))
    }

    /// The names of the columns, for the rewrite checks (`add_rewrites`).
    pub(super) fn names(&self) -> impl Iterator<Item = &String> {
        self.columns.iter().map(|(c, _)| c)
    }
}

impl<'a> Planner<'a> {
    /// What the assignments `assigned` of an UPDATE of `table` change besides
    /// themselves. `old(c)` is column `c` of the old row as the statement names it
    /// (`c`, or `alias.c` in a join). A generated column's new value is its
    /// expression over the new values of the columns it reads, each as the column
    /// stores it (an assigned `v = 5.5` into an INT is 6 to `v * 10`).
    ///
    /// With `clock` (the executor pins the statement's time for the lock read and
    /// the statement: a single-table UPDATE), an ON UPDATE CURRENT_TIMESTAMP
    /// column's new value is `IF(<the row changes>, CURRENT_TIMESTAMP(n), col)`
    /// where [`Planner::row_changes`] can say whether the row changes; otherwise,
    /// and without `clock`, it is [`Implicit::Unknown`].
    pub(super) fn implicit_changes(
        &self,
        table: &Table,
        assigned: &[(String, &Expr)],
        old: &dyn Fn(&str) -> String,
        clock: bool,
    ) -> Implicits {
        let mut out = Implicits {
            columns: Vec::new(),
            virtual_columns: table.extras.virtual_columns.clone(),
            clock: Vec::new(),
        };
        if assigned.is_empty() {
            return out;
        }
        let is_assigned = |c: &str| assigned.iter().any(|(a, _)| eq_ci(a, c));
        let changes = match clock {
            true => self.row_changes(table, assigned, old),
            false => None,
        };
        // An UPDATE that changes the row gives these the statement's time.
        for (c, digits) in &table.extras.updated_now {
            if is_assigned(c) {
                continue;
            }
            let value = changes
                .as_ref()
                .and_then(|changes| stamped(table, c, *digits, changes, old))
                .map_or(Implicit::Unknown, |e| Implicit::Computed(Box::new(e)));
            if matches!(value, Implicit::Computed(_)) {
                out.clock.push(c.clone());
            }
            out.columns.push((c.clone(), value));
        }
        let generated: Vec<(&str, &str, Option<Expr>)> = table
            .columns
            .iter()
            .filter_map(|c| Some((c.name.as_str(), c.generated.as_deref()?)))
            .map(|(name, text)| (name, text, parse_expr(text)))
            .collect();
        // Until nothing more changes: a generated column may read another.
        loop {
            let mut grew = false;
            for (name, text, expr) in &generated {
                if out.changes(name) {
                    continue;
                }
                let Some(expr) = expr else {
                    // An expression the parser does not read: its value is unknown
                    // where its text names a changed column.
                    let text = text.to_ascii_lowercase();
                    let named = |c: &String| text.contains(&c.to_ascii_lowercase());
                    if assigned.iter().map(|(a, _)| a).chain(out.names()).any(named) {
                        out.columns.push((name.to_string(), Implicit::Unknown));
                        grew = true;
                    }
                    continue;
                };
                let read = columns_read(expr);
                if !read.iter().any(|c| is_assigned(c) || out.changes(c)) {
                    continue;
                }
                let value = self.generated_value(table, expr, &read, assigned, &out, old);
                if read.iter().any(|c| out.reads_clock(c)) && matches!(value, Implicit::Computed(_)) {
                    out.clock.push(name.to_string());
                }
                out.columns.push((name.to_string(), value));
                grew = true;
            }
            if !grew {
                return out;
            }
        }
    }

    /// A generated column's new value: `expr` with each column it reads replaced
    /// by that column's new value as stored, or its old value.
    fn generated_value(
        &self,
        table: &Table,
        expr: &Expr,
        read: &[String],
        assigned: &[(String, &Expr)],
        implicit: &Implicits,
        old: &dyn Fn(&str) -> String,
    ) -> Implicit {
        // Printed back, a string with a backslash is not what was written
        // (review r26i F3).
        if has_backslash(expr) {
            return Implicit::Unknown;
        }
        let mut by: Vec<(String, Expr)> = Vec::new();
        for c in read {
            let new = if let Some(pos) = assigned.iter().rposition(|(a, _)| eq_ci(a, c)) {
                if volatile_assignment(table, c, assigned[pos].1) {
                    return Implicit::Unknown;
                }
                match self.new_value(table, c, assigned, old) {
                    Some(new) => new,
                    None => return Implicit::Unknown,
                }
            } else if let Some(i) = implicit.get(c) {
                match i {
                    Implicit::Computed(e) => format!("({e})"),
                    Implicit::Unknown => return Implicit::Unknown,
                }
            } else {
                old(c)
            };
            let Some(new) = parse_expr(&new) else {
                return Implicit::Unknown;
            };
            let changed = assigned.iter().any(|(a, _)| eq_ci(a, c)) || implicit.changes(c);
            if changed && numeric(table, c) && has_string_literal(&new) {
                return Implicit::Unknown;
            }
            // A text or byte value read other than whole does not compare or
            // convert as the column's own (reviews r26b F2, r26i F1, F2, F5).
            if changed && textual(table, c) && !whole_read(table, expr) {
                return Implicit::Unknown;
            }
            // The value the expression reads: as stored.
            let stored = match changed {
                true => match as_read(table, c, new) {
                    Ok(e) => e,
                    Err(_) => return Implicit::Unknown,
                },
                false => new,
            };
            by.push((c.clone(), stored));
        }
        let mut e = expr.clone();
        replace_columns(&mut e, &by);
        Implicit::Computed(Box::new(e))
    }
}

impl<'a> Planner<'a> {
    /// Whether an UPDATE making assignments `assigned` changes a row, as SQL over
    /// the old row (`old(c)` names its column `c`): MariaDB gives ON UPDATE
    /// CURRENT_TIMESTAMP columns the statement's time only where the row's record
    /// changes, byte for byte (`'a'` to `'A'` changes it under any collation, `v =
    /// 1.4` over 1 in an INT does not). Said only where every assigned column is of
    /// a type whose stored value the gateway computes and compares exactly (integer,
    /// DECIMAL, DATE: `as_stored`, then `<=>`); `None` otherwise. (A BEFORE UPDATE
    /// trigger could change the row further: a write to a table with triggers runs
    /// as InnoDB runs it, before any plan.)
    fn row_changes(&self, table: &Table, assigned: &[(String, &Expr)], old: &dyn Fn(&str) -> String) -> Option<Expr> {
        use tether_schema::DataType;
        let mut seen: Vec<&str> = Vec::new();
        let mut differs: Vec<String> = Vec::new();
        for (c, e) in assigned {
            if seen.iter().any(|x| eq_ci(x, c)) {
                continue;
            }
            seen.push(c);
            let column = table.columns.iter().find(|x| eq_ci(&x.name, c))?;
            let exact = matches!(
                column.normalized_type,
                DataType::Int { .. }
                    | DataType::Boolean
                    | DataType::Date
                    | DataType::Decimal { precision: Some(_), .. }
            );
            if !exact || column.generated.is_some() || volatile_assignment(table, c, e) {
                return None;
            }
            let new = parse_expr(&self.new_value(table, c, assigned, old)?)?;
            if numeric(table, c) && has_string_literal(&new) {
                return None;
            }
            let stored = as_stored(table, c, new).ok()?;
            differs.push(format!("NOT (({stored}) <=> {})", old(c)));
        }
        parse_expr(&format!("({})", differs.join(" OR ")))
    }
}

/// The new value of ON UPDATE CURRENT_TIMESTAMP column `column` (its clause of
/// `digits` fractional digits) under an UPDATE whose row changes where `changes`
/// holds: the statement's time as the column stores it, else the old value.
/// `None` for a column of another precision than its clause (the store cuts the
/// time: left to InnoDB) or of a type other than DATETIME / TIMESTAMP.
fn stamped(table: &Table, column: &str, digits: u8, changes: &Expr, old: &dyn Fn(&str) -> String) -> Option<Expr> {
    let c = table.columns.iter().find(|x| eq_ci(&x.name, column))?;
    let lower = c.engine_type.trim().to_ascii_lowercase();
    if !(lower.starts_with("datetime") || lower.starts_with("timestamp")) {
        return None;
    }
    let fsp: u8 = lower
        .split_once('(')
        .and_then(|(_, r)| r.split(')').next())
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or(0);
    if fsp != digits {
        return None;
    }
    parse_expr(&format!("IF({changes}, CURRENT_TIMESTAMP({digits}), {})", old(column)))
}

/// Whether column `column` of `table` is numeric (integer, BOOLEAN, BIT, DECIMAL,
/// FLOAT / DOUBLE): a string stored into one converts the server's own way
/// (review r24f F2), so a new value holding a string literal is not predicted.
fn numeric(table: &Table, column: &str) -> bool {
    use tether_schema::DataType;
    table.columns.iter().find(|x| eq_ci(&x.name, column)).is_some_and(|x| {
        matches!(
            x.normalized_type,
            DataType::Int { .. }
                | DataType::Boolean
                | DataType::Bits { .. }
                | DataType::Decimal { .. }
                | DataType::Float { .. }
        )
    })
}

/// The columns `e` reads, by name, each once.
fn columns_read(e: &Expr) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        if let Some(name) = column_ref(x) {
            if !out.iter().any(|c| eq_ci(c, &name)) {
                out.push(name);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    out
}

/// `e` with every column reference replaced by its expression in `by`, in one
/// pass (a replacement is not itself looked into: it may name the same column).
fn replace_columns(e: &mut Expr, by: &[(String, Expr)]) {
    let _ = sqlparser::ast::visit_expressions_mut(e, |x| {
        if let Some(name) = column_ref(x) {
            if let Some((_, replacement)) = by.iter().find(|(c, _)| eq_ci(c, &name)) {
                *x = Expr::Nested(Box::new(replacement.clone()));
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}
