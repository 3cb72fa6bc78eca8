//! INSERT: a plain INSERT only needs its new rows' parents checked; `INSERT ... SET`
//! is planned in its `VALUES` spelling; ON DUPLICATE KEY UPDATE and REPLACE go on to
//! `upsert.rs` and `replace.rs`.

use sqlparser::ast::{
    AssignmentTarget, Expr, Ident, Insert, ObjectName, OnInsert, Parens, Query, SetExpr, Statement, TableObject, Values,
};
use tether_schema::Table;

use crate::error::PlanError;

use super::{children, eq_ci, last_ident, Analysis, InsertRows, Planner};

impl<'a> Planner<'a> {
    pub(super) fn insert(&self, i: &Insert) -> Result<Analysis, PlanError> {
        let TableObject::TableName(name) = &i.table else {
            return Ok(Analysis::Forward);
        };
        let Some(table) = self.table(name)? else {
            return Ok(Analysis::Forward);
        };
        let kids = children(self.schema, self.database, &table.name);
        let has_fks = !table.foreign_keys.is_empty();
        if kids.is_empty() && !has_fks {
            return Ok(self.passthrough(table));
        }
        // `VALUES (...) AS new`: MariaDB has no row alias (its own 1064, from
        // InnoDB's run, which fails before writing anything).
        if i.insert_alias.is_some() {
            return Ok(self.passthrough(table));
        }
        if !i.assignments.is_empty() {
            return self.insert_set(i, table);
        }
        if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &i.on {
            return self.on_duplicate_key(i, table, assignments);
        }
        if i.replace_into {
            return self.replace(i, table);
        }
        // A plain INSERT removes no parent row and changes no key: only the new
        // rows' parents need checking.
        match self.values_checks(i, table, false) {
            Some(checks) => Ok(self.checked_only(table, checks)),
            // Rows the planner cannot compute: InnoDB's own check (a read) is
            // exact and writes nothing.
            None => Ok(self.passthrough(table)),
        }
    }

    /// `INSERT / REPLACE ... SET a = 1, ...` into a table with FKs or children:
    /// planned as the same statement in its `VALUES` spelling (its parents checked
    /// like a VALUES row's, where nothing but the gateway may check them); the
    /// client's text is what runs.
    pub(super) fn insert_set(&self, i: &Insert, table: &'a Table) -> Result<Analysis, PlanError> {
        let columns: Vec<String> = i
            .assignments
            .iter()
            .map(|a| match &a.target {
                AssignmentTarget::ColumnName(c) => last_ident(c).unwrap_or_default().to_string(),
                other => other.to_string(),
            })
            .collect();
        let row = i.assignments.iter().map(|a| a.value.clone()).collect();
        self.statement(&Statement::Insert(one_row(i, table, Some(&columns), row)))
    }

    /// The rows of a VALUES source and the column each value goes to.
    pub(super) fn values<'i>(
        &self,
        i: &'i Insert,
        table: &Table,
        what: &str,
    ) -> Result<Option<InsertRows<'i>>, PlanError> {
        let rows = match i.source.as_deref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(v)) => &v.rows,
            _ => return Err(self.unsupported(&format!("{what} ... SELECT / SET"), &table.name)),
        };
        let columns: Vec<String> = if i.columns.is_empty() {
            table.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            match named_columns(table, &i.columns) {
                Some(named) => named,
                None => return Ok(None),
            }
        };
        Ok(Some((columns, rows.as_slice())))
    }
}

/// `i` with one `VALUES` row and no `SET` list: into `table` by its plain name, with
/// `columns` named (`None`: none, as `i` has them). The row's expressions keep their
/// places in the client's text, so the planner still cuts their original text out.
pub(super) fn one_row(i: &Insert, table: &Table, columns: Option<&[String]>, row: Vec<Expr>) -> Insert {
    let quoted = |name: &str| ObjectName::from(vec![Ident::with_quote('`', name)]);
    let body = SetExpr::Values(Values {
        explicit_row: false,
        value_keyword: false,
        rows: vec![Parens::with_empty_span(row)],
    });
    Insert {
        table: TableObject::TableName(quoted(&table.name)),
        columns: columns.map_or_else(Vec::new, |c| c.iter().map(|c| quoted(c)).collect()),
        source: Some(Box::new(Query {
            with: None,
            body: Box::new(body),
            order_by: None,
            limit_clause: None,
            fetch: None,
            locks: Vec::new(),
            for_clause: None,
            settings: None,
            format_clause: None,
            pipe_operators: Vec::new(),
        })),
        assignments: Vec::new(),
        ..i.clone()
    }
}

/// The columns of `table` an INSERT's column list names, as the schema spells them;
/// `None` when one is not a column of `table` (the server will refuse it).
pub(super) fn named_columns(table: &Table, names: &[ObjectName]) -> Option<Vec<String>> {
    names
        .iter()
        .map(|c| {
            let name = last_ident(c).unwrap_or_default();
            table
                .columns
                .iter()
                .find(|x| eq_ci(&x.name, name))
                .map(|x| x.name.clone())
        })
        .collect()
}
