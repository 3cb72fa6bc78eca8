//! SQL rendering per engine: identifiers, literals, types and DDL.
//!
//! Callers ask an [`Engine`]'s dialect to render; they never match on the engine.

use tether_schema::{sql, Column, DataType, FkAction, ForeignKey, Partitioning, Table, TypeKind, UserType};

use crate::url::Engine;
use crate::value::{hex, Value};

/// Statements creating a table's objects besides columns and keys, in the order a
/// restore runs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableObjects {
    /// Before `CREATE TABLE`: the sequences its defaults draw from.
    pub before: Vec<String>,
    /// Right after the tables: sequence ownership, comments, unique indexes (a foreign
    /// key may need one).
    pub after_create: Vec<String>,
    /// After the rows are in: CHECK and EXCLUDE constraints, indexes, identity
    /// `ALWAYS`, triggers (so none fires on a copied row).
    pub after_load: Vec<String>,
}

/// How one engine spells SQL.
pub trait Dialect: Sync {
    fn engine(&self) -> Engine;

    /// Quotes an identifier.
    fn ident(&self, name: &str) -> String;

    /// Renders a value as an SQL literal.
    fn literal(&self, v: &Value) -> String;

    /// The column type to create for a neutral type. `keyed`: the column is part of a
    /// key, so it needs a bounded type on engines that cannot index unbounded text.
    fn column_type(&self, ty: &DataType, keyed: bool) -> String;

    /// The column's own engine type, when a table copied from this same engine can keep
    /// it (built-in types; not PostgreSQL enums or domains the destination lacks).
    fn native_type(&self, c: &Column) -> Option<String> {
        Some(c.engine_type.clone()).filter(|t| !t.is_empty())
    }

    /// What makes the engine fill a column itself, for a column that had that in the
    /// source (serial, identity, auto-increment), or nothing.
    fn identity_clause(&self, _c: &Column, _table: &Table) -> &'static str {
        ""
    }

    /// Whether foreign keys can be added to an existing table with ALTER TABLE.
    fn supports_add_foreign_key(&self) -> bool {
        true
    }

    /// `schema.table` or `table`, quoted.
    fn table(&self, schema: Option<&str>, name: &str) -> String {
        match schema {
            Some(s) => format!("{}.{}", self.ident(s), self.ident(name)),
            None => self.ident(name),
        }
    }

    fn qualified(&self, t: &Table) -> String {
        self.table(t.schema.as_deref(), &t.name)
    }

    /// The table as a query names it to read its own rows and nothing else. PostgreSQL
    /// says `ONLY` for a table others inherit from: a plain `FROM` adds their rows.
    fn own_rows(&self, t: &Table) -> String {
        self.qualified(t)
    }

    /// What follows the column list of `CREATE TABLE`: PostgreSQL's `INHERITS` and
    /// `PARTITION BY`. Other engines have neither (one plain table per source table).
    fn table_options(&self, _table: &Table) -> String {
        String::new()
    }

    /// The statements creating a partitioned table's partitions, after the table.
    fn create_partitions(&self, _table: &Table) -> Vec<String> {
        Vec::new()
    }

    /// An inheritance child's column that only its parent declares: `CREATE TABLE`
    /// leaves it to `INHERITS`.
    fn declared_by_parent(&self, _c: &Column, _table: &Table) -> bool {
        false
    }

    /// One column of `CREATE TABLE`. `keyed`: the column is part of a key.
    fn column_definition(&self, c: &Column, table: &Table, same_engine: bool, keyed: bool) -> String {
        portable_column(self, c, table, same_engine, keyed)
    }

    /// CHECK constraints are added after the load (`table_objects`) rather than in
    /// `CREATE TABLE`.
    fn checks_after_load(&self) -> bool {
        false
    }

    /// `CREATE INDEX` for an index of `table`: its own definition when it has one,
    /// else built from its columns.
    fn index_sql(&self, table: &Table, i: &tether_schema::Index) -> String {
        if !i.definition.is_empty() {
            return i.definition.clone();
        }
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if i.unique { "UNIQUE " } else { "" },
            self.ident(&i.name),
            self.qualified(table),
            self.idents(&i.columns)
        )
    }

    /// The statements that give a table created by [`Dialect::create_table`] (from a
    /// model read on this same engine) the rest of the source's objects, by phase.
    fn table_objects(&self, table: &Table) -> TableObjects {
        portable_objects(self, table)
    }

    /// The statements creating a user-defined type (same engine).
    fn create_type(&self, _t: &UserType) -> Vec<String> {
        Vec::new()
    }

    /// The length in bytes of a text expression.
    fn byte_length(&self, expr: &str) -> String {
        format!("octet_length({expr})")
    }

    fn idents(&self, names: &[String]) -> String {
        names.iter().map(|n| self.ident(n)).collect::<Vec<_>>().join(", ")
    }

    /// `CREATE TABLE` for `table` with its primary and unique keys and, when
    /// `with_fks`, its foreign keys. `same_engine`: the model was read from this engine,
    /// so column types are kept as they were where possible.
    fn create_table(&self, table: &Table, with_fks: bool, same_engine: bool) -> String {
        default_create_table(self, table, with_fks, same_engine)
    }

    fn foreign_key_clause(&self, fk: &ForeignKey) -> String {
        let action = |a: FkAction| a.as_sql();
        let mut s = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {} ON UPDATE {}",
            self.ident(&fk.name),
            self.idents(&fk.columns),
            self.table(fk.referenced_schema.as_deref(), &fk.referenced_table),
            self.idents(&fk.referenced_columns),
            action(fk.on_delete),
            action(fk.on_update)
        );
        if fk.deferrable && self.engine() != Engine::Mysql {
            s.push_str(" DEFERRABLE");
            if fk.initially_deferred {
                s.push_str(" INITIALLY DEFERRED");
            }
        }
        s
    }
}

