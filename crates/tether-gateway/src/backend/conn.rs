//! The client side of the protocol: the gateway's own connection to a MariaDB/MySQL
//! backend. A command's answer is read as a sequence of [`Event`]s over the
//! backend's packets, so a forwarded result set is relayed packet by packet (column
//! definitions and rows are never decoded); the gateway's own reads decode text rows
//! into values.
//!
//! Login: handshake v10 with `mysql_native_password` or `caching_sha2_password`
//! (its full authentication only over a Unix socket or TLS, where the password may go
//! in clear; no RSA key exchange). TLS as the backend URL's `ssl-mode` says (see
//! `tether_connect::tls`). The connection asks
//! for multi-statements and multi-results, `CLIENT_DEPRECATE_EOF` when the server
//! has it, and `CLIENT_FOUND_ROWS` only for a client that asked for it.

use std::io;

use crate::wire::value::Value;
use sha2::{Digest, Sha256};
use tether_connect::{Engine, ServerUrl, TlsMode};
use tokio::net::{TcpStream, UnixStream};

use crate::reply::{ColumnDef, OkInfo, ServerError};
use crate::wire::packet::{Cursor, PacketReader, PacketWriter};
use crate::wire::stream::{self, ReadHalf, WriteHalf};
use crate::wire::value;
use crate::wire::*;

/// The longest packet read from a backend (MariaDB's largest `max_allowed_packet`).
const MAX_PACKET: usize = 1 << 30;

/// What the gateway asks a backend for (only what the backend also offers is
/// used): what it offers its own clients, without connection attributes; the
/// database is asked for only when the URL names one, found rows only for a client
/// that asked for them.
const CLIENT_CAPABILITIES: u32 =
    SERVER_CAPABILITIES & !(CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS | CLIENT_FOUND_ROWS);

/// Why a backend command failed: the backend answered with an error (the
/// connection is fine), or the connection is unusable.
#[derive(Debug)]
pub enum ConnError {
    Server(ServerError),
    Lost(String),
}

impl From<io::Error> for ConnError {
    fn from(e: io::Error) -> Self {
        ConnError::Lost(e.to_string())
    }
}

fn malformed(what: &str) -> ConnError {
    ConnError::Lost(format!("malformed {what} from the backend"))
}

/// One step of a command's answer. After `Ok` with `more == false`, `End` with
/// `more == false` or `Error`, the next event is `Done`.
pub enum Event<'a> {
    /// A statement without a result set.
    Ok {
        info: OkInfo,
        status: u16,
        more: bool,
    },
    /// A result set begins with this many columns.
    Columns(u64),
    /// One column definition, as the backend sent it.
    Column(&'a [u8]),
    /// One row, as the backend sent it (text or binary protocol).
    Row(&'a [u8]),
    /// The end of a result set.
    End {
        warnings: u16,
        status: u16,
        more: bool,
    },
    Error(ServerError),
    /// The answer is complete.
    Done,
}

/// Where the answer being read is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// No answer pending.
    Idle,
    /// Expecting an OK, an error or a column count.
    First,
    /// This many column definitions to come.
    Columns(u64),
    Rows,
}

/// What the backend's greeting says.
struct Greeting {
    /// Its sequence number.
    seq: u8,
    /// The capabilities it offers.
    offered: u32,
    salt: Vec<u8>,
    plugin: String,
}

impl Greeting {
    /// The capabilities to log in with: what the gateway wants (the database only
    /// when the URL names one, found rows only for a client that asked) and the
    /// backend offers.
    fn caps(&self, server: &ServerUrl, found_rows: bool) -> u32 {
        let mut wanted = CLIENT_CAPABILITIES;
        if server.database.is_some() {
            wanted |= CLIENT_CONNECT_WITH_DB;
        }
        if found_rows {
            wanted |= CLIENT_FOUND_ROWS;
        }
        wanted & self.offered
    }
}

/// A prepared statement on the backend.
pub struct Prepared {
    pub id: u32,
    pub params: Vec<ColumnDef>,
    pub columns: Vec<ColumnDef>,
}

