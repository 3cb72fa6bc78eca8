//! A managed sharded keyspace runs what the unsharded one runs (issue 16,
//! deliverable 4; review finding 8): values MariaDB converts on store are checked
//! as stored, compared statement by statement with one MariaDB with InnoDB FKs.
//!
//! The schema: parents keyed by INT, BIGINT UNSIGNED, DECIMAL(6,2), VARCHAR
//! (utf8mb4_general_ci and utf8mb4_bin) and DATE, each sharded over both nodes;
//! `c` (HASH id) references each of them and itself, every FK declared in the
//! VSchema (cross-shard), ON DELETE RESTRICT ON UPDATE CASCADE.

use mysql_async::Conn;
use tether_testkit::spider::{self, Partitioning, ShardedDb};
use tether_testkit::{TestDb, TestEngine};

use crate::managed::assert_same_outcome;
use crate::support::{dump, start_json};

/// Parents: (table, key type, partitioning column expression).
const PARENTS: &[(&str, &str)] = &[
    ("pi", "INT"),
    ("pu", "BIGINT UNSIGNED"),
    ("pd", "DECIMAL(6,2)"),
    ("ps", "VARCHAR(10) COLLATE utf8mb4_general_ci"),
    ("pb", "VARCHAR(10) COLLATE utf8mb4_bin"),
    ("pt", "DATE"),
];

/// `c`'s FKs: (name, column, parent).
const FKS: &[(&str, &str, &str)] = &[
    ("c_i_fk", "i", "pi"),
    ("c_u_fk", "u", "pu"),
    ("c_d_fk", "d", "pd"),
    ("c_s_fk", "s", "ps"),
    ("c_b_fk", "b", "pb"),
    ("c_t_fk", "t", "pt"),
    ("c_ref_fk", "ref_id", "c"),
];

const CHILD: &str = "id INT PRIMARY KEY, ref_id INT NULL, i INT NULL, u BIGINT UNSIGNED NULL, d DECIMAL(6,2) NULL, \
     s VARCHAR(10) COLLATE utf8mb4_general_ci NULL, b VARCHAR(10) COLLATE utf8mb4_bin NULL, t DATE NULL";

const TABLES: &[&str] = &["pi", "pu", "pd", "ps", "pb", "pt", "c"];

const SETUP: &str = "INSERT INTO pi (id) VALUES (1), (2), (7); INSERT INTO pu (id) VALUES (1), (18446744073709551615);
    INSERT INTO pd (id) VALUES (1.46), (2), (3); INSERT INTO ps (id) VALUES ('abc'), ('x');
    INSERT INTO pb (id) VALUES ('abc'), ('Abc'); INSERT INTO pt (id) VALUES ('2020-01-02')";

fn native_schema() -> String {
    let mut sql = String::new();
    for (name, key) in PARENTS {
        sql.push_str(&format!(
            "CREATE TABLE {name} (id {key} PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB;\n"
        ));
    }
    let fks: Vec<String> = FKS
        .iter()
        .map(|(name, column, parent)| {
            format!(
                "CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES {parent} (id) ON DELETE RESTRICT ON UPDATE CASCADE"
            )
        })
        .collect();
    sql.push_str(&format!(
        "CREATE TABLE c ({CHILD}, {}) ENGINE=InnoDB;\n",
        fks.join(", ")
    ));
    sql
}

fn vschema(head_url: &str) -> String {
    let fks: Vec<String> = FKS
        .iter()
        .map(|(name, column, parent)| {
            format!(
                r#"{{"name": "{name}", "table": "c", "columns": ["{column}"], "referenced_table": "{parent}",
                    "referenced_columns": ["id"], "on_delete": "RESTRICT", "on_update": "CASCADE"}}"#
            )
        })
        .collect();
    format!(
        r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{head_url}"}},
            "foreignKeys": [{}]}}"#,
        fks.join(", ")
    )
}

/// The sharded side of the literal tests: each parent sharded by KEY (id), `c` by
/// HASH (id).
fn literal_tables(db: &ShardedDb) {
    for (name, key) in PARENTS {
        let columns = format!("id {key} PRIMARY KEY, v INT NOT NULL DEFAULT 0");
        db.sharded_table(
            name,
            &columns,
            &columns,
            &Partitioning::Key(vec!["id".into()]),
            &spider::NODES,
        );
    }
    db.sharded_table("c", CHILD, CHILD, &Partitioning::Hash("id".into()), &spider::NODES);
}

