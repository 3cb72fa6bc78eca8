//! What the page shows of a job: every table and column, keys, FKs, transformers and
//! where each comes from, load order and cycles, computed from the mapping's current
//! (or last good) plan.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use tether_schema::{Schema, Table, TableName};
use tether_sync::anonymize::ColumnTransform;
use tether_sync::scan::Protection;
use tether_sync::Plan;
use toml_edit::{DocumentMut, InlineTable, Item, Value};

use super::doc::options_of;
use super::Mapping;

/// What the page shows: every table and column, keys, FKs, transformers and where each
/// comes from, load order and cycles.
#[derive(Debug, Serialize)]
pub struct View {
    pub job: String,
    pub source: String,
    pub destinations: Vec<String>,
    /// Unsaved changes.
    pub dirty: bool,
    /// Why the current mapping has no plan (a job file that was already invalid).
    pub error: Option<String>,
    /// Tables in load order, then the tables the job leaves out.
    pub tables: Vec<TableView>,
    /// Load order in groups whose tables do not depend on each other.
    pub levels: Vec<Vec<String>>,
    pub cycles: Vec<CycleView>,
    pub kinds: Vec<KindView>,
    /// The privacy scan behind `ColumnView.personal` (None with `privacy = "off"`).
    pub privacy: Option<PrivacyView>,
}

