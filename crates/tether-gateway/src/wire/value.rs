//! Values on the wire: the gateway's [`Value`] for one cell or parameter, result
//! rows in the text and binary protocols, and the parameters of COM_STMT_EXECUTE.

use super::packet::{Cursor, PacketWriter};

/// One cell of a row or one statement parameter, as the protocol carries it (the
/// shape of `mysql_common`'s value, which the gateway used before it had its own).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bytes(Vec<u8>),
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    /// year, month, day, hour, minutes, seconds, microseconds
    Date(u16, u8, u8, u8, u8, u8, u32),
    /// A parameter sent as a DATE (a date without time, where [`Value::Date`] is
    /// a DATETIME): year, month, day.
    DateOnly(u16, u8, u8),
    /// A parameter sent as a DECIMAL: its text (a number, not a string).
    Decimal(Vec<u8>),
    /// negative, days, hours, minutes, seconds, microseconds
    Time(bool, u32, u8, u8, u8, u32),
}

impl Value {
    /// The text MariaDB prints for a number, date or time (`2024-02-29 13:14:15`,
    /// `-838:59:59.000001`); `NULL` for NULL, the bytes as UTF-8 (lossy) for bytes.
    pub fn text(&self) -> String {
        match *self {
            Value::Null => "NULL".into(),
            Value::Bytes(ref b) | Value::Decimal(ref b) => String::from_utf8_lossy(b).into_owned(),
            Value::Int(x) => x.to_string(),
            Value::UInt(x) => x.to_string(),
            Value::Float(x) => x.to_string(),
            Value::Double(x) => x.to_string(),
            Value::Date(y, m, d, 0, 0, 0, 0) | Value::DateOnly(y, m, d) => format!("{y:04}-{m:02}-{d:02}"),
            Value::Date(y, m, d, h, i, s, 0) => format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}"),
            Value::Date(y, m, d, h, i, s, us) => format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}.{us:06}"),
            Value::Time(neg, days, h, i, s, us) => {
                let sign = if neg { "-" } else { "" };
                let hours = days * 24 + u32::from(h);
                if us == 0 {
                    format!("{sign}{hours:03}:{i:02}:{s:02}")
                } else {
                    format!("{sign}{hours:03}:{i:02}:{s:02}.{us:06}")
                }
            }
        }
    }
}

// Column type bytes (MySQL protocol).
pub const TYPE_TINY: u8 = 1;
pub const TYPE_SHORT: u8 = 2;
pub const TYPE_LONG: u8 = 3;
pub const TYPE_FLOAT: u8 = 4;
pub const TYPE_DOUBLE: u8 = 5;
pub const TYPE_NULL: u8 = 6;
pub const TYPE_TIMESTAMP: u8 = 7;
pub const TYPE_LONGLONG: u8 = 8;
pub const TYPE_INT24: u8 = 9;
pub const TYPE_DATE: u8 = 10;
pub const TYPE_TIME: u8 = 11;
pub const TYPE_DATETIME: u8 = 12;
pub const TYPE_YEAR: u8 = 13;
pub const TYPE_NEWDATE: u8 = 14;
pub const TYPE_DECIMAL: u8 = 0;
pub const TYPE_NEWDECIMAL: u8 = 246;
pub const TYPE_VAR_STRING: u8 = 253;

/// One text-protocol cell.
pub fn put_text<W>(w: &mut PacketWriter<W>, v: &Value)
where
    W: tokio::io::AsyncWrite + Unpin,
{
    match v {
        Value::Null => w.put_u8(0xfb),
        Value::Bytes(b) => w.put_lenenc_bytes(b),
        other => w.put_lenenc_bytes(other.text().as_bytes()),
    }
}

/// A binary-protocol row: header, NULL bitmap (offset 2), then the non-NULL
/// values in the encoding of each column's type.
pub fn put_binary_row<'v, W>(w: &mut PacketWriter<W>, types: &[u8], values: impl ExactSizeIterator<Item = &'v Value>)
where
    W: tokio::io::AsyncWrite + Unpin,
{
    w.put_u8(0);
    let n = values.len();
    let bitmap = w.put_zeros((n + 9) / 8);
    // Values follow the bitmap; NULLs are only marked there.
    let mut cells: Vec<(usize, &Value)> = Vec::new();
    for (i, v) in values.enumerate() {
        if matches!(v, Value::Null) {
            w.set_bit(bitmap, i + 2);
        } else {
            cells.push((i, v));
        }
    }
    for (i, v) in cells {
        put_binary(w, types.get(i).copied().unwrap_or(TYPE_VAR_STRING), v);
    }
}

