//! `tether gateway`: a MySQL-protocol server in front of MariaDB/MySQL with Vitess's
//! per-keyspace foreign-key modes. `unmanaged` forwards statements; `disallow`
//! refuses DDL that creates foreign keys; `managed` runs every write that touches a
//! table with FKs as a `tether-fkplan` plan of explicit statements in one backend
//! transaction, so cascades reach the binlog.

mod auth;
mod backend;
mod config;
mod ddl;
mod error;
mod keyspace;
mod managed;
pub mod online;
mod protocol;
mod reply;
mod route;
mod server;
mod session;
pub mod sharded;
mod tls;
mod wire;

pub use auth::scramble;
pub use config::{Config, FkMode, TlsConfig, DEFAULT_LISTEN};
pub use error::GatewayError;
pub use server::Gateway;

/// The plan the gateway would run for `sql` in `keyspace`, as EXPLAIN FK prints it.
pub async fn explain(config: &Config, keyspace: &str, sql: &str) -> Result<String, GatewayError> {
    let spec = config
        .keyspace_specs()
        .map_err(GatewayError::Setup)?
        .into_iter()
        .find(|k| k.name == keyspace)
        .ok_or_else(|| GatewayError::UnknownKeyspace(keyspace.to_string()))?;
    keyspace::Keyspace::new(spec)
        .explain(sql)
        .await
        .map_err(|e| GatewayError::Keyspace {
            keyspace: keyspace.to_string(),
            message: e.message,
        })
}
