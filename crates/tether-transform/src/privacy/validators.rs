//! Checks a sampled value against the shape of one kind of personal data: email
//! syntax, phone numbers (E.164 and national forms), payment cards (Luhn), IBANs
//! (mod-97 checksum), IP addresses, US social security numbers. Each is strict enough
//! that a column of product codes or amounts does not pass by chance.

/// `local@domain.tld`: one `@`, a non-empty local part without spaces, a domain of
/// at least two labels of letters, digits and hyphens, a letter-only TLD.
pub fn email(v: &str) -> bool {
    let v = v.trim();
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.contains('@') || v.chars().any(char::is_whitespace) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Whether `text` contains an email address among its words.
pub fn contains_email(text: &str) -> bool {
    // Also the brackets, quotes and `=` of arrays, JSON and `key=value` lists.
    text.split(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                ',' | ';' | '<' | '>' | '(' | ')' | '"' | '\'' | '=' | '{' | '}' | '[' | ']' | '|'
            )
    })
    .any(|w| email(w.trim_end_matches(['.', ':'])))
}

/// A phone number: E.164 (`+` and 8 to 15 digits) or a national form of 7 to 15
/// digits with the usual separators (spaces, `-`, `.`, `/`, parentheses), no letters.
/// A bare run of digits counts only from 10 digits on (shorter runs are ids and
/// amounts far more often than phone numbers).
pub fn phone(v: &str) -> bool {
    let v = v.trim();
    if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit() || " -./()+".contains(c)) || isbn(v) {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    if let Some(rest) = v.strip_prefix('+') {
        return !rest.contains('+') && (8..=15).contains(&digits);
    }
    if v.contains('+') {
        return false;
    }
    // Without `+` (or `00`) a number is written in its national form: a trunk `0`
    // first, or at most 11 digits (NANP's `1` and 10, China's 11; countries without a
    // trunk prefix have fewer). Longer runs are serials, ISBNs and order numbers.
    let national = v.trim_start_matches('(').starts_with('0');
    if !national && digits > 11 {
        return false;
    }
    let separated = v.chars().any(|c| " -./()".contains(c));
    if separated {
        // Dates (2024-01-31, 31.01.2024) and decimals are not phone numbers.
        let groups: Vec<&str> = v
            .split(|c: char| !c.is_ascii_digit())
            .filter(|g| !g.is_empty())
            .collect();
        let looks_like_date = groups.len() == 3 && groups.iter().any(|g| g.len() == 4) && digits == 8;
        // Four or more parts joined by dots only are a version (`10.0.19041.1001`);
        // a last group of one digit is a check digit (`978-3-16-148410-0`): no phone
        // format ends in one.
        let version = groups.len() >= 4 && v.chars().all(|c| c.is_ascii_digit() || c == '.');
        let check_digit = groups.len() >= 2 && groups.last().is_some_and(|g| g.len() == 1);
        // Without a trunk `0`, the last group of a long number has 4 digits (NANP,
        // China) or 5 (India); 6 or more is a counter after a prefix (`2024-000013`).
        let counter = !national && digits >= 10 && groups.last().is_some_and(|g| g.len() >= 6);
        (7..=15).contains(&digits) && !looks_like_date && !version && !check_digit && !counter && !v.contains("..")
    } else {
        (10..=15).contains(&digits)
    }
}

/// Whether `text` contains something shaped like a phone number (a run of digits and
/// separators with 10 to 15 digits, or `+` and 8 to 15).
pub fn contains_phone(text: &str) -> bool {
    // A run glued to letters (`INV2024000017`, `2024-0001abc`) is part of an identifier,
    // not a phone number; one after a letter and a separator (`Tel.030 1234567`,
    // `No.555-010-9999`) is not glued (review r22n F3).
    let mut run = String::new();
    let mut glued = false;
    let mut prev = ' ';
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || "+-.()/".contains(c) || (c == ' ' && !run.is_empty()) {
            if run.is_empty() {
                glued = prev.is_alphabetic() && (c.is_ascii_digit() || c == '+');
            }
            run.push(c);
        } else {
            let glued_after = c.is_alphabetic() && !run.ends_with(' ');
            if !run.is_empty() && !glued && !glued_after && check_run(&run) {
                return true;
            }
            run.clear();
        }
        prev = c;
    }
    !run.is_empty() && !glued && check_run(&run)
}

fn check_run(run: &str) -> bool {
    let run = run.trim_matches(|c: char| !c.is_ascii_digit() && c != '+' && c != '(');
    let digits = run.chars().filter(char::is_ascii_digit).count();
    digits >= 10 && phone(run)
}

