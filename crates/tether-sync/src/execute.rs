//! Running a plan: rows stream from the source in batches, through bounded channels, to
//! a writer per destination. Tables load in plan order. A breakable cycle loads with its
//! breaking FK columns NULL, then UPDATEs set them; an unbreakable cycle loads with the
//! destination's checks deferred (PostgreSQL) or disabled (MariaDB, SQLite). A
//! PostgreSQL destination with `checks = "enforce"` loads in one transaction instead:
//! its foreign keys among the job's tables are dropped inside it and created again
//! before COMMIT, so PostgreSQL validates each with one join instead of one trigger call
//! per row, and a failed or killed run leaves the destination as it was. The executor
//! does what the plan says and decides nothing of its own.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tether_connect::value::describe_key;
use tether_connect::{Batch, Conflict, Connection, DbUrl, DeferredChecks, Filter, ReadSpec, Row, TableObjects, Value};
use tether_schema::{Schema, Table, TableName};
use tokio::sync::mpsc;

use crate::config::{Checks, DestinationSpec};
use crate::error::SyncError;
use crate::plan::{row_key, CycleStrategy, Plan, Rows, TablePlan};
use crate::subset::Subset;

/// Live progress, implemented by the CLI.
pub trait Progress: Sync {
    fn phase(&self, message: &str);
    fn table_started(&self, table: &str, total: u64);
    fn rows(&self, table: &str, rows: u64);
    fn table_done(&self, table: &str, rows: u64, seconds: f64);
}

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
    written: Arc<Mutex<Vec<(String, u64)>>>,
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
}

/// A foreign key dropped for a transactional load, to be created again.
#[derive(Debug, Clone)]
pub struct DroppedFk {
    /// The table as PostgreSQL names it (`regclass`).
    pub table: String,
    pub name: String,
    /// `pg_get_constraintdef`: `FOREIGN KEY (a) REFERENCES p(id) ON DELETE CASCADE`.
    pub definition: String,
}

impl Destination {
    /// Nothing checks foreign keys row by row while loading: checks are off, or the
    /// FKs are dropped inside the load's transaction. Values are written as they are.
    pub fn fk_free(&self) -> bool {
        self.checks_off || self.atomic.is_some()
    }

