//! Errors of the schema layer: invalid configuration of virtual foreign keys.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SchemaError {
    /// A virtual foreign key that names something the database does not have.
    #[error("virtual foreign key {name}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    VirtualFk {
        name: String,
        line: Option<usize>,
        message: String,
    },
    /// The configuration file is not valid TOML or has unknown keys.
    #[error("{path}: {message}")]
    Config { path: String, message: String },
}
