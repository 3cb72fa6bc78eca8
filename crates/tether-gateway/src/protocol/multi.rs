//! Several statements in one COM_QUERY: allowed only to a client that negotiated
//! `CLIENT_MULTI_STATEMENTS` (or turned it on with COM_SET_OPTION). For the others
//! the gateway finds the second statement and answers MariaDB's syntax error.

use crate::reply::ServerError;

/// Where the first statement of `sql` ends, and where a second one starts: text
/// after a `;` outside quotes and comments that is more than whitespace, comments
/// and `;`. Compound statements (`CREATE PROCEDURE ... BEGIN ...; ... END`, `BEGIN
/// NOT ATOMIC`) are one statement for MariaDB and are not split.
pub fn split(sql: &str) -> (usize, Option<usize>) {
    let lower = sql.trim_start().to_ascii_lowercase();
    if (lower.starts_with("create") && lower.contains("begin")) || lower.starts_with("begin not atomic") {
        return (sql.len(), None);
    }
    let b = sql.as_bytes();
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
                i = sql[i + 2..].find("*/").map_or(b.len(), |end| i + 2 + end + 2);
            }
            b'#' => i = sql[i..].find('\n').map_or(b.len(), |end| i + end + 1),
            b'-' if b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_none_or(u8::is_ascii_whitespace) => {
                i = sql[i..].find('\n').map_or(b.len(), |end| i + end + 1);
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
    (first.unwrap_or(sql.len()), None)
}

/// MariaDB's answer to a second statement without multi-statements: error 1064
/// near the second statement, with its line.
pub fn syntax_error(sql: &str, at: usize) -> ServerError {
    let near: String = sql[at..].chars().take(80).collect();
    let line = sql[..at].matches('\n').count() + 1;
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
        let e = syntax_error("SELECT 1;\nSELECT 2", 10);
        assert_eq!(e.code, 1064);
        assert!(e.message.ends_with("near 'SELECT 2' at line 2"), "{}", e.message);
    }
}
