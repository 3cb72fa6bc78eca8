//! Fourteenth review, C1: re-runs into destination tables whose only key is a column the
//! job does not write (serial, identity, AUTO_INCREMENT, a default) added every source
//! row again on each run, the verification passing; `on_conflict = "update"` into such a
//! table failed with PostgreSQL's raw 42P10. Each test replays the reviewer's scenario
//! on the real servers and asserts the refusal and the rows the destination keeps.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The reviewer's source: `t` keyed by `code`, `k` without a key.
fn source() -> TestDb {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (code TEXT PRIMARY KEY, v INT); INSERT INTO t VALUES ('a', 1), ('b', 2);
         CREATE TABLE k (a INT, b INT); INSERT INTO k VALUES (1, 1), (1, 1);",
    );
    src
}

fn run(src: &TestDb, dest: &TestDb, table: &str, conflict: &str, extra: &str) -> Result<(), String> {
    let report = sync(&format!(
        "source = \"{}\"\nseed = \"s\"\nprivacy = \"off\"\n{extra}\n[tables]\ninclude = [\"{table}\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    ))
    .map_err(|e| e.to_string())?;
    assert!(report.ok, "{report:?}");
    Ok(())
}

fn count(db: &TestDb, table: &str) -> String {
    norm(&db.query(&format!("SELECT count(*) FROM {table}"))[0][0])
}

/// `t`'s rows without the destination's own `id`, by `code`.
fn code_and_v(db: &TestDb) -> Vec<Vec<String>> {
    rows(db, "t", "code").into_iter().map(|r| r[1..].to_vec()).collect()
}

/// The destination's own surrogate key, per engine: (t's DDL, k's DDL).
fn surrogate_tables(engine: Engine) -> (&'static str, &'static str) {
    match engine {
        Engine::Postgres => (
            "CREATE TABLE t (id serial PRIMARY KEY, code text, v int)",
            "CREATE TABLE k (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int, b int)",
        ),
        Engine::Mysql => (
            "CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY, code varchar(10), v int)",
            "CREATE TABLE k (id int AUTO_INCREMENT PRIMARY KEY, a int, b int)",
        ),
        Engine::Sqlite => (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, v INT)",
            "CREATE TABLE k (id INTEGER PRIMARY KEY AUTOINCREMENT, a INT, b INT)",
        ),
    }
}

/// C1 as reported: with `on_conflict = "error"` and `"skip"`, the second run into tables
/// keyed only by a column the destination fills in is refused before anything is
/// written, naming the table, the key and why, on every engine; each table keeps the
/// source's 2 rows (it held 4, then 6).
#[test]
fn a_re_run_never_adds_rows_again_through_a_key_the_destination_fills_in() {
    let src = source();
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        for conflict in ["error", "skip"] {
            let dest = TestDb::create(engine);
            let (t, k) = surrogate_tables(engine);
            dest.exec(&format!("{t}; {k}"));
            let how = match engine {
                Engine::Postgres => ("serial", "an identity column"),
                Engine::Mysql => ("AUTO_INCREMENT", "AUTO_INCREMENT"),
                Engine::Sqlite => ("AUTO_INCREMENT", "AUTO_INCREMENT"),
            };
            for (table, id) in [("t", how.0), ("k", how.1)] {
                run(&src, &dest, table, conflict, "").unwrap_or_else(|e| panic!("{engine} {conflict}: {e}"));
                let err = run(&src, &dest, table, conflict, "").expect_err("the second run is refused");
                assert!(
                    err.contains(&format!(
                        "table {table} already holds rows and has no key that tells its rows apart from the ones \
                         already there: (id) gets new values on every run (the job does not write id ({id}): the \
                         destination fills it in): this run would add its rows again"
                    )),
                    "{engine} {conflict} {table}: {err}"
                );
                assert!(
                    err.contains("give the table a primary key or a NOT NULL unique key over columns the job writes"),
                    "{engine} {conflict} {table}: {err}"
                );
                assert_eq!(count(&dest, table), "2", "{engine} {conflict} {table}: rows once");
            }
            // t's source key `code`, made a key of the destination's table: re-runs
            // find the rows there and add none.
            dest.exec("CREATE UNIQUE INDEX t_code ON t (code)");
            for _ in 0..2 {
                run(&src, &dest, "t", "skip", "").unwrap_or_else(|e| panic!("{engine} {conflict}: {e}"));
            }
            assert_eq!(code_and_v(&dest), [["a", "1"], ["b", "2"]], "{engine} {conflict}");
        }
    }
}

