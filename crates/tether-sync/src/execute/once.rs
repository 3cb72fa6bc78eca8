//! One destination key per source row: with `skip` or `update`, a source row is never
//! "found already there" because of a row this same run wrote. Two source keys may be
//! one key in the destination (SQLite's integer `1` and text `'1'` into a text key,
//! `'2024-01-01 00:00:00'` and `'2024-01-01T00:00:00'` into a timestamp key, `'a'` and
//! `'A'` under a caseless collation): `skip` would keep the first and drop the second,
//! `update` would write the second over the first. Each batch's keys are looked up in
//! the destination (compared as its key compares them) before and after it is written;
//! a destination key claimed by two source rows stops the job, naming both, before the
//! transaction of a one-transaction load commits. This holds for a table created,
//! emptied or there empty too: its count check would catch the lost row only after
//! the run committed it, and without naming the rows.

use std::collections::HashMap;

use tether_connect::value::describe_key;
use tether_connect::{Conflict, Connection, Engine, Value};
use tether_schema::{DataType, Table};

use crate::error::SyncError;

/// The destination keys the source rows of one table have met so far this run.
pub(super) struct Claims {
    on: bool,
    /// The table held no row when the run began (created, emptied, or there empty):
    /// every row in it is one this run wrote, each claimed as it was written, so no
    /// lookup is needed before a batch, and none after it unless the key holds text
    /// (a collation may make two spellings one key; a date's or a number's spellings
    /// are told by [`as_stored`] alone).
    fresh: bool,
    /// Destination key (its own spelling, each part as text) -> the source row's key.
    by: HashMap<String, String>,
}

impl Claims {
    /// Claims are kept for a keyed source table written with `skip` or `update`, into a
    /// table that held rows when the run began or not (`fresh`). (With `error` the
    /// destination's key refuses the second row itself, and the error says why.)
    pub(super) fn new(conflict: Conflict, keyed: bool, key: &[String], fresh: bool) -> Self {
        Claims {
            on: conflict != Conflict::Error && keyed && !key.is_empty(),
            fresh,
            by: HashMap::new(),
        }
    }

