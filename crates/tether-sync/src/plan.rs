//! The plan of a sync job, as data: which tables load in which order and groups, how
//! each cycle is broken, which rule brings each table's rows in, and the source
//! queries. `tether plan` prints it; the executor runs it without re-deciding.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use tether_connect::{Conflict, Filter, ReadSpec};
use tether_schema::{FkGraph, ForeignKey, Schema, Table, TableName};

use crate::config::{Job, RelationSpec, TargetSpec};
use crate::error::SyncError;

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The source URL without its password.
    pub source: String,
    pub destinations: Vec<DestinationPlan>,
    /// Tables in load order.
    pub tables: Vec<TablePlan>,
    /// The load order in groups whose tables do not depend on each other.
    pub levels: Vec<Vec<String>>,
    pub cycles: Vec<CyclePlan>,
    /// Tables of the source the job leaves out.
    pub excluded: Vec<String>,
    /// True when subset targets are given.
    pub subset: bool,
    /// Schema and rows (`all`), the schema only, or the rows only.
    pub mode: crate::config::Mode,
    pub batch_size: usize,
    pub parallelism: usize,
    /// Personal columns of the copied tables and how the job treats them (None with
    /// `privacy = "off"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy: Option<crate::scan::PrivacyReport>,
    /// Destinations not checked against the source and each other (unreachable when
    /// planning, or their URL needs a secret); a sync checks them before writing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
    /// Tables of a MariaDB/MySQL source whose storage engine is not transactional
    /// (MyISAM, Aria, MEMORY...), as `name (ENGINE)`: the consistent-snapshot
    /// transaction does not cover them, each is read as of its own read (review r15 P2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside_snapshot: Vec<String>,
    /// Lines the plan and the sync's report say as they are: which database a
    /// destination whose URL names none is ([`crate::default_database`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    /// The note that [`Plan::outside_snapshot`]'s tables are not read in the snapshot,
    /// for the plan and the sync's report; None when there are none.
    pub fn outside_snapshot_note(&self) -> Option<String> {
        if self.outside_snapshot.is_empty() {
            return None;
        }
        Some(format!(
            "the source's tables {} use a non-transactional storage engine: the source's consistent \
             snapshot does not cover them, so each is read as of the moment its own read runs; rows \
             written on the source during the copy can leave orphans or counts that match no single \
             moment (stop writes to them during the copy, or convert them to InnoDB)",
            self.outside_snapshot.join(", ")
        ))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DestinationPlan {
    pub url: String,
    pub truncate: bool,
    pub on_conflict: Conflict,
    pub create_tables: bool,
    pub checks: crate::config::Checks,
    /// The tables the job creates there and what becomes of each source object; None
    /// when the destination could not be read while planning (`schema_note` says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<crate::schema_plan::SchemaReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_note: Option<String>,
    /// How the rows are loaded there, and why not through staging schemas; None when
    /// the destination could not be read while planning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<crate::execute::LoadPlan>,
}

/// Which rows of a table are copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rows {
    /// Every row.
    All,
    /// The rows the subset brings in.
    Subset,
}

#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    /// As users write it: `schema.table` outside the default schema.
    pub name: String,
    #[serde(skip)]
    pub table: Table,
    pub rows: Rows,
    /// Why rows of this table are copied, one line per rule.
    pub reasons: Vec<String>,
    /// FKs of this table written NULL at first and set once their cycle is loaded.
    pub break_fks: Vec<String>,
    /// The cycle (index in `cycles`) this table belongs to.
    pub cycle: Option<usize>,
    /// The source query (key lists elided for subsets).
    pub query: String,
    /// Transformers in force on this table's columns, and where each comes from.
    pub transforms: Vec<crate::anonymize::ColumnTransform>,
}

