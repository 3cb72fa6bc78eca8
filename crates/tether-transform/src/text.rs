//! Text-shaped kinds: keyed `hash` (keeps the column's type and length), `uuid`,
//! `lorem` (free text of similar length), `scramble` (keeps the format) and
//! `categorical` (pick from a list or from the column's own values).

use tether_schema::{Column, DataType, Value};

use crate::error::TransformError;
use crate::fit::{coerce, int_range};
use crate::kernel::{require_text, toml_to_value, Kernel};
use crate::keyed::Rng;
use crate::numbers::build_int_permutation;
use crate::options::Opts;
use crate::words::LOREM;

struct TextHash {
    alphabet: &'static [u8],
    length: usize,
}

impl Kernel for TextHash {
    fn output_bits(&self) -> Option<u32> {
        let per_char = f64::from(u32::try_from(self.alphabet.len()).ok()?).log2();
        // Whole bits only: 32 hex characters are 128.
        Some((per_char * self.length as f64).floor() as u32)
    }
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut s = String::with_capacity(self.length);
        let n = self.alphabet.len() as u64;
        if n == 16 {
            // Sixteen hex digits per 64-bit draw.
            let mut left = self.length;
            while left > 0 {
                let mut w = rng.next_u64();
                for _ in 0..left.min(16) {
                    s.push(self.alphabet[(w & 15) as usize] as char);
                    w >>= 4;
                }
                left = left.saturating_sub(16);
            }
        } else {
            for _ in 0..self.length {
                s.push(self.alphabet[rng.below(n) as usize] as char);
            }
        }
        Ok(Value::Text(s))
    }
}

struct BytesHash {
    length: usize,
}

impl Kernel for BytesHash {
    fn output_bits(&self) -> Option<u32> {
        u32::try_from(self.length).ok()?.checked_mul(8)
    }
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut out = Vec::with_capacity(self.length + 8);
        while out.len() < self.length {
            out.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        out.truncate(self.length);
        Ok(Value::Bytes(out))
    }
}

pub(crate) fn build_hash(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    match &column.normalized_type {
        DataType::Int { .. } => build_int_permutation(o, column),
        DataType::Decimal {
            precision: Some(1..=18),
            scale: None | Some(0),
        } => build_int_permutation(o, column),
        DataType::Uuid => build_uuid(o, column),
        DataType::Binary { length } => {
            let n = o.int_or("length", length.unwrap_or(16) as i64)?;
            if n < 1 || length.is_some_and(|l| n > l as i64) {
                return Err(o.bad("length", format!("must be 1 to {}", length.unwrap_or(u32::MAX))));
            }
            Ok(Box::new(BytesHash { length: n as usize }))
        }
        t if t.is_text() || matches!(t, DataType::Other(_)) => {
            let default_len = match t {
                DataType::Char { length: Some(n) } => *n,
                DataType::Varchar { length: Some(n) } => (*n).min(32),
                _ => 32,
            };
            let length = o.int_or("length", default_len as i64)?;
            if length < 1 || t.max_chars().is_some_and(|m| length > m as i64) {
                return Err(o.bad(
                    "length",
                    format!(
                        "must be 1 to the column's length ({})",
                        t.max_chars().unwrap_or(u32::MAX)
                    ),
                ));
            }
            let alphabet: &'static [u8] = match o
                .choice("alphabet", &["hex", "alnum", "digits", "letters"], "hex")?
                .as_str()
            {
                "alnum" => b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                "digits" => b"0123456789",
                "letters" => b"abcdefghijklmnopqrstuvwxyz",
                _ => b"0123456789abcdef",
            };
            Ok(Box::new(TextHash {
                alphabet,
                length: length as usize,
            }))
        }
        t => Err(crate::error::TransformError::not_for_type(
            o.kind,
            t,
            "hash keeps integer, text, uuid and binary columns; use noise/int_range/decimal_range for numbers \
             and date_shift for dates",
        )),
    }
}

struct Uuid {
    bytes: bool,
}

