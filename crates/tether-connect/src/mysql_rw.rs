//! MariaDB/MySQL reads (streamed text protocol) and writes (multi-row INSERT sized
//! well under `max_allowed_packet`, ON DUPLICATE KEY UPDATE for conflicts).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_schema::DataType;
use tokio::sync::mpsc;

use crate::dialect::{self, Dialect};
use crate::mysql::describe;
use crate::rw::{Batch, Conflict, Filter, ReadSpec, WriteError, KEYS_PER_QUERY};
use crate::url::Engine;
use crate::value::{Row, Value};

/// Session settings that make values engine-neutral.
pub const SESSION: &str = "SET NAMES utf8mb4, time_zone = '+00:00', \
     sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'";

/// Largest INSERT statement Tether sends (the server default packet limit is 16 MiB).
const MAX_STATEMENT: usize = 4 * 1024 * 1024;

fn typed(v: mysql_async::Value, ty: &DataType) -> Value {
    use mysql_async::Value as M;
    match v {
        M::NULL => Value::Null,
        M::Bytes(b) => match ty {
            DataType::Binary { .. } => Value::Bytes(b),
            _ => {
                let text = String::from_utf8_lossy(&b);
                match ty {
                    // Fractional zeros from datetime(6) columns are dropped for a canonical form.
                    DataType::Timestamp { .. } | DataType::Time => {
                        Value::Text(text.strip_suffix(".000000").unwrap_or(&text).to_string())
                    }
                    _ => Value::from_text(&text, ty),
                }
            }
        },
        M::Int(i) if *ty == DataType::Boolean => Value::Bool(i != 0),
        M::Int(i) => Value::Int(i),
        M::UInt(u) => i64::try_from(u).map(Value::Int).unwrap_or(Value::UInt(u)),
        M::Float(f) => Value::Float(f as f64),
        M::Double(f) => Value::Float(f),
        other => Value::Text(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// Streams the rows of `spec` in batches.
pub async fn read(
    conn: &mut Conn,
    spec: &ReadSpec,
    batch_size: usize,
    tx: &mpsc::Sender<Batch>,
) -> Result<u64, String> {
    let d = dialect::of(Engine::Mysql);
    let types = spec.types();
    let queries: Vec<String> = match &spec.filter {
        Filter::KeysIn { keys, .. } => keys
            .chunks(KEYS_PER_QUERY)
            .map(|k| spec.select_sql(d, Some(k)))
            .collect(),
        _ => vec![spec.select_sql(d, None)],
    };
    let mut total = 0u64;
    for sql in queries {
        let mut result = conn.query_iter(sql).await.map_err(|e| describe(&e))?;
        let mut batch: Batch = Vec::with_capacity(batch_size);
        let mut stopped = false;
        while let Some(row) = result.next().await.map_err(|e| describe(&e))? {
            if stopped {
                continue; // drain the result so the connection stays usable
            }
            let values = row.unwrap();
            batch.push(values.into_iter().zip(&types).map(|(v, t)| typed(v, t)).collect());
            if batch.len() >= batch_size {
                total += batch.len() as u64;
                if tx
                    .send(std::mem::replace(&mut batch, Vec::with_capacity(batch_size)))
                    .await
                    .is_err()
                {
                    stopped = true;
                }
            }
        }
        if stopped {
            return Ok(total);
        }
        if !batch.is_empty() {
            total += batch.len() as u64;
            if tx.send(batch).await.is_err() {
                return Ok(total);
            }
        }
    }
    Ok(total)
}

fn insert_head(d: &dyn Dialect, table: &str, columns: &[String]) -> String {
    format!("INSERT INTO {table} ({}) VALUES ", d.idents(columns))
}

fn conflict_tail(d: &dyn Dialect, columns: &[String], key: &[String], conflict: Conflict) -> String {
    match conflict {
        Conflict::Error => String::new(),
        Conflict::Skip => {
            let k = key.first().or(columns.first()).map(|c| d.ident(c)).unwrap_or_default();
            format!(" ON DUPLICATE KEY UPDATE {k} = {k}")
        }
        Conflict::Update => {
            let sets: Vec<String> = columns
                .iter()
                .filter(|c| !key.contains(c))
                .map(|c| format!("{0} = VALUES({0})", d.ident(c)))
                .collect();
            if sets.is_empty() {
                conflict_tail(d, columns, key, Conflict::Skip)
            } else {
                format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))
            }
        }
    }
}

fn tuple(d: &dyn Dialect, row: &Row) -> String {
    let mut s = String::from("(");
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&d.literal(v));
    }
    s.push(')');
    s
}