/// C1, `on_conflict = "update"`: PostgreSQL and SQLite find the row to overwrite by the
/// source's key (`ON CONFLICT (code)`), which the destination's table does not hold:
/// refused before writing, naming the table, the columns and the keys it has (it was
/// PostgreSQL's raw `42P10`, SQLite's "ON CONFLICT clause does not match"), also into
/// the empty table. MariaDB writes the first run and refuses the second. With a unique
/// key on `code`, every engine updates in place.
#[test]
fn update_into_a_table_without_the_source_key_is_refused_naming_it() {
    let src = source();
    for engine in [Engine::Postgres, Engine::Sqlite, Engine::Mysql] {
        let dest = TestDb::create(engine);
        dest.exec(surrogate_tables(engine).0);
        let first = run(&src, &dest, "t", "update", "");
        match engine {
            Engine::Mysql => {
                first.unwrap_or_else(|e| panic!("{engine}: {e}"));
                let err = run(&src, &dest, "t", "update", "").expect_err("refused");
                assert!(
                    err.contains("table t already holds rows and has no key that tells its rows apart"),
                    "{engine}: {err}"
                );
                assert_eq!(count(&dest, "t"), "2", "{engine}");
            }
            _ => {
                let err = first.expect_err("refused");
                let name = match engine {
                    Engine::Postgres => "PostgreSQL",
                    _ => "SQLite",
                };
                assert!(
                    err.contains(&format!(
                        "on_conflict = \"update\" overwrites the row with the same key as the source's row of t, \
                         (code), but table t has no primary key or unique key (without WHERE) on exactly (code) \
                         (its keys: primary key (id)), so {name} cannot find that row (ON CONFLICT (code) would \
                         fail). Nothing was written."
                    )),
                    "{engine}: {err}"
                );
                assert!(!err.contains("42P10"), "{engine}: {err}");
                assert_eq!(count(&dest, "t"), "0", "{engine}");
            }
        }
        dest.exec("DELETE FROM t; CREATE UNIQUE INDEX t_code ON t (code)");
        run(&src, &dest, "t", "update", "").unwrap_or_else(|e| panic!("{engine}: {e}"));
        dest.exec("UPDATE t SET v = 9");
        run(&src, &dest, "t", "update", "").unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert_eq!(
            code_and_v(&dest),
            [["a", "1"], ["b", "2"]],
            "{engine}: overwritten in place"
        );
    }
}

/// A partial unique index holds only the rows its WHERE picks: it tells no re-run's rows
/// apart (PostgreSQL's and SQLite's target-less ON CONFLICT skips only the rows it
/// holds; `ON CONFLICT (code)` does not match it). Refused, naming it.
#[test]
fn a_partial_unique_index_is_no_key_for_re_runs() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE t (code TEXT PRIMARY KEY, v INT); INSERT INTO t VALUES ('a', 1), ('b', -2);");
    for engine in [Engine::Postgres, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        dest.exec(&format!(
            "{}; CREATE UNIQUE INDEX t_pos ON t (code) WHERE v > 0",
            surrogate_tables(engine).0
        ));
        run(&src, &dest, "t", "skip", "").unwrap_or_else(|e| panic!("{engine}: {e}"));
        let err = run(&src, &dest, "t", "skip", "").expect_err("refused");
        assert!(
            err.contains("table t already holds rows and has no key that tells its rows apart"),
            "{engine}: {err}"
        );
        assert!(
            err.contains("(a partial unique index holds only the rows its WHERE picks: t_pos (code) WHERE"),
            "{engine}: {err}"
        );
        assert_eq!(count(&dest, "t"), "2", "{engine}");
        dest.exec("DELETE FROM t");
        let err = run(&src, &dest, "t", "update", "").expect_err("refused");
        assert!(
            err.contains("has no primary key or unique key (without WHERE) on exactly (code) (its keys: primary key (id); t_pos (code) WHERE"),
            "{engine}: {err}"
        );
        assert_eq!(count(&dest, "t"), "0", "{engine}");
    }
}

/// The same class through a transformer: a `js` function declared `deterministic =
/// false` on the key draws new values on every run, as `generate_` does; the second run
/// is refused.
#[test]
fn a_key_drawn_by_a_non_deterministic_js_function_is_no_key_for_re_runs() {
    let src = source();
    let js = "[transform.t]\ncode = { kind = \"js\", code = \"(v) => v + '-' + Date.now()\", deterministic = false }\n";
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        run(&src, &dest, "t", "skip", js).unwrap_or_else(|e| panic!("{engine}: {e}"));
        let err = run(&src, &dest, "t", "skip", js).expect_err("refused");
        assert!(
            err.contains("table t already holds rows and has no key that tells its rows apart from the ones already there: (code) gets new values on every run (code by a generate_ transformer or a js function declared deterministic = false"),
            "{engine}: {err}"
        );
        assert_eq!(count(&dest, "t"), "2", "{engine}");
    }
}

