//! Managed mode on a sharded keyspace (issue 16, deliverable 4): a gateway over a
//! Spider head (`tether_testkit::spider`: two data nodes) enforcing every FK, the
//! nodes' shard-scoped ones and the VSchema's cross-shard ones, as explicit
//! statements; compared statement by statement with one MariaDB with InnoDB FKs.
//!
//! The schema: `customer` (HASH id) with a self-reference (VSchema, SET NULL /
//! CASCADE); `orders` and `note` co-located with `customer` (HASH customer_id, node
//! InnoDB FKs: ON DELETE CASCADE and RESTRICT); `orders.item_id` to `item` and
//! `review` to `item` (cross-shard, VSchema: SET NULL / CASCADE and RESTRICT /
//! CASCADE); a cycle `dept` <-> `emp` (cross-shard, VSchema: CASCADE and SET NULL).

use std::collections::{BTreeMap, BTreeSet};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::spider::{self, Partitioning, ShardedDb};
use tether_testkit::{TestDb, TestEngine};

use crate::differential::Rng;
use crate::managed::assert_same_outcome;
use crate::support::{dump, start_json, Gw};

/// Tables: (name, columns (head and nodes alike), sharded by, node FKs).
const TABLES: &[(&str, &str, &str, &str)] = &[
    (
        "customer",
        "id INT PRIMARY KEY, ref_id INT NULL, v INT NOT NULL DEFAULT 0",
        "id",
        "",
    ),
    ("item", "id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0", "id", ""),
    (
        "orders",
        "customer_id INT NOT NULL, id INT NOT NULL, item_id INT NULL, v INT NOT NULL DEFAULT 0, \
         PRIMARY KEY (customer_id, id)",
        "customer_id",
        "CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) \
         ON DELETE CASCADE ON UPDATE RESTRICT",
    ),
    (
        "note",
        "customer_id INT NOT NULL, id INT NOT NULL, PRIMARY KEY (customer_id, id)",
        "customer_id",
        "CONSTRAINT note_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) \
         ON DELETE RESTRICT ON UPDATE RESTRICT",
    ),
    ("review", "id INT PRIMARY KEY, item_id INT NOT NULL", "id", ""),
    (
        "dept",
        "id INT PRIMARY KEY, head_id INT NULL, v INT NOT NULL DEFAULT 0",
        "id",
        "",
    ),
    (
        "emp",
        "id INT PRIMARY KEY, dept_id INT NULL, v INT NOT NULL DEFAULT 0",
        "id",
        "",
    ),
];

/// FKs the VSchema declares (cross-shard): name, table, column, parent, ON DELETE, ON UPDATE.
const DECLARED: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "customer_ref_fk",
        "customer",
        "ref_id",
        "customer",
        "SET NULL",
        "CASCADE",
    ),
    ("orders_item_fk", "orders", "item_id", "item", "SET NULL", "CASCADE"),
    ("review_item_fk", "review", "item_id", "item", "RESTRICT", "CASCADE"),
    ("emp_dept_fk", "emp", "dept_id", "dept", "CASCADE", "CASCADE"),
    ("dept_head_fk", "dept", "head_id", "emp", "SET NULL", "SET NULL"),
];

pub(crate) const NAMES: &[&str] = &["customer", "item", "orders", "note", "review", "dept", "emp"];

/// Every FK (child, column, parent), for the orphan check on the nodes.
const FKS: &[(&str, &str, &str)] = &[
    ("orders", "customer_id", "customer"),
    ("note", "customer_id", "customer"),
    ("customer", "ref_id", "customer"),
    ("orders", "item_id", "item"),
    ("review", "item_id", "item"),
    ("emp", "dept_id", "dept"),
    ("dept", "head_id", "emp"),
];

/// The native schema: the same tables with every FK in InnoDB.
pub(crate) fn native_schema() -> String {
    let mut sql = String::new();
    for (name, columns, _, node_fk) in TABLES {
        let fk = if node_fk.is_empty() {
            String::new()
        } else {
            format!(", {node_fk}")
        };
        sql.push_str(&format!("CREATE TABLE {name} ({columns}{fk}) ENGINE=InnoDB;\n"));
    }
    for (name, table, column, parent, del, upd) in DECLARED {
        sql.push_str(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES {parent} (id) \
             ON DELETE {del} ON UPDATE {upd};\n"
        ));
    }
    sql
}

