//! Steps the online tests of reviews r23 to r27 share: a cut-over kept at a known
//! point by direct transactions on the backend (the RENAME waits for one that opened
//! `p`, the re-point of a child `c` for one that opened `c`, the children's probe
//! before the hold for one that opened `c` before it), and the migration's end.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

use crate::online::status_of;
use crate::support;

/// Waits (at most 30 s) until `p` has the migration's three capture triggers, then
/// opens a transaction that reads `p` and leaves it open (the copy goes on beside it;
/// the RENAME waits for it). It looks every 2 ms: two test files running this loop
/// without a pause beside the migrators' DDL crashed MariaDB 10.11.19 twice (signal 11
/// in `ha_maria::drop_table`, freeing the information_schema read's temporary table).
pub(crate) const OPEN_P_AFTER_TRIGGERS: &str = r"BEGIN NOT ATOMIC
  DECLARE n INT DEFAULT 0;
  DECLARE until DATETIME DEFAULT NOW() + INTERVAL 30 SECOND;
  WHILE n < 3 AND NOW() < until DO
    SELECT COUNT(*) INTO n FROM information_schema.TRIGGERS
     WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'p' AND TRIGGER_NAME LIKE '\_tether%';
    IF n < 3 THEN DO SLEEP(0.002); END IF;
  END WHILE;
  START TRANSACTION;
  SELECT COUNT(*) INTO n FROM p;
END";

/// Waits (at most 60 s) until a statement starting with `start` waits for a metadata
/// lock on the backend, in the database `conn` uses (tests run side by side on one
/// server: another test's RENAME once satisfied this wait, and the scenario went
/// on before its own cut-over had begun).
pub(crate) async fn until_waiting(conn: &mut Conn, start: &str) {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'Waiting for table metadata lock' \
         AND DB = DATABASE() AND INFO LIKE '{start}%'"
    );
    for _ in 0..6000 {
        let n: Option<u64> = conn.query_first(sql.as_str()).await.expect("processlist");
        if n.unwrap_or(0) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no statement `{start}...` waited for a metadata lock");
}

/// A direct connection to `url` inside a transaction that has opened `table`.
pub(crate) async fn opened(url: &str, table: &str) -> Conn {
    let mut conn = Conn::from_url(url).await.expect("connects to MariaDB");
    conn.query_drop("BEGIN").await.expect("begin");
    conn.query_drop(format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap_or_else(|e| panic!("{table} opened: {e}"));
    conn
}

/// Submits `alter` online through a new gateway connection (`gateway`) while a direct
/// connection to `url` opens `p` once the capture triggers exist
/// ([`OPEN_P_AFTER_TRIGGERS`]). Returns the gateway connection, the migration's id
/// and the direct connection, whose transaction holds `p` (the RENAME waits for it).
pub(crate) async fn submit_while_p_opens(url: &str, gateway: Opts, alter: &str) -> (Conn, String, Conn) {
    let mut on_p = Conn::from_url(url).await.expect("connects to MariaDB");
    let opened = tokio::spawn(async move {
        on_p.query_drop(OPEN_P_AFTER_TRIGGERS).await.expect("p opened");
        on_p
    });
    let mut g = Conn::new(gateway).await.expect("connects");
    g.query_drop("SET @@ddl_strategy = 'online'").await.expect("strategy");
    let id = support::rows(&mut g, alter).await[0][0].clone();
    let on_p = opened.await.expect("opener");
    (g, id, on_p)
}

/// Waits (at most 60 s) until migration `id` is `complete` or `failed`; its status and
/// message as `SHOW VITESS_MIGRATIONS` says them then (through `g`, a gateway
/// connection in its keyspace).
pub(crate) async fn until_final(g: &mut Conn, id: &str) -> (String, String) {
    let until = Instant::now() + Duration::from_secs(60);
    while !["complete", "failed"].contains(&status_of(g, id).await.as_str()) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = support::rows(g, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
    (rows[0][5].clone(), rows[0][15].clone())
}

/// Commits the transaction of `conn` (a direct one holding a table: `what` says which,
/// for the failure) and disconnects it.
pub(crate) async fn commit(mut conn: Conn, what: &str) {
    conn.query_drop("COMMIT")
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let _ = conn.disconnect().await;
}

/// The outcomes of the `started` tasks, in order.
pub(crate) async fn joined<T>(started: impl IntoIterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut outcomes = Vec::new();
    for s in started {
        outcomes.push(s.await.expect("joined"));
    }
    outcomes
}

/// Connection options of the test user on the gateway on `port`, in `keyspace`.
pub(crate) fn keyspace_opts(port: u16, keyspace: &str) -> Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(support::USER))
        .pass(Some(support::PASSWORD))
        .db_name(Some(keyspace))
        .prefer_socket(false)
        .into()
}
