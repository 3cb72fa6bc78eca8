//! Runs a [`Plan`] on a backend connection: one transaction (or a savepoint inside
//! the client's transaction), locked reads of the affected keys, checks (children
//! that refuse, parents of the rows the statement writes), then the child
//! statements and the original with the backend's FK checks off. Every child
//! change is a statement of its own, so it reaches the binlog.
//!
//! The executor fills the plan's holes with the keys it reads, follows the plan's
//! rules to a fixpoint (self-references and cycles) and replays the statement's
//! rows in order against what the plan deletes and re-keys; it decides nothing else.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::wire::value::Value;
use tether_fkplan::{
    ActionKind, Event, KeyValue, NewChildValue, NewRows, ParentCheck, ParentChecks, Plan, ReplaceSource, Start,
};

use crate::backend::{Backend, Rows};
use crate::reply::{ColumnDef, Reply, ServerError};

/// InnoDB refuses cascades that reach this depth (MariaDB 10.11, measured).
const MAX_CASCADE_DEPTH: usize = 15;
const SAVEPOINT: &str = "tether_fk";
/// The savepoint of a native run whose outcome a plan takes (see `native_outcome`).
const NATIVE_SAVEPOINT: &str = "tether_native";
/// The savepoint before a plan's batch of writes (see `native_error_after`).
const BATCH_SAVEPOINT: &str = "tether_batch";

/// The statements a plan decided to run, in order, once its checks passed.
#[derive(Debug, Default)]
struct Writes {
    statements: Vec<String>,
    /// For a DELETE: the statement's own rows (identity -> scan position).
    start_rows: HashMap<Vec<String>, usize>,
    /// Positions of the statement's own rows that a cascade from an earlier row of
    /// the same statement deletes first: InnoDB does not count those as affected.
    uncounted: HashSet<usize>,
    /// Positions of own rows a cascade starting at the same row reaches again
    /// (a cycle): REPLACE counts their delete, though the cascade did it.
    self_reached: HashSet<usize>,
    /// Every row the plan deletes or re-keys, for the parent checks of the
    /// statement's own rows.
    changes: Vec<Change>,
    /// Statements that run in place of the original (a multi-table DELETE's
    /// deletes by key).
    instead: Option<Vec<String>>,
}

/// A row of `table` (its rule key columns) that the plan deletes (`new` is `None`)
/// or re-keys, and the first of the statement's own rows that does it.
#[derive(Debug)]
struct Change {
    table: String,
    old: Vec<String>,
    new: Option<Vec<String>>,
    origin: usize,
}

impl Writes {
    /// MariaDB's rows affected for the statement, from the original's own count.
    fn adjust(&self, plan: &Plan, reply: Reply) -> Reply {
        match reply {
            Reply::Ok(mut info) => {
                if starts_with_word(&plan.original, "delete") {
                    info.affected_rows = info.affected_rows.saturating_sub(self.uncounted.len() as u64);
                } else if starts_with_word(&plan.original, "replace") {
                    info.affected_rows += self.self_reached.len() as u64;
                }
                Reply::Ok(info)
            }
            other => other,
        }
    }
}

/// Why a plan stopped: the error, and for FK errors the position (in the lock
/// read's order) of the first own row of the statement that causes it.
struct Failure {
    error: ServerError,
    origin: Option<usize>,
}

impl From<ServerError> for Failure {
    fn from(error: ServerError) -> Self {
        Failure { error, origin: None }
    }
}

/// The smallest origin among `item` rows whose key at `positions` is in `referenced`.
fn first_origin(item: &Item, positions: &[usize], referenced: &HashSet<Vec<String>>) -> Option<usize> {
    item.old
        .iter()
        .zip(&item.origin)
        .filter(|(row, _)| referenced.contains(&positions.iter().map(|p| row[*p].clone()).collect::<Vec<_>>()))
        .map(|(_, o)| *o)
        .min()
}

/// Rows of one table flowing through the plan: key values as SQL literals.
struct Item {
    table: String,
    event: Event,
    /// Old key values (the table's rule key columns).
    old: Vec<Vec<String>>,
    /// New key values, same shape (update events only).
    new: Vec<Vec<String>>,
    depth: usize,
    /// Tables an update earlier in this cascade chain touched.
    updated_chain: Vec<String>,
    /// Per row: the first of the statement's own rows whose cascade reaches it.
    origin: Vec<usize>,
    /// Rows seen before, now reached from an earlier own row: only their origins
    /// travel on (no checks, no statements).
    replay: bool,
}

impl Item {
    /// The statement's own rows of `table`: where a cascade starts.
    fn start(table: &str, event: Event, old: Vec<Vec<String>>, new: Vec<Vec<String>>, origin: Vec<usize>) -> Item {
        Item {
            table: table.to_string(),
            event,
            old,
            new,
            depth: 0,
            updated_chain: match event {
                Event::Delete => Vec::new(),
                Event::Update => vec![table.to_string()],
            },
            origin,
            replay: false,
        }
    }
}

/// Runs the plan and returns what the client sees for the original statement.
pub async fn run(plan: &Plan, backend: &mut Backend) -> Vec<Reply> {
    // Inside the client's transaction (or with autocommit off) a failed statement
    // must roll back only itself: use a savepoint. Otherwise wrap in BEGIN/COMMIT.
    let in_tx = match backend.read("SELECT @@in_transaction, @@autocommit").await {
        Ok(rows) => match rows.rows.first() {
            Some(r) => literal_is_true(r.first()) || !literal_is_true(r.get(1)),
            None => false,
        },
        Err(e) => return vec![Reply::Error(e)],
    };
    let (open, commit, rollback) = if in_tx {
        (
            format!("SAVEPOINT {SAVEPOINT}"),
            format!("RELEASE SAVEPOINT {SAVEPOINT}"),
            format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}"),
        )
    } else {
        ("BEGIN".to_string(), "COMMIT".to_string(), "ROLLBACK".to_string())
    };
    // A connection lost inside our own BEGIN ... COMMIT loses nothing the client
    // opened: the client may go on (reconnecting) after the error.
    backend.set_own_transaction(!in_tx);
    let replies = run_in_transaction(plan, backend, &open, &commit, &rollback).await;
    backend.set_own_transaction(false);
    replies
}

/// Opens the transaction or savepoint, runs the plan, and ends it.
async fn run_in_transaction(
    plan: &Plan,
    backend: &mut Backend,
    open: &str,
    commit: &str,
    rollback: &str,
) -> Vec<Reply> {
    if let Err(e) = backend.exec(open).await {
        return vec![Reply::Error(e)];
    }
    let outcome = if plan.steps.is_empty() {
        run_inside(plan, backend).await
    } else {
        run_steps(plan, backend).await
    };
    match outcome {
        Ok(reply) => {
            if let Err(e) = backend.exec(commit).await {
                let _ = backend.exec(rollback).await;
                return vec![Reply::Error(e)];
            }
            vec![reply]
        }
        Err(e) => {
            // A deadlock already rolled the transaction back; the savepoint is gone
            // then, and that is fine.
            let _ = backend.exec(rollback).await;
            let _ = backend.exec("SET foreign_key_checks = 1").await;
            vec![Reply::Error(e)]
        }
    }
}

