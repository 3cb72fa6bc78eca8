//! Mapping each engine's type names onto Tether's neutral [`DataType`].

use tether_schema::DataType;

/// Splits `numeric(10,2)`, `timestamp(3) with time zone` or `int(10) unsigned` into
/// a lowercase base with the parenthesised group removed, its numeric arguments, and
/// whether `unsigned` was present.
fn split(type_name: &str) -> (String, Vec<u32>, bool) {
    let lower = type_name.trim().to_ascii_lowercase();
    let (mut base, args) = match (lower.find('('), lower.find(')')) {
        (Some(open), Some(close)) if close > open => {
            let args = lower[open + 1..close]
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            (format!("{} {}", &lower[..open], &lower[close + 1..]), args)
        }
        _ => (lower.clone(), Vec::new()),
    };
    let unsigned = base.split_whitespace().any(|w| w == "unsigned");
    base = base
        .split_whitespace()
        .filter(|w| *w != "unsigned" && *w != "zerofill")
        .collect::<Vec<_>>()
        .join(" ");
    (base, args, unsigned)
}

/// `column_type` without a trailing `CHARACTER SET x` / `COLLATE x` (looked for after
/// the last `)`, so an enum's label saying "collate" stays).
fn without_collation(column_type: &str) -> &str {
    let from = column_type.rfind(')').map_or(0, |i| i + 1);
    let tail = column_type[from..].to_ascii_lowercase();
    match [" character set ", " charset ", " collate "]
        .iter()
        .filter_map(|k| tail.find(k))
        .min()
    {
        Some(at) => &column_type[..from + at],
        None => column_type,
    }
}

fn int(bytes: u8, unsigned: bool) -> DataType {
    DataType::Int { bytes, unsigned }
}

/// PostgreSQL, from `format_type(atttypid, atttypmod)`.
pub fn postgres(type_name: &str) -> DataType {
    let (base, args, _) = split(type_name);
    let arg = |i: usize| args.get(i).copied();
    match base.as_str() {
        "smallint" => int(2, false),
        "integer" => int(4, false),
        "bigint" => int(8, false),
        "numeric" => DataType::Decimal {
            precision: arg(0),
            scale: arg(1).or(arg(0).map(|_| 0)),
        },
        "real" => DataType::Float { bytes: 4 },
        "double precision" => DataType::Float { bytes: 8 },
        "character varying" => DataType::Varchar { length: arg(0) },
        "character" => DataType::Char { length: arg(0) },
        "text" => DataType::Text,
        "boolean" => DataType::Boolean,
        "bytea" => DataType::Binary { length: None },
        "date" => DataType::Date,
        "time without time zone" => DataType::Time,
        "timestamp without time zone" => DataType::Timestamp { tz: false },
        "timestamp with time zone" => DataType::Timestamp { tz: true },
        "uuid" => DataType::Uuid,
        "json" | "jsonb" => DataType::Json,
        _ => DataType::Other(type_name.trim().to_ascii_lowercase()),
    }
}

/// MariaDB/MySQL, from `information_schema.COLUMNS.COLUMN_TYPE`.
/// A column type as `CREATE TABLE` may write it, with a character set or collation
/// after it (`varchar(4) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`), reads as the type.
pub fn mysql(column_type: &str) -> DataType {
    let (base, args, unsigned) = split(without_collation(column_type));
    let arg = |i: usize| args.get(i).copied();
    match base.as_str() {
        "tinyint" if arg(0) == Some(1) && !unsigned => DataType::Boolean,
        "bool" | "boolean" => DataType::Boolean,
        "tinyint" => int(1, unsigned),
        "smallint" => int(2, unsigned),
        "mediumint" => int(3, unsigned),
        "int" | "integer" => int(4, unsigned),
        "bigint" => int(8, unsigned),
        "decimal" | "numeric" => DataType::Decimal {
            precision: arg(0),
            scale: arg(1).or(arg(0).map(|_| 0)),
        },
        "float" => DataType::Float { bytes: 4 },
        "double" | "real" | "double precision" => DataType::Float { bytes: 8 },
        "char" => DataType::Char { length: arg(0) },
        "varchar" => DataType::Varchar { length: arg(0) },
        "tinytext" | "text" | "mediumtext" | "longtext" => DataType::Text,
        "binary" | "varbinary" => DataType::Binary { length: arg(0) },
        "tinyblob" | "blob" | "mediumblob" | "longblob" => DataType::Binary { length: None },
        "date" => DataType::Date,
        "time" => DataType::Time,
        "datetime" => DataType::Timestamp { tz: false },
        "timestamp" => DataType::Timestamp { tz: true },
        "uuid" => DataType::Uuid,
        "json" => DataType::Json,
        "bit" => DataType::Bits {
            length: arg(0).unwrap_or(1),
        },
        _ => DataType::Other(column_type.trim().to_ascii_lowercase()),
    }
}

