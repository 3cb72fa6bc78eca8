//! Shard scope of foreign keys, as Vitess defines it: an FK is shard-scoped when its
//! parent and child rows always live on the same node, so the node's InnoDB can
//! enforce it; otherwise it is cross-shard. Pure: a [`Layout`] and the keyspace's
//! tables in, a verdict per FK out.
//!
//! The FKs are the data nodes' own InnoDB FKs (read from one node) and those the
//! VSchema declares for the keyspace (sync's virtual-FK shape); one declared in both
//! places must agree. Verdicts:
//! - both tables sharded: shard-scoped when partitioned by the same method and
//!   expression over the FK's columns in the same positions (child column i of the
//!   expression paired by the FK with parent column i), with the same number of
//!   partitions, the same bounds and each partition on the same nodes (Vitess's
//!   shared vindex). Conservative: `HASH(a)` over 4 partitions on n1,n2,n1,n2 places
//!   rows like 2 partitions on n1,n2, but is reported cross-shard.
//! - parent copied (Spider's multiple links) to every node the child has rows on,
//!   or both tables on one same node: shard-scoped.
//! - both plain tables of the head: the head's own FK ([`Scope::Head`]).
//! - anything else (a plain table on one side, a copied child of a sharded parent):
//!   cross-shard.
//!
//! Not compared: column types. `KEY` partitioning hashes by type, so an FK between
//! an INT and a BIGINT column (possible only in the VSchema: InnoDB refuses it) is
//! reported shard-scoped although rows may be placed apart.

use std::collections::BTreeMap;
use std::fmt;

use tether_schema::{virtual_fk, ForeignKey, LocatedSpec, Schema, SchemaError, Table};

use super::layout::{Layout, Placement, Sharding};

/// Where an FK's parent and child rows meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Parent and child rows are always on the same node.
    ShardScoped { why: String },
    /// A child row and its parent row may be on different nodes (or one on the head).
    CrossShard { why: String },
    /// Both are plain tables of the head.
    Head,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::ShardScoped { why } => write!(f, "shard-scoped: {why}"),
            Scope::CrossShard { why } => write!(f, "cross-shard: {why}"),
            Scope::Head => f.write_str("on the head: both tables are plain"),
        }
    }
}

/// Where an FK was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The data nodes' InnoDB FKs (or the head's, for plain tables).
    Database,
    /// The VSchema only.
    VSchema,
    /// Both, agreeing.
    Both,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Database => "database",
            Source::VSchema => "vschema",
            Source::Both => "database+vschema",
        })
    }
}

/// One FK of the keyspace with its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedFk {
    /// The child table.
    pub table: String,
    pub fk: ForeignKey,
    pub source: Source,
    pub scope: Scope,
}

/// Why the FKs of a keyspace cannot be scoped.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error(
        "foreign key `{name}`{}: the VSchema and the data nodes disagree: {difference}",
        .line.map(|l| format!(" (VSchema line {l})")).unwrap_or_default()
    )]
    Disagree {
        name: String,
        line: Option<usize>,
        difference: String,
    },
    #[error("sharded keyspace: {0}")]
    VirtualFk(#[from] SchemaError),
    #[error("foreign key `{name}` of `{table}`: table `{missing}` is not in the head's layout")]
    NotInLayout {
        name: String,
        table: String,
        missing: String,
    },
}

/// Where to read a Spider table's definition: (node, database on it, table on it)
/// of its first link. [`keyspace_tables`] wants the schema of each (node, database).
pub fn sources(layout: &Layout) -> Vec<(String, String, String)> {
    layout
        .tables
        .iter()
        .filter_map(|t| {
            let link = match &t.placement {
                Placement::Plain => return None,
                Placement::Linked(l) => l,
                Placement::Sharded(s) => &s.partitions.first()?.link,
            };
            Some((link.servers.first()?.clone(), link.database.clone(), link.table.clone()))
        })
        .collect()
}

