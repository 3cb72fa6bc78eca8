//! The server side of the MySQL client/server protocol, behind Tether's own
//! [`Handler`] trait: handshake v10 with `mysql_native_password` (switching clients
//! that offer another plugin), COM_QUERY, COM_INIT_DB, COM_PING, COM_QUIT,
//! COM_STMT_PREPARE/EXECUTE/SEND_LONG_DATA/CLOSE/RESET, COM_FIELD_LIST (empty),
//! COM_SET_OPTION, COM_RESET_CONNECTION, COM_CHANGE_USER; text and binary result sets, OK/ERR/EOF
//! packets, with or without `CLIENT_DEPRECATE_EOF`; TLS when the config has a
//! certificate (and plain clients refused when it says `requireSecureTransport`). No
//! compression. The client side the gateway speaks to its backends is in [`client`].
//!
//! Limits: the login must arrive within 10 s in packets of at most 64 KiB; after it a
//! command may be `max_allowed_packet` long (error 1153 beyond, as MariaDB), a
//! client may stay idle 8 hours, and a write to the client may wait 60 s for it to
//! read.
//!
//! Everything a command answers is built in one buffer and sent with one write
//! (a long result set every 64 KiB), and result sets stream from the backend, their
//! column definitions and rows relayed as the backend encoded them: see [`Output`].

pub mod client;
mod multi;
mod packet;
mod stream;
mod values;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mysql_async::Value;
use tokio::net::TcpStream;

use crate::reply::{ColumnDef, OkInfo, Reply, ServerError};
use crate::session::PreparedInfo;
use packet::{Cursor, PacketReader, PacketWriter};
use stream::{ReadHalf, WriteHalf};
use values::StatementParams;

/// What a connection needs from the gateway, independent of the wire protocol.
pub trait Handler: Send {
    fn server_version(&self) -> String;
    fn connection_id(&self) -> u32;
    fn salt(&self) -> [u8; 20];
    /// Checks a `mysql_native_password` response.
    fn authenticate(&self, user: &str, salt: &[u8], response: &[u8]) -> bool;
    fn init_db(&mut self, db: &str) -> impl Future<Output = Result<(), ServerError>> + Send;
    /// Runs a text query, writing its answer (results, OK packets, an error) to `out`.
    /// An `Err` is a failure to write to the client and ends the connection.
    fn query(&mut self, sql: &str, out: &mut Output<'_>) -> impl Future<Output = io::Result<()>> + Send;
    fn prepare(&mut self, sql: &str) -> impl Future<Output = Result<PreparedInfo, ServerError>> + Send;
    fn execute(
        &mut self,
        id: u32,
        params: Vec<Value>,
        out: &mut Output<'_>,
    ) -> impl Future<Output = io::Result<()>> + Send;
    fn close(&mut self, id: u32) -> impl Future<Output = ()> + Send;
    /// COM_RESET_CONNECTION: rolls back and resets the session's backend
    /// connections and returns to the login's keyspace and settings.
    fn reset(&mut self) -> impl Future<Output = Result<(), ServerError>> + Send;
    /// COM_CHANGE_USER authenticated a user (the session was reset first): the
    /// session goes on in `db`, or with no database named in the default keyspace,
    /// as a new connection would, and a later reset returns there.
    fn change_user(&mut self, db: Option<&str>) -> impl Future<Output = Result<(), ServerError>> + Send;
    /// The session's keyspace (opaque to the protocol), to put back with
    /// `restore_keyspace` after a failed COM_CHANGE_USER.
    fn keyspace(&self) -> Option<String>;
    fn restore_keyspace(&mut self, keyspace: Option<String>);
    /// The login succeeded (with its database selected). `found_rows`: the client
    /// asked for CLIENT_FOUND_ROWS (rows affected by an UPDATE or an ON DUPLICATE
    /// KEY UPDATE count the rows matched, not only those changed), which its backend
    /// connections must then ask for too.
    fn logged_in(&mut self, found_rows: bool);
}

/// What one client connection may use.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest command after the login (MariaDB's `max_allowed_packet`), and
    /// the most long data one prepared statement may collect.
    pub max_allowed_packet: usize,
}

