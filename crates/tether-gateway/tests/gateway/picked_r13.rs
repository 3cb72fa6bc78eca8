//! Findings of the thirteenth session's review of managed writes (review A 1, 7,
//! 9, 10; review B 10): which rows a planned DELETE / UPDATE changes and which
//! statement runs. Modifiers (LOW_PRIORITY, QUICK, IGNORE) no longer hide a write
//! from the planner; a volatile WHERE (RAND(), a user variable, GET_LOCK()) and a
//! WHERE reading a table the cascade changes pick their rows once, and the
//! statement changes exactly those. Each scenario runs natively and through a
//! managed gateway.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, dump, native_and_gateway, rows, start_one};

/// A native and a managed database with `schema`, and a gateway on the managed one.
fn pair(schema: &str) -> (TestDb, TestDb) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    (native, managed)
}

/// Runs `sql` on both sides: same error code and rows affected.
async fn same(n: &mut Conn, g: &mut Conn, sql: &str) -> (u16, u64) {
    let a = outcome(n, sql).await;
    let b = outcome(g, sql).await;
    assert_eq!((a.0, a.1), (b.0, b.1), "{sql}: native {a:?}, gateway {b:?}");
    (a.0, a.1)
}

const PROBED: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT);
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE r (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id));
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20));
CREATE TRIGGER _tether_probe_d AFTER DELETE ON c FOR EACH ROW INSERT INTO log (what) VALUES (CONCAT('del c ', OLD.id));
CREATE TRIGGER _tether_probe_u AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (what) VALUES (CONCAT('upd c ', OLD.id, ' ', NEW.pid));
INSERT INTO p VALUES (1,0),(2,0),(3,0),(4,0),(5,0),(6,0),(7,0),(8,0);
INSERT INTO c VALUES (10,1),(20,2),(30,3),(50,5),(60,6),(70,7),(80,8);
INSERT INTO r VALUES (1,4);
";

/// Review A 1 / B 10: DELETE / UPDATE with LOW_PRIORITY, QUICK or IGNORE of a
/// parent were forwarded (the parser read the modifier as a table): InnoDB ran the
/// cascades, which missed the binlog. Now LOW_PRIORITY / QUICK are planned: the
/// cascades are the gateway's statements (the `_tether_` probe triggers fire on
/// those only, never on InnoDB's cascades), rows and results as native. IGNORE
/// with FK work is refused (1105); without, it runs as sent.
#[test]
fn modifiers_are_planned_like_plain_writes() {
    let (native, managed) = pair(PROBED);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        for sql in [
            "DELETE QUICK FROM p WHERE id = 1",
            "DELETE LOW_PRIORITY FROM p WHERE id = 2",
            "UPDATE LOW_PRIORITY p SET id = 13 WHERE id = 3",
            "DELETE LOW_PRIORITY QUICK FROM p WHERE id = 7",
        ] {
            let plan = rows(&mut g, &format!("EXPLAIN FK {sql}")).await;
            let text: Vec<String> = plan.into_iter().flatten().collect();
            assert!(
                text.iter()
                    .any(|l| l.contains("DELETE FROM `c`") || l.contains("UPDATE `c`")),
                "{sql}: {text:?}"
            );
        }
        assert_eq!(same(&mut n, &mut g, "DELETE QUICK FROM p WHERE id = 1").await, (0, 1));
        assert_eq!(
            same(&mut n, &mut g, "DELETE LOW_PRIORITY FROM p WHERE id = 2").await,
            (0, 1)
        );
        assert_eq!(
            same(&mut n, &mut g, "UPDATE LOW_PRIORITY p SET id = 13 WHERE id = 3").await,
            (0, 1)
        );
        // p 5 has only a CASCADE child, p 4 a RESTRICT one: IGNORE with FK work
        // is refused (the plan's checks cannot skip rows as InnoDB does).
        for sql in [
            "DELETE IGNORE FROM p WHERE id IN (4, 5)",
            "DELETE LOW_PRIORITY QUICK IGNORE FROM p WHERE id = 5",
            "UPDATE IGNORE p SET id = 15 WHERE id = 5",
        ] {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(
                message.contains("UPDATE IGNORE or DELETE IGNORE with foreign-key work"),
                "{sql}: {message}"
            );
        }
        assert_eq!(same(&mut n, &mut g, "DELETE FROM p WHERE id = 5").await, (0, 1));
        assert_eq!(
            same(&mut n, &mut g, "DELETE LOW_PRIORITY QUICK FROM p WHERE id = 7").await,
            (0, 1)
        );
        // A modifier the gateway cannot read off (a comment before it) is refused,
        // never forwarded as a write to a table `IGNORE`.
        let (code, _, message) = outcome(&mut g, "DELETE /* c */ IGNORE FROM p WHERE id = 6").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("a modifier (IGNORE, LOW_PRIORITY, QUICK) read as a table name"),
            "{message}"
        );
        // IGNORE without FK work runs as sent.
        assert_eq!(
            same(&mut n, &mut g, "UPDATE IGNORE p SET v = 1 WHERE id = 6").await,
            (0, 1)
        );
        assert_eq!(same(&mut n, &mut g, "DELETE IGNORE FROM c WHERE id = 80").await, (0, 1));
        let tables = ["p", "c", "r"];
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, &tables).await, dump(&mut m, &tables).await);
        assert_eq!(
            rows(&mut m, "SELECT what FROM log ORDER BY n").await,
            [
                ["del c 10"],
                ["del c 20"],
                ["upd c 30 13"],
                ["del c 50"],
                ["del c 70"],
                ["del c 80"]
            ]
        );
        // Natively only the client's own child DELETE fired the trigger.
        assert_eq!(rows(&mut n, "SELECT what FROM log ORDER BY n").await, [["del c 80"]]);
    });
}