/// Runs `statements` natively (`native_schema`) and through a managed sharded
/// keyspace (tables made by `sharded`, FKs from `vschema`), after `setup` on both,
/// asserting the same outcome for each, the same `tables` after each and no
/// orphan on the nodes at the end (`orphans`); the native error codes, in order.
fn differential(
    sharded: fn(&ShardedDb),
    native_schema: &str,
    vschema: fn(&str) -> String,
    tables: &[&str],
    setup: &str,
    statements: &[&str],
    orphans: Option<fn(&ShardedDb) -> Vec<String>>,
) -> Vec<u16> {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    sharded(&db);
    db.exec_head(setup);
    let native = TestDb::create(TestEngine::Mysql);
    native.exec(native_schema);
    native.exec(setup);
    let gw = start_json(&vschema(&db.head_url()), "");
    let codes = gw.block_on(async {
        let mut n = Conn::from_url(native.url.as_str()).await.expect("native");
        let mut g = gw.connect("ks").await;
        let mut codes = Vec::new();
        for (i, sql) in statements.iter().enumerate() {
            codes.push(assert_same_outcome(&mut n, &mut g, [&native.name, &db.name], sql, &format!("#{i}")).await);
            assert_eq!(dump(&mut n, tables).await, dump(&mut g, tables).await, "#{i}: {sql}");
        }
        codes
    });
    if let Some(orphans) = orphans {
        assert_eq!(orphans(&db), Vec::<String>::new(), "orphans on the nodes");
    }
    codes
}

fn same_as_native(statements: &[&str]) -> Vec<u16> {
    differential(
        literal_tables,
        &native_schema(),
        vschema,
        TABLES,
        SETUP,
        statements,
        None,
    )
}

/// Finding 8: literals MariaDB converts on store are checked as stored, in
/// INSERT, REPLACE, ON DUPLICATE KEY UPDATE and UPDATE, for integer, unsigned,
/// decimal, string (by collation) and date keys; self-references too.
#[test]
fn sharded_forms_literals_are_checked_as_the_column_stores_them() {
    let codes = same_as_native(&[
        // INT: rounded, quoted, boolean, hex, spaces, exponent.
        "INSERT INTO c (id, i) VALUES (1, 1.4)",
        "INSERT INTO c (id, i) VALUES (2, '1.4')",
        "INSERT INTO c (id, i) VALUES (3, TRUE)",
        "INSERT INTO c (id, i) VALUES (4, 0x01)",
        "INSERT INTO c (id, i) VALUES (5, '  7')",
        "INSERT INTO c (id, i) VALUES (6, 1e0)",
        "INSERT INTO c (id, i) VALUES (7, 1.5)",
        "INSERT INTO c (id, i) VALUES (8, '1.5e0')",
        "INSERT INTO c (id, i) VALUES (9, 2.5)",
        "INSERT INTO c (id, i) VALUES (9, 6.6)",
        "INSERT INTO c (id, i) VALUES (10, X'02')",
        // BIGINT UNSIGNED.
        "INSERT INTO c (id, u) VALUES (11, 18446744073709551615)",
        "INSERT INTO c (id, u) VALUES (12, '18446744073709551615')",
        "INSERT INTO c (id, u) VALUES (13, -1)",
        "INSERT INTO c (id, u) VALUES (13, 1.5)",
        "INSERT INTO c (id, u) VALUES (13, 0.6)",
        // DECIMAL(6,2).
        "INSERT INTO c (id, d) VALUES (14, 1.455)",
        "INSERT INTO c (id, d) VALUES (15, '1.455')",
        "INSERT INTO c (id, d) VALUES (16, 2)",
        "INSERT INTO c (id, d) VALUES (17, '2.001')",
        "INSERT INTO c (id, d) VALUES (18, 2.999e0)",
        "INSERT INTO c (id, d) VALUES (19, 4)",
        "INSERT INTO c (id, d) VALUES (19, 1.454)",
        // VARCHAR under utf8mb4_general_ci and utf8mb4_bin (both PAD SPACE).
        "INSERT INTO c (id, s) VALUES (20, 'ABC')",
        "INSERT INTO c (id, s) VALUES (21, 'abc  ')",
        "INSERT INTO c (id, s) VALUES (22, 'y')",
        "INSERT INTO c (id, b) VALUES (23, 'abc')",
        "INSERT INTO c (id, b) VALUES (24, 'ABC')",
        "INSERT INTO c (id, b) VALUES (25, 'Abc ')",
        // DATE.
        "INSERT INTO c (id, t) VALUES (26, '2020-1-2')",
        "INSERT INTO c (id, t) VALUES (27, 20200102)",
        "INSERT INTO c (id, t) VALUES (28, '2020/01/02')",
        "INSERT INTO c (id, t) VALUES (29, '2020-01-03')",
        // Several rows, a self-reference to a row of the same statement.
        "INSERT INTO c (id, ref_id, i) VALUES (40, NULL, 2.4), (41, 40.2, 1), (42, '40', '7.0')",
        "INSERT INTO c (id, ref_id) VALUES (43, 44.4), (44, NULL)",
        "INSERT INTO c (id, i) VALUES (45, 1), (46, 2.6)",
        // Duplicates among the statement's own rows, compared as stored.
        "INSERT INTO c (id, i) VALUES (50, 1), ('50', 1)",
        "INSERT INTO c (id, i) VALUES (51, 1), (51.0, 99)",
        // UPDATE, REPLACE, ON DUPLICATE KEY UPDATE.
        "UPDATE c SET i = 7.4 WHERE id = 1",
        "UPDATE c SET i = '2.5' WHERE id = 1",
        "UPDATE c SET d = d + 0.004 WHERE id = 14",
        "UPDATE c SET d = d + 0.006 WHERE id = 14",
        // Changed only by case or trailing spaces: probed under the collation.
        "UPDATE c SET s = 'abc' WHERE id = 20",
        "UPDATE c SET s = 'abc  ' WHERE id = 20",
        "UPDATE c SET b = 'Abc' WHERE id = 23",
        "UPDATE c SET b = 'ABC' WHERE id = 23",
        "UPDATE c SET b = 'Abc  ' WHERE id = 23",
        "UPDATE c SET s = 'X ' WHERE id = 20",
        "UPDATE c SET t = '2020-01-02 00:00:00' WHERE id = 26",
        "REPLACE INTO c (id, i) VALUES (1, 1.6)",
        "REPLACE INTO c (id, u) VALUES (1, '1.2')",
        "INSERT INTO c (id, i) VALUES (2, 1) ON DUPLICATE KEY UPDATE i = 6.9",
        "INSERT INTO c (id, i) VALUES (2, 1) ON DUPLICATE KEY UPDATE i = 5.9",
        // The parents: RESTRICT by the stored key, and a cascade of a re-key.
        "DELETE FROM pd WHERE id = 1.46",
        "UPDATE pi SET id = 8 WHERE id = 7",
        "DELETE FROM ps WHERE id = 'ABC '",
    ]);
    // The stream meets successes, both FK errors and the store's own errors.
    for code in [0, 1452, 1451, 1264, 1366, 1062] {
        assert!(codes.contains(&code), "no {code} in {codes:?}");
    }
}

