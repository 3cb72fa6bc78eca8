//! Column defaults said in another engine's SQL: literals, booleans, the current date
//! and time. A literal is also a value of the column's type there, or the default is
//! left out with the reason: MariaDB's zero date `'0000-00-00'` is no PostgreSQL date,
//! PostgreSQL's `'infinity'` no MariaDB datetime, a number past a MariaDB decimal's
//! digits no default there (each would fail the CREATE TABLE of the whole table).

use super::*;

/// A default in the source engine's SQL, said in the destination's, when both mean the
/// same: literals, booleans, the current date and time. `None`: no translation.
pub fn translate_default(expr: &str, ty: &DataType, dest: Engine) -> Option<String> {
    translate(expr, ty, dest).ok()
}

/// [`translate_default`], or why not: `Err(Some(reason))` for a literal that is no value
/// of the column's type on `dest`, `Err(None)` for SQL with no known equivalent.
pub(super) fn translate(expr: &str, ty: &DataType, dest: Engine) -> Result<String, Option<String>> {
    let d: &dyn Dialect = tether_connect::dialect_of(dest);
    let e = expr.trim();
    let lower = e.to_ascii_lowercase();
    // The current date and time, and the time of day, in either engine's spelling (with
    // or without a fractional-second precision): said there by the column's type, so a
    // DATE gets today and a TIME the time of day, not a timestamp's text.
    let now = [
        "now",
        "current_timestamp",
        "transaction_timestamp",
        "localtimestamp",
        "statement_timestamp",
        "curtime",
        "current_time",
        "localtime",
    ];
    let mut base = lower.split("::").next().unwrap_or(&lower).trim();
    while let Some(inner) = base.strip_prefix('(').and_then(|b| b.strip_suffix(')')) {
        base = inner.trim();
    }
    let function = base.split_once('(').map_or(base, |(name, args)| {
        let args = args.strip_suffix(')').unwrap_or("x").trim();
        match args.bytes().all(|b| b.is_ascii_digit()) {
            true => name.trim(),
            false => base,
        }
    });
    if now.contains(&function) {
        // Into a date or time type by that type; into text (`varchar DEFAULT now()`) as
        // the timestamp, as before. Not into another type (a PostgreSQL `timetz`, text
        // elsewhere, would get a date in a time-of-day column), nor a time of day into
        // text (the timestamp's text is no time of day).
        let time_of_day = matches!(function, "curtime" | "current_time" | "localtime");
        return match ty {
            DataType::Date | DataType::Time | DataType::Timestamp { .. } => Ok(d.now_default(ty)),
            DataType::Text | DataType::Varchar { .. } | DataType::Char { .. } if !time_of_day => Ok(d.now_default(ty)),
            _ => Err(Some(format!(
                "`{e}` is the current {}, which no default there writes into a column of the source's type {ty}",
                if time_of_day { "time of day" } else { "time" }
            ))),
        };
    }
    if base == "current_date" || base == "curdate()" {
        return Ok(d.today_default());
    }
    if base == "true" || base == "false" {
        return Ok(d.literal(&tether_connect::Value::Bool(base == "true")));
    }
    // A bit literal of a MariaDB `bit(n)` column, b'101': the number elsewhere.
    if let (DataType::Bits { .. }, Some(bits)) = (ty, base.strip_prefix("b'").and_then(|b| b.strip_suffix('\''))) {
        return u64::from_str_radix(bits, 2).map(|n| n.to_string()).map_err(|_| None);
    }
    // A quoted literal, with or without a PostgreSQL cast: 'abc'::text.
    if let Some(rest) = e.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    value.push('\'');
                    continue;
                }
                let tail: String = chars.collect();
                if !(tail.is_empty() || tail.starts_with("::")) {
                    return Err(None);
                }
                if *ty == DataType::Boolean {
                    return match value.as_str() {
                        "t" | "true" | "1" => Ok(d.literal(&tether_connect::Value::Bool(true))),
                        "f" | "false" | "0" => Ok(d.literal(&tether_connect::Value::Bool(false))),
                        _ => Err(None),
                    };
                }
                let value = fit_literal(&value, ty, dest).map_err(Some)?;
                return Ok(d.literal(&tether_connect::Value::Text(value)));
            }
            // A backslash escapes on MariaDB and is itself on PostgreSQL: such
            // literals are left out rather than guessed.
            if ch == '\\' {
                return Err(None);
            }
            value.push(ch);
        }
        return Err(None);
    }
    let number = base.trim_start_matches('-');
    if !number.is_empty() && number.parse::<f64>().is_ok() && !number.contains(['e', 'E', 'n', 'N', 'i', 'I']) {
        if *ty == DataType::Boolean {
            return Ok(d.literal(&tether_connect::Value::Bool(number != "0")));
        }
        if let Some(why) = number_unfit(base, ty, dest) {
            return Err(Some(why));
        }
        return Ok(base.to_string());
    }
    Err(None)
}

