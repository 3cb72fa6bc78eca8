//! Review r25h F1, F2 (managed sharded keyspace).
//!
//! F1: `ALTER TABLE p TRUNCATE PARTITION p0` passed the guard (it looked at DROP,
//! TRUNCATE and RENAME as first words and ALTER ... RENAME only) and emptied p on
//! node1 with no cascade and no RESTRICT check: orphans. COALESCE, REMOVE
//! PARTITIONING and a new PARTITION BY lost or misplaced rows the same way. Every
//! ALTER TABLE of a keyspace table that changes its partitioning, what a partition
//! holds, or its engine / tablespace is now refused (1105 naming the table), as
//! text, in an executable comment and as a binary prepared statement; the
//! maintenance forms (ANALYZE / CHECK / OPTIMIZE PARTITION) too, like ANALYZE
//! TABLE: on the head they left the session's node transactions broken (1399 at
//! the next statement). CREATE OR REPLACE TABLE of a table of
//! the FK graph (a DROP) is refused like DROP.
//!
//! F2: a client's COMMIT that a data node refused after the head recorded it and
//! the other node committed (node2 read_only, Spider's login without READ_ONLY
//! ADMIN) left node2's branch prepared until a gateway restart: orphans, rows
//! locked (1205). A failed COMMIT now runs the gateway's XA recovery at once
//! (retried every second while it fails), the client's error says so, and writes
//! are refused until it finishes.
//!
//! Schema: `p`, `c` (CASCADE to p) and `r` (RESTRICT to p) sharded by HASH(id)
//! (node1 even ids, node2 odd ids). Rows: p 1-4; c 10 -> 2, 11 -> 4, 12 -> 1; r 20 -> 2.

use mysql_async::prelude::Queryable;
use std::time::{Duration, Instant};
use tether_testkit::spider::{self, Cluster, Partitioning, ShardedDb};

use crate::sharded_atomic::{block_commits, waiting, xa_recover};
use crate::sharded_managed::code_of;
use crate::support::{start_json, Gw};

pub(crate) fn schema(db: &ShardedDb) {
    for (name, columns) in [
        ("p", "id INT PRIMARY KEY, v INT"),
        ("c", "id INT PRIMARY KEY, p_id INT, KEY (p_id)"),
        ("r", "id INT PRIMARY KEY, p_id INT, KEY (p_id)"),
    ] {
        db.sharded_table(name, columns, columns, &Partitioning::Hash("id".into()), &spider::NODES);
    }
    db.exec_head(
        "INSERT INTO p VALUES (1, 0), (2, 0), (3, 0), (4, 0); \
         INSERT INTO c VALUES (10, 2), (11, 4), (12, 1); INSERT INTO r VALUES (20, 2)",
    );
}

pub(crate) fn gateway(db: &ShardedDb) -> Gw {
    let fks = [
        ("c_p_fk", "c", "p_id", "p", "CASCADE", "CASCADE"),
        ("r_p_fk", "r", "p_id", "p", "RESTRICT", "RESTRICT"),
    ];
    start_json(&spider::managed_keyspace("ks", &db.head_url(), &fks), "")
}

