//! A destination's lifecycle: opened, its missing tables created from the plan's models
//! (see [`super::create`]), every job table mapped to the destination's own, checks
//! applied, emptied if asked, further connections for more lanes, the schema finished
//! and sequences advanced after the load.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tether_connect::{Connection, DbUrl, DeferredChecks, Value};
use tether_schema::{ForeignKey, Schema, Table, TableName};

use super::create::{create_tables, Created};
use super::method::LoadPlan;
use super::stage::Staged;
use super::Progress;
use crate::config::{Checks, DestinationSpec};
use crate::error::SyncError;
use crate::plan::{row_key, Plan};

/// A connection to a destination, prepared for the job.
pub struct Destination {
    pub shown: String,
    url: DbUrl,
    pub conn: Connection,
    pub spec: DestinationSpec,
    /// Source table -> destination table (as introspected after creation).
    pub tables: Arc<HashMap<TableName, Table>>,
    /// Foreign-key checks are off on this connection (`checks = "verify"`).
    pub checks_off: bool,
    /// The load runs in one transaction with these FKs dropped (PostgreSQL,
    /// `checks = "enforce"`): created again, and so validated, before COMMIT.
    pub atomic: Option<Vec<DroppedFk>>,
    /// The server's id of this connection's session (PostgreSQL backend pid, MariaDB
    /// connection id): an interrupted run ends it, so a statement waiting on a lock
    /// there does not keep its transaction and locks ([`Destination::reconnect`]).
    pub backend: Option<i64>,
    /// `truncate = true` emptied the job's tables here, outside any transaction (a
    /// failure or an interruption after it says so).
    pub emptied: bool,
    /// The connection was replaced after an interruption ([`Destination::reconnect`]).
    pub reconnected: bool,
    /// Tables written so far on this destination: (table, rows, complete), for
    /// messages. A table is not complete when its copy stopped part way (another
    /// destination rejected a row of it, the read failed).
    pub(crate) written: Arc<Mutex<Vec<(String, u64, bool)>>>,
    /// `setval` to the source's sequence state, for the tables created here (PostgreSQL).
    pub sequence_states: Vec<String>,
    /// Triggers turned off for a one-transaction load into existing tables: the
    /// statements turning each on again as it was (`ENABLE`, `ENABLE REPLICA`, `ENABLE
    /// ALWAYS`), run before COMMIT.
    pub disabled_triggers: Vec<String>,
    /// Statements for the objects of the tables created here that a restore builds
    /// after the data (see [`finish_schema`]).
    pub after_load: Vec<String>,
    /// Every declared foreign key of the job's tables was created again, and so
    /// validated by PostgreSQL, before the load's COMMIT: the verification does not
    /// look for their orphans again.
    pub fks_validated: bool,
    /// Tables created by this run (PostgreSQL `regclass` literals), empty until loaded.
    pub created: Vec<String>,
    /// Primary keys and unique constraints of the tables created here, dropped inside the
    /// one-transaction load and added again after it, as a restore builds them.
    pub deferred_keys: Vec<DroppedFk>,
    /// The tables were created in staging schemas (see [`super::stage`]): built there
    /// after the load, then moved (main connection only).
    pub(super) stage: Option<Box<Staged>>,
    /// This connection loads into staging tables, which have no foreign keys yet.
    pub(super) staged_load: bool,
    /// How this destination loads, as decided when it was prepared (what `tether plan`
    /// printed, unless the destination changed in between).
    pub load: LoadPlan,
    /// What this run created here in place, dropped again if the run fails.
    pub(super) made: Made,
    /// The job's names of the tables that held no row when the run began: those it
    /// created and those that were there empty. Kept on every lane (`made` is the main
    /// connection's alone): a key clash in one of them is two of the source's rows.
    pub(crate) began_empty: Vec<String>,
    /// The job's names of the tables this run created, on every lane.
    pub(super) created_tables: Vec<String>,
    /// SQLite: the `CREATE TRIGGER` statements of triggers on the job's existing tables,
    /// dropped for the load (SQLite cannot turn a trigger off, and one would fire on
    /// copied rows, emptied ones included) and created again after it, or by an undo.
    /// PostgreSQL loading in batches: the statements turning on again the triggers
    /// turned off for the load, each as it was.
    pub(super) suspended_triggers: Vec<String>,
    /// What puts [`Destination::suspended_triggers`] back is recorded in the destination
    /// ([`super::suspended`]) under the destination's lock, held until they are back and
    /// the run's rows of the record are gone.
    pub(super) suspension_lock: Option<super::suspended::Lock>,
    /// Declared foreign keys of destination tables outside the job that reference a job
    /// table: (that table, its FK), as read before the load. With the checks off nothing
    /// holds them during the load, so the verification looks for their orphans too.
    pub outsider_fks: Vec<(Table, ForeignKey)>,
    /// What the run must tell beside its progress, kept for the report's `warnings`
    /// (triggers that fire on the copied rows).
    pub warnings: Vec<String>,
    /// Tables that held rows when the run began and whose key telling rows apart is
    /// transformed: looked at again after the load ([`rekeyed_warnings`]). Main
    /// connection only.
    pub(crate) rekeyed: Vec<Rekeyed>,
}

/// A table that held rows when the run began, matched on a key the job transforms
/// ([`refuse_copies_twice`]): another seed, or other transformers, than the earlier
/// run's give other keys, and every row would go in again beside the earlier ones.
#[derive(Debug, Clone)]
pub(crate) struct Rekeyed {
    /// The job's name of the table.
    name: String,
    /// The destination's table.
    table: Table,
    /// The key, as messages name it: `(id)`.
    key: String,
    /// Its columns the job transforms.
    transformed: Vec<String>,
    /// Its rows when the run began.
    before: u64,
}

/// What a run created on a destination outside any transaction (tables, views, and the
/// schemas, extensions, collations, types and functions made for them), to be dropped
/// again when the run fails: the destination is then as before.
#[derive(Debug, Default)]
pub struct Made {
    /// (the job's name for the table, the destination's SQL name), in creation order.
    pub tables: Vec<(String, String)>,
    /// `DROP VIEW` statements of the views created, in creation order.
    pub drop_views: Vec<String>,
    /// Statements dropping what was created for the tables before them (schemas,
    /// extensions, collations, types, functions), in creation order; run after the
    /// tables are dropped, last first, each as far as it goes (a schema something else
    /// lives in stays).
    pub drop_objects: Vec<String>,
}

impl Made {
    /// Drops the views and tables, views first, with the foreign-key checks off where
    /// the engine allows (tables of a cycle). Returns the job's names of the tables
    /// dropped, or why they could not be.
    async fn undo(&mut self, conn: &mut Connection) -> Result<Vec<String>, String> {
        if self.tables.is_empty() && self.drop_views.is_empty() && self.drop_objects.is_empty() {
            return Ok(Vec::new());
        }
        // A transaction left open by the failure (a deferred cycle) would hold the
        // tables' locks and refuse the drops; where none is open this is a no-op.
        let _ = conn.execute("ROLLBACK").await;
        let off = conn.disable_fk_checks().await.unwrap_or(false);
        for sql in self.drop_views.iter().rev() {
            let _ = conn.execute(sql).await;
        }
        // Kept until the drops succeed: a failed attempt (a lost connection) can be
        // made again on another connection.
        let tables = self.tables.clone();
        let sql_names: Vec<&str> = tables.iter().map(|(_, t)| t.as_str()).collect();
        let mut dropped = match tables.is_empty() {
            true => Ok(()),
            false => {
                conn.execute(&format!("DROP TABLE IF EXISTS {}", sql_names.join(", ")))
                    .await
            }
        };
        if dropped.is_err() && conn.engine() != tether_connect::Engine::Postgres {
            // One table per statement (SQLite, MariaDB), children first; PostgreSQL drops
            // them together or not at all (a lock timeout there would only repeat).
            dropped = Ok(());
            for name in sql_names.iter().rev() {
                if let Err(e) = conn.execute(&format!("DROP TABLE IF EXISTS {name}")).await {
                    dropped = Err(e);
                }
            }
        }
        if off {
            let _ = conn.enable_fk_checks().await;
        }
        let names: Vec<String> = tables.into_iter().map(|(n, _)| n).collect();
        match dropped {
            Ok(()) => {
                for sql in self.drop_objects.iter().rev() {
                    let _ = conn.execute(sql).await;
                }
                self.tables.clear();
                self.drop_views.clear();
                self.drop_objects.clear();
                Ok(names)
            }
            Err(e) => Err(format!(
                "the tables this run created could not be dropped again ({e}); they stay: {}",
                names.join(", ")
            )),
        }
    }
}

/// A foreign key dropped for a transactional load, to be created again.
#[derive(Debug, Clone)]
pub struct DroppedFk {
    /// The table as PostgreSQL names it (`regclass`).
    pub table: String,
    pub name: String,
    /// `pg_get_constraintdef`: `FOREIGN KEY (a) REFERENCES p(id) ON DELETE CASCADE`.
    pub definition: String,
    /// `COMMENT ON CONSTRAINT`, given again with the constraint.
    pub comment: Option<String>,
}

impl Destination {
    /// Nothing checks foreign keys row by row while loading: checks are off, or the
    /// FKs are dropped inside the load's transaction. Values are written as they are.
    pub fn fk_free(&self) -> bool {
        self.checks_off || self.atomic.is_some() || self.staged_load
    }

    /// Foreign keys will be checked row by row while loading here, as far as known
    /// before [`Destination::apply_checks`]: not a one-transaction or staged load, and
    /// not `checks = "verify"`. A breakable cycle is then loaded NULL and set again.
    pub fn checks_rows(&self) -> bool {
        !(self.atomic.is_some() || self.staged_load || self.spec.checks == Checks::Verify)
    }

