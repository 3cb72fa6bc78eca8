//! Which tables the migrations of this gateway capture right now (review r14e
//! finding 1). InnoDB's own cascades fire no triggers, so a write the managed
//! gateway hands to InnoDB unchanged must not cascade into such a table: the
//! managed executor asks here (`managed::migrating`) before a native run.
//!
//! A table is entered before its capture triggers are created (or when a task takes
//! up a prepared migration) and left when the migration's task ends, whatever the
//! end: the entry may outlive the triggers a little, never the reverse. Only this
//! process's migrations are seen; a migration another gateway runs on the same
//! backend is not (docs/gateway.md, Online schema changes).

use std::sync::Mutex;

use tether_schema::FkAction;

use super::plan::Plan;

/// One captured table.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The migration's id.
    pub migration: String,
    /// The database of the table (the migrating keyspace's).
    pub database: String,
    pub table: String,
    /// The table's FKs: (parent database, parent table, its referenced columns, ON
    /// DELETE, ON UPDATE); the parent database is the table's own unless the FK names
    /// another.
    pub parents: Vec<(String, String, Vec<String>, FkAction, FkAction)>,
}

static CAPTURED: Mutex<Vec<Captured>> = Mutex::new(Vec::new());

fn entries() -> std::sync::MutexGuard<'static, Vec<Captured>> {
    CAPTURED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Enters the tables `plan` captures, in `database`, for migration `plan.id`.
pub(crate) fn enter(database: &str, plan: &Plan) {
    let mut all = entries();
    all.retain(|c| c.migration != plan.id);
    for t in &plan.tables {
        all.push(Captured {
            migration: plan.id.clone(),
            database: database.to_string(),
            table: t.table.clone(),
            parents: t
                .fks_before
                .iter()
                .map(|fk| {
                    let db = fk.referenced_schema.clone().unwrap_or_else(|| database.to_string());
                    let columns = fk.referenced_columns.clone();
                    (db, fk.referenced_table.clone(), columns, fk.on_delete, fk.on_update)
                })
                .collect(),
        });
    }
}

/// Leaves every table of migration `id`.
pub(crate) fn leave(id: &str) {
    entries().retain(|c| c.migration != id);
}

/// Leaves migration `id`'s tables when dropped: held by the migration's task, so a
/// task that ends in any way (aborted too) leaves them.
pub(crate) struct Entered(pub String);

impl Drop for Entered {
    fn drop(&mut self) {
        leave(&self.0);
    }
}

/// Every table captured now (a copy; empty on the common path).
pub fn captured() -> Vec<Captured> {
    entries().clone()
}
