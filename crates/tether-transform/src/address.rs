//! Places and organisations: street addresses, cities, US states, postcodes, countries,
//! company names and IP addresses.

use std::fmt::Write;

use tether_schema::{Column, Value};

use crate::error::TransformError;
use crate::kernel::{require_text, Kernel};
use crate::keyed::Rng;
use crate::options::Opts;
use crate::words::{
    CITIES, COMPANY_NOUNS, COMPANY_SUFFIXES, COMPANY_WORDS, COUNTRIES, LAST_NAMES, STATES, STREETS, STREET_SUFFIXES,
};

struct Street;

impl Kernel for Street {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut s = String::with_capacity(32);
        let _ = write!(
            s,
            "{} {} {}",
            1 + rng.below(9999),
            rng.word(STREETS),
            rng.word(STREET_SUFFIXES)
        );
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_street(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    Ok(Box::new(Street))
}

struct Pick {
    items: Vec<&'static str>,
}

impl Kernel for Pick {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        Ok(Value::Text(rng.pick(&self.items).to_string()))
    }
}

pub(crate) fn build_city(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    Ok(Box::new(Pick { items: CITIES.to_vec() }))
}

/// The default for `abbr`/`code`: short codes when the column cannot hold names.
fn short_by_default(column: &Column, limit: u32) -> bool {
    column.normalized_type.max_chars().is_some_and(|n| n <= limit)
}

pub(crate) fn build_state(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let abbr = o.bool("abbr", short_by_default(column, 3))?;
    let items = STATES
        .iter()
        .map(|(name, code)| if abbr { *code } else { *name })
        .collect();
    Ok(Box::new(Pick { items }))
}

pub(crate) fn build_country(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let code = o.bool("code", short_by_default(column, 3))?;
    let items = COUNTRIES
        .iter()
        .map(|(name, c)| if code { *c } else { *name })
        .collect();
    Ok(Box::new(Pick { items }))
}

#[derive(Clone, Copy)]
enum ZipFormat {
    Us,
    UsPlus4,
    Uk,
    Digits(u32),
}

struct Zip(ZipFormat);

impl Kernel for Zip {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut s = String::with_capacity(10);
        match self.0 {
            ZipFormat::Us => {
                let _ = write!(s, "{:05}", 501 + rng.below(99_000));
            }
            ZipFormat::UsPlus4 => {
                let _ = write!(s, "{:05}-{:04}", 501 + rng.below(99_000), rng.below(10_000));
            }
            ZipFormat::Uk => {
                const AREAS: &[&str] = &[
                    "AB", "B", "BS", "CF", "E", "EH", "G", "L", "LS", "M", "N", "NW", "SE", "SW",
                ];
                const LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
                let _ = write!(s, "{}{} {}", rng.word(AREAS), 1 + rng.below(20), rng.below(10));
                s.push(*rng.pick(LETTERS) as char);
                s.push(*rng.pick(LETTERS) as char);
            }
            ZipFormat::Digits(n) => {
                for _ in 0..n {
                    s.push(rng.digit());
                }
            }
        }
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_zip(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let format = o.choice("format", &["us", "us_plus4", "uk", "digits"], "us")?;
    let format = match format.as_str() {
        "us_plus4" => ZipFormat::UsPlus4,
        "uk" => ZipFormat::Uk,
        "digits" => {
            let n = o.int_or("length", 5)?;
            if !(1..=12).contains(&n) {
                return Err(o.bad("length", "must be 1 to 12"));
            }
            ZipFormat::Digits(n as u32)
        }
        _ => ZipFormat::Us,
    };
    Ok(Box::new(Zip(format)))
}

struct Company;

impl Kernel for Company {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let s = if rng.below(2) == 0 {
            format!(
                "{} {} {}",
                rng.word(LAST_NAMES),
                rng.word(COMPANY_NOUNS),
                rng.word(COMPANY_SUFFIXES)
            )
        } else {
            format!(
                "{} {} {}",
                rng.word(COMPANY_WORDS),
                rng.word(COMPANY_NOUNS),
                rng.word(COMPANY_SUFFIXES)
            )
        };
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_company(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    Ok(Box::new(Company))
}

struct Ip {
    v6: bool,
}

impl Kernel for Ip {
    fn produce(&self, _input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let mut s = String::with_capacity(40);
        if self.v6 {
            // Inside 2001:db8::/32, the documentation prefix.
            s.push_str("2001:db8");
            for _ in 0..6 {
                let _ = write!(s, ":{:x}", rng.below(0x10000));
            }
        } else {
            // A public-looking unicast address: no 0/8, 10/8, 127/8, 169.254/16, 172.16/12,
            // 192.168/16 or multicast and above.
            let first = loop {
                let f = 1 + rng.below(223);
                if !matches!(f, 10 | 127 | 169 | 172 | 192) {
                    break f;
                }
            };
            let _ = write!(
                s,
                "{first}.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            );
        }
        Ok(Value::Text(s))
    }
}

pub(crate) fn build_ip(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    require_text(o, column)?;
    let version = o.int_or("version", 4)?;
    if version != 4 && version != 6 {
        return Err(o.bad("version", "must be 4 or 6"));
    }
    Ok(Box::new(Ip { v6: version == 6 }))
}
