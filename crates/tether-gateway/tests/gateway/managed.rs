//! `managed` keyspaces: cascades, SET NULL, RESTRICT and parent checks done by the
//! gateway, compared with what MariaDB does natively on an identical database.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{direct, dump, native_and_gateway, rows, server_error, start_one};

pub const SCHEMA: &str = "
CREATE TABLE region (id INT PRIMARY KEY, code CHAR(2) NOT NULL, UNIQUE KEY region_code (code)) ENGINE=InnoDB;
CREATE TABLE customer (id INT PRIMARY KEY, region_code CHAR(2), name VARCHAR(20),
  CONSTRAINT customer_region_fk FOREIGN KEY (region_code) REFERENCES region (code) ON UPDATE CASCADE ON DELETE SET NULL) ENGINE=InnoDB;
CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, n INT NOT NULL DEFAULT 0,
  UNIQUE KEY orders_customer_n (customer_id, n),
  CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE item (order_id INT NOT NULL, line INT NOT NULL, customer_id INT, n INT, qty INT,
  PRIMARY KEY (order_id, line),
  CONSTRAINT item_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT item_pair_fk FOREIGN KEY (customer_id, n) REFERENCES orders (customer_id, n) ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE invoice (id INT PRIMARY KEY, order_id INT NOT NULL,
  CONSTRAINT invoice_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)) ENGINE=InnoDB;
CREATE TABLE node (id INT PRIMARY KEY, parent_id INT,
  CONSTRAINT node_parent_fk FOREIGN KEY (parent_id) REFERENCES node (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO region VALUES (1, 'EU'), (2, 'US');
INSERT INTO customer VALUES (1, 'EU', 'ann'), (2, 'EU', 'bob'), (3, 'US', 'cy');
INSERT INTO orders VALUES (10, 1, 1), (11, 1, 2), (12, 2, 1), (13, 3, 1);
INSERT INTO item VALUES (10, 1, 1, 1, 5), (10, 2, 1, 1, 6), (11, 1, 1, 2, 1), (12, 1, 2, 1, 2), (13, 1, 3, 1, 9);
INSERT INTO invoice VALUES (1, 13);
INSERT INTO node VALUES (1, NULL), (2, 1), (3, 2), (4, 3), (5, 1), (6, NULL);
";

pub const TABLES: &[&str] = &["region", "customer", "orders", "item", "invoice", "node"];

/// Runs `sql` and returns (error code or 0, rows affected).
pub async fn outcome(conn: &mut Conn, sql: &str) -> (u16, u64, String) {
    match conn.query_drop(sql).await {
        Ok(()) => (0, conn.affected_rows(), String::new()),
        Err(mysql_async::Error::Server(e)) => (e.code, 0, e.message),
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Runs `sql` natively and through the gateway (databases `dbs`) and asserts the
/// same outcome: error code, rows affected, last insert id, and for FK errors
/// (1451, 1452, 1296) the message, database names aside; other errors only need
/// the same number. Returns the native error code (0: none).
pub async fn assert_same_outcome(
    native: &mut Conn,
    managed: &mut Conn,
    dbs: [&str; 2],
    sql: &str,
    context: &str,
) -> u16 {
    let a = outcome(native, sql).await;
    let a_id = native.last_insert_id();
    let b = outcome(managed, sql).await;
    let b_id = managed.last_insert_id();
    let fk_error = matches!(a.0, 1451 | 1452 | 1296);
    let msg = |m: &str, db: &str| if fk_error { m.replace(db, "DB") } else { String::new() };
    assert_eq!(
        (a.0, a.1, msg(&a.2, dbs[0])),
        (b.0, b.1, msg(&b.2, dbs[1])),
        "{context}: {sql}\nnative message: {}\nmanaged message: {}",
        a.2,
        b.2
    );
    assert_eq!(a_id, b_id, "{context}: {sql}: last insert id");
    a.0
}

/// Runs each statement through the managed gateway and natively, asserting the same
/// outcome (with messages naming the database normalized), then the same tables.
fn same_as_native(statements: &[&str]) {
    same_as_native_on(SCHEMA, TABLES, statements)
}

pub(crate) fn same_as_native_on(schema: &str, tables: &[&str], statements: &[&str]) {
    same_as_native_with(schema, tables, "managed", false, statements);
}

/// [`same_as_native_on`] in keyspace mode `mode`, with both clients asking for
/// CLIENT_FOUND_ROWS when `found_rows`. The outcomes, in order.
fn same_as_native_with(
    schema: &str,
    tables: &[&str],
    mode: &str,
    found_rows: bool,
    statements: &[&str],
) -> Vec<(u16, u64, String)> {
    same_as_native_then(schema, tables, mode, found_rows, statements, None).0
}

/// A statement's outcome: error code (0: none), rows affected, error message.
type Outcome = (u16, u64, String);

/// [`same_as_native_with`], then `query` on the gateway's database directly: the
/// outcomes, and the query's rows (none without a query).
fn same_as_native_then(
    schema: &str,
    tables: &[&str],
    mode: &str,
    found_rows: bool,
    statements: &[&str],
    query: Option<&str>,
) -> (Vec<Outcome>, Vec<Vec<String>>) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, mode);
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, found_rows).await;
        let mut outcomes = Vec::new();
        for sql in statements {
            let a = outcome(&mut n, sql).await;
            let b = outcome(&mut g, sql).await;
            let norm = |m: &str, db: &str| m.replace(db, "DB");
            assert_eq!(
                (a.0, a.1, norm(&a.2, &native.name)),
                (b.0, b.1, norm(&b.2, &managed.name)),
                "statement: {sql}"
            );
            outcomes.push(a);
        }
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, tables).await, dump(&mut m, tables).await);
        let found = match query {
            Some(q) => rows(&mut m, q).await,
            None => Vec::new(),
        };
        (outcomes, found)
    })
}

