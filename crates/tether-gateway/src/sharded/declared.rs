//! The form of the FKs a managed sharded keyspace's VSchema declares, checked by
//! InnoDB's own rules once the tables are read: an FK InnoDB would refuse to create
//! (errno 150, "Foreign key constraint is incorrectly formed") has no MariaDB
//! behaviour to match, and planning it anyway gives what no FK engine gives (a SET
//! NULL on a NOT NULL column stores 0 under a non-strict `sql_mode`: orphans).
//!
//! Refused, naming the FK: ON DELETE / ON UPDATE SET NULL on a NOT NULL child
//! column; a child column whose type InnoDB would not compare with its parent
//! column's (integers: same size and sign; character strings: same character set
//! and collation, the length may differ; binary strings: any; other types: the same
//! type, see [`type_mismatch`]); referenced columns that are not exactly the
//! parent's primary key or one of its unique keys (InnoDB wants an index starting
//! with them, Vitess a unique key: a parent key names one row). Unknown tables and
//! columns and a column count that differs are refused when the VSchema is merged
//! ([`super::scope::merge`]). FKs the data nodes have themselves passed InnoDB's
//! checks there and are not checked again.

use tether_connect::DbUrl;
use tether_schema::{FkAction, ForeignKey, Schema, Table};

use super::layout::{Layout, Placement};
use super::managed::{action_name, ManagedError};
use super::scope::{Source, Sources};
use crate::backend::Backend;
use crate::wire::value::Value;

/// How InnoDB compares a MariaDB column type in an FK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// TINYINT .. BIGINT: the size in bytes and the sign.
    Int { bytes: u8, unsigned: bool },
    /// CHAR, VARCHAR, TEXT: compared under their collation.
    Text,
    /// BINARY, VARBINARY, BLOB: compared byte by byte.
    Binary,
    /// Any other type, as MariaDB spells it (`decimal(10,2)`, `datetime(3)`).
    Other(String),
}

/// The class of `column_type` (`information_schema.COLUMNS.COLUMN_TYPE`).
pub fn class_of(column_type: &str) -> Class {
    let t = column_type.trim().to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or_default();
    let unsigned = t.split_whitespace().any(|w| w == "unsigned" || w == "zerofill");
    let int = |bytes| Class::Int { bytes, unsigned };
    match base {
        "tinyint" | "bool" | "boolean" => int(1),
        "smallint" => int(2),
        "mediumint" => int(3),
        "int" | "integer" => int(4),
        "bigint" => int(8),
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => Class::Text,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Class::Binary,
        _ => Class::Other(t),
    }
}

/// Why InnoDB would not take a child column of type `child` (collation
/// `child_collation`) referencing a parent column of type `parent`; None when it
/// would. Stricter than InnoDB for types outside integers and strings: InnoDB
/// compares e.g. DECIMAL(10,2) with DECIMAL(5,0), or DATETIME with DATETIME(3),
/// as bytes of different formats; those are refused here as well.
pub fn type_mismatch(
    child: &str,
    child_collation: Option<&str>,
    parent: &str,
    parent_collation: Option<&str>,
) -> Option<&'static str> {
    match (class_of(child), class_of(parent)) {
        (Class::Int { bytes: a, unsigned: s }, Class::Int { bytes: b, unsigned: t }) => {
            (a != b || s != t).then_some("integers must have the same size and the same sign")
        }
        (Class::Text, Class::Text) => {
            let same = match (child_collation, parent_collation) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            };
            (!same)
                .then_some("character strings must have the same character set and collation (the length may differ)")
        }
        (Class::Binary, Class::Binary) => None,
        (Class::Other(a), Class::Other(b)) if a == b => None,
        _ => Some("the columns must have the same type (integers: same size and sign; strings: same collation)"),
    }
}

/// A unique key of `parent` (its primary key or a UNIQUE key of whole columns,
/// not WITHOUT OVERLAPS) on exactly `columns`, in this order.
fn has_unique_key(parent: &Table, columns: &[String]) -> bool {
    let same =
        |key: &[String]| key.len() == columns.len() && key.iter().zip(columns).all(|(a, b)| a.eq_ignore_ascii_case(b));
    if same(&parent.primary_key) {
        return true;
    }
    parent.unique_keys.iter().any(|k| {
        let whole = parent
            .extras
            .key_parts
            .get(&k.name)
            .is_none_or(|p| p.prefixes.iter().all(Option::is_none) && p.without_overlaps.is_none());
        k.predicate.is_none() && whole && same(&k.columns)
    })
}

/// Where the definition of head table `table` is read: (URL, database, table there).
fn definition_of(layout: &Layout, head: &DbUrl, table: &str) -> Option<(DbUrl, String, String)> {
    let link = match &layout.table(table)?.placement {
        Placement::Plain => return Some((head.clone(), layout.database.clone(), table.to_string())),
        Placement::Linked(l) => l,
        Placement::Sharded(s) => &s.partitions.first()?.link,
    };
    let node = layout.node(link.servers.first()?)?;
    Some((node.url(&link.database), link.database.clone(), link.table.clone()))
}

