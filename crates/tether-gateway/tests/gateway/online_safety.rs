//! Online schema changes that must fail where the native ALTER fails (issue 15's
//! review): the migration fails before the swap with the server's error, and the
//! original table keeps every row and value. Each case runs the ALTER natively on a
//! second database first and checks that it does fail there.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use tether_gateway::online::{Migration, Migrator, Settings, State};
use tether_testkit::{TestDb, TestEngine};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `alter` online on `db` and waits for the migration's end.
fn online(db: &TestDb, alter: &str, settings: Settings) -> Migration {
    runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, settings).expect("migrator");
        let id = m.submit(alter).await.expect("accepted");
        m.wait(&id, Duration::from_secs(60)).await.expect("record")
    })
}

/// The server's error number for `alter` run natively after `setup` (None: it succeeds).
fn native_code(setup: &str, alter: &str) -> Option<u16> {
    let n = TestDb::create(TestEngine::Mysql);
    n.exec(setup);
    let url = n.url.clone();
    runtime().block_on(async {
        let mut c = mysql_async::Conn::from_url(url.as_str()).await.expect("conn");
        let r = c.query_drop(alter).await;
        c.disconnect().await.ok();
        match r {
            Ok(()) => None,
            Err(mysql_async::Error::Server(e)) => Some(e.code),
            Err(e) => panic!("native ALTER: {e}"),
        }
    })
}

/// The database's tables, the migrator's records left out.
fn tables(db: &TestDb) -> Vec<String> {
    db.query(&format!(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME <> '_tether_migrations' ORDER BY 1",
        db.name
    ))
    .into_iter()
    .map(|r| r[0].clone().expect("name"))
    .collect()
}

/// `setup`, then `alter` natively (must fail with `native`) and online: the migration
/// fails naming `online_code`, `t` keeps `SELECT * FROM t ORDER BY id` and its
/// definition, and no shadow is left.
fn fails_like_native(setup: &str, alter: &str, native: u16, online_code: u16) {
    assert_eq!(native_code(setup, alter), Some(native), "native {alter}");
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(setup);
    let rows_before = db.query("SELECT * FROM t ORDER BY id");
    let create_before = db.query("SHOW CREATE TABLE t");
    let m = online(&db, alter, Settings::default());
    assert_eq!(m.state, State::Failed, "{alter}: {}", m.message);
    assert!(
        m.message.contains(&format!("ERROR {online_code} ")),
        "{alter}: {}",
        m.message
    );
    assert_eq!(db.query("SELECT * FROM t ORDER BY id"), rows_before, "{alter}");
    assert_eq!(db.query("SHOW CREATE TABLE t"), create_before, "{alter}");
    assert_eq!(tables(&db), vec!["t".to_string()], "{alter}");
}

#[test]
fn a_unique_key_over_duplicates_fails_like_native() {
    fails_like_native(
        "CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1,5),(2,5),(3,6);",
        "ALTER TABLE t ADD UNIQUE KEY uv (v)",
        1062,
        1062,
    );
}

#[test]
fn a_check_over_violations_fails_like_native() {
    fails_like_native(
        "CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1,5),(2,-1);",
        "ALTER TABLE t ADD CONSTRAINT pos CHECK (v > 0)",
        4025,
        4025,
    );
}

#[test]
fn a_narrowing_modify_fails_like_native() {
    fails_like_native(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10)); INSERT INTO t VALUES (1,'abcdefgh');",
        "ALTER TABLE t MODIFY s VARCHAR(3)",
        1265,
        1406,
    );
}

#[test]
fn not_null_over_nulls_fails_like_native() {
    fails_like_native(
        "CREATE TABLE t (id INT PRIMARY KEY, v INT NULL); INSERT INTO t VALUES (1,NULL),(2,7);",
        "ALTER TABLE t MODIFY v INT NOT NULL",
        1265,
        1048,
    );
}

