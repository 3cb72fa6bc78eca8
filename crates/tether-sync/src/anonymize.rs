//! Anonymization during a sync: the job's `[transform]` entries resolved over the
//! schema (the transformer set on a referenced column applies to every referencing
//! column), applied to each row between the reader and the writers, unique keys
//! guarded, and the leak report (how many destination values still equal their source).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use serde::Serialize;
use tether_schema::value::describe_key;
use tether_schema::{Row, Schema, Table, TableName, Value};
use tether_transform::{
    build_keyed_as, build_with, composite_key, BuildContext, KeyMap, RowView, Seed, TransformSpec, Transformer,
    UniqueGuard, Via,
};

use crate::config::Job;
use crate::error::SyncError;

/// A column's transformer, as the plan shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnTransform {
    pub column: String,
    /// `kind(option=value, ...)`, without the seed.
    pub transformer: String,
    /// `set here`, or `inherited through FK ... from table.column`, then how the values
    /// come: `; same function` or `; key map: why` (for a root: its children's way).
    pub origin: String,
    /// Where an inherited transformer comes from (None when set on this column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited: Option<Inherited>,
    #[serde(skip)]
    pub spec: TransformSpec,
    /// The column the transformer was set on at the top of the FK chain.
    #[serde(skip)]
    pub root: (TableName, String),
    /// Computed here, or taken from the root's key map.
    #[serde(skip)]
    pub via: Via,
    /// The implicit `null` of a generated column: the transformed column its expression
    /// reads (directly or through other generated columns). Destinations of the same
    /// engine compute the column and never write it; a plain copy of it on another
    /// engine gets the NULL, which a NOT NULL one refuses at plan time.
    #[serde(skip)]
    pub generated_from: Option<String>,
    /// The column type the values are checked against as they are made: the narrowest
    /// of the destination columns they land in (`schema_plan::fit_transforms`, the same
    /// columns the plan fitted the transformer to), where it differs from the source
    /// column's. None: the source column's type.
    #[serde(skip)]
    pub fit_type: Option<tether_schema::DataType>,
    /// An inherited transformer: the type of the root column, whose canonical form
    /// keys the draw here too (a `varchar` child of a PostgreSQL `char(n)` key drops the
    /// padding it was respelt with, as the parent does). None: the column's own type.
    #[serde(skip)]
    pub key_type: Option<tether_schema::DataType>,
    /// An inherited `js` function of the value alone: how this column's values are
    /// handed to it, as the root column reads them ([`tether_transform::js_input`]).
    #[serde(skip)]
    pub js_input: tether_transform::JsInput,
    /// A destination compares this column's text loosely (a case-insensitive collation,
    /// `citext`): unique keys holding it are guarded the same way (see
    /// [`tether_transform::fold`]).
    #[serde(skip)]
    pub loose: bool,
    /// Loosely by a destination that is not MariaDB/MySQL (`citext`, `NOCASE`): the
    /// run reads no collation there, so the key is [`tether_transform::fold`]ed for it.
    #[serde(skip)]
    pub loose_outside_mysql: bool,
    /// An integer column taking its new values from a key map: the range the keyed
    /// `hash` written where its composite FK has a NULL part ([`MapUse::no_parent`])
    /// draws from (`schema_plan::fit_transforms`): the range its root's transformer
    /// writes, else what every destination column the values land in holds. None: the
    /// column type's own range (what every one of them holds).
    #[serde(skip)]
    pub no_parent_range: Option<(i64, i64)>,
}

/// The parent column an FK column takes its transformer from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inherited {
    pub foreign_key: String,
    /// As users write it: `schema.table` outside the default schema.
    pub table: String,
    pub column: String,
    /// `same function` (this column computes the parent's function on its own values)
    /// or `key map` (it takes its parent's new values from an old -> new map).
    pub via: &'static str,
    /// Why the key map: the transformer's output depends on more than the key value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_map_reason: Option<String>,
}