/// The INSERT / REPLACE forms only InnoDB could check as written run as the rows
/// they write (managed/rows.rs): INSERT ... SELECT (its own table too), REPLACE
/// ... SELECT into a referenced table, several rows of REPLACE and ON DUPLICATE
/// KEY UPDATE (re-keying a referenced key, cross-shard and co-located cascades,
/// the self-reference and the cycle), VALUES of expressions.
#[test]
fn sharded_forms_select_and_multi_row_upserts_run_as_their_rows() {
    use crate::sharded_managed as m;
    let codes = differential(
        m::sharded_schema,
        &m::native_schema(),
        m::vschema,
        m::NAMES,
        "INSERT INTO customer (id, ref_id) VALUES (1, NULL), (2, 1), (3, 2), (4, NULL);
         INSERT INTO item (id) VALUES (1), (2), (3);
         INSERT INTO orders (customer_id, id, item_id) VALUES (1, 1, 1), (2, 1, 2), (3, 1, NULL);
         INSERT INTO note VALUES (4, 1); INSERT INTO review VALUES (10, 3);
         INSERT INTO dept (id) VALUES (1), (2); INSERT INTO emp (id, dept_id) VALUES (1, 1), (2, 2);
         UPDATE dept SET head_id = 2 WHERE id = 1",
        &[
            // INSERT ... SELECT: cross-shard parents checked, one missing, none.
            "INSERT INTO orders (customer_id, id, item_id) SELECT id, 2, id FROM customer WHERE id <= 3 ORDER BY id",
            "INSERT INTO orders (customer_id, id, item_id) SELECT id, 3, id FROM customer ORDER BY id",
            "INSERT INTO orders (customer_id, id, item_id) SELECT id, 4, 1 FROM customer WHERE id > 100",
            "INSERT INTO orders (customer_id, id, item_id) SELECT customer_id, id, item_id FROM orders WHERE id = 1",
            // Its own table, seen as before the statement (the self-reference).
            "INSERT INTO customer (id, ref_id) SELECT id + 10, id FROM customer ORDER BY id",
            "INSERT INTO customer (id, ref_id) SELECT id + 100, id + 99 FROM customer WHERE id = 1",
            // REPLACE ... SELECT into a referenced table: its children's rules.
            "REPLACE INTO item (id, v) SELECT id, 7 FROM customer WHERE id IN (1, 2) ORDER BY id",
            "REPLACE INTO customer (id, ref_id) SELECT id, NULL FROM item WHERE id = 3",
            "REPLACE INTO customer (id) SELECT id FROM item WHERE id = 4",
            // Several rows of REPLACE: later rows see earlier ones.
            "REPLACE INTO customer (id, ref_id) VALUES (20, NULL), (21, 20), (20, 21)",
            "REPLACE INTO item (id, v) VALUES (1, 1), (2, 2), (1, 3)",
            "REPLACE INTO customer (id, ref_id) VALUES (22, NULL), (23, 99)",
            "REPLACE INTO dept (id, head_id) VALUES (1, 1), (2, NULL)",
            // ON DUPLICATE KEY UPDATE of several rows, re-keying referenced keys.
            "INSERT INTO item (id, v) VALUES (1, 0), (2, 0), (5, 0) ON DUPLICATE KEY UPDATE id = id + 10",
            "INSERT INTO item (id) VALUES (11), (12) ON DUPLICATE KEY UPDATE id = id - 10",
            "INSERT INTO customer (id, ref_id) VALUES (1, 2), (2, 1), (30, 1) ON DUPLICATE KEY UPDATE ref_id = VALUES(ref_id)",
            "INSERT INTO customer (id, ref_id) VALUES (1, 3), (31, 98) ON DUPLICATE KEY UPDATE ref_id = VALUES(ref_id)",
            "INSERT INTO customer (id) VALUES (3), (4) ON DUPLICATE KEY UPDATE id = id + 40",
            "INSERT INTO emp (id, dept_id) VALUES (1, 2), (2, 1), (3, 2) ON DUPLICATE KEY UPDATE id = id + 5",
            // Expressions in VALUES, evaluated once.
            "INSERT INTO orders (customer_id, id, item_id) VALUES (1, 9, 1 + 1), (2, 9, 40 + 2)",
            "INSERT INTO orders (customer_id, id, item_id) VALUES (1, 9, 1 + 1), (2, 9, 2 * 3 - 4)",
            "REPLACE INTO emp (id, dept_id) VALUES (8, CAST('2' AS SIGNED))",
            "INSERT INTO orders (customer_id, id, item_id) VALUES (1, 10, 0x01 + 0), (2, 10, 0x03)",
            "INSERT INTO review (id, item_id) VALUES (11, (SELECT MIN(id) FROM item))",
            "DELETE FROM item WHERE id = 2",
        ],
        Some(crate::sharded_managed::orphans),
    );
    for code in [0, 1451, 1452, 1062] {
        assert!(codes.contains(&code), "no {code} in {codes:?}");
    }
}

