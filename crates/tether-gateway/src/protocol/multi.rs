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

    /// Whether a `"` opens quoted text in the code of `sql` read as `self` says
    /// (outside strings, backtick names and comments): then ANSI_QUOTES decides
    /// whether it is a string or a name.
    pub fn double_quote_in_code(self, sql: &[u8]) -> bool {
        if !sql.contains(&b'"') {
            return false;
        }
        let mut found = false;
        scan(sql, self, |item| {
            if let Item::Quoted { start, .. } = item {
                found |= sql[start] == b'"';
            }
        });
        found
    }

    /// Whether, under ANSI_QUOTES, `sql` holds a `"` name that the gateway's
    /// readers might read otherwise than MariaDB (review r24e F2, F3): a `"`
    /// name holding a backslash (MariaDB reads none as an escape there; a
    /// reader of `"` strings would), or quoted text and comments that do not
    /// span the same bytes as without ANSI_QUOTES. Such a query is refused
    /// rather than read by every reader in the mode's way.
    pub fn ansi_reading_differs(self, sql: &[u8]) -> bool {
        if !self.ansi_quotes || !sql.contains(&b'"') {
            return false;
        }
        let mut backslash = false;
        scan(sql, self, |item| {
            if let Item::Quoted { start, end, .. } = item {
                backslash |= sql[start] == b'"' && sql[start..end].contains(&b'\\');
            }
        });
        backslash
            || quoted_spans(sql, self)
                != quoted_spans(
                    sql,
                    Lexing {
                        ansi_quotes: false,
                        ..self
                    },
                )
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

    /// Whether `sql` holds a statement that may change the session's sql_mode
    /// before later statements of it that the sql_modes read apart (review r23n
    /// N4): then the gateway would have to guess where they end and what is code
    /// in them. `current`: the readings the session's sql_mode may give now (its
    /// statements up to the change are read so). A statement may change the
    /// sql_mode when its code holds the name `sql_mode` (a word, or quoted as a
    /// name: `SET sql_mode`, `SET @@SESSION.sql_mode`, `` SET @@`sql_mode` ``,
    /// `SET STATEMENT sql_mode = ... FOR`) or the keyword `EXECUTE` or `PREPARE`
    /// (dynamic SQL, its text out of sight); strings and plain comments are not
    /// code (a value `'Don\'t panic; prepare first'` changes nothing), executable
    /// comments are. What follows it is read apart when its quotes and comments
    /// do not span the same bytes in all four readings (with and without
    /// NO_BACKSLASH_ESCAPES and ANSI_QUOTES).
    pub fn mode_change_unreadable(sql: &[u8], current: &[Lexing]) -> bool {
        current.iter().any(|&lexing| {
            let mut at = 0;
            loop {
                let (end, next) = split_bytes(&sql[at..], lexing);
                if let Some(word) = sql_mode_change_at(&sql[at..at + end], lexing) {
                    // From the word on: `SET STATEMENT sql_mode = ... FOR` and a
                    // statement after it alike.
                    let rest = &sql[at + word..];
                    let all = Lexing::ALL.map(|l| quoted_spans(rest, l));
                    return all.iter().any(|s| *s != all[0]);
                }
                match next {
                    Some(n) => at += n,
                    None => return false,
                }
            }
        })
    }

    /// The four readings of quotes.
    pub const ALL: [Lexing; 4] = [
        Lexing {
            backslash_escapes: true,
            ansi_quotes: false,
        },
        Lexing {
            backslash_escapes: true,
            ansi_quotes: true,
        },
        Lexing {
            backslash_escapes: false,
            ansi_quotes: false,
        },
        Lexing {
            backslash_escapes: false,
            ansi_quotes: true,
        },
    ];
}

/// Whether the code of `statement`, read as `lexing` says, names `sql_mode`
/// (a word or a quoted name: `SET sql_mode`, `SET @@SESSION.sql_mode`,
/// `SET STATEMENT sql_mode = ... FOR`): it may change how dynamic SQL run
/// after it reads its text (review r26h F1).
pub fn names_sql_mode(statement: &str, lexing: Lexing) -> bool {
    code_words(statement.as_bytes(), lexing)
        .iter()
        .any(|(_, word, _)| word.eq_ignore_ascii_case(b"sql_mode"))
}

/// Where the code of `statement`, read as `lexing` says, first holds what may
/// change the sql_mode (see [`Lexing::mode_change_unreadable`]).
fn sql_mode_change_at(statement: &[u8], lexing: Lexing) -> Option<usize> {
    code_words(statement, lexing)
        .into_iter()
        .find_map(|(at, word, quoted)| {
            (word.eq_ignore_ascii_case(b"sql_mode")
                || (!quoted && (word.eq_ignore_ascii_case(b"execute") || word.eq_ignore_ascii_case(b"prepare"))))
            .then_some(at)
        })
}

