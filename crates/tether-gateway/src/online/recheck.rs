//! What the plan assumed, read again before the cut-over: a migrated table's own
//! definition and triggers (a direct ALTER or CREATE TRIGGER during the copy would be
//! lost at the swap: the migration fails, nothing swapped), and the children as they
//! are now (the plan's were read at submit: an FK added, dropped or changed since is
//! re-pointed, left out or kept as changed).

use std::collections::BTreeMap;

use super::db::{lit, q, Db};
use super::plan::{ChildFk, FkDef, Plan};
use super::{store, OnlineError};
use tether_schema::FkAction;

/// `SHOW CREATE TABLE` of `table` without its `AUTO_INCREMENT=N` counter (it moves
/// with every insert).
pub async fn definition(db: &mut Db, table: &str) -> Result<String, OnlineError> {
    let rows = db.texts(&format!("SHOW CREATE TABLE {}", q(table))).await?;
    let text = rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().nth(1).flatten())
        .unwrap_or_default();
    Ok(text
        .split(' ')
        .filter(|w| !w.starts_with("AUTO_INCREMENT="))
        .collect::<Vec<_>>()
        .join(" "))
}

/// Records every migrated table's definition in the plan (before its shadow is built).
pub async fn record(db: &mut Db, plan: &mut Plan) -> Result<(), OnlineError> {
    for t in &mut plan.tables {
        t.definition = Some(definition(db, &t.table).await?);
    }
    Ok(())
}

/// Fails when a migrated table's definition changed since it was recorded, or it has
/// triggers other than the migration's own capture triggers.
pub async fn unchanged(db: &mut Db, database: &str, plan: &Plan) -> Result<(), OnlineError> {
    for t in &plan.tables {
        if let Some(was) = &t.definition {
            let now = definition(db, &t.table).await?;
            if &now != was {
                return Err(OnlineError::Refused {
                    table: t.table.clone(),
                    reason: format!(
                        "the definition of `{}` changed during the migration (a direct ALTER?); nothing was \
                         swapped. Before: {was}; now: {now}",
                        t.table
                    ),
                });
            }
        }
    }
    let tables: Vec<String> = plan.tables.iter().map(|t| t.table.clone()).collect();
    let foreign: Vec<String> = store::user_triggers(db, database, &tables)
        .await?
        .into_iter()
        .map(|(name, on)| format!("`{name}` on `{on}`"))
        .collect();
    if !foreign.is_empty() {
        return Err(OnlineError::Refused {
            table: plan.root.clone(),
            reason: format!(
                "triggers were created during the migration ({}), which the new table would not keep; \
                 nothing was swapped",
                foreign.join(", ")
            ),
        });
    }
    Ok(())
}

/// The FKs of other tables that reference a migrated table, as they are now, read
/// across every database: a child in another database is refused (its FK would be
/// left on the old table), the others are returned in the plan's form.
pub async fn children(
    db: &mut Db,
    database: &str,
    plan: &Plan,
    all_databases: bool,
) -> Result<Vec<ChildFk>, OnlineError> {
    let migrated: Vec<&str> = plan.tables.iter().map(|t| t.table.as_str()).collect();
    let names: Vec<String> = migrated.iter().map(|t| lit(t)).collect();
    let scope = if all_databases {
        String::new()
    } else {
        format!("k.TABLE_SCHEMA = {} AND ", lit(database))
    };
    let sql = format!(
        "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
         k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE {scope}k.REFERENCED_TABLE_SCHEMA = {db} AND k.REFERENCED_TABLE_NAME IN ({names}) \
         AND r.UNIQUE_CONSTRAINT_SCHEMA = {db} \
         ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        db = lit(database),
        names = names.join(", ")
    );
    let mut by_name: BTreeMap<(String, String, String), FkDef> = BTreeMap::new();
    for r in db.texts(&sql).await? {
        let f = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        let action = |i: usize| FkAction::parse(&f(i)).unwrap_or(FkAction::Restrict);
        let e = by_name.entry((f(0), f(1), f(2))).or_insert_with(|| FkDef {
            name: f(2),
            table: f(1),
            columns: Vec::new(),
            referenced_table: f(4),
            referenced_schema: None,
            referenced_columns: Vec::new(),
            on_delete: action(6),
            on_update: action(7),
        });
        e.columns.push(f(3));
        e.referenced_columns.push(f(5));
    }
    let mut out = Vec::new();
    let mut elsewhere = Vec::new();
    for ((schema, table, name), fk) in by_name {
        if schema != database {
            elsewhere.push(format!("`{schema}`.`{table}` ({name})"));
        } else if !migrated.contains(&table.as_str()) {
            out.push(ChildFk { fk });
        }
    }
    if !elsewhere.is_empty() {
        return Err(OnlineError::Refused {
            table: plan.root.clone(),
            reason: format!(
                "tables of other databases reference it ({}): their FKs cannot be re-pointed at the new \
                 table; nothing was swapped",
                elsewhere.join(", ")
            ),
        });
    }
    Ok(out)
}

/// The plan with its children as they are now (every database read), after checking
/// that the migrated tables' definitions and triggers are as the plan assumed.
pub async fn refresh(db: &mut Db, database: &str, plan: &Plan) -> Result<Plan, OnlineError> {
    unchanged(db, database, plan).await?;
    let mut fresh = plan.clone();
    fresh.children = children(db, database, plan, true).await?;
    Ok(fresh)
}

/// True when the children in `plan` are those of the database now (compared as sets).
pub async fn same_children(db: &mut Db, database: &str, plan: &Plan) -> Result<bool, OnlineError> {
    let now = children(db, database, plan, false).await?;
    Ok(now.len() == plan.children.len() && now.iter().all(|c| plan.children.contains(c)))
}
