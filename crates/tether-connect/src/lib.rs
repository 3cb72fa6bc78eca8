//! Tether's connection layer: URLs, connections and introspection for SQLite,
//! PostgreSQL and MariaDB/MySQL, all into the engine-neutral `tether_schema` model.
//!
//! Callers hold a [`Connection`] and never match on the engine; engine differences
//! live in one module per engine.

pub mod dialect;
pub mod engine;
pub mod error;
pub mod identity;
pub mod keyset;
pub mod load;
pub mod pg_replication;
mod redact;
pub mod replication;
pub mod rw;
pub mod skip;
pub mod tls;
pub mod types;
pub mod url;

pub use engine::{mysql, postgres, sqlite};

/// Values, re-exported from `tether_schema` where they live.
pub use tether_schema::value;

use std::sync::{Arc, Mutex};

use mysql_async::prelude::Queryable;
use tether_schema::{DataType, Schema, Table};
use tokio::sync::mpsc;

pub use dialect::{Dialect, TableObjects};
pub use engine::dialect_of;
pub use error::ConnectError;
pub use identity::{identify, identify_holding, identify_probing, Identity, Probe, Reached};
pub use load::{DeferredChecks, SharedSnapshot};
pub use pg_replication::{Logical, Publication, Subscription};
pub use replication::{Feeds, ServerMarks, Upstreams};
pub use rw::{Batch, Conflict, Filter, ReadSpec, WriteError};
pub use tls::{TlsMode, TlsOptions};
pub use url::{DbUrl, Engine, ServerUrl};

/// The table in which a sync records, before it drops or turns off a destination's
/// triggers for a load, the statements putting them back: read by the next run to that
/// destination when the run died before putting them back. Never read as one of the
/// database's own tables (introspection leaves it out on every engine).
pub const SUSPENDED_TRIGGERS: &str = "_tether_suspended_triggers";
pub use value::{Row, Value};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct IntrospectOptions {
    /// PostgreSQL schemas to read; empty means every non-system schema.
    pub schemas: Vec<String>,
}

/// An open connection to one database.
pub enum Connection {
    Sqlite {
        conn: Arc<Mutex<rusqlite::Connection>>,
        shown: String,
    },
    Postgres {
        client: tokio_postgres::Client,
        shown: String,
    },
    Mysql {
        conn: mysql_async::Conn,
        shown: String,
        database: String,
        /// `LOAD DATA LOCAL INFILE` works on this connection (until the server refuses it).
        load_data: bool,
    },
}

