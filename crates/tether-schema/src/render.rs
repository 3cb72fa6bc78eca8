//! Drawing a schema for people (text), scripts (JSON) and diagrams (DOT, Mermaid).
//!
//! The JSON shape is documented in the README and is a stable interface: fields may
//! be added, never renamed or removed.

use serde::Serialize;
use std::fmt::Write;

use crate::graph::{Cycle, FkGraph};
use crate::model::{Schema, Table, TableName};
use crate::objects::SchemaObjects;

#[derive(Serialize)]
struct JsonCycle<'a> {
    tables: Vec<String>,
    breakable: &'a [String],
    break_with: &'a [String],
    can_break: bool,
    edges: Vec<JsonEdge<'a>>,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    table: String,
    foreign_key: &'a str,
    referenced_table: String,
    breakable: bool,
    #[serde(rename = "virtual")]
    is_virtual: bool,
}

#[derive(Serialize)]
struct JsonSchema<'a> {
    engine: &'a str,
    default_schema: Option<&'a str>,
    tables: &'a [Table],
    #[serde(skip_serializing_if = "SchemaObjects::is_empty")]
    objects: &'a SchemaObjects,
    cycles: Vec<JsonCycle<'a>>,
    load_order: Vec<String>,
    load_levels: Vec<Vec<String>>,
}

/// The whole model and its graph as pretty JSON.
pub fn json(schema: &Schema, graph: &FkGraph) -> String {
    let names = |v: &[TableName]| -> Vec<String> { v.iter().map(|t| schema.display_name(t)).collect() };
    let doc = JsonSchema {
        engine: schema.engine.name(),
        default_schema: schema.default_schema.as_deref(),
        tables: &schema.tables,
        objects: &schema.objects,
        cycles: graph
            .cycles
            .iter()
            .map(|c| JsonCycle {
                tables: names(&c.tables),
                breakable: &c.breakable,
                break_with: &c.break_with,
                can_break: c.can_break,
                edges: c
                    .edges
                    .iter()
                    .map(|e| JsonEdge {
                        table: schema.display_name(&e.table),
                        foreign_key: &e.foreign_key,
                        referenced_table: schema.display_name(&e.referenced_table),
                        breakable: e.breakable,
                        is_virtual: e.is_virtual,
                    })
                    .collect(),
            })
            .collect(),
        load_order: names(&graph.load_order),
        load_levels: graph.load_levels.iter().map(|l| names(l)).collect(),
    };
    serde_json::to_string_pretty(&doc).expect("the schema model always serializes")
}

/// Describes how a cycle loads, in words.
pub fn describe_cycle(schema: &Schema, c: &Cycle) -> String {
    let tables: Vec<String> = c.tables.iter().map(|t| schema.display_name(t)).collect();
    let shape = if c.tables.len() == 1 {
        format!("{} (self-reference)", tables[0])
    } else {
        tables.join(" <-> ")
    };
    if c.can_break {
        format!(
            "{shape}: breakable; loads with {} NULL, then updated",
            c.break_with.join(", ")
        )
    } else if c.breakable.is_empty() {
        format!("{shape}: not breakable (no nullable foreign key); loads with checks deferred or disabled")
    } else {
        format!(
            "{shape}: not breakable by its nullable foreign keys ({}); loads with checks deferred or disabled",
            c.breakable.join(", ")
        )
    }
}