/// A column of `CREATE TABLE` from the model: its type (the destination's own when
/// given, else the neutral type's), nullability, default and identity.
fn portable_column<D: Dialect + ?Sized>(d: &D, c: &Column, table: &Table, same_engine: bool, keyed: bool) -> String {
    let null = if c.nullable { "NULL" } else { "NOT NULL" };
    let ty = match table.extras.column_types.get(&c.name) {
        Some(ty) => ty.clone(),
        None => same_engine
            .then(|| d.native_type(c))
            .flatten()
            .unwrap_or_else(|| d.column_type(&c.normalized_type, keyed)),
    };
    let default = match (&c.default, c.identity, &c.generated) {
        (Some(x), None, None) => format!(" DEFAULT {x}"),
        _ => String::new(),
    };
    format!(
        "{} {ty} {null}{default}{}",
        d.ident(&c.name),
        d.identity_clause(c, table)
    )
}

/// Indexes (after the load) and triggers (after those) of a table, on any engine.
fn portable_objects<D: Dialect + ?Sized>(d: &D, table: &Table) -> TableObjects {
    let mut out = TableObjects::default();
    for i in &table.extras.indexes {
        out.after_load.push(d.index_sql(table, i));
    }
    for t in &table.extras.triggers {
        out.after_load.push(t.definition.clone());
    }
    out
}

/// `CREATE TABLE` built from the model (see [`Dialect::create_table`]).
fn default_create_table<D: Dialect + ?Sized>(d: &D, table: &Table, with_fks: bool, same_engine: bool) -> String {
    let keyed = |c: &Column| {
        table.primary_key.contains(&c.name)
            || table.unique_keys.iter().any(|u| u.columns.contains(&c.name))
            || table.foreign_keys.iter().any(|f| f.columns.contains(&c.name))
    };
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .filter(|c| !(same_engine && d.declared_by_parent(c, table)))
        .map(|c| d.column_definition(c, table, same_engine, keyed(c)))
        .collect();
    if !table.primary_key.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", d.idents(&table.primary_key)));
    }
    for u in table.unique_keys.iter().filter(|u| u.predicate.is_none()) {
        parts.push(format!(
            "CONSTRAINT {} UNIQUE ({})",
            d.ident(&u.name),
            d.idents(&u.columns)
        ));
    }
    if !d.checks_after_load() {
        for c in table.extras.checks.iter().filter(|c| !c.exclusion) {
            parts.push(format!("CONSTRAINT {} {}", d.ident(&c.name), c.definition));
        }
    }
    if with_fks {
        for fk in table.foreign_keys.iter().filter(|f| !f.is_virtual) {
            parts.push(d.foreign_key_clause(fk));
        }
    }
    format!(
        "CREATE TABLE {} (\n  {}\n){}",
        d.qualified(table),
        parts.join(",\n  "),
        d.table_options(table)
    )
}