impl Connection {
    /// [`Self::open`], leaving a SQLite file's directory as it found it, for a look
    /// that must change nothing (`tether plan` reading a destination:
    /// [`sqlite::open_as_found`]).
    pub async fn open_as_found(url: &DbUrl) -> Result<Connection, ConnectError> {
        let DbUrl::Sqlite { path } = url else {
            return Connection::open(url).await;
        };
        url.require_database()?;
        let path = path.clone();
        let conn = tokio::task::spawn_blocking(move || sqlite::open_as_found(&path))
            .await
            .expect("the SQLite open task does not panic")?;
        Ok(Connection::Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            shown: url.to_string(),
        })
    }

    /// Opens a connection for reading. A SQLite file must already exist.
    pub async fn open(url: &DbUrl) -> Result<Connection, ConnectError> {
        url.require_database()?;
        let shown = url.to_string();
        match url {
            DbUrl::Sqlite { path } => {
                let path = path.clone();
                let conn = tokio::task::spawn_blocking(move || sqlite::open_read_only(&path))
                    .await
                    .expect("the SQLite open task does not panic")?;
                Ok(Connection::Sqlite {
                    conn: Arc::new(Mutex::new(conn)),
                    shown,
                })
            }
            DbUrl::Postgres(server) => {
                let client = postgres::connect(server, &shown).await?;
                // Definitions (defaults, CHECKs, views) are printed with their string
                // literals spelled for this setting, and created where it is on too: a
                // database set to `off` would hand out `'C:\\temp'` for `C:\temp`.
                client
                    .batch_execute("SET standard_conforming_strings = on")
                    .await
                    .map_err(|e| ConnectError::Connect {
                        url: shown.clone(),
                        message: postgres::describe(&e),
                    })?;
                Ok(Connection::Postgres { client, shown })
            }
            DbUrl::Mysql(server) => {
                let database = server.database.clone().unwrap_or_default();
                Ok(Connection::Mysql {
                    conn: mysql::connect(server, &shown).await?,
                    shown,
                    database,
                    load_data: true,
                })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Connection::Sqlite { .. } => Engine::Sqlite,
            Connection::Postgres { .. } => Engine::Postgres,
            Connection::Mysql { .. } => Engine::Mysql,
        }
    }

    /// Reads the database's tables, keys and foreign keys.
    pub async fn introspect(&mut self, opts: &IntrospectOptions) -> Result<Schema, ConnectError> {
        if !opts.schemas.is_empty() && self.engine() != Engine::Postgres {
            return Err(ConnectError::Unsupported {
                url: self.shown().to_string(),
                what: format!(
                    "--schema names PostgreSQL schemas; {} has none (a SQLite file is one schema; on \
                     MariaDB/MySQL the database in the URL is the schema)",
                    self.engine().name()
                ),
            });
        }
        match self {
            Connection::Sqlite { conn, shown } => {
                let conn = conn.clone();
                let shown = shown.clone();
                tokio::task::spawn_blocking(move || {
                    let conn = conn.lock().expect("the SQLite connection lock is never poisoned");
                    sqlite::introspect(&conn, &shown)
                })
                .await
                .expect("the SQLite introspection task does not panic")
            }
            Connection::Postgres { client, shown } => postgres::introspect(client, shown, &opts.schemas).await,
            Connection::Mysql {
                conn, shown, database, ..
            } => mysql::introspect(conn, shown, database).await,
        }
    }

    /// Opens a connection to write to. A missing SQLite file is created; foreign keys
    /// are enforced on SQLite as on the other engines.
    pub async fn open_destination(url: &DbUrl) -> Result<Connection, ConnectError> {
        let shown = url.to_string();
        match url {
            DbUrl::Sqlite { path } => {
                let path = path.clone();
                let shown2 = shown.clone();
                let conn = tokio::task::spawn_blocking(move || {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    // The path is a path, never a `file:` URI (see `plain_path`).
                    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                        | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                    let c = rusqlite::Connection::open_with_flags(engine::sqlite::plain_path(&path), flags).map_err(|e| ConnectError::Connect {
                        url: shown2.clone(),
                        message: e.to_string(),
                    })?;
                    c.execute_batch(
                        "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 60000;",
                    )
                    .map_err(|e| ConnectError::Connect {
                        url: shown2,
                        message: e.to_string(),
                    })?;
                    Ok::<_, ConnectError>(c)
                })
                .await
                .expect("the SQLite open task does not panic")?;
                Ok(Connection::Sqlite {
                    conn: Arc::new(Mutex::new(conn)),
                    shown,
                })
            }
            _ => {
                let mut c = Connection::open(url).await?;
                c.prepare_session().await?;
                Ok(c)
            }
        }
    }

    /// Opens a source connection: session settings for engine-neutral values.
    pub async fn open_source(url: &DbUrl) -> Result<Connection, ConnectError> {
        let mut c = Connection::open(url).await?;
        c.prepare_session().await?;
        Ok(c)
    }

    async fn prepare_session(&mut self) -> Result<(), ConnectError> {
        match self {
            Connection::Sqlite { .. } => Ok(()),
            Connection::Postgres { .. } => self.execute(postgres::rw::SESSION).await,
            Connection::Mysql { .. } => self.execute(mysql::rw::SESSION).await,
        }
    }

    /// Starts a read-only transaction whose snapshot every later read sees. On
    /// PostgreSQL the snapshot is exported: its id lets other connections read the same
    /// data ([`Connection::join_snapshot`]).
    pub async fn begin_snapshot(&mut self) -> Result<Option<String>, ConnectError> {
        match self.engine() {
            Engine::Sqlite => self.execute("BEGIN").await.map(|_| None),
            Engine::Mysql => self
                .execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                .await
                .map(|_| None),
            Engine::Postgres => {
                self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
                let rows = self.query("SELECT pg_export_snapshot()", &[]).await?;
                Ok(rows.first().and_then(|r| r.first()).and_then(|v| match v {
                    Value::Text(t) => Some(t.clone()),
                    _ => None,
                }))
            }
        }
    }

    /// Reads from now on see the snapshot another connection exported (PostgreSQL).
    pub async fn join_snapshot(&mut self, id: &str) -> Result<(), ConnectError> {
        let id = id.replace('\'', "");
        self.execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{id}'"
        ))
        .await
    }

    /// About how many rows a table has, from the catalog's statistics where the engine
    /// keeps them (PostgreSQL, MariaDB), else counted (SQLite). For progress only.
    pub async fn estimate_rows(&mut self, table: &Table) -> Result<u64, ConnectError> {
        let d = self.dialect();
        let int = [DataType::Int {
            bytes: 8,
            unsigned: false,
        }];
        let sql = match self.engine() {
            // A partitioned table's rows are its partitions' (the tree lists a plain
            // table alone).
            Engine::Postgres => format!(
                "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint \
                 FROM pg_partition_tree({}::regclass) t JOIN pg_class c ON c.oid = t.relid",
                d.literal(&Value::Text(d.qualified(table)))
            ),
            Engine::Mysql => format!(
                "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {}",
                d.literal(&Value::Text(table.name.clone()))
            ),
            Engine::Sqlite => format!("SELECT count(*) FROM {}", d.own_rows(table)),
        };
        let rows = self.query(&sql, &int).await?;
        Ok(match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => (*n).max(0) as u64,
            _ => 0,
        })
    }

    /// Turns the destination's foreign-key checks off for this session, where the
    /// engine and the user's privileges allow it. Returns false when they stay on.
    pub async fn disable_fk_checks(&mut self) -> Result<bool, ConnectError> {
        match self.engine() {
            Engine::Mysql => self.execute("SET foreign_key_checks = 0").await.map(|_| true),
            Engine::Sqlite => self.execute("PRAGMA foreign_keys = OFF").await.map(|_| true),
            Engine::Postgres => Ok(self.execute("SET session_replication_role = replica").await.is_ok()),
        }
    }

    /// Turns the checks back on.
    pub async fn enable_fk_checks(&mut self) -> Result<(), ConnectError> {
        match self.engine() {
            Engine::Mysql => self.execute("SET foreign_key_checks = 1").await,
            Engine::Sqlite => self.execute("PRAGMA foreign_keys = ON").await,
            Engine::Postgres => self.execute("SET session_replication_role = DEFAULT").await,
        }
    }

    pub fn dialect(&self) -> &'static dyn Dialect {
        crate::engine::dialect_of(self.engine())
    }

    fn query_error(&self, what: &str, message: String) -> ConnectError {
        ConnectError::Query {
            url: self.shown().to_string(),
            what: what.to_string(),
            message,
        }
    }

    /// Runs one or more statements that return no rows.
    pub async fn execute(&mut self, sql: &str) -> Result<(), ConnectError> {
        let result = match self {
            Connection::Sqlite { conn, .. } => {
                let conn = conn.clone();
                let sql = sql.to_string();
                tokio::task::spawn_blocking(move || {
                    conn.lock()
                        .expect("lock")
                        .execute_batch(&sql)
                        .map_err(|e| e.to_string())
                })
                .await
                .expect("the SQLite task does not panic")
            }
            Connection::Postgres { client, .. } => client.batch_execute(sql).await.map_err(|e| postgres::describe(&e)),
            Connection::Mysql { conn, .. } => conn.query_drop(sql).await.map_err(|e| mysql::describe(&e)),
        };
        result.map_err(|m| self.query_error(&format!("running `{}`", abbreviate(sql)), m))
    }

    /// Rows of a query, each value typed by `types` (text where `types` is short).
    pub async fn query(&mut self, sql: &str, types: &[DataType]) -> Result<Vec<Row>, ConnectError> {
        let result = match self {
            Connection::Sqlite { conn, .. } => {
                let conn = conn.clone();
                let sql = sql.to_string();
                let types = types.to_vec();
                tokio::task::spawn_blocking(move || {
                    sqlite::rw::query(&conn.lock().expect("lock"), &sql, &types).map_err(|e| e.to_string())
                })
                .await
                .expect("the SQLite task does not panic")
            }
            Connection::Postgres { client, .. } => postgres::rw::query(client, sql, types).await,
            Connection::Mysql { conn, .. } => mysql::rw::query(conn, sql, types).await,
        };
        result.map_err(|m| self.query_error(&format!("running `{}`", abbreviate(sql)), m))
    }

    /// Streams the rows of `spec` to `tx` in batches; returns the number of rows read.
    pub async fn read(
        &mut self,
        spec: &ReadSpec,
        batch_size: usize,
        tx: mpsc::Sender<Batch>,
    ) -> Result<u64, ConnectError> {
        let what = format!("reading {}", spec.table.table_name());
        let result = match self {
            Connection::Sqlite { conn, .. } => {
                let conn = conn.clone();
                let spec = spec.clone();
                tokio::task::spawn_blocking(move || {
                    sqlite::rw::read(&conn.lock().expect("lock"), &spec, batch_size, &tx).map_err(|e| e.to_string())
                })
                .await
                .expect("the SQLite task does not panic")
            }
            Connection::Postgres { client, .. } => postgres::rw::read(client, spec, batch_size, &tx).await,
            Connection::Mysql { conn, .. } => mysql::rw::read(conn, spec, batch_size, &tx).await,
        };
        result.map_err(|m| self.query_error(&what, m))
    }

    /// Reads all rows of `spec` into memory (for key sets and small lookups).
    pub async fn read_all(&mut self, spec: &ReadSpec) -> Result<Vec<Row>, ConnectError> {
        let (tx, mut rx) = mpsc::channel(1024);
        let collect = async {
            let mut all = Vec::new();
            while let Some(b) = rx.recv().await {
                all.extend(b);
            }
            all
        };
        let (read, rows) = tokio::join!(self.read(spec, 10_000, tx), collect);
        read?;
        Ok(rows)
    }

    /// Writes a batch of rows into `table` (a destination table). `key`: the columns
    /// conflicts are detected on; `keyed`: the source's table has a primary or unique
    /// key of its own (else `key` is every column, and rows may repeat).
    pub async fn insert(
        &mut self,
        table: &Table,
        columns: &[String],
        key: &[String],
        keyed: bool,
        rows: Vec<Row>,
        conflict: Conflict,
    ) -> Result<u64, WriteError> {
        let d = self.dialect();
        let name = d.qualified(table);
        let mut rows = rows;
        let exact = skip::exact(table, key);
        // A source table without a key of its own (its row key is every column) may
        // hold the same row twice: a second copy is not told apart from a row already
        // there, so without a destination key on exactly those columns it keeps the
        // target-less form (NOTES.md, seventeenth session).
        let key = match !keyed && !exact && self.engine() != Engine::Mysql {
            true => &[][..],
            false => key,
        };
        if self.engine() != Engine::Sqlite {
            as_booleans(table, columns, &mut rows);
        }
        if self.engine() == Engine::Mysql {
            as_single_floats(table, columns, &mut rows);
        }
        match self {
            Connection::Sqlite { conn, .. } => {
                let conn = conn.clone();
                let sql = sqlite::rw::insert_sql(d, &name, columns, key, exact, conflict);
                let skipped_on = match skip::keeps_existing(conflict, columns, key, &[]) {
                    true => key.to_vec(),
                    false => Vec::new(),
                };
                // Only a key holding text has spellings its collation may hold equal.
                let text_key = key.iter().any(|k| {
                    table.column(k).is_none_or(|c| {
                        c.normalized_type.is_text() || matches!(c.normalized_type, tether_schema::DataType::Other(_))
                    })
                });
                let check = text_key
                    .then(|| sqlite::rw::SpellingCheck::new(d, &name, &table.name, columns, key, exact, conflict))
                    .flatten();
                // A keyless source's target-less DO NOTHING: a row it skips must be there.
                let same_row = (key.is_empty() && conflict != Conflict::Error)
                    .then(|| sqlite::rw::same_row_sql(d, &name, columns));
                tokio::task::spawn_blocking(move || {
                    sqlite::rw::insert(
                        &mut conn.lock().expect("lock"),
                        &sql,
                        &skipped_on,
                        conflict,
                        check.as_ref(),
                        same_row.as_deref(),
                        &rows,
                    )
                })
                .await
                .expect("the SQLite task does not panic")
            }
            Connection::Postgres { client, .. } => {
                // A GENERATED ALWAYS identity can only be updated to DEFAULT: an upsert
                // leaves it as it is.
                let always: Vec<String> = table
                    .columns
                    .iter()
                    .filter(|c| c.identity == Some(tether_schema::Identity::Always))
                    .map(|c| c.name.clone())
                    .collect();
                // Key columns holding text (citext and other types Tether has no name for
                // too), compared byte for byte where the statement finds rows by key.
                let text: Vec<String> = key
                    .iter()
                    .filter(|k| {
                        table.column(k).is_none_or(|c| {
                            use tether_schema::DataType::*;
                            matches!(c.normalized_type, Char { .. } | Varchar { .. } | Text | Other(_))
                        })
                    })
                    .cloned()
                    .collect();
                postgres::rw::insert(client, &name, columns, key, exact, &text, &always, &rows, conflict).await
            }
            Connection::Mysql { conn, load_data, .. } => {
                let bits: Vec<bool> = columns
                    .iter()
                    .map(|c| {
                        table.column(c).is_some_and(|col| {
                            matches!(col.normalized_type, tether_schema::DataType::Bits { .. })
                                || col.engine_type.trim().to_ascii_lowercase().starts_with("bit")
                        })
                    })
                    .collect();
                mysql::rw::insert(
                    conn, load_data, table, &name, columns, &bits, key, keyed, &rows, conflict,
                )
                .await
            }
        }
    }

    /// Sets `set` columns on the rows of `table` identified by `key` values.
    pub async fn update(
        &mut self,
        table: &Table,
        key: &[String],
        set: &[String],
        rows: Vec<(Row, Row)>,
    ) -> Result<u64, ConnectError> {
        let d = self.dialect();
        // Not the rows of tables that inherit from this one.
        let name = d.own_rows(table);
        let result = match self {
            Connection::Sqlite { conn, .. } => {
                let conn = conn.clone();
                let (key, set) = (key.to_vec(), set.to_vec());
                tokio::task::spawn_blocking(move || {
                    sqlite::rw::update(&mut conn.lock().expect("lock"), &name, &key, &set, &rows)
                        .map_err(|e| e.to_string())
                })
                .await
                .expect("the SQLite task does not panic")
            }
            Connection::Postgres { client, .. } => {
                let casts: Vec<String> = key
                    .iter()
                    .chain(set)
                    .map(|c| {
                        table
                            .column(c)
                            .map(|col| col.engine_type.clone())
                            .unwrap_or_else(|| "text".into())
                    })
                    .collect();
                postgres::rw::update(client, &name, key, set, &casts, &rows).await
            }
            Connection::Mysql { conn, .. } => mysql::rw::update(conn, &name, key, set, &rows).await,
        };
        result.map_err(|m| self.query_error(&format!("updating {}", table.table_name()), m))
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        match self {
            Connection::Sqlite { shown, .. } | Connection::Postgres { shown, .. } | Connection::Mysql { shown, .. } => {
                shown
            }
        }
    }

    /// Closes the connection politely (MySQL sends COM_QUIT).
    pub async fn close(self) {
        if let Connection::Mysql { conn, .. } = self {
            let _ = conn.disconnect().await;
        }
    }
}

