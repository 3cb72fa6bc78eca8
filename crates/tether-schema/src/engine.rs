//! The database engines Tether speaks to, as a value every crate can name.
//!
//! Only `tether-connect` (and test support) decides anything by matching on it; the
//! rest of the workspace passes it along or prints it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An engine family. MariaDB and MySQL are one family (`mysql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Sqlite,
    Postgres,
    Mysql,
}

impl Engine {
    /// The name used in URLs, JSON output and messages: `sqlite`, `postgres`, `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_its_lowercase_name() {
        for e in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
            assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{}\"", e.name()));
        }
        assert_eq!(
            serde_json::from_str::<Engine>("\"postgres\"").unwrap(),
            Engine::Postgres
        );
        assert!(serde_json::from_str::<Engine>("\"oracle\"").is_err());
    }
}
