//! UPDATE: which referenced keys it changes (old key, new key, read under lock), the
//! parent checks of the FK columns it writes, and the ON UPDATE rules that follow.
//! Multi-table UPDATE (`UPDATE t1 JOIN t2 SET ...`) reads each re-keyed table.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{AssignmentTarget, Expr, ObjectNamePart, TableFactor};
use tether_schema::{ForeignKey, Table};

use crate::error::PlanError;
use crate::plan::{ActionKind, Event, NewRows, Part, Plan, Start, Target, Template};
use crate::sql::ident;

use super::expr::{
    as_read, column_ref, has_backslash, is_default, mentions_values, or_default_of, qualified, read_after, rekeying,
    volatile_assignment, volatile_condition,
};
use super::implicit::{generated_over, made_assignments, Implicits};
use super::multi::Named;
use super::{children, eq_ci, exact, last_ident, Analysis, Planner};

impl<'a> Planner<'a> {
    pub(super) fn update(&self, u: &sqlparser::ast::Update) -> Result<Analysis, PlanError> {
        if u.from.is_some() {
            let relations = std::iter::once(&u.table.relation).chain(u.table.joins.iter().map(|j| &j.relation));
            return self.multi_table(relations, "UPDATE ... FROM");
        }
        if !u.table.joins.is_empty() {
            return self.multi_update(u);
        }
        let relation = &u.table.relation;
        let TableFactor::Table { name, .. } = relation else {
            return Ok(Analysis::Forward);
        };
        let Some(table) = self.table(name)? else {
            return Ok(Analysis::Forward);
        };
        // Assigned columns in order, with their expressions.
        let mut assigned: Vec<(String, &Expr)> = Vec::new();
        for a in &u.assignments {
            match &a.target {
                AssignmentTarget::ColumnName(c) => {
                    let col = last_ident(c).unwrap_or_default().to_string();
                    let Some(real) = table.columns.iter().find(|x| eq_ci(&x.name, &col)) else {
                        // Unknown column: let the backend raise its own error.
                        return Ok(Analysis::Forward);
                    };
                    assigned.push((real.name.clone(), &a.value));
                }
                AssignmentTarget::Tuple(_) => return Err(self.unsupported("a tuple assignment", &table.name)),
            }
        }
        // `VALUES(col)` outside ON DUPLICATE KEY UPDATE: MariaDB's own error
        // (1064), from InnoDB's run, which fails before writing anything.
        if assigned.iter().any(|(_, e)| mentions_values(e)) {
            return Ok(self.passthrough(table));
        }
        // `g = DEFAULT` of a generated column, `c = IGNORE`: no assignment. Another
        // value into a generated column: MariaDB's 1906 (or its warning), InnoDB's.
        let Some(assigned) = made_assignments(table, assigned, false) else {
            return Ok(self.passthrough(table));
        };
        let referenced: BTreeSet<String> = children(self.schema, self.database, &table.name)
            .iter()
            .flat_map(|(_, fk)| fk.referenced_columns.iter().cloned())
            .collect();
        // Columns the statement changes without assigning them: generated columns
        // over changed ones, ON UPDATE CURRENT_TIMESTAMP columns.
        // The statement's time is pinned for the lock read and the statement (a
        // single-table UPDATE: `Plan::pins_time`), so an ON UPDATE CURRENT_TIMESTAMP
        // key's new value is computed where the planner can tell the row changes.
        let implicit = self.implicit_changes(table, &assigned, &|c| ident(c), true);
        let implicit_rekeys = referenced.iter().filter(|r| implicit.rekeys(r));
        let rekeys = match rekeying(table, &assigned, &referenced) {
            // The lock read and the UPDATE would compute different new keys (RAND(),
            // NEXT VALUE FOR, the statement's time, ...): InnoDB runs it, with its
            // own cascades.
            Some(true) => return Ok(self.passthrough(table)),
            _ if implicit_rekeys.clone().any(|r| implicit.unknown(r)) => return Ok(self.passthrough(table)),
            changes => changes.is_some() || implicit_rekeys.count() > 0,
        };
        // The FKs of this table whose columns the statement changes (assigned, or
        // changed by the server): their new values need a parent.
        let assigns = |fk: &ForeignKey| {
            fk.columns
                .iter()
                .any(|x| assigned.iter().any(|(c, _)| eq_ci(x, c)) || implicit.changes(x))
        };
        let writes_own_fk = table.foreign_keys.iter().any(assigns);
        if !rekeys && !writes_own_fk {
            return Ok(self.passthrough(table));
        }
        // A value the lock read and the UPDATE would compute differently (RAND(),
        // NOW(), ...) cannot be checked before: InnoDB checks it.
        let fk_column = |c: &str| {
            table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|x| eq_ci(x, c)))
        };
        let stable = !assigned
            .iter()
            .any(|(c, e)| fk_column(c) && volatile_assignment(table, c, e))
            && !implicit.names().any(|c| fk_column(c) && implicit.unknown(c));
        // Also the FKs whose index entry the statement writes again (a new primary
        // key, another column of the FK's index): InnoDB checks those again too.
        let rewritten = |fk: &ForeignKey| {
            assigned
                .iter()
                .map(|(c, _)| c)
                .chain(implicit.names())
                .any(|c| self.rewrites_fk(table, fk, c))
        };
        let checked = self
            .checkable_fks(table, |fk| assigns(fk) || rewritten(fk))
            .or_else(|| self.checkable_fks(table, assigns));
        let checks = match checked {
            Some(fks) if !fks.is_empty() && stable => {
                let mut checks = self.parent_checks(table, &fks, false, NewRows::Read);
                let names: Vec<String> = assigned
                    .iter()
                    .map(|(c, _)| c)
                    .chain(implicit.names())
                    .cloned()
                    .collect();
                self.add_rewrites(table, &mut checks, &names);
                // A column of the checks whose new value only the statement knows
                // (an index column the statement's time changes): InnoDB checks.
                (!checks.columns.iter().any(|c| implicit.unknown(c))).then_some(checks)
            }
            _ => None,
        };
        if !rekeys && checks.is_none() {
            // FKs the gateway cannot check (another database): InnoDB checks them.
            return Ok(self.passthrough(table));
        }
        let keys = self.key_columns(table);
        let mut select: Vec<String> = keys.iter().map(|k| exact(table, k, ident(k))).collect();
        let assigned_value = |c: &str| self.new_value(table, c, &assigned, &|c| ident(c));
        let new_value = |c: &str| implicit.new_value(c).or_else(|| assigned_value(c));
        // A new value read from an earlier assignment whose stored value the
        // gateway does not know: InnoDB runs the statement (review r26b F1).
        let mut new_keys = Vec::with_capacity(keys.len());
        for k in &keys {
            // A VIRTUAL key keeps its children: InnoDB stores no value of it.
            let new = match implicit.rekeys(k) {
                true => new_value(k),
                false => assigned_value(k),
            };
            let Some(new) = new else {
                return Ok(self.passthrough(table));
            };
            new_keys.push(exact(table, k, new));
        }
        select.extend(new_keys);
        if let Some(checks) = &checks {
            let Some(new) = checks.columns.iter().map(|c| new_value(c)).collect::<Option<Vec<_>>>() else {
                return Ok(self.passthrough(table));
            };
            select.extend(checks.columns.iter().map(|c| exact(table, c, ident(c))));
            select.extend(checks.columns.iter().zip(new).map(|(c, n)| exact(table, c, n)));
        }
        let read = format!(
            "SELECT {}{}",
            select.join(", "),
            self.tail(relation, u.selection.as_ref(), &u.order_by, u.limit.as_ref())
        );
        let sets: Vec<String> = u
            .assignments
            .iter()
            .map(|a| format!("{} = {}", a.target, self.source.expr_text(&a.value)))
            .collect();
        let returning = u
            .returning
            .as_ref()
            .map(|r| r.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
        let rules = match rekeys {
            true => self.rules_from(table, Event::Update),
            false => Vec::new(),
        };
        if self.reads_written(u.selection.as_ref(), &rules) {
            // MariaDB re-evaluates the subquery row by row, between the cascades
            // of earlier rows (unless it collects the rows first); no native trial
            // finds an UPDATE's rows.
            return Err(self.unsupported(
                "an UPDATE of referenced keys whose WHERE reads, in a subquery, a table its cascade changes",
                &table.name,
            ));
        }
        let pick = self.pick(
            table,
            relation,
            u.selection.as_ref(),
            &u.order_by,
            u.limit.as_ref(),
            &select.join(", "),
            format!("UPDATE {relation} SET {}", sets.join(", ")),
            returning,
            true,
            false,
        )?;
        let prefix = match table.primary_key.as_slice() {
            [pk] => {
                let sets: Vec<String> = u
                    .assignments
                    .iter()
                    .map(|a| format!("{} = {}", a.target, self.source.expr_text(&a.value)))
                    .collect();
                Some(Template {
                    parts: vec![
                        Part::Text(format!(
                            "UPDATE {relation} SET {} WHERE {} IN (",
                            sets.join(", "),
                            ident(pk)
                        )),
                        Part::Keys,
                        Part::Text(format!(") ORDER BY FIELD({}, ", ident(pk))),
                        Part::Keys,
                        Part::Text(")".into()),
                    ],
                })
            }
            _ => None,
        };
        // The lock read reads the statement's time where a re-keyed key or a
        // checked FK column takes it.
        let pins_time = keys.iter().any(|k| implicit.rekeys(k) && implicit.reads_clock(k))
            || checks
                .as_ref()
                .is_some_and(|c| c.columns.iter().any(|x| implicit.reads_clock(x)));
        Ok(Analysis::Plan(Box::new(Plan {
            rules,
            pins_time,
            original_fk_checks: writes_own_fk && checks.is_none(),
            parent_checks: checks,
            prefix,
            pick,
            ..Plan::new(&table.name, Start::Update { read }, &self.original)
        })))
    }

    /// The value column `column` of `table` has after the assignments (those MariaDB
    /// makes, see [`made_assignments`]), as an expression over the old row, `old(c)`
    /// naming column `c` of it (`c`, or `alias.c` in a join). MariaDB assigns left
    /// to right, and a later assignment reads the value an earlier column stored
    /// (`SET a = 2.4, k = a * 10` gives k 20 in an INT `a`): earlier assigned
    /// columns are substituted by their stored values ([`as_read`]). `None` where
    /// such a stored value is not known exactly (review r26b F1): the caller leaves
    /// the statement to InnoDB.
    pub(super) fn new_value(
        &self,
        table: &Table,
        column: &str,
        assigned: &[(String, &Expr)],
        old: &dyn Fn(&str) -> String,
    ) -> Option<String> {
        let Some(pos) = assigned.iter().rposition(|(c, _)| eq_ci(c, column)) else {
            return Some(old(column));
        };
        let (_, expr) = assigned[pos];
        if is_default(expr) {
            return Some(format!("(DEFAULT({}))", old(column)));
        }
        let earlier = &assigned[..pos];
        let mentions_earlier = {
            let mut found = false;
            let _ = sqlparser::ast::visit_expressions(expr, |e| {
                if let Some(name) = column_ref(e) {
                    found |= earlier.iter().any(|(c, _)| eq_ci(c, &name));
                }
                ControlFlow::<()>::Continue(())
            });
            found
        };
        if !mentions_earlier {
            return Some(format!("({})", self.source.expr_text(expr)));
        }
        // Innermost first, so chains resolve: each earlier value is itself an
        // expression over the old row. A value naming another table's column (a
        // join) is not read by type here: not predicted.
        let mut read: Vec<(String, Option<Expr>)> = Vec::new();
        for (c, e) in earlier {
            let mut e = or_default_of(e, &old(c));
            let value = match qualified(&e) {
                true => None,
                false => read_after(table, &mut e, &read).and_then(|()| as_read(table, c, e).ok()),
            };
            read.push((c.clone(), value));
        }
        // Printed back, a string with a backslash is not what was written
        // (review r26i F3).
        if has_backslash(expr) {
            return None;
        }
        let mut e = expr.clone();
        read_after(table, &mut e, &read)?;
        Some(format!("({e})"))
    }

    /// `UPDATE t1 JOIN t2 ... SET ...`: the tables whose referenced keys the
    /// assignments change are locked and read (old keys, new keys) over the
    /// statement's own join; their update rules apply as for one table.
    pub(super) fn multi_update(&self, u: &sqlparser::ast::Update) -> Result<Analysis, PlanError> {
        let named = self.named_tables(std::iter::once(&u.table))?;
        let mut assigned: Vec<Vec<(String, &Expr)>> = vec![Vec::new(); named.len()];
        // Each assignment's table (its index in `named`) and column, in order.
        let mut writes: Vec<(usize, String)> = Vec::new();
        for a in &u.assignments {
            let AssignmentTarget::ColumnName(c) = &a.target else {
                return match named.iter().find(|n| self.involved(n.table)) {
                    Some(n) => Err(self.unsupported("a tuple assignment", &n.table.name)),
                    None => Ok(Analysis::Forward),
                };
            };
            let parts: Vec<&str> =
                c.0.iter()
                    .filter_map(|p| match p {
                        ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                        _ => None,
                    })
                    .collect();
            let (qualifier, column) = match parts.as_slice() {
                [column] => (None, *column),
                [.., q, column] => (Some(*q), *column),
                [] => return Ok(Analysis::Forward),
            };
            let index = match qualifier {
                Some(q) => named.iter().position(|n| eq_ci(&n.qualifier, q)),
                None => {
                    let owners: Vec<usize> = (0..named.len())
                        .filter(|i| named[*i].table.columns.iter().any(|x| eq_ci(&x.name, column)))
                        .collect();
                    match owners.as_slice() {
                        [one] => Some(*one),
                        _ => None,
                    }
                }
            };
            // A table of another keyspace, or a column MariaDB will refuse: the
            // backend answers.
            let Some(index) = index else {
                return Ok(Analysis::Forward);
            };
            let Some(real) = named[index].table.columns.iter().find(|x| eq_ci(&x.name, column)) else {
                return Ok(Analysis::Forward);
            };
            assigned[index].push((real.name.clone(), &a.value));
            writes.push((index, real.name.clone()));
        }
        // MariaDB updates the first table of the join in place and the others
        // through a temporary table: their assignments read their own old values
        // and the first table's new ones (review r26i F4). Where an assignment
        // reads a column another assignment of the statement writes (of any table
        // where its table is not clear), the gateway does not say which value it
        // reads: InnoDB runs the statement.
        let owner = |e: &Expr| -> Option<usize> {
            match e {
                Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                    let q = &parts[parts.len() - 2].value;
                    named.iter().position(|n| eq_ci(&n.qualifier, q))
                }
                _ => {
                    let name = column_ref(e)?;
                    let owners: Vec<usize> = (0..named.len())
                        .filter(|i| named[*i].table.columns.iter().any(|x| eq_ci(&x.name, &name)))
                        .collect();
                    match owners.as_slice() {
                        [one] => Some(*one),
                        _ => None,
                    }
                }
            }
        };
        // Per table, the columns a write to it changes with it: its generated
        // columns over a written column (STORED or VIRTUAL, any depth) and its ON
        // UPDATE CURRENT_TIMESTAMP columns (the row changes). A later table reads
        // the first table's new row, these columns as recomputed; the lock read
        // would read their old values (review r27a F2). The table's own
        // assignments read them old, as a single-table UPDATE does.
        let dependent: Vec<Vec<String>> = named
            .iter()
            .enumerate()
            .map(|(t, n)| {
                let written: Vec<String> = writes.iter().filter(|(x, _)| *x == t).map(|(_, c)| c.clone()).collect();
                if written.is_empty() {
                    return Vec::new();
                }
                let mut out: Vec<String> = n.table.extras.updated_now.keys().cloned().collect();
                let changed: Vec<String> = written.iter().chain(&out).cloned().collect();
                out.extend(generated_over(n.table, &changed));
                out
            })
            .collect();
        let reads_written = u.assignments.iter().enumerate().any(|(i, a)| {
            let mut found = false;
            let _ = sqlparser::ast::visit_expressions(&a.value, |e| {
                if let Some(name) = column_ref(e) {
                    let table = owner(e);
                    found |= writes
                        .iter()
                        .enumerate()
                        .any(|(j, (t, w))| j != i && eq_ci(w, &name) && table.is_none_or(|x| x == *t));
                    found |= dependent.iter().enumerate().any(|(t, columns)| {
                        t != writes[i].0 && columns.iter().any(|c| eq_ci(c, &name)) && table.is_none_or(|x| x == t)
                    });
                }
                ControlFlow::<()>::Continue(())
            });
            found
        });
        if reads_written {
            return Ok(match named.iter().find(|n| self.involved(n.table)) {
                Some(n) => self.passthrough(n.table),
                None => Analysis::Forward,
            });
        }
        // Per table, the assignments MariaDB makes (see `made_assignments`).
        let mut made: Vec<Vec<(String, &Expr)>> = Vec::with_capacity(named.len());
        for (n, a) in named.iter().zip(assigned) {
            match made_assignments(n.table, a, false) {
                Some(a) => made.push(a),
                None => return Ok(self.passthrough(n.table)),
            }
        }
        let assigned = made;
        // Per table, the columns the statement changes without assigning them.
        let implicit: Vec<Implicits> = named
            .iter()
            .zip(&assigned)
            .map(|(n, a)| self.implicit_changes(n.table, a, &|c| n.column(c), false))
            .collect();
        let rekeys = |n: &Named, assigned: &[(String, &Expr)], implicit: &Implicits| {
            children(self.schema, self.database, &n.table.name)
                .iter()
                .any(|(_, fk)| {
                    fk.referenced_columns
                        .iter()
                        .any(|r| assigned.iter().any(|(c, _)| eq_ci(c, r)) || implicit.rekeys(r))
                })
        };
        let tail = match &u.selection {
            Some(w) => format!(" WHERE {}", self.source.expr_text(w)),
            None => String::new(),
        };
        let mut targets = Vec::new();
        for ((n, assigned), implicit) in named.iter().zip(&assigned).zip(&implicit) {
            if assigned.is_empty() || !rekeys(n, assigned, implicit) {
                continue;
            }
            let keys = self.key_columns(n.table);
            if assigned
                .iter()
                .any(|(c, e)| keys.iter().any(|k| eq_ci(k, c)) && volatile_assignment(n.table, c, e))
                || keys.iter().any(|k| implicit.rekeys(k) && implicit.unknown(k))
            {
                // The lock read and the statement would compute different new keys.
                return Ok(self.passthrough(n.table));
            }
            let mut select: Vec<String> = keys.iter().map(|k| exact(n.table, k, n.column(k))).collect();
            for k in &keys {
                if assigned.iter().any(|(c, _)| eq_ci(c, k)) {
                    let Some(new) = self.new_value(n.table, k, assigned, &|c| n.column(c)) else {
                        // An earlier assignment's stored value the gateway does not
                        // know (review r26b F1).
                        return Ok(self.passthrough(n.table));
                    };
                    select.push(exact(n.table, k, new));
                } else if let Some(new) = implicit.new_value(k).filter(|_| implicit.rekeys(k)) {
                    select.push(exact(n.table, k, new));
                } else {
                    select.push(exact(n.table, k, n.column(k)));
                }
            }
            let read = format!(
                "SELECT DISTINCT {} FROM {}{tail} FOR UPDATE",
                select.join(", "),
                u.table
            );
            targets.push((
                n.table,
                Target {
                    table: n.table.name.clone(),
                    event: Event::Update,
                    read,
                    by_key: None,
                    parent: true,
                },
            ));
        }
        if let Some((t, _)) = targets
            .first()
            .filter(|_| u.selection.as_ref().is_some_and(volatile_condition))
        {
            // The native run, the lock reads and the statement would each pick
            // their own rows (RAND(), a user variable) or take a user lock again:
            // InnoDB runs it, once, with its own cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(t));
        }
        // Two re-keyed tables whose changes meet: a column both change (their own
        // assignments or cascades), or a key one reads that the other changes.
        // MariaDB composes such changes row by row, in its join order, which key
        // sets read up front cannot. InnoDB runs such a statement (exact result;
        // its cascades miss the binlog, see docs/gateway.md). Changes to distinct
        // columns commute: `UPDATE staff JOIN store SET staff.staff_id = ...,
        // store.store_id = ...` is planned.
        pub(super) type Columns = BTreeSet<(String, String)>;
        let effects: Vec<(Columns, Columns)> = targets
            .iter()
            .map(|(t, _)| {
                let mut changed: Columns = BTreeSet::new();
                let mut keys: Columns = BTreeSet::new();
                if let Some(i) = named.iter().position(|n| n.table.name == t.name) {
                    for c in assigned[i].iter().map(|(c, _)| c).chain(implicit[i].names()) {
                        changed.insert((t.name.clone(), c.to_ascii_lowercase()));
                    }
                }
                for r in self.rules_from(t, Event::Update) {
                    for k in &r.key_columns {
                        keys.insert((r.table.clone(), k.to_ascii_lowercase()));
                    }
                    for a in &r.actions {
                        if matches!(a.kind, ActionKind::Update { .. }) {
                            for c in &a.fk.columns {
                                changed.insert((a.fk.child.clone(), c.to_ascii_lowercase()));
                            }
                        }
                    }
                }
                (changed, keys)
            })
            .collect();
        let overlap = (0..effects.len()).any(|i| {
            (0..effects.len()).any(|j| {
                i != j
                    && (effects[i].0.intersection(&effects[j].0).next().is_some()
                        || effects[i].0.intersection(&effects[j].1).next().is_some())
            })
        });
        if overlap {
            return Ok(self.passthrough(targets[0].0));
        }
        if targets.is_empty() {
            // No referenced key changes: InnoDB checks any FK column written and
            // nothing cascades.
            return Ok(match named.iter().zip(&assigned).find(|(_, a)| !a.is_empty()) {
                Some((n, _)) => self.passthrough(n.table),
                None => Analysis::Forward,
            });
        }
        Ok(self.multi_plan(targets))
    }
}