/// Inside a client's transaction the rows path runs without a savepoint, as every
/// planned write behind the head: a statement refused before it wrote (its first
/// row's parent missing; an INSERT ... SELECT whose rows fail the checks) leaves
/// the transaction as it was; one whose second row fails after the first wrote
/// takes the transaction with it and says so (natively only the statement would
/// be undone: docs/sharding.md, "Managed mode").
#[test]
fn sharded_forms_inside_a_client_transaction() {
    use crate::sharded_managed::{code_of, managed_keyspace};
    use mysql_async::prelude::Queryable;
    let (_db, gw) = managed_keyspace("INSERT INTO customer (id) VALUES (1), (2); INSERT INTO item (id) VALUES (1)");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let ids = |rows: Vec<(String, Vec<Vec<String>>)>| {
            rows.into_iter()
                .flat_map(|(_, r)| r.into_iter().map(|r| r[0].clone()))
                .collect::<Vec<_>>()
        };
        g.query_drop("BEGIN").await.expect("begin");
        g.query_drop("INSERT INTO customer (id) VALUES (3)")
            .await
            .expect("insert");
        // Refused by the checks of its first row: nothing written.
        let (code, message) = code_of(&mut g, "REPLACE INTO customer (id, ref_id) VALUES (4, 9), (5, 1)").await;
        assert_eq!(code, 1452, "{message}");
        let (code, message) = code_of(
            &mut g,
            "INSERT INTO orders (customer_id, id, item_id) SELECT id, 1, 7 FROM customer ORDER BY id",
        )
        .await;
        assert_eq!(code, 1452, "{message}");
        // Several rows as one statement, committed with the transaction.
        g.query_drop("INSERT INTO orders (customer_id, id, item_id) SELECT id, 1, 1 FROM customer ORDER BY id")
            .await
            .expect("insert ... select");
        assert_eq!(g.affected_rows(), 3);
        g.query_drop("COMMIT").await.expect("commit");
        assert_eq!(ids(dump(&mut g, &["customer"]).await), ["1", "2", "3"]);
        assert_eq!(ids(dump(&mut g, &["orders"]).await), ["1", "2", "3"]);
        // The second row fails after the first wrote: the transaction is gone.
        g.query_drop("BEGIN").await.expect("begin");
        g.query_drop("INSERT INTO customer (id) VALUES (6)")
            .await
            .expect("insert");
        let (code, message) = code_of(&mut g, "REPLACE INTO customer (id, ref_id) VALUES (7, 1), (8, 9)").await;
        assert_eq!(code, 1452, "{message}");
        assert!(message.contains("the transaction was rolled back"), "{message}");
        g.query_drop("ROLLBACK").await.expect("rollback");
        assert_eq!(ids(dump(&mut g, &["customer"]).await), ["1", "2", "3"]);
    });
}

