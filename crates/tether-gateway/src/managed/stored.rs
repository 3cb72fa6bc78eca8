//! A statement's own values as the child columns will store them, for the parent
//! checks behind a sharding engine's head (no InnoDB check stands behind the
//! gateway there). MariaDB converts a literal on store (`1.4`, `'1.5e0'`, `TRUE`,
//! `0x01`, `'  7'` into an INT; `1.455` into a DECIMAL(6,2); `'2020-1-2'` into a
//! DATE) and InnoDB checks the stored value; `CAST` does not always agree with the
//! store (`CAST('1.5e0' AS SIGNED)` is 1, the store 2), so the values are stored
//! for real: into a session temporary InnoDB table (a MEMORY one touched in a transaction
//! leaves warning 1196 on ROLLBACK) of the columns' own types,
//! read back, dropped. The store's own errors (1264, 1366, 1292) are MariaDB's
//! errors for the statement, with the child table's name in them.

use tether_fkplan::ParentChecks;
use tether_schema::{DataType, Table};

use super::checks::OwnRow;
use super::render::{is_null, literals};
use crate::backend::Backend;
use crate::reply::ServerError;

/// The temporary table the values are stored into (per session, dropped at once).
const STORED: &str = "tether_stored_values";

/// Whether MariaDB may store a literal of a column of this type as another value
/// (strings are stored as written and compared by the server, under the column's
/// collation, in the probes).
fn converts(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Boolean
            | DataType::Int { .. }
            | DataType::Decimal { .. }
            | DataType::Float { .. }
            | DataType::Date
            | DataType::Time
            | DataType::Timestamp { .. }
    )
}

/// A literal an integer column of `bytes` bytes stores as it is written (digits,
/// a sign, in the column's range): the common case, which costs nothing.
fn plain_integer(v: &str, bytes: u8, unsigned: bool) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(n) = v.parse::<i128>() else { return false };
    let bits = 8 * u32::from(bytes.clamp(1, 8));
    match unsigned {
        true => (0..(1i128 << bits)).contains(&n),
        false => (-(1i128 << (bits - 1))..(1i128 << (bits - 1))).contains(&n),
    }
}

/// Replaces every value of `own` in a column of `table` that MariaDB converts on
/// store by the value stored, as an SQL literal of the column's type. Values known
/// only after the insert (`None`) stay unknown. `Err`: the store's own error (the
/// statement fails with it natively too, before any FK check).
pub(super) async fn as_stored(
    checks: &ParentChecks,
    table: &Table,
    own: &mut [OwnRow],
    backend: &mut Backend,
) -> Result<(), ServerError> {
    // The columns converted: (position in `checks.columns`, column).
    let columns: Vec<(usize, &tether_schema::Column)> = checks
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let c = table.column(name)?;
            converts(&c.normalized_type).then_some((i, c))
        })
        .collect();
    let needed = own.iter().any(|r| {
        columns.iter().any(|(i, c)| {
            r.new.get(*i).cloned().flatten().is_some_and(|v| {
                !is_null(&v)
                    && !matches!(c.normalized_type, DataType::Int { bytes, unsigned } if plain_integer(&v, bytes, unsigned))
            })
        })
    });
    if !needed {
        return Ok(());
    }
    let table_name = tether_fkplan::ident(STORED);
    let definition: Vec<String> = std::iter::once("tether_row INT NOT NULL PRIMARY KEY".to_string())
        .chain(
            columns
                .iter()
                .map(|(_, c)| format!("{} {} NULL", tether_fkplan::ident(&c.name), c.engine_type)),
        )
        .collect();
    let rows: Vec<String> = own
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let values: Vec<String> = columns
                .iter()
                .map(|(i, _)| r.new.get(*i).cloned().flatten().unwrap_or_else(|| "NULL".into()))
                .collect();
            format!("({}, {})", n + 1, values.join(", "))
        })
        .collect();
    let names: Vec<String> = columns.iter().map(|(_, c)| tether_fkplan::ident(&c.name)).collect();
    let sql = format!(
        "CREATE OR REPLACE TEMPORARY TABLE {table_name} ({}) ENGINE=InnoDB;\n\
         INSERT INTO {table_name} VALUES {};\n\
         SELECT {} FROM {table_name} ORDER BY tether_row;\n\
         DROP TEMPORARY TABLE {table_name}",
        definition.join(", "),
        rows.join(", "),
        names.join(", ")
    );
    let read = match backend.read(&sql).await {
        Ok(read) => read,
        // No CREATE TEMPORARY TABLES privilege: the values are checked as
        // written (an integer literal in range, any string, is exact anyway).
        Err(e) if matches!(e.code, 1044 | 1142) => {
            tracing::debug!("values checked as written: {}", e.message);
            return Ok(());
        }
        Err(mut e) => {
            let _ = backend
                .exec(&format!("DROP TEMPORARY TABLE IF EXISTS {table_name}"))
                .await;
            // MariaDB names the column of the table it stores into.
            e.message = e.message.replace(STORED, &table.name);
            return Err(e);
        }
    };
    for (row, stored) in own.iter_mut().zip(literals(&read)) {
        for ((i, _), value) in columns.iter().zip(stored) {
            if let Some(slot @ Some(_)) = row.new.get_mut(*i) {
                *slot = Some(value);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plain_integer;

    #[test]
    fn only_digits_in_range_are_plain_integers() {
        for (v, bytes, unsigned) in [
            ("1", 4, false),
            ("-7", 4, false),
            ("0", 1, true),
            ("2147483647", 4, false),
            ("-2147483648", 4, false),
            ("18446744073709551615", 8, true),
        ] {
            assert!(plain_integer(v, bytes, unsigned), "{v}");
        }
        for (v, bytes, unsigned) in [
            ("1.4", 4, false),
            ("'7'", 4, false),
            ("TRUE", 4, false),
            ("0x01", 4, false),
            ("1e0", 4, false),
            ("-", 4, false),
            ("", 4, false),
            (" 7", 4, false),
            ("-1", 8, true),
            ("2147483648", 4, false),
            ("256", 1, true),
            ("18446744073709551616", 8, true),
        ] {
            assert!(!plain_integer(v, bytes, unsigned), "{v}");
        }
    }
}
