//! The streaming pipeline: rows read from the source in batches, through bounded
//! channels, transformed, fanned out to a writer per destination. Tables load in plan
//! order, level by level over the lanes; a breakable cycle loads with its breaking FK
//! columns NULL, then UPDATEs set them; an unbreakable one with the destination's checks
//! deferred or suspended around it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use tether_connect::value::describe_key;
use tether_connect::{Batch, Conflict, Connection, DeferredChecks, Filter, ReadSpec, Row, Value};
use tether_schema::Table;
use tokio::sync::mpsc;

use super::destination::begin_deferred;
use super::narrow::Narrow;
use super::respell::Respellings;
use super::{Destination, Progress, TableReport};
use crate::error::SyncError;
use crate::plan::{row_key, CycleStrategy, Plan, Rows, TablePlan};
use crate::subset::Subset;

/// One set of connections that loads one table (or one cycle) at a time: a source
/// connection in the job's snapshot and a connection to every destination.
pub struct Lane {
    pub source: Connection,
    pub dests: Vec<Destination>,
}

/// What anonymization needs while loading: the seed, the key maps of
/// non-deterministic generators, and the leak figures collected.
pub struct Anon {
    pub seed: Option<tether_transform::Seed>,
    pub maps: crate::anonymize::KeyMaps,
    pub leaks: Mutex<Vec<crate::anonymize::Leak>>,
    /// The MariaDB/MySQL collations transformed unique keys land in ([`super::collate`]).
    pub collations: super::Collations,
}

/// How one destination writes one table.
struct TableWrite {
    dest_table: Table,
    /// Positions (in the source row) of the columns written, and their names.
    positions: Vec<usize>,
    columns: Vec<String>,
    key: Vec<String>,
    /// The source's table has a primary or unique key (else `key` is every column).
    keyed: bool,
    key_positions: Vec<usize>,
    /// The key the cycle's UPDATEs find a row by ([`fixup_key`]), and its positions.
    fixup_key: Vec<String>,
    fixup_key_positions: Vec<usize>,
    /// Positions (in the source row) of the cycle-breaking FK columns written NULL.
    nulled: Vec<usize>,
    nulled_names: Vec<String>,
    /// Where each of `nulled` is in the written row (None: a column not written).
    nulled_out: Vec<Option<usize>>,
    /// The FKs `nulled` breaks, for `update`: a row whose parents the destination holds
    /// already is written complete, and a row already there keeps its values of
    /// `nulled` until the cycle's UPDATE (never NULL over them: a failure or a stop
    /// before that UPDATE would leave them so).
    breaks: Vec<Break>,
    conflict: Conflict,
    /// Columns (position in the source row, name) of a destination table whose type
    /// differs from the source's, where the destination would store some values
    /// changed without an error: each such value stops the job.
    narrowed: Vec<(usize, String, Narrow)>,
    /// Positions of SQLite FK columns declared as another type than their parent's
    /// integer key, whose type they took (the introspection): SQLite compares 2.0 and
    /// '2' with the key 2, another engine's integer column refuses them as written.
    integral: Vec<usize>,
    /// MariaDB/MySQL ENUM columns a SQLite or PostgreSQL destination holds as text with a
    /// CHECK of their labels: (the CHECK's name, the column, its source type), to say what a
    /// rejection by that CHECK means ([`enum_refused`]).
    enum_checks: Vec<(String, String, String)>,
}

/// A cycle-breaking FK of a table, as [`TableWrite::breaks`] looks its parents up.
struct Break {
    /// Positions (in the source row) of its columns.
    positions: Vec<usize>,
    /// The destination's parent table (None: not a table of the job there).
    parent: Option<Table>,
    referenced: Vec<String>,
}

/// The destination's table `fk` of `child` references, among the job's tables. `fk` is
/// the source's FK of the source's `child` (`dest.tables` is keyed by the source's
/// names) or the destination's own FK of a destination table, which names its parent as
/// the destination does: another name when the engines differ (a PostgreSQL source's
/// `public.up` is `up` on SQLite and MariaDB; a SQLite source's `up` is `public.up` on
/// PostgreSQL; `s.up` outside the default schema is `s_up`), so such an FK is matched
/// against the destination's names, never the source's: looked up by the source's
/// alone, it found no parent and each check built on it was skipped (review r25e F1).
fn parent_table(dest: &Destination, child: &Table, fk: &tether_schema::ForeignKey) -> Option<Table> {
    let named = fk.referenced_name();
    if let Some(t) = dest.tables.get(&named) {
        return Some(t.clone());
    }
    // (An FK naming no schema references a table of its own table's schema.)
    let mut own = named.clone();
    if own.schema.is_none() {
        own.schema = child.table_name().schema;
    }
    if let Some(t) = dest.tables.get(&own) {
        return Some(t.clone());
    }
    dest.tables
        .values()
        .find(|t| {
            let there = t.table_name();
            there == named || there == own
        })
        .cloned()
}

fn table_write(dest: &Destination, tp: &TablePlan, from: tether_connect::Engine) -> TableWrite {
    let dest_table = dest.tables[&tp.table.table_name()].clone();
    let mut positions = Vec::new();
    let mut columns = Vec::new();
    for (i, c) in tp.table.columns.iter().enumerate() {
        let dc = dest_table
            .column(&c.name)
            .expect("columns were checked when the destination was prepared");
        if dc.generated.is_none() {
            positions.push(i);
            columns.push(c.name.clone());
        }
    }
    let key = row_key(&tp.table);
    let pos_of = |name: &String| {
        tp.table
            .columns
            .iter()
            .position(|c| &c.name == name)
            .expect("key columns exist")
    };
    let key_positions = key.iter().map(pos_of).collect();
    let fixup_key = fixup_key(&tp.table);
    let fixup_key_positions = fixup_key.iter().map(pos_of).collect();
    let mut nulled_names: Vec<String> = Vec::new();
    // With checks off there is nothing to break: values are written as they are.
    if !dest.fk_free() {
        for fk_name in &tp.break_fks {
            if let Some(fk) = tp.table.foreign_keys.iter().find(|f| &f.name == fk_name) {
                // A NOT NULL column stays: under MATCH SIMPLE one NULL column switches
                // a composite FK off (a `MATCH FULL` one breaks only when all are nullable).
                for c in &fk.columns {
                    let nullable = tp.table.column(c).is_none_or(|x| x.nullable);
                    if nullable && !nulled_names.contains(c) && !key.contains(c) && !fixup_key.contains(c) {
                        nulled_names.push(c.clone());
                    }
                }
            }
        }
    }
    let nulled: Vec<usize> = nulled_names.iter().map(pos_of).collect();
    let nulled_out = nulled.iter().map(|i| positions.iter().position(|p| p == i)).collect();
    let breaks = match nulled.is_empty() {
        true => Vec::new(),
        false => tp
            .break_fks
            .iter()
            .filter_map(|n| tp.table.foreign_keys.iter().find(|f| &f.name == n))
            .map(|fk| Break {
                positions: fk.columns.iter().map(pos_of).collect(),
                parent: parent_table(dest, &tp.table, fk),
                referenced: fk.referenced_columns.clone(),
            })
            .collect(),
    };
    let engine = dest.conn.engine();
    let narrowed = positions
        .iter()
        .flat_map(|&i| {
            let c = &tp.table.columns[i];
            let found = dest_table
                .column(&c.name)
                .map(|dc| Narrow::of(from, engine, c, dc, &dest_table))
                .unwrap_or_default();
            found.into_iter().map(move |n| (i, c.name.clone(), n))
        })
        .collect();
    let integral = match (from, engine) {
        (tether_connect::Engine::Sqlite, e) if e != tether_connect::Engine::Sqlite => positions
            .iter()
            .copied()
            .filter(|&i| {
                let c = &tp.table.columns[i];
                c.normalized_type.is_integer() && !tether_connect::types::sqlite(&c.engine_type).is_integer()
            })
            .collect(),
        _ => Vec::new(),
    };
    // (Named as the schema plan names the CHECK it maps an ENUM to.)
    let enum_checks = match (from, engine) {
        (tether_connect::Engine::Mysql, tether_connect::Engine::Sqlite | tether_connect::Engine::Postgres) => tp
            .table
            .columns
            .iter()
            .filter(|c| c.engine_type.starts_with("enum("))
            .map(|c| {
                let check = format!("{}_{}_check", dest_table.name, c.name);
                (check, c.name.clone(), c.engine_type.clone())
            })
            .collect(),
        _ => Vec::new(),
    };
    TableWrite {
        dest_table,
        positions,
        columns,
        key,
        keyed: !tp.table.primary_key.is_empty() || tp.table.unique_keys.iter().any(|u| u.predicate.is_none()),
        key_positions,
        fixup_key,
        fixup_key_positions,
        nulled,
        nulled_names,
        nulled_out,
        breaks,
        conflict: dest.spec.on_conflict,
        narrowed,
        integral,
        enum_checks,
    }
}

/// The first row of `batch` (its index), column and reason where the destination
/// would store a value changed ([`Narrow`]); None at once for most tables.
fn first_changed<'w>(w: &'w TableWrite, batch: &Batch) -> Option<(usize, &'w str, Narrow, String)> {
    if w.narrowed.is_empty() {
        return None;
    }
    batch.iter().enumerate().find_map(|(at, row)| {
        w.narrowed
            .iter()
            .find_map(|(i, column, narrow)| Some((at, column.as_str(), *narrow, narrow.changes(&row[*i])?)))
    })
}

