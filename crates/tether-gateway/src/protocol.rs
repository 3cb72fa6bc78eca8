//! The MySQL client/server protocol, behind Tether's own [`Handler`] trait. Today the
//! wire work is `opensrv-mysql`'s; this module is the only one that knows it.
//!
//! Known limits of opensrv-mysql 0.7 (see docs/gateway.md): OK packets always carry
//! 0 warnings (SHOW WARNINGS works), column definitions always say utf8 and no
//! decimals, and error numbers outside MySQL's 1000-1885 range are sent as 1105
//! with the real number in the message.

use std::io::{self, Write};

use async_trait::async_trait;
use mysql_async::Value;
use opensrv_mysql::{
    AsyncMysqlShim, Column, ColumnFlags, ColumnType, ErrorKind, InitWriter, OkResponse, ParamParser, QueryResultWriter,
    StatementMetaWriter, StatusFlags, ToMysqlValue, ValueInner,
};
use tokio::io::AsyncWrite;

use crate::reply::{ColumnDef, Reply, ServerError};
use crate::session::PreparedInfo;

/// What a connection needs from the gateway, independent of the wire library.
#[async_trait]
pub trait Handler: Send + Sync {
    fn server_version(&self) -> String;
    fn connection_id(&self) -> u32;
    fn salt(&self) -> [u8; 20];
    /// Checks a `mysql_native_password` response.
    fn authenticate(&self, user: &str, salt: &[u8], response: &[u8]) -> bool;
    async fn init_db(&mut self, db: &str) -> Result<(), ServerError>;
    async fn query(&mut self, sql: &str) -> Vec<Reply>;
    async fn prepare(&mut self, sql: &str) -> Result<PreparedInfo, ServerError>;
    async fn execute(&mut self, id: u32, params: Vec<Value>) -> Vec<Reply>;
    async fn close(&mut self, id: u32);
}

/// Adapts a [`Handler`] to opensrv-mysql.
pub struct Shim<H> {
    pub handler: H,
}

fn error_kind(code: u16) -> ErrorKind {
    if (1000..=1885).contains(&code) {
        // opensrv panics on numbers it does not list; stay inside its table.
        std::panic::catch_unwind(|| ErrorKind::from(code)).unwrap_or(ErrorKind::ER_UNKNOWN_ERROR)
    } else {
        ErrorKind::ER_UNKNOWN_ERROR
    }
}

fn error_message(e: &ServerError) -> String {
    if (1000..=1885).contains(&e.code) {
        e.message.clone()
    } else {
        format!("({} {}) {}", e.code, e.state, e.message)
    }
}

fn column(c: &ColumnDef) -> Column {
    Column {
        table: c.table.clone(),
        column: c.name.clone(),
        coltype: ColumnType::try_from(c.column_type).unwrap_or(ColumnType::MYSQL_TYPE_VAR_STRING),
        colflags: ColumnFlags::from_bits_truncate(c.flags),
    }
}

/// One value on the wire, text or binary protocol.
struct Cell<'a>(&'a Value);

fn lenenc_int<W: Write>(w: &mut W, n: u64) -> io::Result<()> {
    if n < 251 {
        w.write_all(&[n as u8])
    } else if n < 1 << 16 {
        w.write_all(&[0xfc])?;
        w.write_all(&(n as u16).to_le_bytes())
    } else if n < 1 << 24 {
        w.write_all(&[0xfd])?;
        w.write_all(&(n as u32).to_le_bytes()[..3])
    } else {
        w.write_all(&[0xfe])?;
        w.write_all(&n.to_le_bytes())
    }
}

fn lenenc_bytes<W: Write>(w: &mut W, b: &[u8]) -> io::Result<()> {
    lenenc_int(w, b.len() as u64)?;
    w.write_all(b)
}

