//! A destination's lifecycle: opened, its missing tables created from the plan's models
//! (see [`super::create`]), every job table mapped to the destination's own, checks
//! applied, emptied if asked, further connections for more lanes, the schema finished
//! and sequences advanced after the load.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tether_connect::{Connection, DbUrl, DeferredChecks};
use tether_schema::{Schema, Table, TableName};

use super::create::{create_tables, Created};
use super::stage::Staged;
use super::Progress;
use crate::config::{Checks, DestinationSpec};
use crate::error::SyncError;
use crate::plan::Plan;

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
    /// Tables complete so far on this destination and their rows, for messages.
    pub(crate) written: Arc<Mutex<Vec<(String, u64)>>>,
    /// `setval` to the source's sequence state, for the tables created here (PostgreSQL).
    pub sequence_states: Vec<String>,
    /// Triggers turned off for a one-transaction load into existing tables: (table as
    /// `regclass` text, trigger), turned on again before COMMIT.
    pub disabled_triggers: Vec<(String, String)>,
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
        Ok(Destination {
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
        })
    }
}

pub use crate::schema_plan::destination_name;

/// Opens a destination, creates the tables the plan creates there and maps every table.
pub async fn prepare_destination(
    spec: &DestinationSpec,
    plan: &Plan,
    planned: Option<&crate::schema_plan::SchemaReport>,
    source: &Schema,
    progress: &dyn Progress,
) -> Result<Destination, SyncError> {
    let url = spec.db_url()?;
    let shown = url.to_string();
    let mut conn = Connection::open_destination(&url).await?;
    let existing = conn.introspect(&Default::default()).await?;
    // Every table created here and loaded with checks enforced, in one transaction:
    // through staging schemas, on several connections.
    let staging = conn.loads_atomically()
        && spec.checks == Checks::Enforce
        && spec.on_conflict == tether_connect::Conflict::Error
        && plan.mode == crate::config::Mode::All
        && plan.destinations.len() == 1;
    let Created {
        after_load,
        sequence_states,
        created,
        staged,
    } = create_tables(
        &mut conn, &shown, spec, plan, planned, source, &existing, staging, progress,
    )
    .await?;
    let mut staged = staged;
    let options = tether_connect::IntrospectOptions {
        schemas: staged.as_ref().map(|s| s.schemas()).unwrap_or_default(),
    };
    if let Some(s) = staged.as_mut() {
        s.lanes = plan.parallelism;
    }
    let mapped = map_tables(&mut conn, &shown, plan, source, staged.as_deref(), &options).await;
    let tables = match mapped {
        Ok(tables) => tables,
        Err(e) => {
            if let Some(s) = staged {
                s.drop_schemas(&mut conn).await;
            }
            return Err(e);
        }
    };
    Ok(Destination {
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
    })
}

/// Every job table's destination table, as the destination has it after creation.
async fn map_tables(
    conn: &mut Connection,
    shown: &str,
    plan: &Plan,
    source: &Schema,
    staged: Option<&Staged>,
    options: &tether_connect::IntrospectOptions,
) -> Result<HashMap<TableName, Table>, SyncError> {
    let engine = conn.engine();
    let schema = conn.introspect(options).await?;
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
        for c in &tp.table.columns {
            if t.column(&c.name).is_none() {
                return Err(SyncError::Plan(format!(
                    "{shown}: table {want} has no column `{}` (the source's {} has it)",
                    c.name, tp.name
                )));
            }
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

/// Moves sequences (serial and identity columns) past the keys copied, as a `pg_dump`
/// restore does, so the application's next insert does not collide.
pub async fn advance_sequences(dest: &mut Destination) -> Result<(), SyncError> {
    let mut tables: Vec<Table> = dest.tables.values().cloned().collect();
    tables.sort_by_key(|t| t.table_name());
    dest.conn.advance_sequences(&tables).await?;
    // Sequences of tables created here continue where the source's do (as a restore),
    // when that is at or past the keys copied.
    for sql in std::mem::take(&mut dest.sequence_states) {
        dest.conn.query(&sql, &[]).await?;
    }
    Ok(())
}

/// Deletes the rows of the job's tables, children first, with checks off.
pub async fn truncate(dest: &mut Destination, plan: &Plan) -> Result<(), SyncError> {
    let tables: Vec<&Table> = plan
        .tables
        .iter()
        .rev()
        .map(|tp| &dest.tables[&tp.table.table_name()])
        .collect();
    dest.conn.empty_tables(&tables).await?;
    Ok(())
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
