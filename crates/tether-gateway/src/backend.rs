//! One session's connection to a keyspace's MariaDB/MySQL backend: text queries,
//! prepared statements, and the small reads and writes a managed plan issues.
//! A lost connection is reported to the client and reopened on the next command,
//! except inside a transaction: then every command fails until the client says
//! ROLLBACK (or resets the connection), so nothing later commits outside it.

use std::io;

use mysql_async::prelude::{Protocol, Queryable};
use mysql_async::{Conn, QueryResult, Row, Statement, Value};
use tether_connect::DbUrl;

use crate::protocol::Output;
use crate::reply::{ColumnDef, OkInfo, Reply, ServerError};

/// A lazily (re)opened backend connection.
pub struct Backend {
    url: DbUrl,
    conn: Option<Conn>,
    /// The session turned `foreign_key_checks` off: re-applied on reconnect.
    fk_checks_off: bool,
    /// The connection was lost inside a transaction: no reconnect until the client
    /// acknowledges with ROLLBACK.
    lost_in_transaction: bool,
    /// The open transaction is the gateway's own (a managed plan's BEGIN ... COMMIT
    /// in autocommit mode): losing it loses nothing of the client's.
    own_transaction: bool,
    /// The session had autocommit off when its connection was lost: re-applied on
    /// reconnect.
    autocommit_off: bool,
}