/// Clients that log in with CLIENT_FOUND_ROWS (Connector/J does by default) get
/// rows matched, not rows changed, for UPDATE and ON DUPLICATE KEY UPDATE, in
/// managed and unmanaged keyspaces alike, as natively.
#[test]
fn found_rows_clients_get_rows_matched_as_natively() {
    let statements = [
        // Three rows matched, none changed.
        "UPDATE customer SET name = name",
        // A referenced key set to itself, and re-keyed: cascades either way.
        "UPDATE region SET code = code WHERE id = 1",
        "UPDATE region SET code = IF(id = 1, 'EX', code)",
        // Children of orders: one changes, one stays.
        "UPDATE orders SET n = IF(id = 10, 5, n) WHERE customer_id = 1",
        // An upsert that sets the row to its own values counts 1 (0 without).
        "INSERT INTO customer VALUES (3, 'US', 'cy') ON DUPLICATE KEY UPDATE name = VALUES(name)",
        "INSERT INTO orders VALUES (13, 3, 1) ON DUPLICATE KEY UPDATE id = id",
        "DELETE FROM customer WHERE id = 2",
    ];
    let matched: Vec<u64> = vec![3, 1, 2, 2, 1, 1, 1];
    for mode in ["managed", "unmanaged"] {
        let found = same_as_native_with(SCHEMA, TABLES, mode, true, &statements);
        assert_eq!(
            found.iter().map(|o| o.1).collect::<Vec<_>>(),
            matched,
            "{mode}, found rows"
        );
        let changed = same_as_native_with(SCHEMA, TABLES, mode, false, &statements);
        assert_eq!(
            changed.iter().map(|o| o.1).collect::<Vec<_>>(),
            vec![0, 0, 1, 1, 0, 0, 1],
            "{mode}, rows changed"
        );
    }
}

#[test]
fn cascades_set_null_and_restrict_match_native() {
    same_as_native(&[
        // RESTRICT deep in the chain: customer 3 -> order 13 -> invoice 1.
        "DELETE FROM customer WHERE id = 3",
        // CASCADE two levels plus SET NULL on a multi-column FK.
        "DELETE FROM customer WHERE id = 2",
        // ON UPDATE CASCADE through a unique (non-PK) key, then on to orders/items.
        "UPDATE region SET code = 'EX' WHERE id = 1",
        // Expression SETs on a referenced key, several rows, set-based.
        "UPDATE orders SET id = id + 100 WHERE customer_id = 1",
        "UPDATE orders SET n = n * 10 WHERE id > 100",
        // ON DELETE SET NULL from region.
        "DELETE FROM region WHERE code = 'EX'",
        // Parent existence for child writes: 1452 with the native message.
        "INSERT INTO orders VALUES (20, 99, 1)",
        "UPDATE orders SET customer_id = 42 WHERE id = 13",
        "INSERT INTO item VALUES (13, 2, 3, 7, 1)",
        "INSERT INTO item VALUES (13, 2, 3, 1, 1)",
        // Self-referencing tree: ON DELETE CASCADE down every level.
        "DELETE FROM node WHERE id = 1",
        // No FK involvement at all.
        "INSERT INTO node VALUES (7, 6), (8, 7)",
        "UPDATE node SET id = 70 WHERE id = 8",
    ]);
}

#[test]
fn replace_and_upsert_match_native() {
    same_as_native(&[
        // REPLACE deletes the clashing row (by PK): its children cascade.
        "REPLACE INTO customer VALUES (1, 'US', 'ann2')",
        // REPLACE clashing on a unique key besides the PK, with a RESTRICT child.
        "REPLACE INTO orders VALUES (30, 3, 1)",
        // ... and without one.
        "REPLACE INTO orders VALUES (31, 2, 1)",
        "INSERT INTO region VALUES (2, 'XX') ON DUPLICATE KEY UPDATE id = id",
        "INSERT INTO orders VALUES (13, 3, 5) ON DUPLICATE KEY UPDATE id = id",
        // ON DUPLICATE KEY UPDATE that changes referenced keys: cascades and RESTRICT.
        "INSERT INTO orders VALUES (11, 1, 9) ON DUPLICATE KEY UPDATE n = VALUES(n) + 1",
        "INSERT INTO orders VALUES (10, 1, 7) ON DUPLICATE KEY UPDATE id = 40, n = id",
        "INSERT INTO orders VALUES (13, 3, 1) ON DUPLICATE KEY UPDATE id = 50",
        "INSERT INTO orders VALUES (60, 3, 1) ON DUPLICATE KEY UPDATE id = 61",
        "INSERT INTO customer VALUES (2, 'US', 'bob2') ON DUPLICATE KEY UPDATE name = VALUES(name)",
        "INSERT INTO region VALUES (3, 'US') ON DUPLICATE KEY UPDATE region.id = region.id",
    ]);
}

#[test]
fn self_reference_update_and_depth_limits_match_native() {
    let chain: Vec<String> = (101..=119).map(|i| format!("({i}, {})", i - 1)).collect();
    let insert = format!("INSERT INTO node VALUES (100, NULL), {}", chain.join(", "));
    same_as_native(&[
        &insert,
        // InnoDB refuses cascading an update into the table being updated.
        "UPDATE node SET id = 200 WHERE id = 100",
        "UPDATE node SET id = 219 WHERE id = 119",
        // A 20-level chain: deleting near its root cascades deeper than InnoDB allows.
        "DELETE FROM node WHERE id = 100",
        "DELETE FROM node WHERE id = 104",
        "DELETE FROM node WHERE id = 105",
        "DELETE FROM node WHERE id = 101",
    ]);
}

#[test]
fn explain_fk_shows_the_plan_and_runs_nothing() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let plan: Vec<String> = rows(&mut c, "EXPLAIN FK DELETE FROM customer WHERE id = 1")
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        let text = plan.join("\n");
        assert!(
            text.contains("2. lock and read rows deleted from `customer`: SELECT `id` FROM customer WHERE id = 1 FOR UPDATE"),
            "{text}"
        );
        assert!(
            text.contains("orders.orders_customer_fk (`customer_id`) CASCADE: DELETE FROM `orders` WHERE `customer_id` IN (<keys>)"),
            "{text}"
        );
        assert!(
            text.contains("invoice.invoice_order_fk (`order_id`) RESTRICT: check SELECT DISTINCT `order_id` FROM `invoice` WHERE `order_id` IN (<keys>) LOCK IN SHARE MODE -> error 1451 if a row"),
            "{text}"
        );
        assert!(
            text.contains("item.item_pair_fk (`customer_id`, `n`) SET NULL: UPDATE `item` SET `customer_id` = NULL, `n` = NULL WHERE (`customer_id`, `n`) IN (<keys>)"),
            "{text}"
        );
        assert_eq!(rows(&mut c, "SELECT COUNT(*) FROM orders").await, vec![vec!["4"]]);
    });
}

