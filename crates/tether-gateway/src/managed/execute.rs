//! One plan run inside an open transaction or savepoint: the start rows read and
//! locked, the cascade followed, the statement's parents checked, then one batch
//! of child statements and the original with the backend's FK checks off.

use tether_fkplan::{Event, NewRows, ParentChecks, Plan, Start};

use super::cascade::{cascade, Item};
use super::checks::{check_parents, OwnRow, Verdict};
use super::clash::{clash_condition, clash_decidable, updated_row, Updated};
use super::native_first::{
    deleted_natively, earlier_error, first_native_error, native_error_after, native_outcome, native_outcome_warned,
    native_unless_refused, single, BATCH_SAVEPOINT, NATIVE_SAVEPOINT,
};
use super::render::{is_null, literals};
use super::sharded::Behind;
use super::state::{id_len, starts_with_word, Writes};
use crate::backend::Backend;
use crate::reply::{Reply, ServerError};

/// A statement run as several planned statements, one per row, in order (see
/// [`Plan::steps`]); the client gets the native run's result.
pub(super) async fn run_steps(plan: &Plan, backend: &mut Backend) -> Result<Reply, ServerError> {
    if plan.by_innodb.is_some() {
        return single(backend, &plan.original).await;
    }
    let (native, warnings) = native_outcome_warned(plan, backend).await?;
    for step in &plan.steps {
        if step.is_passthrough() {
            single(backend, &step.original).await?;
        } else {
            run_inside(step, backend, Behind::InnoDb).await?;
        }
    }
    // The steps' statements cleared the native run's warnings, which the client
    // is told of: SHOW WARNINGS gives them, as natively.
    if let Some(restore) = warnings {
        if let Some(Reply::Error(e)) = backend.query(&restore).await.last() {
            tracing::debug!("cannot give the session back its warnings: {}", e.message);
        }
    }
    Ok(native)
}

/// Key rows read by a lock read, without those whose primary key is NULL (the
/// missing side of an outer join).
pub(super) fn present(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .filter(|r| r.first().is_some_and(|v| !is_null(v)))
        .collect()
}

/// Runs one plan inside the open transaction or savepoint: what the client sees
/// for its original statement. `behind` says whether InnoDB checks what the
/// gateway cannot decide (else the statement is refused).
pub(super) async fn run_inside(plan: &Plan, backend: &mut Backend, behind: Behind<'_>) -> Result<Reply, ServerError> {
    if let Some(why) = &plan.by_innodb {
        // Keys only InnoDB compares right (a NO PAD collation over a CHAR paired
        // with another type): its checks and cascades, nothing of the plan's.
        behind.refuse(&format!("a write InnoDB alone can check ({why})"))?;
        behind.writes();
        return single(backend, &plan.original).await;
    }
    let picked;
    let plan = match &plan.pick {
        None => plan,
        Some(pick) => match picked_plan(plan, pick, backend, behind).await? {
            Some(p) => {
                picked = p;
                &picked
            }
            // The statement changes no row: nothing cascades, nothing to check.
            None => {
                behind.writes();
                return single(backend, &plan.original).await;
            }
        },
    };
    let mut started = match read_start(plan, backend, behind).await? {
        Next::Go(started) => started,
        Next::Answered(reply) => return Ok(reply),
    };
    let checks_on = match check_own_parents(plan, backend, &mut started, behind).await? {
        Next::Go(checks_on) => checks_on,
        Next::Answered(reply) => return Ok(reply),
    };
    run_batch(plan, backend, started.writes, started.native, checks_on, behind).await
}

