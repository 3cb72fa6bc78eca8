//! The schema a managed sharded keyspace plans on: the keyspace's tables as the
//! data nodes define them (keys, columns, defaults), with every FK of the keyspace,
//! the nodes' InnoDB FKs and those the VSchema declares (with their actions).
//!
//! The head passes neither `foreign_key_checks = 0` nor anything else of the
//! gateway's session to the nodes' connections (measured, docs/sharding.md), so a
//! node's InnoDB FK acts on its own under the gateway's statements. A partition-key
//! change moves a row between nodes as an insert and a delete, and a node's own
//! cascade or SET NULL changes a partitioning column without moving the row. The
//! node FKs a managed keyspace accepts are those that cannot act differently from
//! the gateway's plan: `ON UPDATE` RESTRICT / NO ACTION, `ON DELETE` RESTRICT /
//! NO ACTION / CASCADE. Every other action is declared in the VSchema only.

use std::sync::Mutex;

use tether_connect::DbUrl;
use tether_schema::{DataType, FkAction, LocatedSpec, Schema};

use super::layout::{Layout, Placement};
use super::scope::{self, Scope, Source};
use super::ShardedError;
use crate::config::DeclaredActions;

/// Why a managed sharded keyspace's FKs cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum ManagedError {
    #[error(
        "the data nodes disagree on foreign keys ({0}): each node's InnoDB would act on its own rows only; \
         make the nodes' FKs the same (every write is refused until they are)"
    )]
    NodesDisagree(String),
    #[error(
        "foreign key `{name}` of `{table}`: the data nodes have ON {event} {node}, the VSchema declares ON {event} {declared}"
    )]
    Actions {
        name: String,
        table: String,
        event: &'static str,
        node: &'static str,
        declared: &'static str,
    },
    #[error(
        "foreign key `{name}` of `{table}` on the data nodes has ON {event} {action}, which the nodes' InnoDB would \
         run on its own under the gateway's statements (the head does not pass foreign_key_checks = 0 to the nodes; \
         a row whose partitioning columns change moves between nodes): in a managed sharded keyspace drop it from \
         the nodes and declare it in the VSchema (`foreignKeys`, with `on_{lower}`)"
    )]
    NodeAction {
        name: String,
        table: String,
        event: &'static str,
        lower: &'static str,
        action: &'static str,
    },
    #[error("VSchema foreign key `{name}` (`{table}` ({columns}) -> `{parent}` ({parent_columns})): {reason}")]
    Declared {
        name: String,
        table: String,
        columns: String,
        parent: String,
        parent_columns: String,
        reason: String,
    },
    #[error("reading the collation of `{table}`.`{column}` on the data nodes: {message}")]
    Collation {
        table: String,
        column: String,
        message: String,
    },
}

/// The name MariaDB shows for an action.
pub fn action_name(a: FkAction) -> &'static str {
    match a {
        FkAction::Cascade => "CASCADE",
        FkAction::SetNull => "SET NULL",
        FkAction::SetDefault => "SET DEFAULT",
        FkAction::Restrict => "RESTRICT",
        FkAction::NoAction => "NO ACTION",
    }
}

