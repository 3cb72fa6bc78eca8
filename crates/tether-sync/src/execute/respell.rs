//! Children spelling their parent's key otherwise than the parent does ('ABC' for
//! 'abc', 'k' for 'k '), which the source's own comparison lets through (MariaDB's
//! `_ci` and PAD SPACE collations, PostgreSQL citext and explicit collations, SQLite
//! NOCASE/RTRIM). A destination comparing bytes would reject or orphan them, and a
//! transformer would map 'ABC' and 'abc' apart. Before loading, one query per such FK
//! on the source (the FK's own join, then bytes compared) finds the child values spelt
//! otherwise; while loading they are written with their parent's spelling, which the
//! source compares equal to them. The common case (none) costs that one query.

use std::collections::HashMap;

use tether_connect::{Batch, Connection, Engine, Value};
use tether_schema::value::describe_key;
use tether_schema::{DataType, ForeignKey, Table, TableName};

use super::Progress;
use crate::error::SyncError;
use crate::plan::{Plan, TablePlan};

/// One FK's child values spelt otherwise than their parent's key.
struct Respelling {
    /// The FK's columns, and their positions in the child's source row.
    columns: Vec<String>,
    positions: Vec<usize>,
    /// The child's values (in FK column order) -> the parent's spelling of them.
    map: HashMap<Vec<Value>, Vec<Value>>,
}

/// Per child table, the FKs whose values are written with their parent's spelling.
#[derive(Default)]
pub struct Respellings(HashMap<TableName, Vec<Respelling>>);

impl Respellings {
    /// True when some rows of `table` may be written otherwise than read.
    pub fn touches(&self, table: &TableName) -> bool {
        self.0.contains_key(table)
    }

    /// Rewrites, in `table`'s rows, each FK value the source matched to a parent key of
    /// other bytes as that key.
    pub fn apply(&self, table: &TableName, batch: &mut Batch) {
        let Some(list) = self.0.get(table) else { return };
        for r in list {
            for row in batch.iter_mut() {
                let key: Vec<Value> = r.positions.iter().map(|&i| row[i].clone()).collect();
                if let Some(parent) = r.map.get(&key) {
                    for (&i, v) in r.positions.iter().zip(parent) {
                        row[i] = v.clone();
                    }
                }
            }
        }
    }
}

/// Finds the child values to respell, for the FKs between copied tables whose child
/// values a destination would not match to their parent as the source does: the FK's
/// columns are transformed (a transformer maps bytes), or a destination of another
/// engine compares otherwise ([`matched_there`]). Each FK respelt is reported.
pub async fn find(
    plan: &Plan,
    source: &mut Connection,
    dest_engines: &[Engine],
    progress: &dyn Progress,
) -> Result<Respellings, SyncError> {
    let mut out = Respellings::default();
    let engine = source.dialect().engine();
    let other_engine = dest_engines.iter().any(|e| *e != engine);
    for tp in &plan.tables {
        for fk in &tp.table.foreign_keys {
            let Some(parent) = plan
                .tables
                .iter()
                .find(|p| p.table.table_name() == fk.referenced_name())
            else {
                continue;
            };
            let transformed = fk.columns.iter().any(|c| tp.transforms.iter().any(|t| &t.column == c));
            let mut found = Vec::new();
            if (other_engine || transformed) && loose(engine, &parent.table, fk) {
                let needed = |child: &[Value], parent: &[Value]| {
                    transformed
                        || dest_engines
                            .iter()
                            .any(|&to| to != engine && !matched_there(engine, to, child, parent))
                };
                found.extend(respelling(tp, &parent.table, fk, source, &needed, progress).await?);
            }
            // The parent's own FK columns respelt, where this FK references them (a key
            // such as (pcode, n) of a child of p): this FK's columns follow, after
            // taking the parent's source spelling above (tables come parents first).
            for r in out.0.get(&parent.table.table_name()).into_iter().flatten() {
                let Some(names) = r
                    .columns
                    .iter()
                    .map(|c| Some(fk.columns[fk.referenced_columns.iter().position(|x| x == c)?].clone()))
                    .collect::<Option<Vec<String>>>()
                else {
                    continue;
                };
                progress.phase(&format!(
                    "{}: FK {} ({}) -> {}({}): written with the spelling {} takes from its parent",
                    tp.name,
                    fk.name,
                    names.join(", "),
                    parent.name,
                    r.columns.join(", "),
                    parent.name
                ));
                found.push(Respelling {
                    positions: positions(&tp.table, &names),
                    columns: names,
                    map: r.map.clone(),
                });
            }
            if !found.is_empty() {
                out.0.entry(tp.table.table_name()).or_default().extend(found);
            }
        }
    }
    Ok(out)
}

