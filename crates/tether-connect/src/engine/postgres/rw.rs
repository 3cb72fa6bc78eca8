//! PostgreSQL reads and writes through `COPY` in text format (what `pg_dump | psql`
//! uses), with multi-row `INSERT ... ON CONFLICT` when conflicts are skipped or updated.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tether_schema::DataType;
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::postgres::describe;
use crate::rw::{Batch, Batcher, Conflict, ReadSpec, WriteError};
use crate::url::Engine;
use crate::value::{hex, unhex, Row, Value};

/// Session settings that make text output engine-neutral, as `pg_dump` and
/// `pg_restore` set them: literals are read with standard-conforming backslashes (a
/// database set to `standard_conforming_strings = off` would turn `'C:\temp'` into a
/// tab), and row-level security is off, so a role subject to a table's policies gets
/// an error (42501) instead of reading, counting or writing only the rows they show.
pub const SESSION: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; \
                           SET bytea_output = 'hex'; SET IntervalStyle = 'iso_8601'; \
                           SET standard_conforming_strings = on; SET row_security = off";

/// Decodes one field of COPY text format (already split on tabs): its bytes, or None
/// for NULL.
fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    if field == b"\\N" {
        return None;
    }
    if !field.contains(&b'\\') {
        return Some(field.to_vec());
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' || i + 1 == field.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let n = field[i + 1];
        i += 2;
        match n {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = (n - b'0') as u32;
                let mut k = 0;
                while k < 2 && i < field.len() && (b'0'..=b'7').contains(&field[i]) {
                    v = v * 8 + (field[i] - b'0') as u32;
                    i += 1;
                    k += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Turns the bytes of a field into a value of the column's type. The session's
/// `client_encoding` is UTF8, so the server sends UTF-8; bytes that are not would stay
/// bytes ([`Value::RawText`]), never replacement characters.
fn typed(field: Option<Vec<u8>>, ty: &DataType) -> Value {
    let t = match field.map(String::from_utf8) {
        None => return Value::Null,
        Some(Ok(t)) => t,
        Some(Err(e)) => return Value::RawText(e.into_bytes()),
    };
    match ty {
        DataType::Binary { .. } => match t.strip_prefix("\\x").and_then(unhex) {
            Some(b) => Value::Bytes(b),
            None => Value::Text(t),
        },
        // The session is in UTC; drop the offset so every engine accepts the value.
        DataType::Timestamp { tz: true } => Value::Text(t.strip_suffix("+00").map(str::to_string).unwrap_or(t)),
        _ => Value::from_text(&t, ty),
    }
}

fn parse_line(line: &[u8], types: &[DataType]) -> Row {
    // Sized once: collected from the split, a row grew (and moved) two or three times.
    let mut row = Vec::with_capacity(types.len());
    row.extend(
        line.split(|&b| b == b'\t')
            .zip(types)
            .map(|(f, ty)| typed(unescape(f), ty)),
    );
    row
}

/// Streams `spec` with `COPY (SELECT ...) TO STDOUT`.
pub async fn read(
    client: &Client,
    spec: &ReadSpec,
    batch_size: usize,
    tx: &mpsc::Sender<Batch>,
) -> Result<u64, String> {
    let d = crate::engine::dialect_of(Engine::Postgres);
    let types = spec.types();
    let mut out = Batcher::new(tx, batch_size);
    for q in spec.queries(d) {
        let stream = client
            .copy_out(&format!("COPY ({}) TO STDOUT", q.sql))
            .await
            .map_err(|e| describe(&e))?;
        futures_util::pin_mut!(stream);
        let mut pending = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            pending.extend_from_slice(&chunk.map_err(|e| describe(&e))?);
            while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                let line = pending.split_to(pos + 1);
                let row = parse_line(&line[..pos], &types);
                if !q.keeps(&row) {
                    continue;
                }
                if !out.push(row).await {
                    return Ok(out.sent);
                }
            }
        }
    }
    out.flush().await;
    Ok(out.sent)
}

/// Appends text in COPY text format, its tabs, newlines and backslashes escaped.
fn put_text(buf: &mut BytesMut, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\\' => buf.put_slice(b"\\\\"),
            b'\t' => buf.put_slice(b"\\t"),
            b'\n' => buf.put_slice(b"\\n"),
            b'\r' => buf.put_slice(b"\\r"),
            other => buf.put_u8(other),
        }
    }
}

