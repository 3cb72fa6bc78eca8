//! A statement's own values as the child columns will store them, for the parent
//! checks behind a sharding engine's head (no InnoDB check stands behind the
//! gateway there). MariaDB converts a literal on store (`1.4`, `'1.5e0'`, `TRUE`,
//! `0x01`, `'  7'` into an INT; `1.455` into a DECIMAL(6,2); `'2020-1-2'` into a
//! DATE) and InnoDB checks the stored value; `CAST` does not always agree with the
//! store (`CAST('1.5e0' AS SIGNED)` is 1, the store 2), so the values are stored
//! for real: into a session temporary InnoDB table (a MEMORY one touched in a transaction
//! leaves warning 1196 on ROLLBACK) of the columns' own types, character sets
//! and collations (as `information_schema.COLUMNS` declares them), read back,
//! dropped. The store's own errors (1264, 1366, 1292) are MariaDB's
//! errors for the statement, with the child table's name in them.

use tether_fkplan::ParentChecks;

use super::checks::OwnRow;
use super::render::{is_null, literals};
use crate::backend::Backend;
use crate::reply::ServerError;
use crate::wire::value::Value;

/// The temporary table the values are stored into (per session, dropped at once).
const STORED: &str = "_tether_stored_values";

/// Whether MariaDB may store literal `v` into a column of type `engine_type` (as
/// `SHOW COLUMNS` spells it) as another value: a number or date converted, a
/// string longer than the column cut (outside strict mode; an error inside it), a
/// `BINARY(n)` padded, anything but a quoted string put into a string column as its
/// text (`1` is '1', which InnoDB checks, where the literal compares as the number
/// 1: equal to '01'). Quoted strings that fit a `[VAR]CHAR` / `VARBINARY`, and
/// into TEXT / BLOB / JSON, are stored as written (the probes compare them under
/// the column's collation).
fn may_change(engine_type: &str, v: &str) -> bool {
    if is_null(v) {
        return false;
    }
    let t = engine_type.trim().to_ascii_lowercase();
    let base: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let length = || -> Option<usize> {
        let open = t.find('(')?;
        let close = t[open..].find(')')? + open;
        t[open + 1..close].trim().parse().ok()
    };
    let bytes = match base.as_str() {
        "tinyint" => 1,
        "smallint" => 2,
        "mediumint" => 3,
        "int" | "integer" => 4,
        "bigint" => 8,
        // Anything but a quoted string is stored as its text, which is not the
        // literal: `1` and `1e0` are stored '1', `1.50` '1.50', `DATE'2020-01-02'`
        // '2020-01-02'; InnoDB checks that text under the collation, where the
        // literal itself would compare as a number ('01' = 1).
        _ if !v.starts_with('\'') && is_string_type(&base) => return true,
        "char" | "varchar" | "varbinary" => {
            // A quoted literal's characters (escapes make it longer, not shorter).
            let written = v.chars().count().saturating_sub(2);
            return length().is_none_or(|n| written > n);
        }
        "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "json" => {
            return false
        }
        _ => return true,
    };
    !plain_integer(v, bytes, t.contains("unsigned"))
}

