//! Review findings on managed sharded keyspaces (issue 16, review 3): what the
//! gateway neither plans nor knows to be a read or a session statement is refused
//! with 1105 naming the form and the keyspace, since the head enforces no FK. Each
//! statement here was forwarded unchecked before and left orphans (native InnoDB
//! gives 1451 / 1452 / 1701 for them).

use mysql_async::prelude::Queryable;

use crate::sharded_managed::{code_of, managed_keyspace, orphans, sharded_schema, vschema, NAMES};
use crate::support::{dump, start_json};
use tether_testkit::spider;

const SETUP: &str = "INSERT INTO customer (id) VALUES (1), (2); INSERT INTO item (id) VALUES (1), (2), (3);
     INSERT INTO orders (customer_id, id, item_id) VALUES (1, 1, 1); INSERT INTO review VALUES (10, 1)";

fn refused(code: u16, message: &str, sql: &str, form: &str) {
    assert_eq!(code, 1105, "{sql}: {message}");
    assert!(
        message.contains("keyspace `ks` is sharded and managed") && message.contains(form),
        "{sql}: {message}"
    );
}

/// Finding 1: writes hidden from the router (comments, several statements,
/// PREPARE / EXECUTE, routines, compound statements, SET STATEMENT, XA) are
/// refused; a write after a plain comment is planned like one without.
#[test]
fn writes_the_gateway_does_not_plan_are_refused() {
    let (db, gw) = managed_keyspace(SETUP);
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let before = dump(&mut g, NAMES).await;
        for (sql, form) in [
            ("/*! DELETE FROM item WHERE id = 1 */", "executable comment"),
            ("/*!100000 DELETE FROM item WHERE id = 1 */", "executable comment"),
            (
                "SELECT 1; DELETE FROM item WHERE id = 1",
                "several statements with a write",
            ),
            (
                "DO 1; INSERT INTO review VALUES (21, 98)",
                "several statements with a write",
            ),
            ("PREPARE s FROM 'DELETE FROM item WHERE id = 1'", "PREPARE / EXECUTE"),
            ("EXECUTE IMMEDIATE 'DELETE FROM item WHERE id = 1'", "PREPARE / EXECUTE"),
            ("CREATE PROCEDURE p() DELETE FROM item WHERE id = 1", "CREATE PROCEDURE"),
            ("CALL p()", "CALL"),
            (
                "BEGIN NOT ATOMIC INSERT INTO review VALUES (50, 77); END",
                "compound statement",
            ),
            (
                "SET STATEMENT max_statement_time = 100 FOR DELETE FROM item WHERE id = 1",
                "SET STATEMENT",
            ),
            ("XA START 'r24'", "XA transaction"),
            ("LOAD DATA INFILE '/nonexistent' INTO TABLE review", "LOAD DATA"),
        ] {
            let (code, message) = code_of(&mut g, sql).await;
            refused(code, &message, sql, form);
        }
        assert_eq!(dump(&mut g, NAMES).await, before);
        // A plain comment before a write hides nothing: planned, checked.
        for sql in [
            "/* c */ DELETE FROM item WHERE id = 1",
            "-- c\nDELETE FROM item WHERE id = 1",
            "# c\nDELETE FROM item WHERE id = 1",
            // Finding 11: modifiers that change nothing are read past.
            "DELETE LOW_PRIORITY QUICK FROM item WHERE id = 1",
        ] {
            assert_eq!(code_of(&mut g, sql).await.0, 1451, "{sql}");
        }
        assert_eq!(
            code_of(&mut g, "/* c */ INSERT INTO review VALUES (21, 98)").await.0,
            1452
        );
        match g.exec_drop("/* c */ INSERT INTO review VALUES (?, ?)", (60, 96)).await {
            Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1452, "{}", e.message),
            other => panic!("an orphan through a prepared, commented INSERT: {other:?}"),
        }
        assert_eq!(dump(&mut g, NAMES).await, before);
        // Reads and session statements pass.
        for sql in [
            "SELECT 1; SELECT 2",
            "/*!40101 SET NAMES utf8mb4 */",
            "SHOW TABLES",
            "SET autocommit = 1",
            "BEGIN",
            "SELECT id FROM item FOR UPDATE",
            "COMMIT",
            "START TRANSACTION",
            "ROLLBACK",
            "EXPLAIN SELECT * FROM item",
        ] {
            let (code, message) = code_of(&mut g, sql).await;
            assert_eq!(code, 0, "{sql}: {message}");
        }
        // The commented write that is allowed runs with its FK work: SET NULL.
        assert_eq!(code_of(&mut g, "/* c */ DELETE FROM item WHERE id = 2").await.0, 0);
        assert_eq!(g.affected_rows(), 1);
        // Finding 9: a duplicate key found by value, as MariaDB meets it before the FK.
        assert_eq!(code_of(&mut g, "INSERT INTO review VALUES (10.0, 99)").await.0, 1062);
        // Finding 10: a DELETE ... LIMIT of rows nobody references counts as natively.
        assert_eq!(code_of(&mut g, "INSERT INTO review VALUES (11, 1), (12, 1)").await.0, 0);
        assert_eq!(code_of(&mut g, "DELETE FROM review WHERE id >= 11 LIMIT 1").await.0, 0);
        assert_eq!(g.affected_rows(), 1);
        assert_eq!(
            code_of(&mut g, "DELETE FROM review ORDER BY id DESC LIMIT 5").await.0,
            0
        );
        assert_eq!(g.affected_rows(), 2);
    });
    assert_eq!(orphans(&db), Vec::<String>::new(), "orphans on the nodes");
}

