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
use super::{OnlineError, Settings};

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

/// The CREATE TRIGGER statements for `t`, in the order they are created: delete,
/// update, insert. Every prefix of it keeps the shadow right (each row it holds is the
/// table's current row under that key): deletes and updates of rows the shadow holds
/// are captured, and rows it lacks are copied later. Insert first would not: a row
/// captured by the insert trigger and then deleted before the delete trigger exists
/// would stay in the shadow, and the copy leaves out the keys the capture wrote.
pub fn trigger_sql(t: &TablePlan, id: &str) -> [String; 3] {
    let [ins, upd, del] = &t.triggers;
    let table = q(&t.table);
    [
        format!(
            "CREATE TRIGGER {} AFTER DELETE ON {table} FOR EACH ROW DELETE FROM {} WHERE {}",
            q(del),
            q(&t.shadow),
            key_match(t, "OLD")
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
            "CREATE TRIGGER {} AFTER INSERT ON {table} FOR EACH ROW {}",
            q(ins),
            write_row(t, id, "")
        ),
    ]
}

/// Creates the capture triggers of `t` for migration `id`. The three are created
/// under one `LOCK TABLES .. WRITE`, so a transaction cannot open the table between
/// two of them (review r17f finding 1: it made the next CREATE TRIGGER wait, and the
/// DROP TRIGGER of the retry wait too, failing the migration at once). Taking the
/// lock waits for the transactions open on the table (not its parents' or
/// children's), at most the connection's `lock_wait_timeout`; on a lock wait timeout
/// the triggers not made yet are tried again after `cutover_retry_pause`, up to
/// `cutover_attempts` times. Those made stay meanwhile (dropping them would wait for
/// the same lock, and any prefix of [`trigger_sql`] keeps the shadow right), and are
/// dropped with the shadow if the migration gives up.
pub async fn create(db: &mut Db, t: &TablePlan, id: &str, settings: &Settings) -> Result<(), OnlineError> {
    let sql = trigger_sql(t, id);
    let attempts = settings.cutover_attempts.max(1);
    let mut made = 0;
    let mut attempt = 1;
    loop {
        match create_rest(db, t, &sql, &mut made).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_lock_wait_timeout() && attempt < attempts => {
                tracing::info!(
                    "capture triggers of `{}`: attempt {attempt} waited for a transaction on the table; retrying",
                    t.table
                );
                attempt += 1;
                tokio::time::sleep(settings.cutover_retry_pause).await;
            }
            Err(OnlineError::Backend {
                code: 1205,
                state,
                message,
                ..
            }) => {
                // The cause, not the statement that happened to wait last.
                return Err(OnlineError::Backend {
                    doing: format!(
                        "creating the capture triggers of `{}`: a transaction kept the table open through \
                         {attempts} attempts",
                        t.table
                    ),
                    code: 1205,
                    state,
                    message,
                });
            }
            Err(e) => return Err(e),
        }
    }
}

/// One attempt: the statements of `sql` from `made` on, under the table's write lock
/// (without it where the backend user may not LOCK TABLES); `made` counts those done.
async fn create_rest(db: &mut Db, t: &TablePlan, sql: &[String], made: &mut usize) -> Result<(), OnlineError> {
    let locked = match db.run(&format!("LOCK TABLES {} WRITE", q(&t.table))).await {
        Ok(_) => true,
        Err(e) if e.is_privilege_refusal() => {
            tracing::debug!("capture triggers of `{}` created without LOCK TABLES: {e}", t.table);
            false
        }
        Err(e) => return Err(e),
    };
    let mut outcome = Ok(());
    for statement in &sql[*made..] {
        match db.run(statement).await {
            Ok(_) => *made += 1,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    if locked {
        // The first error is the one reported; the lock goes in any case.
        let unlocked = db.run("UNLOCK TABLES").await.map(|_| ());
        return outcome.and(unlocked);
    }
    outcome
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
