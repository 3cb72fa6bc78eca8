//! The keyspaces a gateway serves: each one's mode, backend, and the schema (tables,
//! FKs, triggers) read from the backend, re-read after DDL the gateway forwards; its online
//! migrations ([`Migrator`]), and for a sharded keyspace the layout and FK scopes read
//! from the sharding engine's head.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tether_connect::IntrospectOptions;
use tether_fkplan::{ActionKind, Analysis, Plan, Start};
use tether_schema::Schema;
use tokio::sync::RwLock;

use crate::backend::Backend;
use crate::comments::{self, ServerVersion};
use crate::config::{Config, FkMode, KeyspaceSpec, User};
use crate::online::{self, Migrator};
use crate::reply::ServerError;
use crate::sharded;

/// The longest a statement waits for a cut-over of a table it reaches (then a read
/// runs, a write is refused with 1205).
const GATE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a statement waiting at the gate looks whether a parked hold's migration
/// was finished by another gateway or an operator.
const GATE_LOOK: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a background reading of a schema may take before it is given up (the
/// next one tries again).
const RELOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a managed sharded keyspace looks at its head's and data nodes'
/// connections (`sharded::recover::Watch`): a `DO 1` on each.
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// One keyspace at run time.
pub struct Keyspace {
    pub spec: KeyspaceSpec,
    schema: RwLock<Option<Known>>,
    /// Counts the invalidations (DDL through the gateway): a background reading
    /// that began before one must not store what it read.
    invalidations: AtomicU64,
    /// Counts the changes of `schema` (read, read again differently, forgotten):
    /// a prepared statement classified at one value is classified again when it
    /// moved, without taking the lock per execute.
    generation: AtomicU64,
    /// Online migrations (unsharded keyspaces; the migrator refuses, in an unmanaged
    /// one, tables InnoDB cascades into).
    migrator: Option<Migrator>,
    /// Sharded keyspaces: the last layout and FK scope report read from the head.
    shards: RwLock<Option<ShardReport>>,
    /// Managed sharded keyspaces: XA recovery is due (it failed, or a server of the
    /// cluster was lost since it last ran); the next write runs it first.
    recovery_due: AtomicBool,
    /// Managed sharded keyspaces: a client's COMMIT failed and the recovery it
    /// started has not finished: a data node may hold a branch of it prepared (its
    /// rows locked, the other nodes' half committed). Writes are refused until a
    /// recovery finishes (review r25h F2).
    in_doubt: AtomicBool,
    /// One recovery at a time (the watch's and a write's); when the last one
    /// failed (writes do not retry it more often than the watch looks).
    recovery: tokio::sync::Mutex<Option<std::time::Instant>>,
    /// The backend server's version, read at the first statement with an
    /// executable comment (and again after DDL through the gateway, in case the
    /// server was upgraded behind it).
    server_version: Mutex<Option<ServerVersion>>,
    /// DDL through the gateway that may change FKs, while it runs (managed, unsharded).
    fk_ddl: FkDdl,
    /// The last schema read, kept when `schema` is forgotten: what the cut-over gate
    /// follows FKs and triggers on (it must not read the schema while a cut-over
    /// holds metadata locks; FKs between tables a cut-over does not rebuild stay).
    last_known: Mutex<Option<Known>>,
}

/// DDL through the gateway that may change FKs, and the planned writes it must not
/// overlap (review r13b finding 8): a write planned on the schema of before such DDL
/// and run after it would skip the new FK (its statements run with the backend's
/// checks off) or cascade through a dropped one. Each running DDL has a zone: the
/// tables it names and their FK neighbours (transitively). A planned write holds a
/// read guard of `writes` from its plan to its end; a DDL registers its zone, then
/// takes and drops the write lock (every write planned before the zone existed has
/// ended), and removes its zone once the schema is forgotten. A write naming a table
/// of a zone waits for the DDL outside a transaction, and is refused with 1205
/// inside one (the DDL may be waiting for that transaction's metadata locks).
#[derive(Default)]
struct FkDdl {
    zones: Mutex<Vec<(u64, Vec<String>)>>,
    next: AtomicU64,
    ended: tokio::sync::Notify,
    writes: RwLock<()>,
}

/// A running FK-changing DDL's zone; removed when dropped.
pub struct FkDdlGuard<'a> {
    ks: &'a Keyspace,
    id: u64,
}

impl Drop for FkDdlGuard<'_> {
    fn drop(&mut self) {
        let mut zones = self.ks.fk_ddl.zones.lock().unwrap_or_else(|p| p.into_inner());
        zones.retain(|(id, _)| *id != self.id);
        drop(zones);
        self.ks.fk_ddl.ended.notify_waiters();
    }
}

/// True when DDL `sql` may add, drop or move an FK (or the table of one): it says
/// FOREIGN, REFERENCES, CONSTRAINT or RENAME, or is a DROP TABLE or CREATE OR REPLACE.
/// (An ALTER that only adds an index or a column does not hold writes.)
fn may_change_fks(sql: &str) -> bool {
    let words: Vec<String> = sql.split_whitespace().take(3).map(|w| w.to_ascii_lowercase()).collect();
    let starts = |a: &str, b: &str| words.first().is_some_and(|w| w == a) && words.get(1).is_some_and(|w| w == b);
    starts("drop", "table")
        || starts("create", "or")
        || ["foreign", "references", "constraint", "rename"]
            .iter()
            .any(|w| names(sql, w))
}

/// A schema read from the backend, with the tables a write can have FK work on
/// and the tables that have triggers.
#[derive(Clone)]
struct Known {
    schema: Arc<Schema>,
    fk_tables: Arc<FkTables>,
    triggered: Arc<Triggered>,
    outside: Arc<OutsideChildren>,
    functions: Arc<Functions>,
    /// Views over the FK tables through another database (see [`FkTables::views`]).
    views: Arc<crate::views::ViewsOverFk>,
    /// The migrator gate's swap count read before the schema was: another value now
    /// means a cut-over changed the tables since (the schema is read again).
    swaps: u64,
    /// The keyspace's invalidation count read before the schema was: another value
    /// now means DDL went through the gateway since (a view, a trigger, a routine
    /// this schema does not know), and the cut-over gate does not judge on it
    /// (review r27b F1-F3).
    invalidations: u64,
}

impl Known {
    fn new(read: Read, swaps: u64, invalidations: u64) -> Known {
        let Read {
            schema,
            outside,
            functions,
            views,
        } = read;
        let mut fk_tables = FkTables::of(&schema);
        let views = views.over_fk_tables(&schema, &fk_tables.views);
        fk_tables.views.extend(views.own.iter().cloned());
        Known {
            fk_tables: Arc::new(fk_tables),
            views: Arc::new(views),
            triggered: Arc::new(Triggered::of(&schema)),
            outside: Arc::new(outside),
            functions: Arc::new(functions),
            schema: Arc::new(schema),
            swaps,
            invalidations,
        }
    }
}

/// What reading a keyspace's schema gives: its tables, which of them tables of
/// other databases refer to, and which function names are the server's own.
struct Read {
    schema: Schema,
    outside: OutsideChildren,
    functions: Functions,
    views: crate::views::ServerViews,
}

/// Which functions a statement may call in a plan. A plan evaluates the
/// statement's expressions more than once (the lock read, then the statement;
/// a trial run rolled back, then the rows by key), so a stored function or UDF
/// with side effects (rows it writes, a counter it moves) would run twice, or
/// not at all. A write whose plan has work and that calls a function other than
/// the server's built-ins runs as InnoDB runs it (forwarded with the session's
/// checks; its cascades are InnoDB's). The built-ins are the server's own list
/// (`information_schema.SQL_FUNCTIONS` and `KEYWORDS`, MariaDB 10.6.3 and later);
/// without it, the stored functions of the keyspace's database
/// (`information_schema.ROUTINES`) are the ones that count, and a UDF is not seen.
/// A qualified call (`db.f()`) is never a built-in.
#[derive(PartialEq)]
enum Functions {
    /// Upper-cased names of the built-ins.
    BuiltIn(HashSet<String>),
    /// Lower-cased names of the database's stored functions.
    Stored(HashSet<String>),
}

impl Default for Functions {
    fn default() -> Self {
        Functions::Stored(HashSet::new())
    }
}