/// Appends a value in COPY text format.
fn put_field(buf: &mut BytesMut, v: &Value) {
    match v {
        Value::Null => buf.put_slice(b"\\N"),
        Value::Bool(b) => buf.put_u8(if *b { b't' } else { b'f' }),
        Value::Int(i) => {
            let _ = write!(buf, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(buf, "{u}");
        }
        Value::Float(f) => {
            let _ = write!(buf, "{f:?}");
        }
        Value::Text(t) => put_text(buf, t.as_bytes()),
        // Bytes that are not UTF-8 go as they are: the server refuses them (22021),
        // named by [`with_nul_column`].
        Value::RawText(b) => put_text(buf, b),
        Value::Bytes(b) => {
            buf.put_slice(b"\\\\x");
            buf.put_slice(hex(b).as_bytes());
        }
    }
}

/// Writes a batch. Errors: `COPY` with one statement per batch; otherwise a multi-row
/// INSERT with ON CONFLICT, in chunks, whose update leaves the `fixed` columns as they
/// are. `exact`: the table has a primary or unique key on exactly `key`
/// ([`crate::skip::exact`]); without one, rows whose key is there are found by the
/// statement itself ([`staged_upsert`]), comparing the `text` key columns byte for byte.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    client: &Client,
    table: &str,
    columns: &[String],
    key: &[String],
    exact: bool,
    text: &[String],
    fixed: &[String],
    rows: &[Row],
    conflict: Conflict,
) -> Result<u64, WriteError> {
    let d = crate::engine::dialect_of(Engine::Postgres);
    if conflict == Conflict::Error {
        let sink = client
            .copy_in::<_, Bytes>(&format!("COPY {table} ({}) FROM STDIN", d.idents(columns)))
            .await
            .map_err(|e| copy_error(&e))?;
        futures_util::pin_mut!(sink);
        let named = |e: tokio_postgres::Error| with_nul_column(copy_error(&e), &e, columns, rows);
        let mut buf = BytesMut::with_capacity(64 * 1024);
        for row in rows {
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.put_u8(b'\t');
                }
                put_field(&mut buf, v);
            }
            buf.put_u8(b'\n');
            if buf.len() > 256 * 1024 {
                sink.send(buf.split().freeze()).await.map_err(named)?;
            }
        }
        if !buf.is_empty() {
            sink.send(buf.split().freeze()).await.map_err(named)?;
        }
        return sink.finish().await.map_err(named);
    }
    // (Without a key on exactly `key` rows are found byte for byte: [`staged_upsert`].)
    if exact && !text.is_empty() {
        spelling_check(client, table, columns, key, rows).await?;
    }
    if !key.is_empty() && !exact && crate::skip::keeps_existing(conflict, columns, key, fixed) {
        return staged_upsert(client, table, columns, key, text, fixed, rows, Conflict::Skip).await;
    }
    if !key.is_empty() && has_deferrable_key(client, table).await? {
        return staged_upsert(client, table, columns, key, text, fixed, rows, conflict).await;
    }
    let mut written = 0u64;
    for (at, chunk) in rows.chunks(500).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| format!("({})", r.iter().map(|v| d.literal(v)).collect::<Vec<_>>().join(", ")))
            .collect();
        // The source's values of a GENERATED ALWAYS identity are kept, as COPY keeps
        // them (a no-op for a table without one).
        let mut sql = format!(
            "INSERT INTO {table} ({}) OVERRIDING SYSTEM VALUE VALUES {}",
            d.idents(columns),
            values.join(", ")
        );
        let sets: Vec<String> = columns
            .iter()
            .filter(|c| !key.contains(c) && !fixed.contains(c))
            .map(|c| format!("{0} = EXCLUDED.{0}", d.ident(c)))
            .collect();
        if conflict == Conflict::Update && !key.is_empty() && !sets.is_empty() {
            sql.push_str(&format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                d.idents(key),
                sets.join(", ")
            ));
        } else if !key.is_empty() {
            // `skip`, or `update` with nothing to set outside the key: only a clash on the
            // row's key keeps the row there; one on another unique key is an error
            // (23505), not a row dropped.
            sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", d.idents(key)));
        } else {
            // A source table without a key of its own: a row is the same row only when
            // every column is, which no key of the destination may say. Any clash skips
            // the row here; [`dropped_unmatched`] then finds a skipped row no
            // destination row equals in every column (NOTES.md, twenty-seventh session
            // writer S).
            sql.push_str(" ON CONFLICT DO NOTHING");
        }
        match client.execute(sql.as_str(), &[]).await {
            Ok(n) if key.is_empty() && (n as usize) < chunk.len() => {
                if let Some(i) = dropped_unmatched(client, table, columns, chunk).await? {
                    return Err(WriteError {
                        row: Some(at * 500 + i),
                        message: crate::skip::keyless_clash(conflict),
                        written: written + n,
                        duplicate_key: true,
                    });
                }
                written += n;
            }
            Ok(n) => written += n,
            Err(e) => {
                let other_key = e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
                    && !key.is_empty()
                    && crate::skip::keeps_existing(conflict, columns, key, fixed);
                let error = WriteError {
                    row: None,
                    message: match other_key {
                        true => format!("{}{}", describe(&e), crate::skip::other_key(key, conflict)),
                        false => describe(&e),
                    },
                    written,
                    duplicate_key: e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
                };
                return Err(with_nul_column(error, &e, columns, rows));
            }
        }
    }
    Ok(written)
}