/// The managed keyspace's schema read from the head `head` and its nodes, with the
/// FKs `declared` in the VSchema (`actions` in the same order).
pub async fn managed_schema(
    head: &DbUrl,
    declared: &[LocatedSpec],
    actions: &[DeclaredActions],
) -> Result<Schema, ShardedError> {
    let (layout, tables, disagreements) = super::read_tables(head).await?;
    if !disagreements.is_empty() {
        return Err(ManagedError::NodesDisagree(disagreements.join("; ")).into());
    }
    let (mut schema, sources) = scope::merge(&tables, declared)?;
    for (located, given) in declared.iter().zip(actions) {
        let spec = &located.spec;
        let name = spec
            .name
            .clone()
            .unwrap_or_else(|| format!("{}_{}_vfk", spec.table.replace('.', "_"), spec.columns.join("_")));
        let Some(table) = schema
            .tables
            .iter_mut()
            .find(|t| t.name.eq_ignore_ascii_case(&spec.table))
        else {
            continue;
        };
        let table_name = table.name.clone();
        let Some(fk) = table
            .foreign_keys
            .iter_mut()
            .find(|f| f.name == name || (f.columns == spec.columns && f.referenced_table == spec.referenced_table))
        else {
            continue;
        };
        match sources.get(&(table_name.clone(), fk.name.clone())) {
            Some(Source::VSchema) => {
                // MariaDB's default for an FK declared without actions.
                fk.on_delete = given.on_delete.unwrap_or(FkAction::Restrict);
                fk.on_update = given.on_update.unwrap_or(FkAction::Restrict);
                fk.is_virtual = false;
            }
            _ => {
                for (event, node, said) in [
                    ("DELETE", fk.on_delete, given.on_delete),
                    ("UPDATE", fk.on_update, given.on_update),
                ] {
                    if let Some(said) = said.filter(|s| !same_action(*s, node)) {
                        return Err(ManagedError::Actions {
                            name: fk.name.clone(),
                            table: table_name.clone(),
                            event,
                            node: action_name(node),
                            declared: action_name(said),
                        }
                        .into());
                    }
                }
            }
        }
    }
    super::declared::check(&layout, head, &schema, &sources).await?;
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            let source = sources.get(&(t.name.clone(), fk.name.clone())).copied();
            if source == Some(Source::VSchema) {
                continue;
            }
            if scope::scope_of(&layout, &t.name, fk)? == Scope::Head {
                // The head's own FK between plain tables: the gateway turns the
                // head's checks off for its statements, as on an unsharded keyspace.
                continue;
            }
            let bad_update = !matches!(fk.on_update, FkAction::Restrict | FkAction::NoAction);
            let bad_delete = matches!(fk.on_delete, FkAction::SetNull | FkAction::SetDefault);
            if bad_update || bad_delete {
                let (event, lower, action) = if bad_update {
                    ("UPDATE", "update", fk.on_update)
                } else {
                    ("DELETE", "delete", fk.on_delete)
                };
                return Err(ManagedError::NodeAction {
                    name: fk.name.clone(),
                    table: t.name.clone(),
                    event,
                    lower,
                    action: action_name(action),
                }
                .into());
            }
        }
    }
    remember_anchor(head, anchor_of(&layout, &schema));
    Ok(schema)
}

/// The anchor of each head a managed sharded keyspace has read its schema from.
static ANCHORS: Mutex<Vec<(DbUrl, Option<String>)>> = Mutex::new(Vec::new());

fn remember_anchor(head: &DbUrl, anchor: Option<String>) {
    let mut anchors = ANCHORS.lock().unwrap_or_else(|p| p.into_inner());
    anchors.retain(|(h, _)| h != head);
    anchors.push((head.clone(), anchor));
}

/// The statement that must open every write transaction of the managed sharded
/// keyspace on `head` (`None`: the head has no tables of its own, or its schema
/// was not read yet). See [`anchor_of`].
pub fn anchor(head: &DbUrl) -> Option<String> {
    let anchors = ANCHORS.lock().unwrap_or_else(|p| p.into_inner());
    anchors.iter().find(|(h, _)| h == head).and_then(|(_, a)| a.clone())
}