impl Functions {
    /// Spatial functions (a plugin's: not in `SQL_FUNCTIONS`) by prefix or name.
    const SPATIAL_PREFIXES: [&'static str; 3] = ["ST_", "MBR", "GEOM"];
    const SPATIAL: [&'static str; 10] = [
        "POINT",
        "LINESTRING",
        "POLYGON",
        "MULTIPOINT",
        "MULTILINESTRING",
        "MULTIPOLYGON",
        "GEOMETRYCOLLECTION",
        "ASTEXT",
        "ASWKT",
        "ASBINARY",
    ];

    /// Reads them on a connection of its own.
    async fn read(url: &tether_connect::DbUrl, database: &str) -> Result<Functions, String> {
        let mut b = Backend::new(url.clone(), false);
        let builtin = b
            .read(
                "SELECT UPPER(FUNCTION) FROM information_schema.SQL_FUNCTIONS \
                 UNION SELECT UPPER(WORD) FROM information_schema.KEYWORDS",
            )
            .await;
        let out = match builtin {
            Ok(rows) => Ok(Functions::BuiltIn(
                rows.rows.iter().filter_map(|r| r.first().map(|v| v.text())).collect(),
            )),
            // 1109: unknown table (before MariaDB 10.6.3, MySQL).
            Err(e) if e.code == 1109 => {
                let sql = format!(
                    "SELECT LOWER(ROUTINE_NAME) FROM information_schema.ROUTINES \
                     WHERE ROUTINE_SCHEMA = {} AND ROUTINE_TYPE = 'FUNCTION'",
                    tether_fkplan::string_literal(database.as_bytes())
                );
                match b.read(&sql).await {
                    Ok(rows) => Ok(Functions::Stored(
                        rows.rows.iter().filter_map(|r| r.first().map(|v| v.text())).collect(),
                    )),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        b.disconnect().await;
        out.map_err(|e| format!("cannot read which functions are built in: {}", e.message))
    }

    /// The first function `sql` calls that is not a built-in, as written.
    fn not_built_in(&self, sql: &str) -> Option<String> {
        tether_fkplan::called_functions(sql)
            .into_iter()
            .find(|name| match (name.as_slice(), self) {
                ([one], Functions::BuiltIn(names)) => {
                    let upper = one.to_uppercase();
                    !names.contains(&upper)
                        && !Self::SPATIAL.contains(&upper.as_str())
                        && !Self::SPATIAL_PREFIXES.iter().any(|p| upper.starts_with(p))
                }
                ([one], Functions::Stored(names)) => names.contains(&one.to_lowercase()),
                _ => true,
            })
            .map(|name| name.join("."))
    }
}

/// The keyspace's tables that FKs of tables in OTHER databases refer to,
/// lowercased, with one such FK each (`db`.`table`.`fk`, for the log). The schema
/// the planner reads is the keyspace's database only, and a plan's statements run
/// with `foreign_key_checks = 0`: InnoDB would not act on those FKs either, and a
/// planned delete or re-key of such a parent would orphan its children there. A
/// write whose plan writes such a table runs as InnoDB runs it (forwarded with
/// the session's checks), as for tables with triggers.
#[derive(Default, PartialEq)]
struct OutsideChildren {
    tables: BTreeMap<String, String>,
}

impl OutsideChildren {
    /// Reads them from `information_schema` on a connection of its own.
    async fn read(url: &tether_connect::DbUrl, database: &str) -> Result<OutsideChildren, String> {
        let lit = |s: &str| tether_fkplan::string_literal(s.as_bytes());
        let sql = format!(
            "SELECT REFERENCED_TABLE_NAME, CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME \
             FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE UNIQUE_CONSTRAINT_SCHEMA = {db} AND CONSTRAINT_SCHEMA <> {db} \
             ORDER BY CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME",
            db = lit(database)
        );
        let mut b = Backend::new(url.clone(), false);
        let read = b.read(&sql).await;
        b.disconnect().await;
        let read = read.map_err(|e| format!("cannot read the FKs of other databases: {}", e.message))?;
        let mut tables = BTreeMap::new();
        for r in &read.rows {
            let f = |i: usize| r.get(i).map(|v| v.text()).unwrap_or_default();
            tables
                .entry(f(0).to_lowercase())
                .or_insert_with(|| format!("`{}`.`{}`.`{}`", f(1), f(2), f(3)));
        }
        Ok(OutsideChildren { tables })
    }

    /// The tables `plan` writes that FKs of other databases refer to, with one
    /// such FK each, sorted.
    fn written_by(&self, plan: &Plan) -> Vec<(String, String)> {
        if self.tables.is_empty() {
            return Vec::new();
        }
        let mut written = Vec::new();
        plan_writes(plan, &mut written);
        let mut found: Vec<(String, String)> = written
            .into_iter()
            .filter_map(|t| Some((t.clone(), self.tables.get(&t.to_lowercase())?.clone())))
            .collect();
        found.sort_by_key(|(t, _)| t.to_lowercase());
        found.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
        found
    }
}

/// Fills `extras.collations` of `schema`'s tables with the collation of each text
/// column of a table holding an FK or a column an FK refers to (MariaDB's
/// introspection leaves them empty): the planner needs their pad attribute and character set, as InnoDB
/// compares and cascades such keys as stored (a CHAR padded with spaces, a NO PAD
/// collation counting them; see `tether_fkplan`'s `planner/stored.rs`). One read
/// of `information_schema.COLUMNS` for the database, on a connection of its own.
async fn read_key_collations(url: &tether_connect::DbUrl, database: &str, schema: &mut Schema) -> Result<(), String> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            keys.entry(t.name.clone())
                .or_default()
                .extend(fk.columns.iter().cloned());
            if fk.referenced_schema.as_deref().is_none_or(|s| s == database) {
                keys.entry(fk.referenced_table.clone())
                    .or_default()
                    .extend(fk.referenced_columns.iter().cloned());
            }
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = {} AND COLLATION_NAME IS NOT NULL",
        tether_fkplan::string_literal(database.as_bytes())
    );
    let mut b = Backend::new(url.clone(), false);
    let read = b.read(&sql).await;
    b.disconnect().await;
    let read = read.map_err(|e| format!("cannot read the collations of key columns: {}", e.message))?;
    for r in &read.rows {
        let f = |i: usize| r.get(i).map(|v| v.text()).unwrap_or_default();
        let (table, column, collation) = (f(0), f(1), f(2));
        // Every text column of a table with keys: `VALUES(col)` of a non-key
        // column is read in its character set too (`tether_fkplan`'s `as_stored`).
        let keyed = keys.contains_key(&table);
        if let Some(t) = schema.tables.iter_mut().find(|t| keyed && t.name == table) {
            t.extras.collations.insert(column, collation);
        }
    }
    Ok(())
}

/// The prefix of the online migrator's capture triggers (`online::capture`).
const CAPTURE_TRIGGER_PREFIX: &str = "_tether_";

/// The tables with triggers of their own, lowercased (compared without case: a
/// false match only makes a statement run natively). A plan's statements run with
/// `foreign_key_checks = 0`, so a trigger they fire writes unchecked (orphans), and
/// a trigger on a child fires on changes InnoDB's cascades make silently: a write
/// whose plan writes such a table runs as InnoDB runs it. The migrator's capture
/// triggers are left out: they copy rows into a shadow table without FKs, and
/// must fire on the plan's child statements (that is how a managed keyspace
/// migrates a table cascades reach).
struct Triggered {
    tables: HashSet<String>,
}

impl Triggered {
    fn of(schema: &Schema) -> Triggered {
        let tables = schema
            .tables
            .iter()
            .filter(|t| {
                t.extras
                    .triggers
                    .iter()
                    .any(|tr| !tr.name.starts_with(CAPTURE_TRIGGER_PREFIX))
            })
            .map(|t| t.name.to_lowercase())
            .collect();
        Triggered { tables }
    }

    /// The tables `plan` writes (the statement's targets, the children its
    /// cascades, SET NULL and SET DEFAULT change) that have triggers, as the schema
    /// names them, sorted; `sql` is the statement (a multi-table UPDATE's plan
    /// reads only the targets whose referenced keys change: the others it names
    /// count too).
    fn written_by(&self, plan: &Plan, sql: &str) -> Vec<String> {
        if self.tables.is_empty() {
            return Vec::new();
        }
        let mut written = Vec::new();
        plan_writes(plan, &mut written);
        if matches!(plan.start, Start::Multi { .. }) {
            written.extend(crate::managed::write_targets(sql).unwrap_or_default());
        }
        let mut found: Vec<String> = written
            .into_iter()
            .filter(|t| self.tables.contains(&t.to_lowercase()))
            .collect();
        found.sort_by_key(|t| t.to_lowercase());
        found.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        found
    }
}

/// Every table `plan` (and its steps) changes rows of.
fn plan_writes(plan: &Plan, out: &mut Vec<String>) {
    out.push(plan.table.clone());
    if let Start::Multi { targets } = &plan.start {
        out.extend(targets.iter().map(|t| t.table.clone()));
    }
    for rules in &plan.rules {
        out.push(rules.table.clone());
        for action in &rules.actions {
            if matches!(action.kind, ActionKind::Delete { .. } | ActionKind::Update { .. }) {
                out.push(action.fk.child.clone());
            }
        }
    }
    for step in &plan.steps {
        plan_writes(step, out);
    }
}

/// The tables of a schema that have FKs or that FKs refer to: a write naming none
/// of them has no FK work, and is forwarded without being parsed (parsing costs a
/// managed keyspace's text writes to FK-free tables 15-20 us each).
struct FkTables {
    /// Names made only of identifier characters, lowercased: looked up per word.
    words: HashSet<String>,
    /// Names with other characters (written quoted): looked for as they are and
    /// with their quotes doubled.
    other: Vec<String>,
    /// The views that read one of the tables, directly or through other views
    /// (lowercased; for a managed unsharded keyspace also through views of other
    /// databases, `crate::views`): a write through one would be InnoDB's to
    /// cascade, out of the planner's sight, so it is refused.
    views: HashSet<String>,
}

impl FkTables {
    fn of(schema: &Schema) -> FkTables {
        let mut words = HashSet::new();
        let mut other = Vec::new();
        let involved = schema.tables.iter().flat_map(|t| {
            let parents = t.foreign_keys.iter().map(|f| f.referenced_table.as_str());
            std::iter::once(t.name.as_str())
                .filter(|_| !t.foreign_keys.is_empty())
                .chain(parents)
        });
        for name in involved {
            if name.chars().all(|c| !is_separator(c)) {
                words.insert(name.to_lowercase());
            } else {
                // Quoted, a backtick (or, under ANSI_QUOTES, a double quote) in the
                // name is written twice.
                for spelling in [name.to_string(), name.replace('`', "``"), name.replace('"', "\"\"")] {
                    if !other.contains(&spelling) {
                        other.push(spelling);
                    }
                }
            }
        }
        let mut fk = FkTables {
            words,
            other,
            views: HashSet::new(),
        };
        // Conservative: a view whose definition has a table's name as a word
        // counts, or one reading such a view; until no view is added.
        loop {
            let found = schema.objects.views.iter().find(|v| {
                !fk.views.contains(&v.name.to_lowercase())
                    && (fk.named_in(&v.definition) || v.reads.iter().any(|r| fk.views.contains(&r.name.to_lowercase())))
            });
            match found {
                Some(v) => fk.views.insert(v.name.to_lowercase()),
                None => break fk,
            };
        }
    }

    /// The view over FK tables a write `sql` writes through, if any: one named
    /// as a target, or, when the targets cannot be read (or one is no table nor
    /// view of the schema, `UPDATE IGNORE v` read as a table `IGNORE`), one
    /// named at all.
    fn view_written(&self, sql: &str, schema: &Schema) -> Option<String> {
        if self.views.is_empty() || !tether_fkplan::looks_like_write(sql) {
            return None;
        }
        let named = self.views.iter().find(|v| names(sql, v))?;
        // Only the tables written: a multi-table write may read a view.
        let Some(targets) = crate::views::written_tables(sql) else {
            return Some(named.clone());
        };
        let targets: Vec<String> = targets.into_iter().map(|(_, t)| t).collect();
        let known = |t: &str| {
            schema.find_table(t).is_some() || schema.objects.views.iter().any(|v| v.name.eq_ignore_ascii_case(t))
        };
        targets
            .iter()
            .find(|t| self.views.contains(&t.to_lowercase()))
            .cloned()
            .or_else(|| targets.iter().any(|t| !known(t)).then(|| named.clone()))
    }

    /// True when `sql` may name one of the tables: a word of it equal to one
    /// without case (a mention in a string or a comment counts too, and costs only
    /// the parse).
    fn named_in(&self, sql: &str) -> bool {
        if self.other.iter().any(|t| names(sql, t)) {
            return true;
        }
        if self.words.is_empty() {
            return false;
        }
        let mut word = String::new();
        sql.split(is_separator).filter(|w| !w.is_empty()).any(|w| {
            word.clear();
            word.extend(w.chars().flat_map(char::to_lowercase));
            self.words.contains(&word)
        })
    }
}

/// Characters that cannot be part of an unquoted identifier (any non-ASCII
/// character can).
fn is_separator(c: char) -> bool {
    c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// What a sharded keyspace's head told at the last reading.
#[derive(Debug, Clone)]
pub struct ShardReport {
    /// Tables (placement) and FKs (scope), as `sharded::report` prints them.
    pub text: String,
    /// One line per FK the data nodes cannot enforce (cross-shard), naming it.
    pub unenforced: Vec<String>,
}

impl Keyspace {
    pub fn new(spec: KeyspaceSpec) -> Self {
        let migrator = if spec.sharded {
            None
        } else {
            let managed = spec.mode == FkMode::Managed;
            match Migrator::with_url(&spec.name, spec.url.clone(), managed, online::Settings::for_gateway()) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!("keyspace {}: no online migrations: {e}", spec.name);
                    None
                }
            }
        };
        let sharded_managed = spec.sharded && spec.mode == FkMode::Managed;
        Keyspace {
            spec,
            schema: RwLock::new(None),
            invalidations: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            migrator,
            shards: RwLock::new(None),
            // A managed sharded keyspace starts in doubt, its recovery due: a branch
            // of a commit that failed before this gateway started may be held
            // prepared on a data node; writes wait for a recovery that finishes.
            recovery_due: AtomicBool::new(sharded_managed),
            in_doubt: AtomicBool::new(sharded_managed),
            recovery: tokio::sync::Mutex::new(None),
            server_version: Mutex::new(None),
            fk_ddl: FkDdl::default(),
            last_known: Mutex::new(None),
        }
    }

    /// At gateway start: reads the schema (a backend that is down only delays that
    /// keyspace), resumes unfinished online migrations, and for a sharded keyspace
    /// reads the layout (warning about cross-shard FKs in unmanaged mode).
    pub async fn start(self: &Arc<Self>) {
        if let Some(m) = &self.migrator {
            let keyspace: Weak<Self> = Arc::downgrade(self);
            m.gate_ref().on_hold(Arc::new(move || {
                let keyspace = keyspace.clone();
                Box::pin(async move {
                    if let Some(ks) = keyspace.upgrade() {
                        ks.read_at_hold().await;
                    }
                })
            }));
        }
        if let Err(e) = self.refresh().await {
            tracing::warn!("{}", e.message);
        }
        if self.spec.sharded {
            if self.mode() == FkMode::Managed {
                self.recover_xa(false).await;
                self.watch_cluster();
            }
            if let Err(e) = self.read_layout().await {
                tracing::warn!("{}", e.message);
            }
        }
        let Some(migrator) = &self.migrator else { return };
        // No migrations table: none ever submitted, nothing to resume (and none created).
        match self.has_migrations().await {
            Ok(false) => {}
            Ok(true) => match migrator.resume_all().await {
                Ok(ids) if ids.is_empty() => {}
                Ok(ids) => {
                    tracing::info!(
                        "keyspace {}: resumed online migrations {}",
                        self.spec.name,
                        ids.join(", ")
                    );
                    for id in ids {
                        self.follow(id);
                    }
                }
                Err(e) => tracing::warn!("keyspace {}: cannot resume online migrations: {e}", self.spec.name),
            },
            Err(e) => tracing::warn!(
                "keyspace {}: cannot look for online migrations: {}",
                self.spec.name,
                e.message
            ),
        }
    }

    /// A managed sharded keyspace: finishes the transactions Spider left prepared on
    /// the data nodes (`sharded::recover`), before the gateway serves and again
    /// before the first write after a server of the cluster was lost; a failure is
    /// logged, naming the server, and leaves recovery due. `by_write`: only when
    /// still due (another may have run it meanwhile) and the last failure is older
    /// than the watch's interval.
    async fn recover_xa(&self, by_write: bool) -> Option<Result<Vec<sharded::recover::Resolved>, String>> {
        let mut failed_at = self.recovery.lock().await;
        if by_write
            && (!self.recovery_due.load(Ordering::SeqCst) || failed_at.is_some_and(|t| t.elapsed() < WATCH_INTERVAL))
        {
            return None;
        }
        let result = sharded::recover::recover_head(&self.spec.url).await;
        match &result {
            // A branch this head recorded stays prepared (its node refused the
            // XA COMMIT): in doubt, writes refused, as after a failed COMMIT.
            Err(e) if e.held => {
                *failed_at = Some(std::time::Instant::now());
                self.recovery_due.store(true, Ordering::SeqCst);
                self.in_doubt.store(true, Ordering::SeqCst);
                tracing::warn!("keyspace {}: {e}", self.spec.name)
            }
            Ok(done) => {
                *failed_at = None;
                self.recovery_due.store(false, Ordering::SeqCst);
                self.in_doubt.store(false, Ordering::SeqCst);
                if !done.is_empty() {
                    tracing::info!(
                        "keyspace {}: XA recovery resolved {} prepared transaction(s)",
                        self.spec.name,
                        done.len()
                    )
                }
            }
            Err(e) => {
                *failed_at = Some(std::time::Instant::now());
                self.recovery_due.store(true, Ordering::SeqCst);
                tracing::warn!("keyspace {}: {e}", self.spec.name)
            }
        }
        Some(result.map_err(|e| e.message))
    }

    /// A client's COMMIT on this managed sharded keyspace failed (any error: a
    /// node may have refused its XA COMMIT after the head recorded the commit and
    /// other nodes committed, review r25h F2): recovery runs at once, and writes
    /// are refused until one finishes. Returns what to add to the client's error:
    /// what the recovery did.
    pub async fn commit_failed(&self) -> String {
        use sharded::recover::Decision;
        self.in_doubt.store(true, Ordering::SeqCst);
        self.recovery_due.store(true, Ordering::SeqCst);
        let nodes = |done: &[sharded::recover::Resolved], d: Decision| {
            let mut names: Vec<&str> = done
                .iter()
                .filter(|r| r.decision == d)
                .map(|r| r.node.as_str())
                .collect();
            names.dedup();
            names.join(", ")
        };
        match self.recover_xa(false).await {
            Some(Ok(done)) => {
                let committed = nodes(&done, Decision::Commit);
                let rolled_back = nodes(&done, Decision::Rollback);
                let mut what = Vec::new();
                if !committed.is_empty() {
                    what.push(format!(
                        "committed the branches data node(s) {committed} held prepared, as the head's record of \
                         the commit says (the transaction is committed on every node)"
                    ));
                }
                if !rolled_back.is_empty() {
                    what.push(format!(
                        "rolled back the branches data node(s) {rolled_back} held prepared (the head had not \
                         recorded a commit: nothing of them is committed)"
                    ));
                }
                if what.is_empty() {
                    " (tether gateway: the gateway's XA recovery, run at once, found no branch left prepared \
                     on the data nodes)"
                        .to_string()
                } else {
                    format!(
                        " (tether gateway: the gateway's XA recovery, run at once, {})",
                        what.join("; ")
                    )
                }
            }
            Some(Err(e)) => format!(
                " (tether gateway: a data node may hold this transaction prepared, its rows locked; the gateway's \
                 XA recovery could not finish yet ({e}): it is retried every second and completes the \
                 transaction as the head recorded it; until then writes to keyspace `{}` are refused)",
                self.spec.name
            ),
            None => String::new(),
        }
    }

    /// Watches the head's and data nodes' connections while the keyspace lives
    /// (`sharded::recover::Watch`): a loss makes recovery due, run at once when
    /// every server answers again, or by the next write (`plan`).
    fn watch_cluster(self: &Arc<Self>) {
        let keyspace: Weak<Self> = Arc::downgrade(self);
        let head = self.spec.url.clone();
        tokio::spawn(async move {
            let mut watch = None;
            loop {
                let Some(ks) = keyspace.upgrade() else { return };
                if watch.is_none() {
                    // The layout is read from the head: retried until it answers.
                    watch = match sharded::recover::Watch::new(&head).await {
                        Ok(w) => Some(w),
                        Err(e) => {
                            tracing::debug!("keyspace {}: XA watch: {e}", ks.spec.name);
                            None
                        }
                    };
                } else if let Some(w) = watch.as_mut() {
                    let look = w.look().await;
                    if look.lost {
                        ks.recovery_due.store(true, Ordering::SeqCst);
                    }
                    if !look.down && ks.recovery_due.load(Ordering::SeqCst) {
                        ks.recover_xa(false).await;
                    }
                    if look.lost {
                        // The layout read again at the next look (nodes added).
                        watch = None;
                    }
                }
                drop(ks);
                tokio::time::sleep(WATCH_INTERVAL).await;
            }
        });
    }

    /// True when the backend has the migrations table (an online ALTER was submitted once).
    pub async fn has_migrations(&self) -> Result<bool, ServerError> {
        let mut b = Backend::new(self.spec.url.clone(), false);
        let like = online::MIGRATIONS_TABLE.replace('_', "\\_");
        let rows = b.read(&format!("SHOW TABLES LIKE '{like}'")).await;
        b.disconnect().await;
        Ok(!rows?.rows.is_empty())
    }

    /// Follows migration `id` (a look a second) and forgets the schema when it ends:
    /// a completed cut-over changed the tables.
    pub fn follow(self: &Arc<Self>, id: String) {
        let ks = self.clone();
        tokio::spawn(async move {
            let Some(m) = ks.migrator() else { return };
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                match m.get(&id).await {
                    Ok(migration) if !migration.state.is_final() => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("keyspace {}: migration {id}: {e}", ks.spec.name);
                        break;
                    }
                }
            }
            ks.invalidate().await;
            ks.read_again().await;
        });
    }

    /// The keyspace's online migrations, when it has them.
    pub fn migrator(&self) -> Option<&Migrator> {
        self.migrator.as_ref()
    }

    /// Waits (bounded) while a statement may reach a table under cut-over: it names
    /// one, or (a statement that may write) names a table whose cascades reach one
    /// ([`Reach`]). Costs a look at an empty list when nothing is held.
    /// `transaction`: the session is inside a transaction that has opened what it
    /// says. A write there waits like any other unless its transaction opened every
    /// held table it reaches before the hold on it began (then the RENAME waits for
    /// the transaction, and waiting for the gate would deadlock with it); a read
    /// there does not wait. A statement on a table under a refusing hold (a resumed
    /// cut-over's: the tables without their FKs) is refused rather than run (inside
    /// a transaction at once), and so is a statement the gateway cannot see into (a
    /// CALL, an EXECUTE, a stored function's call, a write to a table with triggers)
    /// while any hold is still on, and a write still held when the wait is over.
    /// `live`: the client, whose KILL or disconnect ends the wait (the statement is
    /// then not run: review r26c F4).
    pub async fn pass_gate(
        &self,
        sql: &str,
        transaction: Option<&Opened>,
        live: Option<&crate::kill::Live>,
    ) -> Result<bool, ServerError> {
        let Some((m, known)) = self.held_gate().await else {
            return Ok(false);
        };
        pass(
            m,
            known.as_ref(),
            &self.spec.database,
            sql,
            transaction,
            Origin::Own,
            live,
        )
        .await
    }

    /// The keyspace's migrator and last schema read while a cut-over of it holds
    /// tables (a parked hold of a migration finished elsewhere released first);
    /// `None`: there is no gate to pass.
    async fn held_gate(&self) -> Option<(&Migrator, Option<Known>)> {
        let m = self.migrator.as_ref()?;
        if m.gate_ref().held_tables().is_empty() {
            return None;
        }
        m.release_finished().await;
        Some((m, self.last_known()))
    }

    /// True while a cut-over of this keyspace holds tables.
    pub fn holding(&self) -> bool {
        self.migrator
            .as_ref()
            .is_some_and(|m| !m.gate_ref().held_tables().is_empty())
    }

    /// [`Self::pass_gate`] for a statement a session sends in another keyspace,
    /// `from`, on the same backend server (review r26c F3: the hold is the
    /// gateway's, not one keyspace's). A keyspace on the same database is this one
    /// under another name: its statement passes as this keyspace's would (with its
    /// transaction's record: its connection's metadata locks are on the same
    /// tables). From another database, any statement that may write (or that calls
    /// a function that is not a built-in, a CALL, an EXECUTE) may reach the held
    /// tables through a database-qualified name, a view, a trigger, a routine or a
    /// cascade out of this keyspace's sight: it waits for every held table, and its
    /// transaction's record counts nothing (its names are of another database).
    pub async fn pass_gate_from(
        &self,
        from: &Keyspace,
        sql: &str,
        transaction: Option<&Opened>,
        live: Option<&crate::kill::Live>,
    ) -> Result<bool, ServerError> {
        let Some((m, known)) = self.held_gate().await else {
            return Ok(false);
        };
        if from.spec.database == self.spec.database {
            return pass(
                m,
                known.as_ref(),
                &self.spec.database,
                sql,
                transaction,
                Origin::Own,
                live,
            )
            .await;
        }
        let theirs = from.last_known();
        let nothing = Opened::default();
        let transaction = transaction.map(|_| &nothing);
        let origin = Origin::Other(theirs.as_ref());
        pass(m, known.as_ref(), &self.spec.database, sql, transaction, origin, live).await
    }

    /// The last schema read (kept when the one in use is forgotten by a cut-over's
    /// swap), when no DDL went through the gateway since it was read: a view, a
    /// trigger or a routine created since would be out of its sight, and the
    /// cut-over gate judges a statement as it judges one of a keyspace whose schema
    /// was never read (review r27b F1-F3: an unmanaged keyspace's schema was not
    /// read again after DDL, and writes through a new trigger or view passed a hold).
    fn last_known(&self) -> Option<Known> {
        let known = self.last_known.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        (known.invalidations == self.invalidations.load(Ordering::SeqCst)).then_some(known)
    }

    /// True when `sql` may create or drop a temporary table out of its text's sight
    /// (review r26c F1): it calls a function that is not a built-in (a stored
    /// function may run `CREATE TEMPORARY TABLE`), names a view (its definition
    /// may call one) or a name of another database (review r26j F2), or it may write and names a
    /// table with triggers, a view (a write through it fires its tables'
    /// triggers), or a table of another database (whose triggers the gateway does
    /// not read); without a schema read (or with DDL through the gateway since the
    /// last one), any statement: any name may be a view calling such a function
    /// (review r27b F3). Conservative: the names the session's transactions use
    /// count as nothing from then on.
    pub fn may_touch_temporary_unseen(&self, sql: &str) -> bool {
        let Some(known) = self.last_known() else {
            return true;
        };
        if known.functions.not_built_in(sql).is_some() {
            return true;
        }
        let schema = &known.schema;
        // A read of a view may call a stored function of its definition; a name of
        // another database may be such a view (review r26j F2).
        if schema.objects.views.iter().any(|v| names(sql, &v.name)) || qualified_elsewhere(sql, &self.spec.database) {
            return true;
        }
        if !may_write(sql) {
            return false;
        }
        schema
            .tables
            .iter()
            .any(|t| known.triggered.tables.contains(&t.name.to_lowercase()) && names(sql, &t.name))
            || writes_elsewhere(sql, &self.spec.database)
    }

    /// Reads the sharded layout and FK scopes from the head again; in unmanaged mode
    /// logs a warning per cross-shard FK.
    pub async fn read_layout(&self) -> Result<ShardReport, ServerError> {
        let (layout, fks) = sharded::describe(&self.spec.url, &self.spec.declared_fks)
            .await
            .map_err(|e| {
                ServerError::gateway(format!(
                    "keyspace `{}`: cannot read the sharded layout: {e}",
                    self.spec.name
                ))
            })?;
        let report = ShardReport {
            text: sharded::report::report(&layout, &fks),
            unenforced: sharded::report::unenforced(&fks),
        };
        if self.mode() == FkMode::Unmanaged {
            for w in &report.unenforced {
                tracing::warn!("keyspace {}: {w}", self.spec.name);
            }
        }
        *self.shards.write().await = Some(report.clone());
        Ok(report)
    }

    /// `EXPLAIN FK SHARDS`: the layout, every FK with its scope, and (unmanaged) the
    /// FKs nobody enforces; each line ends with a newline.
    pub async fn explain_shards(&self) -> Result<String, ServerError> {
        if !self.spec.sharded {
            return Err(ServerError::gateway(format!(
                "keyspace `{}` is not sharded: EXPLAIN FK SHARDS has nothing to show",
                self.spec.name
            )));
        }
        let known = self.shards.read().await.clone();
        let report = match known {
            Some(r) => r,
            None => self.read_layout().await?,
        };
        let mut text = report.text;
        if self.mode() == FkMode::Unmanaged && !report.unenforced.is_empty() {
            text.push_str("not enforced (unmanaged):\n");
            for w in &report.unenforced {
                text.push_str(&format!("  {w}\n"));
            }
        }
        Ok(text)
    }

    /// Before DDL `sql` goes to the backend through the gateway (managed, unsharded):
    /// when it may change FKs of tables of the schema, registers its zone and waits for
    /// the planned writes in flight (see [`FkDdl`]). Keep the guard until
    /// [`Self::after_ddl`] has run.
    pub async fn fk_ddl_begin(&self, sql: &str) -> Option<FkDdlGuard<'_>> {
        if self.spec.mode != FkMode::Managed || self.spec.sharded || !may_change_fks(sql) {
            return None;
        }
        let schema = self.schema().await.ok()?;
        let mut zone: Vec<String> = schema
            .tables
            .iter()
            .filter(|t| names(sql, &t.name))
            .map(|t| t.name.clone())
            .collect();
        let mut i = 0;
        while i < zone.len() {
            let t = zone[i].clone();
            // Its children and its parents in the keyspace's database.
            let mut linked: Vec<String> = schema
                .tables
                .iter()
                .filter(|o| {
                    o.foreign_keys
                        .iter()
                        .any(|f| f.referenced_schema.is_none() && f.referenced_table == t)
                })
                .map(|o| o.name.clone())
                .collect();
            if let Some(table) = schema.tables.iter().find(|o| o.name == t) {
                linked.extend(
                    table
                        .foreign_keys
                        .iter()
                        .filter(|f| f.referenced_schema.is_none())
                        .map(|f| f.referenced_table.clone()),
                );
            }
            for l in linked {
                if !zone.contains(&l) {
                    zone.push(l);
                }
            }
            i += 1;
        }
        if zone.is_empty() {
            return None;
        }
        let id = self.fk_ddl.next.fetch_add(1, Ordering::AcqRel);
        self.fk_ddl
            .zones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, zone));
        let guard = FkDdlGuard { ks: self, id };
        // Every write planned before the zone existed ends first.
        drop(self.fk_ddl.writes.write().await);
        Some(guard)
    }

    /// Admits a planned write `sql` (managed, unsharded): the guard to hold from its
    /// plan to its end. While FK-changing DDL through the gateway runs on a table the
    /// write names (or an FK neighbour of one), waits for it, or, `in_transaction`,
    /// refuses with 1205 (retryable; nothing was run).
    pub async fn admit_write(
        &self,
        sql: &str,
        in_transaction: bool,
    ) -> Result<Option<tokio::sync::RwLockReadGuard<'_, ()>>, ServerError> {
        loop {
            let ended = self.fk_ddl.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            // Inside a transaction a write never queues behind a DDL's barrier: the
            // writes the barrier waits for may wait for this transaction's row locks.
            // The DDL's zone is registered before its barrier: a write outside it
            // goes on without the guard.
            let guard = match in_transaction {
                true => self.fk_ddl.writes.try_read().ok(),
                false => Some(self.fk_ddl.writes.read().await),
            };
            let blocking = {
                let zones = self.fk_ddl.zones.lock().unwrap_or_else(|p| p.into_inner());
                zones
                    .iter()
                    .flat_map(|(_, z)| z.iter())
                    .find(|t| names(sql, t))
                    .cloned()
            };
            let Some(table) = blocking else {
                return Ok(guard);
            };
            drop(guard);
            if in_transaction {
                return Err(ServerError::new(
                    1205,
                    "HY000",
                    format!(
                        "Lock wait timeout exceeded; try restarting transaction (tether gateway: keyspace `{}`: DDL \
                         that may change the foreign keys of `{table}` is running; the write was not run)",
                        self.spec.name
                    ),
                ));
            }
            ended.await;
        }
    }

    /// After DDL through the gateway (any mode): the schema is forgotten, and an
    /// unsharded keyspace's read again at once ([`Self::read_again`]); a sharded
    /// keyspace's layout is read again in the background.
    pub async fn after_ddl(self: &Arc<Self>) {
        self.invalidate().await;
        if self.spec.sharded {
            let ks = self.clone();
            tokio::spawn(async move {
                if let Err(e) = ks.read_layout().await {
                    tracing::warn!("{}", e.message);
                }
            });
        } else {
            self.read_again().await;
        }
    }

    /// A hold of the keyspace's gate began (before its RENAME): the schema is read
    /// again, so the statements it holds are judged on the views, triggers and
    /// routines of the server now, also those created on it directly (review r27b).
    /// Not while another hold is past its RENAME (its gap).
    async fn read_at_hold(&self) {
        let Some(m) = &self.migrator else { return };
        let gate = m.gate_ref();
        if gate.held_tables().iter().any(|t| gate.past_rename(t)) {
            return;
        }
        if let Err(e) = self.read_known().await {
            tracing::warn!("{}", e.message);
        }
    }

    /// Reads the schema again now (after DDL, after a migration ended), so the
    /// cut-over gate judges on one that knows the views, triggers and routines
    /// created since: an unmanaged keyspace plans nothing, so nothing else would read
    /// it (review r27b F1, F2). Not while a cut-over of the keyspace holds tables (its
    /// gap is no time to read FKs: the next use or the periodic refresh reads it;
    /// meanwhile the gate judges as without a schema, see [`Self::last_known`]). A
    /// failure is logged; the next use tries again.
    pub async fn read_again(&self) {
        if self.spec.sharded || self.holding() {
            return;
        }
        if let Err(e) = self.read_known().await {
            tracing::warn!("{}", e.message);
        }
    }

    pub fn mode(&self) -> FkMode {
        self.spec.mode
    }

    /// The schema, read from the backend when not known yet.
    pub async fn schema(&self) -> Result<Arc<Schema>, ServerError> {
        Ok(self.known().await?.schema)
    }

    /// The schema and its FK tables, read from the backend when not known yet.
    /// A schema read before an online migration's cut-over is not used after it: the
    /// cut-over moves the gate's swap count before it releases the statements it held.
    /// While a cut-over of the keyspace holds tables the schema is not read (review
    /// r27b F3: a write its gate let through read FKs between the RENAME and their
    /// re-pointing, and was refused with a misleading error): before the RENAME the
    /// last one read serves when no DDL went through the gateway since; otherwise
    /// the statement is refused with 1205 (nothing of it ran; try again).
    async fn known(&self) -> Result<Known, ServerError> {
        let swaps = self.swaps();
        if let Some(k) = self.schema.read().await.as_ref() {
            if k.swaps == swaps {
                return Ok(k.clone());
            }
        }
        if let Some(m) = self.migrator.as_ref().filter(|_| self.holding()) {
            let gate = m.gate_ref();
            let renamed = gate.held_tables().iter().any(|t| gate.past_rename(t));
            if let Some(k) = self.last_known().filter(|_| !renamed) {
                return Ok(k);
            }
            return Err(ServerError::new(
                1205,
                "HY000",
                format!(
                    "Lock wait timeout exceeded; try restarting transaction (tether gateway: keyspace `{}`: its \
                     schema changed since it was last read, and {} holds tables at its cut-over: the schema is \
                     read once it is over; the statement was not run, try again)",
                    self.spec.name,
                    held_by(gate)
                ),
            ));
        }
        self.read_known().await
    }

    /// How many cut-overs of this keyspace's migrations changed tables so far.
    fn swaps(&self) -> u64 {
        self.migrator.as_ref().map_or(0, |m| m.gate_ref().swaps())
    }

    /// The schema's generation: changes whenever the schema [`Self::schema`] returns
    /// may have changed (a cut-over included). Read it before the schema a decision is
    /// based on.
    pub fn schema_generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire).wrapping_add(self.swaps())
    }

    /// `sql` as the backend runs it: its executable comments resolved for the
    /// backend's version ([`comments::resolve`]); `sql` itself when it has none.
    /// `backslash_escapes`: the session's sql_mode lacks NO_BACKSLASH_ESCAPES.
    pub async fn as_run<'a>(&self, sql: &'a str, backslash_escapes: bool) -> Result<Cow<'a, str>, ServerError> {
        if !comments::may_have(sql) {
            return Ok(Cow::Borrowed(sql));
        }
        let server = self.server_version().await?;
        Ok(comments::resolve(sql, server, backslash_escapes))
    }

    /// The backend server's version, read once (a connection of its own: the
    /// session's may be in any state).
    async fn server_version(&self) -> Result<ServerVersion, ServerError> {
        if let Some(v) = *self.server_version.lock().expect("never poisoned: no panic while held") {
            return Ok(v);
        }
        let mut b = Backend::new(self.spec.url.clone(), false);
        let rows = b.read("SELECT VERSION()").await;
        b.disconnect().await;
        let text = match rows?.rows.first().and_then(|r| r.first()) {
            Some(crate::wire::value::Value::Bytes(v)) => String::from_utf8_lossy(v).into_owned(),
            _ => String::new(),
        };
        let version = ServerVersion::parse(&text).ok_or_else(|| {
            ServerError::gateway(format!(
                "tether gateway: keyspace `{}`: cannot read the backend's version from `{text}` (needed to read \
                 the statement's executable comments as the backend does)",
                self.spec.name
            ))
        })?;
        *self.server_version.lock().expect("never poisoned: no panic while held") = Some(version);
        Ok(version)
    }

    /// Plans `sql` on this keyspace's schema: the schema, and the plan or
    /// "forward it unchanged". In an unsharded keyspace, a plan that writes a table
    /// with triggers is forwarded unchanged too: InnoDB checks and cascades it, and
    /// triggers fire as they do natively (see [`Triggered`]).
    pub async fn plan(&self, sql: &str) -> Result<(Arc<Schema>, Analysis), ServerError> {
        let (known, analysis) = self.plan_known(sql).await?;
        let forwarded = match &analysis {
            Analysis::Plan(p) if !self.spec.sharded => {
                p.is_passthrough()
                    || !self.triggered(&known, p, sql).is_empty()
                    || !self.outside(&known, p).is_empty()
                    || self.stored_call(&known, p, sql).is_some()
            }
            _ => false,
        };
        if let (true, Analysis::Plan(p)) = (forwarded, &analysis) {
            // InnoDB runs it: not while its cascades reach a table under online migration.
            crate::managed::migrating::refuse_forwarded(&known.schema, &self.spec.database, p, sql)?;
        }
        let analysis = match analysis {
            Analysis::Plan(p) if forwarded && !p.is_passthrough() => Analysis::Forward,
            analysis => analysis,
        };
        Ok((known.schema, analysis))
    }

    /// A function that `sql`, whose plan is `plan`, calls and that is not a
    /// built-in (`None`: it runs as a plan). See [`Functions`].
    fn stored_call(&self, known: &Known, plan: &Plan, sql: &str) -> Option<String> {
        if self.spec.sharded || plan.is_passthrough() {
            return None;
        }
        known.functions.not_built_in(sql)
    }

    /// The tables `plan` would write that FKs of other databases refer to, with
    /// one such FK each (empty: it runs as a plan). See [`OutsideChildren`].
    fn outside(&self, known: &Known, plan: &Plan) -> Vec<(String, String)> {
        if self.spec.sharded || plan.is_passthrough() {
            return Vec::new();
        }
        known.outside.written_by(plan)
    }

    /// The tables with triggers that `plan` would write, when it has work (empty:
    /// it runs as a plan). Sharded keyspaces do not look: behind Spider there is
    /// no InnoDB of the keyspace's to run the statement instead.
    fn triggered(&self, known: &Known, plan: &Plan, sql: &str) -> Vec<String> {
        if self.spec.sharded || plan.is_passthrough() {
            return Vec::new();
        }
        known.triggered.written_by(plan, sql)
    }

    /// The plan of `sql` whatever triggers the tables have, with the schema it
    /// was made on.
    async fn plan_known(&self, sql: &str) -> Result<(Known, Analysis), ServerError> {
        if self.recovery_due.load(Ordering::Relaxed) {
            // A server was lost: its prepared transactions resolved before this write.
            // In doubt (a COMMIT failed): tried again now, not throttled, so a
            // write right after the node came back is not refused.
            self.recover_xa(!self.in_doubt.load(Ordering::SeqCst)).await;
        }
        if self.in_doubt.load(Ordering::SeqCst) {
            return Err(ServerError::gateway(format!(
                "tether gateway: keyspace `{}` is sharded and managed: writes are refused until the gateway's XA \
                 recovery finishes a transaction whose COMMIT failed on a data node, or, since the gateway \
                 started, has run once (a node may hold it prepared, its rows locked; recovery is retried every \
                 second)",
                self.spec.name
            )));
        }
        let known = self.known().await?;
        let schema = &known.schema;
        if !self.spec.sharded {
            // A sharded keyspace refuses every write to a view (`managed::unknown_target`).
            if let Some(view) = known
                .fk_tables
                .view_written(sql, schema)
                .or_else(|| known.views.written(sql))
            {
                return Err(crate::managed::view_refusal(&self.spec.name, &view));
            }
        }
        if !self.spec.sharded && !known.fk_tables.named_in(sql) {
            // No table with FKs or referred to by one is named: nothing to plan.
            return Ok((known, Analysis::Forward));
        }
        let analysis =
            tether_fkplan::plan(sql, schema, &self.spec.database).map_err(|e| ServerError::gateway(e.to_string()))?;
        if self.spec.sharded && matches!(analysis, Analysis::Forward) && tether_fkplan::looks_like_write(sql) {
            // Nothing behind the head would check what the planner did not read
            // (`UPDATE IGNORE t`, say, parsed as a table `IGNORE`).
            let involved = schema.tables.iter().find(|t| {
                names(sql, &t.name)
                    && (!t.foreign_keys.is_empty()
                        || schema.tables.iter().any(|c| {
                            c.foreign_keys
                                .iter()
                                .any(|f| f.referenced_table.eq_ignore_ascii_case(&t.name))
                        }))
            });
            if let Some(t) = involved {
                return Err(crate::managed::refusal(
                    &self.spec.name,
                    &format!("a write naming `{}` that the planner cannot read", t.name),
                ));
            }
        }
        Ok((known, analysis))
    }

    /// What EXPLAIN FK shows for `sql` (also `tether gateway explain`): the plan
    /// as text, or why there is none; each line ends with a newline.
    pub async fn explain(&self, sql: &str) -> Result<String, ServerError> {
        if self.mode() != FkMode::Managed {
            return Ok(format!(
                "keyspace `{}` is {}: the statement is forwarded unchanged\n",
                self.spec.name,
                self.mode()
            ));
        }
        let sql = self.as_run(sql, true).await?;
        let (known, analysis) = self.plan_known(&sql).await?;
        Ok(match analysis {
            Analysis::Plan(p) => {
                let triggered = self.triggered(&known, &p, &sql);
                let outside = self.outside(&known, &p);
                let stored = self.stored_call(&known, &p, &sql);
                if let Some(function) = stored.filter(|_| triggered.is_empty() && outside.is_empty()) {
                    format!(
                        "runs as InnoDB runs it: it calls `{function}`, not a built-in function\n  forwarded \
                         unchanged: a plan would evaluate it more than once (or not at all); InnoDB checks and \
                         cascades, its cascaded changes are InnoDB's, not statements of their own\n"
                    )
                } else if let Some((table, fk)) = outside.first().filter(|_| triggered.is_empty()) {
                    format!(
                        "runs as InnoDB runs it: table `{table}` is referred to from another database (FK {fk})\n  \
                         forwarded unchanged: InnoDB checks and cascades, also the children the gateway does not \
                         read; its cascaded changes are InnoDB's, not statements of their own\n"
                    )
                } else if triggered.is_empty() {
                    p.to_string()
                } else {
                    let names: Vec<String> = triggered.iter().map(|t| format!("`{t}`")).collect();
                    let which = match names.as_slice() {
                        [one] => format!("table {one} has"),
                        _ => format!("tables {} have", names.join(", ")),
                    };
                    format!(
                        "runs as InnoDB runs it: {which} triggers\n  forwarded unchanged: InnoDB checks and \
                         cascades and the triggers fire as natively; its cascaded changes are InnoDB's, not \
                         statements of their own\n"
                    )
                }
            }
            Analysis::Forward => "not a planned write: forwarded unchanged\n".into(),
        })
    }

    /// Reads the schema from the backend: for a managed sharded keyspace, the
    /// tables as the data nodes define them with every FK of the keyspace (the
    /// nodes' and the VSchema's, see `sharded::managed`).
    /// For an unsharded managed keyspace, also the tables FKs of other databases
    /// refer to ([`OutsideChildren`]).
    async fn read_schema(&self) -> Result<Read, String> {
        if self.spec.sharded && self.spec.mode == FkMode::Managed {
            let schema =
                sharded::managed::managed_schema(&self.spec.url, &self.spec.declared_fks, &self.spec.declared_actions)
                    .await
                    .map_err(|e| e.to_string())?;
            return Ok(Read {
                schema,
                outside: OutsideChildren::default(),
                functions: Functions::default(),
                views: Default::default(),
            });
        }
        let schema = tether_connect::introspect(&self.spec.url, &IntrospectOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let mut schema = schema;
        let (outside, functions, views) = match self.spec.mode {
            FkMode::Managed => {
                read_key_collations(&self.spec.url, &self.spec.database, &mut schema).await?;
                (
                    OutsideChildren::read(&self.spec.url, &self.spec.database).await?,
                    Functions::read(&self.spec.url, &self.spec.database).await?,
                    crate::views::ServerViews::read(&self.spec.url, &self.spec.database).await?,
                )
            }
            // The cut-over gate looks for calls of stored functions in every
            // unsharded keyspace (review r26c F1).
            _ if !self.spec.sharded => (
                OutsideChildren::default(),
                Functions::read(&self.spec.url, &self.spec.database).await?,
                Default::default(),
            ),
            _ => (OutsideChildren::default(), Functions::default(), Default::default()),
        };
        Ok(Read {
            schema,
            outside,
            functions,
            views,
        })
    }

    /// Reads the schema again.
    pub async fn refresh(&self) -> Result<Arc<Schema>, ServerError> {
        Ok(self.read_known().await?.schema)
    }

    async fn read_known(&self) -> Result<Known, ServerError> {
        let mut slot = self.schema.write().await;
        let swaps = self.swaps();
        // Moved only under the slot's write lock (`invalidate`): stable while held.
        let invalidations = self.invalidations.load(Ordering::SeqCst);
        match self.read_schema().await {
            Ok(read) => {
                let known = Known::new(read, swaps, invalidations);
                *slot = Some(known.clone());
                *self.last_known.lock().unwrap_or_else(|p| p.into_inner()) = Some(known.clone());
                self.generation.fetch_add(1, Ordering::AcqRel);
                tracing::info!(
                    "keyspace {}: schema read: {} tables",
                    self.spec.name,
                    known.schema.tables.len()
                );
                Ok(known)
            }
            Err(e) => {
                *slot = None;
                self.generation.fetch_add(1, Ordering::AcqRel);
                Err(ServerError::gateway(format!(
                    "tether gateway: cannot read the schema of keyspace `{}`: {e}",
                    self.spec.name
                )))
            }
        }
    }

    /// Reads the schema again in the background: the one in use stays until the new
    /// one is read (a failure keeps it, with a warning).
    pub async fn reload(&self) {
        if self.holding() {
            // Not while a cut-over holds tables: the gap between its RENAME and its
            // FKs' re-pointing is no time to read FKs (review r27b F3).
            return;
        }
        let invalidations = self.invalidations.load(Ordering::SeqCst);
        let swaps = self.swaps();
        let read = self.read_schema();
        let read = match tokio::time::timeout(RELOAD_TIMEOUT, read).await {
            Ok(read) => read,
            Err(_) => Err(format!("no answer within {} s", RELOAD_TIMEOUT.as_secs())),
        };
        match read {
            Ok(read) => {
                let mut slot = self.schema.write().await;
                if self.invalidations.load(Ordering::SeqCst) != invalidations || self.swaps() != swaps {
                    // DDL went through meanwhile: what was read may predate it.
                    return;
                }
                if slot.as_ref().is_some_and(|old| {
                    *old.schema == read.schema && *old.outside == read.outside && *old.functions == read.functions
                }) {
                    // Unchanged: what was decided on the one in use stands.
                    return;
                }
                if slot.is_some() {
                    tracing::info!(
                        "keyspace {}: schema changed on the backend: {} tables",
                        self.spec.name,
                        read.schema.tables.len()
                    );
                }
                let known = Known::new(read, swaps, invalidations);
                *self.last_known.lock().unwrap_or_else(|p| p.into_inner()) = Some(known.clone());
                *slot = Some(known);
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
            Err(e) => tracing::warn!(
                "keyspace {}: cannot read the schema again (the last one stays in use): {e}",
                self.spec.name
            ),
        }
    }

    /// Forgets the schema; the next use reads it again.
    pub async fn invalidate(&self) {
        *self.server_version.lock().expect("never poisoned: no panic while held") = None;
        let mut slot = self.schema.write().await;
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        *slot = None;
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// Waits (at most [`GATE_WAIT`]) while `sql` may reach a held table ([`reaches`]; a
/// mention in a string or comment waits too, which is harmless). Inside a
/// transaction (`transaction`) a read does not wait, nor a write whose transaction
/// opened every held table it reaches before its hold began ([`Opened::before`]).
/// A table still under a refusing hold then refuses the statement, and so does a
/// write whose tables are still held after the wait (between the RENAME and the
/// last re-pointed FK no FK checks the new table: review r24d F1); a statement the
/// gateway cannot see into is refused while any hold is on (after its wait, which
/// from another database it makes inside a transaction too: review r26j F3): 1205,
/// as a lock wait that timed out (nothing of it ran; the client may try again, its
/// transaction still open). `Ok(true)`: the statement waited for the hold.
async fn pass(
    m: &Migrator,
    known: Option<&Known>,
    database: &str,
    sql: &str,
    transaction: Option<&Opened>,
    origin: Origin<'_>,
    live: Option<&crate::kill::Live>,
) -> Result<bool, ServerError> {
    let gate = m.gate_ref();
    let held = gate.held_tables();
    if held.is_empty() {
        return Ok(false);
    }
    let lock_wait = |text: String| {
        ServerError::new(
            1205,
            "HY000",
            format!("Lock wait timeout exceeded; try restarting transaction (tether gateway: {text})"),
        )
    };
    let in_transaction = transaction.is_some();
    let reach = match origin {
        Origin::Own => reaches(known, database, &held, sql),
        Origin::Other(theirs) => reaches_from_elsewhere(theirs, &held, sql),
    };
    // Under the query cache a SELECT may have opened nothing (review r26c F2).
    let query_cache = gate.query_cache_may_answer();
    match reach {
        Reaches::Nothing => Ok(false),
        Reaches::Tables(named) => {
            let named: Vec<&str> = named.iter().map(String::as_str).collect();
            let writes = may_write(sql);
            // Inside a transaction a statement does not wait when it reads, or when
            // the RENAME waits for its transaction (it opened every table before).
            // Past the RENAME no transaction holds what it opened before the hold (the
            // RENAME waited for all of them): every write waits then (review r25d).
            // A view or a table with triggers the record names, unknown when its
            // statement ran (created on the server out of the gateway's sight, read at
            // the hold's start), may have made a temporary table of a held name: the
            // record counts nothing then (review r27b).
            let waited_for = transaction.is_some_and(|o| {
                !writes
                    || (named.iter().all(|t| {
                        !gate.past_rename(t) && gate.held_since(t).is_none_or(|since| o.before(t, since, query_cache))
                    }) && !o.uses_any(|t| may_hide_temporary(known, t)))
            });
            if waited_for {
                return match gate.refusal(&named) {
                    None => Ok(false),
                    Some((table, reason)) => Err(lock_wait(format!("table `{table}`: {reason}"))),
                };
            }
            if in_transaction {
                // A resumed cut-over's tables: never waited for inside a transaction.
                if let Some((table, reason)) = gate.refusal(&named) {
                    return Err(lock_wait(format!("table `{table}`: {reason}")));
                }
            }
            // Said before the wait too: the tests that order a second cut-over's hold
            // after a statement began waiting at a first one read it (review r26j F1).
            tracing::debug!("statement waits for a cut-over of {}", named.join(", "));
            let waited = wait_released(m, &named, live).await.map_err(crate::kill::Stop::error)?;
            tracing::debug!(
                "statement held {} ms by a cut-over of {}",
                waited.as_millis(),
                named.join(", ")
            );
            if let Some((table, reason)) = gate.refusal(&named) {
                return Err(lock_wait(format!("table `{table}`: {reason}")));
            }
            let still = gate.held_tables();
            let mut still: Vec<&str> = named.iter().copied().filter(|t| still.iter().any(|h| h == t)).collect();
            if !writes || still.is_empty() {
                return Ok(true);
            }
            still.sort_unstable();
            let tables: Vec<String> = still.iter().map(|t| format!("`{t}`")).collect();
            Err(lock_wait(format!(
                "a write reaching {} while {} holds it at its cut-over, past the gateway's {} s wait; try again",
                tables.join(", "),
                held_by(gate),
                GATE_WAIT.as_secs()
            )))
        }
        Reaches::Unseen(what) => {
            // From another database a transaction's statement waits too (review r26j
            // F3): the RENAME does not wait for its transaction (it opened nothing
            // held as far as the gateway can see), and were it to, the wait ends with
            // the RENAME's attempt; it runs once the hold is over.
            let from_elsewhere = matches!(origin, Origin::Other(_));
            if !in_transaction || from_elsewhere {
                let all: Vec<&str> = held.iter().map(String::as_str).collect();
                tracing::debug!("{what} waits for a cut-over of {}", all.join(", "));
                let waited = wait_released(m, &all, live).await.map_err(crate::kill::Stop::error)?;
                tracing::debug!("{what} held {} ms by a cut-over", waited.as_millis());
            }
            let mut held = gate.held_tables();
            if held.is_empty() {
                return Ok(!in_transaction || from_elsewhere);
            }
            held.sort();
            held.dedup();
            let tables: Vec<String> = held.iter().map(|t| format!("`{t}`")).collect();
            Err(lock_wait(format!(
                "{what} while {} holds {} at its cut-over: the gateway cannot see which tables it reaches; \
                 try again",
                held_by(gate),
                tables.join(", ")
            )))
        }
    }
}

/// Where a statement at a keyspace's gate comes from.
#[derive(Clone, Copy)]
enum Origin<'a> {
    /// The keyspace itself (or one on the same database).
    Own,
    /// A keyspace of another database on the same server, with its last schema.
    Other(Option<&'a Known>),
}

/// What a statement sent in a keyspace of another database (`theirs`: its last
/// schema) may reach of `held`: a CALL, an EXECUTE, a call of a function that is
/// not a built-in (without a schema, any call) are unseen, as in the keyspace
/// itself; a statement that may write reaches every held table; a read, the held
/// tables it names.
fn reaches_from_elsewhere(theirs: Option<&Known>, held: &[String], sql: &str) -> Reaches {
    if names(sql, "call") {
        return Reaches::Unseen("a CALL".into());
    }
    if names(sql, "execute") {
        return Reaches::Unseen("an EXECUTE".into());
    }
    match theirs.map(|k| k.functions.not_built_in(sql)) {
        Some(Some(function)) => return Reaches::Unseen(format!("a call of `{function}`")),
        None if sql.contains('(') => return Reaches::Unseen("a call (the keyspace's schema is not read yet)".into()),
        _ => {}
    }
    if !may_write(sql) {
        return named_held(held, sql);
    }
    let mut all: Vec<String> = Vec::new();
    for h in held {
        if !all.contains(h) {
            all.push(h.clone());
        }
    }
    Reaches::Tables(all)
}

/// True when a write `sql` may write a table or view of a database other than
/// `database`: a target qualified by another database, or, when its targets
/// cannot be read, any name qualified by another one (an alias's `x.id` counts
/// too: conservative).
fn writes_elsewhere(sql: &str, database: &str) -> bool {
    match crate::views::written_tables(sql) {
        Some(targets) => targets
            .iter()
            .any(|(db, _)| db.as_deref().is_some_and(|d| d != database)),
        None => qualified_elsewhere(sql, database),
    }
}

/// True when a view's definition may read another database: a backquoted name
/// qualifying another that is neither `database` nor a table or view of `schema`
/// (a column's table); an alias counts too (conservative).
fn reads_elsewhere(definition: &str, schema: &Schema, database: &str) -> bool {
    let mut rest = definition;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { return false };
        let name = &after[..close];
        let tail = &after[close + 1..];
        if tail.starts_with(".`")
            && name != database
            && schema.find_table(name).is_none()
            && !schema.objects.views.iter().any(|v| v.name == name)
        {
            return true;
        }
        rest = tail;
    }
    false
}

/// True when `sql` has a name qualified by something other than `database`
/// (`x.y`, `` `x`.y ``; a number's `1.5` does not count).
fn qualified_elsewhere(sql: &str, database: &str) -> bool {
    let b: Vec<char> = sql.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (name, end) = if c == '`' {
            let mut j = i + 1;
            let mut name = String::new();
            while j < b.len() {
                if b[j] == '`' {
                    if b.get(j + 1) == Some(&'`') {
                        name.push('`');
                        j += 2;
                        continue;
                    }
                    break;
                }
                name.push(b[j]);
                j += 1;
            }
            (name, j + 1)
        } else if ident(c) {
            let mut j = i;
            while j < b.len() && ident(b[j]) {
                j += 1;
            }
            (b[i..j].iter().collect::<String>(), j)
        } else {
            i += 1;
            continue;
        };
        let number = name.chars().all(|c| c.is_ascii_digit());
        let next = b.get(end + 1).copied();
        if !number
            && b.get(end) == Some(&'.')
            && next.is_some_and(|n| n == '`' || (ident(n) && !n.is_ascii_digit()))
            && name != database
        {
            return true;
        }
        i = end.max(i + 1);
    }
    false
}

/// True when `name`, used as a table by a statement of a transaction's record, is
/// a view or a table with triggers of `known` (either may create a temporary table
/// of any name: see [`Keyspace::may_touch_temporary_unseen`]).
fn may_hide_temporary(known: Option<&Known>, name: &str) -> bool {
    known.is_some_and(|k| {
        k.triggered.tables.contains(&name.to_lowercase())
            || k.schema.objects.views.iter().any(|v| v.name.eq_ignore_ascii_case(name))
    })
}

/// The migrations holding tables now, for a refusal: "online migration '...'".
fn held_by(gate: &online::CutoverGate) -> String {
    let owners: Vec<String> = gate.owners().iter().map(|o| format!("'{o}'")).collect();
    match owners.as_slice() {
        [] => "an online migration".to_string(),
        [one] => format!("online migration {one}"),
        _ => format!("online migrations {}", owners.join(", ")),
    }
}

/// What a client's transaction has opened on a keyspace, as far as the gateway can
/// tell: the tables that the statements it ran without an error and that open their
/// tables until the transaction ends ([`Keeps::Opens`]) use as tables
/// ([`table_references`]), one statement per query, each with when it ended. Kept
/// only across statements that surely neither end the transaction nor let go of its
/// locks ([`Keeps::Same`]); any other forgets it (review r25d F1). During a
/// cut-over, until its RENAME is done, a write of the transaction on a held table
/// passes the gate unwaited only when such a statement used the table before the
/// hold began: the transaction holds the table's metadata lock, so the RENAME waits
/// for it (and the write meets the table with its FKs). Anything else waits: a
/// transaction that first reaches the table after the RENAME would write the new
/// table while no FK checks it (review r24d F1). A `ROLLBACK` of any kind
/// (`ROLLBACK TO SAVEPOINT` lets go of metadata locks taken after the savepoint when
/// the transaction holds no row locks: review r24h F1) forgets everything. Kept to
/// [`Opened::LIMIT`] bytes of text; past it nothing counts as opened (writes wait,
/// bounded).
#[derive(Debug, Default, Clone)]
pub struct Opened {
    /// Per statement: the tables it used, when it ended, and whether the server's
    /// query cache may have answered it ([`cache_may_answer`]).
    statements: Vec<(Vec<String>, std::time::Instant, bool)>,
    bytes: usize,
    overflowed: bool,
}

impl Opened {
    /// The most statement text one transaction's record keeps.
    pub const LIMIT: usize = 256 * 1024;

    /// A new transaction (the session is not in one): forgets the last one's.
    pub fn clear(&mut self) {
        self.statements.clear();
        self.bytes = 0;
        self.overflowed = false;
    }

    /// `sql` ran in the transaction and ended now without an error (read as
    /// `lexing` says).
    #[cfg(test)]
    pub fn ran(&mut self, sql: &str, lexing: crate::protocol::multi::Lexing) {
        self.ran_shadowed(sql, lexing, false);
    }

    /// As [`ran`](Self::ran); `shadowed`: a temporary table of the session may
    /// shadow a name (the names `sql` uses then count as nothing).
    pub fn ran_shadowed(&mut self, sql: &str, lexing: crate::protocol::multi::Lexing, shadowed: bool) {
        let several = crate::protocol::multi::split(sql, lexing)
            .1
            .is_some_and(|n| sql.get(n..).is_some_and(|r| !r.trim().is_empty()));
        let kind = match several {
            // Several statements: one may end the transaction (`COMMIT; BEGIN`).
            true => Keeps::Nothing,
            false => keeps(sql),
        };
        match kind {
            Keeps::Nothing => {
                // A statement that may end the transaction and begin the next one
                // (BEGIN inside one, COMMIT AND CHAIN, SET autocommit, any implicit
                // commit), or let go of what it opened (ROLLBACK TO SAVEPOINT: r24h
                // F1), or that the gateway cannot see into (review r25d F1): the
                // status flags still say "in transaction", the locks may be gone.
                self.clear();
                return;
            }
            Keeps::Same => return,
            Keeps::Opens => {}
        }
        if self.overflowed || shadowed {
            return;
        }
        if self.bytes + sql.len() > Self::LIMIT {
            self.clear();
            self.overflowed = true;
            return;
        }
        self.bytes += sql.len();
        self.statements.push((
            table_references(sql, lexing),
            std::time::Instant::now(),
            cache_may_answer(sql),
        ));
    }

    /// True when a statement of the record used as a table a name `f` accepts.
    pub fn uses_any(&self, f: impl Fn(&str) -> bool) -> bool {
        self.statements.iter().any(|(tables, _, _)| tables.iter().any(|t| f(t)))
    }

    /// True when a statement using `table` as a table ended before `since`;
    /// `query_cache`: the server's query cache may answer a SELECT, and one that it
    /// may have answered opened nothing (review r26c F2).
    pub fn before(&self, table: &str, since: std::time::Instant, query_cache: bool) -> bool {
        self.statements
            .iter()
            // As written: `P` is another table than `p` where names are case
            // sensitive (review r25i F1); under lower_case_table_names a name
            // written otherwise only makes the write wait.
            .any(|(tables, at, cached)| *at < since && !(query_cache && *cached) && tables.iter().any(|t| t == table))
    }
}

/// The tables `sql` surely uses, unqualified, as written (review r24h F4): a name,
/// plain or in backquotes, right after FROM, JOIN, UPDATE, INTO or TABLE and not
/// followed by `.` (then it is a database's name). Strings, comments (executable
/// ones too), names qualified by a database, aliases, columns and anything after a
/// comma are not counted: a table missed here only makes a write wait at a cut-over.
pub(crate) fn table_references(sql: &str, lexing: crate::protocol::multi::Lexing) -> Vec<String> {
    #[derive(PartialEq)]
    enum Token {
        Word(String),
        Quoted(String),
        Other(char),
    }
    let b: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            let mut j = i + 2;
            while j < b.len() && !(b[j] == '*' && b.get(j + 1) == Some(&'/')) {
                j += 1;
            }
            i = j + 2;
            tokens.push(Token::Other(' '));
        } else if c == '#' || (c == '-' && b.get(i + 1) == Some(&'-')) {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            tokens.push(Token::Other(' '));
        } else if c == '`' || (c == '"' && lexing.ansi_quotes) {
            let mut name = String::new();
            i += 1;
            while i < b.len() {
                if b[i] == c {
                    if b.get(i + 1) == Some(&c) {
                        name.push(c);
                        i += 2;
                        continue;
                    }
                    break;
                }
                name.push(b[i]);
                i += 1;
            }
            i += 1;
            tokens.push(Token::Quoted(name));
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == '\\' && lexing.backslash_escapes {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            tokens.push(Token::Other('\''));
        } else if ident(c) {
            let mut word = String::new();
            while i < b.len() && ident(b[i]) {
                word.push(b[i]);
                i += 1;
            }
            tokens.push(Token::Word(word));
        } else {
            tokens.push(Token::Other(c));
            i += 1;
        }
    }
    let word = |k: usize, of: &[&str]| matches!(tokens.get(k), Some(Token::Word(w)) if of.iter().any(|o| w.eq_ignore_ascii_case(o)));
    // A common table expression's name reads as a table after FROM (review r25d
    // F2): a statement with WITH anywhere counts nothing.
    if (0..tokens.len()).any(|k| word(k, &["with"])) {
        return Vec::new();
    }
    // The parentheses each token is in: whether each group (innermost last) is a
    // subquery (opens with SELECT, WITH or another parenthesis) or not (a function's
    // arguments: `TRIM(BOTH FROM p)`, `EXTRACT(YEAR FROM p)` name columns; review
    // r25i F1).
    let mut groups: Vec<bool> = Vec::new();
    let mut in_arguments = Vec::with_capacity(tokens.len());
    for (k, t) in tokens.iter().enumerate() {
        in_arguments.push(groups.iter().any(|subquery| !subquery));
        match t {
            Token::Other('(') => {
                groups.push(word(k + 1, &["select", "with"]) || tokens.get(k + 1) == Some(&Token::Other('(')))
            }
            Token::Other(')') => {
                groups.pop();
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (k, t) in tokens.iter().enumerate() {
        let name = match t {
            Token::Word(w) | Token::Quoted(w) => w,
            Token::Other(_) => continue,
        };
        // `@from p`, `@@into`: a variable named like the keyword (review r25i F1).
        let variable = k > 1 && tokens.get(k - 2) == Some(&Token::Other('@'));
        let after_keyword =
            k > 0 && word(k - 1, &["from", "join", "update", "into", "table"]) && !variable && !in_arguments[k];
        // ON DUPLICATE KEY UPDATE and FOR UPDATE are followed by a column or an
        // option, INTO OUTFILE / DUMPFILE by a file (review r25d F2).
        let not_a_table = (k > 1 && word(k - 1, &["update"]) && word(k - 2, &["key", "for"]))
            || (matches!(t, Token::Word(_)) && word(k, &["outfile", "dumpfile", "dual"]));
        let qualifier = tokens.get(k + 1) == Some(&Token::Other('.'));
        // A name followed by `(` after FROM or JOIN is a function's (JSON_TABLE);
        // after INTO, a column list follows the table.
        let called = tokens.get(k + 1) == Some(&Token::Other('(')) && !(k > 0 && word(k - 1, &["into"]));
        if after_keyword && !not_a_table && !qualifier && !called && !found.contains(name) {
            found.push(name.clone());
        }
    }
    found
}

/// What one statement that ran inside a transaction does to what the transaction
/// opened ([`keeps`]).
#[derive(Debug, PartialEq)]
enum Keeps {
    /// Its tables stay open (their metadata locks held) until the transaction ends:
    /// SELECT, INSERT, UPDATE, DELETE, REPLACE, WITH, TABLE, VALUES, LOAD DATA / XML.
    Opens,
    /// It neither opens tables nor ends the transaction: SHOW, DESCRIBE, EXPLAIN,
    /// HELP, SAVEPOINT.
    Same,
    /// Anything else: it may end the transaction and start the next (BEGIN, START
    /// TRANSACTION, COMMIT or ROLLBACK in any form, SET autocommit, XA, DDL and every
    /// other implicitly committing statement), let go of what it opened, or run what
    /// the gateway does not see (CALL, EXECUTE, compound statements). Any doubt
    /// forgets: a write then waits at a cut-over (review r25d F1).
    Nothing,
}

/// What `sql` (one statement) does to what its transaction opened, by its first
/// words; comments and parentheses before them are skipped (an executable comment
/// counts as text: nothing).
fn keeps(sql: &str) -> Keeps {
    let Some(rest) = statement_start(sql) else {
        return Keeps::Nothing;
    };
    let mut words = rest
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase);
    let first = words.next().unwrap_or_default();
    // The first word must be the text's first characters (not `@x := ...`).
    if !rest.to_ascii_lowercase().starts_with(&first) {
        return Keeps::Nothing;
    }
    match first.as_str() {
        "select" | "insert" | "update" | "delete" | "replace" | "with" | "table" | "values" => Keeps::Opens,
        // LOAD INDEX INTO CACHE commits implicitly.
        "load" => match words.next().as_deref() {
            Some("data" | "xml") => Keeps::Opens,
            _ => Keeps::Nothing,
        },
        "show" | "desc" | "describe" | "explain" | "help" | "savepoint" => Keeps::Same,
        _ => Keeps::Nothing,
    }
}

/// `sql` from its first word: comments and parentheses before it skipped (an
/// executable comment counts as text); `None` for a comment that does not end.
fn statement_start(sql: &str) -> Option<&str> {
    let mut rest = sql.trim_start();
    loop {
        if rest.starts_with("/*") && !rest.starts_with("/*!") && !rest.starts_with("/*M!") {
            rest = rest[rest.find("*/")? + 2..].trim_start();
        } else if rest.starts_with('#') || rest.starts_with("-- ") {
            rest = rest[rest.find('\n')? + 1..].trim_start();
        } else if let Some(r) = rest.strip_prefix('(') {
            rest = r.trim_start();
        } else {
            return Some(rest);
        }
    }
}

/// True when the server's query cache may have answered `sql` (one statement
/// that keeps its tables open, [`Keeps::Opens`]), which then opened no table
/// (review r26c F2): any but INSERT, UPDATE, DELETE, REPLACE and LOAD, unless it
/// says SQL_NO_CACHE or is a locking read (FOR UPDATE, LOCK IN SHARE MODE: MariaDB
/// never stores those).
fn cache_may_answer(sql: &str) -> bool {
    let Some(rest) = statement_start(sql) else { return true };
    let first: String = rest
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    if matches!(first.as_str(), "insert" | "update" | "delete" | "replace" | "load") {
        return false;
    }
    let locking = (names(sql, "for") && names(sql, "update")) || (names(sql, "lock") && names(sql, "share"));
    !(names(sql, "sql_no_cache") || locking)
}

/// Waits while any of `tables` is held, at most [`GATE_WAIT`], looking every
/// [`GATE_LOOK`] whether a parked hold's migration was finished elsewhere
/// ([`Migrator::release_finished`]); returns how long it waited.
async fn wait_released(
    m: &Migrator,
    tables: &[&str],
    live: Option<&crate::kill::Live>,
) -> Result<std::time::Duration, crate::kill::Stop> {
    let start = std::time::Instant::now();
    let stopped = async {
        match live {
            Some(l) => l.stopped().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stopped);
    loop {
        let Some(left) = GATE_WAIT.checked_sub(start.elapsed()).filter(|l| !l.is_zero()) else {
            return Ok(start.elapsed());
        };
        tokio::select! {
            stop = stopped.as_mut() => return Err(stop),
            _ = m.gate_ref().pass(tables, left.min(GATE_LOOK)) => {}
        }
        m.release_finished().await;
        let held = m.gate_ref().held_tables();
        if !tables.iter().any(|t| held.iter().any(|h| h == t)) {
            return Ok(start.elapsed());
        }
    }
}

/// What a statement may reach of the tables a cut-over holds.
#[derive(Debug, PartialEq)]
enum Reaches {
    Nothing,
    /// These held tables: it names them, or (a statement that may write) a table or
    /// view whose cascades (CASCADE, SET NULL, SET DEFAULT, followed to the end) reach
    /// them. InnoDB's cascades and a managed plan's cascade statements (the
    /// gateway's own, not gated themselves) follow the same FKs.
    Tables(Vec<String>),
    /// Something the gateway cannot see into (what, for the refusal): a CALL, an
    /// EXECUTE of text it did not read, a call of a function that is not a built-in,
    /// a write naming a table with triggers; or, without any schema read, any
    /// statement that may write.
    Unseen(String),
}

/// What `sql` may reach of `held`, on `known` (the keyspace's last schema, of
/// `database`).
fn reaches(known: Option<&Known>, database: &str, held: &[String], sql: &str) -> Reaches {
    let writes = may_write(sql);
    if names(sql, "call") {
        return Reaches::Unseen("a CALL".into());
    }
    if names(sql, "execute") {
        return Reaches::Unseen("an EXECUTE".into());
    }
    let Some(known) = known else {
        return match writes {
            true => Reaches::Unseen("a write (the keyspace's schema is not read yet)".into()),
            false => named_held(held, sql),
        };
    };
    if let Some(function) = known.functions.not_built_in(sql) {
        return Reaches::Unseen(format!("a call of `{function}`"));
    }
    if !writes {
        return named_held(held, sql);
    }
    let schema = &known.schema;
    if let Some(t) = schema
        .tables
        .iter()
        .find(|t| known.triggered.tables.contains(&t.name.to_lowercase()) && names(sql, &t.name))
    {
        return Reaches::Unseen(format!("a write naming `{}`, which has triggers", t.name));
    }
    // Review r26c F3: a write into another database (`DELETE FROM v2.vp`, a view
    // there over a held table), or through a view of this one reading another
    // database, may reach any held table out of this schema's sight.
    let elsewhere = writes_elsewhere(sql, database)
        || schema
            .objects
            .views
            .iter()
            .any(|v| names(sql, &v.name) && reads_elsewhere(&v.definition, schema, database));
    let mut named = Vec::new();
    for h in held {
        if named.contains(h) {
            continue;
        }
        if elsewhere || cascading_to(schema, database, h).iter().any(|t| names(sql, t)) {
            named.push(h.clone());
        }
    }
    match named.is_empty() {
        true => Reaches::Nothing,
        false => Reaches::Tables(named),
    }
}

/// The held tables `sql` names.
fn named_held(held: &[String], sql: &str) -> Reaches {
    let mut named: Vec<String> = Vec::new();
    for h in held.iter().filter(|h| names(sql, h)) {
        if !named.contains(h) {
            named.push(h.clone());
        }
    }
    match named.is_empty() {
        true => Reaches::Nothing,
        false => Reaches::Tables(named),
    }
}

/// `table` and every table and view of `schema` (of `database`) whose writes reach it:
/// the parents whose FKs to it cascade, set null or set default, theirs, and so on,
/// and the views whose definitions name one of them.
fn cascading_to(schema: &Schema, database: &str, table: &str) -> Vec<String> {
    use tether_schema::FkAction;
    let acts = |a: FkAction| matches!(a, FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault);
    let mut found = vec![table.to_string()];
    let mut i = 0;
    while i < found.len() {
        let child = found[i].clone();
        i += 1;
        let Some(t) = schema.tables.iter().find(|t| t.name.eq_ignore_ascii_case(&child)) else {
            continue;
        };
        for fk in &t.foreign_keys {
            let here = fk
                .referenced_schema
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case(database));
            if here
                && (acts(fk.on_delete) || acts(fk.on_update))
                && !found.iter().any(|f| f.eq_ignore_ascii_case(&fk.referenced_table))
            {
                found.push(fk.referenced_table.clone());
            }
        }
    }
    // Views over any of them (a view's write is the table's), to a fixpoint.
    loop {
        let view = schema.objects.views.iter().find(|v| {
            !found.iter().any(|f| f.eq_ignore_ascii_case(&v.name)) && found.iter().any(|f| names(&v.definition, f))
        });
        match view {
            Some(v) => found.push(v.name.clone()),
            None => break found,
        }
    }
}

/// False for a text whose every statement only reads ([`may_write_one`]); true when
/// any may write (review r24h F2: `SELECT 1; DELETE FROM p ...` is a write). The
/// text is split as every sql_mode could read it (backslash escapes or not, ANSI
/// quotes or not), so a quote read differently never hides a statement.
fn may_write(sql: &str) -> bool {
    use crate::protocol::multi::{split, Lexing};
    for backslash_escapes in [true, false] {
        for ansi_quotes in [false, true] {
            let lexing = Lexing {
                backslash_escapes,
                ansi_quotes,
            };
            let mut rest = sql;
            loop {
                let (end, next) = split(rest, lexing);
                let Some(statement) = rest.get(..end) else { return true };
                if may_write_one(statement) {
                    return true;
                }
                match next {
                    None => break,
                    Some(n) => match rest.get(n..) {
                        Some(r) if !r.is_empty() => rest = r,
                        _ => return true,
                    },
                }
            }
        }
    }
    false
}

/// False for a statement that only reads (its first word SELECT, SHOW, DESCRIBE,
/// EXPLAIN, HELP, USE, a transaction's statement, or a SET that is not SET STATEMENT
/// ... FOR); true for any other (a write, LOAD DATA, DDL, text it cannot read).
fn may_write_one(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    // Comments before the first word (an executable comment counts as text).
    loop {
        if rest.starts_with("/*") && !rest.starts_with("/*!") && !rest.starts_with("/*M!") {
            match rest.find("*/") {
                Some(end) => rest = rest[end + 2..].trim_start(),
                None => return true,
            }
        } else if rest.starts_with('#') || rest.starts_with("-- ") {
            match rest.find('\n') {
                Some(end) => rest = rest[end + 1..].trim_start(),
                None => return false,
            }
        } else if let Some(r) = rest.strip_prefix('(') {
            rest = r.trim_start();
        } else {
            break;
        }
    }
    let first: String = rest
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    match first.as_str() {
        "select" | "show" | "desc" | "describe" | "explain" | "help" | "use" | "commit" | "rollback" | "savepoint"
        | "release" | "do" => false,
        // `BEGIN [WORK]` starts a transaction; `BEGIN NOT ATOMIC ... END` is a
        // compound statement, which may write anything (review r25d F3).
        "begin" => {
            let after = rest[first.len()..]
                .trim_start()
                .trim_end_matches(|c: char| c == ';' || c.is_whitespace());
            !(after.is_empty() || after.eq_ignore_ascii_case("work"))
        }
        "start" => !names(rest, "transaction"),
        "set" => names(rest, "for"),
        _ => true,
    }
}

/// True when `sql` has `table` as a whole word (identifier characters around it do
/// not count), without case.
pub(crate) fn names(sql: &str, table: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let lower = sql.to_ascii_lowercase();
    let table = table.to_ascii_lowercase();
    lower.match_indices(&table).any(|(i, m)| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + m.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Everything sessions share.
pub struct Shared {
    pub keyspaces: BTreeMap<String, Arc<Keyspace>>,
    pub default_keyspace: Option<String>,
    /// Login name -> password.
    pub users: BTreeMap<String, String>,
    pub server_version: String,
}

impl Shared {
    pub fn from_config(config: &Config) -> Result<Shared, String> {
        let mut keyspaces = BTreeMap::new();
        for spec in config.keyspace_specs()? {
            keyspaces.insert(spec.name.clone(), Arc::new(Keyspace::new(spec)));
        }
        let mut users = BTreeMap::new();
        for u in &config.users {
            users.insert(u.user.clone(), User::password(u)?);
        }
        Ok(Shared {
            keyspaces,
            default_keyspace: config.default_keyspace(),
            users,
            server_version: "10.11.0-MariaDB-tether-gateway".into(),
        })
    }

    pub fn keyspace(&self, name: &str) -> Option<Arc<Keyspace>> {
        self.keyspaces.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::{cascading_to, may_change_fks, may_write, names, table_references, FkTables};

    #[test]
    fn fk_tables_are_the_children_and_parents_named_as_words_without_case() {
        let fk = |name: &str, parent: &str| {
            serde_json::json!({"name": name, "columns": ["p"], "referenced_table": parent,
                "referenced_schema": null, "referenced_columns": ["id"],
                "on_delete": "CASCADE", "on_update": "RESTRICT"})
        };
        let table = |name: &str, fks: Vec<serde_json::Value>| {
            serde_json::json!({"name": name, "schema": null, "columns": [], "primary_key": [],
                "foreign_keys": fks})
        };
        let schema: tether_schema::Schema = serde_json::from_value(serde_json::json!({
            "engine": "mysql", "default_schema": null,
            "tables": [table("Parent", vec![]), table("child", vec![fk("c_fk", "Parent")]),
                table("loner", vec![]), table("order line", vec![fk("o_fk", "Élan")]),
                table("Élan", vec![]), table("a`b", vec![fk("ab_fk", "Parent")])],
        }))
        .expect("schema");
        let fks = FkTables::of(&schema);
        for sql in [
            "UPDATE parent SET id = 2",
            "DELETE FROM `CHILD` WHERE 1",
            "INSERT INTO loner SELECT * FROM db.child",
            "UPDATE loner SET a = 'parent'",
            "UPDATE loner /* Child */ SET a = 1",
            "DELETE FROM `order line`",
            "DELETE FROM ÉLAN",
            "DELETE FROM `a``b`",
        ] {
            assert!(fks.named_in(sql), "{sql}");
        }
        for sql in [
            "UPDATE loner SET a = 1",
            "INSERT INTO parents VALUES (1)",
            "DELETE FROM child_note",
            "UPDATE loner SET parent_id = 3",
            "DELETE FROM `order`",
            "DELETE FROM élans",
        ] {
            assert!(!fks.named_in(sql), "{sql}");
        }
        let none = FkTables::of(
            &serde_json::from_value(serde_json::json!({
                "engine": "mysql", "default_schema": null, "tables": [table("loner", vec![])],
            }))
            .expect("schema"),
        );
        assert!(!none.named_in("UPDATE loner SET a = 1"));
    }

    #[test]
    fn writes_through_views_over_fk_tables_are_found() {
        let table = |name: &str, fks: serde_json::Value| {
            serde_json::json!({"name": name, "schema": null, "columns": [], "primary_key": [],
                "foreign_keys": fks})
        };
        let view = |name: &str, definition: &str, reads: &[&str]| {
            let reads: Vec<serde_json::Value> = reads
                .iter()
                .map(|r| serde_json::json!({"schema": null, "name": r}))
                .collect();
            serde_json::json!({"schema": null, "name": name, "definition": definition, "reads": reads})
        };
        let schema: tether_schema::Schema = serde_json::from_value(serde_json::json!({
            "engine": "mysql", "default_schema": null,
            "tables": [table("p", serde_json::json!([])), table("loner", serde_json::json!([])),
                table("c", serde_json::json!([{"name": "c_fk", "columns": ["pid"], "referenced_table": "p",
                    "referenced_schema": null, "referenced_columns": ["id"],
                    "on_delete": "CASCADE", "on_update": "CASCADE"}]))],
            "objects": {"views": [
                view("pv", "CREATE VIEW `pv` AS select `p`.`id` AS `id` from `p`", &["p"]),
                view("pvv", "CREATE VIEW `pvv` AS select `pv`.`id` AS `id` from `pv`", &["pv"]),
                view("lv", "CREATE VIEW `lv` AS select `loner`.`id` AS `id` from `loner`", &["loner"]),
            ]},
        }))
        .expect("schema");
        let fks = FkTables::of(&schema);
        let written = |sql: &str| fks.view_written(sql, &schema);
        assert_eq!(written("DELETE FROM pv WHERE id = 1").as_deref(), Some("pv"));
        assert_eq!(written("UPDATE `PVV` SET id = 2").as_deref(), Some("PVV"));
        assert_eq!(written("INSERT INTO pv VALUES (1)").as_deref(), Some("pv"));
        assert_eq!(written("UPDATE IGNORE pv SET id = 2").as_deref(), Some("pv"));
        assert_eq!(written("UPDATE lv SET id = 2"), None);
        assert_eq!(written("INSERT INTO loner SELECT id FROM pv"), None);
        assert_eq!(written("SELECT * FROM pv"), None);
    }

    #[test]
    fn ddl_that_may_change_fks_is_told_from_other_ddl() {
        assert!(may_change_fks(
            "ALTER TABLE c2 ADD CONSTRAINT c2_p FOREIGN KEY (p_id) REFERENCES p (id)"
        ));
        assert!(may_change_fks("alter table c drop foreign key c_p"));
        assert!(may_change_fks("DROP TABLE c"));
        assert!(may_change_fks("RENAME TABLE c TO d"));
        assert!(may_change_fks("CREATE OR REPLACE TABLE c (id INT)"));
        assert!(!may_change_fks("ALTER TABLE p ADD INDEX (name)"));
        assert!(!may_change_fks("ALTER TABLE p DROP COLUMN x"));
        assert!(!may_change_fks("CREATE TABLE t (id INT)"));
    }

    #[test]
    fn the_tables_whose_writes_reach_a_held_one_follow_acting_fks_and_views() {
        let fk = |name: &str, parent: &str, on_delete: &str| {
            serde_json::json!({"name": name, "columns": ["p"], "referenced_table": parent,
                "referenced_schema": null, "referenced_columns": ["id"],
                "on_delete": on_delete, "on_update": "RESTRICT"})
        };
        let table = |name: &str, fks: Vec<serde_json::Value>| {
            serde_json::json!({"name": name, "schema": null, "columns": [], "primary_key": [],
                "foreign_keys": fks})
        };
        let schema: tether_schema::Schema = serde_json::from_value(serde_json::json!({
            "engine": "mysql", "default_schema": null,
            "tables": [table("GGP", vec![]), table("gp", vec![fk("gp_ggp", "GGP", "SET NULL")]),
                table("p", vec![fk("p_gp", "gp", "CASCADE")]), table("r", vec![]),
                table("q", vec![fk("q_r", "r", "RESTRICT")]), table("pr", vec![fk("pr_r", "r", "RESTRICT")]),
                table("c", vec![fk("c_p", "p", "CASCADE")])],
            "objects": {"views": [{"schema": null, "name": "vg",
                "definition": "CREATE VIEW `vg` AS select `ggp`.`id` AS `id` from `ggp`", "reads": []}]},
        }))
        .expect("schema");
        assert_eq!(cascading_to(&schema, "db", "p"), ["p", "gp", "GGP", "vg"]);
        assert_eq!(
            cascading_to(&schema, "db", "q"),
            ["q"],
            "a RESTRICT parent writes no child"
        );
        assert_eq!(cascading_to(&schema, "db", "c"), ["c", "p", "gp", "GGP", "vg"]);
    }

    #[test]
    fn statements_that_only_read_are_told_from_those_that_may_write() {
        for sql in [
            "SELECT * FROM ggp",
            "  /* x */ (SELECT 1)",
            "show tables",
            "SET @a = 1",
            "BEGIN",
            "START TRANSACTION",
            "# c\nselect 1",
        ] {
            assert!(!may_write(sql), "{sql}");
        }
        for sql in [
            "DELETE FROM ggp",
            "/* x */ delete from ggp",
            "/*!DELETE FROM ggp */",
            "SET STATEMENT max_statement_time = 1 FOR DELETE FROM ggp",
            "REPLACE INTO ggp VALUES (1)",
            "LOAD DATA INFILE 'x' REPLACE INTO TABLE ggp",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            // Every statement of a text counts (review r24h F2), however its quotes read.
            "SELECT 1; DELETE FROM ggp WHERE id = 1",
            "SELECT COUNT(*) FROM u;\n  delete from ggp",
            "SELECT 'a\\'; DELETE FROM ggp; -- '",
            "SELECT \"a\"; DELETE FROM ggp",
        ] {
            assert!(may_write(sql), "{sql}");
        }
        for sql in ["SELECT 1; SELECT 2", "SELECT 1; -- x", "SELECT ';DELETE FROM ggp'"] {
            assert!(!may_write(sql), "{sql}");
        }
    }

    #[test]
    fn tables_opened_are_the_table_references_only() {
        use crate::protocol::multi::Lexing;
        let refs = |sql: &str| table_references(sql, Lexing::DEFAULT);
        assert_eq!(refs("SELECT COUNT(*) FROM p"), ["p"]);
        assert_eq!(refs("select * from `P` join q on q.id = P.id"), ["P", "q"]);
        assert_eq!(refs("UPDATE p SET v = 1"), ["p"]);
        assert_eq!(refs("INSERT INTO p VALUES (1)"), ["p"]);
        assert_eq!(refs("DELETE x FROM p AS x WHERE x.id = 1"), ["p"]);
        // Mentions only (review r24h F4): none is a table of the statement.
        for sql in [
            "SELECT 'p' FROM u",
            "SELECT 1 /* FROM p */",
            "SELECT 1 -- FROM p",
            "SELECT COUNT(*) FROM other.p",
            "SELECT p.id FROM u AS p",
            "SELECT p.id FROM u p",
            "SELECT id AS p FROM u",
            "SELECT 'x\\' FROM p '",
            // Review r25i F1: a variable named like the keyword, FROM among a
            // function's arguments.
            "SELECT @from p",
            "SELECT @into p",
            "UPDATE u SET p = TRIM(BOTH FROM p) WHERE id = 1",
            "SELECT EXTRACT(YEAR FROM p) FROM u",
            "SELECT SUBSTRING(x FROM 2) AS p, TRIM(LEADING 'a' FROM (p)) FROM u",
        ] {
            assert!(!refs(sql).iter().any(|t| t == "p"), "{sql}: {:?}", refs(sql));
        }
        // Subqueries name tables.
        assert_eq!(refs("SELECT * FROM (SELECT id FROM p) AS x"), ["p"]);
        assert_eq!(refs("SELECT (SELECT COUNT(*) FROM p) FROM u"), ["p", "u"]);
        assert_eq!(refs("SELECT * FROM u WHERE id IN ((SELECT id FROM p))"), ["u", "p"]);
        // `P` is not `p` (case-sensitive names: review r25i F1).
        let mut o = super::Opened::default();
        o.ran("INSERT INTO `P` VALUES (2)", Lexing::DEFAULT);
        let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
        assert!(!o.before("p", later, false));
        assert!(o.before("P", later, false));
    }

    #[test]
    fn a_rollback_forgets_what_the_transaction_opened() {
        use crate::protocol::multi::Lexing;
        let mut o = super::Opened::default();
        o.ran("SELECT COUNT(*) FROM p", Lexing::DEFAULT);
        let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
        assert!(o.before("p", later, false));
        o.ran("ROLLBACK TO SAVEPOINT s", Lexing::DEFAULT);
        assert!(!o.before("p", later, false));
    }

    #[test]
    fn names_that_are_not_the_table_do_not_count_as_opened() {
        use crate::protocol::multi::Lexing;
        let refs = |sql: &str| table_references(sql, Lexing::DEFAULT);
        // Review r25d F2: a CTE's name, a column after ON DUPLICATE KEY UPDATE, an
        // option after FOR UPDATE, a table function, a file.
        for sql in [
            "WITH p AS (SELECT 1 AS x) SELECT * FROM p",
            "SELECT * FROM (WITH p AS (SELECT 1) SELECT * FROM p) AS t",
            "INSERT INTO u (id, p) VALUES (1, 1) ON DUPLICATE KEY UPDATE p = 2",
            "SELECT * FROM u FOR UPDATE p",
            "SELECT * FROM p(1)",
            "SELECT * FROM u INTO OUTFILE '/tmp/p'",
        ] {
            assert!(!refs(sql).iter().any(|t| t == "p"), "{sql}: {:?}", refs(sql));
        }
        assert_eq!(refs("INSERT INTO p (id, v) VALUES (1, 1)"), ["p"]);
        assert_eq!(
            refs("INSERT INTO u (id) VALUES (1) ON DUPLICATE KEY UPDATE id = 2"),
            ["u"]
        );
    }

    #[test]
    fn a_statement_that_may_end_the_transaction_forgets_what_it_opened() {
        use crate::protocol::multi::Lexing;
        let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
        // Review r25d F1: each may end the transaction and begin the next.
        for end in [
            "BEGIN",
            "begin work",
            "START TRANSACTION READ WRITE",
            "COMMIT AND CHAIN",
            "commit",
            "ROLLBACK AND CHAIN",
            "SET autocommit = 1",
            "SET @x = 1",
            "XA END 'x'",
            "CREATE TEMPORARY TABLE t (id INT)",
            "TRUNCATE TABLE u",
            "LOAD INDEX INTO CACHE u",
            "CALL pr()",
            "EXECUTE s",
            "BEGIN NOT ATOMIC SELECT 1; END",
            "COMMIT; BEGIN",
            "SELECT 1; SELECT 2",
            "/*!40101 COMMIT */",
        ] {
            let mut o = super::Opened::default();
            o.ran("SELECT COUNT(*) FROM p", Lexing::DEFAULT);
            assert!(o.before("p", later, false));
            o.ran(end, Lexing::DEFAULT);
            assert!(!o.before("p", later, false), "{end}");
        }
        // These neither open nor end anything.
        for same in ["SHOW TABLES", "EXPLAIN SELECT 1", "SAVEPOINT s", "SELECT 1;"] {
            let mut o = super::Opened::default();
            o.ran("SELECT COUNT(*) FROM p", Lexing::DEFAULT);
            o.ran(same, Lexing::DEFAULT);
            assert!(o.before("p", later, false), "{same}");
        }
        // Under a possible temporary table the names count as nothing.
        let mut o = super::Opened::default();
        o.ran_shadowed("SELECT * FROM p", Lexing::DEFAULT, true);
        assert!(!o.before("p", later, false));
    }

    #[test]
    fn a_select_the_query_cache_answered_opens_nothing_under_it() {
        use crate::protocol::multi::Lexing;
        let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
        // Review r26c F2: a SELECT answered from the query cache takes no metadata lock.
        for cached in [
            "SELECT v FROM p WHERE id = 3",
            "/* x */ select * from p",
            "TABLE p",
            "SELECT SQL_CACHE v FROM p",
        ] {
            let mut o = super::Opened::default();
            o.ran(cached, Lexing::DEFAULT);
            assert!(o.before("p", later, false), "{cached}");
            assert!(!o.before("p", later, true), "{cached}");
        }
        for opens in [
            "SELECT SQL_NO_CACHE v FROM p WHERE id = 3",
            "SELECT v FROM p WHERE id = 3 FOR UPDATE",
            "SELECT v FROM p WHERE id = 3 LOCK IN SHARE MODE",
            "UPDATE p SET v = 1 WHERE id = 3",
            "INSERT INTO p VALUES (1, 1)",
            "DELETE FROM p WHERE id = 3",
        ] {
            let mut o = super::Opened::default();
            o.ran(opens, Lexing::DEFAULT);
            assert!(o.before("p", later, true), "{opens}");
        }
    }

    #[test]
    fn names_qualified_by_another_database_are_found() {
        use super::{qualified_elsewhere, writes_elsewhere};
        assert!(writes_elsewhere("DELETE FROM v.vp WHERE id = 10", "u"));
        assert!(writes_elsewhere("DELETE FROM `v`.`vp` WHERE id = 10", "u"));
        assert!(writes_elsewhere("INSERT INTO o.x VALUES (1)", "u"));
        assert!(!writes_elsewhere("DELETE FROM u.p WHERE id = 10", "u"));
        assert!(!writes_elsewhere("DELETE FROM p WHERE p.id = 10", "u"));
        assert!(!writes_elsewhere("UPDATE p SET v = 1.5 WHERE id = 1", "u"));
        assert!(qualified_elsewhere("DELETE x FROM v.vp AS x", "u"));
        assert!(qualified_elsewhere("SELECT `a``b`.t", "u"));
        assert!(!qualified_elsewhere("UPDATE p SET v = 1.5", "u"));
        assert!(!qualified_elsewhere("SELECT * FROM `u`.p", "u"));
    }

    #[test]
    fn a_compound_statement_may_write() {
        // Review r25d F3: `BEGIN` is a transaction's statement, `BEGIN NOT ATOMIC`
        // is not.
        assert!(!may_write("BEGIN"));
        assert!(!may_write("begin work;"));
        assert!(may_write("BEGIN NOT ATOMIC DELETE FROM p WHERE id = 12; END"));
        assert!(may_write("begin not atomic select 1; end"));
    }

    #[test]
    fn a_statement_names_a_table_as_a_word() {
        assert!(names("UPDATE `Customer` SET a = 1", "customer"));
        assert!(names("select * from shop.customer where id=1", "customer"));
        assert!(!names("SELECT * FROM customer_note", "customer"));
        assert!(!names("SELECT * FROM old_customer", "customer"));
    }
}