/// The largest packet accepted before the login is checked.
const HANDSHAKE_MAX_PACKET: usize = 64 * 1024;

/// How long a client has to log in.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Failed COM_CHANGE_USER attempts a connection gets; after them the command is
/// refused as unknown (MariaDB's guard against guessing passwords).
const CHANGE_USER_ATTEMPTS: u32 = 3;

/// How long a logged-in client may stay silent (MariaDB's default `wait_timeout`).
const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

// Capability flags.
const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_FOUND_ROWS: u32 = 1 << 1;
const CLIENT_LONG_FLAG: u32 = 1 << 2;
const CLIENT_CONNECT_WITH_DB: u32 = 1 << 3;
const CLIENT_PROTOCOL_41: u32 = 1 << 9;
const CLIENT_SSL: u32 = 1 << 11;
const CLIENT_TRANSACTIONS: u32 = 1 << 13;
const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
const CLIENT_MULTI_STATEMENTS: u32 = 1 << 16;
const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
const CLIENT_PS_MULTI_RESULTS: u32 = 1 << 18;
const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
const CLIENT_CONNECT_ATTRS: u32 = 1 << 20;
const CLIENT_PLUGIN_AUTH_LENENC_DATA: u32 = 1 << 21;
const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;

/// What the gateway offers; a connection uses what both sides offer.
const SERVER_CAPABILITIES: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_FOUND_ROWS
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
    | CLIENT_PLUGIN_AUTH_LENENC_DATA
    | CLIENT_DEPRECATE_EOF;

// Server status flags.
const SERVER_STATUS_AUTOCOMMIT: u16 = 0x0002;
const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

// Commands.
const COM_QUIT: u8 = 0x01;
const COM_INIT_DB: u8 = 0x02;
const COM_QUERY: u8 = 0x03;
const COM_FIELD_LIST: u8 = 0x04;
const COM_PING: u8 = 0x0e;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;
const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
const COM_STMT_CLOSE: u8 = 0x19;
const COM_STMT_RESET: u8 = 0x1a;
const COM_SET_OPTION: u8 = 0x1b;
const COM_CHANGE_USER: u8 = 0x11;
const COM_RESET_CONNECTION: u8 = 0x1f;

// COM_SET_OPTION's options.
const MYSQL_OPTION_MULTI_STATEMENTS_ON: u16 = 0;
const MYSQL_OPTION_MULTI_STATEMENTS_OFF: u16 = 1;

const NATIVE_PASSWORD: &[u8] = b"mysql_native_password";

/// utf8mb4_general_ci, the character set the handshake announces.
const DEFAULT_CHARSET: u8 = 45;

/// A streamed result set is sent whenever this much is buffered.
const FLUSH_AT: usize = 64 * 1024;

type Writer = PacketWriter<WriteHalf>;
type Reader = PacketReader<ReadHalf>;

/// TLS towards clients.
#[derive(Clone, Default)]
pub struct Security {
    /// Offered to clients when set (the config's certificate and key).
    pub acceptor: Option<tokio_rustls::TlsAcceptor>,
    /// Plain clients are refused (MariaDB's `require_secure_transport`).
    pub require_secure_transport: bool,
}

/// Where a command's answer goes: OK and ERR packets and result sets, in the text
/// or binary protocol (COM_STMT_EXECUTE). Rows are encoded straight into the send
/// buffer, which is sent every 64 KiB, so a result set is never held whole.
pub struct Output<'a> {
    w: &'a mut Writer,
    deprecate_eof: bool,
    /// The client negotiated CLIENT_MULTI_RESULTS: only then may a packet say
    /// "more results".
    multi_results: bool,
    binary: bool,
    /// The backend's last status flags (autocommit, in transaction), for the
    /// gateway's own OK packets.
    status: &'a mut u16,
    /// Column types of the result set being sent (binary rows need them).
    types: Vec<u8>,
}

