//! SQL text: the one place identifiers and literals are quoted and escaped.
//!
//! `tether-connect`'s dialects, the gateway's planner and the gateway itself render
//! through these functions, so a rule about escaping is written once. Nothing here
//! parses SQL; it only prints it.

use crate::engine::Engine;
use crate::value::hex;

/// `name` as an identifier of `engine`: backticks on MariaDB/MySQL, double quotes
/// elsewhere, the quote character doubled inside.
pub fn ident(engine: Engine, name: &str) -> String {
    match engine {
        Engine::Mysql => quote_with(name, '`'),
        Engine::Sqlite | Engine::Postgres => quote_with(name, '"'),
    }
}

/// A text literal of `engine`: standard SQL (`'` doubled) on SQLite and PostgreSQL; on
/// MariaDB/MySQL the escapes `mysql_real_escape_string` makes, which read back the same
/// under the default SQL mode and under `NO_BACKSLASH_ESCAPES` alike except for `\`.
pub fn text(engine: Engine, value: &str) -> String {
    match engine {
        Engine::Mysql => mysql_text(value),
        Engine::Sqlite | Engine::Postgres => format!("'{}'", value.replace('\'', "''")),
    }
}

/// Bytes as a MariaDB/MySQL literal: a text literal when they are UTF-8, else a hex
/// literal that keeps every byte.
pub fn mysql_bytes(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(t) => mysql_text(t),
        Err(_) => hex_literal(value),
    }
}

/// `X'..'`: a hex literal (SQLite, MariaDB/MySQL).
pub fn hex_literal(value: &[u8]) -> String {
    format!("X'{}'", hex(value).to_ascii_uppercase())
}

fn mysql_text(t: &str) -> String {
    let mut s = String::with_capacity(t.len() + 2);
    s.push('\'');
    for ch in t.chars() {
        match ch {
            '\'' => s.push_str("\\'"),
            '\\' => s.push_str("\\\\"),
            '\0' => s.push_str("\\0"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\u{1a}' => s.push_str("\\Z"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

fn quote_with(name: &str, q: char) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push(q);
    for ch in name.chars() {
        if ch == q {
            s.push(q);
        }
        s.push(ch);
    }
    s.push(q);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_their_quote() {
        assert_eq!(ident(Engine::Mysql, "a`b"), "`a``b`");
        assert_eq!(ident(Engine::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(ident(Engine::Sqlite, "plain"), "\"plain\"");
    }

    #[test]
    fn text_escapes_per_engine() {
        assert_eq!(text(Engine::Postgres, "it's \\"), "'it''s \\'");
        assert_eq!(text(Engine::Mysql, "it's \\\n\0\u{1a}"), "'it\\'s \\\\\\n\\0\\Z'");
    }

    #[test]
    fn bytes_that_are_not_text_become_hex() {
        assert_eq!(mysql_bytes(b"ok"), "'ok'");
        assert_eq!(mysql_bytes(&[0xff, 0x0a]), "X'FF0A'");
        assert_eq!(hex_literal(&[0xab]), "X'AB'");
    }
}