/// The text of quoted literal `value` as a value of a `ty` column on `dest` (a time
/// zone offset of UTC dropped where the column keeps none), or why it is none there.
fn fit_literal(value: &str, ty: &DataType, dest: Engine) -> Result<String, String> {
    let quoted = format!("'{value}'");
    let there = |what: &str| format!("{quoted} is no {what} value on {}", dest.name());
    match ty {
        DataType::Date | DataType::Timestamp { .. } | DataType::Time => {
            let Some(t) = Temporal::parse(value) else {
                return match dest {
                    Engine::Sqlite => Ok(value.to_string()),
                    _ => Err(there(&ty.to_string())),
                };
            };
            // PostgreSQL's `timestamptz` text ends in the session's offset (UTC for
            // Tether): the instant in UTC is what the other engines keep.
            let value = match (dest, ty, t.offset.as_deref()) {
                (Engine::Postgres, _, _) => value.to_string(),
                (_, DataType::Timestamp { tz: true }, Some("+00" | "+00:00" | "-00" | "Z")) => t.without_offset(),
                (Engine::Sqlite, _, _) => return Ok(value.to_string()),
                (_, _, Some(_)) => return Err(there(&format!("{ty} (without a time zone offset)"))),
                _ => value.to_string(),
            };
            if dest == Engine::Sqlite {
                return Ok(value);
            }
            t.refusal(ty, dest)
                .map_or(Ok(value), |why| Err(format!("{quoted} {why}")))
        }
        DataType::Int { .. } | DataType::Decimal { .. } | DataType::Float { .. } => {
            let number = value.trim();
            let finite = number.parse::<f64>().is_ok_and(f64::is_finite);
            if !finite && dest != Engine::Postgres {
                return Err(there("number"));
            }
            match number_unfit(number, ty, dest) {
                Some(why) => Err(why),
                None => Ok(value.to_string()),
            }
        }
        _ => Ok(value.to_string()),
    }
}

/// Why number `text` is no default of a `ty` column on `dest`: more digits before the
/// point than the decimal MariaDB/MySQL creates for it holds (its 1067).
fn number_unfit(text: &str, ty: &DataType, dest: Engine) -> Option<String> {
    let DataType::Decimal { precision, scale } = ty else {
        return None;
    };
    if dest != Engine::Mysql {
        return None;
    }
    let (p, s) = match precision {
        Some(p) => ((*p).min(65), scale.unwrap_or(0).min(30)),
        None => (65, 30),
    };
    let value = text.trim().parse::<f64>().ok()?.abs();
    // Digits before the point (1 for 0.5; none counted below 1).
    let digits = if value < 1.0 {
        0
    } else {
        value.log10().floor() as u32 + 1
    };
    (digits > p - s).then(|| {
        format!(
            "{text} has {digits} digits before the point; the decimal({p},{s}) column mysql gets holds {}",
            p - s
        )
    })
}

