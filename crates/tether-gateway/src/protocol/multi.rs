//! Several statements in one COM_QUERY: allowed only to a client that negotiated
//! `CLIENT_MULTI_STATEMENTS` (or turned it on with COM_SET_OPTION). For the others
//! the gateway finds the second statement and answers MariaDB's syntax error.

use crate::reply::ServerError;

/// How the session's sql_mode has the server read quotes, which decides where
/// its statements end: `\` escapes the next character in a string unless the
/// sql_mode has NO_BACKSLASH_ESCAPES (the server's status flag says so), and `"`
/// quotes a name (no escapes, as a backtick) under ANSI_QUOTES. Every reader
/// that splits or tokenizes a client's text reads it this way (review r23h F2:
/// `SELECT '\'; X; SELECT '\'` is three statements under NO_BACKSLASH_ESCAPES).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lexing {
    /// The sql_mode lacks NO_BACKSLASH_ESCAPES.
    pub backslash_escapes: bool,
    /// The sql_mode has ANSI_QUOTES.
    pub ansi_quotes: bool,
}

impl Lexing {
    /// MariaDB's default sql_mode: backslash escapes, `"` quotes strings.
    pub const DEFAULT: Lexing = Lexing {
        backslash_escapes: true,
        ansi_quotes: false,
    };

    /// The default but for the backslash escapes.
    pub fn escapes(backslash_escapes: bool) -> Lexing {
        Lexing {
            backslash_escapes,
            ..Lexing::DEFAULT
        }
    }

    /// Whether `\` escapes the next character inside text quoted by `quote`.
    pub fn escapes_in(self, quote: u8) -> bool {
        self.backslash_escapes && quote != b'`' && !(quote == b'"' && self.ansi_quotes)
    }

    /// Whether ANSI_QUOTES would cut `sql` into other statements than its
    /// absence (a `"` text with a backslash in it, while backslashes escape):
    /// only then must the session's sql_mode be read to split it.
    pub fn ansi_quotes_matter(self, sql: &[u8]) -> bool {
        if !self.backslash_escapes || !sql.contains(&b'"') || !sql.contains(&b'\\') {
            return false;
        }
        let plain = Lexing {
            ansi_quotes: false,
            ..self
        };
        let ansi = Lexing {
            ansi_quotes: true,
            ..self
        };
        boundaries(sql, plain) != boundaries(sql, ansi)
    }

    /// How sql_mode `mode` (as `@@sql_mode` shows it, composite modes expanded)
    /// reads quotes.
    pub fn of_sql_mode(mode: &str) -> Lexing {
        let has = |flag: &str| mode.split(',').any(|f| f.trim().eq_ignore_ascii_case(flag));
        Lexing {
            backslash_escapes: !has("NO_BACKSLASH_ESCAPES"),
            ansi_quotes: has("ANSI_QUOTES"),
        }
    }

    /// Whether every sql_mode cuts `sql` into the same statements (with and
    /// without NO_BACKSLASH_ESCAPES and ANSI_QUOTES). A query whose statement may
    /// change the sql_mode for the statements after it (`SET sql_mode = ...;
    /// SELECT '\\'; ...`) is readable only then.
    pub fn readings_agree(sql: &[u8]) -> bool {
        let all =
            [(true, false), (true, true), (false, false), (false, true)].map(|(backslash_escapes, ansi_quotes)| {
                boundaries(
                    sql,
                    Lexing {
                        backslash_escapes,
                        ansi_quotes,
                    },
                )
            });
        all.iter().all(|b| *b == all[0])
    }
}

