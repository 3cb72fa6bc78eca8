//! Values a destination column of another type than the source's would store changed
//! without an error, or a note Tether would see: checked before each batch is written,
//! so such a value stops the job naming its row, its column and both types, instead of
//! a copy verified "the same" that is not.
//!
//! What each engine does on its own: PostgreSQL rounds a numeric to its scale and
//! fractional seconds to the column's precision, cuts a varchar's trailing spaces past
//! its length, takes the date of a timestamp into a date column (and the time into a
//! time column); MariaDB cuts fractional seconds and rounds a fraction away into an
//! integer column, both without a note; both round a double into a real and an integer
//! past 2^53 into a double; SQLite turns text that looks like a number into one in a
//! column of INTEGER, NUMERIC or REAL affinity (`'007'` becomes 7) and keeps 15
//! significant digits of a number it makes a REAL. (MariaDB's other roundings, a
//! decimal to its scale, a time of day into a date, raise note 1265, which its writer
//! checks.)

use tether_connect::{Engine, Value};
use tether_schema::{Column, DataType, Table};

/// One way a destination column stores some values changed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Narrow {
    /// PostgreSQL `numeric(p, s)`: rounded to `s` decimal places.
    Scale(u32),
    /// A 4-byte real: a double or a wide integer rounded to 7 significant digits.
    Real,
    /// An 8-byte double: an integer past 2^53, a decimal of more significant digits
    /// than a double keeps, rounded.
    Double,
    /// PostgreSQL `varchar(n)` / `char(n)`: trailing spaces past `n` cut.
    Chars(u32),
    /// A timestamp or time keeping this many fractional second digits: PostgreSQL
    /// rounds the rest (`23:59:59.75` becomes the next day), MariaDB cuts it.
    Fraction(u32),
    /// A date column: the time of day of a timestamp is dropped.
    DateOnly,
    /// A time column: the date of a timestamp is dropped.
    TimeOnly,
    /// A MariaDB/MySQL integer column: a fraction is rounded away, with no note; text
    /// (`text`: the source's column holds text, whose spelling must stay) becomes the
    /// number's (`'007'` and `'7.0'` are stored as 7, without a note either).
    Integral { text: bool },
    /// A PostgreSQL integer column from text: `'007'`, `'+7'`, `' 7'` are stored as 7
    /// without an error (a fraction is refused by the server itself).
    Spelled,
    /// A MariaDB/MySQL `BINARY(n)` column: a shorter value is padded with 0x00 bytes to
    /// n (X'01' and X'0100' are both stored as 0x01000000: one key).
    Padded(u32),
    /// A PostgreSQL `timestamp` or `time` without time zone: the UTC offset of a text
    /// (`10:00:00+05:00`, which SQLite's own date functions read as 05:00 UTC) is
    /// dropped without an error, the wall time kept: another instant.
    Offset,
    /// A SQLite column whose affinity converts some values (`numeric`: the source's
    /// values are numbers, whose value must stay; otherwise text, whose text must).
    Affinity { affinity: Affinity, numeric: bool },
    /// A SQLite column of any type: SQLite binds a NaN as NULL (it has no NaN).
    Nan,
    /// A decimal column from text: `'+5'`, `'1e3'`, `'007.5'` are stored as the number,
    /// another spelling (the column's scale pads the fraction: `'2.5'` is kept).
    Numeral,
    /// A boolean column (PostgreSQL `boolean`, MariaDB `tinyint(1)`) from a source
    /// column that is not boolean: Tether writes an integer as false/true and the text
    /// `'t'`, `'yes'`, `'off'` as a boolean, so only 0 and 1, and the text the column
    /// gives back (`postgres`: `'true'`/`'false'`; else `'0'`/`'1'`) keep their value.
    Truth { postgres: bool },
    /// PostgreSQL's and MariaDB/MySQL's text hold characters only: text whose bytes are
    /// not UTF-8 ([`Value::RawText`], which SQLite stores unchecked and MariaDB/MySQL
    /// under a lax `sql_mode`) has no characters to store, and decoded with replacement
    /// characters would be another text (two keys one). A SQLite destination stores the
    /// same bytes.
    Utf8 { postgres: bool },
    /// A PostgreSQL `time` from a MariaDB/MySQL TIME: a duration (-838:59:59 to
    /// 838:59:59) where `time` holds a time of day (00:00:00 to 24:00:00). PostgreSQL
    /// refuses the rest with errors about time zones and field values (22009, 22007,
    /// 22008), which say nothing of why.
    Duration,
}

