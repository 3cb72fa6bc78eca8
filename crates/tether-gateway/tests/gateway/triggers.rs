//! Tables with triggers in a `managed` keyspace: a write whose plan would write one
//! runs as InnoDB runs it, so triggers fire (and their writes are checked and
//! cascaded) exactly as natively; a write without triggers on its way stays a plan.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::assert_same_outcome;
use crate::support::{direct, dump, native_and_gateway, rows, server_error, start_one, Gw};

/// A parent `p` whose triggers write other tables: `log` (a child of `q`) on
/// update, `q` (parent of `qc`, ON DELETE CASCADE) on delete.
const TRIGGERS_WRITING_FK_TABLES: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  CONSTRAINT c_p_fk FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE q (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE log (id INT PRIMARY KEY, qid INT,
  CONSTRAINT log_q_fk FOREIGN KEY (qid) REFERENCES q (id)) ENGINE=InnoDB;
CREATE TABLE qc (id INT PRIMARY KEY, qid INT,
  CONSTRAINT qc_q_fk FOREIGN KEY (qid) REFERENCES q (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TRIGGER p_au AFTER UPDATE ON p FOR EACH ROW INSERT INTO log VALUES (NEW.id, NEW.v);
CREATE TRIGGER p_ad AFTER DELETE ON p FOR EACH ROW DELETE FROM q WHERE id = OLD.id;
INSERT INTO p VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO c VALUES (1, 1), (2, 2);
INSERT INTO q VALUES (3, 3), (7, 7);
INSERT INTO qc VALUES (30, 3), (31, 7);
";

const FK_TABLES: &[&str] = &["p", "c", "q", "log", "qc"];

/// Children whose triggers InnoDB's cascades never fire: `cn` (SET NULL, update
/// cascade) and `cc` (delete and update cascade) log into `audit`; `cx`'s BEFORE
/// UPDATE trigger raises an error.
const CHILD_TRIGGERS: &str = "
CREATE TABLE pp (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE cn (id INT PRIMARY KEY, pid INT,
  CONSTRAINT cn_pp_fk FOREIGN KEY (pid) REFERENCES pp (id) ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE cc (id INT PRIMARY KEY, pid INT,
  CONSTRAINT cc_pp_fk FOREIGN KEY (pid) REFERENCES pp (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE cx (id INT PRIMARY KEY, pid INT,
  CONSTRAINT cx_pp_fk FOREIGN KEY (pid) REFERENCES pp (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20), row_id INT) ENGINE=InnoDB;
CREATE TRIGGER cn_au AFTER UPDATE ON cn FOR EACH ROW INSERT INTO audit (what, row_id) VALUES ('cn updated', NEW.id);
CREATE TRIGGER cc_au AFTER UPDATE ON cc FOR EACH ROW INSERT INTO audit (what, row_id) VALUES ('cc updated', NEW.id);
CREATE TRIGGER cc_ad AFTER DELETE ON cc FOR EACH ROW INSERT INTO audit (what, row_id) VALUES ('cc deleted', OLD.id);
CREATE TRIGGER cx_bu BEFORE UPDATE ON cx FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'cx is read-only';
INSERT INTO pp VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO cn VALUES (10, 1), (20, 2), (30, 3);
INSERT INTO cc VALUES (11, 1), (21, 2), (31, 3);
INSERT INTO cx VALUES (22, 2), (32, 3);
";

const CHILD_TABLES: &[&str] = &["pp", "cn", "cc", "cx", "audit"];

/// Rows of `child` whose FK column `fk` names no row of `parent`.
async fn orphans(conn: &mut Conn, child: &str, fk: &str, parent: &str) -> Vec<Vec<String>> {
    rows(
        conn,
        &format!("SELECT c.id FROM {child} c LEFT JOIN {parent} p ON p.id = c.{fk} WHERE c.{fk} IS NOT NULL AND p.id IS NULL"),
    )
    .await
}

/// Databases `native` and `managed` built from `schema`, and a managed gateway on
/// the second.
fn native_and_managed(schema: &str) -> (TestDb, TestDb, Gw) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    (native, managed, gw)
}

/// A parent's trigger inserting into a child table: natively the insert fails
/// with 1452 (log_q_fk) and nothing changes; through the gateway the same, with
/// no orphan in `log`. A parent's trigger deleting a parent of its own: InnoDB
/// cascades that delete to `qc` as natively.
#[test]
fn a_parent_trigger_writing_fk_tables_is_checked_and_cascaded_as_natively() {
    let (native, managed, gw) = native_and_managed(TRIGGERS_WRITING_FK_TABLES);
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let dbs = [native.name.as_str(), managed.name.as_str()];
        let codes = [
            // The trigger's (20, 99) would have no parent in `q`: 1452.
            "UPDATE p SET id = 20, v = 99 WHERE id = 2",
            // The trigger deletes q(3), whose child qc(30) InnoDB deletes.
            "DELETE FROM p WHERE id = 3",
            // Refused by c's RESTRICT.
            "DELETE FROM p WHERE id = 1",
        ];
        let mut seen = Vec::new();
        for sql in codes {
            seen.push(assert_same_outcome(&mut n, &mut g, dbs, sql, "triggers").await);
        }
        assert_eq!(seen, [1452, 0, 1451]);
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, FK_TABLES).await, dump(&mut m, FK_TABLES).await);
        let none = Vec::<Vec<String>>::new();
        assert_eq!(orphans(&mut m, "log", "qid", "q").await, none);
        assert_eq!(orphans(&mut m, "qc", "qid", "q").await, none);
        assert_eq!(orphans(&mut m, "c", "pid", "p").await, none);
        assert_eq!(rows(&mut m, "SELECT * FROM log").await, none);
        assert_eq!(rows(&mut m, "SELECT id, qid FROM qc ORDER BY id").await, [["31", "7"]]);
        assert_eq!(
            rows(&mut m, "SELECT id, pid FROM c ORDER BY id").await,
            [["1", "1"], ["2", "2"]]
        );
    });
}

/// Children's triggers on SET NULL and CASCADE children: InnoDB's cascades fire
/// none, so `audit` stays empty, and the child whose BEFORE UPDATE trigger raises
/// an error does not stop a parent re-key. Prepared statements (planned as text
/// otherwise) get the same.
#[test]
fn child_triggers_do_not_fire_on_cascades_as_natively() {
    let (native, managed, gw) = native_and_managed(CHILD_TRIGGERS);
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let dbs = [native.name.as_str(), managed.name.as_str()];
        for sql in [
            // cn(10) set to NULL, cc(11) deleted: no trigger fires.
            "DELETE FROM pp WHERE id = 1",
            // cn(20), cc(21) and cx(22) follow the re-key: no trigger fires.
            "UPDATE pp SET id = 20 WHERE id = 2",
        ] {
            assert_eq!(
                assert_same_outcome(&mut n, &mut g, dbs, sql, "triggers").await,
                0,
                "{sql}"
            );
        }
        for conn in [&mut n, &mut g] {
            let rekey = conn.prep("UPDATE pp SET id = ? WHERE id = ?").await.expect("prepare");
            conn.exec_drop(&rekey, (300, 3)).await.expect("re-key");
            assert_eq!(conn.affected_rows(), 1);
            // cx(22) restricts its parent's delete.
            let delete = conn.prep("DELETE FROM pp WHERE id = ?").await.expect("prepare");
            let e = conn.exec_drop(&delete, (20,)).await.expect_err("cx_pp_fk restricts");
            assert_eq!(server_error(e).0, 1451);
        }
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, CHILD_TABLES).await, dump(&mut m, CHILD_TABLES).await);
        assert_eq!(rows(&mut m, "SELECT * FROM audit").await, Vec::<Vec<String>>::new());
        assert_eq!(
            rows(&mut m, "SELECT id, pid FROM cn ORDER BY id").await,
            [["10", "NULL"], ["20", "20"], ["30", "300"]]
        );
        assert_eq!(
            rows(&mut m, "SELECT id, pid FROM cc ORDER BY id").await,
            [["21", "20"], ["31", "300"]]
        );
        assert_eq!(
            rows(&mut m, "SELECT id, pid FROM cx ORDER BY id").await,
            [["22", "20"], ["32", "300"]]
        );
    });
}

