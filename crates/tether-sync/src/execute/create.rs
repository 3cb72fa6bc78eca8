//! Creating the tables the plan creates on a destination, from the models the plan
//! made (`SchemaReport::models`, what `tether plan` printed): schemas, user types and
//! functions (same engine), tables in inheritance order, partitions, foreign keys, views;
//! what a restore builds after the data is kept for [`super::finish_schema`].

use std::collections::BTreeSet;

use tether_connect::{Connection, TableObjects, Value};
use tether_schema::{Schema, Table, TableName};

use super::destination::Made;
use super::method::{self, LoadPlan};
use super::stage::{self, Staged};
use super::Progress;
use crate::config::DestinationSpec;
use crate::error::SyncError;
use crate::plan::Plan;
use crate::schema_plan::{Action, SchemaReport};

/// What creating the tables leaves for later in the load.
pub(super) struct Created {
    /// Run once the rows are in: indexes, CHECKs, triggers, materialized views.
    pub after_load: Vec<String>,
    /// `setval` to the source's sequence state, for the tables created here.
    pub sequence_states: Vec<String>,
    /// Tables created here (`regclass` literals) where the load is one transaction.
    pub created: Vec<String>,
    /// The tables were created in staging schemas (see [`super::stage`]): what is left
    /// to build there and to do when they move.
    pub staged: Option<Box<Staged>>,
    /// How the destination loads ([`super::method::decide`]).
    pub load: LoadPlan,
}

/// True when the table is created from the source engine's own definition (MariaDB's
/// `SHOW CREATE TABLE`, SQLite's `CREATE TABLE` from `sqlite_master`), foreign keys
/// included.
fn verbatim(t: &Table, same_engine: bool) -> bool {
    same_engine && t.extras.definition.is_some()
}