/// A SQLite column's affinity, from its declared type (SQLite's rules, in order).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Affinity {
    Integer,
    Text,
    /// No conversion: declared BLOB, no type, or ANY in a STRICT table.
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    fn of(declared: &str, strict: bool) -> Affinity {
        let u = declared.to_ascii_uppercase();
        let has = |s: &[&str]| s.iter().any(|x| u.contains(x));
        if has(&["INT"]) {
            Affinity::Integer
        } else if has(&["CHAR", "CLOB", "TEXT"]) {
            Affinity::Text
        } else if has(&["BLOB"]) || u.trim().is_empty() || (strict && u.trim() == "ANY") {
            Affinity::Blob
        } else if has(&["REAL", "FLOA", "DOUB"]) {
            Affinity::Real
        } else {
            Affinity::Numeric
        }
    }

    fn name(self) -> &'static str {
        match self {
            Affinity::Integer => "INTEGER",
            Affinity::Text => "TEXT",
            Affinity::Blob => "BLOB",
            Affinity::Real => "REAL",
            Affinity::Numeric => "NUMERIC",
        }
    }
}

/// A SQLite table declared `STRICT` (its `CREATE TABLE` text ends so).
fn strict(table: &Table) -> bool {
    table
        .extras
        .definition
        .as_deref()
        .and_then(|d| d.rsplit_once(')'))
        .is_some_and(|(_, tail)| tail.to_ascii_lowercase().contains("strict"))
}

/// How many fractional second digits a timestamp or time column of `engine` keeps:
/// its declared precision, else the engine's default (PostgreSQL 6, MariaDB 0); a
/// date none; None where there is no limit to know (SQLite keeps text as written).
fn fraction_digits(engine: Engine, c: &Column) -> Option<u32> {
    match c.normalized_type {
        DataType::Date => return Some(0),
        DataType::Timestamp { .. } | DataType::Time => {}
        _ => return None,
    }
    let declared = c
        .engine_type
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(n, _)| n.trim().parse().ok());
    match engine {
        Engine::Postgres => Some(declared.unwrap_or(6)),
        Engine::Mysql => Some(declared.unwrap_or(0)),
        Engine::Sqlite => None,
    }
}

impl Narrow {
    /// The ways `dest` (on `to`, in `dest_table`) stores some values of `source` (a
    /// column of a `from` table) changed; none for the same type.
    pub(super) fn of(from: Engine, to: Engine, source: &Column, dest: &Column, dest_table: &Table) -> Vec<Narrow> {
        let (s, d) = (&source.normalized_type, &dest.normalized_type);
        let mut out = Vec::new();
        // PostgreSQL sends UTF-8 only; a MariaDB/MySQL binary column's values are bytes;
        // a SQLite column of any declared type may hold text.
        let raw_text = match from {
            Engine::Sqlite => true,
            Engine::Mysql => !matches!(s, DataType::Binary { .. }),
            Engine::Postgres => false,
        };
        if to != Engine::Sqlite && raw_text {
            out.push(Narrow::Utf8 {
                postgres: to == Engine::Postgres,
            });
        }
        if from == Engine::Mysql && to == Engine::Postgres && *s == DataType::Time && *d == DataType::Time {
            out.push(Narrow::Duration);
        }
        if to == Engine::Sqlite {
            // A SQLite table as the source's own definition makes it holds its values.
            if from == Engine::Sqlite && source.engine_type.eq_ignore_ascii_case(&dest.engine_type) {
                return out;
            }
            // A float's NaN (PostgreSQL's `'NaN'`) becomes NULL in any column there.
            if matches!(s, DataType::Float { .. }) && from != Engine::Sqlite {
                out.push(Narrow::Nan);
            }
            let affinity = Affinity::of(&dest.engine_type, strict(dest_table));
            if affinity != Affinity::Blob {
                let numeric = matches!(
                    s,
                    DataType::Int { .. }
                        | DataType::Decimal { .. }
                        | DataType::Float { .. }
                        | DataType::Bits { .. }
                        | DataType::Boolean
                );
                out.push(Narrow::Affinity { affinity, numeric });
            }
            return out;
        }
        if matches!(d, DataType::Timestamp { .. } | DataType::Time) {
            if let Some(keeps) = fraction_digits(to, dest) {
                if fraction_digits(from, source).is_none_or(|has| has > keeps) {
                    out.push(Narrow::Fraction(keeps));
                }
            }
        }
        // SQLite enforces no declared type: its DATE column may hold a time of day.
        match d {
            DataType::Date if *s != DataType::Date || from == Engine::Sqlite => out.push(Narrow::DateOnly),
            DataType::Time if *s != DataType::Time || from == Engine::Sqlite => out.push(Narrow::TimeOnly),
            _ => {}
        }
        // Text with an offset comes from SQLite (any text in a DATETIME column) or a
        // zoned type of another engine; PostgreSQL and MariaDB read theirs in UTC.
        if to == Engine::Postgres
            && matches!(d, DataType::Timestamp { tz: false } | DataType::Time)
            && (from == Engine::Sqlite || s != d)
        {
            out.push(Narrow::Offset);
        }
        // SQLite enforces no declared type: a DECIMAL(10,2) column may hold 12.345, a
        // VARCHAR(5) any text, an INTEGER column 1.5. Its declared type says nothing
        // about its values, so the same type on the destination is no guarantee.
        let declared_holds = from != Engine::Sqlite;
        if to == Engine::Mysql && !(from == Engine::Mysql && source.engine_type.eq_ignore_ascii_case(&dest.engine_type))
        {
            let ty = dest.engine_type.to_ascii_lowercase();
            let n = ty
                .strip_prefix("binary(")
                .and_then(|rest| rest.split_once(')'))
                .and_then(|(n, _)| n.trim().parse().ok());
            if let Some(n) = n {
                out.push(Narrow::Padded(n));
            }
        }
        if s == d && declared_holds {
            return out;
        }
        let from_float = matches!(s, DataType::Float { .. });
        let from_integer =
            declared_holds && matches!(s, DataType::Int { .. } | DataType::Boolean | DataType::Bits { .. });
        // A SQLite column of any declared type (none, BLOB, DATE) may hold text, which
        // keeps its spelling as a text column's does; its values' own types tell.
        let from_text = s.is_text() || !declared_holds;
        // A SQLite BOOLEAN column's 't' or 2 become booleans by design (README).
        if *d == DataType::Boolean && *s != DataType::Boolean && to != Engine::Sqlite {
            out.push(Narrow::Truth {
                postgres: to == Engine::Postgres,
            });
        }
        match (to, d) {
            (Engine::Postgres, DataType::Decimal { scale: Some(n), .. }) => out.push(Narrow::Scale(*n)),
            (Engine::Postgres | Engine::Mysql, DataType::Float { bytes: 4 }) => out.push(Narrow::Real),
            (Engine::Postgres | Engine::Mysql, DataType::Float { .. }) if !from_float => out.push(Narrow::Double),
            // A char(n) source's values are padded: the pad is no part of them (SQLite
            // pads nothing).
            (Engine::Postgres, DataType::Varchar { length: Some(n) } | DataType::Char { length: Some(n) })
                if !declared_holds || !matches!(s, DataType::Char { .. }) =>
            {
                out.push(Narrow::Chars(*n))
            }
            (Engine::Mysql, DataType::Int { .. } | DataType::Boolean) if !from_integer => {
                out.push(Narrow::Integral { text: from_text })
            }
            (Engine::Postgres, DataType::Int { .. }) if from_text => out.push(Narrow::Spelled),
            _ => {}
        }
        // After the scale's rule, whose reason says more of a fraction too long.
        if matches!(d, DataType::Decimal { .. }) && from_text {
            out.push(Narrow::Numeral);
        }
        out
    }

