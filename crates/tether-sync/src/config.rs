//! The job file: a TOML document naming the source, the destinations, which tables to
//! copy, how to subset them, and write options. Unknown keys are errors, reported with
//! their line. `${VAR}` in a URL is replaced by the environment variable `VAR`.

use serde::Deserialize;
use tether_connect::Conflict;
use tether_schema::virtual_fk::{self, LocatedSpec, VirtualFkSpec};
use toml::Spanned;

use crate::error::SyncError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// The database to read.
    pub source: Spanned<String>,
    /// Where to write; at least one.
    pub destinations: Vec<Spanned<DestinationSpec>>,
    #[serde(default)]
    pub tables: TablesFile,
    #[serde(default)]
    pub subset: SubsetSpec,
    #[serde(default)]
    pub virtual_foreign_keys: Vec<Spanned<VirtualFkSpec>>,
    #[serde(default)]
    pub options: OptionsFile,
    /// The secret that keys every deterministic transformer; `${VAR}` reads it from the
    /// environment. Never printed.
    pub seed: Option<Spanned<String>>,
    /// Transformers per table and column: `[transform.customer]` then
    /// `email = { kind = "email", keep_domain = true }` or `first_name = "first_name"`.
    #[serde(default)]
    pub transform: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Spanned<toml::Value>>>,
    /// What to do about personal columns the job copies unchanged: `report` (the
    /// default: plan and sync list them), `strict` (refuse to run), `off`.
    #[serde(default)]
    pub privacy: Privacy,
    /// `all` (the default): create what is missing and copy the rows; `schema`: create
    /// the tables and their objects, copy no rows; `data`: copy rows into tables that
    /// exist, create nothing.
    #[serde(default)]
    pub mode: Mode,
}

/// What a job writes: the schema, the rows, or both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    All,
    Schema,
    Data,
}

/// The job's stance on personal data left unprotected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    /// List personal columns copied unchanged in the plan and the sync report.
    #[default]
    Report,
    /// Refuse to run while a personal column is neither transformed nor marked
    /// reviewed (`{ kind = "passthrough", reason = "..." }`).
    Strict,
    /// Do not scan.
    Off,
}

/// A secret string: its Debug form does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One `[transform.TABLE]` entry.
#[derive(Debug, Clone)]
pub struct ColumnTransform {
    pub table: String,
    pub column: String,
    /// The transformer as written: a kind, or a table with `kind` and options.
    pub spec: toml::Value,
    pub line: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationSpec {
    pub url: String,
    /// Delete the destination's rows of the job's tables before loading.
    #[serde(default)]
    pub truncate: bool,
    /// What to do with a row whose key is already in the destination.
    #[serde(default)]
    pub on_conflict: Conflict,
    /// Create tables missing in the destination from the source's model.
    #[serde(default = "yes")]
    pub create_tables: bool,
    /// How foreign keys are checked while loading.
    #[serde(default)]
    pub checks: Checks,
    /// Write into this destination even where Tether cannot tell whether it is the
    /// source, another destination or a server replicating into the source (the logins
    /// may read neither the catalogs nor the probes that would say; two servers report
    /// one identity and no probe tells them apart; the source subscribes to a logical
    /// publication and the destination can publish): the job's author vouches that it
    /// is none of them. Found overlaps are refused all the same.
    #[serde(default)]
    pub assume_distinct: bool,
    /// Why `url` could not be read (an unset `${VAR}`); `url` is then as written.
    #[serde(skip)]
    pub unresolved: Option<String>,
    /// `url` parsed, once, when the job was read (`None`: unresolved or invalid).
    #[serde(skip)]
    pub db_url: Option<tether_connect::DbUrl>,
}

impl DestinationSpec {
    /// The destination's URL as parsed when the job was read; an invalid one is parsed
    /// again here only to say why.
    pub fn db_url(&self) -> Result<tether_connect::DbUrl, SyncError> {
        match &self.db_url {
            Some(u) => Ok(u.clone()),
            None => Ok(tether_connect::DbUrl::parse(&self.url)?),
        }
    }
}

/// How a destination checks foreign keys during the load. Either way every FK is
/// verified with Tether's own queries afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Checks {
    /// The destination checks every row as it arrives: tables load parents first,
    /// breakable cycles load with their breaking FKs NULL and are updated afterwards,
    /// unbreakable cycles load with checks deferred (PostgreSQL) or off (MariaDB, SQLite).
    #[default]
    Enforce,
    /// Checks are off for the load (PostgreSQL `session_replication_role = replica`, which
    /// needs a superuser, else enforced; MariaDB `foreign_key_checks = 0`; SQLite
    /// `foreign_keys = OFF`), as `pg_dump --disable-triggers` and `mysqldump` restores do;
    /// no cycle needs breaking. Faster for large copies.
    Verify,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone)]