/// Creates the tables the plan creates on this destination (`planned`: its schema
/// report, when planning could read the destination; else made here the same way),
/// having decided how it loads. What it creates in place is listed in `made` as it
/// goes, so a failure (here or later in the run) can drop it again.
#[allow(clippy::too_many_arguments)]
pub(super) async fn create_tables(
    conn: &mut Connection,
    shown: &str,
    spec: &DestinationSpec,
    plan: &Plan,
    planned: Option<&SchemaReport>,
    source: &Schema,
    existing: &Schema,
    made: &mut Made,
    progress: &dyn Progress,
) -> Result<Created, SyncError> {
    let engine = conn.engine();
    let d = conn.dialect();
    let computed;
    let report = match planned {
        Some(report) => report,
        None => {
            computed = crate::schema_plan::report(source, &plan.job_tables(), engine, existing);
            &computed
        }
    };
    let mut missing: Vec<Table> = Vec::new();
    let mut after_load: Vec<String> = refreshed_views(conn, shown, plan, source, existing, progress).await?;
    let mut sequence_states: Vec<String> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    for model in &report.models {
        let want = model.table_name();
        if existing.table(&want).is_some() {
            return Err(SyncError::Plan(format!(
                "{shown}: table {want} appeared after planning; run the job again to plan with it"
            )));
        }
        missing.push(model.clone());
    }
    for item in report
        .objects
        .iter()
        .filter(|i| i.kind == "foreign key" && i.action == Action::Mapped)
    {
        progress.phase(&format!(
            "{shown}: foreign key {}: {} created as {} ({})",
            item.name,
            item.from.as_deref().unwrap_or(""),
            item.to.as_deref().unwrap_or(""),
            item.reason.as_deref().unwrap_or("")
        ));
    }
    // Staging schemas a killed run left (see `super::stage`): dropped by any run that
    // may create tables here, staged or not.
    if engine == tether_schema::Engine::Postgres && spec.create_tables && plan.mode != crate::config::Mode::Data {
        stage::clean_stale(conn, shown, progress).await?;
    }
    let decision = method::decide(conn, spec, plan, &missing, &report.existing).await?;
    let load = decision.plan;
    if plan.mode != crate::config::Mode::Schema {
        progress.phase(&format!("{shown}: load: {}", load.to_text(spec.checks)));
    }
    if !missing.is_empty() {
        if let Some(e) = report.case_clash_refusal(shown) {
            return Err(e);
        }
        if let Some(why) = crate::plan::creates_nothing(plan.mode, spec.create_tables) {
            let names: Vec<String> = missing.iter().map(|t| t.table_name().to_string()).collect();
            return Err(SyncError::Plan(format!(
                "{shown}: tables missing and {why}: {}",
                names.join(", ")
            )));
        }
        let n = missing.len();
        progress.phase(&format!("{shown}: creating {n} table{}", if n == 1 { "" } else { "s" }));
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
        // Staging models (see `super::stage`), decided before anything is created.
        let staged_models = decision.staged;
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
            if engine == tether_schema::Engine::Postgres {
                ensure_schema(conn, &s, made).await?;
            } else {
                conn.execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", d.ident(&s)))
                    .await?;
            }
        }
        let same_engine = source.engine == engine;
        if !same_engine && engine == tether_schema::Engine::Postgres {
            // The functions of the triggers the plan made for this engine (MariaDB's ON
            // UPDATE CURRENT_TIMESTAMP): named as their trigger, in the table's schema.
            for t in &missing {
                for tr in t.extras.triggers.iter().filter(|tr| tr.function.is_some()) {
                    let function = d.table(t.schema.as_deref(), &tr.name);
                    made.drop_objects.push(format!("DROP FUNCTION IF EXISTS {function}()"));
                }
            }
        }
        let job_tables: Vec<TableName> = plan.tables.iter().map(|tp| tp.table.table_name()).collect();
        // The source's views over the job's tables this destination lacks.
        // (Without the triggers and rules naming a table the job leaves out: said in the plan.)
        let copied: Vec<tether_schema::View> = match same_engine {
            true => views_created(source, existing, &job_tables)
                .into_iter()
                .map(|v| crate::schema_plan::view_as_copied(source, &job_tables, v))
                .collect(),
            false => Vec::new(),
        };
        let views: Vec<&tether_schema::View> = copied.iter().collect();
        if same_engine && engine == tether_schema::Engine::Postgres {
            let used: Vec<&str> = views
                .iter()
                .flat_map(|v| v.extensions.iter().map(String::as_str))
                .collect();
            extensions_and_collations(conn, shown, source, &missing, &used, made, progress).await?;
        }
        if !same_engine && engine == tether_schema::Engine::Postgres {
            // The extensions the plan's equivalents need (btree_gist for a MariaDB
            // WITHOUT OVERLAPS key's EXCLUDE constraint).
            for t in &missing {
                for e in &t.extras.extensions {
                    let lit = d.literal(&Value::Text(e.clone()));
                    if holds(
                        conn,
                        &format!("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = {lit})"),
                    )
                    .await?
                    {
                        continue;
                    }
                    progress.phase(&format!("{shown}: creating extension {e} (used by {})", t.name));
                    conn.execute(&format!("CREATE EXTENSION IF NOT EXISTS {}", d.ident(e)))
                        .await
                        .map_err(|err| {
                            SyncError::Plan(format!(
                                "{shown}: extension {e} (used by table {}, see the plan) could not be created: {err}; \
                                 install it on the destination's server (Debian: postgresql-contrib) or have a \
                                 superuser run CREATE EXTENSION {e} in that database",
                                t.name
                            ))
                        })?;
                    made.drop_objects
                        .push(format!("DROP EXTENSION IF EXISTS {}", d.ident(e)));
                }
            }
        }
        if same_engine && engine == tether_schema::Engine::Mysql {
            let of_views = views
                .iter()
                .filter_map(|v| source.objects.view_sequences.get(&v.name))
                .flatten();
            let sequences: Vec<&tether_schema::Sequence> = missing
                .iter()
                .flat_map(|t| &t.extras.sequences)
                .chain(of_views)
                .collect();
            mariadb_sequences(conn, &sequences, made).await?;
        }
        // The functions the tables and those views call, with the functions those call.
        let called = missing
            .iter()
            .flat_map(|t| {
                let rules = t.extras.rules.iter().flat_map(|r| &r.functions);
                t.extras.functions.iter().chain(&t.extras.policy_functions).chain(rules)
            })
            .chain(views.iter().flat_map(|v| v.functions.iter()))
            .map(String::as_str);
        let functions: Vec<&tether_schema::Function> = match same_engine {
            true => source.objects.functions_with_callees(called),
            false => Vec::new(),
        };
        if same_engine {
            // The user types of the tables, and of those functions' signatures.
            let names = missing
                .iter()
                .flat_map(|t| t.extras.user_types.values().chain(&t.extras.of_type).cloned())
                .chain(functions.iter().flat_map(|f| f.types.iter().cloned()));
            for ty in source.objects.types_named(names) {
                if existing.objects.user_type(&ty.qualified()).is_none() {
                    if let Some(schema) = &ty.schema {
                        ensure_schema(conn, schema, made).await?;
                    }
                    for sql in d.create_type(ty) {
                        conn.execute(&sql).await?;
                    }
                    let kind = match ty.kind {
                        tether_schema::TypeKind::Domain { .. } => "DOMAIN",
                        _ => "TYPE",
                    };
                    made.drop_objects.push(format!(
                        "DROP {kind} IF EXISTS {}",
                        d.table(ty.schema.as_deref(), &ty.name)
                    ));
                }
            }
        }
        // Functions naming a job table (`RETURNS SETOF t`) are created with the views,
        // once the tables are in place; those naming a view, among the views.
        let mut with_views: Vec<String> = Vec::new();
        let mut after_views: Vec<(String, String)> = Vec::new();
        let mut after_drops: Vec<String> = Vec::new();
        // Functions before the tables whose defaults, constraints, indexes or triggers
        // call them; bodies unchecked until used, as pg_dump sets it.
        let mut first = true;
        for f in functions {
            if f.after_views || f.after_tables {
                // Created with the views: dropped with them by an undo (before the
                // tables, which they name), unless the destination had them.
                let (exists, drop) = routine_of(d, engine, &f.name);
                if !holds(conn, &exists).await? {
                    if f.after_views {
                        after_drops.extend(drop);
                    } else {
                        made.drop_views.extend(drop);
                    }
                }
                match f.after_views {
                    true => after_views.push((f.name.clone(), f.definition.clone())),
                    false => with_views.push(f.definition.clone()),
                }
                continue;
            }
            if first && engine == tether_schema::Engine::Postgres {
                conn.execute("SET check_function_bodies = false").await?;
                first = false;
            }
            // A function the destination has already is replaced (PostgreSQL's CREATE
            // OR REPLACE) or kept (MariaDB's CREATE refuses): never dropped by an undo.
            let (exists, drop) = routine_of(d, engine, &f.name);
            let existed = holds(conn, &exists).await?;
            if existed && engine == tether_schema::Engine::Mysql {
                continue;
            }
            if engine == tether_schema::Engine::Postgres {
                if let Some((schema, _)) = f.name.split_once('.') {
                    ensure_schema(conn, schema, made).await?;
                }
            }
            match conn.execute(&f.definition).await {
                Ok(()) => {
                    if !existed {
                        made.drop_objects.extend(drop);
                    }
                }
                // Only named in another function's body: said, and the copy goes on.
                Err(e) if f.maybe => progress.phase(&format!(
                    "{shown}: function {} (named in the body of a function the tables call) not created: {e}",
                    f.name
                )),
                Err(e) => return Err(e.into()),
            }
        }
        // (MariaDB's sequences were created at their state above. Another engine's
        // model has none but a MariaDB AUTO_INCREMENT's on PostgreSQL.)
        for t in &missing {
            for seq in &t.extras.sequences {
                let Some(last) = seq.last_value else { continue };
                sequence_states.extend(d.sequence_state(t, seq, last));
            }
        }
        let mut view_sql = match same_engine {
            true => views_sql(d, &views, after_views),
            false => (Vec::new(), Vec::new()),
        };
        view_sql.0.splice(0..0, with_views);
        if let Some((stage, models)) = staged_models {
            let tables = stage::StagedTables {
                missing: &missing,
                models,
                views: view_sql,
                same_engine,
            };
            let staged = stage::create(conn, stage, tables, progress).await?;
            return Ok(Created {
                after_load,
                sequence_states,
                created: Vec::new(),
                staged: Some(Box::new(staged)),
                load,
            });
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
            let name = report
                .create
                .get(
                    report
                        .models
                        .iter()
                        .position(|m| m.table_name() == t.table_name())
                        .unwrap_or(usize::MAX),
                )
                .cloned()
                .unwrap_or_else(|| t.table_name().to_string());
            if let Err(e) = conn.execute(&d.create_table(t, inline, same_engine)).await {
                if !verbatim(t, same_engine) {
                    return Err(e.into());
                }
                // The source's own definition names something this server lacks (a
                // MySQL 8 collation on MariaDB, a storage engine): build it from the
                // model instead, as for another engine's table.
                progress.phase(&format!(
                    "{shown}: table {}: the source's own definition was refused ({e}); created from the model",
                    t.name
                ));
                missing[i].extras.definition = None;
                objects[i] = d.table_objects(&missing[i]);
                conn.execute(&d.create_table(&missing[i], inline, same_engine)).await?;
            }
            made.tables.push((name, d.qualified(&missing[i])));
            for sql in d.create_partitions(&missing[i]) {
                conn.execute(&sql).await?;
            }
            for sql in &objects[i].with_table {
                conn.execute(sql).await?;
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
                    // A partition's own key on that partition; NOT VALID as at the
                    // source (its rows are not checked), as pg_dump creates it.
                    let on = match &fk.partition {
                        Some(p) => d.table(p.schema.as_deref(), &p.name),
                        None => d.qualified(t),
                    };
                    let not_valid = match fk.not_valid && d.engine() == tether_connect::Engine::Postgres {
                        true => " NOT VALID",
                        false => "",
                    };
                    conn.execute(&format!("ALTER TABLE {on} ADD {}{not_valid}", d.foreign_key_clause(fk)))
                        .await?;
                }
            }
        }
        for sql in objects.iter().flat_map(|o| &o.after_foreign_keys) {
            conn.execute(sql).await?;
        }
        let (create_views, refresh_views) = view_sql;
        // Listed first: a view created before one that fails is dropped too.
        made.drop_views.extend(views_dropped(d, &views));
        made.drop_views.extend(after_drops);
        for sql in &create_views {
            conn.execute(sql).await?;
        }
        after_load.extend(objects.into_iter().flat_map(|o| o.after_load));
        if conn.loads_atomically() {
            created.extend(
                missing
                    .iter()
                    .map(|t| format!("{}::regclass", d.literal(&Value::Text(d.qualified(t))))),
            );
        }
        after_load.extend(refresh_views);
    }
    Ok(Created {
        after_load,
        sequence_states,
        created,
        staged: None,
        load,
    })
}

