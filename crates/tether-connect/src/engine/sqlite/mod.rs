//! SQLite introspection through `PRAGMA` table functions.
//!
//! The pragmas do not report constraint names, deferrability or generation
//! expressions, so the `CREATE TABLE` text from `sqlite_master` is parsed for those;
//! when it does not parse, names are synthesized (`<table>_<cols>_fkey`, PostgreSQL's
//! convention) and the rest is left out. The text itself is kept as the table's
//! `definition`: a copy onto SQLite creates the table from it (generated columns,
//! AUTOINCREMENT, STRICT, WITHOUT ROWID, CHECKs, untyped columns as they were).

pub mod dialect;
pub mod rw;

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use sqlparser::ast::{ColumnOption, Expr, Statement, TableConstraint};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use tether_schema::{
    Column, DataType, FkAction, ForeignKey, Identity, Index, Schema, SchemaObjects, Sequence, Table, TableExtras,
    TableName, Trigger, UniqueKey, View,
};

use crate::error::ConnectError;
use crate::types;

/// Opens an existing SQLite file read-only.
pub fn open_read_only(path: &Path) -> Result<Connection, ConnectError> {
    if !path.is_file() {
        // Say where it looked: a relative path means little without its base.
        let looked = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        return Err(ConnectError::SqliteFileMissing(looked.display().to_string()));
    }
    Connection::open_with_flags(
        plain_path(path),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| ConnectError::Connect {
        url: format!("sqlite://{}", path.display()),
        message: e.to_string(),
    })
}

/// Opens an existing SQLite file to read it without leaving anything beside it: a
/// database in WAL mode opened read-only makes its `-wal` and `-shm` files, and cannot
/// remove them (review r24c F6). Where no `-wal` file is there, the file alone holds
/// the data, and it is opened `immutable` (no locks, no side files); else as
/// [`open_read_only`] does (the side files are there already).
pub fn open_as_found(path: &Path) -> Result<Connection, ConnectError> {
    let mut wal = plain_path(path).into_os_string();
    wal.push("-wal");
    if !path.is_file() || Path::new(&wal).exists() || path.as_os_str() == IN_MEMORY {
        return open_read_only(path);
    }
    // A URI of the absolute path, every byte but unreserved ones and `/` escaped.
    let mut uri = String::from("file:");
    for b in plain_path(path).as_os_str().as_encoded_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => uri.push(char::from(*b)),
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| ConnectError::Connect {
        url: format!("sqlite://{}", path.display()),
        message: e.to_string(),
    })
}

/// Begins a read transaction on `first` and on `more` new read-only connections to
/// `path`, all reading the same data. A read transaction's snapshot is fixed by its
/// first read (WAL mode), its shared lock taken then (rollback journal), so
/// connections begun one after another would each see the commits made before their
/// own first read. A read-write connection holds the writers off meanwhile (`BEGIN
/// IMMEDIATE`: SQLite's write lock, which readers pass) until every connection has
/// made its first read, then lets them go; it never writes.
///
/// Returns the new connections, or none when the writers cannot be held off (a file
/// Tether may not open for writing, a writer holding its lock past the wait): the
/// caller then reads on `first` alone, which is begun all the same.
pub fn pin_snapshots(first: &Connection, path: &Path, more: usize) -> Result<Vec<Connection>, ConnectError> {
    let url = || format!("sqlite://{}", path.display());
    let failed = |e: rusqlite::Error| ConnectError::Connect {
        url: url(),
        message: e.to_string(),
    };
    let holder = match more {
        0 => None,
        _ => hold_writers(path)
            .map_err(|e| tracing::info!("{}: reading on one connection: {e}", url()))
            .ok(),
    };
    let begin = |c: &Connection| -> rusqlite::Result<()> {
        c.execute_batch("BEGIN")?;
        c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .map(|_| ())
    };
    begin(first).map_err(failed)?;
    let mut pinned = Vec::new();
    if let Some(holder) = holder {
        for _ in 0..more {
            let c = open_read_only(path)?;
            begin(&c).map_err(failed)?;
            pinned.push(c);
        }
        // Nothing was written: the writers wait no longer.
        holder.execute_batch("ROLLBACK").map_err(failed)?;
    }
    Ok(pinned)
}

