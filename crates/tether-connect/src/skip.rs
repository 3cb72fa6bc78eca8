//! `on_conflict = "skip"` keeps a row only when its own key is already in the
//! destination's table: a clash on any other unique key is an error naming the row,
//! never a row dropped without a word (`ON CONFLICT DO NOTHING` without a target, or
//! MariaDB's ON DUPLICATE KEY, would drop it).

use tether_schema::Table;

use crate::rw::Conflict;

/// The key a PostgreSQL or SQLite INSERT into `table` names as its `ON CONFLICT (key)`
/// target for `conflict`: `skip` needs a primary key or unique key (without WHERE) on
/// exactly `key`. Without one (a destination whose key telling rows apart is another,
/// e.g. a PostgreSQL expression index) none: `ON CONFLICT DO NOTHING` as before, which
/// keeps a row clashing on any key (see NOTES.md, sixteenth session review E).
pub fn target<'a>(table: &Table, key: &'a [String], conflict: Conflict) -> &'a [String] {
    if conflict != Conflict::Skip || key.is_empty() {
        return key;
    }
    let exactly = |cols: &[String]| cols.len() == key.len() && key.iter().all(|k| cols.contains(k));
    let matched = (!table.primary_key.is_empty() && exactly(&table.primary_key))
        || table
            .unique_keys
            .iter()
            .any(|u| u.predicate.is_none() && exactly(&u.columns));
    match matched {
        true => key,
        false => &[],
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
