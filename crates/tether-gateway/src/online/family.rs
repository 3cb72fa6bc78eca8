//! Family migrations: when the ALTER changes the type of a referenced key (e.g.
//! `customer.id` INT -> BIGINT), every FK column holding that key changes with it, in
//! the children's shadows (and the table's own self-references). MariaDB refuses the
//! parent's change alone while the FKs exist; here all tables are copied side by side
//! and swapped in one RENAME.

use super::db::{lit, q, Db};
use super::OnlineError;

/// A column's type as `information_schema.COLUMNS` spells it (`bigint(20) unsigned`).
pub async fn column_type(db: &mut Db, database: &str, table: &str, column: &str) -> Result<String, OnlineError> {
    let sql = format!(
        "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND COLUMN_NAME = {}",
        lit(database),
        lit(table),
        lit(column)
    );
    db.texts(&sql)
        .await?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten())
        .ok_or_else(|| OnlineError::Refused {
            table: table.to_string(),
            reason: format!("column `{column}` not found"),
        })
}

/// `MODIFY <column definition with the new type>` for `column` of `table`, keeping
/// everything else of the definition (nullability, default, comment, charset) as
/// `SHOW CREATE TABLE` prints it: the old type token after the name is replaced.
pub async fn modify_clause(
    db: &mut Db,
    database: &str,
    table: &str,
    column: &str,
    new_type: &str,
) -> Result<String, OnlineError> {
    let old_type = column_type(db, database, table, column).await?;
    let create = show_create(db, table).await?;
    let head = format!("{} {old_type}", q(column));
    let line = create
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&head))
        .ok_or_else(|| OnlineError::Refused {
            table: table.to_string(),
            reason: format!("cannot find the definition of column `{column}` in SHOW CREATE TABLE"),
        })?;
    let rest = line[head.len()..].trim_end_matches(',');
    Ok(format!("MODIFY {} {new_type}{rest}", q(column)))
}

/// The `CREATE TABLE` text of `table`.
pub async fn show_create(db: &mut Db, table: &str) -> Result<String, OnlineError> {
    let rows = db.texts(&format!("SHOW CREATE TABLE {}", q(table))).await?;
    rows.into_iter()
        .next()
        .and_then(|r| r.into_iter().nth(1).flatten())
        .ok_or_else(|| OnlineError::Refused {
            table: table.to_string(),
            reason: "SHOW CREATE TABLE returned nothing".into(),
        })
}
