//! Parent-existence checks of the rows a statement writes (error 1452), made by the
//! gateway: one locking probe per FK, then the statement's own deletes, inserts and
//! re-keys replayed in row order. Values are compared folded and exact; where only
//! the folded forms agree the collation decides and InnoDB checks instead.

use std::collections::{HashMap, HashSet};

use tether_fkplan::{OwnParent, ParentCheck, ParentChecks};

use super::render::{is_null, literals};
use super::state::Change;
use crate::backend::Backend;
use crate::reply::ServerError;
use crate::wire::value::Value;

/// One row the statement writes, as the parent checks see it: values in
/// [`ParentChecks::columns`] order (`None`: known only after the insert).
pub(super) struct OwnRow {
    /// The values before an UPDATE (`None` for an inserted row).
    pub(super) old: Option<Vec<String>>,
    pub(super) new: Vec<Option<String>>,
    /// Whether the row is inserted, so it is a parent of its self-references.
    pub(super) inserted: bool,
}

impl OwnRow {
    pub(super) fn inserted(values: &[Option<String>]) -> Self {
        OwnRow {
            old: None,
            new: values.to_vec(),
            inserted: true,
        }
    }
}

pub(super) enum Verdict {
    Pass,
    /// A parent check needs a value only the insert gives: InnoDB checks instead.
    Unsure,
    /// The first failing row's FK error, and that row's position.
    Fail(ServerError, usize),
}

/// A value literal in a form that compares equal where MariaDB would: numbers
/// (quoted or not) by value when the column is `numeric`; other values without
/// quotes and trailing spaces, and without case (the default collations ignore it).
/// A value as the statement wrote it, folded the way most collations compare
/// (case, trailing spaces): two values equal here MAY be one key on the server.
pub(super) fn canon(v: &str, numeric: bool) -> String {
    canon_with(v, numeric, true)
}

/// A value as the statement wrote it, unquoted and numbers normalised, nothing
/// folded: two values equal here ARE one key under any collation. Where `canon`
/// says equal and this says different, only the column's collation can tell (a
/// `_bin` or NO PAD collation, U+212A KELVIN SIGN under `general_ci`): the gateway
/// does not guess, InnoDB checks.
pub(super) fn canon_strict(v: &str, numeric: bool) -> String {
    canon_with(v, numeric, false)
}

pub(super) fn canon_with(v: &str, numeric: bool, fold: bool) -> String {
    let t = v.trim();
    // A typed date or time literal (`DATE'2020-01-02'`, as `render::literal`
    // writes a date read) is its quoted text.
    let t = ["DATE", "TIME", "TIMESTAMP"]
        .iter()
        .find_map(|k| {
            t.get(..k.len())
                .filter(|p| p.eq_ignore_ascii_case(k) && t[k.len()..].starts_with('\''))
                .map(|_| &t[k.len()..])
        })
        .unwrap_or(t);
    // Text outside ASCII read from the backend (`_utf8mb4 X'..'`, as
    // `render::text_literal` writes it) is its text.
    let decoded = super::render::utf8mb4_hex_bytes(t).and_then(|b| String::from_utf8(b).ok());
    let quoted = decoded.is_some()
        || (t.len() >= 2 && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"'))));
    let inner = match &decoded {
        Some(text) => text.as_str(),
        None if quoted => &t[1..t.len() - 1],
        None => t,
    };
    if numeric {
        if let Ok(n) = inner.trim().parse::<i128>() {
            return n.to_string();
        }
        // `20.0`, `2e1`: integral numbers compare as integers.
        if let Ok(f) = inner.trim().parse::<f64>() {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
                return (f as i128).to_string();
            }
            // `20.5e0` (a DOUBLE as `render::literal` writes it) is `20.5`.
            if f.is_finite() && inner.contains(['e', 'E']) {
                return f.to_string();
            }
        }
    }
    if !quoted && (t.starts_with("X'") || t.starts_with("x'")) {
        return t.to_ascii_uppercase();
    }
    if fold {
        inner.trim_end_matches(' ').to_lowercase()
    } else {
        inner.to_string()
    }
}

pub(super) fn canon_tuple(t: &[String], numeric: &[bool]) -> Vec<String> {
    t.iter()
        .enumerate()
        .map(|(i, v)| canon(v, numeric.get(i).copied().unwrap_or(false)))
        .collect()
}

pub(super) fn canon_tuple_strict(t: &[String], numeric: &[bool]) -> Vec<String> {
    t.iter()
        .enumerate()
        .map(|(i, v)| canon_strict(v, numeric.get(i).copied().unwrap_or(false)))
        .collect()
}

/// A key's values, as [`canon_tuple_strict`] writes them.
pub(super) type Key = Vec<String>;

