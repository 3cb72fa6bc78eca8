//! Values moving between engines (and through transformers).
//!
//! Readers turn each engine's wire values into [`Value`] guided by the column's neutral
//! type; writers render them for the destination. Dates, times, decimals, UUIDs and JSON
//! travel as text in their canonical SQL form (`2024-01-31`, `2024-01-31 12:00:00`,
//! `12.50`), which every engine accepts on input.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::types::DataType;

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Unsigned 64-bit values above `i64::MAX` (MySQL `bigint unsigned`).
    UInt(u64),
    Float(f64),
    Text(String),
    /// Text whose bytes are not UTF-8: a SQLite TEXT value (SQLite stores what it is
    /// given without checking), or a MariaDB/MySQL text column holding bytes its
    /// character set does not allow. Carried byte for byte, never decoded with
    /// replacement characters: a SQLite destination stores the same bytes as TEXT,
    /// another engine's text cannot hold them and the row is refused. Readers make it
    /// only of bytes that are not UTF-8, so a value is one of `Text` and `RawText`.
    RawText(Vec<u8>),
    Bytes(Vec<u8>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (Text(a), Text(b)) => a == b,
            (RawText(a), RawText(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(h),
            Value::Int(i) => i.hash(h),
            Value::UInt(u) => u.hash(h),
            Value::Float(f) => f.to_bits().hash(h),
            Value::Text(t) => t.hash(h),
            Value::RawText(b) => b.hash(h),
            Value::Bytes(b) => b.hash(h),
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Text read as the bytes an engine gave: [`Value::Text`] when they are UTF-8,
    /// else [`Value::RawText`] holding them as they are (never a replacement character).
    pub fn text_from_bytes(bytes: Vec<u8>) -> Value {
        match String::from_utf8(bytes) {
            Ok(t) => Value::Text(t),
            Err(e) => Value::RawText(e.into_bytes()),
        }
    }

    /// Parses the text form of a value (PostgreSQL text output, MySQL text protocol)
    /// according to the column type.
    pub fn from_text(text: &str, ty: &DataType) -> Value {
        match ty {
            DataType::Boolean => match text {
                "t" | "true" | "1" | "TRUE" => Value::Bool(true),
                "f" | "false" | "0" | "FALSE" => Value::Bool(false),
                other => Value::Text(other.to_string()),
            },
            DataType::Int { .. } | DataType::Bits { .. } => match text.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => match text.parse::<u64>() {
                    Ok(u) => Value::UInt(u),
                    Err(_) => Value::Text(text.to_string()),
                },
            },
            DataType::Float { .. } => match text.parse::<f64>() {
                Ok(f) => Value::Float(f),
                Err(_) => Value::Text(text.to_string()),
            },
            _ => Value::Text(text.to_string()),
        }
    }

    /// The value as text for display in messages (keys of failing rows).
    pub fn display(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
            // SQLite's spelling of the same text: `x'61ff'` alone would be bytes.
            Value::RawText(b) => format!("CAST(x'{}' AS TEXT)", hex(b)),
            Value::Bytes(b) => format!("x'{}'", hex(b)),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// A row: values in the order of the reader's column list.
pub type Row = Vec<Value>;

/// Formats a list of key values for messages: `(id)=(42)` style.
pub fn describe_key(columns: &[String], values: &[Value]) -> String {
    let vals: Vec<String> = values.iter().map(Value::display).collect();
    format!("({})=({})", columns.join(", "), vals.join(", "))
}