/// The keyspace's tables under their head names: each Spider table as its first
/// node has it (with its InnoDB FKs; `nodes` holds the schema of each (node,
/// database) of [`sources`]), renamed from the node's name where the link names
/// another table, plus the head's plain tables (with their FKs).
/// Every (node, database, remote table) a Spider table of `layout` links to, with
/// the head table's name.
pub fn all_links(layout: &Layout) -> Vec<(&str, &str, &str, &str)> {
    let mut out = Vec::new();
    for t in &layout.tables {
        let links: Vec<&super::layout::Link> = match &t.placement {
            Placement::Plain => continue,
            Placement::Linked(l) => vec![l],
            Placement::Sharded(s) => s.partitions.iter().map(|p| &p.link).collect(),
        };
        for l in links {
            for n in &l.servers {
                out.push((n.as_str(), l.database.as_str(), l.table.as_str(), t.name.as_str()));
            }
        }
    }
    out
}

/// Where the data nodes disagree on a Spider table's FKs (one node has an FK the
/// first node has not, or with other columns or actions): one line per FK, naming
/// it, the table and the nodes. `nodes` holds the schema of every (node, database)
/// of [`all_links`].
pub fn node_disagreements(layout: &Layout, nodes: &BTreeMap<(String, String), Schema>) -> Vec<String> {
    let links = all_links(layout);
    let head_name: BTreeMap<(&str, &str, &str), &str> = links.iter().map(|&(n, d, r, h)| ((n, d, r), h)).collect();
    // head table -> (node, its FKs under head names), first node first
    let mut seen: BTreeMap<&str, (String, Vec<ForeignKey>)> = BTreeMap::new();
    let mut out = Vec::new();
    for &(node, database, remote, head) in &links {
        let Some(found) = nodes
            .get(&(node.to_string(), database.to_string()))
            .and_then(|s| s.tables.iter().find(|t| t.name == remote))
        else {
            continue;
        };
        let mut fks: Vec<ForeignKey> = found
            .foreign_keys
            .iter()
            .map(|f| {
                let mut f = f.clone();
                f.referenced_table = head_name
                    .get(&(node, database, f.referenced_table.as_str()))
                    .map_or(f.referenced_table.clone(), |h| h.to_string());
                f.referenced_schema = None;
                f
            })
            .collect();
        fks.sort_by(|a, b| a.name.cmp(&b.name));
        match seen.get(head) {
            None => {
                seen.insert(head, (node.to_string(), fks));
            }
            Some((first, first_fks)) if *first_fks != fks => {
                let names: std::collections::BTreeSet<&str> =
                    first_fks.iter().chain(&fks).map(|f| f.name.as_str()).collect();
                for name in names {
                    let a = first_fks.iter().find(|f| f.name == name);
                    let b = fks.iter().find(|f| f.name == name);
                    if a != b {
                        let has = |f: Option<&ForeignKey>| match f {
                            Some(_) => "has it",
                            None => "has none",
                        };
                        let how = if a.is_some() && b.is_some() { "differently" } else { "" };
                        out.push(format!(
                            "foreign key `{name}` of `{head}`: data node {first} {}, data node {node} {}{}",
                            has(a),
                            has(b),
                            if how.is_empty() {
                                String::new()
                            } else {
                                format!(" ({how})")
                            }
                        ));
                    }
                }
            }
            Some(_) => {}
        }
    }
    out.dedup();
    out
}

