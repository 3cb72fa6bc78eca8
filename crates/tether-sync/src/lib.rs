//! Tether's main job: copy a database into one or more destinations, subset, with
//! every foreign key intact.
//!
//! [`config`] reads the job file, [`plan`] turns it and the source's schema into a
//! [`plan::Plan`] (data: printable and testable), [`subset`] computes the rows a subset
//! includes, [`execute`] streams them to the destinations in load order, and [`verify`]
//! checks orphans and counts with its own queries. [`run`] ties them together.

pub mod anonymize;
pub mod config;
mod default_database;
pub mod demo;
mod disguise;
pub mod error;
pub mod execute;
pub mod names;
pub mod plan;
mod reaching;
pub mod scan;
pub mod schema_plan;
pub mod subset;
pub mod verify;

use serde::Serialize;
use tether_connect::{Connection, DbUrl, Filter, IntrospectOptions, ReadSpec};
use tether_schema::{virtual_fk, Schema};

pub use config::Job;
pub use error::SyncError;
pub use execute::Progress;
pub use plan::Plan;

/// The source read and the plan made, before anything is written.
pub struct Prepared {
    pub plan: Plan,
    pub rules: plan::SubsetRules,
    pub schema: Schema,
    pub source: Connection,
}

/// Debug timing of a job's phases (`TETHER_LOG=tether_sync=debug`): where a job's fixed
/// costs go (BENCHMARKS.md, "A subset's fixed costs").
struct Phases(std::time::Instant);

impl Phases {
    fn start() -> Self {
        Phases(std::time::Instant::now())
    }

    /// Logs the time since the previous phase ended, and starts the next.
    fn done(&mut self, phase: &str) {
        let now = std::time::Instant::now();
        tracing::debug!("phase {phase}: {:.1} ms", (now - self.0).as_secs_f64() * 1e3);
        self.0 = now;
    }
}

/// Reads the source's schema, merges the job's virtual FKs and makes the plan. Refuses
/// a destination that is the source or another destination ([`refuse_overlaps`]).
pub async fn prepare(job: &Job) -> Result<Prepared, SyncError> {
    let url = job.source_url()?;
    let mut dest_urls = Vec::new();
    let mut shown = Vec::new();
    for d in &job.destinations {
        let parsed = match &d.unresolved {
            Some(_) => None,
            None => Some(d.db_url()?),
        };
        // Refused as the sync would refuse it when it connects: by the plan too.
        if let Some(u) = &parsed {
            u.require_database()?;
        }
        shown.push(match &parsed {
            Some(u) => u.to_string(),
            None => tether_connect::url::redact(&d.url),
        });
        dest_urls.push(parsed);
    }
    let mut phases = Phases::start();
    // The destinations' tables are read (on their own connections) while the source is
    // opened and read: neither waits on the other. A destination that is the source is
    // only read here; refuse_overlaps refuses it before anything is written.
    let from_source = async {
        let mut source = Connection::open_source(&url).await?;
        let unchecked = refuse_overlaps(&mut source, job, &dest_urls, false).await?;
        let schema = source.introspect(&IntrospectOptions::default()).await?;
        Ok::<_, SyncError>((source, unchecked, schema))
    };
    let (from_source, mut found) = tokio::join!(from_source, introspect_destinations(&dest_urls, Some(false)));
    let (mut source, unchecked, mut schema) = from_source?;
    // A SQLite destination is read once the overlaps are refused: opening a file in WAL
    // mode makes its `-wal` and `-shm` files, a second pair for a file that is the
    // source's under another name (a hard link).
    let files = introspect_destinations(&dest_urls, Some(true)).await;
    for ((f, file), url) in found.iter_mut().zip(files).zip(&dest_urls) {
        if url
            .as_ref()
            .is_some_and(|u| u.engine() == tether_connect::Engine::Sqlite)
        {
            *f = file;
        }
    }
    phases.done("connect, refuse overlaps, introspect the source and (meanwhile) the destinations");
    virtual_fk::apply(&mut schema, &job.virtual_fks)?;
    let (mut plan, rules) = plan::build(job, &schema, &url.to_string(), &shown)?;
    schema_plan::refuse_unusable_fks(&plan, &schema)?;
    plan.unchecked = unchecked;
    plan.notes = default_database::notes(job, &dest_urls);
    plan.notes.extend(reaching::notes(&schema));
    // Triggers a run that died left dropped or turned off on a destination: said by
    // the plan; the sync puts them back first (`execute::suspended`).
    for (u, shown) in dest_urls.iter().zip(&shown) {
        if let Some(u) = u {
            let left = execute::suspended::left_at(u).await;
            if !left.is_empty() {
                plan.notes.push(execute::suspended::left_note(shown, &left));
            }
        }
    }
    phases.done("plan");
    check_source_queries(job, &plan, &rules, &schema, &mut source).await?;
    phases.done("check the source queries");
    plan.outside_snapshot = outside_snapshot(&plan, &schema, &mut source).await?;
    let tables: Vec<&tether_schema::Table> = plan.tables.iter().map(|tp| &tp.table).collect();
    let destinations = measure_destinations(found, &schema, &tables, &dest_urls, &mut source).await?;
    destinations.attach(&mut plan, &schema);
    schema_plan::fit_transforms(&destinations, &mut plan, &schema)?;
    phases.done("measure text for the destinations");
    plan_loads(job, &mut plan, &schema, &dest_urls, &destinations.found).await?;
    // What the load refuses on a destination checking FKs while loading, said by the
    // plan too (a full copy's tables; a subset's rows are chosen by the sync).
    if job.mode != config::Mode::Schema {
        let null_keyed = execute::null_keyed_cycles(&plan, None, &mut source).await?;
        let checking = plan.destinations.iter().filter(|d| {
            d.checks != config::Checks::Verify
                && d.load
                    .as_ref()
                    .is_some_and(|l| l.method == execute::LoadMethod::Batches)
        });
        let refused: Vec<String> = match null_keyed.is_empty() {
            true => Vec::new(),
            false => checking
                .map(|d| format!("{}: a sync refuses this destination: {}", d.url, null_keyed.join("; ")))
                .collect(),
        };
        plan.notes.extend(refused);
    }
    phases.done("decide the loads");
    if job.privacy != config::Privacy::Off {
        let tables: Vec<&tether_schema::Table> = plan.tables.iter().map(|t| &t.table).collect();
        let found = scan::scan(&mut source, &schema, &tables, &plan.source, job.options.privacy_sample).await?;
        plan.attach_privacy(&found, &schema, job.privacy);
        if let Some(refusal) = plan.privacy.as_ref().and_then(|r| scan::strict_refusal(&job.path, r)) {
            return Err(refusal);
        }
        phases.done("personal-data sample");
    }
    Ok(Prepared {
        plan,
        rules,
        schema,
        source,
    })
}

