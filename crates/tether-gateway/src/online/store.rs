//! Migration records in the backend: the table `_tether_migrations` in the keyspace's
//! own database (created on first use), one row per migration with its state, plan,
//! copy progress and timings, so a restarted gateway resumes or cleans up.
//!
//! Ownership: the task that runs a migration holds the server lock
//! `tether_online_<id>` (`GET_LOCK`) on its store's connection for as long as it runs,
//! so two gateways sharing a backend never run one migration twice, and a lock freed by
//! a dead gateway's connection lets another take over. A CANCEL from a gateway that
//! does not own the migration records `cancel_requested`; the owner reads it between
//! chunks and before its cut-over, and only the owner (or, with no owner, the
//! canceller holding the lock) drops shadows and triggers and records `cancelled`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tether_connect::DbUrl;

use super::db::{lit, Db, TextRow};
use super::plan::Plan;
use super::OnlineError;

/// The table holding migration records.
pub const TABLE: &str = "_tether_migrations";

/// A migration's state, as `SHOW VITESS_MIGRATIONS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// Accepted, not started.
    Queued,
    /// Shadows built, rows being copied.
    Running,
    /// Copy done, cut-over under way.
    Ready,
    Complete,
    Failed,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Ready => "ready",
            State::Complete => "complete",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "queued" => State::Queued,
            "running" => State::Running,
            "ready" => State::Ready,
            "complete" => State::Complete,
            "failed" => State::Failed,
            "cancelled" => State::Cancelled,
            _ => return None,
        })
    }

    /// Complete, failed or cancelled: nothing runs any more.
    pub fn is_final(self) -> bool {
        matches!(self, State::Complete | State::Failed | State::Cancelled)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far the copy of each planned table got: the last primary-key values copied
/// (as literals), or `done`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub tables: Vec<TableProgress>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableProgress {
    pub last: Option<Vec<String>>,
    pub done: bool,
}

/// One migration as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub id: String,
    pub keyspace: String,
    pub table: String,
    pub alter_sql: String,
    pub state: State,
    pub message: String,
    pub rows_copied: u64,
    pub rows_estimated: u64,
    /// Seconds since the copy started (for the ETA).
    pub elapsed_seconds: Option<u64>,
    pub submitted_at: Option<String>,
    pub started_at: Option<String>,
    pub ready_at: Option<String>,
    pub completed_at: Option<String>,
    /// How long statements on the migrated tables were held at cut-over.
    pub cutover_ms: Option<u64>,
    pub plan: Option<Plan>,
    pub progress: Progress,
    /// A CANCEL was asked for; the task that owns the migration honours it.
    pub cancel_requested: bool,
}

impl Migration {
    /// Estimated seconds left in the copy, from the rate so far.
    pub fn eta_seconds(&self) -> Option<u64> {
        let elapsed = self.elapsed_seconds?;
        if self.state != State::Running || self.rows_copied == 0 {
            return None;
        }
        let left = self.rows_estimated.saturating_sub(self.rows_copied);
        Some(elapsed * left / self.rows_copied)
    }

    /// Percent of the estimated rows copied (100 once the copy is done).
    pub fn percent(&self) -> u64 {
        if matches!(self.state, State::Ready | State::Complete) {
            return 100;
        }
        if self.rows_estimated == 0 {
            return 0;
        }
        (self.rows_copied * 100 / self.rows_estimated).min(99)
    }
}

const COLUMNS: &str = "id, keyspace, table_name, alter_sql, state, message, rows_copied, rows_estimated, \
     TIMESTAMPDIFF(SECOND, started_at, NOW(6)), submitted_at, started_at, ready_at, completed_at, cutover_ms, \
     plan, progress, cancel_requested";

/// The records of one keyspace (its own connection).
pub struct Store {
    db: Db,
    database: String,
    keyspace: String,
    created: bool,
    /// The migration this store's connection owns (holds the lock of), if any.
    watch: Option<Watch>,
}

/// What the owner's store looks at after every stored chunk.
struct Watch {
    id: String,
    /// The connection holding the lock (the one that copies).
    owner: u64,
    /// Set when a cancel is requested or the ownership is lost: the copy stops.
    stop: Arc<AtomicBool>,
    lost: bool,
}

/// The server lock owning migration `id`.
fn lock_name(id: &str) -> String {
    lit(&format!("tether_online_{id}"))
}

/// Takes ownership of migration `id` on `db`'s connection: its server lock, waiting at
/// most `wait_secs` (0: not at all). The connection's id when it holds the lock now.
/// The connection that copies holds it: a stopped gateway's chunk still running on
/// the server keeps it until it ends, so no new owner copies beside it.
pub(crate) async fn acquire(db: &mut Db, id: &str, wait_secs: u64) -> Result<Option<u64>, OnlineError> {
    let sql = format!("SELECT GET_LOCK({}, {wait_secs}), CONNECTION_ID()", lock_name(id));
    let row = db.texts(&sql).await?.into_iter().next().unwrap_or_default();
    let field = |i: usize| row.get(i).cloned().flatten();
    Ok(match field(0).as_deref() {
        Some("1") => field(1).and_then(|c| c.parse().ok()),
        _ => None,
    })
}