/// A DELETE / UPDATE with LIMIT: the rows it changes, found first, and the plan
/// on those rows only, by primary key (the lock read with the statement's LIMIT may
/// take other rows than the statement: another index, ties). The rows are those a
/// trial DELETE with the statement's WHERE, ORDER BY and LIMIT returns, run under
/// a savepoint rolled back at once (its row locks stay); without a trial (a table
/// alias, or behind a sharding engine, which has no savepoints) those of the lock
/// read. `None` when the statement changes no row.
async fn picked_plan(
    plan: &Plan,
    pick: &tether_fkplan::Pick,
    backend: &mut Backend,
    behind: Behind<'_>,
) -> Result<Option<Plan>, ServerError> {
    let n = pick.columns.len();
    let keys: Vec<Vec<String>> = match pick.trial.as_ref().filter(|_| behind.is_innodb()) {
        Some(trial) => {
            super::nontransactional::refuse_before_trial(&plan.original, "this statement", backend).await?;
            backend.exec(&format!("SAVEPOINT {NATIVE_SAVEPOINT}")).await?;
            let rows = match !pick.trial_checks {
                true => {
                    let set = backend.exec("SET foreign_key_checks = 0").await;
                    let rows = match set {
                        Ok(_) => backend.read(trial).await,
                        Err(e) => Err(e),
                    };
                    let _ = backend.exec("SET foreign_key_checks = 1").await;
                    rows
                }
                false => backend.read(trial).await,
            };
            // After a deadlock the transaction, savepoint and all, is gone already.
            let rolled_back = backend.exec(&format!("ROLLBACK TO SAVEPOINT {NATIVE_SAVEPOINT}")).await;
            // A DELETE's trial is the statement itself with InnoDB's checks: its
            // error is MariaDB's.
            let rows = rows?;
            rolled_back?;
            literals(&rows)
        }
        None if pick.trial_required => {
            // Only MariaDB's own run finds these rows (a WHERE re-read between
            // cascades); behind a sharding engine none runs.
            behind.refuse("a DELETE whose WHERE reads, in a subquery, a table its cascade changes")?;
            return Err(ServerError::gateway(
                "tether gateway: no native trial could find the rows of this DELETE",
            ));
        }
        None => {
            let read = match &plan.start {
                Start::Delete { read } | Start::Update { read } => read,
                _ => return Ok(Some(plan.clone())),
            };
            let rows = backend.read(read).await?;
            literals(&rows)
        }
    };
    let mut seen = std::collections::HashSet::new();
    let keys: Vec<Vec<String>> = keys
        .into_iter()
        .map(|mut r| {
            r.truncate(n);
            r
        })
        .filter(|r| seen.insert(r.clone()))
        .collect();
    if keys.is_empty() {
        return Ok(None);
    }
    let mut picked = plan.clone();
    let read = pick.read.render(&pick.columns, &keys, &[]);
    picked.start = match &plan.start {
        Start::Delete { .. } => Start::Delete { read },
        Start::Update { .. } => Start::Update { read },
        other => other.clone(),
    };
    picked.original = pick.original.render(&pick.columns, &keys, &[]);
    picked.pick = None;
    Ok(Some(picked))
}

/// How a step of [`run_inside`] ends: the run goes on with `T`, or the statement
/// is answered already.
enum Next<T> {
    Go(T),
    Answered(Reply),
}

/// What reading the start rows leaves for the checks and the batch.
struct Started {
    /// The child statements the cascade decided, and the rows it changes.
    writes: Writes,
    /// The statement's own rows as the parent checks see them.
    own: Vec<OwnRow>,
    /// The native run's result, when the statement takes its outcome from one.
    native: Option<Reply>,
}