/// A write that changes nothing, for the first statement of a transaction that may
/// write both the head's own (InnoDB) tables and Spider tables.
///
/// Spider joins a transaction as a read-write engine only when its first statement
/// in the transaction writes (it registers itself with the server at that statement
/// only, measured on MariaDB 10.11.19). A transaction whose first Spider statement
/// is a read (the gateway's lock read of a parent, a client's SELECT) commits with
/// one read-write engine, the head's InnoDB, in one phase: the head commits its own
/// tables, then Spider runs XA PREPARE and COMMIT on the nodes inside its commit and
/// a node lost there rolls the nodes' part back while the head's part stays (review
/// r21g F1). With Spider read-write from the first statement the server commits in
/// two phases and Spider's XA PREPARE on the nodes comes before the head commits
/// anything: a node lost before its PREPARE rolls the whole transaction back.
///
/// The anchor is a DELETE Spider pushes down to one node (a point on a sharded
/// table's one-column integer primary key, the type's least value, with a condition
/// no row meets): it deletes nothing and locks at most that key's gap on one node.
/// `None` when the head has no tables of its own (nothing of the head's to keep) or
/// no sharded table has such a key (documented as not covered, docs/sharding.md).
fn anchor_of(layout: &Layout, schema: &Schema) -> Option<String> {
    /// The table a keyspace may create for the anchor alone (docs/sharding.md).
    const ANCHOR_TABLE: &str = "tether_anchor";
    if !layout.tables.iter().any(|t| t.placement == Placement::Plain) {
        return None;
    }
    let mut sharded: Vec<&str> = layout
        .tables
        .iter()
        .filter(|t| matches!(t.placement, Placement::Sharded(_)))
        .map(|t| t.name.as_str())
        .collect();
    // A sharded table named `tether_anchor` (created for it: nothing else writes it, so
    // the anchor's gap lock meets no INSERT) comes first, then the others by name.
    sharded.sort_unstable_by_key(|name| (*name != ANCHOR_TABLE, *name));
    sharded.into_iter().find_map(|name| {
        let table = schema.tables.iter().find(|t| t.name == name)?;
        let [pk] = table.primary_key.as_slice() else {
            return None;
        };
        let column = table.columns.iter().find(|c| &c.name == pk)?;
        let least = match column.normalized_type {
            DataType::Int { unsigned: true, .. } => "0".to_string(),
            DataType::Int { bytes, .. } if (1..=8).contains(&bytes) => {
                // -2^(8 * bytes - 1), as MariaDB's TINYINT .. BIGINT; MEDIUMINT is 3 bytes.
                format!("-{}", 1u128 << (8 * u32::from(bytes) - 1))
            }
            _ => return None,
        };
        let q = |n: &str| format!("`{}`", n.replace('`', "``"));
        Some(format!(
            "DELETE FROM {t} WHERE {c} = {least} AND {c} = {c} + 1",
            t = q(name),
            c = q(pk)
        ))
    })
}

/// RESTRICT and NO ACTION are one action in InnoDB.
fn same_action(a: FkAction, b: FkAction) -> bool {
    let norm = |x| match x {
        FkAction::NoAction => FkAction::Restrict,
        other => other,
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::super::scope::tests::{hash, layout, plain, schema, table};
    use super::*;

    #[test]
    fn the_anchor_is_a_no_row_delete_on_the_first_sharded_table_keyed_by_one_integer() {
        let mut text = table("a_text", &["k"], &["k"], Vec::new());
        text.columns[0].normalized_type = DataType::Varchar { length: Some(10) };
        let s = schema(vec![
            text,
            table("b_pair", &["x", "y"], &["x", "y"], Vec::new()),
            table("cust", &["id"], &["id"], Vec::new()),
            table("ord", &["id"], &["id"], Vec::new()),
            table("audit", &["id"], &["id"], Vec::new()),
        ]);
        let sharded = || {
            vec![
                hash("ord", "id"),
                hash("a_text", "k"),
                hash("b_pair", "x"),
                hash("cust", "id"),
            ]
        };
        let with_head: Vec<_> = sharded().into_iter().chain([plain("audit")]).collect();
        assert_eq!(
            anchor_of(&layout(with_head.clone()), &s).as_deref(),
            Some("DELETE FROM `cust` WHERE `id` = -2147483648 AND `id` = `id` + 1")
        );
        // No table of the head's own: nothing to keep, no anchor.
        assert_eq!(anchor_of(&layout(sharded()), &s), None);
        // The least value of each integer type.
        for (bytes, unsigned, least) in [(1, false, "-128"), (8, false, "-9223372036854775808"), (8, true, "0")] {
            let mut s = s.clone();
            let cust = s.tables.iter_mut().find(|t| t.name == "cust").expect("cust");
            cust.columns[0].normalized_type = DataType::Int { bytes, unsigned };
            assert_eq!(
                anchor_of(&layout(with_head.clone()), &s),
                Some(format!("DELETE FROM `cust` WHERE `id` = {least} AND `id` = `id` + 1"))
            );
        }
        // No sharded table keyed by one integer column: none.
        let only: Vec<_> = with_head
            .clone()
            .into_iter()
            .filter(|t| !["cust", "ord"].contains(&t.name.as_str()))
            .collect();
        assert_eq!(anchor_of(&layout(only), &s), None);
        // A sharded `tether_anchor` comes before every other table.
        let mut s = s.clone();
        s.tables.push(table("tether_anchor", &["id"], &["id"], Vec::new()));
        let anchored: Vec<_> = with_head.iter().cloned().chain([hash("tether_anchor", "id")]).collect();
        assert_eq!(
            anchor_of(&layout(anchored), &s).as_deref(),
            Some("DELETE FROM `tether_anchor` WHERE `id` = -2147483648 AND `id` = `id` + 1")
        );
    }
}