/// A read-write connection to an existing `path` holding SQLite's write lock, waiting
/// up to ten seconds for a writer that holds it.
fn hold_writers(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        plain_path(path),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.execute_batch("BEGIN IMMEDIATE")?;
    Ok(c)
}

/// `path` as SQLite must be given it to open that file: absolute. The bundled SQLite
/// reads any file name starting with `file:` as a URI (URI names are on by default
/// there, whatever the open flags say), so a relative `file:src.db` would open
/// `src.db`, not the file Tether's own checks (the source/destination identity) looked
/// at; an absolute path starts with `/`. [`IN_MEMORY`] stays as it is: SQLite opens a
/// new, empty in-memory database for it, and writes no file.
pub fn plain_path(path: &Path) -> std::path::PathBuf {
    if path.as_os_str() == IN_MEMORY {
        return path.to_path_buf();
    }
    std::path::absolute(path).unwrap_or_else(|_| Path::new(".").join(path))
}

/// The file name SQLite reads as "a new in-memory database" (no file is written).
pub const IN_MEMORY: &str = ":memory:";

/// A foreign key as written in `CREATE TABLE`.
struct DeclaredFk {
    name: Option<String>,
    columns: Vec<String>,
    parent: String,
    deferrable: bool,
    initially_deferred: bool,
}

/// A row of `pragma_foreign_key_list`: id, parent table, from, to, on_update, on_delete.
type FkRow = (i64, String, String, Option<String>, String, String);

/// What the pragmas do not tell, read from the `CREATE TABLE` text.
#[derive(Default)]
struct Declared {
    fks: Vec<DeclaredFk>,
    /// (name, columns) of UNIQUE constraints.
    uniques: Vec<(Option<String>, Vec<String>)>,
    generated: HashMap<String, String>,
}