/// Whether `base` (a type name as `SHOW COLUMNS` spells it, lower case, no
/// length) is a string type a literal is stored into as text.
fn is_string_type(base: &str) -> bool {
    matches!(
        base,
        "char"
            | "varchar"
            | "varbinary"
            | "tinytext"
            | "text"
            | "mediumtext"
            | "longtext"
            | "tinyblob"
            | "blob"
            | "mediumblob"
            | "longblob"
            | "json"
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

/// Replaces every value of `own` that MariaDB may store as another value (see
/// [`may_change`]) by the value stored, as an SQL literal of the column's type.
/// `types` are the engine types of `checks.columns` (`None`: unknown, left as
/// written), `table` the child table's name (for errors). Values known only after
/// the insert (`None`) stay unknown. A NULL into a NOT NULL column is stored too
/// (the scratch column is NOT NULL as well): the implicit default outside strict
/// mode, 1048 inside it or from a single-row INSERT. `Err`: the store's own error (the statement
/// fails with it natively too, before any FK check).
pub(super) async fn as_stored(
    checks: &ParentChecks,
    types: &[Option<String>],
    table: &str,
    own: &mut [OwnRow],
    backend: &mut Backend,
) -> Result<(), ServerError> {
    // The columns stored: (position in `checks.columns`, name, engine type).
    let columns: Vec<(usize, &String, &String)> = checks
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, name)| Some((i, name, types.get(i)?.as_ref()?)))
        .filter(|(_, _, t)| may_change(t, "'x'") || may_change(t, "0x7f") || may_change(t, "1.5"))
        .collect();
    let needed = own.iter().any(|r| {
        columns
            .iter()
            .any(|(i, _, t)| r.new.get(*i).cloned().flatten().is_some_and(|v| may_change(t, &v)))
    });
    // NULLs into NOT NULL columns only (the schema says which: a NULL into a
    // NULL-able FK column, the common case, costs no catalog read).
    let nulls: Vec<bool> = columns
        .iter()
        .map(|(i, _, _)| {
            checks.not_null.get(*i).copied().unwrap_or(true)
                && own
                    .iter()
                    .any(|r| r.new.get(*i).cloned().flatten().is_some_and(|v| is_null(&v)))
        })
        .collect();
    if !needed && !nulls.contains(&true) {
        return Ok(());
    }
    // A value known only after the insert keeps its column NULL-able there.
    let unknown: Vec<bool> = columns
        .iter()
        .map(|(i, _, _)| own.iter().any(|r| r.new.get(*i).is_none_or(Option::is_none)))
        .collect();
    // A single-row INSERT refuses NULL into a NOT NULL column in any sql_mode
    // (1048); an UPDATE or a multi-row INSERT stores the type's implicit default
    // outside strict mode.
    let single_insert = own.len() == 1 && own[0].inserted;
    let Some(declared) = declared_if_needed(needed, &columns, &nulls, &unknown, table, backend).await? else {
        return Ok(());
    };
    let values: Vec<Vec<String>> = own
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|(i, _, _)| r.new.get(*i).cloned().flatten().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect();
    let scratch = Scratch {
        columns: &columns,
        declared: &declared,
        unknown: &unknown,
        single_insert,
    };
    let Some(read) = store(&scratch, &values, table, backend).await? else {
        return Ok(());
    };
    for (row, stored) in own.iter_mut().zip(read) {
        for ((i, _, _), value) in columns.iter().zip(stored) {
            if let Some(slot @ Some(_)) = row.new.get_mut(*i) {
                *slot = Some(value);
            }
        }
    }
    Ok(())
}

/// The child table's columns declared (see [`declared_columns`]) when the values
/// must go through the scratch table: some value `needed` it, or a NULL (`nulls`,
/// per column) goes into a NOT NULL column whose values are all known (`unknown`
/// false): MariaDB stores it as the type's implicit default (0, '', 0.00) outside
/// strict mode, refuses it (1048) inside. `None`: nothing to store.
async fn declared_if_needed(
    needed: bool,
    columns: &[(usize, &String, &String)],
    nulls: &[bool],
    unknown: &[bool],
    table: &str,
    backend: &mut Backend,
) -> Result<Option<Vec<Declared>>, ServerError> {
    let declared = declared_columns(table, backend).await?;
    let null_into_not_null = columns.iter().enumerate().any(|(k, (_, name, _))| {
        nulls[k]
            && !unknown[k]
            && declared
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(name) && !d.nullable)
    });
    Ok((needed || null_into_not_null).then_some(declared))
}

/// The scratch table's columns: `columns` (position, name, engine type) as
/// `declared` (NOT NULL there too unless a value of it is `unknown`), and how the
/// store goes: as a single-row INSERT, or as an UPDATE / multi-row INSERT.
struct Scratch<'a> {
    columns: &'a [(usize, &'a String, &'a String)],
    declared: &'a [Declared],
    unknown: &'a [bool],
    single_insert: bool,
}

