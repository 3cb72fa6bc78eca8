//! Native runs against online migrations (review r14e finding 1). A migration
//! captures a table's changes with triggers, and InnoDB's own cascades fire none:
//! a write the gateway hands to InnoDB unchanged (a native replay, a form it does
//! not plan, a stored function's call, a table another database's FK refers to)
//! and whose cascades reach a captured table would leave the rows it cascaded
//! away in the shadow, orphans after the cut-over. Such a write is refused (1105)
//! while the migration runs, naming it; its plan's own statements fire the
//! triggers and are never refused. The captured tables are this process's
//! (`online::capturing`).

use std::collections::HashSet;

use sqlparser::ast::{OnInsert, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_fkplan::{ActionKind, Event, Plan, Start};
use tether_schema::{FkAction, Schema};

use super::state::starts_with_word;
use crate::online::capturing::{self, Captured};
use crate::reply::{Reply, ServerError};

/// A table and the event that reaches it (`Delete`: its rows go; `Update`: its
/// key columns change), lowercased.
type Reached = (String, Event);

/// The outcome of a planned statement's native run (`reply`, in `database`):
/// refused when InnoDB's cascades of the plan's rules reach a captured table. The
/// caller rolls the statement back on the error, native changes and all.
pub(super) fn native_ran(plan: &Plan, database: Option<&str>, reply: Reply) -> Result<Reply, ServerError> {
    let Some(database) = database else { return Ok(reply) };
    match refusal_by_rules(plan, database) {
        Some(refusal) => Err(refusal),
        None => Ok(reply),
    }
}

/// The refusal when the plan's rules, its cascades' (table, event) pairs to a
/// fixpoint, reach a captured table.
fn refusal_by_rules(plan: &Plan, database: &str) -> Option<ServerError> {
    let captured = capturing::captured();
    if captured.is_empty() {
        return None;
    }
    let mut reached: Vec<(String, Reached)> = Vec::new();
    for rules in &plan.rules {
        for action in &rules.actions {
            let event = match action.kind {
                ActionKind::Delete { .. } => Event::Delete,
                ActionKind::Update { .. } => Event::Update,
                ActionKind::Refuse { .. } => continue,
            };
            reached.push((rules.table.clone(), (action.fk.child.to_lowercase(), event)));
        }
    }
    let starts: Vec<Reached> = plan.rules.iter().map(|r| (r.table.to_lowercase(), r.event)).collect();
    first_captured(database, &starts, &reached, &captured, None)
}

/// A statement forwarded to InnoDB unchanged (`sql`, whose plan is `plan`, on
/// `schema` of `database`): refused when InnoDB's cascades from the tables it
/// writes reach a captured table. Looked at before it runs. A plan with work has
/// its cascades in its rules; a passthrough plan's are followed on the schema's
/// FKs, an UPDATE's only through the columns it assigns.
pub fn refuse_forwarded(schema: &Schema, database: &str, plan: &Plan, sql: &str) -> Result<(), ServerError> {
    if capturing::captured().is_empty() {
        return Ok(());
    }
    if !plan.is_passthrough() {
        return match refusal_by_rules(plan, database) {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        };
    }
    let events = events_of(sql);
    if events.is_empty() {
        return Ok(());
    }
    let mut written = vec![plan.table.clone()];
    if let Start::Multi { targets } = &plan.start {
        written.extend(targets.iter().map(|t| t.table.clone()));
    }
    let starts: Vec<Reached> = written
        .iter()
        .flat_map(|t| events.iter().map(move |e| (t.to_lowercase(), *e)))
        .collect();
    let assigned = assigned(sql);
    let reached = cascades(schema, database, &starts, assigned.as_ref());
    match first_captured(database, &starts, &reached, &capturing::captured(), assigned.as_ref()) {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// The columns `sql` assigns (an UPDATE's SET, an ON DUPLICATE KEY UPDATE's), as
/// the words of their targets, lowercased; `None` when the text does not say (every
/// column then counts).
fn assigned(sql: &str) -> Option<HashSet<String>> {
    let statements = Parser::parse_sql(&MySqlDialect {}, sql).ok()?;
    let [statement] = statements.as_slice() else {
        return None;
    };
    let assignments = match statement {
        Statement::Update(update) => &update.assignments,
        Statement::Insert(insert) => match &insert.on {
            Some(OnInsert::DuplicateKeyUpdate(assignments)) => assignments,
            _ => return None,
        },
        _ => return None,
    };
    Some(
        assignments
            .iter()
            .flat_map(|a| {
                a.target
                    .to_string()
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
            })
            .collect(),
    )
}

/// What InnoDB may do to the rows a statement starting with `sql` writes: a
/// DELETE or REPLACE deletes, an UPDATE or ON DUPLICATE KEY UPDATE changes keys, a
/// plain INSERT neither; anything else may do both.
fn events_of(sql: &str) -> Vec<Event> {
    if starts_with_word(sql, "delete") || starts_with_word(sql, "replace") {
        vec![Event::Delete]
    } else if starts_with_word(sql, "update") {
        vec![Event::Update]
    } else if starts_with_word(sql, "insert") {
        match sql.to_ascii_lowercase().contains("duplicate") {
            true => vec![Event::Update],
            false => Vec::new(),
        }
    } else {
        vec![Event::Delete, Event::Update]
    }
}

/// The keyspace's tables InnoDB's cascades reach from `starts` (parent, then the
/// child and the event reaching it), by the schema's FKs, to a fixpoint.
/// A statement's own UPDATE changes only the columns it assigns (`assigned`); a
/// cascaded one only the FK's columns, which the next FK must reference.
fn cascades(
    schema: &Schema,
    database: &str,
    starts: &[Reached],
    assigned: Option<&HashSet<String>>,
) -> Vec<(String, Reached)> {
    // Each with the columns an UPDATE of it changes (`None`: those the text assigns).
    let mut todo: Vec<(Reached, Option<Vec<String>>)> = starts.iter().map(|s| (s.clone(), None)).collect();
    let mut seen: HashSet<(Reached, Option<Vec<String>>)> = todo.iter().cloned().collect();
    let mut reached = Vec::new();
    while let Some(((parent, event), changed)) = todo.pop() {
        for child in &schema.tables {
            for fk in &child.foreign_keys {
                let here = fk
                    .referenced_schema
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(database));
                if !here || !fk.referenced_table.eq_ignore_ascii_case(&parent) {
                    continue;
                }
                let touched = |column: &String| match &changed {
                    Some(columns) => columns.iter().any(|c| c.eq_ignore_ascii_case(column)),
                    None => assigned.is_none_or(|a| a.contains(&column.to_lowercase())),
                };
                if event == Event::Update && !fk.referenced_columns.iter().any(touched) {
                    continue;
                }
                let Some(next) = follows(fk_action(fk.on_delete, fk.on_update, event), event) else {
                    continue;
                };
                let to = (child.name.to_lowercase(), next);
                reached.push((parent.clone(), to.clone()));
                let next = (to, Some(fk.columns.clone()));
                if seen.insert(next.clone()) {
                    todo.push(next);
                }
            }
        }
    }
    reached
}

fn fk_action(on_delete: FkAction, on_update: FkAction, event: Event) -> FkAction {
    match event {
        Event::Delete => on_delete,
        Event::Update => on_update,
    }
}

/// The event an FK action passes on to the child rows (`None`: it writes none).
fn follows(action: FkAction, event: Event) -> Option<Event> {
    match action {
        FkAction::Cascade => Some(event),
        FkAction::SetNull | FkAction::SetDefault => Some(Event::Update),
        FkAction::Restrict | FkAction::NoAction => None,
    }
}

/// The refusal for the first captured table a cascade reaches: one of `reached`
/// (parent, child) in `database`, or a table of another database whose FK to one
/// of `starts` or the reached tables acts on the event (a start's UPDATE: when it
/// assigns a referenced column, `assigned` saying which; `None`: any).
fn first_captured(
    database: &str,
    starts: &[Reached],
    reached: &[(String, Reached)],
    captured: &[Captured],
    assigned: Option<&HashSet<String>>,
) -> Option<ServerError> {
    let local = |c: &Captured| c.database.eq_ignore_ascii_case(database);
    for (parent, (child, _)) in reached {
        if let Some(c) = captured
            .iter()
            .find(|c| local(c) && c.table.eq_ignore_ascii_case(child))
        {
            return Some(refusal(parent, c));
        }
    }
    let written = starts
        .iter()
        .map(|s| (s, assigned))
        .chain(reached.iter().map(|(_, r)| (r, None)));
    for ((table, event), assigned) in written {
        for c in captured.iter().filter(|c| !local(c)) {
            let acts = c.parents.iter().any(|(db, parent, columns, on_delete, on_update)| {
                let changed = *event == Event::Delete
                    || assigned.is_none_or(|a| columns.iter().any(|col| a.contains(&col.to_lowercase())));
                db.eq_ignore_ascii_case(database)
                    && parent.eq_ignore_ascii_case(table)
                    && changed
                    && follows(fk_action(*on_delete, *on_update, *event), *event).is_some()
            });
            if acts {
                return Some(refusal(table, c));
            }
        }
    }
    None
}

fn refusal(parent: &str, c: &Captured) -> ServerError {
    ServerError::gateway(format!(
        "tether gateway: this write runs as InnoDB runs it, and InnoDB's cascade from `{parent}` into `{}`.`{}` \
         would miss online migration '{}' of that table (its capture triggers see no cascaded change): retry \
         once the migration is complete, or cancel it (ALTER VITESS_MIGRATION '{}' CANCEL)",
        c.database, c.table, c.migration, c.migration
    ))
}