/// A payment card number: 13 to 19 digits (spaces or hyphens between groups
/// allowed) passing the Luhn check, not all one digit, not 13 digits after 978/979
/// (the ISBN-13 prefix: no card network's range starts there, and a book number
/// passes Luhn one time in ten whatever its own check digit).
pub fn card(v: &str) -> bool {
    let v = v.trim();
    if !v.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') {
        return false;
    }
    let digits: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    let book = digits.len() == 13 && matches!(digits[..3], [9, 7, 8] | [9, 7, 9]);
    (13..=19).contains(&digits.len()) && !book && digits.iter().any(|d| *d != digits[0]) && luhn(&digits)
}

/// Whether `text` contains a Luhn-valid card number among its words or digit runs.
pub fn contains_card(text: &str) -> bool {
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('x')) {
        if c.is_ascii_digit() || ((c == ' ' || c == '-') && !run.is_empty()) {
            run.push(c);
        } else {
            if card(run.trim_end_matches([' ', '-'])) {
                return true;
            }
            run.clear();
        }
    }
    false
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// An IBAN: two letters, two check digits, 11 to 30 letters or digits (spaces
/// allowed between groups), passing the ISO 7064 mod-97 check.
pub fn iban(v: &str) -> bool {
    let compact: String = v
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = compact.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut rem: u32 = 0;
    for c in rearranged {
        let n = if c.is_ascii_digit() {
            c as u32 - '0' as u32
        } else {
            c as u32 - 'A' as u32 + 10
        };
        rem = if n >= 10 {
            (rem * 100 + n) % 97
        } else {
            (rem * 10 + n) % 97
        };
    }
    rem == 1
}

/// A bank account number: an IBAN, or 6 to 34 digits with spaces or hyphens between
/// groups (no letters: `AW00000001` is a customer number).
pub fn account(v: &str) -> bool {
    let v = v.trim();
    iban(v)
        || (v.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
            && (6..=34).contains(&v.chars().filter(char::is_ascii_digit).count()))
}

/// An ISBN-13 (978/979 and a valid check digit): book numbers are written like
/// phone numbers. (ISBN-10s are not told apart: one 10-digit phone number in eleven
/// passes their check.)
pub fn isbn(v: &str) -> bool {
    let d: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, n)| if i % 2 == 0 { *n } else { n * 3 })
        .sum();
    d.len() == 13 && (v.trim().starts_with("978") || v.trim().starts_with("979")) && sum.is_multiple_of(10)
}

/// An IPv4 or IPv6 address (not `0.0.0.0`, not a version string like `1.2.3`).
pub fn ip(v: &str) -> bool {
    match v.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => !a.is_unspecified(),
        Ok(std::net::IpAddr::V6(a)) => !a.is_unspecified(),
        Err(_) => false,
    }
}

/// A payment card's security code (CVV/CVC): 3 or 4 digits.
pub fn card_code(v: &str) -> bool {
    let v = v.trim();
    (3..=4).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())
}

/// An IPv4 address stored as a number (MySQL's `INET_ATON`): 1.0.0.0 to
/// 255.255.255.255, i.e. 16777216 to 4294967295.
pub fn ipv4_number(v: &str) -> bool {
    v.trim()
        .parse::<u64>()
        .is_ok_and(|n| (16_777_216..=4_294_967_295).contains(&n))
}

/// A MAC address written with separators: six (or EUI-64's eight) pairs of hex digits
/// joined by `:` or `-`.
pub fn mac(v: &str) -> bool {
    let v = v.trim();
    let sep = if v.contains(':') { ':' } else { '-' };
    let groups: Vec<&str> = v.split(sep).collect();
    matches!(groups.len(), 6 | 8)
        && groups
            .iter()
            .all(|g| g.len() == 2 && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A US social security number written `ddd-dd-dddd` (area not 000, 666 or 9xx).
pub fn ssn(v: &str) -> bool {
    let v = v.trim();
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() == 3
        && [3, 2, 4]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_digit()))
        && !matches!(parts[0], "000" | "666")
        && !parts[0].starts_with('9')
        && parts[1] != "00"
        && parts[2] != "0000"
}