/// Whether [`passthrough`] can copy from `source` to every one of `dests`: PostgreSQL
/// to PostgreSQL only.
pub fn can_pass_through(source: &Connection, dests: &[&Connection]) -> bool {
    source.engine() == Engine::Postgres && dests.iter().all(|d| d.engine() == Engine::Postgres)
}

/// Copies `select`'s rows into `table (columns)` on each destination as raw COPY text
/// (see [`can_pass_through`]). On failure, says which destination failed (if one did).
pub async fn passthrough(
    source: &Connection,
    select: &str,
    dests: &[(&Connection, &Table, &[String])],
    on_rows: &(dyn Fn(u64) + Sync),
) -> Result<u64, (Option<usize>, ConnectError)> {
    let Connection::Postgres { client, shown } = source else {
        unreachable!("can_pass_through is checked first")
    };
    let d = crate::engine::dialect_of(Engine::Postgres);
    let mut targets = Vec::new();
    for (conn, table, columns) in dests {
        let Connection::Postgres { client, .. } = conn else {
            unreachable!("can_pass_through is checked first")
        };
        targets.push((client, format!("{} ({})", d.qualified(table), d.idents(columns))));
    }
    postgres::rw::passthrough(client, select, &targets, on_rows)
        .await
        .map_err(|(i, message)| {
            let url = match i {
                Some(i) => dests[i].0.shown().to_string(),
                None => shown.clone(),
            };
            (
                i,
                ConnectError::Query {
                    url,
                    what: "copying".into(),
                    message,
                },
            )
        })
}