/// A single-table `UPDATE` cut into its parts, for an executor that runs it one
/// row at a time by key (a sharding engine's head, where an UPDATE that moves
/// several rows to another partition loses their other columns): each row as
/// `{head} WHERE <its key>`, the rows found by `SELECT ... FROM {relation}
/// {tail}` first, in the statement's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateParts {
    /// `UPDATE t SET a = ..., b = ...`, the table and assignments as written.
    pub head: String,
    /// The table's name, its parts unquoted (`[db, t]` or `[t]`).
    pub table: Vec<String>,
    /// The relation as written (with its alias, if any).
    pub relation: String,
    /// The assigned columns, unquoted, in order (`None` for a tuple target).
    pub assigned: Vec<Option<String>>,
    /// ` WHERE ...` as written, or empty.
    pub selection: String,
    /// The ORDER BY items as written.
    pub order_by: Vec<String>,
    /// ` LIMIT n` as written, or empty.
    pub limit: String,
}

/// `sql` cut into [`UpdateParts`]; `None` for anything but a single-table UPDATE
/// the parts carry as written (no join, FROM, hints, RETURNING or conflict clause).
pub fn update_parts(sql: &str) -> Option<UpdateParts> {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;
    let statements = Parser::parse_sql(&MySqlDialect {}, sql).ok()?;
    let [sqlparser::ast::Statement::Update(u)] = statements.as_slice() else {
        return None;
    };
    if u.from.is_some()
        || !u.table.joins.is_empty()
        || u.returning.is_some()
        || u.output.is_some()
        || u.or.is_some()
        || !u.optimizer_hints.is_empty()
    {
        return None;
    }
    let TableFactor::Table { name, .. } = &u.table.relation else {
        return None;
    };
    let table = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i.value.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    // `UPDATE IGNORE` / `LOW_PRIORITY`: sqlparser does not keep them; such a
    // statement is not cut (the caller refuses what it cannot run exactly).
    let tokens = sqlparser::tokenizer::Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize()
        .ok()?;
    let words: Vec<String> = tokens
        .iter()
        .filter(|t| !matches!(t, sqlparser::tokenizer::Token::Whitespace(_)))
        .take(2)
        .map(|t| t.to_string().to_ascii_lowercase())
        .collect();
    if words.first().map(String::as_str) != Some("update")
        || words
            .get(1)
            .is_some_and(|w| matches!(w.as_str(), "ignore" | "low_priority"))
    {
        return None;
    }
    let source = crate::sql::Source::new(sql);
    let relation = u.table.relation.to_string();
    let sets: Vec<String> = u
        .assignments
        .iter()
        .map(|a| format!("{} = {}", a.target, source.expr_text(&a.value)))
        .collect();
    let assigned = u
        .assignments
        .iter()
        .map(|a| match &a.target {
            AssignmentTarget::ColumnName(c) => last_ident(c).map(str::to_string),
            AssignmentTarget::Tuple(_) => None,
        })
        .collect();
    Some(UpdateParts {
        head: format!("UPDATE {relation} SET {}", sets.join(", ")),
        table,
        relation,
        assigned,
        selection: u
            .selection
            .as_ref()
            .map(|w| format!(" WHERE {}", source.expr_text(w)))
            .unwrap_or_default(),
        order_by: u.order_by.iter().map(|o| o.to_string()).collect(),
        limit: u
            .limit
            .as_ref()
            .map(|l| format!(" LIMIT {}", source.expr_text(l)))
            .unwrap_or_default(),
    })
}