    /// `checks = "enforce"` on PostgreSQL: BEGIN, empty the tables if asked, and drop the
    /// foreign keys of the job's tables inside the transaction. Returns false (nothing
    /// changed) when the connection may not alter the tables; the load then runs with
    /// the checks on, row by row.
    pub async fn begin_atomic(
        &mut self,
        plan: &Plan,
        truncate: bool,
        progress: &dyn Progress,
    ) -> Result<bool, SyncError> {
        let d = self.conn.dialect();
        let tables: Vec<String> = plan
            .tables
            .iter()
            .map(|tp| d.literal(&Value::Text(d.qualified(&self.tables[&tp.table.table_name()]))))
            .map(|lit| format!("{lit}::regclass"))
            .collect();
        let text = tether_schema::DataType::Text;
        let found = self
            .conn
            .query(
                &format!(
                    "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
                     FROM pg_constraint c WHERE c.contype = 'f' AND c.conparentid = 0 \
                     AND c.conrelid IN ({}) ORDER BY 1, 2",
                    tables.join(", ")
                ),
                &[text.clone(), text.clone(), text],
            )
            .await?;
        let dropped: Vec<DroppedFk> = found
            .into_iter()
            .map(|r| {
                let text = |v: &Value| match v {
                    Value::Text(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                DroppedFk {
                    table: text(&r[0]),
                    name: text(&r[1]),
                    definition: text(&r[2]),
                }
            })
            .collect();
        self.conn.execute("BEGIN").await?;
        self.atomic = Some(Vec::new());
        // Index builds and FK validations after the load sort and join whole tables: give
        // them memory for this transaction only, where the server's setting is lower.
        for (setting, size) in [("maintenance_work_mem", "256MB"), ("work_mem", "64MB")] {
            self.conn
                .query(
                    &format!(
                        "SELECT set_config('{setting}', '{size}', true) WHERE \
                         pg_size_bytes(current_setting('{setting}')) < pg_size_bytes('{size}')"
                    ),
                    &[tether_schema::DataType::Text],
                )
                .await?;
        }
        if truncate {
            progress.phase(&format!("{}: emptying the job's tables", self.shown));
            self::truncate(self, plan).await?;
        }
        for fk in &dropped {
            let drop = format!("ALTER TABLE {} DROP CONSTRAINT {}", fk.table, d.ident(&fk.name));
            if let Err(e) = self.conn.execute(&drop).await {
                self.conn.execute("ROLLBACK").await?;
                self.atomic = None;
                progress.phase(&format!(
                    "{}: loading with foreign keys checked row by row (dropping {} for a one-transaction load was refused: {e})",
                    self.shown, fk.name
                ));
                return Ok(false);
            }
        }
        if !self.created.is_empty() && self.spec.on_conflict == tether_connect::Conflict::Error {
            self.defer_keys().await?;
        }
        // Triggers of tables that were already there must not fire on copied rows (as
        // pg_restore --disable-triggers): off inside the transaction, on before COMMIT.
        let text = tether_schema::DataType::Text;
        let triggers = self
            .conn
            .query(
                &format!(
                    "SELECT t.tgrelid::regclass::text, t.tgname::text FROM pg_trigger t \
                     WHERE NOT t.tgisinternal AND t.tgenabled = 'O' AND t.tgrelid IN ({}) ORDER BY 1, 2",
                    tables.join(", ")
                ),
                &[text.clone(), text],
            )
            .await?;
        for r in triggers {
            let (Value::Text(table), Value::Text(name)) = (&r[0], &r[1]) else {
                continue;
            };
            let disable = format!("ALTER TABLE {table} DISABLE TRIGGER {}", d.ident(name));
            if let Err(e) = self.conn.execute(&disable).await {
                self.conn.execute("ROLLBACK").await?;
                self.atomic = None;
                self.disabled_triggers.clear();
                progress.phase(&format!(
                    "{}: loading with foreign keys checked row by row (disabling trigger {name} for a one-transaction load was refused: {e})",
                    self.shown
                ));
                return Ok(false);
            }
            self.disabled_triggers.push((table.clone(), name.clone()));
        }
        progress.phase(&format!(
            "{}: loading in one transaction; its {} foreign keys are created again (and validated) before COMMIT",
            self.shown,
            dropped.len()
        ));
        self.atomic = Some(dropped);
        Ok(true)
    }

    /// Inside the one-transaction load, drops the primary keys and unique constraints of
    /// the tables this run created (empty), to build them once after the rows are in
    /// rather than row by row (what a `pg_dump` restore does). Kept: keys of partitioned
    /// tables and partitions (their partitions' index names), keys something else
    /// depends on, keys with a comment, clustered or replica-identity indexes.
    async fn defer_keys(&mut self) -> Result<(), SyncError> {
        let text = tether_schema::DataType::Text;
        let keys = self
            .conn
            .query(
                &format!(
                    "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid) \
                     FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid \
                     JOIN pg_index i ON i.indexrelid = c.conindid \
                     WHERE c.contype IN ('p', 'u') AND c.conparentid = 0 AND c.conrelid IN ({}) \
                     AND r.relkind = 'r' AND NOT r.relispartition \
                     AND NOT i.indisclustered AND NOT i.indisreplident \
                     AND obj_description(c.oid, 'pg_constraint') IS NULL \
                     AND obj_description(c.conindid, 'pg_class') IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM pg_depend p WHERE p.deptype <> 'i' AND \
                       ((p.refclassid = 'pg_constraint'::regclass AND p.refobjid = c.oid) \
                       OR (p.refclassid = 'pg_class'::regclass AND p.refobjid = c.conindid))) \
                     ORDER BY c.contype, 1, 2",
                    self.created.join(", ")
                ),
                &[text.clone(), text.clone(), text],
            )
            .await?;
        let d = self.conn.dialect();
        for r in keys {
            let (Value::Text(table), Value::Text(name), Value::Text(definition)) = (&r[0], &r[1], &r[2]) else {
                continue;
            };
            self.conn
                .execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {}", d.ident(name)))
                .await?;
            self.deferred_keys.push(DroppedFk {
                table: table.clone(),
                name: name.clone(),
                definition: definition.clone(),
            });
        }
        Ok(())
    }

    /// Adds the keys [`Self::defer_keys`] dropped (one sort each instead of an index
    /// insert per row); a duplicate rolls everything back and names the key.
    pub async fn restore_keys(&mut self, progress: &dyn Progress) -> Result<(), SyncError> {
        if self.deferred_keys.is_empty() {
            return Ok(());
        }
        progress.phase(&format!(
            "{}: creating {} primary keys and unique constraints",
            self.shown,
            self.deferred_keys.len()
        ));
        for k in std::mem::take(&mut self.deferred_keys) {
            self.add_again(&k, "key", " is duplicated").await?;
        }
        Ok(())
    }

    /// Adds a constraint dropped for the load again, inside its transaction. One that does
    /// not hold (`what`: key or foreign key; `key_end`: what the server says after the
    /// row's key) rolls everything back and names the row.
    async fn add_again(&mut self, c: &DroppedFk, what: &str, key_end: &str) -> Result<(), SyncError> {
        let d = self.conn.dialect();
        let add = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {}",
            c.table,
            d.ident(&c.name),
            c.definition
        );
        let Err(e) = self.conn.execute(&add).await else {
            return Ok(());
        };
        self.atomic = None;
        self.disabled_triggers.clear();
        self.deferred_keys.clear();
        let _ = self.conn.execute("ROLLBACK").await;
        let text = e.to_string();
        let message = text.find("server error").map_or(text.as_str(), |i| &text[i..]);
        let key = message
            .split("Key (")
            .nth(1)
            .map(|k| format!("({}", k.split(key_end).next().unwrap_or(k)))
            .unwrap_or_else(|| "(the server did not say which)".into());
        Err(SyncError::Rejected {
            destination: self.shown.clone(),
            table: c.table.clone(),
            key,
            message: format!("{what} {} does not hold: {message}", c.name),
            written: NOTHING_WRITTEN.into(),
        })
    }

    /// Creates the dropped foreign keys again (PostgreSQL validates every row) and
    /// commits. An FK that does not hold rolls everything back and names the row.
    pub async fn commit_atomic(&mut self, progress: &dyn Progress) -> Result<(), SyncError> {
        let Some(dropped) = self.atomic.take() else {
            return Ok(());
        };
        progress.phase(&format!(
            "{}: creating {} foreign keys again (PostgreSQL validates them)",
            self.shown,
            dropped.len()
        ));
        for fk in &dropped {
            self.add_again(fk, "foreign key", " is not present").await?;
        }
        let d = self.conn.dialect();
        for (table, name) in std::mem::take(&mut self.disabled_triggers) {
            self.conn
                .execute(&format!("ALTER TABLE {table} ENABLE TRIGGER {}", d.ident(&name)))
                .await?;
        }
        self.conn.execute("COMMIT").await?;
        // `NOT VALID` in a definition: created again without looking at the rows.
        self.fks_validated = dropped.iter().all(|fk| !fk.definition.contains("NOT VALID"));
        Ok(())
    }

    /// Ends a transactional load that failed: nothing it wrote stays.
    pub async fn rollback_atomic(&mut self) {
        self.disabled_triggers.clear();
        self.deferred_keys.clear();
        if self.atomic.take().is_some() {
            let _ = self.conn.execute("ROLLBACK").await;
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
        })
    }
}