impl Output<'_> {
    /// Records the backend's status flags, as the next OK packets will carry them.
    pub fn set_status(&mut self, status: u16) {
        *self.status = status & !SERVER_MORE_RESULTS_EXISTS;
    }

    pub fn error(&mut self, e: &ServerError) {
        write_err(self.w, e);
    }

    /// An OK packet with the backend's status flags as recorded last, plus "more
    /// results" when another result follows.
    pub fn ok(&mut self, info: &OkInfo, more: bool) {
        let more = more && self.multi_results;
        let status = *self.status | if more { SERVER_MORE_RESULTS_EXISTS } else { 0 };
        write_ok(self.w, 0x00, info, status);
    }

    /// The column count of a result set relayed from the backend; its column
    /// definitions follow through [`Self::relay_column`].
    pub fn begin_relayed_rows(&mut self, count: u64) {
        self.w.begin();
        self.w.put_lenenc_int(count);
        self.w.end();
        self.types.clear();
    }

    /// One column definition packet of the backend's, as it is. After the last,
    /// [`Self::columns_done`].
    pub fn relay_column(&mut self, payload: &[u8]) {
        self.w.begin();
        self.w.put_bytes(payload);
        self.w.end();
    }

    /// One row packet of the backend's, as it is (text or binary protocol).
    pub async fn relay_row(&mut self, payload: &[u8]) -> io::Result<()> {
        self.w.begin();
        self.w.put_bytes(payload);
        self.w.end();
        self.flush_if_full().await
    }

    /// Column count and definitions of a result set the gateway built.
    pub fn begin_rows(&mut self, columns: &[ColumnDef]) {
        self.w.begin();
        self.w.put_lenenc_int(columns.len() as u64);
        self.w.end();
        self.types.clear();
        for c in columns {
            self.types.push(c.column_type);
            write_column(self.w, &ColumnRef::from(c));
        }
        self.columns_done();
    }

    /// The end of a result set's column definitions.
    pub fn columns_done(&mut self) {
        if !self.deprecate_eof {
            write_eof(self.w, 0, *self.status);
        }
    }

    /// One row.
    pub async fn row<'v>(&mut self, values: impl ExactSizeIterator<Item = &'v Value>) -> io::Result<()> {
        self.w.begin();
        if self.binary {
            values::put_binary_row(self.w, &self.types, values);
        } else {
            for v in values {
                values::put_text(self.w, v);
            }
        }
        self.w.end();
        self.flush_if_full().await
    }

    /// Sends what is buffered once it reaches 64 KiB.
    async fn flush_if_full(&mut self) -> io::Result<()> {
        if self.w.pending() >= FLUSH_AT {
            self.w.flush().await?;
        }
        Ok(())
    }

    /// The end of a result set: the recorded status flags, plus "more results" when
    /// another result follows.
    pub fn end_rows(&mut self, warnings: u16, more: bool) {
        let more = more && self.multi_results;
        let status = *self.status | if more { SERVER_MORE_RESULTS_EXISTS } else { 0 };
        if self.deprecate_eof {
            let info = OkInfo {
                warnings,
                ..OkInfo::default()
            };
            write_ok(self.w, 0xfe, &info, status);
        } else {
            write_eof(self.w, warnings, status);
        }
    }

    /// Answers built by the gateway (and plans): each result set and OK packet, the
    /// ones before the last marked "more results"; an error ends the answer.
    pub async fn replies(&mut self, replies: Vec<Reply>) -> io::Result<()> {
        let count = replies.len();
        if count == 0 {
            self.ok(&OkInfo::default(), false);
        }
        for (i, reply) in replies.into_iter().enumerate() {
            let more = i + 1 < count;
            match reply {
                Reply::Ok(info) => self.ok(&info, more),
                Reply::Rows { columns, rows } => {
                    self.begin_rows(&columns);
                    for row in &rows {
                        self.row(row.iter()).await?;
                    }
                    self.end_rows(0, more);
                }
                Reply::Error(e) => {
                    self.error(&e);
                    break;
                }
            }
        }
        Ok(())
    }

    /// COM_STMT_PREPARE's answer.
    fn prepared(&mut self, info: &PreparedInfo) {
        self.w.begin();
        self.w.put_u8(0);
        self.w.put_u32(info.id);
        self.w.put_u16(info.columns.len() as u16);
        self.w.put_u16(info.params.len() as u16);
        self.w.put_u8(0);
        self.w.put_u16(0);
        self.w.end();
        for list in [&info.params, &info.columns] {
            if !list.is_empty() {
                for c in list {
                    write_column(self.w, &ColumnRef::from(c));
                }
                self.columns_done();
            }
        }
    }
}

