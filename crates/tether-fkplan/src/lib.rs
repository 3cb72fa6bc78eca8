//! Managed foreign keys as data: one INSERT/UPDATE/DELETE/REPLACE plus the schema in,
//! an ordered plan of explicit statements out. Nothing here executes anything.
//!
//! The plan (see [`Plan`]) locks and reads the rows a statement removes or re-keys,
//! then gives, per table and event, what each child FK does: refuse (RESTRICT / NO
//! ACTION, error 1451), delete (CASCADE), or update (CASCADE, SET NULL, SET DEFAULT).
//! Statements are set-based: one per FK and cascade level, keyed by `IN` lists of the
//! keys read before. For the rows the statement itself writes, the plan says where
//! their FK values come from and how to probe their parents (error 1452, see
//! [`ParentChecks`]). The gateway runs the plan in one backend transaction.

mod error;
mod explain;
mod message;
mod plan;
mod planner;
mod rows;
mod sql;

pub use error::PlanError;
pub use message::{ansi_quoted, cascade_too_deep, describe_constraint, no_referenced_row, row_is_referenced, FkError};
pub use plan::{
    Action, ActionKind, Clash, Event, FkRef, KeyValue, NewChildValue, NewRows, OwnParent, Pad, ParentCheck,
    ParentChecks, Part, Pick, Plan, ReplaceSource, Rules, Start, Stored, Target, Template,
};
pub use planner::{called_functions, looks_like_write, plan, update_parts, without_modifiers, Analysis, UpdateParts};
pub use rows::{insert_parts, InsertParts, RowSource};
pub use sql::{comma_joins, ident, string_literal, Lines};
