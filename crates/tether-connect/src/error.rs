//! Errors of the connection layer. Every message names the database by its redacted
//! URL (no password) and carries the server's own code and message where there is one.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("unknown database URL `{0}`: expected sqlite://PATH, a .sqlite/.db file, postgres://... or mysql://...")]
    UnknownScheme(String),

    #[error("invalid database URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error("SQLite database file not found: {0}")]
    SqliteFileMissing(String),

    /// The server could not be reached, or refused the connection or the login.
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },

    /// A statement failed; `what` says what Tether was doing.
    #[error("{url}: {what}: {message}")]
    Query { url: String, what: String, message: String },

    /// The request does not apply to this engine (PostgreSQL schemas on SQLite).
    #[error("{url}: {what}")]
    Unsupported { url: String, what: String },

    /// The database does not hold what the request names (a schema, a table).
    #[error("{url}: {message}")]
    NotFound { url: String, message: String },
}
