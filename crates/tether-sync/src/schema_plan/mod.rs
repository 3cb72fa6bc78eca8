//! What a destination gets besides rows: which tables the job creates there, and for
//! each object of the source (column types, defaults, keys, indexes, CHECKs, enums,
//! domains, sequences, comments, triggers, views) whether it is created as it is,
//! mapped to the destination engine's closest equivalent (from -> to), or skipped, with
//! the reason. Pure: `tether plan` prints it before anything is written, and the
//! executor creates the tables from the same models.

mod computed_there;
mod defaults;
mod fit;
mod items;
mod keys;
mod names_fit;
mod refusals;
mod sqlite_rules;
mod whole;

pub use defaults::translate_default;
pub use fit::fit_transforms;

use items::{cross_engine, same_engine_items};
use serde::Serialize;
use tether_connect::{Dialect, Engine};
use tether_schema::{Check, Column, DataType, FkAction, Identity, Index, Schema, Table, TableName, Trigger, TypeKind};

/// The job's tables in load order, each with the name planning shows for it.
pub type JobTables<'a> = [(&'a str, &'a Table)];

/// The schema part of a destination's plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SchemaReport {
    /// Tables missing on the destination, which the job creates (in load order).
    pub create: Vec<String>,
    /// Tables already there: rows are written into them, nothing is created.
    pub existing: Vec<String>,
    /// Every object of the created tables, and what becomes of it.
    pub objects: Vec<SchemaItem>,
    /// The tables to create, as the destination will have them (names, types, keys and
    /// objects mapped), in `create`'s order: what the executor creates.
    #[serde(skip)]
    pub models: Vec<Table>,
    /// On SQLite: (table to create, the destination's table of the same name in other
    /// letter case). The sync refuses them ([`SchemaReport::case_clash_refusal`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_case: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Created as the source has it.
    Created,
    /// Created as the destination engine's closest equivalent.
    Mapped,
    /// Not created; `reason` says why.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaItem {
    /// `table`, `column`, `default`, `index`, `check`, `type`, `sequence`, `comment`,
    /// `generated column`, `trigger`, `view`, `foreign key`, `partitioning`, `cluster`,
    /// `key option`, `key name`.
    pub kind: &'static str,
    pub name: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SchemaItem {
    fn new(kind: &'static str, name: impl Into<String>, action: Action) -> Self {
        SchemaItem {
            kind,
            name: name.into(),
            action,
            from: None,
            to: None,
            reason: None,
        }
    }
    fn between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self.to = Some(to.into());
        self
    }
    fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

