//! From one statement and the schema to a [`Plan`]: which rows the statement removes
//! or re-keys, and what every child foreign key does about it, to any depth.
//!
//! One file per operation, as Vitess's planbuilder: `delete.rs`, `update.rs` (with
//! `multi.rs` for joins), `insert.rs`, `replace.rs`, `upsert.rs` (with `clash.rs`);
//! then what they share: `checks.rs` (parents of the rows written), `actions.rs`
//! (children of the rows removed or re-keyed), `expr.rs` (expression helpers).

mod actions;
mod checks;
mod clash;
mod delete;
mod expr;
mod implicit;
mod insert;
mod modifiers;
mod multi;
mod overlap;
mod replace;
mod rewrites;
mod stored;
mod update;
mod upsert;

use std::collections::HashSet;

pub use expr::called_functions;
pub use modifiers::without_modifiers;
pub use update::{update_parts, UpdateParts};

use sqlparser::ast::{Expr, ObjectName, ObjectNamePart, Statement, TableFactor};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_schema::{ForeignKey, Schema, Table};

use crate::error::PlanError;
use crate::plan::{ParentChecks, Part, Pick, Plan, Start, Template};
use crate::sql::Source;

/// What the planner makes of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// Not a write the planner handles (SELECT, SET, DDL, a table unknown to the
    /// schema...): forward it unchanged.
    Forward,
    /// A write on a known table: run this plan (possibly just the original).
    Plan(Box<Plan>),
}

/// `expr` (column `column` of `table`, as the statement names it) as a read of the
/// value the column stores, exactly: the executor writes what it reads back into
/// `IN` lists, `CASE`s and child rows, which must compare equal to the stored value.
/// MariaDB writes a FLOAT with six significant digits (`1.23457` for 1.2345678),
/// which another stored float may share and which equals neither; read as a DOUBLE
/// its text is the shortest that reads back as the same number, and a FLOAT column
/// compares with it, and stores it, exactly. Every other type's text is exact
/// already (a BIT comes back as bytes, which the executor writes as a number).
pub(crate) fn exact(table: &Table, column: &str, expr: String) -> String {
    let single = table
        .columns
        .iter()
        .find(|c| eq_ci(&c.name, column))
        .is_some_and(|c| matches!(c.normalized_type, tether_schema::DataType::Float { bytes: 4 }));
    match single {
        true => format!("CAST({expr} AS DOUBLE)"),
        false => expr,
    }
}

