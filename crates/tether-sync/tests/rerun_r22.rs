//! Twenty-first review, B (twenty-first session writer B), F1: a breakable cycle loaded
//! into a destination that checks FKs row by row (MariaDB, SQLite) is written with the
//! FK NULL and completed by UPDATEs once the cycle is loaded. A run that failed (here: a
//! CHECK of the destination refusing a row) or was stopped before those UPDATEs left
//! rows with the FK NULL; a re-run with `on_conflict = "skip"` kept them so, completed
//! only the rows it inserted itself, and said "verified". Now a `skip` re-run completes
//! every row whose cycle FK columns are all NULL where the source holds a value, and
//! keeps a row whose FK the destination holds another value in; the failure and the
//! interruption say what a re-run does with those rows.

mod common;

use common::*;
use tether_sync::SyncError;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The repro's self-reference: 10 is the boss, 20 a manager under it.
const EMP_ROWS: &str =
    "INSERT INTO emp VALUES (10,'boss',NULL),(1,'a',10),(2,'b',10),(20,'mgr',10),(3,'c',20),(4,'d',20),(30,'e',20)";

fn emp_source() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(&format!(
        "CREATE TABLE emp (id int PRIMARY KEY, name text, manager_id int REFERENCES emp(id)); {EMP_ROWS}"
    ));
    src
}

/// The destination's `emp`, refusing the row 30 by a CHECK when `check` is set.
fn emp_table(engine: Engine, check: bool) -> String {
    let check = if check {
        ", CONSTRAINT no30 CHECK (id <> 30)"
    } else {
        ""
    };
    match engine {
        Engine::Mysql => format!(
            "CREATE TABLE emp (id int PRIMARY KEY, name text, manager_id int, \
             CONSTRAINT emp_m FOREIGN KEY (manager_id) REFERENCES emp(id){check}) ENGINE=InnoDB"
        ),
        _ => format!(
            "CREATE TABLE emp (id integer PRIMARY KEY, name text, manager_id integer REFERENCES emp(id){check})"
        ),
    }
}

/// Takes the CHECK refusing row 30 away (SQLite: the table built again, rows kept).
fn drop_check(dest: &TestDb, engine: Engine) {
    match engine {
        Engine::Sqlite => dest.exec(&format!(
            "PRAGMA foreign_keys = OFF; ALTER TABLE emp RENAME TO old_emp; {}; \
             INSERT INTO emp SELECT * FROM old_emp; DROP TABLE old_emp",
            emp_table(engine, false)
        )),
        Engine::Mysql => dest.exec("ALTER TABLE emp DROP CONSTRAINT no30"),
        Engine::Postgres => dest.exec("ALTER TABLE emp DROP CONSTRAINT no30"),
    }
}

fn skip_job(src: &TestDb, dests: &[&TestDb], tables: &[&str]) -> String {
    let mut s = format!("source = \"{}\"\nprivacy = \"off\"\n", src.url);
    for d in dests {
        s.push_str(&format!(
            "[[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n",
            d.url
        ));
    }
    let tables: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    s.push_str(&format!(
        "[tables]\ninclude = [{}]\n[options]\nbatch_size = 2\n",
        tables.join(", ")
    ));
    s
}

fn emp_rows() -> Vec<Vec<String>> {
    [
        ["1", "a", "10"],
        ["2", "b", "10"],
        ["3", "c", "20"],
        ["4", "d", "20"],
        ["10", "boss", "NULL"],
        ["20", "mgr", "10"],
        ["30", "e", "20"],
    ]
    .iter()
    .map(|r| r.iter().map(|v| v.to_string()).collect())
    .collect()
}

fn nulls(db: &TestDb, table: &str, column: &str) -> String {
    one(db, &format!("SELECT count(*) FROM {table} WHERE {column} IS NULL"))
}

/// The first run fails on row 30 and leaves rows with manager_id NULL; the message
/// says a re-run with `skip` sets them. After the CHECK is gone the same job runs again
/// and the destination holds the source's rows, the row the user gave another manager
/// in between (1: 20) kept as it is. Before the fix the re-run left 1, 2, 3, 4 and 20
/// with manager_id NULL and said "verified".
fn self_reference_rerun(engine: Engine) {
    let src = emp_source();
    let dest = TestDb::create(engine);
    dest.exec(&emp_table(engine, true));
    let job = skip_job(&src, &[&dest], &["emp"]);
    let err = sync(&job).expect_err("row 30 is refused");
    let text = err.to_string();
    assert!(
        matches!(err, SyncError::Rejected { ref table, .. } if table == "emp"),
        "{text}"
    );
    assert!(text.contains("(id)=(30)"), "{text}");
    assert!(
        text.contains("running the job again with on_conflict = \"skip\" or \"update\" sets them"),
        "{text}"
    );
    // Every row written before 30 is there with manager_id NULL (none of the UPDATEs ran).
    let written: i64 = one(&dest, "SELECT count(*) FROM emp").parse().expect("count");
    assert_eq!(written, 6, "{text}");
    assert_eq!(nulls(&dest, "emp", "manager_id"), "6", "{text}");
    drop_check(&dest, engine);
    // The user gives row 1 a manager of their own: skip keeps it.
    dest.exec("UPDATE emp SET manager_id = 20 WHERE id = 1");
    let report = sync(&job).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.tables[0].rows_written, vec![1]);
    let mut expected = emp_rows();
    expected[0][2] = "20".into();
    assert_eq!(rows(&dest, "emp", "id"), expected);
    // A third run changes nothing.
    let report = sync(&job).expect("third run");
    assert_eq!(report.tables[0].rows_written, vec![0]);
    assert_eq!(rows(&dest, "emp", "id"), expected);
}

