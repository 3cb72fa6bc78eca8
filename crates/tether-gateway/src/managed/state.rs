//! The executor's bookkeeping, shared by its steps: the statements a plan decided
//! to run and the rows it deletes or re-keys ([`Writes`], [`Change`]), why a plan
//! stopped ([`Failure`]), and how many key columns identify a row.

use std::collections::{HashMap, HashSet};

use tether_fkplan::{Event, Plan};

use crate::reply::{Reply, ServerError};

/// The statements a plan decided to run, in order, once its checks passed.
#[derive(Debug, Default)]
pub(super) struct Writes {
    pub(super) statements: Vec<String>,
    /// For a DELETE: the statement's own rows (identity -> scan position).
    pub(super) start_rows: HashMap<Vec<String>, usize>,
    /// Positions of the statement's own rows that a cascade from an earlier row of
    /// the same statement deletes first: InnoDB does not count those as affected.
    pub(super) uncounted: HashSet<usize>,
    /// Positions of own rows a cascade starting at the same row reaches again
    /// (a cycle): REPLACE counts their delete, though the cascade did it.
    pub(super) self_reached: HashSet<usize>,
    /// Every row the plan deletes or re-keys, for the parent checks of the
    /// statement's own rows.
    pub(super) changes: Vec<Change>,
    /// Statements that run in place of the original (a multi-table DELETE's
    /// deletes by key).
    pub(super) instead: Option<Vec<String>>,
}

/// A row of `table` (its rule key columns) that the plan deletes (`new` is `None`)
/// or re-keys, and the first of the statement's own rows that does it.
#[derive(Debug)]
pub(super) struct Change {
    pub(super) table: String,
    pub(super) old: Vec<String>,
    pub(super) new: Option<Vec<String>>,
    pub(super) origin: usize,
}

impl Writes {
    /// MariaDB's rows affected for the statement, from the original's own count.
    pub(super) fn adjust(&self, plan: &Plan, reply: Reply) -> Reply {
        match reply {
            Reply::Ok(mut info) => {
                if starts_with_word(&plan.original, "delete") {
                    info.affected_rows = info.affected_rows.saturating_sub(self.uncounted.len() as u64);
                } else if starts_with_word(&plan.original, "replace") {
                    info.affected_rows += self.self_reached.len() as u64;
                }
                Reply::Ok(info)
            }
            other => other,
        }
    }
}

/// Why a plan stopped: the error, and for FK errors the position (in the lock
/// read's order) of the first own row of the statement that causes it.
pub(super) struct Failure {
    pub(super) error: ServerError,
    pub(super) origin: Option<usize>,
}

impl From<ServerError> for Failure {
    fn from(error: ServerError) -> Self {
        Failure { error, origin: None }
    }
}

pub(super) fn starts_with_word(sql: &str, word: &str) -> bool {
    sql.trim_start()
        .get(..word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// How many leading key columns identify a row of `table`.
pub(super) fn id_len(plan: &Plan, table: &str, event: Event, fallback: usize) -> usize {
    plan.rules_for(table, event)
        .map(|r| if r.pk_len == 0 { r.key_columns.len() } else { r.pk_len })
        .unwrap_or(fallback)
        .min(fallback)
}
