//! Verification after loading, with Tether's own queries on each destination: orphans
//! per foreign key (declared and virtual), and each table's rows against what the source
//! has (its own rows, counted in the job's snapshot; the rows a subset chose, duplicates
//! of a table without a key and rows with a NULL key counted one by one). The
//! queries of one destination are spread over every connection the job has to it.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use tether_connect::value::describe_key;
use tether_connect::{Connection, Value};
use tether_schema::{DataType, ForeignKey, Schema, Table};

use crate::error::SyncError;
use crate::execute::{destination_name, Destination, TableReport};
use crate::plan::{Plan, Rows};
use crate::subset::Subset;

mod fk_collation;
mod fk_match;
mod fk_types;

#[derive(Debug, Clone, Serialize)]
pub struct Orphans {
    pub table: String,
    pub foreign_key: String,
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
    pub count: u64,
    /// Up to five child keys whose parent is missing.
    pub examples: Vec<String>,
    /// The foreign key is `NOT VALID` (PostgreSQL): it checks rows written after it was
    /// added only, and lets these through at the source as on the copy. Reported, not a
    /// failure of the job.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountCheck {
    pub table: String,
    pub rows_read: u64,
    /// The source table's own rows (PostgreSQL: without tables inheriting from it), or
    /// the rows a subset chose ([`Subset::rows_chosen`]).
    pub rows_in_source: u64,
    pub rows_in_destination: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub destination: String,
    pub foreign_keys_checked: usize,
    /// FKs with orphans (empty when all is well).
    pub orphans: Vec<Orphans>,
    /// Tables with fewer rows than the source has.
    pub missing_rows: Vec<CountCheck>,
    /// Tables emptied for the job (`truncate`) that hold more rows than the source has.
    pub extra_rows: Vec<CountCheck>,
    pub ok: bool,
}

fn int_type() -> DataType {
    DataType::Int {
        bytes: 8,
        unsigned: false,
    }
}

fn first_int(rows: &[Vec<Value>]) -> u64 {
    match rows.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n as u64,
        _ => 0,
    }
}

/// One query of the verification.
enum Check {
    Orphans {
        child: Table,
        fk: Box<ForeignKey>,
        key: Vec<String>,
        /// The parent as the destination has it, when it is one of the job's tables.
        parent: Option<Box<Table>>,
        /// For each FK column: the source compares it as text ([`fk_types`]).
        source_text: Vec<bool>,
    },
    Count {
        table: Table,
        name: String,
        rows_read: u64,
        rows_in_source: u64,
        /// The table was emptied first: it must hold exactly the source's rows.
        exact: bool,
    },
}

enum Finding {
    Orphans(Orphans),
    Missing(CountCheck),
    Extra(CountCheck),
}

/// What each table of the plan must have on a destination, in plan order: the source
/// table's own rows (counted on `source`, in the job's snapshot) for a whole table, the
/// rows the subset chose for a subset ([`Subset::rows_chosen`]).
pub async fn source_counts(source: &mut Connection, plan: &Plan, subset: &Subset) -> Result<Vec<u64>, SyncError> {
    let d = source.dialect();
    let mut counts = Vec::with_capacity(plan.tables.len());
    for tp in &plan.tables {
        counts.push(match tp.rows {
            Rows::Subset => subset.rows_chosen(&tp.table.table_name()),
            Rows::All => first_int(
                &source
                    .query(
                        &format!("SELECT count(*) FROM {}", d.own_rows(&tp.table)),
                        &[int_type()],
                    )
                    .await?,
            ),
        });
    }
    Ok(counts)
}

