//! Several statements in one COM_QUERY: allowed only to a client that negotiated
//! `CLIENT_MULTI_STATEMENTS` (or turned it on with COM_SET_OPTION). For the others
//! the gateway finds the second statement and answers MariaDB's syntax error.

use crate::reply::ServerError;

/// Where the first statement of `sql` ends, and where a second one starts: text
/// after a `;` outside quotes and comments that is more than whitespace, comments
/// and `;`. Compound statements (`CREATE PROCEDURE ... BEGIN ...; ... END`, `BEGIN
/// NOT ATOMIC`) are one statement for MariaDB and are not split.
pub fn split(sql: &str) -> (usize, Option<usize>) {
    split_bytes(sql.as_bytes())
}

/// [`split`] of a query's bytes, whatever their character set (one whose
/// multi-byte characters hold no ASCII bytes).
pub fn split_bytes(b: &[u8]) -> (usize, Option<usize>) {
    let lower = b.trim_ascii_start().to_ascii_lowercase();
    if (lower.starts_with(b"create") && lower.windows(5).any(|w| w == b"begin"))
        || lower.starts_with(b"begin not atomic")
    {
        return (b.len(), None);
    }
    let find = |from: usize, what: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(what.len()).position(|w| w == what))
            .map(|p| p + from)
    };
    let mut i = 0;
    let mut first: Option<usize> = None;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                if let Some(end) = first {
                    return (end, Some(i));
                }
                let quote = b[i];
                i += 1;
                while i < b.len() && b[i] != quote {
                    if b[i] == b'\\' && quote != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'*') && b.get(i + 2) != Some(&b'!') => {
                i = find(i + 2, b"*/").map_or(b.len(), |end| end + 2);
            }
            b'#' => i = find(i, b"\n").map_or(b.len(), |end| end + 1),
            b'-' if b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_none_or(u8::is_ascii_whitespace) => {
                i = find(i, b"\n").map_or(b.len(), |end| end + 1);
            }
            b';' => {
                first.get_or_insert(i);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                if let Some(end) = first {
                    return (end, Some(i));
                }
                i += 1;
            }
        }
    }
    (first.unwrap_or(b.len()), None)
}

/// MariaDB's answer to a second statement without multi-statements: error 1064
/// near the second statement, with its line.
pub fn syntax_error(sql: &[u8], at: usize) -> ServerError {
    let near: String = String::from_utf8_lossy(&sql[at..]).chars().take(80).collect();
    let line = sql[..at].iter().filter(|&&c| c == b'\n').count() + 1;
    ServerError::new(
        1064,
        "42000",
        format!(
            "You have an error in your SQL syntax; check the manual that corresponds to your \
             MariaDB server version for the right syntax to use near '{near}' at line {line}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_second_statement_outside_quotes_and_comments() {
        assert_eq!(split("SELECT 1"), (8, None));
        assert_eq!(split("SELECT 1;  -- done\n ; "), (8, None));
        let quoted = "SELECT ';x', \"a;b\", `c;d` /* ; */ # ;\n";
        assert_eq!(split(quoted), (quoted.len(), None));
        let escaped = "SELECT 'it\\'s;'";
        assert_eq!(split(escaped), (escaped.len(), None));
        assert_eq!(split("SELECT 1; SELECT 2"), (8, Some(10)));
        assert_eq!(split("SELECT 1 ;\n'x'"), (9, Some(11)));
        let procedure = "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END";
        assert_eq!(split(procedure), (procedure.len(), None));
        let e = syntax_error(b"SELECT 1;\nSELECT 2", 10);
        assert_eq!(e.code, 1064);
        assert!(e.message.ends_with("near 'SELECT 2' at line 2"), "{}", e.message);
    }
}
