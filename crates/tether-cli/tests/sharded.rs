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
referenced_columns = ["id"]

[[virtual_foreign_keys]]
name = "note_customer_fk"
table = "note"
columns = ["customer_id"]
referenced_table = "customer"
referenced_columns = ["id"]
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

/// Runs `tether sync` of `source` into the head of `db` (tables already there,
/// `create_tables = false`), `extra` added to the destination: (exit code, stdout, stderr).
fn sync_into_head(
    dir: &std::path::Path,
    name: &str,
    source: &TestDb,
    db: &ShardedDb,
    extra: &str,
) -> (i32, String, String) {
    let job = write_file(
        dir,
        name,
        &format!(
            "source = \"{}\"\nprivacy = \"off\"\n\n[[destinations]]\nurl = \"{}\"\ncreate_tables = false\n{extra}",
            source.url,
            db.head_url()
        ),
    );
    tether(&["sync", &job])
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

/// The shop in SQLite with its FKs declared: the source of the copy into the head.
const SOURCE: &str = "
CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT);
CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, country TEXT,
  CONSTRAINT customer_country_fk FOREIGN KEY (country) REFERENCES country (code));
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, total INTEGER,
  CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE);
CREATE TABLE order_line (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, qty INTEGER,
  CONSTRAINT line_order_fk FOREIGN KEY (order_id) REFERENCES orders (id));
CREATE TABLE note (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, body TEXT,
  CONSTRAINT note_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id));
";

/// 2 countries, 40 customers, 120 orders (customers 1..40, three each), 300 lines
/// (each on an order usually held by the other node), 20 notes.
fn source_rows() -> String {
    let mut s = String::from("INSERT INTO country VALUES ('de', 'Germany'), ('fr', 'France');\n");
    for i in 1..=40 {
        let country = if i % 3 == 0 { "fr" } else { "de" };
        s += &format!("INSERT INTO customer VALUES ({i}, 'customer {i}', '{country}');\n");
    }
    for i in 1..=120 {
        s += &format!("INSERT INTO orders VALUES ({i}, {}, {});\n", (i * 7) % 40 + 1, i * 10);
    }
    for i in 1..=300 {
        s += &format!(
            "INSERT INTO order_line VALUES ({i}, {}, {});\n",
            (i * 13) % 120 + 1,
            i % 5 + 1
        );
    }
    for i in 1..=20 {
        s += &format!("INSERT INTO note VALUES ({i}, {}, 'note {i}');\n", 2 * i - 1);
    }
    s
}

/// Every table's rows, ordered by key, as text.
const TABLES: [(&str, &str); 5] = [
    ("country", "SELECT code, name FROM country ORDER BY code"),
    ("customer", "SELECT id, name, country FROM customer ORDER BY id"),
    ("orders", "SELECT id, customer_id, total FROM orders ORDER BY id"),
    ("order_line", "SELECT id, order_id, qty FROM order_line ORDER BY id"),
    ("note", "SELECT id, customer_id, body FROM note ORDER BY id"),
];

/// The orphan count of each FK, as (FK, child, column, parent, parent column).
const FKS: [(&str, &str, &str, &str, &str); 4] = [
    ("customer_country_fk", "customer", "country", "country", "code"),
    ("orders_customer_fk", "orders", "customer_id", "customer", "id"),
    ("line_order_fk", "order_line", "order_id", "orders", "id"),
    ("note_customer_fk", "note", "customer_id", "customer", "id"),
];

fn orphans_sql(child: &str, column: &str, parent: &str, key: &str) -> String {
    format!(
        "SELECT COUNT(*) FROM {child} c WHERE c.{column} IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})"
    )
}

fn rows_of(query: impl Fn(&str) -> Vec<Vec<Option<String>>>) -> Vec<(&'static str, Vec<Vec<Option<String>>>)> {
    TABLES.iter().map(|(t, sql)| (*t, query(sql))).collect()
}

