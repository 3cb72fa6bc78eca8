//! Binlog completeness on a sharded keyspace (issue 16): after a managed workload
//! with cascades and SET NULL crossing between nodes, each data node's binlog (ROW),
//! replayed into a replica without FKs (a private MariaDB, its own tmpdir), gives
//! exactly that node's tables: every child change, on whatever node it happened, is a
//! statement the gateway issued, not a node's InnoDB cascade.
//!
//! The cluster is this test's own (`Cluster::start`): the shared one's binlogs carry
//! other tests' databases. The nodes hold no FKs; every FK is declared in the VSchema
//! (a node's ON DELETE CASCADE would act by itself and be missing from its binlog).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::spider::{self, Cluster, Instance, Partitioning, NODES};

use crate::differential::Rng;
use crate::support::{binlog_files, binlog_server, decode_binlog, dump, replay_binlog, row_events, start_json};

/// (table, columns on head and nodes, sharded by).
const TABLES: &[(&str, &str, &str)] = &[
    (
        "customer",
        "id INT PRIMARY KEY, ref_id INT NULL, v INT NOT NULL DEFAULT 0",
        "id",
    ),
    ("item", "id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0", "id"),
    (
        "orders",
        "customer_id INT NOT NULL, id INT NOT NULL, item_id INT NULL, PRIMARY KEY (customer_id, id)",
        "customer_id",
    ),
    ("review", "id INT PRIMARY KEY, item_id INT NOT NULL", "id"),
];

const NAMES: &[&str] = &["customer", "item", "orders", "review"];

/// Every FK, declared in the VSchema: the co-located `orders_customer_fk` and the
/// cross-shard rest (name, table, column, parent, ON DELETE, ON UPDATE).
const DECLARED: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "orders_customer_fk",
        "orders",
        "customer_id",
        "customer",
        "CASCADE",
        "CASCADE",
    ),
    (
        "customer_ref_fk",
        "customer",
        "ref_id",
        "customer",
        "SET NULL",
        "CASCADE",
    ),
    ("orders_item_fk", "orders", "item_id", "item", "SET NULL", "CASCADE"),
    ("review_item_fk", "review", "item_id", "item", "CASCADE", "CASCADE"),
];

fn vschema(head_url: &str) -> String {
    spider::managed_keyspace("ks", head_url, DECLARED)
}

/// Rows to start from, then a seeded stream of cascading DELETEs, key UPDATEs and
/// FK changes (some refused with 1451/1452: they change nothing).
fn workload(seed: u64, count: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 1..=20 {
        out.push(format!(
            "INSERT INTO customer (id, ref_id) VALUES ({i}, {})",
            if i > 1 { (i - 1).to_string() } else { "NULL".into() }
        ));
        out.push(format!("INSERT INTO item (id) VALUES ({i})"));
    }
    for i in 1..=60 {
        out.push(format!(
            "INSERT INTO orders VALUES ({}, {i}, {})",
            1 + (i * 7) % 20,
            1 + (i * 11) % 20
        ));
        out.push(format!("INSERT INTO review VALUES ({i}, {})", 1 + (i * 3) % 20));
    }
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let key = |rng: &mut Rng| 1 + rng.below(24);
    for _ in 0..count {
        let k = key(&mut rng);
        out.push(match rng.below(9) {
            0 => format!("DELETE FROM customer WHERE id = {k}"),
            1 => format!("DELETE FROM item WHERE id = {k}"),
            2 => format!("UPDATE customer SET id = {} WHERE id = {k}", 30 + rng.below(40)),
            3 => format!("UPDATE item SET id = {} WHERE id = {k}", 30 + rng.below(40)),
            4 => format!("UPDATE orders SET item_id = {} WHERE customer_id = {k}", key(&mut rng)),
            5 => format!("INSERT INTO customer (id, ref_id) VALUES ({k}, {})", key(&mut rng)),
            6 => format!("INSERT INTO item (id) VALUES ({k})"),
            7 => format!(
                "INSERT INTO orders VALUES ({k}, {}, {})",
                100 + rng.below(50),
                key(&mut rng)
            ),
            _ => format!("INSERT INTO review VALUES ({}, {k})", 100 + rng.below(100)),
        });
    }
    out
}

/// The binlog file and position of a node now.
fn position(node: &Instance) -> (String, u64) {
    let r = node.query("", "SHOW MASTER STATUS");
    let file = r[0][0].clone().expect("binlog file");
    let pos = r[0][1].as_deref().expect("position").parse().expect("number");
    (file, pos)
}

/// The node's binlog from `from` on, decoded with `db`'s events renamed to `replica`.
fn decoded(node: &Instance, from: &(String, u64), db: &str, replica: &str) -> String {
    let files = binlog_files(&node.dir, Some(&from.0));
    let args = [
        "--verbose".to_string(),
        format!("--start-position={}", from.1),
        format!("--rewrite-db={db}->{replica}"),
    ];
    String::from_utf8_lossy(&decode_binlog(&args, &files)).into_owned()
}