impl TablePlan {
    /// Each FK of `break_fks` with the columns loaded NULL to break it: its nullable
    /// columns outside the row key (all of them, or, for a composite MATCH SIMPLE FK,
    /// those a NULL in switches it off; the NOT NULL ones are written as they are).
    pub fn break_columns(&self) -> Vec<(&str, Vec<&str>)> {
        let key = self.table.row_key();
        self.break_fks
            .iter()
            .filter_map(|name| self.table.foreign_keys.iter().find(|f| &f.name == name))
            .map(|f| {
                let cols = f
                    .columns
                    .iter()
                    .filter(|c| self.table.column(c).is_none_or(|x| x.nullable) && !key.contains(c))
                    .map(String::as_str)
                    .collect();
                (f.name.as_str(), cols)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CyclePlan {
    pub tables: Vec<String>,
    /// `break`: load with `foreign_keys` NULL, then UPDATE. `defer`: no nullable FK
    /// breaks it; load with the destination's checks deferred or disabled, then verify.
    pub strategy: CycleStrategy,
    pub foreign_keys: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleStrategy {
    Break,
    Defer,
}

/// Why a destination missing some of the job's tables gets none of them created, as
/// the sync's refusal says it: `mode = "data"`, or the destination's `create_tables =
/// false`. None when the missing tables are created.
pub fn creates_nothing(mode: crate::config::Mode, create_tables: bool) -> Option<&'static str> {
    if mode == crate::config::Mode::Data {
        Some("mode = \"data\" creates nothing")
    } else if !create_tables {
        Some("create_tables = false")
    } else {
        None
    }
}

impl Plan {
    /// Refuses, with the message the sync stops with, a plan whose sync would stop on a
    /// destination before writing: tables missing there that the job may not create
    /// ([`creates_nothing`]), or a table to create that a SQLite destination already
    /// holds under other letter case. `tether plan` exits as the sync would.
    pub fn refuse_what_the_sync_refuses(&self) -> Result<(), SyncError> {
        for d in &self.destinations {
            let Some(r) = &d.schema else { continue };
            if let Some(e) = r.refusal(&d.url, self.mode, d.create_tables) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// "1 table", "2 tables".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl Plan {
    /// The tables step by step (`levels`), so that numbers follow the load steps;
    /// a table no step names (none should) comes last.
    pub fn tables_by_step(&self) -> Vec<&TablePlan> {
        let mut ordered: Vec<&TablePlan> = self
            .levels
            .iter()
            .flatten()
            .filter_map(|name| self.tables.iter().find(|t| &t.name == name))
            .collect();
        for t in &self.tables {
            if !ordered.iter().any(|o| o.name == t.name) {
                ordered.push(t);
            }
        }
        ordered
    }

    /// What a breakable cycle's line adds for destinations with checks = "verify",
    /// where no break is done: values are written as they are (twenty-seventh session
    /// writer S, review r27d F3).
    fn unbroken_on(&self) -> String {
        let verify: Vec<String> = self
            .destinations
            .iter()
            .enumerate()
            .filter(|(_, d)| d.checks == crate::config::Checks::Verify)
            .map(|(i, _)| format!("#{}", i + 1))
            .collect();
        match (verify.len(), self.destinations.len()) {
            (0, _) => String::new(),
            (v, n) if v == n => " (not done: checks = \"verify\", values are written as they are)".to_string(),
            _ => format!(
                " (not on {}: checks = \"verify\", values are written as they are)",
                verify.join(", ")
            ),
        }
    }

    /// The plan for people, as `tether plan` prints it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("source: {}\n", self.source));
        for d in &self.destinations {
            let mut opts = vec![format!("on_conflict = {:?}", d.on_conflict).to_lowercase()];
            if d.truncate {
                opts.push("truncate".into());
            }
            if !d.create_tables {
                opts.push("create_tables = false".into());
            }
            out.push_str(&format!("destination: {} ({})\n", d.url, opts.join(", ")));
            if let Some(r) = &d.schema {
                if let (Some(why), false) = (creates_nothing(self.mode, d.create_tables), r.create.is_empty()) {
                    out.push_str(&format!(
                        "  missing ({why}; the sync will stop): {}\n",
                        r.create.join(", ")
                    ));
                    if !r.existing.is_empty() {
                        out.push_str(&format!("  writes into existing: {}\n", r.existing.join(", ")));
                    }
                } else {
                    out.push_str(&r.to_text());
                }
            }
            if let Some(n) = &d.schema_note {
                out.push_str(&format!("  schema: {n}\n"));
            }
            if let (Some(load), false) = (&d.load, self.mode == crate::config::Mode::Schema) {
                out.push_str(&format!("  load: {}\n", load.to_text(d.checks)));
            }
        }
        for u in self.unchecked.iter().chain(&self.notes) {
            out.push_str(&format!("note: {u}\n"));
        }
        if let (Some(n), false) = (self.outside_snapshot_note(), self.mode == crate::config::Mode::Schema) {
            out.push_str(&format!("note: {n}\n"));
        }
        match self.mode {
            crate::config::Mode::All => {}
            crate::config::Mode::Schema => {
                out.push_str("mode: schema (tables and their objects are created; no rows are copied)\n")
            }
            crate::config::Mode::Data => {
                out.push_str("mode: data (rows are copied into existing tables; nothing is created)\n")
            }
        }
        out.push_str(&format!(
            "{} in load order{}; the tables of one step load at the same time\n",
            plural(self.tables.len(), "table"),
            if self.subset { ", subset" } else { ", full copy" }
        ));
        for (i, t) in self.tables_by_step().into_iter().enumerate() {
            if let Some(step) = self.levels.iter().position(|l| l.first() == Some(&t.name)) {
                out.push_str(&format!("\nstep {}\n", step + 1));
            }
            out.push_str(&format!("{:>3}. {}\n", i + 1, t.name));
            for r in &t.reasons {
                out.push_str(&format!("       rows: {r}\n"));
            }
            for x in &t.transforms {
                out.push_str(&format!(
                    "       transform: {} = {} ({})\n",
                    x.column, x.transformer, x.origin
                ));
            }
            if !t.break_fks.is_empty() {
                // A composite FK broken on some of its columns (MATCH SIMPLE) names them.
                let named: Vec<String> = t
                    .break_columns()
                    .into_iter()
                    .map(|(name, nulled)| {
                        let fk = t.table.foreign_keys.iter().find(|f| f.name == name);
                        if fk.is_some_and(|f| f.columns.len() == nulled.len()) {
                            name.to_string()
                        } else {
                            format!("{name} ({})", nulled.join(", "))
                        }
                    })
                    .collect();
                out.push_str(&format!(
                    "       cycle: {} loaded NULL, then updated{}\n",
                    named.join(", "),
                    self.unbroken_on()
                ));
            }
            out.push_str(&format!("       query: {}\n", t.query));
        }
        out.push_str("\nCycles\n");
        if self.cycles.is_empty() {
            out.push_str("  none\n");
        }
        for c in &self.cycles {
            let how = match c.strategy {
                CycleStrategy::Break => format!(
                    "break: load {} as NULL, then UPDATE{}",
                    c.foreign_keys.join(", "),
                    self.unbroken_on()
                ),
                CycleStrategy::Defer => format!(
                    "defer: no nullable FK breaks it; load with checks deferred or disabled ({}), then verify",
                    c.foreign_keys.join(", ")
                ),
            };
            out.push_str(&format!("  {}: {how}\n", c.tables.join(" <-> ")));
        }
        if !self.excluded.is_empty() {
            out.push_str(&format!("\nExcluded: {}\n", self.excluded.join(", ")));
        }
        if let Some(p) = &self.privacy {
            out.push('\n');
            out.push_str(&p.to_text());
        }
        out
    }
}

/// How subset rows are found: targets and which relations are followed downwards.
#[derive(Debug, Clone)]
pub struct SubsetRules {
    pub targets: Vec<(TableName, TargetSpec)>,
    /// Child FKs followed from target (and downward) rows: (child table, FK name) -> cap.
    pub follow: HashMap<(TableName, String), Option<u64>>,
    /// Tables whose rows come from the subset (every table connected to a target).
    pub tables: BTreeSet<TableName>,
}

/// `*` and `?` globs.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn find<'a>(schema: &'a Schema, written: &str, what: &str) -> Result<&'a Table, SyncError> {
    schema
        .find_table(written)
        .ok_or_else(|| SyncError::Plan(format!("{what}: {}", not_a_table(schema, written))))
}

/// Why `written` names no table of the source: it does not exist, or it is a partition
/// (whose rows are copied, and chosen, with its table's).
pub(crate) fn not_a_table(schema: &Schema, written: &str) -> String {
    match schema.partition_parent(written) {
        Some(t) => {
            let table = schema.display_name(&t.table_name());
            format!(
                "`{written}` is a partition of table `{table}`, not a table of its own: name `{table}` \
                 (its partitions come with it; a target's `where` on the partition key picks their rows)"
            )
        }
        None => format!("table `{written}` does not exist in the source"),
    }
}

/// The key identifying rows of a table in a subset: the primary key, else the first
/// unique key, else every column.
impl Plan {
    /// The tables the job copies, in load order, with the names the plan shows.
    pub fn job_tables(&self) -> Vec<(&str, &Table)> {
        self.tables.iter().map(|tp| (tp.name.as_str(), &tp.table)).collect()
    }

    /// Stores the privacy report of this plan from `scan` (which may cover more tables
    /// than the plan copies: only the plan's count).
    pub fn attach_privacy(&mut self, scan: &crate::scan::Scan, schema: &Schema, mode: crate::config::Privacy) {
        let transforms = self
            .tables
            .iter()
            .map(|t| (t.table.table_name(), t.transforms.clone()))
            .collect();
        self.privacy = Some(crate::scan::coverage(scan, schema, &transforms, mode));
    }
}

impl crate::schema_plan::Destinations {
    /// Puts the schema report of each destination into `plan` (and the measured text
    /// sizes into its tables, except for transformed columns: their values are not the
    /// source's).
    pub fn attach(&self, plan: &mut Plan, source: &Schema) {
        for tp in plan.tables.iter_mut() {
            if let Some(sizes) = self.text_bytes.get(&tp.table.table_name()) {
                for (c, n) in sizes {
                    if !tp.transforms.iter().any(|x| &x.column == c) {
                        tp.table.extras.text_bytes.insert(c.clone(), *n);
                    }
                }
            }
        }
        let reports: Vec<Result<crate::schema_plan::SchemaReport, String>> = self
            .found
            .iter()
            .map(|f| {
                f.as_ref()
                    .map(|(engine, existing)| crate::schema_plan::report(source, &plan.job_tables(), *engine, existing))
                    .map_err(Clone::clone)
            })
            .collect();
        for (dp, r) in plan.destinations.iter_mut().zip(reports) {
            match r {
                Ok(report) => dp.schema = Some(report),
                Err(note) => dp.schema_note = Some(note),
            }
        }
    }
}

/// ([`Table::row_key`], kept here for callers of the plan.)
pub fn row_key(t: &Table) -> Vec<String> {
    t.row_key()
}

/// The job's destinations on `engine`: (position from 0, as shown).
fn destinations_on<'a>(
    job: &'a Job,
    shown: &'a [String],
    engine: tether_connect::Engine,
) -> impl Iterator<Item = (usize, &'a String)> + 'a {
    job.destinations
        .iter()
        .zip(shown)
        .enumerate()
        .filter(move |(_, (spec, _))| spec.db_url().map(|u| u.engine()).ok() == Some(engine))
        .map(|(i, (_, shown))| (i, shown))
}

/// Which kind of value a column holds, as far as comparing it with another column
/// goes: PostgreSQL compares integers, decimals and floats with each other, text types
/// with each other (citext too), dates with timestamps; anything else only with its own
/// type (`varchar = integer`, `uuid = text`: no operator, 42883).
fn comparison_kind(c: &tether_schema::Column) -> String {
    use tether_schema::DataType::*;
    match &c.normalized_type {
        Int { .. } | Decimal { .. } | Float { .. } => "number".into(),
        Char { .. } | Varchar { .. } | Text => "text".into(),
        Other(_) if c.engine_type.contains("citext") => "text".into(),
        Date | Timestamp { .. } => "date".into(),
        Other(t) => format!("other {t}"),
        Boolean => "boolean".into(),
        Binary { .. } => "binary".into(),
        Time => "time".into(),
        Uuid => "uuid".into(),
        Json => "json".into(),
        Bits { .. } => "bits".into(),
    }
}

/// Refuses a virtual FK pairing columns whose values do not compare on every engine
/// (a `varchar` holding ids pointing at an integer key): PostgreSQL has no operator for
/// them, so choosing a subset and verifying (`child = parent` on the source and on
/// each destination) would fail after the plan said nothing. A declared FK always
/// pairs comparable types.
fn virtual_fks_compare(job: &Job, schema: &Schema, included: &[&Table]) -> Result<(), SyncError> {
    for child in included {
        for fk in child.foreign_keys.iter().filter(|f| f.is_virtual) {
            let Some(parent) = schema.table(&fk.referenced_name()) else {
                continue;
            };
            for (c, p) in fk.columns.iter().zip(&fk.referenced_columns) {
                let (Some(cc), Some(pc)) = (child.column(c), parent.column(p)) else {
                    continue;
                };
                if comparison_kind(cc) == comparison_kind(pc) {
                    continue;
                }
                let line = job
                    .virtual_fks
                    .iter()
                    .find(|v| {
                        v.spec.columns == fk.columns
                            && schema.find_table(&v.spec.table).map(|t| t.table_name()) == Some(child.table_name())
                    })
                    .and_then(|v| v.line)
                    .map(|l| format!("line {l}: "))
                    .unwrap_or_default();
                return Err(SyncError::Plan(format!(
                    "{}: {line}virtual foreign key `{}`: column `{}`.`{c}` ({}) cannot be compared with `{}`.`{p}` ({}) \
                     on every engine (PostgreSQL has no `=` between them); point it at a column of the same kind \
                     (numbers with numbers, text with text), or leave the relation out",
                    job.path,
                    fk.name,
                    schema.display_name(&child.table_name()),
                    cc.engine_type,
                    schema.display_name(&parent.table_name()),
                    pc.engine_type,
                )));
            }
        }
    }
    Ok(())
}

/// Two job tables must not land in one destination table: flattened `schema_table`
/// (MariaDB/MySQL, SQLite: `public.sales_orders` and `sales.orders`) or, on SQLite,
/// which does not tell table names apart by case (ASCII letters), names differing only
/// so (MariaDB's `MixedCase` and `mixedcase`).
fn same_name_there(
    job: &Job,
    schema: &Schema,
    included: &[&Table],
    destinations_shown: &[String],
) -> Result<(), SyncError> {
    use tether_connect::Engine;
    for engine in [Engine::Sqlite, Engine::Mysql, Engine::Postgres] {
        for (i, shown) in destinations_on(job, destinations_shown, engine) {
            let mut seen: HashMap<TableName, (&Table, String)> = HashMap::new();
            for t in included {
                let there = crate::schema_plan::destination_name(schema, &t.table_name(), engine);
                let key = match engine {
                    Engine::Sqlite => TableName::new(None, &there.name.to_ascii_lowercase()),
                    _ => there.clone(),
                };
                if let Some((other, was)) = seen.insert(key, (t, there.to_string())) {
                    let why = match (engine, was == there.to_string()) {
                        (Engine::Sqlite, false) => format!("SQLite table names ignore case (`{was}` = `{there}`)"),
                        _ => format!("both are `{there}` there"),
                    };
                    return Err(SyncError::Plan(format!(
                        "destination #{} {shown}: tables `{}` and `{}` would be one table there: {why}; exclude \
                         one of them in [tables]",
                        i + 1,
                        schema.display_name(&other.table_name()),
                        schema.display_name(&t.table_name()),
                    )));
                }
            }
        }
    }
    Ok(())
}

/// PostgreSQL keeps 63 bytes of a name (NAMEDATALEN) and cuts longer ones: a MariaDB
/// table or column of 64 characters would be created under another name there (two
/// sharing 63 bytes, as one). MariaDB/MySQL refuse a table or column name over 64
/// characters (a flattened `schema_table` from PostgreSQL, a SQLite name).
fn names_fit(job: &Job, schema: &Schema, included: &[&Table], destinations_shown: &[String]) -> Result<(), SyncError> {
    use tether_connect::Engine;
    for engine in [Engine::Postgres, Engine::Mysql] {
        if schema.engine == engine {
            continue;
        }
        let size = |name: &str| match engine {
            Engine::Postgres => name.len(),
            _ => name.chars().count(),
        };
        let (room, unit) = match engine {
            Engine::Postgres => (63, "bytes"),
            _ => (64, "characters"),
        };
        for (i, shown) in destinations_on(job, destinations_shown, engine) {
            for t in included {
                let there = crate::schema_plan::destination_name(schema, &t.table_name(), engine).name;
                let table = schema.display_name(&t.table_name());
                let long = std::iter::once((format!("table `{there}`"), size(&there)))
                    .chain(
                        t.columns
                            .iter()
                            .map(|c| (format!("column `{}` of table `{table}`", c.name), size(&c.name))),
                    )
                    .find(|(_, n)| *n > room);
                if let Some((what, n)) = long {
                    let consequence = match engine {
                        Engine::Postgres => "PostgreSQL keeps 63 and would cut it",
                        _ => "MariaDB/MySQL refuse a name over 64",
                    };
                    return Err(SyncError::Plan(format!(
                        "destination #{} {shown}: {what} has a name of {n} {unit}; {consequence}; exclude the \
                         table in [tables] or rename it at the source",
                        i + 1,
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Refuses a key every column of which gets one value on every row (`constant`,
/// `default`): from the table's second row on, the key would hold duplicates, which
/// the run finds only when it writes. NULLs (`null`) never collide in a unique key; a
/// transformer whose output depends on the input is guarded at run time (the unique
/// key check of `anonymize`), since it is unique on most data.
fn keys_stay_unique(
    job: &Job,
    schema: &Schema,
    transforms: &HashMap<TableName, Vec<crate::anonymize::ColumnTransform>>,
) -> Result<(), SyncError> {
    for t in &schema.tables {
        let Some(list) = transforms.get(&t.table_name()) else {
            continue;
        };
        let constant = |column: &str| {
            let ct = list.iter().find(|c| c.column == column)?;
            let col = t.column(column)?;
            tether_transform::same_on_every_row(&ct.spec, col).map(|_| ct)
        };
        let mut keys: Vec<(String, &Vec<String>)> = Vec::new();
        if !t.primary_key.is_empty() {
            keys.push(("primary key".into(), &t.primary_key));
        }
        for u in t.unique_keys.iter().filter(|u| u.predicate.is_none()) {
            keys.push((format!("unique key {}", u.name), &u.columns));
        }
        for (what, columns) in keys {
            let fixed: Vec<&crate::anonymize::ColumnTransform> = columns.iter().filter_map(|c| constant(c)).collect();
            if fixed.len() < columns.len() || fixed.is_empty() {
                continue;
            }
            let table = schema.display_name(&t.table_name());
            let first = fixed[0];
            // Where the job sets it: its line, or the parent column it comes from.
            let written = job.transforms.iter().find(|w| {
                w.column == first.column && schema.find_table(&w.table).map(|x| x.table_name()) == Some(t.table_name())
            });
            let at = match (written, &first.inherited) {
                (Some(w), _) => format!("line {}: [transform.{}] {}: ", w.line, w.table, w.column),
                (None, Some(i)) => format!(
                    "[transform.{}] {} (inherited by {table}.{} through {}): ",
                    i.table, i.column, first.column, i.foreign_key
                ),
                (None, None) => format!("{table}.{}: ", first.column),
            };
            let set: Vec<String> = fixed
                .iter()
                .map(|c| format!("{} = {}", c.column, c.transformer))
                .collect();
            return Err(SyncError::Config(format!(
                "{}: {at}{} writes the same value on every row, so {what} ({}) of table `{table}` would hold \
                 duplicates from its second row on: give {} a transformer that keeps keys unique (`hash` is a keyed \
                 permutation of integers; `email`/`username` with unique = true) or leave {} unchanged",
                job.path,
                set.join(", "),
                columns.join(", "),
                if columns.len() == 1 {
                    "the column"
                } else {
                    "one of its columns"
                },
                if columns.len() == 1 { "it" } else { "them" },
            )));
        }
    }
    Ok(())
}

/// Builds the plan. `schema` is the source's, with the job's virtual FKs merged.
pub fn build(
    job: &Job,
    schema: &Schema,
    source_shown: &str,
    destinations_shown: &[String],
) -> Result<(Plan, SubsetRules), SyncError> {
    let display = |t: &TableName| schema.display_name(t);
    crate::names::refuse_ambiguous(job, schema)?;

    // Table selection.
    let mut included: Vec<&Table> = Vec::new();
    let mut excluded: Vec<String> = Vec::new();
    for t in &schema.tables {
        let name = display(&t.table_name());
        let inc = job.tables.include.iter().any(|p| glob(p, &name));
        let exc = job.tables.exclude.iter().any(|p| glob(p, &name));
        if inc && !exc {
            included.push(t);
        } else {
            excluded.push(name);
        }
    }
    for pattern in job.tables.include.iter().chain(&job.tables.exclude) {
        if !pattern.contains(['*', '?']) && schema.find_table(pattern).is_none() {
            return Err(SyncError::Plan(format!(
                "{}: {}[tables]: {}",
                job.path,
                job.tables.at(pattern),
                not_a_table(schema, pattern)
            )));
        }
    }
    if included.is_empty() {
        let why = match schema.tables.len() {
            0 => "the source has no tables".to_string(),
            n => format!("[tables] include/exclude leave none of the source's {n} tables"),
        };
        return Err(SyncError::Plan(format!("{}: the job copies no table: {why}", job.path)));
    }
    let included_names: BTreeSet<TableName> = included.iter().map(|t| t.table_name()).collect();
    for t in &included {
        for fk in &t.foreign_keys {
            let parent = fk.referenced_name();
            if schema.table(&parent).is_some() && !included_names.contains(&parent) {
                return Err(SyncError::Plan(format!(
                    "table `{}` is copied but its parent `{}` (foreign key {}) is excluded: include `{}` or exclude `{}` too",
                    display(&t.table_name()),
                    display(&parent),
                    fk.name,
                    display(&parent),
                    display(&t.table_name())
                )));
            }
        }
    }
    virtual_fks_compare(job, schema, &included)?;
    same_name_there(job, schema, &included, destinations_shown)?;
    names_fit(job, schema, &included, destinations_shown)?;
    let selected = Schema {
        engine: schema.engine,
        default_schema: schema.default_schema.clone(),
        tables: included.iter().map(|t| (*t).clone()).collect(),
        objects: schema.objects.clone(),
    };
    let graph = FkGraph::build(&selected);

    let rules = subset_rules(job, &selected, schema)?;
    let mut transforms = crate::anonymize::resolve(job, &selected)?;
    keys_stay_unique(job, &selected, &transforms)?;
    let subset = !rules.targets.is_empty();

    let mut cycles = Vec::new();
    let mut cycle_of: HashMap<TableName, usize> = HashMap::new();
    for c in &graph.cycles {
        for t in &c.tables {
            cycle_of.insert(t.clone(), cycles.len());
        }
        cycles.push(CyclePlan {
            tables: c.tables.iter().map(display).collect(),
            strategy: if c.can_break {
                CycleStrategy::Break
            } else {
                CycleStrategy::Defer
            },
            foreign_keys: if c.can_break {
                c.break_with.clone()
            } else {
                c.edges.iter().map(|e| e.foreign_key.clone()).collect()
            },
        });
    }

    let d = tether_connect::dialect_of(schema.engine);
    let mut tables = Vec::new();
    for name in &graph.load_order {
        let t = selected.table(name).expect("graph tables come from the schema").clone();
        let cycle = cycle_of.get(name).copied();
        let break_fks: Vec<String> = match cycle.map(|i| &graph.cycles[i]) {
            Some(c) if c.can_break => c
                .edges
                .iter()
                .filter(|e| &e.table == name && c.break_with.contains(&e.foreign_key))
                .map(|e| e.foreign_key.clone())
                .collect(),
            _ => vec![],
        };
        let in_subset = subset && rules.tables.contains(name);
        let (rows, reasons) = if in_subset {
            (Rows::Subset, subset_reasons(&selected, &rules, name))
        } else if subset && !job.subset.copy_unrelated {
            (
                Rows::Subset,
                vec!["no rows: not connected to any target and copy_unrelated = false".into()],
            )
        } else if subset {
            (Rows::All, vec!["all rows: not connected to any subset target".into()])
        } else {
            (Rows::All, vec!["all rows".into()])
        };
        let columns: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let spec = ReadSpec {
            table: t.clone(),
            columns,
            filter: if in_subset {
                Filter::KeysIn {
                    columns: row_key(&t),
                    keys: vec![],
                }
            } else {
                Filter::All
            },
            order_by: vec![],
            limit: None,
        };
        tables.push(TablePlan {
            name: display(name),
            query: spec.select_sql(d, None),
            transforms: transforms.remove(name).unwrap_or_default(),
            table: t,
            rows,
            reasons,
            break_fks,
            cycle,
        });
    }
    let plan = Plan {
        source: source_shown.to_string(),
        destinations: job
            .destinations
            .iter()
            .zip(destinations_shown)
            .map(|(d, shown)| DestinationPlan {
                url: shown.clone(),
                truncate: d.truncate,
                on_conflict: d.on_conflict,
                create_tables: d.create_tables,
                checks: d.checks,
                schema: None,
                schema_note: None,
                load: None,
            })
            .collect(),
        levels: graph
            .load_levels
            .iter()
            .map(|l| l.iter().map(display).collect())
            .collect(),
        tables,
        cycles,
        excluded,
        subset,
        mode: job.mode,
        batch_size: job.options.batch_size,
        parallelism: job.options.parallelism,
        privacy: None,
        unchecked: Vec::new(),
        outside_snapshot: Vec::new(),
        notes: Vec::new(),
    };
    Ok((plan, rules))
}

fn fk_edges(schema: &Schema) -> Vec<(TableName, &ForeignKey, TableName)> {
    let names: BTreeSet<TableName> = schema.tables.iter().map(|t| t.table_name()).collect();
    schema
        .tables
        .iter()
        .flat_map(|t| {
            t.foreign_keys
                .iter()
                .map(move |fk| (t.table_name(), fk, fk.referenced_name()))
        })
        .filter(|(_, _, p)| names.contains(p))
        .collect()
}

fn relation_override<'a>(
    relations: &'a [(RelationSpec, usize)],
    child: &TableName,
    fk: &ForeignKey,
    schema: &Schema,
) -> Option<&'a RelationSpec> {
    relations.iter().map(|(r, _)| r).find(|r| {
        r.foreign_key == fk.name
            && r.table
                .as_deref()
                .is_none_or(|t| schema.find_table(t).map(|x| x.table_name()).as_ref() == Some(child))
    })
}

fn subset_rules(job: &Job, schema: &Schema, source: &Schema) -> Result<SubsetRules, SyncError> {
    let mut targets = Vec::new();
    for (t, line) in &job.targets {
        let what = format!("{}: line {line}: subset target", job.path);
        if schema.find_table(&t.table).is_none() && source.find_table(&t.table).is_some() {
            return Err(SyncError::Plan(format!(
                "{what}: table `{}` is not among the copied tables (the job's [tables] leaves it out)",
                t.table
            )));
        }
        let table = find(schema, &t.table, &what)?;
        targets.push((table.table_name(), t.clone()));
    }
    let edges = fk_edges(schema);
    // Which (child, FK) each relation names: two relations naming one FK would
    // silently let the first win.
    let mut named: HashMap<(TableName, String), usize> = HashMap::new();
    for (r, line) in &job.relations {
        let matched: Vec<(TableName, String)> = edges
            .iter()
            .filter(|(c, fk, _)| {
                fk.name == r.foreign_key
                    && r.table
                        .as_deref()
                        .is_none_or(|t| schema.find_table(t).map(|x| x.table_name()).as_ref() == Some(c))
            })
            .map(|(c, fk, _)| (c.clone(), fk.name.clone()))
            .collect();
        let at = format!("{}: line {line}: subset relation", job.path);
        // The tables holding an FK of that name, whatever `table` says.
        let holders: Vec<String> = edges
            .iter()
            .filter(|(_, fk, _)| fk.name == r.foreign_key)
            .map(|(c, _, _)| schema.display_name(c))
            .collect();
        if matched.is_empty() {
            return Err(SyncError::Plan(match (&r.table, holders.as_slice()) {
                (Some(t), _) if schema.find_table(t).is_none() => format!("{at}: {}", not_a_table(schema, t)),
                (Some(t), [_, ..]) => format!(
                    "{at}: foreign key `{}` is not a foreign key of table `{t}`: `table` names the FK's child \
                     table, which is {}",
                    r.foreign_key,
                    holders
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
                _ => format!(
                    "{at}: foreign key `{}` does not exist among the copied tables",
                    r.foreign_key
                ),
            }));
        }
        if r.table.is_none() && matched.len() > 1 {
            return Err(SyncError::Plan(format!(
                "{at}: foreign key `{}` is the name of an FK of {} tables ({}): set `table` to the child table \
                 it means",
                r.foreign_key,
                holders.len(),
                holders.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        for m in matched {
            if let Some(first) = named.insert(m, *line) {
                return Err(SyncError::Config(format!(
                    "{}: line {line}: subset relation: foreign key `{}` is already set by the relation on line {first}: give one [[subset.relations]] per foreign key",
                    job.path, r.foreign_key
                )));
            }
        }
    }
    let mut follow = HashMap::new();
    for (child, fk, _) in &edges {
        let o = relation_override(&job.relations, child, fk, schema);
        let enabled = o.and_then(|r| r.follow_children).unwrap_or(job.subset.follow_children);
        if enabled {
            let cap = o
                .and_then(|r| r.max_children_per_parent)
                .or(job.subset.max_children_per_parent);
            follow.insert((child.clone(), fk.name.clone()), cap);
        }
    }
    // Every table connected to a target (ignoring direction) takes its rows from the subset.
    let mut tables: BTreeSet<TableName> = targets.iter().map(|(t, _)| t.clone()).collect();
    loop {
        let before = tables.len();
        for (c, _, p) in &edges {
            if tables.contains(c) || tables.contains(p) {
                tables.insert(c.clone());
                tables.insert(p.clone());
            }
        }
        if tables.len() == before {
            break;
        }
    }
    Ok(SubsetRules {
        targets,
        follow,
        tables,
    })
}

fn subset_reasons(schema: &Schema, rules: &SubsetRules, name: &TableName) -> Vec<String> {
    let display = |t: &TableName| schema.display_name(t);
    let edges = fk_edges(schema);
    // Tables reached downwards from targets, then their parents.
    let mut down: BTreeSet<TableName> = rules.targets.iter().map(|(t, _)| t.clone()).collect();
    loop {
        let before = down.len();
        for (c, fk, p) in &edges {
            if down.contains(p) && rules.follow.contains_key(&(c.clone(), fk.name.clone())) {
                down.insert(c.clone());
            }
        }
        if down.len() == before {
            break;
        }
    }
    let mut reached = down.clone();
    loop {
        let before = reached.len();
        for (c, _, p) in &edges {
            if reached.contains(c) {
                reached.insert(p.clone());
            }
        }
        if reached.len() == before {
            break;
        }
    }
    let mut reasons = Vec::new();
    for (t, spec) in rules.targets.iter().filter(|(t, _)| t == name) {
        let _ = t;
        let mut parts = Vec::new();
        if let Some(w) = &spec.where_clause {
            parts.push(format!("WHERE {w}"));
        }
        if let Some(p) = spec.percent {
            parts.push(format!("{p}% of rows"));
        }
        if let Some(l) = spec.limit {
            parts.push(format!("first {l} rows"));
        }
        reasons.push(format!("target: {}", parts.join(", ")));
    }
    let mut by_fk: BTreeMap<String, String> = BTreeMap::new();
    for (c, fk, p) in &edges {
        if c == name && down.contains(p) {
            if let Some(cap) = rules.follow.get(&(c.clone(), fk.name.clone())) {
                let cap = cap.map(|n| format!(", at most {n} per parent")).unwrap_or_default();
                by_fk.insert(
                    format!("c{}", fk.name),
                    format!("children of {} rows via {}{cap}", display(p), fk.name),
                );
            }
        }
        if p == name && reached.contains(c) {
            by_fk.insert(
                format!("p{}{}", display(c), fk.name),
                format!("parents of {} rows via {}", display(c), fk.name),
            );
        }
    }
    reasons.extend(by_fk.into_values());
    if reasons.is_empty() {
        reasons.push("no rows: no target reaches it (its rows would only come as children of parent rows)".into());
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("*", "orders"));
        assert!(glob("audit_*", "audit_log"));
        assert!(!glob("audit_*", "orders"));
        assert!(glob("billing.*", "billing.invoice"));
        assert!(glob("ord?rs", "orders"));
        assert!(!glob("orders", "orders2"));
    }
}
