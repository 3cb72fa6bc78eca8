//! What loading into a destination asks of its engine, as capabilities of a
//! [`Connection`]: emptying tables, deferring or suspending foreign-key checks around an
//! unbreakable cycle, moving sequences past copied keys, and whether a load can run in
//! one transaction with its foreign keys dropped. Callers ask; they never match on the
//! engine.

use tether_schema::{DataType, Table};

use crate::error::ConnectError;
use crate::url::{DbUrl, Engine};
use crate::value::{Row, Value};
use crate::Connection;

/// The job's snapshot as other connections read it ([`Connection::begin_shared_snapshot`]).
pub struct SharedSnapshot {
    /// How many more connections may read it.
    pub lanes: usize,
    /// Its id, for connections opened later to join (PostgreSQL).
    pub id: Option<String>,
    /// Connections already reading it (SQLite: all `lanes` of them).
    pub pinned: Vec<Connection>,
}

/// What [`Connection::undefer_checks`] restores after an unbreakable cycle.
#[derive(Debug, Default)]
pub struct DeferredChecks {
    /// PostgreSQL constraints made deferrable for the load: (table, constraint).
    altered: Vec<(String, String)>,
}

impl Connection {
    /// A load can run in one transaction with its foreign keys dropped and created
    /// again (so validated) before COMMIT: the engine has transactional DDL
    /// (PostgreSQL). MariaDB's DDL commits; SQLite cannot drop a foreign key.
    pub fn loads_atomically(&self) -> bool {
        self.engine() == Engine::Postgres
    }

    /// Other connections can read in this one's snapshot: PostgreSQL exports it, SQLite
    /// pins one on every connection at once ([`Connection::begin_shared_snapshot`]).
    /// MariaDB/MySQL cannot share one, so it reads on one connection.
    pub fn shares_snapshot(&self) -> bool {
        self.engine() != Engine::Mysql
    }

    /// Begins the job's snapshot here ([`Connection::begin_snapshot`]) for up to `more`
    /// other connections to `url` to read too. PostgreSQL exports it: they open later
    /// and join it by its id. A SQLite file has no snapshot to join (one is fixed by a
    /// connection's first read, and a live file takes commits between two): the other
    /// connections are opened now and begin together with this one while the file's
    /// writers are held off, or none when they cannot be (see
    /// [`crate::sqlite::pin_snapshots`]).
    pub async fn begin_shared_snapshot(&mut self, url: &DbUrl, more: usize) -> Result<SharedSnapshot, ConnectError> {
        let (Connection::Sqlite { conn, shown }, DbUrl::Sqlite { path }) = (&*self, url) else {
            let id = self.begin_snapshot().await?;
            return Ok(SharedSnapshot {
                lanes: if self.shares_snapshot() { more } else { 0 },
                id,
                pinned: Vec::new(),
            });
        };
        let (first, path, shown) = (conn.clone(), path.clone(), shown.clone());
        let pinned = tokio::task::spawn_blocking(move || {
            let first = first.lock().expect("lock");
            crate::sqlite::pin_snapshots(&first, &path, more)
        })
        .await
        .expect("the SQLite task does not panic")?;
        let pinned: Vec<Connection> = pinned
            .into_iter()
            .map(|c| Connection::Sqlite {
                conn: std::sync::Arc::new(std::sync::Mutex::new(c)),
                shown: shown.clone(),
            })
            .collect();
        Ok(SharedSnapshot {
            lanes: pinned.len(),
            id: None,
            pinned,
        })
    }