/// How each destination will load, for the plan: [`execute::decide`], which the run
/// asks again when it starts. A destination planning could not read is left without.
/// A server destination's relation of a job table's name that Tether does not write
/// into (a view, a foreign table, a MERGE table...) or a rule INSERT ... ON CONFLICT
/// refuses is a plan error naming it ([`execute::refuse_unwritable`]).
async fn plan_loads(
    job: &Job,
    plan: &mut Plan,
    schema: &Schema,
    urls: &[Option<DbUrl>],
    found: &[Result<(tether_connect::Engine, Schema), String>],
) -> Result<(), SyncError> {
    let mut loads = Vec::new();
    for (i, ((spec, dp), url)) in job.destinations.iter().zip(&plan.destinations).zip(urls).enumerate() {
        let (Some(url), Some(report)) = (url, &dp.schema) else {
            loads.push(None);
            continue;
        };
        execute::refuse_planned_sqlite_views(url, &dp.url, plan, schema).await?;
        // Opening a SQLite file to write would set its journal mode (and create a
        // missing one): an empty in-memory database of the same engine answers alike.
        let asked = match url {
            DbUrl::Sqlite { .. } => DbUrl::Sqlite {
                path: tether_connect::engine::sqlite::IN_MEMORY.into(),
            },
            other => other.clone(),
        };
        let Ok(mut conn) = Connection::open_destination(&asked).await else {
            loads.push(None);
            continue;
        };
        if let Err(e) = execute::refuse_unwritable(&mut conn, &dp.url, spec, plan, schema).await {
            conn.close().await;
            return Err(e);
        }
        if let Some(Ok((_, existing))) = found.get(i) {
            if let Err(e) = refuse_before_writing(&mut conn, url, &dp.url, spec, plan, schema, existing).await {
                conn.close().await;
                return Err(e);
            }
        }
        let decided = execute::decide(&mut conn, spec, plan, &report.models, &report.existing).await;
        conn.close().await;
        loads.push(Some(decided?.plan));
    }
    for (dp, load) in plan.destinations.iter_mut().zip(loads) {
        dp.load = load;
    }
    Ok(())
}

/// The refusals the run makes from the destination's tables as they are, before
/// anything is written ([`execute::refuse_before_writing`]), asked by the plan:
/// `existing` is the destination's schema as planning read it, `conn` the plan's
/// connection to it. A SQLite file is read on a read-only connection of its own (the
/// plan's is an empty in-memory database); a missing one holds no table to refuse.
async fn refuse_before_writing(
    conn: &mut Connection,
    url: &DbUrl,
    shown: &str,
    spec: &config::DestinationSpec,
    plan: &Plan,
    schema: &Schema,
    existing: &Schema,
) -> Result<(), SyncError> {
    match url {
        DbUrl::Sqlite { path } => {
            if existing.tables.is_empty() || !std::path::Path::new(path).is_file() {
                return Ok(());
            }
            let mut read = Connection::open_as_found(url).await?;
            let refused = execute::refuse_before_writing(&mut read, shown, spec, plan, schema, existing).await;
            read.close().await;
            refused.map(|_| ())
        }
        _ => execute::refuse_before_writing(conn, shown, spec, plan, schema, existing)
            .await
            .map(|_| ()),
    }
}

/// What planning needs from the destinations (see [`schema_plan::Destinations`]): each
/// one's tables as they are (a missing SQLite file is an empty database) and, for a
/// MariaDB/MySQL destination of another engine's tables, the longest value of each
/// unbounded text column of `tables` (one scan per such table), so `text` becomes TEXT
/// or MEDIUMTEXT where the values fit rather than LONGTEXT.
pub async fn read_destinations(
    schema: &Schema,
    tables: &[&tether_schema::Table],
    urls: &[Option<DbUrl>],
    source: &mut Connection,
) -> Result<schema_plan::Destinations, SyncError> {
    let found = introspect_destinations(urls, None).await;
    measure_destinations(found, schema, tables, urls, source).await
}

/// Each destination's tables as they are, or why they could not be read: the part of
/// [`read_destinations`] that needs nothing from the source, so [`prepare`] runs it
/// while the source is introspected. `files`: only the SQLite ones (`Some(true)`), all
/// but those (`Some(false)`), or all; those left out are an error saying so.
async fn introspect_destinations(
    urls: &[Option<DbUrl>],
    files: Option<bool>,
) -> Vec<Result<(tether_connect::Engine, Schema), String>> {
    let mut found = Vec::new();
    for url in urls {
        let Some(url) = url else {
            found.push(Err("not read: the URL needs a secret the environment lacks".to_string()));
            continue;
        };
        if files.is_some_and(|f| f != (url.engine() == tether_connect::Engine::Sqlite)) {
            found.push(Err("not read yet".to_string()));
            continue;
        }
        let existing = match url {
            DbUrl::Sqlite { path } if !std::path::Path::new(path).exists() => Ok(Schema {
                engine: url.engine(),
                default_schema: None,
                tables: vec![],
                objects: Default::default(),
            }),
            // (A SQLite file's directory is left as it was: no `-wal`/`-shm` made.)
            _ => tether_connect::introspect_as_found(url, &IntrospectOptions::default()).await,
        };
        found.push(match existing {
            Ok(existing) => Ok((url.engine(), existing)),
            Err(e) => Err(format!("not read: {e}")),
        });
    }
    found
}

/// The rest of [`read_destinations`]: the source's text lengths that a MariaDB/MySQL
/// destination's types need.
async fn measure_destinations(
    found: Vec<Result<(tether_connect::Engine, Schema), String>>,
    schema: &Schema,
    tables: &[&tether_schema::Table],
    urls: &[Option<DbUrl>],
    source: &mut Connection,
) -> Result<schema_plan::Destinations, SyncError> {
    let mut out = schema_plan::Destinations {
        found,
        ..Default::default()
    };
    // Only destinations that size their text types need the lengths, and only from a
    // source whose text types are not sized already.
    let sized = |e: tether_connect::Engine| tether_connect::dialect_of(e).sizes_text();
    if !urls.iter().flatten().any(|u| sized(u.engine())) || sized(schema.engine) {
        return Ok(out);
    }
    for t in tables {
        let columns = schema_plan::unbounded_text(t);
        if columns.is_empty() {
            continue;
        }
        let sizes = longest_text(source, t, &columns).await?;
        out.text_bytes.entry(t.table_name()).or_default().extend(sizes);
    }
    Ok(out)
}

/// The longest value in bytes of each of `columns` of `t` (one scan), as `source` sees
/// the table (in the job's snapshot once it is begun).
async fn longest_text(
    source: &mut Connection,
    t: &tether_schema::Table,
    columns: &[String],
) -> Result<Vec<(String, u64)>, SyncError> {
    let d = source.dialect();
    let lengths: Vec<String> = columns
        .iter()
        .map(|c| format!("max({})", d.byte_length(&d.ident(c))))
        .collect();
    let sql = format!("SELECT {} FROM {}", lengths.join(", "), d.own_rows(t));
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let rows = source.query(&sql, &vec![int; columns.len()]).await?;
    let mut out = Vec::new();
    for (c, v) in columns.iter().zip(rows.first().into_iter().flatten()) {
        let bytes = match v {
            tether_connect::Value::Int(n) => u64::try_from(*n).unwrap_or(0),
            tether_connect::Value::UInt(n) => *n,
            _ => 0,
        };
        out.push((c.clone(), bytes));
    }
    Ok(out)
}