/// The destination's materialized views over the job's tables it already has
/// (PostgreSQL): refreshed after the load as a restore does, each where it is populated
/// (one left `WITH NO DATA` stays so) and the role may (its owner's member); said in
/// the progress, those left as they are too.
async fn refreshed_views(
    conn: &mut Connection,
    shown: &str,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
    progress: &dyn Progress,
) -> Result<Vec<String>, SyncError> {
    let d = conn.dialect();
    if d.engine() != tether_schema::Engine::Postgres || plan.mode == crate::config::Mode::Schema {
        return Ok(Vec::new());
    }
    let loaded: Vec<TableName> = plan
        .tables
        .iter()
        .map(|tp| super::destination::destination_name(source, &tp.table.table_name(), d.engine()))
        .filter(|n| existing.table(n).is_some())
        .collect();
    let mut refresh = Vec::new();
    for v in existing.objects.materialized_views_reading(&loaded) {
        let text = |s: &str| d.literal(&Value::Text(s.to_string()));
        let state = conn
            .query(
                &format!(
                    "SELECT ispopulated, pg_has_role(matviewowner, 'USAGE') FROM pg_matviews \
                     WHERE schemaname = {} AND matviewname = {}",
                    text(v.schema.as_deref().unwrap_or("public")),
                    text(&v.name)
                ),
                &[tether_schema::DataType::Boolean, tether_schema::DataType::Boolean],
            )
            .await?;
        let name = v.table_name().to_string();
        match state.first().map(|r| (r.first(), r.get(1))) {
            Some((Some(Value::Bool(true)), Some(Value::Bool(true)))) => {
                refresh.push(format!(
                    "REFRESH MATERIALIZED VIEW {}",
                    d.table(v.schema.as_deref(), &v.name)
                ));
                progress.phase(&format!(
                    "{shown}: materialized view {name} reads tables loaded: refreshed after the load"
                ));
            }
            Some((Some(Value::Bool(true)), _)) => progress.phase(&format!(
                "{shown}: materialized view {name} reads tables loaded: NOT refreshed, the role does not own it \
                 (it shows the rows as of its last refresh)"
            )),
            _ => progress.phase(&format!(
                "{shown}: materialized view {name} reads tables loaded: left unpopulated, as it is"
            )),
        }
    }
    Ok(refresh)
}

