//! Child columns one statement reaches through two FKs that act differently (one
//! SET NULL, one CASCADE, say): InnoDB takes a parent row's referencing FKs one at
//! a time, in constraint-name order, each followed to its end (depth first), so
//! whichever reaches the shared column first decides the child row. The plan goes
//! level by level in its own order; such a write runs as InnoDB runs it
//! ([`Plan::by_innodb`]).

use crate::plan::{Action, ActionKind, NewChildValue, Plan};

use super::{eq_ci, Analysis, Planner};

impl Planner<'_> {
    /// A plan (or one of its steps) that reaches a child column through two FKs
    /// whose outcome depends on their order runs as InnoDB runs it, unless it
    /// already does for another reason.
    pub(super) fn overlap_by_innodb(&self, analysis: Analysis) -> Analysis {
        match analysis {
            Analysis::Plan(mut plan) if plan.by_innodb.is_none() => {
                plan.by_innodb = order_dependent(&plan);
                Analysis::Plan(plan)
            }
            other => other,
        }
    }
}

/// Why `plan`'s outcome depends on the order of two of its child actions, if it
/// does: two FKs of one child table sharing a column, both acting from this
/// statement, with different effects (a delete and an update, SET NULL and ON
/// UPDATE CASCADE, SET NULL over different column sets). RESTRICT / NO ACTION
/// probes are not counted: they read the rows as before the statement, and a
/// refusal is replayed natively, whose outcome stands.
pub(super) fn order_dependent(plan: &Plan) -> Option<String> {
    let actions: Vec<&Action> = plan.rules.iter().flat_map(|r| &r.actions).collect();
    for (i, a) in actions.iter().enumerate() {
        for b in &actions[i + 1..] {
            if a.fk.name == b.fk.name || !eq_ci(&a.fk.child, &b.fk.child) {
                continue;
            }
            let shared: Vec<&String> =
                a.fk.columns
                    .iter()
                    .filter(|c| b.fk.columns.iter().any(|d| eq_ci(c, d)))
                    .collect();
            let (Some(ea), Some(eb)) = (effect(a), effect(b)) else {
                continue;
            };
            if shared.is_empty() || same_effect(a, b) {
                continue;
            }
            let (first, second) = match a.fk.name <= b.fk.name {
                true => ((a, ea), (b, eb)),
                false => ((b, eb), (a, ea)),
            };
            let columns: Vec<String> = shared.iter().map(|c| format!("`{c}`")).collect();
            return Some(format!(
                "FKs `{}` ({}) and `{}` ({}) of `{}` both act on {} in one statement: InnoDB takes them in its own \
                 order (depth first, a table's referencing FKs by constraint name), which decides the rows",
                first.0.fk.name,
                first.1,
                second.0.fk.name,
                second.1,
                a.fk.child,
                columns.join(", ")
            ));
        }
    }
    plan.steps.iter().find_map(order_dependent)
}

/// The rule an action applies, as `EXPLAIN FK` names it; `None` for a refusal.
fn effect(action: &Action) -> Option<&'static str> {
    match &action.kind {
        ActionKind::Refuse { .. } => None,
        ActionKind::Delete { .. } => Some("ON DELETE CASCADE"),
        ActionKind::Update { new, .. } => Some(match new {
            NewChildValue::Null => "SET NULL",
            NewChildValue::Default(_) => "SET DEFAULT",
            NewChildValue::Cascade => "ON UPDATE CASCADE",
        }),
    }
}

/// Whether two actions leave a child row the same whichever goes first: both
/// delete it, both set the same columns to NULL (or their defaults), or both are ON
/// UPDATE CASCADEs of the same columns whose new values are provably the same: the
/// same columns of the same parent, pair by pair (two CASCADEs of one column from
/// two unique keys, or two parents, re-keyed to different values by one statement
/// leave the value of whichever InnoDB takes last: review r25k F1).
fn same_effect(a: &Action, b: &Action) -> bool {
    let same_columns = a.fk.columns.len() == b.fk.columns.len()
        && a.fk.columns.iter().all(|c| b.fk.columns.iter().any(|d| eq_ci(c, d)));
    match (&a.kind, &b.kind) {
        (ActionKind::Delete { .. }, ActionKind::Delete { .. }) => true,
        (
            ActionKind::Update {
                new: NewChildValue::Cascade,
                ..
            },
            ActionKind::Update {
                new: NewChildValue::Cascade,
                ..
            },
        ) => same_columns && same_source(a, b),
        (ActionKind::Update { new: x, .. }, ActionKind::Update { new: y, .. }) => same_columns && x == y,
        _ => false,
    }
}

/// Whether two ON UPDATE CASCADEs take each child column from the same column of
/// the same parent table.
fn same_source(a: &Action, b: &Action) -> bool {
    eq_ci(&a.fk.parent, &b.fk.parent)
        && a.fk.columns.iter().zip(&a.fk.referenced_columns).all(|(c, p)| {
            b.fk.columns
                .iter()
                .zip(&b.fk.referenced_columns)
                .any(|(d, q)| eq_ci(c, d) && eq_ci(p, q))
        })
}
