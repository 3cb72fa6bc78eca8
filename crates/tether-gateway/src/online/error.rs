//! Errors of online schema changes: refusals (the ALTER cannot run online, and why),
//! backend failures (what the migrator was doing, the server's own error), and
//! unknown or misused migrations.

use thiserror::Error;

use crate::reply::ServerError;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum OnlineError {
    /// The ALTER cannot run as an online migration; the message says why.
    #[error("online ALTER of `{table}` refused: {reason}")]
    Refused { table: String, reason: String },

    /// The statement is not one ALTER TABLE the migrator understands.
    #[error("not an online ALTER: {0}")]
    NotAlter(String),

    /// The ALTER fails natively with this error of MariaDB's (found on an empty scratch
    /// copy of the table, named back to the user's table and FKs): what the client sees.
    #[error("online ALTER of `{table}` fails as natively: ERROR {code} ({state}): {message}")]
    Native {
        table: String,
        code: u16,
        state: String,
        message: String,
    },

    /// A statement the migrator issued failed on the backend.
    #[error("{doing}: ERROR {code} ({state}): {message}")]
    Backend {
        doing: String,
        code: u16,
        state: String,
        message: String,
    },

    /// The keyspace's schema could not be read.
    #[error("reading the schema of keyspace `{keyspace}`: {message}")]
    Schema { keyspace: String, message: String },

    #[error("unknown migration '{0}'")]
    UnknownMigration(String),

    /// CANCEL or RETRY of a migration in a state that does not allow it.
    #[error("migration '{id}' is {state}: cannot {action}")]
    WrongState { id: String, state: String, action: String },

    /// A cut-over step after the RENAME failed (`error`); `outcome` says what was done
    /// about it (the tables swapped back, or why they could not be).
    #[error("{error}; {outcome}")]
    AfterSwap { error: Box<OnlineError>, outcome: String },

    /// The connection owning the migration lost it (its server lock went with the
    /// connection): the task stops before any further step and takes it again.
    #[error("migration '{id}': its owner connection no longer holds the migration's lock")]
    OwnershipLost { id: String },

    /// The FKs referencing a migrated table changed between their last read and the
    /// RENAME (nothing swapped): the next attempt reads them again.
    #[error("the FKs referencing `{table}` changed as the cut-over began; nothing was swapped")]
    ChildrenChanged { table: String },

    /// The migration's stored record cannot be read back.
    #[error("migration '{id}': stored record unreadable: {message}")]
    Record { id: String, message: String },
}

impl OnlineError {
    pub(crate) fn backend(doing: impl Into<String>, e: ServerError) -> Self {
        OnlineError::Backend {
            doing: doing.into(),
            code: e.code,
            state: e.state,
            message: e.message,
        }
    }

    /// The error a client sees: the backend's number and state for backend failures,
    /// MariaDB's own error where the native ALTER fails, 1105 (HY000) for the
    /// migrator's own.
    pub fn to_server_error(&self) -> ServerError {
        match self {
            OnlineError::Backend { code, state, .. } => ServerError::new(*code, state, self.to_string()),
            OnlineError::Native {
                code, state, message, ..
            } => ServerError::new(*code, state, message.clone()),
            OnlineError::AfterSwap { error, .. } => match error.as_ref() {
                OnlineError::Backend { code, state, .. } => ServerError::new(*code, state, self.to_string()),
                _ => ServerError::gateway(self.to_string()),
            },
            _ => ServerError::gateway(self.to_string()),
        }
    }

    /// True for a deadlock (1213) or a lock wait timeout (1205).
    pub(crate) fn is_lock_conflict(&self) -> bool {
        matches!(self, OnlineError::Backend { code: 1205 | 1213, .. })
    }

    /// True for a refusal for want of privileges (1142 table, 1044 database, 1227
    /// operation).
    pub(crate) fn is_privilege_refusal(&self) -> bool {
        matches!(
            self,
            OnlineError::Backend {
                code: 1142 | 1044 | 1227,
                ..
            }
        )
    }

    /// A cut-over attempt that stopped before the RENAME for a reason that may pass:
    /// a lock wait timeout (1205) or children that changed as it began.
    pub(crate) fn is_retryable(&self) -> bool {
        self.is_lock_wait_timeout() || matches!(self, OnlineError::ChildrenChanged { .. })
    }

    /// True for a lock wait timeout (1205): the cut-over tries again later.
    pub(crate) fn is_lock_wait_timeout(&self) -> bool {
        matches!(self, OnlineError::Backend { code: 1205, .. })
    }
}