/// Review A 10: a WHERE with RAND() was evaluated by the lock read and again by
/// the statement: the cascade followed one set of rows, the statement deleted (or
/// re-keyed) another: orphans, and children deleted under kept parents. Now the
/// statement runs on the rows picked, by primary key.
#[test]
fn a_random_where_changes_the_rows_the_cascade_followed() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY);
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
INSERT INTO p SELECT seq FROM seq_1_to_200;
INSERT INTO c SELECT seq, seq FROM seq_1_to_200;
";
    let managed = TestDb::create(TestEngine::Mysql);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let orphans = "SELECT COUNT(*) FROM c WHERE pid NOT IN (SELECT id FROM p)";
        let childless = "SELECT COUNT(*) FROM p WHERE id NOT IN (SELECT pid FROM c)";
        let (code, deleted, message) = outcome(&mut g, "DELETE FROM p WHERE RAND() < 0.5").await;
        assert_eq!(code, 0, "{message}");
        let left: u64 = g.query_first("SELECT COUNT(*) FROM p").await.unwrap().unwrap();
        assert_eq!(deleted + left, 200);
        assert_eq!(rows(&mut g, orphans).await, [["0"]]);
        assert_eq!(rows(&mut g, childless).await, [["0"]]);
        let (code, moved, message) = outcome(&mut g, "UPDATE p SET id = id + 1000 WHERE RAND() < 0.5").await;
        assert_eq!(code, 0, "{message}");
        let above: u64 = g
            .query_first("SELECT COUNT(*) FROM p WHERE id > 1000")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(moved, above);
        assert_eq!(rows(&mut g, orphans).await, [["0"]]);
        assert_eq!(rows(&mut g, childless).await, [["0"]]);
    });
}

const SMALL: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT);
CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE);
INSERT INTO p VALUES (1,0),(2,0),(3,0),(4,0),(5,0);
INSERT INTO c VALUES (10,1),(20,2),(30,3),(40,4),(50,5);
";

/// Review A 10: a user-variable counter in WHERE, evaluated twice, deleted
/// children under kept parents and no parent. Now it is evaluated once, by
/// MariaDB's own DELETE (the trial, row by row), and the statement deletes those
/// rows with their children. (A plain DELETE lets MariaDB fold the condition to a
/// constant and delete every row, `@n` = 2; the trial, with RETURNING, evaluates
/// it per row: two rows, `@n` = 5. docs/gateway.md, Limits.)
#[test]
fn a_user_variable_in_where_is_evaluated_once() {
    let managed = TestDb::create(TestEngine::Mysql);
    managed.exec(SMALL);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        g.query_drop("SET @n = 0").await.unwrap();
        let (code, deleted, message) = outcome(&mut g, "DELETE FROM p WHERE (@n := @n + 1) <= 2").await;
        assert_eq!((code, deleted), (0, 2), "{message}");
        assert_eq!(rows(&mut g, "SELECT @n").await, [["5"]]);
        assert_eq!(
            rows(&mut g, "SELECT id FROM p ORDER BY id").await,
            [["3"], ["4"], ["5"]]
        );
        assert_eq!(
            rows(&mut g, "SELECT pid FROM c ORDER BY id").await,
            [["3"], ["4"], ["5"]]
        );
    });
}

