//! What readers and writers share: which rows to read, how to write them, and
//! how a rejected row is reported.

use std::collections::HashSet;

use tether_schema::{DataType, Table};

use crate::value::{Row, Value};

/// Which rows of a table to read.
#[derive(Debug, Clone)]
pub enum Filter {
    All,
    /// A predicate in the source's dialect.
    Where(String),
    /// Rows whose `columns` equal one of `keys` (read in batches of IN lists).
    KeysIn {
        columns: Vec<String>,
        keys: Vec<Vec<Value>>,
    },
}

/// A read of some columns of one table.
#[derive(Debug, Clone)]
pub struct ReadSpec {
    pub table: Table,
    pub columns: Vec<String>,
    pub filter: Filter,
    /// `ORDER BY` these columns (the primary key, for `limit` targets).
    pub order_by: Vec<String>,
    pub limit: Option<u64>,
}

impl ReadSpec {
    pub fn types(&self) -> Vec<DataType> {
        self.columns
            .iter()
            .map(|c| {
                self.table
                    .column(c)
                    .map(|col| col.normalized_type.clone())
                    .unwrap_or(DataType::Text)
            })
            .collect()
    }

    /// The SELECTs this read runs: one, or one per `KEYS_PER_QUERY` keys (integer keys:
    /// per `KEYS_PER_QUERY` runs and values, see [`int_key_queries`]).
    pub fn queries(&self, d: &dyn crate::dialect::Dialect) -> Vec<Query> {
        match &self.filter {
            Filter::KeysIn { columns, keys } => match self.int_key_queries(d, columns, keys) {
                Some(queries) => queries,
                None => keys
                    .chunks(KEYS_PER_QUERY)
                    .map(|k| Query::exact(self.select_sql(d, Some(k))))
                    .collect(),
            },
            _ => vec![Query::exact(self.select_sql(d, None))],
        }
    }

    /// The SELECT this read runs, for `tether plan` and for engines that run it as is.
    pub fn select_sql(&self, d: &dyn crate::dialect::Dialect, keys: Option<&[Vec<Value>]>) -> String {
        let cond = match (&self.filter, keys) {
            (Filter::All, _) => None,
            // In parentheses, and on a line of its own: a `--` comment at the end of the
            // user's predicate must not swallow the ORDER BY and LIMIT after it.
            (Filter::Where(w), _) => Some(format!("({w}\n)")),
            (Filter::KeysIn { columns, .. }, Some(keys)) => Some(in_list(d, columns, keys)),
            (Filter::KeysIn { columns, .. }, None) => Some(format!("({}) IN (...)", d.idents(columns))),
        };
        self.select_where(d, cond.as_deref())
    }