/// The readable listing of `tether schema`.
pub fn text(schema: &Schema, graph: &FkGraph) -> String {
    let mut out = String::new();
    let fk_count: usize = schema.tables.iter().map(|t| t.foreign_keys.len()).sum();
    let virtual_count: usize = schema
        .tables
        .iter()
        .flat_map(|t| &t.foreign_keys)
        .filter(|f| f.is_virtual)
        .count();
    let _ = write!(
        out,
        "{} database: {} tables, {} foreign keys",
        schema.engine,
        schema.tables.len(),
        fk_count
    );
    if virtual_count > 0 {
        let _ = write!(out, " ({virtual_count} virtual)");
    }
    out.push_str("\n\n");

    for t in &schema.tables {
        let _ = writeln!(out, "{}", schema.display_name(&t.table_name()));
        let name_w = t.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let type_w = t.columns.iter().map(|c| c.engine_type.len()).max().unwrap_or(0);
        for c in &t.columns {
            let mut badges: Vec<String> = Vec::new();
            if t.primary_key.contains(&c.name) {
                badges.push("PK".into());
            }
            for fk in t.foreign_keys.iter().filter(|f| f.columns.contains(&c.name)) {
                let parent = schema.display_name(&fk.referenced_name());
                let kind = if fk.is_virtual { "FK (virtual)" } else { "FK" };
                // A key the database took without checking it (SQLite) says why it
                // cannot work.
                let fault = schema
                    .foreign_key_fault(t, fk)
                    .map(|f| format!(" UNUSABLE: {f}"))
                    .unwrap_or_default();
                badges.push(format!(
                    "{kind} -> {parent}({}) ON DELETE {} ON UPDATE {} [{}]{fault}",
                    fk.referenced_columns.join(", "),
                    fk.on_delete,
                    fk.on_update,
                    fk.name
                ));
            }
            if c.identity.is_some() {
                badges.push("auto".into());
            }
            if c.generated.is_some() {
                badges.push("generated".into());
            }
            let null = if c.nullable { "NULL" } else { "NOT NULL" };
            let line = format!(
                "  {:name_w$}  {:type_w$}  {:8}  {}",
                c.name,
                c.engine_type,
                null,
                badges.join("  ")
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        for u in &t.unique_keys {
            let kind = if u.constraint { "UNIQUE" } else { "UNIQUE INDEX" };
            let _ = write!(out, "  {kind} {} ({})", u.name, u.columns.join(", "));
            if let Some(p) = &u.predicate {
                let _ = write!(out, " WHERE {p}");
            }
            out.push('\n');
        }
        out.push('\n');
    }

    out.push_str("Cycles\n");
    if graph.cycles.is_empty() {
        out.push_str("  none\n");
    }
    for c in &graph.cycles {
        let _ = writeln!(out, "  {}", describe_cycle(schema, c));
    }
    out.push_str("\nLoad order (tables on one line can load in parallel)\n");
    for (i, level) in graph.load_levels.iter().enumerate() {
        let names: Vec<String> = level.iter().map(|t| schema.display_name(t)).collect();
        let _ = writeln!(out, "  {}. {}", i + 1, names.join(", "));
    }
    out
}

fn quote_dot(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Graphviz digraph: an arrow from each child to its parent, labelled with the FK.
/// Virtual FKs are dashed; FKs that break a cycle are drawn in orange.
pub fn dot(schema: &Schema, graph: &FkGraph) -> String {
    let mut out = String::from("digraph tether {\n  rankdir=LR;\n  node [shape=box];\n");
    for t in &schema.tables {
        let _ = writeln!(out, "  {};", quote_dot(&schema.display_name(&t.table_name())));
    }
    for t in &schema.tables {
        let child = schema.display_name(&t.table_name());
        for fk in &t.foreign_keys {
            let mut attrs = vec![format!("label={}", quote_dot(&fk.name))];
            if fk.is_virtual {
                attrs.push("style=dashed".into());
            }
            let breaks = graph
                .cycles
                .iter()
                .any(|c| c.break_with.contains(&fk.name) && c.tables.contains(&t.table_name()));
            if breaks {
                attrs.push("color=orange".into());
            }
            let _ = writeln!(
                out,
                "  {} -> {} [{}];",
                quote_dot(&child),
                quote_dot(&schema.display_name(&fk.referenced_name())),
                attrs.join(", ")
            );
        }
    }
    out.push_str("}\n");
    out
}

fn mermaid_id(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect()
}

/// Each table's Mermaid entity name, by display name: made of `[A-Za-z0-9_]`, and
/// distinct for distinct tables (`x.y` and `x_y` would both be `x_y`, which Mermaid
/// draws as one box): a table whose name is already safe keeps it, the others get
/// `_2`, `_3`, ... on a clash.
fn mermaid_ids(schema: &Schema) -> std::collections::HashMap<String, String> {
    let names: Vec<String> = schema
        .tables
        .iter()
        .map(|t| schema.display_name(&t.table_name()))
        .collect();
    let mut taken: std::collections::HashSet<String> = names.iter().filter(|n| mermaid_id(n) == **n).cloned().collect();
    let mut ids = std::collections::HashMap::new();
    for name in &names {
        let base = mermaid_id(name);
        let id = if base == *name || taken.insert(base.clone()) {
            base
        } else {
            let mut n = 2;
            while !taken.insert(format!("{base}_{n}")) {
                n += 1;
            }
            format!("{base}_{n}")
        };
        ids.insert(name.clone(), id);
    }
    ids
}

/// An entity id as Mermaid's lexer reads it: quoted where it would read a token instead
/// (a leading digit, or one of its words: `to`, `end`, the cardinality words), bare
/// otherwise (review r22o F1).
fn mermaid_entity(id: String) -> String {
    const WORDS: [&str; 9] = [
        "to",
        "end",
        "erdiagram",
        "one",
        "many",
        "only",
        "zero",
        "optionally",
        "more",
    ];
    let word = WORDS.iter().any(|w| id.eq_ignore_ascii_case(w));
    match word || id.starts_with(|c: char| c.is_ascii_digit()) {
        true => format!("\"{id}\""),
        false => id,
    }
}

/// An attribute name as Mermaid reads it: in backticks where it would be a key marker
/// (`PK`, `FK`, `UK`) or starts with a digit.
fn mermaid_attribute(name: &str) -> String {
    let id = mermaid_id(name);
    let marker = ["pk", "fk", "uk"].iter().any(|m| id.eq_ignore_ascii_case(m));
    match marker || id.starts_with(|c: char| c.is_ascii_digit()) {
        true => format!("`{id}`"),
        false => id,
    }
}

/// A Mermaid entity-relationship diagram. Virtual FKs use a dotted line.
pub fn mermaid(schema: &Schema) -> String {
    let ids = mermaid_ids(schema);
    let id_of = |name: String| mermaid_entity(ids.get(&name).cloned().unwrap_or_else(|| mermaid_id(&name)));
    let mut out = String::from("erDiagram\n");
    for t in &schema.tables {
        let id = id_of(schema.display_name(&t.table_name()));
        let _ = writeln!(out, "  {id} {{");
        for c in &t.columns {
            let mut keys = Vec::new();
            if t.primary_key.contains(&c.name) {
                keys.push("PK");
            }
            if t.foreign_keys.iter().any(|f| f.columns.contains(&c.name)) {
                keys.push("FK");
            }
            let _ = writeln!(
                out,
                "    {} {} {}",
                mermaid_id(&c.normalized_type.to_string()),
                mermaid_attribute(&c.name),
                keys.join(",")
            );
        }
        out.push_str("  }\n");
    }
    for t in &schema.tables {
        let child = id_of(schema.display_name(&t.table_name()));
        for fk in &t.foreign_keys {
            let parent = id_of(schema.display_name(&fk.referenced_name()));
            let optional = fk.columns.iter().any(|c| t.column(c).is_some_and(|col| col.nullable));
            let left = if optional { "|o" } else { "||" };
            let line = if fk.is_virtual { ".." } else { "--" };
            let _ = writeln!(
                out,
                "  {parent} {left}{line}o{{ {child} : \"{}\"",
                fk.name.replace('"', "'")
            );
        }
    }
    out
}
