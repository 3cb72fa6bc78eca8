//! What a managed sharded keyspace lets through. The head enforces no FK (its Spider
//! tables have none), so a statement the gateway does not plan or know to be a read
//! or a session statement is refused (issue 16, review finding 1): the query is cut
//! into statements (strings, quoted names and comments respected; executable
//! comments `/*! ... */` read as the text they hold), and each one is classified.

use crate::protocol::multi::Lexing;
use crate::reply::ServerError;

/// One statement of a query, as [`statements`] gives it: plain comments dropped,
/// executable comments unwrapped, trimmed, without its `;`.
pub type Piece = String;

/// The statements of `sql`: cut at `;` outside strings, quoted names and comments;
/// plain comments become a space; `/*!NNNNN ... */` and `/*M!NNNNN ... */` become the
/// text they hold (MariaDB runs it). Empty statements are left out. Quotes are
/// read as `lexing` (the session's sql_mode) says.
pub fn statements(sql: &str, lexing: Lexing) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    // Inside an executable comment: its closing `*/` is dropped.
    let mut executable = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                cur.push(c);
                let escapes = lexing.escapes_in(c as u8);
                while let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' && escapes {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    } else if d == c {
                        if chars.peek() == Some(&c) {
                            cur.push(chars.next().expect("peeked"));
                        } else {
                            break;
                        }
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut rest = chars.clone();
                let exec = match rest.next() {
                    Some('!') => true,
                    Some('M') => rest.next() == Some('!'),
                    _ => false,
                };
                if exec && !executable {
                    // Skip `!` or `M!` and the version digits.
                    if chars.next() == Some('M') {
                        chars.next();
                    }
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    executable = true;
                    cur.push(' ');
                } else {
                    let mut prev = ' ';
                    for d in chars.by_ref() {
                        if prev == '*' && d == '/' {
                            break;
                        }
                        prev = d;
                    }
                    cur.push(' ');
                }
            }
            '*' if executable && chars.peek() == Some(&'/') => {
                chars.next();
                executable = false;
                cur.push(' ');
            }
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            '-' if chars.peek() == Some(&'-') && {
                let mut rest = chars.clone();
                rest.next();
                // MariaDB: `--` then an ASCII blank or control character; `--`
                // before U+00A0 or another Unicode space is two minus signs
                // (review r26a F1).
                rest.next()
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())
            } =>
            {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            ';' => {
                let s = cur.trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    let s = cur.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    out
}

/// What one statement is, for a managed sharded keyspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A read or a session statement: forwarded.
    Read,
    /// INSERT, UPDATE, DELETE or REPLACE: planned.
    Write,
    /// CREATE, ALTER, DROP, RENAME, TRUNCATE: looked at by [`ddl_refusal`].
    Ddl,
    /// Anything else: refused; the form, for the error.
    Refused(String),
}

/// The lower-case words of `s` (letters, digits, `_`), in order.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// True when statement `piece` (one of [`statements`]) is a COMMIT.
pub fn ends_transaction(piece: &str) -> bool {
    words(piece).first().is_some_and(|w| w == "commit")
}

/// Classifies one statement of [`statements`].
pub fn kind(piece: &str) -> Kind {
    let w = words(piece.trim_start_matches(|c: char| c == '(' || c.is_whitespace()));
    let first = w.first().map(String::as_str).unwrap_or("");
    let second = w.get(1).map(String::as_str).unwrap_or("");
    let refused = |form: &str| Kind::Refused(form.to_string());
    match first {
        "insert" | "update" | "delete" | "replace" => Kind::Write,
        "create" | "alter" | "drop" | "rename" | "truncate" => Kind::Ddl,
        "select" | "with" | "values" => {
            if w.iter().any(|x| x == "outfile" || x == "dumpfile") {
                refused("SELECT ... INTO OUTFILE / DUMPFILE")
            } else {
                Kind::Read
            }
        }
        "explain" | "describe" | "desc" => {
            if second == "analyze" || second == "analyse" {
                refused("EXPLAIN ANALYZE (it runs the statement)")
            } else {
                Kind::Read
            }
        }
        "show" | "help" | "use" | "do" | "commit" | "rollback" | "savepoint" | "release" | "unlock" | "lock"
        | "checksum" | "kill" | "deallocate" => Kind::Read,
        "start" if second == "transaction" => Kind::Read,
        "begin" if w.len() == 1 || (w.len() == 2 && second == "work") => Kind::Read,
        "begin" => refused("a compound statement (BEGIN NOT ATOMIC ... END)"),
        "set" if second == "statement" => refused("SET STATEMENT ... FOR"),
        "set" if second == "global" || piece.to_ascii_lowercase().contains("@@global.") => refused("SET GLOBAL"),
        "set" => Kind::Read,
        "xa" => refused(
            "an XA transaction of the client (the gateway cannot roll back part of one: a refused statement \
             would leave half its writes to XA COMMIT)",
        ),
        "prepare" | "execute" => refused("PREPARE / EXECUTE in SQL (the gateway cannot read the statement run)"),
        "call" => refused("CALL (a stored procedure's writes are not planned)"),
        "load" => refused("LOAD DATA / LOAD XML"),
        "" => refused("a statement the gateway cannot read"),
        other => Kind::Refused(format!("`{}`", other.to_ascii_uppercase())),
    }
}

