//! The gateway's own connection to a MariaDB/MySQL backend ([`BackendConn`]): the
//! commands it sends (query, prepare, execute with long data, close, reset, quit)
//! and the reading of their answers as [`Event`]s, so a forwarded result set is
//! relayed packet by packet (column definitions and rows are never decoded). It
//! asks for multi-statements and multi-results, `CLIENT_DEPRECATE_EOF` when the
//! server has it, and `CLIENT_FOUND_ROWS` only for a client that asked for it.

use std::io;

use super::answer::{column_def, decode, malformed, parse_err, parse_ok, ConnError, Event, State};
use crate::reply::ColumnDef;
use crate::wire::packet::{Cursor, PacketReader, PacketWriter};
use crate::wire::stream::{ReadHalf, WriteHalf};
use crate::wire::value::{self, RawParams, Value};
use crate::wire::*;

/// The longest packet read from a backend (MariaDB's largest `max_allowed_packet`).
pub(super) const MAX_PACKET: usize = 1 << 30;

/// What the gateway asks a backend for (only what the backend also offers is
/// used): what it offers its own clients, without connection attributes; the
/// database is asked for only when the URL names one, found rows only for a client
/// that asked for them.
pub(super) const CLIENT_CAPABILITIES: u32 =
    SERVER_CAPABILITIES & !(CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS | CLIENT_FOUND_ROWS);

/// A prepared statement on the backend.
pub(super) struct Prepared {
    pub id: u32,
    pub params: Vec<ColumnDef>,
    pub columns: Vec<ColumnDef>,
}

pub(super) struct BackendConn {
    pub(super) reader: PacketReader<ReadHalf>,
    pub(super) writer: PacketWriter<WriteHalf>,
    pub(super) id: u32,
    pub(super) deprecate_eof: bool,
    pub(super) status: u16,
    pub(super) state: State,
    /// The sequence number the next packet of the answer must carry.
    pub(super) next_seq: u8,
    /// The backend said it is closing the connection (an error such as 1153 or
    /// 1927 after which the server hangs up): it must not be used again.
    pub(super) closing: bool,
    /// The closing error was MySQL's idle disconnect (4031): this backend
    /// connection sat idle, which the client need not have (it may have been busy
    /// on another keyspace's backend), so the client is not ended for it.
    pub(super) idle_closed: bool,
    /// The last command sent may have ended the session on success: a text with
    /// COMMIT or ROLLBACK in it (`COMMIT RELEASE`, or a bare COMMIT under
    /// `completion_type = RELEASE`, after whose OK the server hangs up).
    pub(super) may_release: bool,
    /// The command before this one may have released the session, and the backend
    /// had not hung up yet when this one began: losing the connection now is that
    /// release arriving late (a loaded server), not a fault.
    pub(super) after_release: bool,
    /// Whether the session's sql_mode has ANSI_QUOTES, as last read (`None`:
    /// not read, or a command since may have changed it: [`may_change_sql_mode`]).
    pub(super) ansi_quotes: Option<bool>,
    /// The session's `character_set_client` and `character_set_connection`, as
    /// last read (`None`: not read, or a command since may have changed them:
    /// [`may_change_charset`]).
    pub(super) charsets: Option<(String, String)>,
    /// The session's [`super::ParamCollations`], read while `charsets` held
    /// (cleared when they are read again).
    pub(super) param_collations: Option<super::ParamCollations>,
    /// The server is MariaDB (its greeting's version string says so).
    pub(super) mariadb: bool,
    /// MARIADB_CLIENT_CACHE_METADATA is in use.
    pub(super) cached_metadata: bool,
    /// The pending answer is an execute's (its column counts carry the "metadata
    /// follows" byte when `cached_metadata`).
    pub(super) executing: bool,
}

/// Errors after which MariaDB/MySQL closes the connection: packet too large,
/// connection killed, network read/write errors, aborted connection, shutdown,
/// MySQL's idle disconnect.
pub(super) const CLOSING_ERRORS: &[u16] = &[1053, 1153, 1158, 1159, 1160, 1161, 1184, 1927, IDLE_DISCONNECT];

/// MySQL's "disconnected by the server because of inactivity".
const IDLE_DISCONNECT: u16 = 4031;

/// `sql` may end the session on success: it has COMMIT or ROLLBACK in it (any
/// case, anywhere: a multi-statement, `SET STATEMENT completion_type = 2 FOR
/// COMMIT`), or EXECUTE or CALL, which run a text out of the word test's sight
/// (`EXECUTE s` of a statement prepared from 'COMMIT', `EXECUTE IMMEDIATE @c`:
/// review r23h F4). A COM_STMT_EXECUTE is tested on its prepared text. A word
/// test, not a parse: the cost of a false match is a look at the socket before
/// the next command.
pub(super) fn may_release(sql: &[u8]) -> bool {
    [&b"commit"[..], b"rollback", b"execute", b"call"]
        .iter()
        .any(|word| sql.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word)))
}

