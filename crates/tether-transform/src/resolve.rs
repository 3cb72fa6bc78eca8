//! FK consistency: which transformer is in force on every column, and where it comes from.
//!
//! A transformer set on a referenced column is applied to every column referencing it,
//! position by position for composite keys, along chains (a primary key that is itself
//! a foreign key passes its parent's transformer on), through virtual FKs alike. The
//! spec handed down is the parent's *canonical* spec (every option spelled out, limits
//! taken from the parent's column), so parent and child compute the same outputs.
//! Conflicts are errors naming the FK, both columns and both specs.

use std::collections::HashMap;

use tether_schema::{Column, Schema, TableName};

use crate::error::{FkConflict, TransformError};
use crate::registry::canonical_spec;
use crate::spec::TransformSpec;

/// The transformer in force on one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub table: TableName,
    pub column: String,
    /// The canonical spec to [`crate::build`] this column's transformer from.
    pub spec: TransformSpec,
    pub origin: Origin,
    /// The column the spec was set on at the top of the FK chain (this column itself
    /// when set here). For a non-deterministic spec (`generate_*`), children look their
    /// values up in the [`crate::KeyMap`] filled while transforming this column.
    pub root_table: TableName,
    pub root_column: String,
}

/// Where a column's transformer comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Set on this column in the job file.
    Set,
    /// Inherited through foreign key `foreign_key` from the column it references.
    Inherited {
        foreign_key: String,
        from_table: TableName,
        from_column: String,
    },
}

impl Origin {
    /// For `tether plan`: `set here`, or `inherited through FK x from table.column`.
    pub fn describe(&self, schema: &Schema) -> String {
        match self {
            Origin::Set => "set here".into(),
            Origin::Inherited {
                foreign_key,
                from_table,
                from_column,
            } => format!(
                "inherited through FK `{foreign_key}` from {}.{from_column}",
                schema.display_name(from_table)
            ),
        }
    }
}

type ColumnRef = (TableName, String);

#[derive(Clone)]
struct InForce {
    spec: TransformSpec,
    origin: Origin,
    root: ColumnRef,
}

fn show(schema: &Schema, t: &TableName) -> String {
    schema.display_name(t)
}

fn on_column(schema: &Schema, c: &ColumnRef, e: TransformError) -> TransformError {
    TransformError::OnColumn {
        table: show(schema, &c.0),
        column: c.1.clone(),
        source: Box::new(e),
    }
}

fn column<'a>(schema: &'a Schema, c: &ColumnRef) -> Option<&'a Column> {
    schema.table(&c.0).and_then(|t| t.column(&c.1))
}

/// Kinds that never need to agree with the parent: NULL is valid in any FK column.
fn free_on_child(spec: &TransformSpec) -> bool {
    spec.kind == "null"
}

