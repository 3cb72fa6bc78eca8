//! Sixteenth review, values and schema on SQLite and PostgreSQL copies (r16 R1-R4): a
//! PostgreSQL NaN, which SQLite stores as NULL, is refused naming table, column and row
//! before anything is written; an infinity into a SQLite TEXT column too; a SQLite
//! NOCASE column on PostgreSQL and a SQLite CHECK are reported in the plan; MariaDB's
//! SET and UNSIGNED columns get their CHECKs on SQLite; the respelling line names only
//! what is rewritten; a value a table the run created cannot hold is not answered with
//! "widen the destination's column".

mod common;

use std::sync::Mutex;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The error of a script `db` refuses (the test kit panics with it).
fn exec_err(db: &TestDb, script: &str) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.exec(script)));
    std::panic::set_hook(hook);
    match got {
        Ok(()) => panic!("`{script}` was accepted"),
        Err(e) => e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    }
}

fn refused(job: &str) -> String {
    sync(job).expect_err("the job is refused").to_string()
}

/// R1: SQLite binds a NaN as NULL: the run was verified with NULL where the source has
/// NaN. Now the row is refused naming table, column and key, and the table the run
/// created is dropped again (nothing left written); the infinities are kept.
#[test]
fn a_postgres_nan_is_refused_on_sqlite_not_turned_into_null() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE m (id int PRIMARY KEY, d double precision, r real);
         INSERT INTO m VALUES (1, 1.5, 2.5), (2, 'Infinity', '-Infinity'), (3, 'NaN', 1);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let err = refused(&job(&src, &[&dest], ""));
    assert!(
        err.contains(
            "table m: row (id)=(3) was rejected: its d would be stored changed there: it is NaN, which SQLite \
             cannot hold (it would store NULL)"
        ),
        "{err}"
    );
    assert!(
        err.contains("the run created this table with the closest type it has there"),
        "{err}"
    );
    assert!(!err.contains("widen the destination's column"), "{err}");
    assert_eq!(one(&dest, "SELECT count(*) FROM sqlite_master WHERE name = 'm'"), "0");

    // real NaN too.
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE m (id int PRIMARY KEY, r real); INSERT INTO m VALUES (1, 'NaN');");
    let dest = TestDb::create(Engine::Sqlite);
    let err = refused(&job(&src, &[&dest], ""));
    assert!(
        err.contains("row (id)=(1) was rejected: its r would be stored changed there: it is NaN"),
        "{err}"
    );

    // Without NaN: the infinities are copied as SQLite's own.
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE m (id int PRIMARY KEY, d double precision);
         INSERT INTO m VALUES (1, 'Infinity'), (2, '-Infinity'), (3, 0.1);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(&src, &[&dest], "")).expect("copied");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query("SELECT id, typeof(d), d > 1e308, d < -1e308, CAST(d AS TEXT) FROM m ORDER BY id")
            .into_iter()
            .map(|r| r
                .into_iter()
                .map(|v| v.unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|"))
            .collect::<Vec<_>>(),
        ["1|real|1|0|Inf", "2|real|0|1|-Inf", "3|real|0|0|0.1"]
    );
}

/// R1: an existing SQLite TEXT column stores an infinity as the text 'Inf': refused, and
/// the advice for a table the user made is to widen it.
#[test]
fn an_infinity_into_a_sqlite_text_column_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE m (id int PRIMARY KEY, d double precision); INSERT INTO m VALUES (1, '-Infinity');");
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec("CREATE TABLE m (id INTEGER PRIMARY KEY, d TEXT);");
    let err = refused(&job(&src, &[&dest], ""));
    assert!(
        err.contains(
            "row (id)=(1) was rejected: its d would be stored changed there: SQLite's TEXT affinity (its declared \
             type) stores it as the text '-Inf'"
        ),
        "{err}"
    );
    assert!(
        err.contains("widen the destination's column or transform the value"),
        "{err}"
    );
    assert_eq!(one(&dest, "SELECT count(*) FROM m"), "0");
}

/// R2: a SQLite NOCASE column on PostgreSQL compares with case: the plan says so (a
/// skipped collation); on MariaDB it gets a `_ci` collation. SQLite CHECKs, which are
/// not translated, get a `skipped check` line each.
#[test]
fn sqlite_nocase_and_checks_are_reported_in_the_plan() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT NOT NULL COLLATE NOCASE UNIQUE,
                         qty INT CHECK (qty > 0), CONSTRAINT short CHECK (length(code) < 9));
         INSERT INTO p (code, qty) VALUES ('abc', 1);",
    );
    let pg = TestDb::create(Engine::Postgres);
    let all = items(&job(&src, &[&pg], ""));
    let c = item(&all, "collation", "p.code");
    assert_eq!(c.action, Action::Skipped);
    assert_eq!(
        c.reason.as_deref(),
        Some(
            "postgres compares it with case: SQLite's COLLATE NOCASE (ASCII letters equal whatever their case) is \
             not carried, so its =, unique keys and foreign keys there tell values apart that the source holds equal"
        )
    );
    let q = item(&all, "check", "p.qty");
    assert_eq!(q.action, Action::Skipped);
    assert_eq!(
        q.reason.as_deref(),
        Some("`CHECK (qty > 0)` is sqlite's SQL; not translated: the copy does not enforce it")
    );
    assert_eq!(item(&all, "check", "p.short").action, Action::Skipped);

    let my = TestDb::create(Engine::Mysql);
    let all = items(&job(&src, &[&my], ""));
    assert!(!all.iter().any(|i| i.kind == "collation"), "{all:#?}");
    let report = sync(&job(&src, &[&my], "")).expect("copied");
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&my, "SELECT count(*) FROM p WHERE code = 'ABC'"), "1");
    assert!(exec_err(&my, "INSERT INTO p (code, qty) VALUES ('ABC', 2)").contains("Duplicate"));
}

