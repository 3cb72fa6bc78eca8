//! Where a plan runs: in a transaction of its own (START TRANSACTION ... COMMIT)
//! when the client has none open, else under a savepoint of the client's
//! transaction, so a failed statement rolls back only itself.
//!
//! The gateway's own transaction leaves the client's session as a native
//! autocommit statement would: its COMMIT and ROLLBACK ignore the client's
//! `completion_type` ([`COMMIT`], [`ROLLBACK`]), and a `SET TRANSACTION READ ONLY`
//! the client left for its next transaction, which MariaDB keeps over the writes it
//! refuses, is set again after a refused write ([`Own`]).
//!
//! Under the client's LOCK TABLES the gateway's transaction is not START
//! TRANSACTION, which would release the client's table locks, but `SET autocommit
//! = 0` ... COMMIT ... `SET autocommit = 1`, as MariaDB documents for transactions
//! under LOCK TABLES ([`under_table_locks`]).

use tether_fkplan::{Plan, Start};
use tether_schema::Schema;

use super::execute::{run_inside, run_steps};
use super::sharded::Behind;
use crate::backend::Backend;
use crate::reply::{Reply, ServerError};
use crate::wire::value::Value;

pub(super) const SAVEPOINT: &str = "_tether_fk";

/// The gateway's COMMIT of its own transaction. Not a bare COMMIT: under the
/// client's `completion_type` CHAIN that opens a transaction the client never
/// opened (its later statements would run, uncommitted, inside it), under
/// RELEASE the backend closes the connection.
pub(super) const COMMIT: &str = "COMMIT AND NO CHAIN NO RELEASE";

/// The gateway's ROLLBACK, for the same reason as [`COMMIT`].
pub(super) const ROLLBACK: &str = "ROLLBACK AND NO CHAIN NO RELEASE";

/// SERVER_STATUS_IN_TRANS_READONLY: the open transaction is read only.
const IN_TRANS_READONLY: u16 = 0x2000;

/// Where the client's session stands when a planned write arrives.
pub(super) struct Standing {
    /// A transaction of the client's is open, or autocommit is off (the next
    /// statement opens one).
    pub in_tx: bool,
    /// `@@SESSION.tx_read_only`: the access mode a transaction gets when no
    /// `SET TRANSACTION` is pending.
    read_only: bool,
}

/// Reads the session's [`Standing`] (one query, no table: the client's
/// warnings stay).
pub(super) async fn standing(backend: &mut Backend) -> Result<Standing, ServerError> {
    let rows = backend
        .read("SELECT @@in_transaction, @@autocommit, @@SESSION.tx_read_only")
        .await?;
    let row = rows.rows.first();
    Ok(Standing {
        in_tx: row.is_some_and(|r| literal_is_true(r.first()) || !literal_is_true(r.get(1))),
        read_only: row.is_some_and(|r| literal_is_true(r.get(2))),
    })
}

/// The gateway's own transaction around a planned write in autocommit mode.
///
/// MariaDB 10.11 keeps a pending `SET TRANSACTION` (next transaction's access
/// mode and isolation) until a statement that reaches the storage engine ends
/// (an autocommit read or write) or the client's BEGIN, COMMIT or ROLLBACK. Under
/// `READ ONLY` every write fails with 1792 before it reaches the engine, so the
/// characteristic stays, and every later write fails too. The gateway's START
/// TRANSACTION takes it and its ROLLBACK would end it: [`Own::begin`] sees it in
/// the status flags of START TRANSACTION (a read-only transaction in a read-write
/// session), and [`Own::end`] sets it again after a failed write. A write that
/// succeeds (or a `READ WRITE` pending over a read-only session) used it up, as
/// natively.
pub(super) struct Own {
    /// The client's `SET TRANSACTION READ ONLY` was pending.
    read_only_pending: bool,
}

impl Own {
    /// START TRANSACTION, with the transaction marked as the gateway's own.
    pub(super) async fn begin(backend: &mut Backend, standing: &Standing) -> Result<Own, ServerError> {
        // Not BEGIN: under sql_mode ORACLE that opens a compound statement (1064).
        backend.exec("START TRANSACTION").await?;
        let read_only = backend.status().is_some_and(|s| s & IN_TRANS_READONLY != 0);
        let read_only_pending = read_only && !standing.read_only;
        // A connection lost inside our own transaction loses nothing the client
        // opened: the client may go on (reconnecting) after the error.
        backend.set_own_transaction(true);
        Ok(Own { read_only_pending })
    }