/// Why statement `piece` (one of [`statements`]) would switch off what a
/// managed sharded keyspace's guarantees stand on, whatever the session's
/// `foreign_key_checks` (review r23g F1, F2): the form, for [`guarantee_refusal`].
///
/// - A write of a Spider variable (`spider_%`), in any spelling: `SET [SESSION |
///   LOCAL | GLOBAL] x = ..`, `SET @@[session. | local. | global.]x = ..`, one
///   assignment of several, `SET STATEMENT x = .. FOR ..` (nested ones too), a
///   quoted name. `spider_internal_xa = 0` makes a commit across nodes
///   non-atomic; the others change how the head's node connections lock, take
///   snapshots and carry the session's isolation level, which no test has shown
///   harmless: all refused (the head's global settings are the operator's).
/// - `LOCK TABLE[S]` and `FLUSH TABLE[S] .. WITH READ LOCK / FOR EXPORT`: under
///   table locks the head's Spider leaves the session's node connections without
///   node transactions for the rest of the session (MariaDB 10.11.19), and the
///   gateway's own START TRANSACTION would release the client's locks.
/// - In a compound statement (`BEGIN NOT ATOMIC`, `IF`, `WHILE`, ..., as far as
///   [`statements`] cut it): any word naming a Spider variable, or `LOCK TABLE`.
pub fn switches_off(piece: &str, lexing: Lexing) -> Option<String> {
    let t = tokens(piece, lexing);
    let first = t.first().map(String::as_str).unwrap_or("");
    let second = t.get(1).map(String::as_str).unwrap_or("");
    match first {
        "set" => spider_assigned(&t[1..]).map(|v| format!("SET of `{v}`")),
        "lock" if second == "table" || second == "tables" => Some("LOCK TABLES".to_string()),
        "flush"
            if t.iter().any(|w| w == "table" || w == "tables") && t.iter().any(|w| w == "lock" || w == "export") =>
        {
            Some("FLUSH TABLES ... WITH READ LOCK / FOR EXPORT".to_string())
        }
        "begin" | "if" | "while" | "loop" | "repeat" | "case" | "for" | "declare" | "end" => compound(&t),
        // `label: BEGIN ...`
        _ if second == ":" => compound(&t),
        _ => None,
    }
}

/// [`switches_off`] of a piece of a compound statement: the first Spider
/// variable it names, or `LOCK TABLE`.
fn compound(t: &[String]) -> Option<String> {
    if let Some(v) = t.iter().find_map(|w| spider_name(w)) {
        return Some(format!("a compound statement naming `{v}`"));
    }
    t.windows(2)
        .any(|w| w[0] == "lock" && (w[1] == "table" || w[1] == "tables"))
        .then(|| "a compound statement with LOCK TABLES".to_string())
}

/// The Spider variable `word` names, as a token of [`tokens`]: `spider_x` or
/// `@@spider_x` (not a user variable `@spider_x`).
fn spider_name(word: &str) -> Option<String> {
    let name = word.strip_prefix("@@").unwrap_or(word);
    (name.starts_with("spider_") && !name.starts_with('@')).then(|| name.to_string())
}

/// The first Spider variable the assignments `t` (the tokens after `SET`) write,
/// `SET STATEMENT`'s list and what its `FOR` runs included.
fn spider_assigned(t: &[String]) -> Option<String> {
    let (list, rest) = match t.first().map(String::as_str) {
        Some("statement") => {
            let mut depth = 0i32;
            let at = t.iter().position(|w| {
                match w.as_str() {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    _ => {}
                }
                depth == 0 && w == "for"
            });
            match at {
                Some(at) => (&t[1..at], Some(&t[at + 1..])),
                None => (&t[1..], None),
            }
        }
        _ => (t, None),
    };
    let mut depth = 0i32;
    let mut start = 0;
    let mut found = None;
    for (i, w) in list
        .iter()
        .enumerate()
        .chain(std::iter::once((list.len(), &String::new())))
    {
        match w.as_str() {
            "(" => depth += 1,
            ")" => depth -= 1,
            "," | "" if depth == 0 => {
                let one = &list[start..i.min(list.len())];
                start = i + 1;
                // The target: the words before `=` (or `:=`); none, not an assignment
                // (`NAMES utf8`, `ROLE r`, `TRANSACTION ...`).
                let Some(eq) = one.iter().position(|w| w == "=" || w == ":") else {
                    continue;
                };
                let target = &one[..eq];
                if target.first().is_some_and(|w| w == "password") {
                    continue;
                }
                if let Some(v) = target.last().and_then(|w| spider_name(w)) {
                    found = Some(v);
                    break;
                }
            }
            _ => {}
        }
    }
    found.or_else(|| {
        let rest = rest?;
        match rest.first().map(String::as_str) {
            Some("set") => spider_assigned(&rest[1..]),
            _ => None,
        }
    })
}

/// The tokens of `piece`, lower case: words (letters, digits, `_`, `$`, `@`), a
/// quoted name as the name it quotes, a string as `'`, any other character
/// (not a space) as itself.
fn tokens(piece: &str, lexing: Lexing) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = piece.chars().peekable();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '@' || !c.is_ascii();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                let mut inner = String::new();
                let escapes = lexing.escapes_in(c as u8);
                while let Some(d) = chars.next() {
                    if d == '\\' && escapes {
                        chars.next();
                    } else if d == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                            inner.push(c);
                        } else {
                            break;
                        }
                    } else {
                        inner.push(d);
                    }
                }
                match c {
                    '`' => out.push(inner.to_ascii_lowercase()),
                    _ => out.push("'".to_string()),
                }
            }
            c if word(c) => {
                let mut w = c.to_string();
                while let Some(&d) = chars.peek() {
                    if !word(d) {
                        break;
                    }
                    w.push(d);
                    chars.next();
                }
                out.push(w.to_ascii_lowercase());
            }
            c if c.is_whitespace() => {}
            c => out.push(c.to_string()),
        }
    }
    out
}

/// A token of a statement for [`remote_table`]: strings keep their text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lexeme {
    /// A word or a quoted name, lower case.
    Name(String),
    /// A string's text, lower case, `\` escapes dropped (the escaped character kept).
    Text(String),
    /// Any other character that is not a space.
    Punct(char),
}

fn lexemes(piece: &str, lexing: Lexing) -> Vec<Lexeme> {
    let mut out = Vec::new();
    let mut chars = piece.chars().peekable();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                let mut inner = String::new();
                let escapes = lexing.escapes_in(c as u8);
                while let Some(d) = chars.next() {
                    if d == '\\' && escapes {
                        if let Some(e) = chars.next() {
                            inner.push(e);
                        }
                    } else if d == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                            inner.push(c);
                        } else {
                            break;
                        }
                    } else {
                        inner.push(d);
                    }
                }
                let inner = inner.to_lowercase();
                let name = c == '`' || (c == '"' && lexing.ansi_quotes);
                out.push(if name { Lexeme::Name(inner) } else { Lexeme::Text(inner) });
            }
            c if word(c) => {
                let mut w = c.to_string();
                while let Some(&d) = chars.peek() {
                    if !word(d) {
                        break;
                    }
                    w.push(d);
                    chars.next();
                }
                out.push(Lexeme::Name(w.to_lowercase()));
            }
            c if c.is_whitespace() => {}
            c => out.push(Lexeme::Punct(c)),
        }
    }
    out
}

