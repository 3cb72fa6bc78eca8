//! Lines of a destination's plan about what the created tables share rather than about
//! one table: the schemas created for them (PostgreSQL), the name a table gets when
//! another engine flattens `schema.table`, and an extension or collation several tables
//! use, said once.

use tether_schema::{Engine, Schema};

use super::{Action, JobTables, SchemaItem, SchemaReport};

/// Adds to `out` the schemas a PostgreSQL destination gets for the tables it creates
/// (as the executor makes them: each model's schema and its partitions'), and the
/// destination name of each table another engine flattens (`sales.orders` ->
/// `sales_orders`); then merges the "used by" lines of one extension, collation or
/// function into one.
pub(super) fn add_and_merge(out: &mut SchemaReport, tables: &JobTables, dest: Engine, existing: &Schema) {
    let mut items = Vec::new();
    if dest == Engine::Postgres {
        let default = tether_connect::dialect_of(dest).default_schema().unwrap_or("public");
        let mut schemas: Vec<String> = Vec::new();
        for t in &out.models {
            let mut parts: Vec<&tether_schema::Partitioning> = t.partitioning.iter().collect();
            let mut named: Vec<String> = t.schema.iter().cloned().collect();
            while let Some(p) = parts.pop() {
                for part in &p.partitions {
                    named.extend(part.schema.clone());
                    parts.extend(part.partitioning.as_deref());
                }
            }
            for s in named {
                let there = s == default || existing.tables.iter().any(|e| e.schema.as_deref() == Some(&s));
                if !there && !schemas.contains(&s) {
                    schemas.push(s);
                }
            }
        }
        for s in schemas {
            items.push(SchemaItem::new(
                "schema",
                format!("{s} (where missing)"),
                Action::Created,
            ));
        }
    } else {
        for (shown, t) in out.create.iter().zip(&out.models) {
            let source_name = tables.iter().find(|(n, _)| n == shown).map(|(_, s)| s.name.as_str());
            if source_name.is_some_and(|n| n != t.name) && shown != &t.name {
                items.push(
                    SchemaItem::new("table", shown.clone(), Action::Mapped)
                        .between(shown.clone(), t.name.clone())
                        .because(format!("{} has no schemas: schema_table", dest.name())),
                );
            }
        }
    }
    out.objects.splice(0..0, items);
    merge_used_by(&mut out.objects);
}

/// One line per extension, collation or function however many tables use it:
/// `citext (used by ci, cich; where missing)`.
fn merge_used_by(objects: &mut Vec<SchemaItem>) {
    let mut kept: Vec<SchemaItem> = Vec::with_capacity(objects.len());
    for item in objects.drain(..) {
        let split = match item.kind {
            "extension" | "collation" | "function" => split_used_by(&item.name),
            _ => None,
        };
        let Some((what, users, rest)) = split else {
            kept.push(item);
            continue;
        };
        let same = kept.iter_mut().find(|k| {
            k.kind == item.kind
                && k.action == item.action
                && k.reason == item.reason
                && split_used_by(&k.name).is_some_and(|(w, _, r)| w == what && r == rest)
        });
        match same {
            Some(k) => {
                let (_, had, _) = split_used_by(&k.name).expect("matched above");
                if !had.split(", ").any(|u| u == users) {
                    k.name = format!("{what} (used by {had}, {users}{rest}");
                }
            }
            None => kept.push(item),
        }
    }
    *objects = kept;
}

/// `citext (used by ci; where missing)` -> (`citext`, `ci`, `; where missing)`).
fn split_used_by(name: &str) -> Option<(&str, &str, &str)> {
    let (what, tail) = name.split_once(" (used by ")?;
    let end = tail.find([';', ')'])?;
    Some((what, &tail[..end], &tail[end..]))
}