fn starts_with_word(sql: &str, word: &str) -> bool {
    sql.trim_start()
        .get(..word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// How many leading key columns identify a row of `table`.
fn id_len(plan: &Plan, table: &str, event: Event, fallback: usize) -> usize {
    plan.rules_for(table, event)
        .map(|r| if r.pk_len == 0 { r.key_columns.len() } else { r.pk_len })
        .unwrap_or(fallback)
        .min(fallback)
}

fn literal_is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bytes(b)) => b.as_slice() != b"0",
        Some(Value::Int(i)) => *i != 0,
        Some(Value::UInt(u)) => *u != 0,
        _ => false,
    }
}

/// The original run natively, with InnoDB's checks, under a savepoint rolled back
/// at once: its error, or its result (rows affected, info) for the client. Rolled
/// back, it leaves nothing in the binlog; the row locks it took stay.
async fn native_outcome(plan: &Plan, backend: &mut Backend) -> Result<Reply, ServerError> {
    backend.exec(&format!("SAVEPOINT {NATIVE_SAVEPOINT}")).await?;
    let reply = single(backend, &plan.original).await;
    // After a deadlock the transaction, savepoint and all, is gone already.
    let rolled_back = backend.exec(&format!("ROLLBACK TO SAVEPOINT {NATIVE_SAVEPOINT}")).await;
    let reply = reply?;
    rolled_back?;
    Ok(reply)
}

/// A statement run as several planned statements, one per row, in order (see
/// [`Plan::steps`]); the client gets the native run's result.
async fn run_steps(plan: &Plan, backend: &mut Backend) -> Result<Reply, ServerError> {
    let native = native_outcome(plan, backend).await?;
    for step in &plan.steps {
        if step.is_passthrough() {
            single(backend, &step.original).await?;
        } else {
            run_inside(step, backend).await?;
        }
    }
    Ok(native)
}