/// `mode = "schema"` writes no rows: a schema-only run over a keyless table that holds
/// rows is not refused (it was, as if it would copy them again), and the rows stay.
#[test]
fn a_schema_only_run_is_not_refused_over_tables_with_rows() {
    let src = source();
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        run(&src, &dest, "k", "skip", "").unwrap_or_else(|e| panic!("{engine}: {e}"));
        run(&src, &dest, "k", "skip", "mode = \"schema\"").unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert_eq!(count(&dest, "k"), "2", "{engine}");
    }
}

/// The same class through a transformer that is not injective (`constant`) on a key
/// only the destination has: never silent. The first run's rows collide with each other
/// on `email`: `error` and `update` stop naming the row and the key, `skip` keeps one
/// row and the verification fails, counting 1 of the source's 2 rows. (A deterministic
/// transformer gives the same values on every run, so a re-run matches the rows there.)
#[test]
fn a_non_injective_transformer_on_a_destination_key_loses_no_row_silently() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE t (code TEXT PRIMARY KEY, email TEXT); INSERT INTO t VALUES ('a', 'x@a'), ('b', 'y@b');");
    let constant = "[transform.t]\nemail = { kind = \"constant\", value = \"same@x\" }\n";
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        for conflict in ["error", "skip", "update"] {
            let dest = TestDb::create(engine);
            dest.exec("CREATE TABLE t (code varchar(10) PRIMARY KEY, email varchar(20) UNIQUE)");
            let job = format!(
                "source = \"{}\"\nseed = \"s\"\nprivacy = \"off\"\n{constant}\n[tables]\ninclude = [\"t\"]\n\
                 [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
                src.url, dest.url
            );
            match (conflict, sync(&job)) {
                ("skip", Ok(report)) => {
                    assert!(!report.ok, "{engine}: {report:?}");
                    let missing: Vec<(String, u64, u64)> = report.verification[0]
                        .missing_rows
                        .iter()
                        .map(|c| (c.table.clone(), c.rows_in_source, c.rows_in_destination))
                        .collect();
                    assert_eq!(missing, [("t".to_string(), 2, 1)], "{engine}");
                }
                (_, Err(e)) => {
                    let e = e.to_string();
                    assert!(e.contains("table t: row "), "{engine} {conflict}: {e}");
                    assert!(
                        [
                            "23505",
                            "1062",
                            "UNIQUE constraint failed: t.email",
                            "clashes with a destination row"
                        ]
                        .iter()
                        .any(|s| e.contains(s)),
                        "{engine} {conflict}: {e}"
                    );
                }
                (_, Ok(report)) => panic!("{engine} {conflict}: not refused: {report:?}"),
            }
        }
    }
}

/// A PostgreSQL unique index on expressions of columns the job writes (immutable, so
/// the same rows give the same values) tells a re-run's rows apart: `skip` keeps the 2
/// rows, `error` stops on the first row there. One reading a column the destination fills
/// in (`id`) does not: refused, naming it. SQLite's expression indexes are not read: a
/// table whose only other key is one is refused as if it had none (said in NOTES.md).
#[test]
fn an_expression_unique_index_counts_when_the_job_writes_what_it_reads() {
    let src = source();
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(
        "CREATE TABLE t (id serial PRIMARY KEY, code text, v int);
         CREATE UNIQUE INDEX t_lower ON t (lower(code), (v + 0))",
    );
    for _ in 0..2 {
        run(&src, &dest, "t", "skip", "").expect("skip");
    }
    assert_eq!(count(&dest, "t"), "2");
    let err = run(&src, &dest, "t", "error", "").expect_err("the rows are there");
    assert!(
        err.contains("duplicate key value violates unique constraint \"t_lower\""),
        "{err}"
    );
    assert_eq!(count(&dest, "t"), "2");

    let dest = TestDb::create(Engine::Postgres);
    dest.exec(
        "CREATE TABLE t (id serial PRIMARY KEY, code text, v int);
         CREATE UNIQUE INDEX t_mix ON t (lower(code), (v + id))",
    );
    run(&src, &dest, "t", "skip", "").expect("first run");
    let err = run(&src, &dest, "t", "skip", "").expect_err("refused");
    assert!(
        err.contains(
            "has no key that tells its rows apart from the ones already there: (id) gets new values on every run \
             (the job does not write id (serial): the destination fills it in); unique index t_mix (lower(code), \
             (v + id)) gets new values on every run (the job does not write id (serial): the destination fills it in)"
        ),
        "{err}"
    );
    assert_eq!(count(&dest, "t"), "2");

    let dest = TestDb::create(Engine::Sqlite);
    dest.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, v INT);
         CREATE UNIQUE INDEX t_lower ON t (lower(code))",
    );
    run(&src, &dest, "t", "skip", "").expect("first run");
    let err = run(&src, &dest, "t", "skip", "").expect_err("refused");
    assert!(
        err.contains("has no key that tells its rows apart from the ones already there: (id) gets new values"),
        "{err}"
    );
    assert_eq!(count(&dest, "t"), "2");
}
