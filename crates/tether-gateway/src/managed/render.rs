//! Values read from the backend (and a prepared statement's parameters) as MySQL
//! literals, for the statements a plan writes: typed by the column they came from,
//! escaped through `tether_schema::sql`.

use crate::backend::Rows;
use crate::reply::ColumnDef;
use crate::wire::value::Value;

pub(super) fn is_null(v: &str) -> bool {
    v.eq_ignore_ascii_case("null")
}

pub(super) fn row_sql(columns: &[String]) -> String {
    let list: Vec<String> = columns.iter().map(|c| tether_fkplan::ident(c)).collect();
    if list.len() == 1 {
        list[0].clone()
    } else {
        format!("({})", list.join(", "))
    }
}

/// Every value of `rows` as an SQL literal.
pub(super) fn literals(rows: &Rows) -> Vec<Vec<String>> {
    rows.rows
        .iter()
        .map(|r| r.iter().zip(&rows.columns).map(|(v, c)| literal(v, c)).collect())
        .collect()
}

/// A value read with the text protocol, as an SQL literal of its column's type
/// that compares equal to the stored value (and stores as it) in a column of that
/// type. A FLOAT's text is not exact: the plans read FLOAT keys as DOUBLE
/// (`tether_fkplan`'s `exact`).
pub(super) fn literal(v: &Value, c: &ColumnDef) -> String {
    const NUMERIC: [u8; 10] = [0, 1, 2, 3, 4, 5, 8, 9, 13, 246];
    const BIT: u8 = 16;
    const BINARY_FLAG: u16 = 128;
    match v {
        Value::Null => "NULL".to_string(),
        Value::Bytes(b) if NUMERIC.contains(&c.column_type) => String::from_utf8_lossy(b).into_owned(),
        // A BIT value comes as its bytes, most significant first. As a string
        // literal a BIT column would compare it as a number read from its text
        // (`'\x02'` is 0); as the unsigned integer it compares and stores exactly.
        Value::Bytes(b) if c.column_type == BIT && b.len() <= 8 => {
            b.iter().fold(0u64, |n, byte| (n << 8) | u64::from(*byte)).to_string()
        }
        Value::Bytes(b) if c.flags & BINARY_FLAG != 0 && !(7..=14).contains(&c.column_type) => {
            tether_schema::sql::hex_literal(b)
        }
        Value::Bytes(b) => tether_fkplan::string_literal(b),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        // The float's exact value (a FLOAT column compares as a DOUBLE).
        Value::Float(f) => format!("{:e}", f64::from(*f)),
        Value::Double(d) => format!("{d:e}"),
        other => tether_fkplan::string_literal(other.text().as_bytes()),
    }
}