impl SchemaReport {
    /// The report for people, as `tether plan` prints it under its destination.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if !self.create.is_empty() {
            out.push_str(&format!("  creates: {}\n", self.create.join(", ")));
        }
        if !self.existing.is_empty() {
            out.push_str(&format!("  writes into existing: {}\n", self.existing.join(", ")));
        }
        for i in &self.objects {
            let action = match i.action {
                Action::Created => "created",
                Action::Mapped => "mapped ",
                Action::Skipped => "skipped",
            };
            let mut line = format!("    {action} {} {}", i.kind, i.name);
            if let (Some(f), Some(t)) = (&i.from, &i.to) {
                line.push_str(&format!(": {f} -> {t}"));
            }
            if let Some(r) = &i.reason {
                line.push_str(&format!(" ({r})"));
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// The destinations as planning found them, read once ([`crate::read_destinations`]):
/// each one's engine and tables, or why it could not be read, and measured text sizes.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    pub found: Vec<Result<(Engine, Schema), String>>,
    /// Source table -> column -> longest value in bytes (unbounded text columns).
    pub text_bytes: std::collections::HashMap<TableName, std::collections::BTreeMap<String, u64>>,
}

/// Refuses a job copying a table with a foreign key that cannot work (a column its
/// parent lacks, another number of columns on each side: SQLite takes such a declaration
/// without checking it), naming the table, the key and the column, before anything is
/// written: no destination could create or check it, and a SQLite copy would refuse
/// every row of the table.
///
/// A MariaDB/MySQL foreign key whose parent table was dropped (`foreign_key_checks =
/// 0`) is refused the same way: the copy would have no parent to create it against,
/// and leaving it out would copy the table with a key fewer without a word.
pub fn refuse_unusable_fks(plan: &crate::plan::Plan, source: &Schema) -> Result<(), crate::error::SyncError> {
    for tp in &plan.tables {
        if let Some(d) = source
            .objects
            .dangling_fks
            .iter()
            .find(|d| d.table == tp.table.name && tp.table.schema.is_none())
        {
            return Err(crate::error::SyncError::Plan(format!(
                "{}; no copy can create it. Drop the foreign key in the source (ALTER TABLE {} DROP FOREIGN KEY \
                 {}), create {} again there, or leave {} out in [tables]",
                d.describe(),
                d.table,
                d.name,
                d.referenced_table,
                d.table
            )));
        }
        for fk in tp.table.foreign_keys.iter().filter(|f| !f.is_virtual) {
            if let Some(fault) = source.foreign_key_fault(&tp.table, fk) {
                let table = source.display_name(&tp.table.table_name());
                return Err(crate::error::SyncError::Plan(format!(
                    "table {table}: foreign key {} ({}) references {}({}): {fault}; {} refuses every write to such a \
                     table once foreign keys are on; fix or drop the key in the source, or leave {table} out in \
                     [tables]",
                    fk.name,
                    fk.columns.join(", "),
                    source.display_name(&fk.referenced_name()),
                    fk.referenced_columns.join(", "),
                    source.engine.name(),
                )));
            }
        }
    }
    Ok(())
}

/// Where a source table lands on a destination engine: PostgreSQL keeps schemas; other
/// engines flatten `schema.table` outside the default schema to `schema_table`.
pub fn destination_name(source: &Schema, t: &TableName, dest: Engine) -> TableName {
    let in_default = t.schema.is_none() || t.schema == source.default_schema;
    match tether_connect::dialect_of(dest).default_schema() {
        Some(default) => TableName {
            schema: Some(if source.engine == dest {
                t.schema.clone().unwrap_or(default.into())
            } else {
                default.into()
            }),
            name: t.name.clone(),
        },
        None if in_default => TableName {
            schema: None,
            name: t.name.clone(),
        },
        None => TableName {
            schema: None,
            name: format!("{}_{}", t.schema.as_deref().unwrap_or(""), t.name),
        },
    }
}

/// The plan's schema part for one destination, given what it holds (`existing`).
pub fn report(source: &Schema, tables: &JobTables, dest: Engine, existing: &Schema) -> SchemaReport {
    let mut out = SchemaReport::default();

    for &(name, table) in tables {
        let want = destination_name(source, &table.table_name(), dest);
        if let Some(there) = existing.table(&want) {
            out.existing.push(name.to_string());
            if dest == Engine::Mysql {
                other_databases_sequences_there(name, there, &mut out.objects);
            }
        } else {
            if let Some(there) = refusals::same_table_other_case(dest, existing, &want) {
                out.other_case.push((name.to_string(), there));
            }
            out.create.push(name.to_string());
            out.models
                .push(destination_model(source, tables, table, dest, &mut out.objects));
        }
    }
    let same_engine = source.engine == dest;
    if !same_engine && dest == Engine::Postgres {
        names_fit::cut_long_names(&mut out, source.engine);
    }
    if !same_engine && dest != Engine::Mysql {
        distinct_index_names(&mut out, source.engine, dest, existing);
    }
    if !same_engine && dest == Engine::Mysql {
        parent_types_for_fk_columns(source, tables, &mut out, existing, dest);
        distinct_fk_names(&mut out, source.engine, existing);
    }
    if !same_engine && dest == Engine::Sqlite {
        parent_types_for_fk_columns(source, tables, &mut out, existing, dest);
    }
    let d = tether_connect::dialect_of(dest);
    let sources: Vec<&Table> = tables
        .iter()
        .filter(|(name, _)| out.create.iter().any(|c| c == name))
        .map(|&(_, t)| t)
        .collect();
    // Another engine has no typed tables: only the columns' types are reported there.
    let types = match same_engine {
        true => source.objects.types_for(sources.iter().map(|t| &t.extras)),
        false => source
            .objects
            .types_named(sources.iter().flat_map(|t| t.extras.user_types.values().cloned())),
    };
    for ty in types {
        let item = SchemaItem::new("type", ty.qualified(), Action::Created);
        out.objects.push(match (&ty.kind, same_engine) {
            (_, true) if existing.objects.user_type(&ty.qualified()).is_some() => {
                SchemaItem::new("type", ty.qualified(), Action::Skipped)
                    .because("the destination has a type of that name; it is used as it is")
            }
            (_, true) => item,
            (TypeKind::Enum { labels }, false) if d.native_enum() && items::enum_holds(labels) => item.mapped(
                "enum",
                "an ENUM column type (binary collation: labels compared as written)",
            ),
            (TypeKind::Enum { .. }, false) if d.native_enum() => item.mapped(
                "enum",
                "varchar with a CHECK of its labels (a label ends with a space, which an ENUM drops)",
            ),
            (TypeKind::Enum { .. }, false) => item.mapped("enum", "text with a CHECK of its labels"),
            (TypeKind::Composite { .. }, false) => {
                item.mapped("composite type", "text (a value as PostgreSQL prints it: `(a,b)`)")
            }
            (TypeKind::Range { subtype, .. }, false) => SchemaItem::new("type", ty.qualified(), Action::Mapped)
                .between(
                    format!("range of {subtype}"),
                    "text (a value as PostgreSQL prints it: `[1.5,2.5)`)",
                )
                .because("range operators (@>, &&) and the bounds' order are not carried to another engine"),
            (TypeKind::Domain { base, .. }, false) => SchemaItem::new("type", ty.qualified(), Action::Mapped)
                .between(format!("domain over {base}"), "its base type")
                .because("the domain's CHECKs and default are not carried to another engine"),
        });
    }
    let job: Vec<TableName> = tables.iter().map(|(_, t)| t.table_name()).collect();
    let over = source.objects.views_over(&job);
    for v in &source.objects.views {
        let name = source.display_name(&v.table_name());
        let item = if !over.iter().any(|o| o.table_name() == v.table_name()) {
            SchemaItem::new("view", name, Action::Skipped).because("it reads tables the job does not copy")
        } else if !same_engine {
            SchemaItem::new("view", name, Action::Skipped)
                .because(format!("written in {}'s SQL; not translated", source.engine.name()))
        } else if existing.objects.views.iter().any(|e| e.table_name() == v.table_name()) {
            SchemaItem::new("view", name, Action::Skipped).because("the destination has a view of that name")
        } else {
            SchemaItem::new("view", name, Action::Created)
        };
        let created = item.action == Action::Created;
        out.objects.push(item);
        view_triggers_and_rules(source, dest, v, (created, same_engine), &job, &mut out.objects);
        // (The routines it calls, with those they call: created with it where missing.)
        let functions = source
            .objects
            .functions_with_callees(v.functions.iter().map(String::as_str));
        for f in functions.iter().filter(|_| created) {
            out.objects.push(SchemaItem::new(
                "function",
                format!("{} (used by view {})", f.name, v.name),
                Action::Created,
            ));
        }
        // (MariaDB: those it reads or draws from, created with it where missing.)
        for s in source
            .objects
            .view_sequences
            .get(&v.name)
            .into_iter()
            .flatten()
            .filter(|_| created)
        {
            out.objects.push(SchemaItem::new(
                "sequence",
                format!("{} (read by view {})", s.name, v.name),
                Action::Created,
            ));
        }
    }
    for (kind, name) in &source.objects.not_copied {
        let why = match kind.as_str() {
            "event" => "events are not copied: the copy would run the source's schedule on its own rows",
            _ => "no trigger or view the job copies calls it; a copy creates only the routines those use",
        };
        out.objects.push(
            match kind.as_str() {
                "event" => SchemaItem::new("event", name, Action::Skipped),
                "procedure" => SchemaItem::new("procedure", name, Action::Skipped),
                _ => SchemaItem::new("function", name, Action::Skipped),
            }
            .because(why),
        );
    }
    whole::add_and_merge(&mut out, tables, dest, existing);
    out
}

/// Index and unique key names are per table on MariaDB/MySQL, per schema on PostgreSQL
/// and per database on SQLite (where tables share them too): a name already taken
/// there becomes `table_name` (`_2`, `_3` .. if that is taken too), each reported.
fn distinct_index_names(out: &mut SchemaReport, from: Engine, dest: Engine, existing: &Schema) {
    let d = tether_connect::dialect_of(dest);
    let space = |t: &Table| {
        if dest == Engine::Postgres {
            t.schema.clone()
        } else {
            None
        }
    };
    let mut taken: std::collections::HashSet<(Option<String>, String)> = std::collections::HashSet::new();
    for t in existing.tables.iter().chain(out.models.iter()) {
        taken.insert((space(t), t.name.clone()));
    }
    for t in &existing.tables {
        for name in t
            .extras
            .indexes
            .iter()
            .map(|i| &i.name)
            .chain(t.unique_keys.iter().map(|u| &u.name))
        {
            taken.insert((space(t), name.clone()));
        }
    }
    let mut renamed: Vec<SchemaItem> = Vec::new();
    for t in &mut out.models {
        let at = space(t);
        let mut fresh = |kind: &'static str, name: &mut String| {
            if taken.insert((at.clone(), name.clone())) {
                return;
            }
            let base: String = format!("{}_{}", t.name, name);
            // PostgreSQL keeps 63 bytes of a name.
            let cut = |s: &str| -> String {
                let mut end = s.len().min(60);
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s[..end].to_string()
            };
            let mut candidate = cut(&base);
            let mut n = 2;
            while !taken.insert((at.clone(), candidate.clone())) {
                candidate = format!("{}_{n}", cut(&base));
                n += 1;
            }
            renamed.push(
                SchemaItem::new(kind, format!("{}.{name}", t.name), Action::Mapped)
                    .between(name.clone(), candidate.clone())
                    .because(format!(
                        "index names are per table on {}, shared by {} on {}",
                        from.name(),
                        if dest == Engine::Postgres {
                            "a schema"
                        } else {
                            "the database"
                        },
                        dest.name()
                    )),
            );
            *name = candidate;
        };
        for u in t.unique_keys.iter_mut().filter(|u| u.predicate.is_none()) {
            fresh("unique key", &mut u.name);
        }
        for i in t.extras.indexes.iter_mut() {
            let old = i.name.clone();
            fresh("index", &mut i.name);
            if !i.definition.is_empty() && i.name != old {
                i.definition = keys::renamed(&i.definition, d, &old, &i.name);
            }
        }
        // An EXCLUDE constraint's index is named as it is.
        for c in t.extras.checks.iter_mut().filter(|c| c.exclusion) {
            fresh("unique key", &mut c.name);
        }
    }
    out.objects.extend(renamed);
}