/// Resolves the job's transformers over the copied tables; errors name the job file's
/// line, or the FK and both transformers.
pub fn resolve(job: &Job, schema: &Schema) -> Result<HashMap<TableName, Vec<ColumnTransform>>, SyncError> {
    let mut specs = Vec::new();
    // The table each written `[transform.KEY]` names: two spellings of one table
    // (`customer`, `"public.customer"`) would silently overwrite each other.
    let mut spelled: HashMap<TableName, (&str, usize)> = HashMap::new();
    for t in &job.transforms {
        let at = |msg: String| {
            SyncError::Config(format!(
                "{}: line {}: [transform.{}] {}: {msg}",
                job.path, t.line, t.table, t.column
            ))
        };
        let table = schema
            .find_table(&t.table)
            .ok_or_else(|| match schema.partition_parent(&t.table) {
                Some(_) => at(crate::plan::not_a_table(schema, &t.table)),
                None => at(format!("table `{}` is not among the copied tables", t.table)),
            })?;
        match spelled.entry(table.table_name()).or_insert((&t.table, t.line)) {
            (other, line) if *other != t.table => {
                return Err(at(format!(
                    "[transform.{other}] (line {line}) names the same table: write its columns under one of them"
                )));
            }
            _ => {}
        }
        if table.column(&t.column).is_none() {
            return Err(at(format!(
                "column `{}` does not exist in table `{}`",
                t.column, t.table
            )));
        }
        let spec = TransformSpec::from_toml(&t.spec).map_err(at)?;
        let column = table.column(&t.column).expect("checked above");
        // Unknown kinds and bad options are reported here, with their line.
        tether_transform::canonical_spec(&spec, column).map_err(|e| at(e.to_string()))?;
        specs.push(((table.table_name(), t.column.clone()), spec));
    }
    let resolved =
        tether_transform::resolve(schema, &specs).map_err(|e| SyncError::Plan(format!("{}: {e}", job.path)))?;
    let mut out: HashMap<TableName, Vec<ColumnTransform>> = HashMap::new();
    for r in resolved {
        let reason = match &r.via {
            Via::KeyMap { reason, .. } => Some(reason.clone()),
            Via::Computed => None,
        };
        let is_root = r.root_table == r.table && r.root_column == r.column;
        let way = match (&reason, is_root) {
            (Some(why), true) => format!("; its FK children take its new values through a key map: {why}"),
            (Some(why), false) => format!("; key map: {why}"),
            (None, false) => "; same function".into(),
            (None, true) => String::new(),
        };
        out.entry(r.table.clone()).or_default().push(ColumnTransform {
            column: r.column.clone(),
            transformer: r.spec.to_string(),
            origin: format!("{}{way}", r.origin.describe(schema)),
            inherited: match &r.origin {
                tether_transform::Origin::Set => None,
                tether_transform::Origin::Inherited {
                    foreign_key,
                    from_table,
                    from_column,
                } => Some(Inherited {
                    foreign_key: foreign_key.clone(),
                    table: schema.display_name(from_table),
                    column: from_column.clone(),
                    via: r.via.name(),
                    key_map_reason: reason.clone(),
                }),
            },
            spec: r.spec.clone(),
            root: (r.root_table.clone(), r.root_column.clone()),
            via: r.via.clone(),
            generated_from: None,
            fit_type: None,
            key_type: (!is_root)
                .then(|| schema.table(&r.root_table)?.column(&r.root_column))
                .flatten()
                .map(|c| c.normalized_type.clone()),
            js_input: js_input_of(schema, &r, is_root).map_err(|e| SyncError::Plan(format!("{}: {e}", job.path)))?,
            loose: false,
            loose_outside_mysql: false,
            no_parent_range: None,
        });
    }
    // A generated column computed from a transformed one: another engine copies it as a
    // plain column, which would keep what the original values computed to (a name's
    // upper-case form, an email's domain). It is NULL there; a copy on the same engine
    // computes it again from the new values and never writes it. Repeated until no
    // column is added: a generated column reading such a generated column (`g2 AS
    // (concat(g1, '!'))`, `g1 AS (lower(mail))`) holds the original values just the same.
    // A transformer set in the job on a generated column is kept instead.
    for t in &schema.tables {
        let Some(list) = out.get_mut(&t.table_name()) else {
            continue;
        };
        loop {
            let transformed: Vec<String> = list.iter().map(|c| c.column.clone()).collect();
            let before = list.len();
            for c in t.columns.iter().filter(|c| !transformed.contains(&c.name)) {
                let Some(expr) = c.generated.as_deref() else { continue };
                let Some(from) = transformed.iter().find(|x| names_column(expr, x)) else {
                    continue;
                };
                list.push(ColumnTransform {
                    column: c.name.clone(),
                    transformer: "null".into(),
                    origin: format!(
                        "generated from transformed column {from}: NULL where another engine copies it as a \
                         plain column (it would hold what the original values computed to)"
                    ),
                    inherited: None,
                    spec: TransformSpec::new("null"),
                    root: (t.table_name(), c.name.clone()),
                    via: Via::Computed,
                    generated_from: Some(from.clone()),
                    fit_type: None,
                    key_type: None,
                    js_input: tether_transform::JsInput::AsRead,
                    loose: false,
                    loose_outside_mysql: false,
                    no_parent_range: None,
                });
            }
            if list.len() == before {
                break;
            }
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.column.cmp(&b.column));
    }
    Ok(out)
}