/// `sql` may change the session's sql_mode: it says `sql_mode` or EXECUTE (a
/// text out of sight) anywhere, in any case. A word test: the cost of a false
/// match is one read of the sql_mode when a later text needs it. (A routine's
/// own SET sql_mode ends with it: the server restores the caller's.)
pub(super) fn may_change_sql_mode(sql: &[u8]) -> bool {
    [&b"sql_mode"[..], b"execute"]
        .iter()
        .any(|word| sql.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word)))
}

/// `sql` may change the session's client or connection character set: it says
/// CHAR (`CHAR SET`, `CHARACTER SET`, `CHARSET`, `character_set_*`; review r25f
/// F1: `SET CHAR SET sjis`), NAMES, COLLATION or EXECUTE anywhere, in any case.
/// A word test, as [`may_change_sql_mode`] (a routine's own SET NAMES ends with it
/// too: the server restores the caller's); `VARCHAR` matches too, which costs one
/// read of the character sets when a later text needs them.
pub fn may_change_charset(sql: &[u8]) -> bool {
    charset_word_at(sql, sql.len(), false)
}

/// Whether `sql[..end]` says a word that may change the character sets (see
/// [`may_change_charset`]); `keywords`: `CHAR` and `NAMES` count only where a
/// word starts (not `VARCHAR`), as the server's keywords and variable names do.
pub fn charset_word_at(sql: &[u8], end: usize, keywords: bool) -> bool {
    let sql = &sql[..end.min(sql.len())];
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
    let starts = |at: usize| at == 0 || !ident(sql[at - 1]);
    [
        (&b"char"[..], keywords),
        (b"names", keywords),
        (b"collation", false),
        (b"execute", false),
    ]
    .iter()
    .any(|(word, at_start)| {
        sql.windows(word.len())
            .enumerate()
            .any(|(at, w)| w.eq_ignore_ascii_case(word) && (!at_start || starts(at)))
    })
}

/// Errors that roll back the whole transaction (a deadlock's victim): the session
/// is no longer in one, though an ERR packet carries no status to say so.
pub(super) const ROLLBACK_ERRORS: &[u16] = &[1213];

/// Parameters at least this long go as COM_STMT_SEND_LONG_DATA, in pieces of this
/// size, so an execute stays far under any backend's `max_allowed_packet` (as
/// clients do for large values).
pub(super) const LONG_DATA_PIECE: usize = 1 << 20;

impl BackendConn {
    pub(super) fn new(read: ReadHalf, write: WriteHalf) -> BackendConn {
        BackendConn {
            reader: PacketReader::new(read),
            writer: PacketWriter::new(write),
            id: 0,
            deprecate_eof: false,
            status: 0,
            state: State::Idle,
            next_seq: 0,
            closing: false,
            idle_closed: false,
            may_release: false,
            after_release: false,
            ansi_quotes: None,
            charsets: None,
            param_collations: None,
            mariadb: false,
            cached_metadata: false,
            executing: false,
        }
    }

