//! A plan behind a sharding engine's head (MariaDB Spider): its tables carry no
//! InnoDB FKs and it has no savepoints (error 1178), so nothing stands behind the
//! gateway where the unsharded executor leaves a decision to InnoDB (a native run
//! first, a replay whose success stands, checks left on for the original, a
//! passthrough). An INSERT / REPLACE of those forms runs as the rows it writes
//! ([`super::rows`]); the others are refused with error 1105 naming the form and
//! the keyspace. An UPDATE that may move rows between partitions runs one row at a
//! time by primary key ([`run_moves`]): Spider loses the unassigned columns of rows
//! a range or key-list UPDATE moves. The rest runs as on an unsharded keyspace, in a transaction of its
//! own (XA across nodes with `spider_internal_xa`), rolled back whole on failure;
//! inside the client's transaction, a failure after the plan wrote rolls that
//! transaction back.

use std::sync::atomic::{AtomicBool, Ordering};

use sqlparser::ast::{AssignmentTarget, FromTable, OnInsert, Statement, TableFactor};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_fkplan::{Plan, Start};
use tether_schema::{DataType, Schema};

use super::execute::run_inside;
use super::savepoint::{standing, Own, COMMIT, ROLLBACK};
use super::state::{starts_with_word, Writes};
use crate::backend::Backend;
use crate::reply::{Reply, ServerError};

/// What stands behind a plan where the gateway cannot decide.
#[derive(Debug, Clone, Copy)]
pub(super) enum Behind<'a> {
    /// InnoDB: the original runs natively, or with its checks on.
    InnoDb,
    /// Nothing (a sharded keyspace's head): the statement is refused. `wrote`
    /// turns true once the plan sends a write (there is no savepoint to undo it).
    /// `inside`: the client's transaction is open, so a failure found by reads
    /// alone must stay without writes (no native replay to pick the error).
    Nothing {
        keyspace: &'a str,
        wrote: &'a AtomicBool,
        inside: bool,
        /// The keyspace's tables (column types: a statement's values are checked
        /// as the columns store them, `managed::stored`).
        schema: &'a Schema,
    },
}

impl Behind<'_> {
    pub(super) fn is_innodb(&self) -> bool {
        matches!(self, Behind::InnoDb)
    }

    /// Whether a failure the reads found may be replayed natively to pick
    /// MariaDB's first error: not inside a client transaction behind the head
    /// (the replay writes, and only a rollback of the whole transaction undoes it).
    pub(super) fn may_replay(&self) -> bool {
        !matches!(self, Behind::Nothing { inside: true, .. })
    }

    /// Notes that the plan is about to send a write.
    pub(super) fn writes(&self) {
        if let Behind::Nothing { wrote, .. } = self {
            wrote.store(true, Ordering::Relaxed);
        }
    }

    /// Error 1105 refusing `form` in `keyspace`, worded for what stands behind.
    pub(super) fn refusal(&self, keyspace: &str, form: &str) -> ServerError {
        match self {
            Behind::InnoDb => super::unsharded_refusal(keyspace, form),
            Behind::Nothing { .. } => refusal(keyspace, form),
        }
    }

    /// `Err` (the refusal) when nothing stands behind the plan for `form`.
    pub(super) fn refuse(&self, form: &str) -> Result<(), ServerError> {
        match self {
            Behind::InnoDb => Ok(()),
            Behind::Nothing { keyspace, .. } => Err(refusal(keyspace, form)),
        }
    }
}

/// Error 1105 for a statement form a managed sharded keyspace does not run.
pub fn refusal(keyspace: &str, form: &str) -> ServerError {
    ServerError::gateway(format!(
        "tether gateway: keyspace `{keyspace}` is sharded and managed: {form} is refused (only InnoDB could check \
         it, and the head's Spider tables have no foreign keys; see docs/gateway.md, sharded keyspaces)"
    ))
}

/// The tables a single write names as its targets (as written, unquoted, without
/// the database); `None` when `sql` is not one write sqlparser reads.
pub fn write_targets(sql: &str) -> Option<Vec<String>> {
    Some(qualified_write_targets(sql)?.into_iter().map(|(_, t)| t).collect())
}

/// [`write_targets`] with the database each is qualified with, if any.
pub fn qualified_write_targets(sql: &str) -> Option<Vec<(Option<String>, String)>> {
    let unquoted = |p: &sqlparser::ast::ObjectNamePart| p.to_string().trim_matches('`').to_string();
    let last = |n: &sqlparser::ast::ObjectName| match n.0.as_slice() {
        [db, t] => Some((Some(unquoted(db)), unquoted(t))),
        parts => parts.last().map(|t| (None, unquoted(t))),
    };
    let relation = |f: &TableFactor| match f {
        TableFactor::Table { name, .. } => last(name),
        _ => None,
    };
    let mut out = Vec::new();
    // `UPDATE IGNORE t`: the parser would read `IGNORE` as the table.
    let text = tether_fkplan::without_modifiers(sql);
    match Parser::parse_sql(&MySqlDialect {}, text.as_deref().unwrap_or(sql))
        .ok()?
        .as_slice()
    {
        [Statement::Insert(i)] => match &i.table {
            sqlparser::ast::TableObject::TableName(n) => out.push(last(n)?),
            _ => return None,
        },
        [Statement::Update(u)] => {
            out.push(relation(&u.table.relation)?);
            for j in &u.table.joins {
                out.push(relation(&j.relation)?);
            }
        }
        [Statement::Delete(d)] => {
            for n in &d.tables {
                out.push(last(n)?);
            }
            let from = match &d.from {
                FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
            };
            for t in from {
                out.push(relation(&t.relation)?);
                for j in &t.joins {
                    out.push(relation(&j.relation)?);
                }
            }
        }
        _ => return None,
    }
    Some(out)
}