/// Zero orphans on every FK read through `query`, and every sharded row on the node
/// its partition names (HASH over 2 partitions: even values on node1, odd on node2),
/// read on the nodes directly; the copied table whole on each node.
fn assert_fk_intact_across_nodes(db: &ShardedDb, source: &[(&str, Vec<Vec<Option<String>>>)]) {
    for (fk, child, column, parent, key) in FKS {
        let n = db.query_head(&orphans_sql(child, column, parent, key));
        assert_eq!(n, [[Some("0".to_string())]], "orphans of {fk} through the head");
    }
    for (table, column) in [("customer", "id"), ("orders", "customer_id"), ("order_line", "id")] {
        for (node, parity) in [("node1", 0), ("node2", 1)] {
            let misplaced = db.query_node(
                node,
                &format!("SELECT COUNT(*) FROM {table} WHERE {column} % 2 <> {parity}"),
            );
            assert_eq!(
                misplaced,
                [[Some("0".to_string())]],
                "{table} rows on {node} of another partition"
            );
        }
        let total: i64 = spider::NODES
            .iter()
            .map(|n| {
                db.query_node(n, &format!("SELECT COUNT(*) FROM {table}"))[0][0]
                    .as_deref()
                    .expect("count")
                    .parse::<i64>()
                    .expect("number")
            })
            .sum();
        let expected = source.iter().find(|(t, _)| *t == table).expect("table").1.len();
        assert_eq!(total, expected as i64, "{table}: rows over both nodes");
    }
    for node in spider::NODES {
        let countries = db.query_node(node, "SELECT code, name FROM country ORDER BY code");
        assert_eq!(countries, source[0].1, "country copy on {node}");
        // The shard-scoped FKs hold on each node by itself.
        for (fk, child, column, parent, key) in &FKS[..2] {
            let n = db.query_node(node, &orphans_sql(child, column, parent, key));
            assert_eq!(n, [[Some("0".to_string())]], "orphans of {fk} on {node}");
        }
    }
}

#[test]
fn tether_sync_copies_into_a_sharded_keyspace_and_back_out_with_every_fk_intact() {
    let c = spider::cluster();
    let db = c.create_db();
    shop(&db);
    let source = TestDb::create(Engine::Sqlite);
    source.exec(&(SOURCE.to_string() + &source_rows()));
    let expected = rows_of(|sql| source.query(sql));
    let dir = tether_testkit::ScratchDir::new("cli_sharded_sync");

    // Into the head: the tables exist there (Spider) and on the nodes (InnoDB);
    // the head routes each row to its node.
    let (code, out, err) = sync_into_head(dir.path(), "into.toml", &source, &db, "");
    assert_eq!(code, 0, "sync into the head: {out}\n{err}");
    // Sync's own verification checks the source's FKs, which the head does not hold.
    assert!(
        out.contains(&format!(
            "{}: verified: 4 foreign keys, 0 orphans; every table has the source's rows",
            db.head_url()
        )),
        "{out}"
    );
    assert_eq!(rows_of(|sql| db.query_head(sql)), expected, "rows through the head");
    assert_fk_intact_across_nodes(&db, &expected);

    // Again with truncate: the head's DELETE reports 0 rows, the rows go all the same.
    let (code, out, err) = sync_into_head(dir.path(), "again.toml", &source, &db, "truncate = true\n");
    assert_eq!(code, 0, "sync into the head again: {out}\n{err}");
    assert_eq!(
        rows_of(|sql| db.query_head(sql)),
        expected,
        "rows through the head after truncate"
    );
    assert_fk_intact_across_nodes(&db, &expected);

    // Out of the head: into SQLite and into one MariaDB, the FKs the head cannot hold
    // declared for the job (the nodes' FKs are read from them by nobody: the head
    // shows Spider tables without FKs).
    for engine in [Engine::Sqlite, Engine::Mysql] {
        let dest = TestDb::create(engine);
        let out_job = write_file(
            dir.path(),
            &format!("out_{engine:?}.toml"),
            &format!(
                "source = \"{}\"\nprivacy = \"off\"\n\n[[destinations]]\nurl = \"{}\"\n\n{DECLARED}\n\
                 [[virtual_foreign_keys]]\nname = \"orders_customer_fk\"\ntable = \"orders\"\ncolumns = [\"customer_id\"]\nreferenced_table = \"customer\"\n\n\
                 [[virtual_foreign_keys]]\nname = \"customer_country_fk\"\ntable = \"customer\"\ncolumns = [\"country\"]\nreferenced_table = \"country\"\n",
                db.head_url(),
                dest.url
            ),
        );
        let (code, out, err) = tether(&["sync", &out_job]);
        assert_eq!(code, 0, "sync out to {engine:?}: {out}\n{err}");
        assert_eq!(rows_of(|sql| dest.query(sql)), expected, "rows in {engine:?}");
        if engine == Engine::Mysql {
            // Tables of their own, not Spider links back to the nodes.
            let engines =
                dest.query("SELECT DISTINCT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()");
            assert_eq!(engines, [[Some("InnoDB".to_string())]], "the copy's tables");
        }
        for (fk, child, column, parent, key) in FKS {
            let n = dest.query(&orphans_sql(child, column, parent, key));
            assert_eq!(n, [[Some("0".to_string())]], "orphans of {fk} in {engine:?}");
        }
    }
}