/// Reads (and locks) the rows the statement starts from, as the plan's start
/// says, and follows the cascade from them.
async fn read_start(plan: &Plan, backend: &mut Backend, behind: Behind<'_>) -> Result<Next<Started>, ServerError> {
    let mut writes = Writes::default();
    let mut own: Vec<OwnRow> = Vec::new();
    // Statements whose row order the plan cannot follow take their outcome from a
    // native run; the plan then has no checks of its own to make.
    let by_key = matches!(&plan.start, Start::Multi { targets } if targets.iter().any(|t| t.by_key.is_some()));
    // A DELETE whose order of rows only the optimizer knows takes its outcome
    // from a native run too, where there is one (behind InnoDB).
    let native_first = plan.native_first || (plan.native_order && behind.is_innodb());
    let mut native = match native_first && !by_key {
        true => Some(native_outcome(plan, backend).await?),
        false => None,
    };
    let checks = !native_first;
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
            let deep = cascade_or_native(plan, backend, items, &mut writes, checks, behind, &mut native).await;
            if let Err(failure) = deep {
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
                    let deep = cascade_or_native(plan, backend, vec![item], &mut writes, checks, behind, &mut native);
                    if let Err(failure) = deep.await {
                        if !behind.may_replay() {
                            return Err(failure.error);
                        }
                        behind.writes();
                        if behind.is_innodb() {
                            return native_unless_refused(plan, backend, failure.error)
                                .await
                                .map(Next::Answered);
                        }
                        return Err(first_native_error(plan, backend, failure.error).await);
                    }
                }
            }
        }
        Start::Delete { .. } | Start::Update { .. } if !clash_decidable(plan, backend).await? => {
            // Which rows the new rows clash with is InnoDB's to find (a prefix or
            // hash index, a NO PAD collation, a schema the gateway has not read
            // yet): the original runs natively, with InnoDB's checks and cascades.
            behind.refuse("a REPLACE or ON DUPLICATE KEY UPDATE whose unique keys the gateway cannot match exactly")?;
            let reply = single(backend, &plan.original).await?;
            return super::migrating::native_ran(plan, backend.database(), reply).map(Next::Answered);
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
                let deep = cascade_or_native(plan, backend, vec![item], &mut writes, checks, behind, &mut native);
                if let Err(failure) = deep.await {
                    // Natively the rows go one by one: an earlier row may fail
                    // first, on another child FK (a DELETE of a range), or with
                    // another error (a REPLACE's missing parent, say). Not inside a
                    // client transaction behind the head: the replay writes.
                    if !behind.may_replay() {
                        return Err(failure.error);
                    }
                    behind.writes();
                    // Behind InnoDB its replay also says whether a RESTRICT child
                    // was gone, in InnoDB's order, before its check.
                    if behind.is_innodb() {
                        return native_unless_refused(plan, backend, failure.error)
                            .await
                            .map(Next::Answered);
                    }
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
                    Updated::Unknown => {
                        behind.refuse("an ON DUPLICATE KEY UPDATE whose new row clashes on several unique keys")?;
                        let reply = single(backend, &plan.original).await?;
                        return super::migrating::native_ran(plan, backend.database(), reply).map(Next::Answered);
                    }
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
            let (old, mut new): (Vec<_>, Vec<_>) = all
                .into_iter()
                .map(|mut r| {
                    let new = r.split_off(half);
                    (r, new)
                })
                .unzip();
            // The new keys cascade as the columns store them (cut, converted).
            if let Some(rules) = plan.rules_for(&plan.table, Event::Update) {
                super::stored::keys_as_stored(&rules.key_columns, &rules.key_types, &plan.table, &mut new, backend)
                    .await?;
            }
            if !old.is_empty() {
                let pk_len = id_len(plan, &plan.table, Event::Update, old[0].len());
                let start_ids: Vec<Vec<String>> = old.iter().map(|r| r[..pk_len].to_vec()).collect();
                let origin = (0..old.len()).collect();
                let item = Item::start(&plan.table, Event::Update, old, new, origin);
                let deep = cascade_or_native(plan, backend, vec![item], &mut writes, checks, behind, &mut native);
                if let Err(failure) = deep.await {
                    if !behind.may_replay() {
                        return Err(failure.error);
                    }
                    behind.writes();
                    // A RESTRICT / NO ACTION refusal: InnoDB, taking the FKs in its
                    // own order (depth first, by constraint name), may meet another
                    // child's first or find the child gone; its replay decides, as
                    // for a DELETE. Not for a write that must run once.
                    if behind.is_innodb() && failure.error.code == 1451 && !plan.allocates {
                        return native_unless_refused(plan, backend, failure.error)
                            .await
                            .map(Next::Answered);
                    }
                    return Err(earlier_error(plan, backend, failure, &start_ids).await);
                }
            }
        }
    }
    Ok(Next::Go(Started { writes, own, native }))
}