/// A column definition's fields, borrowed.
struct ColumnRef<'a> {
    schema: &'a [u8],
    table: &'a [u8],
    org_table: &'a [u8],
    name: &'a [u8],
    org_name: &'a [u8],
    charset: u16,
    length: u32,
    column_type: u8,
    flags: u16,
    decimals: u8,
}

impl<'a> From<&'a ColumnDef> for ColumnRef<'a> {
    fn from(c: &'a ColumnDef) -> Self {
        ColumnRef {
            schema: c.schema.as_bytes(),
            table: c.table.as_bytes(),
            org_table: c.org_table.as_bytes(),
            name: c.name.as_bytes(),
            org_name: c.org_name.as_bytes(),
            charset: c.charset,
            length: c.length,
            column_type: c.column_type,
            flags: c.flags,
            decimals: c.decimals,
        }
    }
}

fn write_column(w: &mut Writer, c: &ColumnRef<'_>) {
    w.begin();
    w.put_lenenc_bytes(b"def");
    w.put_lenenc_bytes(c.schema);
    w.put_lenenc_bytes(c.table);
    w.put_lenenc_bytes(c.org_table);
    w.put_lenenc_bytes(c.name);
    w.put_lenenc_bytes(c.org_name);
    w.put_u8(0x0c);
    w.put_u16(c.charset);
    w.put_u32(c.length);
    w.put_u8(c.column_type);
    w.put_u16(c.flags);
    w.put_u8(c.decimals);
    w.put_u16(0);
    w.end();
}

/// Writes an OK packet.
fn write_ok(w: &mut Writer, header: u8, info: &OkInfo, status: u16) {
    w.begin();
    w.put_u8(header);
    w.put_lenenc_int(info.affected_rows);
    w.put_lenenc_int(info.last_insert_id);
    w.put_u16(status);
    w.put_u16(info.warnings);
    // Without CLIENT_SESSION_TRACK (not offered) servers send the info string
    // length-encoded when there is one (MariaDB's and MySQL's net_send_ok), not as
    // the manual's string<EOF>; clients parse it that way.
    if !info.info.is_empty() {
        w.put_lenenc_bytes(info.info.as_bytes());
    }
    w.end();
}

/// Writes an EOF packet.
fn write_eof(w: &mut Writer, warnings: u16, status: u16) {
    w.begin();
    w.put_u8(0xfe);
    w.put_u16(warnings);
    w.put_u16(status);
    w.end();
}

fn write_err(w: &mut Writer, e: &ServerError) {
    w.begin();
    w.put_u8(0xff);
    w.put_u16(e.code);
    w.put_u8(b'#');
    let mut state = [b'H', b'Y', b'0', b'0', b'0'];
    if e.state.len() == 5 {
        state.copy_from_slice(e.state.as_bytes());
    }
    w.put_bytes(&state);
    w.put_bytes(e.message.as_bytes());
    w.end();
}

fn not_utf8(what: &str) -> ServerError {
    ServerError::gateway(format!("tether gateway: the {what} is not valid UTF-8"))
}