    /// A failed run leaves nothing on this destination: it loads in one transaction, or
    /// into staging schemas. Returns what to say about the rows written.
    pub fn loads_whole(&self) -> Option<&'static str> {
        match (&self.atomic, &self.stage) {
            (_, Some(_)) => Some(super::STAGE_DROPPED),
            (Some(_), None) => Some(super::NOTHING_WRITTEN),
            (None, None) => None,
        }
    }

    /// Applies the destination's `checks` option to its connection.
    pub async fn apply_checks(&mut self, progress: &dyn Progress) -> Result<(), SyncError> {
        if self.spec.checks == Checks::Verify {
            self.checks_off = self.conn.disable_fk_checks().await?;
            if !self.checks_off {
                progress.phase(&format!(
                    "{}: foreign-key checks stay on (turning them off needs a superuser); loading with checks enforced",
                    self.shown
                ));
            }
        }
        Ok(())
    }

    /// Another connection to the same destination, set up the same way.
    pub async fn another(&self) -> Result<Destination, SyncError> {
        let mut conn = Connection::open_destination(&self.url).await?;
        if self.checks_off {
            conn.disable_fk_checks().await?;
        }
        let backend = backend_of(&mut conn).await;
        Ok(Destination {
            backend,
            emptied: self.emptied,
            reconnected: false,
            shown: self.shown.clone(),
            url: self.url.clone(),
            conn,
            spec: self.spec.clone(),
            tables: self.tables.clone(),
            checks_off: self.checks_off,
            atomic: None,
            written: self.written.clone(),
            after_load: Vec::new(),
            disabled_triggers: Vec::new(),
            fks_validated: false,
            created: Vec::new(),
            deferred_keys: Vec::new(),
            sequence_states: Vec::new(),
            stage: None,
            staged_load: self.staged_load,
            load: self.load.clone(),
            made: Made::default(),
            began_empty: self.began_empty.clone(),
            created_tables: self.created_tables.clone(),
            suspended_triggers: Vec::new(),
            suspension_lock: None,
            outsider_fks: self.outsider_fks.clone(),
            warnings: Vec::new(),
            rekeyed: Vec::new(),
        })
    }

    /// After a failed run: drops what it created here in place ([`Made`]) and says
    /// what was undone and, where `rows_stay` (the destination does not load whole),
    /// the rows this run wrote into tables that were there. None when there is
    /// nothing to say (nothing created, nothing written).
    /// `told`: a table the error already says the rows of (the one a row was rejected
    /// from), left out here.
    pub async fn undo_created(&mut self, rows_stay: bool, told: Option<&str>) -> Option<String> {
        let mut dropped = self.made.undo(&mut self.conn).await;
        // (Not when the connection is new already: what failed was not the connection.)
        if dropped.is_err() && !self.reconnected {
            // The run's connection may be what failed (killed, lost): once more on a
            // new one, so the tables do not stay because of it.
            if let Ok(mut fresh) = Connection::open_destination(&self.url).await {
                bounded_locks(&mut fresh).await;
                dropped = self.made.undo(&mut fresh).await;
                fresh.close().await;
            }
        }
        let mut parts = Vec::new();
        let gone: Vec<String> = match &dropped {
            Ok(names) => names.clone(),
            Err(_) => Vec::new(),
        };
        match dropped {
            Ok(names) if names.is_empty() => {}
            Ok(names) => parts.push(format!(
                "undone: {} created by this run dropped again ({})",
                crate::plan::plural(names.len(), "table"),
                names.join(", ")
            )),
            Err(why) => parts.push(why),
        }
        if rows_stay && self.emptied {
            parts.push("truncate = true had emptied the job's tables that were there".to_string());
        }
        if rows_stay {
            let kept: Vec<String> = self
                .written
                .lock()
                .expect("lock")
                .iter()
                .filter(|(t, n, _)| !gone.contains(t) && *n > 0 && Some(t.as_str()) != told)
                .map(|(t, n, complete)| match complete {
                    true => format!("{t}: {n}"),
                    false => format!("{t}: {n} (the job stopped while copying it)"),
                })
                .collect();
            if !kept.is_empty() {
                parts.push(format!(
                    "rows this run wrote into tables that were there stay: {}",
                    kept.join(", ")
                ));
            }
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// The job's names of the tables this run created here in place (not yet dropped).
    pub fn created_here(&self) -> Vec<String> {
        self.made.tables.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The run succeeded on this destination: what it created stays (suspended
    /// triggers were created again with the rest after the load).
    pub fn keep_created(&mut self) {
        self.made = Made::default();
        self.suspended_triggers.clear();
    }

    /// SQLite and MariaDB/MySQL, loading in batches (neither can turn a trigger off):
    /// drops the triggers of the job's tables that were there before the run, keeping
    /// their statements to create them again after the load ([`finish_schema`]) or
    /// after a failure ([`Destination::restore_triggers`]).
    pub async fn suspend_triggers(&mut self, plan: &Plan, progress: &dyn Progress) -> Result<(), SyncError> {
        let d = self.conn.dialect();
        let tables: Vec<&Table> = plan
            .tables
            .iter()
            .map(|tp| &self.tables[&tp.table.table_name()])
            .collect();
        // (name, the statement creating it again)
        let found: Vec<(String, String)> = match self.conn.engine() {
            tether_connect::Engine::Postgres => return self.suspend_pg_triggers(plan, progress).await,
            // In firing order, each as it was ([`mysql_triggers`]).
            tether_connect::Engine::Mysql => {
                let names: Vec<String> = tables
                    .iter()
                    .flat_map(|t| &t.extras.triggers)
                    .map(|tr| tr.name.clone())
                    .collect();
                mysql_triggers(&mut self.conn, &self.shown, &names).await?
            }
            tether_connect::Engine::Sqlite => {
                let names: Vec<String> = tables
                    .iter()
                    .map(|t| d.literal(&tether_connect::Value::Text(t.name.clone())))
                    .collect();
                let text = tether_schema::DataType::Text;
                self.conn
                    .query(
                        &format!(
                            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({}) \
                             ORDER BY rowid",
                            names.join(", ")
                        ),
                        &[text.clone(), text],
                    )
                    .await?
                    .into_iter()
                    .filter_map(|r| match (&r[0], &r[1]) {
                        (tether_connect::Value::Text(n), tether_connect::Value::Text(sql)) => {
                            Some((n.clone(), sql.clone()))
                        }
                        _ => None,
                    })
                    .collect()
            }
        };
        // Recorded in the destination, committed, before the first is dropped: a run
        // that dies before creating them again does not lose them.
        let record: Vec<super::suspended::Suspended> = found
            .iter()
            .map(|(name, sql)| super::suspended::Suspended::new(name.clone(), sql.clone()))
            .collect();
        self.suspension_lock = super::suspended::record(&mut self.conn, &self.url, &self.shown, &record).await?;
        let mut dropped = Vec::new();
        for (name, sql) in found {
            self.conn.execute(&format!("DROP TRIGGER {}", d.ident(&name))).await?;
            dropped.push(name);
            self.suspended_triggers.push(sql);
        }
        if !dropped.is_empty() {
            progress.phase(&format!(
                "{}: triggers {} dropped for the load ({} cannot turn them off), created again after it",
                self.shown,
                dropped.join(", "),
                self.conn.engine().name()
            ));
        }
        // Created again with what is built after the data, before the indexes' end.
        self.after_load.splice(0..0, self.suspended_triggers.iter().cloned());
        Ok(())
    }

    /// PostgreSQL loading in batches (`checks = "verify"`, or a one-transaction load the
    /// role may not run): turns off the user triggers of the job's tables that were
    /// there, whatever their state (under `checks = "verify"`'s
    /// `session_replication_role = replica` the ENABLE REPLICA and ENABLE ALWAYS ones
    /// would fire), as `pg_restore --disable-triggers` does, each committed at once; each
    /// is turned on again as it was after the load, or after a failure
    /// ([`Destination::restore_triggers`]). A trigger the role may not turn off (it is not
    /// the table's owner) fires on the copied rows: said, naming it.
    async fn suspend_pg_triggers(&mut self, plan: &Plan, progress: &dyn Progress) -> Result<(), SyncError> {
        let d = self.conn.dialect();
        let tables = self.job_regclasses(plan);
        let mut off = Vec::new();
        let mut refused = Vec::new();
        let triggers = super::partition_triggers::triggers_with_partitions(&mut self.conn, &tables).await?;
        // Recorded in the destination, committed, before the first is turned off: a run
        // that dies before turning them on again does not leave them off for good, nor
        // is their state then taken for the user's (turning on one that stayed on, as
        // refused below, changes nothing).
        let record: Vec<super::suspended::Suspended> = triggers
            .iter()
            .map(|t| super::suspended::Suspended::new(format!("{} on {}", t.name, t.table), t.enable(d)))
            .collect();
        match super::suspended::record(&mut self.conn, &self.url, &self.shown, &record).await {
            Ok(lock) => self.suspension_lock = lock,
            Err(e) => {
                // A role that may turn none of them off (it owns none of the tables, and
                // may not create the record either) suspends nothing, so has nothing to
                // record: tried each in a transaction rolled back.
                let mut may = false;
                for t in &triggers {
                    let _ = self.conn.execute("BEGIN").await;
                    may = self.conn.execute(&t.disable(d)).await.is_ok();
                    let _ = self.conn.execute("ROLLBACK").await;
                    if may {
                        break;
                    }
                }
                if may {
                    return Err(e);
                }
            }
        }
        for trigger in triggers {
            match self.conn.execute(&trigger.disable(d)).await {
                Ok(()) => {
                    off.push(format!("{} on {}", trigger.name, trigger.table));
                    self.suspended_triggers.push(trigger.enable(d));
                }
                Err(e) => refused.push((format!("{} on {}", trigger.name, trigger.table), e)),
            }
        }
        if !off.is_empty() {
            progress.phase(&format!(
                "{}: triggers {} turned off for the load, on again as they were after it",
                self.shown,
                off.join(", ")
            ));
        }
        // Left on by the refusal: nothing to put back for them.
        let left_on: Vec<String> = refused.iter().map(|(n, _)| n.clone()).collect();
        super::suspended::unrecord(&mut self.conn, self.suspension_lock.as_ref(), &left_on).await?;
        if let Some((_, e)) = refused.first() {
            let names: Vec<&str> = refused.iter().map(|(n, _)| n.as_str()).collect();
            let told = format!(
                "{}: triggers {} FIRE ON THE COPIED ROWS: turning them off was refused ({e}); run the job as \
                 the tables' owner, or turn them off first (ALTER TABLE ... DISABLE TRIGGER), for a copy they \
                 do not write to",
                self.shown,
                names.join(", ")
            );
            progress.phase(&told);
            self.warnings.push(told);
        }
        // On again with what is built after the data.
        self.after_load.splice(0..0, self.suspended_triggers.iter().cloned());
        Ok(())
    }

    /// After a failed run: creates again the triggers [`Destination::suspend_triggers`]
    /// dropped, or turns on again those it turned off (PostgreSQL), each as far as it
    /// goes (one created already stays). Says which it could not create, with their
    /// statements.
    /// The record of them ([`super::suspended`]) is dropped once all are back; kept
    /// otherwise, for the next run to put back what is still missing.
    pub async fn restore_triggers(&mut self) -> Option<String> {
        let mut failed = Vec::new();
        for sql in std::mem::take(&mut self.suspended_triggers) {
            if let Err(e) = self.conn.execute(&sql).await {
                super::suspended::after_failure(&mut self.conn).await;
                failed.push(format!("{e}; its statement: {sql}"));
            }
        }
        if failed.is_empty() {
            self.forget_suspension().await;
        }
        (!failed.is_empty()).then(|| {
            format!(
                "triggers dropped or turned off for the load could not be created or turned on again: {}{}",
                failed.join("; "),
                match self.suspension_lock.is_some() {
                    true => format!(
                        " (recorded in table {} there: the next sync tries again)",
                        tether_connect::SUSPENDED_TRIGGERS
                    ),
                    false => String::new(),
                }
            )
        })
    }

    /// The suspended triggers are back (created again with what is built after the
    /// data, or after a failure): their record in the destination is dropped.
    pub async fn forget_suspension(&mut self) {
        if let Some(lock) = self.suspension_lock.take() {
            super::suspended::forget(&mut self.conn, lock).await;
        }
    }

    /// Replaces the connection with a new one (after an interruption left it in the
    /// middle of a statement), closing the old one first: what it had open (a
    /// transaction, a SQLite write lock) is rolled back. Keeps the old one if no new
    /// one opens (within 10 s).
    pub async fn reconnect(&mut self) {
        let fresh = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            Connection::open_destination(&self.url),
        );
        // (Dropped before the new one writes anything: a SQLite write lock goes with it.)
        if let Ok(Ok(mut fresh)) = fresh.await {
            // A server session waiting on a lock does not see its client go: ended
            // from the new one, it rolls back and lets go of its locks.
            let end = match (self.conn.engine(), self.backend) {
                (tether_connect::Engine::Postgres, Some(id)) => Some(format!("SELECT pg_terminate_backend({id})")),
                (tether_connect::Engine::Mysql, Some(id)) => Some(format!("KILL {id}")),
                _ => None,
            };
            if let Some(sql) = end {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(10), fresh.execute(&sql)).await;
            }
            bounded_locks(&mut fresh).await;
            drop(std::mem::replace(&mut self.conn, fresh));
            self.reconnected = true;
            // The lock of the suspended triggers went with the old session: taken again,
            // so that no other run puts them back while this one does.
            if self.suspension_lock.as_ref().is_some_and(|l| l.by_session()) {
                if let Ok(Some(lock)) = super::suspended::lock(&mut self.conn, &self.url).await {
                    self.suspension_lock = Some(lock);
                }
            }
        }
    }
}

pub use crate::schema_plan::destination_name;

/// An undo on a new connection waits at most 10 s for a lock (another session holding
/// a table a DROP needs): it then says what stays, rather than hang for as long as
/// that session lasts.
async fn bounded_locks(conn: &mut Connection) {
    let sql = match conn.engine() {
        tether_connect::Engine::Postgres => "SET lock_timeout = '10s'",
        tether_connect::Engine::Mysql => "SET SESSION lock_wait_timeout = 10, innodb_lock_wait_timeout = 10",
        tether_connect::Engine::Sqlite => "PRAGMA busy_timeout = 10000",
    };
    let _ = conn.execute(sql).await;
}

/// MariaDB/MySQL: the triggers `names` (of the job's tables, in firing order) as they
/// are, each with the statement creating it again as it was
/// ([`super::suspended::mysql_restore`]): its own text with its DEFINER (a trigger runs
/// with its definer's privileges), under its own sql_mode and character set.
/// Re-creating a trigger of another definer needs the SET USER (or SUPER) privilege:
/// without it the run stops here, before anything is dropped, naming them.
async fn mysql_triggers(
    conn: &mut Connection,
    shown: &str,
    names: &[String],
) -> Result<Vec<(String, String)>, SyncError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let text = tether_schema::DataType::Text;
    let d = conn.dialect();
    let listed: Vec<String> = names.iter().map(|n| d.literal(&Value::Text(n.clone()))).collect();
    let foreign = conn
        .query(
            &format!(
                "SELECT TRIGGER_NAME, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
                 AND TRIGGER_NAME IN ({}) AND DEFINER <> CURRENT_USER() ORDER BY TRIGGER_NAME",
                listed.join(", ")
            ),
            &[text.clone(), text.clone()],
        )
        .await?;
    if !foreign.is_empty() {
        let int = tether_schema::DataType::Int {
            bytes: 8,
            unsigned: false,
        };
        let may = conn
            .query(
                "SELECT count(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = CONCAT('''', \
                 SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') \
                 AND PRIVILEGE_TYPE IN ('SUPER', 'SET USER', 'SET_USER_ID')",
                &[int],
            )
            .await?;
        let may = match may.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => *n > 0,
            Some(Value::UInt(n)) => *n > 0,
            Some(Value::Text(t)) => t != "0",
            _ => false,
        };
        if !may {
            let which: Vec<String> = foreign
                .iter()
                .map(|r| match (&r[0], &r[1]) {
                    (Value::Text(n), Value::Text(who)) => format!("{n} (DEFINER {who})"),
                    _ => String::new(),
                })
                .collect();
            return Err(SyncError::Plan(format!(
                "{shown}: triggers {} of the job's tables must be dropped for the load (MariaDB/MySQL cannot turn \
                 them off) and created again after it as they were, with their DEFINER, which needs the SET USER \
                 (or SUPER) privilege the job's user does not have. Nothing was written. Grant it, run the job \
                 as their definer, or drop those triggers yourself for the load",
                which.join(", ")
            )));
        }
    }
    let mut out = Vec::new();
    for name in names {
        let row = conn
            .query(
                &format!("SHOW CREATE TRIGGER {}", d.ident(name)),
                &[text.clone(), text.clone(), text.clone(), text.clone(), text.clone()],
            )
            .await?;
        let field = |i: usize| match row.first().and_then(|r| r.get(i)) {
            Some(Value::Text(t)) => Some(t.clone()),
            _ => None,
        };
        let (Some(mode), Some(statement), Some(charset), Some(collation)) = (field(1), field(2), field(3), field(4))
        else {
            return Err(SyncError::Plan(format!(
                "{shown}: trigger {name} must be dropped for the load and created again after it, but SHOW CREATE \
                 TRIGGER does not give its statement to the job's user. Nothing was written"
            )));
        };
        out.push((
            name.clone(),
            super::suspended::mysql_restore(&statement, &mode, &charset, &collation),
        ));
    }
    Ok(out)
}