/// [`exact`] reads of `columns` of `table`, comma-separated.
pub(crate) fn exact_idents(table: &Table, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| exact(table, c, crate::sql::ident(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plans `sql` against `schema`, the schema of MariaDB database `database`.
pub fn plan(sql: &str, schema: &Schema, database: &str) -> Result<Analysis, PlanError> {
    // `DELETE QUICK IGNORE FROM t`, `UPDATE LOW_PRIORITY t`: read without the
    // modifiers (the parser takes them for a table); IGNORE is decided on below.
    let modifiers = modifiers::read(sql);
    let ignore = modifiers.as_ref().is_some_and(|m| m.ignore);
    let original = modifiers.as_ref().map_or(sql, |m| m.original.as_str());
    let sql = modifiers.as_ref().map_or(sql, |m| m.parsed.as_str());
    // `UPDATE a, b SET ...`: planned in its JOIN spelling (the parser knows only
    // that one), `INSERT ... SELECT 1, 2 ON DUPLICATE KEY UPDATE` with `FROM DUAL`
    // (the parser reads the ON as an alias); the client's text is what runs.
    let (joined, parsed) = match Parser::parse_sql(&MySqlDialect {}, sql) {
        Ok(s) => (None, Ok(s)),
        Err(e) => match crate::sql::comma_joins(sql).or_else(|| insert::dual_before_upsert(sql)) {
            Some(j) => {
                let parsed = Parser::parse_sql(&MySqlDialect {}, &j);
                (Some(j), parsed)
            }
            None => (None, Err(e)),
        },
    };
    let text = joined.as_deref().unwrap_or(sql);
    let statements = match parsed {
        Ok(s) => s,
        Err(e) => {
            // Unparseable writes are only a problem where FKs exist.
            let has_fks = schema.tables.iter().any(|t| !t.foreign_keys.is_empty());
            if has_fks && looks_like_write(sql) {
                return Err(PlanError::Parse(e.to_string()));
            }
            return Ok(Analysis::Forward);
        }
    };
    let [statement] = statements.as_slice() else {
        if statements.iter().any(is_write) {
            return Err(PlanError::Several);
        }
        return Ok(Analysis::Forward);
    };
    let has_fks = schema.tables.iter().any(|t| !t.foreign_keys.is_empty());
    if has_fks && is_write(statement) && modifiers::misread(statement) {
        return Err(PlanError::Parse(
            "a modifier (IGNORE, LOW_PRIORITY, QUICK) read as a table name: write it right after DELETE / UPDATE, \
             with no comment between"
                .into(),
        ));
    }
    let planner = Planner {
        schema,
        database,
        source: Source::new(text),
        original: original.trim().trim_end_matches(';').trim_end().to_string(),
    };
    let analysis = planner.statement(statement)?;
    match &analysis {
        // IGNORE skips the rows whose checks fail, with a warning each, and goes
        // on: the plan's checks refuse the statement instead, and no trial finds
        // the rows (MariaDB 10.11's `DELETE IGNORE ... RETURNING` returns the rows
        // it skipped too). A write with no FK work runs as sent.
        Analysis::Plan(p) if ignore && !p.is_passthrough() => Err(PlanError::Unsupported {
            what: "UPDATE IGNORE or DELETE IGNORE with foreign-key work (InnoDB skips the rows whose foreign-key \
                   checks fail, which the gateway cannot reproduce; write without IGNORE)"
                .into(),
            table: p.table.clone(),
        }),
        _ => planner
            .other_fks_by_innodb(analysis)
            .map(|a| planner.stored_by_innodb(a))
            .map(|a| planner.overlap_by_innodb(a))
            .map(|a| dangling_by_innodb(schema, a)),
    }
}

/// A write of a table holding a foreign key whose parent table was dropped (MariaDB
/// lets `foreign_key_checks = 0` do it): its original runs last with InnoDB's checks
/// on, which refuse a non-NULL value in that key's columns (1452, no parent can hold
/// it) as natively. The key is not in the schema's graph: no parent to check or
/// cascade from.
fn dangling_by_innodb(schema: &Schema, analysis: Analysis) -> Analysis {
    match analysis {
        Analysis::Plan(mut plan) if schema.objects.dangling_fks.iter().any(|d| eq_ci(&d.table, &plan.table)) => {
            plan.original_fk_checks = true;
            Analysis::Plan(plan)
        }
        other => other,
    }
}

/// True for statements that start with a write keyword.
pub fn looks_like_write(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(first.as_str(), "insert" | "update" | "delete" | "replace")
}

fn is_write(s: &Statement) -> bool {
    matches!(s, Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_))
}

/// One row of a `VALUES` list.
type ValuesRow = sqlparser::ast::Parens<Vec<Expr>>;

/// The columns an INSERT names (in order) and its `VALUES` rows.
type InsertRows<'i> = (Vec<String>, &'i [ValuesRow]);

struct Planner<'a> {
    schema: &'a Schema,
    database: &'a str,
    source: Source<'a>,
    original: String,
}

/// FKs of the schema that reference `table` in the same database.
fn children<'s>(schema: &'s Schema, database: &str, table: &str) -> Vec<(&'s Table, &'s ForeignKey)> {
    let mut out = Vec::new();
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            let same_db = fk.referenced_schema.as_deref().is_none_or(|s| s == database);
            if same_db && fk.referenced_table == table {
                out.push((t, fk));
            }
        }
    }
    out
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn last_ident(name: &ObjectName) -> Option<&str> {
    match name.0.last()? {
        ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
        _ => None,
    }
}

impl<'a> Planner<'a> {
    fn unsupported(&self, what: &str, table: &str) -> PlanError {
        PlanError::Unsupported {
            what: what.into(),
            table: table.into(),
        }
    }

