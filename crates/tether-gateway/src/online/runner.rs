//! The task of one migration: plan and build the shadows (or take up those a previous
//! run left, from its last copied chunk), copy, cut over, and record every step; on
//! cancel or a failure before the swap, drop triggers and shadows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::copy::{self, Stop};
use super::cutover::{self, CutoverStats, Hold};
use super::db::{lit, Db};
use super::plan::{self, Plan};
use super::store::{self, Migration, Progress, State, Store, TableProgress};
use super::{capture, capturing, recheck, shadow, OnlineError, Shared};

enum Done {
    Complete(CutoverStats),
    /// Cancelled (by this gateway or, through the record, another): what the plan
    /// built is dropped.
    Cancelled(Option<Plan>),
    /// Another task or a final state: nothing to do.
    Nothing,
    /// The ownership was lost (the connection holding the lock went away): nothing is
    /// touched, the task takes the lock again and goes on from the record.
    Lost,
}

struct Failure {
    swapped: bool,
    swapped_back: bool,
    error: OnlineError,
    plan: Option<Plan>,
}

impl From<OnlineError> for Failure {
    fn from(error: OnlineError) -> Self {
        Failure {
            swapped: false,
            swapped_back: false,
            error,
            plan: None,
        }
    }
}

/// How long one wait for a migration's lock lasts before the record is looked at again.
const OWNER_WAIT_SECS: u64 = 1;

/// Runs migration `id` to its end (or until cancelled / aborted). The task first owns
/// the migration (its server lock, waiting while another gateway runs it, and giving
/// up once the record is final), then drives it from the record. `hold`: the refusing
/// hold taken for a `ready` migration before the gateway served anyone
/// ([`resume_hold`]), kept until the resumed cut-over's tables have their FKs.
pub(crate) async fn run(shared: Arc<Shared>, id: String, cancel: Arc<AtomicBool>, mut hold: Option<Hold>) {
    // Its tables stay entered as captured until the task ends, however it ends.
    let _entered = capturing::Entered(id.clone());
    let mut store = shared.store();
    loop {
        // The connection holding the lock: never reopened silently (a new connection
        // would run the next step without the lock, the bounded lock waits and the
        // pinned sql_mode).
        let mut db = Db::owner(&shared.url);
        let owner = match own(&mut db, &mut store, &id).await {
            Ok(Some(owner)) => owner,
            Ok(None) => {
                db.close().await;
                break;
            }
            Err(e) => {
                tracing::warn!("migration {id}: cannot take it over: {e}");
                db.close().await;
                break;
            }
        };
        store.watch(&id, owner, cancel.clone());
        let lost = run_owned(&shared, &id, &mut db, &mut store, &cancel, &mut hold).await;
        store.unwatch();
        if !lost {
            store::release(&mut db, &id).await;
            db.close().await;
            break;
        }
        db.close().await;
        // Ownership lost: a stop that was no cancel is forgotten, and the lock taken again.
        if !matches!(store.cancel_requested(&id).await, Ok(true)) {
            cancel.store(false, Ordering::SeqCst);
        }
        tracing::warn!("migration {id}: its lock was lost; taking it again");
    }
    // A hold never taken up (the migration ended elsewhere): released, and the schema
    // read again by the statements it held.
    if let Some(held) = hold.take() {
        shared.gate.swapped();
        drop(held);
    }
    store.close().await;
}

/// Waits until `db`'s connection holds the lock of `id` (its connection id), or the
/// record is final or gone (`None`).
async fn own(db: &mut Db, store: &mut Store, id: &str) -> Result<Option<u64>, OnlineError> {
    loop {
        if let Some(owner) = store::acquire(db, id, OWNER_WAIT_SECS).await? {
            return Ok(Some(owner));
        }
        match store.get(id).await? {
            Some(m) if !m.state.is_final() => {}
            _ => return Ok(None),
        }
    }
}