/// `v` as the integer SQLite compares it with: 2.0 and '2.0' are 2; anything else
/// stays as it is (the destination refuses it, naming the row).
fn as_integral(v: &mut Value) {
    let whole = |f: f64| (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64);
    let n = match v {
        Value::Float(f) => whole(*f),
        Value::Text(t) => t
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| t.trim().parse::<f64>().ok().and_then(whole)),
        _ => None,
    };
    if let Some(n) = n {
        *v = Value::Int(n);
    }
}

type Fixups = Vec<(Row, Row)>;

/// The key a breakable cycle's UPDATEs find a row by: the row key ([`Table::row_key`]:
/// the primary key, else the first unique key (not partial) whose columns are all NOT
/// NULL, else the first unique key), whose columns may then hold NULL in some rows
/// ([`null_keyed_cycles`] refuses those). `WHERE key = NULL` matches nothing: a row
/// with NULL in it would keep its FK NULL.
pub(crate) fn fixup_key(t: &Table) -> Vec<String> {
    t.row_key()
}

/// The tables of a breakable cycle where some row the job copies holds NULL in the key
/// its FK columns are set again by ([`fixup_key`]) and a value in those columns: on a
/// destination checking FKs while loading, that row could not be found by the UPDATE
/// and would keep the FK NULL. One message per table, naming it, its key and the FK.
/// A full copy asks the source about the whole table; a subset looks at the rows it
/// chose ([`subset_holds_null_keyed`]), so rows it does not copy refuse nothing. Without
/// a subset (`None`: planning, before any row is chosen) a subset's tables are left out.
pub(crate) async fn null_keyed_cycles(
    plan: &Plan,
    subset: Option<&Subset>,
    source: &mut Connection,
) -> Result<Vec<String>, SyncError> {
    let mut found = Vec::new();
    for tp in plan.tables.iter().filter(|tp| !tp.break_fks.is_empty()) {
        let key = fixup_key(&tp.table);
        let nullable: Vec<&String> = key
            .iter()
            .filter(|c| tp.table.column(c).is_none_or(|x| x.nullable))
            .collect();
        if nullable.is_empty() {
            continue;
        }
        let fks: Vec<&tether_schema::ForeignKey> = tp
            .table
            .foreign_keys
            .iter()
            .filter(|f| tp.break_fks.contains(&f.name))
            .collect();
        // The columns loaded NULL and set by the UPDATE: a NOT NULL FK column is written
        // as it is (a composite MATCH SIMPLE FK breaks on its nullable columns), so a
        // value there needs no UPDATE (review r22n F1).
        let set: Vec<&String> = fks
            .iter()
            .flat_map(|f| &f.columns)
            .filter(|c| !key.contains(c) && tp.table.column(c).is_none_or(|x| x.nullable))
            .collect();
        if set.is_empty() {
            continue;
        }
        let chosen = match (tp.rows, subset) {
            (Rows::Subset, Some(subset)) => subset_holds_null_keyed(&tp.table, subset, &key, &nullable, &set),
            (Rows::Subset, None) => continue,
            (Rows::All, _) => None,
        };
        if chosen == Some(false) {
            continue;
        }
        let d = source.dialect();
        let null: Vec<String> = nullable.iter().map(|c| format!("{} IS NULL", d.ident(c))).collect();
        let value: Vec<String> = set.iter().map(|c| format!("{} IS NOT NULL", d.ident(c))).collect();
        let sql = format!(
            "SELECT 1 FROM {} WHERE ({}) AND ({}) LIMIT 1",
            d.own_rows(&tp.table),
            null.join(" OR "),
            value.join(" OR ")
        );
        if chosen.is_none() && source.query(&sql, &[]).await?.is_empty() {
            continue;
        }
        found.push(format!(
            "table {}: the cycle {} is broken on FK {} (loaded NULL, then set by UPDATE ... WHERE ({}) = ...), but \
             rows {} hold NULL in ({}) and a value in ({}): NULL matches no row, so they would keep \
             NULL there. Give {} a primary key or a NOT NULL unique key, or set checks = \"verify\" on the \
             destination (loaded with FK checks off, nothing is broken)",
            tp.name,
            tp.cycle
                .map(|c| plan.cycles[c].tables.join(" <-> "))
                .unwrap_or_default(),
            fks.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", "),
            key.join(", "),
            match chosen {
                Some(_) => "the subset chose",
                None => "of the source",
            },
            nullable.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
            set.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "),
            tp.name,
        ));
    }
    Ok(found)
}

/// Whether a row the subset chose of `table` holds NULL in one of `nullable` (columns
/// of `key`, the subset's row key) and a value in one of `set`; `None` when the subset
/// cannot tell (a key other than the subset's, or rows with a NULL key not kept), and
/// the source is asked about the whole table.
fn subset_holds_null_keyed(
    table: &Table,
    subset: &Subset,
    key: &[String],
    nullable: &[&String],
    set: &[&String],
) -> Option<bool> {
    let name = table.table_name();
    if key != row_key(table).as_slice() {
        return None;
    }
    let at = |cols: &[&String], within: &[String]| -> Option<Vec<usize>> {
        cols.iter().map(|c| within.iter().position(|x| x == *c)).collect()
    };
    let in_key = at(nullable, key)?;
    // No chosen key has a NULL there: no chosen row does.
    let keys = subset.keys.get(&name)?;
    if !keys.iter().any(|k| in_key.iter().any(|&i| k[i].is_null())) {
        return Some(false);
    }
    // Rows with a NULL key are kept with every column (no key reads them again).
    let columns: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let null_at = at(nullable, &columns)?;
    let set_at = at(set, &columns)?;
    subset.with_kept_rows(&name, |rows| {
        rows.iter()
            .any(|r| null_at.iter().any(|&i| r[i].is_null()) && set_at.iter().any(|&i| !r[i].is_null()))
    })
}

/// The indexes (into `keys`) of the keys the destination's `table` holds in `columns`,
/// compared by the destination (its collation, as its unique key compares).
async fn held(
    conn: &mut Connection,
    table: &Table,
    columns: &[String],
    keys: &[&Row],
) -> Result<Vec<usize>, SyncError> {
    held_with(conn, table, columns, keys, &[]).await
}

/// [`held`], of the rows whose `null` columns all hold NULL.
async fn held_with(
    conn: &mut Connection,
    table: &Table,
    columns: &[String],
    keys: &[&Row],
    null: &[String],
) -> Result<Vec<usize>, SyncError> {
    let d = conn.dialect();
    let null: Vec<String> = null.iter().map(|c| format!(" AND {} IS NULL", d.ident(c))).collect();
    let null = null.concat();
    let from = d.own_rows(table);
    let mut out = Vec::new();
    for (c, chunk) in keys.chunks(100).enumerate() {
        let selects: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let wheres: Vec<String> = columns
                    .iter()
                    .zip(k.iter())
                    .map(|(col, v)| format!("{} = {}", d.ident(col), d.literal(v)))
                    .collect();
                format!(
                    "SELECT {} FROM {from} WHERE {}{null}",
                    c * 100 + i,
                    wheres.join(" AND ")
                )
            })
            .collect();
        let int = tether_schema::DataType::Int {
            bytes: 8,
            unsigned: false,
        };
        for row in conn.query(&selects.join(" UNION ALL "), &[int]).await? {
            let at = match row.first() {
                Some(Value::Int(n)) => usize::try_from(*n).ok(),
                Some(Value::UInt(n)) => usize::try_from(*n).ok(),
                Some(Value::Text(t)) => t.parse().ok(),
                _ => None,
            };
            out.extend(at);
        }
    }
    Ok(out)
}

/// The tables complete so far on `dest`, with their rows, for a message.
fn complete_tables(dest: &Destination) -> String {
    let done: Vec<String> = dest
        .written
        .lock()
        .expect("lock")
        .iter()
        .filter(|(_, _, complete)| *complete)
        .map(|(t, n, _)| format!("{t}: {n}"))
        .collect();
    match done.is_empty() {
        true => "none".into(),
        false => done.join(", "),
    }
}