/// `values` (rows of SQL literals for the scratch's columns) stored into a
/// session temporary table of those types and read back: what the columns store.
/// `None` without the privilege to create it (then as written).
async fn store(
    scratch: &Scratch<'_>,
    values: &[Vec<String>],
    table: &str,
    backend: &mut Backend,
) -> Result<Option<Vec<Vec<String>>>, ServerError> {
    let Scratch {
        columns,
        declared,
        unknown,
        single_insert,
    } = scratch;
    let table_name = tether_fkplan::ident(STORED);
    let definition: Vec<String> = std::iter::once("tether_row INT NOT NULL PRIMARY KEY".to_string())
        .chain(columns.iter().enumerate().map(|(k, (_, name, t))| {
            let spelled = declared.iter().find(|d| d.name.eq_ignore_ascii_case(name));
            let not_null = spelled.is_some_and(|d| !d.nullable) && !unknown.get(k).copied().unwrap_or(true);
            format!(
                "{} {} {}",
                tether_fkplan::ident(name),
                spelled.map_or_else(|| t.to_string(), Declared::definition),
                if not_null { "NOT NULL" } else { "NULL" }
            )
        }))
        .collect();
    let mut rows: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(n, r)| format!("({}, {})", n + 1, r.join(", ")))
        .collect();
    // One row stored as an UPDATE stores it (NULL into NOT NULL: the implicit
    // default with warning 1048 outside strict mode) only in a multi-row INSERT: a
    // copy of it goes along, and is not read back.
    if let (false, [only]) = (*single_insert, values) {
        rows.push(format!("(2, {})", only.join(", ")));
    }
    // A FLOAT read as a DOUBLE: its text is exact only so (see `render::literal`).
    let names: Vec<String> = columns
        .iter()
        .map(
            |(_, name, t)| match t.trim().to_ascii_lowercase().starts_with("float") {
                true => format!("CAST({} AS DOUBLE)", tether_fkplan::ident(name)),
                false => tether_fkplan::ident(name),
            },
        )
        .collect();
    let sql = format!(
        "CREATE OR REPLACE TEMPORARY TABLE {table_name} ({}) ENGINE=InnoDB;\n\
         INSERT INTO {table_name} VALUES {};\n\
         {}SELECT {} FROM {table_name} WHERE tether_row <= {} ORDER BY tether_row;\n\
         DROP TEMPORARY TABLE {table_name}",
        definition.join(", "),
        rows.join(", "),
        // Read back in utf8mb4, whatever the client's results (`render::literal`).
        backend.own_results(),
        names.join(", "),
        values.len()
    );
    match backend.read(&sql).await {
        Ok(read) => Ok(Some(literals(&read))),
        // No CREATE TEMPORARY TABLES privilege: the values are checked as
        // written (an integer literal in range, any string, is exact anyway).
        Err(e) if matches!(e.code, 1044 | 1142) => {
            tracing::debug!("values checked as written: {}", e.message);
            Ok(None)
        }
        Err(mut e) => {
            let _ = backend
                .exec(&format!("DROP TEMPORARY TABLE IF EXISTS {table_name}"))
                .await;
            // MariaDB names the column of the table it stores into.
            e.message = e.message.replace(STORED, table);
            Err(e)
        }
    }
}

/// A column of the child table as `information_schema.COLUMNS` declares it.
struct Declared {
    name: String,
    /// `COLUMN_TYPE`: `varchar(10)`, `enum('a','b')`, `int(10) unsigned`.
    column_type: String,
    /// `CHARACTER_SET_NAME` and `COLLATION_NAME` (`None` for a type without them).
    charset: Option<(String, String)>,
    /// `IS_NULLABLE`.
    nullable: bool,
}

impl Declared {
    /// The column's type for the scratch table: its type with its own character set
    /// and collation, which `SHOW COLUMNS` leaves out (the scratch column would take
    /// the database's: a utf8mb4 value of a latin1 database's utf8mb4 column, or
    /// 0xE9 into a latin1 column of a utf8mb4 database, failed there with 1366).
    fn definition(&self) -> String {
        match &self.charset {
            Some((charset, collation)) => format!("{} CHARACTER SET {charset} COLLATE {collation}", self.column_type),
            None => self.column_type.clone(),
        }
    }
}