async fn run_check(conn: &mut Connection, check: &Check) -> Result<Option<Finding>, SyncError> {
    let d = conn.dialect();
    match check {
        Check::Orphans {
            child,
            fk,
            key,
            parent,
            source_text,
        } => {
            let parent_p = parent.as_deref();
            // A foreign key sees the parent's own rows only, not its children's.
            let parent = match parent {
                Some(p) => d.own_rows(p),
                None => d.table(fk.referenced_schema.as_deref(), &fk.referenced_table),
            };
            let not_null: Vec<String> = fk
                .columns
                .iter()
                .map(|c| format!("c.{} IS NOT NULL", d.ident(c)))
                .collect();
            let join: Vec<String> = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .enumerate()
                .map(|(i, (c, p))| {
                    let text = source_text.get(i).copied().unwrap_or(false);
                    if let Some((ours, theirs)) =
                        parent_p.and_then(|parent| fk_types::as_text(conn.engine(), d, text, child, c, parent, p))
                    {
                        return format!("{theirs} = {ours}");
                    }
                    let collate = parent_p
                        .and_then(|parent| fk_collation::mysql_child_collate(conn.engine(), child, c, parent, p));
                    format!(
                        "p.{} = {}",
                        d.ident(p),
                        collate.unwrap_or_else(|| format!("c.{}", d.ident(c)))
                    )
                })
                .collect();
            // A partition's own foreign key holds for that partition's rows only.
            let rows = match &fk.partition {
                Some(p) => d.table(p.schema.as_deref(), &p.name),
                None => d.own_rows(child),
            };
            let condition = format!(
                "FROM {rows} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {})",
                not_null.join(" AND "),
                join.join(" AND ")
            );
            let (n, condition) = match conn.query(&format!("SELECT count(*) {condition}"), &[int_type()]).await {
                Ok(rows) => (first_int(&rows), condition),
                // Columns of the destination's own making whose collations cannot be
                // compared (1267, a table the job did not create): compared as bytes,
                // rather than leaving this destination's and the others' checks unsaid.
                Err(e) if fk_collation::illegal_mix(&e) => {
                    let condition = fk_collation::as_bytes(fk, d, &rows, &parent, &not_null);
                    let rows = conn
                        .query(&format!("SELECT count(*) {condition}"), &[int_type()])
                        .await?;
                    (first_int(&rows), condition)
                }
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                return Ok(None);
            }
            let cols: Vec<String> = key.iter().map(|c| format!("c.{}", d.ident(c))).collect();
            let sample = conn
                .query(&format!("SELECT {} {condition} LIMIT 5", cols.join(", ")), &[])
                .await?;
            Ok(Some(Finding::Orphans(Orphans {
                table: child.table_name().to_string(),
                foreign_key: fk.name.clone(),
                is_virtual: fk.is_virtual,
                count: n,
                examples: sample.iter().map(|r| describe_key(key, r)).collect(),
                not_valid: fk.not_valid,
            })))
        }
        Check::Count {
            table,
            name,
            rows_read,
            rows_in_source,
            exact,
        } => {
            let have = conn.count_rows(table).await?;
            let found = CountCheck {
                table: name.clone(),
                rows_read: *rows_read,
                rows_in_source: *rows_in_source,
                rows_in_destination: have,
            };
            Ok(if have < *rows_in_source {
                Some(Finding::Missing(found))
            } else if *exact && have > *rows_in_source {
                Some(Finding::Extra(found))
            } else {
                None
            })
        }
    }
}

