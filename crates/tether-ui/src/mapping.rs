//! A job's column mapping as `tether ui` edits it: the job file as a TOML document
//! (comments and layout kept), the source schema read once, and the plan made again on
//! every change, so the page shows, accepts and refuses exactly what `tether plan`
//! would after a save.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tether_connect::{Connection, IntrospectOptions};
use tether_schema::{virtual_fk, Schema, Table, TableName};
use tether_sync::anonymize::ColumnTransform;
use tether_sync::scan::Protection;
use tether_sync::{Job, Plan, SyncError};
use toml_edit::{DocumentMut, InlineTable, Item, Value};

use crate::UiError;

/// The job being edited.
pub struct Mapping {
    path: PathBuf,
    /// The path as the user gave it (errors and the page show this).
    shown: String,
    doc: DocumentMut,
    /// The file's text as last read or written, to notice edits made meanwhile.
    on_disk: String,
    /// `on_disk` parsed: tables under `[transform]` it has are kept, even emptied.
    saved_doc: DocumentMut,
    /// The text read at start, backed up to `FILE.bak` by the first save.
    loaded: String,
    backed_up: bool,
    /// Entries removed this session, with their formatting and comments, put back as
    /// they were if set again.
    removed: HashMap<(String, String), (toml_edit::Key, Item)>,
    schema: Schema,
    source_shown: String,
    destinations_shown: Vec<String>,
    /// The plan of the current document, or why there is none.
    current: Result<Plan, String>,
    /// The last plan made, for the page's structure while `current` is an error.
    last_good: Option<Plan>,
    dirty: bool,
    /// The source's personal columns (None with `privacy = "off"`).
    privacy: Option<tether_sync::scan::Scan>,
    /// The job's `privacy` as read at start (the page does not change it).
    privacy_mode: tether_sync::config::Privacy,
    /// The plan of the file as last read or written (None if it does not plan): what
    /// "changed since saved" compares with.
    saved_plan: Option<Plan>,
    /// The destinations' tables, for the plan's schema report.
    destinations: tether_sync::schema_plan::Destinations,
}

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
#[derive(Debug, Serialize)]
pub struct Saved {
    pub path: String,
    /// The previous version of the file.
    pub backup: String,
}

