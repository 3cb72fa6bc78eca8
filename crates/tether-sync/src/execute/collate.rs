//! The collations of the MariaDB/MySQL columns a transformed unique key lands in, as
//! [`Weights`] read from each destination server: the unique keys' collision check
//! compares the new values the way that column will (`č` and `c` are one key to
//! `utf8mb4_general_ci`), not by a hand-written table of accents that misses some.

use std::collections::HashMap;
use std::sync::Arc;

use tether_schema::{DataType, Engine, TableName, Value};
use tether_transform::Weights;

use super::destination::Destination;
use crate::error::SyncError;
use crate::plan::Plan;

/// Per destination (in job order; None: not MariaDB/MySQL): source table and column ->
/// its collation's weights (None: a binary collation, bytes compared), for the
/// transformed text columns of a unique key only.
pub type Collations = Vec<Option<HashMap<(TableName, String), Option<Arc<Weights>>>>>;

/// Reads the collation of every transformed text column of a primary or unique key in
/// each MariaDB/MySQL destination (the tables are there: created or found), and the
/// weights of each collation met once per destination.
pub async fn collations(plan: &Plan, dests: &mut [Destination]) -> Result<Collations, SyncError> {
    let mut out = Vec::new();
    for dest in dests.iter_mut() {
        let mut found = HashMap::new();
        if dest.conn.dialect().engine() != Engine::Mysql {
            out.push(None);
            continue;
        }
        let mut read: HashMap<String, Arc<Weights>> = HashMap::new();
        for tp in &plan.tables {
            let source_name = tp.table.table_name();
            let Some(table) = dest.tables.get(&source_name).cloned() else {
                continue;
            };
            let keys = std::iter::once(&tp.table.primary_key).chain(tp.table.unique_keys.iter().map(|u| &u.columns));
            let keyed: Vec<&String> = keys.flatten().collect();
            for ct in tp.transforms.iter().filter(|ct| keyed.contains(&&ct.column)) {
                let Some(column) = table.column(&ct.column) else {
                    continue;
                };
                if !column.normalized_type.is_text() {
                    continue;
                }
                let d = dest.conn.dialect();
                // MAX of no rows keeps the column's collation: asks nothing of its rows.
                let sql = format!(
                    "SELECT COLLATION(MAX({c})), CHARSET(MAX({c})) FROM {t} WHERE 1 = 0",
                    c = d.ident(&ct.column),
                    t = d.qualified(&table)
                );
                let rows = dest.conn.query(&sql, &[DataType::Text, DataType::Text]).await?;
                let text = |i: usize| match rows.first().and_then(|r| r.get(i)) {
                    Some(Value::Text(t)) => Some(t.clone()),
                    _ => None,
                };
                let (Some(collation), Some(charset)) = (text(0), text(1)) else {
                    continue;
                };
                if collation == "binary" || collation.ends_with("_bin") {
                    found.insert((source_name.clone(), ct.column.clone()), None);
                    continue;
                }
                let weights = match read.get(&collation) {
                    Some(w) => w.clone(),
                    None => {
                        let label = format!(
                            "destination {}: column {}.{}",
                            dest.shown,
                            table.table_name(),
                            ct.column
                        );
                        let w = Arc::new(weigh(dest, &collation, &charset, label).await?);
                        read.insert(collation.clone(), w.clone());
                        w
                    }
                };
                found.insert((source_name.clone(), ct.column.clone()), Some(weights));
            }
        }
        out.push(Some(found));
    }
    Ok(out)
}

/// The weight of every character of the Basic Multilingual Plane but the surrogates
/// under `collation`, in one query of 65,536 rows (a character its charset cannot
/// hold is weighed as the `?` the server would store).
async fn weigh(dest: &mut Destination, collation: &str, charset: &str, label: String) -> Result<Weights, SyncError> {
    let name_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok(collation) || !name_ok(charset) {
        return Err(SyncError::Plan(format!(
            "{label}: collation {collation:?} of charset {charset:?} is not a name Tether can ask the server about"
        )));
    }
    let weight =
        |n: &str| format!("HEX(WEIGHT_STRING(CONVERT(CHAR({n} USING utf32) USING {charset}) COLLATE {collation}))");
    let digits = (0..16)
        .map(|i| format!("SELECT {i} AS d"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let sql = format!(
        "SELECT n, {} FROM (SELECT a.d * 4096 + b.d * 256 + c.d * 16 + e.d AS n \
         FROM ({digits}) a, ({digits}) b, ({digits}) c, ({digits}) e) x WHERE n < 55296 OR n > 57343",
        weight("n")
    );
    let int = DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let rows = dest.conn.query(&sql, &[int.clone(), DataType::Text]).await?;
    let mut chars = HashMap::with_capacity(rows.len());
    for row in rows {
        let (Some(Value::Int(n)), Some(Value::Text(hex))) = (row.first(), row.get(1)) else {
            continue;
        };
        if let (Some(c), Some(w)) = (char::from_u32(*n as u32), unhex(hex)) {
            chars.insert(c, w);
        }
    }
    // Characters above U+FFFF: one weight for all when three unrelated ones share it.
    let sql = format!("SELECT {}, {}, {}", weight("65536"), weight("128512"), weight("194560"));
    let rows = dest
        .conn
        .query(&sql, &[DataType::Text, DataType::Text, DataType::Text])
        .await?;
    let three: Vec<Option<Vec<u8>>> = rows
        .first()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::Text(t) => unhex(t),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let supplementary = match three.as_slice() {
        [Some(a), Some(b), Some(c)] if a == b && b == c => Some(a.clone()),
        _ => None,
    };
    Ok(Weights::new(collation.to_string(), label, chars, supplementary))
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}