/// The server's id of `conn`'s session, where it has one (not SQLite).
async fn backend_of(conn: &mut Connection) -> Option<i64> {
    let sql = match conn.engine() {
        tether_connect::Engine::Postgres => "SELECT pg_backend_pid()::int8",
        tether_connect::Engine::Mysql => "SELECT CONNECTION_ID()",
        tether_connect::Engine::Sqlite => return None,
    };
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    match conn.query(sql, &[int]).await.ok()?.first()?.first()? {
        Value::Int(n) => Some(*n),
        Value::UInt(n) => i64::try_from(*n).ok(),
        Value::Text(t) => t.parse().ok(),
        _ => None,
    }
}

/// A destination connection and its schema, read while the subset was chosen
/// ([`open_early`]).
pub type Opened = (Connection, Schema);

/// Opens a destination and reads its schema.
async fn open_and_read(url: &DbUrl) -> Result<Opened, SyncError> {
    let mut conn = Connection::open_destination(url).await?;
    let existing = conn.introspect(&Default::default()).await?;
    Ok((conn, existing))
}

/// The declared foreign keys of `existing` tables outside the job that reference a job
/// table: (that table, its FK, the job table referenced, as `existing` has it). Names
/// are compared as the destination does (`fold`: `outsiders::names_fold`): on a
/// MariaDB with `lower_case_table_names = 0`, or PostgreSQL, `Users` is not `users`.
fn outsider_fks<'a>(
    engine: tether_connect::Engine,
    fold: bool,
    plan: &Plan,
    source: &Schema,
    existing: &'a Schema,
) -> Vec<(&'a Table, &'a ForeignKey, &'a Table)> {
    let case = |s: &str| match fold {
        true => s.to_lowercase(),
        false => s.to_string(),
    };
    let folded = |t: &TableName| (t.schema.as_deref().map(case), case(&t.name));
    let job: HashSet<_> = plan
        .tables
        .iter()
        .map(|tp| folded(&destination_name(source, &tp.table.table_name(), engine)))
        .collect();
    let in_job = |t: &TableName| job.contains(&folded(t));
    let mut out = Vec::new();
    for t in existing.tables.iter().filter(|t| !in_job(&t.table_name())) {
        for fk in t.foreign_keys.iter().filter(|f| !f.is_virtual) {
            let mut parent = fk.referenced_name();
            if parent.schema.is_none() {
                parent.schema = t.schema.clone();
            }
            let found = existing.tables.iter().filter(|p| in_job(&p.table_name())).find(|p| {
                folded(&p.table_name()) == folded(&parent) || folded(&p.table_name()) == folded(&fk.referenced_name())
            });
            if let Some(p) = found {
                out.push((t, fk, p));
            }
        }
    }
    out
}

