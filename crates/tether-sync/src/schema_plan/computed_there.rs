//! A column the source holds as a plain column but an existing destination table
//! declares generated: the load leaves a generated column out of its INSERT, so the
//! destination would compute its own values in place of the source's. Each engine
//! refuses an explicit value for such a column, and so does the plan (review r18 H3).
//! A column generated on the source too is computed on both sides: left out, rightly.

use tether_connect::Engine;
use tether_schema::Schema;

use super::fit::landings;
use super::Destinations;
use crate::error::SyncError;
use crate::plan::Plan;

/// What `engine` says to an explicit value for a generated column.
fn native_refusal(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "PostgreSQL: cannot insert a non-DEFAULT value into column (428C9)",
        Engine::Mysql => "MariaDB/MySQL: the value specified for generated column is not allowed (1906/3105)",
        Engine::Sqlite => "SQLite: cannot INSERT into generated column",
    }
}

/// Refuses the job when a plain source column lands in a generated destination column.
pub(super) fn refuse(dests: &Destinations, plan: &Plan, source: &Schema) -> Result<(), SyncError> {
    for tp in &plan.tables {
        let table = tp.table.table_name();
        for c in tp.table.columns.iter().filter(|c| c.generated.is_none()) {
            let landed = landings(dests, plan, source, &[(table.clone(), c.name.clone())]);
            if let Some(l) = landed.iter().find(|l| !l.written) {
                let shown = source.display_name(&table);
                return Err(SyncError::Plan(format!(
                    "{}, a GENERATED column there: the destination computes its values, so the copy cannot hold \
                     the source's values of {shown}.{col} (a plain column in the source); writing them is refused \
                     as the destination itself refuses it ({}); make {col} a plain column there, or leave it out \
                     of the job",
                    l.label,
                    native_refusal(l.engine),
                    col = c.name,
                )));
            }
        }
    }
    Ok(())
}