/// One set of connections that loads one table (or one cycle) at a time: a source
/// connection in the job's snapshot and a connection to every destination.
pub struct Lane {
    pub source: Connection,
    pub dests: Vec<Destination>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    pub table: String,
    pub rows_read: u64,
    /// Rows written, per destination (in job order).
    pub rows_written: Vec<u64>,
    pub seconds: f64,
}

pub use crate::schema_plan::destination_name;

/// True when the table is created from the source engine's own definition (MariaDB's
/// `SHOW CREATE TABLE`), foreign keys included.
fn verbatim(t: &Table, same_engine: bool) -> bool {
    same_engine && t.extras.definition.is_some()
}

/// Opens a destination, creates the job's missing tables and maps every table.
pub async fn prepare_destination(
    spec: &DestinationSpec,
    plan: &Plan,
    planned: Option<&crate::schema_plan::SchemaReport>,
    source: &Schema,
    progress: &dyn Progress,
) -> Result<Destination, SyncError> {
    let url = DbUrl::parse(&spec.url)?;
    let shown = url.to_string();
    let mut conn = Connection::open_destination(&url).await?;
    let engine = conn.engine();
    let d = conn.dialect();
    let existing = conn.introspect(&Default::default()).await?;
    let mut missing: Vec<Table> = Vec::new();
    // Run once the rows are in: indexes, CHECKs, triggers, materialized views.
    let mut after_load: Vec<String> = Vec::new();
    let mut after_load_views: Vec<String> = Vec::new();
    let mut sequence_states: Vec<String> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    // The plan's list when it could read this destination; else decided here.
    let create: Vec<String> = match planned {
        Some(report) => report.create.clone(),
        None => crate::schema_plan::report(source, plan, engine, &existing).create,
    };
    let mut report = Vec::new();
    for tp in plan.tables.iter().filter(|tp| create.contains(&tp.name)) {
        let want = destination_name(source, &tp.table.table_name(), engine);
        if existing.table(&want).is_some() {
            return Err(SyncError::Plan(format!(
                "{shown}: table {want} appeared after planning; run the job again to plan with it"
            )));
        }
        missing.push(crate::schema_plan::destination_model(
            source,
            plan,
            &tp.table,
            engine,
            &mut report,
        ));
    }
    for item in report
        .iter()
        .filter(|i| i.kind == "foreign key" && i.action == crate::schema_plan::Action::Mapped)
    {
        progress.phase(&format!(
            "{shown}: foreign key {}: {} created as {} ({})",
            item.name,
            item.from.as_deref().unwrap_or(""),
            item.to.as_deref().unwrap_or(""),
            item.reason.as_deref().unwrap_or("")
        ));
    }
    if !missing.is_empty() {
        let refusal = if plan.mode == crate::config::Mode::Data {
            Some("mode = \"data\" creates nothing")
        } else if !spec.create_tables {
            Some("create_tables = false")
        } else {
            None
        };
        if let Some(why) = refusal {
            let names: Vec<String> = missing.iter().map(|t| t.table_name().to_string()).collect();
            return Err(SyncError::Plan(format!(
                "{shown}: tables missing and {why}: {}",
                names.join(", ")
            )));
        }
        progress.phase(&format!("{shown}: creating {} tables", missing.len()));
        // Inheritance parents first: a child's CREATE names them.
        let mut ordered: Vec<Table> = Vec::with_capacity(missing.len());
        while !missing.is_empty() {
            let ready = missing
                .iter()
                .position(|t| t.inherits.iter().all(|p| !missing.iter().any(|m| &m.table_name() == p)))
                .unwrap_or(0);
            ordered.push(missing.remove(ready));
        }
        let mut missing = ordered;
        let mut schemas: Vec<String> = missing.iter().filter_map(|t| t.schema.clone()).collect();
        for t in &missing {
            let mut parts: Vec<&tether_schema::Partitioning> = t.partitioning.iter().collect();
            while let Some(p) = parts.pop() {
                for part in &p.partitions {
                    schemas.extend(part.schema.clone());
                    parts.extend(part.partitioning.as_deref());
                }
            }
        }
        let schemas: BTreeSet<String> = schemas.into_iter().collect();
        for s in schemas {
            conn.execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", d.ident(&s)))
                .await?;
        }
        let same_engine = source.engine == engine;
        if same_engine {
            let refs: Vec<&Table> = missing.iter().collect();
            for ty in source.objects.types_for(&refs) {
                if existing.objects.user_type(&ty.qualified()).is_none() {
                    for sql in d.create_type(ty) {
                        conn.execute(&sql).await?;
                    }
                }
            }
        }
        if same_engine {
            // Functions before the tables whose defaults, constraints, indexes or
            // triggers call them; bodies unchecked until used, as pg_dump sets it.
            let functions: BTreeSet<&str> = missing
                .iter()
                .flat_map(|t| t.extras.functions.iter().map(String::as_str))
                .collect();
            let mut first = true;
            for f in source
                .objects
                .functions
                .iter()
                .filter(|f| functions.contains(f.name.as_str()))
            {
                if first {
                    conn.execute("SET check_function_bodies = false").await?;
                    first = false;
                }
                conn.execute(&f.definition).await?;
            }
        }
        let inline = !d.supports_add_foreign_key();
        // Same engine: the source's objects; another: the equivalents the plan chose.
        let mut objects: Vec<TableObjects> = missing.iter().map(|t| d.table_objects(t)).collect();
        // A definition naming its foreign keys may name tables created after it.
        let verbatim_fks = missing.iter().any(|t| verbatim(t, same_engine));
        if verbatim_fks {
            conn.disable_fk_checks().await?;
        }
        for i in 0..missing.len() {
            for sql in &objects[i].before {
                conn.execute(sql).await?;
            }
            let t = &missing[i];
            if let Err(e) = conn.execute(&d.create_table(t, inline, same_engine)).await {
                if !verbatim(t, same_engine) {
                    return Err(e.into());
                }
                // The source's own definition names something this server lacks (a
                // MySQL 8 collation on MariaDB, a storage engine): build it from the
                // model instead, as for another engine's table.
                progress.phase(&format!(
                    "{shown}: table {}: the source's SHOW CREATE TABLE was refused ({e}); created from the model",
                    t.name
                ));
                missing[i].extras.definition = None;
                objects[i] = d.table_objects(&missing[i]);
                conn.execute(&d.create_table(&missing[i], inline, same_engine)).await?;
            }
            for sql in d.create_partitions(&missing[i]) {
                conn.execute(&sql).await?;
            }
        }
        if verbatim_fks {
            conn.enable_fk_checks().await?;
        }
        for sql in objects.iter().flat_map(|o| &o.after_create) {
            conn.execute(sql).await?;
        }
        if !inline {
            for t in missing.iter().filter(|t| !verbatim(t, same_engine)) {
                for fk in &t.foreign_keys {
                    conn.execute(&format!(
                        "ALTER TABLE {} ADD {}",
                        d.qualified(t),
                        d.foreign_key_clause(fk)
                    ))
                    .await?;
                }
            }
        }
        if same_engine {
            let job_tables: Vec<TableName> = plan.tables.iter().map(|tp| tp.table.table_name()).collect();
            for v in source.objects.views_over(&job_tables) {
                if existing.objects.views.iter().all(|e| e.table_name() != v.table_name()) {
                    conn.execute(&v.definition).await?;
                    if let Some(c) = &v.comment {
                        let what = if v.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
                        conn.execute(&format!(
                            "COMMENT ON {what} {} IS {}",
                            d.table(v.schema.as_deref(), &v.name),
                            d.literal(&Value::Text(c.clone()))
                        ))
                        .await?;
                    }
                    if v.materialized {
                        after_load_views.push(format!(
                            "REFRESH MATERIALIZED VIEW {}",
                            d.table(v.schema.as_deref(), &v.name)
                        ));
                    }
                }
            }
        }
        after_load.extend(objects.into_iter().flat_map(|o| o.after_load));
        if conn.loads_atomically() {
            created.extend(
                missing
                    .iter()
                    .map(|t| format!("{}::regclass", d.literal(&Value::Text(d.qualified(t))))),
            );
        }
        for t in missing.iter().filter(|_| same_engine) {
            for seq in &t.extras.sequences {
                let Some(last) = seq.last_value else { continue };
                sequence_states.push(format!(
                    "SELECT setval({seq_lit}, {last}, true) WHERE {last} >= coalesce((SELECT max({col}) FROM {table}), {last})",
                    seq_lit = d.literal(&Value::Text(d.table(seq.schema.as_deref(), &seq.name))),
                    col = d.ident(&seq.column),
                    table = d.qualified(t),
                ));
            }
        }
        after_load.extend(after_load_views);
    }
    let schema = conn.introspect(&Default::default()).await?;
    let mut tables = HashMap::new();
    for tp in &plan.tables {
        let want = destination_name(source, &tp.table.table_name(), engine);
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
    })
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