/// Some row of `child` references its parent through `fk` (its columns all set).
pub(crate) async fn references_any(conn: &mut Connection, child: &Table, fk: &ForeignKey) -> Result<bool, SyncError> {
    let d = conn.dialect();
    let set: Vec<String> = fk
        .columns
        .iter()
        .map(|c| format!("{} IS NOT NULL", d.ident(c)))
        .collect();
    let sql = format!(
        "SELECT 1 FROM {} WHERE {} LIMIT 1",
        d.qualified(child),
        set.join(" AND ")
    );
    Ok(!conn.query(&sql, &[]).await?.is_empty())
}

/// `truncate = true` empties the job's tables with checks off: rows of a destination
/// table outside the job referencing them would be left without their parent, their
/// ON DELETE actions never run (MariaDB and SQLite; PostgreSQL's TRUNCATE refuses).
/// Refused before anything is written, naming the FK, unless no row references them
/// (PostgreSQL then empties the tables referenced with DELETE: see [`truncate`]).
async fn refuse_orphaned_outsiders(
    conn: &mut Connection,
    shown: &str,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
) -> Result<(), SyncError> {
    let fold = super::outsiders::names_fold(conn).await?;
    for (t, fk, parent) in outsider_fks(conn.engine(), fold, plan, source, existing) {
        if references_any(conn, t, fk).await? {
            return Err(SyncError::Plan(format!(
                "{shown}: truncate = true would empty {parent}, which rows of {child} reference through foreign \
                 key {fk}; {child} is not a table of the job, so those rows would be left without their parent. \
                 Add {child} to the job, empty it first, or set truncate = false",
                parent = parent.name,
                child = t.name,
                fk = fk.name,
            )));
        }
    }
    super::outsiders::refuse_other_databases(conn, shown, plan, source, existing, fold).await
}

/// `on_conflict = "update"` with `checks = "verify"` overwrites the rows already in the
/// job's tables with the destination's checks off: a referenced key the update may
/// change (any but the primary key it matches rows on) is not followed by the rows of
/// a table outside the job that reference it (their ON UPDATE CASCADE does not run, a
/// NO ACTION does not refuse), which would be left without their parent. Refused
/// before anything is written, naming the FK, unless no row references it.
async fn refuse_unfollowed_keys(
    conn: &mut Connection,
    shown: &str,
    spec: &DestinationSpec,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
) -> Result<(), SyncError> {
    if spec.truncate || spec.checks != Checks::Verify || spec.on_conflict != tether_connect::Conflict::Update {
        return Ok(());
    }
    let fold = super::outsiders::names_fold(conn).await?;
    for (t, fk, parent) in outsider_fks(conn.engine(), fold, plan, source, existing) {
        let fixed = |c: &String| parent.primary_key.iter().any(|k| k.eq_ignore_ascii_case(c));
        if fk.referenced_columns.iter().all(fixed) || !references_any(conn, t, fk).await? {
            continue;
        }
        return Err(SyncError::Plan(format!(
            "{shown}: on_conflict = \"update\" with checks = \"verify\" may change {parent}'s key ({cols}), which \
             rows of {child} reference through foreign key {fk}; {child} is not a table of the job and the checks \
             are off, so those rows would not follow the change (no ON UPDATE action runs) and would be left \
             without their parent. Set checks = \"enforce\", or add {child} to the job",
            parent = parent.name,
            cols = fk.referenced_columns.join(", "),
            child = t.name,
            fk = fk.name,
        )));
    }
    Ok(())
}

/// Without `truncate`, rows are told apart from those already in a destination table
/// by one of its keys (`on_conflict`). A key of the destination's table tells them apart
/// when the job writes every column of it (a column the destination fills in itself,
/// serial, identity, AUTO_INCREMENT, a default or a generated column, gets a new value
/// on every insert, and so conflicts with nothing), no transformer draws it afresh on
/// every run (`generate_`, a `js` function declared `deterministic = false`; set or
/// inherited), and no row there holds NULL in it (columns NOT NULL, or no NULL in the
/// rows already there: a row with NULL in a unique key conflicts with no other, so an
/// earlier run's row with NULL there would be written again, while a new one goes in
/// once). A partial unique index holds only the rows its WHERE picks, so it is no such
/// key; a PostgreSQL unique index on expressions is one on the columns they read
/// (its expressions are immutable). A table holding rows with no such key would take
/// the same rows again: refused before anything is written, naming the table, each key
/// and why it does not count. Returns the job's names of the tables there that hold no
/// row, and the tables holding rows whose key that tells them apart the job transforms
/// (looked at again after the load: [`rekeyed_warnings`]).
async fn refuse_copies_twice(
    conn: &mut Connection,
    shown: &str,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
) -> Result<(Vec<String>, Vec<Rekeyed>), SyncError> {
    let mut empty = Vec::new();
    let mut rekeyed = Vec::new();
    for tp in &plan.tables {
        let name = destination_name(source, &tp.table.table_name(), conn.engine());
        let Some(t) = existing.table(&name) else { continue };
        if !has_rows_where(conn, t, &[]).await? {
            empty.push(tp.name.clone());
            continue;
        }
        let d = conn.dialect();
        let mut keys: Vec<CandidateKey> = Vec::new();
        let declared = (!t.primary_key.is_empty()).then_some(&t.primary_key).into_iter().chain(
            t.unique_keys
                .iter()
                .filter(|u| u.predicate.is_none())
                .map(|u| &u.columns),
        );
        // SQLite lets a primary key's parts hold NULL (unless NOT NULL, WITHOUT ROWID or
        // the rowid), and NULLs there repeat: the schema model calls them NOT NULL, as
        // other engines enforce, so the rows are asked.
        let sqlite_pk = conn.engine() == tether_connect::Engine::Sqlite;
        for k in declared {
            let primary = std::ptr::eq(k, &t.primary_key);
            keys.push(CandidateKey {
                label: format!("({})", k.join(", ")),
                columns: k.clone(),
                null: k
                    .iter()
                    .filter(|c| (sqlite_pk && primary) || t.column(c).is_none_or(|x| x.nullable))
                    .map(|c| (c.clone(), format!("{} IS NULL", d.ident(c))))
                    .collect(),
            });
        }
        if conn.engine() == tether_connect::Engine::Postgres {
            keys.extend(expression_keys(conn, t).await?);
        }
        let partial: Vec<String> = t
            .unique_keys
            .iter()
            .filter_map(|u| {
                Some(format!(
                    "{} ({}) WHERE {}",
                    u.name,
                    u.columns.join(", "),
                    u.predicate.as_ref()?
                ))
            })
            .collect();
        let partial = match partial.is_empty() {
            true => String::new(),
            false => format!(
                " (a partial unique index holds only the rows its WHERE picks: {})",
                partial.join("; ")
            ),
        };
        if keys.is_empty() {
            return Err(copies_twice(
                shown,
                t,
                &format!(
                    "has no primary or unique key{partial}, so its rows cannot be told apart from the ones already \
                     there"
                ),
                ", or give the table a key",
            ));
        }
        // Why each key does not tell rows apart; none said: one does.
        let mut why: Vec<String> = Vec::new();
        let mut fresh_keys = false;
        let mut filled_keys = false;
        for k in &keys {
            let filled: Vec<String> = k
                .columns
                .iter()
                .filter(|c| !written_by_job(tp, t, c))
                .map(|c| filled_by_destination(t, c))
                .collect();
            if !filled.is_empty() {
                filled_keys = true;
                why.push(format!(
                    "{} gets new values on every run (the job does not write {}: the destination fills it in)",
                    k.label,
                    filled.join(", ")
                ));
                continue;
            }
            let drawn: Vec<&str> = k
                .columns
                .iter()
                .filter(|c| {
                    tp.transforms
                        .iter()
                        .any(|x| &x.column == *c && !tether_transform::is_deterministic_spec(&x.spec))
                })
                .map(String::as_str)
                .collect();
            if !drawn.is_empty() {
                fresh_keys = true;
                why.push(format!(
                    "{} gets new values on every run ({} by a generate_ transformer or a js function declared \
                     deterministic = false, set or inherited)",
                    k.label,
                    drawn.join(", ")
                ));
                continue;
            }
            let null: Vec<String> = k.null.iter().map(|(_, sql)| sql.clone()).collect();
            if null.is_empty() || !has_rows_where(conn, t, &null).await? {
                why.clear();
                let transformed: Vec<String> = k
                    .columns
                    .iter()
                    .filter(|c| tp.transforms.iter().any(|x| &x.column == *c))
                    .cloned()
                    .collect();
                if !transformed.is_empty() {
                    rekeyed.push(Rekeyed {
                        name: tp.name.clone(),
                        table: t.clone(),
                        key: k.label.clone(),
                        transformed,
                        before: count_rows(conn, t).await?,
                    });
                }
                break;
            }
            let nullable: Vec<&str> = k.null.iter().map(|(c, _)| c.as_str()).collect();
            why.push(format!(
                "{} holds NULL in rows already there ({} nullable), and a row with NULL there matches none",
                k.label,
                nullable.join(", ")
            ));
        }
        if !why.is_empty() {
            let source_key = match tp.table.primary_key.is_empty() && tp.table.unique_keys.is_empty() {
                true => String::new(),
                false => format!(" (the source's key: {})", row_key(&tp.table).join(", ")),
            };
            let fix = match (filled_keys, fresh_keys) {
                (true, _) => format!(
                    ", or give the table a primary key or a NOT NULL unique key over columns the job writes{source_key}"
                ),
                (false, true) => ", give the table a key no generate_ transformer draws, or transform the key with \
                                  a kind that is not generate_"
                    .to_string(),
                (false, false) => ", or give the table a primary key or a NOT NULL unique key".to_string(),
            };
            return Err(copies_twice(
                shown,
                t,
                &format!(
                    "has no key that tells its rows apart from the ones already there: {}{partial}",
                    why.join("; ")
                ),
                &fix,
            ));
        }
    }
    Ok((empty, rekeyed))
}

