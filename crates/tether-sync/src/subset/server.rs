//! Server-side selection on PostgreSQL: the subset's fixpoint computed by the source
//! itself, each table's chosen keys in a TEMP table of one snapshot connection and each
//! relation one `INSERT INTO tmp SELECT ... JOIN ...` (hash or merge joins planned by the
//! server, no keys shipped to Tether and back), then every chosen row read once with
//! all its columns for the load. Chosen by [`super::KeyReads::Server`] only: measured
//! slower than the client's rounds on the demo (BENCHMARKS.md, "Server-side selection").
//!
//! Same semantics as the client-side rounds in the parent module: the rows reached
//! downwards (targets, then children of followed FKs, at most the cap per parent value,
//! the first by key) to their fixpoint, then every parent of an included row to its
//! fixpoint. The result does not depend on the order relations are evaluated in: a
//! child's cap ranks every child row of a parent value, whichever round asks for it.
//!
//! A read-only transaction may write temp tables but not create them, so the tables are
//! made on a second snapshot connection outside its transaction, which then joins the
//! snapshot again (`pg_export_snapshot()` of the first). Where that fails (no TEMP
//! privilege, a hot standby) or the job needs what SQL here does not reproduce exactly
//! (a `percent` target: a hash computed by Tether; a capped child whose key is not
//! integers: Tether's order of values), [`compute`] answers `None` and the caller
//! chooses on the client as before.

use std::collections::HashMap;

use tether_connect::{Batch, Connection, Dialect, Engine, Filter, ReadSpec, Row, Value};
use tether_schema::{DataType, ForeignKey, Schema, Table, TableName};
use tokio::sync::mpsc;

use super::{cmp_at, cmp_key, pick, row_bytes, Subset, KEEP_ROWS_BYTES};
use crate::error::SyncError;
use crate::plan::{row_key, SubsetRules};

/// One subset table: its model, key, and the names of its two temp tables (rows reached
/// downwards, and rows included), each `(key columns..., tether_gen)`.
struct Tmp {
    table: Table,
    key: Vec<String>,
    down: String,
    inc: String,
}

/// Why the server cannot choose this job's rows exactly as the client would, if it
/// cannot.
fn unsupported(source: &Connection, more: &[Connection], schema: &Schema, rules: &SubsetRules) -> Option<String> {
    if source.engine() != Engine::Postgres {
        return Some("not a PostgreSQL source".into());
    }
    if more.is_empty() {
        return Some("one source connection (`parallelism = 1`): no second one to make temp tables on".into());
    }
    for name in &rules.tables {
        let Some(table) = schema.table(name) else {
            return Some(format!("table {name} is not in the source's model"));
        };
        if table.primary_key.is_empty() {
            return Some(format!("table {name} has no primary key"));
        }
        // The temp tables' generation and the cap's rank are columns next to the key's.
        if let Some(c) = table
            .primary_key
            .iter()
            .find(|c| ["tether_gen", "tether_rn"].contains(&c.as_str()))
        {
            return Some(format!("table {name}'s key column {c} is a name the server path uses"));
        }
        // `child IN (SELECT parent ...)` needs comparable types (PostgreSQL: 42883 for
        // varchar = integer, which a virtual FK may pair); Tether compares values.
        for fk in &table.foreign_keys {
            let Some(parent) = schema.table(&fk.referenced_name()) else {
                continue;
            };
            for (cc, pc) in fk.columns.iter().zip(&fk.referenced_columns) {
                let (Some(ct), Some(pt)) = (table.column(cc), parent.column(pc)) else {
                    continue;
                };
                let (ct, pt) = (&ct.normalized_type, &pt.normalized_type);
                let alike = (ct.is_integer() && pt.is_integer()) || (ct.is_text() && pt.is_text()) || ct == pt;
                if !alike {
                    return Some(format!(
                        "{} ({cc}) -> {} ({pc}) pairs columns of different types",
                        name,
                        fk.referenced_name()
                    ));
                }
            }
        }
    }
    // Children joined by `c.x = p.y` take the parent's collation only when the
    // child's is the default; two explicit collations conflict (42P22).
    for (child, fk_name) in rules.follow.keys() {
        let Some(table) = schema.table(child) else { continue };
        let Some(fk) = table.foreign_keys.iter().find(|f| &f.name == fk_name) else {
            continue;
        };
        let Some(parent) = schema.table(&fk.referenced_name()) else {
            continue;
        };
        let clash = fk.columns.iter().zip(&fk.referenced_columns).any(|(c, p)| {
            let (ours, theirs) = (table.extras.collations.get(c), parent.extras.collations.get(p));
            ours.is_some() && ours != theirs
        });
        if clash {
            return Some(format!(
                "children of {fk_name}: {child}'s columns have another collation than {}'s",
                fk.referenced_name()
            ));
        }
    }
    if let Some((name, _)) = rules.targets.iter().find(|(_, t)| t.percent.is_some()) {
        return Some(format!("target {name} keeps a percentage (a hash Tether computes)"));
    }
    for ((child, fk), cap) in &rules.follow {
        let Some(table) = schema.table(child) else { continue };
        let int_key = row_key(table)
            .iter()
            .all(|c| table.column(c).is_some_and(|c| c.normalized_type.is_integer()));
        if cap.is_some() && !int_key {
            return Some(format!(
                "children of {fk} are capped and {child}'s key is not integers (ranked in Tether's order of values)"
            ));
        }
    }
    None
}

