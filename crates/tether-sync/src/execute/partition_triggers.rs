//! PostgreSQL: the user triggers the load must turn off include those declared on a
//! partition of a job table (at any level of partitioning), not only the job table's
//! own: a row copied into the partitioned table is routed into a partition and fires
//! that partition's triggers, which `ALTER TABLE parent DISABLE TRIGGER` does not reach
//! for a trigger the partition declares itself.
//!
//! They are listed parents first, then partitions level by level (deepest last): turning
//! a trigger of a partitioned table on again (PostgreSQL 15 `ENABLE [ALWAYS|REPLICA]
//! TRIGGER`) turns its partitions' clones on in the same state, so each partition's own
//! state must be set after its parent's.

use std::collections::HashMap;

use tether_connect::{Connection, Value};

use super::atomic::{triggers_on, OnTrigger};
use crate::error::SyncError;

/// The user triggers that are on ([`triggers_on`]) of `tables` (`regclass` literals)
/// and of all their partitions, the job tables' first, then each level of partitions.
pub(super) async fn triggers_with_partitions(
    conn: &mut Connection,
    tables: &[String],
) -> Result<Vec<OnTrigger>, SyncError> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let text = tether_schema::DataType::Text;
    let found = conn
        .query(
            &format!(
                "WITH RECURSIVE tree(oid, depth) AS (SELECT i.inhrelid, 1 FROM pg_inherits i \
                 JOIN pg_class k ON k.oid = i.inhrelid AND k.relispartition WHERE i.inhparent IN ({}) \
                 UNION SELECT i.inhrelid, tree.depth + 1 FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid \
                 JOIN pg_class k ON k.oid = i.inhrelid AND k.relispartition) \
                 SELECT oid::regclass::text, depth::bigint FROM tree ORDER BY 2, 1",
                tables.join(", ")
            ),
            &[
                text,
                tether_schema::DataType::Int {
                    bytes: 8,
                    unsigned: false,
                },
            ],
        )
        .await?;
    let d = conn.dialect();
    let mut all = tables.to_vec();
    all.extend(found.iter().filter_map(|r| match r.first() {
        Some(Value::Text(name)) => Some(format!("{}::regclass", d.literal(&Value::Text(name.clone())))),
        _ => None,
    }));
    let depth: HashMap<&str, i64> = found
        .iter()
        .filter_map(|r| match (r.first(), r.get(1)) {
            (Some(Value::Text(name)), Some(Value::Int(depth))) => Some((name.as_str(), *depth)),
            _ => None,
        })
        .collect();
    let mut triggers = triggers_on(conn, &all).await?;
    // (Stable: by name within a level, as listed.)
    triggers.sort_by_key(|t| depth.get(t.table.as_str()).copied().unwrap_or(0));
    Ok(triggers)
}
