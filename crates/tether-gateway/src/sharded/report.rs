//! The text report of a sharded keyspace: its tables with their placement and every
//! FK with its scope. What `tether schema`, `EXPLAIN FK` and the unmanaged-mode
//! start warning show.

use std::fmt::Write;

use super::layout::Layout;
use super::scope::{Scope, ScopedFk};

/// Tables (placement) and FKs (scope), one a line.
pub fn report(layout: &Layout, fks: &[ScopedFk]) -> String {
    let mut out = format!("sharded keyspace on head database `{}`\n", layout.database);
    let width = layout.tables.iter().map(|t| t.name.len()).max().unwrap_or(0);
    out.push_str("tables:\n");
    for t in &layout.tables {
        let _ = writeln!(out, "  {:width$}  {}", t.name, t.placement);
    }
    out.push_str("foreign keys:\n");
    if fks.is_empty() {
        out.push_str("  (none)\n");
    }
    for s in fks {
        let _ = writeln!(
            out,
            "  {}: {} ({}) -> {} ({}) [{}]\n    {}",
            s.fk.name,
            s.table,
            s.fk.columns.join(", "),
            s.fk.referenced_table,
            s.fk.referenced_columns.join(", "),
            s.source,
            s.scope
        );
    }
    out
}

/// One warning per FK the data nodes cannot enforce (cross-shard), naming it: what
/// an unmanaged sharded keyspace logs at start and after DDL.
pub fn unenforced(fks: &[ScopedFk]) -> Vec<String> {
    fks.iter()
        .filter_map(|s| match &s.scope {
            Scope::CrossShard { why } => Some(format!(
                "foreign key `{}` of `{}` is cross-shard and not enforced by the data nodes: {why}",
                s.fk.name, s.table
            )),
            _ => None,
        })
        .collect()
}
