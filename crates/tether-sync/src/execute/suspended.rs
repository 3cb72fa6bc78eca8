//! Triggers a load into existing tables takes out of the way (dropped on SQLite and
//! MariaDB/MySQL, turned off on PostgreSQL loading in batches) are committed so at
//! once: a run that dies before putting them back (kill -9, OOM, a second Ctrl-C, a
//! crash) must not lose them. Before it touches one, the run records in the destination
//! itself, committed, the statement putting each back ([`SUSPENDED_TRIGGERS`]); it drops
//! that record once they are back. The next run to that destination (and `tether
//! plan`) finds a record left behind and puts the triggers back before anything else,
//! so a trigger a dead run suspended is never taken for one the user turned off.

use tether_connect::{Connection, DbUrl, Engine, Value, SUSPENDED_TRIGGERS};

use crate::error::SyncError;

/// One trigger a run suspended, as recorded.
#[derive(Debug, Clone)]
pub(crate) struct Suspended {
    /// `name on table`, for messages.
    pub what: String,
    /// The statement putting it back as it was (`CREATE TRIGGER ...`, `ALTER TABLE ...
    /// ENABLE TRIGGER ...`).
    pub restore: String,
}

impl Suspended {
    pub fn new(what: String, restore: String) -> Suspended {
        Suspended { what, restore }
    }
}

/// The destination's lock a run holds from before it records suspended triggers until
/// they are back and its rows of the record are gone: a run that holds it is alive, so
/// a record found while another holds it is a live run's, never put back under it.
/// Every role may take and test it (unlike a session list, which a role without the
/// PROCESS privilege sees only its own part of), and it goes with the session (or, on
/// SQLite, the process) that took it: a dead run holds none. MariaDB/MySQL: a named
/// lock (`GET_LOCK`) of the database; PostgreSQL: a session advisory lock, which is
/// per database; SQLite: an exclusive `flock` of the database file (SQLite's own locks
/// are `fcntl` locks, which it does not interact with).
#[derive(Debug)]
pub(crate) struct Lock {
    /// What tags this run's rows of the record (`run_session`): only they are taken out
    /// when it is done.
    run: i64,
    /// SQLite: the open file holding the `flock`.
    file: Option<std::fs::File>,
}

impl Lock {
    /// Held by the server session (lost when the connection is replaced).
    pub fn by_session(&self) -> bool {
        self.file.is_none()
    }
}

/// MariaDB/MySQL's lock name for the current database (at most 64 characters).
const MYSQL_LOCK: &str = "CONCAT('tether_triggers:', MD5(DATABASE()))";
/// PostgreSQL's advisory lock key (two int4: shown in `pg_locks` as classid, objid).
const PG_KEY: (i32, i32) = (1_952_805_992, 23);

/// Takes the destination's lock without waiting: `Ok(None)` when another run holds it,
/// an error when it cannot be told.
pub(crate) async fn lock(conn: &mut Connection, url: &DbUrl) -> Result<Option<Lock>, SyncError> {
    let run = run_id();
    let sql = match conn.engine() {
        Engine::Sqlite => {
            let DbUrl::Sqlite { path } = url else {
                return Ok(Some(Lock { run, file: None }));
            };
            let file = std::fs::File::open(path)
                .map_err(|e| SyncError::Plan(format!("{url}: cannot open the database file to lock it ({e})")))?;
            return match file.try_lock() {
                Ok(()) => Ok(Some(Lock { run, file: Some(file) })),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(e)) => Err(SyncError::Plan(format!(
                    "{url}: cannot lock the database file ({e}), so cannot tell whether another run loads into it"
                ))),
            };
        }
        Engine::Mysql => format!("SELECT GET_LOCK({MYSQL_LOCK}, 0)"),
        Engine::Postgres => format!("SELECT pg_try_advisory_lock({}, {})::int::int8", PG_KEY.0, PG_KEY.1),
    };
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let rows = conn.query(&sql, &[int]).await?;
    match rows.first().and_then(|r| r.first()).and_then(as_int) {
        Some(1) => Ok(Some(Lock { run, file: None })),
        Some(0) => Ok(None),
        _ => Err(SyncError::Plan(format!(
            "{url}: the lock telling a live run's suspended triggers from a dead run's could not be taken \
             ({sql} gave no answer)"
        ))),
    }
}

