//! The job file as text: reading and writing transformer specs in TOML (a kind alone
//! as a string, options as an inline table), seed variables, safe rewrites of the file,
//! and messages fit for the page.

use std::collections::BTreeSet;
use std::path::Path;

use toml_edit::{DocumentMut, InlineTable, Item, Value};

/// Writes `text` to a fresh file at `path` (replacing one left behind) that never has
/// wider permissions than `permissions`: a private job file's copies stay private.
pub(super) fn write_new(path: &Path, text: &str, permissions: &std::fs::Permissions) -> Result<(), String> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(permissions.mode() & 0o777);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    std::fs::set_permissions(path, permissions.clone()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// (kind, the other entries as `key = value, ...`).
pub(super) fn options_of(t: &InlineTable) -> (String, String) {
    let kind = t.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let options: Vec<String> = t
        .iter()
        .filter(|(k, _)| *k != "kind")
        .map(|(k, v)| format!("{k} = {}", v.to_string().trim()))
        .collect();
    (kind, options.join(", "))
}

/// The TOML value of a transformer: the kind alone, or `{ kind = "...", options }`.
pub(super) fn spec_value(kind: &str, options: &str) -> Result<Value, String> {
    let kind = kind.trim();
    if kind.is_empty() {
        return Err("choose a transformer kind".into());
    }
    let options = options.trim();
    if options.is_empty() {
        return Ok(Value::from(kind));
    }
    if options.contains('\n') {
        return Err("options: write them on one line: key = value, key = value".into());
    }
    let parsed: DocumentMut = format!("options = {{ {options} }}")
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("options `{options}`: {}", one_line(e.message())))?;
    let Some(Value::InlineTable(given)) = parsed.get("options").and_then(Item::as_value) else {
        return Err(format!("options `{options}`: expected key = value, key = value"));
    };
    if given.contains_key("kind") {
        return Err("options: `kind` is chosen from the list, not written among the options".into());
    }
    let mut table = InlineTable::new();
    table.insert("kind", Value::from(kind));
    for (k, v) in given.iter() {
        let mut v = v.clone();
        v.decor_mut().clear();
        table.insert(k, v);
    }
    table.fmt();
    Ok(Value::InlineTable(table))
}

/// A planner's message about job file `shown` as the page shows it: without the path
/// (the page names the file once, at its top), and without a line number when the text
/// planned is not the file on disk (the line of an unsaved version points nowhere the
/// user can look; the message names the key, `[transform.t] c`, instead).
pub(super) fn for_page(shown: &str, message: &str, text_is_on_disk: bool) -> String {
    let message = message
        .strip_prefix(shown)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(message);
    if text_is_on_disk {
        return message.to_string();
    }
    match message.strip_prefix("line ").and_then(|m| m.split_once(": ")) {
        Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest.to_string(),
        _ => message.to_string(),
    }
}

/// `${NAME}` variables in the job's `seed`.
pub(super) fn seed_vars(doc: &DocumentMut) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = doc.get("seed").and_then(Item::as_str).unwrap_or_default();
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        out.insert(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// The environment, except that variables only the seed uses need not be set: the
/// page plans, it never transforms, so it needs no secret.
pub(super) fn env(seed_vars: &BTreeSet<String>, name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| seed_vars.contains(name).then(|| "not-needed-by-tether-ui".to_string()))
}

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the job file's bytes have that its TOML does not keep: a UTF-8 byte order mark
/// and CRLF line endings. `toml_edit` writes neither; Save puts them back, so that a
/// file written by a Windows editor keeps its form and `git diff` shows only the edits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Encoding {
    bom: bool,
    crlf: bool,
}

impl Encoding {
    /// The encoding of `text` as read: a BOM at its start, CRLF if its first line ends
    /// with one (every line is then written with CRLF).
    pub(super) fn of(text: &str) -> Encoding {
        Encoding {
            bom: text.starts_with('\u{feff}'),
            crlf: text.find('\n').is_some_and(|i| text[..i].ends_with('\r')),
        }
    }

    /// `doc` as the file's text.
    pub(super) fn text(&self, doc: &DocumentMut) -> String {
        let toml = doc.to_string();
        let toml = toml.strip_prefix('\u{feff}').unwrap_or(&toml);
        let mut out = String::with_capacity(toml.len() + toml.len() / 16 + 3);
        if self.bom {
            out.push('\u{feff}');
        }
        if !self.crlf {
            out.push_str(toml);
            return out;
        }
        let mut previous = '\0';
        for c in toml.chars() {
            if c == '\n' && previous != '\r' {
                out.push('\r');
            }
            out.push(c);
            previous = c;
        }
        out
    }
}
