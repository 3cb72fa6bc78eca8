//! What the sharding engine (MariaDB Spider, through `tether_testkit::spider`)
//! guarantees, as docs/sharding.md "What the engine guarantees" states it: locking
//! reads through the head lock the rows on the data nodes; commit across nodes is
//! atomic only with `spider_internal_xa`; what a crash between PREPARE and COMMIT
//! leaves behind (XA RECOVER on the nodes). And the layout the gateway reads from the
//! head's catalogs.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_gateway::sharded::layout::Placement;
use tether_testkit::spider::{self, Cluster, Partitioning, ShardedDb};

/// `customer` sharded by HASH(id) over node1 (even ids) and node2 (odd ids).
fn customers(db: &ShardedDb) {
    db.sharded_table(
        "customer",
        "id INT PRIMARY KEY, name VARCHAR(20)",
        "id INT PRIMARY KEY, name VARCHAR(20)",
        &Partitioning::Hash("id".into()),
        &spider::NODES,
    );
    db.exec_head("INSERT INTO customer VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')");
}

fn ids(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    rows.into_iter().map(|r| r[0].clone().unwrap_or_default()).collect()
}

async fn conn(url: &str) -> Conn {
    Conn::from_url(url).await.unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The server error code of a result, or 0 for success.
fn code<T>(r: Result<T, mysql_async::Error>) -> u16 {
    match r {
        Ok(_) => 0,
        Err(mysql_async::Error::Server(e)) => e.code,
        Err(other) => panic!("expected a server error, got {other}"),
    }
}

#[test]
fn the_harness_routes_rows_to_their_nodes() {
    let c = spider::cluster();
    eprintln!("spider cluster started in {:?}", c.startup);
    let db = c.create_db();
    customers(&db);
    assert_eq!(
        ids(db.query_node("node1", "SELECT id FROM customer ORDER BY id")),
        ["2", "4"]
    );
    assert_eq!(
        ids(db.query_node("node2", "SELECT id FROM customer ORDER BY id")),
        ["1", "3"]
    );
    assert_eq!(
        ids(db.query_head("SELECT id FROM customer ORDER BY id")),
        ["1", "2", "3", "4"]
    );

    // RANGE: below 100 on node1, the rest on node2.
    db.sharded_table(
        "event",
        "id INT PRIMARY KEY",
        "id INT PRIMARY KEY",
        &Partitioning::Range {
            column: "id".into(),
            bounds: vec![100],
        },
        &spider::NODES,
    );
    db.exec_head("INSERT INTO event VALUES (5), (150)");
    assert_eq!(ids(db.query_node("node1", "SELECT id FROM event")), ["5"]);
    assert_eq!(ids(db.query_node("node2", "SELECT id FROM event")), ["150"]);

    // Copied: every node has every row.
    db.copied_table("country", "code CHAR(2) PRIMARY KEY", "code CHAR(2) PRIMARY KEY");
    db.exec_head("INSERT INTO country VALUES ('de'), ('fr')");
    for n in spider::NODES {
        assert_eq!(
            ids(db.query_node(n, "SELECT code FROM country ORDER BY code")),
            ["de", "fr"]
        );
    }

    // The nodes' binlogs are on, row-based.
    for n in spider::NODES {
        let v = db.query_node(n, "SELECT @@log_bin, @@binlog_format");
        assert_eq!(v, [[Some("1".to_string()), Some("ROW".to_string())]]);
    }
}

#[test]
fn locking_reads_through_the_head_lock_the_rows_on_the_node() {
    let c = spider::cluster();
    let db = c.create_db();
    customers(&db);
    tether_testkit::block_on(async {
        let mut head = conn(&db.head_url()).await;
        let mut node = conn(&db.node_url("node1")).await;
        node.query_drop("SET SESSION innodb_lock_wait_timeout = 1")
            .await
            .unwrap();
        for (read, locks) in [
            ("SELECT * FROM customer WHERE id = 2 FOR UPDATE", true),
            ("SELECT * FROM customer WHERE id = 2 LOCK IN SHARE MODE", true),
            ("SELECT * FROM customer WHERE id = 2", false),
        ] {
            head.query_drop("BEGIN").await.unwrap();
            let rows: Vec<(i32, String)> = head.query(read).await.unwrap();
            assert_eq!(rows, [(2, "b".to_string())], "{read}");
            // The row the head read is locked on node1 (1205 after 1 s) ...
            let blocked = code(node.query_drop("UPDATE customer SET name = 'x' WHERE id = 2").await);
            assert_eq!(blocked, if locks { 1205 } else { 0 }, "{read}");
            // ... another row of the same node is not.
            assert_eq!(
                code(node.query_drop("UPDATE customer SET name = 'd' WHERE id = 4").await),
                0,
                "{read}"
            );
            head.query_drop("ROLLBACK").await.unwrap();
            node.query_drop("UPDATE customer SET name = 'b' WHERE id = 2")
                .await
                .unwrap();
        }
        // A range read locks the rows of every node it reads.
        head.query_drop("BEGIN").await.unwrap();
        let n: Vec<i64> = head
            .query("SELECT COUNT(*) FROM customer WHERE id BETWEEN 1 AND 4 FOR UPDATE")
            .await
            .unwrap();
        assert_eq!(n, [4]);
        let mut node2 = conn(&db.node_url("node2")).await;
        node2
            .query_drop("SET SESSION innodb_lock_wait_timeout = 1")
            .await
            .unwrap();
        assert_eq!(code(node2.query_drop("DELETE FROM customer WHERE id = 3").await), 1205);
        assert_eq!(code(node.query_drop("DELETE FROM customer WHERE id = 4").await), 1205);
        head.query_drop("ROLLBACK").await.unwrap();
    });
}

/// XA RECOVER's xids on an instance (`data` column).
fn xa_recover(i: &spider::Instance) -> Vec<String> {
    i.query("", "XA RECOVER")
        .into_iter()
        .map(|r| r[3].clone().unwrap_or_default())
        .collect()
}

/// A transaction through the head writing row 7 (node2) and row 8 (node1).
const BOTH_NODES: &str = "INSERT INTO customer VALUES (7, 'g'), (8, 'h')";

fn both_rows(db: &ShardedDb) -> (Vec<String>, Vec<String>) {
    (
        ids(db.query_node("node1", "SELECT id FROM customer WHERE id IN (7, 8)")),
        ids(db.query_node("node2", "SELECT id FROM customer WHERE id IN (7, 8)")),
    )
}

/// Runs `sql` on `url` in a thread of its own; the result code comes back on the channel.
fn in_thread(url: String, sql: Vec<&'static str>) -> std::sync::mpsc::Receiver<Vec<u16>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let codes = tether_testkit::block_on(async {
            let mut c = conn(&url).await;
            let mut codes = Vec::new();
            for s in sql {
                codes.push(match c.query_drop(s).await {
                    Ok(()) => 0,
                    Err(mysql_async::Error::Server(e)) => e.code,
                    // The connection is gone (the head was killed): CR_SERVER_LOST.
                    Err(_) => 2013,
                });
            }
            codes
        });
        let _ = tx.send(codes);
    });
    rx
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The head's decision for each transaction `node` holds prepared: (the xid as
/// SQL, `mysql.spider_xa.status` or "" when the head has no row for it).
fn decisions(head: &spider::Instance, node: &spider::Instance) -> Vec<(String, String)> {
    let raw = node.query("", "XA RECOVER");
    let sql = node.query("", "XA RECOVER FORMAT='SQL'");
    raw.into_iter()
        .zip(sql)
        .map(|(r, s)| {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            let (format, gtrid, bqual, data) = (text(&r[0]), text(&r[1]), text(&r[2]), text(&r[3]));
            let status = head.query(
                "",
                &format!(
                    "SELECT status FROM mysql.spider_xa WHERE format_id = {format} AND gtrid_length = {gtrid} \
                     AND bqual_length = {bqual} AND LEFT(data, {gtrid} + {bqual}) = X'{}'",
                    data.bytes().map(|b| format!("{b:02x}")).collect::<String>()
                ),
            );
            (text(&s[3]), status.first().map(|r| text(&r[0])).unwrap_or_default())
        })
        .collect()
}

