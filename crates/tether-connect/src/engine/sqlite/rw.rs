//! SQLite reads and writes: one connection, prepared statements, large transactions.
//! Everything here blocks; callers run it on `spawn_blocking`.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, TransactionBehavior};
use tether_schema::DataType;
use tokio::sync::mpsc;

use crate::dialect::Dialect;
use crate::rw::{Batch, Batcher, Conflict, ReadSpec, WriteError};
use crate::url::Engine;
use crate::value::{Row, Value};

/// A value bound to a SQLite statement.
pub struct Bind<'a>(pub &'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*b as i64)),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::UInt(u) => match i64::try_from(*u) {
                Ok(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i)),
                Err(_) => ToSqlOutput::Owned(rusqlite::types::Value::Text(u.to_string())),
            },
            Value::Float(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*f)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            // The same bytes as TEXT: SQLite stores them without checking them.
            Value::RawText(b) => ToSqlOutput::Borrowed(ValueRef::Text(b)),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn from_sqlite(v: ValueRef<'_>, ty: &DataType) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        // A BOOLEAN column holds what the application wrote: 0 and 1 are booleans,
        // anything else ('t', 'true', 2) is kept as it is, so a SQLite copy holds the
        // same; other engines' writers make booleans of them (`Connection::insert`).
        ValueRef::Integer(i @ (0 | 1)) if *ty == DataType::Boolean => Value::Bool(i != 0),
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => {
            // SQLite stores the bytes it is given as TEXT without checking them: bytes
            // that are not UTF-8 stay bytes (decoded with replacement characters they
            // would be another text, and two keys one).
            let Ok(s) = std::str::from_utf8(t) else {
                return Value::RawText(t.to_vec());
            };
            match ty {
                // Text in a column read as an integer (a TEXT child of an INTEGER key,
                // typed as its parent): the integer only when the text is its own
                // spelling. '01' and '+2' stay text, so a SQLite copy keeps them as
                // they are and another engine's checks name them (SQLite's INTEGER
                // affinity has made every other such text an integer already).
                DataType::Int { .. } => match Value::from_text(s, ty) {
                    v @ (Value::Int(_) | Value::UInt(_)) if v.display() == s => v,
                    _ => Value::Text(s.to_owned()),
                },
                DataType::Float { .. } => Value::from_text(s, ty),
                _ => Value::Text(s.to_owned()),
            }
        }
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

/// Streams the rows of `spec` in batches; stops early when the receiver is gone.
pub fn read(conn: &Connection, spec: &ReadSpec, batch_size: usize, tx: &mpsc::Sender<Batch>) -> rusqlite::Result<u64> {
    let d = crate::engine::dialect_of(Engine::Sqlite);
    let types = spec.types();
    let mut out = Batcher::new(tx, batch_size);
    for q in spec.queries(d) {
        let mut stmt = conn.prepare(&q.sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let row: Row = (0..types.len())
                .map(|i| r.get_ref(i).map(|v| from_sqlite(v, &types[i])))
                .collect::<rusqlite::Result<_>>()?;
            if !q.keeps(&row) {
                continue;
            }
            if !out.push_blocking(row) {
                return Ok(out.sent);
            }
        }
    }
    out.flush_blocking();
    Ok(out.sent)
}

/// The INSERT for a batch, with the conflict clause. `exact`: the table has a primary
/// or unique key on exactly `key` ([`crate::skip::exact`]).
///
/// Always `INSERT OR ABORT`: a plain INSERT follows the conflict algorithm the
/// destination table's constraints declare (`UNIQUE ON CONFLICT REPLACE` would delete
/// the destination's clashing row, and cascade from it; `NOT NULL ON CONFLICT IGNORE`
/// would drop the source's row). OR ABORT overrides those for every constraint the
/// upsert clause does not name, so a clash is an error naming the row.
pub fn insert_sql(
    d: &dyn Dialect,
    table: &str,
    columns: &[String],
    key: &[String],
    exact: bool,
    conflict: Conflict,
) -> String {
    let params: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let mut sql = format!(
        "INSERT OR ABORT INTO {table} ({}) VALUES ({})",
        d.idents(columns),
        params.join(", ")
    );
    // Only a clash on the row's key keeps the row there: one on another key fails.
    let keep_existing = crate::skip::keeps_existing(conflict, columns, key, &[]) && !key.is_empty();
    match conflict {
        Conflict::Error => {}
        _ if keep_existing && exact => sql.push_str(&format!(" ON CONFLICT ({}) DO NOTHING", d.idents(key))),
        _ if keep_existing => {
            // No key to name as the target: the row goes in unless one with its key is
            // there, its text compared byte for byte (a NOCASE column would take 'A' for
            // the 'a' just written; the first term lets an index on the column be used).
            let same: Vec<String> = key
                .iter()
                .map(|k| {
                    let at = columns.iter().position(|c| c == k).map_or(0, |i| i + 1);
                    format!("{0} = ?{at} AND {0} = ?{at} COLLATE BINARY", d.ident(k))
                })
                .collect();
            sql = format!(
                "INSERT OR ABORT INTO {table} ({}) SELECT {} WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {})",
                d.idents(columns),
                params.join(", "),
                same.join(" AND ")
            );
        }
        Conflict::Skip => sql.push_str(" ON CONFLICT DO NOTHING"),
        Conflict::Update => {
            let sets: Vec<String> = columns
                .iter()
                .filter(|c| !key.contains(c))
                .map(|c| format!("{0} = excluded.{0}", d.ident(c)))
                .collect();
            if key.is_empty() || sets.is_empty() {
                sql.push_str(" ON CONFLICT DO NOTHING");
            } else {
                sql.push_str(&format!(
                    " ON CONFLICT ({}) DO UPDATE SET {}",
                    d.idents(key),
                    sets.join(", ")
                ));
            }
        }
    }
    sql
}

/// The key columns of an upsert built by [`insert_sql`] (`ON CONFLICT (key) DO UPDATE`),
/// as a message names them; None for another INSERT.
fn upsert_key(sql: &str) -> Option<String> {
    let (_, rest) = sql.split_once(" ON CONFLICT (")?;
    let (key, _) = rest.split_once(") DO UPDATE SET ")?;
    let names: Vec<String> = key
        .split(", ")
        .map(|k| k.trim_matches('"').replace("\"\"", "\""))
        .collect();
    Some(names.join(", "))
}

/// Finds, before a row is written by `ON CONFLICT (key)`, the row already there whose
/// key the key's collation compares as equal to the row's (`=` takes the column's
/// collation): a NOCASE or RTRIM key holds 'abc' equal to 'ABC' or 'abc ', so `skip`
/// would drop the row and `update` keep the old spelling ([`crate::skip::spelling_clash`]).
pub struct SpellingCheck {
    /// The table's name, quoted.
    quoted: String,
    /// The table's name, unquoted, for its indexes' collations.
    table: String,
    key: Vec<String>,
    /// Where each key column is in the row.
    at: Vec<usize>,
}

/// A [`SpellingCheck`] for one batch: the lookup in the unique index's own collations.
struct BoundCheck<'a> {
    check: &'a SpellingCheck,
    /// `SELECT key FROM table WHERE k COLLATE c = ? ... LIMIT 1`.
    sql: String,
    /// The collation of each key column in the unique index on exactly the key.
    collations: Vec<String>,
}