pub(crate) fn sharded_schema(db: &ShardedDb) {
    for (name, columns, by, node_fk) in TABLES {
        let node = if node_fk.is_empty() {
            columns.to_string()
        } else {
            format!("{columns}, {node_fk}")
        };
        db.sharded_table(name, columns, &node, &Partitioning::Hash((*by).into()), &spider::NODES);
    }
}

/// A database of the shared Spider cluster with [`sharded_schema`] and `setup` run
/// on the head, and a gateway whose keyspace `ks` is managed and sharded over it.
pub(crate) fn managed_keyspace(setup: &str) -> (ShardedDb<'static>, Gw) {
    let db = spider::cluster().create_db();
    sharded_schema(&db);
    db.exec_head(setup);
    let gw = start_json(&vschema(&db.head_url()), "");
    (db, gw)
}

pub(crate) fn vschema(head_url: &str) -> String {
    let fks: Vec<String> = DECLARED
        .iter()
        .map(|(name, table, column, parent, del, upd)| {
            format!(
                r#"{{"name": "{name}", "table": "{table}", "columns": ["{column}"], "referenced_table": "{parent}",
                    "on_delete": "{del}", "on_update": "{upd}"}}"#
            )
        })
        .collect();
    format!(
        r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{head_url}"}},
            "foreignKeys": [{}]}}"#,
        fks.join(", ")
    )
}

/// Keys in 1..=R (so statements collide) and FK values, sometimes NULL.
trait Keys {
    fn key(&mut self) -> i64;
    fn fk(&mut self) -> String;
}

impl Keys for Rng {
    fn key(&mut self) -> i64 {
        1 + self.below(R as u64)
    }
    fn fk(&mut self) -> String {
        // Now and then written as MariaDB converts it on store (`'3'`, `3.4`,
        // `2.5` -> 3): checked as stored (managed/stored.rs).
        match self.below(24) {
            0..=3 => "NULL".into(),
            4 => format!("'{}'", self.key()),
            5 => format!("{}.4", self.key()),
            6 => format!("{}.5", self.key() - 1),
            _ => self.key().to_string(),
        }
    }
}

const R: i64 = 14;

