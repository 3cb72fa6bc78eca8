//! Values a transformer names in the job (`constant`'s `value`, `categorical`'s
//! `values`) written into an enum column: each must be one of its labels, byte for
//! byte. Every destination refuses another value at the load, except MariaDB's `ENUM`,
//! which strips trailing spaces from what it stores ('ok ' silently becomes the label
//! 'ok'); refused here, at plan time, for all of them.

use tether_schema::Schema;

use crate::error::SyncError;
use crate::plan::Plan;

/// Refuses a `constant` or `categorical` value that is not a label of the enum column
/// it is written into (set there or inherited through an FK), naming the column, the
/// value and the labels.
pub(in crate::schema_plan) fn refuse_non_labels(plan: &Plan, source: &Schema) -> Result<(), SyncError> {
    for tp in &plan.tables {
        for ct in &tp.transforms {
            let values: Vec<&toml::Value> = match ct.spec.kind.as_str() {
                "constant" => ct.spec.options.get("value").into_iter().collect(),
                "categorical" => match ct.spec.options.get("values") {
                    Some(toml::Value::Array(a)) => a.iter().collect(),
                    _ => continue,
                },
                _ => continue,
            };
            let Some(column) = tp.table.column(&ct.column) else {
                continue;
            };
            let Some(labels) = crate::schema_plan::enum_labels(source, &tp.table, column) else {
                continue;
            };
            let Some(bad) = values
                .iter()
                .find(|v| !matches!(v, toml::Value::String(s) if labels.contains(s)))
            else {
                continue;
            };
            return Err(SyncError::Plan(format!(
                "transformer `{}` on {}.{} writes {bad}, which is not a label of its enum ({}); set values that \
                 are labels, byte for byte",
                ct.spec,
                source.display_name(&tp.table.table_name()),
                ct.column,
                labels.iter().map(|l| format!("'{l}'")).collect::<Vec<_>>().join(", "),
            )));
        }
    }
    Ok(())
}
