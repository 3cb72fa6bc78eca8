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

/// The type a column holding `column`'s key takes: its type, with its character set
/// and collation where it has them (review r21f F4: a child given only `varchar(10)`
/// takes its own table's default collation, and InnoDB refuses the FK, 1822).
pub async fn key_type(db: &mut Db, database: &str, table: &str, column: &str) -> Result<String, OnlineError> {
    let sql = format!(
        "SELECT COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND COLUMN_NAME = {}",
        lit(database),
        lit(table),
        lit(column)
    );
    let row = db.texts(&sql).await?.into_iter().next();
    let Some([Some(kind), charset, collation]) = row.and_then(|r| <[Option<String>; 3]>::try_from(r).ok()) else {
        return Err(OnlineError::Refused {
            table: table.to_string(),
            reason: format!("column `{column}` not found"),
        });
    };
    Ok(match (charset, collation) {
        (Some(cs), Some(co)) => format!("{kind} CHARACTER SET {cs} COLLATE {co}"),
        _ => kind,
    })
}

/// Strips a leading ` CHARACTER SET x` and ` COLLATE y` (as `SHOW CREATE TABLE` prints
/// them right after the type) from the rest of a column definition.
fn without_charset(rest: &str) -> &str {
    let mut rest = rest;
    for word in [" CHARACTER SET ", " COLLATE "] {
        if let Some(after) = rest.strip_prefix(word) {
            rest = after.find(' ').map_or("", |i| &after[i..]);
        }
    }
    rest
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
    let mut rest = line[head.len()..].trim_end_matches(',');
    if new_type.contains(" CHARACTER SET ") {
        // The key's character set and collation replace the column's own.
        rest = without_charset(rest);
    }
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

#[cfg(test)]
mod tests {
    use super::without_charset;

    #[test]
    fn the_column_s_own_charset_and_collation_give_way() {
        assert_eq!(
            without_charset(" CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL"),
            " DEFAULT NULL"
        );
        assert_eq!(without_charset(" COLLATE utf8mb4_bin NOT NULL"), " NOT NULL");
        assert_eq!(
            without_charset(" NOT NULL COMMENT 'COLLATE x'"),
            " NOT NULL COMMENT 'COLLATE x'"
        );
        assert_eq!(without_charset(" CHARACTER SET latin1"), "");
    }
}