/// The source's views over the job's tables (and such views) the destination lacks,
/// in creation order: what [`views_sql`] creates.
fn views_created<'a>(source: &'a Schema, existing: &Schema, job_tables: &[TableName]) -> Vec<&'a tether_schema::View> {
    source
        .objects
        .views_over(job_tables)
        .into_iter()
        .filter(|v| !existing.objects.views.iter().any(|e| e.table_name() == v.table_name()))
        .collect()
}

/// The MariaDB sequences the tables' defaults and triggers and the created views use,
/// where the destination lacks them: created as the source's, continuing from its next
/// value (cached ones included, so the copy hands out none the source already may
/// have).
async fn mariadb_sequences(
    conn: &mut Connection,
    sequences: &[&tether_schema::Sequence],
    made: &mut Made,
) -> Result<(), SyncError> {
    let d = conn.dialect();
    let mut done: Vec<&str> = Vec::new();
    for s in sequences {
        if done.contains(&s.name.as_str()) {
            continue;
        }
        done.push(&s.name);
        let exists = format!(
            "SELECT EXISTS (SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_TYPE = 'SEQUENCE' AND TABLE_NAME = {})",
            d.literal(&Value::Text(s.name.clone()))
        );
        if holds(conn, &exists).await? {
            continue;
        }
        let name = d.ident(&s.name);
        conn.execute(&format!(
            "CREATE SEQUENCE {name} START WITH {} MINVALUE {} MAXVALUE {} INCREMENT BY {} CACHE {} {}",
            s.start,
            s.min,
            s.max,
            s.increment,
            s.cache,
            if s.cycle { "CYCLE" } else { "NOCYCLE" }
        ))
        .await?;
        made.drop_objects.push(format!("DROP SEQUENCE IF EXISTS {name}"));
        if let Some(next) = s.last_value {
            conn.execute(&format!("SELECT SETVAL({name}, {next}, 0)")).await?;
        }
    }
    Ok(())
}