/// Latitude/longitude as a pair in one value (`48.8566, 2.3522`) or a WKT point.
pub fn coordinates(v: &str) -> bool {
    let v = v.trim();
    let inner = v
        .strip_prefix("POINT(")
        .or_else(|| v.strip_prefix("POINT ("))
        // PostgreSQL's `point`: `(48.1,11.5)`.
        .or_else(|| v.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
        .map(|r| r.replace(' ', ","))
        .unwrap_or_else(|| v.to_string());
    let nums: Vec<f64> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    nums.len() == 2
        && inner.contains('.')
        && nums.iter().all(|n| n.abs() <= 180.0)
        && nums.iter().any(|n| n.fract() != 0.0)
}

/// `j***@e***.com`, `4***********1111`, `H***y`: enough shape to recognise the kind,
/// too little to recover the value. Samples are never shown any other way.
pub fn mask(v: &str) -> String {
    let chars: Vec<char> = v.trim().chars().collect();
    if let Some(at) = chars.iter().position(|c| *c == '@') {
        let local: String = chars[..at].iter().collect();
        let domain: String = chars[at + 1..].iter().collect();
        let tld = domain.rsplit('.').next().unwrap_or("");
        return format!("{}***@{}***.{tld}", first(&local), first(&domain));
    }
    match chars.len() {
        0 => String::new(),
        1..=3 => "*".repeat(chars.len()),
        n => format!("{}{}{}", chars[0], "*".repeat(n.min(14) - 2), chars[n - 1]),
    }
}

fn first(s: &str) -> String {
    s.chars().next().map(String::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(email("MARY.SMITH@sakilacustomer.org"));
        assert!(email(" a.b+c@x-y.example.co.uk "));
        for no in ["a@b", "@x.com", "a b@x.com", "a@x.c0m", "a@@x.com", "x.com", "a@x..com"] {
            assert!(!email(no), "{no}");
        }
        assert!(contains_email("call me or write to ada@lovelace.org."));
        assert!(!contains_email("price: 12.50 @ store"));
    }

    #[test]
    fn phones() {
        for yes in [
            "+1 (555) 010-9999",
            "+4930123456",
            "030 1234567",
            "(555) 010-9999",
            "14033335568",
            "0612-34.56.78",
        ] {
            assert!(phone(yes), "{yes}");
        }
        for no in [
            "12345",
            "2024-01-31",
            "31.01.2024",
            "12.50",
            "ABC-123",
            "1+1",
            "123456789",
        ] {
            assert!(!phone(no), "{no}");
        }
        assert!(contains_phone("reach me at +49 30 1234567 after 5"));
        assert!(!contains_phone("order 1234 shipped on 2024-01-31"));
    }

    /// r22m F3: serials, versions, ISBNs and counters are written like phone numbers.
    #[test]
    fn number_like_values_are_no_phones() {
        for no in [
            "2024-1105-0001",
            "2024 0001 0001",
            "978-3-16-000001-0",
            "978-3-16-148410-0",
            "10.0.19041.1001",
            "2024-000013",
            "123456789012",
        ] {
            assert!(!phone(no), "{no}");
        }
        // A trunk `0` or a `+` keeps long national and international forms.
        for yes in [
            "0301 234567",
            "+44 20 7946 0958",
            "00 49 30 1234567",
            "1-800-555-0199",
            "98765 43210",
        ] {
            assert!(phone(yes), "{yes}");
        }
        for no in [
            "invoice INV-2024-000017 was paid",
            "release 10.0.19041.1001 fixes bugs",
            "ref 2024 0001 0001 closed now",
            "ISBN 978-3-16-000001-0 is the book",
            "shipped order 2024-000013 today",
            "batch ABC2024000017 done",
        ] {
            assert!(!contains_phone(no), "{no}");
        }
        // A label and a separator before the number (review r22n F3).
        for yes in [
            "Rueckruf erbeten Tel.030 1234567 danke",
            "call me at No.555-010-9999 today",
            "ring 030 1234567 ok",
        ] {
            assert!(contains_phone(yes), "{yes}");
        }
        assert!(contains_phone("call me at (555) 010-9999 today"));
        assert!(contains_phone("note: call +49 30 1234567"));
        // Luhn-valid 978 numbers are books, not cards.
        assert!(!card("978-3-16-000008-0") && !contains_card("ISBN 978-3-16-000008-0 is the book"));
    }

    #[test]
    fn isbns_and_accounts() {
        assert!(isbn("978-3-16-148410-0") && !phone("978-3-16-148410-0"));
        assert!(!isbn("+49 30 1234567"));
        assert!(account("10-4020-000676") && account("DE89370400440532013000"));
        assert!(!account("AW00000001"));
    }

    #[test]
    fn cards_ibans_ips_ssns() {
        assert!(card("4111 1111 1111 1111"));
        assert!(card("5500-0000-0000-0004"));
        assert!(!card("4111 1111 1111 1112"));
        assert!(!card("0000000000000000"));
        assert!(contains_card("paid with 4111111111111111 yesterday"));
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(!iban("GB82WEST12345698765433"));
        assert!(ip("192.168.1.20") && ip("2001:db8::1"));
        assert!(!ip("1.2.3") && !ip("0.0.0.0") && !ip("v1.2.3.4"));
        assert!(ssn("123-45-6789"));
        assert!(!ssn("666-45-6789") && !ssn("123-456-789"));
        assert!(coordinates("48.8566, 2.3522") && coordinates("POINT(2.3522 48.8566)"));
        assert!(!coordinates("1, 2"));
    }

    #[test]
    fn masks_keep_the_shape_only() {
        assert_eq!(mask("mary.smith@sakilacustomer.org"), "m***@s***.org");
        assert_eq!(mask("4111111111111111"), "4************1");
        assert_eq!(mask("Al"), "**");
    }
}