/// Findings 2 and 3: DROP / TRUNCATE / RENAME of a table of the FK graph, triggers,
/// views and routines are refused; writes through a view made behind the gateway
/// are refused; a temporary table named like a keyspace table is refused, one of
/// another name is written freely.
#[test]
fn ddl_that_would_hide_or_break_fks_is_refused() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    sharded_schema(&db);
    db.exec_head(SETUP);
    db.exec_head("CREATE VIEW vr AS SELECT * FROM review");
    let gw = start_json(&vschema(&db.head_url()), "");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let before = dump(&mut g, NAMES).await;
        for (sql, form) in [
            ("TRUNCATE TABLE item", "TRUNCATE of `item`"),
            ("DROP TABLE item", "DROP of `item`"),
            ("DROP TABLE IF EXISTS ks_other, review", "DROP of `review`"),
            ("RENAME TABLE item TO item_old", "RENAME of `item`"),
            ("ALTER TABLE item RENAME TO item_old", "ALTER ... RENAME naming `item`"),
            (
                "CREATE TRIGGER tr AFTER INSERT ON customer FOR EACH ROW DELETE FROM item WHERE id = NEW.v",
                "CREATE TRIGGER",
            ),
            ("CREATE VIEW vi AS SELECT * FROM item", "CREATE VIEW"),
            ("CREATE OR REPLACE VIEW vi AS SELECT * FROM item", "CREATE VIEW"),
            ("INSERT INTO vr VALUES (71, 98)", "`vr`, which is not a table"),
            ("DELETE FROM vr WHERE id = 10", "`vr`, which is not a table"),
            (
                "CREATE TEMPORARY TABLE item (id INT PRIMARY KEY)",
                "CREATE TEMPORARY TABLE `item`",
            ),
        ] {
            let (code, message) = code_of(&mut g, sql).await;
            refused(code, &message, sql, form);
        }
        assert_eq!(dump(&mut g, NAMES).await, before);
        // A temporary table of its own name: written and dropped through the gateway.
        for sql in [
            "CREATE TEMPORARY TABLE scratch (id INT PRIMARY KEY)",
            "INSERT INTO scratch VALUES (1), (2)",
            "DELETE FROM scratch WHERE id = 1",
            "DROP TEMPORARY TABLE scratch",
        ] {
            let (code, message) = code_of(&mut g, sql).await;
            assert_eq!(code, 0, "{sql}: {message}");
        }
        // Once dropped, the name is unknown again: refused.
        let (code, message) = code_of(&mut g, "INSERT INTO scratch VALUES (3)").await;
        refused(code, &message, "INSERT INTO scratch", "`scratch`, which is not a table");
        // Tables outside the FK graph may still be created and dropped.
        for sql in ["CREATE TABLE loose (id INT PRIMARY KEY)", "DROP TABLE loose"] {
            let (code, message) = code_of(&mut g, sql).await;
            assert_eq!(code, 0, "{sql}: {message}");
        }
    });
    assert_eq!(orphans(&db), Vec::<String>::new(), "orphans on the nodes");
}

