//! Review r25j F3, F6 and the in-doubt state after a restart (managed sharded
//! keyspace, Spider's internal XA; node2 refuses its XA COMMIT: read_only, Spider's
//! login without READ_ONLY ADMIN).
//!
//! F3: a statement that commits the open transaction implicitly (BEGIN, ...) committed
//! on the head without the gateway's recovery: node2's branch stayed prepared until a
//! restart. The gateway now runs the COMMIT itself first; its error carries the note
//! of the recovery, and the branch is committed once node2 takes writes again.
//!
//! F6: a COMMIT executed as a binary prepared statement is the gateway's COMMIT too;
//! `EXECUTE IMMEDIATE 'COMMIT'` and `PREPARE s FROM 'COMMIT'` (checks off: with
//! checks on the guard refuses dynamic SQL) are refused with 1105.
//!
//! Restart: a new gateway whose start-up recovery cannot finish a branch of this
//! head refuses writes as in doubt (a node1-only UPDATE was accepted) until a
//! recovery finishes.
//!
//! Schema (`sharded_r25::schema`): p, c (CASCADE), r (RESTRICT) by HASH(id): node1
//! even ids, node2 odd. Rows: p 1-4; c 10 -> 2, 11 -> 4, 12 -> 1; r 20 -> 2.

use mysql_async::prelude::Queryable;
use std::time::{Duration, Instant};
use tether_testkit::spider::{self, Cluster, Instance};

use crate::sharded_atomic::{wait_for, xa_recover};
use crate::sharded_managed::code_of;
use crate::sharded_r25::{gateway, placed, schema};

const NOTE: &str = "tether gateway: a data node may hold this transaction prepared";

fn no_branch_left(c: &Cluster) {
    for n in spider::NODES {
        wait_for(&format!("no branch prepared on {n}"), || xa_recover(c.node(n)) == 0);
    }
}

/// Sets node's read_only (outside the tests' runtimes).
fn read_only(node: &Instance, on: bool) {
    node.exec("", &format!("SET GLOBAL read_only = {}", u8::from(on)));
}

/// Sets read_only inside a runtime.
async fn read_only_now(node: &Instance, on: bool) {
    let mut n = mysql_async::Conn::from_url(node.url("").as_str())
        .await
        .expect("connects to the node");
    n.query_drop(format!("SET GLOBAL read_only = {}", u8::from(on)))
        .await
        .expect("read_only");
    let _ = n.disconnect().await;
}

/// A cluster whose Spider login on the nodes cannot write on a read-only node.
fn cluster(name: &str) -> Cluster {
    let c = Cluster::start(name);
    for n in spider::NODES {
        c.node(n).exec(
            "",
            "CREATE USER w26s2_sp@'%'; GRANT ALL ON *.* TO w26s2_sp@'%'; REVOKE READ_ONLY ADMIN ON *.* FROM w26s2_sp@'%'",
        );
    }
    c.head.exec(
        "",
        "ALTER SERVER node1 OPTIONS (USER 'w26s2_sp'); ALTER SERVER node2 OPTIONS (USER 'w26s2_sp')",
    );
    c
}

