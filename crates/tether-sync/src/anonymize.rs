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
use tether_transform::{build_with, BuildContext, KeyMap, RowView, Seed, TransformSpec, Transformer, UniqueGuard};

use crate::config::Job;
use crate::error::SyncError;

/// A column's transformer, as the plan shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnTransform {
    pub column: String,
    /// `kind(option=value, ...)`, without the seed.
    pub transformer: String,
    /// `set here`, or `inherited through FK ... from table.column`.
    pub origin: String,
    /// Where an inherited transformer comes from (None when set on this column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited: Option<Inherited>,
    #[serde(skip)]
    pub spec: TransformSpec,
    /// The column whose values a non-deterministic generator maps (`generate_*` on a key
    /// shares one old -> new map with every column that references it).
    #[serde(skip)]
    pub root: (TableName, String),
}

/// The parent column an FK column takes its transformer from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inherited {
    pub foreign_key: String,
    /// As users write it: `schema.table` outside the default schema.
    pub table: String,
    pub column: String,
}

/// Resolves the job's transformers over the copied tables; errors name the job file's
/// line, or the FK and both transformers.
pub fn resolve(job: &Job, schema: &Schema) -> Result<HashMap<TableName, Vec<ColumnTransform>>, SyncError> {
    let mut specs = Vec::new();
    for t in &job.transforms {
        let at = |msg: String| {
            SyncError::Config(format!(
                "{}: line {}: [transform.{}] {}: {msg}",
                job.path, t.line, t.table, t.column
            ))
        };
        let table = schema
            .find_table(&t.table)
            .ok_or_else(|| at(format!("table `{}` is not among the copied tables", t.table)))?;
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
        out.entry(r.table.clone()).or_default().push(ColumnTransform {
            column: r.column.clone(),
            transformer: r.spec.to_string(),
            origin: r.origin.describe(schema),
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
                }),
            },
            spec: r.spec.clone(),
            root: (r.root_table.clone(), r.root_column.clone()),
        });
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.column.cmp(&b.column));
    }
    Ok(out)
}

/// Old -> new maps of non-deterministic generators, one per root column, shared by
/// every table and lane of the job.
#[derive(Default)]
pub struct KeyMaps(Mutex<HashMap<(TableName, String), KeyMap>>);

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
    /// Text columns: distinct source values found anywhere among the destination's
    /// values of the column (estimated from a sample above 200,000 distinct values).
    pub source_values_in_destination: Option<u64>,
    pub approximate: bool,
}

struct ColumnState {
    index: usize,
    name: String,
    transformer: Box<dyn Transformer>,
    /// Non-deterministic generator: the key map of this root column.
    root: Option<(TableName, String)>,
    text: bool,
    rows: u64,
    unchanged: u64,
    source: Sample,
    destination: Sample,
}

/// The transformers of one table, applied batch by batch.
pub struct TableTransforms {
    table: String,
    names: Vec<String>,
    key: Vec<String>,
    key_positions: Vec<usize>,
    columns: Vec<ColumnState>,
    /// Unique keys with a non-injective transformer on one of their columns.
    guards: Vec<(Vec<usize>, UniqueGuard)>,
}

impl TableTransforms {
    /// Builds the transformers of `table` (a source table); `distinct` gives the source's
    /// distinct values of a column when a transformer draws from them.
    pub fn build(
        name: &str,
        table: &Table,
        list: &[ColumnTransform],
        seed: &Seed,
        distinct: &HashMap<String, Vec<Value>>,
    ) -> Result<TableTransforms, SyncError> {
        let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
        let mut columns = Vec::new();
        for ct in list {
            let index = names
                .iter()
                .position(|n| n == &ct.column)
                .expect("resolved columns exist");
            let column = &table.columns[index];
            let ctx = BuildContext {
                distinct_values: distinct.get(&ct.column).cloned(),
            };
            let transformer = build_with(&ct.spec, column, seed, &ctx)
                .map_err(|e| SyncError::Plan(format!("table {name}, column {}: {e}", ct.column)))?;
            let root = (!transformer.deterministic()).then(|| ct.root.clone());
            columns.push(ColumnState {
                index,
                name: ct.column.clone(),
                text: column.normalized_type.is_text(),
                transformer,
                root,
                rows: 0,
                unchanged: 0,
                source: Sample::default(),
                destination: Sample::default(),
            });
        }
        let key = crate::plan::row_key(table);
        let key_positions = key
            .iter()
            .map(|k| names.iter().position(|n| n == k).expect("key columns exist"))
            .collect();
        let mut guards = Vec::new();
        let mut keys: Vec<&Vec<String>> = vec![&table.primary_key];
        keys.extend(
            table
                .unique_keys
                .iter()
                .filter(|u| u.predicate.is_none())
                .map(|u| &u.columns),
        );
        for k in keys.into_iter().filter(|k| !k.is_empty()) {
            let risky = columns
                .iter()
                .any(|c| k.contains(&c.name) && !c.transformer.injective());
            if risky {
                let positions = k
                    .iter()
                    .map(|c| names.iter().position(|n| n == c).expect("key columns exist"))
                    .collect();
                guards.push((positions, UniqueGuard::new(k.clone())));
            }
        }
        Ok(TableTransforms {
            table: name.to_string(),
            names,
            key,
            key_positions,
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
                    let fail = |e: tether_transform::TransformError| {
                        let key: Vec<Value> = self.key_positions.iter().map(|&i| row[i].clone()).collect();
                        SyncError::Transform(format!(
                            "table {}, column {}, row {}: {e}",
                            self.table,
                            c.name,
                            describe_key(&self.key, &key)
                        ))
                    };
                    let out = match &c.root {
                        Some(root) if !input.is_null() => {
                            let fresh = c.transformer.apply(input, &view).map_err(fail)?;
                            let mut maps = maps.0.lock().expect("lock");
                            let map = maps.entry(root.clone()).or_insert_with(|| KeyMap::new(KEY_MAP_MEMORY));
                            map.get_or_insert_with(input, || fresh).map_err(fail)?
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

    /// The leak figures of this table's transformed columns.
    pub fn leaks(&self) -> Vec<Leak> {
        self.columns
            .iter()
            .map(|c| {
                let overlap = c.text.then(|| {
                    let shift = c.source.shift.max(c.destination.shift);
                    let mask = (1u64 << shift) - 1;
                    let found = c
                        .source
                        .set
                        .iter()
                        .filter(|h| *h & mask == 0 && c.destination.set.contains(h))
                        .count();
                    ((found as u64) << shift, shift > 0)
                });
                Leak {
                    table: self.table.clone(),
                    column: c.name.clone(),
                    transformer: c.transformer.describe(),
                    rows: c.rows,
                    unchanged: c.unchanged,
                    source_values_in_destination: overlap.map(|o| o.0),
                    approximate: overlap.is_some_and(|o| o.1),
                }
            })
            .collect()
    }
}