/// Error 1105 when a write in a managed sharded keyspace names a table the
/// keyspace's schema does not have (a view, whose base table the planner does not
/// see; a table created behind the gateway) or cannot be read at all.
pub fn unknown_target(sql: &str, schema: &Schema, keyspace: &str) -> Option<ServerError> {
    let Some(targets) = write_targets(sql) else {
        return Some(refusal(keyspace, "a write the gateway cannot read"));
    };
    let unknown = targets.iter().find(|t| schema.find_table(t).is_none())?;
    Some(refusal(
        keyspace,
        &format!(
            "a write to `{unknown}`, which is not a table of the keyspace's schema (a view, whose base table the \
             planner does not see, or a table created behind the gateway)"
        ),
    ))
}

/// Runs `plan` (planned on `schema`, the keyspace's tables with every FK) on the
/// head: `None` when the statement needs no FK work and goes to the head unchanged.
/// `rolled_back` turns true when the client's transaction had to be rolled back
/// (a failure after the plan wrote): the session then refuses every statement
/// until the client's ROLLBACK. `anchor`: the statement that opens the gateway's
/// own transactions (`sharded::managed::anchor`: Spider read-write before its first
/// read, so that a node lost at COMMIT rolls the head's own tables back too).
/// `commit_failed` turns true when the gateway's own COMMIT (an autocommit
/// statement) failed: a data node may hold its branch prepared (review r25h F2).
pub async fn run_sharded(
    plan: &Plan,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
    anchor: Option<&str>,
    rolled_back: &mut bool,
    commit_failed: &mut bool,
) -> Option<Vec<Reply>> {
    if is_upsert(plan) {
        match same_unique_keys(plan, schema, backend).await {
            Ok(true) => {}
            Ok(false) => {
                return Some(vec![Reply::Error(refusal(
                    keyspace,
                    &format!(
                        "a REPLACE or ON DUPLICATE KEY UPDATE into `{}`, whose unique keys on the head differ \
                         from the data nodes' (the nodes decide which rows clash)",
                        plan.table
                    ),
                ))])
            }
            Err(e) => return Some(vec![Reply::Error(e)]),
        }
    }
    // An UPDATE that may move rows to another partition runs one row at a time by
    // key (Spider loses the unassigned columns of rows a range or multi-key UPDATE
    // moves); one that cannot is refused.
    let mut rows = None;
    match key_move(plan, schema, keyspace, backend).await {
        Ok(Some(moves)) => rows = Some(Pieces::Moves(moves)),
        Ok(None) => {}
        Err(e) => return Some(vec![Reply::Error(e)]),
    }
    // A form only InnoDB could check, as written: an INSERT / REPLACE runs as the
    // rows it writes instead (`rows::run_rows`), anything else is refused.
    match refusal_of(plan, schema, keyspace) {
        _ if rows.is_some() => {}
        Some(e) => match tether_fkplan::insert_parts(&plan.original) {
            Some(parts) => rows = Some(Pieces::Rows(parts)),
            None => return Some(vec![Reply::Error(e)]),
        },
        None if plan.is_passthrough() => return counted_delete(plan, backend).await,
        None => {}
    }
    let wrote = AtomicBool::new(false);
    let standing = match standing(backend).await {
        Ok(s) => s,
        Err(e) => return Some(vec![Reply::Error(e)]),
    };
    let in_tx = standing.in_tx;
    let behind = Behind::Nothing {
        keyspace,
        wrote: &wrote,
        inside: in_tx,
        schema,
    };
    if in_tx {
        // No savepoint: a statement that fails after it wrote takes the client's
        // transaction with it; one refused by the checks (reads only) does not.
        return Some(
            match work(plan, rows.as_ref(), schema, keyspace, backend, behind).await {
                Ok(reply) => vec![reply],
                Err(e) if !wrote.load(Ordering::Relaxed) => vec![Reply::Error(e)],
                Err(mut e) => {
                    let _ = backend.exec(ROLLBACK).await;
                    let _ = backend.exec("SET foreign_key_checks = 1").await;
                    *rolled_back = true;
                    e.message.push_str(
                        " (tether gateway: the transaction was rolled back: a sharded keyspace has no savepoints; \
                     every statement is refused until the client's ROLLBACK)",
                    );
                    vec![Reply::Error(e)]
                }
            },
        );
    }
    let own = match Own::begin(backend, &standing).await {
        Ok(own) => own,
        Err(e) => return Some(vec![Reply::Error(e)]),
    };
    if let Some(anchor) = anchor {
        // A failing anchor (a node down, a table the client's LOCK TABLES left
        // out) fails on its own; the plan meets the same cause with its own error.
        if let Err(e) = backend.exec(anchor).await {
            tracing::debug!("keyspace {keyspace}: the transaction's anchor failed: {}", e.message);
        }
    }
    let replies = match work(plan, rows.as_ref(), schema, keyspace, backend, behind).await {
        Ok(reply) => match backend.exec(COMMIT).await {
            Ok(_) => vec![reply],
            Err(e) => {
                // 12701 after a node went away may hide a commit (docs/sharding.md);
                // a node may hold its branch prepared: the caller recovers.
                *commit_failed = true;
                let _ = backend.exec(ROLLBACK).await;
                vec![Reply::Error(e)]
            }
        },
        Err(e) => {
            let _ = backend.exec(ROLLBACK).await;
            let _ = backend.exec("SET foreign_key_checks = 1").await;
            vec![Reply::Error(e)]
        }
    };
    own.end(backend, &replies).await;
    Some(replies)
}

