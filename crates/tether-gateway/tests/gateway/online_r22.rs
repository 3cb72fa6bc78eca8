//! Review r21f of online ALTER, as specifications. The checks that decide whether the
//! new table is right (a captured write clashing with a unique key the ALTER adds,
//! orphans under an FK it adds) held only for the writes before the migration became
//! `ready`; writes the gateway let through while the cut-over waited for the children
//! (F1, F2) or while the RENAME waited for a transaction (its commit) ended swapped in
//! without their rows, or as orphans under the new FK. Now they are checked again under
//! the gate before the RENAME and once more after it: the migration fails as the native
//! ALTER does after the same write (1062, 1452), and the write stays.
//!
//! F3: tables created on the backend after the gateway read its schema. The migrator
//! reads the schema afresh, the guard against InnoDB's cascades into captured tables
//! used the planner's: a parent delete cascaded natively around the capture (an
//! orphan in the migrated child). Now a migration that starts capturing makes the
//! keyspace read its schema again, and the delete is planned (its cascade captured).

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_gateway::online::{Migration, Migrator, Settings, State};
use tether_testkit::{TestDb, TestEngine};

use crate::online::{runtime, status_of, triggers, underscored, until_status};
use crate::support::{self, direct, server_error, start_with};

/// The reviewer's schema: `c` references `p` ON DELETE CASCADE, 100 rows each,
/// `p.name` = 'n1' .. 'n100'.
const SETUP: &str = "
CREATE TABLE p (id INT NOT NULL PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB;
CREATE TABLE c (id INT NOT NULL PRIMARY KEY, pid INT, v INT, KEY(pid),
  CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p SELECT seq, CONCAT('n', seq) FROM seq_1_to_100;
INSERT INTO c SELECT seq, seq, seq FROM seq_1_to_100;
";

/// Waits (at most 30 s) until `table` has the migration's three capture triggers, then
/// keeps it open in a transaction for `secs` seconds (a reporting transaction).
fn hold_after_triggers(table: &str, secs: u32) -> String {
    format!(
        r"BEGIN NOT ATOMIC
  DECLARE n INT DEFAULT 0;
  DECLARE until DATETIME DEFAULT NOW() + INTERVAL 30 SECOND;
  WHILE n < 3 AND NOW() < until DO
    SELECT COUNT(*) INTO n FROM information_schema.TRIGGERS
     WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = '{table}' AND TRIGGER_NAME LIKE '\_tether%';
  END WHILE;
  START TRANSACTION;
  SELECT COUNT(*) INTO n FROM `{table}`;
  DO SLEEP({secs});
  COMMIT;
END"
    )
}

/// Submits `alter` online through the gateway session `g`: the migration id.
async fn submit(g: &mut Conn, alter: &str) -> String {
    g.query_drop("SET @@ddl_strategy = 'online'").await.expect("strategy");
    support::rows(g, alter).await[0][0].clone()
}

/// The status and message of migration `id` once it is final (at most 60 s).
async fn final_status(g: &mut Conn, id: &str) -> (String, String) {
    for _ in 0..1200 {
        let rows = support::rows(g, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
        let (status, message) = (rows[0][5].clone(), rows[0][15].clone());
        if ["complete", "failed", "cancelled"].contains(&status.as_str()) {
            return (status, message);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("migration {id} not final after 60 s");
}

/// The error `sql` gets natively on a fresh database after `setup` (None: it runs).
fn native_code(setup: &str, sql: &str) -> Option<u16> {
    let n = TestDb::create(TestEngine::Mysql);
    n.exec(setup);
    runtime().block_on(async {
        let mut c = direct(&n).await;
        let r = c.query_drop(sql).await;
        c.disconnect().await.ok();
        r.err().map(|e| server_error(e).0)
    })
}

fn orphans_of_c(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.query("SELECT c.id FROM c LEFT JOIN p ON p.id = c.pid WHERE c.pid IS NOT NULL AND p.id IS NULL ORDER BY 1")
}

fn one(s: &str) -> Vec<Vec<Option<String>>> {
    vec![vec![Some(s.to_string())]]
}

/// F1: while the cut-over waits for a reporting transaction on the child (`ready`),
/// `write` through the gateway clashes with the unique key the ALTER adds. The write
/// is acknowledged; the migration then fails with 1062 as the native ALTER does after
/// the same write, `p` keeps the written row and every other, no child is orphaned and
/// nothing of the migration is left. (Were the write held until the swap, it would get
/// 1062 from the new table and the migration complete: also native; asserted as such.)
fn clash_while_ready(write: &str, check: &str, expected: &str) {
    let alter = "ALTER TABLE p ADD UNIQUE KEY uname (name)";
    let native = format!("{SETUP}{write};");
    assert_eq!(native_code(&native, alter), Some(1062), "native: {write} then {alter}");
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let gw = start_with(&[("ks", "managed", &db.url)], r#""schemaRefreshSeconds": 0,"#);
    let (written, status, message) = gw.block_on(async {
        let mut holder = direct(&db).await;
        let held = tokio::spawn(async move {
            holder
                .query_drop("BEGIN; SELECT COUNT(*) FROM c; DO SLEEP(6); COMMIT")
                .await
                .expect("reporting transaction");
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut g = gw.connect("ks").await;
        let id = submit(&mut g, alter).await;
        until_status(&mut g, &id, "ready").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let written = g.query_drop(write).await.map_err(server_error);
        held.await.expect("holder");
        let (status, message) = final_status(&mut g, &id).await;
        (written, status, message)
    });
    match written {
        Ok(()) => {
            assert_eq!(status, "failed", "{write}: {message}");
            assert!(message.contains("ERROR 1062 (23000)"), "{write}: {message}");
            assert!(
                message.contains("Duplicate entry 'n5' for key 'uname'"),
                "{write}: {message}"
            );
            assert!(!db.query("SHOW CREATE TABLE p")[0][1]
                .clone()
                .expect("ddl")
                .contains("uname"));
        }
        Err((code, _, msg)) => {
            assert_eq!((code, status.as_str()), (1062, "complete"), "{write}: {msg}; {message}");
        }
    }
    assert_eq!(db.query(check), one(expected), "{write}");
    assert_eq!(db.query("SELECT COUNT(*) FROM c"), one("100"));
    assert_eq!(orphans_of_c(&db), Vec::<Vec<Option<String>>>::new());
    assert_eq!(underscored(&db), vec!["_tether_migrations".to_string()]);
    assert_eq!(triggers(&db), Vec::<String>::new());
}

#[test]
fn an_insert_clashing_with_an_added_unique_key_while_ready_fails_the_migration() {
    clash_while_ready(
        "INSERT INTO p VALUES (1001, 'n5')",
        "SELECT CONCAT(COUNT(*), ':', SUM(id = 1001 AND name = 'n5')) FROM p",
        "101:1",
    );
}

/// Before the fix the trigger deleted row 7's old version from the shadow and its
/// new one failed 1062: row 7 was gone after the swap, child 7 an orphan.
#[test]
fn an_update_clashing_with_an_added_unique_key_while_ready_fails_the_migration() {
    clash_while_ready(
        "UPDATE p SET name = 'n5' WHERE id = 7",
        "SELECT CONCAT(COUNT(*), ':', (SELECT name FROM p WHERE id = 7)) FROM p",
        "100:n5",
    );
}

/// F2: while the RENAME of `c` waits for a reporting transaction (opened once the
/// capture triggers exist), the gateway accepts a row of `c` without a parent under
/// the FK the ALTER adds (its planner does not know the FK yet). The migration fails
/// with 1452, as the native ALTER after the same insert; the row stays, `c` is as it
/// was and nothing of the migration is left.
#[test]
fn an_orphan_written_while_ready_under_an_added_fk_fails_the_migration() {
    let alter = "ALTER TABLE c ADD CONSTRAINT c_v FOREIGN KEY (v) REFERENCES p (id)";
    let insert = "INSERT INTO c (id, pid, v) VALUES (500, 1, 99999)";
    assert_eq!(native_code(&format!("{SETUP}{insert};"), alter), Some(1452));
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let before = db.query("SHOW CREATE TABLE c");
    let gw = start_with(&[("ks", "managed", &db.url)], r#""schemaRefreshSeconds": 0,"#);
    let (written, status, message) = gw.block_on(async {
        let mut holder = direct(&db).await;
        let held = tokio::spawn(async move {
            holder.query_drop(hold_after_triggers("c", 6)).await.expect("held");
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut g = gw.connect("ks").await;
        let id = submit(&mut g, alter).await;
        until_status(&mut g, &id, "ready").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            status_of(&mut g, &id).await,
            "ready",
            "the cut-over waits for the holder"
        );
        let written = g.query_drop(insert).await.map_err(server_error);
        held.await.expect("holder");
        let (status, message) = final_status(&mut g, &id).await;
        (written, status, message)
    });
    assert_eq!(written, Ok(()), "the planner does not know c_v yet");
    assert_eq!(status, "failed", "{message}");
    assert!(message.contains("ERROR 1452 (23000)"), "{message}");
    assert!(message.contains("FK `c_v`"), "{message}");
    assert_eq!(
        db.query("SELECT id, pid, v FROM c WHERE id = 500"),
        vec![vec![Some("500".into()), Some("1".into()), Some("99999".into())]]
    );
    assert_eq!(db.query("SHOW CREATE TABLE c"), before);
    assert_eq!(underscored(&db), vec!["_tether_migrations".to_string()]);
    assert_eq!(triggers(&db), Vec::<String>::new());
}

/// Once migration `id` is `ready` (its RENAME waiting for `a`'s transaction), `a`
/// runs `write` and commits: the migration's end.
async fn write_while_the_rename_waits(m: &Migrator, id: &str, a: &mut Conn, write: &str) -> Migration {
    while m.get(id).await.expect("record").state != State::Ready {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.query_drop(write).await.expect("the write succeeds");
    a.query_drop("COMMIT").await.expect("commit");
    m.wait(id, Duration::from_secs(60)).await.expect("record")
}

/// The migration failed with `code` after its RENAME, and swapped back.
fn assert_swapped_back(done: &Migration, code: u16) {
    assert_eq!(done.state, State::Failed, "{}", done.message);
    assert!(
        done.message.contains(&format!("ERROR {code} (23000)")),
        "{}",
        done.message
    );
    assert!(done.message.contains("swapped back"), "{}", done.message);
}

/// The transaction the RENAME waits for writes the clash and commits: the checks
/// under the gate before the RENAME saw nothing (uncommitted), the RENAME ran after
/// the commit. Read again after the RENAME, the clash swaps the tables back and fails
/// the migration; `t` keeps both rows and its definition.
#[test]
fn a_clash_committed_while_the_rename_waits_swaps_back() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t SELECT seq, seq FROM seq_1_to_2000;");
    let before = db.query("SHOW CREATE TABLE t");
    let settings = Settings {
        chunk_rows: 20,
        chunk_pause: Duration::from_millis(20),
        cutover_lock_timeout: Duration::from_secs(6),
        cutover_attempts: 1,
        ..Settings::default()
    };
    let done = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, settings).expect("migrator");
        let id = m.submit("ALTER TABLE t ADD UNIQUE KEY uv (v)").await.expect("accepted");
        while m.get(&id).await.expect("record").rows_copied <= 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A transaction that wrote to `t` already (so it holds the metadata locks its
        // later INSERT and the trigger's writes need: else they would wait behind the
        // RENAME, a deadlock).
        let mut a = direct(&db).await;
        a.query_drop("BEGIN").await.expect("begin");
        a.query_drop("UPDATE t SET v = v WHERE id = 1").await.expect("open");
        write_while_the_rename_waits(&m, &id, &mut a, "INSERT INTO t VALUES (5000, 10)").await
    });
    assert_swapped_back(&done, 1062);
    assert_eq!(
        db.query("SELECT id FROM t WHERE v = 10 ORDER BY id"),
        vec![vec![Some("10".to_string())], vec![Some("5000".to_string())]]
    );
    assert_eq!(db.query("SELECT COUNT(*) FROM t"), one("2001"));
    assert_eq!(db.query("SHOW CREATE TABLE t"), before);
    assert_eq!(underscored(&db), vec!["_tether_migrations".to_string()]);
    assert_eq!(triggers(&db), Vec::<String>::new());
}

/// As above with an FK the ALTER adds: the orphan the waited-for transaction commits
/// is found after the RENAME, the tables are swapped back, `c` keeps the row and its
/// definition (without `c_v`).
#[test]
fn an_orphan_committed_while_the_rename_waits_swaps_back() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let before = db.query("SHOW CREATE TABLE c");
    let settings = Settings {
        cutover_lock_timeout: Duration::from_secs(6),
        cutover_attempts: 1,
        ..Settings::default()
    };
    let done = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, settings).expect("migrator");
        let mut a = direct(&db).await;
        let id = m
            .submit("ALTER TABLE c ADD CONSTRAINT c_v FOREIGN KEY (v) REFERENCES p (id)")
            .await
            .expect("accepted");
        // Once the triggers exist (the copy of 100 rows follows at once), a
        // transaction holds `c` open through the RENAME's wait: an UPDATE that finds
        // no row (no row lock in the copy's way) still takes the metadata locks of
        // `c` and of the tables its triggers write.
        a.query_drop(hold_after_triggers("c", 0)).await.expect("triggers made");
        a.query_drop("BEGIN").await.expect("begin");
        a.query_drop("UPDATE c SET v = v WHERE id = 0").await.expect("open");
        write_while_the_rename_waits(&m, &id, &mut a, "INSERT INTO c VALUES (500, 1, 99999)").await
    });
    assert_swapped_back(&done, 1452);
    assert_eq!(db.query("SELECT COUNT(*) FROM c WHERE v = 99999"), one("1"));
    assert_eq!(db.query("SHOW CREATE TABLE c"), before);
    assert_eq!(underscored(&db), vec!["_tether_migrations".to_string()]);
    assert_eq!(triggers(&db), Vec::<String>::new());
}

/// F3: the gateway read its schema before `p` and `c` existed (created on the
/// backend, no schema refresh). An online ALTER of `c` captures it; a parent delete
/// through the gateway while it does is planned on the schema read again (its cascade
/// into `c` a statement the capture sees), not forwarded to InnoDB on the old one:
/// `c` ends as natively, without the deleted parent's child and without orphans.
#[test]
fn a_migration_of_tables_the_gateway_has_not_read_yet_keeps_their_cascades() {
    let alter = "ALTER TABLE c ADD COLUMN z INT";
    let delete = "DELETE FROM p WHERE id = 5";
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE other (id INT PRIMARY KEY)");
    let native = TestDb::create(TestEngine::Mysql);
    native.exec(SETUP);
    native.exec(&format!("{delete}; {alter};"));
    let gw = start_with(&[("ks", "managed", &db.url)], r#""schemaRefreshSeconds": 0,"#);
    let (status, message) = gw.block_on(async {
        let mut g = gw.connect("ks").await;
        // The gateway reads its schema: `other` only.
        let plan = support::rows(&mut g, "EXPLAIN FK DELETE FROM other WHERE id = 1").await;
        assert!(!plan.is_empty());
        let mut holder = direct(&db).await;
        holder.query_drop(SETUP).await.expect("tables made on the backend");
        let held = tokio::spawn(async move {
            holder.query_drop(hold_after_triggers("c", 4)).await.expect("held");
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = submit(&mut g, alter).await;
        until_status(&mut g, &id, "ready").await;
        g.query_drop(delete).await.expect("the delete runs");
        held.await.expect("holder");
        final_status(&mut g, &id).await
    });
    assert_eq!(status, "complete", "{message}");
    assert!(!message.contains("ORPHANS"), "{message}");
    assert_eq!(orphans_of_c(&db), Vec::<Vec<Option<String>>>::new());
    for table in ["p", "c"] {
        let sql = format!("SELECT * FROM {table} ORDER BY id");
        assert_eq!(db.query(&sql), native.query(&sql), "rows of {table}");
        let ddl = format!("SHOW CREATE TABLE {table}");
        assert_eq!(db.query(&ddl), native.query(&ddl), "{table}");
    }
    // The old table is kept (docs/gateway.md), no shadow.
    let left = underscored(&db);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left[0].starts_with("_c_old_") && left[1] == "_tether_migrations",
        "{left:?}"
    );
    assert_eq!(triggers(&db), Vec::<String>::new());
}

/// F4: a family migration whose new key type carries a character set or collation
/// gives the children's columns the same (before: only `varchar(10)`, the child's
/// default collation, and InnoDB refused the FK with 1822 on scratch names). Ends as
/// the same change made by hand natively: FK dropped, both columns modified, FK added.
#[test]
fn a_referenced_key_taking_a_collation_gives_it_to_its_children() {
    const FAMILY: &str = "
CREATE TABLE p (id INT NOT NULL PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE c (id INT NOT NULL PRIMARY KEY, pid INT NOT NULL DEFAULT 0 COMMENT 'the parent', KEY kp (pid),
  CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO p SELECT seq, CONCAT('n', seq) FROM seq_1_to_20;
INSERT INTO c SELECT seq, seq FROM seq_1_to_20;
";
    for key in ["VARCHAR(10) COLLATE utf8mb4_bin", "VARCHAR(10) CHARACTER SET latin1"] {
        let native = TestDb::create(TestEngine::Mysql);
        native.exec(FAMILY);
        native.exec(&format!(
            "ALTER TABLE c DROP FOREIGN KEY c_p; ALTER TABLE p MODIFY id {key} NOT NULL; \
             ALTER TABLE c MODIFY pid {key} NOT NULL DEFAULT 0 COMMENT 'the parent', \
             ADD CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE;"
        ));
        let db = TestDb::create(TestEngine::Mysql);
        db.exec(FAMILY);
        let done = runtime().block_on(async {
            let m = Migrator::new("ks", &db.url, true, Settings::default()).expect("migrator");
            let id = m
                .submit(&format!("ALTER TABLE p MODIFY id {key} NOT NULL"))
                .await
                .expect("accepted");
            m.wait(&id, Duration::from_secs(60)).await.expect("record")
        });
        assert_eq!(done.state, State::Complete, "{key}: {}", done.message);
        for table in ["p", "c"] {
            let sql = format!("SELECT * FROM {table} ORDER BY id");
            assert_eq!(db.query(&sql), native.query(&sql), "{key}: rows of {table}");
            let ddl = format!("SHOW CREATE TABLE {table}");
            assert_eq!(db.query(&ddl), native.query(&ddl), "{key}: {table}");
        }
    }
}

/// F5: a refusal that says what is wrong and what works. Renaming a referenced column
/// (the native ALTER carries the rename into the children's FKs) is refused at submit
/// naming the FK, not with InnoDB's 1822 on scratch names; a family migration refused
/// for a child's trigger does not advise 'direct' (MariaDB refuses that too, 1833).
/// EXPLAIN FK shows both refusals.
#[test]
fn refusals_name_the_referenced_column_and_give_advice_that_works() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let submitted = |alter: &'static str| {
        let url = db.url.clone();
        runtime().block_on(async move {
            let m = Migrator::new("ks", &url, true, Settings::default()).expect("migrator");
            m.submit(alter).await.map_err(|e| e.to_string())
        })
    };
    let renamed = "online ALTER of `p` refused: renaming column `id`, which FK `c_p` of `c` references, is not \
                   supported online (the FK would have to follow the new name): run it with ddl_strategy 'direct'";
    assert_eq!(
        submitted("ALTER TABLE p RENAME COLUMN id TO pid"),
        Err(renamed.to_string())
    );
    assert_eq!(
        submitted("ALTER TABLE p CHANGE id id2 INT NOT NULL"),
        Err(renamed.to_string())
    );
    assert_eq!(
        native_code(SETUP, "ALTER TABLE p RENAME COLUMN id TO pid"),
        None,
        "natively it runs"
    );
    // A column no FK references is renamed online as before.
    let id = submitted("ALTER TABLE p RENAME COLUMN name TO title").expect("accepted");
    assert_eq!(id.len(), 36);

    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    db.exec("CREATE TRIGGER c_ai AFTER INSERT ON c FOR EACH ROW SET @n = 1");
    let url = db.url.clone();
    let family = runtime().block_on(async move {
        let m = Migrator::new("ks", &url, true, Settings::default()).expect("migrator");
        m.submit("ALTER TABLE p MODIFY id BIGINT NOT NULL")
            .await
            .map_err(|e| e.to_string())
    });
    assert_eq!(
        family,
        Err(
            "online ALTER of `p` refused: the table has triggers of its own (`c_ai` on `c`), which the new table \
             would not keep; drop them first (and create them again afterwards)"
                .to_string()
        )
    );
    // EXPLAIN FK of the same ALTER says so, and of the rename too.
    let gw = start_with(&[("ks", "managed", &db.url)], "");
    let explained = |sql: &'static str| {
        gw.block_on(async {
            let mut g = gw.connect("ks").await;
            support::rows(&mut g, &format!("EXPLAIN FK {sql}"))
                .await
                .into_iter()
                .map(|r| r[0].clone())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        explained("ALTER TABLE p MODIFY id BIGINT NOT NULL"),
        vec![
            "online ALTER of `p`".to_string(),
            "refused: the table has triggers of its own (`c_ai` on `c`), which the new table would not keep; drop \
             them first (and create them again afterwards)"
                .to_string()
        ]
    );
    assert_eq!(
        explained("ALTER TABLE p RENAME COLUMN id TO pid"),
        vec![
            "online ALTER of `p`".to_string(),
            format!(
                "refused: {}",
                renamed.trim_start_matches("online ALTER of `p` refused: ")
            )
        ]
    );
    assert_eq!(
        native_code(
            &format!("{SETUP}CREATE TRIGGER c_ai AFTER INSERT ON c FOR EACH ROW SET @n = 1;"),
            "ALTER TABLE p MODIFY id BIGINT NOT NULL"
        ),
        Some(1833),
        "natively refused while the FK exists"
    );
}
