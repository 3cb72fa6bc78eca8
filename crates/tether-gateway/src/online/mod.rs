//! Online schema changes that keep foreign keys (issue 15): `ALTER TABLE` through a
//! shadow table, trigger capture and a cut-over that re-points every FK, without
//! blocking writes. [`Migrator`] runs the migrations of one keyspace (state in the
//! backend's `_tether_migrations`); [`statements`] recognises the Vitess-style
//! statements a session hands over; [`CutoverGate`] is what sessions ask before
//! running a statement on a table under cut-over.

mod capture;
pub mod capturing;
mod copy;
mod cutover;
mod db;
mod error;
mod explain;
mod family;
pub mod hook;
mod plan;
mod recheck;
mod runner;
mod shadow;
pub mod statements;
mod store;
mod text;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tether_connect::{DbUrl, IntrospectOptions};
use tether_schema::Schema;

pub use cutover::{CutoverGate, Hold};
pub use error::OnlineError;
pub use plan::{cascade_reasons, unmanaged_refusal, ChildFk, FkDef, Plan, TablePlan};
pub use statements::{is_alter_table, recognise, DdlStrategy, MigrationAction, OnlineStatement};
pub use store::{Migration, State, TABLE as MIGRATIONS_TABLE};

use store::Store;

/// How long a submission waits for another's check-and-record.
const SUBMIT_LOCK_WAIT_SECS: u64 = 10;

/// How migrations copy, throttle and cut over.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rows per copy chunk; without a `chunk_pause`, the first chunk's size, later ones
    /// are sized to take about `copy::CHUNK_TARGET` (see `copy`).
    pub chunk_rows: u64,
    /// A pause after every chunk (0: none); a gentler copy on a busy backend.
    pub chunk_pause: Duration,
    /// The copy waits while the backend's `Threads_running` is above this (0: never).
    pub max_threads_running: u64,
    /// How long a throttled copy sleeps before looking again.
    pub throttle_pause: Duration,
    /// A replica whose lag throttles the copy (`SHOW SLAVE STATUS`,
    /// `Seconds_Behind_Master`; unknown lag counts as too much).
    pub replica: Option<DbUrl>,
    /// The replica lag above which the copy waits.
    pub max_replica_lag: Duration,
    /// How long the cut-over's RENAME waits for in-flight transactions
    /// (`lock_wait_timeout`, whole seconds, at least 1) before it gives up and tries again.
    pub cutover_lock_timeout: Duration,
    /// Cut-over attempts before the migration fails (the originals stay as they were).
    pub cutover_attempts: u32,
    /// The pause between cut-over attempts.
    pub cutover_retry_pause: Duration,
    /// Count orphans of every affected FK after cut-over (a full scan of each child).
    pub verify: bool,
    /// Before the RENAME, take and release the children's metadata locks (`LOCK TABLES
    /// child WRITE`, bounded by `cutover_lock_timeout`): a transaction keeping a child
    /// open then fails the attempt before anything is swapped (tried again later)
    /// rather than the child's re-point after the swap (swapped back). Off: for a
    /// backend user without the LOCK TABLES privilege (a refused probe is skipped
    /// anyway), or to exercise the swap back.
    pub probe_children: bool,
}

/// The environment variable that sets a gateway's [`Settings::cutover_lock_timeout`]
/// (whole seconds). A test knob, unset in use (the default second stands): tests that
/// keep a cut-over waiting for a transaction they hold open, while they order other
/// steps around its hold, set it so that the wait does not race the timeout.
pub const CUTOVER_LOCK_TIMEOUT_ENV: &str = "TETHER_TEST_CUTOVER_LOCK_TIMEOUT";

impl Settings {
    /// The settings of a gateway's keyspaces: the defaults, the cut-over's lock timeout
    /// from [`CUTOVER_LOCK_TIMEOUT_ENV`] when set (read once, when a keyspace starts).
    pub fn for_gateway() -> Settings {
        let mut settings = Settings::default();
        if let Some(secs) = std::env::var(CUTOVER_LOCK_TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            settings.cutover_lock_timeout = Duration::from_secs(secs.max(1));
        }
        settings
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            chunk_rows: 1000,
            chunk_pause: Duration::ZERO,
            max_threads_running: 25,
            throttle_pause: Duration::from_millis(500),
            replica: None,
            max_replica_lag: Duration::from_secs(5),
            cutover_lock_timeout: Duration::from_secs(1),
            cutover_attempts: 10,
            cutover_retry_pause: Duration::from_secs(1),
            verify: true,
            probe_children: true,
        }
    }
}