/// Whether the one-boolean query `sql` answers true.
async fn holds(conn: &mut Connection, sql: &str) -> Result<bool, SyncError> {
    let found = conn.query(sql, &[tether_schema::DataType::Boolean]).await?;
    Ok(matches!(found.first().and_then(|r| r.first()), Some(Value::Bool(true))))
}

/// The statements dropping the views [`views_sql`] creates (a failed run drops them
/// before its tables).
fn views_dropped(d: &dyn tether_connect::Dialect, views: &[&tether_schema::View]) -> Vec<String> {
    views
        .iter()
        .map(|v| {
            let what = if v.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
            format!("DROP {what} IF EXISTS {}", d.table(v.schema.as_deref(), &v.name))
        })
        .collect()
}

/// The statements creating the source's views over the job's tables that the
/// destination lacks (with their comments), and refreshing its materialized views
/// (after the load).
fn views_sql(
    d: &dyn tether_connect::Dialect,
    views: &[&tether_schema::View],
    mut naming_views: Vec<(String, String)>,
) -> (Vec<String>, Vec<String>) {
    let mut create = Vec::new();
    let mut refresh = Vec::new();
    for v in views {
        // A function naming views (`RETURNS SETOF v1`) comes right before the first
        // view calling it, after the views before that one.
        let (now, later): (Vec<_>, Vec<_>) = naming_views
            .into_iter()
            .partition(|(name, _)| v.functions.contains(name));
        naming_views = later;
        create.extend(now.into_iter().map(|(_, sql)| sql));
        create.push(v.definition.clone());
        create.extend(v.indexes.iter().cloned());
        // Its INSTEAD OF triggers and rules (their functions came before): without them
        // a statement through the view acts otherwise on the copy.
        create.extend(v.triggers.iter().map(|t| t.definition.clone()));
        create.extend(v.rules.iter().map(|r| r.definition.clone()));
        if let Some(c) = &v.comment {
            let what = if v.materialized { "MATERIALIZED VIEW" } else { "VIEW" };
            create.push(format!(
                "COMMENT ON {what} {} IS {}",
                d.table(v.schema.as_deref(), &v.name),
                d.literal(&Value::Text(c.clone()))
            ));
        }
        if v.materialized {
            refresh.push(format!(
                "REFRESH MATERIALIZED VIEW {}",
                d.table(v.schema.as_deref(), &v.name)
            ));
        }
    }
    create.extend(naming_views.into_iter().map(|(_, sql)| sql));
    (create, refresh)
}

