//! Tether's connection layer: URLs, connections and introspection for SQLite,
//! PostgreSQL and MariaDB/MySQL, all into the engine-neutral `tether_schema` model.
//!
//! Callers hold a [`Connection`] and never match on the engine; engine differences
//! live in one module per engine.

pub mod error;
pub mod mysql;
pub mod postgres;
pub mod sqlite;
pub mod types;
pub mod url;

use std::sync::{Arc, Mutex};

use tether_schema::Schema;

pub use error::ConnectError;
pub use url::{DbUrl, Engine, ServerUrl};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct IntrospectOptions {
    /// PostgreSQL schemas to read; empty means every non-system schema.
    pub schemas: Vec<String>,
}

/// An open connection to one database.
pub enum Connection {
    Sqlite {
        conn: Arc<Mutex<rusqlite::Connection>>,
        shown: String,
    },
    Postgres {
        client: tokio_postgres::Client,
        shown: String,
    },
    Mysql {
        conn: mysql_async::Conn,
        shown: String,
        database: String,
    },
}

impl Connection {
    /// Opens a connection for reading. A SQLite file must already exist.
    pub async fn open(url: &DbUrl) -> Result<Connection, ConnectError> {
        let shown = url.to_string();
        match url {
            DbUrl::Sqlite { path } => {
                let path = path.clone();
                let conn = tokio::task::spawn_blocking(move || sqlite::open_read_only(&path))
                    .await
                    .expect("the SQLite open task does not panic")?;
                Ok(Connection::Sqlite {
                    conn: Arc::new(Mutex::new(conn)),
                    shown,
                })
            }
            DbUrl::Postgres(server) => Ok(Connection::Postgres {
                client: postgres::connect(server, &shown).await?,
                shown,
            }),
            DbUrl::Mysql(server) => {
                let database = server.database.clone().ok_or_else(|| ConnectError::InvalidUrl {
                    url: shown.clone(),
                    reason: "a MySQL URL needs a database: mysql://USER@HOST:PORT/DATABASE".into(),
                })?;
                Ok(Connection::Mysql {
                    conn: mysql::connect(server, &shown).await?,
                    shown,
                    database,
                })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Connection::Sqlite { .. } => Engine::Sqlite,
            Connection::Postgres { .. } => Engine::Postgres,
            Connection::Mysql { .. } => Engine::Mysql,
        }
    }

    /// Reads the database's tables, keys and foreign keys.
    pub async fn introspect(&mut self, opts: &IntrospectOptions) -> Result<Schema, ConnectError> {
        if !opts.schemas.is_empty() && self.engine() != Engine::Postgres {
            return Err(ConnectError::InvalidUrl {
                url: self.shown().to_string(),
                reason: "--schema applies to PostgreSQL only; on MySQL the database comes from the URL".into(),
            });
        }
        match self {
            Connection::Sqlite { conn, shown } => {
                let conn = conn.clone();
                let shown = shown.clone();
                tokio::task::spawn_blocking(move || {
                    let conn = conn.lock().expect("the SQLite connection lock is never poisoned");
                    sqlite::introspect(&conn, &shown)
                })
                .await
                .expect("the SQLite introspection task does not panic")
            }
            Connection::Postgres { client, shown } => postgres::introspect(client, shown, &opts.schemas).await,
            Connection::Mysql { conn, shown, database } => mysql::introspect(conn, shown, database).await,
        }
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        match self {
            Connection::Sqlite { shown, .. } | Connection::Postgres { shown, .. } | Connection::Mysql { shown, .. } => {
                shown
            }
        }
    }

    /// Closes the connection politely (MySQL sends COM_QUIT).
    pub async fn close(self) {
        if let Connection::Mysql { conn, .. } = self {
            let _ = conn.disconnect().await;
        }
    }
}

/// Connects, reads the schema and disconnects.
pub async fn introspect(url: &DbUrl, opts: &IntrospectOptions) -> Result<Schema, ConnectError> {
    let mut conn = Connection::open(url).await?;
    let schema = conn.introspect(opts).await;
    conn.close().await;
    schema
}
