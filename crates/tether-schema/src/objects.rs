//! What a database declares beyond columns and keys: comments, CHECK constraints,
//! indexes, triggers, sequences, types and views. A copy onto the same engine creates
//! them as `pg_dump --schema-only` / `mariadb-dump --no-data` would.
//!
//! Definitions are kept as the source engine spells them (`pg_get_indexdef`,
//! `SHOW CREATE TRIGGER`): re-deriving DDL would lose what the engine knows best. The
//! neutral parts (names, columns, enum labels, expressions) let another engine build
//! its closest equivalent, or say why it cannot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::name::TableName;

/// A table's objects besides its columns and keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableExtras {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Column name -> comment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_comments: BTreeMap<String, String>,
    /// Column name -> collation, where it differs from the type's default
    /// (PostgreSQL: `pg_catalog."C"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub collations: BTreeMap<String, String>,
    /// Column name -> the user-defined type (enum or domain, or an array of one) it has,
    /// as `schema.name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_types: BTreeMap<String, String>,
    /// Column name -> the extension's type (or array of one) it has, schema-qualified
    /// with its modifiers (PostgreSQL: `public.citext`, `public.geometry(Point,4326)`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extension_types: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Indexes other than those of the primary key and UNIQUE constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// Row security (PostgreSQL): `ALTER TABLE .. ENABLE` / `FORCE ROW LEVEL SECURITY`
    /// and `CREATE POLICY` statements, naming the table by its real name; created with
    /// the triggers, once the rows are in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_security: Vec<String>,
    /// The user functions its policies call, as `schema.name` (created before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_functions: Vec<String>,
    /// The user functions its defaults, generated columns, constraints, indexes and
    /// triggers call, as `schema.name` (PostgreSQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    /// Sequences the columns' defaults draw from, and identity sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequences: Vec<Sequence>,
    /// The extensions whose types, functions, operator classes or operators its
    /// columns, defaults, constraints, indexes and triggers use (PostgreSQL), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// The collations of the user's schemas its columns, domains and indexes use
    /// (PostgreSQL), as `schema.name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_collations: Vec<String>,
    /// The table's whole definition as the engine prints it (MariaDB/MySQL
    /// `SHOW CREATE TABLE`), for a copy onto the same engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Column name -> the type to create on a destination of another engine, where the
    /// neutral type says too little (an enum becoming MariaDB `enum('a','b')`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_types: BTreeMap<String, String>,
    /// Column name -> the longest value in bytes, measured on the source when planning a
    /// copy to an engine whose text types have size classes (MariaDB TEXT, MEDIUMTEXT).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub text_bytes: BTreeMap<String, u64>,
    /// Columns a PostgreSQL inheritance child only inherits (not declared by itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherited_columns: Vec<String>,
    /// Inherited columns whose default is the child's own (set or dropped on the child,
    /// not the parent's): the column's `default` is created with `ALTER TABLE ONLY`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_defaults: Vec<String>,
    /// Inherited columns the child itself makes NOT NULL (its parents do not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_not_null: Vec<String>,
    /// The primary key's and UNIQUE constraints' own definitions (PostgreSQL), for a
    /// copy onto the same engine: name, `INCLUDE`, storage parameters, `DEFERRABLE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyConstraint>,
    /// Constraint name -> comment (`COMMENT ON CONSTRAINT`): keys, CHECKs, foreign keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub constraint_comments: BTreeMap<String, String>,
    /// The index the table is clustered on (`ALTER TABLE .. CLUSTER ON`), a key's too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustered_on: Option<String>,
    /// Columns the engine sets to the current time whenever an UPDATE changes another
    /// column of the row (MariaDB/MySQL `ON UPDATE CURRENT_TIMESTAMP`), with the
    /// fractional digits of that clause (`current_timestamp(6)`: 6).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub updated_now: BTreeMap<String, u8>,
    /// Generated columns the engine computes when the row is read rather than
    /// storing them (MariaDB/MySQL `VIRTUAL`): InnoDB neither cascades nor checks
    /// an FK that references one when a row's value of it changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_columns: Vec<String>,
    /// PostgreSQL: CHECK, UNIQUE and EXCLUDE constraints a partition declares of its
    /// own (not through its partitioned table): they hold for that partition's rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_constraints: Vec<PartitionConstraint>,
    /// Rules on the table (PostgreSQL `CREATE RULE`, as `pg_get_ruledef` prints it,
    /// naming the table schema-qualified), with its `ALTER TABLE .. DISABLE RULE` when
    /// not on as usual: created once the rows are in (a rule rewrites the load's own
    /// statements otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<NamedStatement>,
    /// Extended statistics objects (PostgreSQL `CREATE STATISTICS`, as
    /// `pg_get_statisticsobjdef` prints it), created once the rows are in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<NamedStatement>,
    /// Column name -> its storage where it differs from its type's (PostgreSQL
    /// `SET STORAGE`: `PLAIN`, `MAIN`, `EXTERNAL`, `EXTENDED`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_storage: BTreeMap<String, String>,
    /// Column name -> its own statistics target (PostgreSQL `SET STATISTICS`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_statistics: BTreeMap<String, i32>,
    /// The privileges granted on the table or its columns to roles other than its
    /// owner (`SELECT (v) TO reader`): reported, not copied (the roles are the
    /// destination's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
    /// The composite type a typed table is declared `OF` (PostgreSQL), as `schema.name`:
    /// the same engine creates it and links the table to it (`ALTER TABLE .. OF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_type: Option<String>,
    /// MariaDB/MySQL: index or unique key name -> its parts, where one is no whole
    /// column in ascending order (a prefix `name(3)`, `DESC`) or the key is `WITHOUT
    /// OVERLAPS`: another engine builds its closest equivalent from them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub key_parts: BTreeMap<String, KeyParts>,
    /// MariaDB/MySQL: the value the table's AUTO_INCREMENT hands out next (it never
    /// goes back: ids of deleted rows are not given again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment: Option<i64>,
}

