//! Transformer outputs against the destination columns they reach: an integer
//! transformer (`hash`'s permutation, `int_range`) writes a range of values, and every
//! column that range lands in (the transformed column and every FK column inheriting
//! it, on every destination, as created or as found there) must hold it. The default
//! range of `hash` (the source type's whole range) is narrowed to what all of them hold
//! (a MariaDB `bigint unsigned` key into a PostgreSQL or SQLite `bigint`: [0, 2^63 - 1]);
//! a range the job set that does not fit is a plan error naming the destination column.
//! Text transformers that may cut their output (`truncate = true`, the default) get the
//! narrowest destination column's length as `max_length`; those that may not, an error.

use std::collections::BTreeMap;

use tether_connect::Engine;
use tether_schema::{Column, DataType, Schema, Table, TableName};

use super::{destination_name, Destinations};
use crate::error::SyncError;
use crate::plan::Plan;

mod enum_values;

/// The values an integer column of `ty` holds on `engine` (None: not an integer type
/// with a known bound). SQLite's integer columns all hold 64-bit signed values.
fn holds(engine: Engine, ty: &DataType) -> Option<(i128, i128)> {
    match ty {
        DataType::Int { .. } if engine == Engine::Sqlite => Some((i64::MIN as i128, i64::MAX as i128)),
        DataType::Int { bytes, unsigned } => {
            let bits = u32::from((*bytes).clamp(1, 8)) * 8;
            Some(if *unsigned {
                (0, (1i128 << bits) - 1)
            } else {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            })
        }
        DataType::Decimal {
            precision: Some(p),
            scale: None | Some(0),
        } if (1..=38).contains(p) => {
            let top = 10i128.pow(*p) - 1;
            Some((-top, top))
        }
        _ => None,
    }
}

/// A type as `engine` reads its own type names.
fn parsed(engine: Engine, sql: &str) -> DataType {
    match engine {
        Engine::Postgres => tether_connect::types::postgres(sql),
        Engine::Mysql => tether_connect::types::mysql(sql),
        Engine::Sqlite => tether_connect::types::sqlite(sql),
    }
}

/// The type column `c` of the created table `model` gets on `dest` (as `CREATE TABLE`
/// writes it: the model's own type there, the source's on the same engine, else the
/// engine's type for the neutral one).
pub(super) fn created_type(source: Engine, dest: Engine, model: &Table, c: &Column) -> (String, DataType) {
    if let Some(sql) = model.extras.column_types.get(&c.name) {
        return (sql.clone(), parsed(dest, sql));
    }
    if source == dest {
        return (c.engine_type.clone(), c.normalized_type.clone());
    }
    let keyed = model.primary_key.contains(&c.name)
        || model.unique_keys.iter().any(|u| u.columns.contains(&c.name))
        || model.foreign_keys.iter().any(|f| f.columns.contains(&c.name));
    let sql = tether_connect::dialect_of(dest).column_type(&c.normalized_type, keyed);
    let ty = parsed(dest, &sql);
    (sql, ty)
}

/// The range an integer transformer writes, and whether it is `hash`'s default (the
/// source type's whole range, which may be narrowed).
fn written_range(kind: &str, options: &toml::Table, root: &Column) -> Option<((i128, i128), bool)> {
    let base = kind.strip_prefix("generate_").unwrap_or(kind);
    let int = |k: &str| options.get(k).and_then(toml::Value::as_integer).map(i128::from);
    match base {
        "hash" => {
            let (lo, hi) = holds(Engine::Mysql, &root.normalized_type)?;
            let range = (int("min").unwrap_or(lo), int("max").unwrap_or(hi));
            Some((range, range == (lo, hi)))
        }
        "int_range" if matches!(root.normalized_type, DataType::Int { .. }) => {
            Some(((int("min")?, int("max")?), false))
        }
        _ => None,
    }
}

/// A destination column a transformer's values land in.
pub(super) struct Landing {
    /// `destination #1 url: column t.c is <type> there`
    pub(super) label: String,
    pub(super) engine: Engine,
    /// The type as the destination writes it (`varchar(20)`, `citext`).
    sql: String,
    ty: DataType,
    /// Holds NULL.
    nullable: bool,
    /// Written by the load (not a generated column there).
    pub(super) written: bool,
}