    fn select_where(&self, d: &dyn crate::dialect::Dialect, cond: Option<&str>) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| d.read_column(c, self.table.column(c).map(|col| &col.normalized_type)))
            .collect();
        let mut sql = format!("SELECT {} FROM {}", columns.join(", "), d.own_rows(&self.table));
        if let Some(cond) = cond {
            sql.push_str(" WHERE ");
            sql.push_str(cond);
        }
        if !self.order_by.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", d.idents(&self.order_by)));
        }
        if let Some(n) = self.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }

    /// Integer keys (every key column of an integer type, every key value an integer),
    /// read by their first column: each run of at least `RANGE_MIN` consecutive values
    /// as one `BETWEEN` query, the other values as IN lists of `INT_KEYS_PER_QUERY`. An IN
    /// list of tuples costs PostgreSQL an OR of index scans to plan and run (30x the
    /// first column's IN list at 1,000 keys); consecutive keys (a target's `id <= 5000`)
    /// need one range, not five lists; and several ranges in one query make SQLite scan
    /// the table (an OR of 200 ranges: 0.7 s), so each range is a query of its own.
    /// The rows of a composite key's first column that are not among the keys, and
    /// values that are not integers (SQLite stores 2.5 in an INTEGER column), are
    /// dropped by [`Query::keeps`]. Each first-column value is in one query, so no row
    /// is read twice. `None`: not integer keys (read as IN lists of tuples).
    fn int_key_queries(
        &self,
        d: &dyn crate::dialect::Dialect,
        columns: &[String],
        keys: &[Vec<Value>],
    ) -> Option<Vec<Query>> {
        let idx: Vec<usize> = columns
            .iter()
            .map(|c| self.columns.iter().position(|x| x == c))
            .collect::<Option<_>>()?;
        let int_columns = columns
            .iter()
            .all(|c| self.table.column(c).is_some_and(|col| col.normalized_type.is_integer()));
        if !int_columns || keys.is_empty() {
            return None;
        }
        let int = |v: &Value| match v {
            Value::Int(i) => Some(*i),
            _ => None,
        };
        let mut leads: Vec<i64> = Vec::with_capacity(keys.len());
        for k in keys {
            leads.push(k.first().and_then(int)?);
        }
        // Composite keys: every key, to drop the first column's other rows.
        let composite = match columns.len() {
            1 => None,
            2 => {
                let mut pairs = HashSet::with_capacity(keys.len());
                for k in keys {
                    pairs.insert((int(k.first()?)?, int(k.get(1)?)?));
                }
                Some(IntKeys::Pairs(pairs))
            }
            _ => Some(IntKeys::Wide(
                keys.iter()
                    .map(|k| k.iter().map(int).collect::<Option<Vec<i64>>>())
                    .collect::<Option<HashSet<Vec<i64>>>>()?,
            )),
        };
        leads.sort_unstable();
        leads.dedup();
        let check = std::sync::Arc::new(IntKeyCheck { idx, keys: composite });
        let lead = d.ident(&columns[0]);
        let query = |cond: String| Query {
            sql: self.select_where(d, Some(&cond)),
            check: Some(check.clone()),
        };
        let mut queries = Vec::new();
        let mut singles: Vec<i64> = Vec::new();
        for (lo, hi) in int_runs(&leads) {
            if hi.abs_diff(lo) + 1 >= RANGE_MIN {
                queries.push(query(format!("{lead} BETWEEN {lo} AND {hi}")));
            } else {
                singles.extend(lo..=hi);
            }
        }
        for chunk in singles.chunks(INT_KEYS_PER_QUERY) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            queries.push(query(format!("{lead} IN ({})", list.join(", "))));
        }
        Some(queries)
    }
}

/// Runs of at least this many consecutive integer keys are read as one range.
const RANGE_MIN: u64 = 64;

/// How many integer values go in one IN list: ten times `KEYS_PER_QUERY` (about 80 kB of
/// SQL), because a column without an index costs a scan of the table per list (SQLite:
/// 7,546 values in one list 0.05 s, in lists of 1,000 0.55 s).
const INT_KEYS_PER_QUERY: usize = 10 * KEYS_PER_QUERY;

/// One SELECT of a read. A query over integer keys may return rows that are not among
/// them (see [`ReadSpec::queries`]); readers keep only the rows `keeps` accepts.
#[derive(Debug, Clone)]
pub struct Query {
    pub sql: String,
    check: Option<std::sync::Arc<IntKeyCheck>>,
}

#[derive(Debug, Clone)]
struct IntKeyCheck {
    /// Positions of the key columns among the read's columns.
    idx: Vec<usize>,
    /// Every key of the read, for a composite key (one column: the runs and values
    /// asked for are exactly the keys).
    keys: Option<IntKeys>,
}

/// The keys of a composite integer key: pairs without an allocation per key, wider keys
/// as vectors.
#[derive(Debug, Clone)]
enum IntKeys {
    Pairs(HashSet<(i64, i64)>),
    Wide(HashSet<Vec<i64>>),
}

impl Query {
    fn exact(sql: String) -> Query {
        Query { sql, check: None }
    }

    /// Whether `row` (the read's columns) is one of the rows asked for.
    pub fn keeps(&self, row: &[Value]) -> bool {
        let Some(check) = &self.check else { return true };
        let int = |i: &usize| match row.get(*i) {
            Some(Value::Int(v)) => Some(*v),
            _ => None,
        };
        match &check.keys {
            None => check.idx.iter().all(|i| int(i).is_some()),
            Some(IntKeys::Pairs(keys)) => match (int(&check.idx[0]), int(&check.idx[1])) {
                (Some(a), Some(b)) => keys.contains(&(a, b)),
                _ => false,
            },
            Some(IntKeys::Wide(keys)) => check
                .idx
                .iter()
                .map(int)
                .collect::<Option<Vec<i64>>>()
                .is_some_and(|k| keys.contains(&k)),
        }
    }
}