impl Lexing {
    /// `sql` as a reader that always takes `\\` for an escape in strings (the
    /// managed planner's sqlparser, MySqlDialect) must see it to read the strings
    /// the server reads: under NO_BACKSLASH_ESCAPES each backslash in a string is
    /// doubled (`'\\'`, one backslash, becomes `'\\\\'`); otherwise `sql` as is.
    pub fn as_escaped(self, sql: &str) -> std::borrow::Cow<'_, str> {
        if self.backslash_escapes || !sql.contains('\\') {
            return sql.into();
        }
        let b = sql.as_bytes();
        let mut out = String::with_capacity(sql.len() + 8);
        let mut i = 0;
        let mut copied = 0;
        while i < b.len() {
            let end = match b[i] {
                b'\'' | b'"' | b'`' => {
                    let quote = b[i];
                    let string = quote == b'\'' || (quote == b'"' && !self.ansi_quotes);
                    let close = b[i + 1..]
                        .iter()
                        .position(|&c| c == quote)
                        .map_or(b.len(), |p| i + 1 + p + 1);
                    if string {
                        out.push_str(&sql[copied..i]);
                        out.push_str(&sql[i..close].replace('\\', "\\\\"));
                        copied = close;
                    }
                    close
                }
                b'/' if b.get(i + 1) == Some(&b'*') && b.get(i + 2) != Some(&b'!') => {
                    sql[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2)
                }
                b'#' => sql[i..].find('\n').map_or(b.len(), |p| i + p + 1),
                b'-' if b.get(i + 1) == Some(&b'-')
                    && b.get(i + 2)
                        .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
                {
                    sql[i..].find('\n').map_or(b.len(), |p| i + p + 1)
                }
                _ => i + 1,
            };
            i = end;
        }
        out.push_str(&sql[copied..]);
        out.into()
    }
}

/// Where each statement of `sql` starts, as [`split_bytes`] reads them.
fn boundaries(sql: &[u8], lexing: Lexing) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while let (_, Some(next)) = split_bytes(&sql[at..], lexing) {
        at += next;
        out.push(at);
    }
    out
}

/// Where the first statement of `sql` ends, and where a second one starts: text
/// after a `;` outside quotes and comments that is more than whitespace, comments
/// and `;`. Compound statements (`CREATE PROCEDURE ... BEGIN ...; ... END`, `BEGIN
/// NOT ATOMIC`) are one statement for MariaDB and are not split. Quotes are
/// read as `lexing` says.
pub fn split(sql: &str, lexing: Lexing) -> (usize, Option<usize>) {
    split_bytes(sql.as_bytes(), lexing)
}

