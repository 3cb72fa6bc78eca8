//! One redaction for every spelling of a connection string that reaches a message:
//! a URL (`scheme://user:PW@host`), a URL missing its `//` (`postgresql:/app:PW@host`,
//! `mysql:root:PW@host`) or its scheme (`app:PW@host`), and a libpq keyword string
//! (`host=... password=PW`, or `;`-separated). Where the text's shape is unclear,
//! everything after the user name is hidden: an echo may show too little, never a
//! password.

use crate::url::{redact_query, SHOWN_PARAMETERS};

/// Schemes Tether knows, recognised without their `//` too.
const SCHEMES: [&str; 4] = ["postgres", "postgresql", "mysql", "mariadb"];

/// Words whose value is a secret wherever they appear as `word=value`.
const SECRET_WORDS: [&str; 5] = ["password", "passwd", "pwd", "sslpassword", "passfile"];

/// `text` with its passwords replaced by `***`; see the module.
pub fn redact(text: &str) -> String {
    let trimmed = text.trim_start();
    let lead = &text[..text.len() - trimmed.len()];
    if trimmed.starts_with("sqlite:") {
        return mask_secret_words(text);
    }
    if keyword_string(trimmed) {
        return format!("{lead}{}", keywords(trimmed));
    }
    let out = match scheme(trimmed) {
        // `scheme://`: the user info is up to the last `@`.
        Some((head, rest, true)) => format!("{head}{}", user_info(rest, false)),
        // A known scheme without `//`: the same, and without `@`, what follows a `:`
        // (`mysql:root:PW`) is hidden.
        Some((head, rest, false)) => format!("{head}{}", user_info(rest, true)),
        // No scheme Tether knows: a name before `@` may be a password too.
        None => match trimmed.rfind('@') {
            Some(at) => {
                let info = &trimmed[..at];
                let user = info.split_once(':').map_or("", |(u, _)| u);
                let shown = if user.is_empty() {
                    "***".to_string()
                } else {
                    format!("{user}:***")
                };
                format!("{shown}@{}", redact_query(&trimmed[at + 1..]))
            }
            None => after_colon(trimmed),
        },
    };
    mask_secret_words(&format!("{lead}{out}"))
}

/// (`scheme:` with the slashes after it, the rest, whether it was `://`) for a text
/// that starts with a URL scheme: any scheme followed by `://`, or one of [`SCHEMES`]
/// followed by `:` alone.
fn scheme(text: &str) -> Option<(&str, &str, bool)> {
    let colon = text.find(':')?;
    let name = &text[..colon];
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c));
    if !valid {
        return None;
    }
    let after = &text[colon + 1..];
    if after.starts_with("//") {
        return Some((&text[..colon + 3], &text[colon + 3..], true));
    }
    if !SCHEMES.contains(&name.to_ascii_lowercase().as_str()) {
        return None;
    }
    let slashes = after.len() - after.trim_start_matches('/').len();
    let end = colon + 1 + slashes;
    Some((&text[..end], &text[end..], false))
}

/// The text after a scheme: `user:***@host...` (the user info being up to the last
/// `@`), the query's values masked. Without `@`, `unsure` hides what follows a `:`.
fn user_info(rest: &str, unsure: bool) -> String {
    match rest.rfind('@') {
        Some(at) => {
            let info = &rest[..at];
            let shown = match info.split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => info.to_string(),
            };
            format!("{shown}@{}", redact_query(&rest[at + 1..]))
        }
        None if unsure => after_colon(rest),
        None => unnamed_host(rest),
    }
}

/// `host:port/db?...` without `@`: shown, unless what follows the authority's last
/// `:` is no port (`root:secret` missing its `@host`), which is masked.
fn unnamed_host(rest: &str) -> String {
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let port_like = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    match authority.rsplit_once(':') {
        Some((_, port)) if authority.ends_with(']') || port_like(port) => redact_query(rest),
        Some(_) => format!(
            "{}:***{}",
            authority.split_once(':').map_or("", |(h, _)| h),
            redact_query(tail)
        ),
        None => redact_query(rest),
    }
}

/// `a:***` for `a:b...`: the text after its first `:` may be a password.
fn after_colon(text: &str) -> String {
    match text.split_once(':') {
        Some((head, _)) => format!("{head}:***"),
        None => redact_query(text),
    }
}

/// Whether the text is a keyword string: it starts with `word=` (spaces allowed
/// around `=`), no `://` before it.
fn keyword_string(text: &str) -> bool {
    let key_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
        .unwrap_or(text.len());
    key_end > 0 && text[key_end..].trim_start().starts_with('=')
}

/// A keyword string with every value masked but those of [`SHOWN_PARAMETERS`]. A
/// word without `=` is masked whole (a password pasted in the wrong place), and so is
/// the rest after an unterminated quote.
fn keywords(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let skipped = rest.len() - rest.trim_start_matches(|c: char| c.is_whitespace() || c == ';').len();
        out.push_str(&rest[..skipped]);
        rest = &rest[skipped..];
        if rest.is_empty() {
            return out;
        }
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == ';')
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after_key = rest[key_end..].trim_start();
        let Some(value) = after_key.strip_prefix('=') else {
            out.push_str("***");
            rest = &rest[key_end..];
            continue;
        };
        let value = value.trim_start();
        let (value_len, closed) = match value.chars().next() {
            Some(q @ ('\'' | '"')) => quoted_len(value, q),
            _ => (
                value
                    .find(|c: char| c.is_whitespace() || c == ';')
                    .unwrap_or(value.len()),
                true,
            ),
        };
        out.push_str(key);
        out.push('=');
        if !closed {
            out.push_str("***");
            return out;
        }
        match SHOWN_PARAMETERS.contains(&key.to_ascii_lowercase().as_str()) {
            true => out.push_str(&value[..value_len]),
            false => out.push_str("***"),
        }
        rest = &value[value_len..];
    }
}

/// The length of the quoted value at the start of `value` (quote `q`, `\` escaping),
/// and whether its closing quote was found.
fn quoted_len(value: &str, q: char) -> (usize, bool) {
    let mut escaped = false;
    for (i, c) in value.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == q => return (i + c.len_utf8(), true),
            _ => {}
        }
    }
    (value.len(), false)
}

/// `word=value` with `word` one of [`SECRET_WORDS`] masked anywhere in the text (a
/// value ends at a space, `&`, `;` or `#`), whatever the rest of the text looked like.
fn mask_secret_words(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let before = &rest[..eq];
        let word_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |i| i + before[i..].chars().next().map_or(1, char::len_utf8));
        let word = before[word_start..].trim_end();
        out.push_str(&rest[..=eq]);
        rest = &rest[eq + 1..];
        if SECRET_WORDS.contains(&word.to_ascii_lowercase().as_str()) && !rest.starts_with("***") {
            let end = rest
                .find(|c: char| c.is_whitespace() || "&;#".contains(c))
                .unwrap_or(rest.len());
            out.push_str("***");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}