    /// Before a batch is written: the destination keys its rows (`keys`, the source's
    /// key values) find there, each checked against the rows met before (and the
    /// batch's own). None for a row whose key is not there (or holds NULL).
    pub(super) async fn before(
        &mut self,
        conn: &mut Connection,
        table: &Table,
        key: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<Option<String>>, Stop> {
        if !self.on {
            return Ok(Vec::new());
        }
        let all: Vec<usize> = (0..keys.len()).collect();
        if self.fresh {
            // Nothing there but rows of this run, each claimed: only the batch's own
            // keys, as the column takes them (an integer into an integer column, text
            // into a text one, without asking the server).
            let (local, asked): (Vec<usize>, Vec<usize>) = all
                .iter()
                .partition(|&&i| local_stored(conn.engine(), table, key, &keys[i]).is_some());
            // (A value PostgreSQL cannot take as the key's type fails the query: within
            // a savepoint, so the INSERT meets the value and names its row.)
            let postgres = conn.engine() == Engine::Postgres && !asked.is_empty();
            if postgres {
                let _ = conn.execute("SAVEPOINT tether_once").await;
            }
            let mut taken = match (as_stored(conn, table, key, keys, &asked).await, postgres) {
                (Ok(t), _) => {
                    if postgres {
                        let _ = conn.execute("RELEASE SAVEPOINT tether_once").await;
                    }
                    t
                }
                (Err(_), true) => {
                    let _ = conn.execute("ROLLBACK TO SAVEPOINT tether_once").await;
                    vec![None; keys.len()]
                }
                (Err(e), false) => return Err(e.into()),
            };
            for i in local {
                taken[i] = local_stored(conn.engine(), table, key, &keys[i]);
            }
            for (i, k) in taken.iter().enumerate() {
                if let Some(k) = k {
                    self.claim(k, describe_key(key, &keys[i]))?;
                }
            }
            return Ok(vec![None; keys.len()]);
        }
        let postgres = conn.engine() == Engine::Postgres;
        // A value PostgreSQL cannot take as the key's type fails the lookup: within a
        // savepoint (outside a transaction it fails and nothing needs it), so the
        // INSERT meets the value and names its row.
        if postgres {
            let _ = conn.execute("SAVEPOINT tether_once").await;
        }
        let looked = async {
            let found = lookup(conn, table, key, keys, &all).await?;
            // The keys of this batch not there yet, as the column takes them, so two
            // of them that are one key are named before the INSERT (PostgreSQL's `DO
            // UPDATE` would fail with 21000; elsewhere one would be written over the
            // other, or dropped, before [`Claims::after`] sees it).
            let new: Vec<usize> = all.iter().copied().filter(|&i| found[i].is_none()).collect();
            let taken = as_stored(conn, table, key, keys, &new).await?;
            Ok::<_, SyncError>((found, taken))
        }
        .await;
        let (found, taken) = match (looked, postgres) {
            (Ok(l), _) => {
                if postgres {
                    let _ = conn.execute("RELEASE SAVEPOINT tether_once").await;
                }
                l
            }
            (Err(_), true) => {
                let _ = conn.execute("ROLLBACK TO SAVEPOINT tether_once").await;
                return Ok(vec![None; keys.len()]);
            }
            (Err(e), false) => return Err(e.into()),
        };
        for (i, k) in found.iter().chain(taken.iter()).enumerate() {
            if let Some(k) = k {
                self.claim(k, describe_key(key, &keys[i % keys.len()]))?;
            }
        }
        Ok(found)
    }

    /// After the batch is written (`inserted` rows, as the write counts them): the
    /// rows whose key was not there before now find the row they wrote; two finding
    /// one row are two source keys the destination holds as one (the second was
    /// dropped or written over the first). Into a fresh table, looked up only where
    /// the key may merge spellings [`as_stored`] tells apart, and with `skip` only
    /// when a row was dropped (fewer inserted than written).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn after(
        &mut self,
        conn: &mut Connection,
        table: &Table,
        key: &[String],
        keys: &[Vec<Value>],
        before: &[Option<String>],
        conflict: Conflict,
        inserted: u64,
    ) -> Result<(), Stop> {
        if !self.on {
            return Ok(());
        }
        if self.fresh
            && (!key.iter().any(|c| may_merge(conn.engine(), table, c))
                || (conflict == Conflict::Skip && inserted >= keys.len() as u64))
        {
            return Ok(());
        }
        let new: Vec<usize> = (0..keys.len())
            .filter(|&i| before.get(i).is_none_or(Option::is_none))
            .collect();
        let found = lookup(conn, table, key, keys, &new).await?;
        for i in new {
            if let Some(k) = &found[i] {
                self.claim(k, describe_key(key, &keys[i]))?;
            }
        }
        Ok(())
    }

    /// Destination key `k` for the source row `row`: an error when another source row
    /// holds it.
    fn claim(&mut self, k: &str, row: String) -> Result<(), Stop> {
        match self.by.get(k) {
            Some(first) if *first != row => Err(Stop::Clash(Clash {
                row,
                first: first.clone(),
                there: k.to_string(),
            })),
            Some(_) => Ok(()),
            None => {
                self.by.insert(k.to_string(), row);
                Ok(())
            }
        }
    }
}

/// Why [`Claims`] stops a table: a clash, or a lookup that failed.
pub(super) enum Stop {
    Clash(Clash),
    Failed(SyncError),
}

impl From<SyncError> for Stop {
    fn from(e: SyncError) -> Self {
        Stop::Failed(e)
    }
}

/// Two source rows that are one key in the destination.
pub(super) struct Clash {
    /// The later source row's key, described.
    pub row: String,
    /// The source row that met the destination key first.
    pub first: String,
    /// The destination's key, as it holds it.
    pub there: String,
}

impl Stop {
    /// The error of the job: a clash names the table and both rows (`written`: what
    /// the write left, as a rejected row's message says it).
    pub(super) fn into_error(self, shown: &str, table: &str, conflict: Conflict, written: String) -> SyncError {
        match self {
            Stop::Failed(e) => e,
            Stop::Clash(c) => SyncError::Rejected {
                destination: shown.to_string(),
                table: table.to_string(),
                key: c.row,
                message: two_rows(conflict, &c.first, &c.there),
                written,
            },
        }
    }
}

