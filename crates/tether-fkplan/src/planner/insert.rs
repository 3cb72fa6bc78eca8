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

/// `INSERT ... SELECT <expressions> ON DUPLICATE KEY UPDATE ...` whose SELECT has
/// no FROM, with `FROM DUAL` before its `ON`: the same statement to MariaDB (where
/// ON is reserved), which the SQL parser otherwise reads as a column alias `ON`
/// and then fails on DUPLICATE. `None` for any other statement.
pub(super) fn dual_before_upsert(sql: &str) -> Option<String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize_with_location().ok()?;
    let words: Vec<_> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let keyword = |i: usize| match words.get(i).map(|t| &t.token) {
        Some(Token::Word(w)) => Some(w.keyword),
        _ => None,
    };
    if keyword(0) != Some(Keyword::INSERT) {
        return None;
    }
    // The place of FROM in the last SELECT (of a UNION's): before its first
    // clause (`SELECT 1, 2 WHERE @x ON DUPLICATE ...`), else before the ON.
    let (mut depth, mut select, mut from, mut clause) = (0usize, false, false, None);
    for (i, t) in words.iter().enumerate() {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Word(w) if depth == 0 => match w.keyword {
                Keyword::SELECT => (select, from, clause) = (true, false, None),
                Keyword::FROM if select => from = true,
                Keyword::WHERE | Keyword::GROUP | Keyword::HAVING | Keyword::ORDER | Keyword::LIMIT
                    if select && clause.is_none() =>
                {
                    clause = Some(t.span.start);
                }
                Keyword::ON
                    if select
                        && !from
                        && keyword(i + 1) == Some(Keyword::DUPLICATE)
                        && keyword(i + 2) == Some(Keyword::KEY)
                        && keyword(i + 3) == Some(Keyword::UPDATE) =>
                {
                    let place = clause.unwrap_or(t.span.start);
                    let at = crate::sql::Lines::new(sql).offset(sql, place)?;
                    return Some(format!("{} FROM DUAL {}", sql.get(..at)?, sql.get(at..)?));
                }
                _ => {}
            },
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::dual_before_upsert;

    #[test]
    fn from_dual_goes_before_the_first_clause_of_a_select_without_a_table() {
        let odku = " ON DUPLICATE KEY UPDATE k = 7";
        let dual = |sql: &str| dual_before_upsert(&format!("{sql}{odku}"));
        assert_eq!(
            dual("INSERT INTO p SELECT 1, 5").as_deref(),
            Some("INSERT INTO p SELECT 1, 5  FROM DUAL ON DUPLICATE KEY UPDATE k = 7")
        );
        assert_eq!(
            dual("INSERT INTO p SELECT 1, 5 WHERE (1 = 1)").as_deref(),
            Some("INSERT INTO p SELECT 1, 5  FROM DUAL WHERE (1 = 1) ON DUPLICATE KEY UPDATE k = 7")
        );
        assert_eq!(
            dual("INSERT INTO p SELECT k, 1 FROM q UNION SELECT (SELECT 2 FROM q), 3").as_deref(),
            Some("INSERT INTO p SELECT k, 1 FROM q UNION SELECT (SELECT 2 FROM q), 3  FROM DUAL ON DUPLICATE KEY UPDATE k = 7")
        );
        assert_eq!(dual("INSERT INTO p SELECT k, 1 FROM q"), None);
        assert_eq!(dual("INSERT INTO p VALUES (1, 5)"), None);
        assert_eq!(dual_before_upsert("INSERT INTO p SELECT 1, 5"), None);
        assert_eq!(dual_before_upsert("UPDATE p SET k = 1"), None);
    }
}