/// What a failed transactional load says about the rows written.
pub const NOTHING_WRITTEN: &str = "nothing was written: the load runs in one transaction, rolled back";

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
async fn begin_deferred(dest: &mut Destination, plan: &Plan, cycle: usize) -> Result<DeferredChecks, SyncError> {
    let members: HashSet<TableName> = plan
        .tables
        .iter()
        .filter(|tp| tp.cycle == Some(cycle))
        .map(|tp| tp.table.table_name())
        .collect();
    let dest_members: Vec<Table> = members.iter().map(|m| dest.tables[m].clone()).collect();
    Ok(dest.conn.defer_checks(&dest_members).await?)
}

/// What anonymization needs while loading: the seed, the key maps of
/// non-deterministic generators, and the leak figures collected.
pub struct Anon {
    pub seed: Option<tether_transform::Seed>,
    pub maps: crate::anonymize::KeyMaps,
    pub leaks: Mutex<Vec<crate::anonymize::Leak>>,
}

/// How one destination writes one table.
struct TableWrite {
    dest_table: Table,
    /// Positions (in the source row) of the columns written, and their names.
    positions: Vec<usize>,
    columns: Vec<String>,
    key: Vec<String>,
    key_positions: Vec<usize>,
    /// Positions (in the source row) of the cycle-breaking FK columns written NULL.
    nulled: Vec<usize>,
    nulled_names: Vec<String>,
    conflict: Conflict,
}

