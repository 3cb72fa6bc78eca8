//! The pieces the gateway writes for a statement run as its rows ([`super::rows`]):
//! each a one-row statement in the gateway's own spelling of the values. A piece
//! the planner cannot plan (it leaves it to InnoDB unchanged) would have InnoDB
//! run the delete or update rules of its table's children, and those child
//! changes would miss the binlog as statements of their own: such a piece is
//! refused, before any piece writes.

use tether_fkplan::Plan;
use tether_schema::{FkAction, Schema};

use crate::reply::ServerError;

/// Refuses `plan`, a piece of a statement run as its rows, when the
/// planner left it to InnoDB and its table has children whose rules change rows
/// (CASCADE, SET NULL, SET DEFAULT) on the delete a REPLACE makes or the update
/// an ON DUPLICATE KEY UPDATE makes.
pub(super) fn refuse_unplanned(plan: &Plan, schema: &Schema, keyspace: &str) -> Result<(), ServerError> {
    if !plan.is_passthrough() && plan.by_innodb.is_none() {
        return Ok(());
    }
    let acts = |a: FkAction| matches!(a, FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault);
    let child = schema.tables.iter().find_map(|t| {
        t.foreign_keys
            .iter()
            .find(|f| f.referenced_table.eq_ignore_ascii_case(&plan.table) && (acts(f.on_delete) || acts(f.on_update)))
            .map(|f| (t.name.as_str(), f.name.as_str()))
    });
    let Some(child) = child else { return Ok(()) };
    Err(super::unsharded_refusal(
        keyspace,
        &format!(
            "a row of this statement written to `{}` whose clashing rows the planner cannot find (a key value it \
             cannot compare as the unique index does), with the FK `{}` of `{}` to act on them",
            plan.table, child.1, child.0
        ),
    ))
}