/// `sql` with each `?` placeholder replaced by its parameter as an SQL literal;
/// `None` when the counts differ. A `?` is a placeholder where the server's lexer
/// reads one: outside strings and quoted identifiers (backslash escapes read as
/// escapes: managed writes refuse NO_BACKSLASH_ESCAPES) and outside comments
/// (`-- `, `#`, `/* */`); the code of an executable comment (`/*! */`,
/// `/*M! */`) is read as code, whatever its version: the caller resolves them for
/// the backend first (`Keyspace::as_run`). Everything but the placeholders is
/// kept as it is.
pub fn inline_params(sql: &str, params: &[Value]) -> Option<String> {
    use crate::comments::after_quoted;
    let b = sql.as_bytes();
    let find = |from: usize, what: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(what.len()).position(|w| w == what))
            .map(|p| p + from)
    };
    let mut out = String::with_capacity(sql.len() + params.len() * 8);
    let mut next = params.iter();
    // Start of the text not yet copied to `out`.
    let mut copied = 0;
    // Executable comments open around the position (their `*/` closes them).
    let mut open = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = after_quoted(b, i, q, q != b'`'),
            b'#' => i = find(i, b"\n").unwrap_or(b.len()),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                i = find(i, b"\n").unwrap_or(b.len())
            }
            b'*' if open > 0 && b.get(i + 1) == Some(&b'/') => {
                open -= 1;
                i += 2;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => match (b.get(i + 2), b.get(i + 3)) {
                (Some(b'!'), _) => {
                    open += 1;
                    i += 3;
                }
                (Some(b'M'), Some(b'!')) => {
                    open += 1;
                    i += 4;
                }
                // A plain comment (hints too): ends at the first `*/`.
                _ => i = find(i + 2, b"*/").map_or(b.len(), |end| end + 2),
            },
            b'?' => {
                out.push_str(&sql[copied..i]);
                out.push_str(&value_literal(next.next()?));
                i += 1;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    if next.next().is_some() {
        return None;
    }
    Some(out)
}

/// The bytes a string or hex literal written by [`literal`] stands for (a
/// string's in UTF-8, the connection's character set); `None` for any other
/// form (a number, NULL).
pub(super) fn literal_bytes(v: &str) -> Option<Vec<u8>> {
    if let Some(hex) = v.strip_prefix("X'").and_then(|h| h.strip_suffix('\'')) {
        return (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
    }
    let inner = v.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        let c = match c {
            '\\' => match chars.next()? {
                '0' => '\0',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'b' => '\u{8}',
                'Z' => '\u{1a}',
                other => other,
            },
            '\'' => chars.next()?,
            c => c,
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Some(out)
}

/// A key `v` (as [`literal`] writes it) as a CHAR column stores it: padded with
/// spaces to the length `pad` says (InnoDB cascades that stored value). Any other
/// form, or a key long enough already, is `v` itself.
pub(super) fn padded(v: &str, pad: tether_fkplan::Pad) -> String {
    let Some(mut bytes) = literal_bytes(v) else {
        return v.to_string();
    };
    let hex = v.starts_with("X'");
    let (have, want) = match pad {
        tether_fkplan::Pad::Chars(n) if !hex => (String::from_utf8_lossy(&bytes).chars().count(), n),
        tether_fkplan::Pad::Chars(n) | tether_fkplan::Pad::Utf8Bytes(n) => (bytes.len(), n),
    };
    let want = usize::try_from(want).unwrap_or(usize::MAX);
    if have >= want {
        return v.to_string();
    }
    bytes.resize(bytes.len() + (want - have), b' ');
    match hex {
        true => tether_schema::sql::hex_literal(&bytes),
        false => tether_fkplan::string_literal(&bytes),
    }
}

/// A prepared statement's parameter as an SQL literal.
fn value_literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bytes(b) => tether_fkplan::string_literal(b),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        // MariaDB reads a FLOAT parameter as the DOUBLE of the same value (it
        // then compares equal to a FLOAT column's value): its exact digits.
        Value::Float(f) => format!("{:e}", f64::from(*f)),
        Value::Double(d) => format!("{d:e}"),
        other => format!("'{}'", other.text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_keys_are_padded_as_stored() {
        use tether_fkplan::Pad;
        assert_eq!(padded("'q'", Pad::Chars(4)), "'q   '");
        assert_eq!(padded("'é'", Pad::Utf8Bytes(5)), "'é   '");
        assert_eq!(padded("'é'", Pad::Chars(5)), "'é    '");
        assert_eq!(padded("'it\\'s'", Pad::Chars(6)), "'it\\'s  '");
        assert_eq!(padded("'abcde'", Pad::Chars(4)), "'abcde'");
        assert_eq!(padded("NULL", Pad::Chars(4)), "NULL");
        assert_eq!(padded("7", Pad::Chars(4)), "7");
        assert_eq!(literal_bytes("X'7A00'"), Some(vec![0x7a, 0]));
        assert_eq!(literal_bytes("'a\\0'"), Some(vec![b'a', 0]));
    }

    #[test]
    fn inlines_parameters_outside_quotes() {
        let sql = "UPDATE t SET a = ?, b = '?' WHERE id = ? AND c = `?`";
        let out = inline_params(sql, &[Value::Bytes(b"it's".to_vec()), Value::Int(7)]);
        assert_eq!(
            out.as_deref(),
            Some("UPDATE t SET a = 'it\\'s', b = '?' WHERE id = 7 AND c = `?`")
        );
        assert_eq!(
            inline_params("SELECT ?", &[Value::Float(1.1)]).as_deref(),
            Some("SELECT 1.100000023841858e0")
        );
        assert_eq!(inline_params("SELECT ?", &[]), None);
        assert_eq!(inline_params("SELECT 1", &[Value::Null]), None);
    }

    #[test]
    fn inlines_parameters_outside_comments() {
        let one = [Value::Int(1)];
        let run = |sql: &str| inline_params(sql, &one);
        assert_eq!(
            run("DELETE FROM p /* the customer's row */ WHERE id = ?").as_deref(),
            Some("DELETE FROM p /* the customer's row */ WHERE id = 1")
        );
        assert_eq!(
            run("DELETE FROM p /* which one? */ WHERE id = ?").as_deref(),
            Some("DELETE FROM p /* which one? */ WHERE id = 1")
        );
        assert_eq!(
            run("DELETE FROM p -- it's this one?\nWHERE id = ?").as_deref(),
            Some("DELETE FROM p -- it's this one?\nWHERE id = 1")
        );
        assert_eq!(
            run("DELETE FROM p # isn't it?\r\nWHERE id = ?").as_deref(),
            Some("DELETE FROM p # isn't it?\r\nWHERE id = 1")
        );
        // `--` not followed by a space is two minus signs.
        assert_eq!(
            run("UPDATE p SET v = 1--? WHERE 0").as_deref(),
            Some("UPDATE p SET v = 1--1 WHERE 0")
        );
        // A hint is a comment; an executable comment's code has placeholders.
        assert_eq!(
            run("DELETE /*+ no? */ FROM p WHERE id = ?").as_deref(),
            Some("DELETE /*+ no? */ FROM p WHERE id = 1")
        );
        assert_eq!(
            run("DELETE FROM p WHERE id = /*!50000 ? */ /* ? */").as_deref(),
            Some("DELETE FROM p WHERE id = /*!50000 1 */ /* ? */")
        );
        assert_eq!(
            run("DELETE FROM p WHERE id = /*M! '*/?' + */ ?").as_deref(),
            Some("DELETE FROM p WHERE id = /*M! '*/?' + */ 1")
        );
        // Multi-byte text around placeholders is kept.
        assert_eq!(
            run("UPDATE p SET v = 'é?' /* ü? */ WHERE id = ?").as_deref(),
            Some("UPDATE p SET v = 'é?' /* ü? */ WHERE id = 1")
        );
    }
}
