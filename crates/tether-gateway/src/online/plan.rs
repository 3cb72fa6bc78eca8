//! The plan of one online migration, as data: which tables get a shadow (the ALTERed
//! table, and for a referenced key whose type changes every child table holding that
//! key: its family), the names of shadows, old tables, triggers and temporary FKs,
//! the FKs of other tables to re-point at cut-over, and what is refused. Pure: built
//! from the keyspace's schema and the ALTER's AST; stored with the migration.

use serde::{Deserialize, Serialize};
use sqlparser::ast::{AlterTable, AlterTableOperation, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_schema::{FkAction, ForeignKey, Schema, Table};

use super::{text, OnlineError};

/// MariaDB's longest identifier.
const MAX_NAME: usize = 64;

/// A foreign key as the migrator re-creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FkDef {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub referenced_table: String,
    /// The referenced table's database when it is not the keyspace's (review r13b
    /// finding 7: the FK is re-created against that database, never the keyspace's
    /// table of the same name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_schema: Option<String>,
    pub referenced_columns: Vec<String>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
}

impl FkDef {
    pub(crate) fn from_schema(table: &str, fk: &ForeignKey) -> FkDef {
        FkDef {
            name: fk.name.clone(),
            table: table.to_string(),
            columns: fk.columns.clone(),
            referenced_table: fk.referenced_table.clone(),
            referenced_schema: fk.referenced_schema.clone(),
            referenced_columns: fk.referenced_columns.clone(),
            on_delete: fk.on_delete,
            on_update: fk.on_update,
        }
    }

    /// The referenced table when it is in the keyspace's database.
    pub fn local_parent(&self) -> Option<&str> {
        self.referenced_schema
            .is_none()
            .then_some(self.referenced_table.as_str())
    }

    /// The referenced table as SQL: quoted, with its database when another.
    pub fn parent_sql(&self) -> String {
        match &self.referenced_schema {
            Some(s) => format!("{}.{}", super::db::q(s), super::db::q(&self.referenced_table)),
            None => super::db::q(&self.referenced_table),
        }
    }
}

/// True when `fk` (of the keyspace's schema) references `table` of the keyspace's own
/// database.
fn references(fk: &ForeignKey, table: &str) -> bool {
    fk.referenced_schema.is_none() && fk.referenced_table == table
}

/// One table the migration rebuilds through a shadow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablePlan {
    pub table: String,
    /// `_<table>_new_<id>`: the copy with the new definition.
    pub shadow: String,
    /// `_<table>_old_<id>`: the original after cut-over, kept until the user drops it.
    pub old: String,
    pub primary_key: Vec<String>,
    /// The table's own FKs before the migration (dropped from the old table at cut-over,
    /// so their names are free again).
    pub fks_before: Vec<FkDef>,
    /// FKs the ALTER drops (by name).
    pub fks_dropped: Vec<String>,
    /// Columns whose type follows the parent's new key type (family children, and the
    /// table's own self-referencing columns).
    pub follow_columns: Vec<String>,
    /// The user's ALTER rewritten for the shadow (root table only; `None` when the ALTER
    /// only drops FKs).
    pub shadow_alter: Option<String>,
    /// (source column, shadow column) pairs copied; set when the shadow exists.
    #[serde(default)]
    pub copy: Vec<(String, String)>,
    /// (shadow column, literal) pairs: columns the ALTER adds NOT NULL without a DEFAULT,
    /// written with their type's implicit default by the copy and the capture (as the
    /// native ALTER fills them; a strict INSERT would fail with 1364). Set with `copy`.
    #[serde(default)]
    pub fill: Vec<(String, String)>,
    /// The FKs the new table gets at cut-over, with their final names; set when the
    /// shadow exists (read back from it).
    #[serde(default)]
    pub fks_after: Vec<FkDef>,
    /// Names of the capture triggers (insert, update, delete).
    pub triggers: [String; 3],
    /// The table's `SHOW CREATE TABLE` (without its AUTO_INCREMENT counter) read just
    /// before its shadow was built: checked again right before the RENAME (a direct
    /// ALTER during the copy fails the migration instead of being lost at the swap).
    #[serde(default)]
    pub definition: Option<String>,
}

