//! The rows an INSERT / REPLACE ... SELECT (or VALUES of expressions) writes, as
//! the target table would store them, for the rows path behind a sharding
//! engine's head: the client's own SELECT or VALUES runs as `INSERT INTO` a
//! session temporary InnoDB table whose columns have the target's types
//! (character set, collation, sign, default; nullable, no AUTO_INCREMENT, no
//! keys), under the session's sql_mode. MariaDB applies there the very
//! conversions it applies storing into the target (ENUM index of a number,
//! doubles rounded half to even, DATE into INT, strict-mode errors 1365, 1292,
//! 1265, 1366, 1136), which reading the SELECT and writing its text back cannot
//! reproduce. The rows are read back as literals no sql_mode or connection
//! character set changes the meaning of: strings as `_charset X'..'`, binary as
//! `X'..'`, FLOAT through DOUBLE, numbers and dates as text. InnoDB, not MEMORY:
//! a MEMORY table touched inside a transaction leaves warning 1196 on ROLLBACK.

use super::sharded::Behind;
use crate::backend::Backend;
use crate::reply::ServerError;
use crate::wire::value::Value;

/// The temporary table the rows are stored into (per session, dropped at once).
const TABLE: &str = "_tether_rows";

/// One column of the target as `information_schema.COLUMNS` gives it.
struct Target {
    name: String,
    data_type: String,
    column_type: String,
    charset: Option<String>,
    collation: Option<String>,
    default: Option<String>,
    generated: bool,
}

/// How a column's value is read back and written as a literal.
#[derive(Clone, Copy)]
enum Read {
    /// `HEX(c)`, written `_charset X'..'`.
    Text,
    /// `HEX(c)`, written `X'..'`.
    Binary,
    /// `c + 0` (BIT): an integer.
    Bit,
    /// `CAST(c AS DOUBLE)` (FLOAT shows 6 digits only): a number.
    Float,
    /// The text as it is: a number.
    Number,
    /// The text quoted: dates, times and anything else.
    Quoted,
}

fn read_of(t: &Target) -> Read {
    match t.data_type.as_str() {
        "bit" => Read::Bit,
        "float" => Read::Float,
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "decimal" | "double" | "year" => Read::Number,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Read::Binary,
        _ if t.charset.is_some() => Read::Text,
        _ => Read::Quoted,
    }
}

/// A string as a literal whose meaning no sql_mode changes.
fn text_literal(s: &str) -> String {
    format!("_utf8mb4 {}", tether_schema::sql::hex_literal(s.as_bytes()))
}

/// What [`stored_rows`] gives.
pub(super) struct Stored {
    /// Each row's values as SQL literals of what the target columns store.
    pub rows: Vec<Vec<String>>,
    /// The warnings of the conversions (a non-strict sql_mode): the statement's
    /// own natively (the rows written back convert nothing again).
    pub warnings: u16,
}