/// The cascade from `items`; when it meets InnoDB's depth limit (1296) behind
/// InnoDB, a native run decides, as for [`Plan::native_first`]: InnoDB goes depth
/// first, row by row, so whether a row reachable by paths of different lengths
/// is deleted within the limit depends on its order, which the breadth-first plan
/// does not follow. The native run's error is the statement's (InnoDB's own 1296,
/// or whatever it meets first); on success the cascade is made again without the
/// checks InnoDB just passed, and the client gets the native run's result.
async fn cascade_or_native(
    plan: &Plan,
    backend: &mut Backend,
    items: Vec<Item>,
    writes: &mut Writes,
    checks: bool,
    behind: Behind<'_>,
    native: &mut Option<Reply>,
) -> Result<(), super::state::Failure> {
    // A statement that may take auto-increment values must run once: the
    // gateway's own 1296 stands for it, as before.
    let decide = checks && behind.is_innodb() && behind.may_replay() && !plan.allocates;
    let again = decide.then(|| items.clone());
    match cascade(plan, backend, items, writes, checks).await {
        Err(failure) if failure.error.code == 1296 => {
            let Some(items) = again else {
                return Err(failure);
            };
            let reply = native_outcome(plan, backend).await?;
            writes.statements.clear();
            writes.changes.clear();
            writes.uncounted.clear();
            writes.self_reached.clear();
            *native = Some(reply);
            cascade(plan, backend, items, writes, false).await
        }
        other => other,
    }
}

/// The gateway's parent checks of the statement's own rows: whether the original
/// must run with InnoDB's checks on, or the answer when a check failed.
async fn check_own_parents(
    plan: &Plan,
    backend: &mut Backend,
    started: &mut Started,
    behind: Behind<'_>,
) -> Result<Next<bool>, ServerError> {
    // Whether the original runs with InnoDB's checks on: for the forms the planner
    // leaves to InnoDB, and when the gateway cannot tell (a parent it would have to
    // match against a value known only after the insert).
    let mut checks_on = plan.original_fk_checks;
    let Started { writes, own, .. } = started;
    if let Some(checks) = &plan.parent_checks {
        match &checks.rows {
            NewRows::Values(rows) => *own = rows.iter().map(|r| OwnRow::inserted(r)).collect(),
            NewRows::ReadOrValues(row) if own.is_empty() => *own = vec![OwnRow::inserted(row)],
            NewRows::ReadOrValues(_) | NewRows::Read => {}
        }
        // The values are checked as the columns store them (cut outside strict
        // mode, rounded, converted): InnoDB checks the stored value, and the
        // original runs with checks off (behind the head nothing checks at all).
        // A later row's store error (1048, 1264, ...) is not the statement's when an
        // earlier row fails first: MariaDB goes row by row, each row checked (its
        // FKs, its unique keys) before the next is stored. Behind InnoDB the
        // original is replayed with its checks to find the first failing row.
        if let Err(error) = super::stored::as_stored(checks, &checks.types, &plan.table, own, backend).await {
            if own.len() < 2 || !behind.is_innodb() {
                return Err(error);
            }
            return first_error_replayed(plan, backend, writes, error).await;
        }
        // A REPLACE's deletes all come before its checks: it has one row, or it
        // writes a table outside FK cycles, whose deletes reach no parent of its rows.
        let one_row = matches!(plan.start, Start::Delete { .. });
        // Behind the head the probe is the only check: a value changed in bytes
        // only is probed (under the collation) rather than left to InnoDB.
        let by_bytes = !behind.is_innodb();
        match check_parents(checks, own, &writes.changes, one_row, by_bytes, backend).await? {
            Verdict::Pass => {}
            Verdict::Unsure => {
                behind.refuse(
                    "a write whose parent keys only the column's collation or the inserted row can match \
                     (case or trailing spaces, a value the insert computes)",
                )?;
                checks_on = true
            }
            Verdict::Fail(error, row) if !behind.is_innodb() => {
                // Behind Spider a replay meets only the nodes' errors, of any row
                // in partition order: the gateway looks for a duplicate key up to
                // the failing row itself (InnoDB meets a row's duplicate first).
                let Behind::Nothing { schema, .. } = behind else {
                    return Err(error);
                };
                return Err(super::sharded::duplicate_before(plan, schema, backend, row)
                    .await?
                    .unwrap_or(error));
            }
            Verdict::Fail(error, _) => return first_error_replayed(plan, backend, writes, error).await,
        }
    }
    Ok(Next::Go(checks_on))
}

