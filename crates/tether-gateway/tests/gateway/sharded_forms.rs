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
    use crate::sharded_managed::{code_of, sharded_schema, vschema};
    use mysql_async::prelude::Queryable;
    let cluster = spider::cluster();
    let db = cluster.create_db();
    sharded_schema(&db);
    db.exec_head("INSERT INTO customer (id) VALUES (1), (2); INSERT INTO item (id) VALUES (1)");
    let gw = start_json(&vschema(&db.head_url()), "");
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