/// An FK of a table outside the migration that references a migrated table: it is
/// re-pointed at the new table at cut-over, under the same name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildFk {
    pub fk: FkDef,
}

/// The whole migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    /// The ALTERed table.
    pub root: String,
    /// Root first, then the family children whose key columns change with it.
    pub tables: Vec<TablePlan>,
    pub children: Vec<ChildFk>,
    /// `_tether_<id>`: the start of trigger and temporary FK names.
    pub prefix: String,
    /// True once shadows and triggers exist and `copy`/`fks_after` are set.
    #[serde(default)]
    pub prepared: bool,
}

impl Plan {
    pub fn table(&self, name: &str) -> Option<&TablePlan> {
        self.tables.iter().find(|t| t.table == name)
    }

    /// Every table name the cut-over touches: migrated tables, re-pointed children,
    /// and the parents (in this database) of the migrated tables' FKs before and
    /// after. A parent's write planned on the schema before the swap would miss an
    /// FK the swap adds (its cascade into the new child not run: orphans), so it
    /// waits until the schema is known stale.
    pub fn gated_tables(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.iter().map(|t| t.table.clone()).collect();
        let children = self.children.iter().map(|c| c.fk.table.as_str());
        let parents = self
            .tables
            .iter()
            .flat_map(|t| t.fks_before.iter().chain(&t.fks_after))
            .filter_map(|fk| fk.local_parent())
            .map(|p| self.final_name(p));
        for name in children.chain(parents) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        names
    }

    /// The name a table has after cut-over, for a name seen on the shadows.
    pub fn final_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.tables
            .iter()
            .find(|t| t.shadow == name)
            .map(|t| t.table.as_str())
            .unwrap_or(name)
    }
}

/// The parsed user ALTER.
pub struct ParsedAlter {
    pub table: String,
    pub statement: AlterTable,
    /// The text as written, `ALTER TABLE name ...` (ONLINE left out): what the shadow's
    /// ALTER is cut from.
    pub text: String,
}

/// Parses `sql` as exactly one `ALTER [ONLINE] TABLE` of a table of the keyspace.
/// `ALTER IGNORE TABLE` is refused: it deletes the rows that clash on a unique key,
/// which a copy under strict mode cannot do as the native ALTER does.
pub fn parse_alter(sql: &str) -> Result<ParsedAlter, OnlineError> {
    let cut = text::cut(sql).map_err(OnlineError::NotAlter)?;
    if cut.ignore {
        return Err(OnlineError::NotAlter(
            "ALTER IGNORE TABLE is not supported online (it deletes rows clashing on a unique key, and \
             turns errors into warnings): run it with ddl_strategy 'direct'"
                .into(),
        ));
    }
    let plain = cut.plain();
    let statements =
        Parser::parse_sql(&MySqlDialect {}, &plain).map_err(|e| OnlineError::NotAlter(format!("cannot parse: {e}")))?;
    let mut it = statements.into_iter();
    match (it.next(), it.next()) {
        (Some(Statement::AlterTable(at)), None) => {
            let parts: Vec<String> = at
                .name
                .0
                .iter()
                .map(|p| p.as_ident().map(|i| i.value.clone()).unwrap_or_else(|| p.to_string()))
                .collect();
            if parts.len() != 1 {
                return Err(OnlineError::NotAlter(format!(
                    "`{}`: name the table without a database (the keyspace is the database)",
                    at.name
                )));
            }
            let drops = at
                .operations
                .iter()
                .filter(|op| matches!(op, AlterTableOperation::DropForeignKey { .. }))
                .count();
            if drops != cut.fk_drops() {
                return Err(OnlineError::NotAlter(format!(
                    "cannot tell the DROP FOREIGN KEY operations apart in the text ({} read, {drops} parsed)",
                    cut.fk_drops()
                )));
            }
            Ok(ParsedAlter {
                table: parts[0].clone(),
                statement: at,
                text: plain,
            })
        }
        _ => Err(OnlineError::NotAlter("expected one ALTER TABLE statement".into())),
    }
}