/// The rows of the destination table `t`.
async fn count_rows(conn: &mut Connection, t: &Table) -> Result<u64, SyncError> {
    let d = conn.dialect();
    let rows = conn
        .query(
            &format!("SELECT count(*) FROM {}", d.own_rows(t)),
            &[tether_schema::DataType::Int {
                bytes: 8,
                unsigned: false,
            }],
        )
        .await?;
    Ok(match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n as u64,
        _ => 0,
    })
}

/// After the load (`on_conflict = "skip"` or `"update"`, without `truncate`): a table
/// that held rows when the run began, matched on a key the job transforms, which now
/// holds every row the run wrote beside the ones it held, none of them matching one
/// there. Such keys are the same on every run only with the same seed and transformers:
/// an earlier run with another seed (or other transformers) gave other keys, and the
/// table now holds a second anonymized copy. Said as a warning naming the table, the
/// key and the counts (never the seed), as a source whose rows are all new since the
/// earlier run does the same.
pub async fn rekeyed_warnings(dest: &mut Destination, tables: &[super::TableReport]) -> Result<Vec<String>, SyncError> {
    let mut warnings = Vec::new();
    let rekeyed = std::mem::take(&mut dest.rekeyed);
    for r in &rekeyed {
        let Some(written) = tables.iter().find(|t| t.table == r.name).map(|t| t.rows_read) else {
            continue;
        };
        if written == 0 {
            continue;
        }
        let after = count_rows(&mut dest.conn, &r.table).await?;
        if after != r.before + written {
            continue;
        }
        warnings.push(format!(
            "{}: table {}: none of the {} this run wrote matched one of the {} it held before, on its key {} \
             whose {} the job transforms: if an earlier run wrote them with another seed or other transformers, \
             the table now holds both runs' rows ({} in all); transformed keys repeat only with the same seed and \
             transformers, so a run with another seed needs truncate = true",
            dest.shown,
            r.name,
            crate::plan::plural(written as usize, "row"),
            crate::plan::plural(r.before as usize, "row"),
            r.key,
            r.transformed.join(", "),
            after
        ));
    }
    Ok(warnings)
}

/// A key of a destination table that may tell a re-run's rows apart from the ones there
/// ([`refuse_copies_twice`]).
struct CandidateKey {
    /// As messages name it: `(a, b)`, `unique index t_lower (lower(code))`.
    label: String,
    /// The columns whose values make the key.
    columns: Vec<String>,
    /// (column, the condition true where the key holds NULL) for each part that may.
    null: Vec<(String, String)>,
}