pub struct Sqlite;
pub struct Postgres;
pub struct Mysql;

impl Dialect for Sqlite {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }
    fn byte_length(&self, expr: &str) -> String {
        format!("length(CAST({expr} AS BLOB))")
    }
    fn ident(&self, name: &str) -> String {
        sql::ident(Engine::Postgres, name)
    }
    fn literal(&self, v: &Value) -> String {
        match v {
            Value::Null => "NULL".into(),
            Value::Bool(b) => (if *b { "1" } else { "0" }).into(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => float_literal(*f),
            Value::Text(t) => sql::text(Engine::Postgres, t),
            Value::Bytes(b) => sql::hex_literal(b),
        }
    }
    fn column_type(&self, ty: &DataType, _keyed: bool) -> String {
        match ty {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int { .. } => "INTEGER".into(),
            DataType::Decimal {
                precision: Some(p),
                scale,
            } => format!("NUMERIC({p},{})", scale.unwrap_or(0)),
            DataType::Decimal { .. } => "NUMERIC".into(),
            DataType::Float { .. } => "REAL".into(),
            DataType::Char { length: Some(n) } => format!("CHAR({n})"),
            DataType::Varchar { length: Some(n) } => format!("VARCHAR({n})"),
            DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text => "TEXT".into(),
            DataType::Binary { .. } => "BLOB".into(),
            DataType::Date => "DATE".into(),
            DataType::Time => "TIME".into(),
            DataType::Timestamp { .. } => "DATETIME".into(),
            DataType::Uuid => "UUID".into(),
            DataType::Json => "JSON".into(),
            DataType::Other(_) => "TEXT".into(),
        }
    }
    fn supports_add_foreign_key(&self) -> bool {
        false
    }
}

/// PostgreSQL's built-in type names (as `format_type` spells them, without modifiers).
const PG_BUILTIN: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "numeric",
    "real",
    "double precision",
    "character varying",
    "character",
    "text",
    "boolean",
    "bytea",
    "date",
    "time without time zone",
    "time with time zone",
    "timestamp without time zone",
    "timestamp with time zone",
    "uuid",
    "json",
    "jsonb",
    "interval",
    "money",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "xml",
    "tsvector",
    "tsquery",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "bit",
    "bit varying",
    "oid",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
    "\"char\"",
    "name",
];