#[test]
fn a_lossy_charset_change_fails_like_native() {
    fails_like_native(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10)) CHARSET utf8mb4; INSERT INTO t VALUES (1,'a😀b');",
        "ALTER TABLE t MODIFY s VARCHAR(10) CHARACTER SET latin1",
        1366,
        1366,
    );
}

/// A write during the copy duplicates a unique key the ALTER adds (the source has no
/// such key yet, so it accepts the row): the capture trigger must not delete the other
/// row from the shadow; the migration fails with 1062 before the swap, the write stays.
#[test]
fn a_captured_write_clashing_on_a_new_unique_key_fails_the_migration() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)");
    let vals: Vec<String> = (1..=2000).map(|i| format!("({i},{i})")).collect();
    db.exec(&format!("INSERT INTO t VALUES {}", vals.join(",")));
    let url = db.url.clone();
    let m = runtime().block_on(async {
        let settings = Settings {
            chunk_rows: 20,
            chunk_pause: Duration::from_millis(30),
            ..Settings::default()
        };
        let m = Migrator::new("ks", &url, true, settings).expect("migrator");
        let id = m.submit("ALTER TABLE t ADD UNIQUE KEY uv (v)").await.expect("accepted");
        while m.get(&id).await.expect("record").rows_copied <= 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut c = mysql_async::Conn::from_url(url.as_str()).await.expect("conn");
        // Row 10 is copied already; 5000 duplicates its v.
        c.query_drop("INSERT INTO t VALUES (5000, 10)")
            .await
            .expect("the write succeeds");
        c.disconnect().await.ok();
        m.wait(&id, Duration::from_secs(60)).await.expect("record")
    });
    assert_eq!(m.state, State::Failed, "{}", m.message);
    assert!(m.message.contains("ERROR 1062 "), "{}", m.message);
    assert_eq!(db.query("SELECT COUNT(*) FROM t"), vec![vec![Some("2001".to_string())]]);
    assert_eq!(
        db.query("SELECT id, v FROM t WHERE v = 10 ORDER BY id"),
        vec![
            vec![Some("10".to_string()), Some("10".to_string())],
            vec![Some("5000".to_string()), Some("10".to_string())]
        ]
    );
    assert_eq!(tables(&db), vec!["t".to_string()]);
}

/// `setup`, then `alter` natively on one database and online on another: the online
/// migration completes and `check` reads the same rows on both.
fn same_as_native(setup: &str, alter: &str, check: &str) {
    let native = TestDb::create(TestEngine::Mysql);
    native.exec(setup);
    native.exec(alter);
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(setup);
    let m = online(&db, alter, Settings::default());
    assert_eq!(m.state, State::Complete, "{alter}: {}", m.message);
    assert_eq!(db.query(check), native.query(check), "{alter}");
    assert_eq!(
        db.query("SHOW CREATE TABLE t"),
        native.query("SHOW CREATE TABLE t"),
        "{alter}"
    );
}

#[test]
fn a_generated_column_made_ordinary_keeps_its_values() {
    same_as_native(
        "CREATE TABLE t (id INT PRIMARY KEY, v INT, g INT AS (v * 2) STORED); INSERT INTO t (id, v) VALUES (1,1),(2,5);",
        "ALTER TABLE t MODIFY g INT",
        "SELECT id, v, g FROM t ORDER BY id",
    );
}

#[test]
fn a_non_ascii_column_renamed_in_another_case_keeps_its_values() {
    same_as_native(
        "CREATE TABLE t (id INT PRIMARY KEY, `é` INT); INSERT INTO t VALUES (1,5),(2,6);",
        "ALTER TABLE t CHANGE COLUMN `É` x INT",
        "SELECT * FROM t ORDER BY id",
    );
}