/// R4: MariaDB SET and UNSIGNED columns get on SQLite the CHECKs PostgreSQL gets; a
/// DECIMAL(38,10) stored as TEXT says it compares as text.
#[test]
fn mariadb_set_and_unsigned_keep_their_checks_on_sqlite() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE t (id INT PRIMARY KEY, s SET('a','b','c'), u INT UNSIGNED, d DECIMAL(38,10));
         INSERT INTO t VALUES (1, 'a,b', 5, 3.5), (2, '', 0, 10), (3, 'a,b,c', 7, NULL), (4, NULL, NULL, NULL);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let all = items(&job(&src, &[&dest], ""));
    assert_eq!(
        item(&all, "column", "t.s").reason.as_deref(),
        Some("with CHECK t_s_check: a comma-separated list of its members")
    );
    assert_eq!(
        item(&all, "column", "t.u").reason.as_deref(),
        Some("with CHECK t_u_check: from 0 to 4294967295, as UNSIGNED")
    );
    assert!(item(&all, "column", "t.d")
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("comparisons and ORDER BY there compare the text, not the number")));
    let report = sync(&job(&src, &[&dest], "")).expect("copied");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(&dest, "SELECT group_concat(s, '|') FROM t ORDER BY id"),
        "a,b||a,b,c"
    );
    for (sql, check) in [
        ("INSERT INTO t (id, s) VALUES (10, 'zzz')", "t_s_check"),
        ("INSERT INTO t (id, s) VALUES (11, 'a,zzz')", "t_s_check"),
        ("INSERT INTO t (id, s) VALUES (12, 'a,')", "t_s_check"),
        ("INSERT INTO t (id, u) VALUES (13, -1)", "t_u_check"),
    ] {
        let err = exec_err(&dest, sql);
        assert!(
            err.contains(&format!("CHECK constraint failed: {check}")),
            "{sql}: {err}"
        );
    }
    dest.exec("INSERT INTO t (id, s, u) VALUES (20, 'c,a', 0)");
}

#[derive(Default)]
struct Told(Mutex<Vec<String>>);

impl tether_sync::Progress for Told {
    fn phase(&self, p: &str) {
        self.0.lock().expect("lock").push(p.to_string());
    }
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, _: &str, _: u64, _: f64) {}
}

/// R3: a citext parent 'abc' and a child 'ABC' copied to SQLite (NOCASE matches them):
/// nothing is respelt, and the run no longer says it was. A pair NOCASE does not fold
/// is respelt, and the line names the destinations it is for.
#[test]
fn the_respelling_line_names_only_what_is_rewritten() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TABLE p (code citext PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pcode citext REFERENCES p(code));
         INSERT INTO p VALUES ('abc'); INSERT INTO c VALUES (1, 'ABC');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let told = Told::default();
    let report = sync_telling(&job(&src, &[&dest], ""), &told).expect("copied");
    assert!(report.ok, "{report:?}");
    let phases = told.0.lock().expect("lock").clone();
    assert!(!phases.iter().any(|p| p.contains("spelt otherwise")), "{phases:#?}");
    assert_eq!(one(&dest, "SELECT pcode FROM c"), "ABC");

    // A non-ASCII case pair, which NOCASE does not fold, is respelt, and the line says
    // for which destinations.
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TABLE p (code citext PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pcode citext REFERENCES p(code));
         INSERT INTO p VALUES ('été'); INSERT INTO c VALUES (1, 'ÉTÉ'), (2, 'été');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let told = Told::default();
    let report = sync_telling(&job(&src, &[&dest], ""), &told).expect("copied");
    assert!(report.ok, "{report:?}");
    let phases = told.0.lock().expect("lock").clone();
    assert!(
        phases.iter().any(|p| p.contains(
            "c: FK c_pcode_fkey (pcode) -> p(code): 1 value(s) spelt otherwise than the parent key the source \
             matches them to (its collation ignores case or trailing spaces) are written with the parent's \
             spelling on the sqlite destination(s), which would not match them to it, e.g. (pcode)=('ÉTÉ') -> \
             (code)=('été')"
        )),
        "{phases:#?}"
    );
    assert_eq!(
        one(&dest, "SELECT group_concat(pcode, '|') FROM c ORDER BY id"),
        "été|été"
    );
}