/// `table` on each node: "node1: ids | node2: ids".
pub(crate) fn placed(db: &ShardedDb, table: &str) -> String {
    spider::NODES
        .iter()
        .map(|n| {
            let ids: Vec<String> = db
                .query_node(n, &format!("SELECT id FROM {table} ORDER BY id"))
                .into_iter()
                .map(|r| r[0].clone().unwrap_or_default())
                .collect();
            format!("{n}: {}", ids.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Every partition-management ALTER of a keyspace table is refused with 1105
/// naming the form and the table, as text, in an executable comment, and binary
/// prepared; rows and partitioning stay; the maintenance forms are refused too.
/// CREATE OR REPLACE TABLE of p is refused as well.
#[test]
fn partition_management_of_a_sharded_table_is_refused() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    let gw = gateway(&db);
    let create = db.query_head("SHOW CREATE TABLE p")[0][1].clone();
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for (sql, form) in [
            ("ALTER TABLE p TRUNCATE PARTITION p0", "TRUNCATE PARTITION of `p`"),
            ("alter table ks_p_alias truncate partition p0", ""),
            ("ALTER TABLE c TRUNCATE PARTITION ALL", "TRUNCATE PARTITION of `c`"),
            ("ALTER TABLE p COALESCE PARTITION 1", "COALESCE PARTITION of `p`"),
            ("ALTER TABLE p REMOVE PARTITIONING", "REMOVE PARTITIONING of `p`"),
            (
                "ALTER TABLE p PARTITION BY HASH (id) (PARTITION p0 COMMENT='srv \"node2\"', \
                 PARTITION p1 COMMENT='srv \"node1\"')",
                "PARTITION BY of `p`",
            ),
            ("ALTER TABLE p ADD PARTITION PARTITIONS 1", "ADD PARTITION of `p`"),
            (
                "ALTER TABLE p REORGANIZE PARTITION p0 INTO (PARTITION p0 COMMENT='srv \"node2\"')",
                "REORGANIZE PARTITION of `p`",
            ),
            ("ALTER TABLE p REBUILD PARTITION p0", "REBUILD PARTITION of `p`"),
            ("ALTER TABLE p ENGINE = InnoDB", "ENGINE of `p`"),
            (
                "ALTER TABLE p /*!50100 TRUNCATE PARTITION p0 */",
                "TRUNCATE PARTITION of `p`",
            ),
            ("/*!ALTER TABLE r TRUNCATE PARTITION p1 */", "TRUNCATE PARTITION of `r`"),
            (
                "CREATE OR REPLACE TABLE p (id INT PRIMARY KEY)",
                "CREATE OR REPLACE TABLE `p`",
            ),
        ] {
            let (code, message) = code_of(&mut k, sql).await;
            if form.is_empty() {
                // Not a table of the keyspace: the server's own answer (1146).
                assert_eq!(code, 1146, "{sql}: {message}");
                continue;
            }
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains(form), "{sql}: {message}");
        }
        // Binary prepared (the finding's DBD::mysql run).
        match k.exec_drop("ALTER TABLE p TRUNCATE PARTITION p1", ()).await {
            Err(mysql_async::Error::Server(e)) => {
                assert_eq!(e.code, 1105);
                assert!(e.message.contains("TRUNCATE PARTITION of `p`"), "{}", e.message);
            }
            other => panic!("prepared TRUNCATE PARTITION: {other:?}"),
        }
        // The maintenance forms too: on the head they broke the session's node
        // transactions (1399 at its next statement).
        for (sql, form) in [
            ("ALTER TABLE p ANALYZE PARTITION p0", "ANALYZE PARTITION of `p`"),
            ("ALTER TABLE p CHECK PARTITION ALL", "CHECK PARTITION of `p`"),
            ("ALTER TABLE p OPTIMIZE PARTITION p1", "OPTIMIZE PARTITION of `p`"),
        ] {
            let (code, message) = code_of(&mut k, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains(form), "{sql}: {message}");
        }
        // Nothing changed: RESTRICT holds, DELETE cascades, in the same session.
        assert_eq!(code_of(&mut k, "DELETE FROM p WHERE id = 2").await.0, 1451);
        assert_eq!(code_of(&mut k, "DELETE FROM p WHERE id = 4").await, (0, String::new()));
    });
    assert_eq!(db.query_head("SHOW CREATE TABLE p")[0][1], create);
    assert_eq!(placed(&db, "p"), "node1: 2 | node2: 1 3");
    assert_eq!(placed(&db, "c"), "node1: 10 12 | node2: ");
    assert_eq!(placed(&db, "r"), "node1: 20 | node2: ");
}

