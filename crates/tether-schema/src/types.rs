//! Tether's engine-neutral column types.
//!
//! Each engine's introspection maps its own type names onto [`DataType`]; writers map
//! back to the destination engine's names. In JSON a type is a short string
//! (`bigint`, `varchar(40)`, `decimal(10,2)`, `timestamptz`), parsed back by `FromStr`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataType {
    Boolean,
    /// A two's-complement integer of 1, 2, 3, 4 or 8 bytes.
    Int {
        bytes: u8,
        unsigned: bool,
    },
    Decimal {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    /// A binary floating-point number of 4 or 8 bytes.
    Float {
        bytes: u8,
    },
    Char {
        length: Option<u32>,
    },
    Varchar {
        length: Option<u32>,
    },
    Text,
    /// Binary data; `length` is the declared maximum where there is one.
    Binary {
        length: Option<u32>,
    },
    Date,
    Time,
    Timestamp {
        tz: bool,
    },
    Uuid,
    Json,
    /// MariaDB/MySQL `bit(n)`: an unsigned integer of `length` bits (1-64). Its values
    /// are integers; the server sends them as raw big-endian bytes.
    Bits {
        length: u32,
    },
    /// A type Tether has no neutral name for, kept as the engine spells it (lowercase).
    Other(String),
}

impl DataType {
    pub fn is_integer(&self) -> bool {
        matches!(self, DataType::Int { .. })
    }

    pub fn is_text(&self) -> bool {
        matches!(self, DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text)
    }

    /// The largest number of characters a text column holds, when declared.
    pub fn max_chars(&self) -> Option<u32> {
        match self {
            DataType::Char { length } | DataType::Varchar { length } => *length,
            _ => None,
        }
    }
}

/// The declared `(precision, scale)` of a decimal type name as the engine spells it
/// (`numeric(5,-2)`, `NUMERIC(3, 5)`), signs kept; None without both.
pub fn declared_decimal(type_name: &str) -> Option<(i64, i64)> {
    let open = type_name.find('(')?;
    let close = type_name[open..].find(')')? + open;
    let mut args = type_name[open + 1..close].split(',').map(|a| a.trim().parse::<i64>());
    match (args.next(), args.next(), args.next()) {
        (Some(Ok(p)), Some(Ok(s)), None) => Some((p, s)),
        _ => None,
    }
}

/// The decimal type that holds every value of a declared `numeric(precision, scale)`.
/// PostgreSQL 15 takes a scale above the precision (`numeric(3,5)` holds 0.00123) or
/// below zero (`numeric(5,-2)` holds 1234500, rounded to hundreds), which other engines
/// refuse or read as another type: `decimal(5,5)` and `decimal(7,0)` hold those values.
pub fn decimal_holding(precision: i64, scale: i64) -> DataType {
    let digits = |n: i64| u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    let (p, s) = if scale < 0 {
        (precision - scale, 0)
    } else {
        (precision.max(scale), scale)
    };
    DataType::Decimal {
        precision: Some(digits(p)),
        scale: Some(u32::try_from(s).unwrap_or(u32::MAX)),
    }
}

/// The MariaDB/MySQL name of an integer type of `bytes` bytes (the model's neutral
/// spelling too): `tinyint`, `smallint`, `mediumint`, `int`, `bigint`.
pub fn int_name(bytes: u8) -> &'static str {
    match bytes {
        1 => "tinyint",
        2 => "smallint",
        3 => "mediumint",
        4 => "int",
        _ => "bigint",
    }
}

fn with_len(f: &mut fmt::Formatter<'_>, base: &str, len: Option<u32>) -> fmt::Result {
    match len {
        Some(n) => write!(f, "{base}({n})"),
        None => f.write_str(base),
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => f.write_str("boolean"),
            DataType::Int { bytes, unsigned } => {
                f.write_str(int_name(*bytes))?;
                if *unsigned {
                    f.write_str(" unsigned")?;
                }
                Ok(())
            }
            DataType::Decimal { precision, scale } => match (precision, scale) {
                (Some(p), Some(s)) => write!(f, "decimal({p},{s})"),
                (Some(p), None) => write!(f, "decimal({p})"),
                _ => f.write_str("decimal"),
            },
            DataType::Float { bytes: 4 } => f.write_str("real"),
            DataType::Float { .. } => f.write_str("double"),
            DataType::Char { length } => with_len(f, "char", *length),
            DataType::Varchar { length } => with_len(f, "varchar", *length),
            DataType::Text => f.write_str("text"),
            DataType::Binary { length } => with_len(f, "binary", *length),
            DataType::Date => f.write_str("date"),
            DataType::Time => f.write_str("time"),
            DataType::Timestamp { tz: false } => f.write_str("timestamp"),
            DataType::Timestamp { tz: true } => f.write_str("timestamptz"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Json => f.write_str("json"),
            DataType::Bits { length } => write!(f, "bit({length})"),
            DataType::Other(name) => f.write_str(name),
        }
    }
}