/// How an inheriting column hands its values to the root's `js` function of the value
/// alone (the parent's and child's types may read one value otherwise: PostgreSQL's
/// `numeric(10,2)` `'2.00'` and `int4` 2); an error naming the FK, both columns and
/// their types where the child's values cannot be read as the root's.
fn js_input_of(
    schema: &Schema,
    r: &tether_transform::Resolved,
    is_root: bool,
) -> Result<tether_transform::JsInput, String> {
    let as_read = tether_transform::JsInput::AsRead;
    if is_root || r.spec.kind != "js" || !matches!(r.via, Via::Computed) {
        return Ok(as_read);
    }
    let column = |t: &TableName, c: &str| schema.table(t).and_then(|t| t.column(c)).cloned();
    let (Some(root), Some(child)) = (column(&r.root_table, &r.root_column), column(&r.table, &r.column)) else {
        return Ok(as_read);
    };
    tether_transform::js_input(schema.engine, &root.normalized_type, &child.normalized_type).map_err(|why| {
        let fk = match &r.origin {
            tether_transform::Origin::Inherited { foreign_key, .. } => format!("foreign key {foreign_key}: "),
            tether_transform::Origin::Set => String::new(),
        };
        format!(
            "{fk}{}.{} ({child}) would compute the js function set on {}.{} ({root}) on its own values, \
             which it reads otherwise: {why}; the two would give one key other values (set a built-in kind, \
             which reads both as one value, or transform the key otherwise)",
            schema.display_name(&r.table),
            r.column,
            schema.display_name(&r.root_table),
            r.root_column,
            child = child.engine_type,
            root = root.engine_type,
        )
    })
}

/// Whether a generated column's expression names `column` (as a word, any case; quotes
/// and backticks around it are separators).
fn names_column(expr: &str, column: &str) -> bool {
    expr.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
        .any(|w| w.to_lowercase() == column.to_lowercase())
}

/// A key as messages name it, `(names)=(values)`, with the values of the columns
/// `masked` marks (ones the job transforms: their source values are what it hides, and
/// messages end up in CI logs) masked: `(handle)=(a***@m***.org, masked)`. Without a
/// masked column, [`describe_key`]'s plain form.
pub fn describe_masked(names: &[String], values: &[Value], masked: &[bool]) -> String {
    if !masked.iter().any(|m| *m) {
        return describe_key(names, values);
    }
    let shown: Vec<String> = values
        .iter()
        .zip(masked)
        .map(|(v, m)| match (v, m) {
            (Value::Null, _) => "NULL".to_string(),
            (Value::Text(t), true) => tether_transform::privacy::validators::mask(t),
            (v, true) => tether_transform::privacy::validators::mask(&v.display()),
            (v, false) => v.display(),
        })
        .collect();
    format!("({})=({}, masked)", names.join(", "), shown.join(", "))
}