impl Dialect for Postgres {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }
    fn own_rows(&self, t: &Table) -> String {
        if t.has_children {
            format!("ONLY {}", self.qualified(t))
        } else {
            self.qualified(t)
        }
    }
    fn table_options(&self, table: &Table) -> String {
        let mut out = String::new();
        if !table.inherits.is_empty() {
            let parents: Vec<String> = table
                .inherits
                .iter()
                .map(|p| self.table(p.schema.as_deref(), &p.name))
                .collect();
            out.push_str(&format!(" INHERITS ({})", parents.join(", ")));
        }
        if let Some(p) = &table.partitioning {
            out.push_str(&format!(" PARTITION BY {}", p.key));
        }
        out
    }
    fn create_partitions(&self, table: &Table) -> Vec<String> {
        fn walk(d: &Postgres, parent: String, p: &Partitioning, out: &mut Vec<String>) {
            for part in &p.partitions {
                let name = d.table(part.schema.as_deref(), &part.name);
                let mut sql = format!("CREATE TABLE {name} PARTITION OF {parent} {}", part.bound);
                if let Some(sub) = &part.partitioning {
                    sql.push_str(&format!(" PARTITION BY {}", sub.key));
                }
                out.push(sql);
                if let Some(sub) = &part.partitioning {
                    walk(d, name, sub, out);
                }
            }
        }
        let mut out = Vec::new();
        if let Some(p) = &table.partitioning {
            walk(self, self.qualified(table), p, &mut out);
        }
        out
    }
    fn identity_clause(&self, c: &Column, _table: &Table) -> &'static str {
        match (c.identity, &c.normalized_type) {
            (Some(_), DataType::Int { bytes, unsigned }) if *bytes < 8 || !unsigned => {
                " GENERATED BY DEFAULT AS IDENTITY"
            }
            _ => "",
        }
    }
    fn declared_by_parent(&self, c: &Column, table: &Table) -> bool {
        !table.inherits.is_empty() && table.extras.inherited_columns.contains(&c.name)
    }
    fn checks_after_load(&self) -> bool {
        true
    }
    fn column_definition(&self, c: &Column, table: &Table, same_engine: bool, keyed: bool) -> String {
        if !same_engine {
            return portable_column(self, c, table, same_engine, keyed);
        }
        let x = &table.extras;
        let ty = if x.user_types.contains_key(&c.name) {
            Some(c.engine_type.clone())
        } else {
            self.native_type(c)
        }
        .unwrap_or_else(|| self.column_type(&c.normalized_type, keyed));
        let mut out = format!("{} {ty}", self.ident(&c.name));
        if let Some(collation) = x.collations.get(&c.name) {
            out.push_str(&format!(" COLLATE {collation}"));
        }
        out.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
        let sequence = x.sequences.iter().find(|s| s.identity && s.column == c.name);
        if let Some(g) = &c.generated {
            out.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
        } else if let (Some(s), Some(_)) = (sequence, c.identity) {
            // BY DEFAULT while loading (copied keys are written); ALWAYS comes after.
            out.push_str(&format!(
                " GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME {} {})",
                self.table(s.schema.as_deref(), &s.name),
                sequence_options(s)
            ));
        } else if let Some(d) = &c.default {
            out.push_str(&format!(" DEFAULT {d}"));
        }
        out
    }
    fn table_objects(&self, table: &Table) -> TableObjects {
        let name = self.qualified(table);
        let x = &table.extras;
        let mut out = TableObjects::default();
        for s in x.sequences.iter().filter(|s| !s.identity) {
            let seq = self.table(s.schema.as_deref(), &s.name);
            out.before.push(format!(
                "CREATE SEQUENCE IF NOT EXISTS {seq} AS {} {}",
                s.data_type,
                sequence_options(s)
            ));
            if s.owned {
                out.after_create.push(format!(
                    "ALTER SEQUENCE {seq} OWNED BY {name}.{}",
                    self.ident(&s.column)
                ));
            }
        }
        let text = |t: &str| self.literal(&Value::Text(t.to_string()));
        if let Some(c) = &x.comment {
            out.after_create.push(format!("COMMENT ON TABLE {name} IS {}", text(c)));
        }
        for (column, c) in &x.column_comments {
            out.after_create.push(format!(
                "COMMENT ON COLUMN {name}.{} IS {}",
                self.ident(column),
                text(c)
            ));
        }
        for i in x.indexes.iter().filter(|i| i.unique) {
            out.after_create.push(self.index_sql(table, i));
        }
        for c in &x.checks {
            out.after_load.push(format!(
                "ALTER TABLE {name} ADD CONSTRAINT {} {}",
                self.ident(&c.name),
                c.definition
            ));
        }
        for i in x.indexes.iter().filter(|i| !i.unique) {
            out.after_load.push(self.index_sql(table, i));
        }
        for c in table
            .columns
            .iter()
            .filter(|c| c.identity == Some(tether_schema::Identity::Always))
        {
            if x.sequences.iter().any(|s| s.identity && s.column == c.name) {
                out.after_load.push(format!(
                    "ALTER TABLE {name} ALTER COLUMN {} SET GENERATED ALWAYS",
                    self.ident(&c.name)
                ));
            }
        }
        for t in &x.triggers {
            out.after_load.extend(t.definition.split(";\n").map(str::to_string));
        }
        out
    }
    fn create_type(&self, t: &UserType) -> Vec<String> {
        let name = self.table(t.schema.as_deref(), &t.name);
        let text = |t: &str| self.literal(&Value::Text(t.to_string()));
        let mut out = vec![match &t.kind {
            TypeKind::Enum { labels } => {
                let labels: Vec<String> = labels.iter().map(|l| text(l)).collect();
                format!("CREATE TYPE {name} AS ENUM ({})", labels.join(", "))
            }
            TypeKind::Domain {
                base,
                not_null,
                default,
                collation,
                checks,
                ..
            } => {
                let mut sql = format!("CREATE DOMAIN {name} AS {base}");
                if let Some(c) = collation {
                    sql.push_str(&format!(" COLLATE {c}"));
                }
                if let Some(d) = default {
                    sql.push_str(&format!(" DEFAULT {d}"));
                }
                if *not_null {
                    sql.push_str(" NOT NULL");
                }
                for c in checks {
                    sql.push_str(&format!(" {c}"));
                }
                sql
            }
        }];
        if let Some(c) = &t.comment {
            let what = if matches!(t.kind, TypeKind::Enum { .. }) {
                "TYPE"
            } else {
                "DOMAIN"
            };
            out.push(format!("COMMENT ON {what} {name} IS {}", text(c)));
        }
        out
    }
    fn native_type(&self, c: &Column) -> Option<String> {
        let t = c.engine_type.trim_end_matches("[]");
        let base = match (t.find('('), t.find(')')) {
            (Some(o), Some(e)) if e > o => format!("{}{}", &t[..o], &t[e + 1..]),
            _ => t.to_string(),
        };
        PG_BUILTIN.contains(&base.trim()).then(|| c.engine_type.clone())
    }
    fn ident(&self, name: &str) -> String {
        sql::ident(Engine::Postgres, name)
    }
    fn literal(&self, v: &Value) -> String {
        match v {
            Value::Null => "NULL".into(),
            Value::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).into(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => float_literal(*f),
            Value::Text(t) => sql::text(Engine::Postgres, t),
            Value::Bytes(b) => format!("'\\x{}'::bytea", hex(b)),
        }
    }
    fn column_type(&self, ty: &DataType, _keyed: bool) -> String {
        match ty {
            DataType::Boolean => "boolean".into(),
            DataType::Int {
                bytes: 1 | 2,
                unsigned: false,
            } => "smallint".into(),
            DataType::Int {
                bytes: 1,
                unsigned: true,
            } => "smallint".into(),
            DataType::Int {
                bytes: 2 | 3,
                unsigned: true,
            }
            | DataType::Int {
                bytes: 3 | 4,
                unsigned: false,
            } => "integer".into(),
            DataType::Int {
                bytes: 4,
                unsigned: true,
            }
            | DataType::Int {
                bytes: 8,
                unsigned: false,
            } => "bigint".into(),
            DataType::Int { .. } => "numeric(20,0)".into(),
            DataType::Decimal {
                precision: Some(p),
                scale,
            } => format!("numeric({p},{})", scale.unwrap_or(0)),
            DataType::Decimal { .. } => "numeric".into(),
            DataType::Float { bytes: 4 } => "real".into(),
            DataType::Float { .. } => "double precision".into(),
            DataType::Char { length: Some(n) } => format!("character({n})"),
            DataType::Varchar { length: Some(n) } => format!("character varying({n})"),
            DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text => "text".into(),
            DataType::Binary { .. } => "bytea".into(),
            DataType::Date => "date".into(),
            DataType::Time => "time".into(),
            DataType::Timestamp { tz: false } => "timestamp".into(),
            DataType::Timestamp { tz: true } => "timestamptz".into(),
            DataType::Uuid => "uuid".into(),
            DataType::Json => "jsonb".into(),
            DataType::Other(_) => "text".into(),
        }
    }
}

