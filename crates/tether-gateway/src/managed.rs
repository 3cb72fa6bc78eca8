//! Runs a [`Plan`] on a backend connection: one transaction (or a savepoint inside
//! the client's transaction), locked reads of the affected keys, checks, then the
//! child statements and the original with the backend's FK checks off. Every child
//! change is a statement of its own, so it reaches the binlog.
//!
//! The executor fills the plan's holes with the keys it reads and follows the plan's
//! rules to a fixpoint (self-references and cycles); it decides nothing else.

use std::collections::{HashMap, HashSet, VecDeque};

use mysql_async::Value;
use tether_fkplan::{ActionKind, Event, NewChildValue, Plan, Start};

use crate::backend::{Backend, Rows};
use crate::reply::{ColumnDef, Reply, ServerError};

/// InnoDB refuses cascades that reach this depth (MariaDB 10.11, measured).
const MAX_CASCADE_DEPTH: usize = 15;
const SAVEPOINT: &str = "tether_fk";

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
    if let Err(e) = backend.exec(&open).await {
        return vec![Reply::Error(e)];
    }
    match run_inside(plan, backend).await {
        Ok(reply) => {
            if let Err(e) = backend.exec(&commit).await {
                let _ = backend.exec(&rollback).await;
                return vec![Reply::Error(e)];
            }
            vec![reply]
        }
        Err(e) => {
            // A deadlock already rolled the transaction back; the savepoint is gone
            // then, and that is fine.
            let _ = backend.exec(&rollback).await;
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

async fn run_inside(plan: &Plan, backend: &mut Backend) -> Result<Reply, ServerError> {
    let mut writes = Writes::default();
    match &plan.start {
        Start::Nothing => {}
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
                let item = Item {
                    table: plan.table.clone(),
                    event: Event::Delete,
                    origin: (0..old.len()).collect(),
                    old,
                    new: Vec::new(),
                    depth: 0,
                    updated_chain: Vec::new(),
                    replay: false,
                };
                cascade(plan, backend, item, &mut writes).await.map_err(|f| f.error)?;
            }
        }
        Start::Update { read } => {
            let rows = backend.read(read).await?;
            let all = literals(&rows);
            let half = rows.columns.len() / 2;
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
                let item = Item {
                    table: plan.table.clone(),
                    event: Event::Update,
                    origin: (0..old.len()).collect(),
                    old,
                    new,
                    depth: 0,
                    updated_chain: vec![plan.table.clone()],
                    replay: false,
                };
                if let Err(failure) = cascade(plan, backend, item, &mut writes).await {
                    return Err(earlier_error(plan, backend, failure, &start_ids).await);
                }
            }
        }
    }
    if plan.is_passthrough() || (writes.statements.is_empty() && plan.original_fk_checks) {
        return Ok(writes.adjust(plan, single(backend, &plan.original).await?));
    }
    // With checks off the order is free. The original goes first: its rows affected
    // are then its own even when a cycle leads a cascade back to its rows.
    let mut batch = vec!["SET foreign_key_checks = 0".to_string()];
    let original_in_batch = !plan.original_fk_checks;
    if original_in_batch {
        batch.push(plan.original.clone());
    }
    batch.extend(writes.statements.iter().cloned());
    batch.push("SET foreign_key_checks = 1".to_string());
    let replies = backend.query(&batch.join(";\n")).await;
    if let Some(Reply::Error(e)) = replies.iter().find(|r| matches!(r, Reply::Error(_))) {
        return Err(e.clone());
    }
    if original_in_batch {
        let reply = replies
            .into_iter()
            .nth(1)
            .ok_or_else(|| ServerError::gateway("tether gateway: the backend returned too few results"))?;
        return Ok(writes.adjust(plan, reply));
    }
    Ok(writes.adjust(plan, single(backend, &plan.original).await?))
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
async fn cascade(plan: &Plan, backend: &mut Backend, first: Item, writes: &mut Writes) -> Result<(), Failure> {
    let mut queue = VecDeque::from([first]);
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
                ActionKind::Refuse { probe, error, .. } => {
                    let sql = probe.render(&fk.columns, &keys, &new_values);
                    let found = backend.read(&sql).await?;
                    if !found.rows.is_empty() {
                        let referenced: HashSet<Vec<String>> = literals(&found).into_iter().collect();
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
                        if item.depth + 1 >= MAX_CASCADE_DEPTH
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
                        None if item.depth + 1 >= MAX_CASCADE_DEPTH => {
                            exists(backend, &fk.child, &fk.columns, &keys, None).await?
                        }
                        None => true,
                    };
                    if !found {
                        continue;
                    }
                    let refused = if item.updated_chain.iter().any(|t| t == &fk.child) {
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
                                    NewChildValue::Cascade => match keys.iter().position(|k| *k == fk_old) {
                                        Some(i) => new_values[i][n].clone(),
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
        Value::NULL => "NULL".to_string(),
        Value::Bytes(b) if NUMERIC.contains(&c.column_type) => String::from_utf8_lossy(b).into_owned(),
        Value::Bytes(b) if c.flags & BINARY_FLAG != 0 && !(7..=14).contains(&c.column_type) => {
            let mut hex = String::from("X'");
            for byte in b {
                hex.push_str(&format!("{byte:02X}"));
            }
            hex.push('\'');
            hex
        }
        Value::Bytes(b) => tether_fkplan::string_literal(b),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        other => tether_fkplan::string_literal(other.as_sql(true).trim_matches('\'').as_bytes()),
    }
}
