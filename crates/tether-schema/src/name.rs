//! A table's identity (optional schema plus name), shared by the model and the objects
//! around it.

use serde::{Deserialize, Serialize};
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

    /// The name as shown to users: `schema.table` unless the schema is the default one.
    pub fn display_in(&self, default_schema: Option<&str>) -> String {
        match (&self.schema, default_schema) {
            (Some(s), Some(d)) if s == d => self.name.clone(),
            (Some(s), _) => format!("{s}.{}", self.name),
            (None, _) => self.name.clone(),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}
