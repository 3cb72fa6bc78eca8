//! Executable comments resolved as the backend server reads them: `/*! code */`
//! runs, `/*!NNNNN code */` runs when the server's version is at least NNNNN (5 or
//! 6 digits), and MariaDB's `/*M! code */`, `/*M!NNNNN code */` likewise on MariaDB
//! only. sqlparser unwraps every `/*!` whatever its version and reads `/*M!` as a
//! plain comment, so a managed write is planned (and run) on the text resolved here:
//! what the plan cascades is what the server deletes.

use std::borrow::Cow;

/// The backend server, as far as its reading of executable comments goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    /// `major * 10000 + minor * 100 + patch`: 101106 for 10.11.6.
    pub id: u32,
    /// MariaDB runs `/*M! */`; MySQL reads it as a plain comment.
    pub mariadb: bool,
}

impl ServerVersion {
    /// From `SELECT VERSION()` (`10.11.6-MariaDB-log`, `8.0.36`); the `5.5.5-`
    /// prefix MariaDB's handshake carries for old replicas is skipped.
    pub fn parse(text: &str) -> Option<ServerVersion> {
        let mariadb = text.contains("MariaDB");
        let text = if mariadb {
            text.strip_prefix("5.5.5-").unwrap_or(text)
        } else {
            text
        };
        let number = text.split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?;
        let mut parts = number.split('.').map(|p| p.parse::<u32>().ok());
        let (major, minor, patch) = (parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0));
        Some(ServerVersion {
            id: major * 10000 + minor * 100 + patch,
            mariadb,
        })
    }
}

/// True when `sql` may have an executable comment (a look for its opening).
pub fn may_have(sql: &str) -> bool {
    sql.contains("/*!") || sql.contains("/*M!")
}