/// Where the quoted texts and plain comments of `sql` start and end, read as
/// `lexing` says.
fn quoted_spans(b: &[u8], lexing: Lexing) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    scan(b, lexing, |item| {
        if let Item::Quoted { start, end, .. } | Item::Comment { start, end } = item {
            out.push((start, end));
        }
    });
    out
}

/// What [`scan`] finds in a text.
enum Item {
    /// Quoted text from `start` to `end` (quotes included), a name when `name`.
    Quoted { start: usize, end: usize, name: bool },
    /// A plain comment.
    Comment { start: usize, end: usize },
    /// A word of code.
    Word { start: usize, end: usize },
}

/// Reads `b` as `lexing` says: quoted texts, plain comments and words of code
/// (executable comments `/*!`, `/*M!` and a version after them are code).
fn scan(b: &[u8], lexing: Lexing, mut found: impl FnMut(Item)) {
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let find = |from: usize, what: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(what.len()).position(|w| w == what))
            .map(|p| p + from)
    };
    let mut i = 0;
    while i < b.len() {
        let start = i;
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i = crate::comments::after_quoted(b, i, q, lexing.escapes_in(q));
                let name = q == b'`' || (q == b'"' && lexing.ansi_quotes);
                found(Item::Quoted { start, end: i, name });
            }
            b'/' if b.get(i + 1) == Some(&b'*') => match (b.get(i + 2), b.get(i + 3)) {
                (Some(b'!'), _) | (Some(b'M'), Some(b'!')) => {
                    i += if b[i + 2] == b'!' { 3 } else { 4 };
                    i += b[i..].iter().take(6).take_while(|c| c.is_ascii_digit()).count();
                }
                _ => {
                    i = find(i + 2, b"*/").map_or(b.len(), |end| end + 2);
                    found(Item::Comment { start, end: i });
                }
            },
            b'#' => {
                i = find(i, b"\n").map_or(b.len(), |end| end + 1);
                found(Item::Comment { start, end: i });
            }
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                i = find(i, b"\n").map_or(b.len(), |end| end + 1);
                found(Item::Comment { start, end: i });
            }
            c if word_byte(c) => {
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                found(Item::Word { start, end: i });
            }
            _ => i += 1,
        }
    }
}

/// The words of `sql`'s code read as `lexing` says: where each starts (its
/// quote for a quoted one), the word, and whether it was quoted as a name (`` `x`
/// ``, `"x"` under ANSI_QUOTES).
fn code_words(b: &[u8], lexing: Lexing) -> Vec<(usize, &[u8], bool)> {
    let mut out = Vec::new();
    scan(b, lexing, |item| match item {
        Item::Quoted { start, end, name: true } => {
            out.push((start, &b[start + 1..end.saturating_sub(1).max(start + 1)], true))
        }
        Item::Word { start, end } => out.push((start, &b[start..end], false)),
        _ => {}
    });
    out
}