/// An INSERT ... SELECT of more rows than one written-back statement holds
/// (`managed/rows.rs`, 500 a statement): all of them, or none when a row of a
/// later statement misses its parent.
#[test]
fn sharded_forms_a_long_insert_select_is_all_or_nothing() {
    use crate::sharded_managed as m;
    let items: Vec<String> = (1..=40).map(|i| format!("({i})")).collect();
    let setup = format!("INSERT INTO item (id) VALUES {}", items.join(", "));
    let codes = differential(
        m::sharded_schema,
        &m::native_schema(),
        m::vschema,
        m::NAMES,
        &setup,
        &[
            "INSERT INTO review (id, item_id) SELECT a.id * 100 + b.id, IF(a.id * 100 + b.id = 3007, 99, a.id) \
             FROM item a JOIN item b ORDER BY 1",
            "INSERT INTO review (id, item_id) SELECT a.id * 100 + b.id, a.id FROM item a JOIN item b ORDER BY 1",
            "SELECT COUNT(*) FROM review",
            "DELETE FROM item WHERE id = 40",
        ],
        Some(crate::sharded_managed::orphans),
    );
    assert_eq!(codes, [1452, 0, 0, 1451]);
}

// ------------------------------------------------- values as the target stores them
// (review of shforms, findings 1-8): the reviewer's schema, every reply field
// compared (code, rows affected, OK insert id, info line, warning count,
// LAST_INSERT_ID()) and every table after each statement.

const RV_P: &str = "id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0";
const RV_PS: &str = "id VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT NOT NULL DEFAULT 0";
const RV_CH: &str =
    "id INT PRIMARY KEY, p_id INT NULL, pd INT NULL DEFAULT 9, s_id VARCHAR(10) COLLATE utf8mb4_general_ci NULL, \
     f DOUBLE NULL, lat VARCHAR(10) CHARACTER SET latin1 NULL, note VARCHAR(20) NULL, u INT NULL";
const RV_AI: &str = "id INT AUTO_INCREMENT PRIMARY KEY, p_id INT NULL, k INT NULL";
const RV_SRC: &str = "id INT PRIMARY KEY, fl DOUBLE NULL, bs VARCHAR(10) COLLATE utf8mb4_bin NULL, x VARCHAR(20) NULL, e ENUM('b','a') NULL, dt DATE NULL, tm TIME NULL, e2 ENUM('2','1') NULL";
const RV_TABLES: &[&str] = &["p", "ps", "ch", "ai", "src"];
const RV_FKS: &[(&str, &str, &str, &str)] = &[
    ("ch_p_fk", "ch", "p_id", "p"),
    ("ch_pd_fk", "ch", "pd", "p"),
    ("ch_s_fk", "ch", "s_id", "ps"),
    ("ai_p_fk", "ai", "p_id", "p"),
];

fn rv_native() -> String {
    let fk = |t: &str| -> String {
        RV_FKS
            .iter()
            .filter(|f| f.1 == t)
            .map(|(n, _, c, p)| format!(", CONSTRAINT {n} FOREIGN KEY ({c}) REFERENCES {p} (id) ON UPDATE CASCADE"))
            .collect()
    };
    format!(
        "CREATE TABLE p ({RV_P}) ENGINE=InnoDB; CREATE TABLE ps ({RV_PS}) ENGINE=InnoDB;
         CREATE TABLE ch ({RV_CH}{}) ENGINE=InnoDB; CREATE TABLE ai ({RV_AI}{}) ENGINE=InnoDB;
         CREATE TABLE src ({RV_SRC}) ENGINE=InnoDB;",
        fk("ch"),
        fk("ai")
    )
}

