//! The route step: a statement's text looked at once (leading comments skipped,
//! first word read) and turned into a [`Command`] that the session acts on. Only
//! the writes a managed keyspace plans are parsed further, by `tether-fkplan`; the
//! statements of online schema changes by [`crate::online::statements`].

use crate::online::{self, OnlineStatement};
use crate::protocol::multi::Lexing;

/// What a statement is, as far as the gateway cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `USE name` (also with backticks): the keyspace's name.
    Use(String),
    /// `EXPLAIN FK statement`: the statement.
    ExplainFk(&'a str),
    /// `EXPLAIN FK SHARDS`: a sharded keyspace's layout and FK scopes.
    ExplainShards,
    /// A statement of online schema changes: `SET @@ddl_strategy`, `SHOW
    /// VITESS_MIGRATIONS`, `ALTER VITESS_MIGRATION ...`, `EXPLAIN FK ALTER TABLE ...`.
    Online(OnlineStatement),
    /// One of those written wrongly: why.
    OnlineInvalid(String),
    /// `SHOW DATABASES`: the gateway lists its keyspaces.
    ShowDatabases,
    /// `ROLLBACK ...`: also the acknowledgement of a transaction lost with its
    /// backend connection.
    Rollback,
    /// `SET [SESSION|LOCAL|@@session.|@@local.|@@]foreign_key_checks = v` (alone):
    /// the new value.
    SetFkChecks(bool),
    /// Another `SET` naming `foreign_key_checks`, whose value the text does not say
    /// (`= @saved`, `= DEFAULT`, one of a list): the backend's value after it does.
    SetFkChecksSomehow,
    /// CREATE, ALTER, DROP, RENAME or TRUNCATE: the schema is read again after it.
    /// `may_create_fk`: CREATE or ALTER, which a `disallow` keyspace inspects.
    Ddl { may_create_fk: bool },
    /// INSERT, UPDATE, DELETE or REPLACE as the first word after leading comments:
    /// a managed keyspace plans it (without those comments, see [`skip_comments`]).
    Write,
    /// Anything else: forwarded unchanged.
    Other,
}

impl<'a> Command<'a> {
    /// Classifies `sql` (a whole COM_QUERY or prepared text: its first statement
    /// decides).
    pub fn of(sql: &'a str) -> Command<'a> {
        let lead = skip_comments(sql);
        let word = lead
            .split(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if let Some(name) = use_target(lead) {
            return Command::Use(name);
        }
        if let Some(target) = explain_fk_target(lead) {
            if target.trim_end_matches(';').trim().eq_ignore_ascii_case("shards") {
                return Command::ExplainShards;
            }
            if !online::is_alter_table(target) {
                return Command::ExplainFk(target);
            }
        }
        if matches!(word.as_str(), "set" | "show" | "alter" | "explain") && mentions_online(lead) {
            // The gateway answers its statements itself: one in a query of several
            // statements would have to be run amid the backend's.
            let (end, second) = crate::protocol::multi::split(lead, crate::protocol::multi::Lexing::DEFAULT);
            let first = if second.is_some() { &lead[..end] } else { lead };
            match online::recognise(first) {
                Ok(Some(_)) | Err(_) if second.is_some() => {
                    let shown: String = first.trim().chars().take(80).collect();
                    return Command::OnlineInvalid(format!(
                        "tether gateway: `{shown}` is a statement of the gateway's and must be a query of its own: \
                         send it alone, then the other statements (nothing of this query was run)"
                    ));
                }
                Ok(Some(statement)) => return Command::Online(statement),
                Ok(None) => {}
                Err(why) => return Command::OnlineInvalid(why),
            }
        }
        match word.as_str() {
            "show" if lead.to_ascii_lowercase().starts_with("show databases") => Command::ShowDatabases,
            "rollback" => Command::Rollback,
            "set" => match foreign_key_checks_value(lead) {
                Some(v) => Command::SetFkChecks(v),
                None => {
                    let lower = lead.to_ascii_lowercase();
                    // `SET STATEMENT ... FOR` sets it for its one statement only.
                    if lower.contains("foreign_key_checks")
                        && !lower["set".len()..].trim_start().starts_with("statement")
                    {
                        Command::SetFkChecksSomehow
                    } else {
                        Command::Other
                    }
                }
            },
            "create" | "alter" => Command::Ddl { may_create_fk: true },
            "drop" | "rename" | "truncate" => Command::Ddl { may_create_fk: false },
            // After leading comments too: the session plans the text without them.
            "insert" | "update" | "delete" | "replace" => Command::Write,
            _ => Command::Other,
        }
    }
}

/// `#`, or `--` followed by a blank or control character (a newline, a tab) or the
/// end, as MariaDB's lexer reads a line comment.
fn line_comment(s: &str) -> bool {
    let b = s.as_bytes();
    b.first() == Some(&b'#')
        || (b.starts_with(b"--") && b.get(2).is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()))
}

/// `sql` without leading whitespace and `/* ... */` or line comments (`#`, `--`
/// before a blank or control character).
pub fn skip_comments(sql: &str) -> &str {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("/*") {
            // MySQL executable comments (`/*! ... */`) are statements' text: keep.
            if rest.starts_with('!') {
                return s;
            }
            match rest.find("*/") {
                Some(end) => s = rest[end + 2..].trim_start(),
                None => return s,
            }
        } else if line_comment(s) {
            match s.find('\n') {
                Some(end) => s = s[end + 1..].trim_start(),
                None => return "",
            }
        } else {
            return s;
        }
    }
}

/// Whether `lead` may be an online-DDL statement (a cheap look before tokenizing):
/// it names `ddl_strategy` or `vitess_migration`, or is `EXPLAIN FK ALTER TABLE`.
fn mentions_online(lead: &str) -> bool {
    let lower = lead.to_ascii_lowercase();
    lower.contains("ddl_strategy") || lower.contains("vitess_migration") || lower.starts_with("explain")
}

/// `SET ... foreign_key_checks = v` in `lead` (comments skipped): the new value.
pub(crate) fn foreign_key_checks_value(lead: &str) -> Option<bool> {
    let lower = lead.to_ascii_lowercase();
    let rest = lower.strip_prefix("set")?.trim_start();
    let rest = rest
        .strip_prefix("session ")
        .or_else(|| rest.strip_prefix("local "))
        .unwrap_or(rest)
        .trim_start();
    let rest = rest
        .strip_prefix("@@session.")
        .or_else(|| rest.strip_prefix("@@local."))
        .or_else(|| rest.strip_prefix("@@"))
        .unwrap_or(rest);
    let rest = rest.strip_prefix("foreign_key_checks")?.trim_start();
    let rest = rest.strip_prefix(":=").or_else(|| rest.strip_prefix('='))?;
    let value = rest.trim().trim_end_matches(';').trim();
    if value.contains(',') {
        return None;
    }
    match value.trim_matches('\'') {
        "0" | "off" | "false" => Some(false),
        "1" | "on" | "true" => Some(true),
        _ => None,
    }
}