/// A statement run as several statements of its own.
enum Pieces {
    /// An INSERT / REPLACE as the rows it writes (`rows::run_rows`).
    Rows(tether_fkplan::InsertParts),
    /// An UPDATE that may move rows between partitions, one row at a time.
    Moves(KeyMoves),
}

/// The plan run inside the transaction: as planned, as the rows it writes, or one
/// row at a time by key.
async fn work(
    plan: &Plan,
    rows: Option<&Pieces>,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
    behind: Behind<'_>,
) -> Result<Reply, ServerError> {
    match rows {
        None => run_inside(plan, backend, behind).await,
        Some(Pieces::Rows(parts)) => super::rows::run_rows(parts, schema, keyspace, backend, behind).await,
        Some(Pieces::Moves(moves)) => run_moves(moves, schema, keyspace, backend, behind).await,
    }
}

/// A single-table UPDATE that assigns a column the head may partition by, cut to
/// run one row at a time by primary key.
struct KeyMoves {
    parts: tether_fkplan::UpdateParts,
    /// The table's primary key columns.
    pk: Vec<String>,
}

/// Whether `plan`'s statement is an UPDATE that may change a partitioning column
/// of the head's table (every unique key of a partitioned table holds its
/// partitioning columns, so with a primary key: a primary key column; without
/// one: a column the head's partition expression names). Spider moves such rows
/// by inserting only the assigned columns when the UPDATE reaches them through a
/// range or a key list (MariaDB 10.11.19: `UPDATE p SET id = id + 1 WHERE id > 1`
/// leaves NULL in every other column), while one row by its key moves whole: the
/// statement runs as one UPDATE per row, `WHERE <primary key> = <row's key>`.
/// `Err`: a refusal, when it cannot run so exactly.
async fn key_move(
    plan: &Plan,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
) -> Result<Option<KeyMoves>, ServerError> {
    // Only an UPDATE can move rows: anything else is not parsed again here.
    let lead = crate::route::skip_comments(&plan.original);
    if !(starts_with_word(lead, "update") || lead.starts_with("/*!") || lead.starts_with("--")) {
        return Ok(None);
    }
    // `UPDATE IGNORE t`: the parser would read `IGNORE` as the table.
    let text = tether_fkplan::without_modifiers(&plan.original);
    let statements = Parser::parse_sql(&MySqlDialect {}, text.as_deref().unwrap_or(&plan.original)).ok();
    let Some([Statement::Update(update)]) = statements.as_deref() else {
        return Ok(None);
    };
    if !update.table.joins.is_empty() || update.from.is_some() {
        return multi_table_move(update, schema, keyspace, backend).await;
    }
    let Some(table) = schema.find_table(&plan.table) else {
        return Ok(None);
    };
    let database = match &update.table.relation {
        TableFactor::Table { name, .. } => qualifier(name),
        _ => None,
    };
    let Some(parts) = tether_fkplan::update_parts(&plan.original) else {
        // An UPDATE the parts do not carry (IGNORE, LOW_PRIORITY, a tuple) that
        // assigns a partitioning column is refused.
        let moving = moving_columns(table, database.as_deref(), backend).await?;
        let assigns_key = update.assignments.iter().any(|a| match &a.target {
            AssignmentTarget::ColumnName(n) => n.0.last().is_some_and(|p| moves(&moving, &unquoted(p))),
            AssignmentTarget::Tuple(_) => true,
        });
        return match assigns_key {
            true => Err(refusal(
                keyspace,
                &format!(
                    "an UPDATE of `{}` that may change its partitioning columns in a form the gateway cannot run \
                     one row at a time (IGNORE, LOW_PRIORITY, a tuple assignment; Spider loses the other columns \
                     of rows such an UPDATE moves to another partition): write it without them",
                    table.name
                ),
            )),
            false => Ok(None),
        };
    };
    let assigned = |c: &str| {
        parts
            .assigned
            .iter()
            .any(|a| a.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(c)))
    };
    // One row by its whole single-column key (`WHERE id = 97`, `id IN (97)`):
    // Spider moves it whole; it runs as planned.
    if let [pk] = table.primary_key.as_slice() {
        if one_key(statements.as_deref(), pk) {
            return Ok(None);
        }
    }
    if !table.primary_key.is_empty() {
        return Ok(table.primary_key.iter().any(|k| assigned(k)).then(|| KeyMoves {
            pk: table.primary_key.clone(),
            parts,
        }));
    }
    // No primary key: no row can be named alone. Refused when the head's
    // partitioning may use an assigned column.
    let moving = moving_columns(table, database.as_deref(), backend).await?;
    let names_assigned = parts.assigned.iter().any(|a| match a {
        Some(c) => moves(&moving, c),
        None => true,
    });
    match names_assigned {
        true => Err(refusal(
            keyspace,
            &format!(
                "an UPDATE of `{}`'s partitioning columns: the table has no primary key to move its rows one at a \
                 time by, and Spider loses the other columns of rows such an UPDATE moves to another partition \
                 (add a primary key, or delete and insert the rows)",
                table.name
            ),
        )),
        false => Ok(None),
    }
}