/// One random statement. Not generated (refused by design in a managed sharded
/// keyspace, docs/gateway.md): multi-table UPDATE / DELETE, IGNORE, INSERT ...
/// SET, INSERT ... SELECT ... ON DUPLICATE KEY UPDATE (see
/// `forms_only_innodb_could_check_are_refused`). The SELECT sources are ordered:
/// the head reads partitions in its own order.
fn statement(rng: &mut Rng) -> String {
    let (k, f) = (rng.key(), rng.fk());
    match rng.below(38) {
        // Run as the rows they write (managed/rows.rs).
        31 => format!(
            "REPLACE INTO customer (id, ref_id) VALUES ({k}, {f}), ({}, {})",
            rng.key(),
            rng.fk()
        ),
        32 => format!(
            "INSERT INTO item (id, v) VALUES ({k}, 1), ({}, 2) ON DUPLICATE KEY UPDATE id = id + {}",
            rng.key(),
            1 + rng.below(2)
        ),
        33 => format!(
            "INSERT INTO customer (id, ref_id) VALUES ({k}, {f}), ({}, {}) ON DUPLICATE KEY UPDATE ref_id = VALUES(ref_id)",
            rng.key(),
            rng.fk()
        ),
        34 => format!(
            "INSERT INTO orders (customer_id, id, item_id) SELECT id, {}, {f} FROM customer WHERE id BETWEEN {k} AND {} ORDER BY id",
            rng.below(3),
            k + 2
        ),
        35 => format!(
            "REPLACE INTO item (id, v) SELECT id, {} FROM customer WHERE id BETWEEN {k} AND {} ORDER BY id",
            rng.below(5),
            k + 1
        ),
        36 => format!("INSERT INTO emp (id, dept_id) VALUES ({k}, {f} + 0)"),
        37 => format!(
            "INSERT INTO review (id, item_id) SELECT id + {}, id FROM customer WHERE id = {k}",
            rng.below(3)
        ),
        0..=2 => format!("INSERT INTO customer (id, ref_id) VALUES ({k}, {f})"),
        3 => format!(
            "INSERT INTO customer (id, ref_id) VALUES ({k}, {f}), ({}, {})",
            rng.key(),
            rng.fk()
        ),
        4..=5 => format!("INSERT INTO item (id) VALUES ({k})"),
        6..=7 => format!(
            "INSERT INTO orders (customer_id, id, item_id) VALUES ({k}, {}, {f})",
            rng.below(3)
        ),
        8 => format!("INSERT INTO note VALUES ({k}, {})", rng.below(2)),
        9 => format!("INSERT INTO review VALUES ({k}, {})", rng.key()),
        10 => format!("INSERT INTO dept (id, head_id) VALUES ({k}, {f})"),
        11 => format!("INSERT INTO emp (id, dept_id) VALUES ({k}, {f})"),
        12 => format!("DELETE FROM customer WHERE id = {k}"),
        13 => format!("DELETE FROM item WHERE id = {k}"),
        14 => format!("DELETE FROM {} WHERE id = {k}", ["dept", "emp"][rng.below(2) as usize]),
        15 => format!("DELETE FROM orders WHERE customer_id = {k}"),
        16 => format!("UPDATE customer SET id = {} WHERE id = {k}", rng.key()),
        17 => format!("UPDATE item SET id = {} WHERE id = {k}", rng.key()),
        18 => format!(
            "UPDATE {} SET id = {} WHERE id = {k}",
            ["dept", "emp"][rng.below(2) as usize],
            rng.key()
        ),
        19 => format!("UPDATE customer SET ref_id = {f} WHERE id = {k}"),
        20 => format!("UPDATE orders SET item_id = {f} WHERE customer_id = {k}"),
        21 => format!("UPDATE emp SET dept_id = {f} WHERE id = {k}"),
        22 => format!("UPDATE dept SET head_id = {f} WHERE id = {k}"),
        // Expressions.
        23 => format!("UPDATE customer SET v = v + 1 WHERE id <= {k}"),
        24 => format!("UPDATE item SET id = id + {} WHERE id = {k}", 1 + rng.below(3)),
        25 => format!("UPDATE customer SET ref_id = id - 1 WHERE id = {k}"),
        26 => format!("REPLACE INTO customer (id, ref_id) VALUES ({k}, {f})"),
        27 => format!("REPLACE INTO item (id, v) VALUES ({k}, {})", rng.below(5)),
        28 => format!(
            "INSERT INTO customer (id, ref_id) VALUES ({k}, {f}) ON DUPLICATE KEY UPDATE ref_id = {}",
            rng.fk()
        ),
        _ => format!(
            "INSERT INTO item (id, v) VALUES ({k}, 1) ON DUPLICATE KEY UPDATE v = v + {}",
            rng.below(3)
        ),
    }
}

/// Every row of every table as each data node holds it, by table (both nodes).
fn node_rows(db: &ShardedDb) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    let mut out = BTreeMap::new();
    for t in NAMES {
        let mut all = Vec::new();
        for n in spider::NODES {
            all.extend(db.query_node(n, &format!("SELECT * FROM {t}")));
        }
        out.insert(t.to_string(), all);
    }
    out
}

/// Child rows whose FK value has no parent row on any node.
pub(crate) fn orphans(db: &ShardedDb) -> Vec<String> {
    let rows = node_rows(db);
    let column_of = |t: &str, c: &str| {
        let cols: Vec<String> = db
            .query_node("node1", &format!("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{t}' ORDER BY ORDINAL_POSITION"))
            .into_iter()
            .map(|r| r[0].clone().unwrap_or_default())
            .collect();
        cols.iter().position(|x| x == c).expect("column")
    };
    let mut out = Vec::new();
    for (child, column, parent) in FKS {
        let ids: BTreeSet<String> = rows[*parent].iter().filter_map(|r| r[0].clone()).collect();
        let at = column_of(child, column);
        for r in &rows[*child] {
            if let Some(v) = &r[at] {
                if !ids.contains(v) {
                    out.push(format!("{child}.{column} = {v}: {r:?}"));
                }
            }
        }
    }
    out
}

/// Rows stored on a node their partition does not place them on (HASH over 2
/// nodes: even values on node1).
fn misplaced(db: &ShardedDb) -> Vec<String> {
    let mut out = Vec::new();
    for (t, _, by, _) in TABLES {
        for (i, n) in spider::NODES.iter().enumerate() {
            for r in db.query_node(n, &format!("SELECT {by} FROM {t} WHERE MOD({by}, 2) <> {i}")) {
                out.push(format!("{t}.{by} = {:?} on {n}", r[0]));
            }
        }
    }
    out
}