/// `LOAD DATA|XML [LOW_PRIORITY|CONCURRENT] [LOCAL] INFILE 'file' REPLACE INTO TABLE
/// t` in `lead` (comments skipped, also between its words): `t` as written,
/// unquoted, without its database. Any other form (IGNORE, none) is `None`.
pub(crate) fn load_data_replace_target(lead: &str) -> Option<String> {
    if !lead.get(..4)?.eq_ignore_ascii_case("load") {
        return None;
    }
    let word = |rest: &str| -> Option<(String, usize)> {
        let trimmed = skip_comments(rest);
        let skipped = rest.len() - trimmed.len();
        let len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(trimmed.len());
        (len > 0).then(|| (trimmed[..len].to_ascii_lowercase(), skipped + len))
    };
    let mut at = 4;
    let (kind, n) = word(&lead[at..])?;
    if kind != "data" && kind != "xml" {
        return None;
    }
    at += n;
    loop {
        let (w, n) = word(&lead[at..])?;
        at += n;
        match w.as_str() {
            "low_priority" | "concurrent" | "local" => {}
            "infile" => break,
            _ => return None,
        }
    }
    let file = skip_comments(&lead[at..]);
    let quote = *file.as_bytes().first()?;
    if quote != b'\'' && quote != b'"' {
        return None;
    }
    at = lead.len() - file.len();
    at = crate::comments::after_quoted(lead.as_bytes(), at, quote, true);
    for expected in ["replace", "into", "table"] {
        let (w, n) = word(lead.get(at..)?)?;
        if w != expected {
            return None;
        }
        at += n;
    }
    // `t`, `db.t`, with or without backticks: the last part.
    let mut rest = skip_comments(&lead[at..]);
    loop {
        let (part, len) = if rest.starts_with('`') {
            let end = crate::comments::after_quoted(rest.as_bytes(), 0, b'`', false);
            (rest.get(1..end.checked_sub(1)?)?.replace("``", "`"), end)
        } else {
            let end = rest
                .find(|c: char| c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            (rest[..end].to_string(), end)
        };
        rest = &rest[len..];
        match rest.strip_prefix('.') {
            Some(more) => rest = more,
            None => return (!part.is_empty()).then_some(part),
        }
    }
}

/// A statement that runs another statement out of its first word's sight: the
/// forms MariaDB offers to run SQL text a route step reading the first word
/// would not see (review A findings 1-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disguise {
    /// `SET STATEMENT var = value, ... FOR statement`: the statement, and whether
    /// the assignments turn `foreign_key_checks` off for it.
    SetStatement { inner: String, checks_off: bool },
    /// `EXECUTE IMMEDIATE text [USING ...]`.
    ExecuteImmediate(Source),
    /// `PREPARE name FROM text`: the text runs at `EXECUTE name`.
    Prepare { name: String, text: Source },
    /// `EXECUTE name [USING ...]`.
    Execute { name: String },
    /// `DEALLOCATE PREPARE name` / `DROP PREPARE name`.
    Deallocate { name: String },
    /// `CALL routine(...)`: its statements are out of sight.
    Call,
    /// `BEGIN NOT ATOMIC ... END` (or another compound statement): its body.
    Compound(String),
}

/// The text a dynamic statement runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A string literal (adjacent literals joined, escapes resolved).
    Literal(String),
    /// An expression the server evaluates to the text (`@q`, `CONCAT(...)`).
    Expression(String),
}

/// What `piece` (one statement, comments resolved: see `guard::statements`) runs
/// out of its first word's sight, if it is such a form, read under the session's
/// `lexing` (`\` escapes in string literals; under ANSI_QUOTES a `"` operand of
/// EXECUTE IMMEDIATE / PREPARE is a name, an expression: review r26d F3).
pub fn disguise(piece: &str, lexing: Lexing) -> Option<Disguise> {
    let backslash_escapes = lexing.backslash_escapes;
    let lead = skip_comments(piece);
    let (first, rest) = next_word(lead)?;
    match first.as_str() {
        "set" => {
            let (second, rest) = next_word(rest)?;
            if second != "statement" {
                return None;
            }
            let at = top_level_word(rest, "for", backslash_escapes)?;
            let vars = &rest[..at];
            let inner = rest[at + 3..].trim().to_string();
            Some(Disguise::SetStatement {
                inner,
                checks_off: foreign_key_checks_value(&format!("set {}", vars.trim())) == Some(false)
                    || vars
                        .split(',')
                        .any(|v| foreign_key_checks_value(&format!("set {}", v.trim())) == Some(false)),
            })
        }
        "execute" => {
            let (second, after) = next_word(rest)?;
            if second == "immediate" {
                return Some(Disguise::ExecuteImmediate(source(after, lexing)));
            }
            let name = identifier(rest)?;
            Some(Disguise::Execute { name })
        }
        "prepare" => {
            let name = identifier(rest)?;
            let at = top_level_word(rest, "from", backslash_escapes)?;
            Some(Disguise::Prepare {
                name,
                text: source(&rest[at + 4..], lexing),
            })
        }
        "deallocate" | "drop" => {
            let (second, after) = next_word(rest)?;
            (second == "prepare")
                .then(|| identifier(after))
                .flatten()
                .map(|name| Disguise::Deallocate { name })
        }
        "call" => Some(Disguise::Call),
        "begin" => {
            let w = rest.trim().trim_end_matches(';').trim();
            if w.is_empty() || w.eq_ignore_ascii_case("work") {
                return None;
            }
            Some(Disguise::Compound(rest.to_string()))
        }
        // `label: BEGIN ... END`, IF / CASE / LOOP / WHILE / REPEAT at top level.
        "if" | "case" | "loop" | "while" | "repeat" => Some(Disguise::Compound(rest.to_string())),
        _ => None,
    }
}

/// `EXECUTE IMMEDIATE 'text'` with nothing after the literal (no USING): the
/// text, which runs as if it had been sent alone. Under ANSI_QUOTES a `"` operand is
/// a name, not a text (MariaDB answers 1054 and runs nothing; review r26d F3), so
/// `None`.
pub fn immediate_literal(piece: &str, lexing: Lexing) -> Option<String> {
    let (first, rest) = next_word(skip_comments(piece))?;
    let (second, rest) = next_word(rest)?;
    if first != "execute" || second != "immediate" {
        return None;
    }
    let operand = rest.trim().trim_end_matches(';');
    // A `"` inside a single-quoted literal is text (review r26h F4).
    literal(operand, lexing.backslash_escapes, !lexing.ansi_quotes)
}

/// The first word of `s` (letters, digits, `_`), lowercased, and the text after it.
fn next_word(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let len = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (len > 0).then(|| (s[..len].to_ascii_lowercase(), &s[len..]))
}