/// The text sizes planning measured, outside the job's snapshot (review r15 P1), are
/// measured again in it: a value written or made longer on the source since (a live
/// database) would not fit the TEXT or varchar(N) chosen then, and the load would be
/// refused (error 1406). Each column whose longest value grew is widened, before
/// anything is created, in every destination's tables to create: to the type the new
/// length fits (MEDIUMTEXT, LONGTEXT; a key's varchar up to 768). Returns one line per
/// widened column for the report. Costs one scan per table so sized (the planning one
/// again), only where a MariaDB/MySQL destination gets unbounded text of another engine.
async fn resize_text_in_snapshot(
    job: &Job,
    plan: &mut Plan,
    source: &mut Connection,
) -> Result<Vec<String>, SyncError> {
    let mut lines = Vec::new();
    let engines: Vec<Option<tether_connect::Engine>> = job
        .destinations
        .iter()
        .map(|d| d.db_url().ok().map(|u| u.engine()))
        .collect();
    for i in 0..plan.tables.len() {
        let planned = plan.tables[i].table.extras.text_bytes.clone();
        if planned.is_empty() {
            continue;
        }
        let columns: Vec<String> = planned.keys().cloned().collect();
        let now = longest_text(source, &plan.tables[i].table, &columns).await?;
        for (c, bytes) in now {
            let was = planned.get(&c).copied().unwrap_or(0);
            if bytes <= was {
                continue;
            }
            plan.tables[i].table.extras.text_bytes.insert(c.clone(), bytes);
            let name = plan.tables[i].name.clone();
            for (dp, engine) in plan.destinations.iter_mut().zip(&engines) {
                let Some(engine) = engine else { continue };
                let dialect = tether_connect::dialect_of(*engine);
                if !dialect.sizes_text() {
                    continue;
                }
                let Some(report) = dp.schema.as_mut() else { continue };
                let Some(at) = report.create.iter().position(|n| *n == name) else {
                    continue;
                };
                let Some(model) = report.models.get_mut(at) else {
                    continue;
                };
                // Without a type of its own, the column gets the dialect's (a key's
                // varchar(255), LONGTEXT).
                let Some(ty) = model.extras.column_types.get(&c).cloned().or_else(|| {
                    let keyed = model.primary_key.contains(&c)
                        || model.unique_keys.iter().any(|u| u.columns.contains(&c))
                        || model.foreign_keys.iter().any(|f| f.columns.contains(&c));
                    model
                        .column(&c)
                        .map(|col| dialect.column_type(&col.normalized_type, keyed))
                }) else {
                    continue;
                };
                // The type, then what follows it (a collation for citext).
                let (base, rest) = ty.split_once(' ').map_or((ty.as_str(), ""), |(b, r)| (b, r));
                let wider = match base.strip_prefix("varchar(").and_then(|n| n.strip_suffix(')')) {
                    Some(n) => {
                        let n: u64 = n.parse().unwrap_or(0);
                        let want = bytes.min(768);
                        (want > n).then(|| format!("varchar({want})"))
                    }
                    None => {
                        let rank = |t: &str| match t {
                            "text" => 1,
                            "mediumtext" => 2,
                            _ => 3,
                        };
                        let want = dialect.sized_text_type(bytes).unwrap_or("longtext");
                        (rank(want) > rank(base)).then(|| want.to_string())
                    }
                };
                let wider = wider.map(|w| if rest.is_empty() { w } else { format!("{w} {rest}") });
                if let Some(wider) = wider {
                    lines.push(format!(
                        "{}: table {name}: column {c} created as {wider}, not {ty}: its longest value is {bytes} \
                         bytes in the sync's snapshot, {was} when the plan measured it (the source changed since)",
                        dp.url
                    ));
                    model.extras.column_types.insert(c.clone(), wider);
                }
            }
        }
    }
    Ok(lines)
}

/// Refuses, before anything is written, a destination that is the job's source (it
/// would be emptied or written into while being read), that replicates into the source
/// (MariaDB/MySQL: what is written there arrives in the source), or that is the same
/// database as another destination. Each database is identified by its server (or file
/// system), whatever its URL says; where neither its identity nor a probe can tell (a
/// locked-down role), the destination is refused unless it says `assume_distinct = true`.
/// `destinations`: `None` where the URL needs a secret the environment lacks. Unless
/// `strict`, a destination that cannot be reached is left unchecked and said so in the
/// result (planning); a sync checks every one.
pub async fn refuse_overlaps(
    source: &mut Connection,
    job: &Job,
    destinations: &[Option<DbUrl>],
    strict: bool,
) -> Result<Vec<String>, SyncError> {
    let source_id = source.identity().await?;
    let upstreams = source.upstreams().await;
    // A PostgreSQL standby: its sessions are not in its primary's pg_stat_activity, so
    // a probe "not seen" from a destination decides nothing. Unknown is never "not a
    // standby" (review r25c F1).
    let in_recovery = source.in_recovery().await;
    // PostgreSQL: the source's database may subscribe to a destination's publication.
    let logical = source.logical().await;
    let mut seen = vec![Seen {
        what: format!("the source {}", source.shown()),
        id: source_id.clone(),
        in_recovery,
    }];
    let mut unchecked = Vec::new();
    // A probe the source's session holds, looked for from each destination: the
    // server's own answer to "is this the same database?", whatever name, address or
    // socket reached it, and whichever catalogs the role may read.
    let key = i64::from(std::process::id()) << 32
        | i64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()),
        );
    let probe = source.hold_probe(key).await.unwrap_or(None);
    let result = check_destinations(
        &mut seen,
        &mut unchecked,
        Checked {
            upstreams: upstreams.as_ref(),
            logical: logical.as_ref(),
            probe,
            base: key,
        },
        job,
        destinations,
        strict,
    )
    .await;
    if let Some(p) = probe {
        let _ = source.release_probe(p).await;
    }
    result.map(|()| unchecked)
}

/// A database a destination is checked against: the source, then each earlier
/// destination.
struct Seen {
    /// How messages name it: `the source <url>`, `destination #<n> <url>`.
    what: String,
    id: tether_connect::Identity,
    /// PostgreSQL: a standby (in recovery), or unknown (None); Some(false) elsewhere.
    in_recovery: Option<bool>,
}

/// What the destinations are checked against.
struct Checked<'a> {
    /// MariaDB/MySQL: where the source replicates from.
    upstreams: Option<&'a tether_connect::Upstreams>,
    /// PostgreSQL: the source database's subscriptions.
    logical: Option<&'a tether_connect::Logical>,
    /// The probe the source holds (None: it could hold none).
    probe: Option<tether_connect::Probe>,
    /// The key the destinations' own probes are numbered from.
    base: i64,
}