impl SpellingCheck {
    /// The check for a write of `conflict` with an `ON CONFLICT (key)` target
    /// (`exact`); None when the write has none or the key is not among `columns`.
    pub fn new(
        _d: &dyn Dialect,
        table: &str,
        name: &str,
        columns: &[String],
        key: &[String],
        exact: bool,
        conflict: Conflict,
    ) -> Option<SpellingCheck> {
        if conflict == Conflict::Error || !exact || key.is_empty() {
            return None;
        }
        let at: Vec<usize> = key
            .iter()
            .map(|k| columns.iter().position(|c| c == k))
            .collect::<Option<_>>()?;
        Some(SpellingCheck {
            quoted: table.to_string(),
            table: name.to_string(),
            key: key.to_vec(),
            at,
        })
    }

    /// The lookup for this batch. `ON CONFLICT (key)` finds the row there through the
    /// unique index on exactly the key, in that index's collations, which need not be
    /// the columns' (`UNIQUE INDEX ... (code COLLATE NOCASE)` on a BINARY column takes
    /// 'ABC' for 'abc'; a `(code COLLATE BINARY)` index of a NOCASE column does not):
    /// each key column is compared in its collation there (the first such index in
    /// `pragma_index_list`'s order; the column's own without one).
    fn bind(&self, conn: &Connection) -> rusqlite::Result<BoundCheck<'_>> {
        let d = crate::engine::dialect_of(Engine::Sqlite);
        let mut indexes = conn.prepare(
            "SELECT il.name, ix.name, ix.coll FROM pragma_index_list(?1) AS il \
             JOIN pragma_index_xinfo(il.name) AS ix WHERE il.\"unique\" = 1 AND il.partial = 0 AND ix.key = 1 \
             ORDER BY il.seq, ix.seqno",
        )?;
        // (index, [(column, collation)]) in the pragma's order.
        type Columns = Vec<(Option<String>, String)>;
        let mut by_index: Vec<(String, Columns)> = Vec::new();
        let mut rows = indexes.query([&self.table])?;
        while let Some(r) = rows.next()? {
            let (index, column, coll): (String, Option<String>, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            match by_index.last_mut() {
                Some((name, cols)) if *name == index => cols.push((column, coll)),
                _ => by_index.push((index, vec![(column, coll)])),
            }
        }
        let on_key = by_index.into_iter().map(|(_, cols)| cols).find(|cols| {
            cols.len() == self.key.len()
                && self
                    .key
                    .iter()
                    .all(|k| cols.iter().any(|(c, _)| c.as_deref() == Some(k.as_str())))
        });
        let collations: Vec<String> = self
            .key
            .iter()
            .map(|k| {
                on_key
                    .as_ref()
                    .and_then(|cols| cols.iter().find(|(c, _)| c.as_deref() == Some(k.as_str())))
                    .map(|(_, coll)| coll.clone())
                    .unwrap_or_default()
            })
            .collect();
        let wheres: Vec<String> = self
            .key
            .iter()
            .zip(&collations)
            .enumerate()
            .map(|(i, (k, coll))| match coll.is_empty() {
                true => format!("{} = ?{}", d.ident(k), i + 1),
                false => format!("{} COLLATE {} = ?{}", d.ident(k), d.ident(coll), i + 1),
            })
            .collect();
        Ok(BoundCheck {
            check: self,
            sql: format!(
                "SELECT {} FROM {} WHERE {} LIMIT 1",
                d.idents(&self.key),
                self.quoted,
                wheres.join(" AND ")
            ),
            collations,
        })
    }
}

