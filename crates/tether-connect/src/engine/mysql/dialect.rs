//! MariaDB/MySQL's SQL: backquoted identifiers, backslash-escaped strings, its column
//! types and table definitions (`SHOW CREATE TABLE` kept where the source was one).

use tether_schema::{sql, Column, DataType, FkAction, Table};

use crate::dialect::{
    default_create_table, numeric_bool_literal, portable_column, portable_objects, Dialect, TableObjects,
};
use crate::url::Engine;
use crate::value::Value;

/// MariaDB/MySQL's dialect.
pub struct Mysql;

impl Dialect for Mysql {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }
    /// Same engine: the source's own `SHOW CREATE TABLE` (types, defaults, indexes,
    /// CHECKs, comments, collations, foreign keys, `AUTO_INCREMENT` as they were).
    fn create_table(&self, table: &Table, with_fks: bool, same_engine: bool) -> String {
        match (&table.extras.definition, same_engine) {
            (Some(sql), true) => sql.clone(),
            _ => default_create_table(self, table, with_fks, same_engine),
        }
    }
    fn table_objects(&self, table: &Table) -> TableObjects {
        if table.extras.definition.is_some() {
            // SHOW CREATE TABLE has the indexes already.
            return TableObjects {
                after_load: table.extras.triggers.iter().map(|t| t.definition.clone()).collect(),
                ..Default::default()
            };
        }
        portable_objects(self, table)
    }
    fn identity_clause(&self, c: &Column, table: &Table) -> &'static str {
        let sole_key = table.primary_key.len() == 1 && table.primary_key[0] == c.name;
        if c.identity.is_some() && sole_key && c.normalized_type.is_integer() {
            " AUTO_INCREMENT"
        } else {
            ""
        }
    }
    /// Tables Tether creates from a model are InnoDB in utf8mb4, with their comment and
    /// AUTO_INCREMENT counter.
    fn table_options(&self, table: &Table) -> String {
        let mut out = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4".to_string();
        if let Some(c) = &table.extras.comment {
            out.push_str(&format!(" COMMENT={}", self.literal(&Value::Text(c.clone()))));
        }
        // The counter the source hands out next (ids of deleted rows are not given
        // again); the copied keys raise it further where they go past it.
        if let Some(next) = table.extras.auto_increment {
            out.push_str(&format!(" AUTO_INCREMENT={next}"));
        }
        out
    }
    fn column_definition(&self, c: &Column, table: &Table, same_engine: bool, keyed: bool) -> String {
        let mut out = portable_column(self, c, table, same_engine, keyed);
        if let Some(comment) = table.extras.column_comments.get(&c.name) {
            out.push_str(&format!(" COMMENT {}", self.literal(&Value::Text(comment.clone()))));
        }
        out
    }
    /// MariaDB's limits (MySQL's too): longer comments are refused in strict mode.
    fn comment_room(&self, on_column: bool) -> Option<usize> {
        Some(if on_column { 1024 } else { 2048 })
    }
    fn native_enum(&self) -> bool {
        true
    }
    fn now_default(&self, ty: &DataType) -> String {
        match ty {
            DataType::Timestamp { .. } => "current_timestamp(6)".into(),
            DataType::Date => self.today_default(),
            DataType::Time => "curtime(6)".into(),
            _ => "CURRENT_TIMESTAMP".into(),
        }
    }
    fn today_default(&self) -> String {
        "(curdate())".into()
    }
    /// InnoDB refuses SET DEFAULT, and SET NULL on a NOT NULL column (which PostgreSQL
    /// accepts and could never carry out).
    fn refuses_fk_action(&self, action: FkAction, not_null: bool) -> Option<String> {
        match action {
            FkAction::SetDefault => Some("MariaDB/MySQL cannot create it".into()),
            FkAction::SetNull if not_null => Some("MariaDB/MySQL cannot create it for a NOT NULL column".into()),
            _ => None,
        }
    }
    /// TEXT holds 64 KiB, MEDIUMTEXT 16 MiB; room to grow fourfold; else `longtext`.
    fn sized_text_type(&self, bytes: u64) -> Option<&'static str> {
        match bytes.saturating_mul(4) {
            0..=65_535 => Some("text"),
            65_536..=16_777_215 => Some("mediumtext"),
            _ => None,
        }
    }
    fn sizes_text(&self) -> bool {
        true
    }
    fn indexes_unbounded_text(&self) -> bool {
        false
    }
    fn auto_increment(&self) -> Option<&'static str> {
        Some("AUTO_INCREMENT")
    }
    fn ident(&self, name: &str) -> String {
        sql::ident(Engine::Mysql, name)
    }
    fn literal(&self, v: &Value) -> String {
        numeric_bool_literal(Engine::Mysql, v)
    }
    /// The text protocol prints a FLOAT with 6 significant digits (16777215 as
    /// 16777200): as a DOUBLE it prints the float's exact value, which a FLOAT (or
    /// PostgreSQL's real) stores back as the same float.
    fn read_column(&self, column: &str, ty: Option<&DataType>) -> String {
        match ty {
            Some(DataType::Float { bytes: 4 }) => format!("CAST({0} AS DOUBLE) AS {0}", self.ident(column)),
            _ => self.ident(column),
        }
    }
    fn column_type(&self, ty: &DataType, keyed: bool) -> String {
        let unsigned = |u: bool| if u { " unsigned" } else { "" };
        match ty {
            DataType::Boolean => "tinyint(1)".into(),
            DataType::Int { bytes, unsigned: u } => {
                format!("{}{}", tether_schema::types::int_name(*bytes), unsigned(*u))
            }
            DataType::Decimal {
                precision: Some(p),
                scale,
            } => {
                format!("decimal({},{})", (*p).min(65), scale.unwrap_or(0).min(30))
            }
            DataType::Decimal { .. } => "decimal(65,30)".into(),
            DataType::Float { bytes: 4 } => "float".into(),
            DataType::Float { .. } => "double".into(),
            DataType::Char { length: Some(n) } if *n <= 255 => format!("char({n})"),
            DataType::Char { length: Some(n) } | DataType::Varchar { length: Some(n) } if *n <= 16_383 => {
                format!("varchar({n})")
            }
            DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text | DataType::Other(_) => {
                if keyed {
                    "varchar(255)".into()
                } else {
                    "longtext".into()
                }
            }
            DataType::Binary { length: Some(n) } if *n <= 65_535 => format!("varbinary({n})"),
            DataType::Binary { .. } => {
                if keyed {
                    "varbinary(255)".into()
                } else {
                    "longblob".into()
                }
            }
            DataType::Date => "date".into(),
            DataType::Time => "time(6)".into(),
            DataType::Timestamp { .. } => "datetime(6)".into(),
            DataType::Uuid => "char(36)".into(),
            DataType::Json => "longtext".into(),
            DataType::Bits { length } => format!("bit({length})"),
        }
    }
}