fn statements() -> usize {
    std::env::var("TETHER_SHARDED_DIFF_STATEMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

#[test]
fn a_managed_sharded_keyspace_gives_what_one_mariadb_with_innodb_fks_gives() {
    let cluster = spider::cluster();
    let sharded = cluster.create_db();
    sharded_schema(&sharded);
    let native = TestDb::create(TestEngine::Mysql);
    native.exec(&native_schema());
    let gw = start_json(&vschema(&sharded.head_url()), "");
    if std::env::var("TETHER_SHARDED_GENERAL_LOG").is_ok() {
        sharded.exec_head("SET GLOBAL general_log_file = '/tmp/exp/head.log'; SET GLOBAL general_log = 1");
    }
    let seed: u64 = std::env::var("TETHER_SHARDED_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let count = statements();
    // Tables compared every `TETHER_SHARDED_DIFF_DUMP_EVERY` statements (default 250).
    let dump_every: usize = std::env::var("TETHER_SHARDED_DIFF_DUMP_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    gw.block_on(async {
        let mut n = Conn::from_url(native.url.as_str()).await.expect("native");
        let mut g = gw.connect("ks").await;
        let mut head = Conn::from_url(sharded.head_url().as_str()).await.expect("head");
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut codes: BTreeMap<u16, usize> = BTreeMap::new();
        for i in 0..count {
            let sql = statement(&mut rng);
            let code = assert_same_outcome(
                &mut n,
                &mut g,
                [&native.name, &sharded.name],
                &sql,
                &format!("seed {seed} #{i}"),
            )
            .await;
            *codes.entry(code).or_default() += 1;
            if i % dump_every == dump_every - 1 {
                assert_eq!(
                    dump(&mut n, NAMES).await,
                    dump(&mut head, NAMES).await,
                    "seed {seed} after #{i}"
                );
            }
        }
        eprintln!("sharded differential: seed {seed}, {count} statements, outcomes {codes:?}");
        assert_eq!(
            dump(&mut n, NAMES).await,
            dump(&mut head, NAMES).await,
            "seed {seed}: tables"
        );
        assert!(
            codes.get(&0).copied().unwrap_or(0) > count / 4,
            "too few successes: {codes:?}"
        );
        for code in [1451, 1452] {
            assert!(codes.contains_key(&code), "no {code} in the stream: {codes:?}");
        }
    });
    assert_eq!(orphans(&sharded), Vec::<String>::new(), "orphans on the nodes");
    assert_eq!(misplaced(&sharded), Vec::<String>::new(), "rows on the wrong node");
}

pub(crate) async fn code_of(conn: &mut Conn, sql: &str) -> (u16, String) {
    match conn.query_drop(sql).await {
        Ok(()) => (0, String::new()),
        Err(mysql_async::Error::Server(e)) => (e.code, e.message),
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// What the managed sharded mode is built around (docs/sharding.md, "What the head
/// does not pass on"): the head keeps `foreign_key_checks` to itself (a node's FK
/// acts under a head session that turned checks off), has no savepoints, and
/// answers 0 rows affected for a DELETE it pushes down to a partitioned table.
#[test]
fn the_head_keeps_fk_checks_and_savepoints_to_itself_and_miscounts_deletes() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    sharded_schema(&db);
    db.exec_head("INSERT INTO customer (id) VALUES (1), (2); INSERT INTO orders (customer_id, id) VALUES (1, 1)");
    tether_testkit::block_on(async {
        let mut h = Conn::from_url(db.head_url().as_str()).await.expect("head");
        h.query_drop("SET foreign_key_checks = 0").await.expect("set");
        // node1's InnoDB FK refuses an orphan, and cascades a delete, as if checks were on.
        let (code, message) = code_of(&mut h, "INSERT INTO orders (customer_id, id) VALUES (4, 1)").await;
        assert_eq!(code, 1452, "{message}");
        assert!(message.contains("CONSTRAINT `orders_customer_fk`"), "{message}");
        h.query_drop("DELETE FROM customer WHERE id = 1").await.expect("delete");
        // ... and the head said 0 rows affected for it.
        assert_eq!(h.affected_rows(), 0);
        h.query_drop("SET foreign_key_checks = 1").await.expect("set");
        let mut node2 = Conn::from_url(db.node_url("node2").as_str()).await.expect("node2");
        let left: Vec<i64> = node2.query("SELECT COUNT(*) FROM orders").await.expect("count");
        assert_eq!(left, [0]);
        let ids: Vec<i64> = h.query("SELECT id FROM customer").await.expect("ids");
        assert_eq!(ids, [2]);
        // UPDATE counts are right.
        h.query_drop("UPDATE customer SET v = 1 WHERE id = 2")
            .await
            .expect("update");
        assert_eq!(h.affected_rows(), 1);
        // A savepoint once a Spider table is in the transaction.
        h.query_drop("BEGIN").await.expect("begin");
        h.query_drop("INSERT INTO customer (id) VALUES (3)")
            .await
            .expect("insert");
        assert_eq!(code_of(&mut h, "SAVEPOINT s").await.0, 1178);
        h.query_drop("ROLLBACK").await.expect("rollback");
    });
}

/// Statements only InnoDB could check, refused with 1105 naming the form and the
/// keyspace, the tables untouched; the same keyspace runs what it can plan (the
/// INSERT / REPLACE forms run as the rows they write: sharded_forms.rs).
#[test]
fn forms_only_innodb_could_check_are_refused() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    sharded_schema(&db);
    db.exec_head(
        "INSERT INTO customer (id) VALUES (1), (2); INSERT INTO item (id) VALUES (1), (2);
         INSERT INTO orders (customer_id, id, item_id) VALUES (1, 1, 1)",
    );
    let gw = start_json(&vschema(&db.head_url()), "");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let before = dump(&mut g, NAMES).await;
        for (sql, form) in [
            (
                "DELETE customer FROM customer JOIN orders ON orders.customer_id = customer.id",
                "multi-table",
            ),
            (
                "UPDATE customer JOIN orders ON orders.customer_id = customer.id SET customer.id = 7",
                "multi-table",
            ),
            (
                "INSERT IGNORE INTO orders (customer_id, id, item_id) VALUES (1, 2, 9)",
                "IGNORE",
            ),
            ("UPDATE orders SET item_id = FLOOR(RAND() * 3)", "volatile"),
            (
                "INSERT INTO orders (customer_id, id, item_id) SELECT id, 1, 2 FROM customer \
                 ON DUPLICATE KEY UPDATE item_id = 2",
                "INSERT ... SELECT",
            ),
        ] {
            let (code, message) = code_of(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(
                message.contains("keyspace `ks` is sharded and managed") && message.contains(form),
                "{sql}: {message}"
            );
        }
        // UPDATE IGNORE with FK work: refused by the planner, sharded or not (r13).
        let (code, message) = code_of(&mut g, "UPDATE IGNORE orders SET item_id = 9").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("UPDATE IGNORE or DELETE IGNORE with foreign-key work"),
            "{message}"
        );
        // (VALUES naming the row's columns run now: sharded_forms, finding 1's test.)
        assert_eq!(dump(&mut g, NAMES).await, before);
        // INSERT ... SET is planned as its VALUES spelling: parents checked.
        let (code, message) = code_of(&mut g, "INSERT INTO orders SET customer_id = 1, id = 3, item_id = 9").await;
        assert_eq!(code, 1452, "{message}");
        assert!(
            message.contains("FOREIGN KEY (`item_id`) REFERENCES `item`"),
            "{message}"
        );
        assert_eq!(
            code_of(&mut g, "INSERT INTO orders SET customer_id = 1, id = 3, item_id = 2")
                .await
                .0,
            0
        );
        assert_eq!(g.affected_rows(), 1);
        // What the gateway plans runs: a cross-shard SET NULL and a co-located cascade.
        assert_eq!(code_of(&mut g, "DELETE FROM item WHERE id = 1").await.0, 0);
        assert_eq!(g.affected_rows(), 1);
        assert_eq!(code_of(&mut g, "DELETE FROM customer WHERE id = 1").await.0, 0);
        assert_eq!(g.affected_rows(), 1);
        assert_eq!(dump(&mut g, &["orders"]).await[0].1, Vec::<Vec<String>>::new());
    });
}