/// Sorted distinct values as runs of consecutive integers `(first, last)`.
pub fn int_runs(sorted: &[i64]) -> Vec<(i64, i64)> {
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for &v in sorted {
        match runs.last_mut() {
            Some(r) if r.1.checked_add(1) == Some(v) => r.1 = v,
            _ => runs.push((v, v)),
        }
    }
    runs
}

/// `(a, b) IN ((1, 2), (3, 4))`, or `a IN (1, 3)` for one column.
pub fn in_list(d: &dyn crate::dialect::Dialect, columns: &[String], keys: &[Vec<Value>]) -> String {
    let tuple = |k: &Vec<Value>| {
        let lits: Vec<String> = k.iter().map(|v| d.literal(v)).collect();
        if columns.len() == 1 {
            lits.join(", ")
        } else {
            format!("({})", lits.join(", "))
        }
    };
    let items: Vec<String> = keys.iter().map(tuple).collect();
    if columns.len() == 1 {
        format!("{} IN ({})", d.ident(&columns[0]), items.join(", "))
    } else {
        format!("({}) IN ({})", d.idents(columns), items.join(", "))
    }
}

/// How inserts treat rows whose key already exists in the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// Fail on a duplicate key.
    #[default]
    Error,
    /// Keep the destination's row.
    Skip,
    /// Overwrite the destination's row with the source's.
    Update,
}

/// A batch the destination rejected.
#[derive(Debug, Clone)]
pub struct WriteError {
    /// Index in the batch of the rejected row, when known.
    pub row: Option<usize>,
    /// The server's error, with its code.
    pub message: String,
    /// Rows of the batch written before the failure (autocommitted).
    pub written: u64,
    /// The row clashed with a row already there on a primary or unique key.
    pub duplicate_key: bool,
}

/// Rows of one batch.
pub type Batch = Vec<Row>;

/// How many keys go in one IN list.
pub const KEYS_PER_QUERY: usize = 1000;

/// Collects rows into batches of `size` and sends each full batch on a channel; counts
/// the rows sent. `push`/`flush` return false once the receiver is gone (stop reading).
pub struct Batcher<'a> {
    tx: &'a tokio::sync::mpsc::Sender<Batch>,
    size: usize,
    batch: Batch,
    /// Rows sent so far.
    pub sent: u64,
}

impl<'a> Batcher<'a> {
    pub fn new(tx: &'a tokio::sync::mpsc::Sender<Batch>, size: usize) -> Self {
        Batcher {
            tx,
            size,
            batch: Vec::with_capacity(size),
            sent: 0,
        }
    }

    fn take(&mut self) -> Batch {
        self.sent += self.batch.len() as u64;
        std::mem::replace(&mut self.batch, Vec::with_capacity(self.size))
    }

    pub async fn push(&mut self, row: Row) -> bool {
        self.batch.push(row);
        self.batch.len() < self.size || self.flush().await
    }

