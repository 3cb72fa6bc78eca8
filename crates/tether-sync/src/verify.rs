//! Verification after loading, with Tether's own queries on each destination: orphans
//! per foreign key (declared and virtual) and row counts against the rows read.

use serde::Serialize;
use tether_connect::value::describe_key;
use tether_connect::Value;
use tether_schema::{DataType, ForeignKey, Table};

use crate::error::SyncError;
use crate::execute::{destination_name, Destination, TableReport};
use crate::plan::Plan;

#[derive(Debug, Clone, Serialize)]
pub struct Orphans {
    pub table: String,
    pub foreign_key: String,
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
    pub count: u64,
    /// Up to five child keys whose parent is missing.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountCheck {
    pub table: String,
    pub rows_read: u64,
    pub rows_in_destination: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub destination: String,
    pub foreign_keys_checked: usize,
    /// FKs with orphans (empty when all is well).
    pub orphans: Vec<Orphans>,
    /// Tables with fewer rows than were read.
    pub missing_rows: Vec<CountCheck>,
    pub ok: bool,
}

fn int_type() -> DataType {
    DataType::Int {
        bytes: 8,
        unsigned: false,
    }
}

async fn orphans_of(
    dest: &mut Destination,
    child: &Table,
    fk: &ForeignKey,
    key: &[String],
) -> Result<Option<Orphans>, SyncError> {
    let d = dest.conn.dialect();
    let parent = d.table(fk.referenced_schema.as_deref(), &fk.referenced_table);
    let not_null: Vec<String> = fk
        .columns
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", d.ident(c)))
        .collect();
    let join: Vec<String> = fk
        .columns
        .iter()
        .zip(&fk.referenced_columns)
        .map(|(c, p)| format!("p.{} = c.{}", d.ident(p), d.ident(c)))
        .collect();
    let condition = format!(
        "FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {})",
        d.qualified(child),
        not_null.join(" AND "),
        join.join(" AND ")
    );
    let count = dest
        .conn
        .query(&format!("SELECT count(*) {condition}"), &[int_type()])
        .await?;
    let n = match count.first().and_then(|r| r.first()) {
        Some(Value::Int(n)) => *n as u64,
        _ => 0,
    };
    if n == 0 {
        return Ok(None);
    }
    let cols: Vec<String> = key.iter().map(|c| format!("c.{}", d.ident(c))).collect();
    let sample = dest
        .conn
        .query(&format!("SELECT {} {condition} LIMIT 5", cols.join(", ")), &[])
        .await?;
    Ok(Some(Orphans {
        table: child.table_name().to_string(),
        foreign_key: fk.name.clone(),
        is_virtual: fk.is_virtual,
        count: n,
        examples: sample.iter().map(|r| describe_key(key, r)).collect(),
    }))
}

/// Checks one destination after a load.
pub async fn verify(
    dest: &mut Destination,
    plan: &Plan,
    source_schema: &tether_schema::Schema,
    reports: &[TableReport],
    index: usize,
) -> Result<Verification, SyncError> {
    let engine = dest.conn.engine();
    let mut orphans = Vec::new();
    let mut checked = 0;
    let mut missing_rows = Vec::new();
    for (tp, report) in plan.tables.iter().zip(reports) {
        let child = dest.tables[&tp.table.table_name()].clone();
        let key = if child.primary_key.is_empty() {
            crate::plan::row_key(&child)
        } else {
            child.primary_key.clone()
        };
        // Declared FKs of the destination, and the job's virtual FKs mapped to it.
        let mut fks: Vec<ForeignKey> = child.foreign_keys.clone();
        for vfk in tp.table.foreign_keys.iter().filter(|f| f.is_virtual) {
            let mut m = vfk.clone();
            let parent = destination_name(source_schema, &vfk.referenced_name(), engine);
            m.referenced_schema = parent.schema;
            m.referenced_table = parent.name;
            fks.push(m);
        }
        for fk in &fks {
            checked += 1;
            if let Some(o) = orphans_of(dest, &child, fk, &key).await? {
                orphans.push(o);
            }
        }
        let d = dest.conn.dialect();
        let rows = dest
            .conn
            .query(&format!("SELECT count(*) FROM {}", d.qualified(&child)), &[int_type()])
            .await?;
        let have = match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => *n as u64,
            _ => 0,
        };
        let _ = index;
        if have < report.rows_read {
            missing_rows.push(CountCheck {
                table: tp.name.clone(),
                rows_read: report.rows_read,
                rows_in_destination: have,
            });
        }
    }
    let ok = orphans.is_empty() && missing_rows.is_empty();
    Ok(Verification {
        destination: dest.shown.clone(),
        foreign_keys_checked: checked,
        orphans,
        missing_rows,
        ok,
    })
}