/// The collation of `table`.`column` where the data nodes define it (None: not a
/// character column, or not found).
async fn collation(layout: &Layout, head: &DbUrl, table: &str, column: &str) -> Result<Option<String>, ManagedError> {
    let Some((url, database, remote)) = definition_of(layout, head, table) else {
        return Ok(None);
    };
    let lit = |s: &str| tether_fkplan::string_literal(s.as_bytes());
    let sql = format!(
        "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} \
         AND COLUMN_NAME = {}",
        lit(&database),
        lit(&remote),
        lit(column)
    );
    let mut b = Backend::new(url, false);
    let read = b.read(&sql).await;
    b.disconnect().await;
    let read = read.map_err(|e| ManagedError::Collation {
        table: table.to_string(),
        column: column.to_string(),
        message: e.message,
    })?;
    Ok(read
        .rows
        .first()
        .and_then(|r| r.first())
        .filter(|v| !matches!(v, Value::Null))
        .map(|v| v.text()))
}

/// Refuses the first FK the VSchema alone declares (`sources`) in `schema` that
/// InnoDB (or, for a parent key that is not unique, Vitess) would refuse.
pub async fn check(layout: &Layout, head: &DbUrl, schema: &Schema, sources: &Sources) -> Result<(), ManagedError> {
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            if sources.get(&(t.name.clone(), fk.name.clone())) != Some(&Source::VSchema) {
                continue;
            }
            if let Some(reason) = refusal(layout, head, schema, t, fk).await? {
                return Err(ManagedError::Declared {
                    name: fk.name.clone(),
                    table: t.name.clone(),
                    columns: fk.columns.join(", "),
                    parent: fk.referenced_table.clone(),
                    parent_columns: fk.referenced_columns.join(", "),
                    reason,
                });
            }
        }
    }
    Ok(())
}

const ERRNO_150: &str =
    "InnoDB refuses such a foreign key (errno 150, \"Foreign key constraint is incorrectly formed\")";

async fn refusal(
    layout: &Layout,
    head: &DbUrl,
    schema: &Schema,
    child: &Table,
    fk: &ForeignKey,
) -> Result<Option<String>, ManagedError> {
    let Some(parent) = schema
        .tables
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(&fk.referenced_table))
    else {
        return Ok(None);
    };
    for (c, p) in fk.columns.iter().zip(&fk.referenced_columns) {
        let (Some(cc), Some(pc)) = (child.column(c), parent.column(p)) else {
            continue;
        };
        let text = class_of(&cc.engine_type) == Class::Text && class_of(&pc.engine_type) == Class::Text;
        let (c_coll, p_coll) = if text {
            (
                collation(layout, head, &child.name, &cc.name).await?,
                collation(layout, head, &parent.name, &pc.name).await?,
            )
        } else {
            (None, None)
        };
        if let Some(rule) = type_mismatch(&cc.engine_type, c_coll.as_deref(), &pc.engine_type, p_coll.as_deref()) {
            let with = |ty: &str, coll: &Option<String>| match coll {
                Some(coll) => format!("{ty} COLLATE {coll}"),
                None => ty.to_string(),
            };
            return Ok(Some(format!(
                "`{}`.`{}` is {}, `{}`.`{}` is {}: {ERRNO_150}: {rule}",
                child.name,
                cc.name,
                with(&cc.engine_type, &c_coll),
                parent.name,
                pc.name,
                with(&pc.engine_type, &p_coll)
            )));
        }
    }
    if !has_unique_key(parent, &fk.referenced_columns) {
        return Ok(Some(format!(
            "`{}` has no primary key or unique key on exactly ({}), in this order and of whole columns: the parent \
             key of a VSchema foreign key must name one row (Vitess requires a unique key too; InnoDB refuses an FK \
             without an index on the referenced columns, errno 150); add the key on the data nodes or reference \
             the primary key",
            parent.name,
            fk.referenced_columns.join(", ")
        )));
    }
    for (event, action) in [("DELETE", fk.on_delete), ("UPDATE", fk.on_update)] {
        if action != FkAction::SetNull {
            continue;
        }
        if let Some(c) = fk.columns.iter().filter_map(|c| child.column(c)).find(|c| !c.nullable) {
            return Ok(Some(format!(
                "ON {event} {} on `{}`.`{}`, which is NOT NULL: {ERRNO_150}, and the gateway's SET NULL would store \
                 0 or '' under a non-strict sql_mode (an orphan); make the column NULL on the nodes and the head, or \
                 declare CASCADE or RESTRICT",
                action_name(action),
                child.name,
                c.name
            )));
        }
    }
    Ok(None)
}
