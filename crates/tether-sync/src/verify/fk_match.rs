//! Which of the source's foreign keys a destination's own foreign key, or a partition's
//! key, stands for: by what it checks (columns, referenced table and columns, the
//! partition it is declared on), not by name, since tables a destination already had
//! name their keys their own way (MariaDB's `c_ibfk_1`).

use tether_schema::{ForeignKey, Table};

/// The source's key `source` checks what the destination's `there` checks: the same
/// columns referencing the same columns of the table the job maps the source's parent
/// to (`parent_there`: its name on the destination).
pub(super) fn same_key(source: &ForeignKey, there: &ForeignKey, parent_there: &str) -> bool {
    source.columns == there.columns
        && source.referenced_columns == there.referenced_columns
        && there.referenced_table.eq_ignore_ascii_case(parent_there)
}

/// The destination's table `child` has the partition a source key is declared on (at any
/// level), so the key's rows are that partition's there too.
pub(super) fn has_partition(child: &Table, fk: &ForeignKey) -> bool {
    let Some(wanted) = &fk.partition else {
        return true;
    };
    let mut levels: Vec<&tether_schema::Partitioning> = child.partitioning.iter().collect();
    while let Some(level) = levels.pop() {
        for p in &level.partitions {
            if p.name == wanted.name && (p.schema.is_none() || wanted.schema.is_none() || p.schema == wanted.schema) {
                return true;
            }
            levels.extend(p.partitioning.as_deref());
        }
    }
    false
}
