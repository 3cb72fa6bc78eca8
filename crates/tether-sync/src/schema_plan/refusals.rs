//! What makes the sync stop on a destination before it writes, found from the
//! destination's schema report so that `tether plan` refuses with the sync's own
//! message (and exit code) instead of printing a plan the sync will not follow.

use tether_schema::{Engine, Schema, TableName};

use super::SchemaReport;
use crate::error::SyncError;

/// On SQLite, which matches table names without regard to case, the existing table a
/// table to create (`want`) would collide with under other letter case (`REGION` for
/// `region`). None elsewhere, or when no table differs from `want` only by case.
pub(super) fn same_table_other_case(dest: Engine, existing: &Schema, want: &TableName) -> Option<String> {
    if dest != Engine::Sqlite {
        return None;
    }
    existing
        .tables
        .iter()
        .find(|t| t.schema == want.schema && t.name != want.name && t.name.eq_ignore_ascii_case(&want.name))
        .map(|t| t.name.clone())
}

impl SchemaReport {
    /// The sync's refusal of a table to create that the SQLite destination `shown`
    /// already holds under other letter case: creating it fails ("already exists"), and
    /// writing into a table of another spelling is not what the job says.
    pub fn case_clash_refusal(&self, shown: &str) -> Option<SyncError> {
        let (name, there) = self.other_case.first()?;
        Some(SyncError::Plan(format!(
            "{shown}: table {name} is missing but the destination has table {there}, the same table to SQLite \
             (its table names ignore case): rename or drop {there} on the destination, or leave {name} out in [tables]"
        )))
    }

    /// What stops the sync on the destination `shown` before anything is written there,
    /// with the sync's message: a table SQLite holds under other case
    /// ([`Self::case_clash_refusal`]), or missing tables `mode = "data"` or `create_tables
    /// = false` does not create.
    pub fn refusal(&self, shown: &str, mode: crate::config::Mode, create_tables: bool) -> Option<SyncError> {
        if let Some(e) = self.case_clash_refusal(shown) {
            return Some(e);
        }
        let why = crate::plan::creates_nothing(mode, create_tables)?;
        if self.models.is_empty() {
            return None;
        }
        let names: Vec<String> = self.models.iter().map(|t| t.table_name().to_string()).collect();
        Some(SyncError::Plan(format!(
            "{shown}: tables missing and {why}: {}",
            names.join(", ")
        )))
    }
}
