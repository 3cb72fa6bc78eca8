//! A job's column mapping as `tether ui` edits it: the job file as a TOML document
//! (comments and layout kept), the source schema read once, and the plan made again on
//! every change, so the page shows, accepts and refuses exactly what `tether plan`
//! would after a save.

mod doc;
mod view;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tether_connect::{Connection, IntrospectOptions};
use tether_schema::{virtual_fk, Schema, Table, TableName};
use tether_sync::{Job, Plan, SyncError};
use toml_edit::{DocumentMut, Item, Value};

use crate::UiError;

use doc::*;
pub use view::*;

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
    /// The file's BOM and line endings, kept by Save.
    encoding: Encoding,
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
            encoding: Encoding::of(&text),
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
        let is_on_disk = self.encoding.text(doc) == self.on_disk;
        let on_page = |e: SyncError| for_page(&self.shown, &e.to_string(), is_on_disk);
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
                // `transform = { ... }` written inline can hold inline tables only: a
                // `[table]` put in it is kept in memory but never written out.
                let inline = transform.is_inline_table();
                let transform = transform
                    .as_table_like_mut()
                    .ok_or("the job file's `transform` is not a table")?;
                let columns = transform
                    .entry(&key)
                    .or_insert(if inline {
                        Item::Value(Value::InlineTable(toml_edit::InlineTable::new()))
                    } else {
                        Item::Table(toml_edit::Table::new())
                    })
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
        if choice.is_some() && !written(&doc, &key, column) {
            // Whatever layout the file has, an edit the written text would not hold is
            // refused rather than shown as made.
            return Err(format!(
                "this edit cannot be written into the job file's layout of `transform` \
                 (`{key}`.`{column}` would not appear in the saved file): edit the file by hand"
            ));
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
        self.dirty = self.encoding.text(&self.doc) != self.on_disk;
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
        // A display name another table is also named (`a.b`: table `b` of schema `a`, and
        // `public."a.b"`) is ambiguous to the planner: the quoted spelling names one
        // table only (review r22o F2).
        let shown = self.schema.display_name(name);
        let ambiguous = self
            .schema
            .tables
            .iter()
            .any(|t| t.table_name() != *name && t.name == shown);
        match ambiguous {
            true => name.quoted(),
            false => shown,
        }
    }

    /// Writes the job file: comments, layout, line endings (CRLF if its first line had
    /// one) and a UTF-8 BOM kept, the file as it was when `tether ui`
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
        let text = self.encoding.text(&self.doc);
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
}

/// Whether the text `doc` writes has `transform.<key>.<column>`.
fn written(doc: &DocumentMut, key: &str, column: &str) -> bool {
    doc.to_string().parse::<DocumentMut>().is_ok_and(|d| {
        d.get("transform")
            .and_then(Item::as_table_like)
            .and_then(|t| t.get(key))
            .and_then(Item::as_table_like)
            .is_some_and(|c| c.contains_key(column))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

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