/// Recovery by hand, as docs/sharding.md describes it: every prepared transaction
/// on a node is committed if the head decided COMMIT, else rolled back.
fn resolve(head: &spider::Instance, node: &spider::Instance) {
    for (xid, status) in decisions(head, node) {
        let verb = if status == "COMMIT" { "COMMIT" } else { "ROLLBACK" };
        node.exec("", &format!("XA {verb} {xid}"));
    }
}

#[test]
fn commit_across_nodes_is_atomic_only_with_internal_xa() {
    let c = Cluster::start("spider_xa");
    let db = c.create_db();
    customers(&db);
    let (node1, node2) = (c.node("node1"), c.node("node2"));
    // One runtime: the blocking connection below lives across several calls.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let none: (Vec<String>, Vec<String>) = (vec![], vec![]);
    // Writes both rows with `spider_internal_xa` = `xa`, kills node2, commits: the
    // COMMIT's error code.
    let node2_dies_before_commit = |xa: u8| {
        rt.block_on(async {
            let mut head = conn(&db.head_url()).await;
            head.query_drop(format!("SET SESSION spider_internal_xa = {xa}"))
                .await
                .unwrap();
            head.query_drop("BEGIN").await.unwrap();
            head.query_drop(BOTH_NODES).await.unwrap();
            node2.kill();
            code(head.query_drop("COMMIT").await)
        })
    };

    // 1. spider_internal_xa off: node2 dies before COMMIT. The client gets 12701
    // and node1 has committed its half: not atomic.
    let done = node2_dies_before_commit(0);
    node2.start();
    assert_eq!(done, 12701);
    assert_eq!(both_rows(&db), (vec!["8".to_string()], vec![]));
    db.exec_node("node1", "DELETE FROM customer WHERE id IN (7, 8)");

    // 2. spider_internal_xa on: the same crash rolls node1 back too. The head keeps
    // a `NOT YET` row in mysql.spider_xa.
    let done = node2_dies_before_commit(1);
    node2.start();
    assert_eq!(done, 12701);
    assert_eq!(both_rows(&db), none);
    assert_eq!((xa_recover(node1), xa_recover(node2)), (vec![], vec![]));
    assert_eq!(ids(c.head.query("", "SELECT status FROM mysql.spider_xa")), ["NOT YET"]);

    // 3. node2 prepares first, then node1. Hold node1 in XA PREPARE (BACKUP STAGE
    // BLOCK_COMMIT) while node2 has prepared, kill node2, let node1 go on.
    let block = |i: &spider::Instance| {
        rt.block_on(async {
            let mut k = conn(&i.url("")).await;
            k.query_drop("BACKUP STAGE START").await.unwrap();
            k.query_drop("BACKUP STAGE BLOCK_COMMIT").await.unwrap();
            k
        })
    };
    let unblock = |mut k: Conn| {
        rt.block_on(async {
            k.query_drop("BACKUP STAGE END").await.unwrap();
            let _ = k.disconnect().await;
        })
    };
    let waiting_prepare = |i: &spider::Instance| {
        wait_for("a waiting XA PREPARE", || {
            i.query(
                "",
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'xa prepare%'",
            )[0][0]
                .as_deref()
                == Some("1")
        })
    };
    let write_both = || {
        in_thread(
            db.head_url(),
            vec!["SET SESSION spider_internal_xa = 1", "BEGIN", BOTH_NODES, "COMMIT"],
        )
    };
    let blocker = block(node1);
    let rx = write_both();
    waiting_prepare(node1);
    assert_eq!(xa_recover(node2).len(), 1, "node2 prepared first");
    node2.kill();
    unblock(blocker);
    // The client is told the COMMIT failed, but the head decided COMMIT and node1
    // committed: the outcome is in doubt, not rolled back.
    assert_eq!(rx.recv().unwrap(), [0, 0, 0, 12701]);
    assert_eq!(both_rows_up(&db, "node1"), ["8"]);
    assert_eq!(xa_recover(node1), Vec::<String>::new());
    // node2 comes back with the transaction prepared (InnoDB keeps it over a
    // crash): its row invisible and locked, the head's decision COMMIT.
    node2.start();
    let held = decisions(&c.head, node2);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].1, "COMMIT");
    assert_eq!(both_rows_up(&db, "node2"), Vec::<String>::new());
    // Nobody finishes it: not the node, not a restarted head.
    c.head.kill();
    c.head.start();
    assert_eq!(decisions(&c.head, node2), held);
    resolve(&c.head, node2);
    assert_eq!(both_rows(&db), (vec!["8".to_string()], vec!["7".to_string()]));
    db.exec_head("DELETE FROM customer WHERE id IN (7, 8)");

    // 4. The head dies after node2's PREPARE, node1 waiting in its own: node1's
    // PREPARE completes after its client is gone, so both nodes hold the
    // transaction prepared; the head's record says NOT YET, and stays so after a
    // restart. Rolled back by hand, nothing of it remains.
    let blocker = block(node1);
    let rx = write_both();
    waiting_prepare(node1);
    assert_eq!(xa_recover(node2).len(), 1, "node2 prepared first");
    c.head.kill();
    unblock(blocker);
    assert_eq!(rx.recv().unwrap(), [0, 0, 0, 2013]);
    wait_for("node1's PREPARE", || xa_recover(node1).len() == 1);
    c.head.start();
    for n in [node1, node2] {
        let held = decisions(&c.head, n);
        assert_eq!(held.len(), 1, "{}", n.name);
        assert_eq!(held[0].1, "NOT YET", "{}", n.name);
    }
    // The restarted head hands out its xids again from the start: a transaction
    // that gets the xid still prepared on the nodes fails with 1440 (XAER_DUPID)
    // in its first write. Recovery must come before the head takes writes.
    let began = Instant::now();
    let writes: Vec<u16> = (0..30)
        .map(|i| {
            let id = 100 + 2 * i;
            rt.block_on(async {
                let mut h = conn(&db.head_url()).await;
                h.query_drop("SET SESSION spider_internal_xa = 1").await.unwrap();
                h.query_drop("BEGIN").await.unwrap();
                let w = code(
                    h.query_drop(format!("INSERT INTO customer VALUES ({id}, 'x'), ({}, 'y')", id + 1))
                        .await,
                );
                h.query_drop("ROLLBACK").await.unwrap();
                w
            })
        })
        .collect();
    eprintln!(
        "30 transactions after the head's restart: {writes:?} in {:?}",
        began.elapsed()
    );
    assert!(writes.contains(&1440), "{writes:?}");
    for n in [node1, node2] {
        resolve(&c.head, n);
    }
    assert_eq!(both_rows(&db), none);
    assert_eq!((xa_recover(node1), xa_recover(node2)), (vec![], vec![]));

    // The cluster works on: a transaction over both nodes commits.
    db.exec_head(&format!(
        "SET SESSION spider_internal_xa = 1; BEGIN; {BOTH_NODES}; COMMIT"
    ));
    assert_eq!(both_rows(&db), (vec!["8".to_string()], vec!["7".to_string()]));
}