pub fn keyspace_tables(layout: &Layout, nodes: &BTreeMap<(String, String), Schema>, head: &Schema) -> Schema {
    // (node, database, remote table) -> head table
    let head_name: BTreeMap<(&str, &str, &str), &str> = all_links(layout)
        .into_iter()
        .map(|(n, d, r, h)| ((n, d, r), h))
        .collect();
    let mut tables: Vec<Table> = Vec::new();
    for (node, database, remote) in sources(layout) {
        let Some(found) = nodes
            .get(&(node.clone(), database.clone()))
            .and_then(|s| s.tables.iter().find(|t| t.name == remote))
        else {
            continue;
        };
        let rename = |n: &str| {
            head_name
                .get(&(node.as_str(), database.as_str(), n))
                .map(|h| h.to_string())
        };
        let mut t = found.clone();
        t.name = rename(&remote).unwrap_or(remote.clone());
        t.schema = None;
        for fk in &mut t.foreign_keys {
            fk.referenced_table = rename(&fk.referenced_table).unwrap_or_else(|| fk.referenced_table.clone());
            fk.referenced_schema = None;
        }
        tables.push(t);
    }
    for t in &head.tables {
        if layout.table(&t.name).is_some_and(|l| l.placement == Placement::Plain) {
            let mut t = t.clone();
            t.schema = None;
            for fk in &mut t.foreign_keys {
                fk.referenced_schema = None;
            }
            tables.push(t);
        }
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    Schema {
        engine: head.engine,
        default_schema: None,
        tables,
        objects: Default::default(),
    }
}

/// Every FK of the keyspace (those of `tables`, see [`keyspace_tables`], and those
/// `declared` in the VSchema) with its scope, ordered by child table and FK name.
pub fn scope_fks(layout: &Layout, tables: &Schema, declared: &[LocatedSpec]) -> Result<Vec<ScopedFk>, ScopeError> {
    let (all, sources) = merge(tables, declared)?;
    let mut out = Vec::new();
    for t in &all.tables {
        for fk in &t.foreign_keys {
            let scope = scope_of(layout, &t.name, fk)?;
            let source = sources
                .get(&(t.name.clone(), fk.name.clone()))
                .copied()
                .unwrap_or(Source::Database);
            out.push(ScopedFk {
                table: t.name.clone(),
                fk: fk.clone(),
                source,
                scope,
            });
        }
    }
    out.sort_by(|a, b| (&a.table, &a.fk.name).cmp(&(&b.table, &b.fk.name)));
    Ok(out)
}

/// Where each FK was found, by (child table, FK name); FKs not listed are the
/// database's.
pub type Sources = BTreeMap<(String, String), Source>;

/// `tables` (see [`keyspace_tables`]) with the FKs `declared` in the VSchema added
/// (those the data nodes have already must agree with them), and where each FK
/// was found.
pub fn merge(tables: &Schema, declared: &[LocatedSpec]) -> Result<(Schema, Sources), ScopeError> {
    let mut all = tables.clone();
    let mut sources: Sources = BTreeMap::new();
    for located in declared {
        let spec = &located.spec;
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("{}_{}_vfk", spec.table.replace('.', "_"), spec.columns.join("_")));
        let existing = all.find_table(&spec.table).and_then(|t| {
            t.foreign_keys
                .iter()
                .find(|f| f.name == name || (f.columns == spec.columns && f.referenced_table == spec.referenced_table))
                .map(|f| (t.name.clone(), f.clone()))
        });
        match existing {
            Some((table, fk)) => {
                let parent_key = all
                    .find_table(&spec.referenced_table)
                    .map(|p| p.primary_key.clone())
                    .unwrap_or_default();
                let referenced = if spec.referenced_columns.is_empty() {
                    parent_key
                } else {
                    spec.referenced_columns.clone()
                };
                let said = |cols: &[String], parent: &str, refs: &[String]| {
                    format!(
                        "`{}` ({}) -> `{parent}` ({})",
                        spec.table,
                        cols.join(", "),
                        refs.join(", ")
                    )
                };
                if fk.name != name
                    || fk.columns != spec.columns
                    || fk.referenced_table != spec.referenced_table
                    || fk.referenced_columns != referenced
                {
                    return Err(ScopeError::Disagree {
                        name: fk.name.clone(),
                        line: located.line,
                        difference: format!(
                            "the VSchema declares `{name}`: {}; the data nodes have `{}`: {}",
                            said(&spec.columns, &spec.referenced_table, &referenced),
                            fk.name,
                            said(&fk.columns, &fk.referenced_table, &fk.referenced_columns)
                        ),
                    });
                }
                sources.insert((table, fk.name), Source::Both);
            }
            None => {
                virtual_fk::apply(&mut all, std::slice::from_ref(located))?;
                let table = all.find_table(&spec.table).map(|t| t.name.clone()).unwrap_or_default();
                sources.insert((table, name), Source::VSchema);
            }
        }
    }
    Ok((all, sources))
}