/// Whether the transformer of `ct` on `column` (a source column) may give two values one
/// new value: every kind but `hash`'s keyed permutation of an integer range,
/// `passthrough` and keyed draws of 100 bits or more (`hash` of a uuid, a text hash of
/// its default 32 hex characters) (short text `hash`, `email`, names, `js`, ...; a
/// `null` writes NULL, which matches nothing, and is left out). Such a transformer on the key a re-run matches
/// rows by cannot tell the row an earlier run made from a source key since deleted
/// from this run's row of another key with the same new value.
pub fn may_merge(ct: &ColumnTransform, column: &tether_schema::Column) -> bool {
    if ct.spec.kind == "null" {
        return false;
    }
    let mut column = column.clone();
    column.generated = None;
    if let Some(ty) = &ct.fit_type {
        column.normalized_type = ty.clone();
    }
    let ctx = BuildContext {
        distinct_values: Some(Vec::new()),
    };
    let seed = Seed::new("canonical");
    let built = match &ct.key_type {
        Some(key_type) => build_keyed_as(&ct.spec, &column, key_type, &seed, &ctx),
        None => build_with(&ct.spec, &column, &seed, &ctx),
    };
    // A spec that does not build is reported by the run, with its line. A keyed draw
    // of 100 bits or more (a UUID, a text hash of 25+ hex characters) gives two keys
    // one value by a chance no table reaches.
    built.is_ok_and(|t| !t.injective() && t.output_bits().is_none_or(|bits| bits < 100))
}

/// One old -> new map: the root column and the root key (columns of the root's table)
/// it is keyed by.
type MapId = (TableName, String, Vec<String>);

/// Old -> new maps of the key-map roots (see [`Via::KeyMap`]), shared by every table and
/// lane of the job: filled from the roots' rows before loading ([`TableTransforms::fill_key_maps`]),
/// read by the roots and every column inheriting from them.
#[derive(Default)]
pub struct KeyMaps(Mutex<HashMap<MapId, KeyMap>>);

impl KeyMaps {
    fn get(&self, id: &MapId, key: &Value) -> Result<Option<Value>, tether_transform::TransformError> {
        match self.0.lock().expect("lock").get(id) {
            Some(map) => map.get(key),
            None => Ok(None),
        }
    }

    /// Records `new` under `key` unless a value is there already; returns the value kept.
    fn keep_first(&self, id: &MapId, key: &Value, new: Value) -> Result<Value, tether_transform::TransformError> {
        let mut maps = self.0.lock().expect("lock");
        let map = maps.entry(id.clone()).or_insert_with(|| KeyMap::new(KEY_MAP_MEMORY));
        map.get_or_insert_with(key, || new)
    }
}

