//! Queries whose bytes are not UTF-8. Client-side-prepare drivers (pymysql,
//! mysqlclient) send a bytes parameter as `_binary'<raw bytes>'`: the statement is
//! then UTF-8 but for those strings, which [`binary_strings_as_hex`] writes as
//! `_binary X'<hex>'`, the same value to the server, so the gateway reads (and
//! plans) the statement as any other.

use crate::comments::after_quoted;

/// `sql` with each `_binary` string whose bytes are not UTF-8 written as a hex
/// literal (`_binary'\xff\0'` -> `_binary X'FF00'`, the introducer kept: the same
/// binary string); `None` when bytes that are not UTF-8 are elsewhere (text in
/// another character set, a string without the introducer), or when such a string
/// is followed by another (MariaDB joins adjacent strings, a hex literal joins
/// none). `backslash_escapes`: the sql_mode has no NO_BACKSLASH_ESCAPES.
pub fn binary_strings_as_hex(sql: &[u8], backslash_escapes: bool) -> Option<String> {
    let mut out = Vec::with_capacity(sql.len() * 2);
    let mut copied = 0;
    let mut i = 0;
    while i < sql.len() {
        match sql[i] {
            q @ (b'\'' | b'"') => {
                let Some(end) = quoted_end(sql, i, backslash_escapes) else {
                    // Unterminated: the server's syntax error, unless it is UTF-8.
                    return String::from_utf8(sql.to_vec()).ok();
                };
                let inner = &sql[i + 1..end - 1];
                if std::str::from_utf8(inner).is_err() {
                    if !after_binary_introducer(&sql[..i]) {
                        return None;
                    }
                    let next = sql[end..].iter().find(|c| !c.is_ascii_whitespace());
                    if matches!(next, Some(b'\'' | b'"')) {
                        return None;
                    }
                    out.extend_from_slice(&sql[copied..i]);
                    out.extend_from_slice(b" X'");
                    for byte in unescape(inner, q, backslash_escapes) {
                        out.extend_from_slice(format!("{byte:02X}").as_bytes());
                    }
                    out.push(b'\'');
                    copied = end;
                }
                i = end;
            }
            b'`' => i = after_quoted(sql, i, b'`', false),
            _ => i += 1,
        }
    }
    out.extend_from_slice(&sql[copied..]);
    String::from_utf8(out).ok()
}

/// Every byte of `sql` that is not UTF-8 is inside a `'...'` string (a value, not
/// a name or a keyword): a lossy view of it names the same tables and columns.
pub fn not_utf8_only_in_strings(sql: &[u8], backslash_escapes: bool) -> bool {
    let mut outside = Vec::with_capacity(sql.len());
    let mut i = 0;
    while i < sql.len() {
        match sql[i] {
            b'\'' => match quoted_end(sql, i, backslash_escapes) {
                Some(end) => i = end,
                None => return false,
            },
            c => {
                outside.push(c);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&outside).is_ok()
}

/// The position after the string opened at `start`; `None` when unterminated.
fn quoted_end(b: &[u8], start: usize, backslash_escapes: bool) -> Option<usize> {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if backslash_escapes && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return Some(i + 1);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// `before` ends with the `_binary` introducer (and whitespace).
fn after_binary_introducer(before: &[u8]) -> bool {
    let word = before.trim_ascii_end();
    let Some(start) = word.len().checked_sub(b"_binary".len()) else {
        return false;
    };
    word[start..].eq_ignore_ascii_case(b"_binary")
        && !word[..start]
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$' || *c >= 0x80)
}

/// A string's bytes as the server reads them: the quote written twice is one,
/// and with `backslash_escapes` MariaDB's escapes (`\%` and `\_` keep their
/// backslash; another escaped byte is itself).
fn unescape(inner: &[u8], quote: u8, backslash_escapes: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if backslash_escapes && c == b'\\' && i + 1 < inner.len() {
            let e = inner[i + 1];
            match e {
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'Z' => out.push(26),
                b'%' | b'_' => out.extend_from_slice(&[b'\\', e]),
                other => out.push(other),
            }
            i += 2;
        } else if c == quote && inner.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::binary_strings_as_hex;

    #[test]
    fn binary_strings_become_hex_literals() {
        let run = |sql: &[u8]| binary_strings_as_hex(sql, true);
        // pymysql's escaping of b'\xff\xfe\x00abc' and of a quote and backslash.
        assert_eq!(
            run(b"INSERT INTO b VALUES (1, _binary'\xff\xfe\\0abc')").as_deref(),
            Some("INSERT INTO b VALUES (1, _binary X'FFFE00616263')")
        );
        assert_eq!(
            run(b"SELECT _BINARY '\xe9\\'\\\\\\n''x', 'caf\xc3\xa9'").as_deref(),
            Some("SELECT _BINARY  X'E9275C0A2778', 'caf\u{e9}'")
        );
        assert_eq!(
            binary_strings_as_hex(b"SELECT _binary'\xe9\\'", false).as_deref(),
            Some("SELECT _binary X'E95C'")
        );
        // Not UTF-8 elsewhere: in a plain string, in a comment, joined strings.
        assert_eq!(run(b"SELECT '\xe9'"), None);
        assert_eq!(run(b"SELECT x_binary'\xe9'"), None);
        assert_eq!(run(b"SELECT 1 /* \xe9 */"), None);
        assert_eq!(run(b"SELECT _binary'\xe9' 'a'"), None);
        assert_eq!(run(b"SELECT _binary'\xe9"), None);
        assert_eq!(run(b"SELECT _binary'\xe9\\'"), None);
    }

    #[test]
    fn bytes_not_utf8_found_in_strings_or_elsewhere() {
        use super::not_utf8_only_in_strings as only;
        assert!(only(b"INSERT INTO t VALUES (1, '\xe9\\'\xe9')", true));
        assert!(!only(b"INSERT INTO t\xe9 VALUES (1, 'a')", true));
        assert!(!only(b"INSERT INTO t VALUES (1, \"\xe9\")", true));
        assert!(!only(b"INSERT INTO t VALUES (1, '\xe9", true));
    }
}