/// The transformer in force on every column that has one, in schema order (tables,
/// then columns). `schema` must already hold the job's virtual FKs (`is_virtual`).
/// Errors: a spec on a missing table or column, a bad spec (with its table and column),
/// an FK column whose own spec differs from its parent's, a transformed FK column whose
/// parent is copied unchanged, a column inheriting two different specs.
pub fn resolve(
    schema: &Schema,
    specs: &[((TableName, String), TransformSpec)],
) -> Result<Vec<Resolved>, TransformError> {
    let mut user = HashMap::new();
    for ((table, column), spec) in specs {
        let Some(t) = schema.table(table) else {
            return Err(TransformError::MissingTable {
                table: show(schema, table),
                column: column.clone(),
            });
        };
        if t.column(column).is_none() {
            return Err(TransformError::MissingColumn {
                table: show(schema, table),
                column: column.clone(),
            });
        }
        user.insert((table.clone(), column.clone()), spec);
    }
    let mut parents: HashMap<ColumnRef, Vec<(String, ColumnRef)>> = HashMap::new();
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            // An FK without a schema refers to its own table's schema.
            let mut parent_table = fk.referenced_name();
            if parent_table.schema.is_none() && schema.table(&parent_table).is_none() {
                parent_table.schema = t.schema.clone();
            }
            let Some(pt) = schema.table(&parent_table) else {
                continue;
            };
            for (child, parent) in fk.columns.iter().zip(&fk.referenced_columns) {
                if pt.column(parent).is_none() {
                    continue;
                }
                parents
                    .entry((t.table_name(), child.clone()))
                    .or_default()
                    .push((fk.name.clone(), (parent_table.clone(), parent.clone())));
            }
        }
    }
    let mut children: HashMap<ColumnRef, Vec<(String, ColumnRef)>> = HashMap::new();
    for (child, edges) in &parents {
        for (fk, parent) in edges {
            children
                .entry(parent.clone())
                .or_default()
                .push((fk.clone(), child.clone()));
        }
    }
    for list in children.values_mut() {
        list.sort();
    }

    // Columns set by the user, in schema order: canonical on their own column.
    let mut in_force: HashMap<ColumnRef, InForce> = HashMap::new();
    let mut queue = std::collections::VecDeque::new();
    for t in &schema.tables {
        for col in &t.columns {
            let c = (t.table_name(), col.name.clone());
            if let Some(spec) = user.get(&c) {
                let spec = canonical_spec(spec, col).map_err(|e| on_column(schema, &c, e))?;
                in_force.insert(
                    c.clone(),
                    InForce {
                        spec,
                        origin: Origin::Set,
                        root: c.clone(),
                    },
                );
                queue.push_back(c);
            }
        }
    }

    // Push each transformer down every FK to the columns referencing it.
    while let Some(p) = queue.pop_front() {
        let Some(parent) = in_force.get(&p).cloned() else {
            continue;
        };
        if parent.spec.kind == "passthrough" || free_on_child(&parent.spec) {
            continue;
        }
        for (fk, c) in children.get(&p).cloned().unwrap_or_default() {
            let Some(child_col) = column(schema, &c) else { continue };
            if let Some(own) = user.get(&c) {
                if free_on_child(own) {
                    continue;
                }
                let root_col = column(schema, &parent.root).unwrap_or(child_col);
                let mine = canonical_spec(own, root_col).map_err(|e| on_column(schema, &c, e))?;
                if mine != parent.spec {
                    return Err(TransformError::Fk(Box::new(FkConflict::Differs {
                        foreign_key: fk.clone(),
                        child_table: show(schema, &c.0),
                        child_column: c.1.clone(),
                        child_spec: own.to_string(),
                        parent_table: show(schema, &p.0),
                        parent_column: p.1.clone(),
                        parent_spec: parent.spec.to_string(),
                    })));
                }
                canonical_spec(&parent.spec, child_col).map_err(|e| on_column(schema, &c, e))?;
                if let Some(f) = in_force.get_mut(&c) {
                    // The same transformer as the parent's: the child takes the parent's
                    // canonical form and root, and passes them on again.
                    if f.root == c && parent.root != c {
                        f.spec = parent.spec.clone();
                        f.root = parent.root.clone();
                        queue.push_back(c.clone());
                    }
                }
                continue;
            }
            if let Some(existing) = in_force.get(&c) {
                let from_here = matches!(&existing.origin,
                    Origin::Inherited { from_table, from_column, .. } if *from_table == p.0 && *from_column == p.1);
                if existing.spec != parent.spec && !from_here {
                    let first_fk = match &existing.origin {
                        Origin::Inherited { foreign_key, .. } => foreign_key.clone(),
                        Origin::Set => String::new(),
                    };
                    return Err(TransformError::Fk(Box::new(FkConflict::TwoParents {
                        table: show(schema, &c.0),
                        column: c.1.clone(),
                        first_fk,
                        first_spec: existing.spec.to_string(),
                        second_fk: fk.clone(),
                        second_spec: parent.spec.to_string(),
                    })));
                }
                if !from_here || existing.spec == parent.spec {
                    continue;
                }
            }
            canonical_spec(&parent.spec, child_col).map_err(|e| on_column(schema, &c, e))?;
            in_force.insert(
                c.clone(),
                InForce {
                    spec: parent.spec.clone(),
                    origin: Origin::Inherited {
                        foreign_key: fk.clone(),
                        from_table: p.0.clone(),
                        from_column: p.1.clone(),
                    },
                    root: parent.root.clone(),
                },
            );
            queue.push_back(c);
        }
    }

    // A transformed FK column whose parents are all copied unchanged would orphan its rows.
    for t in &schema.tables {
        for col in &t.columns {
            let c = (t.table_name(), col.name.clone());
            let Some(own) = user.get(&c) else { continue };
            if free_on_child(own) || own.kind == "passthrough" {
                continue;
            }
            let Some(edges) = parents.get(&c) else { continue };
            let covered = edges.iter().any(|(_, p)| {
                in_force
                    .get(p)
                    .is_some_and(|f| f.spec.kind != "passthrough" && !free_on_child(&f.spec))
            });
            if !covered {
                let (fk, p) = &edges[0];
                return Err(TransformError::Fk(Box::new(FkConflict::ChildOnly {
                    foreign_key: fk.clone(),
                    child_table: show(schema, &c.0),
                    child_column: c.1.clone(),
                    child_spec: own.to_string(),
                    parent_table: show(schema, &p.0),
                    parent_column: p.1.clone(),
                })));
            }
        }
    }

    let mut out = Vec::new();
    for t in &schema.tables {
        for col in &t.columns {
            let c = (t.table_name(), col.name.clone());
            if let Some(f) = in_force.remove(&c) {
                out.push(Resolved {
                    table: c.0,
                    column: c.1,
                    spec: f.spec,
                    origin: f.origin,
                    root_table: f.root.0,
                    root_column: f.root.1,
                });
            }
        }
    }
    Ok(out)
}