fn rv_vschema(head_url: &str) -> String {
    let fks: Vec<String> = RV_FKS
        .iter()
        .map(|(name, t, column, parent)| {
            format!(
                r#"{{"name": "{name}", "table": "{t}", "columns": ["{column}"], "referenced_table": "{parent}",
                    "referenced_columns": ["id"], "on_delete": "RESTRICT", "on_update": "CASCADE"}}"#
            )
        })
        .collect();
    format!(
        r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{head_url}"}},
            "foreignKeys": [{}]}}"#,
        fks.join(", ")
    )
}

fn rv_tables(db: &ShardedDb) {
    db.sharded_table("p", RV_P, RV_P, &Partitioning::Key(vec!["id".into()]), &spider::NODES);
    db.sharded_table(
        "ps",
        RV_PS,
        RV_PS,
        &Partitioning::Key(vec!["id".into()]),
        &spider::NODES,
    );
    db.sharded_table("ch", RV_CH, RV_CH, &Partitioning::Hash("id".into()), &spider::NODES);
    db.sharded_table("ai", RV_AI, RV_AI, &Partitioning::Hash("id".into()), &spider::NODES);
    db.sharded_table("src", RV_SRC, RV_SRC, &Partitioning::Hash("id".into()), &spider::NODES);
}

const RV_SETUP: &str = "INSERT INTO p (id) VALUES (1), (2), (3); INSERT INTO ps (id) VALUES ('ABC'), ('x');
    INSERT INTO src VALUES (1, 0.1, 'abc', 'a\\\\b''c', 'a', '2020-01-02', '00:00:01', '1'), (2, 1.5, 'é', '1x', 'b', NULL, NULL, NULL), (3, NULL, 'X', NULL, NULL, NULL, NULL, NULL);
    INSERT INTO ch (id, p_id, pd) VALUES (1, 1, NULL), (2, 2, NULL)";

/// One statement's reply as a line to compare: `ROWS:` reads, `PREP:sql|a,fb`
/// runs `sql` prepared with parameters `a` (integer or string) and `b` (a double).
async fn rv_probe(c: &mut Conn, sql: &str) -> String {
    use mysql_async::prelude::Queryable;
    if let Some(q) = sql.strip_prefix("ROWS:") {
        let r = crate::support::rows(c, q).await;
        return format!("{r:?}");
    }
    let o = if let Some(q) = sql.strip_prefix("PREP:") {
        let (q, p) = q.split_once('|').unwrap_or((q, ""));
        let params: Vec<mysql_async::Value> = p
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| match x.strip_prefix('f') {
                Some(f) => mysql_async::Value::Double(f.parse().unwrap()),
                None => match x.parse::<i64>() {
                    Ok(i) => mysql_async::Value::Int(i),
                    Err(_) => mysql_async::Value::Bytes(x.as_bytes().to_vec()),
                },
            })
            .collect();
        match c.exec_drop(q, mysql_async::Params::Positional(params)).await {
            Ok(()) => (0, c.affected_rows(), String::new()),
            Err(mysql_async::Error::Server(e)) => (e.code, 0, e.message),
            Err(e) => panic!("{sql}: {e}"),
        }
    } else {
        crate::managed::outcome(c, sql).await
    };
    let id = c.last_insert_id();
    let info = c.info().to_string();
    let w = c.get_warnings();
    let lid: Option<String> = c
        .query_first("SELECT CAST(LAST_INSERT_ID() AS CHAR)")
        .await
        .ok()
        .flatten();
    format!(
        "code={} affected={} ok_id={id:?} info={info:?} warnings={w} last_insert_id()={lid:?}",
        o.0, o.1
    )
}

/// Runs `statements` natively and through the managed sharded keyspace (the
/// reviewer's schema), asserting the same reply (see [`rv_probe`]) and the same
/// tables after each.
fn same_replies(statements: &[&str]) {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    rv_tables(&db);
    db.exec_head(RV_SETUP);
    let native = TestDb::create(TestEngine::Mysql);
    native.exec(&rv_native());
    native.exec(RV_SETUP);
    let gw = start_json(&rv_vschema(&db.head_url()), "");
    gw.block_on(async {
        let mut n = Conn::from_url(native.url.as_str()).await.expect("native");
        let mut g = gw.connect("ks").await;
        for (i, sql) in statements.iter().enumerate() {
            let a = rv_probe(&mut n, sql).await;
            let b = rv_probe(&mut g, sql).await;
            assert_eq!(a, b, "#{i}: {sql}");
            assert_eq!(
                dump(&mut n, RV_TABLES).await,
                dump(&mut g, RV_TABLES).await,
                "#{i}: {sql}"
            );
        }
    });
}