/// `customer (id)` sharded by HASH (id), and `orders` (head and node columns)
/// sharded by HASH (`by`), over both nodes.
fn customers_and_orders(db: &ShardedDb, head: &str, node: &str, by: &str) {
    let hash = |c: &str| Partitioning::Hash(c.into());
    db.sharded_table(
        "customer",
        "id INT PRIMARY KEY",
        "id INT PRIMARY KEY",
        &hash("id"),
        &spider::NODES,
    );
    db.sharded_table("orders", head, node, &hash(by), &spider::NODES);
}

/// A node FK whose action the node's InnoDB would run on its own (SET NULL on a
/// partitioning column) makes the managed keyspace refuse to plan, naming it.
#[test]
fn node_fks_that_would_act_on_their_own_are_refused() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    customers_and_orders(
        &db,
        "customer_id INT NULL, id INT NOT NULL, PRIMARY KEY (id)",
        "customer_id INT NULL, id INT NOT NULL, PRIMARY KEY (id), CONSTRAINT orders_customer_fk \
         FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE SET NULL",
        "id",
    );
    let gw = start_json(
        &format!(
            r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{}"}}}}"#,
            db.head_url()
        ),
        "",
    );
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let (code, message) = code_of(&mut g, "DELETE FROM customer WHERE id = 1").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("foreign key `orders_customer_fk` of `orders` on the data nodes has ON DELETE SET NULL")
                && message.contains("declare it in the VSchema"),
            "{message}"
        );
    });
}