/// Inserts a batch as multi-row INSERTs. When a statement fails, its rows are retried
/// one by one to find the row the server rejects.
pub async fn insert(
    conn: &mut Conn,
    table: &str,
    columns: &[String],
    key: &[String],
    rows: &[Row],
    conflict: Conflict,
) -> Result<u64, WriteError> {
    let d = dialect::of(Engine::Mysql);
    let head = insert_head(d, table, columns);
    let tail = conflict_tail(d, columns, key, conflict);
    let mut written = 0u64;
    let mut start = 0;
    while start < rows.len() {
        let mut sql = head.clone();
        let mut end = start;
        while end < rows.len() && (end == start || sql.len() < MAX_STATEMENT) {
            if end > start {
                sql.push_str(", ");
            }
            sql.push_str(&tuple(d, &rows[end]));
            end += 1;
        }
        sql.push_str(&tail);
        match conn.query_iter(sql).await {
            Ok(r) => {
                let n = r.affected_rows();
                drop(r);
                // ON DUPLICATE KEY UPDATE counts an updated row twice.
                written += if conflict == Conflict::Error {
                    n
                } else {
                    (end - start) as u64
                };
            }
            Err(_) => {
                for (i, row) in rows.iter().enumerate().take(end).skip(start) {
                    let one = format!("{head}{}{tail}", tuple(d, row));
                    if let Err(e) = conn.query_drop(one).await {
                        return Err(WriteError {
                            row: Some(i),
                            message: describe(&e),
                            written,
                        });
                    }
                    written += 1;
                }
            }
        }
        start = end;
    }
    Ok(written)
}

/// Sets `set` columns of the rows identified by `key`, in transactions of many UPDATEs.
pub async fn update(
    conn: &mut Conn,
    table: &str,
    key: &[String],
    set: &[String],
    rows: &[(Row, Row)],
) -> Result<u64, String> {
    let d = dialect::of(Engine::Mysql);
    let mut n = 0u64;
    for chunk in rows.chunks(500) {
        let mut sql = String::from("START TRANSACTION;");
        for (k, v) in chunk {
            let sets: Vec<String> = set
                .iter()
                .zip(v)
                .map(|(c, x)| format!("{} = {}", d.ident(c), d.literal(x)))
                .collect();
            let wheres: Vec<String> = key
                .iter()
                .zip(k)
                .map(|(c, x)| format!("{} = {}", d.ident(c), d.literal(x)))
                .collect();
            sql.push_str(&format!(
                "UPDATE {table} SET {} WHERE {};",
                sets.join(", "),
                wheres.join(" AND ")
            ));
        }
        sql.push_str("COMMIT");
        conn.query_drop(sql).await.map_err(|e| describe(&e))?;
        n += chunk.len() as u64;
    }
    Ok(n)
}

/// Rows of a query, typed by `types` (Text where unknown).
pub async fn query(conn: &mut Conn, sql: &str, types: &[DataType]) -> Result<Vec<Row>, String> {
    let rows: Vec<mysql_async::Row> = conn.query(sql).await.map_err(|e| describe(&e))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            r.unwrap()
                .into_iter()
                .enumerate()
                .map(|(i, v)| typed(v, types.get(i).unwrap_or(&DataType::Text)))
                .collect()
        })
        .collect())
}
