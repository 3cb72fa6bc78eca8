//! Native runs a plan leans on: the original run under a savepoint and rolled back
//! for MariaDB's own result or error (native first), a multi-table DELETE's rows
//! as the native run deleted them, and the replays that find the error MariaDB
//! meets first after a plan's check or statement failed.

use std::collections::HashSet;

use tether_fkplan::Plan;

use super::render::{literals, row_sql};
use super::state::Failure;
use crate::backend::Backend;
use crate::reply::{Reply, ServerError};

/// The savepoint of a native run whose outcome a plan takes (see `native_outcome`).
pub(super) const NATIVE_SAVEPOINT: &str = "_tether_native";
/// The savepoint before a plan's batch of writes (see `native_error_after`).
pub(super) const BATCH_SAVEPOINT: &str = "_tether_batch";

/// The original run natively, with InnoDB's checks, under a savepoint rolled back
/// at once: its error, or its result (rows affected, info) for the client. Rolled
/// back, it leaves nothing in the binlog; the row locks it took stay.
pub(super) async fn native_outcome(plan: &Plan, backend: &mut Backend) -> Result<Reply, ServerError> {
    Ok(native_run(plan, backend, false).await?.0)
}

/// [`native_outcome`], and the statement that gives the session the native run's
/// warnings back (see `session_state::warnings_restore`) once the plan's own
/// statements, which clear them, ran. `None`: no warnings (or none to restore).
pub(super) async fn native_outcome_warned(
    plan: &Plan,
    backend: &mut Backend,
) -> Result<(Reply, Option<String>), ServerError> {
    native_run(plan, backend, true).await
}

async fn native_run(plan: &Plan, backend: &mut Backend, warned: bool) -> Result<(Reply, Option<String>), ServerError> {
    super::nontransactional::refuse_before_trial(&plan.original, "this statement", backend).await?;
    backend.exec(&format!("SAVEPOINT {NATIVE_SAVEPOINT}")).await?;
    let reply = single(backend, &plan.original).await;
    let restore = match &reply {
        Ok(Reply::Ok(ok)) if warned && ok.warnings > 0 => match backend.query("SHOW WARNINGS").await.last() {
            Some(shown) => super::session_state::warnings_restore(shown, ok.warnings),
            None => None,
        },
        _ => None,
    };
    // After a deadlock the transaction, savepoint and all, is gone already.
    let rolled_back = backend.exec(&format!("ROLLBACK TO SAVEPOINT {NATIVE_SAVEPOINT}")).await;
    let reply = reply?;
    rolled_back?;
    Ok((reply, restore))
}

