//! One session's connection to a keyspace's MariaDB/MySQL backend: text queries,
//! prepared statements, and the small reads and writes a managed plan issues.
//! A lost connection is reported to the client and reopened on the next command.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Statement, Value};
use tether_connect::DbUrl;

use crate::reply::{ColumnDef, OkInfo, Reply, ServerError};

/// A lazily (re)opened backend connection.
pub struct Backend {
    url: DbUrl,
    conn: Option<Conn>,
    /// The session turned `foreign_key_checks` off: re-applied on reconnect.
    fk_checks_off: bool,
}

/// Rows read by a plan step: column definitions and values.
pub struct Rows {
    pub columns: Vec<ColumnDef>,
    pub rows: Vec<Vec<Value>>,
}

impl Backend {
    pub fn new(url: DbUrl) -> Self {
        Backend {
            url,
            conn: None,
            fk_checks_off: false,
        }
    }

    async fn conn(&mut self) -> Result<&mut Conn, ServerError> {
        if self.conn.is_none() {
            let DbUrl::Mysql(server) = &self.url else {
                return Err(ServerError::gateway("backend URL is not mysql://"));
            };
            let opts = tether_connect::mysql::opts(server)
                .stmt_cache_size(0)
                .client_found_rows(false);
            let fut = Conn::new(opts);
            let conn = match tokio::time::timeout(std::time::Duration::from_secs(10), fut).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    return Err(match &e {
                        mysql_async::Error::Server(_) => ServerError::from_backend(&e),
                        other => ServerError::new(
                            2003,
                            "HY000",
                            format!("tether gateway: cannot connect to backend {}: {other}", self.url),
                        ),
                    })
                }
                Err(_) => {
                    return Err(ServerError::new(
                        2003,
                        "HY000",
                        format!("tether gateway: cannot connect to backend {}: timed out", self.url),
                    ))
                }
            };
            let mut conn = conn;
            if self.fk_checks_off {
                if let Err(e) = conn.query_drop("SET foreign_key_checks = 0").await {
                    return Err(ServerError::from_backend(&e));
                }
            }
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| ServerError::gateway("backend connection unavailable"))
    }

    /// Records the session's `foreign_key_checks`, to restore it after a reconnect.
    pub fn set_fk_checks(&mut self, on: bool) {
        self.fk_checks_off = !on;
    }

    /// Maps a backend error, dropping the connection when it is broken.
    fn fail(&mut self, e: mysql_async::Error) -> ServerError {
        if ServerError::is_connection_loss(&e) {
            tracing::warn!("backend {}: connection lost: {e}", self.url);
            self.conn = None;
        }
        ServerError::from_backend(&e)
    }

    /// Runs a client's text query and collects every result.
    pub async fn query(&mut self, sql: &str) -> Vec<Reply> {
        let conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => return vec![Reply::Error(e)],
        };
        let mut replies = Vec::new();
        let outcome: Result<(), mysql_async::Error> = async {
            let mut result = conn.query_iter(sql).await?;
            collect(&mut result, &mut replies).await?;
            // Surfaces an error of a later statement of a multi-statement query.
            result.drop_result().await
        }
        .await;
        if let Err(e) = outcome {
            replies.push(Reply::Error(self.fail(e)));
        }
        replies
    }

    /// Runs a statement the gateway issues, expecting no rows.
    pub async fn exec(&mut self, sql: &str) -> Result<OkInfo, ServerError> {
        tracing::debug!("backend: {sql}");
        let conn = self.conn().await?;
        let outcome: Result<OkInfo, mysql_async::Error> = async {
            let result = conn.query_iter(sql).await?;
            let info = ok_info(&result);
            result.drop_result().await?;
            Ok(info)
        }
        .await;
        outcome.map_err(|e| self.fail(e))
    }

    /// Runs a read the gateway issues (text protocol).
    pub async fn read(&mut self, sql: &str) -> Result<Rows, ServerError> {
        tracing::debug!("backend: {sql}");
        let conn = self.conn().await?;
        let outcome: Result<Rows, mysql_async::Error> = async {
            let mut result = conn.query_iter(sql).await?;
            let columns = result
                .columns()
                .map(|c| c.iter().map(ColumnDef::from_backend).collect())
                .unwrap_or_default();
            let rows: Vec<Row> = result.collect().await?;
            result.drop_result().await?;
            Ok(Rows {
                columns,
                rows: rows.into_iter().map(Row::unwrap).collect(),
            })
        }
        .await;
        outcome.map_err(|e| self.fail(e))
    }

    pub async fn prepare(&mut self, sql: &str) -> Result<Statement, ServerError> {
        let conn = self.conn().await?;
        match conn.prep(sql).await {
            Ok(s) => Ok(s),
            Err(e) => Err(self.fail(e)),
        }
    }

    pub async fn execute(&mut self, stmt: &Statement, params: Vec<Value>) -> Vec<Reply> {
        let conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => return vec![Reply::Error(e)],
        };
        let params = if params.is_empty() {
            mysql_async::Params::Empty
        } else {
            mysql_async::Params::Positional(params)
        };
        let mut replies = Vec::new();
        let outcome: Result<(), mysql_async::Error> = async {
            let mut result = conn.exec_iter(stmt, params).await?;
            collect(&mut result, &mut replies).await?;
            result.drop_result().await
        }
        .await;
        if let Err(e) = outcome {
            replies.push(Reply::Error(self.fail(e)));
        }
        replies
    }

    pub async fn close_statement(&mut self, stmt: Statement) {
        if let Some(conn) = self.conn.as_mut() {
            if let Err(e) = conn.close(stmt).await {
                let _ = self.fail(e);
            }
        }
    }

    /// Closes the connection; the server rolls back anything uncommitted.
    pub async fn disconnect(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.disconnect().await;
        }
    }
}

fn ok_info<P: mysql_async::prelude::Protocol>(result: &mysql_async::QueryResult<'_, '_, P>) -> OkInfo {
    OkInfo {
        affected_rows: result.affected_rows(),
        last_insert_id: result.last_insert_id().unwrap_or(0),
        warnings: result.warnings(),
        info: result.info().into_owned(),
    }
}

async fn collect<P: mysql_async::prelude::Protocol>(
    result: &mut mysql_async::QueryResult<'_, '_, P>,
    replies: &mut Vec<Reply>,
) -> Result<(), mysql_async::Error> {
    // A bounded loop: one turn per result set.
    for _ in 0..10_000 {
        let columns: Vec<ColumnDef> = result
            .columns()
            .map(|c| c.iter().map(ColumnDef::from_backend).collect())
            .unwrap_or_default();
        if columns.is_empty() {
            let info = ok_info(result);
            let _: Vec<Row> = result.collect().await?;
            replies.push(Reply::Ok(info));
        } else {
            let rows: Vec<Row> = result.collect().await?;
            replies.push(Reply::Rows {
                columns,
                rows: rows.into_iter().map(Row::unwrap).collect(),
            });
        }
        if result.is_empty() {
            break;
        }
    }
    Ok(())
}