/// Checks one destination after a load, on every connection given to it. `counts`:
/// from [`source_counts`].
pub async fn verify(
    conns: Vec<&mut Destination>,
    plan: &Plan,
    source_schema: &Schema,
    reports: &[TableReport],
    counts: &[u64],
) -> Result<Verification, SyncError> {
    let first = conns.first().expect("at least one connection per destination");
    let shown = first.shown.clone();
    let engine = first.conn.engine();
    let emptied = first.spec.truncate;
    // PostgreSQL validated the declared FKs when it created them again before COMMIT.
    let validated = first.fks_validated;
    let mut checks = Vec::new();
    // Declared FKs PostgreSQL validated, counted as checked without a query.
    let mut fk_count = 0;
    for ((tp, report), &rows_in_source) in plan.tables.iter().zip(reports).zip(counts) {
        let child = first.tables[&tp.table.table_name()].clone();
        let key = if child.primary_key.is_empty() {
            crate::plan::row_key(&child)
        } else {
            child.primary_key.clone()
        };
        // Declared FKs of the destination, and the job's virtual FKs and the source's
        // FKs the destination does not declare (tables it had without them, a sharding
        // engine's head that cannot hold them) mapped to it.
        let declared = child.foreign_keys.len();
        let mut fks: Vec<ForeignKey> = child.foreign_keys.clone();
        // Declared NOT VALID here: PostgreSQL did not validate it when it created it again.
        let unvalidated: Vec<bool> = fks.iter().map(|f| f.not_valid).collect();
        // Only NOT VALID at the source (an engine without it declares the key plain)
        // excuses rows without a parent: the source lets them through too. A key NOT
        // VALID here only checked nothing, and its orphans are the run's (an `update`
        // changing a parent key a row here refers to).
        // (Matched by what the key checks, not its name: a table that was already there
        // names its keys its own way.)
        for f in fks.iter_mut() {
            f.not_valid = tp.table.foreign_keys.iter().any(|s| {
                let parent = destination_name(source_schema, &s.referenced_name(), engine);
                s.not_valid && fk_match::same_key(s, f, &parent.name)
            });
        }
        let undeclared = |f: &ForeignKey| !child.foreign_keys.iter().any(|d| d.columns == f.columns);
        // (Not an FK to a table outside the source's database: no copy has its parent.)
        let outside = |f: &ForeignKey| source_schema.table(&f.referenced_name()).is_none();
        for vfk in tp
            .table
            .foreign_keys
            .iter()
            .filter(|f| (f.is_virtual || undeclared(f)) && !outside(f))
            // (A partition's own key, where the copy has no such partition of this table, a
            // table of another engine or a plain one: not checked.)
            .filter(|f| {
                f.partition.is_none()
                    || (engine == tether_schema::Engine::Postgres && fk_match::has_partition(&child, f))
            })
        {
            let mut m = vfk.clone();
            let parent = destination_name(source_schema, &vfk.referenced_name(), engine);
            m.referenced_schema = parent.schema;
            m.referenced_table = parent.name;
            fks.push(m);
        }
        for (i, fk) in fks.into_iter().enumerate() {
            // (A NOT VALID one was not validated: its orphans are counted, and reported.)
            if validated && i < declared && !fk.is_virtual && !fk.not_valid && !unvalidated[i] {
                fk_count += 1;
                continue;
            }
            let parent = first
                .tables
                .values()
                .find(|t| t.table_name() == fk.referenced_name())
                .map(|t| Box::new(t.clone()));
            let source_text = fk
                .columns
                .iter()
                .map(|c| tp.table.column(c).is_some_and(|c| c.normalized_type.is_text()))
                .collect();
            checks.push(Check::Orphans {
                child: child.clone(),
                fk: Box::new(fk),
                key: key.clone(),
                parent,
                source_text,
            });
        }
        checks.push(Check::Count {
            table: child,
            name: tp.name.clone(),
            rows_read: report.rows_read,
            rows_in_source,
            // A subset counts the rows it chose, duplicates included. A table that held
            // no row when the run began (created, emptied, or there empty) must hold
            // exactly the source's: one more is a row written twice.
            exact: emptied || first.began_empty.contains(&tp.name),
        });
    }
    // With the checks off during the load (`checks = "verify"`), nothing held the
    // foreign keys of the destination's tables outside the job that reference a job
    // table either: their orphans are looked for too.
    if first.checks_off {
        for (child, fk) in &first.outsider_fks {
            let parent = first
                .tables
                .values()
                .find(|t| {
                    t.table_name() == fk.referenced_name()
                        || (fk.referenced_schema.is_none() && t.name == fk.referenced_table && t.schema == child.schema)
                })
                .map(|t| Box::new(t.clone()));
            let key = if child.primary_key.is_empty() {
                crate::plan::row_key(child)
            } else {
                child.primary_key.clone()
            };
            checks.push(Check::Orphans {
                child: child.clone(),
                fk: Box::new(fk.clone()),
                key,
                parent,
                // (Not the source's: compared as the destination has them.)
                source_text: Vec::new(),
            });
        }
    }
    fk_count += checks.iter().filter(|c| matches!(c, Check::Orphans { .. })).count();
    let queue: Mutex<VecDeque<Check>> = Mutex::new(checks.into_iter().collect());
    let workers = conns.into_iter().map(|d| {
        let queue = &queue;
        async move {
            let mut found = Vec::new();
            loop {
                let next = queue.lock().expect("lock").pop_front();
                let Some(check) = next else { break };
                if let Some(f) = run_check(&mut d.conn, &check).await? {
                    found.push(f);
                }
            }
            Ok::<_, SyncError>(found)
        }
    });
    let mut orphans = Vec::new();
    let mut missing_rows = Vec::new();
    let mut extra_rows = Vec::new();
    for result in crate::execute::join_all(workers.collect()).await {
        for f in result? {
            match f {
                Finding::Orphans(o) => orphans.push(o),
                Finding::Missing(m) => missing_rows.push(m),
                Finding::Extra(m) => extra_rows.push(m),
            }
        }
    }
    orphans.sort_by(|a, b| (&a.table, &a.foreign_key).cmp(&(&b.table, &b.foreign_key)));
    missing_rows.sort_by(|a, b| a.table.cmp(&b.table));
    extra_rows.sort_by(|a, b| a.table.cmp(&b.table));
    // Orphans of a NOT VALID foreign key are rows it lets through: not a failure.
    let ok = orphans.iter().all(|o| o.not_valid) && missing_rows.is_empty() && extra_rows.is_empty();
    Ok(Verification {
        destination: shown,
        foreign_keys_checked: fk_count,
        orphans,
        missing_rows,
        extra_rows,
        ok,
    })
}