/// Lets go of the destination's lock.
pub(crate) async fn unlock(conn: &mut Connection, lock: Lock) {
    let sql = match conn.engine() {
        Engine::Sqlite => return drop(lock),
        Engine::Mysql => format!("SELECT RELEASE_LOCK({MYSQL_LOCK})"),
        Engine::Postgres => format!("SELECT pg_advisory_unlock({}, {})::int::int8", PG_KEY.0, PG_KEY.1),
    };
    let _ = conn.query(&sql, &[]).await;
}

/// The server session holding the destination's lock, as the server tells it now.
async fn holder(conn: &mut Connection) -> Option<i64> {
    let sql = match conn.engine() {
        Engine::Sqlite => return None,
        Engine::Mysql => format!("SELECT IS_USED_LOCK({MYSQL_LOCK})"),
        Engine::Postgres => format!(
            "SELECT pid::int8 FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = {} \
             AND objid = {} AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = \
             current_database())",
            PG_KEY.0, PG_KEY.1
        ),
    };
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let rows = conn.query(&sql, &[int]).await.ok()?;
    rows.first().and_then(|r| r.first()).and_then(as_int)
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::UInt(n) => i64::try_from(*n).ok(),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// An id for this run's rows of the record: the process and the time, so two runs
/// (one dead, one not) do not share one.
fn run_id() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    ((nanos & 0x0000_ffff_ffff_ffff) ^ (i64::from(std::process::id()) << 40)) & i64::MAX
}

/// Why a run may not go on while another holds the destination's lock.
async fn held_elsewhere(conn: &mut Connection, shown: &str, what: &str) -> SyncError {
    let who = match (holder(conn).await, conn.engine()) {
        (Some(id), Engine::Postgres) => format!(
            " (its session: {id}; if no sync runs, that session is left over from a host that went away: \
             SELECT pg_terminate_backend({id}), and run again)"
        ),
        (Some(id), _) => format!(
            " (its session: {id}; if no sync runs, that session is left over from a host that went away: \
             KILL {id}, and run again)"
        ),
        (None, _) => String::new(),
    };
    SyncError::Plan(format!(
        "{shown}: another run is loading into this destination now and has taken triggers of its tables out of \
         the way{who}: {what}. Nothing was written. Run the job again once that run has finished"
    ))
}

/// The record's table as written in SQL on `conn`'s engine (PostgreSQL: in the schema
/// it was found in, else unqualified, in the role's current schema).
fn table_sql(conn: &Connection, schema: Option<&str>) -> String {
    let d = conn.dialect();
    match schema {
        Some(s) => format!("{}.{}", d.ident(s), d.ident(SUSPENDED_TRIGGERS)),
        None => d.ident(SUSPENDED_TRIGGERS),
    }
}

/// Where the record is on `conn`'s database, if there is one: `Some(None)` on SQLite and
/// MariaDB/MySQL (the database itself), `Some(Some(schema))` on PostgreSQL.
async fn find(conn: &mut Connection) -> Result<Option<Option<String>>, SyncError> {
    let text = tether_schema::DataType::Text;
    let name = conn.dialect().literal(&Value::Text(SUSPENDED_TRIGGERS.into()));
    let sql = match conn.engine() {
        Engine::Sqlite => format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name = {name}"),
        Engine::Mysql => format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {name}"
        ),
        Engine::Postgres => format!(
            "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = {name} AND c.relkind = 'r' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1 LIMIT 1"
        ),
    };
    let rows = conn.query(&sql, &[text]).await?;
    Ok(match rows.first().and_then(|r| r.first()) {
        None => None,
        Some(Value::Text(s)) if conn.engine() == Engine::Postgres => Some(Some(s.clone())),
        Some(_) => Some(None),
    })
}

/// Records `triggers` (in the order they are put back), committed, before the run
/// drops or turns off any of them, under the destination's lock, which it returns (held
/// until [`forget`]). Refused while another run holds the lock.
pub(crate) async fn record(
    conn: &mut Connection,
    url: &DbUrl,
    shown: &str,
    triggers: &[Suspended],
) -> Result<Option<Lock>, SyncError> {
    if triggers.is_empty() {
        return Ok(None);
    }
    let what: Vec<&str> = triggers.iter().map(|s| s.what.as_str()).collect();
    let Some(lock) = lock(conn, url).await? else {
        return Err(held_elsewhere(
            conn,
            shown,
            &format!(
                "this run would take triggers {} out of the way too, and only one run at a time may",
                what.join(", ")
            ),
        )
        .await);
    };
    match write_record(conn, shown, &lock, triggers).await {
        Ok(()) => Ok(Some(lock)),
        Err(e) => {
            unlock(conn, lock).await;
            Err(e)
        }
    }
}

