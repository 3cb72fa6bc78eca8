//! SQLite's SQL: identifiers and literals as PostgreSQL spells them, its few column
//! types, foreign keys only inside CREATE TABLE; a table copied from SQLite is created
//! from its own `CREATE TABLE` text.

use tether_schema::{sql, Column, DataType, Sequence, Table};

use crate::dialect::{default_create_table, numeric_bool_literal, Dialect, TableObjects};
use crate::url::Engine;
use crate::value::Value;

/// SQLite's dialect.
pub struct Sqlite;

impl Dialect for Sqlite {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }
    fn byte_length(&self, expr: &str) -> String {
        format!("length(CAST({expr} AS BLOB))")
    }
    fn ident(&self, name: &str) -> String {
        sql::ident(Engine::Postgres, name)
    }
    fn literal(&self, v: &Value) -> String {
        numeric_bool_literal(Engine::Postgres, v)
    }
    fn column_type(&self, ty: &DataType, _keyed: bool) -> String {
        match ty {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int { .. } | DataType::Bits { .. } => "INTEGER".into(),
            // A NUMERIC column keeps 15 significant digits of a value that is not an
            // integer (it becomes a REAL): wider decimals, and those of no declared
            // precision (PostgreSQL's `numeric`: any digits), are kept as written, in TEXT.
            DataType::Decimal { precision: Some(p), .. } if *p > 15 => "TEXT".into(),
            DataType::Decimal { precision: None, .. } => "TEXT".into(),
            DataType::Decimal {
                precision: Some(p),
                scale,
            } => format!("NUMERIC({p},{})", scale.unwrap_or(0)),
            DataType::Float { .. } => "REAL".into(),
            DataType::Char { length: Some(n) } => format!("CHAR({n})"),
            DataType::Varchar { length: Some(n) } => format!("VARCHAR({n})"),
            DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text => "TEXT".into(),
            DataType::Binary { .. } => "BLOB".into(),
            DataType::Date => "DATE".into(),
            DataType::Time => "TIME".into(),
            DataType::Timestamp { .. } => "DATETIME".into(),
            DataType::Uuid => "UUID".into(),
            DataType::Json => "JSON".into(),
            // A SQLite column declared without a type keeps each value's own storage
            // class (no affinity); TEXT would turn 1 into '1'.
            DataType::Other(t) if t == "any" => String::new(),
            DataType::Other(_) => "TEXT".into(),
        }
    }
    fn supports_add_foreign_key(&self) -> bool {
        false
    }
    /// Same engine: the source's own `CREATE TABLE` (generated columns, AUTOINCREMENT,
    /// STRICT, WITHOUT ROWID, CHECKs, collations, columns without a type, as they were).
    fn create_table(&self, table: &Table, with_fks: bool, same_engine: bool) -> String {
        match (&table.extras.definition, same_engine) {
            (Some(sql), true) => sql.clone(),
            // AUTOINCREMENT is said on the key's column (`PRIMARY KEY AUTOINCREMENT`),
            // never in a table constraint: the key goes there (`identity_clause`).
            _ if autoincrement_key(table).is_some() => {
                let mut keyless = table.clone();
                keyless.primary_key.clear();
                default_create_table(self, &keyless, with_fks, same_engine)
            }
            _ => default_create_table(self, table, with_fks, same_engine),
        }
    }
    /// A table's AUTOINCREMENT key, written on its column by `create_table` (which
    /// passes the table without its key constraint).
    fn identity_clause(&self, c: &Column, table: &Table) -> &'static str {
        match table.primary_key.is_empty() && autoincrement_key(table) == Some(c.name.as_str()) {
            true => " PRIMARY KEY AUTOINCREMENT",
            false => "",
        }
    }
    /// Unique indexes before the load (a foreign key may need one: SQLite checks
    /// that the parent key is unique when a child row is written), the others after.
    fn table_objects(&self, table: &Table) -> TableObjects {
        let mut out = TableObjects::default();
        for i in &table.extras.indexes {
            match i.unique {
                true => out.after_create.push(self.index_sql(table, i)),
                false => out.after_load.push(self.index_sql(table, i)),
            }
        }
        out.after_load
            .extend(table.extras.triggers.iter().map(|t| t.definition.clone()));
        out
    }
    /// The table's row of `sqlite_sequence` (AUTOINCREMENT), raised to `last`.
    fn sequence_state(&self, table: &Table, _seq: &Sequence, last: i64) -> Vec<String> {
        let name = self.literal(&Value::Text(table.name.clone()));
        vec![
            format!("UPDATE OR ABORT sqlite_sequence SET seq = {last} WHERE name = {name} AND seq < {last}"),
            format!(
                "INSERT OR ABORT INTO sqlite_sequence (name, seq) SELECT {name}, {last} \
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {name})"
            ),
        ]
    }
}

/// The column of `table` SQLite numbers with AUTOINCREMENT (its row of `sqlite_sequence`
/// is in the model, as a SQLite source's is read or a MariaDB AUTO_INCREMENT's becomes):
/// an INTEGER column, the table's sole key (or, passed keyless, its only one so marked).
fn autoincrement_key(table: &Table) -> Option<&str> {
    let seq = table
        .extras
        .sequences
        .iter()
        .find(|s| s.identity && s.name == "sqlite_sequence")?;
    let c = table.column(&seq.column)?;
    let sole = table.primary_key.is_empty() || table.primary_key == [c.name.clone()];
    (sole && c.normalized_type.is_integer() && c.generated.is_none()).then_some(c.name.as_str())
}