/// Two gateway clients, each running its statement of round k (1..=n) at the same
/// moment as the other's: their error codes (0: success), round by round.
fn race(
    gw: &crate::support::Gw,
    n: i64,
    a: impl Fn(i64) -> String + Send + 'static,
    b: impl Fn(i64) -> String + Send + 'static,
) -> (Vec<u16>, Vec<u16>) {
    gw.block_on(async {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let side = |statement: Box<dyn Fn(i64) -> String + Send>, barrier: std::sync::Arc<tokio::sync::Barrier>| {
            let connecting = gw.connect("ks");
            async move {
                let mut conn = connecting.await;
                let mut codes = Vec::new();
                for k in 1..=n {
                    barrier.wait().await;
                    codes.push(code_of(&mut conn, &statement(k)).await.0);
                }
                codes
            }
        };
        tokio::join!(side(Box::new(a), barrier.clone()), side(Box::new(b), barrier))
    })
}

/// Two clients racing through the gateway: one deletes an item (node of its id)
/// while the other inserts a child of it on the other node (`review`, RESTRICT;
/// `orders`, SET NULL). The gateway's locking reads meet on the item's node: either
/// the delete wins and the insert gets 1452, or the insert wins and the delete
/// gets 1451 (review) or sets the new row's FK NULL (orders). Never an orphan.
#[test]
fn a_child_inserted_while_its_parent_is_deleted_never_becomes_an_orphan() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    sharded_schema(&db);
    const N: i64 = 60;
    // Items 1..=N; customers 0 and 1 (one per node) for the orders.
    let items: Vec<String> = (1..=N).map(|k| format!("({k})")).collect();
    db.exec_head(&format!(
        "INSERT INTO item (id) VALUES {}; INSERT INTO customer (id) VALUES (100), (101)",
        items.join(", ")
    ));
    let gw = start_json(&vschema(&db.head_url()), "");
    let (deletes, inserts) = race(
        &gw,
        N,
        |k| format!("DELETE FROM item WHERE id = {k}"),
        // The child on the other node than its parent (HASH over 2 nodes).
        |k| match k % 2 {
            0 => format!("INSERT INTO review VALUES ({}, {k})", 2 * k + 1),
            _ => format!("INSERT INTO orders (customer_id, id, item_id) VALUES (100, {k}, {k})"),
        },
    );
    for k in 1..=N as usize {
        let (d, i) = (deletes[k - 1], inserts[k - 1]);
        let expected: &[(u16, u16)] = match k % 2 {
            // review: exactly one of them succeeds.
            0 => &[(0, 1452), (1451, 0)],
            // orders: the delete always succeeds (SET NULL), the insert may come first.
            _ => &[(0, 1452), (0, 0)],
        };
        assert!(expected.contains(&(d, i)), "item {k}: delete {d}, insert {i}");
    }
    assert_eq!(orphans(&db), Vec::<String>::new(), "orphans on the nodes");
    assert_eq!(misplaced(&db), Vec::<String>::new(), "rows on the wrong node");
    eprintln!("race: deletes {deletes:?}\nrace: inserts {inserts:?}");
}