#[test]
fn a_failed_statement_inside_a_transaction_rolls_back_only_itself() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("BEGIN").await.expect("begin");
        c.query_drop("DELETE FROM customer WHERE id = 2")
            .await
            .expect("cascade");
        let e = server_error(
            c.query_drop("DELETE FROM customer WHERE id = 3")
                .await
                .expect_err("restricted"),
        );
        assert_eq!(e.0, 1451);
        // The failed statement's own work is undone, the earlier one stays.
        assert_eq!(
            rows(&mut c, "SELECT id FROM customer ORDER BY id").await,
            vec![vec!["1"], vec!["3"]]
        );
        assert_eq!(
            rows(&mut c, "SELECT id FROM orders ORDER BY id").await,
            vec![vec!["10"], vec!["11"], vec!["13"]]
        );
        c.query_drop("ROLLBACK").await.expect("rollback");
        assert_eq!(rows(&mut c, "SELECT COUNT(*) FROM orders").await, vec![vec!["4"]]);

        // foreign_key_checks = 0 turns the gateway's FK work off, as MariaDB does.
        c.query_drop("SET foreign_key_checks = 0").await.expect("off");
        c.query_drop("DELETE FROM customer WHERE id = 3")
            .await
            .expect("unchecked");
        assert_eq!(
            rows(&mut c, "SELECT COUNT(*) FROM orders WHERE customer_id = 3").await,
            vec![vec!["1"]]
        );
        c.query_drop("SET foreign_key_checks = 1").await.expect("on");
        c.query_drop("DELETE FROM customer WHERE id = 2")
            .await
            .expect("cascade");
        assert_eq!(
            rows(&mut c, "SELECT COUNT(*) FROM orders WHERE customer_id = 2").await,
            vec![vec!["0"]]
        );

        // Prepared statements are planned too.
        c.exec_drop("DELETE FROM customer WHERE id = ?", (1,))
            .await
            .expect("prepared cascade");
        assert_eq!(c.affected_rows(), 1);
        assert_eq!(rows(&mut c, "SELECT COUNT(*) FROM item").await, vec![vec!["1"]]);
    });
}

#[test]
fn unplannable_writes_get_a_clear_error() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let e = server_error(
            c.query_drop("UPDATE customer SET (id, name) = (9, 'x') WHERE id = 1")
                .await
                .expect_err("tuple"),
        );
        assert_eq!(e.0, 1105);
        assert!(
            e.2.contains("a tuple assignment is not supported in a managed keyspace"),
            "{}",
            e.2
        );
        let e = server_error(
            c.query_drop("UPDATE customer SET id = 9 WHERE")
                .await
                .expect_err("bad sql"),
        );
        assert_eq!(e.0, 1105);
        assert!(e.2.contains("cannot parse this write statement"), "{}", e.2);
        assert_eq!(rows(&mut c, "SELECT COUNT(*) FROM customer").await, vec![vec!["3"]]);
    });
}

/// A write naming no table with FKs or referred to by one is forwarded without
/// being parsed: what the gateway's parser cannot read reaches MariaDB (its own
/// error, MariaDB-only syntax), while the same text naming an FK table anywhere
/// (a comment too) is still parsed and refused.
#[test]
fn writes_naming_no_fk_table_are_forwarded_unparsed() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    db.exec("CREATE TABLE note (id INT PRIMARY KEY, body VARCHAR(20));");
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let e = server_error(
            c.query_drop("UPDATE note SET body = 'x' WHERE")
                .await
                .expect_err("bad sql"),
        );
        assert_eq!((e.0, e.1.as_str()), (1064, "42000"), "MariaDB's own error: {}", e.2);
        let returned: Vec<(i64, String)> = c
            .query("INSERT INTO note VALUES (1, 'a'), (2, 'b') RETURNING id, UPPER(body)")
            .await
            .expect("MariaDB's RETURNING");
        assert_eq!(returned, vec![(1, "A".to_string()), (2, "B".to_string())]);
        // A mention of an FK table sends the text through the parser.
        let e = server_error(
            c.query_drop("UPDATE note SET body = 'x' /* Customer */ WHERE")
                .await
                .expect_err("parsed"),
        );
        assert_eq!(e.0, 1105);
        assert!(e.2.contains("cannot parse this write statement"), "{}", e.2);
        // A managed write to an FK table is still planned (the cascade runs).
        c.query_drop("DELETE FROM customer WHERE id = 2")
            .await
            .expect("cascade");
        assert_eq!(
            rows(&mut c, "SELECT COUNT(*) FROM orders WHERE customer_id = 2").await,
            vec![vec!["0"]]
        );
        assert_eq!(
            rows(&mut c, "SELECT COUNT(*) FROM item WHERE order_id = 12").await,
            vec![vec!["0"]]
        );
        assert_eq!(rows(&mut c, "SELECT COUNT(*) FROM note").await, vec![vec!["2"]]);
    });
}