/// A multi-table DELETE run natively under a savepoint: its result, and which of
/// the rows each target's read found it deleted (`read` keeps only those); then
/// rolled back. The plan deletes them by key in place of the original: MariaDB
/// deletes from the first table while it scans the join, and a cascade of an
/// early row can change which rows of the other tables still match.
async fn deleted_natively(
    plan: &Plan,
    backend: &mut Backend,
    read: &mut [(&tether_fkplan::Target, Vec<Vec<String>>, usize)],
) -> Result<(Reply, Vec<String>), ServerError> {
    backend.exec(&format!("SAVEPOINT {NATIVE_SAVEPOINT}")).await?;
    let reply = single(backend, &plan.original).await;
    let mut survivors: Vec<HashSet<Vec<String>>> = Vec::new();
    let mut failed = None;
    if reply.is_ok() {
        for (target, rows, _) in read.iter() {
            let Some(pk) = &target.by_key else {
                survivors.push(HashSet::new());
                continue;
            };
            let keys: Vec<String> = distinct_ids(rows, pk.len());
            if keys.is_empty() {
                survivors.push(HashSet::new());
                continue;
            }
            let sql = format!(
                "SELECT {} FROM {} WHERE {} IN ({})",
                pk.iter()
                    .map(|c| tether_fkplan::ident(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                tether_fkplan::ident(&target.table),
                row_sql(pk),
                keys.join(", ")
            );
            match backend.read(&sql).await {
                Ok(rows) => survivors.push(literals(&rows).into_iter().collect()),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
    }
    let rolled_back = backend.exec(&format!("ROLLBACK TO SAVEPOINT {NATIVE_SAVEPOINT}")).await;
    let reply = reply?;
    if let Some(e) = failed {
        return Err(e);
    }
    rolled_back?;
    let mut instead = Vec::new();
    for ((target, rows, _), gone) in read.iter_mut().zip(&survivors) {
        let Some(pk) = &target.by_key else { continue };
        rows.retain(|r| !gone.contains(&r[..pk.len()]));
        let keys = distinct_ids(rows, pk.len());
        if !keys.is_empty() {
            instead.push(format!(
                "DELETE FROM {} WHERE {} IN ({})",
                tether_fkplan::ident(&target.table),
                row_sql(pk),
                keys.join(", ")
            ));
        }
    }
    Ok((reply, instead))
}

/// The distinct leading `n` values of `rows`, each as an `IN` list item.
fn distinct_ids(rows: &[Vec<String>], n: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for r in rows {
        let id = &r[..n.min(r.len())];
        if seen.insert(id.to_vec()) {
            out.push(if id.len() == 1 {
                id[0].clone()
            } else {
                format!("({})", id.join(", "))
            });
        }
    }
    out
}

/// Key rows read by a lock read, without those whose primary key is NULL (the
/// missing side of an outer join).
fn present(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .filter(|r| r.first().is_some_and(|v| !is_null(v)))
        .collect()
}

/// Whether the start read of an ON DUPLICATE KEY UPDATE or REPLACE finds the rows
/// InnoDB finds: the table's unique indexes on the backend are the plan's, each a
/// B-tree over whole columns whose collations pad with spaces (so a `WHERE`
/// compares as the index does). A plan without a [`Clash`] needs no check.
/// Read with SHOW, which opens only this table.
async fn clash_decidable(plan: &Plan, backend: &mut Backend) -> Result<bool, ServerError> {
    let Some(clash) = &plan.clash else {
        return Ok(true);
    };
    // SHOW reads one table; an information_schema join can make MariaDB 10.11
    // open every view of the server (it crashed doing so, see NOTES.md).
    let table = tether_fkplan::ident(&plan.table);
    let text = |r: &[Value], i: usize| match r.get(i) {
        Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    };
    // Columns whose collation a WHERE cannot stand in for: NO PAD (a CHAR column
    // strips trailing spaces on the way in, which a NO PAD comparison with the
    // literal then sees), and a character set short of utf8mb4 when the
    // statement holds text outside ASCII (a character the column cannot store
    // becomes '?' outside strict mode, and may then clash).
    let non_ascii = !plan.original.is_ascii();
    let inexact: HashSet<String> = backend
        .read(&format!("SHOW FULL COLUMNS FROM {table}"))
        .await?
        .rows
        .iter()
        .filter(|r| {
            text(r, 2).is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("nopad") || (non_ascii && !c.starts_with("utf8mb4"))
            })
        })
        .filter_map(|r| text(r, 0))
        .collect();
    let mut names = HashSet::new();
    for r in &backend.read(&format!("SHOW INDEX FROM {table}")).await?.rows {
        if text(r, 1).as_deref() != Some("0") {
            continue;
        }
        let whole = text(r, 7).is_none() && text(r, 10).as_deref() == Some("BTREE");
        if !whole || text(r, 4).is_some_and(|c| inexact.contains(&c)) {
            return Ok(false);
        }
        if let Some(name) = text(r, 2) {
            names.insert(name);
        }
    }
    let known: HashSet<String> = clash.indexes.iter().cloned().collect();
    Ok(names == known)
}

/// Which existing row an ON DUPLICATE KEY UPDATE updates.
enum Updated {
    /// This row (its flags dropped), or none: the new row is inserted.
    Row(Option<Vec<String>>),
    /// Rows clash on different indexes and InnoDB's order of them cannot be read
    /// (the backend user lacks the PROCESS privilege): only InnoDB knows.
    Unknown,
}

/// Of the rows an ON DUPLICATE KEY UPDATE's new row clashes with (each ending with
/// the flags of [`Clash::flags`]), the one InnoDB updates: the row of the first
/// index in InnoDB's order that clashes.
async fn updated_row(
    clash: &tether_fkplan::Clash,
    table: &str,
    rows: Vec<Vec<String>>,
    backend: &mut Backend,
) -> Result<Updated, ServerError> {
    let n = clash.flags.len();
    let strip = |mut r: Vec<String>| {
        r.truncate(r.len() - n);
        r
    };
    if rows.len() <= 1 {
        return Ok(Updated::Row(rows.into_iter().next().map(strip)));
    }
    // InnoDB checks its indexes in the order of its dictionary: the clustered
    // index, then the others as they were created (an index added by ALTER TABLE
    // comes last, though SHOW INDEX lists NOT NULL unique keys first).
    let sql = format!(
        "SELECT i.NAME FROM information_schema.INNODB_SYS_INDEXES i \
         JOIN information_schema.INNODB_SYS_TABLES t ON t.TABLE_ID = i.TABLE_ID \
         WHERE t.NAME = CONCAT(DATABASE(), '/', {}) ORDER BY i.INDEX_ID",
        tether_fkplan::string_literal(table.as_bytes())
    );
    let order: Vec<String> = match backend.read(&sql).await {
        Ok(found) => found
            .rows
            .iter()
            .filter_map(|r| match r.first() {
                Some(Value::Bytes(name)) => Some(String::from_utf8_lossy(name).into_owned()),
                _ => None,
            })
            .collect(),
        Err(e) if e.code == 1227 => return Ok(Updated::Unknown),
        Err(e) => return Err(e),
    };
    let rank = |name: &str| order.iter().position(|o| o == name);
    let mut best: Option<(usize, Vec<String>)> = None;
    for r in rows {
        let flags = &r[r.len() - n..];
        let mut first = None;
        for (flag, name) in flags.iter().zip(&clash.flags) {
            if flag == "1" {
                let Some(at) = rank(name) else {
                    return Ok(Updated::Unknown);
                };
                first = Some(first.map_or(at, |f: usize| f.min(at)));
            }
        }
        let Some(first) = first else { continue };
        if best.as_ref().is_none_or(|(b, _)| first < *b) {
            best = Some((first, r));
        }
    }
    Ok(Updated::Row(best.map(|(_, r)| strip(r))))
}

/// `(a, b) IN ((1, 2), ...) OR c IN (...)`: the existing rows a `REPLACE ...
/// SELECT`'s new rows clash with; `None` when none can.
fn clash_condition(source: &ReplaceSource, rows: &[Vec<String>]) -> Option<String> {
    let mut conditions = Vec::new();
    for (columns, values) in &source.keys {
        let mut tuples: Vec<String> = Vec::new();
        for row in rows {
            let tuple: Option<Vec<String>> = values
                .iter()
                .map(|v| match v {
                    KeyValue::Column(n) => row.get(*n).cloned(),
                    KeyValue::Default(d) => Some(d.clone()),
                })
                .collect();
            let Some(tuple) = tuple else { continue };
            if tuple.iter().any(|v| is_null(v)) {
                continue;
            }
            tuples.push(if tuple.len() == 1 {
                tuple[0].clone()
            } else {
                format!("({})", tuple.join(", "))
            });
        }
        if !tuples.is_empty() {
            conditions.push(format!("{} IN ({})", row_sql(columns), tuples.join(", ")));
        }
    }
    (!conditions.is_empty()).then(|| conditions.join(" OR "))
}

async fn run_inside(plan: &Plan, backend: &mut Backend) -> Result<Reply, ServerError> {
    let mut writes = Writes::default();
    // The statement's own rows as the parent checks see them.
    let mut own: Vec<OwnRow> = Vec::new();
    // Statements whose row order the plan cannot follow take their outcome from a
    // native run; the plan then has no checks of its own to make.
    let by_key = matches!(&plan.start, Start::Multi { targets } if targets.iter().any(|t| t.by_key.is_some()));
    let mut native = match plan.native_first && !by_key {
        true => Some(native_outcome(plan, backend).await?),
        false => None,
    };
    let checks = !plan.native_first;
    match &plan.start {
        Start::Nothing => {}
        Start::Multi { targets } => {
            let mut read = Vec::new();
            for target in targets {
                let rows = backend.read(&target.read).await?;
                read.push((target, present(literals(&rows)), rows.columns.len()));
            }
            if by_key {
                let (reply, instead) = deleted_natively(plan, backend, &mut read).await?;
                native = Some(reply);
                writes.instead = Some(instead);
            }
            let mut items = Vec::new();
            for (target, all, width) in read {
                if all.is_empty() || !target.parent {
                    continue;
                }
                let (old, new) = match target.event {
                    Event::Delete => (all, Vec::new()),
                    Event::Update => {
                        let half = width / 2;
                        all.into_iter()
                            .map(|mut r| {
                                let new = r.split_off(half);
                                (r, new)
                            })
                            .unzip()
                    }
                };
                let origin = vec![0; old.len()];
                items.push(Item::start(&target.table, target.event, old, new, origin));
            }
            if let Err(failure) = cascade(plan, backend, items, &mut writes, checks).await {
                return Err(failure.error);
            }
        }
        Start::ReplaceSelect(source) => {
            let new_rows = backend.read(&source.query).await?;
            if let Some(condition) = clash_condition(source, &literals(&new_rows)) {
                let rows = backend.read(&format!("{}{condition} FOR UPDATE", source.read)).await?;
                let old = literals(&rows);
                if !old.is_empty() {
                    let origin = vec![0; old.len()];
                    let item = Item::start(&plan.table, Event::Delete, old, Vec::new(), origin);
                    if let Err(failure) = cascade(plan, backend, vec![item], &mut writes, checks).await {
                        return Err(first_native_error(plan, backend, failure.error).await);
                    }
                }
            }
        }
        Start::Delete { .. } | Start::Update { .. } if !clash_decidable(plan, backend).await? => {
            // Which rows the new rows clash with is InnoDB's to find (a prefix or
            // hash index, a NO PAD collation, a schema the gateway has not read
            // yet): the original runs natively, with InnoDB's checks and cascades.
            return single(backend, &plan.original).await;
        }
        Start::Delete { read } => {
            let rows = backend.read(read).await?;
            let old = literals(&rows);
            if !old.is_empty() {
                if starts_with_word(&plan.original, "delete") || starts_with_word(&plan.original, "replace") {
                    let id_len = id_len(plan, &plan.table, Event::Delete, old[0].len());
                    for (i, r) in old.iter().enumerate() {
                        writes.start_rows.entry(r[..id_len].to_vec()).or_insert(i);
                    }
                }
                let origin = (0..old.len()).collect();
                let item = Item::start(&plan.table, Event::Delete, old, Vec::new(), origin);
                if let Err(failure) = cascade(plan, backend, vec![item], &mut writes, checks).await {
                    // Natively the rows go one by one: an earlier row may fail
                    // first, on another child FK (a DELETE of a range), or with
                    // another error (a REPLACE's missing parent, say).
                    return Err(first_native_error(plan, backend, failure.error).await);
                }
            }
        }
        Start::Update { read } => {
            let rows = backend.read(read).await?;
            let mut all = literals(&rows);
            // ON DUPLICATE KEY UPDATE: of the rows the new row clashes with, the one
            // InnoDB updates.
            let flags = plan.clash.as_ref().map_or(0, |c| c.flags.len());
            if let Some(clash) = plan.clash.as_ref().filter(|_| flags > 0) {
                match updated_row(clash, &plan.table, all, backend).await? {
                    Updated::Row(row) => all = row.into_iter().collect(),
                    Updated::Unknown => return single(backend, &plan.original).await,
                }
            }
            let width = rows.columns.len() - flags;
            // The read ends with the checked columns, old then new.
            let checked = match &plan.parent_checks {
                Some(ParentChecks {
                    columns,
                    rows: NewRows::Read | NewRows::ReadOrValues(_),
                    ..
                }) => columns.len(),
                _ => 0,
            };
            for r in &mut all {
                r.truncate(width);
                let mut tail = r.split_off(r.len().saturating_sub(2 * checked));
                let new = tail.split_off(checked);
                own.push(OwnRow {
                    old: Some(tail),
                    new: new.into_iter().map(Some).collect(),
                    inserted: false,
                });
            }
            let half = (width - 2 * checked) / 2;
            let (old, new): (Vec<_>, Vec<_>) = all
                .into_iter()
                .map(|mut r| {
                    let new = r.split_off(half);
                    (r, new)
                })
                .unzip();
            if !old.is_empty() {
                let pk_len = id_len(plan, &plan.table, Event::Update, old[0].len());
                let start_ids: Vec<Vec<String>> = old.iter().map(|r| r[..pk_len].to_vec()).collect();
                let origin = (0..old.len()).collect();
                let item = Item::start(&plan.table, Event::Update, old, new, origin);
                if let Err(failure) = cascade(plan, backend, vec![item], &mut writes, checks).await {
                    return Err(earlier_error(plan, backend, failure, &start_ids).await);
                }
            }
        }
    }
    // Whether the original runs with InnoDB's checks on: for the forms the planner
    // leaves to InnoDB, and when the gateway cannot tell (a parent it would have to
    // match against a value known only after the insert).
    let mut checks_on = plan.original_fk_checks;
    if let Some(checks) = &plan.parent_checks {
        match &checks.rows {
            NewRows::Values(rows) => own = rows.iter().map(|r| OwnRow::inserted(r)).collect(),
            NewRows::ReadOrValues(row) if own.is_empty() => own = vec![OwnRow::inserted(row)],
            NewRows::ReadOrValues(_) | NewRows::Read => {}
        }
        // A REPLACE's deletes all come before its checks: it has one row, or it
        // writes a table outside FK cycles, whose deletes reach no parent of its rows.
        let one_row = matches!(plan.start, Start::Delete { .. });
        match check_parents(checks, &own, &writes.changes, one_row, backend).await? {
            Verdict::Pass => {}
            Verdict::Unsure => checks_on = true,
            Verdict::Fail(error) => {
                // MariaDB, going row by row with its own checks, may meet another
                // error first (a duplicate key on an earlier row, another FK of the
                // same row): the original is replayed with InnoDB's checks inside
                // the statement's transaction or savepoint (rolled back by the
                // caller) and its error wins.
                let replies = backend.query(&plan.original).await;
                return match replies.into_iter().last() {
                    Some(Reply::Error(e)) => Err(e),
                    // InnoDB found every parent (a value the gateway compared more
                    // strictly, say `20.0` with `20`). With no child statement the
                    // replay is the whole statement, as the old path ran it: keep it.
                    Some(reply) if writes.statements.is_empty() => Ok(writes.adjust(plan, reply)),
                    _ => Err(error),
                };
            }
        }
    }
    if plan.is_passthrough() || (writes.statements.is_empty() && checks_on) {
        let reply = single(backend, &plan.original).await?;
        return Ok(native.unwrap_or_else(|| writes.adjust(plan, reply)));
    }
    // With checks off the order is free. The original goes first: its rows affected
    // are then its own even when a cycle leads a cascade back to its rows. A
    // statement that writes FK columns of its own table goes last, as InnoDB checks
    // its rows after their cascades (a REPLACE's new row must not meet the delete
    // of its old row's children).
    // Under a savepoint: when a statement of the batch fails (a child key that
    // moves onto an existing one, say), MariaDB may have met another error first,
    // going row by row with its cascades inside each row.
    let mut batch = vec![
        format!("SAVEPOINT {BATCH_SAVEPOINT}"),
        "SET foreign_key_checks = 0".to_string(),
    ];
    let original_last = plan.original_last();
    match &writes.instead {
        Some(instead) => batch.extend(instead.iter().cloned()),
        None if !original_last => batch.push(plan.original.clone()),
        None => {}
    }
    batch.extend(writes.statements.iter().cloned());
    let original_at = if writes.instead.is_some() {
        None
    } else if !original_last {
        Some(2)
    } else if !checks_on {
        batch.push(plan.original.clone());
        Some(batch.len() - 1)
    } else {
        None
    };
    batch.push("SET foreign_key_checks = 1".to_string());
    let replies = backend.query(&batch.join(";\n")).await;
    if let Some((at, Reply::Error(e))) = replies.iter().enumerate().find(|(_, r)| matches!(r, Reply::Error(_))) {
        if original_last && Some(at) == original_at {
            // The original failed after every child statement succeeded: MariaDB,
            // going row by row, meets the same error at the same row (the gateway
            // found every FK check to pass). Replaying it would run it twice:
            // auto-increment values and LAST_INSERT_ID() would move on again. The
            // caller rolls the statement back.
            return Err(e.clone());
        }
        return native_error_after(plan, backend, e.clone()).await;
    }
    if writes.instead.is_some() {
        return native.ok_or_else(|| ServerError::gateway("tether gateway: no native result for a planned statement"));
    }
    if let Some(at) = original_at {
        let reply = replies
            .into_iter()
            .nth(at)
            .ok_or_else(|| ServerError::gateway("tether gateway: the backend returned too few results"))?;
        return Ok(native.unwrap_or_else(|| writes.adjust(plan, reply)));
    }
    let reply = single(backend, &plan.original).await?;
    Ok(native.unwrap_or_else(|| writes.adjust(plan, reply)))
}

/// A statement of the plan's batch failed with `error`: the batch is rolled back
/// and the original runs natively (InnoDB's checks and cascades, row by row), so
/// the client gets the error MariaDB meets first. Should the native run succeed
/// where the plan's statements did not, its result stands, as it would natively
/// (its cascades are InnoDB's: that one statement's child changes miss the binlog).
async fn native_error_after(plan: &Plan, backend: &mut Backend, error: ServerError) -> Result<Reply, ServerError> {
    let rolled_back = backend
        .query(&format!(
            "ROLLBACK TO SAVEPOINT {BATCH_SAVEPOINT};\nSET foreign_key_checks = 1"
        ))
        .await;
    if rolled_back.iter().any(|r| matches!(r, Reply::Error(_))) {
        // A deadlock: the transaction is gone; its error is the answer.
        let _ = backend.exec("SET foreign_key_checks = 1").await;
        return Err(error);
    }
    match plan.steps.is_empty() {
        true => single(backend, &plan.original).await,
        false => Err(error),
    }
}

/// One row the statement writes, as the parent checks see it: values in
/// [`ParentChecks::columns`] order (`None`: known only after the insert).
struct OwnRow {
    /// The values before an UPDATE (`None` for an inserted row).
    old: Option<Vec<String>>,
    new: Vec<Option<String>>,
    /// Whether the row is inserted, so it is a parent of its self-references.
    inserted: bool,
}

impl OwnRow {
    fn inserted(values: &[Option<String>]) -> Self {
        OwnRow {
            old: None,
            new: values.to_vec(),
            inserted: true,
        }
    }
}

enum Verdict {
    Pass,
    /// A parent check needs a value only the insert gives: InnoDB checks instead.
    Unsure,
    /// The first failing row's FK error.
    Fail(ServerError),
}

fn is_null(v: &str) -> bool {
    v.eq_ignore_ascii_case("null")
}

/// A value literal in a form that compares equal where MariaDB would: numbers
/// (quoted or not) by value when the column is `numeric`; other values without
/// quotes and trailing spaces, and without case (the default collations ignore it).
/// A value as the statement wrote it, folded the way most collations compare
/// (case, trailing spaces): two values equal here MAY be one key on the server.
fn canon(v: &str, numeric: bool) -> String {
    canon_with(v, numeric, true)
}

/// A value as the statement wrote it, unquoted and numbers normalised, nothing
/// folded: two values equal here ARE one key under any collation. Where `canon`
/// says equal and this says different, only the column's collation can tell (a
/// `_bin` or NO PAD collation, U+212A KELVIN SIGN under `general_ci`): the gateway
/// does not guess, InnoDB checks.
fn canon_strict(v: &str, numeric: bool) -> String {
    canon_with(v, numeric, false)
}

fn canon_with(v: &str, numeric: bool, fold: bool) -> String {
    let t = v.trim();
    let quoted =
        t.len() >= 2 && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')));
    let inner = if quoted { &t[1..t.len() - 1] } else { t };
    if numeric {
        if let Ok(n) = inner.trim().parse::<i128>() {
            return n.to_string();
        }
        // `20.0`, `2e1`: integral numbers compare as integers.
        if let Ok(f) = inner.trim().parse::<f64>() {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
                return (f as i128).to_string();
            }
        }
    }
    if !quoted && (t.starts_with("X'") || t.starts_with("x'")) {
        return t.to_ascii_uppercase();
    }
    if fold {
        inner.trim_end_matches(' ').to_lowercase()
    } else {
        inner.to_string()
    }
}

fn canon_tuple(t: &[String], numeric: &[bool]) -> Vec<String> {
    t.iter()
        .enumerate()
        .map(|(i, v)| canon(v, numeric.get(i).copied().unwrap_or(false)))
        .collect()
}

fn canon_tuple_strict(t: &[String], numeric: &[bool]) -> Vec<String> {
    t.iter()
        .enumerate()
        .map(|(i, v)| canon_strict(v, numeric.get(i).copied().unwrap_or(false)))
        .collect()
}

/// A key's values, as [`canon_tuple_strict`] writes them.
type Key = Vec<String>;

/// What happens to a parent key at some row of the statement.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeyEvent {
    /// Deleted, or re-keyed away (sorted first: a row's deletes come before its insert).
    Gone,
    /// Inserted, or re-keyed to.
    Added,
}

