//! One folder per engine: its connection and introspection (`mod.rs`), its reads and
//! writes (`rw.rs`) and its SQL dialect (`dialect.rs`). Everything engine-specific in
//! Tether lives under here; callers go through `Connection` and `Dialect`.

pub mod mysql;
pub mod postgres;
pub mod sqlite;

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
