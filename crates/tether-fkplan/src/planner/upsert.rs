//! INSERT ... ON DUPLICATE KEY UPDATE: one row is planned as an UPDATE of the row it
//! clashes with (`VALUES(col)` resolved to the new row's value); several rows become
//! one-row steps run in order, the outcome taken from a native run.

use std::collections::BTreeSet;

use sqlparser::ast::{Assignment, AssignmentTarget, Expr, Insert, OnInsert, SetExpr, Statement};
use tether_schema::Table;

use crate::error::PlanError;
use crate::plan::{Event, NewRows, Plan, Start};
use crate::sql::{ident, idents};

use super::clash::{KeyClash, Literal};
use super::expr::{
    allocates, as_read, as_stored, has_backslash, implicit_default, is_default, must_run_once, or_default_of,
    parse_expr, read_after, reads_column, rekeying, substitute_values, textual, values_alone, values_columns,
    volatile_assignment, whole_read,
};
use super::implicit::made_assignments;
use super::insert::one_row;
use super::{children, eq_ci, exact, last_ident, Analysis, Planner, ValuesRow};

impl<'a> Planner<'a> {
    /// INSERT ... ON DUPLICATE KEY UPDATE: what the update assigns, and whether it
    /// may change a referenced key; IGNORE and volatile new keys are InnoDB's.
    pub(super) fn on_duplicate_key(
        &self,
        i: &Insert,
        table: &'a Table,
        assignments: &[Assignment],
    ) -> Result<Analysis, PlanError> {
        let kids = children(self.schema, self.database, &table.name);
        let has_fks = !table.foreign_keys.is_empty();
        let referenced: BTreeSet<&str> = kids
            .iter()
            .flat_map(|(_, fk)| fk.referenced_columns.iter().map(String::as_str))
            .collect();
        let mut assigned: Vec<(String, &Expr)> = Vec::new();
        for a in assignments {
            let AssignmentTarget::ColumnName(c) = &a.target else {
                if kids.is_empty() {
                    return Ok(self.passthrough(table));
                }
                return Err(self.unsupported("a tuple assignment", &table.name));
            };
            let col = last_ident(c).unwrap_or_default();
            match table.columns.iter().find(|x| eq_ci(&x.name, col)) {
                Some(real) => assigned.push((real.name.clone(), &a.value)),
                None => return Ok(Analysis::Forward),
            }
        }
        // `g = DEFAULT` of a generated column, `c = IGNORE`: no assignment. Another
        // value into a generated column: MariaDB's 1906 (or its warning), InnoDB's.
        let Some(assigned) = made_assignments(table, assigned, true) else {
            return Ok(self.passthrough(table));
        };
        let rekeys = match rekeying(table, &assigned, &referenced) {
            // The lock read and the statement would compute different new keys.
            Some(true) => return Ok(self.passthrough(table)),
            changes => changes.is_some(),
        };
        // A referenced key the update changes without assigning it (a STORED
        // generated column over an assigned one, an ON UPDATE CURRENT_TIMESTAMP
        // column): the clashing row's new key is InnoDB's to compute, with its
        // cascades (docs/gateway.md, Limits).
        let implicit = self.implicit_changes(table, &assigned, &|c| ident(c), false);
        if referenced.iter().any(|r| implicit.rekeys(r)) {
            return Ok(self.passthrough(table));
        }
        // IGNORE: an update that fails (a duplicate key) is skipped with a
        // warning, cascades and all; InnoDB runs it (docs/gateway.md, Limits).
        if i.ignore || (!rekeys && !has_fks) {
            return Ok(self.passthrough(table));
        }
        self.upsert(i, table, &assigned, rekeys)
    }