pub struct BackendConn {
    reader: PacketReader<ReadHalf>,
    writer: PacketWriter<WriteHalf>,
    id: u32,
    deprecate_eof: bool,
    status: u16,
    state: State,
    /// The sequence number the next packet of the answer must carry.
    next_seq: u8,
    /// The backend said it is closing the connection (an error such as 1153 or
    /// 1927 after which the server hangs up): it must not be used again.
    closing: bool,
}

/// Errors after which MariaDB/MySQL closes the connection: packet too large,
/// connection killed, network read/write errors, aborted connection, shutdown,
/// MySQL's idle disconnect.
const CLOSING_ERRORS: &[u16] = &[1053, 1153, 1158, 1159, 1160, 1161, 1184, 1927, 4031];

/// Errors that roll back the whole transaction (a deadlock's victim): the session
/// is no longer in one, though an ERR packet carries no status to say so.
const ROLLBACK_ERRORS: &[u16] = &[1213];

/// Parameters at least this long go as COM_STMT_SEND_LONG_DATA, in pieces of this
/// size, so an execute stays far under any backend's `max_allowed_packet` (as
/// clients do for large values).
const LONG_DATA_PIECE: usize = 1 << 20;

impl BackendConn {
    /// Connects and logs in, with CLIENT_FOUND_ROWS when `found_rows`, over TLS as
    /// the URL's `ssl-mode` says (never over a Unix socket).
    pub async fn connect(server: &ServerUrl, found_rows: bool) -> Result<BackendConn, ConnError> {
        let (read, write, socket) = match &server.socket {
            Some(path) => {
                let (r, w) = UnixStream::connect(path).await?.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w), true)
            }
            None => {
                let stream = TcpStream::connect((server.host.as_str(), server.port)).await?;
                stream.set_nodelay(true)?;
                let (r, w) = stream::tcp(stream);
                (r, w, false)
            }
        };
        let mut conn = BackendConn::new(read, write);
        let greeting = conn.greeting().await?;
        let tls = &server.tls;
        let secure = !socket && tls.mode != TlsMode::Disable && greeting.offered & CLIENT_SSL != 0;
        if !socket && !secure && !matches!(tls.mode, TlsMode::Disable | TlsMode::Prefer) {
            return Err(ConnError::Lost(tether_connect::tls::not_supported(tls, Engine::Mysql)));
        }
        if secure {
            conn = conn.start_tls(server, &greeting).await?;
        }
        // The password may go in clear over a Unix socket or TLS.
        conn.login(server, greeting, secure, socket, found_rows).await?;
        Ok(conn)
    }

    fn new(read: ReadHalf, write: WriteHalf) -> BackendConn {
        BackendConn {
            reader: PacketReader::new(read),
            writer: PacketWriter::new(write),
            id: 0,
            deprecate_eof: false,
            status: 0,
            state: State::Idle,
            next_seq: 0,
            closing: false,
        }
    }

    /// Sends the TLS request (SSLRequest) and returns the connection over TLS.
    async fn start_tls(mut self, server: &ServerUrl, greeting: &Greeting) -> Result<BackendConn, ConnError> {
        let tls = &server.tls;
        let config = tether_connect::tls::client_config(tls, Engine::Mysql).map_err(ConnError::Lost)?;
        let name = rustls::pki_types::ServerName::try_from(server.host.clone())
            .map_err(|e| ConnError::Lost(format!("TLS: `{}` is not a host name: {e}", server.host)))?;
        let w = &mut self.writer;
        w.set_seq(greeting.seq.wrapping_add(1));
        w.begin();
        w.put_u32(greeting.caps(server, false) | CLIENT_SSL);
        w.put_u32(MAX_PACKET as u32);
        w.put_u8(DEFAULT_CHARSET);
        w.put_zeros(23);
        w.end();
        w.flush().await?;
        let (read, unread) = self.reader.into_inner();
        let stream = stream::reunite(read, unread, self.writer.into_inner())?;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tls_stream = connector.connect(name, stream).await.map_err(|e| {
            ConnError::Lost(match tether_connect::tls::find_rustls_error(&e) {
                Some(r) => tether_connect::tls::explain(r, tls, Engine::Mysql, &server.host),
                None => format!("TLS handshake failed: {e}"),
            })
        })?;
        let (read, write) = stream::tls(tokio_rustls::TlsStream::Client(tls_stream));
        let mut conn = BackendConn::new(read, write);
        conn.id = self.id;
        conn.next_seq = greeting.seq.wrapping_add(2);
        Ok(conn)
    }

    /// Reads the next packet of an answer, which must carry the next sequence
    /// number (a stray or stale packet is never taken for an answer).
    async fn read_packet(&mut self) -> Result<u8, ConnError> {
        match self.reader.next(MAX_PACKET).await {
            Ok(Some(seq)) if self.reader.first_seq() == self.next_seq => {
                self.next_seq = seq.wrapping_add(1);
                Ok(seq)
            }
            Ok(Some(_)) => Err(ConnError::Lost(format!(
                "packets out of order from the backend (expected number {}, got {})",
                self.next_seq,
                self.reader.first_seq()
            ))),
            Ok(None) => Err(ConnError::Lost("the backend closed the connection".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// True once the backend said it closes the connection.
    pub fn closing(&self) -> bool {
        self.closing
    }

    /// Reads the backend's greeting (handshake v10).
    async fn greeting(&mut self) -> Result<Greeting, ConnError> {
        let seq = self.read_packet().await?;
        let p = self.reader.payload();
        if p.first() == Some(&0xff) {
            return Err(ConnError::Server(parse_err(p)));
        }
        let mut c = Cursor::new(p);
        let bad = || malformed("handshake");
        if c.u8().ok_or_else(bad)? != 10 {
            return Err(ConnError::Lost("the backend speaks an unknown protocol version".into()));
        }
        c.nul_str();
        self.id = c.u32().ok_or_else(bad)?;
        let mut salt = c.take(8).ok_or_else(bad)?.to_vec();
        c.u8();
        let low = c.u16().ok_or_else(bad)?;
        c.u8();
        c.u16();
        let high = c.u16().unwrap_or(0);
        let offered = u32::from(low) | u32::from(high) << 16;
        let salt_len = usize::from(c.u8().unwrap_or(0));
        c.take(10);
        if offered & CLIENT_SECURE_CONNECTION != 0 {
            let n = salt_len.saturating_sub(9).max(12);
            salt.extend_from_slice(c.take(n).unwrap_or(&[]));
            c.u8();
        }
        let plugin = String::from_utf8_lossy(c.nul_str()).into_owned();
        if offered & CLIENT_PROTOCOL_41 == 0 || offered & CLIENT_SECURE_CONNECTION == 0 {
            return Err(ConnError::Lost("the backend is too old (no protocol 4.1 login)".into()));
        }
        Ok(Greeting {
            seq,
            offered,
            salt,
            plugin,
        })
    }

    /// Answers the greeting (after the TLS request and handshake when `secure`) and
    /// completes the authentication. The password may go in clear over a Unix
    /// socket or TLS (caching_sha2_password's full authentication).
    async fn login(
        &mut self,
        server: &ServerUrl,
        greeting: Greeting,
        secure: bool,
        socket: bool,
        found_rows: bool,
    ) -> Result<(), ConnError> {
        let caps = greeting.caps(server, found_rows) | if secure { CLIENT_SSL } else { 0 };
        let Greeting { salt, mut plugin, .. } = greeting;
        if plugin.is_empty() {
            plugin = "mysql_native_password".into();
        }
        let clear_ok = socket || secure;
        self.deprecate_eof = caps & CLIENT_DEPRECATE_EOF != 0;
        let password = server.password.as_deref().unwrap_or("");
        let auth = auth_response(&plugin, password, &salt, clear_ok)?;
        // After a TLS request the answer is one number further.
        let seq = greeting.seq.wrapping_add(u8::from(secure));

        let w = &mut self.writer;
        w.set_seq(seq.wrapping_add(1));
        self.next_seq = seq.wrapping_add(2);
        w.begin();
        w.put_u32(caps);
        w.put_u32(MAX_PACKET as u32);
        w.put_u8(DEFAULT_CHARSET);
        w.put_zeros(23);
        w.put_bytes(server.user.as_bytes());
        w.put_u8(0);
        if caps & CLIENT_PLUGIN_AUTH_LENENC_DATA != 0 {
            w.put_lenenc_bytes(&auth);
        } else {
            w.put_u8(auth.len() as u8);
            w.put_bytes(&auth);
        }
        if let Some(db) = server
            .database
            .as_deref()
            .filter(|_| caps & CLIENT_CONNECT_WITH_DB != 0)
        {
            w.put_bytes(db.as_bytes());
            w.put_u8(0);
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            w.put_bytes(plugin.as_bytes());
            w.put_u8(0);
        }
        w.end();
        w.flush().await?;

        loop {
            let seq = self.read_packet().await?;
            let p = self.reader.payload();
            let answer = match p.first() {
                Some(0x00) => {
                    let (_, status) = parse_ok(p).ok_or_else(|| malformed("OK packet"))?;
                    self.status = status;
                    return Ok(());
                }
                Some(0xff) => return Err(ConnError::Server(parse_err(p))),
                // Switch to another plugin, with a new salt.
                Some(0xfe) => {
                    let mut c = Cursor::new(&p[1..]);
                    plugin = String::from_utf8_lossy(c.nul_str()).into_owned();
                    let salt = c.rest.strip_suffix(&[0]).unwrap_or(c.rest).to_vec();
                    auth_response(&plugin, password, &salt, clear_ok)?
                }
                // caching_sha2_password: 3 = the cached fast path worked (OK
                // follows), 4 = full authentication, the password itself.
                Some(0x01) if p.get(1) == Some(&3) => continue,
                Some(0x01) if p.get(1) == Some(&4) && clear_ok => {
                    let mut clear = password.as_bytes().to_vec();
                    clear.push(0);
                    clear
                }
                Some(0x01) if p.get(1) == Some(&4) => {
                    return Err(ConnError::Lost(
                        "the backend asks for caching_sha2_password's full authentication, which needs \
                         TLS over TCP: use TLS (ssl-mode=PREFERRED or stricter, the default), connect \
                         through the Unix socket (?socket=...), or log in once with \
                         the mysql client so the server caches the password, or use \
                         mysql_native_password for this user"
                            .into(),
                    ))
                }
                _ => return Err(malformed("login answer")),
            };
            let w = &mut self.writer;
            w.set_seq(seq.wrapping_add(1));
            self.next_seq = seq.wrapping_add(2);
            w.begin();
            w.put_bytes(&answer);
            w.end();
            w.flush().await?;
        }
    }

    /// The backend's id for this connection (for `KILL`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The status flags of the last OK or end of result read (autocommit, in
    /// transaction).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Starts a command packet; what follows goes in with `self.writer`.
    async fn begin_command(&mut self, command: u8) -> Result<(), ConnError> {
        if self.state != State::Idle {
            self.drain().await?;
        }
        self.writer.set_seq(0);
        self.writer.begin();
        self.writer.put_u8(command);
        Ok(())
    }

    async fn send(&mut self, answered: bool) -> Result<(), ConnError> {
        self.writer.end();
        // The answer continues the numbering (a command of 16 MiB or more takes
        // several packets).
        self.next_seq = self.writer.seq();
        self.state = if answered { State::First } else { State::Idle };
        if let Err(e) = self.writer.flush().await {
            // A server that refuses a command midway (1153: over its
            // max_allowed_packet) answers and hangs up before reading the rest, so
            // the write fails while its answer waits unread in our socket. Read
            // the answer then: the client gets the server's error, not ours. The
            // connection is not used again either way.
            self.closing = true;
            if answered && matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe) {
                return Ok(());
            }
            self.state = State::Idle;
            return Err(e.into());
        }
        Ok(())
    }

    /// Sends a text query; its answer follows through [`Self::event`].
    pub async fn query(&mut self, sql: &str) -> Result<(), ConnError> {
        self.begin_command(COM_QUERY).await?;
        self.writer.put_bytes(sql.as_bytes());
        self.send(true).await
    }

    /// Executes a prepared statement with `params` (their types sent every time;
    /// long values first as long data); its answer follows through [`Self::event`].
    pub async fn execute(&mut self, id: u32, params: &[Value]) -> Result<(), ConnError> {
        let long = |v: &Value| matches!(v, Value::Bytes(b) if b.len() >= LONG_DATA_PIECE);
        for (i, v) in params.iter().enumerate() {
            let Value::Bytes(data) = v else { continue };
            if !long(v) {
                continue;
            }
            for piece in data.chunks(LONG_DATA_PIECE) {
                self.begin_command(COM_STMT_SEND_LONG_DATA).await?;
                self.writer.put_u32(id);
                self.writer.put_u16(i as u16);
                self.writer.put_bytes(piece);
                self.send(false).await?;
            }
        }
        self.begin_command(COM_STMT_EXECUTE).await?;
        let w = &mut self.writer;
        w.put_u32(id);
        w.put_u8(0); // no cursor
        w.put_u32(1); // iteration count
        if !params.is_empty() {
            let bitmap = w.put_zeros(params.len().div_ceil(8));
            for (i, v) in params.iter().enumerate() {
                if matches!(v, Value::Null) {
                    w.set_bit(bitmap, i);
                }
            }
            w.put_u8(1); // types follow
            for v in params {
                let (t, unsigned) = value::param_type(v);
                w.put_u8(t);
                w.put_u8(if unsigned { 0x80 } else { 0 });
            }
            for v in params.iter().filter(|v| !long(v)) {
                value::put_param(w, v);
            }
        }
        self.send(true).await
    }

    /// Prepares a statement.
    pub async fn prepare(&mut self, sql: &str) -> Result<Prepared, ConnError> {
        self.begin_command(COM_STMT_PREPARE).await?;
        self.writer.put_bytes(sql.as_bytes());
        self.send(false).await?;
        self.read_packet().await?;
        let p = self.reader.payload();
        if p.first() == Some(&0xff) {
            let e = parse_err(p);
            self.closing |= CLOSING_ERRORS.contains(&e.code);
            return Err(ConnError::Server(e));
        }
        let mut c = Cursor::new(p);
        let bad = || malformed("prepare answer");
        c.u8();
        let id = c.u32().ok_or_else(bad)?;
        let columns = c.u16().ok_or_else(bad)?;
        let params = c.u16().ok_or_else(bad)?;
        let mut lists = [Vec::new(), Vec::new()];
        for (list, n) in lists.iter_mut().zip([params, columns]) {
            for _ in 0..n {
                self.read_packet().await?;
                list.push(column_def(self.reader.payload()).ok_or_else(|| malformed("column definition"))?);
            }
            if n > 0 && !self.deprecate_eof {
                self.read_packet().await?;
            }
        }
        let [params, columns] = lists;
        Ok(Prepared { id, params, columns })
    }

    /// Closes a prepared statement (no answer).
    pub async fn close_statement(&mut self, id: u32) -> Result<(), ConnError> {
        self.begin_command(COM_STMT_CLOSE).await?;
        self.writer.put_u32(id);
        self.send(false).await
    }

    /// COM_RESET_CONNECTION: rolls back, drops temporary tables, prepared
    /// statements and session variables.
    pub async fn reset(&mut self) -> Result<(), ConnError> {
        self.begin_command(COM_RESET_CONNECTION).await?;
        self.send(true).await?;
        loop {
            match self.event().await? {
                Event::Error(e) => return Err(ConnError::Server(e)),
                Event::Done => return Ok(()),
                _ => {}
            }
        }
    }

    /// Says goodbye (the server rolls back what is uncommitted).
    pub async fn quit(mut self) {
        if self.begin_command(COM_QUIT).await.is_ok() {
            let _ = self.send(false).await;
        }
    }

    /// Reads the rest of the pending answer.
    async fn drain(&mut self) -> Result<(), ConnError> {
        while !matches!(self.event().await?, Event::Done) {}
        Ok(())
    }

    /// The next step of the pending answer.
    pub async fn event(&mut self) -> Result<Event<'_>, ConnError> {
        if self.state == State::Idle {
            return Ok(Event::Done);
        }
        if self.state == State::Columns(0) {
            // Without CLIENT_DEPRECATE_EOF an EOF packet ends the definitions.
            self.read_answer().await?;
            if self.reader.payload().first() != Some(&0xfe) {
                self.state = State::Idle;
                return Err(malformed("end of column definitions"));
            }
            self.state = State::Rows;
        }
        self.read_answer().await?;
        let BackendConn {
            reader,
            state,
            status,
            deprecate_eof,
            closing,
            ..
        } = self;
        let event = decode(state, status, *deprecate_eof, reader.payload());
        if let Ok(Event::Error(e)) = &event {
            *closing |= CLOSING_ERRORS.contains(&e.code);
            if ROLLBACK_ERRORS.contains(&e.code) {
                *status &= !SERVER_STATUS_IN_TRANS;
            }
        }
        event
    }

    /// Reads a packet of the pending answer; a failure ends it.
    async fn read_answer(&mut self) -> Result<(), ConnError> {
        if let Err(e) = self.read_packet().await {
            self.state = State::Idle;
            return Err(e);
        }
        Ok(())
    }
}

/// What packet `p` of an answer is, in `state`; moves `state` on and records the
/// status flags of OK and end-of-result packets. A malformed packet ends the
/// answer.
fn decode<'p>(state: &mut State, status: &mut u16, deprecate_eof: bool, p: &'p [u8]) -> Result<Event<'p>, ConnError> {
    let head = p.first().copied();
    let fail = |state: &mut State, what: &str| {
        *state = State::Idle;
        Err(malformed(what))
    };
    match *state {
        State::Idle => Ok(Event::Done),
        State::First => match head {
            Some(0x00) => {
                let Some((info, flags)) = parse_ok(p) else {
                    return fail(state, "OK packet");
                };
                let more = finish(state, status, flags);
                Ok(Event::Ok {
                    info,
                    status: flags,
                    more,
                })
            }
            Some(0xff) => {
                *state = State::Idle;
                Ok(Event::Error(parse_err(p)))
            }
            Some(0xfb) => fail(state, "answer (LOCAL INFILE is not offered)"),
            _ => match Cursor::new(p).lenenc_int() {
                Some(n) if n > 0 => {
                    *state = State::Columns(n);
                    Ok(Event::Columns(n))
                }
                _ => fail(state, "column count"),
            },
        },
        State::Columns(n) => {
            *state = match n {
                1 if deprecate_eof => State::Rows,
                1 => State::Columns(0),
                _ => State::Columns(n.saturating_sub(1)),
            };
            Ok(Event::Column(p))
        }
        State::Rows => match head {
            Some(0xfe) if (deprecate_eof && p.len() < 0xff_ffff) || p.len() < 9 => {
                let end = if deprecate_eof {
                    parse_ok(p).map(|(info, flags)| (info.warnings, flags))
                } else {
                    let mut c = Cursor::new(&p[1..]);
                    c.u16().zip(c.u16())
                };
                let Some((warnings, flags)) = end else {
                    return fail(state, "end of result set");
                };
                let more = finish(state, status, flags);
                Ok(Event::End {
                    warnings,
                    status: flags,
                    more,
                })
            }
            Some(0xff) => {
                *state = State::Idle;
                Ok(Event::Error(parse_err(p)))
            }
            _ => Ok(Event::Row(p)),
        },
    }
}

