//! People: names, email addresses, usernames, phone numbers, national ids (SSN format)
//! and credit card numbers (Luhn-valid), drawn from the embedded lists.

use std::fmt::Write;

use tether_schema::{Column, Value};

use crate::error::TransformError;
use crate::kernel::{require_text, Kernel};
use crate::keyed::Rng;
use crate::options::Opts;
use crate::words::{EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES};

fn text_of(v: &Value) -> Option<&str> {
    match v {
        Value::Text(s) => Some(s),
        _ => None,
    }
}

/// Eight base-36 characters: with the name parts, collisions become negligible.
fn token(rng: &mut Rng, out: &mut String) {
    const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    for _ in 0..8 {
        out.push(ALNUM[rng.below(36) as usize] as char);
    }
}

fn push_lower(out: &mut String, s: &str) {
    for c in s.chars() {
        out.push(c.to_ascii_lowercase());
    }
}

struct Email {
    keep_domain: bool,
    domain: Option<String>,
    unique: bool,
}

impl Kernel for Email {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut s = String::with_capacity(40);
        push_lower(&mut s, rng.word(FIRST_NAMES));
        s.push('.');
        push_lower(&mut s, rng.word(LAST_NAMES));
        if self.unique {
            s.push('.');
            token(rng, &mut s);
        } else {
            let _ = write!(s, "{}", rng.below(10_000));
        }
        s.push('@');
        let kept = if self.keep_domain {
            text_of(input).and_then(|t| t.rsplit_once('@')).map(|(_, d)| d)
        } else {
            None
        };
        match (kept, &self.domain) {
            (Some(d), _) => s.push_str(d),
            (None, Some(d)) => s.push_str(d),
            (None, None) => s.push_str(rng.word(EMAIL_DOMAINS)),
        }
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_email(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let keep_domain = o.bool("keep_domain", false)?;
    let domain = o.string("domain")?;
    let unique = o.bool("unique", false)?;
    if keep_domain && domain.is_some() {
        return Err(o.bad("domain", "cannot be combined with keep_domain = true"));
    }
    Ok(Box::new(Email {
        keep_domain,
        domain,
        unique,
    }))
}

#[derive(Clone, Copy)]
enum NamePart {
    First,
    Last,
    Full,
}

struct Name(NamePart);

impl Kernel for Name {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        Ok(Value::Text(match self.0 {
            NamePart::First => rng.word(FIRST_NAMES).to_string(),
            NamePart::Last => rng.word(LAST_NAMES).to_string(),
            NamePart::Full => {
                let first = rng.word(FIRST_NAMES);
                let last = rng.word(LAST_NAMES);
                let mut s = String::with_capacity(first.len() + last.len() + 1);
                s.push_str(first);
                s.push(' ');
                s.push_str(last);
                s
            }
        }))
    }
}

pub(crate) fn build_first_name(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    Ok(Box::new(Name(NamePart::First)))
}

pub(crate) fn build_last_name(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    Ok(Box::new(Name(NamePart::Last)))
}

pub(crate) fn build_full_name(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    Ok(Box::new(Name(NamePart::Full)))
}

struct Username {
    unique: bool,
}