    /// After the gateway's COMMIT or ROLLBACK of the write whose answer is
    /// `replies`: a pending READ ONLY again if the write failed, and the
    /// transaction no longer the gateway's.
    pub(super) async fn end(self, backend: &mut Backend, replies: &[Reply]) {
        let failed = replies.iter().any(|r| matches!(r, Reply::Error(_)));
        if self.read_only_pending && failed {
            if let Err(e) = backend.exec("SET TRANSACTION READ ONLY").await {
                tracing::warn!(
                    "cannot restore the client's pending SET TRANSACTION READ ONLY: {}",
                    e.message
                );
            }
        }
        backend.set_own_transaction(false);
    }
}

/// Runs the plan and returns what the client sees for the original statement.
/// `schema`: the keyspace's tables, `keyspace` its name (for refusals).
/// `table_locks`: the client's session may hold table locks (LOCK TABLES, see
/// `session_state::table_locks_after`).
pub async fn run(plan: &Plan, schema: &Schema, keyspace: &str, backend: &mut Backend, table_locks: bool) -> Vec<Reply> {
    if !plan.pins_time {
        return run_unpinned(plan, schema, keyspace, backend, table_locks).await;
    }
    let pinned = match Pinned::pin(backend).await {
        Ok(p) => p,
        Err(e) => return vec![Reply::Error(e)],
    };
    let replies = run_unpinned(plan, schema, keyspace, backend, table_locks).await;
    // The statement's answer stands (it may have committed): a SET that fails has
    // lost the connection, which the next command meets.
    if let Err(e) = pinned.release(backend).await {
        tracing::warn!("cannot set the session's timestamp back to DEFAULT: {}", e.message);
    }
    replies
}

/// The session's `timestamp` held at one value for a plan whose lock read computes
/// a new value from the statement's time ([`Plan::pins_time`]): the lock read, the
/// statement (its ON UPDATE CURRENT_TIMESTAMP columns) and every replay see the
/// time the statement would have seen, so the cascades follow the key it stores.
/// A time the client pinned itself (`SET timestamp = ...`) stays as it was.
struct Pinned {
    /// Whether the gateway set the time (the client had not): set back to DEFAULT.
    by_gateway: bool,
}

impl Pinned {
    async fn pin(backend: &mut Backend) -> Result<Pinned, ServerError> {
        // Unpinned, `@@timestamp` is each query's own start time: two reads differ
        // (by the round trip between them, microseconds at least).
        let first = backend.read("SELECT @@timestamp").await?;
        let second = backend.read("SELECT @@timestamp").await?;
        let value = |rows: &crate::backend::Rows| {
            rows.rows
                .first()
                .and_then(|r| r.first())
                .map(|v| v.text())
                .unwrap_or_default()
        };
        let (first, second) = (value(&first), value(&second));
        if first == second {
            return Ok(Pinned { by_gateway: false });
        }
        // A number as MariaDB prints it (`1765121234.567890`): nothing else is sent.
        if second.is_empty() || !second.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(ServerError::gateway(format!(
                "tether gateway: cannot pin the statement's time (@@timestamp read as `{second}`)"
            )));
        }
        backend.exec(&format!("SET timestamp = {second}")).await?;
        Ok(Pinned { by_gateway: true })
    }

    async fn release(self, backend: &mut Backend) -> Result<(), ServerError> {
        if self.by_gateway {
            backend.exec("SET timestamp = DEFAULT").await?;
        }
        Ok(())
    }
}

async fn run_unpinned(
    plan: &Plan,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
    table_locks: bool,
) -> Vec<Reply> {
    if table_locks {
        // MariaDB opens every table the statement needs (its FK tables too) before
        // it runs: a table not locked is its error (1100), or a READ lock on the
        // written table (1099), before anything of the plan's.
        if let Some(e) = lock_error(backend, &plan.original).await {
            return vec![Reply::Error(e)];
        }
    }
    // Inside the client's transaction (or with autocommit off) a failed statement
    // must roll back only itself: use a savepoint. Otherwise a transaction of our own.
    let standing = match standing(backend).await {
        Ok(s) => s,
        Err(e) => return vec![Reply::Error(e)],
    };
    if standing.in_tx {
        if let Err(e) = backend.exec(&format!("SAVEPOINT {SAVEPOINT}")).await {
            return vec![Reply::Error(e)];
        }
        let commit = format!("RELEASE SAVEPOINT {SAVEPOINT}");
        let rollback = format!("ROLLBACK TO SAVEPOINT {SAVEPOINT}");
        let replies = run_opened(plan, schema, keyspace, backend, &commit, &rollback).await;
        return match table_locks && met_lock(&replies) {
            true => backend.query(&plan.original).await,
            false => replies,
        };
    }
    if table_locks {
        return under_table_locks(plan, schema, keyspace, backend).await;
    }
    let own = match Own::begin(backend, &standing).await {
        Ok(own) => own,
        Err(e) => return vec![Reply::Error(e)],
    };
    let replies = run_opened(plan, schema, keyspace, backend, COMMIT, ROLLBACK).await;
    own.end(backend, &replies).await;
    replies
}

