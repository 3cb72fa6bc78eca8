//! The foreign-key graph: cycles (strongly connected components), which edges break
//! them, and a deterministic load order (parents before children).
//!
//! Edges point from child to parent. Foreign keys whose parent is not in the schema
//! (a filtered PostgreSQL schema, another MySQL database) are not edges.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

use crate::model::{ForeignKey, Schema, TableName};

/// One foreign key seen as a graph edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The child (referencing) table.
    pub table: TableName,
    pub foreign_key: String,
    pub referenced_table: TableName,
    /// Rows can be written with the key switched off by NULLs and updated afterwards:
    /// every FK column is nullable, or (MATCH SIMPLE) one outside the row key is.
    pub breakable: bool,
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
}

/// A strongly connected component with at least one edge inside it: two or more
/// tables that reference each other, or one table that references itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cycle {
    /// Tables in the order they load.
    pub tables: Vec<TableName>,
    /// Every FK edge inside the cycle.
    pub edges: Vec<Edge>,
    /// Names of the FKs inside the cycle that NULLs switch off ([`Edge::breakable`]).
    pub breakable: Vec<String>,
    /// A minimal set of breakable FKs whose removal makes the cycle acyclic: load
    /// with these NULL, then fill them in. Empty when `can_break` is false.
    pub break_with: Vec<String>,
    /// False when no set of nullable FKs breaks the cycle (for example two tables
    /// whose NOT NULL FKs point at each other): loading then needs deferred or
    /// disabled checks.
    pub can_break: bool,
}

/// The graph of a schema, analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FkGraph {
    pub cycles: Vec<Cycle>,
    /// Every table, parents before children.
    pub load_order: Vec<TableName>,
    /// The load order grouped in levels: a table's parents are all in earlier levels
    /// (or in its own cycle), so the tables of one level can load in parallel.
    pub load_levels: Vec<Vec<TableName>>,
}

struct Raw<'a> {
    names: Vec<TableName>,
    /// (child, parent, fk) by node index.
    edges: Vec<(usize, usize, &'a ForeignKey)>,
}

fn raw_edges(schema: &Schema) -> Raw<'_> {
    let names: Vec<TableName> = schema.tables.iter().map(|t| t.table_name()).collect();
    let index: HashMap<&TableName, usize> = names.iter().enumerate().map(|(i, n)| (n, i)).collect();
    let mut edges = Vec::new();
    for (child, table) in schema.tables.iter().enumerate() {
        for fk in &table.foreign_keys {
            if let Some(&parent) = index.get(&fk.referenced_name()) {
                edges.push((child, parent, fk));
            }
        }
    }
    Raw { names, edges }
}

/// Whether rows can be written with `fk` switched off by NULLs and updated afterwards:
/// every column of it nullable, or, under MATCH SIMPLE (MariaDB and SQLite always,
/// PostgreSQL unless `MATCH FULL`), where a NULL in any column of a composite key
/// switches it off, one nullable column outside the table's row key (the key the
/// cycle's UPDATEs find rows by keeps its value). `MATCH FULL` refuses a key NULL in
/// part only, so it needs every column nullable.
fn fk_nullable(schema: &Schema, table: usize, fk: &ForeignKey) -> bool {
    let t = &schema.tables[table];
    let nullable = |c: &String| t.column(c).is_none_or(|col| col.nullable);
    if fk.columns.iter().all(nullable) {
        return true;
    }
    let key = t.row_key();
    !fk.match_full && fk.columns.iter().any(|c| nullable(c) && !key.contains(c))
}

/// Kahn's algorithm over `nodes` using `edges` (child, parent); ties go to the
/// smallest key so the order is deterministic. Returns None on a cycle.
fn topo<K: Ord + Clone>(nodes: &[usize], edges: &[(usize, usize)], key: impl Fn(usize) -> K) -> Option<Vec<usize>> {
    let members: BTreeSet<usize> = nodes.iter().copied().collect();
    let mut pending: HashMap<usize, usize> = nodes.iter().map(|&n| (n, 0)).collect();
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(c, p) in edges {
        if c != p && members.contains(&c) && members.contains(&p) {
            *pending.get_mut(&c).expect("member") += 1;
            children.entry(p).or_default().push(c);
        } else if c == p && members.contains(&c) {
            return None;
        }
    }
    let mut ready: BTreeSet<(K, usize)> = pending
        .iter()
        .filter(|(_, &d)| d == 0)
        .map(|(&n, _)| (key(n), n))
        .collect();
    let mut out = Vec::with_capacity(nodes.len());
    while let Some((_, n)) = ready.pop_first() {
        out.push(n);
        for &c in children.get(&n).map(Vec::as_slice).unwrap_or(&[]) {
            let d = pending.get_mut(&c).expect("member");
            *d -= 1;
            if *d == 0 {
                ready.insert((key(c), c));
            }
        }
    }
    (out.len() == nodes.len()).then_some(out)
}