/// The identifier at the start of `s` (quotes removed), lowercased. A `"`
/// name is read as one (review r24e F1: `PREPARE "x" FROM ...` under
/// ANSI_QUOTES); without ANSI_QUOTES MariaDB refuses a string there.
fn identifier(s: &str) -> Option<String> {
    let s = s.trim_start();
    for q in ['`', '"'] {
        if s.starts_with(q) {
            let end = crate::comments::after_quoted(s.as_bytes(), 0, q as u8, false);
            let doubled = format!("{q}{q}");
            return Some(
                s.get(1..end.checked_sub(1)?)?
                    .replace(&doubled, &q.to_string())
                    .to_lowercase(),
            );
        }
    }
    let len = s
        .find(|c: char| c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(s.len());
    (len > 0).then(|| s[..len].to_lowercase())
}

/// Where the word `word` (lowercase) first stands in `s` outside strings, quoted
/// names and parentheses.
fn top_level_word(s: &str, word: &str, backslash_escapes: bool) -> Option<usize> {
    let b = s.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'@' || c >= 0x80;
    let (mut i, mut depth) = (0, 0usize);
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = crate::comments::after_quoted(b, i, q, backslash_escapes && q != b'`'),
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            c if depth == 0
                && c.eq_ignore_ascii_case(&word.as_bytes()[0])
                && (i == 0 || !ident(b[i - 1]))
                && s.get(i..i + word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word))
                && !b.get(i + word.len()).is_some_and(|&c| ident(c)) =>
            {
                return Some(i)
            }
            _ => i += 1,
        }
    }
    None
}

/// The text operand of EXECUTE IMMEDIATE / PREPARE ... FROM (up to a USING).
fn source(s: &str, lexing: Lexing) -> Source {
    let s = s.trim().trim_end_matches(';').trim_end();
    let expr = match top_level_word(s, "using", lexing.backslash_escapes) {
        Some(at) => s[..at].trim_end(),
        None => s,
    };
    match literal(expr, lexing.backslash_escapes, !lexing.ansi_quotes) {
        Some(text) => Source::Literal(text),
        None => Source::Expression(expr.to_string()),
    }
}

/// The value of `s` when it is nothing but string literals (`'a' "b"`, joined as
/// MariaDB joins adjacent literals), with their escapes resolved. Without
/// `double_quoted` (ANSI_QUOTES), a `"` opens a name, not a literal: `None`.
fn literal(s: &str, backslash_escapes: bool, double_quoted: bool) -> Option<String> {
    let mut out = String::new();
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let quote = *rest.as_bytes().first()?;
        if quote != b'\'' && (quote != b'"' || !double_quoted) {
            return None;
        }
        let end = crate::comments::after_quoted(rest.as_bytes(), 0, quote, backslash_escapes);
        let body = rest.get(1..end.checked_sub(1)?)?;
        if end > rest.len() || !rest[..end].ends_with(quote as char) {
            return None;
        }
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' if backslash_escapes => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('0') => out.push('\0'),
                    Some('b') => out.push('\u{8}'),
                    Some('Z') => out.push('\u{1a}'),
                    Some(d @ ('%' | '_')) => {
                        out.push('\\');
                        out.push(d);
                    }
                    Some(d) => out.push(d),
                    None => {}
                },
                c if c == quote as char => {
                    // A doubled quote stands for one.
                    chars.next();
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        rest = rest[end..].trim_start();
    }
    Some(out)
}

/// True when `sql` has `name` as a whole word (identifier characters around it
/// do not count), without case.
pub fn names(sql: &str, name: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let lower = sql.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    !name.is_empty()
        && lower.match_indices(&name).any(|(i, m)| {
            !lower[..i].chars().next_back().is_some_and(ident)
                && !lower[i + m.len()..].chars().next().is_some_and(ident)
        })
}

/// A token of a statement as MariaDB's lexer reads names: whitespace and comments
/// (`/* */`, `-- `, `#`) between tokens are skipped, executable comments' markers
/// too (their code is read, whatever its version: more names, never fewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A name or keyword: bytes `start..end` of the text, inside the quotes when
    /// `quote` is a backtick or a double quote (an identifier under ANSI_QUOTES;
    /// else a string, which never stands before a `.`).
    Word {
        start: usize,
        end: usize,
        quote: Option<u8>,
    },
    /// A string literal in single quotes.
    Literal,
    /// Any other character: `.`, `,`, `(`, `;`, ...
    Punct(u8),
}

/// The tokens of `sql`, its quotes read as `lexing` says: `\` escapes in
/// strings unless NO_BACKSLASH_ESCAPES, never in a `"` name under ANSI_QUOTES
/// (`"db\"."t"` hid `"db"."t"` from a reader that took it for an escape). A `"`
/// text is a name token in every mode (a string read as a name costs at worst
/// a false match).
fn tokens(sql: &str, lexing: Lexing) -> Vec<Token> {
    let b = sql.as_bytes();
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    let mut out = Vec::new();
    // Executable comments open around the position (their `*/` closes them).
    let mut open = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'#' => i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p)
            }
            b'*' if open > 0 && b.get(i + 1) == Some(&b'/') => {
                open -= 1;
                i += 2;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let marker = match (b.get(i + 2), b.get(i + 3)) {
                    (Some(b'!'), _) => 3,
                    (Some(b'M'), Some(b'!')) => 4,
                    _ => {
                        i = sql[i + 2..].find("*/").map_or(b.len(), |end| i + 2 + end + 2);
                        continue;
                    }
                };
                let code = i + marker;
                let digits = b[code..].iter().take(6).take_while(|c| c.is_ascii_digit()).count();
                open += 1;
                i = if digits >= 5 { code + digits } else { code };
            }
            b'\'' => {
                i = crate::comments::after_quoted(b, i, b'\'', lexing.escapes_in(b'\''));
                out.push(Token::Literal);
            }
            q @ (b'`' | b'"') => {
                let end = crate::comments::after_quoted(b, i, q, lexing.escapes_in(q));
                out.push(Token::Word {
                    start: i + 1,
                    end: end.saturating_sub(1).max(i + 1),
                    quote: Some(q),
                });
                i = end;
            }
            c if word_byte(c) => {
                let start = i;
                while i < b.len() && word_byte(b[i]) {
                    i += 1;
                }
                out.push(Token::Word {
                    start,
                    end: i,
                    quote: None,
                });
            }
            c => {
                out.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    out
}

impl Token {
    /// The name a word stands for, quotes undone, lowercased.
    fn name(&self, sql: &str) -> Option<String> {
        let Token::Word { start, end, quote } = *self else {
            return None;
        };
        let text = sql.get(start..end)?;
        Some(match quote {
            Some(q) => {
                let q = q as char;
                text.replace(&format!("{q}{q}"), &q.to_string()).to_lowercase()
            }
            None => text.to_lowercase(),
        })
    }

    /// True for the keyword `word` (lowercase): an unquoted word.
    fn is(&self, sql: &str, word: &str) -> bool {
        matches!(*self, Token::Word { start, end, quote: None } if sql[start..end].eq_ignore_ascii_case(word))
    }
}

/// A table as a statement names it: `db.t` or `t` (lowercased, quotes undone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    /// `None`: the current database.
    pub db: Option<String>,
    pub table: String,
}

