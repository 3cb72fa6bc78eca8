//! SQLite's SQL: identifiers and literals as PostgreSQL spells them, its few column
//! types, foreign keys only inside CREATE TABLE.

use tether_schema::{sql, DataType};

use crate::dialect::{numeric_bool_literal, Dialect};
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
            DataType::Int { .. } => "INTEGER".into(),
            // A NUMERIC column keeps 15 significant digits of a value that is not an
            // integer (it becomes a REAL): wider decimals are kept as written, in TEXT.
            DataType::Decimal { precision: Some(p), .. } if *p > 15 => "TEXT".into(),
            DataType::Decimal {
                precision: Some(p),
                scale,
            } => format!("NUMERIC({p},{})", scale.unwrap_or(0)),
            DataType::Decimal { .. } => "NUMERIC".into(),
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
            DataType::Other(_) => "TEXT".into(),
        }
    }
    fn supports_add_foreign_key(&self) -> bool {
        false
    }
}