/// The unique indexes on expressions of the PostgreSQL table `t`, without WHERE (the
/// schema model leaves them out: no foreign key can reference one), each with the
/// columns its expressions read (`pg_depend`) and a NULL test per part.
async fn expression_keys(conn: &mut Connection, t: &Table) -> Result<Vec<CandidateKey>, SyncError> {
    let d = conn.dialect();
    let table = format!("{}::regclass", d.literal(&Value::Text(d.qualified(t))));
    let text = tether_schema::DataType::Text;
    // (Separated by U+001F: an expression may hold commas.)
    let sql = format!(
        "SELECT ic.relname::text, \
           array_to_string(ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) \
                                 FROM generate_series(1, i.indnkeyatts) k ORDER BY k), chr(31)), \
           array_to_string(ARRAY(SELECT DISTINCT a.attname::text FROM pg_depend dep \
                                 JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid \
                                 WHERE dep.classid = 'pg_class'::regclass AND dep.objid = i.indexrelid \
                                   AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = i.indrelid \
                                   AND dep.refobjsubid > 0 ORDER BY 1), chr(31)) \
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
         WHERE i.indrelid = {table} AND i.indisunique AND i.indexprs IS NOT NULL AND i.indpred IS NULL \
         ORDER BY 1"
    );
    let rows = conn.query(&sql, &[text.clone(), text.clone(), text]).await?;
    let split = |v: &Value| match v {
        Value::Text(s) if !s.is_empty() => s.split('\u{1f}').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    Ok(rows
        .iter()
        .map(|r| {
            let name = match &r[0] {
                Value::Text(s) => s.clone(),
                other => format!("{other:?}"),
            };
            let parts: Vec<String> = split(&r[1]);
            CandidateKey {
                label: format!("unique index {name} ({})", parts.join(", ")),
                columns: split(&r[2]),
                null: parts.iter().map(|e| (e.clone(), format!("({e}) IS NULL"))).collect(),
            }
        })
        .collect())
}

/// The job writes column `c` of the destination's table `t`: the source's table has it,
/// and the destination does not compute it (a generated column is never written).
fn written_by_job(tp: &crate::plan::TablePlan, t: &Table, c: &str) -> bool {
    tp.table.column(c).is_some() && t.column(c).is_some_and(|x| x.generated.is_none())
}

/// Column `c` of the destination's table `t`, which the job does not write, and how the
/// destination fills it in: `id (serial)`.
fn filled_by_destination(t: &Table, c: &str) -> String {
    use tether_schema::Identity;
    let Some(col) = t.column(c) else {
        return c.to_string();
    };
    let how = match (&col.generated, col.identity, &col.default) {
        (Some(_), _, _) => "a generated column".to_string(),
        (None, Some(Identity::AutoIncrement), _) => "AUTO_INCREMENT".to_string(),
        (None, Some(Identity::Serial), _) => "serial".to_string(),
        (None, Some(Identity::Always | Identity::ByDefault), _) => "an identity column".to_string(),
        (None, None, Some(d)) => format!("default {d}"),
        (None, None, None) => "no default: NULL".to_string(),
    };
    format!("{c} ({how})")
}

/// `on_conflict = "update"` into a PostgreSQL or SQLite table that was there finds the
/// row to overwrite by the source's key (`ON CONFLICT (code) DO UPDATE`), which the
/// destination's table must hold as its primary key or a unique key without WHERE on
/// exactly those columns (else PostgreSQL fails with 42P10, SQLite with "ON CONFLICT
/// clause does not match any PRIMARY KEY or UNIQUE constraint"). Refused before
/// anything is written, naming the table, the columns and the keys it has. (MariaDB's
/// ON DUPLICATE KEY UPDATE needs no target: a row clashing on another key is refused
/// row by row, and a re-run into a table with no key over the written columns by
/// [`refuse_copies_twice`].)
fn refuse_unmatched_update(
    engine: tether_connect::Engine,
    shown: &str,
    spec: &DestinationSpec,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
) -> Result<(), SyncError> {
    if spec.on_conflict != tether_connect::Conflict::Update || engine == tether_connect::Engine::Mysql {
        return Ok(());
    }
    for tp in &plan.tables {
        let name = destination_name(source, &tp.table.table_name(), engine);
        let Some(t) = existing.table(&name) else { continue };
        let key = row_key(&tp.table);
        // The update sets the columns written outside the key (PostgreSQL leaves a
        // GENERATED ALWAYS identity as it is); with none it is `ON CONFLICT DO NOTHING`,
        // which needs no target.
        let sets = tp.table.columns.iter().any(|c| {
            written_by_job(tp, t, &c.name)
                && !key.contains(&c.name)
                && !(engine == tether_connect::Engine::Postgres
                    && t.column(&c.name).and_then(|x| x.identity) == Some(tether_schema::Identity::Always))
        });
        if !sets {
            continue;
        }
        let exactly = |cols: &[String]| cols.len() == key.len() && key.iter().all(|k| cols.contains(k));
        let matched = (!t.primary_key.is_empty() && exactly(&t.primary_key))
            || t.unique_keys
                .iter()
                .any(|u| u.predicate.is_none() && exactly(&u.columns));
        if matched {
            continue;
        }
        let mut has: Vec<String> = Vec::new();
        if !t.primary_key.is_empty() {
            has.push(format!("primary key ({})", t.primary_key.join(", ")));
        }
        for u in &t.unique_keys {
            match &u.predicate {
                Some(p) => has.push(format!("{} ({}) WHERE {p}, partial", u.name, u.columns.join(", "))),
                None => has.push(format!("{} ({})", u.name, u.columns.join(", "))),
            }
        }
        let has = match has.is_empty() {
            true => "it has no key".to_string(),
            false => format!("its keys: {}", has.join("; ")),
        };
        return Err(SyncError::Plan(format!(
            "{shown}: on_conflict = \"update\" overwrites the row with the same key as the source's row of {src}, \
             ({key}), but table {dest} has no primary key or unique key (without WHERE) on exactly ({key}) ({has}), \
             so {engine} cannot find that row (ON CONFLICT ({key}) would fail). Nothing was written. Add a unique \
             key on ({key}) to {dest}, or set truncate = true with on_conflict = \"error\"",
            src = tp.name,
            key = key.join(", "),
            dest = t.name,
            engine = match engine {
                tether_connect::Engine::Postgres => "PostgreSQL",
                _ => "SQLite",
            },
        )));
    }
    Ok(())
}

/// Whether the destination's table `t` holds a row for which one of `conditions` is
/// true (any row, if none are given).
async fn has_rows_where(conn: &mut Connection, t: &Table, conditions: &[String]) -> Result<bool, SyncError> {
    let d = conn.dialect();
    let filter = match conditions.is_empty() {
        true => String::new(),
        false => format!(" WHERE {}", conditions.join(" OR ")),
    };
    Ok(!conn
        .query(&format!("SELECT 1 FROM {}{filter} LIMIT 1", d.qualified(t)), &[])
        .await?
        .is_empty())
}

/// The refusal of a re-run that would add a table's rows again.
fn copies_twice(shown: &str, t: &Table, why: &str, fix: &str) -> SyncError {
    SyncError::Plan(format!(
        "{shown}: table {} already holds rows and {why}: this run would add its rows again. Set truncate = true \
         for this destination{fix}",
        t.name
    ))
}

/// What the destination's tables as they are (`existing`) make the run refuse before
/// anything is written, asked by [`prepare_destination`] and by the plan alike (`tether
/// plan` refuses what `tether sync` would): with `truncate`, rows outside the job
/// referencing a job table ([`refuse_orphaned_outsiders`]); without, a re-run adding
/// rows again ([`refuse_copies_twice`]); an update with no key to find rows by
/// ([`refuse_unmatched_update`]); key changes outside rows would not follow
/// ([`refuse_unfollowed_keys`]); a column the job writes missing there, or one it does
/// not write that could take no row ([`refuse_unfilled_columns`]). Reads the
/// destination, writes nothing. Returns what [`refuse_copies_twice`] returns.
pub(crate) async fn refuse_before_writing(
    conn: &mut Connection,
    shown: &str,
    spec: &DestinationSpec,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
) -> Result<(Vec<String>, Vec<Rekeyed>), SyncError> {
    let mut began_empty = Vec::new();
    let mut rekeyed = Vec::new();
    refuse_unfilled_columns(conn.engine(), shown, plan, source, existing)?;
    if spec.truncate {
        refuse_orphaned_outsiders(conn, shown, plan, source, existing).await?;
    } else if plan.mode != crate::config::Mode::Schema {
        (began_empty, rekeyed) = refuse_copies_twice(conn, shown, plan, source, existing).await?;
        refuse_merged_keys(conn.engine(), shown, spec, plan, source, existing, &began_empty)?;
        refuse_null_row_keys(conn, shown, spec, plan, source, existing, &began_empty).await?;
        refuse_drawn_referenced_keys(conn.engine(), shown, spec, plan, source, existing, &began_empty)?;
    }
    if plan.mode != crate::config::Mode::Schema {
        refuse_unmatched_update(conn.engine(), shown, spec, plan, source, existing)?;
    }
    refuse_unfollowed_keys(conn, shown, spec, plan, source, existing).await?;
    Ok((began_empty, rekeyed))
}

/// `on_conflict = "skip"` keeps a row already there as it is, with the value an earlier
/// run drew for a column a generate_ transformer (or a js function declared
/// deterministic = false) writes, while this run draws a new one and the key map hands
/// it to the row's children: where an FK of a table the job copies references that
/// column (a unique key that is not the row key: a drawn row key is refused by
/// [`refuse_copies_twice`]), every new child of a row already there fails its FK at
/// the end. Refused before anything is written, naming the table, the column, its
/// transformer and the FK (review r27d F1, twenty-seventh session writer S). `update`
/// overwrites the parent's value: no refusal.
fn refuse_drawn_referenced_keys(
    engine: tether_connect::Engine,
    shown: &str,
    spec: &DestinationSpec,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
    began_empty: &[String],
) -> Result<(), SyncError> {
    if spec.on_conflict != tether_connect::Conflict::Skip {
        return Ok(());
    }
    for tp in plan.tables.iter().filter(|tp| !began_empty.contains(&tp.name)) {
        let name = destination_name(source, &tp.table.table_name(), engine);
        if existing.table(&name).is_none() {
            continue;
        }
        for x in tp
            .transforms
            .iter()
            .filter(|x| !tether_transform::is_deterministic_spec(&x.spec))
        {
            let referencing = plan.tables.iter().find_map(|child| {
                child.table.foreign_keys.iter().find_map(|fk| {
                    let to_this = fk.referenced_table == tp.table.name
                        && (fk.referenced_schema.is_none() || fk.referenced_schema == tp.table.schema);
                    (to_this && fk.referenced_columns.contains(&x.column))
                        .then(|| (child.name.clone(), fk.name.clone()))
                })
            });
            let Some((child, fk)) = referencing else { continue };
            return Err(SyncError::Plan(format!(
                "{shown}: table {} already holds rows and on_conflict = \"skip\" keeps them as they are, with the \
                 {col} an earlier run drew, while this run draws {col} afresh ({} by a generate_ transformer or a js \
                 function declared deterministic = false) and writes that new value into the rows of {child} \
                 referencing it (foreign key {fk}): every new child of a row already there would fail its foreign \
                 key. Nothing was written. Use on_conflict = \"update\" (which overwrites {col}), a transformer \
                 that is not generate_ for {col}, or truncate = true",
                tp.name,
                x.column,
                col = x.column,
            )));
        }
    }
    Ok(())
}

/// With `on_conflict = "skip"` or `"update"`, a run matches its rows to the ones there
/// by the source's row key ([`Table::row_key`]: `ON CONFLICT (key)`), which may be a
/// nullable unique key (no NOT NULL one declared) while another key, or a PostgreSQL
/// unique index on expressions, is what [`refuse_copies_twice`] found telling rows
/// apart. A row whose row key holds NULL matches none, goes in again and clashes with
/// its own row on that other key, so every re-run failed at the first such row (review
/// r27d F4, F5). So a table already holding rows with NULL in the row key is refused
/// before anything is written, naming the table, the row key and the way out: the key
/// the check found and the key rows are matched by are then one (twenty-seventh session
/// writer S). A source table without a key of its own is matched by every column,
/// NULLs equal (`tether-connect` `skip::keyless_clash`).
#[allow(clippy::too_many_arguments)]
async fn refuse_null_row_keys(
    conn: &mut Connection,
    shown: &str,
    spec: &DestinationSpec,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
    began_empty: &[String],
) -> Result<(), SyncError> {
    if spec.on_conflict == tether_connect::Conflict::Error {
        return Ok(());
    }
    for tp in plan.tables.iter().filter(|tp| !began_empty.contains(&tp.name)) {
        if tp.table.primary_key.is_empty() && tp.table.unique_keys.is_empty() {
            continue;
        }
        let name = destination_name(source, &tp.table.table_name(), conn.engine());
        let Some(t) = existing.table(&name) else { continue };
        let key = row_key(&tp.table);
        let d = conn.dialect();
        let nullable: Vec<&String> = key
            .iter()
            .filter(|c| tp.table.column(c).is_none_or(|x| x.nullable) && t.column(c).is_none_or(|x| x.nullable))
            .collect();
        let null: Vec<String> = nullable.iter().map(|c| format!("{} IS NULL", d.ident(c))).collect();
        if null.is_empty() || !has_rows_where(conn, t, &null).await? {
            continue;
        }
        return Err(SyncError::Plan(format!(
            "{shown}: table {} already holds rows with NULL in ({}), the key on_conflict = \"{}\" matches the \
             source's rows of {} to them by (the source's primary key, else its first unique key whose columns \
             are all NOT NULL, else its first unique key): a row with NULL there matches none, so it would go in \
             again and clash with its own row on another key. Nothing was written. Declare the columns of a key \
             that tells the rows apart NOT NULL in the source (or give {} a primary key), so rows are matched by \
             it, or set truncate = true",
            t.name,
            key.join(", "),
            match spec.on_conflict {
                tether_connect::Conflict::Update => "update",
                _ => "skip",
            },
            tp.name,
            tp.name,
        )));
    }
    Ok(())
}

/// With `on_conflict = "skip"` or `"update"`, a run matches its rows to a destination
/// table's by the transformed values of the source's key. Where a transformer that may
/// give two values one new value ([`crate::anonymize::may_merge`]: text `hash`,
/// `email`, a `js` function, ...) writes a column of that key, the destination row with
/// a new key value may have come from another source key than the row of this run with
/// that value: an earlier run copied `ACC-100`, the source since deleted it and added
/// `ACC-112`, and both hash to `c`. Within one run such a collision is an error (the
/// unique-key guard of `anonymize`); across runs nothing in the destination says which
/// source key a row came from, so `skip` would keep the other key's row in place of
/// this one (and point this row's FK children at it) and `update` would overwrite it
/// (moving the other row's children to this one). So a table that already holds rows
/// (`began_empty` names those that hold none) is refused before anything is written,
/// naming the table, the key, the column and its transformer. `on_conflict = "error"`
/// needs no refusal: a row whose key is there is an error.
fn refuse_merged_keys(
    engine: tether_connect::Engine,
    shown: &str,
    spec: &DestinationSpec,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
    began_empty: &[String],
) -> Result<(), SyncError> {
    let mode = match spec.on_conflict {
        tether_connect::Conflict::Skip => "skip",
        tether_connect::Conflict::Update => "update",
        _ => return Ok(()),
    };
    for tp in plan.tables.iter().filter(|tp| !began_empty.contains(&tp.name)) {
        let name = destination_name(source, &tp.table.table_name(), engine);
        let Some(there) = existing.table(&name) else { continue };
        // A source table without a key is matched by all its columns: rows equal in
        // every one cannot be told apart anyway, and no FK references such a table.
        if tp.table.primary_key.is_empty() && tp.table.unique_keys.iter().all(|u| u.predicate.is_some()) {
            continue;
        }
        let key = row_key(&tp.table);
        let merged = tp.transforms.iter().find(|ct| {
            key.contains(&ct.column)
                && tp
                    .table
                    .column(&ct.column)
                    .is_some_and(|c| crate::anonymize::may_merge(ct, c))
        });
        let Some(ct) = merged else { continue };
        let what = match mode {
            "skip" => "keep the other key's row in place of this run's row and attach this row's FK children to it",
            _ => "overwrite the other key's row with this run's row and attach the other row's FK children to it",
        };
        return Err(SyncError::Plan(format!(
            "{shown}: table {} already holds rows and on_conflict = \"{mode}\" matches this run's rows to them \
             by its key ({}), whose column {} the job transforms with `{}`, which may give two source values one \
             new value: a row an earlier run made from a source key since deleted cannot be told from this run's \
             row of another key with the same new value, so the run would {what}. Set truncate = true for this \
             destination, or transform the key with a kind that never gives two values one (`hash` on an integer \
             key)",
            there.name,
            key.join(", "),
            ct.column,
            ct.transformer,
        )));
    }
    Ok(())
}

/// The message of a job table there without a column the source's table has.
fn missing_column(shown: &str, table: &TableName, column: &str, source_table: &str) -> SyncError {
    SyncError::Plan(format!(
        "{shown}: table {table} has no column `{column}` (the source's {source_table} has it)"
    ))
}

/// Every job table already in the destination (`existing`) has each column the job
/// writes ([`missing_column`]), and, where rows are written, no column the job does not
/// write that takes no row without a value: NOT NULL, without a default (`DEFAULT
/// NULL` is none), neither generated nor filled by the destination (serial, identity,
/// AUTO_INCREMENT, SQLite's INTEGER PRIMARY KEY rowid alias, a MariaDB ENUM's first
/// value). Every row would be refused there (PostgreSQL
/// 23502, SQLite "NOT NULL constraint failed", MariaDB 1364: its session is strict,
/// so no implicit default is taken), after other tables' rows were written: refused
/// before anything is written, naming the table, the column and what to do.
fn refuse_unfilled_columns(
    engine: tether_connect::Engine,
    shown: &str,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
) -> Result<(), SyncError> {
    for tp in &plan.tables {
        let name = destination_name(source, &tp.table.table_name(), engine);
        let Some(t) = existing.table(&name) else { continue };
        if let Some(c) = tp.table.columns.iter().find(|c| t.column(&c.name).is_none()) {
            return Err(missing_column(shown, &name, &c.name, &tp.name));
        }
        if plan.mode == crate::config::Mode::Schema {
            continue;
        }
        let unfilled: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| {
                // `DEFAULT NULL` on a NOT NULL column is no value (SQLite keeps it).
                let no_default = c
                    .default
                    .as_deref()
                    .is_none_or(|d| d.trim().eq_ignore_ascii_case("null"));
                // A MariaDB ENUM NOT NULL takes its first value, strict mode or not.
                let enum_first = engine == tether_connect::Engine::Mysql
                    && c.engine_type.trim_start().to_ascii_lowercase().starts_with("enum");
                tp.table.column(&c.name).is_none()
                    && !c.nullable
                    && no_default
                    && !enum_first
                    && c.identity.is_none()
                    && c.generated.is_none()
            })
            .map(|c| c.name.as_str())
            .collect();
        if unfilled.is_empty() {
            continue;
        }
        let cols = unfilled.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        return Err(SyncError::Plan(format!(
            "{shown}: table {name} has {what} {cols} NOT NULL without a default, which the job does not write (the \
             source's {src} has no such column): every row written there would be refused. Nothing was written. \
             Give {it} a default there, allow NULL in {it}, or drop {it}",
            what = if unfilled.len() == 1 { "column" } else { "columns" },
            src = tp.name,
            it = if unfilled.len() == 1 { "it" } else { "them" },
        )));
    }
    Ok(())
}

