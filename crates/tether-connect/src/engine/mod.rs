//! One folder per engine: its connection and introspection (`mod.rs`), its reads and
//! writes (`rw.rs`) and its SQL dialect (`dialect.rs`). Everything engine-specific in
//! Tether lives under here; callers go through `Connection` and `Dialect`.

pub mod mysql;
pub mod postgres;
pub mod sqlite;

use std::collections::HashSet;

use crate::dialect::Dialect;
use crate::url::Engine;

/// The dialect of an engine.
pub fn dialect_of(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Sqlite => &sqlite::dialect::Sqlite,
        Engine::Postgres => &postgres::dialect::Postgres,
        Engine::Mysql => &mysql::dialect::Mysql,
    }
}

/// The names in `body` followed by `(` (a call, in SQL or PL/pgSQL), outside comments
/// and quoted strings: unquoted (and MariaDB's backquoted) names lowercased, as such
/// an identifier is folded (MariaDB's routine names compare so too), double-quoted ones
/// as written: `slug(x)`, `Norm (t)`, `public.f(`, `` `db`.`f`( ``, `"Inner"(`.
pub(crate) fn called_names(body: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let b = body.as_bytes();
    let mut i = 0;
    let followed_by_call = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        b.get(j) == Some(&b'(')
    };
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                    } else if b[i] == b'\'' {
                        break;
                    } else {
                        i += 1;
                    }
                }
                i += 1;
            }
            q @ (b'"' | b'`') => {
                let start = i + 1;
                let Some(len) = body[start..].find(q as char) else {
                    break;
                };
                let end = start + len;
                if followed_by_call(end + 1) {
                    let name = &body[start..end];
                    out.insert(if q == b'"' {
                        name.to_string()
                    } else {
                        name.to_ascii_lowercase()
                    });
                }
                i = end + 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                    i += 1;
                }
                if followed_by_call(i) {
                    out.insert(body[start..i].to_ascii_lowercase());
                }
            }
            _ => i += 1,
        }
    }
    out
}
