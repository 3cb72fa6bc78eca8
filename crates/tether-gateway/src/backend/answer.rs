//! The backend's answers decoded: the [`Event`]s of a command's answer (OK, error,
//! column count and definitions, rows, end), OK and ERR packets, column
//! definitions and text rows; and [`ConnError`], why a backend command failed.

use std::io;

use crate::reply::{ColumnDef, OkInfo, ServerError};
use crate::wire::packet::Cursor;
use crate::wire::value::Value;
use crate::wire::*;

/// Why a backend command failed: the backend answered with an error (the
/// connection is fine), or the connection is unusable.
#[derive(Debug)]
pub(super) enum ConnError {
    Server(ServerError),
    Lost(String),
}

impl From<io::Error> for ConnError {
    fn from(e: io::Error) -> Self {
        ConnError::Lost(e.to_string())
    }
}

pub(super) fn malformed(what: &str) -> ConnError {
    ConnError::Lost(format!("malformed {what} from the backend"))
}

/// One step of a command's answer. After `Ok` with `more == false`, `End` with
/// `more == false` or `Error`, the next event is `Done`.
pub(super) enum Event<'a> {
    /// A statement without a result set.
    Ok {
        info: OkInfo,
        status: u16,
        more: bool,
    },
    /// A result set begins with `count` columns, whose definitions follow unless
    /// the backend skipped them (an execute's answer under
    /// MARIADB_CLIENT_CACHE_METADATA: unchanged since it last sent them).
    Columns {
        count: u64,
        follow: bool,
    },
    /// One column definition, as the backend sent it.
    Column(&'a [u8]),
    /// The EOF packet that ends the column definitions (a connection without
    /// CLIENT_DEPRECATE_EOF; it comes even when the definitions were skipped):
    /// its warning count and status flags, which MariaDB sets as on the result
    /// set's end ("more results" in a multi-result answer).
    ColumnsEnd {
        warnings: u16,
        status: u16,
    },
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
pub(super) enum State {
    /// No answer pending.
    Idle,
    /// Expecting an OK, an error or a column count.
    First,
    /// This many column definitions to come.
    Columns(u64),
    Rows,
}

/// What packet `p` of an answer is, in `state`; moves `state` on and records the
/// status flags of OK and end-of-result packets. `flagged`: column counts carry
/// the "metadata follows" byte (an execute's answer under
/// MARIADB_CLIENT_CACHE_METADATA). A malformed packet ends the answer.
pub(super) fn decode<'p>(
    state: &mut State,
    status: &mut u16,
    deprecate_eof: bool,
    flagged: bool,
    p: &'p [u8],
) -> Result<Event<'p>, ConnError> {
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
            _ => {
                let mut c = Cursor::new(p);
                match (c.lenenc_int(), if flagged { c.u8() } else { Some(1) }) {
                    (Some(count), Some(flag)) if count > 0 => {
                        let follow = flag != 0;
                        // Without CLIENT_DEPRECATE_EOF the EOF after the
                        // definitions comes even when they are skipped.
                        *state = match (follow, deprecate_eof) {
                            (true, _) => State::Columns(count),
                            (false, true) => State::Rows,
                            (false, false) => State::Columns(0),
                        };
                        Ok(Event::Columns { count, follow })
                    }
                    _ => fail(state, "column count"),
                }
            }
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
pub(super) fn finish(state: &mut State, status: &mut u16, flags: u16) -> bool {
    *status = flags;
    let more = flags & SERVER_MORE_RESULTS_EXISTS != 0;
    *state = if more { State::First } else { State::Idle };
    more
}

/// An OK packet (header 0x00, or 0xfe ending a result set): what it says and its
/// status flags.
pub(super) fn parse_ok(p: &[u8]) -> Option<(OkInfo, u16)> {
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
pub(super) fn parse_err(p: &[u8]) -> ServerError {
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
pub(super) fn column_def(p: &[u8]) -> Option<ColumnDef> {
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

pub(super) fn c_text(c: &mut Cursor<'_>) -> Option<String> {
    c.lenenc_bytes().map(|b| String::from_utf8_lossy(b).into_owned())
}

/// A text-protocol row of `n` columns: bytes or NULL each.
pub(super) fn text_row(p: &[u8], n: usize) -> Option<Vec<Value>> {
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
