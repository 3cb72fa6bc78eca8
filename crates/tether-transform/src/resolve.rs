//! FK consistency: which transformer is in force on every column, and where it comes from.
//!
//! A transformer set on a referenced column is applied to every column referencing it,
//! position by position for composite keys, along chains (a primary key that is itself
//! a foreign key passes its parent's transformer on), through virtual FKs alike. The
//! spec handed down is the parent's *canonical* spec (every option spelled out, limits
//! taken from the parent's column), so parent and child compute the same outputs.
//! Conflicts are errors naming the FK, both columns and both specs. Every parent of a
//! transformed FK column (set there or inherited, column by column of a composite FK)
//! must have the same transformer: one copied unchanged is a plan error naming its FK,
//! even when another parent of the column is transformed.
//!
//! A spec whose output is not a function of the key value alone (`generate_*`, a `js`
//! function reading its row, ...: [`crate::Transformer::key_map_reason`]) cannot be
//! recomputed on a child row: its new values are made once per row of the column it was
//! set on (the root) and reach every inheriting column through a [`crate::KeyMap`]
//! keyed by the root's referenced key ([`Via::KeyMap`]), along chains and composite keys.

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
    /// How this column gets its values.
    pub via: Via,
}

/// How a column's new values are made.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// The column computes them itself from its own values: for an inherited column, the
    /// same function as its parent's.
    Computed,
    /// The spec is not a function of the key value alone (`reason`): new values are
    /// made once per row of the root column's table and kept in an old -> new key map
    /// keyed by the root table's columns `key` (a referenced key, sorted by name); this
    /// column finds its new value under the values of its own `columns` (the same
    /// positions as `key`). The root itself has this too when columns inherit from it.
    KeyMap {
        reason: String,
        key: Vec<String>,
        columns: Vec<String>,
    },
}