/// Serves one client connection until it quits or fails.
pub async fn serve<H: Handler>(
    mut handler: H,
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    security: &Security,
) -> io::Result<()> {
    let login = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&mut handler, stream, peer, security))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no login within 10 s"))??;
    let Some((capabilities, mut reader, mut writer)) = login else {
        return Ok(());
    };
    let deprecate_eof = capabilities & CLIENT_DEPRECATE_EOF != 0;
    let multi_results = capabilities & CLIENT_MULTI_RESULTS != 0;
    // COM_SET_OPTION switches this; COM_RESET_CONNECTION restores the login's.
    let mut multi_statements = capabilities & CLIENT_MULTI_STATEMENTS != 0;
    let mut status = SERVER_STATUS_AUTOCOMMIT;
    let mut statements: HashMap<u32, StatementParams> = HashMap::new();
    let mut failed_changes = 0;
    loop {
        let next = tokio::time::timeout(IDLE_TIMEOUT, reader.next(limits.max_allowed_packet));
        let Ok(next) = next.await else {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "idle for 8 hours"));
        };
        let seq = match next {
            Ok(Some(seq)) => seq,
            Ok(None) => return Ok(()),
            Err(e) => {
                // As MariaDB: say why, then close. The rest of the packet is read
                // and dropped first (for a moment, up to 16 MiB): closing with it
                // unread would reset the connection, and a client still sending
                // might never see the error.
                if let Some(too_large) = packet::too_large(&e) {
                    writer.set_seq(too_large.seq);
                    write_err(&mut writer, &packet_too_large());
                    writer.flush().await?;
                    writer.shutdown().await;
                    reader.discard(1 << 24, Duration::from_secs(2)).await;
                }
                return Err(e);
            }
        };
        writer.set_seq(seq.wrapping_add(1));
        let payload = reader.payload();
        let (command, body) = payload.split_first().map(|(c, b)| (*c, b)).unwrap_or((0, &[]));
        let mut out = Output {
            w: &mut writer,
            deprecate_eof,
            multi_results,
            binary: false,
            status: &mut status,
            types: Vec::new(),
        };
        match command {
            COM_QUIT => return Ok(()),
            COM_QUERY => match std::str::from_utf8(body) {
                Ok(sql) if multi_statements => handler.query(sql, &mut out).await?,
                // One statement only: a second is refused, and what follows the
                // first `;` (comments) is not sent, or the backend, which runs
                // several, would answer it as another (empty) statement.
                Ok(sql) => match multi::split(sql) {
                    (_, Some(second)) => out.error(&multi::syntax_error(sql, second)),
                    (end, None) => handler.query(&sql[..end], &mut out).await?,
                },
                Err(_) => out.error(&not_utf8("statement")),
            },
            COM_INIT_DB => match std::str::from_utf8(body) {
                Ok(db) => match handler.init_db(db).await {
                    Ok(()) => out.ok(&OkInfo::default(), false),
                    Err(e) => out.error(&e),
                },
                Err(_) => out.error(&not_utf8("database name")),
            },
            COM_PING => out.ok(&OkInfo::default(), false),
            COM_SET_OPTION => match Cursor::new(body).u16() {
                Some(MYSQL_OPTION_MULTI_STATEMENTS_ON) => {
                    multi_statements = true;
                    out.end_rows(0, false);
                }
                Some(MYSQL_OPTION_MULTI_STATEMENTS_OFF) => {
                    multi_statements = false;
                    out.end_rows(0, false);
                }
                _ => out.error(&ServerError::new(1047, "08S01", "Unknown command")),
            },
            // Deprecated; the `mysql` client sends it after USE for completion.
            COM_FIELD_LIST => out.end_rows(0, false),
            COM_STMT_PREPARE => match std::str::from_utf8(body) {
                Ok(sql) => match handler.prepare(sql).await {
                    Ok(info) => {
                        let params = StatementParams {
                            count: info.params.len() as u16,
                            ..StatementParams::default()
                        };
                        statements.insert(info.id, params);
                        out.prepared(&info);
                    }
                    Err(e) => out.error(&e),
                },
                Err(_) => out.error(&not_utf8("statement")),
            },
            COM_STMT_EXECUTE => {
                let mut c = Cursor::new(body);
                let id = c.u32();
                // Flags (cursor type; no cursors are offered) and iteration count.
                let head = c.u8().and(c.u32());
                match id.zip(head).and_then(|(id, _)| Some((id, statements.get_mut(&id)?))) {
                    None => out.error(&unknown_statement(id.unwrap_or(0), "mysqld_stmt_execute")),
                    Some((_, stmt)) if stmt.long_data_dropped => {
                        // The long data was cut off: executing without it would
                        // store the wrong value.
                        stmt.long_data_dropped = false;
                        out.error(&packet_too_large());
                    }
                    Some((id, stmt)) => match values::decode_params(&mut c, stmt) {
                        Some(params) => {
                            out.binary = true;
                            handler.execute(id, params, &mut out).await?
                        }
                        None => out.error(&ServerError::new(
                            1210,
                            "HY000",
                            "Incorrect arguments to mysqld_stmt_execute",
                        )),
                    },
                }
            }
            COM_STMT_SEND_LONG_DATA => {
                // No answer, even to a bad packet.
                let mut c = Cursor::new(body);
                if let (Some(id), Some(param)) = (c.u32(), c.u16()) {
                    if let Some(stmt) = statements.get_mut(&id) {
                        stmt.add_long_data(param, c.rest, limits.max_allowed_packet);
                    }
                }
                continue;
            }
            COM_STMT_CLOSE => {
                // No answer.
                if let Some(id) = Cursor::new(body).u32() {
                    statements.remove(&id);
                    handler.close(id).await;
                }
                continue;
            }
            COM_STMT_RESET => {
                let id = Cursor::new(body).u32().unwrap_or(0);
                match statements.get_mut(&id) {
                    Some(stmt) => {
                        stmt.long_data.clear();
                        stmt.long_data_dropped = false;
                        out.ok(&OkInfo::default(), false);
                    }
                    None => out.error(&unknown_statement(id, "mysqld_stmt_reset")),
                }
            }
            COM_RESET_CONNECTION => {
                statements.clear();
                multi_statements = capabilities & CLIENT_MULTI_STATEMENTS != 0;
                match handler.reset().await {
                    Ok(()) => {
                        *out.status = SERVER_STATUS_AUTOCOMMIT;
                        out.ok(&OkInfo::default(), false);
                    }
                    Err(e) => out.error(&e),
                }
            }
            COM_CHANGE_USER => {
                let change = ChangeUser::parse(body, capabilities);
                // As a new connection, whether or not the login succeeds (even
                // refused after too many failures): the transaction rolled back,
                // statements and session settings dropped; the multi-statements
                // option stays, as in MariaDB.
                statements.clear();
                *out.status = SERVER_STATUS_AUTOCOMMIT;
                let before = handler.keyspace();
                let reset = handler.reset().await;
                match change {
                    _ if failed_changes >= CHANGE_USER_ATTEMPTS => {
                        handler.restore_keyspace(before);
                        out.error(&ServerError::new(1047, "08S01", "Unknown command"))
                    }
                    None => {
                        failed_changes += 1;
                        handler.restore_keyspace(before);
                        out.error(&ServerError::new(1043, "08S01", "Bad handshake"))
                    }
                    Some(change) => {
                        let salt = handler.salt();
                        let response = if change.plugin.is_empty() || change.plugin == NATIVE_PASSWORD {
                            change.auth
                        } else {
                            match switch_to_native(&mut reader, out.w, &salt).await? {
                                Some(response) => response,
                                None => return Ok(()),
                            }
                        };
                        let outcome = if !handler.authenticate(&change.user, &salt, &response) {
                            Err(access_denied(&change.user, peer, &response))
                        } else {
                            match reset {
                                Ok(()) => handler.change_user(change.database.as_deref()).await,
                                Err(e) => Err(e),
                            }
                        };
                        match outcome {
                            Ok(()) => out.ok(&OkInfo::default(), false),
                            Err(e) => {
                                // The database in use before stays, as in MariaDB.
                                failed_changes += 1;
                                handler.restore_keyspace(before);
                                out.error(&e);
                            }
                        }
                    }
                }
            }
            _ => out.error(&ServerError::new(1047, "08S01", "Unknown command")),
        }
        writer.flush().await?;
    }
}