impl TableName {
    /// In `home` (lowercase) when it names no database.
    pub fn in_db(&self, home: &str) -> (String, String) {
        (self.db.clone().unwrap_or_else(|| home.to_string()), self.table.clone())
    }
}

/// The table name at `tokens[i..]` (`db.t`, `t`, or MariaDB's `.t`), and the
/// position after it.
fn table_name(sql: &str, tokens: &[Token], i: usize) -> Option<(TableName, usize)> {
    match tokens.get(i..)? {
        [Token::Punct(b'.'), t @ Token::Word { .. }, ..] => Some((
            TableName {
                db: None,
                table: t.name(sql)?,
            },
            i + 2,
        )),
        [d @ Token::Word { .. }, Token::Punct(b'.'), t @ Token::Word { .. }, ..] => Some((
            TableName {
                db: Some(d.name(sql)?),
                table: t.name(sql)?,
            },
            i + 3,
        )),
        [t @ Token::Word { .. }, ..] => Some((
            TableName {
                db: None,
                table: t.name(sql)?,
            },
            i + 1,
        )),
        _ => None,
    }
}

/// The tables `sql` names in database `db` as `db.t`, lowercased: found as
/// MariaDB's lexer reads names (backticks or not, whitespace and comments on
/// either side of the dot). `lexing`: as [`tokens`].
pub fn qualified_names(sql: &str, db: &str, lexing: Lexing) -> Vec<String> {
    let mut out = Vec::new();
    let db = db.to_lowercase();
    // The common case: the text does not hold the name at all.
    if db.is_empty() || (!db.contains('`') && !sql.to_lowercase().contains(&db)) {
        return out;
    }
    let tokens = tokens(sql, lexing);
    for (i, w) in tokens.iter().enumerate() {
        // `x.db.t` is a column of table `db`.
        if i > 0 && tokens[i - 1] == Token::Punct(b'.') {
            continue;
        }
        if let [Token::Word { .. }, Token::Punct(b'.'), t @ Token::Word { .. }, ..] = &tokens[i..] {
            if w.name(sql).as_deref() == Some(db.as_str()) {
                if let Some(t) = t.name(sql) {
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
            }
        }
    }
    out
}

/// A table a DDL statement renames: `RENAME TABLE from TO to, ...` or `ALTER
/// TABLE from ... RENAME [TO|AS] to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub from: TableName,
    pub to: TableName,
}

/// The tables the (first) statement of `sql` renames, in order (a RENAME TABLE
/// may rename a table it renamed before). `lexing`: as [`tokens`].
pub fn renames(sql: &str, lexing: Lexing) -> Vec<Rename> {
    let all = tokens(sql, lexing);
    let end = all.iter().position(|t| *t == Token::Punct(b';')).unwrap_or(all.len());
    let t = &all[..end];
    let is = |i: usize, w: &str| t.get(i).is_some_and(|k| k.is(sql, w));
    let mut out = Vec::new();
    if is(0, "rename") && (is(1, "table") || is(1, "tables")) {
        let mut i = 2;
        if is(i, "if") && is(i + 1, "exists") {
            i += 2;
        }
        while let Some((from, next)) = table_name(sql, t, i) {
            // `WAIT n` / `NOWAIT` before TO.
            let Some(to_at) = (next..t.len()).find(|&j| is(j, "to")) else {
                break;
            };
            let Some((to, next)) = table_name(sql, t, to_at + 1) else {
                break;
            };
            out.push(Rename { from, to });
            if t.get(next) != Some(&Token::Punct(b',')) {
                break;
            }
            i = next + 1;
        }
    } else if is(0, "alter") {
        let mut i = 1;
        while is(i, "online") || is(i, "ignore") {
            i += 1;
        }
        if !is(i, "table") {
            return out;
        }
        i += 1;
        if is(i, "if") && is(i + 1, "exists") {
            i += 2;
        }
        let Some((from, mut i)) = table_name(sql, t, i) else {
            return out;
        };
        let mut depth = 0usize;
        while i < t.len() {
            match t[i] {
                Token::Punct(b'(') => depth += 1,
                Token::Punct(b')') => depth = depth.saturating_sub(1),
                _ if depth == 0
                    && is(i, "rename")
                    && !(is(i + 1, "column") || is(i + 1, "index") || is(i + 1, "key")) =>
                {
                    let at = if is(i + 1, "to") || is(i + 1, "as") {
                        i + 2
                    } else {
                        i + 1
                    };
                    if let Some((to, next)) = table_name(sql, t, at) {
                        out.push(Rename { from: from.clone(), to });
                        i = next;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    out
}

/// What a statement does to the session's user variables, as far as the
/// gateway follows it (see [`user_variable_effect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableEffect {
    /// It assigns none.
    Keeps,
    /// `SET` of user variables: each name (lowercased) and the value when it is a
    /// string literal (`None`: another expression, its value not known before it
    /// runs).
    Sets(Vec<(String, Option<String>)>),
    /// It may assign any of them: `SELECT @v := ...`, `SELECT ... INTO @v`, a
    /// stored function, a trigger, a `SET` the gateway does not read through.
    Unknown,
}

/// What plain statement `piece` (no dynamic form: those are followed by the
/// session) may do to user variables. Deny by default: only the forms proven
/// not to assign keep them, and any `:=` outside strings and comments, or an
/// executable comment in the text, makes the effect unknown.
///
/// - A `SET` whose every assignment is read (`@v`, `@`v``, `@'v'`, `@"v"` or a
///   system variable; `=` or `:=`; a literal or an expression of literals,
///   variables and string functions) gives the user variables it sets.
/// - Transaction control (`BEGIN [WORK]`, `COMMIT`, ...), `LOCK`/`UNLOCK
///   TABLES` and `USE` without parentheses keep them.
/// - `SHOW` keeps them without parentheses (its `WHERE` may call a stored
///   function, which may set any).
/// - `CREATE` (not of an index, no `SELECT`/`VALUES`), `DROP` (not of an
///   index), `RENAME` and `TRUNCATE` keep them: MariaDB refuses stored
///   functions in defaults, checks, generated columns and event schedules.
///   `ALTER` (but of a database, user, routine, event or server) and index DDL
///   may not: copying or altering a table evaluates its stored default
///   expressions, which may assign (`DEFAULT (@q := ...)`).
/// - Anything else may set them (a trigger, a stored function, `INTO @v`).
pub fn user_variable_effect(piece: &str, backslash_escapes: bool) -> VariableEffect {
    let Some(code) = plain_code(piece, backslash_escapes) else {
        return VariableEffect::Unknown;
    };
    let text = code.trim_start();
    let Some((first, rest)) = next_word(text) else {
        return VariableEffect::Unknown;
    };
    if first == "set" {
        return set_effect(rest, backslash_escapes);
    }
    if assigns(text, backslash_escapes) {
        return VariableEffect::Unknown;
    }
    let words = words(text, backslash_escapes);
    let has_word = |w: &str| words.iter().any(|x| x == w);
    let parenthesis = outside_quotes(text, backslash_escapes, |c| c == b'(');
    let keeps = match first.as_str() {
        "begin" | "start" | "commit" | "rollback" | "savepoint" | "release" | "lock" | "unlock" | "use" | "show" => {
            !parenthesis
        }
        "create" => !(has_word("select") || has_word("values") || has_word("index")),
        "alter" => {
            let object = words
                .iter()
                .skip(1)
                .find(|w| !matches!(w.as_str(), "online" | "ignore"));
            object.is_some_and(|w| {
                matches!(
                    w.as_str(),
                    "database" | "schema" | "user" | "procedure" | "function" | "event" | "server"
                )
            }) && !has_word("select")
        }
        "drop" => !has_word("index"),
        "rename" | "truncate" => true,
        _ => false,
    };
    if keeps {
        VariableEffect::Keeps
    } else {
        VariableEffect::Unknown
    }
}

/// `s` with its plain comments (`/* */`, `-- `, `#`) in place of a space each,
/// as the server reads it; `None` when it has an executable comment (`/*!`,
/// `/*M!`: whether it runs depends on the server's version) or an unterminated
/// one.
fn plain_code(s: &str, backslash_escapes: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut copied, mut i) = (0, 0);
    while i < b.len() {
        let end = match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i = crate::comments::after_quoted(b, i, q, backslash_escapes && q != b'`');
                continue;
            }
            b'#' => b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if matches!(b.get(i + 2), Some(b'!') | Some(b'M')) {
                    return None;
                }
                i + 2 + s[i + 2..].find("*/")? + 2
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[copied..i]);
        out.push(' ');
        i = end;
        copied = end;
    }
    out.push_str(&s[copied.min(s.len())..]);
    Some(out)
}

/// True when a byte of `s` outside quotes (comments already resolved) matches.
fn outside_quotes(s: &str, backslash_escapes: bool, hit: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = crate::comments::after_quoted(b, i, q, backslash_escapes && q != b'`'),
            c if hit(c) => return true,
            _ => i += 1,
        }
    }
    false
}