impl Via {
    /// For `tether plan`, per inherited column: `same function` or `key map`.
    pub fn name(&self) -> &'static str {
        match self {
            Via::Computed => "same function",
            Via::KeyMap { .. } => "key map",
        }
    }
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
    /// The FK and parent column the root's transformer came through (None on the root).
    from: Option<(String, ColumnRef)>,
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
/// an FK column whose own spec differs from its parent's, a transformed FK column (set
/// or inherited) with a parent copied unchanged, a column inheriting two different specs.
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
    // (child table, FK name) -> (child column, parent column) pairs.
    let mut fk_pairs: HashMap<(TableName, String), Vec<(String, String)>> = HashMap::new();
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
                fk_pairs
                    .entry((t.table_name(), fk.name.clone()))
                    .or_default()
                    .push((child.clone(), parent.clone()));
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
                        from: None,
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
                same_values_on_child(schema, &fk, &p, &parent, &c, child_col)?;
                if let Some(f) = in_force.get_mut(&c) {
                    // The same transformer as the parent's: the child takes the parent's
                    // canonical form and root, and passes them on again.
                    if f.root == c && parent.root != c {
                        f.spec = parent.spec.clone();
                        f.root = parent.root.clone();
                        f.from = Some((fk.clone(), p.clone()));
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
            canonical_spec(&parent.spec, child_col).map_err(|e| {
                TransformError::Fk(Box::new(FkConflict::DoesNotFitChild {
                    foreign_key: fk.clone(),
                    child_table: show(schema, &c.0),
                    child_column: c.1.clone(),
                    parent_table: show(schema, &p.0),
                    parent_column: p.1.clone(),
                    parent_spec: parent.spec.to_string(),
                    reason: e.to_string(),
                }))
            })?;
            same_values_on_child(schema, &fk, &p, &parent, &c, child_col)?;
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
                    from: Some((fk.clone(), p.clone())),
                },
            );
            queue.push_back(c);
        }
    }

    // Every parent of a transformed FK column must compute what the column computes:
    // a parent copied unchanged (or nulled) leaves the column's rows orphans of it.
    for t in &schema.tables {
        for col in &t.columns {
            let c = (t.table_name(), col.name.clone());
            let Some(f) = in_force.get(&c) else { continue };
            if f.spec.kind == "passthrough" || free_on_child(&f.spec) {
                continue;
            }
            for (fk, p) in parents.get(&c).into_iter().flatten() {
                check_parent(schema, &c, f, user.get(&c).copied(), fk, p, in_force.get(p))?;
            }
        }
    }

    let vias = key_maps(schema, &in_force, &parents, &fk_pairs)?;
    let mut out = Vec::new();
    for t in &schema.tables {
        for col in &t.columns {
            let c = (t.table_name(), col.name.clone());
            if let Some(f) = in_force.remove(&c) {
                out.push(Resolved {
                    via: vias.get(&c).cloned().unwrap_or(Via::Computed),
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

/// The parent's transformer, run on the child column `c` through `fk`, must give equal
/// keys equal values although the two column types read them differently (another
/// scale, another width): refused, naming the FK and both types, where it would not.
fn same_values_on_child(
    schema: &Schema,
    fk: &str,
    p: &ColumnRef,
    parent: &InForce,
    c: &ColumnRef,
    child_col: &Column,
) -> Result<(), TransformError> {
    let Some(root_col) = column(schema, &parent.root) else {
        return Ok(());
    };
    match crate::registry::differs_on_child(&parent.spec, root_col, child_col) {
        None => Ok(()),
        Some(reason) => Err(TransformError::Fk(Box::new(FkConflict::DoesNotFitChild {
            foreign_key: fk.to_string(),
            child_table: show(schema, &c.0),
            child_column: c.1.clone(),
            parent_table: show(schema, &p.0),
            parent_column: p.1.clone(),
            parent_spec: parent.spec.to_string(),
            reason,
        }))),
    }
}

/// A transformed FK column `c` (in force `f`, set by the user as `own`) and its parent
/// `p` through `fk`: the parent must have the same transformer. Differences among
/// transformed parents were refused while pushing them down; what is left is a parent
/// copied unchanged, or one whose transformer does not reach children (`null`).
fn check_parent(
    schema: &Schema,
    c: &ColumnRef,
    f: &InForce,
    own: Option<&TransformSpec>,
    fk: &str,
    p: &ColumnRef,
    parent: Option<&InForce>,
) -> Result<(), TransformError> {
    let parent_spec = parent.map(|pf| &pf.spec).filter(|s| s.kind != "passthrough");
    if parent_spec == Some(&f.spec) {
        return Ok(());
    }
    let conflict = match (parent_spec, own, &f.from) {
        // Copied unchanged, and the column inherits its transformer from another parent.
        (None, None, Some((from_fk, from))) => FkConflict::OtherParentUnchanged {
            foreign_key: fk.to_string(),
            child_table: show(schema, &c.0),
            child_column: c.1.clone(),
            spec: f.spec.to_string(),
            from_fk: from_fk.clone(),
            from_table: show(schema, &from.0),
            from_column: from.1.clone(),
            parent_table: show(schema, &p.0),
            parent_column: p.1.clone(),
        },
        // Copied unchanged, and the transformer was set on this column.
        (None, _, _) => FkConflict::ChildOnly {
            foreign_key: fk.to_string(),
            child_table: show(schema, &c.0),
            child_column: c.1.clone(),
            child_spec: own.map_or_else(|| f.spec.to_string(), |s| s.to_string()),
            parent_table: show(schema, &p.0),
            parent_column: p.1.clone(),
        },
        (Some(ps), _, Some((from_fk, _))) => FkConflict::TwoParents {
            table: show(schema, &c.0),
            column: c.1.clone(),
            first_fk: from_fk.clone(),
            first_spec: f.spec.to_string(),
            second_fk: fk.to_string(),
            second_spec: ps.to_string(),
        },
        (Some(ps), _, None) => FkConflict::Differs {
            foreign_key: fk.to_string(),
            child_table: show(schema, &c.0),
            child_column: c.1.clone(),
            child_spec: own.map_or_else(|| f.spec.to_string(), |s| s.to_string()),
            parent_table: show(schema, &p.0),
            parent_column: p.1.clone(),
            parent_spec: ps.to_string(),
        },
    };
    Err(TransformError::Fk(Box::new(conflict)))
}

/// The key-map columns: every column whose root's spec is not a function of the value
/// alone, with the root key its map is keyed by, and the root itself when columns
/// inherit from it. Errors: an FK of the chain that does not carry the whole root key,
/// a column that would follow two different key maps.
fn key_maps(
    schema: &Schema,
    in_force: &HashMap<ColumnRef, InForce>,
    parents: &HashMap<ColumnRef, Vec<(String, ColumnRef)>>,
    fk_pairs: &HashMap<(TableName, String), Vec<(String, String)>>,
) -> Result<HashMap<ColumnRef, Via>, TransformError> {
    let mut reasons: HashMap<ColumnRef, Option<&'static str>> = HashMap::new();
    let mut vias: HashMap<ColumnRef, Via> = HashMap::new();
    for t in &schema.tables {
        for col in &t.columns {
            let c = (t.table_name(), col.name.clone());
            let Some(f) = in_force.get(&c) else { continue };
            if f.root == c {
                continue;
            }
            let reason = match reasons.get(&f.root) {
                Some(r) => *r,
                None => {
                    let root_col = column(schema, &f.root).expect("roots are columns of the schema");
                    let r = crate::registry::key_map_reason(&f.spec, root_col)
                        .map_err(|e| on_column(schema, &f.root, e))?;
                    reasons.insert(f.root.clone(), r);
                    r
                }
            };
            let Some(reason) = reason else { continue };
            // Every parent with this spec must share the root: one map per column.
            for (fk, p) in parents.get(&c).into_iter().flatten() {
                if let Some(pf) = in_force.get(p) {
                    if pf.spec == f.spec && pf.root != f.root {
                        return Err(TransformError::Fk(Box::new(FkConflict::TwoKeyMaps {
                            table: show(schema, &c.0),
                            column: c.1.clone(),
                            foreign_key: fk.clone(),
                            first_root: format!("{}.{}", show(schema, &f.root.0), f.root.1),
                            second_root: format!("{}.{}", show(schema, &pf.root.0), pf.root.1),
                            spec: f.spec.to_string(),
                            reason: reason.to_string(),
                        })));
                    }
                }
            }
            let (key, columns) = map_key(schema, in_force, fk_pairs, &c, reason)?;
            spelled_alike(schema, f, &c, &key, &columns, reason)?;
            vias.insert(
                c,
                Via::KeyMap {
                    reason: reason.to_string(),
                    key,
                    columns,
                },
            );
        }
    }
    // A root with inheritors reads its own map, under the first key its children use.
    let mut roots: Vec<(ColumnRef, Via)> = Vec::new();
    for t in &schema.tables {
        for col in &t.columns {
            let c = (t.table_name(), col.name.clone());
            let Some(Via::KeyMap { reason, key, .. }) = vias.get(&c) else {
                continue;
            };
            let root = in_force[&c].root.clone();
            if !roots.iter().any(|(r, _)| *r == root) {
                let via = Via::KeyMap {
                    reason: reason.clone(),
                    key: key.clone(),
                    columns: key.clone(),
                };
                roots.push((root, via));
            }
        }
    }
    vias.extend(roots);
    Ok(vias)
}

/// A key map is looked up by the child's key values as read: each column of the child's
/// key must read equal values as the root's key column does (the same type, integers of
/// any width, varchar and text, decimals of one scale). Otherwise (`datetime` under
/// `datetime(3)`, a `date` under a `timestamp`, decimals of other scales, `char(n)`
/// under `varchar`) its rows would miss the map: refused, naming the FK and both types.
fn spelled_alike(
    schema: &Schema,
    f: &InForce,
    c: &ColumnRef,
    key: &[String],
    columns: &[String],
    reason: &str,
) -> Result<(), TransformError> {
    use tether_schema::DataType;
    let alike = |a: &Column, b: &Column| match (&a.normalized_type, &b.normalized_type) {
        // MariaDB's datetime(3) reads `.000` where datetime reads none.
        (DataType::Timestamp { .. }, DataType::Timestamp { .. }) => {
            a.normalized_type == b.normalized_type && a.engine_type.eq_ignore_ascii_case(&b.engine_type)
        }
        (DataType::Int { .. }, DataType::Int { .. }) => true,
        (DataType::Varchar { .. } | DataType::Text, DataType::Varchar { .. } | DataType::Text) => true,
        (
            DataType::Decimal {
                precision: Some(_),
                scale: s,
            },
            DataType::Decimal {
                precision: Some(_),
                scale: t,
            },
        ) => s.unwrap_or(0) == t.unwrap_or(0),
        (x, y) => x == y,
    };
    for (k, col) in key.iter().zip(columns) {
        let (Some(rk), Some(cc)) = (
            column(schema, &(f.root.0.clone(), k.clone())),
            column(schema, &(c.0.clone(), col.clone())),
        ) else {
            continue;
        };
        if alike(rk, cc) {
            continue;
        }
        let foreign_key = f.from.as_ref().map(|(fk, _)| fk.clone()).unwrap_or_default();
        return Err(TransformError::Fk(Box::new(FkConflict::KeyMapTypes {
            foreign_key,
            table: show(schema, &c.0),
            inheriting: c.1.clone(),
            key: format!("{} ({})", show(schema, &f.root.0), key.join(", ")),
            column: col.clone(),
            child_type: cc.engine_type.clone(),
            root: format!("{}.{}", show(schema, &f.root.0), f.root.1),
            root_key: format!("{}.{k}", show(schema, &f.root.0)),
            root_type: rk.engine_type.clone(),
            spec: f.spec.to_string(),
            reason: reason.to_string(),
        })));
    }
    Ok(())
}

/// The root key a key-map column's map is keyed by, and the columns of its own table that
/// hold it: the referenced columns of the FK leaving the root, carried down each FK of
/// the chain.
fn map_key(
    schema: &Schema,
    in_force: &HashMap<ColumnRef, InForce>,
    fk_pairs: &HashMap<(TableName, String), Vec<(String, String)>>,
    c: &ColumnRef,
    reason: &str,
) -> Result<(Vec<String>, Vec<String>), TransformError> {
    let f = &in_force[c];
    let (fk, p) = f.from.as_ref().expect("an inheriting column came through an FK");
    let pairs = fk_pairs
        .get(&(c.0.clone(), fk.clone()))
        .expect("the FK was read from the schema");
    if *p == f.root {
        let mut by_parent: Vec<(String, String)> = pairs.iter().map(|(ch, pa)| (pa.clone(), ch.clone())).collect();
        by_parent.sort();
        return Ok(by_parent.into_iter().unzip());
    }
    let (key, parent_columns) = map_key(schema, in_force, fk_pairs, p, reason)?;
    let mut columns = Vec::new();
    for pc in &parent_columns {
        match pairs.iter().find(|(_, pa)| pa == pc) {
            Some((ch, _)) => columns.push(ch.clone()),
            None => {
                return Err(TransformError::Fk(Box::new(FkConflict::KeyMapLost {
                    foreign_key: fk.clone(),
                    table: show(schema, &c.0),
                    column: c.1.clone(),
                    root: format!("{}.{}", show(schema, &f.root.0), f.root.1),
                    spec: f.spec.to_string(),
                    reason: reason.to_string(),
                    key: key.join(", "),
                    parent: format!("{}.{pc}", show(schema, &p.0)),
                })))
            }
        }
    }
    Ok((key, columns))
}