/// Per key-map root column (table, column): the root keys its map is keyed by, one per
/// way columns reference it.
pub fn map_keys<'a>(
    transforms: impl Iterator<Item = &'a ColumnTransform>,
) -> HashMap<(TableName, String), Vec<Vec<String>>> {
    let mut out: HashMap<(TableName, String), Vec<Vec<String>>> = HashMap::new();
    for ct in transforms {
        if let Via::KeyMap { key, .. } = &ct.via {
            let keys = out.entry(ct.root.clone()).or_default();
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    out
}

/// How many keys a map keeps in memory before spilling to disk.
const KEY_MAP_MEMORY: usize = 1_000_000;

/// Hashes of distinct values, sampled so memory stays bounded: only hashes whose low
/// `shift` bits are zero are kept, and `shift` grows when the set is full.
#[derive(Debug, Default, Clone)]
struct Sample {
    shift: u32,
    set: HashSet<u64>,
}

const SAMPLE_LIMIT: usize = 200_000;

impl Sample {
    fn insert(&mut self, h: u64) {
        if h & ((1u64 << self.shift) - 1) == 0 && self.set.insert(h) && self.set.len() > SAMPLE_LIMIT {
            self.shift += 1;
            let mask = (1u64 << self.shift) - 1;
            self.set.retain(|x| x & mask == 0);
        }
    }
}

fn value_hash(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// Leak figures of one transformed column.
#[derive(Debug, Clone, Serialize)]
pub struct Leak {
    pub table: String,
    pub column: String,
    pub transformer: String,
    /// Non-null source values transformed.
    pub rows: u64,
    /// Rows whose destination value equals the source value of the same row.
    pub unchanged: u64,
    /// Text columns: rows whose destination value equals the source value of the same
    /// row once case and surrounding whitespace are ignored (`HENRY` -> ` Henry`); the
    /// exact ones included.
    pub unchanged_folded: Option<u64>,
    /// Text columns: distinct source values found anywhere among the destination's
    /// values of the column (estimated from a sample above 200,000 distinct values).
    pub source_values_in_destination: Option<u64>,
    /// The same, ignoring case and surrounding whitespace (distinct folded values).
    pub source_values_in_destination_folded: Option<u64>,
    pub approximate: bool,
}

/// A text value with case and surrounding whitespace ignored, for the leak report.
fn folded(v: &Value) -> Option<Value> {
    match v {
        Value::Text(s) => Some(Value::Text(s.trim().to_lowercase())),
        _ => None,
    }
}

/// Distinct values hashed in `source` that are also in `destination`, scaled up from the
/// samples; true when estimated.
fn overlap(source: &Sample, destination: &Sample) -> (u64, bool) {
    let shift = source.shift.max(destination.shift);
    let mask = (1u64 << shift) - 1;
    let found = source
        .set
        .iter()
        .filter(|h| *h & mask == 0 && destination.set.contains(h))
        .count();
    ((found as u64) << shift, shift > 0)
}

/// A column that takes its new values from a key map.
struct MapUse {
    id: MapId,
    /// Positions in this table's rows of the columns holding the root key.
    positions: Vec<usize>,
    /// The root column itself (its values fill the map before loading).
    root: bool,
    /// For an inheriting column: the keyed `hash` of its value, written where the root
    /// key has a NULL part in the row (see [`TableTransforms::apply`]); None where
    /// `hash` does not take the column's type.
    no_parent: Option<NoParent>,
}

/// The keyed hash of an inheriting column's value where the row references no parent:
/// `hash` (a keyed permutation, so distinct partial keys stay distinct) of the column's
/// type or of the range the plan fitted it to (`ColumnTransform::no_parent_range`: the
/// root's range, or what every destination holds); a value outside that range, which
/// the permutation does not take, gets the keyed `int_range` draw of it in the range.
struct NoParent {
    hash: Box<dyn Transformer>,
    /// The fitted range and the draw for values outside it.
    outside: Option<((i64, i64), Box<dyn Transformer>)>,
}

impl NoParent {
    /// None where `hash` does not take the column's type (dates, decimals with a scale).
    fn build(column: &tether_schema::Column, range: Option<(i64, i64)>, seed: &Seed) -> Option<NoParent> {
        let Some((lo, hi)) = range else {
            let hash = tether_transform::build(&TransformSpec::new("hash"), column, seed).ok()?;
            return Some(NoParent { hash, outside: None });
        };
        let ranged = |kind: &str| {
            let mut spec = TransformSpec::new(kind);
            spec.options.insert("min".into(), toml::Value::Integer(lo));
            spec.options.insert("max".into(), toml::Value::Integer(hi));
            tether_transform::build(&spec, column, seed).ok()
        };
        Some(NoParent {
            hash: ranged("hash")?,
            outside: ranged("int_range").map(|draw| ((lo, hi), draw)),
        })
    }

    fn apply(&self, input: &Value) -> Result<Value, tether_transform::TransformError> {
        let within = |(lo, hi): (i64, i64)| match input {
            Value::Int(v) => (lo..=hi).contains(v),
            Value::UInt(v) => i64::try_from(*v).is_ok_and(|v| (lo..=hi).contains(&v)),
            // A numeric(p, 0) / decimal(p, 0) value comes as its text.
            Value::Text(t) => t
                .trim()
                .parse::<i128>()
                .map_or(true, |v| (i128::from(lo)..=i128::from(hi)).contains(&v)),
            _ => true,
        };
        match &self.outside {
            Some((range, draw)) if !within(*range) => draw.apply(input, &RowView::EMPTY),
            _ => self.hash.apply(input, &RowView::EMPTY),
        }
    }
}

struct ColumnState {
    index: usize,
    name: String,
    transformer: Box<dyn Transformer>,
    map: Option<MapUse>,
    text: bool,
    rows: u64,
    unchanged: u64,
    unchanged_folded: u64,
    source: Sample,
    destination: Sample,
    /// Hashes of the folded values (see [`folded`]).
    source_folded: Sample,
    destination_folded: Sample,
}

/// The transformers of one table, applied batch by batch.
pub struct TableTransforms {
    table: String,
    names: Vec<String>,
    /// The keys an error may name a row by (names, positions): the row key first,
    /// then the primary key and every unique key without a predicate.
    row_keys: Vec<(Vec<String>, Vec<usize>)>,
    columns: Vec<ColumnState>,
    /// Unique keys with a non-injective transformer on one of their columns.
    guards: Vec<(Vec<usize>, UniqueGuard)>,
}

impl TableTransforms {
    /// Builds the transformers of `table` (a source table) for the columns of `list`;
    /// `distinct` gives the source's distinct values of a column when a transformer draws
    /// from them.
    pub fn build(
        name: &str,
        table: &Table,
        list: &[ColumnTransform],
        seed: &Seed,
        distinct: &HashMap<String, Vec<Value>>,
        collations: &crate::execute::Collations,
    ) -> Result<TableTransforms, SyncError> {
        let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let mut columns = Vec::new();
        for ct in list {
            let index = names
                .iter()
                .position(|n| n == &ct.column)
                .expect("resolved columns exist");
            // A generated column: its transformer (the NULL `resolve` gave it, or one set
            // in the job) is for destinations that copy it as a plain column; the same
            // engine computes it and never writes it. The implicit NULL is built on a
            // NOT NULL one too: a destination that would write it there was refused by
            // the plan (`schema_plan::fit_transforms`).
            let mut column = table.columns[index].clone();
            column.generated = None;
            // Checked against the destination columns the plan fitted the transformer to,
            // not the source's: a wider destination column holds what the plan let through.
            if let Some(ty) = &ct.fit_type {
                column.normalized_type = ty.clone();
            }
            if ct.generated_from.is_some() {
                column.nullable = true;
            }
            let ctx = BuildContext {
                distinct_values: distinct.get(&ct.column).cloned(),
            };
            let transformer = match &ct.key_type {
                Some(key_type) => build_keyed_as(&ct.spec, &column, key_type, seed, &ctx),
                None => build_with(&ct.spec, &column, seed, &ctx),
            }
            .map_err(|e| SyncError::Plan(format!("table {name}, column {}: {e}", ct.column)))?;
            let transformer = tether_transform::AsRootInput::wrap(transformer, ct.js_input);
            let map = match &ct.via {
                Via::KeyMap { key, columns, .. } => {
                    let root = ct.root.0 == table.table_name() && ct.root.1 == ct.column;
                    Some(MapUse {
                        id: (ct.root.0.clone(), ct.root.1.clone(), key.clone()),
                        positions: columns
                            .iter()
                            .map(|c| names.iter().position(|n| n == c).expect("key columns exist"))
                            .collect(),
                        root,
                        no_parent: if root {
                            None
                        } else {
                            NoParent::build(&column, ct.no_parent_range, seed)
                        },
                    })
                }
                Via::Computed => None,
            };
            columns.push(ColumnState {
                index,
                name: ct.column.clone(),
                text: column.normalized_type.is_text(),
                transformer,
                map,
                rows: 0,
                unchanged: 0,
                unchanged_folded: 0,
                source: Sample::default(),
                destination: Sample::default(),
                source_folded: Sample::default(),
                destination_folded: Sample::default(),
            });
        }
        let positions_of = |k: &[String]| -> Vec<usize> {
            k.iter()
                .map(|c| names.iter().position(|n| n == c).expect("key columns exist"))
                .collect()
        };
        let mut guards = Vec::new();
        let mut keys: Vec<&Vec<String>> = vec![&table.primary_key];
        keys.extend(
            table
                .unique_keys
                .iter()
                .filter(|u| u.predicate.is_none())
                .map(|u| &u.columns),
        );
        let keys: Vec<&Vec<String>> = keys.into_iter().filter(|k| !k.is_empty()).collect();
        let row_key = table.row_key();
        let row_keys = std::iter::once(&row_key)
            .chain(keys.iter().copied())
            .map(|k| (k.clone(), positions_of(k)))
            .collect();
        for k in keys {
            let risky = columns
                .iter()
                .any(|c| k.contains(&c.name) && !c.transformer.injective());
            if risky {
                // Folded where a destination compares the column loosely and the run
                // read no collation for it (PostgreSQL `citext`, SQLite `NOCASE`, or a
                // MariaDB/MySQL destination whose column it did not find).
                let table_name = table.table_name();
                let weighed = |n: &String| {
                    collations
                        .iter()
                        .flatten()
                        .all(|found| found.contains_key(&(table_name.clone(), n.clone())))
                };
                let fold = k
                    .iter()
                    .map(|n| {
                        list.iter()
                            .any(|ct| &ct.column == n && ct.loose && (ct.loose_outside_mysql || !weighed(n)))
                    })
                    .collect();
                guards.push((positions_of(k), UniqueGuard::new(k.clone()).folding(fold)));
                // One guard more per MariaDB/MySQL destination whose collation compares a
                // column of the key: by that server's own weights (`execute::collate`).
                for found in collations.iter().flatten() {
                    let weights: Vec<_> = k
                        .iter()
                        .map(|n| found.get(&(table_name.clone(), n.clone())).cloned().flatten())
                        .collect();
                    if weights.iter().any(Option::is_some) {
                        guards.push((positions_of(k), UniqueGuard::new(k.clone()).collating(weights)));
                    }
                }
            }
        }
        Ok(TableTransforms {
            table: name.to_string(),
            names,
            row_keys,
            columns,
            guards,
        })
    }

    /// Columns that draw from the source's own distinct values (`categorical` with
    /// `from = "column"`).
    pub fn needs_distinct(list: &[ColumnTransform]) -> Vec<String> {
        list.iter()
            .filter(|c| c.spec.options.get("from").and_then(|v| v.as_str()) == Some("column"))
            .map(|c| c.column.clone())
            .collect()
    }

    /// A transformer's error on one row, with the table, column and row key.
    fn failed(&self, column: &str, row: &[Value], e: tether_transform::TransformError) -> SyncError {
        SyncError::Transform(format!(
            "table {}, column {column}, row {}: {e}",
            self.table,
            self.row_name(row)
        ))
    }

    /// How an error names `row`: by its row key, unless a column of it is transformed
    /// (its source value is what the job hides, and errors end up in CI logs); then by
    /// a key of the row without a transformed column (`(id)=(17)`), else by the row key
    /// with the transformed values masked (`(handle)=(a***@m***.org, masked)`).
    fn row_name(&self, row: &[Value]) -> String {
        let transformed = |i: &usize| self.columns.iter().any(|c| c.index == *i);
        let values = |positions: &[usize]| -> Vec<Value> { positions.iter().map(|&i| row[i].clone()).collect() };
        // Another key than the row key only where it names one row (no NULL part).
        let plain = self
            .row_keys
            .iter()
            .enumerate()
            .find(|(n, (_, p))| !p.iter().any(transformed) && (*n == 0 || !p.iter().any(|&i| row[i].is_null())));
        if let Some((_, (names, positions))) = plain {
            return describe_key(names, &values(positions));
        }
        let (names, positions) = &self.row_keys[0];
        let masked: Vec<bool> = positions.iter().map(transformed).collect();
        describe_masked(names, &values(positions), &masked)
    }

    /// Transforms a batch in place.
    pub fn apply(&mut self, batch: &mut [Row], maps: &KeyMaps) -> Result<(), SyncError> {
        let mut outputs: Vec<Value> = Vec::with_capacity(self.columns.len());
        for row in batch.iter_mut() {
            outputs.clear();
            {
                let view = RowView {
                    columns: &self.names,
                    values: row,
                };
                for c in &self.columns {
                    let input = &row[c.index];
                    let fail = |e| self.failed(&c.name, row, e);
                    let key: Option<Value> = match &c.map {
                        Some(m) if !input.is_null() => {
                            let values: Vec<Value> = m.positions.iter().map(|&i| row[i].clone()).collect();
                            // A composite FK with a NULL part references nothing.
                            (!values.iter().any(Value::is_null)).then(|| composite_key(&values))
                        }
                        _ => None,
                    };
                    let out = match (&c.map, key) {
                        (Some(m), Some(key)) => match maps.get(&m.id, &key).map_err(fail)? {
                            Some(new) => new,
                            // Not among the root's rows copied (an orphan in the source):
                            // made from this row, and kept for the rows that follow.
                            None => {
                                let fresh = c.transformer.apply(input, &view).map_err(|e| {
                                    let (t, col, _) = &m.id;
                                    fail(tether_transform::TransformError::BadInput {
                                        kind: c.transformer.describe(),
                                        value: input.display(),
                                        reason: format!(
                                            "it has no row in {}.{col} to take its new value from, and computing \
                                             it from this row failed: {e}",
                                            t.name
                                        ),
                                    })
                                })?;
                                maps.keep_first(&m.id, &key, fresh).map_err(fail)?
                            }
                        },
                        // A root key with a NULL part in this row (MATCH SIMPLE): the row
                        // references no parent, so there is no new value to take and no
                        // parent row for the function to read. The keyed hash of the value
                        // keeps it from leaking and gives the same partial key the same
                        // values in every table.
                        (Some(MapUse { no_parent: Some(h), .. }), None) if !input.is_null() => {
                            h.apply(input).map_err(fail)?
                        }
                        _ => c.transformer.apply(input, &view).map_err(fail)?,
                    };
                    outputs.push(out);
                }
            }
            for (c, out) in self.columns.iter_mut().zip(outputs.drain(..)) {
                let input = &row[c.index];
                if !input.is_null() {
                    c.rows += 1;
                    if *input == out {
                        c.unchanged += 1;
                    }
                    if c.text {
                        c.source.insert(value_hash(input));
                        if !out.is_null() {
                            c.destination.insert(value_hash(&out));
                        }
                        let (fin, fout) = (folded(input), folded(&out));
                        if fin.is_some() && fin == fout {
                            c.unchanged_folded += 1;
                        }
                        if let Some(f) = &fin {
                            c.source_folded.insert(value_hash(f));
                        }
                        if let Some(f) = &fout {
                            c.destination_folded.insert(value_hash(f));
                        }
                    }
                }
                row[c.index] = out;
            }
            for (positions, guard) in &mut self.guards {
                let values: Vec<Value> = positions.iter().map(|&i| row[i].clone()).collect();
                guard
                    .check(&values)
                    .map_err(|e| SyncError::Transform(format!("table {}: {e}", self.table)))?;
            }
        }
        Ok(())
    }

    /// Makes the new values of this table's key-map roots for a batch of source rows and
    /// records them in their maps under every root key in `keys` (see [`map_keys`]),
    /// before any table loads; the rows themselves are left as they are.
    pub fn fill_key_maps(
        &self,
        batch: &[Row],
        maps: &KeyMaps,
        keys: &HashMap<(TableName, String), Vec<Vec<String>>>,
    ) -> Result<(), SyncError> {
        for row in batch {
            let view = RowView {
                columns: &self.names,
                values: row,
            };
            for c in &self.columns {
                let Some(m) = c.map.as_ref().filter(|m| m.root) else {
                    continue;
                };
                let input = &row[c.index];
                if input.is_null() {
                    continue;
                }
                let fail = |e| self.failed(&c.name, row, e);
                let new = c.transformer.apply(input, &view).map_err(fail)?;
                let root = (m.id.0.clone(), m.id.1.clone());
                for key in keys.get(&root).into_iter().flatten() {
                    let values: Vec<Value> = key
                        .iter()
                        .map(|k| {
                            let i = self.names.iter().position(|n| n == k).expect("key columns exist");
                            row[i].clone()
                        })
                        .collect();
                    if values.iter().any(Value::is_null) {
                        continue;
                    }
                    let id = (root.0.clone(), root.1.clone(), key.clone());
                    maps.keep_first(&id, &composite_key(&values), new.clone())
                        .map_err(fail)?;
                }
            }
        }
        Ok(())
    }

    /// The leak figures of this table's transformed columns.
    pub fn leaks(&self) -> Vec<Leak> {
        self.columns
            .iter()
            .map(|c| {
                let exact = c.text.then(|| overlap(&c.source, &c.destination));
                let fold = c.text.then(|| overlap(&c.source_folded, &c.destination_folded));
                Leak {
                    table: self.table.clone(),
                    column: c.name.clone(),
                    transformer: c.transformer.describe(),
                    rows: c.rows,
                    unchanged: c.unchanged,
                    unchanged_folded: c.text.then_some(c.unchanged_folded),
                    source_values_in_destination: exact.map(|o| o.0),
                    source_values_in_destination_folded: fold.map(|o| o.0),
                    approximate: exact.is_some_and(|o| o.1) || fold.is_some_and(|o| o.1),
                }
            })
            .collect()
    }
}