/// The unquoted words of `s` (comments already resolved), lowercased.
fn words(s: &str, backslash_escapes: bool) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = crate::comments::after_quoted(b, i, q, backslash_escapes && q != b'`'),
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$') || b[i] >= 0x80) {
                    i += 1;
                }
                out.push(s[start..i].to_ascii_lowercase());
            }
            _ => i += 1,
        }
    }
    out
}

/// [`user_variable_effect`] of `SET rest`.
fn set_effect(rest: &str, backslash_escapes: bool) -> VariableEffect {
    let rest = rest.trim_start();
    let special = next_word(rest).map(|(w, after)| {
        let second = next_word(after).map(|(s, _)| s).unwrap_or_default();
        matches!(
            w.as_str(),
            "names" | "character" | "charset" | "transaction" | "password" | "role" | "default"
        ) || (matches!(w.as_str(), "global" | "session" | "local") && second == "transaction")
    });
    if next_word(rest).is_some_and(|(w, _)| w == "statement") {
        // `SET STATEMENT ... FOR statement` (followed as a disguise; any other
        // spelling is not read here).
        return VariableEffect::Unknown;
    }
    if special == Some(true) {
        return if assigns(rest, backslash_escapes) || rest.contains('(') {
            VariableEffect::Unknown
        } else {
            VariableEffect::Keeps
        };
    }
    let mut sets = Vec::new();
    for assignment in top_level_commas(rest) {
        let a = assignment.trim();
        let (user, after) = match user_variable_name(a) {
            Some((name, end)) => (Some(name), &a[end..]),
            None => {
                // A system variable: `[GLOBAL|SESSION|LOCAL] name`, `@@[scope.]name`.
                let end = a
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || c.is_whitespace() || matches!(c, '_' | '$' | '.' | '@'))
                    })
                    .unwrap_or(a.len());
                if end == 0 {
                    return VariableEffect::Unknown;
                }
                (None, &a[end..])
            }
        };
        let after = after.trim_start();
        let Some(value) = after.strip_prefix(":=").or_else(|| after.strip_prefix('=')) else {
            return VariableEffect::Unknown;
        };
        // A function other than the string ones (or a subquery) may be a stored
        // function setting variables; a bare word (`ON`, `DEFAULT`) cannot.
        if assigns(value, backslash_escapes) || (value.contains('(') && !pure_expression(value)) {
            return VariableEffect::Unknown;
        }
        if let Some(name) = user {
            sets.push((name, literal(value, backslash_escapes, true)));
        }
    }
    if sets.is_empty() {
        VariableEffect::Keeps
    } else {
        VariableEffect::Sets(sets)
    }
}

/// `s` cut at its commas outside quotes and parentheses.
fn top_level_commas(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let (mut out, mut from, mut depth, mut i) = (Vec::new(), 0, 0usize, 0);
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i = crate::comments::after_quoted(b, i, q, q != b'`');
                continue;
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(&s[from..i]);
                from = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&s[from.min(s.len())..]);
    out
}

/// `:=` (an assignment to a user variable) outside quotes in `s` (comments
/// already resolved, see [`plain_code`]).
fn assigns(s: &str, backslash_escapes: bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = crate::comments::after_quoted(b, i, q, backslash_escapes && q != b'`'),
            b':' if b.get(i + 1) == Some(&b'=') => return true,
            _ => i += 1,
        }
    }
    false
}

/// The user variable `@name`, `@`name``, `@'name'` or `@"name"` at the start of
/// `s` (not `@@`): its name, lowercased, and where it ends.
fn user_variable_name(s: &str) -> Option<(String, usize)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'@') || b.get(1) == Some(&b'@') {
        return None;
    }
    match b.get(1) {
        Some(&q @ (b'`' | b'\'' | b'"')) => {
            let end = crate::comments::after_quoted(b, 1, q, q != b'`').min(b.len());
            let body = s.get(2..end.checked_sub(1)?)?;
            let doubled = [q as char, q as char].iter().collect::<String>();
            Some((body.replace(&doubled, &(q as char).to_string()).to_lowercase(), end))
        }
        _ => {
            let len = s[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.'))
                .unwrap_or(s.len() - 1);
            Some((s[1..1 + len].to_ascii_lowercase(), 1 + len))
        }
    }
}

/// The name (lowercased) when expression `e` is one user variable and nothing else.
pub fn user_variable_name_only(e: &str) -> Option<String> {
    let e = e.trim();
    user_variable_name(e)
        .filter(|(_, end)| *end == e.len())
        .map(|(name, _)| name)
}

