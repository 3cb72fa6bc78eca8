//! What a SQLite table's rules become on another engine, and what MariaDB's become on
//! SQLite: a SQLite source's CHECKs and `COLLATE NOCASE` columns live in its `CREATE
//! TABLE` text only (the model reads neither), so they are found there to be reported;
//! a MariaDB `SET` or `UNSIGNED` column gets on SQLite the CHECK PostgreSQL gets.

use tether_connect::{Dialect, Value};
use tether_schema::{Check, Column};

/// The rules of a SQLite `CREATE TABLE` text the model does not hold.
#[derive(Debug, Default, PartialEq)]
pub(super) struct SqliteRules {
    /// Each CHECK, column or table constraint: (its name, or the column it follows; its
    /// `CHECK (...)` text).
    pub checks: Vec<(String, String)>,
    /// Column name -> its `COLLATE` name (NOCASE, RTRIM), BINARY left out.
    pub collations: Vec<(String, String)>,
    /// Each conflict clause other than the default ABORT: (the column, or the table
    /// constraint's name or text; the clause, e.g. `UNIQUE ON CONFLICT REPLACE`).
    pub conflicts: Vec<(String, String)>,
}

/// A token of SQL text and whether space (or a comment) stood before it.
struct Token {
    text: String,
    spaced: bool,
}

/// The tokens of SQL text: words, quoted names/strings (kept with their quotes), and
/// single punctuation characters; comments dropped.
fn tokens(sql: &str) -> Vec<Token> {
    let b: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut spaced = false;
    let mut push = |text: String, spaced: &mut bool| {
        out.push(Token { text, spaced: *spaced });
        *spaced = false;
    };
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            spaced = true;
            i += 1;
        } else if c == '-' && b.get(i + 1) == Some(&'-') {
            spaced = true;
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            spaced = true;
            i += 2;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if matches!(c, '\'' | '"' | '`' | '[') {
            let close = if c == '[' { ']' } else { c };
            let start = i;
            i += 1;
            loop {
                match b.get(i) {
                    None => break,
                    Some(&x) if x == close && close != ']' && b.get(i + 1) == Some(&close) => i += 2,
                    Some(&x) if x == close => {
                        i += 1;
                        break;
                    }
                    _ => i += 1,
                }
            }
            push(b[start..i.min(b.len())].iter().collect(), &mut spaced);
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '$' || b[i] == '.') {
                i += 1;
            }
            push(b[start..i].iter().collect(), &mut spaced);
        } else {
            push(c.to_string(), &mut spaced);
            i += 1;
        }
    }
    out
}

/// A name token without its quotes.
fn unquoted(t: &str) -> String {
    let inner = match t.chars().next() {
        Some('"') | Some('`') | Some('\'') => &t[1..t.len().saturating_sub(1).max(1)],
        Some('[') => &t[1..t.len().saturating_sub(1).max(1)],
        _ => t,
    };
    match t.chars().next() {
        Some(q @ ('"' | '`' | '\'')) => inner.replace(&format!("{q}{q}"), &q.to_string()),
        _ => inner.to_string(),
    }
}

