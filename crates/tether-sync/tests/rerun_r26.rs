//! Twenty-sixth review (r26g F1): a re-run with `on_conflict = "skip"` or `"update"` of
//! a table without a primary key whose first unique key allows NULL while another one
//! is NOT NULL: `w(a UNIQUE, b NOT NULL UNIQUE, v)` holding rows with a NULL. The
//! pre-check let the re-run through (the NOT NULL key (b) tells the rows apart), but
//! the writers matched rows on the first unique key (a): PostgreSQL's `ON CONFLICT (a)`
//! never matches a NULL, so the second run failed with 23505 on `w_b_key` and the
//! whole job stopped. Rows are now matched on a NOT NULL unique key where the table has
//! one ([`tether_schema::Table::row_key`]). Each test runs the job twice on the real
//! servers and asserts the destination's exact rows after the second run.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const DDL: &str = "CREATE TABLE w (a TEXT UNIQUE, b INTEGER NOT NULL UNIQUE, v TEXT);";

const DATA: &str = "INSERT INTO w VALUES (NULL, 1, 'x'), ('p', 2, 'y'), (NULL, 3, 'z');";

/// Between the runs: two rows with a NULL `a` change `v`, one row is new.
const CHANGE: &str = "UPDATE w SET v = 'x2' WHERE b = 1; UPDATE w SET v = 'y2' WHERE b = 2;
     UPDATE w SET v = 'z2' WHERE b = 3; INSERT INTO w VALUES (NULL, 4, 'n');";

fn job(src: &TestDb, dest: &TestDb, mode: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{mode}\"\n",
        src.url, dest.url
    )
}

fn r(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Two runs of `mode` from `from` into `to`: both succeed, the destination holds each
/// source row once, `skip` keeping the rows there as they were, `update` overwriting them.
fn twice(from: Engine, to: Engine, mode: &str) {
    let what = format!("{from} -> {to}, on_conflict = {mode}");
    let src = TestDb::create(from);
    src.exec(DDL);
    src.exec(DATA);
    let dest = TestDb::create(to);
    let report = sync(&job(&src, &dest, mode)).unwrap_or_else(|e| panic!("{what}: first run: {e}"));
    assert!(report.ok, "{what}: first run: {report:?}");
    assert_eq!(
        rows(&dest, "w", "b"),
        vec![r(&["NULL", "1", "x"]), r(&["p", "2", "y"]), r(&["NULL", "3", "z"])],
        "{what}: first run"
    );
    src.exec(CHANGE);
    let report = sync(&job(&src, &dest, mode)).unwrap_or_else(|e| panic!("{what}: second run: {e}"));
    assert!(report.ok, "{what}: second run: {report:?}");
    let expected = match mode {
        "skip" => vec![
            r(&["NULL", "1", "x"]),
            r(&["p", "2", "y"]),
            r(&["NULL", "3", "z"]),
            r(&["NULL", "4", "n"]),
        ],
        _ => vec![
            r(&["NULL", "1", "x2"]),
            r(&["p", "2", "y2"]),
            r(&["NULL", "3", "z2"]),
            r(&["NULL", "4", "n"]),
        ],
    };
    assert_eq!(rows(&dest, "w", "b"), expected, "{what}: second run");
}

/// The reviewer's scenario: PostgreSQL into PostgreSQL (it failed with 23505 on w_b_key).
#[test]
fn a_postgresql_rerun_matches_rows_on_the_not_null_unique_key() {
    for mode in ["skip", "update"] {
        twice(Engine::Postgres, Engine::Postgres, mode);
    }
}

/// A SQLite source into PostgreSQL (the reviewer's second case).
#[test]
fn a_sqlite_source_rerun_into_postgresql_matches_rows_on_the_not_null_unique_key() {
    for mode in ["skip", "update"] {
        twice(Engine::Sqlite, Engine::Postgres, mode);
    }
}

/// MariaDB matches rows on the same key.
#[test]
fn a_mariadb_rerun_matches_rows_on_the_not_null_unique_key() {
    for mode in ["skip", "update"] {
        twice(Engine::Postgres, Engine::Mysql, mode);
    }
}

/// SQLite destinations too.
#[test]
fn a_sqlite_rerun_matches_rows_on_the_not_null_unique_key() {
    for mode in ["skip", "update"] {
        twice(Engine::Postgres, Engine::Sqlite, mode);
    }
}