impl ToMysqlValue for Cell<'_> {
    fn to_mysql_text<W: Write>(&self, w: &mut W) -> io::Result<()> {
        match self.0 {
            Value::NULL => w.write_all(&[0xfb]),
            Value::Bytes(b) => lenenc_bytes(w, b),
            other => lenenc_bytes(w, other.as_sql(true).trim_matches('\'').as_bytes()),
        }
    }

    fn to_mysql_bin<W: Write>(&self, w: &mut W, c: &Column) -> io::Result<()> {
        let width = match c.coltype {
            ColumnType::MYSQL_TYPE_TINY => 1,
            ColumnType::MYSQL_TYPE_SHORT | ColumnType::MYSQL_TYPE_YEAR => 2,
            ColumnType::MYSQL_TYPE_LONG | ColumnType::MYSQL_TYPE_INT24 => 4,
            _ => 8,
        };
        match self.0 {
            Value::NULL => Ok(()),
            Value::Bytes(b) => lenenc_bytes(w, b),
            Value::Int(i) => w.write_all(&i.to_le_bytes()[..width]),
            Value::UInt(u) => w.write_all(&u.to_le_bytes()[..width]),
            Value::Float(f) if c.coltype == ColumnType::MYSQL_TYPE_DOUBLE => w.write_all(&f64::from(*f).to_le_bytes()),
            Value::Float(f) => w.write_all(&f.to_le_bytes()),
            Value::Double(d) if c.coltype == ColumnType::MYSQL_TYPE_FLOAT => w.write_all(&(*d as f32).to_le_bytes()),
            Value::Double(d) => w.write_all(&d.to_le_bytes()),
            Value::Date(y, mo, d, h, mi, s, us) => {
                if *us != 0 {
                    w.write_all(&[11])?;
                } else if *h != 0 || *mi != 0 || *s != 0 {
                    w.write_all(&[7])?;
                } else if *y != 0 || *mo != 0 || *d != 0 {
                    w.write_all(&[4])?;
                } else {
                    return w.write_all(&[0]);
                }
                w.write_all(&y.to_le_bytes())?;
                w.write_all(&[*mo, *d])?;
                if *h != 0 || *mi != 0 || *s != 0 || *us != 0 {
                    w.write_all(&[*h, *mi, *s])?;
                }
                if *us != 0 {
                    w.write_all(&us.to_le_bytes())?;
                }
                Ok(())
            }
            Value::Time(neg, days, h, mi, s, us) => {
                if *days == 0 && *h == 0 && *mi == 0 && *s == 0 && *us == 0 {
                    return w.write_all(&[0]);
                }
                w.write_all(&[if *us != 0 { 12 } else { 8 }, u8::from(*neg)])?;
                w.write_all(&days.to_le_bytes())?;
                w.write_all(&[*h, *mi, *s])?;
                if *us != 0 {
                    w.write_all(&us.to_le_bytes())?;
                }
                Ok(())
            }
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.0, Value::NULL)
    }
}

fn ok_response(info: &crate::reply::OkInfo) -> OkResponse {
    OkResponse {
        affected_rows: info.affected_rows,
        last_insert_id: info.last_insert_id,
        status_flags: StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        warnings: info.warnings,
        // opensrv frames the info string by the client's capabilities rather than
        // the negotiated ones, which breaks drivers that ask for session tracking
        // (mysql_async then misreads the packet): send none.
        info: String::new(),
        ..Default::default()
    }
}

/// Writes a command's replies: result sets and OK packets in order; an error ends
/// the answer.
async fn write_replies<W: AsyncWrite + Unpin + Send>(
    replies: Vec<Reply>,
    results: QueryResultWriter<'_, W>,
) -> io::Result<()> {
    let columns: Vec<Vec<Column>> = replies
        .iter()
        .map(|r| match r {
            Reply::Rows { columns, .. } => columns.iter().map(column).collect(),
            _ => Vec::new(),
        })
        .collect();
    let mut writer = results;
    let count = replies.len();
    for (i, (reply, cols)) in replies.into_iter().zip(&columns).enumerate() {
        let last = i + 1 == count;
        match reply {
            Reply::Ok(info) => {
                if last {
                    return writer.completed(ok_response(&info)).await;
                }
                writer = writer.complete_one(ok_response(&info)).await?;
            }
            Reply::Rows { rows, .. } => {
                let mut rw = writer.start(cols).await?;
                for row in &rows {
                    for v in row {
                        rw.write_col(Cell(v))?;
                    }
                    rw.end_row().await?;
                }
                if last {
                    return rw.finish().await;
                }
                writer = rw.finish_one().await?;
            }
            Reply::Error(e) => return writer.error(error_kind(e.code), error_message(&e).as_bytes()).await,
        }
    }
    writer.completed(OkResponse::default()).await
}