fn table_write(dest: &Destination, tp: &TablePlan) -> TableWrite {
    let dest_table = dest.tables[&tp.table.table_name()].clone();
    let mut positions = Vec::new();
    let mut columns = Vec::new();
    for (i, c) in tp.table.columns.iter().enumerate() {
        let dc = dest_table
            .column(&c.name)
            .expect("columns were checked when the destination was prepared");
        if dc.generated.is_none() {
            positions.push(i);
            columns.push(c.name.clone());
        }
    }
    let key = row_key(&tp.table);
    let pos_of = |name: &String| {
        tp.table
            .columns
            .iter()
            .position(|c| &c.name == name)
            .expect("key columns exist")
    };
    let key_positions = key.iter().map(pos_of).collect();
    let mut nulled_names: Vec<String> = Vec::new();
    // With checks off there is nothing to break: values are written as they are.
    if !dest.fk_free() {
        for fk_name in &tp.break_fks {
            if let Some(fk) = tp.table.foreign_keys.iter().find(|f| &f.name == fk_name) {
                for c in &fk.columns {
                    if !nulled_names.contains(c) && !key.contains(c) {
                        nulled_names.push(c.clone());
                    }
                }
            }
        }
    }
    let nulled = nulled_names.iter().map(pos_of).collect();
    TableWrite {
        dest_table,
        positions,
        columns,
        key,
        key_positions,
        nulled,
        nulled_names,
        conflict: dest.spec.on_conflict,
    }
}

type Fixups = Vec<(Row, Row)>;

/// Writes the batches of one table to one destination; returns the rows written and
/// the fixups (key, values of nulled columns) to apply once the cycle is loaded.
async fn write_table(
    dest: &mut Destination,
    tp: &TablePlan,
    w: &TableWrite,
    mut rx: mpsc::Receiver<Batch>,
) -> Result<(u64, Fixups), SyncError> {
    let mut written = 0u64;
    let mut fixups: Fixups = Vec::new();
    // Every source column written as it is: the batch moves to the writer untouched.
    let as_is = w.nulled.is_empty() && w.positions.len() == tp.table.columns.len();
    while let Some(batch) = rx.recv().await {
        // The keys of the batch, kept to name a row the destination rejects.
        let keys: Vec<Vec<Value>> = batch
            .iter()
            .map(|row| w.key_positions.iter().map(|&k| row[k].clone()).collect())
            .collect();
        let out: Vec<Row> = if as_is {
            batch
        } else {
            let mut out = Vec::with_capacity(batch.len());
            for (row, key) in batch.into_iter().zip(&keys) {
                if !w.nulled.is_empty() {
                    let vals: Row = w.nulled.iter().map(|&i| row[i].clone()).collect();
                    if vals.iter().any(|v| !v.is_null()) {
                        fixups.push((key.clone(), vals));
                    }
                }
                let mut row = row;
                out.push(
                    w.positions
                        .iter()
                        .map(|&i| {
                            if w.nulled.contains(&i) {
                                Value::Null
                            } else {
                                std::mem::replace(&mut row[i], Value::Null)
                            }
                        })
                        .collect(),
                );
            }
            out
        };
        match dest
            .conn
            .insert(&w.dest_table, &w.columns, &w.key, out, w.conflict)
            .await
        {
            Ok(n) => written += n,
            Err(e) => {
                let key = match e.row {
                    Some(i) => describe_key(&w.key, &keys[i]),
                    None => "(in a batch; the server did not say which)".to_string(),
                };
                let done: Vec<String> = dest
                    .written
                    .lock()
                    .expect("lock")
                    .iter()
                    .map(|(t, n)| format!("{t}: {n}"))
                    .collect();
                let hint = if e.duplicate_key && w.conflict == Conflict::Error {
                    "; the destination already holds this key: set `truncate = true` on the \
                     destination to empty the job's tables first, or `on_conflict = \"skip\"` / \
                     `\"update\"` to keep or overwrite its rows"
                } else {
                    ""
                };
                return Err(SyncError::Rejected {
                    destination: dest.shown.clone(),
                    table: tp.name.clone(),
                    key,
                    message: format!("{}{hint}", e.message),
                    written: format!(
                        "{} rows of {} were written before it; tables complete: {}",
                        written + e.written,
                        tp.name,
                        if done.is_empty() {
                            "none".into()
                        } else {
                            done.join(", ")
                        }
                    ),
                });
            }
        }
    }
    dest.written.lock().expect("lock").push((tp.name.clone(), written));
    Ok((written, fixups))
}