/// Every destination column the values of `columns` land in (tables created by the
/// job as the plan models them, tables already there as found).
pub(super) fn landings(
    dests: &Destinations,
    plan: &Plan,
    source: &Schema,
    columns: &[(TableName, String)],
) -> Vec<Landing> {
    let mut out = Vec::new();
    for (i, (found, dp)) in dests.found.iter().zip(&plan.destinations).enumerate() {
        let Ok((engine, existing)) = found else { continue };
        for (table, column) in columns {
            let want = destination_name(source, table, *engine);
            let model = dp
                .schema
                .as_ref()
                .and_then(|r| r.models.iter().find(|m| m.table_name() == want));
            let ((sql, ty), nullable, written) = match (model, existing.table(&want)) {
                (Some(m), _) => match m.column(column) {
                    Some(mc) => (
                        created_type(source.engine, *engine, m, mc),
                        mc.nullable,
                        mc.generated.is_none(),
                    ),
                    None => continue,
                },
                (None, Some(e)) => match e.column(column) {
                    Some(ec) => (
                        (ec.engine_type.clone(), ec.normalized_type.clone()),
                        ec.nullable,
                        ec.generated.is_none(),
                    ),
                    None => continue,
                },
                (None, None) => continue,
            };
            out.push(Landing {
                label: format!(
                    "destination #{} {}: column {}.{column} is {sql} there",
                    i + 1,
                    dp.url,
                    source.display_name(table)
                ),
                engine: *engine,
                sql,
                ty,
                nullable,
                written,
            });
        }
    }
    out
}

/// Narrows the default range of integer `hash` transformers, and the `max_length` of
/// text transformers that truncate, to what every destination column they reach holds;
/// refuses a range set in the job, or text that may not be cut (`truncate = false`),
/// that one does not hold.
pub fn fit_transforms(dests: &Destinations, plan: &mut Plan, source: &Schema) -> Result<(), SyncError> {
    refuse_null_where_not_null(dests, plan, source)?;
    super::computed_there::refuse(dests, plan, source)?;
    enum_values::refuse_non_labels(plan, source)?;
    // Root column -> the columns its transformer writes (the root's and its inheritors').
    let mut groups: BTreeMap<(TableName, String), Vec<(TableName, String)>> = BTreeMap::new();
    for tp in &plan.tables {
        for ct in &tp.transforms {
            groups
                .entry(ct.root.clone())
                .or_default()
                .push((tp.table.table_name(), ct.column.clone()));
        }
    }
    for (root, columns) in groups {
        let Some(root_column) = source.table(&root.0).and_then(|t| t.column(&root.1)) else {
            continue;
        };
        let Some(spec) = plan
            .tables
            .iter()
            .flat_map(|tp| &tp.transforms)
            .find(|ct| ct.root == root)
            .map(|ct| ct.spec.clone())
        else {
            continue;
        };
        let shown = format!("{}.{}", source.display_name(&root.0), root.1);
        let refuse = |writes: String, there: &str| {
            SyncError::Plan(format!(
                "transformer `{spec}` on {shown} writes {writes}, but {there}; set {} in [transform.{}] {} \
                 to what that column holds",
                if writes.starts_with("values in") {
                    "`min`/`max`"
                } else {
                    "`max_length` (or truncate = true)"
                },
                source.display_name(&root.0),
                root.1,
            ))
        };
        let landed = landings(dests, plan, source, &columns);
        let mut narrowed = spec.clone();
        let mut why = Vec::new();
        if let Some(((min, max), default)) = written_range(&spec.kind, &spec.options, root_column) {
            let (mut lo, mut hi) = (min, max);
            let mut first: Option<String> = None;
            for l in &landed {
                let Some((a, b)) = holds(l.engine, &l.ty) else { continue };
                if a > lo || b < hi {
                    lo = lo.max(a);
                    hi = hi.min(b);
                    first.get_or_insert_with(|| format!("{}, which holds [{a}, {b}]", l.label));
                }
            }
            if let Some(there) = first {
                let fits_toml = i64::try_from(lo).is_ok() && i64::try_from(hi).is_ok();
                if !default || lo > hi || !fits_toml {
                    return Err(refuse(format!("values in [{min}, {max}]"), &there));
                }
                narrowed.options.insert("min".into(), toml::Value::Integer(lo as i64));
                narrowed.options.insert("max".into(), toml::Value::Integer(hi as i64));
                why.push(format!("range narrowed to [{lo}, {hi}]: {there}"));
            }
        }
        if let Some(max_length) = spec.options.get("max_length").and_then(toml::Value::as_integer) {
            let truncate = spec
                .options
                .get("truncate")
                .and_then(toml::Value::as_bool)
                .unwrap_or(true);
            let mut limit = max_length;
            let mut first: Option<String> = None;
            for l in &landed {
                let n = match l.ty {
                    DataType::Varchar { length: Some(n) } | DataType::Char { length: Some(n) } => i64::from(n),
                    _ => continue,
                };
                if limit == 0 || n < limit {
                    limit = n;
                    first.get_or_insert_with(|| format!("{}, which holds {n} characters", l.label));
                }
            }
            if let Some(there) = first {
                if !truncate {
                    let up_to = match max_length {
                        0 => "text of any length".to_string(),
                        m => format!("text of up to {m} characters"),
                    };
                    return Err(refuse(format!("{up_to} (truncate = false)"), &there));
                }
                narrowed
                    .options
                    .insert("max_length".into(), toml::Value::Integer(limit));
                why.push(format!("cut to {limit} characters: {there}"));
            }
        }
        let no_parent = no_parent_ranges(source, &root, &columns, &narrowed, root_column, &landed);
        for tp in plan.tables.iter_mut() {
            let table = tp.table.table_name();
            for ct in tp.transforms.iter_mut().filter(|ct| ct.root == root) {
                ct.no_parent_range = no_parent.get(&(table.clone(), ct.column.clone())).copied();
            }
        }
        if why.is_empty() {
            continue;
        }
        for tp in plan.tables.iter_mut() {
            for ct in tp.transforms.iter_mut().filter(|ct| ct.root == root) {
                ct.spec = narrowed.clone();
                ct.transformer = narrowed.to_string();
                ct.origin.push_str(&format!("; {}", why.join("; ")));
            }
        }
    }
    fit_run_types(dests, plan, source);
    note_checks(plan);
    Ok(())
}