async fn write_record(
    conn: &mut Connection,
    shown: &str,
    lock: &Lock,
    triggers: &[Suspended],
) -> Result<(), SyncError> {
    let d = conn.dialect();
    let (text, long) = match conn.engine() {
        Engine::Mysql => ("VARCHAR(512)", "LONGTEXT"),
        _ => ("TEXT", "TEXT"),
    };
    let schema = find(conn).await?.flatten();
    let table = table_sql(conn, schema.as_deref());
    let created = conn
        .execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (seq BIGINT NOT NULL PRIMARY KEY, trigger_name {text} NOT NULL, \
             restore_sql {long} NOT NULL, run_session BIGINT)"
        ))
        .await;
    if let Err(e) = created {
        return Err(SyncError::Plan(format!(
            "{shown}: the triggers of the job's tables must be taken out of the way for the load, and what puts \
             them back is recorded first in table {SUSPENDED_TRIGGERS} there (so that a run that dies cannot \
             lose them), which could not be created ({e}). Nothing was written. Let the job's role create a \
             table there, or drop or turn off those triggers yourself for the load"
        )));
    }
    // (Under the lock: no other run writes the record meanwhile.)
    let start = conn
        .query(
            &format!("SELECT coalesce(max(seq), 0) FROM {table}"),
            &[tether_schema::DataType::Int {
                bytes: 8,
                unsigned: false,
            }],
        )
        .await?
        .first()
        .and_then(|r| r.first())
        .and_then(as_int)
        .unwrap_or(0);
    let values: Vec<String> = triggers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "({}, {}, {}, {})",
                start + i as i64 + 1,
                d.literal(&Value::Text(t.what.clone())),
                d.literal(&Value::Text(t.restore.clone())),
                lock.run
            )
        })
        .collect();
    // One statement: recorded whole or not at all, committed at once (no transaction
    // is open on the connection here).
    conn.execute(&format!(
        "INSERT INTO {table} (seq, trigger_name, restore_sql, run_session) VALUES {}",
        values.join(", ")
    ))
    .await?;
    Ok(())
}

/// Takes out of the record the triggers (`what`, as recorded) the run could not
/// suspend after all: nothing is to be put back for them.
pub(crate) async fn unrecord(conn: &mut Connection, lock: Option<&Lock>, what: &[String]) -> Result<(), SyncError> {
    let Some(lock) = lock else {
        return Ok(());
    };
    if what.is_empty() {
        return Ok(());
    }
    let Some(schema) = find(conn).await? else {
        return Ok(());
    };
    let d = conn.dialect();
    let names: Vec<String> = what.iter().map(|w| d.literal(&Value::Text(w.clone()))).collect();
    let table = table_sql(conn, schema.as_deref());
    conn.execute(&format!(
        "DELETE FROM {table} WHERE run_session = {} AND trigger_name IN ({})",
        lock.run,
        names.join(", ")
    ))
    .await?;
    Ok(())
}

/// The run's suspended triggers are back: takes its rows out of the record, drops the
/// record's table once no row is left in it, and lets go of the lock. A failure here is
/// not the run's: the next run finds every trigger there and clears the record then.
pub(crate) async fn forget(conn: &mut Connection, lock: Lock) {
    if let Ok(Some(schema)) = find(conn).await {
        let table = table_sql(conn, schema.as_deref());
        if conn
            .execute(&format!("DELETE FROM {table} WHERE run_session = {}", lock.run))
            .await
            .is_ok()
        {
            drop_if_empty(conn, &table).await;
        }
    }
    unlock(conn, lock).await;
}

/// Drops the record's table when no row is left in it (under the lock).
async fn drop_if_empty(conn: &mut Connection, table: &str) {
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let left = conn.query(&format!("SELECT count(*) FROM {table}"), &[int]).await;
    if matches!(left.as_deref(), Ok([row]) if row.first().and_then(as_int) == Some(0)) {
        let _ = conn.execute(&format!("DROP TABLE IF EXISTS {table}")).await;
    }
}

/// What a run that died left recorded on `conn`'s database, in the order to put back.
pub(crate) async fn left(conn: &mut Connection) -> Result<Vec<Suspended>, SyncError> {
    let Some(schema) = find(conn).await? else {
        return Ok(Vec::new());
    };
    let table = table_sql(conn, schema.as_deref());
    let text = tether_schema::DataType::Text;
    let rows = conn
        .query(
            &format!("SELECT trigger_name, restore_sql FROM {table} ORDER BY seq"),
            &[text.clone(), text],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| match (r.first(), r.get(1)) {
            (Some(Value::Text(what)), Some(Value::Text(restore))) => Some(Suspended {
                what: what.clone(),
                restore: restore.clone(),
            }),
            _ => None,
        })
        .collect())
}

