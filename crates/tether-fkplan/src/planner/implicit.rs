//! Columns an UPDATE changes without assigning them: a generated column whose
//! expression reads a column that changes (assigned, or itself changed so), and an
//! `ON UPDATE CURRENT_TIMESTAMP` column, which takes the statement's time whenever
//! the row changes. A key among them re-keys its children and an FK column among
//! them needs a parent, as an assigned one does (review r23d F1, F2).

use sqlparser::ast::Expr;
use tether_schema::Table;

use super::expr::{as_stored, column_ref, parse_expr, volatile};
use super::{eq_ci, Planner};

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
    pub(super) fn implicit_changes(
        &self,
        table: &Table,
        assigned: &[(String, &Expr)],
        old: &dyn Fn(&str) -> String,
    ) -> Implicits {
        let mut out = Implicits {
            columns: Vec::new(),
            virtual_columns: table.extras.virtual_columns.clone(),
        };
        if assigned.is_empty() {
            return out;
        }
        let is_assigned = |c: &str| assigned.iter().any(|(a, _)| eq_ci(a, c));
        // An UPDATE that changes the row gives these the statement's time.
        for c in table.extras.updated_now.keys() {
            if !is_assigned(c) {
                out.columns.push((c.clone(), Implicit::Unknown));
            }
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
        let mut by: Vec<(String, Expr)> = Vec::new();
        for c in read {
            let new = if let Some(pos) = assigned.iter().rposition(|(a, _)| eq_ci(a, c)) {
                if volatile(assigned[pos].1) {
                    return Implicit::Unknown;
                }
                self.new_value(c, assigned)
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
            let stored = match changed {
                true => match as_stored(table, c, new) {
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