/// Engines whose tables read and write another server's tables.
const REMOTE_ENGINES: &[&str] = &["spider", "federated", "federatedx", "connect"];

/// Spider's connection parameters (`srv "node1"`, `table 'c'`, ...) in a COMMENT.
const REMOTE_PARAMETERS: &[&str] = &[
    "srv",
    "server",
    "host",
    "port",
    "socket",
    "wrapper",
    "database",
    "tbl",
    "table",
    "default_file",
    "default_group",
];

/// Why DDL (or a compound statement) `text` may make or re-point a table that
/// reaches another server's tables, if it may: an ENGINE clause naming Spider,
/// FederatedX or CONNECT, a CONNECTION clause, a string that holds `spider`, a URL
/// (`://`), one of `databases`, or a Spider connection parameter (`srv "node1"`).
/// In a keyspace's session on the head of a managed sharded keyspace such a table
/// writes that keyspace's node tables with no FK work (review r27c F7). CREATE OR
/// REPLACE / ALTER / DROP SERVER re-point every Spider table using the server.
pub fn remote_table(text: &str, lexing: Lexing, databases: &[String]) -> Option<String> {
    let l = lexemes(text, lexing);
    let name = |i: usize| match l.get(i) {
        Some(Lexeme::Name(n)) => Some(n.as_str()),
        _ => None,
    };
    for i in 0..l.len() {
        match &l[i] {
            Lexeme::Name(n) if n == "engine" => {
                let at = if l.get(i + 1) == Some(&Lexeme::Punct('=')) {
                    i + 2
                } else {
                    i + 1
                };
                let value = match l.get(at) {
                    Some(Lexeme::Name(v) | Lexeme::Text(v)) => v.as_str(),
                    _ => "",
                };
                if REMOTE_ENGINES.contains(&value) {
                    return Some(format!("ENGINE={}", value.to_ascii_uppercase()));
                }
            }
            Lexeme::Name(n)
                if n == "connection" && matches!(l.get(i + 1), Some(Lexeme::Punct('=') | Lexeme::Text(_))) =>
            {
                return Some("a CONNECTION clause".to_string());
            }
            Lexeme::Name(n)
                if n == "server"
                    && i > 0
                    && (name(i - 1) == Some("alter")
                        || name(i - 1) == Some("drop")
                        || (name(i - 1) == Some("replace") && name(i.saturating_sub(2)) == Some("or"))) =>
            {
                return Some("CREATE OR REPLACE / ALTER / DROP SERVER".to_string());
            }
            Lexeme::Text(t) => {
                if t.contains("spider") || t.contains("://") {
                    return Some("a string naming Spider or a URL".to_string());
                }
                if let Some(d) = databases.iter().find(|d| t.contains(&d.to_lowercase())) {
                    return Some(format!("a string naming database `{d}`"));
                }
                if let Some(p) = REMOTE_PARAMETERS.iter().find(|p| spider_parameter(t, p)) {
                    return Some(format!("a COMMENT with the Spider connection parameter `{p}`"));
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `text` holds `parameter` as a word followed (after spaces) by a quote.
fn spider_parameter(text: &str, parameter: &str) -> bool {
    text.match_indices(parameter).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + parameter.len()..].trim_start();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && (after.starts_with('"') || after.starts_with('\''))
    })
}

/// The bare keywords `piece` starts with (lower case), up to the first token that
/// is not one: a quoted name, a string, a number or punctuation end it, so
/// ``CREATE TABLE `temporary` `` gives `create table`.
fn lead_keywords(piece: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = piece.trim_start_matches(|c: char| c == '(' || c.is_ascii_whitespace());
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let word = &rest[..end];
        let after = &rest[end..];
        // A keyword is letters (a name may go on with `$`, a non-ASCII letter, `.`).
        if word.is_empty()
            || word.starts_with(|c: char| c.is_ascii_digit())
            || after.starts_with(|c: char| c == '$' || c == '.' || c == '@' || !c.is_ascii())
        {
            return out;
        }
        out.push(word.to_ascii_lowercase());
        let next = after.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if next.len() == after.len() && !next.is_empty() {
            // Punctuation right after the word (`=`, `(`, a quote): the keywords end.
            return out;
        }
        rest = next;
    }
}

/// Whether `piece` is `CREATE [OR REPLACE] TEMPORARY ...` or `DROP TEMPORARY ...`:
/// the keyword in its place, not the word anywhere (a user, role, table or view
/// named `temporary` is not the keyword; review r27c F3, F9).
pub fn temporary_ddl(piece: &str) -> bool {
    let k = lead_keywords(piece);
    let k: Vec<&str> = k.iter().map(String::as_str).collect();
    matches!(
        k.as_slice(),
        ["create", "temporary", ..] | ["create", "or", "replace", "temporary", ..] | ["drop", "temporary", ..]
    )
}

/// The error for a statement [`switches_off`] finds (`form`: its answer).
pub fn guarantee_refusal(keyspace: &str, form: &str) -> ServerError {
    let why = if form.contains("spider_") {
        "the head's Spider settings are what the sharded keyspace's guarantees stand on (with \
         `spider_internal_xa` off a commit across nodes is not atomic: a node lost at COMMIT leaves the others \
         committed); a session may not change them, set them on the head for every session"
    } else {
        "under table locks the head's Spider runs no node transactions for the rest of the session (MariaDB \
         10.11), so the gateway's writes would commit on some nodes and fail on others, and the gateway's own \
         START TRANSACTION would release the locks; use transactions and locking reads (SELECT ... FOR UPDATE) \
         instead"
    };
    ServerError::gateway(format!(
        "tether gateway: keyspace `{keyspace}` is sharded and managed: {form} is refused ({why}; see \
         docs/sharding.md)"
    ))
}

/// The objects of CREATE that the gateway would not see act: their writes are
/// not planned.
const HIDDEN_WRITERS: &[&str] = &["trigger", "view", "procedure", "function", "event", "package"];

/// The object CREATE / ALTER / DROP names: its first word among the object kinds.
fn object_kind(w: &[String]) -> Option<&str> {
    const KINDS: &[&str] = &[
        "table",
        "tables",
        "index",
        "database",
        "schema",
        "trigger",
        "view",
        "procedure",
        "function",
        "event",
        "package",
        "sequence",
        "user",
        "role",
        "server",
    ];
    w.iter().map(String::as_str).find(|x| KINDS.contains(x))
}

/// Why DDL `piece` is refused in a managed sharded keyspace, if it is: DROP,
/// TRUNCATE or RENAME of a table of the FK graph (`fk_tables`; native InnoDB
/// refuses a referenced one with 1451 / 1701, the nodes cannot); ALTER ... RENAME
/// naming a table of the keyspace; CREATE of a
/// trigger, view, routine or event (their writes are not planned); CREATE
/// TEMPORARY TABLE named like a table of the keyspace (`tables`): the session's
/// writes naming it would get the real table's FK work; ALTER SERVER, DROP
/// SERVER and CREATE OR REPLACE SERVER (a Spider table reaches its node through
/// the server's definition). Strings and quoted names are read as `lexing` (the
/// session's sql_mode) says (review r26a F3).
pub fn ddl_refusal(piece: &str, lexing: Lexing, fk_tables: &[String], tables: &[String]) -> Option<String> {
    let w = words(piece);
    let first = w.first().map(String::as_str).unwrap_or("");
    let replaces = w.get(1).is_some_and(|x| x == "or") && w.get(2).is_some_and(|x| x == "replace");
    if object_kind(&w) == Some("server") && (first == "alter" || first == "drop" || (first == "create" && replaces)) {
        return Some(format!(
            "{} SERVER (the head's Spider tables reach their data nodes through the servers' definitions; the \
             operator changes them on the head directly)",
            if first == "create" {
                "CREATE OR REPLACE".to_string()
            } else {
                first.to_ascii_uppercase()
            }
        ));
    }
    let temporary = temporary_ddl(piece);
    let names = |list: &[String]| {
        list.iter()
            .find(|t| {
                w.iter()
                    .any(|x| x.rsplit('.').next() == Some(t.to_ascii_lowercase().as_str()))
            })
            .cloned()
    };
    match first {
        "drop" | "truncate" | "rename" => {
            if first == "drop" && (temporary || object_kind(&w).is_some_and(|k| k != "table" && k != "tables")) {
                return None;
            }
            names(fk_tables).map(|t| {
                format!(
                    "{} of `{t}`, a table of the keyspace's foreign keys (InnoDB would refuse it or follow it; \
                     the nodes cannot)",
                    first.to_ascii_uppercase()
                )
            })
        }
        // A table of the FK graph renamed (the VSchema's FKs name it), or any table
        // renamed onto a keyspace table's name (a temporary table shadowing it).
        "alter" if w.iter().any(|x| x == "rename") => names(tables)
            .map(|t| format!("ALTER ... RENAME naming `{t}`, a table of the keyspace (its FKs are declared by name)")),
        // Partition management empties, drops, moves or re-places rows on the nodes
        // with no FK work and no check (review r25h F1): refused for every table of
        // the keyspace, the table altered or one exchanged with a partition.
        "alter" if object_kind(&w) == Some("table") => {
            let t = tokens(piece, lexing);
            let form = relayout(&w).or_else(|| rewires(&t))?;
            // A name the gateway cannot read is refused, not guessed (review r25j F1).
            let Some(target) = altered_table(&t) else {
                return Some(format!(
                    "ALTER TABLE ... {form} of a table whose name the gateway cannot read"
                ));
            };
            let target = target.as_str();
            let exchanged = form.starts_with("EXCHANGE");
            tables
                .iter()
                .find(|t| t.eq_ignore_ascii_case(target))
                .cloned()
                .or_else(|| if exchanged { names(tables) } else { None })
                .map(|t| {
                    format!(
                        "ALTER TABLE ... {form} of `{t}`, a table of the keyspace (it removes, moves or re-places \
                         rows on the data nodes with no foreign-key work and no check; the operator changes \
                         partitioning on the head directly, or with foreign_key_checks = 0)"
                    )
                })
        }
        "create" => match object_kind(&w) {
            // CREATE OR REPLACE TABLE drops the table it replaces, rows and all.
            Some("table") if !temporary && replaces => {
                let t = tokens(piece, lexing);
                let Some(target) = altered_table(&t) else {
                    return Some("CREATE OR REPLACE TABLE of a table whose name the gateway cannot read".to_string());
                };
                let target = target.as_str();
                fk_tables.iter().find(|t| t.eq_ignore_ascii_case(target)).map(|t| {
                    format!(
                        "CREATE OR REPLACE TABLE `{t}`, a table of the keyspace's foreign keys (it drops the table \
                         it replaces; InnoDB would refuse it or follow it, the nodes cannot)"
                    )
                })
            }
            Some(k) if HIDDEN_WRITERS.contains(&k) => Some(format!(
                "CREATE {} (its writes would not be planned)",
                k.to_ascii_uppercase()
            )),
            Some("table") if temporary => {
                let pos = w.iter().position(|x| x == "table")?;
                let mut rest = w[pos + 1..].iter().map(String::as_str);
                let mut name = rest.next()?;
                if name == "if" {
                    // IF NOT EXISTS
                    name = rest.nth(2)?;
                }
                let name = name.rsplit('.').next().unwrap_or(name);
                tables.iter().find(|t| t.eq_ignore_ascii_case(name)).map(|t| {
                    format!(
                        "CREATE TEMPORARY TABLE `{t}`, named like a table of the keyspace (its writes would get \
                         the real table's FK work)"
                    )
                })
            }
            _ => None,
        },
        _ => None,
    }
}

/// The table an `ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] t` or `CREATE [OR
/// REPLACE] TABLE [IF NOT EXISTS] t` names (lower case, without its database),
/// read from the statement's [`tokens`] as MariaDB reads it: quoted or not,
/// `db.t`, `db . t`, `` `db`.`t` `` (review r25j F1, F2). `None` when what follows
/// TABLE is no name.
fn altered_table(t: &[String]) -> Option<String> {
    let pos = t.iter().position(|x| x == "table")?;
    let mut rest = t[pos + 1..].iter().map(String::as_str).peekable();
    let mut name = rest.next()?;
    if name == "if" {
        // IF EXISTS / IF NOT EXISTS
        if rest.peek() == Some(&"not") {
            rest.next();
        }
        rest.next().filter(|x| *x == "exists")?;
        name = rest.next()?;
    }
    if rest.peek() == Some(&".") {
        rest.next();
        name = rest.next()?;
    }
    let is_name =
        !name.is_empty() && name != "'" && name.chars().all(|c| !c.is_ascii_punctuation() || c == '_' || c == '$');
    is_name.then(|| name.to_string())
}

/// A table option of an ALTER TABLE (its [`tokens`] `t`) that re-points a Spider
/// table at other node tables (review r25j F7): `CONNECTION`, and the table's
/// `COMMENT`. The statement's clauses are cut at `,` outside parentheses; the
/// first one begins after the table's name and its `WAIT n` / `NOWAIT` (`IF
/// EXISTS` before the name: review r26a F2). A `COMMENT` is a column's or an
/// index's only in a clause that ADDs, CHANGEs or MODIFYs one, and not with `=`;
/// in any other clause it is the table's (table options follow each other
/// without commas too).
fn rewires(t: &[String]) -> Option<String> {
    const REWIRED: &str = "COMMENT (a Spider table's COMMENT names the node tables it reads)";
    let mut depth = 0i32;
    // Where the first clause begins (the whole statement when the name cannot be
    // read: then no COMMENT in it is taken for a column's).
    let start = first_clause(t).unwrap_or(0);
    let mut defines = t.get(start).is_some_and(|w| defining(w));
    for (i, x) in t.iter().enumerate() {
        match x.as_str() {
            "(" => depth += 1,
            ")" => depth -= 1,
            "," if depth == 0 && i >= start => defines = t.get(i + 1).is_some_and(|w| defining(w)),
            "connection" if depth == 0 => return Some("CONNECTION".to_string()),
            "comment" if depth == 0 && (t.get(i + 1).is_some_and(|n| n == "=") || (i >= start && !defines)) => {
                return Some(REWIRED.to_string())
            }
            _ => {}
        }
    }
    None
}

/// True for the first word of an ALTER TABLE clause that defines a column or an
/// index (whose own `COMMENT 'x'` is not the table's).
fn defining(word: &str) -> bool {
    matches!(word, "add" | "change" | "modify")
}

/// The index in `t` (an ALTER TABLE's [`tokens`]) where its first clause
/// begins: after `TABLE [IF EXISTS] [db .] name [WAIT n | NOWAIT]`.
fn first_clause(t: &[String]) -> Option<usize> {
    let at = |i: usize| t.get(i).map(String::as_str);
    let mut i = t.iter().position(|x| x == "table")? + 1;
    if at(i) == Some("if") {
        i += 1;
        if at(i) == Some("not") {
            i += 1;
        }
        if at(i) != Some("exists") {
            return None;
        }
        i += 1;
    }
    // The name, `db . name` too.
    i += 1;
    if at(i) == Some(".") {
        i += 2;
    }
    match at(i) {
        Some("nowait") => i += 1,
        Some("wait") => {
            // A number: `5`, `5.5`, `.5`, `1e+3`.
            i += 1;
            while at(i).is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit()) || w == "." || w == "+" || w == "-")
            {
                i += 1;
            }
        }
        _ => {}
    }
    (i <= t.len()).then_some(i)
}