/// The record `tether plan` reports: what a run that died left suspended on the
/// destination `url`, read on a connection of its own (a SQLite file only when it is
/// there). Empty when there is none or the destination cannot be read (the sync says).
pub(crate) async fn left_at(url: &DbUrl) -> Vec<Suspended> {
    if let DbUrl::Sqlite { path } = url {
        if !std::path::Path::new(path).is_file() {
            return Vec::new();
        }
    }
    let Ok(mut conn) = Connection::open_as_found(url).await else {
        return Vec::new();
    };
    let found = left(&mut conn).await.unwrap_or_default();
    conn.close().await;
    found
}

/// What the plan and the sync say of a record left behind on `shown`.
pub(crate) fn left_note(shown: &str, left: &[Suspended]) -> String {
    let names: Vec<&str> = left.iter().map(|s| s.what.as_str()).collect();
    format!(
        "{shown}: a run that stopped before it could put them back left triggers {} dropped or turned off \
         (recorded in table {SUSPENDED_TRIGGERS} there); a sync puts them back as they were before it \
         writes anything (unless that run is still loading: then it refuses)",
        names.join(", ")
    )
}

/// Puts back what a run that died left suspended on `conn`'s database, before this
/// run reads or writes anything there, then clears the record. The run that recorded
/// it is dead when this one can take the destination's lock ([`Lock`]); refused while
/// another run holds it (that run is loading now), or when it cannot be told. SQLite
/// and MariaDB/MySQL: the recorded triggers still there are dropped first and all are
/// created again in the recorded order, which is their firing order (a trigger created
/// with no FOLLOWS/PRECEDES fires after those there). A PostgreSQL trigger already on
/// stays as it is. Returns the triggers put back.
pub(crate) async fn put_back(conn: &mut Connection, url: &DbUrl, shown: &str) -> Result<Vec<String>, SyncError> {
    let Some(schema) = find(conn).await? else {
        return Ok(Vec::new());
    };
    let Some(lock) = lock(conn, url).await? else {
        let names: Vec<String> = left(conn).await?.into_iter().map(|s| s.what).collect();
        return Err(held_elsewhere(conn, shown, &format!("triggers {}", names.join(", "))).await);
    };
    let result = restore_left(conn, shown, schema.as_deref()).await;
    unlock(conn, lock).await;
    result
}

async fn restore_left(conn: &mut Connection, shown: &str, schema: Option<&str>) -> Result<Vec<String>, SyncError> {
    // Read under the lock: every row is a dead run's.
    let left = left(conn).await?;
    let table = table_sql(conn, schema);
    let mut failed = Vec::new();
    if conn.engine() != Engine::Postgres {
        for s in &left {
            if let Some(name) = created_name(&s.restore) {
                if exists(conn, &s.restore).await {
                    let d = conn.dialect();
                    if let Err(e) = conn
                        .execute(&format!("DROP TRIGGER IF EXISTS {}", d.ident(&name)))
                        .await
                    {
                        failed.push(format!("{} (dropping it to create it again in its place: {e})", s.what));
                    }
                }
            }
        }
    }
    if failed.is_empty() {
        for s in &left {
            if let Err(e) = conn.execute(&s.restore).await {
                after_failure(conn).await;
                if !exists(conn, &s.restore).await {
                    failed.push(format!("{} ({e}; its statement: {})", s.what, s.restore));
                }
            }
        }
    }
    if !failed.is_empty() {
        return Err(SyncError::Plan(format!(
            "{shown}: a run that stopped before it could put them back left triggers dropped or turned off, \
             recorded in table {SUSPENDED_TRIGGERS} there, and putting back these failed: {}. Nothing was \
             written. Create or turn them on yourself, then drop table {SUSPENDED_TRIGGERS}, and run the job again",
            failed.join("; ")
        )));
    }
    let _ = conn.execute(&format!("DELETE FROM {table}")).await;
    drop_if_empty(conn, &table).await;
    Ok(left.into_iter().map(|s| s.what).collect())
}

/// A MariaDB/MySQL restore statement sets the trigger's own `sql_mode` and character
/// set around its `CREATE` ([`mysql_restore`]); when the `CREATE` fails the rest of it
/// does not run: the session's are set back here.
pub(crate) async fn after_failure(conn: &mut Connection) {
    if conn.engine() == Engine::Mysql {
        let _ = conn.execute(MYSQL_SET_BACK).await;
    }
}

