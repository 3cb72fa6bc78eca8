//! The one-transaction load (`checks = "enforce"` on a destination that
//! [loads atomically](tether_connect::Connection::loads_atomically), i.e. PostgreSQL):
//! BEGIN, the job tables' foreign keys (and the created tables' keys) dropped inside it,
//! rows loaded, keys and foreign keys created again (so validated) before COMMIT. A
//! failed or killed run leaves the destination as it was.

use tether_connect::Value;

use super::{Destination, DroppedFk, Progress};
use crate::error::SyncError;
use crate::plan::Plan;

impl Destination {
    /// `checks = "enforce"` on PostgreSQL: BEGIN, empty the tables if asked, and drop the
    /// foreign keys of the job's tables inside the transaction. Returns false (nothing
    /// changed) when the connection may not alter the tables; the load then runs with
    /// the checks on, row by row.
    pub async fn begin_atomic(
        &mut self,
        plan: &Plan,
        truncate: bool,
        progress: &dyn Progress,
    ) -> Result<bool, SyncError> {
        if let Some(staged) = &self.stage {
            progress.phase(&format!(
                "{}: loading into the staging schemas on {} connections; keys, indexes and foreign keys (validated) are built there, then the tables move in one transaction",
                self.shown, staged.lanes
            ));
            return Ok(true);
        }
        let d = self.conn.dialect();
        let tables = self.job_regclasses(plan);
        let text = tether_schema::DataType::Text;
        let found = self
            .conn
            .query(
                &format!(
                    "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid), \
                     obj_description(c.oid, 'pg_constraint') \
                     FROM pg_constraint c WHERE c.contype = 'f' AND c.conparentid = 0 \
                     AND c.conrelid IN ({}) ORDER BY 1, 2",
                    tables.join(", ")
                ),
                &[text.clone(), text.clone(), text.clone(), text],
            )
            .await?;
        let dropped: Vec<DroppedFk> = found
            .into_iter()
            .map(|r| {
                let text = |v: &Value| match v {
                    Value::Text(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                DroppedFk {
                    table: text(&r[0]),
                    name: text(&r[1]),
                    definition: text(&r[2]),
                    comment: optional_text(&r[3]),
                }
            })
            .collect();
        self.conn.execute("BEGIN").await?;
        self.atomic = Some(Vec::new());
        // Index builds and FK validations after the load: memory for this transaction.
        super::stage::raise_memory(&mut self.conn, true).await?;
        for fk in &dropped {
            let drop = format!("ALTER TABLE {} DROP CONSTRAINT {}", fk.table, d.ident(&fk.name));
            if let Err(e) = self.conn.execute(&drop).await {
                self.conn.execute("ROLLBACK").await?;
                self.atomic = None;
                progress.phase(&format!(
                    "{}: loading with foreign keys checked row by row (dropping {} for a one-transaction load was refused: {e})",
                    self.shown, fk.name
                ));
                return Ok(false);
            }
        }
        if !self.created.is_empty() && self.spec.on_conflict == tether_connect::Conflict::Error {
            self.defer_keys().await?;
        }
        // Triggers of tables that were already there must not fire on copied rows (as
        // pg_restore --disable-triggers), whatever their state (ENABLE REPLICA and ENABLE
        // ALWAYS too): off inside the transaction, each on again as it was before COMMIT.
        // Before the tables are emptied: a DELETE fires ON DELETE triggers.
        for trigger in super::partition_triggers::triggers_with_partitions(&mut self.conn, &tables).await? {
            if let Err(e) = self.conn.execute(&trigger.disable(d)).await {
                self.conn.execute("ROLLBACK").await?;
                self.atomic = None;
                self.disabled_triggers.clear();
                progress.phase(&format!(
                    "{}: loading with foreign keys checked row by row (disabling trigger {} for a one-transaction load was refused: {e})",
                    self.shown, trigger.name
                ));
                return Ok(false);
            }
            self.disabled_triggers.push(trigger.enable(d));
        }
        if truncate {
            progress.phase(&format!("{}: emptying the job's tables", self.shown));
            super::truncate(self, plan).await?;
        }
        progress.phase(&format!(
            "{}: loading in one transaction; its {} foreign keys are created again (and validated) before COMMIT",
            self.shown,
            dropped.len()
        ));
        self.atomic = Some(dropped);
        Ok(true)
    }

    /// The job's tables here as PostgreSQL `regclass` literals, in plan order.
    pub(super) fn job_regclasses(&self, plan: &Plan) -> Vec<String> {
        let d = self.conn.dialect();
        plan.tables
            .iter()
            .map(|tp| d.literal(&Value::Text(d.qualified(&self.tables[&tp.table.table_name()]))))
            .map(|lit| format!("{lit}::regclass"))
            .collect()
    }

    /// Inside the one-transaction load, drops the primary keys and unique constraints of
    /// the tables this run created (empty), to build them once after the rows are in
    /// rather than row by row (what a `pg_dump` restore does).
    async fn defer_keys(&mut self) -> Result<(), SyncError> {
        let keys = drop_keys(&mut self.conn, &self.created).await?;
        self.deferred_keys.extend(keys.into_iter().map(|k| k.key));
        Ok(())
    }

    /// Adds the keys [`Self::defer_keys`] dropped (one sort each instead of an index
    /// insert per row); a duplicate rolls everything back and names the key. Staged
    /// tables get all they lack built instead ([`Self::build_staged`]).
    pub async fn restore_keys(&mut self, progress: &dyn Progress) -> Result<(), SyncError> {
        if self.stage.is_some() {
            return self.build_staged(progress).await;
        }
        if self.deferred_keys.is_empty() {
            return Ok(());
        }
        progress.phase(&format!(
            "{}: creating {} primary keys and unique constraints",
            self.shown,
            self.deferred_keys.len()
        ));
        for k in std::mem::take(&mut self.deferred_keys) {
            self.add_again(&k, "key", " is duplicated").await?;
        }
        Ok(())
    }

    /// Adds a constraint dropped for the load again, inside its transaction. One that does
    /// not hold (`what`: key or foreign key; `key_end`: what the server says after the
    /// row's key) rolls everything back and names the row.
    async fn add_again(&mut self, c: &DroppedFk, what: &str, key_end: &str) -> Result<(), SyncError> {
        let d = self.conn.dialect();
        let add = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} {}",
            c.table,
            d.ident(&c.name),
            c.definition
        );
        let Err(e) = self.conn.execute(&add).await else {
            if let Some(comment) = &c.comment {
                let sql = format!(
                    "COMMENT ON CONSTRAINT {} ON {} IS {}",
                    d.ident(&c.name),
                    c.table,
                    d.literal(&Value::Text(comment.clone()))
                );
                self.conn.execute(&sql).await?;
            }
            return Ok(());
        };
        self.atomic = None;
        self.disabled_triggers.clear();
        self.deferred_keys.clear();
        let _ = self.conn.execute("ROLLBACK").await;
        Err(rejected(
            &self.shown,
            &c.table,
            &c.name,
            what,
            key_end,
            &e,
            NOTHING_WRITTEN,
        ))
    }