/// The end of one result, with status `flags`: recorded; another result follows
/// when they say "more results".
fn finish(state: &mut State, status: &mut u16, flags: u16) -> bool {
    *status = flags;
    let more = flags & SERVER_MORE_RESULTS_EXISTS != 0;
    *state = if more { State::First } else { State::Idle };
    more
}

/// The answer to a login with `plugin`.
fn auth_response(plugin: &str, password: &str, salt: &[u8], clear_ok: bool) -> Result<Vec<u8>, ConnError> {
    let salt = salt.get(..20).unwrap_or(salt);
    match plugin {
        _ if password.is_empty() => Ok(Vec::new()),
        "mysql_native_password" => Ok(crate::auth::scramble(password, salt)),
        "caching_sha2_password" => {
            let stage1 = Sha256::digest(password.as_bytes());
            let stage2 = Sha256::digest(stage1);
            let mut h = Sha256::new();
            h.update(stage2);
            h.update(salt);
            let mix = h.finalize();
            Ok(stage1.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect())
        }
        "mysql_clear_password" if clear_ok => {
            let mut clear = password.as_bytes().to_vec();
            clear.push(0);
            Ok(clear)
        }
        other => Err(ConnError::Lost(format!(
            "the backend asks for authentication plugin `{other}`, which the gateway does not \
             support over this connection (use mysql_native_password for the gateway's backend user)"
        ))),
    }
}