/// The positions of the columns `names` in `table`'s rows.
fn positions(table: &Table, names: &[String]) -> Vec<usize> {
    names
        .iter()
        .map(|name| {
            table
                .columns
                .iter()
                .position(|c| &c.name == name)
                .expect("an FK's columns are columns of its table")
        })
        .collect()
}

/// Whether the source may match a child value of `fk` to a parent key of other bytes:
/// a text column pair, compared by the engine's default (MariaDB: every collation pads
/// spaces, most ignore case), a citext or an explicit collation (PostgreSQL), or a
/// declared collation (SQLite).
fn loose(engine: Engine, parent: &Table, fk: &ForeignKey) -> bool {
    fk.referenced_columns.iter().any(|name| {
        let Some(c) = parent.column(name) else { return false };
        if !c.normalized_type.is_text() && !matches!(c.normalized_type, DataType::Other(_)) {
            return false;
        }
        let x = &parent.extras;
        match engine {
            Engine::Mysql => c.normalized_type.is_text(),
            Engine::Postgres => {
                x.collations.contains_key(name)
                    || x.extension_types
                        .get(name)
                        .is_some_and(|ty| ty == "citext" || ty.ends_with(".citext"))
                    || c.engine_type.contains("citext")
            }
            Engine::Sqlite => x
                .definition
                .as_deref()
                .is_some_and(|d| d.to_ascii_lowercase().contains("collate")),
        }
    })
}

/// Whether a destination of engine `to` matches `child` to `parent` without help: a
/// PostgreSQL citext or nondeterministic column is created caseless on the others
/// (`schema_plan` `caseless`): SQLite's NOCASE folds ASCII letters only, MariaDB's
/// `utf8mb4_unicode_ci` folds case and pads spaces. Anything else compares bytes there.
fn matched_there(from: Engine, to: Engine, child: &[Value], parent: &[Value]) -> bool {
    let pairs = || child.iter().zip(parent);
    let text_pairs = |same: &dyn Fn(&str, &str) -> bool| {
        pairs().all(|(c, p)| match (c, p) {
            (Value::Text(c), Value::Text(p)) => same(c, p),
            (c, p) => c == p,
        })
    };
    match (from, to) {
        (Engine::Postgres, Engine::Sqlite) => text_pairs(&|c, p| c.eq_ignore_ascii_case(p)),
        (Engine::Postgres, Engine::Mysql) => {
            text_pairs(&|c, p| c.trim_end_matches(' ').to_lowercase() == p.trim_end_matches(' ').to_lowercase())
        }
        _ => false,
    }
}

/// SQL true when `a` and `b` hold the same bytes (the source's own collation set aside).
fn same_bytes(engine: Engine, a: &str, b: &str) -> String {
    match engine {
        Engine::Mysql => format!("CAST({a} AS BINARY) = CAST({b} AS BINARY)"),
        Engine::Postgres => format!("({a})::text COLLATE \"C\" = ({b})::text COLLATE \"C\""),
        Engine::Sqlite => format!("{a} = {b} COLLATE BINARY"),
    }
}