impl Lexing {
    /// `sql` as a reader that always takes `\\` for an escape in strings and `"`
    /// for a string quote (the managed planner's and the DDL check's sqlparser,
    /// MySqlDialect) must see it to read what the server reads: under
    /// NO_BACKSLASH_ESCAPES each backslash in a string is doubled (`'\\'`, one
    /// backslash, becomes `'\\\\'`); under ANSI_QUOTES a `"` name becomes a
    /// backtick one (`"a\\"` is the name `a\\`, not a string that runs on). Else
    /// `sql` as is.
    pub fn as_escaped(self, sql: &str) -> std::borrow::Cow<'_, str> {
        let names = self.ansi_quotes && sql.contains('"');
        if !names && (self.backslash_escapes || !sql.contains('\\')) {
            return sql.into();
        }
        let b = sql.as_bytes();
        let mut out = String::with_capacity(sql.len() + 8);
        let mut copied = 0;
        scan(b, self, |item| {
            let Item::Quoted { start, end, name } = item else {
                return;
            };
            let quote = b[start];
            let closed = end > start + 1 && b[end - 1] == quote;
            if name && quote == b'"' && closed {
                out.push_str(&sql[copied..start]);
                out.push('`');
                out.push_str(&sql[start + 1..end - 1].replace("\"\"", "\"").replace('`', "``"));
                out.push('`');
                copied = end;
            } else if !name && !self.backslash_escapes {
                out.push_str(&sql[copied..start]);
                out.push_str(&sql[start..end].replace('\\', "\\\\"));
                copied = end;
            }
        });
        out.push_str(&sql[copied..]);
        out.into()
    }
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
        assert!(Lexing::DEFAULT.double_quote_in_code(named.as_bytes()));
        assert!(!Lexing::DEFAULT.double_quote_in_code(b"SELECT '\"a\"', `\"b\"` /* \"c\" */"));
        let any = [Lexing::DEFAULT];
        assert!(Lexing::mode_change_unreadable(
            format!("SET sql_mode = ''; {hidden}").as_bytes(),
            &any
        ));
        assert!(!Lexing::mode_change_unreadable(
            b"SET sql_mode = ''; SELECT 'a\\nb'",
            &any
        ));
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
        let ansi = Lexing {
            ansi_quotes: true,
            ..Lexing::DEFAULT
        };
        assert_eq!(
            ansi.as_escaped("SELECT \"a\\\", \"b\"\"`c\", 'd\\'\"' /* \"e\" */ FROM `t`"),
            "SELECT `a\\`, `b\"``c`, 'd\\'\"' /* \"e\" */ FROM `t`"
        );
        assert_eq!(Lexing::escapes(false).as_escaped("SELECT 'a''\\'"), "SELECT 'a''\\\\'");
        let e = syntax_error(b"SELECT 1;\nSELECT 2", 10);
        assert_eq!(e.code, 1064);
        assert!(e.message.ends_with("near 'SELECT 2' at line 2"), "{}", e.message);
    }

    #[test]
    fn refuses_only_a_mode_change_in_code_before_statements_read_apart() {
        let any = [Lexing::DEFAULT, Lexing::escapes(false)];
        // Review r23n N4: the words in strings and plain comments change nothing.
        for quiet in [
            "INSERT INTO t VALUES ('Don\\'t panic; prepare first\\n')",
            "INSERT INTO t VALUES ('SET sql_mode = x; EXECUTE s', 'a\\'), ('b\\'')",
            "SELECT 'a\\''; SELECT 1 /* prepare */ -- execute\n # sql_mode\n",
            "INSERT INTO t (prepared_at, executed, sql_modes) VALUES ('a\\'', 2, 3); SELECT 'b\\''",
            // The mode changes after the statements read apart, or before
            // statements every mode reads alike.
            "SELECT '\\''; SET sql_mode = ''",
            "SET sql_mode = ''; SELECT 'a\\nb'",
            "PREPARE s FROM 'SELECT 1'; SELECT 'a\\nb'",
        ] {
            assert!(
                !Lexing::mode_change_unreadable(quiet.as_bytes(), &[Lexing::DEFAULT]),
                "{quiet}"
            );
        }
        for risky in [
            "SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT '\\'; DELETE FROM p; SELECT '\\'",
            "SET SESSION sql_mode = ''; SELECT 'a\\', 'b'",
            "SET @@session.SQL_MODE = ''; SELECT 'a\\', 'b'",
            "SET @@`sql_mode` = ''; SELECT 'a\\', 'b'",
            "SET STATEMENT sql_mode = '' FOR SELECT 1; SELECT 'a\\', 'b'",
            "SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR SELECT '\\'; DELETE FROM p; SELECT '\\'",
            "EXECUTE s; SELECT 'a\\', 'b'",
            "execute immediate 'SET sql_mode = 1'; SELECT 'a\\', 'b'",
            "PREPARE s FROM @x; SELECT 'a\\', 'b'",
            "/*!40101 SET sql_mode = '' */; SELECT 'a\\', 'b'",
            "/*!40101SET SQL_MODE='' */; SELECT 'a\\', 'b'",
            "/*M!100100 EXECUTE s */; SELECT 'a\\', 'b'",
            "SET sql_mode = 'ANSI_QUOTES'; SELECT 1 AS \"\\\"; SELECT 2",
            // Under NO_BACKSLASH_ESCAPES the string ends before the word.
            "SELECT 'a\\'; EXECUTE s; SELECT 'b\\', 'c'",
            // One string or two: what is code after the change depends on the mode.
            "SET sql_mode = ''; SELECT 'a\\' OR 1 IN (SELECT 1 FROM t) OR ''",
        ] {
            assert!(Lexing::mode_change_unreadable(risky.as_bytes(), &any), "{risky}");
        }
        // Under NO_BACKSLASH_ESCAPES this is one statement and a string.
        let string = "SELECT 'a\\'; EXECUTE s; SELECT 'b\\', 'c'";
        assert!(!Lexing::mode_change_unreadable(string.as_bytes(), &[Lexing::DEFAULT]));
    }
}