#[test]
fn parent_checks_of_child_writes_match_native() {
    same_as_native(&[
        // Multi-row inserts: a row may reference an earlier row, never a later one.
        "INSERT INTO node VALUES (20, NULL), (21, 20), (22, 21)",
        "INSERT INTO node VALUES (30, 31), (31, NULL)",
        // A row referencing itself: InnoDB checks after writing the row.
        "INSERT INTO node VALUES (40, 40)",
        // Values of another spelling or type compare as the server compares them.
        "INSERT INTO node VALUES (60, NULL), (61, 60.0), (62, '61'), (63, ' 62')",
        // MATCH SIMPLE: a NULL anywhere in a composite FK value skips the check.
        "INSERT INTO item VALUES (10, 9, NULL, 77, 1)",
        "INSERT INTO item VALUES (10, 10, 1, 77, 1)",
        // Strings compare with the column's collation.
        "INSERT INTO customer VALUES (9, 'eu', 'lower')",
        "INSERT INTO customer VALUES (10, 'ZZ', 'x')",
        // Row order decides which error wins: a duplicate key on an earlier row...
        "INSERT INTO orders VALUES (21, 1, 50), (10, 1, 51), (22, 99, 1)",
        // ... or a missing parent on an earlier row.
        "INSERT INTO orders VALUES (23, 99, 1), (10, 1, 52)",
        // Within a row, InnoDB's index order: item's PK starts with its FK column.
        "INSERT INTO item VALUES (10, 1, 1, 99, 1)",
        "INSERT INTO item VALUES (99, 5, 1, 99, 1)",
        // UPDATE of FK columns, any expression, several rows.
        "UPDATE orders SET customer_id = customer_id + 1 WHERE id = 13",
        "UPDATE item SET n = n + 1 WHERE order_id = 10",
        "UPDATE node SET parent_id = id + 1 WHERE id IN (20, 21)",
        "UPDATE node SET parent_id = id - 1 WHERE id IN (21, 22)",
        // ON DUPLICATE KEY UPDATE: the clashing row's new parent, else the new row's.
        "INSERT INTO orders VALUES (12, 3, 1) ON DUPLICATE KEY UPDATE customer_id = 77",
        "INSERT INTO orders VALUES (12, 3, 1) ON DUPLICATE KEY UPDATE customer_id = VALUES(customer_id)",
        "INSERT INTO orders VALUES (70, 77, 1) ON DUPLICATE KEY UPDATE n = 5",
        // REPLACE: its deletes cascade first; a parent they remove is gone.
        "REPLACE INTO node VALUES (2, 3)",
        "REPLACE INTO node VALUES (5, 5)",
        "REPLACE INTO node VALUES (2, 1)",
        // Several REPLACE rows stay with InnoDB's check (documented).
        "REPLACE INTO node VALUES (50, 2), (51, 50), (52, 99)",
    ]);
}

#[test]
fn a_missing_parent_fails_the_whole_statement_with_mariadbs_error() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let e = server_error(
            c.query_drop("INSERT INTO orders VALUES (20, 1, 7), (21, 99, 1)")
                .await
                .expect_err("no customer 99"),
        );
        assert_eq!(
            e,
            (
                1452,
                "23000".to_string(),
                format!(
                    "Cannot add or update a child row: a foreign key constraint fails (`{}`.`orders`, CONSTRAINT `orders_customer_fk` FOREIGN KEY (`customer_id`) REFERENCES `customer` (`id`) ON DELETE CASCADE ON UPDATE CASCADE)",
                    db.name
                )
            )
        );
        // Nothing of the statement stays, not even its first row.
        assert_eq!(rows(&mut c, "SELECT COUNT(*) FROM orders").await, vec![vec!["4"]]);
        let e = server_error(
            c.query_drop("UPDATE item SET customer_id = 2, n = 9 WHERE order_id = 10")
                .await
                .expect_err("no order (2, 9)"),
        );
        assert_eq!(e.0, 1452);
        assert!(e.2.contains("CONSTRAINT `item_pair_fk` FOREIGN KEY (`customer_id`, `n`) REFERENCES `orders` (`customer_id`, `n`)"), "{}", e.2);

        // Prepared statements too (planned again with their parameters inlined).
        let e = server_error(
            c.exec_drop("INSERT INTO orders VALUES (?, ?, ?)", (20, 99, 1))
                .await
                .expect_err("no customer 99"),
        );
        assert_eq!((e.0, e.1.as_str()), (1452, "23000"), "{}", e.2);
        c.exec_drop("INSERT INTO orders VALUES (?, ?, ?)", (20, 3, 2))
            .await
            .expect("customer 3 exists");
        assert_eq!(c.affected_rows(), 1);

        // The plan shows the probe; the original runs with the backend's checks off.
        let plan: Vec<String> = rows(&mut c, "EXPLAIN FK INSERT INTO orders VALUES (20, 1, 7)")
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        let text = plan.join("\n");
        assert!(
            text.contains("3. all checks passed: SET foreign_key_checks = 0; INSERT INTO orders VALUES (20, 1, 7); SET foreign_key_checks = 1"),
            "{text}"
        );
        assert!(
            text.contains("orders.orders_customer_fk (`customer_id`) -> `customer` (`id`): SELECT `id` FROM `customer` WHERE `id` IN (<keys>) LOCK IN SHARE MODE -> error 1452"),
            "{text}"
        );
        // Keys other than integers are compared by the server.
        let plan: Vec<String> = rows(&mut c, "EXPLAIN FK INSERT INTO customer VALUES (9, 'eu', 'x')")
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        let text = plan.join("\n");
        assert!(
            text.contains("customer.customer_region_fk (`region_code`) -> `region` (`code`): SELECT CONCAT_WS(',', <which of the keys>) FROM `region` WHERE `code` IN (<keys>) LOCK IN SHARE MODE -> error 1452"),
            "{text}"
        );
    });
}

#[test]
fn checked_parents_stay_locked_until_commit() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("BEGIN").await.expect("begin");
        c.query_drop("INSERT INTO orders VALUES (20, 3, 7)")
            .await
            .expect("customer 3 exists");
        // Another session cannot delete the parent the insert checked (a shared
        // lock, as InnoDB's own check takes), so the child cannot be orphaned.
        let mut other = direct(&db).await;
        other
            .query_drop("SET SESSION innodb_lock_wait_timeout = 1")
            .await
            .expect("timeout");
        let e = server_error(
            other
                .query_drop("UPDATE customer SET id = 33 WHERE id = 3")
                .await
                .expect_err("locked"),
        );
        assert_eq!(e.0, 1205, "{}", e.2);
        c.query_drop("COMMIT").await.expect("commit");
        assert_eq!(
            rows(&mut c, "SELECT customer_id FROM orders WHERE id = 20").await,
            vec![vec!["3"]]
        );
    });
}

#[test]
fn self_referencing_restrict_follows_the_delete_order() {
    let schema = "
CREATE TABLE sr (id INT PRIMARY KEY, parent_id INT,
  CONSTRAINT sr_fk FOREIGN KEY (parent_id) REFERENCES sr (id)) ENGINE=InnoDB;
INSERT INTO sr VALUES (1, NULL), (2, 1), (3, 2), (4, 4), (5, NULL), (6, 5), (7, 6);
";
    same_as_native_on(
        schema,
        &["sr"],
        &[
            // The parent comes first in the scan: its child still exists.
            "DELETE FROM sr WHERE id IN (2, 3)",
            // The child comes first: gone when MariaDB reaches the parent.
            "DELETE FROM sr WHERE id IN (2, 3) ORDER BY id DESC",
            // A row referencing itself cannot be deleted.
            "DELETE FROM sr WHERE id = 4",
            "DELETE FROM sr WHERE id >= 5 ORDER BY id DESC LIMIT 2",
            "DELETE FROM sr WHERE id >= 5",
            "DELETE FROM sr ORDER BY id DESC",
        ],
    );
}

