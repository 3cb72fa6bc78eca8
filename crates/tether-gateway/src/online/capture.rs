//! Capturing concurrent changes: three triggers per migrated table (AFTER INSERT,
//! UPDATE, DELETE) that apply each row change to the shadow, by primary key only. A
//! change that clashes with another unique key of the new definition is recorded in the
//! migration's `clash` column (the user's write still succeeds) and fails the migration
//! before the swap.
//!
//! Why triggers rather than the binlog: they work on a backend without `log_bin` and
//! without replication privileges, they apply changes in the writer's own transaction
//! (nothing to catch up at cut-over: the shadow is current when the RENAME gets its
//! lock), and they see writes that reach the backend without the gateway. What they
//! cannot see are InnoDB's own cascades (no trigger fires for them, nor do they reach
//! the binlog): hence [`super::plan::unmanaged_refusal`] for unmanaged keyspaces.

use super::db::{lit, q, q_list, Db};
use super::plan::TablePlan;
use super::store;
use super::OnlineError;

/// `a = OLD.a AND b = OLD.b` over the primary key (shadow names on the left).
fn key_match(t: &TablePlan, row: &str) -> String {
    t.primary_key
        .iter()
        .map(|k| format!("{} = {row}.{}", q(shadow_column(t, k)), q(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The shadow's column for a source column (the same name unless renamed).
pub(super) fn shadow_column<'a>(t: &'a TablePlan, source: &'a str) -> &'a str {
    t.copy
        .iter()
        .find(|(s, _)| s == source)
        .map(|(_, d)| d.as_str())
        .unwrap_or(source)
}

/// Writes the NEW row to the shadow: the row with its primary key replaced, never
/// another one (a REPLACE would delete rows clashing on other unique keys). A clash on
/// another unique key (1062) is recorded in migration `id`'s `clash` column, in the
/// writer's transaction (a write rolled back leaves no record), instead of failing the
/// write.
fn write_row(t: &TablePlan, id: &str, delete_old: &str) -> String {
    // Columns added NOT NULL without a DEFAULT get their implicit default, as natively.
    let dst: Vec<&str> = t
        .copy
        .iter()
        .map(|(_, d)| d.as_str())
        .chain(t.fill.iter().map(|(c, _)| c.as_str()))
        .collect();
    let src: Vec<String> = t
        .copy
        .iter()
        .map(|(s, _)| format!("NEW.{}", q(s)))
        .chain(t.fill.iter().map(|(_, v)| v.clone()))
        .collect();
    let key: Vec<String> = t.primary_key.iter().map(|k| format!("QUOTE(NEW.{})", q(k))).collect();
    format!(
        "BEGIN DECLARE _m TEXT DEFAULT ''; \
         DECLARE CONTINUE HANDLER FOR 1062 BEGIN GET DIAGNOSTICS CONDITION 1 _m = MESSAGE_TEXT; \
         UPDATE {records} SET clash = COALESCE(clash, CONCAT('a write to ', {table_lit}, ' (primary key ', CONCAT_WS(', ', {key}), ') clashes in the new definition: ', _m)) WHERE id = {id_lit}; END; \
         {delete_old}DELETE FROM {shadow} WHERE {new_match}; INSERT INTO {shadow} ({dst}) VALUES ({src}); END",
        records = q(store::TABLE),
        id_lit = lit(id),
        table_lit = lit(&q(&t.table)),
        key = key.join(", "),
        shadow = q(&t.shadow),
        new_match = key_match(t, "NEW"),
        dst = q_list(&dst),
        src = src.join(", "),
    )
}

/// The CREATE TRIGGER statements for `t` (insert, update, delete).
pub fn trigger_sql(t: &TablePlan, id: &str) -> [String; 3] {
    let [ins, upd, del] = &t.triggers;
    let table = q(&t.table);
    [
        format!(
            "CREATE TRIGGER {} AFTER INSERT ON {table} FOR EACH ROW {}",
            q(ins),
            write_row(t, id, "")
        ),
        format!(
            "CREATE TRIGGER {} AFTER UPDATE ON {table} FOR EACH ROW {}",
            q(upd),
            write_row(
                t,
                id,
                &format!("DELETE FROM {} WHERE {}; ", q(&t.shadow), key_match(t, "OLD"))
            )
        ),
        format!(
            "CREATE TRIGGER {} AFTER DELETE ON {table} FOR EACH ROW DELETE FROM {} WHERE {}",
            q(del),
            q(&t.shadow),
            key_match(t, "OLD")
        ),
    ]
}

/// Creates the capture triggers of `t` for migration `id`.
pub async fn create(db: &mut Db, t: &TablePlan, id: &str) -> Result<(), OnlineError> {
    for sql in trigger_sql(t, id) {
        db.run(&sql).await?;
    }
    Ok(())
}

/// The first write captured for migration `id` that clashed with a unique key of the
/// new definition, as the 1062 the native ALTER gives.
pub async fn clash(db: &mut Db, id: &str) -> Result<Option<OnlineError>, OnlineError> {
    let sql = format!("SELECT clash FROM {} WHERE id = {}", q(store::TABLE), lit(id));
    let first = db
        .texts(&sql)
        .await?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten());
    Ok(first.map(|message| OnlineError::Backend {
        doing: format!("capturing writes for migration '{id}'"),
        code: 1062,
        state: "23000".into(),
        message,
    }))
}

/// Drops the capture triggers of `t` (those that exist).
pub async fn drop(db: &mut Db, t: &TablePlan) -> Result<(), OnlineError> {
    for name in &t.triggers {
        db.run(&format!("DROP TRIGGER IF EXISTS {}", q(name))).await?;
    }
    Ok(())
}