/// One owned run on `db` (the connection holding the lock); true when the ownership
/// was lost on the way (run again).
async fn run_owned(
    shared: &Shared,
    id: &str,
    db: &mut Db,
    store: &mut Store,
    cancel: &AtomicBool,
    hold: &mut Option<Hold>,
) -> bool {
    let attempts = shared.settings.cutover_attempts;
    let outcome = match bound_locks(db, shared).await {
        Ok(()) => drive(shared, id, db, store, cancel, hold).await,
        Err(e) => Err(Failure::from(e)),
    };
    // The owner's connection lost (with it the lock: another gateway may own the
    // migration now): nothing more is done or recorded; the task takes the lock again
    // and goes on from the record.
    let gone = db.gone() || matches!(&outcome, Err(f) if matches!(f.error, OnlineError::OwnershipLost { .. }));
    if gone {
        if let Err(f) = &outcome {
            tracing::warn!("migration {id}: stopped, its ownership was lost: {}", f.error);
        }
        return true;
    }
    let lost = matches!(outcome, Ok(Done::Lost));
    let recorded = match outcome {
        Ok(Done::Nothing) | Ok(Done::Lost) => Ok(()),
        Ok(Done::Complete(stats)) => {
            let ms = stats.held.as_millis() as u64;
            let mut message = format!(
                "cut-over held statements {} ms (RENAME {} ms, FKs {} ms)",
                ms,
                stats.rename.as_millis(),
                stats.foreign_keys.as_millis()
            );
            if !stats.orphans.is_empty() {
                // The swap is done and writes go on to the new tables: swapping back
                // would lose them. The status says it first instead (review r14e
                // finding 1): changes the capture never saw (InnoDB's own cascades, or
                // writes that bypass the gateway) left rows without a parent.
                let found: Vec<String> = stats
                    .orphans
                    .iter()
                    .map(|(fk, n)| format!("FK `{fk}` has {n} orphan rows"))
                    .collect();
                message = format!(
                    "COMPLETE WITH ORPHANS: {} (changes the capture did not see, such as InnoDB's own \
                     cascades; the original rows stay in the old table; the ALTER is applied: tables \
                     swapped, every FK in place); {message}",
                    found.join(", ")
                );
                tracing::warn!("migration {id}: {message}");
            }
            if !stats.unverified.is_empty() {
                // Not known either way (review r25d F5): not `complete`.
                message = format!(
                    "COMPLETE, ORPHANS NOT KNOWN: transactions open since before the foreign keys were back \
                     in place still held rows when they were counted ({}); the ALTER is applied: tables \
                     swapped, every FK in place; count them once those transactions end; {message}",
                    stats.unverified.join("; ")
                );
                tracing::warn!("migration {id}: {message}");
            }
            // Orphans are not a success a script may read as one (review r24d F1):
            // the state is `failed`, the message says the swap is done.
            let state = match stats.orphans.is_empty() && stats.unverified.is_empty() {
                true => State::Complete,
                false => State::Failed,
            };
            for w in &stats.warnings {
                message.push_str(&format!("; WARNING: {w}"));
            }
            tracing::info!("migration {id} ended {state:?}: {message}");
            match store.set_cutover_ms(id, ms).await {
                Ok(()) => store.set_state(id, state, &message).await,
                Err(e) => Err(e),
            }
        }
        Ok(Done::Cancelled(plan)) => {
            let cleaned = match &plan {
                Some(plan) => shadow::cleanup(db, plan, attempts).await,
                None => Ok(()),
            };
            match cleaned {
                Ok(()) => store.set_state(id, State::Cancelled, "cancelled").await,
                Err(e) => {
                    store
                        .set_state(id, State::Cancelled, &format!("cancelled; cleanup failed: {e}"))
                        .await
                }
            }
        }
        Err(f) if f.swapped => {
            // The tables stay swapped, FK steps unfinished: not final, so a resumed
            // migrator (gateway start, RETRY) finishes them.
            let message = format!("cut-over failed after the tables were swapped: {}", f.error);
            tracing::warn!("migration {id}: {message}");
            store.set_state(id, State::Ready, &message).await
        }
        Err(f) => {
            let mut message = f.error.to_string();
            if let Some(plan) = &f.plan {
                if let Err(e) = shadow::cleanup(db, plan, attempts).await {
                    message.push_str(&format!("; cleanup failed: {e}"));
                }
            }
            if f.swapped_back {
                tracing::warn!("migration {id} failed after its swap, swapped back: {message}");
            } else {
                tracing::warn!("migration {id} failed: {message}");
            }
            store.set_state(id, State::Failed, &message).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!("migration {id}: cannot record its outcome: {e}");
    }
    lost
}

/// What a stop of the copy means: the ownership lost, or a cancel.
fn stopped(store: &Store, plan: &Plan) -> Done {
    if store.lost() {
        Done::Lost
    } else {
        Done::Cancelled(Some(plan.clone()))
    }
}

async fn drive(
    shared: &Shared,
    id: &str,
    db: &mut Db,
    store: &mut Store,
    cancel: &AtomicBool,
    hold: &mut Option<Hold>,
) -> Result<Done, Failure> {
    let Some(m) = store.get(id).await? else {
        return Ok(Done::Nothing);
    };
    if m.state.is_final() {
        return Ok(Done::Nothing);
    }
    if m.cancel_requested {
        return Ok(Done::Cancelled(m.plan.clone()));
    }
    // A migration found `ready` stopped in its cut-over (its copy is done): it stays
    // `ready`, so no cancel can be asked for while its tables may be swapped.
    let resumed_cutover = m.state == State::Ready;
    if !resumed_cutover {
        store.set_state(id, State::Running, "").await?;
    }
    let (plan, mut progress, mut rows) = match m.plan.clone() {
        Some(p) if p.prepared => {
            capturing::enter(&shared.database, &p);
            shared.gate.schema_changed();
            let mut progress = m.progress.clone();
            progress.tables.resize(p.tables.len(), TableProgress::default());
            (p, progress, m.rows_copied)
        }
        leftover => {
            if let Some(p) = &leftover {
                shadow::cleanup(db, p, shared.settings.cutover_attempts)
                    .await
                    .map_err(|e| Failure {
                        swapped: false,
                        swapped_back: false,
                        error: e,
                        plan: Some(p.clone()),
                    })?;
            }
            let plan = prepare(shared, id, &m, db, store).await?;
            let progress = Progress {
                tables: vec![TableProgress::default(); plan.tables.len()],
            };
            store.set_progress(id, &progress, 0).await?;
            (plan, progress, 0)
        }
    };
    let fail = |error: OnlineError| Failure {
        swapped: false,
        swapped_back: false,
        error,
        plan: Some(plan.clone()),
    };

    for (i, t) in plan.tables.iter().enumerate() {
        match copy::copy_table(db, store, id, &shared.settings, i, t, &mut progress, &mut rows, cancel)
            .await
            .map_err(fail)?
        {
            Ok(()) => {}
            Err(Stop::Cancelled) => return Ok(stopped(store, &plan)),
        }
    }
    if cancel.load(Ordering::SeqCst) {
        return Ok(stopped(store, &plan));
    }
    // A captured write that clashed with a unique key of the new definition: the
    // native ALTER would fail (1062), so the migration fails before the swap. Both
    // checks run again in every cut-over attempt, under the gate (`cutover::cut_over`):
    // writes go on until then.
    if let Some(e) = capture::clash(db, id).await.map_err(fail)? {
        return Err(fail(e));
    }
    // An FK the ALTER adds over orphan rows: the native ALTER fails (1452).
    shadow::check_added_fk_rows(db, &plan, shadow::NewTables::Shadows)
        .await
        .map_err(fail)?;
    // The one step that decides between cut-over and cancel (another gateway may have
    // asked for the cancel meanwhile): never a cancelled migration that cuts over.
    if !resumed_cutover && !store.set_ready(id).await.map_err(fail)? {
        return Ok(Done::Cancelled(Some(plan.clone())));
    }

    // A cut-over that stopped after its RENAME (the gateway was stopped, or its swap
    // back failed) is finished.
    let swapped = cutover::table_exists(db, &shared.database, &plan.tables[0].old)
        .await
        .map_err(fail)?;
    if swapped {
        // Until the FK steps are done the tables are not what a session's schema says
        // (no FK on the new tables, the children's still on the old ones): every
        // statement on them waits, past its bound it is refused (review r23f F1).
        let held = hold.take().unwrap_or_else(|| resume_hold(shared, id, &plan));
        let finished = finish_resumed(shared, id, db, &plan).await;
        // Before the release: a held statement plans on the tables as they are now.
        shared.gate.swapped();
        return match finished {
            Ok(stats) => {
                drop(held);
                unpark(shared, id);
                Ok(Done::Complete(stats))
            }
            Err(error) => {
                // Still swapped without every FK: statements on the tables stay refused
                // until a RETRY (or a restart) finishes the steps.
                park(shared, id, held);
                Err(Failure {
                    swapped: true,
                    swapped_back: false,
                    error,
                    plan: Some(plan.clone()),
                })
            }
        };
    }
    if resumed_cutover {
        // The last cut-over may have stopped in its swap back, after the RENAME back:
        // FKs it had not given back yet are added again.
        cutover::restore_originals(db, &shared.database, &plan)
            .await
            .map_err(fail)?;
    }
    // The originals have every FK: statements held since the gateway started go on,
    // planned on the schema read again.
    if let Some(held) = hold.take() {
        shared.gate.swapped();
        drop(held);
    }
    unpark(shared, id);
    let attempts = shared.settings.cutover_attempts.max(1);
    // `fail` cleans up from `plan` (its tables, shadows and triggers: unchanged).
    let mut current = plan.clone();
    for attempt in 1..=attempts {
        // What the plan assumed, read again: the tables' definitions and triggers
        // unchanged (or the migration fails), the children as they are now (stored, so
        // a swap back or a resumed cut-over works from them, not from the submit's).
        current = recheck::refresh(db, &shared.database, &current).await.map_err(fail)?;
        store.update_plan(id, &current).await.map_err(fail)?;
        match cutover::cut_over(db, &shared.database, &current, &shared.settings, &shared.gate).await {
            Ok(stats) => return Ok(Done::Complete(stats)),
            Err(f) if !f.swapped && !f.swapped_back && f.error.is_retryable() && attempt < attempts => {
                tracing::info!(
                    "migration {id}: cut-over attempt {attempt} stopped before the RENAME ({}); retrying",
                    f.error
                );
                tokio::time::sleep(shared.settings.cutover_retry_pause).await;
            }
            Err(f) => {
                if let Some(held) = f.parked {
                    // Left swapped without every FK: statements on the tables stay
                    // refused until a resume finishes the steps (review r24h F3).
                    park(shared, id, held);
                }
                return Err(Failure {
                    swapped: f.swapped,
                    swapped_back: f.swapped_back,
                    error: f.error,
                    plan: Some(plan.clone()),
                });
            }
        }
    }
    Err(fail(OnlineError::Refused {
        table: plan.root.clone(),
        reason: "cut-over never got its locks".into(),
    }))
}

/// The refusing hold of a `ready` migration's tables ([`super::CutoverGate::hold_refusing`]),
/// taken before its task decides whether its cut-over stopped after the RENAME.
pub(crate) fn resume_hold(shared: &Shared, id: &str, plan: &Plan) -> Hold {
    shared.gate.hold_refusing(
        id,
        plan.gated_tables(),
        &format!(
            "online migration '{id}' of `{}` is finishing a cut-over a stopped gateway left after its RENAME \
             (the foreign keys are not in place yet); try again",
            plan.root
        ),
    )
}

/// Keeps `hold` after the task ends: the tables stay swapped without every FK.
fn park(shared: &Shared, id: &str, hold: Hold) {
    let mut parked = shared.parked.lock().unwrap_or_else(|p| p.into_inner());
    parked.insert(id.to_string(), hold);
}

/// Releases the hold a failed resume of `id` parked (if any).
pub(crate) fn unpark(shared: &Shared, id: &str) {
    let held = {
        let mut parked = shared.parked.lock().unwrap_or_else(|p| p.into_inner());
        parked.remove(id)
    };
    drop(held);
}

/// [`cutover::finish_after_swap`], tried again (it is idempotent) while a step fails,
/// at most `cutover_attempts` times: a transaction keeping a child open makes its
/// re-point wait past `cutover_lock_timeout`, and the tables stay held meanwhile.
async fn finish_resumed(shared: &Shared, id: &str, db: &mut Db, plan: &Plan) -> Result<CutoverStats, OnlineError> {
    let attempts = shared.settings.cutover_attempts.max(1);
    let mut attempt = 1;
    loop {
        match cutover::finish_after_swap(db, &shared.database, plan).await {
            Ok(stats) => return Ok(stats),
            Err(e) if attempt < attempts && !db.gone() => {
                tracing::info!("migration {id}: finishing the FK steps, attempt {attempt} failed ({e}); retrying");
                tokio::time::sleep(shared.settings.cutover_retry_pause).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Plans migration `m` on the current schema, builds shadows and triggers, and stores
/// the prepared plan.
async fn prepare(shared: &Shared, id: &str, m: &Migration, db: &mut Db, store: &mut Store) -> Result<Plan, Failure> {
    let schema = shared.schema().await?;
    let mut plan = plan::build(&schema, id, &m.alter_sql, shared.managed)?;
    // Rows may have come since the submission.
    shadow::refuse_numbering(db, &schema, &m.alter_sql).await?;
    shadow::refuse_misfit_fks(db, &plan, &m.alter_sql).await?;
    shadow::refuse_stored_over_fks(db, &shared.database, &plan).await?;
    for t in &plan.tables {
        for name in [&t.shadow, &t.old] {
            if schema.tables.iter().any(|x| &x.name == name) {
                return Err(Failure::from(OnlineError::Refused {
                    table: t.table.clone(),
                    reason: format!("a table named `{name}` exists already"),
                }));
            }
        }
    }
    let estimated = estimate(db, &shared.database, &plan).await?;
    // Stored before anything is built, so a restart knows what to clean up.
    store.set_plan(id, Some(&plan), estimated).await?;
    let built = async {
        // The definitions as the shadows start from (checked again before the RENAME).
        recheck::record(db, &mut plan).await?;
        shadow::prepare(db, &shared.database, &schema, &mut plan).await?;
        // Entered before the triggers exist: from then on a native run whose
        // cascades reach the table is refused (managed::migrating).
        capturing::enter(&shared.database, &plan);
        // The keyspace's planner may hold a schema older than the one read here (tables
        // created on the backend since, `schemaRefreshSeconds` not yet due): the guard
        // that refuses InnoDB's cascades into captured tables decides on the planner's
        // schema, so it is read again before the next statement plans (review r21f F3).
        shared.gate.schema_changed();
        // Creating them waits for the transactions open on the table (metadata lock),
        // and new statements queue behind it: bounded (`bound_locks`), tried again
        // (`capture::create`).
        for t in &plan.tables {
            capture::create(db, t, id, &shared.settings).await?;
        }
        plan.prepared = true;
        store.set_plan(id, Some(&plan), estimated).await
    }
    .await;
    match built {
        Ok(()) => Ok(plan),
        Err(error) => Err(Failure {
            swapped: false,
            swapped_back: false,
            error,
            plan: Some(plan),
        }),
    }
}

/// Bounds every metadata-lock wait of the migrator's connection (CREATE/DROP
/// TRIGGER, RENAME): new statements on the table queue behind such a wait.
///
/// Pins a strict `sql_mode` too (the server's plus `STRICT_ALL_TABLES`): a trigger keeps
/// the mode of the connection that created it, and a capture trigger created under a
/// non-strict mode would write a truncated key into the shadow where the native ALTER
/// (or the copy) sees the real one; strict, the write that cannot fit the new
/// definition fails instead. The copy runs under the same mode.
async fn bound_locks(db: &mut Db, shared: &Shared) -> Result<(), OnlineError> {
    let secs = shared.settings.cutover_lock_timeout.as_secs().max(1);
    db.run(&format!("SET SESSION lock_wait_timeout = {secs}")).await?;
    db.run("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')")
        .await?;
    Ok(())
}

/// The rows to copy, as InnoDB estimates them.
async fn estimate(db: &mut Db, database: &str, plan: &Plan) -> Result<u64, OnlineError> {
    let names: Vec<String> = plan.tables.iter().map(|t| lit(&t.table)).collect();
    let sql = format!(
        "SELECT COALESCE(SUM(TABLE_ROWS), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME IN ({})",
        lit(database),
        names.join(", ")
    );
    Ok(db.count(&sql).await?.unwrap_or(0))
}

/// Cancels a migration no task of this migrator runs: with the migration's lock free
/// (no gateway runs it), drops what its plan built and records it cancelled; with the
/// lock held by another gateway's task, the cancel stays requested in the record and
/// that task honours it between chunks or before its cut-over. The caller has recorded
/// the request already.
pub(crate) async fn cancel_idle(shared: &Shared, id: &str) -> Result<(), OnlineError> {
    let mut store = shared.store();
    let outcome = cancel_owned(shared, id, &mut store).await;
    store.close().await;
    outcome
}

async fn cancel_owned(shared: &Shared, id: &str, store: &mut Store) -> Result<(), OnlineError> {
    // It drops shadows and triggers only while holding the lock: never on a reopened
    // connection.
    let mut db = Db::owner(&shared.url);
    let outcome = match store::acquire(&mut db, id, 0).await {
        Ok(Some(_)) => {
            let outcome = match store.get(id).await {
                Ok(Some(m)) if !m.state.is_final() => {
                    let cleaned = match &m.plan {
                        Some(p) => match bound_locks(&mut db, shared).await {
                            Ok(()) => shadow::cleanup(&mut db, p, shared.settings.cutover_attempts).await,
                            Err(e) => Err(e),
                        },
                        None => Ok(()),
                    };
                    match cleaned {
                        Ok(()) => store.set_state(id, State::Cancelled, "cancelled").await,
                        Err(e) => Err(e),
                    }
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            store::release(&mut db, id).await;
            outcome
        }
        // Another gateway's task owns it and honours the request.
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    db.close().await;
    outcome
}