/// Whether a `source` FK pairs child and parent columns of one kind of value that the
/// source compares by value but spells apart: a PostgreSQL `date` with a `timestamp`
/// (its midnight: '2024-03-01' and '2024-03-01 00:00:00'), an integer with a numeric
/// (5 and 5.00), a `real` with a `double precision` (0.1 and 0.10000000149011612).
/// Another engine's copy must give the child its parent's spelling: SQLite compares
/// an FK's values as written. Numerics of different scales are `respell`'s
/// `scaled_apart`; MariaDB/MySQL refuse such keys (errno 150) or match no row.
pub(crate) fn spelt_apart(source: Engine, child: &DataType, parent: &DataType) -> bool {
    fn form(t: &DataType) -> Option<(u8, u8)> {
        Some(match t {
            DataType::Int { .. } => (0, 0),
            DataType::Decimal { .. } => (0, 1),
            DataType::Float { bytes: 4 } => (0, 2),
            DataType::Float { .. } => (0, 3),
            DataType::Date => (1, 0),
            DataType::Timestamp { tz: false } => (1, 1),
            DataType::Timestamp { tz: true } => (1, 2),
            _ => return None,
        })
    }
    match (source, form(child), form(parent)) {
        (Engine::Postgres, Some((kind, a)), Some((parent_kind, b))) => kind == parent_kind && a != b,
        _ => false,
    }
}

