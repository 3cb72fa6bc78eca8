//! `EXPLAIN FK` of an online ALTER: the shadow tables it would build, the key columns
//! that follow a retyped key, the FKs of other tables it re-points, the constraints it
//! gives back their names after the swap, and what it refuses. Nothing is run.

use std::fmt::Write;

use tether_schema::Schema;

use super::plan::{self, Plan};
use super::OnlineError;

/// The explanation of `alter_sql` on `schema` (one line per item).
pub fn explain(schema: &Schema, alter_sql: &str, managed: bool) -> String {
    match plan::build(schema, "preview", alter_sql, managed) {
        Ok(p) => describe(&p),
        Err(OnlineError::Refused { table, reason }) => format!("online ALTER of `{table}`\nrefused: {reason}\n"),
        Err(e) => format!("refused: {e}\n"),
    }
}

/// The plan in words.
pub fn describe(p: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "online ALTER of `{}`", p.root);
    let _ = writeln!(
        s,
        "shadow tables (copied in primary-key chunks, changes captured by triggers):"
    );
    for t in &p.tables {
        let _ = write!(s, "  `{}` -> `{}`", t.table, t.shadow);
        if t.table == p.root {
            match &t.shadow_alter {
                Some(a) => {
                    let _ = write!(s, ": {a}");
                }
                None => {
                    let _ = write!(s, ": FKs dropped only");
                }
            }
        }
        if !t.follow_columns.is_empty() {
            let _ = write!(s, "; columns ({}) take the new key type", t.follow_columns.join(", "));
        }
        s.push('\n');
    }
    let names: Vec<String> = p
        .tables
        .iter()
        .map(|t| format!("`{}` TO `{}`, `{}` TO `{}`", t.table, t.old, t.shadow, t.table))
        .collect();
    let _ = writeln!(s, "swap: RENAME TABLE {}", names.join(", "));
    let mut renamed = Vec::new();
    for t in &p.tables {
        for f in &t.fks_before {
            if t.fks_dropped.contains(&f.name) {
                let _ = writeln!(s, "drops FK `{}` of `{}` (as the ALTER says)", f.name, t.table);
            } else {
                renamed.push(format!("`{}`.`{}` -> `{}`", t.table, f.name, f.referenced_table));
            }
        }
    }
    if renamed.is_empty() {
        let _ = writeln!(s, "constraints given back their names: none");
    } else {
        let _ = writeln!(
            s,
            "constraints given back their names (dropped from the old table, added to the new):"
        );
        for r in renamed {
            let _ = writeln!(s, "  {r}");
        }
    }
    if p.children.is_empty() {
        let _ = writeln!(s, "children re-pointed: none");
    } else {
        let _ = writeln!(s, "children re-pointed at the new table (metadata only):");
        for c in &p.children {
            let _ = writeln!(
                s,
                "  `{}`.`{}` ({}) -> `{}` ({})",
                c.fk.table,
                c.fk.name,
                c.fk.columns.join(", "),
                c.fk.referenced_table,
                c.fk.referenced_columns.join(", ")
            );
        }
    }
    let olds: Vec<String> = p.tables.iter().map(|t| format!("`{}`", t.old)).collect();
    let _ = writeln!(
        s,
        "kept after cut-over: {} (drop when no longer needed)",
        olds.join(", ")
    );
    s
}