/// Finding 1: a SELECT's (or an expression's) result is stored as MariaDB stores
/// it into the column, not as its text: an ENUM by its index, a double rounded
/// half to even, a FLOAT widened, a DATE or TIME as a number.
#[test]
fn sharded_forms_selected_values_are_stored_as_the_column_converts_them() {
    same_replies(&[
        "INSERT INTO ch (id, p_id, pd) SELECT 610, e2, NULL FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd) SELECT 620, fl + 1, NULL FROM src WHERE id = 2",
        "INSERT INTO ch (id, p_id, pd) VALUES (621, 2.5e0 + 0, NULL)",
        "PREP:INSERT INTO ch (id, p_id, pd) VALUES (?, ? + 0, NULL)|622,f2.5",
        "PREP:INSERT INTO ch (id, p_id, pd) SELECT ?, ?, NULL FROM src WHERE id = 1|623,f2.5",
        "INSERT INTO ch (id, p_id, pd, f) SELECT 624, 1, NULL, CAST(fl AS FLOAT) FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd, u) SELECT 625, 1, NULL, dt FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd, u) SELECT 626, 1, NULL, tm FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd, f) SELECT 627, 1, NULL, dt FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd, u) SELECT 628, 1, NULL, e FROM src WHERE id = 2",
        "INSERT INTO ch (id, p_id, pd, note) SELECT 629, 1, NULL, fl / 7 FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd) SELECT id + 630, 3, DEFAULT FROM src",
        "INSERT INTO ch (id, p_id, pd) VALUES (640, 1, DEFAULT), (641, 2 + 0, NULL)",
        "INSERT INTO ch (id, p_id, u) VALUES (642, 1 + 0, id + 1), (643, 2, p_id * 10)",
        "ROWS:SELECT id, p_id, pd, f, u, note FROM ch WHERE id >= 600 ORDER BY id",
    ]);
}

/// Finding 2 (and 9's first part): what MariaDB refuses in strict mode is refused
/// with its code, nothing written: division by zero (1365), a truncated number
/// (1292), a column count that does not match (1136), a NULL a NOT NULL column
/// cannot take.
#[test]
fn sharded_forms_strict_mode_errors_are_mariadbs() {
    same_replies(&[
        "INSERT INTO ch (id, p_id, pd) VALUES (622, 1/0, NULL)",
        "INSERT INTO ch (id, p_id, pd) SELECT 121, 1/0, NULL FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd) VALUES (623, '1x' + 0, NULL)",
        "INSERT INTO ch (id, p_id, pd) SELECT 624, x + 0, NULL FROM src WHERE id = 2",
        "INSERT INTO ch (id, p_id) SELECT 502, 1, 3",
        "INSERT INTO ch (id, p_id) VALUES (500, 1 + 0), (501)",
        "INSERT INTO p (id, v) SELECT 40, NULL",
        "INSERT INTO ch (id, p_id, pd) SELECT 630, 7, NULL FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd) SELECT 631, 1, NULL UNION ALL SELECT 632, 7, NULL",
        "ROWS:SELECT COUNT(*) FROM ch",
        // Not strict: converted with warnings, counted as natively.
        "SET SESSION sql_mode = ''",
        "INSERT INTO ch (id, p_id, pd, u) SELECT 700, 1, NULL, x FROM src WHERE id = 2",
        "INSERT INTO ch (id, p_id, pd, u) SELECT id + 701, 1, NULL, x FROM src",
        "INSERT INTO ch (id, p_id, pd, u) VALUES (710, 1 + 0, NULL, '1x' + 0)",
        "INSERT INTO ch (id, p_id, pd, u) VALUES (711, 1 + 0, NULL, 1/0), (712, 2, NULL, 'y' + 0)",
        "INSERT INTO ch (id, p_id, pd) SELECT 720, 1/0, NULL",
        "ROWS:SELECT id, p_id, u FROM ch WHERE id >= 700 ORDER BY id",
    ]);
}

/// Findings 3 and 4: strings keep their characters whatever the collation
/// (a `_bin` one), the column's character set (latin1) or the session's
/// NO_BACKSLASH_ESCAPES; finding 5: a parenthesised SELECT.
#[test]
fn sharded_forms_strings_arrive_as_written() {
    same_replies(&[
        "INSERT INTO ch (id, p_id, pd, lat) SELECT 150, 1, NULL, bs FROM src WHERE id = 2",
        "INSERT INTO ch (id, s_id, pd, note) SELECT 151, bs, NULL, x FROM src WHERE id = 1",
        "INSERT INTO ch (id, s_id, pd) SELECT 152, CAST(bs AS BINARY), NULL FROM src WHERE id = 1",
        "INSERT INTO ch (id, p_id, pd, note) VALUES (153, 1 + 0, NULL, CONCAT(x'C3A9', 'a'))",
        "INSERT INTO ch (id, p_id, pd) (SELECT 170, 1, NULL)",
        "INSERT INTO ch (id, p_id, pd) (SELECT id + 171, 1, NULL FROM src WHERE id = 1)",
        "ROWS:SELECT id, s_id, lat, note, HEX(note) FROM ch WHERE id >= 150 ORDER BY id",
    ]);
}

