//! Loading through staging schemas (PostgreSQL, `checks = "enforce"`, every job table
//! created by this run): the tables are created empty in private schemas
//! (`_tether_stage_<run>_<n>`, one per real schema), loaded on several connections,
//! then their keys, indexes and foreign keys (validated) are built there, also on
//! several connections, each statement committed as it goes. One short transaction
//! then moves every table to its real schema (`ALTER TABLE ... SET SCHEMA`: metadata
//! only; indexes, constraints and owned sequences move with it), creates the views and
//! triggers and drops the staging schemas. Until that COMMIT no table is visible under
//! its name; a failure before drops the staging schemas, and a killed run's (marked
//! by a comment naming Tether and the run) are dropped by the next run that may create
//! tables there (a run holds an advisory lock named after its schemas while it lives).
//! Not staged (loaded in one transaction instead): tables a CHECK, index, default,
//! generated column or domain of which calls a user function (it may read job tables
//! by their real names), and a role with default privileges (`pg_default_acl`: they
//! apply to tables created in their real schema, not to tables moved there).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use tether_connect::postgres::dialect::{add_check, trigger_statements};
use tether_connect::postgres::STAGING_PREFIX;
use tether_connect::{Connection, Value};
use tether_schema::{DataType, Table, TableName};
use tokio::sync::Notify;

use super::atomic::{drop_keys, rejected};
use super::method::NotStaged;
use super::{Destination, Progress};
use crate::error::SyncError;

/// The advisory-lock class of staging schemas: a run holds `(LOCK_CLASS, run)` on its
/// first connection for as long as it lives.
const LOCK_CLASS: i32 = 0x5445_5448;

/// What a failed run that loaded through staging schemas says about the rows written.
pub const STAGE_DROPPED: &str =
    "nothing was written: the tables were loaded in staging schemas, dropped (no table was created)";

/// One run's staging schemas on one destination.
pub struct Stage {
    pub run: u32,
    /// Real schema -> its staging schema.
    pub schemas: BTreeMap<String, String>,
}

/// A statement of the build after the load, and the constraint it adds (named in the
/// error when its rows do not hold).
struct Step {
    sql: String,
    /// (table as messages name it, constraint, "key" or "foreign key", what the server
    /// says after the row's key).
    holds: Option<(String, String, &'static str, &'static str)>,
}

impl Step {
    fn plain(sql: String) -> Step {
        Step { sql, holds: None }
    }
}

/// One staged table: its name there and what is built on it after the load, in groups
/// run one after another (the statements of one group run concurrently).
struct TableBuild {
    /// As created in its staging schema.
    staged: String,
    /// Schema and name where it moves.
    schema: String,
    name: String,
    groups: Vec<Vec<Step>>,
}

/// A foreign key built after the load: added NOT VALID, then validated.
struct FkBuild {
    /// Child and parent (when staged too), indexes into `Staged::tables`.
    child: usize,
    parent: Option<usize>,
    add: Step,
    validate: Step,
}

/// A staged destination: what is left to build in the staging schemas after the load,
/// and what the move does.
pub struct Staged {
    stage: Stage,
    tables: Vec<TableBuild>,
    foreign_keys: Vec<FkBuild>,
    /// After every foreign key: their comments.
    after_fks: Vec<String>,
    /// The move's statements, in one transaction: tables to their schemas, views,
    /// triggers, materialized views refreshed, staging schemas dropped.
    at_move: Vec<String>,
    /// Connections building after the load (the job's parallelism).
    pub lanes: usize,
    /// The foreign keys each table has once moved (real names), for the verification.
    moved_fks: HashMap<TableName, Vec<tether_schema::ForeignKey>>,
}

impl Staged {
    /// The staging schemas' names.
    pub fn schemas(&self) -> Vec<String> {
        self.stage.schemas.values().cloned().collect()
    }

    /// The name `t` (a table this run creates, as the plan names it on the destination)
    /// has while it is staged.
    pub fn staged_name(&self, t: &TableName) -> TableName {
        let real = t.schema.as_deref().unwrap_or("public");
        TableName {
            schema: self.stage.schemas.get(real).cloned().or(t.schema.clone()),
            name: t.name.clone(),
        }
    }

