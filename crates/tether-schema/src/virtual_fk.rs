//! Virtual foreign keys: relations the database does not declare, given in a TOML
//! file (or a sync job), checked against the schema and merged into it.
//!
//! ```toml
//! [[virtual_foreign_keys]]
//! name = "orders_customer_vfk"      # optional
//! table = "orders"                  # `schema.table` outside the default schema
//! columns = ["customer_id"]
//! referenced_table = "customer"
//! referenced_columns = ["id"]       # optional: defaults to the parent's primary key
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::error::SchemaError;
use crate::model::{FkAction, ForeignKey, Schema};

/// One virtual foreign key as written in configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualFkSpec {
    /// Defaults to `<table>_<columns>_vfk`.
    pub name: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub referenced_table: String,
    /// Defaults to the referenced table's primary key.
    #[serde(default)]
    pub referenced_columns: Vec<String>,
}

/// A file holding only virtual foreign keys (`tether schema --virtual-fks FILE`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualFkFile {
    #[serde(default)]
    pub virtual_foreign_keys: Vec<Spanned<VirtualFkSpec>>,
}

/// A spec with the line it was written on, when known.
#[derive(Debug, Clone)]
pub struct LocatedSpec {
    pub spec: VirtualFkSpec,
    pub line: Option<usize>,
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Parses a virtual-FK file; `path` is used in errors only.
pub fn parse_file(path: &str, text: &str) -> Result<Vec<LocatedSpec>, SchemaError> {
    let file: VirtualFkFile = toml::from_str(text).map_err(|e| SchemaError::Config {
        path: path.to_string(),
        message: one_line_toml_error(text, &e),
    })?;
    Ok(locate(text, file.virtual_foreign_keys))
}

/// Attaches line numbers to spanned specs from `text`.
pub fn locate(text: &str, specs: Vec<Spanned<VirtualFkSpec>>) -> Vec<LocatedSpec> {
    specs
        .into_iter()
        .map(|s| LocatedSpec {
            line: Some(line_of(text, s.span().start)),
            spec: s.into_inner(),
        })
        .collect()
}

/// A TOML error on one line: `line N: message`.
pub fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().replace('\n', " ");
    match e.span() {
        Some(span) => format!("line {}: {msg}", line_of(text, span.start)),
        None => msg,
    }
}

/// Checks each spec against the schema and adds it to the child table as a
/// foreign key marked virtual.
pub fn apply(schema: &mut Schema, specs: &[LocatedSpec]) -> Result<(), SchemaError> {
    for located in specs {
        let fk = resolve(schema, located)?;
        let child = fk.0;
        let t = schema
            .tables
            .iter_mut()
            .find(|t| t.table_name() == child)
            .expect("resolved table exists");
        t.foreign_keys.push(fk.1);
    }
    Ok(())
}

fn resolve(schema: &Schema, located: &LocatedSpec) -> Result<(crate::model::TableName, ForeignKey), SchemaError> {
    let spec = &located.spec;
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{}_{}_vfk", spec.table.replace('.', "_"), spec.columns.join("_")));
    let fail = |message: String| SchemaError::VirtualFk {
        name: name.clone(),
        line: located.line,
        message,
    };
    let child = schema
        .find_table(&spec.table)
        .ok_or_else(|| fail(format!("table `{}` does not exist", spec.table)))?;
    let parent = schema
        .find_table(&spec.referenced_table)
        .ok_or_else(|| fail(format!("referenced table `{}` does not exist", spec.referenced_table)))?;
    if spec.columns.is_empty() {
        return Err(fail("`columns` is empty".into()));
    }
    for c in &spec.columns {
        if child.column(c).is_none() {
            return Err(fail(format!("column `{}`.`{c}` does not exist", spec.table)));
        }
    }
    let referenced_columns = if spec.referenced_columns.is_empty() {
        if parent.primary_key.is_empty() {
            return Err(fail(format!(
                "`referenced_columns` is missing and `{}` has no primary key",
                spec.referenced_table
            )));
        }
        parent.primary_key.clone()
    } else {
        spec.referenced_columns.clone()
    };
    for c in &referenced_columns {
        if parent.column(c).is_none() {
            return Err(fail(format!("column `{}`.`{c}` does not exist", spec.referenced_table)));
        }
    }
    if referenced_columns.len() != spec.columns.len() {
        return Err(fail(format!(
            "{} column(s) reference {} column(s)",
            spec.columns.len(),
            referenced_columns.len()
        )));
    }
    for (c, p) in spec.columns.iter().zip(&referenced_columns) {
        let (Some(ours), Some(theirs)) = (compare_rule(schema, child, c), compare_rule(schema, parent, p)) else {
            continue;
        };
        if !ours.same_as(&theirs) {
            return Err(fail(format!(
                "`{}`.`{c}` ({}) and `{}`.`{p}` ({}) compare text differently: a child would be matched to its \
                 parent by other rules than each side compares by (in subsets, respelling, orphan checks and \
                 the gateway's checks); give both columns the same type and collation, or leave the relation \
                 out",
                spec.table,
                ours.describe(),
                spec.referenced_table,
                theirs.describe()
            )));
        }
    }
    if child.foreign_keys.iter().any(|f| f.name == name) {
        return Err(fail(format!(
            "table `{}` already has a foreign key of this name",
            spec.table
        )));
    }
    Ok((
        child.table_name(),
        ForeignKey {
            name,
            columns: spec.columns.clone(),
            referenced_table: parent.name.clone(),
            referenced_schema: parent.schema.clone(),
            referenced_columns,
            on_delete: FkAction::NoAction,
            on_update: FkAction::NoAction,
            deferrable: false,
            initially_deferred: false,
            is_virtual: true,
            delete_set_columns: Vec::new(),
            match_full: false,
            not_valid: false,
            partition: None,
        },
    ))
}