impl FromStr for DataType {
    type Err = std::convert::Infallible;

    /// Parses the strings `Display` writes. Anything else becomes [`DataType::Other`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        let (head, unsigned) = match s.strip_suffix(" unsigned") {
            Some(h) => (h.to_string(), true),
            None => (s.clone(), false),
        };
        let (base, args) = match head.find('(') {
            Some(i) if head.ends_with(')') => {
                let args: Vec<Option<u32>> = head[i + 1..head.len() - 1]
                    .split(',')
                    .map(|a| a.trim().parse().ok())
                    .collect();
                (head[..i].to_string(), args)
            }
            _ => (head.clone(), vec![]),
        };
        let arg = |i: usize| args.get(i).copied().flatten();
        let int = |bytes| DataType::Int { bytes, unsigned };
        Ok(match base.as_str() {
            "boolean" => DataType::Boolean,
            "tinyint" => int(1),
            "smallint" => int(2),
            "mediumint" => int(3),
            "int" => int(4),
            "bigint" => int(8),
            "decimal" => DataType::Decimal {
                precision: arg(0),
                scale: arg(1),
            },
            "real" => DataType::Float { bytes: 4 },
            "double" => DataType::Float { bytes: 8 },
            "char" => DataType::Char { length: arg(0) },
            "varchar" => DataType::Varchar { length: arg(0) },
            "text" => DataType::Text,
            "binary" => DataType::Binary { length: arg(0) },
            "date" => DataType::Date,
            "time" => DataType::Time,
            "timestamp" => DataType::Timestamp { tz: false },
            "timestamptz" => DataType::Timestamp { tz: true },
            "uuid" => DataType::Uuid,
            "json" => DataType::Json,
            "bit" => DataType::Bits {
                length: arg(0).unwrap_or(1),
            },
            _ => DataType::Other(s),
        })
    }
}

impl Serialize for DataType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(text.parse().expect("DataType::from_str is infallible"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_round_trips_through_its_string() {
        let all = [
            DataType::Boolean,
            DataType::Int {
                bytes: 1,
                unsigned: false,
            },
            DataType::Int {
                bytes: 2,
                unsigned: false,
            },
            DataType::Int {
                bytes: 3,
                unsigned: true,
            },
            DataType::Int {
                bytes: 4,
                unsigned: true,
            },
            DataType::Int {
                bytes: 8,
                unsigned: false,
            },
            DataType::Decimal {
                precision: Some(10),
                scale: Some(2),
            },
            DataType::Decimal {
                precision: Some(7),
                scale: None,
            },
            DataType::Decimal {
                precision: None,
                scale: None,
            },
            DataType::Float { bytes: 4 },
            DataType::Float { bytes: 8 },
            DataType::Char { length: Some(3) },
            DataType::Varchar { length: Some(40) },
            DataType::Varchar { length: None },
            DataType::Text,
            DataType::Binary { length: None },
            DataType::Binary { length: Some(16) },
            DataType::Date,
            DataType::Time,
            DataType::Timestamp { tz: false },
            DataType::Timestamp { tz: true },
            DataType::Uuid,
            DataType::Json,
            DataType::Bits { length: 1 },
            DataType::Bits { length: 64 },
            DataType::Other("tsvector".into()),
        ];
        for t in all {
            let text = t.to_string();
            assert_eq!(text.parse::<DataType>().unwrap(), t, "{text}");
        }
    }

    #[test]
    fn a_decimal_of_odd_scale_becomes_one_holding_its_values() {
        assert_eq!(declared_decimal("numeric(5,-2)"), Some((5, -2)));
        assert_eq!(declared_decimal("NUMERIC(3, 5)"), Some((3, 5)));
        assert_eq!(declared_decimal("numeric(7)"), None);
        let dec = |p, s| DataType::Decimal {
            precision: Some(p),
            scale: Some(s),
        };
        assert_eq!(decimal_holding(5, -2), dec(7, 0));
        assert_eq!(decimal_holding(3, 5), dec(5, 5));
        assert_eq!(decimal_holding(10, 2), dec(10, 2));
    }

    #[test]
    fn json_form_is_a_plain_string() {
        let t = DataType::Decimal {
            precision: Some(10),
            scale: Some(2),
        };
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"decimal(10,2)\"");
    }
}