/// The first non-ASCII space (U+00A0, U+3000, ...) that follows `--` in the code of
/// `sql` (executable comments are code; strings, quoted names and plain comments are
/// skipped as `lexing` reads them). MariaDB starts a `--` comment only before an ASCII
/// blank or control character, so there it reads two minus signs and the rest of the
/// line as code; sqlparser (0.63, `char::is_whitespace`) reads a comment to the end
/// of the line. A text holding one is not read by the gateway as the server runs it
/// (review r27c F1, F2).
pub fn dash_before_unicode_space(sql: &str, lexing: crate::protocol::multi::Lexing) -> Option<char> {
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                let escapes = lexing.escapes_in(c as u8);
                while let Some(d) = chars.next() {
                    if d == '\\' && escapes {
                        chars.next();
                    } else if d == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut rest = chars.clone();
                let executable = match rest.next() {
                    Some('!') => true,
                    Some('M') => rest.next() == Some('!'),
                    _ => false,
                };
                if !executable {
                    let mut prev = ' ';
                    for d in chars.by_ref() {
                        if prev == '*' && d == '/' {
                            break;
                        }
                        prev = d;
                    }
                }
            }
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                // The second `-` is not consumed unless a comment starts: `----<NBSP>`.
                let mut rest = chars.clone();
                rest.next();
                match rest.next() {
                    Some(d) if d.is_ascii_whitespace() || d.is_ascii_control() => {
                        for d in chars.by_ref() {
                            if d == '\n' {
                                break;
                            }
                        }
                    }
                    Some(d) if d.is_whitespace() => return Some(d),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    None
}

/// True when `sql` begins (after whitespace and plain comments) with an executable
/// comment: a statement whose first word the route step cannot see.
pub fn leads(sql: &str) -> bool {
    let lead = crate::route::skip_comments(sql);
    lead.starts_with("/*!") || lead.starts_with("/*M!")
}

/// `sql` as `server` runs it: the code of the executable comments that run, in
/// place of their markers (a space for each, as the server's lexer starts a token
/// after one), and a space for those that do not. Strings, quoted identifiers,
/// plain comments (`/*+ hints */` included, which MariaDB ignores) and line
/// comments are kept as they are. `backslash_escapes`: `\` escapes in strings
/// (the sql_mode has no NO_BACKSLASH_ESCAPES).
pub fn resolve(sql: &str, server: ServerVersion, backslash_escapes: bool) -> Cow<'_, str> {
    if !may_have(sql) {
        return Cow::Borrowed(sql);
    }
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    // Start of the text not yet copied to `out`.
    let mut copied = 0;
    // Executable comments open around the position (their `*/` closes them).
    let mut open = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = after_quoted(b, i, q, backslash_escapes && q != b'`'),
            b'#' => i = line_end(b, i),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                i = line_end(b, i)
            }
            b'*' if open > 0 && b.get(i + 1) == Some(&b'/') => {
                out.push_str(&sql[copied..i]);
                out.push(' ');
                open -= 1;
                i += 2;
                copied = i;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let marker = match (b.get(i + 2), b.get(i + 3)) {
                    (Some(b'!'), _) => 3,
                    (Some(b'M'), Some(b'!')) if server.mariadb => 4,
                    // A plain comment: ends at the first `*/`, nothing nests.
                    _ => {
                        i = find(b, i + 2, b"*/").map_or(b.len(), |end| end + 2);
                        continue;
                    }
                };
                out.push_str(&sql[copied..i]);
                out.push(' ');
                let code = i + marker;
                let digits = b[code..].iter().take(6).take_while(|c| c.is_ascii_digit()).count();
                let (runs, code) = if digits >= 5 {
                    let version: u32 = sql[code..code + digits].parse().expect("5 or 6 ASCII digits");
                    // MariaDB skips `/*!` comments of MySQL 5.7 and later
                    // (50700-99999: syntax it may not have), not `/*M!` ones.
                    let mysql_only = server.mariadb && marker == 3 && (50700..=99999).contains(&version);
                    (version <= server.id && !mysql_only, code + digits)
                } else {
                    // Not a version (fewer than 5 digits are code): runs.
                    (true, code)
                };
                if runs {
                    open += 1;
                    i = code;
                } else {
                    i = skipped_comment_end(b, code);
                }
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

/// The position after the quoted string or identifier opened by `quote` at
/// `start` (its end when unterminated): the quote written twice stays inside, and
/// `\` escapes the next character when `escapes`.
pub(crate) fn after_quoted(b: &[u8], start: usize, quote: u8, escapes: bool) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if escapes && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// The position of the end of the line at `i` (its `\n` stays code).
fn line_end(b: &[u8], i: usize) -> usize {
    find(b, i, b"\n").unwrap_or(b.len())
}

fn find(b: &[u8], from: usize, what: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(what.len())
        .position(|w| w == what)
        .map(|p| p + from)
}

/// The end of an executable comment whose version is above the server's, from its
/// code at `i`: as the server skips it (its `consume_comment` with one level of
/// nesting), the first `*/` not closing a nested `/* */` ends it, quotes or not.
fn skipped_comment_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            // A nested comment: its first `*/` closes it.
            i = find(b, i + 2, b"*/").map_or(b.len(), |end| end + 2);
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            return i + 2;
        } else {
            i += 1;
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::{dash_before_unicode_space, resolve, ServerVersion};
    use crate::protocol::multi::Lexing;

    #[test]
    fn dash_before_a_unicode_space_in_code() {
        for s in [
            "SELECT 1 --\u{a0}x",
            "SELECT 1 ----\u{3000}x",
            "SELECT /*! 1 --\u{a0} */ 2",
            "SELECT '\\'' --\u{a0}",
        ] {
            assert!(dash_before_unicode_space(s, Lexing::DEFAULT).is_some(), "{s}");
        }
        for s in [
            "SELECT '--\u{a0}'",
            "SELECT `--\u{a0}`",
            "SELECT 1 -- x --\u{a0}",
            "SELECT 1 /* --\u{a0} */",
            "SELECT 1 # --\u{a0}",
            "SELECT 1 - -\u{a0}",
        ] {
            assert_eq!(dash_before_unicode_space(s, Lexing::DEFAULT), None, "{s}");
        }
        // Under NO_BACKSLASH_ESCAPES `'\'` ends the string: the `--` is code.
        let s = "SELECT '\\' --\u{a0}'";
        assert!(dash_before_unicode_space(s, Lexing::escapes(false)).is_some());
        assert_eq!(dash_before_unicode_space(s, Lexing::DEFAULT), None);
    }

    const MARIADB_10_11: ServerVersion = ServerVersion {
        id: 101106,
        mariadb: true,
    };
    const MYSQL_8: ServerVersion = ServerVersion {
        id: 80036,
        mariadb: false,
    };

    fn on(server: ServerVersion, sql: &str) -> String {
        resolve(sql, server, true).into_owned()
    }

    #[test]
    fn versions_are_read_from_the_servers_text() {
        let v = |t: &str| ServerVersion::parse(t).expect(t);
        assert_eq!(v("10.11.6-MariaDB-1:10.11.6+maria~ubu2204"), MARIADB_10_11);
        assert_eq!(v("5.5.5-10.11.6-MariaDB-log"), MARIADB_10_11);
        assert_eq!(v("8.0.36"), MYSQL_8);
        assert_eq!(v("11.4.2-MariaDB").id, 110402);
        assert_eq!(ServerVersion::parse("unknown"), None);
    }

    #[test]
    fn comments_run_by_version_as_mariadb_runs_them() {
        let s = |sql| on(MARIADB_10_11, sql);
        assert_eq!(
            s("delete from p where id=3 /*M!100000 or id=4 */;"),
            "delete from p where id=3   or id=4  ;"
        );
        assert_eq!(
            s("delete from p where id=1 /*!110000 or id=2 */;"),
            "delete from p where id=1  ;"
        );
        // MariaDB skips MySQL 5.7+ versions (50700-99999) in `/*!`, not in `/*M!`
        // (natively `SELECT 1 /*!50700 +1 */` is 1, `/*!50699 +1 */` 2).
        assert_eq!(
            s("delete from p where id=1 /*!50700 or id=2 */"),
            "delete from p where id=1  "
        );
        assert_eq!(
            s("delete from p where id=1 /*!99999 or id=2 */"),
            "delete from p where id=1  "
        );
        assert_eq!(
            s("delete from p where id=1 /*!50699 or id=2 */"),
            "delete from p where id=1   or id=2  "
        );
        assert_eq!(
            s("delete from p where id=1 /*M!50700 or id=2 */"),
            "delete from p where id=1   or id=2  "
        );
        assert_eq!(
            s("delete from p where id=1 /*! or id=2 */"),
            "delete from p where id=1   or id=2  "
        );
        assert_eq!(
            s("delete from p where id=1 /*M! or id=2 */"),
            "delete from p where id=1   or id=2  "
        );
        assert_eq!(
            s("delete from p where id=1 /*M!110000 or id=2 */"),
            "delete from p where id=1  "
        );
        // Exactly the server's version runs; six digits are one version.
        assert_eq!(
            s("delete from p where id=1/*!101106or id=2*/"),
            "delete from p where id=1 or id=2 "
        );
        assert_eq!(
            s("delete from p where id=1/*!101107or id=2*/"),
            "delete from p where id=1 "
        );
        // Fewer than five digits are code.
        assert_eq!(s("select /*!1234 */"), "select  1234  ");
        assert_eq!(s("/*!40000 DELETE FROM p */"), "  DELETE FROM p  ");
    }

    #[test]
    fn mysql_reads_mariadb_comments_as_plain_ones() {
        assert_eq!(
            on(
                MYSQL_8,
                "delete from p where id=3 /*M!100000 or id=4 */ /*!80000 or id=5 */"
            ),
            "delete from p where id=3 /*M!100000 or id=4 */   or id=5  "
        );
    }

    #[test]
    fn quotes_plain_comments_and_hints_are_left_alone() {
        let s = |sql| on(MARIADB_10_11, sql);
        for sql in [
            "delete from p where v = '/*!110000 or id=2 */'",
            "delete from p where v = \"/*M!1 x */\"",
            "delete from `/*!110000 x */` where 1",
            "delete /*+ no_index(p) */ from p where id=1",
            "delete from p where id=1 /* /*!110000 or id=2 */",
            "delete from p where id=1 -- /*!110000 or id=2 */",
            "delete from p where id=1 # /*!110000 or id=2 */",
            "delete from p where v = 'it''s /*!110000 x */' and w = 'a\\' /*!110000 x */'",
        ] {
            assert_eq!(s(sql), sql);
        }
        // Without backslash escapes the string ends at the second quote.
        assert_eq!(
            resolve(
                "delete from p where v = 'a\\' /*!110000 or id=2 */ ",
                MARIADB_10_11,
                false
            ),
            "delete from p where v = 'a\\'   "
        );
        // Code that runs keeps its strings, whatever they hold.
        assert_eq!(
            s("delete from p where id=1 /*!50000 or v='*/' */"),
            "delete from p where id=1   or v='*/'  "
        );
    }

    #[test]
    fn a_skipped_comment_ends_as_the_server_skips_it() {
        let s = |sql| on(MARIADB_10_11, sql);
        // One nested plain comment is skipped with it.
        assert_eq!(
            s("delete from p where id=1 /*!110000 or id=2 /* two */ or id=3 */"),
            "delete from p where id=1  "
        );
        // Quotes do not hide its end.
        assert_eq!(
            s("delete from p where id=1 /*!110000 or v='*/' and 1"),
            "delete from p where id=1  ' and 1"
        );
    }
}