/// A REPLACE into a table whose head key is wider than its nodes' (the partitioning
/// column added, as MariaDB wants it) is refused: the nodes decide what clashes.
#[test]
fn a_replace_into_a_table_whose_head_keys_differ_from_the_nodes_is_refused() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    customers_and_orders(
        &db,
        "id INT NOT NULL, customer_id INT NOT NULL, PRIMARY KEY (id, customer_id)",
        "id INT NOT NULL PRIMARY KEY, customer_id INT NOT NULL",
        "customer_id",
    );
    db.exec_head("INSERT INTO customer VALUES (1), (2); INSERT INTO orders VALUES (1, 1)");
    let gw = start_json(
        &format!(
            r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{}"}},
                "foreignKeys": [{{"table": "orders", "columns": ["customer_id"], "referenced_table": "customer",
                  "on_delete": "CASCADE"}}]}}"#,
            db.head_url()
        ),
        "",
    );
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let (code, message) = code_of(&mut g, "REPLACE INTO customer VALUES (1)").await;
        assert_eq!((code, g.affected_rows()), (0, 2), "{message}");
        let (code, message) = code_of(&mut g, "REPLACE INTO orders VALUES (1, 2)").await;
        assert_eq!(code, 1105, "{message}");
        assert!(message.contains("unique keys on the head differ"), "{message}");
    });
}

/// Inside a client's transaction a planned write runs without a savepoint (Spider
/// has none): what succeeds commits or rolls back with the transaction, across
/// nodes; a planned write that fails takes the transaction with it, and says so
/// (the COMMIT that follows fails: see `sharded_review`).
#[test]
fn planned_writes_inside_a_client_transaction_run_without_savepoints() {
    let (_db, gw) = managed_keyspace("INSERT INTO customer (id) VALUES (1), (2); INSERT INTO item (id) VALUES (1)");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let ids = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| r[0].clone()).collect::<Vec<_>>();
        // Committed: a cascade across nodes (customer 2 on node1, its order's item
        // on node2) and a new row.
        g.query_drop("BEGIN").await.expect("begin");
        g.query_drop("INSERT INTO orders (customer_id, id, item_id) VALUES (2, 1, 1)")
            .await
            .expect("insert");
        g.query_drop("DELETE FROM item WHERE id = 1").await.expect("delete");
        g.query_drop("COMMIT").await.expect("commit");
        assert_eq!(dump(&mut g, &["orders"]).await[0].1, [["2", "1", "NULL", "0"]]);
        // Rolled back by the client.
        g.query_drop("BEGIN").await.expect("begin");
        g.query_drop("INSERT INTO customer (id, ref_id) VALUES (3, 2)")
            .await
            .expect("insert");
        g.query_drop("ROLLBACK").await.expect("rollback");
        assert_eq!(ids(dump(&mut g, &["customer"]).await.remove(0).1), ["1", "2"]);
        // A planned write refused by the gateway's checks (reads only): 1452, and
        // the transaction goes on, as natively.
        g.query_drop("BEGIN").await.expect("begin");
        g.query_drop("INSERT INTO customer (id) VALUES (4)")
            .await
            .expect("insert");
        let (code, message) = code_of(&mut g, "INSERT INTO customer (id, ref_id) VALUES (5, 9)").await;
        assert_eq!(code, 1452, "{message}");
        assert!(message.ends_with("ON DELETE SET NULL ON UPDATE CASCADE)"), "{message}");
        g.query_drop("COMMIT").await.expect("commit");
        assert_eq!(ids(dump(&mut g, &["customer"]).await.remove(0).1), ["1", "2", "4"]);
        // One that fails after it wrote (item 5 re-keyed onto item 6: 1062 from the
        // batch, its orders' cascade planned) takes the transaction with it.
        g.query_drop("INSERT INTO item (id) VALUES (5), (6)")
            .await
            .expect("items");
        g.query_drop("INSERT INTO orders (customer_id, id, item_id) VALUES (4, 1, 5)")
            .await
            .expect("order");
        g.query_drop("BEGIN").await.expect("begin");
        g.query_drop("INSERT INTO customer (id) VALUES (8)")
            .await
            .expect("insert");
        let (code, message) = code_of(&mut g, "UPDATE item SET id = 6 WHERE id = 5").await;
        assert_eq!(code, 1062, "{message}");
        assert!(
            message.contains("(tether gateway: the transaction was rolled back: a sharded keyspace has no savepoints"),
            "{message}"
        );
        // The client's COMMIT then fails (nothing of the transaction is left).
        assert_eq!(code_of(&mut g, "COMMIT").await.0, 1105);
        assert_eq!(ids(dump(&mut g, &["customer"]).await.remove(0).1), ["1", "2", "4"]);
    });
}

