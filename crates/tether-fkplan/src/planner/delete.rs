//! DELETE: the rows it removes are locked and read by key, then every child FK's
//! ON DELETE rule applies. Multi-table DELETE (`DELETE t1, t2 FROM <join>`, `USING`)
//! reads each parent target over the statement's own join.

use sqlparser::ast::{FromTable, ObjectName, TableFactor, TableWithJoins};

use crate::error::PlanError;
use crate::plan::{Event, Plan, Start, Target};

use super::multi::Named;
use super::{children, eq_ci, exact, exact_idents, last_ident, Analysis, Planner};

impl<'a> Planner<'a> {
    pub(super) fn delete(&self, d: &sqlparser::ast::Delete) -> Result<Analysis, PlanError> {
        let from = match &d.from {
            FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
        };
        let single = d.tables.is_empty() && d.using.is_none() && from.len() == 1 && from[0].joins.is_empty();
        if !single {
            return self.multi_delete(d, from);
        }
        let relation = &from[0].relation;
        let TableFactor::Table { name, .. } = relation else {
            return Ok(Analysis::Forward);
        };
        let Some(table) = self.table(name)? else {
            return Ok(Analysis::Forward);
        };
        if children(self.schema, self.database, &table.name).is_empty() {
            return Ok(self.passthrough(table));
        }
        let keys = self.key_columns(table);
        let read = format!(
            "SELECT {}{}",
            exact_idents(table, &keys),
            self.tail(relation, d.selection.as_ref(), &d.order_by, d.limit.as_ref())
        );
        let returning = d
            .returning
            .as_ref()
            .map(|r| r.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "));
        let rules = self.rules_from(table, Event::Delete);
        let pick = self.pick(
            table,
            relation,
            d.selection.as_ref(),
            &d.order_by,
            d.limit.as_ref(),
            &exact_idents(table, &keys),
            format!("DELETE FROM {name}"),
            returning,
            false,
            self.reads_written(d.selection.as_ref(), &rules),
        )?;
        Ok(Analysis::Plan(Box::new(Plan {
            rules,
            pick,
            ..Plan::new(&table.name, Start::Delete { read }, &self.original)
        })))
    }

    /// `DELETE t1, t2 FROM <join> WHERE ...` / `DELETE FROM t1, t2 USING <join>
    /// WHERE ...`: the rows of each target that has children are locked and read
    /// over the statement's own join; their delete rules apply as for one table.
    pub(super) fn multi_delete(
        &self,
        d: &sqlparser::ast::Delete,
        from: &[TableWithJoins],
    ) -> Result<Analysis, PlanError> {
        let (source, names): (&[TableWithJoins], Vec<&ObjectName>) = match &d.using {
            Some(using) => (
                using.as_slice(),
                from.iter()
                    .filter_map(|t| match &t.relation {
                        TableFactor::Table { name, .. } => Some(name),
                        _ => None,
                    })
                    .collect(),
            ),
            None => (from, d.tables.iter().collect()),
        };
        let named = self.named_tables(source.iter())?;
        let mut targets: Vec<&Named> = Vec::new();
        for name in names {
            let Some(last) = last_ident(name) else { continue };
            if let Some(n) = named.iter().find(|n| eq_ci(&n.qualifier, last)) {
                if !targets.iter().any(|t| eq_ci(&t.qualifier, &n.qualifier)) {
                    targets.push(n);
                }
            }
        }
        let Some(first) = targets.first() else {
            return Ok(Analysis::Forward);
        };
        if !targets.iter().any(|n| self.involved(n.table)) {
            return Ok(Analysis::Forward);
        }
        let is_parent = |n: &Named| !children(self.schema, self.database, &n.table.name).is_empty();
        if !targets.iter().any(|n| is_parent(n)) {
            // Only child rows go: nothing to cascade, InnoDB has nothing to check.
            return Ok(self.passthrough(first.table));
        }
        if d.selection.as_ref().is_some_and(super::expr::volatile_condition) {
            // The native run, the lock reads and the statement would each pick
            // their own rows (RAND(), a user variable) or take a user lock again:
            // InnoDB runs it, once, with its own cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(first.table));
        }
        // Rows are deleted by key where every target has a primary key; without
        // one, the original runs with checks off after the native run.
        let by_key = targets.iter().all(|n| !n.table.primary_key.is_empty());
        let source_text: Vec<String> = source.iter().map(|t| t.to_string()).collect();
        let tail = match &d.selection {
            Some(w) => format!(" WHERE {}", self.source.expr_text(w)),
            None => String::new(),
        };
        let targets = targets
            .iter()
            .filter(|n| by_key || is_parent(n))
            .map(|n| {
                let keys = self.key_columns(n.table);
                let columns: Vec<String> = keys.iter().map(|k| exact(n.table, k, n.column(k))).collect();
                let read = format!(
                    "SELECT DISTINCT {} FROM {}{tail} FOR UPDATE",
                    columns.join(", "),
                    source_text.join(", ")
                );
                (
                    n.table,
                    Target {
                        table: n.table.name.clone(),
                        event: Event::Delete,
                        read,
                        by_key: by_key.then(|| n.table.primary_key.clone()),
                        parent: is_parent(n),
                    },
                )
            })
            .collect();
        Ok(self.multi_plan(targets))
    }
}