/// The user variables (`@name`, also quoted, lowercased) expression `e` reads.
pub fn user_variables(e: &str) -> Vec<String> {
    let b = e.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = crate::comments::after_quoted(b, i, q, q != b'`'),
            b'@' if b.get(i + 1) == Some(&b'@') => i += 2,
            b'@' => match user_variable_name(&e[i..]) {
                Some((name, end)) => {
                    out.push(name);
                    i += end.max(1);
                }
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    out
}

/// True when expression `e` is made only of literals, user and system variables
/// and functions without side effects (`CONCAT`, `REPLACE`, ...): the gateway may
/// evaluate it once more (`SELECT e`) to read the text a dynamic statement runs.
pub fn pure_expression(e: &str) -> bool {
    const PURE: &[&str] = &[
        "concat",
        "concat_ws",
        "lower",
        "upper",
        "lcase",
        "ucase",
        "replace",
        "trim",
        "ltrim",
        "rtrim",
        "substring",
        "substr",
        "left",
        "right",
        "repeat",
        "space",
        "ifnull",
        "coalesce",
        "if",
        "nullif",
        "lpad",
        "rpad",
        "quote",
        "char",
        "cast",
        "convert",
        "as",
        "using",
        "binary",
        "signed",
        "unsigned",
        "utf8",
        "utf8mb4",
        "latin1",
        "session",
        "null",
        "leading",
        "trailing",
        "both",
        "from",
        "for",
    ];
    let b = e.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => i = crate::comments::after_quoted(b, i, q, true),
            b'`' | b';' => return false,
            b'@' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$' | b'.' | b'@')) {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                    i += 1;
                }
                if !PURE.contains(&e[start..i].to_ascii_lowercase().as_str()) {
                    return false;
                }
            }
            c if c >= 0x80 => return false,
            _ => i += 1,
        }
    }
    true
}

/// True when the value of `e` cannot change between the gateway's evaluation
/// (`SELECT e`, to read the text a dynamic statement runs) and the server's: a
/// [`pure_expression`] with no assignment (`@n := @n + 1` advances at each
/// evaluation) and no system variable (`@@timestamp`, `@@warning_count` change by
/// themselves). User variables are read as they are before the query; those a
/// statement before sets are the caller's (review r27c F6).
pub fn evaluable_twice(e: &str) -> bool {
    if !pure_expression(e) {
        return false;
    }
    let b = e.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => i = crate::comments::after_quoted(b, i, q, true),
            b':' => return false,
            b'@' if b.get(i + 1) == Some(&b'@') => return false,
            _ => i += 1,
        }
    }
    true
}

/// `USE name` in `lead` (comments skipped): the name.
fn use_target(lead: &str) -> Option<String> {
    let (head, rest) = (lead.get(..3)?, &lead[3..]);
    if !head.eq_ignore_ascii_case("use") || !rest.starts_with(char::is_whitespace) {
        return None;
    }
    if crate::protocol::multi::split(lead, crate::protocol::multi::Lexing::DEFAULT)
        .1
        .is_some()
    {
        // `USE a; DELETE ...`: not a name (the session refuses it, see `disguise`).
        return None;
    }
    Some(rest.trim().trim_end_matches(';').trim().trim_matches('`').to_string())
}

