//! Review r21g F1: a managed sharded keyspace with a plain (head InnoDB) table in
//! its FK graph. A transaction whose first Spider statement was a read (the
//! gateway's lock read of a parent, a client's SELECT) committed the head's own
//! tables before Spider's XA PREPARE on the nodes: a node lost at COMMIT rolled the
//! nodes back and kept the head's rows (orphans in `audit`, a SET NULL for a
//! parent that is still there). Every such transaction now begins with the
//! keyspace's anchor (`sharded::managed::anchor`), which makes Spider a read-write
//! member from the start: the head commits in two phases and a node lost before
//! its PREPARE rolls everything back.
//!
//! Schema: `country` copied to both nodes, `cust` and `ord` sharded by HASH(id)
//! (node1 even ids, node2 odd ids), `audit` plain on the head; the VSchema's
//! `cust.country -> country` RESTRICT, `ord.cust_id -> cust` CASCADE and
//! `audit.cust_id -> cust` ON DELETE SET NULL. Rows: country FR, cust 9 (node2),
//! orders 110 (node1) and 111 (node2) of cust 9, audit 1 of cust 9.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::spider::{self, Cluster, Partitioning, ShardedDb};

use crate::sharded_atomic::{block_commits, wait_for, waiting, xa_recover};
use crate::sharded_managed::code_of;
use crate::support::{start_json, Gw};

fn schema(db: &ShardedDb) {
    db.copied_table("country", "id CHAR(2) PRIMARY KEY", "id CHAR(2) PRIMARY KEY");
    for (name, columns) in [
        ("cust", "id INT PRIMARY KEY, country CHAR(2)"),
        ("ord", "id INT PRIMARY KEY, cust_id INT"),
    ] {
        db.sharded_table(name, columns, columns, &Partitioning::Hash("id".into()), &spider::NODES);
    }
    db.plain_table("audit", "id INT PRIMARY KEY, cust_id INT, KEY (cust_id)");
}

/// The rows before each case (again).
fn rows(db: &ShardedDb) {
    db.exec_head(
        "DELETE FROM audit; DELETE FROM ord; DELETE FROM cust; DELETE FROM country; \
         INSERT INTO country VALUES ('FR'); INSERT INTO cust VALUES (9, 'FR'); \
         INSERT INTO ord VALUES (110, 9), (111, 9); INSERT INTO audit VALUES (1, 9)",
    );
}

fn gateway(db: &ShardedDb) -> Gw {
    let fks = [
        ("cust_country_fk", "cust", "country", "country", "RESTRICT", "RESTRICT"),
        ("ord_cust_fk", "ord", "cust_id", "cust", "CASCADE", "CASCADE"),
        ("audit_cust_fk", "audit", "cust_id", "cust", "SET NULL", "CASCADE"),
    ];
    start_json(&spider::managed_keyspace("ks", &db.head_url(), &fks), "")
}

/// (cust ids, ord ids, audit rows `id:cust_id`) read through the head.
fn state(db: &ShardedDb) -> (String, String, String) {
    let join = |rows: Vec<Vec<Option<String>>>| {
        rows.into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| v.unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    (
        join(db.query_head("SELECT id FROM cust ORDER BY id")),
        join(db.query_head("SELECT id FROM ord ORDER BY id")),
        join(db.query_head("SELECT id, cust_id FROM audit ORDER BY id")),
    )
}

fn before() -> (String, String, String) {
    ("9".into(), "110 111".into(), "1:9".into())
}

/// Runs `statements` through the gateway in one session, kills node2, sends
/// COMMIT and returns its error code; node2 is started again.
fn killed_before_commit(c: &Cluster, gw: &Gw, statements: &[&str]) -> u16 {
    let node2 = c.node("node2");
    let code = gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for s in statements {
            assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{s}");
        }
        node2.kill();
        code_of(&mut k, "COMMIT").await.0
    });
    node2.start();
    code
}