/// Findings 4 and 5: inside a client transaction, a statement refused by the
/// gateway's reads (RESTRICT) fails alone, as natively; one that fails after the
/// gateway wrote (a duplicate key met by the head) rolls the transaction back, and
/// then every statement is refused until the client's ROLLBACK; a COMMIT fails.
#[test]
fn a_client_transaction_keeps_its_rows_or_stays_aborted_until_rollback() {
    let (db, gw) = managed_keyspace(SETUP);
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let customers =
            |rows: Vec<(String, Vec<Vec<String>>)>| -> Vec<String> { rows[0].1.iter().map(|r| r[0].clone()).collect() };
        // A RESTRICT found by reads: only the DELETE fails (native: the same).
        assert_eq!(code_of(&mut g, "BEGIN").await.0, 0);
        assert_eq!(code_of(&mut g, "INSERT INTO customer (id) VALUES (9)").await.0, 0);
        let (code, message) = code_of(&mut g, "DELETE FROM item WHERE id = 1").await;
        assert_eq!(code, 1451, "{message}");
        assert!(!message.contains("rolled back"), "{message}");
        let (code, message) = code_of(&mut g, "UPDATE customer SET id = 5 WHERE id = 1").await;
        assert_eq!(code, 1451, "{message}");
        assert_eq!(code_of(&mut g, "INSERT INTO customer (id) VALUES (7)").await.0, 0);
        assert_eq!(code_of(&mut g, "COMMIT").await.0, 0);
        assert_eq!(customers(dump(&mut g, &["customer"]).await), ["1", "2", "7", "9"]);

        // A failure after the gateway wrote: the transaction is gone, and says so.
        for end in ["ROLLBACK", "COMMIT"] {
            assert_eq!(code_of(&mut g, "BEGIN").await.0, 0);
            assert_eq!(code_of(&mut g, "INSERT INTO customer (id) VALUES (11)").await.0, 0);
            let (code, message) = code_of(&mut g, "UPDATE item SET id = 2 WHERE id = 3").await;
            assert_eq!(code, 1062, "{message}");
            assert!(message.contains("rolled back"), "{message}");
            let (code, message) = code_of(&mut g, "INSERT INTO customer (id) VALUES (12)").await;
            assert_eq!(code, 1105, "{message}");
            assert!(message.contains("send ROLLBACK"), "{message}");
            let (code, message) = code_of(&mut g, "SELECT 1").await;
            assert_eq!(code, 1105, "{message}");
            let (code, message) = code_of(&mut g, end).await;
            match end {
                "ROLLBACK" => assert_eq!(code, 0, "{message}"),
                _ => {
                    assert_eq!(code, 1105, "{message}");
                    assert!(message.contains("COMMIT failed"), "{message}");
                }
            }
            assert_eq!(customers(dump(&mut g, &["customer"]).await), ["1", "2", "7", "9"]);
        }
        // The session goes on as usual.
        assert_eq!(code_of(&mut g, "INSERT INTO customer (id) VALUES (13)").await.0, 0);
        assert_eq!(customers(dump(&mut g, &["customer"]).await), ["1", "2", "7", "9", "13"]);
    });
    assert_eq!(orphans(&db), Vec::<String>::new(), "orphans on the nodes");
}

