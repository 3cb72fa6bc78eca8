//! An INSERT / REPLACE cut into its parts, for an executor with nothing behind it
//! to check FKs (a sharding engine's head): it runs a multi-row REPLACE or ON
//! DUPLICATE KEY UPDATE one row at a time, as MariaDB applies them, and an INSERT
//! / REPLACE ... SELECT (or VALUES of expressions) as the rows it reads first,
//! written back as literals. Each piece is an ordinary statement the planner plans.

use sqlparser::ast::{Expr, Insert, OnInsert, SetExpr, Spanned, Statement, TableObject};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::sql::Source;

/// Where an INSERT's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowSource {
    /// `VALUES` rows, each value as the client wrote it.
    Values(Vec<Vec<String>>),
    /// `SELECT ...` (or any query), as the client wrote it.
    Query(String),
}

/// An `INSERT` / `REPLACE` as `head VALUES rows tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertParts {
    /// `INSERT INTO t (a, b)` or `REPLACE INTO t`, names as written.
    pub head: String,
    /// The table's name, its parts unquoted (`[db, t]` or `[t]`).
    pub table: Vec<String>,
    /// The column list, names unquoted; empty when the statement has none.
    pub columns: Vec<String>,
    pub source: RowSource,
    /// ` ON DUPLICATE KEY UPDATE ...` as written, or empty.
    pub tail: String,
    /// REPLACE or ON DUPLICATE KEY UPDATE: rows that may clash with rows.
    pub upsert: bool,
}

impl InsertParts {
    /// The statement with `rows` (SQL literals or expressions) as its `VALUES`.
    pub fn with_rows(&self, rows: &[Vec<String>]) -> String {
        let rows: Vec<String> = rows.iter().map(|r| format!("({})", r.join(", "))).collect();
        format!("{} VALUES {}{}", self.head, rows.join(", "), self.tail)
    }

    /// The rows as one-row statements, in order.
    pub fn one_per_row(&self, rows: &[Vec<String>]) -> Vec<String> {
        rows.iter().map(|r| self.with_rows(std::slice::from_ref(r))).collect()
    }
}

/// `sql` cut into its parts; `None` for any other statement, or one with a
/// clause the parts do not carry (IGNORE, a priority, PARTITION, `SET`,
/// `RETURNING`, a SELECT with ON DUPLICATE KEY UPDATE).
pub fn insert_parts(sql: &str) -> Option<InsertParts> {
    let statements = Parser::parse_sql(&MySqlDialect {}, sql).ok()?;
    let [Statement::Insert(i)] = statements.as_slice() else {
        return None;
    };
    parts_of(i, &Source::new(sql))
}

fn parts_of(i: &Insert, source: &Source) -> Option<InsertParts> {
    if i.ignore
        || i.priority.is_some()
        || i.partitioned.is_some()
        || !i.assignments.is_empty()
        || i.returning.is_some()
        || i.insert_alias.is_some()
        || i.table_alias.is_some()
    {
        return None;
    }
    let TableObject::TableName(table) = &i.table else {
        return None;
    };
    let columns = match i.columns.is_empty() {
        true => String::new(),
        false => format!(
            " ({})",
            i.columns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    let keyword = if i.replace_into { "REPLACE" } else { "INSERT" };
    let head = format!("{keyword} INTO {table}{columns}");
    let tail = match &i.on {
        None => String::new(),
        Some(OnInsert::DuplicateKeyUpdate(assignments)) => {
            let sets: Vec<String> = assignments
                .iter()
                .map(|a| format!("{} = {}", a.target, source.expr_text(&a.value)))
                .collect();
            format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))
        }
        Some(_) => return None,
    };
    let query = i.source.as_deref()?;
    let rows = match query.body.as_ref() {
        SetExpr::Values(v) if !v.explicit_row && query.order_by.is_none() && query.limit_clause.is_none() => {
            RowSource::Values(
                v.rows
                    .iter()
                    .map(|r| r.content.iter().map(|e: &Expr| source.expr_text(e)).collect())
                    .collect(),
            )
        }
        SetExpr::Values(_) => return None,
        // The query's text runs to the end of the statement: no tail may follow.
        _ if i.on.is_some() => return None,
        _ => RowSource::Query(parenthesised(source.rest_from(query.span())?)),
    };
    Some(InsertParts {
        head,
        table: table
            .0
            .iter()
            .filter_map(|p| p.as_ident())
            .map(|i| i.value.clone())
            .collect(),
        columns: i
            .columns
            .iter()
            .filter_map(|c| c.0.last()?.as_ident())
            .map(|c| c.value.clone())
            .collect(),
        source: rows,
        tail,
        upsert: i.replace_into || i.on.is_some(),
    })
}

/// A query's text with the opening parentheses its span leaves out put back:
/// `INSERT INTO t (SELECT 1)` has the span of `SELECT 1` but the text runs to
/// the closing `)`.
fn parenthesised(rest: &str) -> String {
    let mut depth = 0i64;
    let mut lowest = 0i64;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), '\\') if q != '`' => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                lowest = lowest.min(depth);
            }
            (None, _) => {}
        }
    }
    let open = usize::try_from(-lowest).unwrap_or(0);
    format!("{}{rest}", "(".repeat(open))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_values_and_queries_keeping_the_text_as_written() {
        let p = insert_parts(
            "INSERT INTO `t` (a, `b`) VALUES (1, 'x''y'), (2 + 3, NULL) ON DUPLICATE KEY UPDATE b = VALUES(b)",
        )
        .expect("parts");
        assert_eq!(p.head, "INSERT INTO `t` (a, `b`)");
        assert_eq!(
            (p.table.clone(), p.columns.clone()),
            (vec!["t".to_string()], vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            p.source,
            RowSource::Values(vec![
                vec!["1".into(), "'x''y'".into()],
                vec!["2 + 3".into(), "NULL".into()]
            ])
        );
        assert_eq!(p.tail, " ON DUPLICATE KEY UPDATE b = VALUES(b)");
        assert!(p.upsert);
        assert_eq!(
            p.one_per_row(&[vec!["1".into(), "2".into()]]),
            ["INSERT INTO `t` (a, `b`) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = VALUES(b)"]
        );
        let p = insert_parts("REPLACE INTO t SELECT id, 'a' FROM s WHERE id > 2;").expect("parts");
        assert_eq!(p.head, "REPLACE INTO t");
        assert_eq!(p.source, RowSource::Query("SELECT id, 'a' FROM s WHERE id > 2".into()));
        assert!(p.upsert);
        let p = insert_parts("INSERT INTO d.t (a) (SELECT ')' FROM s)").expect("parts");
        assert_eq!(p.source, RowSource::Query("(SELECT ')' FROM s)".into()));
        assert_eq!(p.table, ["d", "t"]);
        for sql in [
            "INSERT IGNORE INTO t VALUES (1)",
            "INSERT INTO t SET a = 1",
            "INSERT INTO t SELECT 1 ON DUPLICATE KEY UPDATE a = 2",
            "UPDATE t SET a = 1",
        ] {
            assert_eq!(insert_parts(sql), None, "{sql}");
        }
    }
}