/// Opens a server destination (PostgreSQL, MariaDB/MySQL) and reads its schema: what
/// [`prepare_destination`] starts with, done while the subset is chosen. Nothing is
/// written. None for SQLite, whose open would create the file, and on an error, which
/// [`prepare_destination`] meets again and reports.
pub async fn open_early(spec: &DestinationSpec) -> Option<Opened> {
    match spec.db_url() {
        Ok(url) if url.engine() != tether_connect::Engine::Sqlite => open_and_read(&url).await.ok(),
        _ => None,
    }
}

/// Opens a destination (or takes the connection [`open_early`] opened), creates the
/// tables the plan creates there and maps every table.
///
/// A SQLite file that is not there is created by opening it: a destination refused
/// before anything is written there leaves no file. The plan's refusal (tables missing
/// that the job may not create) is made before the file is opened, and a file this
/// call created is removed again when it fails with nothing in it.
pub async fn prepare_destination(
    spec: &DestinationSpec,
    plan: &Plan,
    planned: Option<&crate::schema_plan::SchemaReport>,
    source: &Schema,
    opened: Option<Opened>,
    progress: &dyn Progress,
) -> Result<Destination, SyncError> {
    let url = spec.db_url()?;
    let new_file = match &url {
        DbUrl::Sqlite { path }
            if path.as_os_str() != tether_connect::sqlite::IN_MEMORY && std::fs::symlink_metadata(path).is_err() =>
        {
            Some(path.clone())
        }
        _ => None,
    };
    if new_file.is_some() {
        if let Some(refused) = planned.and_then(|r| r.refusal(&url.to_string(), plan.mode, spec.create_tables)) {
            return Err(refused);
        }
    }
    let prepared = prepare_opened(url, spec, plan, planned, source, opened, progress).await;
    if let (Err(_), Some(path)) = (&prepared, &new_file) {
        remove_if_empty(path).await;
    }
    prepared
}

/// Removes the SQLite database at `path` (and the files SQLite keeps beside it) when it
/// holds nothing: a file a failed run created.
async fn remove_if_empty(path: &std::path::Path) {
    let url = DbUrl::Sqlite {
        path: path.to_path_buf(),
    };
    let Ok(mut conn) = Connection::open(&url).await else {
        return;
    };
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let empty = matches!(
        conn.query("SELECT count(*) FROM sqlite_master", &[int]).await.as_deref(),
        Ok([row]) if matches!(row.first(), Some(Value::Int(0)))
    );
    conn.close().await;
    if empty {
        for suffix in ["-wal", "-shm", "-journal", ""] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(std::path::PathBuf::from(name));
        }
    }
}