    /// What the refusal of a value [`Narrow::changes`] finds advises: a table this
    /// run created has the closest type Tether has there, which no widening of the
    /// user's would reach before the run.
    pub(super) fn advice(created_here: bool) -> &'static str {
        match created_here {
            true => {
                "the run created this table with the closest type it has there; create the table beforehand \
                 with a column that holds the value, or transform the value"
            }
            false => "widen the destination's column or transform the value",
        }
    }

    /// Whether the reason [`Narrow::changes`] gives says all: no value of the column's
    /// type is wanted, so the types and [`Narrow::advice`] say nothing more.
    pub(super) fn says_all(self) -> bool {
        matches!(self, Narrow::Utf8 { .. } | Narrow::Duration)
    }

    /// Why the destination would store `v` changed, if it would.
    pub(super) fn changes(self, v: &Value) -> Option<String> {
        match (self, v) {
            (Narrow::Scale(s), Value::Text(t)) => {
                // The value's own digits, an exponent read (`1.2345e1` has 3).
                let digits = canonical_decimal(t)
                    .and_then(|c| c.split_once('.').map(|(_, f)| f.len()))
                    .unwrap_or(0);
                (digits > s as usize).then(|| format!("it has {digits} decimal places; the column keeps {s}"))
            }
            (Narrow::Scale(s), Value::Float(f)) if f.is_finite() => {
                let shown = f.to_string();
                let digits = shown.split_once('.').map_or(0, |(_, d)| d.len());
                (digits > s as usize).then(|| format!("it has {digits} decimal places; the column keeps {s}"))
            }
            // What a person reads back must be what was there: the real's shortest
            // decimal against the value's (0.1 stays 0.1; 1.000000001 becomes 1).
            (Narrow::Real, Value::Float(f)) if f.is_finite() && (*f as f32).to_string() != f.to_string() => {
                Some(format!("a 4-byte real holds it as {}", *f as f32))
            }
            (Narrow::Real, Value::Int(i)) if (*i as f32).to_string() != i.to_string() => {
                Some(format!("a 4-byte real holds it as {}", *i as f32))
            }
            (Narrow::Real, Value::Text(t)) => {
                let f: f64 = t.trim().parse().ok().filter(|f: &f64| f.is_finite())?;
                ((f as f32).to_string() != f.to_string()).then(|| format!("a 4-byte real holds it as {}", f as f32))
            }
            (Narrow::Double, v) => {
                let f = inexact_double(v)?;
                Some(format!("an 8-byte double holds it as {f}"))
            }
            // Longer with other characters, PostgreSQL refuses it (22001) by itself.
            (Narrow::Chars(n), Value::Text(t))
                if t.chars().count() > n as usize && t.chars().skip(n as usize).all(|c| c == ' ') =>
            {
                Some(format!(
                    "it has {} characters, trailing spaces PostgreSQL would cut; the column holds {n}",
                    t.chars().count()
                ))
            }
            (Narrow::Fraction(n), Value::Text(t)) => {
                let digits = fraction_of_second(t);
                (digits > n as usize).then(|| {
                    format!("it has {digits} digits of a second's fraction; the column keeps {n}, and rounds or cuts the rest")
                })
            }
            (Narrow::DateOnly, Value::Text(t)) => {
                let time = time_of_day(t).or_else(|| clock(t))?;
                Some(format!("it has a time of day ({time}), which a date column drops"))
            }
            (Narrow::TimeOnly, Value::Text(t)) => {
                let date = date_part(t)?;
                Some(format!("it has a date ({date}), which a time column drops"))
            }
            (Narrow::Offset, Value::Text(t)) => {
                let offset = utc_offset(t)?;
                Some(format!(
                    "it has the UTC offset {offset}, which a column without time zone drops, keeping the wall \
                     time (another instant); store it in UTC in the source, or give the column a time zone"
                ))
            }
            (Narrow::Integral { .. }, Value::Float(f)) if f.is_finite() && f.fract() != 0.0 => Some(format!(
                "it has a fraction, which MariaDB/MySQL rounds away into an integer column without a note ({f} \
                 becomes {})",
                f.round()
            )),
            (Narrow::Integral { text }, Value::Text(t)) => {
                let c = canonical_decimal(t)?;
                if c.contains('.') {
                    return Some(format!(
                        "it has a fraction ({c}), which MariaDB/MySQL rounds away into an integer column without a note"
                    ));
                }
                // A char(n) source's pad is no part of its value.
                let t = t.trim_end_matches(' ');
                (text && t != c).then(|| {
                    format!(
                        "it is text ('{t}') that MariaDB/MySQL stores as the integer {c} without a note, another \
                         spelling"
                    )
                })
            }
            (Narrow::Padded(n), Value::Bytes(b)) if b.len() < n as usize => Some(format!(
                "it is {} bytes, which a BINARY({n}) column pads with 0x00 bytes to {n} without a note (another \
                 value: two values apart only in trailing 0x00 bytes become one)",
                b.len()
            )),
            (Narrow::Padded(n), Value::Text(t)) if t.len() < n as usize => Some(format!(
                "it is {} bytes, which a BINARY({n}) column pads with 0x00 bytes to {n} without a note (another value)",
                t.len()
            )),
            (Narrow::Spelled, Value::Text(t)) => {
                let c = canonical_decimal(t).filter(|c| !c.contains('.'))?;
                let t = t.trim_end_matches(' ');
                (t != c).then(|| {
                    format!("it is text ('{t}') that PostgreSQL stores as the integer {c} without an error, another spelling")
                })
            }
            (Narrow::Numeral, Value::Text(t)) => {
                let c = canonical_decimal(t)?;
                (plain_decimal(t) != c).then(|| {
                    format!(
                        "it is text ('{}') that the column stores as the number {c}, another spelling",
                        t.trim_end_matches(' ')
                    )
                })
            }
            (Narrow::Truth { .. }, Value::Int(n)) if !matches!(n, 0 | 1) => Some(format!(
                "it is the integer {n}, which Tether writes into a boolean column as true; only 0 and 1 keep \
                 their value there"
            )),
            (Narrow::Truth { .. }, Value::UInt(n)) if *n > 1 => Some(format!(
                "it is the integer {n}, which Tether writes into a boolean column as true; only 0 and 1 keep \
                 their value there"
            )),
            (Narrow::Truth { postgres }, Value::Text(t)) => {
                let word = t.trim().to_ascii_lowercase();
                let truth = matches!(
                    word.as_str(),
                    "t" | "true" | "y" | "yes" | "on" | "1" | "f" | "false" | "n" | "no" | "off" | "0"
                );
                let kept = match postgres {
                    true => ["true", "false"].contains(&t.as_str()),
                    false => ["1", "0"].contains(&t.as_str()),
                };
                (truth && !kept).then(|| {
                    format!(
                        "it is text ('{t}') that a boolean column stores as {}, another spelling",
                        match postgres {
                            true => "true or false",
                            false => "1 or 0",
                        }
                    )
                })
            }
            (Narrow::Utf8 { postgres }, Value::RawText(_)) => Some(format!(
                "is text whose bytes are not UTF-8 ({}), which {} text cannot hold: it holds characters, and \
                 these bytes are none (replacement characters would store another text, and could make two \
                 keys one). A SQLite destination keeps the bytes as they are; correct the source's encoding, or \
                 transform the value",
                v.display(),
                match postgres {
                    true => "PostgreSQL",
                    false => "MariaDB/MySQL",
                }
            )),
            (Narrow::Duration, Value::Text(t)) if !time_of_day_holds(t) => Some(format!(
                "is the MariaDB/MySQL TIME '{t}': a TIME is a duration (-838:59:59 to 838:59:59), which a \
                 PostgreSQL time column cannot hold outside 00:00:00 to 24:00:00 (it holds a time of day); an \
                 interval column would (create the table beforehand with one), or transform the value"
            )),
            (Narrow::Affinity { affinity, numeric }, v) => affinity_changes(affinity, numeric, v),
            (Narrow::Nan, Value::Float(f)) if f.is_nan() => Some(
                "it is NaN, which SQLite cannot hold (it would store NULL); a transformer could give another \
                 value"
                    .to_string(),
            ),
            _ => None,
        }
    }
}