/// SQLite, from the declared type: exact names first, then SQLite's affinity rules.
pub fn sqlite(declared: &str) -> DataType {
    let (base, args, unsigned) = split(without_collation(declared));
    let arg = |i: usize| args.get(i).copied();
    match base.as_str() {
        "integer" => int(8, unsigned),
        "int" | "int4" => int(4, unsigned),
        "tinyint" => int(1, unsigned),
        "smallint" | "int2" => int(2, unsigned),
        "mediumint" => int(3, unsigned),
        "bigint" | "int8" | "big int" => int(8, unsigned),
        "boolean" | "bool" => DataType::Boolean,
        "numeric" | "decimal" => DataType::Decimal {
            precision: arg(0),
            scale: arg(1).or(arg(0).map(|_| 0)),
        },
        "real" | "float" | "double" | "double precision" => DataType::Float { bytes: 8 },
        "varchar" | "nvarchar" | "varying character" | "native character" | "character varying" => {
            DataType::Varchar { length: arg(0) }
        }
        "char" | "nchar" | "character" => DataType::Char { length: arg(0) },
        "text" | "clob" => DataType::Text,
        "blob" => DataType::Binary { length: None },
        "date" => DataType::Date,
        "time" => DataType::Time,
        "datetime" | "timestamp" => DataType::Timestamp { tz: false },
        "uuid" => DataType::Uuid,
        "json" => DataType::Json,
        "" => DataType::Other("any".into()),
        b if b.contains("int") => int(8, unsigned),
        b if b.contains("char") || b.contains("clob") || b.contains("text") => DataType::Text,
        b if b.contains("blob") => DataType::Binary { length: None },
        b if b.contains("real") || b.contains("floa") || b.contains("doub") => DataType::Float { bytes: 8 },
        _ => DataType::Other(declared.trim().to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_logical_types_agree_across_engines() {
        let cases = [
            ("bigint", "bigint(20)", "BIGINT", "bigint"),
            ("integer", "int(11)", "INT", "int"),
            ("character varying(40)", "varchar(40)", "NVARCHAR(40)", "varchar(40)"),
            ("character(3)", "char(3)", "CHAR(3)", "char(3)"),
            ("numeric(10,2)", "decimal(10,2)", "NUMERIC(10,2)", "decimal(10,2)"),
            ("text", "longtext", "TEXT", "text"),
            ("boolean", "tinyint(1)", "BOOLEAN", "boolean"),
            ("date", "date", "DATE", "date"),
            ("timestamp(3) without time zone", "datetime(3)", "DATETIME", "timestamp"),
            ("bytea", "blob", "BLOB", "binary"),
        ];
        for (pg, my, lite, want) in cases {
            assert_eq!(postgres(pg).to_string(), want, "postgres {pg}");
            assert_eq!(mysql(my).to_string(), want, "mysql {my}");
            assert_eq!(sqlite(lite).to_string(), want, "sqlite {lite}");
        }
        assert_eq!(mysql("int(10) unsigned zerofill").to_string(), "int unsigned");
        assert_eq!(mysql("enum('a','b')").to_string(), "enum('a','b')");
        assert_eq!(
            mysql("varchar(4) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"),
            DataType::Varchar { length: Some(4) }
        );
        assert_eq!(mysql("enum('a collate b')").to_string(), "enum('a collate b')");
        assert_eq!(postgres("timestamp with time zone").to_string(), "timestamptz");
        assert_eq!(sqlite("INTEGER").to_string(), "bigint");
        assert_eq!(sqlite("CHAR(10) COLLATE RTRIM"), DataType::Char { length: Some(10) });
        assert_eq!(sqlite("VARYING_THING").to_string(), "varying_thing");
    }
}