/// The first row of `chunk` (its index) that a target-less `ON CONFLICT DO NOTHING` of
/// a keyless source's rows skipped though no row of `table` equals it in every written
/// column: it clashed with another row on some unique key and would be lost. Rows are
/// compared as the table's types print them (`ROW(..)::text`: NULLs equal, json too).
async fn dropped_unmatched(
    client: &Client,
    table: &str,
    columns: &[String],
    chunk: &[Row],
) -> Result<Option<usize>, WriteError> {
    let d = crate::engine::dialect_of(Engine::Postgres);
    let cols = d.idents(columns);
    let values: Vec<String> = chunk
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut v: Vec<String> = r.iter().map(|v| d.literal(v)).collect();
            v.push(i.to_string());
            format!("({})", v.join(", "))
        })
        .collect();
    let row_of = |alias: &str| {
        let c: Vec<String> = columns.iter().map(|c| format!("{alias}.{}", d.ident(c))).collect();
        format!("ROW({})::text", c.join(", "))
    };
    let sql = format!(
        "DROP TABLE IF EXISTS pg_temp.tether_kept; \
         CREATE TEMP TABLE tether_kept AS SELECT {cols}, 0::bigint AS tether_at FROM {table} WITH NO DATA; \
         INSERT INTO pg_temp.tether_kept ({cols}, tether_at) VALUES {}; \
         SELECT min(v.tether_at)::text FROM pg_temp.tether_kept AS v \
         WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {} = {}); DROP TABLE pg_temp.tether_kept",
        values.join(", "),
        row_of("t"),
        row_of("v")
    );
    let done = client.simple_query(&sql).await.map_err(|e| WriteError {
        row: None,
        message: describe(&e),
        written: 0,
        duplicate_key: false,
    })?;
    Ok(done.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|n| n.parse::<usize>().ok()),
        _ => None,
    }))
}

