//! SQL rendering per engine: identifiers, literals, types and DDL.
//!
//! Callers ask an [`Engine`]'s dialect to render; they never match on the engine.

use tether_schema::{Column, DataType, FkAction, ForeignKey, Sequence, Table, UserType};

use crate::url::Engine;
use crate::value::Value;

/// Statements creating a table's objects besides columns and keys, in the order a
/// restore runs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableObjects {
    /// Before `CREATE TABLE`: the sequences its defaults draw from.
    pub before: Vec<String>,
    /// Right after its `CREATE TABLE`, before tables inheriting from it: an inherited
    /// column's own default and NOT NULL (its children inherit those).
    pub with_table: Vec<String>,
    /// Right after the tables: sequence ownership, comments, unique indexes (a foreign
    /// key may need one).
    pub after_create: Vec<String>,
    /// After the rows are in: CHECK and EXCLUDE constraints, indexes, identity
    /// `ALWAYS`, triggers (so none fires on a copied row).
    pub after_load: Vec<String>,
    /// Once the foreign keys exist: their comments.
    pub after_foreign_keys: Vec<String>,
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

    /// Where this engine keeps tables of several schemas apart: the schema a table lands
    /// in when its source had none of this engine's (PostgreSQL: `public`). `None`:
    /// one namespace, `schema.table` is flattened to `schema_table`.
    fn default_schema(&self) -> Option<&'static str> {
        None
    }

    /// An enum becomes a column type of its own (MariaDB's `enum(...)`) rather than text
    /// with a CHECK of its labels.
    fn native_enum(&self) -> bool {
        false
    }

    /// The default meaning "now" for a column of type `ty`: today for a date, the time
    /// of day for a time (a timestamp's text in either would hold another value).
    fn now_default(&self, ty: &DataType) -> String {
        match ty {
            DataType::Date => self.today_default(),
            DataType::Time => "CURRENT_TIME".into(),
            _ => "CURRENT_TIMESTAMP".into(),
        }
    }

    /// The default meaning "today".
    fn today_default(&self) -> String {
        "CURRENT_DATE".into()
    }

    /// Why a foreign key action cannot be created here (`not_null`: on a NOT NULL
    /// column), or `None` when it can.
    fn refuses_fk_action(&self, _action: FkAction, _not_null: bool) -> Option<String> {
        None
    }

    /// Unbounded text is sized on this engine: the smallest text type for values of up
    /// to `bytes` bytes with room to grow, or `None` for the unbounded one.
    fn sized_text_type(&self, _bytes: u64) -> Option<&'static str> {
        None
    }

    /// Columns of unbounded text types are sized from the longest value copied (see
    /// [`Dialect::sized_text_type`]).
    fn sizes_text(&self) -> bool {
        false
    }

    /// An index can be built on an unbounded text column without a prefix length.
    fn indexes_unbounded_text(&self) -> bool {
        true
    }

    /// How this engine says what a sequence or an identity column becomes, where it
    /// has its own word for it (`AUTO_INCREMENT`).
    fn auto_increment(&self) -> Option<&'static str> {
        None
    }

    /// The longest comment this engine keeps on a table (`on_column`: on a column), in
    /// characters; `None`: it keeps none. Comments from another engine are carried when
    /// they fit.
    fn comment_room(&self, _on_column: bool) -> Option<usize> {
        None
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

    /// After the load into `table` (created from a model read on this same engine): the
    /// statements that make `seq` continue from `last`, the source's last value, where
    /// that is past what the copied keys took it to (it is only ever raised). None on
    /// MariaDB, whose sequences are created at the source's state.
    fn sequence_state(&self, _table: &Table, _seq: &Sequence, _last: i64) -> Vec<String> {
        Vec::new()
    }

    /// The length in bytes of a text expression.
    fn byte_length(&self, expr: &str) -> String {
        format!("octet_length({expr})")
    }

    /// What a read selects for `column` of type `ty`: the column, or an expression
    /// (named as the column) the server prints without losing the value.
    fn read_column(&self, column: &str, _ty: Option<&DataType>) -> String {
        self.ident(column)
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
        // Only PostgreSQL names the columns SET NULL / SET DEFAULT sets.
        let set = match (fk.delete_set_columns.is_empty(), self.engine(), fk.on_delete) {
            (false, Engine::Postgres, FkAction::SetNull | FkAction::SetDefault) => {
                format!(" ({})", self.idents(&fk.delete_set_columns))
            }
            _ => String::new(),
        };
        // Elsewhere MATCH is ignored (MySQL warns it may then ignore the actions too):
        // see [`match_full_check`].
        let matching = match (fk.match_full, self.engine()) {
            (true, Engine::Postgres) => " MATCH FULL",
            _ => "",
        };
        let mut s = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){matching} ON DELETE {}{set} ON UPDATE {}",
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
pub(crate) fn portable_column<D: Dialect + ?Sized>(
    d: &D,
    c: &Column,
    table: &Table,
    same_engine: bool,
    keyed: bool,
) -> String {
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
pub(crate) fn portable_objects<D: Dialect + ?Sized>(d: &D, table: &Table) -> TableObjects {
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
pub(crate) fn default_create_table<D: Dialect + ?Sized>(
    d: &D,
    table: &Table,
    with_fks: bool,
    same_engine: bool,
) -> String {
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
    // Same engine: keys as the source declares them (name, INCLUDE, storage
    // parameters, DEFERRABLE), where it said.
    let declared = |primary: bool, name: Option<&str>| {
        table
            .extras
            .keys
            .iter()
            .filter(|_| same_engine)
            .find(|k| k.primary == primary && name.is_none_or(|n| n == k.name))
            .map(|k| format!("CONSTRAINT {} {}", d.ident(&k.name), k.definition))
    };
    if !table.primary_key.is_empty() {
        parts.push(declared(true, None).unwrap_or_else(|| format!("PRIMARY KEY ({})", d.idents(&table.primary_key))));
    }
    for u in table.unique_keys.iter().filter(|u| u.predicate.is_none()) {
        parts.push(
            declared(false, Some(&u.name))
                .unwrap_or_else(|| format!("CONSTRAINT {} UNIQUE ({})", d.ident(&u.name), d.idents(&u.columns))),
        );
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
    if d.engine() != Engine::Postgres {
        parts.extend(
            table
                .foreign_keys
                .iter()
                .filter(|f| !f.is_virtual)
                .filter_map(|fk| match_full_check(d, fk)),
        );
    }
    format!(
        "CREATE TABLE {} (\n  {}\n){}",
        d.qualified(table),
        parts.join(",\n  "),
        d.table_options(table)
    )
}

/// The CHECK that keeps a `MATCH FULL` foreign key of several columns whole on an engine
/// that matches keys SIMPLE only (MariaDB/MySQL ignore `MATCH`, SQLite parses it and
/// ignores it): its columns are all NULL or none is. Named `<fk>_match_full`.
pub fn match_full_check<D: Dialect + ?Sized>(d: &D, fk: &ForeignKey) -> Option<String> {
    if !fk.match_full || fk.columns.len() < 2 {
        return None;
    }
    let each = |test: &str| {
        fk.columns
            .iter()
            .map(|c| format!("{} IS {test}", d.ident(c)))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    Some(format!(
        "CONSTRAINT {} CHECK (({}) OR ({}))",
        d.ident(&format!("{}_match_full", fk.name)),
        each("NULL"),
        each("NOT NULL")
    ))
}

/// A literal where booleans are 1 and 0 and bytes are `X'..'` (SQLite, MariaDB/MySQL);
/// strings escaped as `strings` escapes them.
pub(crate) fn numeric_bool_literal(strings: Engine, v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => (if *b { "1" } else { "0" }).into(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) if f.is_finite() => float_literal(*f),
        // MariaDB/MySQL have no NaN or infinity: the text makes a strict server refuse
        // the row, naming it, where NULL would have replaced the value unseen.
        Value::Float(f) if strings == Engine::Mysql => tether_schema::sql::text(strings, &f.to_string()),
        // SQLite stores NaN as NULL itself; 9e999 is its infinity.
        Value::Float(f) if f.is_nan() => "NULL".into(),
        Value::Float(f) => (if *f > 0.0 { "9e999" } else { "-9e999" }).into(),
        Value::Text(t) => tether_schema::sql::text(strings, t),
        // MariaDB/MySQL: the bytes, which a strict server refuses in a text column (1366)
        // and a binary one holds as they are. SQLite: the same bytes as TEXT.
        Value::RawText(b) if strings == Engine::Mysql => tether_schema::sql::hex_literal(b),
        Value::RawText(b) => format!("CAST({} AS TEXT)", tether_schema::sql::hex_literal(b)),
        Value::Bytes(b) => tether_schema::sql::hex_literal(b),
    }
}

/// A finite float as a numeric literal that reads back as the same `f64`.
pub(crate) fn float_literal(f: f64) -> String {
    format!("{f:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::dialect_of as of;

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
