//! `on_conflict = "skip"` keeps a row only when its own key is already in the
//! destination's table: a clash on any other unique key is an error naming the row,
//! never a row dropped without a word (`ON CONFLICT DO NOTHING` without a target, or
//! MariaDB's ON DUPLICATE KEY, would drop it).

use tether_schema::Table;

use crate::rw::Conflict;

/// The conflict handling a PostgreSQL or SQLite INSERT into `table` uses for `conflict`:
/// `skip` needs a primary key or unique key (without WHERE) on exactly `key` as its
/// `ON CONFLICT (key)` target; without one no row of that key can clash, so the rows
/// are inserted as with `error` (any clash, on another key, is an error).
pub fn effective(table: &Table, key: &[String], conflict: Conflict) -> Conflict {
    if conflict != Conflict::Skip || key.is_empty() {
        return conflict;
    }
    let exactly = |cols: &[String]| cols.len() == key.len() && key.iter().all(|k| cols.contains(k));
    let matched = (!table.primary_key.is_empty() && exactly(&table.primary_key))
        || table
            .unique_keys
            .iter()
            .any(|u| u.predicate.is_none() && exactly(&u.columns));
    match matched {
        true => Conflict::Skip,
        false => Conflict::Error,
    }
}

/// What a clash on another unique key adds to the server's message with `skip`.
pub fn other_key(key: &[String]) -> String {
    format!(
        ": it clashes with a destination row on a unique key other than the row's key ({}), \
         whose value is not in the table: on_conflict = \"skip\" keeps only a row whose key is \
         already there, so skipping it would lose it; that row was left as it was",
        key.join(", ")
    )
}