impl BoundCheck<'_> {
    /// The message when `row`'s key finds a row there whose text key differs.
    fn clash(&self, conn: &Connection, row: &Row) -> rusqlite::Result<Option<String>> {
        let d = crate::engine::dialect_of(Engine::Sqlite);
        let check = self.check;
        let mut stmt = conn.prepare_cached(&self.sql)?;
        let mut found = stmt.query(rusqlite::params_from_iter(check.at.iter().map(|&i| Bind(&row[i]))))?;
        let Some(there) = found.next()? else {
            return Ok(None);
        };
        let mut differ = Vec::new();
        let mut theirs = Vec::new();
        for (k, &i) in check.at.iter().enumerate() {
            let value = there.get_ref(k)?;
            match (value, &row[i]) {
                (ValueRef::Text(t), Value::Text(mine)) if t != mine.as_bytes() => differ.push(k),
                _ => {}
            }
            theirs.push(match value {
                ValueRef::Text(t) => d.literal(&Value::Text(String::from_utf8_lossy(t).into_owned())),
                _ => d.literal(&row[i]),
            });
        }
        if differ.is_empty() {
            return Ok(None);
        }
        let collations: Vec<String> = differ
            .iter()
            .map(|&k| {
                let collation = match self.collations[k].as_str() {
                    "" => "unknown",
                    c => c,
                };
                format!("{} is {collation}", check.key[k])
            })
            .collect();
        Ok(Some(crate::skip::spelling_clash(
            &check.key,
            &theirs,
            &collations,
            "as BINARY",
        )))
    }
}

/// The query finding a row of `table` equal to a row in every one of `columns`
/// (`IS`: NULLs equal; BINARY: text byte for byte), for the target-less
/// `ON CONFLICT DO NOTHING` of a source table without a key of its own ([`insert`]).
pub fn same_row_sql(d: &dyn Dialect, table: &str, columns: &[String]) -> String {
    let same: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} IS ?{} COLLATE BINARY", d.ident(c), i + 1))
        .collect();
    format!("SELECT 1 FROM {table} WHERE {} LIMIT 1", same.join(" AND "))
}