/// A multi-table DELETE run natively under a savepoint: its result, and which of
/// the rows each target's read found it deleted (`read` keeps only those); then
/// rolled back. The plan deletes them by key in place of the original: MariaDB
/// deletes from the first table while it scans the join, and a cascade of an
/// early row can change which rows of the other tables still match.
pub(super) async fn deleted_natively(
    plan: &Plan,
    backend: &mut Backend,
    read: &mut [(&tether_fkplan::Target, Vec<Vec<String>>, usize)],
) -> Result<(Reply, Vec<String>), ServerError> {
    super::nontransactional::refuse_before_trial(&plan.original, "this statement", backend).await?;
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
pub(super) fn distinct_ids(rows: &[Vec<String>], n: usize) -> Vec<String> {
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

/// Whether a failure of the plan's own statements may be replayed natively to
/// find the error MariaDB meets first. The replays are for errors about the data
/// (an FK, a duplicate key, a value a column refuses), which depend on the order
/// in which the rows are met. An error that stopped the statement rather than
/// judged its rows is the client's answer as it is, never replayed: the statement
/// was interrupted (KILL QUERY 1317, `max_statement_time` 1969, MySQL's
/// `max_execution_time` 3024, a sort aborted by a kill 1028), a lock wait timed out
/// (1205) or a deadlock rolled the transaction back (1213), the connection or the
/// server went away (2000-2999, the errors after which the server hangs up), or
/// the server ran out of memory, disk or threads. Natively that statement ends
/// with that error, rolled back: a replay would wait a second time for the same
/// lock, or succeed where the client's statement was killed (and after a deadlock,
/// run outside any transaction and commit).
pub(super) fn replayable(error: &ServerError) -> bool {
    !matches!(
        error.code,
        // Interrupted: KILL QUERY, max_statement_time, max_execution_time (MySQL), sort aborted.
        1317 | 1969 | 3024 | 1028
        // Lock wait timeout, deadlock.
        | 1205 | 1213
        // Connection killed, server shutdown, network errors, packet too large, idle disconnect.
        | 1927 | 1053 | 1152..=1161 | 1184 | 4031
        // Out of memory, of threads, disk full, table full, binlog cache full.
        | 1037 | 1038 | 1041 | 1135 | 1021 | 1114 | 1197
        // The client library's (and the gateway's own): connection lost or refused.
        | 2000..=2999
    )
}

/// A statement of the plan's batch failed with `error`: the batch is rolled back
/// and the original runs natively (InnoDB's checks and cascades, row by row), so
/// the client gets the error MariaDB meets first. Should the native run succeed
/// where the plan's statements did not, its result stands, as it would natively
/// (its cascades are InnoDB's: that one statement's child changes miss the binlog).
/// An error that is not about the data ([`replayable`]) is returned as it is; the
/// caller rolls the statement back.
pub(super) async fn native_error_after(
    plan: &Plan,
    backend: &mut Backend,
    error: ServerError,
) -> Result<Reply, ServerError> {
    if !replayable(&error) {
        return Err(error);
    }
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
        true => single(backend, &plan.original)
            .await
            .and_then(|r| super::migrating::native_ran(plan, backend.database(), r)),
        false => Err(error),
    }
}

/// The error the client sees when a DELETE's or REPLACE's delete fails: MariaDB,
/// going row by row with its own checks, may meet another error first (a
/// RESTRICT child of an earlier row, a duplicate key on an earlier row, another
/// FK of the same row). The original is replayed with
/// InnoDB's checks inside the statement's transaction or savepoint, which the
/// caller rolls back; its error wins, and the gateway's stands if it finds none
/// (or is not about the data, [`replayable`]: then nothing is replayed).
pub(super) async fn first_native_error(plan: &Plan, backend: &mut Backend, error: ServerError) -> ServerError {
    if !replayable(&error) {
        return error;
    }
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

/// A DELETE's or REPLACE's delete refused by the gateway's RESTRICT / NO ACTION
/// probe (`error`, 1451): the original is replayed with InnoDB's checks, as by
/// [`first_native_error`], and MariaDB's error wins. Should the replay succeed, its
/// result stands (`Ok`): InnoDB runs a parent row's FKs one at a time, index by
/// index and by FK name within an index, each cascade to its end, so a sibling
/// CASCADE that comes first may remove the child row the probe found (two FKs of
/// one child to the same parent row, a diamond); the probes read the rows as before
/// the statement. Its cascades are then InnoDB's: that one statement's child changes
/// miss the binlog (docs/gateway.md, Limits). Any other error of the gateway stands
/// when the replay finds none; one that is not about the data ([`replayable`])
/// stands without a replay.
pub(super) async fn native_unless_refused(
    plan: &Plan,
    backend: &mut Backend,
    error: ServerError,
) -> Result<Reply, ServerError> {
    if !replayable(&error) {
        return Err(error);
    }
    let mut replies = backend.query(&plan.original).await;
    if let Some(e) = replies.iter().find_map(|r| match r {
        Reply::Error(e) => Some(e.clone()),
        _ => None,
    }) {
        return Err(e);
    }
    match (error.code, replies.pop()) {
        (1451, Some(reply)) => super::migrating::native_ran(plan, backend.database(), reply),
        _ => Err(error),
    }
}

/// An FK error found at the statement's row N stands only if MariaDB, going row by
/// row, would not have failed earlier: the plan's prefix replays rows 0..N natively
/// (inside the statement's savepoint or transaction, rolled back by the caller),
/// unless the error is not about the data ([`replayable`]).
pub(super) async fn earlier_error(
    plan: &Plan,
    backend: &mut Backend,
    failure: Failure,
    start_ids: &[Vec<String>],
) -> ServerError {
    let (Some(prefix), Some(pos)) = (&plan.prefix, failure.origin) else {
        return failure.error;
    };
    if pos == 0 || !replayable(&failure.error) {
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

pub(super) async fn single(backend: &mut Backend, sql: &str) -> Result<Reply, ServerError> {
    let mut replies = backend.query(sql).await;
    match replies.pop() {
        Some(Reply::Error(e)) => Err(e),
        Some(r) => Ok(r),
        None => Err(ServerError::gateway("tether gateway: no result from the backend")),
    }
}