/// F3 and F6: BEGIN inside a transaction and a binary prepared COMMIT, node2
/// refusing its commit: the client's error carries the recovery's note, node2's
/// branch is committed once it takes writes again; dynamic SQL COMMIT is refused.
#[test]
fn implicit_and_prepared_commits_a_node_refuses_are_recovered() {
    let c = cluster("r26_s2a");
    let db = c.create_db();
    schema(&db);
    let gw = gateway(&db);
    let node2 = c.node("node2");

    // F3: BEGIN commits the transaction (p 1 on node2 with c 12 on node1, c 10 on node1).
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for s in ["BEGIN", "DELETE FROM p WHERE id = 1", "DELETE FROM c WHERE id = 10"] {
            assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{s}");
        }
        read_only_now(node2, true).await;
        let (code, message) = code_of(&mut k, "BEGIN").await;
        assert_eq!(code, 1290, "{message}");
        assert!(message.contains(NOTE), "{message}");
    });
    read_only(node2, false);
    no_branch_left(&c);
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: 3");
    assert_eq!(placed(&db, "c"), "node1:  | node2: 11");

    // F6: COMMIT as a binary prepared statement (p 3 on node2, r 20 on node1).
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        // Writes pass again once the running gateway's recovery finished.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match code_of(&mut k, "BEGIN").await {
                (0, _) => {}
                (code, message) => panic!("{code}: {message}"),
            }
            match code_of(&mut k, "DELETE FROM p WHERE id = 3").await {
                (0, _) => break,
                (1105, message) if Instant::now() < deadline => {
                    assert!(message.contains("writes are refused"), "{message}");
                    code_of(&mut k, "ROLLBACK").await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                (code, message) => panic!("{code}: {message}"),
            }
        }
        assert_eq!(code_of(&mut k, "DELETE FROM r WHERE id = 20").await, (0, String::new()));
        read_only_now(node2, true).await;
        let (code, message) = match k.exec_drop("COMMIT", ()).await {
            Ok(()) => (0, String::new()),
            Err(e) => {
                let (code, _, message) = crate::support::server_error(e);
                (code, message)
            }
        };
        assert_eq!(code, 1290, "{message}");
        assert!(message.contains(NOTE), "{message}");
    });
    read_only(node2, false);
    no_branch_left(&c);
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: ");
    assert_eq!(placed(&db, "c"), "node1:  | node2: 11");
    assert_eq!(placed(&db, "r"), "node1:  | node2: ");

    // F6 in SQL, checks off (with checks on the guard refuses dynamic SQL).
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for s in [
            "SET foreign_key_checks = 0",
            "BEGIN",
            "INSERT INTO p VALUES (5, 0), (6, 0)",
        ] {
            // Writes may still wait for the recovery's end.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match code_of(&mut k, s).await {
                    (0, _) => break,
                    (code, message) => assert!(Instant::now() < deadline, "{s}: {code}: {message}"),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        for s in [
            "EXECUTE IMMEDIATE 'COMMIT'",
            "PREPARE s FROM 'COMMIT'",
            "EXECUTE IMMEDIATE 'BEGIN'",
        ] {
            let (code, message) = code_of(&mut k, s).await;
            assert_eq!(code, 1105, "{s}: {message}");
            assert!(
                message.contains("send COMMIT as a statement of its own"),
                "{s}: {message}"
            );
        }
        assert_eq!(code_of(&mut k, "ROLLBACK").await, (0, String::new()));
    });
    no_branch_left(&c);
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: ");
    assert_eq!(placed(&db, "c"), "node1:  | node2: 11");
}

/// A gateway started while node2 holds a branch of this head it cannot commit
/// refuses writes (a node1-only UPDATE too) until its recovery finishes; then the
/// branch is committed as the head recorded, and writes pass.
#[test]
fn a_restarted_gateway_refuses_writes_while_a_branch_stays_prepared() {
    let c = cluster("r26_s2b");
    let db = c.create_db();
    schema(&db);
    let node2 = c.node("node2");
    let gw = gateway(&db);
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for s in ["BEGIN", "DELETE FROM p WHERE id = 1", "DELETE FROM c WHERE id = 10"] {
            assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{s}");
        }
        read_only_now(node2, true).await;
        let (code, message) = code_of(&mut k, "COMMIT").await;
        assert_eq!(code, 1290, "{message}");
    });
    drop(gw);
    assert_eq!(xa_recover(node2), 1, "node2's branch prepared");
    let gw = gateway(&db);
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        let (code, message) = code_of(&mut k, "UPDATE p SET v = 9 WHERE id = 2").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("writes are refused until the gateway's XA recovery"),
            "{message}"
        );
    });
    read_only(node2, false);
    no_branch_left(&c);
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match code_of(&mut k, "UPDATE p SET v = 9 WHERE id = 2").await {
                (0, _) => break,
                (code, message) => assert!(Instant::now() < deadline, "{code}: {message}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: 3");
    assert_eq!(placed(&db, "c"), "node1:  | node2: 11");
    let v: Vec<String> = db
        .query_node("node1", "SELECT v FROM p WHERE id = 2")
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect();
    assert_eq!(v, ["9"]);
}