    /// Deletes every row of `tables` (children first, as given) with the checks off.
    pub async fn empty_tables(&mut self, tables: &[&Table]) -> Result<(), ConnectError> {
        let d = self.dialect();
        let names: Vec<String> = tables.iter().map(|t| d.own_rows(t)).collect();
        match self.engine() {
            Engine::Postgres => self.execute(&format!("TRUNCATE {}", names.join(", "))).await,
            Engine::Mysql => {
                let deletes: Vec<String> = names.iter().map(|n| format!("DELETE FROM {n}")).collect();
                self.execute(&format!(
                    "SET foreign_key_checks = 0; {}; SET foreign_key_checks = 1",
                    deletes.join("; ")
                ))
                .await
            }
            Engine::Sqlite => {
                let deletes: Vec<String> = names.iter().map(|n| format!("DELETE FROM {n};")).collect();
                self.execute(&format!(
                    "PRAGMA foreign_keys = OFF; BEGIN; {} COMMIT; PRAGMA foreign_keys = ON;",
                    deletes.join(" ")
                ))
                .await
            }
        }
    }

    /// Before loading the tables of an unbreakable cycle (`members`, as this destination
    /// has them): PostgreSQL makes the cycle's foreign keys deferrable and defers them in
    /// a transaction; MariaDB and SQLite turn the checks off.
    pub async fn defer_checks(&mut self, members: &[Table]) -> Result<DeferredChecks, ConnectError> {
        let d = self.dialect();
        let mut altered = Vec::new();
        match self.engine() {
            Engine::Mysql => self.execute("SET foreign_key_checks = 0").await?,
            Engine::Sqlite => self.execute("PRAGMA foreign_keys = OFF").await?,
            Engine::Postgres => {
                for t in members {
                    for fk in &t.foreign_keys {
                        let inside = members.iter().any(|m| m.table_name() == fk.referenced_name());
                        if inside && !fk.deferrable {
                            let name = d.qualified(t);
                            self.execute(&format!(
                                "ALTER TABLE {name} ALTER CONSTRAINT {} DEFERRABLE",
                                d.ident(&fk.name)
                            ))
                            .await?;
                            altered.push((name, fk.name.clone()));
                        }
                    }
                }
                self.execute("BEGIN; SET CONSTRAINTS ALL DEFERRED").await?;
            }
        }
        Ok(DeferredChecks { altered })
    }

    /// After the cycle: the checks run (PostgreSQL's COMMIT checks the deferred keys,
    /// then they are made NOT DEFERRABLE again) or are turned back on.
    pub async fn undefer_checks(&mut self, deferred: DeferredChecks) -> Result<(), ConnectError> {
        let d = self.dialect();
        match self.engine() {
            Engine::Mysql => self.execute("SET foreign_key_checks = 1").await,
            Engine::Sqlite => self.execute("PRAGMA foreign_keys = ON").await,
            Engine::Postgres => {
                self.execute("COMMIT").await?;
                for (table, fk) in deferred.altered {
                    self.execute(&format!(
                        "ALTER TABLE {table} ALTER CONSTRAINT {} NOT DEFERRABLE",
                        d.ident(&fk)
                    ))
                    .await?;
                }
                Ok(())
            }
        }
    }

