//! ON DUPLICATE KEY UPDATE and REPLACE clashes: whether the gateway's read finds
//! the rows InnoDB finds (the table's unique indexes as the plan knows them), which
//! clashing row InnoDB updates, and which existing rows a REPLACE ... SELECT hits.

use std::collections::HashSet;

use tether_fkplan::{KeyValue, Plan, ReplaceSource};

use super::render::{is_null, row_sql};
use crate::backend::Backend;
use crate::reply::ServerError;
use crate::wire::value::Value;

/// Whether the start read of an ON DUPLICATE KEY UPDATE or REPLACE finds the rows
/// InnoDB finds: the table's unique indexes on the backend are the plan's, each a
/// B-tree over whole columns whose collations pad with spaces (so a `WHERE`
/// compares as the index does). A plan without a [`Clash`] needs no check.
/// Read with SHOW, which opens only this table.
pub(super) async fn clash_decidable(plan: &Plan, backend: &mut Backend) -> Result<bool, ServerError> {
    let Some(clash) = &plan.clash else {
        return Ok(true);
    };
    // SHOW reads one table; an information_schema join can make MariaDB 10.11
    // open every view of the server (it crashed doing so, see NOTES.md).
    let table = tether_fkplan::ident(&plan.table);
    let text = |r: &[Value], i: usize| match r.get(i) {
        Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    };
    // Columns whose collation a WHERE cannot stand in for: NO PAD (a CHAR column
    // strips trailing spaces on the way in, which a NO PAD comparison with the
    // literal then sees), and a character set short of utf8mb4 when the
    // statement holds text outside ASCII (a character the column cannot store
    // becomes '?' outside strict mode, and may then clash).
    let non_ascii = !plan.original.is_ascii();
    let inexact: HashSet<String> = backend
        .read(&format!("SHOW FULL COLUMNS FROM {table}"))
        .await?
        .rows
        .iter()
        .filter(|r| {
            text(r, 2).is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("nopad") || (non_ascii && !c.starts_with("utf8mb4"))
            })
        })
        .filter_map(|r| text(r, 0))
        .collect();
    let mut names = HashSet::new();
    for r in &backend.read(&format!("SHOW INDEX FROM {table}")).await?.rows {
        if text(r, 1).as_deref() != Some("0") {
            continue;
        }
        let whole = text(r, 7).is_none() && text(r, 10).as_deref() == Some("BTREE");
        if !whole || text(r, 4).is_some_and(|c| inexact.contains(&c)) {
            return Ok(false);
        }
        if let Some(name) = text(r, 2) {
            names.insert(name);
        }
    }
    let known: HashSet<String> = clash.indexes.iter().cloned().collect();
    Ok(names == known)
}

/// Which existing row an ON DUPLICATE KEY UPDATE updates.
pub(super) enum Updated {
    /// This row (its flags dropped), or none: the new row is inserted.
    Row(Option<Vec<String>>),
    /// Rows clash on different indexes and InnoDB's order of them cannot be read
    /// (the backend user lacks the PROCESS privilege): only InnoDB knows.
    Unknown,
}

/// Of the rows an ON DUPLICATE KEY UPDATE's new row clashes with (each ending with
/// the flags of [`Clash::flags`]), the one InnoDB updates: the row of the first
/// index in InnoDB's order that clashes.
pub(super) async fn updated_row(
    clash: &tether_fkplan::Clash,
    table: &str,
    rows: Vec<Vec<String>>,
    backend: &mut Backend,
) -> Result<Updated, ServerError> {
    let n = clash.flags.len();
    let strip = |mut r: Vec<String>| {
        r.truncate(r.len() - n);
        r
    };
    if rows.len() <= 1 {
        return Ok(Updated::Row(rows.into_iter().next().map(strip)));
    }
    // InnoDB checks its indexes in the order of its dictionary: the clustered
    // index, then the others as they were created (an index added by ALTER TABLE
    // comes last, though SHOW INDEX lists NOT NULL unique keys first).
    let sql = format!(
        "SELECT i.NAME FROM information_schema.INNODB_SYS_INDEXES i \
         JOIN information_schema.INNODB_SYS_TABLES t ON t.TABLE_ID = i.TABLE_ID \
         WHERE t.NAME = CONCAT(DATABASE(), '/', {}) ORDER BY i.INDEX_ID",
        tether_fkplan::string_literal(table.as_bytes())
    );
    let order: Vec<String> = match backend.read(&sql).await {
        Ok(found) => found
            .rows
            .iter()
            .filter_map(|r| match r.first() {
                Some(Value::Bytes(name)) => Some(String::from_utf8_lossy(name).into_owned()),
                _ => None,
            })
            .collect(),
        Err(e) if e.code == 1227 => return Ok(Updated::Unknown),
        Err(e) => return Err(e),
    };
    let rank = |name: &str| order.iter().position(|o| o == name);
    let mut best: Option<(usize, Vec<String>)> = None;
    for r in rows {
        let flags = &r[r.len() - n..];
        let mut first = None;
        for (flag, name) in flags.iter().zip(&clash.flags) {
            if flag == "1" {
                let Some(at) = rank(name) else {
                    return Ok(Updated::Unknown);
                };
                first = Some(first.map_or(at, |f: usize| f.min(at)));
            }
        }
        let Some(first) = first else { continue };
        if best.as_ref().is_none_or(|(b, _)| first < *b) {
            best = Some((first, r));
        }
    }
    Ok(Updated::Row(best.map(|(_, r)| strip(r))))
}

/// `(a, b) IN ((1, 2), ...) OR c IN (...)`: the existing rows a `REPLACE ...
/// SELECT`'s new rows clash with; `None` when none can.
pub(super) fn clash_condition(source: &ReplaceSource, rows: &[Vec<String>]) -> Option<String> {
    let mut conditions = Vec::new();
    for (columns, values) in &source.keys {
        let mut tuples: Vec<String> = Vec::new();
        for row in rows {
            let tuple: Option<Vec<String>> = values
                .iter()
                .map(|v| match v {
                    KeyValue::Column(n) => row.get(*n).cloned(),
                    KeyValue::Default(d) => Some(d.clone()),
                })
                .collect();
            let Some(tuple) = tuple else { continue };
            if tuple.iter().any(|v| is_null(v)) {
                continue;
            }
            tuples.push(if tuple.len() == 1 {
                tuple[0].clone()
            } else {
                format!("({})", tuple.join(", "))
            });
        }
        if !tuples.is_empty() {
            conditions.push(format!("{} IN ({})", row_sql(columns), tuples.join(", ")));
        }
    }
    (!conditions.is_empty()).then(|| conditions.join(" OR "))
}