/// A multi-table UPDATE (a join, or a FROM): it cannot run one row at a time, so
/// one that assigns a partitioning column of a table it names (a primary key
/// column; without a primary key, a column the head partitions by) is refused.
async fn multi_table_move(
    update: &sqlparser::ast::Update,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
) -> Result<Option<KeyMoves>, ServerError> {
    // (database, table, alias) of every table the statement names.
    let mut named = Vec::new();
    relations(&update.table, &mut named);
    if let Some(sqlparser::ast::UpdateTableFromKind::BeforeSet(f) | sqlparser::ast::UpdateTableFromKind::AfterSet(f)) =
        &update.from
    {
        for t in f {
            relations(t, &mut named);
        }
    }
    for a in &update.assignments {
        // (qualifier, column); a tuple names any column of any table.
        let (by, column) = match &a.target {
            AssignmentTarget::ColumnName(n) => {
                let parts: Vec<String> = n.0.iter().map(unquoted).collect();
                match parts.as_slice() {
                    [.., t, c] => (Some(t.clone()), c.clone()),
                    [c] => (None, c.clone()),
                    [] => continue,
                }
            }
            AssignmentTarget::Tuple(_) => (None, String::new()),
        };
        for (database, name, alias) in &named {
            let qualified = by.as_deref().is_none_or(|q| {
                alias
                    .as_deref()
                    .map_or(name.eq_ignore_ascii_case(q), |a| a.eq_ignore_ascii_case(q))
            });
            let Some(table) = schema.find_table(name).filter(|_| qualified) else {
                continue;
            };
            let has = column.is_empty() || table.columns.iter().any(|c| c.name.eq_ignore_ascii_case(&column));
            if !has {
                continue;
            }
            let moving = moving_columns(table, database.as_deref(), backend).await?;
            if column.is_empty() || moves(&moving, &column) {
                let what = match table.primary_key.is_empty() {
                    true => "a column the head partitions it by (it has no primary key)",
                    false => "a column of its primary key",
                };
                let shown = match column.is_empty() {
                    true => format!("a tuple of `{}`'s columns", table.name),
                    false => format!("`{}`.`{column}`, {what}", table.name),
                };
                return Err(refusal(
                    keyspace,
                    &format!(
                        "a multi-table UPDATE that assigns {shown}: such an UPDATE may move rows of `{}` to \
                         another partition, which the gateway runs only one row at a time, and a multi-table form \
                         cannot (Spider loses the other columns of rows it moves): write it as a single-table \
                         UPDATE of `{}`",
                        table.name, table.name
                    ),
                ));
            }
        }
    }
    Ok(None)
}

/// Collects (database, table, alias) of the tables `t` names, nested joins too.
fn relations(t: &sqlparser::ast::TableWithJoins, out: &mut Vec<(Option<String>, String, Option<String>)>) {
    fn factor(f: &TableFactor, out: &mut Vec<(Option<String>, String, Option<String>)>) {
        match f {
            TableFactor::Table { name, alias, .. } => {
                if let Some(last) = name.0.last() {
                    out.push((
                        qualifier(name),
                        unquoted(last),
                        alias.as_ref().map(|a| a.name.value.clone()),
                    ));
                }
            }
            TableFactor::NestedJoin { table_with_joins, .. } => relations(table_with_joins, out),
            _ => {}
        }
    }
    factor(&t.relation, out);
    for j in &t.joins {
        factor(&j.relation, out);
    }
}

/// An identifier as written, without its backticks.
fn unquoted(p: &sqlparser::ast::ObjectNamePart) -> String {
    match p {
        sqlparser::ast::ObjectNamePart::Identifier(i) => i.value.clone(),
        other => other.to_string().trim_matches('`').to_string(),
    }
}

/// The database a table name is qualified with, if any.
fn qualifier(name: &sqlparser::ast::ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [.., db, _] => Some(unquoted(db)),
        _ => None,
    }
}

/// Whether assigning `column` may move a row, given [`moving_columns`].
fn moves(moving: &Option<Vec<String>>, column: &str) -> bool {
    moving
        .as_ref()
        .is_none_or(|m| m.iter().any(|c| c.eq_ignore_ascii_case(column)))
}

/// The columns a row's partition on the head depends on: with a primary key, its
/// columns (every unique key of a partitioned table holds the partitioning
/// columns); without one, the identifiers the head's partition and subpartition
/// expressions name (`KEY()` without a list: the unique keys' columns). `None`:
/// any column may be (a `KEY()` of a table without a unique key).
async fn moving_columns(
    table: &tether_schema::Table,
    database: Option<&str>,
    backend: &mut Backend,
) -> Result<Option<Vec<String>>, ServerError> {
    if !table.primary_key.is_empty() {
        return Ok(Some(table.primary_key.clone()));
    }
    let name = tether_fkplan::string_literal(table.name.as_bytes());
    let database = database.map_or("DATABASE()".to_string(), |d| {
        tether_fkplan::string_literal(d.as_bytes())
    });
    let read = backend
        .read(&format!(
            "SELECT IFNULL(PARTITION_METHOD, ''), IFNULL(PARTITION_EXPRESSION, ''), IFNULL(SUBPARTITION_METHOD, ''), \
             IFNULL(SUBPARTITION_EXPRESSION, '') FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = {database} \
             AND TABLE_NAME = {name} LIMIT 1"
        ))
        .await?;
    let Some(row) = read.rows.first() else {
        return Ok(Some(Vec::new()));
    };
    let text = |i: usize| row.get(i).map(|v| v.text()).unwrap_or_default();
    let mut columns = Vec::new();
    for (method, expression) in [(text(0), text(1)), (text(2), text(3))] {
        if method.trim().is_empty() {
            continue;
        }
        if expression.trim().is_empty() {
            // `[LINEAR] KEY ()`: MariaDB partitions by the primary key, else the
            // unique key.
            if table.unique_keys.is_empty() {
                return Ok(None);
            }
            columns.extend(table.unique_keys.iter().flat_map(|k| k.columns.iter().cloned()));
            continue;
        }
        columns.extend(identifiers(&expression));
    }
    Ok(Some(columns))
}