/// Re-keying hundreds of parents in one statement: every child moves to its own
/// parent's new key (a single-column FK, a two-column one, a self-reference), in
/// the order MariaDB re-keys the parents, which a unique key on the children makes
/// visible: in any other order a child lands on a key another child still holds.
/// Should the plan's child statement fail, the gateway would run the original
/// natively and still match; a trigger counts the children the plan's own
/// statements moved (InnoDB's cascades fire no triggers), so it must not.
#[test]
fn rekeying_many_parents_matches_native() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY, grp INT NOT NULL, UNIQUE KEY p_grp_id (grp, id)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL, n INT NOT NULL, UNIQUE KEY c_p_n (p_id, n),
  CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE m (id INT PRIMARY KEY, grp INT, p_id INT,
  CONSTRAINT m_pair_fk FOREIGN KEY (grp, p_id) REFERENCES p (grp, id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE tree (id INT PRIMARY KEY, parent_id INT,
  CONSTRAINT tree_parent_fk FOREIGN KEY (parent_id) REFERENCES tree (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p SELECT seq, seq % 7 FROM seq_1_to_450;
INSERT INTO c SELECT seq, 1 + seq % 450, seq DIV 450 FROM seq_1_to_1800;
INSERT INTO m SELECT seq, (1 + seq % 450) % 7, 1 + seq % 450 FROM seq_1_to_900;
INSERT INTO tree SELECT seq, IF(seq > 450, seq - 450, NULL) FROM seq_1_to_900;
SET foreign_key_checks = 0;
INSERT INTO c VALUES (100037, 1037, 0), (100200, 1200, 1), (100420, 1420, 2);
SET foreign_key_checks = 1;
CREATE TABLE c_moved (id INT NOT NULL) ENGINE=InnoDB;
-- Named like the online migrator's capture triggers, the only triggers the gateway
-- lets fire on its own statements (any other makes the write run as InnoDB runs it).
CREATE TRIGGER _tether_c_moves AFTER UPDATE ON c FOR EACH ROW INSERT INTO c_moved VALUES (NEW.id);
";
    let (outcomes, moved) = same_as_native_then(
        schema,
        &["p", "c", "m", "tree"],
        "managed",
        false,
        &[
            // Orphans hold three of the new keys: the first parent re-keyed onto
            // one of them, going down, fails.
            "UPDATE p SET id = id + 1000 ORDER BY id DESC",
            "DELETE FROM c WHERE id >= 100000",
            "UPDATE p SET id = id + 1000 ORDER BY id DESC",
            "UPDATE p SET id = id - 999 ORDER BY id",
            // Each parent onto the key the next one leaves: only this order works.
            "UPDATE p SET id = id + 1 ORDER BY id DESC",
            "UPDATE p SET id = id - 1 ORDER BY id",
            "UPDATE p SET id = id + 1",
            // Keys re-keyed in no numeric order, onto keys out of order.
            "UPDATE p SET id = 5000 + (id * 7) % 450 ORDER BY (id * 13) % 450",
            // The two-column FK's first column, then its second.
            "UPDATE p SET grp = 6 - grp ORDER BY id DESC",
            "UPDATE p SET id = id - 2000 ORDER BY (id * 11) % 450",
            // Even keys away, then each odd key onto the even one above it, both
            // going down: only this order of the children works.
            "UPDATE p SET id = IF(id % 2 = 0, id + 1000, id + 1) ORDER BY id % 2, id DESC",
            // Leaves of a self-reference, then rows with children, which InnoDB
            // refuses to cascade into the table being updated.
            "UPDATE tree SET id = id + 1000 WHERE id > 450 ORDER BY id DESC",
            "UPDATE tree SET id = id + 1000 WHERE id <= 450",
            "DELETE FROM p WHERE id > 3100",
        ],
        Some("SELECT COUNT(*), COUNT(DISTINCT id) FROM c_moved"),
    );
    // Seven statements re-key every parent of `c` (one more every row of `tree`):
    // each moves all 1,800 children.
    let rekeyed = outcomes.iter().filter(|o| o.0 == 0 && o.1 == 450).count();
    assert_eq!(rekeyed, 8, "{outcomes:?}");
    assert_eq!(moved, [["12600", "1800"]]);
}

/// An UPDATE that changes both columns a two-column ON UPDATE CASCADE FK
/// references: each child's new columns come from its old key, both columns of it
/// (the cascade's assignments run at once, not left to right), for a few parents
/// (one `WHEN` per key) and for many (the search by halves).
#[test]
fn a_two_column_cascade_changing_both_columns_matches_native() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY, grp INT NOT NULL, UNIQUE KEY p_grp_id (grp, id)) ENGINE=InnoDB;
CREATE TABLE m (id INT PRIMARY KEY, grp INT, p_id INT,
  CONSTRAINT m_pair_fk FOREIGN KEY (grp, p_id) REFERENCES p (grp, id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p SELECT seq, seq % 7 FROM seq_1_to_60;
INSERT INTO m SELECT seq, (1 + seq % 60) % 7, 1 + seq % 60 FROM seq_1_to_120;
";
    let (outcomes, moved) = same_as_native_then(
        schema,
        &["p", "m"],
        "managed",
        false,
        &[
            "UPDATE p SET grp = 6 - grp, id = id + 2000 WHERE id <= 3",
            "UPDATE p SET grp = 6 - grp, id = id + 1000 WHERE id > 3",
        ],
        Some("SELECT COUNT(*) FROM m JOIN p ON (p.grp, p.id) = (m.grp, m.p_id)"),
    );
    assert_eq!(
        outcomes.iter().map(|o| (o.0, o.1)).collect::<Vec<_>>(),
        vec![(0, 3), (0, 60)]
    );
    assert_eq!(moved, [["120"]], "every child still has its parent");
}

/// INSERT IGNORE ... ON DUPLICATE KEY UPDATE whose update would re-key a parent
/// onto an existing key: MariaDB skips the update with a warning, and the children
/// stay where they are.
#[test]
fn an_ignored_re_key_leaves_the_children_alone() {
    same_as_native(&[
        "INSERT IGNORE INTO orders VALUES (10, 1, 1) ON DUPLICATE KEY UPDATE id = 11",
        "INSERT IGNORE INTO orders VALUES (10, 1, 1) ON DUPLICATE KEY UPDATE id = 20",
    ]);
    same_as_native_on(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, p_id INT,
           CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
         INSERT INTO p VALUES (1, 0), (2, 0); INSERT INTO c VALUES (10, 1);",
        &["p", "c"],
        &[
            "INSERT IGNORE INTO p (id) VALUES (1) ON DUPLICATE KEY UPDATE id = 2",
            "INSERT IGNORE INTO p (id) VALUES (1) ON DUPLICATE KEY UPDATE id = 3",
        ],
    );
}

/// Under sql_mode NO_BACKSLASH_ESCAPES the server reads `\` literally where the
/// gateway's parser and its rendered cascades treat it as an escape (a key `Z\`
/// would be looked up as `Z\\` and its children left behind): writes with FK work
/// are refused before anything runs; reads and writes without FK work pass; with
/// the mode reset the same write cascades.
#[test]
fn writes_with_fk_work_are_refused_under_no_backslash_escapes() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    db.exec(
        "INSERT INTO region VALUES (3, 'Z\\\\'); INSERT INTO customer VALUES (4, 'Z\\\\', 'dee');
         CREATE TABLE note (id INT PRIMARY KEY, body VARCHAR(20)) ENGINE=InnoDB",
    );
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
            .await
            .expect("sql_mode");
        let before = dump(&mut c, TABLES).await;
        for sql in [
            "UPDATE region SET code = 'QQ' WHERE id = 3",
            "DELETE FROM customer WHERE id = 1",
            "DELETE FROM region WHERE code = 'Z\\'",
        ] {
            let (code, _, message) = outcome(&mut c, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains("NO_BACKSLASH_ESCAPES"), "{sql}: {message}");
        }
        assert_eq!(dump(&mut c, TABLES).await, before);
        assert_eq!(
            rows(&mut c, "SELECT region_code FROM customer WHERE id = 4").await,
            vec![vec!["Z\\"]]
        );
        assert_eq!(outcome(&mut c, "INSERT INTO note VALUES (1, 'a\\b')").await.0, 0);
        assert_eq!(rows(&mut c, "SELECT body FROM note").await, vec![vec!["a\\b"]]);
        c.query_drop("SET SESSION sql_mode = DEFAULT").await.expect("sql_mode");
        assert_eq!(
            outcome(&mut c, "UPDATE region SET code = 'QQ' WHERE id = 3").await,
            (0, 1, String::new())
        );
        assert_eq!(
            rows(&mut c, "SELECT region_code FROM customer WHERE id = 4").await,
            vec![vec!["QQ"]]
        );
    });
}