#[test]
fn tether_sync_into_a_head_finds_an_orphan_the_head_cannot_refuse() {
    let c = spider::cluster();
    let db = c.create_db();
    shop(&db);
    // With its checks off, this source has a line of order 999 (none).
    let source = TestDb::create(Engine::Sqlite);
    source.exec(
        &(SOURCE.to_string()
            + &source_rows()
            + "PRAGMA foreign_keys = OFF; INSERT INTO order_line VALUES (301, 999, 1);"),
    );
    let dir = tether_testkit::ScratchDir::new("cli_sharded_orphan");
    let (code, out, err) = sync_into_head(dir.path(), "into.toml", &source, &db, "");
    assert_ne!(code, 0, "an orphan across shards fails the sync: {out}\n{err}");
    assert!(
        out.contains("1 orphan rows in order_line for foreign key line_order_fk; for example (id)=('301')"),
        "the FK is named: {out}\n{err}"
    );
}

#[test]
fn tether_sync_into_a_managed_sharded_keyspace_through_the_gateway() {
    let c = spider::cluster();
    let db = c.create_db();
    shop(&db);
    let source = TestDb::create(Engine::Sqlite);
    source.exec(&(SOURCE.to_string() + &source_rows()));
    let expected = rows_of(|sql| source.query(sql));
    // The gateway in this process: a managed sharded keyspace over the head, the
    // cross-shard FKs declared. The keyspace has the head database's name: sync reads
    // the destination's tables from information_schema by the URL's database name,
    // which the gateway passes through unchanged.
    let config = tether_gateway::Config::parse(&format!(
        r#"{{"listen": "127.0.0.1:0", "users": [{{"user": "sync", "password": "pw"}}],
            "keyspaces": {{"{}": {{"sharded": true, "foreignKeyMode": "managed",
              "backend": {{"url": "{}"}},
              "foreignKeys": [
                {{"name": "line_order_fk", "table": "order_line", "columns": ["order_id"],
                  "referenced_table": "orders", "referenced_columns": ["id"]}},
                {{"name": "note_customer_fk", "table": "note", "columns": ["customer_id"],
                  "referenced_table": "customer", "referenced_columns": ["id"]}}]}}}}}}"#,
        db.name,
        db.head_url()
    ))
    .expect("gateway config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let gateway = rt
        .block_on(tether_gateway::Gateway::bind(&config, None))
        .expect("gateway binds");
    let addr = gateway.local_addr().expect("address");
    rt.spawn(gateway.serve());

    let dir = tether_testkit::ScratchDir::new("cli_sharded_gateway");
    let job = write_file(
        dir.path(),
        "into.toml",
        &format!(
            "source = \"{}\"\nprivacy = \"off\"\n\n[[destinations]]\nurl = \"mysql://sync:pw@{addr}/{}\"\ncreate_tables = false\n",
            source.url, db.name
        ),
    );
    let (code, out, err) = tether(&["sync", &job]);
    assert_eq!(code, 0, "sync through the gateway: {out}\n{err}");
    assert!(out.contains("verified: 4 foreign keys, 0 orphans"), "{out}");
    assert_eq!(rows_of(|sql| db.query_head(sql)), expected, "rows through the head");
    assert_fk_intact_across_nodes(&db, &expected);

    // A cross-shard orphan is refused while loading: the gateway checks the parent.
    source.exec("PRAGMA foreign_keys = OFF; INSERT INTO order_line VALUES (301, 999, 1);");
    let again = job.replace("into.toml", "again.toml");
    std::fs::write(
        &again,
        std::fs::read_to_string(&job).expect("job") + "truncate = true\n",
    )
    .expect("job");
    let (code, out, err) = tether(&["sync", &again]);
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("table order_line: row (id)=(301) was rejected: server error 1452 (23000)")
            && err.contains("CONSTRAINT `line_order_fk` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`)"),
        "{err}"
    );
    drop(rt);
}
