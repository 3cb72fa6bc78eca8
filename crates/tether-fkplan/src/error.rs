//! Why a statement cannot be planned. The gateway turns these into client errors
//! (MariaDB error 1105, SQL state HY000) that name the table and what is missing.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    /// A write statement the SQL parser does not understand: in a managed keyspace it
    /// cannot run unplanned.
    #[error("tether: cannot parse this write statement to plan its foreign keys: {0}")]
    Parse(String),

    /// A statement shape the planner does not handle yet, on a table with foreign keys.
    #[error("tether: {what} is not supported in a managed keyspace (table `{table}` has foreign keys)")]
    Unsupported { what: String, table: String },

    /// Several statements in one query, one of them a write, where tables have
    /// foreign keys: each must be planned on its own.
    #[error(
        "tether: several statements in one query are not supported in a managed keyspace when one is a write \
         (tables here have foreign keys); send the statements one at a time"
    )]
    Several,
}