/// The gateway's own transaction while the client may hold table locks: START
/// TRANSACTION would release them (another session could write the tables at
/// once, where natively it waits); `SET autocommit = 0` opens the transaction
/// with the first statement and neither it, COMMIT nor ROLLBACK releases them.
/// A pending `SET TRANSACTION READ ONLY` is not restored after a refused write
/// here ([`Own`] sees it only in START TRANSACTION's status).
async fn under_table_locks(plan: &Plan, schema: &Schema, keyspace: &str, backend: &mut Backend) -> Vec<Reply> {
    if let Err(e) = backend.exec("SET autocommit = 0").await {
        return vec![Reply::Error(e)];
    }
    backend.set_own_transaction(true);
    let replies = run_opened(plan, schema, keyspace, backend, COMMIT, ROLLBACK).await;
    let restored = backend.exec("SET autocommit = 1").await;
    backend.set_own_transaction(false);
    if let Err(e) = restored {
        return vec![Reply::Error(e)];
    }
    match met_lock(&replies) {
        true => backend.query(&plan.original).await,
        false => replies,
    }
}

/// MariaDB's error for `original` under the session's table locks, found without
/// running it: `EXPLAIN` opens (and lock-checks) the same tables, FK tables
/// included. `None` when the tables are locked as the statement needs.
async fn lock_error(backend: &mut Backend, original: &str) -> Option<ServerError> {
    match backend.query(&format!("EXPLAIN {original}")).await.into_iter().last() {
        Some(Reply::Error(e)) if is_lock_error(&e) => Some(e),
        _ => None,
    }
}

/// The plan met a table lock MariaDB's own run does not meet (the statement's
/// `EXPLAIN` passed): the gateway reads a table InnoDB reaches below the locks (a
/// parent of an inserted row, which LOCK TABLES of the child does not lock). The
/// plan was rolled back; the original runs as InnoDB runs it.
fn met_lock(replies: &[Reply]) -> bool {
    replies.iter().any(|r| matches!(r, Reply::Error(e) if is_lock_error(e)))
}

/// 1100 (table not locked with LOCK TABLES), 1099 (locked with a READ lock, and
/// written).
fn is_lock_error(e: &ServerError) -> bool {
    matches!(e.code, 1099 | 1100)
}

/// Runs the plan in the transaction or savepoint just opened, and ends it with
/// `commit` or `rollback`.
async fn run_opened(
    plan: &Plan,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
    commit: &str,
    rollback: &str,
) -> Vec<Reply> {
    // A REPLACE ... SELECT writes the rows its SELECT gives before its cascades.
    // A clause the rows cannot carry (a priority, PARTITION) is refused.
    let outcome = match &plan.start {
        Start::ReplaceSelect(_) => match tether_fkplan::insert_parts(&plan.original) {
            Some(parts) => super::replace_select::run(plan, &parts, schema, keyspace, backend).await,
            None => Err(super::unsharded_refusal(keyspace, "this form of REPLACE ... SELECT")),
        },
        _ if plan.steps.is_empty() => run_inside(plan, backend, Behind::InnoDb).await,
        _ => run_steps(plan, backend).await,
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
            if !transaction_gone(&e, backend).await {
                let _ = backend.exec(rollback).await;
            }
            let _ = backend.exec("SET foreign_key_checks = 1").await;
            vec![Reply::Error(e)]
        }
    }
}

/// True when the failure `e` rolled the whole transaction back: a deadlock, or a
/// lock wait timeout under innodb_rollback_on_timeout. The savepoint went with it,
/// and a ROLLBACK TO it would fail with 1305, whose message would replace the
/// client's in SHOW WARNINGS (a read of a variable uses no table: it keeps them).
async fn transaction_gone(e: &ServerError, backend: &mut Backend) -> bool {
    match e.code {
        1213 => true,
        1205 => match backend.read("SELECT @@in_transaction").await {
            Ok(rows) => !literal_is_true(rows.rows.first().and_then(|r| r.first())),
            Err(_) => false,
        },
        _ => false,
    }
}

pub(super) fn literal_is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bytes(b)) => b.as_slice() != b"0",
        Some(Value::Int(i)) => *i != 0,
        Some(Value::UInt(u)) => *u != 0,
        _ => false,
    }
}
