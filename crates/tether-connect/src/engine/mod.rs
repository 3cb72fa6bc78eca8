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

/// The names in `body` followed by `(` (a call, in SQL or PL/pgSQL), lowercased as an
/// unquoted identifier is (MariaDB's routine names compare so too): `slug(x)`,
/// `Norm (t)`, `public.f(`, `` `db`.`f`( ``, `"f"(`.
pub(crate) fn called_names(body: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let b = body.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            let mut j = i;
            if matches!(b.get(j), Some(b'`' | b'"')) {
                j += 1;
            }
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if b.get(j) == Some(&b'(') {
                out.insert(body[start..i].to_ascii_lowercase());
            }
        } else {
            i += 1;
        }
    }
    out
}