/// The message of a source row whose destination key another source row holds.
pub(super) fn two_rows(conflict: Conflict, first: &str, there: &str) -> String {
    let lost = match conflict {
        Conflict::Update => "on_conflict = \"update\" would write one of them over the other",
        _ => "on_conflict = \"skip\" would keep one of them and drop the other",
    };
    format!(
        "its key and that of the source's row {first} are two keys on the source but one key in the destination \
         (there: {there}): a value of another type or another spelling of one value (integer 1 and text '1' into a \
         text key, '2024-01-01' and '2024-01-01 00:00:00' into a date key), or text the key's collation compares as \
         equal; {lost}. Make the source's keys agree, or transform the key"
    )
}

/// The SQL of literal `lit` as `column` would store it, shown as text: PostgreSQL
/// casts it to the column's type (as [`lookup`] shows a key there); MariaDB to the
/// type's family (a value it cannot take is NULL: no claim), shown as its bytes;
/// SQLite applies the column's affinity as far as an integer or real into a text
/// column and a text holding a number into a numeric one go. Only the batch's own
/// keys are compared with these (a key there is found by [`lookup`]).
fn stored(engine: Engine, column: Option<&tether_schema::Column>, lit: &str) -> String {
    use tether_schema::DataType as T;
    let Some(col) = column else {
        return format!("CAST({lit} AS text)");
    };
    match engine {
        Engine::Postgres => format!("CAST(CAST({lit} AS {}) AS text)", col.engine_type),
        Engine::Mysql => {
            let cast = match &col.normalized_type {
                T::Date => "DATE".to_string(),
                T::Timestamp { .. } => "DATETIME(6)".to_string(),
                T::Time => "TIME(6)".to_string(),
                T::Int { unsigned: true, .. } => "UNSIGNED".to_string(),
                T::Int { .. } => "SIGNED".to_string(),
                // (Shown as text, not HEX: MariaDB's HEX of a number is that of its
                // rounded integer, so 1.5 and 1.6 would be one key; as [`lookup`].)
                // A FLOAT holds the value rounded to single precision: shown as that
                // value's double (as [`lookup`] shows a FLOAT column; MariaDB prints a
                // FLOAT itself with 6 digits, which makes 123.4567 and 123.4568 one).
                T::Float { bytes: 4 } => return format!("CAST(CAST(CAST({lit} AS FLOAT) AS DOUBLE) AS CHAR)"),
                T::Float { .. } => return format!("CAST(CAST({lit} AS DOUBLE) AS CHAR)"),
                T::Decimal { precision, scale } => {
                    let p = precision.unwrap_or(65).min(65);
                    let s = scale.unwrap_or(30).min(30).min(p);
                    return format!("CAST(CAST({lit} AS DECIMAL({p}, {s})) AS CHAR)");
                }
                _ if col.normalized_type.is_text() => return format!("HEX(CONVERT({lit} USING utf8mb4))"),
                _ => return format!("HEX({lit})"),
            };
            format!("HEX(CAST({lit} AS {cast}))")
        }
        Engine::Sqlite => {
            let ty = col.engine_type.to_ascii_uppercase();
            let text = ["CHAR", "CLOB", "TEXT"].iter().any(|t| ty.contains(t)) && !ty.contains("INT");
            let none = ty.is_empty() || ty.contains("BLOB");
            match (text, none) {
                (true, _) => format!(
                    "quote(CASE WHEN typeof({lit}) IN ('integer', 'real') THEN CAST({lit} AS TEXT) ELSE {lit} END)"
                ),
                (false, true) => format!("quote({lit})"),
                (false, false) => format!(
                    "quote(CASE WHEN typeof({lit}) = 'text' AND CAST(CAST({lit} AS NUMERIC) AS TEXT) = {lit} \
                     THEN CAST({lit} AS NUMERIC) ELSE {lit} END)"
                ),
            }
        }
    }
}

