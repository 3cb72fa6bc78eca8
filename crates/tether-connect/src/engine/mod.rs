//! One folder per engine: its connection and introspection (`mod.rs`), its reads and
//! writes (`rw.rs`) and its SQL dialect (`dialect.rs`). Everything engine-specific in
//! Tether lives under here; callers go through `Connection` and `Dialect`.

pub mod mysql;
pub mod postgres;
pub mod sqlite;