    /// Creates the dropped foreign keys again (PostgreSQL validates every row) and
    /// commits. An FK that does not hold rolls everything back and names the row.
    /// Staged tables move to their schemas instead ([`Self::move_staged`]).
    pub async fn commit_atomic(&mut self, progress: &dyn Progress) -> Result<(), SyncError> {
        if self.stage.is_some() {
            return self.move_staged(progress).await;
        }
        let Some(dropped) = self.atomic.take() else {
            return Ok(());
        };
        progress.phase(&format!(
            "{}: creating {} foreign keys again (PostgreSQL validates them)",
            self.shown,
            dropped.len()
        ));
        for fk in &dropped {
            self.add_again(fk, "foreign key", " is not present").await?;
        }
        for enable in std::mem::take(&mut self.disabled_triggers) {
            self.conn.execute(&enable).await?;
        }
        self.conn.execute("COMMIT").await?;
        // `NOT VALID` in a definition: created again without looking at the rows.
        self.fks_validated = dropped.iter().all(|fk| !fk.definition.contains("NOT VALID"));
        Ok(())
    }

    /// Ends a transactional load that failed: nothing it wrote stays (staging schemas
    /// are dropped).
    pub async fn rollback_atomic(&mut self) {
        self.drop_stage().await;
        self.disabled_triggers.clear();
        self.deferred_keys.clear();
        if self.atomic.take().is_some() {
            let _ = self.conn.execute("ROLLBACK").await;
        }
    }
}