/// Cascades crossing in opposite directions across nodes (a `dept` key change
/// cascading to its `emp` on the other node, while that `emp`'s key change sets the
/// `dept`'s head NULL): neither node sees a cycle, so one waits out the nodes'
/// lock timeout (2 s here) and gets 1205, its transaction rolled back whole; never
/// a wait without end, never an orphan.
#[test]
fn cascades_crossing_between_nodes_end_by_the_lock_timeout_without_orphans() {
    let cluster = spider::Cluster::start("spider_crossing");
    for n in &cluster.nodes {
        n.exec("", "SET GLOBAL innodb_lock_wait_timeout = 2");
    }
    let db = cluster.create_db();
    sharded_schema(&db);
    const N: i64 = 8;
    // dept 2k (node1) headed by emp 2k+1 (node2), which works in it.
    let depts: Vec<String> = (1..=N).map(|k| format!("({}, NULL, 0)", 2 * k)).collect();
    let emps: Vec<String> = (1..=N).map(|k| format!("({}, {}, 0)", 2 * k + 1, 2 * k)).collect();
    db.exec_head(&format!(
        "INSERT INTO dept VALUES {}; INSERT INTO emp VALUES {};",
        depts.join(", "),
        emps.join(", ")
    ));
    for k in 1..=N {
        db.exec_head(&format!("UPDATE dept SET head_id = {} WHERE id = {}", 2 * k + 1, 2 * k));
    }
    let gw = start_json(&vschema(&db.head_url()), "");
    let (a_codes, b_codes) = race(
        &gw,
        N,
        |k| format!("UPDATE dept SET id = id + 1000 WHERE id = {}", 2 * k),
        |k| format!("UPDATE emp SET id = id + 1000 WHERE id = {}", 2 * k + 1),
    );
    eprintln!("crossing: dept updates {a_codes:?}, emp updates {b_codes:?}");
    for (a, b) in a_codes.iter().zip(&b_codes) {
        assert!(
            [0, 1205, 1213].contains(a) && [0, 1205, 1213].contains(b),
            "{a_codes:?} {b_codes:?}"
        );
    }
    assert_eq!(orphans(&db), Vec::<String>::new(), "orphans on the nodes");
    assert_eq!(misplaced(&db), Vec::<String>::new(), "rows on the wrong node");
}

/// Prepared statements take the same road: planned with their parameters inlined,
/// refused or counted as in text.
#[test]
fn prepared_statements_are_checked_and_counted_like_text() {
    let (_db, gw) = managed_keyspace(
        "INSERT INTO customer (id) VALUES (1), (2); INSERT INTO orders (customer_id, id) VALUES (1, 1)",
    );
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let insert = "INSERT INTO orders (customer_id, id) VALUES (?, ?)";
        match g.exec_drop(insert, (9, 1)).await {
            Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1452, "{}", e.message),
            other => panic!("an orphan through a prepared INSERT: {other:?}"),
        }
        g.exec_drop(insert, (2, 1)).await.expect("a child of customer 2");
        // orders has no children: its DELETE is counted by the gateway.
        g.exec_drop("DELETE FROM orders WHERE customer_id = ?", (1,))
            .await
            .expect("delete");
        assert_eq!(g.affected_rows(), 1);
        // customer has children: planned, the cascade (node FK) and the count.
        g.exec_drop("DELETE FROM customer WHERE id = ?", (2,))
            .await
            .expect("delete");
        assert_eq!(g.affected_rows(), 1);
        assert_eq!(
            dump(&mut g, &["customer", "orders"]).await,
            [
                (
                    "customer".to_string(),
                    vec![vec!["1".to_string(), "NULL".to_string(), "0".to_string()]]
                ),
                ("orders".to_string(), Vec::new()),
            ]
        );
    });
}
