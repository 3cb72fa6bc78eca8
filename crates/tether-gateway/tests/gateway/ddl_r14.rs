//! Review r14 B (writer b2): the gateway's own transaction around a planned write
//! leaves the client's session as a native autocommit statement does
//! (`completion_type`, a pending `SET TRANSACTION READ ONLY`), and a disallow
//! keyspace judges DDL the parser cannot read on its code, naming the table and
//! constraint it refuses.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, native_and_gateway, rows, server_error, start_one};

const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY);
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
INSERT INTO p VALUES (1), (2), (3), (4), (5), (6);
INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4), (50, 5), (60, 6);";

/// One step of a session: a statement and its expected outcome (error code or 0,
/// rows affected), or a query and its expected rows.
enum Step {
    Run(&'static str, u16, u64),
    Rows(&'static str, &'static [&'static str]),
}

/// Runs `steps` natively and through a managed gateway, each side on one
/// connection, asserting the expected outcome on both; after both clients have
/// disconnected, the tables' rows are `p` and `c` on both sides.
fn session_as_native(steps: &[Step], p: &[&str], c: &[&str]) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(SCHEMA);
    managed.exec(SCHEMA);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (n, g) = native_and_gateway(&native, &gw, false).await;
        for (side, mut conn) in [("native", n), ("gateway", g)] {
            for step in steps {
                match step {
                    Step::Run(sql, code, affected) => {
                        let got = outcome(&mut conn, sql).await;
                        assert_eq!((got.0, got.1), (*code, *affected), "{side}: {sql}: {}", got.2);
                    }
                    Step::Rows(sql, want) => {
                        let got: Vec<String> = rows(&mut conn, sql).await.into_iter().map(|r| r.join(",")).collect();
                        assert_eq!(got, *want, "{side}: {sql}");
                    }
                }
            }
            conn.disconnect().await.expect("disconnects");
        }
        for (side, db) in [("native", &native), ("gateway", &managed)] {
            let mut d = direct(db).await;
            let ids = |t: &str| format!("SELECT * FROM {t} ORDER BY id");
            let flat = |r: Vec<Vec<String>>| r.into_iter().map(|r| r.join(",")).collect::<Vec<_>>();
            assert_eq!(flat(rows(&mut d, &ids("p")).await), p, "{side}: p");
            assert_eq!(flat(rows(&mut d, &ids("c")).await), c, "{side}: c");
        }
    });
}

/// Finding 3a: under `completion_type = CHAIN` the gateway's own COMMIT opened a
/// transaction the client never opened; its later writes were rolled back at
/// disconnect. Natively completion_type touches explicit COMMITs only.
#[test]
fn completion_type_chain_leaves_autocommit_writes_committed() {
    session_as_native(
        &[
            Step::Run("SET completion_type = 1", 0, 0),
            Step::Run("DELETE FROM p WHERE id = 1", 0, 1),
            Step::Rows("SELECT @@in_transaction", &["0"]),
            Step::Run("DELETE FROM p WHERE id = 2", 0, 1),
            Step::Rows("SELECT @@in_transaction", &["0"]),
            // The client's own COMMIT chains, as natively.
            Step::Run("START TRANSACTION", 0, 0),
            Step::Run("UPDATE p SET id = 30 WHERE id = 3", 0, 1),
            Step::Run("COMMIT", 0, 0),
            Step::Rows("SELECT @@in_transaction", &["1"]),
            Step::Run("DELETE FROM p WHERE id = 4", 0, 1),
            Step::Run("COMMIT", 0, 0),
            Step::Run("SET completion_type = 0", 0, 0),
            Step::Run("COMMIT", 0, 0),
        ],
        &["5", "6", "30"],
        &["30,30", "50,5", "60,6"],
    );
}

/// Finding 3b: under `completion_type = RELEASE` the gateway's own COMMIT made the
/// backend close the connection after every planned write.
#[test]
fn completion_type_release_keeps_the_connection() {
    session_as_native(
        &[
            Step::Run("SET completion_type = 2", 0, 0),
            Step::Run("DELETE FROM p WHERE id = 3", 0, 1),
            Step::Rows("SELECT 1", &["1"]),
            Step::Run("UPDATE p SET id = 40 WHERE id = 4", 0, 1),
            // A failed planned write (RESTRICT-free schema: a parent check) rolls
            // back its own transaction, the connection stays.
            Step::Run("INSERT INTO c VALUES (70, 99)", 1452, 0),
            Step::Rows("SELECT @@completion_type, @@in_transaction", &["RELEASE,0"]),
        ],
        &["1", "2", "5", "6", "40"],
        &["10,1", "20,2", "40,40", "50,5", "60,6"],
    );
}