/// Joins tokens back into SQL as the source spells it: one space where the source
/// has space or a comment, none where it has none (`>=` stays one operator).
fn join(ts: &[&Token]) -> String {
    let mut s = String::new();
    for t in ts {
        if t.spaced && !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

/// The CHECKs and collations of SQLite's `CREATE TABLE` text `definition`.
pub(super) fn sqlite_rules(definition: &str) -> SqliteRules {
    let ts = tokens(definition);
    let mut out = SqliteRules::default();
    let Some(open) = ts.iter().position(|t| t.text == "(") else {
        return out;
    };
    // The body's parts, split at commas of depth 1.
    let mut parts: Vec<Vec<&Token>> = vec![Vec::new()];
    let mut depth = 0usize;
    for t in &ts[open..] {
        match t.text.as_str() {
            "(" => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ")" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => {
                parts.push(Vec::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().expect("one part at least").push(t);
    }
    for part in parts.iter().filter(|p| !p.is_empty()) {
        let first = part[0].text.to_ascii_uppercase();
        let table_constraint = matches!(
            first.as_str(),
            "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "CHECK" | "FOREIGN"
        );
        let column = (!table_constraint).then(|| unquoted(&part[0].text));
        let mut i = usize::from(!table_constraint);
        let mut named: Option<String> = None;
        // The constraint an `ON CONFLICT` clause belongs to, and its name if it has one.
        let mut constraint: Option<(&str, Option<String>)> = None;
        while i < part.len() {
            let w = part[i].text.to_ascii_uppercase();
            let next = |k: usize| part.get(i + k).map(|t| t.text.to_ascii_uppercase());
            match w.as_str() {
                "PRIMARY" => constraint = Some(("PRIMARY KEY", named.clone())),
                "UNIQUE" => constraint = Some(("UNIQUE", named.clone())),
                "NOT" if next(1).as_deref() == Some("NULL") => constraint = Some(("NOT NULL", named.clone())),
                _ => {}
            }
            if w == "ON" && next(1).as_deref() == Some("CONFLICT") {
                let algorithm = next(2).unwrap_or_default();
                if let (false, Some((kind, name))) = (algorithm == "ABORT", &constraint) {
                    // A table constraint: its name, else its text up to the clause.
                    let subject = column
                        .clone()
                        .or_else(|| name.clone())
                        .unwrap_or_else(|| join(&part[..i]));
                    out.conflicts.push((subject, format!("{kind} ON CONFLICT {algorithm}")));
                }
                i += 3;
                continue;
            }
            if w == "CONSTRAINT" {
                named = part.get(i + 1).map(|n| unquoted(&n.text));
                i += 2;
                continue;
            }
            if w == "COLLATE" {
                if let (Some(c), Some(n)) = (&column, part.get(i + 1)) {
                    let n = unquoted(&n.text);
                    if !n.eq_ignore_ascii_case("BINARY") {
                        out.collations.push((c.clone(), n.to_ascii_uppercase()));
                    }
                }
                i += 2;
                continue;
            }
            if w == "CHECK" && part.get(i + 1).is_some_and(|t| t.text == "(") {
                let mut d = 0usize;
                let mut j = i + 1;
                while j < part.len() {
                    match part[j].text.as_str() {
                        "(" => d += 1,
                        ")" => {
                            d -= 1;
                            if d == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let end = (j + 1).min(part.len());
                let name = named
                    .take()
                    .or_else(|| column.clone())
                    .unwrap_or_else(|| format!("check{}", out.checks.len() + 1));
                out.checks.push((name, format!("CHECK {}", join(&part[i + 1..end]))));
                i = end;
                continue;
            }
            i += 1;
        }
    }
    out
}

/// What keeps a MariaDB column's values on SQLite where its type there takes more (the
/// CHECKs PostgreSQL gets, in SQLite's SQL): an UNSIGNED number not negative, a SET
/// only its members, comma-separated; and what the plan says of it.
pub(super) fn mariadb_values_on_sqlite(table: &str, c: &Column, d: &dyn Dialect) -> (Option<Check>, Option<String>) {
    let col = d.ident(&c.name);
    let name = format!("{table}_{}_check", c.name);
    let ty = c.engine_type.to_ascii_lowercase();
    if let Some(labels) = super::set_labels(c) {
        // Each member taken out (twice: replace() skips a member sharing its comma
        // with the one before) leaves the bare ',' of a list of members only.
        let mut list = format!("',' || {col} || ','");
        for l in &labels {
            let member = d.literal(&Value::Text(format!(",{l},")));
            for _ in 0..2 {
                list = format!("replace({list}, {member}, ',')");
            }
        }
        let definition = format!("CHECK ({col} = '' OR {list} = ',')");
        let why = format!("with CHECK {name}: a comma-separated list of its members");
        return (
            Some(Check {
                name,
                definition,
                exclusion: false,
            }),
            Some(why),
        );
    }
    let unsigned = ty.split_whitespace().any(|w| w == "unsigned");
    if let Some(check) = super::items::not_negative(c, unsigned, &col, &name) {
        return check;
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_clauses_are_read_from_the_definition() {
        let r = sqlite_rules(
            "CREATE TABLE g (id INTEGER PRIMARY KEY ON CONFLICT IGNORE, name TEXT COLLATE NOCASE \
             CONSTRAINT u1 UNIQUE ON CONFLICT REPLACE, lvl INT NOT NULL ON CONFLICT FAIL, \
             a INT UNIQUE ON CONFLICT ABORT, b INT, UNIQUE (a, b) ON CONFLICT ROLLBACK, \
             CONSTRAINT pair UNIQUE (b, lvl) ON CONFLICT replace)",
        );
        assert_eq!(
            r.conflicts,
            vec![
                ("id".to_string(), "PRIMARY KEY ON CONFLICT IGNORE".to_string()),
                ("name".to_string(), "UNIQUE ON CONFLICT REPLACE".to_string()),
                ("lvl".to_string(), "NOT NULL ON CONFLICT FAIL".to_string()),
                ("UNIQUE (a, b)".to_string(), "UNIQUE ON CONFLICT ROLLBACK".to_string()),
                ("pair".to_string(), "UNIQUE ON CONFLICT REPLACE".to_string()),
            ]
        );
    }

    #[test]
    fn checks_and_collations_are_read_from_the_definition() {
        let r = sqlite_rules(
            "CREATE TABLE \"p\" (id INTEGER PRIMARY KEY, code TEXT NOT NULL COLLATE NOCASE UNIQUE, \
             qty INT CHECK (qty > 0), -- a comment, (\n note TEXT DEFAULT 'a,(b' COLLATE \"RTRIM\", \
             CONSTRAINT pos CHECK (id > 0 AND (qty < 10)), CHECK(length(code) < 9))",
        );
        assert_eq!(
            r.collations,
            vec![
                ("code".to_string(), "NOCASE".to_string()),
                ("note".into(), "RTRIM".into())
            ]
        );
        assert_eq!(
            r.checks,
            vec![
                ("qty".to_string(), "CHECK (qty > 0)".to_string()),
                ("pos".into(), "CHECK (id > 0 AND (qty < 10))".into()),
                ("check3".into(), "CHECK (length(code) < 9)".into()),
            ]
        );
        assert_eq!(
            sqlite_rules("CREATE TABLE t (a BINARY COLLATE BINARY)"),
            SqliteRules::default()
        );
    }

    /// r17 F4: operators of several characters were printed split apart
    /// (`v > = 0`, `w! = 2`, `w < > 3`).
    #[test]
    fn a_check_is_printed_as_the_source_spells_it() {
        let r = sqlite_rules(
            "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER CHECK (v >= 0), \
             w INTEGER CHECK (w <= 5 AND w != 2 AND w <> 3 AND w==w), \
             s TEXT CHECK(s||'x' <> 'a  b' /* why */ AND\n  -s < -1))",
        );
        assert_eq!(
            r.checks,
            vec![
                ("v".to_string(), "CHECK (v >= 0)".to_string()),
                ("w".into(), "CHECK (w <= 5 AND w != 2 AND w <> 3 AND w==w)".into()),
                ("s".into(), "CHECK (s||'x' <> 'a  b' AND -s < -1)".into()),
            ]
        );
    }
}