/// The scope of one FK of table `child`.
pub fn scope_of(layout: &Layout, child: &str, fk: &ForeignKey) -> Result<Scope, ScopeError> {
    let find = |name: &str| {
        layout.table(name).ok_or_else(|| ScopeError::NotInLayout {
            name: fk.name.clone(),
            table: child.to_string(),
            missing: name.to_string(),
        })
    };
    let c = find(child)?;
    let p = find(&fk.referenced_table)?;
    let parent = &p.name;
    let cross = |why: String| Ok(Scope::CrossShard { why });
    let scoped = |why: String| Ok(Scope::ShardScoped { why });
    let (c_nodes, p_nodes) = (c.nodes(), p.nodes());
    match (&c.placement, &p.placement) {
        (Placement::Plain, Placement::Plain) => Ok(Scope::Head),
        (Placement::Plain, _) => cross(format!("`{child}` is on the head, `{parent}` on the data nodes")),
        (_, Placement::Plain) => cross(format!("`{child}` is on the data nodes, `{parent}` on the head")),
        _ if c_nodes.len() == 1 && c_nodes == p_nodes => scoped(format!("both tables are on {}", c_nodes[0])),
        (_, Placement::Linked(_)) => match c_nodes.iter().find(|n| !p_nodes.contains(n)) {
            None => scoped(format!("`{parent}` has a copy on every node of `{child}`")),
            Some(n) => cross(format!("`{child}` has rows on {n}, where `{parent}` has none")),
        },
        (Placement::Linked(_), Placement::Sharded(_)) => cross(format!(
            "`{child}` is {}, `{parent}` is sharded",
            if c_nodes.len() > 1 { "copied" } else { "on one node" }
        )),
        (Placement::Sharded(cs), Placement::Sharded(ps)) => match sharded_difference(child, cs, parent, ps, fk) {
            None => scoped(format!(
                "both sharded by {} ({}) over the FK's columns, partitions on the same nodes",
                cs.method,
                cs.template.replace('?', "_")
            )),
            Some(why) => cross(why),
        },
    }
}

