//! The task of one migration: plan and build the shadows (or take up those a previous
//! run left, from its last copied chunk), copy, cut over, and record every step; on
//! cancel or a failure before the swap, drop triggers and shadows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::copy::{self, Stop};
use super::cutover::{self, CutoverStats};
use super::db::{lit, Db};
use super::plan::{self, Plan};
use super::store::{Migration, Progress, State, TableProgress};
use super::{capture, shadow, OnlineError, Shared};

enum Done {
    Complete(CutoverStats),
    Cancelled(Plan),
    /// Another task or a final state: nothing to do.
    Nothing,
}

struct Failure {
    swapped: bool,
    error: OnlineError,
    plan: Option<Plan>,
}

impl From<OnlineError> for Failure {
    fn from(error: OnlineError) -> Self {
        Failure {
            swapped: false,
            error,
            plan: None,
        }
    }
}

/// Runs migration `id` to its end (or until cancelled / aborted).
pub(crate) async fn run(shared: Arc<Shared>, id: String, cancel: Arc<AtomicBool>) {
    let mut db = Db::new(&shared.url);
    let mut store = shared.store();
    let attempts = shared.settings.cutover_attempts;
    let outcome = match bound_locks(&mut db, &shared).await {
        Ok(()) => drive(&shared, &id, &mut db, &mut store, &cancel).await,
        Err(e) => Err(Failure::from(e)),
    };
    let recorded = match outcome {
        Ok(Done::Nothing) => Ok(()),
        Ok(Done::Complete(stats)) => {
            let ms = stats.held.as_millis() as u64;
            let mut message = format!(
                "cut-over held statements {} ms (RENAME {} ms, FKs {} ms)",
                ms,
                stats.rename.as_millis(),
                stats.foreign_keys.as_millis()
            );
            for (fk, n) in &stats.orphans {
                message.push_str(&format!("; WARNING: FK `{fk}` has {n} orphan rows"));
            }
            tracing::info!("migration {id} complete: {message}");
            match store.set_cutover_ms(&id, ms).await {
                Ok(()) => store.set_state(&id, State::Complete, &message).await,
                Err(e) => Err(e),
            }
        }
        Ok(Done::Cancelled(plan)) => match shadow::cleanup(&mut db, &plan, attempts).await {
            Ok(()) => store.set_state(&id, State::Cancelled, "cancelled").await,
            Err(e) => {
                store
                    .set_state(&id, State::Cancelled, &format!("cancelled; cleanup failed: {e}"))
                    .await
            }
        },
        Err(f) => {
            let mut message = f.error.to_string();
            if f.swapped {
                message = format!("failed after the tables were swapped: {message}");
            } else if let Some(plan) = &f.plan {
                if let Err(e) = shadow::cleanup(&mut db, plan, attempts).await {
                    message.push_str(&format!("; cleanup failed: {e}"));
                }
            }
            tracing::warn!("migration {id} failed: {message}");
            store.set_state(&id, State::Failed, &message).await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!("migration {id}: cannot record its outcome: {e}");
    }
    db.close().await;
    store.close().await;
}

async fn drive(
    shared: &Shared,
    id: &str,
    db: &mut Db,
    store: &mut super::store::Store,
    cancel: &AtomicBool,
) -> Result<Done, Failure> {
    let Some(m) = store.get(id).await? else {
        return Ok(Done::Nothing);
    };
    if m.state.is_final() {
        return Ok(Done::Nothing);
    }
    store.set_state(id, State::Running, "").await?;
    let (plan, mut progress, mut rows) = match m.plan.clone() {
        Some(p) if p.prepared => {
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
        error,
        plan: Some(plan.clone()),
    };

    for (i, t) in plan.tables.iter().enumerate() {
        match copy::copy_table(db, store, id, &shared.settings, i, t, &mut progress, &mut rows, cancel)
            .await
            .map_err(fail)?
        {
            Ok(()) => {}
            Err(Stop::Cancelled) => return Ok(Done::Cancelled(plan.clone())),
        }
    }
    if cancel.load(Ordering::SeqCst) {
        return Ok(Done::Cancelled(plan.clone()));
    }
    // A captured write that clashed with a unique key of the new definition: the
    // native ALTER would fail (1062), so the migration fails before the swap.
    if let Some(e) = capture::clash(db, id).await.map_err(fail)? {
        return Err(fail(e));
    }
    // An FK the ALTER adds over orphan rows: the native ALTER fails (1452).
    shadow::check_added_fk_rows(db, &plan).await.map_err(fail)?;
    store.set_state(id, State::Ready, "").await.map_err(fail)?;

    // A cut-over that stopped after its RENAME (the gateway was stopped) is finished.
    let swapped = cutover::table_exists(db, &shared.database, &plan.tables[0].old)
        .await
        .map_err(fail)?;
    if swapped {
        return cutover::finish_after_swap(db, &shared.database, &plan)
            .await
            .map(Done::Complete)
            .map_err(|error| Failure {
                swapped: true,
                error,
                plan: Some(plan.clone()),
            });
    }
    let attempts = shared.settings.cutover_attempts.max(1);
    for attempt in 1..=attempts {
        match cutover::cut_over(db, &shared.database, &plan, &shared.settings, &shared.gate).await {
            Ok(stats) => return Ok(Done::Complete(stats)),
            Err(f) if !f.swapped && f.error.is_lock_wait_timeout() && attempt < attempts => {
                tracing::info!("migration {id}: cut-over attempt {attempt} timed out waiting for locks; retrying");
                tokio::time::sleep(shared.settings.cutover_retry_pause).await;
            }
            Err(f) => {
                return Err(Failure {
                    swapped: f.swapped,
                    error: f.error,
                    plan: Some(plan.clone()),
                })
            }
        }
    }
    Err(fail(OnlineError::Refused {
        table: plan.root.clone(),
        reason: "cut-over never got its locks".into(),
    }))
}

/// Plans migration `m` on the current schema, builds shadows and triggers, and stores
/// the prepared plan.
async fn prepare(
    shared: &Shared,
    id: &str,
    m: &Migration,
    db: &mut Db,
    store: &mut super::store::Store,
) -> Result<Plan, Failure> {
    let schema = shared.schema().await?;
    let mut plan = plan::build(&schema, id, &m.alter_sql, shared.managed)?;
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
        shadow::prepare(db, &shared.database, &schema, &mut plan).await?;
        // CREATE TRIGGER waits for the transactions open on the table (metadata lock),
        // and new statements queue behind it: bounded (`bound_locks`), tried again.
        for t in &plan.tables {
            let mut attempt = 1;
            loop {
                match capture::create(db, t, id).await {
                    Err(e) if e.is_lock_wait_timeout() && attempt < shared.settings.cutover_attempts => {
                        capture::drop(db, t).await?;
                        attempt += 1;
                        tokio::time::sleep(shared.settings.cutover_retry_pause).await;
                    }
                    other => break other?,
                }
            }
        }
        plan.prepared = true;
        store.set_plan(id, Some(&plan), estimated).await
    }
    .await;
    match built {
        Ok(()) => Ok(plan),
        Err(error) => Err(Failure {
            swapped: false,
            error,
            plan: Some(plan),
        }),
    }
}

/// Bounds every metadata-lock wait of the migrator's connection (CREATE/DROP
/// TRIGGER, RENAME): new statements on the table queue behind such a wait.
async fn bound_locks(db: &mut Db, shared: &Shared) -> Result<(), OnlineError> {
    let secs = shared.settings.cutover_lock_timeout.as_secs().max(1);
    db.run(&format!("SET SESSION lock_wait_timeout = {secs}")).await?;
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

/// Cancels a migration no task runs here: drops what its plan built, records it.
pub(crate) async fn cancel_idle(shared: &Shared, m: &Migration) -> Result<(), OnlineError> {
    let mut db = Db::new(&shared.url);
    let cleaned = match &m.plan {
        Some(p) => match bound_locks(&mut db, shared).await {
            Ok(()) => shadow::cleanup(&mut db, p, shared.settings.cutover_attempts).await,
            Err(e) => Err(e),
        },
        None => Ok(()),
    };
    db.close().await;
    cleaned?;
    let mut store = shared.store();
    let r = store.set_state(&m.id, State::Cancelled, "cancelled").await;
    store.close().await;
    r
}
