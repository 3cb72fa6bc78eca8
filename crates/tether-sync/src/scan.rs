//! Personal data in a source: `tether scan`, and the privacy coverage every plan
//! and sync reports. Each table gives a bounded, deterministic sample (its lowest
//! keys first), and a column NULL in every sampled row a sample of its own non-NULL
//! values (a column added late in a table's life); [`tether_transform::privacy::classify`]
//! decides per column from the name, the type and the sampled values. Sampled values
//! are never printed.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;
use tether_connect::{Connection, Filter, ReadSpec};
use tether_schema::{DataType, Schema, Table, TableName, Value};
use tether_transform::privacy::{classify, PersonalClass, TableContext};

use crate::anonymize::ColumnTransform;
use crate::config::Privacy;
use crate::error::SyncError;

/// Rows read per table unless the job or the command line says otherwise.
pub use crate::config::DEFAULT_SAMPLE;

/// One column as the scan saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ScannedColumn {
    /// As users write it: `schema.table` outside the default schema.
    pub table: String,
    pub column: String,
    #[serde(rename = "type")]
    pub engine_type: String,
    /// `primary key`, `unique`, `part of unique (a, b)`, `foreign key -> t.c`.
    pub keys: Vec<String>,
    /// None: not personal.
    pub class: Option<PersonalClass>,
    pub confidence: f64,
    pub evidence: Vec<String>,
    /// The transformer to set (None on FK columns: they inherit their parent's).
    pub suggested: Option<tether_transform::privacy::Suggestion>,
    /// For an FK column: the parent column whose transformer it takes.
    pub inherits_from: Option<String>,
    /// Non-NULL values sampled (0: NULL in every row of the table; None: no row read,
    /// the table being empty or the sample 0).
    pub values_sampled: Option<u64>,
    /// Fewer than [`FEW_VALUES`] non-NULL values found (the row sample, then the
    /// column's own values), the column NULL in the other rows read or the table
    /// holding no more rows: too few to judge by value, so not reported clean.
    pub few_values: bool,
    /// CHECK constraints of the table that read the column (other than the
    /// `json_valid` of a MariaDB JSON column): a suggested transformer's values must
    /// pass them, which the scan cannot tell.
    pub checked_by: Vec<String>,
}

/// What `tether scan` found.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub source: String,
    /// Rows read per table at most.
    pub sample: u64,
    pub tables: usize,
    pub rows_read: u64,
    pub columns: Vec<ScannedColumn>,
    pub seconds: f64,
}

impl Scan {
    /// The columns classified as personal.
    pub fn personal(&self) -> impl Iterator<Item = &ScannedColumn> {
        self.columns.iter().filter(|c| c.class.is_some())
    }
}

