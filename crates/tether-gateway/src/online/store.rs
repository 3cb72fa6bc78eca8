//! Migration records in the backend: the table `_tether_migrations` in the keyspace's
//! own database (created on first use), one row per migration with its state, plan,
//! copy progress and timings, so a restarted gateway resumes or cleans up.

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
     plan, progress";

/// The records of one keyspace (its own connection).
pub struct Store {
    db: Db,
    database: String,
    keyspace: String,
    created: bool,
}

impl Store {
    pub(crate) fn new(url: &DbUrl, database: &str, keyspace: &str) -> Store {
        Store {
            db: Db::new(url),
            database: database.to_string(),
            keyspace: keyspace.to_string(),
            created: false,
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
                KEY state (keyspace, state)
            ) ENGINE=InnoDB"
        );
        self.db
            .exec(&sql, || format!("creating {TABLE} in database `{}`", self.database))
            .await?;
        // Records written before `clash` existed (capture triggers record clashes there).
        let sql = format!("ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS clash TEXT NULL");
        self.db
            .exec(&sql, || {
                format!("adding `clash` to {TABLE} in database `{}`", self.database)
            })
            .await?;
        self.created = true;
        Ok(())
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
        Ok(())
    }

    /// Forgets plan and progress (RETRY starts over).
    pub async fn reset(&mut self, id: &str) -> Result<(), OnlineError> {
        let sql = format!(
            "UPDATE {TABLE} SET plan = NULL, progress = NULL, rows_copied = 0, cutover_ms = NULL, clash = NULL WHERE id = {}",
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

    /// Triggers of the database's own on `tables` (the migrator's capture triggers,
    /// named `_tether_...`, left out), as (trigger, table).
    pub async fn user_triggers(&mut self, tables: &[String]) -> Result<Vec<(String, String)>, OnlineError> {
        if tables.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = tables.iter().map(|t| lit(t)).collect();
        let sql = format!(
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = {} AND EVENT_OBJECT_TABLE IN ({}) AND TRIGGER_NAME NOT LIKE '\\_tether\\_%' \
             ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME",
            lit(&self.database),
            list.join(", ")
        );
        let rows = self
            .db
            .texts(&sql)
            .await?
            .into_iter()
            .filter_map(|r| {
                let mut r = r.into_iter();
                Some((r.next().flatten()?, r.next().flatten()?))
            })
            .collect();
        Ok(rows)
    }

    pub async fn close(self) {
        self.db.close().await;
    }
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
        id,
    })
}