    pub async fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = self.take();
        self.tx.send(batch).await.is_ok()
    }

    /// `push` for synchronous readers (SQLite, on a blocking thread).
    pub fn push_blocking(&mut self, row: Row) -> bool {
        self.batch.push(row);
        self.batch.len() < self.size || self.flush_blocking()
    }

    pub fn flush_blocking(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = self.take();
        self.tx.blocking_send(batch).is_ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use tether_schema::{Column, DataType, Table};

    use super::*;
    use crate::url::Engine;

    /// A NOT NULL column of type `ty`, for tests.
    pub(crate) fn column(name: &str, ty: DataType) -> Column {
        Column {
            name: name.into(),
            engine_type: String::new(),
            normalized_type: ty,
            nullable: false,
            default: None,
            identity: None,
            generated: None,
        }
    }

    fn spec(key: &[&str], ty: DataType, keys: Vec<Vec<Value>>) -> ReadSpec {
        let mut columns: Vec<Column> = key.iter().map(|c| column(c, ty.clone())).collect();
        columns.push(column("note", DataType::Text));
        ReadSpec {
            table: Table {
                name: "t".into(),
                columns: columns.clone(),
                primary_key: key.iter().map(|c| c.to_string()).collect(),
                ..Table::default()
            },
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            filter: Filter::KeysIn {
                columns: key.iter().map(|c| c.to_string()).collect(),
                keys,
            },
            order_by: vec![],
            limit: None,
        }
    }

    const INT: DataType = DataType::Int {
        bytes: 8,
        unsigned: false,
    };

    fn ints(k: &[i64]) -> Vec<Value> {
        k.iter().map(|&i| Value::Int(i)).collect()
    }

    fn sqls(s: &ReadSpec) -> Vec<String> {
        s.queries(crate::engine::dialect_of(Engine::Postgres))
            .into_iter()
            .map(|q| q.sql)
            .collect()
    }

    #[test]
    fn integer_keys_read_long_runs_as_one_range_each_and_the_rest_as_one_in_list() {
        let mut keys: Vec<Vec<Value>> = (1..=100).rev().map(|i| ints(&[i])).collect();
        keys.extend([ints(&[300]), ints(&[200]), ints(&[201]), ints(&[1000]), ints(&[1063])]);
        keys.extend((2000..2064).map(|i| ints(&[i])));
        assert_eq!(
            sqls(&spec(&["id"], INT, keys)),
            [
                r#"SELECT "id", "note" FROM "t" WHERE "id" BETWEEN 1 AND 100"#,
                r#"SELECT "id", "note" FROM "t" WHERE "id" BETWEEN 2000 AND 2063"#,
                r#"SELECT "id", "note" FROM "t" WHERE "id" IN (200, 201, 300, 1000, 1063)"#,
            ]
        );
        let many: Vec<Vec<Value>> = (0..25_000).map(|i| ints(&[i * 2])).collect();
        assert_eq!(sqls(&spec(&["id"], INT, many)).len(), 3, "10,000 values per IN list");
    }

    #[test]
    fn composite_integer_keys_read_by_their_first_column_and_keep_only_the_keys() {
        let keys = vec![ints(&[7, 1]), ints(&[7, 3]), ints(&[9, 1])];
        let s = spec(&["order_id", "line_no"], INT, keys);
        let queries = s.queries(crate::engine::dialect_of(Engine::Postgres));
        assert_eq!(queries.len(), 1);
        assert_eq!(
            queries[0].sql,
            r#"SELECT "order_id", "line_no", "note" FROM "t" WHERE "order_id" IN (7, 9)"#
        );
        let row = |o: Value, l: Value| vec![o, l, Value::Text("x".into())];
        assert!(queries[0].keeps(&row(Value::Int(7), Value::Int(3))));
        assert!(queries[0].keeps(&row(Value::Int(9), Value::Int(1))));
        assert!(
            !queries[0].keeps(&row(Value::Int(7), Value::Int(2))),
            "same order, other line"
        );
        assert!(
            !queries[0].keeps(&row(Value::Int(9), Value::Float(1.5))),
            "not an integer"
        );
        // Three columns: kept as vectors, the same checks.
        let s = spec(&["a", "b", "c"], INT, vec![ints(&[1, 2, 3]), ints(&[1, 2, 4])]);
        let q = &s.queries(crate::engine::dialect_of(Engine::Sqlite))[0];
        let row = |c: Value| vec![Value::Int(1), Value::Int(2), c, Value::Text("x".into())];
        assert!(q.keeps(&row(Value::Int(4))));
        assert!(!q.keeps(&row(Value::Int(5))));
        assert!(!q.keeps(&row(Value::Null)));
    }

    #[test]
    fn a_range_drops_values_that_are_not_integers() {
        let s = spec(&["id"], INT, (1..=64).map(|i| ints(&[i])).collect());
        let q = &s.queries(crate::engine::dialect_of(Engine::Sqlite))[0];
        assert!(q.keeps(&[Value::Int(64), Value::Null]));
        assert!(
            !q.keeps(&[Value::Float(2.5), Value::Null]),
            "SQLite keeps 2.5 in an INTEGER column"
        );
    }

    #[test]
    fn other_keys_stay_in_lists_of_tuples() {
        let text = vec![
            vec![Value::Text("a".into()), Value::Int(1)],
            vec![Value::Text("b".into()), Value::Int(2)],
        ];
        let mut s = spec(&["code", "n"], DataType::Text, text);
        s.table.columns[1].normalized_type = INT;
        assert_eq!(
            sqls(&s),
            [r#"SELECT "code", "n", "note" FROM "t" WHERE ("code", "n") IN (('a', 1), ('b', 2))"#]
        );
        // An integer column holding a value that is not an integer: the exact list.
        let odd = spec(&["id"], INT, vec![ints(&[1]), vec![Value::Text("x".into())]]);
        assert_eq!(sqls(&odd), [r#"SELECT "id", "note" FROM "t" WHERE "id" IN (1, 'x')"#]);
    }
}