/// True when `db`'s connection holds the lock of migration `id` (checked right before
/// the cut-over's RENAME).
pub(crate) async fn owns(db: &mut Db, id: &str) -> Result<bool, OnlineError> {
    let sql = format!("SELECT COALESCE(IS_USED_LOCK({}) = CONNECTION_ID(), 0)", lock_name(id));
    Ok(db.count(&sql).await? == Some(1))
}

/// Gives up ownership of migration `id` (held by `db`'s connection).
pub(crate) async fn release(db: &mut Db, id: &str) {
    let sql = format!("SELECT RELEASE_LOCK({})", lock_name(id));
    if let Err(e) = db.texts(&sql).await {
        tracing::debug!("migration {id}: releasing its lock: {e}");
    }
}

impl Store {
    pub(crate) fn new(url: &DbUrl, database: &str, keyspace: &str) -> Store {
        Store {
            db: Db::new(url),
            database: database.to_string(),
            keyspace: keyspace.to_string(),
            created: false,
            watch: None,
        }
    }

    async fn ensure(&mut self) -> Result<(), OnlineError> {
        if self.created {
            return Ok(());
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (
                id VARCHAR(64) NOT NULL PRIMARY KEY,
                keyspace VARCHAR(64) NOT NULL,
                table_name VARCHAR(64) NOT NULL,
                alter_sql LONGTEXT NOT NULL,
                state VARCHAR(16) NOT NULL,
                message TEXT NOT NULL,
                rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0,
                rows_estimated BIGINT UNSIGNED NOT NULL DEFAULT 0,
                submitted_at DATETIME(6) NOT NULL,
                started_at DATETIME(6) NULL,
                ready_at DATETIME(6) NULL,
                completed_at DATETIME(6) NULL,
                cutover_ms BIGINT UNSIGNED NULL,
                plan LONGTEXT NULL,
                progress LONGTEXT NULL,
                clash TEXT NULL,
                cancel_requested TINYINT NOT NULL DEFAULT 0,
                KEY state (keyspace, state)
            ) ENGINE=InnoDB"
        );
        self.db
            .exec(&sql, || format!("creating {TABLE} in database `{}`", self.database))
            .await?;
        // Records written before `clash` (capture triggers record clashes there) and
        // `cancel_requested` existed.
        let sql = format!(
            "ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS clash TEXT NULL, \
             ADD COLUMN IF NOT EXISTS cancel_requested TINYINT NOT NULL DEFAULT 0"
        );
        self.db
            .exec(&sql, || {
                format!("adding columns to {TABLE} in database `{}`", self.database)
            })
            .await?;
        self.created = true;
        Ok(())
    }

    /// Takes the keyspace's submit lock on this store's connection (waiting at most
    /// `wait_secs`): submissions check for a busy table and record theirs under it, one
    /// at a time, so two migrations of one table are never both accepted.
    pub async fn lock_submit(&mut self, wait_secs: u64) -> Result<bool, OnlineError> {
        let sql = format!("SELECT GET_LOCK({}, {wait_secs})", self.submit_lock());
        Ok(self.db.count(&sql).await? == Some(1))
    }

    /// Gives the submit lock back.
    pub async fn unlock_submit(&mut self) {
        let sql = format!("SELECT RELEASE_LOCK({})", self.submit_lock());
        if let Err(e) = self.db.texts(&sql).await {
            tracing::debug!("keyspace {}: releasing the submit lock: {e}", self.keyspace);
        }
    }

    /// `tether_submit_<database>`, at most 64 characters (a longer name shares a
    /// lock with another database's: submissions wait a little more, nothing else).
    fn submit_lock(&self) -> String {
        let name: String = format!("tether_submit_{}", self.database).chars().take(64).collect();
        lit(&name)
    }

    /// Records a new queued migration.
    pub async fn insert(&mut self, id: &str, table: &str, alter_sql: &str) -> Result<(), OnlineError> {
        self.ensure().await?;
        let sql = format!(
            "INSERT INTO {TABLE} (id, keyspace, table_name, alter_sql, state, message, submitted_at) \
             VALUES ({}, {}, {}, {}, 'queued', '', NOW(6))",
            lit(id),
            lit(&self.keyspace),
            lit(table),
            lit(alter_sql)
        );
        self.db.exec(&sql, || format!("recording migration '{id}'")).await?;
        Ok(())
    }