/// Rows 7 and 8 on one node.
fn both_rows_up(db: &ShardedDb, node: &str) -> Vec<String> {
    ids(db.query_node(node, "SELECT id FROM customer WHERE id IN (7, 8)"))
}

/// A keyspace with every kind of table and FK: sharded pairs on the same and on
/// different columns, a copied parent, a plain table of the head, a table on one
/// node under another name, FKs from the nodes and from the VSchema.
fn shop(db: &ShardedDb) {
    let both = &spider::NODES;
    db.copied_table("country", "code CHAR(2) PRIMARY KEY", "code CHAR(2) PRIMARY KEY");
    db.sharded_table(
        "customer",
        "id INT PRIMARY KEY, country CHAR(2)",
        "id INT PRIMARY KEY, country CHAR(2), \
         CONSTRAINT customer_country_fk FOREIGN KEY (country) REFERENCES country (code)",
        &Partitioning::Hash("id".into()),
        both,
    );
    db.sharded_table(
        "orders",
        "id INT, customer_id INT, PRIMARY KEY (id, customer_id)",
        "id INT PRIMARY KEY, customer_id INT NOT NULL, \
         CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE",
        &Partitioning::Hash("customer_id".into()),
        both,
    );
    db.sharded_table(
        "order_line",
        "order_id INT, no INT, PRIMARY KEY (order_id, no)",
        "order_id INT, no INT, PRIMARY KEY (order_id, no)",
        &Partitioning::Key(vec!["order_id".into(), "no".into()]),
        both,
    );
    db.sharded_table(
        "event",
        "id INT PRIMARY KEY, customer_id INT",
        "id INT PRIMARY KEY, customer_id INT",
        &Partitioning::Range {
            column: "id".into(),
            bounds: vec![1000],
        },
        both,
    );
    db.plain_table("audit", "id INT PRIMARY KEY, customer_id INT");
    // On node2 only, named `solo_remote` there, linked by a CONNECTION string.
    db.exec_node(
        "node2",
        "CREATE TABLE solo_remote (id INT PRIMARY KEY, customer_id INT)",
    );
    db.exec_head(&format!(
        "CREATE TABLE solo (id INT PRIMARY KEY, customer_id INT) ENGINE=SPIDER \
         CONNECTION='srv \"node2\", database \"{}\", table \"solo_remote\"'",
        db.name
    ));
}