impl Dialect for Mysql {
    fn engine(&self) -> Engine {
        Engine::Mysql
    }
    /// Same engine: the source's own `SHOW CREATE TABLE` (types, defaults, indexes,
    /// CHECKs, comments, collations, foreign keys, `AUTO_INCREMENT` as they were).
    fn create_table(&self, table: &Table, with_fks: bool, same_engine: bool) -> String {
        match (&table.extras.definition, same_engine) {
            (Some(sql), true) => sql.clone(),
            _ => default_create_table(self, table, with_fks, same_engine),
        }
    }
    fn table_objects(&self, table: &Table) -> TableObjects {
        if table.extras.definition.is_some() {
            // SHOW CREATE TABLE has the indexes already.
            return TableObjects {
                after_load: table.extras.triggers.iter().map(|t| t.definition.clone()).collect(),
                ..Default::default()
            };
        }
        portable_objects(self, table)
    }
    fn identity_clause(&self, c: &Column, table: &Table) -> &'static str {
        let sole_key = table.primary_key.len() == 1 && table.primary_key[0] == c.name;
        if c.identity.is_some() && sole_key && c.normalized_type.is_integer() {
            " AUTO_INCREMENT"
        } else {
            ""
        }
    }
    fn ident(&self, name: &str) -> String {
        sql::ident(Engine::Mysql, name)
    }
    fn literal(&self, v: &Value) -> String {
        match v {
            Value::Null => "NULL".into(),
            Value::Bool(b) => (if *b { "1" } else { "0" }).into(),
            Value::Int(i) => i.to_string(),
            Value::UInt(u) => u.to_string(),
            Value::Float(f) => float_literal(*f),
            Value::Text(t) => sql::text(Engine::Mysql, t),
            Value::Bytes(b) => sql::hex_literal(b),
        }
    }
    fn column_type(&self, ty: &DataType, keyed: bool) -> String {
        let unsigned = |u: bool| if u { " unsigned" } else { "" };
        match ty {
            DataType::Boolean => "tinyint(1)".into(),
            DataType::Int { bytes, unsigned: u } => {
                let base = match bytes {
                    1 => "tinyint",
                    2 => "smallint",
                    3 => "mediumint",
                    4 => "int",
                    _ => "bigint",
                };
                format!("{base}{}", unsigned(*u))
            }
            DataType::Decimal {
                precision: Some(p),
                scale,
            } => {
                format!("decimal({},{})", (*p).min(65), scale.unwrap_or(0).min(30))
            }
            DataType::Decimal { .. } => "decimal(65,30)".into(),
            DataType::Float { bytes: 4 } => "float".into(),
            DataType::Float { .. } => "double".into(),
            DataType::Char { length: Some(n) } if *n <= 255 => format!("char({n})"),
            DataType::Char { length: Some(n) } | DataType::Varchar { length: Some(n) } if *n <= 16_383 => {
                format!("varchar({n})")
            }
            DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text | DataType::Other(_) => {
                if keyed {
                    "varchar(255)".into()
                } else {
                    "longtext".into()
                }
            }
            DataType::Binary { length: Some(n) } if *n <= 65_535 => format!("varbinary({n})"),
            DataType::Binary { .. } => {
                if keyed {
                    "varbinary(255)".into()
                } else {
                    "longblob".into()
                }
            }
            DataType::Date => "date".into(),
            DataType::Time => "time(6)".into(),
            DataType::Timestamp { .. } => "datetime(6)".into(),
            DataType::Uuid => "char(36)".into(),
            DataType::Json => "longtext".into(),
        }
    }
}

