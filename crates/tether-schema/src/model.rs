//! The engine-neutral model of a database: tables, columns, keys and foreign keys.
//!
//! Introspection (in `tether-connect`) fills these types from SQLite, PostgreSQL and
//! MariaDB/MySQL; everything above reads only these types. The serde shape is the
//! documented `tether schema --format json` output, so field names are stable.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::engine::Engine;
pub use crate::name::TableName;
use crate::objects::{SchemaObjects, TableExtras};
use crate::types::DataType;

/// A whole database as one engine sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Serialized as `sqlite`, `postgres` or `mysql`.
    pub engine: Engine,
    /// The schema unqualified names resolve to (`public` on PostgreSQL); `None` on
    /// engines without schemas. Tables in it are written without a prefix in
    /// `load_order` and `cycles`.
    pub default_schema: Option<String>,
    pub tables: Vec<Table>,
    /// Types, views and functions around the tables.
    #[serde(default, skip_serializing_if = "SchemaObjects::is_empty")]
    pub objects: SchemaObjects,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub schema: Option<String>,
    pub columns: Vec<Column>,
    /// Primary-key columns in key order; empty when the table has none.
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub unique_keys: Vec<UniqueKey>,
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// PostgreSQL `INHERITS`: the tables this one inherits columns from. Its rows are
    /// its own; a parent's are not its children's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<TableName>,
    /// PostgreSQL: other tables inherit from this one, so only `FROM ONLY` reads its
    /// own rows (a plain `FROM` adds its children's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub has_children: bool,
    /// PostgreSQL declarative partitioning: the table's rows live in its partitions,
    /// which are part of it (not tables of their own in this model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Partitioning>,
    /// Comments, CHECKs, indexes, triggers, sequences: what a faithful copy creates.
    #[serde(default, skip_serializing_if = "TableExtras::is_empty")]
    pub extras: TableExtras,
}

/// How a partitioned table splits its rows (PostgreSQL `PARTITION BY`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partitioning {
    /// `RANGE (paid_at)`, as `pg_get_partkeydef` spells it.
    pub key: String,
    pub partitions: Vec<Partition>,
}

/// One partition of a partitioned table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    pub schema: Option<String>,
    pub name: String,
    /// `FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')` or `DEFAULT`.
    pub bound: String,
    /// Set when the partition is partitioned itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Box<Partitioning>>,
}