/// How `ON CONFLICT (key)` compares each column of `key`: through the unique indexes on
/// exactly those columns (its arbiters), in each index's own collation and the key
/// column's type (a domain's base type), which need not be the column's (an index on
/// `(code COLLATE ci)` of a deterministic column, a domain over citext; a "C" index
/// of a ci column compares bytes). Per key column: the collation to compare in
/// (qualified; None for a type without one) and, where that is not byte equality (a
/// nondeterministic collation, citext), what compares it ("ci", "citext"). A column
/// loose in any arbiter index is loose (in that index's collation).
async fn key_comparison(
    client: &Client,
    table: &str,
    key: &[String],
) -> Result<Vec<(Option<String>, Option<String>)>, WriteError> {
    let d = crate::engine::dialect_of(Engine::Postgres);
    // `collisdeterministic` from PostgreSQL 12, `indnkeyatts` from 11: read through
    // `to_jsonb` so older servers do not fail (every collation deterministic, every
    // indexed column a key column).
    let sql = format!(
        "SELECT i.indexrelid::text, a.attname, \
           CASE WHEN k.coll <> 0 THEN format('%I.%I', cn.nspname, c.collname) END, \
           CASE WHEN NOT coalesce((to_jsonb(c) ->> 'collisdeterministic')::bool, true) THEN c.collname::text \
             WHEN 'citext' IN (t.typname, bt.typname) THEN 'citext' END \
         FROM pg_index i \
         CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indcollation::oid[]) WITH ORDINALITY AS k(attnum, coll, n) \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
         JOIN pg_type t ON t.oid = a.atttypid \
         JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
         LEFT JOIN pg_collation c ON c.oid = k.coll LEFT JOIN pg_namespace cn ON cn.oid = c.collnamespace \
         WHERE i.indrelid = {}::regclass AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL \
           AND k.n <= coalesce((to_jsonb(i) ->> 'indnkeyatts')::int, i.indnatts) \
         ORDER BY i.indexrelid, k.n",
        d.literal(&Value::Text(table.to_string())),
    );
    let rows = client.simple_query(&sql).await.map_err(|e| WriteError {
        row: None,
        message: describe(&e),
        written: 0,
        duplicate_key: false,
    })?;
    type Column = (String, Option<String>, Option<String>);
    let mut indexes: Vec<(String, Vec<Column>)> = Vec::new();
    for m in &rows {
        let tokio_postgres::SimpleQueryMessage::Row(r) = m else {
            continue;
        };
        let index = r.get(0).unwrap_or_default().to_string();
        let column = (
            r.get(1).unwrap_or_default().to_string(),
            r.get(2).map(str::to_string),
            r.get(3).map(str::to_string),
        );
        match indexes.last_mut() {
            Some((name, cols)) if *name == index => cols.push(column),
            _ => indexes.push((index, vec![column])),
        }
    }
    let arbiters: Vec<Vec<Column>> = indexes
        .into_iter()
        .map(|(_, cols)| cols)
        .filter(|cols| cols.len() == key.len() && key.iter().all(|k| cols.iter().any(|(c, _, _)| c == k)))
        .collect();
    Ok(key
        .iter()
        .map(|k| {
            let of = |cols: &Vec<Column>| cols.iter().find(|(c, _, _)| c == k).cloned();
            let mut columns = arbiters.iter().filter_map(of);
            let first = columns.next();
            let loose = first.iter().cloned().chain(columns).find(|(_, _, what)| what.is_some());
            match loose.or(first) {
                Some((_, collation, what)) => (collation, what),
                None => (None, None),
            }
        })
        .collect())
}