impl Mapping {
    /// Reads the job file and the source's schema (once).
    pub async fn open(path: &Path) -> Result<Mapping, UiError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| UiError::Usage(format!("cannot read {shown}: {e}")))?;
        let doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| UiError::Usage(format!("{shown}: {}", one_line(&e.to_string()))))?;
        let seed_vars = seed_vars(&doc);
        let job = Job::parse(&shown, &text, &|k| env(&seed_vars, k))?;
        let url = job.source_url()?;
        let mut source = Connection::open_source(&url).await.map_err(SyncError::from)?;
        let mut schema = source
            .introspect(&IntrospectOptions::default())
            .await
            .map_err(SyncError::from)?;
        virtual_fk::apply(&mut schema, &job.virtual_fks).map_err(SyncError::from)?;
        // Personal data, read once like the schema: the plan shown on the page says
        // what `tether plan` says about it.
        let privacy = if job.privacy == tether_sync::config::Privacy::Off {
            None
        } else {
            let tables: Vec<&tether_schema::Table> = schema.tables.iter().collect();
            let shown = url.to_string();
            Some(tether_sync::scan::scan(&mut source, &schema, &tables, &shown, job.options.privacy_sample).await?)
        };
        let mut destinations_shown = Vec::new();
        let mut urls = Vec::new();
        for d in &job.destinations {
            let url = match &d.unresolved {
                Some(_) => None,
                None => Some(d.db_url()?),
            };
            destinations_shown.push(match &url {
                Some(u) => u.to_string(),
                None => tether_connect::url::redact(&d.url),
            });
            urls.push(url);
        }
        // The destinations, read once like the schema: the plan shown on the page says
        // what `tether plan` says about the tables it creates there.
        let tables: Vec<&tether_schema::Table> = schema.tables.iter().collect();
        let destinations = tether_sync::read_destinations(&schema, &tables, &urls, &mut source).await?;
        source.close().await;
        let mut mapping = Mapping {
            path: path.to_path_buf(),
            shown,
            saved_doc: doc.clone(),
            doc,
            loaded: text.clone(),
            backed_up: false,
            removed: HashMap::new(),
            on_disk: text,
            schema,
            source_shown: url.to_string(),
            destinations_shown,
            current: Err(String::new()),
            last_good: None,
            dirty: false,
            privacy,
            privacy_mode: job.privacy,
            saved_plan: None,
            destinations,
        };
        mapping.current = mapping.evaluate(&mapping.doc);
        mapping.saved_plan = mapping.current.as_ref().ok().cloned();
        mapping.last_good = match &mapping.current {
            Ok(p) => Some(p.clone()),
            Err(_) => {
                // The structure (tables, order, cycles) without the mapping, if that plans.
                let mut bare = mapping.doc.clone();
                bare.remove("transform");
                mapping.evaluate(&bare).ok()
            }
        };
        Ok(mapping)
    }

    /// The source URL, password hidden.
    pub fn source(&self) -> &str {
        &self.source_shown
    }

    /// The job file as the user named it.
    pub fn job(&self) -> &str {
        &self.shown
    }

    /// Parses and plans a version of the job file: the same checks `tether plan` makes.
    /// Errors are worded for the page ([`for_page`]).
    fn evaluate(&self, doc: &DocumentMut) -> Result<Plan, String> {
        let text = doc.to_string();
        let seed_vars = seed_vars(doc);
        let on_page = |e: SyncError| for_page(&self.shown, &e.to_string(), text == self.on_disk);
        let job = Job::parse(&self.shown, &text, &|k| env(&seed_vars, k)).map_err(on_page)?;
        let (mut plan, _) = tether_sync::plan::build(&job, &self.schema, &self.source_shown, &self.destinations_shown)
            .map_err(on_page)?;
        if let (Some(found), false) = (&self.privacy, job.privacy == tether_sync::config::Privacy::Off) {
            plan.attach_privacy(found, &self.schema, job.privacy);
        }
        self.destinations.attach(&mut plan, &self.schema);
        Ok(plan)
    }

    /// The plan as `tether plan` prints it, or why there is none (also a `privacy =
    /// "strict"` refusal, as `tether plan` gives).
    pub fn plan_text(&self) -> Result<String, String> {
        if let Some(refusal) = self.strict_refusal() {
            return Err(refusal);
        }
        self.current.as_ref().map(|p| p.to_text()).map_err(Clone::clone)
    }

    /// Why `tether plan` refuses the current mapping under `privacy = "strict"`. Kept
    /// apart from planning errors: the page still shows and edits the mapping.
    fn strict_refusal(&self) -> Option<String> {
        let report = self.current.as_ref().ok()?.privacy.as_ref()?;
        let e = tether_sync::scan::strict_refusal(&self.shown, report)?;
        Some(for_page(&self.shown, &e.to_string(), true))
    }

    /// Sets (`Some((kind, options))`, options as `key = value, ...`) or removes (`None`)
    /// the transformer of one column. A change that makes the job fail to plan is
    /// refused with the planner's message and changes nothing (unless the job already
    /// failed before it).
    pub fn set_transformer(&mut self, table: &str, column: &str, choice: Option<(&str, &str)>) -> Result<(), String> {
        let t = self
            .schema
            .find_table(table)
            .ok_or_else(|| format!("table `{table}` does not exist in the source"))?;
        if t.column(column).is_none() {
            return Err(format!("column `{column}` does not exist in table `{table}`"));
        }
        let name = t.table_name();
        let mut doc = self.doc.clone();
        let key = self.transform_key(&name);
        let mut removed = None;
        match choice {
            Some((kind, options)) => {
                let value = spec_value(kind, options)?;
                if doc.get("seed").is_none() {
                    let mut seed = toml_edit::value("${TETHER_SEED}");
                    if let Some(v) = seed.as_value_mut() {
                        v.decor_mut()
                            .set_suffix("  # the secret keying every transformer, from the environment");
                    }
                    doc.insert("seed", seed);
                }
                let transform = doc.entry("transform").or_insert_with(|| {
                    let mut t = toml_edit::Table::new();
                    t.set_implicit(true);
                    Item::Table(t)
                });
                let transform = transform
                    .as_table_like_mut()
                    .ok_or("the job file's `transform` is not a table")?;
                let columns = transform
                    .entry(&key)
                    .or_insert(Item::Table(toml_edit::Table::new()))
                    .as_table_like_mut()
                    .ok_or_else(|| format!("the job file's `transform.{key}` is not a table"))?;
                match columns.get_mut(column) {
                    // Keep the entry's place and comments; replace only its value.
                    Some(Item::Value(old)) => {
                        let decor = old.decor().clone();
                        *old = value;
                        *old.decor_mut() = decor;
                    }
                    // `[transform.customer.email]` then `kind = ...`: the same form.
                    Some(Item::Table(old)) => {
                        old.clear();
                        match value {
                            Value::InlineTable(t) => {
                                for (k, v) in t.iter() {
                                    old.insert(k, Item::Value(v.clone()));
                                }
                            }
                            other => {
                                old.insert("kind", Item::Value(other));
                            }
                        }
                    }
                    _ => match self.removed.get(&(key.clone(), column.to_string())) {
                        // Removed earlier in this session: back with its comments.
                        Some((k, old)) => {
                            let mut v = value;
                            if let Some(old) = old.as_value() {
                                *v.decor_mut() = old.decor().clone();
                            }
                            columns.entry_format(k).or_insert(Item::Value(v));
                        }
                        None => {
                            columns.insert(column, Item::Value(value));
                        }
                    },
                }
                // `customer = { email = "email" }` under [transform]: keep it inline, spaced
                // as TOML writes it.
                if let Some(inline) = transform.get_mut(&key).and_then(Item::as_inline_table_mut) {
                    inline.fmt();
                }
            }
            None => {
                // A table the saved file has stays, emptied, with its comments.
                let keep_table = self
                    .saved_doc
                    .get("transform")
                    .and_then(Item::as_table_like)
                    .is_some_and(|t| t.contains_key(&key));
                if let Some(transform) = doc.get_mut("transform").and_then(Item::as_table_like_mut) {
                    if let Some(columns) = transform.get_mut(&key).and_then(Item::as_table_like_mut) {
                        let k = columns.key(column).cloned();
                        if let (Some(k), Some(item)) = (k, columns.remove(column)) {
                            removed = Some(((key.clone(), column.to_string()), (k, item)));
                        }
                        if columns.is_empty() && !keep_table {
                            transform.remove(&key);
                        }
                    }
                }
            }
        }
        let outcome = self.evaluate(&doc);
        if let Err(e) = &outcome {
            if self.current.is_ok() {
                return Err(e.clone());
            }
        }
        if let Ok(plan) = &outcome {
            self.last_good = Some(plan.clone());
        }
        if let Some((at, entry)) = removed {
            self.removed.insert(at, entry);
        }
        self.current = outcome;
        self.doc = doc;
        self.dirty = self.doc.to_string() != self.on_disk;
        Ok(())
    }

    /// The key under `[transform]` this table's entries live in: the one the file
    /// already uses, else the table's display name.
    fn transform_key(&self, name: &TableName) -> String {
        if let Some(transform) = self.doc.get("transform").and_then(Item::as_table_like) {
            for (key, _) in transform.iter() {
                if self.schema.find_table(key).map(Table::table_name).as_ref() == Some(name) {
                    return key.to_string();
                }
            }
        }
        self.schema.display_name(name)
    }

    /// Writes the job file: comments and layout kept, the file as it was when `tether ui`
    /// read it in `FILE.bak` (written by the first save only), permissions kept, a
    /// symlink followed. Refused when the file changed on disk since it was read.
    pub fn save(&mut self) -> Result<Saved, String> {
        let disk = std::fs::read_to_string(&self.path).map_err(|e| format!("cannot read {}: {e}", self.shown))?;
        if disk != self.on_disk {
            return Err(format!(
                "{} changed on disk after tether ui read it; nothing was written (restart tether ui to edit the new version)",
                self.shown
            ));
        }
        let target = std::fs::canonicalize(&self.path).map_err(|e| format!("cannot resolve {}: {e}", self.shown))?;
        let permissions = std::fs::metadata(&target)
            .map_err(|e| format!("cannot read {}: {e}", self.shown))?
            .permissions();
        let backup = format!("{}.bak", target.display());
        if !self.backed_up {
            write_new(Path::new(&backup), &self.loaded, &permissions)?;
            self.backed_up = true;
        }
        let text = self.doc.to_string();
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = target.with_file_name(format!(".{name}.tether-ui.tmp"));
        write_new(&tmp, &text, &permissions)?;
        std::fs::rename(&tmp, &target).map_err(|e| format!("cannot replace {}: {e}", self.shown))?;
        self.saved_doc = self.doc.clone();
        self.on_disk = text;
        self.dirty = false;
        self.saved_plan = self.current.as_ref().ok().cloned();
        Ok(Saved {
            path: self.shown.clone(),
            backup,
        })
    }

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
fn transforms_of(plan: Option<&Plan>) -> HashMap<(String, String), &ColumnTransform> {
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
fn written_in(doc: &DocumentMut, schema: &Schema) -> HashMap<(String, String), (String, String)> {
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

/// Writes `text` to a fresh file at `path` (replacing one left behind) that never has
/// wider permissions than `permissions`: a private job file's copies stay private.
fn write_new(path: &Path, text: &str, permissions: &std::fs::Permissions) -> Result<(), String> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(permissions.mode() & 0o777);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::set_permissions(path, permissions.clone()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// (kind, the other entries as `key = value, ...`).
fn options_of(t: &InlineTable) -> (String, String) {
    let kind = t.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let options: Vec<String> = t
        .iter()
        .filter(|(k, _)| *k != "kind")
        .map(|(k, v)| format!("{k} = {}", v.to_string().trim()))
        .collect();
    (kind, options.join(", "))
}

/// The TOML value of a transformer: the kind alone, or `{ kind = "...", options }`.
fn spec_value(kind: &str, options: &str) -> Result<Value, String> {
    let kind = kind.trim();
    if kind.is_empty() {
        return Err("choose a transformer kind".into());
    }
    let options = options.trim();
    if options.is_empty() {
        return Ok(Value::from(kind));
    }
    if options.contains('\n') {
        return Err("options: write them on one line: key = value, key = value".into());
    }
    let parsed: DocumentMut = format!("options = {{ {options} }}")
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("options `{options}`: {}", one_line(e.message())))?;
    let Some(Value::InlineTable(given)) = parsed.get("options").and_then(Item::as_value) else {
        return Err(format!("options `{options}`: expected key = value, key = value"));
    };
    if given.contains_key("kind") {
        return Err("options: `kind` is chosen from the list, not written among the options".into());
    }
    let mut table = InlineTable::new();
    table.insert("kind", Value::from(kind));
    for (k, v) in given.iter() {
        let mut v = v.clone();
        v.decor_mut().clear();
        table.insert(k, v);
    }
    table.fmt();
    Ok(Value::InlineTable(table))
}

/// A planner's message about job file `shown` as the page shows it: without the path
/// (the page names the file once, at its top), and without a line number when the text
/// planned is not the file on disk (the line of an unsaved version points nowhere the
/// user can look; the message names the key, `[transform.t] c`, instead).
fn for_page(shown: &str, message: &str, text_is_on_disk: bool) -> String {
    let message = message
        .strip_prefix(shown)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message);
    if text_is_on_disk {
        return message.to_string();
    }
    match message.strip_prefix("line ").and_then(|m| m.split_once(": ")) {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest.to_string(),
        _ => message.to_string(),
    }
}

/// `${NAME}` variables in the job's `seed`.
fn seed_vars(doc: &DocumentMut) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = doc.get("seed").and_then(Item::as_str).unwrap_or_default();
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        out.insert(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// The environment, except that variables only the seed uses need not be set: the
/// page plans, it never transforms, so it needs no secret.
fn env(seed_vars: &BTreeSet<String>, name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| seed_vars.contains(name).then(|| "not-needed-by-tether-ui".to_string()))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_alone_is_a_string_and_options_make_an_inline_table() {
        assert_eq!(spec_value("email", "").unwrap().to_string(), "\"email\"");
        assert_eq!(
            spec_value("email", "keep_domain = true").unwrap().to_string(),
            "{ kind = \"email\", keep_domain = true }"
        );
        assert_eq!(
            spec_value("categorical", "values = [\"a\", \"b\"]")
                .unwrap()
                .to_string(),
            "{ kind = \"categorical\", values = [\"a\", \"b\"] }"
        );
    }

    #[test]
    fn bad_options_are_errors_that_quote_them() {
        let e = spec_value("email", "keep_domain = ").unwrap_err();
        assert!(e.starts_with("options `keep_domain =`"), "{e}");
        assert!(spec_value("email", "kind = \"x\"")
            .unwrap_err()
            .contains("`kind` is chosen"));
        assert_eq!(spec_value(" ", "").unwrap_err(), "choose a transformer kind");
    }

    #[test]
    fn page_messages_drop_the_path_and_lines_of_unsaved_text() {
        let m = "/home/a/job.toml: line 14: [transform.p] code: transformer `full_name`: bad";
        assert_eq!(
            for_page("/home/a/job.toml", m, false),
            "[transform.p] code: transformer `full_name`: bad"
        );
        // The file on disk: its lines are real.
        assert_eq!(
            for_page("/home/a/job.toml", m, true),
            "line 14: [transform.p] code: transformer `full_name`: bad"
        );
        // No line: only the path goes; another file's path stays.
        assert_eq!(
            for_page("job.toml", "job.toml: foreign key `f`: differs", false),
            "foreign key `f`: differs"
        );
        assert_eq!(
            for_page("job.toml", "other.toml: line 2: x", false),
            "other.toml: line 2: x"
        );
        assert_eq!(for_page("job.toml", "job.toml: line x: y", false), "line x: y");
    }

    #[test]
    fn seed_variables_are_found() {
        let doc: DocumentMut = "seed = \"${A}-${B}\"\n".parse().unwrap();
        assert_eq!(seed_vars(&doc), BTreeSet::from(["A".to_string(), "B".to_string()]));
    }

    #[test]
    fn written_options_read_back_as_typed() {
        let doc: DocumentMut = "x = { kind = \"email\", keep_domain = true, domain = \"a.org\" }\n"
            .parse()
            .unwrap();
        let t = doc["x"].as_inline_table().unwrap();
        assert_eq!(
            options_of(t),
            (
                "email".to_string(),
                "keep_domain = true, domain = \"a.org\"".to_string()
            )
        );
    }
}