/// What happens to a parent key at some row of the statement.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum KeyEvent {
    /// Deleted, or re-keyed away (sorted first: a row's deletes come before its insert).
    Gone,
    /// Inserted, or re-keyed to.
    Added,
}

/// A key event at a row of the statement: (origin row, event, exact key, whether
/// it is the insert of the row at its origin, which may or may not be its own parent).
type OwnEvent = (usize, KeyEvent, Key, bool);

/// Why an updated row whose FK value stays is checked all the same.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rewrite {
    /// Its primary key, or another column of the FK's index, changes: InnoDB writes
    /// the FK's index entry again and checks the FK.
    Sure,
    /// A column of an index that may back the FK changes.
    Maybe,
}

/// Whether the update of `row` makes InnoDB check `check`'s FK again although its
/// values stay ([`ParentCheck::rewrites`]). Values compare as read, byte for byte,
/// as InnoDB compares an index entry's fields.
fn rewritten(check: &ParentCheck, row: &OwnRow) -> Option<Rewrite> {
    let old = row.old.as_ref()?;
    let changes = |positions: &[usize]| {
        positions
            .iter()
            .any(|p| row.new.get(*p).is_none_or(|new| new.as_ref() != old.get(*p)))
    };
    if changes(&check.rewrites) {
        Some(Rewrite::Sure)
    } else if changes(&check.may_rewrite) {
        Some(Rewrite::Maybe)
    } else {
        None
    }
}