/// Inserts a batch in one transaction; a rejected row rolls the batch back.
/// `skipped_on`: the row key when a row whose key is there is kept as it is (`skip`,
/// `update` with nothing to set: `conflict`), which a clash on another key's message
/// names. `check`: a row whose key is there in another spelling is refused
/// ([`SpellingCheck`]). `same_row` ([`same_row_sql`]): the statement is a keyless
/// source's target-less `ON CONFLICT DO NOTHING`, and a row it skips must have a row
/// there equal in every column, else it clashed on a key and is refused
/// ([`crate::skip::keyless_clash`]), never dropped.
pub fn insert(
    conn: &mut Connection,
    sql: &str,
    skipped_on: &[String],
    conflict: Conflict,
    check: Option<&SpellingCheck>,
    same_row: Option<&str>,
    rows: &[Row],
) -> Result<u64, WriteError> {
    let upsert = upsert_key(sql);
    let fail = |row: Option<usize>, e: rusqlite::Error| {
        let duplicate_key = matches!(
            e.sqlite_error().map(|f| f.extended_code),
            Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
        );
        // `DO UPDATE` takes a clash on its key: one on any other key is with another row.
        let message = match (&upsert, duplicate_key) {
            (Some(key), true) => format!(
                "{e}: it clashes with a destination row whose key ({key}) is another on a unique key other than \
                 that: on_conflict = \"update\" overwrites only the row with the same key (as on PostgreSQL and \
                 MariaDB/MySQL), never a different row; that row was left as it was"
            ),
            (None, true) if !skipped_on.is_empty() => format!("{e}{}", crate::skip::other_key(skipped_on, conflict)),
            _ => e.to_string(),
        };
        WriteError {
            row,
            duplicate_key,
            message,
            written: 0,
        }
    };
    // IMMEDIATE: the write lock is taken (waiting for it) before the batch reads
    // anything. A deferred transaction that reads first (the spelling check) and then
    // writes gets SQLITE_BUSY at once, no waiting, when another lane's connection to
    // the same file committed in between (WAL's stale snapshot).
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| fail(None, e))?;
    let mut n = 0u64;
    {
        let mut stmt = tx.prepare_cached(sql).map_err(|e| fail(None, e))?;
        let check = check.map(|c| c.bind(&tx)).transpose().map_err(|e| fail(None, e))?;
        for (i, row) in rows.iter().enumerate() {
            if let Some(check) = &check {
                if let Some(message) = check.clash(&tx, row).map_err(|e| fail(Some(i), e))? {
                    return Err(WriteError {
                        row: Some(i),
                        duplicate_key: false,
                        message,
                        written: 0,
                    });
                }
            }
            let done = stmt
                .execute(rusqlite::params_from_iter(row.iter().map(Bind)))
                .map_err(|e| fail(Some(i), e))?;
            if let (0, Some(same_row)) = (done, same_row) {
                let mut same = tx.prepare_cached(same_row).map_err(|e| fail(Some(i), e))?;
                if !same
                    .exists(rusqlite::params_from_iter(row.iter().map(Bind)))
                    .map_err(|e| fail(Some(i), e))?
                {
                    return Err(WriteError {
                        row: Some(i),
                        duplicate_key: true,
                        message: crate::skip::keyless_clash(conflict),
                        written: 0,
                    });
                }
            }
            n += done as u64;
        }
    }
    tx.commit().map_err(|e| fail(None, e))?;
    Ok(n)
}

/// `UPDATE table SET set_cols = ? WHERE key_cols = ?` for each (key, values) pair.
pub fn update(
    conn: &mut Connection,
    table: &str,
    key: &[String],
    set: &[String],
    rows: &[(Row, Row)],
) -> rusqlite::Result<u64> {
    let d = crate::engine::dialect_of(Engine::Sqlite);
    let sets: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ?{}", d.ident(c), i + 1))
        .collect();
    let wheres: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ?{}", d.ident(c), set.len() + i + 1))
        .collect();
    // OR ABORT, as every INSERT above: a clash is an error, whatever conflict clause
    // the destination's own constraints declare.
    let sql = format!(
        "UPDATE OR ABORT {table} SET {} WHERE {}",
        sets.join(", "),
        wheres.join(" AND ")
    );
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut n = 0;
    {
        let mut stmt = tx.prepare_cached(&sql)?;
        for (k, v) in rows {
            n += stmt.execute(rusqlite::params_from_iter(v.iter().chain(k.iter()).map(Bind)))? as u64;
        }
    }
    tx.commit()?;
    Ok(n)
}