/// True when the ALTER `sql` sets the table's `AUTO_INCREMENT` counter.
pub fn sets_auto_increment(sql: &str) -> bool {
    parse_alter(sql).is_ok_and(|p| {
        p.statement
            .operations
            .iter()
            .any(|op| matches!(op, AlterTableOperation::AutoIncrement { .. }))
    })
}

/// The column the ALTER `alter_sql` makes AUTO_INCREMENT on a table of `schema`
/// (added so, or an existing column modified into it), with its table. Natively the
/// ALTER numbers the existing rows 1..N in primary-key order; the copy's chunked
/// INSERT ... SELECT reserves values in batches (gaps) and captured rows take theirs
/// in write order, so such an ALTER runs online only on an empty table (review r14e
/// finding 2).
pub fn numbered_column(schema: &Schema, alter_sql: &str) -> Option<(String, String)> {
    let parsed = parse_alter(alter_sql).ok()?;
    let table = schema.tables.iter().find(|t| t.name == parsed.table)?;
    let auto = |op: &AlterTableOperation| op.to_string().to_ascii_uppercase().contains("AUTO_INCREMENT");
    parsed.statement.operations.iter().filter(|op| auto(op)).find_map(|op| {
        let (existing, name) = match op {
            AlterTableOperation::AddColumn { column_def, .. } => (None, &column_def.name.value),
            AlterTableOperation::ModifyColumn { col_name, .. } => (Some(&col_name.value), &col_name.value),
            AlterTableOperation::ChangeColumn { old_name, new_name, .. } => (Some(&old_name.value), &new_name.value),
            _ => return None,
        };
        let was_numbered = existing
            .and_then(|c| table.column(c))
            .is_some_and(|c| c.identity == Some(tether_schema::Identity::AutoIncrement));
        (!was_numbered).then(|| (table.name.clone(), name.clone()))
    })
}

/// A short token of the migration id used in generated names.
pub fn short_id(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect()
}

/// Columns of `table` whose type changes by the ALTER (MODIFY/CHANGE to another type).
fn retyped_columns(alter: &AlterTable, table: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for op in &alter.operations {
        let (col, ty) = match op {
            AlterTableOperation::ModifyColumn {
                col_name, data_type, ..
            } => (&col_name.value, data_type),
            AlterTableOperation::ChangeColumn {
                old_name, data_type, ..
            } => (&old_name.value, data_type),
            _ => continue,
        };
        let Some(c) = table.column(col) else { continue };
        if normal_type(&ty.to_string()) != normal_type(&c.engine_type) {
            out.push(col.clone());
        }
    }
    out
}

/// A type spelled for comparison: lower case, integer display widths dropped.
fn normal_type(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    let ints = ["tinyint", "smallint", "mediumint", "bigint", "int", "integer"];
    for i in ints {
        if let Some(rest) = t.strip_prefix(i) {
            if let Some(close) = rest.strip_prefix('(').and_then(|r| r.find(')').map(|p| &r[p + 1..])) {
                return format!("{}{close}", if i == "integer" { "int" } else { i });
            }
            return format!("{}{rest}", if i == "integer" { "int" } else { i });
        }
    }
    t
}

/// The reasons InnoDB can change rows of `table` by itself (cascading actions of the
/// table's FKs): such changes fire no trigger and reach no binlog, so an online
/// migration of the table would miss them. Empty when none.
pub fn cascade_reasons(table: &Table) -> Vec<String> {
    let changes = |a: FkAction| matches!(a, FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault);
    let mut out = Vec::new();
    for fk in &table.foreign_keys {
        if changes(fk.on_delete) {
            out.push(format!(
                "FK `{}` of `{}` is ON DELETE {} from `{}`",
                fk.name, table.name, fk.on_delete, fk.referenced_table
            ));
        }
        if changes(fk.on_update) {
            out.push(format!(
                "FK `{}` of `{}` is ON UPDATE {} from `{}`",
                fk.name, table.name, fk.on_update, fk.referenced_table
            ));
        }
    }
    out
}