/// [`introspect`], leaving a SQLite file's directory as it found it (`tether plan`
/// reading a destination: [`sqlite::open_as_found`]).
pub async fn introspect_as_found(url: &DbUrl, opts: &IntrospectOptions) -> Result<Schema, ConnectError> {
    let mut conn = Connection::open_as_found(url).await?;
    let schema = conn.introspect(opts).await;
    conn.close().await;
    schema
}

/// Connects, reads the schema and disconnects.
pub async fn introspect(url: &DbUrl, opts: &IntrospectOptions) -> Result<Schema, ConnectError> {
    let mut conn = Connection::open(url).await?;
    let schema = conn.introspect(opts).await;
    conn.close().await;
    schema
}

/// The first line of a statement, shortened, for messages.
fn abbreviate(sql: &str) -> String {
    let line = sql.trim().lines().next().unwrap_or("");
    if line.chars().count() > 80 {
        format!("{}...", line.chars().take(77).collect::<String>())
    } else {
        line.to_string()
    }
}

/// The values of `table`'s FLOAT columns (MariaDB/MySQL) at the edge of single
/// precision as the float they round to, exactly: the shortest decimal of the largest
/// float4 (PostgreSQL's `real` 3.4028235e38) is above FLT_MAX as a double, which is
/// how MariaDB reads it before its range check (1264 "Out of range"), while
/// 3.4028234663852886e38, the same float, goes in. Any other value rounds to the same
/// float either way and is written as it is.
fn as_single_floats(table: &Table, columns: &[String], rows: &mut [Row]) {
    let at: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            table
                .column(c)
                .is_some_and(|c| c.normalized_type == DataType::Float { bytes: 4 })
        })
        .map(|(i, _)| i)
        .collect();
    for row in rows.iter_mut() {
        for &i in &at {
            if let Some(Value::Float(f)) = row.get_mut(i) {
                let single = *f as f32;
                if f.abs() > f64::from(f32::MAX) && single.is_finite() {
                    *f = f64::from(single);
                }
            }
        }
    }
}

/// The values of `table`'s boolean columns as booleans: a SQLite source keeps what
/// the application wrote in a BOOLEAN column ('t', 'true', 2), which PostgreSQL's
/// boolean or MariaDB's tinyint(1) would refuse or take otherwise.
fn as_booleans(table: &Table, columns: &[String], rows: &mut [Row]) {
    let at: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| table.column(c).is_some_and(|c| c.normalized_type == DataType::Boolean))
        .map(|(i, _)| i)
        .collect();
    if at.is_empty() {
        return;
    }
    for row in rows {
        for &i in &at {
            let Some(v) = row.get_mut(i) else { continue };
            let b = match v {
                Value::Int(n) => *n != 0,
                Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                    "t" | "true" | "y" | "yes" | "on" | "1" => true,
                    "f" | "false" | "n" | "no" | "off" | "0" => false,
                    _ => continue,
                },
                _ => continue,
            };
            *v = Value::Bool(b);
        }
    }
}
