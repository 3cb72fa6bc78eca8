//! Running a plan: each destination prepared ([`destination`]: opened, how it loads
//! decided ([`method`], as `tether plan` shows it), the tables the plan creates created
//! ([`create`]), mapped), loaded through the streaming
//! [`pipeline`], in one transaction where the destination loads atomically ([`atomic`])
//! or, when the run creates every table there, through staging schemas moved into place
//! in one transaction ([`stage`]), with [`progress`] told along the way. The executor does what the plan says and
//! decides nothing of its own.

mod atomic;
mod collate;
mod create;
mod destination;
mod fk_engines;
mod method;
mod narrow;
mod once;
mod outsiders;
mod partition_triggers;
mod pipeline;
mod progress;
mod respell;
mod stage;
pub(crate) mod suspended;

pub use atomic::NOTHING_WRITTEN;
pub use collate::{collations, Collations};
pub(crate) use destination::refuse_before_writing;
pub use destination::{
    advance_sequences, destination_name, finish_schema, open_early, prepare_destination, rekeyed_warnings, truncate,
    Destination, DroppedFk, Opened,
};
pub(crate) use method::decide;
pub use method::{LoadMethod, LoadPlan, NotStaged};
pub(crate) use outsiders::{refuse_planned_sqlite_views, refuse_unwritable};
pub(crate) use pipeline::{join_all, null_keyed_cycles, RERUN_SETS};
pub use pipeline::{load, Anon, Lane};
pub use progress::{Progress, TableReport};
pub use stage::{with_note, STAGE_DROPPED};