/// SQL giving the bytes of text `x` in hexadecimal: DISTINCT keeps apart what the
/// source's collation would fold together ('k' and 'k  ', 'ÉMILE' and 'émile').
fn hex_of(engine: Engine, x: &str) -> String {
    match engine {
        Engine::Mysql | Engine::Sqlite => format!("hex({x})"),
        Engine::Postgres => format!("encode(convert_to(({x})::text, 'UTF8'), 'hex')"),
    }
}

/// The child values of `fk` that the source matches to a parent key of other bytes,
/// with that key; None when there are none.
async fn respelling(
    tp: &TablePlan,
    parent: &Table,
    fk: &ForeignKey,
    source: &mut Connection,
    needed: &dyn Fn(&[Value], &[Value]) -> bool,
    progress: &dyn Progress,
) -> Result<Option<Respelling>, SyncError> {
    let d = source.dialect();
    let engine = d.engine();
    let pairs: Vec<(String, String)> = fk
        .columns
        .iter()
        .zip(&fk.referenced_columns)
        .map(|(c, p)| (format!("c.{}", d.ident(c)), format!("p.{}", d.ident(p))))
        .collect();
    // The parent's column on the left: SQLite compares with its collation, as its FK
    // check does (the others compare by the column pair's collation).
    let on: Vec<String> = pairs.iter().map(|(c, p)| format!("{p} = {c}")).collect();
    let text_pairs: Vec<&(String, String)> = fk
        .columns
        .iter()
        .zip(&pairs)
        .filter(|(name, _)| {
            tp.table
                .column(name)
                .is_some_and(|c| c.normalized_type.is_text() || matches!(c.normalized_type, DataType::Other(_)))
        })
        .map(|(_, pair)| pair)
        .collect();
    if text_pairs.is_empty() {
        return Ok(None);
    }
    let differ: Vec<String> = text_pairs.iter().map(|(c, p)| same_bytes(engine, c, p)).collect();
    let hex: Vec<String> = text_pairs.iter().map(|(c, _)| hex_of(engine, c)).collect();
    let sql = format!(
        "SELECT DISTINCT {}, {}, {} FROM {} c JOIN {} p ON {} WHERE NOT ({})",
        pairs.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", "),
        pairs.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(", "),
        hex.join(", "),
        d.own_rows(&tp.table),
        d.own_rows(parent),
        on.join(" AND "),
        differ.join(" AND ")
    );
    let mut types: Vec<DataType> = Vec::new();
    for (names, t) in [(&fk.columns, &tp.table), (&fk.referenced_columns, parent)] {
        for n in names {
            let c = t.column(n).ok_or_else(|| {
                SyncError::Plan(format!("{}: FK {}: column {n} is not in {}", tp.name, fk.name, t.name))
            })?;
            types.push(c.normalized_type.clone());
        }
    }
    types.extend(hex.iter().map(|_| DataType::Text));
    let rows = source.query(&sql, &types).await.map_err(|e| {
        SyncError::Plan(format!(
            "{}: FK {}: cannot look for child values spelt otherwise than their parent key: {e}",
            tp.name, fk.name
        ))
    })?;
    if rows.is_empty() {
        return Ok(None);
    }
    let n = fk.columns.len();
    let mut map = HashMap::new();
    for mut row in rows {
        row.truncate(2 * n);
        let parent_key = row.split_off(n);
        if needed(&row, &parent_key) {
            map.insert(row, parent_key);
        }
    }
    if map.is_empty() {
        return Ok(None);
    }
    let (child, parent_key) = map.iter().next().expect("not empty");
    progress.phase(&format!(
        "{}: FK {} ({}) -> {}({}): {} value(s) spelt otherwise than the parent key the source matches them to \
         (its collation ignores case or trailing spaces) are written with the parent's spelling, e.g. {} -> {}",
        tp.name,
        fk.name,
        fk.columns.join(", "),
        parent.name,
        fk.referenced_columns.join(", "),
        map.len(),
        describe_key(&fk.columns, child),
        describe_key(&fk.referenced_columns, parent_key),
    ));
    Ok(Some(Respelling {
        columns: fk.columns.clone(),
        positions: positions(&tp.table, &fk.columns),
        map,
    }))
}