impl Table {
    /// The key identifying rows of the table (in a subset, a key map, a message, and
    /// the key a re-run matches rows by: `ON CONFLICT (key)`): the primary key, else the
    /// first unique key without a predicate whose columns are all NOT NULL, else the
    /// first unique key without a predicate, else every column. A NULL in a unique key
    /// matches no row, so a nullable key first would miss rows a NOT NULL one tells
    /// apart (`ON CONFLICT (a)` never fires for a = NULL, and the row then clashes on
    /// the other key).
    pub fn row_key(&self) -> Vec<String> {
        if !self.primary_key.is_empty() {
            return self.primary_key.clone();
        }
        let not_null = |cols: &[String]| cols.iter().all(|c| self.column(c).is_some_and(|x| !x.nullable));
        let keys = || self.unique_keys.iter().filter(|u| u.predicate.is_none());
        if let Some(u) = keys().find(|u| not_null(&u.columns)).or_else(|| keys().next()) {
            return u.columns.clone();
        }
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    pub fn table_name(&self) -> TableName {
        TableName {
            schema: self.schema.clone(),
            name: self.name.clone(),
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True when `columns` (in any order) are exactly the primary key or a unique key.
    pub fn is_unique_key(&self, columns: &[String]) -> bool {
        let same = |key: &[String]| key.len() == columns.len() && columns.iter().all(|c| key.contains(c));
        (!self.primary_key.is_empty() && same(&self.primary_key)) || self.unique_keys.iter().any(|u| same(&u.columns))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The type as the engine spells it (`character varying(40)`, `int(11)`, `NVARCHAR(40)`).
    #[serde(rename = "type")]
    pub engine_type: String,
    /// The same type in Tether's engine-neutral vocabulary, used to map types across engines.
    pub normalized_type: DataType,
    pub nullable: bool,
    /// The default as an SQL expression in the engine's dialect.
    pub default: Option<String>,
    /// How the engine assigns values on its own, if it does.
    pub identity: Option<Identity>,
    /// The expression of a generated (computed) column; such columns are never written.
    pub generated: Option<String>,
}

/// How a column gets values without the user providing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// MariaDB/MySQL `AUTO_INCREMENT`, SQLite `INTEGER PRIMARY KEY`.
    AutoIncrement,
    /// PostgreSQL `serial`/`bigserial` (a `nextval` default).
    Serial,
    /// PostgreSQL `GENERATED ALWAYS AS IDENTITY`.
    Always,
    /// PostgreSQL `GENERATED BY DEFAULT AS IDENTITY`.
    ByDefault,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UniqueKey {
    pub name: String,
    pub columns: Vec<String>,
    /// True for a declared `UNIQUE` constraint, false for a bare unique index.
    pub constraint: bool,
    /// The `WHERE` of a partial unique index (PostgreSQL, SQLite); such an index cannot
    /// be the target of a foreign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    /// Child columns, in key order.
    pub columns: Vec<String>,
    pub referenced_table: String,
    pub referenced_schema: Option<String>,
    /// Parent columns, paired position by position with `columns`.
    pub referenced_columns: Vec<String>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
    /// PostgreSQL `DEFERRABLE` (false elsewhere).
    #[serde(default)]
    pub deferrable: bool,
    /// PostgreSQL `INITIALLY DEFERRED`.
    #[serde(default)]
    pub initially_deferred: bool,
    /// Declared in Tether's configuration, not in the database.
    #[serde(rename = "virtual", default)]
    pub is_virtual: bool,
    /// The columns `ON DELETE SET NULL (..)` / `SET DEFAULT (..)` sets (PostgreSQL 15);
    /// empty: all of `columns`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_set_columns: Vec<String>,
    /// PostgreSQL `MATCH FULL`: a key with some of its columns NULL and others not is
    /// refused (else MATCH SIMPLE: any NULL column lets the row through).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub match_full: bool,
    /// PostgreSQL `NOT VALID`: checked for rows written after it was added only; rows
    /// already there may have no parent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_valid: bool,
    /// PostgreSQL: declared on this partition of the table only, so it holds for the
    /// partition's rows, not the others'. None: declared on the table itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<TableName>,
}

impl ForeignKey {
    pub fn referenced_name(&self) -> TableName {
        TableName {
            schema: self.referenced_schema.clone(),
            name: self.referenced_table.clone(),
        }
    }
}

/// A referential action, spelled as the engines report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FkAction {
    #[serde(rename = "CASCADE")]
    Cascade,
    #[serde(rename = "SET NULL")]
    SetNull,
    #[serde(rename = "SET DEFAULT")]
    SetDefault,
    #[serde(rename = "RESTRICT")]
    Restrict,
    #[serde(rename = "NO ACTION")]
    NoAction,
}

impl FkAction {
    pub fn as_sql(self) -> &'static str {
        match self {
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
            FkAction::Restrict => "RESTRICT",
            FkAction::NoAction => "NO ACTION",
        }
    }

    /// Parses the spellings engines report (`CASCADE`, `SET NULL`, `NO ACTION`, ...),
    /// case-insensitively and with `_` or space between words.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_uppercase().replace('_', " ");
        Some(match t.as_str() {
            "CASCADE" => FkAction::Cascade,
            "SET NULL" => FkAction::SetNull,
            "SET DEFAULT" => FkAction::SetDefault,
            "RESTRICT" => FkAction::Restrict,
            "NO ACTION" => FkAction::NoAction,
            _ => return None,
        })
    }
}

impl fmt::Display for FkAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sql())
    }
}