/// How an engine compares a text column's values with another's (`=`).
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    /// PostgreSQL: byte for byte (text, varchar, a deterministic collation).
    Exact,
    /// PostgreSQL `citext`: without case.
    Citext,
    /// PostgreSQL: a nondeterministic collation of the user's.
    Nondeterministic(String),
    /// MariaDB/MySQL: the column's character set and collation, where known.
    Mysql {
        charset: Option<String>,
        collation: Option<String>,
    },
}

impl Rule {
    fn same_as(&self, other: &Rule) -> bool {
        match (self, other) {
            (
                Rule::Mysql {
                    charset: a,
                    collation: x,
                },
                Rule::Mysql {
                    charset: b,
                    collation: y,
                },
            ) => {
                let differ = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b));
                !differ(x, y) && !differ(a, b)
            }
            _ => self == other,
        }
    }

    fn describe(&self) -> String {
        match self {
            Rule::Exact => "compared byte for byte".into(),
            Rule::Citext => "citext, compared without case".into(),
            Rule::Nondeterministic(c) => format!("nondeterministic collation {c}"),
            Rule::Mysql { charset, collation } => match (collation, charset) {
                (Some(c), _) => format!("collation {c}"),
                (None, Some(cs)) => format!("character set {cs}'s default collation"),
                (None, None) => "the table's default collation".into(),
            },
        }
    }
}

/// The rule `column` of `table` compares text by, on engines where a virtual FK could
/// pair two different ones (a declared one cannot there); `None` for a column that does
/// not hold text, or on SQLite (whose FKs use the parent column's collation, as Tether
/// does for declared and virtual ones alike).
fn compare_rule(schema: &Schema, table: &crate::model::Table, column: &str) -> Option<Rule> {
    use crate::engine::Engine;
    let c = table.column(column)?;
    let x = &table.extras;
    match schema.engine {
        Engine::Postgres => {
            let citext = c.engine_type.contains("citext")
                || x.extension_types
                    .get(column)
                    .is_some_and(|ty| ty == "citext" || ty.ends_with(".citext"));
            if citext {
                return Some(Rule::Citext);
            }
            if !c.normalized_type.is_text() {
                return None;
            }
            let nondeterministic = x.collations.get(column).filter(|named| {
                let bare = named.replace('"', "");
                schema
                    .objects
                    .collations
                    .iter()
                    .any(|k| k.name == bare && k.definition.contains("deterministic = false"))
            });
            Some(match nondeterministic {
                Some(n) => Rule::Nondeterministic(n.clone()),
                None => Rule::Exact,
            })
        }
        Engine::Mysql if c.normalized_type.is_text() => {
            let definition = x.definition.as_deref()?;
            Some(mysql_rule(definition, column))
        }
        _ => None,
    }
}

/// A MariaDB/MySQL text column's (character set, collation) as its table's `SHOW
/// CREATE TABLE` text gives them (the column's own clause, else the table's default);
/// `None` where the text does not say.
pub fn mysql_collation(definition: &str, column: &str) -> (Option<String>, Option<String>) {
    match mysql_rule(definition, column) {
        Rule::Mysql { charset, collation } => (charset, collation),
        _ => (None, None),
    }
}

/// A MariaDB/MySQL column's character set and collation, read from its table's
/// `SHOW CREATE TABLE` text (the column's own clause, else the table's default).
fn mysql_rule(definition: &str, column: &str) -> Rule {
    let word_after = |text: &str, marker: &str| {
        let upper = text.to_ascii_uppercase();
        upper.find(marker).map(|i| {
            text[i + marker.len()..]
                .split(|ch: char| ch.is_whitespace() || ch == ',')
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    let quoted = format!("`{}` ", column.replace('`', "``"));
    let line = definition.lines().find(|l| l.trim_start().starts_with(&quoted));
    let charset_of = |collation: &str| collation.split('_').next().map(str::to_string);
    if let Some(line) = line {
        let collation = word_after(line, " COLLATE ");
        let charset = word_after(line, " CHARACTER SET ").or_else(|| collation.as_deref().and_then(charset_of));
        if collation.is_some() || charset.is_some() {
            return Rule::Mysql { charset, collation };
        }
    }
    let options = definition.rsplit(')').next().unwrap_or("");
    let collation = word_after(options, "COLLATE=");
    let charset = word_after(options, "CHARSET=").or_else(|| collation.as_deref().and_then(charset_of));
    Rule::Mysql { charset, collation }
}
