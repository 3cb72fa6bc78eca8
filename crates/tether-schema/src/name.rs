//! A table's identity (optional schema plus name), shared by the model and the objects
//! around it, and how it is written: `schema.table`, with a part that holds a dot (or a
//! double quote) in double quotes (`"a.b"`, `public."a.b"`), so that the table named
//! `a.b` is never taken for table `b` of schema `a`.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A table's identity: optional schema plus name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        TableName {
            schema: schema.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// The name as shown to users: `schema.table` unless the schema is the default one;
    /// a part holding a dot or a double quote is shown in double quotes (`"a.b"`).
    pub fn display_in(&self, default_schema: Option<&str>) -> String {
        match (&self.schema, default_schema) {
            (Some(s), Some(d)) if s == d => shown(&self.name).into_owned(),
            (Some(s), _) => format!("{}.{}", shown(s), shown(&self.name)),
            (None, _) => shown(&self.name).into_owned(),
        }
    }

    /// Every part in double quotes (`"public"."a.b"`): the spelling that names this
    /// table and no other, whatever the other tables are called.
    pub fn quoted(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote(s), quote(&self.name)),
            None => quote(&self.name),
        }
    }
}

/// A part as shown: as it is, or in double quotes when it holds a dot or a quote.
fn shown(part: &str) -> Cow<'_, str> {
    if part.contains(['.', '"']) {
        Cow::Owned(quote(part))
    } else {
        Cow::Borrowed(part)
    }
}

fn quote(part: &str) -> String {
    format!("\"{}\"", part.replace('"', "\"\""))
}

/// A written table name that uses double quotes, split into (schema, name): `"a.b"`
/// is (None, `a.b`), `public."a.b"` and `"public"."a.b"` are (`public`, `a.b`); a
/// quote inside a quoted part is doubled. None for a spelling without quotes (read by
/// the older rules: `schema.table`, else a name holding a dot) and for one that does
/// not parse (an unclosed quote, three parts).
pub fn parse_quoted(written: &str) -> Option<(Option<String>, String)> {
    if !written.contains('"') {
        return None;
    }
    let mut parts = Vec::new();
    let mut chars = written.chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    '"' => break,
                    c => part.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c == '"' {
                    break;
                }
                part.push(c);
                chars.next();
            }
        }
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match chars.next() {
            None => break,
            Some('.') => continue,
            Some(_) => return None,
        }
    }
    match <[String; 2]>::try_from(parts) {
        Ok([schema, name]) => Some((Some(schema), name)),
        Err(parts) if parts.len() == 1 => Some((None, parts.into_iter().next().expect("one part"))),
        Err(_) => None,
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{}.{}", shown(s), shown(&self.name)),
            None => f.write_str(&shown(&self.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dotted_name_is_shown_and_read_in_quotes() {
        let dotted = TableName::new(Some("public"), "a.b");
        let plain = TableName::new(Some("a"), "b");
        assert_eq!(dotted.display_in(Some("public")), "\"a.b\"");
        assert_eq!(dotted.to_string(), "public.\"a.b\"");
        assert_eq!(plain.display_in(Some("public")), "a.b");
        assert_eq!(dotted.quoted(), "\"public\".\"a.b\"");
        assert_eq!(parse_quoted("\"a.b\""), Some((None, "a.b".into())));
        assert_eq!(
            parse_quoted("public.\"a.b\""),
            Some((Some("public".into()), "a.b".into()))
        );
        assert_eq!(parse_quoted("\"a\".\"b\""), Some((Some("a".into()), "b".into())));
        assert_eq!(parse_quoted("\"say \"\"hi\"\"\""), Some((None, "say \"hi\"".into())));
        assert_eq!(parse_quoted("a.b"), None);
        assert_eq!(parse_quoted("\"a.b"), None);
        assert_eq!(parse_quoted("\"x\".\"y\".\"z\""), None);
    }
}