/// A child whose FK value is spelled otherwise than its parent's key (another case,
/// trailing spaces, ZEROFILL digits) still passes the new key on to its own
/// children: the gateway looked the child's spelling up among the parents' and,
/// not finding it, left the grandchildren as they were (orphans) and skipped their
/// RESTRICT checks.
#[test]
fn cascades_go_on_past_children_spelling_their_key_otherwise() {
    let schema = "
        CREATE TABLE p (code varchar(10) PRIMARY KEY, v int);
        CREATE TABLE c (id int PRIMARY KEY, code varchar(10), KEY (code),
          FOREIGN KEY (code) REFERENCES p (code) ON UPDATE CASCADE ON DELETE CASCADE);
        CREATE TABLE gc (id int PRIMARY KEY, code varchar(10),
          FOREIGN KEY (code) REFERENCES c (code) ON UPDATE CASCADE ON DELETE CASCADE);
        CREATE TABLE r (id int PRIMARY KEY, code varchar(10), FOREIGN KEY (code) REFERENCES c (code));
        CREATE TABLE n (id int unsigned PRIMARY KEY, v int);
        CREATE TABLE nc (id int PRIMARY KEY, nid int(10) unsigned zerofill, KEY (nid),
          FOREIGN KEY (nid) REFERENCES n (id) ON UPDATE CASCADE);
        CREATE TABLE ngc (id int PRIMARY KEY, nid int(10) unsigned zerofill,
          FOREIGN KEY (nid) REFERENCES nc (nid) ON UPDATE CASCADE);
        INSERT INTO p VALUES ('abc', 1), ('def', 2), ('ghi', 3);
        INSERT INTO c VALUES (1, 'ABC'), (2, 'def '), (3, 'GHI');
        INSERT INTO gc VALUES (1, 'ABC'), (2, 'def'), (3, 'ghi');
        INSERT INTO r VALUES (1, 'Ghi');
        INSERT INTO n VALUES (1, 1), (2, 2);
        INSERT INTO nc VALUES (1, 1), (2, 2);
        INSERT INTO ngc VALUES (1, 1), (2, 2);";
    same_as_native_on(
        schema,
        &["p", "c", "gc", "r", "n", "nc", "ngc"],
        &[
            "UPDATE p SET code = concat('x', code) WHERE code IN ('abc', 'def')",
            "UPDATE p SET code = 'zzz' WHERE code = 'ghi'",
            "DELETE FROM r",
            "UPDATE p SET code = 'zzz' WHERE code = 'ghi'",
            "UPDATE n SET id = id + 10",
            "DELETE FROM p WHERE code = 'xabc'",
        ],
    );
}

/// ON UPDATE CASCADE into a child column narrower than the new key: InnoDB refuses
/// it (1451), trailing spaces included, where the gateway's child UPDATE cut the
/// value (an orphan without strict mode).
#[test]
fn a_cascaded_key_that_does_not_fit_the_child_column_is_refused() {
    let schema = "
        CREATE TABLE p (code varchar(10) PRIMARY KEY, v int);
        CREATE TABLE c (id int PRIMARY KEY, code varchar(3),
          FOREIGN KEY (code) REFERENCES p (code) ON UPDATE CASCADE ON DELETE CASCADE);
        INSERT INTO p VALUES ('abc', 1), ('xyz', 2), ('q', 3);
        INSERT INTO c VALUES (1, 'abc'), (2, 'xyz');";
    same_as_native_on(
        schema,
        &["p", "c"],
        &[
            "UPDATE p SET code = 'xyz  ' WHERE code = 'xyz'",
            "SET sql_mode = ''",
            "UPDATE p SET code = 'abcdef' WHERE code = 'abc'",
            "UPDATE p SET code = 'qqqqqq' WHERE code = 'q'",
            "UPDATE p SET code = 'ab' WHERE code = 'abc'",
        ],
    );
}