    /// Drops the staging schemas (a failed run: nothing of it stays) and lets the run's
    /// lock go. A connection that fails here leaves them to the next run.
    pub(super) async fn drop_schemas(&self, conn: &mut Connection) {
        let d = conn.dialect();
        let names: Vec<String> = self.stage.schemas.values().map(|s| d.ident(s)).collect();
        let _ = conn
            .execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", names.join(", ")))
            .await;
        let _ = conn
            .query(
                &format!("SELECT pg_advisory_unlock({LOCK_CLASS}, {})", self.stage.run as i32),
                &[DataType::Boolean],
            )
            .await;
    }

    /// Where each staging schema's tables move: staging schema -> real schema.
    pub fn real_schemas(&self) -> HashMap<String, String> {
        self.stage.schemas.iter().map(|(r, s)| (s.clone(), r.clone())).collect()
    }
}

/// The models of `missing` as created in staging schemas, or why these tables cannot be
/// staged faithfully (partitions, inheritance, a sequence they do not own, a user
/// function in an expression, a definition naming the table that cannot be rewritten)
/// or the role may not (no CREATE on the database, default privileges): they are then
/// created in place, in the one-transaction load. Reads the destination, writes
/// nothing: `tether plan` asks the same ([`super::method::decide`]).
pub(super) async fn models(
    conn: &mut Connection,
    missing: &[Table],
) -> Result<Result<(Stage, Vec<Table>), NotStaged>, SyncError> {
    let real_of = |t: &Table| t.schema.clone().unwrap_or_else(|| "public".into());
    let shown = |t: &Table| match t.schema.as_deref() {
        None | Some("public") => t.name.clone(),
        Some(schema) => format!("{schema}.{}", t.name),
    };
    for t in missing {
        let real = real_of(t);
        if t.partitioning.is_some() {
            return Ok(Err(NotStaged::Partitioned { table: shown(t) }));
        }
        if !t.inherits.is_empty() || t.has_children {
            return Ok(Err(NotStaged::Inheritance { table: shown(t) }));
        }
        if let Some(s) = t
            .extras
            .sequences
            .iter()
            .find(|s| !(s.owned || s.identity) || s.schema.as_deref().unwrap_or("public") != real)
        {
            return Ok(Err(NotStaged::SequenceNotOwned {
                table: shown(t),
                sequence: s.name.clone(),
            }));
        }
    }
    // A CHECK, index, default or generated column calling a user function: the
    // function may read job tables by their real names, empty until the move. (Trigger
    // functions are not called before: triggers are created at the move.)
    for t in missing {
        let triggers: HashSet<&str> = t
            .extras
            .triggers
            .iter()
            .filter_map(|tr| tr.function.as_deref())
            .collect();
        if let Some(f) = t.extras.functions.iter().find(|f| !triggers.contains(f.as_str())) {
            return Ok(Err(NotStaged::UserFunction {
                table: shown(t),
                function: f.clone(),
            }));
        }
    }
    // Staging schemas need the database's CREATE privilege (tables in a schema do not).
    // Default privileges (`ALTER DEFAULT PRIVILEGES`) of the role apply to tables
    // created in their real schema, and SET SCHEMA does not apply them. A domain whose
    // CHECK calls a user function may read job tables, as above.
    let may = conn
        .query(
            "SELECT has_database_privilege(current_database(), 'CREATE'), \
               EXISTS (SELECT 1 FROM pg_default_acl a JOIN pg_roles r ON r.oid = a.defaclrole \
                       WHERE r.rolname = current_user AND a.defaclobjtype IN ('r', 'S')), \
               coalesce((SELECT string_agg(DISTINCT tn.nspname || '.' || t.typname, ' ') \
                 FROM pg_type t JOIN pg_namespace tn ON tn.oid = t.typnamespace \
                 JOIN pg_constraint c ON c.contypid = t.oid \
                 JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid \
                   AND d.refclassid = 'pg_proc'::regclass \
                 JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace \
                 WHERE t.typtype = 'd' AND pn.nspname NOT IN ('pg_catalog', 'information_schema')), '')",
            &[DataType::Boolean, DataType::Boolean, DataType::Text],
        )
        .await?;
    let row = may.into_iter().next().unwrap_or_default();
    let domains = match (row.first(), row.get(1), row.get(2)) {
        (Some(Value::Bool(false)), _, _) => return Ok(Err(NotStaged::NoCreateOnDatabase)),
        (_, Some(Value::Bool(true)), _) => return Ok(Err(NotStaged::DefaultPrivileges)),
        (Some(Value::Bool(true)), Some(Value::Bool(false)), Some(Value::Text(domains))) => domains.clone(),
        _ => return Ok(Err(NotStaged::NoCreateOnDatabase)),
    };
    let domains: HashSet<&str> = domains.split(' ').filter(|s| !s.is_empty()).collect();
    for t in missing {
        if let Some(ty) = t.extras.user_types.values().find(|ty| domains.contains(ty.as_str())) {
            return Ok(Err(NotStaged::DomainFunction {
                table: shown(t),
                domain: ty.clone(),
            }));
        }
    }
    let run = {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        (nanos ^ std::process::id().rotate_left(16)) & 0x7fff_ffff
    };
    let mut stage = Stage {
        run,
        schemas: BTreeMap::new(),
    };
    for t in missing {
        let n = stage.schemas.len();
        stage
            .schemas
            .entry(real_of(t))
            .or_insert_with(|| format!("{STAGING_PREFIX}{run:08x}_{n}"));
    }
    // Names as the server prints them (quote_ident): indexes' and defaults' texts.
    let mut names: Vec<String> = Vec::new();
    for t in missing {
        names.push(real_of(t));
        names.push(t.name.clone());
        names.extend(t.extras.sequences.iter().map(|s| s.name.clone()));
    }
    let d = conn.dialect();
    let values: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("({i}, {})", d.literal(&Value::Text(n.clone()))))
        .collect();
    let rows = conn
        .query(
            &format!(
                "SELECT quote_ident(v.n) FROM (VALUES {}) AS v(i, n) ORDER BY v.i",
                values.join(", ")
            ),
            &[DataType::Text],
        )
        .await?;
    let mut quoted = rows.into_iter().map(|r| match r.into_iter().next() {
        Some(Value::Text(s)) => s,
        _ => String::new(),
    });
    let mut out = Vec::with_capacity(missing.len());
    for t in missing {
        let real = real_of(t);
        let schema = stage.schemas[&real].clone();
        let (q_schema, q_name) = (quoted.next().unwrap_or_default(), quoted.next().unwrap_or_default());
        let mut s = t.clone();
        s.schema = Some(schema.clone());
        s.extras.triggers.clear();
        s.extras.row_security.clear();
        s.extras.rules.clear();
        s.extras.statistics.clear();
        // `pg_get_indexdef` names the table schema-qualified.
        let from = format!(" ON {q_schema}.{q_name} USING ");
        let to = format!(" ON {} USING ", d.qualified(&s));
        for i in s.extras.indexes.iter_mut().filter(|i| !i.definition.is_empty()) {
            if i.definition.matches(&from).count() != 1 {
                return Ok(Err(NotStaged::Unrewritable { table: shown(t) }));
            }
            i.definition = i.definition.replace(&from, &to);
        }
        // A serial column's default names its sequence as the source's search path
        // shows it: bare (public) or qualified. Identity sequences are named in the
        // column's definition, from the model.
        for seq in s.extras.sequences.iter_mut() {
            let q_seq = quoted.next().unwrap_or_default();
            if !seq.identity {
                let staged = format!(
                    "{}::regclass",
                    d.literal(&Value::Text(d.table(Some(&schema), &seq.name)))
                );
                let forms = [
                    format!("{}::regclass", d.literal(&Value::Text(q_seq.clone()))),
                    format!("{}::regclass", d.literal(&Value::Text(format!("{q_schema}.{q_seq}")))),
                ];
                if let Some(c) = s.columns.iter_mut().find(|c| c.name == seq.column) {
                    if let Some(default) = &c.default {
                        let form = forms.iter().find(|f| default.contains(f.as_str()));
                        let Some(form) = form else {
                            return Ok(Err(NotStaged::Unrewritable { table: shown(t) }));
                        };
                        c.default = Some(default.replace(form.as_str(), &staged));
                    }
                }
            }
            seq.schema = Some(schema.clone());
        }
        out.push(s);
    }
    Ok(Ok((stage, out)))
}