/// The form of an ALTER TABLE (its words `w`) that changes a table's partitioning
/// or the rows a partition holds, or its engine or tablespace: `TRUNCATE
/// PARTITION`, `DROP PARTITION`, `ADD PARTITION`, `COALESCE PARTITION`, `REORGANIZE
/// PARTITION`, `EXCHANGE PARTITION`, `REBUILD PARTITION`, `CONVERT PARTITION` /
/// `CONVERT TABLE .. TO PARTITION`, `DISCARD` / `IMPORT PARTITION | TABLESPACE`,
/// `REMOVE PARTITIONING`, `PARTITION BY`, `PARTITIONS n`, `ENGINE`. The maintenance
/// forms (`ANALYZE`, `CHECK`, `OPTIMIZE`, `REPAIR PARTITION`) too, as `ANALYZE
/// TABLE` and the like are: on a Spider head they left the session's node
/// transactions broken (1399 XAER_RMFAIL at its next statement, MariaDB 10.11)
/// and, once, a later planned DELETE's rows gone without their children.
fn relayout(w: &[String]) -> Option<String> {
    for (i, x) in w.iter().enumerate() {
        let before = i
            .checked_sub(1)
            .and_then(|j| w.get(j))
            .map(String::as_str)
            .unwrap_or("");
        let form = match x.as_str() {
            "partition" if w.get(i + 1).is_some_and(|n| n == "by") => "PARTITION BY".to_string(),
            "partition" | "partitioning" if !before.is_empty() => {
                format!("{} {}", before.to_ascii_uppercase(), x.to_ascii_uppercase())
            }
            "partitions" => "PARTITIONS".to_string(),
            "tablespace" if before == "discard" || before == "import" => {
                format!("{} TABLESPACE", before.to_ascii_uppercase())
            }
            "engine" => "ENGINE".to_string(),
            _ => continue,
        };
        return Some(form);
    }
    None
}