/// Refuses the batch before anything of it is written when a row's key is one the
/// key's collation compares as equal to a row's already there (or to an earlier row's
/// of the batch) though its text differs: `ON CONFLICT (key)` would take 'ABC' for the
/// 'abc' there, so `skip` would drop the row and `update` keep the old spelling, and a
/// re-run would leave a destination unlike a fresh copy. MariaDB/MySQL refuses it
/// alike (`mysql::rw` `collation_clash`; NOTES.md, twenty-sixth session writer E).
async fn spelling_check(
    client: &Client,
    table: &str,
    columns: &[String],
    key: &[String],
    rows: &[Row],
) -> Result<(), WriteError> {
    let compared = key_comparison(client, table, key).await?;
    let loose: Vec<(&String, &String)> = key
        .iter()
        .zip(&compared)
        .filter_map(|(k, (_, what))| what.as_ref().map(|w| (k, w)))
        .collect();
    if loose.is_empty() {
        return Ok(());
    }
    let Some(at) = key
        .iter()
        .map(|k| columns.iter().position(|c| c == k))
        .collect::<Option<Vec<usize>>>()
    else {
        return Ok(());
    };
    let d = crate::engine::dialect_of(Engine::Postgres);
    let keys = d.idents(key);
    let failed = |e: tokio_postgres::Error| WriteError {
        row: None,
        message: describe(&e),
        written: 0,
        duplicate_key: false,
    };
    // Equal as the arbiter index compares, each column in the index's collation.
    let equal = |a: &str, b: &str| -> String {
        key.iter()
            .zip(&compared)
            .map(|(k, (collation, _))| match collation {
                Some(c) => format!("{a}.{0} COLLATE {c} = {b}.{0} COLLATE {c}", d.ident(k)),
                None => format!("{a}.{0} = {b}.{0}", d.ident(k)),
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let bytes = |a: &str, b: &str| -> String {
        loose
            .iter()
            .map(|(k, _)| format!("{a}.{0}::text COLLATE \"C\" = {b}.{0}::text COLLATE \"C\"", d.ident(k)))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let shown: Vec<String> = key.iter().map(|k| format!("t.{}::text", d.ident(k))).collect();
    let shown = shown.join(", ");
    for (n, chunk) in rows.chunks(500).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut v: Vec<String> = at.iter().map(|&c| d.literal(&r[c])).collect();
                v.push(i.to_string());
                format!("({})", v.join(", "))
            })
            .collect();
        let sql = format!(
            "DROP TABLE IF EXISTS pg_temp.tether_keys; \
             CREATE TEMP TABLE tether_keys AS SELECT {keys}, 0 AS tether_at FROM {table} WITH NO DATA; \
             INSERT INTO pg_temp.tether_keys ({keys}, tether_at) VALUES {}; \
             (SELECT v.tether_at, {shown} FROM pg_temp.tether_keys v JOIN {table} t ON {} WHERE NOT ({}) \
             UNION ALL SELECT v.tether_at, {shown} FROM pg_temp.tether_keys v JOIN pg_temp.tether_keys t \
             ON {} AND t.tether_at < v.tether_at WHERE NOT ({})) ORDER BY 1 LIMIT 1; \
             DROP TABLE pg_temp.tether_keys",
            values.join(", "),
            equal("t", "v"),
            bytes("t", "v"),
            equal("t", "v"),
            bytes("t", "v"),
        );
        let found = client.simple_query(&sql).await.map_err(failed)?;
        let Some(there) = found.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        }) else {
            continue;
        };
        let i: usize = there.get(0).and_then(|v| v.parse().ok()).unwrap_or(0);
        let row = &chunk[i];
        let theirs: Vec<String> = at
            .iter()
            .enumerate()
            .map(|(k, &c)| match (&row[c], there.get(k + 1)) {
                (Value::Text(_), Some(t)) => d.literal(&Value::Text(t.to_string())),
                (v, _) => d.literal(v),
            })
            .collect();
        let collations: Vec<String> = loose.iter().map(|(k, c)| format!("{k} is {c}")).collect();
        return Err(WriteError {
            row: Some(n * 500 + i),
            message: crate::skip::spelling_clash(key, &theirs, &collations, "a deterministic one, as \"C\""),
            written: 0,
            duplicate_key: false,
        });
    }
    Ok(())
}

