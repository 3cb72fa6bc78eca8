//! `date_shift`: dates and timestamps moved by a keyed offset of at most `max_days`.
//!
//! Without `keep_order`, each value moves by its own keyed offset in
//! `[-max_days, -1] ∪ [1, max_days]` days (time of day and any fraction or zone suffix
//! kept). With `keep_order = true` the shift is a non-decreasing function of the value:
//! offsets are keyed at knots `4 * max_days` apart (all of one keyed sign, magnitude 1
//! to `max_days`) and interpolated linearly in between, in days for dates and seconds
//! for timestamps. Guarantees: `a < b` implies `shift(a) <= shift(b)` (values one day,
//! or one second, apart can become equal; order is never inverted), no value maps to
//! itself, and no value moves by more than `max_days`.

use tether_schema::{Column, DataType, Value};

use crate::error::TransformError;
use crate::fit::is_date;
use crate::kernel::Kernel;
use crate::keyed::{Key, Rng};
use crate::options::Opts;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// A parsed `YYYY-MM-DD[ HH:MM:SS][rest]`.
struct Parsed<'a> {
    days: i64,
    /// Seconds into the day and the separator, when a time follows.
    time: Option<(i64, char)>,
    rest: &'a str,
}

fn parse(s: &str) -> Option<Parsed<'_>> {
    if !is_date(s) {
        return None;
    }
    let (y, m, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() >= 19
        && (b[10] == b' ' || b[10] == b'T')
        && b[13] == b':'
        && b[16] == b':'
        && digits(11..13)
        && digits(14..16)
        && digits(17..19)
    {
        let (h, mi, se) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
        return Some(Parsed {
            days,
            time: Some((h * 3600 + mi * 60 + se, b[10] as char)),
            rest: &s[19..],
        });
    }
    Some(Parsed {
        days,
        time: None,
        rest: &s[10..],
    })
}

/// Writes the date of `days`, if its year is `first_year` to 9999.
fn format_date(days: i64, first_year: i64, out: &mut String) -> bool {
    let (y, m, d) = civil_from_days(days);
    if !(first_year..=9999).contains(&y) {
        return false;
    }
    use std::fmt::Write;
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    true
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Day,
    Second,
}

struct DateShift {
    max_days: i64,
    keep_order: bool,
    /// `keep_order`: what the monotone offset is counted in, recorded from the column the
    /// spec was set on (days on a date, seconds on a timestamp), so a timestamp column
    /// referencing a date column moves its midnights to the date's new days; `None` on a
    /// text column (by each value's shape).
    unit: Option<Unit>,
    key: Option<Key>,
    sign: i64,
}

impl DateShift {
    /// The keyed offset at knot `k`, in units of `unit` seconds.
    fn knot(&self, key: &Key, k: i64, max_units: i64) -> i64 {
        self.sign * (1 + (key.hash_words(k as u64, max_units as u64) % max_units as u64) as i64)
    }

    /// The monotone offset at `x` (in units), `max_units` the largest offset.
    fn monotone_offset(&self, x: i64, max_units: i64) -> i64 {
        let Some(key) = &self.key else { return self.sign };
        let spacing = 4 * max_units;
        let k = x.div_euclid(spacing);
        let t = x.rem_euclid(spacing) as i128;
        let (a, b) = (
            self.knot(key, k, max_units) as i128,
            self.knot(key, k + 1, max_units) as i128,
        );
        ((a * (spacing as i128 - t) + b * t).div_euclid(spacing as i128)) as i64
    }
}

