//! MariaDB/MySQL reads (streamed text protocol) and writes (multi-row INSERT sized
//! well under `max_allowed_packet`, ON DUPLICATE KEY UPDATE for conflicts).

use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_schema::{DataType, Table};
use tokio::sync::mpsc;

use crate::dialect::Dialect;
use crate::mysql::describe;
use crate::mysql::nontx;
use crate::rw::{Batch, Batcher, Conflict, ReadSpec, WriteError};
use crate::url::Engine;
use crate::value::{Row, Value};

/// Session settings that make values engine-neutral. Zero dates stay allowed: a MariaDB
/// source holds them under its default `sql_mode`, and a copy keeps what it holds.
pub const SESSION: &str = "SET NAMES utf8mb4, time_zone = '+00:00', \
     sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO'";

/// The `sql_mode` of [`SESSION`], set again after a statement that needed another.
pub const SQL_MODE: &str = "STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO";

/// Largest INSERT statement Tether sends (the server default packet limit is 16 MiB).
const MAX_STATEMENT: usize = 4 * 1024 * 1024;

/// MariaDB types whose values are bytes, not text: spatial types (internal format:
/// SRID then WKB).
fn is_binary_other(name: &str) -> bool {
    const BINARY: &[&str] = &[
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
    ];
    BINARY.iter().any(|b| name == *b || name.starts_with(&format!("{b}(")))
}