/// Whether a MariaDB/MySQL TIME's text (`-01:00:00`, `30:00:00.5`, `24:00:00`) is a time
/// of day PostgreSQL's `time` holds: 00:00:00 to 24:00:00, that one included. Text of
/// another shape is left to the server.
fn time_of_day_holds(t: &str) -> bool {
    let t = t.trim();
    if t.starts_with('-') {
        return false;
    }
    let Some((hours, rest)) = t.split_once(':') else {
        return true;
    };
    match hours.parse::<u32>() {
        Ok(h) if h < 24 => true,
        // 24:00:00 only (fractional zeros too).
        Ok(24) => rest.chars().all(|c| matches!(c, '0' | ':' | '.')),
        Ok(_) => false,
        Err(_) => true,
    }
}

/// The double `v` becomes where that is not `v` exactly (an integer past 2^53, a
/// decimal of more significant digits than a double keeps).
fn inexact_double(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => (i128::from(*i) != *i as f64 as i128).then_some(*i as f64),
        Value::UInt(u) => (i128::from(*u) != *u as f64 as i128).then_some(*u as f64),
        Value::Text(t) => {
            let exact = canonical_decimal(t)?;
            let f: f64 = t.trim().parse().ok().filter(|f: &f64| f.is_finite())?;
            (canonical_decimal(&f.to_string()).as_deref() != Some(exact.as_str())).then_some(f)
        }
        _ => None,
    }
}