fn vschema_fks(toml: &str) -> Vec<tether_schema::LocatedSpec> {
    tether_schema::virtual_fk::parse_file("vschema", toml).expect("valid virtual FKs")
}

#[test]
fn the_layout_and_the_fk_scopes_come_from_the_heads_catalogs() {
    let c = spider::cluster();
    let db = c.create_db();
    shop(&db);
    let head = tether_connect::DbUrl::parse(&db.head_url()).expect("url");
    let declared = vschema_fks(
        r#"
[[virtual_foreign_keys]]
name = "line_order_fk"
table = "order_line"
columns = ["order_id"]
referenced_table = "orders"
referenced_columns = ["id"]

[[virtual_foreign_keys]]
table = "audit"
columns = ["customer_id"]
referenced_table = "customer"

[[virtual_foreign_keys]]
table = "orders"
columns = ["customer_id"]
referenced_table = "customer"
name = "orders_customer_fk"

[[virtual_foreign_keys]]
table = "solo"
columns = ["customer_id"]
referenced_table = "customer"
"#,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (layout, fks) = rt
        .block_on(tether_gateway::sharded::describe(&head, &declared))
        .unwrap_or_else(|e| panic!("{e}"));
    let text = tether_gateway::sharded::report::report(&layout, &fks).replace(&db.name, "DB");
    assert_eq!(
        text,
        "sharded keyspace on head database `DB`
tables:
  audit       plain (on the head)
  country     copied to node1, node2
  customer    sharded by HASH (id): p0 on node1; p1 on node2;
  event       sharded by RANGE (id): p0 < 1000 on node1; p1 < MAXVALUE on node2;
  orders      sharded by HASH (customer_id): p0 on node1; p1 on node2;
  order_line  sharded by KEY (order_id,no): p0 on node1; p1 on node2;
  solo        on node2
foreign keys:
  audit_customer_id_vfk: audit (customer_id) -> customer (id) [vschema]
    cross-shard: `audit` is on the head, `customer` on the data nodes
  customer_country_fk: customer (country) -> country (code) [database]
    shard-scoped: `country` has a copy on every node of `customer`
  line_order_fk: order_line (order_id) -> orders (id) [vschema]
    cross-shard: `order_line` is sharded by KEY (_,_), `orders` by HASH (_)
  orders_customer_fk: orders (customer_id) -> customer (id) [database+vschema]
    shard-scoped: both sharded by HASH (_) over the FK's columns, partitions on the same nodes
  solo_customer_id_vfk: solo (customer_id) -> customer (id) [vschema]
    cross-shard: `solo` is on one node, `customer` is sharded
"
    );
    // Where the rows of each partition are: the layout's links.
    let solo = layout.table("solo").expect("solo");
    assert_eq!(solo.nodes(), ["node2"]);
    match &solo.placement {
        Placement::Linked(l) => assert_eq!(
            (l.database.as_str(), l.table.as_str()),
            (db.name.as_str(), "solo_remote")
        ),
        other => panic!("solo: {other:?}"),
    }
    let node2 = layout.node("node2").expect("node2 in mysql.servers");
    assert_eq!((node2.host.as_str(), node2.port), ("127.0.0.3", c.node("node2").port));
    assert_eq!(
        tether_gateway::sharded::report::unenforced(&fks),
        [
            "foreign key `audit_customer_id_vfk` of `audit` is cross-shard and not enforced by the data nodes: \
             `audit` is on the head, `customer` on the data nodes",
            "foreign key `line_order_fk` of `order_line` is cross-shard and not enforced by the data nodes: \
             `order_line` is sharded by KEY (_,_), `orders` by HASH (_)",
            "foreign key `solo_customer_id_vfk` of `solo` is cross-shard and not enforced by the data nodes: \
             `solo` is on one node, `customer` is sharded",
        ]
    );

    // Declared in the VSchema against what the nodes have: an error naming it.
    let wrong = vschema_fks(
        r#"
[[virtual_foreign_keys]]
name = "orders_customer_fk"
table = "orders"
columns = ["id"]
referenced_table = "customer"
"#,
    );
    let e = rt
        .block_on(tether_gateway::sharded::describe(&head, &wrong))
        .expect_err("they disagree");
    assert_eq!(
        e.to_string(),
        "foreign key `orders_customer_fk` (VSchema line 2): the VSchema and the data nodes disagree: the VSchema \
         declares `orders_customer_fk`: `orders` (id) -> `customer` (id); the data nodes have \
         `orders_customer_fk`: `orders` (customer_id) -> `customer` (id)"
    );
}

#[test]
fn the_nodes_enforce_their_own_fks_through_the_head() {
    let c = spider::cluster();
    let db = c.create_db();
    shop(&db);
    db.exec_head("INSERT INTO country VALUES ('de'); INSERT INTO customer VALUES (1, 'de'), (2, 'de')");
    db.exec_head("INSERT INTO orders VALUES (10, 1), (20, 2), (30, 2)");
    tether_testkit::block_on(async {
        let mut head = conn(&db.head_url()).await;
        // An orphan: the node's InnoDB refuses it, the head passes its error on.
        assert_eq!(code(head.query_drop("INSERT INTO orders VALUES (40, 3)").await), 1452);
        // A parent with children on the same node goes, its children with it (ON
        // DELETE CASCADE, by the node's InnoDB).
        head.query_drop("DELETE FROM customer WHERE id = 2").await.unwrap();
        // A copied parent in use: RESTRICT on each node.
        assert_eq!(
            code(head.query_drop("DELETE FROM country WHERE code = 'de'").await),
            1451
        );
    });
    assert_eq!(ids(db.query_head("SELECT id FROM orders ORDER BY id")), ["10"]);
    assert_eq!(
        ids(db.query_node("node1", "SELECT id FROM orders")),
        Vec::<String>::new()
    );
    assert_eq!(ids(db.query_node("node2", "SELECT id FROM orders")), ["10"]);
    // node1 had no customer of 'de' left, node2 refused: the statement is undone on
    // both copies (one XA transaction), they stay equal.
    for n in spider::NODES {
        assert_eq!(ids(db.query_node(n, "SELECT code FROM country")), ["de"], "{n}");
    }
}

#[test]
fn a_deadlock_across_nodes_is_not_detected_it_waits_for_the_lock_timeout() {
    let c = Cluster::start("spider_deadlock");
    let db = c.create_db();
    customers(&db);
    for n in &c.nodes {
        n.exec("", "SET GLOBAL innodb_lock_wait_timeout = 3");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = db.head_url();
    let started = Instant::now();
    let (a, b) = rt.block_on(async {
        let mut a = conn(&url).await;
        let mut b = conn(&url).await;
        a.query_drop("BEGIN").await.unwrap();
        b.query_drop("BEGIN").await.unwrap();
        // a holds id 2 (node1), b holds id 1 (node2); then each wants the other's.
        a.query_drop("UPDATE customer SET name = 'a' WHERE id = 2")
            .await
            .unwrap();
        b.query_drop("UPDATE customer SET name = 'b' WHERE id = 1")
            .await
            .unwrap();
        let ta = tokio::spawn(async move {
            let r = code(a.query_drop("UPDATE customer SET name = 'a' WHERE id = 1").await);
            (r, a)
        });
        let tb = tokio::spawn(async move {
            let r = code(b.query_drop("UPDATE customer SET name = 'b' WHERE id = 2").await);
            (r, b)
        });
        let (ra, _a) = ta.await.unwrap();
        let (rb, _b) = tb.await.unwrap();
        (ra, rb)
    });
    let waited = started.elapsed();
    // On one InnoDB this is 1213 at once; across nodes neither node sees a cycle:
    // both wait out the nodes' innodb_lock_wait_timeout, both get 1205 (a timeout
    // undoes the statement only, so each keeps the lock the other waits for).
    assert_eq!((a, b), (1205, 1205));
    assert!(waited >= Duration::from_secs(3), "{waited:?}");
}

/// Collects what a tracing subscriber writes.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_gateway_over_the_head_warns_about_cross_shard_fks_and_explains_their_scope() {
    let c = spider::cluster();
    let db = c.create_db();
    customers(&db);
    db.sharded_table(
        "orders",
        "id INT, customer_id INT, PRIMARY KEY (id, customer_id)",
        "id INT PRIMARY KEY, customer_id INT NOT NULL, \
         CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id)",
        &Partitioning::Hash("customer_id".into()),
        &spider::NODES,
    );
    db.sharded_table(
        "event",
        "id INT PRIMARY KEY, customer_id INT",
        "id INT PRIMARY KEY, customer_id INT",
        &Partitioning::Range {
            column: "id".into(),
            bounds: vec![1000],
        },
        &spider::NODES,
    );
    let head = db.head_url();
    let fks = r#""foreignKeys": [{"name": "event_customer_fk", "table": "event", "columns": ["customer_id"],
        "referenced_table": "customer"}]"#;
    let keyspaces = format!(
        r#""shop": {{"sharded": true, "foreignKeyMode": "unmanaged", "backend": {{"url": "{head}"}}, {fks}}},
           "strict": {{"sharded": true, "foreignKeyMode": "disallow", "backend": {{"url": "{head}"}}, {fks}}}"#
    );
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::WARN)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .finish();
    let gw = tracing::subscriber::with_default(subscriber, || crate::support::start_json(&keyspaces, ""));
    let logged = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    let warnings: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("cross-shard"))
        .map(|l| &l[l.find("keyspace ").unwrap_or(0)..])
        .collect();
    // Once, for the unmanaged keyspace: the cross-shard FK, named; not the co-located one.
    assert_eq!(
        warnings,
        [
            "keyspace shop: foreign key `event_customer_fk` of `event` is cross-shard and not enforced by the \
          data nodes: `event` is sharded by RANGE (_), `customer` by HASH (_)"
        ],
        "{logged}"
    );
    gw.block_on(async {
        let mut shop = gw.connect("shop").await;
        let report = crate::support::rows(&mut shop, "EXPLAIN FK SHARDS").await;
        let text: Vec<String> = report.into_iter().map(|r| r[0].replace(&db.name, "DB")).collect();
        assert_eq!(
            text,
            [
                "sharded keyspace on head database `DB`",
                "tables:",
                "  customer  sharded by HASH (id): p0 on node1; p1 on node2;",
                "  event     sharded by RANGE (id): p0 < 1000 on node1; p1 < MAXVALUE on node2;",
                "  orders    sharded by HASH (customer_id): p0 on node1; p1 on node2;",
                "foreign keys:",
                "  event_customer_fk: event (customer_id) -> customer (id) [vschema]",
                "    cross-shard: `event` is sharded by RANGE (_), `customer` by HASH (_)",
                "  orders_customer_fk: orders (customer_id) -> customer (id) [database]",
                "    shard-scoped: both sharded by HASH (_) over the FK's columns, partitions on the same nodes",
                "not enforced (unmanaged):",
                "  foreign key `event_customer_fk` of `event` is cross-shard and not enforced by the data nodes: \
                 `event` is sharded by RANGE (_), `customer` by HASH (_)",
            ]
        );
        // Statements pass through the head: the nodes enforce the co-located FK.
        shop.query_drop("INSERT INTO orders VALUES (10, 1)")
            .await
            .expect("parent exists");
        let e = shop
            .query_drop("INSERT INTO orders VALUES (11, 99)")
            .await
            .expect_err("no parent");
        assert_eq!(crate::support::server_error(e).0, 1452);
        // No online schema changes in a sharded keyspace.
        shop.query_drop("SET @@ddl_strategy = 'online'")
            .await
            .expect("session setting");
        let e = shop
            .query_drop("ALTER TABLE event ADD COLUMN x INT")
            .await
            .expect_err("refused");
        assert_eq!(
            crate::support::server_error(e).2,
            "keyspace `shop` is sharded: online schema changes are not available there (run DDL with \
             @@ddl_strategy = 'direct')"
        );

        // disallow: FK DDL through the head is refused, naming the constraint.
        let mut strict = gw.connect("strict").await;
        let e = strict
            .query_drop(
                "CREATE TABLE note (id INT PRIMARY KEY, customer_id INT, \
                 CONSTRAINT note_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id))",
            )
            .await
            .expect_err("refused");
        assert_eq!(
            crate::support::server_error(e),
            (
                1215,
                "HY000".into(),
                "Cannot add foreign key constraint for `note`: constraint `note_customer_fk`: foreign keys are \
                 disallowed in keyspace `strict` (foreignKeyMode: disallow)"
                    .into()
            )
        );
        let text = crate::support::rows(&mut strict, "EXPLAIN FK SHARDS").await;
        assert_eq!(text.len(), 10, "the report without the unmanaged section: {text:?}");
        assert_eq!(
            crate::support::rows(&mut strict, "SHOW TABLES LIKE 'note'").await,
            Vec::<Vec<String>>::new()
        );
    });
}