    /// Reads the next packet of an answer, which must carry the next sequence
    /// number (a stray or stale packet is never taken for an answer).
    pub(super) async fn read_packet(&mut self) -> Result<u8, ConnError> {
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

    /// The rows of the current result set that are already buffered whole, after
    /// the one [`Self::event`] gave last: their packets as they came (a result's
    /// rows relayed in one copy, not one event each). Stops before anything that is
    /// not a plain row (its end, an error, a packet out of order, one not all here),
    /// which [`Self::event`] then reads.
    pub fn buffered_rows(&mut self) -> &[u8] {
        if self.state != State::Rows {
            return &[];
        }
        let next_seq = &mut self.next_seq;
        self.reader.take_buffered(|seq, payload| {
            // 0xfe may end the result set, 0xff is an error: left to `event`.
            let row = seq == *next_seq && !matches!(payload.first(), None | Some(0xfe | 0xff));
            if row {
                *next_seq = seq.wrapping_add(1);
            }
            row
        })
    }

    /// True once the backend said it closes the connection.
    pub fn closing(&self) -> bool {
        self.closing
    }

    /// The backend closed this connection for its own inactivity (4031).
    pub fn idle_closed(&self) -> bool {
        self.idle_closed
    }

    /// True when the backend has hung up: the end of its stream (or a packet no
    /// command asked for, which only an error before a hang-up can be) is already
    /// here. Reads nothing else and never waits: a connection in the middle of an
    /// answer, or with nothing to read, is open.
    pub fn hung_up(&mut self) -> bool {
        if self.state != State::Idle {
            return false;
        }
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let next = std::pin::pin!(self.reader.next(MAX_PACKET));
        !matches!(std::future::Future::poll(next, &mut cx), std::task::Poll::Pending)
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
        self.executing = command == COM_STMT_EXECUTE;
        self.after_release = self.may_release;
        self.may_release = false;
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
    pub async fn query<S: AsRef<[u8]> + ?Sized>(&mut self, sql: &S) -> Result<(), ConnError> {
        self.begin_command(COM_QUERY).await?;
        self.may_release = may_release(sql.as_ref());
        if may_change_sql_mode(sql.as_ref()) {
            self.ansi_quotes = None;
        }
        if may_change_charset(sql.as_ref()) {
            self.charsets = None;
        }
        self.writer.put_bytes(sql.as_ref());
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

    /// Executes a prepared statement with the parameters as a client sent them
    /// (no cursor, one iteration). `types_bound`: the backend holds the client's
    /// current types for this statement (the last execute sent them), so a packet
    /// without types can go as it is; otherwise the types are put in.
    pub async fn execute_raw(&mut self, id: u32, params: &RawParams<'_>, types_bound: bool) -> Result<(), ConnError> {
        self.begin_command(COM_STMT_EXECUTE).await?;
        let w = &mut self.writer;
        w.put_u32(id);
        w.put_u8(0); // no cursor
        w.put_u32(1); // iteration count
        if !params.types.is_empty() {
            w.put_bytes(params.bitmap);
            if params.types_sent || types_bound {
                w.put_bytes(params.from_flag);
            } else {
                w.put_u8(1); // types follow
                for &(t, unsigned) in params.types {
                    w.put_u8(t);
                    w.put_u8(if unsigned { 0x80 } else { 0 });
                }
                w.put_bytes(params.values);
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
            self.idle_closed |= e.code == IDLE_DISCONNECT;
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

    /// COM_STATISTICS: the server's one-line status text (uptime, threads,
    /// questions, ...), as it sent it.
    pub async fn statistics(&mut self) -> Result<Vec<u8>, ConnError> {
        self.one_packet(COM_STATISTICS).await.map(|p| p.to_vec())
    }

    /// COM_DEBUG (the server writes debug information to its error log): the
    /// warning count and status flags of its EOF (or, under
    /// CLIENT_DEPRECATE_EOF, OK) answer.
    pub async fn debug(&mut self) -> Result<(u16, u16), ConnError> {
        let deprecate_eof = self.deprecate_eof;
        let p = self.one_packet(COM_DEBUG).await?;
        let end = match p.first() {
            Some(0xfe) if deprecate_eof => parse_ok(p).map(|(info, status)| (info.warnings, status)),
            Some(0xfe) => {
                let mut c = Cursor::new(&p[1..]);
                c.u16().zip(c.u16())
            }
            _ => None,
        };
        let (warnings, status) = end.ok_or_else(|| malformed("COM_DEBUG answer"))?;
        self.status = status;
        Ok((warnings, status))
    }

    /// Sends `command` (no arguments), which the server answers with one packet:
    /// its payload, or the server's error.
    async fn one_packet(&mut self, command: u8) -> Result<&[u8], ConnError> {
        self.begin_command(command).await?;
        self.send(false).await?;
        self.read_packet().await?;
        let p = self.reader.payload();
        if p.first() == Some(&0xff) {
            let e = parse_err(p);
            self.closing |= CLOSING_ERRORS.contains(&e.code);
            self.idle_closed |= e.code == IDLE_DISCONNECT;
            return Err(ConnError::Server(e));
        }
        Ok(p)
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
        self.ansi_quotes = None;
        self.charsets = None;
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
            let p = self.reader.payload();
            let mut c = Cursor::new(p.get(1..).unwrap_or_default());
            let (Some(0xfe), Some(warnings), Some(status)) = (p.first().copied(), c.u16(), c.u16()) else {
                self.state = State::Idle;
                return Err(malformed("end of column definitions"));
            };
            self.state = State::Rows;
            return Ok(Event::ColumnsEnd { warnings, status });
        }
        self.read_answer().await?;
        let BackendConn {
            reader,
            state,
            status,
            deprecate_eof,
            closing,
            idle_closed,
            cached_metadata,
            executing,
            ..
        } = self;
        let flagged = *cached_metadata && *executing;
        let event = decode(state, status, *deprecate_eof, flagged, reader.payload());
        if let Ok(Event::Error(e)) = &event {
            *closing |= CLOSING_ERRORS.contains(&e.code);
            *idle_closed |= e.code == IDLE_DISCONNECT;
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