/// MariaDB's error for a command longer than `max_allowed_packet`.
fn packet_too_large() -> ServerError {
    ServerError::new(1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes")
}

/// Answers a connection the gateway will not serve (MariaDB sends the error in
/// place of the greeting), then closes it.
pub async fn refuse(stream: TcpStream, e: &ServerError) -> io::Result<()> {
    let (_read, write) = stream::tcp(stream);
    let mut writer = PacketWriter::new(write);
    writer.set_seq(0);
    // Before the handshake the client's protocol is unknown: no SQL state, as
    // MariaDB sends it.
    writer.begin();
    writer.put_u8(0xff);
    writer.put_u16(e.code);
    writer.put_bytes(e.message.as_bytes());
    writer.end();
    writer.flush().await
}

fn unknown_statement(id: u32, function: &str) -> ServerError {
    ServerError::new(
        1243,
        "HY000",
        format!("Unknown prepared statement handler ({id}) given to {function}"),
    )
}

/// Greets the client, starts TLS when it asks, reads its login, checks it and opens
/// its database. The capabilities in use and the connection's two sides, or `None`
/// when the login was refused (answered already).
async fn handshake<H: Handler>(
    handler: &mut H,
    stream: TcpStream,
    peer: SocketAddr,
    security: &Security,
) -> io::Result<Option<(u32, Reader, Writer)>> {
    let (read, write) = stream::tcp(stream);
    let mut reader = PacketReader::new(read);
    let mut writer = PacketWriter::new(write);
    let offered = SERVER_CAPABILITIES | if security.acceptor.is_some() { CLIENT_SSL } else { 0 };
    let salt = handler.salt();
    writer.set_seq(0);
    writer.begin();
    writer.put_u8(10);
    writer.put_bytes(handler.server_version().as_bytes());
    writer.put_u8(0);
    writer.put_u32(handler.connection_id());
    writer.put_bytes(&salt[..8]);
    writer.put_u8(0);
    writer.put_u16(offered as u16);
    writer.put_u8(DEFAULT_CHARSET);
    writer.put_u16(SERVER_STATUS_AUTOCOMMIT);
    writer.put_u16((offered >> 16) as u16);
    writer.put_u8(salt.len() as u8 + 1);
    writer.put_bytes(&[0; 10]);
    writer.put_bytes(&salt[8..]);
    writer.put_u8(0);
    writer.put_bytes(NATIVE_PASSWORD);
    writer.put_u8(0);
    writer.end();
    if !exchange(&mut reader, &mut writer).await? {
        return Ok(None);
    }
    // An SSLRequest: the capabilities with CLIENT_SSL, and no more than the
    // HandshakeResponse41's fixed part; the login follows over TLS.
    let asks_tls = Cursor::new(reader.payload()).u32().is_some_and(|c| c & CLIENT_SSL != 0);
    let secure = match (&security.acceptor, asks_tls) {
        (Some(acceptor), true) => {
            let seq = writer.seq();
            let (read, unread) = reader.into_inner();
            let tcp = stream::reunite(read, unread, writer.into_inner())?;
            let tls = acceptor.accept(tcp).await?;
            let (read, write) = stream::tls(tokio_rustls::TlsStream::Server(tls));
            reader = PacketReader::new(read);
            writer = PacketWriter::new(write);
            writer.set_seq(seq);
            if !exchange(&mut reader, &mut writer).await? {
                return Ok(None);
            }
            true
        }
        _ => false,
    };
    let Some(login) = Login::parse(reader.payload(), secure) else {
        write_err(&mut writer, &ServerError::new(1043, "08S01", "Bad handshake"));
        writer.flush().await?;
        return Ok(None);
    };
    // MariaDB's answer to a plain client under require_secure_transport.
    if security.require_secure_transport && !secure {
        tracing::info!(
            "connection {}: plain login refused (requireSecureTransport)",
            handler.connection_id()
        );
        write_err(&mut writer, &access_denied(&login.user, peer, &login.auth));
        writer.flush().await?;
        return Ok(None);
    }
    let mut response = login.auth.clone();
    if !login.plugin.is_empty() && login.plugin != NATIVE_PASSWORD {
        match switch_to_native(&mut reader, &mut writer, &salt).await? {
            Some(switched) => response = switched,
            None => return Ok(None),
        }
    }
    if !handler.authenticate(&login.user, &salt, &response) {
        write_err(&mut writer, &access_denied(&login.user, peer, &response));
        writer.flush().await?;
        return Ok(None);
    }
    if let Some(db) = login.database.as_deref().filter(|d| !d.is_empty()) {
        if let Err(e) = handler.init_db(db).await {
            write_err(&mut writer, &e);
            writer.flush().await?;
            return Ok(None);
        }
    }
    handler.logged_in(login.capabilities & CLIENT_FOUND_ROWS != 0);
    write_ok(&mut writer, 0x00, &OkInfo::default(), SERVER_STATUS_AUTOCOMMIT);
    writer.flush().await?;
    Ok(Some((login.capabilities & SERVER_CAPABILITIES, reader, writer)))
}

/// Asks a client that answered with another plugin for a `mysql_native_password`
/// response (AuthSwitchRequest) and returns it; `None` when the client hung up.
async fn switch_to_native(reader: &mut Reader, writer: &mut Writer, salt: &[u8]) -> io::Result<Option<Vec<u8>>> {
    writer.begin();
    writer.put_u8(0xfe);
    writer.put_bytes(NATIVE_PASSWORD);
    writer.put_u8(0);
    writer.put_bytes(salt);
    writer.put_u8(0);
    writer.end();
    if !exchange(reader, writer).await? {
        return Ok(None);
    }
    Ok(Some(reader.payload().to_vec()))
}

/// Sends what is written and reads the client's next login packet (the answer
/// follows it in sequence); false when the client hung up.
async fn exchange(reader: &mut Reader, writer: &mut Writer) -> io::Result<bool> {
    writer.flush().await?;
    let Some(seq) = reader.next(HANDSHAKE_MAX_PACKET).await? else {
        return Ok(false);
    };
    writer.set_seq(seq.wrapping_add(1));
    Ok(true)
}

fn access_denied(user: &str, peer: SocketAddr, response: &[u8]) -> ServerError {
    let message = format!(
        "Access denied for user '{user}'@'{}' (using password: {})",
        peer.ip(),
        if response.is_empty() { "NO" } else { "YES" }
    );
    ServerError::new(1045, "28000", message)
}

/// A COM_CHANGE_USER body (after the command byte), read with the capabilities
/// the connection logged in with.
struct ChangeUser {
    user: String,
    auth: Vec<u8>,
    /// `None`: no database named.
    database: Option<String>,
    plugin: Vec<u8>,
}

impl ChangeUser {
    fn parse(body: &[u8], capabilities: u32) -> Option<ChangeUser> {
        let mut c = Cursor::new(body);
        let user = String::from_utf8_lossy(c.nul_str()).into_owned();
        let auth = if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let n = c.u8()?;
            c.take(usize::from(n))?
        } else {
            c.nul_str()
        }
        .to_vec();
        let database = String::from_utf8_lossy(c.nul_str()).into_owned();
        // Then, when there is more: the character set (ignored, as at login) and
        // the plugin the response was made with.
        let plugin = if c.u16().is_some() && capabilities & CLIENT_PLUGIN_AUTH != 0 {
            c.nul_str().to_vec()
        } else {
            Vec::new()
        };
        Some(ChangeUser {
            user,
            auth,
            database: Some(database).filter(|d| !d.is_empty()),
            plugin,
        })
    }
}