/// The finding's transaction: node2 read_only when the client commits a
/// transaction deleting p 1 (node2, cascading c 12) and p 2's child c 10 (node1).
/// The COMMIT fails (1290) with the gateway's note; writes are refused while the
/// recovery cannot finish; once node2 takes writes again the running gateway's
/// recovery commits node2's branch as the head recorded it: the transaction is
/// whole, nothing left prepared, nothing locked.
#[test]
fn a_commit_a_node_refuses_is_completed_by_the_running_gateways_recovery() {
    let c = Cluster::start("r25_ro");
    // Spider's login on the nodes cannot write on a read-only server.
    for n in spider::NODES {
        c.node(n).exec(
            "",
            "CREATE USER w25h_sp@'%'; GRANT ALL ON *.* TO w25h_sp@'%'; REVOKE READ_ONLY ADMIN ON *.* FROM w25h_sp@'%'",
        );
    }
    c.head.exec(
        "",
        "ALTER SERVER node1 OPTIONS (USER 'w25h_sp'); ALTER SERVER node2 OPTIONS (USER 'w25h_sp')",
    );
    let db = c.create_db();
    schema(&db);
    let gw = gateway(&db);
    let node2 = c.node("node2");
    let node2_url = node2.url("");
    gw.block_on(async {
        let mut n2 = mysql_async::Conn::from_url(node2_url.as_str())
            .await
            .expect("connects to node2");
        let mut k = gw.connect("ks").await;
        for s in ["BEGIN", "DELETE FROM p WHERE id = 1", "DELETE FROM c WHERE id = 10"] {
            assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{s}");
        }
        n2.query_drop("SET GLOBAL read_only = 1").await.expect("read_only");
        let (code, message) = code_of(&mut k, "COMMIT").await;
        assert_eq!(code, 1290, "{message}");
        assert!(
            message.contains("tether gateway: a data node may hold this transaction prepared"),
            "{message}"
        );
        // Rows node2 holds locked: a write is refused at once, not after a lock wait.
        let mut k2 = gw.connect("ks").await;
        let t = Instant::now();
        let (code, message) = code_of(&mut k2, "UPDATE c SET p_id = 3 WHERE id = 11").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("writes are refused until the gateway's XA recovery"),
            "{message}"
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        n2.query_drop("SET GLOBAL read_only = 0").await.expect("read_only");
        // The running gateway's recovery (the watch retries it every second).
        let deadline = Instant::now() + Duration::from_secs(30);
        while !n2
            .query::<mysql_async::Row, _>("XA RECOVER")
            .await
            .expect("XA RECOVER")
            .is_empty()
        {
            assert!(Instant::now() < deadline, "node2 still holds the transaction prepared");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Writes pass again once recovery finished.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (code, message) = code_of(&mut k2, "UPDATE c SET p_id = 3 WHERE id = 11").await;
            if code == 0 {
                break;
            }
            assert_eq!(code, 1105, "{message}");
            assert!(Instant::now() < deadline, "{message}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let orphans: Vec<i64> = k2
            .query("SELECT id FROM c WHERE p_id NOT IN (SELECT id FROM p) ORDER BY id")
            .await
            .expect("reads");
        assert_eq!(orphans, Vec::<i64>::new());
    });
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: 3");
    assert_eq!(placed(&db, "c"), "node1:  | node2: 11");
    for n in spider::NODES {
        assert_eq!(xa_recover(c.node(n)), 0, "{n}");
    }

    // The gateway's own transaction (an autocommit DELETE of p 3, node2, cascading
    // to c 11 on node2 and c 14 on node1): node1's commits held, node2 killed
    // after its PREPARE. The statement's error says recovery could not finish;
    // node2 back, the running gateway completes the cascade as the head recorded.
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        assert_eq!(
            code_of(&mut k, "INSERT INTO c VALUES (14, 3)").await,
            (0, String::new())
        );
    });
    let node1 = c.node("node1");
    let (rt, mut blocker) = block_commits(node1);
    let opts = gw.opts("ks");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let reply = tether_testkit::block_on(async {
            let mut k = mysql_async::Conn::new(opts).await.expect("gateway");
            code_of(&mut k, "DELETE FROM p WHERE id = 3").await
        });
        let _ = tx.send(reply);
    });
    waiting(node1, "xa prepare");
    assert_eq!(xa_recover(node2), 1, "node2 prepared first");
    node2.kill();
    rt.block_on(async {
        blocker.query_drop("BACKUP STAGE END").await.expect("backup stage end");
        let _ = blocker.disconnect().await;
    });
    let (code, message) = rx.recv().expect("the DELETE's reply");
    assert_ne!(code, 0);
    assert!(
        message.contains("tether gateway: a data node may hold this transaction prepared"),
        "{code}: {message}"
    );
    node2.start();
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (code, message) = code_of(&mut k, "UPDATE p SET v = 1 WHERE id = 2").await;
            if code == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{code}: {message}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: ");
    assert_eq!(placed(&db, "c"), "node1:  | node2: ");
    for n in spider::NODES {
        assert_eq!(xa_recover(c.node(n)), 0, "{n}");
    }
}
