//! Sharded keyspaces: the gateway in front of a sharding engine (MariaDB Spider).
//! The engine routes statements; the gateway learns the layout from the engine's
//! catalogs ([`layout`]) and decides which FKs the data nodes can enforce ([`scope`]).

pub mod commit;
pub mod declared;
pub mod guard;
pub mod layout;
pub mod managed;
pub mod recover;
pub mod report;
pub mod scope;

use std::collections::BTreeMap;

use tether_connect::{DbUrl, IntrospectOptions};
use tether_schema::LocatedSpec;

/// Why a sharded keyspace's FKs could not be described.
#[derive(Debug, thiserror::Error)]
pub enum ShardedError {
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    #[error(transparent)]
    Scope(#[from] scope::ScopeError),
    #[error(transparent)]
    Managed(#[from] managed::ManagedError),
    #[error("sharded keyspace: reading the tables of {what}: {source}")]
    Introspect {
        what: String,
        source: tether_connect::ConnectError,
    },
}

/// The layout of the head database `head` names and every FK of it with its scope:
/// each Spider table's FKs as the first node it links to has them (one reading per
/// node and database), the head's own for its plain tables, and those `declared` in
/// the VSchema.
pub async fn describe(
    head: &DbUrl,
    declared: &[LocatedSpec],
) -> Result<(layout::Layout, Vec<scope::ScopedFk>), ShardedError> {
    let (layout, tables, _) = read_tables(head).await?;
    let fks = scope::scope_fks(&layout, &tables, declared)?;
    Ok((layout, fks))
}

/// The layout of the head database `head` names, and the keyspace's tables under
/// their head names with the data nodes' FKs (see [`scope::keyspace_tables`]).
/// Also the lines where the data nodes disagree on a table's FKs.
pub async fn read_tables(head: &DbUrl) -> Result<(layout::Layout, tether_schema::Schema, Vec<String>), ShardedError> {
    let layout = layout::read(head).await?;
    let introspect = |url: DbUrl, what: String| async move {
        tether_connect::introspect(&url, &IntrospectOptions::default())
            .await
            .map_err(|source| ShardedError::Introspect { what, source })
    };
    let head_schema = introspect(head.clone(), format!("the head database `{}`", layout.database)).await?;
    // Every (node, database) a Spider table links to, read once: the tables as
    // their first node has them, the others compared (`scope::node_disagreements`).
    let mut nodes = BTreeMap::new();
    let keys: Vec<(String, String)> = scope::all_links(&layout)
        .into_iter()
        .map(|(n, d, _, _)| (n.to_string(), d.to_string()))
        .collect();
    for key in keys {
        if nodes.contains_key(&key) {
            continue;
        }
        let url = layout
            .node(&key.0)
            .map(|n| n.url(&key.1))
            .ok_or_else(|| layout::LayoutError::Table {
                table: key.0.clone(),
                message: "server not in mysql.servers".into(),
            })?;
        let schema = introspect(url, format!("data node {} (database `{}`)", key.0, key.1)).await?;
        nodes.insert(key, schema);
    }
    let tables = scope::keyspace_tables(&layout, &nodes, &head_schema);
    let disagreements = scope::node_disagreements(&layout, &nodes);
    Ok((layout, tables, disagreements))
}
