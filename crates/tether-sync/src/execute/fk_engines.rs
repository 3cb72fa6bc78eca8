//! Which existing MariaDB/MySQL tables of a job enforce no foreign keys (MyISAM, Aria,
//! MEMORY ...: only InnoDB does): a batch load "checks foreign keys row by row" only
//! in the others, and the load line says so (review r18 L1). Tables Tether creates
//! are InnoDB.

use tether_connect::{Connection, Engine, Value};
use tether_schema::DataType;

use crate::error::SyncError;

/// The job's `existing` tables on `conn` whose storage engine stores no foreign keys,
/// as `table (ENGINE)` (none off MariaDB/MySQL).
pub(super) async fn unenforced(conn: &mut Connection, existing: &[String]) -> Result<Vec<String>, SyncError> {
    if conn.engine() != Engine::Mysql || existing.is_empty() {
        return Ok(Vec::new());
    }
    let rows = conn
        .query(
            "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'InnoDB' ORDER BY TABLE_NAME",
            &[DataType::Text, DataType::Text],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match (&r[0], &r[1]) {
            (Value::Text(t), Value::Text(e)) if existing.iter().any(|x| x == t) => Some(format!("{t} ({e})")),
            _ => None,
        })
        .collect())
}

/// The batch load's words for its foreign-key checks.
pub(super) fn checked(unenforced: &[String]) -> String {
    match unenforced {
        [] => "foreign keys checked row by row".into(),
        some => format!(
            "foreign keys checked row by row except in {}, whose engine enforces none: the verification \
             checks those",
            some.join(", ")
        ),
    }
}
