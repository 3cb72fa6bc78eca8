//! `tether schema` and `tether sync` on a sharded keyspace (a MariaDB Spider head
//! over two data nodes, `tether_testkit::spider`): the layout and FK scopes as the
//! gateway reads them, and a copy into the head and back out with every FK intact,
//! every row on the node its partition names.

use serde_json::Value;
use tether_testkit::spider::{self, Partitioning, ShardedDb};
use tether_testkit::{TestDb, TestEngine as Engine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

/// The FKs the head cannot hold and the nodes do not have (cross-shard ones), in
/// sync's virtual-FK shape: what `--virtual-fks` and a job's `[[virtual_foreign_keys]]`
/// take.
const DECLARED: &str = r#"
[[virtual_foreign_keys]]
name = "line_order_fk"
table = "order_line"
columns = ["order_id"]
referenced_table = "orders"

[[virtual_foreign_keys]]
name = "note_customer_fk"
table = "note"
columns = ["customer_id"]
referenced_table = "customer"
"#;

/// The shop, sharded:
/// - `country` copied to both nodes;
/// - `customer` by HASH (id), with a node FK to `country` (shard-scoped: a copy on
///   every node);
/// - `orders` by HASH (customer_id), with a node FK to `customer` (shard-scoped: the
///   same function over the FK's column);
/// - `order_line` by HASH (id): its FK to `orders` is cross-shard (declared);
/// - `note` plain on the head: its FK to `customer` is cross-shard (declared).
fn shop(db: &ShardedDb) {
    db.copied_table(
        "country",
        "code CHAR(2) PRIMARY KEY, name VARCHAR(20)",
        "code CHAR(2) PRIMARY KEY, name VARCHAR(20)",
    );
    db.sharded_table(
        "customer",
        "id INT PRIMARY KEY, name VARCHAR(40), country CHAR(2)",
        "id INT PRIMARY KEY, name VARCHAR(40), country CHAR(2), \
         CONSTRAINT customer_country_fk FOREIGN KEY (country) REFERENCES country (code)",
        &Partitioning::Hash("id".into()),
        &spider::NODES,
    );
    db.sharded_table(
        "orders",
        "id INT, customer_id INT, total INT, PRIMARY KEY (id, customer_id)",
        "id INT PRIMARY KEY, customer_id INT NOT NULL, total INT, \
         CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE",
        &Partitioning::Hash("customer_id".into()),
        &spider::NODES,
    );
    db.sharded_table(
        "order_line",
        "id INT PRIMARY KEY, order_id INT, qty INT",
        "id INT PRIMARY KEY, order_id INT NOT NULL, qty INT",
        &Partitioning::Hash("id".into()),
        &spider::NODES,
    );
    db.plain_table("note", "id INT PRIMARY KEY, customer_id INT NOT NULL, body VARCHAR(40)");
}

fn write_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.display().to_string()
}

#[test]
fn tether_schema_on_a_spider_head_shows_the_layout_and_every_fk_scope() {
    let c = spider::cluster();
    let db = c.create_db();
    shop(&db);
    let dir = tether_testkit::ScratchDir::new("cli_sharded_schema");
    let vfks = write_file(dir.path(), "vfks.toml", DECLARED);
    let head = db.head_url();

    let (code, out, err) = tether(&["schema", &head, "--virtual-fks", &vfks]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.replace(&db.name, "DB"),
        "sharded keyspace on head database `DB`
tables:
  country     copied to node1, node2
  customer    sharded by HASH (id): p0 on node1; p1 on node2;
  note        plain (on the head)
  orders      sharded by HASH (customer_id): p0 on node1; p1 on node2;
  order_line  sharded by HASH (id): p0 on node1; p1 on node2;
foreign keys:
  customer_country_fk: customer (country) -> country (code) [database]
    shard-scoped: `country` has a copy on every node of `customer`
  note_customer_fk: note (customer_id) -> customer (id) [vschema]
    cross-shard: `note` is on the head, `customer` on the data nodes
  line_order_fk: order_line (order_id) -> orders (id) [vschema]
    cross-shard: `order_line` is sharded by `id`, which is not a column of the foreign key
  orders_customer_fk: orders (customer_id) -> customer (id) [database]
    shard-scoped: both sharded by HASH (_) over the FK's columns, partitions on the same nodes
"
    );

    let (code, out, err) = tether(&["schema", &head, "--virtual-fks", &vfks, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["sharded"], true);
    assert_eq!(v["database"], db.name.as_str());
    let nodes: Vec<(&str, &str, u64)> = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["name"].as_str().expect("name"),
                n["host"].as_str().expect("host"),
                n["port"].as_u64().expect("port"),
            )
        })
        .collect();
    assert_eq!(
        nodes,
        [
            ("node1", "127.0.0.2", u64::from(c.node("node1").port)),
            ("node2", "127.0.0.3", u64::from(c.node("node2").port)),
        ]
    );
    assert!(!out.contains("password") && !out.contains("root"), "no logins: {out}");
    let tables: Vec<(&str, &str)> = v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("name"),
                t["placement"]["kind"].as_str().expect("kind"),
            )
        })
        .collect();
    assert_eq!(
        tables,
        [
            ("country", "copied"),
            ("customer", "sharded"),
            ("note", "plain"),
            ("orders", "sharded"),
            ("order_line", "sharded"),
        ]
    );
    let orders = &v["tables"][3];
    assert_eq!(orders["placement"]["method"], "HASH");
    assert_eq!(orders["placement"]["columns"], serde_json::json!(["customer_id"]));
    assert_eq!(orders["nodes"], serde_json::json!(["node1", "node2"]));
    let p1 = &orders["placement"]["partitions"][1];
    assert_eq!(p1["name"], "p1");
    assert_eq!(p1["link"]["servers"], serde_json::json!(["node2"]));
    assert_eq!(p1["link"]["table"], "orders");
    let fks: Vec<(&str, &str, &str)> = v["foreign_keys"]
        .as_array()
        .expect("fks")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().expect("name"),
                f["scope"].as_str().expect("scope"),
                f["source"].as_str().expect("source"),
            )
        })
        .collect();
    assert_eq!(
        fks,
        [
            ("customer_country_fk", "shard-scoped", "database"),
            ("note_customer_fk", "cross-shard", "vschema"),
            ("line_order_fk", "cross-shard", "vschema"),
            ("orders_customer_fk", "shard-scoped", "database"),
        ]
    );

    // Dot draws the keyspace's FK graph: the nodes' FKs and the declared ones.
    let (code, out, err) = tether(&["schema", &head, "--virtual-fks", &vfks, "--format", "dot"]);
    assert_eq!(code, 0, "{err}");
    for edge in [
        "\"orders\" -> \"customer\"",
        "\"order_line\" -> \"orders\"",
        "\"note\" -> \"customer\"",
    ] {
        assert!(out.contains(edge), "{edge} in {out}");
    }

    // A MariaDB without Spider tables is shown as before.
    let plain = TestDb::create(Engine::Mysql);
    plain.exec("CREATE TABLE t (id INT PRIMARY KEY)");
    let (code, out, err) = tether(&["schema", &plain.url]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("sharded keyspace"), "{out}");
}