/// An OK packet (header 0x00, or 0xfe ending a result set): what it says and its
/// status flags.
fn parse_ok(p: &[u8]) -> Option<(OkInfo, u16)> {
    let mut c = Cursor::new(p.get(1..)?);
    let affected_rows = c.lenenc_int()?;
    let last_insert_id = c.lenenc_int()?;
    let status = c.u16()?;
    let warnings = c.u16().unwrap_or(0);
    // Without CLIENT_SESSION_TRACK the info string comes length-encoded.
    let info = match c.rest {
        [] => String::new(),
        rest => String::from_utf8_lossy(c.lenenc_bytes().unwrap_or(rest)).into_owned(),
    };
    Some((
        OkInfo {
            affected_rows,
            last_insert_id,
            warnings,
            info,
        },
        status,
    ))
}

/// An ERR packet: code, SQL state, message.
fn parse_err(p: &[u8]) -> ServerError {
    let mut c = Cursor::new(p.get(1..).unwrap_or(&[]));
    let code = c.u16().unwrap_or(1105);
    let state = match c.rest.first() {
        Some(b'#') => {
            c.u8();
            String::from_utf8_lossy(c.take(5).unwrap_or(b"HY000")).into_owned()
        }
        _ => "HY000".to_string(),
    };
    ServerError {
        code,
        state,
        message: String::from_utf8_lossy(c.rest).into_owned(),
    }
}