/// `START WITH 1 INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1`, as
/// `CREATE SEQUENCE` and an identity column take them.
fn sequence_options(s: &tether_schema::Sequence) -> String {
    format!(
        "START WITH {} INCREMENT BY {} MINVALUE {} MAXVALUE {} CACHE {}{}",
        s.start,
        s.increment,
        s.min,
        s.max,
        s.cache,
        if s.cycle { " CYCLE" } else { "" }
    )
}

fn float_literal(f: f64) -> String {
    if f.is_finite() {
        let s = format!("{f:?}");
        s
    } else {
        "NULL".into()
    }
}

/// The dialect of an engine.
pub fn of(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Sqlite => &Sqlite,
        Engine::Postgres => &Postgres,
        Engine::Mysql => &Mysql,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_strings_are_escaped_per_engine() {
        assert_eq!(of(Engine::Postgres).ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(of(Engine::Mysql).ident("we`ird"), "`we``ird`");
        assert_eq!(
            of(Engine::Mysql).literal(&Value::Text("it's a \\ test\n".into())),
            "'it\\'s a \\\\ test\\n'"
        );
        assert_eq!(of(Engine::Postgres).literal(&Value::Text("it's".into())), "'it''s'");
        assert_eq!(of(Engine::Sqlite).literal(&Value::Bytes(vec![0, 255])), "X'00FF'");
        assert_eq!(of(Engine::Postgres).literal(&Value::Float(1.0)), "1.0");
    }
}