/// The parts of a MariaDB/MySQL index or unique key, in the key's column order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyParts {
    /// Per column: the characters (bytes, of a binary column) a prefix part holds;
    /// None for the whole column.
    pub prefixes: Vec<Option<u32>>,
    /// Per column: sorted `DESC`.
    pub descending: Vec<bool>,
    /// `UNIQUE (.., p WITHOUT OVERLAPS)` of application-time period `p`: its name and
    /// its start and end columns (the server lists them as the key's last two columns,
    /// end first). Two rows of the other columns' values may not have overlapping
    /// `[start, end)` ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_overlaps: Option<(String, String, String)>,
}

/// A constraint declared on one partition of a partitioned table (PostgreSQL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionConstraint {
    /// The partition, as `schema.name` quoted (`"public"."ev2"`).
    pub partition: String,
    pub name: String,
    /// What follows `CONSTRAINT name` (`pg_get_constraintdef`): `UNIQUE (a, k)`.
    pub definition: String,
    /// A UNIQUE or EXCLUDE constraint (backed by an index), else a CHECK.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub indexed: bool,
}

/// An object of a table that is one statement, with its name: a rule, a statistics
/// object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedStatement {
    pub name: String,
    /// The statements creating it, `;\n` between two.
    pub definition: String,
    /// The user functions it calls, as `schema.name` (PostgreSQL; created before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
}

/// A primary key or UNIQUE constraint as the engine declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyConstraint {
    pub name: String,
    /// The primary key (else a UNIQUE constraint).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary: bool,
    /// What follows `CONSTRAINT name`: `PRIMARY KEY (id) INCLUDE (note) WITH
    /// (fillfactor='70') DEFERRABLE`.
    pub definition: String,
}

impl TableExtras {
    pub fn is_empty(&self) -> bool {
        self == &TableExtras::default()
    }
}