/// Finding 3 on an unsharded managed keyspace: a session's temporary table named
/// like a keyspace table has no FKs (InnoDB temporary tables have none), so writes
/// naming it are forwarded as they are, never planned with the real table's
/// cascades; once it is dropped the real table is planned again. Compared with
/// native MariaDB statement by statement.
#[test]
fn a_temporary_table_shadowing_a_parent_gets_no_cascades_unsharded() {
    use crate::managed::{outcome, SCHEMA, TABLES};
    use crate::support::{direct, native_and_gateway, start_one};
    use tether_testkit::{TestDb, TestEngine};
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(SCHEMA);
    managed.exec(SCHEMA);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        for sql in [
            "CREATE TEMPORARY TABLE customer (id INT PRIMARY KEY, region_code CHAR(2), name VARCHAR(20))",
            "INSERT INTO customer VALUES (1, 'EU', 'x'), (3, 'US', 'y')",
            "DELETE FROM customer WHERE id = 1",
            "UPDATE customer SET id = 30 WHERE id = 3",
            "/* c */ DELETE FROM customer WHERE id = 30",
            "DROP TEMPORARY TABLE customer",
            "/* c */ DELETE FROM customer WHERE id = 2",
            "DELETE FROM customer WHERE id = 3",
        ] {
            let a = outcome(&mut n, sql).await;
            let b = outcome(&mut g, sql).await;
            let norm = |m: &str, db: &str| m.replace(db, "DB");
            assert_eq!(
                (a.0, a.1, norm(&a.2, &native.name)),
                (b.0, b.1, norm(&b.2, &managed.name)),
                "statement: {sql}"
            );
        }
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, TABLES).await, dump(&mut m, TABLES).await);
    });
}

/// Finding 12: the nodes' FKs are read from every node; an FK only one node has
/// (its InnoDB would act on that node's rows only) refuses every write with 1105
/// naming the FK and the nodes, until the nodes agree. Reads go on.
#[test]
fn nodes_that_disagree_on_an_fk_refuse_every_write() {
    let cluster = spider::cluster();
    let db = cluster.create_db();
    sharded_schema(&db);
    db.sharded_table(
        "dr",
        "id INT PRIMARY KEY, p_id INT NULL",
        "id INT PRIMARY KEY, p_id INT NULL",
        &spider::Partitioning::Hash("id".into()),
        &spider::NODES,
    );
    db.exec_head(SETUP);
    db.exec_node(
        "node2",
        "ALTER TABLE dr ADD CONSTRAINT dr_p_fk FOREIGN KEY (p_id) REFERENCES customer (id) ON DELETE RESTRICT",
    );
    let gw = start_json(&vschema(&db.head_url()), "");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        for sql in [
            "INSERT INTO customer (id) VALUES (50)",
            "DELETE FROM customer WHERE id = 2",
            "INSERT INTO dr VALUES (1, 2)",
        ] {
            let (code, message) = code_of(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(
                message.contains("foreign key `dr_p_fk` of `dr`")
                    && message.contains("node1 has none")
                    && message.contains("node2 has it"),
                "{sql}: {message}"
            );
        }
        assert_eq!(code_of(&mut g, "SELECT * FROM customer").await.0, 0);
        // Once the nodes agree, writes are planned again.
        let mut node1 = mysql_async::Conn::from_url(db.node_url("node1").as_str())
            .await
            .expect("node1");
        node1
            .query_drop(
                "ALTER TABLE dr ADD CONSTRAINT dr_p_fk FOREIGN KEY (p_id) REFERENCES customer (id) ON DELETE RESTRICT",
            )
            .await
            .expect("node1 FK");
        assert_eq!(code_of(&mut g, "INSERT INTO customer (id) VALUES (50)").await.0, 0);
    });
}
