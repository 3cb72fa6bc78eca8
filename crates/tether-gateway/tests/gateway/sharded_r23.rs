//! Review r23g F1, F2: sessions that switch off what a managed sharded keyspace's
//! guarantees stand on.
//!
//! F1: `SET spider_internal_xa = 0` passed the guard (a session SET); a node lost
//! at COMMIT then left the other node's half of a cascade committed: an orphan.
//! Every session write of a Spider variable is now refused (1105), in every
//! spelling, checks on or off, in multi-statements, dynamic SQL, stored routines
//! and binary prepared statements.
//!
//! F2: after `LOCK TABLES` the head's Spider ran no node transactions for the rest
//! of the session, so the gateway's planned writes committed on one node and
//! failed on the other. `LOCK TABLE[S]` and the lock-taking `FLUSH TABLES` forms are
//! refused (1105).
//!
//! Schema: `p` and `c` sharded by HASH(id) (node1 even ids, node2 odd ids), the
//! VSchema's cross-shard `c.p_id -> p.id ON DELETE CASCADE`. Rows: p 2 and 4
//! (node1), c 12 (node1) and 13 (node2) of p 2.

use mysql_async::prelude::Queryable;
use tether_testkit::spider::{self, Cluster, Partitioning, ShardedDb};

use crate::sharded_atomic::xa_recover;
use crate::sharded_managed::code_of;
use crate::support::{start_json, Gw};

fn schema(db: &ShardedDb) {
    for (name, columns) in [
        ("p", "id INT PRIMARY KEY, v INT"),
        ("c", "id INT PRIMARY KEY, p_id INT, KEY (p_id)"),
    ] {
        db.sharded_table(name, columns, columns, &Partitioning::Hash("id".into()), &spider::NODES);
    }
}

fn rows(db: &ShardedDb) {
    db.exec_head(
        "DELETE FROM c; DELETE FROM p; INSERT INTO p VALUES (2, 0), (4, 0); INSERT INTO c VALUES (12, 2), (13, 2)",
    );
}

fn gateway(db: &ShardedDb) -> Gw {
    let fk = ("c_p_fk", "c", "p_id", "p", "CASCADE", "CASCADE");
    start_json(&spider::managed_keyspace("ks", &db.head_url(), &[fk]), "")
}