/// Writes the batches of one table to one destination; returns the rows written and
/// the fixups (key, values of nulled columns) to apply once the cycle is loaded.
async fn write_table(
    dest: &mut Destination,
    tp: &TablePlan,
    w: &TableWrite,
    mut rx: mpsc::Receiver<Batch>,
    respell: &Respellings,
) -> Result<(u64, Fixups), SyncError> {
    let mut written = 0u64;
    let mut fixups: Fixups = Vec::new();
    // Rows written with the cycle's FK columns NULL, and rows already there whose FK
    // values were left as they were, both for the cycle's UPDATE to set (a message).
    // With `skip`, rows an earlier run left with them NULL, which this run completes.
    let (mut nulled_rows, mut kept_rows, mut unfinished_rows) = (0u64, 0u64, 0u64);
    // Counted as it goes, for what a stop or failure leaves (complete at the end).
    let slot = {
        let mut list = dest.written.lock().expect("lock");
        list.push((tp.name.clone(), 0, false));
        list.len() - 1
    };
    // Every source column written as it is: the batch moves to the writer untouched.
    let as_is = w.nulled.is_empty() && w.positions.len() == tp.table.columns.len();
    let name = tp.table.table_name();
    let engine = dest.conn.engine();
    let fresh = dest.spec.truncate || dest.staged_load || dest.began_empty.contains(&tp.name);
    let mut claims = super::once::Claims::new(w.conflict, w.keyed, &w.key, fresh);
    while let Some(mut batch) = rx.recv().await {
        // The parent's spelling where this engine would not match the source's.
        respell.apply_for(&name, engine, &mut batch);
        for &i in &w.integral {
            for row in batch.iter_mut() {
                as_integral(&mut row[i]);
            }
        }
        // The keys of the batch, kept to name a row the destination rejects.
        let keys: Vec<Vec<Value>> = batch
            .iter()
            .map(|row| w.key_positions.iter().map(|&k| row[k].clone()).collect())
            .collect();
        if let Some((at, column, narrow, why)) = first_changed(w, &batch) {
            return Err(SyncError::Rejected {
                destination: dest.shown.clone(),
                table: tp.name.clone(),
                key: describe_key(&w.key, &keys[at]),
                message: match narrow.says_all() {
                    true => format!("its {column} {why}"),
                    false => format!(
                        "its {column} would be stored changed there: {why} (the destination's column is {}, \
                         the source's {}); {}",
                        w.dest_table.column(column).map_or("", |c| c.engine_type.as_str()),
                        tp.table.column(column).map_or("", |c| c.engine_type.as_str()),
                        Narrow::advice(dest.created_tables.contains(&tp.name)),
                    ),
                },
                written: format!(
                    "{written} rows of {} were written before it{}; tables complete: {}",
                    tp.name,
                    unset_note(w, nulled_rows, kept_rows, unfinished_rows),
                    complete_tables(dest)
                ),
            });
        }
        // The cycle's fixups of this batch: (key, values of the nulled columns), the
        // index in the batch of each and, for `update`, the values of each FK it breaks
        // (None where one of them is NULL).
        let mut pending: Fixups = Vec::new();
        let mut pending_at: Vec<usize> = Vec::new();
        let mut parents: Vec<Vec<Option<Row>>> = Vec::new();
        let out: Vec<Row> = if as_is {
            batch
        } else {
            let mut out = Vec::with_capacity(batch.len());
            for (at, row) in batch.into_iter().enumerate() {
                if !w.nulled.is_empty() {
                    let vals: Row = w.nulled.iter().map(|&i| row[i].clone()).collect();
                    if vals.iter().any(|v| !v.is_null()) {
                        let key: Row = w.fixup_key_positions.iter().map(|&i| row[i].clone()).collect();
                        if key.iter().any(Value::is_null) {
                            return Err(SyncError::Plan(format!(
                                "{}: table {}: row {} holds NULL in ({}), the key the cycle's UPDATE would set \
                                 {} again by: NULL matches no row, so it would keep them NULL. Give {} a primary \
                                 key or a NOT NULL unique key, or set checks = \"verify\" on the destination",
                                dest.shown,
                                tp.name,
                                describe_key(&w.key, &keys[at]),
                                w.fixup_key.join(", "),
                                w.nulled_names.join(", "),
                                tp.name
                            )));
                        }
                        pending.push((key, vals));
                        pending_at.push(at);
                        if w.conflict == Conflict::Update {
                            parents.push(
                                w.breaks
                                    .iter()
                                    .map(|b| {
                                        let v: Row = b.positions.iter().map(|&i| row[i].clone()).collect();
                                        (!v.iter().any(Value::is_null)).then_some(v)
                                    })
                                    .collect(),
                            );
                        }
                    }
                }
                let mut row = row;
                out.push(
                    w.positions
                        .iter()
                        .map(|&i| {
                            if w.nulled.contains(&i) {
                                Value::Null
                            } else {
                                std::mem::replace(&mut row[i], Value::Null)
                            }
                        })
                        .collect(),
                );
            }
            out
        };
        // `update` writes over the rows already there: their FK values are never
        // written NULL ([`settle`]). `nulled_at`: the rows of the batch written NULL.
        let (out, at, kept, nulled_at) = match (w.conflict, pending.is_empty()) {
            (Conflict::Update, false) => {
                settle(&mut dest.conn, w, out, &mut pending, &pending_at, &parents, &keys).await?
            }
            _ => (out, None, Vec::new(), pending_at),
        };
        let kept_now = kept.len() as u64;
        // `skip` keeps the rows already there as they are: the rows this batch inserts
        // (absent before, there after) are completed by the cycle's UPDATEs, and so are
        // the rows already there with every one of the cycle's FK columns NULL where the
        // source holds a value: the shape a load of this cycle leaves until its UPDATEs
        // run, so an earlier run that failed or was stopped before them left them so
        // (`unfinished`). A row whose FK values the destination holds stays as it is.
        let (before, unfinished) = match (w.conflict, pending.is_empty()) {
            (Conflict::Skip, false) => {
                let ks: Vec<&Row> = pending.iter().map(|(k, _)| k).collect();
                let before = held(&mut dest.conn, &w.dest_table, &w.fixup_key, &ks).await?;
                let ks: Vec<&Row> = before.iter().map(|&i| &pending[i].0).collect();
                let unfinished = held_with(&mut dest.conn, &w.dest_table, &w.fixup_key, &ks, &w.nulled_names)
                    .await?
                    .into_iter()
                    .map(|j| before[j])
                    .collect();
                (Some(before), unfinished)
            }
            _ => (None, Vec::new()),
        };
        let stop = |e: super::once::Stop, dest: &Destination, n: u64| {
            e.into_error(
                &dest.shown,
                &tp.name,
                w.conflict,
                format!(
                    "{n} rows of {} were written before it; tables complete: {}",
                    tp.name,
                    complete_tables(dest)
                ),
            )
        };
        let claimed = match claims.before(&mut dest.conn, &w.dest_table, &w.key, &keys).await {
            Ok(c) => c,
            Err(e) => return Err(stop(e, dest, written)),
        };
        let inserted = write_rows(dest, w, out, at, kept).await;
        if let Ok(n) = &inserted {
            if let Err(e) = claims
                .after(&mut dest.conn, &w.dest_table, &w.key, &keys, &claimed, w.conflict, *n)
                .await
            {
                return Err(stop(e, dest, written + n));
            }
        }
        let mut completed_now = 0u64;
        if let (Some(before), true) = (&before, inserted.is_ok()) {
            let (absent, there): (Vec<_>, Vec<_>) =
                pending.into_iter().enumerate().partition(|(i, _)| !before.contains(i));
            let absent: Fixups = absent.into_iter().map(|(_, f)| f).collect();
            let ks: Vec<&Row> = absent.iter().map(|(k, _)| k).collect();
            let after = held(&mut dest.conn, &w.dest_table, &w.fixup_key, &ks).await?;
            pending = absent
                .into_iter()
                .enumerate()
                .filter(|(i, _)| after.contains(i))
                .map(|(_, f)| f)
                .collect();
            let unfinished: Fixups = there
                .into_iter()
                .filter(|(i, _)| unfinished.contains(i))
                .map(|(_, f)| f)
                .collect();
            completed_now = unfinished.len() as u64;
            pending.extend(unfinished);
        }
        match inserted {
            Ok(n) => {
                // With `skip`, `pending` now holds the rows this batch inserted, then the
                // rows an earlier run left unfinished.
                nulled_rows += match w.conflict {
                    Conflict::Skip => pending.len() as u64 - completed_now,
                    _ => nulled_at.len() as u64,
                };
                unfinished_rows += completed_now;
                fixups.append(&mut pending);
                written += n;
                kept_rows += kept_now;
                dest.written.lock().expect("lock")[slot].1 = written;
            }
            Err(Failed { e, in_kept, rejected }) => {
                dest.written.lock().expect("lock")[slot].1 = written + e.written;
                // A line past the batch (a COPY ended by a lost connection names the
                // end-of-data line) is no row of it.
                let key = match e.row.and_then(|i| keys.get(i)) {
                    Some(k) => describe_key(&w.key, k),
                    None => "(in a batch; the server did not say which)".to_string(),
                };
                // The rows of this batch written NULL before the rejected one and kept
                // (the server keeps the rows before it when it says it wrote some); with
                // `skip`, those of them the destination did not hold before the batch.
                let new = |j: usize| before.as_ref().is_none_or(|b| !b.contains(&j));
                nulled_rows += match (in_kept, e.written > 0, e.row) {
                    (true, _, _) => nulled_at.len() as u64,
                    (false, true, Some(r)) => {
                        nulled_at.iter().enumerate().filter(|&(j, &i)| i < r && new(j)).count() as u64
                    }
                    _ => 0,
                };
                // And the rows an earlier run left unfinished, still so.
                unfinished_rows += unfinished.len() as u64;
                // A table this run created or emptied, or one that was there empty, held
                // none of the source's rows: two of them clash there, so the destination
                // compares keys the source tells apart as equal. `on_conflict` would drop
                // one of them. (On every lane: `began_empty` is each lane's.)
                let fresh = dest.spec.truncate || dest.staged_load || dest.began_empty.contains(&tp.name);
                // A key of dates, times or numbers only: two spellings of one value. The
                // key is the one the server names (a unique key other than the row's
                // may have clashed: two texts its collation holds equal); unnamed, every
                // key of the table must be so.
                let typed = |cols: &[String]| {
                    !cols.is_empty()
                        && cols.iter().all(|k| {
                            w.dest_table.column(k).is_some_and(|c| {
                                !c.normalized_type.is_text()
                                    && !matches!(c.normalized_type, tether_schema::DataType::Other(_))
                            })
                        })
                };
                let typed_key = match clashed_key(&w.dest_table, &e.message) {
                    Some(cols) => typed(&cols),
                    None => {
                        typed(&w.key)
                            && (w.dest_table.primary_key.is_empty() || typed(&w.dest_table.primary_key))
                            && w.dest_table.unique_keys.iter().all(|u| typed(&u.columns))
                    }
                };
                let hint = match (e.duplicate_key && w.conflict == Conflict::Error, fresh) {
                    (false, _) => "",
                    (true, true) if typed_key => {
                        "; the table was empty before this run, so two rows of the source clash here: their keys \
                         are two spellings of one value of the key's type (a date, time or number written \
                         differently, as '10:00:00' and '10:00:00.000'), which the source keeps apart and this \
                         destination reads as one. `on_conflict` would drop one of them; make the source's \
                         spellings agree, or transform the key"
                    }
                    (true, false) => {
                        "; the destination already holds this key: set `truncate = true` on the \
                         destination to empty the job's tables first, or `on_conflict = \"skip\"` / \
                         `\"update\"` to keep or overwrite its rows"
                    }
                    (true, true) => {
                        "; the table was empty before this run, so two rows of the source clash here: \
                         their keys differ only in case, accents or trailing spaces (or a transformer \
                         made them so), which this destination compares as equal where the source \
                         does not (a case-insensitive collation), or only in type (a SQLite source's \
                         integer 1 and text '1', which a text key here holds as one value). \
                         `on_conflict` would drop one of them; give the key column a collation that \
                         tells them apart on the destination, make the source's keys agree, or change \
                         the transformer"
                    }
                };
                let which = match e.row.and_then(|i| keys.get(i)) {
                    Some(k) if e.message.contains("FOREIGN KEY constraint failed") => {
                        broken_fk(dest, w, k, rejected.as_ref()).await
                    }
                    _ => enum_refused(w, &e.message, rejected.as_ref()),
                };
                return Err(SyncError::Rejected {
                    destination: dest.shown.clone(),
                    table: tp.name.clone(),
                    key,
                    message: format!("{}{which}{hint}", e.message),
                    written: format!(
                        "{} rows of {} were written before it{}; tables complete: {}",
                        written + e.written,
                        tp.name,
                        unset_note(w, nulled_rows, kept_rows, unfinished_rows),
                        complete_tables(dest)
                    ),
                });
            }
        }
    }
    // Complete unless the copy stopped for another reason (`copy_table` says so).
    dest.written.lock().expect("lock")[slot] = (tp.name.clone(), written, true);
    Ok((written, fixups))
}

