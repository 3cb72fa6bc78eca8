//! Where a plan runs: in a transaction of its own (BEGIN ... COMMIT) when the client
//! has none open, else under a savepoint of the client's transaction, so a failed
//! statement rolls back only itself.

use tether_fkplan::{Plan, Start};
use tether_schema::Schema;

use super::execute::{run_inside, run_steps};
use super::sharded::Behind;
use crate::backend::Backend;
use crate::reply::{Reply, ServerError};
use crate::wire::value::Value;

pub(super) const SAVEPOINT: &str = "_tether_fk";

/// Runs the plan and returns what the client sees for the original statement.
/// `schema`: the keyspace's tables, `keyspace` its name (for refusals).
pub async fn run(plan: &Plan, schema: &Schema, keyspace: &str, backend: &mut Backend) -> Vec<Reply> {
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
        // Not BEGIN: under sql_mode ORACLE that opens a compound statement (1064).
        (
            "START TRANSACTION".to_string(),
            "COMMIT".to_string(),
            "ROLLBACK".to_string(),
        )
    };
    // A connection lost inside our own BEGIN ... COMMIT loses nothing the client
    // opened: the client may go on (reconnecting) after the error.
    backend.set_own_transaction(!in_tx);
    let replies = run_in_transaction(plan, schema, keyspace, backend, &open, &commit, &rollback).await;
    backend.set_own_transaction(false);
    replies
}

/// Opens the transaction or savepoint, runs the plan, and ends it.
pub(super) async fn run_in_transaction(
    plan: &Plan,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
    open: &str,
    commit: &str,
    rollback: &str,
) -> Vec<Reply> {
    if let Err(e) = backend.exec(open).await {
        return vec![Reply::Error(e)];
    }
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