/// Executable comments are read as the backend reads them (MariaDB 10.11 here): a
/// versioned one above the server's version is a comment, MariaDB's `/*M!` runs,
/// a write inside one runs as a write. The gateway plans and runs that text: no
/// child cascaded for a parent the server keeps, none left for one it deletes.
#[test]
fn executable_comments_are_planned_as_the_server_runs_them() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9);
INSERT INTO c VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9);
";
    let (_, orphans) = same_as_native_then(
        schema,
        &["p", "c"],
        "managed",
        false,
        &[
            "DELETE FROM p WHERE id = 3 /*M!100000 OR id = 4 */",
            "DELETE FROM p WHERE id = 1 /*!110000 OR id = 2 */",
            "UPDATE p SET id = id + 100 WHERE id = 5 /*!110000 OR id = 6 */",
            "/*!50000 DELETE FROM p WHERE id = 7 */",
            // In a string the markers are text; a skipped comment ends at its first `*/`.
            "UPDATE p SET id = 18 WHERE v = '/*!100000 1 OR */' OR id = 8 /*!990000 OR id = 9 /* nested */ */",
        ],
        Some("SELECT c.id FROM c LEFT JOIN p ON p.id = c.pid WHERE p.id IS NULL"),
    );
    assert_eq!(orphans, Vec::<Vec<String>>::new());
}

/// In a managed keyspace a write through a view over FK tables is refused (InnoDB
/// would cascade it, out of the planner's sight); one through a view over FK-free
/// tables runs.
#[test]
fn writes_through_views_over_fk_tables_are_refused() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, pid INT,
           FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
         CREATE TABLE loner (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         INSERT INTO p VALUES (1, 1), (2, 2);
         INSERT INTO c VALUES (1, 1), (2, 2);
         INSERT INTO loner VALUES (1, 1);
         CREATE VIEW pv AS SELECT * FROM p;
         CREATE VIEW cv AS SELECT * FROM c WHERE pid > 0;
         CREATE VIEW pvv AS SELECT * FROM pv;
         CREATE VIEW lv AS SELECT * FROM loner;",
    );
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let tables = ["p", "c", "loner"];
        let before = dump(&mut g, &tables).await;
        for (sql, view) in [
            ("DELETE FROM pv WHERE id = 1", "pv"),
            ("UPDATE pv SET id = 20 WHERE id = 2", "pv"),
            ("REPLACE INTO pv VALUES (1, 5)", "pv"),
            ("INSERT INTO cv VALUES (3, 1)", "cv"),
            ("DELETE FROM pvv WHERE id = 1", "pvv"),
            ("UPDATE IGNORE pv SET id = 20 WHERE id = 2", "pv"),
        ] {
            let expected = format!(
                "tether gateway: keyspace `ks` is managed: a write through the view `{view}` is refused (it reads \
                 tables with foreign keys, whose cascades the gateway runs only for writes to the tables \
                 themselves); write to its base table instead"
            );
            assert_eq!(outcome(&mut g, sql).await, (1105, 0, expected), "{sql}");
        }
        assert_eq!(dump(&mut g, &tables).await, before);
        assert_eq!(
            outcome(&mut g, "UPDATE lv SET v = 5 WHERE id = 1").await,
            (0, 1, String::new())
        );
        assert_eq!(
            outcome(&mut g, "INSERT INTO loner SELECT id + 10, v FROM pv").await,
            (0, 2, String::new())
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM loner ORDER BY id").await,
            vec![vec!["1", "5"], vec!["11", "1"], vec!["12", "2"]]
        );
    });
}

/// A planned write that loses a deadlock inside the client's transaction: InnoDB
/// rolled the whole transaction back, savepoint included, so the gateway does not
/// roll back to it; SHOW WARNINGS shows the deadlock, not a missing savepoint.
#[test]
fn a_deadlock_inside_a_transaction_leaves_its_own_error_in_show_warnings() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, pid INT,
           FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
         INSERT INTO p VALUES (1, 1), (2, 2);
         INSERT INTO c VALUES (1, 1), (2, 2);",
    );
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let (mut a, mut b) = (gw.connect("ks").await, gw.connect("ks").await);
        for (conn, id) in [(&mut a, 1), (&mut b, 2)] {
            conn.query_drop("BEGIN").await.expect("begin");
            conn.query_drop(format!("UPDATE p SET v = 0 WHERE id = {id}"))
                .await
                .expect("lock");
        }
        // Each deletes the parent the other holds: one of them is the victim.
        let first = async { outcome(&mut a, "DELETE FROM p WHERE id = 2").await };
        let second = async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            outcome(&mut b, "DELETE FROM p WHERE id = 1").await
        };
        let (first, second) = tokio::join!(first, second);
        let victim = match (first.0, second.0) {
            (1213, 0) => &mut a,
            (0, 1213) => &mut b,
            other => panic!("one deadlock victim expected: {other:?} ({first:?}, {second:?})"),
        };
        let codes: Vec<String> = rows(victim, "SHOW WARNINGS")
            .await
            .into_iter()
            .map(|r| r[1].clone())
            .collect();
        assert_eq!(codes, vec!["1213"]);
        a.query_drop("ROLLBACK").await.expect("rollback");
        b.query_drop("ROLLBACK").await.expect("rollback");
    });
}