/// A date, time or timestamp as the engines print them: `2024-01-31`, `10:00:00.5`,
/// `2024-01-31 10:00:00+00`, `-838:59:59` (MariaDB), `0044-03-15 BC`, `infinity`.
struct Temporal {
    /// (year, month, day), when there is a date part.
    date: Option<(u32, u32, u32)>,
    /// (negative, hours, minutes, seconds), when there is a time part.
    time: Option<(bool, u32, u32, u32)>,
    /// The text before the offset, and the offset (`+00`, `+05:30`).
    plain: String,
    offset: Option<String>,
    bc: bool,
    /// `infinity`, `-infinity`, `epoch`, `now`..: PostgreSQL's special values.
    special: Option<String>,
}

impl Temporal {
    fn parse(text: &str) -> Option<Temporal> {
        let mut t = text.trim().to_string();
        let lower = t.to_ascii_lowercase();
        let specials = [
            "infinity",
            "+infinity",
            "-infinity",
            "epoch",
            "now",
            "today",
            "tomorrow",
            "yesterday",
            "allballs",
        ];
        if specials.contains(&lower.as_str()) {
            return Some(Temporal {
                date: None,
                time: None,
                plain: t,
                offset: None,
                bc: false,
                special: Some(lower),
            });
        }
        let bc = lower.ends_with(" bc");
        if bc {
            t.truncate(t.len() - 3);
        }
        let (date_part, time_part) = match t.split_once([' ', 'T']) {
            Some((a, b)) if a.contains('-') && !a.starts_with('-') => (Some(a), Some(b)),
            None if t.contains('-') && !t.starts_with('-') && !t.contains(':') => (Some(t.as_str()), None),
            None => (None, Some(t.as_str())),
            Some(_) => return None,
        };
        let num = |s: &str| -> Option<u32> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let date = match date_part {
            Some(d) => {
                let mut parts = d.split('-');
                let (y, m, dd) = (parts.next()?, parts.next()?, parts.next()?);
                if parts.next().is_some() {
                    return None;
                }
                Some((num(y)?, num(m)?, num(dd)?))
            }
            None => None,
        };
        let (mut time, mut offset, mut plain_time) = (None, None, String::new());
        if let Some(tp) = time_part {
            let (negative, body) = match tp.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, tp),
            };
            // The offset: a sign or `Z` after the seconds.
            let cut = body.find(['+', '-', 'Z']).unwrap_or(body.len());
            let (clock, off) = body.split_at(cut);
            if !off.is_empty() {
                offset = Some(off.to_string());
            }
            let mut parts = clock.split(':');
            let (h, m) = (parts.next()?, parts.next()?);
            let sec = parts.next().unwrap_or("0");
            if parts.next().is_some() {
                return None;
            }
            let whole = sec.split('.').next().unwrap_or("");
            if let Some(frac) = sec.split_once('.').map(|(_, f)| f) {
                num(frac)?;
            }
            time = Some((negative, num(h)?, num(m)?, num(whole)?));
            plain_time = format!("{}{clock}", if negative { "-" } else { "" });
        }
        let plain = match (date_part, time_part) {
            (Some(d), Some(_)) => format!("{d} {plain_time}"),
            (Some(d), None) => d.to_string(),
            _ => plain_time,
        };
        Some(Temporal {
            date,
            time,
            plain,
            offset,
            bc,
            special: None,
        })
    }

    /// The text without its offset (and the `T` between date and time a space).
    fn without_offset(&self) -> String {
        match self.bc {
            true => format!("{} BC", self.plain),
            false => self.plain.clone(),
        }
    }

    /// Why this is no value of a `ty` column on `dest` (PostgreSQL or MariaDB/MySQL).
    fn refusal(&self, ty: &DataType, dest: Engine) -> Option<String> {
        let on = dest.name();
        if let Some(s) = &self.special {
            return match dest {
                Engine::Postgres => None,
                _ => Some(format!(
                    "is PostgreSQL's special value {s}, which {on} has no equivalent of"
                )),
            };
        }
        if let Some((y, m, d)) = self.date {
            if (y, m, d) == (0, 0, 0) {
                return (dest != Engine::Mysql).then(|| format!("is MariaDB's zero date, which is no date on {on}"));
            }
            if m == 0 || d == 0 {
                return (dest != Engine::Mysql)
                    .then(|| format!("has a zero month or day (MariaDB takes it), which is no date on {on}"));
            }
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            if m > 12 || d > days[(m - 1) as usize] {
                return Some(format!("is no date on {on}"));
            }
            match dest {
                Engine::Postgres if y == 0 => return Some(format!("has year 0, which is no year on {on}")),
                Engine::Mysql if self.bc => return Some(format!("is before the year 1, which {on} has no dates for")),
                Engine::Mysql if y > 9999 => return Some(format!("is after the year 9999, the last {on} has")),
                _ => {}
            }
        }
        if let Some((negative, h, m, s)) = self.time {
            let clock_ok = m < 60 && s < 60;
            let fits = match (dest, ty) {
                // MariaDB's TIME: an interval of up to 838 hours, either sign.
                (Engine::Mysql, DataType::Time) => h <= 838,
                (_, DataType::Time) => !negative && (h < 24 || (h, m, s) == (24, 0, 0)),
                _ => !negative && h < 24,
            };
            if !(clock_ok && fits) {
                return Some(format!("is no time of day on {on}"));
            }
        }
        if self.date.is_none() && *ty != DataType::Time {
            return Some(format!("has no date, which a {ty} column on {on} needs"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(tz: bool) -> DataType {
        DataType::Timestamp { tz }
    }

    #[test]
    fn a_zero_date_default_is_no_postgres_default_with_its_reason() {
        let zero = "'0000-00-00 00:00:00'";
        assert_eq!(
            translate(zero, &ts(false), Engine::Postgres),
            Err(Some(
                "'0000-00-00 00:00:00' is MariaDB's zero date, which is no date on postgres".into()
            ))
        );
        assert_eq!(
            translate("'2024-00-00'", &DataType::Date, Engine::Postgres),
            Err(Some(
                "'2024-00-00' has a zero month or day (MariaDB takes it), which is no date on postgres".into()
            ))
        );
        assert_eq!(
            translate("'2024-05-01 10:00:00'", &ts(false), Engine::Postgres).as_deref(),
            Ok("'2024-05-01 10:00:00'")
        );
        assert_eq!(translate(zero, &ts(false), Engine::Mysql).as_deref(), Ok(zero));
    }

    #[test]
    fn postgres_specials_offsets_and_eras_are_said_or_left_out_for_mariadb() {
        assert_eq!(
            translate("'infinity'::timestamp with time zone", &ts(true), Engine::Mysql),
            Err(Some(
                "'infinity' is PostgreSQL's special value infinity, which mysql has no equivalent of".into()
            ))
        );
        assert_eq!(
            translate(
                "'2024-01-01 10:00:00+00'::timestamp with time zone",
                &ts(true),
                Engine::Mysql
            )
            .as_deref(),
            Ok("'2024-01-01 10:00:00'")
        );
        assert_eq!(
            translate("'0044-03-15 BC'::date", &DataType::Date, Engine::Mysql),
            Err(Some(
                "'0044-03-15 BC' is before the year 1, which mysql has no dates for".into()
            ))
        );
        assert_eq!(
            translate("'NaN'::double precision", &DataType::Float { bytes: 8 }, Engine::Mysql),
            Err(Some("'NaN' is no number value on mysql".into()))
        );
        let unbounded = DataType::Decimal {
            precision: None,
            scale: None,
        };
        assert!(translate(&format!("'1{}'::numeric", "0".repeat(40)), &unbounded, Engine::Mysql).is_err());
        assert_eq!(
            translate("'12.5'::numeric", &unbounded, Engine::Mysql).as_deref(),
            Ok("'12.5'")
        );
        assert_eq!(
            translate("'-838:59:59.000000'", &DataType::Time, Engine::Postgres),
            Err(Some("'-838:59:59.000000' is no time of day on postgres".into()))
        );
        assert_eq!(
            translate("'10:00:00'::time without time zone", &DataType::Time, Engine::Mysql).as_deref(),
            Ok("'10:00:00'")
        );
    }
}