type Dump = Vec<(String, Vec<Vec<String>>)>;

/// Per data node: (the node's tables, the replica's after its binlog from before the
/// workload, the child row events of cascades in it). `node_fk`: the nodes carry
/// `orders_customer_fk` ON DELETE CASCADE themselves (and the VSchema declares it
/// with the same actions).
fn workload_and_replay(cluster: &Cluster, replica_port: u16, node_fk: bool) -> Vec<(Dump, Dump, usize)> {
    let db = cluster.create_db();
    for (name, columns, by) in TABLES {
        let node = if node_fk && *name == "orders" {
            format!(
                "{columns}, CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) \
                 ON DELETE CASCADE ON UPDATE RESTRICT"
            )
        } else {
            columns.to_string()
        };
        db.sharded_table(name, columns, &node, &Partitioning::Hash((*by).into()), &NODES);
    }
    let admin = format!("mysql://root@127.0.0.1:{replica_port}/");
    let replicas: Vec<String> = NODES.iter().map(|n| format!("replica_{}_{n}", db.name)).collect();
    tether_testkit::block_on(async {
        let mut c = Conn::from_url(admin.as_str()).await.expect("replica");
        for r in &replicas {
            c.query_drop(format!("CREATE DATABASE {r}")).await.expect("create");
            for (name, columns, _) in TABLES {
                c.query_drop(format!("CREATE TABLE {r}.{name} ({columns}) ENGINE=InnoDB"))
                    .await
                    .expect("replica table");
            }
        }
        let _ = c.disconnect().await;
    });
    let from: Vec<(String, u64)> = cluster.nodes.iter().map(position).collect();

    let mut keyspace = vschema(&db.head_url());
    if node_fk {
        keyspace = keyspace.replace(
            r#""on_delete": "CASCADE", "on_update": "CASCADE"}, {"name": "customer_ref_fk""#,
            r#""on_delete": "CASCADE", "on_update": "RESTRICT"}, {"name": "customer_ref_fk""#,
        );
    }
    let gw = start_json(&keyspace, "");
    let statements = workload(31, 400);
    let ok = gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let mut ok = 0;
        for sql in &statements {
            match g.query_drop(sql.as_str()).await {
                Ok(()) => ok += 1,
                Err(mysql_async::Error::Server(e)) if [1062, 1451, 1452].contains(&e.code) => {}
                Err(e) => panic!("{sql}: {e}"),
            }
        }
        ok
    });
    drop(gw);
    assert!(ok > statements.len() / 2, "{ok} of {} statements ran", statements.len());

    let mut out = Vec::new();
    for ((node, from), replica_db) in cluster.nodes.iter().zip(&from).zip(&replicas) {
        let text = decoded(node, from, &db.name, replica_db);
        // Children deleted and set NULL by the gateway's statements, on this node.
        let cascaded = row_events(&text, replica_db, "DELETE FROM", "review")
            + row_events(&text, replica_db, "DELETE FROM", "orders")
            + row_events(&text, replica_db, "UPDATE", "orders");
        replay_binlog(replica_port, replica_db, text.as_bytes(), false);
        let (on_node, on_replica) = tether_testkit::block_on(async {
            let mut n = Conn::from_url(node.url(&db.name).as_str()).await.expect("node");
            let mut r = Conn::from_url(format!("{admin}{replica_db}").as_str())
                .await
                .expect("replica");
            (dump(&mut n, NAMES).await, dump(&mut r, NAMES).await)
        });
        out.push((on_node, on_replica, cascaded));
    }
    out
}

#[test]
fn each_nodes_binlog_replayed_without_fks_equals_that_nodes_tables() {
    let replica = binlog_server().unwrap_or_else(|why| panic!("the private replica: {why}"));
    let cluster = Cluster::start("sharded_binlog");
    let mut cascaded = 0;
    for ((on_node, on_replica, n), node) in workload_and_replay(&cluster, replica.port, false)
        .into_iter()
        .zip(NODES)
    {
        let total: usize = on_node.iter().map(|(_, rows)| rows.len()).sum();
        assert!(total > 20, "{node} ends with rows ({total})");
        assert_eq!(on_replica, on_node, "{node}: replica against node");
        cascaded += n;
    }
    assert!(cascaded > 50, "child row events of the workload's cascades: {cascaded}");

    // The control: with the nodes' own ON DELETE CASCADE, InnoDB deletes the orders
    // before the gateway's child DELETE finds them, and no node binlog has those
    // deletions: the replicas keep orders the nodes no longer have.
    let replayed = workload_and_replay(&cluster, replica.port, true);
    let orders = |d: &Dump| d.iter().find(|(t, _)| t == "orders").map_or(0, |(_, r)| r.len());
    let kept: usize = replayed.iter().map(|(n, r, _)| orders(r) - orders(n)).sum();
    assert!(kept > 0, "orders the replicas keep: {kept}");
}
