//! Non-transactional destination tables (MyISAM, MEMORY, Aria, CSV ...): a statement
//! that fails midway keeps the rows it wrote before the failure, and ROLLBACK undoes
//! nothing. A batch must then never be sent again (LOAD DATA, then INSERT, then row by
//! row would write its first rows two or three times): the write stops at the first
//! failure, and the error says how many rows went in and how many the table now holds.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// What a write needs to know of its destination table before it starts.
#[derive(Debug, Default, Clone)]
pub struct Target {
    /// The table's engine when it is not transactional (`information_schema.ENGINES`
    /// says `TRANSACTIONS` is not `YES`); None for InnoDB and the like, or unknown.
    pub nontx_engine: Option<String>,
    /// The server's `@@max_allowed_packet` (0 when unknown).
    pub max_packet: u64,
}

/// The database (if named) and table of a backquoted `qualified` name
/// (`` `t` `` or `` `db`.`t` ``, a backquote inside doubled).
pub fn split_qualified(qualified: &str) -> (Option<String>, String) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = qualified.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('`', true) if chars.peek() == Some(&'`') => {
                chars.next();
                cur.push('`');
            }
            ('`', _) => quoted = !quoted,
            ('.', false) => parts.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    parts.push(cur);
    let name = parts.pop().unwrap_or_default();
    (parts.pop(), name)
}

/// Reads the table's engine (when not transactional) and `@@max_allowed_packet`, in one
/// query. A failure leaves both unknown: the write that follows reports the connection's
/// own error.
pub async fn probe(conn: &mut Conn, qualified: &str) -> Target {
    let d = crate::engine::dialect_of(crate::url::Engine::Mysql);
    let (db, name) = split_qualified(qualified);
    let db = match db {
        Some(db) => d.literal(&crate::value::Value::Text(db)),
        None => "DATABASE()".into(),
    };
    // A text query, not a prepared statement: whatever sits between Tether and the
    // server need not know those.
    let sql = format!(
        "SELECT @@max_allowed_packet, \
         (SELECT t.ENGINE FROM information_schema.TABLES t \
          JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE \
          WHERE t.TABLE_SCHEMA = {db} AND t.TABLE_NAME = {} AND e.TRANSACTIONS <> 'YES')",
        d.literal(&crate::value::Value::Text(name))
    );
    match conn.query_first::<(Option<u64>, Option<String>), _>(sql).await {
        Ok(Some((packet, engine))) => Target {
            nontx_engine: engine,
            max_packet: packet.unwrap_or(0),
        },
        _ => Target::default(),
    }
}

/// The rows the table holds now (None when it cannot be counted).
pub async fn count(conn: &mut Conn, qualified: &str) -> Option<u64> {
    conn.query_first::<u64, _>(format!("SELECT COUNT(*) FROM {qualified}"))
        .await
        .ok()
        .flatten()
}

/// What follows a failure on a non-transactional table: `went` rows of the failed
/// statement went in before it and stay; the table now holds `now` rows.
pub fn stays(table: &str, engine: &str, went: Option<u64>, now: Option<u64>) -> String {
    let (_, name) = split_qualified(table);
    let went = match went {
        Some(n) => format!("{n} row(s) of the failed statement went in before the failure and stay"),
        None => "rows of the failed statement may have gone in before the failure and stay".into(),
    };
    let now = match now {
        Some(n) => format!("; {name} now holds {n} rows"),
        None => String::new(),
    };
    format!(
        "; {name} is a non-transactional table (ENGINE={engine}): a failed statement's rows are not \
         rolled back, so the batch was not sent again; {went}{now}"
    )
}

#[cfg(test)]
mod tests {
    use super::split_qualified;

    #[test]
    fn backquoted_names_are_split_into_database_and_table() {
        assert_eq!(split_qualified("`c`"), (None, "c".into()));
        assert_eq!(split_qualified("`d`.`c`"), (Some("d".into()), "c".into()));
        assert_eq!(split_qualified("`a``b.c`"), (None, "a`b.c".into()));
    }
}