fn typed(v: mysql_async::Value, ty: &DataType) -> Value {
    use mysql_async::Value as M;
    match v {
        M::NULL => Value::Null,
        M::Bytes(b) => match ty {
            DataType::Binary { .. } => Value::Bytes(b),
            // `bit(n)` arrives as its raw big-endian bytes, not as digits.
            DataType::Bits { .. } => {
                let n = b.iter().fold(0u64, |n, &byte| n << 8 | u64::from(byte));
                i64::try_from(n).map(Value::Int).unwrap_or(Value::UInt(n))
            }
            DataType::Other(name) if is_binary_other(name) => Value::Bytes(b),
            _ => {
                // A text column holding bytes its character set does not allow (written
                // under a lax `sql_mode` or another `character_set_client`) sends them as
                // they are: they stay bytes, never replacement characters.
                let text = match String::from_utf8(b) {
                    Ok(text) => text,
                    Err(e) => return Value::RawText(e.into_bytes()),
                };
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
    let d = crate::engine::dialect_of(Engine::Mysql);
    let types = spec.types();
    let mut out = Batcher::new(tx, batch_size);
    for q in spec.queries(d) {
        let mut result = conn.query_iter(q.sql.as_str()).await.map_err(|e| describe(&e))?;
        let mut stopped = false;
        while let Some(row) = result.next().await.map_err(|e| describe(&e))? {
            // Once the receiver is gone, drain the result so the connection stays usable.
            if !stopped {
                let values: Row = row.unwrap().into_iter().zip(&types).map(|(v, t)| typed(v, t)).collect();
                stopped = q.keeps(&values) && !out.push(values).await;
            }
        }
        if stopped {
            return Ok(out.sent);
        }
    }
    out.flush().await;
    Ok(out.sent)
}

fn insert_head(d: &dyn Dialect, table: &str, columns: &[String]) -> String {
    format!("INSERT INTO {table} ({}) VALUES ", d.idents(columns))
}

/// What follows the VALUES of an INSERT for `conflict`, and whether the statement's
/// affected rows count the rows written (skip: 1 per row inserted, 0 per row kept;
/// update: 2 per row overwritten, so the rows are counted instead).
///
/// ON DUPLICATE KEY UPDATE fires on a clash with *any* unique key: an update guards
/// its first assignment so that a row whose `key` differs from the clashing row's (it
/// clashed on another unique key) fails with [`ER_SUBQUERY_ROWS`] instead of
/// overwriting a different row, as PostgreSQL's `ON CONFLICT (key) DO UPDATE` and
/// SQLite's upsert refuse it.
fn conflict_tail(d: &dyn Dialect, columns: &[String], key: &[String], conflict: Conflict) -> (String, bool) {
    match conflict {
        Conflict::Error => (String::new(), true),
        // Keeps only a row clashing on its own key: a clash on another unique key fails
        // through the same guard as an update's (a row of another key is no row "already
        // there"), as PostgreSQL's and SQLite's `ON CONFLICT (key) DO NOTHING` refuse it.
        Conflict::Skip => {
            let Some(first) = key.first().or(columns.first()) else {
                return (String::new(), true);
            };
            let key: Vec<String> = match key.is_empty() {
                true => columns.to_vec(),
                false => key.to_vec(),
            };
            let same = same_bytes(d, &key);
            let k = d.ident(first);
            (
                format!(" ON DUPLICATE KEY UPDATE {k} = IF({}, {k}, {})", same, guard_rows(&k)),
                true,
            )
        }
        Conflict::Update => {
            let sets: Vec<String> = columns
                .iter()
                .filter(|c| !key.contains(c))
                .map(|c| format!("{0} = VALUES({0})", d.ident(c)))
                .collect();
            let Some(first) = key.first().filter(|_| !sets.is_empty()) else {
                return conflict_tail(d, columns, key, Conflict::Skip);
            };
            let same = same_bytes(d, key);
            let k = d.ident(first);
            (
                format!(
                    " ON DUPLICATE KEY UPDATE {k} = IF({}, {k}, {}), {}",
                    same,
                    guard_rows(&k),
                    sets.join(", ")
                ),
                false,
            )
        }
    }
}

/// The guard's failing branch: two rows, so the server raises [`ER_SUBQUERY_ROWS`], and
/// of the key column's own type (`k` is the column of the row already there), so
/// MariaDB accepts it beside `{k}` in the `IF` whatever that type is: an `int` branch
/// was refused with error 4078 ("Illegal parameter data types uuid and int") for its
/// native `uuid`, `inet4`, `inet6` and geometry types (NOTES.md, nineteenth session
/// writer B).
fn guard_rows(k: &str) -> String {
    format!("(SELECT {k} UNION ALL SELECT {k})")
}

/// The guard's test that the clashing row has the written row's `key`: each column
/// compared as its bytes (`BINARY`), not with the column's collation, which holds 'a'
/// and 'A' (`_ci`) or 'b' and 'b ' (PAD SPACE) equal. Two source rows whose keys differ
/// only so are two rows: the second is refused, never dropped (skip) or written over
/// the first (update) (NOTES.md, seventeenth session review B). `VALUES(k)` is the
/// value as the column stores it, so numbers, dates and CHAR compare as stored.
fn same_bytes(d: &dyn Dialect, key: &[String]) -> String {
    let same: Vec<String> = key
        .iter()
        .map(|c| format!("BINARY {0} <=> BINARY VALUES({0})", d.ident(c)))
        .collect();
    same.join(" AND ")
}

/// "Subquery returns more than 1 row": what the guard of an update's
/// [`conflict_tail`] raises for a row clashing with another row on another unique key.
const ER_SUBQUERY_ROWS: u16 = 1242;

/// The message for a row refused by the guard of [`conflict_tail`].
fn other_key_clash(key: &[String], conflict: Conflict) -> String {
    match conflict {
        Conflict::Skip => format!(
            "it clashes with a destination row whose key ({}) is another on a unique key other than that: \
             on_conflict = \"skip\" keeps only a row whose key is already there (as on PostgreSQL and SQLite); \
             this row's key is not, so skipping it would lose it; that row was left as it was",
            key.join(", ")
        ),
        _ => format!(
            "it clashes with a destination row whose key ({}) is another on a unique key other than that: \
             on_conflict = \"update\" overwrites only the row with the same key (as on PostgreSQL and SQLite), \
             never a different row; that row was left as it was",
            key.join(", ")
        ),
    }
}

/// How a batch's rows go in.
enum Form {
    /// A multi-row `INSERT ... VALUES` (`head` VALUES ... `tail`, [`conflict_tail`]).
    Values {
        head: String,
        tail: String,
        counts_affected: bool,
    },
    /// Skip or update into a table without a primary or unique key on exactly the row's
    /// key (ON DUPLICATE KEY fires only on the table's own keys, so a row whose key is
    /// there would go in a second time): the rows are read from a derived table `v`;
    /// those whose key is there are updated (`sets`, update) or kept, the others inserted
    /// (`WHERE NOT EXISTS`), as PostgreSQL's and SQLite's writes do. A clash on another
    /// key is the server's error (1062).
    Derived {
        table: String,
        columns: Vec<String>,
        /// `t` (the table's row) has `v`'s key ([`same_key`]).
        same: String,
        sets: Vec<String>,
    },
}

impl Form {
    /// The form for a write of `columns` into `table` (`dest`, the destination's table)
    /// with `conflict`; `keyed`: the source's table has a key of its own (else `key` is
    /// every column and rows may repeat: the form stays ON DUPLICATE KEY's).
    fn new(
        d: &dyn Dialect,
        dest: &Table,
        table: &str,
        columns: &[String],
        key: &[String],
        keyed: bool,
        conflict: Conflict,
    ) -> Form {
        let derived = conflict != Conflict::Error
            && keyed
            && !key.is_empty()
            && key.iter().all(|k| columns.contains(k))
            && !crate::skip::exact(dest, key);
        if !derived {
            let (tail, counts_affected) = conflict_tail(d, columns, key, conflict);
            return Form::Values {
                head: insert_head(d, table, columns),
                tail,
                counts_affected,
            };
        }
        let sets = match conflict {
            Conflict::Update => columns
                .iter()
                .filter(|c| !key.contains(c))
                .map(|c| format!("t.{0} = v.{0}", d.ident(c)))
                .collect(),
            _ => Vec::new(),
        };
        Form::Derived {
            table: table.to_string(),
            columns: columns.to_vec(),
            same: same_key(d, dest, key),
            sets,
        }
    }

    /// Whether the rows the statements affected are the rows written (skip: 1 per row
    /// inserted, 0 per row kept); else the rows are counted (update: 2 per row
    /// overwritten by ON DUPLICATE KEY, and an UPDATE beside the INSERT).
    fn counts_affected(&self) -> bool {
        match self {
            Form::Values { counts_affected, .. } => *counts_affected,
            Form::Derived { sets, .. } => sets.is_empty(),
        }
    }

    /// The statements writing `rows` from `start`, at least one row and as many more as
    /// fit in [`MAX_STATEMENT`]; and the index after their last row.
    fn next(&self, d: &dyn Dialect, rows: &[Row], start: usize) -> (Vec<String>, usize) {
        let mut text = String::new();
        let mut end = start;
        while end < rows.len() && (end == start || text.len() < MAX_STATEMENT) {
            match self {
                Form::Values { .. } => {
                    if end > start {
                        text.push_str(", ");
                    }
                    text.push_str(&tuple(d, &rows[end]));
                }
                Form::Derived { columns, .. } => {
                    if end > start {
                        text.push_str(" UNION ALL ");
                    }
                    // The first row names the derived table's columns.
                    let values: Vec<String> = rows[end]
                        .iter()
                        .zip(columns)
                        .map(|(v, c)| match end == start {
                            true => format!("{} AS {}", d.literal(v), d.ident(c)),
                            false => d.literal(v),
                        })
                        .collect();
                    text.push_str(&format!("SELECT {}", values.join(", ")));
                }
            }
            end += 1;
        }
        let statements = match self {
            Form::Values { head, tail, .. } => vec![format!("{head}{text}{tail}")],
            Form::Derived {
                table,
                columns,
                same,
                sets,
            } => {
                let mut out = Vec::new();
                if !sets.is_empty() {
                    out.push(format!(
                        "UPDATE {table} AS t JOIN ({text}) AS v ON {same} SET {}",
                        sets.join(", ")
                    ));
                }
                let picked: Vec<String> = columns.iter().map(|c| format!("v.{}", d.ident(c))).collect();
                out.push(format!(
                    "INSERT INTO {table} ({}) SELECT {} FROM ({text}) AS v \
                     WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same})",
                    d.idents(columns),
                    picked.join(", ")
                ));
                out
            }
        };
        (statements, end)
    }
}

/// `t` (a row of `dest`) has the key of `v` (a written row): each key column the same
/// value, text by its characters and not the column's collation (which holds 'a' and
/// 'A', or 'b' and 'b ', equal: such a row is not the written row's, and is inserted
/// beside it or refused by a key of the table). CHAR keeps no trailing spaces, so
/// those of the written value are not compared.
fn same_key(d: &dyn Dialect, dest: &Table, key: &[String]) -> String {
    let same: Vec<String> = key
        .iter()
        .map(|c| {
            let k = d.ident(c);
            match dest.column(c).map(|col| &col.normalized_type) {
                Some(DataType::Char { .. }) => {
                    format!("BINARY CONVERT(t.{k} USING utf8mb4) <=> BINARY TRIM(TRAILING ' ' FROM v.{k})")
                }
                Some(ty) if ty.is_text() => format!("BINARY CONVERT(t.{k} USING utf8mb4) <=> BINARY v.{k}"),
                _ => format!("t.{k} <=> v.{k}"),
            }
        })
        .collect();
    same.join(" AND ")
}

/// Runs `statements` in order; the rows they affected and, when a statement's warnings
/// say the server stored a value changed, that ([`changed_value`]), which stops them.
async fn run(conn: &mut Conn, statements: &[String]) -> Result<(u64, Option<Changed>), mysql_async::Error> {
    let mut affected = 0u64;
    for sql in statements {
        let r = conn.query_iter(sql.as_str()).await?;
        let (n, warnings) = (r.affected_rows(), r.warnings());
        drop(r);
        affected += n;
        if warnings > 0 {
            if let Some(changed) = changed_value(conn).await {
                return Ok((affected, Some(changed)));
            }
        }
    }
    Ok((affected, None))
}

/// A value stored changed: the statement's row it names (from 1), and the message.
type Changed = (Option<usize>, String);

/// After a row refused on its key (1062, or the guard's 1242): when the destination
/// holds a row whose key its collation compares as equal to the row's, but whose text
/// is another ('a' and 'A' under `_ci`, 'b' and 'b ' under PAD SPACE), the message
/// naming both keys and the key columns' collations. None otherwise.
async fn collation_clash(
    conn: &mut Conn,
    dest: &Table,
    table: &str,
    columns: &[String],
    key: &[String],
    row: &Row,
) -> Option<String> {
    let d = crate::engine::dialect_of(Engine::Mysql);
    let at: Vec<usize> = key
        .iter()
        .map(|k| columns.iter().position(|c| c == k))
        .collect::<Option<_>>()?;
    if at.is_empty() {
        return None;
    }
    let wheres: Vec<String> = key
        .iter()
        .zip(&at)
        .map(|(k, &i)| format!("{} <=> {}", d.ident(k), d.literal(&row[i])))
        .collect();
    let sql = format!(
        "SELECT {} FROM {table} WHERE {} LIMIT 1",
        d.idents(key),
        wheres.join(" AND ")
    );
    let there = query(conn, &sql, &[]).await.ok()?.into_iter().next()?;
    let differ: Vec<&String> = key
        .iter()
        .zip(&at)
        .zip(&there)
        // Text columns only: two spellings of one date or number are not a collation's.
        .filter(|((k, _), _)| dest.column(k).is_some_and(|c| c.normalized_type.is_text()))
        .filter(|((_, &i), t)| matches!((&row[i], t), (Value::Text(a), Value::Text(b)) if a != b))
        .map(|((k, _), _)| k)
        .collect();
    if differ.is_empty() {
        return None;
    }
    let shown: Vec<mysql_async::Row> = conn
        .query(format!("SHOW FULL COLUMNS FROM {table}"))
        .await
        .unwrap_or_default();
    let collations: Vec<String> = differ
        .iter()
        .map(|k| {
            let collation = shown
                .iter()
                .find(|r| r.get::<String, _>("Field").as_ref() == Some(*k))
                .and_then(|r| r.get::<Option<String>, _>("Collation").flatten())
                .unwrap_or_else(|| "unknown".to_string());
            format!("{k} is {collation}")
        })
        .collect();
    // Shown as the source's values are: text as text, the rest as the row has them.
    let theirs: Vec<String> = at
        .iter()
        .zip(&there)
        .map(|(&i, t)| match &row[i] {
            Value::Text(_) => d.literal(t),
            v => d.literal(v),
        })
        .collect();
    Some(crate::skip::spelling_clash(key, &theirs, &collations, "as utf8mb4_bin"))
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

/// Appends a value in `LOAD DATA` text form (fields separated by tabs, `\` escapes).
fn put_field(buf: &mut Vec<u8>, v: &Value) {
    let escaped = |buf: &mut Vec<u8>, bytes: &[u8]| {
        for &b in bytes {
            match b {
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                0 => buf.extend_from_slice(b"\\0"),
                other => buf.push(other),
            }
        }
    };
    match v {
        Value::Null => buf.extend_from_slice(b"\\N"),
        Value::Bool(b) => buf.push(if *b { b'1' } else { b'0' }),
        Value::Int(i) => buf.extend_from_slice(i.to_string().as_bytes()),
        Value::UInt(u) => buf.extend_from_slice(u.to_string().as_bytes()),
        Value::Float(f) => buf.extend_from_slice(format!("{f:?}").as_bytes()),
        Value::Text(t) => escaped(buf, t.as_bytes()),
        // Bytes that are not UTF-8 go as they are: the server warns of them in a text
        // column, and the batch goes to the INSERT path, which is refused naming the row.
        Value::RawText(b) | Value::Bytes(b) => escaped(buf, b),
    }
}

/// Loads a batch with `LOAD DATA LOCAL INFILE` in a transaction of its own. With
/// LOCAL the server turns duplicate keys and data errors into warnings, so the batch
/// is committed only if every row went in with no warning; otherwise it is rolled back
/// and `Ok(None)` asks for the INSERT path, which names the failing row.
async fn load_data(
    conn: &mut Conn,
    table: &str,
    columns: &[String],
    bits: &[bool],
    rows: &[Row],
) -> Result<Option<u64>, mysql_async::Error> {
    let d = crate::engine::dialect_of(Engine::Mysql);
    let mut data = Vec::with_capacity(rows.len() * 64);
    for row in rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                data.push(b'\t');
            }
            put_field(&mut data, v);
        }
        data.push(b'\n');
    }
    let bytes = bytes::Bytes::from(data);
    conn.set_infile_handler(async move {
        Ok(futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) }).boxed())
    });
    conn.query_drop("START TRANSACTION").await?;
    // LOAD DATA stores a field's bytes into a `bit(n)` column as they are ('5' would
    // be 0x35): those fields go through a variable and are stored as the number.
    let mut targets = Vec::with_capacity(columns.len());
    let mut sets = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if bits.get(i).copied().unwrap_or(false) {
            targets.push(format!("@tether_{i}"));
            sets.push(format!("{} = CAST(@tether_{i} AS UNSIGNED)", d.ident(c)));
        } else {
            targets.push(d.ident(c));
        }
    }
    let set = if sets.is_empty() {
        String::new()
    } else {
        format!(" SET {}", sets.join(", "))
    };
    let sql = format!(
        "LOAD DATA LOCAL INFILE 'tether-batch' INTO TABLE {table} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({}){set}",
        targets.join(", ")
    );
    let outcome = match conn.query_iter(sql).await {
        Ok(r) => {
            let (n, warnings) = (r.affected_rows(), r.warnings());
            drop(r);
            Ok((n, warnings))
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok((n, 0)) if n == rows.len() as u64 => {
            conn.query_drop("COMMIT").await?;
            Ok(Some(n))
        }
        Ok((n, warnings)) => {
            let shown: Vec<(String, u32, String)> = if warnings > 0 {
                conn.query("SHOW WARNINGS LIMIT 3").await.unwrap_or_default()
            } else {
                vec![]
            };
            tracing::debug!(
                rows = rows.len(),
                loaded = n,
                warnings,
                ?shown,
                "LOAD DATA batch rolled back; using INSERT"
            );
            conn.query_drop("ROLLBACK").await?;
            Ok(None)
        }
        Err(e) => {
            let _ = conn.query_drop("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Writes a batch: `LOAD DATA LOCAL INFILE` when conflicts are errors and the server
/// allows it, else multi-row INSERTs ([`Form`]). When an INSERT fails, its rows are
/// retried one by one to find the row the server rejects. `dest`: the destination's
/// table (`table` its SQL name); `keyed`: the source's table has a key of its own.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut Conn,
    load_data_ok: &mut bool,
    dest: &Table,
    table: &str,
    columns: &[String],
    bits: &[bool],
    key: &[String],
    keyed: bool,
    rows: &[Row],
    conflict: Conflict,
) -> Result<u64, WriteError> {
    let d = crate::engine::dialect_of(Engine::Mysql);
    if rows.is_empty() {
        return Ok(0);
    }
    let form = Form::new(d, dest, table, columns, key, keyed, conflict);
    let target = nontx::probe(conn, table).await;
    // A non-transactional table keeps what a failed statement wrote: no LOAD DATA (it
    // skips a refused row and goes on), and no batch is ever sent again.
    if let Some(engine) = target.nontx_engine.clone() {
        return insert_nontx(
            conn,
            &engine,
            target.max_packet,
            &form,
            dest,
            table,
            columns,
            key,
            rows,
            conflict,
        )
        .await;
    }
    if conflict == Conflict::Error && *load_data_ok {
        match load_data(conn, table, columns, bits, rows).await {
            Ok(Some(n)) => return Ok(n),
            Ok(None) => {}
            Err(e) => {
                // The server or the user may not allow LOCAL INFILE: use INSERTs from now on.
                tracing::info!(
                    "LOAD DATA LOCAL INFILE is not available ({}); using INSERT",
                    describe(&e)
                );
                *load_data_ok = false;
            }
        }
    }
    let counts_affected = form.counts_affected();
    let mut written = 0u64;
    let mut start = 0;
    while start < rows.len() {
        let (statements, end) = form.next(d, rows, start);
        let bytes: usize = statements.iter().map(String::len).sum();
        // In a transaction of its own: a value the server stores changed (a note, not
        // an error) is seen only after the statement ran, and its rows must not stay.
        // Not the server's answer: the connection is gone, and with it any retry.
        // A server closes it on a statement over its max_allowed_packet, which a
        // single large row can be (a 20 MiB blob against the default 16 MiB); the
        // LOAD DATA tried before may have been that statement.
        let lost = |e: &mysql_async::Error| WriteError {
            row: (end - start == 1).then_some(start),
            message: lost_message(e, end - start, bytes, target.max_packet),
            written,
            duplicate_key: false,
        };
        conn.query_drop("START TRANSACTION").await.map_err(|e| match e {
            mysql_async::Error::Server(_) => unplaced(&e, written),
            e => lost(&e),
        })?;
        let changed = |at: Option<usize>, message: String, first: usize| WriteError {
            row: at.map(|n| first + n - 1).filter(|i| *i < end),
            message: format!("{message}; the statement's rows were rolled back"),
            written,
            duplicate_key: false,
        };
        match run(conn, &statements).await {
            Ok((_, Some((at, message)))) => {
                let _ = conn.query_drop("ROLLBACK").await;
                return Err(changed(at, message, start));
            }
            Ok((n, None)) => {
                conn.query_drop("COMMIT").await.map_err(|e| unplaced(&e, written))?;
                written += if counts_affected { n } else { (end - start) as u64 };
            }
            Err(e) if !matches!(e, mysql_async::Error::Server(_)) => return Err(lost(&e)),
            // Row by row, in the same transaction, to name the row: a row stored
            // changed rolls back the statement's rows; one refused keeps those before it.
            Err(_) => {
                // An UPDATE before the failed INSERT ([`Form::Derived`]) stays in the
                // transaction: undone, so that no row after the refused one is changed.
                if statements.len() > 1 {
                    conn.query_drop("ROLLBACK").await.map_err(|e| unplaced(&e, written))?;
                    conn.query_drop("START TRANSACTION")
                        .await
                        .map_err(|e| unplaced(&e, written))?;
                }
                let mut affected = 0u64;
                for (i, row) in rows.iter().enumerate().take(end).skip(start) {
                    let (one, _) = form.next(d, std::slice::from_ref(row), 0);
                    match run(conn, &one).await {
                        Ok((n, None)) => affected += n,
                        Ok((_, Some((_, message)))) => {
                            let _ = conn.query_drop("ROLLBACK").await;
                            return Err(changed(Some(1), message, i));
                        }
                        // The rows before it are kept (and counted), as a row-by-row
                        // load leaves them.
                        Err(e) => {
                            let kept = match conn.query_drop("COMMIT").await {
                                Ok(()) if counts_affected => affected,
                                Ok(()) => (i - start) as u64,
                                Err(_) => 0,
                            };
                            return Err(
                                refused(conn, &e, dest, table, columns, key, row, conflict, i, written + kept).await,
                            );
                        }
                    }
                }
                conn.query_drop("COMMIT").await.map_err(|e| unplaced(&e, written))?;
                written += if counts_affected {
                    affected
                } else {
                    (end - start) as u64
                };
            }
        }
        start = end;
    }
    Ok(written)
}

/// The error for `row` (index `at` in the batch), which the server refused with `e`,
/// after `written` rows: a key its collation holds equal to a row's already there
/// ([`collation_clash`]) is said so; a clash the guard of [`conflict_tail`] found on
/// another key, and one on another key of a [`Form::Derived`] write, are said so.
#[allow(clippy::too_many_arguments)]
async fn refused(
    conn: &mut Conn,
    e: &mysql_async::Error,
    dest: &Table,
    table: &str,
    columns: &[String],
    key: &[String],
    row: &Row,
    conflict: Conflict,
    at: usize,
    written: u64,
) -> WriteError {
    let code = match e {
        mysql_async::Error::Server(s) => s.code,
        _ => 0,
    };
    let clash = match code {
        1062 | ER_SUBQUERY_ROWS => collation_clash(conn, dest, table, columns, key, row).await,
        _ => None,
    };
    let said = clash.is_some();
    let message = match (clash, code) {
        (Some(clash), _) => clash,
        (None, ER_SUBQUERY_ROWS) if conflict != Conflict::Error => other_key_clash(key, conflict),
        (None, 1062) if conflict != Conflict::Error => format!("{}: {}", describe(e), other_key_clash(key, conflict)),
        _ => describe(e),
    };
    WriteError {
        row: Some(at),
        // (A collation's clash is no key the destination "already holds": no advice
        // to skip or update follows it.)
        duplicate_key: code == 1062 && !said,
        message,
        written,
    }
}

/// The message for a statement whose connection was lost: the server's packet limit is
/// named only when the statement (`bytes` long, `rows` rows) was at least that long
/// (`max_packet`; 0: unknown, then it is named as a possibility).
fn lost_message(e: &mysql_async::Error, rows: usize, bytes: usize, max_packet: u64) -> String {
    let why = match max_packet {
        0 => format!(
            " (the INSERT of {rows} row(s) was {bytes} bytes: a server closes the connection on a statement \
             longer than its max_allowed_packet)"
        ),
        limit if bytes as u64 >= limit => format!(
            " (the INSERT of {rows} row(s) was {bytes} bytes, not less than the server's max_allowed_packet \
             of {limit}: raise it on the server)"
        ),
        _ => String::new(),
    };
    format!("the connection to the server was lost: {}{why}", describe(e))
}

/// [`insert`] into a non-transactional table: multi-row INSERTs in order; the first
/// failure ends the write, nothing is sent again. The rows of the failed statement that
/// went in are counted (the table's rows before and after it): with `Conflict::Error`
/// the server stops at the refused row, so that count names it.
#[allow(clippy::too_many_arguments)]
async fn insert_nontx(
    conn: &mut Conn,
    engine: &str,
    max_packet: u64,
    form: &Form,
    dest: &Table,
    table: &str,
    columns: &[String],
    key: &[String],
    rows: &[Row],
    conflict: Conflict,
) -> Result<u64, WriteError> {
    let d = crate::engine::dialect_of(Engine::Mysql);
    let counts_affected = form.counts_affected();
    let mut written = 0u64;
    let mut start = 0;
    while start < rows.len() {
        let (statements, end) = form.next(d, rows, start);
        let bytes: usize = statements.iter().map(String::len).sum();
        let before = nontx::count(conn, table).await;
        match run(conn, &statements).await {
            Ok((n, changed)) => {
                let done = if counts_affected { n } else { (end - start) as u64 };
                if let Some((at, message)) = changed {
                    let now = nontx::count(conn, table).await;
                    let went = now.zip(before).map(|(a, b)| a.saturating_sub(b));
                    return Err(WriteError {
                        row: at.map(|n| start + n - 1).filter(|i| *i < end),
                        message: format!("{message}{}", nontx::stays(table, engine, went.or(Some(n)), now)),
                        written: written + done,
                        duplicate_key: false,
                    });
                }
                written += done;
            }
            Err(e) if !matches!(e, mysql_async::Error::Server(_)) => {
                return Err(WriteError {
                    row: (end - start == 1).then_some(start),
                    message: format!(
                        "{}{}",
                        lost_message(&e, end - start, bytes, max_packet),
                        nontx::stays(table, engine, None, None)
                    ),
                    written,
                    duplicate_key: false,
                });
            }
            Err(e) => {
                let now = nontx::count(conn, table).await;
                let went = now.zip(before).map(|(a, b)| a.saturating_sub(b));
                // Rows go in in order and the statement stops at the first refused one:
                // with plain INSERTs the rows that went in are those before it.
                let row = match (conflict, went) {
                    (Conflict::Error, Some(w)) => Some(start + w as usize).filter(|i| *i < end),
                    _ => (end - start == 1).then_some(start),
                };
                let refusal = match row {
                    Some(i) => refused(conn, &e, dest, table, columns, key, &rows[i], conflict, i, 0).await,
                    None => WriteError {
                        row: None,
                        message: match &e {
                            mysql_async::Error::Server(s)
                                if s.code == ER_SUBQUERY_ROWS && conflict != Conflict::Error =>
                            {
                                other_key_clash(key, conflict)
                            }
                            e => describe(e),
                        },
                        written: 0,
                        duplicate_key: matches!(&e, mysql_async::Error::Server(s) if s.code == 1062),
                    },
                };
                return Err(WriteError {
                    row,
                    message: format!("{}{}", refusal.message, nontx::stays(table, engine, went, now)),
                    written: written + went.unwrap_or(0),
                    duplicate_key: refusal.duplicate_key,
                });
            }
        }
        start = end;
    }
    Ok(written)
}

/// A failure of no row in particular (a transaction's start or commit), after
/// `written` rows.
fn unplaced(e: &mysql_async::Error, written: u64) -> WriteError {
    WriteError {
        row: None,
        message: describe(e),
        written,
        duplicate_key: false,
    }
}

/// After a write with warnings: the first note saying the server stored a value other
/// than the one given (1265 "Data truncated": a decimal rounded to the column's scale,
/// trailing spaces cut; strict mode makes the rest errors), with the statement's row
/// it names (from 1). A copy holding another value than its source is refused.
async fn changed_value(conn: &mut Conn) -> Option<(Option<usize>, String)> {
    let shown: Vec<(String, u32, String)> = conn.query("SHOW WARNINGS").await.ok()?;
    let (level, code, message) = shown.into_iter().find(|(_, code, _)| *code == 1265)?;
    let at = message
        .rsplit_once(" at row ")
        .and_then(|(_, n)| n.trim().parse::<usize>().ok());
    Some((
        at,
        format!(
            "server {} {code}: {message} (the value stored would differ from the source's)",
            level.to_lowercase()
        ),
    ))
}

/// Sets `set` columns of the rows identified by `key`, in transactions of many UPDATEs;
/// returns the rows changed.
pub async fn update(
    conn: &mut Conn,
    table: &str,
    key: &[String],
    set: &[String],
    rows: &[(Row, Row)],
) -> Result<u64, String> {
    let d = crate::engine::dialect_of(Engine::Mysql);
    // The table's `ON UPDATE CURRENT_TIMESTAMP` columns, each assigned its own value:
    // MariaDB/MySQL stamp such a column with the time of an UPDATE that changes another
    // column and does not assign it, and the copy keeps the source's values (review r18 H1).
    let stamped: Vec<String> = conn
        .query::<mysql_async::Row, _>(format!("SHOW COLUMNS FROM {table} WHERE Extra LIKE '%on update%'"))
        .await
        .map_err(|e| describe(&e))?
        .into_iter()
        .filter_map(|r| r.get::<String, _>(0))
        .filter(|c| !set.contains(c))
        .map(|c| format!("{0} = {0}", d.ident(&c)))
        .collect();
    let mut n = 0u64;
    for chunk in rows.chunks(500) {
        // The rows the UPDATEs changed, as the server counts them, added up in a
        // session variable (the caller checks them against the rows it asked for).
        let mut sql = String::from("SET @tether_changed = 0; START TRANSACTION;");
        for (k, v) in chunk {
            let sets: Vec<String> = set
                .iter()
                .zip(v)
                .map(|(c, x)| format!("{} = {}", d.ident(c), d.literal(x)))
                .chain(stamped.iter().cloned())
                .collect();
            let wheres: Vec<String> = key
                .iter()
                .zip(k)
                .map(|(c, x)| format!("{} = {}", d.ident(c), d.literal(x)))
                .collect();
            sql.push_str(&format!(
                "UPDATE {table} SET {} WHERE {}; SET @tether_changed = @tether_changed + ROW_COUNT();",
                sets.join(", "),
                wheres.join(" AND ")
            ));
        }
        sql.push_str("COMMIT");
        conn.query_drop(sql).await.map_err(|e| describe(&e))?;
        let changed: Option<u64> = conn
            .query_first("SELECT @tether_changed")
            .await
            .map_err(|e| describe(&e))?;
        n += changed.unwrap_or(0);
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

#[cfg(test)]
mod tests {
    use super::lost_message;

    fn reset() -> mysql_async::Error {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        mysql_async::Error::Io(mysql_async::IoError::Io(io))
    }

    /// Review r16 Y5: a lost connection names the packet limit only for a statement at
    /// least that long, and says "input/output error" once.
    #[test]
    fn a_lost_connection_names_max_allowed_packet_only_for_a_statement_that_long() {
        let small = lost_message(&reset(), 10000, 699_249, 16 * 1024 * 1024);
        assert_eq!(
            small,
            "the connection to the server was lost: input/output error: connection reset by peer"
        );
        let large = lost_message(&reset(), 1, 20_000_000, 16 * 1024 * 1024);
        assert!(large.contains("was 20000000 bytes, not less than the server's max_allowed_packet of 16777216"));
        assert_eq!(large.matches("nput/output error").count(), 1, "{large}");
    }
}