/// The gateway's parent-existence check of the statement's own rows, set-based:
/// one locking probe per FK. A row's parent exists when the probe found it and no
/// earlier row (nor the row itself) deleted or re-keyed it, or when a row up to
/// this one inserted or re-keyed a parent to it (self-references, cycles; an
/// inserted row is its own parent as [`OwnParent`] says, and where InnoDB's index
/// order decides it InnoDB checks). MATCH
/// SIMPLE: an FK value with a NULL is not checked; an UPDATE checks the FKs whose
/// values change, and those whose index entry it writes again (a new primary key,
/// another column of the FK's index), as InnoDB does. `by_bytes`: an UPDATE's FK
/// value that changes only by case or trailing spaces counts as changed, its parent
/// probed under the column's collation (as InnoDB checks a value whose bytes
/// change); else such a change is left to InnoDB (`Unsure`).
pub(super) async fn check_parents(
    checks: &ParentChecks,
    own: &[OwnRow],
    changes: &[Change],
    one_row: bool,
    by_bytes: bool,
    backend: &mut Backend,
) -> Result<Verdict, ServerError> {
    let mut first: Option<(usize, &ParentCheck)> = None;
    for check in &checks.checks {
        // Per own row: the FK tuple to check, as an index into `distinct`.
        let mut wanted: Vec<Option<usize>> = Vec::with_capacity(own.len());
        let mut distinct: Vec<Vec<String>> = Vec::new();
        let mut index: HashMap<Vec<String>, usize> = HashMap::new();
        // Rows checked only because their index entry is written again, by row.
        let mut rewrites: Vec<(usize, Rewrite)> = Vec::new();
        for row in own {
            let values: Vec<&Option<String>> = check.positions.iter().map(|p| &row.new[*p]).collect();
            if values.iter().any(|v| v.as_deref().is_some_and(is_null)) {
                wanted.push(None);
                continue;
            }
            let Some(tuple) = values.into_iter().cloned().collect::<Option<Vec<String>>>() else {
                return Ok(Verdict::Unsure);
            };
            if let Some(old) = &row.old {
                let old: Vec<String> = check.positions.iter().map(|p| old[*p].clone()).collect();
                if canon_tuple_strict(&old, &check.numeric) == canon_tuple_strict(&tuple, &check.numeric) {
                    // The same FK value, in an index entry written again or not.
                    let Some(rewrite) = rewritten(check, row) else {
                        wanted.push(None);
                        continue;
                    };
                    rewrites.push((wanted.len(), rewrite));
                } else if !by_bytes && canon_tuple(&old, &check.numeric) == canon_tuple(&tuple, &check.numeric) {
                    // Unchanged or not: the collation decides.
                    return Ok(Verdict::Unsure);
                }
            }
            let n = *index.entry(tuple.clone()).or_insert_with(|| {
                distinct.push(tuple);
                distinct.len() - 1
            });
            wanted.push(Some(n));
        }
        if distinct.is_empty() {
            continue;
        }
        let probe = check.probe.render(&check.fk.referenced_columns, &distinct, &[]);
        let found_rows = backend.read(&probe).await?;
        let mut found = vec![false; distinct.len()];
        if check.keys_only {
            let rows = literals(&found_rows);
            let exact: HashSet<Vec<String>> = rows.iter().map(|k| canon_tuple_strict(k, &check.numeric)).collect();
            let folded: HashSet<Vec<String>> = rows.iter().map(|k| canon_tuple(k, &check.numeric)).collect();
            for (f, tuple) in found.iter_mut().zip(&distinct) {
                *f = exact.contains(&canon_tuple_strict(tuple, &check.numeric));
                if !*f && folded.contains(&canon_tuple(tuple, &check.numeric)) {
                    // The server found a key equal to it only when folded.
                    return Ok(Verdict::Unsure);
                }
            }
        } else {
            for r in &found_rows.rows {
                if let Some(Value::Bytes(b)) = r.first() {
                    for n in String::from_utf8_lossy(b).split(',') {
                        if let Some(f) = n.trim().parse::<usize>().ok().and_then(|n| found.get_mut(n)) {
                            *f = true;
                        }
                    }
                }
            }
        }
        // What the statement does to parent keys, by key, in row order.
        // Keyed by the folded value; each event keeps the exact one, so a lookup
        // that matches only when folded is left to InnoDB.
        let mut events: HashMap<Vec<String>, Vec<OwnEvent>> = HashMap::new();
        let mut unknown_from: Option<usize> = None;
        for c in changes.iter().filter(|c| c.table == check.fk.parent) {
            let origin = if one_row { 0 } else { c.origin };
            let old: Vec<String> = check.fk.parent_positions.iter().map(|p| c.old[*p].clone()).collect();
            match &c.new {
                None => events.entry(canon_tuple(&old, &check.numeric)).or_default().push((
                    origin,
                    KeyEvent::Gone,
                    canon_tuple_strict(&old, &check.numeric),
                    false,
                )),
                Some(new) => {
                    let new: Vec<String> = check.fk.parent_positions.iter().map(|p| new[*p].clone()).collect();
                    let (old_exact, new_exact) = (
                        canon_tuple_strict(&old, &check.numeric),
                        canon_tuple_strict(&new, &check.numeric),
                    );
                    let (old, new) = (canon_tuple(&old, &check.numeric), canon_tuple(&new, &check.numeric));
                    if old == new && old_exact != new_exact {
                        // A re-key by case or trailing spaces only: the collation decides.
                        return Ok(Verdict::Unsure);
                    }
                    if old != new {
                        events
                            .entry(old)
                            .or_default()
                            .push((origin, KeyEvent::Gone, old_exact, false));
                        events
                            .entry(new)
                            .or_default()
                            .push((origin, KeyEvent::Added, new_exact, false));
                    }
                }
            }
        }
        if let Some(positions) = &check.own_positions {
            for (j, row) in own.iter().enumerate().filter(|(_, r)| r.inserted) {
                match positions
                    .iter()
                    .map(|p| row.new[*p].clone())
                    .collect::<Option<Vec<String>>>()
                {
                    Some(key) => events.entry(canon_tuple(&key, &check.numeric)).or_default().push((
                        j,
                        KeyEvent::Added,
                        canon_tuple_strict(&key, &check.numeric),
                        true,
                    )),
                    None => {
                        unknown_from.get_or_insert(j);
                    }
                }
            }
        }
        for list in events.values_mut() {
            list.sort();
        }
        for (i, n) in wanted.iter().enumerate() {
            let Some(n) = n else { continue };
            let mut exists = found[*n];
            // The row's own key, when only InnoDB's index order says whether the
            // row is its own parent.
            let mut own_undecided = false;
            if let Some(list) = events.get(&canon_tuple(&distinct[*n], &check.numeric)) {
                let exact = canon_tuple_strict(&distinct[*n], &check.numeric);
                for (origin, event, key, own_insert) in list.iter().take_while(|(origin, ..)| *origin <= i) {
                    if *own_insert && *origin == i {
                        // The row's own insert (the last event at its origin: an
                        // addition) counts where its key is written before the check.
                        match check.own_parent {
                            OwnParent::Yes => {}
                            OwnParent::No => continue,
                            OwnParent::Unknown => {
                                own_undecided = true;
                                continue;
                            }
                        }
                    }
                    if *key != exact {
                        return Ok(Verdict::Unsure);
                    }
                    exists = *event == KeyEvent::Added;
                }
            }
            if !exists && own_undecided {
                return Ok(Verdict::Unsure);
            }
            if !exists {
                if unknown_from.is_some_and(|u| u <= i) {
                    return Ok(Verdict::Unsure);
                }
                if rewrites.contains(&(i, Rewrite::Maybe)) {
                    // Whether InnoDB writes this index entry again depends on the
                    // index it chose for the FK: InnoDB checks.
                    return Ok(Verdict::Unsure);
                }
                if first.is_none_or(|(row, _)| i < row) {
                    first = Some((i, check));
                }
                break;
            }
        }
    }
    Ok(match first {
        Some((row, check)) => Verdict::Fail(check.error.clone().into(), row),
        None => Verdict::Pass,
    })
}
