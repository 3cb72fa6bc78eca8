//! `REPLACE ... SELECT` into a referenced table, unsharded: its SELECT is read
//! once, before anything is written, and its rows are replaced one at a time, in
//! order, each planned as a one-row `REPLACE ... VALUES` ([`super::rows`]). Run
//! as planned, the original ran after its cascades, so its SELECT no longer saw
//! the rows the cascades had removed (docs/gateway.md, REPLACE ... SELECT).
//!
//! MariaDB reads the whole SELECT first when it reads the target table; otherwise
//! it reads as it writes, and a cascade of an earlier row can remove a row not yet
//! read. Rows read first are then exact only if the cascades change no table the
//! SELECT reads, or the native run's affected count shows they removed none of its
//! unread rows; shapes where that count cannot tell are refused.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{visit_expressions, visit_relations, Expr, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_fkplan::{ActionKind, InsertParts, Plan, RowSource};
use tether_schema::Schema;

use super::native_first::native_outcome;
use super::sharded::Behind;
use crate::backend::Backend;
use crate::reply::{Reply, ServerError};

/// How the rows read first relate to the rows MariaDB reads as it writes.
#[derive(Debug, PartialEq, Eq)]
enum Reading {
    /// The same rows: MariaDB reads them all first too, or the cascades change
    /// none of the tables the SELECT reads.
    Same,
    /// A cascade may delete a row of a table the SELECT reads before MariaDB
    /// reads it: the rows read first are the native rows and perhaps more, each
    /// more adding to the affected count, which tells.
    Superset,
    /// A cascade may change a row the SELECT reads otherwise (SET NULL, a key
    /// cascaded, a subquery's answer, the target's own rows): nothing tells.
    Unknown,
}

/// Runs `plan` (a `REPLACE ... SELECT`, cut into `parts`) as the rows its
/// SELECT gives, read before any write: the client's result, as MariaDB gives it.
pub(super) async fn run(
    plan: &Plan,
    parts: &InsertParts,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
) -> Result<Reply, ServerError> {
    let RowSource::Query(query) = &parts.source else {
        return Err(ServerError::gateway(
            "tether gateway: REPLACE ... SELECT without its SELECT",
        ));
    };
    let reading = reading(plan, parts, query);
    let refused = || {
        super::unsharded_refusal(
            keyspace,
            &format!(
                "a REPLACE ... SELECT into `{}` whose cascades may change rows its SELECT has not read yet",
                plan.table
            ),
        )
    };
    // Without a native run (it would take AUTO_INCREMENT values for good) the
    // count has nothing to be compared with.
    if reading == Reading::Unknown || (reading == Reading::Superset && !plan.native_first) {
        return Err(refused());
    }
    // MariaDB's own outcome first (rolled back): its error is the statement's,
    // its affected count the client's.
    let native = match plan.native_first {
        true => Some(native_outcome(plan, backend).await?),
        false => None,
    };
    let ran = super::rows::run_rows(parts, schema, keyspace, backend, Behind::InnoDb).await?;
    match native {
        None => Ok(ran),
        Some(native) if reading == Reading::Superset && affected(&native) != affected(&ran) => Err(refused()),
        Some(native) => Ok(native),
    }
}

fn affected(reply: &Reply) -> Option<u64> {
    match reply {
        Reply::Ok(info) => Some(info.affected_rows),
        _ => None,
    }
}

/// How the rows of `query`, read before the plan writes, relate to those
/// MariaDB reads while it writes.
fn reading(plan: &Plan, parts: &InsertParts, query: &str) -> Reading {
    let Ok(statements) = Parser::parse_sql(&MySqlDialect {}, query) else {
        return Reading::Unknown;
    };
    let [Statement::Query(q)] = statements.as_slice() else {
        return Reading::Unknown;
    };
    let mut read: HashSet<String> = HashSet::new();
    let _ = visit_relations(q, |name| {
        if let Some(last) = name.0.last().and_then(|p| p.as_ident()) {
            read.insert(last.value.to_ascii_lowercase());
        }
        ControlFlow::<()>::Continue(())
    });
    let target = parts.table.last().map(|t| t.to_ascii_lowercase()).unwrap_or_default();
    if read.contains(&target) {
        // A SELECT of the table it writes is read whole into a temporary table first.
        return Reading::Same;
    }
    let mut deleted = false;
    let mut changed = false;
    let mut back = false;
    for action in plan.rules.iter().flat_map(|r| &r.actions) {
        let child = action.fk.child.to_ascii_lowercase();
        match &action.kind {
            ActionKind::Refuse { .. } => continue,
            ActionKind::Delete { .. } if read.contains(&child) => deleted = true,
            ActionKind::Update { .. } if read.contains(&child) => changed = true,
            _ => {}
        }
        // A cascade back into the target changes which rows a later row
        // clashes with: an extra row read may then leave the count as it was.
        back |= child == target;
    }
    let subquery = visit_expressions(q, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break();
    match (deleted, changed) {
        (false, false) => Reading::Same,
        // A row deleted can make a subquery's answer change the other way.
        (true, false) if !subquery && !back => Reading::Superset,
        _ => Reading::Unknown,
    }
}