/// A HandshakeResponse41.
struct Login {
    capabilities: u32,
    user: String,
    auth: Vec<u8>,
    database: Option<String>,
    plugin: Vec<u8>,
}

impl Login {
    /// `secure`: read over TLS (the login says CLIENT_SSL then, and only then).
    fn parse(payload: &[u8], secure: bool) -> Option<Login> {
        let mut c = Cursor::new(payload);
        let capabilities = c.u32()?;
        // Protocol 4.1 only.
        if capabilities & CLIENT_PROTOCOL_41 == 0 || (capabilities & CLIENT_SSL != 0) != secure {
            return None;
        }
        c.take(4 + 1 + 23)?; // max packet size, character set, filler
        let user = String::from_utf8_lossy(c.nul_str()).into_owned();
        let auth = if capabilities & CLIENT_PLUGIN_AUTH_LENENC_DATA != 0 {
            c.lenenc_bytes()?
        } else if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let n = c.u8()?;
            c.take(usize::from(n))?
        } else {
            c.nul_str()
        }
        .to_vec();
        let database = if capabilities & CLIENT_CONNECT_WITH_DB != 0 && !c.rest.is_empty() {
            Some(String::from_utf8_lossy(c.nul_str()).into_owned())
        } else {
            None
        };
        let plugin = if capabilities & CLIENT_PLUGIN_AUTH != 0 {
            c.nul_str().to_vec()
        } else {
            Vec::new()
        };
        Some(Login {
            capabilities,
            user,
            auth,
            database,
            plugin,
        })
    }
}