/// What a rejection leaves of a cycle's table written so far: rows written with the
/// FK columns NULL (new rows; the cycle's UPDATE, which sets them once the table is
/// loaded, did not run) and rows already there that `update` left with their FK values
/// as they were. Empty for other tables.
/// The columns of the key of `table` a server's duplicate-key `message` names: PostgreSQL
/// `unique constraint "t_code_key"`, MariaDB/MySQL `for key 't_code_key'` (or
/// `'t.t_code_key'`, `'PRIMARY'`), SQLite `UNIQUE constraint failed: t.code`. None when
/// it names none of them.
fn clashed_key(table: &Table, message: &str) -> Option<Vec<String>> {
    for u in &table.unique_keys {
        let n = &u.name;
        if [format!("\"{n}\""), format!("'{n}'"), format!(".{n}'")]
            .iter()
            .any(|m| message.contains(m.as_str()))
        {
            return Some(u.columns.clone());
        }
    }
    if !table.primary_key.is_empty()
        && (message.contains("for key 'PRIMARY'")
            || message.contains(".PRIMARY'")
            || message.contains(&format!("\"{}_pkey\"", table.name)))
    {
        return Some(table.primary_key.clone());
    }
    let (_, failed) = message.split_once("UNIQUE constraint failed: ")?;
    let cols: Vec<String> = failed
        .split([':', '('])
        .next()?
        .split(", ")
        .map(|c| c.trim().rsplit_once('.').map_or(c.trim(), |(_, c)| c).to_string())
        .collect();
    let same = |k: &[String]| k.len() == cols.len() && k.iter().all(|c| cols.contains(c));
    (same(&table.primary_key) || table.unique_keys.iter().any(|u| same(&u.columns))).then_some(cols)
}

fn unset_note(w: &TableWrite, nulled: u64, kept: u64, unfinished: u64) -> String {
    let cols = w.nulled_names.join(", ");
    let mut out = String::new();
    if nulled > 0 {
        out.push_str(&format!(
            ", {nulled} of them new rows left with {cols} NULL (the cycle's UPDATE setting them once the table \
             is loaded did not run)"
        ));
    }
    if kept > 0 {
        out.push_str(&format!(
            ", {kept} of them rows that were there, their {cols} left as it was (not yet the source's)"
        ));
    }
    if unfinished > 0 {
        out.push_str(&format!(
            ", and {unfinished} rows an earlier run left with {cols} NULL still so (this run's UPDATE setting \
             them did not run)"
        ));
    }
    if nulled + kept + unfinished > 0 {
        out.push_str(&format!("; {RERUN_SETS}"));
    }
    out
}

/// What a re-run does with the rows a cycle's UPDATEs did not reach (a failure or a stop).
pub(crate) const RERUN_SETS: &str = "running the job again with on_conflict = \"skip\" or \"update\" sets them \
     (`skip` completes a row whose FK columns the cycle loads NULL are all NULL where the source holds a value; it keeps \
     a row holding other values there), as does truncate = true";

/// A batch's write that failed: the error (its row an index in the batch), whether the
/// rows of the first INSERT went in ([`write_rows`]), and the rejected row as written
/// (columns, values) where kept to name an FK ([`broken_fk`]).
struct Failed {
    e: tether_connect::WriteError,
    in_kept: bool,
    rejected: Option<(Vec<String>, Row)>,
}

/// Writes `out` (the rows of the batch at `at`; None: every row, in order), then `kept`
/// (rows already there, written without the cycle's nulled columns, [`settle`]).
async fn write_rows(
    dest: &mut Destination,
    w: &TableWrite,
    out: Vec<Row>,
    at: Option<Vec<usize>>,
    kept: Vec<(usize, Row)>,
) -> Result<u64, Failed> {
    // SQLite says only "FOREIGN KEY constraint failed": the row is kept to find the FK.
    let sqlite = dest.conn.engine() == tether_connect::Engine::Sqlite && !dest.fk_free();
    let copy = sqlite.then(|| out.clone());
    let n = match dest
        .conn
        .insert(&w.dest_table, &w.columns, &w.key, w.keyed, out, w.conflict)
        .await
    {
        Ok(n) => n,
        Err(mut e) => {
            let rejected = copy.zip(e.row).and_then(|(c, i)| c.into_iter().nth(i));
            if let Some(at) = &at {
                e.row = e.row.and_then(|i| at.get(i).copied());
            }
            return Err(Failed {
                e,
                in_kept: false,
                rejected: rejected.map(|r| (w.columns.clone(), r)),
            });
        }
    };
    if kept.is_empty() {
        return Ok(n);
    }
    let columns: Vec<String> = w
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !w.nulled_out.contains(&Some(*i)))
        .map(|(_, c)| c.clone())
        .collect();
    let (idx, rows): (Vec<usize>, Vec<Row>) = kept.into_iter().unzip();
    let copy = sqlite.then(|| rows.clone());
    match dest
        .conn
        .insert(&w.dest_table, &columns, &w.key, w.keyed, rows, w.conflict)
        .await
    {
        Ok(m) => Ok(n + m),
        Err(mut e) => {
            let rejected = copy.zip(e.row).and_then(|(c, i)| c.into_iter().nth(i));
            e.row = e.row.and_then(|i| idx.get(i).copied());
            e.written += n;
            Err(Failed {
                e,
                in_kept: true,
                rejected: rejected.map(|r| (columns, r)),
            })
        }
    }
}

/// `update` over rows already there, for a batch of a breakable cycle's table whose
/// rows `pending` (at `pending_at` in the batch) are to be written with the cycle's FK
/// columns NULL: NULL written over a row already there would stay if the run failed or
/// stopped before the cycle's UPDATE. So a row whose parents (`parents`, per FK it
/// breaks) the destination holds already is written complete, no UPDATE needed; a row
/// already there (by `keys`, the key the write matches rows on) whose parents are not
/// is written without those columns (their values stay as they were until the UPDATE,
/// which then changes them: the parent was not there, so they held another value);
/// only new rows are written NULL. Returns the rows to write in full (with their
/// indexes in the batch where some were taken out), the rows written without the
/// nulled columns (index, values), and the indexes of the rows written NULL.
async fn settle(
    conn: &mut Connection,
    w: &TableWrite,
    mut out: Vec<Row>,
    pending: &mut Fixups,
    pending_at: &[usize],
    parents: &[Vec<Option<Row>>],
    keys: &[Vec<Value>],
) -> Result<(Vec<Row>, Option<Vec<usize>>, Vec<(usize, Row)>, Vec<usize>), SyncError> {
    let mut complete = vec![true; pending.len()];
    for (j, b) in w.breaks.iter().enumerate() {
        let asked: Vec<(usize, &Row)> = parents
            .iter()
            .enumerate()
            .filter_map(|(e, p)| p.get(j).and_then(|v| v.as_ref()).map(|v| (e, v)))
            .collect();
        if asked.is_empty() {
            continue;
        }
        let found = match &b.parent {
            Some(parent) => {
                let ks: Vec<&Row> = asked.iter().map(|(_, v)| *v).collect();
                held(conn, parent, &b.referenced, &ks).await?
            }
            None => Vec::new(),
        };
        for (i, (e, _)) in asked.iter().enumerate() {
            if !found.contains(&i) {
                complete[*e] = false;
            }
        }
    }
    // Rows written complete: their values back in place, no UPDATE for them.
    let mut left = Vec::new();
    let mut left_at = Vec::new();
    for (e, (f, at)) in std::mem::take(pending).into_iter().zip(pending_at).enumerate() {
        if complete[e] {
            for (v, o) in f.1.iter().zip(&w.nulled_out) {
                if let Some(o) = o {
                    out[*at][*o] = v.clone();
                }
            }
        } else {
            left.push(f);
            left_at.push(*at);
        }
    }
    *pending = left;
    if left_at.is_empty() {
        return Ok((out, None, Vec::new(), Vec::new()));
    }
    let ks: Vec<&Row> = left_at.iter().map(|&at| &keys[at]).collect();
    let there: Vec<usize> = held(conn, &w.dest_table, &w.key, &ks)
        .await?
        .into_iter()
        .map(|i| left_at[i])
        .collect();
    if there.is_empty() {
        return Ok((out, None, Vec::new(), left_at));
    }
    let nulled_at: Vec<usize> = left_at.into_iter().filter(|at| !there.contains(at)).collect();
    let mut full = Vec::with_capacity(out.len());
    let mut full_at = Vec::with_capacity(out.len());
    let mut kept = Vec::new();
    for (at, row) in out.into_iter().enumerate() {
        if there.contains(&at) {
            let row: Row = row
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !w.nulled_out.contains(&Some(*i)))
                .map(|(_, v)| v)
                .collect();
            kept.push((at, row));
        } else {
            full.push(row);
            full_at.push(at);
        }
    }
    Ok((full, Some(full_at), kept, nulled_at))
}