/// The refusal for an unmanaged keyspace's table InnoDB can cascade into (the hook
/// calls this before accepting an online ALTER there), or `None`.
pub fn unmanaged_refusal(schema: &Schema, table: &str) -> Option<OnlineError> {
    let t = schema.tables.iter().find(|t| t.name == table)?;
    let reasons = cascade_reasons(t);
    if reasons.is_empty() {
        return None;
    }
    Some(OnlineError::Refused {
        table: table.to_string(),
        reason: format!(
            "{}: in an unmanaged keyspace InnoDB runs these cascades itself, and its changes fire no \
             trigger and reach no binlog, so the shadow copy would miss them (use a managed keyspace, \
             where the gateway issues cascades as statements, or ALTER directly)",
            reasons.join("; ")
        ),
    })
}

/// Builds the plan of migration `id` for `alter_sql` on `schema`. `managed`: the keyspace
/// runs FK actions through the gateway (else cascade targets are refused).
pub fn build(schema: &Schema, id: &str, alter_sql: &str, managed: bool) -> Result<Plan, OnlineError> {
    let parsed = parse_alter(alter_sql)?;
    let name = parsed.table.clone();
    let refuse = |reason: String| OnlineError::Refused {
        table: name.clone(),
        reason,
    };
    let find = |t: &str| schema.tables.iter().find(|x| x.name == t);
    let root = find(&name).ok_or_else(|| refuse("no such table in the keyspace".into()))?;
    if parsed.statement.if_exists {
        return Err(refuse("ALTER TABLE IF EXISTS is not supported online".into()));
    }
    for op in &parsed.statement.operations {
        match op {
            AlterTableOperation::RenameTable { .. } => {
                return Err(refuse(
                    "renaming the table is instant: run it with ddl_strategy 'direct'".into(),
                ))
            }
            AlterTableOperation::DropPrimaryKey { .. } => {
                return Err(refuse(
                    "the copy walks the primary key: it cannot be dropped online".into(),
                ))
            }
            _ => {}
        }
    }
    if root.primary_key.is_empty() {
        return Err(refuse(
            "the table has no primary key (the copy walks it in chunks)".into(),
        ));
    }
    // A referenced column renamed: the children's FKs would have to follow the new
    // name (review r21f F5: refused by InnoDB's 1822 on scratch names before).
    for pair in copy_columns(Some(&parsed.statement), root) {
        if same_column(&pair.source, &pair.shadow) {
            continue;
        }
        let referencing = schema.tables.iter().find_map(|t| {
            t.foreign_keys
                .iter()
                .find(|fk| {
                    references(fk, &root.name) && fk.referenced_columns.iter().any(|r| same_column(r, &pair.source))
                })
                .map(|fk| (t.name.as_str(), fk.name.as_str()))
        });
        if let Some((child, fk)) = referencing {
            return Err(refuse(format!(
                "renaming column `{}`, which FK `{fk}` of `{child}` references, is not supported online (the \
                 FK would have to follow the new name): run it with ddl_strategy 'direct'",
                pair.source
            )));
        }
    }

    // The family: children holding a key whose type changes.
    let retyped = retyped_columns(&parsed.statement, root);
    let mut family: Vec<(&Table, Vec<String>)> = vec![(root, Vec::new())];
    // Self-references follow the key too.
    for fk in &root.foreign_keys {
        if references(fk, &root.name) {
            for (c, r) in fk.columns.iter().zip(&fk.referenced_columns) {
                if retyped.contains(r) && !family[0].1.contains(c) && !retyped.contains(c) {
                    family[0].1.push(c.clone());
                }
            }
        }
    }
    for t in &schema.tables {
        if t.name == root.name {
            continue;
        }
        let mut follow = Vec::new();
        for fk in &t.foreign_keys {
            if !references(fk, &root.name) {
                continue;
            }
            for (c, r) in fk.columns.iter().zip(&fk.referenced_columns) {
                if retyped.contains(r) && !follow.contains(c) {
                    follow.push(c.clone());
                }
            }
        }
        if !follow.is_empty() {
            family.push((t, follow));
        }
    }
    // Grandchildren of a retyped child column would need to follow as well.
    for (t, follow) in family.iter().skip(1) {
        for other in &schema.tables {
            for fk in &other.foreign_keys {
                if references(fk, &t.name) && fk.referenced_columns.iter().any(|c| follow.contains(c)) {
                    return Err(refuse(format!(
                        "`{}`.({}) follows the new key type, but FK `{}` of `{}` references it in turn \
                         (families deeper than one level are not supported yet)",
                        t.name,
                        follow.join(", "),
                        fk.name,
                        other.name
                    )));
                }
            }
        }
        if t.primary_key.is_empty() {
            return Err(refuse(format!(
                "child `{}` must follow the key type but has no primary key",
                t.name
            )));
        }
    }
    if !managed {
        for (t, _) in &family {
            if let Some(r) = unmanaged_refusal(schema, &t.name) {
                return Err(r);
            }
        }
    }

    let short = short_id(id);
    let prefix = format!("_tether_{short}");
    let mut tables = Vec::new();
    for (i, (t, follow)) in family.iter().enumerate() {
        // Both carry the migration's id: two migrations never share a shadow (nor drop
        // one another's). MariaDB counts name lengths in characters.
        let shadow = format!("_{}_new_{short}", t.name);
        let old = format!("_{}_old_{short}", t.name);
        if old.chars().count() > MAX_NAME {
            return Err(refuse(format!(
                "the name `{old}` kept for the old table of `{}` would exceed {MAX_NAME} characters",
                t.name
            )));
        }
        let is_root = i == 0;
        let fks_dropped: Vec<String> = if is_root {
            parsed
                .statement
                .operations
                .iter()
                .filter_map(|op| match op {
                    AlterTableOperation::DropForeignKey { name, .. } => Some(name.value.clone()),
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        for d in &fks_dropped {
            if !t.foreign_keys.iter().any(|f| &f.name == d) {
                return Err(refuse(format!("FK `{d}` to drop does not exist on `{}`", t.name)));
            }
        }
        let shadow_alter = if is_root { shadow_alter(&parsed, &shadow)? } else { None };
        tables.push(TablePlan {
            table: t.name.clone(),
            shadow,
            old,
            primary_key: t.primary_key.clone(),
            fks_before: t.foreign_keys.iter().map(|f| FkDef::from_schema(&t.name, f)).collect(),
            fks_dropped,
            follow_columns: follow.clone(),
            shadow_alter,
            copy: Vec::new(),
            fill: Vec::new(),
            fks_after: Vec::new(),
            triggers: [
                format!("{prefix}_{i}_ins"),
                format!("{prefix}_{i}_upd"),
                format!("{prefix}_{i}_del"),
            ],
            definition: None,
        });
    }
    let migrated: Vec<&str> = tables.iter().map(|t| t.table.as_str()).collect();
    let mut children = Vec::new();
    for t in &schema.tables {
        if migrated.contains(&t.name.as_str()) {
            continue;
        }
        for fk in &t.foreign_keys {
            if fk.referenced_schema.is_none() && migrated.contains(&fk.referenced_table.as_str()) {
                children.push(ChildFk {
                    fk: FkDef::from_schema(&t.name, fk),
                });
            }
        }
    }
    Ok(Plan {
        id: id.to_string(),
        root: name.clone(),
        tables,
        children,
        prefix,
        prepared: false,
    })
}

/// The user's ALTER aimed at the shadow: the user's text with the table name replaced
/// and the `DROP FOREIGN KEY` operations cut out (the shadow's FKs are re-created at
/// cut-over, without the dropped ones). Never sqlparser's reprint: that changes string
/// literals with backslashes and the precedence of `BINARY` (review r13b). `None` when
/// nothing else is left.
fn shadow_alter(parsed: &ParsedAlter, shadow: &str) -> Result<Option<String>, OnlineError> {
    let cut = text::cut(&parsed.text).map_err(OnlineError::NotAlter)?;
    Ok(cut.for_shadow(&super::db::q(shadow)))
}

/// Column pairs copied from `table` into its shadow: every column the ALTER keeps,
/// renamed as the ALTER renames it, with whether the source column is generated (its
/// value is copied only where the shadow's column is an ordinary one: a MODIFY that
/// makes it ordinary keeps the values). Names compare as MariaDB compares them
/// (without case, beyond ASCII too).
pub fn copy_columns(alter: Option<&AlterTable>, table: &Table) -> Vec<CopyColumn> {
    let mut pairs: Vec<CopyColumn> = table
        .columns
        .iter()
        .map(|c| CopyColumn {
            source: c.name.clone(),
            shadow: c.name.clone(),
            generated: c.generated.is_some(),
        })
        .collect();
    let Some(alter) = alter else { return pairs };
    for op in &alter.operations {
        match op {
            AlterTableOperation::DropColumn { column_names, .. } => {
                pairs.retain(|p| !column_names.iter().any(|n| same_column(&n.value, &p.source)));
            }
            AlterTableOperation::ChangeColumn { old_name, new_name, .. } => {
                for p in pairs.iter_mut() {
                    if same_column(&p.source, &old_name.value) {
                        p.shadow = new_name.value.clone();
                    }
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                for p in pairs.iter_mut() {
                    if same_column(&p.source, &old_column_name.value) {
                        p.shadow = new_column_name.value.clone();
                    }
                }
            }
            _ => {}
        }
    }
    pairs
}

/// A source column and the shadow column its values go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyColumn {
    pub source: String,
    pub shadow: String,
    /// The source column is generated (copied only into an ordinary shadow column).
    pub generated: bool,
}

/// True when two column names name the same column (MariaDB: without case, Unicode).
pub fn same_column(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_compare_without_display_widths() {
        assert_eq!(normal_type("int(11)"), "int");
        assert_eq!(normal_type("INT"), "int");
        assert_eq!(normal_type("int(10) unsigned"), "int unsigned");
        assert_eq!(normal_type("BIGINT"), "bigint");
        assert_eq!(normal_type("varchar(20)"), "varchar(20)");
    }

    #[test]
    fn the_shadow_alter_names_the_shadow_and_keeps_the_rest() {
        let p = parse_alter("ALTER TABLE `customer` ADD COLUMN note TEXT, DROP FOREIGN KEY f1, ADD INDEX i (note(10))")
            .expect("parses");
        assert_eq!(p.table, "customer");
        assert_eq!(
            shadow_alter(&p, "_customer_new").expect("cuts").as_deref(),
            Some("ALTER TABLE `_customer_new` ADD COLUMN note TEXT, ADD INDEX i (note(10))")
        );
        let p = parse_alter("ALTER TABLE c DROP FOREIGN KEY f1").expect("parses");
        assert_eq!(shadow_alter(&p, "_c_new").expect("cuts"), None);
        let p = parse_alter("ALTER ONLINE TABLE c ADD z INT").expect("parses");
        assert_eq!(p.table, "c");
        assert!(matches!(
            parse_alter("ALTER IGNORE TABLE c ADD UNIQUE (z)"),
            Err(OnlineError::NotAlter(_))
        ));
    }

    #[test]
    fn other_statements_are_not_alters() {
        assert!(matches!(parse_alter("SELECT 1"), Err(OnlineError::NotAlter(_))));
        assert!(matches!(
            parse_alter("ALTER TABLE a ADD x INT; ALTER TABLE b ADD y INT"),
            Err(OnlineError::NotAlter(_))
        ));
        assert!(matches!(
            parse_alter("ALTER TABLE db.a ADD x INT"),
            Err(OnlineError::NotAlter(_))
        ));
    }
}