/// `EXPLAIN FK statement` in `lead` (comments skipped): the statement.
fn explain_fk_target(lead: &str) -> Option<&str> {
    let mut words = lead.splitn(3, char::is_whitespace);
    let explain = words.next()?;
    let fk = words.next()?;
    if explain.eq_ignore_ascii_case("explain") && fk.eq_ignore_ascii_case("fk") {
        Some(words.next().unwrap_or("").trim())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_session_statements() {
        assert_eq!(Command::of("SET foreign_key_checks = 0"), Command::SetFkChecks(false));
        assert_eq!(
            Command::of("SET foreign_key_checks = @saved"),
            Command::SetFkChecksSomehow
        );
        assert_eq!(
            Command::of("set @a = 1, FOREIGN_KEY_CHECKS = 0"),
            Command::SetFkChecksSomehow
        );
        assert_eq!(
            Command::of("SET STATEMENT foreign_key_checks = 0 FOR DELETE FROM p"),
            Command::Other
        );
        assert_eq!(
            Command::of("set @@session.FOREIGN_KEY_CHECKS=ON;"),
            Command::SetFkChecks(true)
        );
        assert_eq!(
            Command::of("SET SESSION foreign_key_checks := 1"),
            Command::SetFkChecks(true)
        );
        assert_eq!(
            Command::of("SET foreign_key_checks = 0, unique_checks = 0"),
            Command::SetFkChecksSomehow
        );
        assert_eq!(Command::of("SET autocommit = 0"), Command::Other);
        assert_eq!(Command::of("use `shop`;"), Command::Use("shop".into()));
        assert_eq!(Command::of("/* c */ USE shop"), Command::Use("shop".into()));
        assert_eq!(Command::of("user_func()"), Command::Other);
        assert_eq!(Command::of("a日b"), Command::Other);
        assert_eq!(
            Command::of("EXPLAIN FK DELETE FROM p"),
            Command::ExplainFk("DELETE FROM p")
        );
        assert_eq!(Command::of("EXPLAIN SELECT 1"), Command::Other);
    }

    #[test]
    fn recognizes_online_ddl_statements() {
        use crate::online::{DdlStrategy, MigrationAction};
        assert_eq!(
            Command::of("SET @@ddl_strategy = 'online'"),
            Command::Online(OnlineStatement::SetDdlStrategy(DdlStrategy::Online))
        );
        assert_eq!(
            Command::of("SET SESSION ddl_strategy = 'direct'"),
            Command::Online(OnlineStatement::SetDdlStrategy(DdlStrategy::Direct))
        );
        assert_eq!(
            Command::of("/* x */ SHOW VITESS_MIGRATIONS"),
            Command::Online(OnlineStatement::ShowMigrations { like: None })
        );
        assert_eq!(
            Command::of("ALTER VITESS_MIGRATION 'a1' CANCEL"),
            Command::Online(OnlineStatement::AlterMigration {
                id: "a1".into(),
                action: MigrationAction::Cancel
            })
        );
        assert_eq!(
            Command::of("EXPLAIN FK ALTER TABLE t ADD c INT"),
            Command::Online(OnlineStatement::Explain("ALTER TABLE t ADD c INT".into()))
        );
        assert_eq!(Command::of("explain fk shards;"), Command::ExplainShards);
        assert_eq!(
            Command::of("SET @@ddl_strategy = 'gh-ost'"),
            Command::OnlineInvalid(
                "ddl_strategy 'gh-ost' is not supported: use 'online' (or 'vitess') or 'direct'".into()
            )
        );
        assert_eq!(
            Command::of("ALTER TABLE t ADD c INT"),
            Command::Ddl { may_create_fk: true }
        );
        assert_eq!(Command::of("SET autocommit = 1"), Command::Other);
    }

    #[test]
    fn finds_the_table_of_a_load_data_replace() {
        let target = |sql| load_data_replace_target(sql);
        assert_eq!(
            target("LOAD DATA INFILE '/tmp/p.txt' REPLACE INTO TABLE p").as_deref(),
            Some("p")
        );
        assert_eq!(
            target("load data low_priority local infile 'a b\\' replace.txt' replace into table `db`.`P q` (id)")
                .as_deref(),
            Some("P q")
        );
        assert_eq!(
            target("LOAD XML INFILE \"x\" REPLACE INTO TABLE db.p ROWS IDENTIFIED BY '<r>'").as_deref(),
            Some("p")
        );
        assert_eq!(target("LOAD DATA INFILE 'replace' IGNORE INTO TABLE p"), None);
        assert_eq!(target("LOAD DATA INFILE 'f' INTO TABLE p"), None);
        assert_eq!(target("LOAD INDEX INTO CACHE t"), None);
        assert_eq!(target("SELECT 1"), None);
    }

    #[test]
    fn classifies_writes_and_ddl_by_the_first_word() {
        assert_eq!(Command::of("  UPDATE t SET a = 1"), Command::Write);
        assert_eq!(Command::of("replace into t values (1)"), Command::Write);
        // A leading comment does not hide a write from the planner (review finding 1).
        assert_eq!(Command::of("  -- note\n  UPDATE t SET a = 1"), Command::Write);
        assert_eq!(Command::of("/* c */ DELETE FROM t"), Command::Write);
        assert_eq!(Command::of("/*!40000 DELETE FROM t */"), Command::Other);
        assert_eq!(
            Command::of("# x\nALTER TABLE t ADD c INT"),
            Command::Ddl { may_create_fk: true }
        );
        assert_eq!(Command::of("truncate t"), Command::Ddl { may_create_fk: false });
        assert_eq!(Command::of("SHOW DATABASES"), Command::ShowDatabases);
        assert_eq!(Command::of("show tables"), Command::Other);
        assert_eq!(Command::of("ROLLBACK"), Command::Rollback);
    }
    #[test]
    fn finds_the_statements_run_in_disguise() {
        let d = |sql| disguise(sql, Lexing::DEFAULT);
        assert_eq!(
            d("SET STATEMENT max_statement_time = 0 FOR ALTER TABLE g ADD FOREIGN KEY (x) REFERENCES p (id)"),
            Some(Disguise::SetStatement {
                inner: "ALTER TABLE g ADD FOREIGN KEY (x) REFERENCES p (id)".into(),
                checks_off: false
            })
        );
        assert_eq!(
            d("set statement sql_mode = 'a,for', foreign_key_checks = 0 for delete from p"),
            Some(Disguise::SetStatement {
                inner: "delete from p".into(),
                checks_off: true
            })
        );
        assert_eq!(
            d("EXECUTE IMMEDIATE 'create table c (a varchar(9) default ''x'')'"),
            Some(Disguise::ExecuteImmediate(Source::Literal(
                "create table c (a varchar(9) default 'x')".into()
            )))
        );
        assert_eq!(
            d("execute immediate 'delete from p where id = ?' using 3"),
            Some(Disguise::ExecuteImmediate(Source::Literal(
                "delete from p where id = ?".into()
            )))
        );
        assert_eq!(
            d("EXECUTE IMMEDIATE CONCAT('alter table c5 add ', 'foreign key (pid) references p(id)')"),
            Some(Disguise::ExecuteImmediate(Source::Expression(
                "CONCAT('alter table c5 add ', 'foreign key (pid) references p(id)')".into()
            )))
        );
        assert_eq!(
            d("PREPARE `S 1` FROM @q"),
            Some(Disguise::Prepare {
                name: "s 1".into(),
                text: Source::Expression("@q".into())
            })
        );
        assert_eq!(
            d("prepare s from 'it\\'s'"),
            Some(Disguise::Prepare {
                name: "s".into(),
                text: Source::Literal("it's".into())
            })
        );
        assert_eq!(d("EXECUTE s USING 1"), Some(Disguise::Execute { name: "s".into() }));
        assert_eq!(
            immediate_literal("EXECUTE IMMEDIATE 'DELETE FROM p' ", Lexing::DEFAULT).as_deref(),
            Some("DELETE FROM p")
        );
        assert_eq!(
            immediate_literal(
                "EXECUTE IMMEDIATE 'DELETE FROM p WHERE id = ?' USING 1",
                Lexing::DEFAULT
            ),
            None
        );
        let ansi = Lexing {
            ansi_quotes: true,
            ..Lexing::DEFAULT
        };
        assert_eq!(
            immediate_literal("EXECUTE IMMEDIATE \"DELETE FROM p\"", Lexing::DEFAULT).as_deref(),
            Some("DELETE FROM p")
        );
        assert_eq!(immediate_literal("EXECUTE IMMEDIATE \"DELETE FROM p\"", ansi), None);
        assert_eq!(
            immediate_literal("EXECUTE IMMEDIATE 'DELETE FROM p'", ansi).as_deref(),
            Some("DELETE FROM p")
        );
        assert_eq!(
            d("DEALLOCATE PREPARE s"),
            Some(Disguise::Deallocate { name: "s".into() })
        );
        assert_eq!(d("call pr()"), Some(Disguise::Call));
        assert!(matches!(
            d("BEGIN NOT ATOMIC DELETE FROM p"),
            Some(Disguise::Compound(_))
        ));
        assert_eq!(d("BEGIN"), None);
        assert_eq!(d("begin work"), None);
        assert_eq!(d("SET @a = 1"), None);
        assert_eq!(d("DROP TABLE t"), None);
        assert_eq!(d("SELECT 'execute immediate'"), None);
    }

    #[test]
    fn reads_variables_names_and_pure_expressions() {
        use VariableEffect::{Keeps, Sets, Unknown};
        assert_eq!(
            user_variable_effect("SET @q = 'drop table t'", true),
            Sets(vec![("q".into(), Some("drop table t".into()))])
        );
        assert_eq!(
            user_variable_effect("set @Q := concat('a', 'b')", true),
            Sets(vec![("q".into(), None)])
        );
        assert_eq!(
            user_variable_effect("SET @a = 'x', @`Q` = concat('a', 'b'), @'r' = 'y', @\"s\" := 1", true),
            Sets(vec![
                ("a".into(), Some("x".into())),
                ("q".into(), None),
                ("r".into(), Some("y".into())),
                ("s".into(), None)
            ])
        );
        assert_eq!(user_variable_effect("SET @@session.x = 1", true), Keeps);
        assert_eq!(
            user_variable_effect("SET foreign_key_checks = 0, @q = 'a'", true),
            Sets(vec![("q".into(), Some("a".into()))])
        );
        assert_eq!(user_variable_effect("SET NAMES utf8mb4", true), Keeps);
        assert_eq!(
            user_variable_effect("SET autocommit = ON, sql_mode = DEFAULT", true),
            Keeps
        );
        assert_eq!(user_variable_effect("SET @x = (SELECT 'a')", true), Unknown);
        assert_eq!(user_variable_effect("SET SESSION TRANSACTION READ ONLY", true), Keeps);
        assert_eq!(user_variable_effect("SET @q = f(1)", true), Unknown);
        assert_eq!(user_variable_effect("SET @a = (@q := 'x')", true), Unknown);
        assert_eq!(user_variable_effect("SELECT @q := concat('a')", true), Unknown);
        assert_eq!(user_variable_effect("SELECT 1 INTO @q", true), Unknown);
        assert_eq!(user_variable_effect("INSERT INTO t VALUES (1)", true), Unknown);
        // A table's stored defaults may assign when ALTER TABLE evaluates them.
        assert_eq!(user_variable_effect("ALTER TABLE t ADD c INT", true), Unknown);
        assert_eq!(
            user_variable_effect("ALTER DATABASE d CHARACTER SET utf8mb4", true),
            Keeps
        );
        assert_eq!(user_variable_effect("CREATE TABLE t (a INT, KEY (a))", true), Keeps);
        assert_eq!(user_variable_effect("CREATE INDEX i ON t (a)", true), Unknown);
        assert_eq!(user_variable_effect("DROP INDEX i ON t", true), Unknown);
        assert_eq!(user_variable_effect("DROP TABLE t", true), Keeps);
        assert_eq!(user_variable_effect("SHOW TABLES LIKE 'p'", true), Keeps);
        assert_eq!(user_variable_effect("SHOW TABLES WHERE @q IS NULL", true), Keeps);
        assert_eq!(
            user_variable_effect("SHOW TABLES WHERE (@q := 'x') IS NULL", true),
            Unknown
        );
        assert_eq!(user_variable_effect("SHOW TABLES WHERE f() IS NULL", true), Unknown);
        assert_eq!(user_variable_effect("SHOW TABLES WHERE ';(' IS NULL", true), Keeps);
        assert_eq!(
            user_variable_effect("SHOW TABLES /* ' */ WHERE @q := 'x' /* ' */", true),
            Unknown
        );
        assert_eq!(
            user_variable_effect("SHOW TABLES -- '\nWHERE @q := 'x' -- '", true),
            Unknown
        );
        assert_eq!(
            user_variable_effect("SHOW TABLES /*!WHERE @q IS NULL */", true),
            Unknown
        );
        // Under NO_BACKSLASH_ESCAPES `'a\'` is a whole string.
        assert_eq!(
            user_variable_effect("SHOW TABLES WHERE 'a\\' = (@q := 'x') AND 'b' = 'b'", false),
            Unknown
        );
        assert_eq!(
            user_variable_effect("ALTER TABLE w ADD d TEXT DEFAULT (@q := 'x')", true),
            Unknown
        );
        assert_eq!(user_variable_effect("COMMIT", true), Keeps);
        assert_eq!(
            user_variable_effect("SET STATEMENT max_statement_time = 1 FOR CALL p()", true),
            Unknown
        );
        assert_eq!(user_variable_effect("CREATE TABLE t2 AS SELECT f()", true), Unknown);
        assert_eq!(user_variables("CONCAT(@a, '@b', @@c, @D)"), ["a", "d"]);
        assert_eq!(user_variables("CONCAT(@`Q`, @'r', @\"s\")"), ["q", "r", "s"]);
        assert!(pure_expression("CONCAT('x', @a, 3, REPLACE(@b, 'y', 'z'))"));
        assert!(!pure_expression("(SELECT 'x')"));
        assert!(!pure_expression("f(1)"));
        // Evaluated twice: no assignment, no system variable (review r27c F6).
        assert!(evaluable_twice("CONCAT('x', @a, 3, REPLACE(@b, 'y', 'z'), ':=@@')"));
        assert!(!evaluable_twice("IF((@n := @n + 1) > 1, 'a', 'b')"));
        assert!(!evaluable_twice("IF(RIGHT(@@timestamp, 1) > '4', 'a', 'b')"));
        assert!(!evaluable_twice("CONCAT(@@session.warning_count)"));
        assert_eq!(
            qualified_names(
                "DELETE FROM Shop.p, `shop`.`q r` WHERE shopx.a = 1",
                "shop",
                Lexing::DEFAULT
            ),
            ["p", "q r"]
        );
        assert_eq!(
            qualified_names("SELECT 'shop' . 1", "shop", Lexing::DEFAULT),
            Vec::<String>::new()
        );
        assert!(names("DELETE FROM `p` WHERE 1", "p"));
        assert!(!names("DELETE FROM pp", "p"));
        assert_eq!(Command::of("USE shop; DELETE FROM p"), Command::Other);
    }

    #[test]
    fn reads_qualified_names_as_the_servers_lexer_does() {
        let q = |sql| qualified_names(sql, "shop", Lexing::DEFAULT);
        for sql in [
            "DELETE FROM shop.p",
            "DELETE FROM shop . p",
            "DELETE FROM shop/**/.p",
            "DELETE FROM shop./**/p",
            "DELETE FROM `shop`/* x */ . /* y */`p`",
            "DELETE FROM shop -- c\n.p",
            "DELETE FROM shop # c\n.p",
            "DELETE FROM /*!shop.*/p",
            "DELETE FROM \"shop\".\"p\"",
            "DELETE FROM SHOP.P WHERE 1",
        ] {
            assert_eq!(q(sql), ["p"], "{sql}");
        }
        for sql in [
            "SELECT 'shop.p'",
            "SELECT 1 FROM `shop.p`",
            "SELECT x.shop.p FROM x",
            "SELECT 1 /* shop.p */",
            "SELECT 1 -- shop.p",
            "SELECT shopx.p",
        ] {
            assert!(q(sql).is_empty(), "{sql}");
        }
        // Without backslash escapes `'a\'` ends at its second quote.
        assert_eq!(
            qualified_names("SELECT 'a\\' , shop.p", "shop", Lexing::escapes(false)),
            ["p"]
        );
        // Under ANSI_QUOTES `"a\"` is a name: no escape in it.
        let ansi = Lexing {
            ansi_quotes: true,
            ..Lexing::DEFAULT
        };
        let hidden = "DELETE \"p\\\" FROM \"shop\".\"p\" AS \"p\\\" WHERE \"p\\\".id = 1";
        assert!(qualified_names(hidden, "shop", Lexing::DEFAULT).is_empty());
        assert_eq!(qualified_names(hidden, "shop", ansi), ["p"]);
    }

    #[test]
    fn finds_the_tables_a_statement_renames() {
        let name = |db: Option<&str>, t: &str| TableName {
            db: db.map(str::to_string),
            table: t.into(),
        };
        let r = |sql| renames(sql, Lexing::DEFAULT);
        assert_eq!(
            r("RENAME TABLE n.c TO c2, `x`/**/.y WAIT 3 TO d . `Z`"),
            [
                Rename {
                    from: name(Some("n"), "c"),
                    to: name(None, "c2")
                },
                Rename {
                    from: name(Some("x"), "y"),
                    to: name(Some("d"), "z")
                },
            ]
        );
        assert_eq!(
            r("/* c */ ALTER ONLINE TABLE IF EXISTS n.c ADD x INT, RENAME AS d.c9"),
            [Rename {
                from: name(Some("n"), "c"),
                to: name(Some("d"), "c9")
            }]
        );
        assert_eq!(r("ALTER TABLE n.c RENAME c2")[0].to, name(None, "c2"));
        assert!(r("ALTER TABLE c RENAME COLUMN a TO b, RENAME INDEX i TO j").is_empty());
        assert!(r("ALTER TABLE c ADD CHECK (x IN (rename))").is_empty());
        assert!(r("RENAME USER a TO b").is_empty());
        assert!(r("CREATE TABLE t (id INT)").is_empty());
    }
}
