//! `max_children_per_parent`: which of a children's ask's parent values each child row
//! counts against. The FK matched each child to one parent, not always byte for byte
//! (a MariaDB `_ci` or PAD SPACE key, a PostgreSQL nondeterministic collation or typed
//! FK, SQLite's NOCASE, RTRIM or the parent column's affinity), and how it compares is
//! the engine's to say: a child value that is none of the parent values as it is, is
//! matched by the source itself, joining the two tables as the FK compares them.

use std::collections::HashMap;

use tether_connect::{Connection, Engine, Value};
use tether_schema::{ForeignKey, Table};

use super::typed::TypedFk;
use crate::error::SyncError;

/// A value (one FK's or key's columns) as one string: equal strings for equal values
/// byte for byte and of the same kind.
fn exact(value: &[Value]) -> String {
    value.iter().map(|v| format!("{v:?}\u{0}")).collect()
}

/// For each of `children` (the FK's columns of each child row read for `keys`), the
/// index in `keys` of the parent value the FK matches it to. A child value equal to a
/// parent value as it is belongs to it (parent values are distinct as the FK compares
/// them, and every value equals itself; not for a typed FK, whose casts may make a
/// child equal to another parent value); the others are asked of `source` with the FK's
/// comparison ([`join_sql`]). `None`: no parent value found (the caller counts such a
/// child by its own value).
pub(super) async fn parents_of(
    source: &mut Connection,
    child: &Table,
    parent: &Table,
    fk: &ForeignKey,
    typed: Option<&TypedFk>,
    keys: &[Vec<Value>],
    children: &[Vec<Value>],
) -> Result<Vec<Option<usize>>, SyncError> {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        index.entry(exact(k)).or_insert(i);
    }
    let mut found: HashMap<String, Option<usize>> = HashMap::new();
    let mut asked: Vec<Vec<Value>> = Vec::new();
    for value in children {
        let key = exact(value);
        if found.contains_key(&key) {
            continue;
        }
        let as_is = match typed {
            None => index.get(&key).copied(),
            Some(_) => None,
        };
        if as_is.is_none() && !value.iter().any(|v| matches!(v, Value::Null)) {
            asked.push(value.clone());
        }
        found.insert(key, as_is);
    }
    for chunk in asked.chunks(tether_connect::rw::KEYS_PER_QUERY) {
        let sql = join_sql(source.engine(), child, parent, fk, typed, chunk);
        let mut types: Vec<tether_schema::DataType> = Vec::with_capacity(2 * fk.columns.len());
        for (t, cols) in [(child, &fk.columns), (parent, &fk.referenced_columns)] {
            types.extend(cols.iter().map(|c| {
                t.column(c)
                    .map(|c| c.normalized_type.clone())
                    .unwrap_or(tether_schema::DataType::Text)
            }));
        }
        let n = fk.columns.len();
        for row in source.query(&sql, &types).await? {
            let (c, p) = row.split_at(n);
            let Some(&i) = index.get(&exact(p)) else { continue };
            // Two parent values the FK matches (a virtual FK on a key that is not
            // unique as it compares): the first in the ask's order, on every run.
            if let Some(slot) = found.get_mut(&exact(c)) {
                *slot = Some(slot.map_or(i, |j| j.min(i)));
            }
        }
    }
    Ok(children
        .iter()
        .map(|v| found.get(&exact(v)).copied().flatten())
        .collect())
}

/// The pairs (child value, parent value) of `values` (child values) that the FK
/// matches, as the FK compares them: MariaDB/MySQL `=` (InnoDB requires one collation
/// on both sides, PAD SPACE or NO PAD as it says); SQLite the parent's column on the
/// left of `=` (its collation) and the child's as `+column`, which has no affinity, so
/// the parent column's affinity is applied to the child's value as the FK applies it;
/// PostgreSQL `=` in the parent column's collation, or a typed FK's own operator and
/// casts. Without DISTINCT: under a caseless collation it would keep one spelling of
/// 'ABC' and 'abc'.
fn join_sql(
    engine: Engine,
    child: &Table,
    parent: &Table,
    fk: &ForeignKey,
    typed: Option<&TypedFk>,
    values: &[Vec<Value>],
) -> String {
    let d = tether_connect::dialect_of(engine);
    let pairs: Vec<(&String, &String)> = fk.columns.iter().zip(&fk.referenced_columns).collect();
    let on: Vec<String> = pairs
        .iter()
        .enumerate()
        .map(|(i, (c, p))| {
            let (c, p) = (format!("tether_c.{}", d.ident(c)), format!("tether_p.{}", d.ident(p)));
            match engine {
                Engine::Mysql => format!("{c} = {p}"),
                Engine::Sqlite => format!("{p} = +{c}"),
                Engine::Postgres => match typed.and_then(|t| t.pairs.get(i)) {
                    Some(t) => {
                        let collate = t.collate.as_ref().map(|x| format!(" COLLATE {x}")).unwrap_or_default();
                        format!("{p}::{} {} ({c}::{}{collate})", t.left, t.op, t.right)
                    }
                    None => {
                        let theirs = parent.extras.collations.get(pairs[i].1);
                        match theirs == child.extras.collations.get(pairs[i].0) {
                            true => format!("{c} = {p}"),
                            false => {
                                let collation = theirs.map_or("pg_catalog.\"default\"", String::as_str);
                                format!("{c} COLLATE {collation} = {p}")
                            }
                        }
                    }
                },
            }
        })
        .collect();
    let literal = |v: &Vec<Value>| match v.len() {
        1 => d.literal(&v[0]),
        _ => format!("({})", v.iter().map(|x| d.literal(x)).collect::<Vec<_>>().join(", ")),
    };
    let list = values.iter().map(literal).collect::<Vec<_>>().join(", ");
    let child_cols: Vec<String> = fk.columns.iter().map(|c| format!("tether_c.{}", d.ident(c))).collect();
    let filter = match (child_cols.len(), engine) {
        (1, _) => format!("{} IN ({list})", child_cols[0]),
        (_, Engine::Sqlite) => format!("({}) IN (VALUES {list})", child_cols.join(", ")),
        _ => format!("({}) IN ({list})", child_cols.join(", ")),
    };
    let mut inner = Vec::with_capacity(2 * pairs.len());
    let mut outer = Vec::with_capacity(2 * pairs.len());
    for (side, alias, table, cols) in [
        ("c", "tether_c", child, &fk.columns),
        ("p", "tether_p", parent, &fk.referenced_columns),
    ] {
        for (i, col) in cols.iter().enumerate() {
            let name = format!("tether_{side}{i}");
            inner.push(format!("{alias}.{} AS {}", d.ident(col), d.ident(&name)));
            // Read as the subset's reads read the column (MariaDB: a float as double).
            outer.push(d.read_column(&name, table.column(col).map(|c| &c.normalized_type)));
        }
    }
    format!(
        "SELECT {} FROM (SELECT {} FROM {} tether_c JOIN {} tether_p ON {} WHERE {filter}) tether_j",
        outer.join(", "),
        inner.join(", "),
        d.own_rows(child),
        d.own_rows(parent),
        on.join(" AND "),
    )
}