#[test]
fn skip_rerun_completes_a_self_reference_a_failed_run_left_null_on_sqlite() {
    self_reference_rerun(Engine::Sqlite);
}

#[test]
fn skip_rerun_completes_a_self_reference_a_failed_run_left_null_on_mariadb() {
    self_reference_rerun(Engine::Mysql);
}

/// PostgreSQL loads the job in one transaction with the FKs dropped and created again:
/// the failed run leaves the table as it was (empty), nothing NULL, and the re-run
/// copies every row with its manager.
#[test]
fn a_failed_run_into_postgresql_leaves_nothing_null_and_the_rerun_copies_all() {
    let src = emp_source();
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(&emp_table(Engine::Postgres, true));
    let job = skip_job(&src, &[&dest], &["emp"]);
    let text = sync(&job).expect_err("row 30 is refused").to_string();
    assert_eq!(one(&dest, "SELECT count(*) FROM emp"), "0", "{text}");
    drop_check(&dest, Engine::Postgres);
    let report = sync(&job).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "emp", "id"), emp_rows());
}

/// A two-table cycle, `a.b_id` (NULL-able) the broken edge, `b.a_id` NOT NULL: `a`
/// loads with b_id NULL, then `b`, whose row 3 the destination refuses, so the UPDATEs
/// of `a` never run and the message says so, and what a re-run does. The re-run with
/// `skip` sets a.b_id on every row.
#[test]
fn skip_rerun_completes_a_two_table_cycle_on_mariadb() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int); \
         CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a(id)); \
         ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b(id); \
         INSERT INTO a VALUES (1, NULL), (2, NULL), (3, NULL), (4, NULL); \
         INSERT INTO b VALUES (1, 1), (2, 2), (3, 3); \
         UPDATE a SET b_id = id WHERE id <= 3; UPDATE a SET b_id = 1 WHERE id = 4",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int) ENGINE=InnoDB; \
         CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a(id), \
         CONSTRAINT no3 CHECK (id <> 3)) ENGINE=InnoDB; \
         ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id)",
    );
    let job = skip_job(&src, &[&dest], &["a", "b"]);
    let text = sync(&job).expect_err("b 3 is refused").to_string();
    assert!(text.contains("rows waiting for them"), "{text}");
    assert!(text.contains("a: 4"), "{text}");
    assert!(
        text.contains("running the job again with on_conflict = \"skip\" or \"update\" sets them"),
        "{text}"
    );
    assert_eq!(nulls(&dest, "a", "b_id"), "4", "{text}");
    dest.exec("ALTER TABLE b DROP CONSTRAINT no3");
    let report = sync(&job).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "a", "id"),
        vec![vec!["1", "1"], vec!["2", "2"], vec!["3", "3"], vec!["4", "1"]]
    );
    assert_eq!(
        rows(&dest, "b", "id"),
        vec![vec!["1", "1"], vec!["2", "2"], vec!["3", "3"]]
    );
}

/// A composite self-reference ((pg, pid) -> (g, id)), both columns loaded NULL: the
/// re-run sets both; a row whose FK the user pointed elsewhere keeps it, and a row
/// the source holds NULL in stays NULL.
#[test]
fn skip_rerun_completes_a_composite_fk_cycle_on_sqlite() {
    let src = TestDb::create(Engine::Postgres);
    let ddl = "CREATE TABLE node (g int, id int, pg int, pid int, PRIMARY KEY (g, id), \
               FOREIGN KEY (pg, pid) REFERENCES node (g, id))";
    src.exec(&format!(
        "{ddl}; INSERT INTO node VALUES (1, 1, NULL, NULL), (1, 2, 1, 1), (2, 1, 1, 2), (2, 2, 2, 1), (3, 1, 2, 2)"
    ));
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec(
        "CREATE TABLE node (g int, id int, pg int, pid int, PRIMARY KEY (g, id), \
         FOREIGN KEY (pg, pid) REFERENCES node (g, id), CHECK (g <> 3))",
    );
    let job = skip_job(&src, &[&dest], &["node"]);
    let text = sync(&job).expect_err("(3, 1) is refused").to_string();
    assert_eq!(
        one(&dest, "SELECT count(*) FROM node WHERE pg IS NULL AND pid IS NULL"),
        "4",
        "{text}"
    );
    dest.exec(&format!(
        "PRAGMA foreign_keys = OFF; ALTER TABLE node RENAME TO old_node; {ddl}; \
         INSERT INTO node SELECT * FROM old_node; DROP TABLE old_node; \
         UPDATE node SET pg = 1, pid = 1 WHERE g = 2 AND id = 2"
    ));
    let report = sync(&job).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "node", "g, id"),
        vec![
            vec!["1", "1", "NULL", "NULL"],
            vec!["1", "2", "1", "1"],
            vec!["2", "1", "1", "2"],
            vec!["2", "2", "1", "1"],
            vec!["3", "1", "2", "2"],
        ]
    );
}