/// `a.x = b.x AND ...` over paired column lists.
fn equal(d: &dyn Dialect, a: &str, ac: &[String], b: &str, bc: &[String]) -> String {
    ac.iter()
        .zip(bc)
        .map(|(x, y)| format!("{a}.{} = {b}.{}", d.ident(x), d.ident(y)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `a.x, a.y` of `cols`.
fn cols(d: &dyn Dialect, a: &str, cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("{a}.{}", d.ident(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `insert` (an `INSERT ... SELECT` into a temp table) and returns the rows it
/// added. The temp tables are not `ANALYZE`d: the planner takes a generation for 0.5%
/// of its table (on the demo it still chose hash joins; not measured with statistics).
async fn inserted(conn: &mut Connection, insert: &str, what: &str) -> Result<u64, SyncError> {
    let started = std::time::Instant::now();
    let rows = conn
        .query(
            &format!("WITH ins AS ({insert} RETURNING 1) SELECT count(*) FROM ins"),
            &[DataType::Int {
                bytes: 8,
                unsigned: false,
            }],
        )
        .await?;
    let n = match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n as u64,
        _ => 0,
    };
    tracing::debug!("subset on the server: {what}: {n} rows, {:?}", started.elapsed());
    Ok(n)
}

/// Chooses the subset on the server where it can (see the module doc); `None` when it
/// cannot, with the reason in the log, `more[0]` back in the snapshot.
pub(super) async fn compute(
    source: &mut Connection,
    more: &mut [Connection],
    schema: &Schema,
    rules: &SubsetRules,
) -> Result<Option<Subset>, SyncError> {
    let started = std::time::Instant::now();
    if let Some(why) = unsupported(source, more, schema, rules) {
        tracing::debug!("subset chosen by Tether, not the server: {why}");
        return Ok(None);
    }
    let d = source.dialect();
    let text = [DataType::Text];
    let id = match source
        .query("SELECT pg_export_snapshot()", &text)
        .await?
        .first()
        .and_then(|r| r.first())
    {
        Some(Value::Text(id)) => id.clone(),
        other => {
            return Err(SyncError::Plan(format!(
                "subset: pg_export_snapshot() on the source {} answered {other:?}",
                source.shown()
            )))
        }
    };
    // The source keeps the snapshot's transaction open, idle, while the other
    // connection chooses: a server that ends idle transactions
    // (`idle_in_transaction_session_timeout`) would end it, and the load after with it.
    // It is kept busy with a trivial read at a third of that timeout.
    let idle = idle_timeout(source).await?;
    let choosing = choose(&mut more[0], &id, d, schema, rules, started);
    let Some(every) = idle else {
        return choosing.await;
    };
    tokio::pin!(choosing);
    loop {
        tokio::select! {
            chosen = &mut choosing => return chosen,
            _ = tokio::time::sleep(every) => {
                source.execute("SELECT 1").await?;
            }
        }
    }
}

/// A third of the server's `idle_in_transaction_session_timeout` for `conn`'s session,
/// when it has one.
async fn idle_timeout(conn: &mut Connection) -> Result<Option<std::time::Duration>, SyncError> {
    let rows = conn
        .query(
            "SELECT setting::int8 FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'",
            &[DataType::Int {
                bytes: 8,
                unsigned: false,
            }],
        )
        .await?;
    Ok(match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(ms)) if *ms > 0 => Some(std::time::Duration::from_millis((*ms as u64 / 3).max(1))),
        _ => None,
    })
}

/// The server's choice on `conn` (the second source connection), from the snapshot
/// `id` the source exported: temp tables, the fixpoint down and up, the rows read back.
async fn choose(
    conn: &mut Connection,
    id: &str,
    d: &'static dyn Dialect,
    schema: &Schema,
    rules: &SubsetRules,
    started: std::time::Instant,
) -> Result<Option<Subset>, SyncError> {
    let mut tmp: HashMap<TableName, Tmp> = HashMap::new();
    let mut create = String::new();
    for (n, name) in rules.tables.iter().enumerate() {
        let table = schema.table(name).expect("subset tables exist").clone();
        let key = row_key(&table);
        let t = Tmp {
            down: format!("tether_subset_down_{n}"),
            inc: format!("tether_subset_inc_{n}"),
            table,
            key,
        };
        for tmp_name in [&t.down, &t.inc] {
            create.push_str(&format!(
                "DROP TABLE IF EXISTS pg_temp.{tmp_name}; \
                 CREATE TEMP TABLE {tmp_name} AS SELECT {}, 0 AS tether_gen FROM {} WITH NO DATA; \
                 CREATE INDEX ON pg_temp.{tmp_name} ({});\n",
                d.idents(&t.key),
                d.own_rows(&t.table),
                d.idents(&t.key),
            ));
        }
        tmp.insert(name.clone(), t);
    }
    // Out of the read-only transaction to create them, then back into the snapshot.
    conn.execute("ROLLBACK").await?;
    let made = conn.execute(&create).await;
    conn.join_snapshot(id).await?;
    if let Err(e) = made {
        tracing::debug!("subset chosen by Tether, not the server: the temp tables cannot be made: {e}");
        return Ok(None);
    }

    // FK edges among subset tables, in a fixed order: (child, fk, parent).
    let mut edges: Vec<(&TableName, &ForeignKey, TableName)> = Vec::new();
    for name in &rules.tables {
        for fk in &tmp[name].table.foreign_keys {
            let parent = fk.referenced_name();
            if rules.tables.contains(&parent) {
                edges.push((name, fk, parent));
            }
        }
    }
    let mut statements = 0usize;

    // Targets, generation 0 of the rows reached downwards.
    let mut fresh: HashMap<&TableName, u64> = HashMap::new();
    for (name, target) in &rules.targets {
        let t = &tmp[name];
        let spec = ReadSpec {
            table: t.table.clone(),
            columns: t.key.clone(),
            filter: target.filter(),
            order_by: if target.limit.is_some() { t.key.clone() } else { vec![] },
            limit: target.limit,
        };
        let n = inserted(
            conn,
            &format!(
                "INSERT INTO pg_temp.{down} SELECT {qk}, 0 FROM ({select}\n) q \
                 WHERE NOT EXISTS (SELECT 1 FROM pg_temp.{down} x WHERE {eq})",
                down = t.down,
                qk = cols(d, "q", &t.key),
                select = spec.select_sql(d, None),
                eq = equal(d, "x", &t.key, "q", &t.key),
            ),
            &format!("target {name}"),
        )
        .await?;
        statements += 1;
        *fresh.entry(name).or_default() += n;
    }

    // Children of followed FKs, a generation at a time: a child row is reached from the
    // parent rows reached in the generation before it.
    let mut gen = 0u32;
    while fresh.values().any(|&n| n > 0) {
        let mut next: HashMap<&TableName, u64> = HashMap::new();
        for (child, fk, parent) in &edges {
            let Some(cap) = rules.follow.get(&((*child).clone(), fk.name.clone())) else {
                continue;
            };
            if fresh.get(parent).copied().unwrap_or(0) == 0 {
                continue;
            }
            let (c, p) = (&tmp[*child], &tmp[parent]);
            let values = format!(
                "SELECT {pr} FROM {ptable} p JOIN pg_temp.{pdown} g ON {peq} WHERE g.tether_gen = {gen}",
                pr = cols(d, "p", &fk.referenced_columns),
                ptable = d.own_rows(&p.table),
                pdown = p.down,
                peq = equal(d, "p", &p.key, "g", &p.key),
            );
            let picked = match cap {
                None => format!(
                    "SELECT {ck} FROM {ctable} c WHERE ({cf}) IN ({values})",
                    ck = cols(d, "c", &c.key),
                    ctable = d.own_rows(&c.table),
                    cf = cols(d, "c", &fk.columns),
                ),
                // The first `cap` children of each parent value by key, among all its
                // children (those already reached too), as the client ranks them.
                Some(cap) => format!(
                    "SELECT {ckk} FROM (SELECT {ck}, row_number() OVER (PARTITION BY {cf} ORDER BY {ck}) AS tether_rn \
                     FROM {ctable} c WHERE ({cf}) IN ({values})) r WHERE r.tether_rn <= {cap}",
                    ckk = cols(d, "r", &c.key),
                    ck = cols(d, "c", &c.key),
                    ctable = d.own_rows(&c.table),
                    cf = cols(d, "c", &fk.columns),
                ),
            };
            let n = inserted(
                conn,
                &format!(
                    "INSERT INTO pg_temp.{down} SELECT {qk}, {g} FROM ({picked}) q \
                     WHERE NOT EXISTS (SELECT 1 FROM pg_temp.{down} x WHERE {eq})",
                    down = c.down,
                    qk = cols(d, "q", &c.key),
                    g = gen + 1,
                    eq = equal(d, "x", &c.key, "q", &c.key),
                ),
                &format!("{child} by {} (generation {})", fk.name, gen + 1),
            )
            .await?;
            statements += 1;
            *next.entry(*child).or_default() += n;
        }
        fresh = next;
        gen += 1;
    }
    let down_gens = gen;

    // Then every parent of an included row, a generation at a time.
    fresh = HashMap::new();
    for (name, t) in &tmp {
        let n = inserted(
            conn,
            &format!(
                "INSERT INTO pg_temp.{inc} SELECT {k}, 0 FROM pg_temp.{down} g",
                inc = t.inc,
                down = t.down,
                k = cols(d, "g", &t.key),
            ),
            &format!("{name} reached downwards"),
        )
        .await?;
        statements += 1;
        fresh.insert(name, n);
    }
    gen = 0;
    while fresh.values().any(|&n| n > 0) {
        let mut next: HashMap<&TableName, u64> = HashMap::new();
        for (child, fk, parent) in &edges {
            if fresh.get(child).copied().unwrap_or(0) == 0 {
                continue;
            }
            let (c, p) = (&tmp[*child], &tmp[parent]);
            let n = inserted(
                conn,
                &format!(
                    "INSERT INTO pg_temp.{pinc} SELECT {pk}, {g} FROM {ptable} p \
                     WHERE ({pr}) IN (SELECT {cf} FROM {ctable} c JOIN pg_temp.{cinc} i ON {ceq} WHERE i.tether_gen = {gen}) \
                     AND NOT EXISTS (SELECT 1 FROM pg_temp.{pinc} x WHERE {peq})",
                    pinc = p.inc,
                    pk = cols(d, "p", &p.key),
                    g = gen + 1,
                    ptable = d.own_rows(&p.table),
                    pr = cols(d, "p", &fk.referenced_columns),
                    cf = cols(d, "c", &fk.columns),
                    ctable = d.own_rows(&c.table),
                    cinc = c.inc,
                    ceq = equal(d, "c", &c.key, "i", &c.key),
                    peq = equal(d, "x", &p.key, "p", &p.key),
                ),
                &format!(
                    "{parent} by ({}) of {child} (generation {})",
                    fk.referenced_columns.join(", "),
                    gen + 1
                ),
            )
            .await?;
            statements += 1;
            *next.entry(parent).or_default() += n;
        }
        fresh = next;
        gen += 1;
    }
    let chosen_in = started.elapsed();

    // Every chosen row, every column, once: kept for the load while they fit in
    // KEEP_ROWS_BYTES; past it a table's keys only (the load reads its rows again).
    let mut out = Subset::default();
    let mut kept_bytes = 0usize;
    let mut names: Vec<&TableName> = tmp.keys().collect();
    names.sort();
    for name in names {
        let t = &tmp[name];
        let spec = ReadSpec {
            table: t.table.clone(),
            columns: t.table.columns.iter().map(|c| c.name.clone()).collect(),
            filter: Filter::Where(format!(
                "({}) IN (SELECT {} FROM pg_temp.{})",
                d.idents(&t.key),
                d.idents(&t.key),
                t.inc
            )),
            order_by: vec![],
            limit: None,
        };
        let key_idx: Vec<usize> = t
            .key
            .iter()
            .map(|k| spec.columns.iter().position(|c| c == k).expect("key columns are read"))
            .collect();
        let (tx, mut rx) = mpsc::channel::<Batch>(4);
        let read = conn.read(&spec, 10_000, tx);
        let collect = async {
            let mut rows: Option<Vec<Row>> = Some(Vec::new());
            let mut keys: Vec<Vec<Value>> = Vec::new();
            let mut bytes = 0usize;
            while let Some(batch) = rx.recv().await {
                for row in batch {
                    keys.push(pick(&row, &key_idx));
                    if let Some(kept) = &mut rows {
                        bytes += row_bytes(&row);
                        if kept_bytes + bytes > KEEP_ROWS_BYTES {
                            tracing::debug!("subset: rows of {name} past {KEEP_ROWS_BYTES} bytes, not kept");
                            rows = None;
                            bytes = 0;
                        } else {
                            kept.push(row);
                        }
                    }
                }
            }
            (rows, keys, bytes)
        };
        let (read, (rows, mut keys, bytes)) = tokio::join!(read, collect);
        read?;
        statements += 1;
        kept_bytes += bytes;
        keys.sort_by(|a, b| cmp_key(a, b));
        if let Some(mut rows) = rows {
            rows.sort_by(|a, b| cmp_at(a, b, &key_idx));
            out.rows.get_mut().expect("subset rows lock").insert(name.clone(), rows);
        }
        out.keys.insert(name.clone(), keys);
    }
    out.on_server = true;
    tracing::debug!(
        "subset chosen by the server: {} keys in {} tables ({} kept with their rows, {kept_bytes} bytes), \
         {down_gens} generations down and {gen} up, {statements} statements, {chosen_in:?} choosing, {:?} in all",
        out.keys.values().map(Vec::len).sum::<usize>(),
        out.keys.len(),
        out.rows.get_mut().expect("subset rows lock").len(),
        started.elapsed()
    );
    Ok(Some(out))
}
