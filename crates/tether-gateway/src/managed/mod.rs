//! Runs a `tether_fkplan::Plan` on a backend connection: one transaction (or a savepoint inside
//! the client's transaction), locked reads of the affected keys, checks (children
//! that refuse, parents of the rows the statement writes), then the child
//! statements and the original with the backend's FK checks off. Every child
//! change is a statement of its own, so it reaches the binlog.
//!
//! The executor fills the plan's holes with the keys it reads, follows the plan's
//! rules to a fixpoint (self-references and cycles) and replays the statement's
//! rows in order against what the plan deletes and re-keys; it decides nothing else.
//!
//! Rooms: [`savepoint`] (transaction or savepoint around a plan), [`execute`] (one
//! plan: start rows, cascade, checks, batch), [`cascade`], [`checks`] (parents of
//! the statement's own rows), [`clash`] (ODKU/REPLACE clashes), [`native_first`]
//! (native runs and replays), [`state`] (the executor's bookkeeping), [`render`]
//! (backend values as SQL literals), [`sharded`] (a plan behind a sharding engine:
//! no InnoDB to fall back on, no savepoints), with [`stored`] (values checked as
//! the columns store them) and [`rows`] (INSERT / REPLACE forms run as their rows),
//! which [`replace_select`] uses for `REPLACE ... SELECT` on InnoDB too.

mod cascade;
mod checks;
mod clash;
mod execute;
mod materialize;
pub mod migrating;
mod native_first;
mod nontransactional;
mod pieces;
pub mod quotes;
mod render;
mod replace_select;
mod rows;
mod savepoint;
pub mod session_state;
mod sharded;
mod state;
mod stored;

pub use render::{backslash_trails, inline_params_as, introduced_only, last_pair, ParamText};
pub use savepoint::run;
pub use sharded::{refusal, run_sharded, unknown_target, write_targets};

/// Error 1105 for a write with FK work while the session's sql_mode has
/// NO_BACKSLASH_ESCAPES: the gateway reads `\` in the client's text as an escape and
/// writes it so in the statements it issues (cascades by value, rows written back),
/// so under that mode it could check or cascade other values than the server
/// stores. Refused before anything runs; reads and writes without FK work pass.
pub fn no_backslash_escapes(keyspace: &str) -> crate::reply::ServerError {
    crate::reply::ServerError::gateway(format!(
        "tether gateway: keyspace `{keyspace}` is managed: a write with foreign-key work is refused while the \
         session's sql_mode has NO_BACKSLASH_ESCAPES (the gateway reads and writes backslashes as escapes); \
         reset sql_mode for such writes"
    ))
}

/// Error 1105 for a statement form an unsharded managed keyspace does not run,
/// because the gateway could not give the rows and result InnoDB gives.
pub fn unsharded_refusal(keyspace: &str, form: &str) -> crate::reply::ServerError {
    crate::reply::ServerError::gateway(format!(
        "tether gateway: keyspace `{keyspace}` is managed: {form} is refused (the gateway could not reproduce \
         InnoDB's rows and result for it; see docs/gateway.md, Limits)"
    ))
}

/// Error 1105 for a write through a view over tables with FKs (or that FKs refer
/// to), in an unsharded managed keyspace: the planner sees tables, not views, so
/// InnoDB would run its cascades and the child changes would not reach the binlog
/// as statements of their own. Writes through views over FK-free tables pass.
pub fn view_refusal(keyspace: &str, view: &str) -> crate::reply::ServerError {
    crate::reply::ServerError::gateway(format!(
        "tether gateway: keyspace `{keyspace}` is managed: a write through the view `{view}` is refused (it reads \
         tables with foreign keys, whose cascades the gateway runs only for writes to the tables themselves); \
         write to its base table instead"
    ))
}

/// Error 1105 for `LOAD DATA ... REPLACE` into a table FKs refer to, in an
/// unsharded managed keyspace: InnoDB deletes the rows it replaces and cascades to
/// their children, which would not reach the binlog as statements of their own.
pub fn load_replace_refusal(keyspace: &str, table: &str) -> crate::reply::ServerError {
    crate::reply::ServerError::gateway(format!(
        "tether gateway: keyspace `{keyspace}` is managed: LOAD DATA ... REPLACE into `{table}` is refused (other \
         tables' foreign keys refer to it, and the children of the rows it replaces would be cascaded by InnoDB, \
         out of the gateway's plans); load with IGNORE, or into a staging table and REPLACE ... SELECT from it"
    ))
}