    /// ON DUPLICATE KEY UPDATE of several rows that may change a referenced key:
    /// MariaDB takes the rows one by one (a row may clash with one an earlier row
    /// inserted or updated), so each row becomes a one-row statement planned as
    /// such, run in order; the outcome comes from a native run.
    pub(super) fn upsert_rows(
        &self,
        i: &Insert,
        table: &'a Table,
        columns: &[String],
        rows: &[ValuesRow],
    ) -> Result<Analysis, PlanError> {
        let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &i.on else {
            return Ok(self.passthrough(table));
        };
        // NULL into a NOT NULL column: outside strict mode a warning (the implicit
        // default) in a multi-row statement, an error in its one-row steps.
        let null_into_not_null = rows.iter().any(|r| {
            r.content.iter().zip(columns).any(|(e, c)| {
                matches!(Literal::of(e), Literal::Null)
                    && table
                        .columns
                        .iter()
                        .any(|x| eq_ci(&x.name, c) && !x.nullable && x.identity.is_none())
            })
        });
        if allocates(table, columns, Some(rows)) || must_run_once(&self.original) || null_into_not_null {
            // The native run would take auto-increment values a rollback does not
            // give back: InnoDB runs it (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        }
        // The native run succeeded before the steps run (it answers the client):
        // a NULL one assigns to a NOT NULL column was stored as the implicit
        // default there (outside strict mode, warning 1048), where a one-row step
        // would fail with 1048; each step stores that default itself.
        let mut sets: Vec<String> = Vec::new();
        let mut assignments: Vec<Assignment> = assignments.to_vec();
        for a in &mut assignments {
            let mut text = self.source.expr_text(&a.value);
            let column = match &a.target {
                AssignmentTarget::ColumnName(c) => last_ident(c).unwrap_or_default(),
                _ => "",
            };
            if let Some(default) = implicit_default(table, column).filter(|_| !is_default(&a.value)) {
                // A type whose implicit value is not known here: InnoDB runs it
                // (docs/gateway.md, Limits).
                let Ok(default) = default else {
                    return Ok(self.passthrough(table));
                };
                text = format!("IFNULL(({text}), {default})");
                match parse_expr(&text) {
                    Some(e) => a.value = e,
                    None => return Ok(self.passthrough(table)),
                }
            }
            sets.push(format!("{} = {text}", a.target));
        }
        let mut i = i.clone();
        i.on = Some(OnInsert::DuplicateKeyUpdate(assignments.clone()));
        let i = &i;
        let column_list = if i.columns.is_empty() {
            String::new()
        } else {
            format!(" ({})", idents(columns))
        };
        let mut steps = Vec::new();
        for row in rows {
            let values: Vec<String> = row.content.iter().map(|e| self.source.expr_text(e)).collect();
            // The step's own text is what runs; its plan comes from the same
            // statement with this row only.
            let text = format!(
                "INSERT {}INTO {}{column_list} VALUES ({}) ON DUPLICATE KEY UPDATE {}",
                if i.ignore { "IGNORE " } else { "" },
                ident(&table.name),
                values.join(", "),
                sets.join(", ")
            );
            let named = (!i.columns.is_empty()).then_some(columns);
            let step = Statement::Insert(one_row(i, table, named, row.content.clone()));
            let planner = Planner {
                schema: self.schema,
                database: self.database,
                source: self.source.clone(),
                original: text.clone(),
            };
            match planner.statement(&step)? {
                Analysis::Plan(p) => steps.push(*p),
                Analysis::Forward => steps.push(Plan {
                    original_fk_checks: true,
                    ..Plan::new(&table.name, Start::Nothing, &text)
                }),
            }
        }
        Ok(Analysis::Plan(Box::new(Plan {
            native_first: true,
            steps,
            ..Plan::new(&table.name, Start::Nothing, &self.original)
        })))
    }

    /// INSERT ... ON DUPLICATE KEY UPDATE of one row: the clashing row is read with
    /// its new values (`VALUES(col)` meaning the new row's value) when the update
    /// may change a referenced key (`rekeys`) or an FK column; without a clash the
    /// row is inserted and its FKs are checked.
    pub(super) fn upsert(
        &self,
        i: &Insert,
        table: &'a Table,
        assigned: &[(String, &Expr)],
        rekeys: bool,
    ) -> Result<Analysis, PlanError> {
        let fk_column = |c: &str| {
            table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|x| eq_ci(x, c)))
        };
        // An FK column the server computes (a generated column) changes with the
        // columns it reads, which the update may assign, an ON UPDATE
        // CURRENT_TIMESTAMP one with any change of the row: InnoDB checks it.
        let implicit = self.implicit_changes(table, assigned, &|c| ident(c), false);
        let generated_fk = table
            .columns
            .iter()
            .any(|c| (c.generated.is_some() || implicit.changes(&c.name)) && fk_column(&c.name));
        let checks = self
            .values_checks(i, table, true)
            .filter(|_| {
                !assigned
                    .iter()
                    .any(|(c, e)| fk_column(c) && volatile_assignment(table, c, e))
            })
            .filter(|_| !generated_fk || assigned.is_empty());
        if !rekeys && checks.is_none() {
            // Several rows, a SELECT source, expressions, volatile functions: InnoDB
            // checks them.
            return Ok(self.passthrough(table));
        }
        if !matches!(i.source.as_deref().map(|q| q.body.as_ref()), Some(SetExpr::Values(_))) {
            // INSERT ... SELECT ... ON DUPLICATE KEY UPDATE of a referenced key:
            // InnoDB runs it, with its own cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        }
        let Some((columns, rows)) = self.values(i, table, "INSERT ... ON DUPLICATE KEY UPDATE")? else {
            return Ok(Analysis::Forward);
        };
        if rows.len() != 1 {
            return self.upsert_rows(i, table, &columns, rows);
        }
        let Ok(clashes) = self.clashes(table, &columns, rows) else {
            // Which row InnoDB updates only InnoDB knows: it runs the statement,
            // with its checks and cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        };
        if clashes.is_empty() {
            // Nothing can clash: a plain insert.
            return Ok(match checks {
                Some(c) => self.checked_only(table, c),
                None => self.passthrough(table),
            });
        }
        let condition: Vec<String> = clashes.iter().map(KeyClash::condition).collect();
        // VALUES(col) is the new row's value of col.
        let row = &rows[0].content;
        // Printed back, a string with a backslash is not what was written (review
        // r26i F3): InnoDB runs the statement.
        if rows.iter().any(|r| r.content.iter().any(has_backslash)) {
            return Ok(self.passthrough(table));
        }
        // Columns whose stored value no SQL expression gives exactly (see
        // `as_stored`), with their types: `VALUES(col)` of one is only InnoDB's.
        let mut unknown_sources: Vec<(String, String)> = Vec::new();
        let by_values: Vec<(String, Expr)> = columns
            .iter()
            .zip(row.iter())
            .map(|(c, e)| match as_stored(table, c, e.clone()) {
                Ok(stored) => (c.clone(), stored),
                Err(kind) => {
                    unknown_sources.push((c.clone(), kind));
                    (c.clone(), e.clone())
                }
            })
            .collect();
        // The same as an expression reads them, a text value in its column's
        // collation (`VALUES(v) = 'abc'` compares as `v` does; review r26b F2); a
        // text column of an unknown collation is unknown there. An assignment of
        // `VALUES(col)` alone stores the value, which needs no collation.
        let mut unknown_reads: Vec<(String, String)> = Vec::new();
        let by_reads: Vec<(String, Expr)> = columns
            .iter()
            .zip(row.iter())
            .map(|(c, e)| match as_read(table, c, e.clone()) {
                Ok(read) => (c.clone(), read),
                Err(kind) => {
                    unknown_reads.push((c.clone(), kind));
                    (c.clone(), e.clone())
                }
            })
            .collect();
        let mut resolved: Vec<(String, Expr)> = Vec::new();
        // What a later assignment reads of each assigned column: its stored value
        // (`None`: not known).
        let mut reads: Vec<(String, Option<Expr>)> = Vec::new();
        // Assigned columns whose new value reads such a `VALUES(col)` (directly or
        // through a column assigned before): (assigned, source column, its type).
        let mut unknown: Vec<(String, String, String)> = Vec::new();
        for (c, e) in assigned {
            let mut e = or_default_of(e, &ident(c));
            let alone = values_alone(table, &e);
            let (by, unknown_sources) = match alone {
                true => (&by_values, &unknown_sources),
                false => (&by_reads, &unknown_reads),
            };
            let from = values_columns(&e)
                .iter()
                .find_map(|v| unknown_sources.iter().find(|(s, _)| eq_ci(s, v)).cloned())
                .or_else(|| {
                    unknown
                        .iter()
                        .find(|(a, _, _)| reads_column(&e, a))
                        .map(|(_, s, t)| (s.clone(), t.clone()))
                });
            // A text or byte value put into the expression other than whole does
            // not compare or convert as its column's own (reviews r26b F2, r26i
            // F1, F2, F5); a string with a backslash is not printed back as
            // written (r26i F3): InnoDB runs the statement.
            let text = values_columns(&e)
                .iter()
                .filter(|_| !alone)
                .chain(reads.iter().filter(|(r, _)| reads_column(&e, r)).map(|(r, _)| r))
                .any(|x| textual(table, x));
            // (A value from a `VALUES(col)` whose stored value is not known is
            // refused below where it re-keys.)
            if (from.is_none() && text && !whole_read(table, &e)) || has_backslash(&e) {
                return Ok(self.passthrough(table));
            }
            if !substitute_values(&mut e, by) {
                return Ok(self.passthrough(table));
            }
            // MariaDB assigns left to right: a later assignment reads what an
            // earlier column stored (review r26b F1). Where that is not known,
            // InnoDB runs the statement.
            if read_after(table, &mut e, &reads).is_none() && from.is_none() {
                return Ok(self.passthrough(table));
            }
            if let Some((source, kind)) = from {
                unknown.push((c.clone(), source, kind));
            }
            reads.push((c.clone(), as_read(table, c, e.clone()).ok()));
            resolved.push((c.clone(), e));
        }
        // A key other tables reference cascades the value the gateway computes:
        // from such a column it would guess (review r22j F1-F3), so it refuses.
        let referenced = children(self.schema, self.database, &table.name);
        if let Some((c, source, kind)) = unknown.iter().find(|(c, _, _)| {
            referenced
                .iter()
                .any(|(_, fk)| fk.referenced_columns.iter().any(|r| eq_ci(r, c)))
        }) {
            return Err(self.unsupported(
                &format!(
                    "an ON DUPLICATE KEY UPDATE of `{c}`, a key other tables reference, from `VALUES({source})` of \
                     a {kind} column (the gateway does not compute the value MariaDB stores from one)"
                ),
                &table.name,
            ));
        }
        // An FK column of the row itself: InnoDB checks its parent, on the native
        // run first when the plan has keys to cascade, else by running it.
        let by_native = unknown.iter().any(|(c, _, _)| fk_column(c));
        if by_native && !rekeys {
            return Ok(self.passthrough(table));
        }
        let allocates = allocates(table, &columns, Some(rows)) || must_run_once(&self.original);
        if by_native && allocates {
            return Err(self.unsupported(
                "an ON DUPLICATE KEY UPDATE that may take auto-increment or sequence values, re-keys a referenced \
                 key and writes an FK column from `VALUES(col)` of a column whose stored value only InnoDB knows",
                &table.name,
            ));
        }
        let checks = checks.filter(|_| !by_native);
        let new_value = |k: &String| match resolved.iter().rev().find(|(c, _)| eq_ci(c, k)) {
            Some((_, e)) => format!("({e})"),
            None => ident(k),
        };
        let keys = self.key_columns(table);
        let mut select: Vec<String> = keys.iter().map(|k| exact(table, k, ident(k))).collect();
        select.extend(keys.iter().map(|k| exact(table, k, new_value(k))));
        let checks = checks.map(|mut c| {
            // The clashing row's index entries may be written again (a new primary
            // key, another column of an FK's index): InnoDB checks those FKs again.
            let names: Vec<String> = assigned.iter().map(|(c, _)| c.clone()).collect();
            self.add_rewrites(table, &mut c, &names);
            select.extend(c.columns.iter().map(|k| exact(table, k, ident(k))));
            select.extend(c.columns.iter().map(|k| exact(table, k, new_value(k))));
            if let NewRows::Values(mut v) = std::mem::replace(&mut c.rows, NewRows::Read) {
                c.rows = NewRows::ReadOrValues(v.pop().unwrap_or_default());
            }
            c
        });
        // Every row the new row clashes with, and on which index: the executor
        // keeps the one InnoDB updates (see `Clash::flags`). On one index it
        // clashes with one row at most.
        let clashes = if clashes.len() > 1 { clashes } else { Vec::new() };
        select.extend(clashes.iter().map(|c| format!("COALESCE({}, 0)", c.condition())));
        let read = format!(
            "SELECT {} FROM {} WHERE {} FOR UPDATE",
            select.join(", "),
            ident(&table.name),
            condition.join(" OR ")
        );
        let flags = clashes.into_iter().map(|c| c.index).collect();
        Ok(Analysis::Plan(Box::new(Plan {
            rules: if rekeys {
                self.rules_from(table, Event::Update)
            } else {
                Vec::new()
            },
            original_fk_checks: !table.foreign_keys.is_empty() && checks.is_none() && !by_native,
            parent_checks: checks,
            clash: self.clash(table, flags),
            native_first: by_native,
            allocates,
            ..Plan::new(&table.name, Start::Update { read }, &self.original)
        })))
    }
}