/// The column names a partition expression as the catalog spells it names
/// (`` `customer_id` ``, `` `a` + `b` ``, `` year(`d`) ``): backquoted names, and bare
/// words that are no function's name (followed by `(`) and no number.
fn identifiers(expression: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expression.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            let mut name = String::new();
            while let Some((_, c)) = chars.next() {
                if c == '`' {
                    if chars.peek().is_some_and(|&(_, n)| n == '`') {
                        chars.next();
                        name.push('`');
                        continue;
                    }
                    break;
                }
                name.push(c);
            }
            out.push(name);
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if !(n.is_alphanumeric() || n == '_' || n == '$') {
                    break;
                }
                end = j + n.len_utf8();
                chars.next();
            }
            let word = &expression[i..end];
            let call = expression[end..].trim_start().starts_with('(');
            if !call && !word.chars().all(|c| c.is_ascii_digit()) {
                out.push(word.to_string());
            }
        } else if c == '\'' || c == '"' {
            // A string literal: skipped whole.
            for (_, n) in chars.by_ref() {
                if n == c {
                    break;
                }
            }
        }
    }
    out
}

/// Whether the statement's WHERE is `pk = <literal>` or `pk IN (<literal>)` alone
/// (no ORDER BY needed: at most one row).
fn one_key(statements: Option<&[Statement]>, pk: &str) -> bool {
    use sqlparser::ast::{BinaryOperator, Expr};
    let Some([Statement::Update(u)]) = statements else {
        return false;
    };
    let is_pk = |e: &Expr| match e {
        Expr::Identifier(i) => i.value.eq_ignore_ascii_case(pk),
        Expr::CompoundIdentifier(parts) => parts.last().is_some_and(|i| i.value.eq_ignore_ascii_case(pk)),
        _ => false,
    };
    let literal = |e: &Expr| matches!(e, Expr::Value(_));
    match &u.selection {
        Some(Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        }) => (is_pk(left) && literal(right)) || (literal(left) && is_pk(right)),
        Some(Expr::InList {
            expr,
            list,
            negated: false,
        }) => is_pk(expr) && matches!(list.as_slice(), [one] if literal(one)),
        _ => false,
    }
}

/// Runs `moves` as one UPDATE per row by primary key, in the statement's order
/// (its ORDER BY, else the primary key's, as InnoDB scans the clustered index),
/// each planned as a statement of its own; the first that fails fails the whole
/// (the caller rolls back). The client gets MariaDB's counts for the statement.
async fn run_moves(
    moves: &KeyMoves,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
    behind: Behind<'_>,
) -> Result<Reply, ServerError> {
    let KeyMoves { parts, pk } = moves;
    let keys: Vec<String> = pk.iter().map(|k| tether_fkplan::ident(k)).collect();
    let mut order = parts.order_by.clone();
    order.extend(keys.iter().cloned());
    let read = format!(
        "SELECT {} FROM {}{} ORDER BY {}{} FOR UPDATE",
        keys.join(", "),
        parts.relation,
        parts.selection,
        order.join(", "),
        parts.limit
    );
    let rows = backend.read(&read).await?;
    let found = super::render::literals(&rows);
    let database = backend
        .read("SELECT DATABASE()")
        .await?
        .rows
        .first()
        .and_then(|r| r.first())
        .map(|v| v.text())
        .unwrap_or_default();
    let mut plans = Vec::with_capacity(found.len());
    for row in &found {
        let condition: Vec<String> = keys.iter().zip(row).map(|(k, v)| format!("{k} = {v}")).collect();
        let text = format!("{} WHERE {}", parts.head, condition.join(" AND "));
        let plan = match tether_fkplan::plan(&text, schema, &database) {
            Ok(tether_fkplan::Analysis::Plan(plan)) => plan,
            Ok(tether_fkplan::Analysis::Forward) => {
                return Err(behind.refusal(keyspace, "a write the gateway cannot read"))
            }
            Err(e) => return Err(ServerError::gateway(e.to_string())),
        };
        if let Some(e) = refusal_of(&plan, schema, keyspace) {
            return Err(e);
        }
        plans.push(plan);
    }
    let (mut matched, mut changed, mut warnings) = (0u64, 0u64, 0u16);
    for plan in &plans {
        let reply = match plan.is_passthrough() {
            true => {
                behind.writes();
                super::native_first::single(backend, &plan.original).await?
            }
            false => run_inside(plan, backend, behind).await?,
        };
        if let Reply::Ok(info) = reply {
            matched += count_after(&info.info, "Rows matched:").unwrap_or(1);
            changed += count_after(&info.info, "Changed:").unwrap_or(info.affected_rows);
            warnings = warnings.saturating_add(info.warnings);
        }
    }
    // A CLIENT_FOUND_ROWS client (JDBC) is answered rows matched, as MariaDB does.
    Ok(Reply::Ok(crate::reply::OkInfo {
        affected_rows: match backend.found_rows() {
            true => matched,
            false => changed,
        },
        last_insert_id: 0,
        warnings,
        info: format!("Rows matched: {matched}  Changed: {changed}  Warnings: {warnings}"),
    }))
}