fn unquote_expr(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn parse_declared(sql: &str) -> Declared {
    let mut d = Declared::default();
    let Ok(stmts) = Parser::parse_sql(&SQLiteDialect {}, sql) else {
        tracing::debug!("could not parse SQLite table definition; constraint names are synthesized");
        return d;
    };
    let Some(Statement::CreateTable(ct)) = stmts.into_iter().next() else {
        return d;
    };
    let last = |n: &sqlparser::ast::ObjectName| {
        n.0.last()
            .map(|p| p.to_string().trim_matches(['"', '`', '[', ']']).to_string())
            .unwrap_or_default()
    };
    let declared_fk = |name: Option<String>, columns: Vec<String>, fk: &sqlparser::ast::ForeignKeyConstraint| {
        let c = fk.characteristics.as_ref();
        DeclaredFk {
            name,
            columns,
            parent: last(&fk.foreign_table),
            deferrable: c.and_then(|c| c.deferrable).unwrap_or(false),
            initially_deferred: c
                .and_then(|c| c.initially)
                .is_some_and(|i| matches!(i, sqlparser::ast::DeferrableInitial::Deferred)),
        }
    };
    for col in &ct.columns {
        for opt in &col.options {
            match &opt.option {
                ColumnOption::ForeignKey(fk) => {
                    let name = opt.name.as_ref().or(fk.name.as_ref()).map(|i| i.value.clone());
                    d.fks.push(declared_fk(name, vec![col.name.value.clone()], fk));
                }
                ColumnOption::Unique(u) => {
                    let name = opt.name.as_ref().or(u.name.as_ref()).map(|i| i.value.clone());
                    d.uniques.push((name, vec![col.name.value.clone()]));
                }
                ColumnOption::Generated {
                    generation_expr: Some(e),
                    ..
                } => {
                    d.generated.insert(col.name.value.clone(), e.to_string());
                }
                _ => {}
            }
        }
    }
    for c in &ct.constraints {
        match c {
            TableConstraint::ForeignKey(fk) => {
                d.fks.push(declared_fk(
                    fk.name.as_ref().map(|i| i.value.clone()),
                    fk.columns.iter().map(|i| i.value.clone()).collect(),
                    fk,
                ));
            }
            TableConstraint::Unique(u) => d.uniques.push((
                u.name.as_ref().map(|i| i.value.clone()),
                u.columns.iter().map(|c| unquote_expr(&c.column.expr)).collect(),
            )),
            _ => {}
        }
    }
    d
}

fn partial_predicate(sql: Option<&str>) -> Option<String> {
    let stmts = Parser::parse_sql(&SQLiteDialect {}, sql?).ok()?;
    match stmts.into_iter().next()? {
        Statement::CreateIndex(ci) => ci.predicate.map(|p| p.to_string()),
        _ => None,
    }
}

fn action(text: &str) -> FkAction {
    FkAction::parse(text).unwrap_or(FkAction::NoAction)
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Reads the whole schema of an open database.
pub fn introspect(conn: &Connection, url: &str) -> Result<Schema, ConnectError> {
    let q = |what: &str| {
        let what = what.to_string();
        let url = url.to_string();
        move |e: rusqlite::Error| ConnectError::Query {
            url: url.clone(),
            what: what.clone(),
            message: e.to_string(),
        }
    };
    let mut stmt = conn
        .prepare(
            // (Not a sync's record of the triggers it suspended: `crate::SUSPENDED_TRIGGERS`.)
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND name <> '_tether_suspended_triggers' ORDER BY name",
        )
        .map_err(q("listing tables"))?;
    let listed: Vec<(String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(q("listing tables"))?;

    // AUTOINCREMENT tables' last keys handed out; the table exists once one was made.
    let has_sequences: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence')",
            [],
            |r| r.get(0),
        )
        .map_err(q("listing tables"))?;

    let mut tables = Vec::new();
    for (name, sql) in listed {
        if sql
            .as_deref()
            .is_some_and(|s| s.trim_start().to_ascii_uppercase().starts_with("CREATE VIRTUAL"))
        {
            continue;
        }
        let what = format!("reading table `{name}`");
        let declared = sql.as_deref().map(parse_declared).unwrap_or_default();

        // Columns: cid, name, type, notnull, dflt_value, pk, hidden.
        let mut cols: Vec<(String, String, bool, Option<String>, i64, i64)> = conn
            .prepare("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid")
            .and_then(|mut s| {
                s.query_map([&name], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get::<_, i64>(2)? != 0,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?
                .collect()
            })
            .map_err(q(&what))?;
        cols.retain(|c| c.5 != 1);
        // A WITHOUT ROWID table's INTEGER PRIMARY KEY is a plain column: nothing numbers it.
        let without_rowid: bool = conn
            .query_row(
                "SELECT coalesce((SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1), 0)",
                [&name],
                |r| r.get(0),
            )
            .map_err(q(&what))?;
        // `INTEGER PRIMARY KEY DESC` is no rowid alias (SQLite's quirk): a key that is not
        // the rowid has an index of its own (origin 'pk'), an alias has none.
        let pk_index: bool = conn
            .query_row(
                "SELECT count(*) > 0 FROM pragma_index_list(?1) WHERE origin = 'pk'",
                [&name],
                |r| r.get(0),
            )
            .map_err(q(&what))?;
        let mut pk: Vec<(i64, String)> = cols.iter().filter(|c| c.4 > 0).map(|c| (c.4, c.0.clone())).collect();
        pk.sort();
        let primary_key: Vec<String> = pk.into_iter().map(|(_, n)| n).collect();
        let columns = cols
            .iter()
            .map(|(cname, ctype, notnull, default, pkpos, hidden)| {
                let integer_key = primary_key.len() == 1 && *pkpos == 1 && ctype.eq_ignore_ascii_case("INTEGER");
                let rowid_alias = integer_key && !without_rowid && !pk_index;
                Column {
                    name: cname.clone(),
                    engine_type: ctype.clone(),
                    normalized_type: types::sqlite(ctype),
                    // Primary-key columns are treated as NOT NULL, as every other engine
                    // enforces; SQLite's legacy NULLs in non-integer keys are a documented bug.
                    // An INTEGER key that is no rowid alias holds NULL as SQLite lets it.
                    nullable: !notnull && (*pkpos == 0 || (integer_key && !rowid_alias && !without_rowid)),
                    default: if *hidden >= 2 { None } else { default.clone() },
                    identity: rowid_alias.then_some(Identity::AutoIncrement),
                    generated: (*hidden >= 2).then(|| declared.generated.get(cname).cloned().unwrap_or_default()),
                }
            })
            .collect::<Vec<Column>>();
        let last_key: Option<i64> = match has_sequences {
            true => conn
                .query_row("SELECT max(seq) FROM sqlite_sequence WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .map_err(q(&what))?,
            false => None,
        };
        let sequences = autoincrement(&columns, last_key);

        // Unique keys: every unique index except the primary key's.
        let indexes: Vec<(String, bool, String, bool)> = conn
            .prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name")
            .and_then(|mut s| {
                s.query_map([&name], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(2)?, r.get::<_, i64>(3)? != 0))
                })?
                .collect()
            })
            .map_err(q(&what))?;
        let mut unique_keys = Vec::new();
        for (iname, unique, origin, partial) in indexes {
            if !unique || origin == "pk" {
                continue;
            }
            let icols: Vec<Option<String>> = conn
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .and_then(|mut s| s.query_map([&iname], |r| r.get(0))?.collect())
                .map_err(q(&what))?;
            let Some(icols) = icols.into_iter().collect::<Option<Vec<String>>>() else {
                continue; // an expression index cannot be referenced by a foreign key
            };
            let (key_name, constraint) = if origin == "u" {
                let declared_name = declared
                    .uniques
                    .iter()
                    .find(|(_, c)| same_columns(c, &icols))
                    .and_then(|(n, _)| n.clone());
                (
                    declared_name.unwrap_or_else(|| format!("{name}_{}_key", icols.join("_"))),
                    true,
                )
            } else {
                (iname.clone(), false)
            };
            let predicate = if partial {
                let isql: Option<String> = conn
                    .query_row(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                        [&iname],
                        |r| r.get(0),
                    )
                    .map_err(q(&what))?;
                partial_predicate(isql.as_deref())
            } else {
                None
            };
            unique_keys.push(UniqueKey {
                name: key_name,
                columns: icols,
                constraint,
                predicate,
            });
        }

        // Foreign keys: id, seq, table, from, to, on_update, on_delete.
        let rows: Vec<FkRow> = conn
            .prepare("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq")
            .and_then(|mut s| {
                s.query_map([&name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
                    .collect()
            })
            .map_err(q(&what))?;
        let mut grouped: Vec<(i64, Vec<&FkRow>)> = Vec::new();
        for r in &rows {
            match grouped.last_mut() {
                Some((id, v)) if *id == r.0 => v.push(r),
                _ => grouped.push((r.0, vec![r])),
            }
        }
        let mut foreign_keys = Vec::new();
        for (_, parts) in grouped {
            let first = parts[0];
            let parent = first.1.clone();
            let columns: Vec<String> = parts.iter().map(|p| p.2.clone()).collect();
            let referenced_columns: Vec<String> = if parts.iter().all(|p| p.3.is_some()) {
                parts.iter().map(|p| p.3.clone().unwrap_or_default()).collect()
            } else {
                // `REFERENCES parent` without columns means the parent's primary key.
                conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
                    .and_then(|mut s| s.query_map([&parent], |r| r.get(0))?.collect())
                    .map_err(q(&what))?
            };
            let decl = declared
                .fks
                .iter()
                .find(|d| same_columns(&d.columns, &columns) && d.parent.eq_ignore_ascii_case(&parent));
            foreign_keys.push(ForeignKey {
                name: decl
                    .and_then(|d| d.name.clone())
                    .unwrap_or_else(|| format!("{name}_{}_fkey", columns.join("_"))),
                columns,
                referenced_table: parent,
                referenced_schema: None,
                referenced_columns,
                on_delete: action(&first.5),
                on_update: action(&first.4),
                deferrable: decl.is_some_and(|d| d.deferrable),
                initially_deferred: decl.is_some_and(|d| d.initially_deferred),
                is_virtual: false,
                delete_set_columns: Vec::new(),
                match_full: false,
                not_valid: false,
                partition: None,
            });
        }
        let definition = sql.filter(|s| s.to_ascii_uppercase().starts_with("CREATE TABLE"));
        tables.push(Table {
            name,
            schema: None,
            columns,
            primary_key,
            unique_keys,
            foreign_keys,
            extras: TableExtras {
                definition,
                sequences,
                ..Default::default()
            },
            ..Default::default()
        });
    }
    resolve_parent_case(&mut tables);
    type_untyped_fk_columns(&mut tables);
    let objects = read_objects(conn, &mut tables).map_err(q("reading indexes, triggers and views"))?;
    let mut schema = Schema {
        engine: tether_schema::Engine::Sqlite,
        default_schema: None,
        tables,
        objects,
    };
    schema.sort();
    Ok(schema)
}

/// Indexes made by `CREATE [UNIQUE] INDEX`, triggers and views, with their `CREATE`
/// statements as SQLite keeps them.
fn read_objects(conn: &Connection, tables: &mut [Table]) -> rusqlite::Result<SchemaObjects> {
    let mut stmt = conn.prepare(
        "SELECT m.type, m.name, m.tbl_name, m.sql FROM sqlite_master m \
         WHERE m.type IN ('index', 'trigger', 'view') AND m.sql IS NOT NULL ORDER BY m.type, m.name",
    )?;
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let known: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut objects = SchemaObjects::default();
    let mut on_views: Vec<(String, String, String)> = Vec::new();
    for (kind, name, table, sql) in rows {
        let t = tables.iter_mut().find(|t| t.name.eq_ignore_ascii_case(&table));
        match (kind.as_str(), t) {
            ("index", Some(t)) => {
                let (unique, partial): (bool, bool) = conn.query_row(
                    "SELECT \"unique\", partial FROM pragma_index_list(?1) WHERE name = ?2",
                    [&t.name, &name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                // A unique one is also a unique key of the model (an FK may refer to it);
                // kept here for its own statement (predicate, expressions, collations).
                let mut info = conn.prepare("SELECT cid, name FROM pragma_index_info(?1) ORDER BY seqno")?;
                let parts: Vec<(i64, Option<String>)> = info
                    .query_map([&name], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let expression = parts.iter().any(|(cid, _)| *cid < 0);
                t.extras.indexes.push(Index {
                    name,
                    columns: if expression {
                        vec![]
                    } else {
                        parts.into_iter().filter_map(|(_, n)| n).collect()
                    },
                    unique,
                    method: "btree".into(),
                    predicate: partial
                        .then(|| sql.rsplit_once(" WHERE ").map_or(String::new(), |(_, w)| w.to_string())),
                    definition: sql,
                    comment: None,
                });
            }
            ("trigger", Some(t)) => t.extras.triggers.push(Trigger {
                name,
                definition: sql,
                function: None,
            }),
            ("view", _) => {
                // The tables (and views) the definition names, as whole words.
                let lower = sql.to_ascii_lowercase();
                let words: Vec<&str> = lower
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .collect();
                let body_starts = words.iter().position(|w| *w == "as").map_or(0, |i| i + 1);
                let reads = known
                    .iter()
                    .filter(|k| words[body_starts..].contains(&k.to_ascii_lowercase().as_str()))
                    .map(|k| TableName::new(None, k))
                    .collect();
                objects.views.push(View {
                    schema: None,
                    name,
                    definition: sql,
                    materialized: false,
                    reads,
                    functions: Vec::new(),
                    indexes: Vec::new(),
                    extensions: Vec::new(),
                    comment: None,
                    triggers: Vec::new(),
                    rules: Vec::new(),
                });
            }
            // A trigger on a view (INSTEAD OF): listed before the views, attached below.
            ("trigger", None) => on_views.push((table, name, sql)),
            _ => {}
        }
    }
    for (view, name, sql) in on_views {
        if let Some(v) = objects.views.iter_mut().find(|v| v.name.eq_ignore_ascii_case(&view)) {
            v.triggers.push(Trigger {
                name,
                definition: sql,
                function: None,
            });
        }
    }
    Ok(objects)
}

/// The state of an AUTOINCREMENT table's key (its row of `sqlite_sequence`, which
/// SQLite keeps so that a deleted last key is never handed out again), as the sequence
/// of its rowid column.
fn autoincrement(columns: &[Column], last_key: Option<i64>) -> Vec<Sequence> {
    let (Some(last), Some(c)) = (last_key, columns.iter().find(|c| c.identity.is_some())) else {
        return Vec::new();
    };
    vec![Sequence::sqlite_autoincrement(&c.name, Some(last))]
}

/// A column declared without a type (`pid REFERENCES parent`) that is part of a foreign
/// key takes the type of the column it references, as SQLite compares them: every
/// engine's copy can then create the key. So does a typed one of another kind than its
/// parent's (`p_id TEXT REFERENCES p(id)` with an INTEGER `id`): SQLite applies the
/// parent column's affinity before comparing, so `'5'` matches `5`, where PostgreSQL
/// refuses an FK between text and bigint (42804) and MariaDB one between text and int
/// (errno 150). `engine_type` keeps the declared name (a SQLite copy is built from the
/// definition). A parent column without a type passes on its own parent's (followed a
/// few steps; cycles stop there).
fn type_untyped_fk_columns(tables: &mut [Table]) {
    let untyped = |ty: &DataType| matches!(ty, DataType::Other(a) if a == "any");
    // Types an FK can join on every engine: integers with integers, text with text.
    let kind = |ty: &DataType| match ty {
        DataType::Int { .. } => "integer".to_string(),
        t if t.is_text() => "text".to_string(),
        DataType::Decimal { .. } => "decimal".to_string(),
        DataType::Float { .. } => "float".to_string(),
        DataType::Binary { .. } => "binary".to_string(),
        other => other.to_string(),
    };
    for _ in 0..8 {
        let mut found: Vec<(usize, usize, DataType)> = Vec::new();
        for (ti, t) in tables.iter().enumerate() {
            for fk in &t.foreign_keys {
                let Some(parent) = tables.iter().find(|p| p.name == fk.referenced_table) else {
                    continue;
                };
                for (col, referenced) in fk.columns.iter().zip(&fk.referenced_columns) {
                    let Some(ci) = t.columns.iter().position(|c| &c.name == col) else {
                        continue;
                    };
                    let c = &t.columns[ci];
                    let Some(pc) = parent.column(referenced) else { continue };
                    if untyped(&pc.normalized_type) {
                        continue;
                    }
                    let bare = c.engine_type.trim().is_empty() && untyped(&c.normalized_type);
                    let other_kind =
                        !untyped(&c.normalized_type) && kind(&c.normalized_type) != kind(&pc.normalized_type);
                    if bare || other_kind {
                        found.push((ti, ci, pc.normalized_type.clone()));
                    }
                }
            }
        }
        if found.is_empty() {
            return;
        }
        for (ti, ci, ty) in found {
            tables[ti].columns[ci].normalized_type = ty;
        }
    }
}

/// SQLite matches table names case-insensitively; spell each FK's parent as the
/// parent table spells itself, so the graph finds it.
fn resolve_parent_case(tables: &mut [Table]) {
    let spelled: Vec<(String, Vec<String>)> = tables
        .iter()
        .map(|t| (t.name.clone(), t.columns.iter().map(|c| c.name.clone()).collect()))
        .collect();
    for t in tables.iter_mut() {
        for fk in &mut t.foreign_keys {
            let Some((name, columns)) = spelled
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&fk.referenced_table))
            else {
                continue;
            };
            fk.referenced_table = name.clone();
            for rc in &mut fk.referenced_columns {
                if let Some(c) = columns.iter().find(|c| c.eq_ignore_ascii_case(rc)) {
                    *rc = c.clone();
                }
            }
        }
    }
}