/// Why two sharded tables do not place an FK's rows together; `None` when they do.
fn sharded_difference(child: &str, c: &Sharding, parent: &str, p: &Sharding, fk: &ForeignKey) -> Option<String> {
    if c.method != p.method || c.template != p.template {
        return Some(format!(
            "`{child}` is sharded by {} ({}), `{parent}` by {} ({})",
            c.method,
            c.template.replace('?', "_"),
            p.method,
            p.template.replace('?', "_")
        ));
    }
    if c.partitions.len() != p.partitions.len() {
        return Some(format!(
            "`{child}` has {} partitions, `{parent}` {}",
            c.partitions.len(),
            p.partitions.len()
        ));
    }
    for (cp, pp) in c.partitions.iter().zip(&p.partitions) {
        if cp.bound != pp.bound {
            return Some(format!(
                "partition bounds differ: `{child}`.{} < {}, `{parent}`.{} < {}",
                cp.name,
                cp.bound.as_deref().unwrap_or("-"),
                pp.name,
                pp.bound.as_deref().unwrap_or("-")
            ));
        }
        if cp.link.servers != pp.link.servers {
            return Some(format!(
                "`{child}`.{} is on {}, `{parent}`.{} on {}",
                cp.name,
                cp.link.servers.join("+"),
                pp.name,
                pp.link.servers.join("+")
            ));
        }
    }
    for (i, (cc, pc)) in c.columns.iter().zip(&p.columns).enumerate() {
        let Some(k) = fk.columns.iter().position(|f| f == cc) else {
            return Some(format!(
                "`{child}` is sharded by `{cc}`, which is not a column of the foreign key"
            ));
        };
        if &fk.referenced_columns[k] != pc {
            return Some(format!(
                "the foreign key pairs `{child}`.`{cc}` with `{parent}`.`{}`, but position {} of the \
                 sharding expression is `{parent}`.`{pc}`",
                fk.referenced_columns[k],
                i + 1
            ));
        }
    }
    None
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::layout::{Link, PartitionLink, TableLayout};
    use super::*;
    use tether_schema::{Column, DataType, Engine, FkAction, VirtualFkSpec};

    fn link(servers: &[&str], table: &str) -> Link {
        Link {
            servers: servers.iter().map(|s| s.to_string()).collect(),
            database: "shop".into(),
            table: table.into(),
        }
    }

    /// `method` over `columns` (template from `template`), partition i on `nodes[i]`.
    fn sharded(
        name: &str,
        method: &str,
        template: &str,
        columns: &[&str],
        nodes: &[&str],
        bounds: &[&str],
    ) -> TableLayout {
        TableLayout {
            name: name.into(),
            placement: Placement::Sharded(Sharding {
                method: method.into(),
                template: template.into(),
                columns: columns.iter().map(|c| c.to_string()).collect(),
                partitions: nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| PartitionLink {
                        name: format!("p{i}"),
                        bound: bounds.get(i).map(|b| b.to_string()),
                        link: link(&[n], name),
                    })
                    .collect(),
            }),
        }
    }

    pub(in crate::sharded) fn hash(name: &str, column: &str) -> TableLayout {
        sharded(name, "HASH", "?", &[column], &["node1", "node2"], &[])
    }

    fn linked(name: &str, servers: &[&str]) -> TableLayout {
        TableLayout {
            name: name.into(),
            placement: Placement::Linked(link(servers, name)),
        }
    }

    pub(in crate::sharded) fn plain(name: &str) -> TableLayout {
        TableLayout {
            name: name.into(),
            placement: Placement::Plain,
        }
    }

    pub(in crate::sharded) fn layout(tables: Vec<TableLayout>) -> Layout {
        Layout {
            database: "shop".into(),
            nodes: Vec::new(),
            tables,
        }
    }

    fn fk(name: &str, columns: &[&str], parent: &str, referenced: &[&str]) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            referenced_table: parent.into(),
            referenced_schema: None,
            referenced_columns: referenced.iter().map(|c| c.to_string()).collect(),
            on_delete: FkAction::Cascade,
            on_update: FkAction::Restrict,
            deferrable: false,
            initially_deferred: false,
            is_virtual: false,
            delete_set_columns: Vec::new(),
            match_full: false,
            not_valid: false,
            partition: None,
        }
    }

    fn verdict(l: &Layout, child: &str, f: &ForeignKey) -> String {
        scope_of(l, child, f).expect("tables in the layout").to_string()
    }

    #[test]
    fn same_function_over_the_fk_columns_is_shard_scoped() {
        let l = layout(vec![hash("customer", "id"), hash("orders", "customer_id")]);
        assert_eq!(
            verdict(&l, "orders", &fk("o_c", &["customer_id"], "customer", &["id"])),
            "shard-scoped: both sharded by HASH (_) over the FK's columns, partitions on the same nodes"
        );
        // Sharded by its own key, not the FK's column: rows go apart.
        let l = layout(vec![hash("customer", "id"), hash("orders", "id")]);
        assert_eq!(
            verdict(&l, "orders", &fk("o_c", &["customer_id"], "customer", &["id"])),
            "cross-shard: `orders` is sharded by `id`, which is not a column of the foreign key"
        );
    }

    #[test]
    fn same_function_with_the_columns_in_another_order_is_cross_shard() {
        let parent = sharded("account", "KEY", "?,?", &["region", "no"], &["node1", "node2"], &[]);
        let same = sharded("txn", "KEY", "?,?", &["acc_region", "acc_no"], &["node1", "node2"], &[]);
        let swapped = sharded("txn", "KEY", "?,?", &["acc_no", "acc_region"], &["node1", "node2"], &[]);
        let f = fk("t_a", &["acc_region", "acc_no"], "account", &["region", "no"]);
        assert!(verdict(&layout(vec![parent.clone(), same]), "txn", &f).starts_with("shard-scoped"));
        assert_eq!(
            verdict(&layout(vec![parent, swapped]), "txn", &f),
            "cross-shard: the foreign key pairs `txn`.`acc_no` with `account`.`no`, but position 1 of the \
             sharding expression is `account`.`region`"
        );
    }

    #[test]
    fn different_functions_partitions_or_bounds_are_cross_shard() {
        let f = fk("o_c", &["customer_id"], "customer", &["id"]);
        let key = sharded("orders", "KEY", "?", &["customer_id"], &["node1", "node2"], &[]);
        assert_eq!(
            verdict(&layout(vec![hash("customer", "id"), key]), "orders", &f),
            "cross-shard: `orders` is sharded by KEY (_), `customer` by HASH (_)"
        );
        let div = sharded("orders", "HASH", "? DIV 10", &["customer_id"], &["node1", "node2"], &[]);
        assert!(verdict(&layout(vec![hash("customer", "id"), div]), "orders", &f).starts_with("cross-shard"));
        let four = sharded(
            "orders",
            "HASH",
            "?",
            &["customer_id"],
            &["node1", "node2", "node1", "node2"],
            &[],
        );
        assert_eq!(
            verdict(&layout(vec![hash("customer", "id"), four]), "orders", &f),
            "cross-shard: `orders` has 4 partitions, `customer` 2"
        );
        let range = |name: &str, col: &str, bound: &str| {
            sharded(name, "RANGE", "?", &[col], &["node1", "node2"], &[bound, "MAXVALUE"])
        };
        assert!(verdict(
            &layout(vec![
                range("customer", "id", "100"),
                range("orders", "customer_id", "100")
            ]),
            "orders",
            &f
        )
        .starts_with("shard-scoped"));
        assert_eq!(
            verdict(
                &layout(vec![
                    range("customer", "id", "100"),
                    range("orders", "customer_id", "200")
                ]),
                "orders",
                &f
            ),
            "cross-shard: partition bounds differ: `orders`.p0 < 200, `customer`.p0 < 100"
        );
    }

    #[test]
    fn different_node_lists_are_cross_shard() {
        let f = fk("o_c", &["customer_id"], "customer", &["id"]);
        let swapped = sharded("orders", "HASH", "?", &["customer_id"], &["node2", "node1"], &[]);
        assert_eq!(
            verdict(&layout(vec![hash("customer", "id"), swapped]), "orders", &f),
            "cross-shard: `orders`.p0 is on node2, `customer`.p0 on node1"
        );
        let three = sharded("orders", "HASH", "?", &["customer_id"], &["node1", "node3"], &[]);
        assert!(verdict(&layout(vec![hash("customer", "id"), three]), "orders", &f).starts_with("cross-shard"));
    }

    #[test]
    fn an_unsharded_parent_or_child_is_cross_shard_and_two_plain_tables_are_the_heads() {
        let f = fk("o_c", &["customer_id"], "customer", &["id"]);
        assert_eq!(
            verdict(
                &layout(vec![plain("customer"), hash("orders", "customer_id")]),
                "orders",
                &f
            ),
            "cross-shard: `orders` is on the data nodes, `customer` on the head"
        );
        assert_eq!(
            verdict(&layout(vec![hash("customer", "id"), plain("orders")]), "orders", &f),
            "cross-shard: `orders` is on the head, `customer` on the data nodes"
        );
        assert_eq!(
            verdict(&layout(vec![plain("customer"), plain("orders")]), "orders", &f),
            "on the head: both tables are plain"
        );
    }

    #[test]
    fn copied_parents_are_shard_scoped_copied_children_of_sharded_parents_are_not() {
        let f = fk("o_c", &["code"], "country", &["code"]);
        let both = ["node1", "node2"];
        assert_eq!(
            verdict(
                &layout(vec![linked("country", &both), hash("orders", "id")]),
                "orders",
                &f
            ),
            "shard-scoped: `country` has a copy on every node of `orders`"
        );
        assert_eq!(
            verdict(
                &layout(vec![linked("country", &["node1"]), hash("orders", "id")]),
                "orders",
                &f
            ),
            "cross-shard: `orders` has rows on node2, where `country` has none"
        );
        assert!(verdict(
            &layout(vec![linked("country", &both), linked("orders", &both)]),
            "orders",
            &f
        )
        .starts_with("shard-scoped"));
        let g = fk("c_o", &["id"], "orders", &["id"]);
        assert_eq!(
            verdict(
                &layout(vec![linked("country", &both), hash("orders", "id")]),
                "country",
                &g
            ),
            "cross-shard: `country` is copied, `orders` is sharded"
        );
        // Two tables that live on the same single node.
        assert_eq!(
            verdict(
                &layout(vec![linked("country", &["node2"]), linked("orders", &["node2"])]),
                "orders",
                &f
            ),
            "shard-scoped: both tables are on node2"
        );
    }

    pub(in crate::sharded) fn table(name: &str, columns: &[&str], key: &[&str], fks: Vec<ForeignKey>) -> Table {
        Table {
            name: name.into(),
            columns: columns
                .iter()
                .map(|c| Column {
                    name: c.to_string(),
                    engine_type: "int(11)".into(),
                    normalized_type: DataType::Int {
                        bytes: 4,
                        unsigned: false,
                    },
                    nullable: true,
                    default: None,
                    identity: None,
                    generated: None,
                })
                .collect(),
            primary_key: key.iter().map(|c| c.to_string()).collect(),
            foreign_keys: fks,
            ..Default::default()
        }
    }

    pub(in crate::sharded) fn schema(tables: Vec<Table>) -> Schema {
        Schema {
            engine: Engine::Mysql,
            default_schema: None,
            tables,
            objects: Default::default(),
        }
    }

    fn spec(name: Option<&str>, table: &str, columns: &[&str], parent: &str, referenced: &[&str]) -> LocatedSpec {
        LocatedSpec {
            spec: VirtualFkSpec {
                name: name.map(str::to_string),
                table: table.into(),
                columns: columns.iter().map(|c| c.to_string()).collect(),
                referenced_table: parent.into(),
                referenced_columns: referenced.iter().map(|c| c.to_string()).collect(),
            },
            line: Some(7),
        }
    }

    #[test]
    fn node_and_vschema_fks_are_merged_and_must_agree() {
        let l = layout(vec![
            hash("customer", "id"),
            hash("orders", "customer_id"),
            sharded("note", "HASH", "?", &["id"], &["node1", "node2"], &[]),
            plain("audit"),
        ]);
        let tables = schema(vec![
            table("audit", &["id", "customer_id"], &["id"], vec![]),
            table("customer", &["id"], &["id"], vec![]),
            table("note", &["id", "order_id"], &["id"], vec![]),
            table(
                "orders",
                &["id", "customer_id"],
                &["id"],
                vec![fk("orders_customer_fk", &["customer_id"], "customer", &["id"])],
            ),
        ]);
        let declared = vec![
            // The node's FK again, referenced columns left to the parent's key: agrees.
            spec(Some("orders_customer_fk"), "orders", &["customer_id"], "customer", &[]),
            spec(None, "note", &["order_id"], "orders", &["id"]),
            spec(Some("audit_customer"), "audit", &["customer_id"], "customer", &[]),
        ];
        let fks = scope_fks(&l, &tables, &declared).expect("the FKs agree");
        let summary: Vec<String> = fks
            .iter()
            .map(|s| format!("{}.{} [{}] {}", s.table, s.fk.name, s.source, s.scope))
            .collect();
        assert_eq!(
            summary,
            [
                "audit.audit_customer [vschema] cross-shard: `audit` is on the head, `customer` on the data nodes",
                "note.note_order_id_vfk [vschema] cross-shard: `note` is sharded by `id`, which is not a column of the foreign key",
                "orders.orders_customer_fk [database+vschema] shard-scoped: both sharded by HASH (_) over the FK's columns, partitions on the same nodes",
            ]
        );

        // Declared in both places, pointing elsewhere: an error naming it.
        let wrong = vec![spec(
            Some("orders_customer_fk"),
            "orders",
            &["customer_id"],
            "note",
            &["id"],
        )];
        let e = scope_fks(&l, &tables, &wrong).unwrap_err();
        assert_eq!(
            e.to_string(),
            "foreign key `orders_customer_fk` (VSchema line 7): the VSchema and the data nodes disagree: the \
             VSchema declares `orders_customer_fk`: `orders` (customer_id) -> `note` (id); the data nodes have \
             `orders_customer_fk`: `orders` (customer_id) -> `customer` (id)"
        );
        // Same columns and parent under another name: also a disagreement.
        let renamed = vec![spec(Some("o_c"), "orders", &["customer_id"], "customer", &["id"])];
        assert!(matches!(
            scope_fks(&l, &tables, &renamed),
            Err(ScopeError::Disagree { name, .. }) if name == "orders_customer_fk"
        ));
        // A VSchema FK over a column that does not exist: sync's own check.
        let bad = vec![spec(None, "note", &["nope"], "orders", &["id"])];
        assert_eq!(
            scope_fks(&l, &tables, &bad).unwrap_err().to_string(),
            "sharded keyspace: virtual foreign key note_nope_vfk (line 7): column `note`.`nope` does not exist"
        );
    }
}