    /// One migration, if recorded.
    pub async fn get(&mut self, id: &str) -> Result<Option<Migration>, OnlineError> {
        self.ensure().await?;
        let sql = format!("SELECT {COLUMNS} FROM {TABLE} WHERE id = {}", lit(id));
        let rows = self.db.texts(&sql).await?;
        rows.into_iter().next().map(decode).transpose()
    }

    /// Every migration of the keyspace, oldest first.
    pub async fn list(&mut self) -> Result<Vec<Migration>, OnlineError> {
        self.ensure().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM {TABLE} WHERE keyspace = {} ORDER BY submitted_at, id",
            lit(&self.keyspace)
        );
        self.db.texts(&sql).await?.into_iter().map(decode).collect()
    }

    /// Sets the state (and message); timestamps follow the state.
    pub async fn set_state(&mut self, id: &str, state: State, message: &str) -> Result<(), OnlineError> {
        self.ensure().await?;
        let stamp = match state {
            State::Running => ", started_at = COALESCE(started_at, NOW(6))",
            State::Ready => ", ready_at = NOW(6)",
            State::Complete | State::Failed | State::Cancelled => ", completed_at = NOW(6)",
            State::Queued => ", started_at = NULL, ready_at = NULL, completed_at = NULL",
        };
        let sql = format!(
            "UPDATE {TABLE} SET state = {}, message = {}{stamp} WHERE id = {}",
            lit(state.as_str()),
            lit(message),
            lit(id)
        );
        self.db
            .exec(&sql, || format!("setting migration '{id}' {state}"))
            .await?;
        Ok(())
    }

    /// Stores the plan (and the estimate of rows to copy).
    pub async fn set_plan(&mut self, id: &str, plan: Option<&Plan>, estimated: u64) -> Result<(), OnlineError> {
        let plan = match plan {
            Some(p) => lit(&to_json(p)),
            None => "NULL".into(),
        };
        let sql = format!(
            "UPDATE {TABLE} SET plan = {plan}, rows_estimated = {estimated} WHERE id = {}",
            lit(id)
        );
        self.db
            .exec(&sql, || format!("storing the plan of migration '{id}'"))
            .await?;
        Ok(())
    }

    /// Stores the plan again (its children read afresh before a cut-over).
    pub async fn update_plan(&mut self, id: &str, plan: &Plan) -> Result<(), OnlineError> {
        let sql = format!(
            "UPDATE {TABLE} SET plan = {} WHERE id = {}",
            lit(&to_json(plan)),
            lit(id)
        );
        self.db
            .exec(&sql, || format!("storing the plan of migration '{id}'"))
            .await?;
        Ok(())
    }

    /// Stores the copy progress.
    pub async fn set_progress(&mut self, id: &str, progress: &Progress, rows_copied: u64) -> Result<(), OnlineError> {
        let sql = format!(
            "UPDATE {TABLE} SET progress = {}, rows_copied = {rows_copied} WHERE id = {}",
            lit(&to_json(progress)),
            lit(id)
        );
        self.db
            .exec(&sql, || format!("storing the progress of migration '{id}'"))
            .await?;
        self.look().await
    }

    /// The owner's look between chunks: a cancel requested by any gateway, or the
    /// ownership lost (the connection holding the lock went away), sets the stop flag.
    async fn look(&mut self) -> Result<(), OnlineError> {
        let Some(w) = &self.watch else { return Ok(()) };
        let sql = format!(
            "SELECT cancel_requested, COALESCE(IS_USED_LOCK({}) = {}, 0) FROM {TABLE} WHERE id = {}",
            lock_name(&w.id),
            w.owner,
            lit(&w.id)
        );
        let row = self.db.texts(&sql).await?.into_iter().next().unwrap_or_default();
        let flag = |i: usize| row.get(i).cloned().flatten().as_deref() == Some("1");
        let (requested, owned) = (flag(0), flag(1));
        if let Some(w) = &mut self.watch {
            if requested || !owned {
                w.stop.store(true, Ordering::SeqCst);
            }
            if !owned {
                w.lost = true;
            }
        }
        Ok(())
    }

    /// After [`acquire`] on connection `owner`: every stored chunk looks at the record,
    /// and a cancel request or a lost ownership sets `stop`.
    pub fn watch(&mut self, id: &str, owner: u64, stop: Arc<AtomicBool>) {
        self.watch = Some(Watch {
            id: id.to_string(),
            owner,
            stop,
            lost: false,
        });
    }

    /// Stops looking (the run ended).
    pub fn unwatch(&mut self) {
        self.watch = None;
    }

    /// True when the look between chunks found the lock held by no one or another
    /// connection: another gateway may own the migration now.
    pub fn lost(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.lost)
    }

    /// Records a CANCEL of migration `id` if it has not reached its cut-over (queued
    /// or running); the migration as it is afterwards.
    pub async fn request_cancel(&mut self, id: &str) -> Result<Option<Migration>, OnlineError> {
        self.ensure().await?;
        let sql = format!(
            "UPDATE {TABLE} SET cancel_requested = 1 WHERE id = {} AND state IN ('queued', 'running')",
            lit(id)
        );
        self.db
            .exec(&sql, || format!("requesting the cancel of migration '{id}'"))
            .await?;
        self.get(id).await
    }

    /// True when a cancel of `id` was requested.
    pub async fn cancel_requested(&mut self, id: &str) -> Result<bool, OnlineError> {
        Ok(self.get(id).await?.is_some_and(|m| m.cancel_requested))
    }

    /// `running` -> `ready`, unless a cancel was requested meanwhile (false then): the
    /// one step that decides between a cut-over and a cancel.
    pub async fn set_ready(&mut self, id: &str) -> Result<bool, OnlineError> {
        let sql = format!(
            "UPDATE {TABLE} SET state = 'ready', message = '', ready_at = NOW(6) \
             WHERE id = {} AND state = 'running' AND cancel_requested = 0",
            lit(id)
        );
        let ok = self.db.exec(&sql, || format!("setting migration '{id}' ready")).await?;
        Ok(ok.affected_rows == 1)
    }

    /// Forgets plan and progress (RETRY starts over).
    pub async fn reset(&mut self, id: &str) -> Result<(), OnlineError> {
        let sql = format!(
            "UPDATE {TABLE} SET plan = NULL, progress = NULL, rows_copied = 0, cutover_ms = NULL, clash = NULL, \
             cancel_requested = 0 WHERE id = {}",
            lit(id)
        );
        self.db.exec(&sql, || format!("resetting migration '{id}'")).await?;
        self.set_state(id, State::Queued, "").await
    }

    pub async fn set_cutover_ms(&mut self, id: &str, ms: u64) -> Result<(), OnlineError> {
        let sql = format!("UPDATE {TABLE} SET cutover_ms = {ms} WHERE id = {}", lit(id));
        self.db
            .exec(&sql, || format!("storing the cut-over time of migration '{id}'"))
            .await?;
        Ok(())
    }

    /// Triggers of the database's own on `tables` (see [`user_triggers`]).
    pub async fn user_triggers(&mut self, tables: &[String]) -> Result<Vec<(String, String)>, OnlineError> {
        user_triggers(&mut self.db, &self.database, tables).await
    }

    pub async fn close(self) {
        self.db.close().await;
    }
}