/// `error` (the gateway's, of some row), or the one MariaDB meets first: going
/// row by row with its own checks, it may meet another error first (a duplicate
/// key on an earlier row, another FK of the same row, an earlier row's missing
/// parent before a later row's NULL), so the original is replayed with InnoDB's
/// checks inside the statement's transaction or savepoint (rolled back by the
/// caller) and its error wins.
async fn first_error_replayed(
    plan: &Plan,
    backend: &mut Backend,
    writes: &Writes,
    error: ServerError,
) -> Result<Next<bool>, ServerError> {
    let replies = backend.query(&plan.original).await;
    match replies.into_iter().last() {
        Some(Reply::Error(e)) => Err(e),
        // InnoDB found every parent (a value the gateway compared more strictly,
        // say `20.0` with `20`). With no child statement the replay is the whole
        // statement, as the old path ran it: keep it.
        Some(reply) if writes.statements.is_empty() => {
            super::migrating::native_ran(plan, backend.database(), writes.adjust(plan, reply)).map(Next::Answered)
        }
        _ => Err(error),
    }
}

/// The batch: under a savepoint, with the backend's FK checks off, the original
/// and the child statements in the order the plan needs; the client's result.
async fn run_batch(
    plan: &Plan,
    backend: &mut Backend,
    writes: Writes,
    native: Option<Reply>,
    checks_on: bool,
    behind: Behind<'_>,
) -> Result<Reply, ServerError> {
    behind.writes();
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
    // Spider has no savepoints (error 1178): behind it the batch fails whole, and
    // the caller rolls the transaction back.
    let mut batch = match behind.is_innodb() {
        true => vec![format!("SAVEPOINT {BATCH_SAVEPOINT}")],
        false => Vec::new(),
    };
    batch.push("SET foreign_key_checks = 0".to_string());
    let lead = batch.len();
    let original_last = plan.original_last();
    match &writes.instead {
        Some(instead) => batch.extend(instead.iter().cloned()),
        None if !original_last => batch.push(plan.original.clone()),
        None => {}
    }
    // The child statements after the original clear its warnings: read them right
    // after it, to give them back to the session once the batch ran.
    let warnings_at = (writes.instead.is_none() && !original_last && !writes.statements.is_empty()).then(|| {
        batch.push("SHOW WARNINGS".to_string());
        batch.len() - 1
    });
    batch.extend(writes.statements.iter().cloned());
    let original_at = if writes.instead.is_some() {
        None
    } else if !original_last {
        Some(lead)
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
        if !behind.is_innodb() {
            // No savepoint to replay under: the batch's own error.
            let _ = backend.exec("SET foreign_key_checks = 1").await;
            return Err(e.clone());
        }
        return native_error_after(plan, backend, e.clone()).await;
    }
    if writes.instead.is_some() {
        return native.ok_or_else(|| ServerError::gateway("tether gateway: no native result for a planned statement"));
    }
    if let Some(at) = original_at {
        let restore = match (replies.get(at), warnings_at.and_then(|w| replies.get(w))) {
            (Some(Reply::Ok(ok)), Some(shown)) => super::session_state::warnings_restore(shown, ok.warnings),
            _ => None,
        };
        if let Some(restore) = restore {
            if let Some(Reply::Error(e)) = backend.query(&restore).await.last() {
                tracing::debug!("cannot give the session back its warnings: {}", e.message);
            }
        }
        let reply = replies
            .into_iter()
            .nth(at)
            .ok_or_else(|| ServerError::gateway("tether gateway: the backend returned too few results"))?;
        let reply = super::sharded::counted(plan, &writes, reply, behind);
        return Ok(native.unwrap_or_else(|| writes.adjust(plan, reply)));
    }
    let reply = single(backend, &plan.original).await?;
    Ok(native.unwrap_or_else(|| writes.adjust(plan, reply)))
}