/// The range of the keyed `hash` each integer column inheriting `root` through a key map
/// writes where its composite FK has a NULL part (MATCH SIMPLE: the row references no
/// parent, so there is no new value to take; `anonymize::MapUse::no_parent`): the range
/// the root's transformer writes where it writes one (its `min`/`max`, or `hash`'s
/// default as narrowed above), so the column holds no value its parent's could not be;
/// else the column type's, narrowed as `hash`'s default is to what every destination
/// column the root's values land in holds (a MariaDB `bigint unsigned` into SQLite:
/// [0, 2^63 - 1]). Columns whose range stays their type's own are left out.
fn no_parent_ranges(
    source: &Schema,
    root: &(TableName, String),
    columns: &[(TableName, String)],
    spec: &tether_transform::TransformSpec,
    root_column: &Column,
    landed: &[Landing],
) -> BTreeMap<(TableName, String), (i64, i64)> {
    let written = written_range(&spec.kind, &spec.options, root_column).map(|(r, _)| r);
    let mut out = BTreeMap::new();
    for (table, column) in columns.iter().filter(|c| *c != root) {
        let Some(child) = source.table(table).and_then(|t| t.column(column)) else {
            continue;
        };
        let Some(own) = holds(Engine::Mysql, &child.normalized_type) else {
            continue;
        };
        let (mut lo, mut hi) = written.unwrap_or(own);
        for (a, b) in landed.iter().filter_map(|l| holds(l.engine, &l.ty)).chain([own]) {
            lo = lo.max(a);
            hi = hi.min(b);
        }
        if lo > hi || (lo, hi) == own {
            continue;
        }
        if let (Ok(lo), Ok(hi)) = (i64::try_from(lo), i64::try_from(hi)) {
            out.insert((table.clone(), column.clone()), (lo, hi));
        }
    }
    out
}

