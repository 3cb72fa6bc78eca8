//! [`Output`]: where the answer to one client command goes (OK, ERR and EOF
//! packets, result sets in the text or binary protocol, COM_STMT_PREPARE's answer),
//! encoded into the connection's send buffer and sent every 64 KiB.

use std::io;

use super::Writer;
use crate::reply::{ColumnDef, OkInfo, PreparedInfo, Reply, ServerError};
use crate::wire::value::{self as values, Value};
use crate::wire::SERVER_MORE_RESULTS_EXISTS;

/// A streamed result set is sent whenever this much is buffered.
const FLUSH_AT: usize = 64 * 1024;

/// Where a command's answer goes: OK and ERR packets and result sets, in the text
/// or binary protocol (COM_STMT_EXECUTE). Rows are encoded straight into the send
/// buffer, which is sent every 64 KiB, so a result set is never held whole.
pub struct Output<'a> {
    pub(super) w: &'a mut Writer,
    pub(super) deprecate_eof: bool,
    /// The client negotiated CLIENT_MULTI_RESULTS: only then may a packet say
    /// "more results".
    pub(super) multi_results: bool,
    pub(super) binary: bool,
    /// The client uses MARIADB_CLIENT_CACHE_METADATA: in an execute's answer each
    /// column count is followed by a byte saying whether definitions follow.
    pub(super) cached_metadata: bool,
    /// The backend's last status flags (autocommit, in transaction), for the
    /// gateway's own OK packets.
    pub(super) status: &'a mut u16,
    /// Column types of the result set being sent (binary rows need them).
    pub(super) types: Vec<u8>,
    /// How many ERR packets this command's answer holds so far.
    pub(super) errors: usize,
}

impl Output<'_> {
    /// Records the backend's status flags, as the next OK packets will carry them.
    pub fn set_status(&mut self, status: u16) {
        *self.status = status & !SERVER_MORE_RESULTS_EXISTS;
    }

    pub fn error(&mut self, e: &ServerError) {
        self.errors += 1;
        write_err(self.w, e);
    }

    /// One packet of `payload` as it is (COM_STATISTICS's answer: a text, no
    /// header byte).
    pub fn raw(&mut self, payload: &[u8]) {
        self.w.begin();
        self.w.put_bytes(payload);
        self.w.end();
    }

    /// How many ERR packets this command's answer holds so far.
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// An OK packet with the backend's status flags as recorded last, plus "more
    /// results" when another result follows.
    pub fn ok(&mut self, info: &OkInfo, more: bool) {
        let more = more && self.multi_results;
        let status = *self.status | if more { SERVER_MORE_RESULTS_EXISTS } else { 0 };
        write_ok(self.w, 0x00, info, status);
    }

    /// The column count of a result set relayed from the backend; its column
    /// definitions follow through [`Self::relay_column`], or, when not `follow`
    /// (the backend skipped them: the client holds them), none.
    pub fn begin_relayed_rows(&mut self, count: u64, follow: bool) {
        self.w.begin();
        self.w.put_lenenc_int(count);
        self.put_metadata_flag(follow);
        self.w.end();
        self.types.clear();
    }

    /// An execute's column count says whether the definitions follow, for a
    /// client that uses MARIADB_CLIENT_CACHE_METADATA.
    fn put_metadata_flag(&mut self, follow: bool) {
        if self.binary && self.cached_metadata {
            self.w.put_u8(u8::from(follow));
        }
    }

    /// One column definition packet of the backend's, as it is. After the last,
    /// the backend's end of them ([`Self::relay_columns_end`]) or, from a backend
    /// that sends none, [`Self::columns_done`].
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

    /// Row packets of the backend's, headers included, as they came (from
    /// `BackendConn::buffered_rows`): copied at once, renumbered.
    pub async fn relay_row_packets(&mut self, packets: &[u8]) -> io::Result<()> {
        if packets.is_empty() {
            return Ok(());
        }
        self.w.put_packets(packets);
        self.flush_if_full().await
    }

    /// Column count and definitions of a result set the gateway built (their
    /// end follows: [`Self::columns_done`]).
    pub fn begin_rows(&mut self, columns: &[ColumnDef]) {
        self.w.begin();
        self.w.put_lenenc_int(columns.len() as u64);
        self.put_metadata_flag(true);
        self.w.end();
        self.types.clear();
        for c in columns {
            self.types.push(c.column_type);
            write_column(self.w, &ColumnRef::from(c));
        }
    }

    /// The end of a result set's column definitions (an EOF packet, for a client
    /// without CLIENT_DEPRECATE_EOF): the recorded status flags, plus "more
    /// results" when another result follows this one, as MariaDB sets them on
    /// this EOF as on the result set's end.
    pub fn columns_done(&mut self, more: bool) {
        let more = more && self.multi_results;
        let status = *self.status | if more { SERVER_MORE_RESULTS_EXISTS } else { 0 };
        if !self.deprecate_eof {
            write_eof(self.w, 0, status);
        }
    }

    /// The backend's end of a result set's column definitions, with its warning
    /// count and status flags ("more results" only to a client that
    /// negotiated CLIENT_MULTI_RESULTS).
    pub fn relay_columns_end(&mut self, warnings: u16, status: u16) {
        let status = if self.multi_results {
            status
        } else {
            status & !SERVER_MORE_RESULTS_EXISTS
        };
        if !self.deprecate_eof {
            write_eof(self.w, warnings, status);
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
                    self.columns_done(more);
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
    pub(super) fn prepared(&mut self, info: &PreparedInfo) {
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
                self.columns_done(false);
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
pub(super) fn write_ok(w: &mut Writer, header: u8, info: &OkInfo, status: u16) {
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
pub(super) fn write_eof(w: &mut Writer, warnings: u16, status: u16) {
    w.begin();
    w.put_u8(0xfe);
    w.put_u16(warnings);
    w.put_u16(status);
    w.end();
}

pub(super) fn write_err(w: &mut Writer, e: &ServerError) {
    w.begin();
    w.put_u8(0xff);
    w.put_u16(e.wire_code());
    w.put_u8(b'#');
    let mut state = [b'H', b'Y', b'0', b'0', b'0'];
    if e.state.len() == 5 {
        state.copy_from_slice(e.state.as_bytes());
    }
    w.put_bytes(&state);
    w.put_bytes(e.message.as_bytes());
    w.end();
}