/// The gateway's parent-existence check of the statement's own rows, set-based:
/// one locking probe per FK. A row's parent exists when the probe found it and no
/// earlier row (nor the row itself) deleted or re-keyed it, or when a row up to
/// this one inserted or re-keyed a parent to it (self-references, cycles). MATCH
/// SIMPLE: an FK value with a NULL is not checked; an UPDATE checks only FKs whose
/// values change.
async fn check_parents(
    checks: &ParentChecks,
    own: &[OwnRow],
    changes: &[Change],
    one_row: bool,
    backend: &mut Backend,
) -> Result<Verdict, ServerError> {
    let mut first: Option<(usize, &ParentCheck)> = None;
    for check in &checks.checks {
        // Per own row: the FK tuple to check, as an index into `distinct`.
        let mut wanted: Vec<Option<usize>> = Vec::with_capacity(own.len());
        let mut distinct: Vec<Vec<String>> = Vec::new();
        let mut index: HashMap<Vec<String>, usize> = HashMap::new();
        for row in own {
            let values: Vec<&Option<String>> = check.positions.iter().map(|p| &row.new[*p]).collect();
            if values.iter().any(|v| v.as_deref().is_some_and(is_null)) {
                wanted.push(None);
                continue;
            }
            let Some(tuple) = values.into_iter().cloned().collect::<Option<Vec<String>>>() else {
                return Ok(Verdict::Unsure);
            };
            if let Some(old) = &row.old {
                let old: Vec<String> = check.positions.iter().map(|p| old[*p].clone()).collect();
                if canon_tuple_strict(&old, &check.numeric) == canon_tuple_strict(&tuple, &check.numeric) {
                    wanted.push(None);
                    continue;
                }
                if canon_tuple(&old, &check.numeric) == canon_tuple(&tuple, &check.numeric) {
                    // Unchanged or not: the collation decides.
                    return Ok(Verdict::Unsure);
                }
            }
            let n = *index.entry(tuple.clone()).or_insert_with(|| {
                distinct.push(tuple);
                distinct.len() - 1
            });
            wanted.push(Some(n));
        }
        if distinct.is_empty() {
            continue;
        }
        let probe = check.probe.render(&check.fk.referenced_columns, &distinct, &[]);
        let found_rows = backend.read(&probe).await?;
        let mut found = vec![false; distinct.len()];
        if check.keys_only {
            let rows = literals(&found_rows);
            let exact: HashSet<Vec<String>> = rows.iter().map(|k| canon_tuple_strict(k, &check.numeric)).collect();
            let folded: HashSet<Vec<String>> = rows.iter().map(|k| canon_tuple(k, &check.numeric)).collect();
            for (f, tuple) in found.iter_mut().zip(&distinct) {
                *f = exact.contains(&canon_tuple_strict(tuple, &check.numeric));
                if !*f && folded.contains(&canon_tuple(tuple, &check.numeric)) {
                    // The server found a key equal to it only when folded.
                    return Ok(Verdict::Unsure);
                }
            }
        } else {
            for r in &found_rows.rows {
                if let Some(Value::Bytes(b)) = r.first() {
                    for n in String::from_utf8_lossy(b).split(',') {
                        if let Some(f) = n.trim().parse::<usize>().ok().and_then(|n| found.get_mut(n)) {
                            *f = true;
                        }
                    }
                }
            }
        }
        // What the statement does to parent keys, by key, in row order.
        // Keyed by the folded value; each event keeps the exact one, so a lookup
        // that matches only when folded is left to InnoDB.
        let mut events: HashMap<Vec<String>, Vec<(usize, KeyEvent, Key)>> = HashMap::new();
        let mut unknown_from: Option<usize> = None;
        for c in changes.iter().filter(|c| c.table == check.fk.parent) {
            let origin = if one_row { 0 } else { c.origin };
            let old: Vec<String> = check.fk.parent_positions.iter().map(|p| c.old[*p].clone()).collect();
            match &c.new {
                None => events.entry(canon_tuple(&old, &check.numeric)).or_default().push((
                    origin,
                    KeyEvent::Gone,
                    canon_tuple_strict(&old, &check.numeric),
                )),
                Some(new) => {
                    let new: Vec<String> = check.fk.parent_positions.iter().map(|p| new[*p].clone()).collect();
                    let (old_exact, new_exact) = (
                        canon_tuple_strict(&old, &check.numeric),
                        canon_tuple_strict(&new, &check.numeric),
                    );
                    let (old, new) = (canon_tuple(&old, &check.numeric), canon_tuple(&new, &check.numeric));
                    if old == new && old_exact != new_exact {
                        // A re-key by case or trailing spaces only: the collation decides.
                        return Ok(Verdict::Unsure);
                    }
                    if old != new {
                        events.entry(old).or_default().push((origin, KeyEvent::Gone, old_exact));
                        events
                            .entry(new)
                            .or_default()
                            .push((origin, KeyEvent::Added, new_exact));
                    }
                }
            }
        }
        if let Some(positions) = &check.own_positions {
            for (j, row) in own.iter().enumerate().filter(|(_, r)| r.inserted) {
                match positions
                    .iter()
                    .map(|p| row.new[*p].clone())
                    .collect::<Option<Vec<String>>>()
                {
                    Some(key) => events.entry(canon_tuple(&key, &check.numeric)).or_default().push((
                        j,
                        KeyEvent::Added,
                        canon_tuple_strict(&key, &check.numeric),
                    )),
                    None => {
                        unknown_from.get_or_insert(j);
                    }
                }
            }
        }
        for list in events.values_mut() {
            list.sort();
        }
        for (i, n) in wanted.iter().enumerate() {
            let Some(n) = n else { continue };
            let mut exists = found[*n];
            if let Some(list) = events.get(&canon_tuple(&distinct[*n], &check.numeric)) {
                let exact = canon_tuple_strict(&distinct[*n], &check.numeric);
                for (_, event, key) in list.iter().take_while(|(origin, _, _)| *origin <= i) {
                    if *key != exact {
                        return Ok(Verdict::Unsure);
                    }
                    exists = *event == KeyEvent::Added;
                }
            }
            if !exists {
                if unknown_from.is_some_and(|u| u <= i) {
                    return Ok(Verdict::Unsure);
                }
                if first.is_none_or(|(row, _)| i < row) {
                    first = Some((i, check));
                }
                break;
            }
        }
    }
    Ok(match first {
        Some((_, check)) => Verdict::Fail(check.error.clone().into()),
        None => Verdict::Pass,
    })
}