/// [`split`] of a query's bytes, whatever their character set (one whose
/// multi-byte characters hold no ASCII bytes).
pub fn split_bytes(b: &[u8], lexing: Lexing) -> (usize, Option<usize>) {
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
                let escapes = lexing.escapes_in(quote);
                i += 1;
                while i < b.len() && b[i] != quote {
                    if b[i] == b'\\' && escapes {
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
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
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

/// A refusal for text whose executable comments could hide a statement from the
/// gateway's readers: one holding a quote it does not close, a `;`, `#` or `--`, that
/// MariaDB may read otherwise than they do. Its readers take `/*! ... */` as code and `/*M! ...
/// */` as a plain comment, MariaDB runs either by its version (and skips `/*!` of
/// MySQL 5.7 and later): so a quote in a skipped one, or in a `/*M!` one that runs,
/// moves where the gateway sees a string and a `;` (a DELETE or an FK-creating ALTER
/// run past the sharded guard, `disallow` or a client's single-statement mode).
/// `/*!` comments without a version or of a version below 50700 (what mysqldump
/// writes: `/*!50003 TRIGGER ... */`, `/*!50017 DEFINER=`u`@`h` */`) run on every
/// MariaDB and are read as the gateway reads them; they pass.
pub fn hidden_by_comments(b: &[u8]) -> Option<ServerError> {
    let find = |from: usize, what: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(what.len()).position(|w| w == what))
            .map(|p| p + from)
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = crate::comments::after_quoted(b, i, q, q != b'`'),
            b'#' => i = find(i, b"\n").map_or(b.len(), |end| end + 1),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                i = find(i, b"\n").map_or(b.len(), |end| end + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let marker = match (b.get(i + 2), b.get(i + 3)) {
                    (Some(b'!'), _) => Some(3),
                    (Some(b'M'), Some(b'!')) => Some(4),
                    _ => None,
                };
                let end = find(i + 2, b"*/").unwrap_or(b.len());
                if let Some(marker) = marker {
                    let code = (i + marker).min(end);
                    let digits = b[code..end].iter().take(6).take_while(|c| c.is_ascii_digit()).count();
                    let version = std::str::from_utf8(&b[code..code + digits])
                        .ok()
                        .and_then(|d| d.parse::<u32>().ok())
                        .filter(|_| digits >= 5);
                    let plain_code = marker == 3 && version.is_none_or(|v| v < 50700);
                    let body = &b[code + digits..end];
                    // A quote left open in it, a `;`, or a line comment: what can move
                    // a string's or a statement's end (a closed string, a nested plain
                    // comment cannot).
                    let open_quote = [b'\'', b'"', b'`']
                        .iter()
                        .any(|q| body.iter().filter(|&c| c == q).count() % 2 == 1);
                    let risky = open_quote
                        || body.iter().any(|&c| c == b';' || c == b'#')
                        || body.windows(2).any(|w| w == b"--");
                    if risky && !plain_code {
                        return Some(ServerError::gateway(
                            "tether gateway: an executable comment (`/*!NNNNN ...*/` of MySQL 5.7 or later, or \
                             `/*M! ...*/`) holding a quote it does not close, `;`, `#` or `--` is refused: whether \
                             the server runs or skips it decides where a string or a statement ends",
                        ));
                    }
                }
                i = end + 2;
            }
            _ => i += 1,
        }
    }
    None
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
        assert_eq!(split("SELECT 1", Lexing::DEFAULT), (8, None));
        assert_eq!(split("SELECT 1;  -- done\n ; ", Lexing::DEFAULT), (8, None));
        let quoted = "SELECT ';x', \"a;b\", `c;d` /* ; */ # ;\n";
        assert_eq!(split(quoted, Lexing::DEFAULT), (quoted.len(), None));
        let escaped = "SELECT 'it\\'s;'";
        assert_eq!(split(escaped, Lexing::DEFAULT), (escaped.len(), None));
        assert_eq!(split("SELECT 1; SELECT 2", Lexing::DEFAULT), (8, Some(10)));
        assert_eq!(split("SELECT 1 ;\n'x'", Lexing::DEFAULT), (9, Some(11)));
        let procedure = "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END";
        assert_eq!(split(procedure, Lexing::DEFAULT), (procedure.len(), None));
        // Under NO_BACKSLASH_ESCAPES `'\\'` is a whole string (review r23h F2).
        let hidden = "SELECT '\\'; DELETE FROM p; SELECT '\\'";
        assert_eq!(split(hidden, Lexing::DEFAULT), (hidden.len(), None));
        assert_eq!(split(hidden, Lexing::escapes(false)), (10, Some(12)));
        // Under ANSI_QUOTES `"\\"` is a name: no escape in it.
        let named = "SELECT \"\\\"; DELETE FROM p; SELECT \"\\\"";
        let ansi = Lexing {
            ansi_quotes: true,
            ..Lexing::DEFAULT
        };
        assert_eq!(split(named, Lexing::DEFAULT), (named.len(), None));
        assert_eq!(split(named, ansi), (10, Some(12)));
        assert!(Lexing::DEFAULT.ansi_quotes_matter(named.as_bytes()));
        assert!(!Lexing::escapes(false).ansi_quotes_matter(named.as_bytes()));
        assert!(!Lexing::DEFAULT.ansi_quotes_matter(b"SELECT \"a\\\"b\""));
        assert!(!Lexing::readings_agree(hidden.as_bytes()));
        assert!(Lexing::readings_agree(b"SET sql_mode = ''; SELECT 'a\\nb'"));
        assert_eq!(
            Lexing::of_sql_mode("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES,ANSI_QUOTES"),
            Lexing {
                backslash_escapes: false,
                ansi_quotes: true
            }
        );
        assert_eq!(Lexing::of_sql_mode(""), Lexing::DEFAULT);
        let nbe = Lexing::escapes(false);
        assert_eq!(
            nbe.as_escaped("DELETE FROM p WHERE a = '\\' /* '\\ */ AND b = \"x\\y\" AND `c\\` = 1"),
            "DELETE FROM p WHERE a = '\\\\' /* '\\ */ AND b = \"x\\\\y\" AND `c\\` = 1"
        );
        assert_eq!(Lexing::DEFAULT.as_escaped("SELECT '\\''"), "SELECT '\\''");
        let e = syntax_error(b"SELECT 1;\nSELECT 2", 10);
        assert_eq!(e.code, 1064);
        assert!(e.message.ends_with("near 'SELECT 2' at line 2"), "{}", e.message);
    }
}