/// The number after `label` in an OK packet's info line, if any.
fn count_after(info: &str, label: &str) -> Option<u64> {
    let at = info.find(label)?;
    info[at + label.len()..].split_whitespace().next()?.parse().ok()
}

/// Why a plan cannot run behind the head as it is, if it cannot.
pub(super) fn refusal_of(plan: &Plan, schema: &Schema, keyspace: &str) -> Option<ServerError> {
    match plan.is_passthrough() {
        true => passthrough_refusal(plan, schema, keyspace),
        false => refused_form(plan, schema).map(|form| refusal(keyspace, form)),
    }
}

/// The form of a planned statement that leans on InnoDB as a whole, if it does.
fn refused_form(plan: &Plan, schema: &Schema) -> Option<&'static str> {
    if !plan.steps.is_empty() {
        return Some("a multi-row INSERT ... ON DUPLICATE KEY UPDATE that may change a referenced key");
    }
    if plan.pick.as_ref().is_some_and(|p| p.trial_required) {
        return Some("a DELETE whose WHERE reads, in a subquery, a table its cascade changes");
    }
    // The head's time is not the data nodes' (their ON UPDATE CURRENT_TIMESTAMP
    // columns take their own): the key the lock read computes may not be stored.
    if plan.pins_time {
        return Some("an UPDATE that changes an ON UPDATE CURRENT_TIMESTAMP key or FK column");
    }
    if plan.native_first {
        return Some(match &plan.start {
            Start::Multi { .. } => "a multi-table UPDATE or DELETE of a table with foreign keys",
            Start::ReplaceSelect(_) => "REPLACE ... SELECT into a referenced table",
            _ => "a statement whose outcome only a native run gives",
        });
    }
    let has_fks = schema
        .find_table(&plan.table)
        .is_none_or(|t| !t.foreign_keys.is_empty());
    if plan.original_fk_checks && plan.parent_checks.is_none() && has_fks {
        return Some(
            "a write whose new FK values the gateway cannot compute before it runs (INSERT ... SELECT, IGNORE, \
             several rows or expressions in a REPLACE or ON DUPLICATE KEY UPDATE, volatile functions)",
        );
    }
    None
}

/// A passthrough plan goes to the head unchanged only when no FK can see it: a
/// single-table DELETE of rows nobody references, an UPDATE of columns no FK
/// uses, an INSERT into a table without FKs of its own whose ON DUPLICATE KEY
/// UPDATE changes no referenced column. Everything else the planner leaves to
/// InnoDB is refused.
fn passthrough_refusal(plan: &Plan, schema: &Schema, keyspace: &str) -> Option<ServerError> {
    let table = schema.find_table(&plan.table)?;
    let own_fk_columns: Vec<&str> = table
        .foreign_keys
        .iter()
        .flat_map(|f| f.columns.iter().map(String::as_str))
        .collect();
    let referenced: Vec<&str> = schema
        .tables
        .iter()
        .flat_map(|t| &t.foreign_keys)
        .filter(|f| f.referenced_table.eq_ignore_ascii_case(&table.name))
        .flat_map(|f| f.referenced_columns.iter().map(String::as_str))
        .collect();
    if own_fk_columns.is_empty() && referenced.is_empty() {
        return None;
    }
    let touches = |c: &str, set: &[&str]| set.iter().any(|x| x.eq_ignore_ascii_case(c));
    let column = |t: &AssignmentTarget| match t {
        AssignmentTarget::ColumnName(n) => n.0.last().map(|p| p.to_string().trim_matches('`').to_string()),
        AssignmentTarget::Tuple(_) => None,
    };
    let safe = match Parser::parse_sql(&MySqlDialect {}, &plan.original).ok().as_deref() {
        Some([Statement::Delete(d)]) => {
            let from = match &d.from {
                FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
            };
            referenced.is_empty()
                && d.tables.is_empty()
                && d.using.is_none()
                && matches!(from.as_slice(), [one] if one.joins.is_empty())
        }
        Some([Statement::Update(u)]) => {
            u.from.is_none()
                && u.table.joins.is_empty()
                && matches!(u.table.relation, TableFactor::Table { .. })
                && u.assignments.iter().all(|a| {
                    column(&a.target).is_some_and(|c| !touches(&c, &own_fk_columns) && !touches(&c, &referenced))
                })
        }
        Some([Statement::Insert(i)]) => {
            own_fk_columns.is_empty()
                && (!i.replace_into || referenced.is_empty())
                && match &i.on {
                    None => true,
                    Some(OnInsert::DuplicateKeyUpdate(assignments)) => assignments
                        .iter()
                        .all(|a| column(&a.target).is_some_and(|c| !touches(&c, &referenced))),
                    Some(_) => false,
                }
        }
        _ => false,
    };
    match safe {
        true => None,
        false => Some(refusal(
            keyspace,
            &format!(
                "a write to `{}` that the planner leaves to InnoDB (INSERT ... SELECT or expressions into FK \
                 columns, IGNORE, volatile keys, several rows clashing, multi-table forms)",
                table.name
            ),
        )),
    }
}

/// A DELETE's rows affected behind Spider: the head answers 0 for a DELETE it
/// pushes down to the nodes of a partitioned table (MariaDB 10.11.19, measured;
/// UPDATE counts are right), so the count is the rows the gateway's lock read
/// found (each once); `Writes::adjust` then takes off those a cascade deleted first.
pub(super) fn counted(plan: &Plan, writes: &Writes, reply: Reply, behind: Behind<'_>) -> Reply {
    match reply {
        Reply::Ok(mut info)
            if !behind.is_innodb()
                && matches!(plan.start, Start::Delete { .. })
                && starts_with_word(&plan.original, "delete") =>
        {
            info.affected_rows = writes.start_rows.len() as u64;
            Reply::Ok(info)
        }
        other => other,
    }
}

