//! `tether gateway`: a MySQL-protocol server in front of MariaDB/MySQL with Vitess's
//! per-keyspace foreign-key modes. `unmanaged` forwards statements; `disallow`
//! refuses DDL that creates foreign keys; `managed` runs every write that touches a
//! table with FKs as a `tether-fkplan` plan of explicit statements in one backend
//! transaction, so cascades reach the binlog.

mod auth;
mod backend;
mod comments;
mod config;
mod ddl;
mod error;
mod keyspace;
mod kill;
mod managed;
pub mod online;
mod protocol;
mod reply;
mod route;
mod server;
mod session;
pub mod sharded;
mod tls;
mod views;
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

/// The online migrations of `keyspace` (every unsharded keyspace when `None`), as
/// `SHOW VITESS_MIGRATIONS` lists them: a header line and one line per migration,
/// tab-separated (`NULL` for no value). A keyspace where no online ALTER was ever
/// submitted lists none (and gets no migrations table).
pub async fn migrations(config: &Config, keyspace: Option<&str>) -> Result<String, GatewayError> {
    let specs = config.keyspace_specs().map_err(GatewayError::Setup)?;
    if let Some(k) = keyspace {
        if !specs.iter().any(|s| s.name == k) {
            return Err(GatewayError::UnknownKeyspace(k.to_string()));
        }
    }
    let mut out = online::SHOW_COLUMNS.join("\t");
    out.push('\n');
    for spec in specs {
        if keyspace.is_some_and(|k| k != spec.name) || spec.sharded {
            continue;
        }
        let name = spec.name.clone();
        let failed = |message: String| GatewayError::Keyspace {
            keyspace: name.clone(),
            message,
        };
        let ks = keyspace::Keyspace::new(spec);
        let Some(migrator) = ks.migrator() else { continue };
        if !ks.has_migrations().await.map_err(|e| failed(e.message))? {
            continue;
        }
        let list = migrator.list().await.map_err(|e| failed(e.to_string()))?;
        for row in online::show_rows(&list, None) {
            let cells: Vec<String> = row
                .into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()).replace(['\t', '\n'], " "))
                .collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
    }
    Ok(out)
}