/// What every task of a keyspace's migrator shares.
pub(crate) struct Shared {
    pub keyspace: String,
    pub url: DbUrl,
    pub database: String,
    pub managed: bool,
    pub settings: Settings,
    pub gate: CutoverGate,
    /// Refusing holds of migrations whose resumed cut-over failed with the tables
    /// still swapped (`runner::park`): released when a later run finishes the steps.
    pub parked: Mutex<HashMap<String, Hold>>,
}

impl Shared {
    /// The keyspace's schema as it is now (read twice before giving up: MariaDB's
    /// information_schema reads fail now and then under concurrent DDL).
    pub(crate) async fn schema(&self) -> Result<Schema, OnlineError> {
        let options = IntrospectOptions::default();
        let read = match tether_connect::introspect(&self.url, &options).await {
            Ok(s) => Ok(s),
            Err(_) => tether_connect::introspect(&self.url, &options).await,
        };
        read.map_err(|e| OnlineError::Schema {
            keyspace: self.keyspace.clone(),
            message: e.to_string(),
        })
    }

    pub(crate) fn store(&self) -> Store {
        Store::new(&self.url, &self.database, &self.keyspace)
    }
}

struct Task {
    cancel: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<()>,
}

/// The online migrations of one keyspace: submit, list, cancel, retry, resume. Each
/// migration runs as a task of its own on the current tokio runtime; dropping the
/// migrator stops them (as a stopped gateway does) and a new one resumes them.
pub struct Migrator {
    shared: Arc<Shared>,
    tasks: Mutex<HashMap<String, Task>>,
    /// When [`release_finished`](Self::release_finished) last read the parked
    /// migrations' records (it reads them at most once per [`PARKED_LOOK`]).
    parked_look: Mutex<Option<std::time::Instant>>,
}

/// How often a statement refused by a parked hold makes the migrator read the
/// parked migrations' records again.
const PARKED_LOOK: Duration = Duration::from_secs(1);

impl Migrator {
    /// A migrator for keyspace `keyspace` on backend `url` (mysql://, naming the
    /// database). `managed`: the keyspace runs FK actions through the gateway.
    pub fn new(keyspace: &str, url: &str, managed: bool, settings: Settings) -> Result<Migrator, OnlineError> {
        let bad = |m: String| OnlineError::Schema {
            keyspace: keyspace.to_string(),
            message: m,
        };
        let url = DbUrl::parse(url).map_err(|e| bad(e.to_string()))?;
        Migrator::with_url(keyspace, url, managed, settings)
    }

    /// As [`new`](Self::new), with the backend URL already parsed (the gateway's
    /// keyspaces: TLS parameters and password kept).
    pub fn with_url(keyspace: &str, url: DbUrl, managed: bool, settings: Settings) -> Result<Migrator, OnlineError> {
        let bad = |m: String| OnlineError::Schema {
            keyspace: keyspace.to_string(),
            message: m,
        };
        let DbUrl::Mysql(server) = &url else {
            return Err(bad("online migrations need a mysql:// backend".into()));
        };
        let database = server
            .database
            .clone()
            .ok_or_else(|| bad("the backend URL names no database".into()))?;
        Ok(Migrator {
            shared: Arc::new(Shared {
                keyspace: keyspace.to_string(),
                url,
                database,
                managed,
                settings,
                gate: CutoverGate::new(),
                parked: Mutex::new(HashMap::new()),
            }),
            tasks: Mutex::new(HashMap::new()),
            parked_look: Mutex::new(None),
        })
    }

