//! What readers and writers share: which rows to read, how to write them, and
//! how a rejected row is reported.

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

    /// The SELECTs this read runs: one, or one per `KEYS_PER_QUERY` keys.
    pub fn queries(&self, d: &dyn crate::dialect::Dialect) -> Vec<String> {
        match &self.filter {
            Filter::KeysIn { keys, .. } => keys
                .chunks(KEYS_PER_QUERY)
                .map(|k| self.select_sql(d, Some(k)))
                .collect(),
            _ => vec![self.select_sql(d, None)],
        }
    }

    /// The SELECT this read runs, for `tether plan` and for engines that run it as is.
    pub fn select_sql(&self, d: &dyn crate::dialect::Dialect, keys: Option<&[Vec<Value>]>) -> String {
        let mut sql = format!("SELECT {} FROM {}", d.idents(&self.columns), d.own_rows(&self.table));
        match (&self.filter, keys) {
            (Filter::All, _) => {}
            // In parentheses, and on a line of its own: a `--` comment at the end of the
            // user's predicate must not swallow the ORDER BY and LIMIT after it.
            (Filter::Where(w), _) => {
                sql.push_str(" WHERE (");
                sql.push_str(w);
                sql.push_str("\n)");
            }
            (Filter::KeysIn { columns, .. }, Some(keys)) => {
                sql.push_str(" WHERE ");
                sql.push_str(&in_list(d, columns, keys));
            }
            (Filter::KeysIn { columns, .. }, None) => {
                sql.push_str(&format!(" WHERE ({}) IN (...)", d.idents(columns)));
            }
        }
        if !self.order_by.is_empty() {
            sql.push_str(&format!(" ORDER BY {}", d.idents(&self.order_by)));
        }
        if let Some(n) = self.limit {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }
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