impl FkGraph {
    pub fn build(schema: &Schema) -> FkGraph {
        let raw = raw_edges(schema);
        let n = raw.names.len();
        let mut g: DiGraph<usize, ()> = DiGraph::with_capacity(n, raw.edges.len());
        let nodes: Vec<NodeIndex> = (0..n).map(|i| g.add_node(i)).collect();
        for &(c, p, _) in &raw.edges {
            g.add_edge(nodes[c], nodes[p], ());
        }
        let sccs: Vec<Vec<usize>> = tarjan_scc(&g)
            .into_iter()
            .map(|c| c.into_iter().map(|ni| g[ni]).collect())
            .collect();
        let mut scc_of = vec![0usize; n];
        for (i, c) in sccs.iter().enumerate() {
            for &t in c {
                scc_of[t] = i;
            }
        }

        // Order inside each component, and its cycle description.
        let name_key = |i: usize| &raw.names[i];
        let mut inner_order: Vec<Vec<usize>> = Vec::with_capacity(sccs.len());
        let mut cycle_of_scc: HashMap<usize, Cycle> = HashMap::new();
        for (si, members) in sccs.iter().enumerate() {
            let inside: Vec<(usize, usize, &ForeignKey)> = raw
                .edges
                .iter()
                .filter(|(c, p, _)| scc_of[*c] == si && scc_of[*p] == si)
                .copied()
                .collect();
            if inside.is_empty() {
                inner_order.push(members.clone());
                continue;
            }
            let nullable: Vec<bool> = inside.iter().map(|(c, _, fk)| fk_nullable(schema, *c, fk)).collect();
            let pairs = |keep: &dyn Fn(usize) -> bool| -> Vec<(usize, usize)> {
                inside
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| keep(*i))
                    .map(|(_, (c, p, _))| (*c, *p))
                    .collect()
            };
            // Drop every breakable edge; if that is acyclic, add edges back one at a
            // time while it stays acyclic, leaving a minimal breaking set.
            let mut removed: Vec<bool> = nullable.clone();
            let sort_key = |i: usize| name_key(i).clone();
            let can_break = topo(members, &pairs(&|i| !removed[i]), sort_key).is_some();
            if can_break {
                for i in 0..inside.len() {
                    if removed[i] {
                        removed[i] = false;
                        if topo(members, &pairs(&|j| !removed[j]), sort_key).is_none() {
                            removed[i] = true;
                        }
                    }
                }
            }
            let order = if can_break {
                topo(members, &pairs(&|i| !removed[i]), sort_key).expect("acyclic once broken")
            } else {
                let mut m = members.clone();
                m.sort_by(|a, b| raw.names[*a].cmp(&raw.names[*b]));
                m
            };
            let edges: Vec<Edge> = inside
                .iter()
                .zip(&nullable)
                .map(|((c, p, fk), &b)| Edge {
                    table: raw.names[*c].clone(),
                    foreign_key: fk.name.clone(),
                    referenced_table: raw.names[*p].clone(),
                    breakable: b,
                    is_virtual: fk.is_virtual,
                })
                .collect();
            let names_where = |pick: &dyn Fn(usize) -> bool| -> Vec<String> {
                inside
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| pick(*i))
                    .map(|(_, (_, _, fk))| fk.name.clone())
                    .collect()
            };
            cycle_of_scc.insert(
                si,
                Cycle {
                    tables: order.iter().map(|&t| raw.names[t].clone()).collect(),
                    breakable: names_where(&|i| nullable[i]),
                    break_with: if can_break {
                        names_where(&|i| removed[i])
                    } else {
                        vec![]
                    },
                    can_break,
                    edges,
                },
            );
            inner_order.push(order);
        }

        // Order the components: parents first, ties by the smallest table name.
        let scc_edges: Vec<(usize, usize)> = raw
            .edges
            .iter()
            .map(|(c, p, _)| (scc_of[*c], scc_of[*p]))
            .filter(|(c, p)| c != p)
            .collect();
        let scc_ids: Vec<usize> = (0..sccs.len()).collect();
        let first_name = |s: usize| {
            sccs[s]
                .iter()
                .map(|&t| &raw.names[t])
                .min()
                .cloned()
                .expect("components are non-empty")
        };
        let scc_order = topo(&scc_ids, &scc_edges, first_name).expect("the condensation is acyclic");

        let mut level = vec![0usize; sccs.len()];
        for &s in &scc_order {
            for &(c, p) in &scc_edges {
                if c == s {
                    level[s] = level[s].max(level[p] + 1);
                }
            }
        }
        let mut load_levels: Vec<Vec<TableName>> = Vec::new();
        let mut load_order = Vec::with_capacity(n);
        let mut cycles = Vec::new();
        for &s in &scc_order {
            let names: Vec<TableName> = inner_order[s].iter().map(|&t| raw.names[t].clone()).collect();
            if load_levels.len() <= level[s] {
                load_levels.resize(level[s] + 1, Vec::new());
            }
            load_levels[level[s]].extend(names.iter().cloned());
            load_order.extend(names);
            if let Some(c) = cycle_of_scc.remove(&s) {
                cycles.push(c);
            }
        }
        FkGraph {
            cycles,
            load_order,
            load_levels,
        }
    }

    /// The cycle a table belongs to, if any.
    pub fn cycle_of(&self, table: &TableName) -> Option<&Cycle> {
        self.cycles.iter().find(|c| c.tables.contains(table))
    }
}