/// A key or foreign key that does not hold once the rows are in (`what`: key or foreign
/// key; `key_end`: what the server says after the row's key), naming the row.
pub(super) fn rejected(
    shown: &str,
    table: &str,
    constraint: &str,
    what: &str,
    key_end: &str,
    e: &tether_connect::ConnectError,
    written: &str,
) -> SyncError {
    let text = e.to_string();
    let message = text.find("server error").map_or(text.as_str(), |i| &text[i..]);
    let key = message
        .split("Key (")
        .nth(1)
        .map(|k| format!("({}", k.split(key_end).next().unwrap_or(k)))
        .unwrap_or_else(|| "(the server did not say which)".into());
    SyncError::Rejected {
        destination: shown.to_string(),
        table: table.to_string(),
        key,
        message: format!(
            "{what} {constraint} does not hold: {message}{}",
            match what == "key" && text.contains("23505") {
                true => EMPTY_TABLE_CLASH,
                false => "",
            }
        ),
        written: written.into(),
    }
}

/// Why a key of a table this run created (added after the load) finds a value twice:
/// the table held none of the destination's rows, so two rows of the source clash.
const EMPTY_TABLE_CLASH: &str = "; the table was created by this run, so two rows of the source clash here: their \
     keys are two spellings of one value of the key's type (a date, time or number written differently, as \
     '2024-01-01 00:00:00' and '2024-01-01T00:00:00'), text this destination compares as equal where the source \
     does not (a collation), or values of two types (a SQLite source's integer 1 and text '1') that the key here \
     holds as one value. `on_conflict` would drop one of them; make the source's keys agree, or transform the key";

/// A key dropped from a table created by this run, to be added after the load.
pub(super) struct DroppedKey {
    /// The table's schema and name.
    pub schema: String,
    pub table: String,
    pub key: DroppedFk,
}

