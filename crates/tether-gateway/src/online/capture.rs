//! Capturing concurrent changes: three triggers per migrated table (AFTER INSERT,
//! UPDATE, DELETE) that apply each row change to the shadow with REPLACE / DELETE.
//!
//! Why triggers rather than the binlog: they work on a backend without `log_bin` and
//! without replication privileges, they apply changes in the writer's own transaction
//! (nothing to catch up at cut-over: the shadow is current when the RENAME gets its
//! lock), and they see writes that reach the backend without the gateway. What they
//! cannot see are InnoDB's own cascades (no trigger fires for them, nor do they reach
//! the binlog): hence [`super::plan::unmanaged_refusal`] for unmanaged keyspaces.

use super::db::{q, q_list, Db};
use super::plan::TablePlan;
use super::OnlineError;

/// `a = OLD.a AND b = OLD.b` over the primary key (shadow names on the left).
fn key_match(t: &TablePlan, row: &str) -> String {
    t.primary_key
        .iter()
        .map(|k| format!("{} = {row}.{}", q(shadow_column(t, k)), q(k)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn shadow_column<'a>(t: &'a TablePlan, source: &'a str) -> &'a str {
    t.copy
        .iter()
        .find(|(s, _)| s == source)
        .map(|(_, d)| d.as_str())
        .unwrap_or(source)
}

fn replace_row(t: &TablePlan) -> String {
    let dst: Vec<&str> = t.copy.iter().map(|(_, d)| d.as_str()).collect();
    let src: Vec<String> = t.copy.iter().map(|(s, _)| format!("NEW.{}", q(s))).collect();
    format!(
        "REPLACE INTO {} ({}) VALUES ({})",
        q(&t.shadow),
        q_list(&dst),
        src.join(", ")
    )
}

/// The CREATE TRIGGER statements for `t` (insert, update, delete).
pub fn trigger_sql(t: &TablePlan) -> [String; 3] {
    let [ins, upd, del] = &t.triggers;
    let table = q(&t.table);
    [
        format!(
            "CREATE TRIGGER {} AFTER INSERT ON {table} FOR EACH ROW {}",
            q(ins),
            replace_row(t)
        ),
        format!(
            "CREATE TRIGGER {} AFTER UPDATE ON {table} FOR EACH ROW BEGIN DELETE FROM {} WHERE {}; {}; END",
            q(upd),
            q(&t.shadow),
            key_match(t, "OLD"),
            replace_row(t)
        ),
        format!(
            "CREATE TRIGGER {} AFTER DELETE ON {table} FOR EACH ROW DELETE FROM {} WHERE {}",
            q(del),
            q(&t.shadow),
            key_match(t, "OLD")
        ),
    ]
}

/// Creates the capture triggers of `t`.
pub async fn create(db: &mut Db, t: &TablePlan) -> Result<(), OnlineError> {
    for sql in trigger_sql(t) {
        db.run(&sql).await?;
    }
    Ok(())
}

/// Drops the capture triggers of `t` (those that exist).
pub async fn drop(db: &mut Db, t: &TablePlan) -> Result<(), OnlineError> {
    for name in &t.triggers {
        db.run(&format!("DROP TRIGGER IF EXISTS {}", q(name))).await?;
    }
    Ok(())
}