/// A single-table DELETE (`LIMIT` a literal, if any) the head runs as it is, with its
/// rows affected counted first by a locking read in the same transaction (see
/// [`counted`]); `None` for any other statement (forwarded unchanged).
async fn counted_delete(plan: &Plan, backend: &mut Backend) -> Option<Vec<Reply>> {
    let statements = Parser::parse_sql(&MySqlDialect {}, &plan.original).ok()?;
    let [Statement::Delete(d)] = statements.as_slice() else {
        return None;
    };
    let from = match &d.from {
        FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
    };
    let [one] = from.as_slice() else { return None };
    if !d.tables.is_empty() || d.using.is_some() || !one.joins.is_empty() {
        return None;
    }
    // `LIMIT n` (ORDER BY or not) deletes at most n of the rows counted.
    let limit: Option<u64> = match &d.limit {
        None => None,
        Some(sqlparser::ast::Expr::Value(v)) => Some(v.to_string().parse().ok()?),
        Some(_) => return None,
    };
    let count = format!(
        "SELECT COUNT(*) FROM {}{} FOR UPDATE",
        one.relation,
        d.selection.as_ref().map(|w| format!(" WHERE {w}")).unwrap_or_default()
    );
    let standing = match standing(backend).await {
        Ok(s) => s,
        Err(e) => return Some(vec![Reply::Error(e)]),
    };
    let own = if standing.in_tx {
        None
    } else {
        match Own::begin(backend, &standing).await {
            Ok(own) => Some(own),
            Err(e) => return Some(vec![Reply::Error(e)]),
        }
    };
    let run = async {
        // A count the head cannot run (a WHERE the parser printed differently)
        // leaves the head's own count.
        let n: u64 = match backend.read(&count).await {
            Ok(rows) => rows
                .rows
                .first()
                .and_then(|r| r.first())
                .map(|v| v.text().parse().unwrap_or(0))
                .unwrap_or(0),
            Err(_) => 0,
        };
        let n = limit.map_or(n, |l| n.min(l));
        let mut replies = backend.query(&plan.original).await;
        match replies.pop() {
            Some(Reply::Ok(mut info)) => {
                info.affected_rows = info.affected_rows.max(n);
                Ok(Reply::Ok(info))
            }
            Some(Reply::Error(e)) => Err(e),
            Some(other) => Ok(other),
            None => Err(ServerError::gateway("tether gateway: no result from the backend")),
        }
    };
    let outcome = run.await;
    let Some(own) = own else {
        return Some(vec![outcome.unwrap_or_else(Reply::Error)]);
    };
    let replies = match outcome {
        Ok(reply) => match backend.exec(COMMIT).await {
            Ok(_) => vec![reply],
            Err(e) => vec![Reply::Error(e)],
        },
        Err(e) => {
            let _ = backend.exec(ROLLBACK).await;
            vec![Reply::Error(e)]
        }
    };
    own.end(backend, &replies).await;
    Some(replies)
}