/// What a staging schema's comment starts with, then the run (hex): only schemas marked
/// so are ever dropped by another run.
const MARKER: &str = "tether staging schema of run ";

/// Drops the staging schemas of runs that are gone (marked as ours, their advisory lock
/// free). One this role may not drop (another role's) is left, with a warning. Called
/// by every run that may create tables on a PostgreSQL destination.
pub(super) async fn clean_stale(conn: &mut Connection, shown: &str, progress: &dyn Progress) -> Result<(), SyncError> {
    let found = conn
        .query(
            &format!(
                "SELECT nspname::text, obj_description(oid, 'pg_namespace') FROM pg_namespace \
                 WHERE nspname LIKE '\\_tether\\_stage\\_%' AND obj_description(oid, 'pg_namespace') LIKE '{MARKER}%' \
                 ORDER BY 1"
            ),
            &[DataType::Text, DataType::Text],
        )
        .await?;
    let mut by_run: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for r in found {
        let mut r = r.into_iter();
        let (Some(Value::Text(name)), Some(Value::Text(comment))) = (r.next(), r.next()) else {
            continue;
        };
        let hex = name.strip_prefix(STAGING_PREFIX).and_then(|rest| rest.get(..8));
        // The comment names the run the name does.
        let run = hex
            .filter(|hex| comment.strip_prefix(MARKER).and_then(|c| c.get(..8)) == Some(*hex))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok());
        if let Some(run) = run {
            by_run.entry(run).or_default().push(name);
        }
    }
    let d = conn.dialect();
    for (run, schemas) in by_run {
        let free = conn
            .query(
                &format!("SELECT pg_try_advisory_lock({LOCK_CLASS}, {})", run as i32),
                &[DataType::Boolean],
            )
            .await?;
        if !matches!(free.first().and_then(|r| r.first()), Some(Value::Bool(true))) {
            continue;
        }
        for schema in &schemas {
            if let Err(e) = conn
                .execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", d.ident(schema)))
                .await
            {
                progress.phase(&format!(
                    "{shown}: warning: staging schema {schema} is left from a killed run and cannot be dropped by this role; left in place ({e})"
                ));
            }
        }
        conn.query(
            &format!("SELECT pg_advisory_unlock({LOCK_CLASS}, {})", run as i32),
            &[DataType::Boolean],
        )
        .await?;
    }
    Ok(())
}