/// Whether `table` has a DEFERRABLE primary key, UNIQUE or EXCLUDE constraint, which
/// `ON CONFLICT` refuses as an arbiter (55000), with or without a target.
async fn has_deferrable_key(client: &Client, table: &str) -> Result<bool, WriteError> {
    let d = crate::engine::dialect_of(Engine::Postgres);
    let sql = format!(
        "SELECT 1 FROM pg_constraint WHERE conrelid = {}::regclass AND contype IN ('p', 'u', 'x') \
         AND condeferrable LIMIT 1",
        d.literal(&Value::Text(table.to_string()))
    );
    let rows = client.simple_query(&sql).await.map_err(|e| WriteError {
        row: None,
        message: describe(&e),
        written: 0,
        duplicate_key: false,
    })?;
    Ok(rows
        .iter()
        .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))))
}

/// Skips or updates the rows whose `key` the table holds without `ON CONFLICT`, for a
/// table with a DEFERRABLE key: the rows go into a temporary table of the table's
/// column types, then (update) the rows with their key are updated and the others
/// inserted (`WHERE NOT EXISTS`), in one statement batch per chunk. A row clashing on
/// another unique key fails (23505), as `ON CONFLICT (key)` does.
#[allow(clippy::too_many_arguments)]
async fn staged_upsert(
    client: &Client,
    table: &str,
    columns: &[String],
    key: &[String],
    text: &[String],
    fixed: &[String],
    rows: &[Row],
    conflict: Conflict,
) -> Result<u64, WriteError> {
    let d = crate::engine::dialect_of(Engine::Postgres);
    let cols = d.idents(columns);
    // Text keys also byte for byte: a citext or nondeterministic column would take 'A'
    // for the 'a' already there (the first term lets an index on the column be used).
    let same: Vec<String> = key
        .iter()
        .map(|c| match text.contains(c) {
            true => format!(
                "t.{0} = v.{0} AND t.{0}::text COLLATE \"C\" = v.{0}::text COLLATE \"C\"",
                d.ident(c)
            ),
            false => format!("t.{0} = v.{0}", d.ident(c)),
        })
        .collect();
    let same = same.join(" AND ");
    let sets: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c) && !fixed.contains(c))
        .map(|c| format!("{0} = v.{0}", d.ident(c)))
        .collect();
    let update = conflict == Conflict::Update && !sets.is_empty();
    let picked: Vec<String> = columns.iter().map(|c| format!("v.{}", d.ident(c))).collect();
    let mut written = 0u64;
    for chunk in rows.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| format!("({})", r.iter().map(|v| d.literal(v)).collect::<Vec<_>>().join(", ")))
            .collect();
        let mut sql = format!(
            "DROP TABLE IF EXISTS pg_temp.tether_rows; \
             CREATE TEMP TABLE tether_rows AS SELECT {cols} FROM {table} WITH NO DATA; \
             INSERT INTO pg_temp.tether_rows ({cols}) VALUES {}; ",
            values.join(", ")
        );
        if update {
            sql.push_str(&format!(
                "UPDATE {table} AS t SET {} FROM pg_temp.tether_rows AS v WHERE {same}; ",
                sets.join(", ")
            ));
        }
        sql.push_str(&format!(
            "INSERT INTO {table} ({cols}) OVERRIDING SYSTEM VALUE SELECT {} FROM pg_temp.tether_rows AS v \
             WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same}); DROP TABLE pg_temp.tether_rows",
            picked.join(", ")
        ));
        let done = client.simple_query(&sql).await.map_err(|e| {
            let duplicate_key = e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION);
            WriteError {
                row: None,
                // A row whose key is there was kept: this clash is on another key.
                message: match duplicate_key && conflict == Conflict::Skip {
                    true => format!("{}{}", describe(&e), crate::skip::other_key(key, conflict)),
                    false => describe(&e),
                },
                written,
                duplicate_key,
            }
        })?;
        let counts: Vec<u64> = done
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
                _ => None,
            })
            .collect();
        // DROP, CREATE, INSERT into the temporary table, [UPDATE,] INSERT, DROP.
        written += counts
            .get(3..counts.len().saturating_sub(1))
            .map_or(0, |c| c.iter().sum());
    }
    Ok(written)
}