fn date_bytes(b: &[u8]) -> Value {
    let y = b.get(..2).map(|x| u16::from_le_bytes([x[0], x[1]])).unwrap_or(0);
    let g = |i: usize| b.get(i).copied().unwrap_or(0);
    let us = b
        .get(7..11)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .unwrap_or(0);
    Value::Date(y, g(2), g(3), g(4), g(5), g(6), us)
}

fn time_bytes(b: &[u8]) -> Value {
    let g = |i: usize| b.get(i).copied().unwrap_or(0);
    let days = b
        .get(1..5)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .unwrap_or(0);
    let us = b
        .get(8..12)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .unwrap_or(0);
    Value::Time(g(0) != 0, days, g(5), g(6), g(7), us)
}

/// Decodes COM_STMT_EXECUTE parameters; `None` on a malformed packet (opensrv
/// panics on some of those: contained here).
fn decode_params(params: ParamParser<'_>) -> Option<Vec<Value>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        params
            .into_iter()
            .map(|p| match p.value.into_inner() {
                ValueInner::NULL => Value::NULL,
                ValueInner::Bytes(b) => Value::Bytes(b.to_vec()),
                ValueInner::Int(i) => Value::Int(i),
                ValueInner::UInt(u) => Value::UInt(u),
                ValueInner::Double(d) => Value::Double(d),
                ValueInner::Date(b) | ValueInner::Datetime(b) => date_bytes(b),
                ValueInner::Time(b) => time_bytes(b),
            })
            .collect()
    }))
    .ok()
}

#[async_trait]
impl<H: Handler, W: AsyncWrite + Send + Unpin> AsyncMysqlShim<W> for Shim<H> {
    type Error = io::Error;

    fn version(&self) -> String {
        self.handler.server_version()
    }

    fn connect_id(&self) -> u32 {
        self.handler.connection_id()
    }

    fn salt(&self) -> [u8; 20] {
        self.handler.salt()
    }

    async fn authenticate(&self, _plugin: &str, username: &[u8], salt: &[u8], auth_data: &[u8]) -> bool {
        let user = String::from_utf8_lossy(username);
        self.handler.authenticate(&user, salt, auth_data)
    }

    async fn on_prepare<'a>(&'a mut self, query: &'a str, info: StatementMetaWriter<'a, W>) -> io::Result<()> {
        match self.handler.prepare(query).await {
            Ok(p) => {
                let params: Vec<Column> = p.params.iter().map(column).collect();
                let columns: Vec<Column> = p.columns.iter().map(column).collect();
                info.reply(p.id, &params, &columns).await
            }
            Err(e) => info.error(error_kind(e.code), error_message(&e).as_bytes()).await,
        }
    }

    async fn on_execute<'a>(
        &'a mut self,
        id: u32,
        params: ParamParser<'a>,
        results: QueryResultWriter<'a, W>,
    ) -> io::Result<()> {
        let Some(values) = decode_params(params) else {
            return results
                .error(
                    ErrorKind::ER_WRONG_ARGUMENTS,
                    b"Incorrect arguments to mysqld_stmt_execute",
                )
                .await;
        };
        let replies = self.handler.execute(id, values).await;
        write_replies(replies, results).await
    }

    async fn on_close<'a>(&'a mut self, stmt: u32)
    where
        W: 'async_trait,
    {
        self.handler.close(stmt).await;
    }

    async fn on_query<'a>(&'a mut self, query: &'a str, results: QueryResultWriter<'a, W>) -> io::Result<()> {
        let replies = self.handler.query(query).await;
        write_replies(replies, results).await
    }

    async fn on_init<'a>(&'a mut self, db: &'a str, writer: InitWriter<'a, W>) -> io::Result<()> {
        match self.handler.init_db(db).await {
            Ok(()) => writer.ok().await,
            Err(e) => writer.error(error_kind(e.code), error_message(&e).as_bytes()).await,
        }
    }
}