    /// The table a name points to, when it is in this keyspace's database.
    fn table(&self, name: &ObjectName) -> Result<Option<&'a Table>, PlanError> {
        let parts: Vec<&str> = name
            .0
            .iter()
            .filter_map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                _ => None,
            })
            .collect();
        let table = match parts.as_slice() {
            [t] => *t,
            [db, t] if *db == self.database => *t,
            [_, t] => {
                if self.schema.tables.iter().any(|x| x.name == *t) {
                    return Err(self.unsupported("a write to a table of another database", t));
                }
                return Ok(None);
            }
            _ => return Ok(None),
        };
        Ok(self.schema.tables.iter().find(|t| t.name == table))
    }

    fn involved(&self, t: &Table) -> bool {
        !t.foreign_keys.is_empty() || !children(self.schema, self.database, &t.name).is_empty()
    }

    fn statement(&self, statement: &Statement) -> Result<Analysis, PlanError> {
        match statement {
            Statement::Delete(d) => self.delete(d),
            Statement::Update(u) => self.update(u),
            Statement::Insert(i) => self.insert(i),
            _ => Ok(Analysis::Forward),
        }
    }

    fn passthrough(&self, table: &Table) -> Analysis {
        Analysis::Plan(Box::new(Plan {
            original_fk_checks: true,
            ..Plan::new(&table.name, Start::Nothing, &self.original)
        }))
    }

    /// A plan whose only work is checking the parents of the rows written.
    fn checked_only(&self, table: &Table, checks: ParentChecks) -> Analysis {
        Analysis::Plan(Box::new(Plan {
            parent_checks: Some(checks),
            ..Plan::new(&table.name, Start::Nothing, &self.original)
        }))
    }

    /// `FROM name [AS alias] WHERE ... ORDER BY ... LIMIT ... FOR UPDATE`.
    fn tail(
        &self,
        relation: &TableFactor,
        selection: Option<&Expr>,
        order_by: &[sqlparser::ast::OrderByExpr],
        limit: Option<&Expr>,
    ) -> String {
        let mut out = format!(" FROM {relation}");
        if let Some(w) = selection {
            out.push_str(&format!(" WHERE {}", self.source.expr_text(w)));
        }
        if !order_by.is_empty() {
            let items: Vec<String> = order_by.iter().map(|o| o.to_string()).collect();
            out.push_str(&format!(" ORDER BY {}", items.join(", ")));
        }
        if let Some(l) = limit {
            out.push_str(&format!(" LIMIT {}", self.source.expr_text(l)));
        }
        out.push_str(" FOR UPDATE");
        out
    }

    /// For a single-table DELETE / UPDATE whose rows a lock read of its own may not
    /// find again: the [`Pick`] that finds the rows the statement changes and runs
    /// the plan on those rows by primary key. So for a LIMIT (a lock read with the
    /// same LIMIT may take other rows: another index, ties of a non-unique ORDER
    /// BY), a [`volatile_condition`] (RAND(), NOW(), a user variable, GET_LOCK():
    /// evaluated once, by the trial or the lock read, never again by the statement),
    /// and `reads_written` (a DELETE whose WHERE reads, in a subquery, a table its
    /// cascade changes: MariaDB evaluates it row by row, between cascades), whose
    /// rows only the native trial finds. `select` is the lock read's column list;
    /// `restricted` the statement's text before its `WHERE` (`DELETE FROM t`,
    /// `UPDATE t SET ...`) and `returning` its RETURNING clause, if any. `Ok(None)`
    /// when none of these holds.
    #[allow(clippy::too_many_arguments)]
    fn pick(
        &self,
        table: &Table,
        relation: &TableFactor,
        selection: Option<&Expr>,
        order_by: &[sqlparser::ast::OrderByExpr],
        limit: Option<&Expr>,
        select: &str,
        restricted: String,
        returning: Option<String>,
        update: bool,
        reads_written: bool,
    ) -> Result<Option<Pick>, PlanError> {
        let volatile = selection.is_some_and(expr::volatile_condition)
            || order_by.iter().any(|o| expr::volatile_condition(&o.expr));
        let trial_required = !update && reads_written;
        if limit.is_none() && !volatile && !trial_required {
            return Ok(None);
        }
        let TableFactor::Table { name, alias, .. } = relation else {
            return Ok(None);
        };
        if table.primary_key.is_empty() {
            return Err(self.unsupported(
                "a DELETE or UPDATE with LIMIT, or a WHERE that is volatile (RAND(), NOW(), user \
                 variables, GET_LOCK(), ...) or reads a table its cascade changes, of a table without a primary key",
                &table.name,
            ));
        }
        if trial_required && alias.is_some() {
            return Err(self.unsupported(
                "a DELETE with a table alias whose WHERE reads a table its cascade changes",
                &table.name,
            ));
        }
        let pk = table.primary_key.clone();
        let row = crate::sql::row_of(&pk);
        // MariaDB's single-table DELETE takes no alias: with one, the lock read's
        // own rows stand for the statement's.
        let trial = alias.is_none().then(|| {
            let mut t = format!("DELETE FROM {name}");
            if let Some(w) = selection {
                t.push_str(&format!(" WHERE {}", self.source.expr_text(w)));
            }
            if !order_by.is_empty() {
                let items: Vec<String> = order_by.iter().map(|o| o.to_string()).collect();
                t.push_str(&format!(" ORDER BY {}", items.join(", ")));
            }
            if let Some(limit) = limit {
                t.push_str(&format!(" LIMIT {}", self.source.expr_text(limit)));
            }
            t.push_str(&format!(" RETURNING {}", exact_idents(table, &pk)));
            t
        });
        let read = Template {
            parts: vec![
                Part::Text(format!("SELECT {select} FROM {relation} WHERE {row} IN (")),
                Part::Keys,
                Part::Text(") ORDER BY ".into()),
                Part::Order,
                Part::Text(" FOR UPDATE".into()),
            ],
        };
        let mut tail = String::new();
        if let Some(r) = returning {
            tail = format!(" RETURNING {r}");
        }
        let original = Template {
            parts: vec![
                Part::Text(format!("{restricted} WHERE {row} IN (")),
                Part::Keys,
                Part::Text(") ORDER BY ".into()),
                Part::Order,
                Part::Text(tail),
            ],
        };
        Ok(Some(Pick {
            columns: pk,
            trial,
            trial_checks: !update,
            trial_required,
            read,
            original,
        }))
    }

    /// Whether `selection` reads, in a subquery, a table that `rules` change
    /// (delete or update rows of: CASCADE, SET NULL, SET DEFAULT).
    fn reads_written(&self, selection: Option<&Expr>, rules: &[crate::plan::Rules]) -> bool {
        let Some(selection) = selection else {
            return false;
        };
        let read = expr::tables_read(selection);
        !read.is_empty()
            && rules
                .iter()
                .flat_map(|r| &r.actions)
                .filter(|a| !matches!(a.kind, crate::plan::ActionKind::Refuse { .. }))
                .any(|a| read.iter().any(|t| eq_ci(t, &a.fk.child)))
    }

    /// Primary key, then every other column some FK references.
    fn key_columns(&self, table: &Table) -> Vec<String> {
        let mut keys = table.primary_key.clone();
        for (_, fk) in children(self.schema, self.database, &table.name) {
            for c in &fk.referenced_columns {
                if !keys.iter().any(|k| eq_ci(k, c)) {
                    keys.push(c.clone());
                }
            }
        }
        keys
    }

    /// True when `table` can reach itself through parent -> child FK edges (a
    /// self-reference or a longer cycle).
    fn in_cycle(&self, table: &str) -> bool {
        let mut seen: HashSet<String> = HashSet::new();
        let mut todo: Vec<String> = vec![table.to_string()];
        while let Some(t) = todo.pop() {
            for (child, _) in children(self.schema, self.database, &t) {
                if child.name == table {
                    return true;
                }
                if seen.insert(child.name.clone()) {
                    todo.push(child.name.clone());
                }
            }
        }
        false
    }
}