const MYSQL_SET_BACK: &str = "SET SESSION character_set_client = coalesce(@tether_cs, @@character_set_client), \
     collation_connection = coalesce(@tether_cc, @@collation_connection), sql_mode = coalesce(@tether_sm, @@sql_mode)";

/// The statement creating a MariaDB/MySQL trigger again as it was: its own text (with
/// its DEFINER), under the `sql_mode`, `character_set_client` and `collation_connection`
/// it was created with (as `SHOW CREATE TRIGGER` gives them), the session's set back
/// after it (after a line break: a body may end in a `-- comment`). The text is sent
/// as the session's UTF-8: a character set other than utf8mb3/utf8mb4 is set only for a
/// text that is ASCII, which reads the same in it.
pub(crate) fn mysql_restore(statement: &str, sql_mode: &str, charset: &str, collation: &str) -> String {
    let lit = |s: &str| tether_schema::sql::text(tether_schema::Engine::Mysql, s);
    let charset_ok = statement.is_ascii() || charset.starts_with("utf8");
    let names = match charset_ok {
        true => format!(
            ", character_set_client = {}, collation_connection = {}",
            lit(charset),
            lit(collation)
        ),
        false => String::new(),
    };
    format!(
        "SET @tether_cs = @@character_set_client, @tether_cc = @@collation_connection, @tether_sm = @@sql_mode; \
         SET SESSION sql_mode = {}{names}; {statement}\n; {MYSQL_SET_BACK}",
        lit(sql_mode)
    )
}

/// A `CREATE TRIGGER` that failed may have failed because the trigger is there (the
/// run that recorded it put it back before it died): whether a trigger of that name is.
/// PostgreSQL's statements turn a trigger on, which does not fail for that reason.
async fn exists(conn: &mut Connection, restore: &str) -> bool {
    let Some(name) = created_name(restore) else {
        return false;
    };
    let name = conn.dialect().literal(&Value::Text(name));
    let sql = match conn.engine() {
        Engine::Sqlite => format!("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = {name}"),
        Engine::Mysql => format!(
            "SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = {name}"
        ),
        Engine::Postgres => return false,
    };
    conn.query(&sql, &[]).await.map(|r| !r.is_empty()).unwrap_or(false)
}

/// The trigger's name in a `CREATE [TEMP] TRIGGER [IF NOT EXISTS] [schema.]name ...`
/// statement, unquoted.
fn created_name(sql: &str) -> Option<String> {
    let at = sql.to_ascii_uppercase().find("TRIGGER")? + "TRIGGER".len();
    let mut rest = sql[at..].trim_start();
    if rest.to_ascii_uppercase().starts_with("IF NOT EXISTS") {
        rest = rest["IF NOT EXISTS".len()..].trim_start();
    }
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    loop {
        match chars.peek().copied() {
            Some(q @ ('`' | '"' | '[')) => {
                let close = if q == '[' { ']' } else { q };
                chars.next();
                name.clear();
                while let Some(c) = chars.next() {
                    if c == close {
                        if chars.peek() == Some(&close) {
                            chars.next();
                            name.push(c);
                            continue;
                        }
                        break;
                    }
                    name.push(c);
                }
            }
            Some(c) if c.is_alphanumeric() || c == '_' || c == '$' => {
                name.clear();
                while let Some(&c) = chars.peek() {
                    if !(c.is_alphanumeric() || c == '_' || c == '$') {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
            }
            _ => return None,
        }
        // `schema.name`: the part after the dot is the name.
        if chars.peek() == Some(&'.') {
            chars.next();
            continue;
        }
        return (!name.is_empty()).then_some(name);
    }
}

#[cfg(test)]
mod tests {
    use super::created_name;

    #[test]
    fn the_name_of_a_created_trigger() {
        assert_eq!(
            created_name("CREATE TRIGGER t_ai AFTER INSERT ON t").as_deref(),
            Some("t_ai")
        );
        assert_eq!(
            created_name("CREATE TRIGGER IF NOT EXISTS \"a \"\"b\" AFTER").as_deref(),
            Some("a \"b")
        );
        assert_eq!(created_name("create trigger `db`.`x` before").as_deref(), Some("x"));
        assert_eq!(created_name("ALTER TABLE t ENABLE TRIGGER x").as_deref(), Some("x"));
    }
}