fn int_width(t: u8) -> Option<usize> {
    match t {
        TYPE_TINY => Some(1),
        TYPE_SHORT | TYPE_YEAR => Some(2),
        TYPE_LONG | TYPE_INT24 => Some(4),
        TYPE_LONGLONG => Some(8),
        _ => None,
    }
}

fn put_binary<W>(w: &mut PacketWriter<W>, t: u8, v: &Value)
where
    W: tokio::io::AsyncWrite + Unpin,
{
    match v {
        Value::Null => {}
        // Text values (a result read with the text protocol, sent to a client that
        // executed a prepared statement): converted to the column's type.
        Value::Bytes(b) => match text_as_binary(t, b) {
            Some(typed) => put_binary(w, t, &typed),
            None => w.put_lenenc_bytes(b),
        },
        Value::Int(i) => match int_width(t) {
            Some(n) => w.put_bytes(&i.to_le_bytes()[..n]),
            None if t == TYPE_DOUBLE => w.put_bytes(&(*i as f64).to_le_bytes()),
            None if t == TYPE_FLOAT => w.put_bytes(&(*i as f32).to_le_bytes()),
            None => w.put_lenenc_bytes(i.to_string().as_bytes()),
        },
        Value::UInt(u) => match int_width(t) {
            Some(n) => w.put_bytes(&u.to_le_bytes()[..n]),
            None if t == TYPE_DOUBLE => w.put_bytes(&(*u as f64).to_le_bytes()),
            None if t == TYPE_FLOAT => w.put_bytes(&(*u as f32).to_le_bytes()),
            None => w.put_lenenc_bytes(u.to_string().as_bytes()),
        },
        Value::Float(f) if t == TYPE_DOUBLE => w.put_bytes(&f64::from(*f).to_le_bytes()),
        Value::Float(f) => w.put_bytes(&f.to_le_bytes()),
        Value::Double(d) if t == TYPE_FLOAT => w.put_bytes(&(*d as f32).to_le_bytes()),
        Value::Double(d) => w.put_bytes(&d.to_le_bytes()),
        Value::Decimal(b) => w.put_lenenc_bytes(b),
        Value::DateOnly(0, 0, 0) => w.put_u8(0),
        Value::DateOnly(y, mo, d) => {
            w.put_u8(4);
            w.put_u16(*y);
            w.put_bytes(&[*mo, *d]);
        }
        Value::Date(y, mo, d, h, mi, s, us) => {
            let len = if *us != 0 {
                11
            } else if *h != 0 || *mi != 0 || *s != 0 {
                7
            } else if *y != 0 || *mo != 0 || *d != 0 {
                4
            } else {
                0
            };
            w.put_u8(len);
            if len >= 4 {
                w.put_u16(*y);
                w.put_bytes(&[*mo, *d]);
            }
            if len >= 7 {
                w.put_bytes(&[*h, *mi, *s]);
            }
            if len == 11 {
                w.put_u32(*us);
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            if *days == 0 && *h == 0 && *mi == 0 && *s == 0 && *us == 0 {
                return w.put_u8(0);
            }
            w.put_bytes(&[if *us != 0 { 12 } else { 8 }, u8::from(*neg)]);
            w.put_u32(*days);
            w.put_bytes(&[*h, *mi, *s]);
            if *us != 0 {
                w.put_u32(*us);
            }
        }
    }
}

/// The type (and unsigned flag) a COM_STMT_EXECUTE parameter is sent with.
pub fn param_type(v: &Value) -> (u8, bool) {
    match v {
        Value::Null => (TYPE_NULL, false),
        Value::Bytes(_) => (TYPE_VAR_STRING, false),
        Value::Int(_) => (TYPE_LONGLONG, false),
        Value::UInt(_) => (TYPE_LONGLONG, true),
        Value::Float(_) => (TYPE_FLOAT, false),
        Value::Double(_) => (TYPE_DOUBLE, false),
        Value::Date(..) => (TYPE_DATETIME, false),
        Value::DateOnly(..) => (TYPE_DATE, false),
        Value::Decimal(_) => (TYPE_NEWDECIMAL, false),
        Value::Time(..) => (TYPE_TIME, false),
    }
}

/// A COM_STMT_EXECUTE parameter's value, in the encoding of [`param_type`] (a NULL
/// is only marked in the bitmap).
pub fn put_param<W>(w: &mut PacketWriter<W>, v: &Value)
where
    W: tokio::io::AsyncWrite + Unpin,
{
    put_binary(w, param_type(v).0, v);
}

/// A text value as the typed value of a binary-protocol column; `None` for types
/// sent as strings in both protocols (strings, decimals, blobs, ...).
fn text_as_binary(t: u8, b: &[u8]) -> Option<Value> {
    let s = std::str::from_utf8(b).ok()?;
    match t {
        TYPE_TINY | TYPE_SHORT | TYPE_YEAR | TYPE_LONG | TYPE_INT24 | TYPE_LONGLONG => s
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| s.parse::<u64>().map(Value::UInt))
            .ok()
            .or(Some(Value::Int(0))),
        TYPE_FLOAT | TYPE_DOUBLE => Some(Value::Double(s.parse().unwrap_or(0.0))),
        TYPE_DATE | TYPE_NEWDATE | TYPE_DATETIME | TYPE_TIMESTAMP => Some(parse_datetime(s)),
        TYPE_TIME => Some(parse_time(s)),
        _ => None,
    }
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`.
fn parse_datetime(s: &str) -> Value {
    let n: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let g = |i: usize| n.get(i).copied().unwrap_or(0);
    Value::Date(
        g(0) as u16,
        g(1) as u8,
        g(2) as u8,
        g(3) as u8,
        g(4) as u8,
        g(5) as u8,
        micros(s),
    )
}

/// `[-]HHH:MM:SS[.ffffff]` (hours may exceed 24).
fn parse_time(s: &str) -> Value {
    let neg = s.starts_with('-');
    let n: Vec<u32> = s
        .trim_start_matches('-')
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let g = |i: usize| n.get(i).copied().unwrap_or(0);
    let hours = g(0);
    Value::Time(neg, hours / 24, (hours % 24) as u8, g(1) as u8, g(2) as u8, micros(s))
}

/// The microseconds of a `.ffffff` fraction.
fn micros(s: &str) -> u32 {
    match s.rsplit_once('.') {
        Some((_, frac)) if !frac.is_empty() && frac.len() <= 6 && frac.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{frac:0<6}").parse().unwrap_or(0)
        }
        _ => 0,
    }
}

/// A prepared statement's parameters as the protocol layer keeps them between
/// executions: their count, the types last bound, and long data sent so far.
#[derive(Default)]
pub struct StatementParams {
    pub count: u16,
    pub types: Vec<(u8, bool)>,
    pub long_data: std::collections::HashMap<u16, Vec<u8>>,
    /// A COM_STMT_SEND_LONG_DATA failed: every execute fails with this error
    /// (code, message) until COM_STMT_RESET, as in MariaDB (the statement's
    /// `STMT_ERROR` state, sql_prepare.cc).
    pub long_data_error: Option<(u16, &'static str)>,
}

/// MariaDB's error for long data naming a parameter the statement does not have.
pub const LONG_DATA_WRONG_PARAMETER: (u16, &str) = (1210, "Incorrect arguments to mysqld_stmt_send_long_data");

/// MariaDB's error for one parameter's long data over `max_allowed_packet`.
pub const LONG_DATA_TOO_LONG: (u16, &str) = (
    1105,
    "Parameter of prepared statement which is set through mysql_send_long_data() is longer than \
     'max_allowed_packet' bytes",
);

impl StatementParams {
    /// Appends COM_STMT_SEND_LONG_DATA's bytes to parameter `param`. As MariaDB
    /// (`mysql_stmt_get_longdata`, `Item_param::set_longdata`): a parameter number
    /// the statement does not have (1210), or one parameter's long data over `max`
    /// bytes (1105), puts the statement in an error state that every execute
    /// answers until COM_STMT_RESET (a later such error replaces it). The long
    /// data held is dropped then: no execute can use it before the reset, which
    /// drops it anyway.
    pub fn add_long_data(&mut self, param: u16, data: &[u8], max: usize) {
        if param >= self.count {
            self.fail_long_data(LONG_DATA_WRONG_PARAMETER);
            return;
        }
        let held = self.long_data.get(&param).map_or(0, Vec::len);
        if held + data.len() > max {
            self.fail_long_data(LONG_DATA_TOO_LONG);
            return;
        }
        if self.long_data_error.is_none() {
            self.long_data.entry(param).or_default().extend_from_slice(data);
        }
    }

    fn fail_long_data(&mut self, error: (u16, &'static str)) {
        self.long_data = std::collections::HashMap::new();
        self.long_data_error = Some(error);
    }

    /// COM_STMT_RESET: the long data and its error state are gone.
    pub fn reset(&mut self) {
        self.long_data.clear();
        self.long_data_error = None;
    }
}

/// Decodes COM_STMT_EXECUTE's parameters (after statement id, flags and iteration
/// count); `None` on a malformed packet.
pub fn decode_params(c: &mut Cursor<'_>, stmt: &mut StatementParams) -> Option<Vec<Value>> {
    let n = usize::from(stmt.count);
    if n == 0 {
        return Some(Vec::new());
    }
    let bitmap = c.take(n.div_ceil(8))?;
    // Decoded aside and kept only when the whole packet decodes: a malformed
    // packet leaves the types bound before and the long data sent.
    let new_types = if c.u8()? == 1 {
        let mut types = Vec::with_capacity(n);
        for _ in 0..n {
            let t = c.u8()?;
            let flags = c.u8()?;
            types.push((t, flags & 0x80 != 0));
        }
        Some(types)
    } else {
        None
    };
    let types = new_types.as_deref().unwrap_or(&stmt.types);
    if types.len() != n {
        return None;
    }
    // As MariaDB (sql_prepare.cc, insert_params): long data for a parameter of a
    // type that takes none (numbers, dates, DECIMAL, BIT, JSON) fails the
    // execution; the packet's types stay bound and the long data is dropped.
    let refused = types
        .iter()
        .enumerate()
        .any(|(i, &(t, _))| stmt.long_data.contains_key(&(i as u16)) && !takes_long_data(t));
    if refused {
        if let Some(types) = new_types {
            stmt.types = types;
        }
        stmt.long_data.clear();
        return None;
    }
    let mut values = Vec::with_capacity(n);
    let mut long = Vec::new();
    for (i, &(t, unsigned)) in types.iter().enumerate() {
        // A parameter with long data takes it whatever its NULL bit says, and its
        // value is not in the packet.
        if stmt.long_data.contains_key(&(i as u16)) {
            long.push(i);
            values.push(Value::Null);
            continue;
        }
        if is_null(bitmap, i) {
            values.push(Value::Null);
            continue;
        }
        values.push(decode_value(c, t, unsigned)?);
    }
    for i in long {
        if let Some(data) = stmt.long_data.remove(&(i as u16)) {
            values[i] = Value::Bytes(data);
        }
    }
    if let Some(types) = new_types {
        stmt.types = types;
    }
    // Long data of a statement is used by one execution only.
    stmt.long_data.clear();
    Some(values)
}

/// A parameter of type `t` may get its value from COM_STMT_SEND_LONG_DATA: the
/// string types MariaDB 10.11 accepts it for (VARCHAR, ENUM, SET, the BLOBs,
/// VAR_STRING, STRING, GEOMETRY), found by sending it with each type.
fn takes_long_data(t: u8) -> bool {
    const TYPE_VARCHAR: u8 = 15;
    const TYPE_ENUM: u8 = 247;
    t == TYPE_VARCHAR || t >= TYPE_ENUM
}

/// Parameter `i` is NULL in COM_STMT_EXECUTE's bitmap.
fn is_null(bitmap: &[u8], i: usize) -> bool {
    bitmap[i / 8] & (1 << (i % 8)) != 0
}

/// One parameter value in the encoding of type `t`.
fn decode_value(c: &mut Cursor<'_>, t: u8, unsigned: bool) -> Option<Value> {
    Some(match t {
        TYPE_NULL => Value::Null,
        TYPE_TINY => {
            let b = c.u8()?;
            if unsigned {
                Value::UInt(u64::from(b))
            } else {
                Value::Int(i64::from(b as i8))
            }
        }
        TYPE_SHORT | TYPE_YEAR => {
            let b = c.u16()?;
            if unsigned {
                Value::UInt(u64::from(b))
            } else {
                Value::Int(i64::from(b as i16))
            }
        }
        TYPE_LONG | TYPE_INT24 => {
            let b = c.u32()?;
            if unsigned {
                Value::UInt(u64::from(b))
            } else {
                Value::Int(i64::from(b as i32))
            }
        }
        TYPE_LONGLONG => {
            let b = c.u64()?;
            if unsigned {
                Value::UInt(b)
            } else {
                Value::Int(b as i64)
            }
        }
        TYPE_FLOAT => Value::Float(f32::from_bits(c.u32()?)),
        TYPE_DOUBLE => Value::Double(f64::from_bits(c.u64()?)),
        // MariaDB reads a DATE parameter's date alone (sql_prepare.cc,
        // set_param_date): a DATE, not a DATETIME at midnight.
        TYPE_DATE => {
            let len = usize::from(c.u8()?);
            match date_bytes(c.take(len)?) {
                Value::Date(y, mo, d, ..) => Value::DateOnly(y, mo, d),
                other => other,
            }
        }
        TYPE_NEWDATE | TYPE_DATETIME | TYPE_TIMESTAMP => {
            let len = usize::from(c.u8()?);
            date_bytes(c.take(len)?)
        }
        TYPE_DECIMAL | TYPE_NEWDECIMAL => Value::Decimal(c.lenenc_bytes()?.to_vec()),
        TYPE_TIME => {
            let len = usize::from(c.u8()?);
            time_bytes(c.take(len)?)
        }
        _ => Value::Bytes(c.lenenc_bytes()?.to_vec()),
    })
}

/// Steps over one parameter value of type `t` (what [`decode_value`] reads),
/// without building it.
fn skip_value(c: &mut Cursor<'_>, t: u8) -> Option<()> {
    let fixed = match t {
        TYPE_NULL => 0,
        TYPE_TINY => 1,
        TYPE_SHORT | TYPE_YEAR => 2,
        TYPE_LONG | TYPE_INT24 | TYPE_FLOAT => 4,
        TYPE_LONGLONG | TYPE_DOUBLE => 8,
        TYPE_DATE | TYPE_NEWDATE | TYPE_DATETIME | TYPE_TIMESTAMP | TYPE_TIME => usize::from(c.u8()?),
        _ => return c.lenenc_bytes().map(|_| ()),
    };
    c.take(fixed).map(|_| ())
}

/// COM_STMT_EXECUTE's parameters for the handler: as the client sent them (the
/// common case, forwarded to the backend as they are), or decoded into values
/// when the statement had long data (which is then part of them).
pub enum Params<'a> {
    Raw(RawParams<'a>),
    Decoded(Vec<Value>),
}

impl Params<'_> {
    /// The values (decoded now for [`Params::Raw`]); `None` only for a packet that
    /// does not decode, which [`read_params`] does not let through.
    pub fn values(&self) -> Option<Vec<Value>> {
        match self {
            Params::Raw(raw) => raw.values(),
            Params::Decoded(values) => Some(values.clone()),
        }
    }

    /// The parameters' protocol types, when known here (not for values decoded
    /// with long data).
    pub fn types(&self) -> Option<Vec<u8>> {
        match self {
            Params::Raw(raw) => Some(raw.types.iter().map(|&(t, _)| t).collect()),
            Params::Decoded(_) => None,
        }
    }
}

/// The parameter part of a well-formed COM_STMT_EXECUTE packet, undecoded.
pub struct RawParams<'a> {
    /// The NULL bitmap.
    pub bitmap: &'a [u8],
    /// The packet carried the parameter types (new-params-bound flag 1).
    pub types_sent: bool,
    /// From the new-params-bound flag to the end: flag, types if sent, values.
    pub from_flag: &'a [u8],
    /// The values alone.
    pub values: &'a [u8],
    /// The types the values are encoded in: the packet's, or those bound before.
    pub types: &'a [(u8, bool)],
}

impl RawParams<'_> {
    fn values(&self) -> Option<Vec<Value>> {
        let mut c = Cursor::new(self.values);
        let mut values = Vec::with_capacity(self.types.len());
        for (i, &(t, unsigned)) in self.types.iter().enumerate() {
            values.push(match is_null(self.bitmap, i) {
                true => Value::Null,
                false => decode_value(&mut c, t, unsigned)?,
            });
        }
        Some(values)
    }
}

/// Reads COM_STMT_EXECUTE's parameters (`body`: what follows statement id, flags
/// and iteration count): checked, not decoded, unless the statement has long data
/// (then decoded with it, [`decode_params`]). New types in the packet become the
/// statement's bound types once the whole packet is found well formed; `None` on
/// a malformed packet (the types bound before stay).
pub fn read_params<'a>(body: &'a [u8], stmt: &'a mut StatementParams) -> Option<Params<'a>> {
    if !stmt.long_data.is_empty() {
        return decode_params(&mut Cursor::new(body), stmt).map(Params::Decoded);
    }
    let n = usize::from(stmt.count);
    if n == 0 {
        return Some(Params::Raw(RawParams {
            bitmap: &[],
            types_sent: false,
            from_flag: &[],
            values: &[],
            types: &[],
        }));
    }
    let mut c = Cursor::new(body);
    let bitmap = c.take(n.div_ceil(8))?;
    let from_flag = c.rest;
    let types_sent = c.u8()? == 1;
    let sent = match types_sent {
        true => Some(c.take(2 * n)?),
        false if stmt.types.len() == n => None,
        false => return None,
    };
    let type_of = |i: usize| match sent {
        Some(t) => t[2 * i],
        None => stmt.types[i].0,
    };
    let values = c.rest;
    for i in (0..n).filter(|&i| !is_null(bitmap, i)) {
        skip_value(&mut c, type_of(i))?;
    }
    // Trailing bytes after the last value are not part of it.
    let end = c.rest.len();
    let (values, from_flag) = (&values[..values.len() - end], &from_flag[..from_flag.len() - end]);
    if let Some(t) = sent {
        stmt.types.clear();
        stmt.types.extend(t.chunks_exact(2).map(|p| (p[0], p[1] & 0x80 != 0)));
    }
    Some(Params::Raw(RawParams {
        bitmap,
        types_sent,
        from_flag,
        values,
        types: &stmt.types,
    }))
}

fn date_bytes(b: &[u8]) -> Value {
    let g = |i: usize| b.get(i).copied().unwrap_or(0);
    let y = u16::from_le_bytes([g(0), g(1)]);
    let us = u32::from_le_bytes([g(7), g(8), g(9), g(10)]);
    Value::Date(y, g(2), g(3), g(4), g(5), g(6), us)
}

fn time_bytes(b: &[u8]) -> Value {
    let g = |i: usize| b.get(i).copied().unwrap_or(0);
    let days = u32::from_le_bytes([g(1), g(2), g(3), g(4)]);
    let us = u32::from_le_bytes([g(8), g(9), g(10), g(11)]);
    Value::Time(g(0) != 0, days, g(5), g(6), g(7), us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_become_typed_binary_values() {
        assert_eq!(text_as_binary(TYPE_LONG, b"-7"), Some(Value::Int(-7)));
        assert_eq!(
            text_as_binary(TYPE_LONGLONG, b"18446744073709551615"),
            Some(Value::UInt(u64::MAX))
        );
        assert_eq!(text_as_binary(TYPE_DOUBLE, b"0.25"), Some(Value::Double(0.25)));
        assert_eq!(
            text_as_binary(TYPE_DATETIME, b"2024-02-29 13:14:15.123"),
            Some(Value::Date(2024, 2, 29, 13, 14, 15, 123_000))
        );
        assert_eq!(
            text_as_binary(TYPE_TIME, b"-25:01:02"),
            Some(Value::Time(true, 1, 1, 1, 2, 0))
        );
        // DECIMAL (0) and NEWDECIMAL (246) are strings in both protocols.
        assert_eq!(text_as_binary(246, b"1.50"), None);
        assert_eq!(text_as_binary(0, b"1.50"), None);
    }

    #[test]
    fn execute_parameters_decode() {
        let mut stmt = StatementParams {
            count: 3,
            ..Default::default()
        };
        // NULL bitmap (param 1 NULL), new-params-bound, types, then values.
        let packet = [
            0b010,
            1,
            TYPE_LONGLONG,
            0,
            TYPE_NULL,
            0,
            253,
            0,
            5,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            2,
            b'h',
            b'i',
        ];
        let values = decode_params(&mut Cursor::new(&packet), &mut stmt).expect("decodes");
        assert_eq!(values, vec![Value::Int(5), Value::Null, Value::Bytes(b"hi".to_vec())]);
        // Later executions may leave the types out.
        let packet = [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, b'x'];
        let values = decode_params(&mut Cursor::new(&packet), &mut stmt).expect("decodes");
        assert_eq!(values, vec![Value::Int(1), Value::Null, Value::Bytes(b"x".to_vec())]);
        assert_eq!(decode_params(&mut Cursor::new(&[0, 1, 8]), &mut stmt), None);
    }

    #[test]
    fn execute_parameters_are_checked_without_decoding() {
        let mut stmt = StatementParams {
            count: 2,
            ..Default::default()
        };
        // Types left out before any were bound: malformed.
        assert!(read_params(&[0, 0, 1], &mut stmt).is_none());
        // A string cut short: malformed, and its types are not kept.
        assert!(read_params(&[0, 1, TYPE_TINY, 0x80, 253, 0, 7, 3, b'a'], &mut stmt).is_none());
        assert!(stmt.types.is_empty());
        // Second parameter NULL; a trailing byte is not part of the values.
        let packet = [0b10, 1, TYPE_TINY, 0x80, 253, 0, 7, 0xee];
        let Some(Params::Raw(raw)) = read_params(&packet, &mut stmt) else {
            panic!("well formed");
        };
        assert!(raw.types_sent);
        assert_eq!(
            (raw.bitmap, raw.from_flag, raw.values),
            (&[0b10][..], &packet[1..7], &[7][..])
        );
        assert_eq!(raw.values(), Some(vec![Value::UInt(7), Value::Null]));
        assert_eq!(stmt.types, vec![(TYPE_TINY, true), (253, false)]);
        // Types left out: those bound before apply.
        let packet = [0, 0, 9, 2, b'h', b'i'];
        let Some(Params::Raw(raw)) = read_params(&packet, &mut stmt) else {
            panic!("well formed");
        };
        assert!(!raw.types_sent);
        assert_eq!(raw.values(), Some(vec![Value::UInt(9), Value::Bytes(b"hi".to_vec())]));
        // Long data: decoded, with it.
        stmt.add_long_data(1, b"long", 1 << 20);
        let Some(Params::Decoded(values)) = read_params(&[0, 0, 9], &mut stmt) else {
            panic!("decoded");
        };
        assert_eq!(values, vec![Value::UInt(9), Value::Bytes(b"long".to_vec())]);
    }

    #[test]
    fn long_data_wins_over_the_null_bit_and_needs_a_string_type() {
        let mut stmt = StatementParams {
            count: 2,
            ..Default::default()
        };
        // NULL bit set on the parameter with long data: the long data is its value.
        stmt.add_long_data(1, b"hello", 1 << 20);
        let packet = [0b10, 1, TYPE_TINY, 0, TYPE_VAR_STRING, 0, 7];
        let Some(Params::Decoded(values)) = read_params(&packet, &mut stmt) else {
            panic!("decoded");
        };
        assert_eq!(values, vec![Value::Int(7), Value::Bytes(b"hello".to_vec())]);
        // Long data for a numeric parameter: refused, and the long data dropped.
        stmt.add_long_data(1, b"2", 1 << 20);
        let packet = [0, 1, TYPE_TINY, 0, TYPE_LONG, 0, 7];
        assert!(read_params(&packet, &mut stmt).is_none());
        assert!(stmt.long_data.is_empty());
        // The types bound before decide when the packet has none.
        stmt.add_long_data(1, b"2", 1 << 20);
        assert!(read_params(&[0, 0, 7], &mut stmt).is_none());
        // BLOB, ENUM, GEOMETRY take it; DECIMAL, JSON, BIT do not.
        assert!([15, 247, 248, 252, 253, 254, 255].into_iter().all(takes_long_data));
        assert!(![0, 16, 245, 246, TYPE_DATETIME, TYPE_DOUBLE]
            .into_iter()
            .any(takes_long_data));
    }
}