/// A column definition packet.
pub fn column_def(p: &[u8]) -> Option<ColumnDef> {
    let mut c = Cursor::new(p);
    let mut text = || c_text(&mut c);
    let _catalog = text()?;
    let schema = text()?;
    let table = text()?;
    let org_table = text()?;
    let name = text()?;
    let org_name = text()?;
    c.lenenc_int()?;
    Some(ColumnDef {
        schema,
        table,
        org_table,
        name,
        org_name,
        charset: c.u16()?,
        length: c.u32()?,
        column_type: c.u8()?,
        flags: c.u16()?,
        decimals: c.u8()?,
    })
}

fn c_text(c: &mut Cursor<'_>) -> Option<String> {
    c.lenenc_bytes().map(|b| String::from_utf8_lossy(b).into_owned())
}

/// A text-protocol row of `n` columns: bytes or NULL each.
pub fn text_row(p: &[u8], n: usize) -> Option<Vec<Value>> {
    let mut c = Cursor::new(p);
    let mut row = Vec::with_capacity(n);
    for _ in 0..n {
        if c.rest.first() == Some(&0xfb) {
            c.u8();
            row.push(Value::Null);
        } else {
            row.push(Value::Bytes(c.lenenc_bytes()?.to_vec()));
        }
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_answer_packets() {
        let (info, status) = parse_ok(b"\x00\x02\x07\x02\x00\x01\x00\x0fRows matched: 2").expect("ok");
        assert_eq!(
            (info.affected_rows, info.last_insert_id, info.warnings, status),
            (2, 7, 1, 2)
        );
        assert_eq!(info.info, "Rows matched: 2");
        let e = parse_err(b"\xff\x52\x04#23000Cannot delete");
        assert_eq!(
            (e.code, e.state.as_str(), e.message.as_str()),
            (1106, "23000", "Cannot delete")
        );
        assert_eq!(
            text_row(b"\x011\xfb\x02ab", 3),
            Some(vec![
                Value::Bytes(b"1".to_vec()),
                Value::Null,
                Value::Bytes(b"ab".to_vec())
            ])
        );
        assert_eq!(text_row(b"\x05ab", 1), None);
        let col =
            column_def(b"\x03def\x04shop\x01t\x01t\x02id\x02id\x0c\x3f\x00\x0b\x00\x00\x00\x03\x03\x42\x00\x00\x00")
                .expect("column");
        assert_eq!(
            (col.schema.as_str(), col.name.as_str(), col.column_type, col.flags),
            ("shop", "id", 3, 0x4203)
        );
    }
}