#[test]
fn an_fk_added_over_orphans_fails_like_native() {
    let setup = "CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (id INT PRIMARY KEY, pid INT, KEY (pid));
      INSERT INTO p VALUES (1); INSERT INTO c VALUES (1,1),(2,99),(3,NULL);";
    let alter = "ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id)";
    assert_eq!(native_code(setup, alter), Some(1452));
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(setup);
    let create_before = db.query("SHOW CREATE TABLE c");
    let m = online(&db, alter, Settings::default());
    assert_eq!(m.state, State::Failed, "{}", m.message);
    assert!(m.message.contains("ERROR 1452 "), "{}", m.message);
    assert_eq!(db.query("SHOW CREATE TABLE c"), create_before);
    assert_eq!(tables(&db), vec!["c".to_string(), "p".to_string()]);
    // Without orphans the same ALTER completes (NULLs are no orphans).
    db.exec("DELETE FROM c WHERE id = 2");
    let m = online(&db, alter, Settings::default());
    assert_eq!(m.state, State::Complete, "{}", m.message);
}

#[test]
fn an_alter_auto_increment_above_the_counter_wins() {
    same_as_native(
        "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT); INSERT INTO t (v) VALUES (1),(2),(3); DELETE FROM t WHERE id = 3;",
        "ALTER TABLE t ADD COLUMN w INT, AUTO_INCREMENT = 100",
        "SELECT * FROM t ORDER BY id",
    );
}

#[test]
fn a_table_with_triggers_of_its_own_is_refused_at_submit() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, tid INT);
         CREATE TABLE t (id INT PRIMARY KEY, v INT);
         CREATE TRIGGER t_audit AFTER INSERT ON t FOR EACH ROW INSERT INTO audit (tid) VALUES (NEW.id);",
    );
    let err = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, Settings::default()).expect("migrator");
        m.submit("ALTER TABLE t ADD COLUMN w INT").await.expect_err("refused")
    });
    assert_eq!(
        err.to_string(),
        "online ALTER of `t` refused: the table has triggers of its own (`t_audit` on `t`), which the new table \
         would not keep; drop them first or use ddl_strategy 'direct'"
    );
    assert_eq!(tables(&db), vec!["audit".to_string(), "t".to_string()]);
}

/// A child's FK that would not fit the parent's new definition (the unique key it uses
/// dropped) is refused before anything is built: since review r23f F3 at submit, with
/// MariaDB's own 1553 as natively (`online_r23.rs`); the child keeps its FK, pointing
/// at `p`, and nothing else changes (review r9, r21). A referenced column renamed is
/// refused at submit since review r21f (`online_r22.rs`).
#[test]
fn a_child_fk_that_would_not_fit_fails_before_the_swap() {
    let setup = "CREATE TABLE p (id INT PRIMARY KEY, code INT NOT NULL, UNIQUE KEY code (code));
      CREATE TABLE c (id INT PRIMARY KEY, code INT, pid INT,
        CONSTRAINT c_code FOREIGN KEY (code) REFERENCES p (code),
        CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id));
      INSERT INTO p VALUES (1,10),(2,20); INSERT INTO c VALUES (1,10,1);";
    let alter = "ALTER TABLE p DROP INDEX code";
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(setup);
    let create_before = db.query("SHOW CREATE TABLE p");
    let refused = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, Settings::default()).expect("migrator");
        m.submit(alter).await.expect_err("refused at submit")
    });
    assert_eq!(
        refused.to_string(),
        "online ALTER of `p` fails as natively: ERROR 1553 (HY000): Cannot drop index 'code': needed in a \
         foreign key constraint"
    );
    assert_eq!(db.query("SHOW CREATE TABLE p"), create_before, "{alter}");
    let fks = db.query(&format!(
        "SELECT CONSTRAINT_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = '{}' ORDER BY 1",
        db.name
    ));
    let want = |n: &str| vec![Some(n.to_string()), Some("p".to_string())];
    assert_eq!(fks, vec![want("c_code"), want("c_p")], "{alter}");
    assert_eq!(tables(&db), vec!["c".to_string(), "p".to_string()], "{alter}");
    assert_eq!(
        db.query("SELECT * FROM c"),
        vec![vec![Some("1".into()), Some("10".into()), Some("1".into())]]
    );
}