/// `EXPLAIN FK` says which statements run as InnoDB runs them and why; a write
/// whose plan writes no table with triggers is still listed as a plan (its child
/// changes are statements of their own). CREATE and DROP TRIGGER through the
/// gateway change that at once.
#[test]
fn explain_names_the_tables_with_triggers_and_ddl_changes_it() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(TRIGGERS_WRITING_FK_TABLES);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let explain = |sql: &str| format!("EXPLAIN FK {sql}");
        let update_p = "UPDATE p SET id = 20 WHERE id = 2";
        assert_eq!(
            rows(&mut g, &explain(update_p)).await,
            [
                ["runs as InnoDB runs it: table `p` has triggers"],
                [
                    "  forwarded unchanged: InnoDB checks and cascades and the triggers fire as natively; its \
                     cascaded changes are InnoDB's, not statements of their own"
                ]
            ]
        );
        // `q`, `qc` and `log` have no triggers: a plan, its cascade a DELETE of its own.
        let delete_q = "DELETE FROM q WHERE id = 7";
        let plan = rows(&mut g, &explain(delete_q)).await;
        assert_eq!(plan[0], ["1. BEGIN (or SAVEPOINT inside a transaction)"], "{plan:?}");
        assert!(
            plan.iter()
                .any(|l| l[0].contains("CASCADE: DELETE FROM `qc` WHERE `qid` IN (<keys>)")),
            "{plan:?}"
        );
        // A trigger on the cascade's child, created through the gateway.
        g.query_drop("CREATE TRIGGER qc_ad AFTER DELETE ON qc FOR EACH ROW DELETE FROM c WHERE id = OLD.id")
            .await
            .expect("create trigger");
        assert_eq!(
            rows(&mut g, &explain(delete_q)).await[0],
            ["runs as InnoDB runs it: table `qc` has triggers"]
        );
        g.query_drop("DROP TRIGGER qc_ad").await.expect("drop trigger");
        assert_eq!(rows(&mut g, &explain(delete_q)).await, plan);
        // The plan runs: q(7) and its child qc(31) go.
        g.query_drop(delete_q).await.expect("delete");
        let mut d = direct(&db).await;
        assert_eq!(rows(&mut d, "SELECT id FROM qc ORDER BY id").await, [["30"]]);
    });
}