/// What the source query of a table reads: every column, every row or the subset's.
fn read_spec(tp: &TablePlan, subset: &Subset) -> ReadSpec {
    let filter = match tp.rows {
        Rows::All => Filter::All,
        Rows::Subset => Filter::KeysIn {
            columns: row_key(&tp.table),
            keys: subset.keys.get(&tp.table.table_name()).cloned().unwrap_or_default(),
        },
    };
    ReadSpec {
        table: tp.table.clone(),
        columns: tp.table.columns.iter().map(|c| c.name.clone()).collect(),
        filter,
        order_by: vec![],
        limit: None,
    }
}

/// Builds the transformers of `list` (columns of `tp`), reading the source's distinct
/// values of the columns whose transformer draws from them.
async fn build_transforms(
    tp: &TablePlan,
    list: &[crate::anonymize::ColumnTransform],
    source: &mut Connection,
    seed: &tether_transform::Seed,
) -> Result<crate::anonymize::TableTransforms, SyncError> {
    let mut distinct = HashMap::new();
    for column in crate::anonymize::TableTransforms::needs_distinct(list) {
        let d = source.dialect();
        let sql = format!(
            "SELECT DISTINCT {} FROM {} ORDER BY 1",
            d.ident(&column),
            d.own_rows(&tp.table)
        );
        let ty = tp
            .table
            .column(&column)
            .map(|c| c.normalized_type.clone())
            .into_iter()
            .collect::<Vec<_>>();
        let rows = source.query(&sql, &ty).await?;
        distinct.insert(
            column,
            rows.into_iter()
                .filter_map(|mut r| r.pop())
                .filter(|v| !v.is_null())
                .collect(),
        );
    }
    crate::anonymize::TableTransforms::build(&tp.name, &tp.table, list, seed, &distinct)
}

/// Makes the new values of every key-map root (a referenced key whose transformer is not
/// a function of the key value alone) from the rows the job copies, before any table
/// loads: children, loaded in any order, then only look their new keys up.
async fn fill_key_maps(
    plan: &Plan,
    lane: &mut Lane,
    subset: &Subset,
    anon: &Anon,
    progress: &dyn Progress,
) -> Result<(), SyncError> {
    let keys = crate::anonymize::map_keys(plan.tables.iter().flat_map(|t| &t.transforms));
    for tp in &plan.tables {
        let name = tp.table.table_name();
        let roots: Vec<_> = tp
            .transforms
            .iter()
            .filter(|c| keys.contains_key(&(name.clone(), c.column.clone())))
            .cloned()
            .collect();
        if roots.is_empty() {
            continue;
        }
        let Some(seed) = &anon.seed else {
            return Err(SyncError::Config("[transform] needs a `seed`".into()));
        };
        let shown: Vec<&str> = roots.iter().map(|c| c.column.as_str()).collect();
        progress.phase(&format!(
            "{}: making the new values of {} for the key map of the columns referencing them",
            tp.name,
            shown.join(", ")
        ));
        let t = build_transforms(tp, &roots, &mut lane.source, seed).await?;
        let spec = read_spec(tp, subset);
        if matches!(&spec.filter, Filter::KeysIn { keys, .. } if keys.is_empty()) {
            continue;
        }
        let (tx, mut rx) = mpsc::channel::<Batch>(4);
        let read = lane.source.read(&spec, plan.batch_size, tx);
        let fill = async {
            while let Some(batch) = rx.recv().await {
                t.fill_key_maps(&batch, &anon.maps, &keys)?;
            }
            Ok::<(), SyncError>(())
        };
        let (read, filled) = tokio::join!(read, fill);
        filled?;
        read?;
    }
    Ok(())
}