/// Gives each transformed text column the type its new values are checked against as
/// they are made: the narrowest of the destination columns they land in, the same ones
/// the plan fitted the transformer to above (a source `varchar(30)` inheriting a
/// transformer whose values land in `varchar(100)` columns everywhere: 100, not 30; the
/// plan would pass what the run then refuses, after writing the parent). And marks the
/// columns a destination compares loosely, for the unique keys' collision check.
fn fit_run_types(dests: &Destinations, plan: &mut Plan, source: &Schema) {
    let mut found: Vec<(usize, usize, Option<DataType>, bool, bool)> = Vec::new();
    for (ti, tp) in plan.tables.iter().enumerate() {
        let table = tp.table.table_name();
        for (ci, ct) in tp.transforms.iter().enumerate() {
            let Some(src) = tp.table.column(&ct.column) else {
                continue;
            };
            let landed: Vec<Landing> = landings(dests, plan, source, &[(table.clone(), ct.column.clone())])
                .into_iter()
                .filter(|l| l.written)
                .collect();
            let loose = landed.iter().any(compares_loosely);
            let loose_outside_mysql = landed.iter().any(|l| l.engine != Engine::Mysql && compares_loosely(l));
            let fit = match &src.normalized_type {
                DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text if !landed.is_empty() => {
                    let mut narrowest: Option<Option<u32>> = None;
                    for l in &landed {
                        let n = match l.ty {
                            DataType::Char { length } | DataType::Varchar { length } => length,
                            DataType::Text => None,
                            _ => {
                                narrowest = None;
                                break;
                            }
                        };
                        narrowest = Some(match (narrowest.flatten(), n) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        });
                    }
                    narrowest
                        .map(|n| match (&src.normalized_type, n) {
                            (DataType::Char { .. }, Some(_)) => DataType::Char { length: n },
                            (_, Some(_)) => DataType::Varchar { length: n },
                            (_, None) => DataType::Text,
                        })
                        .filter(|t| *t != src.normalized_type)
                }
                _ => None,
            };
            found.push((ti, ci, fit, loose, loose_outside_mysql));
        }
    }
    for (ti, ci, fit, loose, loose_outside_mysql) in found {
        let ct = &mut plan.tables[ti].transforms[ci];
        ct.fit_type = fit;
        ct.loose = loose;
        ct.loose_outside_mysql = loose_outside_mysql;
    }
}

/// Whether a destination column compares text ignoring case (and accents, trailing
/// spaces): MariaDB/MySQL text columns, whose default collations (`utf8mb4_general_ci`,
/// `utf8mb4_uca1400_ai_ci`, `utf8mb4_0900_ai_ci`) do, unless the type names a binary or
/// case-sensitive one (the catalog's collation is not read here, so a `_bin` column
/// declared only by its table's default counts as loose: refusing a pair it would keep
/// apart, never letting through a pair it merges); a PostgreSQL `citext`.
fn compares_loosely(l: &Landing) -> bool {
    let sql = l.sql.to_ascii_lowercase();
    match l.engine {
        Engine::Mysql => l.ty.is_text() && !(sql.contains("_bin") || sql.contains("_cs") || sql.contains("binary")),
        Engine::Postgres => sql.contains("citext"),
        Engine::Sqlite => sql.contains("nocase"),
    }
}

/// Refuses the implicit NULL of a generated column computed from a transformed one
/// (`anonymize::resolve`) where a destination writes it into a plain NOT NULL column
/// (another engine's copy): the plan says so, not the run. A transformer set in the job
/// on the column replaces the NULL.
fn refuse_null_where_not_null(dests: &Destinations, plan: &Plan, source: &Schema) -> Result<(), SyncError> {
    for tp in &plan.tables {
        for ct in &tp.transforms {
            let Some(from) = &ct.generated_from else { continue };
            let table = tp.table.table_name();
            let landed = landings(dests, plan, source, &[(table.clone(), ct.column.clone())]);
            if let Some(l) = landed.iter().find(|l| l.written && !l.nullable) {
                let shown = source.display_name(&table);
                return Err(SyncError::Plan(format!(
                    "generated column {shown}.{col} reads transformed column {from}, so it is NULL where a \
                     destination writes it as a plain column, but {} and NOT NULL; set a transformer for it in \
                     [transform.{shown}] {col} (it is written where the column is a plain one; a destination of \
                     the source's engine computes the column)",
                    l.label,
                    col = ct.column,
                )));
            }
        }
    }
    Ok(())
}

/// Says on each transformed column which CHECK constraints of its table read it: the
/// new values must satisfy them too (a `length(code) = 6` check fails on `hash`'s 32
/// characters when the destination validates it, after the load).
fn note_checks(plan: &mut Plan) {
    for tp in plan.tables.iter_mut() {
        let checks = &tp.table.extras.checks;
        for ct in tp.transforms.iter_mut().filter(|ct| ct.spec.kind != "null") {
            let reading: Vec<&str> = checks
                .iter()
                .filter(|c| !c.exclusion)
                .filter(|c| {
                    c.definition
                        .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                        .any(|w| w.eq_ignore_ascii_case(&ct.column))
                })
                .map(|c| c.name.as_str())
                .collect();
            if !reading.is_empty() {
                ct.origin.push_str(&format!(
                    "; CHECK {} reads this column: the new values must pass it",
                    reading.join(", ")
                ));
            }
        }
    }
}