/// Scans `tables` of `schema` through `conn`, reading at most `sample` rows of each.
pub async fn scan(
    conn: &mut Connection,
    schema: &Schema,
    tables: &[&Table],
    source_shown: &str,
    sample: u64,
) -> Result<Scan, SyncError> {
    let started = Instant::now();
    let d = tether_connect::dialect_of(schema.engine);
    let mut columns = Vec::new();
    let mut rows_read = 0;
    for t in tables {
        let readable: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let rows = if sample == 0 || readable.is_empty() {
            Vec::new()
        } else {
            let spec = ReadSpec {
                table: (*t).clone(),
                columns: readable.clone(),
                filter: Filter::All,
                order_by: sample_order(t),
                limit: Some(sample),
            };
            conn.read_all(&spec).await?
        };
        rows_read += rows.len() as u64;
        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let ctx = TableContext {
            table: &t.name,
            columns: &names,
        };
        let full = sample > 0 && rows.len() as u64 >= sample;
        // The row key's place in the sampled rows: the second read starts after it.
        let key_index = match sample_order(t).as_slice() {
            [key] => t.columns.iter().position(|c| &c.name == key),
            _ => None,
        };
        for (i, c) in t.columns.iter().enumerate() {
            let mut values: Vec<&Value> = rows.iter().filter_map(|r| r.get(i)).filter(|v| !v.is_null()).collect();
            // Too few values in the row sample to judge by value (NULL in every sampled
            // row, or in all but one or two) of a table with more rows: the column's own
            // non-NULL values among the table's newest rows after the sample (a column
            // added late in its life, or filled now and then), one read bounded by an
            // index range. A mostly-NULL column is never judged clean on one value.
            let after = key_index.and_then(|k| rows.last()?.get(k));
            let own = match newest_rows(d, t, &c.name, after) {
                Some(filter) if full && values.len() < FEW_VALUES => {
                    let spec = ReadSpec {
                        table: (*t).clone(),
                        columns: vec![c.name.clone()],
                        filter,
                        order_by: sample_order(t),
                        limit: Some(sample),
                    };
                    conn.read_all(&spec).await?
                }
                _ => Vec::new(),
            };
            values.extend(own.iter().filter_map(|r| r.first()).filter(|v| !v.is_null()));
            let samples: Vec<String> = values.iter().filter_map(|v| text_of(v)).collect();
            let parent = parent_of(schema, t, &c.name);
            let mut finding = classify(&ctx, &as_json(t, c), &samples);
            let mut evidence = finding.as_ref().map(|f| f.evidence.clone()).unwrap_or_default();
            if values.is_empty() && !rows.is_empty() {
                evidence.push("values: none sampled, NULL in every row".into());
            }
            // Fewer values than the classifier needs are never a clean verdict, whether
            // the other rows read were NULL or the table has no more rows (a table of
            // one or two rows holding e-mail addresses).
            let few_values = !values.is_empty() && values.len() < FEW_VALUES;
            if few_values {
                let why = match values.len() < rows.len() {
                    true => "NULL in the other rows read",
                    false => "the table's only rows",
                };
                evidence.push(format!(
                    "values: only {} sampled, {why}: too few to judge by value",
                    values.len()
                ));
            }
            let keys = keys_of(schema, t, &c.name);
            // Its own key: the values must stay distinct after the transformer too.
            let unique = keys.iter().any(|k| k == "primary key" || k == "unique");
            if let (Some(f), true, None) = (finding.as_mut(), unique, &parent) {
                match f.transformer.for_unique_column() {
                    Ok(s) => f.transformer = s,
                    Err(s) => evidence.push(format!(
                        "a unique key: {s} may give two rows one value, and the sync stops on the duplicate; \
                         `hash` keeps the values distinct"
                    )),
                }
            }
            if let Some(f) = finding.as_mut() {
                f.evidence = evidence.clone();
            }
            columns.push(ScannedColumn {
                table: schema.display_name(&t.table_name()),
                column: c.name.clone(),
                engine_type: c.engine_type.clone(),
                keys,
                class: finding.as_ref().map(|f| f.class),
                confidence: finding.as_ref().map_or(0.0, |f| f.confidence),
                evidence,
                suggested: match (&finding, &parent) {
                    (Some(f), None) => Some(f.transformer.clone()),
                    _ => None,
                },
                inherits_from: parent,
                values_sampled: (!rows.is_empty()).then_some(values.len() as u64),
                few_values,
                checked_by: checked_by(t, &c.name),
            });
        }
    }
    // An FK column is as personal as the key it points at (a `customer_email` FK
    // holds emails), and inherits that key's transformer.
    let by_name: HashMap<String, (Option<PersonalClass>, f64, Vec<String>)> = columns
        .iter()
        .map(|c| {
            (
                format!("{}.{}", c.table, c.column),
                (c.class, c.confidence, c.evidence.clone()),
            )
        })
        .collect();
    for c in columns.iter_mut() {
        if let (None, Some(parent)) = (c.class, &c.inherits_from) {
            if let Some((Some(class), confidence, _)) = by_name.get(parent) {
                c.class = Some(*class);
                c.confidence = *confidence;
                c.evidence = vec![format!("foreign key to {parent}, a {class} column")];
            }
        }
    }
    Ok(Scan {
        source: source_shown.to_string(),
        sample,
        tables: tables.len(),
        rows_read,
        columns,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The CHECK constraints of `t` reading `column`, but a bare `json_valid(column)`.
fn checked_by(t: &Table, column: &str) -> Vec<String> {
    t.extras
        .checks
        .iter()
        .filter(|k| !k.exclusion)
        .filter(|k| {
            k.definition
                .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .any(|w| w.eq_ignore_ascii_case(column))
        })
        .filter(|k| {
            let bare: String = k
                .definition
                .to_ascii_lowercase()
                .chars()
                .filter(|c| !matches!(c, '`' | '"' | ' ' | '(' | ')'))
                .collect();
            bare.trim_start_matches("check") != format!("json_valid{}", column.to_ascii_lowercase())
        })
        .map(|k| k.name.clone())
        .collect()
}

/// The column as the classifier should see it: MariaDB's `JSON` is a `longtext` with a
/// `json_valid` CHECK, and is JSON as PostgreSQL's `json`/`jsonb` and SQLite's `json`
/// are (the same documents get the same class and a suggestion that stays JSON).
fn as_json(t: &Table, c: &tether_schema::Column) -> tether_schema::Column {
    let json_checked = c.normalized_type.is_text()
        && t.extras.checks.iter().any(|k| {
            let d = k.definition.to_ascii_lowercase();
            d.contains("json_valid")
                && d.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .any(|w| w.eq_ignore_ascii_case(&c.name))
        });
    let mut c = c.clone();
    if json_checked {
        c.normalized_type = DataType::Json;
    }
    c
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Text(s) if !s.trim().is_empty() => Some(s.clone()),
        // Text that is not UTF-8 (a SQLite value in Latin-1, say) is read byte by byte
        // as Latin-1: the patterns looked for are ASCII, and names keep their accents.
        Value::RawText(b) => {
            Some(b.iter().map(|&c| char::from(c)).collect::<String>()).filter(|s| !s.trim().is_empty())
        }
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

/// The parent column an FK column references (`table.column`), for its first FK.
fn parent_of(schema: &Schema, t: &Table, column: &str) -> Option<String> {
    t.foreign_keys.iter().find_map(|fk| {
        let i = fk.columns.iter().position(|c| c == column)?;
        Some(format!(
            "{}.{}",
            schema.display_name(&fk.referenced_name()),
            fk.referenced_columns.get(i)?
        ))
    })
}

fn keys_of(schema: &Schema, t: &Table, column: &str) -> Vec<String> {
    let mut keys = Vec::new();
    if t.primary_key.iter().any(|c| c == column) {
        keys.push(if t.primary_key.len() == 1 {
            "primary key".to_string()
        } else {
            format!("part of primary key ({})", t.primary_key.join(", "))
        });
    }
    for u in &t.unique_keys {
        if u.columns.iter().any(|c| c == column) {
            keys.push(if u.columns.len() == 1 {
                "unique".to_string()
            } else {
                format!("part of unique ({})", u.columns.join(", "))
            });
        }
    }
    for fk in &t.foreign_keys {
        if let Some(i) = fk.columns.iter().position(|c| c == column) {
            keys.push(format!(
                "foreign key {} -> {}.{}",
                fk.name,
                schema.display_name(&fk.referenced_name()),
                fk.referenced_columns.get(i).map_or("?", |s| s.as_str())
            ));
        }
    }
    keys
}

/// How a personal column is treated by a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Protection {
    /// A transformer set on the column.
    Transformed { transformer: String },
    /// The transformer of the parent key it references.
    Inherited { transformer: String, from: String },
    /// `passthrough` with a `reason`: copied unchanged on purpose.
    Reviewed { reason: String },
    /// Copied unchanged, nobody said why.
    Unprotected,
}

/// A personal column of a job and how the job treats it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonalColumn {
    pub table: String,
    pub column: String,
    pub class: PersonalClass,
    pub confidence: f64,
    pub protection: Protection,
}

/// The privacy part of a plan and a sync report.
#[derive(Debug, Clone, Serialize)]
pub struct PrivacyReport {
    pub mode: Privacy,
    /// Rows sampled per table.
    pub sample: u64,
    pub personal: Vec<PersonalColumn>,
    /// Columns (`table.column`) of which no value was sampled: NULL in every row (the
    /// row sample, then a sample of the column's own non-NULL values); not classified
    /// by their values.
    pub no_values: Vec<String>,
    /// Columns (`table.column`) not classified and judged on fewer than
    /// [`FEW_VALUES`] values (NULL in the other rows read, or the table has no more
    /// rows): not known clean.
    pub few_values: Vec<String>,
}

impl PrivacyReport {
    pub fn unprotected(&self) -> impl Iterator<Item = &PersonalColumn> {
        self.personal.iter().filter(|p| p.protection == Protection::Unprotected)
    }

    /// For people: one line per unprotected column, then a count of the rest.
    pub fn to_text(&self) -> String {
        let unprotected: Vec<&PersonalColumn> = self.unprotected().collect();
        let mut out = format!(
            "Personal data ({} row{} sampled per table): {} personal column{}, {} copied unchanged\n",
            self.sample,
            if self.sample == 1 { "" } else { "s" },
            self.personal.len(),
            if self.personal.len() == 1 { "" } else { "s" },
            unprotected.len()
        );
        for p in &unprotected {
            out.push_str(&format!(
                "  UNPROTECTED {}.{} ({}, confidence {:.2})\n",
                p.table, p.column, p.class, p.confidence
            ));
        }
        let reviewed = self
            .personal
            .iter()
            .filter(|p| matches!(p.protection, Protection::Reviewed { .. }))
            .count();
        if reviewed > 0 {
            out.push_str(&format!("  {reviewed} reviewed (passthrough with a reason)\n"));
        }
        if !self.no_values.is_empty() {
            const SHOWN: usize = 10;
            let more = match self.no_values.len().saturating_sub(SHOWN) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            out.push_str(&format!(
                "  {} column{} NULL in every row, no value sampled: {}{more}\n",
                self.no_values.len(),
                if self.no_values.len() == 1 { "" } else { "s" },
                self.no_values[..self.no_values.len().min(SHOWN)].join(", ")
            ));
        }
        if !self.few_values.is_empty() {
            const SHOWN: usize = 10;
            let more = match self.few_values.len().saturating_sub(SHOWN) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            out.push_str(&format!(
                "  {} column{} with fewer than {FEW_VALUES} values (NULL in the other rows read, or no more rows), \
                 not judged by value: {}{more}\n",
                self.few_values.len(),
                if self.few_values.len() == 1 { "" } else { "s" },
                self.few_values[..self.few_values.len().min(SHOWN)].join(", ")
            ));
        }
        if !unprotected.is_empty() {
            out.push_str(
                "  transform them in [transform.TABLE], or mark them reviewed with \
                 { kind = \"passthrough\", reason = \"...\" }; `tether scan JOB --suggest` writes suggestions\n",
            );
        }
        out
    }
}

/// How `transforms` (the job's, resolved, one entry per copied table) treat each
/// personal column of `scan` in those tables.
pub fn coverage(
    scan: &Scan,
    schema: &Schema,
    transforms: &HashMap<TableName, Vec<ColumnTransform>>,
    mode: Privacy,
) -> PrivacyReport {
    let mut personal = Vec::new();
    for c in scan.personal() {
        let Some(class) = c.class else { continue };
        let Some(list) = schema
            .find_table(&c.table)
            .and_then(|t| transforms.get(&t.table_name()))
        else {
            continue;
        };
        let own = list.iter().find(|x| x.column == c.column);
        let protection = match own {
            Some(x) if x.spec.kind == "passthrough" => match x.spec.options.get("reason").and_then(|r| r.as_str()) {
                Some(reason) if !reason.trim().is_empty() => Protection::Reviewed {
                    reason: reason.to_string(),
                },
                _ => Protection::Unprotected,
            },
            Some(x) => match &x.inherited {
                Some(i) => Protection::Inherited {
                    transformer: x.transformer.clone(),
                    from: format!("{}.{}", i.table, i.column),
                },
                None => Protection::Transformed {
                    transformer: x.transformer.clone(),
                },
            },
            None => Protection::Unprotected,
        };
        personal.push(PersonalColumn {
            table: c.table.clone(),
            column: c.column.clone(),
            class,
            confidence: c.confidence,
            protection,
        });
    }
    // An FK column of a parent key marked reviewed is copied unchanged as its parent
    // is, on the same review (as an FK column of a transformed key inherits that
    // transformer): it cannot take a transformer of its own.
    for p in personal.iter_mut().filter(|p| p.protection == Protection::Unprotected) {
        let parent = scan
            .columns
            .iter()
            .find(|c| c.table == p.table && c.column == p.column)
            .and_then(|c| c.inherits_from.as_deref());
        if let Some((from, reason)) = parent.and_then(|from| Some((from, reviewed(schema, transforms, from)?))) {
            p.protection = Protection::Reviewed {
                reason: format!("inherited from {from}: {reason}"),
            };
        }
    }
    // By table name, columns in table order: the same list whichever order the
    // tables were scanned in.
    personal.sort_by(|a, b| a.table.cmp(&b.table));
    let unjudged = |few: bool| {
        let mut list: Vec<String> = scan
            .columns
            .iter()
            .filter(|c| c.class.is_none())
            .filter(|c| if few { c.few_values } else { c.values_sampled == Some(0) })
            .filter(|c| {
                schema
                    .find_table(&c.table)
                    .is_some_and(|t| transforms.contains_key(&t.table_name()))
            })
            .map(|c| format!("{}.{}", c.table, c.column))
            .collect();
        list.sort();
        list
    };
    PrivacyReport {
        mode,
        sample: scan.sample,
        personal,
        no_values: unjudged(false),
        few_values: unjudged(true),
    }
}

/// The reason of a `passthrough` with a reason on `table.column` (as the scan names
/// it), following that column's own FK parent when it has one.
fn reviewed(schema: &Schema, transforms: &HashMap<TableName, Vec<ColumnTransform>>, column: &str) -> Option<String> {
    let (table, col) = column.rsplit_once('.')?;
    let t = schema.find_table(table)?;
    let x = transforms.get(&t.table_name())?.iter().find(|x| x.column == col);
    match x {
        Some(x) if x.spec.kind == "passthrough" => x
            .spec
            .options
            .get("reason")
            .and_then(|r| r.as_str())
            .filter(|r| !r.trim().is_empty())
            .map(str::to_string),
        Some(_) => None,
        None => reviewed(schema, transforms, &parent_of(schema, t, col)?),
    }
}

/// The error of a `privacy = "strict"` job that leaves personal columns unprotected.
pub fn strict_refusal(job_path: &str, report: &PrivacyReport) -> Option<SyncError> {
    let open: Vec<String> = report
        .unprotected()
        .map(|p| format!("{}.{} ({})", p.table, p.column, p.class))
        .collect();
    (report.mode == Privacy::Strict && !open.is_empty()).then(|| {
        SyncError::Plan(format!(
            "{job_path}: privacy = \"strict\": {} personal column{} would be copied unchanged: {}; transform \
             them or mark them reviewed with {{ kind = \"passthrough\", reason = \"...\" }}",
            open.len(),
            if open.len() == 1 { "" } else { "s" },
            open.join(", ")
        ))
    })
}

/// The columns a table's sample is ordered by, for the same sample on every run: its
/// key, or, without one, every column of a type the engine can order (PostgreSQL's
/// `json`, `xml` and geometric types have no ordering: naming one made the scan, and
/// so the job, fail).
/// How many of a table's highest keys the second sample of a column NULL in the
/// first one looks at: an index range, never a scan of a large table.
const NEWEST_ROWS: u64 = 100_000;

/// `column IS NOT NULL` among the table's [`NEWEST_ROWS`] highest keys, for a table
/// with a one-column key (`None` otherwise: without such a key the read could scan
/// the whole table, so the column is reported as not sampled).
/// `after`: the highest key of the row sample, so the second read holds none of the
/// values the first one already counted.
fn newest_rows(d: &dyn tether_connect::Dialect, t: &Table, column: &str, after: Option<&Value>) -> Option<Filter> {
    let [key] = sample_order(t).try_into().ok()?;
    if t.primary_key.as_slice() != [key.clone()] {
        return None;
    }
    let (key, table) = (d.ident(&key), d.own_rows(t));
    let after = after
        .filter(|v| !v.is_null())
        .map(|v| format!(" AND {key} > {}", d.literal(v)))
        .unwrap_or_default();
    Some(Filter::Where(format!(
        "{} IS NOT NULL{after} AND {key} >= (SELECT MIN(n.{key}) FROM (SELECT {key} FROM {table} \
         ORDER BY {key} DESC LIMIT {NEWEST_ROWS}) n)",
        d.ident(column)
    )))
}

/// Values a column needs for the classifier to judge it by value
/// ([`tether_transform::privacy::classify`]: never on fewer than three).
pub const FEW_VALUES: usize = 3;

fn sample_order(t: &Table) -> Vec<String> {
    let key = t.row_key();
    if !t.primary_key.is_empty() || t.unique_keys.iter().any(|u| u.predicate.is_none()) {
        return key;
    }
    t.columns
        .iter()
        .filter(|c| !matches!(c.normalized_type, DataType::Json | DataType::Other(_)))
        .map(|c| c.name.clone())
        .collect()
}