async fn check_destinations(
    seen: &mut Vec<Seen>,
    unchecked: &mut Vec<String>,
    against: Checked<'_>,
    job: &Job,
    destinations: &[Option<DbUrl>],
    strict: bool,
) -> Result<(), SyncError> {
    let Checked {
        upstreams,
        logical,
        probe,
        base,
    } = against;
    // Each destination's connection stays open holding a probe of its own (the source's
    // key plus its number), which every later destination looks for: two routes to one
    // database (an address and a socket) that the catalogs cannot tell apart, for a role
    // that may not read them, are found as the source is. Per entry of `seen` after the
    // source: the probe its connection holds, if any.
    let mut held: Vec<Option<(tether_connect::Connection, tether_connect::Probe)>> = Vec::new();
    let result = async {
        for (i, (url, spec)) in destinations.iter().zip(&job.destinations).enumerate() {
            let n = i + 1;
            let not_checked = |why: String| {
                format!("destination #{n}: not checked against the source and the other destinations: {why}")
            };
            let Some(url) = url else {
                unchecked.push(not_checked(spec.unresolved.clone().unwrap_or_default()));
                held.push(None);
                seen.push(Seen {
                    what: format!("destination #{n}"),
                    id: tether_connect::Identity::SqliteMemory,
                    in_recovery: Some(false),
                });
                continue;
            };
            if matches!(url, DbUrl::Sqlite { .. })
                && tether_connect::identify(url).await? == tether_connect::Identity::SqliteMemory
            {
                return Err(SyncError::Plan(format!(
                    "destination #{n} {url} is an in-memory SQLite database: each connection gets a new, empty \
                     one, so nothing written there would survive the job (nor could it be verified); use a file; \
                     refusing to write into it (nothing was written)"
                )));
            }
            // The source's probe first, then each earlier destination's.
            let mut probes: Vec<(usize, tether_connect::Probe)> = probe.map(|p| (0, p)).into_iter().collect();
            probes.extend(
                held.iter()
                    .enumerate()
                    .filter_map(|(k, h)| h.as_ref().map(|(_, p)| (k + 1, *p))),
            );
            let keys: Vec<tether_connect::Probe> = probes.iter().map(|(_, p)| *p).collect();
            let own = base.wrapping_add(n as i64);
            let reached = match tether_connect::identify_holding(url, &keys, own).await {
                Ok(found) => found,
                Err(e) if !strict => {
                    unchecked.push(not_checked(e.to_string()));
                    held.push(None);
                    seen.push(Seen {
                        what: format!("destination #{n} {url}"),
                        id: tether_connect::Identity::SqliteMemory,
                        in_recovery: Some(false),
                    });
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let refused = judge(n, url, spec, &reached, seen, &probes, (upstreams, logical));
            seen.push(Seen {
                what: format!("destination #{n} {url}"),
                id: reached.id.clone(),
                in_recovery: reached.in_recovery,
            });
            held.push(reached.held);
            refused?;
        }
        Ok(())
    }
    .await;
    for (conn, _) in held.into_iter().flatten() {
        conn.close().await;
    }
    result
}

/// Whether destination #`n` (`url`, found as `reached`) may be written: not when it
/// is one of `seen` (the source first, then the earlier destinations), by identity or
/// by a probe of theirs it sees (`probes`: index into `seen`, probe), nor when the
/// source replicates from it; nor, unless `assume_distinct`, when nothing could tell.
fn judge(
    n: usize,
    url: &DbUrl,
    spec: &config::DestinationSpec,
    reached: &tether_connect::Reached,
    seen: &[Seen],
    probes: &[(usize, tether_connect::Probe)],
    (upstreams, logical): (Option<&tether_connect::Upstreams>, Option<&tether_connect::Logical>),
) -> Result<(), SyncError> {
    let id = &reached.id;
    let refuse = |why: String| {
        Err(SyncError::Plan(format!(
            "destination #{n} {url} {why}; refusing to write into it (nothing was written)"
        )))
    };
    // The catalogs may say otherwise where a role cannot read them: the probes.
    let seen_by = |at: usize| {
        probes
            .iter()
            .position(|(k, _)| *k == at)
            .and_then(|p| reached.taken.get(p).copied().flatten())
    };
    // Neither side a standby, for certain: then a probe "not seen" means another database.
    let both_primaries = |s: &Seen| s.in_recovery == Some(false) && reached.in_recovery == Some(false);
    for (at, s) in seen.iter().enumerate().filter(|(_, s)| id.same_as(&s.id)) {
        let what = &s.what;
        match disguise::twins(id, both_primaries(s), seen_by(at)) {
            disguise::Twins::Same => return refuse(format!("is {what}: both are {id}")),
            disguise::Twins::Distinct => {}
            disguise::Twins::Unknown(why) if !spec.assume_distinct => {
                return refuse(format!(
                    "may be {what}: both report {id}, {why}. Set `assume_distinct = true` on the destination if it \
                     is another server"
                ))
            }
            disguise::Twins::Unknown(_) => {}
        }
    }
    if let Some((what, side)) = seen
        .iter()
        .find_map(|s| id.side_file(&s.id).map(|side| (&s.what, side)))
    {
        return refuse(format!("and {what} overlap: {side}"));
    }
    for (at, s) in seen.iter().enumerate() {
        if seen_by(at) == Some(true) && id.same_database_name(&s.id) {
            let whose = match at {
                0 => "the source's session (a probe only the source holds)".to_string(),
                _ => "the session Tether holds on it (a probe only that destination's connection holds)".to_string(),
            };
            return refuse(format!("is {}: its server sees {whose} in {id}", s.what));
        }
    }
    if let (Some(up), Some(marks)) = (upstreams, &reached.marks) {
        match up.feeds(marks) {
            tether_connect::Feeds::No => {}
            tether_connect::Feeds::Yes(why) => {
                return refuse(format!(
                    "({}) replicates into {}: {why}; what is written there would arrive in the source",
                    marks.shown, seen[0].what
                ))
            }
            tether_connect::Feeds::Unknown(why) if !spec.assume_distinct => {
                return refuse(format!(
                    "({}) may replicate into {}: {why}. Grant the source's login REPLICA MONITOR (MariaDB) or \
                     REPLICATION CLIENT (MySQL), or set `assume_distinct = true` on the destination if it does not \
                     replicate into the source (directly or down a chain)",
                    marks.shown, seen[0].what
                ))
            }
            tether_connect::Feeds::Unknown(_) => {}
        }
    }
    if let (Some(source), Some(dest), false) = (logical, &reached.logical, spec.assume_distinct) {
        if let Some(why) = disguise::logical_feed(source, dest) {
            return refuse(format!(
                "may replicate into {} by logical replication: {why}; every row written there (and a TRUNCATE) \
                 would arrive in the source. Set `assume_distinct = true` on the destination if it does not publish \
                 into the source (directly or down a chain)",
                seen[0].what
            ));
        }
    }
    // Neither the identities nor a probe could tell: unknown is never "different".
    if !spec.assume_distinct {
        for (at, s) in seen.iter().enumerate() {
            // A standby's probe cannot be seen from its primary (nor the other way
            // round): "not seen" is no answer unless neither is one, for certain.
            let probe_decides = match seen_by(at) {
                Some(false) => both_primaries(s),
                found => found.is_some(),
            };
            let other = &s.id;
            let decided = (id.decisive() && other.decisive()) || probe_decides;
            let same_server_kind = std::mem::discriminant(id) == std::mem::discriminant(other);
            if !decided && same_server_kind {
                let standby = match (at, s.in_recovery, reached.in_recovery) {
                    (0, Some(true), _) => {
                        " (the source is a standby, in recovery: its sessions cannot be seen from its primary)"
                    }
                    (0, None, _) => {
                        " (the source may be a standby: its login may read neither in_hot_standby nor \
                         pg_is_in_recovery(), and a standby's sessions cannot be seen from its primary)"
                    }
                    (_, _, Some(true)) => " (the destination is a standby, in recovery)",
                    (_, _, None) => " (the destination may be a standby)",
                    _ => "",
                };
                return refuse(format!(
                    "may be {}: Tether cannot tell ({id}; {other}): the logins may not run \
                     pg_control_system() and no probe could be seen either way{standby} (pg_try_advisory_lock and \
                     pg_stat_activity). Grant EXECUTE on pg_control_system() to the logins, or set \
                     `assume_distinct = true` on the destination if it is another database",
                    s.what
                ));
            }
        }
    }
    Ok(())
}

/// The job's tables of a MariaDB/MySQL source whose storage engine has no transactions
/// (MyISAM, Aria, MEMORY, CSV...: `information_schema.ENGINES.TRANSACTIONS` is not YES),
/// as `name (ENGINE)` in load order: `START TRANSACTION WITH CONSISTENT SNAPSHOT` does not
/// cover them (review r15 P2), which the plan and the sync's report say.
async fn outside_snapshot(plan: &Plan, schema: &Schema, source: &mut Connection) -> Result<Vec<String>, SyncError> {
    if schema.engine != tether_connect::Engine::Mysql || plan.tables.is_empty() {
        return Ok(Vec::new());
    }
    let sql = "SELECT t.TABLE_NAME, t.ENGINE FROM information_schema.TABLES t \
               LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE \
               WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' \
               AND t.ENGINE IS NOT NULL AND coalesce(e.TRANSACTIONS, 'NO') <> 'YES'";
    let text = tether_schema::DataType::Text;
    let rows = source.query(sql, &[text.clone(), text]).await?;
    let found: std::collections::BTreeMap<String, String> = rows
        .into_iter()
        .filter_map(|r| match (r.first(), r.get(1)) {
            (Some(tether_connect::Value::Text(n)), Some(tether_connect::Value::Text(e))) => {
                Some((n.clone(), e.clone()))
            }
            _ => None,
        })
        .collect();
    Ok(plan
        .tables
        .iter()
        .filter_map(|tp| found.get(&tp.table.name).map(|e| format!("{} ({e})", tp.name)))
        .collect())
}

/// For a failed verification whose orphans or counts involve a table of
/// [`Plan::outside_snapshot`] (the orphan's table or its parent's, a count's table): one
/// line saying that such a table was read outside the snapshot, so writes on the source
/// during the copy explain what failed (review r15 P2).
fn explain_outside_snapshot(plan: &Plan, verification: &[verify::Verification]) -> Vec<String> {
    let outside: Vec<&str> = plan
        .outside_snapshot
        .iter()
        .map(|t| t.rsplit_once(" (").map_or(t.as_str(), |(n, _)| n))
        .collect();
    let mut out = Vec::new();
    for (i, v) in verification.iter().enumerate().filter(|(_, v)| !v.ok) {
        let mut involved: Vec<&str> = Vec::new();
        let mut touch = |name: &str| {
            if let Some(t) = outside.iter().find(|t| **t == name) {
                if !involved.contains(t) {
                    involved.push(t);
                }
            }
        };
        for o in &v.orphans {
            touch(&o.table);
            let tp = plan.tables.iter().find(|tp| tp.name == o.table);
            if let Some(fk) = tp.and_then(|tp| tp.table.foreign_keys.iter().find(|f| f.name == o.foreign_key)) {
                if let Some(parent) = plan.tables.iter().find(|p| p.table.name == fk.referenced_table) {
                    touch(&parent.name);
                }
            }
        }
        for m in v.missing_rows.iter().chain(&v.extra_rows) {
            touch(&m.table);
        }
        if !involved.is_empty() {
            out.push(format!(
                "#{} {}: what the verification found involves {}, read outside the source's snapshot \
                 (non-transactional storage engine): rows written on the source during the copy explain \
                 such orphans and counts (each table holds what its own read found)",
                i + 1,
                v.destination,
                involved.join(", ")
            ));
        }
    }
    out
}

/// Sends every query the job will run on the source with `LIMIT 0`, so the server
/// parses and plans each (a target's `where`, its order for `limit`, every table's read)
/// without reading a row. A refusal names the target's line and the server's message.
async fn check_source_queries(
    job: &Job,
    plan: &Plan,
    rules: &plan::SubsetRules,
    schema: &Schema,
    source: &mut Connection,
) -> Result<(), SyncError> {
    let d = source.dialect();
    let refused = |e: tether_connect::ConnectError| match e {
        tether_connect::ConnectError::Query { message, .. } => message,
        other => other.to_string(),
    };
    // `rules.targets` are the job's targets, in order.
    for ((name, target), (_, line)) in rules.targets.iter().zip(&job.targets) {
        let table = schema.table(name).expect("targets name tables of the schema");
        let key = plan::row_key(table);
        let spec = ReadSpec {
            table: table.clone(),
            filter: target.filter(),
            order_by: if target.limit.is_some() { key.clone() } else { vec![] },
            columns: key,
            limit: Some(0),
        };
        if let Err(e) = source.query(&spec.select_sql(d, None), &[]).await {
            let what = match &target.where_clause {
                Some(w) => format!("`where = {w:?}`"),
                None => "its query".into(),
            };
            return Err(SyncError::Plan(format!(
                "{}: line {line}: subset target `{}`: {what} fails on the source {}: {}",
                job.path,
                target.table,
                source.shown(),
                refused(e)
            )));
        }
    }
    for tp in &plan.tables {
        let spec = ReadSpec {
            table: tp.table.clone(),
            columns: tp.table.columns.iter().map(|c| c.name.clone()).collect(),
            filter: Filter::All,
            order_by: vec![],
            limit: Some(0),
        };
        let sql = spec.select_sql(d, None);
        if let Err(e) = source.query(&sql, &[]).await {
            return Err(SyncError::Plan(format!(
                "table {}: reading it fails on the source {}: {}",
                tp.name,
                source.shown(),
                refused(e)
            )));
        }
    }
    Ok(())
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tables: Vec<execute::TableReport>,
    /// Per transformed column: values left equal to their source, and source text
    /// values found in the destination.
    pub leaks: Vec<anonymize::Leak>,
    /// Personal columns of the copied tables and how the job treated them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<scan::PrivacyReport>,
    pub destinations: Vec<String>,
    pub verification: Vec<verify::Verification>,
    /// What the run could not do as it should, one line each, the copy itself complete:
    /// a sequence it could not move past the keys copied (after the commit), triggers the
    /// role could not turn off, which fired on the copied rows; a text column created
    /// wider than planned because the source changed since planning measured it; a
    /// MariaDB source's non-transactional tables, read outside the snapshot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Per destination with any: the source's schema objects the copy does not have
    /// (the plan's `skipped` lines), named, so a run says what a reader of the plan knows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_copied: Vec<String>,
    pub ok: bool,
    pub seconds: f64,
}

/// [`Report::not_copied`]: one line per destination whose plan skips objects.
fn not_copied(plan: &Plan) -> Vec<String> {
    const NAMED: usize = 8;
    let mut out = Vec::new();
    for (i, dp) in plan.destinations.iter().enumerate() {
        let Some(schema) = &dp.schema else { continue };
        let skipped: Vec<String> = schema
            .objects
            .iter()
            .filter(|o| o.action == schema_plan::Action::Skipped)
            .map(|o| format!("{} {}", o.kind, o.name))
            .collect();
        if skipped.is_empty() {
            continue;
        }
        let more = match skipped.len() > NAMED {
            true => format!(" and {} more", skipped.len() - NAMED),
            false => String::new(),
        };
        out.push(format!(
            "#{}: {} of the source not copied: {}{more} (`tether plan` gives each with its reason)",
            i + 1,
            plan::plural(skipped.len(), "schema object"),
            skipped.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

/// How long a subset may take for the destination connections opened while it was
/// chosen to be used; past it they are opened again.
const EARLY_DESTINATIONS_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs a prepared job: subset, load, verify. A failure before every destination
/// finished loading leaves each as [`undo`] says: a transactional or staged load
/// rolled back, the tables the run created dropped again, the rows written into tables
/// that were there counted in the error.
pub async fn run(job: &Job, prepared: Prepared, progress: &dyn Progress) -> Result<Report, SyncError> {
    run_until(job, prepared, progress, std::future::pending()).await
}

/// [`run`], stopping when `stop` completes (the CLI's SIGINT and SIGTERM): while the
/// subset is chosen nothing is written yet; during the load the destinations are
/// undone as after a failure (a one-transaction or staged load rolled back, the tables
/// the run created dropped, triggers it dropped for the load created again), on new
/// connections; after it, the copy is complete and the verification is left out.
/// Returns [`SyncError::Interrupted`] saying what each destination holds.
pub async fn run_until(
    job: &Job,
    prepared: Prepared,
    progress: &dyn Progress,
    stop: impl std::future::Future<Output = ()>,
) -> Result<Report, SyncError> {
    let mut stop = std::pin::pin!(stop);
    job.require_secrets()?;
    let started = std::time::Instant::now();
    let mut phases = Phases::start();
    let Prepared {
        mut plan,
        rules,
        schema,
        mut source,
    } = prepared;
    if !plan.unchecked.is_empty() {
        let mut urls = Vec::new();
        for d in &job.destinations {
            urls.push(Some(d.db_url()?));
        }
        refuse_overlaps(&mut source, job, &urls, true).await?;
    }
    // More lanes read the same snapshot: PostgreSQL exports it, SQLite pins it on every
    // lane at once, its writers held off meanwhile (opened now); MariaDB cannot share
    // one, so it reads on a single connection. A subset reads on them too, so they are
    // opened before it; a full copy opens PostgreSQL's once the destinations say how
    // many lanes load (one for a transactional load).
    let url = job.source_url()?;
    let wanted = match job.mode {
        config::Mode::Schema => 0,
        _ => plan.parallelism.saturating_sub(1),
    };
    let snapshot = source.begin_shared_snapshot(&url, wanted).await?;
    phases.done("begin the snapshot");
    let mut early_warnings = plan.notes.clone();
    if let (Some(note), true) = (plan.outside_snapshot_note(), job.mode != config::Mode::Schema) {
        early_warnings.push(note);
    }
    if job.mode != config::Mode::Schema {
        early_warnings.extend(resize_text_in_snapshot(job, &mut plan, &mut source).await?);
        phases.done("measure text again in the snapshot");
    }
    let mut more = MoreSources {
        lanes: snapshot.lanes,
        url,
        snapshot: snapshot.id,
        opened: snapshot.pinned,
    };
    let subsetting = plan.subset && job.mode != config::Mode::Schema;
    if subsetting {
        more.open(more.lanes).await?;
        phases.done("open the source lanes");
    }
    // While the subset is chosen, the server destinations are connected to and their
    // schemas read (nothing written: a subset that fails leaves them untouched).
    let (subset, opened) = if subsetting {
        progress.phase("computing the subset");
        let early = async {
            let mut all = Vec::new();
            for spec in &job.destinations {
                all.push(execute::open_early(spec).await);
            }
            all
        };
        let choosing = std::time::Instant::now();
        let (subset, early) = tokio::select! {
            chosen = async { tokio::join!(subset::compute(&mut source, &mut more.opened, &schema, &rules), early) } => chosen,
            _ = &mut stop => {
                return Err(SyncError::Interrupted(
                    " (while choosing the subset: nothing was written anywhere)".into(),
                ));
            }
        };
        // After a long subset the connections may have been idle past a server's
        // timeout and the schemas read long ago: they are opened and read again.
        let early = match subset.is_ok() && choosing.elapsed() < EARLY_DESTINATIONS_FOR {
            true => early,
            false => {
                for (conn, _) in early.into_iter().flatten() {
                    conn.close().await;
                }
                Vec::new()
            }
        };
        let subset = subset?;
        phases.done("compute the subset (and meanwhile open the server destinations)");
        (subset, early)
    } else {
        (subset::Subset::default(), Vec::new())
    };
    let mut lanes = vec![execute::Lane {
        source,
        dests: Vec::new(),
    }];
    let stage = std::sync::Mutex::new(Stage::default());
    let loaded = tokio::select! {
        loaded = load_all(job, &plan, &schema, &subset, opened, &mut lanes, &mut more, &stage, progress) => loaded,
        _ = &mut stop => Err(SyncError::Interrupted(format!(
            " (while {})",
            stage.lock().expect("lock").doing
        ))),
    };
    let stage = stage.into_inner().expect("lock");
    phases.done("load_all in all");
    for unused in more.opened {
        unused.close().await;
    }
    let ((tables, counts), leaks) = match loaded {
        Ok(Some(loaded)) => loaded,
        Ok(None) => {
            // Schema only.
            for lane in lanes {
                for d in lane.dests {
                    d.conn.close().await;
                }
                lane.source.close().await;
            }
            return Ok(Report {
                tables: Vec::new(),
                leaks: Vec::new(),
                privacy: None,
                destinations: plan.destinations.iter().map(|d| d.url.clone()).collect(),
                verification: Vec::new(),
                warnings: Vec::new(),
                not_copied: not_copied(&plan),
                ok: true,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        Err(e) => return Err(undo(lanes, e, &plan, &stage).await),
    };
    progress.phase("verifying");
    for lane in lanes.iter_mut() {
        for d in lane.dests.iter_mut() {
            if d.checks_off {
                d.conn.enable_fk_checks().await?;
            }
        }
    }
    let mut warnings = early_warnings;
    for d in lanes[0].dests.iter_mut() {
        warnings.append(&mut d.warnings);
        warnings.extend(execute::advance_sequences(d).await?);
        warnings.extend(execute::rekeyed_warnings(d, &tables).await?);
    }
    phases.done("FK checks on, sequences");
    let mut verification = Vec::new();
    let verified = async {
        for i in 0..job.destinations.len() {
            let conns: Vec<&mut execute::Destination> = lanes.iter_mut().map(|l| &mut l.dests[i]).collect();
            verification.push(verify::verify(conns, &plan, &schema, &tables, &counts).await?);
        }
        Ok::<_, SyncError>(())
    };
    tokio::select! {
        done = verified => done?,
        _ = &mut stop => {
            return Err(SyncError::Interrupted(
                " (while verifying: every destination holds the whole copy, committed; it was not verified)".into(),
            ));
        }
    }
    phases.done("verify");
    warnings.extend(explain_outside_snapshot(&plan, &verification));
    for lane in lanes {
        for d in lane.dests {
            d.conn.close().await;
        }
        lane.source.close().await;
    }
    phases.done("close");
    let ok = verification.iter().all(|v| v.ok);
    Ok(Report {
        tables,
        leaks,
        privacy: plan.privacy.clone(),
        destinations: job
            .destinations
            .iter()
            .map(|d| d.db_url().map(|u| u.to_string()).unwrap_or_default())
            .collect(),
        verification,
        warnings,
        not_copied: not_copied(&plan),
        ok,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What [`load_all`] returns: the tables loaded and the source's counts of them, the
/// leak figures; None for a schema-only job.
type Loaded = Option<((Vec<execute::TableReport>, Vec<u64>), Vec<anonymize::Leak>)>;

/// The source connections of the lanes after the first, in the job's snapshot.
struct MoreSources {
    /// How many lanes more the source allows (`parallelism - 1`, or none).
    lanes: usize,
    url: DbUrl,
    /// The snapshot they join (PostgreSQL), or None (SQLite: all of them opened in it
    /// at the start, in `opened`).
    snapshot: Option<String>,
    opened: Vec<Connection>,
}

impl MoreSources {
    /// Opens connections until `n` are open (`n` at most `lanes`).
    async fn open(&mut self, n: usize) -> Result<(), SyncError> {
        while self.opened.len() < n.min(self.lanes) {
            // Only a snapshot with an id is joined later; the others' lanes are open.
            let Some(id) = &self.snapshot else { break };
            let mut more = Connection::open_source(&self.url).await?;
            more.join_snapshot(id).await?;
            self.opened.push(more);
        }
        Ok(())
    }
}

/// Where [`load_all`] is, for the message of a run stopped part way ([`undo`]).
struct Stage {
    /// What it is doing, as the message says it: "while ...".
    doing: String,
    /// The destination whose tables `truncate = true` is emptying (outside any
    /// transaction, one table after the other): a run stopped then says which are empty.
    emptying: Option<String>,
}

impl Default for Stage {
    fn default() -> Stage {
        Stage {
            doing: "preparing the destinations".into(),
            emptying: None,
        }
    }
}

impl Stage {
    fn set(stage: &std::sync::Mutex<Stage>, doing: &str, emptying: Option<&str>) {
        let mut s = stage.lock().expect("lock");
        s.doing = doing.to_string();
        s.emptying = emptying.map(str::to_string);
    }
}

/// Prepares every destination into `lanes[0]` (and more lanes from `more`), loads,
/// builds and commits: everything a failure must undo ([`undo`]). Tells `stage` where
/// it is.
#[allow(clippy::too_many_arguments)]
async fn load_all(
    job: &Job,
    plan: &Plan,
    schema: &Schema,
    subset: &subset::Subset,
    opened: Vec<Option<execute::Opened>>,
    lanes: &mut Vec<execute::Lane>,
    more: &mut MoreSources,
    stage: &std::sync::Mutex<Stage>,
    progress: &dyn Progress,
) -> Result<Loaded, SyncError> {
    let mut phases = Phases::start();
    let mut opened = opened.into_iter();
    // Tables of a breakable cycle whose rows the cycle's UPDATEs could not all find
    // (NULL in their key): refused on a destination checking FKs while loading,
    // before it is emptied or written.
    let null_keyed = execute::null_keyed_cycles(plan, Some(subset), &mut lanes[0].source).await?;
    for (spec, dp) in job.destinations.iter().zip(&plan.destinations) {
        let early = opened.next().flatten();
        let mut d = execute::prepare_destination(spec, plan, dp.schema.as_ref(), schema, early, progress).await?;
        if job.mode == config::Mode::Schema {
            // Schema only: what a restore builds after the data, on empty tables.
            let finished = execute::finish_schema(&mut d, progress).await;
            lanes[0].dests.push(d);
            finished?;
            continue;
        }
        // As decided when prepared (`execute::decide`): PostgreSQL enforcing FKs loads
        // in one transaction, FKs dropped and validated again at the end (it empties the
        // tables inside it too), or through staging schemas moved into place at the end.
        let whole = d.load.method != execute::LoadMethod::Batches;
        lanes[0].dests.push(d);
        let d = lanes[0].dests.last_mut().expect("just pushed");
        let atomic = whole && d.begin_atomic(plan, spec.truncate, progress).await?;
        if !atomic {
            // The one-transaction load was refused (it said why): batches after all.
            d.load.method = execute::LoadMethod::Batches;
            if d.checks_rows() && !null_keyed.is_empty() {
                return Err(SyncError::Plan(format!("{}: {}", d.shown, null_keyed.join("; "))));
            }
            d.suspend_triggers(plan, progress).await?;
            if spec.truncate {
                progress.phase(&format!("{}: emptying the job's tables", d.shown));
                Stage::set(
                    stage,
                    &format!("emptying the job's tables of {}", d.shown),
                    Some(&d.shown),
                );
                execute::truncate(d, plan).await?;
                Stage::set(stage, "preparing the destinations", None);
                // Only a table that was there held rows to lose.
                let created = d.created_here();
                d.emptied = plan.tables.iter().any(|tp| !created.contains(&tp.name));
            }
            d.apply_checks(progress).await?;
        }
    }
    if job.mode == config::Mode::Schema {
        for d in lanes[0].dests.iter_mut() {
            d.keep_created();
        }
        return Ok(None);
    }
    // A transaction lives on one connection: a destination loading in one runs one
    // lane. A subset opened the others already; a full copy opens only what it uses.
    let more_lanes = match lanes[0].dests.iter().any(|d| d.atomic.is_some()) {
        true => 0,
        false => more.lanes,
    };
    phases.done("prepare the destinations");
    more.open(more_lanes).await?;
    for source in more.opened.drain(..more_lanes.min(more.opened.len())) {
        let mut dests = Vec::new();
        for d in &lanes[0].dests {
            dests.push(d.another().await?);
        }
        lanes.push(execute::Lane { source, dests });
    }
    let anon = execute::Anon {
        seed: job.seed.as_ref().map(|s| tether_transform::Seed::new(&s.0)),
        maps: anonymize::KeyMaps::default(),
        leaks: std::sync::Mutex::new(Vec::new()),
        collations: match job.seed {
            Some(_) => execute::collations(plan, &mut lanes[0].dests).await?,
            None => Vec::new(),
        },
    };
    phases.done("open the lanes");
    Stage::set(stage, "loading", None);
    let tables = execute::load(plan, lanes, subset, &anon, progress).await?;
    phases.done("load");
    Stage::set(stage, "building the keys and committing", None);
    // The source counts what the verification compares (in the job's snapshot) while
    // the destinations build their keys, indexes and FKs: different connections.
    let execute::Lane { source, dests } = &mut lanes[0];
    let finish = async {
        for d in dests.iter_mut() {
            d.restore_keys(progress).await?;
            if let Err(e) = execute::finish_schema(d, progress).await {
                d.rollback_atomic().await;
                return Err(e);
            }
            d.commit_atomic(progress).await?;
            d.forget_suspension().await;
            d.keep_created();
        }
        Ok::<_, SyncError>(())
    };
    let (finished, counts) = tokio::join!(finish, verify::source_counts(source, plan, subset));
    finished?;
    let counts = counts?;
    phases.done("build keys, commit; source counts");
    let mut leaks = anon.leaks.into_inner().expect("lock");
    leaks.sort_by(|a, b| (&a.table, &a.column).cmp(&(&b.table, &b.column)));
    Ok(Some(((tables, counts), leaks)))
}

/// `truncate = true` was emptying `d`'s tables (one after the other, each on its own)
/// when the run failed or stopped: which of the job's tables that were there are empty
/// now, and which still hold their rows, as a new look at them says.
async fn half_emptied(d: &mut execute::Destination, plan: &Plan, created: &[String]) -> String {
    let mut empty = Vec::new();
    let mut full = Vec::new();
    for tp in plan.tables.iter().filter(|tp| !created.contains(&tp.name)) {
        let Some(t) = d.tables.get(&tp.table.table_name()) else {
            continue;
        };
        let sql = format!("SELECT 1 FROM {} LIMIT 1", d.conn.dialect().qualified(t));
        match d.conn.query(&sql, &[]).await {
            Ok(rows) if rows.is_empty() => empty.push(tp.name.clone()),
            Ok(_) => full.push(tp.name.clone()),
            Err(e) => {
                return format!(
                    "truncate = true was emptying the job's tables when the job stopped: some may be empty \
                     (looking at them failed: {e})"
                )
            }
        }
    }
    let hold = match full.len() {
        1 => "still holds its rows",
        _ => "still hold their rows",
    };
    match (empty.is_empty(), full.is_empty()) {
        (true, _) => format!(
            "truncate = true had emptied none of the job's tables when the job stopped ({} {hold})",
            full.join(", ")
        ),
        (false, true) => format!(
            "truncate = true had emptied the job's tables that were there ({} now empty)",
            empty.join(", ")
        ),
        (false, false) => format!(
            "truncate = true was emptying the job's tables when the job stopped: {} now empty; {} {hold}",
            empty.join(", "),
            full.join(", ")
        ),
    }
}

/// Whether `e` is about the destination shown as `d` (its message starts with it, as a
/// connection's errors do).
fn names(e: &SyncError, d: &str) -> bool {
    let text = e.to_string();
    let text = text.strip_prefix("cannot connect to ").unwrap_or(&text);
    text.strip_prefix(d).is_some_and(|rest| rest.starts_with(':'))
}

/// What a destination kept after a failure, from [`undo`]'s note of it.
fn kept(note: UndoNote) -> Option<(String, String)> {
    let (d, whole, undone, ..) = note;
    let note = match (whole, undone) {
        (Some(w), Some(u)) => format!("{w}; {u}"),
        (Some(w), None) => w.to_string(),
        (None, Some(u)) => u,
        (None, None) => return None,
    };
    Some((d, note))
}

/// After an interruption, for the tables of a breakable cycle `d` checks row by row
/// that the run began loading and did not create (those are dropped again): rows it
/// wrote there may still hold the cycle's FK columns NULL (written so, the cycle's
/// UPDATEs perhaps not run yet), and what a re-run does with them. None where there
/// are none.
fn unset_cycle_rows(d: &execute::Destination, plan: &Plan, created: &[String]) -> Option<String> {
    if d.fk_free() {
        return None;
    }
    let written = d.written.lock().expect("lock");
    let tables: Vec<String> = plan
        .tables
        .iter()
        .filter(|tp| !tp.break_fks.is_empty() && !created.contains(&tp.name))
        // Started, counted or not: a batch under way when the run stopped may have gone in.
        .filter(|tp| written.iter().any(|(t, ..)| t == &tp.name))
        .map(|tp| {
            let columns: Vec<&str> = tp.break_columns().into_iter().flat_map(|(_, c)| c).collect();
            format!("{} ({})", tp.name, columns.join(", "))
        })
        .collect();
    if tables.is_empty() {
        return None;
    }
    Some(format!(
        "rows this run wrote into tables of a cycle may hold its FK columns NULL: {} (written so, then set by \
         UPDATEs once the cycle is loaded, which may not have run); {}",
        tables.join(", "),
        execute::RERUN_SETS
    ))
}

/// (destination, what a whole load says, what undoing its tables says, the tables it
/// created, whether it loaded in batches)
type UndoNote = (String, Option<&'static str>, Option<String>, Vec<String>, bool);

/// After a failed run: every destination not finished is left as before the run
/// where it can be (a transactional or staged load rolled back; the tables the run
/// created dropped again), and the error says so per destination, with the rows
/// written into tables that were there (they stay) and, where `truncate = true` was
/// emptying them (`stage`), which are empty now. Other lanes' connections are
/// closed first: a transaction they left open would hold the tables' locks.
async fn undo(lanes: Vec<execute::Lane>, e: SyncError, plan: &Plan, stage: &Stage) -> SyncError {
    let interrupted = matches!(e, SyncError::Interrupted(_));
    let mut lanes = lanes.into_iter();
    let Some(mut first) = lanes.next() else { return e };
    for lane in lanes {
        for mut d in lane.dests {
            if interrupted {
                d.reconnect().await;
            }
            d.conn.close().await;
        }
        lane.source.close().await;
    }
    // Stopped in the middle of a statement, a connection is in no state to go on:
    // dropping it rolls back what it had open; the undoing runs on a new one.
    if interrupted {
        for d in first.dests.iter_mut() {
            d.reconnect().await;
        }
    }
    let mut notes: Vec<UndoNote> = Vec::new();
    for d in first.dests.iter_mut() {
        // A connection that died (killed, lost) undoes nothing: the staging schemas,
        // the triggers and the tables are undone on a new one, as after an interruption
        // (one that answers but is in a failed transaction is ended the same way, which
        // rolls it back as ROLLBACK would).
        if !interrupted && d.conn.execute("SELECT 1").await.is_err() {
            d.reconnect().await;
        }
        let whole = d.loads_whole();
        if whole.is_some() {
            d.rollback_atomic().await;
        }
        let triggers = d.restore_triggers().await;
        let created = d.created_here();
        let batches = d.load.method == execute::LoadMethod::Batches;
        let told = match &e {
            SyncError::Rejected { destination, table, .. } if *destination == d.shown => Some(table.clone()),
            _ => None,
        };
        let half_emptied = match stage.emptying.as_deref() == Some(d.shown.as_str()) {
            true => Some(half_emptied(d, plan, &created).await),
            false => None,
        };
        // Rows went in only once the tables were emptied: a batch under way when the
        // run stopped may have gone in too.
        let under_way = interrupted
            && stage.doing == "loading"
            && batches
            // (Not in a table this run created: it is dropped again, rows and all.)
            && d.written.lock().expect("lock").iter().any(|(t, n, _)| *n > 0 && !created.contains(t));
        let undone = match (d.undo_created(batches, told.as_deref()).await, triggers) {
            (Some(u), Some(t)) => Some(format!("{u}; {t}")),
            (u, t) => u.or(t),
        };
        let undone = match (half_emptied, undone) {
            (Some(h), Some(u)) => Some(format!("{h}; {u}")),
            (h, u) => h.or(u),
        };
        let undone = match under_way {
            true => undone.map(|u| format!("{u} (a batch under way when it stopped may have gone in too)")),
            false => undone,
        };
        // A destination stopped by another's rejected row says what its cycle's rows
        // were left with as the one rejecting does (review r27d F7).
        let stopped = told.is_none() && matches!(e, SyncError::Rejected { .. });
        let undone = match (interrupted || stopped, whole) {
            (true, None) => match unset_cycle_rows(d, plan, &created) {
                Some(n) => Some(match undone {
                    Some(u) => format!("{u}; {n}"),
                    None => n,
                }),
                None => undone,
            },
            _ => undone,
        };
        notes.push((d.shown.clone(), whole, undone, created, batches));
    }
    for d in first.dests {
        d.conn.close().await;
    }
    first.source.close().await;
    let mut e = e;
    if let SyncError::Rejected {
        destination,
        table,
        written,
        ..
    } = &mut e
    {
        let said = match notes.iter().find(|(d, ..)| d == destination) {
            Some((_, Some(whole), None, ..)) => Some(whole.to_string()),
            Some((_, Some(whole), Some(undone), ..)) => Some(format!("{whole}; {undone}")),
            // Batches: the rows of the rejected table stay only if the table was there.
            Some((_, None, Some(undone), created, true)) if created.contains(table) => Some(undone.clone()),
            Some((_, None, Some(undone), _, true)) => {
                let before = written.split("; tables complete").next().unwrap_or(written);
                Some(format!("{before}; {undone}"))
            }
            // A transactional load that rolled back by itself (a key that did not hold).
            Some((_, None, Some(undone), _, false)) => Some(format!("{written}; {undone}")),
            _ => None,
        };
        if let Some(said) = said {
            *written = said;
        }
        // The other destinations of the job stopped too: what each of them kept (one
        // with nothing to undo and no row written is named as well).
        let others: Vec<String> = notes
            .into_iter()
            .filter(|(d, ..)| d != destination)
            .map(|n| {
                let shown = n.0.clone();
                kept(n).unwrap_or((
                    shown,
                    "nothing was written (its tables hold their rows as before)".into(),
                ))
            })
            .map(|(d, note)| format!("{d}: {note}"))
            .collect();
        if !others.is_empty() {
            written.push_str(&format!("; the other destinations stopped too: {}", others.join("; ")));
        }
        return e;
    }
    // Any other failure says what each destination kept.
    let said: Vec<(String, String)> = notes.into_iter().filter_map(kept).collect();
    match said.as_slice() {
        // (Stopped while a destination was prepared, tables it was creating are not
        // known here: nothing is claimed.)
        [] if interrupted && stage.doing != Stage::default().doing => {
            execute::with_note(e, "no destination was changed")
        }
        [] => e,
        // The note of the failing destination, or of the job's only one, needs no name;
        // another destination's does (review r24c F3: it was taken for the failing one's).
        [(d, note)] if plan.destinations.len() == 1 || names(&e, d) => execute::with_note(e, note),
        many => {
            let notes: Vec<String> = many.iter().map(|(d, n)| format!("{d}: {n}")).collect();
            execute::with_note(e, &notes.join("; "))
        }
    }
}
