//! Which columns make InnoDB check an FK again although its values stay. InnoDB
//! checks a child row's FK whenever it writes the row's entry in the FK's index:
//! when the primary key changes (the row is deleted and inserted again, every index
//! entry with it) and when another column of that index changes (`v` in
//! `KEY (pid, v)` for an FK on `pid`). A row whose FK value has no parent (written
//! with `foreign_key_checks = 0`) then fails with 1452, as a change of the FK would.

use tether_schema::{ForeignKey, Table};

use crate::plan::{NewRows, ParentChecks};

use super::{eq_ci, Planner};

impl<'a> Planner<'a> {
    /// Adds to `checks` (of an UPDATE or ON DUPLICATE KEY UPDATE of `table`) the
    /// columns whose change rewrites each FK's index entry, with their old and new
    /// values read as the FK's are: those the statement assigns, and generated
    /// columns (which change with the columns they read). Not for tables in an FK
    /// cycle: there the statement's own cascades may change the FK values the rows
    /// keep, and the checks stay as they were (FKs whose values change).
    pub(super) fn add_rewrites(&self, table: &Table, checks: &mut ParentChecks, assigned: &[String]) {
        if self.in_cycle(&table.name) {
            return;
        }
        let may_change = |c: &String| {
            assigned.iter().any(|a| eq_ci(a, c))
                || table.columns.iter().any(|x| eq_ci(&x.name, c) && x.generated.is_some())
        };
        let before = checks.columns.len();
        for n in 0..checks.checks.len() {
            let Some(fk) = table.foreign_keys.iter().find(|f| f.name == checks.checks[n].fk.name) else {
                continue;
            };
            let (sure, maybe) = rewriting_columns(table, fk);
            let mut position = |c: &String| match checks.columns.iter().position(|x| eq_ci(x, c)) {
                Some(p) => p,
                None => {
                    checks.columns.push(c.clone());
                    checks.types.push(None);
                    checks.columns.len() - 1
                }
            };
            let sure: Vec<usize> = sure.iter().filter(|c| may_change(c)).map(&mut position).collect();
            let maybe: Vec<usize> = maybe.iter().filter(|c| may_change(c)).map(&mut position).collect();
            checks.checks[n].rewrites = sure;
            checks.checks[n].may_rewrite = maybe;
        }
        // An inserted row (the VALUES row of an upsert that clashes with nothing)
        // rewrites nothing: its values for the added columns are not needed.
        let added = checks.columns.len() - before;
        match &mut checks.rows {
            NewRows::Values(rows) => rows.iter_mut().for_each(|r| r.extend(std::iter::repeat_n(None, added))),
            NewRows::ReadOrValues(row) => row.extend(std::iter::repeat_n(None, added)),
            NewRows::Read => {}
        }
    }

    /// Whether assigning `column` of `table` may make InnoDB check `fk` again.
    pub(super) fn rewrites_fk(&self, table: &Table, fk: &ForeignKey, column: &str) -> bool {
        if self.in_cycle(&table.name) {
            return false;
        }
        let (sure, maybe) = rewriting_columns(table, fk);
        sure.iter().chain(&maybe).any(|c| eq_ci(c, column))
    }
}

/// The columns of `table` (besides the FK's own) whose change rewrites `fk`'s index
/// entry: surely (the primary key; the columns every index that may back the FK
/// has), and maybe (columns only some of those indexes have). InnoDB backs an FK
/// with the first index, in the server's key order, whose leading columns are the
/// FK's; the schema keeps unique keys and other indexes apart and by name, so
/// which of several it is stays open. The primary key comes first in that order.
fn rewriting_columns(table: &Table, fk: &ForeignKey) -> (Vec<String>, Vec<String>) {
    let leads = |columns: &[String]| {
        columns.len() >= fk.columns.len() && fk.columns.iter().zip(columns).all(|(a, b)| eq_ci(a, b))
    };
    let own = |c: &String| fk.columns.iter().any(|x| eq_ci(x, c));
    let mut sure: Vec<String> = table.primary_key.iter().filter(|c| !own(c)).cloned().collect();
    if leads(&table.primary_key) {
        // The clustered index backs the FK: only a new primary key rewrites it.
        return (sure, Vec::new());
    }
    let candidates: Vec<&Vec<String>> = table
        .unique_keys
        .iter()
        .filter(|k| k.predicate.is_none())
        .map(|k| &k.columns)
        .chain(table.extras.indexes.iter().map(|i| &i.columns))
        .filter(|c| leads(c))
        .collect();
    let mut maybe = Vec::new();
    for c in candidates.iter().flat_map(|k| k.iter()).filter(|c| !own(c)) {
        let everywhere = candidates.iter().all(|k| k.iter().any(|x| eq_ci(x, c)));
        let list = if everywhere { &mut sure } else { &mut maybe };
        if !list.iter().any(|x| eq_ci(x, c)) {
            list.push(c.clone());
        }
    }
    maybe.retain(|c| !sure.iter().any(|x| eq_ci(x, c)));
    (sure, maybe)
}