/// Drops the primary keys and unique constraints of `created` (`regclass` literals of
/// tables this run created, still empty) and returns them to be added after the load,
/// with their name, INCLUDE, storage parameters and DEFERRABLE. Kept: keys of
/// partitioned tables and partitions (their partitions' index names), keys something
/// else depends on, keys with a comment, clustered or replica-identity indexes.
pub(super) async fn drop_keys(
    conn: &mut tether_connect::Connection,
    created: &[String],
) -> Result<Vec<DroppedKey>, SyncError> {
    let text = tether_schema::DataType::Text;
    let keys = conn
        .query(
            &format!(
                "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid), \
                 c.condeferrable::text, c.condeferred::text, {options}, rn.nspname::text, r.relname::text \
                 FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid \
                 JOIN pg_namespace rn ON rn.oid = r.relnamespace \
                 JOIN pg_index i ON i.indexrelid = c.conindid JOIN pg_class ic ON ic.oid = c.conindid \
                 WHERE c.contype IN ('p', 'u') AND c.conparentid = 0 AND c.conrelid IN ({}) \
                 AND r.relkind = 'r' AND NOT r.relispartition \
                 AND NOT i.indisclustered AND NOT i.indisreplident \
                 AND obj_description(c.oid, 'pg_constraint') IS NULL \
                 AND obj_description(c.conindid, 'pg_class') IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM pg_depend p WHERE p.deptype <> 'i' AND \
                   ((p.refclassid = 'pg_constraint'::regclass AND p.refobjid = c.oid) \
                   OR (p.refclassid = 'pg_class'::regclass AND p.refobjid = c.conindid))) \
                 ORDER BY c.contype, 1, 2",
                created.join(", "),
                options = tether_connect::postgres::objects::INDEX_OPTIONS,
            ),
            &vec![text; 8],
        )
        .await?;
    let d = conn.dialect();
    let mut out = Vec::new();
    for r in keys {
        let (Value::Text(table), Value::Text(name), Value::Text(printed)) = (&r[0], &r[1], &r[2]) else {
            continue;
        };
        let definition = tether_connect::postgres::objects::key_definition(
            printed.clone(),
            optional_text(&r[3]).as_deref() == Some("true"),
            optional_text(&r[4]).as_deref() == Some("true"),
            optional_text(&r[5]),
        );
        conn.execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {}", d.ident(name)))
            .await?;
        out.push(DroppedKey {
            schema: optional_text(&r[6]).unwrap_or_default(),
            table: optional_text(&r[7]).unwrap_or_default(),
            key: DroppedFk {
                table: table.clone(),
                name: name.clone(),
                definition,
                comment: None,
            },
        });
    }
    Ok(out)
}

/// A user trigger of a table that was there before the run, on in some state: fired by
/// ordinary sessions (`tgenabled` O), by replication ones (R, and so under `checks =
/// "verify"`'s `session_replication_role = replica`) or by both (A).
pub(super) struct OnTrigger {
    /// The table as PostgreSQL names it (`regclass`).
    pub table: String,
    pub name: String,
    /// `pg_trigger.tgenabled`: O, R or A.
    pub state: String,
}

impl OnTrigger {
    /// The statement turning it off.
    pub fn disable(&self, d: &dyn tether_connect::Dialect) -> String {
        format!("ALTER TABLE {} DISABLE TRIGGER {}", self.table, d.ident(&self.name))
    }

    /// The statement turning it on again in the state it was in.
    pub fn enable(&self, d: &dyn tether_connect::Dialect) -> String {
        let how = match self.state.as_str() {
            "R" => "ENABLE REPLICA",
            "A" => "ENABLE ALWAYS",
            _ => "ENABLE",
        };
        // ONLY: not the partitions' clones, each turned on in its own state ([`super::partition_triggers`]).
        format!("ALTER TABLE ONLY {} {how} TRIGGER {}", self.table, d.ident(&self.name))
    }
}

/// The user triggers of `tables` (`regclass` literals) that are on, in any state
/// (PostgreSQL).
pub(super) async fn triggers_on(
    conn: &mut tether_connect::Connection,
    tables: &[String],
) -> Result<Vec<OnTrigger>, SyncError> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let text = tether_schema::DataType::Text;
    let found = conn
        .query(
            &format!(
                "SELECT t.tgrelid::regclass::text, t.tgname::text, t.tgenabled::text FROM pg_trigger t \
                 WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgrelid IN ({}) ORDER BY 1, 2",
                tables.join(", ")
            ),
            &[text.clone(), text.clone(), text],
        )
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|r| match (&r[0], &r[1], &r[2]) {
            (Value::Text(table), Value::Text(name), Value::Text(state)) => Some(OnTrigger {
                table: table.clone(),
                name: name.clone(),
                state: state.clone(),
            }),
            _ => None,
        })
        .collect())
}

/// A text column of a catalog row, `None` when NULL.
fn optional_text(v: &Value) -> Option<String> {
    match v {
        Value::Text(s) => Some(s.clone()),
        _ => None,
    }
}

/// What a failed transactional load says about the rows written.
pub const NOTHING_WRITTEN: &str = "nothing was written: the load runs in one transaction, rolled back";