/// Review A 9: GET_LOCK / RELEASE_LOCK in a planned write's WHERE ran twice: the
/// child was cascaded away while the statement (its lock released already)
/// deleted nothing; a lock was taken twice and leaked. Now they run once.
#[test]
fn user_lock_functions_in_where_run_once() {
    let (native, managed) = pair(SMALL);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let mut other = direct(&native).await;
        for (conn, lock) in [(&mut n, "r13_native"), (&mut g, "r13_gateway")] {
            assert_eq!(rows(conn, &format!("SELECT GET_LOCK('{lock}', 0)")).await, [["1"]]);
            let (code, deleted, message) =
                outcome(conn, &format!("DELETE FROM p WHERE id = 2 AND RELEASE_LOCK('{lock}')")).await;
            assert_eq!((code, deleted), (0, 1), "{lock}: {message}");
            let (code, deleted, message) =
                outcome(conn, &format!("DELETE FROM p WHERE id = 1 AND GET_LOCK('{lock}', 0)")).await;
            assert_eq!((code, deleted), (0, 1), "{lock}: {message}");
            assert_eq!(rows(conn, &format!("SELECT RELEASE_LOCK('{lock}')")).await, [["1"]]);
            // Taken once, released once: free for the other sessions.
            assert_eq!(
                rows(&mut other, &format!("SELECT IS_FREE_LOCK('{lock}')")).await,
                [["1"]]
            );
        }
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, &["p", "c"]).await, dump(&mut m, &["p", "c"]).await);
        assert_eq!(
            rows(&mut m, "SELECT id FROM p ORDER BY id").await,
            [["3"], ["4"], ["5"]]
        );
    });
}

/// Review A 7: a DELETE whose WHERE reads, in a subquery, a table its cascade
/// changes: MariaDB re-evaluates it row by row, between the cascades; the plan
/// took all its rows from one read. Now MariaDB's trial picks the rows. The
/// UPDATE form (no trial can find its rows) is refused with 1105.
#[test]
fn a_where_reading_a_cascaded_table_takes_mariadbs_rows() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY);
CREATE TABLE c (id INT PRIMARY KEY, pid INT, tgt INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE);
INSERT INTO p VALUES (1),(2),(5);
INSERT INTO c VALUES (10,5,1),(11,1,2);
CREATE TABLE q (id INT PRIMARY KEY);
CREATE TABLE d (id INT PRIMARY KEY, pid INT, other INT, FOREIGN KEY (pid) REFERENCES q (id) ON DELETE CASCADE);
INSERT INTO q VALUES (1),(2),(3);
INSERT INTO d VALUES (10,1,2);
CREATE TABLE k (id INT PRIMARY KEY, code VARCHAR(5), UNIQUE KEY (code));
CREATE TABLE kc (id INT PRIMARY KEY, pcode VARCHAR(5), FOREIGN KEY (pcode) REFERENCES k (code) ON UPDATE CASCADE);
INSERT INTO k VALUES (1,'a'),(2,'b');
INSERT INTO kc VALUES (10,'a');
";
    let (native, managed) = pair(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        assert_eq!(
            same(&mut n, &mut g, "DELETE FROM p WHERE id IN (SELECT tgt FROM c)").await,
            (0, 1)
        );
        assert_eq!(
            same(&mut n, &mut g, "DELETE FROM q WHERE id NOT IN (SELECT other FROM d)").await,
            (0, 3)
        );
        let (code, _, message) = outcome(
            &mut g,
            "UPDATE k SET code = CONCAT(code, 'x') WHERE code IN (SELECT pcode FROM kc) OR id IN (SELECT 2 FROM kc \
             WHERE pcode = 'a')",
        )
        .await;
        assert_eq!(code, 1105, "{message}");
        assert!(message.contains("a table its cascade changes"), "{message}");
        let mut m = direct(&managed).await;
        for t in ["p", "c", "q", "d", "k", "kc"] {
            let q = format!("SELECT * FROM {t} ORDER BY id");
            assert_eq!(rows(&mut n, &q).await, rows(&mut m, &q).await, "{t}");
        }
        assert_eq!(rows(&mut m, "SELECT id FROM p ORDER BY id").await, [["2"], ["5"]]);
    });
}