/// Finding 4: a pending `SET TRANSACTION READ ONLY` holds over the writes it
/// refuses (MariaDB 10.11: every write fails with 1792, nothing written) until a
/// statement that reaches the engine (an autocommit read) or an explicit boundary;
/// the gateway's own transaction used it up, so the second write went through.
/// A `READ WRITE` pending over a read-only session is used up by the first write
/// that succeeds, as natively.
#[test]
fn pending_read_only_holds_over_planned_writes() {
    session_as_native(
        &[
            Step::Run("SET TRANSACTION READ ONLY", 0, 0),
            Step::Run("DELETE FROM p WHERE id = 1", 1792, 0),
            Step::Run("DELETE FROM p WHERE id = 2", 1792, 0),
            Step::Run("UPDATE p SET id = 7 WHERE id = 3", 1792, 0),
            Step::Run("INSERT INTO c VALUES (70, 1)", 1792, 0),
            Step::Run("DELETE FROM p WHERE id = 99", 1792, 0),
            Step::Rows("SELECT @@in_transaction, @@tx_read_only", &["0,0"]),
            // The client's COMMIT ends it, as natively.
            Step::Run("COMMIT", 0, 0),
            Step::Run("DELETE FROM p WHERE id = 2", 0, 1),
            // A read of a table uses it up, as natively.
            Step::Run("SET TRANSACTION READ ONLY", 0, 0),
            Step::Run("DELETE FROM p WHERE id = 1", 1792, 0),
            Step::Rows("SELECT COUNT(*) FROM p", &["5"]),
            Step::Run("DELETE FROM p WHERE id = 3", 0, 1),
            // READ WRITE over a read-only session: one write.
            Step::Run("SET SESSION TRANSACTION READ ONLY", 0, 0),
            Step::Run("SET TRANSACTION READ WRITE", 0, 0),
            Step::Run("UPDATE p SET id = 40 WHERE id = 4", 0, 1),
            Step::Run("DELETE FROM p WHERE id = 5", 1792, 0),
            Step::Run("SET SESSION TRANSACTION READ WRITE", 0, 0),
            // Inside an explicit read-only transaction: 1792 through the savepoint.
            Step::Run("START TRANSACTION READ ONLY", 0, 0),
            Step::Run("DELETE FROM p WHERE id = 6", 1792, 0),
            Step::Run("COMMIT", 0, 0),
        ],
        &["1", "5", "6", "40"],
        &["10,1", "40,40", "50,5", "60,6"],
    );
}

/// Findings 6 and 7: a disallow keyspace and the DDL its parser cannot read. The
/// words in strings and comments refuse nothing (each runs as natively); every
/// real FK is refused with 1215 naming its table and constraint, and none exists.
#[test]
fn disallow_judges_unparseable_ddl_on_its_code() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (id INT PRIMARY KEY, pid INT);");
    let gw = start_one(&db, "disallow");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        for sql in [
            "ALTER TABLE c COMMENT 'REFERENCES p(id)'",
            "CREATE PROCEDURE pr2() SELECT 'FOREIGN KEY' AS x",
            "CREATE TRIGGER tr BEFORE INSERT ON c FOR EACH ROW SET NEW.pid = NEW.pid -- references p(id)",
            "BEGIN NOT ATOMIC SELECT 'see REFERENCES in the manual'; END",
            "ALTER TABLE c ADD COLUMN IF NOT EXISTS `references` INT /* FOREIGN KEY */",
        ] {
            g.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let refused = [
            (
                "ALTER TABLE c ADD FOREIGN KEY IF NOT EXISTS (pid) REFERENCES p(id)",
                "`c`: an unnamed constraint",
            ),
            (
                "ALTER TABLE c ADD (pid3 INT, FOREIGN KEY (pid3) REFERENCES p(id))",
                "`c`: an unnamed constraint",
            ),
            (
                "ALTER TABLE c ADD COLUMN IF NOT EXISTS pid2 INT REFERENCES p(id)",
                "`c`: an unnamed constraint",
            ),
            (
                "ALTER TABLE c WAIT 5 ADD FOREIGN KEY (pid) REFERENCES p(id)",
                "`c`: an unnamed constraint",
            ),
            (
                "ALTER TABLE c ADD CONSTRAINT IF NOT EXISTS x FOREIGN KEY (pid) REFERENCES p(id)",
                "`c`: constraint `x`",
            ),
            (
                "CREATE PROCEDURE pr() ALTER TABLE c ADD FOREIGN KEY (pid) REFERENCES p(id)",
                "`c`: an unnamed constraint",
            ),
            (
                "ALTER TABLE c WAIT 5 ADD CONSTRAINT k2 /*M!100000 FOREIGN KEY (pid) REFERENCES p(id) */",
                "`c`: constraint `k2`",
            ),
            (
                "BEGIN NOT ATOMIC ALTER TABLE c ADD CONSTRAINT k3 FOREIGN KEY (pid) REFERENCES p(id); END",
                "`c`: constraint `k3`",
            ),
        ];
        for (sql, named) in refused {
            let e = server_error(g.query_drop(sql).await.expect_err(sql));
            assert_eq!(
                (e.0, e.1.as_str(), e.2),
                (
                    1215,
                    "HY000",
                    format!(
                        "Cannot add foreign key constraint for {named}: foreign keys are disallowed in keyspace `ks` \
                         (foreignKeyMode: disallow)"
                    )
                ),
                "{sql}"
            );
        }
        let shown = rows(
            &mut g,
            "SELECT table_comment FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'c'",
        )
        .await;
        assert_eq!(shown, vec![vec!["REFERENCES p(id)".to_string()]]);
    });
    let count = |sql: &str| db.query(sql)[0][0].clone().unwrap_or_default();
    let name = &db.name;
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = '{name}'"
        )),
        "1"
    );
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '{name}'"
        )),
        "1"
    );
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = '{name}' AND table_name = 'c'"
        )),
        "3"
    );
    assert_eq!(
        count(&format!(
            "SELECT COUNT(*) FROM information_schema.referential_constraints WHERE constraint_schema = '{name}'"
        )),
        "0"
    );
}
