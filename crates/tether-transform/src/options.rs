//! Reading a transformer's options: typed getters that record the effective value of
//! every option (defaults included) for the canonical description, and reject options
//! the kind does not know.

use crate::error::TransformError;

pub(crate) struct Opts<'a> {
    pub kind: &'a str,
    raw: &'a toml::Table,
    used: Vec<&'static str>,
    pub canonical: toml::Table,
}

impl<'a> Opts<'a> {
    pub fn new(kind: &'a str, raw: &'a toml::Table) -> Self {
        Opts {
            kind,
            raw,
            used: Vec::new(),
            canonical: toml::Table::new(),
        }
    }

    fn take(&mut self, name: &'static str) -> Option<&'a toml::Value> {
        self.used.push(name);
        self.raw.get(name)
    }

    pub fn bad(&self, name: &str, reason: impl Into<String>) -> TransformError {
        TransformError::bad_option(self.kind, name, reason)
    }

    /// Records a derived option value in the canonical description.
    pub fn record(&mut self, name: &str, value: impl Into<toml::Value>) {
        self.canonical.insert(name.to_string(), value.into());
    }

    pub fn bool(&mut self, name: &'static str, default: bool) -> Result<bool, TransformError> {
        let v = match self.take(name) {
            None => default,
            Some(toml::Value::Boolean(b)) => *b,
            Some(other) => return Err(self.bad(name, format!("expected true or false, found {}", other.type_str()))),
        };
        self.record(name, v);
        Ok(v)
    }

    pub fn int(&mut self, name: &'static str) -> Result<Option<i64>, TransformError> {
        let v = match self.take(name) {
            None => return Ok(None),
            Some(toml::Value::Integer(i)) => *i,
            Some(other) => return Err(self.bad(name, format!("expected an integer, found {}", other.type_str()))),
        };
        self.record(name, v);
        Ok(Some(v))
    }

    pub fn int_or(&mut self, name: &'static str, default: i64) -> Result<i64, TransformError> {
        let v = self.int(name)?.unwrap_or(default);
        self.record(name, v);
        Ok(v)
    }

    pub fn float(&mut self, name: &'static str) -> Result<Option<f64>, TransformError> {
        let v = match self.take(name) {
            None => return Ok(None),
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(toml::Value::Float(f)) if f.is_finite() => *f,
            Some(other) => return Err(self.bad(name, format!("expected a number, found {}", other))),
        };
        self.record(name, v);
        Ok(Some(v))
    }

    pub fn string(&mut self, name: &'static str) -> Result<Option<String>, TransformError> {
        let v = match self.take(name) {
            None => return Ok(None),
            Some(toml::Value::String(s)) => s.clone(),
            Some(other) => return Err(self.bad(name, format!("expected a string, found {}", other.type_str()))),
        };
        self.record(name, v.as_str());
        Ok(Some(v))
    }

    /// One of `allowed`, `default` when absent.
    pub fn choice(&mut self, name: &'static str, allowed: &[&str], default: &str) -> Result<String, TransformError> {
        let v = self.string(name)?.unwrap_or_else(|| default.to_string());
        if !allowed.contains(&v.as_str()) {
            return Err(self.bad(name, format!("`{v}` is not one of {}", allowed.join(", "))));
        }
        self.record(name, v.as_str());
        Ok(v)
    }

    /// The raw TOML value of an option, recorded as given.
    pub fn value(&mut self, name: &'static str) -> Option<toml::Value> {
        let v = self.take(name).cloned();
        if let Some(v) = &v {
            self.record(name, v.clone());
        }
        v
    }

    /// Fails on the first option the kind did not read.
    pub fn finish(&self) -> Result<(), TransformError> {
        let mut names: Vec<&String> = self.raw.keys().collect();
        names.sort();
        for name in names {
            if !self.used.contains(&name.as_str()) {
                let mut valid: Vec<&str> = self.used.clone();
                valid.sort();
                valid.dedup();
                return Err(TransformError::UnknownOption {
                    kind: self.kind.to_string(),
                    option: name.clone(),
                    valid: if valid.is_empty() {
                        "none".into()
                    } else {
                        valid.join(", ")
                    },
                });
            }
        }
        Ok(())
    }
}