/// MariaDB/MySQL (InnoDB) compare a foreign key's columns by their stored forms:
/// between numbers, dates or times of different types (`decimal(12,2)` and
/// `decimal(10,2)`, `int` and `decimal`, `date` and `datetime(6)`, `datetime` and
/// `datetime(6)`) they refuse the key (errno 150) or take it and then match no child
/// row with its parent (1452), where PostgreSQL and SQLite compare the values. SQLite
/// compares them as written: a child spelt apart from its parent ([`spelt_apart`]) is
/// written with its parent's spelling (`execute::respell`), which the parent's type
/// keeps (a `DATE` or `INTEGER` column would turn '5.0' back into 5). Each FK column of
/// a created table takes its parent column's type as the parent has it there (created
/// by the job, or found on the destination), down chains of FKs too; every child value
/// is one of its parent's, so the parent's type holds it. Text columns are left alone
/// (their lengths may differ there).
fn parent_types_for_fk_columns(
    source: &Schema,
    tables: &JobTables,
    out: &mut SchemaReport,
    existing: &Schema,
    dest: Engine,
) {
    let fixed = |ty: &DataType| {
        matches!(
            ty,
            DataType::Boolean
                | DataType::Int { .. }
                | DataType::Decimal { .. }
                | DataType::Float { .. }
                | DataType::Date
                | DataType::Time
                | DataType::Timestamp { .. }
                | DataType::Bits { .. }
        )
    };
    // `int(11)` is `int`; a `datetime` is not a `datetime(6)`.
    let same = |a: &(String, DataType), b: &(String, DataType)| match (&a.1, &b.1) {
        (DataType::Int { .. } | DataType::Boolean, _) => a.1 == b.1,
        _ => a.0.replace(' ', "").eq_ignore_ascii_case(&b.0.replace(' ', "")),
    };
    let parsed = |sql: &str| match dest {
        Engine::Mysql => tether_connect::types::mysql(sql),
        Engine::Postgres => tether_connect::types::postgres(sql),
        Engine::Sqlite => tether_connect::types::sqlite(sql),
    };
    // The source's own types of an FK column pair (SQLite: whether they are spelt apart).
    let source_type = |table: &TableName, column: &str| {
        source
            .table(table)
            .and_then(|t| t.column(column))
            .map(|c| c.normalized_type.clone())
    };
    // A chain of n tables settles in n rounds; a cycle's types settle or stop here.
    for _ in 0..=out.models.len() {
        let mut changed = false;
        for i in 0..out.models.len() {
            let fks = out.models[i].foreign_keys.clone();
            for fk in &fks {
                let parent_name = fk.referenced_name();
                for (child, referenced) in fk.columns.iter().zip(&fk.referenced_columns) {
                    let parent = match out.models.iter().find(|m| m.table_name() == parent_name) {
                        Some(m) => m
                            .column(referenced)
                            .map(|c| fit::created_type(source.engine, dest, m, c)),
                        None => existing
                            .table(&parent_name)
                            .and_then(|t| t.column(referenced))
                            .map(|c| (c.engine_type.clone(), parsed(&c.engine_type))),
                    };
                    let model = &out.models[i];
                    let Some((parent, column)) = parent.zip(model.column(child)) else {
                        continue;
                    };
                    let own = fit::created_type(source.engine, dest, model, column);
                    let shown = out.create[i].clone();
                    let source_child = tables.iter().find(|(name, _)| *name == shown).map(|(_, t)| *t);
                    let why = match dest {
                        Engine::Sqlite => {
                            let apart = source_child
                                .and_then(|t| t.column(child))
                                .zip(
                                    source_child
                                        .and_then(|t| t.foreign_keys.iter().find(|f| f.name == fk.name))
                                        .and_then(|f| source_type(&f.referenced_name(), referenced)),
                                )
                                .is_some_and(|(c, p)| spelt_apart(source.engine, &c.normalized_type, &p));
                            // Already the parent's (a chain's earlier round, or alike there).
                            if !apart || model.extras.column_types.get(child) == Some(&parent.0) {
                                continue;
                            }
                            format!(
                                "the type of {}.{referenced}, which it references: the source compares them by \
                                 value, sqlite compares a foreign key's values as written, so its values are \
                                 written as {}.{referenced} spells them",
                                fk.referenced_table, fk.referenced_table
                            )
                        }
                        _ => {
                            if !fixed(&parent.1) || !fixed(&own.1) || same(&parent, &own) {
                                continue;
                            }
                            format!(
                                "the type of {}.{referenced}, which it references: mysql refuses a foreign key \
                                 between numbers, dates or times of different types, or matches no row through it",
                                fk.referenced_table
                            )
                        }
                    };
                    let declared = source_child
                        .and_then(|t| t.column(child))
                        .map_or_else(|| own.0.clone(), |c| c.engine_type.clone());
                    let model = &mut out.models[i];
                    model.extras.column_types.insert(child.clone(), parent.0.clone());
                    if let Some(c) = model.columns.iter_mut().find(|c| &c.name == child) {
                        c.normalized_type = parent.1.clone();
                    }
                    let name = format!("{shown}.{child}");
                    let item = SchemaItem::new("column", &name, Action::Mapped)
                        .between(declared, parent.0.clone())
                        .because(why);
                    match out.objects.iter_mut().find(|o| o.kind == "column" && o.name == name) {
                        Some(o) => *o = item,
                        None => out.objects.push(item),
                    }
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// MariaDB/MySQL keep foreign key names per database (a second one is errno 121) and
/// of at most 64 characters; PostgreSQL and SQLite keep them per table. A name taken
/// there (by another table's key, or one the destination has) or too long becomes
/// `table_name` (cut to 64; `_2`, `_3` .. if that is taken too), each reported.
fn distinct_fk_names(out: &mut SchemaReport, from: Engine, existing: &Schema) {
    const ROOM: usize = 64;
    let cut = |s: &str, room: usize| -> String { s.chars().take(room).collect() };
    // MariaDB compares these names without case.
    let mut taken: std::collections::HashSet<String> = existing
        .tables
        .iter()
        .flat_map(|t| t.foreign_keys.iter().map(|f| f.name.to_lowercase()))
        .collect();
    for (shown, t) in out.create.iter().zip(out.models.iter_mut()) {
        for fk in &mut t.foreign_keys {
            if fk.name.chars().count() <= ROOM && taken.insert(fk.name.to_lowercase()) {
                continue;
            }
            let base = format!("{}_{}", t.name, fk.name);
            let mut candidate = cut(&base, ROOM);
            let mut n = 2;
            while !taken.insert(candidate.to_lowercase()) {
                candidate = format!("{}_{n}", cut(&base, ROOM - 4));
                n += 1;
            }
            let name = format!("{shown}.{}", fk.name);
            let why = match fk.name.chars().count() > ROOM {
                true => format!("mysql keeps {ROOM} characters of a foreign key's name"),
                false => format!(
                    "foreign key names are per table on {}, per database on mysql, where another table's key has it",
                    from.name()
                ),
            };
            out.objects
                .retain(|i| !(i.kind == "foreign key" && i.name == name && i.action == Action::Created));
            out.objects.push(
                SchemaItem::new("foreign key", name, Action::Mapped)
                    .between(fk.name.clone(), candidate.clone())
                    .because(why),
            );
            fk.name = candidate;
        }
    }
}

impl SchemaItem {
    fn mapped(mut self, from: &str, to: &str) -> Self {
        self.action = Action::Mapped;
        self.between(from, to)
    }
}

/// What a column of a user type (PostgreSQL) is underneath: an enum's labels, or a
/// domain's built-in base type.
enum Underneath {
    Labels(Vec<String>),
    Base(String),
}

fn underneath(source: &Schema, qualified: &str) -> Option<Underneath> {
    let mut name = qualified.to_string();
    // A domain over a domain over an enum: follow `uses` down (bounded: no cycles).
    for _ in 0..16 {
        match &source.objects.user_type(&name)?.kind {
            TypeKind::Enum { labels } => return Some(Underneath::Labels(labels.clone())),
            TypeKind::Composite { .. } | TypeKind::Range { .. } => return None,
            TypeKind::Domain { base, uses, .. } => match uses.first() {
                Some(u) => name = u.clone(),
                None => return Some(Underneath::Base(base.clone())),
            },
        }
    }
    None
}

/// True when a domain on the way down from user type `qualified` is NOT NULL: the
/// column holds no NULL, whatever its own declaration says.
fn domain_not_null(source: &Schema, qualified: &str) -> bool {
    let mut name = qualified.to_string();
    for _ in 0..16 {
        match source.objects.user_type(&name).map(|t| &t.kind) {
            Some(TypeKind::Domain { not_null: true, .. }) => return true,
            Some(TypeKind::Domain { uses, .. }) => match uses.first() {
                Some(u) => name = u.clone(),
                None => return false,
            },
            _ => return false,
        }
    }
    false
}

/// An enum's labels: a PostgreSQL enum type's (or a domain's over one), or those of a
/// MariaDB `enum('a','b')`.
fn enum_labels(source: &Schema, t: &Table, c: &Column) -> Option<Vec<String>> {
    if let Some(ty) = t.extras.user_types.get(&c.name) {
        if c.engine_type.ends_with("[]") {
            return None;
        }
        return match underneath(source, ty) {
            Some(Underneath::Labels(labels)) => Some(labels),
            _ => None,
        };
    }
    let inner = c.engine_type.strip_prefix("enum(")?.strip_suffix(')')?;
    Some(quoted_labels(inner))
}

/// The labels of a MariaDB `set('a','b')` column's type, or None.
fn set_labels(c: &Column) -> Option<Vec<String>> {
    let inner = c.engine_type.strip_prefix("set(")?.strip_suffix(')')?;
    Some(quoted_labels(inner))
}

/// The labels of `'a','b''c','d\\e'` as MariaDB's column type writes them: `a`,
/// `b'c`, `d\e` (a quote doubled, a backslash and the control characters escaped).
fn quoted_labels(inner: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut rest = inner;
    while let Some(start) = rest.find('\'') {
        let body = &rest[start + 1..];
        let mut label = String::new();
        let mut chars = body.char_indices().peekable();
        let mut end = body.len();
        while let Some((i, ch)) = chars.next() {
            if ch == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    chars.next();
                    label.push('\'');
                    continue;
                }
                end = i + 1;
                break;
            }
            if ch == '\\' {
                if let Some((_, escaped)) = chars.next() {
                    label.push(match escaped {
                        '0' => '\0',
                        'b' => '\u{8}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'Z' => '\u{1a}',
                        other => other,
                    });
                }
                continue;
            }
            label.push(ch);
        }
        labels.push(label);
        rest = &body[end..];
    }
    labels
}

/// The table to create on `dest` for source table `t`: same columns, keys and FKs, with
/// names mapped. Same engine: every object as the source has it. Another engine: the
/// closest equivalents (enums, defaults, plain indexes), each recorded in `report`.
pub fn destination_model(
    source: &Schema,
    tables: &JobTables,
    t: &Table,
    dest: Engine,
    report: &mut Vec<SchemaItem>,
) -> Table {
    let name = destination_name(source, &t.table_name(), dest);
    let shown = source.display_name(&t.table_name());
    let from_engine = source.engine;
    let same_engine = from_engine == dest;
    let mut out = t.clone();
    out.schema = name.schema;
    out.name = name.name;
    out.has_children = false;
    out.inherits = t
        .inherits
        .iter()
        .filter(|p| tables.iter().any(|(_, j)| &j.table_name() == *p))
        .map(|p| destination_name(source, p, dest))
        .collect();
    out.foreign_keys
        .retain(|f| !f.is_virtual && source.table(&f.referenced_name()).is_some());
    if !same_engine {
        postgres_fks_elsewhere(&shown, dest, &mut out, report);
    }
    let d = tether_connect::dialect_of(dest);
    // Keys into a table the source database lacks (MariaDB/MySQL: one of another
    // database of the server), with that table as messages name it.
    let outside: Vec<(&tether_schema::ForeignKey, String)> = t
        .foreign_keys
        .iter()
        .filter(|f| !f.is_virtual && source.table(&f.referenced_name()).is_none())
        .map(|f| {
            let parent = f.referenced_name();
            let parent = match parent.schema {
                Some(s) => format!("{s}.{}", parent.name),
                None => parent.name,
            };
            (f, parent)
        })
        .collect();
    report.push(if same_engine {
        SchemaItem::new("table", &shown, Action::Created)
    } else {
        SchemaItem::new("table", &shown, Action::Mapped).between(from_engine.name(), dest.name())
    });
    if same_engine {
        // Bare unique indexes are created from their own definitions (with their
        // method, expressions and predicate), not as UNIQUE constraints.
        let indexes = &t.extras.indexes;
        out.unique_keys
            .retain(|u| u.constraint || !indexes.iter().any(|i| i.name == u.name));
        // A SQLite definition naming a parent the source lacks would make every row
        // with a value there fail on the copy (its FKs are enforced): the model, which
        // leaves such a key out, is created instead.
        // So does one whose parent columns are no key there ("foreign key mismatch").
        if dest == Engine::Sqlite {
            skip_fks_to_non_keys(source, &shown, dest, &mut out, report);
        }
        let real_fks = t.foreign_keys.iter().filter(|f| !f.is_virtual).count();
        if dest == Engine::Sqlite && out.foreign_keys.len() < real_fks {
            out.extras.definition = None;
        }
        skip_triggers_naming_left_out(source, tables, &shown, &mut out, report);
        if dest == Engine::Mysql {
            skip_other_databases_sequences(&shown, &mut out, report);
        }
        same_engine_items(from_engine, &shown, &out, report);
    } else {
        cross_engine(source, t, &shown, dest, d, &mut out, report);
    }
    let verbatim = same_engine && out.extras.definition.is_some();
    for (fk, parent) in outside {
        let name = format!("{shown}.{}", fk.name);
        report.push(match verbatim {
            // The source's own definition is created as it is, keys into another
            // database of the server included (`REFERENCES other.parent`): the copy is
            // tied to that table on the destination's server, and its actions reach
            // the copy's rows.
            true => SchemaItem::new("foreign key", name, Action::Created).because(format!(
                "it references {parent} ({}), a table of another database: the copy's key references {parent} on \
                 the destination's server, ON DELETE {} ON UPDATE {}, as the source's SHOW CREATE TABLE has it",
                fk.referenced_columns.join(", "),
                fk.on_delete.as_sql(),
                fk.on_update.as_sql()
            )),
            false => SchemaItem::new("foreign key", name, Action::Skipped).because(format!(
                "it references {parent}, which is not a table of the source database; the copy has no such table"
            )),
        });
    }
    if !out.primary_key.is_empty() {
        report.push(SchemaItem::new("primary key", &shown, Action::Created));
    }
    // (A partial one is an index: created as the source's, or reported skipped.)
    for u in out.unique_keys.iter().filter(|u| u.predicate.is_none()) {
        let name = format!("{shown}.{}", u.name);
        // (Already said: a key the destination holds otherwise, `keys.rs`.)
        if report.iter().any(|i| i.kind == "unique key" && i.name == name) {
            continue;
        }
        report.push(match (same_engine, nulls_not_distinct(t, &u.name)) {
            (false, true) => SchemaItem::new("unique key", name, Action::Mapped)
                .between("UNIQUE NULLS NOT DISTINCT", "UNIQUE (NULLs distinct)")
                .because(format!(
                    "{} has no NULLS NOT DISTINCT: the copy takes a second row with NULL in {}, which the source \
                     refuses",
                    dest.name(),
                    u.columns.join(", ")
                )),
            _ => SchemaItem::new("unique key", name, Action::Created),
        });
    }
    if !same_engine {
        skip_fks_to_non_keys(source, &shown, dest, &mut out, report);
    }
    let columns = out.columns.clone();
    for fk in &mut out.foreign_keys {
        let parent = destination_name(source, &fk.referenced_name(), dest);
        fk.referenced_schema = parent.schema;
        fk.referenced_table = parent.name;
        // Actions the destination cannot create become NO ACTION.
        let not_null = fk
            .columns
            .iter()
            .any(|c| columns.iter().any(|x| &x.name == c && !x.nullable));
        // Only PostgreSQL sets some of an FK's columns (`SET NULL (col)`); elsewhere the
        // action would set all of them.
        let some_columns = (dest != Engine::Postgres
            && !fk.delete_set_columns.is_empty()
            && fk.delete_set_columns.len() < fk.columns.len())
        .then(|| {
            format!(
                "only PostgreSQL sets some of a foreign key's columns ({})",
                fk.delete_set_columns.join(", ")
            )
        });
        for (what, action) in [("ON DELETE", &mut fk.on_delete), ("ON UPDATE", &mut fk.on_update)] {
            let why = match what {
                "ON DELETE" => some_columns.clone(),
                _ => None,
            };
            if let Some(why) = why.or_else(|| d.refuses_fk_action(*action, not_null)) {
                report.push(
                    SchemaItem::new("foreign key", format!("{shown}.{}", fk.name), Action::Mapped)
                        .between(format!("{what} {}", action.as_sql()), format!("{what} NO ACTION"))
                        .because(why),
                );
                *action = FkAction::NoAction;
            }
        }
    }
    for fk in &out.foreign_keys {
        let name = format!("{shown}.{}", fk.name);
        if !report.iter().any(|i| i.kind == "foreign key" && i.name == name) {
            report.push(SchemaItem::new("foreign key", name, Action::Created));
        }
    }
    // MariaDB/MySQL check a foreign key at each statement (the dialect writes no
    // DEFERRABLE there).
    for fk in out
        .foreign_keys
        .iter_mut()
        .filter(|f| f.deferrable && dest == Engine::Mysql)
    {
        let how = match fk.initially_deferred {
            true => "DEFERRABLE INITIALLY DEFERRED",
            false => "DEFERRABLE",
        };
        report.push(
            SchemaItem::new(
                "foreign key option",
                format!("{shown}.{} ({how})", fk.name),
                Action::Skipped,
            )
            .because(format!(
                "{} checks a foreign key at each statement: a transaction writing a child row before its \
                     parent fails there",
                dest.name()
            )),
        );
        fk.deferrable = false;
        fk.initially_deferred = false;
    }
    out
}

/// PostgreSQL foreign keys on another engine: one declared on a partition would hold for
/// every row of the copy's one table (left out, reported); `MATCH FULL` of several
/// columns becomes MATCH SIMPLE and a CHECK that the columns are all NULL or none is;
/// `NOT VALID` is not there (reported: a row without a parent stops the copy unless
/// the checks are off for the load).
fn postgres_fks_elsewhere(shown: &str, dest: Engine, out: &mut Table, report: &mut Vec<SchemaItem>) {
    out.foreign_keys.retain(|fk| {
        let Some(p) = &fk.partition else { return true };
        report.push(
            SchemaItem::new("foreign key", format!("{shown}.{}", fk.name), Action::Skipped).because(format!(
                "it is declared on partition {} only; {} has no declarative partitions (the copy is one table, \
                 where it would refuse the other partitions' rows): not enforced on the copy",
                p.name,
                dest.name()
            )),
        );
        false
    });
    for fk in out.foreign_keys.iter().filter(|f| f.match_full && f.columns.len() > 1) {
        report.push(
            SchemaItem::new("foreign key", format!("{shown}.{}", fk.name), Action::Mapped)
                .between("MATCH FULL", "MATCH SIMPLE + CHECK")
                .because(format!(
                    "{} matches keys SIMPLE only: CHECK {}_match_full keeps ({}) all NULL or none NULL",
                    dest.name(),
                    fk.name,
                    fk.columns.join(", ")
                )),
        );
    }
    for fk in out.foreign_keys.iter().filter(|f| f.not_valid) {
        report.push(
            SchemaItem::new(
                "foreign key option",
                format!("{shown}.{} (NOT VALID)", fk.name),
                Action::Skipped,
            )
            .because(format!(
                "{} has no NOT VALID foreign key: with the checks on, a source row without a parent stops the \
                 copy; checks = \"verify\" loads it and the verification reports such rows without failing",
                dest.name()
            )),
        );
    }
}

/// True when source table `t`'s unique key (or bare unique index) `name` is PostgreSQL's
/// `NULLS NOT DISTINCT` over a nullable column: a NULL there counts once.
/// A MariaDB column default drawing from a sequence of another database of the server
/// (`DEFAULT nextval(`other`.`s`)`; the reader writes the source database's own
/// sequences unqualified, created with the copy) is left out of the copy's definition,
/// and reported skipped: kept, the copy would draw from that database's sequence, which
/// the source's table shares, so every insert into the copy would take one of its
/// values; Tether writes no object outside the destination's database.
fn skip_other_databases_sequences(shown: &str, out: &mut Table, report: &mut Vec<SchemaItem>) {
    let Some(definition) = out.extras.definition.clone() else {
        return;
    };
    let mut lines: Vec<String> = Vec::new();
    for line in definition.split('\n') {
        let Some((column, kept, default, sequence)) = other_database_default(line) else {
            lines.push(line.to_string());
            continue;
        };
        let nullable = out.columns.iter().find(|c| c.name == column).is_none_or(|c| c.nullable);
        if let Some(c) = out.columns.iter_mut().find(|c| c.name == column) {
            c.default = None;
        }
        report.push(
            SchemaItem::new("default", format!("{shown}.{column}"), Action::Skipped).because(format!(
                "`{default}` draws from sequence {sequence} of another database: the copy would share that sequence \
                 with the source's table (every insert into either moves it for the other), and Tether writes \
                 nothing outside the destination's database; the column there has no default{}",
                match nullable {
                    true => "",
                    false => ", so an INSERT must give it",
                }
            )),
        );
        lines.push(kept);
    }
    out.extras.definition = Some(lines.join("\n"));
}

/// A MariaDB destination table that was there whose default draws from a sequence of
/// another database (`DEFAULT nextval(`src`.`s`)`, as a table restored from a dump of
/// the source has it; the reader writes the destination's own sequences unqualified):
/// reported, as the sync does not move that sequence past the keys copied
/// (`load.rs`, `mariadb_sequences`): Tether writes nothing outside the destination's
/// database.
fn other_databases_sequences_there(shown: &str, there: &Table, report: &mut Vec<SchemaItem>) {
    let Some(definition) = there.extras.definition.as_deref() else {
        return;
    };
    for (column, _, default, sequence) in definition.split('\n').filter_map(other_database_default) {
        report.push(
            SchemaItem::new("sequence", format!("{shown}.{column}"), Action::Skipped).because(format!(
                "the destination's {shown}.{column} draws from sequence {sequence} of another database \
                 (`{default}`): Tether writes nothing outside the destination's database, so that sequence is \
                 not moved past the keys copied and may hand out one of them; give the column a sequence of the \
                 destination's database"
            )),
        );
    }
}

/// A column line of SHOW CREATE TABLE whose DEFAULT calls a sequence function on a
/// database-qualified sequence: the column, the line without that DEFAULT, the default
/// and the sequence (`db.s`).
fn other_database_default(line: &str) -> Option<(String, String, String, String)> {
    let body = line.trim_start().strip_prefix('`')?;
    let mut column = String::new();
    let mut chars = body.char_indices();
    while let Some((i, ch)) = chars.next() {
        if ch == '`' {
            if body[i + 1..].starts_with('`') {
                column.push('`');
                chars.next();
                continue;
            }
            break;
        }
        column.push(ch);
    }
    let at = line.find(" DEFAULT ")?;
    let call = &line[at + " DEFAULT ".len()..];
    let lower = call.to_ascii_lowercase();
    let function = ["nextval(", "lastval(", "setval("]
        .into_iter()
        .find(|f| lower.starts_with(f))?;
    // The call's end: its closing parenthesis outside quoted names.
    let mut quoted = false;
    let mut end = None;
    for (i, ch) in call.char_indices().skip(function.len()) {
        match ch {
            '`' => quoted = !quoted,
            ')' if !quoted => {
                end = Some(i + 1);
                break;
            }
            _ => {}
        }
    }
    let call = &call[..end?];
    let named = format!("nextval({}", &call[function.len()..]);
    let (Some(db), name) = tether_connect::load::mariadb_sequence_named(&named)? else {
        return None;
    };
    let kept = format!("{}{}", &line[..at], &line[at + " DEFAULT ".len() + call.len()..]);
    Some((column, kept, call.to_string(), format!("{db}.{name}")))
}

fn nulls_not_distinct(t: &Table, name: &str) -> bool {
    const CLAUSE: &str = "NULLS NOT DISTINCT";
    let x = &t.extras;
    let declared = x.keys.iter().any(|k| k.name == name && k.definition.contains(CLAUSE))
        || x.indexes
            .iter()
            .any(|i| i.name == name && i.definition.contains(CLAUSE));
    let nullable = t
        .unique_keys
        .iter()
        .filter(|u| u.name == name)
        .any(|u| u.columns.iter().any(|c| t.column(c).is_none_or(|c| c.nullable)));
    declared && nullable
}

/// PostgreSQL and SQLite take a foreign key only onto the parent's primary key or a
/// unique key of exactly its columns; InnoDB also onto the first columns of an index
/// (a MariaDB source may have one; a SQLite source may have neither: SQLite takes the
/// declaration and refuses every write to the child). Such a key is left out of the
/// model (reported skipped); the verification still checks the copy's rows against it.
fn skip_fks_to_non_keys(source: &Schema, shown: &str, dest: Engine, out: &mut Table, report: &mut Vec<SchemaItem>) {
    if dest == Engine::Mysql {
        in_index_order(source, out);
    }
    out.foreign_keys.retain(|fk| {
        let parent_name = TableName {
            schema: fk.referenced_schema.clone(),
            name: fk.referenced_table.clone(),
        };
        // (Names are the source's here: this runs before the FK loop maps them.)
        let Some(parent) = source.table(&parent_name) else {
            return true;
        };
        let cols = &fk.referenced_columns;
        let same = |key: &[String]| key.len() == cols.len() && cols.iter().all(|c| key.contains(c));
        let keyed = cols.is_empty()
            || (!parent.primary_key.is_empty() && same(&parent.primary_key))
            || parent
                .unique_keys
                .iter()
                .any(|u| u.predicate.is_none() && same(&u.columns))
            || (dest == Engine::Mysql && indexed(parent, cols));
        if !keyed {
            report.push(
                SchemaItem::new("foreign key", format!("{shown}.{}", fk.name), Action::Skipped).because(format!(
                    "it references {} ({}), which is no primary or unique key{} of that table: {} refuses such a \
                     foreign key; the verification still checks the copy's rows against it",
                    source.display_name(&parent_name),
                    cols.join(", "),
                    if dest == Engine::Mysql {
                        " nor the first columns of an index"
                    } else {
                        ""
                    },
                    dest.name()
                )),
            );
        }
        keyed
    });
}

/// Lists a composite FK's column pairs in the order of the parent key or index whose
/// first columns they are, when they are so only in another order: InnoDB needs an index
/// of the parent starting with the referenced columns *in the FK's order* ("errno: 150
/// Foreign key constraint is incorrectly formed"), while PostgreSQL and SQLite take
/// `FOREIGN KEY (b, a) REFERENCES p (y, x)` over `UNIQUE (x, y)`. The pairs are the
/// same, so the copy's key holds the same rows.
fn in_index_order(source: &Schema, out: &mut Table) {
    for fk in out.foreign_keys.iter_mut().filter(|fk| fk.referenced_columns.len() > 1) {
        let parent_name = TableName {
            schema: fk.referenced_schema.clone(),
            name: fk.referenced_table.clone(),
        };
        let Some(parent) = source.table(&parent_name) else {
            continue;
        };
        let cols = &fk.referenced_columns;
        if indexed(parent, cols) {
            continue;
        }
        let keys = std::iter::once(&parent.primary_key)
            .chain(
                parent
                    .unique_keys
                    .iter()
                    .filter(|u| u.predicate.is_none())
                    .map(|u| &u.columns),
            )
            .chain(
                parent
                    .extras
                    .indexes
                    .iter()
                    .filter(|i| i.predicate.is_none())
                    .map(|i| &i.columns),
            );
        let lead = keys
            .filter(|k| k.len() >= cols.len())
            .map(|k| &k[..cols.len()])
            .find(|lead| lead.iter().all(|c| cols.contains(c)) && cols.iter().all(|c| lead.contains(c)));
        let Some(lead) = lead else {
            continue;
        };
        let pairs: Vec<(String, String)> = lead
            .iter()
            .filter_map(|r| {
                let i = cols.iter().position(|c| c == r)?;
                Some((fk.columns.get(i)?.clone(), r.clone()))
            })
            .collect();
        if pairs.len() == cols.len() {
            (fk.columns, fk.referenced_columns) = pairs.into_iter().unzip();
        }
    }
}

/// Whether `cols` are the first columns of one of `parent`'s keys or whole-table
/// indexes, in order: what InnoDB needs under the parent side of a foreign key.
fn indexed(parent: &Table, cols: &[String]) -> bool {
    let starts = |key: &[String]| key.len() >= cols.len() && key.iter().zip(cols).all(|(k, c)| k == c);
    starts(&parent.primary_key)
        || parent
            .unique_keys
            .iter()
            .any(|u| u.predicate.is_none() && starts(&u.columns))
        || parent
            .extras
            .indexes
            .iter()
            .any(|i| i.predicate.is_none() && starts(&i.columns))
}

/// Why a view's trigger or rule (`definition`, and the function a trigger runs) is
/// left out of the copy: it, or a function it runs or that one calls, names a table or
/// view the job does not copy, so every statement through the view would fail there
/// ("relation does not exist"), as with a table's trigger
/// ([`skip_triggers_naming_left_out`]).
fn view_object_left_out(
    source: &Schema,
    job: &[TableName],
    definition: &str,
    function: Option<&str>,
) -> Option<String> {
    let functions = source.objects.functions_with_callees(function);
    std::iter::once((None, definition))
        .chain(functions.iter().map(|f| (Some(f.name.as_str()), f.definition.as_str())))
        .find_map(|(by, body)| {
            left_out_named_in(source, job, body).map(|table| {
                let by = by
                    .map(|f| format!(" (in function {f}, which it runs)"))
                    .unwrap_or_default();
                format!(
                    "it names {table}{by}, which the job does not copy: every statement through the view would fail \
                     on the copy"
                )
            })
        })
}

/// `v` as the copy creates it: without the triggers and rules that name a table or view
/// the job leaves out ([`view_object_left_out`]; the plan says each).
pub(crate) fn view_as_copied(source: &Schema, job: &[TableName], v: &tether_schema::View) -> tether_schema::View {
    let mut v = v.clone();
    v.triggers
        .retain(|t| view_object_left_out(source, job, &t.definition, t.function.as_deref()).is_none());
    v.rules
        .retain(|r| view_object_left_out(source, job, &r.definition, None).is_none());
    v
}

/// The lines of a view's triggers (INSTEAD OF) and rules: created with it, or lost with
/// it, each said (on PostgreSQL a simple view without them takes the statement itself:
/// a DELETE through it deletes the base rows).
fn view_triggers_and_rules(
    source: &Schema,
    dest: Engine,
    v: &tether_schema::View,
    (created, same_engine): (bool, bool),
    job: &[TableName],
    report: &mut Vec<SchemaItem>,
) {
    let shown = source.display_name(&v.table_name());
    let lost = match (created, same_engine) {
        (true, _) => None,
        (false, true) => Some("its view is not created (see the view's line)".to_string()),
        (false, false) => Some(format!(
            "written in {}'s SQL; not translated, nor is its view{}",
            source.engine.name(),
            match dest {
                Engine::Mysql => " (MariaDB/MySQL has no INSTEAD OF trigger or rule)",
                _ => "",
            }
        )),
    };
    let kinds = v
        .triggers
        .iter()
        .map(|t| ("trigger", &t.name, &t.definition, t.function.as_deref()))
        .chain(v.rules.iter().map(|r| ("rule", &r.name, &r.definition, None)));
    for (kind, name, definition, function) in kinds {
        let item = SchemaItem::new(kind, format!("{shown}.{name} (on view)"), Action::Created);
        let why = lost
            .clone()
            .or_else(|| view_object_left_out(source, job, definition, function));
        report.push(match why {
            None => item,
            Some(why) => SchemaItem::new(kind, format!("{shown}.{name} (on view)"), Action::Skipped).because(why),
        });
    }
}

/// Same engine: a trigger whose body (or the function it runs, or one that calls)
/// names a table or view the job does not copy would make every statement firing it
/// fail on the copy ("no such table"): left out of the model (reported skipped), with
/// the functions only such triggers use. So is a rule naming one (PostgreSQL).
fn skip_triggers_naming_left_out(
    source: &Schema,
    tables: &JobTables,
    shown: &str,
    out: &mut Table,
    report: &mut Vec<SchemaItem>,
) {
    // A rule naming such a table could not even be created there (42P01).
    for r in std::mem::take(&mut out.extras.rules) {
        match left_out_named(source, tables, &r.definition) {
            None => out.extras.rules.push(r),
            Some(table) => report.push(
                SchemaItem::new("rule", format!("{shown}.{}", r.name), Action::Skipped).because(format!(
                    "it names {table}, which the job does not copy: it cannot be created on the copy, where the \
                     statements it rewrites act plainly"
                )),
            ),
        }
    }
    let x = &out.extras;
    // The functions a trigger runs: PostgreSQL says which; a MariaDB trigger calls
    // routines by name in its body.
    let runs = |tr: &Trigger| -> Vec<String> {
        match &tr.function {
            Some(f) => vec![f.clone()],
            None => {
                let body = tr.definition.to_ascii_lowercase();
                x.functions
                    .iter()
                    .filter(|f| body.contains(&f.to_ascii_lowercase()))
                    .cloned()
                    .collect()
            }
        }
    };
    let mut kept = Vec::new();
    let mut dropped: Vec<Vec<String>> = Vec::new();
    for tr in &x.triggers {
        let functions = runs(tr);
        let bodies = std::iter::once((None, tr.definition.as_str())).chain(
            source
                .objects
                .functions_with_callees(functions.iter().map(String::as_str))
                .into_iter()
                .map(|f| (Some(f.name.as_str()), f.definition.as_str())),
        );
        let named = bodies
            .into_iter()
            .find_map(|(function, body)| left_out_named(source, tables, body).map(|t| (function, t)));
        match named {
            None => kept.push(tr.clone()),
            Some((function, table)) => {
                let by = function
                    .map(|f| format!(" (in function {f}, which it runs)"))
                    .unwrap_or_default();
                report.push(
                    SchemaItem::new("trigger", format!("{shown}.{}", tr.name), Action::Skipped).because(format!(
                        "it names {table}{by}, which the job does not copy: every statement firing it would fail \
                         on the copy"
                    )),
                );
                dropped.push(functions);
            }
        }
    }
    if dropped.is_empty() {
        return;
    }
    // A view the copy creates may call it too: created for the view then (said with
    // the view's line).
    let job: Vec<TableName> = tables.iter().map(|(_, t)| t.table_name()).collect();
    let views = source.objects.views_over(&job);
    let by_views = source
        .objects
        .functions_with_callees(views.iter().flat_map(|v| v.functions.iter().map(String::as_str)));
    let still_run: Vec<String> = kept.iter().flat_map(&runs).collect();
    let unused: Vec<String> = dropped
        .into_iter()
        .flatten()
        .filter(|f| !still_run.contains(f))
        .collect();
    let for_views = |f: &String| by_views.iter().any(|v| &v.name == f);
    for f in out
        .extras
        .functions
        .iter()
        .filter(|f| unused.contains(f) && !for_views(f))
    {
        report.push(
            SchemaItem::new("function", format!("{f} (used by {shown})"), Action::Skipped)
                .because("only triggers left out here run it"),
        );
    }
    out.extras.triggers = kept;
    out.extras.functions.retain(|f| !unused.contains(f));
}

/// The table or view of the source that the job leaves out (as shown) which `body`
/// names where SQL names tables ([`tether_schema::body::tables_named`]), if any.
fn left_out_named(source: &Schema, tables: &JobTables, body: &str) -> Option<String> {
    let job: Vec<TableName> = tables.iter().map(|(_, t)| t.table_name()).collect();
    left_out_named_in(source, &job, body)
}

/// [`left_out_named`] for the job's tables by name.
fn left_out_named_in(source: &Schema, job: &[TableName], body: &str) -> Option<String> {
    let job = job.to_vec();
    let views: Vec<TableName> = source
        .objects
        .views_over(&job)
        .into_iter()
        .map(|v| v.table_name())
        .collect();
    let copied = |n: &TableName| job.contains(n) || views.contains(n);
    let left_out: Vec<TableName> = source
        .tables
        .iter()
        .map(|t| t.table_name())
        .chain(source.objects.views.iter().map(|v| v.table_name()))
        .filter(|n| !copied(n))
        .collect();
    let in_default = |n: &TableName| n.schema.is_none() || n.schema == source.default_schema;
    for parts in tether_schema::body::tables_named(body, source.engine == Engine::Mysql) {
        let Some((name, qualifiers)) = parts.split_last() else {
            continue;
        };
        let qualifier = qualifiers.last();
        // An unqualified name is the copied table of that name where there is one.
        if qualifier.is_none()
            && job
                .iter()
                .chain(&views)
                .any(|n| n.name.eq_ignore_ascii_case(name) && in_default(n))
        {
            continue;
        }
        let found = left_out.iter().find(|t| {
            t.name.eq_ignore_ascii_case(name)
                && match (qualifier, &t.schema, source.engine) {
                    // PostgreSQL: `schema.table`; elsewhere a qualifier is a database.
                    (Some(q), Some(s), Engine::Postgres) => q.eq_ignore_ascii_case(s),
                    _ => true,
                }
        });
        if let Some(t) = found {
            return Some(source.display_name(t));
        }
    }
    None
}

/// Which columns [`crate::read_destinations`] measures: unbounded text of tables a MariaDB/MySQL
/// destination gets from another engine (a key's too: it needs a length there).
pub fn unbounded_text(t: &Table) -> Vec<String> {
    t.columns
        .iter()
        .filter(|c| {
            matches!(
                c.normalized_type,
                DataType::Text | DataType::Varchar { length: None } | DataType::Char { length: None }
            )
        })
        .map(|c| c.name.clone())
        .collect()
}