/// Triggers of `database`'s own on `tables` (the migrator's capture triggers, named
/// `_tether_...`, left out), as (trigger, table).
pub(crate) async fn user_triggers(
    db: &mut Db,
    database: &str,
    tables: &[String],
) -> Result<Vec<(String, String)>, OnlineError> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = tables.iter().map(|t| lit(t)).collect();
    let sql = format!(
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
         WHERE TRIGGER_SCHEMA = {} AND EVENT_OBJECT_TABLE IN ({}) AND TRIGGER_NAME NOT LIKE '\\_tether\\_%' \
         ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME",
        lit(database),
        list.join(", ")
    );
    Ok(db
        .texts(&sql)
        .await?
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            Some((r.next().flatten()?, r.next().flatten()?))
        })
        .collect())
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plans and progress serialize (plain data)")
}

fn decode(row: TextRow) -> Result<Migration, OnlineError> {
    let text = |i: usize| row.get(i).cloned().flatten();
    let id = text(0).unwrap_or_default();
    let bad = |m: String| OnlineError::Record {
        id: id.clone(),
        message: m,
    };
    let num = |i: usize| text(i).and_then(|v| v.parse::<u64>().ok());
    let state = text(4).unwrap_or_default();
    let plan = match text(14) {
        Some(p) => Some(serde_json::from_str(&p).map_err(|e| bad(format!("plan: {e}")))?),
        None => None,
    };
    let progress = match text(15) {
        Some(p) => serde_json::from_str(&p).map_err(|e| bad(format!("progress: {e}")))?,
        None => Progress::default(),
    };
    Ok(Migration {
        keyspace: text(1).unwrap_or_default(),
        table: text(2).unwrap_or_default(),
        alter_sql: text(3).unwrap_or_default(),
        state: State::parse(&state).ok_or_else(|| bad(format!("unknown state `{state}`")))?,
        message: text(5).unwrap_or_default(),
        rows_copied: num(6).unwrap_or(0),
        rows_estimated: num(7).unwrap_or(0),
        elapsed_seconds: num(8),
        submitted_at: text(9),
        started_at: text(10),
        ready_at: text(11),
        completed_at: text(12),
        cutover_ms: num(13),
        plan,
        progress,
        cancel_requested: text(16).as_deref() == Some("1"),
        id,
    })
}