/// Maps a COPY failure to the row it names (`COPY t, line 3, column x`).
fn copy_error(e: &tokio_postgres::Error) -> WriteError {
    // The context may hold other lines before COPY's own ("JSON data, line 1: ...\n
    // COPY t, line 2, column j"): the row is the number on the COPY line.
    let row = e
        .as_db_error()
        .and_then(|db| db.where_())
        .and_then(|w| w.lines().find(|l| l.starts_with("COPY ")))
        .and_then(|w| w.split(", line ").nth(1))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok())
        .map(|line| line.saturating_sub(1));
    // And the column, when COPY names one ("COPY t, line 2, column d: \"0000-00-00\"").
    let column = e
        .as_db_error()
        .and_then(|db| db.where_())
        .and_then(|w| w.lines().find(|l| l.starts_with("COPY ")))
        .and_then(|w| w.split(", column ").nth(1))
        .and_then(|rest| rest.split(':').next())
        .filter(|c| !c.is_empty());
    let message = match column {
        Some(c) => format!("{} (column {c})", describe(e)),
        None => describe(e),
    };
    WriteError {
        row,
        message,
        written: 0,
        duplicate_key: e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
    }
}

/// A text holding the NUL character, which PostgreSQL's text types cannot store
/// (COPY: 22021, "invalid byte sequence for encoding \"UTF8\": 0x00", naming no column),
/// or bytes that are not UTF-8 ([`Value::RawText`], the same error): the error names the
/// column and row holding it, and what would hold it.
fn with_nul_column(mut error: WriteError, e: &tokio_postgres::Error, columns: &[String], rows: &[Row]) -> WriteError {
    // The INSERT path fails in the client ("string contains embedded null", no code).
    let nul = match e.code() {
        Some(code) => code == &tokio_postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE,
        None => true,
    };
    if !nul || error.message.contains("(column ") {
        return error;
    }
    let has_nul = |v: &Value| matches!(v, Value::Text(t) if t.contains('\0')) || matches!(v, Value::RawText(_));
    // The row COPY names, else the first holding one (earlier INSERT chunks had none).
    let found = error
        .row
        .and_then(|at| Some((at, rows.get(at)?.iter().position(has_nul)?)))
        .or_else(|| {
            rows.iter()
                .enumerate()
                .find_map(|(at, r)| Some((at, r.iter().position(has_nul)?)))
        });
    if let Some((at, i)) = found {
        error.row = Some(at);
        let what = match rows.get(at).and_then(|r| r.get(i)) {
            Some(Value::RawText(_)) => "text whose bytes are not UTF-8 (PostgreSQL text holds characters only)",
            _ => "the NUL character",
        };
        error.message = format!(
            "{} (column {}): PostgreSQL text cannot hold {what}; a bytea column would, or a transformer \
             removing it",
            error.message,
            columns.get(i).map_or("?", String::as_str)
        );
    }
    error
}

