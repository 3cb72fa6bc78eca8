//! The server side of the MySQL client/server protocol, behind Tether's own
//! [`Handler`] trait: handshake v10 with `mysql_native_password` (switching clients
//! that offer another plugin), COM_QUERY, COM_INIT_DB, COM_PING, COM_QUIT,
//! COM_STMT_PREPARE/EXECUTE/SEND_LONG_DATA/CLOSE/RESET, COM_FIELD_LIST (empty),
//! COM_SET_OPTION, COM_RESET_CONNECTION, COM_CHANGE_USER, the administrative
//! COM_STATISTICS, COM_PROCESS_INFO, COM_REFRESH and COM_DEBUG ([`admin`]; never
//! COM_SHUTDOWN); text and binary result sets, OK/ERR/EOF
//! packets, with or without `CLIENT_DEPRECATE_EOF`; TLS when the config has a
//! certificate (and plain clients refused when it says `requireSecureTransport`). No
//! compression. The client side the gateway speaks to its backends is `crate::backend`.
//!
//! Limits: the login must arrive within 10 s in packets of at most 64 KiB; after it a
//! command may be `max_allowed_packet` long (error 1153 beyond, as MariaDB), a
//! client may stay idle 8 hours, and a write to the client may wait 60 s for it to
//! read.
//!
//! Everything a command answers is built in one buffer and sent with one write
//! (a long result set every 64 KiB), and result sets stream from the backend, their
//! column definitions and rows relayed as the backend encoded them: see [`Output`].

mod admin;
pub(crate) mod bytes;
mod handshake;
pub(crate) mod multi;
mod output;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::reply::{OkInfo, PreparedInfo, ServerError};
use crate::wire::packet::{Cursor, PacketReader, PacketWriter};
use crate::wire::stream::{ReadHalf, WriteHalf};
use crate::wire::value::{self as values, Params, StatementParams};
use crate::wire::*;
use handshake::{access_denied, switch_to_native, ChangeUser, NATIVE_PASSWORD};
use output::write_err;

pub use handshake::refuse;
pub use output::Output;