/// A decimal (`-007.50`, `1.2345e1`) in one spelling for each value (`-7.5`,
/// `12.345`); None for anything else (words, dates, an exponent past 1000).
fn canonical_decimal(t: &str) -> Option<String> {
    let t = t.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (t, exponent) = match t.find(['e', 'E']) {
        Some(at) => {
            let e = &t[at + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: i64 = e.strip_prefix('+').unwrap_or(e).parse().ok()?;
            (&t[..at], e)
        }
        None => (t, 0),
    };
    if exponent.abs() > 1000 {
        return None;
    }
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // The point moved by the exponent: the digits split at another place.
    let digits = format!("{whole}{fraction}");
    let point = whole.len() as i64 + exponent;
    let (whole, fraction) = match point {
        p if p <= 0 => (
            String::new(),
            format!("{}{digits}", "0".repeat(p.unsigned_abs() as usize)),
        ),
        p if p as usize >= digits.len() => (
            format!("{digits}{}", "0".repeat(p as usize - digits.len())),
            String::new(),
        ),
        p => (digits[..p as usize].to_string(), digits[p as usize..].to_string()),
    };
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let mut out = String::new();
    if negative && !(whole.is_empty() && fraction.is_empty()) {
        out.push('-');
    }
    out.push_str(if whole.is_empty() { "0" } else { whole });
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    Some(out)
}

/// A decimal text as a column with a scale gives it back, but for the fraction's
/// trailing zeros (`5.50` and `5.` as `5.5` and `5`), which the scale pads anyway.
fn plain_decimal(t: &str) -> &str {
    let t = t.trim_end_matches(' ');
    match t.contains('.') {
        true => t.trim_end_matches('0').trim_end_matches('.'),
        false => t,
    }
}

/// How many digits of a second's fraction a date-time or time text has, trailing
/// zeros not counted: `10:00:00.600` has 1.
fn fraction_of_second(t: &str) -> usize {
    let Some((_, clock)) = t.split_once(':') else {
        return 0;
    };
    clock
        .split_once('.')
        .map(|(_, f)| f.bytes().take_while(u8::is_ascii_digit).collect::<Vec<u8>>())
        .map_or(0, |f| f.iter().rposition(|&b| b != b'0').map_or(0, |last| last + 1))
}

/// The date at the start of a text (`2024-01-31` of `2024-01-31 10:00:00`, `2024-1-1`
/// of `2024-1-1 10:30`), if it starts with one.
fn date_part(t: &str) -> Option<&str> {
    let t = t.trim();
    let b = t.as_bytes();
    let run = |at: usize| {
        b.get(at..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let year = run(0);
    let month = run(year + 1);
    let day = run(year + month + 2);
    let end = year + month + day + 2;
    (year >= 4
        && b.get(year) == Some(&b'-')
        && (1..=2).contains(&month)
        && b.get(year + month + 1) == Some(&b'-')
        && (1..=2).contains(&day))
    .then(|| &t[..end])
}

/// A time of day other than midnight anywhere in a text no [`date_part`] starts
/// (`10:00` of `Jan 5 2024 10:00`), or the clock of a compact `20240101 1030`: a
/// date column's input reads both and drops the time.
fn clock(t: &str) -> Option<&str> {
    let t = t.trim();
    let start = match t.find(':') {
        Some(colon) => t[..colon].rfind(|c: char| !c.is_ascii_digit()).map_or(0, |at| at + 1),
        None => {
            let (date, time) = t.split_once([' ', 'T'])?;
            let compact = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
            let clock = time.len() >= 4 && time.bytes().take_while(u8::is_ascii_digit).count() >= 4;
            if !compact || !clock {
                return None;
            }
            date.len() + 1
        }
    };
    let rest = &t[start..];
    let zero = rest
        .bytes()
        .all(|b| matches!(b, b'0' | b':' | b'.' | b'+' | b'-' | b'Z' | b' '));
    (!zero).then_some(rest)
}

/// The time of day of a date-time text where it is not midnight at offset zero
/// (`10:00:00+00` of `2024-01-01 10:00:00+00`); None for a date alone.
fn time_of_day(t: &str) -> Option<&str> {
    let date = date_part(t)?;
    let rest = t.trim()[date.len()..].trim_start_matches(['T', ' ']);
    if !rest.contains(':') {
        return None;
    }
    // Midnight: only zeros in the clock and the offset (`00:00:00.000+00:00`, `Z`).
    let zero = rest
        .bytes()
        .all(|b| matches!(b, b'0' | b':' | b'.' | b'+' | b'-' | b'Z'));
    (!zero).then_some(rest)
}

/// The UTC offset ending a date-time or time text (`+05:00` of `2024-01-01
/// 10:00:00+05:00`, `-0330`, `+05`), where it is not zero: `Z`, `+00`, `-00:00` name
/// UTC, whose wall time is the instant's.
fn utc_offset(t: &str) -> Option<&str> {
    let t = t.trim_end();
    // The clock starts at the first ':'; an offset follows it.
    let clock = t.find(':')?;
    let at = clock + t[clock..].rfind(['+', '-'])?;
    let offset = &t[at..];
    let digits = offset[1..].trim_start();
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b':');
    (ok && digits.bytes().any(|b| b.is_ascii_digit() && b != b'0')).then_some(offset)
}

/// SQLite's reading of text as a number where a column's affinity converts it: an
/// optional sign, digits with an optional point, an optional exponent, spaces around.
fn sqlite_number(t: &str) -> bool {
    let t = t.trim_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(at) => (&t[..at], Some(&t[at + 1..])),
        None => (t, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// What a SQLite column of `affinity` stores for the number text `t`: an integer
/// where it is one that fits (not for REAL affinity), else the nearest double.
fn sqlite_stored(affinity: Affinity, t: &str) -> Value {
    let t = t.trim_matches(|c: char| c.is_ascii_whitespace());
    if affinity != Affinity::Real {
        if let Ok(i) = t.strip_prefix('+').unwrap_or(t).parse::<i64>() {
            return Value::Int(i);
        }
    }
    let f: f64 = t.parse().unwrap_or(f64::NAN);
    let whole = f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18;
    match (affinity, whole) {
        (Affinity::Integer | Affinity::Numeric, true) => Value::Int(f as i64),
        _ => Value::Float(f),
    }
}

/// Why a SQLite column of `affinity` would store `v` changed: text turned into a
/// number (a text source's text must stay as it was; a numeric source's value must),
/// a number kept with fewer digits.
fn affinity_changes(affinity: Affinity, numeric: bool, v: &Value) -> Option<String> {
    let says = |what: String| {
        format!(
            "SQLite's {} affinity (its declared type) stores it as {what}",
            affinity.name()
        )
    };
    match (affinity, v) {
        (Affinity::Integer | Affinity::Numeric | Affinity::Real, Value::Text(t)) if sqlite_number(t) => {
            let stored = sqlite_stored(affinity, t);
            let shown = match &stored {
                Value::Int(i) => i.to_string(),
                Value::Float(f) => f.to_string(),
                _ => return None,
            };
            let same = match numeric {
                true => canonical_decimal(t).is_some_and(|c| canonical_decimal(&shown).as_deref() == Some(c.as_str())),
                false => *t == shown,
            };
            match (same, &stored) {
                (true, _) => None,
                (false, Value::Int(_)) => Some(says(format!("the integer {shown}"))),
                (false, _) => Some(says(format!("the 8-byte real {shown}"))),
            }
        }
        (Affinity::Integer | Affinity::Numeric, Value::UInt(u)) if i64::try_from(*u).is_err() => {
            Some(says(format!("the 8-byte real {}", *u as f64)))
        }
        (Affinity::Real, Value::Int(_) | Value::UInt(_)) => {
            let f = inexact_double(v)?;
            Some(says(format!("the 8-byte real {f}")))
        }
        // SQLite writes a REAL as text with 15 significant digits.
        (Affinity::Text, Value::Float(f)) if f.is_finite() => {
            let kept: f64 = format!("{f:.14e}").parse().ok()?;
            (kept != *f).then(|| says(format!("the text of 15 significant digits {kept}")))
        }
        // An infinity becomes the text 'Inf' (the sign of a zero is lost as in any
        // column: -0 is 0 on SQLite as on MariaDB, and equal to it everywhere).
        (Affinity::Text, Value::Float(f)) if f.is_infinite() => {
            Some(says(format!("the text '{}Inf'", if *f < 0.0 { "-" } else { "" })))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Value {
        Value::Text(t.into())
    }

    #[test]
    fn fractions_of_a_second_past_the_columns_are_found() {
        assert_eq!(fraction_of_second("2024-12-31 23:59:59.75"), 2);
        assert_eq!(fraction_of_second("2024-12-31 23:59:59.750000+00"), 2);
        assert_eq!(fraction_of_second("10:00:00.600"), 1);
        assert_eq!(fraction_of_second("10:00:00+05:30"), 0);
        assert_eq!(fraction_of_second("2024-12-31"), 0);
        assert!(Narrow::Fraction(0).changes(&text("2024-12-31 23:59:59.75")).is_some());
        assert!(Narrow::Fraction(2).changes(&text("2024-12-31 23:59:59.75")).is_none());
        assert!(Narrow::Fraction(0)
            .changes(&text("2024-12-31 23:59:59.000000"))
            .is_none());
    }

    #[test]
    fn a_time_of_day_or_a_date_dropped_is_found() {
        assert_eq!(time_of_day("2024-01-01 10:00:00+00"), Some("10:00:00+00"));
        assert_eq!(time_of_day("2024-01-01 00:00:00+00"), None);
        assert_eq!(time_of_day("2024-01-01T00:00:00.000Z"), None);
        assert_eq!(time_of_day("2024-01-01"), None);
        assert_eq!(time_of_day("infinity"), None);
        assert_eq!(date_part("2024-01-01 10:00:00"), Some("2024-01-01"));
        assert_eq!(date_part("10:00:00"), None);
        assert_eq!(date_part("-10:00:00"), None);
        assert!(Narrow::TimeOnly.changes(&text("10:00:00")).is_none());
    }

    #[test]
    fn doubles_keep_integers_to_2_pow_53_and_17_digits() {
        assert_eq!(inexact_double(&Value::Int(9_007_199_254_740_992)), None);
        assert_eq!(
            inexact_double(&Value::Int(9_007_199_254_740_993)),
            Some(9_007_199_254_740_992.0)
        );
        assert_eq!(inexact_double(&text("1.10")), None);
        assert_eq!(inexact_double(&text("0.1")), None);
        assert!(inexact_double(&text("123456789012345678901234567890")).is_some());
        assert!(inexact_double(&text("0.12345678901234567891")).is_some());
    }

    #[test]
    fn sqlite_affinity_changes_text_that_looks_like_a_number() {
        let integer = Narrow::Affinity {
            affinity: Affinity::Integer,
            numeric: false,
        };
        assert!(integer.changes(&text("007")).is_some());
        assert!(integer.changes(&text("1e3")).is_some());
        assert!(integer.changes(&text("7")).is_none());
        assert!(integer.changes(&text("abc")).is_none());
        let numeric = Narrow::Affinity {
            affinity: Affinity::Numeric,
            numeric: true,
        };
        assert!(numeric.changes(&text("1.10")).is_none());
        assert!(numeric.changes(&text("2.00")).is_none());
        assert!(numeric.changes(&text("123456789012345678901234567890")).is_some());
        assert!(numeric.changes(&Value::UInt(u64::MAX)).is_some());
        assert_eq!(Affinity::of("NUMERIC(10,2)", false), Affinity::Numeric);
        assert_eq!(Affinity::of("VARCHAR(5)", false), Affinity::Text);
        assert_eq!(Affinity::of("", false), Affinity::Blob);
        assert_eq!(Affinity::of("ANY", true), Affinity::Blob);
        assert_eq!(Affinity::of("DOUBLE", false), Affinity::Real);
        assert!(sqlite_number(" -1.5e+3 "));
        assert!(!sqlite_number("0x10"));
        assert!(!sqlite_number("1e"));
        assert!(!sqlite_number("."));
    }

    #[test]
    fn utc_offsets_other_than_zero_are_found() {
        assert_eq!(utc_offset("2024-01-01 10:00:00+05:00"), Some("+05:00"));
        assert_eq!(utc_offset("2024-01-01T10:00:00.5-0330"), Some("-0330"));
        assert_eq!(utc_offset("10:00:00+05"), Some("+05"));
        assert_eq!(utc_offset("2024-01-01 10:00:00"), None);
        assert_eq!(utc_offset("2024-01-01 10:00:00Z"), None);
        assert_eq!(utc_offset("2024-01-01 10:00:00+00:00"), None);
        assert_eq!(utc_offset("2024-01-01 10:00:00 -00"), None);
        assert_eq!(utc_offset("2024-01-01"), None);
        assert_eq!(utc_offset("-infinity"), None);
    }

    #[test]
    fn mariadb_integers_refuse_fractions() {
        let decimal = Narrow::Integral { text: false };
        assert!(decimal.changes(&Value::Float(1.5)).is_some());
        assert!(decimal.changes(&Value::Float(2.0)).is_none());
        assert!(decimal.changes(&text("2.50")).is_some());
        assert!(decimal.changes(&text("2.00")).is_none());
        assert!(decimal.changes(&text("007")).is_none());
        // Text keeps its spelling: only the integer's own is stored as it was.
        let text_source = Narrow::Integral { text: true };
        assert!(text_source.changes(&text("007")).is_some());
        assert!(text_source.changes(&text("7.0")).is_some());
        assert!(text_source.changes(&text("+7")).is_some());
        assert!(text_source.changes(&text("-0")).is_some());
        assert!(text_source.changes(&text("7")).is_none());
        assert!(text_source.changes(&text("-7")).is_none());
        assert!(text_source.changes(&text("0")).is_none());
        assert!(text_source.changes(&text("7  ")).is_none());
        assert!(text_source.changes(&text("abc")).is_none());
        // Review k K5: the same spellings into a PostgreSQL integer column.
        for changed in ["007", "+7", " 7", "-0"] {
            assert!(Narrow::Spelled.changes(&text(changed)).is_some(), "{changed}");
        }
        for kept in ["7", "-7", "0", "7  ", "7.5", "abc"] {
            assert!(Narrow::Spelled.changes(&text(kept)).is_none(), "{kept}");
        }
    }

    #[test]
    fn exponents_are_read_as_the_value_they_spell() {
        assert_eq!(canonical_decimal("1.2345e1").as_deref(), Some("12.345"));
        assert_eq!(canonical_decimal("1e3").as_deref(), Some("1000"));
        assert_eq!(canonical_decimal("-1.5E-3").as_deref(), Some("-0.0015"));
        assert_eq!(canonical_decimal("12e+0").as_deref(), Some("12"));
        assert_eq!(canonical_decimal("1e"), None);
        assert_eq!(canonical_decimal("1e99999"), None);
        assert!(Narrow::Scale(2).changes(&text("1.2345e1")).is_some());
        assert!(Narrow::Scale(2).changes(&text("2.50")).is_none());
        assert!(Narrow::Integral { text: true }.changes(&text("1e3")).is_some());
        assert!(inexact_double(&text("1.00000000000000000001e0")).is_some());
        assert!(inexact_double(&text("1e3")).is_none());
        for changed in ["+5", "1e3", "007.5", "-0.00", " 5"] {
            assert!(Narrow::Numeral.changes(&text(changed)).is_some(), "{changed}");
        }
        for kept in ["5", "2.50", "-7.5", "0.5", "abc"] {
            assert!(Narrow::Numeral.changes(&text(kept)).is_none(), "{kept}");
        }
    }

    #[test]
    fn unpadded_dates_and_words_keep_their_time_of_day_found() {
        assert_eq!(date_part("2024-1-1 10:30"), Some("2024-1-1"));
        assert_eq!(time_of_day("2024-1-1 10:30"), Some("10:30"));
        assert_eq!(date_part("2024-123-1"), None);
        for changed in ["2024-1-1 10:30", "Jan 5 2024 10:00", "20240101 1030"] {
            assert!(Narrow::DateOnly.changes(&text(changed)).is_some(), "{changed}");
        }
        for kept in ["2024-1-1", "2024-01-01 00:00", "Jan 5 2024", "infinity", "20240101"] {
            assert!(Narrow::DateOnly.changes(&text(kept)).is_none(), "{kept}");
        }
    }

    #[test]
    fn booleans_keep_0_1_and_their_own_spelling() {
        let (pg, my) = (Narrow::Truth { postgres: true }, Narrow::Truth { postgres: false });
        for n in [0, 1] {
            assert!(pg.changes(&Value::Int(n)).is_none() && my.changes(&Value::Int(n)).is_none());
        }
        assert!(pg.changes(&Value::Int(5)).is_some() && my.changes(&Value::Int(-1)).is_some());
        assert!(pg.changes(&text("t")).is_some() && pg.changes(&text("true")).is_none());
        assert!(my.changes(&text("yes")).is_some() && my.changes(&text("1")).is_none());
        assert!(my.changes(&text("5")).is_none());
    }
}