    /// Releases the refusing holds parked here (`runner::park`: a resumed cut-over
    /// whose FK steps failed) of migrations whose record is final: another gateway,
    /// or an operator, finished them (review r23k F2). Reads the records at most once
    /// per [`PARKED_LOOK`]; nothing when none is parked. A release moves the gate's
    /// swap count (the keyspace's schema is read again before a statement plans).
    pub async fn release_finished(&self) {
        let ids: Vec<String> = {
            let parked = self.shared.parked.lock().unwrap_or_else(|p| p.into_inner());
            parked.keys().cloned().collect()
        };
        if ids.is_empty() {
            return;
        }
        {
            let mut look = self.parked_look.lock().unwrap_or_else(|p| p.into_inner());
            if look.is_some_and(|at| at.elapsed() < PARKED_LOOK) {
                return;
            }
            *look = Some(std::time::Instant::now());
        }
        for id in ids {
            match self.get(&id).await {
                Ok(m) if m.state.is_final() => {
                    tracing::info!(
                        "migration {id}: finished elsewhere ({}); its tables are released here",
                        m.state
                    );
                    self.shared.gate.swapped();
                    runner::unpark(&self.shared, &id);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("migration {id}: cannot read its record: {e}"),
            }
        }
    }

    /// The gate sessions of this keyspace ask before running a statement.
    pub fn gate(&self) -> CutoverGate {
        self.shared.gate.clone()
    }

    /// The same gate, borrowed (what a session looks at per statement).
    pub fn gate_ref(&self) -> &CutoverGate {
        &self.shared.gate
    }

    /// Accepts `alter_sql` as a migration and starts it; returns its id at once.
    /// Refusals (see [`explain`](Self::explain)) are returned here, before anything runs.
    pub async fn submit(&self, alter_sql: &str) -> Result<String, OnlineError> {
        let schema = self.shared.schema().await?;
        let id = new_id();
        let plan = plan::build(&schema, &id, alter_sql, self.shared.managed)?;
        let mut db = db::Db::new(&self.shared.url);
        let numbering = match shadow::refuse_numbering(&mut db, &schema, alter_sql).await {
            Ok(()) => match shadow::refuse_misfit_fks(&mut db, &plan, alter_sql).await {
                Ok(()) => shadow::refuse_stored_over_fks(&mut db, &self.shared.database, &plan).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        db.close().await;
        numbering?;
        let mut store = self.shared.store();
        // The shadow would not have the table's own triggers, and the capture triggers
        // share the table's events with them: refused rather than lost at the swap.
        let migrated: Vec<String> = plan.tables.iter().map(|t| t.table.clone()).collect();
        let triggers = store.user_triggers(&migrated).await;
        let triggers = match triggers {
            Ok(t) => t,
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        };
        if let Some(refusal) = trigger_refusal(&plan, &triggers) {
            store.close().await;
            return Err(refusal);
        }
        // The look for a migration on the same tables and the insert are one step
        // (under the keyspace's submit lock): two submissions never both get in.
        let locked = match store.lock_submit(SUBMIT_LOCK_WAIT_SECS).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(OnlineError::Refused {
                table: plan.root.clone(),
                reason: format!(
                    "another submission held the keyspace's submit lock for {SUBMIT_LOCK_WAIT_SECS} s; try again"
                ),
            }),
            Err(e) => Err(e),
        };
        if let Err(e) = locked {
            store.close().await;
            return Err(e);
        }
        let recorded = async {
            let list = store.list().await?;
            let tables = plan.gated_tables();
            if let Some(m) = list.iter().find(|m| {
                !m.state.is_final()
                    && m.plan
                        .as_ref()
                        .map(|p| p.gated_tables().iter().any(|t| tables.contains(t)))
                        .unwrap_or(tables.contains(&m.table))
            }) {
                return Err(OnlineError::Refused {
                    table: plan.root.clone(),
                    reason: format!(
                        "migration '{}' of `{}` is {} on the same tables",
                        m.id, m.table, m.state
                    ),
                });
            }
            store.insert(&id, &plan.root, alter_sql).await
        }
        .await;
        store.unlock_submit().await;
        store.close().await;
        recorded?;
        self.spawn(&id, None);
        Ok(id)
    }

    /// Starts the task of migration `id`; `hold`: see [`runner::run`].
    fn spawn(&self, id: &str, hold: Option<Hold>) {
        let cancel = Arc::new(AtomicBool::new(false));
        let handle = tokio::spawn(runner::run(self.shared.clone(), id.to_string(), cancel.clone(), hold));
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|_, t| !t.handle.is_finished());
        tasks.insert(id.to_string(), Task { cancel, handle });
    }

    /// Every migration of the keyspace, oldest first.
    pub async fn list(&self) -> Result<Vec<Migration>, OnlineError> {
        let mut store = self.shared.store();
        let list = store.list().await;
        store.close().await;
        list
    }

    /// One migration.
    pub async fn get(&self, id: &str) -> Result<Migration, OnlineError> {
        let mut store = self.shared.store();
        let m = store.get(id).await;
        store.close().await;
        m?.ok_or_else(|| OnlineError::UnknownMigration(id.to_string()))
    }

    /// Cancels a migration that has not reached its cut-over (queued or running), from
    /// this gateway or any other sharing the backend: the request is recorded, and the
    /// task that owns the migration stops between chunks (or before its cut-over), drops
    /// triggers and shadows and records `cancelled`; a migration no gateway runs is
    /// cleaned up here at once. Returns once the request is recorded.
    pub async fn cancel(&self, id: &str) -> Result<(), OnlineError> {
        let m = self.get(id).await?;
        let refused = |state: State| OnlineError::WrongState {
            id: id.to_string(),
            state: state.to_string(),
            action: "cancel".into(),
        };
        if m.state.is_final() || m.state == State::Ready {
            return Err(refused(m.state));
        }
        let mut store = self.shared.store();
        let now = store.request_cancel(id).await;
        store.close().await;
        let now = now?.ok_or_else(|| OnlineError::UnknownMigration(id.to_string()))?;
        // The record decides: a migration that reached `ready` first cuts over.
        if !now.cancel_requested || now.state == State::Ready || now.state == State::Complete {
            return Err(refused(now.state));
        }
        let running = {
            let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            match tasks.get(id) {
                Some(t) if !t.handle.is_finished() => {
                    t.cancel.store(true, Ordering::SeqCst);
                    true
                }
                _ => false,
            }
        };
        if !running && !now.state.is_final() {
            runner::cancel_idle(&self.shared, id).await?;
        }
        Ok(())
    }

    /// Cancels every migration not yet cut over; returns how many.
    pub async fn cancel_all(&self) -> Result<usize, OnlineError> {
        let mut n = 0;
        for m in self.list().await? {
            if matches!(m.state, State::Queued | State::Running) {
                match self.cancel(&m.id).await {
                    Ok(()) => n += 1,
                    // It reached its cut-over (or ended) meanwhile: the others still go.
                    Err(OnlineError::WrongState { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(n)
    }

    /// Starts a failed or cancelled migration again, from the beginning; a `ready` one
    /// that no task of this migrator runs (its cut-over stopped: a swap back that
    /// failed) is resumed, as at gateway start (its task waits while another gateway
    /// owns it).
    pub async fn retry(&self, id: &str) -> Result<(), OnlineError> {
        let m = self.get(id).await?;
        if m.state == State::Ready && !self.runs(id) {
            self.spawn(id, self.resume_hold(&m));
            return Ok(());
        }
        if !matches!(m.state, State::Failed | State::Cancelled) {
            return Err(OnlineError::WrongState {
                id: id.to_string(),
                state: m.state.to_string(),
                action: "retry".into(),
            });
        }
        let mut store = self.shared.store();
        let r = store.reset(id).await;
        store.close().await;
        r?;
        self.spawn(id, None);
        Ok(())
    }

    /// True while a task of this migrator runs migration `id`.
    fn runs(&self, id: &str) -> bool {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.get(id).is_some_and(|t| !t.handle.is_finished())
    }

    /// Starts the tasks of every unfinished migration (at gateway start): each goes on
    /// from its last copied chunk. Returns their ids.
    ///
    /// A `ready` migration may have stopped after its RENAME, its tables without their
    /// FKs: its tables are held (refusing) before this returns, so before the gateway
    /// serves anyone, until its task has finished the FK steps or found them not
    /// swapped (review r23f F1).
    pub async fn resume_all(&self) -> Result<Vec<String>, OnlineError> {
        let mut ids = Vec::new();
        for m in self.list().await? {
            if !m.state.is_final() && !self.runs(&m.id) {
                self.spawn(&m.id, self.resume_hold(&m));
                ids.push(m.id);
            }
        }
        Ok(ids)
    }

    /// The refusing hold of a `ready` migration with a plan (none otherwise).
    fn resume_hold(&self, m: &Migration) -> Option<Hold> {
        match (&m.state, &m.plan) {
            (State::Ready, Some(plan)) => Some(runner::resume_hold(&self.shared, &m.id, plan)),
            _ => None,
        }
    }

    /// Waits until migration `id` is complete, failed or cancelled (at most `timeout`).
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Migration, OnlineError> {
        let start = std::time::Instant::now();
        loop {
            let m = self.get(id).await?;
            if m.state.is_final() || start.elapsed() > timeout {
                return Ok(m);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What an online `alter_sql` would do (`EXPLAIN FK ALTER TABLE ...`), or the
    /// refusal a submission would meet (triggers of the migrated tables included).
    pub async fn explain(&self, alter_sql: &str) -> Result<String, OnlineError> {
        let schema = self.shared.schema().await?;
        if let Ok(plan) = plan::build(&schema, "preview", alter_sql, self.shared.managed) {
            let migrated: Vec<String> = plan.tables.iter().map(|t| t.table.clone()).collect();
            let mut store = self.shared.store();
            let triggers = store.user_triggers(&migrated).await;
            store.close().await;
            if let Some(OnlineError::Refused { table, reason }) = trigger_refusal(&plan, &triggers?) {
                return Ok(format!("online ALTER of `{table}`\nrefused: {reason}\n"));
            }
            let mut db = db::Db::new(&self.shared.url);
            let stored = shadow::refuse_stored_over_fks(&mut db, &self.shared.database, &plan).await;
            db.close().await;
            if let Err(OnlineError::Refused { table, reason }) = stored {
                return Ok(format!("online ALTER of `{table}`\nrefused: {reason}\n"));
            }
        }
        Ok(explain::explain(&schema, alter_sql, self.shared.managed))
    }
}

impl Drop for Migrator {
    fn drop(&mut self) {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        for t in tasks.values() {
            t.handle.abort();
        }
    }
}

/// The refusal of `plan` when its tables have triggers of their own (`triggers`:
/// trigger, table): the shadow would not have them, and the capture triggers share the
/// table's events with them.
fn trigger_refusal(plan: &Plan, triggers: &[(String, String)]) -> Option<OnlineError> {
    if triggers.is_empty() {
        return None;
    }
    let names: Vec<String> = triggers.iter().map(|(t, on)| format!("`{t}` on `{on}`")).collect();
    // A family migration (a referenced key changes type) cannot run directly while
    // the FKs exist (MariaDB 1833): no advice that names 'direct' then (review r21f F5).
    let advice = if plan.tables.len() > 1 {
        "drop them first (and create them again afterwards)"
    } else {
        "drop them first or use ddl_strategy 'direct'"
    };
    Some(OnlineError::Refused {
        table: plan.root.clone(),
        reason: format!(
            "the table has triggers of its own ({}), which the new table would not keep; {advice}",
            names.join(", ")
        ),
    })
}

/// The columns of `SHOW VITESS_MIGRATIONS` (Vitess's names where it has one).
pub const SHOW_COLUMNS: [&str; 16] = [
    "migration_uuid",
    "keyspace",
    "mysql_table",
    "migration_statement",
    "strategy",
    "migration_status",
    "progress",
    "rows_copied",
    "table_rows",
    "eta_seconds",
    "added_timestamp",
    "started_timestamp",
    "ready_timestamp",
    "completed_timestamp",
    "cutover_ms",
    "message",
];

/// One `SHOW VITESS_MIGRATIONS` row per migration whose id matches `like` (SQL LIKE
/// pattern with `%` and `_`), in [`SHOW_COLUMNS`] order.
pub fn show_rows(migrations: &[Migration], like: Option<&str>) -> Vec<Vec<Option<String>>> {
    migrations
        .iter()
        .filter(|m| like.is_none_or(|p| like_match(p, &m.id)))
        .map(|m| {
            vec![
                Some(m.id.clone()),
                Some(m.keyspace.clone()),
                Some(m.table.clone()),
                Some(m.alter_sql.clone()),
                Some("online".into()),
                Some(m.state.to_string()),
                Some(m.percent().to_string()),
                Some(m.rows_copied.to_string()),
                Some(m.rows_estimated.to_string()),
                m.eta_seconds().map(|s| s.to_string()),
                m.submitted_at.clone(),
                m.started_at.clone(),
                m.ready_at.clone(),
                m.completed_at.clone(),
                m.cutover_ms.map(|s| s.to_string()),
                Some(if m.cancel_requested && !m.state.is_final() {
                    "cancel requested".to_string()
                } else {
                    m.message.clone()
                }),
            ]
        })
        .collect()
}

/// SQL LIKE (`%`, `_`), case-insensitive.
fn like_match(pattern: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| go(&p[1..], &s[i..])),
            Some('_') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some(c) => s.first().is_some_and(|d| d.eq_ignore_ascii_case(c)) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    go(&p, &s)
}

/// A new migration id in Vitess's form (32 hex digits in five groups).
fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(nanos);
    let hex = format!("{:016x}{nanos:016x}", h.finish());
    format!(
        "{}_{}_{}_{}_{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The explanation of `alter_sql` on a schema already read (`tether gateway` CLI and
/// tests).
pub fn explain_with(schema: &Schema, alter_sql: &str, managed: bool) -> String {
    explain::explain(schema, alter_sql, managed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_vitess_uuids() {
        let a = new_id();
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('_').count(), 4);
        assert_ne!(a, new_id());
    }

    #[test]
    fn like_patterns() {
        assert!(like_match("ab%", "abc_1"));
        assert!(like_match("a_c", "abc"));
        assert!(!like_match("a_c", "abbc"));
    }
}