/// Creates PostgreSQL schema `schema` where it is missing (a table's, or a function's,
/// type's or extension's, which no table may live in), to be dropped again by an undo.
async fn ensure_schema(conn: &mut Connection, schema: &str, made: &mut Made) -> Result<(), SyncError> {
    if conn.engine() != tether_schema::Engine::Postgres {
        return Ok(());
    }
    // CREATE SCHEMA IF NOT EXISTS needs the database's CREATE privilege even when the
    // schema exists: asked first.
    let d = conn.dialect();
    let lit = d.literal(&Value::Text(schema.to_string()));
    if !holds(
        conn,
        &format!("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = {lit})"),
    )
    .await?
    {
        let ident = d.ident(schema);
        conn.execute(&format!("CREATE SCHEMA IF NOT EXISTS {ident}")).await?;
        made.drop_objects.push(format!("DROP SCHEMA IF EXISTS {ident}"));
    }
    Ok(())
}

/// A query telling whether the destination has a routine of this name (PostgreSQL:
/// `schema.name`, any arguments), and the statements dropping them all.
fn routine_of(d: &dyn tether_connect::Dialect, engine: tether_schema::Engine, name: &str) -> (String, Vec<String>) {
    let lit = d.literal(&Value::Text(name.to_string()));
    if engine == tether_schema::Engine::Postgres {
        let which = format!(
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname::text || '.' || p.proname::text = {lit}"
        );
        (
            format!("SELECT EXISTS (SELECT 1 {which})"),
            vec![format!(
                "DO $tether$ DECLARE r record; BEGIN FOR r IN SELECT p.oid::regprocedure AS f, p.prokind {which} \
                 ORDER BY p.prokind = 'a' DESC LOOP EXECUTE CASE r.prokind WHEN 'a' THEN 'DROP AGGREGATE ' \
                 WHEN 'p' THEN 'DROP PROCEDURE ' ELSE 'DROP FUNCTION ' END || r.f::text; END LOOP; END $tether$"
            )],
        )
    } else {
        (
            format!(
                "SELECT EXISTS (SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = database() \
                 AND ROUTINE_NAME = {lit})"
            ),
            vec![
                format!("DROP FUNCTION IF EXISTS {}", d.ident(name)),
                format!("DROP PROCEDURE IF EXISTS {}", d.ident(name)),
            ],
        )
    }
}

