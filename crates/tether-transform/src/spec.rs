//! [`TransformSpec`]: one column's transformer as the job file writes it.
//!
//! In TOML either a bare kind (`email = "email"`) or a table with `kind` and options
//! (`email = { kind = "email", keep_domain = true }`). Options are checked when the
//! transformer is built, against the column it is built for.

use serde::de::{self, Deserialize, Deserializer};
use serde::{Serialize, Serializer};
use std::fmt;

/// A transformer kind and its options, as written in the job file.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSpec {
    pub kind: String,
    pub options: toml::Table,
}

impl TransformSpec {
    /// A spec with no options.
    pub fn new(kind: &str) -> Self {
        TransformSpec {
            kind: kind.to_string(),
            options: toml::Table::new(),
        }
    }

    /// The same spec with one more option (builder style, for tests and callers).
    pub fn with(mut self, option: &str, value: impl Into<toml::Value>) -> Self {
        self.options.insert(option.to_string(), value.into());
        self
    }

    /// Parses the TOML form of one spec: a string or an inline table with `kind`.
    pub fn from_toml(value: &toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::String(kind) => Ok(TransformSpec::new(kind)),
            toml::Value::Table(table) => {
                let mut options = table.clone();
                let kind = match options.remove("kind") {
                    Some(toml::Value::String(k)) => k,
                    Some(other) => return Err(format!("`kind` must be a string, found {}", other.type_str())),
                    None => return Err("a transformer table needs `kind` (e.g. { kind = \"email\" })".into()),
                };
                Ok(TransformSpec { kind, options })
            }
            other => Err(format!(
                "a transformer is a kind (\"email\") or a table ({{ kind = \"email\", ... }}), found {}",
                other.type_str()
            )),
        }
    }
}

/// `kind` alone, or `kind(option=value, ...)` with options in name order.
impl fmt::Display for TransformSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.options.is_empty() {
            f.write_str("(")?;
            let mut names: Vec<&String> = self.options.keys().collect();
            names.sort();
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{name}={}", self.options[name.as_str()])?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for TransformSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(d)?;
        TransformSpec::from_toml(&value).map_err(de::Error::custom)
    }
}

/// Serializes to the same shapes it reads: a string when there are no options.
impl Serialize for TransformSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.options.is_empty() {
            s.serialize_str(&self.kind)
        } else {
            let mut table = self.options.clone();
            table.insert("kind".into(), toml::Value::String(self.kind.clone()));
            table.serialize(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Columns {
        email: TransformSpec,
        name: TransformSpec,
    }

    #[test]
    fn both_toml_forms_parse() {
        let c: Columns = toml::from_str(
            r#"
            email = { kind = "email", keep_domain = true }
            name = "full_name"
            "#,
        )
        .unwrap();
        assert_eq!(c.email, TransformSpec::new("email").with("keep_domain", true));
        assert_eq!(c.name, TransformSpec::new("full_name"));
        assert_eq!(c.email.to_string(), "email(keep_domain=true)");
    }

    #[test]
    fn a_table_without_kind_is_an_error_that_says_so() {
        let err = toml::from_str::<Columns>("email = { keep_domain = true }\nname = \"x\"")
            .err()
            .unwrap();
        assert!(err.to_string().contains("needs `kind`"), "{err}");
    }
}