impl Kernel for Uuid {
    fn output_bits(&self) -> Option<u32> {
        // Version and variant take six of the 128 bits.
        Some(122)
    }
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
        b[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
        b[6] = (b[6] & 0x0f) | 0x50; // version 5 (name-based)
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
        if self.bytes {
            return Ok(Value::Bytes(b.to_vec()));
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(36);
        for (i, byte) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(HEX[(byte >> 4) as usize] as char);
            s.push(HEX[(byte & 15) as usize] as char);
        }
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_uuid(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    match &column.normalized_type {
        DataType::Uuid => Ok(Box::new(Uuid { bytes: false })),
        DataType::Binary { length } if length.is_none_or(|l| l >= 16) => Ok(Box::new(Uuid { bytes: true })),
        t if t.is_text() || matches!(t, DataType::Other(_)) => {
            if t.max_chars().is_some_and(|m| m < 36) {
                return Err(TransformError::not_for_type(o.kind, t, "a UUID needs 36 characters"));
            }
            Ok(Box::new(Uuid { bytes: false }))
        }
        t => Err(TransformError::not_for_type(
            o.kind,
            t,
            "use it on uuid, text or binary(16) columns",
        )),
    }
}

struct Lorem;

impl Kernel for Lorem {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let target = match input {
            Value::Text(t) => t.chars().count(),
            _ => 20,
        };
        let mut s = String::with_capacity(target + 12);
        while s.len() < target {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(rng.word(LOREM));
        }
        s.truncate(target);
        while s.ends_with(' ') {
            s.pop();
        }
        if let Some(first) = s.get(..1) {
            let upper = first.to_ascii_uppercase();
            s.replace_range(..1, &upper);
        }
        if matches!(input, Value::Text(t) if t.ends_with('.')) && s.len() > 1 {
            s.pop();
            s.push('.');
        }
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_lorem(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    Ok(Box::new(Lorem))
}

/// Letters stay letters (same case), digits stay digits, everything else stays; every
/// letter and digit is replaced by a *different* one, so the output never equals a
/// non-empty alphanumeric input.
struct Scramble {
    int_range: Option<(i128, i128)>,
}

fn scramble_str(s: &str, rng: &mut Rng, keep_first_nonzero: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut first_digit = keep_first_nonzero;
    for c in s.chars() {
        let n = match c {
            'a'..='z' => (b'a' + ((c as u8 - b'a') + 1 + rng.below(25) as u8) % 26) as char,
            'A'..='Z' => (b'A' + ((c as u8 - b'A') + 1 + rng.below(25) as u8) % 26) as char,
            '0'..='9' if first_digit && c != '0' => {
                first_digit = false;
                (b'1' + ((c as u8 - b'1') + 1 + rng.below(8) as u8) % 9) as char
            }
            '0'..='9' => {
                first_digit = false;
                (b'0' + ((c as u8 - b'0') + 1 + rng.below(9) as u8) % 10) as char
            }
            c if c.is_alphabetic() && c.is_uppercase() => (b'A' + rng.below(26) as u8) as char,
            c if c.is_alphabetic() => (b'a' + rng.below(26) as u8) as char,
            c => c,
        };
        out.push(n);
    }
    out
}

impl Kernel for Scramble {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        match input {
            Value::Text(s) => Ok(Value::Text(scramble_str(s, rng, false))),
            Value::Int(_) | Value::UInt(_) => {
                let text = input.display();
                let (lo, hi) = self.int_range.unwrap_or((i64::MIN as i128, u64::MAX as i128));
                for _ in 0..16 {
                    let out = scramble_str(&text, rng, text.trim_start_matches('-').len() > 1);
                    if let Ok(v) = out.parse::<i128>() {
                        if v >= lo && v <= hi {
                            return Ok(if v > i64::MAX as i128 {
                                Value::UInt(v as u64)
                            } else {
                                Value::Int(v as i64)
                            });
                        }
                    }
                }
                Err(TransformError::bad_input(
                    "scramble",
                    input,
                    "no scrambled value fits the column's range",
                ))
            }
            other => Err(TransformError::bad_input(
                "scramble",
                other,
                "scramble works on text and integers",
            )),
        }
    }
}

pub(crate) fn build_scramble(_o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    let int_range = match &column.normalized_type {
        DataType::Int { bytes, unsigned } => Some(int_range(*bytes, *unsigned)),
        _ => None,
    };
    Ok(Box::new(Scramble { int_range }))
}

struct Categorical {
    values: Vec<Value>,
    /// `from = "column"`: the values are the column's own.
    from_column: bool,
}

impl Kernel for Categorical {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        if self.values.is_empty() {
            return Err(TransformError::bad_input(
                "categorical",
                input,
                "the column has no values to pick from",
            ));
        }
        Ok(rng.pick(&self.values).clone())
    }
    fn key_map_reason(&self) -> Option<&'static str> {
        self.from_column
            .then_some("it picks from each column's own values (from = \"column\")")
    }
}

pub(crate) fn build_categorical(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    build_categorical_with(o, column, None)
}

pub(crate) fn build_categorical_with(
    o: &mut Opts,
    column: &Column,
    distinct: Option<&[Value]>,
) -> Result<Box<dyn Kernel>, TransformError> {
    let from = o.choice("from", &["values", "column"], "values")?;
    let mut values = Vec::new();
    if from == "column" {
        let Some(distinct) = distinct else {
            return Err(o.bad(
                "from",
                "\"column\" needs the column's distinct values (the integration passes them to build_with)",
            ));
        };
        values = distinct.iter().filter(|v| !v.is_null()).cloned().collect();
        // Sorted so the pick does not depend on the order the source returned them in.
        values.sort_by_key(|v| v.display());
        values.dedup();
    } else {
        let Some(raw) = o.value("values") else {
            return Err(o.bad(
                "values",
                "required: the list to pick from, e.g. values = [\"red\", \"green\"]",
            ));
        };
        let toml::Value::Array(items) = raw else {
            return Err(o.bad("values", "expected an array"));
        };
        if items.is_empty() {
            return Err(o.bad("values", "the list is empty"));
        }
        for item in &items {
            let v = coerce(toml_to_value(item, o)?, &column.normalized_type)?;
            crate::fit::Fit::of(column)
                .check(&v)
                .map_err(|e| o.bad("values", e.to_string()))?;
            values.push(v);
        }
    }
    Ok(Box::new(Categorical {
        values,
        from_column: from == "column",
    }))
}
