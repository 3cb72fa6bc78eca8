//! Errors of a sync job. Each names what failed: the config key and line, the table,
//! the foreign key, the row's key, the server's message.

use tether_connect::ConnectError;
use tether_schema::SchemaError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The job file is invalid.
    #[error("{0}")]
    Config(String),
    /// The job cannot run against these databases (unknown table, excluded parent...).
    #[error("{0}")]
    Plan(String),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A transformer failed on a value (names table, column and row key).
    #[error("{0}")]
    Transform(String),
    /// The run was told to stop (SIGINT, SIGTERM) while it worked: `0` says what each
    /// destination was left holding.
    #[error("interrupted: the job stopped before it finished{0}")]
    Interrupted(String),
    /// A destination rejected a row.
    #[error("{destination}: table {table}: row {key} was rejected: {message} ({written})")]
    Rejected {
        destination: String,
        table: String,
        key: String,
        message: String,
        written: String,
    },
}