/// `LOAD DATA ... REPLACE` into a table FKs refer to is refused in a managed
/// keyspace (InnoDB would cascade to the children of the rows it replaces); other
/// loads reach MariaDB (here to fail there: the file does not exist).
#[test]
fn load_data_replace_into_a_parent_is_refused() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let before = dump(&mut g, TABLES).await;
        assert_eq!(
            outcome(
                &mut g,
                "LOAD DATA INFILE '/nonexistent/customer.txt' REPLACE INTO TABLE `customer` (id)"
            )
            .await,
            (
                1105,
                0,
                "tether gateway: keyspace `ks` is managed: LOAD DATA ... REPLACE into `customer` is refused (other \
                 tables' foreign keys refer to it, and the children of the rows it replaces would be cascaded by \
                 InnoDB, out of the gateway's plans); load with IGNORE, or into a staging table and REPLACE ... \
                 SELECT from it"
                    .to_string()
            )
        );
        for sql in [
            "LOAD DATA INFILE '/nonexistent/customer.txt' IGNORE INTO TABLE customer",
            "LOAD DATA INFILE '/nonexistent/invoice.txt' REPLACE INTO TABLE invoice",
        ] {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert!(code != 0 && code != 1105, "{sql}: {code} {message}");
        }
        assert_eq!(dump(&mut g, TABLES).await, before);
    });
}

/// Tables whose rows a `REPLACE ... SELECT` reads while its cascades change them.
const READ_WHILE_CASCADED: &str = "
    CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
    CREATE TABLE c (id INT PRIMARY KEY, pid INT,
      FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
    CREATE TABLE n (id INT PRIMARY KEY, pid INT,
      FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL) ENGINE=InnoDB;
    CREATE TABLE t (id INT PRIMARY KEY, par INT, v INT,
      FOREIGN KEY (par) REFERENCES t (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
    INSERT INTO p VALUES (1, 1), (2, 2);
    INSERT INTO c VALUES (1, 1), (2, 2);
    INSERT INTO n VALUES (1, 1), (2, 2);
    INSERT INTO t VALUES (11, NULL, 0), (12, 11, 0), (13, 12, 0);";

/// A `REPLACE ... SELECT` writes the rows its SELECT gives before any of its
/// cascades ran (the plan's cascades used to run first, and the statement
/// replaced nothing, or lost a row it wrote): rows and counts as natively.
#[test]
fn replace_select_writes_the_rows_read_before_its_cascades() {
    same_as_native_on(
        READ_WHILE_CASCADED,
        &["p", "c", "n", "t"],
        &[
            // Each row's replace cascades to the child row it was read from.
            "REPLACE INTO p SELECT c.pid, 7 FROM c",
            // MariaDB reads a SELECT of the table it writes whole first: row 12
            // is written although the replace of 11 cascaded to it (and to 13).
            "REPLACE INTO t SELECT id, par, v + 1 FROM t WHERE id IN (11, 12)",
            // The cascade (SET NULL) reaches a table the SELECT does not read.
            "REPLACE INTO p SELECT id + 1, id FROM p ORDER BY id DESC",
            // The SELECT reads a table no cascade reaches.
            "REPLACE INTO p (id) SELECT id FROM t",
        ],
    );
}

/// Where a cascade may change rows the SELECT has not read yet (MariaDB reads
/// another table's rows as it writes) and nothing shows the rows read first are
/// MariaDB's, the statement is refused and changes nothing.
#[test]
fn replace_select_reading_rows_its_cascades_change_first_is_refused() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(READ_WHILE_CASCADED);
    db.exec("INSERT INTO c VALUES (3, 1)");
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let tables = ["p", "c", "n", "t"];
        let before = dump(&mut g, &tables).await;
        let refused = |table: &str| {
            format!(
                "tether gateway: keyspace `ks` is managed: a REPLACE ... SELECT into `{table}` whose cascades may \
                 change rows its SELECT has not read yet is refused (the gateway could not reproduce InnoDB's rows \
                 and result for it; see docs/gateway.md, Limits)"
            )
        };
        for sql in [
            // Natively the replace of p 1 deletes c 3 before it is read: 4 rows
            // affected; the rows read first would give 6.
            "REPLACE INTO p SELECT pid, id FROM c",
            // SET NULL changes n's rows rather than removing them.
            "REPLACE INTO p SELECT id, pid FROM n",
        ] {
            assert_eq!(outcome(&mut g, sql).await, (1105, 0, refused("p")), "{sql}");
        }
        assert_eq!(dump(&mut g, &tables).await, before);
    });
}

/// Forms whose read side is a table the cascades change, checked with the fix
/// above: an INSERT ... SELECT ... ON DUPLICATE KEY UPDATE (InnoDB runs it), and
/// multi-table statements and subqueries (the original runs before the
/// cascades, or the rows the native run deleted are deleted by key).
#[test]
fn other_writes_reading_tables_their_cascades_change_match_native() {
    same_as_native_on(
        READ_WHILE_CASCADED,
        &["p", "c", "n", "t"],
        &[
            "INSERT INTO p SELECT c.pid, 5 FROM c ON DUPLICATE KEY UPDATE v = p.v + 10",
            "UPDATE p JOIN c ON c.pid = p.id SET p.id = p.id + 10, c.id = c.id + 100",
            "DELETE p FROM p JOIN n ON n.pid = p.id WHERE n.id = 1",
            "UPDATE t SET par = NULL, id = id + 100 WHERE id IN (SELECT 11 UNION SELECT 12)",
            "DELETE t FROM t JOIN (SELECT id FROM t) d ON d.id = t.par",
        ],
    );
}

/// `SET foreign_key_checks` to a value the text does not say (`= @saved`, restoring
/// what a script saved; one of a list) is followed as the backend took it: the
/// gateway kept planning cascades and checks the backend no longer made, so a child
/// with no parent got 1452 where MariaDB takes it, and a parent's delete cascaded.
#[test]
fn foreign_key_checks_set_from_a_variable_are_followed() {
    let schema = "
        CREATE TABLE p (id int PRIMARY KEY, v int);
        CREATE TABLE c (id int PRIMARY KEY, pid int, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE);
        INSERT INTO p VALUES (1, 1), (2, 2); INSERT INTO c VALUES (1, 1), (2, 2);";
    same_as_native_on(
        schema,
        &["p", "c"],
        &[
            "SET @saved = @@foreign_key_checks, @off = 0",
            "SET foreign_key_checks = @off",
            "INSERT INTO c VALUES (3, 9)",
            "DELETE FROM p WHERE id = 1",
            "SET @x = 1, foreign_key_checks = @saved",
            "INSERT INTO c VALUES (4, 8)",
            "/*!40014 SET FOREIGN_KEY_CHECKS=0 */",
            "INSERT INTO c VALUES (5, 7)",
            "/*!40014 SET FOREIGN_KEY_CHECKS=@saved */",
            "DELETE FROM p WHERE id = 2",
        ],
    );
}