impl Kernel for Username {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut s = String::with_capacity(24);
        let first = rng.word(FIRST_NAMES);
        match rng.below(3) {
            0 => push_lower(&mut s, first),
            1 => push_lower(&mut s, &first[..1]),
            _ => {
                push_lower(&mut s, first);
                s.push('_');
            }
        }
        push_lower(&mut s, rng.word(LAST_NAMES));
        if self.unique {
            s.push('_');
            token(rng, &mut s);
        } else {
            let _ = write!(s, "{}", rng.below(1000));
        }
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_username(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let unique = o.bool("unique", false)?;
    Ok(Box::new(Username { unique }))
}

struct Phone {
    format: PhoneFormat,
    country_code: u32,
}

#[derive(PartialEq)]
enum PhoneFormat {
    E164,
    National,
    Digits,
    Keep,
}

impl Kernel for Phone {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        if self.format == PhoneFormat::Keep {
            let Some(t) = text_of(input) else {
                return Err(TransformError::bad_input(
                    "phone",
                    input,
                    "format = \"keep\" needs a text value",
                ));
            };
            // Every digit replaced; a leading `+` and the country code right after it kept.
            let keep = if t.starts_with('+') {
                1 + self.country_code.to_string().len()
            } else {
                0
            };
            let mut s = String::with_capacity(t.len());
            for (i, c) in t.chars().enumerate() {
                s.push(if i >= keep && c.is_ascii_digit() {
                    rng.digit()
                } else {
                    c
                });
            }
            return Ok(Value::Text(s));
        }
        // A NANP-shaped number: area and exchange never start with 0 or 1.
        let area = 200 + rng.below(800);
        let exchange = 200 + rng.below(800);
        let line = rng.below(10_000);
        let s = match self.format {
            PhoneFormat::E164 => format!("+{}{area}{exchange}{line:04}", self.country_code),
            PhoneFormat::Digits => format!("{area}{exchange}{line:04}"),
            _ if self.country_code == 1 => format!("({area}) {exchange}-{line:04}"),
            _ => format!("0{area} {exchange} {line:04}"),
        };
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_phone(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let format = match o
        .choice("format", &["e164", "national", "digits", "keep"], "e164")?
        .as_str()
    {
        "national" => PhoneFormat::National,
        "digits" => PhoneFormat::Digits,
        "keep" => PhoneFormat::Keep,
        _ => PhoneFormat::E164,
    };
    let cc = o.int_or("country_code", 1)?;
    if !(1..=999).contains(&cc) {
        return Err(o.bad("country_code", "must be 1 to 999 (ITU calling code, e.g. 44)"));
    }
    Ok(Box::new(Phone {
        format,
        country_code: cc as u32,
    }))
}

struct Ssn {
    dashes: bool,
}

impl Kernel for Ssn {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        // Area 001-899 except 666, group 01-99, serial 0001-9999: the valid SSN shapes.
        let mut area = 1 + rng.below(898);
        if area == 666 {
            area = 667;
        }
        let group = 1 + rng.below(99);
        let serial = 1 + rng.below(9999);
        Ok(Value::Text(if self.dashes {
            format!("{area:03}-{group:02}-{serial:04}")
        } else {
            format!("{area:03}{group:02}{serial:04}")
        }))
    }
}

pub(crate) fn build_ssn(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let dashes = o.bool("dashes", true)?;
    Ok(Box::new(Ssn { dashes }))
}

#[derive(Clone, Copy, PartialEq)]
enum Brand {
    Keep,
    Visa,
    Mastercard,
    Amex,
}

struct CreditCard {
    brand: Brand,
    separator: Option<char>,
    keep_separator: bool,
}

/// The Luhn check digit for `digits` (without the check digit).
pub(crate) fn luhn_digit(digits: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = *d as u32;
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    ((10 - sum % 10) % 10) as u8
}

impl Kernel for CreditCard {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let text = text_of(input).unwrap_or("");
        let brand = match self.brand {
            Brand::Keep => match text.trim_start().as_bytes().first() {
                Some(b'3') => Brand::Amex,
                Some(b'5' | b'2') => Brand::Mastercard,
                _ => Brand::Visa,
            },
            b => b,
        };
        let (mut digits, len): (Vec<u8>, usize) = match brand {
            Brand::Amex => (vec![3, if rng.below(2) == 0 { 4 } else { 7 }], 15),
            Brand::Mastercard => (vec![5, 1 + rng.below(5) as u8], 16),
            _ => (vec![4], 16),
        };
        while digits.len() < len - 1 {
            digits.push(rng.below(10) as u8);
        }
        digits.push(luhn_digit(&digits));
        let sep = if self.keep_separator {
            text.chars().find(|c| !c.is_ascii_digit())
        } else {
            self.separator
        };
        let groups: &[usize] = if len == 15 { &[4, 6, 5] } else { &[4, 4, 4, 4] };
        let mut s = String::with_capacity(20);
        let mut at = 0;
        for (gi, g) in groups.iter().enumerate() {
            if gi > 0 {
                if let Some(c) = sep {
                    s.push(c);
                }
            }
            for d in &digits[at..at + g] {
                s.push((b'0' + d) as char);
            }
            at += g;
        }
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_credit_card(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let brand = match o
        .choice("brand", &["keep", "visa", "mastercard", "amex"], "keep")?
        .as_str()
    {
        "visa" => Brand::Visa,
        "mastercard" => Brand::Mastercard,
        "amex" => Brand::Amex,
        _ => Brand::Keep,
    };
    let sep = o.choice("separator", &["keep", "none", "space", "dash"], "keep")?;
    let (separator, keep_separator) = match sep.as_str() {
        "space" => (Some(' '), false),
        "dash" => (Some('-'), false),
        "none" => (None, false),
        _ => (None, true),
    };
    Ok(Box::new(CreditCard {
        brand,
        separator,
        keep_separator,
    }))
}
