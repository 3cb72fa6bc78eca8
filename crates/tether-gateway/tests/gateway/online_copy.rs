//! The online copy's fast path (issue 15, bench/online.sh): the keys the capture wrote
//! in a chunk's range are read first and left out by value; a row captured after that
//! read, while the chunk waits for its lock, makes the INSERT fail on the shadow's
//! primary key (1062) and the chunk runs again with the per-row lookup. No row is
//! lost or copied twice, and the table ends as the same writes and ALTER natively.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use tether_gateway::online::{Migrator, Settings, State};
use tether_testkit::{TestDb, TestEngine};

fn table(rows: u32) -> TestDb {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)");
    let values: Vec<String> = (1..=rows).map(|i| format!("({i}, {i})")).collect();
    db.exec(&format!("INSERT INTO t VALUES {}", values.join(", ")));
    db
}

/// Waits until `sql` counts at least one row.
async fn until(conn: &mut mysql_async::Conn, sql: &str, what: &str) {
    for _ in 0..24_000 {
        let n: Option<u64> = conn.query_first(sql).await.expect("poll");
        if n.unwrap_or(0) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let trx: Vec<(String, Option<String>)> = conn
        .query("SELECT trx_state, trx_query FROM information_schema.INNODB_TRX")
        .await
        .expect("transactions");
    let queries: Vec<(String, Option<String>)> = conn
        .query("SELECT COMMAND, INFO FROM information_schema.PROCESSLIST WHERE INFO IS NOT NULL")
        .await
        .expect("processlist");
    panic!("timed out waiting for {what}; transactions: {trx:?}; queries: {queries:?}");
}

#[test]
fn a_row_captured_while_its_chunk_waits_is_copied_once() {
    let db = table(30_000);
    let native = table(30_000);
    let alter = "ALTER TABLE t ADD COLUMN w INT NOT NULL DEFAULT 7";
    let write = "UPDATE t SET v = -v WHERE id = 29950";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let done = rt.block_on(async {
        // 100-row chunks with a pause: the test acts long before the copy reaches row
        // 29950 (some 15 s).
        // Never throttled: other tests on the server must not hold the copy elsewhere.
        let settings = Settings {
            chunk_rows: 100,
            chunk_pause: Duration::from_millis(50),
            max_threads_running: 0,
            ..Settings::default()
        };
        let m = Migrator::new("ks", &db.url, true, settings).expect("migrator");
        let id = m.submit(alter).await.expect("accepted");
        let mut poll = mysql_async::Conn::from_url(db.url.as_str()).await.expect("conn");
        // The copy has begun (the capture triggers are in place).
        for _ in 0..3000 {
            let now = m.get(&id).await.expect("record");
            assert!(!now.state.is_final(), "migration ended before the test acted: {now:?}");
            if now.rows_copied > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A transaction locks row 29950 first (no write yet, so nothing of it is in the
        // shadow and no lock of it is there): the chunk holding the row reads the
        // captured keys (none), and its INSERT (the fast path: no per-row lookup)
        // waits for the row.
        let mut writer = mysql_async::Conn::from_url(db.url.as_str()).await.expect("conn");
        writer.query_drop("BEGIN").await.expect("begin");
        writer
            .query_drop("SELECT v FROM t WHERE id = 29950 FOR UPDATE")
            .await
            .expect("lock");
        let copied = m.get(&id).await.expect("record").rows_copied;
        assert!(
            copied < 29_000,
            "the copy passed row 29950 before the lock ({copied} rows)"
        );
        // The chunk holding row 29950 ((29900, 30000]: fixed 100-row chunks with a
        // pause) has begun its INSERT, which cannot finish while the row is locked.
        // (The processlist, not INNODB_TRX: a waiting statement is not always listed
        // there.)
        let waiting = format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{}' \
             AND INFO LIKE '%INSERT INTO `\\_t\\_new\\_%' AND INFO LIKE '%> ''29900''%' \
             AND INFO NOT LIKE '%NOT EXISTS%'",
            db.name
        );
        until(&mut poll, &waiting, "the chunk's INSERT to wait for row 29950").await;
        // Now the row is written and captured: the waiting INSERT meets it in the
        // shadow (1062) once the transaction commits.
        writer.query_drop(write).await.expect("captured write");
        writer.query_drop("COMMIT").await.expect("commit");
        let done = m.wait(&id, Duration::from_secs(120)).await.expect("record");
        assert_eq!(done.state, State::Complete, "{}", done.message);
        done
    });
    assert_eq!(done.rows_copied, 29_999, "every row but the captured one, once");
    native.exec(write);
    native.exec(alter);
    let rows = |d: &TestDb| d.query("SELECT id, v, w FROM t ORDER BY id");
    let got = rows(&db);
    assert_eq!(got.len(), 30_000);
    assert_eq!(
        got[29_949],
        vec![Some("29950".into()), Some("-29950".into()), Some("7".into())]
    );
    assert_eq!(got, rows(&native));
    let create = |d: &TestDb| d.query("SHOW CREATE TABLE t")[0][1].clone();
    assert_eq!(create(&db), create(&native));
}