    /// How many rows `table` has (its own rows: not those of tables inheriting from
    /// it), for the verification. The session runs with `row_security = off`: on a
    /// table whose FORCE ROW LEVEL SECURITY applies to its owner (a copy creates the
    /// source's policies after the rows are in), the owner counts every row with FORCE
    /// lifted in a transaction rolled back, rather than failing, or counting only the
    /// rows the policies show.
    pub async fn count_rows(&mut self, table: &Table) -> Result<u64, ConnectError> {
        let d = self.dialect();
        let int = DataType::Int {
            bytes: 8,
            unsigned: false,
        };
        let count = format!("SELECT count(*) FROM {}", d.own_rows(table));
        let first = |rows: Vec<Row>| match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => (*n).max(0) as u64,
            _ => 0,
        };
        match self.query(&count, std::slice::from_ref(&int)).await {
            Ok(rows) => Ok(first(rows)),
            Err(ConnectError::Query { message, .. })
                if self.engine() == Engine::Postgres && message.contains("row-level security") =>
            {
                let name = d.qualified(table);
                let owned = self
                    .query(
                        &format!(
                            "SELECT 1 FROM pg_class WHERE oid = {}::regclass AND relforcerowsecurity \
                             AND pg_has_role(relowner, 'USAGE')",
                            d.literal(&Value::Text(name.clone()))
                        ),
                        &[],
                    )
                    .await?;
                if owned.is_empty() {
                    return self.query(&count, &[int]).await.map(first);
                }
                let lifted = self
                    .execute(&format!("BEGIN; ALTER TABLE {name} NO FORCE ROW LEVEL SECURITY"))
                    .await;
                let counted = match lifted {
                    Ok(()) => self.query(&count, &[int]).await,
                    Err(e) => Err(e),
                };
                let ended = self.execute("ROLLBACK").await;
                let n = counted.map(first)?;
                ended.map(|()| n)
            }
            Err(e) => Err(e),
        }
    }

    /// Moves the sequences `tables`' columns draw from (identity, serial, or a
    /// `DEFAULT nextval(...)` the table does not own, shared with other tables) past
    /// the keys copied, as a `pg_dump` restore leaves them, so the application's next
    /// insert does not collide: forward only (a sequence already past them stays), in
    /// the sequence's direction (a descending one below the smallest key), and within
    /// its bounds (keys at the end of its range, a sentinel `2147483647`, are left for
    /// it to reach as on the source). PostgreSQL, and MariaDB sequences (its
    /// AUTO_INCREMENT follows the rows by itself, SQLite's too). This runs after the
    /// load is committed: a sequence that cannot be moved (no privilege on it, say)
    /// does not fail the job but is returned, one line each, to be reported.
    pub async fn advance_sequences(&mut self, tables: &[Table]) -> Result<Vec<String>, ConnectError> {
        let mut warnings = Vec::new();
        let found = match self.engine() {
            Engine::Postgres => self.postgres_sequences(tables).await?,
            Engine::Mysql => self.mariadb_sequences(tables, &mut warnings).await?,
            Engine::Sqlite => return Ok(Vec::new()),
        };
        for seq in found {
            if let Err(e) = self.advance_one(&seq).await {
                warnings.push(format!(
                    "sequence {} was not moved past the keys copied into {}, so the next value it hands out may \
                     be one of them: {e}",
                    seq.name,
                    seq.users
                        .iter()
                        .map(|(t, c)| format!("{t}.{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(warnings)
    }

    /// The sequences `tables` draw from on PostgreSQL: owned by a column (serial,
    /// identity) or named by a column's default.
    async fn postgres_sequences(&mut self, tables: &[Table]) -> Result<Vec<SequenceUse>, ConnectError> {
        let d = self.dialect();
        let text = DataType::Text;
        let int = DataType::Int {
            bytes: 8,
            unsigned: false,
        };
        let mut found: Vec<SequenceUse> = Vec::new();
        for t in tables {
            let name = d.qualified(t);
            let sql = format!(
                "WITH u(seq, attnum) AS ( \
                   SELECT objid, refobjsubid FROM pg_depend WHERE refclassid = 'pg_class'::regclass \
                     AND refobjid = {rel}::regclass AND classid = 'pg_class'::regclass AND deptype IN ('a', 'i') \
                   UNION SELECT dep.refobjid, ad.adnum FROM pg_attrdef ad JOIN pg_depend dep \
                     ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = ad.oid \
                     AND dep.refclassid = 'pg_class'::regclass \
                   WHERE ad.adrelid = {rel}::regclass) \
                 SELECT s.seqrelid::regclass::text, a.attname, s.seqincrement, s.seqmin, s.seqmax \
                 FROM u JOIN pg_sequence s ON s.seqrelid = u.seq \
                 JOIN pg_attribute a ON a.attrelid = {rel}::regclass AND a.attnum = u.attnum \
                 WHERE NOT a.attisdropped ORDER BY 1, 2",
                rel = d.literal(&Value::Text(name.clone())),
            );
            for row in self
                .query(
                    &sql,
                    &[text.clone(), text.clone(), int.clone(), int.clone(), int.clone()],
                )
                .await?
            {
                let (Some(Value::Text(seq)), Some(Value::Text(col))) = (row.first(), row.get(1)) else {
                    continue;
                };
                let n = |i: usize| match row.get(i) {
                    Some(Value::Int(n)) => *n,
                    _ => 0,
                };
                add_use(&mut found, seq, (n(2), n(3), n(4)), &name, &d.ident(col));
            }
        }
        Ok(found)
    }

    /// The MariaDB sequences of this database the job's tables' defaults draw from
    /// (`DEFAULT nextval(seq)`), as this destination declares them. A default drawing
    /// from a sequence of another database (`nextval(`src`.`s`)`, as a table restored
    /// from a dump of the source has it: SHOW CREATE TABLE qualifies the sequence) is
    /// not moved but named in `warnings`: that sequence is no object of the destination
    /// (the source's own, or one the source shares), and Tether writes nothing outside
    /// the destination's database.
    async fn mariadb_sequences(
        &mut self,
        tables: &[Table],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<SequenceUse>, ConnectError> {
        let d = self.dialect();
        let here = self.query("SELECT DATABASE()", &[]).await?;
        let Some(Value::Text(database)) = here.first().and_then(|r| r.first()).cloned() else {
            return Ok(Vec::new());
        };
        let rows = self
            .query(
                "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND lower(COLUMN_DEFAULT) LIKE '%nextval(%' \
                 ORDER BY TABLE_NAME, ORDINAL_POSITION",
                &[],
            )
            .await?;
        let mut found: Vec<SequenceUse> = Vec::new();
        for row in rows {
            let (Some(Value::Text(table)), Some(Value::Text(col)), Some(Value::Text(default))) =
                (row.first(), row.get(1), row.get(2))
            else {
                continue;
            };
            let Some(t) = tables.iter().find(|t| &t.name == table) else {
                continue;
            };
            let user = format!("{}.{}", d.qualified(t), d.ident(col));
            // `nextval(`db`.`seq`)`: the sequence as the default names it.
            let Some((db, name)) = mariadb_sequence_named(default) else {
                warnings.push(format!(
                    "the default of {user}, `{default}`, names no sequence Tether can read; no sequence was moved \
                     past the keys copied there"
                ));
                continue;
            };
            if let Some(db) = db.as_deref().filter(|db| *db != database) {
                warnings.push(format!(
                    "the default of {user} draws from sequence {}.{} of another database, not the destination's \
                     ({}): it was not moved past the keys copied (Tether writes nothing outside the destination's \
                     database), so it may hand out one of them, and every insert there takes a value from that \
                     sequence; give the column a sequence of its own database",
                    d.ident(db),
                    d.ident(&name),
                    d.ident(&database),
                ));
                continue;
            }
            let seq = format!("{}.{}", d.ident(&database), d.ident(&name));
            let bounds: Vec<Row> = self
                .query(
                    &format!("SELECT increment, minimum_value, maximum_value FROM {seq}"),
                    &vec![
                        DataType::Int {
                            bytes: 8,
                            unsigned: false,
                        };
                        3
                    ],
                )
                .await?;
            let n = |i: usize| match bounds.first().and_then(|r| r.get(i)) {
                Some(Value::Int(n)) => *n,
                _ => 0,
            };
            add_use(&mut found, &seq, (n(0), n(1), n(2)), &d.qualified(t), &d.ident(col));
        }
        Ok(found)
    }

    /// Moves one sequence past the keys of the columns drawing from it, forward only and
    /// within its bounds.
    async fn advance_one(&mut self, seq: &SequenceUse) -> Result<(), ConnectError> {
        let d = self.dialect();
        let up = seq.increment >= 0;
        // The largest (descending: smallest) key the sequence can be set to: one whose
        // next value is still within its range.
        let limit = if up {
            i128::from(seq.max) - i128::from(seq.increment)
        } else {
            i128::from(seq.min) - i128::from(seq.increment)
        };
        let (agg, cmp) = if up { ("max", "<=") } else { ("min", ">=") };
        let parts: Vec<String> = seq
            .users
            .iter()
            .map(|(t, c)| format!("SELECT {agg}({c}) AS k FROM {t} WHERE {c} {cmp} {limit}"))
            .collect();
        let keys = format!("SELECT {agg}(k) AS k FROM ({}) AS u", parts.join(" UNION ALL "));
        let (lo, hi) = (seq.min, seq.max);
        let sql = match self.engine() {
            Engine::Postgres => {
                let lit = d.literal(&Value::Text(seq.name.clone()));
                // The value the sequence hands out next (read with USAGE, as nextval
                // needs; SELECT on the sequence is not required).
                let next = format!(
                    "coalesce(pg_sequence_last_value({lit}::regclass)::numeric + {}, \
                     (SELECT seqstart FROM pg_sequence WHERE seqrelid = {lit}::regclass))",
                    seq.increment
                );
                let past = if up { ">=" } else { "<=" };
                format!(
                    "SELECT setval({lit}, m.k, true) FROM ({keys}) AS m \
                     WHERE m.k IS NOT NULL AND m.k BETWEEN {lo} AND {hi} AND m.k {past} {next}"
                )
            }
            // SETVAL takes a constant, and never moves a MariaDB sequence back.
            _ => {
                let int = DataType::Int {
                    bytes: 8,
                    unsigned: false,
                };
                let found = self.query(&keys, &[int]).await?;
                let Some(Value::Int(k)) = found.first().and_then(|r| r.first()) else {
                    return Ok(());
                };
                if *k < lo || *k > hi {
                    return Ok(());
                }
                format!("SELECT SETVAL({}, {k}, 1)", seq.name)
            }
        };
        self.query(&sql, &[]).await.map(|_| ())
    }
}

/// The sequence a MariaDB default's first `nextval(...)` names: its database (when
/// qualified) and name, unquoted (`` `a``b` `` is a`b). `None` when it cannot be read.
pub fn mariadb_sequence_named(default: &str) -> Option<(Option<String>, String)> {
    let at = default.to_ascii_lowercase().find("nextval(")?;
    let mut rest = default[at + "nextval(".len()..].trim_start();
    let mut parts: Vec<String> = Vec::new();
    loop {
        let part = if let Some(q) = rest.strip_prefix('`') {
            let mut name = String::new();
            let mut chars = q.char_indices();
            let mut after = None;
            while let Some((i, ch)) = chars.next() {
                if ch == '`' {
                    if q[i + 1..].starts_with('`') {
                        name.push('`');
                        chars.next();
                        continue;
                    }
                    after = Some(i + 1);
                    break;
                }
                name.push(ch);
            }
            rest = &q[after?..];
            name
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            let name = rest[..end].to_string();
            rest = &rest[end..];
            name
        };
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        rest = rest.trim_start();
        match rest.strip_prefix('.') {
            Some(r) => rest = r.trim_start(),
            None => break,
        }
    }
    if !(rest.starts_with(')') || rest.starts_with(',')) {
        return None;
    }
    match parts.len() {
        1 => Some((None, parts.pop()?)),
        2 => {
            let name = parts.pop()?;
            Some((parts.pop(), name))
        }
        _ => None,
    }
}

/// A sequence and the (table, column) pairs of the job drawing from it, both quoted.
#[derive(Debug)]
struct SequenceUse {
    name: String,
    increment: i64,
    min: i64,
    max: i64,
    users: Vec<(String, String)>,
}

fn add_use(found: &mut Vec<SequenceUse>, seq: &str, (increment, min, max): (i64, i64, i64), table: &str, col: &str) {
    let user = (table.to_string(), col.to_string());
    match found.iter_mut().find(|s| s.name == seq) {
        Some(s) if !s.users.contains(&user) => s.users.push(user),
        Some(_) => {}
        None => found.push(SequenceUse {
            name: seq.to_string(),
            increment,
            min,
            max,
            users: vec![user],
        }),
    }
}
