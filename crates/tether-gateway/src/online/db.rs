//! The migrator's backend connection: [`crate::backend::Backend`] with errors that say
//! what the migrator was doing, rows as bytes or text, and SQL quoting for MariaDB.

use crate::wire::value::Value;
use tether_connect::DbUrl;
use tether_schema::{sql, Engine};

use super::OnlineError;
use crate::backend::Backend;
use crate::reply::OkInfo;

/// One connection of a migration task (the gateway's own backend client).
pub(crate) struct Db {
    backend: Backend,
}

/// A row of text values (NULL as `None`); bytes that are not UTF-8 are replaced.
pub(crate) type TextRow = Vec<Option<String>>;

impl Db {
    pub fn new(url: &DbUrl) -> Db {
        Db {
            backend: Backend::new(url.clone(), false),
        }
    }

    /// The connection that owns a migration (holds its server lock): never reopened once
    /// lost, so no step runs on a connection without the lock, the migrator's
    /// `lock_wait_timeout` or its `sql_mode` ([`Db::gone`] says it was lost).
    pub fn owner(url: &DbUrl) -> Db {
        Db {
            backend: Backend::pinned(url.clone()),
        }
    }

    /// True when an owner connection was lost (its lock went with it).
    pub fn gone(&self) -> bool {
        self.backend.is_gone()
    }

    /// Runs a statement that returns no rows; `doing` names it in errors.
    pub async fn exec(&mut self, sql: &str, doing: impl FnOnce() -> String) -> Result<OkInfo, OnlineError> {
        self.backend
            .exec(sql)
            .await
            .map_err(|e| OnlineError::backend(doing(), e))
    }

    /// Runs a statement whose text says what it does (DDL the migrator issues).
    pub async fn run(&mut self, sql: &str) -> Result<OkInfo, OnlineError> {
        self.backend
            .exec(sql)
            .await
            .map_err(|e| OnlineError::backend(sql.to_string(), e))
    }

    /// The rows of a read, values as bytes (NULL as `None`).
    pub async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<Vec<u8>>>>, OnlineError> {
        let rows = self
            .backend
            .read(sql)
            .await
            .map_err(|e| OnlineError::backend(sql.to_string(), e))?;
        Ok(rows
            .rows
            .into_iter()
            .map(|r| r.into_iter().map(bytes).collect())
            .collect())
    }

    /// The rows of a read, values as text.
    pub async fn texts(&mut self, sql: &str) -> Result<Vec<TextRow>, OnlineError> {
        Ok(self
            .rows(sql)
            .await?
            .into_iter()
            .map(|r| r.into_iter().map(|v| v.map(lossy)).collect())
            .collect())
    }

    /// The first value of a read as a number (`COUNT(*)` and the like).
    pub async fn count(&mut self, sql: &str) -> Result<Option<u64>, OnlineError> {
        Ok(self
            .texts(sql)
            .await?
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse().ok()))
    }

    /// The column names and rows of a read (SHOW statements with many columns).
    pub async fn named(&mut self, sql: &str) -> Result<(Vec<String>, Vec<TextRow>), OnlineError> {
        let rows = self
            .backend
            .read(sql)
            .await
            .map_err(|e| OnlineError::backend(sql.to_string(), e))?;
        let names = rows.columns.iter().map(|c| c.name.clone()).collect();
        let rows = rows
            .rows
            .into_iter()
            .map(|r| r.into_iter().map(|v| bytes(v).map(lossy)).collect())
            .collect();
        Ok((names, rows))
    }

    /// Turns `foreign_key_checks` off for this connection (kept over reconnects): the
    /// migrator's DDL on shadows and its metadata-only FK changes run without checks.
    pub async fn checks_off(&mut self) -> Result<(), OnlineError> {
        self.run("SET SESSION foreign_key_checks = 0").await?;
        self.backend.set_fk_checks(false);
        Ok(())
    }

    pub async fn close(mut self) {
        self.backend.disconnect().await;
    }
}

/// A text-protocol value as bytes (NULL as `None`).
fn bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::Bytes(b) => Some(b),
        other => Some(other.text().into_bytes()),
    }
}

fn lossy(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// `name` quoted as a MariaDB identifier.
pub(crate) fn q(name: &str) -> String {
    sql::ident(Engine::Mysql, name)
}

/// Names quoted and joined with `, `.
pub(crate) fn q_list<S: AsRef<str>>(names: &[S]) -> String {
    names.iter().map(|n| q(n.as_ref())).collect::<Vec<_>>().join(", ")
}

/// A text literal for MariaDB.
pub(crate) fn lit(value: &str) -> String {
    sql::text(Engine::Mysql, value)
}

/// A value read as bytes, as a literal that reads back the same (hex when not UTF-8).
pub(crate) fn lit_bytes(value: &[u8]) -> String {
    sql::mysql_bytes(value)
}