/// The error the client sees when a DELETE's or REPLACE's delete fails: MariaDB,
/// going row by row with its own checks, may meet another error first (a
/// RESTRICT child of an earlier row, a duplicate key on an earlier row, another
/// FK of the same row). The original is replayed with
/// InnoDB's checks inside the statement's transaction or savepoint, which the
/// caller rolls back; its error wins, and the gateway's stands if it finds none.
async fn first_native_error(plan: &Plan, backend: &mut Backend, error: ServerError) -> ServerError {
    backend
        .query(&plan.original)
        .await
        .into_iter()
        .find_map(|r| match r {
            Reply::Error(e) => Some(e),
            _ => None,
        })
        .unwrap_or(error)
}

/// An FK error found at the statement's row N stands only if MariaDB, going row by
/// row, would not have failed earlier: the plan's prefix replays rows 0..N natively
/// (inside the statement's savepoint or transaction, rolled back by the caller).
async fn earlier_error(plan: &Plan, backend: &mut Backend, failure: Failure, start_ids: &[Vec<String>]) -> ServerError {
    let (Some(prefix), Some(pos)) = (&plan.prefix, failure.origin) else {
        return failure.error;
    };
    if pos == 0 {
        return failure.error;
    }
    let keys = &start_ids[..pos.min(start_ids.len())];
    let sql = prefix.render(&[], keys, &[]);
    match backend.query(&sql).await.into_iter().find_map(|r| match r {
        Reply::Error(e) => Some(e),
        _ => None,
    }) {
        Some(e) => e,
        None => failure.error,
    }
}