/// (p ids on node1, c ids on node1, c ids on node2), read on the nodes directly.
fn on_the_nodes(db: &ShardedDb) -> (String, String, String) {
    let ids = |node: &str, table: &str| {
        db.query_node(node, &format!("SELECT id FROM {table} ORDER BY id"))
            .into_iter()
            .map(|r| r[0].clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (ids("node1", "p"), ids("node1", "c"), ids("node2", "c"))
}

fn before() -> (String, String, String) {
    ("2 4".into(), "12".into(), "13".into())
}

const SPIDER: &str = "is sharded and managed: SET of `spider_internal_xa` is refused (the head's Spider settings";

/// Every spelling of a session write of `spider_internal_xa` (and of the other
/// Spider variables) is refused with 1105 naming the variable, with
/// foreign_key_checks on and off; reads of it and user variables named like it
/// pass; `@@spider_internal_xa` stays 1. Then the finding's transaction: node2
/// killed before COMMIT, 12701, and nothing of the cascade stays on either node.
#[test]
fn a_session_cannot_switch_off_spiders_internal_xa() {
    let c = Cluster::start("r23_xa");
    let db = c.create_db();
    schema(&db);
    rows(&db);
    db.exec_head("CREATE PROCEDURE xa_off() SET spider_internal_xa = 0");
    let gw = gateway(&db);
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for checks in ["1", "0"] {
            assert_eq!(
                code_of(&mut k, &format!("SET foreign_key_checks = {checks}")).await,
                (0, String::new())
            );
            for sql in [
                "SET spider_internal_xa = 0",
                "SET SESSION spider_internal_xa = 0",
                "set local SPIDER_INTERNAL_XA = OFF",
                "SET @@session.spider_internal_xa = 0",
                "SET @@spider_internal_xa := 0",
                "SET @@local.`spider_internal_xa` = 0",
                "SET spider_internal_xa = DEFAULT",
                "SET autocommit = 1, spider_internal_xa = 0",
                "/*!100000 SET spider_internal_xa = 0 */",
                "SET /* c */ spider_internal_xa = 0",
                "SELECT 1; SET spider_internal_xa = 0",
                "SET foreign_key_checks = 0; SET spider_internal_xa = 0",
                "SET STATEMENT spider_internal_xa = 0 FOR SELECT 1",
                "SET STATEMENT spider_internal_xa = 0 FOR DELETE FROM p WHERE id = 2",
                "EXECUTE IMMEDIATE 'SET spider_internal_xa = 0'",
                "PREPARE s FROM 'SET spider_internal_xa = 0'",
                "BEGIN NOT ATOMIC SET spider_internal_xa = 0; END",
            ] {
                let (code, message) = code_of(&mut k, sql).await;
                assert_eq!(code, 1105, "checks {checks}: {sql}: {message}");
                assert!(
                    message.contains(SPIDER) || message.contains("naming `spider_internal_xa`"),
                    "checks {checks}: {sql}: {message}"
                );
            }
            // The other Spider variables the commit stands on.
            for v in [
                "spider_semi_trx",
                "spider_lock_exchange",
                "spider_sync_trx_isolation",
                "spider_read_only_mode",
                "spider_internal_xa_snapshot",
                "spider_sync_autocommit",
            ] {
                let (code, message) = code_of(&mut k, &format!("SET {v} = 1")).await;
                assert_eq!(code, 1105, "checks {checks}: {v}: {message}");
                assert!(message.contains(&format!("SET of `{v}` is refused")), "{message}");
            }
            // Out of the gateway's sight: a variable's text, a routine.
            for sql in ["SET @q = 'SET spider_internal_xa = 0'"] {
                assert_eq!(code_of(&mut k, sql).await, (0, String::new()), "{sql}");
            }
            for sql in ["EXECUTE IMMEDIATE @q", "PREPARE s FROM @q", "CALL xa_off()"] {
                let (code, message) = code_of(&mut k, sql).await;
                assert_eq!(code, 1105, "checks {checks}: {sql}: {message}");
            }
            // Binary prepared statements.
            match k.prep("SET spider_internal_xa = 0").await {
                Err(mysql_async::Error::Server(e)) => {
                    assert_eq!(e.code, 1105);
                    assert!(e.message.contains(SPIDER), "{}", e.message);
                }
                other => panic!("checks {checks}: prepared SET: {other:?}"),
            }
            // Reads, and user variables named like it, pass.
            for sql in [
                "SET @spider_internal_xa = 0",
                "SELECT @spider_internal_xa, 'spider_internal_xa'",
                "SHOW SESSION VARIABLES LIKE 'spider_internal_xa'",
            ] {
                assert_eq!(code_of(&mut k, sql).await, (0, String::new()), "{sql}");
            }
            let xa: Vec<i64> = k.query("SELECT @@session.spider_internal_xa").await.expect("read");
            assert_eq!(xa, [1], "checks {checks}");
        }
        assert_eq!(code_of(&mut k, "SET foreign_key_checks = 1").await, (0, String::new()));
    });
    assert_eq!(on_the_nodes(&db), before(), "nothing ran");

    // The finding's transaction: the SET refused, so the commit stays atomic.
    let node2 = c.node("node2");
    let code = gw.block_on(async {
        let mut k = gw.connect("ks").await;
        assert_eq!(code_of(&mut k, "SET spider_internal_xa = 0").await.0, 1105);
        for s in ["BEGIN", "DELETE FROM p WHERE id = 2"] {
            assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{s}");
        }
        node2.kill();
        code_of(&mut k, "COMMIT").await.0
    });
    node2.start();
    assert_eq!(code, 12701);
    assert_eq!(on_the_nodes(&db), before(), "the cascade rolled back on both nodes");
    for n in spider::NODES {
        assert_eq!(xa_recover(c.node(n)), 0, "{n}");
    }
}

const LOCKS: &str = "is refused (under table locks the head's Spider runs no node transactions for the rest of \
                     the session";