impl Schema {
    /// Why foreign key `fk` of table `t` cannot work, naming what it lacks (`w has no
    /// column nope`, `1 column paired with 2`): a column its parent (or `t`) does not
    /// have, or another number of referenced columns than its own. SQLite takes both
    /// declarations without checking them, then refuses every write to `t` once foreign
    /// keys are on ("foreign key mismatch"). None for a usable key, and for one whose
    /// parent is not in this database (reported where the key is left out).
    pub fn foreign_key_fault(&self, t: &Table, fk: &ForeignKey) -> Option<String> {
        let parent = self.table(&fk.referenced_name())?;
        // SQLite's names (and MariaDB's column names) are without case.
        let named = |table: &Table, column: &str| match self.engine {
            crate::Engine::Postgres => table.column(column).is_some(),
            _ => table.columns.iter().any(|c| c.name.eq_ignore_ascii_case(column)),
        };
        for (table, columns) in [(t, &fk.columns), (parent, &fk.referenced_columns)] {
            if let Some(c) = columns.iter().find(|c| !named(table, c)) {
                return Some(format!("{} has no column {c}", self.display_name(&table.table_name())));
            }
        }
        let (own, referenced) = (fk.columns.len(), fk.referenced_columns.len());
        (own != referenced).then(|| match referenced {
            0 => format!("its {own} column(s) reference no column (the parent has no primary key)"),
            _ => format!(
                "{own} column{} paired with {referenced}",
                if own == 1 { "" } else { "s" }
            ),
        })
    }

    pub fn table(&self, name: &TableName) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name == name.name && t.schema == name.schema)
    }

    /// Finds a table by how a user writes it: `name` (in the default schema, or the only
    /// table of that name) or `schema.name`.
    /// Either part may be in double quotes (`"a.b"`, `public."a.b"`): the name as it is.
    pub fn find_table(&self, written: &str) -> Option<&Table> {
        let name = match crate::name::parse_quoted(written) {
            Some((Some(s), name)) => return self.table(&TableName { schema: Some(s), name }),
            Some((None, name)) => name,
            None => {
                let qualified = |t: &&Table| {
                    t.schema
                        .as_deref()
                        .is_some_and(|s| format!("{s}.{}", t.name) == written)
                };
                if let Some(t) = self.tables.iter().find(qualified) {
                    return Some(t);
                }
                written.to_string()
            }
        };
        let written = name.as_str();
        let by_name: Vec<&Table> = self.tables.iter().filter(|t| t.name == written).collect();
        match by_name.as_slice() {
            [one] => Some(one),
            many => many
                .iter()
                .copied()
                .find(|t| t.schema.as_deref() == self.default_schema.as_deref()),
        }
    }

    /// The user-facing name of a table (`schema.table` outside the default schema).
    /// The partitioned table holding a partition (at any depth) written as `written`
    /// (`name` or `schema.name`): partitions are part of their table, not tables here.
    pub fn partition_parent(&self, written: &str) -> Option<&Table> {
        fn holds(p: &Partitioning, written: &str) -> bool {
            p.partitions.iter().any(|part| {
                part.name == written
                    || part
                        .schema
                        .as_deref()
                        .is_some_and(|s| format!("{s}.{}", part.name) == written)
                    || part.partitioning.as_deref().is_some_and(|sub| holds(sub, written))
            })
        }
        let written = match crate::name::parse_quoted(written) {
            Some((Some(s), name)) => format!("{s}.{name}"),
            Some((None, name)) => name,
            None => written.to_string(),
        };
        self.tables
            .iter()
            .find(|t| t.partitioning.as_ref().is_some_and(|p| holds(p, &written)))
    }

    pub fn display_name(&self, name: &TableName) -> String {
        name.display_in(self.default_schema.as_deref())
    }

    /// Sorts tables, their foreign keys and unique keys by name, so output and
    /// comparisons do not depend on catalog order.
    pub fn sort(&mut self) {
        self.tables
            .sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        for t in &mut self.tables {
            t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
            t.unique_keys.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
}