/// The columns of the child table `table` (in the backend's database) as declared:
/// one read of `information_schema.COLUMNS`, made only for a statement whose values
/// go through the scratch table.
async fn declared_columns(table: &str, backend: &mut Backend) -> Result<Vec<Declared>, ServerError> {
    let database = match backend.database() {
        Some(d) => tether_fkplan::string_literal(d.as_bytes()),
        None => "DATABASE()".to_string(),
    };
    let read = backend
        .read(&format!(
            "SELECT COLUMN_NAME, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = {database} AND TABLE_NAME = {}",
            tether_fkplan::string_literal(table.as_bytes())
        ))
        .await?;
    let text = |r: &Vec<Value>, i: usize| match r.get(i) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.text()),
    };
    Ok(read
        .rows
        .iter()
        .map(|r| Declared {
            name: text(r, 0).unwrap_or_default(),
            column_type: text(r, 1).unwrap_or_default(),
            charset: text(r, 2).zip(text(r, 3)),
            nullable: text(r, 4).is_none_or(|n| !n.eq_ignore_ascii_case("NO")),
        })
        .collect())
}

/// The new keys of a statement's own rows (`rows`, values of the columns `types`
/// describes, `None`: left alone) replaced by what the parent's columns store: an
/// ON UPDATE CASCADE copies the stored key (cut outside strict mode, converted),
/// not the expression's value. (InnoDB also cascades a CHAR key padded to its
/// length: the cascade pads it, see `tether_fkplan::Stored`.) `Err`: the store's own error
/// (1406 in strict mode, MariaDB's error for the statement too).
pub(super) async fn keys_as_stored(
    names: &[String],
    types: &[Option<String>],
    table: &str,
    rows: &mut [Vec<String>],
    backend: &mut Backend,
) -> Result<(), ServerError> {
    let columns: Vec<(usize, &String, &String)> = names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| Some((i, name, types.get(i)?.as_ref()?)))
        .collect();
    let needed = rows.iter().any(|r| {
        columns
            .iter()
            .any(|(i, _, t)| r.get(*i).is_some_and(|v| may_change(t, v)))
    });
    let nulls: Vec<bool> = columns
        .iter()
        .map(|(i, _, _)| rows.iter().any(|r| r.get(*i).is_some_and(|v| is_null(v))))
        .collect();
    if (!needed && !nulls.contains(&true)) || rows.is_empty() {
        return Ok(());
    }
    let unknown = vec![false; columns.len()];
    let Some(declared) = declared_if_needed(needed, &columns, &nulls, &unknown, table, backend).await? else {
        return Ok(());
    };
    let values: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|(i, _, _)| r.get(*i).cloned().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect();
    // The new keys are an UPDATE's (or ON DUPLICATE KEY UPDATE's): NULL into a
    // NOT NULL key is stored as the type's implicit default outside strict mode
    // (and cascaded so), refused with 1048 inside it (before any FK check).
    let scratch = Scratch {
        columns: &columns,
        declared: &declared,
        unknown: &unknown,
        single_insert: false,
    };
    let Some(read) = store(&scratch, &values, table, backend).await? else {
        return Ok(());
    };
    for (row, stored) in rows.iter_mut().zip(read) {
        for ((i, _, _), value) in columns.iter().zip(stored) {
            if let Some(slot) = row.get_mut(*i) {
                *slot = value;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{may_change, plain_integer};

    #[test]
    fn values_a_column_may_store_otherwise_are_found() {
        for (t, v) in [
            ("varchar(3)", "'abcd'"),
            ("char(3)", "'abcd'"),
            ("varchar(3)", "1234"),
            ("binary(3)", "'a'"),
            ("datetime", "'2020-01-01 00:00:00.600'"),
            ("int(11)", "1.5"),
            ("decimal(6,2)", "1"),
            // A number or typed literal into a string column is stored as text.
            ("varchar(10)", "1"),
            ("varchar(10)", "1e0"),
            ("char(10)", "1.50"),
            ("varchar(20)", "DATE'2020-01-01'"),
            ("text", "7"),
        ] {
            assert!(may_change(t, v), "{t} {v}");
        }
        for (t, v) in [
            ("varchar(3)", "'abc'"),
            ("char(3)", "'ab'"),
            ("varchar(3)", "NULL"),
            ("text", "'abcdef'"),
            ("int(11)", "7"),
            ("bigint(20) unsigned", "18446744073709551615"),
        ] {
            assert!(!may_change(t, v), "{t} {v}");
        }
    }

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
