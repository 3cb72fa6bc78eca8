//! PostgreSQL: the user triggers the load must turn off include those declared on a
//! partition of a job table (at any level of partitioning), not only the job table's
//! own: a row copied into the partitioned table is routed into a partition and fires
//! that partition's triggers, which `ALTER TABLE parent DISABLE TRIGGER` does not reach
//! for a trigger the partition declares itself.

use tether_connect::{Connection, Value};

use super::atomic::{triggers_on, OnTrigger};
use crate::error::SyncError;

/// The user triggers that are on ([`triggers_on`]) of `tables` (`regclass` literals)
/// and of all their partitions.
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
                "WITH RECURSIVE tree(oid) AS (SELECT i.inhrelid FROM pg_inherits i \
                 JOIN pg_class k ON k.oid = i.inhrelid AND k.relispartition WHERE i.inhparent IN ({}) \
                 UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid \
                 JOIN pg_class k ON k.oid = i.inhrelid AND k.relispartition) \
                 SELECT oid::regclass::text FROM tree ORDER BY 1",
                tables.join(", ")
            ),
            &[text],
        )
        .await?;
    let d = conn.dialect();
    let mut all = tables.to_vec();
    all.extend(found.iter().filter_map(|r| match r.first() {
        Some(Value::Text(name)) => Some(format!("{}::regclass", d.literal(&Value::Text(name.clone())))),
        _ => None,
    }));
    triggers_on(conn, &all).await
}