/// Findings 6-8: the OK packet of a multi-row ON DUPLICATE KEY UPDATE (insert id,
/// `Duplicates` of rows left unchanged), the info line of a one-row INSERT ...
/// SELECT, and a ROLLBACK after a stored-value check without warning 1196.
#[test]
fn sharded_forms_replies_are_mariadbs() {
    same_replies(&[
        "INSERT INTO ch (id, p_id, pd) SELECT 200, 1, NULL FROM src WHERE id = 1",
        "REPLACE INTO ch (id, p_id, pd) SELECT 200, 2, NULL",
        "INSERT INTO ai (id, p_id, k) VALUES (1, 1, 1), (2, 2, 2) ON DUPLICATE KEY UPDATE p_id = VALUES(p_id)",
        "INSERT INTO ai (id, p_id, k) VALUES (1, 1, 1), (2, 2, 2) ON DUPLICATE KEY UPDATE p_id = VALUES(p_id)",
        "INSERT INTO ai (id, p_id, k) VALUES (1, 2, 1), (2, 1, 2) ON DUPLICATE KEY UPDATE p_id = VALUES(p_id)",
        "INSERT INTO ai (id, p_id, k) VALUES (1, 3, 1), (NULL, 3, 5), (2, 1, 6) ON DUPLICATE KEY UPDATE p_id = VALUES(p_id)",
        "INSERT INTO ch (id, p_id, pd) VALUES (1, 1, NULL), (2, 2, NULL) ON DUPLICATE KEY UPDATE p_id = VALUES(p_id)",
        "BEGIN",
        "INSERT INTO ch (id, p_id, pd) VALUES (210, 1.4, NULL)",
        "INSERT INTO ch (id, p_id, pd) SELECT 211, fl + 1, NULL FROM src WHERE id = 2",
        "ROLLBACK",
        "ROWS:SELECT COUNT(*) FROM ch WHERE id >= 210",
    ]);
}

/// Finding 4: under NO_BACKSLASH_ESCAPES a backslash ends nothing, but the
/// gateway's parser reads it as an escape, so it would check other rows than the
/// server writes (`'\'), (951, 9, ...` is two rows to the server), and the
/// statements it issues render values with backslash escapes: every write with FK
/// work is refused under that mode, nothing written (session.rs `managed_write`).
#[test]
fn sharded_forms_backslashes_under_no_backslash_escapes_are_refused() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    rv_tables(&db);
    db.exec_head(RV_SETUP);
    let gw = start_json(&rv_vschema(&db.head_url()), "");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let before = dump(&mut g, RV_TABLES).await;
        crate::managed::outcome(
            &mut g,
            "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
        )
        .await;
        for sql in [
            "INSERT INTO ch (id, p_id, pd, note) VALUES (962, 1 + 0, NULL, '\\'), (951, 9, NULL, 'x') -- ')",
            "INSERT INTO ch (id, p_id, pd, note) SELECT 963, 1, NULL, CONCAT(x, '\\') FROM src WHERE id = 1",
            // No backslash in the text, but the gateway's statements would render
            // values read from the tables with backslash escapes: refused too.
            "INSERT INTO ch (id, p_id, pd, note) SELECT 160, 1, NULL, x FROM src WHERE id = 1",
            "DELETE FROM p WHERE id = 1",
        ] {
            let (code, _, message) = crate::managed::outcome(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains("NO_BACKSLASH_ESCAPES"), "{sql}: {message}");
        }
        assert_eq!(dump(&mut g, RV_TABLES).await, before);
        // Reads pass; with the mode reset the same write runs.
        assert_eq!(crate::managed::outcome(&mut g, "SELECT COUNT(*) FROM ch").await.0, 0);
        crate::managed::outcome(&mut g, "SET SESSION sql_mode = DEFAULT").await;
        let (code, _, message) = crate::managed::outcome(
            &mut g,
            "INSERT INTO ch (id, p_id, pd, note) SELECT 160, 1, NULL, x FROM src WHERE id = 1",
        )
        .await;
        assert_eq!(code, 0, "{message}");
    });
}
