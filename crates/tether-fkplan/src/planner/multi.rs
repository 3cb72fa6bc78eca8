//! What multi-table DELETE and UPDATE share: the tables a join names (with the name
//! the statement calls them by), the merged rules of several targets, and the plan
//! whose outcome comes from a native run.

use sqlparser::ast::{TableFactor, TableWithJoins};
use tether_schema::Table;

use crate::error::PlanError;
use crate::plan::{Event, Plan, Rules, Start, Target};
use crate::sql::ident;

use super::expr::must_run_once;
use super::{last_ident, Analysis, Planner};

/// A table of a multi-table statement and the name the statement gives it.
pub(super) struct Named<'a> {
    pub(super) qualifier: String,
    pub(super) table: &'a Table,
}

impl Named<'_> {
    /// `qualifier`.`column`.
    pub(super) fn column(&self, column: &str) -> String {
        format!("{}.{}", ident(&self.qualifier), ident(column))
    }
}

impl<'a> Planner<'a> {
    pub(super) fn multi_table<'r>(
        &self,
        relations: impl Iterator<Item = &'r TableFactor>,
        what: &str,
    ) -> Result<Analysis, PlanError> {
        for r in relations {
            if let TableFactor::Table { name, .. } = r {
                if let Some(t) = self.table(name)? {
                    if self.involved(t) {
                        return Err(self.unsupported(what, &t.name));
                    }
                }
            }
        }
        Ok(Analysis::Forward)
    }

    /// The tables of a FROM / USING list (joins and nested joins included) that
    /// this keyspace's schema knows, with the name the statement calls them by.
    pub(super) fn named_tables<'t>(
        &self,
        lists: impl Iterator<Item = &'t TableWithJoins>,
    ) -> Result<Vec<Named<'a>>, PlanError> {
        pub(super) fn walk<'t>(f: &'t TableFactor, out: &mut Vec<&'t TableFactor>) {
            match f {
                TableFactor::NestedJoin { table_with_joins, .. } => {
                    walk(&table_with_joins.relation, out);
                    for j in &table_with_joins.joins {
                        walk(&j.relation, out);
                    }
                }
                other => out.push(other),
            }
        }
        let mut factors = Vec::new();
        for t in lists {
            walk(&t.relation, &mut factors);
            for j in &t.joins {
                walk(&j.relation, &mut factors);
            }
        }
        let mut out = Vec::new();
        for f in factors {
            let TableFactor::Table { name, alias, .. } = f else {
                continue;
            };
            let Some(table) = self.table(name)? else { continue };
            let qualifier = match alias {
                Some(a) => a.name.value.clone(),
                None => last_ident(name).unwrap_or_default().to_string(),
            };
            out.push(Named { qualifier, table });
        }
        Ok(out)
    }

    /// The rules of every (table, event) start, each (table, event) once.
    pub(super) fn merged_rules(&self, starts: &[(&Table, Event)]) -> Vec<Rules> {
        let mut out: Vec<Rules> = Vec::new();
        for (table, event) in starts {
            for r in self.rules_from(table, *event) {
                if !out.iter().any(|x| x.table == r.table && x.event == r.event) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// A multi-table plan: lock reads per target, rules of all targets, and the
    /// outcome taken from a native run (see [`Plan::native_first`]).
    pub(super) fn multi_plan(&self, targets: Vec<(&Table, Target)>) -> Analysis {
        if let Some((table, _)) = targets.first().filter(|_| must_run_once(&self.original)) {
            // The native run and the plan would both advance the sequence: InnoDB
            // runs it, with its own cascades (docs/gateway.md, Limits).
            return self.passthrough(table);
        }
        let starts: Vec<(&Table, Event)> = targets
            .iter()
            .filter(|(_, x)| x.parent)
            .map(|(t, x)| (*t, x.event))
            .collect();
        let rules = self.merged_rules(&starts);
        let table = targets.first().map(|(t, _)| t.name.clone()).unwrap_or_default();
        let start = Start::Multi {
            targets: targets.into_iter().map(|(_, t)| t).collect(),
        };
        Analysis::Plan(Box::new(Plan {
            rules,
            native_first: true,
            ..Plan::new(&table, start, &self.original)
        }))
    }
}