/// The rows `source` (`SELECT ...` or `VALUES (...), ...`, as the client wrote
/// it) gives for the columns `listed` of table `table` (`[db, t]` or `[t]`; every
/// column when `listed` is empty), each value an SQL literal of what the target
/// column stores. `Err`: MariaDB's error for the statement (naming the target),
/// or a refusal.
pub(super) async fn stored_rows(
    table: &[String],
    listed: &[String],
    source: &str,
    keyspace: &str,
    backend: &mut Backend,
    behind: Behind<'_>,
) -> Result<Stored, ServerError> {
    let refusal = |keyspace: &str, form: &str| behind.refusal(keyspace, form);
    let (database, name) = match table {
        [name] => ("DATABASE()".to_string(), name),
        [database, name] => (text_literal(database), name),
        _ => return Err(refusal(keyspace, "an INSERT into a table named in more than two parts")),
    };
    let read = backend
        .read(&format!(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_DEFAULT, \
             IS_GENERATED FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {database} AND TABLE_NAME = {} \
             ORDER BY ORDINAL_POSITION",
            text_literal(name)
        ))
        .await?;
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.text()),
    };
    let targets: Vec<Target> = read
        .rows
        .iter()
        .map(|r| Target {
            name: text(r.first()).unwrap_or_default(),
            data_type: text(r.get(1)).unwrap_or_default().to_ascii_lowercase(),
            column_type: text(r.get(2)).unwrap_or_default(),
            charset: text(r.get(3)),
            collation: text(r.get(4)),
            default: text(r.get(5)),
            generated: text(r.get(6)).is_some_and(|g| g != "NEVER"),
        })
        .collect();
    if targets.is_empty() {
        return Err(ServerError::new(
            1146,
            "42S02",
            format!("Table '{}' doesn't exist", table.join(".")),
        ));
    }
    if listed.is_empty() && targets.iter().any(|t| t.generated) {
        return Err(refusal(
            keyspace,
            "an INSERT ... SELECT without a column list into a table with generated columns",
        ));
    }
    // The columns written, in the statement's order; a name the target lacks is
    // left out of the temporary table, whose INSERT then fails with 1054 as natively.
    let written: Vec<&Target> = match listed.is_empty() {
        true => targets.iter().collect(),
        false => listed
            .iter()
            .filter_map(|c| targets.iter().find(|t| t.name.eq_ignore_ascii_case(c)))
            .collect(),
    };
    let definition: Vec<String> = targets
        .iter()
        .filter(|t| !t.generated)
        .map(|t| {
            let mut d = format!("{} {}", tether_fkplan::ident(&t.name), t.column_type);
            if let (Some(cs), Some(co)) = (&t.charset, &t.collation) {
                d.push_str(&format!(" CHARACTER SET {cs} COLLATE {co}"));
            }
            d.push_str(" NULL");
            if let Some(default) = &t.default {
                d.push_str(&format!(" DEFAULT {default}"));
            }
            d
        })
        .collect();
    let table_name = tether_fkplan::ident(TABLE);
    match backend
        .exec(&format!(
            "CREATE OR REPLACE TEMPORARY TABLE {table_name} ({}) ENGINE=InnoDB",
            definition.join(", ")
        ))
        .await
    {
        Ok(_) => {}
        // Without the CREATE TEMPORARY TABLES privilege the values could only be
        // written as read, which is not always what MariaDB stores: refused.
        Err(e) if matches!(e.code, 1044 | 1142) => {
            return Err(refusal(
                keyspace,
                "an INSERT ... SELECT (or VALUES of expressions) without the CREATE TEMPORARY TABLES privilege",
            ))
        }
        Err(e) => return Err(e),
    }
    let columns = match listed.is_empty() {
        true => String::new(),
        false => format!(
            " ({})",
            listed
                .iter()
                .map(|c| tether_fkplan::ident(c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let reads: Vec<Read> = written.iter().map(|t| read_of(t)).collect();
    let select: Vec<String> = written
        .iter()
        .zip(&reads)
        .map(|(t, r)| {
            let c = tether_fkplan::ident(&t.name);
            match r {
                Read::Text | Read::Binary => format!("HEX({c})"),
                Read::Bit => format!("{c} + 0"),
                Read::Float => format!("CAST({c} AS DOUBLE)"),
                Read::Number | Read::Quoted => c,
            }
        })
        .collect();
    let outcome = async {
        let stored = backend
            .exec(&format!("INSERT INTO {table_name}{columns} {source}"))
            .await?;
        // InnoDB's hidden row id: a full scan reads the rows in the order inserted.
        let read = backend
            .read(&format!("SELECT {} FROM {table_name}", select.join(", ")))
            .await?;
        Ok::<_, ServerError>((read, stored.warnings))
    }
    .await;
    let _ = backend
        .exec(&format!("DROP TEMPORARY TABLE IF EXISTS {table_name}"))
        .await;
    let (read, warnings) = outcome.map_err(|mut e| {
        // MariaDB names the table it stores into.
        e.message = e.message.replace(TABLE, name);
        e
    })?;
    let charsets: Vec<&str> = written
        .iter()
        .map(|t| t.charset.as_deref().unwrap_or("binary"))
        .collect();
    let mut rows = Vec::with_capacity(read.rows.len());
    for r in &read.rows {
        let mut row = Vec::with_capacity(r.len());
        for ((v, how), charset) in r.iter().zip(&reads).zip(&charsets) {
            let t = v.text();
            row.push(match (v, how) {
                (Value::Null, _) => "NULL".to_string(),
                (_, Read::Text) => format!("_{charset} X'{t}'"),
                (_, Read::Binary) => format!("X'{t}'"),
                (_, Read::Bit | Read::Float | Read::Number) => t,
                (_, Read::Quoted) if !t.contains(['\'', '\\']) => format!("'{t}'"),
                (_, Read::Quoted) => return Err(refusal(keyspace, "a value of this column type from a SELECT")),
            });
        }
        rows.push(row);
    }
    Ok(Stored { rows, warnings })
}
