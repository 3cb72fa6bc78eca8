//! MariaDB sources (the fifteenth review, G #1-#7): sequences a trigger or view uses,
//! prefix / DESC / WITHOUT OVERLAPS keys and the AUTO_INCREMENT counter on a PostgreSQL
//! copy, and plan lines that say what a copy leaves out.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// Asserts that `db` refuses `sql` with `code` (SQLSTATE, or MariaDB's error number).
fn assert_refused(db: &TestDb, sql: &str, code: &str) {
    let err = std::panic::catch_unwind(|| db.exec(sql)).expect_err(sql);
    let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains(code), "{sql}: {text}");
}

fn table(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    db.query(sql)
        .into_iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

/// G #3: a sequence only a trigger (`NEXT VALUE FOR`) and a view read is created on the
/// MariaDB copy at the source's state; before, the trigger was created without it and
/// every INSERT into the copy failed (1146), and the view's CREATE failed the run.
#[test]
fn a_sequence_used_by_a_trigger_or_a_view_is_created_on_a_mariadb_copy() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE SEQUENCE seq_t START WITH 100;
         CREATE SEQUENCE seq_v START WITH 7;
         CREATE TABLE tk (id INT PRIMARY KEY, n BIGINT);
         CREATE TRIGGER tk_bi BEFORE INSERT ON tk FOR EACH ROW SET NEW.n = NEXT VALUE FOR seq_t;
         INSERT INTO tk (id) VALUES (1),(2);
         CREATE VIEW v_seq AS SELECT next_not_cached_value AS nv FROM seq_v;",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    assert_eq!(item(&plan, "sequence", "seq_t (used by tk)").action, Action::Created);
    assert_eq!(item(&plan, "sequence", "seq_v (read by view v_seq)").action, Action::Created);
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(table(&dest, "SELECT id, n FROM tk ORDER BY id"), [["1", "100"], ["2", "101"]]);
    dest.exec("INSERT INTO tk (id) VALUES (3)");
    // The source handed out 100 and 101 and cached up to 1100: the copy goes on past it.
    assert_eq!(one(&dest, "SELECT n FROM tk WHERE id = 3"), "1100");
    assert_eq!(one(&dest, "SELECT nv FROM v_seq"), "7");
}
