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
    /// The server session of the run that recorded it (PostgreSQL backend pid, MariaDB
    /// connection id), none on SQLite.
    session: Option<i64>,
}

impl Suspended {
    pub fn new(what: String, restore: String) -> Suspended {
        Suspended {
            what,
            restore,
            session: None,
        }
    }
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
/// drops or turns off any of them. `session`: the run's server session.
pub(crate) async fn record(
    conn: &mut Connection,
    shown: &str,
    session: Option<i64>,
    triggers: &[Suspended],
) -> Result<(), SyncError> {
    if triggers.is_empty() {
        return Ok(());
    }
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
    let start = match conn
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
    {
        Some(Value::Int(n)) => *n,
        Some(Value::UInt(n)) => i64::try_from(*n).unwrap_or(0),
        Some(Value::Text(t)) => t.parse().unwrap_or(0),
        _ => 0,
    };
    let session = session.map_or("NULL".to_string(), |s| s.to_string());
    let values: Vec<String> = triggers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "({}, {}, {}, {session})",
                start + i as i64 + 1,
                d.literal(&Value::Text(t.what.clone())),
                d.literal(&Value::Text(t.restore.clone()))
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
pub(crate) async fn unrecord(conn: &mut Connection, what: &[String]) -> Result<(), SyncError> {
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
        "DELETE FROM {table} WHERE trigger_name IN ({})",
        names.join(", ")
    ))
    .await?;
    Ok(())
}

/// Drops the record once every trigger it holds is back. A failure to drop it is not
/// the run's: the next run finds every trigger there and drops it then.
pub(crate) async fn forget(conn: &mut Connection) {
    if let Ok(Some(schema)) = find(conn).await {
        let table = table_sql(conn, schema.as_deref());
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
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    let rows = conn
        .query(
            &format!("SELECT trigger_name, restore_sql, run_session FROM {table} ORDER BY seq"),
            &[text.clone(), text, int],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let session = match r.get(2) {
                Some(Value::Int(n)) => Some(*n),
                Some(Value::UInt(n)) => i64::try_from(*n).ok(),
                Some(Value::Text(t)) => t.parse().ok(),
                _ => None,
            };
            match (r.first(), r.get(1)) {
                (Some(Value::Text(what)), Some(Value::Text(restore))) => Some(Suspended {
                    what: what.clone(),
                    restore: restore.clone(),
                    session,
                }),
                _ => None,
            }
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
    let Ok(mut conn) = Connection::open(url).await else {
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
         writes anything",
        names.join(", ")
    )
}

/// Whether the server session `id` is still there (the run that recorded it is alive).
async fn alive(conn: &mut Connection, id: i64) -> bool {
    let sql = match conn.engine() {
        Engine::Postgres => format!("SELECT 1 FROM pg_stat_activity WHERE pid = {id}"),
        Engine::Mysql => format!("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = {id}"),
        Engine::Sqlite => return false,
    };
    conn.query(&sql, &[]).await.map(|r| !r.is_empty()).unwrap_or(false)
}

/// Puts back what a run that died left suspended on `conn`'s database, before this
/// run reads or writes anything there, then drops the record. Refused while the run
/// that recorded it is still connected (another sync loading into the destination
/// now). A trigger already there again (the dead run put it back, or died between
/// recording and dropping it) stays as it is. Returns the triggers put back.
pub(crate) async fn put_back(conn: &mut Connection, shown: &str) -> Result<Vec<String>, SyncError> {
    let left = left(conn).await?;
    if left.is_empty() {
        if find(conn).await?.is_some() {
            forget(conn).await;
        }
        return Ok(Vec::new());
    }
    for id in left
        .iter()
        .filter_map(|s| s.session)
        .collect::<std::collections::BTreeSet<_>>()
    {
        if alive(conn, id).await {
            return Err(SyncError::Plan(format!(
                "{shown}: another run is loading into this destination now (its session {id} is connected) and \
                 has taken triggers of its tables out of the way ({}): nothing was written. Run the job again once \
                 that run has finished; if none is running (its host went away and the server has not noticed \
                 yet), end that session ({}) and run again",
                left.iter().map(|s| s.what.as_str()).collect::<Vec<_>>().join(", "),
                match conn.engine() {
                    Engine::Postgres => format!("SELECT pg_terminate_backend({id})"),
                    _ => format!("KILL {id}"),
                }
            )));
        }
    }
    let mut failed = Vec::new();
    for s in &left {
        if let Err(e) = conn.execute(&s.restore).await {
            if !exists(conn, &s.restore).await {
                failed.push(format!("{} ({e}; its statement: {})", s.what, s.restore));
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
    forget(conn).await;
    Ok(left.into_iter().map(|s| s.what).collect())
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