/// For a rejection by the CHECK of an ENUM's labels ([`TableWrite::enum_checks`]):
/// SQLite's "CHECK constraint failed: <name>", PostgreSQL's "violates check constraint
/// "<name>"": the column, its value (where the row was kept; the only value outside an
/// ENUM's labels MariaDB stores is '') and why. Empty for any other message.
fn enum_refused(w: &TableWrite, message: &str, row: Option<&(Vec<String>, Row)>) -> String {
    let name = match message.strip_prefix("CHECK constraint failed: ") {
        Some(name) => Some(name.trim()),
        None => message
            .split_once("violates check constraint \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(name, _)| name),
    };
    let Some(name) = name else {
        return String::new();
    };
    let Some((check, column, ty)) = w.enum_checks.iter().find(|(check, _, _)| check == name) else {
        return String::new();
    };
    let value = row.and_then(|(columns, values)| columns.iter().position(|c| c == column).map(|i| &values[i]));
    let why = match value {
        Some(v) if *v != Value::Text(String::new()) => String::new(),
        _ => " (MariaDB stores '', the ENUM's index 0, for a value the column did not take when strict mode \
              was off)"
            .to_string(),
    };
    format!(
        ": column {column} holds {}, none of the labels of its source type {ty}{why}, and the copy's CHECK \
         {check} takes the labels only. Give those rows of the source one of the labels (or NULL where the \
         column allows it), or transform the column",
        value.map_or("a value".to_string(), Value::display)
    )
}

/// For SQLite's bare "FOREIGN KEY constraint failed": the FK the rejected row (`row`,
/// its columns and values as written; `key` its key) breaks, where the destination
/// shows which: one of its FKs whose parent holds no row with its values, else an FK of
/// another job table whose rows reference this row's key values as the destination
/// holds them, which the row would change. Empty when neither is found.
async fn broken_fk(dest: &mut Destination, w: &TableWrite, key: &[Value], row: Option<&(Vec<String>, Row)>) -> String {
    let Some((columns, values)) = row else {
        return String::new();
    };
    let value_of = |c: &String| columns.iter().position(|x| x == c).map(|i| &values[i]);
    for fk in &w.dest_table.foreign_keys {
        let vals: Option<Row> = fk.columns.iter().map(|c| value_of(c).cloned()).collect();
        let Some(vals) = vals.filter(|v| !v.iter().any(Value::is_null)) else {
            continue;
        };
        let Some(parent) = parent_table(dest, &w.dest_table, fk) else {
            continue;
        };
        if let Ok(found) = held(&mut dest.conn, &parent, &fk.referenced_columns, &[&vals]).await {
            if found.is_empty() {
                let shown: Vec<String> = vals.iter().map(|v| dest.conn.dialect().literal(v)).collect();
                return format!(
                    ": foreign key {} ({}) references {} ({}), where the destination holds no row with ({})",
                    fk.name,
                    fk.columns.join(", "),
                    fk.referenced_table,
                    fk.referenced_columns.join(", "),
                    shown.join(", ")
                );
            }
        }
    }
    let me = w.dest_table.table_name();
    let children: Vec<(Table, tether_schema::ForeignKey)> = dest
        .tables
        .values()
        .flat_map(|t| t.foreign_keys.iter().map(move |f| (t.clone(), f.clone())))
        .chain(dest.outsider_fks.iter().cloned())
        .filter(|(t, f)| parent_table(dest, t, f).is_some_and(|p| p.table_name() == me))
        .collect();
    for (child, fk) in children {
        let new: Option<Row> = fk.referenced_columns.iter().map(|c| value_of(c).cloned()).collect();
        let Some(new) = new else { continue };
        let d = dest.conn.dialect();
        let same: Vec<String> = w
            .key
            .iter()
            .zip(key)
            .map(|(c, v)| format!("p.{} = {}", d.ident(c), d.literal(v)))
            .collect();
        let joined: Vec<String> = fk
            .columns
            .iter()
            .zip(&fk.referenced_columns)
            .map(|(c, r)| format!("c.{} = p.{}", d.ident(c), d.ident(r)))
            .collect();
        let changed: Vec<String> = fk
            .referenced_columns
            .iter()
            .zip(&new)
            .map(|(r, v)| match v.is_null() {
                true => format!("p.{} IS NULL", d.ident(r)),
                false => format!("p.{} = {}", d.ident(r), d.literal(v)),
            })
            .collect();
        let sql = format!(
            "SELECT 1 FROM {} p WHERE {} AND NOT ({}) AND EXISTS (SELECT 1 FROM {} c WHERE {}) LIMIT 1",
            d.own_rows(&w.dest_table),
            same.join(" AND "),
            changed.join(" AND "),
            d.own_rows(&child),
            joined.join(" AND ")
        );
        if dest.conn.query(&sql, &[]).await.is_ok_and(|r| !r.is_empty()) {
            return format!(
                ": this row would change its ({}), which rows of {} reference through foreign key {}; \
                 set truncate = true on the destination to write the job's tables afresh",
                fk.referenced_columns.join(", "),
                child.name,
                fk.name
            );
        }
    }
    String::new()
}

/// Sends rows a subset kept in batches of `size`, as a read would; stops when the
/// receiver is gone. Returns the rows sent.
async fn send_kept(rows: Vec<Row>, size: usize, tx: &mpsc::Sender<Batch>) -> u64 {
    let mut sent = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Batch = rows.by_ref().take(size.max(1)).collect();
        let n = batch.len() as u64;
        if tx.send(batch).await.is_err() {
            break;
        }
        sent += n;
    }
    sent
}

/// What the source query of a table reads: every column, every row or the subset's.
fn read_spec(tp: &TablePlan, subset: &Subset) -> ReadSpec {
    let filter = match tp.rows {
        Rows::All => Filter::All,
        Rows::Subset => Filter::KeysIn {
            columns: row_key(&tp.table),
            keys: subset.keys.get(&tp.table.table_name()).cloned().unwrap_or_default(),
        },
    };
    ReadSpec {
        table: tp.table.clone(),
        columns: tp.table.columns.iter().map(|c| c.name.clone()).collect(),
        filter,
        order_by: vec![],
        limit: None,
    }
}

/// Builds the transformers of `list` (columns of `tp`), reading the source's distinct
/// values of the columns whose transformer draws from them.
async fn build_transforms(
    tp: &TablePlan,
    list: &[crate::anonymize::ColumnTransform],
    source: &mut Connection,
    seed: &tether_transform::Seed,
    collations: &super::Collations,
) -> Result<crate::anonymize::TableTransforms, SyncError> {
    let mut distinct = HashMap::new();
    for column in crate::anonymize::TableTransforms::needs_distinct(list) {
        let d = source.dialect();
        let sql = format!(
            "SELECT DISTINCT {} FROM {} ORDER BY 1",
            d.ident(&column),
            d.own_rows(&tp.table)
        );
        let ty = tp
            .table
            .column(&column)
            .map(|c| c.normalized_type.clone())
            .into_iter()
            .collect::<Vec<_>>();
        let rows = source.query(&sql, &ty).await?;
        distinct.insert(
            column,
            rows.into_iter()
                .filter_map(|mut r| r.pop())
                .filter(|v| !v.is_null())
                .collect(),
        );
    }
    crate::anonymize::TableTransforms::build(&tp.name, &tp.table, list, seed, &distinct, collations)
}