/// A staged run's failure, saying nothing was written (a rejected row or key already
/// says so).
fn failed(e: SyncError) -> SyncError {
    with_note(e, STAGE_DROPPED)
}

/// `e` with `note` after its message, of the same kind (the CLI's exit status follows
/// the kind). A rejected row, which says what was written itself, is left as it is.
pub fn with_note(e: SyncError, note: &str) -> SyncError {
    use tether_connect::ConnectError as C;
    let noted = |m: String| format!("{m} ({note})");
    match e {
        SyncError::Config(m) => SyncError::Config(noted(m)),
        SyncError::Plan(m) => SyncError::Plan(noted(m)),
        SyncError::Transform(m) => SyncError::Transform(noted(m)),
        SyncError::Interrupted(m) => SyncError::Interrupted(format!("{m}; {note}")),
        SyncError::Connect(C::Connect { url, message }) => SyncError::Connect(C::Connect {
            url,
            message: noted(message),
        }),
        SyncError::Connect(C::Query { url, what, message }) => SyncError::Connect(C::Query {
            url,
            what,
            message: noted(message),
        }),
        SyncError::Connect(C::NotFound { url, message }) => SyncError::Connect(C::NotFound {
            url,
            message: noted(message),
        }),
        other => other,
    }
}

/// Creates the staged tables in their staging schemas, in one transaction, with their
/// CHECKs (checked while the rows are copied, as a restore does) and without their
/// keys (built after the load).
pub(super) async fn create(
    conn: &mut Connection,
    stage: Stage,
    tables: StagedTables<'_>,
    progress: &dyn Progress,
) -> Result<Staged, SyncError> {
    conn.query(
        &format!("SELECT pg_advisory_lock({LOCK_CLASS}, {})", stage.run as i32),
        &[DataType::Text],
    )
    .await?;
    let names: Vec<&str> = stage.schemas.values().map(String::as_str).collect();
    progress.phase(&format!(
        "creating {} tables in staging schema{} {} (moved to their own in one transaction once loaded and built)",
        tables.missing.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    ));
    conn.execute("BEGIN").await?;
    let run = stage.run;
    let created = create_in_transaction(conn, stage, tables).await;
    match created {
        Ok(staged) => {
            conn.execute("COMMIT").await?;
            Ok(staged)
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            let _ = conn
                .query(
                    &format!("SELECT pg_advisory_unlock({LOCK_CLASS}, {})", run as i32),
                    &[DataType::Boolean],
                )
                .await;
            Err(failed(e))
        }
    }
}