/// Two destinations, only the SQLite one refusing row 30: the MariaDB one is loaded
/// up to the same table and stopped. The re-run leaves both equal to the source
/// (before the fix: MariaDB complete, SQLite with five NULL managers, both "verified").
#[test]
fn skip_rerun_completes_every_destination_of_a_two_destination_job() {
    let src = emp_source();
    let lite = TestDb::create(Engine::Sqlite);
    lite.exec(&emp_table(Engine::Sqlite, true));
    let maria = TestDb::create(Engine::Mysql);
    maria.exec(&emp_table(Engine::Mysql, false));
    let job = skip_job(&src, &[&maria, &lite], &["emp"]);
    let text = sync(&job).expect_err("row 30 is refused on SQLite").to_string();
    assert!(text.contains("(id)=(30)"), "{text}");
    drop_check(&lite, Engine::Sqlite);
    let report = sync(&job).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&lite, "emp", "id"), emp_rows());
    assert_eq!(rows(&maria, "emp", "id"), emp_rows());
}

/// A stop while a self-referencing table loads into MariaDB: the interruption says
/// the rows written may hold the FK NULL and what a re-run does; the re-run with
/// `skip` leaves exactly the source's one NULL.
#[test]
fn an_interrupted_load_says_so_and_a_skip_rerun_completes_it() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE sr (id int PRIMARY KEY, m int REFERENCES sr(id)); \
         INSERT INTO sr SELECT g, CASE WHEN g < 20000 THEN g + 1 END FROM generate_series(1, 20000) g",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE sr (id int PRIMARY KEY, m int, CONSTRAINT sr_m FOREIGN KEY (m) REFERENCES sr(id)) ENGINE=InnoDB",
    );
    let text = skip_job(&src, &[&dest], &["sr"]).replace("batch_size = 2", "batch_size = 500");
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let url = dest.url.clone();
    let Some(err) = run_stopped_when(&job, move || {
        tether_testkit::query_url(Engine::Mysql, &url, "SELECT count(*) FROM sr")[0][0].as_deref() != Some("0")
    }) else {
        return;
    };
    let said = err.to_string();
    eprintln!("{said}");
    assert!(matches!(err, SyncError::Interrupted(_)), "{said}");
    let left: i64 = nulls(&dest, "sr", "m").parse().expect("count");
    if left > 1 {
        assert!(
            said.contains("rows this run wrote into tables of a cycle may hold its FK columns NULL: sr (m)"),
            "{said}"
        );
        assert!(
            said.contains("on_conflict = \"skip\" or \"update\" sets them"),
            "{said}"
        );
    }
    let report = sync(&text).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&dest, "SELECT count(*) FROM sr"), "20000");
    assert_eq!(nulls(&dest, "sr", "m"), "1");
    assert_eq!(one(&dest, "SELECT count(*) FROM sr WHERE m = id + 1"), "19999");
}

/// The count a rejection gives of the rows it leaves with the FK NULL is the count the
/// destination holds, with `skip` too (it used to leave out the failed batch's rows
/// before the rejected one): row 4 is refused, the batch (3, 4) keeps 3 where the
/// server keeps what came before. A second run, still refused, counts the rows the
/// first left so apart.
fn counts_left_null(engine: Engine) {
    let src = emp_source();
    let dest = TestDb::create(engine);
    dest.exec(&emp_table(engine, false).replace(
        "REFERENCES emp(id)",
        "REFERENCES emp(id), CONSTRAINT no4 CHECK (id <> 4)",
    ));
    let job = skip_job(&src, &[&dest], &["emp"]);
    let first = sync(&job).expect_err("row 4 is refused").to_string();
    let held = nulls(&dest, "emp", "manager_id").parse::<i64>().expect("count") - 1;
    assert!(
        first.contains(&format!(", {held} of them new rows left with manager_id NULL")),
        "{held}: {first}"
    );
    let second = sync(&job).expect_err("row 4 is refused again").to_string();
    assert!(!second.contains("new rows left"), "{second}");
    assert!(
        second.contains(&format!(
            ", and {held} rows an earlier run left with manager_id NULL still so"
        )),
        "{held}: {second}"
    );
}

#[test]
fn a_rejection_counts_the_rows_it_leaves_null_with_skip_on_sqlite() {
    counts_left_null(Engine::Sqlite);
}

#[test]
fn a_rejection_counts_the_rows_it_leaves_null_with_skip_on_mariadb() {
    counts_left_null(Engine::Mysql);
}