/// The duplicate-key error (1062) MariaDB meets in an INSERT ... VALUES at a row
/// up to `row` (where the gateway found an FK error), if any: each row's unique
/// keys (the head's `SHOW INDEX`, primary first) against the table and the
/// statement's earlier rows. `None` for other statements.
pub(super) async fn duplicate_before(
    plan: &Plan,
    schema: &Schema,
    backend: &mut Backend,
    row: usize,
) -> Result<Option<ServerError>, ServerError> {
    let Ok(statements) = Parser::parse_sql(&MySqlDialect {}, &plan.original) else {
        return Ok(None);
    };
    let [Statement::Insert(i)] = statements.as_slice() else {
        return Ok(None);
    };
    if i.replace_into || i.on.is_some() {
        return Ok(None);
    }
    let Some(sqlparser::ast::SetExpr::Values(values)) = i.source.as_deref().map(|q| q.body.as_ref()) else {
        return Ok(None);
    };
    let table = tether_fkplan::ident(&plan.table);
    let text = |v: &crate::wire::value::Value| v.text().to_string();
    let mut columns: Vec<String> = i
        .columns
        .iter()
        .map(|c| c.to_string().trim_matches('`').to_string())
        .collect();
    if columns.is_empty() {
        columns = backend
            .read(&format!("SHOW COLUMNS FROM {table}"))
            .await?
            .rows
            .iter()
            .filter_map(|r| r.first().map(text))
            .collect();
    }
    // Unique indexes in index order: (name, columns).
    let mut indexes: Vec<(String, Vec<String>)> = Vec::new();
    for r in backend.read(&format!("SHOW INDEX FROM {table}")).await?.rows {
        let (Some(unique), Some(name), Some(column)) = (r.get(1), r.get(2), r.get(4)) else {
            continue;
        };
        if text(unique) != "0" {
            continue;
        }
        let name = text(name);
        match indexes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, cols)) => cols.push(text(column)),
            None => indexes.push((name, vec![text(column)])),
        }
    }
    let literal = |e: &sqlparser::ast::Expr| e.to_string();
    let bare = |s: &str| s.trim_matches('\'').to_string();
    let rows: Vec<&Vec<sqlparser::ast::Expr>> = values.rows.iter().take(row + 1).map(|r| &r.content).collect();
    // Per index, per row: the key as literals (None: a column not given, or NULL).
    let mut keys: Vec<Vec<Option<Vec<String>>>> = Vec::new();
    // Per index: the rows whose key the table has, compared by the server (a
    // literal `10.0` finds the key 10, as MariaDB's own check would).
    let mut existing: Vec<std::collections::HashSet<usize>> = Vec::new();
    for (_, cols) in &indexes {
        let per_row: Vec<Option<Vec<String>>> = rows
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| {
                        let at = columns.iter().position(|x| x.eq_ignore_ascii_case(c))?;
                        let v = literal(r.get(at)?);
                        (!v.eq_ignore_ascii_case("null")).then_some(v)
                    })
                    .collect::<Option<Vec<String>>>()
            })
            .collect();
        let list: Vec<String> = cols.iter().map(|c| tether_fkplan::ident(c)).collect();
        let probes: Vec<(usize, String)> = per_row
            .iter()
            .enumerate()
            .filter_map(|(j, k)| {
                let k = k.as_ref()?;
                Some((
                    j,
                    format!(
                        "EXISTS (SELECT 1 FROM {table} WHERE ({}) = ({}))",
                        list.join(", "),
                        k.join(", ")
                    ),
                ))
            })
            .collect();
        let mut found = std::collections::HashSet::new();
        if !probes.is_empty() {
            let sql = format!(
                "SELECT {}",
                probes.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(", ")
            );
            if let Some(r) = backend.read(&sql).await?.rows.first() {
                for ((j, _), v) in probes.iter().zip(r) {
                    if text(v) == "1" {
                        found.insert(*j);
                    }
                }
            }
        }
        keys.push(per_row);
        existing.push(found);
    }
    // The statement's own rows compare as the columns store them: `51` and `'51.0'`
    // are one key of an INT column.
    let numeric = |column: &str| {
        schema
            .find_table(&plan.table)
            .and_then(|t| t.column(column))
            .is_some_and(|c| c.normalized_type.is_integer() || matches!(c.normalized_type, DataType::Decimal { .. }))
    };
    let stored = |key: &[String], cols: &[String]| -> Vec<String> {
        key.iter()
            .zip(cols)
            .map(|(v, c)| super::checks::canon_strict(v, numeric(c)))
            .collect()
    };
    for j in 0..rows.len() {
        for (k, (name, cols)) in indexes.iter().enumerate() {
            let Some(key) = &keys[k][j] else { continue };
            let bare_key: Vec<String> = key.iter().map(|v| bare(v)).collect();
            let mine = stored(key, cols);
            let earlier = keys[k][..j].iter().flatten().any(|e| stored(e, cols) == mine);
            if earlier || existing[k].contains(&j) {
                return Ok(Some(ServerError::new(
                    1062,
                    "23000",
                    format!("Duplicate entry '{}' for key '{name}'", bare_key.join("-")),
                )));
            }
        }
    }
    Ok(None)
}

/// Whether the head's unique keys of the plan's table (`SHOW INDEX`) have the
/// columns the data nodes' have (`schema`, read from a node): MariaDB wants the
/// partitioning columns in every unique key of the head's partitioned table, so a
/// node's key may be narrower, and then rows clash on a node that the head's key
/// says are distinct.
async fn same_unique_keys(plan: &Plan, schema: &Schema, backend: &mut Backend) -> Result<bool, ServerError> {
    let Some(table) = schema.find_table(&plan.table) else {
        return Ok(false);
    };
    let lower = |cols: &[String]| cols.iter().map(|c| c.to_ascii_lowercase()).collect::<Vec<_>>();
    let mut nodes: Vec<Vec<String>> = table.unique_keys.iter().map(|k| lower(&k.columns)).collect();
    if !table.primary_key.is_empty() {
        nodes.push(lower(&table.primary_key));
    }
    let text = |v: &crate::wire::value::Value| v.text().to_string();
    let mut head: Vec<(String, Vec<String>)> = Vec::new();
    let sql = format!("SHOW INDEX FROM {}", tether_fkplan::ident(&plan.table));
    for r in backend.read(&sql).await?.rows {
        let (Some(unique), Some(name), Some(column)) = (r.get(1), r.get(2), r.get(4)) else {
            continue;
        };
        if text(unique) != "0" {
            continue;
        }
        let (name, column) = (text(name), text(column).to_ascii_lowercase());
        match head.iter_mut().find(|(n, _)| *n == name) {
            Some((_, cols)) => cols.push(column),
            None => head.push((name, vec![column])),
        }
    }
    let mut head: Vec<Vec<String>> = head.into_iter().map(|(_, c)| c).collect();
    head.sort();
    nodes.sort();
    Ok(head == nodes)
}

/// Whether the statement is a REPLACE or an INSERT ... ON DUPLICATE KEY UPDATE.
fn is_upsert(plan: &Plan) -> bool {
    match Parser::parse_sql(&MySqlDialect {}, &plan.original).ok().as_deref() {
        Some([Statement::Insert(i)]) => i.replace_into || matches!(i.on, Some(OnInsert::DuplicateKeyUpdate(_))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::identifiers;

    #[test]
    fn partition_expressions_name_whole_identifiers() {
        assert_eq!(identifiers("`customer_id`"), ["customer_id"]);
        assert_eq!(identifiers("`a`,`b`"), ["a", "b"]);
        assert_eq!(identifiers("year(`d`) + `x``y` * 2"), ["d", "x`y"]);
        assert_eq!(identifiers("to_days(d) DIV 7"), ["d", "DIV"]);
        assert_eq!(
            identifiers("case when `s` = 'id' then 1 end"),
            ["case", "when", "s", "then", "end"]
        );
        assert!(identifiers("").is_empty());
    }
}