/// What a connection needs from the gateway, independent of the wire protocol.
pub trait Handler: Send {
    fn server_version(&self) -> String;
    fn connection_id(&self) -> u32;
    fn salt(&self) -> [u8; 20];
    /// Checks a `mysql_native_password` response.
    fn authenticate(&self, user: &str, salt: &[u8], response: &[u8]) -> bool;
    fn init_db(&mut self, db: &str) -> impl Future<Output = Result<(), ServerError>> + Send;
    /// COM_STATISTICS: the backend's one-line status text.
    fn statistics(&mut self) -> impl Future<Output = Result<Vec<u8>, ServerError>> + Send;
    /// COM_DEBUG, sent on to the backend: the warning count and status flags it
    /// answered with.
    fn debug(&mut self) -> impl Future<Output = Result<(u16, u16), ServerError>> + Send;
    /// Runs a text query, writing its answer (results, OK packets, an error) to `out`.
    /// An `Err` is a failure to write to the client and ends the connection. `sql`
    /// is in the client's character set: not always UTF-8.
    fn query(&mut self, sql: &[u8], out: &mut Output<'_>) -> impl Future<Output = io::Result<()>> + Send;
    /// How the session's sql_mode has the server read the quotes of `sql`, which
    /// decides where its statements end ([`multi::Lexing`]); `Err` when the
    /// gateway cannot know (the query may change the sql_mode for itself).
    fn lexing(&mut self, sql: &[u8]) -> impl Future<Output = Result<multi::Lexing, ServerError>> + Send;
    fn prepare(&mut self, sql: &str) -> impl Future<Output = Result<PreparedInfo, ServerError>> + Send;
    /// Executes prepared statement `id` with `params` as the client sent them.
    fn execute(
        &mut self,
        id: u32,
        params: Params<'_>,
        out: &mut Output<'_>,
    ) -> impl Future<Output = io::Result<()>> + Send;
    fn close(&mut self, id: u32) -> impl Future<Output = ()> + Send;
    /// COM_STMT_RESET was answered (`Err`: with that error) by the protocol,
    /// which holds the statements' long data: the session's next `ROW_COUNT()`
    /// follows the answer as MariaDB's does (0 after the OK, -1 after an error).
    fn stmt_reset(&mut self, answer: Result<(), &ServerError>) -> impl Future<Output = ()> + Send;
    /// COM_RESET_CONNECTION: rolls back and resets the session's backend
    /// connections and returns to the login's settings (the keyspace in use stays).
    fn reset(&mut self) -> impl Future<Output = Result<(), ServerError>> + Send;
    /// COM_CHANGE_USER authenticated a user (the session was reset first): the
    /// session goes on in `db`, or with no database named in the default keyspace,
    /// as a new connection would, and a later reset returns there.
    fn change_user(
        &mut self,
        db: Option<&str>,
        charset: Option<u16>,
    ) -> impl Future<Output = Result<(), ServerError>> + Send;
    /// The session's keyspace (opaque to the protocol), to put back with
    /// `restore_keyspace` after a failed COM_CHANGE_USER.
    fn keyspace(&self) -> Option<String>;
    fn restore_keyspace(&mut self, keyspace: Option<String>);
    /// The login succeeded (with its database selected). `found_rows`: the client
    /// asked for CLIENT_FOUND_ROWS (rows affected by an UPDATE or an ON DUPLICATE
    /// KEY UPDATE count the rows matched, not only those changed), which its backend
    /// connections must then ask for too; `cached_metadata`: it uses
    /// MARIADB_CLIENT_CACHE_METADATA, which its backend connections ask for too;
    /// `deprecate_eof`: it takes OK packets in place of EOF (CLIENT_DEPRECATE_EOF),
    /// which its backend connections ask for only then (MariaDB's EOF after column
    /// definitions carries status flags, relayed as they come); `charset`: the
    /// character set it logged in with, which its backend connections log in with
    /// (results come in it, as from the server itself).
    fn logged_in(&mut self, found_rows: bool, cached_metadata: bool, deprecate_eof: bool, charset: u8);
    /// COM_PROCESS_KILL of connection `id` (the handshake's ids): as `KILL id`.
    fn process_kill(&mut self, id: u32, out: &mut Output<'_>) -> impl Future<Output = io::Result<()>> + Send;
    /// The session ended itself (a KILL of its own connection, or its backend
    /// session ended as MariaDB ends a client's connection): the connection closes
    /// once the command's answer is sent.
    fn ended(&self) -> bool {
        false
    }
    /// Before each command: the session has already ended (its backend hung up
    /// after a `COMMIT RELEASE`): the connection closes without an answer, as
    /// MariaDB's would be closed already.
    fn hung_up(&mut self) -> bool {
        false
    }
    /// After a command: the session ended by a hang-up found while the command ran
    /// (a release whose hang-up came late): the connection closes without sending
    /// the command's answer.
    fn ended_silently(&self) -> bool {
        false
    }
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

/// Deprecated, still served by MariaDB: `KILL id` as a command.
const COM_PROCESS_KILL: u8 = 0x0c;

// COM_SET_OPTION's options.
const MYSQL_OPTION_MULTI_STATEMENTS_ON: u16 = 0;
const MYSQL_OPTION_MULTI_STATEMENTS_OFF: u16 = 1;

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
    let login = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        handshake::handshake(&mut handler, stream, peer, security),
    )
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no login within 10 s"))??;
    let Some(handshake::LoggedIn {
        capabilities,
        cached_metadata,
        mut reader,
        mut writer,
    }) = login
    else {
        return Ok(());
    };
    let deprecate_eof = capabilities & CLIENT_DEPRECATE_EOF != 0;
    let multi_results = capabilities & CLIENT_MULTI_RESULTS != 0;
    // COM_SET_OPTION switches this; COM_RESET_CONNECTION restores the login's.
    let mut multi_statements = capabilities & CLIENT_MULTI_STATEMENTS != 0;
    let mut status = SERVER_STATUS_AUTOCOMMIT;
    let mut statements: HashMap<u32, StatementParams> = HashMap::new();
    let mut failed_changes = 0;
    // One idle deadline for the whole connection, armed once and moved on only when
    // it fires early: a timer armed per command would wake the runtime's timer
    // driver each time (its wheel is empty between commands).
    let mut idle = IdleTimer::new();
    loop {
        let next = idle.run(reader.next(limits.max_allowed_packet)).await;
        let Some(next) = next else {
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
        if handler.hung_up() {
            return Ok(());
        }
        let mut out = Output {
            w: &mut writer,
            deprecate_eof,
            multi_results,
            binary: false,
            cached_metadata,
            status: &mut status,
            types: Vec::new(),
            errors: 0,
        };
        let hidden = matches!(command, COM_QUERY | COM_STMT_PREPARE)
            .then(|| multi::hidden_by_comments(body))
            .flatten();
        match command {
            COM_QUIT => return Ok(()),
            COM_QUERY | COM_STMT_PREPARE if hidden.is_some() => {
                out.error(hidden.as_ref().expect("matched"));
            }
            COM_QUERY if multi_statements => handler.query(body, &mut out).await?,
            // One statement only: a second is refused, and what follows the first
            // `;` (comments) is not sent, or the backend, which runs several,
            // would answer it as another (empty) statement.
            COM_QUERY => match handler
                .lexing(body)
                .await
                .map(|lexing| multi::split_bytes(body, lexing))
            {
                Err(e) => out.error(&e),
                Ok((_, Some(second))) => out.error(&multi::syntax_error(body, second)),
                Ok((end, None)) => handler.query(&body[..end], &mut out).await?,
            },
            COM_INIT_DB => match std::str::from_utf8(body) {
                Ok(db) => match handler.init_db(db).await {
                    Ok(()) => out.ok(&OkInfo::default(), false),
                    Err(e) => out.error(&e),
                },
                Err(_) => out.error(&not_utf8("database name")),
            },
            COM_PING => out.ok(&OkInfo::default(), false),
            COM_STATISTICS => match handler.statistics().await {
                Ok(text) => out.raw(&text),
                Err(e) => out.error(&e),
            },
            COM_DEBUG => match handler.debug().await {
                Ok((warnings, status)) => {
                    out.set_status(status);
                    out.end_rows(warnings, false);
                }
                Err(e) => out.error(&e),
            },
            COM_PROCESS_INFO => admin::process_info(&mut handler, &mut out).await?,
            COM_REFRESH => admin::refresh(&mut handler, body.first().copied().unwrap_or(0), &mut out).await?,
            COM_PROCESS_KILL => match Cursor::new(body).u32() {
                Some(id) => handler.process_kill(id, &mut out).await?,
                None => out.error(&ServerError::new(1047, "08S01", "Unknown command")),
            },
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
                // Flags (cursor type) and iteration count. No cursors are offered:
                // the backend gets no cursor flag and the client the whole result,
                // which a client asking for a cursor reads as such (no
                // SERVER_STATUS_CURSOR_EXISTS in its status).
                let head = c.u8().and(c.u32());
                match id.zip(head).and_then(|(id, _)| Some((id, statements.get_mut(&id)?))) {
                    None => out.error(&unknown_statement(id.unwrap_or(0), "mysqld_stmt_execute")),
                    Some((_, stmt)) if stmt.long_data_error.is_some() => {
                        // A failed COM_STMT_SEND_LONG_DATA: every execute fails,
                        // before its parameters are read, until COM_STMT_RESET
                        // (MariaDB's STMT_ERROR state).
                        let (code, message) = stmt.long_data_error.unwrap_or(values::LONG_DATA_WRONG_PARAMETER);
                        out.error(&ServerError::new(code, "HY000", message));
                    }
                    Some((id, stmt)) => match values::read_params(c.rest, stmt) {
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
                        stmt.reset();
                        out.ok(&OkInfo::default(), false);
                        handler.stmt_reset(Ok(())).await;
                    }
                    None => {
                        let e = unknown_statement(id, "mysqld_stmt_reset");
                        out.error(&e);
                        handler.stmt_reset(Err(&e)).await;
                    }
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
                                Ok(()) => handler.change_user(change.database.as_deref(), change.charset).await,
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
        if handler.ended_silently() {
            return Ok(());
        }
        writer.flush().await?;
        if handler.ended() {
            return Ok(());
        }
    }
}

/// The client's idle limit: waiting for a command ends [`IDLE_TIMEOUT`] after the
/// wait began, with one timer per connection that is re-armed only when it fires.
struct IdleTimer {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl IdleTimer {
    fn new() -> Self {
        IdleTimer {
            sleep: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
        }
    }

    /// Runs `wait` (reading the next command) to its end, or `None` when the client
    /// stayed silent for [`IDLE_TIMEOUT`] since the call.
    async fn run<F: Future>(&mut self, wait: F) -> Option<F::Output> {
        let deadline = tokio::time::Instant::now() + IDLE_TIMEOUT;
        let mut wait = std::pin::pin!(wait);
        loop {
            tokio::select! {
                biased;
                done = &mut wait => return Some(done),
                () = self.sleep.as_mut() => {
                    // Armed for an earlier wait: on to this one's deadline.
                    if tokio::time::Instant::now() >= deadline {
                        return None;
                    }
                    self.sleep.as_mut().reset(deadline);
                }
            }
        }
    }
}

/// MariaDB's error for a command longer than `max_allowed_packet`.
fn packet_too_large() -> ServerError {
    ServerError::new(1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes")
}

fn unknown_statement(id: u32, function: &str) -> ServerError {
    ServerError::new(
        1243,
        "HY000",
        format!("Unknown prepared statement handler ({id}) given to {function}"),
    )
}