/// Makes the new values of every key-map root (a referenced key whose transformer is not
/// a function of the key value alone) from the rows the job copies, before any table
/// loads: children, loaded in any order, then only look their new keys up.
async fn fill_key_maps(
    plan: &Plan,
    lane: &mut Lane,
    subset: &Subset,
    anon: &Anon,
    respell: &Respellings,
    progress: &dyn Progress,
) -> Result<(), SyncError> {
    let keys = crate::anonymize::map_keys(plan.tables.iter().flat_map(|t| &t.transforms));
    for tp in &plan.tables {
        let name = tp.table.table_name();
        let roots: Vec<_> = tp
            .transforms
            .iter()
            .filter(|c| keys.contains_key(&(name.clone(), c.column.clone())))
            .cloned()
            .collect();
        if roots.is_empty() {
            continue;
        }
        let Some(seed) = &anon.seed else {
            return Err(SyncError::Config("[transform] needs a `seed`".into()));
        };
        let shown: Vec<&str> = roots.iter().map(|c| c.column.as_str()).collect();
        progress.phase(&format!(
            "{}: making the new values of {} for the key map of the columns referencing them",
            tp.name,
            shown.join(", ")
        ));
        let t = build_transforms(tp, &roots, &mut lane.source, seed, &anon.collations).await?;
        let spec = read_spec(tp, subset);
        if matches!(&spec.filter, Filter::KeysIn { keys, .. } if keys.is_empty()) {
            continue;
        }
        let (tx, rx) = mpsc::channel::<Batch>(4);
        let read = lane.source.read(&spec, plan.batch_size, tx);
        let fill = async {
            // Owned, so an error drops it and the reader stops (borrowed, the reader
            // would wait on a full channel for good).
            let mut rx = rx;
            while let Some(mut batch) = rx.recv().await {
                respell.apply(&name, &mut batch);
                t.fill_key_maps(&batch, &anon.maps, &keys)?;
            }
            Ok::<(), SyncError>(())
        };
        let (read, filled) = tokio::join!(read, fill);
        filled?;
        read?;
    }
    Ok(())
}