/// What [`create`] creates.
pub(super) struct StagedTables<'a> {
    /// The tables as the plan made them, with their real names.
    pub missing: &'a [Table],
    /// The same in their staging schemas ([`models`]).
    pub models: Vec<Table>,
    /// The views to create and materialized views to refresh once the tables moved.
    pub views: (Vec<String>, Vec<String>),
    pub same_engine: bool,
}

async fn create_in_transaction(
    conn: &mut Connection,
    stage: Stage,
    tables: StagedTables<'_>,
) -> Result<Staged, SyncError> {
    let StagedTables {
        missing,
        models,
        views,
        same_engine,
    } = tables;
    let d = conn.dialect();
    for s in stage.schemas.values() {
        conn.execute(&format!("CREATE SCHEMA {}", d.ident(s))).await?;
        let marker = format!("{MARKER}{:08x} (dropped when it ends)", stage.run);
        conn.execute(&format!(
            "COMMENT ON SCHEMA {} IS {}",
            d.ident(s),
            d.literal(&Value::Text(marker))
        ))
        .await?;
    }
    let mut tables = Vec::with_capacity(models.len());
    let mut foreign_keys = Vec::new();
    let mut after_create = Vec::new();
    let mut after_fks = Vec::new();
    let mut at_move = Vec::new();
    let mut triggers = Vec::new();
    for (i, (t, s)) in missing.iter().zip(&models).enumerate() {
        let objects = d.table_objects(s);
        for sql in &objects.before {
            conn.execute(sql).await?;
        }
        conn.execute(&d.create_table(s, false, same_engine)).await?;
        for sql in &objects.with_table {
            conn.execute(sql).await?;
        }
        let staged = d.qualified(s);
        let mut groups: Vec<Vec<Step>> = Vec::new();
        // CHECKs are checked while the rows are copied (as a restore does), except one
        // NOT VALID at the source: it holds only for later rows, added after the load.
        let mut checks = HashSet::new();
        for c in s.extras.checks.iter().filter(|c| !c.definition.contains("NOT VALID")) {
            let sql = add_check(&staged, c);
            conn.execute(&sql).await?;
            checks.insert(sql);
        }
        after_create.extend(objects.after_create);
        let indexes: HashSet<String> = s
            .extras
            .indexes
            .iter()
            .filter(|i| !i.unique)
            .map(|i| d.index_sql(s, i))
            .collect();
        let (builds, rest): (Vec<String>, Vec<String>) = objects
            .after_load
            .into_iter()
            .filter(|sql| !checks.contains(sql))
            .partition(|sql| indexes.contains(sql));
        if !builds.is_empty() {
            groups.push(builds.into_iter().map(Step::plain).collect());
        }
        groups.extend(rest.into_iter().map(|sql| vec![Step::plain(sql)]));
        after_fks.extend(objects.after_foreign_keys);
        let shown = match t.schema.as_deref() {
            None | Some("public") => t.name.clone(),
            Some(schema) => format!("{schema}.{}", t.name),
        };
        for fk in &s.foreign_keys {
            let parent = missing.iter().position(|p| p.table_name() == fk.referenced_name());
            let mut fk = fk.clone();
            if let Some(p) = parent {
                fk.referenced_schema = models[p].schema.clone();
            }
            let add = format!("ALTER TABLE {staged} ADD {} NOT VALID", d.foreign_key_clause(&fk));
            // NOT VALID at the source: left so (its rows are not checked), as pg_dump does.
            let validate = match fk.not_valid {
                true => "SELECT 1".to_string(),
                false => format!("ALTER TABLE {staged} VALIDATE CONSTRAINT {}", d.ident(&fk.name)),
            };
            let holds = (shown.clone(), fk.name.clone(), "foreign key", " is not present");
            foreign_keys.push(FkBuild {
                child: i,
                parent,
                add: Step::plain(add),
                validate: Step {
                    sql: validate,
                    holds: Some(holds),
                },
            });
        }
        let real = t.schema.clone().unwrap_or_else(|| "public".into());
        at_move.push(format!("ALTER TABLE {staged} SET SCHEMA {}", d.ident(&real)));
        triggers.extend(t.extras.triggers.iter().flat_map(trigger_statements));
        triggers.extend(t.extras.row_security.iter().cloned());
        for r in t.extras.rules.iter().chain(&t.extras.statistics) {
            triggers.extend(r.definition.split(";\n").map(str::to_string));
        }
        tables.push(TableBuild {
            staged,
            schema: real,
            name: t.name.clone(),
            groups,
        });
    }
    for sql in &after_create {
        conn.execute(sql).await?;
    }
    // Keys are built once after the load (one sort each), before anything else.
    let created: Vec<String> = tables
        .iter()
        .map(|t| format!("{}::regclass", d.literal(&Value::Text(t.staged.clone()))))
        .collect();
    let keys = drop_keys(conn, &created).await?;
    let real_of = |schema: &str| -> Option<String> {
        stage
            .schemas
            .iter()
            .find(|(_, s)| s.as_str() == schema)
            .map(|(r, _)| r.clone())
    };
    for k in keys.into_iter().rev() {
        let real = real_of(&k.schema);
        let Some(t) = tables
            .iter_mut()
            .find(|t| Some(&t.schema) == real.as_ref() && t.name == k.table)
        else {
            continue;
        };
        let shown = match t.schema.as_str() {
            "public" => t.name.clone(),
            schema => format!("{schema}.{}", t.name),
        };
        let sql = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {}",
            k.key.table,
            d.ident(&k.key.name),
            k.key.definition
        );
        t.groups.insert(
            0,
            vec![Step {
                sql,
                holds: Some((shown, k.key.name.clone(), "key", " is duplicated")),
            }],
        );
    }
    let (create_views, refresh_views) = views;
    at_move.extend(create_views);
    at_move.extend(triggers);
    at_move.extend(refresh_views);
    for s in stage.schemas.values() {
        at_move.push(format!("DROP SCHEMA {}", d.ident(s)));
    }
    Ok(Staged {
        stage,
        tables,
        foreign_keys,
        after_fks,
        at_move,
        lanes: 1,
        moved_fks: missing
            .iter()
            .map(|t| (t.table_name(), t.foreign_keys.clone()))
            .collect(),
    })
}