/// A CHECK (or, on PostgreSQL, EXCLUDE) constraint of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    /// As the engine prints it after `CONSTRAINT name`: `CHECK ((price > 0))`,
    /// `EXCLUDE USING gist (...)`.
    pub definition: String,
    /// EXCLUDE rather than CHECK: backed by an index, built after the load.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclusion: bool,
}

/// An index that backs no primary key or UNIQUE constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    /// Key columns; empty when a key part is an expression.
    pub columns: Vec<String>,
    pub unique: bool,
    /// `btree`, `gin`, `hash`, ...
    pub method: String,
    /// The `WHERE` of a partial index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// The statement creating it, as the engine prints it (`pg_get_indexdef`); empty
    /// when only its columns are known (then `CREATE INDEX name ON table (columns)`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub definition: String,
    /// `COMMENT ON INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A trigger on a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub name: String,
    /// The statement creating it (`pg_get_triggerdef`, `SHOW CREATE TRIGGER`).
    pub definition: String,
    /// The function it calls (PostgreSQL), as `schema.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// A sequence a column's default or identity draws from (PostgreSQL; MariaDB's
/// `DEFAULT nextval(seq)`, and a MariaDB sequence the table's triggers use, `column`
/// then empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    pub schema: Option<String>,
    pub name: String,
    /// The column whose default or identity uses it.
    pub column: String,
    /// An identity column's own sequence (created with the column).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity: bool,
    /// `OWNED BY` that column (serial columns).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owned: bool,
    /// `integer`, `bigint`, `smallint`.
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
    /// The value last handed out (None: never used, or not readable); MariaDB: the
    /// next value not cached, which its copy hands out first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_value: Option<i64>,
}

impl Sequence {
    /// SQLite's counter of an AUTOINCREMENT key `column` (its row of `sqlite_sequence`,
    /// which keeps a deleted last key from being handed out again), at `last_value`.
    pub fn sqlite_autoincrement(column: &str, last_value: Option<i64>) -> Sequence {
        Sequence {
            schema: None,
            name: "sqlite_sequence".into(),
            column: column.to_string(),
            identity: true,
            owned: false,
            data_type: "integer".into(),
            start: 1,
            increment: 1,
            min: 1,
            max: i64::MAX,
            cache: 1,
            cycle: false,
            last_value,
        }
    }
}

/// Objects of the database that are not tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaObjects {
    /// Enums and domains, in creation order (a domain after the types it uses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<UserType>,
    /// Views, in creation order (a view after the views it reads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<View>,
    /// Functions the tables use, in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<Function>,
    /// Extensions the tables use (PostgreSQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// Collations of the user's schemas the tables use (PostgreSQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collations: Vec<Collation>,
    /// View name -> the sequences it reads or draws from (MariaDB `SELECT .. FROM seq`,
    /// `NEXT VALUE FOR seq`, also in the routines it calls): created with it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub view_sequences: BTreeMap<String, Vec<Sequence>>,
    /// Objects of the database no copy creates (MariaDB events, stored routines no
    /// copied trigger or view calls), as (kind, name): reported skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_copied: Vec<(String, String)>,
    /// Foreign keys whose parent table does not exist (MariaDB/MySQL: dropped while
    /// `foreign_key_checks` was 0): kept out of the tables' keys, reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dangling_fks: Vec<DanglingFk>,
}

/// A foreign key left behind by its parent table (MariaDB/MySQL lets
/// `foreign_key_checks = 0` drop a referenced table). The server refuses every
/// non-NULL value of its columns (1452) and has nothing to cascade from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DanglingFk {
    /// The child table.
    pub table: String,
    pub name: String,
    pub columns: Vec<String>,
    /// The table it names, which is not there.
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
}