/// Streams one table from the lane's source to each of its destinations.
async fn load_table(
    plan: &Plan,
    tp: &TablePlan,
    lane: &mut Lane,
    subset: &Subset,
    anon: &Anon,
    respell: &Respellings,
    progress: &dyn Progress,
) -> Result<(TableReport, Vec<Fixups>), SyncError> {
    let mut transforms = match (&anon.seed, tp.transforms.is_empty()) {
        (_, true) => None,
        (None, false) => return Err(SyncError::Config("[transform] needs a `seed`".into())),
        (Some(seed), false) => {
            Some(build_transforms(tp, &tp.transforms, &mut lane.source, seed, &anon.collations).await?)
        }
    };
    let spec = read_spec(tp, subset);
    let total = match &spec.filter {
        Filter::KeysIn { keys, .. } => keys.len() as u64,
        _ => lane.source.estimate_rows(&tp.table).await?,
    };
    progress.table_started(&tp.name, total);
    let started = Instant::now();
    let from = lane.source.dialect().engine();
    let writes: Vec<TableWrite> = lane.dests.iter().map(|d| table_write(d, tp, from)).collect();
    let skip_read = matches!(&spec.filter, Filter::KeysIn { keys, .. } if keys.is_empty());

    // PostgreSQL to PostgreSQL with nothing to change: raw COPY text, one COPY per table.
    let unchanged = writes.iter().all(|w| {
        w.nulled.is_empty()
            && w.narrowed.is_empty()
            && w.conflict == Conflict::Error
            && w.positions.len() == tp.table.columns.len()
    });
    let dest_conns: Vec<&Connection> = lane.dests.iter().map(|d| &d.conn).collect();
    if tp.rows == Rows::All
        && unchanged
        && transforms.is_none()
        && !respell.touches(&tp.table.table_name())
        && tether_connect::can_pass_through(&lane.source, &dest_conns)
    {
        let select = spec.select_sql(lane.source.dialect(), None);
        // Inside a transactional load a failed COPY must not end the transaction: the
        // batches below find the row.
        for d in lane.dests.iter_mut().filter(|d| d.atomic.is_some()) {
            d.conn.execute("SAVEPOINT tether_copy").await?;
        }
        let targets: Vec<(&Connection, &Table, &[String])> = lane
            .dests
            .iter()
            .zip(&writes)
            .map(|(d, w)| (&d.conn, &w.dest_table, w.columns.as_slice()))
            .collect();
        let copied =
            tether_connect::passthrough(&lane.source, &select, &targets, &|n| progress.rows(&tp.name, n)).await;
        for d in lane.dests.iter_mut().filter(|d| d.atomic.is_some()) {
            let end = if copied.is_ok() {
                "RELEASE SAVEPOINT tether_copy"
            } else {
                "ROLLBACK TO SAVEPOINT tether_copy"
            };
            d.conn.execute(end).await?;
        }
        match copied {
            Ok(rows) => {
                for d in &lane.dests {
                    d.written.lock().expect("lock").push((tp.name.clone(), rows, true));
                }
                progress.table_done(&tp.name, rows, started.elapsed().as_secs_f64());
                let report = TableReport {
                    table: tp.name.clone(),
                    rows_read: rows,
                    rows_written: vec![rows; lane.dests.len()],
                    seconds: started.elapsed().as_secs_f64(),
                };
                return Ok((report, vec![Vec::new(); lane.dests.len()]));
            }
            // The one destination rejected a row and its COPY was rolled back: copy the
            // table again in batches, which names the row.
            Err((Some(_), e)) if lane.dests.len() == 1 => {
                progress.phase(&format!("{e}; copying {} again in batches to find the row", tp.name));
            }
            Err((_, e)) => return Err(e.into()),
        }
    }

    let (tx, rx) = mpsc::channel::<Batch>(4);
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in lane.dests.iter() {
        let (t, r) = mpsc::channel::<Batch>(4);
        senders.push(t);
        receivers.push(r);
    }
    let source = &mut lane.source;
    // A subset's rows kept while choosing them are not read again.
    let kept = match tp.rows {
        Rows::Subset => subset.take_rows(&tp.table.table_name()),
        Rows::All => None,
    };
    let read = async {
        if skip_read {
            drop(tx);
            return Ok(0);
        }
        match kept {
            Some(rows) => Ok(send_kept(rows, plan.batch_size, &tx).await),
            None => source.read(&spec, plan.batch_size, tx).await,
        }
    };
    let transforms_ref = &mut transforms;
    let fanout = async {
        // Owned: returning early (a transformer's error, a writer gone) drops it, which
        // stops the reader; borrowed, the reader would wait on the full channel for
        // good and the job would never end. The writers finish what they have.
        let mut rx = rx;
        let name = tp.table.table_name();
        while let Some(mut batch) = rx.recv().await {
            // The parent's spelling first: the transformer then maps it as the parent's.
            respell.apply(&name, &mut batch);
            if let Some(t) = transforms_ref.as_mut() {
                t.apply(&mut batch, &anon.maps)?;
            }
            progress.rows(&tp.name, batch.len() as u64);
            let last = senders.len() - 1;
            let mut batch = Some(batch);
            for (i, s) in senders.iter().enumerate() {
                let b = if i == last {
                    batch.take().expect("the last destination takes the batch")
                } else {
                    batch.clone().expect("the batch is kept until the last destination")
                };
                if s.send(b).await.is_err() {
                    return Ok(());
                }
            }
        }
        drop(senders);
        Ok::<(), SyncError>(())
    };
    let writers = join_all(
        lane.dests
            .iter_mut()
            .zip(&writes)
            .zip(receivers)
            .map(|((d, w), r)| write_table(d, tp, w, r, respell))
            .collect(),
    );
    let (read, fanned, results) = tokio::join!(read, fanout, writers);
    // A writer that ended without error wrote only part of the table when the read,
    // the transformers or another destination's writer failed.
    if fanned.is_err() || read.is_err() || results.iter().any(|r| r.is_err()) {
        for (d, r) in lane.dests.iter().zip(&results) {
            if r.is_ok() {
                if let Some(last) = d.written.lock().expect("lock").last_mut() {
                    if last.0 == tp.name {
                        last.2 = false;
                    }
                }
            }
        }
    }
    fanned?;
    if let Some(t) = &transforms {
        anon.leaks.lock().expect("lock").extend(t.leaks());
    }
    let mut written = Vec::new();
    let mut fixups = Vec::new();
    for r in results {
        let (n, f) = r?;
        written.push(n);
        fixups.push(f);
    }
    let rows_read = read?;
    progress.table_done(&tp.name, rows_read, started.elapsed().as_secs_f64());
    let report = TableReport {
        table: tp.name.clone(),
        rows_read,
        rows_written: written,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((report, fixups))
}

/// Loads one unit (a table, or every table of one cycle in order) on one lane.
async fn load_unit(
    plan: &Plan,
    unit: &[usize],
    lane: &mut Lane,
    subset: &Subset,
    anon: &Anon,
    respell: &Respellings,
    progress: &dyn Progress,
) -> Result<Vec<(usize, TableReport)>, SyncError> {
    let cycle = plan.tables[unit[0]].cycle;
    let defer = cycle.is_some_and(|c| plan.cycles[c].strategy == CycleStrategy::Defer);
    let mut deferred: Vec<Option<DeferredChecks>> = Vec::new();
    for dest in lane.dests.iter_mut() {
        deferred.push(match (defer, dest.fk_free()) {
            (true, false) => Some(begin_deferred(dest, plan, cycle.expect("a deferred unit is a cycle")).await?),
            _ => None,
        });
    }
    let mut reports = Vec::new();
    let mut fixups: Vec<Vec<(usize, Fixups)>> = lane.dests.iter().map(|_| Vec::new()).collect();
    for &ti in unit {
        let loaded = load_table(plan, &plan.tables[ti], lane, subset, anon, respell, progress).await;
        let (report, f) = match loaded {
            Ok(l) => l,
            Err(e) => {
                let e = unset_before(e, plan, lane, &fixups);
                return Err(match cycle {
                    Some(c) => orphans_left(e, plan, c, lane, &deferred).await,
                    None => e,
                });
            }
        };
        for (i, f) in f.into_iter().enumerate() {
            if !f.is_empty() {
                fixups[i].push((ti, f));
            }
        }
        reports.push((ti, report));
    }
    for ((dest, fixups), deferred) in lane.dests.iter_mut().zip(fixups).zip(deferred) {
        for (ti, f) in fixups {
            let tp = &plan.tables[ti];
            let w = table_write(dest, tp, lane.source.dialect().engine());
            let wanted = f.len() as u64;
            progress.phase(&format!(
                "{}: setting {} on {} rows of {}",
                dest.shown,
                w.nulled_names.join(", "),
                wanted,
                tp.name
            ));
            let set = dest
                .conn
                .update(&w.dest_table, &w.fixup_key, &w.nulled_names, f)
                .await?;
            // Each UPDATE finds its row by a key without NULL, and sets a column loaded
            // NULL to a value: anything but one row each leaves FK values unset.
            if set != wanted {
                return Err(SyncError::Plan(format!(
                    "{}: table {}: the cycle's UPDATEs setting {} by ({}) reached {set} rows of the {wanted} \
                     loaded with them NULL: the destination's key ({}) does not find each row as the source's \
                     does, so the FK values of the others would stay NULL",
                    dest.shown,
                    tp.name,
                    w.nulled_names.join(", "),
                    w.fixup_key.join(", "),
                    w.fixup_key.join(", "),
                )));
            }
            progress.phase(&format!(
                "{}: set {} on {set} rows of {}",
                dest.shown,
                w.nulled_names.join(", "),
                tp.name
            ));
        }
        if let Some(d) = deferred {
            dest.conn.undefer_checks(d).await.map_err(|c| {
                SyncError::Plan(format!(
                    "{}: the cycle {} did not verify when its deferred checks ran: {c}",
                    dest.shown,
                    cycle.map(|c| plan.cycles[c].tables.join(" <-> ")).unwrap_or_default()
                ))
            })?;
        }
    }
    Ok(reports)
}

/// `e` from a later table of a cycle, with what the tables before it were left with:
/// rows written with the cycle's FK columns NULL, or rows already there with theirs
/// as they were, which the cycle's UPDATEs (once every table is loaded) did not set.
fn unset_before(e: SyncError, plan: &Plan, lane: &Lane, fixups: &[Vec<(usize, Fixups)>]) -> SyncError {
    let said: Vec<String> = lane
        .dests
        .iter()
        .zip(fixups)
        .filter(|(_, f)| !f.is_empty())
        .map(|(d, f)| {
            let tables: Vec<String> = f
                .iter()
                .map(|(ti, rows)| format!("{}: {}", plan.tables[*ti].name, rows.len()))
                .collect();
            format!("{}: {}", d.shown, tables.join(", "))
        })
        .collect();
    if said.is_empty() {
        return e;
    }
    let note = format!(
        "the cycle's UPDATEs setting the FK columns loaded NULL (or, on rows that were there, left as they \
         were) did not run; rows waiting for them: {}; {RERUN_SETS}",
        said.join("; ")
    );
    noted_before_complete(e, &note)
}

/// `e` from a table of a cycle loaded with the destination's FK checks off on a
/// destination committing as it goes: a `defer` cycle on MariaDB or SQLite, or any cycle
/// written with its values as they are on a destination whose checks are off or
/// `"verify"` (no break is needed there: [`table_write`]; twenty-seventh session writer
/// S, review r27d F3). Rows committed before it may reference parents that never
/// arrived. Counts them per FK of the cycle, by a query on each such destination, and
/// says a re-run repairs them. Where a count cannot be read, `e` says nothing of it.
async fn orphans_left(
    e: SyncError,
    plan: &Plan,
    cycle: usize,
    lane: &mut Lane,
    deferred: &[Option<DeferredChecks>],
) -> SyncError {
    let fks = &plan.cycles[cycle].foreign_keys;
    let mut said = Vec::new();
    let mut unchecked = false;
    for (dest, deferred) in lane.dests.iter_mut().zip(deferred) {
        let unbroken = dest.fk_free() && dest.loads_whole().is_none();
        if !unbroken && (deferred.is_none() || dest.conn.engine() == tether_connect::Engine::Postgres) {
            continue; // broken and set again, or one transaction, rolled back
        }
        let mut counts = Vec::new();
        for tp in plan.tables.iter().filter(|tp| tp.cycle == Some(cycle)) {
            let Some(child) = dest.tables.get(&tp.table.table_name()).cloned() else {
                continue;
            };
            for fk in tp.table.foreign_keys.iter().filter(|f| fks.contains(&f.name)) {
                let Some(parent) = parent_table(dest, &tp.table, fk) else {
                    continue;
                };
                let d = dest.conn.dialect();
                let set: Vec<String> = fk
                    .columns
                    .iter()
                    .map(|c| format!("c.{} IS NOT NULL", d.ident(c)))
                    .collect();
                let same: Vec<String> = fk
                    .columns
                    .iter()
                    .zip(&fk.referenced_columns)
                    .map(|(c, r)| format!("p.{} = c.{}", d.ident(r), d.ident(c)))
                    .collect();
                let sql = format!(
                    "SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                    d.qualified(&child),
                    set.join(" AND "),
                    d.qualified(&parent),
                    same.join(" AND ")
                );
                let n = match dest.conn.query(&sql, &[]).await {
                    Ok(rows) => match rows.first().and_then(|r| r.first()) {
                        Some(Value::Int(n)) => *n,
                        Some(Value::Text(t)) => t.parse().unwrap_or(0),
                        _ => 0,
                    },
                    Err(_) => continue,
                };
                if n > 0 {
                    counts.push(format!(
                        "{n} rows of {} under foreign key {} ({})",
                        tp.name,
                        fk.name,
                        fk.columns.join(", ")
                    ));
                }
            }
        }
        if !counts.is_empty() {
            unchecked |= unbroken;
            said.push(format!("{}: {}", dest.shown, counts.join(", ")));
        }
    }
    if said.is_empty() {
        return e;
    }
    // Checks were off while loading: the destination's FK (PostgreSQL: still marked
    // valid) does not hold for those rows until the parents are there.
    let unchecked = match unchecked {
        true => {
            " (written as they are with FK checks off, which the foreign key does not check: it does not \
                  hold for them)"
        }
        false => "",
    };
    let note = format!(
        "the cycle loaded with FK checks off and rows committed before this one reference a parent the \
         destination does not hold (the parent was to come later){unchecked}: {}; running the job again with \
         on_conflict = \"skip\" or \"update\" (or truncate = true) once the cause is fixed writes the parents",
        said.join("; ")
    );
    noted_before_complete(e, &note)
}

/// `e` with `note` added: for a rejected row, before the tables complete.
fn noted_before_complete(e: SyncError, note: &str) -> SyncError {
    match e {
        SyncError::Rejected {
            destination,
            table,
            key,
            message,
            written,
        } => {
            let written = match written.split_once("; tables complete") {
                Some((before, after)) => format!("{before}; {note}; tables complete{after}"),
                None => format!("{written}; {note}"),
            };
            SyncError::Rejected {
                destination,
                table,
                key,
                message,
                written,
            }
        }
        e => super::with_note(e, note),
    }
}

/// Groups the plan's tables into units (a table, or the tables of one cycle) by
/// dependency level: the units of one level do not depend on each other.
fn units_by_level(plan: &Plan) -> Vec<Vec<Vec<usize>>> {
    let level_of: HashMap<&str, usize> = plan
        .levels
        .iter()
        .enumerate()
        .flat_map(|(l, names)| names.iter().map(move |n| (n.as_str(), l)))
        .collect();
    let mut levels: Vec<Vec<Vec<usize>>> = vec![Vec::new(); plan.levels.len().max(1)];
    let mut i = 0;
    while i < plan.tables.len() {
        let mut unit = vec![i];
        while plan.tables[i].cycle.is_some()
            && plan
                .tables
                .get(unit[unit.len() - 1] + 1)
                .is_some_and(|n| n.cycle == plan.tables[i].cycle)
        {
            unit.push(unit[unit.len() - 1] + 1);
        }
        let level = level_of.get(plan.tables[i].name.as_str()).copied().unwrap_or(0);
        i = unit[unit.len() - 1] + 1;
        levels[level].push(unit);
    }
    levels
}

/// Copies every table of the plan to every destination, level by level, with the
/// units of a level spread over the lanes. When no destination checks foreign keys
/// during the load, order does not matter: every unit is one level, largest first.
pub async fn load(
    plan: &Plan,
    lanes: &mut [Lane],
    subset: &Subset,
    anon: &Anon,
    progress: &dyn Progress,
) -> Result<Vec<TableReport>, SyncError> {
    let engines: Vec<_> = lanes[0].dests.iter().map(|d| d.conn.dialect().engine()).collect();
    let respell = super::respell::find(plan, &mut lanes[0].source, &engines, subset, progress).await?;
    let respell = &respell;
    fill_key_maps(plan, &mut lanes[0], subset, anon, respell, progress).await?;
    refuse_changed_keys(plan, &mut lanes[0], subset, anon, respell).await?;
    let mut reports: Vec<Option<TableReport>> = plan.tables.iter().map(|_| None).collect();
    let mut levels = units_by_level(plan);
    if lanes.len() > 1 && lanes[0].dests.iter().all(|d| d.fk_free()) {
        let mut sized = Vec::new();
        for unit in levels.into_iter().flatten() {
            let mut rows = 0;
            for &ti in &unit {
                let tp = &plan.tables[ti];
                rows += match tp.rows {
                    Rows::Subset => subset.keys.get(&tp.table.table_name()).map_or(0, |k| k.len() as u64),
                    Rows::All => lanes[0].source.estimate_rows(&tp.table).await?,
                };
            }
            sized.push((rows, unit));
        }
        sized.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        levels = vec![sized.into_iter().map(|(_, u)| u).collect()];
    }
    for level in levels {
        let queue: Mutex<VecDeque<Vec<usize>>> = Mutex::new(level.into_iter().collect());
        let workers = lanes.iter_mut().map(|lane| {
            let queue = &queue;
            async move {
                let mut done = Vec::new();
                loop {
                    let next = queue.lock().expect("lock").pop_front();
                    let Some(unit) = next else { break };
                    done.extend(load_unit(plan, &unit, lane, subset, anon, respell, progress).await?);
                }
                Ok::<_, SyncError>(done)
            }
        });
        for result in join_all(workers.collect()).await {
            for (ti, r) in result? {
                reports[ti] = Some(r);
            }
        }
    }
    Ok(reports
        .into_iter()
        .map(|r| r.expect("every table was loaded"))
        .collect())
}

/// `on_conflict = "update"` into a destination checking FKs row by row overwrites a
/// row found by its key with the source's values, a unique key other than that too. Where
/// rows of a destination table reference that other key (an FK without an ON UPDATE
/// action: NO ACTION or RESTRICT), a changed value is refused by the destination midway,
/// the tables before it written (a one-transaction PostgreSQL load, FKs dropped and
/// validated again, follows it; `truncate` writes the tables afresh). So the source's
/// rows of such a table are read and transformed once more before anything is written,
/// and the first whose key value differs from the destination's row with its key,
/// referenced there, refuses the run, naming the FK. Only tables with such references.
async fn refuse_changed_keys(
    plan: &Plan,
    lane: &mut Lane,
    subset: &Subset,
    anon: &Anon,
    respell: &Respellings,
) -> Result<(), SyncError> {
    let Lane { source, dests } = lane;
    for dest in dests.iter_mut() {
        if dest.fk_free() || dest.spec.truncate || dest.spec.on_conflict != Conflict::Update {
            continue;
        }
        // MariaDB/MySQL: children in other databases of the server reference the
        // destination's tables too (InnoDB FKs cross databases).
        let fold = super::outsiders::names_fold(&mut dest.conn).await?;
        let elsewhere = super::outsiders::other_database_fks(&mut dest.conn).await?;
        for tp in &plan.tables {
            let name = tp.table.table_name();
            let Some(parent) = dest.tables.get(&name).cloned() else {
                continue;
            };
            let key = row_key(&tp.table);
            let deferred = |child: &tether_schema::TableName| {
                tp.cycle
                    .is_some_and(|c| plan.cycles[c].strategy == CycleStrategy::Defer)
                    && plan
                        .tables
                        .iter()
                        .any(|t| &t.table.table_name() == child && t.cycle == tp.cycle)
            };
            // (child, FK, whether the child is in another database of the server)
            let mut candidates: Vec<(Table, tether_schema::ForeignKey, bool)> = Vec::new();
            for (source_name, child) in dest.tables.iter() {
                for fk in &child.foreign_keys {
                    if !deferred(source_name) {
                        candidates.push((child.clone(), fk.clone(), false));
                    }
                }
            }
            candidates.extend(dest.outsider_fks.iter().cloned().map(|(t, fk)| (t, fk, false)));
            candidates.extend(
                elsewhere
                    .iter()
                    .filter(|(_, fk)| super::outsiders::same_name(fold, &fk.referenced_table, &parent.name))
                    .cloned()
                    .map(|(t, fk)| (t, fk, true)),
            );
            let mut fks = Vec::new();
            for (child, fk, other_database) in candidates {
                let keyed = fk
                    .referenced_columns
                    .iter()
                    .all(|c| key.iter().any(|k| k.eq_ignore_ascii_case(c)));
                let follows = !matches!(
                    fk.on_update,
                    tether_schema::FkAction::NoAction | tether_schema::FkAction::Restrict
                );
                let here = other_database
                    || parent_table(dest, &child, &fk).is_some_and(|p| p.table_name() == parent.table_name());
                if keyed || follows || fk.is_virtual || !here {
                    continue;
                }
                if super::destination::references_any(&mut dest.conn, &child, &fk).await? {
                    fks.push((child, fk));
                }
            }
            if fks.is_empty() {
                continue;
            }
            let spec = read_spec(tp, subset);
            if matches!(&spec.filter, Filter::KeysIn { keys, .. } if keys.is_empty()) {
                continue;
            }
            let mut transforms = match (&anon.seed, tp.transforms.is_empty()) {
                (Some(seed), false) => {
                    Some(build_transforms(tp, &tp.transforms, source, seed, &anon.collations).await?)
                }
                _ => None,
            };
            let pos = |c: &String| tp.table.columns.iter().position(|x| &x.name == c);
            let key_at: Vec<usize> = key.iter().filter_map(pos).collect();
            let (tx, rx) = mpsc::channel::<Batch>(4);
            let read = source.read(&spec, plan.batch_size, tx);
            let conn = &mut dest.conn;
            let check = async {
                let mut rx = rx;
                while let Some(mut batch) = rx.recv().await {
                    respell.apply(&name, &mut batch);
                    if let Some(t) = transforms.as_mut() {
                        t.apply(&mut batch, &anon.maps)?;
                    }
                    for (child, fk) in &fks {
                        let ref_at: Vec<usize> = fk.referenced_columns.iter().filter_map(pos).collect();
                        if ref_at.len() != fk.referenced_columns.len() || key_at.len() != key.len() {
                            continue;
                        }
                        if let Some(i) = changed_key(conn, &parent, &key, &key_at, child, fk, &ref_at, &batch).await? {
                            let k: Vec<Value> = key_at.iter().map(|&p| batch[i][p].clone()).collect();
                            let child = match &child.schema {
                                Some(database) if conn.engine() == tether_connect::Engine::Mysql => {
                                    format!("{database}.{} (a table of another database of the server)", child.name)
                                }
                                _ => child.name.clone(),
                            };
                            return Ok(Some((describe_key(&key, &k), child, fk.clone())));
                        }
                    }
                }
                Ok::<_, SyncError>(None)
            };
            let (read, found) = tokio::join!(read, check);
            if let Some((row, child, fk)) = found? {
                return Err(SyncError::Plan(format!(
                    "{}: on_conflict = \"update\" would change {}'s key ({}) in row {row} from the value rows of \
                     {child} reference through foreign key {} (the source holds another value there now); this \
                     destination checks foreign keys row by row and {} has no ON UPDATE action, so the load would \
                     be refused midway, the tables before it written. Nothing was written: set truncate = true on \
                     the destination to empty the job's tables and write them afresh",
                    dest.shown,
                    tp.name,
                    fk.referenced_columns.join(", "),
                    fk.name,
                    fk.name,
                )));
            }
            read?;
        }
    }
    Ok(())
}

/// The index in `batch` of the first row (its key at `key_at`, the referenced
/// columns at `ref_at`) whose row with the same key in the destination's `parent` holds
/// other values in `fk`'s referenced columns, values rows of `child` reference.
#[allow(clippy::too_many_arguments)]
async fn changed_key(
    conn: &mut Connection,
    parent: &Table,
    key: &[String],
    key_at: &[usize],
    child: &Table,
    fk: &tether_schema::ForeignKey,
    ref_at: &[usize],
    batch: &Batch,
) -> Result<Option<usize>, SyncError> {
    let d = conn.dialect();
    let joined: Vec<String> = fk
        .columns
        .iter()
        .zip(&fk.referenced_columns)
        .map(|(c, r)| format!("c.{} = p.{}", d.ident(c), d.ident(r)))
        .collect();
    let referenced = format!(
        "EXISTS (SELECT 1 FROM {} c WHERE {})",
        d.qualified(child),
        joined.join(" AND ")
    );
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    for (c, chunk) in batch.chunks(100).enumerate() {
        let selects: Vec<String> = chunk
            .iter()
            .enumerate()
            .filter(|(_, row)| key_at.iter().all(|&p| !row[p].is_null()))
            .map(|(i, row)| {
                let same: Vec<String> = key
                    .iter()
                    .zip(key_at)
                    .map(|(k, &p)| format!("p.{} = {}", d.ident(k), d.literal(&row[p])))
                    .collect();
                let now: Vec<String> = fk
                    .referenced_columns
                    .iter()
                    .zip(ref_at)
                    .map(|(r, &p)| match row[p].is_null() {
                        true => format!("p.{} IS NULL", d.ident(r)),
                        false => format!("p.{} = {}", d.ident(r), d.literal(&row[p])),
                    })
                    .collect();
                format!(
                    "SELECT {} FROM {} p WHERE {} AND NOT ({}) AND {referenced}",
                    c * 100 + i,
                    d.own_rows(parent),
                    same.join(" AND "),
                    now.join(" AND ")
                )
            })
            .collect();
        if selects.is_empty() {
            continue;
        }
        let found = conn
            .query(&selects.join(" UNION ALL "), std::slice::from_ref(&int))
            .await?;
        let first = found
            .iter()
            .filter_map(|row| match row.first() {
                Some(Value::Int(n)) => usize::try_from(*n).ok(),
                Some(Value::UInt(n)) => usize::try_from(*n).ok(),
                Some(Value::Text(t)) => t.parse().ok(),
                _ => None,
            })
            .min();
        if first.is_some() {
            return Ok(first);
        }
    }
    Ok(None)
}

/// Awaits futures concurrently, keeping their order.
pub(crate) async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}