/// What a build connection does next.
enum Task {
    /// A statement on table `.0`.
    Table(usize, Step),
    /// A foreign key: added NOT VALID, validated.
    Fk(Box<FkBuild>),
    /// Statements one after another (the foreign keys' comments).
    Serial(Vec<Step>),
}

enum Next {
    Run(Task),
    Wait,
    Done,
}

/// Hands out the build's statements, largest table first: per table its groups in
/// order; a foreign key once its child and parent are built (their index builds would
/// wait for it), and while no other foreign key of its child or parent is being
/// validated (a validation locks its child against another, not its parent); the
/// foreign keys' comments last.
struct Schedule {
    groups: Vec<VecDeque<VecDeque<Step>>>,
    running_on: Vec<usize>,
    /// Table sizes (bytes), the order work is handed out in.
    sizes: Vec<i64>,
    /// Foreign keys left: (child, parent, add, validate).
    fks: Vec<Option<FkBuild>>,
    /// Children of the foreign keys being built.
    fk_busy: HashSet<usize>,
    after_fks: Option<Vec<Step>>,
    running: usize,
    failed: bool,
}

impl Schedule {
    fn built(&self, t: usize) -> bool {
        self.running_on[t] == 0 && self.groups[t].iter().all(VecDeque::is_empty)
    }

    fn next(&mut self) -> Next {
        if self.failed {
            return if self.running == 0 { Next::Done } else { Next::Wait };
        }
        // The largest piece of work that may start: a table's statement or a foreign key.
        let mut best: Option<(i64, Option<usize>, Option<usize>)> = None;
        for t in 0..self.groups.len() {
            let groups = &mut self.groups[t];
            while self.running_on[t] == 0 && groups.front().is_some_and(|g| g.is_empty()) {
                groups.pop_front();
            }
            if groups.front().is_some_and(|g| !g.is_empty()) && best.is_none_or(|b| self.sizes[t] > b.0) {
                best = Some((self.sizes[t], Some(t), None));
            }
        }
        for (i, fk) in self.fks.iter().enumerate() {
            let Some(fk) = fk else { continue };
            let tables = [Some(fk.child), fk.parent];
            let ready = tables
                .iter()
                .flatten()
                .all(|&t| self.built(t) && !self.fk_busy.contains(&t));
            if ready && best.is_none_or(|b| self.sizes[fk.child] > b.0) {
                best = Some((self.sizes[fk.child], None, Some(i)));
            }
        }
        match best {
            Some((_, Some(t), _)) => {
                let step = self.groups[t]
                    .front_mut()
                    .and_then(VecDeque::pop_front)
                    .expect("a table with a statement ready");
                self.running_on[t] += 1;
                self.running += 1;
                return Next::Run(Task::Table(t, step));
            }
            Some((_, None, Some(i))) => {
                let fk = self.fks[i].take().expect("a foreign key ready");
                self.fk_busy.insert(fk.child);
                self.running += 1;
                return Next::Run(Task::Fk(Box::new(fk)));
            }
            _ => {}
        }
        if self.running > 0 || self.fks.iter().any(Option::is_some) || self.groups.iter().any(|g| !g.is_empty()) {
            return Next::Wait;
        }
        match self.after_fks.take() {
            Some(steps) => {
                self.running += 1;
                Next::Run(Task::Serial(steps))
            }
            None => Next::Done,
        }
    }