/// A client transaction whose first Spider statement reads (the gateway's lock
/// read of `country` or `cust`, or the client's own SELECT) and that writes the
/// head's `audit` and the nodes: node2 killed before COMMIT, COMMIT fails (12701)
/// and nothing of the transaction stays, on the nodes or on the head.
#[test]
fn a_node_lost_at_commit_takes_the_heads_own_writes_with_it() {
    let c = Cluster::start("r22_commit");
    let db = c.create_db();
    schema(&db);
    let gw = gateway(&db);
    let cases: &[&[&str]] = &[
        // An orphan: the new customer rolled back on node2, its audit row kept.
        &[
            "BEGIN",
            "INSERT INTO cust VALUES (53, 'FR')",
            "INSERT INTO audit VALUES (11, 53)",
        ],
        // A SET NULL for a customer that is still there.
        &["BEGIN", "DELETE FROM cust WHERE id = 9"],
        &[
            "START TRANSACTION",
            "SELECT id FROM ord WHERE id = 110 FOR UPDATE",
            "DELETE FROM cust WHERE id = 9",
        ],
        // autocommit off: the DELETE opens the transaction.
        &["SET autocommit = 0", "DELETE FROM cust WHERE id = 9"],
        &[
            "SET autocommit = 0",
            "SELECT id FROM cust WHERE id = 9",
            "UPDATE audit SET cust_id = NULL WHERE id = 1",
            "DELETE FROM ord WHERE id = 111",
        ],
    ];
    for statements in cases {
        rows(&db);
        assert_eq!(killed_before_commit(&c, &gw, statements), 12701, "{statements:?}");
        assert_eq!(state(&db), before(), "{statements:?}: all of it rolled back");
        for n in spider::NODES {
            assert_eq!(xa_recover(c.node(n)), 0, "{statements:?}: {n}");
        }
    }
    // With every node up the same transactions commit (the anchor deletes nothing).
    rows(&db);
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for s in [
            "BEGIN",
            "INSERT INTO cust VALUES (53, 'FR')",
            "INSERT INTO audit VALUES (11, 53)",
            "DELETE FROM cust WHERE id = 9",
            "COMMIT",
        ] {
            assert_eq!(code_of(&mut k, s).await, (0, String::new()), "{s}");
        }
    });
    assert_eq!(state(&db), ("53".into(), "".into(), "1:NULL 11:53".into()));
}

/// The gateway's own transaction (an autocommit DELETE cascading into the nodes
/// and setting `audit.cust_id` NULL on the head), held in node2's XA PREPARE: the
/// head's SET NULL is not committed while it waits (another session still reads
/// cust_id 9); node2 killed there, the client gets an error and, after a new
/// gateway's recovery, nothing of the DELETE stays.
#[test]
fn the_gateways_own_transaction_commits_the_head_after_the_nodes_prepare() {
    let c = Cluster::start("r22_own");
    let db = c.create_db();
    schema(&db);
    rows(&db);
    let gw = gateway(&db);
    let node2 = c.node("node2");
    let blocker = block_commits(node2);
    let opts = gw.opts("ks");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let code = tether_testkit::block_on(async {
            let mut k = Conn::new(opts).await.expect("gateway");
            match k.query_drop("DELETE FROM cust WHERE id = 9").await {
                Ok(()) => 0,
                Err(mysql_async::Error::Server(e)) => e.code,
                Err(_) => 2013,
            }
        });
        let _ = tx.send(code);
    });
    waiting(node2, "xa prepare");
    assert_eq!(
        db.query_head("SELECT cust_id FROM audit WHERE id = 1"),
        vec![vec![Some("9".to_string())]],
        "the head's SET NULL is not committed before node2's PREPARE"
    );
    node2.kill();
    drop(blocker);
    assert_ne!(
        rx.recv().expect("delete result"),
        0,
        "the client is told the DELETE failed"
    );
    node2.start();
    drop(gw);
    // A new gateway's recovery rolls back what node1 prepared.
    let gw = gateway(&db);
    wait_for("node1's prepared half resolved", || xa_recover(c.node("node1")) == 0);
    assert_eq!(state(&db), before());
    // The rows are free: the same DELETE now commits, on the nodes and the head.
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        assert_eq!(
            code_of(&mut k, "DELETE FROM cust WHERE id = 9").await,
            (0, String::new())
        );
    });
    assert_eq!(state(&db), ("".into(), "".into(), "1:NULL".into()));
}

/// Review r21g F2: a multi-row ON DUPLICATE KEY UPDATE into a planned table runs a
/// row at a time; under CLIENT_FOUND_ROWS a row that met a duplicate and changed
/// nothing answers 1 (as an inserted row), and MariaDB counts it in `Duplicates`.
/// (rows affected, info line) as MariaDB gives them, with and without the flag.
#[test]
fn a_multi_row_upsert_counts_rows_found_unchanged_as_duplicates_under_client_found_rows() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    let gw = gateway(&db);
    let upsert = "INSERT INTO cust VALUES (9, 'FR'), (62, 'FR') ON DUPLICATE KEY UPDATE country = VALUES(country)";
    for (found_rows, first, again) in [
        (
            true,
            (2, "Records: 2  Duplicates: 1  Warnings: 0"),
            (2, "Records: 2  Duplicates: 2  Warnings: 0"),
        ),
        (
            false,
            (1, "Records: 2  Duplicates: 0  Warnings: 0"),
            (0, "Records: 2  Duplicates: 0  Warnings: 0"),
        ),
    ] {
        rows(&db);
        db.exec_head("DELETE FROM cust WHERE id = 62");
        let opts = mysql_async::OptsBuilder::from_opts(gw.opts("ks")).client_found_rows(found_rows);
        gw.block_on(async {
            let mut k = Conn::new(opts).await.expect("gateway");
            for expected in [first, again] {
                k.query_drop(upsert).await.expect("upsert");
                assert_eq!(
                    (k.affected_rows(), k.info().to_string()),
                    (expected.0, expected.1.to_string()),
                    "found_rows {found_rows}"
                );
            }
        });
    }
    assert_eq!(state(&db).0, "9 62");
}