impl Kernel for DateShift {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError> {
        let Value::Text(s) = input else {
            return Err(TransformError::bad_input(
                "date_shift",
                input,
                "expected a date or timestamp",
            ));
        };
        // MySQL's zero dates carry no information: kept as they are.
        if s.starts_with("0000-00-00") {
            return Ok(input.clone());
        }
        let Some(p) = parse(s) else {
            return Err(TransformError::bad_input(
                "date_shift",
                input,
                "not a YYYY-MM-DD date or timestamp",
            ));
        };
        // Year 0 is no year to PostgreSQL (1 BC, written `0001-12-31 BC`) and outside
        // MariaDB's documented DATE range: a shift never leads into it. A value already
        // there (a MariaDB source holds it) may stay there.
        let first_year = if s.starts_with("0000") { 0 } else { 1 };
        let mut out = String::with_capacity(s.len());
        let ok = match (self.keep_order, p.time) {
            (true, Some((secs, sep))) if self.unit == Some(Unit::Day) => {
                let ok = format_date(
                    p.days + self.monotone_offset(p.days, self.max_days),
                    first_year,
                    &mut out,
                );
                use std::fmt::Write;
                let _ = write!(out, "{sep}{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
                ok
            }
            (true, Some((secs, sep))) => {
                let max_units = self.max_days * 86_400;
                let x = p.days * 86_400 + secs;
                let y = x + self.monotone_offset(x, max_units);
                let ok = format_date(y.div_euclid(86_400), first_year, &mut out);
                let t = y.rem_euclid(86_400);
                use std::fmt::Write;
                let _ = write!(out, "{sep}{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
                ok
            }
            (true, None) => format_date(
                p.days + self.monotone_offset(p.days, self.max_days),
                first_year,
                &mut out,
            ),
            (false, time) => {
                let magnitude = 1 + rng.below(self.max_days as u64) as i64;
                let offset = if rng.below(2) == 0 { magnitude } else { -magnitude };
                let ok = format_date(p.days + offset, first_year, &mut out);
                if let Some((secs, sep)) = time {
                    use std::fmt::Write;
                    let _ = write!(out, "{sep}{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
                }
                ok
            }
        };
        if !ok {
            return Err(TransformError::bad_input(
                "date_shift",
                input,
                "the shifted date leaves years 0001-9999 (year 0 is no year to PostgreSQL)",
            ));
        }
        out.push_str(p.rest);
        Ok(Value::Text(out))
    }
    fn reroll_on_identity(&self) -> bool {
        false
    }
    fn set_key(&mut self, key: Key) {
        self.sign = if key.hash_words(u64::MAX, 0) & 1 == 0 { 1 } else { -1 };
        self.key = Some(key);
    }
}

pub(crate) fn build_date_shift(o: &mut Opts, column: &Column) -> Result<Box<dyn Kernel>, TransformError> {
    match &column.normalized_type {
        DataType::Date | DataType::Timestamp { .. } => {}
        t if t.is_text() || matches!(t, DataType::Other(_)) => {}
        t => {
            return Err(TransformError::not_for_type(
                o.kind,
                t,
                "use it on date, timestamp or text columns",
            ))
        }
    }
    let max_days = o.int_or("max_days", 30)?;
    if !(1..=36_500).contains(&max_days) {
        return Err(o.bad("max_days", "must be 1 to 36500"));
    }
    let keep_order = o.bool("keep_order", false)?;
    let mut unit = None;
    if keep_order {
        let default = match &column.normalized_type {
            DataType::Date => Some("day"),
            DataType::Timestamp { .. } => Some("second"),
            _ => None,
        };
        if let Some(default) = default {
            unit = Some(match o.choice("unit", &["day", "second"], default)?.as_str() {
                "day" => Unit::Day,
                _ if column.normalized_type == DataType::Date => {
                    return Err(o.bad(
                        "unit",
                        "a date column moves by whole days: `second` (the unit of a timestamp column's \
                         order-keeping shift) cannot be kept on it",
                    ))
                }
                _ => Unit::Second,
            });
        }
    }
    Ok(Box::new(DateShift {
        max_days,
        keep_order,
        unit,
        key: None,
        sign: 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_text_is_refused_not_panicked_on() {
        for s in [
            "2024-01-01 12:34:5é",
            "2024-01-01 1é:34:56",
            "2024-13-01",
            "2024-01-01T12:34:56Z",
        ] {
            let _ = parse(s);
        }
        assert_eq!(parse("2024-01-01T12:34:56Z").map(|p| p.rest), Some("Z"));
        assert!(parse("2024-13-01").is_none());
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 19_753, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2024, 1, 31), 19_753);
    }
}