/// Creates the extensions the tables and `views` (the views created with them) use,
/// and the collations of the user's schemas the tables use
/// (PostgreSQL to PostgreSQL), as `pg_dump` declares them, where the destination lacks
/// them: before the types, functions and tables that name them.
async fn extensions_and_collations(
    conn: &mut Connection,
    shown: &str,
    source: &Schema,
    missing: &[Table],
    views: &[&str],
    made: &mut Made,
    progress: &dyn Progress,
) -> Result<(), SyncError> {
    let users = |name: &str, of: fn(&Table) -> &Vec<String>| -> String {
        let names: Vec<String> = missing
            .iter()
            .filter(|t| of(t).iter().any(|n| n == name))
            .map(|t| t.table_name().to_string())
            .collect();
        names.join(", ")
    };
    let d = conn.dialect();
    for e in
        source.objects.extensions.iter().filter(|e| {
            missing.iter().any(|t| t.extras.extensions.contains(&e.name)) || views.contains(&e.name.as_str())
        })
    {
        let name = d.literal(&Value::Text(e.name.clone()));
        if holds(
            conn,
            &format!("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = {name})"),
        )
        .await?
        {
            continue;
        }
        let mut used_by = users(&e.name, |t| &t.extras.extensions);
        if used_by.is_empty() {
            used_by = "the views".to_string();
        }
        progress.phase(&format!("{shown}: creating extension {} (used by {used_by})", e.name));
        ensure_schema(conn, &e.schema, made).await?;
        let schema = d.ident(&e.schema);
        let sql = format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {schema} CASCADE",
            d.ident(&e.name)
        );
        conn.execute(&sql).await.map_err(|err| {
            SyncError::Plan(format!(
                "{shown}: extension {} (used by {used_by}) could not be created: {err}; install it on the \
                 destination's server (Debian: postgresql-contrib) or have a superuser run CREATE EXTENSION {} \
                 in that database",
                e.name, e.name
            ))
        })?;
        made.drop_objects
            .push(format!("DROP EXTENSION IF EXISTS {}", d.ident(&e.name)));
    }
    for c in source
        .objects
        .collations
        .iter()
        .filter(|c| missing.iter().any(|t| t.extras.user_collations.contains(&c.name)))
    {
        let used_by = users(&c.name, |t| &t.extras.user_collations);
        let lit = d.literal(&Value::Text(c.name.clone()));
        let exists = format!(
            "SELECT EXISTS (SELECT 1 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace \
             WHERE n.nspname::text || '.' || c.collname::text = {lit})"
        );
        if holds(conn, &exists).await? {
            continue;
        }
        let (schema, name) = c.name.split_once('.').unwrap_or(("public", &c.name));
        made.drop_objects
            .push(format!("DROP COLLATION IF EXISTS {}", d.table(Some(schema), name)));
        conn.execute(&c.definition).await.map_err(|err| {
            SyncError::Plan(format!(
                "{shown}: collation {} (used by {used_by}) could not be created: {err}",
                c.name
            ))
        })?;
    }
    Ok(())
}