// Server status flags.
const SERVER_STATUS_IN_TRANS: u16 = 0x0001;
const SERVER_STATUS_AUTOCOMMIT: u16 = 0x0002;

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
            lost_in_transaction: false,
            own_transaction: false,
            autocommit_off: false,
        }
    }

    fn opts(&self) -> Result<mysql_async::OptsBuilder, ServerError> {
        let DbUrl::Mysql(server) = &self.url else {
            return Err(ServerError::gateway("backend URL is not mysql://"));
        };
        Ok(tether_connect::mysql::opts(server)
            .stmt_cache_size(0)
            .client_found_rows(false))
    }

    async fn conn(&mut self) -> Result<&mut Conn, ServerError> {
        if self.lost_in_transaction {
            return Err(ServerError::new(
                2013,
                "HY000",
                "tether gateway: the backend connection was lost inside a transaction, which the \
                 backend rolled back; send ROLLBACK before anything else",
            ));
        }
        if self.conn.is_none() {
            let fut = Conn::new(self.opts()?);
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
            if self.autocommit_off {
                if let Err(e) = conn.query_drop("SET autocommit = 0").await {
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
            // The status of the last command that succeeded: a transaction was open
            // (with autocommit off, one is always open to the client).
            if let Some(status) = self.status() {
                self.autocommit_off = status & SERVER_STATUS_AUTOCOMMIT == 0;
                if !self.own_transaction && (status & SERVER_STATUS_IN_TRANS != 0 || self.autocommit_off) {
                    self.lost_in_transaction = true;
                }
            }
            self.conn = None;
        }
        ServerError::from_backend(&e)
    }

    /// Marks the transaction about to open (or just ended) as the gateway's own.
    pub fn set_own_transaction(&mut self, own: bool) {
        self.own_transaction = own;
    }

    /// True when the connection was lost inside a transaction and the client has
    /// not said ROLLBACK yet.
    pub fn lost_in_transaction(&self) -> bool {
        self.lost_in_transaction
    }

    /// The client's ROLLBACK after a lost transaction: the next command reconnects.
    pub fn acknowledge_lost_transaction(&mut self) {
        self.lost_in_transaction = false;
    }

    /// COM_RESET_CONNECTION: rolls back and resets the backend session (its
    /// variables, temporary tables, prepared statements); a connection that cannot
    /// be reset is closed and reopened on the next command.
    pub async fn reset(&mut self) {
        self.fk_checks_off = false;
        self.lost_in_transaction = false;
        self.autocommit_off = false;
        if let Some(conn) = self.conn.as_mut() {
            if let Err(e) = conn.reset().await {
                tracing::debug!("backend {}: reset failed, reconnecting: {e}", self.url);
                self.disconnect().await;
            }
        }
    }

    /// Ends the backend's work at once after the client went away mid-result:
    /// `KILL` over a short-lived second connection (dropping the connection would
    /// first read the rest of the result, with the transaction's locks held), then
    /// the connection is dropped.
    async fn kill(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let id = conn.id();
        let killed = async {
            let mut side = Conn::new(self.opts()?)
                .await
                .map_err(|e| ServerError::from_backend(&e))?;
            let done = side.query_drop(format!("KILL {id}")).await;
            let _ = side.disconnect().await;
            done.map_err(|e| ServerError::from_backend(&e))
        };
        match tokio::time::timeout(std::time::Duration::from_secs(5), killed).await {
            Ok(Ok(())) => tracing::debug!("backend {}: killed connection {id}", self.url),
            Ok(Err(e)) => tracing::warn!("backend {}: cannot kill connection {id}: {}", self.url, e.message),
            Err(_) => tracing::warn!("backend {}: cannot kill connection {id}: timed out", self.url),
        }
        drop(conn);
    }

    /// The status flags of the backend's last OK packet (autocommit, in transaction).
    pub fn status(&self) -> Option<u16> {
        let ok = self.conn.as_ref()?.last_ok_packet()?;
        Some(ok.status_flags().bits())
    }

    /// Runs a client's text query, streaming every result to the client as it
    /// arrives: the passthrough path, no copy of a result set is kept.
    pub async fn forward_query(&mut self, sql: &str, out: &mut Output<'_>) -> io::Result<()> {
        let conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => {
                out.error(&e);
                return Ok(());
            }
        };
        let outcome: Result<(), Fail> = async {
            let mut result = conn.query_iter(sql).await?;
            stream(&mut result, out).await
        }
        .await;
        self.settle(outcome, out).await
    }

    /// Executes a prepared statement, streaming its results to the client.
    pub async fn forward_execute(
        &mut self,
        stmt: &Statement,
        params: Vec<Value>,
        out: &mut Output<'_>,
    ) -> io::Result<()> {
        let conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => {
                out.error(&e);
                return Ok(());
            }
        };
        let params = if params.is_empty() {
            mysql_async::Params::Empty
        } else {
            mysql_async::Params::Positional(params)
        };
        let outcome: Result<(), Fail> = async {
            let mut result = conn.exec_iter(stmt, params).await?;
            stream(&mut result, out).await
        }
        .await;
        self.settle(outcome, out).await
    }

    /// Ends a forwarded command: the backend's status flags, or its error.
    async fn settle(&mut self, outcome: Result<(), Fail>, out: &mut Output<'_>) -> io::Result<()> {
        match outcome {
            Ok(()) => {
                out.backend_status(self.status());
                Ok(())
            }
            Err(Fail::Client(e)) => {
                self.kill().await;
                Err(e)
            }
            Err(Fail::Backend(e)) => {
                let e = self.fail(e);
                out.error(&e);
                Ok(())
            }
        }
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

fn ok_info<P: Protocol>(result: &QueryResult<'_, '_, P>) -> OkInfo {
    OkInfo {
        affected_rows: result.affected_rows(),
        last_insert_id: result.last_insert_id().unwrap_or(0),
        warnings: result.warnings(),
        info: result.info().into_owned(),
    }
}

async fn collect<P: Protocol>(
    result: &mut QueryResult<'_, '_, P>,
    replies: &mut Vec<Reply>,
) -> Result<(), mysql_async::Error> {
    // One turn per result (a pending result has columns, maybe none).
    while let Some(columns) = result.columns() {
        if columns.is_empty() {
            replies.push(Reply::Ok(ok_info(result)));
            result.next().await?;
        } else {
            let rows: Vec<Row> = result.collect().await?;
            replies.push(Reply::Rows {
                columns: columns.iter().map(ColumnDef::from_backend).collect(),
                rows: rows.into_iter().map(Row::unwrap).collect(),
            });
        }
    }
    Ok(())
}

/// Why forwarding a command stopped: the backend failed (the client is told), or
/// writing to the client failed (the connection ends).
enum Fail {
    Backend(mysql_async::Error),
    Client(io::Error),
}

impl From<mysql_async::Error> for Fail {
    fn from(e: mysql_async::Error) -> Self {
        Fail::Backend(e)
    }
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Self {
        Fail::Client(e)
    }
}

/// Sends every result of a backend command to the client as it is read: OK packets
/// with the backend's rows affected, last insert id, warnings and info string;
/// result sets with the backend's column definitions, row by row.
async fn stream<P: Protocol>(result: &mut QueryResult<'_, '_, P>, out: &mut Output<'_>) -> Result<(), Fail> {
    loop {
        let Some(columns) = result.columns() else {
            // Done, unless a later statement failed: mysql_async keeps that error
            // pending (no columns) and hands it out on the next read.
            result.next().await?;
            break;
        };
        if columns.is_empty() {
            let more = !result.is_empty();
            out.ok(&ok_info(result), more);
            result.next().await?;
        } else {
            out.begin_backend_rows(&columns);
            while let Some(row) = result.next().await? {
                out.backend_row(&row).await?;
            }
            // Reading the terminator moved on to the next result: rows, an OK, or
            // the error of the next statement (the result set then says "more").
            let warnings = result.warnings();
            let (more, failed) = match result.columns() {
                Some(_) => (true, None),
                None => match result.next().await {
                    Ok(_) => (false, None),
                    Err(e) => (true, Some(e)),
                },
            };
            out.end_rows(warnings, more);
            if let Some(e) = failed {
                return Err(Fail::Backend(e));
            }
        }
    }
    Ok(())
}