/// Whether `column` of `table` may hold two spellings as one key, beyond what
/// [`as_stored`] tells: text under a collation (MariaDB/MySQL's default ones ignore
/// case and trailing spaces; SQLite's NOCASE and RTRIM, which the schema does not
/// record; a PostgreSQL column with a collation of its own) or a type Tether does not
/// model (`citext`).
fn may_merge(engine: Engine, table: &Table, column: &str) -> bool {
    let Some(col) = table.column(column) else {
        return true;
    };
    let other = matches!(col.normalized_type, DataType::Other(_));
    match engine {
        Engine::Postgres => other || table.extras.collations.contains_key(column),
        _ => other || col.normalized_type.is_text(),
    }
}

/// The key `values` as [`as_stored`] would answer, without asking the server, where
/// every part is stored as it is: an integer into an integer column, text into a
/// `varchar` or `text` column (a `char(n)` pads); else None.
fn local_stored(engine: Engine, table: &Table, key: &[String], values: &[Value]) -> Option<String> {
    let parts: Option<Vec<String>> = key
        .iter()
        .zip(values)
        .map(|(c, v)| {
            let ty = &table.column(c)?.normalized_type;
            let int = matches!(ty, DataType::Int { .. });
            let text = matches!(ty, DataType::Varchar { .. } | DataType::Text);
            let shown = match (v, engine) {
                // MariaDB's HEX of a BIGINT: its 64 bits (two's complement).
                (Value::Int(n), Engine::Mysql) if int => format!("{:X}", *n as u64),
                (Value::UInt(n), Engine::Mysql) if int => format!("{n:X}"),
                (Value::Int(n), _) if int => n.to_string(),
                (Value::UInt(n), _) if int => n.to_string(),
                // As [`stored`] shows text: its UTF-8 bytes in hex (MariaDB), quoted
                // (SQLite), itself (PostgreSQL).
                (Value::Text(t), Engine::Mysql) if text => t.bytes().map(|b| format!("{b:02X}")).collect(),
                (Value::Text(t), Engine::Sqlite) if text => format!("'{}'", t.replace('\'', "''")),
                (Value::Text(t), Engine::Postgres) if text => t.clone(),
                _ => return None,
            };
            Some(format!("{shown:?}"))
        })
        .collect();
    Some(format!("({})", parts?.join(", ")))
}

/// For each of `rows` (indexes into `keys`), its key as `table` would store it
/// ([`stored`]).
async fn as_stored(
    conn: &mut Connection,
    table: &Table,
    key: &[String],
    keys: &[Vec<Value>],
    rows: &[usize],
) -> Result<Vec<Option<String>>, SyncError> {
    let d = conn.dialect();
    let mut out = vec![None; keys.len()];
    let rows = without_nulls(keys, rows);
    let types = answer_types(key);
    for chunk in rows.chunks(100) {
        let selects: Vec<String> = chunk
            .iter()
            .map(|&i| {
                let parts: Vec<String> = key
                    .iter()
                    .zip(keys[i].iter())
                    .map(|(c, v)| stored(conn.engine(), table.column(c), &d.literal(v)))
                    .collect();
                format!("SELECT {i}, 1, {}", parts.join(", "))
            })
            .collect();
        collect(conn.query(&selects.join(" UNION ALL "), &types).await?, &mut out);
    }
    Ok(out)
}

/// Rows (index, 1 where the key is the row's byte for byte, key parts as text) into
/// `out`, each key as `(a, b)`. A row finding several (a caseless column without a
/// key on it holds 'a' and 'A') finds the one its key is byte for byte, as the INSERT
/// does (`skip::exact`), else any of them.
fn collect(rows: Vec<tether_connect::Row>, out: &mut [Option<String>]) {
    for row in rows {
        let at = match row.first() {
            Some(Value::Int(n)) => usize::try_from(*n).ok(),
            Some(Value::UInt(n)) => usize::try_from(*n).ok(),
            Some(Value::Text(t)) => t.parse().ok(),
            _ => None,
        };
        let Some(at) = at.filter(|&a| a < out.len()) else {
            continue;
        };
        let exact = matches!(row.get(1), Some(Value::Int(1) | Value::UInt(1)))
            || matches!(row.get(1), Some(Value::Text(t)) if t == "1");
        if out[at].is_some() && !exact {
            continue;
        }
        // Each part quoted: ('Smith, John', 'NY') and ('Smith', 'John, NY') are two keys.
        let parts: Vec<String> = row[2..]
            .iter()
            .map(|v| match v {
                Value::Text(t) => format!("{t:?}"),
                Value::Null => "NULL".to_string(),
                other => format!("{:?}", other.to_string()),
            })
            .collect();
        out[at] = Some(format!("({})", parts.join(", ")));
    }
}