/// The table a `CREATE TEMPORARY TABLE` statement creates (lower case), if it is one.
pub fn temporary_created(piece: &str) -> Option<String> {
    let w = words(piece);
    if w.first().map(String::as_str) != Some("create") || !temporary_ddl(piece) {
        return None;
    }
    let pos = w.iter().position(|x| x == "table")?;
    let mut rest = w[pos + 1..].iter();
    let mut name = rest.next()?;
    if name == "if" {
        name = rest.nth(2)?;
    }
    Some(name.rsplit('.').next().unwrap_or(name).to_string())
}

/// The tables a `DROP [TEMPORARY] TABLE` statement names (lower case).
pub fn tables_dropped(piece: &str) -> Vec<String> {
    let w = words(piece);
    if w.first().map(String::as_str) != Some("drop") {
        return Vec::new();
    }
    let Some(pos) = w.iter().position(|x| x == "table" || x == "tables") else {
        return Vec::new();
    };
    w[pos + 1..]
        .iter()
        .filter(|x| !matches!(x.as_str(), "if" | "exists" | "restrict" | "cascade"))
        .map(|x| x.rsplit('.').next().unwrap_or(x).to_string())
        .collect()
}

/// `sql` without the modifiers that change nothing for InnoDB or Spider tables
/// (`DELETE LOW_PRIORITY QUICK`, `UPDATE LOW_PRIORITY`), which the planner cannot
/// read; any other text as it is.
pub fn without_modifiers(sql: &str) -> std::borrow::Cow<'_, str> {
    let mut rest = sql.trim_start();
    let Some(first) = rest.split_whitespace().next() else {
        return sql.into();
    };
    let lower = first.to_ascii_lowercase();
    if lower != "delete" && lower != "update" {
        return sql.into();
    }
    rest = rest[first.len()..].trim_start();
    let mut dropped = false;
    loop {
        let word = rest.split_whitespace().next().unwrap_or("");
        let w = word.to_ascii_lowercase();
        if w == "low_priority" || (w == "quick" && lower == "delete") {
            rest = rest[word.len()..].trim_start();
            dropped = true;
        } else {
            break;
        }
    }
    match dropped {
        true => format!("{first} {rest}").into(),
        false => sql.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_is_a_keyword_only_in_its_place() {
        for s in [
            "CREATE TEMPORARY TABLE t (a INT)",
            "create or replace temporary table t (a int)",
            "DROP TEMPORARY TABLE IF EXISTS t",
        ] {
            assert!(temporary_ddl(s), "{s}");
        }
        for s in [
            "CREATE TABLE `temporary` (a INT)",
            "CREATE TABLE temporary (a INT)",
            "DROP TABLE temporary, p",
            "DROP TABLE `temporary`, p",
            "CREATE USER `temporary`",
            "CREATE OR REPLACE VIEW temporary AS SELECT 1",
            "CREATE `temporary` TABLE t (a INT)",
        ] {
            assert!(!temporary_ddl(s), "{s}");
        }
        let fk = ["p".to_string()];
        let tables = ["p".to_string(), "temporary".to_string()];
        assert!(ddl_refusal("DROP TABLE temporary, p", Lexing::DEFAULT, &fk, &tables).is_some());
        assert!(ddl_refusal("DROP TABLE `temporary`, p", Lexing::DEFAULT, &fk, &tables).is_some());
        assert_eq!(temporary_created("CREATE TABLE `temporary` (a INT)"), None);
    }

    #[test]
    fn tables_reaching_other_servers_are_seen() {
        let dbs = ["r27_ks".to_string()];
        for s in [
            "CREATE TABLE a (id INT) ENGINE=SPIDER",
            "CREATE TABLE a (id INT) ENGINE = 'Spider'",
            "ALTER TABLE a ENGINE FEDERATED",
            "CREATE TABLE a (id INT) CONNECTION='node1/c'",
            "CREATE TABLE a (id INT) COMMENT='srv \"node1\", table \"c\"'",
            "CREATE TABLE a (id INT) COMMENT='wrapper \"mysql\", database \"r27_' 'ks\"'",
            "CREATE TABLE a (id INT) COMMENT='sr\\v \"node1\"'",
            "CREATE OR REPLACE SERVER node1 FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h')",
            "ALTER SERVER node1 OPTIONS (PORT 1)",
            "DROP SERVER node1",
        ] {
            assert!(remote_table(s, Lexing::DEFAULT, &dbs).is_some(), "{s}");
        }
        for s in [
            "CREATE TABLE a (id INT) COMMENT 'a note on servers'",
            "CREATE TABLE a (id INT) ENGINE=InnoDB",
            "CREATE TABLE a (connection_id INT)",
        ] {
            assert_eq!(remote_table(s, Lexing::DEFAULT, &dbs), None, "{s}");
        }
    }

    #[test]
    fn statements_are_cut_outside_strings_and_comments() {
        assert_eq!(
            statements("SELECT 1; DELETE FROM t", Lexing::DEFAULT),
            ["SELECT 1", "DELETE FROM t"]
        );
        assert_eq!(statements("SELECT ';' ; ", Lexing::DEFAULT), ["SELECT ';'"]);
        assert_eq!(statements("/* c; */ DELETE FROM t", Lexing::DEFAULT), ["DELETE FROM t"]);
        assert_eq!(statements("-- c\nDELETE FROM t", Lexing::DEFAULT), ["DELETE FROM t"]);
        assert_eq!(statements("# c\nDELETE FROM t", Lexing::DEFAULT), ["DELETE FROM t"]);
        assert_eq!(statements("/*! DELETE FROM t */", Lexing::DEFAULT), ["DELETE FROM t"]);
        assert_eq!(
            statements("/*!40101 SET NAMES utf8 */", Lexing::DEFAULT),
            ["SET NAMES utf8"]
        );
        assert_eq!(
            statements("SELECT `a;b`, \"x\\\";\"", Lexing::DEFAULT),
            ["SELECT `a;b`, \"x\\\";\""]
        );
        assert_eq!(statements("SELECT 1--1", Lexing::DEFAULT), ["SELECT 1--1"]);
        // Review r26a F1: `--` before a Unicode space is no comment.
        assert_eq!(
            statements("SELECT 1 --\u{a0}; TRUNCATE TABLE p", Lexing::DEFAULT),
            ["SELECT 1 --", "TRUNCATE TABLE p"]
        );
        assert_eq!(
            statements("SELECT 1 --\u{3000}x; TRUNCATE TABLE p", Lexing::DEFAULT).len(),
            2
        );
        assert_eq!(
            statements("SELECT 1 --\x0b; TRUNCATE TABLE p", Lexing::DEFAULT),
            ["SELECT 1"]
        );
        // Under NO_BACKSLASH_ESCAPES `'\\'` is a whole string (review r23h F2).
        let hidden = "SELECT '\\'; SET spider_internal_xa = 0; SELECT '\\'";
        assert_eq!(statements(hidden, Lexing::DEFAULT).len(), 1);
        let nbe = Lexing::escapes(false);
        assert_eq!(
            statements(hidden, nbe),
            ["SELECT '\\'", "SET spider_internal_xa = 0", "SELECT '\\'"]
        );
        assert_eq!(
            switches_off("SET @a = '\\', spider_internal_xa = 0", Lexing::DEFAULT),
            None
        );
        assert_eq!(
            switches_off("SET @a = '\\', spider_internal_xa = 0", nbe).as_deref(),
            Some("SET of `spider_internal_xa`")
        );
    }

    #[test]
    fn only_reads_session_statements_writes_and_ddl_pass() {
        for read in [
            "SELECT 1",
            "show tables",
            "SET autocommit = 0",
            "BEGIN",
            "begin work",
            "START TRANSACTION READ ONLY",
            "COMMIT",
            "EXPLAIN SELECT 1",
            "(SELECT 1) UNION (SELECT 2)",
        ] {
            assert_eq!(kind(read), Kind::Read, "{read}");
        }
        for refused in [
            "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); END",
            "SET STATEMENT max_statement_time = 100 FOR DELETE FROM t",
            "PREPARE s FROM 'DELETE FROM t'",
            "EXECUTE IMMEDIATE 'DELETE FROM t'",
            "CALL p()",
            "XA START 'x'",
            "LOAD DATA INFILE 'f' INTO TABLE t",
            "SELECT * FROM t INTO OUTFILE '/tmp/x'",
            "HANDLER t OPEN",
        ] {
            assert!(matches!(kind(refused), Kind::Refused(_)), "{refused}");
        }
        assert_eq!(kind("delete from t"), Kind::Write);
        assert_eq!(kind("TRUNCATE t"), Kind::Ddl);
    }

    #[test]
    fn spider_settings_and_table_locks_are_found_in_every_spelling() {
        for (sql, form) in [
            ("SET spider_internal_xa = 0", "SET of `spider_internal_xa`"),
            ("set SESSION spider_internal_xa=0", "SET of `spider_internal_xa`"),
            ("SET LOCAL spider_semi_trx = 0", "SET of `spider_semi_trx`"),
            ("SET GLOBAL spider_internal_xa = 0", "SET of `spider_internal_xa`"),
            ("SET @@session.spider_internal_xa = 0", "SET of `spider_internal_xa`"),
            ("SET @@SPIDER_INTERNAL_XA := OFF", "SET of `spider_internal_xa`"),
            (
                "SET @@local.`spider_lock_exchange` = 1",
                "SET of `spider_lock_exchange`",
            ),
            (
                "SET `spider_sync_trx_isolation` = 0",
                "SET of `spider_sync_trx_isolation`",
            ),
            (
                "SET autocommit = 0, @a = (SELECT 1, 2), spider_read_only_mode = 1",
                "SET of `spider_read_only_mode`",
            ),
            (
                "SET NAMES utf8mb4, spider_internal_xa_snapshot = 2",
                "SET of `spider_internal_xa_snapshot`",
            ),
            (
                "SET STATEMENT spider_internal_xa = 0 FOR DELETE FROM p",
                "SET of `spider_internal_xa`",
            ),
            (
                "SET STATEMENT max_statement_time = 9 FOR SET STATEMENT spider_internal_xa = 0 FOR SELECT 1",
                "SET of `spider_internal_xa`",
            ),
            (
                "SET STATEMENT max_statement_time = 9 FOR SET spider_internal_xa = 0",
                "SET of `spider_internal_xa`",
            ),
            ("LOCK TABLES p WRITE, c READ", "LOCK TABLES"),
            ("lock table p read local", "LOCK TABLES"),
            (
                "FLUSH TABLES WITH READ LOCK",
                "FLUSH TABLES ... WITH READ LOCK / FOR EXPORT",
            ),
            (
                "flush local tables p for export",
                "FLUSH TABLES ... WITH READ LOCK / FOR EXPORT",
            ),
            (
                "BEGIN NOT ATOMIC SET @@spider_internal_xa = 0",
                "a compound statement naming `spider_internal_xa`",
            ),
            ("IF 1 THEN LOCK TABLES p WRITE", "a compound statement with LOCK TABLES"),
            (
                "l1: BEGIN SET spider_semi_trx = 0",
                "a compound statement naming `spider_semi_trx`",
            ),
        ] {
            let piece = statements(sql, Lexing::DEFAULT).remove(0);
            assert_eq!(switches_off(&piece, Lexing::DEFAULT).as_deref(), Some(form), "{sql}");
        }
        for sql in [
            "SET autocommit = 0",
            "SET @spider_internal_xa = 0",
            "SET @x = 'spider_internal_xa'",
            "SET NAMES utf8mb4",
            "SET ROLE spider_role",
            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
            "SET STATEMENT max_statement_time = 9 FOR SELECT spider_internal_xa FROM t",
            "SELECT @@spider_internal_xa",
            "SHOW VARIABLES LIKE 'spider_internal_xa'",
            "UNLOCK TABLES",
            "FLUSH TABLES",
            "SELECT * FROM t LOCK IN SHARE MODE",
        ] {
            assert_eq!(switches_off(sql, Lexing::DEFAULT), None, "{sql}");
        }
    }

    #[test]
    fn modifiers_that_change_nothing_are_dropped() {
        assert_eq!(without_modifiers("DELETE QUICK LOW_PRIORITY FROM t"), "DELETE FROM t");
        assert_eq!(
            without_modifiers("update low_priority t SET a = 1"),
            "update t SET a = 1"
        );
        assert_eq!(without_modifiers("DELETE IGNORE FROM t"), "DELETE IGNORE FROM t");
        assert_eq!(without_modifiers("UPDATE quick SET a = 1"), "UPDATE quick SET a = 1");
    }

    #[test]
    fn ddl_on_the_fk_graph_and_hidden_writers_are_refused() {
        let fk = vec!["item".to_string()];
        let all = vec!["item".to_string(), "log".to_string()];
        assert!(ddl_refusal("TRUNCATE TABLE item", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal("DROP TABLE IF EXISTS ks.item", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal("RENAME TABLE item TO x", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal("DROP TABLE log", Lexing::DEFAULT, &fk, &all).is_none());
        assert!(ddl_refusal("DROP TEMPORARY TABLE item", Lexing::DEFAULT, &fk, &all).is_none());
        assert!(ddl_refusal("DROP VIEW item_v", Lexing::DEFAULT, &fk, &all).is_none());
        assert!(ddl_refusal("ALTER TABLE item RENAME TO item_old", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal("ALTER TABLE scratch RENAME TO log", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal("ALTER TABLE item ADD COLUMN note INT", Lexing::DEFAULT, &fk, &all).is_none());
        assert!(ddl_refusal("CREATE OR REPLACE VIEW v AS SELECT 1", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal(
            "CREATE DEFINER=`a`@`%` TRIGGER tr AFTER INSERT ON log",
            Lexing::DEFAULT,
            &fk,
            &all
        )
        .is_some());
        assert!(ddl_refusal("CREATE TEMPORARY TABLE log (id INT)", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal("CREATE TEMPORARY TABLE scratch (id INT)", Lexing::DEFAULT, &fk, &all).is_none());
        assert!(ddl_refusal("CREATE TABLE t (trigger_at INT)", Lexing::DEFAULT, &fk, &all).is_none());
        assert!(ddl_refusal("CREATE OR REPLACE TABLE item (id INT)", Lexing::DEFAULT, &fk, &all).is_some());
        assert!(ddl_refusal("CREATE OR REPLACE TABLE log (id INT)", Lexing::DEFAULT, &fk, &all).is_none());
    }

    #[test]
    fn partition_management_of_a_keyspace_table_is_refused() {
        let fk = vec!["item".to_string()];
        let all = vec!["item".to_string(), "log".to_string()];
        for sql in [
            "ALTER TABLE item TRUNCATE PARTITION p0",
            "ALTER TABLE log TRUNCATE PARTITION ALL",
            "ALTER ONLINE TABLE IF EXISTS ks.item DROP PARTITION p0",
            "ALTER TABLE item ADD PARTITION (PARTITION p2)",
            "ALTER TABLE item COALESCE PARTITION 1",
            "ALTER TABLE item REORGANIZE PARTITION p0 INTO (PARTITION a, PARTITION b)",
            "ALTER TABLE other EXCHANGE PARTITION p0 WITH TABLE item",
            "ALTER TABLE item REBUILD PARTITION p0",
            "ALTER TABLE item REMOVE PARTITIONING",
            "ALTER TABLE item PARTITION BY HASH (id) PARTITIONS 2",
            "ALTER TABLE item ENGINE = InnoDB",
            "ALTER TABLE item DISCARD TABLESPACE",
            "ALTER TABLE item CONVERT PARTITION p0 TO TABLE x",
        ] {
            let why = ddl_refusal(sql, Lexing::DEFAULT, &fk, &all);
            assert!(why.as_deref().is_some_and(|w| w.contains('`')), "{sql}: {why:?}");
        }
        assert!(
            ddl_refusal("ALTER TABLE item TRUNCATE PARTITION p0", Lexing::DEFAULT, &fk, &all)
                .unwrap()
                .starts_with("ALTER TABLE ... TRUNCATE PARTITION of `item`")
        );
        assert!(ddl_refusal("ALTER TABLE item OPTIMIZE PARTITION p0", Lexing::DEFAULT, &fk, &all).is_some());
        // Review r25j F1, F2, F7: the name as the server reads it.
        for sql in [
            "ALTER TABLE `ks`.`item` TRUNCATE PARTITION p1",
            "ALTER TABLE ks. item TRUNCATE PARTITION p1",
            "ALTER TABLE ks .`Item` ENGINE = InnoDB",
            "ALTER TABLE IF EXISTS `ks` . item REMOVE PARTITIONING",
            "ALTER TABLE item COMMENT = 'table \"u\"'",
            "ALTER TABLE item CONNECTION 'table \"u\"'",
            "ALTER TABLE 'item' TRUNCATE PARTITION p0",
            "CREATE OR REPLACE TABLE `ks`.`item` (id INT)",
        ] {
            assert!(ddl_refusal(sql, Lexing::DEFAULT, &fk, &all).is_some(), "{sql}");
        }
        for sql in [
            "ALTER TABLE item ADD COLUMN partition_no INT",
            "ALTER TABLE item ADD COLUMN note INT COMMENT 'x'",
            "ALTER TABLE scratch TRUNCATE PARTITION p0",
            "ALTER TABLE `ks`.`scratch` COMMENT = 'x'",
        ] {
            assert_eq!(ddl_refusal(sql, Lexing::DEFAULT, &fk, &all), None, "{sql}");
        }
        // Review r26a F2: the table's COMMENT after IF EXISTS, WAIT n, NOWAIT or
        // another table option; F3: strings read as the session's sql_mode says.
        let rewired = "COMMENT 'wrapper \"mysql\", table \"u\"'";
        for sql in [
            format!("ALTER TABLE IF EXISTS item {rewired}"),
            format!("ALTER TABLE item NOWAIT {rewired}"),
            format!("ALTER TABLE ks.item WAIT 5 {rewired}"),
            format!("ALTER TABLE item WAIT 2.5 {rewired}"),
            format!("ALTER TABLE item FORCE {rewired}"),
            format!("ALTER TABLE item ADD COLUMN n INT COMMENT 'x', {rewired}"),
            format!("ALTER TABLE item ENGINE_ATTRIBUTE = '' {rewired}"),
        ] {
            assert!(ddl_refusal(&sql, Lexing::DEFAULT, &fk, &all).is_some(), "{sql}");
        }
        for sql in [
            "ALTER TABLE IF EXISTS item ADD COLUMN n INT COMMENT 'x'",
            "ALTER TABLE item WAIT 5 MODIFY v INT COMMENT 'x'",
            "ALTER TABLE item ADD INDEX i (v) COMMENT 'x', CHANGE v v INT COMMENT 'y'",
        ] {
            assert_eq!(ddl_refusal(sql, Lexing::DEFAULT, &fk, &all), None, "{sql}");
        }
        let hidden = "ALTER TABLE item ADD INDEX i (v) COMMENT 'x\\', COMMENT = 'wrapper \"mysql\"'";
        assert_eq!(ddl_refusal(hidden, Lexing::DEFAULT, &fk, &all), None);
        assert!(ddl_refusal(hidden, Lexing::escapes(false), &fk, &all).is_some());
        for sql in [
            "ALTER SERVER node2 OPTIONS (PORT 1)",
            "DROP SERVER IF EXISTS node1",
            "CREATE OR REPLACE SERVER node1 FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h')",
        ] {
            assert!(
                ddl_refusal(sql, Lexing::DEFAULT, &fk, &all).is_some_and(|w| w.contains("SERVER")),
                "{sql}"
            );
        }
        assert_eq!(
            ddl_refusal(
                "CREATE SERVER n3 FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h')",
                Lexing::DEFAULT,
                &fk,
                &all
            ),
            None
        );
        assert_eq!(
            temporary_created("create temporary table if not exists Item (id int)").as_deref(),
            Some("item")
        );
        assert_eq!(tables_dropped("DROP TEMPORARY TABLE IF EXISTS a, b"), ["a", "b"]);
    }
}