impl DanglingFk {
    /// What it is, in a sentence naming the key, the child and the missing parent.
    pub fn describe(&self) -> String {
        format!(
            "table {}'s foreign key {} ({}) references table {} ({}), which does not exist (dropped while \
             foreign_key_checks was 0, the key left behind): the server refuses every non-NULL value of {} there \
             (1452)",
            self.table,
            self.name,
            self.columns.join(", "),
            self.referenced_table,
            self.referenced_columns.join(", "),
            self.columns.join(", "),
        )
    }
}

impl SchemaObjects {
    pub fn is_empty(&self) -> bool {
        self == &SchemaObjects::default()
    }

    pub fn user_type(&self, qualified: &str) -> Option<&UserType> {
        self.types.iter().find(|t| t.qualified() == qualified)
    }

    /// The user types tables with these `extras` need (their columns', a typed table's),
    /// with the types those need, in creation order.
    pub fn types_for<'a>(&self, extras: impl IntoIterator<Item = &'a TableExtras>) -> Vec<&UserType> {
        self.types_named(
            extras
                .into_iter()
                .flat_map(|e| e.user_types.values().chain(&e.of_type).cloned()),
        )
    }

    /// The user types `names` (as `schema.name`), with the types those need, in
    /// creation order.
    pub fn types_named(&self, names: impl IntoIterator<Item = String>) -> Vec<&UserType> {
        let mut wanted: Vec<String> = names.into_iter().collect();
        let mut i = 0;
        while i < wanted.len() {
            if let Some(
                TypeKind::Domain { uses, .. } | TypeKind::Composite { uses, .. } | TypeKind::Range { uses, .. },
            ) = self.user_type(&wanted[i]).map(|t| &t.kind)
            {
                for u in uses {
                    if !wanted.contains(u) {
                        wanted.push(u.clone());
                    }
                }
            }
            i += 1;
        }
        self.types.iter().filter(|t| wanted.contains(&t.qualified())).collect()
    }

    /// The functions `names` call, with those and so on: what creating `names` needs,
    /// in creation order (plain functions before aggregates, which name them).
    pub fn functions_with_callees<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<&Function> {
        let mut wanted: Vec<&str> = names.into_iter().collect();
        let mut i = 0;
        while i < wanted.len() {
            if let Some(f) = self.functions.iter().find(|f| f.name == wanted[i]) {
                for c in &f.calls {
                    if !wanted.contains(&c.as_str()) {
                        wanted.push(c);
                    }
                }
            }
            i += 1;
        }
        self.functions
            .iter()
            .filter(|f| wanted.contains(&f.name.as_str()))
            .collect()
    }

    /// The materialized views that read any of `tables` (directly or through other
    /// views), in creation order (one reading another after it): what a load into
    /// those tables leaves stale.
    pub fn materialized_views_reading(&self, tables: &[TableName]) -> Vec<&View> {
        let mut affected: Vec<TableName> = tables.to_vec();
        let mut views: Vec<&View> = Vec::new();
        loop {
            let before = views.len();
            for v in &self.views {
                if !affected.contains(&v.table_name()) && v.reads.iter().any(|r| affected.contains(r)) {
                    affected.push(v.table_name());
                    views.push(v);
                }
            }
            if views.len() == before {
                break;
            }
        }
        let mut out: Vec<&View> = Vec::new();
        while !views.is_empty() {
            let ready = views
                .iter()
                .position(|v| v.reads.iter().all(|r| !views.iter().any(|o| &o.table_name() == r)))
                .unwrap_or(0);
            out.push(views.remove(ready));
        }
        out.retain(|v| v.materialized);
        out
    }

    /// The views that read only `tables` (and such views), in creation order.
    pub fn views_over(&self, tables: &[TableName]) -> Vec<&View> {
        let mut known: Vec<TableName> = tables.to_vec();
        let mut out: Vec<&View> = Vec::new();
        loop {
            let before = out.len();
            for v in &self.views {
                if !out.iter().any(|o| o.table_name() == v.table_name()) && v.reads.iter().all(|r| known.contains(r)) {
                    known.push(v.table_name());
                    out.push(v);
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }
}

/// A user-defined type (PostgreSQL `CREATE TYPE ... AS ENUM`, `CREATE DOMAIN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserType {
    pub schema: Option<String>,
    pub name: String,
    #[serde(flatten)]
    pub kind: TypeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl UserType {
    pub fn qualified(&self) -> String {
        TableName::new(self.schema.as_deref(), &self.name).to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeKind {
    Enum {
        labels: Vec<String>,
    },
    Domain {
        /// The base type as the engine spells it (`numeric(10,2)`, `public.mood`).
        base: String,
        /// The user types the base names, as `schema.name`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        uses: Vec<String>,
        not_null: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collation: Option<String>,
        /// `CONSTRAINT name CHECK (...)`, one per constraint.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        checks: Vec<String>,
    },
    /// `CREATE TYPE .. AS (..)`: a row of named attributes.
    Composite {
        /// `name type [COLLATE c]`, as `format_type` prints the type.
        attributes: Vec<String>,
        /// The user types the attributes use, as `schema.name`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        uses: Vec<String>,
    },
    /// `CREATE TYPE .. AS RANGE (..)` (PostgreSQL).
    Range {
        /// The subtype as `format_type` prints it (`double precision`).
        subtype: String,
        /// The other options as `CREATE TYPE` takes them: `collation = ..`,
        /// `subtype_opclass = ..`, `canonical = ..`, `subtype_diff = ..`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        options: Vec<String>,
        /// The user types the subtype names, as `schema.name`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        uses: Vec<String>,
    },
}

/// A view over tables (and other views).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub schema: Option<String>,
    pub name: String,
    /// The statement creating it.
    pub definition: String,
    /// PostgreSQL materialized view: created empty, refreshed after the load.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub materialized: bool,
    /// The tables and views it reads.
    pub reads: Vec<TableName>,
    /// The user functions and aggregates it calls, as `schema.name` (PostgreSQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    /// A materialized view's indexes, as `pg_get_indexdef` prints them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<String>,
    /// The extensions whose functions, types or operators it uses (PostgreSQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Its triggers (INSTEAD OF; PostgreSQL and SQLite): without them a statement
    /// through the view acts otherwise on a copy, or fails there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// Its rules but `_RETURN` (PostgreSQL `CREATE RULE .. DO INSTEAD`), as
    /// `pg_get_ruledef` prints them with every name schema-qualified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<NamedStatement>,
}

impl View {
    pub fn table_name(&self) -> TableName {
        TableName::new(self.schema.as_deref(), &self.name)
    }
}

/// A function (PostgreSQL), created before the triggers that call it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// `schema.name`.
    pub name: String,
    /// `pg_get_functiondef`: `CREATE OR REPLACE FUNCTION ...`; for an aggregate,
    /// `CREATE OR REPLACE AGGREGATE ...` built from `pg_aggregate`.
    pub definition: String,
    /// The user functions it calls (recorded dependencies, and names followed by `(`
    /// in its body), as `schema.name`: created with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<String>,
    /// It names a table (its row type in the signature, `RETURNS SETOF film`, or the
    /// table in a `BEGIN ATOMIC` body): created once the tables are, with the views.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_tables: bool,
    /// It names a view (`RETURNS SETOF a_view`): created after the views.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_views: bool,
    /// The user types (enums, domains, composites) its signature uses, as `schema.name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Reached only through its name in another function's body (dynamic SQL, or a
    /// function of that name elsewhere): a failure to create it is said, not fatal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub maybe: bool,
}

/// An extension a table uses (PostgreSQL `CREATE EXTENSION`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    /// The schema its objects are in.
    pub schema: String,
}

/// A collation of the user's schemas (PostgreSQL `CREATE COLLATION`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collation {
    /// `schema.name`.
    pub name: String,
    /// `CREATE COLLATION IF NOT EXISTS ... (provider = icu, locale = '...', ...)`.
    pub definition: String,
}