    fn done(&mut self, task: &Task) {
        self.running -= 1;
        match task {
            Task::Table(t, _) => self.running_on[*t] -= 1,
            Task::Fk(fk) => {
                self.fk_busy.remove(&fk.child);
            }
            Task::Serial(_) => {}
        }
    }
}

async fn run_step(conn: &mut Connection, shown: &str, step: &Step) -> Result<(), SyncError> {
    match (conn.execute(&step.sql).await, &step.holds) {
        (Ok(()), _) => Ok(()),
        (Err(e), Some((table, constraint, what, key_end))) => {
            Err(rejected(shown, table, constraint, what, key_end, &e, STAGE_DROPPED))
        }
        (Err(e), None) => Err(e.into()),
    }
}

/// One build connection: runs what the schedule hands out until it is done.
async fn build_worker(
    conn: &mut Connection,
    shown: &str,
    schedule: &Mutex<Schedule>,
    notify: &Notify,
) -> Result<(), SyncError> {
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let next = schedule.lock().expect("lock").next();
        let task = match next {
            Next::Done => return Ok(()),
            Next::Wait => {
                notified.await;
                continue;
            }
            Next::Run(task) => task,
        };
        let result = match &task {
            Task::Table(_, step) => run_step(conn, shown, step).await,
            Task::Fk(fk) => match run_step(conn, shown, &fk.add).await {
                Ok(()) => run_step(conn, shown, &fk.validate).await,
                Err(e) => Err(e),
            },
            Task::Serial(steps) => {
                let mut result = Ok(());
                for step in steps {
                    result = run_step(conn, shown, step).await;
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
        };
        {
            let mut s = schedule.lock().expect("lock");
            s.done(&task);
            s.failed |= result.is_err();
        }
        notify.notify_waiters();
        result?;
    }
}

impl Destination {
    /// Builds the staged tables' keys, indexes and foreign keys after the load, on
    /// `lanes` connections (this one and new ones). A failure drops the staging schemas.
    pub(super) async fn build_staged(&mut self, progress: &dyn Progress) -> Result<(), SyncError> {
        let Some(staged) = self.stage.as_mut() else {
            return Ok(());
        };
        let lanes = staged.lanes.max(1);
        let steps: usize = staged.tables.iter().flat_map(|t| &t.groups).map(Vec::len).sum();
        progress.phase(&format!(
            "{}: building {} keys, indexes and constraints and validating {} foreign keys in the staging schemas on {} connections",
            self.shown,
            steps,
            staged.foreign_keys.len(),
            lanes
        ));
        let sizes: Vec<String> = staged
            .tables
            .iter()
            .map(|t| {
                format!(
                    "pg_relation_size({})",
                    self.conn.dialect().literal(&Value::Text(t.staged.clone()))
                )
            })
            .collect();
        let int = DataType::Int {
            bytes: 8,
            unsigned: false,
        };
        let sizes = match sizes.is_empty() {
            true => Vec::new(),
            false => self
                .conn
                .query(&format!("SELECT {}", sizes.join(", ")), &vec![int; sizes.len()])
                .await?
                .into_iter()
                .next()
                .unwrap_or_default(),
        };
        let sizes: Vec<i64> = (0..staged.tables.len())
            .map(|i| match sizes.get(i) {
                Some(Value::Int(n)) => *n,
                _ => 0,
            })
            .collect();
        let schedule = Mutex::new(Schedule {
            groups: staged
                .tables
                .iter_mut()
                .map(|t| std::mem::take(&mut t.groups).into_iter().map(VecDeque::from).collect())
                .collect(),
            running_on: vec![0; staged.tables.len()],
            sizes,
            fks: std::mem::take(&mut staged.foreign_keys).into_iter().map(Some).collect(),
            fk_busy: HashSet::new(),
            after_fks: Some(
                std::mem::take(&mut staged.after_fks)
                    .into_iter()
                    .map(Step::plain)
                    .collect(),
            ),
            running: 0,
            failed: false,
        });
        let mut others = Vec::new();
        let mut opened = Ok(());
        for _ in 1..lanes.max(1) {
            match self.another().await {
                Ok(d) => others.push(d.conn),
                Err(e) => {
                    opened = Err(e);
                    break;
                }
            }
        }
        let notify = Notify::new();
        let built = match opened {
            Err(e) => Err(e),
            Ok(()) => {
                let mut conns: Vec<&mut Connection> = vec![&mut self.conn];
                conns.extend(others.iter_mut());
                let mut result = Ok(());
                for c in conns.iter_mut() {
                    if let Err(e) = raise_memory(c, false).await {
                        result = Err(e);
                    }
                }
                if result.is_ok() {
                    let shown = self.shown.clone();
                    let workers = conns
                        .into_iter()
                        .map(|c| build_worker(c, &shown, &schedule, &notify))
                        .collect();
                    for r in super::join_all(workers).await {
                        if result.is_ok() {
                            result = r;
                        }
                    }
                }
                result
            }
        };
        for c in others {
            c.close().await;
        }
        if let Err(e) = built {
            self.drop_stage().await;
            return Err(failed(e));
        }
        Ok(())
    }

    /// Moves the staged tables to their schemas in one transaction, with the views and
    /// triggers; the job's tables are then the real ones. A failure drops the staging
    /// schemas.
    pub(super) async fn move_staged(&mut self, progress: &dyn Progress) -> Result<(), SyncError> {
        let Some(staged) = self.stage.as_ref() else {
            return Ok(());
        };
        progress.phase(&format!(
            "{}: moving {} tables to their schemas in one transaction",
            self.shown,
            staged.tables.len()
        ));
        let statements = staged.at_move.clone();
        let real = staged.real_schemas();
        let run = staged.stage.run;
        let moved_fks = staged.moved_fks.clone();
        let mut moved = self.conn.execute("BEGIN").await;
        if moved.is_ok() {
            for sql in &statements {
                moved = self.conn.execute(sql).await;
                if moved.is_err() {
                    break;
                }
            }
        }
        if let Err(e) = moved {
            let _ = self.conn.execute("ROLLBACK").await;
            self.drop_stage().await;
            // 42P07: a table of the job exists in its real schema by now.
            let e = match e.to_string().contains("server error 42P07") {
                true => with_note(
                    e.into(),
                    &format!("another run or user created the table meanwhile; {STAGE_DROPPED}"),
                ),
                false => failed(e.into()),
            };
            return Err(e);
        }
        if let Err(e) = self.conn.execute("COMMIT").await {
            self.drop_stage().await;
            return Err(failed(e.into()));
        }
        self.stage = None;
        self.staged_load = false;
        let _ = self
            .conn
            .query(
                &format!("SELECT pg_advisory_unlock({LOCK_CLASS}, {})", run as i32),
                &[DataType::Boolean],
            )
            .await;
        let tables = self
            .tables
            .iter()
            .map(|(k, t)| {
                let mut t = t.clone();
                if let Some(r) = t.schema.as_ref().and_then(|s| real.get(s)) {
                    t.schema = Some(r.clone());
                }
                // Created after the tables were read: as created.
                if let Some(fks) = moved_fks.get(&t.table_name()) {
                    t.foreign_keys = fks.clone();
                }
                (k.clone(), t)
            })
            .collect();
        self.tables = std::sync::Arc::new(tables);
        self.fks_validated = true;
        Ok(())
    }

    /// Drops the staging schemas of a failed run (nothing of it stays).
    pub(super) async fn drop_stage(&mut self) {
        if let Some(staged) = self.stage.take() {
            staged.drop_schemas(&mut self.conn).await;
        }
    }
}

/// Raises `maintenance_work_mem` and `work_mem` where the server's are lower (index
/// builds sort whole tables, FK validations join them): for the session, or the
/// transaction (`local`).
pub(super) async fn raise_memory(conn: &mut Connection, local: bool) -> Result<(), SyncError> {
    for (setting, size) in [("maintenance_work_mem", "256MB"), ("work_mem", "64MB")] {
        conn.query(
            &format!(
                "SELECT set_config('{setting}', '{size}', {local}) WHERE \
                 pg_size_bytes(current_setting('{setting}')) < pg_size_bytes('{size}')"
            ),
            &[DataType::Text],
        )
        .await?;
    }
    Ok(())
}