#[derive(Debug, Serialize)]
pub struct PrivacyView {
    pub mode: tether_sync::config::Privacy,
    /// Rows sampled per table.
    pub sample: u64,
    /// With `privacy = "strict"`: why `tether plan` and `tether sync` refuse the job as
    /// it is on the page (personal columns copied unchanged).
    pub refusal: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TableView {
    /// As users write it: `schema.table` outside the default schema.
    pub name: String,
    /// The table's schema (None on SQLite) and its bare name.
    pub schema: Option<String>,
    pub table: String,
    /// 1-based place in the load order; None for tables the job leaves out.
    pub step: Option<usize>,
    /// 1-based parallel group.
    pub group: Option<usize>,
    /// Index into `cycles`.
    pub cycle: Option<usize>,
    pub excluded: bool,
    /// Why its rows are copied (the plan's reasons).
    pub rows: Vec<String>,
    pub columns: Vec<ColumnView>,
}

#[derive(Debug, Serialize)]
pub struct ColumnView {
    pub name: String,
    #[serde(rename = "type")]
    pub engine_type: String,
    pub nullable: bool,
    pub primary_key: bool,
    /// The whole primary key, when this column is part of it (more than one column:
    /// the column alone is not a key).
    pub primary_key_columns: Vec<String>,
    /// The unique keys (not partial ones) this column is part of, each with all its
    /// columns: `["email"]` is unique alone, `["a", "b"]` only together.
    pub unique_keys: Vec<Vec<String>>,
    pub generated: bool,
    /// FKs this column is part of.
    pub foreign_keys: Vec<FkView>,
    /// FK columns of other tables (or this one) that reference this column.
    pub referenced_by: Vec<ChildView>,
    pub transformer: Option<TransformerView>,
    /// What the privacy scan found (None: not personal, or `privacy = "off"`).
    pub personal: Option<PersonalView>,
    /// The transformer in force differs from the one in the saved file.
    pub changed: bool,
}

/// A personal column: its class and how the job treats it.
#[derive(Debug, Serialize)]
pub struct PersonalView {
    /// `email`, `person name`, ...
    pub class: String,
    pub confidence: f64,
    pub evidence: Vec<String>,
    /// `transformed`, `inherited`, `reviewed` (passthrough with a reason),
    /// `unprotected` (copied unchanged), `not copied` (the table is left out), or
    /// `unknown` (the mapping does not plan).
    pub protection: &'static str,
    /// The transformer the scan suggests (none on FK columns: they inherit).
    pub suggested_kind: Option<String>,
    pub suggested_options: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FkView {
    pub name: String,
    pub parent_table: String,
    /// The parent column this column pairs with.
    pub parent_column: String,
    pub columns: Vec<String>,
    pub parent_columns: Vec<String>,
    pub on_delete: String,
    pub on_update: String,
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
}

#[derive(Debug, Serialize)]
pub struct ChildView {
    pub table: String,
    pub column: String,
    pub foreign_key: String,
}

#[derive(Debug, Serialize)]
pub struct TransformerView {
    /// The transformer in force, canonical with every default: `kind(option=value, ...)`.
    pub spec: String,
    /// As the user wrote it (on this column, or on the parent key it comes from):
    /// `hash`, or `hash(min = 1, max = 99)`.
    pub written: String,
    pub kind: String,
    /// `set` (on this column) or `inherited` (through an FK).
    pub origin: &'static str,
    pub inherited: Option<tether_sync::anonymize::Inherited>,
    /// As written in the job file, for the editor: the kind and the options
    /// (`key = value, ...`). Only for transformers set on this column.
    pub written_kind: Option<String>,
    pub written_options: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CycleView {
    pub tables: Vec<String>,
    /// `break` or `defer`.
    pub strategy: tether_sync::plan::CycleStrategy,
    pub foreign_keys: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct KindView {
    pub name: String,
    pub summary: String,
}

/// What a save did.
impl Mapping {
    /// Everything the page shows.
    pub fn view(&self) -> View {
        let plan = self.current.as_ref().ok().or(self.last_good.as_ref());
        let display = |t: &TableName| self.schema.display_name(t);
        let written = written_in(&self.doc, &self.schema);
        let resolved = transforms_of(self.current.as_ref().ok());
        // What each column looked like in the saved file, to mark the changes.
        let saved_written = written_in(&self.saved_doc, &self.schema);
        let saved_resolved = transforms_of(self.saved_plan.as_ref());
        // As written on the column itself (an FK column may repeat its parent's), else
        // on the key it comes from.
        type Written = HashMap<(String, String), (String, String)>;
        let as_written = |key: &(String, String), x: &ColumnTransform, written: &Written| match written
            .get(key)
            .or_else(|| written.get(&(display(&x.root.0), x.root.1.clone())))
        {
            Some((kind, options)) if options.is_empty() => kind.clone(),
            Some((kind, options)) => format!("{kind}({options})"),
            None => x.transformer.clone(),
        };
        let signature = |key: &(String, String), x: Option<&&ColumnTransform>, written: &Written| {
            x.map(|x| (x.transformer.clone(), x.inherited.clone(), as_written(key, x, written)))
        };
        let scanned: HashMap<(&str, &str), &tether_sync::scan::ScannedColumn> = self
            .privacy
            .iter()
            .flat_map(|s| s.personal())
            .map(|c| ((c.table.as_str(), c.column.as_str()), c))
            .collect();
        let protection: HashMap<(&str, &str), &Protection> = self
            .current
            .as_ref()
            .ok()
            .and_then(|p| p.privacy.as_ref())
            .map(|r| {
                r.personal
                    .iter()
                    .map(|p| ((p.table.as_str(), p.column.as_str()), &p.protection))
                    .collect()
            })
            .unwrap_or_default();
        let mut children: HashMap<(TableName, String), Vec<ChildView>> = HashMap::new();
        for t in &self.schema.tables {
            for fk in &t.foreign_keys {
                let mut parent = fk.referenced_name();
                if parent.schema.is_none() && self.schema.table(&parent).is_none() {
                    parent.schema = t.schema.clone();
                }
                for (c, p) in fk.columns.iter().zip(&fk.referenced_columns) {
                    children
                        .entry((parent.clone(), p.clone()))
                        .or_default()
                        .push(ChildView {
                            table: display(&t.table_name()),
                            column: c.clone(),
                            foreign_key: fk.name.clone(),
                        });
                }
            }
        }
        // Tables in load order (then the ones left out), columns filled in below.
        let mut order: Vec<(&Table, TableView)> = Vec::new();
        let place = |t: &Table, step: Option<usize>, group, cycle, rows| TableView {
            name: display(&t.table_name()),
            schema: t.schema.clone(),
            table: t.name.clone(),
            step,
            group,
            cycle,
            excluded: step.is_none(),
            rows,
            columns: Vec::new(),
        };
        if let Some(plan) = plan {
            let group_of: HashMap<&str, usize> = plan
                .levels
                .iter()
                .enumerate()
                .flat_map(|(i, l)| l.iter().map(move |n| (n.as_str(), i + 1)))
                .collect();
            for (i, tp) in plan.tables_by_step().into_iter().enumerate() {
                if let Some(t) = self.schema.table(&tp.table.table_name()) {
                    let group = group_of.get(tp.name.as_str()).copied();
                    order.push((t, place(t, Some(i + 1), group, tp.cycle, tp.reasons.clone())));
                }
            }
        }
        let placed: BTreeSet<TableName> = order.iter().map(|(t, _)| t.table_name()).collect();
        for t in &self.schema.tables {
            if !placed.contains(&t.table_name()) {
                order.push((t, place(t, None, None, None, Vec::new())));
            }
        }
        let tables = order
            .into_iter()
            .map(|(t, mut view)| {
                let name = view.name.clone();
                view.columns = t
                    .columns
                    .iter()
                    .map(|c| {
                        let key = (name.clone(), c.name.clone());
                        let transformer = resolved.get(&key).map(|x| {
                            let (written_kind, written_options) = match (&x.inherited, written.get(&key)) {
                                (None, Some((k, o))) => (Some(k.clone()), Some(o.clone())),
                                _ => (None, None),
                            };
                            TransformerView {
                                spec: x.transformer.clone(),
                                written: as_written(&key, x, &written),
                                kind: x.spec.kind.clone(),
                                origin: if x.inherited.is_some() { "inherited" } else { "set" },
                                inherited: x.inherited.clone(),
                                written_kind,
                                written_options,
                            }
                        });
                        ColumnView {
                            name: c.name.clone(),
                            engine_type: c.engine_type.clone(),
                            nullable: c.nullable,
                            primary_key: t.primary_key.contains(&c.name),
                            primary_key_columns: if t.primary_key.contains(&c.name) {
                                t.primary_key.clone()
                            } else {
                                Vec::new()
                            },
                            unique_keys: t
                                .unique_keys
                                .iter()
                                .filter(|u| u.predicate.is_none() && u.columns.contains(&c.name))
                                .map(|u| u.columns.clone())
                                .collect(),
                            generated: c.generated.is_some(),
                            foreign_keys: t
                                .foreign_keys
                                .iter()
                                .filter_map(|fk| {
                                    let pos = fk.columns.iter().position(|x| x == &c.name)?;
                                    let mut parent = fk.referenced_name();
                                    if parent.schema.is_none() && self.schema.table(&parent).is_none() {
                                        parent.schema = t.schema.clone();
                                    }
                                    Some(FkView {
                                        name: fk.name.clone(),
                                        parent_table: display(&parent),
                                        parent_column: fk.referenced_columns.get(pos).cloned().unwrap_or_default(),
                                        columns: fk.columns.clone(),
                                        parent_columns: fk.referenced_columns.clone(),
                                        on_delete: fk.on_delete.as_sql().to_string(),
                                        on_update: fk.on_update.as_sql().to_string(),
                                        is_virtual: fk.is_virtual,
                                    })
                                })
                                .collect(),
                            referenced_by: children.remove(&(t.table_name(), c.name.clone())).unwrap_or_default(),
                            changed: signature(&key, resolved.get(&key), &written)
                                != signature(&key, saved_resolved.get(&key), &saved_written),
                            personal: scanned.get(&(name.as_str(), c.name.as_str())).and_then(|s| {
                                let class = s.class?;
                                let protection = match protection.get(&(name.as_str(), c.name.as_str())) {
                                    Some(Protection::Transformed { .. }) => "transformed",
                                    Some(Protection::Inherited { .. }) => "inherited",
                                    Some(Protection::Reviewed { .. }) => "reviewed",
                                    Some(Protection::Unprotected) => "unprotected",
                                    None if view.excluded => "not copied",
                                    None => "unknown",
                                };
                                Some(PersonalView {
                                    class: class.to_string(),
                                    confidence: s.confidence,
                                    evidence: s.evidence.clone(),
                                    protection,
                                    suggested_kind: s.suggested.as_ref().map(|x| x.kind.clone()),
                                    suggested_options: s.suggested.as_ref().map(|x| x.options.clone()),
                                })
                            }),
                            transformer,
                        }
                    })
                    .collect();
                view
            })
            .collect();
        View {
            job: self.shown.clone(),
            source: self.source_shown.clone(),
            destinations: self.destinations_shown.clone(),
            dirty: self.dirty,
            error: self.current.as_ref().err().cloned(),
            tables,
            levels: plan.map(|p| p.levels.clone()).unwrap_or_default(),
            cycles: plan
                .map(|p| {
                    p.cycles
                        .iter()
                        .map(|c| CycleView {
                            tables: c.tables.clone(),
                            strategy: c.strategy,
                            foreign_keys: c.foreign_keys.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            privacy: self.privacy.as_ref().map(|s| PrivacyView {
                mode: self.privacy_mode,
                sample: s.sample,
                refusal: self.strict_refusal(),
            }),
            kinds: tether_transform::known_kinds()
                .into_iter()
                .map(|k| KindView {
                    summary: tether_transform::kind_summary(&k).unwrap_or_default().to_string(),
                    name: k,
                })
                .collect(),
        }
    }
}

/// The transformers a plan puts on each column: (table display name, column) -> it.
pub(super) fn transforms_of(plan: Option<&Plan>) -> HashMap<(String, String), &ColumnTransform> {
    plan.into_iter()
        .flat_map(|p| &p.tables)
        .flat_map(|t| {
            t.transforms
                .iter()
                .map(move |x| ((t.name.clone(), x.column.clone()), x))
        })
        .collect()
}

/// Transformers as written in a version of the job file: (table display name, column)
/// -> (kind, other options as `key = value, ...`).
pub(super) fn written_in(doc: &DocumentMut, schema: &Schema) -> HashMap<(String, String), (String, String)> {
    let mut out = HashMap::new();
    let Some(transform) = doc.get("transform").and_then(Item::as_table_like) else {
        return out;
    };
    for (key, columns) in transform.iter() {
        let Some(table) = schema.find_table(key) else {
            continue;
        };
        let table = schema.display_name(&table.table_name());
        let Some(columns) = columns.as_table_like() else {
            continue;
        };
        for (column, item) in columns.iter() {
            let written = match item.as_value() {
                Some(Value::String(kind)) => (kind.value().clone(), String::new()),
                Some(Value::InlineTable(t)) => options_of(t),
                _ => match item.as_table_like() {
                    Some(t) => {
                        let mut inline = InlineTable::new();
                        for (k, v) in t.iter() {
                            if let Some(v) = v.as_value() {
                                inline.insert(k, v.clone());
                            }
                        }
                        options_of(&inline)
                    }
                    None => continue,
                },
            };
            out.insert((table.clone(), column.to_string()), written);
        }
    }
    out
}