/// Rows of an arbitrary query, typed by `types` (Text where unknown).
pub fn query(conn: &Connection, sql: &str, types: &[DataType]) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let rows = stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get_ref(i)
                    .map(|v| from_sqlite(v, types.get(i).unwrap_or(&DataType::Text)))
            })
            .collect::<rusqlite::Result<Row>>()
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table whose constraints declare REPLACE and IGNORE, holding rows 7 and 8.
    fn table() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(
            "CREATE TABLE g (id INTEGER PRIMARY KEY ON CONFLICT REPLACE, name TEXT UNIQUE ON CONFLICT REPLACE,
               v INT NOT NULL ON CONFLICT IGNORE);
             INSERT INTO g VALUES (7, 'a', 1), (8, 'zz', 1);",
        )
        .expect("table");
        conn
    }

    fn all(conn: &Connection) -> Vec<Row> {
        query(conn, "SELECT id, name, v FROM g ORDER BY id", &[]).expect("rows")
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|c| c.to_string()).collect()
    }

    /// Every INSERT form (error, skip and update, with and without a key to name)
    /// refuses a clash the table's own clauses would resolve by deleting, overwriting
    /// or dropping a row; the table is left as it was.
    #[test]
    fn every_insert_overrides_the_tables_conflict_clauses() {
        let d = crate::engine::dialect_of(Engine::Sqlite);
        let columns = cols(&["id", "name", "v"]);
        let key = cols(&["id"]);
        let t = |s: &str| Value::Text(s.into());
        let clashes: [(Row, &str); 3] = [
            (
                vec![Value::Int(1), t("a"), Value::Int(5)],
                "UNIQUE constraint failed: g.name",
            ),
            (
                vec![Value::Int(2), t("b"), Value::Null],
                "NOT NULL constraint failed: g.v",
            ),
            (
                vec![Value::Int(7), t("zz"), Value::Int(5)],
                "UNIQUE constraint failed: g.name",
            ),
        ];
        for conflict in [Conflict::Error, Conflict::Skip, Conflict::Update] {
            for (exact, key) in [(true, &key[..]), (false, &key[..]), (false, &[][..])] {
                let sql = insert_sql(d, "\"g\"", &columns, key, exact, conflict);
                assert!(sql.starts_with("INSERT OR ABORT INTO"), "{sql}");
                for (row, message) in &clashes {
                    // Row 7 with key 7: error's own key clash; skip keeps row 7.
                    if row[0] == Value::Int(7) && conflict != Conflict::Update {
                        continue;
                    }
                    // Keyless skip/update (target-less DO NOTHING) keeps the row there
                    // on any unique clash, as documented; a NULL is still refused.
                    if sql.ends_with(" ON CONFLICT DO NOTHING") && message.starts_with("UNIQUE") {
                        continue;
                    }
                    let mut conn = table();
                    let before = all(&conn);
                    let e = insert(&mut conn, &sql, &[], conflict, None, None, std::slice::from_ref(row))
                        .expect_err(&format!("{sql}: {row:?} is refused"));
                    assert!(e.message.contains(message), "{sql}: {}", e.message);
                    assert_eq!(e.row, Some(0));
                    assert_eq!(all(&conn), before, "{sql}");
                }
            }
        }
        // Error with the row's key already there: refused, the row not overwritten.
        let mut conn = table();
        let sql = insert_sql(d, "\"g\"", &columns, &key, true, Conflict::Error);
        let e = insert(
            &mut conn,
            &sql,
            &[],
            Conflict::Error,
            None,
            None,
            &[vec![Value::Int(7), t("new"), Value::Int(5)]],
        )
        .expect_err("an existing key");
        assert!(e.duplicate_key && e.message.contains("g.id"), "{}", e.message);
        assert_eq!(all(&conn)[0][1], t("a"));
    }

    /// The fix-up UPDATE refuses a clash on another unique key (REPLACE would delete
    /// row 8) and a NULL into the IGNORE column (IGNORE would skip the update).
    #[test]
    fn the_update_overrides_the_tables_conflict_clauses() {
        for (set, value) in [("name", Value::Text("zz".into())), ("v", Value::Null)] {
            let mut conn = table();
            let before = all(&conn);
            let e = update(
                &mut conn,
                "\"g\"",
                &cols(&["id"]),
                &cols(&[set]),
                &[(vec![Value::Int(7)], vec![value])],
            )
            .expect_err("a clash is an error");
            assert!(e.to_string().contains("constraint failed"), "{e}");
            assert_eq!(all(&conn), before);
        }
    }
}