/// LOCK TABLES, LOCK TABLE and the lock-taking FLUSH TABLES forms are refused
/// with 1105 (checks on and off, in every spelling the guard reads); UNLOCK
/// TABLES passes. The finding's session then runs its writes as transactions:
/// the cascade is whole on both nodes.
#[test]
fn lock_tables_is_refused_in_a_managed_sharded_keyspace() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    rows(&db);
    let gw = gateway(&db);
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for checks in ["1", "0"] {
            assert_eq!(
                code_of(&mut k, &format!("SET foreign_key_checks = {checks}")).await,
                (0, String::new())
            );
            for (sql, form) in [
                ("LOCK TABLES p WRITE, c WRITE", "LOCK TABLES"),
                ("lock table p read", "LOCK TABLES"),
                ("/*!40000 LOCK TABLES p WRITE */", "LOCK TABLES"),
                ("SELECT 1; LOCK TABLES p WRITE", "LOCK TABLES"),
                ("EXECUTE IMMEDIATE 'LOCK TABLES p WRITE'", "LOCK TABLES"),
                ("PREPARE s FROM 'LOCK TABLES p WRITE'", "LOCK TABLES"),
                (
                    "FLUSH TABLES p WITH READ LOCK",
                    "FLUSH TABLES ... WITH READ LOCK / FOR EXPORT",
                ),
                (
                    "FLUSH TABLES p FOR EXPORT",
                    "FLUSH TABLES ... WITH READ LOCK / FOR EXPORT",
                ),
            ] {
                let (code, message) = code_of(&mut k, sql).await;
                assert_eq!(code, 1105, "checks {checks}: {sql}: {message}");
                assert_eq!(
                    message,
                    format!(
                        "tether gateway: keyspace `ks` is sharded and managed: {form} {LOCKS} (MariaDB 10.11), so \
                         the gateway's writes would commit on some nodes and fail on others, and the gateway's own \
                         START TRANSACTION would release the locks; use transactions and locking reads (SELECT ... \
                         FOR UPDATE) instead; see docs/sharding.md)"
                    ),
                    "checks {checks}: {sql}"
                );
            }
            match k.prep("LOCK TABLES p WRITE").await {
                Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1105, "{}", e.message),
                other => panic!("checks {checks}: prepared LOCK TABLES: {other:?}"),
            }
            assert_eq!(code_of(&mut k, "UNLOCK TABLES").await, (0, String::new()));
        }
        assert_eq!(code_of(&mut k, "SET foreign_key_checks = 1").await, (0, String::new()));
        // The finding's session: a write on node1, then the cascade across both.
        for s in ["UPDATE p SET v = 5 WHERE id = 4", "DELETE FROM p WHERE id = 2"] {
            assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{s}");
        }
    });
    assert_eq!(on_the_nodes(&db), ("4".into(), "".into(), "".into()));
    assert_eq!(
        db.query_head("SELECT v FROM p WHERE id = 4"),
        vec![vec![Some("5".to_string())]]
    );
}

/// Why F2's refusal (the engine, straight on the head, no gateway): after a
/// statement under LOCK TABLES or FLUSH TABLES ... WITH READ LOCK, and UNLOCK
/// TABLES, the session's next transaction runs its DELETEs on the nodes without
/// node transactions: ROLLBACK fails with 1399 and both rows stay deleted. FOR
/// EXPORT fails on a Spider table (1031) and leaves the session as it was, like a
/// session without locks (the control).
#[test]
fn table_locks_on_the_head_leave_its_node_connections_without_transactions() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    let xa_gone = (
        1399,
        "XAER_RMFAIL: The command cannot be executed when global transaction is in the  NON-EXISTING state".to_string(),
    );
    for (lock, locked, rollback, after) in [
        ("LOCK TABLES p WRITE, c WRITE", 0, xa_gone.clone(), ("2 4", "", "")),
        ("FLUSH TABLES p, c WITH READ LOCK", 0, xa_gone.clone(), ("2 4", "", "")),
        (
            "FLUSH TABLES p, c FOR EXPORT",
            1031,
            (0, String::new()),
            ("2 4", "12", "13"),
        ),
        ("SELECT 1", 0, (0, String::new()), ("2 4", "12", "13")),
    ] {
        rows(&db);
        let url = db.head_url();
        let (first, last) = tether_testkit::block_on(async move {
            let mut k = mysql_async::Conn::from_url(url.as_str()).await.expect("head");
            let first = code_of(&mut k, lock).await.0;
            for s in [
                "SELECT * FROM p",
                "SELECT * FROM c",
                "UNLOCK TABLES",
                "BEGIN",
                "DELETE FROM c WHERE id = 12",
                "DELETE FROM c WHERE id = 13",
            ] {
                assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{lock}: {s}");
            }
            (first, code_of(&mut k, "ROLLBACK").await)
        });
        assert_eq!(first, locked, "{lock}");
        assert_eq!(last, rollback, "{lock}: ROLLBACK");
        let after = (after.0.to_string(), after.1.to_string(), after.2.to_string());
        assert_eq!(on_the_nodes(&db), after, "{lock}");
    }
}