/// Streams one table from the lane's source to each of its destinations.
async fn load_table(
    plan: &Plan,
    tp: &TablePlan,
    lane: &mut Lane,
    subset: &Subset,
    anon: &Anon,
    progress: &dyn Progress,
) -> Result<(TableReport, Vec<Fixups>), SyncError> {
    let mut transforms = match (&anon.seed, tp.transforms.is_empty()) {
        (_, true) => None,
        (None, false) => return Err(SyncError::Config("[transform] needs a `seed`".into())),
        (Some(seed), false) => Some(build_transforms(tp, &tp.transforms, &mut lane.source, seed).await?),
    };
    let spec = read_spec(tp, subset);
    let total = match &spec.filter {
        Filter::KeysIn { keys, .. } => keys.len() as u64,
        _ => lane.source.estimate_rows(&tp.table).await?,
    };
    progress.table_started(&tp.name, total);
    let started = Instant::now();
    let writes: Vec<TableWrite> = lane.dests.iter().map(|d| table_write(d, tp)).collect();
    let skip_read = matches!(&spec.filter, Filter::KeysIn { keys, .. } if keys.is_empty());

    // PostgreSQL to PostgreSQL with nothing to change: raw COPY text, one COPY per table.
    let unchanged = writes
        .iter()
        .all(|w| w.nulled.is_empty() && w.conflict == Conflict::Error && w.positions.len() == tp.table.columns.len());
    let dest_conns: Vec<&Connection> = lane.dests.iter().map(|d| &d.conn).collect();
    if tp.rows == Rows::All
        && unchanged
        && transforms.is_none()
        && tether_connect::can_pass_through(&lane.source, &dest_conns)
    {
        let select = spec.select_sql(lane.source.dialect(), None);
        // Inside a transactional load a failed COPY must not end the transaction: the
        // batches below find the row.
        for d in lane.dests.iter_mut().filter(|d| d.atomic.is_some()) {
            d.conn.execute("SAVEPOINT tether_copy").await?;
        }
        let targets: Vec<(&Connection, &Table, &[String])> = lane
            .dests
            .iter()
            .zip(&writes)
            .map(|(d, w)| (&d.conn, &w.dest_table, w.columns.as_slice()))
            .collect();
        let copied =
            tether_connect::passthrough(&lane.source, &select, &targets, &|n| progress.rows(&tp.name, n)).await;
        for d in lane.dests.iter_mut().filter(|d| d.atomic.is_some()) {
            let end = if copied.is_ok() {
                "RELEASE SAVEPOINT tether_copy"
            } else {
                "ROLLBACK TO SAVEPOINT tether_copy"
            };
            d.conn.execute(end).await?;
        }
        match copied {
            Ok(rows) => {
                for d in &lane.dests {
                    d.written.lock().expect("lock").push((tp.name.clone(), rows));
                }
                progress.table_done(&tp.name, rows, started.elapsed().as_secs_f64());
                let report = TableReport {
                    table: tp.name.clone(),
                    rows_read: rows,
                    rows_written: vec![rows; lane.dests.len()],
                    seconds: started.elapsed().as_secs_f64(),
                };
                return Ok((report, vec![Vec::new(); lane.dests.len()]));
            }
            // The one destination rejected a row and its COPY was rolled back: copy the
            // table again in batches, which names the row.
            Err((Some(_), e)) if lane.dests.len() == 1 => {
                progress.phase(&format!("{e}; copying {} again in batches to find the row", tp.name));
            }
            Err((_, e)) => return Err(e.into()),
        }
    }

    let (tx, mut rx) = mpsc::channel::<Batch>(4);
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in lane.dests.iter() {
        let (t, r) = mpsc::channel::<Batch>(4);
        senders.push(t);
        receivers.push(r);
    }
    let source = &mut lane.source;
    let read = async {
        if skip_read {
            drop(tx);
            return Ok(0);
        }
        source.read(&spec, plan.batch_size, tx).await
    };
    let transforms_ref = &mut transforms;
    let fanout = async {
        while let Some(mut batch) = rx.recv().await {
            if let Some(t) = transforms_ref.as_mut() {
                // Dropping the receiver stops the reader; the writers finish what they have.
                t.apply(&mut batch, &anon.maps)?;
            }
            progress.rows(&tp.name, batch.len() as u64);
            let last = senders.len() - 1;
            let mut batch = Some(batch);
            for (i, s) in senders.iter().enumerate() {
                let b = if i == last {
                    batch.take().expect("the last destination takes the batch")
                } else {
                    batch.clone().expect("the batch is kept until the last destination")
                };
                if s.send(b).await.is_err() {
                    return Ok(());
                }
            }
        }
        drop(senders);
        Ok::<(), SyncError>(())
    };
    let writers = join_all(
        lane.dests
            .iter_mut()
            .zip(&writes)
            .zip(receivers)
            .map(|((d, w), r)| write_table(d, tp, w, r))
            .collect(),
    );
    let (read, fanned, results) = tokio::join!(read, fanout, writers);
    fanned?;
    if let Some(t) = &transforms {
        anon.leaks.lock().expect("lock").extend(t.leaks());
    }
    let mut written = Vec::new();
    let mut fixups = Vec::new();
    for r in results {
        let (n, f) = r?;
        written.push(n);
        fixups.push(f);
    }
    let rows_read = read?;
    progress.table_done(&tp.name, rows_read, started.elapsed().as_secs_f64());
    let report = TableReport {
        table: tp.name.clone(),
        rows_read,
        rows_written: written,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((report, fixups))
}

/// Loads one unit (a table, or every table of one cycle in order) on one lane.
async fn load_unit(
    plan: &Plan,
    unit: &[usize],
    lane: &mut Lane,
    subset: &Subset,
    anon: &Anon,
    progress: &dyn Progress,
) -> Result<Vec<(usize, TableReport)>, SyncError> {
    let cycle = plan.tables[unit[0]].cycle;
    let defer = cycle.is_some_and(|c| plan.cycles[c].strategy == CycleStrategy::Defer);
    let mut deferred: Vec<Option<DeferredChecks>> = Vec::new();
    for dest in lane.dests.iter_mut() {
        deferred.push(match (defer, dest.fk_free()) {
            (true, false) => Some(begin_deferred(dest, plan, cycle.expect("a deferred unit is a cycle")).await?),
            _ => None,
        });
    }
    let mut reports = Vec::new();
    let mut fixups: Vec<Vec<(usize, Fixups)>> = lane.dests.iter().map(|_| Vec::new()).collect();
    for &ti in unit {
        let (report, f) = load_table(plan, &plan.tables[ti], lane, subset, anon, progress).await?;
        for (i, f) in f.into_iter().enumerate() {
            if !f.is_empty() {
                fixups[i].push((ti, f));
            }
        }
        reports.push((ti, report));
    }
    for ((dest, fixups), deferred) in lane.dests.iter_mut().zip(fixups).zip(deferred) {
        for (ti, f) in fixups {
            let tp = &plan.tables[ti];
            let w = table_write(dest, tp);
            progress.phase(&format!(
                "{}: setting {} on {} rows of {}",
                dest.shown,
                w.nulled_names.join(", "),
                f.len(),
                tp.name
            ));
            dest.conn.update(&w.dest_table, &w.key, &w.nulled_names, f).await?;
        }
        if let Some(d) = deferred {
            dest.conn.undefer_checks(d).await.map_err(|c| {
                SyncError::Plan(format!(
                    "{}: the cycle {} did not verify when its deferred checks ran: {c}",
                    dest.shown,
                    cycle.map(|c| plan.cycles[c].tables.join(" <-> ")).unwrap_or_default()
                ))
            })?;
        }
    }
    Ok(reports)
}

/// Groups the plan's tables into units (a table, or the tables of one cycle) by
/// dependency level: the units of one level do not depend on each other.
fn units_by_level(plan: &Plan) -> Vec<Vec<Vec<usize>>> {
    let level_of: HashMap<&str, usize> = plan
        .levels
        .iter()
        .enumerate()
        .flat_map(|(l, names)| names.iter().map(move |n| (n.as_str(), l)))
        .collect();
    let mut levels: Vec<Vec<Vec<usize>>> = vec![Vec::new(); plan.levels.len().max(1)];
    let mut i = 0;
    while i < plan.tables.len() {
        let mut unit = vec![i];
        while plan.tables[i].cycle.is_some()
            && plan
                .tables
                .get(unit[unit.len() - 1] + 1)
                .is_some_and(|n| n.cycle == plan.tables[i].cycle)
        {
            unit.push(unit[unit.len() - 1] + 1);
        }
        let level = level_of.get(plan.tables[i].name.as_str()).copied().unwrap_or(0);
        i = unit[unit.len() - 1] + 1;
        levels[level].push(unit);
    }
    levels
}

/// Copies every table of the plan to every destination, level by level, with the
/// units of a level spread over the lanes. When no destination checks foreign keys
/// during the load, order does not matter: every unit is one level, largest first.
pub async fn load(
    plan: &Plan,
    lanes: &mut [Lane],
    subset: &Subset,
    anon: &Anon,
    progress: &dyn Progress,
) -> Result<Vec<TableReport>, SyncError> {
    fill_key_maps(plan, &mut lanes[0], subset, anon, progress).await?;
    let mut reports: Vec<Option<TableReport>> = plan.tables.iter().map(|_| None).collect();
    let mut levels = units_by_level(plan);
    if lanes.len() > 1 && lanes[0].dests.iter().all(|d| d.fk_free()) {
        let mut sized = Vec::new();
        for unit in levels.into_iter().flatten() {
            let mut rows = 0;
            for &ti in &unit {
                let tp = &plan.tables[ti];
                rows += match tp.rows {
                    Rows::Subset => subset.keys.get(&tp.table.table_name()).map_or(0, |k| k.len() as u64),
                    Rows::All => lanes[0].source.estimate_rows(&tp.table).await?,
                };
            }
            sized.push((rows, unit));
        }
        sized.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        levels = vec![sized.into_iter().map(|(_, u)| u).collect()];
    }
    for level in levels {
        let queue: Mutex<VecDeque<Vec<usize>>> = Mutex::new(level.into_iter().collect());
        let workers = lanes.iter_mut().map(|lane| {
            let queue = &queue;
            async move {
                let mut done = Vec::new();
                loop {
                    let next = queue.lock().expect("lock").pop_front();
                    let Some(unit) = next else { break };
                    done.extend(load_unit(plan, &unit, lane, subset, anon, progress).await?);
                }
                Ok::<_, SyncError>(done)
            }
        });
        for result in join_all(workers.collect()).await {
            for (ti, r) in result? {
                reports[ti] = Some(r);
            }
        }
    }
    Ok(reports
        .into_iter()
        .map(|r| r.expect("every table was loaded"))
        .collect())
}

/// Awaits futures concurrently, keeping their order.
pub(crate) async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.expect("every future finished")).collect()
}