/// For each of `rows` (indexes into `keys`), the key of the destination's row it finds
/// in `table` (compared as the destination compares the key), each part as text.
async fn lookup(
    conn: &mut Connection,
    table: &Table,
    key: &[String],
    keys: &[Vec<Value>],
    rows: &[usize],
) -> Result<Vec<Option<String>>, SyncError> {
    let d = conn.dialect();
    let engine = conn.engine();
    let from = d.own_rows(table);
    let mut out = vec![None; keys.len()];
    let rows = without_nulls(keys, rows);
    let shown: Vec<String> = key
        .iter()
        .map(|c| match engine {
            Engine::Postgres => format!("CAST({} AS text)", d.ident(c)),
            // MariaDB's HEX of a number is that of its rounded integer: a decimal or
            // float key is shown as its text instead (as [`stored`] shows it).
            Engine::Mysql => match table.column(c).map(|col| &col.normalized_type) {
                Some(tether_schema::DataType::Decimal { .. }) => format!("CAST({} AS CHAR)", d.ident(c)),
                Some(tether_schema::DataType::Float { .. }) => format!("CAST(CAST({} AS DOUBLE) AS CHAR)", d.ident(c)),
                _ => format!("HEX({})", d.ident(c)),
            },
            Engine::Sqlite => format!("quote({})", d.ident(c)),
        })
        .collect();
    let types = answer_types(key);
    for chunk in rows.chunks(100) {
        let selects: Vec<String> = chunk
            .iter()
            .map(|&i| {
                let wheres: Vec<(String, String)> = key
                    .iter()
                    .zip(keys[i].iter())
                    .map(|(c, v)| {
                        let column = table.column(c);
                        let lit = match (engine, v, column) {
                            // The value as the destination's column takes it on insert.
                            (Engine::Postgres, _, Some(col)) => {
                                format!("CAST({} AS {})", d.literal(v), col.engine_type)
                            }
                            // MariaDB compares a text column with a number as numbers
                            // ('01' = 1): the number as the text it is written as.
                            (Engine::Mysql, Value::Int(_) | Value::UInt(_), Some(col))
                                if col.normalized_type.is_text() =>
                            {
                                d.literal(&Value::Text(v.to_string()))
                            }
                            _ => d.literal(v),
                        };
                        let col = d.ident(c);
                        let same = match engine {
                            Engine::Postgres => format!("CAST({col} AS text) = CAST({lit} AS text)"),
                            Engine::Mysql => format!("BINARY {col} = BINARY {lit}"),
                            Engine::Sqlite => format!("{col} = {lit} COLLATE BINARY"),
                        };
                        (format!("{col} = {lit}"), same)
                    })
                    .collect();
                let (wheres, same): (Vec<String>, Vec<String>) = wheres.into_iter().unzip();
                format!(
                    "SELECT {i}, CASE WHEN {} THEN 1 ELSE 0 END, {} FROM {from} WHERE {}",
                    same.join(" AND "),
                    shown.join(", "),
                    wheres.join(" AND ")
                )
            })
            .collect();
        collect(conn.query(&selects.join(" UNION ALL "), &types).await?, &mut out);
    }
    Ok(out)
}

/// `rows` (indexes into `keys`) whose key holds no NULL: such a key finds no row and
/// is no claim.
fn without_nulls(keys: &[Vec<Value>], rows: &[usize]) -> Vec<usize> {
    rows.iter()
        .copied()
        .filter(|&i| !keys[i].iter().any(Value::is_null))
        .collect()
}

/// The types of a lookup's answer rows: the row's index, 1 when exact, each key part
/// as text.
fn answer_types(key: &[String]) -> Vec<tether_schema::DataType> {
    let index = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let mut types = vec![index.clone(), index];
    types.extend(key.iter().map(|_| tether_schema::DataType::Text));
    types
}