async fn single(backend: &mut Backend, sql: &str) -> Result<Reply, ServerError> {
    let mut replies = backend.query(sql).await;
    match replies.pop() {
        Some(Reply::Error(e)) => Err(e),
        Some(r) => Ok(r),
        None => Err(ServerError::gateway("tether gateway: no result from the backend")),
    }
}

/// Follows the plan's rules from `first` until no rows are left to process.
/// With `checks` off (a native run found no error), RESTRICT probes and the
/// depth and same-table limits are skipped: only the child statements are made.
async fn cascade(
    plan: &Plan,
    backend: &mut Backend,
    first: Vec<Item>,
    writes: &mut Writes,
    checks: bool,
) -> Result<(), Failure> {
    let mut queue = VecDeque::from(first);
    // Rows already deleted by this plan, by table, with the earliest own row whose
    // cascade reaches them: cycles stop here; an earlier origin travels on.
    let mut deleted: HashMap<String, HashMap<Vec<String>, usize>> = HashMap::new();
    while let Some(item) = queue.pop_front() {
        let Some(rules) = plan.rules_for(&item.table, item.event) else {
            continue;
        };
        if item.event == Event::Delete {
            let seen = deleted.entry(item.table.clone()).or_default();
            let id_len = if rules.pk_len == 0 {
                rules.key_columns.len()
            } else {
                rules.pk_len
            };
            for (row, origin) in item.old.iter().zip(&item.origin) {
                let best = seen.entry(row[..id_len.min(row.len())].to_vec()).or_insert(*origin);
                *best = (*best).min(*origin);
            }
        }
        for (k, (row, origin)) in item.old.iter().zip(&item.origin).enumerate() {
            let new = match item.event {
                Event::Delete => None,
                Event::Update => item.new.get(k).cloned(),
            };
            writes.changes.push(Change {
                table: item.table.clone(),
                old: row.clone(),
                new,
                origin: *origin,
            });
        }
        for action in &rules.actions {
            let fk = &action.fk;
            // Distinct old key tuples of this FK, without NULLs (they reference
            // nothing); for updates, only keys that change, with their new values.
            let mut keys: Vec<Vec<String>> = Vec::new();
            let mut new_values: Vec<Vec<String>> = Vec::new();
            let mut seen_keys: HashSet<Vec<String>> = HashSet::new();
            for (i, row) in item.old.iter().enumerate() {
                let old: Vec<String> = fk.parent_positions.iter().map(|p| row[*p].clone()).collect();
                if old.iter().any(|v| v == "NULL") {
                    continue;
                }
                let new: Vec<String> = match item.event {
                    Event::Delete => Vec::new(),
                    Event::Update => fk.parent_positions.iter().map(|p| item.new[i][*p].clone()).collect(),
                };
                if item.event == Event::Update && new == old {
                    continue;
                }
                if seen_keys.insert(old.clone()) {
                    keys.push(old);
                    new_values.push(new);
                }
            }
            if keys.is_empty() {
                continue;
            }
            if item.replay && !matches!(action.kind, ActionKind::Delete { .. }) {
                continue;
            }
            match &action.kind {
                ActionKind::Refuse { .. } if !checks => {}
                ActionKind::Refuse {
                    probe,
                    error,
                    child_ids,
                    ..
                } => {
                    let sql = probe.render(&fk.columns, &keys, &new_values);
                    let found = backend.read(&sql).await?;
                    let mut rows = literals(&found);
                    if *child_ids > 0 {
                        // A child the statement deleted before its parent's row is
                        // gone when MariaDB gets to the parent.
                        let mut origin_of: HashMap<Vec<String>, usize> = HashMap::new();
                        for (row, origin) in item.old.iter().zip(&item.origin) {
                            let key: Vec<String> = fk.parent_positions.iter().map(|p| row[*p].clone()).collect();
                            let e = origin_of.entry(key).or_insert(*origin);
                            *e = (*e).min(*origin);
                        }
                        let gone = deleted.get(&fk.child);
                        rows.retain(|r| {
                            let deleted_at = gone.and_then(|g| g.get(&r[..*child_ids]));
                            let parent_at = origin_of.get(&r[*child_ids..]);
                            !matches!((deleted_at, parent_at), (Some(d), Some(p)) if d < p)
                        });
                        for r in &mut rows {
                            r.drain(..*child_ids);
                        }
                    }
                    if !rows.is_empty() {
                        let referenced: HashSet<Vec<String>> = rows.into_iter().collect();
                        return Err(Failure {
                            error: error.clone().into(),
                            origin: first_origin(&item, &fk.parent_positions, &referenced),
                        });
                    }
                }
                ActionKind::Delete { statement } => {
                    let child_rows = match &action.read {
                        Some(read) => Some(backend.read(&read.render(&fk.columns, &keys, &new_values)).await?),
                        None => None,
                    };
                    if item.replay && child_rows.is_none() {
                        continue;
                    }
                    if !item.replay {
                        if checks
                            && item.depth + 1 >= MAX_CASCADE_DEPTH
                            && exists(backend, &fk.child, &fk.columns, &keys, child_rows.as_ref()).await?
                        {
                            return Err(ServerError::from(action.too_deep.clone()).into());
                        }
                        writes
                            .statements
                            .push(statement.render(&fk.columns, &keys, &new_values));
                    }
                    if let Some(rows) = child_rows {
                        let key_len = rows.columns.len() - fk.columns.len();
                        let child_id_len = id_len(plan, &fk.child, Event::Delete, key_len);
                        // The first own row whose cascade reaches each parent key.
                        let mut origin_of: HashMap<Vec<String>, usize> = HashMap::new();
                        for (row, origin) in item.old.iter().zip(&item.origin) {
                            let key: Vec<String> = fk.parent_positions.iter().map(|p| row[*p].clone()).collect();
                            let e = origin_of.entry(key).or_insert(*origin);
                            *e = (*e).min(*origin);
                        }
                        let seen = deleted.get(&fk.child);
                        let mut old = Vec::new();
                        let mut origin = Vec::new();
                        let mut again = Vec::new();
                        let mut again_origin = Vec::new();
                        for mut r in literals(&rows) {
                            let fk_values = r.split_off(key_len);
                            let o = origin_of.get(&fk_values).copied().unwrap_or(0);
                            let id = r[..child_id_len.min(r.len())].to_vec();
                            if fk.child == plan.table {
                                if let Some(&pos) = writes.start_rows.get(&id) {
                                    if pos > o {
                                        writes.uncounted.insert(pos);
                                    } else if pos == o {
                                        writes.self_reached.insert(pos);
                                    }
                                }
                            }
                            match seen.and_then(|s| s.get(&id)) {
                                None if !item.replay => {
                                    old.push(r);
                                    origin.push(o);
                                }
                                Some(best) if o < *best => {
                                    again.push(r);
                                    again_origin.push(o);
                                }
                                _ => {}
                            }
                        }
                        for (rows, origin, replay) in [(old, origin, item.replay), (again, again_origin, true)] {
                            if !rows.is_empty() {
                                queue.push_back(Item {
                                    table: fk.child.clone(),
                                    event: Event::Delete,
                                    origin,
                                    old: rows,
                                    new: Vec::new(),
                                    depth: item.depth + 1,
                                    updated_chain: item.updated_chain.clone(),
                                    replay,
                                });
                            }
                        }
                    }
                }
                ActionKind::Update { statement, new } => {
                    let rows = match &action.read {
                        Some(read) => Some(backend.read(&read.render(&fk.columns, &keys, &new_values)).await?),
                        None => None,
                    };
                    // Without a read (no cycle, nothing further down) the statement
                    // itself finds the rows; only the depth limit needs to know first.
                    let found = match &rows {
                        Some(r) => !r.rows.is_empty(),
                        None if checks && item.depth + 1 >= MAX_CASCADE_DEPTH => {
                            exists(backend, &fk.child, &fk.columns, &keys, None).await?
                        }
                        None => true,
                    };
                    if !found {
                        continue;
                    }
                    let refused = if !checks {
                        None
                    } else if item.updated_chain.iter().any(|t| t == &fk.child) {
                        Some(&action.same_table_update)
                    } else if item.depth + 1 >= MAX_CASCADE_DEPTH {
                        Some(&action.too_deep)
                    } else {
                        None
                    };
                    if let Some(error) = refused {
                        let referenced: HashSet<Vec<String>> = rows
                            .as_ref()
                            .map(|r| {
                                literals(r)
                                    .into_iter()
                                    .map(|mut v| v.split_off(v.len() - fk.columns.len()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        return Err(Failure {
                            error: error.clone().into(),
                            origin: first_origin(&item, &fk.parent_positions, &referenced),
                        });
                    }
                    writes
                        .statements
                        .push(statement.render(&fk.columns, &keys, &new_values));
                    let child_rules = plan.rules_for(&fk.child, Event::Update);
                    if let (Some(rows), Some(child_rules)) = (rows, child_rules) {
                        let key_len = rows.columns.len() - fk.columns.len();
                        // Where the FK columns sit among the child's key columns.
                        let positions: Vec<Option<usize>> = fk
                            .columns
                            .iter()
                            .map(|c| {
                                child_rules.key_columns[..key_len.min(child_rules.key_columns.len())]
                                    .iter()
                                    .position(|k| k.eq_ignore_ascii_case(c))
                            })
                            .collect();
                        let mut origin_of: HashMap<Vec<String>, usize> = HashMap::new();
                        for (row, origin) in item.old.iter().zip(&item.origin) {
                            let key: Vec<String> = fk.parent_positions.iter().map(|p| row[*p].clone()).collect();
                            let e = origin_of.entry(key).or_insert(*origin);
                            *e = (*e).min(*origin);
                        }
                        // Where each old key sits in `keys` (they are distinct).
                        let key_index: HashMap<&[String], usize> =
                            keys.iter().enumerate().map(|(i, k)| (k.as_slice(), i)).collect();
                        let mut old_rows = Vec::new();
                        let mut new_rows = Vec::new();
                        let mut origins = Vec::new();
                        for r in literals(&rows) {
                            let fk_old = r[key_len..].to_vec();
                            origins.push(origin_of.get(&fk_old).copied().unwrap_or(0));
                            let mut old = r;
                            old.truncate(key_len);
                            let mut next = old.clone();
                            for (n, pos) in positions.iter().enumerate() {
                                let Some(pos) = pos else { continue };
                                next[*pos] = match new {
                                    NewChildValue::Null => "NULL".to_string(),
                                    NewChildValue::Default(d) => d[n].clone(),
                                    NewChildValue::Cascade => match key_index.get(fk_old.as_slice()) {
                                        Some(&i) => new_values[i][n].clone(),
                                        None => old[*pos].clone(),
                                    },
                                };
                            }
                            old_rows.push(old);
                            new_rows.push(next);
                        }
                        let mut chain = item.updated_chain.clone();
                        chain.push(fk.child.clone());
                        queue.push_back(Item {
                            table: fk.child.clone(),
                            event: Event::Update,
                            origin: origins,
                            old: old_rows,
                            new: new_rows,
                            depth: item.depth + 1,
                            updated_chain: chain,
                            replay: false,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether child rows reference `keys`: from rows already read, or a probe.
async fn exists(
    backend: &mut Backend,
    child: &str,
    columns: &[String],
    keys: &[Vec<String>],
    rows: Option<&Rows>,
) -> Result<bool, ServerError> {
    if let Some(rows) = rows {
        return Ok(!rows.rows.is_empty());
    }
    let probe = tether_fkplan::Template {
        parts: vec![
            tether_fkplan::Part::Text(format!(
                "SELECT 1 FROM {} WHERE {} IN (",
                tether_fkplan::ident(child),
                row_sql(columns)
            )),
            tether_fkplan::Part::Keys,
            tether_fkplan::Part::Text(") LIMIT 1".into()),
        ],
    };
    Ok(!backend.read(&probe.render(columns, keys, &[])).await?.rows.is_empty())
}

fn row_sql(columns: &[String]) -> String {
    let list: Vec<String> = columns.iter().map(|c| tether_fkplan::ident(c)).collect();
    if list.len() == 1 {
        list[0].clone()
    } else {
        format!("({})", list.join(", "))
    }
}

/// Every value of `rows` as an SQL literal.
fn literals(rows: &Rows) -> Vec<Vec<String>> {
    rows.rows
        .iter()
        .map(|r| r.iter().zip(&rows.columns).map(|(v, c)| literal(v, c)).collect())
        .collect()
}

/// A value read with the text protocol, as an SQL literal of its column's type.
pub fn literal(v: &Value, c: &ColumnDef) -> String {
    const NUMERIC: [u8; 10] = [0, 1, 2, 3, 4, 5, 8, 9, 13, 246];
    const BINARY_FLAG: u16 = 128;
    match v {
        Value::Null => "NULL".to_string(),
        Value::Bytes(b) if NUMERIC.contains(&c.column_type) => String::from_utf8_lossy(b).into_owned(),
        Value::Bytes(b) if c.flags & BINARY_FLAG != 0 && !(7..=14).contains(&c.column_type) => {
            tether_schema::sql::hex_literal(b)
        }
        Value::Bytes(b) => tether_fkplan::string_literal(b),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        other => tether_fkplan::string_literal(other.text().as_bytes()),
    }
}
