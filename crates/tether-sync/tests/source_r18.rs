//! Eighteenth session review C: the source must never be written.
//!
//! F1: a MariaDB trigger or routine created under `ANSI_QUOTES` names the source's
//! tables as `"src"."log"`; the copy kept that qualification (`"..."` was read as a
//! string), so a write into the copy wrote into the source. F2: `on_conflict =
//! "update"` with the checks on changed a key that a table of the source's database
//! references with ON UPDATE CASCADE, and the server rewrote the source's rows. F3:
//! a PostgreSQL host spelled `127.1` failed the TLS handshake under `sslmode=prefer`.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The source: `t` (ids 1, 2) and `log` ('orig').
fn logged_source() -> TestDb {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(50));
         CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO t VALUES (1, 'a'), (2, 'b'); INSERT INTO log (msg) VALUES ('orig');",
    );
    src
}

fn copy_job(src: &TestDb, dest: &TestDb) -> String {
    format!(
        "source = \"{}\"\nseed = \"x\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n\
         [tables]\ninclude = [\"t\", \"log\"]\n",
        src.url, dest.url
    )
}

/// F1, the trigger: the copy's trigger writes into the copy's `log`, never the source's.
#[test]
fn an_ansi_quotes_trigger_writes_into_the_copy_not_the_source() {
    let src = logged_source();
    src.exec(&format!(
        "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES');
         CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW
           INSERT INTO \"{}\".\"log\" (msg) VALUES (CONCAT('ins ', NEW.id));",
        src.name
    ));
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&copy_job(&src, &dest)).expect("the sync");
    assert!(report.ok, "{report:?}");
    dest.exec("INSERT INTO t VALUES (77, 'y')");
    assert_eq!(rows(&src, "log", "id"), [["1", "orig"]]);
    assert_eq!(rows(&dest, "log", "id"), [["1", "orig"], ["2", "ins 77"]]);
    let shown = one(
        &dest,
        "SELECT ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_NAME = 't_ai' AND TRIGGER_SCHEMA = DATABASE()",
    );
    assert!(!shown.contains(&src.name), "{shown}");
}

/// F1, the routine: a procedure a copied trigger calls, created under ANSI_QUOTES and
/// naming the source's `log` in double quotes, writes into the copy's.
#[test]
fn an_ansi_quotes_procedure_writes_into_the_copy_not_the_source() {
    let src = logged_source();
    src.exec(&format!(
        "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES');
         CREATE PROCEDURE note_it(IN m VARCHAR(50)) INSERT INTO \"{}\".log (msg) VALUES (m);
         CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW CALL note_it(CONCAT('proc ', NEW.id));",
        src.name
    ));
    let dest = TestDb::create(Engine::Mysql);
    // The plan names the procedure the trigger calls (as a function used by t).
    let planned = items(&copy_job(&src, &dest));
    item(&planned, "trigger", "t.t_ai");
    item(&planned, "function", "note_it (used by t)");
    let report = sync(&copy_job(&src, &dest)).expect("the sync");
    assert!(report.ok, "{report:?}");
    dest.exec("INSERT INTO t VALUES (55, 'y')");
    assert_eq!(rows(&src, "log", "id"), [["1", "orig"]]);
    assert_eq!(rows(&dest, "log", "id"), [["1", "orig"], ["2", "proc 55"]]);
}

/// F2: a table of the source's database references the destination's `t(v)` with ON
/// UPDATE CASCADE. `on_conflict = "update"` would change `v` of row 1 ('old' to 'a'):
/// refused, naming the FK; the source's `ref` and the destination's `t` keep their rows.
/// With the FK's action RESTRICT the update goes ahead as far as the server lets it.
#[test]
fn an_update_that_would_cascade_into_the_source_is_refused() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20), UNIQUE KEY uv (v));
         INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20), UNIQUE KEY uv (v)) ENGINE = InnoDB;
         INSERT INTO t VALUES (1, 'old'), (2, 'b');",
    );
    src.exec(&format!(
        "CREATE TABLE ref (id INT PRIMARY KEY, v VARCHAR(20),
           CONSTRAINT ref_v FOREIGN KEY (v) REFERENCES {}.t (v) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE = InnoDB;
         INSERT INTO ref VALUES (1, 'old'), (2, 'b');",
        dest.name
    ));
    let job = format!(
        "source = \"{}\"\nseed = \"x\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n\
         on_conflict = \"update\"\n[tables]\ninclude = [\"t\"]\n",
        src.url, dest.url
    );
    let err = sync(&job)
        .expect_err("the update would rewrite the source's ref")
        .to_string();
    assert!(
        err.contains(&format!(
            "on_conflict = \"update\" may change t (v), which rows of {}.ref (a table of another database of the \
             server, the job's source's name) reference through foreign key ref_v ON UPDATE CASCADE",
            src.name
        )),
        "{err}"
    );
    assert!(err.contains("(nothing was written)"), "{err}");
    assert_eq!(rows(&src, "ref", "id"), [["1", "old"], ["2", "b"]]);
    assert_eq!(rows(&dest, "t", "id"), [["1", "old"], ["2", "b"]]);

    // An FK on the key rows are matched on (the primary key) is never changed: no refusal.
    src.exec(&format!(
        "DROP TABLE ref;
         CREATE TABLE ref (id INT PRIMARY KEY, tid INT,
           CONSTRAINT ref_id FOREIGN KEY (tid) REFERENCES {}.t (id) ON UPDATE CASCADE) ENGINE = InnoDB;
         INSERT INTO ref VALUES (1, 1);",
        dest.name
    ));
    let report = sync(&job).expect("the primary key is not changed");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "t", "id"), [["1", "a"], ["2", "b"]]);
    assert_eq!(rows(&src, "ref", "id"), [["1", "1"]]);
}

/// F3: `127.1` is 127.0.0.1 to the resolver; under the default `sslmode=prefer` (no
/// host name check) the TLS handshake no longer fails on it as "invalid dns name".
#[test]
fn a_postgres_host_spelled_127_1_connects_under_prefer() {
    let base = std::env::var("TETHER_TEST_PG_URL").expect("TETHER_TEST_PG_URL");
    if !base.contains("@127.0.0.1:") {
        return;
    }
    let url = tether_connect::DbUrl::parse(&base.replace("@127.0.0.1:", "@127.1:")).expect("the URL");
    let answer = tether_testkit::block_on(async {
        let mut conn = tether_connect::Connection::open(&url)
            .await
            .map_err(|e| e.to_string())?;
        let rows = conn
            .query("SELECT 1 + 1", &[tether_schema::DataType::Text])
            .await
            .map_err(|e| e.to_string())?;
        conn.close().await;
        Ok::<_, String>(rows.len())
    });
    assert_eq!(answer, Ok(1));
}