/// [`prepare_destination`] once a new SQLite file may be created.
#[allow(clippy::too_many_arguments)]
async fn prepare_opened(
    url: DbUrl,
    spec: &DestinationSpec,
    plan: &Plan,
    planned: Option<&crate::schema_plan::SchemaReport>,
    source: &Schema,
    opened: Option<Opened>,
    progress: &dyn Progress,
) -> Result<Destination, SyncError> {
    let shown = url.to_string();
    // A connection opened early that the server has closed since (an idle timeout, a
    // pooler, a killed session) is opened again; its error, if any, is the new one's.
    let early = match opened {
        Some((mut conn, existing)) => match conn.execute("SELECT 1").await {
            Ok(()) => Some((conn, existing)),
            Err(_) => {
                conn.close().await;
                None
            }
        },
        None => None,
    };
    let mut fresh = early.is_none();
    let (mut conn, mut existing) = match early {
        Some(early) => early,
        None => open_and_read(&url).await?,
    };
    // Triggers a run that died left dropped or turned off are put back before anything
    // else: the rest reads the destination as the user has it (read again then).
    let put_back = super::suspended::put_back(&mut conn, &url, &shown).await?;
    let mut warnings = Vec::new();
    if !put_back.is_empty() {
        let told = format!(
            "{shown}: triggers {} put back as they were (a run that stopped before it could put them back left \
             them dropped or turned off)",
            put_back.join(", ")
        );
        progress.phase(&told);
        warnings.push(told);
        existing = conn.introspect(&Default::default()).await?;
        fresh = false;
    }
    super::outsiders::refuse_unwritable(&mut conn, &shown, spec, plan, source).await?;
    let (mut began_empty, rekeyed) = refuse_before_writing(&mut conn, &shown, spec, plan, source, &existing).await?;
    let fold = super::outsiders::names_fold(&mut conn).await?;
    let outsider_fks: Vec<(Table, ForeignKey)> = outsider_fks(conn.engine(), fold, plan, source, &existing)
        .into_iter()
        .map(|(t, fk, _)| (t.clone(), fk.clone()))
        .collect();
    let mut made = Made::default();
    let created = create_tables(
        &mut conn, &shown, spec, plan, planned, source, &existing, &mut made, progress,
    )
    .await;
    let Created {
        after_load,
        sequence_states,
        created,
        staged,
        load,
    } = match created {
        Ok(c) => c,
        Err(e) => {
            // Tables created before the failure are dropped again.
            return Err(match made.undo(&mut conn).await {
                Ok(names) if names.is_empty() => e,
                Ok(names) => super::with_note(
                    e,
                    &format!(
                        "undone: the tables created before it were dropped again ({})",
                        names.join(", ")
                    ),
                ),
                Err(why) => super::with_note(e, &why),
            });
        }
    };
    let mut staged = staged;
    let options = tether_connect::IntrospectOptions {
        schemas: staged.as_ref().map(|s| s.schemas()).unwrap_or_default(),
    };
    if let Some(s) = staged.as_mut() {
        s.lanes = plan.parallelism;
    }
    // Nothing created (every job table was there) and the schema read a moment ago, not
    // while the subset was chosen: the destination is as introspected, so it is not
    // read a second time. A schema read early is read again: a table or column changed
    // meanwhile is found here, before anything is written.
    let unchanged = fresh && made.tables.is_empty() && made.drop_views.is_empty() && staged.is_none();
    let known = unchanged.then_some(existing);
    let mapped = map_tables(&mut conn, &shown, plan, source, staged.as_deref(), &options, known).await;
    let tables = match mapped {
        Ok(tables) => tables,
        Err(e) => {
            if let Some(s) = staged {
                s.drop_schemas(&mut conn).await;
            }
            let _ = made.undo(&mut conn).await;
            return Err(e);
        }
    };
    let backend = backend_of(&mut conn).await;
    let created_tables: Vec<String> = made.tables.iter().map(|(n, _)| n.clone()).collect();
    began_empty.extend(created_tables.iter().cloned());
    Ok(Destination {
        backend,
        emptied: false,
        reconnected: false,
        shown,
        url,
        conn,
        spec: spec.clone(),
        tables: Arc::new(tables),
        checks_off: false,
        atomic: None,
        written: Arc::new(Mutex::new(Vec::new())),
        after_load,
        disabled_triggers: Vec::new(),
        fks_validated: false,
        created,
        deferred_keys: Vec::new(),
        sequence_states,
        staged_load: staged.is_some(),
        stage: staged,
        load,
        made,
        began_empty,
        created_tables,
        suspended_triggers: Vec::new(),
        suspension_lock: None,
        outsider_fks,
        warnings,
        rekeyed,
    })
}

/// Every job table's destination table, as the destination has it after creation
/// (`known`: its schema when nothing was created, else it is read again).
async fn map_tables(
    conn: &mut Connection,
    shown: &str,
    plan: &Plan,
    source: &Schema,
    staged: Option<&Staged>,
    options: &tether_connect::IntrospectOptions,
    known: Option<Schema>,
) -> Result<HashMap<TableName, Table>, SyncError> {
    let engine = conn.engine();
    let schema = match known {
        Some(schema) => schema,
        None => conn.introspect(options).await?,
    };
    let mut tables = HashMap::new();
    for tp in &plan.tables {
        let want = destination_name(source, &tp.table.table_name(), engine);
        let want = match staged {
            Some(s) => s.staged_name(&want),
            None => want,
        };
        let t = schema
            .table(&want)
            .cloned()
            .ok_or_else(|| SyncError::Plan(format!("{shown}: table {want} is missing after creation")))?;
        if let Some(c) = tp.table.columns.iter().find(|c| t.column(&c.name).is_none()) {
            return Err(missing_column(shown, &want, &c.name, &tp.name));
        }
        tables.insert(tp.table.table_name(), t);
    }
    Ok(tables)
}

/// Creates what a restore creates after the data (indexes, CHECK constraints,
/// triggers; materialized views refreshed), on the connection that loaded the rows: in
/// a one-transaction load, inside that transaction.
pub async fn finish_schema(dest: &mut Destination, progress: &dyn Progress) -> Result<(), SyncError> {
    if dest.after_load.is_empty() {
        return Ok(());
    }
    progress.phase(&format!(
        "{}: creating indexes, constraints and triggers ({} statements)",
        dest.shown,
        dest.after_load.len()
    ));
    for sql in std::mem::take(&mut dest.after_load) {
        dest.conn.execute(&sql).await?;
    }
    Ok(())
}

/// Moves sequences (serial and identity columns, shared `DEFAULT nextval`) past the
/// keys copied, as a `pg_dump` restore does, so the application's next insert does not
/// collide. After COMMIT: a sequence that could not be set is returned as a warning
/// (the copy is complete), not an error.
pub async fn advance_sequences(dest: &mut Destination) -> Result<Vec<String>, SyncError> {
    let mut tables: Vec<Table> = dest.tables.values().cloned().collect();
    tables.sort_by_key(|t| t.table_name());
    let mut warnings = dest.conn.advance_sequences(&tables).await?;
    // Sequences of tables created here continue where the source's do (as a restore),
    // when that is at or past the keys copied.
    for sql in std::mem::take(&mut dest.sequence_states) {
        if let Err(e) = dest.conn.execute(&sql).await {
            warnings.push(format!("a sequence was not set to the source's position: {e}"));
        }
    }
    Ok(warnings.into_iter().map(|w| format!("{}: {w}", dest.shown)).collect())
}

/// Deletes the rows of the job's tables, children first, with checks off.
///
/// PostgreSQL TRUNCATEs them, but refuses to TRUNCATE a table another table references
/// unless that one is emptied in the same statement: a job table referenced from a
/// table outside the job (whose rows reference none: [`refuse_orphaned_outsiders`]),
/// and the job tables those reference in turn, are emptied with DELETE instead, after
/// the others; the outsider is not the job's to empty.
pub async fn truncate(dest: &mut Destination, plan: &Plan) -> Result<(), SyncError> {
    let tables: Vec<&Table> = plan
        .tables
        .iter()
        .rev()
        .map(|tp| &dest.tables[&tp.table.table_name()])
        .collect();
    if dest.conn.engine() == tether_connect::Engine::Postgres {
        let regclasses: Vec<String> = dest.job_regclasses(plan).into_iter().rev().collect();
        let deleted = referenced_from_outside(&mut dest.conn, &regclasses).await?;
        if deleted.iter().any(|&x| x) {
            let d = dest.conn.dialect();
            let truncated: Vec<&Table> = tables
                .iter()
                .zip(&deleted)
                .filter(|(_, x)| !**x)
                .map(|(t, _)| *t)
                .collect();
            if !truncated.is_empty() {
                dest.conn.empty_tables(&truncated).await?;
            }
            for (t, _) in tables.iter().zip(&deleted).filter(|(_, x)| **x) {
                dest.conn.execute(&format!("DELETE FROM {}", d.own_rows(t))).await?;
            }
            return Ok(());
        }
    }
    dest.conn.empty_tables(&tables).await?;
    Ok(())
}

/// For each of `tables` (PostgreSQL `regclass` literals): whether TRUNCATE cannot empty
/// it without emptying a table that is not one of them, as it is referenced by a
/// foreign key of such a table, or of one of `tables` that cannot be truncated.
async fn referenced_from_outside(conn: &mut Connection, tables: &[String]) -> Result<Vec<bool>, SyncError> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let text = tether_schema::DataType::Text;
    let names: Vec<String> = match conn
        .query(
            &format!(
                "SELECT {}",
                tables
                    .iter()
                    .map(|t| format!("{t}::text"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &vec![text.clone(); tables.len()],
        )
        .await?
        .into_iter()
        .next()
    {
        Some(row) => row
            .into_iter()
            .map(|v| match v {
                Value::Text(s) => s,
                other => format!("{other:?}"),
            })
            .collect(),
        None => return Ok(vec![false; tables.len()]),
    };
    // (parent, child) of every foreign key referencing one of the tables.
    let edges: Vec<(String, String)> = conn
        .query(
            &format!(
                "SELECT c.confrelid::regclass::text, c.conrelid::regclass::text FROM pg_constraint c \
                 WHERE c.contype = 'f' AND c.conparentid = 0 AND c.confrelid IN ({})",
                tables.join(", ")
            ),
            &[text.clone(), text],
        )
        .await?
        .into_iter()
        .filter_map(|r| match (&r[0], &r[1]) {
            (Value::Text(p), Value::Text(c)) => Some((p.clone(), c.clone())),
            _ => None,
        })
        .collect();
    let mut deleted: HashSet<&str> = edges
        .iter()
        .filter(|(_, c)| !names.contains(c))
        .map(|(p, _)| p.as_str())
        .collect();
    loop {
        let more: Vec<&str> = edges
            .iter()
            .filter(|(p, c)| deleted.contains(c.as_str()) && !deleted.contains(p.as_str()))
            .map(|(p, _)| p.as_str())
            .collect();
        if more.is_empty() {
            break;
        }
        deleted.extend(more);
    }
    Ok(names.iter().map(|n| deleted.contains(n.as_str())).collect())
}

/// Defers (or suspends) the destination's checks for the tables of an unbreakable cycle.
pub(super) async fn begin_deferred(
    dest: &mut Destination,
    plan: &Plan,
    cycle: usize,
) -> Result<DeferredChecks, SyncError> {
    let members: HashSet<TableName> = plan
        .tables
        .iter()
        .filter(|tp| tp.cycle == Some(cycle))
        .map(|tp| tp.table.table_name())
        .collect();
    let dest_members: Vec<Table> = members.iter().map(|m| dest.tables[m].clone()).collect();
    Ok(dest.conn.defer_checks(&dest_members).await?)
}
