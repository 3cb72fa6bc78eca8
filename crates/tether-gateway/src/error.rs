//! Errors of the gateway process itself (configuration, listening, reaching a
//! backend at start). Errors a client sees are [`crate::reply::ServerError`]s.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GatewayError {
    #[error("config {path}: {message}")]
    Config { path: String, message: String },

    /// The configuration is valid JSON but cannot be used (a password variable unset).
    #[error("{0}")]
    Setup(String),

    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: String, message: String },

    #[error("keyspace `{keyspace}`: {message}")]
    Keyspace { keyspace: String, message: String },

    #[error("unknown keyspace `{0}`")]
    UnknownKeyspace(String),
}
