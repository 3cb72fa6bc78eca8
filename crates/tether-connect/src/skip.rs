//! `on_conflict = "skip"` keeps a row only when its own key is already in the
//! destination's table: a clash on any other unique key is an error naming the row,
//! never a row dropped without a word (`ON CONFLICT DO NOTHING` without a target, or
//! MariaDB's ON DUPLICATE KEY, would drop it).

use tether_schema::Table;

use crate::rw::Conflict;

/// Whether `table` (a destination table) has a primary key or a unique key without
/// WHERE on exactly `key`: a PostgreSQL or SQLite INSERT may then name it as its
/// `ON CONFLICT (key)` target. Without one (the destination tells rows apart by another
/// key, e.g. a PostgreSQL expression index or a unique key on other columns), a row
/// whose key is already there is found by the INSERT itself (`WHERE NOT EXISTS`), never
/// by a target-less `ON CONFLICT DO NOTHING`, which would drop a row clashing on any
/// key (NOTES.md, sixteenth session review E; seventeenth session). MariaDB/MySQL,
/// whose ON DUPLICATE KEY fires only on the table's own keys, writes such a table the
/// same way (`mysql::rw` `Form::Derived`, seventeenth session review B).
pub fn exact(table: &Table, key: &[String]) -> bool {
    let exactly = |cols: &[String]| cols.len() == key.len() && key.iter().all(|k| cols.contains(k));
    !key.is_empty()
        && ((!table.primary_key.is_empty() && exactly(&table.primary_key))
            || table
                .unique_keys
                .iter()
                .any(|u| u.predicate.is_none() && exactly(&u.columns)))
}

/// Whether a write with `conflict` keeps a destination row whose key is the written
/// row's as it is: `skip`, and `update` when nothing outside the key is written.
pub fn keeps_existing(conflict: Conflict, columns: &[String], key: &[String], fixed: &[String]) -> bool {
    match conflict {
        Conflict::Skip => true,
        Conflict::Update => !columns.iter().any(|c| !key.contains(c) && !fixed.contains(c)),
        Conflict::Error => false,
    }
}

/// What a clash on another unique key adds to the server's message with `skip` (or
/// `update` with nothing to set outside the key, which keeps such a row as `skip` does).
pub fn other_key(key: &[String], conflict: Conflict) -> String {
    let keeps = match conflict {
        Conflict::Update => {
            "on_conflict = \"update\" overwrites only the row with the same key (here: keeps it, \
                             nothing is set outside the key)"
        }
        _ => "on_conflict = \"skip\" keeps only a row whose key is already there",
    };
    format!(
        ": it clashes with a destination row on a unique key other than the row's key ({}), \
         whose value is not in the table: {keeps}, so skipping it would lose it; that row was left as it was",
        key.join(", ")
    )
}

/// The error for a row of a source table without a key of its own (a row is the same
/// row only when every column is) that clashes with a destination row on a unique key
/// of the destination though no row there equals it: `skip` or `update` would drop it
/// without a word (NOTES.md, twenty-seventh session writer S).
pub fn keyless_clash(conflict: Conflict) -> String {
    let mode = match conflict {
        Conflict::Update => "update",
        _ => "skip",
    };
    format!(
        "it clashes with a destination row on a unique key of the destination, and no row there equals it in \
         every column: the source's table has no primary or unique key of its own, so on_conflict = \"{mode}\" \
         matches a row only by all its columns and cannot tell which row this one would {}; dropping it would \
         lose it. Nothing was written for this row. Give the source's table a key (the destination's key \
         columns), or set truncate = true",
        match conflict {
            Conflict::Update => "overwrite",
            _ => "be",
        }
    )
}

/// The error for a row whose key the destination's key compares as equal to a row's
/// already there, though their text differs ('a' and 'A' under a case-insensitive
/// collation, 'b' and 'b ' under one ignoring trailing spaces): `theirs` is that row's
/// key (as literals), `collations` says how each such column compares ("code is ...").
/// `skip` would drop the source's row and `update` would leave the destination's old
/// spelling, so either way the destination would differ from a fresh copy: the row is
/// refused on every engine (NOTES.md, twenty-sixth session writer E). `distinct`: a
/// collation that tells them apart there, as the engine names one.
pub fn spelling_clash(key: &[String], theirs: &[String], collations: &[String], distinct: &str) -> String {
    format!(
        "the destination holds a row whose key ({}) = ({}) differs from this row's only in case, accents or \
         trailing spaces, which the key's collation there compares as equal ({}): the source tells them apart, \
         this destination cannot hold both. Nothing was written for this row: on_conflict would drop it \
         (skip) or write it over that row (update). Give the key column a collation that tells \
         them apart there ({distinct}), or transform the key",
        key.join(", "),
        theirs.join(", "),
        collations.join(", ")
    )
}