pub struct TablesSpec {
    /// Tables to copy: names or `*` globs (`schema.table` outside the default schema).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// The line each pattern of `include` then `exclude` is written on (none for the
    /// default `include = ["*"]`), for messages about a name.
    pub lines: Vec<(String, usize)>,
}

impl TablesSpec {
    /// `line N: ` for the first line `pattern` is written on, or nothing.
    pub fn at(&self, pattern: &str) -> String {
        self.lines
            .iter()
            .find(|(p, _)| p == pattern)
            .map(|(_, l)| format!("line {l}: "))
            .unwrap_or_default()
    }
}

/// `[tables]` as written, each name with its place in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablesFile {
    pub include: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
}

fn all() -> Vec<String> {
    vec!["*".into()]
}

impl Default for TablesSpec {
    fn default() -> Self {
        TablesSpec {
            include: all(),
            exclude: vec![],
            lines: vec![],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsetSpec {
    /// Rows to start from.
    #[serde(default)]
    pub targets: Vec<Spanned<TargetSpec>>,
    /// Also take the child rows of target rows (and of their children, downwards).
    #[serde(default = "yes")]
    pub follow_children: bool,
    /// At most this many child rows per parent row and relation (lowest keys first).
    pub max_children_per_parent: Option<u64>,
    /// Per-relation overrides of `follow_children` and the cap.
    #[serde(default)]
    pub relations: Vec<Spanned<RelationSpec>>,
    /// Copy tables that no target is connected to (through foreign keys) whole.
    #[serde(default = "yes")]
    pub copy_unrelated: bool,
}

impl Default for SubsetSpec {
    fn default() -> Self {
        SubsetSpec {
            targets: vec![],
            follow_children: true,
            max_children_per_parent: None,
            relations: vec![],
            copy_unrelated: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub table: String,
    /// An SQL predicate in the source's dialect.
    #[serde(rename = "where")]
    pub where_clause: Option<String>,
    /// Keep this percentage of the (matching) rows, chosen by a hash of the key.
    pub percent: Option<f64>,
    /// Keep at most this many (matching) rows, lowest keys first.
    pub limit: Option<u64>,
}

impl TargetSpec {
    /// The rows its `where` selects (every row without one).
    pub fn filter(&self) -> tether_connect::Filter {
        match &self.where_clause {
            Some(w) => tether_connect::Filter::Where(w.clone()),
            None => tether_connect::Filter::All,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationSpec {
    /// The foreign key's name (declared or virtual).
    pub foreign_key: String,
    /// The child table, when the name alone is ambiguous.
    pub table: Option<String>,
    pub follow_children: Option<bool>,
    pub max_children_per_parent: Option<u64>,
}

/// `[options]` as written, each number with its place in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionsFile {
    pub batch_size: Option<Spanned<usize>>,
    pub parallelism: Option<Spanned<usize>>,
    pub privacy_sample: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct OptionsSpec {
    /// Rows per batch between reader and writers.
    pub batch_size: usize,
    /// Tables loaded at once per destination, within one dependency level.
    pub parallelism: usize,
    /// Rows read per table to classify personal data (the lowest keys first).
    pub privacy_sample: u64,
}

/// Rows the privacy scan reads per table unless the job or the command line says
/// otherwise.
pub const DEFAULT_SAMPLE: u64 = 500;

fn default_privacy_sample() -> u64 {
    DEFAULT_SAMPLE
}

fn default_batch() -> usize {
    10_000
}

fn default_parallelism() -> usize {
    2
}

impl Default for OptionsSpec {
    fn default() -> Self {
        OptionsSpec {
            batch_size: default_batch(),
            parallelism: default_parallelism(),
            privacy_sample: default_privacy_sample(),
        }
    }
}

/// A job file read, checked and with its URLs resolved.
#[derive(Debug)]
pub struct Job {
    pub path: String,
    pub source: String,
    /// `source` parsed, once, when the job was read (`None`: invalid).
    pub source_url: Option<tether_connect::DbUrl>,
    pub destinations: Vec<DestinationSpec>,
    pub tables: TablesSpec,
    pub subset: SubsetSpec,
    pub targets: Vec<(TargetSpec, usize)>,
    pub relations: Vec<(RelationSpec, usize)>,
    pub virtual_fks: Vec<LocatedSpec>,
    pub options: OptionsSpec,
    pub seed: Option<Secret>,
    /// Secrets that could not be read (an unset `${VAR}` in `seed` or a destination's
    /// URL), each with its line: planning does without them, a sync does not
    /// ([`Job::require_secrets`]).
    pub missing_secrets: Vec<String>,
    pub transforms: Vec<ColumnTransform>,
    pub privacy: Privacy,
    pub mode: Mode,
}

/// Replaces `${VAR}` with the variable's value.
pub fn interpolate(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    substitute(text, env, false)
}

/// Replaces `${VAR}` in a URL with the variable's value, percent-encoded where it lands
/// in the user info (`mysql://app:${PASSWORD}@db/shop`) or in a query parameter's
/// value (`?password=${PASSWORD}`): the value is then read back exactly as the
/// variable holds it, whatever it holds (`?`, `/`, `#`, `@`, `%41`). Elsewhere (a whole
/// URL, a host, a path) it goes in as is. Encoded: every byte but RFC 3986's
/// unreserved characters.
pub fn interpolate_url(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    substitute(text, env, true)
}

fn substitute(text: &str, env: &dyn Fn(&str) -> Option<String>, url: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find('}').ok_or_else(|| "unclosed `${`".to_string())?;
        let name = &after[..end];
        let value = env(name).ok_or_else(|| format!("environment variable `{name}` is not set"))?;
        rest = &after[end + 1..];
        if url && (in_user_info(&out, rest) || in_query_value(&out)) {
            for b in value.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        } else {
            out.push_str(&value);
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether a value between `before` and `after` (the template's literal text) is in a
/// URL's user info: after `://`, with no `/`, `?`, `#` or `@` since, and the template
/// going on to an `@` before any `/`, `?` or `#`.
fn in_user_info(before: &str, after: &str) -> bool {
    let Some(s) = before.find("://") else {
        return false;
    };
    if before[s + 3..].contains(['/', '?', '#', '@']) {
        return false;
    }
    match after.find(['@', '/', '?', '#']) {
        Some(i) => after.as_bytes()[i] == b'@',
        None => false,
    }
}

/// Whether a value after `before` is a query parameter's value (`?k=` or `&k=`).
fn in_query_value(before: &str) -> bool {
    match before.rfind('?') {
        Some(q) if before.contains("://") => {
            let param = &before[q + 1..];
            let last = param.rsplit('&').next().unwrap_or(param);
            last.ends_with('=') && last.matches('=').count() == 1
        }
        _ => false,
    }
}

/// Checks that a subset `where` is one condition that cannot reach past the
/// `WHERE (...)` it is put in: parentheses balanced and never closing more than
/// they opened, no `;`, no block comment, quotes and comments closed.
///
/// The text is lexed the way each engine's server lexes it ([`READINGS`]: PostgreSQL's
/// dollar quotes and `E''` strings, MariaDB's `#` comments, its `--` that is a comment
/// only before a space, backslash escapes on or off by `sql_mode`, SQLite's `[...]`
/// names) and must pass every reading: planning runs these conditions on the source,
/// and a condition must never carry a statement, whichever engine reads it.
pub fn one_condition(text: &str) -> Result<(), String> {
    one_condition_on(text, None)
}

/// [`one_condition`] for the source's engine when it is known (only that engine's
/// readings: a PostgreSQL dollar quote is then a string, as the server reads it).
pub fn one_condition_on(text: &str, engine: Option<tether_connect::Engine>) -> Result<(), String> {
    for reading in READINGS {
        if engine.is_none_or(|e| e == reading.engine) {
            scan_condition(text, reading)?;
        }
    }
    Ok(())
}

/// How one engine (in one of its modes) splits a text into strings, names, comments
/// and the rest.
struct Reading {
    engine: tether_connect::Engine,
    /// `\` escapes the next character in `'...'` (MariaDB by default; PostgreSQL with
    /// `standard_conforming_strings = off`).
    backslash_single: bool,
    /// `\` escapes the next character in `"..."` (MariaDB without `ANSI_QUOTES`).
    backslash_double: bool,
    /// `#` starts a comment to the end of the line (MariaDB).
    hash_comment: bool,
    /// `--` starts a comment only before a space or control character (MariaDB);
    /// elsewhere always.
    dash_needs_space: bool,
    /// `$tag$...$tag$` quotes and `E'...'` strings with backslash escapes (PostgreSQL).
    postgres: bool,
    /// Such a quote or string may start right after a digit (`1$$...$$`: PostgreSQL
    /// before 15 reads a number, then the quote; later versions refuse it).
    quote_after_digit: bool,
    /// `[...]` names (SQLite).
    brackets: bool,
}

const fn reading(backslash_single: bool, backslash_double: bool, mysql: bool) -> Reading {
    Reading {
        engine: if mysql {
            tether_connect::Engine::Mysql
        } else {
            tether_connect::Engine::Sqlite
        },
        backslash_single,
        backslash_double,
        hash_comment: mysql,
        dash_needs_space: mysql,
        postgres: false,
        quote_after_digit: false,
        brackets: false,
    }
}

const fn pg(backslash_single: bool, quote_after_digit: bool) -> Reading {
    Reading {
        engine: tether_connect::Engine::Postgres,
        postgres: true,
        quote_after_digit,
        ..reading(backslash_single, false, false)
    }
}

/// PostgreSQL (with and without `standard_conforming_strings`, before and after 15), MariaDB (backslash
/// escapes on or off in either quote: `NO_BACKSLASH_ESCAPES`, `ANSI_QUOTES`), SQLite.
const READINGS: &[Reading] = &[
    pg(false, false),
    pg(true, false),
    pg(false, true),
    pg(true, true),
    reading(true, true, true),
    reading(true, false, true),
    reading(false, true, true),
    reading(false, false, true),
    Reading {
        brackets: true,
        ..reading(false, false, false)
    },
];

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// The closing position of a quote opened at `chars[i]`: `close` ends it, a doubled
/// `close` stands for itself, and `\` escapes the next character when `backslash`.
fn skip_quoted(chars: &[char], mut i: usize, close: char, backslash: bool) -> Result<usize, String> {
    let open = chars[i];
    i += 1;
    loop {
        match chars.get(i) {
            None => return Err(format!("a {open} quote is not closed")),
            Some('\\') if backslash => i += 2,
            Some(&q) if q == close && close != ']' && chars.get(i + 1) == Some(&close) => i += 2,
            Some(&q) if q == close => return Ok(i),
            Some(_) => i += 1,
        }
    }
}

/// A PostgreSQL dollar quote's tag starting at `chars[i]` (`$$` or `$name$`), if one
/// starts there.
fn dollar_tag(chars: &[char], i: usize, after_digit: bool) -> Option<String> {
    if i > 0 && is_ident_char(chars[i - 1]) && !(after_digit && chars[i - 1].is_ascii_digit()) {
        return None;
    }
    let mut j = i + 1;
    while let Some(&c) = chars.get(j) {
        if c == '$' {
            return Some(chars[i..=j].iter().collect());
        }
        let ok = if j == i + 1 {
            c.is_alphabetic() || c == '_'
        } else {
            c.is_alphanumeric() || c == '_'
        };
        if !ok {
            return None;
        }
        j += 1;
    }
    None
}

fn scan_condition(text: &str, r: &Reading) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    let mut depth = 0i32;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let token_start =
            i == 0 || !is_ident_char(chars[i - 1]) || (r.quote_after_digit && chars[i - 1].is_ascii_digit());
        match c {
            'e' | 'E' if r.postgres && token_start && next == Some('\'') => {
                i = skip_quoted(&chars, i + 1, '\'', true)?;
            }
            '\'' => i = skip_quoted(&chars, i, '\'', r.backslash_single)?,
            '"' => i = skip_quoted(&chars, i, '"', r.backslash_double)?,
            '`' if !r.postgres => i = skip_quoted(&chars, i, '`', false)?,
            '[' if r.brackets => i = skip_quoted(&chars, i, ']', false)?,
            '$' if r.postgres => {
                if let Some(tag) = dollar_tag(&chars, i, r.quote_after_digit) {
                    let body: String = chars[i + tag.chars().count()..].iter().collect();
                    let Some(end) = body.find(&tag) else {
                        return Err(format!("a {tag} quote is not closed"));
                    };
                    i += tag.chars().count() + body[..end].chars().count() + tag.chars().count() - 1;
                }
            }
            '-' if next == Some('-')
                && (!r.dash_needs_space || chars.get(i + 2).is_none_or(|c| c.is_whitespace() || c.is_control())) =>
            {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '#' if r.hash_comment => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => return Err("block comments (/* */) are not allowed here".into()),
            ';' => return Err("`;` is not allowed: give one condition, not statements".into()),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("a `)` closes more than the condition opened".into());
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return Err("a `(` is not closed".into());
    }
    Ok(())
}

/// A TOML error on one line, without the value it is about (a password, a URL, a seed:
/// [`tether_connect::url::without_values`]) and with the key written on that line.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = tether_connect::url::without_values(&virtual_fk::one_line_toml_error(text, e));
    // serde's "unknown variant `VALUE`, expected ...": the value is not echoed (a seed
    // or a URL pasted into the wrong key would be).
    // The value may hold backticks itself: it ends where serde's "`, expected" does.
    let message = match message.find("unknown variant `") {
        Some(i) => match message[i + 17..].rfind("`, expected") {
            Some(end) => format!("{}unknown value{}", &message[..i], &message[i + 17 + end + 1..]),
            None => format!("{}unknown value", &message[..i]),
        },
        None => message,
    };
    let key = e.span().and_then(|span| {
        let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let bare = |k: &str| !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || "_-.\"".contains(c));
        // The key just before the value the error is about (`kind` in
        // `email = { kind = "x" }`), else the line's first key.
        let before = &text[start..span.start];
        if let Some((head, _)) = before.rsplit_once('=') {
            let head = head.trim_end();
            let from = head
                .rfind(|c: char| !(c.is_alphanumeric() || "_-.\"".contains(c)))
                .map_or(0, |i| i + 1);
            let key = &head[from..];
            if bare(key) {
                return Some(key.to_string());
            }
        }
        let (key, _) = text[start..].split_once('=')?;
        let key = key.trim();
        bare(key).then(|| key.to_string())
    });
    match (key, message.split_once(": ")) {
        (Some(key), Some((line, rest)))
            if message.starts_with("line ") && (message.contains("invalid ") || message.contains("unknown value")) =>
        {
            format!("{line}: `{key}`: {rest}")
        }
        _ => message,
    }
}

/// A SQLite URL with a relative path, made relative to `base` (the job file's
/// directory); any other URL unchanged.
fn rebase_sqlite(url: &str, base: &std::path::Path) -> String {
    match tether_connect::DbUrl::parse_with_env(url, |_| None) {
        Ok(tether_connect::DbUrl::Sqlite { path })
            if path.is_relative() && !base.as_os_str().is_empty() && path.as_os_str() != ":memory:" =>
        {
            // Back into a URL: `%` and `?` escaped, so parsing it again gives this path.
            let path = join_relative(base, &path).display().to_string();
            format!("sqlite://{}", path.replace('%', "%25").replace('?', "%3F"))
        }
        _ => url.to_string(),
    }
}

/// `base` joined with the relative `path`, with `path`'s leading `..` taken off a
/// canonical `base` (exact: a canonical path has no symlinks); the rest as written.
fn join_relative(base: &std::path::Path, path: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let Ok(mut out) = std::fs::canonicalize(base) else {
        return base.join(path);
    };
    let mut rest = path.components().peekable();
    while rest.peek() == Some(&Component::ParentDir) && out.parent().is_some() {
        out.pop();
        rest.next();
    }
    out.extend(rest.filter(|c| *c != Component::CurDir));
    out
}

impl Job {
    /// Parses a job file's text; `path` is the file's path (in messages, and the
    /// base of relative SQLite paths).
    pub fn parse(path: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Job, SyncError> {
        let file: JobFile =
            toml::from_str(text).map_err(|e| SyncError::Config(format!("{path}: {}", toml_error(text, &e))))?;
        let line = |span: std::ops::Range<usize>| virtual_fk::line_of(text, span.start);
        let at = |l: usize, msg: String| SyncError::Config(format!("{path}: line {l}: {msg}"));
        // Relative SQLite paths are relative to the job file, as in other tools'
        // config files, so a job works from any directory.
        let base = std::path::Path::new(path).parent().unwrap_or(std::path::Path::new(""));
        let source = interpolate_url(file.source.get_ref(), env)
            .map(|u| rebase_sqlite(&u, base))
            .map_err(|m| at(line(file.source.span()), format!("source: {m}")))?;
        if file.destinations.is_empty() {
            return Err(SyncError::Config(format!(
                "{path}: at least one [[destinations]] entry is needed"
            )));
        }
        let mut missing_secrets = Vec::new();
        let mut destinations = Vec::new();
        for d in &file.destinations {
            let mut spec = d.get_ref().clone();
            match interpolate_url(&spec.url, env) {
                Ok(url) => {
                    spec.url = rebase_sqlite(&url, base);
                    spec.db_url = tether_connect::DbUrl::parse(&spec.url).ok();
                }
                Err(m) => {
                    let message = at(line(d.span()), format!("destination url: {m}")).to_string();
                    missing_secrets.push(message.clone());
                    spec.unresolved = Some(message);
                }
            }
            destinations.push(spec);
        }
        let mut targets = Vec::new();
        for t in &file.subset.targets {
            let l = line(t.span());
            let spec = t.get_ref().clone();
            if let Some(p) = spec.percent {
                if !(p > 0.0 && p <= 100.0) {
                    return Err(at(
                        l,
                        format!("target `{}`: percent must be in (0, 100], not {p}", spec.table),
                    ));
                }
            }
            if spec.where_clause.is_none() && spec.percent.is_none() && spec.limit.is_none() {
                return Err(at(
                    l,
                    format!("target `{}`: give `where`, `percent` or `limit`", spec.table),
                ));
            }
            if let Some(w) = &spec.where_clause {
                let engine = tether_connect::DbUrl::parse_with_env(&source, |_| None)
                    .ok()
                    .map(|u| u.engine());
                one_condition_on(w, engine).map_err(|why| at(l, format!("target `{}`: `where`: {why}", spec.table)))?;
            }
            targets.push((spec, l));
        }
        let relations = file
            .subset
            .relations
            .iter()
            .map(|r| (r.get_ref().clone(), line(r.span())))
            .collect();
        for (key, value) in [
            ("batch_size", &file.options.batch_size),
            ("parallelism", &file.options.parallelism),
        ] {
            if let Some(v) = value.as_ref().filter(|v| *v.get_ref() == 0) {
                return Err(at(line(v.span()), format!("options.{key} = 0: it must be at least 1")));
            }
        }
        let options = OptionsSpec {
            batch_size: file.options.batch_size.map_or_else(default_batch, |v| v.into_inner()),
            parallelism: file
                .options
                .parallelism
                .map_or_else(default_parallelism, |v| v.into_inner()),
            privacy_sample: file.options.privacy_sample.unwrap_or_else(default_privacy_sample),
        };
        let named = |list: &[Spanned<String>]| -> Vec<(String, usize)> {
            list.iter().map(|p| (p.get_ref().clone(), line(p.span()))).collect()
        };
        let tables = TablesSpec {
            include: match &file.tables.include {
                Some(list) => list.iter().map(|p| p.get_ref().clone()).collect(),
                None => all(),
            },
            exclude: file.tables.exclude.iter().map(|p| p.get_ref().clone()).collect(),
            lines: [
                named(file.tables.include.as_deref().unwrap_or_default()),
                named(&file.tables.exclude),
            ]
            .concat(),
        };
        let mut seed_given = false;
        let seed = match &file.seed {
            Some(s) => match interpolate(s.get_ref(), env) {
                Ok(secret) => Some(Secret(secret)),
                Err(m) => {
                    seed_given = true;
                    missing_secrets.push(at(line(s.span()), format!("seed: {m}")).to_string());
                    None
                }
            },
            None => None,
        };
        let mut transforms = Vec::new();
        for (table, columns) in &file.transform {
            for (column, spec) in columns {
                transforms.push(ColumnTransform {
                    table: table.clone(),
                    column: column.clone(),
                    spec: spec.get_ref().clone(),
                    line: line(spec.span()),
                });
            }
        }
        if !transforms.is_empty() && !seed_given && seed.as_ref().is_none_or(|s| s.0.is_empty()) {
            return Err(SyncError::Config(format!(
                "{path}: [transform] needs a `seed` (a secret; `seed = \"${{TETHER_SEED}}\"` reads it from the environment)"
            )));
        }
        Ok(Job {
            seed,
            missing_secrets,
            transforms,
            privacy: file.privacy,
            mode: file.mode,
            path: path.to_string(),
            source_url: tether_connect::DbUrl::parse(&source).ok(),
            source,
            destinations,
            tables,
            targets,
            relations,
            virtual_fks: virtual_fk::locate(text, file.virtual_foreign_keys),
            subset: SubsetSpec {
                targets: vec![],
                relations: vec![],
                ..file.subset
            },
            options,
        })
    }
}

impl Job {
    /// The source's URL as parsed when the job was read; an invalid one is parsed again
    /// here only to say why.
    pub fn source_url(&self) -> Result<tether_connect::DbUrl, SyncError> {
        match &self.source_url {
            Some(u) => Ok(u.clone()),
            None => Ok(tether_connect::DbUrl::parse(&self.source)?),
        }
    }

    /// Fails when a secret the job needs to write is missing from the environment
    /// (planning does without it).
    pub fn require_secrets(&self) -> Result<(), SyncError> {
        match self.missing_secrets.first() {
            Some(m) => Err(SyncError::Config(format!(
                "{m} (a sync needs it; `tether plan` does not)"
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_where_is_one_condition_however_an_engine_reads_it() {
        for ok in [
            "id < 3",
            "name = 'a;b' AND (x > 1 OR y IN (1, 2))",
            "note LIKE 'it''s'",
            "id > 0 -- the active ones",
            "\"odd)name\" = 1",
        ] {
            assert_eq!(one_condition(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("id < 3); DELETE FROM child; SELECT (1", "closes more"),
            ("id < 3; DELETE FROM child", "`;`"),
            ("id > 0) /* only active", "closes more"),
            ("id > 0 /* x */", "block comments"),
            ("(id > 0", "not closed"),
            ("name = 'x", "not closed"),
            // MariaDB reads `\'` as an escaped quote: the `)` is outside the string.
            ("name = 'a\\' ) OR (1=1", ""),
            // MariaDB reads `#` as a comment, PostgreSQL as an operator.
            ("(id = 1 # )", "not closed"),
        ] {
            let e = one_condition(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    fn env(name: &str) -> Option<String> {
        (name == "DB_PASSWORD").then(|| "s3cret".to_string())
    }

    #[test]
    fn a_full_job_parses_with_defaults_and_env() {
        let job = Job::parse(
            "job.toml",
            r#"
source = "postgres://app:${DB_PASSWORD}@db/shop"

[[destinations]]
url = "sqlite://out.db"
truncate = true

[[destinations]]
url = "mysql://root@127.0.0.1/copy"
on_conflict = "update"

[tables]
exclude = ["audit_*"]

[subset]
max_children_per_parent = 10

[[subset.targets]]
table = "orders"
where = "placed_at >= '2024-01-01'"

[[subset.relations]]
foreign_key = "review_customer_fk"
follow_children = false
"#,
            &env,
        )
        .unwrap();
        assert_eq!(job.source, "postgres://app:s3cret@db/shop");
        assert_eq!(job.destinations.len(), 2);
        assert!(job.destinations[0].truncate && job.destinations[0].create_tables);
        assert_eq!(job.destinations[1].on_conflict, Conflict::Update);
        assert_eq!(job.tables.include, ["*"]);
        assert_eq!(job.targets[0].1, 18, "the line of [[subset.targets]]");
        assert!(job.subset.follow_children);
        assert_eq!(job.subset.max_children_per_parent, Some(10));
        assert_eq!(job.relations[0].0.follow_children, Some(false));
        assert_eq!(job.options.batch_size, 10_000);
    }

    #[test]
    fn secrets_missing_from_the_environment_wait_for_a_sync() {
        let job = Job::parse(
            "job.toml",
            "source = \"a.db\"\nseed = \"${NOPE}\"\n[[destinations]]\nurl = \"postgres://u:${NOPE2}@h/d\"\n\
             [transform.t]\nc = \"email\"\n",
            &env,
        )
        .expect("a plan needs no secret");
        assert!(job.seed.is_none());
        assert_eq!(job.destinations[0].url, "postgres://u:${NOPE2}@h/d");
        assert_eq!(
            job.require_secrets().unwrap_err().to_string(),
            "job.toml: line 3: destination url: environment variable `NOPE2` is not set (a sync needs it; `tether plan` does not)"
        );
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let e = Job::parse(
            "job.toml",
            "source = \"a.db\"\n[[destinations]]\nurl = \"b.db\"\ntruncat = true\n",
            &env,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "job.toml: line 4: unknown field `truncat`, expected one of `url`, `truncate`, `on_conflict`, `create_tables`, `checks`, `assume_distinct`");
        let e = Job::parse(
            "job.toml",
            "source = \"${NOPE}\"\n[[destinations]]\nurl = \"b.db\"\n",
            &env,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "job.toml: line 1: source: environment variable `NOPE` is not set"
        );
        let e = Job::parse(
            "job.toml",
            "source = \"a.db\"\n[[destinations]]\nurl = \"b.db\"\n[[subset.targets]]\ntable = \"x\"\n",
            &env,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "job.toml: line 4: target `x`: give `where`, `percent` or `limit`"
        );
    }
}