/// Sets `set` columns of the rows identified by `key`, in batches of one
/// `UPDATE ... FROM (VALUES ...)`. `casts` are the destination types of key then set
/// columns.
pub async fn update(
    client: &Client,
    table: &str,
    key: &[String],
    set: &[String],
    casts: &[String],
    rows: &[(Row, Row)],
) -> Result<u64, String> {
    let d = crate::engine::dialect_of(Engine::Postgres);
    let names: Vec<String> = key
        .iter()
        .chain(set)
        .enumerate()
        .map(|(i, _)| format!("c{i}"))
        .collect();
    let mut n = 0;
    for chunk in rows.chunks(1000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(k, v)| {
                format!(
                    "({})",
                    k.iter().chain(v).map(|x| d.literal(x)).collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        let sets: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = v.c{}::{}", d.ident(c), key.len() + i, casts[key.len() + i]))
            .collect();
        let wheres: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, c)| format!("t.{} = v.c{i}::{}", d.ident(c), casts[i]))
            .collect();
        let sql = format!(
            "UPDATE {table} AS t SET {} FROM (VALUES {}) AS v({}) WHERE {}",
            sets.join(", "),
            values.join(", "),
            names.join(", "),
            wheres.join(" AND ")
        );
        n += client.execute(sql.as_str(), &[]).await.map_err(|e| describe(&e))?;
    }
    Ok(n)
}

/// Rows of a query, typed by `types` (Text where unknown).
pub async fn query(client: &Client, sql: &str, types: &[DataType]) -> Result<Vec<Row>, String> {
    let msgs = client.simple_query(sql).await.map_err(|e| describe(&e))?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| {
                        typed(
                            r.get(i).map(|t| t.as_bytes().to_vec()),
                            types.get(i).unwrap_or(&DataType::Text),
                        )
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

/// Copies the rows of `select` on `source` into each destination's `target` (`table
/// (columns)`) as COPY text, without decoding them: one COPY per table and
/// destination. Returns the rows copied; an error carries the index of the
/// destination that failed, if it was one.
pub async fn passthrough(
    source: &Client,
    select: &str,
    dests: &[(&Client, String)],
    on_rows: &(dyn Fn(u64) + Sync),
) -> Result<u64, (Option<usize>, String)> {
    let stream = source
        .copy_out(&format!("COPY ({select}) TO STDOUT"))
        .await
        .map_err(|e| (None, describe(&e)))?;
    futures_util::pin_mut!(stream);
    let mut sinks = Vec::with_capacity(dests.len());
    for (i, (client, target)) in dests.iter().enumerate() {
        let sink = client
            .copy_in::<_, Bytes>(&format!("COPY {target} FROM STDIN"))
            .await
            .map_err(|e| (Some(i), describe(&e)))?;
        sinks.push(Box::pin(sink));
    }
    let mut buf = BytesMut::with_capacity(512 * 1024);
    let mut rows = 0u64;
    let mut reported = 0u64;
    loop {
        let chunk = stream.next().await.transpose().map_err(|e| (None, describe(&e)))?;
        let done = chunk.is_none();
        if let Some(c) = &chunk {
            // Text COPY escapes newlines inside values: each raw newline ends a row.
            rows += c.iter().filter(|&&b| b == b'\n').count() as u64;
            buf.extend_from_slice(c);
        }
        if buf.len() >= 256 * 1024 || (done && !buf.is_empty()) {
            let frozen = buf.split().freeze();
            for (i, sink) in sinks.iter_mut().enumerate() {
                sink.send(frozen.clone()).await.map_err(|e| (Some(i), describe(&e)))?;
            }
            on_rows(rows - reported);
            reported = rows;
        }
        if done {
            break;
        }
    }
    for (i, sink) in sinks.iter_mut().enumerate() {
        sink.as_mut().finish().await.map_err(|e| (Some(i), describe(&e)))?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_round_trips_awkward_values() {
        let values = vec![
            Value::Text("tab\there\nnew \\ line".into()),
            Value::Null,
            Value::Bytes(vec![0, 10, 255]),
            Value::Bool(true),
            Value::Int(-5),
        ];
        let types = [
            DataType::Text,
            DataType::Text,
            DataType::Binary { length: None },
            DataType::Boolean,
            DataType::Int {
                bytes: 8,
                unsigned: false,
            },
        ];
        let mut buf = BytesMut::new();
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                buf.put_u8(b'\t');
            }
            put_field(&mut buf, v);
        }
        assert_eq!(parse_line(&buf, &types), values);
    }
}
