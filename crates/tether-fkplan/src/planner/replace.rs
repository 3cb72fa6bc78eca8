//! REPLACE (VALUES and SELECT sources): the existing rows it deletes because they
//! clash with new rows are read under lock, and their children's ON DELETE rules apply
//! before the new rows go in.

use sqlparser::ast::{Insert, SetExpr, Spanned};
use tether_schema::Table;

use crate::error::PlanError;
use crate::plan::{Event, KeyValue, ParentChecks, Plan, ReplaceSource, Start};
use crate::sql::ident;

use super::clash::KeyClash;
use super::expr::{allocates, column_default, default_per_row, must_run_once};
use super::insert::named_columns;
use super::{children, eq_ci, exact_idents, Analysis, Planner};

impl<'a> Planner<'a> {
    /// REPLACE deletes every existing row that clashes on the primary key or a unique
    /// key with a new row (InnoDB then runs ON DELETE actions), then inserts.
    pub(super) fn replace(&self, i: &Insert, table: &'a Table) -> Result<Analysis, PlanError> {
        // A row's parents are checked after its deletes and their cascades, as
        // InnoDB does. Several rows into a table of an FK cycle: a later row's
        // delete could cascade to an earlier row just written, or to the parent of
        // one, which only InnoDB sees row by row; it keeps its checks. Outside a
        // cycle the deletes reach neither the new rows nor their parents.
        let checks = self.values_checks(i, table, self.in_cycle(&table.name));
        let fallback = |checks: Option<ParentChecks>| match checks {
            Some(c) => self.checked_only(table, c),
            None => self.passthrough(table),
        };
        if children(self.schema, self.database, &table.name).is_empty() {
            // Its rows are nobody's parents: the deletes need no work.
            return Ok(fallback(checks));
        }
        if !matches!(i.source.as_deref().map(|q| q.body.as_ref()), Some(SetExpr::Values(_))) {
            return self.replace_select(i, table);
        }
        let Some((columns, rows)) = self.values(i, table, "REPLACE")? else {
            return Ok(Analysis::Forward);
        };
        let Ok(clashes) = self.clashes(table, &columns, rows) else {
            // Only InnoDB knows which rows go: it runs the statement, with its
            // checks and cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        };
        if clashes.is_empty() {
            return Ok(fallback(checks));
        }
        let condition: Vec<String> = clashes.iter().map(KeyClash::condition).collect();
        let keys = self.key_columns(table);
        let read = format!(
            "SELECT {} FROM {} WHERE {} FOR UPDATE",
            exact_idents(table, &keys),
            ident(&table.name),
            condition.join(" OR ")
        );
        Ok(Analysis::Plan(Box::new(Plan {
            rules: self.rules_from(table, Event::Delete),
            // InnoDB's checks stay on for the original (it runs last): every row
            // it deletes was read and its children handled, so its cascades find
            // nothing; should one have been missed, InnoDB takes its children
            // rather than leaving orphans.
            original_fk_checks: true,
            parent_checks: checks,
            clash: self.clash(table, Vec::new()),
            allocates: allocates(table, &columns, Some(rows)) || must_run_once(&self.original),
            ..Plan::new(&table.name, Start::Delete { read }, &self.original)
        })))
    }

    /// `REPLACE ... SELECT` into a table with children: the SELECT's rows are read
    /// first, then the existing rows they clash with on the primary key or a
    /// unique key are the rows deleted. Its outcome comes from a native run.
    pub(super) fn replace_select(&self, i: &Insert, table: &'a Table) -> Result<Analysis, PlanError> {
        let Some(query) = i.source.as_deref() else {
            return Err(self.unsupported("REPLACE ... SET", &table.name));
        };
        if must_run_once(&self.original) {
            // Reading the SELECT first would advance its sequences once more.
            return Ok(self.passthrough(table));
        }
        let columns: Vec<String> = if i.columns.is_empty() {
            table
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| c.name.clone())
                .collect()
        } else {
            match named_columns(table, &i.columns) {
                Some(named) => named,
                None => return Ok(Analysis::Forward),
            }
        };
        let mut unique: Vec<Vec<String>> = Vec::new();
        if !table.primary_key.is_empty() {
            unique.push(table.primary_key.clone());
        }
        unique.extend(table.unique_keys.iter().map(|u| u.columns.clone()));
        let mut keys = Vec::new();
        'key: for key in unique {
            let mut values = Vec::new();
            for k in &key {
                match columns.iter().position(|c| eq_ci(c, k)) {
                    Some(p) => values.push(KeyValue::Column(p)),
                    // A default computed from the row or anew: which rows the
                    // new rows clash with is InnoDB's to find (docs/gateway.md,
                    // Limits).
                    None if default_per_row(table, k) => return Ok(self.passthrough(table)),
                    None => match column_default(table, k) {
                        Some(d) if !d.eq_ignore_ascii_case("null") => values.push(KeyValue::Default(d)),
                        // NULL never clashes; an auto-increment value is new.
                        _ => continue 'key,
                    },
                }
            }
            keys.push((key, values));
        }
        let text = self
            .source
            .rest_from(query.span())
            .map(str::to_string)
            .unwrap_or_else(|| query.to_string());
        let read = format!(
            "SELECT {} FROM {} WHERE ",
            exact_idents(table, &self.key_columns(table)),
            ident(&table.name)
        );
        // A native run would take auto-increment values a rollback does not give
        // back: then the plan checks itself and InnoDB checks the new rows.
        let native_first = !allocates(table, &columns, None) && !must_run_once(&self.original);
        let start = Start::ReplaceSelect(ReplaceSource {
            query: text,
            keys,
            read,
        });
        Ok(Analysis::Plan(Box::new(Plan {
            rules: self.rules_from(table, Event::Delete),
            // With InnoDB's checks on, a clashing row the read could not find (a
            // prefix index, a value the insert converts) still takes its children
            // with it, by InnoDB's own cascade: never an orphan.
            original_fk_checks: true,
            native_first,
            ..Plan::new(&table.name, start, &self.original)
        })))
    }
}
